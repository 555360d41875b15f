/* Calibration table blobs, format 1 (docs/protocol.md §6): encode and sign,
 * decode with full validation, the pre-write check that mirrors the pen's
 * TABLE_COMMIT checks, text rendering, and line key files. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rig/dut.h>
#include <rig/table.h>

#include "core/core.h"

static const uint8_t magic[4] = {'N', 'R', 'C', 'T'};
static const char table_tag[] = "NRIG-TABLE-1";

#define OFF_FORMAT 4
#define OFF_N_DEPTH 6
#define OFF_N_RATE 7
#define OFF_SERIAL 8
#define OFF_SEQ 24
#define OFF_CREATED 28
#define OFF_RESERVED 36
#define OFF_KNOTS RIG_CAL_TABLE_HEADER_BYTES
#define SERIAL_BYTES 16

static size_t blob_size(unsigned n_depth, unsigned n_rate)
{
	return RIG_CAL_TABLE_HEADER_BYTES + 4u * (n_depth + n_rate) + RIG_CAL_TABLE_TRAILER_BYTES;
}

size_t rig_cal_table_size(const struct rig_cal_table *t)
{
	return blob_size(t->n_depth, t->n_rate);
}

static int count_ok(unsigned n)
{
	return n >= RIG_CAL_TABLE_MIN_KNOTS && n <= RIG_CAL_TABLE_MAX_KNOTS;
}

static int sign(const uint8_t key[RIG_KEY_BYTES], const uint8_t *blob, size_t signed_len,
		uint8_t mac[RIGI_HMAC_BYTES])
{
	const uint8_t *parts[2] = {(const uint8_t *)table_tag, blob};
	const size_t lens[2] = {sizeof(table_tag) - 1, signed_len};
	return rigi_hmac_sha256(key, parts, lens, 2, mac);
}

int rig_cal_table_encode(const struct rig_cal_table *t, const uint8_t key[RIG_KEY_BYTES],
			 uint8_t *buf, size_t cap, size_t *len)
{
	size_t serial_len = strnlen(t->serial, sizeof(t->serial));
	size_t size, off = OFF_KNOTS;

	if (!count_ok(t->n_depth) || !count_ok(t->n_rate))
		return rigi_fail(RIG_ERR_FORMAT, "table for %.16s: %u depth and %u rate knots; each "
				 "curve needs %d..%d", t->serial, t->n_depth, t->n_rate,
				 RIG_CAL_TABLE_MIN_KNOTS, RIG_CAL_TABLE_MAX_KNOTS);
	if (serial_len == 0 || serial_len > SERIAL_BYTES)
		return rigi_fail(RIG_ERR_FORMAT, "table serial must be 1..16 characters");
	for (size_t i = 0; i < serial_len; i++)
		if (t->serial[i] < 0x20 || t->serial[i] > 0x7E)
			return rigi_fail(RIG_ERR_FORMAT, "table serial has a non-printable "
					 "character at position %zu", i);
	size = rig_cal_table_size(t);
	if (size > cap)
		return rigi_fail(RIG_ERR_RANGE, "table blob of %zu bytes does not fit a %zu-byte "
				 "buffer", size, cap);
	memset(buf, 0, RIG_CAL_TABLE_HEADER_BYTES);
	memcpy(buf, magic, sizeof(magic));
	rigi_put_u16le(buf + OFF_FORMAT, RIG_CAL_TABLE_FORMAT);
	buf[OFF_N_DEPTH] = t->n_depth;
	buf[OFF_N_RATE] = t->n_rate;
	memcpy(buf + OFF_SERIAL, t->serial, serial_len);
	rigi_put_u32le(buf + OFF_SEQ, t->table_seq);
	rigi_put_u64le(buf + OFF_CREATED, t->created);
	for (unsigned i = 0; i < t->n_depth; i++, off += 4) {
		rigi_put_u16le(buf + off, t->depth[i].setpoint_um);
		rigi_put_u16le(buf + off + 2, t->depth[i].code);
	}
	for (unsigned i = 0; i < t->n_rate; i++, off += 4) {
		rigi_put_u16le(buf + off, t->rate[i].rate_spm);
		rigi_put_u16le(buf + off + 2, t->rate[i].duty);
	}
	rigi_put_u32le(buf + off, rigi_crc32(buf, off));
	off += 4;
	*len = size;
	return sign(key, buf, off, buf + off);
}

/* The header fields that fix the blob's layout. */
static int decode_layout(const uint8_t *blob, size_t len)
{
	size_t want;

	if (len < RIG_CAL_TABLE_HEADER_BYTES)
		return rigi_fail(RIG_ERR_FORMAT, "table blob: %zu bytes, shorter than the %d-byte "
				 "header", len, RIG_CAL_TABLE_HEADER_BYTES);
	if (memcmp(blob, magic, sizeof(magic)) != 0)
		return rigi_fail(RIG_ERR_FORMAT, "table blob: magic at offset 0 is %02x %02x %02x "
				 "%02x, expected 'NRCT' (not a calibration table)", blob[0],
				 blob[1], blob[2], blob[3]);
	if (rigi_get_u16le(blob + OFF_FORMAT) != RIG_CAL_TABLE_FORMAT)
		return rigi_fail(RIG_ERR_FORMAT, "table blob: format at offset %d is %u, expected "
				 "%d", OFF_FORMAT, rigi_get_u16le(blob + OFF_FORMAT),
				 RIG_CAL_TABLE_FORMAT);
	if (!count_ok(blob[OFF_N_DEPTH]))
		return rigi_fail(RIG_ERR_FORMAT, "table blob: n_depth at offset %d is %u, expected "
				 "%d..%d", OFF_N_DEPTH, blob[OFF_N_DEPTH], RIG_CAL_TABLE_MIN_KNOTS,
				 RIG_CAL_TABLE_MAX_KNOTS);
	if (!count_ok(blob[OFF_N_RATE]))
		return rigi_fail(RIG_ERR_FORMAT, "table blob: n_rate at offset %d is %u, expected "
				 "%d..%d", OFF_N_RATE, blob[OFF_N_RATE], RIG_CAL_TABLE_MIN_KNOTS,
				 RIG_CAL_TABLE_MAX_KNOTS);
	want = blob_size(blob[OFF_N_DEPTH], blob[OFF_N_RATE]);
	if (len != want)
		return rigi_fail(RIG_ERR_FORMAT, "table blob: %zu bytes, but n_depth %u and n_rate "
				 "%u make a %zu-byte blob", len, blob[OFF_N_DEPTH],
				 blob[OFF_N_RATE], want);
	return 0;
}

/* Bytes 36..39 are reserved (0): a signed blob with anything else there
 * was made by a writer that does not follow §6. Checked after the CRC so
 * that a corrupted byte is reported as corruption. */
static int check_reserved(const uint8_t *blob)
{
	for (int i = OFF_RESERVED; i < OFF_KNOTS; i++)
		if (blob[i] != 0)
			return rigi_fail(RIG_ERR_FORMAT, "table blob: reserved byte at offset %d is "
					 "0x%02x, expected 0 (bytes %d..%d are reserved): the blob "
					 "was not written by a format 1 writer; regenerate it",
					 i, blob[i], OFF_RESERVED, OFF_KNOTS - 1);
	return 0;
}

/* CRC, then HMAC when a key is given. */
static int verify(const uint8_t *blob, size_t len, const uint8_t *key)
{
	size_t crc_off = len - RIG_CAL_TABLE_TRAILER_BYTES;
	size_t mac_off = crc_off + 4;
	uint32_t got = rigi_get_u32le(blob + crc_off);
	uint32_t want = rigi_crc32(blob, crc_off);
	uint8_t mac[RIGI_HMAC_BYTES];
	int ret;

	if (got != want)
		return rigi_fail(RIG_ERR_CRC, "table blob: crc at offset %zu is 0x%08x, bytes "
				 "0..%zu give 0x%08x (corrupted)", crc_off, got, crc_off - 1, want);
	if (!key)
		return 0;
	ret = sign(key, blob, mac_off, mac);
	if (ret == 0 && !rigi_ct_equal(mac, blob + mac_off, RIGI_HMAC_BYTES))
		ret = rigi_fail(RIG_ERR_SIGNATURE, "table blob: hmac at offset %zu does not verify "
				"with the given key (signed with another key, or altered)",
				mac_off);
	rigi_wipe(mac, sizeof(mac));
	return ret;
}

static int decode_serial(const uint8_t *p, char out[17])
{
	size_t n = 0;

	while (n < SERIAL_BYTES && p[n] >= 0x20 && p[n] <= 0x7E)
		n++;
	for (size_t i = n; i < SERIAL_BYTES; i++)
		if (p[i] != 0)
			return rigi_fail(RIG_ERR_FORMAT, "table blob: serial at offset %d is not "
					 "NUL-padded ASCII (byte %zu is 0x%02x)", OFF_SERIAL,
					 OFF_SERIAL + i, p[i]);
	if (n == 0)
		return rigi_fail(RIG_ERR_FORMAT, "table blob: serial at offset %d is empty",
				 OFF_SERIAL);
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int rig_cal_table_decode(const uint8_t *blob, size_t len, const uint8_t *key,
			 struct rig_cal_table *out)
{
	struct rig_cal_table t;
	size_t off = OFF_KNOTS;
	int ret;

	memset(&t, 0, sizeof(t));
	ret = decode_layout(blob, len);
	if (ret == 0)
		ret = verify(blob, len, key);
	if (ret == 0)
		ret = check_reserved(blob);
	if (ret == 0)
		ret = decode_serial(blob + OFF_SERIAL, t.serial);
	if (ret < 0)
		return ret;
	t.table_seq = rigi_get_u32le(blob + OFF_SEQ);
	t.created = rigi_get_u64le(blob + OFF_CREATED);
	t.n_depth = blob[OFF_N_DEPTH];
	t.n_rate = blob[OFF_N_RATE];
	for (unsigned i = 0; i < t.n_depth; i++, off += 4) {
		t.depth[i].setpoint_um = rigi_get_u16le(blob + off);
		t.depth[i].code = rigi_get_u16le(blob + off + 2);
	}
	for (unsigned i = 0; i < t.n_rate; i++, off += 4) {
		t.rate[i].rate_spm = rigi_get_u16le(blob + off);
		t.rate[i].duty = rigi_get_u16le(blob + off + 2);
	}
	*out = t;
	return 0;
}

/* Knot values as a pair of arrays, so that the depth and rate curves share
 * the monotonicity and bounds checks. */
struct curve {
	const char *name;      /* "depth", "rate" */
	const char *x_name;    /* "setpoint", "rate" */
	const char *x_unit;    /* "µm", "/min" */
	const char *y_name;    /* "code", "duty" */
	unsigned n;
	size_t off;            /* blob offset of knot 0 */
	uint16_t x[RIG_CAL_TABLE_MAX_KNOTS], y[RIG_CAL_TABLE_MAX_KNOTS];
	uint16_t y_min, y_max; /* the pen's range for y */
	uint16_t x_lo, x_hi;   /* the user range the knots must cover */
};

static void curves_of(const struct rig_cal_table *t, const struct rig_dut_identity *id,
		      struct curve *d, struct curve *r)
{
	*d = (struct curve){.name = "depth", .x_name = "setpoint", .x_unit = "µm",
			    .y_name = "code", .n = t->n_depth, .off = OFF_KNOTS,
			    .y_min = id->code_min, .y_max = id->code_max,
			    .x_lo = id->depth_min_um, .x_hi = id->depth_max_um};
	*r = (struct curve){.name = "rate", .x_name = "rate", .x_unit = "/min",
			    .y_name = "duty", .n = t->n_rate, .off = OFF_KNOTS + 4u * t->n_depth,
			    .y_min = id->duty_min, .y_max = id->duty_max,
			    .x_lo = id->rate_min_spm, .x_hi = id->rate_max_spm};
	for (unsigned i = 0; i < t->n_depth && i < RIG_CAL_TABLE_MAX_KNOTS; i++) {
		d->x[i] = t->depth[i].setpoint_um;
		d->y[i] = t->depth[i].code;
	}
	for (unsigned i = 0; i < t->n_rate && i < RIG_CAL_TABLE_MAX_KNOTS; i++) {
		r->x[i] = t->rate[i].rate_spm;
		r->y[i] = t->rate[i].duty;
	}
}

static int check_monotone(const struct curve *c)
{
	for (unsigned i = 1; i < c->n; i++) {
		size_t off = c->off + 4u * i;
		if (c->x[i] <= c->x[i - 1])
			return rigi_fail(RIG_ERR_FORMAT, "table: %s knot %u (offset %zu): %s %u%s is "
					 "not above knot %u's %u%s; knots must strictly "
					 "increase", c->name, i, off, c->x_name, c->x[i],
					 c->x_unit, i - 1, c->x[i - 1], c->x_unit);
		if (c->y[i] <= c->y[i - 1])
			return rigi_fail(RIG_ERR_FORMAT, "table: %s knot %u (offset %zu): %s %u is not "
					 "above knot %u's %u; knots must strictly increase",
					 c->name, i, off + 2, c->y_name, c->y[i], i - 1,
					 c->y[i - 1]);
	}
	return 0;
}

static int check_bounds(const struct curve *c)
{
	for (unsigned i = 0; i < c->n; i++)
		if (c->y[i] < c->y_min || c->y[i] > c->y_max)
			return rigi_fail(RIG_ERR_RANGE, "table: %s knot %u (offset %zu): %s %u is "
					 "outside the pen's %u..%u", c->name, i, c->off + 4u * i + 2,
					 c->y_name, c->y[i], c->y_min, c->y_max);
	if (c->x[0] > c->x_lo || c->x[c->n - 1] < c->x_hi)
		return rigi_fail(RIG_ERR_RANGE, "table: %s knots span %u..%u%s but must cover the "
				 "pen's user range %u..%u%s", c->name, c->x[0], c->x[c->n - 1],
				 c->x_unit, c->x_lo, c->x_hi, c->x_unit);
	return 0;
}

static int check_capacity(const struct rig_cal_table *t, const struct rig_dut_identity *id)
{
	size_t size = rig_cal_table_size(t);

	if (id->table_format != RIG_CAL_TABLE_FORMAT)
		return rigi_fail(RIG_ERR_FORMAT, "pen %s takes table format %u; the rig writes "
				 "format %d", id->serial, id->table_format, RIG_CAL_TABLE_FORMAT);
	if (!count_ok(t->n_depth) || !count_ok(t->n_rate) || t->n_depth > id->table_max_knots ||
	    t->n_rate > id->table_max_knots)
		return rigi_fail(RIG_ERR_FORMAT, "table: %u depth and %u rate knots; pen %s takes "
				 "%d..%u per curve", t->n_depth, t->n_rate, id->serial,
				 RIG_CAL_TABLE_MIN_KNOTS, id->table_max_knots);
	if (size > id->table_max_bytes)
		return rigi_fail(RIG_ERR_FORMAT, "table: %zu bytes; pen %s takes at most %u",
				 size, id->serial, id->table_max_bytes);
	return 0;
}

int rig_cal_table_check(const struct rig_cal_table *t, const struct rig_dut_identity *id,
			const struct rig_dut_status *st)
{
	struct curve d, r;
	int ret = check_capacity(t, id);

	if (ret < 0)
		return ret;
	if (strncmp(t->serial, id->serial, sizeof(t->serial)) != 0)
		return rigi_fail(RIG_ERR_ARG, "table is for pen %.16s, but this pen is %s: use the "
				 "table made for this pen", t->serial, id->serial);
	if (st && st->active_slot != RIG_DUT_SLOT_NONE && t->table_seq <= st->active_table_seq)
		return rigi_fail(RIG_ERR_STATE, "table_seq %u is not above the pen's active "
				 "table_seq %u: make a new table with a higher table_seq",
				 t->table_seq, st->active_table_seq);
	curves_of(t, id, &d, &r);
	ret = check_monotone(&d);
	if (ret == 0)
		ret = check_monotone(&r);
	if (ret == 0)
		ret = check_bounds(&d);
	if (ret == 0)
		ret = check_bounds(&r);
	return ret;
}

/* Append to a text buffer; remembers truncation. */
struct text {
	char *buf;
	size_t cap, len;
	int truncated;
};

static void put(struct text *tx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *tx, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (tx->truncated)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tx->buf + tx->len, tx->cap - tx->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= tx->cap - tx->len) {
		tx->truncated = 1;
		return;
	}
	tx->len += (size_t)n;
}

int rig_cal_table_format(const struct rig_cal_table *t, char *buf, size_t cap)
{
	struct text tx = {buf, cap, 0, cap == 0};
	char when[32] = "?";
	time_t created = (time_t)t->created;
	struct tm tm;

	if (cap > 0)
		buf[0] = '\0';
	if (gmtime_r(&created, &tm))
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	put(&tx, "serial     %s\ntable_seq  %u\ncreated    %llu (%s)\nsize       %zu bytes\n",
	    t->serial, t->table_seq, (unsigned long long)t->created, when, rig_cal_table_size(t));
	put(&tx, "depth knots: %u (setpoint_um -> code)\n", t->n_depth);
	for (unsigned i = 0; i < t->n_depth && i < RIG_CAL_TABLE_MAX_KNOTS; i++)
		put(&tx, "  %6u -> %5u\n", t->depth[i].setpoint_um, t->depth[i].code);
	put(&tx, "rate knots: %u (rate_spm -> duty)\n", t->n_rate);
	for (unsigned i = 0; i < t->n_rate && i < RIG_CAL_TABLE_MAX_KNOTS; i++)
		put(&tx, "  %6u -> %5u\n", t->rate[i].rate_spm, t->rate[i].duty);
	if (tx.truncated)
		return rigi_fail(RIG_ERR_RANGE, "table text does not fit a %zu-byte buffer", cap);
	return 0;
}

int rig_key_load_file(const char *path, uint8_t key[RIG_KEY_BYTES])
{
	return rigi_key_load(path, key);
}

void rig_key_wipe(uint8_t key[RIG_KEY_BYTES])
{
	rigi_wipe(key, RIG_KEY_BYTES);
}
