/* The test uncertainty ratio of a suite on a station (docs/calibration.md):
 * every judged depth and rate measurement's tolerance half-width against the
 * smallest expanded uncertainty the station can give it (k = 2: the
 * displacement sensor's certificate; the DAQ clock for rates). A suite whose
 * limits are tighter than the station can decide is refused before a pen is
 * touched, instead of running a whole unit to end INDETERMINATE. */
#include <math.h>
#include <stdio.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

static int check_one(const struct rig_suite *suite, const struct rig_step *st,
		     const struct rig_nest *nest, const char *what, double half_width,
		     double station_u, const char *unit)
{
	double tur = station_u > 0 ? half_width / station_u : INFINITY;
	if (tur >= suite->min_tur)
		return 0;
	return rigi_fail(RIG_ERR_RANGE,
			 "%s:%u:%u: step '%s': test uncertainty ratio %.2f:1 below the suite's "
			 "min_tur %.3g:1 for %s on nest %u (tolerance +-%.4g %s, station expanded "
			 "uncertainty %.4g %s, k = 2): widen the tolerance, use a better sensor, "
			 "or lower min_tur in the suite if a lower ratio is justified",
			 suite->path, st->line, st->column, st->name, tur, suite->min_tur, what,
			 nest->index, half_width, unit, station_u, unit);
}

static double half_width(const struct rig_tolerance *tol, double setpoint)
{
	return fmax(tol->abs, tol->rel * fabs(setpoint));
}

int rigi_tur_check_points(const struct rig_suite *suite, const struct rig_step *st,
			  const struct rig_nest *nest, const uint16_t *depths, size_t n_depths,
			  const uint16_t *rates, size_t n_rates)
{
	const struct rig_step_measure *m = &st->u.measure;
	double u_depth = 2.0 * nest->displacement.cal.standard_uncertainty;
	char what[64];
	int ret;

	for (size_t i = 0; i < n_depths; i++) {
		snprintf(what, sizeof(what), "protrusion at %u um", depths[i]);
		if ((ret = check_one(suite, st, nest, what, half_width(&m->depth, depths[i]),
				     u_depth, "um")) < 0)
			return ret;
	}
	for (size_t i = 0; i < n_rates; i++) {
		snprintf(what, sizeof(what), "rate at %u spm", rates[i]);
		if ((ret = check_one(suite, st, nest, what, half_width(&m->rate, rates[i]),
				     2.0 * rates[i] * RIGI_DAQ_CLOCK_REL_U, "spm")) < 0)
			return ret;
	}
	return 0;
}

/* Before the pen is known: explicit setpoints exactly; setpoints the pen will
 * declare by the absolute part of the tolerance, the least it can be (a
 * relative-only one is checked once the pen has declared them). */
int rigi_tur_check_suite(const struct rig_suite *suite, const struct rig_nest *nest)
{
	for (size_t i = 0; i < suite->n_steps; i++) {
		const struct rig_step *st = &suite->steps[i];
		const struct rig_step_measure *m = &st->u.measure;
		int ret;
		if (st->type != RIG_STEP_AS_FOUND && st->type != RIG_STEP_AS_LEFT)
			continue;
		if (!m->user_setpoints)
			ret = rigi_tur_check_points(suite, st, nest, m->depths_um, m->n_depths,
						    m->rates_spm, m->n_rates);
		else if (m->depth.abs > 0)
			ret = check_one(suite, st, nest, "protrusion", m->depth.abs,
					2.0 * nest->displacement.cal.standard_uncertainty, "um");
		else
			ret = 0;
		if (ret < 0)
			return ret;
	}
	return 0;
}
