/* Private header of the DUT protocol layer (docs/protocol.md): frame
 * constants, command and status tables, the frame encoder, the streaming
 * decoder and the checks a response must pass. Used by the client
 * (client.c, tablexfer.c) and by the tests; the simulator's firmware model
 * has its own, independent codec. */
#ifndef RIGI_DUT_FRAME_H
#define RIGI_DUT_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define RIGI_FRAME_SYNC0 0xA5u
#define RIGI_FRAME_SYNC1 0x5Au
#define RIGI_FRAME_VERSION 0x01u
#define RIGI_FRAME_HEADER 8u
#define RIGI_FRAME_CRC 4u
#define RIGI_FRAME_MAX_PAYLOAD 1024u
#define RIGI_FRAME_MAX (RIGI_FRAME_HEADER + RIGI_FRAME_MAX_PAYLOAD + RIGI_FRAME_CRC)
#define RIGI_FRAME_RESPONSE 0x80u
#define RIGI_FRAME_NAK 0xFFu

/* Command codes (protocol.md §3). */
enum rigi_dut_cmd {
	RIGI_DUT_IDENTIFY = 0x01,
	RIGI_DUT_STATUS = 0x02,
	RIGI_DUT_AUTH_CHALLENGE = 0x03,
	RIGI_DUT_AUTH_RESPONSE = 0x04,
	RIGI_DUT_SET_USER = 0x10,
	RIGI_DUT_SET_SERVICE = 0x11,
	RIGI_DUT_MOTOR = 0x12,
	RIGI_DUT_SAFE = 0x13,
	RIGI_DUT_TABLE_READ = 0x20,
	RIGI_DUT_TABLE_BEGIN = 0x21,
	RIGI_DUT_TABLE_CHUNK = 0x22,
	RIGI_DUT_TABLE_COMMIT = 0x23,
	RIGI_DUT_TABLE_ABORT = 0x24,
};

/* Sizes of command-specific data (protocol.md §3). */
#define RIGI_DUT_IDENTITY_BYTES 94u
#define RIGI_DUT_STATUS_BYTES 36u
#define RIGI_DUT_NONCE_BYTES 32u
#define RIGI_DUT_MAC_BYTES 32u
#define RIGI_DUT_SERIAL_BYTES 16u
#define RIGI_DUT_CHUNK_MAX 512u
#define RIGI_DUT_READ_MAX 1000u

/* One decoded frame. */
struct rigi_frame {
	uint8_t type;
	uint16_t seq;
	uint16_t len;
	uint8_t payload[RIGI_FRAME_MAX_PAYLOAD];
};

/** Encode a frame into @p buf (capacity @p cap). Returns 0 and the frame
 *  size in *@p out_len, or RIG_ERR_ARG when @p len exceeds 1024 or the frame
 *  does not fit. */
int rigi_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
		      uint8_t *buf, size_t cap, size_t *out_len);

/* ---- streaming decoder ---- */

/* Room for a partial frame plus one transport read (transport.h), so that a
 * push after next() returned 0 always fits. */
#define RIGI_FRAME_DECODER_BUF 4096u

/* Every received byte ends up in exactly one of: an accepted frame, the
 * garbage count, or buf (not yet decided). */
struct rigi_frame_decoder {
	uint8_t buf[RIGI_FRAME_DECODER_BUF];
	size_t have;       /* bytes in buf */
	uint64_t offset;   /* stream offset of buf[0] (for error details) */
	uint64_t garbage;  /* bytes discarded outside accepted frames */
	uint64_t frames;   /* frames accepted */
	uint64_t rejected; /* frames rejected (bad version, length, CRC) */
};

void rigi_frame_decoder_init(struct rigi_frame_decoder *d);

/** Free space for rigi_frame_decoder_push(). */
size_t rigi_frame_decoder_room(const struct rigi_frame_decoder *d);

/** Append received bytes. Returns how many were taken (all of them when
 *  @p len <= room; call rigi_frame_decoder_next() until it returns 0 to
 *  make room). */
size_t rigi_frame_decoder_push(struct rigi_frame_decoder *d, const uint8_t *in, size_t len);

/** Extract the next complete frame. Returns 1 with the frame in *@p out, 0
 *  when more bytes are needed, or a negative rig_err for a rejected frame
 *  (RIG_ERR_PROTOCOL: version not 1 or len over 1024; RIG_ERR_CRC: CRC
 *  mismatch, both values in the detail). After a rejection the decoder has
 *  already dropped the bad sync byte and searches again from the next byte,
 *  so calling it again is always safe. */
int rigi_frame_decoder_next(struct rigi_frame_decoder *d, struct rigi_frame *out);

/** Bytes of a frame started (sync seen) but not complete; 0 when none. */
size_t rigi_frame_decoder_partial(const struct rigi_frame_decoder *d);

/** Give up on a partial frame (the response timed out mid-frame): drop it
 *  as garbage. Returns 0 when there was none, else RIG_ERR_TIMEOUT with a
 *  detail saying how much of which frame arrived. */
int rigi_frame_decoder_expire(struct rigi_frame_decoder *d);

/* ---- commands ---- */

/** Name of a command ("TABLE_CHUNK"), or "UNKNOWN" (static string). */
const char *rigi_dut_cmd_name(uint8_t cmd);

/** Check that @p len is a valid request payload length for @p cmd.
 *  Returns 0, or RIG_ERR_ARG (unknown command or wrong length). */
int rigi_dut_check_request(uint8_t cmd, size_t len);

/* rigi_dut_check_response() result for a reply to another request. */
#define RIGI_FRAME_STALE 1

/** Check that @p resp answers the request (@p cmd, @p seq). Returns 0 with
 *  the status byte in *@p status (a NAK is a valid answer: *@p nak is set
 *  to 1); RIGI_FRAME_STALE when its seq differs (skip it and keep waiting);
 *  or RIG_ERR_PROTOCOL when the type is neither @p cmd | 0x80 nor NAK, the
 *  status byte is missing, or the payload length is not exactly what the
 *  command and status call for (1 byte unless the status is OK). */
int rigi_dut_check_response(uint8_t cmd, uint16_t seq, const struct rigi_frame *resp,
			    uint8_t *status, int *nak);

/* ---- status codes (status.c) ---- */

/** The enum rig_err for a device status code (0 for OK; RIG_ERR_PROTOCOL
 *  for a code the protocol does not define). */
int rigi_dut_status_err(uint8_t status);

/** What an operator should do about @p status (static string, never NULL). */
const char *rigi_dut_status_hint(uint8_t status);

/** One-line meaning of @p status from protocol.md §4 (static string). */
const char *rigi_dut_status_meaning(uint8_t status);

#endif
