/* Tests of rig/spc.h: yield (first judged run, last judged run, ties,
 * ERROR/ABORTED), capability against values computed with Python's
 * statistics module and table quantiles, control-chart limits, each Nelson
 * rule firing on the point that completes its pattern and not one earlier,
 * a brute-force cross-check of the rules and the yield on random data, the
 * speed on 100,000 runs and points, and argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rig/rig.h>
#include <rig/spc.h>

#include "testsupport.h"

static void near(double got, double want, double tol, const char *file, int line)
{
	if (!(fabs(got - want) <= tol)) {
		print_error("%.17g differs from %.17g by more than %g\n", got, want, tol);
		_fail(file, line);
	}
}
#define assert_near(got, want, tol) near((got), (want), (tol), __FILE__, __LINE__)
#define assert_nan(v) assert_true(isnan(v))

#define TOL 1e-12
/* The table quantiles below have 7 significant digits. */
#define QTOL 2e-6

/* Table values: z(0.975), t(0.975, 9), chi-square 0.025 / 0.975 with 9 dof. */
#define Z975 1.959964
#define T975_9 2.262157
#define CHI2_025_9 2.700389
#define CHI2_975_9 19.022768

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Small deterministic generator (Knuth's MMIX LCG, high bits). */
static unsigned rnd(uint64_t *s, unsigned n)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((*s >> 33) % n);
}

/* ---- yield ---- */

#define RUN(sn, t, o) {.serial = (sn), .started_ms = (t), .outcome = RIG_OUTCOME_##o}

static void yield_by_unit(void **state)
{
	/* Serials interleaved and out of time order on purpose.
	 * A: PASS                  first pass, final pass
	 * B: ERROR, PASS           first pass (ERROR judged nothing), retested
	 * C: PASS@3, FAIL@5        given FAIL first: first pass, final FAIL
	 * D: ABORTED               not judged
	 * E: INDETERMINATE, PASS   not first pass, final pass
	 * F: FAIL, PASS at one ms  tie kept in the given order: final pass only
	 * G: PASS, ERROR           first pass, last judged run PASS */
	const struct rig_spc_run r[] = {
		RUN("C", 5, FAIL),  RUN("A", 10, PASS),    RUN("B", 1, ERROR),
		RUN("F", 7, FAIL),  RUN("E", 2, INDETERMINATE), RUN("D", 4, ABORTED),
		RUN("C", 3, PASS),  RUN("F", 7, PASS),     RUN("G", 1, PASS),
		RUN("B", 2, PASS),  RUN("E", 9, PASS),     RUN("G", 2, ERROR),
	};
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(r, 12, &y), 0);
	assert_int_equal(y.runs, 12);
	assert_int_equal(y.per_outcome[RIG_OUTCOME_PASS], 6);
	assert_int_equal(y.per_outcome[RIG_OUTCOME_FAIL], 2);
	assert_int_equal(y.per_outcome[RIG_OUTCOME_INDETERMINATE], 1);
	assert_int_equal(y.per_outcome[RIG_OUTCOME_ERROR], 2);
	assert_int_equal(y.per_outcome[RIG_OUTCOME_ABORTED], 1);
	assert_int_equal(y.units, 7);
	assert_int_equal(y.units_judged, 6);
	assert_int_equal(y.first_pass, 4);           /* A B C G */
	assert_near(y.fpy, 4.0 / 6.0, TOL);
	/* Wilson, 4 of 6, z = 1.959964 (Python, exact formula) */
	assert_near(y.fpy_low, 0.29999331299474324, QTOL);
	assert_near(y.fpy_high, 0.9032285897864654, QTOL);
	assert_int_equal(y.units_retested, 5);       /* B C E F G */
	assert_near(y.retest_rate, 5.0 / 7.0, TOL);
	assert_int_equal(y.final_pass, 5);           /* A B E F G */
	assert_near(y.final_yield, 5.0 / 6.0, TOL);
}

static void yield_ties_keep_given_order(void **state)
{
	const struct rig_spc_run pass_first[] = {RUN("X", 7, PASS), RUN("X", 7, FAIL)};
	const struct rig_spc_run fail_first[] = {RUN("X", 7, FAIL), RUN("X", 7, PASS)};
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(pass_first, 2, &y), 0);
	assert_int_equal(y.first_pass, 1);
	assert_int_equal(y.final_pass, 0);
	assert_int_equal(rig_spc_yield(fail_first, 2, &y), 0);
	assert_int_equal(y.first_pass, 0);
	assert_int_equal(y.final_pass, 1);
}

static void yield_error_aborted_are_not_judged(void **state)
{
	const struct rig_spc_run r[] = {
		RUN("A", 1, ERROR), RUN("A", 2, ABORTED), RUN("B", 1, ABORTED),
		RUN("C", 1, ERROR), RUN("C", 2, FAIL),    RUN("C", 3, ERROR),
	};
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(r, 6, &y), 0);
	assert_int_equal(y.units, 3);
	assert_int_equal(y.units_judged, 1);
	assert_int_equal(y.first_pass, 0);
	assert_int_equal(y.final_pass, 0);
	assert_near(y.fpy, 0.0, 0);
	assert_near(y.fpy_low, 0.0, 1e-15);
	/* Wilson upper limit for 0 of 1: z^2 / (1 + z^2) */
	assert_near(y.fpy_high, Z975 * Z975 / (1 + Z975 * Z975), QTOL);
	assert_int_equal(y.units_retested, 2);
	assert_near(y.retest_rate, 2.0 / 3.0, TOL);

	/* Nothing judged at all: the yields are undefined, not 0. */
	assert_int_equal(rig_spc_yield(r, 3, &y), 0);
	assert_int_equal(y.units_judged, 0);
	assert_nan(y.fpy);
	assert_nan(y.fpy_low);
	assert_nan(y.fpy_high);
	assert_nan(y.final_yield);
	assert_near(y.retest_rate, 0.5, TOL);
}

static void yield_all_pass_interval(void **state)
{
	const struct rig_spc_run r[] = {RUN("A", 1, PASS), RUN("B", 1, PASS), RUN("C", 1, PASS)};
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(r, 3, &y), 0);
	assert_near(y.fpy, 1.0, 0);
	/* Wilson lower limit for n of n: n / (n + z^2); the upper one is 1 */
	assert_near(y.fpy_low, 3.0 / (3.0 + Z975 * Z975), QTOL);
	assert_near(y.fpy_high, 1.0, 1e-15);
	assert_int_equal(y.units_retested, 0);
	assert_near(y.retest_rate, 0.0, 0);
}

static void yield_empty(void **state)
{
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(NULL, 0, &y), 0);
	assert_int_equal(y.runs, 0);
	assert_int_equal(y.units, 0);
	assert_nan(y.fpy);
	assert_nan(y.retest_rate);
	assert_nan(y.final_yield);
}

/* Reference: for each serial, scan every run (quadratic, obviously right). */
static void yield_reference(const struct rig_spc_run *r, size_t n, struct rig_spc_yield *y)
{
	memset(y, 0, sizeof(*y));
	for (size_t i = 0; i < n; i++) {
		const struct rig_spc_run *first = NULL, *last = NULL;
		size_t runs = 0, seen = 0;

		for (size_t j = 0; j < i; j++)
			seen += strcmp(r[j].serial, r[i].serial) == 0;
		if (seen)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (strcmp(r[j].serial, r[i].serial))
				continue;
			runs++;
			if (r[j].outcome > RIG_OUTCOME_INDETERMINATE)
				continue;
			/* strictly earlier, or a tie given earlier (j grows) */
			if (!first || r[j].started_ms < first->started_ms)
				first = &r[j];
			if (!last || r[j].started_ms >= last->started_ms)
				last = &r[j];
		}
		y->units++;
		y->units_retested += runs >= 2;
		y->units_judged += first != NULL;
		y->first_pass += first && first->outcome == RIG_OUTCOME_PASS;
		y->final_pass += last && last->outcome == RIG_OUTCOME_PASS;
	}
}

static void yield_matches_reference(void **state)
{
	enum { N = 3000, SERIALS = 400 };
	static char names[SERIALS][8];
	struct rig_spc_run *r = calloc(N, sizeof(*r));
	struct rig_spc_yield got, want;
	uint64_t s = 42;
	(void)state;
	assert_non_null(r);
	for (int i = 0; i < SERIALS; i++)
		snprintf(names[i], sizeof(names[i]), "SN%04d", i);
	for (size_t i = 0; i < N; i++) {
		r[i].serial = names[rnd(&s, SERIALS)];
		r[i].started_ms = rnd(&s, 20); /* many ties */
		r[i].outcome = (enum rig_outcome)rnd(&s, 5);
	}
	yield_reference(r, N, &want);
	assert_int_equal(rig_spc_yield(r, N, &got), 0);
	assert_int_equal(got.units, want.units);
	assert_int_equal(got.units_judged, want.units_judged);
	assert_int_equal(got.first_pass, want.first_pass);
	assert_int_equal(got.final_pass, want.final_pass);
	assert_int_equal(got.units_retested, want.units_retested);
	assert_true(want.first_pass > 0 && want.first_pass < want.units_judged);
	free(r);
}

static void yield_100k_runs_fast(void **state)
{
	enum { N = 100000, SERIALS = 25000 };
	char(*names)[10] = malloc(SERIALS * sizeof(*names));
	struct rig_spc_run *r = malloc(N * sizeof(*r));
	struct rig_spc_yield y;
	uint64_t s = 7;
	double t0, dt;
	(void)state;
	assert_non_null(names);
	assert_non_null(r);
	for (int i = 0; i < SERIALS; i++)
		snprintf(names[i], sizeof(names[i]), "PEN%06d", i);
	/* each unit: PASS at 1000, preceded by a FAIL at 0 for every fifth unit */
	for (size_t i = 0; i < N; i++) {
		size_t u = rnd(&s, SERIALS);

		r[i].serial = names[u];
		r[i].started_ms = 1000 + (int64_t)rnd(&s, 100000);
		r[i].outcome = RIG_OUTCOME_PASS;
	}
	for (size_t u = 0; u < SERIALS; u++) {
		r[u].serial = names[u]; /* every serial present */
		r[u].started_ms = u % 5 ? 1000 : 0;
		r[u].outcome = u % 5 ? RIG_OUTCOME_PASS : RIG_OUTCOME_FAIL;
	}
	t0 = seconds();
	assert_int_equal(rig_spc_yield(r, N, &y), 0);
	dt = seconds() - t0;
	print_message("yield of %d runs: %.1f ms\n", N, dt * 1e3);
	assert_int_equal(y.units, SERIALS);
	assert_int_equal(y.units_judged, SERIALS);
	assert_int_equal(y.first_pass, SERIALS - SERIALS / 5);
	/* a quadratic pass would take minutes; generous for sanitizers */
	assert_true(dt < 1.0);
	free(r);
	free(names);
}

static void yield_bad_arguments(void **state)
{
	struct rig_spc_run r[] = {RUN("A", 1, PASS), RUN("B", 1, PASS)};
	struct rig_spc_yield y;
	(void)state;
	assert_int_equal(rig_spc_yield(r, 2, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_spc_yield(NULL, 2, &y), RIG_ERR_ARG);
	r[1].serial = NULL;
	assert_int_equal(rig_spc_yield(r, 2, &y), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "run 1 of 2"));
	r[1].serial = "B";
	r[1].outcome = (enum rig_outcome)5;
	assert_int_equal(rig_spc_yield(r, 2, &y), RIG_ERR_ARG);
	r[1].outcome = (enum rig_outcome)-1;
	assert_int_equal(rig_spc_yield(r, 2, &y), RIG_ERR_ARG);
}

/* ---- capability ---- */

static void capability_hand_computed(void **state)
{
	/* Python: statistics.mean/stdev, the formulas of rig/spc.h, table
	 * quantiles; tolerance [9.5, 10.9] */
	const double x[] = {10.1, 9.8, 10.3, 10.0, 9.7, 10.2, 10.4, 9.9, 10.0, 10.1};
	struct rig_spc_capability c;
	(void)state;
	assert_int_equal(rig_spc_capability(x, 10, 9.5, 10.9, &c), 0);
	assert_int_equal(c.n, 10);
	assert_near(c.low, 9.5, 0);
	assert_near(c.high, 10.9, 0);
	assert_near(c.mean, 10.05, TOL);
	assert_near(c.sd, 0.21730674684008838, TOL);
	assert_near(c.mean_low, 10.05 - T975_9 * 0.21730674684008838 / sqrt(10.0), QTOL);
	assert_near(c.mean_low, 9.89454812912116, QTOL);
	assert_near(c.mean_high, 10.205451870878841, QTOL);
	assert_near(c.sd_low, 0.21730674684008838 * sqrt(9.0 / CHI2_975_9), QTOL);
	assert_near(c.sd_high, 0.21730674684008838 * sqrt(9.0 / CHI2_025_9), QTOL);
	assert_near(c.sd_low, 0.14947123034961893, QTOL);
	assert_near(c.sd_high, 0.3967174464878261, QTOL);
	/* moving ranges sum to 2.8 over 9 */
	assert_near(c.sigma_within, 2.8 / 9.0 / 1.128, TOL);
	assert_near(c.cp, 0.846, 1e-9);
	assert_near(c.cpk, 0.6647142857142864, 1e-9);
	assert_near(c.cpk_low, 0.2946075826876896, QTOL);
	assert_near(c.cpk_high, 1.0348209887408832, QTOL);
	assert_near(c.pp, 1.0737509843863184, 1e-9);
	assert_near(c.ppk, 0.8436614877321083, 1e-9);
	assert_near(c.ppk_low, 0.4025450614866602, QTOL);
	assert_near(c.ppk_high, 1.2847779139775564, QTOL);
}

static void capability_order_matters_for_within(void **state)
{
	/* Same values, sorted: overall figures equal, the within sigma is the
	 * run-to-run one and drops (sorted neighbours are close). */
	const double x[] = {9.7, 9.8, 9.9, 10.0, 10.0, 10.1, 10.1, 10.2, 10.3, 10.4};
	struct rig_spc_capability c;
	(void)state;
	assert_int_equal(rig_spc_capability(x, 10, 9.5, 10.9, &c), 0);
	assert_near(c.sd, 0.21730674684008838, TOL);
	assert_near(c.sigma_within, 0.7 / 9.0 / 1.128, TOL);
	assert_near(c.ppk, 0.8436614877321083, 1e-9);
}

static void capability_mean_below_centre(void **state)
{
	/* Cpk from the nearer limit: the low one here */
	const double x[] = {1.0, 3.0, 1.0, 3.0};
	struct rig_spc_capability c;
	(void)state;
	assert_int_equal(rig_spc_capability(x, 4, 0.0, 10.0, &c), 0);
	assert_near(c.mean, 2.0, TOL);
	assert_near(c.sigma_within, 2.0 / 1.128, TOL);
	assert_near(c.cp, 10.0 / (6 * 2.0 / 1.128), TOL);
	assert_near(c.cpk, 2.0 / (3 * 2.0 / 1.128), TOL);
	assert_near(c.sd, sqrt(4.0 / 3.0), TOL);
	assert_near(c.ppk, 2.0 / (3 * sqrt(4.0 / 3.0)), TOL);
	assert_near(c.cpk_high - c.cpk,
		    Z975 * sqrt(1.0 / 36.0 + c.cpk * c.cpk / 6.0), QTOL);
}

static void capability_zero_sigma_and_single(void **state)
{
	const double x[] = {5.0, 5.0, 5.0, 5.0, 5.0};
	struct rig_spc_capability c;
	(void)state;
	assert_int_equal(rig_spc_capability(x, 5, 4.0, 6.0, &c), 0);
	assert_near(c.mean, 5.0, 0);
	assert_near(c.sd, 0.0, 0);
	assert_near(c.mean_low, 5.0, 0);
	assert_near(c.mean_high, 5.0, 0);
	assert_near(c.sd_low, 0.0, 0);
	assert_near(c.sd_high, 0.0, 0);
	assert_near(c.sigma_within, 0.0, 0);
	assert_nan(c.cp);
	assert_nan(c.cpk);
	assert_nan(c.cpk_low);
	assert_nan(c.cpk_high);
	assert_nan(c.pp);
	assert_nan(c.ppk);
	assert_nan(c.ppk_low);
	assert_nan(c.ppk_high);

	assert_int_equal(rig_spc_capability(x, 1, 4.0, 6.0, &c), 0);
	assert_int_equal(c.n, 1);
	assert_near(c.mean, 5.0, 0);
	assert_nan(c.mean_low);
	assert_nan(c.sd);
	assert_nan(c.sd_high);
	assert_nan(c.sigma_within);
	assert_nan(c.cpk);
	assert_nan(c.ppk_high);
}

static void capability_bad_arguments(void **state)
{
	const double x[] = {1.0, 2.0, NAN};
	struct rig_spc_capability c;
	(void)state;
	assert_int_equal(rig_spc_capability(NULL, 2, 0, 3, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 2, 0, 3, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 0, 0, 3, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 3, 0, 3, &c), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "value 2 of 3"));
	assert_int_equal(rig_spc_capability(x, 2, 3, 3, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 2, 3, 0, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 2, -INFINITY, 3, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_capability(x, 2, 0, NAN, &c), RIG_ERR_ARG);
}

/* ---- control chart ---- */

/* The points of @p c carrying @p bit must be exactly @p want[0..nwant). */
static void bits_at(const struct rig_spc_chart *c, uint8_t bit, const size_t *want,
		    size_t nwant, const char *file, int line)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++) {
		int expected = k < nwant && want[k] == i;

		if (!!(c->rules[i] & bit) != expected) {
			print_error("point %zu: rule bit 0x%x %s\n", i, bit,
				    expected ? "missing" : "set, not expected");
			_fail(file, line);
		}
		k += expected;
	}
}
#define assert_bits(c, bit, ...)                                                     \
	do {                                                                          \
		const size_t want_[] = {__VA_ARGS__};                                 \
		bits_at((c), (bit), want_, sizeof(want_) / sizeof(want_[0]), __FILE__, \
			__LINE__);                                                    \
	} while (0)
#define assert_no_bits(c, bit) bits_at((c), (bit), NULL, 0, __FILE__, __LINE__)

static void chart_limits_and_rule1(void **state)
{
	/* [0 1 1 0] x 5 with 4 at 9 and -2.5 at 13, a spike 10 at 20, then
	 * [0 1 1 0]: Python gives centre 0.86, moving ranges 43 / 24, and
	 * limits 5.6251 / -3.9051, so only the spike is beyond 3 sigma. */
	double x[25] = {0, 1, 1, 0, 0, 1, 1, 0, 0, 4, 1, 0, 0, -2.5, 1, 0, 0, 1, 1, 0,
			10, 0, 1, 1, 0};
	struct rig_spc_chart c;
	(void)state;
	assert_int_equal(rig_spc_chart(x, 25, &c), 0);
	assert_int_equal(c.n, 25);
	assert_near(c.center, 0.86, TOL);
	assert_near(c.mr_mean, 43.0 / 24.0, TOL);
	assert_near(c.mr_ucl, 3.267 * 43.0 / 24.0, TOL);
	assert_near(c.sigma, 43.0 / 24.0 / 1.128, TOL);
	assert_near(c.ucl, 5.625070921985817, TOL);
	assert_near(c.lcl, -3.9050709219858164, TOL);
	assert_bits(&c, RIG_SPC_RULE1, 20);
	assert_int_equal(c.broken[0], 1);
	rig_spc_chart_free(&c);
	assert_null(c.rules);
	rig_spc_chart_free(&c); /* twice is harmless */

	for (int i = 0; i < 25; i++) /* below the centre line too */
		x[i] = -x[i];
	assert_int_equal(rig_spc_chart(x, 25, &c), 0);
	assert_near(c.lcl, -5.625070921985817, TOL);
	assert_bits(&c, RIG_SPC_RULE1, 20);
	rig_spc_chart_free(&c);
}

static void chart_rule2_nine_on_one_side(void **state)
{
	/* Centre 4 / 23: the ten 0.5s from point 8 are above it, the ninth
	 * (point 16) completes the rule, the tenth continues it. */
	double x[23] = {-1, 1, 1, -1, -1, 1, 1, -1, 0.5, 0.5, 0.5, 0.5,
			0.5, 0.5, 0.5, 0.5, 0.5, 0.5, -1, -1, 1, 1, -1};
	/* Eight only: centre 3 / 21, nothing */
	double eight[21] = {-1, 1, 1, -1, -1, 1, 1, -1, 0.5, 0.5, 0.5,
			    0.5, 0.5, 0.5, 0.5, 0.5, -1, -1, 1, 1, -1};
	struct rig_spc_chart c;
	(void)state;
	assert_int_equal(rig_spc_chart(x, 23, &c), 0);
	assert_near(c.center, 4.0 / 23.0, TOL);
	assert_bits(&c, RIG_SPC_RULE2, 16, 17);
	assert_int_equal(c.broken[1], 2);
	rig_spc_chart_free(&c);

	for (int i = 0; i < 23; i++)
		x[i] = -x[i];
	assert_int_equal(rig_spc_chart(x, 23, &c), 0);
	assert_bits(&c, RIG_SPC_RULE2, 16, 17);
	rig_spc_chart_free(&c);

	assert_int_equal(rig_spc_chart(eight, 21, &c), 0);
	assert_no_bits(&c, RIG_SPC_RULE2);
	assert_int_equal(c.broken[1], 0);
	rig_spc_chart_free(&c);
}

/* The mean of a series symmetric about 0 is 0 only up to rounding: move
 * points @p a and @p b to where the computed centre lands until it stays
 * there (each step divides the gap by about n / 2). */
static void settle_on_centre(double *x, size_t n, size_t a, size_t b)
{
	struct rig_spc_chart c;

	for (int k = 0; k < 200; k++) {
		assert_int_equal(rig_spc_chart(x, n, &c), 0);
		rig_spc_chart_free(&c);
		if (x[a] == c.center && x[b] == c.center)
			return;
		x[a] = x[b] = c.center;
	}
}

static void chart_rule2_point_on_centre_breaks(void **state)
{
	/* Four above, one on the line, four above, then the same below:
	 * counting the points on the line to either side would give nine. */
	double x[18] = {1, 1, 1, 1, 0, 1, 1, 1, 1, -1, -1, -1, -1, 0, -1, -1, -1, -1};
	struct rig_spc_chart c;
	(void)state;
	settle_on_centre(x, 18, 4, 13);
	assert_int_equal(rig_spc_chart(x, 18, &c), 0);
	assert_true(x[4] == c.center && x[13] == c.center); /* precondition */
	assert_near(c.center, 0.0, 1e-15);
	assert_no_bits(&c, RIG_SPC_RULE2);
	rig_spc_chart_free(&c);
	/* One point moved above: nine above end at 8, and the centre rises
	 * to 0.5 / 18, which puts the other one below it (nine end at 17). */
	x[4] = 0.5;
	assert_int_equal(rig_spc_chart(x, 18, &c), 0);
	assert_bits(&c, RIG_SPC_RULE2, 8, 17);
	rig_spc_chart_free(&c);
}

static void chart_rule2_ends_on_centre(void **state)
{
	/* Nine above (rule 2 at 8), one on the line, nine below (at 18), one
	 * on the line: the points on the line carry no rule 2. */
	double x[20];
	struct rig_spc_chart c;
	(void)state;
	for (int i = 0; i < 20; i++)
		x[i] = i < 9 ? 1 : i == 9 || i == 19 ? 0 : -1;
	settle_on_centre(x, 20, 9, 19);
	assert_int_equal(rig_spc_chart(x, 20, &c), 0);
	assert_true(x[9] == c.center && x[19] == c.center); /* precondition */
	assert_bits(&c, RIG_SPC_RULE2, 8, 18);
	rig_spc_chart_free(&c);
}

static void chart_rule3_six_steadily(void **state)
{
	/* Points 2..7 rise (five steps): rule 3 at 7, and 8 while it rises.
	 * Points 8..13 fall: rule 3 at 13; the tie at 14 ends it. Points
	 * 14..18 rise five points only (four steps): nothing. */
	const double x[20] = {5, 5, 1, 2, 3, 4, 5, 6, 7, 3, 2, 1, 0, -1, -1, 0, 1, 2, 3, 3};
	struct rig_spc_chart c;
	(void)state;
	assert_int_equal(rig_spc_chart(x, 20, &c), 0);
	assert_bits(&c, RIG_SPC_RULE3, 7, 8, 13);
	assert_int_equal(c.broken[2], 3);
	rig_spc_chart_free(&c);
}

static void chart_rule4_fourteen_alternating(void **state)
{
	/* 5 5 (no step), then 0 1 0 1 ...: points 1..14 alternate (13 steps),
	 * so rule 4 at 14, then 15 and 16; the tie 16-17 ends it and 17..29
	 * alternate for thirteen points only. */
	double x[30];
	struct rig_spc_chart c;
	(void)state;
	x[0] = x[1] = 5;
	for (int i = 2; i <= 16; i++)
		x[i] = i % 2;
	for (int i = 17; i < 30; i++)
		x[i] = (i + 1) % 2; /* x[17] = x[16] = 0 */
	assert_int_equal(rig_spc_chart(x, 30, &c), 0);
	assert_bits(&c, RIG_SPC_RULE4, 14, 15, 16);
	assert_int_equal(c.broken[3], 3);
	rig_spc_chart_free(&c);
}

static void chart_zero_sigma(void **state)
{
	double x[20];
	struct rig_spc_chart c;
	(void)state;
	for (int i = 0; i < 20; i++)
		x[i] = 7.25;
	assert_int_equal(rig_spc_chart(x, 20, &c), 0);
	assert_near(c.center, 7.25, 0);
	assert_near(c.sigma, 0.0, 0);
	assert_near(c.ucl, 7.25, 0);
	assert_near(c.lcl, 7.25, 0);
	assert_near(c.mr_mean, 0.0, 0);
	for (int k = 0; k < 4; k++)
		assert_int_equal(c.broken[k], 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(c.rules[i], 0);
	rig_spc_chart_free(&c);

	assert_int_equal(rig_spc_chart(x, 1, &c), 0);
	assert_int_equal(c.n, 1);
	assert_near(c.sigma, 0.0, 0);
	assert_near(c.mr_ucl, 0.0, 0);
	assert_int_equal(c.rules[0], 0);
	rig_spc_chart_free(&c);
}

/* Reference rules: point i is flagged when the window of points ending at
 * i has the pattern (the definition, checked point by point). */
static uint8_t window_rules(const double *x, size_t i, const struct rig_spc_chart *c)
{
	uint8_t r = 0;

	if (c->sigma > 0 && fabs(x[i] - c->center) > 3 * c->sigma)
		r |= RIG_SPC_RULE1;
	if (i >= 8) {
		int above = 1, below = 1;
		for (size_t j = i - 8; j <= i; j++) {
			above &= x[j] > c->center;
			below &= x[j] < c->center;
		}
		if (above || below)
			r |= RIG_SPC_RULE2;
	}
	if (i >= 5) {
		int up = 1, down = 1;
		for (size_t j = i - 4; j <= i; j++) {
			up &= x[j] > x[j - 1];
			down &= x[j] < x[j - 1];
		}
		if (up || down)
			r |= RIG_SPC_RULE3;
	}
	if (i >= 13) {
		int alternate = 1;
		for (size_t j = i - 12; j <= i; j++) {
			alternate &= x[j] != x[j - 1];
			if (j > i - 12)
				alternate &= (x[j] > x[j - 1]) != (x[j - 1] > x[j - 2]);
		}
		if (alternate)
			r |= RIG_SPC_RULE4;
	}
	return r;
}

static void chart_100k_matches_reference(void **state)
{
	enum { N = 100000 };
	double *x = malloc(N * sizeof(*x));
	struct rig_spc_chart c;
	size_t count[4] = {0};
	uint64_t s = 1;
	double t0, dt;
	(void)state;
	assert_non_null(x);
	/* small integers: ties, runs and alternations are all frequent */
	for (size_t i = 0; i < N; i++)
		x[i] = i % 997 == 0 ? 40.0 : (double)rnd(&s, 10);
	t0 = seconds();
	assert_int_equal(rig_spc_chart(x, N, &c), 0);
	dt = seconds() - t0;
	print_message("chart of %d points: %.1f ms\n", N, dt * 1e3);
	assert_true(dt < 1.0);
	for (size_t i = 0; i < N; i++) {
		uint8_t want = window_rules(x, i, &c);

		if (c.rules[i] != want)
			fail_msg("point %zu: rules 0x%x, reference 0x%x", i, c.rules[i], want);
		for (int k = 0; k < 4; k++)
			count[k] += (want >> k) & 1u;
	}
	for (int k = 0; k < 4; k++) {
		assert_int_equal(c.broken[k], count[k]);
		assert_true(count[k] > 0); /* the check is not vacuous */
	}
	rig_spc_chart_free(&c);
	free(x);
}

static void chart_bad_arguments(void **state)
{
	const double x[] = {1.0, INFINITY};
	struct rig_spc_chart c;
	(void)state;
	assert_int_equal(rig_spc_chart(x, 2, NULL), RIG_ERR_ARG);
	assert_int_equal(rig_spc_chart(NULL, 2, &c), RIG_ERR_ARG);
	assert_null(c.rules);
	assert_int_equal(rig_spc_chart(x, 0, &c), RIG_ERR_ARG);
	assert_int_equal(rig_spc_chart(x, 2, &c), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "value 1 of 2"));
	assert_null(c.rules);
	rig_spc_chart_free(&c); /* safe after a failure */
	rig_spc_chart_free(NULL);
}

static void rule_texts(void **state)
{
	(void)state;
	assert_string_equal(rig_spc_rule_text(RIG_SPC_RULE1), "rule 1: a point beyond 3 sigma");
	assert_non_null(strstr(rig_spc_rule_text(RIG_SPC_RULE2), "rule 2: nine"));
	assert_non_null(strstr(rig_spc_rule_text(RIG_SPC_RULE3), "rule 3: six"));
	assert_non_null(strstr(rig_spc_rule_text(RIG_SPC_RULE4), "rule 4: fourteen"));
	assert_null(rig_spc_rule_text((enum rig_spc_rule)0));
	assert_null(rig_spc_rule_text((enum rig_spc_rule)(RIG_SPC_RULE1 | RIG_SPC_RULE2)));
	assert_null(rig_spc_rule_text((enum rig_spc_rule)16));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(yield_by_unit),
		cmocka_unit_test(yield_ties_keep_given_order),
		cmocka_unit_test(yield_error_aborted_are_not_judged),
		cmocka_unit_test(yield_all_pass_interval),
		cmocka_unit_test(yield_empty),
		cmocka_unit_test(yield_matches_reference),
		cmocka_unit_test(yield_100k_runs_fast),
		cmocka_unit_test(yield_bad_arguments),
		cmocka_unit_test(capability_hand_computed),
		cmocka_unit_test(capability_order_matters_for_within),
		cmocka_unit_test(capability_mean_below_centre),
		cmocka_unit_test(capability_zero_sigma_and_single),
		cmocka_unit_test(capability_bad_arguments),
		cmocka_unit_test(chart_limits_and_rule1),
		cmocka_unit_test(chart_rule2_nine_on_one_side),
		cmocka_unit_test(chart_rule2_point_on_centre_breaks),
		cmocka_unit_test(chart_rule2_ends_on_centre),
		cmocka_unit_test(chart_rule3_six_steadily),
		cmocka_unit_test(chart_rule4_fourteen_alternating),
		cmocka_unit_test(chart_zero_sigma),
		cmocka_unit_test(chart_100k_matches_reference),
		cmocka_unit_test(chart_bad_arguments),
		cmocka_unit_test(rule_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
