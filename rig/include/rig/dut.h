/* The pen (DUT) client: talks to a pen's firmware over the DUT protocol
 * (docs/protocol.md) through a transport chosen by the address scheme:
 *   unix:///path/to/socket, tcp://HOST:PORT   (simulator, tests)
 *   usb://VVVV:PPPP[?serial=S][&path=BUS-PORT.PORT]  (real pens)
 * An optional `?timeout_ms=T` sets the response timeout (default 500 ms;
 * TABLE_COMMIT waits four times as long, 2000 ms by default).
 *
 * A struct rig_dut is one open link; it is not thread-safe (one thread at a
 * time). Every function returns 0 or a negative enum rig_err; the detail
 * (rig_last_error()) names the pen (address and serial), the command, the
 * pen's status and what to do. A request that times out (or whose response
 * arrives corrupted) is resent once, identical (same seq), as the protocol
 * allows. The caller is responsible for rig_dut_safe() on every exit path
 * of a session that changed the pen's state; rig_dut_close() does not send
 * anything. */
#ifndef RIG_DUT_H
#define RIG_DUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device status codes (protocol.md §4). */
enum rig_dut_status_code {
	RIG_DUT_OK = 0x00,
	RIG_DUT_BAD_CRC = 0x01,
	RIG_DUT_BAD_VERSION = 0x02,
	RIG_DUT_UNKNOWN_COMMAND = 0x03,
	RIG_DUT_BAD_LENGTH = 0x04,
	RIG_DUT_BAD_ARGUMENT = 0x05,
	RIG_DUT_AUTH_REQUIRED = 0x06,
	RIG_DUT_AUTH_FAILED = 0x07,
	RIG_DUT_WRONG_STATE = 0x08,
	RIG_DUT_OUT_OF_RANGE = 0x09,
	RIG_DUT_TABLE_INCOMPLETE = 0x0A,
	RIG_DUT_TABLE_CRC = 0x0B,
	RIG_DUT_TABLE_SIGNATURE = 0x0C,
	RIG_DUT_TABLE_FORMAT = 0x0D,
	RIG_DUT_TABLE_NOT_MONOTONE = 0x0E,
	RIG_DUT_TABLE_BOUNDS = 0x0F,
	RIG_DUT_TABLE_STALE = 0x10,
	RIG_DUT_TABLE_SERIAL = 0x11,
	RIG_DUT_FLASH_ERROR = 0x12,
	RIG_DUT_FAULT = 0x13,
	RIG_DUT_BUSY = 0x14,
};

/* STATUS fault_flags bits (protocol.md §3). */
enum rig_dut_fault {
	RIG_DUT_FAULT_STALL = 1u << 0,
	RIG_DUT_FAULT_OVERCURRENT = 1u << 1,
	RIG_DUT_FAULT_OVERTEMP = 1u << 2,
	RIG_DUT_FAULT_NO_TABLE = 1u << 3,
	RIG_DUT_FAULT_CARTRIDGE = 1u << 4,
	RIG_DUT_FAULT_FLASH = 1u << 5,
	RIG_DUT_FAULT_HOST_LOST = 1u << 6, /* the host-loss watchdog stopped the pen */
};

/* Table slots for rig_dut_table_read(). */
#define RIG_DUT_SLOT_A 0
#define RIG_DUT_SLOT_B 1
#define RIG_DUT_SLOT_ACTIVE 0xFE
#define RIG_DUT_SLOT_NONE 0xFF /* status.active_slot: no valid table */

/* IDENTIFY (protocol.md §3), decoded; strings NUL-terminated. */
struct rig_dut_identity {
	char model[17];
	char serial[17];
	uint16_t hw_version;       /* major << 8 | minor */
	uint32_t fw_version;       /* major << 16 | minor << 8 | patch */
	uint16_t table_format;
	uint16_t table_max_bytes;
	uint8_t table_max_knots;   /* per curve */
	uint16_t code_min, code_max;   /* actuator code range */
	uint16_t duty_min, duty_max;   /* motor duty, permille */
	uint16_t depth_min_um, depth_max_um, depth_step_um; /* user range */
	uint16_t max_protrusion_um;    /* mechanical safety limit */
	uint16_t rate_min_spm, rate_max_spm;
	uint8_t n_speed_levels;        /* 1..8 */
	uint16_t speed_levels[8];      /* strokes/min; unused entries 0 */
};

/* STATUS (protocol.md §3), decoded. */
struct rig_dut_status {
	uint8_t mode;          /* 0 USER, 1 SERVICE */
	uint8_t motor_on;      /* 0/1 */
	uint16_t fault_flags;  /* enum rig_dut_fault bits */
	uint8_t active_slot;   /* RIG_DUT_SLOT_A, _B or _NONE */
	uint8_t write_state;   /* 0 none, 1 table write in progress */
	uint8_t authenticated; /* 0/1 */
	uint32_t active_table_seq;
	uint32_t active_table_crc;
	uint32_t stroke_count;
	uint16_t motor_current_ma;
	int16_t temperature_dc;  /* 0.1 °C */
	uint16_t code, duty;     /* applied now */
	uint16_t depth_um, rate_spm; /* user setpoints, 0 in service mode */
};

struct rig_dut;

/** Open the link to the pen at @p uri (see the top of this file) and store
 *  the new handle in *@p out (the caller frees it with rig_dut_close()).
 *  Sends nothing. Returns 0, RIG_ERR_FORMAT (bad address),
 *  RIG_ERR_UNSUPPORTED (scheme without a DUT transport), RIG_ERR_NOT_FOUND
 *  (no pen or socket there), RIG_ERR_PERMISSION, RIG_ERR_IO or
 *  RIG_ERR_NOMEM. */
int rig_dut_open(const char *uri, struct rig_dut **out);

/** Close the link and free @p dut (NULL is a no-op). The pen ends its
 *  authenticated session when the link closes. */
void rig_dut_close(struct rig_dut *dut);

/** The address the link was opened with (owned by @p dut). */
const char *rig_dut_uri(const struct rig_dut *dut);

/** IDENTIFY: fill *@p out. The identity is also kept by @p dut (the serial
 *  names the pen in error details and enters authentication). */
int rig_dut_identify(struct rig_dut *dut, struct rig_dut_identity *out);

/** STATUS: fill *@p out. */
int rig_dut_status(struct rig_dut *dut, struct rig_dut_status *out);

/** While @p hold is non-zero, every request is sent and its answer awaited
 *  even after Ctrl-C (rig_interrupted): a table write, once begun, is
 *  finished and read back before a run stops. */
void rig_dut_hold_interrupts(struct rig_dut *dut, int hold);

/** Keep the link alive while the caller waits (protocol.md, host-loss
 *  watchdog): if nothing was sent to the pen for @p max_idle_ms, send a
 *  STATUS. Call it often from every wait during which the motor may run or
 *  the pen is in service mode. rig_dut_last_status() is not changed.
 *  @return 0 (nothing sent, or the pen answered), or the STATUS error. */
int rig_dut_keepalive(struct rig_dut *dut, int max_idle_ms);

/** Authenticate the session with the line key @p key (32 bytes, not kept):
 *  AUTH_CHALLENGE, then AUTH_RESPONSE with HMAC-SHA256(key, "NRIG-AUTH-1" ||
 *  nonce || serial[16]). Sends IDENTIFY first if the serial is not known
 *  yet. Neither the key nor the MAC is ever logged. RIG_ERR_AUTH when the
 *  pen refuses the MAC (wrong key). */
int rig_dut_authenticate(struct rig_dut *dut, const uint8_t key[32]);

/** SET_USER: leave service mode and apply user setpoints through the pen's
 *  table; the code and duty the table gave go to *@p code and *@p duty
 *  (either may be NULL). RIG_ERR_RANGE outside the table or user range,
 *  RIG_ERR_DEVICE when a fault (no table) prevents it. */
int rig_dut_set_user(struct rig_dut *dut, uint16_t depth_um, uint16_t rate_spm,
		     uint16_t *code, uint16_t *duty);

/** SET_SERVICE (needs authentication): enter service mode with a raw
 *  actuator code and motor duty. RIG_ERR_RANGE outside the pen's ranges. */
int rig_dut_set_service(struct rig_dut *dut, uint16_t code, uint16_t duty);

/** MOTOR: start (@p on non-zero) or stop the motor. */
int rig_dut_motor(struct rig_dut *dut, int on);

/** SAFE: motor off, user mode with setpoints 0, session ended, table write
 *  aborted. Send it on every exit path. */
int rig_dut_safe(struct rig_dut *dut);

/** Read the table blob of @p slot (RIG_DUT_SLOT_A, _B or _ACTIVE) into
 *  @p buf (capacity @p cap), in TABLE_READ chunks; its size goes to *@p len
 *  (0 for an empty slot). RIG_ERR_RANGE when the blob exceeds @p cap. */
int rig_dut_table_read(struct rig_dut *dut, int slot, uint8_t *buf, size_t cap, size_t *len);

/** Write the signed table blob @p blob (@p len bytes; not kept) into the
 *  pen: first the checks the pen will make at commit that the rig can make
 *  without the key (format, CRC, serial, table_seq above the active one,
 *  monotone knots, bounds; see rig_cal_table_check()), refusing before
 *  sending anything; then TABLE_BEGIN, TABLE_CHUNKs, TABLE_COMMIT, and a
 *  read-back of the active slot compared byte for byte (a difference is
 *  RIG_ERR_DEVICE). Needs an authenticated session. On a failure after
 *  TABLE_BEGIN the write is aborted (TABLE_ABORT) while the link works; the
 *  pen keeps its previous table unless the commit succeeded. */
int rig_dut_table_write(struct rig_dut *dut, const uint8_t *blob, size_t len);

/** The first half of rig_dut_table_write: the checks, TABLE_BEGIN and the
 *  TABLE_CHUNKs, so that a caller can make the bytes durable before they
 *  become active. Nothing is active yet; on failure the write is aborted. */
int rig_dut_table_upload(struct rig_dut *dut, const uint8_t *blob, size_t len);

/** The second half: TABLE_COMMIT of the table rig_dut_table_upload sent
 *  (the same @p blob), then the read-back compared byte for byte.
 *  *@p activated is 1 once the pen answered the commit with OK (it made a
 *  table active: an error after that — a read-back that differs — is not
 *  a refusal). RIG_ERR_TIMEOUT / RIG_ERR_DISCONNECTED leave the outcome
 *  unknown (read the active table to settle it); a refusal (activated 0,
 *  the pen answered with an error status) leaves the previous table. */
int rig_dut_table_commit(struct rig_dut *dut, const uint8_t *blob, size_t len, int *activated);

/** TABLE_ABORT: discard a table write in progress. */
int rig_dut_table_abort(struct rig_dut *dut);

/** The status byte of the pen's last response (enum rig_dut_status_code;
 *  for a NAK its status), or -1 when no response arrived yet. Lets a caller
 *  tell apart statuses that map to the same rig_err (TABLE_STALE and
 *  WRONG_STATE both give RIG_ERR_STATE). */
int rig_dut_last_status(const struct rig_dut *dut);

/** Name of a device status code ("TABLE_SIGNATURE"); "UNKNOWN_STATUS" for a
 *  code the protocol does not define. Static string. */
const char *rig_dut_status_name(int status);

/** Name of one fault flag bit ("STALL"), or NULL when @p flag is not exactly
 *  one defined bit. Static string. */
const char *rig_dut_fault_name(unsigned flag);

/* ---- USB pens: discovery (usb.c; docs/protocol.md §7, docs/usb.md) ---- */

/* The USB identity of a needle-rig pen (pid.codes VID). */
#define RIG_DUT_USB_VID 0x1209
#define RIG_DUT_USB_PID 0x4D4E

/* One pen found on the USB buses by rig_dut_list(). */
struct rig_dut_device_info {
	uint16_t vid, pid;
	uint8_t bus, address;   /* its node is /dev/bus/usb/BBB/DDD */
	char path[32];          /* bus-port path, e.g. "1-1.4" (usb://...?path=) */
	char node[32];          /* "/dev/bus/usb/001/005" */
	uint16_t bcd_device;    /* device descriptor: firmware major.minor in BCD */
	char serial[64];        /* USB serial string; "" when it could not be read */
	char uri[128];          /* how to open it: usb://1209:4d4e?serial=S (?path=P
				 * when the serial is unknown) */
	int identified;         /* 1: model and fw_version come from IDENTIFY */
	char model[17];
	uint32_t fw_version;    /* major << 16 | minor << 8 | patch */
	int err;                /* 0, or why the pen could not be read or identified */
	char detail[512];       /* that error's detail: what to do */
};

/* rig_dut_list() flags. */
#define RIG_DUT_LIST_IDENTIFY 1u /* also send IDENTIFY to each pen (claims it for
				  * a moment; a pen in use elsewhere reports
				  * RIG_ERR_BUSY in its entry) */

/** List the pens (RIG_DUT_USB_VID:RIG_DUT_USB_PID) on the USB buses, in bus
 *  path order: up to @p cap entries go to @p out, the number found to *@p n
 *  (which may exceed @p cap). Reading a pen's serial needs access to its
 *  node: a pen the rig may not open is still listed, with err
 *  RIG_ERR_PERMISSION and a detail saying how to grant access. Returns 0
 *  (also when no pen is found), or a negative rig_err when USB cannot be
 *  used at all. */
int rig_dut_list(unsigned flags, struct rig_dut_device_info *out, size_t cap, size_t *n);

#ifdef __cplusplus
}
#endif
#endif
