/* Outcomes and the guard-banded decision rule (rule and rationale in
 * rig/verdict.h and docs/records.md), measurement verdicts, aggregation
 * and the test uncertainty ratio check. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rig/verdict.h>

#include "core/core.h"

static const char *const outcome_names[] = {"PASS", "FAIL", "INDETERMINATE", "ERROR", "ABORTED"};
static const char *const guard_names[] = {"guarded", "guarded-accept"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static int valid_outcome(enum rig_outcome o)
{
	return (unsigned)o < COUNT(outcome_names);
}

const char *rig_outcome_name(enum rig_outcome outcome)
{
	return valid_outcome(outcome) ? outcome_names[outcome] : "INVALID";
}

int rig_outcome_parse(const char *name)
{
	for (size_t i = 0; name && i < COUNT(outcome_names); i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return (int)i;
	return -1;
}

/* Severity order of the aggregation rule; higher wins. */
static int severity(enum rig_outcome o)
{
	switch (o) {
	case RIG_OUTCOME_PASS:
		return 0;
	case RIG_OUTCOME_INDETERMINATE:
		return 1;
	case RIG_OUTCOME_FAIL:
		return 2;
	case RIG_OUTCOME_ABORTED:
		return 3;
	default:
		return 4; /* ERROR, and anything invalid */
	}
}

enum rig_outcome rig_outcome_combine(enum rig_outcome a, enum rig_outcome b)
{
	enum rig_outcome worse = severity(a) >= severity(b) ? a : b;
	return valid_outcome(worse) ? worse : RIG_OUTCOME_ERROR;
}

enum rig_outcome rig_outcome_aggregate(const enum rig_outcome *outcomes, size_t n)
{
	enum rig_outcome all = RIG_OUTCOME_PASS;
	if (!outcomes || n == 0)
		return RIG_OUTCOME_ERROR;
	for (size_t i = 0; i < n; i++)
		all = rig_outcome_combine(all, outcomes[i]);
	return all;
}

const char *rig_guard_name(enum rig_guard guard)
{
	return (unsigned)guard < COUNT(guard_names) ? guard_names[guard] : "invalid";
}

int rig_guard_parse(const char *name)
{
	for (size_t i = 0; name && i < COUNT(guard_names); i++)
		if (strcmp(name, guard_names[i]) == 0)
			return (int)i;
	return -1;
}

int rig_limit_from_tolerance(const struct rig_tolerance *tol, double setpoint, const char *unit,
			     struct rig_limit *out)
{
	if (!tol || !out || !unit || strlen(unit) >= RIG_UNIT_MAX || !isfinite(setpoint) ||
	    !isfinite(tol->abs) || !isfinite(tol->rel) || tol->abs < 0 || tol->rel < 0 ||
	    (tol->abs == 0 && tol->rel == 0) || !(tol->guard_factor >= 1) ||
	    !isfinite(tol->guard_factor) || (unsigned)tol->guard >= COUNT(guard_names))
		return rigi_fail(RIG_ERR_ARG,
				 "invalid tolerance: expected abs >= 0 and rel >= 0 (not both 0), "
				 "a guard rule and a guard factor >= 1");
	double t = fmax(tol->abs, tol->rel * fabs(setpoint));
	memset(out, 0, sizeof(*out));
	out->nominal = setpoint;
	out->low = setpoint - t;
	out->high = setpoint + t;
	snprintf(out->unit, sizeof(out->unit), "%s", unit);
	out->guard = tol->guard;
	out->guard_factor = tol->guard_factor;
	return 0;
}

static int valid_limit(const struct rig_limit *l)
{
	return l && isfinite(l->low) && isfinite(l->high) && isfinite(l->nominal) &&
	       l->low <= l->high && isfinite(l->guard_factor) && l->guard_factor >= 1 &&
	       (unsigned)l->guard < COUNT(guard_names) && memchr(l->unit, '\0', RIG_UNIT_MAX);
}

enum rig_outcome rig_verdict_decide(double value, double u_expanded, const struct rig_limit *lim)
{
	if (!valid_limit(lim) || !isfinite(value) || !isfinite(u_expanded) || u_expanded < 0)
		return RIG_OUTCOME_ERROR;
	double w = lim->guard_factor * u_expanded;
	if (value >= lim->low + w && value <= lim->high - w)
		return RIG_OUTCOME_PASS;
	if (lim->guard == RIG_GUARD_GUARDED_ACCEPT) {
		if (value > lim->high || value < lim->low)
			return RIG_OUTCOME_FAIL;
	} else if (value - w > lim->high || value + w < lim->low) {
		return RIG_OUTCOME_FAIL;
	}
	return RIG_OUTCOME_INDETERMINATE;
}

void rig_measurement_init(struct rig_measurement *m, const char *name, const char *quantity,
			  const char *unit, double setpoint)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name ? name : "");
	snprintf(m->quantity, sizeof(m->quantity), "%s", quantity ? quantity : "");
	snprintf(m->unit, sizeof(m->unit), "%s", unit ? unit : "");
	m->setpoint = setpoint;
	m->value = NAN;
	m->error = NAN;
	m->u_expanded = NAN;
	m->k = 2.0;
	m->accept_low = NAN;
	m->accept_high = NAN;
	m->outcome = RIG_OUTCOME_ERROR;
	snprintf(m->reason, sizeof(m->reason), "not measured");
}

void rig_measurement_add_u(struct rig_measurement *m, const char *source, double u)
{
	double sum = 0;
	if (m->n_budget < RIG_U_BUDGET_MAX) {
		struct rig_u_component *c = &m->budget[m->n_budget++];
		snprintf(c->source, sizeof(c->source), "%s", source);
		c->u = u;
	}
	for (unsigned i = 0; i < m->n_budget; i++)
		sum += m->budget[i].u * m->budget[i].u;
	m->u_expanded = m->k * sqrt(sum);
}

void rig_measurement_set_error(struct rig_measurement *m, const char *reason)
{
	m->value = NAN;
	m->error = NAN;
	m->judged = 1;
	m->outcome = RIG_OUTCOME_ERROR;
	snprintf(m->reason, sizeof(m->reason), "%s", reason ? reason : "not measured");
}

/* Words for the outcome, with the numbers an auditor needs to redo it. */
static void explain(struct rig_measurement *m, double w)
{
	const struct rig_limit *l = &m->limit;
	const char *u = m->unit;
	const char *side = m->value > l->nominal ? "high" : "low";
	double limit = m->value > l->nominal ? l->high : l->low;

	switch (m->outcome) {
	case RIG_OUTCOME_PASS:
		snprintf(m->reason, sizeof(m->reason),
			 "error %+.6g %s with U %.3g %s lies inside the acceptance interval "
			 "%.6g..%.6g %s (tolerance %.6g..%.6g)",
			 m->error, u, m->u_expanded, u, m->accept_low, m->accept_high, u, l->low,
			 l->high);
		break;
	case RIG_OUTCOME_FAIL:
		snprintf(m->reason, sizeof(m->reason),
			 "error %+.6g %s: value %.6g %s is beyond the %s tolerance limit %.6g %s%s",
			 m->error, u, m->value, u, side, limit, u,
			 l->guard == RIG_GUARD_GUARDED ? " by more than the guard band" : "");
		break;
	default:
		if (m->accept_low > m->accept_high) {
			snprintf(m->reason, sizeof(m->reason),
				 "error %+.6g %s: the guard band w %.3g %s is wider than half the "
				 "tolerance %.6g..%.6g, so no value can pass; reduce the uncertainty "
				 "(see the TUR check)",
				 m->error, u, w, u, l->low, l->high);
			break;
		}
		snprintf(m->reason, sizeof(m->reason),
			 "error %+.6g %s is within the guard band (w %.3g %s) of the %s tolerance "
			 "limit %.6g %s: conformity not proven either way; recalibrate or retest",
			 m->error, u, w, u, side, limit, u);
		break;
	}
}

int rig_measurement_judge(struct rig_measurement *m, const struct rig_limit *limit)
{
	if (!limit) {
		m->judged = 0;
		m->error = m->value - m->setpoint;
		snprintf(m->reason, sizeof(m->reason), "reported, not judged");
		return 0;
	}
	if (!valid_limit(limit) || strcmp(limit->unit, m->unit) != 0) {
		rig_measurement_set_error(m, "invalid limit (a bug in the suite or the runner)");
		return rigi_fail(RIG_ERR_ARG,
				 "measurement %s: invalid limit (low %g, high %g, unit '%.8s' for a "
				 "value in '%s', guard factor %g)",
				 m->name, limit->low, limit->high, limit->unit, m->unit,
				 limit->guard_factor);
	}
	m->limit = *limit;
	m->judged = 1;
	if (!isfinite(m->value) || !isfinite(m->u_expanded) || m->u_expanded < 0) {
		rig_measurement_set_error(m, "no valid value or uncertainty: not judged");
		return 0;
	}
	double w = limit->guard_factor * m->u_expanded;
	m->error = m->value - limit->nominal;
	m->accept_low = limit->low + w;
	m->accept_high = limit->high - w;
	m->outcome = rig_verdict_decide(m->value, m->u_expanded, limit);
	explain(m, w);
	return 0;
}

enum rig_outcome rig_measurements_outcome(const struct rig_measurement *m, size_t n)
{
	enum rig_outcome all = RIG_OUTCOME_PASS;
	size_t judged = 0;
	for (size_t i = 0; m && i < n; i++) {
		if (!m[i].judged)
			continue;
		all = rig_outcome_combine(all, m[i].outcome);
		judged++;
	}
	return judged ? all : RIG_OUTCOME_ERROR;
}

double rig_verdict_tur(const struct rig_limit *limit, double station_u)
{
	if (!valid_limit(limit) || !isfinite(station_u) || station_u < 0)
		return NAN;
	double half = (limit->high - limit->low) / 2;
	return station_u == 0 ? INFINITY : half / station_u;
}

int rig_verdict_check_tur(const struct rig_limit *limit, double station_u, double *tur)
{
	double r = rig_verdict_tur(limit, station_u);
	if (tur)
		*tur = r;
	if (isnan(r))
		return rigi_fail(RIG_ERR_ARG, "TUR: invalid limit or station uncertainty %g",
				 station_u);
	if (r < RIG_TUR_MIN)
		return rigi_fail(RIG_ERR_RANGE,
				 "test uncertainty ratio %.2f:1 is below %.0f:1 (tolerance +-%.4g %s, "
				 "station expanded uncertainty %.4g %s); use a better sensor or a "
				 "wider tolerance",
				 r, RIG_TUR_MIN, (limit->high - limit->low) / 2, limit->unit,
				 station_u, limit->unit);
	return 0;
}
