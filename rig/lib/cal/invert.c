/* Inversion of a calibration curve to table knots (rig/fit.h): for each
 * setpoint, the code or duty whose modelled output equals it, found by a
 * bracketed root finder inside the measured range only. A setpoint the
 * sweep did not reach is an error, never an extrapolation: a pen must not be
 * told to drive a needle by a curve nobody measured. Then the checks the
 * firmware will apply at TABLE_COMMIT (docs/protocol.md §6), done first on
 * the host so that the error says which knot and why. */
#include <math.h>

#include <rig/fit.h>

#include "cal/numeric.h"
#include "core/core.h"

struct target {
	const struct rig_curve *curve;
	double value;
};

static double residual_at(double x, void *arg)
{
	const struct target *t = arg;
	double y = NAN;

	rig_curve_eval(t->curve, x, &y, NULL);
	return y - t->value;
}

int rig_curve_invert(const struct rig_curve *curve, double target, double *x)
{
	struct rig_curve_info in;
	struct target t = {.curve = curve, .value = target};
	int ret;

	if (!curve || !x || !isfinite(target))
		return rigi_fail(RIG_ERR_ARG, "curve inversion: NULL curve/result or target %g",
				 target);
	rig_curve_info(curve, &in);
	if (!(target >= in.y_lo && target <= in.y_hi))
		return rigi_fail(RIG_ERR_RANGE,
				 "curve inversion: target %g is outside the range the sweep "
				 "covers, %g .. %g (x = %g .. %g); refusing to extrapolate: "
				 "extend the sweep or drop the setpoint",
				 target, in.y_lo, in.y_hi, in.x_min, in.x_max);
	ret = rigi_num_root_brent(residual_at, &t, in.x_min, in.x_max,
				  1e-10 * (in.x_max - in.x_min), x);
	if (ret < 0)
		rigi_error_context("curve inversion at target %g", target);
	return ret;
}

static int knot_at(const struct rig_curve *curve, double setpoint, struct rig_knot *k)
{
	struct rig_curve_info in;
	double y = NAN;
	int ret = rig_curve_invert(curve, setpoint, &k->x);

	if (ret < 0)
		return ret;
	rig_curve_info(curve, &in);
	k->setpoint = setpoint;
	k->value = lround(k->x);
	if (rig_curve_eval(curve, (double)k->value, &y, NULL) < 0)
		return rigi_fail(RIG_ERR_RANGE,
				 "knot at setpoint %g: x = %.3f rounds to %ld, outside the "
				 "measured range %g .. %g; extend the sweep by one step",
				 setpoint, k->x, k->value, in.x_min, in.x_max);
	k->residual = y - setpoint;
	return RIG_OK;
}

int rig_curve_knots(const struct rig_curve *curve, const double *setpoints, size_t n,
		    struct rig_knot *knots)
{
	if (!curve || !setpoints || !knots || n == 0)
		return rigi_fail(RIG_ERR_ARG, "knots: NULL argument or no setpoints");
	for (size_t i = 0; i < n; i++) {
		int ret = knot_at(curve, setpoints[i], &knots[i]);
		if (ret < 0) {
			rigi_error_context("knot %zu of %zu", i + 1, n);
			return ret;
		}
	}
	return RIG_OK;
}

static int knot_pair_check(const struct rig_knot *k, size_t i, size_t n,
			   const struct rig_knot_limits *lim, const char *table)
{
	const char *vn = lim->value_name ? lim->value_name : "value";

	if (!isfinite(k[i].setpoint))
		return rigi_fail(RIG_ERR_RANGE, "%s table: knot %zu of %zu: setpoint is not finite",
				 table, i + 1, n);
	if (k[i].value < lim->value_min || k[i].value > lim->value_max)
		return rigi_fail(RIG_ERR_RANGE,
				 "%s table: knot %zu of %zu (setpoint %g): %s %ld is outside "
				 "the pen's range %ld .. %ld",
				 table, i + 1, n, k[i].setpoint, vn, k[i].value, lim->value_min,
				 lim->value_max);
	if (i == 0)
		return RIG_OK;
	if (!(k[i].setpoint > k[i - 1].setpoint))
		return rigi_fail(RIG_ERR_RANGE,
				 "%s table: knot %zu of %zu: setpoint %g is not above knot "
				 "%zu's %g; setpoints must strictly increase",
				 table, i + 1, n, k[i].setpoint, i, k[i - 1].setpoint);
	if (k[i].value <= k[i - 1].value)
		return rigi_fail(RIG_ERR_RANGE,
				 "%s table: knot %zu of %zu (setpoint %g): %s %ld is not above "
				 "knot %zu's %s %ld (setpoint %g); %ss must strictly increase: "
				 "the curve is too flat here for integer %ss, use fewer setpoints",
				 table, i + 1, n, k[i].setpoint, vn, k[i].value, i, vn,
				 k[i - 1].value, k[i - 1].setpoint, vn, vn);
	return RIG_OK;
}

int rig_knots_check(const struct rig_knot *knots, size_t n, const struct rig_knot_limits *lim)
{
	const char *table;

	if (!knots || !lim)
		return rigi_fail(RIG_ERR_ARG, "knots check: NULL argument");
	table = lim->table ? lim->table : "calibration";
	if (n < 2)
		return rigi_fail(RIG_ERR_RANGE, "%s table: %zu knot(s); a table needs at least 2",
				 table, n);
	if (lim->max_knots && n > lim->max_knots)
		return rigi_fail(RIG_ERR_RANGE, "%s table: %zu knots; the pen holds at most %zu",
				 table, n, lim->max_knots);
	for (size_t i = 0; i < n; i++) {
		int ret = knot_pair_check(knots, i, n, lim, table);
		if (ret < 0)
			return ret;
	}
	return RIG_OK;
}
