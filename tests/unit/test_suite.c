/* Tests of suite files: the shipped calibrate and verify suites, every step
 * type and parameter form (tests/data/suite_min.yaml), limit defaults and
 * overrides, and every error path with its exact FILE:LINE:COL
 * (tests/data/bad_suite_*). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/suite.h>

#include "exec/exec.h"
#include "testsupport.h"

#define DATA RIG_SOURCE_DIR "/tests/data/"

static void assert_tolerance(const struct rig_tolerance *t, double abs, double rel,
			     enum rig_guard guard, double factor)
{
	assert_true(t->abs == abs);
	assert_true(t->rel > rel - 1e-12 && t->rel < rel + 1e-12);
	assert_int_equal(t->guard, guard);
	assert_true(t->guard_factor == factor);
}

static void calibrate_suite(void **state)
{
	static const enum rig_step_type order[] = {
		RIG_STEP_IDENTIFY,   RIG_STEP_READINESS, RIG_STEP_AS_FOUND, RIG_STEP_NEEDLE_COUNT,
		RIG_STEP_DEPTH_SWEEP, RIG_STEP_RUN_IN,    RIG_STEP_RATE_SWEEP,
		RIG_STEP_FIT,        RIG_STEP_WRITE_TABLE, RIG_STEP_READ_BACK,
		RIG_STEP_AS_LEFT};
	struct rig_suite *s = NULL;
	(void)state;
	assert_int_equal(rig_suite_load(RIG_SOURCE_DIR "/fixtures/suites/calibrate.yaml", &s), 0);
	assert_string_equal(s->name, "calibrate");
	assert_string_equal(s->version, "1.0");
	assert_non_null(s->description);
	assert_int_equal(s->n_steps, 11);
	for (size_t i = 0; i < 11; i++) {
		assert_int_equal(s->steps[i].type, order[i]);
		assert_string_equal(s->steps[i].name, rig_step_type_name(order[i]));
	}
	const struct rig_step_measure *af = &s->steps[2].u.measure;
	assert_true(af->user_setpoints);
	assert_true(af->capture_s == 0.5);
	assert_int_equal(af->min_strokes, 20);
	assert_tolerance(&af->depth, 150, 0, RIG_GUARD_GUARDED, 1);
	assert_tolerance(&af->rate, 0, 0.10, RIG_GUARD_GUARDED, 1);
	const struct rig_step_needle_count *nc = &s->steps[3].u.needle_count;
	assert_int_equal(nc->needles, 12);
	assert_int_equal(nc->probe_code, 1200);
	assert_int_equal(nc->probe_duty, 400);
	assert_int_equal(nc->min_duty, 100);
	assert_int_equal(nc->max_duty, 300);
	assert_int_equal(nc->above_dead_band, 4);
	assert_int_equal(nc->passes, 3);
	assert_true(nc->past_puncture_um == 40 && nc->max_s == 20 &&
		    nc->max_approach_um_per_ms == 5);
	const struct rig_step_depth_sweep *ds = &s->steps[4].u.depth_sweep;
	assert_int_equal(ds->n_codes, 40);
	assert_int_equal(ds->codes[0], 100);
	assert_int_equal(ds->codes[39], 4000);
	assert_true(ds->approach_up);
	assert_int_equal(ds->duty, 600);
	assert_int_equal(ds->stop_above_um, 2800);
	const struct rig_step_run_in *ri = &s->steps[5].u.run_in;
	assert_int_equal(ri->code, 0);
	assert_int_equal(ri->duty, 1000);
	assert_true(ri->capture_s == 2 && ri->window_s == 30 && ri->max_slope_pct_per_min == 0.25);
	assert_true(ri->min_s == 30 && ri->max_s == 600);
	const struct rig_step_rate_sweep *rs = &s->steps[6].u.rate_sweep;
	assert_int_equal(rs->n_duties, 17);
	assert_int_equal(rs->duties[16], 1000);
	assert_int_equal(rs->code, 0);
	assert_int_equal(s->steps[7].u.fit.max_degree, 3);
	assert_true(s->steps[7].u.fit.monotone);
	const struct rig_step_measure *al = &s->steps[10].u.measure;
	assert_tolerance(&al->depth, 50, 0.05, RIG_GUARD_GUARDED, 1);
	assert_tolerance(&al->rate, 0, 0.03, RIG_GUARD_GUARDED, 1);
	rig_suite_free(s);
	rig_suite_free(NULL);
}

static void verify_suite_writes_nothing(void **state)
{
	struct rig_suite *s = NULL;
	(void)state;
	assert_int_equal(rig_suite_load(RIG_SOURCE_DIR "/fixtures/suites/verify.yaml", &s), 0);
	assert_int_equal(s->n_steps, 5);
	for (size_t i = 0; i < s->n_steps; i++) {
		assert_int_not_equal(s->steps[i].type, RIG_STEP_WRITE_TABLE);
		assert_int_not_equal(s->steps[i].type, RIG_STEP_DEPTH_SWEEP);
		assert_int_not_equal(s->steps[i].type, RIG_STEP_FIT);
	}
	assert_int_equal(s->steps[2].type, RIG_STEP_AS_FOUND);
	assert_int_equal(s->steps[3].type, RIG_STEP_NEEDLE_COUNT);
	assert_int_equal(s->steps[4].type, RIG_STEP_AS_LEFT);
	rig_suite_free(s);
}

static void every_form_and_override(void **state)
{
	struct rig_suite *s = NULL;
	(void)state;
	assert_int_equal(rig_suite_load(DATA "suite_min.yaml", &s), 0);
	assert_string_equal(s->version, "2.1");
	assert_null(s->description);
	assert_int_equal(s->steps[1].line, 11);
	assert_int_equal(s->steps[1].column, 5);
	assert_false(s->steps[1].u.readiness.zero_sensors);
	assert_true(s->steps[1].u.readiness.check_phantom);
	const struct rig_step_measure *af = &s->steps[2].u.measure;
	assert_false(af->user_setpoints);
	assert_int_equal(af->n_depths, 3);
	assert_int_equal(af->depths_um[2], 1500);
	assert_int_equal(af->n_rates, 2);
	assert_int_equal(af->rates_spm[1], 6000);
	assert_true(af->grid);
	assert_int_equal(af->min_strokes, 10);
	assert_tolerance(&af->depth, 150, 0, RIG_GUARD_GUARDED, 1); /* built-in default */
	const struct rig_step_depth_sweep *ds = &s->steps[3].u.depth_sweep;
	assert_int_equal(ds->n_codes, 4);
	assert_int_equal(ds->codes[3], 800);
	assert_false(ds->approach_up);
	assert_true(ds->capture_s == 0.25);
	assert_int_equal(ds->settle_ms, 100);
	assert_int_equal(ds->stop_above_um, 0);
	assert_string_equal(s->steps[4].name, "rate-slow");
	assert_int_equal(s->steps[4].u.rate_sweep.n_duties, 3);
	assert_int_equal(s->steps[4].u.rate_sweep.duties[2], 900);
	/* The suite's as-left depth limit, and the step's own rate limit. */
	const struct rig_step_measure *al = &s->steps[8].u.measure;
	assert_tolerance(&al->depth, 40, 0.04, RIG_GUARD_GUARDED_ACCEPT, 1.5);
	assert_tolerance(&al->rate, 90, 0, RIG_GUARD_GUARDED, 1);
	assert_tolerance(&s->limits.as_left_rate, 0, 0.03, RIG_GUARD_GUARDED, 1);
	rig_suite_free(s);
}

static void step_type_names(void **state)
{
	(void)state;
	for (int t = RIG_STEP_IDENTIFY; t <= RIG_STEP_NEEDLE_COUNT; t++)
		assert_int_equal(rig_step_type_parse(rig_step_type_name((enum rig_step_type)t)), t);
	assert_null(rig_step_type_name((enum rig_step_type)99));
	assert_int_equal(rig_step_type_parse("calibrate"), -1);
}

struct bad_case {
	const char *file;
	unsigned line, column;
	const char *says;
};

static const struct bad_case bad_suites[] = {
	{"bad_suite_step_type.yaml", 24, 11,
	 "'type': expected one of identify, readiness, as_found, depth_sweep, rate_sweep, fit, "
	 "write_table, read_back, as_left, run_in, needle_count, found 'fitting'"},
	{"bad_suite_step_key.yaml", 16, 5, "unknown key 'duty' in 'steps[2] (as_found)'"},
	{"bad_suite_missing_key.yaml", 16, 5,
	 "expected key 'duty' in 'steps[3] (depth_sweep)', found none"},
	{"bad_suite_wrong_type.yaml", 15, 18,
	 "'min_strokes': expected an integer from 1 to 100000, found 'many'"},
	{"bad_suite_range.yaml", 25, 17, "'max_degree': expected an integer from 1 to 5, found '7'"},
	{"bad_suite_not_increasing.yaml", 12, 39,
	 "'depth_um[2]': expected a value above the previous one (1500), found 1000"},
	{"bad_suite_order.yaml", 24, 5, "expected a 'fit' step before 'write_table'"},
	{"bad_suite_no_as_left.yaml", 26, 5, "expected an 'as_left' step after 'write_table'"},
	{"bad_suite_first_step.yaml", 8, 5, "expected 'identify' as the first step"},
	{"bad_suite_no_readiness.yaml", 9, 5, "expected a 'readiness' step before 'as_found'"},
	{"bad_suite_tolerance.yaml", 31, 13,
	 "'rate': expected 'abs_spm' or 'rel_pct' greater than 0, found neither"},
	{"bad_suite_guard.yaml", 6, 44, "'guard': expected one of guarded, guarded-accept, found 'simple'"},
	{"bad_suite_monotone.yaml", 26, 15, "'monotone': expected true"},
	{"bad_suite_top_key.yaml", 4, 1, "unknown key 'author' in the top level"},
	{"bad_suite_sweep_range.yaml", 22, 13, "'duties': expected 'to' above 'from'"},
	{"bad_suite_setpoints.yaml", 29, 16, "'setpoints': expected user or {depth_um"},
	{"bad_suite_duplicate_name.yaml", 28, 5, "found 'read_back' twice"},
	{"bad_suite_bool.yaml", 10, 19, "'zero_sensors': expected true or false, found 'yes'"},
	{"bad_suite_no_steps.yaml", 2, 1, "expected key 'steps' in the top level, found none"},
};

static void every_error_names_file_line_column(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_suites) / sizeof(bad_suites[0]); i++) {
		const struct bad_case *c = &bad_suites[i];
		struct rig_suite *s = (struct rig_suite *)1;
		char path[512], prefix[600];
		snprintf(path, sizeof(path), DATA "%s", c->file);
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", path, c->line, c->column);
		rig_clear_error();
		int ret = rig_suite_load(path, &s);
		if (ret != RIG_ERR_FORMAT || strncmp(rig_last_error(), prefix, strlen(prefix)) != 0 ||
		    !strstr(rig_last_error(), c->says))
			fail_msg("%s: got %s '%s', expected '%s...%s'", c->file, rig_errname(ret),
				 rig_last_error(), prefix, c->says);
		assert_null(s);
	}
}

static void suites_do_not_expand_variables(void **state)
{
	char *dir = ts_mkdtemp("suite");
	char path[512];
	struct rig_suite *s = NULL;
	(void)state;
	snprintf(path, sizeof(path), "%s/s.yaml", dir);
	FILE *f = fopen(path, "w");
	fputs("name: ${HOME}\nversion: '1'\nsteps:\n  - type: identify\n", f);
	fclose(f);
	assert_int_equal(rig_suite_load(path, &s), 0);
	assert_string_equal(s->name, "${HOME}");
	rig_suite_free(s);
	ts_rmtree(dir);
	free(dir);
}

/* The middle of an even count is the lower middle (docs/files.md "Steps"). */
static void middle_setpoint_is_lower_middle(void **state)
{
	struct rig_dut_identity id;
	(void)state;
	memset(&id, 0, sizeof(id));
	assert_int_equal(rigi_middle_index(1), 0);
	assert_int_equal(rigi_middle_index(3), 1);
	assert_int_equal(rigi_middle_index(4), 1);
	assert_int_equal(rigi_middle_index(8), 3);
	id.depth_min_um = 200;
	id.depth_max_um = 800;
	id.depth_step_um = 200; /* 200 400 600 800 */
	assert_int_equal(rigi_middle_depth(&id), 400);
	id.depth_max_um = 1000; /* 200 .. 1000: five */
	assert_int_equal(rigi_middle_depth(&id), 600);
	id.depth_max_um = 900; /* 200 400 600 800 900 */
	assert_int_equal(rigi_middle_depth(&id), 600);
	id.depth_max_um = 700; /* 200 400 600 700 */
	assert_int_equal(rigi_middle_depth(&id), 400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(calibrate_suite),
		cmocka_unit_test(verify_suite_writes_nothing),
		cmocka_unit_test(every_form_and_override),
		cmocka_unit_test(step_type_names),
		cmocka_unit_test(every_error_names_file_line_column),
		cmocka_unit_test(suites_do_not_expand_variables),
		cmocka_unit_test(middle_setpoint_is_lower_middle),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
