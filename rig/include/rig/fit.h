/* Calibration fitting: polynomial least squares with standard errors,
 * monotone curve models (actuator code -> protrusion, motor duty -> stroke
 * rate) with residuals and uncertainty, inversion of a model to table knots
 * that refuses to extrapolate, and the checks a knot table must pass before
 * it is written to a pen. Method and accuracy: docs/fit.md. */
#ifndef RIG_FIT_H
#define RIG_FIT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RIG_POLY_MAX_DEGREE 10
#define RIG_POLY_MAX_COEF (RIG_POLY_MAX_DEGREE + 1)

/* ---- polynomial least squares ---- */

/** Result of rig_poly_fit. Coefficients are in the caller's (unscaled)
 *  power basis: y = coef[0] + coef[1] x + ... + coef[degree] x^degree.
 *  Entries beyond @c degree are 0. The fit itself is done on the scaled
 *  variable t = (x - x_center) / x_half, whose coefficients and covariance
 *  are kept too: rig_poly_eval and rig_poly_u use them, which is far more
 *  accurate than the power basis when |x| is large against its range. */
struct rig_poly_fit_result {
	unsigned degree;
	double coef[RIG_POLY_MAX_COEF];
	double se[RIG_POLY_MAX_COEF];   /* standard error of each coefficient */
	double cov[RIG_POLY_MAX_COEF][RIG_POLY_MAX_COEF]; /* covariance of coef */
	double resid_sd;  /* residual standard deviation sqrt(SSE / dof) */
	double r2;        /* coefficient of determination 1 - SSE / SST (0 for degree 0) */
	double sse;       /* sum of squared residuals */
	size_t dof;       /* degrees of freedom n - (degree + 1), >= 1 */
	size_t n;         /* number of points */
	double cond;      /* condition number of the scaled design matrix */
	double x_center, x_half;               /* t = (x - x_center) / x_half */
	double coef_t[RIG_POLY_MAX_COEF];      /* coefficients in t */
	double cov_t[RIG_POLY_MAX_COEF][RIG_POLY_MAX_COEF];
};

/** Least squares polynomial of @p degree (0..RIG_POLY_MAX_DEGREE) through
 *  the @p n points (@p x[i], @p y[i]) (not modified). Needs at least
 *  degree + 2 points (one degree of freedom for the residual SD) at
 *  degree + 1 distinct x values, all finite.
 *  @param resid  optional (may be NULL): n residuals y - fit, in input order.
 *  @return 0; RIG_ERR_ARG for bad arguments (too few points, NaN);
 *  RIG_ERR_RANGE when the problem is numerically rank deficient;
 *  RIG_ERR_NOMEM. Details via rig_last_error(). */
int rig_poly_fit(const double *x, const double *y, size_t n, unsigned degree,
		 struct rig_poly_fit_result *out, double *resid);

/** Value of the fitted polynomial at @p x (any x; no range check). */
double rig_poly_eval(const struct rig_poly_fit_result *fit, double x);

/** First derivative dy/dx of the fitted polynomial at @p x. */
double rig_poly_slope(const struct rig_poly_fit_result *fit, double x);

/** Standard uncertainty of the fitted value at @p x from the coefficient
 *  covariance: sqrt(g' Cov g), g = (1, t, t^2, ...). */
double rig_poly_u(const struct rig_poly_fit_result *fit, double x);

/* ---- monotone curve models ---- */

enum rig_curve_kind {
	RIG_CURVE_POLY = 1,    /* a polynomial of degree 1..RIG_CURVE_MAX_DEGREE */
	RIG_CURVE_STEFFEN = 2, /* Steffen monotone interpolant of per-x means */
};

#define RIG_CURVE_MAX_DEGREE 5

/** Options of rig_curve_fit; pass NULL for the defaults shown. */
struct rig_curve_options {
	unsigned max_degree;  /* highest polynomial degree tried (5; 1..5) */
	double alpha;         /* F-test level for "significantly worse" (0.01) */
	unsigned grid;        /* derivative checks across the range (1000) */
};

/** Summary of a fitted curve (filled by rig_curve_info). */
struct rig_curve_info {
	enum rig_curve_kind kind;
	unsigned degree;        /* POLY: chosen degree; STEFFEN: 0 */
	size_t n;               /* points */
	size_t n_levels;        /* distinct x values */
	double x_min, x_max;    /* measured range: the domain of eval and invert */
	double y_lo, y_hi;      /* model values at x_min and x_max */
	double resid_sd;        /* POLY: residual SD; STEFFEN: pooled within-x SD */
	double max_abs_resid;   /* largest |residual| */
	double min_slope;       /* smallest derivative found on the check grid (> 0) */
	double aicc[RIG_CURVE_MAX_DEGREE + 1]; /* AICc of each degree tried (NAN if not) */
	unsigned monotone_mask; /* bit d set: degree d was monotone over the range */
	struct rig_poly_fit_result poly; /* POLY: the chosen fit */
};

struct rig_curve;

/** Fit a model that is monotone increasing over the measured x range to
 *  sweep data (@p n points, several y per x allowed; arrays not modified).
 *  Polynomials of degree 1..max_degree are fitted; the model is the one of
 *  lowest AICc among those whose derivative is positive everywhere on the
 *  check grid and that are not significantly worse (F-test at alpha) than
 *  the best-AICc polynomial. When none qualifies, a Steffen interpolant of
 *  the per-x means is used, if those means strictly increase.
 *  @param opts NULL for defaults.
 *  @param out  receives a new curve, owned by the caller (rig_curve_free).
 *  @return 0; RIG_ERR_ARG (too few points or levels, NaN); RIG_ERR_RANGE
 *  when the data are not monotone increasing (the detail names the x
 *  values where it falls); RIG_ERR_NOMEM. */
int rig_curve_fit(const double *x, const double *y, size_t n,
		  const struct rig_curve_options *opts, struct rig_curve **out);

/** Free a curve; NULL is a no-op. */
void rig_curve_free(struct rig_curve *curve);

/** Fill @p out with the curve's summary. */
void rig_curve_info(const struct rig_curve *curve, struct rig_curve_info *out);

/** Residuals y - model in the input order of rig_curve_fit; *n receives
 *  their count. The array belongs to the curve (valid until
 *  rig_curve_free). */
const double *rig_curve_residuals(const struct rig_curve *curve, size_t *n);

/** Model value at @p x and, if @p u is not NULL, its standard uncertainty
 *  (polynomial: from the covariance; Steffen: pooled within-x SD of a mean).
 *  @return 0, or RIG_ERR_RANGE when x is outside the measured range. */
int rig_curve_eval(const struct rig_curve *curve, double x, double *y, double *u);

/** Solve model(x) = @p target for x inside the measured range (Brent).
 *  @return 0, or RIG_ERR_RANGE when @p target lies outside
 *  [model(x_min), model(x_max)]: the curve is never extrapolated. */
int rig_curve_invert(const struct rig_curve *curve, double target, double *x);

/* ---- table knots ---- */

/** One table knot: a setpoint (µm or strokes/min) and the integer actuator
 *  code or motor duty that realises it. */
struct rig_knot {
	double setpoint;
	double x;         /* exact solution of model(x) = setpoint */
	long value;       /* x rounded to the nearest integer */
	double residual;  /* model(value) - setpoint: what rounding costs */
};

/** Invert @p curve at each of the @p n setpoints (ascending) into @p knots
 *  (caller's array of n). @return 0 or the error of the first setpoint that
 *  cannot be inverted (RIG_ERR_RANGE names the setpoint and the covered
 *  range). */
int rig_curve_knots(const struct rig_curve *curve, const double *setpoints, size_t n,
		    struct rig_knot *knots);

/** What a knot table must satisfy (the pen's declared ranges). */
struct rig_knot_limits {
	const char *table;      /* "depth" or "rate": used in error details */
	const char *value_name; /* "code" or "duty" */
	long value_min, value_max; /* inclusive, from the pen's IDENTIFY */
	size_t max_knots;       /* table capacity (0: no limit) */
};

/** Check @p n knots: at least 2, at most max_knots, setpoints and values
 *  strictly increasing, every value inside [value_min, value_max].
 *  @return 0 or RIG_ERR_RANGE with a detail naming the knot and the rule. */
int rig_knots_check(const struct rig_knot *knots, size_t n, const struct rig_knot_limits *lim);

#ifdef __cplusplus
}
#endif
#endif
