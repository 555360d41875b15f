/* Tests of the capture CSV reader (rig_capture_read_csv): a round trip
 * through the format `rig daq capture` writes, column selection by unit
 * and by name, the sample rate from the time column or the caller, and
 * every malformed-file error with its file:line:column. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>
#include <rig/error.h>
#include <rig/pcg32.h>

#include "testsupport.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = ts_mkdtemp("analysis-csv");
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	ts_rmtree(dir);
	free(dir);
	return 0;
}

/* Write @p text to a file in the test directory; returns its path. */
static const char *write_file(const char *name, const char *text)
{
	static char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void round_trip(void **state)
{
	struct rig_capture *cap = NULL, *back = NULL;
	struct rig_analysis *a1 = NULL, *a2 = NULL;
	struct rig_pcg32 rng;
	char path[512];
	(void)state;

	rig_pcg32_seed(&rng, 9, 9);
	assert_int_equal(rig_capture_new(20000, 8000, 1, &cap), 0);
	for (size_t i = 0; i < cap->n; i++) {
		double th = 2 * M_PI * 100.0 * (double)i / 20000;
		cap->disp_um[i] = round(10 * (500 + 1000 * cos(th) + rig_pcg32_normal(&rng))) / 10;
		cap->force_mn[i] = cap->disp_um[i] > 0 ? round(2.5 * cap->disp_um[i]) : 0;
	}
	snprintf(path, sizeof(path), "%s/capture.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "time_s,ch0_um,ch1_mN\n");
	for (size_t i = 0; i < cap->n; i++)
		fprintf(f, "%.6f,%.1f,%.0f\n", (double)i / 20000, cap->disp_um[i], cap->force_mn[i]);
	fclose(f);

	assert_int_equal(rig_capture_read_csv(path, NULL, &back), 0);
	assert_int_equal(back->n, cap->n);
	assert_float_equal(back->rate_hz, 20000, 1e-6);
	assert_string_equal(back->disp_name, "ch0_um");
	assert_string_equal(back->force_name, "ch1_mN");
	for (size_t i = 0; i < cap->n; i++) {
		assert_float_equal(back->disp_um[i], cap->disp_um[i], 1e-9);
		assert_float_equal(back->force_mn[i], cap->force_mn[i], 1e-9);
	}
	assert_int_equal(rig_analysis_run(cap, NULL, &a1), 0);
	assert_int_equal(rig_analysis_run(back, NULL, &a2), 0);
	assert_int_equal(a1->count[RIG_STROKE_OK], a2->count[RIG_STROKE_OK]);
	assert_true(a2->count[RIG_STROKE_OK] >= 37);
	assert_float_equal(a1->protrusion_um.mean, a2->protrusion_um.mean, 1e-9);
	rig_analysis_free(a1);
	rig_analysis_free(a2);
	rig_capture_free(back);
	rig_capture_free(cap);
}

static void rate_from_caller(void **state)
{
	struct rig_capture *cap = NULL;
	struct rig_capture_csv_options opt = {.rate_hz = 1000};
	const char *p = write_file("norate.csv", "# rig daq capture\r\nch0_um\r\n1.5\r\n-2\r\n\r\n3e2\r\n");
	(void)state;
	assert_int_equal(rig_capture_read_csv(p, NULL, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "--rate"));
	assert_null(cap);
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), 0);
	assert_int_equal(cap->n, 3);
	assert_float_equal(cap->rate_hz, 1000, 0);
	assert_float_equal(cap->disp_um[2], 300, 0);
	assert_null(cap->force_mn);
	rig_capture_free(cap);

	p = write_file("mismatch.csv", "time_s,ch0_um\n0,1\n0.001,2\n0.002,3\n");
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), 0);
	rig_capture_free(cap);
	opt.rate_hz = 2000;
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "1000 Hz"));

	p = write_file("norate2.csv", "ch0_um\n1\n2\n");
	opt.rate_hz = 1e300;
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "expected a sample rate of"));
	opt.rate_hz = 1e-300;
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_null(cap);
}

static void column_choice(void **state)
{
	struct rig_capture *cap = NULL;
	struct rig_capture_csv_options opt = {0};
	const char *p = write_file("four.csv", "time_s, ch0_um ,ch1_mN,ch2_um,ch3_mN\n"
					       "0,1,2,3,4\n0.5,5,6,7,8\n");
	(void)state;
	assert_int_equal(rig_capture_read_csv(p, NULL, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "several displacement columns (ch0_um, ch2_um)"));
	opt.disp_column = "ch2";
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "several force columns"));
	opt.force_column = "ch3_mN";
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), 0);
	assert_float_equal(cap->disp_um[1], 7, 0);
	assert_float_equal(cap->force_mn[1], 8, 0);
	assert_float_equal(cap->rate_hz, 2, 1e-12);
	assert_string_equal(cap->disp_name, "ch2_um");
	rig_capture_free(cap);
	opt.disp_column = "ch7";
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "no displacement column 'ch7'"));
	opt.disp_column = "ch3";
	assert_int_equal(rig_capture_read_csv(p, &opt, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "both"));
	p = write_file("forceonly.csv", "time_s,ch1_mN\n0,1\n1,2\n");
	assert_int_equal(rig_capture_read_csv(p, NULL, &cap), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "no displacement column (unit um)"));
}

struct bad_case {
	const char *text;
	const char *where;    /* ":line:column:" */
	const char *expected; /* part of the detail */
};

static void malformed_files(void **state)
{
	static const struct bad_case cases[] = {
		{"", ":1:1:", "expected a header line"},
		{"# only a comment\n", ":2:1:", "expected a header line"},
		{"time_s,foo\n0,1\n", ":1:8:", "expected a column name time_s or ch<N>_<unit>"},
		{"time_s,ch0_\n", ":1:8:", "expected a column name"},
		{"time_s,ch0_um,\n", ":1:15:", "found ''"},
		{"time_s,ch0_um,ch0_um\n", ":1:15:", "expected each column once"},
		{"time_s,ch0_um,ch1_mN\n0,1,2\n0.1,1.0,abc\n", ":3:9:",
		 "expected a finite number, found 'abc'"},
		{"time_s,ch0_um,ch1_mN\n0,1,2\n0.1,1.0\n", ":3:8:", "expected 3 fields"},
		{"time_s,ch0_um,ch1_mN\n0,1,2\n0.1,1.0,2.0,3.0\n", ":3:13:", "found more"},
		{"time_s,ch0_um,ch1_mN\n0,1,2\n0.1,nan,2\n", ":3:5:", "found 'nan'"},
		{"time_s,ch0_um,ch1_mN\n0,1,2\n0.1,1e999,2\n", ":3:5:", "found '1e999'"},
		{"time_s,ch0_um\n0,1\n0.1,1\n0.1,1\n", ":4:1:", "expected time_s to increase"},
		{"time_s,ch0_um\n0,1\n-1,1\n", ":3:1:", "found -1 after 0"},
		{"time_s,ch0_um\n0,1\n0.1,1\n0.3,1\n", ":4:1:", "found a step of 0.2 s"},
		{"time_s,ch0_um\n0,1\n1e-310,1\n", ":3:1:", "too small for a double: denormal"},
		{"time_s,ch0_um\n0,1\n1e-300,1\n", ":3:1:", "expected a time step of 1e-09..10000 s"},
		{"time_s,ch0_um\n0,1\n4e-300,1\n8e-300,1\n", ":3:1:", "would be 2.5e+299 Hz"},
		{"time_s,ch0_um\n-1e300,1\n1e300,1\n", ":3:1:", "found 2e+300 s"},
		{"time_s,ch0_um\n0,1\n1e5,1\n", ":3:1:", "expected a time step"},
		{"time_s,ch0_um\n1e15,1\n1.0000000000000001e15,1\n", ":3:1:",
		 "expected timestamps small enough"},
		{"time_s,ch0_um\n1e12,1\n1e12,1\n", ":3:1:", "expected time_s to increase"},
		{"time_s,ch0_um\n0,1\nnan,1\n", ":3:1:", "found 'nan'"},
		{"time_s,ch0_um\n0,1\n-nan,1\n", ":3:1:", "found '-nan'"},
		{"time_s,ch0_um,ch1_mN\n", ":2:1:", "expected at least 2 rows"},
		{"time_s,ch0_um\n0,1\n", ":3:1:", "expected at least 2 rows of samples, found 1"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig_capture *cap = NULL;
		char name[32], want[600];
		snprintf(name, sizeof(name), "bad%zu.csv", i);
		const char *p = write_file(name, cases[i].text);
		snprintf(want, sizeof(want), "%s%s", p, cases[i].where);
		assert_int_equal(rig_capture_read_csv(p, NULL, &cap), RIG_ERR_FORMAT);
		assert_null(cap);
		if (!strstr(rig_last_error(), want) || !strstr(rig_last_error(), cases[i].expected))
			fail_msg("case %zu: got '%s'", i, rig_last_error());
	}
}

static void missing_file(void **state)
{
	struct rig_capture *cap = NULL;
	char path[512];
	(void)state;
	snprintf(path, sizeof(path), "%s/absent.csv", dir);
	assert_int_equal(rig_capture_read_csv(path, NULL, &cap), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "absent.csv: cannot open"));
	assert_int_equal(rig_capture_read_csv(dir, NULL, &cap), RIG_ERR_IO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(rate_from_caller),
		cmocka_unit_test(column_choice),
		cmocka_unit_test(malformed_files),
		cmocka_unit_test(missing_file),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
