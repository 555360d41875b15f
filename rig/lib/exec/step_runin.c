/* The run-in step: a pen's drive speeds up as it warms (about +2 % over its
 * first minutes), so rates calibrated cold leave it fast in use. In service
 * mode the motor runs at one code and duty while captures follow each other;
 * the run-in ends once a straight line fitted to the rates of the latest
 * window is confidently flat (|slope| + 2 u(slope) within the limit), after
 * min_s, and FAILs when the drive has not settled by max_s. The motor is
 * left running: the rate sweep follows warm. docs/calibration.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

#define MAX_READINGS 4096

struct trend {
	double slope_pct_per_min; /* of the mean rate over the window */
	double u_pct_per_min;     /* its standard uncertainty */
	size_t n;                 /* readings in the window */
};

/* Least-squares line through the readings (t, rate) of the last window. */
static void fit_trend(const double *t, const double *rate, size_t n, double window_s,
		      struct trend *out)
{
	size_t first = n;
	double st = 0, sr = 0, stt = 0, str = 0, ss = 0;
	while (first > 0 && t[n - 1] - t[first - 1] <= window_s)
		first--;
	size_t m = n - first;
	*out = (struct trend){INFINITY, INFINITY, m};
	if (m < 3)
		return;
	for (size_t i = first; i < n; i++) {
		st += t[i];
		sr += rate[i];
	}
	double mt = st / (double)m, mr = sr / (double)m;
	for (size_t i = first; i < n; i++) {
		stt += (t[i] - mt) * (t[i] - mt);
		str += (t[i] - mt) * (rate[i] - mr);
	}
	double b = str / stt;
	for (size_t i = first; i < n; i++) {
		double e = rate[i] - mr - b * (t[i] - mt);
		ss += e * e;
	}
	double se = sqrt(ss / (double)(m - 2) / stt);
	out->slope_pct_per_min = b / mr * 60 * 100;
	out->u_pct_per_min = se / mr * 60 * 100;
}

/* One reading: a capture with the motor on; the mean rate in strokes/s. */
static int reading(struct rigi_run *r, const struct rig_step_run_in *p, uint16_t code,
		   double *rate, struct rigi_step_result *res)
{
	struct rigi_sample s;
	char what[64], why[256];
	int ret = rigi_sample_take(r, p->capture_s, &s);
	snprintf(what, sizeof(what), "run-in at code %u, duty %u", code, p->duty);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, what);
	} else if (rigi_sample_unsafe(r, &s, why, sizeof(why))) {
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s at %s", why, what);
		ret = RIG_ERR_RANGE;
	} else if (s.n_accepted < 3) {
		snprintf(what + strlen(what), sizeof(what) - strlen(what), ": %zu strokes",
			 s.n_accepted);
		rigi_explain_no_strokes(r, &s, what, res);
		ret = RIG_ERR_STATE;
	} else {
		*rate = s.an->stroke_rate_hz.mean;
	}
	rigi_sample_free(&s);
	return ret;
}

static int start_motor(struct rigi_run *r, uint16_t code, uint16_t duty,
		       struct rigi_step_result *res)
{
	int ret = rigi_ensure_auth(r);
	if (ret == 0)
		ret = rig_dut_set_service(r->dut, code, duty);
	if (ret == 0)
		ret = rig_dut_motor(r->dut, 1);
	if (ret < 0)
		rigi_result_from_error(r, res, ret, "starting the run-in");
	return ret;
}

void rigi_step_run_in(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		      struct rigi_step_result *res)
{
	const struct rig_step_run_in *p = &st->u.run_in;
	uint16_t code = p->code ? p->code : rigi_middle_code(r);
	double *t = malloc(MAX_READINGS * sizeof(double)), *rate = malloc(MAX_READINGS * sizeof(double));
	struct trend tr = {INFINITY, INFINITY, 0};
	size_t n = 0;
	int stable = 0;

	if (!t || !rate) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "run-in: out of memory");
		goto out;
	}
	if (!code)
		code = r->id.code_min;
	if (start_motor(r, code, p->duty, res) < 0)
		goto out;
	while (n < MAX_READINGS && !stable) {
		double elapsed = (double)(n + 1) * p->capture_s;
		rigi_progress(r, st->name, 0, 0, "%.0f s, trend %+.2f %%/min", elapsed - p->capture_s,
			      isfinite(tr.slope_pct_per_min) ? tr.slope_pct_per_min : 0.0);
		if (reading(r, p, code, &rate[n], res) < 0)
			goto out;
		t[n] = elapsed - p->capture_s / 2;
		n++;
		fit_trend(t, rate, n, p->window_s, &tr);
		stable = elapsed >= p->min_s && elapsed >= p->window_s &&
			 fabs(tr.slope_pct_per_min) + 2 * tr.u_pct_per_min <= p->max_slope_pct_per_min;
		if (!stable && elapsed + p->capture_s > p->max_s)
			break;
	}
	double took = (double)n * p->capture_s;
	rigi_add_reported(r, rs, "run_in_time", "time", "s", NAN, took, 0, n);
	rigi_add_reported(r, rs, "rate_cold", "rate", "spm", NAN, rate[0] * 60, NAN, 1);
	rigi_add_reported(r, rs, "rate_warm", "rate", "spm", NAN, rate[n - 1] * 60, NAN, 1);
	rigi_add_reported(r, rs, "rate_trend", "trend", "%/min", NAN, tr.slope_pct_per_min,
			  2 * tr.u_pct_per_min, tr.n);
	if (stable)
		rigi_result_set(res, RIG_OUTCOME_PASS, "rate stable after %.0f s at code %u, duty "
				"%u: %.0f -> %.0f strokes/min (%+.2f %%), trend %+.3f +- %.3f %%/min",
				took, code, p->duty, rate[0] * 60, rate[n - 1] * 60,
				(rate[n - 1] / rate[0] - 1) * 100, tr.slope_pct_per_min,
				2 * tr.u_pct_per_min);
	else
		rigi_result_set(res, RIG_OUTCOME_FAIL, "the drive's rate did not settle in %.0f s: "
				"still changing %+.3f +- %.3f %%/min (limit %.3g %%/min), %.0f -> "
				"%.0f strokes/min", took, tr.slope_pct_per_min, 2 * tr.u_pct_per_min,
				p->max_slope_pct_per_min, rate[0] * 60, rate[n - 1] * 60);
out:
	free(t);
	free(rate);
}
