/* The simulated pen's flash memory, persisted as <state_dir>/<serial>.flash
 * (layout in docs/sim-pen.md): a header, an active-slot marker and a counter
 * record (each a ping-pong pair of CRC-protected records, so that a torn
 * write leaves the previous record in force), and two table slots (commit
 * record + data). Every write is pwrite + fsync; an injected power loss
 * truncates a write at an exact byte, as a real flash would be left. */
#ifndef SIM_FLASH_H
#define SIM_FLASH_H

#include <stddef.h>
#include <stdint.h>

#define SIM_FLASH_SLOT_BYTES 512u
#define SIM_FLASH_KEYCHECK_BYTES 8u
#define SIM_FLASH_FIELD 16u /* model and serial fields, NUL padded */

struct sim_flash;

/** Identity written into the header when the file is created and checked
 *  when it is opened. */
struct sim_flash_id {
	char model[SIM_FLASH_FIELD + 1];
	char serial[SIM_FLASH_FIELD + 1];
	uint8_t keycheck[SIM_FLASH_KEYCHECK_BYTES]; /* proves the line key */
};

struct sim_flash_counters {
	uint32_t stroke_count; /* lifetime strokes */
};

/** A slot as stored: committed when its commit record is intact. */
struct sim_flash_slot {
	int committed;
	uint16_t length;
	uint32_t table_seq;
	uint32_t blob_crc;
	uint8_t data[SIM_FLASH_SLOT_BYTES];
};

/** Open the flash file of @p id in @p dir. RIG_ERR_NOT_FOUND when it does
 *  not exist yet; RIG_ERR_FORMAT for a damaged header or another serial;
 *  RIG_ERR_AUTH when it was provisioned with another line key;
 *  RIG_ERR_BUSY when another pen object holds it. */
int sim_flash_open(struct sim_flash **out, const char *dir, const struct sim_flash_id *id);

/** Create the flash file (atomically: temp file + rename) with @p blob in
 *  slot A (commit record: @p len, @p table_seq and the blob's own CRC field
 *  @p blob_crc), marked active, counters zero; then open it. */
int sim_flash_create(struct sim_flash **out, const char *dir, const struct sim_flash_id *id,
		     const uint8_t *blob, size_t len, uint32_t table_seq, uint32_t blob_crc);

/** Close; NULL is a no-op. */
void sim_flash_close(struct sim_flash *fl);

/** The file's path (for messages). */
const char *sim_flash_path(const struct sim_flash *fl);

/** Read slot @p slot (0 A, 1 B) as stored. */
int sim_flash_read_slot(struct sim_flash *fl, int slot, struct sim_flash_slot *out);

/** Slot named by the newest intact marker record, or -1. */
int sim_flash_marked_slot(struct sim_flash *fl);

/** Newest intact counters (zero when none). */
void sim_flash_read_counters(struct sim_flash *fl, struct sim_flash_counters *out);

/** Erase a slot (commit record first, then data, to 0xFF). */
int sim_flash_erase_slot(struct sim_flash *fl, int slot);

/** Program @p len bytes of slot data at @p offset. */
int sim_flash_write_data(struct sim_flash *fl, int slot, size_t offset, const uint8_t *buf,
			 size_t len);

/** Write a slot's commit record (after its data); @p blob_crc is the CRC
 *  field of the blob, checked again at power-up. */
int sim_flash_write_commit(struct sim_flash *fl, int slot, uint16_t length,
			   uint32_t table_seq, uint32_t blob_crc);

/** Flip the active-slot marker to @p slot: one record write. */
int sim_flash_write_marker(struct sim_flash *fl, int slot);

/** Save the counters: one record write. */
int sim_flash_write_counters(struct sim_flash *fl, const struct sim_flash_counters *c);

/** Lose power once @p n more bytes have been programmed (a write crossing
 *  the limit is truncated there); -1 disarms. */
void sim_flash_loss_after(struct sim_flash *fl, long n);

/** 1 after an injected power loss: every write fails until power-up. */
int sim_flash_dead(const struct sim_flash *fl);

/** Power-up: writes allowed again, injection disarmed, records rescanned. */
void sim_flash_power_up(struct sim_flash *fl);

#endif
