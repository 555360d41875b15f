/* Tests of rig_stats_compute: hand-computed summaries, the 10 % trimmed
 * mean, numerical stability with a large offset, and argument errors. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/stats.h>

#include "testsupport.h"

/* cmocka's assert_float_equal compares floats; calibration needs doubles. */
static void near(double got, double want, double tol, const char *file, int line)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%.17g differs from %.17g by more than %g\n", got, want, tol);
		_fail(file, line);
	}
}
#define assert_near(got, want, tol) near((got), (want), (tol), __FILE__, __LINE__)

#define TOL 1e-12

static void textbook_set(void **state)
{
	/* mean 5, squares about the mean sum to 32 -> sd = sqrt(32/7) */
	const double v[] = {2, 4, 4, 4, 5, 5, 7, 9};
	struct rig_stats s;
	(void)state;
	assert_int_equal(rig_stats_compute(v, 8, &s), 0);
	assert_int_equal(s.n, 8);
	assert_near(s.mean, 5.0, TOL);
	assert_near(s.median, 4.5, TOL);
	assert_near(s.sd, sqrt(32.0 / 7.0), TOL);
	assert_near(s.sem, sqrt(32.0 / 7.0) / sqrt(8.0), TOL);
	assert_near(s.min, 2.0, 0);
	assert_near(s.max, 9.0, 0);
	/* floor(0.1 * 8) = 0 values cut on each side */
	assert_near(s.trimmed_mean, 5.0, TOL);
}

static void trimmed_mean_rejects_outlier(void **state)
{
	/* unsorted on purpose; floor(0.1 * 10) = 1 value cut on each side */
	const double v[] = {7, 100, 3, 1, 9, 5, 2, 8, 4, 6};
	double copy[10];
	struct rig_stats s;
	double ss = 0;
	(void)state;
	memcpy(copy, v, sizeof(v));
	assert_int_equal(rig_stats_compute(copy, 10, &s), 0);
	assert_memory_equal(copy, v, sizeof(v)); /* input untouched */
	assert_near(s.mean, 14.5, TOL);
	assert_near(s.median, 5.5, TOL);
	assert_near(s.trimmed_mean, 5.5, TOL); /* mean of 2..9 */
	for (int i = 0; i < 10; i++)
		ss += (v[i] - 14.5) * (v[i] - 14.5);
	assert_near(s.sd, sqrt(ss / 9.0), 1e-10);
	assert_near(s.min, 1.0, 0);
	assert_near(s.max, 100.0, 0);
}

static void odd_count_median(void **state)
{
	const double v[] = {3.5, -1.25, 10.0};
	struct rig_stats s;
	(void)state;
	assert_int_equal(rig_stats_compute(v, 3, &s), 0);
	assert_near(s.median, 3.5, 0);
	assert_near(s.mean, 12.25 / 3.0, TOL);
}

static void single_value(void **state)
{
	const double v[] = {1234.5};
	struct rig_stats s;
	(void)state;
	assert_int_equal(rig_stats_compute(v, 1, &s), 0);
	assert_int_equal(s.n, 1);
	assert_near(s.mean, 1234.5, 0);
	assert_near(s.median, 1234.5, 0);
	assert_near(s.trimmed_mean, 1234.5, 0);
	assert_near(s.sd, 0.0, 0);
	assert_near(s.sem, 0.0, 0);
}

static void large_offset_is_stable(void **state)
{
	/* deviations -6, -3, +3, +6 on top of 1e9: sd = sqrt(90 / 3) */
	const double v[] = {1e9 + 4, 1e9 + 7, 1e9 + 13, 1e9 + 16};
	struct rig_stats s;
	(void)state;
	assert_int_equal(rig_stats_compute(v, 4, &s), 0);
	assert_near(s.mean, 1e9 + 10, 1e-6);
	assert_near(s.sd, sqrt(30.0), 1e-9);
}

static void bad_arguments(void **state)
{
	const double v[] = {1.0, NAN, 3.0};
	const double w[] = {1.0, INFINITY};
	struct rig_stats s;
	(void)state;
	assert_int_equal(rig_stats_compute(v, 0, &s), RIG_ERR_ARG);
	assert_int_equal(rig_stats_compute(NULL, 3, &s), RIG_ERR_ARG);
	assert_int_equal(rig_stats_compute(v, 3, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_stats_compute(v, 3, &s), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "value 1 of 3"));
	assert_int_equal(rig_stats_compute(w, 2, &s), RIG_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(textbook_set),
		cmocka_unit_test(trimmed_mean_rejects_outlier),
		cmocka_unit_test(odd_count_median),
		cmocka_unit_test(single_value),
		cmocka_unit_test(large_offset_is_stable),
		cmocka_unit_test(bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
