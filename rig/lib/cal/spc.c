/* Statistical process control over many runs (rig/spc.h): yield of units
 * from their runs' outcomes, capability of a measurand against its
 * tolerance, and an individuals / moving-range chart with Nelson rules 1-4.
 * Everything is linear after one sort, because the results store feeds whole
 * production histories (10^5 runs and more) to these functions for every
 * report. Quantiles come from GSL through numeric.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/spc.h>

#include "cal/numeric.h"
#include "core/core.h"

/* Two-sided intervals at RIG_SPC_CONFIDENCE: the upper quantile used. */
#define UPPER_P (1.0 - (1.0 - RIG_SPC_CONFIDENCE) / 2.0)
/* D4 for moving ranges of two: upper limit of the moving-range chart. */
#define MR_D4 3.267

/* ---- yield ---- */

static int judged(enum rig_outcome o)
{
	return o == RIG_OUTCOME_PASS || o == RIG_OUTCOME_FAIL || o == RIG_OUTCOME_INDETERMINATE;
}

/* Pointers into one array: comparing them keeps the given order of ties,
 * which qsort alone would not. */
static int run_cmp(const void *a, const void *b)
{
	const struct rig_spc_run *ra = *(const struct rig_spc_run *const *)a;
	const struct rig_spc_run *rb = *(const struct rig_spc_run *const *)b;
	int c = strcmp(ra->serial, rb->serial);

	if (c)
		return c;
	if (ra->started_ms != rb->started_ms)
		return ra->started_ms < rb->started_ms ? -1 : 1;
	return ra < rb ? -1 : ra > rb;
}

static int yield_check(const struct rig_spc_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!runs[i].serial)
			return rigi_fail(RIG_ERR_ARG, "yield: run %zu of %zu has no serial", i, n);
		if ((int)runs[i].outcome < RIG_OUTCOME_PASS ||
		    (int)runs[i].outcome > RIG_OUTCOME_ABORTED)
			return rigi_fail(RIG_ERR_ARG, "yield: run %zu of %zu (serial %s) has outcome %d, "
					 "not one of enum rig_outcome",
					 i, n, runs[i].serial, (int)runs[i].outcome);
	}
	return RIG_OK;
}

/* One unit's runs, sorted[0..len) in time order. */
static void yield_unit(const struct rig_spc_run *const *sorted, size_t len,
		       struct rig_spc_yield *y)
{
	const struct rig_spc_run *first = NULL, *last = NULL;

	for (size_t i = 0; i < len; i++)
		if (judged(sorted[i]->outcome)) {
			if (!first)
				first = sorted[i];
			last = sorted[i];
		}
	y->units++;
	if (len >= 2)
		y->units_retested++;
	if (!first)
		return;
	y->units_judged++;
	y->first_pass += first->outcome == RIG_OUTCOME_PASS;
	y->final_pass += last->outcome == RIG_OUTCOME_PASS;
}

/* Wilson's score interval stays inside [0, 1] and keeps its coverage at
 * yields near 100 %, where the normal approximation collapses to a point. */
static void wilson(size_t k, size_t n, double *low, double *high)
{
	double z = rigi_num_normal_pinv(UPPER_P), z2 = z * z, nn = (double)n;
	double p = (double)k / nn, denom = 1.0 + z2 / nn;
	double centre = (p + z2 / (2.0 * nn)) / denom;
	double half = z * sqrt(p * (1.0 - p) / nn + z2 / (4.0 * nn * nn)) / denom;

	*low = fmax(0.0, centre - half);
	*high = fmin(1.0, centre + half);
}

static double ratio(size_t k, size_t n)
{
	return n ? (double)k / (double)n : NAN;
}

static void yield_ratios(struct rig_spc_yield *y)
{
	y->fpy = ratio(y->first_pass, y->units_judged);
	y->fpy_low = y->fpy_high = NAN;
	if (y->units_judged)
		wilson(y->first_pass, y->units_judged, &y->fpy_low, &y->fpy_high);
	y->retest_rate = ratio(y->units_retested, y->units);
	y->final_yield = ratio(y->final_pass, y->units_judged);
}

int rig_spc_yield(const struct rig_spc_run *runs, size_t n, struct rig_spc_yield *out)
{
	const struct rig_spc_run **sorted;
	int ret;

	if (!out || (!runs && n))
		return rigi_fail(RIG_ERR_ARG, "yield: NULL runs or result");
	ret = yield_check(runs, n);
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->runs = n;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return rigi_fail(RIG_ERR_NOMEM, "yield: %zu runs", n);
	for (size_t i = 0; i < n; i++) {
		sorted[i] = &runs[i];
		out->per_outcome[runs[i].outcome]++;
	}
	qsort(sorted, n, sizeof(*sorted), run_cmp);
	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && strcmp(sorted[j]->serial, sorted[i]->serial) == 0; j++)
			;
		yield_unit(sorted + i, j - i, out);
	}
	free(sorted);
	yield_ratios(out);
	return RIG_OK;
}

/* ---- capability ---- */

static int all_finite(const double *x, size_t n, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return rigi_fail(RIG_ERR_ARG, "%s: value %zu of %zu is not finite (%g)", what, i,
					 n, x[i]);
	return RIG_OK;
}

/* Mean moving range of n >= 2 values, in run order. */
static double mr_mean(const double *x, size_t n)
{
	double s = 0;

	for (size_t i = 1; i < n; i++)
		s += fabs(x[i] - x[i - 1]);
	return s / (double)(n - 1);
}

/* Bissell (1990): a normal approximation of Cpk's sampling distribution,
 * chosen over exact non-central t intervals because it needs no iteration;
 * with a few dozen values or fewer its coverage is only approximate. */
static void bissell(double c, size_t n, double *low, double *high)
{
	double z = rigi_num_normal_pinv(UPPER_P);
	double half = z * sqrt(1.0 / (9.0 * (double)n) + c * c / (2.0 * (double)(n - 1)));

	*low = isfinite(c) ? c - half : NAN;
	*high = isfinite(c) ? c + half : NAN;
}

/* Cp-like and Cpk-like indices for one sigma; NAN when sigma is zero, as
 * no spread means nothing to compare the tolerance with. */
static void indices(const struct rig_spc_capability *c, double sigma, double *p, double *pk)
{
	if (!(sigma > 0)) {
		*p = *pk = NAN;
		return;
	}
	*p = (c->high - c->low) / (6.0 * sigma);
	*pk = fmin(c->high - c->mean, c->mean - c->low) / (3.0 * sigma);
}

static void capability_spread(const double *x, struct rig_spc_capability *c)
{
	double nu = (double)(c->n - 1);
	double t = rigi_num_tdist_pinv(UPPER_P, nu);
	double half = t * c->sd / sqrt((double)c->n);

	c->mean_low = c->mean - half;
	c->mean_high = c->mean + half;
	c->sd_low = c->sd * sqrt(nu / rigi_num_chisq_pinv(UPPER_P, nu));
	c->sd_high = c->sd * sqrt(nu / rigi_num_chisq_pinv(1.0 - UPPER_P, nu));
	c->sigma_within = mr_mean(x, c->n) / RIG_SPC_D2;
	indices(c, c->sigma_within, &c->cp, &c->cpk);
	bissell(c->cpk, c->n, &c->cpk_low, &c->cpk_high);
	indices(c, c->sd, &c->pp, &c->ppk);
	bissell(c->ppk, c->n, &c->ppk_low, &c->ppk_high);
}

int rig_spc_capability(const double *x, size_t n, double low, double high,
		       struct rig_spc_capability *out)
{
	int ret;

	if (!x || !out)
		return rigi_fail(RIG_ERR_ARG, "capability: NULL values or result");
	if (n == 0)
		return rigi_fail(RIG_ERR_ARG, "capability: no values");
	if (!isfinite(low) || !isfinite(high) || !(low < high))
		return rigi_fail(RIG_ERR_ARG, "capability: tolerance [%g, %g] is not an interval",
				 low, high);
	ret = all_finite(x, n, "capability");
	if (ret < 0)
		return ret;
	memset(out, 0, sizeof(*out));
	out->n = n;
	out->low = low;
	out->high = high;
	out->mean = rigi_num_mean(x, n);
	if (n < 2) {
		out->mean_low = out->mean_high = out->sd = out->sd_low = out->sd_high = NAN;
		out->sigma_within = out->cp = out->cpk = out->cpk_low = out->cpk_high = NAN;
		out->pp = out->ppk = out->ppk_low = out->ppk_high = NAN;
		return RIG_OK;
	}
	out->sd = rigi_num_sd(x, n, out->mean);
	capability_spread(x, out);
	return RIG_OK;
}

/* ---- individuals / moving-range chart ---- */

/* Each rule keeps the length of the pattern ending at point i, so one pass
 * finds every run however long the series. */

static void rule1(const double *x, struct rig_spc_chart *c)
{
	if (!(c->sigma > 0))
		return;
	for (size_t i = 0; i < c->n; i++)
		if (x[i] > c->ucl || x[i] < c->lcl)
			c->rules[i] |= RIG_SPC_RULE1;
}

static int side(double v, double centre)
{
	return (v > centre) - (v < centre);
}

static void rule2(const double *x, struct rig_spc_chart *c)
{
	size_t len = 0;

	for (size_t i = 0; i < c->n; i++) {
		int s = side(x[i], c->center);

		len = s == 0 ? 0 : (i > 0 && s == side(x[i - 1], c->center)) ? len + 1 : 1;
		if (len >= 9)
			c->rules[i] |= RIG_SPC_RULE2;
	}
}

/* Sign of the step into point i (i >= 1). */
static int step(const double *x, size_t i)
{
	return (x[i] > x[i - 1]) - (x[i] < x[i - 1]);
}

static void rule3(const double *x, struct rig_spc_chart *c)
{
	size_t steps = 0; /* equal-signed, non-zero steps ending at i */

	for (size_t i = 1; i < c->n; i++) {
		int s = step(x, i);

		steps = s == 0 ? 0 : (i > 1 && s == step(x, i - 1)) ? steps + 1 : 1;
		if (steps >= 5)
			c->rules[i] |= RIG_SPC_RULE3;
	}
}

static void rule4(const double *x, struct rig_spc_chart *c)
{
	size_t steps = 0; /* alternating, non-zero steps ending at i */

	for (size_t i = 1; i < c->n; i++) {
		int s = step(x, i);

		steps = s == 0 ? 0 : (i > 1 && s == -step(x, i - 1)) ? steps + 1 : 1;
		if (steps >= 13)
			c->rules[i] |= RIG_SPC_RULE4;
	}
}

static void count_broken(struct rig_spc_chart *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (int k = 0; k < 4; k++)
			c->broken[k] += (c->rules[i] >> k) & 1u;
}

int rig_spc_chart(const double *x, size_t n, struct rig_spc_chart *out)
{
	int ret;

	if (!out)
		return rigi_fail(RIG_ERR_ARG, "control chart: NULL result");
	memset(out, 0, sizeof(*out));
	if (!x || n == 0)
		return rigi_fail(RIG_ERR_ARG, "control chart: no values");
	ret = all_finite(x, n, "control chart");
	if (ret < 0)
		return ret;
	out->rules = calloc(n, sizeof(*out->rules));
	if (!out->rules)
		return rigi_fail(RIG_ERR_NOMEM, "control chart: %zu points", n);
	out->n = n;
	out->center = rigi_num_mean(x, n);
	out->mr_mean = n >= 2 ? mr_mean(x, n) : 0.0;
	out->mr_ucl = MR_D4 * out->mr_mean;
	out->sigma = out->mr_mean / RIG_SPC_D2;
	out->ucl = out->center + 3.0 * out->sigma;
	out->lcl = out->center - 3.0 * out->sigma;
	rule1(x, out);
	rule2(x, out);
	rule3(x, out);
	rule4(x, out);
	count_broken(out);
	return RIG_OK;
}

void rig_spc_chart_free(struct rig_spc_chart *c)
{
	if (!c)
		return;
	free(c->rules);
	c->rules = NULL;
}

const char *rig_spc_rule_text(enum rig_spc_rule rule)
{
	switch (rule) {
	case RIG_SPC_RULE1:
		return "rule 1: a point beyond 3 sigma";
	case RIG_SPC_RULE2:
		return "rule 2: nine points in a row on one side of the centre line";
	case RIG_SPC_RULE3:
		return "rule 3: six points in a row steadily increasing or decreasing";
	case RIG_SPC_RULE4:
		return "rule 4: fourteen points in a row alternating up and down";
	}
	return NULL;
}
