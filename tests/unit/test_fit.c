/* Tests of polynomial least squares (rig_poly_fit): the NIST StRD certified
 * values (Norris, Pontius; Filip when its .dat file is present), Wampler 1
 * and 2 generated from their defining polynomials, the uncertainty of a
 * fitted value, residuals, and argument errors. The StRD files are parsed at
 * test time from RIG_SOURCE_DIR/../shared/data/strd (RIG_STRD_DIR
 * overrides). Each value's LRE (log relative error, digits) is printed. */
#include <math.h>
#include <stdio.h>
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

#define MAX_OBS 128

struct strd {
	size_t n, n_par;
	double x[MAX_OBS], y[MAX_OBS];
	double est[RIG_POLY_MAX_COEF], sd[RIG_POLY_MAX_COEF];
	double resid_sd, r2;
};

/* Certified values are "B<k> estimate sd", "Standard Deviation value",
 * "R-Squared value"; the data follow the line "Data: y x". */
static void parse_line(struct strd *d, const char *line, int *in_data)
{
	char a[16], b[16];
	unsigned k;
	double u, v;

	while (*line == ' ' || *line == '\t')
		line++;
	if (*in_data) {
		if (sscanf(line, "%lf %lf", &u, &v) == 2) {
			assert_true(d->n < MAX_OBS);
			d->y[d->n] = u;
			d->x[d->n++] = v;
		}
	} else if (sscanf(line, "B%u %lf %lf", &k, &u, &v) == 3) {
		assert_true(k < RIG_POLY_MAX_COEF);
		d->est[k] = u;
		d->sd[k] = v;
		if (k + 1 > d->n_par)
			d->n_par = k + 1;
	} else if (!strncmp(line, "Standard Deviation", 18)) {
		sscanf(line + 18, "%lf", &d->resid_sd);
	} else if (!strncmp(line, "R-Squared", 9)) {
		sscanf(line + 9, "%lf", &d->r2);
	} else if (!strncmp(line, "Data:", 5) && sscanf(line + 5, "%15s %15s", a, b) == 2 &&
		   !strcmp(a, "y") && !strcmp(b, "x")) {
		*in_data = 1;
	}
}

/* 1 loaded, 0 file absent */
static int strd_load(const char *name, struct strd *d)
{
	const char *dir = getenv("RIG_STRD_DIR");
	char path[1024], line[512];
	int in_data = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : RIG_SOURCE_DIR "/../shared/data/strd",
		 name);
	memset(d, 0, sizeof(*d));
	d->resid_sd = d->r2 = NAN;
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		parse_line(d, line, &in_data);
	fclose(f);
	assert_true(d->n > d->n_par && d->n_par >= 1);
	assert_true(isfinite(d->resid_sd) && isfinite(d->r2));
	return 1;
}

/* Log relative error: the number of correct significant digits (15 when
 * exact); against a certified 0, -log10 of the absolute error. */
static double lre(double got, double cert)
{
	double err = cert != 0 ? fabs(got - cert) / fabs(cert) : fabs(got);
	return err == 0 ? 15.0 : fmin(15.0, -log10(err));
}

/* Fit, print every LRE, return the smallest. */
static double strd_check(const char *name, const struct strd *d, struct rig_poly_fit_result *r)
{
	double worst = 15, l;

	assert_int_equal(rig_poly_fit(d->x, d->y, d->n, (unsigned)(d->n_par - 1), r, NULL), 0);
	assert_int_equal(r->dof, d->n - d->n_par);
	for (size_t k = 0; k < d->n_par; k++) {
		l = lre(r->coef[k], d->est[k]);
		worst = fmin(worst, l);
		print_message("%s B%zu estimate %.15g  LRE %.1f\n", name, k, r->coef[k], l);
		l = lre(r->se[k], d->sd[k]);
		worst = fmin(worst, l);
		print_message("%s B%zu sd       %.15g  LRE %.1f\n", name, k, r->se[k], l);
	}
	l = lre(r->resid_sd, d->resid_sd);
	worst = fmin(worst, l);
	print_message("%s residual SD   %.15g  LRE %.1f\n", name, r->resid_sd, l);
	l = lre(r->r2, d->r2);
	worst = fmin(worst, l);
	print_message("%s R-squared     %.15g  LRE %.1f (cond %.3g)\n", name, r->r2, l, r->cond);
	return worst;
}

/* At least 9 significant digits on every certified value: relative error
 * below 5e-10 is LRE above 9.3. */
#define LRE_REQUIRED 9.3

static void nist_norris(void **state)
{
	struct strd d;
	struct rig_poly_fit_result r;
	(void)state;
	assert_true(strd_load("Norris.dat", &d));
	assert_int_equal(d.n, 36);
	assert_int_equal(d.n_par, 2);
	assert_true(strd_check("Norris", &d, &r) >= LRE_REQUIRED);
}

static void nist_pontius(void **state)
{
	struct strd d;
	struct rig_poly_fit_result r;
	(void)state;
	assert_true(strd_load("Pontius.dat", &d));
	assert_int_equal(d.n, 40);
	assert_int_equal(d.n_par, 3);
	assert_true(strd_check("Pontius", &d, &r) >= LRE_REQUIRED);
}

/* Filip (degree 10, "higher difficulty") is not in the shared data yet; it
 * runs when Filip.dat is put there. Measured with a copy: LRE >= 13.9 on
 * every value (docs/fit.md), so it is held to the same 9 digits. */
#define FILIP_LRE_FLOOR LRE_REQUIRED

static void nist_filip(void **state)
{
	struct strd d;
	struct rig_poly_fit_result r;
	(void)state;
	if (!strd_load("Filip.dat", &d))
		skip();
	assert_int_equal(d.n, 82);
	assert_int_equal(d.n_par, 11);
	assert_true(strd_check("Filip", &d, &r) >= FILIP_LRE_FLOOR);
}

/* Wampler 1 and 2: y = sum_k (c x)^k... with x = 0..20 and certified
 * coefficients c^k, residual SD 0 and R-squared 1. */
static void wampler(const char *name, double ratio, struct rig_poly_fit_result *r)
{
	double x[21], y[21], ck = 1, worst = 15;

	for (int i = 0; i <= 20; i++) {
		double term = 1;
		x[i] = i;
		y[i] = 0;
		for (int k = 0; k <= 5; k++, term *= ratio * i)
			y[i] += term;
	}
	assert_int_equal(rig_poly_fit(x, y, 21, 5, r, NULL), 0);
	for (int k = 0; k <= 5; k++, ck *= ratio) {
		double l = lre(r->coef[k], ck);
		print_message("%s B%d estimate %.15g  LRE %.1f\n", name, k, r->coef[k], l);
		worst = fmin(worst, l);
	}
	print_message("%s residual SD %.3g, R-squared 1 - %.3g, cond %.3g\n", name,
		      r->resid_sd, 1 - r->r2, r->cond);
	assert_true(worst >= LRE_REQUIRED);
	assert_true(1 - r->r2 < 1e-15);
}

static void wampler1(void **state)
{
	struct rig_poly_fit_result r;
	(void)state;
	wampler("Wampler1", 1.0, &r);
	/* y up to 3.4e6: a residual SD of 0 to double precision */
	assert_true(r.resid_sd < 1e-8);
	for (int k = 0; k <= 5; k++)
		assert_true(r.se[k] < 1e-8);
}

static void wampler2(void **state)
{
	struct rig_poly_fit_result r;
	(void)state;
	wampler("Wampler2", 0.1, &r);
	assert_true(r.resid_sd < 1e-13);
}

/* u(y) from the t-basis covariance must equal sqrt(g' Cov g) in the power
 * basis (fine for Norris, whose x are small), and the slope of a straight
 * line is its coefficient. */
static void uncertainty_of_fitted_value(void **state)
{
	struct strd d;
	struct rig_poly_fit_result r;
	double resid[MAX_OBS], sum = 0;
	(void)state;
	assert_true(strd_load("Norris.dat", &d));
	assert_int_equal(rig_poly_fit(d.x, d.y, d.n, 1, &r, resid), 0);
	for (double x = 0; x <= 1000; x += 125) {
		double var = r.cov[0][0] + 2 * x * r.cov[0][1] + x * x * r.cov[1][1];
		assert_near(rig_poly_u(&r, x), sqrt(var), 1e-9 * sqrt(var));
		assert_near(rig_poly_slope(&r, x), r.coef[1], 1e-12);
		assert_near(rig_poly_eval(&r, x), r.coef[0] + r.coef[1] * x, 1e-9);
	}
	/* at the mean of x the uncertainty is s / sqrt(n) */
	double xbar = 0;
	for (size_t i = 0; i < d.n; i++)
		xbar += d.x[i] / (double)d.n;
	assert_near(rig_poly_u(&r, xbar), r.resid_sd / sqrt((double)d.n), 1e-12);
	for (size_t i = 0; i < d.n; i++) {
		assert_near(resid[i], d.y[i] - rig_poly_eval(&r, d.x[i]), 1e-12);
		sum += resid[i];
	}
	assert_near(sum, 0, 1e-9);
}

/* Degree 0 is the mean; its SE is s / sqrt(n); R-squared is 0. */
static void degree_zero_is_the_mean(void **state)
{
	const double x[] = {5, 5, 5, 5}, y[] = {1, 2, 3, 6};
	struct rig_poly_fit_result r;
	(void)state;
	assert_int_equal(rig_poly_fit(x, y, 4, 0, &r, NULL), 0);
	assert_near(r.coef[0], 3.0, 1e-14);
	assert_near(r.resid_sd, sqrt(14.0 / 3.0), 1e-14);
	assert_near(r.se[0], sqrt(14.0 / 3.0) / 2.0, 1e-14);
	assert_near(r.r2, 0.0, 1e-14);
	assert_int_equal(r.dof, 3);
}

/* A quadratic far from the origin (x = 1e6 .. 1e6 + 20): the fit in t is
 * as accurate as near the origin, and the power-basis coefficients carry
 * the offset exactly (coef[0] = 7 - 0.5 c - 0.01 c^2 with c = 1e6 + 10). */
static void far_offset_quadratic(void **state)
{
	const double c = 1e6 + 10;
	double x[21], y[21];
	struct rig_poly_fit_result r;
	(void)state;
	for (int i = 0; i <= 20; i++) {
		double dx = i - 10.0;
		x[i] = 1e6 + i;
		y[i] = 7.0 + 0.5 * dx - 0.01 * dx * dx;
	}
	assert_int_equal(rig_poly_fit(x, y, 21, 2, &r, NULL), 0);
	assert_near(rig_poly_eval(&r, c), 7.0, 1e-12);
	assert_near(rig_poly_slope(&r, c), 0.5, 1e-12);
	assert_true(lre(r.coef[2], -0.01) > 9);
	assert_true(lre(r.coef[1], 0.5 + 0.02 * c) > 9);
	assert_true(lre(r.coef[0], 7.0 - 0.5 * c - 0.01 * c * c) > 9);
	assert_true(r.cond < 10);
}

static void argument_errors(void **state)
{
	const double x[] = {1, 1, 2, 2, 2}, y[] = {1, 2, 3, 4, 5}, bad[] = {1, NAN, 3, 4, 5};
	struct rig_poly_fit_result r;
	(void)state;
	assert_int_equal(rig_poly_fit(x, y, 5, 11, &r, NULL), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "maximum is 10"));
	assert_int_equal(rig_poly_fit(x, y, 3, 2, &r, NULL), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "need at least 4"));
	assert_int_equal(rig_poly_fit(x, y, 5, 2, &r, NULL), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "2 distinct x values"));
	assert_int_equal(rig_poly_fit(x, bad, 5, 1, &r, NULL), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "point 1"));
	assert_int_equal(rig_poly_fit(NULL, y, 5, 1, &r, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_poly_fit(x, y, 5, 1, NULL, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_poly_fit(x, y, 5, 1, &r, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nist_norris),
		cmocka_unit_test(nist_pontius),
		cmocka_unit_test(nist_filip),
		cmocka_unit_test(wampler1),
		cmocka_unit_test(wampler2),
		cmocka_unit_test(uncertainty_of_fitted_value),
		cmocka_unit_test(degree_zero_is_the_mean),
		cmocka_unit_test(far_offset_quadratic),
		cmocka_unit_test(argument_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
