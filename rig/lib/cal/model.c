/* Monotone calibration curves (rig/fit.h): code -> protrusion and duty ->
 * rate from sweep data. A pen's table is only usable if its curve is
 * increasing, so the model is chosen among polynomials of degree 1..5 whose
 * derivative stays positive over the measured range, by AICc, unless the
 * monotone ones fit significantly worse (F-test) than the best polynomial;
 * then a Steffen interpolant of the per-x means (monotone whenever the means
 * are) is used, and data whose means fall are refused. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>

#include "cal/numeric.h"
#include "core/core.h"

struct rig_curve {
	struct rig_curve_info info;
	double *resid;                  /* n residuals, input order */
	struct rigi_num_interp *interp; /* STEFFEN */
	double u_interp;                /* STEFFEN: standard uncertainty of a value */
};

/* Distinct x values of the sweep, their mean y and replicate counts. */
struct levels {
	size_t k;
	double *x, *mean;
	size_t *count;
	double ss_within; /* sum of squares about the level means */
};

static const struct rig_curve_options default_options = {
	.max_degree = RIG_CURVE_MAX_DEGREE,
	.alpha = 0.01,
	.grid = 1000,
};

static void levels_free(struct levels *lv)
{
	free(lv->x);
	free(lv->mean);
	free(lv->count);
}

static int cmp_pair(const void *a, const void *b)
{
	const double *p = a, *q = b;
	return (p[0] > q[0]) - (p[0] < q[0]);
}

static int levels_make(const double *x, const double *y, size_t n, struct levels *lv)
{
	double *pairs = malloc(2 * n * sizeof(*pairs));
	size_t j = 0;

	memset(lv, 0, sizeof(*lv));
	lv->x = malloc(n * sizeof(double));
	lv->mean = calloc(n, sizeof(double));
	lv->count = calloc(n, sizeof(size_t));
	if (!pairs || !lv->x || !lv->mean || !lv->count) {
		free(pairs);
		levels_free(lv);
		return rigi_fail(RIG_ERR_NOMEM, "curve fit: %zu points", n);
	}
	for (size_t i = 0; i < n; i++) {
		pairs[2 * i] = x[i];
		pairs[2 * i + 1] = y[i];
	}
	qsort(pairs, n, 2 * sizeof(double), cmp_pair);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && pairs[2 * i] != pairs[2 * i - 2])
			j++;
		lv->x[j] = pairs[2 * i];
		lv->mean[j] += pairs[2 * i + 1];
		lv->count[j]++;
	}
	lv->k = j + 1;
	for (j = 0; j < lv->k; j++)
		lv->mean[j] /= (double)lv->count[j];
	for (size_t i = 0, lvl = 0; i < n; i++) {
		if (i > 0 && pairs[2 * i] != pairs[2 * i - 2])
			lvl++;
		lv->ss_within += (pairs[2 * i + 1] - lv->mean[lvl]) * (pairs[2 * i + 1] - lv->mean[lvl]);
	}
	free(pairs);
	return RIG_OK;
}

/* Smallest derivative on @p grid + 1 evenly spaced points and at the ends. */
static double poly_min_slope(const struct rig_poly_fit_result *f, double lo, double hi,
			     unsigned grid)
{
	double m = INFINITY;

	for (unsigned i = 0; i <= grid; i++)
		m = fmin(m, rig_poly_slope(f, lo + (hi - lo) * i / grid));
	return m;
}

/* AICc of a least squares fit with k = degree + 2 parameters (coefficients
 * and the residual variance); infinite when n is too small to compare. */
static double aicc(const struct rig_poly_fit_result *f)
{
	double n = (double)f->n, k = f->degree + 2.0;

	if (n - k - 1 <= 0)
		return INFINITY;
	return n * log(fmax(f->sse, DBL_MIN) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1);
}

/* Is the fit of degree @p d not significantly worse than the one of degree
 * @p best > d (extra-sum-of-squares F-test at level @p alpha)? */
static int not_worse(const struct rig_poly_fit_result *fd, const struct rig_poly_fit_result *fb,
		     double alpha)
{
	double num, den;

	if (fd->degree >= fb->degree)
		return 1;
	num = (fd->sse - fb->sse) / (double)(fb->degree - fd->degree);
	den = fb->sse / (double)fb->dof;
	if (num <= 0)
		return 1;
	if (den <= 0)
		return 0;
	return rigi_num_fdist_q(num / den, (double)(fb->degree - fd->degree), (double)fb->dof) >=
	       alpha;
}

/* Fit every admissible degree, then pick among the monotone ones; *chosen
 * is the degree or -1. A degree too ill-conditioned to fit ends the scan
 * (higher ones are worse); any other failure is returned. */
static int choose_poly(const double *x, const double *y, size_t n, const struct levels *lv,
		       const struct rig_curve_options *o, struct rig_poly_fit_result *fits,
		       struct rig_curve_info *info, int *chosen)
{
	int best = -1, ret;

	*chosen = -1;
	for (unsigned d = 0; d <= RIG_CURVE_MAX_DEGREE; d++)
		info->aicc[d] = NAN;
	for (unsigned d = 1; d <= o->max_degree && d + 1 <= lv->k && d + 2 <= n; d++) {
		ret = rig_poly_fit(x, y, n, d, &fits[d], NULL);
		if (ret == RIG_ERR_RANGE)
			break;
		if (ret < 0)
			return ret;
		info->aicc[d] = aicc(&fits[d]);
		if (poly_min_slope(&fits[d], lv->x[0], lv->x[lv->k - 1], o->grid) > 0)
			info->monotone_mask |= 1u << d;
		if (isfinite(info->aicc[d]) && (best < 0 || info->aicc[d] < info->aicc[best]))
			best = (int)d;
	}
	for (int d = 1; best > 0 && d <= (int)o->max_degree; d++) {
		if (!(info->monotone_mask & (1u << d)) || !isfinite(info->aicc[d]))
			continue;
		if (!not_worse(&fits[d], &fits[best], o->alpha))
			continue;
		if (*chosen < 0 || info->aicc[d] < info->aicc[*chosen])
			*chosen = d;
	}
	return RIG_OK;
}

static int check_options(const struct rig_curve_options *o)
{
	if (o->max_degree < 1 || o->max_degree > RIG_CURVE_MAX_DEGREE)
		return rigi_fail(RIG_ERR_ARG, "curve fit: max_degree %u, allowed 1..%d",
				 o->max_degree, RIG_CURVE_MAX_DEGREE);
	if (!(o->alpha > 0 && o->alpha < 1))
		return rigi_fail(RIG_ERR_ARG, "curve fit: alpha %g, allowed (0, 1)", o->alpha);
	if (o->grid < 10)
		return rigi_fail(RIG_ERR_ARG, "curve fit: grid %u, need at least 10", o->grid);
	return RIG_OK;
}

static int check_data(const double *x, const double *y, size_t n)
{
	if (!x || !y)
		return rigi_fail(RIG_ERR_ARG, "curve fit: NULL data");
	if (n < 3)
		return rigi_fail(RIG_ERR_ARG, "curve fit: %zu points; need at least 3", n);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]) || !isfinite(y[i]))
			return rigi_fail(RIG_ERR_ARG, "curve fit: point %zu (%g, %g) is not finite", i,
					 x[i], y[i]);
	return RIG_OK;
}

static void set_poly(struct rig_curve *c, const struct rig_poly_fit_result *f, const double *x,
		     const double *y, const struct levels *lv, unsigned grid)
{
	struct rig_curve_info *in = &c->info;

	in->kind = RIG_CURVE_POLY;
	in->degree = f->degree;
	in->poly = *f;
	in->resid_sd = f->resid_sd;
	in->min_slope = poly_min_slope(f, lv->x[0], lv->x[lv->k - 1], grid);
	for (size_t i = 0; i < in->n; i++)
		c->resid[i] = y[i] - rig_poly_eval(f, x[i]);
}

/* Uncertainty of the interpolant: the pooled within-x SD of a level mean
 * (smallest replicate count); without replicates, the residual SD of the
 * highest polynomial fitted, which includes any lack of fit. */
static double steffen_u(const struct levels *lv, size_t n, const struct rig_poly_fit_result *fits,
			const struct rig_curve_info *in, double *sd)
{
	size_t nmin = SIZE_MAX;

	if (n > lv->k) {
		for (size_t j = 0; j < lv->k; j++)
			nmin = lv->count[j] < nmin ? lv->count[j] : nmin;
		*sd = sqrt(lv->ss_within / (double)(n - lv->k));
		return *sd / sqrt((double)nmin);
	}
	*sd = NAN;
	for (int d = RIG_CURVE_MAX_DEGREE; d >= 1; d--)
		if (!isnan(in->aicc[d]) && fits[d].n == n) {
			*sd = fits[d].resid_sd;
			break;
		}
	return *sd;
}

static int set_steffen(struct rig_curve *c, const double *x, const double *y,
		       const struct levels *lv, const struct rig_poly_fit_result *fits,
		       unsigned grid)
{
	struct rig_curve_info *in = &c->info;
	int ret;

	if (lv->k < 3)
		return rigi_fail(RIG_ERR_RANGE,
				 "curve fit: no polynomial is monotone increasing over x = %g .. %g "
				 "and %zu distinct x values are too few for the monotone "
				 "interpolant (3 needed); measure at more x values",
				 lv->x[0], lv->x[lv->k - 1], lv->k);
	for (size_t j = 1; j < lv->k; j++)
		if (!(lv->mean[j] > lv->mean[j - 1]))
			return rigi_fail(RIG_ERR_RANGE,
					 "curve fit: the data are not monotone increasing: mean y at "
					 "x = %g is %g, not above %g at x = %g; check the sweep "
					 "(backlash, slipping detent, stalled motor) before calibrating",
					 lv->x[j], lv->mean[j], lv->mean[j - 1], lv->x[j - 1]);
	ret = rigi_num_steffen_new(lv->x, lv->mean, lv->k, &c->interp);
	if (ret < 0)
		return ret;
	in->kind = RIG_CURVE_STEFFEN;
	in->degree = 0;
	c->u_interp = steffen_u(lv, in->n, fits, in, &in->resid_sd);
	in->min_slope = INFINITY;
	for (unsigned i = 0; i <= grid; i++) {
		double d = 0;
		rigi_num_interp_eval(c->interp, lv->x[0] + (lv->x[lv->k - 1] - lv->x[0]) * i / grid,
				     NULL, &d);
		in->min_slope = fmin(in->min_slope, d);
	}
	for (size_t i = 0; i < in->n; i++) {
		double v = 0;
		rigi_num_interp_eval(c->interp, x[i], &v, NULL);
		c->resid[i] = y[i] - v;
	}
	return RIG_OK;
}

static int curve_build(struct rig_curve *c, const double *x, const double *y,
		       const struct levels *lv, const struct rig_curve_options *o)
{
	struct rig_poly_fit_result *fits = calloc(RIG_CURVE_MAX_DEGREE + 1, sizeof(*fits));
	struct rig_curve_info *in = &c->info;
	int chosen, ret;

	if (!fits)
		return rigi_fail(RIG_ERR_NOMEM, "curve fit");
	ret = choose_poly(x, y, in->n, lv, o, fits, in, &chosen);
	if (ret == 0 && chosen > 0)
		set_poly(c, &fits[chosen], x, y, lv, o->grid);
	else if (ret == 0)
		ret = set_steffen(c, x, y, lv, fits, o->grid);
	free(fits);
	if (ret < 0)
		return ret;
	in->max_abs_resid = 0;
	for (size_t i = 0; i < in->n; i++)
		in->max_abs_resid = fmax(in->max_abs_resid, fabs(c->resid[i]));
	ret = rig_curve_eval(c, in->x_min, &in->y_lo, NULL);
	if (ret == 0)
		ret = rig_curve_eval(c, in->x_max, &in->y_hi, NULL);
	return ret;
}

int rig_curve_fit(const double *x, const double *y, size_t n,
		  const struct rig_curve_options *opts, struct rig_curve **out)
{
	const struct rig_curve_options *o = opts ? opts : &default_options;
	struct levels lv;
	struct rig_curve *c;
	int ret;

	if (!out)
		return rigi_fail(RIG_ERR_ARG, "curve fit: NULL result");
	*out = NULL;
	ret = check_options(o);
	if (ret == 0)
		ret = check_data(x, y, n);
	if (ret < 0)
		return ret;
	ret = levels_make(x, y, n, &lv);
	if (ret < 0)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c || !(c->resid = malloc(n * sizeof(double)))) {
		ret = rigi_fail(RIG_ERR_NOMEM, "curve fit: %zu points", n);
		goto out;
	}
	c->info.n = n;
	c->info.n_levels = lv.k;
	c->info.x_min = lv.x[0];
	c->info.x_max = lv.x[lv.k - 1];
	if (lv.k < 2) {
		ret = rigi_fail(RIG_ERR_ARG, "curve fit: every point is at x = %g; sweep x", lv.x[0]);
		goto out;
	}
	ret = curve_build(c, x, y, &lv, o);
	/* Extreme but finite data can make the curve overflow between levels:
	 * refused here rather than returning NaN to a later caller. */
	for (size_t i = 0; ret == 0 && i + 1 < lv.k; i++) {
		double mid = lv.x[i] + 0.5 * (lv.x[i + 1] - lv.x[i]), v = 0, u = 0;
		if (rig_curve_eval(c, lv.x[i], &v, &u) < 0 || !isfinite(v) ||
		    rig_curve_eval(c, mid, &v, &u) < 0 || !isfinite(v))
			ret = rigi_fail(RIG_ERR_RANGE, "curve fit: the curve is not finite near x = "
					"%g: x or y too extreme to fit; rescale the data", lv.x[i]);
	}
out:
	levels_free(&lv);
	if (ret < 0)
		rig_curve_free(c);
	else
		*out = c;
	return ret;
}

void rig_curve_free(struct rig_curve *curve)
{
	if (!curve)
		return;
	rigi_num_interp_free(curve->interp);
	free(curve->resid);
	free(curve);
}

void rig_curve_info(const struct rig_curve *curve, struct rig_curve_info *out)
{
	*out = curve->info;
}

const double *rig_curve_residuals(const struct rig_curve *curve, size_t *n)
{
	*n = curve->info.n;
	return curve->resid;
}

int rig_curve_eval(const struct rig_curve *curve, double x, double *y, double *u)
{
	const struct rig_curve_info *in = &curve->info;
	double v;
	int ret;

	if (!(x >= in->x_min && x <= in->x_max))
		return rigi_fail(RIG_ERR_RANGE,
				 "curve: x = %g is outside the measured range %g .. %g; the "
				 "curve is not extrapolated",
				 x, in->x_min, in->x_max);
	if (in->kind == RIG_CURVE_POLY) {
		v = rig_poly_eval(&in->poly, x);
		if (u)
			*u = rig_poly_u(&in->poly, x);
	} else {
		ret = rigi_num_interp_eval(curve->interp, x, &v, NULL);
		if (ret < 0)
			return ret;
		if (u)
			*u = curve->u_interp;
	}
	if (y)
		*y = v;
	return RIG_OK;
}
