/* Fuzz target: the fitting library behind `rig fit` (rig/lib/cal/fit.c,
 * model.c, invert.c; the CSV splitting itself lives in the CLI,
 * rig/cli/cmd_fit.c). Input: a mode byte, then points. Mode bits 0-2: the
 * polynomial degree; bit 3: points are raw little-endian doubles (NaN,
 * infinities, huge values) instead of int16 pairs scaled by 1/8. Runs
 * rig_poly_fit, rig_curve_fit, evaluation, inversion and knots.
 * Oracles (rig/fit.h): a fit that succeeds has finite coefficients and a
 * residual SD >= 0; an inversion that succeeds lies inside the measured x
 * range; knots that rig_knots_check accepts strictly increase. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>
#include <rig/rig.h>

#include "fuzz.h"

#define MAX_POINTS 256

static size_t read_points(const uint8_t *p, size_t n, int raw, double *x, double *y)
{
	size_t k = 0, step = raw ? 16 : 4;

	for (size_t at = 0; at + step <= n && k < MAX_POINTS; at += step, k++) {
		if (raw) {
			memcpy(&x[k], p + at, 8);
			memcpy(&y[k], p + at + 8, 8);
		} else {
			x[k] = (int16_t)fuzz_u16(p + at) / 8.0;
			y[k] = (int16_t)fuzz_u16(p + at + 2) / 8.0;
		}
	}
	return k;
}

static void curve(const double *x, const double *y, size_t n)
{
	struct rig_curve *c = NULL;
	struct rig_curve_info info;
	struct rig_knot knots[8];
	struct rig_knot_limits lim = {"depth", "code", 0, 4095, 32};
	double xmin = INFINITY, xmax = -INFINITY, ylo, yhi, sp[8], v, u, xi;

	if (rig_curve_fit(x, y, n, NULL, &c) < 0) {
		FUZZ_CHECK(c == NULL, "failed curve fit left a curve");
		return;
	}
	rig_curve_info(c, &info);
	for (size_t i = 0; i < n; i++) {
		xmin = fmin(xmin, x[i]);
		xmax = fmax(xmax, x[i]);
	}
	FUZZ_CHECK(rig_curve_eval(c, xmin, &ylo, &u) == 0 && rig_curve_eval(c, xmax, &yhi, &u) == 0,
		   "curve cannot be evaluated at its own range ends");
	for (int i = 0; i < 8; i++) {
		sp[i] = ylo + (yhi - ylo) * (i + 0.5) / 8.0;
		if (rig_curve_eval(c, xmin + (xmax - xmin) * i / 7.0, &v, &u) == 0)
			FUZZ_ORACLE(!isnan(v), "curve value NaN inside its range");
		if (rig_curve_invert(c, sp[i], &xi) == 0)
			FUZZ_CHECK(xi >= xmin && xi <= xmax, "inverse %g outside [%g, %g]", xi, xmin,
				   xmax);
	}
	if (rig_curve_knots(c, sp, 8, knots) == 0 && rig_knots_check(knots, 8, &lim) == 0)
		for (int i = 1; i < 8; i++)
			FUZZ_CHECK(knots[i].value > knots[i - 1].value &&
				   knots[i].setpoint > knots[i - 1].setpoint,
				   "accepted knots not increasing at %d", i);
	rig_curve_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static double x[MAX_POINTS], y[MAX_POINTS], resid[MAX_POINTS];
	static struct rig_poly_fit_result fit;
	unsigned degree;
	size_t n;

	fuzz_quiet();
	if (size < 1)
		return 0;
	degree = data[0] & 7;
	n = read_points(data + 1, size - 1, data[0] & 8, x, y);
	if (rig_poly_fit(x, y, n, degree, &fit, resid) == 0) {
		for (unsigned i = 0; i <= fit.degree; i++)
			FUZZ_ORACLE(isfinite(fit.coef[i]), "coefficient %u not finite", i);
		FUZZ_ORACLE(fit.resid_sd >= 0, "residual SD %g", fit.resid_sd);
		(void)rig_poly_eval(&fit, x[0]);
		(void)rig_poly_slope(&fit, x[0]);
		(void)rig_poly_u(&fit, x[0]);
	}
	curve(x, y, n);
	return 0;
}
