/* The service-mode sweeps of a calibration: raw actuator codes against
 * protrusion (approached from below, against backlash) and raw motor duties
 * against stroke rate at the code of the middle user depth. Each point is
 * recorded (reported, not judged) and kept for the fit. */
#include <math.h>
#include <stdio.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

/* Apply raw values and take one sample; the result says what went wrong. */
static int sweep_point(struct rigi_run *r, uint16_t code, uint16_t duty, double capture_s,
		       unsigned settle_ms, struct rigi_sample *s, struct rigi_step_result *res)
{
	char what[64], why[256];
	int ret;
	*s = (struct rigi_sample){0};
	ret = rig_dut_set_service(r->dut, code, duty);
	if (ret == 0)
		ret = rig_dut_motor(r->dut, 1);
	if (ret == 0)
		ret = rigi_settle(r, settle_ms);
	if (ret == 0)
		ret = rigi_sample_take(r, capture_s, s);
	snprintf(what, sizeof(what), "code %u, duty %u", code, duty);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, what);
		return ret;
	}
	if (rigi_sample_unsafe(r, s, why, sizeof(why))) {
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s at %s", why, what);
		return RIG_ERR_RANGE;
	}
	return 0;
}

static void add_reported(struct rig_record_step *rs, const char *name, const char *quantity,
			 const char *unit, double setpoint, double value, double u, size_t n)
{
	struct rig_measurement m;
	rig_measurement_init(&m, name, quantity, unit, setpoint);
	m.value = value;
	m.u_expanded = u;
	m.n = (unsigned)n;
	rig_measurement_judge(&m, NULL);
	rig_record_step_add(rs, &m);
}

void rigi_step_depth_sweep(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res)
{
	const struct rig_step_depth_sweep *sw = &st->u.depth_sweep;
	struct rigi_sweep *out = &r->depth_sweep;
	int ret = rigi_ensure_auth(r);

	out->n = 0;
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "authentication for service mode");
		return;
	}
	/* Take up the backlash: start below the first code. */
	if (sw->approach_up && (ret = rig_dut_set_service(r->dut, r->id.code_min, sw->duty)) < 0) {
		rigi_result_from_error(r, res, ret, "backlash approach");
		return;
	}
	for (size_t i = 0; i < sw->n_codes && out->n < RIGI_SWEEP_MAX; i++) {
		struct rigi_sample s;
		char name[RIG_MEASUREMENT_NAME_MAX];
		rigi_progress(r, st->name, (unsigned)i, (unsigned)sw->n_codes, "code %u",
			      sw->codes[i]);
		if (sweep_point(r, sw->codes[i], sw->duty, sw->capture_s, sw->settle_ms, &s, res) < 0) {
			rigi_sample_free(&s);
			return;
		}
		if (s.n_accepted < 3) {
			/* The depth mechanism strokes at every code: a silent point is
			 * a finding to explain, never a point to drop. */
			char what[64];
			snprintf(what, sizeof(what), "%zu strokes at code %u", s.n_accepted, sw->codes[i]);
			rigi_explain_no_strokes(r, &s, what, res);
			rigi_sample_free(&s);
			return;
		}
		{
			snprintf(name, sizeof(name), "protrusion@code%u", sw->codes[i]);
			add_reported(rs, name, "protrusion", "um", sw->codes[i],
				     s.an->protrusion_um.mean, rigi_protrusion_u(r, s.an),
				     s.n_accepted);
			out->x[out->n] = sw->codes[i];
			out->y[out->n++] = s.an->protrusion_um.mean;
		}
		int done = sw->stop_above_um && s.an->protrusion_um.mean > sw->stop_above_um;
		rigi_sample_free(&s);
		if (done)
			break;
	}
	rig_dut_motor(r->dut, 0);
	if (out->n < 4) {
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"only %zu sweep points before the sweep ended (%zu codes, stop above "
				"%u um): too few to fit; check the suite's codes",
				out->n, sw->n_codes, sw->stop_above_um);
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS, "%zu codes, protrusion %.0f..%.0f um", out->n,
			out->y[0], out->y[out->n - 1]);
}

/* The code of the middle user depth, read off the depth sweep by linear
 * interpolation, so that rates are calibrated under the load at which they
 * are checked; 0 when the sweep does not cover it. */
static uint16_t rate_sweep_code(const struct rigi_run *r)
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
	const struct rig_step_rate_sweep *sw = &st->u.rate_sweep;
	struct rigi_sweep *out = &r->rate_sweep;
	uint16_t code = sw->code ? sw->code : rate_sweep_code(r);
	int ret = rigi_ensure_auth(r);

	out->n = 0;
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
	for (size_t i = 0; i < sw->n_duties && out->n < RIGI_SWEEP_MAX; i++) {
		struct rigi_sample s;
		char name[RIG_MEASUREMENT_NAME_MAX];
		rigi_progress(r, st->name, (unsigned)i, (unsigned)sw->n_duties, "duty %u at code %u",
			      sw->duties[i], code);
		if (sweep_point(r, code, sw->duties[i], sw->capture_s, sw->settle_ms, &s, res) < 0) {
			rigi_sample_free(&s);
			return;
		}
		/* Below the drive's dead band the motor does not turn: duties before
		 * the first that strokes are left out; a silent duty after it is a
		 * finding to explain. */
		if (s.n_accepted < 3 && out->n > 0) {
			char what[64];
			snprintf(what, sizeof(what), "%zu strokes at duty %u", s.n_accepted,
				 sw->duties[i]);
			rigi_explain_no_strokes(r, &s, what, res);
			rigi_sample_free(&s);
			return;
		}
		if (s.n_accepted >= 3) {
			snprintf(name, sizeof(name), "rate@duty%u", sw->duties[i]);
			add_reported(rs, name, "rate", "spm", sw->duties[i],
				     s.an->stroke_rate_hz.mean * 60.0, rigi_rate_u_spm(r, s.an),
				     s.n_accepted);
			out->x[out->n] = sw->duties[i];
			out->y[out->n++] = s.an->stroke_rate_hz.mean * 60.0;
		}
		rigi_sample_free(&s);
	}
	rig_dut_motor(r->dut, 0);
	if (out->n < 4) {
		struct rigi_sample none = {0};
		char what[96];
		snprintf(what, sizeof(what), "the motor stroked at only %zu of %zu duties", out->n,
			 sw->n_duties);
		rigi_explain_no_strokes(r, &none, what, res);
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS, "%zu duties at code %u, %.0f..%.0f strokes/min",
			out->n, code, out->y[0], out->y[out->n - 1]);
}
