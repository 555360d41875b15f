/* What is checked before the pen is touched (DESIGN §6): the nest and the
 * station are not in use by another process (flock'd lock files naming
 * their holder), the line key file is there, owner-only and valid, the
 * report and calibration folders are writable with room for the run, and
 * the phantom has strokes left; and that the station's uncertainty can
 * decide the suite's limits (tur.c). A station that fails here is ERROR and the
 * pen is never stroked or written. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"
#include "records/records.h"
#include "records/sign.h"

/* Room a run may need in the worst case: its journal, record and reports
 * (a few hundred kB) in reports/, a few tables in calibrations/. */
#define REPORTS_NEED_BYTES (8u << 20)
#define CALIBRATIONS_NEED_BYTES (256u << 10)

/* The nest's lock file, held for the run (exclusive, without waiting),
 * with the holder's PID and run id in it; then the station's DAQ must be
 * this process's (station.c). */
static int take_nest_lock(struct rigi_run *r)
{
	char dir[1100], name[32], note[RIG_RUN_ID_MAX + 8], holder[256];
	int ret;
	rigi_station_lock_dir(r->station, dir, sizeof(dir));
	snprintf(name, sizeof(name), "nest%u.lock", r->nest->index);
	snprintf(note, sizeof(note), "run %s", r->run_id);
	if ((ret = rigi_mkdir_p(dir)) < 0)
		return ret;
	ret = rigi_lock_take(dir, name, LOCK_EX, note, holder, sizeof(holder));
	if (ret == RIG_ERR_BUSY)
		return rigi_fail(RIG_ERR_BUSY, "nest %u of station %s is in use (%s); wait for it "
				 "to finish or stop it, then retest", r->nest->index,
				 r->fx->station_id, holder[0] ? holder : "holder unknown");
	if (ret < 0)
		return ret;
	r->nest_lock = ret;
	return rigi_station_check(r->station);
}

void rigi_release_locks(struct rigi_run *r)
{
	if (r->nest_lock >= 0)
		close(r->nest_lock);
	r->nest_lock = -1;
}

static int check_room(const char *dir, unsigned long long need, const char *what)
{
	struct statvfs vfs;
	int ret = rigi_mkdir_p(dir);
	if (ret < 0)
		return ret;
	if (access(dir, W_OK) != 0)
		return rigi_fail(RIG_ERR_PERMISSION, "%s %s is not writable: %s; fix its permissions",
				 what, dir, strerror(errno));
	if (statvfs(dir, &vfs) == 0 && (unsigned long long)vfs.f_bavail * vfs.f_frsize < need)
		return rigi_fail(RIG_ERR_NOSPACE, "%s %s: disk full (%llu kB free, a run needs up "
				 "to %llu kB); free disk space, then retest", what, dir,
				 (unsigned long long)vfs.f_bavail * vfs.f_frsize / 1024, need / 1024);
	return 0;
}

int rigi_suite_writes_table(const struct rig_suite *s)
{
	for (size_t i = 0; i < s->n_steps; i++)
		if (s->steps[i].type == RIG_STEP_WRITE_TABLE)
			return 1;
	return 0;
}

/* The station's signing key opens (created on first use): a record that
 * cannot be signed is found before the pen is touched. */
static int check_signing_key(const char *path, int *bad_input)
{
	struct rigi_signer *s = NULL;
	int ret = rigi_signer_open(path, &s);
	rigi_signer_free(s);
	if (ret < 0) {
		*bad_input = ret == RIG_ERR_FORMAT || ret == RIG_ERR_PERMISSION;
		rigi_error_context("the station's record-signing key (fixture signing_key)");
	}
	return ret;
}

int rigi_preflight(struct rigi_run *r, const char *signing_key, int *bad_input)
{
	struct rig_date today;
	int ret;
	*bad_input = 0;
	if (strlen(r->reports) > RIGI_FOLDER_MAX || strlen(r->calibrations) > RIGI_FOLDER_MAX) {
		*bad_input = 1;
		return rigi_fail(RIG_ERR_RANGE, "the reports or calibrations folder's path is over "
				 "%d characters: choose a shorter one", RIGI_FOLDER_MAX);
	}
	if ((ret = rigi_tur_check_suite(r->opt->suite, r->nest)) < 0) {
		*bad_input = 1;
		return ret;
	}
	if ((ret = take_nest_lock(r)) < 0 || (ret = check_signing_key(signing_key, bad_input)) < 0 ||
	    (ret = check_room(r->reports, REPORTS_NEED_BYTES, "the reports folder")) < 0 ||
	    (ret = check_room(r->calibrations, CALIBRATIONS_NEED_BYTES,
			      "the calibrations folder")) < 0)
		return ret;
	if (rigi_suite_writes_table(r->opt->suite) && (ret = rigi_ensure_key(r)) < 0) {
		*bad_input = ret == RIG_ERR_FORMAT || ret == RIG_ERR_PERMISSION ||
			     ret == RIG_ERR_NOT_FOUND;
		rigi_error_context("line key (needed to sign the table)");
		return ret;
	}
	rig_date_today(&today);
	if ((ret = rig_fixture_check_phantom(r->fx, &today, r->phantom_strokes_before)) < 0)
		rigi_error_context("phantom");
	return ret;
}

void rigi_signing_key_path(const struct rig_fixture *fx, char *out, size_t cap)
{
	const char *slash = strrchr(fx->path, '/');
	if (fx->signing_key)
		snprintf(out, cap, "%s", fx->signing_key);
	else if (slash)
		snprintf(out, cap, "%.*s/%s.signing.key", (int)(slash - fx->path), fx->path,
			 fx->station_id);
	else
		snprintf(out, cap, "%s.signing.key", fx->station_id);
}
