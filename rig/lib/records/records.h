/* Private header of the records layer: durable file writes shared by the
 * record writer and the report writers, the journal's line codec, and the
 * record builder that turns events into a record. */
#ifndef RIGI_RECORDS_H
#define RIGI_RECORDS_H

#include <stddef.h>
#include <stdint.h>

#include <rig/event.h>
#include <rig/record.h>

/** Create directory @p path and any missing parents (mode 0755 less the
 *  umask). The parent of every directory created is fsynced, so the new
 *  entries survive a power loss. An existing directory is fine; an
 *  existing non-directory is RIG_ERR_IO. Returns 0 or a negative rig_err
 *  (RIG_ERR_PERMISSION, RIG_ERR_IO, RIG_ERR_NOMEM) naming the directory. */
int rigi_mkdir_p(const char *path);

/** Replace the file @p path by @p len bytes of @p data atomically: write a
 *  temporary file ".<name>.tmp-<pid>-XXXXXX" in the same directory, fsync it,
 *  rename it over @p path, fsync the directory. Readers see the old
 *  content or the new, never a mix. On a failure before the rename the
 *  temporary file is removed and @p path is untouched; a failure of the
 *  final directory fsync is reported (RIG_ERR_IO) although the new content
 *  is already in place. The file's mode is 0644. */
int rigi_atomic_write(const char *path, const void *data, size_t len);

/** 1 when @p name is a temporary file of rigi_atomic_write whose writer
 *  (the pid in its name) is no longer running on this host: the rename
 *  never happened and the file can go. */
int rigi_temp_writer_dead(const char *name);

/** Like rigi_atomic_write, and then also leaves the file's mode @p mode. */
int rigi_atomic_write_mode(const char *path, const void *data, size_t len, unsigned mode);

/** The error for a failed system call @p what on @p path with errno @p err:
 *  RIG_ERR_NOSPACE ("disk full") for ENOSPC/EDQUOT, RIG_ERR_PERMISSION,
 *  RIG_ERR_NOT_FOUND (a missing path), RIG_ERR_NOMEM, RIG_ERR_IO otherwise;
 *  the detail names the file and what to do. */
int rigi_sys_fail(int err, const char *what, const char *path);

/** write(2) all @p len bytes (retrying short writes and EINTR): 0, or -1
 *  with errno set. */
int rigi_write_all(int fd, const void *data, size_t len);

/** The directory part of @p path ("." when there is none), malloc'd. */
char *rigi_dir_of(const char *path);

/** fsync the directory @p dir. */
int rigi_fsync_dir(const char *dir);

/* ---- json.c: journal lines ---- */

/** Storage behind an event parsed from a journal line. */
struct rigi_event_buf {
	struct rig_record *header;      /* RUN_BEGIN */
	struct rig_record_station station;
	struct rig_record_unit unit;
	struct rig_measurement m;
	struct rig_record_table table;
	char text1[RIG_RECORD_PATH_MAX + 16], text2[RIG_RECORD_PATH_MAX + 16];
};

void rigi_event_buf_free(struct rigi_event_buf *b);

/** One event as one compact canonical JSON object (no newline), with its
 *  sequence number and the SHA-256 (hex) of the previous line. *out is
 *  malloc'd. */
int rigi_event_to_line(const struct rig_event *ev, uint64_t seq, const char *prev_sha256,
		       char **out);

/** Parse a journal line (without its newline) into *@p ev, whose payload
 *  points into @p b until the next call. RIG_ERR_FORMAT naming @p source. */
int rigi_event_from_line(const char *line, size_t len, const char *source,
			 struct rigi_event_buf *b, struct rig_event *ev, uint64_t *seq,
			 char prev_sha256[65]);

/** Compare two JSON texts: 0 when equal, 1 when not, with the first
 *  differing path ("steps[3].measurements[1].value") and both values as
 *  text; RIG_ERR_FORMAT when either is not JSON. */
int rigi_json_first_difference(const char *a, const char *b, char *path, size_t cap, char *va,
			       char *vb, size_t vcap);

/* ---- builder.c: events -> record ---- */

/** Apply one event to @p rec (which rig_record_new made): the record
 *  builder. Pure: the same events always give the same record. */
int rigi_record_apply(struct rig_record *rec, const struct rig_event *ev);

#endif
