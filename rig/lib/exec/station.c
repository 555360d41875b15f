/* A station (rig/station.h): its lock files, its DAQ opened once for all
 * nests, and its nests run in parallel, one thread each with a stop token
 * of its own. The captures the nests share are scheduled in captures.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"
#include "records/records.h"

void rigi_station_lock_dir(const struct rig_station *st, char *out, size_t cap)
{
	snprintf(out, cap, "%s/.station/%s", st->reports, st->fx->station_id);
}

int rigi_lock_take(const char *dir, const char *name, int op, const char *note,
		   char *held_by, size_t cap)
{
	char path[1200], line[300];
	int fd;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	held_by[0] = '\0';
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return rigi_fail(errno == ENOSPC ? RIG_ERR_NOSPACE : RIG_ERR_IO,
				 "cannot open the lock file %s: %s", path, strerror(errno));
	if (flock(fd, op | LOCK_NB) != 0) {
		ssize_t n = pread(fd, held_by, cap - 1, 0);
		held_by[n > 0 ? n : 0] = '\0';
		held_by[strcspn(held_by, "\n")] = '\0';
		close(fd);
		return RIG_ERR_BUSY;
	}
	snprintf(line, sizeof(line), "pid %ld, %s\n", (long)getpid(), note ? note : "");
	if (note && (ftruncate(fd, 0) != 0 || pwrite(fd, line, strlen(line), 0) < 0))
		RIGI_WARN("station", "cannot note the holder in %s: %s", path, strerror(errno));
	return fd;
}

/* station.lock, shared: every process running nests of this station holds
 * it; a tool that needs the whole station (none yet) would take it alone.
 * daq.lock, exclusive: one process drives the DAQ, for all its nests. */
static int take_station_locks(struct rig_station *st)
{
	char dir[1100], holder[200];
	int ret;
	rigi_station_lock_dir(st, dir, sizeof(dir));
	if ((ret = rigi_mkdir_p(dir)) < 0)
		return ret;
	ret = rigi_lock_take(dir, "station.lock", LOCK_SH, NULL, holder, sizeof(holder));
	if (ret >= 0) {
		st->lock_fd[0] = ret;
		ret = rigi_lock_take(dir, "daq.lock", LOCK_EX, st->holder, holder, sizeof(holder));
	}
	if (ret == RIG_ERR_BUSY) {
		st->busy_err = RIG_ERR_BUSY;
		snprintf(st->busy_detail, sizeof(st->busy_detail),
			 "the DAQ of station %s is in use by another process (%s): one process "
			 "drives a station's DAQ; run every nest from it (rig run --nests LIST), "
			 "or wait for it to finish",
			 st->fx->station_id, holder[0] ? holder : "holder unknown");
		return 0;
	}
	if (ret < 0)
		return ret;
	st->lock_fd[1] = ret;
	return 0;
}

int rig_station_open(const struct rig_station_options *opt, struct rig_station **out)
{
	struct rig_station *st = calloc(1, sizeof(*st));
	int ret;
	*out = NULL;
	if (!st || !(st->reports = strdup(opt->reports_dir ? opt->reports_dir : "reports"))) {
		free(st);
		return rigi_fail(RIG_ERR_NOMEM, "no memory for a station");
	}
	st->fx = opt->fixture;
	st->time_scale = opt->time_scale > 0 ? opt->time_scale : 1.0;
	snprintf(st->holder, sizeof(st->holder), "%s", opt->holder ? opt->holder : "rig");
	st->lock_fd[0] = st->lock_fd[1] = -1;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->cond, NULL);
	for (size_t i = 0; i < RIG_FIXTURE_MAX_NESTS; i++)
		atomic_init(&st->stop[i], 0);
	/* A lock folder that cannot be made fails every run on the station,
	 * each with its record, as a DAQ held by another process does. */
	if ((ret = take_station_locks(st)) < 0) {
		st->busy_err = ret;
		snprintf(st->busy_detail, sizeof(st->busy_detail), "%s", rig_last_error());
	}
	*out = st;
	return 0;
}

void rig_station_close(struct rig_station *st)
{
	if (!st)
		return;
	if (st->requests)
		RIGI_INFO("station", "station %s: the DAQ took %lu captures for %lu requests of "
			  "the nests", st->fx->station_id, st->captures, st->requests);
	rig_daq_close(st->daq);
	for (int i = 1; i >= 0; i--)
		if (st->lock_fd[i] >= 0)
			close(st->lock_fd[i]);
	pthread_cond_destroy(&st->cond);
	pthread_mutex_destroy(&st->lock);
	free(st->reports);
	free(st);
}

int rigi_station_check(const struct rig_station *st)
{
	if (st->busy_err)
		return rigi_fail(st->busy_err, "%s", st->busy_detail);
	return 0;
}

const struct rig_daq_info *rigi_station_daq_info(struct rig_station *st)
{
	pthread_mutex_lock(&st->lock);
	const struct rig_daq_info *di = st->daq ? rig_daq_get_info(st->daq) : NULL;
	pthread_mutex_unlock(&st->lock);
	return di;
}

int rigi_station_daq_open(struct rig_station *st)
{
	int ret = rigi_station_check(st);
	pthread_mutex_lock(&st->lock);
	if (ret == 0 && !st->daq && (ret = rig_daq_open(st->fx->daq.uri, &st->daq)) < 0)
		rigi_error_context("the station's DAQ");
	pthread_mutex_unlock(&st->lock);
	return ret;
}

void rig_station_capture_counts(const struct rig_station *st, unsigned long *captures,
				unsigned long *requests)
{
	struct rig_station *m = (struct rig_station *)st; /* the lock only */
	pthread_mutex_lock(&m->lock);
	*captures = st->captures;
	*requests = st->requests;
	pthread_mutex_unlock(&m->lock);
}

int rig_station_stop_nest(struct rig_station *st, unsigned nest)
{
	if (!rig_fixture_nest(st->fx, nest))
		return rigi_fail(RIG_ERR_ARG, "fixture %s has no nest %u", st->fx->path, nest);
	atomic_store(&st->stop[nest], 1);
	pthread_mutex_lock(&st->lock);
	pthread_cond_broadcast(&st->cond); /* a nest waiting for a capture looks again */
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* ---- running the nests ---- */

struct nest_thread {
	struct rig_station *st;
	struct rig_nest_job *job;
	pthread_t thread;
	int started;
};

static void *run_nest(void *arg)
{
	struct nest_thread *t = arg;
	struct rig_nest_job *job = t->job;
	unsigned units = job->units ? job->units : 1;
	char context[64];

	snprintf(context, sizeof(context), "station %s nest %u", t->st->fx->station_id,
		 job->opt.nest);
	rigi_log_set_context(context);
	rigi_set_thread_cancel(&t->st->stop[job->opt.nest]);
	for (unsigned k = 0; k < units && !rig_interrupted(); k++) {
		struct rig_run_summary sum;
		if (job->before_unit && job->before_unit(job, k) != 0)
			break;
		job->opt.station = t->st;
		int ret = rig_run_unit(&job->opt, &sum);
		job->units_run++;
		if (ret < 0 && job->worst_ret == 0)
			job->worst_ret = ret;
		job->worst = rig_outcome_combine(job->worst,
						 ret < 0 ? RIG_OUTCOME_ERROR : sum.outcome);
		if (job->after_unit)
			job->after_unit(job, k, ret, ret < 0 ? NULL : &sum);
		if (ret < 0 || sum.outcome == RIG_OUTCOME_ABORTED)
			break;
	}
	rigi_set_thread_cancel(NULL);
	rigi_log_set_context(NULL);
	return NULL;
}

static int check_jobs(const struct rig_station *st, const struct rig_nest_job *jobs, size_t n)
{
	if (n > RIG_FIXTURE_MAX_NESTS)
		return rigi_fail(RIG_ERR_ARG, "%zu nest jobs for a station of at most %d nests", n,
				 RIG_FIXTURE_MAX_NESTS);
	for (size_t i = 0; i < n; i++) {
		if (!rig_fixture_nest(st->fx, jobs[i].opt.nest))
			return rigi_fail(RIG_ERR_ARG, "fixture %s has no nest %u", st->fx->path,
					 jobs[i].opt.nest);
		for (size_t j = 0; j < i; j++)
			if (jobs[j].opt.nest == jobs[i].opt.nest)
				return rigi_fail(RIG_ERR_ARG, "nest %u given twice", jobs[i].opt.nest);
	}
	return 0;
}

int rig_station_run(struct rig_station *st, struct rig_nest_job *jobs, size_t n_jobs)
{
	struct nest_thread threads[RIG_FIXTURE_MAX_NESTS];
	int ret = check_jobs(st, jobs, n_jobs);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n_jobs; i++) {
		jobs[i].units_run = 0;
		jobs[i].worst_ret = 0;
		jobs[i].worst = RIG_OUTCOME_PASS;
		atomic_store(&st->stop[jobs[i].opt.nest], 0);
		threads[i] = (struct nest_thread){st, &jobs[i], 0, 0};
		threads[i].started = pthread_create(&threads[i].thread, NULL, run_nest,
						    &threads[i]) == 0;
		if (!threads[i].started)
			run_nest(&threads[i]); /* no thread to be had: this nest in turn */
	}
	for (size_t i = 0; i < n_jobs; i++)
		if (threads[i].started)
			pthread_join(threads[i].thread, NULL);
	return 0;
}
