/* The pen's status codes (docs/protocol.md §4) and fault flags: names, the
 * enum rig_err each maps to, and what an operator should do about it. */
#include <rig/dut.h>

#include "core/core.h"
#include "dut/frame.h"

struct status_info {
	const char *name;
	int err;
	const char *meaning;
	const char *hint;
};

/* Indexed by status code; the codes are dense 0x00..0x14. */
static const struct status_info statuses[] = {
	[RIG_DUT_OK] = {"OK", 0, "done", "nothing"},
	[RIG_DUT_BAD_CRC] = {"BAD_CRC", RIG_ERR_CRC, "the pen received a frame with a bad CRC",
			     "the link corrupts bytes: re-seat or replace the cable"},
	[RIG_DUT_BAD_VERSION] = {"BAD_VERSION", RIG_ERR_UNSUPPORTED,
				 "the pen does not speak protocol version 1",
				 "update the pen's firmware or the rig"},
	[RIG_DUT_UNKNOWN_COMMAND] = {"UNKNOWN_COMMAND", RIG_ERR_UNSUPPORTED,
				     "the pen's firmware does not know this command",
				     "update the pen's firmware"},
	[RIG_DUT_BAD_LENGTH] = {"BAD_LENGTH", RIG_ERR_PROTOCOL,
				"the pen found the payload length wrong for the command",
				"the pen's firmware and the rig disagree on the protocol: "
				"report it with a trace (RIG_DEBUG=trace)"},
	[RIG_DUT_BAD_ARGUMENT] = {"BAD_ARGUMENT", RIG_ERR_ARG,
				  "the pen found a field with an invalid value",
				  "check the request's values (slot number, offsets)"},
	[RIG_DUT_AUTH_REQUIRED] = {"AUTH_REQUIRED", RIG_ERR_AUTH,
				   "the command needs an authenticated session",
				   "authenticate with the line key first"},
	[RIG_DUT_AUTH_FAILED] = {"AUTH_FAILED", RIG_ERR_AUTH,
				 "the pen refused the MAC (wrong key, or no challenge)",
				 "check that the station uses the line's key file"},
	[RIG_DUT_WRONG_STATE] = {"WRONG_STATE", RIG_ERR_STATE, "not valid in the pen's state now",
				 "send SAFE and start the sequence again"},
	[RIG_DUT_OUT_OF_RANGE] = {"OUT_OF_RANGE", RIG_ERR_RANGE,
				  "a setpoint, code or duty is outside the allowed range",
				  "use values inside the ranges IDENTIFY reports"},
	[RIG_DUT_TABLE_INCOMPLETE] = {"TABLE_INCOMPLETE", RIG_ERR_PROTOCOL,
				      "the table bytes did not all arrive contiguously",
				      "write the table again"},
	[RIG_DUT_TABLE_CRC] = {"TABLE_CRC", RIG_ERR_CRC,
			       "the table bytes' CRC does not match",
			       "write the table again; if it persists, the blob is corrupt"},
	[RIG_DUT_TABLE_SIGNATURE] = {"TABLE_SIGNATURE", RIG_ERR_SIGNATURE,
				     "the table's HMAC does not verify with the pen's line key",
				     "sign tables with this line's key file"},
	[RIG_DUT_TABLE_FORMAT] = {"TABLE_FORMAT", RIG_ERR_FORMAT,
				  "bad magic, format, size or knot counts",
				  "regenerate the table with a supported format"},
	[RIG_DUT_TABLE_NOT_MONOTONE] = {"TABLE_NOT_MONOTONE", RIG_ERR_FORMAT,
					"the table's knots are not strictly increasing",
					"refit the calibration; the table is invalid"},
	[RIG_DUT_TABLE_BOUNDS] = {"TABLE_BOUNDS", RIG_ERR_RANGE,
				  "a code or duty is outside the pen's range, or the knots "
				  "do not cover the user range",
				  "refit the calibration over the pen's full user range"},
	[RIG_DUT_TABLE_STALE] = {"TABLE_STALE", RIG_ERR_STATE,
				 "table_seq is not above the active table's",
				 "make a new table with a higher table_seq"},
	[RIG_DUT_TABLE_SERIAL] = {"TABLE_SERIAL", RIG_ERR_ARG,
				  "the table was made for another pen",
				  "write the table made for this pen's serial"},
	[RIG_DUT_FLASH_ERROR] = {"FLASH_ERROR", RIG_ERR_DEVICE, "the pen's flash write failed",
				 "retry once; if it persists, reject the pen"},
	[RIG_DUT_FAULT] = {"FAULT", RIG_ERR_DEVICE, "a pen fault prevents the action",
			   "read the pen's status for the fault flags, clear the cause "
			   "and send SAFE"},
	[RIG_DUT_BUSY] = {"BUSY", RIG_ERR_BUSY, "the pen is busy", "retry later"},
};

#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

static const struct status_info *find_status(int status)
{
	return status >= 0 && (size_t)status < N_STATUSES ? &statuses[status] : NULL;
}

const char *rig_dut_status_name(int status)
{
	const struct status_info *s = find_status(status);
	return s ? s->name : "UNKNOWN_STATUS";
}

int rigi_dut_status_err(uint8_t status)
{
	const struct status_info *s = find_status(status);
	return s ? s->err : RIG_ERR_PROTOCOL;
}

const char *rigi_dut_status_hint(uint8_t status)
{
	const struct status_info *s = find_status(status);
	return s ? s->hint : "the pen answered a status the protocol does not define: update "
			     "the rig or the pen's firmware";
}

const char *rigi_dut_status_meaning(uint8_t status)
{
	const struct status_info *s = find_status(status);
	return s ? s->meaning : "undefined status";
}

const char *rig_dut_fault_name(unsigned flag)
{
	static const char *const names[] = {"STALL",     "OVERCURRENT", "OVERTEMP", "NO_TABLE",
					    "CARTRIDGE", "FLASH",	"HOST_LOST"};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flag == (1u << i))
			return names[i];
	return NULL;
}
