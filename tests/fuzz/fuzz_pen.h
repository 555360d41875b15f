/* A fresh simulated pen per fuzz input (fuzz_pen.c): factory-new flash in
 * the target's private directory, a lockstep clock (no wall time), a fixed
 * line key and serial; and the host side the targets need to drive it
 * (frames in, responses out, authentication with the known key). */
#ifndef RIG_FUZZ_PEN_H
#define RIG_FUZZ_PEN_H

#include <stddef.h>
#include <stdint.h>

#include "firmware.h"
#include "pen.h"

#define FUZZ_PEN_SERIAL "MN1-000123"
#define FUZZ_PEN_OUT_CAP (4 * SIM_FW_FRAME_MAX)

extern const uint8_t fuzz_line_key[32];

struct fuzz_pen {
	struct sim_clock clock;
	struct sim_pen *pen;
	uint16_t seq;
	uint8_t out[FUZZ_PEN_OUT_CAP]; /* response bytes of the last call */
	size_t out_len;
};

/* Power up a factory-new pen (aborts when the simulator refuses). */
void fuzz_pen_open(struct fuzz_pen *fp);
/* Free it and delete its flash file, so that the next input starts alike. */
void fuzz_pen_close(struct fuzz_pen *fp);

/* Feed raw bytes; the response bytes land in fp->out / fp->out_len. */
void fuzz_pen_feed(struct fuzz_pen *fp, const uint8_t *in, size_t len);

/* Send one well-formed request (a new seq) and parse its single response:
 * returns the status byte and copies the data after it to @p data (room
 * for 1024 bytes; may be NULL) with its length in *@p data_len; aborts when
 * the pen does not answer exactly one well-formed response frame. */
uint8_t fuzz_pen_request(struct fuzz_pen *fp, uint8_t cmd, const uint8_t *payload, size_t len,
			 uint8_t *data, size_t *data_len);

/* AUTH_CHALLENGE + AUTH_RESPONSE with the line key; returns the status. */
uint8_t fuzz_pen_authenticate(struct fuzz_pen *fp);

/* Check that @p out holds only whole, well-formed response frames per
 * docs/protocol.md §2-§4 (sync, version, len, CRC; type a command | 0x80 or
 * NAK; a status byte; data length per command and status). Aborts with the
 * offending byte offset otherwise. Returns the number of frames. */
size_t fuzz_check_responses(const uint8_t *out, size_t len);

#endif
