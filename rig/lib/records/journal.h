/* Private header of the records layer: the run journal (journal.c). */
#ifndef RIGI_RECORDS_JOURNAL_H
#define RIGI_RECORDS_JOURNAL_H

#include <stdint.h>

#include <rig/event.h>
#include <rig/record.h>

struct rigi_journal {
	int fd;                 /* -1 when closed */
	uint64_t events;        /* lines written */
	char last_sha256[65];   /* of the last line; 64 zeros before the first */
	uint64_t size;          /* bytes of whole lines written */
	int dead;               /* the rig_err of a failed write: no more appends */
};

/** Create the journal at @p path (it must not exist) and lock it for this
 *  run (flock LOCK_EX, released by rigi_journal_close or process death). */
int rigi_journal_create(const char *path, struct rigi_journal *j);

/** Append @p ev (progress events are not journaled); fdatasync when the
 *  event changes the pen or decides an outcome. RIG_ERR_NOSPACE on a full
 *  disk. */
int rigi_journal_append(struct rigi_journal *j, const char *path, const struct rig_event *ev);

/** Append to an open journal file descriptor (recovery appends the events
 *  that close a dead run). @p last receives the new line's hash. */
int rigi_journal_append_at(int fd, const char *path, const struct rig_event *ev, uint64_t seq,
			   const char *prev, char last[65], int sync);

void rigi_journal_close(struct rigi_journal *j);

/** What a replay saw. */
struct rigi_replay {
	uint64_t events;
	char last_sha256[65];
	int last_type;          /* enum rig_event_type of the last line, -1 none */
	int64_t last_time_ms;
	char last_step[64];     /* the last step begun */
	int step_open;          /* 1: the last step begun has not ended */
	int saw_safe_state;     /* 1: a safe_state event was journaled */
	size_t torn_bytes;      /* bytes of a torn last line ignored (0 normally) */
};

/** Read the journal at @p path, check its hash chain line by line, and
 *  apply every event to @p rec (may be NULL: check only). RIG_ERR_SIGNATURE
 *  names the first line where the chain breaks; RIG_ERR_FORMAT a line that
 *  is not an event. */
int rigi_journal_replay(const char *path, struct rig_record *rec, struct rigi_replay *rp);

/** 1 when a live process holds the journal's lock (its run is going on). */
int rigi_journal_is_live(const char *path);

/** Open the journal of a run that died for appending, holding its lock
 *  (LOCK_EX) so that no one else closes it at the same time: the fd (close
 *  it to release), RIG_ERR_BUSY when its run (or another recovery) holds
 *  it. */
int rigi_journal_lock_dead(const char *path);

#endif
