/* Calibration table blobs, format 1 (docs/protocol.md §6): the signed,
 * versioned binary a pen runs its user mode from. Encode and sign, decode
 * with full validation, check against a pen before writing, render as text,
 * and load the line key that signs them. */
#ifndef RIG_TABLE_H
#define RIG_TABLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RIG_CAL_TABLE_FORMAT 1
#define RIG_CAL_TABLE_MIN_KNOTS 2
#define RIG_CAL_TABLE_MAX_KNOTS 32
#define RIG_CAL_TABLE_HEADER_BYTES 40
#define RIG_CAL_TABLE_TRAILER_BYTES 36 /* crc u32 + hmac[32] */
#define RIG_CAL_TABLE_MAX_BYTES                                                            \
	(RIG_CAL_TABLE_HEADER_BYTES + 4 * 2 * RIG_CAL_TABLE_MAX_KNOTS +                    \
	 RIG_CAL_TABLE_TRAILER_BYTES) /* 332 */
#define RIG_KEY_BYTES 32

struct rig_cal_depth_knot {
	uint16_t setpoint_um; /* user depth setpoint */
	uint16_t code;        /* actuator code giving that protrusion */
};

struct rig_cal_rate_knot {
	uint16_t rate_spm; /* user rate setpoint, strokes/min */
	uint16_t duty;     /* motor duty giving that rate, permille */
};

struct rig_cal_table {
	char serial[17];   /* the pen it is for, NUL-terminated (<= 16 chars) */
	uint32_t table_seq;/* must exceed the pen's active table_seq */
	uint64_t created;  /* Unix seconds, informational */
	uint8_t n_depth;   /* 2..32 */
	struct rig_cal_depth_knot depth[RIG_CAL_TABLE_MAX_KNOTS];
	uint8_t n_rate;    /* 2..32 */
	struct rig_cal_rate_knot rate[RIG_CAL_TABLE_MAX_KNOTS];
};

struct rig_dut_identity;
struct rig_dut_status;

/** Size in bytes of @p t's blob: 40 + 4·(n_depth + n_rate) + 36. */
size_t rig_cal_table_size(const struct rig_cal_table *t);

/** Encode @p t and sign it with the line key @p key: writes the blob to
 *  @p buf (capacity @p cap) and its size to *@p len. Checks only what the
 *  format needs (knot counts 2..32, a serial of 1..16 printable ASCII
 *  characters, room in @p buf); the knots' values are checked by
 *  rig_cal_table_check(). Returns 0, RIG_ERR_FORMAT or RIG_ERR_RANGE. */
int rig_cal_table_encode(const struct rig_cal_table *t, const uint8_t key[RIG_KEY_BYTES],
			 uint8_t *buf, size_t cap, size_t *len);

/** Decode and validate the @p len-byte blob @p blob into *@p out: magic,
 *  format, knot counts, exact size (RIG_ERR_FORMAT), CRC (RIG_ERR_CRC),
 *  and, when @p key is not NULL, the HMAC compared in constant time
 *  (RIG_ERR_SIGNATURE); then the serial field (NUL-padded printable ASCII,
 *  RIG_ERR_FORMAT). The detail names the field and its offset. */
int rig_cal_table_decode(const uint8_t *blob, size_t len, const uint8_t *key,
			 struct rig_cal_table *out);

/** The checks a pen makes at TABLE_COMMIT after the signature, so the rig
 *  refuses before sending: the table is for @p id's serial (RIG_ERR_ARG);
 *  its table_seq exceeds @p st's active one (RIG_ERR_STATE; skipped when
 *  @p st is NULL or the pen has no valid table); setpoints, codes and
 *  duties strictly increase (RIG_ERR_FORMAT); codes and duties inside the
 *  pen's ranges and knots covering its user depth and rate ranges
 *  (RIG_ERR_RANGE); the pen's table format, size and knot capacity
 *  (RIG_ERR_FORMAT, as the pen's TABLE_FORMAT). Returns 0 or the first failure,
 *  with a detail naming the knot and the limit. */
int rig_cal_table_check(const struct rig_cal_table *t, const struct rig_dut_identity *id,
			const struct rig_dut_status *st);

/** Render @p t as human-readable text (serial, seq, created, one knot per
 *  line) into @p buf (capacity @p cap, always NUL-terminated). Returns 0,
 *  or RIG_ERR_RANGE when the text was truncated. */
int rig_cal_table_format(const struct rig_cal_table *t, char *buf, size_t cap);

/** Load the 32-byte line key from @p path: exactly 64 hex digits and an
 *  optional "\n" (docs/files.md "Key files"; RIG_ERR_FORMAT names the first
 *  bad byte). Refuses (RIG_ERR_PERMISSION) a file that
 *  group or others can access and anything but a regular file. The key is
 *  never logged; wipe it with rig_key_wipe() when done. */
int rig_key_load_file(const char *path, uint8_t key[RIG_KEY_BYTES]);

/** Erase a key from memory (not optimised away). */
void rig_key_wipe(uint8_t key[RIG_KEY_BYTES]);

#ifdef __cplusplus
}
#endif
#endif
