/* The service-mode sweeps of a calibration: raw actuator codes against
 * protrusion (approached from below, against backlash) and raw motor duties
 * against stroke rate at the code of the middle user depth. Each point is
 * recorded (reported, not judged) and kept for the fit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

/* One sweep: raw values applied in order with the other held fixed, one
 * measured quantity per point. */
struct sweep {
	const char *varied;      /* "code" or "duty" */
	const uint16_t *values;
	size_t n_values;
	uint16_t fixed;          /* the duty of a depth sweep, the code of a rate sweep */
	double capture_s;
	unsigned settle_ms;
	const struct rig_adaptive *adaptive; /* on: instead of capture_s and settle_ms */
	double stop_above;       /* end once the quantity passes this; 0: never */
	int dead_band;           /* silent points before the first that strokes are
				    left out (the drive's dead band) */
	double settle_s;         /* adaptive: settling time taken over the sweep */
};

/* Apply raw values and take one sample (a fixed wait and capture, or
 * adaptively); the result says what went wrong. */
static int sweep_point(struct rigi_run *r, struct sweep *sw, uint16_t code, uint16_t duty,
		       struct rigi_sample *s, struct rigi_step_result *res)
{
	struct rigi_need need = {!strcmp(sw->varied, "code"), strcmp(sw->varied, "code") != 0};
	struct rigi_adapt_stats as;
	char what[64];
	int ret;
	*s = (struct rigi_sample){0};
	snprintf(what, sizeof(what), "code %u, duty %u", code, duty);
	ret = rig_dut_set_service(r->dut, code, duty);
	if (ret == 0)
		ret = rig_dut_motor(r->dut, 1);
	if (ret == 0 && sw->adaptive->on) {
		ret = rigi_sample_adaptive(r, sw->adaptive, &need, what, s, &as);
		sw->settle_s += ret == 0 ? as.settle_s : 0;
	} else {
		if (ret == 0)
			ret = rigi_settle(r, sw->settle_ms);
		if (ret == 0)
			ret = rigi_sample_take(r, sw->capture_s, s);
	}
	return rigi_sample_checked(r, ret, s, what, res);
}

void rigi_add_reported(struct rigi_run *r, struct rig_record_step *rs, const char *name,
		       const char *quantity, const char *unit, double setpoint, double value, double u,
		       size_t n)
{
	struct rig_measurement m;
	rig_measurement_init(&m, name, quantity, unit, setpoint);
	m.value = value;
	m.u_expanded = u;
	m.n = (unsigned)n;
	rig_measurement_judge(&m, NULL);
	rigi_measurement_add(r, rs, &m);
}

static double quantity(const struct sweep *sw, const struct rigi_run *r,
		       const struct rig_analysis *an, double *u)
{
	int depth = !strcmp(sw->varied, "code");
	*u = depth ? rigi_protrusion_u(r, an) : rigi_rate_u_spm(r, an);
	return depth ? an->protrusion_um.mean : an->stroke_rate_hz.mean * 60.0;
}

/* Run @p sw into @p out; 0, or -1 with @p res set. A silent point (fewer
 * than 3 strokes) is a finding to explain, never a point to drop. */
static int run_sweep(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		     struct sweep *sw, struct rigi_sweep *out, struct rigi_step_result *res)
{
	int depth = !strcmp(sw->varied, "code");
	out->n = 0;
	for (size_t i = 0; i < sw->n_values && out->n < RIGI_SWEEP_MAX; i++) {
		uint16_t v = sw->values[i];
		struct rigi_sample s;
		char name[RIG_MEASUREMENT_NAME_MAX], what[64];
		double y, u;
		rigi_progress(r, st->name, (unsigned)i, (unsigned)sw->n_values, "%s %u", sw->varied, v);
		if (sweep_point(r, sw, depth ? v : sw->fixed, depth ? sw->fixed : v, &s, res) < 0) {
			rigi_sample_free(&s);
			return -1;
		}
		if (s.n_accepted < 3 && !(sw->dead_band && out->n == 0)) {
			snprintf(what, sizeof(what), "%zu strokes at %s %u", s.n_accepted, sw->varied, v);
			rigi_explain_no_strokes(r, &s, what, res);
			rigi_sample_free(&s);
			return -1;
		}
		if (s.n_accepted >= 3) {
			y = quantity(sw, r, s.an, &u);
			snprintf(name, sizeof(name), "%s@%s%u", depth ? "protrusion" : "rate",
				 sw->varied, v);
			rigi_add_reported(r, rs, name, depth ? "protrusion" : "rate", depth ? "um" : "spm", v,
				     y, u, s.n_accepted);
			out->x[out->n] = v;
			out->y[out->n++] = y;
		}
		rigi_sample_free(&s);
		if (sw->stop_above > 0 && out->n && out->y[out->n - 1] > sw->stop_above)
			break;
	}
	rig_dut_motor(r->dut, 0);
	if (sw->adaptive->on)
		RIGI_INFO("run", "nest %u: %s: %.2f s of settling over %zu points", r->nest->index,
			  st->name, sw->settle_s, out->n);
	if (out->n == 0) {
		struct rigi_sample none = {0};
		char what[64];
		snprintf(what, sizeof(what), "no strokes at any of %zu %ss", sw->n_values, sw->varied);
		rigi_explain_no_strokes(r, &none, what, res);
		return -1;
	}
	if (out->n < 4) {
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"only %zu usable points of %zu %ss: too few to fit; check the "
				"suite's sweep",
				out->n, sw->n_values, sw->varied);
		return -1;
	}
	return 0;
}

void rigi_step_depth_sweep(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res)
{
	const struct rig_step_depth_sweep *d = &st->u.depth_sweep;
	struct sweep sw = {"code", d->codes, d->n_codes, d->duty, d->capture_s, d->settle_ms,
			   &d->adaptive, d->stop_above_um, 0, 0};
	int ret = rigi_ensure_auth(r);

	r->depth_sweep.n = 0;
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "authentication for service mode");
		return;
	}
	if (rigi_rezero(r, res) < 0)
		return;
	/* Take up the backlash: start below the first code. */
	if (d->approach_up && (ret = rig_dut_set_service(r->dut, r->id.code_min, d->duty)) < 0) {
		rigi_result_from_error(r, res, ret, "backlash approach");
		return;
	}
	if (run_sweep(r, st, rs, &sw, &r->depth_sweep, res) == 0)
		rigi_result_set(res, RIG_OUTCOME_PASS, "%zu codes, protrusion %.0f..%.0f um",
				r->depth_sweep.n, r->depth_sweep.y[0],
				r->depth_sweep.y[r->depth_sweep.n - 1]);
}

/* The code of the middle user depth, read off the depth sweep by linear
 * interpolation, so that rates are calibrated under the load at which they
 * are checked; 0 when the sweep does not cover it. */
uint16_t rigi_middle_code(const struct rigi_run *r)
{
	const struct rigi_sweep *d = &r->depth_sweep;
	double target = rigi_middle_depth(&r->id);
	for (size_t i = 1; i < d->n; i++)
		if (d->y[i - 1] <= target && target <= d->y[i] && d->y[i] > d->y[i - 1])
			return (uint16_t)lround(d->x[i - 1] + (d->x[i] - d->x[i - 1]) *
							      (target - d->y[i - 1]) /
							      (d->y[i] - d->y[i - 1]));
	return 0;
}

void rigi_step_rate_sweep(struct rigi_run *r, const struct rig_step *st,
			  struct rig_record_step *rs, struct rigi_step_result *res)
{
	const struct rig_step_rate_sweep *rsw = &st->u.rate_sweep;
	uint16_t code = rsw->code ? rsw->code : rigi_middle_code(r);
	int ret = rigi_ensure_auth(r);

	r->rate_sweep.n = 0;
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "authentication for service mode");
		return;
	}
	if (!code) {
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"the rate sweep runs at the code of the middle user depth (%u um), "
				"but no depth sweep before it covers that depth; give the step a "
				"code",
				rigi_middle_depth(&r->id));
		return;
	}
	r->rate_sweep_code = code;
	struct sweep sw = {"duty", rsw->duties, rsw->n_duties, code, rsw->capture_s,
			   rsw->settle_ms, &rsw->adaptive, 0, 1, 0};
	if (run_sweep(r, st, rs, &sw, &r->rate_sweep, res) == 0)
		rigi_result_set(res, RIG_OUTCOME_PASS, "%zu duties at code %u, %.0f..%.0f strokes/min",
				r->rate_sweep.n, code, r->rate_sweep.y[0],
				r->rate_sweep.y[r->rate_sweep.n - 1]);
}
