/* Test suite files (files in fixtures/suites/, format in docs/files.md): what
 * to run on a unit — name, version, default acceptance limits, and ordered
 * steps with their parameters. Depths are in µm, rates in strokes per minute
 * (the pen's units, docs/protocol.md), actuator codes raw, duties in
 * permille. */
#ifndef RIG_SUITE_H
#define RIG_SUITE_H

#include <stddef.h>
#include <stdint.h>

#include <rig/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rig_step_type {
	RIG_STEP_IDENTIFY = 0,    /* read the pen's identity */
	RIG_STEP_READINESS,       /* zero sensors, phantom fresh, station calibration in date */
	RIG_STEP_AS_FOUND,        /* measure at the user setpoints before adjusting */
	RIG_STEP_DEPTH_SWEEP,     /* service mode: raw codes -> protrusion */
	RIG_STEP_RATE_SWEEP,      /* service mode: raw duties -> stroke rate */
	RIG_STEP_FIT,             /* fit and invert to table knots */
	RIG_STEP_WRITE_TABLE,     /* write the signed table (A/B slot, commit) */
	RIG_STEP_READ_BACK,       /* read the active table back, compare bytes */
	RIG_STEP_AS_LEFT,         /* measure again after adjusting; the acceptance verdict */
	RIG_STEP_RUN_IN,          /* service mode: run the drive until its rate is stable */
	RIG_STEP_NEEDLE_COUNT,    /* service mode: count the needles in a slow puncture */
};

/** Name as written in suite files ("identify", "as_found", ...); NULL for a
 *  value outside the enum. */
const char *rig_step_type_name(enum rig_step_type type);

/** Parse a step type name; returns the type or -1. */
int rig_step_type_parse(const char *name);

/** Adaptive measurement of one point (docs/files.md, docs/analysis.md §11):
 *  settling detected from the signal, then short captures pooled until the
 *  standard uncertainty of the mean from the strokes reaches its target. Off (on == 0): one
 *  capture of the step's capture_s after its fixed settling wait. */
struct rig_adaptive {
	int on;                  /* 1 when the step gives a target */
	double target_u_um;      /* standard uncertainty of the mean protrusion from the
				    strokes' scatter to reach, µm; 0: not a criterion */
	double target_u_pct;     /* ... of the mean stroke rate, % of it; 0: none */
	double chunk_s;          /* each capture (default 0.1) */
	double max_capture_s;    /* pooled capture of a point at most (default 2) */
	unsigned min_strokes;    /* accepted strokes at least, however good U is */
	double settle_band_um;   /* settled: two consecutive windows' mean protrusions
				    within this (default 1.0) */
	double settle_band_pct;  /* ... and their mean rates within this % (default 1.0) */
	double max_settle_s;     /* not settled by then: measured anyway, with a
				    warning (default 1) */
};

/** as_found / as_left: where to measure and how. */
struct rig_step_measure {
	int user_setpoints;      /* 1: every depth setpoint (depth_min..depth_max by
				    depth_step) and every speed level the pen declares */
	uint16_t *depths_um;     /* explicit setpoints (user_setpoints == 0), increasing */
	size_t n_depths;
	uint16_t *rates_spm;
	size_t n_rates;
	int grid;                /* 1: every depth at every rate; 0: each depth at the
				    middle rate and each rate at the middle depth */
	double capture_s;        /* DAQ capture per setpoint */
	unsigned min_strokes;    /* fewer valid strokes make the measurement ERROR */
	struct rig_tolerance depth; /* resolved: the step's override or the suite default */
	struct rig_tolerance rate;
	/* Health of the unit, judged in as-found and as-left alike (a unit that
	 * fails them is not calibrated further): */
	int corner;              /* 1 (default): also the deepest setpoint at the fastest
				    speed, the heaviest load (a stalling drive shows here) */
	double max_puncture_force_mn; /* median puncture force above this: bent or blunt
				    needles (0: not checked) */
	double max_drift_um;     /* the first depth point is measured again at the end; a
				    larger change: the depth setting slips (0: not checked) */
	double max_skipped_pct;  /* skipped strokes over all captures, % (default 1) */
	struct rig_adaptive adaptive; /* on: instead of capture_s (min_strokes shared) */
};

/** depth_sweep: raw actuator codes, approached from one side. */
struct rig_step_depth_sweep {
	uint16_t *codes;         /* increasing */
	size_t n_codes;
	uint16_t duty;           /* motor duty during the sweep, permille */
	int approach_up;         /* 1: reach each code from below (against backlash) */
	double capture_s;
	unsigned settle_ms;      /* wait after each change before capturing */
	uint16_t stop_above_um;  /* end the sweep once protrusion exceeds this; 0: never */
	struct rig_adaptive adaptive; /* on: instead of capture_s and settle_ms */
};

/** rate_sweep: raw motor duties at one code. */
struct rig_step_rate_sweep {
	uint16_t *duties;        /* increasing, permille */
	size_t n_duties;
	uint16_t code;           /* actuator code during the sweep; 0 (key absent):
				    the code of the middle user depth, read off the
				    depth sweep, so rates are calibrated under the load
				    at which they are checked */
	double capture_s;
	unsigned settle_ms;
	struct rig_adaptive adaptive; /* on: instead of capture_s and settle_ms */
};

/** run_in: the drive speeds up as it warms; calibrating its rates cold
 *  leaves a pen fast in use. Captures follow each other with the motor on
 *  until the rate's trend over the last window is confidently flat. */
struct rig_step_run_in {
	uint16_t code;           /* actuator code; 0: the middle user depth's, read off the
				    depth sweep (as the rate sweep) or the pen's lowest */
	uint16_t duty;           /* motor duty, permille (default 1000) */
	double capture_s;        /* each rate reading (default 2) */
	double window_s;         /* the trend is fitted over this much of the latest time
				    (default 30) */
	double max_slope_pct_per_min; /* stable: |slope| + 2 u(slope) at most this (0.25) */
	double min_s, max_s;     /* at least / at most this long (30 / 600); not stable by
				    max_s: FAIL (the drive does not settle) */
};

/** needle_count: a cartridge with a needle missing measures like a good
 *  one (it punctures at 11/12 of the force). In service mode the pen
 *  strokes slowly, just above its drive's dead band, with the peak a few
 *  tens of µm past the phantom's puncture, so the DAQ resolves the staircase
 *  of the individual needles' punctures in the force (docs/calibration.md
 *  "Needle count"). */
struct rig_step_needle_count {
	unsigned needles;        /* needles of the cartridge (required) */
	uint16_t probe_code;     /* first code probed for the puncture depth (1200) */
	uint16_t probe_duty;     /* duty of the probing strokes, permille (400) */
	double past_puncture_um; /* where the slow strokes' peak is aimed beyond it (40) */
	uint16_t min_duty, max_duty; /* where the dead band's edge is searched (100..300) */
	uint16_t above_dead_band; /* slow duty: the lowest that turns + this (4) */
	unsigned passes;         /* passes through the puncture to judge (3) */
	double max_s;            /* slow capturing at most this long (20) */
	double max_approach_um_per_ms; /* a faster pass is not judged (5) */
};

struct rig_step_fit {
	unsigned max_degree;     /* highest polynomial degree tried, 1..5 */
	int monotone;            /* always 1: pens refuse tables that do not increase */
};

struct rig_step_readiness {
	int zero_sensors;        /* re-zero displacement, tare force */
	int check_phantom;       /* refuse an expired or worn-out phantom */
	int check_calibration;   /* refuse station sensors past their due date */
};

struct rig_step {
	enum rig_step_type type;
	char *name;              /* label from the file, or the type name */
	unsigned line, column;   /* where the step starts in the file */
	union {                  /* by type; identify, write_table, read_back have none */
		struct rig_step_readiness readiness;
		struct rig_step_measure measure;   /* as_found, as_left */
		struct rig_step_depth_sweep depth_sweep;
		struct rig_step_rate_sweep rate_sweep;
		struct rig_step_run_in run_in;
		struct rig_step_needle_count needle_count;
		struct rig_step_fit fit;
	} u;
};

/** Default limits of a suite (steps may override them). Without a 'limits'
 *  section: as-found depth +-150 um, as-found rate +-10 %, as-left depth
 *  max(50 um, 5 % of setpoint), as-left rate 3 %, all "guarded", f = 1. */
struct rig_suite_limits {
	struct rig_tolerance as_found_depth;
	struct rig_tolerance as_found_rate;
	struct rig_tolerance as_left_depth;
	struct rig_tolerance as_left_rate;
};

struct rig_suite {
	char *path;
	char *name;
	char *version;
	char *description;       /* may be NULL */
	struct rig_suite_limits limits;
	double min_tur;          /* least test uncertainty ratio accepted (default 4) */
	struct rig_step *steps;
	size_t n_steps;
};

/** Load the suite file at @p path. Every problem (unknown key, wrong type,
 *  missing key, value out of range, unknown step type, steps in an order
 *  that cannot work) is RIG_ERR_FORMAT with rig_last_error()
 *  "FILE:LINE:COL: what was expected, what was found". No ${NAME}
 *  expansion: a suite means the same on every station. On success the
 *  caller owns *out and frees it with rig_suite_free(). */
int rig_suite_load(const char *path, struct rig_suite **out);

/** Free a suite; NULL is a no-op. */
void rig_suite_free(struct rig_suite *suite);

#ifdef __cplusplus
}
#endif
#endif
