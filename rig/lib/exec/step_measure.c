/* The as-found and as-left steps: in user mode, measure protrusion (and
 * effective penetration) at every depth setpoint and the stroke rate at
 * every speed level, each a judged measurement with its expanded
 * uncertainty. As-found verdicts flag drift; as-left verdicts decide. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

struct point {
	uint16_t depth_um, rate_spm;
	int judge_depth, judge_rate;
};

/* Each depth at the middle speed level, then each speed level at the middle
 * depth (grid: every pair), and the corner. Points are in increasing depth
 * so that the depth mechanism is always approached from below. Returns the
 * count, or a negative rig_err. */
static int plan_points(const struct rigi_run *r, const struct rig_step *st, struct point *pts,
		       size_t cap)
{
	const struct rig_step_measure *m = &st->u.measure;
	uint16_t depths[RIGI_MAX_SETPOINTS], rates[RIGI_MAX_SETPOINTS];
	int nd, nr;
	size_t n = 0;

	if (m->user_setpoints) {
		nd = rigi_user_depths(&r->id, depths, RIGI_MAX_SETPOINTS);
		nr = rigi_user_rates(&r->id, rates, RIGI_MAX_SETPOINTS);
	} else {
		nd = (int)(m->n_depths < RIGI_MAX_SETPOINTS ? m->n_depths : RIGI_MAX_SETPOINTS);
		nr = (int)(m->n_rates < RIGI_MAX_SETPOINTS ? m->n_rates : RIGI_MAX_SETPOINTS);
		for (int i = 0; i < nd; i++)
			depths[i] = m->depths_um[i];
		for (int i = 0; i < nr; i++)
			rates[i] = m->rates_spm[i];
	}
	if (nd < 0 || nr < 0)
		return nd < 0 ? nd : nr;
	if (nd == 0 || nr == 0)
		return rigi_fail(RIG_ERR_ARG, "no setpoints to measure");
	int ret = rigi_tur_check_points(r->opt->suite, st, r->nest, depths, (size_t)nd, rates,
					(size_t)nr);
	if (ret < 0)
		return ret;
	uint16_t mid_depth = depths[rigi_middle_index((size_t)nd)];
	uint16_t mid_rate = rates[rigi_middle_index((size_t)nr)];
	for (int i = 0; i < nd; i++)
		for (int j = 0; j < nr; j++) {
			int on_depth_axis = rates[j] == mid_rate;
			int on_rate_axis = depths[i] == mid_depth;
			int corner = m->corner && i == nd - 1 && j == nr - 1;
			if (!m->grid && !on_depth_axis && !on_rate_axis && !corner)
				continue;
			if (n == cap)
				return rigi_fail(RIG_ERR_RANGE, "more than %zu points to measure", cap);
			/* The corner (heaviest load) checks the depth and that the drive
			 * copes; its rate is reported, since rates are specified at the
			 * middle depth where the drive's sag was calibrated. */
			pts[n++] = (struct point){depths[i], rates[j],
						  m->grid || on_depth_axis || corner,
						  m->grid || on_rate_axis};
		}
	return (int)n;
}

/* Judge against the tolerance; a limit that cannot be formed is an ERROR
 * measurement, never an unjudged one (unjudged ones do not count). */
static int judge(struct rigi_run *r, struct rig_record_step *rs, struct rig_measurement *m,
		 const struct rig_tolerance *tol, double *worst, double scale)
{
	struct rig_limit lim;
	double e;
	if (rig_limit_from_tolerance(tol, m->setpoint, m->unit, &lim) == 0)
		rig_measurement_judge(m, &lim);
	else
		rig_measurement_set_error(m, rig_last_error());
	e = m->error * scale;
	if (isfinite(e) && (isnan(*worst) || fabs(e) > fabs(*worst)))
		*worst = e;
	return rigi_measurement_add(r, rs, m);
}

/* Record the measurements of one point from its analysed sample; 0 or
 * RIG_ERR_NOMEM (a verdict that cannot be recorded must not be lost). */
static int record_point(struct rigi_run *r, const struct rig_step_measure *m,
			struct rig_record_step *rs, const struct point *p,
			const struct rig_analysis *an, double *worst_depth, double *worst_rate)
{
	struct rig_measurement meas;
	char name[RIG_MEASUREMENT_NAME_MAX];
	int ret = 0;

	if (p->judge_depth) {
		snprintf(name, sizeof(name), "protrusion@%uum/%uspm", p->depth_um, p->rate_spm);
		rig_measurement_init(&meas, name, "protrusion", "um", p->depth_um);
		meas.value = an->protrusion_um.mean;
		rigi_protrusion_budget(r, an, &meas);
		meas.n = (unsigned)an->protrusion_um.n;
		ret |= judge(r, rs, &meas, &m->depth, worst_depth, 1.0);
		snprintf(name, sizeof(name), "penetration@%uum/%uspm", p->depth_um, p->rate_spm);
		rig_measurement_init(&meas, name, "penetration", "um", p->depth_um);
		meas.value = an->penetration_um.n ? an->penetration_um.mean : NAN;
		if (an->penetration_um.n)
			rigi_penetration_budget(r, an, &meas);
		meas.n = (unsigned)an->penetration_um.n;
		rig_measurement_judge(&meas, NULL);
		ret |= rigi_measurement_add(r, rs, &meas);
	}
	if (p->judge_rate) {
		double pct_scale = 100.0 / p->rate_spm;
		snprintf(name, sizeof(name), "rate@%uspm/%uum", p->rate_spm, p->depth_um);
		rig_measurement_init(&meas, name, "rate", "spm", p->rate_spm);
		meas.value = an->stroke_rate_hz.mean * 60.0;
		rigi_rate_budget(r, an, &meas);
		meas.n = (unsigned)an->stroke_rate_hz.n;
		ret |= judge(r, rs, &meas, &m->rate, worst_rate, pct_scale);
	}
	return ret ? RIG_ERR_NOMEM : 0;
}

/* Start from the lowest code so that every setpoint is approached from
 * below, as the depth sweep was (backlash). Needs service mode, so only when
 * the line key is at hand; otherwise the first point may carry backlash. */
static int approach_from_below(struct rigi_run *r)
{
	if (rigi_ensure_auth(r) == 0 && rig_dut_set_service(r->dut, r->id.code_min, 0) == 0)
		return 1;
	RIGI_WARN("run", "cannot take up the backlash from below (%s); continuing",
		  rig_last_error());
	return 0;
}

/* A slow pen, or one that skips strokes, gives fewer strokes than the
 * capture was sized for: measure it again for as long as its own stroke
 * count says it needs (at most MAX_EXTENSION times the suite's capture), so
 * a healthy slow pen is measured rather than refused, and a skipping one is
 * judged on its skips. A capture with hardly any stroke is left to
 * check_strokes: that is a pen that does not stroke, or a station fault. */
#define MAX_EXTENSION 4.0
static int extend_if_slow(struct rigi_run *r, const struct rig_step *st, const struct point *p,
			  struct rigi_sample *s)
{
	const struct rig_step_measure *m = &st->u.measure;
	double needed_s;

	if (s->n_accepted >= m->min_strokes || 4 * s->n_accepted < m->min_strokes)
		return 0;
	/* + 3: the two partial strokes at the ends and one to spare; 10 % margin. */
	needed_s = m->capture_s * (m->min_strokes + 3) / (double)s->n_accepted * 1.1;
	if (needed_s > MAX_EXTENSION * m->capture_s)
		needed_s = MAX_EXTENSION * m->capture_s;
	RIGI_INFO("run", "nest %u: %zu valid strokes in %.2f s at %u um / %u spm (%u needed): "
		  "measuring %.2f s", r->nest->index, s->n_accepted, m->capture_s, p->depth_um,
		  p->rate_spm, m->min_strokes, needed_s);
	rigi_sample_free(s);
	return rigi_sample_take(r, needed_s, s);
}

/* Settling and capture time of a step's points (adaptive measurement). */
struct step_time {
	double settle_s, capture_s;
	unsigned points, unsettled, at_max;
};

/* The suite's fixed rule (a 300 ms wait, one capture of capture_s,
 * extended for a slow pen) or its adaptive one. */
static int sample_point(struct rigi_run *r, const struct rig_step *st, const struct point *p,
			const char *what, struct rigi_sample *s, struct step_time *t)
{
	const struct rig_step_measure *m = &st->u.measure;
	struct rigi_need need = {p->judge_depth, p->judge_rate};
	struct rigi_adapt_stats as;
	int ret;
	if (!m->adaptive.on) {
		ret = rigi_settle(r, 300);
		if (ret == 0)
			ret = rigi_sample_take(r, m->capture_s, s);
		return ret == 0 ? extend_if_slow(r, st, p, s) : ret;
	}
	ret = rigi_sample_adaptive(r, &m->adaptive, &need, what, s, &as);
	if (ret == 0) {
		t->settle_s += as.settle_s;
		t->capture_s += as.capture_s;
		t->points++;
		t->unsettled += (unsigned)as.unsettled;
		t->at_max += as.stop == RIGI_ADAPT_MAX;
	}
	return ret;
}

static int measure_point(struct rigi_run *r, const struct rig_step *st, const struct point *p,
			 struct rigi_sample *s, struct step_time *t, struct rigi_step_result *res)
{
	uint16_t code, duty;
	char why[256], what[96];
	int ret;
	*s = (struct rigi_sample){0};
	snprintf(what, sizeof(what), "%u um / %u spm", p->depth_um, p->rate_spm);
	ret = rig_dut_set_user(r->dut, p->depth_um, p->rate_spm, &code, &duty);
	if (ret == 0)
		ret = rig_dut_motor(r->dut, 1);
	if (ret == 0)
		ret = sample_point(r, st, p, what, s, t);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, what);
		return ret;
	}
	if (rigi_sample_unsafe(r, s, why, sizeof(why))) {
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s at %u um / %u spm", why, p->depth_um,
				p->rate_spm);
		return RIG_ERR_RANGE;
	}
	return 0;
}

/* Too few strokes: a sensor reporting a fault, or no evidence either way,
 * is the station's problem (ERROR); a pen reporting its own fault is the
 * unit's (FAIL). Never a verdict on a capture that did not see the pen. */
static int check_strokes(struct rigi_run *r, const struct rig_step *st, const struct point *p,
			 const struct rigi_sample *s, struct rigi_step_result *res)
{
	char what[96];
	if (s->n_accepted >= st->u.measure.min_strokes)
		return 0;
	snprintf(what, sizeof(what), "%zu valid strokes at %u um / %u spm (at least %u needed)",
		 s->n_accepted, p->depth_um, p->rate_spm, st->u.measure.min_strokes);
	rigi_explain_no_strokes(r, s, what, res);
	return -1;
}

/* What a step's points tell about the unit's health. */
struct health {
	size_t accepted, skipped;
	double *puncture_mn;   /* puncture forces of every punctured stroke */
	size_t n_puncture;
	double first_um;       /* protrusion of the first point */
	double first_sem;      /* and its standard uncertainty of the mean */
	struct step_time time; /* of adaptive measurement */
};

static void health_add(struct health *h, const struct rig_analysis *an)
{
	double *grown = realloc(h->puncture_mn, (h->n_puncture + an->n_strokes) * sizeof(double));
	h->accepted += an->count[RIG_STROKE_OK];
	h->skipped += an->count[RIG_STROKE_SKIPPED];
	if (!grown)
		return;
	h->puncture_mn = grown;
	for (size_t i = 0; i < an->n_strokes; i++)
		if (an->strokes[i].status == RIG_STROKE_OK && an->strokes[i].punctured)
			h->puncture_mn[h->n_puncture++] = an->strokes[i].puncture_force_mn;
}

/* A judged measurement against an upper limit; returns its outcome and
 * appends @p what to @p why when it is not PASS. */
static enum rig_outcome judge_max(struct rigi_run *r, struct rig_record_step *rs, const char *name,
				  const char *quantity, const char *unit, double value, double U,
				  unsigned n, double max, const char *what, char *why, size_t cap)
{
	struct rig_measurement m;
	struct rig_limit lim = {.low = -max, .high = max, .nominal = 0, .guard = RIG_GUARD_GUARDED,
				.guard_factor = 1};
	if (strcmp(quantity, "drift") != 0)
		lim.low = 0;
	snprintf(lim.unit, sizeof(lim.unit), "%s", unit);
	rig_measurement_init(&m, name, quantity, unit, NAN);
	m.value = value;
	m.u_expanded = U;
	m.n = n;
	rig_measurement_judge(&m, &lim);
	rigi_measurement_add(r, rs, &m);
	if (m.outcome != RIG_OUTCOME_PASS)
		snprintf(why + strlen(why), cap - strlen(why), "%s%s %s: %.4g %s (limit %.4g %s): %s",
			 why[0] ? "; " : "", rig_outcome_name(m.outcome), quantity, value, unit, max,
			 unit, what);
	return m.outcome;
}

/* Re-measure the first point, approached from below as before. */
static int measure_drift(struct rigi_run *r, const struct rig_step *st, const struct point *p,
			 double *now_um, double *now_sem, struct step_time *t,
			 struct rigi_step_result *res)
{
	struct rigi_sample s;
	int ret;
	approach_from_below(r);
	ret = measure_point(r, st, p, &s, t, res);
	if (ret == 0)
		ret = check_strokes(r, st, p, &s, res);
	if (ret == 0) {
		*now_um = s.an->protrusion_um.mean;
		*now_sem = s.an->protrusion_um.sem;
	}
	rigi_sample_free(&s);
	return ret;
}

/* The unit's health over the step: skipped strokes, puncture force (and that
 * needles puncture at all), depth drift. Returns 0 with the outcome in *o
 * and failures described in @p why, or -1 when a measurement for it failed
 * (then @p res says why). */
static int judge_health(struct rigi_run *r, const struct rig_step *st,
			struct rig_record_step *rs, struct health *h, const struct point *first,
			char *why, size_t cap, enum rig_outcome *o, struct rigi_step_result *res)
{
	const struct rig_step_measure *m = &st->u.measure;
	double total = (double)(h->accepted + h->skipped);
	struct rig_stats fs;

	*o = judge_max(r, rs, "skipped_strokes", "skipped", "%",
		       total ? 100.0 * h->skipped / total : 0, 0, (unsigned)total,
		       m->max_skipped_pct, "the pen skips strokes", why, cap);
	if (m->max_puncture_force_mn > 0 && h->n_puncture == 0) {
		/* The force sensor was healthy at every capture (checked there). */
		snprintf(why + strlen(why), cap - strlen(why),
			 "%sFAIL no needle punctured the phantom at any setpoint: needles "
			 "missing or blunt",
			 why[0] ? "; " : "");
		*o = RIG_OUTCOME_FAIL;
	} else if (m->max_puncture_force_mn > 0 &&
		   rig_stats_compute(h->puncture_mn, h->n_puncture, &fs) == 0) {
		*o = rig_outcome_combine(*o, judge_max(r, rs, "puncture_force", "puncture_force", "mN",
						       fs.median, 2.0 * 1.2533 * fs.sem,
						       (unsigned)fs.n, m->max_puncture_force_mn,
						       "bent or blunt needles", why, cap));
	}
	if (m->max_drift_um > 0) {
		/* The sensor's calibration cancels in a difference of two readings
		 * of the same sensor: only their scatter counts. */
		double again = 0, sem = 0;
		if (measure_drift(r, st, first, &again, &sem, &h->time, res) < 0)
			return -1;
		*o = rig_outcome_combine(*o, judge_max(r, rs, "depth_drift", "drift", "um",
						       again - h->first_um,
						       2.0 * sqrt(sem * sem +
								  h->first_sem * h->first_sem),
						       2, m->max_drift_um,
						       "the depth setting slips during use (detent)",
						       why, cap));
	}
	return 0;
}

/* Measure every point; 0, or -1 with @p res set. */
static int measure_points(struct rigi_run *r, const struct rig_step *st,
			  struct rig_record_step *rs, const struct point *pts, size_t n,
			  struct health *h, double *worst_depth, double *worst_rate,
			  struct rigi_step_result *res)
{
	if (!approach_from_below(r))
		rigi_progress(r, st->name, 0, (unsigned)n,
			      "backlash not taken up: the first point may read high");
	for (size_t i = 0; i < n; i++) {
		struct rigi_sample s;
		int ret;
		rigi_progress(r, st->name, (unsigned)i, (unsigned)n, "%u um at %u spm",
			      pts[i].depth_um, pts[i].rate_spm);
		ret = measure_point(r, st, &pts[i], &s, &h->time, res);
		if (ret == 0)
			ret = check_strokes(r, st, &pts[i], &s, res);
		if (ret == 0) {
			if (i == 0) {
				h->first_um = s.an->protrusion_um.mean;
				h->first_sem = s.an->protrusion_um.sem;
			}
			health_add(h, s.an);
			ret = record_point(r, &st->u.measure, rs, &pts[i], s.an, worst_depth,
					   worst_rate);
			if (ret < 0)
				rigi_result_from_error(r, res, ret, "recording a measurement");
		}
		rigi_sample_free(&s);
		if (ret < 0)
			return -1;
	}
	return 0;
}

/* The step's outcome: as left, the verdicts and the health together; as
 * found, only health and errors decide (a drifted unit is flagged, and
 * calibration is what fixes it). */
static void conclude(struct rigi_step_result *res, int as_left, enum rig_outcome verdict,
		     enum rig_outcome health, const char *why, double depth, double rate)
{
	enum rig_outcome o = rig_outcome_combine(health, as_left || verdict == RIG_OUTCOME_ERROR
								 ? verdict
								 : RIG_OUTCOME_PASS);
	const char *flag = as_left ? ""
		: verdict == RIG_OUTCOME_PASS  ? "within the as-found limits: "
		: verdict == RIG_OUTCOME_FAIL  ? "DRIFTED beyond the as-found limits: "
		: verdict == RIG_OUTCOME_INDETERMINATE
			? "POSSIBLY DRIFTED (inside the guard band of the as-found limits): "
			: "";
	rigi_result_set(res, o, "%sworst depth error %+.1f um, worst rate error %+.2f %%%s%.300s",
			flag, depth, rate, why[0] ? "; " : "", why);
}

/* A pen without a valid table (blank from assembly, or both slots corrupt)
 * refuses user mode. As found there is then nothing to measure, and a suite
 * that writes a table calibrates it from service mode; otherwise it fails,
 * naming the flag. Returns 1 when @p res is decided here. */
static int no_table(struct rigi_run *r, const struct rig_step *st, struct rigi_step_result *res)
{
	struct rig_dut_status ds;
	int ret = rig_dut_status(r->dut, &ds);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "reading the pen's status");
		return 1;
	}
	if (!(ds.fault_flags & RIG_DUT_FAULT_NO_TABLE))
		return 0;
	if (st->type == RIG_STEP_AS_FOUND && rigi_suite_writes_table(r->opt->suite))
		rigi_result_set(res, RIG_OUTCOME_PASS,
				"skipped: the pen has no valid table (NO_TABLE), so nothing to "
				"measure as found; it is calibrated from service mode");
	else
		rigi_result_set(res, RIG_OUTCOME_FAIL,
				"the pen reports NO_TABLE: it has no valid calibration table%s",
				st->type == RIG_STEP_AS_FOUND ? "; calibrate it" : "");
	return 1;
}

/* The settle times taken are logged, beside the capture they needed. */
static void log_time(const struct rigi_run *r, const struct rig_step *st,
		     const struct step_time *t)
{
	if (t->points)
		RIGI_INFO("run", "nest %u: %s: %u points adaptively in %.2f s of capture, %.2f s "
			  "of it settling%s%s", r->nest->index, st->name, t->points,
			  t->capture_s + t->settle_s, t->settle_s,
			  t->unsettled ? "; some points did not settle" : "",
			  t->at_max ? "; some points reached max_capture_s" : "");
}

void rigi_step_measure(struct rigi_run *r, const struct rig_step *st,
		       struct rig_record_step *rs, struct rigi_step_result *res)
{
	int as_left = st->type == RIG_STEP_AS_LEFT;
	double worst_depth = NAN, worst_rate = NAN;
	struct health h = {0};
	char why[RIG_RECORD_REASON_MAX] = "";
	struct point pts[512];
	int n = plan_points(r, st, pts, 512);
	enum rig_outcome verdict, health;

	if (no_table(r, st, res) || rigi_rezero(r, res) < 0)
		return;
	if (n <= 0) {
		rigi_result_from_error(r, res, n ? n : RIG_ERR_ARG, "planning the setpoints");
		return;
	}
	if (measure_points(r, st, rs, pts, (size_t)n, &h, &worst_depth, &worst_rate, res) < 0)
		goto out;
	verdict = rig_measurements_outcome(rs->measurements, rs->n_measurements);
	if (judge_health(r, st, rs, &h, &pts[0], why, sizeof(why), &health, res) < 0)
		goto out;
	rig_dut_motor(r->dut, 0);
	conclude(res, as_left, verdict, health, why, worst_depth, worst_rate);
	log_time(r, st, &h.time);
out:
	free(h.puncture_mn);
}
