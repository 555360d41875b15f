/* The write-back fault matrix: a calibration table write (authenticate,
 * STATUS pre-check, TABLE_BEGIN, TABLE_CHUNKs, TABLE_COMMIT, read-back)
 * broken at every stage, by a link cut (the nest's socket endpoint closes,
 * or the USB pen is unplugged) or a power loss in the firmware model
 * (mid-frame, and at the frame's last byte; and inside the flash at the
 * commit's record writes), and the pen's own guards fed tables the rig
 * would never send (a corrupted chunk under a valid frame CRC, a replayed
 * commit, an old validly signed table, a forged signature, non-monotone,
 * out-of-range, wrong-serial and incomplete tables, sent raw past the
 * host's pre-checks). After each cell the pen is power-cycled and
 * reconnected; its active table must be the previous one byte for byte
 * (or, when the commit had completed, the new one; never anything else),
 * CRC and signature verified with the line key; the rig must have reported
 * an error or the pen a clear refusal; and a retry from scratch must
 * succeed. The matrix is printed. Runs over the socket transport to a
 * sim_dut_endpoint, and a subset over USB through umockdev (skipped
 * without LD_PRELOAD=libumockdev-preload.so.0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "dut/client.h"
#include "dut_endpoint.h"
#include "pen.h"
#include "simclock.h"
#include "testsupport.h"
#include "usbharness.h"

#define SERIAL "MN1-000888"
#define CHUNK 64
#define USB_PORT 2
#define MAX_STAGES 16

enum fault {
	CUT,           /* the link drops after n more bytes reached the pen */
	POWER,         /* the pen loses power at its n-th next byte */
	FLASH,         /* the pen loses power inside the commit's flash writes */
	CORRUPT_CHUNK, /* a chunk carries other bytes under a valid frame CRC */
	REPLAY_COMMIT, /* TABLE_COMMIT again after a successful write */
	REPLAY_OLD,    /* an old, validly signed table (lower table_seq) */
	FORGED,        /* signed with another key */
	NON_MONOTONE,
	OUT_OF_RANGE,
	WRONG_SERIAL,
	INCOMPLETE,    /* commit before the last chunk */
};

/* Where in a request frame a CUT or POWER fault strikes. */
enum where { MID, END };

struct cell {
	enum fault fault;
	int stage;        /* request of the write sequence (CUT, POWER) */
	enum where where;
	long flash_bytes; /* FLASH: bytes programmed before the loss */
	int usb;          /* also run over USB */
};

/* One request of the write sequence: its name and frame size. */
struct stage {
	char name[32];
	size_t size;
};

/* A transport under test: how to reach the pen, break the link, and
 * reconnect after a power cycle. */
struct rig {
	const char *name;
	char dir[256];
	char uri[400];
	struct sim_clock clock;
	uint8_t key[32];
	struct sim_pen *pen;
	struct sim_dut_endpoint *ep;  /* socket */
	struct usbh *bus;             /* USB */
	struct rig_dut *dut;
	struct stage stages[MAX_STAGES];
	int n_stages, commit_stage;
	uint8_t prev[RIG_CAL_TABLE_MAX_BYTES], factory[RIG_CAL_TABLE_MAX_BYTES];
	size_t prev_len, factory_len;
	int rows, failed;
};

/* What one cell did. */
struct outcome {
	int err;          /* the rig's error (0: none) */
	int status;       /* the pen's refusal, -1 none */
	int new_active;   /* the new table is active after the power cycle */
	int retried;      /* a retry wrote the table */
	char what[48];
};

static const char *fault_name(enum fault f)
{
	static const char *const names[] = {"cut", "power loss", "flash loss", "corrupted chunk",
					    "replayed commit", "replayed old table", "forged table",
					    "non-monotone table", "out-of-range table",
					    "other serial's table", "incomplete table"};
	return names[f];
}

/* ---- the write sequence, as the rig sends it (protocol.md §3, §6) ---- */

static void add_stage(struct rig *r, const char *name, size_t payload)
{
	snprintf(r->stages[r->n_stages].name, sizeof(r->stages[0].name), "%s", name);
	r->stages[r->n_stages++].size = 12 + payload;
}

static void plan_stages(struct rig *r, size_t blob_len)
{
	unsigned n_chunks = (unsigned)((blob_len + CHUNK - 1) / CHUNK);
	char name[32];

	r->n_stages = 0;
	add_stage(r, "AUTH_CHALLENGE", 0);
	add_stage(r, "AUTH_RESPONSE", 32);
	add_stage(r, "STATUS (pre-check)", 0);
	add_stage(r, "TABLE_BEGIN", 6);
	for (unsigned k = 0; k < n_chunks && k < 9; k++) {
		size_t n = blob_len - k * CHUNK < CHUNK ? blob_len - k * CHUNK : CHUNK;
		snprintf(name, sizeof(name), "TABLE_CHUNK %u/%u", k + 1, n_chunks);
		add_stage(r, name, 2 + n);
	}
	r->commit_stage = r->n_stages;
	add_stage(r, "TABLE_COMMIT", 0);
	add_stage(r, "TABLE_READ (read-back)", 5);
}

/* Bytes the pen receives from arming until the fault strikes. */
static long fault_offset(const struct rig *r, const struct cell *c)
{
	long off = 0;

	for (int s = 0; s < c->stage; s++)
		off += (long)r->stages[s].size;
	return off + (long)(c->where == MID ? r->stages[c->stage].size / 2
					     : r->stages[c->stage].size);
}

/* The new table survives when the commit ran before the fault: a cut
 * after the whole commit frame (its answer lost), or any fault in the
 * read-back. A power loss at the commit's last byte loses that byte. */
static int expect_new(const struct rig *r, const struct cell *c)
{
	if (c->fault != CUT && c->fault != POWER)
		return 0;
	return c->stage > r->commit_stage ||
	       (c->stage == r->commit_stage && c->fault == CUT && c->where == END);
}

static int expect_err(enum fault f)
{
	switch (f) {
	case CUT:
	case POWER:
	case FLASH:
		return RIG_ERR_DISCONNECTED;
	case CORRUPT_CHUNK:
		return RIG_ERR_CRC;
	case REPLAY_COMMIT:
	case REPLAY_OLD:
		return RIG_ERR_STATE;
	case FORGED:
		return RIG_ERR_SIGNATURE;
	case NON_MONOTONE:
		return RIG_ERR_FORMAT;
	case OUT_OF_RANGE:
		return RIG_ERR_RANGE;
	case WRONG_SERIAL:
		return RIG_ERR_ARG;
	default:
		return RIG_ERR_PROTOCOL;
	}
}

static int expect_status(enum fault f)
{
	static const int st[] = {
		[CORRUPT_CHUNK] = RIG_DUT_TABLE_CRC,       [REPLAY_COMMIT] = RIG_DUT_WRONG_STATE,
		[REPLAY_OLD] = RIG_DUT_TABLE_STALE,        [FORGED] = RIG_DUT_TABLE_SIGNATURE,
		[NON_MONOTONE] = RIG_DUT_TABLE_NOT_MONOTONE, [OUT_OF_RANGE] = RIG_DUT_TABLE_BOUNDS,
		[WRONG_SERIAL] = RIG_DUT_TABLE_SERIAL,     [INCOMPLETE] = RIG_DUT_TABLE_INCOMPLETE,
	};
	return f >= CORRUPT_CHUNK ? st[f] : -1;
}

/* ---- tables ---- */

/* The table after @p prev: table_seq + 1 and a knot nudged, signed with
 * @p key. Returns its size. */
static size_t next_table(const struct rig *r, const uint8_t *prev, size_t prev_len,
			 const uint8_t *key, void (*spoil)(struct rig_cal_table *),
			 uint8_t *out)
{
	struct rig_cal_table t;
	size_t len = 0;

	assert_int_equal(rig_cal_table_decode(prev, prev_len, r->key, &t), 0);
	t.table_seq++;
	t.created = t.table_seq;
	t.depth[1].code = (uint16_t)(t.depth[1].code + (t.table_seq % 2 ? 1 : -1));
	if (spoil)
		spoil(&t);
	assert_int_equal(rig_cal_table_encode(&t, key, out, RIG_CAL_TABLE_MAX_BYTES, &len), 0);
	return len;
}

static void spoil_monotone(struct rig_cal_table *t)
{
	uint16_t c = t->depth[1].code;
	t->depth[1].code = t->depth[2].code;
	t->depth[2].code = c;
}

static void spoil_range(struct rig_cal_table *t)
{
	t->rate[t->n_rate - 1].duty = 1001; /* duty_max is 1000 permille */
}

static void spoil_serial(struct rig_cal_table *t)
{
	snprintf(t->serial, sizeof(t->serial), "MN1-000999");
}

/* ---- raw frames: the pen's guards without the rig's pre-checks ---- */

static int raw(struct rig_dut *dut, uint8_t cmd, const uint8_t *p, size_t len)
{
	struct rigi_dut_request req = {.cmd = cmd, .payload = p, .len = len,
				       .timeout_ms = cmd == RIGI_DUT_TABLE_COMMIT ? 2000 : 0};
	uint8_t data[8];
	return rigi_dut_transact(dut, &req, data, sizeof(data), NULL);
}

/* TABLE_BEGIN, TABLE_CHUNKs (byte @p corrupt_at flipped inside its frame,
 * -1 none; the last chunk left out when @p skip_last), TABLE_COMMIT (the
 * pen's flash cut after @p flash_bytes, -1 never). On a refusal the pen's
 * status goes to *@p status before the write is aborted. */
static int raw_write(struct rig *r, const uint8_t *blob, size_t len, long corrupt_at,
		     int skip_last, long flash_bytes, int *status)
{
	uint8_t p[2 + CHUNK];
	int ret;

	rigi_put_u16le(p, (uint16_t)len);
	rigi_put_u32le(p + 2, rigi_crc32(blob, len));
	ret = raw(r->dut, RIGI_DUT_TABLE_BEGIN, p, 6);
	for (size_t off = 0; ret == 0 && off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		if (skip_last && off + n == len)
			break;
		rigi_put_u16le(p, (uint16_t)off);
		memcpy(p + 2, blob + off, n);
		if (corrupt_at >= (long)off && corrupt_at < (long)(off + n))
			p[2 + corrupt_at - (long)off] ^= 0x5A;
		ret = raw(r->dut, RIGI_DUT_TABLE_CHUNK, p, 2 + n);
	}
	if (ret == 0) {
		sim_pen_flash_loss_after(r->pen, flash_bytes);
		ret = raw(r->dut, RIGI_DUT_TABLE_COMMIT, NULL, 0);
		sim_pen_flash_loss_after(r->pen, -1);
	}
	if (ret < 0 && ret != RIG_ERR_DISCONNECTED) {
		*status = rig_dut_last_status(r->dut);
		rig_dut_table_abort(r->dut);
	}
	return ret;
}

/* ---- transports ---- */

static void socket_arm(struct rig *r, long n)
{
	sim_dut_endpoint_cut_after(r->ep, n);
}

static void usb_arm(struct rig *r, long n)
{
	usbh_unplug_after(r->bus, USB_PORT, n);
}

/* Close, power-cycle the pen, reconnect, learn its identity. */
static void reconnect(struct rig *r)
{
	rig_dut_close(r->dut);
	r->dut = NULL;
	sim_pen_power_cycle(r->pen);
	if (r->bus)
		assert_int_equal(usbh_replug(r->bus, USB_PORT), 0);
	if (rig_dut_open(r->uri, &r->dut) != 0)
		fail_msg("%s: reconnect: %s", r->name, rig_last_error());
	r->dut->write_chunk = CHUNK;
	assert_int_equal(rig_dut_identify(r->dut, NULL), 0);
}

static void rig_start(struct rig *r, const char *name, int usb)
{
	struct sim_pen_config cfg = {.seed = 9, .serial = SERIAL, .clock = &r->clock};
	char *dir = ts_mkdtemp("wbf");

	memset(r, 0, sizeof(*r));
	r->name = name;
	assert_non_null(dir);
	snprintf(r->dir, sizeof(r->dir), "%s", dir);
	free(dir);
	for (int i = 0; i < 32; i++)
		r->key[i] = (uint8_t)(0x90 ^ i);
	sim_clock_init(&r->clock, 1.0);
	memcpy(cfg.line_key, r->key, 32);
	cfg.state_dir = r->dir;
	r->pen = sim_pen_new(&cfg);
	assert_non_null(r->pen);
	if (usb) {
		r->bus = usbh_new();
		assert_non_null(r->bus);
		assert_int_equal(usbh_plug(r->bus, USB_PORT, r->pen), 0);
		snprintf(r->uri, sizeof(r->uri), "usb://1209:4d4e?serial=%s", SERIAL);
	} else {
		snprintf(r->uri, sizeof(r->uri), "unix://%s/nest0.sock", r->dir);
		r->ep = sim_dut_endpoint_new(r->uri + strlen("unix://"));
		assert_non_null(r->ep);
		sim_dut_endpoint_set_pen(r->ep, r->pen);
		assert_int_equal(sim_dut_endpoint_start(r->ep), 0);
	}
	reconnect(r);
	assert_int_equal(rig_dut_table_read(r->dut, RIG_DUT_SLOT_ACTIVE, r->prev,
					    sizeof(r->prev), &r->prev_len), 0);
	memcpy(r->factory, r->prev, r->prev_len);
	r->factory_len = r->prev_len;
	plan_stages(r, r->prev_len);
	printf("\nwrite-back fault matrix over %s (%s, %zu-byte table in %d-byte chunks)\n",
	       name, r->uri, r->prev_len, CHUNK);
	printf("%-48s | %-20s | %-18s | %-26s | %s\n", "cell", "rig error", "pen status",
	       "active table after", "retry");
}

static void rig_stop(struct rig *r)
{
	rig_dut_close(r->dut);
	sim_dut_endpoint_free(r->ep);
	usbh_free(r->bus);
	sim_pen_free(r->pen);
	ts_rmtree(r->dir);
	printf("%d cells, %d failed\n", r->rows, r->failed);
}

/* ---- one cell ---- */

static void cell_name(const struct rig *r, const struct cell *c, char *buf, size_t cap)
{
	if (c->fault == CUT || c->fault == POWER)
		snprintf(buf, cap, "%s %s %s", fault_name(c->fault),
			 c->where == MID ? "mid" : c->fault == CUT ? "after" : "at last byte of",
			 r->stages[c->stage].name);
	else if (c->fault == FLASH)
		snprintf(buf, cap, "flash loss after %ld B of commit", c->flash_bytes);
	else
		snprintf(buf, cap, "%s", fault_name(c->fault));
}

/* A table with a refused content, sent raw. */
static int send_spoiled(struct rig *r, void (*spoil)(struct rig_cal_table *), int *status)
{
	uint8_t bad[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = next_table(r, r->prev, r->prev_len, r->key, spoil, bad);
	return raw_write(r, bad, len, -1, 0, -1, status);
}

static int link_fault(struct rig *r, const struct cell *c, const uint8_t *next, size_t len)
{
	long n = fault_offset(r, c);
	int ret;

	if (c->fault == CUT)
		(r->bus ? usb_arm : socket_arm)(r, n);
	else
		sim_pen_power_loss_after(r->pen, n);
	ret = rig_dut_authenticate(r->dut, r->key);
	if (ret == 0)
		ret = rig_dut_table_write(r->dut, next, len);
	if (c->fault == CUT)
		(r->bus ? usb_arm : socket_arm)(r, -1);
	else
		sim_pen_power_loss_after(r->pen, -1);
	return ret;
}

/* Break the write of @p next as the cell says. REPLAY_COMMIT first writes
 * @p next for real, which becomes the previous table, and moves @p next on. */
static int inject(struct rig *r, const struct cell *c, uint8_t *next, size_t *len, int *status)
{
	uint8_t other[RIG_CAL_TABLE_MAX_BYTES], wrong_key[32];
	int ret;

	*status = -1;
	if (c->fault == CUT || c->fault == POWER)
		return link_fault(r, c, next, *len);
	assert_int_equal(rig_dut_authenticate(r->dut, r->key), 0);
	switch (c->fault) {
	case FLASH:
		return raw_write(r, next, *len, -1, 0, c->flash_bytes, status);
	case CORRUPT_CHUNK:
		return raw_write(r, next, *len, CHUNK + 5, 0, -1, status);
	case INCOMPLETE:
		return raw_write(r, next, *len, -1, 1, -1, status);
	case REPLAY_OLD:
		return raw_write(r, r->factory, r->factory_len, -1, 0, -1, status);
	case REPLAY_COMMIT:
		assert_int_equal(rig_dut_table_write(r->dut, next, *len), 0);
		memcpy(r->prev, next, *len);
		r->prev_len = *len;
		*len = next_table(r, r->prev, r->prev_len, r->key, NULL, next);
		ret = raw(r->dut, RIGI_DUT_TABLE_COMMIT, NULL, 0);
		*status = rig_dut_last_status(r->dut);
		return ret;
	case FORGED:
		/* The rig cannot check a signature: it sends, the pen refuses. */
		memset(wrong_key, 0xA5, sizeof(wrong_key));
		next_table(r, r->prev, r->prev_len, wrong_key, NULL, other);
		ret = rig_dut_table_write(r->dut, other, *len);
		if (strstr(rig_last_error(), rig_dut_status_name(RIG_DUT_TABLE_SIGNATURE)))
			*status = RIG_DUT_TABLE_SIGNATURE;
		return ret;
	case NON_MONOTONE:
		return send_spoiled(r, spoil_monotone, status);
	case OUT_OF_RANGE:
		return send_spoiled(r, spoil_range, status);
	default:
		return send_spoiled(r, spoil_serial, status);
	}
}

/* After the power cycle: the active table is @p want byte for byte, with
 * a valid CRC and signature, and the pen's status agrees. NULL when so,
 * else what is wrong. */
static const char *check_active(struct rig *r, const uint8_t *want, size_t want_len)
{
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_cal_table t;
	struct rig_dut_status st;
	size_t len = 0;

	if (rig_dut_table_read(r->dut, RIG_DUT_SLOT_ACTIVE, blob, sizeof(blob), &len) != 0)
		return "active table unreadable";
	if (rig_cal_table_decode(blob, len, r->key, &t) != 0)
		return "active table fails CRC or signature";
	if (len != want_len || memcmp(blob, want, len) != 0)
		return "active table is not the expected one";
	if (rig_dut_status(r->dut, &st) != 0 || st.active_table_seq != t.table_seq ||
	    st.write_state != 0 || st.authenticated != 0)
		return "status disagrees (seq, write state or session)";
	return NULL;
}

static void run_cell(struct rig *r, const struct cell *c)
{
	uint8_t next[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = next_table(r, r->prev, r->prev_len, r->key, NULL, next);
	struct outcome o = {.new_active = expect_new(r, c)};
	const char *bad = NULL;
	char name[64], active[40], retry[32] = "not needed";

	cell_name(r, c, name, sizeof(name));
	o.err = inject(r, c, next, &len, &o.status);
	if (o.err != expect_err(c->fault))
		bad = "unexpected rig error";
	else if (expect_status(c->fault) >= 0 && o.status != expect_status(c->fault))
		bad = "unexpected pen status";
	reconnect(r);
	if (!bad)
		bad = o.new_active ? check_active(r, next, len) : check_active(r, r->prev, r->prev_len);
	snprintf(active, sizeof(active), "%s (seq %u) verified", o.new_active ? "new" : "previous",
		 rigi_get_u32le((o.new_active ? next : r->prev) + 24));
	if (!bad && !o.new_active) {
		if (rig_dut_authenticate(r->dut, r->key) != 0 ||
		    rig_dut_table_write(r->dut, next, len) != 0)
			bad = "retry failed";
		snprintf(retry, sizeof(retry), "written (seq %u)", rigi_get_u32le(next + 24));
	}
	if (!bad) {
		memcpy(r->prev, next, len);
		r->prev_len = len;
	}
	printf("%-48s | %-20s | %-18s | %-26s | %s%s%s\n", name, rig_errname(o.err),
	       o.status >= 0 ? rig_dut_status_name(o.status) : "-", bad ? "?" : active, retry,
	       bad ? "  FAILED: " : "", bad ? bad : "");
	if (bad)
		fprintf(stderr, "%s over %s: %s (rig error %s: %s)\n", name, r->name, bad,
			rig_errname(o.err), rig_last_error());
	r->rows++;
	r->failed += bad != NULL;
}

/* ---- the matrix ---- */

static int in_usb_subset(const struct rig *r, const struct cell *c)
{
	int chunk2 = 5, commit = r->commit_stage;

	switch (c->fault) {
	case CUT:
		return (c->stage == 1 && c->where == END) || (c->stage == chunk2 && c->where == MID) ||
		       c->stage == commit || (c->stage == commit + 1 && c->where == END);
	case POWER:
		return (c->stage == chunk2 && c->where == MID) || (c->stage == commit && c->where == END);
	case FLASH:
		return c->flash_bytes == 40;
	default:
		return c->fault == CORRUPT_CHUNK || c->fault == FORGED || c->fault == REPLAY_OLD;
	}
}

static void run_matrix(struct rig *r)
{
	static const long flash[] = {0, 16, 31, 32, 40, 47};
	struct cell c;

	for (int f = CUT; f <= POWER; f++)
		for (int s = 0; s < r->n_stages; s++)
			for (int w = MID; w <= END; w++) {
				c = (struct cell){.fault = f, .stage = s, .where = w};
				if (!r->bus || in_usb_subset(r, &c))
					run_cell(r, &c);
			}
	for (size_t i = 0; i < sizeof(flash) / sizeof(flash[0]); i++) {
		c = (struct cell){.fault = FLASH, .flash_bytes = flash[i]};
		if (!r->bus || in_usb_subset(r, &c))
			run_cell(r, &c);
	}
	for (int f = CORRUPT_CHUNK; f <= INCOMPLETE; f++) {
		c = (struct cell){.fault = f};
		if (!r->bus || in_usb_subset(r, &c))
			run_cell(r, &c);
	}
}

static void matrix_over_socket(void **state)
{
	struct rig *r = malloc(sizeof(*r));

	(void)state;
	rig_start(r, "the socket transport", 0);
	run_matrix(r);
	rig_stop(r);
	assert_int_equal(r->failed, 0);
	free(r);
}

static void matrix_over_usb(void **state)
{
	struct rig *r;

	(void)state;
	if (!usbh_available()) {
		printf("USB subset skipped: needs LD_PRELOAD=libumockdev-preload.so.0\n");
		skip();
	}
	r = malloc(sizeof(*r));
	rig_start(r, "USB (umockdev)", 1);
	run_matrix(r);
	rig_stop(r);
	assert_int_equal(r->failed, 0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix_over_socket),
		cmocka_unit_test(matrix_over_usb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
