/* Private API of the calibration layer's numerics. numeric.c is the only
 * file of needle-rig that calls GSL: it wraps sorting and descriptive
 * statistics, linear least squares (SVD), the F distribution, quantiles of
 * the normal, t and chi-square distributions, monotone (Steffen)
 * interpolation and bracketed root finding, and converts GSL status codes
 * to enum rig_err with a detail. The rest of the layer (stats.c, fit.c,
 * model.c, invert.c, spc.c) works on plain arrays through these functions. */
#ifndef RIGI_CAL_NUMERIC_H
#define RIGI_CAL_NUMERIC_H

#include <stddef.h>

/* ---- descriptive statistics (stats.c) ---- */

/** Sort @p n values ascending in place (gsl_sort). */
void rigi_num_sort(double *v, size_t n);

/** Mean of @p n >= 1 values. */
double rigi_num_mean(const double *v, size_t n);

/** Sample standard deviation (n - 1) about @p mean; 0 when n < 2. */
double rigi_num_sd(const double *v, size_t n, double mean);

/** Median of @p n >= 1 values sorted ascending. */
double rigi_num_median_sorted(const double *sorted, size_t n);

/** Mean after removing floor(@p trim * n) values from each end of the
 *  @p n >= 1 sorted values (0 <= trim < 0.5). */
double rigi_num_trimmed_mean_sorted(const double *sorted, size_t n, double trim);

/* ---- linear least squares (fit.c) ---- */

/** Condition number above which a design matrix is refused: the solution
 *  would keep fewer than about 4 significant digits. */
#define RIGI_NUM_COND_MAX 1e12
/** Most unknowns of a least squares problem. */
#define RIGI_NUM_LSQ_MAX_P 16

/** A factorised least squares problem X b ~ y (X is n x p, n >= p):
 *  singular value decomposition of the column-balanced X by one-sided
 *  Jacobi (GSL), reused for several right-hand sides (iterative
 *  refinement). */
struct rigi_num_lsq;

/** Factorise @p X (n x p row-major, copied; p <= RIGI_NUM_LSQ_MAX_P).
 *  Returns 0, RIG_ERR_RANGE when X is (numerically) rank deficient, i.e.
 *  its condition number exceeds RIGI_NUM_COND_MAX, RIG_ERR_ARG, RIG_ERR_NOMEM
 *  or RIG_ERR_INTERNAL (GSL failure). *out owned by the caller. */
int rigi_num_lsq_new(const double *X, size_t n, size_t p, struct rigi_num_lsq **out);

/** Free a factorisation; NULL is a no-op. */
void rigi_num_lsq_free(struct rigi_num_lsq *l);

/** Condition number of the column-balanced X (largest over smallest
 *  singular value). */
double rigi_num_lsq_cond(const struct rigi_num_lsq *l);

/** Least squares solution b (p values) for the right-hand side @p y (n). */
void rigi_num_lsq_solve(const struct rigi_num_lsq *l, const double *y, double *b);

/** (X'X)^-1 into @p cov (p x p row-major): the covariance of b for unit
 *  residual variance. */
void rigi_num_lsq_cov_unit(const struct rigi_num_lsq *l, double *cov);

/** Upper tail Q(F; nu1, nu2) of the F distribution (a p-value). */
double rigi_num_fdist_q(double f, double nu1, double nu2);

/* ---- quantiles of distributions (spc.c) ---- */

/** Lower-tail quantile of the standard normal distribution: z with
 *  Phi(z) = @p p, 0 < p < 1. */
double rigi_num_normal_pinv(double p);

/** Lower-tail quantile of Student's t distribution with @p nu > 0 degrees
 *  of freedom. */
double rigi_num_tdist_pinv(double p, double nu);

/** Lower-tail quantile of the chi-square distribution with @p nu > 0
 *  degrees of freedom. */
double rigi_num_chisq_pinv(double p, double nu);

/* ---- monotone interpolation (model.c) ---- */

struct rigi_num_interp;

/** Steffen's monotonicity-preserving cubic interpolant through @p n >= 3
 *  points with strictly increasing @p x (both arrays copied). Returns 0,
 *  RIG_ERR_ARG or RIG_ERR_NOMEM; *out owned by the caller
 *  (rigi_num_interp_free). */
int rigi_num_steffen_new(const double *x, const double *y, size_t n,
			 struct rigi_num_interp **out);

/** Value and first derivative at @p x inside [x[0], x[n-1]]; RIG_ERR_RANGE
 *  outside. Either output may be NULL. */
int rigi_num_interp_eval(const struct rigi_num_interp *in, double x, double *y, double *dydx);

/** Free an interpolant; NULL is a no-op. */
void rigi_num_interp_free(struct rigi_num_interp *in);

/* ---- root finding (invert.c) ---- */

/** Root of @p f in [@p lo, @p hi] by Brent's method; f(lo) and f(hi) must
 *  have opposite signs (or one be zero). Converges when the bracket is
 *  narrower than @p xtol. Returns 0, RIG_ERR_RANGE when the root is not
 *  bracketed, or RIG_ERR_INTERNAL when it does not converge. */
int rigi_num_root_brent(double (*f)(double x, void *arg), void *arg, double lo, double hi,
			double xtol, double *root);

#endif
