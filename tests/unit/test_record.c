/* Tests of run records: run ids and times, a full record written
 * atomically and read back byte for byte, the overall outcome never better
 * than its steps, strict reading (schema, unknown fields, a table edited
 * by hand), and crash safety: a write that fails part-way (file size limit)
 * and a process killed mid-write both leave the previous record intact. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rig/record.h>
#include <rig/rig.h>

#include "records/records.h"
#include "testsupport.h"

static void run_ids_sort_by_time(void **state)
{
	char a[RIG_RUN_ID_MAX], b[RIG_RUN_ID_MAX], c[RIG_RUN_ID_MAX];
	(void)state;
	/* 2026-11-25T17:31:46.123Z */
	assert_int_equal(rig_run_id_make(1795627906123LL, a, sizeof(a)), 0);
	assert_int_equal(strlen(a), 27);
	assert_memory_equal(a, "20261125T173146.123Z-", 21);
	assert_int_equal(strspn(a + 21, "0123456789abcdef"), 6);
	assert_int_equal(rig_run_id_make(1795627906124LL, b, sizeof(b)), 0);
	assert_true(strcmp(a, b) < 0);
	assert_int_equal(rig_run_id_make(1795627906123LL, c, sizeof(c)), 0);
	assert_memory_equal(a, c, 21);
	assert_int_equal(rig_run_id_make(1795627906123LL, c, 10), RIG_ERR_RANGE);
}

static void utc_times(void **state)
{
	char buf[32];
	int64_t ms = 0;
	(void)state;
	assert_int_equal(rig_time_format_utc(1795627906123LL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2026-11-25T17:31:46.123Z");
	assert_int_equal(rig_time_parse_utc(buf, &ms), 0);
	assert_true(ms == 1795627906123LL);
	assert_int_equal(rig_time_parse_utc("2024-02-29T23:59:59.999Z", &ms), 0);
	assert_int_equal(rig_time_format_utc(ms, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2024-02-29T23:59:59.999Z");
	assert_int_equal(rig_time_parse_utc("2026-02-29T00:00:00.000Z", &ms), RIG_ERR_FORMAT);
	assert_int_equal(rig_time_parse_utc("2026-01-01T24:00:00.000Z", &ms), RIG_ERR_FORMAT);
	assert_int_equal(rig_time_parse_utc("2026-01-01T00:00:00Z", &ms), RIG_ERR_FORMAT);
	assert_int_equal(rig_time_parse_utc("2026-01-01T00:00:00.000Zx", &ms), RIG_ERR_FORMAT);
	assert_int_equal(rig_time_format_utc(-1, buf, sizeof(buf)), RIG_ERR_RANGE);
	assert_true(rig_time_now_ms() > 1700000000000LL);
}

static void add_measurement(struct rig_record_step *st, const char *name, double value,
			    double u, int judged)
{
	struct rig_tolerance tol = {.abs = 50, .rel = 0.05, .guard_factor = 1};
	struct rig_limit l;
	struct rig_measurement m;
	rig_measurement_init(&m, name, "protrusion", "um", 1000);
	m.value = value;
	m.u_expanded = u;
	m.n = 87;
	if (value == 1003.25) { /* the first: its U itemised */
		rig_measurement_add_u(&m, "repeatability", 0.6);
		rig_measurement_add_u(&m, "sensor_calibration", 0.5);
	}
	assert_int_equal(rig_limit_from_tolerance(&tol, 1000, "um", &l), 0);
	rig_measurement_judge(&m, judged ? &l : NULL);
	assert_int_equal(rig_record_step_add(st, &m), 0);
}

/* A record with every part filled: identity, steps, measurements of each
 * kind (PASS, FAIL, not judged, ERROR), a signed table, safe state. */
static struct rig_record *full_record(void)
{
	struct rig_record *rec = NULL;
	struct rig_record_step *st;
	struct rig_cal_table t = {.serial = "MN1-000123", .table_seq = 7, .created = 1795627906,
				  .n_depth = 3, .n_rate = 2};
	uint8_t key[RIG_KEY_BYTES] = {1, 2, 3}, blob[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 0;

	assert_int_equal(rig_record_new(&rec), 0);
	snprintf(rec->suite_name, sizeof(rec->suite_name), "calibrate");
	snprintf(rec->suite_version, sizeof(rec->suite_version), "1.0");
	snprintf(rec->station.id, sizeof(rec->station.id), "SIM-01");
	rec->station.nest = 1;
	snprintf(rec->unit.serial, sizeof(rec->unit.serial), "MN1-000123");
	snprintf(rec->unit.model, sizeof(rec->unit.model), "MN1");
	snprintf(rec->unit.hardware, sizeof(rec->unit.hardware), "1.0");
	snprintf(rec->unit.firmware, sizeof(rec->unit.firmware), "1.2.0");
	snprintf(rec->operator_name, sizeof(rec->operator_name), "Zoë Quality");
	rec->station.simulated = 1;
	rec->station.seed = 18446744073709551615ULL;
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_PASS, "MN1-000123, firmware 1.2.0");
	assert_int_equal(rig_record_step_begin(rec, "as_left", "as_left", &st), 0);
	add_measurement(st, "depth@1000", 1003.25, 1.6, 1);
	add_measurement(st, "depth@1000b", 1070.1, 1.6, 1);
	add_measurement(st, "penetration@1000", 0.1 + 0.2, 3, 0);
	add_measurement(st, "depth@1250", NAN, NAN, 1);
	rig_record_step_end(st, RIG_OUTCOME_FAIL, "1 of 3 depth setpoints out of tolerance");
	for (unsigned i = 0; i < 3; i++)
		t.depth[i] = (struct rig_cal_depth_knot){(uint16_t)(250 + 1000 * i),
							 (uint16_t)(300 + 1100 * i)};
	t.rate[0] = (struct rig_cal_rate_knot){3000, 250};
	t.rate[1] = (struct rig_cal_rate_knot){9000, 990};
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &len), 0);
	assert_int_equal(rig_record_set_table(rec, blob, len, 1), 0);
	rig_record_set_safe_state(rec, 1, "motor off, user mode, session ended");
	rig_record_finish(rec, RIG_OUTCOME_FAIL, "as-left depth out of tolerance");
	return rec;
}

static int count_entries(const char *dir, const char *containing)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, containing))
			n++;
	closedir(d);
	return n;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = calloc(1, 1 << 20);
	assert_non_null(f);
	size_t n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void write_and_read_back(void **state)
{
	char *dir = ts_mkdtemp("record");
	char path[1024], want[1024], folder[1024];
	struct rig_record *rec = full_record(), *back = NULL;
	char *json = NULL, *again = NULL;
	struct stat st;
	(void)state;
	assert_int_equal(rig_record_write(rec, dir, path, sizeof(path)), 0);
	snprintf(want, sizeof(want), "%s/MN1-000123/%s/record.json", dir, rec->run_id);
	assert_string_equal(path, want);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	snprintf(folder, sizeof(folder), "%s/MN1-000123/%s", dir, rec->run_id);
	assert_int_equal(count_entries(folder, ".tmp-"), 0);
	assert_int_equal(count_entries(folder, "record"), 1);

	json = slurp(path);
	assert_non_null(strstr(json, "\"schema\": \"needle-rig/run-record/2\""));
	assert_non_null(strstr(json, "\"seed\": \"18446744073709551615\""));
	assert_non_null(strstr(json, "\"value\": 0.3\n")); /* 15 digits: not 0.30000000000000004 */
	assert_non_null(strstr(json, "\"value\": null")); /* the measurement not taken */
	assert_non_null(strstr(json, "\"slot\": \"B\""));
	assert_int_equal(rig_record_load(path, &back), 0);
	assert_string_equal(back->run_id, rec->run_id);
	assert_string_equal(back->operator_name, "Zoë Quality");
	assert_true(back->station.seed == rec->station.seed);
	assert_int_equal(back->n_steps, 2);
	assert_int_equal(back->steps[1]->n_measurements, 4);
	const struct rig_measurement *m = back->steps[1]->measurements;
	assert_int_equal(m[0].outcome, RIG_OUTCOME_PASS);
	assert_true(fabs(m[0].value - 1003.25) < 1e-12);
	assert_int_equal(m[0].n_budget, 2);
	assert_string_equal(m[0].budget[1].source, "sensor_calibration");
	assert_true(m[0].budget[0].u == 0.6 && m[0].budget[1].u == 0.5);
	assert_true(fabs(m[0].u_expanded - 2 * sqrt(0.61)) < 1e-12);
	assert_int_equal(m[1].n_budget, 0); /* not itemised: no u_budget */
	assert_int_equal(m[1].outcome, RIG_OUTCOME_FAIL);
	assert_false(m[2].judged);
	assert_int_equal(m[3].outcome, RIG_OUTCOME_ERROR);
	assert_true(isnan(m[3].value));
	assert_true(back->has_table);
	assert_int_equal(back->table.len, rec->table.len);
	assert_memory_equal(back->table.bytes, rec->table.bytes, rec->table.len);
	assert_int_equal(back->table.decoded.depth[2].code, 2500);
	assert_int_equal(back->outcome, RIG_OUTCOME_FAIL);
	assert_true(back->safe_state_confirmed);
	/* Canonical: written again, the same bytes. */
	assert_int_equal(rig_record_to_json(back, &again), 0);
	assert_string_equal(again, json);
	free(json);
	free(again);
	rig_record_free(back);
	rig_record_free(rec);
	rig_record_free(NULL);
	ts_rmtree(dir);
	free(dir);
}

static void outcome_never_better_than_steps(void **state)
{
	struct rig_record *rec = NULL;
	struct rig_record_step *st;
	(void)state;
	assert_int_equal(rig_record_new(&rec), 0);
	assert_int_equal(rec->outcome, RIG_OUTCOME_ERROR);
	assert_string_equal(rec->reason, "run did not finish");
	rig_record_finish(rec, RIG_OUTCOME_PASS, "all good");
	assert_int_equal(rec->outcome, RIG_OUTCOME_ERROR);
	assert_non_null(strstr(rec->reason, "no step ran"));
	assert_int_equal(rig_record_step_begin(rec, "identify", "identify", &st), 0);
	assert_int_equal(st->outcome, RIG_OUTCOME_ERROR); /* until ended */
	rig_record_step_end(st, RIG_OUTCOME_PASS, NULL);
	assert_int_equal(rig_record_step_begin(rec, "as_left", "as_left", &st), 0);
	rig_record_step_end(st, RIG_OUTCOME_INDETERMINATE, "inside the guard band");
	assert_true(st->duration_s >= 0 && st->duration_s < 5);
	rig_record_finish(rec, RIG_OUTCOME_PASS, "all good");
	assert_int_equal(rec->outcome, RIG_OUTCOME_INDETERMINATE);
	assert_string_equal(rec->reason, "all good (raised from PASS by step as_left)");
	rig_record_finish(rec, RIG_OUTCOME_ABORTED, "operator stop");
	assert_int_equal(rec->outcome, RIG_OUTCOME_ABORTED);
	assert_string_equal(rec->reason, "operator stop");
	assert_true(rec->ended_ms >= rec->started_ms);
	rig_record_free(rec);
}

static void unsafe_serials_are_refused(void **state)
{
	static const char *const bad[] = {"", ".", "..", "../etc", "a/b", "MN1 000"};
	struct rig_record *rec = full_record();
	char *dir = ts_mkdtemp("record");
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(rec->unit.serial, sizeof(rec->unit.serial), "%s", bad[i]);
		assert_int_equal(rig_record_write(rec, dir, NULL, 0), RIG_ERR_ARG);
	}
	assert_int_equal(count_entries(dir, ""), 2); /* "." and ".." only */
	rig_record_free(rec);
	ts_rmtree(dir);
	free(dir);
}

/* Replace the first @p from in @p text by @p to (same buffer, room given). */
static void edit(char *text, const char *from, const char *to)
{
	char *p = strstr(text, from);
	assert_non_null(p);
	memmove(p + strlen(to), p + strlen(from), strlen(p + strlen(from)) + 1);
	memcpy(p, to, strlen(to));
}

static void strict_reading(void **state)
{
	struct rig_record *rec = full_record(), *back = NULL;
	char *json = NULL;
	(void)state;
	assert_int_equal(rig_record_to_json(rec, &json), 0);
	char *text = malloc(strlen(json) + 256);
	struct {
		const char *from, *to, *says;
	} cases[] = {
		{"run-record/2", "run-record/3", "'schema': expected \"needle-rig/run-record/2\""},
		{"\"operator\"", "\"operators\"", "'operators': expected no such field"},
		{"\"code\": 2500", "\"code\": 2501", "table 'depth_knots': expected fields that agree"},
		{"\"judged\": true", "\"judged\": 1", "steps[1].measurements[0] 'judged': expected true"},
		{"\"outcome\": \"FAIL\"", "\"outcome\": \"BAD\"", "'outcome': expected PASS, FAIL"},
		{"\"schema\"", "\"schema\" x", "not valid JSON"},
		{"\"source\": \"repeatability\"", "\"sources\": \"repeatability\"",
		 "measurements[0].u_budget[0] 'sources': expected no such field"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memcpy(text, json, strlen(json) + 1);
		edit(text, cases[i].from, cases[i].to);
		assert_int_equal(rig_record_from_json(text, "r.json", &back), RIG_ERR_FORMAT);
		assert_null(back);
		if (!strstr(rig_last_error(), cases[i].says))
			fail_msg("case %zu: '%s' lacks '%s'", i, rig_last_error(), cases[i].says);
	}
	assert_int_equal(rig_record_from_json("[1, 2]", "r.json", &back), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "expected a JSON object"));
	free(text);
	free(json);
	rig_record_free(rec);
}

/* Write a first record, then try to replace it under a file size limit
 * smaller than the new text: write() fails with EFBIG part-way. */
static void failing_write_keeps_old_record(void **state)
{
	char *dir = ts_mkdtemp("record");
	char path[1024], folder[1024];
	struct rig_record *rec = full_record();
	struct rlimit old_limit, small = {512, 512};
	(void)state;
	assert_int_equal(rig_record_write(rec, dir, path, sizeof(path)), 0);
	char *before = slurp(path);
	snprintf(rec->reason, sizeof(rec->reason), "rewritten");
	getrlimit(RLIMIT_FSIZE, &old_limit);
	signal(SIGXFSZ, SIG_IGN);
	small.rlim_max = old_limit.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	int ret = rig_record_write(rec, dir, NULL, 0);
	setrlimit(RLIMIT_FSIZE, &old_limit);
	signal(SIGXFSZ, SIG_DFL);
	assert_int_equal(ret, RIG_ERR_IO);
	assert_non_null(strstr(rig_last_error(), "record.json"));
	char *after = slurp(path);
	assert_string_equal(before, after);
	snprintf(folder, sizeof(folder), "%s/MN1-000123/%s", dir, rec->run_id);
	assert_int_equal(count_entries(folder, ".tmp-"), 0);
	free(before);
	free(after);
	rig_record_free(rec);
	ts_rmtree(dir);
	free(dir);
}

/* A child process killed in the middle of writing (SIGXFSZ at the file
 * size limit: a real crash, no cleanup runs) leaves the old record whole. */
static void crash_mid_write_keeps_old_record(void **state)
{
	char *dir = ts_mkdtemp("record");
	char path[1024], folder[1024];
	struct rig_record *rec = full_record(), *back = NULL;
	int status = 0;
	(void)state;
	assert_int_equal(rig_record_write(rec, dir, path, sizeof(path)), 0);
	char *before = slurp(path);
	snprintf(rec->reason, sizeof(rec->reason), "rewritten by a process that dies");
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit none = {0, 0}, small = {700, 700};
		setrlimit(RLIMIT_CORE, &none);
		signal(SIGXFSZ, SIG_DFL);
		setrlimit(RLIMIT_FSIZE, &small);
		rig_record_write(rec, dir, NULL, 0);
		_exit(0); /* not reached: the write is killed */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ);
	char *after = slurp(path);
	assert_string_equal(before, after);
	assert_int_equal(rig_record_load(path, &back), 0);
	assert_string_equal(back->reason, "as-left depth out of tolerance");
	/* The dead writer's partial temporary file is all that is left of it. */
	snprintf(folder, sizeof(folder), "%s/MN1-000123/%s", dir, rec->run_id);
	assert_int_equal(count_entries(folder, ".record.json.tmp-"), 1);
	free(before);
	free(after);
	rig_record_free(back);
	rig_record_free(rec);
	ts_rmtree(dir);
	free(dir);
}

static void directories_and_atomic_replace(void **state)
{
	char *dir = ts_mkdtemp("record");
	char path[1024];
	(void)state;
	snprintf(path, sizeof(path), "%s/a/b/c", dir);
	assert_int_equal(rigi_mkdir_p(path), 0);
	assert_int_equal(rigi_mkdir_p(path), 0); /* already there */
	snprintf(path, sizeof(path), "%s/a/b/c/f.txt", dir);
	assert_int_equal(rigi_atomic_write(path, "one", 3), 0);
	assert_int_equal(rigi_atomic_write(path, "second", 6), 0);
	char *text = slurp(path);
	assert_string_equal(text, "second");
	free(text);
	snprintf(path, sizeof(path), "%s/a/b/c/f.txt/d", dir);
	assert_int_equal(rigi_mkdir_p(path), RIG_ERR_IO); /* a file is in the way */
	snprintf(path, sizeof(path), "%s/missing/f.txt", dir);
	assert_int_equal(rigi_atomic_write(path, "x", 1), RIG_ERR_NOT_FOUND); /* its folder is missing */
	assert_non_null(strstr(rig_last_error(), path));
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(run_ids_sort_by_time),
		cmocka_unit_test(utc_times),
		cmocka_unit_test(write_and_read_back),
		cmocka_unit_test(outcome_never_better_than_steps),
		cmocka_unit_test(unsafe_serials_are_refused),
		cmocka_unit_test(strict_reading),
		cmocka_unit_test(failing_write_keeps_old_record),
		cmocka_unit_test(crash_mid_write_keeps_old_record),
		cmocka_unit_test(directories_and_atomic_replace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
