/* The run journal (docs/records.md "Journal"): an append-only file of one
 * JSON line per event, each line carrying the SHA-256 of the one before (a
 * hash chain), flushed to disk with fdatasync at every event that changes
 * the pen or decides an outcome. The writer holds an exclusive flock on it
 * for the whole run, so anyone can tell a live run from a dead one. The
 * reader replays a journal into the record builder. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "records/journal.h"
#include "records/records.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define JOURNAL_MAX_BYTES (64u << 20)

/* Events after which the bytes must be on the disk before the rig goes on:
 * they change the pen, or decide an outcome. */
static int durable_event(enum rig_event_type t)
{
	return t == RIG_EV_RUN_BEGIN || t == RIG_EV_UNIT || t == RIG_EV_TABLE_STORED ||
	       t == RIG_EV_COMMIT_SENT || t == RIG_EV_COMMIT_RESULT || t == RIG_EV_READ_BACK ||
	       t == RIG_EV_STEP_END || t == RIG_EV_SAFE_STATE || t == RIG_EV_RUN_END;
}

int rigi_journal_create(const char *path, struct rigi_journal *j)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->last_sha256, sizeof(j->last_sha256), "%s", ZERO_HASH);
	j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
	if (j->fd < 0)
		return rigi_sys_fail(errno, "create the journal", path);
	/* Blocking: a recovery may be probing this new file for a moment. */
	if (flock(j->fd, LOCK_EX) != 0) {
		int err = errno;
		close(j->fd);
		j->fd = -1;
		return rigi_sys_fail(err, "lock the journal", path);
	}
	return 0;
}

int rigi_journal_append_at(int fd, const char *path, const struct rig_event *ev, uint64_t seq,
			   const char *prev, char last[65], int sync)
{
	uint8_t h[RIGI_SHA256_BYTES];
	char *line = NULL;
	int ret = rigi_event_to_line(ev, seq, prev, &line);
	if (ret < 0)
		return ret;
	size_t n = strlen(line);
	rigi_sha256(line, n, h);
	line[n] = '\n'; /* json_dumps left room: its NUL */
	ssize_t w = write(fd, line, n + 1);
	int err = errno;
	free(line);
	if (w != (ssize_t)(n + 1)) {
		/* A short write leaves a torn last line, which readers ignore. */
		return rigi_sys_fail(w < 0 ? err : ENOSPC, "append to the journal", path);
	}
	if (sync && fdatasync(fd) != 0)
		return rigi_sys_fail(errno, "fdatasync the journal", path);
	rigi_hex_encode(h, sizeof(h), last);
	return 0;
}

int rigi_journal_append(struct rigi_journal *j, const char *path, const struct rig_event *ev)
{
	char next[65];
	if (ev->type == RIG_EV_PROGRESS || ev->type == RIG_EV_RECORD)
		return 0;
	if (j->fd < 0 || j->dead)
		return rigi_fail(j->dead ? j->dead : RIG_ERR_STATE, "journal %s: %s", path,
				 j->dead ? "a write failed before: nothing more is journaled"
					 : "closed");
	int ret = rigi_journal_append_at(j->fd, path, ev, j->events, j->last_sha256, next,
					 durable_event(ev->type));
	if (ret < 0) {
		/* Back to the last good line, and no more lines: a half line or a
		 * line the chain does not know would read as tampering. */
		if (ftruncate(j->fd, (off_t)j->size) != 0)
			RIGI_ERROR("journal", "%s: cannot cut a failed write: %s", path,
				   strerror(errno));
		j->dead = ret;
		return ret;
	}
	j->events++;
	j->size = (uint64_t)lseek(j->fd, 0, SEEK_END);
	memcpy(j->last_sha256, next, sizeof(next));
	return 0;
}

void rigi_journal_close(struct rigi_journal *j)
{
	if (j->fd >= 0)
		close(j->fd); /* releases the flock */
	j->fd = -1;
}

static int read_all(const char *path, char **out, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	if (fd < 0)
		return errno == ENOENT ? rigi_fail(RIG_ERR_NOT_FOUND, "%s: no such journal", path)
				       : rigi_sys_fail(errno, "open", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > JOURNAL_MAX_BYTES) {
		close(fd);
		return rigi_fail(RIG_ERR_FORMAT, "%s: not a journal (not a regular file, or over "
				 "%u bytes)", path, JOURNAL_MAX_BYTES);
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", path);
	}
	ssize_t n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		return rigi_fail(RIG_ERR_IO, "%s: short read", path);
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

/* One line: check its place in the chain, parse it, apply it. */
static int replay_line(const char *path, const char *line, size_t n, struct rigi_replay *rp,
		       struct rigi_event_buf *b, struct rig_record *rec)
{
	char source[600], prev[65];
	uint8_t h[RIGI_SHA256_BYTES];
	struct rig_event ev;
	uint64_t seq = 0;
	int ret;
	snprintf(source, sizeof(source), "%s:%llu", path, (unsigned long long)rp->events + 1);
	ret = rigi_event_from_line(line, n, source, b, &ev, &seq, prev);
	if (ret < 0)
		return ret;
	if (seq != rp->events || strcmp(prev, rp->last_sha256) != 0)
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: the hash chain breaks between lines %llu "
				 "and %llu: line %llu was changed, or lines were removed or "
				 "inserted, after the journal was written", source,
				 (unsigned long long)rp->events, (unsigned long long)rp->events + 1,
				 (unsigned long long)rp->events);
	if (rp->events == 0 && ev.type != RIG_EV_RUN_BEGIN)
		return rigi_fail(RIG_ERR_FORMAT, "%s: a journal starts with run_begin", source);
	ret = rec ? rigi_record_apply(rec, &ev) : 0;
	if (ret < 0) {
		rigi_error_context("%s", source);
		return ret;
	}
	rigi_sha256(line, n, h);
	rigi_hex_encode(h, sizeof(h), rp->last_sha256);
	rp->events++;
	rp->last_type = ev.type;
	rp->last_time_ms = ev.time_ms;
	if (ev.type == RIG_EV_STEP_BEGIN)
		snprintf(rp->last_step, sizeof(rp->last_step), "%s", ev.u.step_begin.name);
	if (ev.type == RIG_EV_STEP_BEGIN || ev.type == RIG_EV_STEP_END)
		rp->step_open = ev.type == RIG_EV_STEP_BEGIN;
	if (ev.type == RIG_EV_SAFE_STATE)
		rp->saw_safe_state = 1;
	return 0;
}

int rigi_journal_replay(const char *path, struct rig_record *rec, struct rigi_replay *rp)
{
	struct rigi_event_buf b;
	char *text = NULL;
	size_t len = 0;
	int ret = read_all(path, &text, &len);
	memset(rp, 0, sizeof(*rp));
	snprintf(rp->last_sha256, sizeof(rp->last_sha256), "%s", ZERO_HASH);
	rp->last_type = -1;
	if (ret < 0)
		return ret;
	memset(&b, 0, sizeof(b));
	for (size_t off = 0; off < len && ret == 0;) {
		char *nl = memchr(text + off, '\n', len - off);
		if (!nl) {
			/* A torn last line: the process died inside the write. */
			rp->torn_bytes = len - off;
			break;
		}
		ret = replay_line(path, text + off, (size_t)(nl - (text + off)), rp, &b, rec);
		off = (size_t)(nl - text) + 1;
	}
	rigi_event_buf_free(&b);
	free(text);
	if (ret == 0 && rp->events == 0)
		ret = rigi_fail(RIG_ERR_FORMAT, "%s: an empty journal (the run died before its "
				"first event)", path);
	return ret;
}

int rigi_journal_is_live(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int live;
	if (fd < 0)
		return 0;
	live = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(fd);
	return live;
}

int rigi_journal_lock_dead(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0)
		return rigi_sys_fail(errno, "open", path);
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return rigi_fail(RIG_ERR_BUSY, "%s: its run is still going on", path);
	}
	return fd;
}
