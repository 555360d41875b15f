/* Calibration table transfers with a pen (docs/protocol.md §6): reading a
 * slot in TABLE_READ chunks, and the checked write sequence (pre-checks,
 * TABLE_BEGIN, TABLE_CHUNKs, TABLE_COMMIT, read-back compare). */
#include <stdio.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/table.h>

#include "core/core.h"
#include "dut/client.h"

#define DOMAIN "dut"

static char slot_letter(unsigned slot)
{
	return slot == RIG_DUT_SLOT_A ? 'A' : slot == RIG_DUT_SLOT_B ? 'B' : '?';
}

/* The answer's slot byte (§6): the slot asked for; for the active slot 0 or
 * 1 with a blob, or 0xFF with total 0 when no slot is valid. */
static int check_read_slot(const struct rig_dut *dut, const char *what, int slot,
			   unsigned rslot, size_t rtotal)
{
	if (slot != RIG_DUT_SLOT_ACTIVE && rslot != (unsigned)slot)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "slot at data offset 0 is "
				     "0x%02x, expected 0x%02x (the slot asked for)", rslot,
				     (unsigned)slot);
	if (slot == RIG_DUT_SLOT_ACTIVE && rslot == 0xFF && rtotal != 0)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "slot at data offset 0 is 0xFF "
				     "(no valid slot) but total at data offset 1 is %zu, "
				     "expected 0", rtotal);
	if (slot == RIG_DUT_SLOT_ACTIVE && rslot != 0xFF &&
	    (rslot > RIG_DUT_SLOT_B || rtotal == 0))
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "slot at data offset 0 is "
				     "0x%02x with total %zu; the active slot is 0 or 1 holding a "
				     "blob, or 0xFF with total 0", rslot, rtotal);
	return 0;
}

/* Check one TABLE_READ answer (slot, total, bytes) against the request and
 * the earlier answers of the same read. */
static int check_read_answer(const struct rig_dut *dut, const char *what, int slot,
			     size_t offset, size_t count, const uint8_t *data, size_t n,
			     long *total)
{
	unsigned rslot = data[0];
	size_t rtotal = rigi_get_u16le(data + 1);
	size_t bytes = n - 3;
	size_t want;
	int ret;

	if (*total >= 0 && (size_t)*total != rtotal)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "slot size changed from %ld to "
				     "%zu bytes during the read", *total, rtotal);
	*total = (long)rtotal;
	ret = check_read_slot(dut, what, slot, rslot, rtotal);
	if (ret < 0)
		return ret;
	if (offset > rtotal)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "answered OK for offset %zu "
				     "beyond the %zu-byte slot (expected BAD_ARGUMENT)", offset,
				     rtotal);
	/* §6: exactly min(count, total - offset) bytes. */
	want = rtotal - offset < count ? rtotal - offset : count;
	if (bytes != want)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "%zu bytes (answer of %zu data "
				     "bytes) for a count of %zu at offset %zu of a %zu-byte slot; "
				     "expected %zu", bytes, n, count, offset, rtotal, want);
	return 0;
}

/* Read a whole slot; the slot number the pen read goes to *@p rslot. */
static int read_slot(struct rig_dut *dut, int slot, uint8_t *buf, size_t cap, size_t *len,
		     unsigned *rslot)
{
	uint8_t p[5];
	uint8_t data[3 + RIGI_DUT_READ_MAX];
	struct rigi_dut_request req = {.cmd = RIGI_DUT_TABLE_READ, .payload = p, .len = sizeof(p)};
	char what[64];
	size_t offset = 0;
	long total = -1;

	if (slot != RIG_DUT_SLOT_A && slot != RIG_DUT_SLOT_B && slot != RIG_DUT_SLOT_ACTIVE)
		return rigi_fail(RIG_ERR_ARG, "table slot %d: use RIG_DUT_SLOT_A, _B or _ACTIVE",
				 slot);
	do {
		size_t left = total < 0 ? cap : (size_t)total - offset;
		size_t count = left < dut->read_chunk ? left : dut->read_chunk;
		size_t n = 0;
		int ret;

		p[0] = (uint8_t)slot;
		rigi_put_u16le(p + 1, (uint16_t)offset);
		rigi_put_u16le(p + 3, (uint16_t)count);
		snprintf(what, sizeof(what), "TABLE_READ slot %s offset %zu",
			 slot == RIG_DUT_SLOT_ACTIVE ? "active" : slot ? "B" : "A", offset);
		req.what = what;
		ret = rigi_dut_transact(dut, &req, data, sizeof(data), &n);
		if (ret == 0)
			ret = check_read_answer(dut, what, slot, offset, count, data, n, &total);
		if (ret < 0)
			return ret;
		if ((size_t)total > cap)
			return rigi_dut_fail(dut, RIG_ERR_RANGE, what, "the slot holds %ld bytes, "
					     "more than the %zu-byte buffer", total, cap);
		memcpy(buf + offset, data + 3, n - 3);
		offset += n - 3;
		*rslot = data[0];
	} while (offset < (size_t)total);
	*len = offset;
	return 0;
}

int rig_dut_table_read(struct rig_dut *dut, int slot, uint8_t *buf, size_t cap, size_t *len)
{
	unsigned rslot;
	return read_slot(dut, slot, buf, cap, len, &rslot);
}

int rig_dut_table_abort(struct rig_dut *dut)
{
	struct rigi_dut_request req = {.cmd = RIGI_DUT_TABLE_ABORT, .uninterruptible = 1};
	return rigi_dut_transact(dut, &req, NULL, 0, NULL);
}

/* What the pen will check at commit, checked here without the key. */
static int precheck(struct rig_dut *dut, const uint8_t *blob, size_t len,
		    struct rig_cal_table *t, struct rig_dut_status *st)
{
	int ret = rigi_dut_ensure_identity(dut);

	if (ret == 0)
		ret = rig_dut_status(dut, st);
	if (ret < 0)
		return ret;
	ret = rig_cal_table_decode(blob, len, NULL, t);
	if (ret == 0)
		ret = rig_cal_table_check(t, &dut->id, st);
	if (ret < 0)
		rigi_error_context("pen at %s (%s): table write refused before sending",
				   dut->uri.text, dut->id.serial);
	return ret;
}

static int begin(struct rig_dut *dut, const uint8_t *blob, size_t len, unsigned *slot)
{
	uint8_t p[6], data[1] = {0xFF};
	struct rigi_dut_request req = {.cmd = RIGI_DUT_TABLE_BEGIN, .payload = p, .len = sizeof(p),
				       .if_cut = "the pen keeps its previous table"};
	int ret;

	rigi_put_u16le(p, (uint16_t)len);
	rigi_put_u32le(p + 2, rigi_crc32(blob, len));
	ret = rigi_dut_transact(dut, &req, data, sizeof(data), NULL);
	*slot = data[0];
	return ret;
}

/* The A/B scheme keeps the previous table only if the write goes to the
 * slot that is not active. */
static int check_write_slot(const struct rig_dut *dut, const struct rig_dut_status *st,
			    unsigned slot)
{
	if (slot > RIG_DUT_SLOT_B)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "TABLE_BEGIN", "the pen chose slot "
				     "0x%02x for the write; slots are 0 (A) and 1 (B)", slot);
	if (slot == st->active_slot)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "TABLE_BEGIN", "the pen chose its "
				     "active slot %c for the write; a write must go to the "
				     "inactive slot", slot_letter(slot));
	return 0;
}

static int send_chunks(struct rig_dut *dut, const uint8_t *blob, size_t len)
{
	uint8_t p[2 + RIGI_DUT_CHUNK_MAX], data[2];
	struct rigi_dut_request req = {.cmd = RIGI_DUT_TABLE_CHUNK, .payload = p,
				       .if_cut = "the pen keeps its previous table"};
	size_t step = dut->write_chunk;
	size_t n_chunks = (len + step - 1) / step;
	char what[64];

	for (size_t i = 0, off = 0; off < len; i++, off += step) {
		size_t n = len - off < step ? len - off : step;
		int ret;

		rigi_put_u16le(p, (uint16_t)off);
		memcpy(p + 2, blob + off, n);
		req.len = 2 + n;
		snprintf(what, sizeof(what), "TABLE_CHUNK %zu/%zu", i + 1, n_chunks);
		req.what = what;
		ret = rigi_dut_transact(dut, &req, data, sizeof(data), NULL);
		if (ret < 0)
			return ret;
		if (rigi_get_u16le(data) != off + n)
			return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, what, "the pen counts %u bytes "
					     "received, the rig sent %zu", rigi_get_u16le(data),
					     off + n);
	}
	return 0;
}

static int commit(struct rig_dut *dut, const struct rig_cal_table *t, unsigned slot)
{
	uint8_t data[5];
	struct rigi_dut_request req = {.cmd = RIGI_DUT_TABLE_COMMIT,
				       .timeout_ms = dut->commit_timeout_ms,
				       .if_cut = "the pen keeps its previous table unless the "
						 "commit completed: read its status"};
	int ret = rigi_dut_transact(dut, &req, data, sizeof(data), NULL);

	if (ret < 0)
		return ret;
	if (data[0] != slot || rigi_get_u32le(data + 1) != t->table_seq)
		return rigi_dut_fail(dut, RIG_ERR_PROTOCOL, "TABLE_COMMIT", "the pen activated slot "
				     "0x%02x with table_seq %u; the rig wrote slot %c with "
				     "table_seq %u", data[0], rigi_get_u32le(data + 1),
				     slot_letter(slot), t->table_seq);
	return 0;
}

static int read_back(struct rig_dut *dut, const uint8_t *blob, size_t len, unsigned slot)
{
	uint8_t back[RIG_CAL_TABLE_MAX_BYTES];
	size_t n = 0;
	unsigned rslot = 0;
	int ret = read_slot(dut, RIG_DUT_SLOT_ACTIVE, back, sizeof(back), &n, &rslot);

	if (ret < 0)
		return ret;
	if (rslot != slot || n != len)
		return rigi_dut_fail(dut, RIG_ERR_DEVICE, "table read-back", "the active slot is "
				     "%c with %zu bytes; the rig committed %zu bytes to slot %c: "
				     "do not use this pen until it is rewritten and verified",
				     slot_letter(rslot), n, len, slot_letter(slot));
	for (size_t i = 0; i < len; i++)
		if (back[i] != blob[i])
			return rigi_dut_fail(dut, RIG_ERR_DEVICE, "table read-back", "active slot "
					     "%c differs from the bytes written at offset %zu (wrote "
					     "0x%02x, read 0x%02x): do not use this pen until it is "
					     "rewritten and verified", slot_letter(slot), i, blob[i],
					     back[i]);
	return 0;
}

/* After a failure past TABLE_BEGIN: abort the write while the link works,
 * keeping the original failure's detail. */
static void abort_after(struct rig_dut *dut, int err)
{
	char detail[1024];

	if (err == RIG_ERR_DISCONNECTED)
		return;
	snprintf(detail, sizeof(detail), "%s", rig_last_error());
	if (rig_dut_table_abort(dut) < 0)
		RIGI_WARN(DOMAIN, "pen at %s: aborting the table write failed too: %s",
			  dut->uri.text, rig_last_error());
	rigi_fail(err, "%s", detail);
}

int rig_dut_table_upload(struct rig_dut *dut, const uint8_t *blob, size_t len)
{
	struct rig_cal_table t;
	struct rig_dut_status st;
	unsigned slot = 0;
	int ret;

	dut->pending_slot = -1;
	ret = precheck(dut, blob, len, &t, &st);
	if (ret < 0)
		return ret;
	RIGI_INFO(DOMAIN, "pen at %s (%s): uploading table_seq %u (%zu bytes)", dut->uri.text,
		  dut->id.serial, t.table_seq, len);
	ret = begin(dut, blob, len, &slot);
	if (ret < 0)
		return ret;
	ret = check_write_slot(dut, &st, slot);
	if (ret == 0)
		ret = send_chunks(dut, blob, len);
	if (ret < 0) {
		abort_after(dut, ret);
		return ret;
	}
	dut->pending_slot = (int)slot;
	return 0;
}

int rig_dut_table_commit(struct rig_dut *dut, const uint8_t *blob, size_t len, int *activated)
{
	struct rig_cal_table t;
	int ret;
	unsigned slot;

	*activated = 0;
	if (dut->pending_slot < 0)
		return rigi_fail(RIG_ERR_STATE, "pen at %s: no table uploaded to commit",
				 dut->uri.text);
	slot = (unsigned)dut->pending_slot;
	dut->pending_slot = -1;
	ret = rig_cal_table_decode(blob, len, NULL, &t);
	if (ret == 0)
		ret = commit(dut, &t, slot);
	/* The pen answered OK: it activated a table (a mismatch in its answer
	 * is then its own, and no abort can undo it). */
	*activated = ret == 0 || (ret == RIG_ERR_PROTOCOL && rig_dut_last_status(dut) == 0);
	if (ret < 0) {
		if (!*activated)
			abort_after(dut, ret);
		return ret;
	}
	ret = read_back(dut, blob, len, slot);
	if (ret == 0)
		RIGI_INFO(DOMAIN, "pen at %s (%s): table_seq %u active in slot %c, read back and "
			  "verified", dut->uri.text, dut->id.serial, t.table_seq,
			  slot_letter(slot));
	return ret;
}

int rig_dut_table_write(struct rig_dut *dut, const uint8_t *blob, size_t len)
{
	int activated;
	int ret = rig_dut_table_upload(dut, blob, len);
	return ret < 0 ? ret : rig_dut_table_commit(dut, blob, len, &activated);
}
