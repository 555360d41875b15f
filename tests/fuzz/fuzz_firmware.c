/* Fuzz target: the simulated pen's firmware model (rig/sim/firmware.c,
 * firmware_table.c) fed hostile byte streams. Whatever arrives, it must not
 * crash, hang or leak, and everything it sends must be whole, well-formed
 * response frames (docs/protocol.md §2-§4; fuzz_check_responses()).
 *
 * Input: records, op byte first. op % 6: 0 raw bytes (n, then n bytes);
 * 1 a well-formed request (cmd, n, n payload bytes; op bit 3 resends the
 * previous seq, the cached-response path); 2 authenticate with the line key
 * (so authenticated commands are reached); 3 let n*2 ms of simulated time
 * pass (the 100 ms partial-frame timeout); 4 the link closes; 5 power
 * cycle. n is one byte, doubled when op bit 4 is set (chunks up to 510). */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "fuzz.h"
#include "fuzz_pen.h"

static void authenticate(struct fuzz_pen *fp)
{
	static const char tag[] = "NRIG-AUTH-1";
	uint8_t frame[SIM_FW_FRAME_MAX], nonce[32], serial[16] = {0}, mac[32];
	const uint8_t *parts[3] = {(const uint8_t *)tag, nonce, serial};
	const size_t lens[3] = {sizeof(tag) - 1, 32, 16};
	size_t at = 0, found = 0;

	fuzz_pen_feed(fp, frame, fuzz_frame(frame, 0x03, fp->seq++, NULL, 0));
	/* A partial frame in the pen may swallow the challenge: then no nonce. */
	while (at + 12 <= fp->out_len) {
		uint16_t plen = fuzz_u16(fp->out + at + 6);
		if (fp->out[at + 3] == 0x83 && plen == 33 && fp->out[at + 8] == 0) {
			memcpy(nonce, fp->out + at + 9, 32);
			found = 1;
		}
		at += 12u + plen;
	}
	if (!found)
		return;
	memcpy(serial, FUZZ_PEN_SERIAL, strlen(FUZZ_PEN_SERIAL));
	if (rigi_hmac_sha256(fuzz_line_key, parts, lens, 3, mac) != 0)
		abort();
	fuzz_pen_feed(fp, frame, fuzz_frame(frame, 0x04, fp->seq++, mac, sizeof(mac)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_pen fp;
	uint8_t frame[SIM_FW_FRAME_MAX];
	size_t i = 0;
	double t = 0;

	fuzz_quiet();
	fuzz_pen_open(&fp);
	while (i < size) {
		uint8_t op = data[i++];
		size_t n = i < size ? data[i] : 0;
		if (op & 0x10)
			n *= 2;
		switch (op % 6) {
		case 0:
			i++;
			n = n < size - (i < size ? i : size) ? n : size - (i < size ? i : size);
			fuzz_pen_feed(&fp, data + i, n);
			i += n;
			break;
		case 1: {
			uint8_t cmd = i < size ? data[i++] : 0;
			n = i < size ? data[i++] : 0;
			if (op & 0x10)
				n *= 2;
			if (n > size - (i < size ? i : size))
				n = size - (i < size ? i : size);
			if (op & 0x08)
				fp.seq--;
			fuzz_pen_feed(&fp, frame, fuzz_frame(frame, cmd, fp.seq++, data + i, n));
			i += n;
			break;
		}
		case 2:
			authenticate(&fp);
			break;
		case 3:
			i++;
			t += (double)n * 0.002;
			sim_clock_advance_to(&fp.clock, t);
			break;
		case 4:
			sim_pen_link_closed(fp.pen);
			break;
		default:
			sim_pen_power_cycle(fp.pen);
			break;
		}
	}
	fuzz_pen_close(&fp);
	return 0;
}
