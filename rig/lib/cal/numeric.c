/* The only GSL caller of needle-rig (see numeric.h). GSL's default error
 * handler aborts the process; it is switched off once, before the first GSL
 * call, and every GSL status is checked here and turned into a rig_err whose
 * detail says which computation failed and what the caller can do. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_interp.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_roots.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "cal/numeric.h"
#include "core/core.h"

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void install_handler(void)
{
	gsl_set_error_handler_off();
}

/* Every entry point calls this before touching GSL. */
static void num_init(void)
{
	pthread_once(&handler_once, install_handler);
}

/* ---- descriptive statistics ---- */

void rigi_num_sort(double *v, size_t n)
{
	num_init();
	gsl_sort(v, 1, n);
}

double rigi_num_mean(const double *v, size_t n)
{
	num_init();
	return gsl_stats_mean(v, 1, n);
}

double rigi_num_sd(const double *v, size_t n, double mean)
{
	num_init();
	return n < 2 ? 0.0 : gsl_stats_sd_m(v, 1, n, mean);
}

double rigi_num_median_sorted(const double *sorted, size_t n)
{
	num_init();
	return gsl_stats_median_from_sorted_data(sorted, 1, n);
}

double rigi_num_trimmed_mean_sorted(const double *sorted, size_t n, double trim)
{
	num_init();
	return gsl_stats_trmean_from_sorted_data(trim, sorted, 1, n);
}

/* ---- linear least squares ---- */

/* X D^-1 = U S V' with D the column norms: balancing makes the singular
 * values (and the condition number) independent of column scale, and
 * one-sided Jacobi computes small singular values to high relative
 * accuracy. */
struct rigi_num_lsq {
	size_t n, p;
	gsl_matrix *U; /* n x p */
	gsl_matrix *V; /* p x p */
	gsl_vector *S; /* p */
	double *d;     /* p column norms */
	double cond;
};

void rigi_num_lsq_free(struct rigi_num_lsq *l)
{
	if (!l)
		return;
	gsl_matrix_free(l->U);
	gsl_matrix_free(l->V);
	gsl_vector_free(l->S);
	free(l->d);
	free(l);
}

static int lsq_balance(struct rigi_num_lsq *l, const double *X)
{
	for (size_t k = 0; k < l->p; k++) {
		double s = 0;
		for (size_t i = 0; i < l->n; i++)
			s += X[i * l->p + k] * X[i * l->p + k];
		l->d[k] = sqrt(s);
		if (l->d[k] == 0)
			return rigi_fail(RIG_ERR_RANGE,
					 "least squares: column %zu of the %zu x %zu design matrix "
					 "is zero; lower the degree or measure at more x values",
					 k, l->n, l->p);
		for (size_t i = 0; i < l->n; i++)
			gsl_matrix_set(l->U, i, k, X[i * l->p + k] / l->d[k]);
	}
	return RIG_OK;
}

static int lsq_decompose(struct rigi_num_lsq *l)
{
	double smax = 0, smin = INFINITY;
	int status = gsl_linalg_SV_decomp_jacobi(l->U, l->V, l->S);

	if (status)
		return rigi_fail(RIG_ERR_INTERNAL, "least squares: GSL Jacobi SVD failed: %s",
				 gsl_strerror(status));
	for (size_t k = 0; k < l->p; k++) {
		smax = fmax(smax, gsl_vector_get(l->S, k));
		smin = fmin(smin, gsl_vector_get(l->S, k));
	}
	l->cond = smin > 0 ? smax / smin : INFINITY;
	if (!(l->cond <= RIGI_NUM_COND_MAX))
		return rigi_fail(RIG_ERR_RANGE,
				 "least squares: the %zu x %zu design matrix is rank deficient "
				 "(condition number %.3g, limit %.0e); lower the degree or "
				 "measure at more distinct x values",
				 l->n, l->p, l->cond, RIGI_NUM_COND_MAX);
	return RIG_OK;
}

int rigi_num_lsq_new(const double *X, size_t n, size_t p, struct rigi_num_lsq **out)
{
	struct rigi_num_lsq *l;
	int ret;

	num_init();
	*out = NULL;
	if (n < p || p == 0 || p > RIGI_NUM_LSQ_MAX_P)
		return rigi_fail(RIG_ERR_ARG, "least squares: %zu equations for %zu unknowns", n, p);
	l = calloc(1, sizeof(*l));
	if (!l)
		return rigi_fail(RIG_ERR_NOMEM, "least squares: %zu x %zu", n, p);
	l->n = n;
	l->p = p;
	l->U = gsl_matrix_alloc(n, p);
	l->V = gsl_matrix_alloc(p, p);
	l->S = gsl_vector_alloc(p);
	l->d = malloc(p * sizeof(double));
	if (!l->U || !l->V || !l->S || !l->d) {
		ret = rigi_fail(RIG_ERR_NOMEM, "least squares: %zu x %zu", n, p);
		goto out;
	}
	ret = lsq_balance(l, X);
	if (ret < 0)
		goto out;
	ret = lsq_decompose(l);
out:
	if (ret < 0)
		rigi_num_lsq_free(l);
	else
		*out = l;
	return ret;
}

double rigi_num_lsq_cond(const struct rigi_num_lsq *l)
{
	return l->cond;
}

void rigi_num_lsq_solve(const struct rigi_num_lsq *l, const double *y, double *b)
{
	long double w[RIGI_NUM_LSQ_MAX_P];

	for (size_t k = 0; k < l->p; k++) {
		long double s = 0;
		for (size_t i = 0; i < l->n; i++)
			s += (long double)gsl_matrix_get(l->U, i, k) * y[i];
		w[k] = s / gsl_vector_get(l->S, k);
	}
	for (size_t j = 0; j < l->p; j++) {
		long double s = 0;
		for (size_t k = 0; k < l->p; k++)
			s += (long double)gsl_matrix_get(l->V, j, k) * w[k];
		b[j] = (double)(s / l->d[j]);
	}
}

void rigi_num_lsq_cov_unit(const struct rigi_num_lsq *l, double *cov)
{
	for (size_t j = 0; j < l->p; j++)
		for (size_t m = 0; m < l->p; m++) {
			long double s = 0;
			for (size_t k = 0; k < l->p; k++) {
				long double sk = gsl_vector_get(l->S, k);
				s += (long double)gsl_matrix_get(l->V, j, k) *
				     gsl_matrix_get(l->V, m, k) / (sk * sk);
			}
			cov[j * l->p + m] = (double)(s / ((long double)l->d[j] * l->d[m]));
		}
}

double rigi_num_fdist_q(double f, double nu1, double nu2)
{
	num_init();
	return gsl_cdf_fdist_Q(f, nu1, nu2);
}

/* ---- quantiles of distributions ---- */

double rigi_num_normal_pinv(double p)
{
	num_init();
	return gsl_cdf_ugaussian_Pinv(p);
}

double rigi_num_tdist_pinv(double p, double nu)
{
	num_init();
	return gsl_cdf_tdist_Pinv(p, nu);
}

double rigi_num_chisq_pinv(double p, double nu)
{
	num_init();
	return gsl_cdf_chisq_Pinv(p, nu);
}

/* ---- monotone interpolation ---- */

struct rigi_num_interp {
	gsl_interp *interp;
	double *x, *y; /* gsl_interp keeps pointers to the knots: we own them */
	size_t n;
};

void rigi_num_interp_free(struct rigi_num_interp *in)
{
	if (!in)
		return;
	if (in->interp)
		gsl_interp_free(in->interp);
	free(in->x);
	free(in->y);
	free(in);
}

int rigi_num_steffen_new(const double *x, const double *y, size_t n,
			 struct rigi_num_interp **out)
{
	struct rigi_num_interp *in;
	int status;

	num_init();
	*out = NULL;
	if (n < gsl_interp_type_min_size(gsl_interp_steffen))
		return rigi_fail(RIG_ERR_ARG, "Steffen interpolation: %zu points, need at least %u",
				 n, gsl_interp_type_min_size(gsl_interp_steffen));
	for (size_t i = 1; i < n; i++)
		if (!(x[i] > x[i - 1]))
			return rigi_fail(RIG_ERR_ARG,
					 "Steffen interpolation: x[%zu] = %g is not above x[%zu] = %g",
					 i, x[i], i - 1, x[i - 1]);
	in = calloc(1, sizeof(*in));
	if (!in)
		return rigi_fail(RIG_ERR_NOMEM, "Steffen interpolation: %zu points", n);
	in->n = n;
	in->x = malloc(n * sizeof(double));
	in->y = malloc(n * sizeof(double));
	in->interp = gsl_interp_alloc(gsl_interp_steffen, n);
	if (!in->x || !in->y || !in->interp) {
		rigi_num_interp_free(in);
		return rigi_fail(RIG_ERR_NOMEM, "Steffen interpolation: %zu points", n);
	}
	memcpy(in->x, x, n * sizeof(double));
	memcpy(in->y, y, n * sizeof(double));
	status = gsl_interp_init(in->interp, in->x, in->y, n);
	if (status) {
		rigi_num_interp_free(in);
		return rigi_fail(RIG_ERR_INTERNAL, "Steffen interpolation: GSL init failed: %s",
				 gsl_strerror(status));
	}
	*out = in;
	return RIG_OK;
}

int rigi_num_interp_eval(const struct rigi_num_interp *in, double x, double *y, double *dydx)
{
	double v, d;
	int status;

	if (!(x >= in->x[0] && x <= in->x[in->n - 1]))
		return rigi_fail(RIG_ERR_RANGE, "interpolant: x = %g outside [%g, %g]", x,
				 in->x[0], in->x[in->n - 1]);
	status = gsl_interp_eval_e(in->interp, in->x, in->y, x, NULL, &v);
	if (!status)
		status = gsl_interp_eval_deriv_e(in->interp, in->x, in->y, x, NULL, &d);
	if (status)
		return rigi_fail(RIG_ERR_INTERNAL, "interpolant at x = %g: GSL: %s", x,
				 gsl_strerror(status));
	if (y)
		*y = v;
	if (dydx)
		*dydx = d;
	return RIG_OK;
}

/* ---- root finding ---- */

#define ROOT_MAX_ITER 200

int rigi_num_root_brent(double (*f)(double x, void *arg), void *arg, double lo, double hi,
			double xtol, double *root)
{
	gsl_root_fsolver *s;
	gsl_function fn = {.function = f, .params = arg};
	int status, converged = 0, ret = RIG_OK;
	double flo, fhi;

	num_init();
	flo = f(lo, arg);
	fhi = f(hi, arg);
	if (flo == 0.0 || fhi == 0.0) {
		*root = flo == 0.0 ? lo : hi;
		return RIG_OK;
	}
	if ((flo < 0) == (fhi < 0))
		return rigi_fail(RIG_ERR_RANGE, "root finder: no sign change in [%g, %g]", lo, hi);
	s = gsl_root_fsolver_alloc(gsl_root_fsolver_brent);
	if (!s)
		return rigi_fail(RIG_ERR_NOMEM, "root finder");
	status = gsl_root_fsolver_set(s, &fn, lo, hi);
	for (int i = 0; status == GSL_SUCCESS && !converged; i++) {
		if (i == ROOT_MAX_ITER) {
			status = GSL_EMAXITER;
			break;
		}
		status = gsl_root_fsolver_iterate(s);
		if (status)
			break;
		status = gsl_root_test_interval(gsl_root_fsolver_x_lower(s),
						gsl_root_fsolver_x_upper(s), xtol, 0.0);
		converged = status == GSL_SUCCESS;
		if (status == GSL_CONTINUE)
			status = GSL_SUCCESS;
	}
	if (status != GSL_SUCCESS)
		ret = rigi_fail(RIG_ERR_INTERNAL, "root finder in [%g, %g]: GSL: %s", lo, hi,
				gsl_strerror(status));
	else
		*root = gsl_root_fsolver_root(s);
	gsl_root_fsolver_free(s);
	return ret;
}
