/* Tests of the DUT frame codec (rig/lib/dut/frame.c, status.c): known
 * vectors computed independently (Python zlib), round trips of every
 * command, the streaming decoder over arbitrary chunking, every rejection
 * of malformed input with its specific error, and the response checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>

#include "core/core.h"
#include "dut/frame.h"
#include "testsupport.h"

/* Frames computed with Python: zlib.crc32 over version..payload. */
static const uint8_t vec_identify_req[] = {0xa5, 0x5a, 0x01, 0x01, 0x34, 0x12,
					   0x00, 0x00, 0x5e, 0x43, 0x15, 0x27};
static const uint8_t vec_motor_on[] = {0xa5, 0x5a, 0x01, 0x12, 0xff, 0xff, 0x01,
				       0x00, 0x01, 0x86, 0xec, 0xa1, 0x17};
static const uint8_t vec_nak[] = {0xa5, 0x5a, 0x01, 0xff, 0x07, 0x00, 0x01,
				  0x00, 0x01, 0xb7, 0xf9, 0x3a, 0x1b};

/* Every command with its request payload length and OK response data length. */
static const struct {
	uint8_t cmd;
	size_t req_len;
	size_t resp_len;
} commands[] = {
	{RIGI_DUT_IDENTIFY, 0, 94},      {RIGI_DUT_STATUS, 0, 36},
	{RIGI_DUT_AUTH_CHALLENGE, 0, 32}, {RIGI_DUT_AUTH_RESPONSE, 32, 0},
	{RIGI_DUT_SET_USER, 4, 4},       {RIGI_DUT_SET_SERVICE, 4, 0},
	{RIGI_DUT_MOTOR, 1, 0},          {RIGI_DUT_SAFE, 0, 0},
	{RIGI_DUT_TABLE_READ, 5, 3 + 100}, {RIGI_DUT_TABLE_BEGIN, 6, 1},
	{RIGI_DUT_TABLE_CHUNK, 2 + 512, 2}, {RIGI_DUT_TABLE_COMMIT, 0, 5},
	{RIGI_DUT_TABLE_ABORT, 0, 0},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static size_t enc(uint8_t type, uint16_t seq, const uint8_t *p, size_t len, uint8_t *buf)
{
	size_t n = 0;
	assert_int_equal(rigi_frame_encode(type, seq, p, len, buf, RIGI_FRAME_MAX, &n), 0);
	return n;
}

/* Push @p len bytes and expect exactly one frame to come out. */
static void decode_one(struct rigi_frame_decoder *d, const uint8_t *buf, size_t len,
		       struct rigi_frame *f)
{
	assert_int_equal(rigi_frame_decoder_push(d, buf, len), len);
	assert_int_equal(rigi_frame_decoder_next(d, f), 1);
	assert_int_equal(rigi_frame_decoder_next(d, f + 1), 0);
}

static void known_vectors(void **state)
{
	uint8_t buf[RIGI_FRAME_MAX];
	uint8_t on = 1, bad_crc = RIG_DUT_BAD_CRC;
	(void)state;
	assert_int_equal(enc(RIGI_DUT_IDENTIFY, 0x1234, NULL, 0, buf), sizeof(vec_identify_req));
	assert_memory_equal(buf, vec_identify_req, sizeof(vec_identify_req));
	assert_int_equal(enc(RIGI_DUT_MOTOR, 0xFFFF, &on, 1, buf), sizeof(vec_motor_on));
	assert_memory_equal(buf, vec_motor_on, sizeof(vec_motor_on));
	assert_int_equal(enc(RIGI_FRAME_NAK, 7, &bad_crc, 1, buf), sizeof(vec_nak));
	assert_memory_equal(buf, vec_nak, sizeof(vec_nak));
}

static void round_trip_every_command(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f[2];
	uint8_t payload[RIGI_FRAME_MAX_PAYLOAD], buf[RIGI_FRAME_MAX];
	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	rigi_frame_decoder_init(&d);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		uint8_t cmd = commands[i].cmd, status = 0xEE;
		uint16_t seq = (uint16_t)(0xFFF0 + i); /* wraps through 0 */
		int nak = -1;
		size_t n;

		assert_int_equal(rigi_dut_check_request(cmd, commands[i].req_len), 0);
		n = enc(cmd, seq, payload, commands[i].req_len, buf);
		decode_one(&d, buf, n, f);
		assert_int_equal(f[0].type, cmd);
		assert_int_equal(f[0].seq, seq);
		assert_int_equal(f[0].len, commands[i].req_len);
		assert_memory_equal(f[0].payload, payload, commands[i].req_len);

		/* OK answer: status 0 then the command's data. */
		payload[0] = RIG_DUT_OK;
		n = enc(cmd | 0x80, seq, payload, 1 + commands[i].resp_len, buf);
		decode_one(&d, buf, n, f);
		assert_int_equal(rigi_dut_check_response(cmd, seq, &f[0], &status, &nak), 0);
		assert_int_equal(status, RIG_DUT_OK);
		assert_int_equal(nak, 0);
		assert_memory_equal(f[0].payload + 1, payload + 1, commands[i].resp_len);

		/* A failure answer is the status byte alone. */
		payload[0] = RIG_DUT_BUSY;
		n = enc(cmd | 0x80, seq, payload, 1, buf);
		decode_one(&d, buf, n, f);
		assert_int_equal(rigi_dut_check_response(cmd, seq, &f[0], &status, &nak), 0);
		assert_int_equal(status, RIG_DUT_BUSY);
		assert_string_not_equal(rigi_dut_cmd_name(cmd), "UNKNOWN");
	}
	assert_int_equal(d.garbage, 0);
	assert_int_equal(d.rejected, 0);
	assert_int_equal(d.frames, 3 * N_COMMANDS);
}

/* Many frames fed in random chunk sizes, with garbage between some. */
static void arbitrary_chunking(void **state)
{
	static uint8_t stream[64 * RIGI_FRAME_MAX];
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	struct rig_pcg32 rng;
	size_t len = 0, pos = 0, garbage = 0, frame_bytes = 0;
	unsigned got = 0;
	uint8_t payload[RIGI_FRAME_MAX_PAYLOAD];
	(void)state;
	rig_pcg32_seed(&rng, 1, 2);
	for (unsigned i = 0; i < 64; i++) {
		size_t plen = rig_pcg32_bounded(&rng, i == 5 ? 1025 : 40);
		for (size_t k = 0; k < plen; k++)
			payload[k] = (uint8_t)(i + k);
		if (i % 3 == 1) { /* garbage, including a lone sync0 and a wrong pair */
			static const uint8_t junk[] = {0x00, 0xA5, 0x00, 0x5A, 0xA5, 0xA5, 0x13};
			memcpy(stream + len, junk, sizeof(junk));
			len += sizeof(junk);
			garbage += sizeof(junk);
		}
		len += enc(0x81, (uint16_t)i, payload, plen, stream + len);
		frame_bytes += 12 + plen;
	}
	rigi_frame_decoder_init(&d);
	while (pos < len) {
		size_t chunk = 1 + rig_pcg32_bounded(&rng, 37);
		int ret;
		if (chunk > len - pos)
			chunk = len - pos;
		pos += rigi_frame_decoder_push(&d, stream + pos, chunk);
		while ((ret = rigi_frame_decoder_next(&d, &f)) == 1) {
			assert_int_equal(f.seq, got);
			for (size_t k = 0; k < f.len; k++)
				assert_int_equal(f.payload[k], (uint8_t)(got + k));
			got++;
		}
		assert_int_equal(ret, 0);
	}
	assert_int_equal(got, 64);
	assert_int_equal(d.garbage, garbage);
	assert_int_equal(d.have, 0);
	assert_int_equal(d.garbage + frame_bytes, len);
}

static void garbage_before_sync_is_counted(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	static const uint8_t junk[] = {0x11, 0x22, 0xA5, 0x00, 0x5A};
	(void)state;
	rigi_frame_decoder_init(&d);
	rigi_frame_decoder_push(&d, junk, sizeof(junk));
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(d.garbage, 5);
	/* A lone sync0 at the end of a chunk is kept: it may start a frame. */
	rigi_frame_decoder_push(&d, vec_identify_req, 1);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(d.garbage, 5);
	assert_int_equal(rigi_frame_decoder_partial(&d), 1);
	rigi_frame_decoder_push(&d, vec_identify_req + 1, sizeof(vec_identify_req) - 1);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
	assert_int_equal(f.seq, 0x1234);
	assert_int_equal(d.garbage, 5);
}

static void bad_version_rejected(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	uint8_t buf[32];
	(void)state;
	memcpy(buf, vec_identify_req, sizeof(vec_identify_req));
	buf[2] = 0x02;
	memcpy(buf + 12, vec_identify_req, sizeof(vec_identify_req));
	rigi_frame_decoder_init(&d);
	rigi_frame_decoder_push(&d, buf, 24);
	rig_clear_error();
	assert_int_equal(rigi_frame_decoder_next(&d, &f), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "version 0x02"));
	assert_int_equal(d.rejected, 1);
	/* The good frame behind it is still found. */
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
	assert_int_equal(f.seq, 0x1234);
	assert_int_equal(d.garbage, 12);
}

static void oversize_length_rejected(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	uint8_t hdr[8] = {0xA5, 0x5A, 0x01, 0x81, 0x01, 0x00, 0x01, 0x04}; /* len 1025 */
	(void)state;
	rigi_frame_decoder_init(&d);
	rigi_frame_decoder_push(&d, hdr, sizeof(hdr));
	/* Rejected from the header alone, without waiting for 1025 bytes. */
	assert_int_equal(rigi_frame_decoder_next(&d, &f), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "length 1025 exceeds 1024"));
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(d.garbage, 8);
	/* 1024 itself is fine. */
	{
		static uint8_t payload[1024], buf[RIGI_FRAME_MAX];
		size_t n = enc(0x81, 9, payload, sizeof(payload), buf);
		assert_int_equal(n, RIGI_FRAME_MAX);
		rigi_frame_decoder_push(&d, buf, n);
		assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
		assert_int_equal(f.len, 1024);
	}
}

static void crc_mismatch_names_both_values(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	uint8_t buf[sizeof(vec_motor_on)];
	char want[64];
	(void)state;
	memcpy(buf, vec_motor_on, sizeof(buf));
	buf[8] = 0x00; /* payload byte altered, CRC kept */
	rigi_frame_decoder_init(&d);
	rigi_frame_decoder_push(&d, buf, sizeof(buf));
	assert_int_equal(rigi_frame_decoder_next(&d, &f), RIG_ERR_CRC);
	assert_non_null(strstr(rig_last_error(), "frame carries 0x17a1ec86"));
	snprintf(want, sizeof(want), "bytes give 0x%08x", rigi_crc32(buf + 2, 7));
	assert_non_null(strstr(rig_last_error(), want));
	assert_non_null(strstr(rig_last_error(), "seq 65535"));
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(d.rejected, 1);
	assert_int_equal(d.frames, 0);
}

/* A false sync inside noise announces a long frame; the real frame that
 * follows is found once the false one fails its CRC. */
static void resync_after_false_header(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	uint8_t buf[64] = {0xA5, 0x5A, 0x01, 0x81, 0x00, 0x00, 0x0C, 0x00}; /* len 12 */
	int ret;
	(void)state;
	memcpy(buf + 8, vec_identify_req, sizeof(vec_identify_req));
	memcpy(buf + 20, vec_nak, sizeof(vec_nak));
	rigi_frame_decoder_init(&d);
	rigi_frame_decoder_push(&d, buf, 33);
	ret = rigi_frame_decoder_next(&d, &f);
	assert_int_equal(ret, RIG_ERR_CRC);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, RIGI_DUT_IDENTIFY);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, RIGI_FRAME_NAK);
	assert_int_equal(d.garbage, 8);
}

static void truncated_frame_expires(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	(void)state;
	rigi_frame_decoder_init(&d);
	assert_int_equal(rigi_frame_decoder_expire(&d), 0);
	rigi_frame_decoder_push(&d, vec_motor_on, 10);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(rigi_frame_decoder_partial(&d), 10);
	assert_int_equal(rigi_frame_decoder_expire(&d), RIG_ERR_TIMEOUT);
	assert_non_null(strstr(rig_last_error(), "10 of 13 bytes"));
	assert_non_null(strstr(rig_last_error(), "seq 65535"));
	assert_int_equal(rigi_frame_decoder_partial(&d), 0);
	assert_int_equal(d.garbage, 10);
	rigi_frame_decoder_push(&d, vec_motor_on, 5);
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	assert_int_equal(rigi_frame_decoder_expire(&d), RIG_ERR_TIMEOUT);
	assert_non_null(strstr(rig_last_error(), "5 of the 8 header bytes"));
	/* The rest arriving late is garbage; the next whole frame decodes. */
	rigi_frame_decoder_push(&d, vec_motor_on + 5, 8);
	rigi_frame_decoder_push(&d, vec_nak, sizeof(vec_nak));
	assert_int_equal(rigi_frame_decoder_next(&d, &f), 1);
	assert_int_equal(f.type, RIGI_FRAME_NAK);
	assert_int_equal(d.garbage, 23);
}

static void decoder_buffer_never_sticks(void **state)
{
	struct rigi_frame_decoder d;
	struct rigi_frame f;
	static uint8_t junk[3 * RIGI_FRAME_DECODER_BUF];
	size_t pos = 0;
	(void)state;
	memset(junk, 0x42, sizeof(junk));
	rigi_frame_decoder_init(&d);
	while (pos < sizeof(junk)) {
		pos += rigi_frame_decoder_push(&d, junk + pos, sizeof(junk) - pos);
		assert_int_equal(rigi_frame_decoder_next(&d, &f), 0);
	}
	assert_int_equal(d.garbage, sizeof(junk));
	assert_int_equal(rigi_frame_decoder_room(&d), RIGI_FRAME_DECODER_BUF);
}

static void encode_rejections(void **state)
{
	uint8_t buf[RIGI_FRAME_MAX + 8], payload[1025] = {0};
	size_t n = 0;
	(void)state;
	assert_int_equal(rigi_frame_encode(0x22, 1, payload, 1025, buf, sizeof(buf), &n),
			 RIG_ERR_ARG);
	assert_int_equal(rigi_frame_encode(0x22, 1, payload, 10, buf, 21, &n), RIG_ERR_ARG);
	assert_int_equal(rigi_frame_encode(0x22, 1, payload, 10, buf, 22, &n), 0);
	assert_int_equal(n, 22);
}

static void request_length_checks(void **state)
{
	(void)state;
	assert_int_equal(rigi_dut_check_request(RIGI_DUT_IDENTIFY, 1), RIG_ERR_ARG);
	assert_int_equal(rigi_dut_check_request(RIGI_DUT_SET_USER, 3), RIG_ERR_ARG);
	assert_int_equal(rigi_dut_check_request(RIGI_DUT_TABLE_CHUNK, 2), RIG_ERR_ARG);
	assert_int_equal(rigi_dut_check_request(RIGI_DUT_TABLE_CHUNK, 3), 0);
	assert_int_equal(rigi_dut_check_request(RIGI_DUT_TABLE_CHUNK, 515), RIG_ERR_ARG);
	assert_int_equal(rigi_dut_check_request(0x30, 0), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "0x30"));
	assert_string_equal(rigi_dut_cmd_name(0x30), "UNKNOWN");
}

static int check(uint8_t cmd, uint16_t seq, uint8_t type, uint16_t rseq, size_t len,
		 uint8_t status, int *nak)
{
	struct rigi_frame f = {.type = type, .seq = rseq, .len = (uint16_t)len};
	uint8_t st = 0xEE;
	f.payload[0] = status;
	return rigi_dut_check_response(cmd, seq, &f, &st, nak);
}

static void response_checks(void **state)
{
	int nak = -1;
	(void)state;
	/* A reply to another request is stale, whatever it holds. */
	assert_int_equal(check(0x01, 5, 0x81, 4, 95, 0, &nak), RIGI_FRAME_STALE);
	assert_int_equal(check(0x01, 5, 0xFF, 6, 1, 1, &nak), RIGI_FRAME_STALE);
	/* Type must be cmd | 0x80 or NAK. */
	assert_int_equal(check(0x01, 5, 0x01, 5, 95, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x01, 5, 0x82, 5, 37, 0, &nak), RIG_ERR_PROTOCOL);
	/* Status byte present. */
	assert_int_equal(check(0x13, 5, 0x93, 5, 0, 0, &nak), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "no status byte"));
	/* Exact data lengths per command. */
	assert_int_equal(check(0x01, 5, 0x81, 5, 94, 0, &nak), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "IDENTIFY answer OK carries 93 data bytes, "
					    "expected 94"));
	assert_int_equal(check(0x01, 5, 0x81, 5, 96, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x02, 5, 0x82, 5, 36, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x02, 5, 0x82, 5, 37, 0, &nak), 0);
	assert_int_equal(check(0x13, 5, 0x93, 5, 2, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x20, 5, 0xA0, 5, 3, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x20, 5, 0xA0, 5, 4, 0, &nak), 0);
	assert_int_equal(check(0x20, 5, 0xA0, 5, 1004, 0, &nak), 0);
	assert_int_equal(check(0x20, 5, 0xA0, 5, 1005, 0, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x23, 5, 0xA3, 5, 6, 0, &nak), 0);
	/* A failure carries no data. */
	assert_int_equal(check(0x01, 5, 0x81, 5, 95, RIG_DUT_BUSY, &nak), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "non-OK answer has none"));
	/* NAK: exactly one non-OK status byte. */
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_BAD_CRC, &nak), 0);
	assert_int_equal(nak, 1);
	assert_int_equal(check(0x01, 5, 0xFF, 5, 2, RIG_DUT_BAD_CRC, &nak), RIG_ERR_PROTOCOL);
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_OK, &nak), RIG_ERR_PROTOCOL);
	/* NAK: the three frame-level statuses of §2 and UNKNOWN_COMMAND. */
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_BAD_VERSION, &nak), 0);
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_BAD_LENGTH, &nak), 0);
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_UNKNOWN_COMMAND, &nak), 0);
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, RIG_DUT_BUSY, &nak), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "status byte at payload offset 0 is 0x14"));
	assert_int_equal(check(0x01, 5, 0xFF, 5, 1, 0x15, &nak), RIG_ERR_PROTOCOL);
}

static void status_names_and_errors(void **state)
{
	static const struct {
		int status;
		const char *name;
		int err;
	} expect[] = {
		{RIG_DUT_OK, "OK", 0},
		{RIG_DUT_BAD_CRC, "BAD_CRC", RIG_ERR_CRC},
		{RIG_DUT_AUTH_REQUIRED, "AUTH_REQUIRED", RIG_ERR_AUTH},
		{RIG_DUT_AUTH_FAILED, "AUTH_FAILED", RIG_ERR_AUTH},
		{RIG_DUT_OUT_OF_RANGE, "OUT_OF_RANGE", RIG_ERR_RANGE},
		{RIG_DUT_TABLE_BOUNDS, "TABLE_BOUNDS", RIG_ERR_RANGE},
		{RIG_DUT_TABLE_CRC, "TABLE_CRC", RIG_ERR_CRC},
		{RIG_DUT_TABLE_SIGNATURE, "TABLE_SIGNATURE", RIG_ERR_SIGNATURE},
		{RIG_DUT_TABLE_STALE, "TABLE_STALE", RIG_ERR_STATE},
		{RIG_DUT_FAULT, "FAULT", RIG_ERR_DEVICE},
		{RIG_DUT_FLASH_ERROR, "FLASH_ERROR", RIG_ERR_DEVICE},
		{RIG_DUT_BUSY, "BUSY", RIG_ERR_BUSY},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		assert_string_equal(rig_dut_status_name(expect[i].status), expect[i].name);
		assert_int_equal(rigi_dut_status_err((uint8_t)expect[i].status), expect[i].err);
	}
	for (int s = 0; s <= RIG_DUT_BUSY; s++) {
		assert_string_not_equal(rig_dut_status_name(s), "UNKNOWN_STATUS");
		assert_true(strlen(rigi_dut_status_hint((uint8_t)s)) > 0);
		for (int t = 0; t < s; t++)
			assert_string_not_equal(rig_dut_status_name(s), rig_dut_status_name(t));
	}
	assert_string_equal(rig_dut_status_name(0x15), "UNKNOWN_STATUS");
	assert_string_equal(rig_dut_status_name(-1), "UNKNOWN_STATUS");
	assert_int_equal(rigi_dut_status_err(0x15), RIG_ERR_PROTOCOL);
	assert_string_equal(rig_dut_fault_name(RIG_DUT_FAULT_NO_TABLE), "NO_TABLE");
	assert_string_equal(rig_dut_fault_name(RIG_DUT_FAULT_FLASH), "FLASH");
	assert_null(rig_dut_fault_name(3));
	assert_string_equal(rig_dut_fault_name(RIG_DUT_FAULT_HOST_LOST), "HOST_LOST");
	assert_null(rig_dut_fault_name(1u << 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(round_trip_every_command),
		cmocka_unit_test(arbitrary_chunking),
		cmocka_unit_test(garbage_before_sync_is_counted),
		cmocka_unit_test(bad_version_rejected),
		cmocka_unit_test(oversize_length_rejected),
		cmocka_unit_test(crc_mismatch_names_both_values),
		cmocka_unit_test(resync_after_false_header),
		cmocka_unit_test(truncated_frame_expires),
		cmocka_unit_test(decoder_buffer_never_sticks),
		cmocka_unit_test(encode_rejections),
		cmocka_unit_test(request_length_checks),
		cmocka_unit_test(response_checks),
		cmocka_unit_test(status_names_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
