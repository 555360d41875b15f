/* Tests of the simulated pen's firmware model (rig/sim/firmware*.c, flash.c)
 * driven by frames this file builds by hand from docs/protocol.md — never
 * through rig/lib/dut, so that the two implementations check each other:
 * framing and NAKs, the duplicate-request cache, every command's length
 * check, authentication, user mode, table writes and every commit
 * rejection, power loss at chosen bytes and inside flash writes, and
 * persistence of the flash file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "pen.h"
#include "testsupport.h"

#define FRAME_MAX 1036
#define SERIAL "MN1-000042"

/* Status codes and commands, transcribed from docs/protocol.md. */
enum { OK = 0x00, BAD_CRC = 0x01, BAD_VERSION = 0x02, UNKNOWN_COMMAND = 0x03,
       BAD_LENGTH = 0x04, BAD_ARGUMENT = 0x05, AUTH_REQUIRED = 0x06, AUTH_FAILED = 0x07,
       WRONG_STATE = 0x08, OUT_OF_RANGE = 0x09, TABLE_INCOMPLETE = 0x0A, TABLE_CRC = 0x0B,
       TABLE_SIGNATURE = 0x0C, TABLE_FORMAT = 0x0D, TABLE_NOT_MONOTONE = 0x0E,
       TABLE_BOUNDS = 0x0F, TABLE_STALE = 0x10, TABLE_SERIAL = 0x11, FAULT = 0x13 };
enum { IDENTIFY = 0x01, STATUS = 0x02, CHALLENGE = 0x03, RESPONSE = 0x04, SET_USER = 0x10,
       SET_SERVICE = 0x11, MOTOR = 0x12, SAFE = 0x13, T_READ = 0x20, T_BEGIN = 0x21,
       T_CHUNK = 0x22, T_COMMIT = 0x23, T_ABORT = 0x24 };

struct fix {
	char *dir;
	struct sim_clock clock;
	struct sim_pen *pen;
	uint8_t key[32];
	uint16_t seq;
	uint8_t last[FRAME_MAX]; /* last request frame sent */
	size_t last_len;
	int64_t mono;            /* the pen's monotonic time (ns), moved by hand */
};

static size_t build(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *p, size_t len)
{
	return ts_frame_build(f, type, seq, p, len);
}

static struct sim_pen *make_pen(struct fix *f, const uint8_t *key, enum sim_failure failure)
{
	struct sim_pen_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 7;
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", SERIAL);
	cfg.failure = failure;
	cfg.state_dir = f->dir;
	memcpy(cfg.line_key, key, 32);
	cfg.clock = &f->clock;
	return sim_pen_new(&cfg);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	for (int i = 0; i < 32; i++)
		f->key[i] = (uint8_t)(0x40 + i);
	f->dir = ts_mkdtemp("simfw");
	sim_clock_init(&f->clock, 1.0);
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_non_null(f->pen);
	f->seq = 100;
	f->mono = 1000000000000LL; /* any start: only differences count */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	sim_pen_free(f->pen);
	ts_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* Check a response frame and return its status; data after it to @p data. */
static int parse_resp(const uint8_t *r, size_t n, uint8_t type, uint16_t seq, uint8_t *data,
		      size_t *dlen)
{
	size_t len;
	assert_true(n >= 13);
	assert_int_equal(r[0], 0xA5);
	assert_int_equal(r[1], 0x5A);
	assert_int_equal(r[2], 0x01);
	assert_int_equal(r[3], type);
	assert_int_equal(rigi_get_u16le(r + 4), seq);
	len = rigi_get_u16le(r + 6);
	assert_int_equal(n, 12 + len);
	assert_int_equal(rigi_get_u32le(r + 8 + len), rigi_crc32(r + 2, 6 + len));
	if (data)
		memcpy(data, r + 9, len - 1);
	if (dlen)
		*dlen = len - 1;
	return r[8];
}

/* One request, one response; returns the status byte. */
static int req(struct fix *f, uint8_t cmd, const uint8_t *p, size_t len, uint8_t *data,
	       size_t *dlen)
{
	uint8_t out[2 * FRAME_MAX];
	size_t n;
	f->seq++;
	f->last_len = build(f->last, cmd, f->seq, p, len);
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	return parse_resp(out, n, (uint8_t)(cmd | 0x80), f->seq, data, dlen);
}

static void status(struct fix *f, uint8_t st[36])
{
	size_t n;
	assert_int_equal(req(f, STATUS, NULL, 0, st, &n), OK);
	assert_int_equal(n, 36);
}

static void mac_for(const uint8_t *key, const uint8_t nonce[32], uint8_t mac[32])
{
	uint8_t serial[16] = {0};
	const uint8_t *parts[3] = {(const uint8_t *)"NRIG-AUTH-1", nonce, serial};
	const size_t lens[3] = {11, 32, 16};
	memcpy(serial, SERIAL, strlen(SERIAL));
	assert_int_equal(rigi_hmac_sha256(key, parts, lens, 3, mac), 0);
}

static int authenticate(struct fix *f, const uint8_t *key)
{
	uint8_t nonce[32], mac[32];
	size_t n;
	assert_int_equal(req(f, CHALLENGE, NULL, 0, nonce, &n), OK);
	assert_int_equal(n, 32);
	mac_for(key, nonce, mac);
	return req(f, RESPONSE, mac, 32, NULL, NULL);
}

/* ---- table blobs (docs/protocol.md §6) ---- */

struct knots {
	size_t nd, nr;
	uint16_t d[32][2], r[32][2];
};

static const struct knots GOOD = {
	4, 3,
	{{200, 100}, {1200, 1101}, {2000, 2300}, {2600, 3500}},
	{{2900, 300}, {6000, 600}, {9100, 1000}},
};

/* A signed blob whose reserved bytes 36..39 hold @p reserved (0 in a good one). */
static size_t blob_reserved(uint8_t *b, const struct knots *k, const char *serial,
			    uint32_t seq, const uint8_t *key, uint32_t reserved)
{
	size_t off = 40;
	const uint8_t *parts[2] = {(const uint8_t *)"NRIG-TABLE-1", b};
	size_t lens[2] = {12, 0};

	memset(b, 0, 40);
	memcpy(b, "NRCT", 4);
	rigi_put_u16le(b + 4, 1);
	b[6] = (uint8_t)k->nd;
	b[7] = (uint8_t)k->nr;
	memcpy(b + 8, serial, strlen(serial));
	rigi_put_u32le(b + 24, seq);
	rigi_put_u64le(b + 28, 1700000000u);
	rigi_put_u32le(b + 36, reserved);
	for (size_t i = 0; i < k->nd; i++, off += 4) {
		rigi_put_u16le(b + off, k->d[i][0]);
		rigi_put_u16le(b + off + 2, k->d[i][1]);
	}
	for (size_t i = 0; i < k->nr; i++, off += 4) {
		rigi_put_u16le(b + off, k->r[i][0]);
		rigi_put_u16le(b + off + 2, k->r[i][1]);
	}
	rigi_put_u32le(b + off, rigi_crc32(b, off));
	lens[1] = off + 4;
	assert_int_equal(rigi_hmac_sha256(key, parts, lens, 2, b + off + 4), 0);
	return off + 36;
}

static size_t blob(uint8_t *b, const struct knots *k, const char *serial, uint32_t seq,
		   const uint8_t *key)
{
	return blob_reserved(b, k, serial, seq, key, 0);
}

static void begin(struct fix *f, size_t total, uint32_t crc, int expect_slot)
{
	uint8_t p[6], d[8];
	size_t n;
	rigi_put_u16le(p, (uint16_t)total);
	rigi_put_u32le(p + 2, crc);
	assert_int_equal(req(f, T_BEGIN, p, 6, d, &n), OK);
	assert_int_equal(n, 1);
	assert_int_equal(d[0], expect_slot);
}

static int chunk(struct fix *f, uint16_t offset, const uint8_t *b, size_t len)
{
	uint8_t p[514];
	rigi_put_u16le(p, offset);
	memcpy(p + 2, b, len);
	return req(f, T_CHUNK, p, len + 2, NULL, NULL);
}

/* Authenticate, send the blob in chunks of @p step, commit; returns the
 * commit status. */
static int write_table(struct fix *f, const uint8_t *b, size_t len, size_t step)
{
	uint8_t st[36];
	assert_int_equal(authenticate(f, f->key), OK);
	status(f, st);
	begin(f, len, rigi_crc32(b, len), st[4] == 0 ? 1 : 0);
	for (size_t off = 0; off < len; off += step)
		assert_int_equal(chunk(f, (uint16_t)off, b + off, off + step > len ? len - off : step),
				 OK);
	return req(f, T_COMMIT, NULL, 0, NULL, NULL);
}

/* Read a slot (0, 1, 0xFE) back in pieces; returns its total. */
static size_t read_slot(struct fix *f, uint8_t slot, uint8_t *buf, uint8_t *actual)
{
	uint8_t p[5], d[1100];
	size_t n, total = 0, got = 0;
	do {
		p[0] = slot;
		rigi_put_u16le(p + 1, (uint16_t)got);
		rigi_put_u16le(p + 3, 100);
		assert_int_equal(req(f, T_READ, p, 5, d, &n), OK);
		total = rigi_get_u16le(d + 1);
		if (actual)
			*actual = d[0];
		memcpy(buf + got, d + 3, n - 3);
		got += n - 3;
	} while (got < total);
	return total;
}

static void assert_active(struct fix *f, int slot, uint32_t seq)
{
	uint8_t st[36];
	status(f, st);
	assert_int_equal(st[4], slot);
	assert_int_equal(rigi_get_u32le(st + 8), seq);
}

/* ---- tests ---- */

static void identify(void **state)
{
	struct fix *f = *state;
	uint8_t d[128];
	size_t n;
	static const uint16_t speeds[] = {3000, 4200, 5400, 6600, 7800, 9000, 0, 0};

	assert_int_equal(req(f, IDENTIFY, NULL, 0, d, &n), OK);
	assert_int_equal(n, 94);
	assert_string_equal((char *)d, "MN1");
	assert_memory_equal(d + 16, SERIAL, strlen(SERIAL));
	assert_int_equal(d[16 + strlen(SERIAL)], 0);
	assert_int_equal(rigi_get_u16le(d + 32), 0x0100);
	assert_int_equal(rigi_get_u32le(d + 34), 0x010200);
	assert_int_equal(rigi_get_u16le(d + 38), 1);
	assert_int_equal(rigi_get_u16le(d + 40), 512);
	assert_int_equal(d[42], 32);
	assert_int_equal(rigi_get_u16le(d + 46), 4095);
	assert_int_equal(rigi_get_u16le(d + 50), 1000);
	assert_int_equal(rigi_get_u16le(d + 52), 250);
	assert_int_equal(rigi_get_u16le(d + 54), 2500);
	assert_int_equal(rigi_get_u16le(d + 56), 250);
	assert_int_equal(rigi_get_u16le(d + 58), 3000);
	assert_int_equal(rigi_get_u16le(d + 60), 3000);
	assert_int_equal(rigi_get_u16le(d + 62), 9000);
	assert_int_equal(d[64], 6);
	for (int i = 0; i < 8; i++)
		assert_int_equal(rigi_get_u16le(d + 66 + 2 * i), speeds[i]);
}

static void status_and_factory_table(void **state)
{
	struct fix *f = *state;
	uint8_t st[36], b[600], actual;
	size_t total;

	status(f, st);
	assert_int_equal(st[0], 0);                      /* user mode */
	assert_int_equal(st[1], 0);                      /* motor off */
	assert_int_equal(rigi_get_u16le(st + 2), 0);     /* no fault */
	assert_int_equal(st[4], 0);                      /* slot A */
	assert_int_equal(st[5], 0);
	assert_int_equal(st[6], 0);
	assert_int_equal(rigi_get_u32le(st + 8), 1);     /* table_seq 1 */
	assert_int_equal(rigi_get_u16le(st + 20), 0);    /* no current */
	assert_in_range(rigi_get_u16le(st + 22), 200, 300);
	total = read_slot(f, 0xFE, b, &actual);
	assert_int_equal(actual, 0);
	/* Factory table: 13 depth knots every 250 µm, 6 rate knots. */
	assert_int_equal(total, 40 + 4 * 19 + 36);
	assert_memory_equal(b, "NRCT", 4);
	assert_int_equal(b[6], 13);
	assert_int_equal(b[7], 6);
	assert_int_equal(rigi_get_u16le(b + 40 + 4 * 12), 3000);
	assert_int_equal(rigi_get_u16le(b + 40 + 4 * 12 + 2), 4000);
	assert_int_equal(rigi_get_u16le(b + 40 + 4 * 4 + 2), 1333);
	assert_int_equal(rigi_get_u16le(b + 40 + 4 * 13), 3000);
	assert_int_equal(rigi_get_u16le(b + 40 + 4 * 18 + 2), 853); /* round(120 + 880 * 150 / 180) */
	assert_int_equal(rigi_get_u32le(st + 12), rigi_get_u32le(b + total - 36));
	assert_int_equal(rigi_get_u32le(b + total - 36), rigi_crc32(b, total - 36));
	assert_int_equal(read_slot(f, 1, b, NULL), 0);
}

static void bad_lengths_and_unknown(void **state)
{
	static const struct { uint8_t cmd; size_t len; } cmds[] = {
		{IDENTIFY, 0}, {STATUS, 0}, {CHALLENGE, 0}, {RESPONSE, 32}, {SET_USER, 4},
		{SET_SERVICE, 4}, {MOTOR, 1}, {SAFE, 0}, {T_READ, 5}, {T_BEGIN, 6},
		{T_COMMIT, 0}, {T_ABORT, 0},
	};
	struct fix *f = *state;
	uint8_t p[600] = {0};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(req(f, cmds[i].cmd, p, cmds[i].len + 1, NULL, NULL), BAD_LENGTH);
		if (cmds[i].len > 0)
			assert_int_equal(req(f, cmds[i].cmd, p, cmds[i].len - 1, NULL, NULL),
					 BAD_LENGTH);
	}
	assert_int_equal(req(f, T_CHUNK, p, 2, NULL, NULL), BAD_LENGTH);
	assert_int_equal(req(f, T_CHUNK, p, 515, NULL, NULL), BAD_LENGTH);
	/* Length is checked before authentication. */
	assert_int_equal(req(f, T_CHUNK, p, 3, NULL, NULL), AUTH_REQUIRED);
	assert_int_equal(req(f, 0x05, NULL, 0, NULL, NULL), UNKNOWN_COMMAND);
	assert_int_equal(req(f, 0x30, p, 3, NULL, NULL), UNKNOWN_COMMAND);
	assert_int_equal(req(f, 0x7E, NULL, 0, NULL, NULL), UNKNOWN_COMMAND); /* type 0xFE */
}

static void naks_and_resync(void **state)
{
	struct fix *f = *state;
	uint8_t fr[64], out[4096];
	size_t len, n;

	len = build(fr, STATUS, 0x1234, NULL, 0);
	fr[len - 1] ^= 0x55;
	n = sim_pen_receive_at(f->pen, f->mono, fr, len, out, sizeof(out));
	assert_int_equal(n, 13);
	assert_int_equal(out[3], 0xFF);
	assert_int_equal(rigi_get_u16le(out + 4), 0x1234);
	assert_int_equal(rigi_get_u16le(out + 6), 1);
	assert_int_equal(out[8], BAD_CRC);
	assert_int_equal(rigi_get_u32le(out + 9), rigi_crc32(out + 2, 7));

	len = build(fr, STATUS, 0x2222, NULL, 0);
	fr[2] = 0x02;
	n = sim_pen_receive_at(f->pen, f->mono, fr, len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xFF, 0x2222, NULL, NULL), BAD_VERSION);

	len = build(fr, STATUS, 0x3333, NULL, 0);
	rigi_put_u16le(fr + 6, 1025);
	n = sim_pen_receive_at(f->pen, f->mono, fr, 8, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xFF, 0x3333, NULL, NULL), BAD_LENGTH);

	/* Garbage (including a lone sync byte) before a good frame is skipped. */
	memcpy(fr, "\x00\xA5\x11\xA5\xA5", 5);
	len = build(fr + 5, IDENTIFY, 0x4444, NULL, 0);
	n = sim_pen_receive_at(f->pen, f->mono, fr, len + 5, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x81, 0x4444, NULL, NULL), OK);

	/* A frame split over calls is reassembled. */
	len = build(fr, IDENTIFY, 0x5555, NULL, 0);
	assert_int_equal(sim_pen_receive_at(f->pen, f->mono, fr, 5, out, sizeof(out)), 0);
	n = sim_pen_receive_at(f->pen, f->mono, fr + 5, len - 5, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x81, 0x5555, NULL, NULL), OK);
}

/* The 100 ms inter-byte timeout counts real (monotonic) time, not the
 * simulated clock (docs/protocol.md §2). */
static void partial_frame_times_out(void **state)
{
	struct fix *f = *state;
	uint8_t fr[64], out[4096];
	size_t len = build(fr, IDENTIFY, 0x0101, NULL, 0), n;

	/* 99 ms between the pieces, and 10 s of simulated time: still one frame. */
	assert_int_equal(sim_pen_receive_at(f->pen, f->mono, fr, 6, out, sizeof(out)), 0);
	f->mono += 99000000;
	f->clock.start_ns -= 10000000000LL;
	n = sim_pen_receive_at(f->pen, f->mono, fr + 6, len - 6, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x81, 0x0101, NULL, NULL), OK);
	/* 101 ms: the partial frame is gone, the next frame is read on its own. */
	assert_int_equal(sim_pen_receive_at(f->pen, f->mono, fr, 6, out, sizeof(out)), 0);
	f->mono += 101000000;
	len = build(fr, STATUS, 0x0202, NULL, 0);
	n = sim_pen_receive_at(f->pen, f->mono, fr, len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x82, 0x0202, NULL, NULL), OK);
}

static void duplicate_request_cached(void **state)
{
	struct fix *f = *state;
	uint8_t n1[32], n2[32], out[4096], b[600], d[8];
	size_t n, len = blob(b, &GOOD, SERIAL, 2, f->key);

	assert_int_equal(req(f, CHALLENGE, NULL, 0, n1, NULL), OK);
	/* The same frame again: the cached response, not a fresh nonce. */
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x83, f->seq, n2, NULL), OK);
	assert_memory_equal(n1, n2, 32);
	/* A new seq executes again. */
	assert_int_equal(req(f, CHALLENGE, NULL, 0, n2, NULL), OK);
	assert_memory_not_equal(n1, n2, 32);

	/* A resent chunk is not written twice. */
	assert_int_equal(authenticate(f, f->key), OK);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 0, b, 50), OK);
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xA2, f->seq, d, NULL), OK);
	assert_int_equal(rigi_get_u16le(d), 50);
	assert_int_equal(chunk(f, 50, b + 50, len - 50), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), OK);
	/* A lost commit response: the resend gets it again, not WRONG_STATE. */
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xA3, f->seq, d, NULL), OK);
	assert_int_equal(d[0], 1);
	assert_int_equal(rigi_get_u32le(d + 1), 2);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), WRONG_STATE);
}

static void authentication(void **state)
{
	struct fix *f = *state;
	uint8_t nonce[32] = {0}, mac[32], wrong[32], p[4] = {0}, st[36];

	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);
	assert_int_equal(req(f, RESPONSE, nonce, 32, NULL, NULL), AUTH_FAILED); /* no challenge */
	memset(wrong, 0x11, 32);
	assert_int_equal(authenticate(f, wrong), AUTH_FAILED);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);

	assert_int_equal(req(f, CHALLENGE, NULL, 0, nonce, NULL), OK);
	mac_for(f->key, nonce, mac);
	assert_int_equal(req(f, RESPONSE, mac, 32, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(st[6], 1);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	/* Replay of the same MAC under a new seq: the nonce was consumed. */
	assert_int_equal(req(f, RESPONSE, mac, 32, NULL, NULL), AUTH_FAILED);

	/* A new challenge, SAFE and a link close each end the session. */
	assert_int_equal(req(f, CHALLENGE, NULL, 0, nonce, NULL), OK);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);
	assert_int_equal(authenticate(f, f->key), OK);
	sim_pen_link_closed(f->pen);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);
}

static int set_user(struct fix *f, uint16_t depth, uint16_t rate, uint16_t *code,
		    uint16_t *duty)
{
	uint8_t p[4], d[8];
	size_t n;
	int st;
	rigi_put_u16le(p, depth);
	rigi_put_u16le(p + 2, rate);
	st = req(f, SET_USER, p, 4, d, &n);
	if (st == OK) {
		assert_int_equal(n, 4);
		*code = rigi_get_u16le(d);
		*duty = rigi_get_u16le(d + 2);
	}
	return st;
}

static void user_mode_mapping(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], p[4];
	uint16_t code, duty;
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	/* Factory table: nominal 0.75 µm per code. */
	assert_int_equal(set_user(f, 1100, 9000, &code, &duty), OK);
	assert_int_equal(code, 1467); /* 1333 + 334 * 100 / 250 = 1466.6 */
	assert_int_equal(duty, 853);

	assert_int_equal(write_table(f, b, len, 64), OK);
	assert_int_equal(set_user(f, 700, 6000, &code, &duty), OK);
	assert_int_equal(code, 601); /* 100 + 1001 * 500 / 1000 = 600.5: to nearest */
	assert_int_equal(duty, 600);
	assert_int_equal(set_user(f, 2500, 9000, &code, &duty), OK);
	assert_int_equal(code, 3300); /* 2300 + 1200 * 500 / 600 */
	assert_int_equal(duty, 987);  /* 600 + 400 * 3000 / 3100 = 987.1 */
	status(f, st);
	assert_int_equal(st[0], 0);
	assert_int_equal(rigi_get_u16le(st + 24), 3300);
	assert_int_equal(rigi_get_u16le(st + 28), 2500);
	assert_int_equal(rigi_get_u16le(st + 30), 9000);
	assert_int_equal(set_user(f, 249, 6000, &code, &duty), OUT_OF_RANGE);
	assert_int_equal(set_user(f, 2501, 6000, &code, &duty), OUT_OF_RANGE);
	assert_int_equal(set_user(f, 1000, 2999, &code, &duty), OUT_OF_RANGE);
	assert_int_equal(set_user(f, 1000, 9001, &code, &duty), OUT_OF_RANGE);

	/* Service mode: raw values, setpoints reported as 0. */
	assert_int_equal(authenticate(f, f->key), OK);
	rigi_put_u16le(p, 4096);
	rigi_put_u16le(p + 2, 500);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OUT_OF_RANGE);
	rigi_put_u16le(p, 4095);
	rigi_put_u16le(p + 2, 1001);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OUT_OF_RANGE);
	rigi_put_u16le(p + 2, 1000);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(st[0], 1);
	assert_int_equal(rigi_get_u16le(st + 24), 4095);
	assert_int_equal(rigi_get_u16le(st + 26), 1000);
	assert_int_equal(rigi_get_u16le(st + 28), 0);
	assert_int_equal(rigi_get_u16le(st + 30), 0);
	/* SET_USER leaves service mode. */
	assert_int_equal(set_user(f, 700, 6000, &code, &duty), OK);
	status(f, st);
	assert_int_equal(st[0], 0);
}

static void motor_and_safe(void **state)
{
	struct fix *f = *state;
	uint8_t st[36], on = 1, bad = 2;
	uint16_t code, duty;

	assert_int_equal(req(f, MOTOR, &bad, 1, NULL, NULL), BAD_ARGUMENT);
	assert_int_equal(set_user(f, 1000, 6000, &code, &duty), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	f->clock.start_ns -= 2000000000LL; /* 2 s of running */
	status(f, st);
	assert_int_equal(st[1], 1);
	assert_in_range(rigi_get_u16le(st + 20), 100, 1000);   /* current flows */
	assert_in_range(rigi_get_u32le(st + 16), 150, 250);    /* ~100 strokes/s for 2 s */
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(st[0], 0);
	assert_int_equal(st[1], 0);
	assert_int_equal(st[6], 0);
	assert_int_equal(rigi_get_u16le(st + 20), 0);
	assert_int_equal(rigi_get_u16le(st + 24), 0);
	assert_int_equal(rigi_get_u16le(st + 26), 0);
	assert_int_equal(rigi_get_u16le(st + 28), 0);
}

static void table_write_and_read_back(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], back[600], d[8], actual, p[5];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key), n;

	assert_int_equal(write_table(f, b, len, 100), OK);
	assert_active(f, 1, 2);
	assert_int_equal(read_slot(f, 0xFE, back, &actual), len);
	assert_int_equal(actual, 1);
	assert_memory_equal(back, b, len);
	assert_int_equal(read_slot(f, 0, back, NULL), 40 + 4 * 19 + 36); /* factory kept in A */
	/* Reads at the end, past the end, over 1000 bytes, of a bad slot. */
	p[0] = 1;
	rigi_put_u16le(p + 1, (uint16_t)len);
	rigi_put_u16le(p + 3, 10);
	assert_int_equal(req(f, T_READ, p, 5, d, &n), OK);
	assert_int_equal(n, 3);
	rigi_put_u16le(p + 1, (uint16_t)(len + 1));
	assert_int_equal(req(f, T_READ, p, 5, NULL, NULL), BAD_ARGUMENT);
	rigi_put_u16le(p + 1, 0);
	rigi_put_u16le(p + 3, 1001);
	assert_int_equal(req(f, T_READ, p, 5, NULL, NULL), BAD_ARGUMENT);
	p[0] = 2;
	rigi_put_u16le(p + 3, 10);
	assert_int_equal(req(f, T_READ, p, 5, NULL, NULL), BAD_ARGUMENT);
	/* The next write goes to A. */
	len = blob(b, &GOOD, SERIAL, 3, f->key);
	assert_int_equal(write_table(f, b, len, 512), OK);
	assert_active(f, 0, 3);
}

static void table_state_errors(void **state)
{
	struct fix *f = *state;
	uint8_t b[600] = {0}, st[36], p[6];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(chunk(f, 0, b, 10), WRONG_STATE);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), WRONG_STATE);
	rigi_put_u16le(p, 513);
	rigi_put_u32le(p + 2, 0);
	assert_int_equal(req(f, T_BEGIN, p, 6, NULL, NULL), BAD_ARGUMENT);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 10, b, 10), TABLE_INCOMPLETE);
	assert_int_equal(chunk(f, 0, b, 100), OK);
	assert_int_equal(chunk(f, 50, b + 50, 10), TABLE_INCOMPLETE);
	assert_int_equal(chunk(f, 100, b + 100, len), BAD_ARGUMENT); /* beyond total */
	status(f, st);
	assert_int_equal(st[5], 1);
	assert_int_equal(req(f, T_ABORT, NULL, 0, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(st[5], 0);
	assert_int_equal(chunk(f, 100, b + 100, 10), WRONG_STATE);
	assert_active(f, 0, 1);
}

/* Commit a blob of @p len bytes whose CRC at TABLE_BEGIN is @p crc. */
static int commit_raw(struct fix *f, const uint8_t *b, size_t len, size_t sent, uint32_t crc)
{
	uint8_t back[600];
	int st;
	assert_int_equal(authenticate(f, f->key), OK);
	begin(f, len, crc, 1);
	if (sent)
		assert_int_equal(chunk(f, 0, b, sent), OK);
	st = req(f, T_COMMIT, NULL, 0, NULL, NULL);
	/* Whatever failed: A still active, B erased. */
	assert_active(f, 0, 1);
	assert_int_equal(read_slot(f, 1, back, NULL), 0);
	return st;
}

static int commit_knots(struct fix *f, const struct knots *k, const char *serial,
			uint32_t seq, const uint8_t *key)
{
	uint8_t b[600];
	size_t len = blob(b, k, serial, seq, key);
	return commit_raw(f, b, len, len, rigi_crc32(b, len));
}

static void commit_rejections(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], other[32];
	struct knots k;
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	assert_int_equal(commit_raw(f, b, len, len - 10, rigi_crc32(b, len)), TABLE_INCOMPLETE);
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len) ^ 1), TABLE_CRC);
	b[len - 36] ^= 1; /* blob CRC field */
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len)), TABLE_CRC);
	b[len - 36] ^= 1;
	b[0] = 'X';
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len)), TABLE_FORMAT);
	b[0] = 'N';
	assert_int_equal(commit_raw(f, b, len - 4, len - 4, rigi_crc32(b, len - 4)), TABLE_FORMAT);
	b[len - 1] ^= 1; /* HMAC */
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len)), TABLE_SIGNATURE);

	memset(other, 0x77, sizeof(other));
	assert_int_equal(commit_knots(f, &GOOD, SERIAL, 2, other), TABLE_SIGNATURE);
	assert_int_equal(commit_knots(f, &GOOD, "MN1-999999", 2, other), TABLE_SIGNATURE);
	assert_int_equal(commit_knots(f, &GOOD, "MN1-999999", 2, f->key), TABLE_SERIAL);
	assert_int_equal(commit_knots(f, &GOOD, SERIAL, 1, f->key), TABLE_STALE);
	k = GOOD;
	k.nd = 1;
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_FORMAT);
	k = GOOD;
	k.d[2][1] = 1101; /* code not strictly increasing */
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_NOT_MONOTONE);
	assert_int_equal(commit_knots(f, &k, SERIAL, 1, f->key), TABLE_STALE); /* order 4 < 5 */
	k = GOOD;
	k.r[1][0] = 2900; /* equal setpoints */
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_NOT_MONOTONE);
	k = GOOD;
	k.d[3][1] = 4096;
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_BOUNDS);
	k = GOOD;
	k.r[2][1] = 1001;
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_BOUNDS);
	k = GOOD;
	k.d[0][0] = 251; /* does not cover 250 µm */
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_BOUNDS);
	k = GOOD;
	k.r[2][0] = 8999;
	assert_int_equal(commit_knots(f, &k, SERIAL, 2, f->key), TABLE_BOUNDS);
	/* Still writable afterwards. */
	len = blob(b, &GOOD, SERIAL, 9, f->key);
	assert_int_equal(write_table(f, b, len, 100), OK);
	assert_active(f, 1, 9);
}

/* The frames of a whole table write after authentication, back to back;
 * @p commit_at receives the offset of the TABLE_COMMIT frame. */
static size_t write_stream(struct fix *f, const uint8_t *b, size_t len, uint8_t *s,
			   size_t *commit_at)
{
	uint8_t p[520];
	size_t n = 0;
	rigi_put_u16le(p, (uint16_t)len);
	rigi_put_u32le(p + 2, rigi_crc32(b, len));
	n += build(s + n, T_BEGIN, ++f->seq, p, 6);
	for (size_t off = 0; off < len; off += 40) {
		size_t c = off + 40 > len ? len - off : 40;
		rigi_put_u16le(p, (uint16_t)off);
		memcpy(p + 2, b + off, c);
		n += build(s + n, T_CHUNK, ++f->seq, p, c + 2);
	}
	*commit_at = n;
	n += build(s + n, T_COMMIT, ++f->seq, NULL, 0);
	return n;
}

/* Feed a byte stream frame by frame as a host would; returns response bytes. */
static size_t feed(struct fix *f, const uint8_t *s, size_t n)
{
	uint8_t out[4096];
	size_t got = 0;
	for (size_t off = 0; off < n;) {
		size_t len = 12 + rigi_get_u16le(s + off + 6);
		got += sim_pen_receive_at(f->pen, f->mono, s + off, len, out, sizeof(out));
		off += len;
	}
	return got;
}

static void reopen(struct fix *f)
{
	sim_pen_free(f->pen);
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_non_null(f->pen);
}

static void assert_factory_intact(struct fix *f)
{
	uint8_t back[600];
	assert_active(f, 0, 1);
	assert_int_equal(read_slot(f, 0xFE, back, NULL), 40 + 4 * 19 + 36);
	assert_int_equal(rigi_get_u32le(back + 24), 1);
}

static void power_loss_during_table_write(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], s[2048];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key), commit_at, total;
	unsigned long boots;

	total = write_stream(f, b, len, s, &commit_at);
	const size_t at[] = {1, 4, 13, 18, 30, commit_at - 1, commit_at, commit_at + 6, total};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		assert_int_equal(authenticate(f, f->key), OK);
		total = write_stream(f, b, len, s, &commit_at);
		boots = sim_pen_boot_count(f->pen);
		sim_pen_power_loss_after(f->pen, (long)at[i]);
		feed(f, s, total);
		assert_int_equal(sim_pen_boot_count(f->pen), boots + 1);
		assert_factory_intact(f);
		reopen(f);
		assert_factory_intact(f);
	}
	/* Control: the loss one byte after the commit frame comes too late. */
	assert_int_equal(authenticate(f, f->key), OK);
	total = write_stream(f, b, len, s, &commit_at);
	sim_pen_power_loss_after(f->pen, (long)total + 1);
	assert_true(feed(f, s, total) > 0);
	sim_pen_power_loss_after(f->pen, -1);
	assert_active(f, 1, 2);
	reopen(f);
	assert_active(f, 1, 2);
}

static void torn_flash_writes(void **state)
{
	/* Cuts inside the erase of TABLE_BEGIN (544 bytes) and the chunk data. */
	static const long early_cuts[] = {0, 31, 300, 544 + 20, 544 + 60};
	struct fix *f = *state;
	uint8_t b[600], s[2048], back[600];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key), commit_at, total;
	unsigned long boots;

	for (size_t i = 0; i < sizeof(early_cuts) / sizeof(early_cuts[0]); i++) {
		assert_int_equal(authenticate(f, f->key), OK);
		total = write_stream(f, b, len, s, &commit_at);
		boots = sim_pen_boot_count(f->pen);
		sim_pen_flash_loss_after(f->pen, early_cuts[i]);
		feed(f, s, total);
		assert_int_equal(sim_pen_boot_count(f->pen), boots + 1);
		assert_factory_intact(f);
	}
	/* Every byte of the commit record (32) and the marker record (16). */
	for (long n = 0; n <= 48; n++) {
		assert_int_equal(authenticate(f, f->key), OK);
		total = write_stream(f, b, len, s, &commit_at);
		assert_true(feed(f, s, commit_at) > 0);
		sim_pen_flash_loss_after(f->pen, n);
		if (n < 48) {
			assert_int_equal(feed(f, s + commit_at, total - commit_at), 0);
			assert_factory_intact(f);
			reopen(f);
			assert_factory_intact(f);
			continue;
		}
		assert_true(feed(f, s + commit_at, total - commit_at) > 0);
		sim_pen_flash_loss_after(f->pen, -1);
		assert_active(f, 1, 2);
		reopen(f);
		assert_active(f, 1, 2);
		assert_int_equal(read_slot(f, 0xFE, back, NULL), len);
		assert_memory_equal(back, b, len);
	}
}

static void persistence_and_counters(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], on = 1, off = 0;
	uint16_t code, duty;
	uint32_t strokes;
	size_t len = blob(b, &GOOD, SERIAL, 5, f->key);

	assert_int_equal(write_table(f, b, len, 100), OK);
	assert_int_equal(set_user(f, 1500, 7800, &code, &duty), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	f->clock.start_ns -= 3000000000LL;
	assert_int_equal(req(f, MOTOR, &off, 1, NULL, NULL), OK);
	status(f, st);
	strokes = rigi_get_u32le(st + 16);
	assert_in_range(strokes, 200, 600);
	reopen(f);
	assert_active(f, 1, 5);
	status(f, st);
	assert_int_equal(rigi_get_u32le(st + 16), strokes);
	assert_int_equal(set_user(f, 1500, 7800, &code, &duty), OK);
	/* Strokes counted while running are lost with the power, as on a pen
	 * that saves its counter at motor stop. */
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	f->clock.start_ns -= 1000000000LL;
	sim_pen_power_cycle(f->pen);
	status(f, st);
	assert_int_equal(rigi_get_u32le(st + 16), strokes);
	assert_int_equal(st[1], 0);
}

static void corrupt(struct fix *f, long offset)
{
	char path[512];
	uint8_t v;
	int fd;
	snprintf(path, sizeof(path), "%s/%s.flash", f->dir, SERIAL);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &v, 1, offset), 1);
	v ^= 0x5A;
	assert_int_equal(pwrite(fd, &v, 1, offset), 1);
	close(fd);
}

static void boot_fallback_and_no_table(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], on = 1, p[4] = {0};
	uint16_t code, duty;
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	assert_int_equal(write_table(f, b, len, 100), OK);
	sim_pen_free(f->pen);
	corrupt(f, 0x420 + 50); /* slot B data: the marked slot fails its CRC */
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_non_null(f->pen);
	assert_factory_intact(f);
	sim_pen_free(f->pen);
	corrupt(f, 0x120 + 50); /* slot A too */
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_non_null(f->pen);
	status(f, st);
	assert_int_equal(st[4], 0xFF);
	assert_int_equal(rigi_get_u16le(st + 2), 1u << 3);
	assert_int_equal(set_user(f, 1000, 6000, &code, &duty), FAULT);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), FAULT);
	/* Service mode still runs, so that the unit can be calibrated. */
	assert_int_equal(authenticate(f, f->key), OK);
	rigi_put_u16le(p, 1000);
	rigi_put_u16le(p + 2, 500);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	/* Any table_seq is fresh when no table is valid; it goes to slot A. */
	len = blob(b, &GOOD, SERIAL, 1, f->key);
	assert_int_equal(authenticate(f, f->key), OK);
	begin(f, len, rigi_crc32(b, len), 0);
	assert_int_equal(chunk(f, 0, b, len), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(st[4], 0);
	assert_int_equal(rigi_get_u16le(st + 2), 0);
}

static void flash_identity_checks(void **state)
{
	struct fix *f = *state;
	uint8_t other[32];

	assert_null(make_pen(f, f->key, SIM_FAILURE_NONE)); /* file held by f->pen */
	assert_non_null(strstr(rig_last_error(), "in use"));
	sim_pen_free(f->pen);
	memset(other, 0x99, sizeof(other));
	f->pen = make_pen(f, other, SIM_FAILURE_NONE);
	assert_null(f->pen);
	assert_non_null(strstr(rig_last_error(), "another line key"));
	corrupt(f, 30); /* the serial in the header */
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_null(f->pen);
	corrupt(f, 30);
	f->pen = make_pen(f, f->key, SIM_FAILURE_NONE);
	assert_non_null(f->pen);
	assert_factory_intact(f);
}

/* ---- the cases docs/protocol.md settles explicitly (issue 12) ---- */

/* Send one frame of type @p type (kept as the last request); returns the
 * response byte count. */
static size_t send_type(struct fix *f, uint8_t type, uint8_t *out, size_t cap)
{
	f->last_len = build(f->last, type, ++f->seq, NULL, 0);
	return sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, cap);
}

/* §2/§3: 0x7F and types with bit 7 set are no command (no response type
 * exists for them): a NAK UNKNOWN_COMMAND, never a response typed 0xFF. */
static void reserved_types_get_nak(void **state)
{
	static const uint8_t types[] = {0x7F, 0x80, 0x81, 0xA3, 0xFF};
	struct fix *f = *state;
	uint8_t out[4096];
	size_t n;

	for (size_t i = 0; i < sizeof(types); i++) {
		n = send_type(f, types[i], out, sizeof(out));
		assert_int_equal(parse_resp(out, n, 0xFF, f->seq, NULL, NULL), UNKNOWN_COMMAND);
		assert_int_equal(rigi_get_u16le(out + 6), 1);
	}
	/* Not cached: a resend is refused again, and the request executed
	 * before it still has its cached answer. */
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xFF, f->seq, NULL, NULL), UNKNOWN_COMMAND);
	assert_int_equal(req(f, IDENTIFY, NULL, 0, NULL, NULL), OK);
	assert_int_equal(send_type(f, 0x7F, out, sizeof(out)), 13);
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xFF, f->seq, NULL, NULL), UNKNOWN_COMMAND);
	/* Code 0x00 (response type 0x80) and 0x7E (0xFE) are ordinary unknown codes. */
	assert_int_equal(req(f, 0x00, NULL, 0, NULL, NULL), UNKNOWN_COMMAND);
	assert_int_equal(req(f, 0x7E, NULL, 0, NULL, NULL), UNKNOWN_COMMAND);
}

/* §3: unknown command, then length, then authentication, then arguments,
 * then the state the command needs. */
static void error_check_order(void **state)
{
	struct fix *f = *state;
	uint8_t p[8] = {0}, b[600] = {0};
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	assert_int_equal(req(f, 0x15, p, 3, NULL, NULL), UNKNOWN_COMMAND); /* any length */
	assert_int_equal(req(f, SET_SERVICE, p, 3, NULL, NULL), BAD_LENGTH); /* not AUTH_REQUIRED */
	rigi_put_u16le(p, 5000);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED); /* not OUT_OF_RANGE */
	rigi_put_u16le(p, 0);
	assert_int_equal(req(f, T_BEGIN, p, 6, NULL, NULL), AUTH_REQUIRED); /* not BAD_ARGUMENT */
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(req(f, T_BEGIN, p, 6, NULL, NULL), BAD_ARGUMENT);
	/* TABLE_CHUNK: no write (WRONG_STATE) before offset (TABLE_INCOMPLETE)
	 * before reaching beyond total (BAD_ARGUMENT); no CRC per chunk. */
	assert_int_equal(chunk(f, 7, b, 512), WRONG_STATE);
	begin(f, len, rigi_crc32(b, len) ^ 1, 1); /* wrong CRC: seen at commit only */
	assert_int_equal(chunk(f, 7, b, 512), TABLE_INCOMPLETE);
	assert_int_equal(chunk(f, 0, b, len + 1), BAD_ARGUMENT);
	assert_int_equal(chunk(f, 0, b, len), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), TABLE_CRC);
}

/* §3: MOTOR on > 1 is BAD_ARGUMENT before any fault check, and changes
 * nothing; MOTOR 0 is always OK. */
static void motor_argument(void **state)
{
	struct fix *f = *state;
	uint8_t st[36], on = 1, off = 0, bad;
	uint16_t code, duty;

	assert_int_equal(set_user(f, 1000, 6000, &code, &duty), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	for (bad = 2; bad != 0; bad = (uint8_t)(bad == 2 ? 0xFF : 0)) {
		assert_int_equal(req(f, MOTOR, &bad, 1, NULL, NULL), BAD_ARGUMENT);
		status(f, st);
		assert_int_equal(st[1], 1); /* still on */
	}
	assert_int_equal(req(f, MOTOR, &off, 1, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &off, 1, NULL, NULL), OK);
}

/* §5: a refused AUTH_RESPONSE leaves no session and no challenge; mode,
 * outputs and motor stay as they were (SAFE or the watchdog stop them). */
static void rejected_auth_response(void **state)
{
	struct fix *f = *state;
	uint8_t p[4], st[36], on = 1, wrong[32], nonce[32], mac[32];

	assert_int_equal(authenticate(f, f->key), OK);
	rigi_put_u16le(p, 1200);
	rigi_put_u16le(p + 2, 600);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	memset(wrong, 0x11, sizeof(wrong));
	assert_int_equal(authenticate(f, wrong), AUTH_FAILED);
	status(f, st);
	assert_int_equal(st[0], 1);                   /* still SERVICE */
	assert_int_equal(st[1], 1);                   /* motor still on */
	assert_int_equal(rigi_get_u16le(st + 24), 1200);
	assert_int_equal(st[6], 0);                   /* no session */
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), AUTH_REQUIRED);
	/* The nonce went with the refusal: the right MAC for it fails now. */
	assert_int_equal(req(f, CHALLENGE, NULL, 0, nonce, NULL), OK);
	mac_for(f->key, nonce, mac);
	assert_int_equal(req(f, RESPONSE, wrong, 32, NULL, NULL), AUTH_FAILED);
	assert_int_equal(req(f, RESPONSE, mac, 32, NULL, NULL), AUTH_FAILED);
	/* Without a challenge outstanding an existing session is kept. */
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(req(f, RESPONSE, wrong, 32, NULL, NULL), AUTH_FAILED);
	status(f, st);
	assert_int_equal(st[6], 1);
}

/* §6: the interpolated value is rounded half away from zero (x.5 up, as
 * values are never negative). */
static void rounding_ties(void **state)
{
	static const struct knots TIES = {
		2, 2,
		{{0, 0}, {4000, 4001}},   /* 250 µm -> 250.0625, 2000 -> 2000.5 */
		{{0, 1}, {10000, 1000}},  /* 5000 spm -> 500.5 */
	};
	struct fix *f = *state;
	uint8_t b[600];
	uint16_t code, duty;
	size_t len = blob(b, &TIES, SERIAL, 2, f->key);

	assert_int_equal(write_table(f, b, len, 512), OK);
	assert_int_equal(set_user(f, 2000, 5000, &code, &duty), OK);
	assert_int_equal(code, 2001); /* 2000.5: away from zero, not to even (2000) */
	assert_int_equal(duty, 501);  /* 500.5: away from zero, not to even (500) */
	assert_int_equal(set_user(f, 250, 3000, &code, &duty), OK);
	assert_int_equal(code, 250);  /* 250.0625 */
	assert_int_equal(duty, 301);  /* 300.7 */
}

/* §6: reserved bytes 36..39 must be 0: TABLE_FORMAT, even when signed. */
static void reserved_bytes_checked(void **state)
{
	struct fix *f = *state;
	uint8_t b[600];
	size_t len;

	for (int byte = 0; byte < 4; byte++) {
		len = blob_reserved(b, &GOOD, SERIAL, 2, f->key, 1u << (8 * byte));
		assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len)), TABLE_FORMAT);
	}
	/* After the CRC check of step 1 and before the HMAC of step 3. */
	len = blob_reserved(b, &GOOD, SERIAL, 2, f->key, 5);
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len) ^ 1), TABLE_CRC);
	b[len - 1] ^= 1;
	assert_int_equal(commit_raw(f, b, len, len, rigi_crc32(b, len)), TABLE_FORMAT);
}

/* §6: every failed TABLE_COMMIT ends the write: a second commit gets
 * WRONG_STATE, the resent commit frame its cached failure, and the host
 * starts again with TABLE_BEGIN. */
static void failed_commit_ends_write(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], out[4096];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key), n;

	assert_int_equal(authenticate(f, f->key), OK);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 0, b, len - 1), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), TABLE_INCOMPLETE);
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xA3, f->seq, NULL, NULL), TABLE_INCOMPLETE);
	status(f, st);
	assert_int_equal(st[5], 0);
	assert_int_equal(chunk(f, (uint16_t)(len - 1), b + len - 1, 1), WRONG_STATE);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), WRONG_STATE);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 0, b, len), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), OK);
	assert_active(f, 1, 2);
}

/* §2/§6: a link close drops the duplicate cache and the session; a table
 * write stays open and can be continued after authenticating again. */
static void link_close_cache_and_write(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], out[4096], n1[32], n2[32];
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key), n;

	assert_int_equal(req(f, CHALLENGE, NULL, 0, n1, NULL), OK);
	sim_pen_link_closed(f->pen);
	n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0x83, f->seq, n2, NULL), OK);
	assert_memory_not_equal(n1, n2, 32); /* executed again, not replayed */

	assert_int_equal(authenticate(f, f->key), OK);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 0, b, 60), OK);
	sim_pen_link_closed(f->pen);
	status(f, st);
	assert_int_equal(st[5], 1); /* still writing */
	assert_int_equal(st[6], 0); /* session gone */
	assert_int_equal(chunk(f, 60, b + 60, len - 60), AUTH_REQUIRED);
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(chunk(f, 60, b + 60, len - 60), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), OK);
	assert_active(f, 1, 2);
}

/* ---- host-loss watchdog (§3), on a hand-driven monotonic clock ---- */

#define MS 1000000LL
#define HOST_LOST (1u << 6)

static int tick(struct fix *f, int64_t ms)
{
	f->mono += ms * MS;
	return sim_pen_tick_at(f->pen, f->mono);
}

static void service_running(struct fix *f)
{
	uint8_t p[4], on = 1;
	assert_int_equal(authenticate(f, f->key), OK);
	rigi_put_u16le(p, 1200);
	rigi_put_u16le(p + 2, 600);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
}

static void watchdog_trips_after_1000_ms(void **state)
{
	struct fix *f = *state;
	uint8_t st[36], on = 1, p[4];
	struct sim_truth t;

	service_running(f);
	assert_int_equal(tick(f, 999), 0);
	sim_pen_truth_now(f->pen, &t);
	assert_true(t.rate_hz > 0);
	assert_int_equal(tick(f, 1), 1); /* 1000 ms after the last valid frame */
	assert_int_equal(tick(f, 500), 0); /* once */
	sim_pen_truth_now(f->pen, &t);
	assert_true(t.rate_hz == 0);
	status(f, st);
	assert_int_equal(st[0], 0);                      /* USER mode */
	assert_int_equal(st[1], 0);                      /* motor off */
	assert_int_equal(rigi_get_u16le(st + 2), HOST_LOST);
	assert_int_equal(st[6], 0);                      /* session ended */
	assert_int_equal(rigi_get_u16le(st + 24), 0);    /* outputs parked */
	assert_int_equal(rigi_get_u16le(st + 26), 0);
	/* Latched: reading STATUS does not clear it, MOTOR 1 is refused. */
	status(f, st);
	assert_int_equal(rigi_get_u16le(st + 2), HOST_LOST);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), FAULT);
	/* Service mode may be entered again (with a session), still no motor. */
	assert_int_equal(authenticate(f, f->key), OK);
	rigi_put_u16le(p, 1200);
	rigi_put_u16le(p + 2, 600);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), FAULT);
	/* SAFE clears it. */
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	status(f, st);
	assert_int_equal(rigi_get_u16le(st + 2), 0);
	service_running(f);
	status(f, st);
	assert_int_equal(st[1], 1);
}

/* Every valid frame is activity, whatever its command or answer; NAKed
 * frames and partial frames are not. */
static void watchdog_activity(void **state)
{
	struct fix *f = *state;
	uint8_t fr[64], out[4096], st[36], p[4] = {0};
	size_t len, n;

	service_running(f);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(tick(f, 900), 0);
		if (i == 0)
			assert_int_equal(req(f, 0x30, NULL, 0, NULL, NULL), UNKNOWN_COMMAND);
		else if (i == 1)
			assert_int_equal(req(f, SET_USER, p, 3, NULL, NULL), BAD_LENGTH);
		else if (i == 2)
			n = send_type(f, 0x7F, out, sizeof(out)); /* NAK UNKNOWN_COMMAND: valid frame */
		else if (i == 3)
			n = sim_pen_receive_at(f->pen, f->mono, f->last, f->last_len, out,
					       sizeof(out)); /* a resend */
		else
			status(f, st);
	}
	(void)n;
	/* A bad CRC and a partial frame are not. */
	len = build(fr, STATUS, ++f->seq, NULL, 0);
	fr[len - 1] ^= 1;
	assert_int_equal(tick(f, 500), 0);
	n = sim_pen_receive_at(f->pen, f->mono, fr, len, out, sizeof(out));
	assert_int_equal(parse_resp(out, n, 0xFF, f->seq, NULL, NULL), BAD_CRC);
	assert_int_equal(tick(f, 300), 0);
	assert_int_equal(sim_pen_receive_at(f->pen, f->mono, fr, 6, out, sizeof(out)), 0);
	assert_int_equal(tick(f, 200), 1);
}

/* Disarmed in USER mode with the motor off; armed by service mode alone or
 * by the motor alone; a frame arriving late finds the pen already stopped. */
static void watchdog_arming(void **state)
{
	struct fix *f = *state;
	uint8_t st[36], on = 1, p[4];
	uint16_t code, duty;

	assert_int_equal(tick(f, 5000), 0); /* idle pen: nothing to stop */
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(tick(f, 5000), 0); /* a session alone does not arm it */
	status(f, st);
	assert_int_equal(st[6], 1);
	rigi_put_u16le(p, 100);
	rigi_put_u16le(p + 2, 0);
	assert_int_equal(req(f, SET_SERVICE, p, 4, NULL, NULL), OK); /* service, motor off */
	assert_int_equal(tick(f, 1000), 1);
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	/* User mode, motor on: tripped by the next frame's arrival, before it runs. */
	assert_int_equal(set_user(f, 1000, 6000, &code, &duty), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	f->mono += 1500 * MS;
	status(f, st);
	assert_int_equal(st[1], 0);
	assert_int_equal(rigi_get_u16le(st + 2), HOST_LOST);
	/* Real time, not simulated time: 100 simulated seconds do nothing. */
	assert_int_equal(req(f, SAFE, NULL, 0, NULL, NULL), OK);
	assert_int_equal(set_user(f, 1000, 6000, &code, &duty), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), OK);
	f->clock.start_ns -= 100000000000LL;
	assert_int_equal(tick(f, 10), 0);
	status(f, st);
	assert_int_equal(st[1], 1);
	/* A power cycle clears the latch with the rest of the RAM. */
	assert_int_equal(tick(f, 1000), 1);
	sim_pen_power_cycle(f->pen);
	status(f, st);
	assert_int_equal(rigi_get_u16le(st + 2), 0);
}

/* The watchdog leaves a table write as it is; the session it ends must be
 * opened again to continue it. */
static void watchdog_and_table_write(void **state)
{
	struct fix *f = *state;
	uint8_t b[600], st[36], on = 1;
	size_t len = blob(b, &GOOD, SERIAL, 2, f->key);

	service_running(f);
	begin(f, len, rigi_crc32(b, len), 1);
	assert_int_equal(chunk(f, 0, b, 100), OK);
	assert_int_equal(tick(f, 1000), 1);
	status(f, st);
	assert_int_equal(st[5], 1);
	assert_int_equal(chunk(f, 100, b + 100, len - 100), AUTH_REQUIRED);
	assert_int_equal(authenticate(f, f->key), OK);
	assert_int_equal(chunk(f, 100, b + 100, len - 100), OK);
	assert_int_equal(req(f, T_COMMIT, NULL, 0, NULL, NULL), OK);
	assert_int_equal(req(f, MOTOR, &on, 1, NULL, NULL), FAULT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identify, setup, teardown),
		cmocka_unit_test_setup_teardown(status_and_factory_table, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_lengths_and_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(naks_and_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(partial_frame_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate_request_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(authentication, setup, teardown),
		cmocka_unit_test_setup_teardown(user_mode_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(motor_and_safe, setup, teardown),
		cmocka_unit_test_setup_teardown(table_write_and_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(table_state_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(commit_rejections, setup, teardown),
		cmocka_unit_test_setup_teardown(power_loss_during_table_write, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_flash_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(persistence_and_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(boot_fallback_and_no_table, setup, teardown),
		cmocka_unit_test_setup_teardown(flash_identity_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(reserved_types_get_nak, setup, teardown),
		cmocka_unit_test_setup_teardown(error_check_order, setup, teardown),
		cmocka_unit_test_setup_teardown(motor_argument, setup, teardown),
		cmocka_unit_test_setup_teardown(rejected_auth_response, setup, teardown),
		cmocka_unit_test_setup_teardown(rounding_ties, setup, teardown),
		cmocka_unit_test_setup_teardown(reserved_bytes_checked, setup, teardown),
		cmocka_unit_test_setup_teardown(failed_commit_ends_write, setup, teardown),
		cmocka_unit_test_setup_teardown(link_close_cache_and_write, setup, teardown),
		cmocka_unit_test_setup_teardown(watchdog_trips_after_1000_ms, setup, teardown),
		cmocka_unit_test_setup_teardown(watchdog_activity, setup, teardown),
		cmocka_unit_test_setup_teardown(watchdog_arming, setup, teardown),
		cmocka_unit_test_setup_teardown(watchdog_and_table_write, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
