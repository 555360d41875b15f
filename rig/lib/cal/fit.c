/* Polynomial least squares for calibration curves (rig/fit.h). The power
 * basis in raw x is badly conditioned (Pontius: x up to 3e6, so x^2 up to
 * 9e12), so the fit is done in t = (x - centre) / half-range, which lies in
 * [-1, 1], by SVD (numeric.c); coefficients and covariance are then carried
 * back to the power basis of x exactly: beta = T beta_t, Cov = T Cov_t T'. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>

#include "cal/numeric.h"
#include "core/core.h"

#define NCOEF RIG_POLY_MAX_COEF

static size_t count_distinct(const double *x, size_t n, double *xmin, double *xmax, int *err)
{
	double *s = malloc(n * sizeof(*s));
	size_t k = 1;

	if (!s) {
		*err = rigi_fail(RIG_ERR_NOMEM, "polynomial fit: %zu points", n);
		return 0;
	}
	memcpy(s, x, n * sizeof(*s));
	rigi_num_sort(s, n);
	for (size_t i = 1; i < n; i++)
		k += s[i] != s[i - 1];
	*xmin = s[0];
	*xmax = s[n - 1];
	free(s);
	return k;
}

static int check_input(const double *x, const double *y, size_t n, unsigned degree)
{
	if (!x || !y)
		return rigi_fail(RIG_ERR_ARG, "polynomial fit: NULL data");
	if (degree > RIG_POLY_MAX_DEGREE)
		return rigi_fail(RIG_ERR_ARG, "polynomial fit: degree %u, the maximum is %d", degree,
				 RIG_POLY_MAX_DEGREE);
	if (n < (size_t)degree + 2)
		return rigi_fail(RIG_ERR_ARG,
				 "polynomial fit: %zu points for degree %u; need at least %u "
				 "(one more than the coefficients, to estimate the residual SD)",
				 n, degree, degree + 2);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]) || !isfinite(y[i]))
			return rigi_fail(RIG_ERR_ARG, "polynomial fit: point %zu (%g, %g) is not finite",
					 i, x[i], y[i]);
	return RIG_OK;
}

/* Column k of T holds the power-basis expansion of t^k = ((x - c) / h)^k:
 * T[j][k] = C(k, j) (-c)^(k-j) / h^k. Long double keeps the cancellation
 * between large terms (Pontius: c/h ~ 1.1, b' ~ 1) below 1e-18. */
static void back_transform(struct rig_poly_fit_result *r)
{
	const size_t p = r->degree + 1;
	long double T[NCOEF][NCOEF] = {{0}}, TC[NCOEF][NCOEF] = {{0}};
	const long double c = r->x_center, h = r->x_half;

	for (size_t k = 0; k < p; k++) {
		long double binom = 1, hk = powl(h, (long double)k);
		for (size_t j = 0; j <= k; j++) {
			T[j][k] = binom * powl(-c, (long double)(k - j)) / hk;
			binom = binom * (long double)(k - j) / (long double)(j + 1);
		}
	}
	for (size_t j = 0; j < p; j++) {
		long double s = 0;
		for (size_t k = j; k < p; k++)
			s += T[j][k] * r->coef_t[k];
		r->coef[j] = (double)s;
		for (size_t m = 0; m < p; m++) {
			long double a = 0;
			for (size_t k = j; k < p; k++)
				a += T[j][k] * r->cov_t[k][m];
			TC[j][m] = a;
		}
	}
	for (size_t j = 0; j < p; j++)
		for (size_t m = 0; m < p; m++) {
			long double a = 0;
			for (size_t k = m; k < p; k++)
				a += TC[j][k] * T[m][k];
			r->cov[j][m] = (double)a;
		}
	for (size_t j = 0; j < p; j++)
		r->se[j] = sqrt(r->cov[j][j]);
}

static double scaled(const struct rig_poly_fit_result *r, double x)
{
	return (x - r->x_center) / r->x_half;
}

/* Residuals y - p(t) in extended precision for the current coef_t; returns
 * their sum of squares. */
static long double residuals_t(const struct rig_poly_fit_result *r, const long double *t,
			       const double *y, double *res)
{
	long double sse = 0;

	for (size_t i = 0; i < r->n; i++) {
		long double v = 0, e;
		for (size_t k = r->degree + 1; k-- > 0;)
			v = v * t[i] + r->coef_t[k];
		e = y[i] - v;
		res[i] = (double)e;
		sse += e * e;
	}
	return sse;
}

/* Two steps of iterative refinement with residuals in extended precision
 * take the solution from backward-stable to nearly exact (Wampler 1: 9 ->
 * 12 digits on the intercept); each step reuses the factorisation. */
#define REFINE_STEPS 2

static void solve_scaled_with(struct rigi_num_lsq *l, const long double *t, const double *y,
			      double *work, struct rig_poly_fit_result *r)
{
	const size_t p = r->degree + 1;
	double delta[NCOEF], cov[NCOEF * NCOEF];
	long double sse;

	rigi_num_lsq_solve(l, y, r->coef_t);
	for (int step = 0; step < REFINE_STEPS; step++) {
		residuals_t(r, t, y, work);
		rigi_num_lsq_solve(l, work, delta);
		for (size_t k = 0; k < p; k++)
			r->coef_t[k] += delta[k];
	}
	sse = residuals_t(r, t, y, work);
	r->sse = (double)sse;
	r->cond = rigi_num_lsq_cond(l);
	rigi_num_lsq_cov_unit(l, cov);
	for (size_t j = 0; j < p; j++)
		for (size_t m = 0; m < p; m++)
			r->cov_t[j][m] = (double)(sse / (long double)r->dof * cov[j * p + m]);
}

/* Solve in t and fill the t-basis part of @p r. */
static int solve_scaled(const double *x, const double *y, struct rig_poly_fit_result *r)
{
	const size_t n = r->n, p = r->degree + 1;
	double *X = malloc(n * p * sizeof(*X)), *work = malloc(n * sizeof(*work));
	long double *t = malloc(n * sizeof(*t));
	struct rigi_num_lsq *l = NULL;
	int ret;

	if (!X || !work || !t) {
		ret = rigi_fail(RIG_ERR_NOMEM, "polynomial fit: %zu x %zu design matrix", n, p);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		long double tk = 1;
		t[i] = ((long double)x[i] - r->x_center) / r->x_half;
		for (size_t k = 0; k < p; k++, tk *= t[i])
			X[i * p + k] = (double)tk;
	}
	ret = rigi_num_lsq_new(X, n, p, &l);
	if (ret < 0) {
		rigi_error_context("polynomial fit of degree %u to %zu points", r->degree, n);
		goto out;
	}
	solve_scaled_with(l, t, y, work, r);
out:
	rigi_num_lsq_free(l);
	free(t);
	free(work);
	free(X);
	return ret;
}

static void goodness(const double *x, const double *y, struct rig_poly_fit_result *r,
		     double *resid)
{
	double ybar = rigi_num_mean(y, r->n), sst = 0;

	for (size_t i = 0; i < r->n; i++) {
		sst += (y[i] - ybar) * (y[i] - ybar);
		if (resid)
			resid[i] = y[i] - rig_poly_eval(r, x[i]);
	}
	r->resid_sd = sqrt(r->sse / (double)r->dof);
	r->r2 = sst > 0 ? 1.0 - r->sse / sst : 1.0;
}

int rig_poly_fit(const double *x, const double *y, size_t n, unsigned degree,
		 struct rig_poly_fit_result *out, double *resid)
{
	double xmin = 0, xmax = 0;
	size_t levels;
	int ret = check_input(x, y, n, degree);

	if (ret < 0)
		return ret;
	if (!out)
		return rigi_fail(RIG_ERR_ARG, "polynomial fit: NULL result");
	levels = count_distinct(x, n, &xmin, &xmax, &ret);
	if (ret < 0)
		return ret;
	if (levels < (size_t)degree + 1)
		return rigi_fail(RIG_ERR_ARG,
				 "polynomial fit: %zu distinct x values for degree %u; need at "
				 "least %u",
				 levels, degree, degree + 1);
	memset(out, 0, sizeof(*out));
	out->degree = degree;
	out->n = n;
	out->dof = n - (degree + 1);
	out->x_center = 0.5 * (xmin + xmax);
	out->x_half = 0.5 * (xmax - xmin);
	if (out->x_half == 0)
		out->x_half = 1; /* degree 0 on a single x: no scaling needed */
	ret = solve_scaled(x, y, out);
	if (ret < 0)
		return ret;
	back_transform(out);
	/* Finite data can still overflow the power basis (x spans of 1e-300
	 * or 1e300): a coefficient that is not a number is no fit. */
	for (unsigned k = 0; k <= degree; k++)
		if (!isfinite(out->coef[k]) || !isfinite(out->coef_t[k]))
			return rigi_fail(RIG_ERR_RANGE, "polynomial fit: coefficient %u is not "
					 "finite: x (%g..%g) or y too extreme to fit; rescale the data",
					 k, xmin, xmax);
	goodness(x, y, out, resid);
	return RIG_OK;
}

double rig_poly_eval(const struct rig_poly_fit_result *fit, double x)
{
	double t = scaled(fit, x), v = 0;

	for (size_t k = fit->degree + 1; k-- > 0;)
		v = v * t + fit->coef_t[k];
	return v;
}

double rig_poly_slope(const struct rig_poly_fit_result *fit, double x)
{
	double t = scaled(fit, x), d = 0;

	for (size_t k = fit->degree; k >= 1; k--)
		d = d * t + (double)k * fit->coef_t[k];
	return d / fit->x_half;
}

double rig_poly_u(const struct rig_poly_fit_result *fit, double x)
{
	const size_t p = fit->degree + 1;
	double g[NCOEF], t = scaled(fit, x), var = 0;

	g[0] = 1;
	for (size_t k = 1; k < p; k++)
		g[k] = g[k - 1] * t;
	for (size_t j = 0; j < p; j++)
		for (size_t k = 0; k < p; k++)
			var += g[j] * fit->cov_t[j][k] * g[k];
	return var > 0 ? sqrt(var) : 0.0;
}
