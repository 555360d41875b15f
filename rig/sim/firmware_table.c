/* Firmware model of the simulated pen: calibration tables (docs/protocol.md
 * §6): blob parsing and the commit checks in the documented order, the A/B
 * slot write sequence on flash, boot verification, user-mode mapping, the
 * factory table, and the TABLE_* commands. */
#include <string.h>

#include "core/core.h"
#include "firmware.h"

#define BLOB_HEADER 40u
#define BLOB_RESERVED 36u /* u32, must be 0 (§6) */
#define BLOB_TRAILER 36u /* crc u32 + hmac[32] */
#define READ_MAX 1000u
#define SLOT_ACTIVE 0xFE

static const char TABLE_PREFIX[] = "NRIG-TABLE-1";
static const char KEYCHECK_PREFIX[] = "NRIG-FLASH-KEYCHECK-1";
static const uint8_t MAGIC[4] = {'N', 'R', 'C', 'T'};

static int table_hmac(const uint8_t key[32], const uint8_t *blob, size_t signed_len,
		      uint8_t mac[RIGI_HMAC_BYTES])
{
	const uint8_t *parts[2] = {(const uint8_t *)TABLE_PREFIX, blob};
	const size_t lens[2] = {sizeof(TABLE_PREFIX) - 1, signed_len};
	return rigi_hmac_sha256(key, parts, lens, 2, mac);
}

int sim_fw_keycheck(const struct sim_pen *pen, uint8_t out[SIM_FLASH_KEYCHECK_BYTES])
{
	const uint8_t *parts[2] = {(const uint8_t *)KEYCHECK_PREFIX, pen->serial_field};
	const size_t lens[2] = {sizeof(KEYCHECK_PREFIX) - 1, SIM_FLASH_FIELD};
	uint8_t mac[RIGI_HMAC_BYTES];
	int ret = rigi_hmac_sha256(pen->key, parts, lens, 2, mac);
	memcpy(out, mac, SIM_FLASH_KEYCHECK_BYTES);
	rigi_wipe(mac, sizeof(mac));
	return ret;
}

/* Check 2: layout (magic, format, counts, size, reserved bytes 0) and blob
 * CRC; fills @p t. */
static uint8_t parse_blob(const uint8_t *b, size_t len, struct sim_table *t)
{
	size_t body;

	memset(t, 0, sizeof(*t));
	if (len < BLOB_HEADER + BLOB_TRAILER || len > SIM_TABLE_MAX_BYTES ||
	    memcmp(b, MAGIC, 4) != 0 || rigi_get_u16le(b + 4) != SIM_TABLE_FORMAT)
		return SIM_ST_TABLE_FORMAT;
	t->n_depth = b[6];
	t->n_rate = b[7];
	if (t->n_depth < 2 || t->n_depth > SIM_FW_KNOTS_MAX || t->n_rate < 2 ||
	    t->n_rate > SIM_FW_KNOTS_MAX)
		return SIM_ST_TABLE_FORMAT;
	body = BLOB_HEADER + 4u * (t->n_depth + t->n_rate);
	if (len != body + BLOB_TRAILER || rigi_get_u32le(b + BLOB_RESERVED) != 0)
		return SIM_ST_TABLE_FORMAT;
	t->crc = rigi_get_u32le(b + body);
	if (t->crc != rigi_crc32(b, body))
		return SIM_ST_TABLE_CRC;
	t->seq = rigi_get_u32le(b + 24);
	for (size_t i = 0; i < t->n_depth; i++) {
		t->depth_sp[i] = rigi_get_u16le(b + BLOB_HEADER + 4 * i);
		t->depth_code[i] = rigi_get_u16le(b + BLOB_HEADER + 4 * i + 2);
	}
	for (size_t i = 0; i < t->n_rate; i++) {
		const uint8_t *k = b + BLOB_HEADER + 4u * t->n_depth + 4 * i;
		t->rate_sp[i] = rigi_get_u16le(k);
		t->rate_duty[i] = rigi_get_u16le(k + 2);
	}
	t->size = (uint16_t)len;
	memcpy(t->blob, b, len);
	return SIM_ST_OK;
}

/* Check 3: the HMAC, compared in constant time. */
static uint8_t verify_signature(const struct sim_pen *pen, const struct sim_table *t)
{
	uint8_t mac[RIGI_HMAC_BYTES];
	size_t signed_len = (size_t)t->size - RIGI_HMAC_BYTES;
	int ok = table_hmac(pen->key, t->blob, signed_len, mac) == 0 &&
		 rigi_ct_equal(mac, t->blob + signed_len, RIGI_HMAC_BYTES);
	return ok ? SIM_ST_OK : SIM_ST_TABLE_SIGNATURE;
}

static int increasing(const uint16_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i] <= v[i - 1])
			return 0;
	return 1;
}

/* Checks 4 to 6 on a parsed, authentic blob. */
static uint8_t check_content(const struct sim_pen *pen, const struct sim_table *t)
{
	if (memcmp(t->blob + 8, pen->serial_field, SIM_FLASH_FIELD) != 0)
		return SIM_ST_TABLE_SERIAL;
	if (pen->fw.active >= 0 && t->seq <= pen->fw.table.seq)
		return SIM_ST_TABLE_STALE;
	if (!increasing(t->depth_sp, t->n_depth) || !increasing(t->depth_code, t->n_depth) ||
	    !increasing(t->rate_sp, t->n_rate) || !increasing(t->rate_duty, t->n_rate))
		return SIM_ST_TABLE_NOT_MONOTONE;
	/* Strictly increasing: the extreme knots bound every value. */
	if (!sim_fw_in_range(t->depth_code[0], SIM_CODE_MIN, SIM_CODE_MAX) ||
	    !sim_fw_in_range(t->depth_code[t->n_depth - 1], SIM_CODE_MIN, SIM_CODE_MAX) ||
	    !sim_fw_in_range(t->rate_duty[0], SIM_DUTY_MIN, SIM_DUTY_MAX) ||
	    !sim_fw_in_range(t->rate_duty[t->n_rate - 1], SIM_DUTY_MIN, SIM_DUTY_MAX) ||
	    t->depth_sp[0] > SIM_DEPTH_MIN_UM || t->depth_sp[t->n_depth - 1] < SIM_DEPTH_MAX_UM ||
	    t->rate_sp[0] > SIM_RATE_MIN_SPM || t->rate_sp[t->n_rate - 1] < SIM_RATE_MAX_SPM)
		return SIM_ST_TABLE_BOUNDS;
	return SIM_ST_OK;
}

/* A slot as found at power-up: committed, well formed, CRC and HMAC good. */
static int load_slot(struct sim_pen *pen, int slot, struct sim_table *t)
{
	struct sim_flash_slot s;
	if (sim_flash_read_slot(pen->flash, slot, &s) < 0 || !s.committed)
		return 0;
	return parse_blob(s.data, s.length, t) == SIM_ST_OK && t->crc == s.blob_crc &&
	       verify_signature(pen, t) == SIM_ST_OK;
}

void sim_fw_boot_tables(struct sim_pen *pen)
{
	struct sim_table cand[2];
	int valid[2], marked, pick = -1;

	for (int s = 0; s < 2; s++)
		valid[s] = load_slot(pen, s, &cand[s]);
	marked = sim_flash_marked_slot(pen->flash);
	if (marked >= 0 && valid[marked])
		pick = marked;
	else if (valid[0] || valid[1])
		pick = valid[0] ? 0 : 1;
	pen->fw.active = pick;
	if (pick >= 0) {
		pen->fw.table = cand[pick];
		pen->fw.faults &= (uint16_t)~SIM_FAULT_NO_TABLE;
	} else {
		pen->fw.faults |= SIM_FAULT_NO_TABLE;
	}
	RIGI_DEBUG("sim", "pen %s: boot: slot A %s, slot B %s, marker %d, running %s",
		   pen->serial, valid[0] ? "valid" : "invalid", valid[1] ? "valid" : "invalid",
		   marked, pick < 0 ? "no table" : pick ? "B" : "A");
}

/* Piecewise-linear interpolation, rounded to nearest (§6). */
static int interpolate(const uint16_t *sp, const uint16_t *v, size_t n, uint16_t s,
		       uint16_t *out)
{
	if (s < sp[0] || s > sp[n - 1])
		return -1;
	for (size_t i = 0; i + 1 < n; i++) {
		if (s > sp[i + 1])
			continue;
		int64_t num = ((int64_t)v[i + 1] - v[i]) * (s - sp[i]);
		int64_t den = (int64_t)sp[i + 1] - sp[i];
		*out = (uint16_t)(v[i] + (num + den / 2) / den);
		return 0;
	}
	return -1;
}

uint8_t sim_fw_map_user(const struct sim_pen *pen, uint16_t depth_um, uint16_t rate_spm,
			uint16_t *code, uint16_t *duty)
{
	const struct sim_table *t = &pen->fw.table;

	if (pen->fw.active < 0)
		return SIM_ST_FAULT;
	if (!sim_fw_in_range(depth_um, SIM_DEPTH_MIN_UM, SIM_DEPTH_MAX_UM) ||
	    !sim_fw_in_range(rate_spm, SIM_RATE_MIN_SPM, SIM_RATE_MAX_SPM))
		return SIM_ST_OUT_OF_RANGE;
	if (interpolate(t->depth_sp, t->depth_code, t->n_depth, depth_um, code) < 0 ||
	    interpolate(t->rate_sp, t->rate_duty, t->n_rate, rate_spm, duty) < 0)
		return SIM_ST_OUT_OF_RANGE;
	return SIM_ST_OK;
}

int sim_fw_factory_table(const struct sim_pen *pen, uint32_t seq, uint8_t *blob, size_t *len,
			 uint32_t *crc)
{
	static const uint16_t speeds[] = {3000, 4200, 5400, 6600, 7800, 9000};
	const size_t n_depth = 13, n_rate = sizeof(speeds) / sizeof(speeds[0]);
	size_t off = BLOB_HEADER, body;
	int ret;

	memset(blob, 0, BLOB_HEADER);
	memcpy(blob, MAGIC, 4);
	rigi_put_u16le(blob + 4, SIM_TABLE_FORMAT);
	blob[6] = (uint8_t)n_depth;
	blob[7] = (uint8_t)n_rate;
	memcpy(blob + 8, pen->serial_field, SIM_FLASH_FIELD);
	rigi_put_u32le(blob + 24, seq);
	/* created = 0: unknown; a wall-clock time would make runs irreproducible. */
	for (size_t i = 0; i < n_depth; i++, off += 4) {
		uint16_t sp = (uint16_t)(250 * i);
		rigi_put_u16le(blob + off, sp);
		rigi_put_u16le(blob + off + 2, sim_phys_nominal_code(sp));
	}
	for (size_t i = 0; i < n_rate; i++, off += 4) {
		rigi_put_u16le(blob + off, speeds[i]);
		rigi_put_u16le(blob + off + 2, sim_phys_nominal_duty(speeds[i]));
	}
	body = off;
	*crc = rigi_crc32(blob, body);
	rigi_put_u32le(blob + body, *crc);
	ret = table_hmac(pen->key, blob, body + 4, blob + body + 4);
	*len = body + BLOB_TRAILER;
	return ret;
}

static uint8_t flash_failed(struct sim_pen *pen)
{
	if (!sim_flash_dead(pen->flash)) {
		RIGI_WARN("sim", "pen %s: %s", pen->serial, rig_last_error());
		pen->fw.faults |= SIM_FAULT_FLASH;
	}
	return SIM_ST_FLASH_ERROR;
}

void sim_fw_abort_write(struct sim_pen *pen)
{
	struct sim_fw *fw = &pen->fw;
	if (fw->write_slot >= 0 && sim_flash_erase_slot(pen->flash, fw->write_slot) < 0)
		flash_failed(pen);
	fw->writing = 0;
	fw->write_slot = -1;
	fw->write_total = fw->write_received = 0;
}

static uint8_t table_read(struct sim_pen *pen, const uint8_t *p, uint8_t *d, size_t *dlen)
{
	struct sim_flash_slot s;
	uint8_t slot = p[0];
	uint16_t offset = rigi_get_u16le(p + 1), count = rigi_get_u16le(p + 3);
	uint16_t total, n;

	if ((slot > 1 && slot != SLOT_ACTIVE) || count > READ_MAX)
		return SIM_ST_BAD_ARGUMENT;
	if (slot == SLOT_ACTIVE)
		slot = pen->fw.active < 0 ? 0xFF : (uint8_t)pen->fw.active;
	memset(&s, 0, sizeof(s));
	if (slot != 0xFF && sim_flash_read_slot(pen->flash, slot, &s) < 0)
		return flash_failed(pen);
	total = s.committed ? s.length : 0;
	if (offset > total)
		return SIM_ST_BAD_ARGUMENT;
	n = (uint16_t)(total - offset < count ? total - offset : count);
	d[0] = slot;
	rigi_put_u16le(d + 1, total);
	memcpy(d + 3, s.data + offset, n);
	*dlen = 3u + n;
	return SIM_ST_OK;
}

static uint8_t table_begin(struct sim_pen *pen, const uint8_t *p, uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	uint16_t total = rigi_get_u16le(p);

	if (total == 0 || total > SIM_TABLE_MAX_BYTES)
		return SIM_ST_BAD_ARGUMENT;
	if (fw->writing)
		sim_fw_abort_write(pen);
	fw->write_slot = fw->active < 0 ? 0 : !fw->active;
	if (sim_flash_erase_slot(pen->flash, fw->write_slot) < 0) {
		fw->write_slot = -1;
		return flash_failed(pen);
	}
	fw->writing = 1;
	fw->write_total = total;
	fw->write_received = 0;
	fw->write_crc = rigi_get_u32le(p + 2);
	d[0] = (uint8_t)fw->write_slot;
	*dlen = 1;
	return SIM_ST_OK;
}

static uint8_t table_chunk(struct sim_pen *pen, const uint8_t *p, size_t len, uint8_t *d,
			   size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	uint16_t offset = rigi_get_u16le(p);
	size_t n = len - 2;

	if (!fw->writing)
		return SIM_ST_WRONG_STATE;
	if (offset != fw->write_received)
		return SIM_ST_TABLE_INCOMPLETE;
	if (offset + n > fw->write_total)
		return SIM_ST_BAD_ARGUMENT;
	memcpy(fw->write_buf + offset, p + 2, n);
	if (sim_flash_write_data(pen->flash, fw->write_slot, offset, p + 2, n) < 0) {
		fw->writing = 0;
		return flash_failed(pen);
	}
	fw->write_received = (uint16_t)(offset + n);
	rigi_put_u16le(d, fw->write_received);
	*dlen = 2;
	return SIM_ST_OK;
}

/* The commit checks 1..6 of §6, in order. */
static uint8_t commit_checks(struct sim_pen *pen, struct sim_table *t)
{
	const struct sim_fw *fw = &pen->fw;
	uint8_t st;

	if (fw->write_received != fw->write_total)
		return SIM_ST_TABLE_INCOMPLETE;
	if (rigi_crc32(fw->write_buf, fw->write_total) != fw->write_crc)
		return SIM_ST_TABLE_CRC;
	st = parse_blob(fw->write_buf, fw->write_total, t);
	if (st == SIM_ST_OK)
		st = verify_signature(pen, t);
	if (st == SIM_ST_OK)
		st = check_content(pen, t);
	return st;
}

/* Verify the programmed data, write the commit record, then flip the
 * marker: until the marker record is complete the old table stays active. */
static uint8_t commit_to_flash(struct sim_pen *pen, const struct sim_table *t)
{
	struct sim_fw *fw = &pen->fw;
	struct sim_flash_slot s;

	if (sim_flash_read_slot(pen->flash, fw->write_slot, &s) < 0)
		return flash_failed(pen);
	if (memcmp(s.data, t->blob, t->size) != 0) {
		rigi_fail(RIG_ERR_IO, "flash %s: slot %d does not read back as written",
			  sim_flash_path(pen->flash), fw->write_slot);
		return flash_failed(pen);
	}
	if (sim_flash_write_commit(pen->flash, fw->write_slot, t->size, t->seq, t->crc) < 0 ||
	    sim_flash_write_marker(pen->flash, fw->write_slot) < 0)
		return flash_failed(pen);
	return SIM_ST_OK;
}

static uint8_t table_commit(struct sim_pen *pen, uint8_t *d, size_t *dlen)
{
	struct sim_fw *fw = &pen->fw;
	struct sim_table t;
	uint8_t st;

	if (!fw->writing)
		return SIM_ST_WRONG_STATE;
	st = commit_checks(pen, &t);
	if (st == SIM_ST_OK)
		st = commit_to_flash(pen, &t);
	if (st != SIM_ST_OK) {
		if (!sim_flash_dead(pen->flash))
			sim_fw_abort_write(pen);
		return st;
	}
	fw->active = fw->write_slot;
	fw->table = t;
	fw->faults &= (uint16_t)~SIM_FAULT_NO_TABLE;
	fw->writing = 0;
	fw->write_slot = -1;
	RIGI_INFO("sim", "pen %s: table seq %u committed to slot %c", pen->serial, t.seq,
		  fw->active ? 'B' : 'A');
	d[0] = (uint8_t)fw->active;
	rigi_put_u32le(d + 1, t.seq);
	*dlen = 5;
	return SIM_ST_OK;
}

uint8_t sim_fw_table_command(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			     uint8_t *data, size_t *data_len)
{
	switch (cmd) {
	case 0x20:
		return table_read(pen, p, data, data_len);
	case 0x21:
		return table_begin(pen, p, data, data_len);
	case 0x22:
		return table_chunk(pen, p, len, data, data_len);
	case 0x23:
		return table_commit(pen, data, data_len);
	default:
		if (pen->fw.writing)
			sim_fw_abort_write(pen);
		return SIM_ST_OK;
	}
}
