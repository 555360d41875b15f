/* A station (DESIGN §10): what the nests of one fixture share — the DAQ and
 * the scheduling of its captures, the station's lock files — and its nests
 * run in parallel, each in a thread of its own with its own stop token. A
 * process drives a station's DAQ alone: a second process is refused at its
 * first run, with a message naming the holder (docs/files.md, "Lock files"). */
#ifndef RIG_STATION_H
#define RIG_STATION_H

#include <stddef.h>

#include <rig/fixture.h>
#include <rig/run.h>

struct rig_station;

struct rig_station_options {
	const struct rig_fixture *fixture; /* borrowed; outlives the station */
	const char *reports_dir;           /* where the lock files are (reports/.station/<id>);
					      NULL: "reports" */
	double time_scale;                 /* as rig_run_options.time_scale; 0 means 1 */
	const char *holder;                /* what holds the station, for a refused second
					      process ("rig run --nests 0-3"); NULL: "rig" */
};

/** Open the station of @p opt->fixture. The DAQ is opened at the first
 *  capture's need and the locks taken now; a station whose DAQ another
 *  process holds still opens, and each run on it then ends ERROR naming the
 *  holder (so every attempt has its record); so does one whose lock
 *  folder cannot be made. 0, or RIG_ERR_NOMEM. */
int rig_station_open(const struct rig_station_options *opt, struct rig_station **out);

/** Close the DAQ and release the locks. No nest may be running. */
void rig_station_close(struct rig_station *st);

/** One nest's work in rig_station_run: @p units runs of opt's suite, one
 *  after another, on the unit in nest opt.nest. */
struct rig_nest_job {
	struct rig_run_options opt;  /* opt.station is set by rig_station_run */
	unsigned units;              /* 0 means 1 */
	/* Before unit @p k (0-based): may change opt (a new unit was loaded);
	 * non-zero ends this nest's work. NULL: nothing. */
	int (*before_unit)(struct rig_nest_job *job, unsigned k);
	/* After unit @p k: what rig_run_unit returned and its summary. */
	void (*after_unit)(struct rig_nest_job *job, unsigned k, int ret,
			   const struct rig_run_summary *sum);
	void *user;
	/* Filled by rig_station_run: */
	unsigned units_run;
	int worst_ret;               /* the first negative rig_run_unit return, else 0 */
	enum rig_outcome worst;      /* the worst outcome of its units (PASS when none ran) */
};

/** Run every job in a thread of its own (at most one job per nest) and wait
 *  for all of them. Ctrl-C stops every nest (each put safe, each run
 *  recorded ABORTED); rig_station_stop_nest stops one. 0, or RIG_ERR_ARG
 *  (two jobs for one nest, a nest the fixture lacks), RIG_ERR_NOMEM. */
int rig_station_run(struct rig_station *st, struct rig_nest_job *jobs, size_t n_jobs);

/** Stop the work of nest @p nest (from any thread, e.g. a UI): its run ends
 *  ABORTED with the pen safe, the other nests go on. RIG_ERR_ARG when the
 *  nest is not in the fixture. */
int rig_station_stop_nest(struct rig_station *st, unsigned nest);

/** Captures the station's DAQ took, and how many requests of nests they
 *  served (more requests than captures: captures were shared). */
void rig_station_capture_counts(const struct rig_station *st, unsigned long *captures,
				unsigned long *requests);

#endif
