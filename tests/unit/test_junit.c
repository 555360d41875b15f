/* Tests of the JUnit XML report (rig/lib/records/junit.c, docs/reports.md):
 * records built in memory with measurements of every outcome, a run that
 * ended ERROR in identify with no measurement, a step and a run worse than
 * their cases (a recovered run), a run with no step, text that is not
 * valid UTF-8 — each written with rigi_output_junit and then read by a
 * real consumer, Debian's python3-junitparser (tests/records/check_junit.py),
 * whose counts and properties must match the record; verdicts that did not
 * decide their step (as found) are shown but not counted. Also the exact shape
 * of a <failure>, atomic replacement, and the errors of a bad call. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <rig/record.h>
#include <rig/report.h>
#include <rig/rig.h>

#include "records/output.h"
#include "testsupport.h"

#define CHECKER RIG_SOURCE_DIR "/tests/records/check_junit.py"
#define PUBLIC_KEY "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

/* ---- building records ---- */

static struct rig_record *new_record(const char *serial)
{
	struct rig_record *rec = NULL;
	assert_int_equal(rig_record_new(&rec), 0);
	snprintf(rec->suite_name, sizeof(rec->suite_name), "calibrate");
	snprintf(rec->suite_version, sizeof(rec->suite_version), "1.0");
	snprintf(rec->suite_sha256, sizeof(rec->suite_sha256), "%064d", 7);
	snprintf(rec->station.id, sizeof(rec->station.id), "SIM-01");
	snprintf(rec->station.name, sizeof(rec->station.name), "simulated station");
	snprintf(rec->station.host, sizeof(rec->station.host), "line3-pc");
	rec->station.nest = 1;
	rec->station.simulated = 1;
	snprintf(rec->unit.serial, sizeof(rec->unit.serial), "%s", serial);
	if (*serial) {
		snprintf(rec->unit.model, sizeof(rec->unit.model), "MN1");
		snprintf(rec->unit.hardware, sizeof(rec->unit.hardware), "1.0");
		snprintf(rec->unit.firmware, sizeof(rec->unit.firmware), "1.2.0");
	}
	snprintf(rec->operator_name, sizeof(rec->operator_name), "Zoë Quality");
	snprintf(rec->software_commit, sizeof(rec->software_commit), "v0.8-12-gabcdef0");
	return rec;
}

/* A protrusion at 1000 um judged against 950..1050 um (guarded, f = 1);
 * @p outcome ABORTED: judged, then stopped by the operator. */
static void add(struct rig_record_step *st, const char *name, double value, double u,
		int judged, int aborted)
{
	struct rig_tolerance tol = {.abs = 50, .guard_factor = 1};
	struct rig_limit l;
	struct rig_measurement m;
	rig_measurement_init(&m, name, "protrusion", "um", 1000);
	m.value = value;
	m.u_expanded = u;
	m.n = 87;
	assert_int_equal(rig_limit_from_tolerance(&tol, 1000, "um", &l), 0);
	rig_measurement_judge(&m, judged ? &l : NULL);
	if (aborted) {
		m.outcome = RIG_OUTCOME_ABORTED;
		snprintf(m.reason, sizeof(m.reason), "operator pressed stop during the capture");
	}
	assert_int_equal(rig_record_step_add(st, &m), 0);
}

/* identify PASS; as_left with one measurement of each outcome and one
 * reported only; the run ends ERROR (a measurement not taken). */
static struct rig_record *every_outcome(void)
{
	struct rig_record *rec = new_record("MN1-000123");
	struct rig_record_step *st;
	snprintf(rec->signer_public_key, sizeof(rec->signer_public_key), PUBLIC_KEY);
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS, "MN1-000123, firmware 1.2.0");
	assert_int_equal(rig_record_step_begin(rec, "as_left", "as_left", &st), 0);
	add(st, "protrusion@1000um/5400spm", 1003.25, 5, 1, 0);
	add(st, "protrusion@1000um/7200spm", 1070.1, 1.6, 1, 0);
	add(st, "protrusion@1000um/9000spm", 1048, 5, 1, 0);
	add(st, "protrusion@1250um/5400spm", NAN, NAN, 1, 0);
	add(st, "protrusion@1250um/7200spm", 1001, 5, 1, 1);
	add(st, "penetration@1000um/5400spm", 640, 12, 0, 0);
	assert_int_equal(st->measurements[0].outcome, RIG_OUTCOME_PASS);
	assert_int_equal(st->measurements[1].outcome, RIG_OUTCOME_FAIL);
	assert_int_equal(st->measurements[2].outcome, RIG_OUTCOME_INDETERMINATE);
	assert_int_equal(st->measurements[3].outcome, RIG_OUTCOME_ERROR);
	rig_record_step_end(st, RIG_OUTCOME_ERROR, "1 of 5 setpoints not measured");
	rig_record_finish(rec, RIG_OUTCOME_ERROR, "a measurement could not be taken");
	assert_int_equal(rec->outcome, RIG_OUTCOME_ERROR);
	return rec;
}

/* ---- writing and checking ---- */

struct dir {
	char *path;
	char file[1024];
};

static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));
	d->path = ts_mkdtemp("junit");
	snprintf(d->file, sizeof(d->file), "%s/junit.xml", d->path);
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct dir *d = *state;
	ts_rmtree(d->path);
	free(d->path);
	free(d);
	return 0;
}

static void write_junit(const struct rig_record *rec, const char *path)
{
	struct rig_report_input in = {.record = rec, .run_dir = "."};
	int ret = rigi_output_junit.write(&in, path);
	if (ret != 0)
		fail_msg("junit write: %s: %s", rig_errname(ret), rig_last_error());
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	char *buf = calloc(1, 1 << 20);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* Run check_junit.py on @p path with @p args; its exit status. */
static int run_checker(const char *path, const char *args)
{
	char cmd[8192];
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' '%s' %s", CHECKER, path, args);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		fail_msg("could not run: %s", cmd);
	return WEXITSTATUS(st);
}

static void expect_checker(const char *path, const char *args)
{
	int st = run_checker(path, args);
	if (st != 0) {
		char *xml = slurp(path);
		fprintf(stderr, "%s\n", xml);
		free(xml);
		fail_msg("check_junit.py %s: exit status %d (1: the file differs from the record, "
			 "see above; 2: junitparser cannot read it; 3: python3-junitparser is not "
			 "installed: apt install python3-junitparser; 127: no /usr/bin/python3)",
			 args, st);
	}
}

/* ---- the tests ---- */

static void module_fields(void **state)
{
	(void)state;
	assert_string_equal(rigi_output_junit.id, "junit");
	assert_string_equal(rigi_output_junit.file_name, "junit.xml");
	assert_non_null(rigi_output_junit.description);
	assert_non_null(rigi_output_junit.write);
}

static void measurements_of_every_outcome(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = every_outcome();
	char args[4096];
	write_junit(rec, d->file);

	/* 5 judged measurements + identify (no measurement); the reported-only
	 * penetration is no case; the run's ERROR is the ERROR measurement's. */
	snprintf(args, sizeof(args),
		 "--tests 6 --failures 2 --errors 1 --skipped 1 --suite 'calibrate MN1-000123' "
		 "--case steps identify PASS "
		 "--case as_left protrusion@1000um/5400spm PASS "
		 "--case as_left protrusion@1000um/7200spm FAIL "
		 "--case as_left protrusion@1000um/9000spm INDETERMINATE "
		 "--case as_left protrusion@1250um/5400spm ERROR "
		 "--case as_left protrusion@1250um/7200spm ABORTED "
		 "--contains as_left protrusion@1000um/7200spm 'beyond the high tolerance limit' "
		 "--contains as_left protrusion@1000um/9000spm 'conformity not proven' "
		 "--contains as_left protrusion@1250um/5400spm 'value not measured, limit "
		 "950..1050 um' "
		 "--contains as_left protrusion@1250um/7200spm 'operator pressed stop' "
		 "--property unit.serial MN1-000123 --property unit.model MN1 "
		 "--property unit.firmware 1.2.0 --property station.id SIM-01 "
		 "--property station.nest 1 --property suite.name calibrate "
		 "--property suite.version 1.0 --property suite.sha256 %064d "
		 "--property run_id '%s' --property operator 'Zoë Quality' "
		 "--property software.version '%s' --property software.commit v0.8-12-gabcdef0 "
		 "--property outcome ERROR --property reason 'a measurement could not be taken' "
		 "--property error.name - --property signature.public_key " PUBLIC_KEY,
		 7, rec->run_id, rec->software_version);
	expect_checker(d->file, args);
	/* The checker does check: wrong counts are a mismatch (exit 1). */
	assert_int_equal(run_checker(d->file, "--tests 6 --failures 1 --errors 1 --skipped 1"
					      " >/dev/null 2>&1"),
			 1);
	assert_int_equal(run_checker(d->file, "--tests 6 --failures 2 --errors 1 --skipped 1 "
					      "--property outcome PASS >/dev/null 2>&1"),
			 1);

	/* The shape, exactly. */
	char *xml = slurp(d->file);
	assert_memory_equal(xml, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites", 50);
	assert_non_null(strstr(xml, "<testsuite name=\"calibrate MN1-000123\" tests=\"6\" "
				    "failures=\"2\" errors=\"1\" skipped=\"1\" timestamp=\""));
	assert_non_null(strstr(xml, "hostname=\"line3-pc\">"));
	assert_non_null(strstr(xml, "<property name=\"unit.serial\" value=\"MN1-000123\"/>"));
	assert_non_null(strstr(xml,
			       "<testcase classname=\"as_left\" name=\"protrusion@1000um/7200spm\" "
			       "time=\""));
	assert_non_null(strstr(xml, "<failure message=\"value 1070.1 um, limit 950..1050 um, U "
				    "1.6 um, error +70.1 um\" type=\"FAIL\">error +70.1 um: value "
				    "1070.1 um is beyond the high tolerance limit 1050 um by more "
				    "than the guard band</failure>"));
	assert_non_null(strstr(xml, "type=\"INDETERMINATE\">"));
	assert_non_null(strstr(xml, "<error message=\"value not measured, limit 950..1050 um\" "
				    "type=\"ERROR\">no valid value or uncertainty: not judged"
				    "</error>"));
	assert_non_null(strstr(xml, "<skipped message=\"value 1001 um, limit 950..1050 um, U 5 "
				    "um, error +1 um\">operator pressed stop during the capture"
				    "</skipped>"));
	assert_null(strstr(xml, "penetration@"));
	assert_null(strstr(xml, "classname=\"run\""));
	free(xml);
	rig_record_free(rec);
}

/* The pen never answered: identify ERROR, no serial, no measurement. The
 * report still says why. */
static void error_in_identify(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = new_record("");
	struct rig_record_step *st;
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_ERROR,
			    "no answer from the pen in nest 1 within 500 ms: check its cable");
	rig_record_finish(rec, RIG_OUTCOME_ERROR, "identify failed");
	rec->error = RIG_ERR_TIMEOUT;
	write_junit(rec, d->file);
	expect_checker(d->file,
		       "--tests 1 --failures 0 --errors 1 --skipped 0 "
		       "--suite 'calibrate (unidentified)' "
		       "--case steps identify ERROR "
		       "--contains steps identify 'no answer from the pen in nest 1' "
		       "--property unit.serial '' --property outcome ERROR "
		       "--property reason 'identify failed' --property error.name RIG_ERR_TIMEOUT "
		       "--property signature.public_key -");
	rig_record_free(rec);
}

/* A recovered run: every step it finished passed, one step was stopped
 * (ABORTED although its one measurement passed), and the run is ERROR
 * "run did not finish": a "steps" case and a "run" case carry them. */
static void recovered_run(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = new_record("MN1-000124");
	struct rig_record_step *st;
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS, "MN1-000124");
	assert_int_equal(rig_record_step_begin(rec, "as_left", "as_left", &st), 0);
	add(st, "protrusion@1000um/5400spm", 1001, 5, 1, 0);
	add(st, "protrusion@1000um/7200spm", 999, 5, 1, 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS, "2 of 2 setpoints pass");
	assert_int_equal(rig_record_step_begin(rec, "rate", "rate", &st), 0);
	add(st, "rate@5400spm", 1000.5, 5, 1, 0);
	rig_record_step_end(st, RIG_OUTCOME_ABORTED, "safety interlock opened");
	rig_record_finish(rec, RIG_OUTCOME_ERROR,
			  "run did not finish: last event step_end at 2026-11-25T17:31:46.123Z "
			  "in step rate");
	rec->error = RIG_ERR_INTERRUPTED;
	write_junit(rec, d->file);
	expect_checker(d->file,
		       "--tests 6 --failures 0 --errors 1 --skipped 1 "
		       "--case steps identify PASS "
		       "--case as_left protrusion@1000um/5400spm PASS "
		       "--case as_left protrusion@1000um/7200spm PASS "
		       "--case rate rate@5400spm PASS "
		       "--case steps rate ABORTED --contains steps rate 'safety interlock' "
		       "--case run run ERROR --contains run run 'run did not finish' "
		       "--contains run run RIG_ERR_INTERRUPTED "
		       "--property error.name RIG_ERR_INTERRUPTED");
	/* as_left has no step case: its outcome is its measurements'. */
	char *xml = slurp(d->file);
	assert_null(strstr(xml, "classname=\"steps\" name=\"as_left\""));
	free(xml);
	rig_record_free(rec);
}

/* As found, verdicts that miss the as-found limits only mark the unit
 * drifted and the step passes (docs/calibration.md): they are shown, not
 * counted, so a calibrated unit that passed is green in CI. */
static void as_found_verdicts_do_not_decide(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = new_record("MN1-000126");
	struct rig_record_step *st;
	assert_int_equal(rig_record_step_begin(rec, "as_found", "as_found", &st), 0);
	add(st, "protrusion@1000um/5400spm", 1001, 5, 1, 0);
	add(st, "protrusion@1000um/7200spm", 1150, 5, 1, 0);
	add(st, "protrusion@1000um/9000spm", 1048, 5, 1, 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS,
			    "DRIFTED beyond the as-found limits: worst depth error +150 um");
	assert_int_equal(rig_record_step_begin(rec, "as_left", "as_left", &st), 0);
	add(st, "protrusion@1000um/5400spm", 1000.5, 5, 1, 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS, "worst depth error +0.5 um");
	rig_record_finish(rec, RIG_OUTCOME_PASS, "every step passed");
	write_junit(rec, d->file);
	expect_checker(d->file,
		       "--tests 4 --failures 0 --errors 0 --skipped 0 "
		       "--case as_found protrusion@1000um/7200spm PASS "
		       "--case as_found protrusion@1000um/9000spm PASS "
		       "--case as_left protrusion@1000um/5400spm PASS "
		       "--contains as_found protrusion@1000um/7200spm 'FAIL, not counted: step "
		       "as_found ended PASS (DRIFTED beyond the as-found limits' "
		       "--contains as_found protrusion@1000um/7200spm 'value 1150 um, limit "
		       "950..1050 um, U 5 um, error +150 um' "
		       "--contains as_found protrusion@1000um/9000spm 'INDETERMINATE, not counted' "
		       "--contains as_left protrusion@1000um/5400spm 'PASS: value 1000.5 um' "
		       "--property outcome PASS");
	rig_record_free(rec);
}

/* No step ran at all: one "run" case. */
static void no_step(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = new_record("");
	rig_record_finish(rec, RIG_OUTCOME_ERROR, "the fixture names no nest 3");
	rec->error = RIG_ERR_ARG;
	write_junit(rec, d->file);
	expect_checker(d->file, "--tests 1 --failures 0 --errors 1 --skipped 0 "
				"--case run run ERROR --contains run run 'no nest 3' "
				"--property error.name RIG_ERR_ARG");
	rig_record_free(rec);
}

/* A pen may report anything: bytes that are not UTF-8 and control
 * characters XML cannot carry become '?', valid UTF-8 stays. */
static void text_not_utf8(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = new_record("MN1-000125");
	struct rig_record_step *st;
	snprintf(rec->operator_name, sizeof(rec->operator_name), "Zo\xc3 Q\x01");
	snprintf(rec->unit.model, sizeof(rec->unit.model), "M\xffN<&>\"");
	snprintf(rec->station.name, sizeof(rec->station.name), "Prüfplatz 3 — Linie 2");
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_FAIL, "pen says \xed\xa0\x80 and \x1b[0m");
	rig_record_finish(rec, RIG_OUTCOME_FAIL, "bad text \xc0\xaf");
	write_junit(rec, d->file);
	expect_checker(d->file, "--tests 1 --failures 1 --errors 0 --skipped 0 "
				"--case steps identify FAIL "
				"--contains steps identify 'pen says ?" "?" "? and ?[0m' "
				"--property operator 'Zo? Q?' --property unit.model 'M?N<&>\"' "
				"--property station.name 'Prüfplatz 3 — Linie 2' "
				"--property reason 'bad text ?" "?'");
	rig_record_free(rec);
}

static int count_tmp(const char *dir)
{
	DIR *dd = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(dd);
	while ((e = readdir(dd)))
		n += strstr(e->d_name, ".tmp-") != NULL;
	closedir(dd);
	return n;
}

/* Written again over an old file: replaced whole, no temporary left. */
static void replaces_atomically(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = every_outcome();
	FILE *f = fopen(d->file, "w");
	assert_non_null(f);
	fputs("old content", f);
	fclose(f);
	write_junit(rec, d->file);
	char *xml = slurp(d->file);
	assert_null(strstr(xml, "old content"));
	assert_non_null(strstr(xml, "</testsuites>\n"));
	free(xml);
	assert_int_equal(count_tmp(d->path), 0);
	rig_record_free(rec);
}

static void bad_calls(void **state)
{
	struct dir *d = *state;
	struct rig_record *rec = every_outcome();
	struct rig_report_input in = {.record = rec, .run_dir = d->path}, none = {0};
	char path[1100];
	assert_int_equal(rigi_output_junit.write(NULL, d->file), RIG_ERR_ARG);
	assert_int_equal(rigi_output_junit.write(&none, d->file), RIG_ERR_ARG);
	assert_int_equal(rigi_output_junit.write(&in, NULL), RIG_ERR_ARG);
	assert_int_equal(rigi_output_junit.write(&in, ""), RIG_ERR_ARG);
	snprintf(path, sizeof(path), "%s/missing/junit.xml", d->path);
	int ret = rigi_output_junit.write(&in, path);
	assert_true(ret < 0);
	assert_non_null(strstr(rig_last_error(), path));
	assert_non_null(strstr(rig_last_error(), "junit report of run"));
	rig_record_free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(module_fields),
		cmocka_unit_test_setup_teardown(measurements_of_every_outcome, setup, teardown),
		cmocka_unit_test_setup_teardown(error_in_identify, setup, teardown),
		cmocka_unit_test_setup_teardown(recovered_run, setup, teardown),
		cmocka_unit_test_setup_teardown(as_found_verdicts_do_not_decide, setup, teardown),
		cmocka_unit_test_setup_teardown(no_step, setup, teardown),
		cmocka_unit_test_setup_teardown(text_not_utf8, setup, teardown),
		cmocka_unit_test_setup_teardown(replaces_atomically, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_calls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
