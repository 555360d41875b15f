/* Fuzz target: every DUT reply decoder of the host (rig/lib/dut/client.c,
 * tablexfer.c): IDENTIFY, STATUS, AUTH_CHALLENGE/RESPONSE, SET_USER,
 * SET_SERVICE, MOTOR, SAFE, TABLE_READ, TABLE_BEGIN/CHUNK/COMMIT (a whole
 * rig_dut_table_write), TABLE_ABORT and NAKs, through the real client code
 * over an in-memory transport whose "pen" answers from the fuzz input.
 *
 * Input: 3 bytes naming up to three API calls (byte % 10), then answer
 * records, one per read() of the client: kind, n, n bytes. kind & 3: 0 a
 * frame of type request | 0x80 with the request's seq and the n bytes as
 * payload (status byte first); 1 the same as a NAK (0xFF); 2 the n bytes raw
 * on the wire; 3 a frame with a stale seq. n += (kind & 0x30) << 4. When the
 * input runs out the link drops (no time-dependent waits: deterministic).
 *
 * Oracles (docs/protocol.md §3): a call that succeeds only saw answers the
 * protocol allows: IDENTIFY with reserved bytes 0 and unused speed levels 0,
 * STATUS with reserved bytes 0, TABLE_READ answers naming the slot asked
 * for (the same slot in every chunk of one read) and carrying at most
 * `count` bytes, none beyond `total`; decoded
 * identities have n_speed_levels 1..8, NUL-terminated printable strings and
 * ordered ranges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "dut/client.h"
#include "fuzz.h"

struct wire {
	const uint8_t *in;
	size_t left;
	uint8_t req_cmd;
	uint16_t req_seq;
	uint8_t req_payload[RIGI_FRAME_MAX_PAYLOAD];
	size_t req_len;
	int read_slot;         /* slot named by the first answer of a TABLE_READ run */
	const char *violation; /* an answer the protocol does not allow was served */
	int raw_served;        /* raw bytes were served in this input: the client's
				  decoder keeps bytes across calls, so they may hold or
				  swallow later frames, and the oracle cannot tell which
				  answer the client took for the rest of the input */
	char why[160];
};

static int wire_open(const struct rig_uri *uri, int timeout_ms, void **priv)
{
	return RIG_ERR_UNSUPPORTED;
}

static int wire_write(void *priv, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct wire *w = priv;

	FUZZ_CHECK(len >= 12 && len <= RIGI_FRAME_MAX, "client wrote a %zu-byte frame", len);
	FUZZ_CHECK(buf[0] == 0xA5 && buf[1] == 0x5A && buf[2] == 1, "client frame without sync");
	FUZZ_CHECK(fuzz_u16(buf + 6) + 12u == len, "client frame len field %u for %zu bytes",
		   fuzz_u16(buf + 6), len);
	FUZZ_CHECK(fuzz_u32(buf + len - 4) == fuzz_ref_crc32(buf + 2, len - 6),
		   "client frame with a bad CRC");
	w->req_cmd = buf[3];
	w->req_seq = fuzz_u16(buf + 4);
	w->req_len = len - 12;
	memcpy(w->req_payload, buf + 8, w->req_len);
	return 0;
}

static void note(struct wire *w, const char *what)
{
	if (!w->violation) {
		snprintf(w->why, sizeof(w->why), "%s", what);
		w->violation = w->why;
	}
}

static int nonzero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 1;
	return 0;
}

/* Record answers that a correct host must refuse or that break a call. */
static void judge(struct wire *w, const uint8_t *pl, size_t n)
{
	if (n < 1 || pl[0] != 0)
		return;
	if (w->req_cmd == 0x01 && n == 95) {
		const uint8_t *d = pl + 1;
		if (d[43] || d[65] || nonzero(d + 82, 12))
			note(w, "IDENTIFY reserved bytes not 0");
		for (unsigned i = d[64]; i < 8 && d[64] >= 1; i++)
			if (fuzz_u16(d + 66 + 2 * i))
				note(w, "IDENTIFY unused speed level not 0");
	}
	if (w->req_cmd == 0x02 && n == 37 && (pl[1 + 7] || nonzero(pl + 1 + 32, 4)))
		note(w, "STATUS reserved bytes not 0");
	if (w->req_cmd == 0x20 && n >= 4 && w->req_len == 5) {
		uint8_t slot = w->req_payload[0], got = pl[1];
		uint16_t off = fuzz_u16(w->req_payload + 1), count = fuzz_u16(w->req_payload + 3);
		uint16_t total = fuzz_u16(pl + 2);
		size_t bytes = n - 4;
		if (bytes > count)
			note(w, "TABLE_READ answer longer than count");
		if ((size_t)off + bytes > total)
			note(w, "TABLE_READ answer beyond total");
		if (slot <= 1 && got != slot)
			note(w, "TABLE_READ answer for another slot");
		if (slot == 0xFE && got > 1 && !(got == 0xFF && total == 0))
			note(w, "TABLE_READ of the active slot answered slot >1 with data");
		/* One read is one slot's blob: a later chunk from another slot
		 * splices two tables. */
		if (off == 0)
			w->read_slot = got;
		else if (got != w->read_slot)
			note(w, "TABLE_READ chunks of one read came from different slots");
	}
}

static int wire_read(void *priv, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
	struct wire *w = priv;
	uint8_t kind;
	size_t n;

	*got = 0;
	if (w->left < 2)
		return rigi_fail(RIG_ERR_DISCONNECTED, "fuzz input ended");
	kind = w->in[0];
	n = w->in[1] | ((size_t)(kind & 0x30) << 4);
	w->in += 2;
	w->left -= 2;
	if (n > w->left)
		n = w->left;
	if ((kind & 3) == 2) {
		w->raw_served = 1;
		n = n < cap ? n : cap;
		memcpy(buf, w->in, n);
		*got = n;
	} else {
		uint8_t type = (kind & 3) == 1 ? 0xFF : (uint8_t)(w->req_cmd | 0x80);
		uint16_t seq = (kind & 3) == 3 ? (uint16_t)(w->req_seq - 1) : w->req_seq;
		n = n < RIGI_FRAME_MAX_PAYLOAD ? n : RIGI_FRAME_MAX_PAYLOAD;
		*got = fuzz_frame(buf, type, seq, w->in, n);
		if ((kind & 3) == 0)
			judge(w, w->in, n);
	}
	w->in += n;
	w->left -= n;
	return 0;
}

static void wire_close(void *priv)
{
}

static const struct rigi_transport_ops wire_ops = {"fuzz", wire_open, wire_write, wire_read,
						   wire_close};

static int printable(const char *s)
{
	size_t n = strnlen(s, 17);
	if (n == 0 || n > 16)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7E)
			return 0;
	return 1;
}

static void check_identity(const struct rig_dut_identity *id)
{
	FUZZ_CHECK(printable(id->model) && printable(id->serial), "identity strings");
	FUZZ_CHECK(id->n_speed_levels >= 1 && id->n_speed_levels <= 8, "n_speed_levels %u",
		   id->n_speed_levels);
	FUZZ_CHECK(id->code_min <= id->code_max && id->duty_min <= id->duty_max &&
		   id->depth_min_um <= id->depth_max_um && id->rate_min_spm <= id->rate_max_spm,
		   "identity ranges out of order");
}

/* A valid signed blob for the seeds' pen (MN1-000123, table_seq 2). */
static size_t test_blob(uint8_t *blob, size_t cap)
{
	static const uint8_t key[32] = {1, 2, 3};
	struct rig_cal_table t;
	size_t len = 0;

	memset(&t, 0, sizeof(t));
	snprintf(t.serial, sizeof(t.serial), "MN1-000123");
	t.table_seq = 2;
	t.n_depth = 2;
	t.depth[0].setpoint_um = 250;
	t.depth[0].code = 100;
	t.depth[1].setpoint_um = 2500;
	t.depth[1].code = 4000;
	t.n_rate = 2;
	t.rate[0].rate_spm = 3000;
	t.rate[0].duty = 100;
	t.rate[1].rate_spm = 9000;
	t.rate[1].duty = 900;
	FUZZ_CHECK(rig_cal_table_encode(&t, key, blob, cap, &len) == 0, "encode: %s",
		   rig_last_error());
	return len;
}

static void call(struct rig_dut *dut, struct wire *w, unsigned op)
{
	struct rig_dut_identity id;
	struct rig_dut_status st;
	uint8_t buf[RIG_CAL_TABLE_MAX_BYTES + 700];
	uint16_t code, duty;
	size_t len = 0;
	int activated = 0, ret = 0;

	w->violation = NULL;
	switch (op % 10) {
	case 0:
		ret = rig_dut_identify(dut, &id);
		if (ret == 0)
			check_identity(&id);
		break;
	case 1:
		ret = rig_dut_status(dut, &st);
		if (ret == 0)
			FUZZ_CHECK(st.mode <= 1 && st.motor_on <= 1 && st.write_state <= 1 &&
				   st.authenticated <= 1 && (st.active_slot <= 1 ||
							    st.active_slot == 0xFF),
				   "STATUS decoded out of range");
		break;
	case 2:
		ret = rig_dut_authenticate(dut, (const uint8_t *)"0123456789abcdef0123456789abcdef");
		break;
	case 3:
		ret = rig_dut_set_user(dut, 1000, 6000, &code, &duty);
		break;
	case 4:
		ret = rig_dut_set_service(dut, 2000, 500);
		break;
	case 5:
		ret = rig_dut_motor(dut, 1);
		break;
	case 6:
		ret = rig_dut_safe(dut);
		break;
	case 7:
		ret = rig_dut_table_read(dut, (int[]){RIG_DUT_SLOT_A, RIG_DUT_SLOT_B,
						      RIG_DUT_SLOT_ACTIVE}[(op / 10) % 3],
					 buf, RIG_CAL_TABLE_MAX_BYTES, &len);
		if (ret == 0)
			FUZZ_CHECK(len <= RIG_CAL_TABLE_MAX_BYTES, "read %zu bytes", len);
		break;
	case 8:
		len = test_blob(buf, sizeof(buf));
		ret = rig_dut_table_write(dut, buf, len);
		break;
	default:
		ret = rig_dut_table_commit(dut, buf, test_blob(buf, sizeof(buf)), &activated);
		(void)rig_dut_table_abort(dut);
		break;
	}
	if (getenv("RIG_FUZZ_VERBOSE"))
		fprintf(stderr, "dut_reply: call %u -> %d %s\n", op % 10, ret,
			ret ? rig_last_error() : "");
	if (ret == 0 && !w->raw_served)
		FUZZ_ORACLE(!w->violation, "call %u succeeded after %s", op % 10, w->violation);
	else
		FUZZ_CHECK(rig_last_error()[0] != '\0', "failure %d without a detail", ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire w = {0};
	struct rig_dut *dut;

	fuzz_quiet();
	if (size < 3)
		return 0;
	dut = calloc(1, sizeof(*dut));
	if (!dut)
		abort();
	FUZZ_CHECK(rig_uri_parse("unix:///fuzz/pen.sock", &dut->uri) == 0, "uri");
	dut->ops = &wire_ops;
	dut->tp = &w;
	rigi_frame_decoder_init(&dut->dec);
	/* Long timeouts: the wire never makes the client wait, so no answer
	 * depends on the machine's speed. */
	dut->timeout_ms = 600000;
	dut->commit_timeout_ms = 600000;
	dut->write_chunk = RIGI_DUT_CHUNK_MAX;
	dut->read_chunk = RIGI_DUT_READ_MAX;
	dut->last_status = -1;
	dut->pending_slot = -1;
	dut->next_seq = 0x4000;
	w.in = data + 3;
	w.left = size - 3;
	for (int i = 0; i < 3; i++)
		call(dut, &w, data[i]);
	rig_dut_close(dut);
	return 0;
}
