/* Outcomes, limits, measurements and the guard-banded decision rule.
 *
 * Decision rule (ILAC-G8:2019, guard band w = f * U with f >= 1, U the
 * expanded uncertainty at k = 2). With tolerance limits [low, high] on the
 * measured value v, the acceptance interval is [low + w, high - w]:
 *   PASS           low + w <= v <= high - w: the whole interval [v - w, v + w]
 *                  lies inside the tolerance. A PASS therefore means the unit
 *                  conforms with at least ~97.5 % confidence (f = 1): a wrong
 *                  PASS needs an error larger than the uncertainty claims.
 *   FAIL           rule "guarded" (the default): v - w > high or v + w < low,
 *                  i.e. the whole interval lies outside the tolerance, so a
 *                  FAIL is as trustworthy as a PASS and a good unit is not
 *                  scrapped on a noisy reading.
 *                  rule "guarded-accept": v > high or v < low (the best
 *                  estimate is outside the tolerance).
 *   INDETERMINATE  everything else (inside the guard band around a limit):
 *                  conformity is not proven either way; recalibrate or retest.
 * Worked example, tolerance +-50 um, U = 5 um, f = 1, rule "guarded":
 * error 44.9 PASS, 45.0 PASS, 45.1 INDETERMINATE, 55.0 INDETERMINATE,
 * 55.1 FAIL. Both rules share the PASS zone, so neither can pass a unit the
 * other would not. A measurement that could not be taken is ERROR, never
 * FAIL: a station fault is not a unit failure. */
#ifndef RIG_VERDICT_H
#define RIG_VERDICT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rig_outcome {
	RIG_OUTCOME_PASS = 0,          /* the unit meets the limit */
	RIG_OUTCOME_FAIL = 1,          /* the unit is bad */
	RIG_OUTCOME_INDETERMINATE = 2, /* inside the guard band: not proven either way */
	RIG_OUTCOME_ERROR = 3,         /* station or link failed: not judged, retest */
	RIG_OUTCOME_ABORTED = 4,       /* operator or safety interlock stopped it */
};

/** "PASS", "FAIL", "INDETERMINATE", "ERROR", "ABORTED"; "INVALID" for a
 *  value outside the enum. Static string. */
const char *rig_outcome_name(enum rig_outcome outcome);

/** Parse a name of rig_outcome_name(); returns the outcome or -1. */
int rig_outcome_parse(const char *name);

/** The worse of two outcomes: ERROR > ABORTED > FAIL > INDETERMINATE > PASS
 *  (a value outside the enum counts as ERROR). */
enum rig_outcome rig_outcome_combine(enum rig_outcome a, enum rig_outcome b);

/** The unit's outcome from its parts: any ERROR -> ERROR, else any ABORTED
 *  -> ABORTED, else any FAIL -> FAIL, else any INDETERMINATE ->
 *  INDETERMINATE, else PASS. @p n == 0 gives ERROR: nothing was judged. */
enum rig_outcome rig_outcome_aggregate(const enum rig_outcome *outcomes, size_t n);

enum rig_guard {
	RIG_GUARD_GUARDED = 0,        /* guarded acceptance and guarded rejection */
	RIG_GUARD_GUARDED_ACCEPT = 1, /* guarded acceptance, rejection outside the tolerance */
};

/** "guarded" or "guarded-accept" ("invalid" otherwise). */
const char *rig_guard_name(enum rig_guard guard);

/** Parse a name of rig_guard_name(); returns the rule or -1. */
int rig_guard_parse(const char *name);

/** A tolerance rule as suites state it: half-width
 *  T(setpoint) = max(abs, rel * |setpoint|) around the setpoint. */
struct rig_tolerance {
	double abs;            /* in the quantity's unit; 0: none */
	double rel;            /* fraction of the setpoint (0.05 = 5 %); 0: none */
	enum rig_guard guard;
	double guard_factor;   /* f in w = f * U, >= 1 */
};

#define RIG_UNIT_MAX 8

/** Tolerance limits on a measured value, and how to guard them. */
struct rig_limit {
	double low, high;      /* tolerance limits on the value, low <= high */
	double nominal;        /* the value aimed at (the setpoint) */
	char unit[RIG_UNIT_MAX]; /* "um", "spm", "mN" */
	enum rig_guard guard;
	double guard_factor;   /* f in w = f * U, >= 1 */
};

/** Limits for @p setpoint from a tolerance rule: nominal = setpoint,
 *  low/high = setpoint -/+ T. Returns 0 or RIG_ERR_ARG (negative or
 *  non-finite parts, both parts zero, guard_factor < 1, unit too long). */
int rig_limit_from_tolerance(const struct rig_tolerance *tol, double setpoint, const char *unit,
			     struct rig_limit *out);

#define RIG_MEASUREMENT_NAME_MAX 64
#define RIG_MEASUREMENT_REASON_MAX 256

/** One measured quantity at one setpoint and its verdict. Plain data: copy
 *  freely. */
#define RIG_U_BUDGET_MAX 4

/** One contribution to a measurement's combined standard uncertainty u_c
 *  (U = k·u_c; u_c² is the sum of the contributions' squares): a standard
 *  uncertainty (k = 1) in the measurement's unit, and its source. */
struct rig_u_component {
	char source[24];   /* "repeatability", "sensor_calibration", "daq_clock", ... */
	double u;
};

struct rig_measurement {
	char name[RIG_MEASUREMENT_NAME_MAX];  /* unique in its step, e.g. "depth@1000" */
	char quantity[24];     /* "protrusion", "penetration", "rate", ... */
	char unit[RIG_UNIT_MAX];
	double setpoint;       /* NAN when there is none */
	double value;          /* best estimate; NAN when not taken */
	double error;          /* value - limit.nominal (value - setpoint when not judged) */
	double u_expanded;     /* U = k * u_c, in unit */
	double k;              /* coverage factor of U (2) */
	unsigned n;            /* strokes or readings behind the value */
	int judged;            /* 1: limit, acceptance and outcome apply; 0: reported only */
	struct rig_limit limit;
	double accept_low, accept_high; /* acceptance interval [low + w, high - w] */
	enum rig_outcome outcome;
	char reason[RIG_MEASUREMENT_REASON_MAX]; /* why, in words, with the numbers */
	struct rig_u_component budget[RIG_U_BUDGET_MAX]; /* what U is made of */
	unsigned n_budget;     /* 0: U not itemised */
};

/** Start a measurement: names copied (truncated to their fields), value,
 *  error and U NAN, k = 2, not judged, outcome ERROR "not measured". */
void rig_measurement_init(struct rig_measurement *m, const char *name, const char *quantity,
			  const char *unit, double setpoint);

/** Judge m->value with m->u_expanded against @p limit (copied): fills
 *  error, acceptance interval, outcome and reason, and sets judged. A value
 *  or U that is not finite (or U < 0) gives outcome ERROR (not measured
 *  properly), never FAIL. @p limit NULL: report only (error vs setpoint,
 *  judged = 0). Returns 0, or RIG_ERR_ARG for an invalid limit or a unit
 *  differing from m->unit (outcome ERROR). */
int rig_measurement_judge(struct rig_measurement *m, const struct rig_limit *limit);

/** Itemise U: append a component (ignored beyond RIG_U_BUDGET_MAX) and
 *  set m->u_expanded = k·sqrt(sum of the components' squares). */
void rig_measurement_add_u(struct rig_measurement *m, const char *source, double u);

/** Mark a measurement that could not be taken: outcome ERROR, judged, the
 *  value NAN, @p reason copied. */
void rig_measurement_set_error(struct rig_measurement *m, const char *reason);

/** The decision rule alone: outcome of @p value with expanded uncertainty
 *  @p u_expanded against @p limit (ERROR for non-finite input or an
 *  invalid limit). */
enum rig_outcome rig_verdict_decide(double value, double u_expanded,
				    const struct rig_limit *limit);

/** Aggregate the judged measurements of @p m (rig_outcome_aggregate over
 *  those with judged set; none judged gives ERROR). */
enum rig_outcome rig_measurements_outcome(const struct rig_measurement *m, size_t n);

/* ---- test uncertainty ratio ---- */

#define RIG_TUR_MIN 4.0

/** TUR = tolerance half-width / station expanded uncertainty
 *  ((high - low) / (2 * station_u), station_u at k = 2). Infinity when
 *  station_u is 0; NAN for invalid input. */
double rig_verdict_tur(const struct rig_limit *limit, double station_u);

/** Check TUR >= RIG_TUR_MIN (4:1). Returns 0, or RIG_ERR_RANGE with
 *  rig_last_error() giving the ratio, the tolerance and the uncertainty.
 *  @p tur (may be NULL) receives the ratio. */
int rig_verdict_check_tur(const struct rig_limit *limit, double station_u, double *tur);

#ifdef __cplusplus
}
#endif
#endif
