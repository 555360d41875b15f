/* Private state of one run (rig_run_unit) shared by the runner and the step
 * implementations: the nest's open instruments and pen, what the steps
 * learned (identity, sweeps, the new table), and the record being built. */
#ifndef RIGI_EXEC_H
#define RIGI_EXEC_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <rig/analysis.h>
#include <rig/dut.h>
#include <rig/event.h>
#include <rig/instr.h>
#include <rig/run.h>
#include <rig/station.h>
#include <rig/suite.h>
#include <rig/table.h>

#define RIGI_SWEEP_MAX 256

/* One point of a sweep: the raw value applied and what was measured. */
struct rigi_sweep {
	double x[RIGI_SWEEP_MAX];  /* code or duty */
	double y[RIGI_SWEEP_MAX];  /* protrusion µm or rate strokes/s */
	size_t n;
};

/* One DAQ capture of the nest, analysed. */
struct rigi_sample {
	struct rig_analysis *an;   /* owned; NULL when the capture failed */
	struct rig_capture *cap;   /* owned; its samples, kept by rigi_sample_take_keep only */
	size_t n_accepted;         /* accepted strokes */
	double max_force_mn;       /* largest force seen (safety) */
	double max_disp_um;        /* largest protrusion seen (safety) */
};

#define RIGI_MAX_SINKS 8

struct rigi_run {
	const struct rig_run_options *opt;
	struct rig_station *station;   /* opt->station, or the run's own */
	const struct rig_fixture *fx;
	const struct rig_nest *nest;
	struct rig_run_summary *sum;
	double time_scale;
	unsigned step_index;
	char run_id[RIG_RUN_ID_MAX];
	const char *reports, *calibrations;

	/* The event stream: sinks registered for this run. */
	struct rig_event_sink sinks[RIGI_MAX_SINKS];
	size_t n_sinks;
	int sink_error;             /* a required sink failed: a rig_err, else 0 */
	char sink_detail[RIG_RECORD_REASON_MAX];
	int nest_lock;              /* the nest's lock file, -1 when not held */
	uint64_t phantom_strokes_before;
	char progress_text[256];    /* the last progress text: what is measured now */

	struct rig_displacement *disp;
	struct rig_force *force;
	struct rig_dut *dut;
	struct rigi_keeper *keeper;     /* keeps the pen alive while the run works (nest.c) */
	struct rig_dut_identity id;
	int have_id;
	int authenticated;
	uint8_t key[RIG_KEY_BYTES];
	int have_key;
	int rezero;                     /* readiness zeroed: re-zero before each depth step */

	struct rigi_sweep depth_sweep;  /* code -> protrusion */
	struct rigi_sweep rate_sweep;   /* duty -> strokes/s */
	uint16_t rate_sweep_code;
	struct rig_cal_table table;     /* built by the fit step */
	int have_table;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
	size_t blob_len;
	int table_written;
};

/* A step's result: its outcome and a reason in words. */
struct rigi_step_result {
	enum rig_outcome outcome;
	char reason[RIG_RECORD_REASON_MAX];
	int err;   /* the rig_err behind an ERROR or ABORTED, when one is known */
};

/* ---- setpoints.c: the pen's user setpoints ---- */
#define RIGI_MAX_SETPOINTS RIG_CAL_TABLE_MAX_KNOTS
/** depth_min..depth_max by depth_step, depth_max always included; returns
 *  the count, or RIG_ERR_RANGE when more than @p cap. */
int rigi_user_depths(const struct rig_dut_identity *id, uint16_t *out, size_t cap);
/** The speed levels, increasing; the count or a negative rig_err. */
int rigi_user_rates(const struct rig_dut_identity *id, uint16_t *out, size_t cap);
/** Index of the middle of @p n sorted setpoints: (n - 1) / 2, the lower
 *  middle of an even count. */
size_t rigi_middle_index(size_t n);
/** The middle user depth (where rates are calibrated and checked). */
uint16_t rigi_middle_depth(const struct rig_dut_identity *id);

/* ---- nest.c: instruments, pen, safe state ---- */
int rigi_nest_open(struct rigi_run *r);
void rigi_nest_close(struct rigi_run *r);
/** Motor off and service mode left (SAFE); returns 0 when the pen confirmed. */
int rigi_nest_make_safe(struct rigi_run *r, char *detail, size_t cap);
int rigi_ensure_key(struct rigi_run *r);
int rigi_ensure_auth(struct rigi_run *r);
/** Wait @p ms of station time (divided by the time scale); RIG_ERR_INTERRUPTED
 *  when Ctrl-C arrives meanwhile. Keeps the pen's link alive. */
int rigi_settle(struct rigi_run *r, unsigned ms);
/** Re-zero the displacement sensor before a step that measures depth (when
 *  readiness zeroed it): its drift since then would otherwise enter every
 *  reading. 0, or the error with @p res set. */
int rigi_rezero(struct rigi_run *r, struct rigi_step_result *res);
/* Longest real time a run leaves its pen without a frame: a quarter of the
 * pen's host-loss watchdog (docs/protocol.md). */
#define RIGI_KEEPALIVE_MS 250
/** Send the pen a STATUS if it heard nothing for RIGI_KEEPALIVE_MS; every
 *  wait of a run calls it (@p run is a struct rigi_run *, for callbacks). */
int rigi_keepalive(void *run);
/** Work ahead that does not touch the pen but may take long in real time
 *  (the evidence sinks writing to disk, a capture's analysis on a loaded
 *  host): a second thread keeps the pen alive until the matching
 *  rigi_keeper_release. Holds nest; the pen is the keeper's meanwhile, so
 *  the work must not touch it. Without a pen (or threads) it does nothing. */
void rigi_keeper_hold(struct rigi_run *r);
void rigi_keeper_release(struct rigi_run *r);

/* ---- measure.c: one capture, analysed, and its uncertainty ---- */

/* Relative standard uncertainty of the DAQ's sample clock (a crystal,
 * 50 ppm tolerance taken as a rectangular distribution). */
#define RIGI_DAQ_CLOCK_REL_U (50e-6 / 1.7320508075688772)
int rigi_sample_take(struct rigi_run *r, double capture_s, struct rigi_sample *out);
/** rigi_sample_take keeping the capture's samples in out->cap (a step that
 *  reads the waveform itself: the needle count). */
int rigi_sample_take_keep(struct rigi_run *r, double capture_s, struct rigi_sample *out);
void rigi_sample_free(struct rigi_sample *s);
/** Both sensors of the nest read OK now: 0, or RIG_ERR_INSTRUMENT / a link
 *  error naming the sensor. */
int rigi_sensors_ok(struct rigi_run *r);
/** Expanded uncertainty (k = 2) of the mean protrusion / stroke rate (in
 *  strokes per minute) of a sample, from the scatter of its strokes and the
 *  station's sensor calibration. */
double rigi_protrusion_u(const struct rigi_run *r, const struct rig_analysis *an);
/** The same U itemised into @p m's budget (and m->u_expanded): the strokes'
 *  repeatability and the sensor's calibration / the DAQ's clock. */
void rigi_protrusion_budget(const struct rigi_run *r, const struct rig_analysis *an,
			   struct rig_measurement *m);
void rigi_rate_budget(const struct rigi_run *r, const struct rig_analysis *an,
		      struct rig_measurement *m);
void rigi_penetration_budget(const struct rigi_run *r, const struct rig_analysis *an,
			     struct rig_measurement *m);
double rigi_rate_u_spm(const struct rigi_run *r, const struct rig_analysis *an);
/** Safety interlock: RIG_ERR_INSTRUMENT-free check of a sample against the
 *  fixture's limits; non-zero (and a reason) when it was exceeded. */
int rigi_sample_unsafe(const struct rigi_run *r, const struct rigi_sample *s, char *why,
		       size_t cap);
/** After taking @p s for @p what: @p ret < 0 → @p res from the error;
 *  the safety interlock tripped → ABORTED and RIG_ERR_RANGE; else 0. */
int rigi_sample_checked(struct rigi_run *r, int ret, const struct rigi_sample *s,
			const char *what, struct rigi_step_result *res);

/* ---- adaptive.c: a point measured until its uncertainty is good enough ---- */

/* Strokes of several captures pooled as one sample. */
struct rigi_pool {
	struct rigi_sample s;      /* the pooled analysis: strokes in capture order, counts
				      summed, summaries over all; its protrusion_um.sem and
				      stroke_rate_u_hz are widened for the correlation of
				      neighbours within a capture */
	unsigned *chunk;           /* the capture (from 0) of each pooled stroke */
	unsigned n_chunks;
	double capture_s;          /* captured in all */
	double protrusion_rho1;    /* lag-1 autocorrelation of protrusions (NaN: too few) */
};
/** Pool @p s (taken over @p capture_s) after what @p p holds: 0 or
 *  RIG_ERR_NOMEM. */
int rigi_pool_add(struct rigi_pool *p, const struct rigi_sample *s, double capture_s);
/** Pool all of @p from after what @p to holds. */
int rigi_pool_merge(struct rigi_pool *to, const struct rigi_pool *from);
void rigi_pool_free(struct rigi_pool *p);
/** Lag-1 autocorrelation of a stroke field (@p field an offsetof into
 *  struct rig_stroke; @p recip: of its reciprocal) about @p mean, over
 *  accepted neighbours of the same capture only; NaN with fewer than two
 *  pairs. */
double rigi_pool_lag1(const struct rig_analysis *an, const unsigned *chunk, size_t field,
		      int recip, double mean);

/* What a point's measurement is for: the quantities it judges. */
struct rigi_need {
	int depth, rate;
};
/* Where a pooled measurement stands. */
struct rigi_pooled_u {
	size_t n_accepted;
	size_t n_rate;             /* of them, with a period (none at a capture's end) */
	double capture_s;
	double depth_um;           /* standard uncertainty of the mean protrusion from the
				      strokes (INFINITY: none yet) */
	double rate_pct;           /* ... of the mean rate, % of it */
};
enum rigi_adapt {
	RIGI_ADAPT_MORE = 0,       /* capture more */
	RIGI_ADAPT_MET,            /* min_strokes and every target reached */
	RIGI_ADAPT_MAX,            /* max_capture_s captured: stated with the U it has */
	RIGI_ADAPT_HOPELESS,       /* at this pace max_capture_s cannot give min_strokes */
};
/** The stopping rule (docs/analysis.md §11). */
enum rigi_adapt rigi_adaptive_enough(const struct rig_adaptive *a, const struct rigi_need *need,
				     const struct rigi_pooled_u *u);
/** The next capture's length: what the scatter so far says the targets
 *  still need (1/sqrt(n)), at least chunk_s, at most what max_capture_s
 *  leaves. */
double rigi_adaptive_next_s(const struct rig_adaptive *a, const struct rigi_need *need,
			    const struct rigi_pooled_u *u);
/** 1 when two consecutive settling windows agree within the bands (or hold
 *  too few strokes to compare), else 0. */
int rigi_settled(const struct rig_adaptive *a, const struct rig_analysis *w1,
		 const struct rig_analysis *w2);
/* What an adaptive measurement took. */
struct rigi_adapt_stats {
	double settle_s;           /* captures dropped while the signal settled */
	int unsettled;             /* max_settle_s passed without settling */
	double capture_s;          /* pooled */
	unsigned captures;
	enum rigi_adapt stop;
};
/** Measure one point adaptively (@p what names it in messages): settle,
 *  then pool captures until rigi_adaptive_enough. *@p out as from
 *  rigi_sample_take (free it with rigi_sample_free); a tripped safety
 *  interlock ends it early (check rigi_sample_unsafe). 0 or a rig_err. */
int rigi_sample_adaptive(struct rigi_run *r, const struct rig_adaptive *a,
			 const struct rigi_need *need, const char *what, struct rigi_sample *out,
			 struct rigi_adapt_stats *st);

/** Decide why a capture had too few strokes and set @p res: a sensor in
 *  FAULT or unreadable → ERROR; the pen reporting a fault → FAIL naming it;
 *  strokes the pen skipped → FAIL; no evidence → ERROR (retest). */
void rigi_explain_no_strokes(struct rigi_run *r, const struct rigi_sample *s, const char *what,
			     struct rigi_step_result *res);

/* ---- steps ---- */
void rigi_step_identify(struct rigi_run *r, const struct rig_step *st,
			struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_readiness(struct rigi_run *r, const struct rig_step *st,
			 struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_measure(struct rigi_run *r, const struct rig_step *st,
		       struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_depth_sweep(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_rate_sweep(struct rigi_run *r, const struct rig_step *st,
			  struct rig_record_step *rs, struct rigi_step_result *res);
/** A reported (not judged) measurement of @p rs. */
void rigi_add_reported(struct rigi_run *r, struct rig_record_step *rs, const char *name,
		       const char *quantity, const char *unit, double setpoint, double value, double u,
		       size_t n);
/** The code of the middle user depth, read off the depth sweep; 0 when the
 *  sweep does not cover it (or did not run). */
uint16_t rigi_middle_code(const struct rigi_run *r);
void rigi_step_needle_count(struct rigi_run *r, const struct rig_step *st,
			    struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_run_in(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		      struct rigi_step_result *res);
void rigi_step_fit(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		   struct rigi_step_result *res);
void rigi_step_write_table(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res);
void rigi_step_read_back(struct rigi_run *r, const struct rig_step *st,
			 struct rig_record_step *rs, struct rigi_step_result *res);

/* ---- events.c: the run's event stream ---- */
/** Send @p ev (its time is set here) to every sink. A required sink that
 *  fails sets r->sink_error; the runner then stops before changing the pen
 *  further. Returns r->sink_error. */
int rigi_emit(struct rigi_run *r, struct rig_event *ev);
/** Add @p m to the step's measurements and emit it. */
int rigi_measurement_add(struct rigi_run *r, struct rig_record_step *rs,
			 const struct rig_measurement *m);
/** Emit the station event: each instrument's identity and certificate. */
int rigi_emit_station(struct rigi_run *r);
/** Fill the record header of this run (traceability) and emit run_begin. */
int rigi_emit_run_begin(struct rigi_run *r, const char *signing_key);

/* ---- tur.c: the test uncertainty ratio of a suite on a station ---- */

/** TUR of a measuring step's depth and rate setpoints on @p nest against the
 *  suite's min_tur; RIG_ERR_RANGE naming the step, setpoint and ratio. */
int rigi_tur_check_points(const struct rig_suite *suite, const struct rig_step *st,
			  const struct rig_nest *nest, const uint16_t *depths, size_t n_depths,
			  const uint16_t *rates, size_t n_rates);
/** Every measuring step of @p suite, as far as is known before the pen. */
int rigi_tur_check_suite(const struct rig_suite *suite, const struct rig_nest *nest);

/* ---- preflight.c: what is checked before the pen is touched ---- */

/** 1 when @p s has a write_table step. */
int rigi_suite_writes_table(const struct rig_suite *s);
/** Locks, the signing key, the line key, writable folders with room, the
 *  phantom's strokes.
 *  0, or a rig_err with the cause in rig_last_error(); *@p bad_input is
 *  set when the cause is an input file (the line key). */
int rigi_preflight(struct rigi_run *r, const char *signing_key, int *bad_input);
/* Longest reports or calibrations folder path: every file under them then
 * fits the record's path fields. */
#define RIGI_FOLDER_MAX 400
void rigi_release_locks(struct rigi_run *r);
/** The station's record-signing key file (the fixture's, or beside it). */
void rigi_signing_key_path(const struct rig_fixture *fx, char *out, size_t cap);

/* ---- station.c, captures.c: what the nests of a station share ---- */

struct rigi_capture_slot;

struct rig_station {
	const struct rig_fixture *fx;
	char *reports;              /* owned copy */
	double time_scale;
	char holder[160];
	int lock_fd[2];             /* station.lock (shared), daq.lock (this process) */
	int busy_err;               /* the DAQ lock is another process's: RIG_ERR_BUSY */
	char busy_detail[600];
	atomic_int stop[RIG_FIXTURE_MAX_NESTS]; /* by nest index */

	/* The capture scheduler (captures.c), under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct rig_daq *daq;        /* opened at the first need */
	struct rigi_capture_slot *pending[RIG_FIXTURE_MAX_NESTS];
	size_t n_pending;
	int busy;                   /* a nest leads a capture now */
	uint32_t active;            /* nests inside a run, by index */
	uint32_t last_batch;        /* the nests the last capture served */
	unsigned long captures, requests;
};

/** Take the lock file @p dir/@p name (flock @p op, LOCK_SH or LOCK_EX,
 *  never waiting); with @p note, "pid P, NOTE" is written into it for the
 *  next one who finds it held. The file descriptor (close it to release),
 *  RIG_ERR_BUSY with the holder's line in @p held_by (detail not set), or
 *  the error opening it. */
int rigi_lock_take(const char *dir, const char *name, int op, const char *note,
		   char *held_by, size_t cap);
/** The lock-file folder, reports/.station/<id>. */
void rigi_station_lock_dir(const struct rig_station *st, char *out, size_t cap);
/** 0 when this process holds the station's DAQ, else the error (BUSY, naming
 *  the holder) with its detail set. */
int rigi_station_check(const struct rig_station *st);
/** The DAQ's identity, or NULL before it was opened. */
const struct rig_daq_info *rigi_station_daq_info(struct rig_station *st);
/** Open the DAQ now if it is not (a run needs it before touching the pen). */
int rigi_station_daq_open(struct rig_station *st);

/* One nest's request for a capture of its channels. */
struct rigi_capture_req {
	unsigned nest;          /* the nest's index */
	uint16_t mask;          /* the nest's channels */
	uint32_t samples;       /* per channel */
	int16_t *buf;           /* samples x channels, interleaved in increasing channel */
	int (*keepalive)(void *arg); /* called while it waits; a failure is kept */
	void *arg;
};
/** Capture @p req: alone, or in one capture with other nests' requests of
 *  about the same time (docs/calibration.md, "Sharing the DAQ"). A nest's
 *  keepalive failure never spoils the others' capture. */
int rigi_station_capture(struct rig_station *st, const struct rigi_capture_req *req);
/** Nest @p nest enters (@p active 1) or leaves (0) a run: a shared capture
 *  waits for the nests that are running, not for idle ones. */
void rigi_station_nest_active(struct rig_station *st, unsigned nest, int active);

/* ---- runner.c ---- */
void rigi_progress(struct rigi_run *r, const char *step, unsigned point, unsigned n_points,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/** Set @p res from a rig error: station/link errors are ERROR, an interrupt
 *  is ABORTED; the reason names @p what and rig_last_error(). */
void rigi_result_from_error(struct rigi_run *r, struct rigi_step_result *res, int err,
			    const char *what);
void rigi_result_set(struct rigi_step_result *res, enum rig_outcome outcome, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));

#endif
