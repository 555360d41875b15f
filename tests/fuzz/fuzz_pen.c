/* A fresh simulated pen per fuzz input, and a reference parser of the
 * pen's responses written from docs/protocol.md (fuzz_pen.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "fuzz.h"
#include "fuzz_pen.h"

const uint8_t fuzz_line_key[32] = {
	0x6e, 0x72, 0x69, 0x67, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x6b, 0x65, 0x79, 0x2d, 0x30, 0x31,
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
};

void fuzz_pen_open(struct fuzz_pen *fp)
{
	struct sim_pen_config cfg;

	memset(fp, 0, sizeof(*fp));
	sim_clock_init_lockstep(&fp->clock);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 1;
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", FUZZ_PEN_SERIAL);
	cfg.failure = SIM_FAILURE_NONE;
	cfg.state_dir = fuzz_tmpdir();
	memcpy(cfg.line_key, fuzz_line_key, sizeof(cfg.line_key));
	cfg.clock = &fp->clock;
	fp->pen = sim_pen_new(&cfg);
	if (!fp->pen) {
		fprintf(stderr, "fuzz: sim_pen_new: %s\n", rig_last_error());
		abort();
	}
	fp->seq = 0x1000;
}

void fuzz_pen_close(struct fuzz_pen *fp)
{
	char path[1024];

	sim_pen_free(fp->pen);
	fp->pen = NULL;
	snprintf(path, sizeof(path), "%s/%s.flash", fuzz_tmpdir(), FUZZ_PEN_SERIAL);
	unlink(path);
}

void fuzz_pen_feed(struct fuzz_pen *fp, const uint8_t *in, size_t len)
{
	fp->out_len = sim_pen_receive(fp->pen, in, len, fp->out, sizeof(fp->out));
	FUZZ_CHECK(fp->out_len <= sizeof(fp->out), "pen wrote %zu bytes into %zu", fp->out_len,
		   sizeof(fp->out));
	fuzz_check_responses(fp->out, fp->out_len);
}

uint8_t fuzz_pen_request(struct fuzz_pen *fp, uint8_t cmd, const uint8_t *payload, size_t len,
			 uint8_t *data, size_t *data_len)
{
	uint8_t frame[SIM_FW_FRAME_MAX];
	size_t flen = fuzz_frame(frame, cmd, fp->seq, payload, len);
	uint16_t plen;

	fuzz_pen_feed(fp, frame, flen);
	FUZZ_CHECK(fuzz_check_responses(fp->out, fp->out_len) == 1,
		   "request 0x%02x: %zu response bytes are not one frame", cmd, fp->out_len);
	FUZZ_CHECK(fuzz_u16(fp->out + 4) == fp->seq, "request 0x%02x seq %u answered with seq %u",
		   cmd, fp->seq, fuzz_u16(fp->out + 4));
	FUZZ_CHECK(fp->out[3] == (cmd | 0x80u), "request 0x%02x answered with type 0x%02x", cmd,
		   fp->out[3]);
	fp->seq++;
	plen = fuzz_u16(fp->out + 6);
	if (data)
		memcpy(data, fp->out + 9, plen - 1u);
	if (data_len)
		*data_len = plen - 1u;
	return fp->out[8];
}

uint8_t fuzz_pen_authenticate(struct fuzz_pen *fp)
{
	static const char tag[] = "NRIG-AUTH-1";
	uint8_t nonce[1024], mac[32], serial[16] = {0};
	size_t n = 0;
	uint8_t st = fuzz_pen_request(fp, 0x03, NULL, 0, nonce, &n);
	const uint8_t *parts[3] = {(const uint8_t *)tag, nonce, serial};
	const size_t lens[3] = {sizeof(tag) - 1, 32, 16};

	if (st != 0)
		return st;
	FUZZ_CHECK(n == 32, "AUTH_CHALLENGE gave %zu nonce bytes", n);
	memcpy(serial, FUZZ_PEN_SERIAL, strlen(FUZZ_PEN_SERIAL));
	if (rigi_hmac_sha256(fuzz_line_key, parts, lens, 3, mac) != 0)
		abort();
	return fuzz_pen_request(fp, 0x04, mac, sizeof(mac), NULL, NULL);
}

/* Data bytes after an OK status (docs/protocol.md §3); -1: variable. */
static long ok_data_len(uint8_t cmd)
{
	switch (cmd) {
	case 0x01: return 94;
	case 0x02: return 36;
	case 0x03: return 32;
	case 0x10: return 4;
	case 0x20: return -1;
	case 0x21: return 1;
	case 0x22: return 2;
	case 0x23: return 5;
	case 0x04: case 0x11: case 0x12: case 0x13: case 0x24: return 0;
	default: return -2; /* unknown: never OK */
	}
}

static void check_one(const uint8_t *f, size_t at)
{
	uint8_t type = f[3];
	uint16_t len = fuzz_u16(f + 6);
	uint8_t status = f[8];

	FUZZ_CHECK(len >= 1, "response at byte %zu: no status byte", at);
	FUZZ_CHECK(status <= 0x14, "response at byte %zu: status 0x%02x undefined (§4)", at,
		   status);
	if (type == 0xFF) {
		/* §2: BAD_CRC, BAD_VERSION, BAD_LENGTH, or UNKNOWN_COMMAND for a
		 * frame typed as no request (0x7F, 0x80..0xFF). */
		FUZZ_ORACLE(len == 1 && status >= 0x01 && status <= 0x04,
			    "NAK at byte %zu: len %u status 0x%02x (§2 NAK)", at, len, status);
		return;
	}
	FUZZ_CHECK(type & 0x80u, "frame at byte %zu: type 0x%02x is not a response", at, type);
	if (status != 0) {
		FUZZ_CHECK(len == 1, "response 0x%02x at byte %zu: status 0x%02x with %u bytes "
			   "(§2: the status byte alone)", type, at, status, len);
		return;
	}
	long want = ok_data_len(type & 0x7Fu);
	FUZZ_CHECK(want != -2, "OK answer to unknown command 0x%02x at byte %zu", type & 0x7Fu,
		   at);
	if (want >= 0) {
		FUZZ_CHECK(len == 1 + want, "OK response 0x%02x at byte %zu: %u payload bytes, "
			   "expected %ld", type, at, len, 1 + want);
	} else {
		/* TABLE_READ: slot u8, total u16, bytes[min(count, total - offset)]. */
		FUZZ_CHECK(len >= 4, "TABLE_READ response at byte %zu: %u bytes", at, len);
		uint16_t total = fuzz_u16(f + 10);
		FUZZ_CHECK((size_t)len - 4 <= total && (size_t)len - 4 <= 1000,
			   "TABLE_READ response at byte %zu: %u bytes of a %u-byte slot", at,
			   len - 4u, total);
		FUZZ_CHECK(f[9] <= 1 || (f[9] == 0xFF && total == 0),
			   "TABLE_READ response at byte %zu: slot 0x%02x total %u", at, f[9],
			   total);
	}
}

size_t fuzz_check_responses(const uint8_t *out, size_t len)
{
	size_t at = 0, frames = 0;

	while (at < len) {
		FUZZ_CHECK(len - at >= 12, "pen output: %zu stray bytes at %zu", len - at, at);
		FUZZ_CHECK(out[at] == 0xA5 && out[at + 1] == 0x5A && out[at + 2] == 0x01,
			   "pen output at %zu: no sync/version (%02x %02x %02x)", at, out[at],
			   out[at + 1], out[at + 2]);
		uint16_t plen = fuzz_u16(out + at + 6);
		FUZZ_CHECK(plen <= 1024 && at + 12 + plen <= len,
			   "pen output at %zu: len %u beyond the %zu bytes written", at, plen, len);
		FUZZ_CHECK(fuzz_u32(out + at + 8 + plen) == fuzz_ref_crc32(out + at + 2, 6u + plen),
			   "pen output at %zu: bad CRC", at);
		check_one(out + at, at);
		at += 12u + plen;
		frames++;
	}
	return frames;
}
