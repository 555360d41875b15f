/* The auditor's side of the evidence: closing the journals of runs that
 * died into records (rig records recover, and every rig run at start), and
 * verifying that a record is what its run wrote (rig records verify). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rig/evidence.h>
#include <rig/rig.h>

#include "core/core.h"
#include "records/evidence.h"
#include "records/records.h"
#include "records/sign.h"

static int is_temp_of(const char *name, const char *prefix)
{
	/* ".<target>.tmp-<pid>-XXXXXX", as rigi_atomic_write names them */
	size_t n = strlen(prefix);
	return name[0] == '.' && strncmp(name + 1, prefix, n) == 0 && strstr(name + 1 + n, ".tmp-");
}

static unsigned remove_temps(const char *dir, const char *prefix)
{
	char path[RIGI_PATH_MAX * 2];
	unsigned n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (is_temp_of(de->d_name, prefix)) {
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (unlink(path) == 0) {
				RIGI_INFO("records", "removed the stray temporary file %s", path);
				n++;
			}
		}
	closedir(d);
	return n;
}

unsigned rigi_remove_run_temps(const char *dir, const char *calibrations, const char *serial,
			       const char *run_id, unsigned *stats)
{
	char cal[RIGI_PATH_MAX * 2], captures[RIGI_PATH_MAX * 2];
	unsigned n = remove_temps(dir, "");
	/* A run killed while it kept a raw capture leaves that write's temp. */
	snprintf(captures, sizeof(captures), "%s/captures", dir);
	n += remove_temps(captures, "");
	if (calibrations && *calibrations && serial && *serial) {
		snprintf(cal, sizeof(cal), "%s/%s", calibrations, serial);
		n += remove_temps(cal, run_id);
	}
	if (stats)
		*stats += n;
	return n;
}

/* ---- closing a dead run ---- */

struct closer {
	int fd;
	const char *path;
	uint64_t seq;
	char last[65];
};

static int close_with(struct closer *c, struct rig_event *ev)
{
	ev->time_ms = rig_time_now_ms();
	int ret = rigi_journal_append_at(c->fd, c->path, ev, c->seq, c->last, c->last, 1);
	if (ret == 0)
		c->seq++;
	return ret;
}

/* Append the events the dead run never wrote, so that the journal alone
 * still builds its record (and verification can rebuild it). */
static int append_closing_events(int fd, const char *journal, const struct rig_record *rec,
				 const struct rigi_replay *rp)
{
	char last[256], when[32];
	struct closer c = {-1, journal, rp->events, ""};
	struct rig_event ev;
	int ret = 0;
	snprintf(c.last, sizeof(c.last), "%s", rp->last_sha256);
	rig_time_format_utc(rp->last_time_ms, when, sizeof(when));
	snprintf(last, sizeof(last), "%s at %s%s%s", rig_event_type_name(rp->last_type), when,
		 rp->last_step[0] ? " in step " : "", rp->last_step);
	c.fd = fd;
	/* A line torn by the death is no event: cut it off before appending. */
	struct stat sb;
	if (rp->torn_bytes && (fstat(c.fd, &sb) != 0 ||
			       ftruncate(c.fd, sb.st_size - (off_t)rp->torn_bytes) != 0))
		return rigi_sys_fail(errno, "cut the torn last line of", journal);
	enum rig_outcome o = RIG_OUTCOME_ERROR;
	if (rp->step_open) {
		ev = (struct rig_event){.type = RIG_EV_STEP_END};
		ev.u.step_end = (struct rig_ev_step_end){(unsigned)rec->n_steps - 1,
							 RIG_OUTCOME_ERROR, "step did not finish", 0};
		ret = close_with(&c, &ev);
	} else if (rec->n_steps && rec->steps[rec->n_steps - 1]->outcome == RIG_OUTCOME_ABORTED) {
		o = RIG_OUTCOME_ABORTED;
	}
	if (ret == 0 && rec->has_table && rec->commit == RIG_COMMIT_SENT) {
		ev = (struct rig_event){.type = RIG_EV_COMMIT_RESULT};
		ev.u.commit = (struct rig_ev_commit){
			(unsigned)rec->n_steps - 1, RIG_COMMIT_UNKNOWN,
			"TABLE_COMMIT was sent and the run died before its answer: the pen holds "
			"this table or its previous one (both are in calibrations/); the next "
			"run's as-found read settles it"};
		ret = close_with(&c, &ev);
	}
	if (ret == 0 && !rp->saw_safe_state) {
		ev = (struct rig_event){.type = RIG_EV_SAFE_STATE};
		ev.u.safe = (struct rig_ev_safe){0, "the rig died before putting the pen safe: check "
						    "the pen (its host-loss watchdog may have "
						    "stopped it)"};
		ret = close_with(&c, &ev);
	}
	if (ret == 0) {
		char reason[400];
		snprintf(reason, sizeof(reason), "run did not finish: last event %s", last);
		ev = (struct rig_event){.type = RIG_EV_RUN_END};
		ev.u.run_end = (struct rig_ev_run_end){o, reason, RIG_ERR_INTERRUPTED};
		ret = close_with(&c, &ev);
	}
	return ret;
}

/* The open entry's lines: folder, calibrations, signing key, pid. */
static int read_entry(const char *path, char lines[4][RIGI_PATH_MAX])
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	for (int i = 0; i < 4; i++) {
		lines[i][0] = '\0';
		if (fgets(lines[i], RIGI_PATH_MAX, f))
			lines[i][strcspn(lines[i], "\n")] = '\0';
	}
	fclose(f);
	return 0;
}

/* A folder that moved after the entry was last written. */
static int find_run_dir(const char *reports, const char *run_id, char *dir, size_t cap)
{
	char path[RIGI_PATH_MAX * 2];
	struct stat st;
	struct dirent *de;
	DIR *d = opendir(reports);
	int found = 0;
	if (!d)
		return 0;
	while (!found && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/%s/journal.jsonl", reports, de->d_name, run_id);
		if (stat(path, &st) == 0) {
			snprintf(dir, cap, "%s/%s/%s", reports, de->d_name, run_id);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

static void report(rig_recover_fn fn, void *user, const char *dir, const char *what)
{
	RIGI_INFO("records", "%s: %s", dir, what);
	if (fn)
		fn(dir, what, user);
}

/* Recover one run folder; 1 recovered, 0 nothing to do, <0 failed. The
 * journal's lock is held throughout, so neither its run nor another
 * recovery can close it at the same time. @p entry (may be NULL) is the
 * run's .open entry, which must still be there once the lock is held. */
static int recover_dir(const char *reports, const char *dir, const char *entry,
		       const char *calibrations, const char *key, struct rig_recover_stats *st)
{
	char journal[RIGI_PATH_MAX * 2], record[RIGI_PATH_MAX * 2];
	struct rig_record *rec = NULL;
	struct rigi_replay rp;
	struct stat sb;
	int ret, fd;
	snprintf(journal, sizeof(journal), "%s/journal.jsonl", dir);
	snprintf(record, sizeof(record), "%s/record.json", dir);
	/* A run that has just created its journal may not hold its lock yet. */
	if (stat(journal, &sb) == 0 && sb.st_size == 0 && sb.st_mtime + 60 >= time(NULL)) {
		st->live++;
		return 0;
	}
	if ((fd = rigi_journal_lock_dead(journal)) == RIG_ERR_BUSY) {
		st->live++;
		return 0;
	}
	if (fd < 0)
		return fd;
	int had_record = stat(record, &sb) == 0;
	if ((entry && stat(entry, &sb) != 0) || (!entry && had_record)) {
		close(fd); /* closed meanwhile by its run or another recovery */
		return 0;
	}
	if ((ret = rig_record_new(&rec)) == 0)
		ret = rigi_journal_replay(journal, rec, &rp);
	if (ret == 0 && rp.last_type != RIG_EV_RUN_END)
		ret = append_closing_events(fd, journal, rec, &rp);
	rig_record_free(rec);
	rec = NULL;
	/* Built again from the journal, now complete; a record that was already
	 * written comes out byte for byte the same. */
	if (ret == 0)
		ret = rigi_finalize_run(dir, key, &rec, NULL, 0);
	if (ret == 0 && !had_record)
		ret = rigi_phantom_add(reports, &rec->station);
	if (ret == 0 && rec)
		rigi_remove_run_temps(dir, calibrations, rec->unit.serial,
				      strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir,
				      &st->temp_removed);
	if (ret == 0 && entry)
		unlink(entry);
	rig_record_free(rec);
	close(fd);
	return ret < 0 ? ret : 1;
}

/* The process that wrote the entry is gone (its pid, on this host; an entry
 * without one is taken as dead after a minute). */
static int entry_owner_dead(const char *entry, const char *pid_text)
{
	struct stat sb;
	long pid = strtol(pid_text, NULL, 10);
	if (pid > 0)
		return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
	return stat(entry, &sb) == 0 && sb.st_mtime + 60 < time(NULL);
}

static void recover_entry(const char *reports, const char *open_dir, const char *name,
			  const char *calibrations, const char *key, rig_recover_fn fn,
			  void *user, struct rig_recover_stats *st)
{
	char entry[RIGI_PATH_MAX * 2], lines[4][RIGI_PATH_MAX], dir[RIGI_PATH_MAX], j[RIGI_PATH_MAX + 16];
	struct stat sb;
	snprintf(entry, sizeof(entry), "%s/%s", open_dir, name);
	if (read_entry(entry, lines) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s", lines[0]);
	snprintf(j, sizeof(j), "%s/journal.jsonl", dir);
	int have_journal = stat(j, &sb) == 0 || find_run_dir(reports, name, dir, sizeof(dir));
	snprintf(j, sizeof(j), "%s/journal.jsonl", dir);
	if (!have_journal || (stat(j, &sb) == 0 && sb.st_size == 0)) {
		/* Died before its first event was journaled: nothing was touched
		 * (the rig asks nothing of the station before run_begin is on
		 * disk), and there is nothing to record. Its own process says
		 * whether it is still starting up. */
		if (entry_owner_dead(entry, lines[3])) {
			unlink(j);
			rmdir(dir);
			unlink(entry);
			st->temp_removed += remove_temps(open_dir, name);
		} else {
			st->live++;
		}
		return;
	}
	int ret = recover_dir(reports, dir, entry, lines[1][0] ? lines[1] : calibrations,
			      lines[2][0] ? lines[2] : key, st);
	if (ret > 0) {
		st->recovered++;
		report(fn, user, dir, "closed into a record");
		st->temp_removed += remove_temps(open_dir, name);
	} else if (ret < 0) {
		st->failed++;
		report(fn, user, dir, rig_last_error());
	}
}

static void recover_deep(const char *reports, const char *calibrations, const char *key,
			 rig_recover_fn fn, void *user, struct rig_recover_stats *st)
{
	char sdir[RIGI_PATH_MAX * 2], rdir[RIGI_PATH_MAX * 3], f[RIGI_PATH_MAX * 3 + 16];
	struct dirent *de, *re;
	struct stat sb;
	DIR *d = opendir(reports), *rd;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sdir, sizeof(sdir), "%s/%s", reports, de->d_name);
		if (!(rd = opendir(sdir)))
			continue;
		while ((re = readdir(rd))) {
			if (re->d_name[0] == '.')
				continue;
			snprintf(rdir, sizeof(rdir), "%s/%s", sdir, re->d_name);
			snprintf(f, sizeof(f), "%s/record.json", rdir);
			int has_record = stat(f, &sb) == 0;
			snprintf(f, sizeof(f), "%s/journal.jsonl", rdir);
			if (stat(f, &sb) != 0)
				continue;
			/* Runs with an open entry were seen by recover_entry already. */
			snprintf(f, sizeof(f), "%s/.open/%s", reports, re->d_name);
			if (stat(f, &sb) == 0)
				continue;
			if (has_record)
				continue; /* finished (its reports may be being written) */
			if (!key) {
				st->failed++;
				report(fn, user, rdir, "not closed: its record would be unsigned; give "
						       "--signing-key FILE (the station's key)");
				continue;
			}
			int ret = recover_dir(reports, rdir, NULL, calibrations, key, st);
			if (ret > 0) {
				st->recovered++;
				report(fn, user, rdir, "closed into a record");
			} else if (ret < 0) {
				st->failed++;
				report(fn, user, rdir, rig_last_error());
			}
		}
		closedir(rd);
	}
	if (d)
		closedir(d);
}

static void remove_orphan_entry_temp(const char *open_dir, const char *name,
				     struct rig_recover_stats *st)
{
	char path[RIGI_PATH_MAX * 2], entry[RIGI_PATH_MAX * 2];
	const char *t = strstr(name, ".tmp-");
	struct stat sb;
	if (!t || !rigi_temp_writer_dead(name))
		return;
	snprintf(entry, sizeof(entry), "%s/%.*s", open_dir, (int)(t - name - 1), name + 1);
	if (stat(entry, &sb) == 0)
		return; /* its run's recovery removes it */
	snprintf(path, sizeof(path), "%s/%s", open_dir, name);
	if (unlink(path) == 0) {
		RIGI_INFO("records", "removed the stray temporary file %s", path);
		st->temp_removed++;
	}
}

/* reports/.station/<station>/ keeps the phantom's stroke counts, written
 * atomically by every run of the station: a run killed inside that write
 * leaves its temporary file, removed once its writer is gone. */
static void remove_station_temps(const char *reports, struct rig_recover_stats *st)
{
	char dir[RIGI_PATH_MAX * 2], sub[RIGI_PATH_MAX * 3], path[RIGI_PATH_MAX * 4];
	struct dirent *de, *fe;
	snprintf(dir, sizeof(dir), "%s/.station", reports);
	DIR *d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		DIR *s = opendir(sub);
		while (s && (fe = readdir(s))) {
			if (fe->d_name[0] != '.' || !strstr(fe->d_name, ".tmp-") ||
			    !rigi_temp_writer_dead(fe->d_name))
				continue;
			snprintf(path, sizeof(path), "%s/%s", sub, fe->d_name);
			if (unlink(path) == 0) {
				RIGI_INFO("records", "removed the stray temporary file %s", path);
				st->temp_removed++;
			}
		}
		if (s)
			closedir(s);
	}
	if (d)
		closedir(d);
}

int rig_records_recover(const char *reports, const char *calibrations, const char *key,
			int deep, rig_recover_fn fn, void *user, struct rig_recover_stats *stats)
{
	char open_dir[RIGI_PATH_MAX];
	struct rig_recover_stats st = {0};
	struct dirent *de;
	DIR *d;
	if (!reports || !*reports)
		return rigi_fail(RIG_ERR_ARG, "rig_records_recover: the reports directory is required");
	snprintf(open_dir, sizeof(open_dir), "%s/.open", reports);
	d = opendir(open_dir);
	if (!d && errno != ENOENT)
		return rigi_sys_fail(errno, "read", open_dir);
	/* Temporary files here belong to live runs too: each dead run's own are
	 * removed with it (recover_entry), and those of a run killed inside the
	 * first write of its entry (nothing else of it exists yet) by their
	 * writer's pid. */
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			recover_entry(reports, open_dir, de->d_name, calibrations, key, fn, user, &st);
		else
			remove_orphan_entry_temp(open_dir, de->d_name, &st);
	if (d)
		closedir(d);
	remove_station_temps(reports, &st);
	if (deep)
		recover_deep(reports, calibrations, key, fn, user, &st);
	if (stats)
		*stats = st;
	return 0;
}

/* ---- verification ---- */

static int read_file(const char *path, char **out, size_t max)
{
	/* Text files only: a NUL inside would hide what follows it from every
	 * string comparison. */
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return rigi_fail(errno == ENOENT ? RIG_ERR_NOT_FOUND : RIG_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > max) {
		fclose(f);
		return rigi_fail(RIG_ERR_FORMAT, "%s: not a regular file of at most %zu bytes", path,
				 max);
	}
	char *buf = malloc((size_t)st.st_size + 1);
	size_t n = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
	fclose(f);
	if (!buf || n != (size_t)st.st_size) {
		free(buf);
		return rigi_fail(RIG_ERR_IO, "%s: cannot read", path);
	}
	buf[n] = '\0';
	size_t text_len = strlen(buf);
	if (text_len != n) {
		free(buf);
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: holds a NUL byte at offset %zu: not the "
				 "file the rig wrote", path, text_len);
	}
	*out = buf;
	return 0;
}

/* The record as the journal builds it, with the trailer the record claims. */
static int rebuild(const char *journal, const struct rig_record *claimed, char **json)
{
	struct rig_record *rec = NULL;
	struct rigi_replay rp;
	int ret = rig_record_new(&rec);
	if (ret == 0)
		ret = rigi_journal_replay(journal, rec, &rp);
	if (ret == 0 && (rp.events != claimed->journal_events ||
			 strcmp(rp.last_sha256, claimed->journal_sha256) != 0))
		ret = rigi_fail(RIG_ERR_SIGNATURE, "%s: %llu lines ending in hash %.12s..., but the "
				"record says %llu lines ending in %.12s...: the journal was changed "
				"after the record was made", journal, (unsigned long long)rp.events,
				rp.last_sha256, (unsigned long long)claimed->journal_events,
				claimed->journal_sha256);
	if (ret == 0) {
		rec->journal_events = rp.events;
		snprintf(rec->journal_sha256, sizeof(rec->journal_sha256), "%s", rp.last_sha256);
		snprintf(rec->signer_public_key, sizeof(rec->signer_public_key), "%s",
			 claimed->signer_public_key);
		rec->step_verdicts = claimed->step_verdicts;
		ret = rig_record_to_json(rec, json);
	}
	rig_record_free(rec);
	return ret;
}

static int check_signature(const char *dir, const char *file, const char *text,
			   const struct rig_record *rec, const char *public_key_file)
{
	char sigpath[RIGI_PATH_MAX + 16], pub[65];
	char *sig = NULL;
	int ret;
	if (!rec->signer_public_key[0])
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: the record is not signed (field "
				 "signature is null)", file);
	if (public_key_file) {
		if ((ret = rigi_public_key_load(public_key_file, pub)) < 0)
			return ret;
		if (strcmp(pub, rec->signer_public_key) != 0)
			return rigi_fail(RIG_ERR_SIGNATURE, "%s: field signature.public_key is not "
					 "the station's key in %s: signed elsewhere", file,
					 public_key_file);
	}
	snprintf(sigpath, sizeof(sigpath), "%s/record.sig", dir);
	ret = read_file(sigpath, &sig, 256);
	if (ret == RIG_ERR_NOT_FOUND)
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: missing: the record names its signer "
				 "(signature.public_key) but its signature file was removed",
				 sigpath);
	if (ret < 0)
		return ret;
	sig[strcspn(sig, "\n")] = '\0';
	ret = rigi_verify_hex(rec->signer_public_key, text, strlen(text), sig);
	free(sig);
	if (ret == RIG_ERR_SIGNATURE)
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: the signature in %s does not match: the "
				 "file was changed after it was signed", file, sigpath);
	return ret;
}

/* Name the first field where the record differs from what its journal
 * builds; 0 when none does. */
static int field_difference(const char *file, const char *text, const char *again)
{
	char fpath[256], va[128], vb[128];
	int d = rigi_json_first_difference(text, again, fpath, sizeof(fpath), va, vb, sizeof(va));
	if (d > 0)
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: field %s is %s, but its journal says %s: "
				 "the record was changed after the run", file, fpath, va, vb);
	if (d == 0 && strcmp(text, again) != 0)
		return rigi_fail(RIG_ERR_SIGNATURE, "%s: the bytes differ from the canonical record "
				 "(its formatting was changed by hand)", file);
	return d;
}

static int verify_run(const char *dir, const char *public_key_file)
{
	char file[RIGI_PATH_MAX + 16], journal[RIGI_PATH_MAX + 16], sig_detail[1024] = "";
	struct rig_record *rec = NULL;
	char *text = NULL, *again = NULL;
	snprintf(file, sizeof(file), "%s/record.json", dir);
	snprintf(journal, sizeof(journal), "%s/journal.jsonl", dir);
	int ret = read_file(file, &text, 64u << 20);
	if (ret == 0 && (ret = rig_record_from_json(text, file, &rec)) < 0)
		ret = rigi_fail(RIG_ERR_SIGNATURE, "%s", rig_last_error());
	if (ret == 0 && rec->schema_version < 2)
		ret = rigi_fail(RIG_ERR_SIGNATURE, "%s: schema 1 records are not signed", file);
	if (ret < 0)
		goto out;
	int sig = check_signature(dir, file, text, rec, public_key_file);
	if (sig < 0)
		snprintf(sig_detail, sizeof(sig_detail), "%s", rig_last_error());
	ret = rebuild(journal, rec, &again);
	if (ret == 0) {
		/* The field that changed says more than the signature alone. */
		ret = field_difference(file, text, again);
		if (ret == 0 && sig < 0)
			ret = rigi_fail(sig, "%s", sig_detail);
	} else if (sig < 0) {
		char journal_detail[1024];
		snprintf(journal_detail, sizeof(journal_detail), "%s", rig_last_error());
		ret = rigi_fail(RIG_ERR_SIGNATURE, "%s; and %s", sig_detail, journal_detail);
	}
out:
	free(text);
	free(again);
	rig_record_free(rec);
	return ret;
}

int rig_records_verify(const char *path, const char *public_key_file, char *detail, size_t cap)
{
	char dir[RIGI_PATH_MAX];
	struct stat st;
	if (!path)
		return rigi_fail(RIG_ERR_ARG, "rig_records_verify: a path is required");
	snprintf(dir, sizeof(dir), "%s", path);
	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, sizeof(dir), ".");
	}
	int ret = verify_run(dir, public_key_file);
	if (detail)
		snprintf(detail, cap, "%s", ret < 0 ? rig_last_error() : "record, signature and journal agree");
	return ret;
}
