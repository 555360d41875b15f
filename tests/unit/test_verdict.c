/* Tests of the decision rule at and around its boundaries (both rules, guard
 * factors, U = 0, U larger than the tolerance), the promise that a PASS is
 * never wrong by more than the stated uncertainty (randomised), measurement
 * verdicts and reasons, outcome aggregation and the TUR check. */
#include <math.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/verdict.h>

#include "testsupport.h"

#define P RIG_OUTCOME_PASS
#define F RIG_OUTCOME_FAIL
#define I RIG_OUTCOME_INDETERMINATE
#define E RIG_OUTCOME_ERROR
#define A RIG_OUTCOME_ABORTED

static struct rig_limit limit_pm(double nominal, double t, enum rig_guard guard, double factor)
{
	struct rig_tolerance tol = {.abs = t, .guard = guard, .guard_factor = factor};
	struct rig_limit l;
	assert_int_equal(rig_limit_from_tolerance(&tol, nominal, "um", &l), 0);
	return l;
}

struct point {
	double error;
	enum rig_outcome expected;
};

static void check_points(const struct rig_limit *l, double u, const struct point *pts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		enum rig_outcome got = rig_verdict_decide(l->nominal + pts[i].error, u, l);
		if (got != pts[i].expected)
			fail_msg("nominal %g, error %+g, U %g, rule %s x%g: got %s, expected %s",
				 l->nominal, pts[i].error, u, rig_guard_name(l->guard), l->guard_factor,
				 rig_outcome_name(got), rig_outcome_name(pts[i].expected));
	}
}

/* T = 50, U = 5: accept inside +-45, fail beyond +-55 (the documented rule). */
static void guarded_boundaries(void **state)
{
	static const struct point pts[] = {
		{0, P},     {44.9, P}, {45.0, P}, {45.1, I}, {50.0, I},  {55.0, I},  {55.1, F},
		{-44.9, P}, {-45.0, P}, {-45.1, I}, {-55.0, I}, {-55.1, F}, {1e6, F}, {-1e6, F},
	};
	(void)state;
	for (int k = 0; k < 2; k++) {
		struct rig_limit l = limit_pm(k ? 1000.0 : 0.0, 50, RIG_GUARD_GUARDED, 1);
		check_points(&l, 5, pts, sizeof(pts) / sizeof(pts[0]));
	}
}

static void guarded_accept_boundaries(void **state)
{
	static const struct point pts[] = {
		{44.9, P}, {45.0, P}, {45.1, I}, {50.0, I}, {50.1, F}, {-50.1, F}, {-49.9, I},
	};
	struct rig_limit l = limit_pm(1000, 50, RIG_GUARD_GUARDED_ACCEPT, 1);
	(void)state;
	check_points(&l, 5, pts, sizeof(pts) / sizeof(pts[0]));
}

static void guard_factor_widens_the_band(void **state)
{
	static const struct point pts[] = {
		{42.4, P}, {42.5, P}, {42.6, I}, {57.5, I}, {57.6, F},
	};
	struct rig_limit l = limit_pm(500, 50, RIG_GUARD_GUARDED, 1.5);
	(void)state;
	check_points(&l, 5, pts, sizeof(pts) / sizeof(pts[0]));
}

static void no_uncertainty_and_too_much(void **state)
{
	static const struct point exact[] = {{50.0, P}, {50.001, F}, {-50.0, P}, {-50.001, F}};
	static const struct point huge[] = {{0, I}, {49, I}, {-110, I}, {110.1, F}};
	struct rig_limit l = limit_pm(0, 50, RIG_GUARD_GUARDED, 1);
	(void)state;
	check_points(&l, 0, exact, 4);
	/* U = 60 > T: the acceptance interval is empty, so nothing can pass. */
	check_points(&l, 60, huge, 4);
}

static void invalid_input_is_error_not_fail(void **state)
{
	struct rig_limit l = limit_pm(0, 50, RIG_GUARD_GUARDED, 1);
	struct rig_limit bad = l;
	(void)state;
	assert_int_equal(rig_verdict_decide(NAN, 1, &l), E);
	assert_int_equal(rig_verdict_decide(INFINITY, 1, &l), E);
	assert_int_equal(rig_verdict_decide(0, NAN, &l), E);
	assert_int_equal(rig_verdict_decide(0, -1, &l), E);
	assert_int_equal(rig_verdict_decide(0, 1, NULL), E);
	bad.low = 60;
	assert_int_equal(rig_verdict_decide(0, 1, &bad), E);
	bad = l;
	bad.guard_factor = 0.5; /* would accept inside the uncertainty */
	assert_int_equal(rig_verdict_decide(0, 1, &bad), E);
	bad = l;
	bad.guard = (enum rig_guard)7;
	assert_int_equal(rig_verdict_decide(0, 1, &bad), E);
}

/* Whatever the numbers, a PASS leaves the whole interval [v - U, v + U]
 * inside the tolerance, and a "guarded" FAIL leaves it wholly outside. */
static void pass_and_fail_are_never_wrong(void **state)
{
	struct rig_pcg32 rng;
	unsigned counts[5] = {0};
	(void)state;
	rig_pcg32_seed(&rng, 2026, 11);
	for (int i = 0; i < 200000; i++) {
		double t = 1 + 200 * rig_pcg32_uniform(&rng);
		double u = 60 * rig_pcg32_uniform(&rng);
		double nominal = 3000 * rig_pcg32_uniform(&rng);
		double v = nominal + (rig_pcg32_uniform(&rng) * 2 - 1) * 2.5 * t;
		double f = 1 + rig_pcg32_uniform(&rng);
		struct rig_limit l = limit_pm(nominal, t, (enum rig_guard)(i & 1), f);
		enum rig_outcome o = rig_verdict_decide(v, u, &l);
		counts[o]++;
		double eps = 1e-9 * (fabs(nominal) + t); /* rounding, not metrology */
		if (o == P)
			assert_true(v - u >= l.low - eps && v + u <= l.high + eps);
		if (o == F && l.guard == RIG_GUARD_GUARDED)
			assert_true(v - u > l.high - eps || v + u < l.low + eps);
		if (o == F)
			assert_true(v > l.high || v < l.low);
	}
	/* The sample reaches every zone. */
	assert_true(counts[P] > 1000 && counts[F] > 1000 && counts[I] > 1000);
	assert_int_equal(counts[E] + counts[A], 0);
}

static void tolerance_rules(void **state)
{
	struct rig_tolerance as_left = {.abs = 50, .rel = 0.05, .guard_factor = 1};
	struct rig_tolerance rate = {.rel = 0.03, .guard_factor = 1};
	struct rig_limit l;
	(void)state;
	assert_int_equal(rig_limit_from_tolerance(&as_left, 500, "um", &l), 0);
	assert_true(l.low == 450 && l.high == 550 && l.nominal == 500);
	assert_int_equal(rig_limit_from_tolerance(&as_left, 2000, "um", &l), 0);
	assert_true(l.low == 1900 && l.high == 2100);
	assert_int_equal(rig_limit_from_tolerance(&rate, 6000, "spm", &l), 0);
	assert_true(fabs(l.high - 6180) < 1e-9 && fabs(l.low - 5820) < 1e-9);
	assert_string_equal(l.unit, "spm");
	struct rig_tolerance zero = {.guard_factor = 1};
	struct rig_tolerance neg = {.abs = -1, .guard_factor = 1};
	struct rig_tolerance loose = {.abs = 10, .guard_factor = 0.9};
	assert_int_equal(rig_limit_from_tolerance(&zero, 1, "um", &l), RIG_ERR_ARG);
	assert_int_equal(rig_limit_from_tolerance(&neg, 1, "um", &l), RIG_ERR_ARG);
	assert_int_equal(rig_limit_from_tolerance(&loose, 1, "um", &l), RIG_ERR_ARG);
	assert_int_equal(rig_limit_from_tolerance(&as_left, NAN, "um", &l), RIG_ERR_ARG);
	assert_int_equal(rig_limit_from_tolerance(&as_left, 1, "micrometre", &l), RIG_ERR_ARG);
}

static void measurement_verdicts(void **state)
{
	struct rig_limit l = limit_pm(1000, 50, RIG_GUARD_GUARDED, 1);
	struct rig_measurement m;
	(void)state;
	rig_measurement_init(&m, "depth@1000", "protrusion", "um", 1000);
	assert_int_equal(m.outcome, E);
	assert_string_equal(m.reason, "not measured");
	assert_true(isnan(m.value) && m.k == 2);
	m.value = 1044.9;
	m.u_expanded = 5;
	assert_int_equal(rig_measurement_judge(&m, &l), 0);
	assert_int_equal(m.outcome, P);
	assert_true(m.judged);
	assert_true(fabs(m.error - 44.9) < 1e-9);
	assert_true(m.accept_low == 955 && m.accept_high == 1045);
	assert_non_null(strstr(m.reason, "+44.9 um"));
	m.value = 1055.1;
	rig_measurement_judge(&m, &l);
	assert_int_equal(m.outcome, F);
	assert_non_null(strstr(m.reason, "high tolerance limit 1050 um"));
	m.value = 952;
	rig_measurement_judge(&m, &l);
	assert_int_equal(m.outcome, I);
	assert_non_null(strstr(m.reason, "low tolerance limit 950 um"));
	m.u_expanded = 60;
	m.value = 1000;
	rig_measurement_judge(&m, &l);
	assert_int_equal(m.outcome, I);
	assert_non_null(strstr(m.reason, "no value can pass"));
	m.u_expanded = 5;
	/* A capture that gave no value is a station problem: ERROR. */
	m.value = NAN;
	assert_int_equal(rig_measurement_judge(&m, &l), 0);
	assert_int_equal(m.outcome, E);
	rig_measurement_set_error(&m, "DAQ overrun");
	assert_int_equal(m.outcome, E);
	assert_string_equal(m.reason, "DAQ overrun");
	/* A limit in another unit is a bug, and never a verdict. */
	struct rig_measurement r;
	rig_measurement_init(&r, "rate@6000", "rate", "spm", 6000);
	r.value = 6000;
	r.u_expanded = 1;
	assert_int_equal(rig_measurement_judge(&r, &l), RIG_ERR_ARG);
	assert_int_equal(r.outcome, E);
	/* Reported only: no limit, not judged. */
	rig_measurement_init(&r, "pen@1000", "penetration", "um", 1000);
	r.value = 612;
	r.u_expanded = 8;
	assert_int_equal(rig_measurement_judge(&r, NULL), 0);
	assert_false(r.judged);
	assert_true(r.error == -388);
}

static void aggregation(void **state)
{
	struct {
		enum rig_outcome in[4];
		size_t n;
		enum rig_outcome out;
	} cases[] = {
		{{P, P, P}, 3, P}, {{P, I, P}, 3, I}, {{I, F, P}, 3, F}, {{F, A, I}, 3, A},
		{{A, E, F}, 3, E}, {{E, P}, 2, E},    {{P}, 1, P},       {{A}, 1, A},
		{{P, (enum rig_outcome)9}, 2, E},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(rig_outcome_aggregate(cases[i].in, cases[i].n), cases[i].out);
	assert_int_equal(rig_outcome_aggregate(NULL, 0), E);
	assert_int_equal(rig_outcome_combine(F, I), F);
	assert_int_equal(rig_outcome_combine(I, F), F);

	struct rig_measurement m[3];
	struct rig_limit l = limit_pm(0, 50, RIG_GUARD_GUARDED, 1);
	for (int i = 0; i < 3; i++) {
		rig_measurement_init(&m[i], "x", "protrusion", "um", 0);
		m[i].value = i == 2 ? 48 : 0;
		m[i].u_expanded = 5;
		rig_measurement_judge(&m[i], i == 0 ? NULL : &l);
	}
	assert_int_equal(rig_measurements_outcome(m, 2), P);    /* the unjudged one is skipped */
	assert_int_equal(rig_measurements_outcome(m, 3), I);
	assert_int_equal(rig_measurements_outcome(m, 1), E);    /* nothing judged */
}

static void names(void **state)
{
	(void)state;
	for (int o = P; o <= A; o++)
		assert_int_equal(rig_outcome_parse(rig_outcome_name((enum rig_outcome)o)), o);
	assert_string_equal(rig_outcome_name(I), "INDETERMINATE");
	assert_string_equal(rig_outcome_name((enum rig_outcome)-1), "INVALID");
	assert_int_equal(rig_outcome_parse("pass"), -1);
	assert_int_equal(rig_guard_parse("guarded-accept"), RIG_GUARD_GUARDED_ACCEPT);
	assert_int_equal(rig_guard_parse("simple"), -1);
}

static void test_uncertainty_ratio(void **state)
{
	struct rig_limit l = limit_pm(1000, 50, RIG_GUARD_GUARDED, 1);
	double tur = 0;
	(void)state;
	assert_int_equal(rig_verdict_check_tur(&l, 10, &tur), 0);
	assert_true(tur == 5);
	assert_int_equal(rig_verdict_check_tur(&l, 12.5, &tur), 0); /* exactly 4:1 */
	assert_int_equal(rig_verdict_check_tur(&l, 13, &tur), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "3.85:1 is below 4:1"));
	assert_int_equal(rig_verdict_check_tur(&l, 0, NULL), 0);
	assert_true(isinf(rig_verdict_tur(&l, 0)));
	assert_int_equal(rig_verdict_check_tur(&l, -1, NULL), RIG_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guarded_boundaries),
		cmocka_unit_test(guarded_accept_boundaries),
		cmocka_unit_test(guard_factor_widens_the_band),
		cmocka_unit_test(no_uncertainty_and_too_much),
		cmocka_unit_test(invalid_input_is_error_not_fail),
		cmocka_unit_test(pass_and_fail_are_never_wrong),
		cmocka_unit_test(tolerance_rules),
		cmocka_unit_test(measurement_verdicts),
		cmocka_unit_test(aggregation),
		cmocka_unit_test(names),
		cmocka_unit_test(test_uncertainty_ratio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
