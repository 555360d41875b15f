/* The simulated pen's flash file: layout, record pairs, pwrite + fsync, and
 * byte-exact power-loss injection (see flash.h and docs/sim-pen.md). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/core.h"
#include "flash.h"

#define FLASH_SIZE 2048u
#define LAYOUT_VERSION 1u
#define HDR_OFF 0x000u
#define HDR_BYTES 64u
#define MARKER_OFF 0x040u
#define MARKER_BYTES 16u
#define COUNTER_OFF 0x060u
#define COUNTER_BYTES 32u
#define SLOT_OFF(s) ((s) ? 0x400u : 0x100u)
#define COMMIT_BYTES 32u
#define ERASED 0xFF

struct sim_flash {
	int fd;
	char *path;
	long budget;          /* bytes before the injected power loss; -1 off */
	int dead;
	uint32_t marker_gen;  /* newest intact generation (0: none) */
	int marker_idx;       /* its index in the pair, -1 none */
	int marker_slot;
	uint32_t counter_gen;
	int counter_idx;
	struct sim_flash_counters counters;
};

static const char MAGIC_HDR[4] = {'N', 'R', 'F', 'L'};
static const char MAGIC_MARK[4] = {'N', 'R', 'M', 'K'};
static const char MAGIC_CNT[4] = {'N', 'R', 'C', 'N'};
static const char MAGIC_SLOT[4] = {'N', 'R', 'S', 'L'};

/* A record is valid when it starts with its magic and ends with the CRC-32
 * of everything before the CRC. */
static void seal(uint8_t *rec, size_t len, const char magic[4])
{
	memcpy(rec, magic, 4);
	rigi_put_u32le(rec + len - 4, rigi_crc32(rec, len - 4));
}

static int intact(const uint8_t *rec, size_t len, const char magic[4])
{
	return memcmp(rec, magic, 4) == 0 &&
	       rigi_get_u32le(rec + len - 4) == rigi_crc32(rec, len - 4);
}

static int pread_all(struct sim_flash *fl, size_t off, uint8_t *buf, size_t len)
{
	ssize_t n = pread(fl->fd, buf, len, (off_t)off);
	if (n != (ssize_t)len)
		return rigi_fail(RIG_ERR_IO, "flash %s: read %zu bytes at 0x%zx failed: %s",
				 fl->path, len, off, n < 0 ? strerror(errno) : "short file");
	return 0;
}

/* Program bytes. With a power loss armed, only the bytes before the limit
 * reach the file, and the flash is dead afterwards. */
static int flash_write(struct sim_flash *fl, size_t off, const uint8_t *buf, size_t len)
{
	size_t n = len;
	int lost = 0;

	if (fl->dead)
		return rigi_fail(RIG_ERR_IO, "flash %s: no power", fl->path);
	if (fl->budget >= 0 && (size_t)fl->budget < len) {
		n = (size_t)fl->budget;
		lost = 1;
	}
	if (fl->budget >= 0)
		fl->budget -= (long)n;
	if (n > 0 && (pwrite(fl->fd, buf, n, (off_t)off) != (ssize_t)n || fsync(fl->fd) != 0))
		return rigi_fail(RIG_ERR_IO, "flash %s: write %zu bytes at 0x%zx failed: %s",
				 fl->path, n, off, strerror(errno));
	if (lost) {
		fl->dead = 1;
		return rigi_fail(RIG_ERR_IO, "flash %s: power lost after %zu of %zu bytes at 0x%zx",
				 fl->path, n, len, off);
	}
	return 0;
}

/* Find the newest intact record of a pair; returns its index or -1. */
static int newest(struct sim_flash *fl, size_t off, size_t len, const char magic[4],
		  uint8_t *rec_out, uint32_t *gen_out)
{
	uint8_t rec[COUNTER_BYTES];
	int best = -1;
	*gen_out = 0;
	for (int i = 0; i < 2; i++) {
		if (pread_all(fl, off + (size_t)i * len, rec, len) < 0 || !intact(rec, len, magic))
			continue;
		if (best < 0 || rigi_get_u32le(rec + 4) > *gen_out) {
			best = i;
			*gen_out = rigi_get_u32le(rec + 4);
			memcpy(rec_out, rec, len);
		}
	}
	return best;
}

static void scan_records(struct sim_flash *fl)
{
	uint8_t rec[COUNTER_BYTES];

	fl->marker_idx = newest(fl, MARKER_OFF, MARKER_BYTES, MAGIC_MARK, rec, &fl->marker_gen);
	fl->marker_slot = fl->marker_idx >= 0 && rec[8] < 2 ? rec[8] : -1;
	fl->counter_idx = newest(fl, COUNTER_OFF, COUNTER_BYTES, MAGIC_CNT, rec, &fl->counter_gen);
	memset(&fl->counters, 0, sizeof(fl->counters));
	if (fl->counter_idx >= 0) {
		fl->counters.stroke_count = rigi_get_u32le(rec + 8);
	}
}

static char *flash_file(const char *dir, const char *serial, const char *suffix)
{
	size_t len = strlen(dir) + strlen(serial) + strlen(suffix) + 8;
	char *p = malloc(len);
	if (p)
		snprintf(p, len, "%s/%s.flash%s", dir, serial, suffix);
	return p;
}

static void field(uint8_t *dst, const char *s)
{
	memset(dst, 0, SIM_FLASH_FIELD);
	memcpy(dst, s, strnlen(s, SIM_FLASH_FIELD));
}

static int check_header(struct sim_flash *fl, const struct sim_flash_id *id)
{
	uint8_t h[HDR_BYTES];
	uint8_t serial[SIM_FLASH_FIELD];
	int ret = pread_all(fl, HDR_OFF, h, sizeof(h));

	if (ret < 0)
		return rigi_fail(RIG_ERR_FORMAT, "flash %s is truncated; delete it to get a "
				 "factory-new pen", fl->path);
	if (!intact(h, sizeof(h), MAGIC_HDR) || rigi_get_u16le(h + 4) != LAYOUT_VERSION ||
	    rigi_get_u16le(h + 6) != FLASH_SIZE)
		return rigi_fail(RIG_ERR_FORMAT, "flash %s: header damaged or of another layout; "
				 "delete it to get a factory-new pen", fl->path);
	field(serial, id->serial);
	if (memcmp(h + 24, serial, sizeof(serial)) != 0)
		return rigi_fail(RIG_ERR_FORMAT, "flash %s belongs to serial %.16s, not %s",
				 fl->path, (const char *)h + 24, id->serial);
	if (!rigi_ct_equal(h + 40, id->keycheck, SIM_FLASH_KEYCHECK_BYTES))
		return rigi_fail(RIG_ERR_AUTH, "flash %s was provisioned with another line key; "
				 "use that key or delete the file", fl->path);
	return 0;
}

int sim_flash_open(struct sim_flash **out, const char *dir, const struct sim_flash_id *id)
{
	struct sim_flash *fl = calloc(1, sizeof(*fl));
	int ret = 0;

	*out = NULL;
	if (!fl || !(fl->path = flash_file(dir, id->serial, ""))) {
		free(fl);
		return rigi_fail(RIG_ERR_NOMEM, "flash of %s: out of memory", id->serial);
	}
	fl->budget = -1;
	fl->fd = open(fl->path, O_RDWR | O_CLOEXEC);
	if (fl->fd < 0) {
		ret = rigi_fail(errno == ENOENT ? RIG_ERR_NOT_FOUND : RIG_ERR_IO,
				"flash %s: %s", fl->path, strerror(errno));
		goto out;
	}
	if (flock(fl->fd, LOCK_EX | LOCK_NB) != 0) {
		ret = rigi_fail(RIG_ERR_BUSY, "flash %s is in use by another simulated pen; "
				"free that pen first", fl->path);
		goto out;
	}
	ret = check_header(fl, id);
	if (ret < 0)
		goto out;
	scan_records(fl);
	*out = fl;
out:
	if (ret < 0)
		sim_flash_close(fl);
	return ret;
}

static void build_image(uint8_t *img, const struct sim_flash_id *id, const uint8_t *blob,
			size_t len, uint32_t table_seq, uint32_t blob_crc)
{
	uint8_t *h = img + HDR_OFF, *m = img + MARKER_OFF, *c = img + COUNTER_OFF;
	uint8_t *r = img + SLOT_OFF(0);

	memset(img, ERASED, FLASH_SIZE);
	memset(h, 0, HDR_BYTES);
	rigi_put_u16le(h + 4, LAYOUT_VERSION);
	rigi_put_u16le(h + 6, FLASH_SIZE);
	field(h + 8, id->model);
	field(h + 24, id->serial);
	memcpy(h + 40, id->keycheck, SIM_FLASH_KEYCHECK_BYTES);
	seal(h, HDR_BYTES, MAGIC_HDR);
	memset(m, 0, MARKER_BYTES);
	rigi_put_u32le(m + 4, 1);
	m[8] = 0;
	seal(m, MARKER_BYTES, MAGIC_MARK);
	memset(c, 0, COUNTER_BYTES);
	rigi_put_u32le(c + 4, 1);
	seal(c, COUNTER_BYTES, MAGIC_CNT);
	memcpy(r + COMMIT_BYTES, blob, len);
	memset(r, 0, COMMIT_BYTES);
	rigi_put_u16le(r + 4, (uint16_t)len);
	rigi_put_u32le(r + 8, table_seq);
	rigi_put_u32le(r + 12, blob_crc);
	seal(r, COMMIT_BYTES, MAGIC_SLOT);
}

int sim_flash_create(struct sim_flash **out, const char *dir, const struct sim_flash_id *id,
		     const uint8_t *blob, size_t len, uint32_t table_seq, uint32_t blob_crc)
{
	uint8_t img[FLASH_SIZE];
	char *tmp = flash_file(dir, id->serial, ".tmp");
	char *path = flash_file(dir, id->serial, "");
	int ret = 0, fd = -1;

	*out = NULL;
	if (!tmp || !path) {
		ret = rigi_fail(RIG_ERR_NOMEM, "flash of %s: out of memory", id->serial);
		goto out;
	}
	if (len > SIM_FLASH_SLOT_BYTES) {
		ret = rigi_fail(RIG_ERR_INTERNAL, "factory table of %zu bytes exceeds a slot", len);
		goto out;
	}
	build_image(img, id, blob, len, table_seq, blob_crc);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, img, sizeof(img)) != (ssize_t)sizeof(img) || fsync(fd) != 0 ||
	    rename(tmp, path) != 0) {
		ret = rigi_fail(RIG_ERR_IO, "flash %s: cannot create: %s; check that the state "
				"directory %s is writable", path, strerror(errno), dir);
		goto out;
	}
	ret = sim_flash_open(out, dir, id);
out:
	if (fd >= 0)
		close(fd);
	if (ret < 0 && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	return ret;
}

void sim_flash_close(struct sim_flash *fl)
{
	if (!fl)
		return;
	if (fl->fd >= 0)
		close(fl->fd);
	free(fl->path);
	free(fl);
}

const char *sim_flash_path(const struct sim_flash *fl)
{
	return fl->path;
}

int sim_flash_read_slot(struct sim_flash *fl, int slot, struct sim_flash_slot *out)
{
	uint8_t r[COMMIT_BYTES];
	int ret = pread_all(fl, SLOT_OFF(slot), r, sizeof(r));

	memset(out, 0, sizeof(*out));
	if (ret < 0)
		return ret;
	ret = pread_all(fl, SLOT_OFF(slot) + COMMIT_BYTES, out->data, SIM_FLASH_SLOT_BYTES);
	if (ret < 0)
		return ret;
	if (!intact(r, sizeof(r), MAGIC_SLOT) || rigi_get_u16le(r + 4) == 0 ||
	    rigi_get_u16le(r + 4) > SIM_FLASH_SLOT_BYTES)
		return 0;
	out->committed = 1;
	out->length = rigi_get_u16le(r + 4);
	out->table_seq = rigi_get_u32le(r + 8);
	out->blob_crc = rigi_get_u32le(r + 12);
	return 0;
}

int sim_flash_marked_slot(struct sim_flash *fl)
{
	return fl->marker_slot;
}

void sim_flash_read_counters(struct sim_flash *fl, struct sim_flash_counters *out)
{
	*out = fl->counters;
}

int sim_flash_erase_slot(struct sim_flash *fl, int slot)
{
	uint8_t ff[COMMIT_BYTES + SIM_FLASH_SLOT_BYTES];
	memset(ff, ERASED, sizeof(ff));
	return flash_write(fl, SLOT_OFF(slot), ff, sizeof(ff));
}

int sim_flash_write_data(struct sim_flash *fl, int slot, size_t offset, const uint8_t *buf,
			 size_t len)
{
	if (offset + len > SIM_FLASH_SLOT_BYTES)
		return rigi_fail(RIG_ERR_INTERNAL, "flash %s: data write beyond slot", fl->path);
	return flash_write(fl, SLOT_OFF(slot) + COMMIT_BYTES + offset, buf, len);
}

int sim_flash_write_commit(struct sim_flash *fl, int slot, uint16_t length,
			   uint32_t table_seq, uint32_t blob_crc)
{
	uint8_t r[COMMIT_BYTES] = {0};
	rigi_put_u16le(r + 4, length);
	rigi_put_u32le(r + 8, table_seq);
	rigi_put_u32le(r + 12, blob_crc);
	seal(r, sizeof(r), MAGIC_SLOT);
	return flash_write(fl, SLOT_OFF(slot), r, sizeof(r));
}

/* Write the next generation of a record pair over the older copy, so that a
 * torn write leaves the newer intact copy in force. */
static int write_pair(struct sim_flash *fl, size_t off, uint8_t *rec, size_t len,
		      const char magic[4], uint32_t *gen, int *idx)
{
	int next = *idx < 0 ? 0 : !*idx;
	int ret;
	rigi_put_u32le(rec + 4, *gen + 1);
	seal(rec, len, magic);
	ret = flash_write(fl, off + (size_t)next * len, rec, len);
	if (ret < 0)
		return ret;
	*gen += 1;
	*idx = next;
	return 0;
}

int sim_flash_write_marker(struct sim_flash *fl, int slot)
{
	uint8_t m[MARKER_BYTES] = {0};
	int ret;
	m[8] = (uint8_t)slot;
	ret = write_pair(fl, MARKER_OFF, m, sizeof(m), MAGIC_MARK, &fl->marker_gen,
			 &fl->marker_idx);
	if (ret == 0)
		fl->marker_slot = slot;
	return ret;
}

int sim_flash_write_counters(struct sim_flash *fl, const struct sim_flash_counters *c)
{
	uint8_t r[COUNTER_BYTES] = {0};
	int ret;
	rigi_put_u32le(r + 8, c->stroke_count);
	ret = write_pair(fl, COUNTER_OFF, r, sizeof(r), MAGIC_CNT, &fl->counter_gen,
			 &fl->counter_idx);
	if (ret == 0)
		fl->counters = *c;
	return ret;
}

void sim_flash_loss_after(struct sim_flash *fl, long n)
{
	fl->budget = n < 0 ? -1 : n;
}

int sim_flash_dead(const struct sim_flash *fl)
{
	return fl->dead;
}

void sim_flash_power_up(struct sim_flash *fl)
{
	fl->dead = 0;
	fl->budget = -1;
	scan_records(fl);
}
