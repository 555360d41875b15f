/* The pen client (rig/dut.h): opens a transport by address scheme, runs
 * request/response exchanges with sequence numbers, one identical resend
 * after a failed attempt, stale-reply skipping and device-status mapping,
 * and implements the commands that are not table transfers (tablexfer.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/clock.h>
#include <rig/dut.h>
#include <rig/rig.h>

#include "core/core.h"
#include "dut/client.h"
#include "dut/usb.h"

#define DOMAIN "dut"

/* STALL | OVERCURRENT | OVERTEMP | NO_TABLE | CARTRIDGE | FLASH | HOST_LOST */
#define RIGI_DUT_FAULTS_DEFINED 0x007Fu

/* Transports by scheme (usb.c adds {RIG_URI_USB, &rigi_transport_usb}). */
static const struct {
	enum rig_uri_scheme scheme;
	const struct rigi_transport_ops *ops;
} transports[] = {
	{RIG_URI_UNIX, &rigi_transport_socket},
	{RIG_URI_TCP, &rigi_transport_socket},
	{RIG_URI_USB, &rigi_transport_usb},
};

static const char auth_tag[] = "NRIG-AUTH-1";

/* "pen at URI (SERIAL)", the serial once known: how details name a pen. */
static const char *pen_name(const struct rig_dut *dut, char *buf, size_t cap)
{
	if (dut->have_identity)
		snprintf(buf, cap, "pen at %s (%s)", dut->uri.text, dut->id.serial);
	else
		snprintf(buf, cap, "pen at %s", dut->uri.text);
	return buf;
}

int rigi_dut_fail(const struct rig_dut *dut, int err, const char *what, const char *fmt, ...)
{
	char msg[768], name[RIG_URI_TEXT_MAX * 2 + 32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rigi_fail(err, "%s: %s: %s", pen_name(dut, name, sizeof(name)), what, msg);
}

/* Prefix the detail a lower layer left with the pen and the request. */
static int link_fail(const struct rig_dut *dut, int err, const struct rigi_dut_request *req,
		     const char *what)
{
	char lower[512], name[RIG_URI_TEXT_MAX * 2 + 32];

	snprintf(lower, sizeof(lower), "%s", rig_last_error());
	if (err == RIG_ERR_DISCONNECTED)
		return rigi_fail(err, "%s disconnected during %s (%s): re-seat the cable%s%s",
				 pen_name(dut, name, sizeof(name)), what, lower,
				 req->if_cut ? "; " : "", req->if_cut ? req->if_cut : "");
	return rigi_dut_fail(dut, err, what, "%s", lower);
}

static int unsupported_scheme(const struct rig_uri *uri)
{
	char known[64] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]) && n < sizeof(known); i++)
		n += (size_t)snprintf(known + n, sizeof(known) - n, "%s%s://", i ? ", " : "",
				      rig_uri_scheme_name(transports[i].scheme));
	return rigi_fail(RIG_ERR_UNSUPPORTED, "pen at %s: this build has no DUT transport for "
			 "%s://; use one of %s", uri->text, rig_uri_scheme_name(uri->scheme),
			 known);
}

int rig_dut_open(const char *uri, struct rig_dut **out)
{
	struct rig_dut *dut;
	int ret;

	*out = NULL;
	dut = calloc(1, sizeof(*dut));
	if (!dut)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory opening pen %s", uri ? uri : "");
	ret = rig_uri_parse(uri, &dut->uri);
	if (ret < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(transports) / sizeof(transports[0]); i++)
		if (transports[i].scheme == dut->uri.scheme)
			dut->ops = transports[i].ops;
	if (!dut->ops) {
		ret = unsupported_scheme(&dut->uri);
		goto fail;
	}
	ret = dut->ops->open(&dut->uri, RIGI_TRANSPORT_OPEN_TIMEOUT_MS, &dut->tp);
	if (ret < 0) {
		rigi_error_context("pen at %s", dut->uri.text);
		goto fail;
	}
	rigi_frame_decoder_init(&dut->dec);
	dut->timeout_ms = dut->uri.timeout_ms > 0 ? dut->uri.timeout_ms : RIGI_DUT_TIMEOUT_MS;
	dut->commit_timeout_ms = RIGI_DUT_COMMIT_FACTOR * dut->timeout_ms;
	dut->write_chunk = RIGI_DUT_CHUNK_MAX;
	dut->read_chunk = RIGI_DUT_READ_MAX;
	dut->last_status = -1;
	dut->pending_slot = -1;
	/* A random first seq: a new session's first request is never taken by
	 * the pen for a resend of the previous session's last one. */
	ret = rigi_random_bytes((uint8_t *)&dut->next_seq, sizeof(dut->next_seq));
	if (ret < 0) {
		dut->ops->close(dut->tp);
		rigi_error_context("pen at %s", dut->uri.text);
		goto fail;
	}
	RIGI_DEBUG(DOMAIN, "opened %s (%s transport), first seq %u", dut->uri.text, dut->ops->name,
		   dut->next_seq);
	*out = dut;
	return 0;
fail:
	free(dut);
	return ret;
}

void rig_dut_close(struct rig_dut *dut)
{
	if (!dut)
		return;
	dut->ops->close(dut->tp);
	RIGI_DEBUG(DOMAIN, "closed %s (%llu garbage bytes, %llu frames rejected, longest "
		   "silence %.0f ms)", dut->uri.text, (unsigned long long)dut->dec.garbage,
		   (unsigned long long)dut->dec.rejected, (double)dut->max_gap_ns * 1e-6);
	free(dut);
}

const char *rig_dut_uri(const struct rig_dut *dut)
{
	return dut->uri.text;
}

int rig_dut_last_status(const struct rig_dut *dut)
{
	return dut->last_status;
}

/* Frames from the decoder until the answer to (cmd, seq) shows up: stale
 * replies are skipped, rejected frames remembered. Returns 0 with the
 * answer; a fatal error (link, protocol violation in the answer) with
 * *retry = 0; or, when the deadline passes, the most telling reason with
 * *retry = 1. */
static int await_answer(struct rig_dut *dut, const struct rigi_dut_request *req, uint16_t seq,
			int timeout_ms, struct rigi_frame *resp, uint8_t *status, int *nak,
			int *retry)
{
	int64_t deadline = rig_clock_ms() + timeout_ms;
	char rejected[512] = "";
	int rejected_err = 0;
	uint8_t buf[RIGI_TRANSPORT_READ_CAP];

	*retry = 0;
	for (;;) {
		int64_t left;
		size_t got = 0;
		int ret = rigi_frame_decoder_next(&dut->dec, resp);
		if (ret < 0) {
			rejected_err = ret;
			snprintf(rejected, sizeof(rejected), "%s", rig_last_error());
			RIGI_DEBUG(DOMAIN, "%s: frame rejected: %s", dut->uri.text, rejected);
			continue;
		}
		if (ret == 1) {
			ret = rigi_dut_check_response(req->cmd, seq, resp, status, nak);
			if (ret != RIGI_FRAME_STALE)
				return ret;
			RIGI_DEBUG(DOMAIN, "%s: skipping stale reply (type 0x%02x, seq %u) while "
				   "waiting for seq %u", dut->uri.text, resp->type, resp->seq, seq);
			continue;
		}
		left = deadline - rig_clock_ms();
		if (left <= 0)
			break;
		if (!req->uninterruptible && !dut->hold_interrupts && rig_interrupted())
			return rigi_fail(RIG_ERR_INTERRUPTED, "%s", rig_interrupt_cause());
		ret = dut->ops->read(dut->tp, buf, sizeof(buf), (int)left, &got);
		if (ret < 0)
			return ret;
		rigi_trace_bytes(DOMAIN, "rx", buf, got);
		if (rigi_frame_decoder_push(&dut->dec, buf, got) != got)
			return rigi_fail(RIG_ERR_INTERNAL, "frame decoder overflow");
	}
	*retry = 1;
	if (rigi_frame_decoder_expire(&dut->dec) == 0 && !rejected_err)
		return rigi_fail(RIG_ERR_TIMEOUT, "no answer in %d ms; check the pen is powered "
				 "and connected", timeout_ms);
	if (rejected_err)
		return rigi_fail(rejected_err, "no valid answer in %d ms: %s", timeout_ms, rejected);
	return RIG_ERR_TIMEOUT;
}

/* An answer arrived with a non-OK status or as a NAK. */
static int status_fail(struct rig_dut *dut, const char *what, uint8_t status, int nak)
{
	return rigi_dut_fail(dut, rigi_dut_status_err(status), what,
			     "the pen answered %s%s (%s); %s", nak ? "NAK " : "",
			     rig_dut_status_name(status), rigi_dut_status_meaning(status),
			     rigi_dut_status_hint(status));
}

/* The pen's host-loss watchdog counts real time between valid frames
 * (docs/protocol.md): a silence of a good part of it is worth a line, the
 * longest one is told at close. */
static void note_gap(struct rig_dut *dut, const char *what)
{
	int64_t now = rig_clock_ns(), gap = dut->last_tx_ns ? now - dut->last_tx_ns : 0;
	if (gap > dut->max_gap_ns)
		dut->max_gap_ns = gap;
	if (gap >= RIGI_DUT_GAP_WARN_NS)
		RIGI_INFO(DOMAIN, "pen at %s: %.0f ms without a frame between %s and %s",
			  dut->uri.text, (double)gap * 1e-6, dut->last_what, what);
	dut->last_tx_ns = now;
	snprintf(dut->last_what, sizeof(dut->last_what), "%s", what);
}

/* Send the frame and await its answer; at most two attempts. */
static int exchange(struct rig_dut *dut, const struct rigi_dut_request *req, const char *what,
		    const uint8_t *frame, size_t flen, uint16_t seq, struct rigi_frame *resp,
		    uint8_t *status, int *nak)
{
	int timeout = req->timeout_ms > 0 ? req->timeout_ms : dut->timeout_ms;
	int retry = 0;
	int ret = 0;

	for (int attempt = 1; attempt <= 2; attempt++) {
		if (!req->uninterruptible && !dut->hold_interrupts && rig_interrupted())
			return rigi_dut_fail(dut, RIG_ERR_INTERRUPTED, what, "not sent: %s",
					     rig_interrupt_cause());
		if (req->secret)
			RIGI_TRACE(DOMAIN, "tx %s seq %u (%zu-byte payload not logged)", what, seq,
				   req->len);
		else
			rigi_trace_bytes(DOMAIN, "tx", frame, flen);
		ret = dut->ops->write(dut->tp, frame, flen, timeout);
		if (ret < 0)
			return link_fail(dut, ret, req, what);
		note_gap(dut, what);
		ret = await_answer(dut, req, seq, timeout, resp, status, nak, &retry);
		if (ret == 0 || !retry)
			break;
		if (attempt == 1)
			RIGI_WARN(DOMAIN, "pen at %s: %s (seq %u): %s; resending the same frame",
				  dut->uri.text, what, seq, rig_last_error());
	}
	return ret < 0 ? link_fail(dut, ret, req, what) : 0;
}

int rigi_dut_transact(struct rig_dut *dut, const struct rigi_dut_request *req, uint8_t *data,
		      size_t cap, size_t *data_len)
{
	const char *what = req->what ? req->what : rigi_dut_cmd_name(req->cmd);
	uint8_t frame[RIGI_FRAME_MAX];
	struct rigi_frame resp;
	uint16_t seq = dut->next_seq++;
	uint8_t status = 0;
	int nak = 0;
	size_t flen;
	int ret;

	ret = rigi_dut_check_request(req->cmd, req->len);
	if (ret == 0)
		ret = rigi_frame_encode(req->cmd, seq, req->payload, req->len, frame,
					sizeof(frame), &flen);
	if (ret < 0)
		return rigi_dut_fail(dut, RIG_ERR_INTERNAL, what, "%s", rig_last_error());
	ret = exchange(dut, req, what, frame, flen, seq, &resp, &status, &nak);
	rigi_wipe(frame, sizeof(frame)); /* may hold the MAC */
	if (ret < 0)
		return ret;
	dut->last_status = status;
	RIGI_DEBUG(DOMAIN, "%s: %s seq %u -> %s%s", dut->uri.text, what, seq, nak ? "NAK " : "",
		   rig_dut_status_name(status));
	if (nak || status != RIG_DUT_OK)
		return status_fail(dut, what, status, nak);
	if ((size_t)resp.len - 1u > cap)
		return rigi_dut_fail(dut, RIG_ERR_INTERNAL, what, "answer of %u data bytes for a "
				     "%zu-byte buffer", resp.len - 1u, cap);
	if (resp.len > 1)
		memcpy(data, resp.payload + 1, resp.len - 1u);
	if (data_len)
		*data_len = resp.len - 1u;
	return 0;
}

/* Copy a NUL-padded ASCII field of IDENTIFY into a C string. */
static int ascii_field(const struct rig_dut *dut, const uint8_t *p, size_t off, const char *name,
		       char *out)
{
	size_t n = 0;

	while (n < 16 && p[off + n] >= 0x20 && p[off + n] <= 0x7E)
		n++;
	for (size_t i = n; i < 16; i++)
		if (p[off + i] != 0)
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY",
					     "field %s at offset %zu is not NUL-padded ASCII "
					     "(byte %zu is 0x%02x)", name, off, i, p[off + i]);
	if (n == 0)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "field %s at offset %zu "
				     "is empty", name, off);
	memcpy(out, p + off, n);
	out[n] = '\0';
	return 0;
}

static int check_pair(const struct rig_dut *dut, const char *name, size_t off, uint16_t lo,
		      uint16_t hi)
{
	if (lo > hi)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "%s at offset %zu: minimum "
				     "%u above maximum %u", name, off, lo, hi);
	return 0;
}

/* A reserved IDENTIFY range must be zero (§3). */
static int check_reserved(const struct rig_dut *dut, const uint8_t *p, size_t off, size_t n)
{
	for (size_t i = off; i < off + n; i++)
		if (p[i] != 0)
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "reserved byte at "
					     "offset %zu is 0x%02x, expected 0: the pen's firmware "
					     "breaks docs/protocol.md §3", i, p[i]);
	return 0;
}

/* The speed levels in use rise strictly; the unused entries are 0. */
static int check_speed_levels(const struct rig_dut *dut, const struct rig_dut_identity *id)
{
	for (unsigned i = 0; i < 8; i++) {
		unsigned off = 66 + 2 * i, v = id->speed_levels[i];
		if (i < id->n_speed_levels && v == 0)
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "speed_levels[%u] "
					     "at offset %u is 0 but n_speed_levels is %u", i, off,
					     id->n_speed_levels);
		if (i < id->n_speed_levels && i > 0 && v <= id->speed_levels[i - 1])
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "speed_levels[%u] "
					     "at offset %u is %u, not above speed_levels[%u] = %u: "
					     "levels must be strictly increasing", i, off, v, i - 1,
					     id->speed_levels[i - 1]);
		if (i >= id->n_speed_levels && v != 0)
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "speed_levels[%u] "
					     "at offset %u is %u but only %u levels are in use: "
					     "unused entries must be 0", i, off, v, id->n_speed_levels);
	}
	return 0;
}

/* The fields the rig builds tables and setpoints from must be usable. */
static int check_identity_limits(const struct rig_dut *dut, const uint8_t *p,
				 const struct rig_dut_identity *id)
{
	int ret;

	if (id->table_format != 1)
		return rigi_dut_fail(dut, RIG_ERR_UNSUPPORTED, "IDENTIFY", "table_format at "
				     "offset 38 is %u; this rig writes table format 1 only: "
				     "update the rig or the pen's firmware", id->table_format);
	if (id->table_max_knots < 2 || id->table_max_knots > 32)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "table_max_knots at "
				     "offset 42 is %u, expected 2..32 (§6)", id->table_max_knots);
	if (id->depth_step_um == 0)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "depth_step_um at "
				     "offset 56 is 0; the dial step must be at least 1 um");
	ret = check_reserved(dut, p, 43, 1);
	if (ret == 0)
		ret = check_reserved(dut, p, 65, 1);
	if (ret == 0)
		ret = check_reserved(dut, p, 82, 12);
	if (ret == 0)
		ret = check_speed_levels(dut, id);
	return ret;
}

static int decode_identity(const struct rig_dut *dut, const uint8_t *p,
			   struct rig_dut_identity *id)
{
	int ret;

	memset(id, 0, sizeof(*id));
	ret = ascii_field(dut, p, 0, "model", id->model);
	if (ret == 0)
		ret = ascii_field(dut, p, 16, "serial", id->serial);
	if (ret < 0)
		return ret;
	id->hw_version = rigi_get_u16le(p + 32);
	id->fw_version = rigi_get_u32le(p + 34);
	id->table_format = rigi_get_u16le(p + 38);
	id->table_max_bytes = rigi_get_u16le(p + 40);
	id->table_max_knots = p[42];
	id->code_min = rigi_get_u16le(p + 44);
	id->code_max = rigi_get_u16le(p + 46);
	id->duty_min = rigi_get_u16le(p + 48);
	id->duty_max = rigi_get_u16le(p + 50);
	id->depth_min_um = rigi_get_u16le(p + 52);
	id->depth_max_um = rigi_get_u16le(p + 54);
	id->depth_step_um = rigi_get_u16le(p + 56);
	id->max_protrusion_um = rigi_get_u16le(p + 58);
	id->rate_min_spm = rigi_get_u16le(p + 60);
	id->rate_max_spm = rigi_get_u16le(p + 62);
	id->n_speed_levels = p[64];
	for (int i = 0; i < 8; i++)
		id->speed_levels[i] = rigi_get_u16le(p + 66 + 2 * i);
	if (id->n_speed_levels < 1 || id->n_speed_levels > 8)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "IDENTIFY", "n_speed_levels at offset "
				     "64 is %u, expected 1..8", id->n_speed_levels);
	ret = check_identity_limits(dut, p, id);
	if (ret == 0)
		ret = check_pair(dut, "code range", 44, id->code_min, id->code_max);
	if (ret == 0)
		ret = check_pair(dut, "duty range", 48, id->duty_min, id->duty_max);
	if (ret == 0)
		ret = check_pair(dut, "depth range", 52, id->depth_min_um, id->depth_max_um);
	if (ret == 0)
		ret = check_pair(dut, "rate range", 60, id->rate_min_spm, id->rate_max_spm);
	return ret;
}

int rig_dut_identify(struct rig_dut *dut, struct rig_dut_identity *out)
{
	struct rigi_dut_request req = {.cmd = RIGI_DUT_IDENTIFY};
	uint8_t data[RIGI_DUT_IDENTITY_BYTES];
	struct rig_dut_identity id;
	int ret;

	ret = rigi_dut_transact(dut, &req, data, sizeof(data), NULL);
	if (ret == 0)
		ret = decode_identity(dut, data, &id);
	if (ret < 0)
		return ret;
	if (dut->have_identity && strcmp(dut->id.serial, id.serial) != 0)
		RIGI_WARN(DOMAIN, "pen at %s: serial changed from %s to %s (pen swapped?)",
			  dut->uri.text, dut->id.serial, id.serial);
	dut->id = id;
	memcpy(dut->serial16, data + 16, sizeof(dut->serial16));
	dut->have_identity = 1;
	if (out)
		*out = id;
	return 0;
}

int rigi_dut_ensure_identity(struct rig_dut *dut)
{
	return dut->have_identity ? 0 : rig_dut_identify(dut, NULL);
}

/* A STATUS byte that must be one of a few values. */
static int status_byte(const struct rig_dut *dut, const uint8_t *p, size_t off, const char *name,
		       unsigned max, int allow_ff)
{
	if (p[off] > max && !(allow_ff && p[off] == 0xFF))
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "STATUS", "%s at offset %zu is 0x%02x, "
				     "expected 0..%u%s", name, off, p[off], max,
				     allow_ff ? " or 0xFF" : "");
	return 0;
}

/* STATUS bytes 7 and 32..35 are reserved (0), protocol.md §3. */
static int status_reserved(const struct rig_dut *dut, const uint8_t *p)
{
	static const size_t reserved[] = {7, 32, 33, 34, 35};
	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
		if (p[reserved[i]])
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "STATUS", "reserved byte at "
					     "offset %zu is 0x%02x, not 0 (protocol.md §3): update "
					     "the rig or the pen's firmware", reserved[i],
					     p[reserved[i]]);
	return 0;
}

int rig_dut_status(struct rig_dut *dut, struct rig_dut_status *out)
{
	/* Read-only, and how a safe state is confirmed after Ctrl-C: always sent. */
	struct rigi_dut_request req = {.cmd = RIGI_DUT_STATUS, .uninterruptible = 1};
	uint8_t p[RIGI_DUT_STATUS_BYTES];
	int ret;

	ret = rigi_dut_transact(dut, &req, p, sizeof(p), NULL);
	if (ret == 0)
		ret = status_byte(dut, p, 0, "mode", 1, 0);
	if (ret == 0)
		ret = status_byte(dut, p, 1, "motor", 1, 0);
	if (ret == 0)
		ret = status_byte(dut, p, 4, "active_slot", 1, 1);
	if (ret == 0)
		ret = status_byte(dut, p, 5, "write_state", 1, 0);
	if (ret == 0)
		ret = status_byte(dut, p, 6, "authenticated", 1, 0);
	if (ret == 0)
		ret = status_reserved(dut, p);
	if (ret == 0 && (rigi_get_u16le(p + 2) & ~(unsigned)RIGI_DUT_FAULTS_DEFINED))
		ret = rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "STATUS", "fault_flags at offset 2 is "
				    "0x%04x: bits 0x%04x are not defined (§3 defines bits 0..6): "
				    "update the rig or the pen's firmware", rigi_get_u16le(p + 2),
				    rigi_get_u16le(p + 2) & ~(unsigned)RIGI_DUT_FAULTS_DEFINED);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->mode = p[0];
	out->motor_on = p[1];
	out->fault_flags = rigi_get_u16le(p + 2);
	out->active_slot = p[4];
	out->write_state = p[5];
	out->authenticated = p[6];
	out->active_table_seq = rigi_get_u32le(p + 8);
	out->active_table_crc = rigi_get_u32le(p + 12);
	out->stroke_count = rigi_get_u32le(p + 16);
	out->motor_current_ma = rigi_get_u16le(p + 20);
	out->temperature_dc = (int16_t)rigi_get_u16le(p + 22);
	out->code = rigi_get_u16le(p + 24);
	out->duty = rigi_get_u16le(p + 26);
	out->depth_um = rigi_get_u16le(p + 28);
	out->rate_spm = rigi_get_u16le(p + 30);
	return 0;
}

void rig_dut_hold_interrupts(struct rig_dut *dut, int hold)
{
	dut->hold_interrupts = hold;
}

int rig_dut_keepalive(struct rig_dut *dut, int max_idle_ms)
{
	struct rig_dut_status st;
	int last_status = dut->last_status;
	int ret;

	if (rig_clock_ns() - dut->last_tx_ns < (int64_t)max_idle_ms * 1000000)
		return 0;
	ret = rig_dut_status(dut, &st);
	dut->last_status = last_status;
	return ret;
}

int rig_dut_authenticate(struct rig_dut *dut, const uint8_t key[32])
{
	struct rigi_dut_request challenge = {.cmd = RIGI_DUT_AUTH_CHALLENGE};
	uint8_t nonce[RIGI_DUT_NONCE_BYTES];
	uint8_t mac[RIGI_DUT_MAC_BYTES];
	struct rigi_dut_request response = {.cmd = RIGI_DUT_AUTH_RESPONSE, .payload = mac,
					    .len = sizeof(mac), .secret = 1};
	const uint8_t *parts[3] = {(const uint8_t *)auth_tag, nonce, dut->serial16};
	const size_t lens[3] = {sizeof(auth_tag) - 1, sizeof(nonce), sizeof(dut->serial16)};
	int ret;

	ret = rigi_dut_ensure_identity(dut);
	if (ret == 0)
		ret = rigi_dut_transact(dut, &challenge, nonce, sizeof(nonce), NULL);
	if (ret == 0)
		ret = rigi_hmac_sha256(key, parts, lens, 3, mac);
	if (ret == 0)
		ret = rigi_dut_transact(dut, &response, NULL, 0, NULL);
	rigi_wipe(mac, sizeof(mac));
	if (ret == 0)
		RIGI_INFO(DOMAIN, "pen at %s (%s): authenticated", dut->uri.text, dut->id.serial);
	return ret;
}

int rig_dut_set_user(struct rig_dut *dut, uint16_t depth_um, uint16_t rate_spm,
		     uint16_t *code, uint16_t *duty)
{
	uint8_t p[4], data[4];
	struct rigi_dut_request req = {.cmd = RIGI_DUT_SET_USER, .payload = p, .len = sizeof(p)};
	int ret;

	rigi_put_u16le(p, depth_um);
	rigi_put_u16le(p + 2, rate_spm);
	ret = rigi_dut_transact(dut, &req, data, sizeof(data), NULL);
	if (ret < 0)
		return ret;
	if (code)
		*code = rigi_get_u16le(data);
	if (duty)
		*duty = rigi_get_u16le(data + 2);
	return 0;
}

int rig_dut_set_service(struct rig_dut *dut, uint16_t code, uint16_t duty)
{
	uint8_t p[4];
	struct rigi_dut_request req = {.cmd = RIGI_DUT_SET_SERVICE, .payload = p, .len = sizeof(p)};

	rigi_put_u16le(p, code);
	rigi_put_u16le(p + 2, duty);
	return rigi_dut_transact(dut, &req, NULL, 0, NULL);
}

int rig_dut_motor(struct rig_dut *dut, int on)
{
	uint8_t p[1] = {on ? 1 : 0};
	struct rigi_dut_request req = {.cmd = RIGI_DUT_MOTOR, .payload = p, .len = sizeof(p),
				       .what = on ? "MOTOR on" : "MOTOR off",
				       .uninterruptible = !on};

	return rigi_dut_transact(dut, &req, NULL, 0, NULL);
}

int rig_dut_safe(struct rig_dut *dut)
{
	struct rigi_dut_request req = {.cmd = RIGI_DUT_SAFE, .uninterruptible = 1};

	return rigi_dut_transact(dut, &req, NULL, 0, NULL);
}
