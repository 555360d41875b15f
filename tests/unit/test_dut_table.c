/* Tests of calibration table blobs (rig/lib/dut/table.c): a known answer
 * computed independently (Python zlib/hmac), round trips, every single-byte
 * corruption rejected, each decode rejection with its field and offset, the
 * pre-write check against a pen (serial, stale, monotone, bounds, capacity),
 * the text form, and key files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "testsupport.h"

static const uint8_t sample_mac[32] = {
	0x5a, 0xd6, 0x06, 0x53, 0xdd, 0x26, 0x27, 0xf5, 0x68, 0xe8, 0xf2, 0x9f, 0x94, 0xcf, 0x1f, 0xed,
	0x4c, 0xd8, 0x08, 0xed, 0xda, 0x6e, 0x2a, 0x9b, 0xcb, 0x01, 0x42, 0x5a, 0x49, 0x24, 0x3f, 0x76};
#define SAMPLE_CRC 0xb8e50e68u
#define SAMPLE_SIZE 96u

static void test_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
}

static struct rig_cal_table sample(void)
{
	struct rig_cal_table t;
	memset(&t, 0, sizeof(t));
	snprintf(t.serial, sizeof(t.serial), "MN1-000123");
	t.table_seq = 7;
	t.created = 1700000000;
	t.n_depth = 3;
	t.depth[0] = (struct rig_cal_depth_knot){250, 800};
	t.depth[1] = (struct rig_cal_depth_knot){1000, 1500};
	t.depth[2] = (struct rig_cal_depth_knot){2500, 3000};
	t.n_rate = 2;
	t.rate[0] = (struct rig_cal_rate_knot){3000, 200};
	t.rate[1] = (struct rig_cal_rate_knot){9000, 900};
	return t;
}

static struct rig_dut_identity pen(void)
{
	struct rig_dut_identity id;
	memset(&id, 0, sizeof(id));
	snprintf(id.serial, sizeof(id.serial), "MN1-000123");
	id.table_format = 1;
	id.table_max_bytes = 512;
	id.table_max_knots = 32;
	id.code_min = 0;
	id.code_max = 4095;
	id.duty_min = 100;
	id.duty_max = 1000;
	id.depth_min_um = 250;
	id.depth_max_um = 2500;
	id.rate_min_spm = 3000;
	id.rate_max_spm = 9000;
	return id;
}

static size_t encode(const struct rig_cal_table *t, uint8_t *buf)
{
	uint8_t key[32];
	size_t len = 0;
	test_key(key);
	assert_int_equal(rig_cal_table_encode(t, key, buf, RIG_CAL_TABLE_MAX_BYTES, &len), 0);
	return len;
}

/* Recompute CRC and HMAC after editing a blob, so that a later check is
 * the one under test. */
static void resign(uint8_t *blob, size_t len)
{
	uint8_t key[32];
	const uint8_t *parts[2] = {(const uint8_t *)"NRIG-TABLE-1", blob};
	size_t lens[2] = {12, len - 32};
	test_key(key);
	rigi_put_u32le(blob + len - 36, rigi_crc32(blob, len - 36));
	assert_int_equal(rigi_hmac_sha256(key, parts, lens, 2, blob + len - 32), 0);
}

static void assert_same_table(const struct rig_cal_table *a, const struct rig_cal_table *b)
{
	assert_string_equal(a->serial, b->serial);
	assert_int_equal(a->table_seq, b->table_seq);
	assert_true(a->created == b->created);
	assert_int_equal(a->n_depth, b->n_depth);
	assert_int_equal(a->n_rate, b->n_rate);
	assert_memory_equal(a->depth, b->depth, a->n_depth * sizeof(a->depth[0]));
	assert_memory_equal(a->rate, b->rate, a->n_rate * sizeof(a->rate[0]));
}

static void known_answer(void **state)
{
	struct rig_cal_table t = sample();
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = encode(&t, blob);
	(void)state;
	assert_int_equal(len, SAMPLE_SIZE);
	assert_int_equal(rig_cal_table_size(&t), SAMPLE_SIZE);
	assert_memory_equal(blob, "NRCT\x01\x00\x03\x02MN1-000123\0\0\0\0\0\0", 24);
	assert_int_equal(rigi_get_u32le(blob + 24), 7);
	assert_int_equal(rigi_get_u16le(blob + 44), 1000);
	assert_int_equal(rigi_get_u32le(blob + 60), SAMPLE_CRC);
	assert_memory_equal(blob + 64, sample_mac, 32);
}

static void round_trips(void **state)
{
	struct rig_cal_table t = sample(), back;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES], key[32];
	size_t len;
	(void)state;
	test_key(key);
	len = encode(&t, blob);
	assert_int_equal(rig_cal_table_decode(blob, len, key, &back), 0);
	assert_same_table(&t, &back);
	assert_int_equal(rig_cal_table_decode(blob, len, NULL, &back), 0);
	/* The largest table: 32 + 32 knots, 332 bytes, a 16-character serial. */
	snprintf(t.serial, sizeof(t.serial), "ABCDEFGHIJKLMNOP");
	t.n_depth = t.n_rate = 32;
	for (int i = 0; i < 32; i++) {
		t.depth[i] = (struct rig_cal_depth_knot){(uint16_t)(100 * i), (uint16_t)(7 * i)};
		t.rate[i] = (struct rig_cal_rate_knot){(uint16_t)(300 * i), (uint16_t)(30 * i)};
	}
	t.created = 0xFFFFFFFFFFFFull;
	len = encode(&t, blob);
	assert_int_equal(len, RIG_CAL_TABLE_MAX_BYTES);
	assert_int_equal(rig_cal_table_decode(blob, len, key, &back), 0);
	assert_same_table(&t, &back);
}

/* Which error a corruption at @p off of the sample must give. */
static int expected_for(size_t off)
{
	if (off < 8)
		return RIG_ERR_FORMAT; /* magic, format, counts (then size) */
	if (off < 64)
		return RIG_ERR_CRC;    /* covered bytes and the crc field */
	return RIG_ERR_SIGNATURE;
}

static void every_byte_flip_rejected(void **state)
{
	struct rig_cal_table t = sample(), back;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES], key[32];
	static const uint8_t masks[] = {0x01, 0x80, 0xFF, 0x5A};
	size_t len = encode(&t, blob);
	(void)state;
	test_key(key);
	for (size_t i = 0; i < len; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			blob[i] ^= masks[m];
			rig_clear_error();
			assert_int_equal(rig_cal_table_decode(blob, len, key, &back),
					 expected_for(i));
			assert_true(strlen(rig_last_error()) > 0);
			/* Without a key only the signature goes unchecked. */
			if (i < 64)
				assert_int_not_equal(rig_cal_table_decode(blob, len, NULL, &back), 0);
			else
				assert_int_equal(rig_cal_table_decode(blob, len, NULL, &back), 0);
			blob[i] ^= masks[m];
		}
	}
	assert_int_equal(rig_cal_table_decode(blob, len, key, &back), 0);
}

static void decode_rejections_name_the_field(void **state)
{
	struct rig_cal_table t = sample(), back;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES + 1], bad[RIG_CAL_TABLE_MAX_BYTES + 1], key[32];
	size_t len = encode(&t, blob);
	(void)state;
	test_key(key);
#define REJECT(mutate, n, err, text)                                                       \
	do {                                                                                \
		memcpy(bad, blob, sizeof(blob));                                            \
		mutate;                                                                     \
		assert_int_equal(rig_cal_table_decode(bad, n, key, &back), err);            \
		assert_non_null(strstr(rig_last_error(), text));                            \
	} while (0)
	REJECT((void)0, 39, RIG_ERR_FORMAT, "39 bytes, shorter than the 40-byte header");
	REJECT(bad[3] = 'X', len, RIG_ERR_FORMAT, "magic at offset 0 is 4e 52 43 58");
	REJECT(bad[4] = 2, len, RIG_ERR_FORMAT, "format at offset 4 is 2");
	REJECT(bad[6] = 1, len, RIG_ERR_FORMAT, "n_depth at offset 6 is 1, expected 2..32");
	REJECT(bad[7] = 33, len, RIG_ERR_FORMAT, "n_rate at offset 7 is 33");
	REJECT((void)0, len - 1, RIG_ERR_FORMAT, "95 bytes, but n_depth 3 and n_rate 2 make a "
						 "96-byte blob");
	REJECT((void)0, len + 1, RIG_ERR_FORMAT, "97 bytes");
	REJECT(bad[44] ^= 1, len, RIG_ERR_CRC, "crc at offset 60 is 0xb8e50e68, bytes 0..59 give");
	REJECT(bad[90] ^= 1, len, RIG_ERR_SIGNATURE, "hmac at offset 64 does not verify");
	REJECT((bad[19] = 'x', resign(bad, len)), len, RIG_ERR_FORMAT,
	       "serial at offset 8 is not NUL-padded ASCII (byte 19 is 0x78)");
	REJECT((bad[8] = 0, resign(bad, len)), len, RIG_ERR_FORMAT,
	       "serial at offset 8 is not NUL-padded");
	REJECT((memset(bad + 8, 0, 16), resign(bad, len)), len, RIG_ERR_FORMAT,
	       "serial at offset 8 is empty");
	REJECT((bad[9] = 0x07, resign(bad, len)), len, RIG_ERR_FORMAT, "byte 9 is 0x07");
	REJECT((bad[36] = 1, resign(bad, len)), len, RIG_ERR_FORMAT,
	       "reserved byte at offset 36 is 0x01, expected 0");
	REJECT((bad[39] = 0x80, resign(bad, len)), len, RIG_ERR_FORMAT,
	       "reserved byte at offset 39 is 0x80, expected 0");
	/* The same re-signing with the reserved bytes left at 0 is accepted. */
	memcpy(bad, blob, sizeof(blob));
	resign(bad, len);
	assert_int_equal(rig_cal_table_decode(bad, len, key, &back), 0);
#undef REJECT
	/* Signed with another key. */
	key[0] ^= 1;
	assert_int_equal(rig_cal_table_decode(blob, len, key, &back), RIG_ERR_SIGNATURE);
}

static void encode_rejections(void **state)
{
	struct rig_cal_table t;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES], key[32] = {0};
	size_t len = 0;
	(void)state;
	t = sample();
	t.n_depth = 1;
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), RIG_ERR_FORMAT);
	t = sample();
	t.n_rate = 33;
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), RIG_ERR_FORMAT);
	t = sample();
	t.serial[0] = '\0';
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), RIG_ERR_FORMAT);
	t = sample();
	memset(t.serial, 'A', sizeof(t.serial)); /* 17 characters, unterminated */
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), RIG_ERR_FORMAT);
	t = sample();
	t.serial[2] = '\n';
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), RIG_ERR_FORMAT);
	t = sample();
	assert_int_equal(rig_cal_table_encode(&t, key, blob, SAMPLE_SIZE - 1, &len),
			 RIG_ERR_RANGE);
	assert_int_equal(rig_cal_table_encode(&t, key, blob, SAMPLE_SIZE, &len), 0);
}

static void check_against_pen(void **state)
{
	struct rig_dut_identity id = pen();
	struct rig_dut_status st = {.active_slot = RIG_DUT_SLOT_A, .active_table_seq = 6};
	struct rig_cal_table t;
	(void)state;
#define CHECK(mutate, err, text)                                                            \
	do {                                                                                \
		t = sample();                                                               \
		id = pen();                                                                 \
		mutate;                                                                     \
		rig_clear_error();                                                          \
		assert_int_equal(rig_cal_table_check(&t, &id, &st), err);                   \
		assert_non_null(strstr(rig_last_error(), text));                            \
	} while (0)
	t = sample();
	assert_int_equal(rig_cal_table_check(&t, &id, &st), 0);
	assert_int_equal(rig_cal_table_check(&t, &id, NULL), 0);
	CHECK(snprintf(t.serial, sizeof(t.serial), "MN1-000124"), RIG_ERR_ARG,
	      "table is for pen MN1-000124, but this pen is MN1-000123");
	CHECK(t.table_seq = 6, RIG_ERR_STATE, "table_seq 6 is not above the pen's active "
					      "table_seq 6");
	CHECK(t.depth[1].setpoint_um = 250, RIG_ERR_FORMAT,
	      "depth knot 1 (offset 44): setpoint 250µm is not above knot 0's 250µm");
	CHECK(t.depth[2].code = 1500, RIG_ERR_FORMAT,
	      "depth knot 2 (offset 50): code 1500 is not above knot 1's 1500");
	CHECK(t.rate[1].rate_spm = 2000, RIG_ERR_FORMAT, "rate knot 1 (offset 56): rate 2000");
	CHECK(t.rate[1].duty = 150, RIG_ERR_FORMAT, "rate knot 1 (offset 58): duty 150");
	CHECK(t.depth[2].code = 4096, RIG_ERR_RANGE,
	      "depth knot 2 (offset 50): code 4096 is outside the pen's 0..4095");
	CHECK(t.rate[0].duty = 99, RIG_ERR_RANGE,
	      "rate knot 0 (offset 54): duty 99 is outside the pen's 100..1000");
	CHECK(id.code_min = 801, RIG_ERR_RANGE, "code 800 is outside the pen's 801..4095");
	CHECK(t.depth[0].setpoint_um = 251, RIG_ERR_RANGE,
	      "depth knots span 251..2500µm but must cover the pen's user range 250..2500µm");
	CHECK(t.depth[2].setpoint_um = 2499, RIG_ERR_RANGE, "span 250..2499µm");
	CHECK(id.rate_max_spm = 9001, RIG_ERR_RANGE, "rate knots span 3000..9000/min");
	CHECK(id.rate_min_spm = 2999, RIG_ERR_RANGE, "user range 2999..9000/min");
	CHECK(id.table_max_knots = 2, RIG_ERR_FORMAT, "3 depth and 2 rate knots; pen MN1-000123 "
						      "takes 2..2 per curve");
	CHECK(id.table_max_bytes = 95, RIG_ERR_FORMAT, "96 bytes; pen MN1-000123 takes at most 95");
	CHECK(id.table_format = 2, RIG_ERR_FORMAT, "takes table format 2");
#undef CHECK
	/* A pen without a valid table accepts any table_seq. */
	st.active_slot = RIG_DUT_SLOT_NONE;
	id = pen();
	t = sample();
	t.table_seq = 1;
	assert_int_equal(rig_cal_table_check(&t, &id, &st), 0);
}

static void text_form(void **state)
{
	struct rig_cal_table t = sample();
	char buf[1024], small[40];
	(void)state;
	assert_int_equal(rig_cal_table_format(&t, buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "serial     MN1-000123\n"));
	assert_non_null(strstr(buf, "table_seq  7\n"));
	assert_non_null(strstr(buf, "1700000000 (2023-11-14T22:13:20Z)"));
	assert_non_null(strstr(buf, "depth knots: 3 (setpoint_um -> code)\n"));
	assert_non_null(strstr(buf, "    1000 ->  1500\n"));
	assert_non_null(strstr(buf, "    9000 ->   900\n"));
	assert_int_equal(rig_cal_table_format(&t, small, sizeof(small)), RIG_ERR_RANGE);
	assert_true(strlen(small) < sizeof(small));
}

static void key_files(void **state)
{
	static const char hex[] =
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	char *dir = ts_mkdtemp("dutkey");
	char path[512];
	uint8_t key[32], want[32];
	int fd;
	(void)state;
	test_key(want);
	snprintf(path, sizeof(path), "%s/line.key", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, hex, strlen(hex)), (ssize_t)strlen(hex));
	close(fd);
	assert_int_equal(rig_key_load_file(path, key), 0);
	assert_memory_equal(key, want, 32);
	rig_key_wipe(key);
	assert_memory_not_equal(key, want, 32);
	chmod(path, 0640);
	assert_int_equal(rig_key_load_file(path, key), RIG_ERR_PERMISSION);
	assert_non_null(strstr(rig_last_error(), "chmod 600"));
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_answer),
		cmocka_unit_test(round_trips),
		cmocka_unit_test(every_byte_flip_rejected),
		cmocka_unit_test(decode_rejections_name_the_field),
		cmocka_unit_test(encode_rejections),
		cmocka_unit_test(check_against_pen),
		cmocka_unit_test(text_form),
		cmocka_unit_test(key_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
