/* One attempt's evidence on disk: its run folder (first under
 * _unidentified/, then under the pen's serial), the .open entry that lets
 * a later run find it if this process dies, the journal, and at the end the
 * record built from the journal, written atomically and signed. Recovery
 * and verification live in recover.c. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "records/evidence.h"
#include "records/records.h"
#include "records/sign.h"

static int path_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);
	if (n < 0 || (size_t)n >= cap)
		return rigi_fail(RIG_ERR_RANGE, "path %s/%s is too long", a, b);
	return 0;
}

/* The .open entry: run folder, calibrations, signing key, the run's pid. */
static int write_open_entry(const struct rigi_evidence *e)
{
	char text[3 * RIGI_PATH_MAX + 32];
	snprintf(text, sizeof(text), "%s\n%s\n%s\n%ld\n", e->dir, e->calibrations,
		 e->signing_key, (long)getpid());
	return rigi_atomic_write(e->open_entry, text, strlen(text));
}

int rigi_evidence_open(struct rigi_evidence *e, const char *reports, const char *calibrations,
		       const char *signing_key, const char *run_id)
{
	char parent[RIGI_PATH_MAX], open_dir[RIGI_PATH_MAX];
	int ret;
	memset(e, 0, sizeof(*e));
	e->journal.fd = -1;
	snprintf(e->reports, sizeof(e->reports), "%s", reports);
	snprintf(e->calibrations, sizeof(e->calibrations), "%s", calibrations);
	snprintf(e->signing_key, sizeof(e->signing_key), "%s", signing_key ? signing_key : "");
	snprintf(e->run_id, sizeof(e->run_id), "%s", run_id);
	if ((ret = path_join(parent, sizeof(parent), reports, RIGI_UNIDENTIFIED)) < 0 ||
	    (ret = path_join(e->dir, sizeof(e->dir), parent, run_id)) < 0 ||
	    (ret = path_join(open_dir, sizeof(open_dir), reports, ".open")) < 0 ||
	    (ret = path_join(e->open_entry, sizeof(e->open_entry), open_dir, run_id)) < 0 ||
	    (ret = path_join(e->journal_path, sizeof(e->journal_path), e->dir, "journal.jsonl")) < 0)
		return ret;
	/* The entry first: a run that dies after it is always found again. */
	if ((ret = rigi_mkdir_p(open_dir)) < 0 || (ret = write_open_entry(e)) < 0 ||
	    (ret = rigi_mkdir_p(e->dir)) < 0 ||
	    (ret = rigi_journal_create(e->journal_path, &e->journal)) < 0 ||
	    (ret = rigi_fsync_dir(e->dir)) < 0) {
		rigi_journal_close(&e->journal);
		rigi_error_context("run %s: opening its evidence in %s", run_id, reports);
		return ret;
	}
	return 0;
}

/* The pen is known: the folder moves under its serial, atomically. */
static int move_to_serial(struct rigi_evidence *e, const char *serial)
{
	char serial_dir[RIGI_PATH_MAX], dir[RIGI_PATH_MAX], old_parent[RIGI_PATH_MAX];
	int ret;
	if ((ret = path_join(serial_dir, sizeof(serial_dir), e->reports, serial)) < 0 ||
	    (ret = path_join(dir, sizeof(dir), serial_dir, e->run_id)) < 0 ||
	    (ret = path_join(old_parent, sizeof(old_parent), e->reports, RIGI_UNIDENTIFIED)) < 0 ||
	    (ret = rigi_mkdir_p(serial_dir)) < 0)
		return ret;
	if (rename(e->dir, dir) != 0)
		return rigi_sys_fail(errno, "move the run folder to", dir);
	snprintf(e->dir, sizeof(e->dir), "%s", dir);
	e->moved = 1;
	path_join(e->journal_path, sizeof(e->journal_path), e->dir, "journal.jsonl");
	if ((ret = rigi_fsync_dir(serial_dir)) < 0 || (ret = rigi_fsync_dir(old_parent)) < 0)
		return ret;
	return write_open_entry(e);
}

int rigi_evidence_sink(const struct rig_event *ev, void *user)
{
	struct rigi_evidence *e = user;
	int ret = rigi_journal_append(&e->journal, e->journal_path, ev);
	if (ret == 0 && ev->type == RIG_EV_UNIT && ev->u.unit->serial[0] && !e->moved)
		ret = move_to_serial(e, ev->u.unit->serial);
	if (ret < 0)
		e->failed = 1;
	return ret;
}

/* ---- the phantom's stroke count: <reports>/.station/<id>/phantom-<installed>[-<lot>] ---- */

static int phantom_file(char *out, size_t cap, const char *reports, const char *station,
			const char *installed, const char *lot)
{
	int n = snprintf(out, cap, "%s/.station/%s/phantom-%s%s%s.strokes", reports, station,
			 installed, lot[0] ? "-" : "", lot);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

uint64_t rigi_phantom_strokes(const char *reports, const char *station_id, const char *installed,
			      const char *lot)
{
	char path[RIGI_PATH_MAX], text[32] = "";
	uint64_t n = 0;
	if (phantom_file(path, sizeof(path), reports, station_id, installed, lot) < 0)
		return 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(text, sizeof(text), f))
			n = strtoull(text, NULL, 10);
		fclose(f);
	}
	return n;
}

/* Add a run's strokes under a lock (nests of one station count together). */
int rigi_phantom_add(const char *reports, const struct rig_record_station *st)
{
	char path[RIGI_PATH_MAX], dir[RIGI_PATH_MAX], text[RIGI_PATH_MAX + 8];
	const struct rig_record_phantom *p = &st->phantom;
	int ret, fd;
	if (!p->strokes_run || !st->id[0] || !p->installed[0])
		return 0;
	if (phantom_file(path, sizeof(path), reports, st->id, p->installed, p->lot) < 0)
		return rigi_fail(RIG_ERR_RANGE, "phantom count: path too long");
	snprintf(dir, sizeof(dir), "%.900s/.station/%s", reports, st->id);
	if ((ret = rigi_mkdir_p(dir)) < 0)
		return ret;
	snprintf(text, sizeof(text), "%s/.lock", dir);
	fd = open(text, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return rigi_sys_fail(errno, "open", text);
	flock(fd, LOCK_EX);
	uint64_t n = rigi_phantom_strokes(reports, st->id, p->installed, p->lot) + p->strokes_run;
	snprintf(text, sizeof(text), "%" PRIu64 "\n", n);
	ret = rigi_atomic_write(path, text, strlen(text));
	close(fd);
	return ret;
}

/* ---- finishing: journal -> record.json -> record.sig ---- */

static int sign_record(const char *dir, const char *key, const char *json)
{
	struct rigi_signer *s = NULL;
	char sig[129], line[131], path[RIGI_PATH_MAX];
	int ret = rigi_signer_open(key, &s);
	if (ret == 0)
		ret = rigi_signer_sign_hex(s, json, strlen(json), sig);
	rigi_signer_free(s);
	if (ret < 0)
		return ret;
	snprintf(line, sizeof(line), "%s\n", sig);
	if ((ret = path_join(path, sizeof(path), dir, "record.sig")) < 0)
		return ret;
	return rigi_atomic_write(path, line, strlen(line));
}

static int signer_public(const char *key, char pub[65])
{
	struct rigi_signer *s = NULL;
	int ret = rigi_signer_open(key, &s);
	if (ret == 0)
		rigi_signer_public_hex(s, pub);
	rigi_signer_free(s);
	return ret;
}

int rigi_finalize_run(const char *dir, const char *signing_key, struct rig_record **out,
		      char *path, size_t cap)
{
	char journal[RIGI_PATH_MAX], file[RIGI_PATH_MAX];
	struct rig_record *rec = NULL;
	struct rigi_replay rp;
	char *json = NULL;
	int ret;
	if ((ret = path_join(journal, sizeof(journal), dir, "journal.jsonl")) < 0 ||
	    (ret = path_join(file, sizeof(file), dir, "record.json")) < 0 ||
	    (ret = rig_record_new(&rec)) < 0)
		return ret;
	int sign_err = 0;
	ret = rigi_journal_replay(journal, rec, &rp);
	if (ret == 0) {
		rec->journal_events = rp.events;
		snprintf(rec->journal_sha256, sizeof(rec->journal_sha256), "%s", rp.last_sha256);
		/* A key that fails now (it was checked before the run) still
		 * leaves the record, unsigned, and the error. */
		if (signing_key && *signing_key)
			sign_err = signer_public(signing_key, rec->signer_public_key);
	}
	if (ret == 0)
		ret = rig_record_to_json(rec, &json);
	if (ret == 0)
		ret = rigi_atomic_write(file, json, strlen(json));
	if (ret == 0 && rec->signer_public_key[0])
		ret = sign_record(dir, signing_key, json);
	if (ret == 0 && sign_err < 0)
		ret = rigi_fail(sign_err, "%s: written unsigned: the signing key %s cannot be used",
				file, signing_key);
	free(json);
	if (ret == 0 && path)
		snprintf(path, cap, "%s", file);
	if (ret == 0 && out)
		*out = rec;
	else
		rig_record_free(rec);
	return ret;
}

int rigi_evidence_close(struct rigi_evidence *e, rigi_evidence_fn before_release, void *user,
			struct rig_record **out, char *path, size_t cap)
{
	struct rig_record *rec = NULL;
	/* The journal stays locked until the end: a recovery must never take
	 * this run for a dead one while its record and reports are written. */
	int ret = rigi_finalize_run(e->dir, e->signing_key, &rec, path, cap);
	if (ret == 0)
		ret = rigi_phantom_add(e->reports, &rec->station);
	if (ret == 0 && before_release)
		before_release(rec, e->dir, user);
	if (ret == 0)
		rigi_remove_run_temps(e->dir, e->calibrations, rec->unit.serial, e->run_id, NULL);
	if (ret == 0 && unlink(e->open_entry) != 0 && errno != ENOENT)
		ret = rigi_sys_fail(errno, "remove", e->open_entry);
	rigi_journal_close(&e->journal);
	if (ret < 0) {
		rigi_error_context("run %s: closing its evidence in %s", e->run_id, e->dir);
		rig_record_free(rec);
		return ret;
	}
	if (out)
		*out = rec;
	else
		rig_record_free(rec);
	return 0;
}
