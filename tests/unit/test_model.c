/* Tests of the monotone curve models, their inversion to table knots and
 * the knot checks: synthetic code -> protrusion sweeps of many units (gain,
 * offset, gentle nonlinearity, noise from rig_pcg32) inverted against the
 * known truth, refusal to extrapolate, non-monotone data, the Steffen
 * fallback, and every rule of rig_knots_check. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>
#include <rig/rig.h>

#include "testsupport.h"

/* cmocka's assert_float_equal compares floats; calibration needs doubles. */
static void near(double got, double want, double tol, const char *file, int line)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%.17g differs from %.17g by more than %g\n", got, want, tol);
		_fail(file, line);
	}
}
#define assert_near(got, want, tol) near((got), (want), (tol), __FILE__, __LINE__)

#define CODE_MAX 4095
#define LEVELS 22
#define REPS 5
#define NPTS (LEVELS * REPS)

/* A unit's true depth mechanism: ~0.85 µm per code with gain error, offset
 * and a smooth bow (DESIGN §4). */
struct unit {
	double gain, offset, bow;
};

static double truth(const struct unit *u, double code)
{
	return u->offset + 0.85 * u->gain * code + u->bow * sin(M_PI * code / CODE_MAX);
}

static void draw_unit(struct rig_pcg32 *rng, struct unit *u)
{
	u->gain = 1 + 0.08 * (2 * rig_pcg32_uniform(rng) - 1);
	u->offset = 120 * (2 * rig_pcg32_uniform(rng) - 1);
	u->bow = 40 * (2 * rig_pcg32_uniform(rng) - 1);
}

/* Sweep: LEVELS integer codes over the range, REPS readings each. */
static void sweep(struct rig_pcg32 *rng, const struct unit *u, double noise, double *x, double *y)
{
	for (int i = 0; i < LEVELS; i++)
		for (int r = 0; r < REPS; r++) {
			double code = round((double)i * CODE_MAX / (LEVELS - 1));
			x[i * REPS + r] = code;
			y[i * REPS + r] = truth(u, code) + noise * rig_pcg32_normal(rng);
		}
}

static const struct rig_knot_limits depth_limits = {
	.table = "depth", .value_name = "code", .value_min = 0, .value_max = CODE_MAX,
	.max_knots = 32,
};

/* Invert the true curve by bisection (the test's own reference). */
static double truth_inverse(const struct unit *u, double target)
{
	double lo = 0, hi = CODE_MAX;
	for (int i = 0; i < 100; i++) {
		double mid = 0.5 * (lo + hi);
		if (truth(u, mid) < target)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

/* One unit's sweep, fit and knots; accumulates the knots' true errors and
 * how many fall within k = 2 expanded uncertainty of the model. */
static void calibrate_unit(struct rig_pcg32 *rng, const double *setpoints, size_t n_set,
			   double *worst, double *ss, size_t *covered)
{
	double x[NPTS], y[NPTS];
	struct rig_knot knots[16];
	struct rig_curve *c = NULL;
	struct rig_curve_info in;
	struct unit u;

	draw_unit(rng, &u);
	sweep(rng, &u, 0.5, x, y);
	assert_int_equal(rig_curve_fit(x, y, NPTS, NULL, &c), 0);
	rig_curve_info(c, &in);
	assert_int_equal(in.kind, RIG_CURVE_POLY);
	assert_true(in.degree >= 2 && in.min_slope > 0);
	assert_true(in.resid_sd > 0.35 && in.resid_sd < 0.65);
	assert_int_equal(rig_curve_knots(c, setpoints, n_set, knots), 0);
	assert_int_equal(rig_knots_check(knots, n_set, &depth_limits), 0);
	for (size_t k = 0; k < n_set; k++) {
		double err = truth(&u, knots[k].x) - setpoints[k], mval = 0, uval = 0;
		assert_int_equal(rig_curve_eval(c, knots[k].x, &mval, &uval), 0);
		assert_near(mval, setpoints[k], 1e-6);
		assert_true(uval > 0 && uval < 0.3);
		/* in codes: 0.5 µm at the smallest slope, 0.75 µm per code */
		assert_near(knots[k].x, truth_inverse(&u, setpoints[k]), 0.5 / 0.75);
		/* rounding to an integer code costs at most half a code */
		assert_int_equal(knots[k].value, lround(knots[k].x));
		assert_true(fabs(knots[k].residual) <= 0.5 * 0.85 * 1.08 * 1.05);
		*covered += fabs(err) <= 2 * uval;
		*worst = fmax(*worst, fabs(err));
		*ss += err * err;
	}
	rig_curve_free(c);
}

/* 40 units, 0.5 µm reading noise (a median of many strokes), setpoints
 * 250 .. 3000 µm: the knots' exact roots are within 0.5 µm of the truth
 * (measured: worst 0.40 µm, RMS 0.10 µm), and the model's u(y) is honest:
 * 92 % of the true errors lie within 2 u (95 % would be ideal; the choice
 * of degree adds a little variance that u does not carry). */
static void depth_curve_inversion_accuracy(void **state)
{
	double setpoints[12], worst = 0, ss = 0;
	size_t covered = 0, count = 40 * 12;
	struct rig_pcg32 rng;
	(void)state;
	for (int s = 0; s < 12; s++)
		setpoints[s] = 250.0 * (s + 1);
	rig_pcg32_seed_named(&rng, 2024, "MN1-TEST", "fit");
	for (int unit = 0; unit < 40; unit++)
		calibrate_unit(&rng, setpoints, 12, &worst, &ss, &covered);
	print_message("inversion error against truth: worst %.3f um, RMS %.3f um, "
		      "%.1f %% within 2u\n",
		      worst, sqrt(ss / (double)count), 100.0 * (double)covered / (double)count);
	assert_true(worst < 0.5);
	assert_true(sqrt(ss / (double)count) < 0.15);
	assert_true((double)covered / (double)count > 0.88);
}

/* Straight lines are fitted as straight lines (AICc picks degree 1 for
 * about 80 % of noisy lines; measured 81 % over 1000), and residuals are
 * y - model in input order. */
static void linear_data_mostly_degree_one(void **state)
{
	double x[30], y[30];
	const double *res;
	size_t n = 0, ones = 0;
	struct rig_curve_info in;
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 11, 3);
	for (int trial = 0; trial < 200; trial++) {
		struct rig_curve *c = NULL;
		for (int i = 0; i < 30; i++) {
			x[i] = 300 + 25 * (i % 15); /* duty permille, two passes */
			y[i] = 2.0 * x[i] - 100 + 0.5 * rig_pcg32_normal(&rng);
		}
		assert_int_equal(rig_curve_fit(x, y, 30, NULL, &c), 0);
		rig_curve_info(c, &in);
		assert_int_equal(in.kind, RIG_CURVE_POLY);
		assert_int_equal(in.n_levels, 15);
		ones += in.degree == 1;
		res = rig_curve_residuals(c, &n);
		assert_int_equal(n, 30);
		for (size_t i = 0; i < n; i++) {
			double v = 0;
			assert_int_equal(rig_curve_eval(c, x[i], &v, NULL), 0);
			assert_near(res[i], y[i] - v, 1e-9);
			assert_true(fabs(res[i]) <= in.max_abs_resid);
		}
		rig_curve_free(c);
	}
	print_message("degree 1 chosen for %zu of 200 lines\n", ones);
	assert_true(ones >= 140);
}

/* Targets outside [model(x_min), model(x_max)] are refused with the
 * target and the covered range named; x outside the sweep too. */
static void refuses_to_extrapolate(void **state)
{
	const struct unit u = {.gain = 1.0, .offset = 300, .bow = 0};
	double x[NPTS], y[NPTS], xr = 0, v = 0;
	const double setpoints[] = {250, 500, 750};
	struct rig_knot knots[3];
	struct rig_curve *c = NULL;
	struct rig_curve_info in;
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 5, 5);
	sweep(&rng, &u, 1.0, x, y);
	assert_int_equal(rig_curve_fit(x, y, NPTS, NULL, &c), 0);
	rig_curve_info(c, &in);
	assert_int_equal(rig_curve_invert(c, 250, &xr), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "target 250 is outside"));
	assert_non_null(strstr(rig_last_error(), "refusing to extrapolate"));
	assert_int_equal(rig_curve_invert(c, in.y_hi + 0.01, &xr), RIG_ERR_RANGE);
	assert_int_equal(rig_curve_knots(c, setpoints, 3, knots), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "knot 1 of 3"));
	assert_int_equal(rig_curve_eval(c, -1, &v, NULL), RIG_ERR_RANGE);
	assert_int_equal(rig_curve_eval(c, CODE_MAX + 1, &v, NULL), RIG_ERR_RANGE);
	/* the ends themselves are covered */
	assert_int_equal(rig_curve_invert(c, in.y_lo, &xr), 0);
	assert_near(xr, in.x_min, 1e-6);
	assert_int_equal(rig_curve_invert(c, in.y_hi, &xr), 0);
	assert_near(xr, in.x_max, 1e-6);
	rig_curve_free(c);
}

/* A stroke rate that rises and then falls (a stalling drive) cannot be
 * calibrated: no monotone polynomial fits, and the means fall. */
static void non_monotone_data_detected(void **state)
{
	double x[NPTS], y[NPTS];
	struct rig_curve *c = (struct rig_curve *)&c; /* must be reset to NULL */
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 9, 9);
	for (int i = 0; i < NPTS; i++) {
		double d = 200 + 40 * (i / REPS);
		x[i] = d;
		y[i] = 9000 - 0.02 * (d - 800) * (d - 800) + 20 * rig_pcg32_normal(&rng);
	}
	assert_int_equal(rig_curve_fit(x, y, NPTS, NULL, &c), RIG_ERR_RANGE);
	assert_null(c);
	assert_non_null(strstr(rig_last_error(), "not monotone increasing"));
}

/* A sharp step (tanh) defeats polynomials up to degree 5: the fit falls
 * back to the Steffen interpolant of the level means, whose uncertainty is
 * the pooled within-level SD of a mean. */
static void steffen_fallback(void **state)
{
	double x[21 * 4], y[21 * 4], v = 0, u = 0, xr = 0, prev = -INFINITY;
	size_t n = 0;
	struct rig_curve *c = NULL;
	struct rig_curve_info in;
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 3, 1);
	for (int i = 0; i < 21 * 4; i++) {
		x[i] = 5.0 * (i / 4);
		y[i] = 100 * tanh((x[i] - 50) / 4) + 0.5 * x[i] + 0.1 * rig_pcg32_normal(&rng);
	}
	assert_int_equal(rig_curve_fit(x, y, 21 * 4, NULL, &c), 0);
	rig_curve_info(c, &in);
	assert_int_equal(in.kind, RIG_CURVE_STEFFEN);
	assert_true(in.min_slope >= 0);
	assert_true(in.resid_sd > 0.07 && in.resid_sd < 0.13);
	for (double t = 0; t <= 100; t += 0.25) {
		assert_int_equal(rig_curve_eval(c, t, &v, &u), 0);
		assert_true(v >= prev);
		prev = v;
	}
	assert_near(u, in.resid_sd / 2.0, 1e-12); /* 4 readings per level */
	assert_int_equal(rig_curve_invert(c, 0.0 + 25, &xr), 0);
	assert_int_equal(rig_curve_eval(c, xr, &v, NULL), 0);
	assert_near(v, 25, 1e-6);
	rig_curve_free(c);

	/* one reading per level: no pure-error estimate, so u is the residual SD
	 * of the degree-5 polynomial, lack of fit included (conservative) */
	for (int i = 0; i < 21; i++) {
		x[i] = x[4 * i];
		y[i] = y[4 * i];
	}
	assert_int_equal(rig_curve_fit(x, y, 21, NULL, &c), 0);
	rig_curve_info(c, &in);
	assert_int_equal(in.kind, RIG_CURVE_STEFFEN);
	assert_int_equal(rig_curve_eval(c, 50, &v, &u), 0);
	assert_true(u == in.resid_sd && u > 1.0);
	assert_near(rig_curve_residuals(c, &n)[10], 0, 1e-9); /* through the points */
	rig_curve_free(c);
}

/* A falling curve (a depth mechanism wired backwards) is refused. */
static void decreasing_data_refused(void **state)
{
	double x[20], y[20];
	struct rig_curve *c = NULL;
	(void)state;
	for (int i = 0; i < 20; i++) {
		x[i] = 100.0 * i;
		y[i] = 3000 - 0.8 * x[i];
	}
	assert_int_equal(rig_curve_fit(x, y, 20, NULL, &c), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "mean y at x = 100 is 2920, not above 3000 at x = 0"));
}

static void argument_errors(void **state)
{
	const double x[] = {1, 2, 3, 4}, y[] = {1, 2, 3, 4}, same[] = {2, 2, 2, 2};
	struct rig_curve_options o = {.max_degree = 6, .alpha = 0.01, .grid = 100};
	struct rig_curve *c = NULL;
	(void)state;
	assert_int_equal(rig_curve_fit(x, y, 4, &o, &c), RIG_ERR_ARG);
	o.max_degree = 3;
	o.alpha = 1.5;
	assert_int_equal(rig_curve_fit(x, y, 4, &o, &c), RIG_ERR_ARG);
	o.alpha = 0.05;
	o.grid = 2;
	assert_int_equal(rig_curve_fit(x, y, 4, &o, &c), RIG_ERR_ARG);
	assert_int_equal(rig_curve_fit(x, y, 2, NULL, &c), RIG_ERR_ARG);
	assert_int_equal(rig_curve_fit(same, y, 4, NULL, &c), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "every point is at x = 2"));
	assert_int_equal(rig_curve_fit(x, y, 4, NULL, NULL), RIG_ERR_ARG);
	rig_curve_free(NULL);
}

static void knots_check_rules(void **state)
{
	struct rig_knot k[4] = {
		{.setpoint = 250, .value = 100},
		{.setpoint = 500, .value = 400},
		{.setpoint = 750, .value = 700},
		{.setpoint = 1000, .value = 1000},
	};
	struct rig_knot_limits lim = depth_limits;
	(void)state;
	assert_int_equal(rig_knots_check(k, 4, &lim), 0);
	assert_int_equal(rig_knots_check(k, 1, &lim), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "depth table: 1 knot(s); a table needs at least 2"));
	lim.max_knots = 3;
	assert_int_equal(rig_knots_check(k, 4, &lim), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "4 knots; the pen holds at most 3"));
	lim.max_knots = 32;
	lim.value_max = 900;
	assert_int_equal(rig_knots_check(k, 4, &lim), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(),
			       "knot 4 of 4 (setpoint 1000): code 1000 is outside the pen's "
			       "range 0 .. 900"));
	lim.value_max = CODE_MAX;
	k[2].value = 400;
	assert_int_equal(rig_knots_check(k, 4, &lim), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(),
			       "knot 3 of 4 (setpoint 750): code 400 is not above knot 2's "
			       "code 400"));
	k[2].value = 700;
	k[2].setpoint = 500;
	assert_int_equal(rig_knots_check(k, 4, &lim), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "setpoint 500 is not above knot 2's 500"));
	k[2].setpoint = NAN;
	assert_int_equal(rig_knots_check(k, 4, &lim), RIG_ERR_RANGE);
	assert_int_equal(rig_knots_check(NULL, 4, &lim), RIG_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(depth_curve_inversion_accuracy),
		cmocka_unit_test(linear_data_mostly_degree_one),
		cmocka_unit_test(refuses_to_extrapolate),
		cmocka_unit_test(non_monotone_data_detected),
		cmocka_unit_test(steffen_fallback),
		cmocka_unit_test(decreasing_data_refused),
		cmocka_unit_test(argument_errors),
		cmocka_unit_test(knots_check_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
