/* Fuzz target: the calibration table blob (docs/protocol.md §6) judged
 * three ways: the host's checks (rig_cal_table_decode + rig_cal_table_check,
 * rig/lib/dut/table.c), the simulated firmware's commit checks (a real
 * TABLE_BEGIN/CHUNK/COMMIT into a fresh simulated pen, rig/sim/
 * firmware_table.c), and a reference decoder below written from §6 alone.
 *
 * Input: a flags byte, then the blob. Flags bit 0: rewrite the CRC field
 * (at size - 36) to match; bit 1: re-sign the HMAC (at size - 32) with the
 * pen's line key; bits 2-3: chunk size 512, 64, 7 or 1 (the pen must not
 * care). So the fuzzer reaches the content checks behind CRC and HMAC.
 *
 * Oracles: the firmware's status equals the reference's (the §6 order);
 * the host accepts exactly when the reference does; an accepted table
 * decodes to the reference's knots, serial and table_seq on the host and in
 * the pen, and reading the active slot back gives the blob. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "fuzz.h"
#include "fuzz_pen.h"

#define ST_OK 0x00
#define ST_BAD_ARGUMENT 0x05
#define ST_TABLE_CRC 0x0B
#define ST_TABLE_SIGNATURE 0x0C
#define ST_TABLE_FORMAT 0x0D
#define ST_TABLE_NOT_MONOTONE 0x0E
#define ST_TABLE_BOUNDS 0x0F
#define ST_TABLE_STALE 0x10
#define ST_TABLE_SERIAL 0x11

/* What IDENTIFY and STATUS told us about the pen. */
struct device {
	uint8_t serial[16];
	uint16_t max_bytes;
	uint16_t code_min, code_max, duty_min, duty_max;
	uint16_t depth_min, depth_max, rate_min, rate_max;
	uint32_t active_seq;
	uint8_t active_slot;
};

struct ref_table {
	unsigned nd, nr;
	uint16_t dsp[32], dcode[32], rsp[32], rduty[32];
	uint32_t seq;
};

static void hmac_table(const uint8_t *blob, size_t signed_len, uint8_t out[32])
{
	static const char tag[] = "NRIG-TABLE-1";
	const uint8_t *parts[2] = {(const uint8_t *)tag, blob};
	const size_t lens[2] = {sizeof(tag) - 1, signed_len};

	if (rigi_hmac_sha256(fuzz_line_key, parts, lens, 2, out) != 0)
		abort();
}

static int increasing(const uint16_t *v, unsigned n)
{
	for (unsigned i = 1; i < n; i++)
		if (v[i] <= v[i - 1])
			return 0;
	return 1;
}

static int within(const uint16_t *v, unsigned n, uint16_t lo, uint16_t hi)
{
	for (unsigned i = 0; i < n; i++)
		if (v[i] < lo || v[i] > hi)
			return 0;
	return 1;
}

/* docs/protocol.md §6, "The device accepts a blob at TABLE_COMMIT only if,
 * in this order" (step 1 holds: the harness sends the blob's own CRC). */
static uint8_t ref_check(const uint8_t *b, size_t len, const struct device *dev,
			 struct ref_table *t)
{
	uint8_t mac[32];
	size_t size;

	if (len < 40 || memcmp(b, "NRCT", 4) != 0 || fuzz_u16(b + 4) != 1)
		return ST_TABLE_FORMAT;
	t->nd = b[6];
	t->nr = b[7];
	if (t->nd < 2 || t->nd > 32 || t->nr < 2 || t->nr > 32)
		return ST_TABLE_FORMAT;
	size = 40 + 4 * (t->nd + t->nr) + 36;
	if (len != size || fuzz_u32(b + 36) != 0) /* reserved bytes 36-39 */
		return ST_TABLE_FORMAT;
	if (fuzz_u32(b + size - 36) != fuzz_ref_crc32(b, size - 36))
		return ST_TABLE_CRC;
	hmac_table(b, size - 32, mac);
	if (memcmp(mac, b + size - 32, 32) != 0)
		return ST_TABLE_SIGNATURE;
	if (memcmp(b + 8, dev->serial, 16) != 0)
		return ST_TABLE_SERIAL;
	t->seq = fuzz_u32(b + 24);
	if (dev->active_slot <= 1 && t->seq <= dev->active_seq)
		return ST_TABLE_STALE;
	for (unsigned i = 0; i < t->nd; i++) {
		t->dsp[i] = fuzz_u16(b + 40 + 4 * i);
		t->dcode[i] = fuzz_u16(b + 42 + 4 * i);
	}
	for (unsigned i = 0; i < t->nr; i++) {
		t->rsp[i] = fuzz_u16(b + 40 + 4 * t->nd + 4 * i);
		t->rduty[i] = fuzz_u16(b + 42 + 4 * t->nd + 4 * i);
	}
	if (!increasing(t->dsp, t->nd) || !increasing(t->dcode, t->nd) ||
	    !increasing(t->rsp, t->nr) || !increasing(t->rduty, t->nr))
		return ST_TABLE_NOT_MONOTONE;
	if (!within(t->dcode, t->nd, dev->code_min, dev->code_max) ||
	    !within(t->rduty, t->nr, dev->duty_min, dev->duty_max) ||
	    t->dsp[0] > dev->depth_min || t->dsp[t->nd - 1] < dev->depth_max ||
	    t->rsp[0] > dev->rate_min || t->rsp[t->nr - 1] < dev->rate_max)
		return ST_TABLE_BOUNDS;
	return ST_OK;
}

static void ask_device(struct fuzz_pen *fp, struct device *dev, struct rig_dut_identity *id,
		       struct rig_dut_status *st)
{
	uint8_t d[1024];
	size_t n;

	FUZZ_CHECK(fuzz_pen_request(fp, 0x01, NULL, 0, d, &n) == 0 && n == 94, "IDENTIFY");
	memset(id, 0, sizeof(*id));
	memcpy(dev->serial, d + 16, 16);
	memcpy(id->serial, d + 16, 16);
	id->table_format = fuzz_u16(d + 38);
	id->table_max_bytes = dev->max_bytes = fuzz_u16(d + 40);
	id->table_max_knots = d[42];
	id->code_min = dev->code_min = fuzz_u16(d + 44);
	id->code_max = dev->code_max = fuzz_u16(d + 46);
	id->duty_min = dev->duty_min = fuzz_u16(d + 48);
	id->duty_max = dev->duty_max = fuzz_u16(d + 50);
	id->depth_min_um = dev->depth_min = fuzz_u16(d + 52);
	id->depth_max_um = dev->depth_max = fuzz_u16(d + 54);
	id->rate_min_spm = dev->rate_min = fuzz_u16(d + 60);
	id->rate_max_spm = dev->rate_max = fuzz_u16(d + 62);
	id->n_speed_levels = d[64];
	FUZZ_CHECK(fuzz_pen_request(fp, 0x02, NULL, 0, d, &n) == 0 && n == 36, "STATUS");
	memset(st, 0, sizeof(*st));
	st->active_slot = dev->active_slot = d[4];
	st->active_table_seq = dev->active_seq = fuzz_u32(d + 8);
	st->active_table_crc = fuzz_u32(d + 12);
}

/* TABLE_BEGIN, TABLE_CHUNKs, TABLE_COMMIT: the status of the first refusal. */
static uint8_t pen_commit(struct fuzz_pen *fp, const uint8_t *blob, size_t len, size_t chunk)
{
	uint8_t p[2 + 512];
	uint8_t st;

	FUZZ_CHECK(fuzz_pen_authenticate(fp) == 0, "authentication with the line key failed");
	fuzz_put16(p, (uint16_t)len);
	fuzz_put32(p + 2, fuzz_ref_crc32(blob, len));
	st = fuzz_pen_request(fp, 0x21, p, 6, NULL, NULL);
	if (st != 0)
		return st;
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		fuzz_put16(p, (uint16_t)off);
		memcpy(p + 2, blob + off, n);
		st = fuzz_pen_request(fp, 0x22, p, 2 + n, NULL, NULL);
		FUZZ_CHECK(st == 0, "TABLE_CHUNK at %zu of a %zu-byte table: status 0x%02x", off,
			   len, st);
	}
	return fuzz_pen_request(fp, 0x23, NULL, 0, NULL, NULL);
}

static void compare_accepted(struct fuzz_pen *fp, const struct ref_table *r,
			     const struct rig_cal_table *h, const uint8_t *blob, size_t len)
{
	const struct sim_table *ft = &fp->pen->fw.table;
	uint8_t q[5] = {0xFE, 0, 0, 0xE8, 0x03}, d[1024];
	size_t n;

	FUZZ_CHECK(h->n_depth == r->nd && h->n_rate == r->nr && h->table_seq == r->seq,
		   "host decoded %u/%u knots seq %u, reference %u/%u seq %u", h->n_depth,
		   h->n_rate, h->table_seq, r->nd, r->nr, r->seq);
	FUZZ_CHECK(ft->n_depth == r->nd && ft->n_rate == r->nr && ft->seq == r->seq,
		   "pen decoded %u/%u knots seq %u, reference %u/%u seq %u", ft->n_depth,
		   ft->n_rate, ft->seq, r->nd, r->nr, r->seq);
	for (unsigned i = 0; i < r->nd; i++) {
		FUZZ_CHECK(h->depth[i].setpoint_um == r->dsp[i] && h->depth[i].code == r->dcode[i],
			   "host depth knot %u", i);
		FUZZ_CHECK(ft->depth_sp[i] == r->dsp[i] && ft->depth_code[i] == r->dcode[i],
			   "pen depth knot %u", i);
	}
	for (unsigned i = 0; i < r->nr; i++) {
		FUZZ_CHECK(h->rate[i].rate_spm == r->rsp[i] && h->rate[i].duty == r->rduty[i],
			   "host rate knot %u", i);
		FUZZ_CHECK(ft->rate_sp[i] == r->rsp[i] && ft->rate_duty[i] == r->rduty[i],
			   "pen rate knot %u", i);
	}
	FUZZ_CHECK(fuzz_pen_request(fp, 0x20, q, sizeof(q), d, &n) == 0, "TABLE_READ active");
	FUZZ_CHECK(n == 3 + len && fuzz_u16(d + 1) == len && memcmp(d + 3, blob, len) == 0,
		   "active slot read back differs from the committed blob");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t chunks[4] = {512, 64, 7, 1};
	static struct fuzz_pen fp;
	struct rig_dut_identity id;
	struct rig_dut_status st;
	struct rig_cal_table host;
	struct ref_table ref;
	struct device dev;
	uint8_t blob[600], ref_st, pen_st;
	size_t len;
	int host_ret;

	fuzz_quiet();
	if (size < 1 || size - 1 > sizeof(blob))
		return 0;
	len = size - 1;
	memcpy(blob, data + 1, len);
	if ((data[0] & 1) && len >= 36)
		fuzz_put32(blob + len - 36, fuzz_ref_crc32(blob, len - 36));
	if ((data[0] & 2) && len >= 36)
		hmac_table(blob, len - 32, blob + len - 32);

	fuzz_pen_open(&fp);
	ask_device(&fp, &dev, &id, &st);
	memset(&ref, 0, sizeof(ref));
	ref_st = ref_check(blob, len, &dev, &ref);
	if (len >= 1 && len <= dev.max_bytes) {
		pen_st = pen_commit(&fp, blob, len, chunks[(data[0] >> 2) & 3]);
	} else {
		uint8_t p[6];
		fuzz_put16(p, (uint16_t)len);
		fuzz_put32(p + 2, 0);
		FUZZ_CHECK(fuzz_pen_authenticate(&fp) == 0, "authentication failed");
		pen_st = fuzz_pen_request(&fp, 0x21, p, 6, NULL, NULL);
		FUZZ_ORACLE(pen_st == ST_BAD_ARGUMENT, "TABLE_BEGIN total %zu: status 0x%02x", len,
			    pen_st);
	}
	host_ret = rig_cal_table_decode(blob, len, fuzz_line_key, &host);
	if (host_ret == 0)
		host_ret = rig_cal_table_check(&host, &id, &st);
	if (len >= 1 && len <= dev.max_bytes)
		FUZZ_ORACLE(pen_st == ref_st, "pen answered COMMIT 0x%02x (%s), §6 says 0x%02x (%s)",
			    pen_st, rig_dut_status_name(pen_st), ref_st,
			    rig_dut_status_name(ref_st));
	FUZZ_ORACLE((host_ret == 0) == (ref_st == ST_OK),
		    "host %s (%s), §6 reference says 0x%02x (%s)",
		    host_ret == 0 ? "accepts" : "refuses", host_ret ? rig_last_error() : "",
		    ref_st, rig_dut_status_name(ref_st));
	if (getenv("RIG_FUZZ_VERBOSE"))
		fprintf(stderr, "table: %zu bytes: reference 0x%02x, pen 0x%02x, host %d\n", len,
			ref_st, pen_st, host_ret);
	if (ref_st == ST_OK && pen_st == ST_OK && host_ret == 0)
		compare_accepted(&fp, &ref, &host, blob, len);
	fuzz_pen_close(&fp);
	return 0;
}
