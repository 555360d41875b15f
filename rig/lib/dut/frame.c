/* DUT protocol frames (docs/protocol.md §2-3), host side: the encoder, the
 * streaming decoder that finds frames in an arbitrary byte stream and
 * rejects malformed ones, and the checks that a response answers the
 * outstanding request with exactly the payload the command defines. */
#include <string.h>

#include <rig/dut.h>

#include "core/core.h"
#include "dut/frame.h"

/* Payload sizes per command: request, and response data after an OK
 * status byte (a non-OK response carries the status byte only). */
struct cmd_info {
	uint8_t code;
	const char *name;
	uint16_t req_min, req_max;
	uint16_t resp_min, resp_max;
};

static const struct cmd_info commands[] = {
	{RIGI_DUT_IDENTIFY, "IDENTIFY", 0, 0, RIGI_DUT_IDENTITY_BYTES, RIGI_DUT_IDENTITY_BYTES},
	{RIGI_DUT_STATUS, "STATUS", 0, 0, RIGI_DUT_STATUS_BYTES, RIGI_DUT_STATUS_BYTES},
	{RIGI_DUT_AUTH_CHALLENGE, "AUTH_CHALLENGE", 0, 0, RIGI_DUT_NONCE_BYTES,
	 RIGI_DUT_NONCE_BYTES},
	{RIGI_DUT_AUTH_RESPONSE, "AUTH_RESPONSE", RIGI_DUT_MAC_BYTES, RIGI_DUT_MAC_BYTES, 0, 0},
	{RIGI_DUT_SET_USER, "SET_USER", 4, 4, 4, 4},
	{RIGI_DUT_SET_SERVICE, "SET_SERVICE", 4, 4, 0, 0},
	{RIGI_DUT_MOTOR, "MOTOR", 1, 1, 0, 0},
	{RIGI_DUT_SAFE, "SAFE", 0, 0, 0, 0},
	{RIGI_DUT_TABLE_READ, "TABLE_READ", 5, 5, 3, 3 + RIGI_DUT_READ_MAX},
	{RIGI_DUT_TABLE_BEGIN, "TABLE_BEGIN", 6, 6, 1, 1},
	{RIGI_DUT_TABLE_CHUNK, "TABLE_CHUNK", 3, 2 + RIGI_DUT_CHUNK_MAX, 2, 2},
	{RIGI_DUT_TABLE_COMMIT, "TABLE_COMMIT", 0, 0, 5, 5},
	{RIGI_DUT_TABLE_ABORT, "TABLE_ABORT", 0, 0, 0, 0},
};

static const struct cmd_info *find_cmd(uint8_t code)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].code == code)
			return &commands[i];
	return NULL;
}

const char *rigi_dut_cmd_name(uint8_t cmd)
{
	const struct cmd_info *c = find_cmd(cmd);
	return c ? c->name : "UNKNOWN";
}

int rigi_dut_check_request(uint8_t cmd, size_t len)
{
	const struct cmd_info *c = find_cmd(cmd);
	if (!c)
		return rigi_fail(RIG_ERR_ARG, "command code 0x%02x is not in the DUT protocol", cmd);
	if (len < c->req_min || len > c->req_max)
		return rigi_fail(RIG_ERR_ARG, "%s request with a %zu-byte payload; the protocol "
				 "wants %u..%u bytes", c->name, len, c->req_min, c->req_max);
	return 0;
}

int rigi_frame_encode(uint8_t type, uint16_t seq, const uint8_t *payload, size_t len,
		      uint8_t *buf, size_t cap, size_t *out_len)
{
	size_t total = RIGI_FRAME_HEADER + len + RIGI_FRAME_CRC;

	if (len > RIGI_FRAME_MAX_PAYLOAD)
		return rigi_fail(RIG_ERR_ARG, "frame payload of %zu bytes exceeds %u", len,
				 RIGI_FRAME_MAX_PAYLOAD);
	if (total > cap)
		return rigi_fail(RIG_ERR_ARG, "frame of %zu bytes does not fit a %zu-byte buffer",
				 total, cap);
	buf[0] = RIGI_FRAME_SYNC0;
	buf[1] = RIGI_FRAME_SYNC1;
	buf[2] = RIGI_FRAME_VERSION;
	buf[3] = type;
	rigi_put_u16le(buf + 4, seq);
	rigi_put_u16le(buf + 6, (uint16_t)len);
	if (len)
		memcpy(buf + RIGI_FRAME_HEADER, payload, len);
	rigi_put_u32le(buf + RIGI_FRAME_HEADER + len,
		       rigi_crc32(buf + 2, RIGI_FRAME_HEADER - 2 + len));
	*out_len = total;
	return 0;
}

void rigi_frame_decoder_init(struct rigi_frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

size_t rigi_frame_decoder_room(const struct rigi_frame_decoder *d)
{
	return sizeof(d->buf) - d->have;
}

size_t rigi_frame_decoder_push(struct rigi_frame_decoder *d, const uint8_t *in, size_t len)
{
	size_t n = rigi_frame_decoder_room(d);
	if (n > len)
		n = len;
	memcpy(d->buf + d->have, in, n);
	d->have += n;
	return n;
}

/* Remove the first @p n buffered bytes; @p garbage says whether they count
 * as discarded (not part of an accepted frame). */
static void drop(struct rigi_frame_decoder *d, size_t n, int garbage)
{
	memmove(d->buf, d->buf + n, d->have - n);
	d->have -= n;
	d->offset += n;
	if (garbage)
		d->garbage += n;
}

/* Index of the first sync pair; a trailing lone sync0 counts as a possible
 * start. Returns have when the buffer holds no start at all. */
static size_t find_sync(const struct rigi_frame_decoder *d)
{
	for (size_t i = 0; i < d->have; i++)
		if (d->buf[i] == RIGI_FRAME_SYNC0 &&
		    (i + 1 == d->have || d->buf[i + 1] == RIGI_FRAME_SYNC1))
			return i;
	return d->have;
}

/* A frame starting at buf[0] is bad: drop its first byte only, so that a
 * real frame hidden inside its bytes is still found. */
static void reject(struct rigi_frame_decoder *d)
{
	d->rejected++;
	drop(d, 1, 1);
}

int rigi_frame_decoder_next(struct rigi_frame_decoder *d, struct rigi_frame *out)
{
	uint64_t at;
	uint16_t len;
	size_t total;
	uint32_t got, want;

	drop(d, find_sync(d), 1);
	if (d->have < RIGI_FRAME_HEADER)
		return 0;
	at = d->offset;
	if (d->buf[2] != RIGI_FRAME_VERSION) {
		uint8_t version = d->buf[2];
		reject(d);
		return rigi_fail(RIG_ERR_PROTOCOL, "frame at stream byte %llu: protocol version "
				 "0x%02x, expected 0x%02x", (unsigned long long)at, version,
				 RIGI_FRAME_VERSION);
	}
	len = rigi_get_u16le(d->buf + 6);
	if (len > RIGI_FRAME_MAX_PAYLOAD) {
		reject(d);
		return rigi_fail(RIG_ERR_PROTOCOL, "frame at stream byte %llu: payload length "
				 "%u exceeds %u", (unsigned long long)at, len,
				 RIGI_FRAME_MAX_PAYLOAD);
	}
	total = RIGI_FRAME_HEADER + len + RIGI_FRAME_CRC;
	if (d->have < total)
		return 0;
	got = rigi_get_u32le(d->buf + RIGI_FRAME_HEADER + len);
	want = rigi_crc32(d->buf + 2, RIGI_FRAME_HEADER - 2 + len);
	if (got != want) {
		uint8_t type = d->buf[3];
		uint16_t seq = rigi_get_u16le(d->buf + 4);
		reject(d);
		return rigi_fail(RIG_ERR_CRC, "frame at stream byte %llu (type 0x%02x, seq %u, "
				 "%u-byte payload): CRC mismatch: frame carries 0x%08x, its "
				 "bytes give 0x%08x", (unsigned long long)at, type, seq, len,
				 got, want);
	}
	out->type = d->buf[3];
	out->seq = rigi_get_u16le(d->buf + 4);
	out->len = len;
	memcpy(out->payload, d->buf + RIGI_FRAME_HEADER, len);
	d->frames++;
	drop(d, total, 0);
	return 1;
}

size_t rigi_frame_decoder_partial(const struct rigi_frame_decoder *d)
{
	return d->have > 0 && d->buf[0] == RIGI_FRAME_SYNC0 ? d->have : 0;
}

int rigi_frame_decoder_expire(struct rigi_frame_decoder *d)
{
	size_t n = rigi_frame_decoder_partial(d);
	uint64_t at = d->offset;
	int ret;

	if (n == 0)
		return 0;
	if (n >= RIGI_FRAME_HEADER)
		ret = rigi_fail(RIG_ERR_TIMEOUT, "truncated frame at stream byte %llu (type "
				"0x%02x, seq %u): %zu of %u bytes arrived",
				(unsigned long long)at, d->buf[3], rigi_get_u16le(d->buf + 4), n,
				RIGI_FRAME_HEADER + rigi_get_u16le(d->buf + 6) + RIGI_FRAME_CRC);
	else
		ret = rigi_fail(RIG_ERR_TIMEOUT, "truncated frame at stream byte %llu: %zu of "
				"the %u header bytes arrived", (unsigned long long)at, n,
				RIGI_FRAME_HEADER);
	drop(d, d->have, 1);
	return ret;
}

static int check_data_len(const struct cmd_info *c, uint8_t status, size_t data)
{
	if (status != 0) {
		if (data != 0)
			return rigi_fail(RIG_ERR_PROTOCOL, "%s answer with status 0x%02x carries "
					 "%zu data bytes; a non-OK answer has none", c->name,
					 status, data);
		return 0;
	}
	if (data < c->resp_min || data > c->resp_max) {
		if (c->resp_min == c->resp_max)
			return rigi_fail(RIG_ERR_PROTOCOL, "%s answer OK carries %zu data bytes, "
					 "expected %u", c->name, data, c->resp_min);
		return rigi_fail(RIG_ERR_PROTOCOL, "%s answer OK carries %zu data bytes, "
				 "expected %u..%u", c->name, data, c->resp_min, c->resp_max);
	}
	return 0;
}

int rigi_dut_check_response(uint8_t cmd, uint16_t seq, const struct rigi_frame *resp,
			    uint8_t *status, int *nak)
{
	const struct cmd_info *c = find_cmd(cmd);

	if (!c)
		return rigi_fail(RIG_ERR_INTERNAL, "response check for unknown command 0x%02x", cmd);
	if (resp->seq != seq)
		return RIGI_FRAME_STALE;
	*nak = resp->type == RIGI_FRAME_NAK;
	if (*nak) {
		if (resp->len != 1 || resp->payload[0] == 0)
			return rigi_fail(RIG_ERR_PROTOCOL, "NAK to %s (seq %u) with a %u-byte payload "
					 "and status 0x%02x; a NAK carries one non-OK status "
					 "byte", c->name, seq, resp->len,
					 resp->len ? resp->payload[0] : 0);
		*status = resp->payload[0];
		/* §2: a NAK only ever reports a frame the pen could not take (or
		 * one typed as no request: UNKNOWN_COMMAND). */
		if (*status != RIG_DUT_BAD_CRC && *status != RIG_DUT_BAD_VERSION &&
		    *status != RIG_DUT_BAD_LENGTH && *status != RIG_DUT_UNKNOWN_COMMAND)
			return rigi_fail(RIG_ERR_PROTOCOL, "NAK to %s (seq %u): status byte at "
					 "payload offset 0 is 0x%02x; a NAK carries BAD_CRC (0x01), "
					 "BAD_VERSION (0x02), UNKNOWN_COMMAND (0x03) or BAD_LENGTH "
					 "(0x04) only: the pen's firmware breaks docs/protocol.md §2",
					 c->name, seq, *status);
		return 0;
	}
	if (resp->type != (uint8_t)(cmd | RIGI_FRAME_RESPONSE))
		return rigi_fail(RIG_ERR_PROTOCOL, "answer to %s (seq %u) has type 0x%02x, expected "
				 "0x%02x or NAK 0xFF", c->name, seq, resp->type,
				 cmd | RIGI_FRAME_RESPONSE);
	if (resp->len < 1)
		return rigi_fail(RIG_ERR_PROTOCOL, "answer to %s (seq %u) has no status byte",
				 c->name, seq);
	*status = resp->payload[0];
	return check_data_len(c, *status, resp->len - 1u);
}
