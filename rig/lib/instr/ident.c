/* Opening an instrument: URI parsing, the identity block, and refusing a
 * device of the wrong type or register map version with a clear message. */
#include <rig/error.h>
#include <rig/uri.h>

#include "core/core.h"
#include "instr/instr.h"

static const struct {
	uint16_t type;
	const char *kind;
} kinds[] = {
	{RIG_DEVICE_DAQ, "a DAQ"},
	{RIG_DEVICE_FORCE, "a force sensor"},
	{RIG_DEVICE_DISPLACEMENT, "a displacement sensor"},
};

const char *rigi_instr_kind(uint16_t device_type)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].type == device_type)
			return kinds[i].kind;
	return "an unknown device";
}

static int check_identity(struct rigi_mb *mb, uint16_t expected, struct rig_instr_identity *id)
{
	uint16_t regs[5];
	int ret = rigi_mb_read_input(mb, RIGI_IR_DEVICE_TYPE, 5, regs);

	if (ret < 0) {
		rigi_error_context("identifying %s", rigi_instr_kind(expected));
		return ret;
	}
	id->device_type = regs[0];
	id->map_version = regs[1];
	id->serial = rigi_mb_u32(regs + 2);
	id->firmware = regs[4];
	if (id->device_type != expected)
		return rigi_fail(RIG_ERR_NOT_FOUND,
				 "unit %d at %s is %s (0x%04x), expected %s; check the unit id "
				 "in the fixture file", rigi_mb_unit(mb), rigi_mb_bus_where(mb),
				 rigi_instr_kind(id->device_type), id->device_type,
				 rigi_instr_kind(expected));
	unsigned newest = expected == RIG_DEVICE_DAQ ? RIGI_DAQ_MAP_VERSION_MAX : RIGI_MAP_VERSION;
	if (id->map_version < RIGI_MAP_VERSION || id->map_version > newest)
		return rigi_fail(RIG_ERR_UNSUPPORTED,
				 "%s (%s, serial %u) has register map version %u; this rig "
				 "speaks version%s %d%s; update needle-rig or the instrument "
				 "firmware", rigi_mb_where(mb), rigi_instr_kind(expected),
				 id->serial, id->map_version, newest > 1 ? "s" : "",
				 RIGI_MAP_VERSION, newest > 1 ? " and 2" : "");
	return 0;
}

int rigi_instr_open(const char *uri, uint16_t expected_type, struct rigi_mb **out,
		    struct rig_instr_identity *id)
{
	struct rig_uri u;
	struct rigi_mb *mb = NULL;
	int ret;

	*out = NULL;
	ret = rig_uri_parse(uri, &u);
	if (ret < 0)
		return ret;
	ret = rigi_mb_open(&u, &mb);
	if (ret < 0)
		return ret;
	ret = check_identity(mb, expected_type, id);
	if (ret < 0) {
		rigi_mb_close(mb);
		return ret;
	}
	RIGI_DEBUG("instr", "%s: %s, serial %u, firmware %u.%u", rigi_mb_where(mb),
		   rigi_instr_kind(expected_type), id->serial, id->firmware >> 8,
		   id->firmware & 0xffu);
	*out = mb;
	return 0;
}
