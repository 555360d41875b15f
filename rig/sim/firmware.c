/* Firmware model of the simulated pen, device side of docs/protocol.md:
 * frame reception (sync hunt, NAKs, inter-byte timeout), the duplicate
 * request cache, dispatch with length and authentication checks, the
 * identity, status, authentication, mode and motor commands, and the
 * host-loss watchdog. The table commands live in firmware_table.c. Time
 * comes in as an argument (monotonic ns), so tests drive it. */
#include <string.h>

#include "core/core.h"
#include "firmware.h"

#define SYNC0 0xA5
#define SYNC1 0x5A
#define VERSION 0x01
#define TYPE_NAK 0xFF
#define RESP_BIT 0x80
#define TYPE_RESERVED 0x7F /* 0x7F | 0x80 would be the NAK type: no command */
#define IDENTIFY_BYTES 94u
#define STATUS_BYTES 36u

static const char AUTH_PREFIX[] = "NRIG-AUTH-1";

typedef uint8_t (*command_fn)(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			      uint8_t *data, size_t *data_len);

struct command {
	uint8_t code;
	uint8_t auth;
	uint16_t min_len, max_len;
	command_fn run;
};

/* Faults whose cause persists until the hardware changes. */
static uint16_t standing_faults(const struct sim_pen *pen)
{
	uint16_t f = 0;
	if (pen->fw.active < 0)
		f |= SIM_FAULT_NO_TABLE;
	if (pen->unit.failure == SIM_FAILURE_CARTRIDGE)
		f |= SIM_FAULT_CARTRIDGE;
	return f;
}

static void end_session(struct sim_fw *fw)
{
	fw->authenticated = 0;
	fw->nonce_valid = 0;
	rigi_wipe(fw->nonce, sizeof(fw->nonce));
}

void sim_fw_reset(struct sim_pen *pen)
{
	struct sim_fw *fw = &pen->fw;
	rigi_wipe(fw->nonce, sizeof(fw->nonce));
	memset(fw, 0, sizeof(*fw));
	fw->active = -1;
	fw->write_slot = -1;
}

void sim_fw_link_closed(struct sim_pen *pen)
{
	struct sim_fw *fw = &pen->fw;
	fw->rx_len = 0;
	end_session(fw);
	fw->cache_req_len = 0;
	fw->cache_resp_len = 0;
}

static void put_field(uint8_t *dst, const char *s, size_t size)
{
	memset(dst, 0, size);
	memcpy(dst, s, strnlen(s, size));
}

static uint8_t cmd_identify(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			    uint8_t *d, size_t *dlen)
{
	static const uint16_t speeds[SIM_N_SPEEDS] = {3000, 4200, 5400, 6600, 7800, 9000};

	memset(d, 0, IDENTIFY_BYTES);
	put_field(d, SIM_MODEL, 16);
	memcpy(d + 16, pen->serial_field, 16);
	rigi_put_u16le(d + 32, SIM_HW_VERSION);
	rigi_put_u32le(d + 34, SIM_FW_VERSION);
	rigi_put_u16le(d + 38, SIM_TABLE_FORMAT);
	rigi_put_u16le(d + 40, SIM_TABLE_MAX_BYTES);
	d[42] = SIM_FW_KNOTS_MAX;
	rigi_put_u16le(d + 44, SIM_CODE_MIN);
	rigi_put_u16le(d + 46, SIM_CODE_MAX);
	rigi_put_u16le(d + 48, SIM_DUTY_MIN);
	rigi_put_u16le(d + 50, SIM_DUTY_MAX);
	rigi_put_u16le(d + 52, SIM_DEPTH_MIN_UM);
	rigi_put_u16le(d + 54, SIM_DEPTH_MAX_UM);
	rigi_put_u16le(d + 56, SIM_DEPTH_STEP_UM);
	rigi_put_u16le(d + 58, SIM_MAX_PROTRUSION_UM);
	rigi_put_u16le(d + 60, SIM_RATE_MIN_SPM);
	rigi_put_u16le(d + 62, SIM_RATE_MAX_SPM);
	d[64] = SIM_N_SPEEDS;
	for (size_t i = 0; i < SIM_N_SPEEDS; i++)
		rigi_put_u16le(d + 66 + 2 * i, speeds[i]);
	*dlen = IDENTIFY_BYTES;
	return SIM_ST_OK;
}

static uint8_t cmd_status(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			  uint8_t *d, size_t *dlen)
{
	const struct sim_fw *fw = &pen->fw;
	uint16_t current;
	int16_t temp;
	uint32_t strokes;

	sim_hw_sense(pen, &current, &temp, &strokes);
	memset(d, 0, STATUS_BYTES);
	d[0] = fw->mode;
	d[1] = fw->motor;
	rigi_put_u16le(d + 2, fw->faults);
	d[4] = fw->active < 0 ? 0xFF : (uint8_t)fw->active;
	d[5] = fw->writing ? 1 : 0;
	d[6] = fw->authenticated ? 1 : 0;
	rigi_put_u32le(d + 8, fw->active < 0 ? 0 : fw->table.seq);
	rigi_put_u32le(d + 12, fw->active < 0 ? 0 : fw->table.crc);
	rigi_put_u32le(d + 16, strokes);
	rigi_put_u16le(d + 20, current);
	rigi_put_u16le(d + 22, (uint16_t)temp);
	rigi_put_u16le(d + 24, fw->code);
	rigi_put_u16le(d + 26, fw->duty);
	rigi_put_u16le(d + 28, fw->depth_um);
	rigi_put_u16le(d + 30, fw->rate_spm);
	*dlen = STATUS_BYTES;
	return SIM_ST_OK;
}

static uint8_t cmd_challenge(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			     uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	fw->authenticated = 0;
	fw->nonce_valid = 0;
	/* No randomness, no challenge: a predictable nonce would let a
	 * recorded AUTH_RESPONSE be replayed. */
	if (rigi_random_bytes(fw->nonce, SIM_FW_NONCE) < 0)
		return SIM_ST_FAULT;
	fw->nonce_valid = 1;
	memcpy(d, fw->nonce, SIM_FW_NONCE);
	*dlen = SIM_FW_NONCE;
	return SIM_ST_OK;
}

static uint8_t cmd_response(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			    uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	const uint8_t *parts[3] = {(const uint8_t *)AUTH_PREFIX, fw->nonce, pen->serial_field};
	const size_t lens[3] = {sizeof(AUTH_PREFIX) - 1, SIM_FW_NONCE, SIM_FLASH_FIELD};
	uint8_t mac[RIGI_HMAC_BYTES];
	int ok;

	if (!fw->nonce_valid)
		return SIM_ST_AUTH_FAILED;
	ok = rigi_hmac_sha256(pen->key, parts, lens, 3, mac) == 0 &&
	     rigi_ct_equal(mac, p, RIGI_HMAC_BYTES);
	/* The nonce is single use whatever the outcome: no replay, no retry. */
	fw->nonce_valid = 0;
	rigi_wipe(fw->nonce, sizeof(fw->nonce));
	rigi_wipe(mac, sizeof(mac));
	fw->authenticated = ok;
	RIGI_DEBUG("sim", "pen %s: authentication %s", pen->serial, ok ? "accepted" : "refused");
	return ok ? SIM_ST_OK : SIM_ST_AUTH_FAILED;
}

static void apply_outputs(struct sim_pen *pen, uint8_t mode, uint16_t code, uint16_t duty,
			  uint16_t depth, uint16_t rate)
{
	struct sim_fw *fw = &pen->fw;
	fw->mode = mode;
	fw->code = code;
	fw->duty = duty;
	fw->depth_um = depth;
	fw->rate_spm = rate;
	sim_hw_apply(pen);
}

static uint8_t cmd_set_user(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			    uint8_t *d, size_t *dlen)
{
	uint16_t depth = rigi_get_u16le(p), rate = rigi_get_u16le(p + 2);
	uint16_t code, duty;
	uint8_t st;

	if (pen->fw.faults & SIM_FAULT_NO_TABLE)
		return SIM_ST_FAULT;
	st = sim_fw_map_user(pen, depth, rate, &code, &duty);
	if (st != SIM_ST_OK)
		return st;
	apply_outputs(pen, 0, code, duty, depth, rate);
	rigi_put_u16le(d, code);
	rigi_put_u16le(d + 2, duty);
	*dlen = 4;
	return SIM_ST_OK;
}

static uint8_t cmd_set_service(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			       uint8_t *d, size_t *dlen)
{
	uint16_t code = rigi_get_u16le(p), duty = rigi_get_u16le(p + 2);

	if (!sim_fw_in_range(code, SIM_CODE_MIN, SIM_CODE_MAX) ||
	    !sim_fw_in_range(duty, SIM_DUTY_MIN, SIM_DUTY_MAX))
		return SIM_ST_OUT_OF_RANGE;
	apply_outputs(pen, 1, code, duty, 0, 0);
	return SIM_ST_OK;
}

static uint8_t cmd_motor(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			 uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	uint16_t tolerated = SIM_FAULT_CARTRIDGE;

	if (p[0] > 1)
		return SIM_ST_BAD_ARGUMENT;
	/* NO_TABLE refuses user mode only: a unit without a table must still
	 * run in service mode, or it could never be calibrated. */
	if (fw->mode == 1)
		tolerated |= SIM_FAULT_NO_TABLE;
	if (p[0] && (fw->faults & ~tolerated))
		return SIM_ST_FAULT;
	fw->motor = p[0];
	sim_hw_apply(pen);
	return SIM_ST_OK;
}

static uint8_t cmd_safe(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;

	fw->motor = 0;
	end_session(fw);
	if (fw->writing)
		sim_fw_abort_write(pen);
	apply_outputs(pen, 0, 0, 0, 0, 0);
	/* Motor off removes the causes of STALL, OVERCURRENT and OVERTEMP; a
	 * flash error is retried by the next write. */
	fw->faults = standing_faults(pen);
	return SIM_ST_OK;
}

static uint8_t cmd_table(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			 uint8_t *d, size_t *dlen)
{
	return sim_fw_table_command(pen, cmd, p, len, d, dlen);
}

static const struct command commands[] = {
	{0x01, 0, 0, 0, cmd_identify},
	{0x02, 0, 0, 0, cmd_status},
	{0x03, 0, 0, 0, cmd_challenge},
	{0x04, 0, 32, 32, cmd_response},
	{0x10, 0, 4, 4, cmd_set_user},
	{0x11, 1, 4, 4, cmd_set_service},
	{0x12, 0, 1, 1, cmd_motor},
	{0x13, 0, 0, 0, cmd_safe},
	{0x20, 0, 5, 5, cmd_table},
	{0x21, 1, 6, 6, cmd_table},
	{0x22, 1, 3, 514, cmd_table},
	{0x23, 1, 0, 0, cmd_table},
	{0x24, 0, 0, 0, cmd_table},
};

/* Checks in the order: known command, payload length, authentication. */
static uint8_t dispatch(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			uint8_t *d, size_t *dlen)
{
	*dlen = 0;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (c->code != cmd)
			continue;
		if (len < c->min_len || len > c->max_len)
			return SIM_ST_BAD_LENGTH;
		if (c->auth && !pen->fw.authenticated)
			return SIM_ST_AUTH_REQUIRED;
		return c->run(pen, cmd, p, len, d, dlen);
	}
	return SIM_ST_UNKNOWN_COMMAND;
}

static size_t build_frame(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *payload,
			  size_t len)
{
	f[0] = SYNC0;
	f[1] = SYNC1;
	f[2] = VERSION;
	f[3] = type;
	rigi_put_u16le(f + 4, seq);
	rigi_put_u16le(f + 6, (uint16_t)len);
	if (payload != f + SIM_FW_HEADER)
		memmove(f + SIM_FW_HEADER, payload, len);
	rigi_put_u32le(f + SIM_FW_HEADER + len, rigi_crc32(f + 2, SIM_FW_HEADER - 2 + len));
	return SIM_FW_HEADER + len + 4;
}

static void emit(struct sim_pen *pen, const uint8_t *frame, size_t len, uint8_t *out,
		 size_t cap, size_t *n_out)
{
	if (*n_out + len > cap) {
		RIGI_WARN("sim", "pen %s: response of %zu bytes dropped: output buffer full "
			  "(the host sent requests without waiting for responses)",
			  pen->serial, len);
		return;
	}
	rigi_trace_bytes("sim", "pen tx", frame, len);
	memcpy(out + *n_out, frame, len);
	*n_out += len;
}

static void send_nak(struct sim_pen *pen, uint8_t status, uint8_t *out, size_t cap,
		     size_t *n_out)
{
	uint8_t f[SIM_FW_HEADER + 1 + 4];
	size_t n = build_frame(f, TYPE_NAK, rigi_get_u16le(pen->fw.rx + 4), &status, 1);
	RIGI_DEBUG("sim", "pen %s: NAK status 0x%02x", pen->serial, status);
	emit(pen, f, n, out, cap, n_out);
}

/* Execute a complete, CRC-checked request, or replay the cached response
 * when the host resends the very same frame. */
static void execute(struct sim_pen *pen, uint8_t *out, size_t cap, size_t *n_out)
{
	struct sim_fw *fw = &pen->fw;
	uint8_t *resp = fw->cache_resp;
	size_t dlen = 0;
	uint8_t st;

	if (fw->rx[3] == TYPE_RESERVED || (fw->rx[3] & RESP_BIT)) {
		/* No response type exists for it (code | 0x80 is the code itself
		 * or the NAK type): refused as a frame, never cached. */
		send_nak(pen, SIM_ST_UNKNOWN_COMMAND, out, cap, n_out);
		return;
	}
	if (fw->cache_req_len == fw->rx_len && memcmp(fw->cache_req, fw->rx, fw->rx_len) == 0) {
		RIGI_DEBUG("sim", "pen %s: repeated request, cached response resent",
			   pen->serial);
		emit(pen, resp, fw->cache_resp_len, out, cap, n_out);
		return;
	}
	st = dispatch(pen, fw->rx[3], fw->rx + SIM_FW_HEADER, rigi_get_u16le(fw->rx + 6),
		      resp + SIM_FW_HEADER + 1, &dlen);
	if (sim_flash_dead(pen->flash)) {
		sim_hw_power_loss(pen); /* the response is lost with the power */
		return;
	}
	RIGI_DEBUG("sim", "pen %s: command 0x%02x -> status 0x%02x", pen->serial, fw->rx[3], st);
	if (st != SIM_ST_OK)
		dlen = 0;
	resp[SIM_FW_HEADER] = st;
	fw->cache_resp_len = build_frame(resp, (uint8_t)(fw->rx[3] | RESP_BIT),
					 rigi_get_u16le(fw->rx + 4), resp + SIM_FW_HEADER,
					 dlen + 1);
	memcpy(fw->cache_req, fw->rx, fw->rx_len);
	fw->cache_req_len = fw->rx_len;
	emit(pen, resp, fw->cache_resp_len, out, cap, n_out);
}

/* One received byte through the frame receiver. */
static void rx_byte(struct sim_pen *pen, int64_t now_ns, uint8_t b, uint8_t *out, size_t cap,
		    size_t *n_out)
{
	struct sim_fw *fw = &pen->fw;
	size_t need;

	if (fw->rx_len == 0 && b != SYNC0)
		return;
	if (fw->rx_len == 1 && b != SYNC1) {
		fw->rx_len = b == SYNC0;
		return;
	}
	fw->rx[fw->rx_len++] = b;
	if (fw->rx_len < SIM_FW_HEADER)
		return;
	if (fw->rx_len == SIM_FW_HEADER) {
		if (fw->rx[2] != VERSION || rigi_get_u16le(fw->rx + 6) > SIM_FW_PAYLOAD_MAX) {
			send_nak(pen, fw->rx[2] != VERSION ? SIM_ST_BAD_VERSION : SIM_ST_BAD_LENGTH,
				 out, cap, n_out);
			fw->rx_len = 0;
		}
		return;
	}
	need = SIM_FW_HEADER + rigi_get_u16le(fw->rx + 6) + 4;
	if (fw->rx_len < need)
		return;
	rigi_trace_bytes("sim", "pen rx", fw->rx, need);
	if (rigi_get_u32le(fw->rx + need - 4) != rigi_crc32(fw->rx + 2, need - 6)) {
		send_nak(pen, SIM_ST_BAD_CRC, out, cap, n_out);
	} else {
		fw->valid_last_ns = now_ns; /* any valid frame shows the host is there */
		execute(pen, out, cap, n_out);
	}
	fw->rx_len = 0;
}

int sim_fw_watchdog(struct sim_pen *pen, int64_t now_ns)
{
	struct sim_fw *fw = &pen->fw;

	if ((fw->mode != 1 && !fw->motor) || now_ns - fw->valid_last_ns < SIM_FW_WATCHDOG_NS)
		return 0;
	RIGI_INFO("sim", "pen %s: host-loss watchdog: no valid frame for %.0f ms in %s mode "
		  "with the motor %s; motor off, USER mode, session ended (fault HOST_LOST)",
		  pen->serial, (double)(now_ns - fw->valid_last_ns) * 1e-6,
		  fw->mode ? "SERVICE" : "USER", fw->motor ? "on" : "off");
	fw->motor = 0;
	end_session(fw);
	/* A resend of the last request must run again, not replay its answer
	 * (which may say "motor on"). */
	fw->cache_req_len = 0;
	fw->cache_resp_len = 0;
	fw->faults |= SIM_FAULT_HOST_LOST;
	apply_outputs(pen, 0, 0, 0, 0, 0);
	return 1;
}

size_t sim_fw_receive(struct sim_pen *pen, int64_t now_ns, const uint8_t *in, size_t len,
		      uint8_t *out, size_t cap)
{
	struct sim_fw *fw = &pen->fw;
	size_t n_out = 0;
	unsigned long boots = pen->boots;

	/* The pen's timers ran while nothing arrived: a watchdog due before
	 * these bytes tripped then, whatever they hold. */
	sim_fw_watchdog(pen, now_ns);
	if (fw->rx_len > 0 && now_ns - fw->rx_last_ns > SIM_FW_RX_TIMEOUT_NS) {
		RIGI_DEBUG("sim", "pen %s: partial frame of %zu bytes timed out", pen->serial,
			   fw->rx_len);
		fw->rx_len = 0;
	}
	/* Bytes arriving after a power loss are lost while the pen reboots. */
	for (size_t i = 0; i < len && pen->boots == boots; i++) {
		if (pen->loss_after > 0 && --pen->loss_after == 0) {
			sim_hw_power_loss(pen);
			break;
		}
		rx_byte(pen, now_ns, in[i], out, cap, &n_out);
	}
	fw->rx_last_ns = now_ns;
	return n_out;
}
