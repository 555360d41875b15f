/* Tests of fixture files: the shipped simulated station, ${NAME} expansion,
 * every error path with its exact FILE:LINE:COL (tests/data/bad_fixture_*),
 * calendar dates, the calibration due-date and phantom checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fixture.h>
#include <rig/rig.h>

#include "testsupport.h"

#define DATA RIG_SOURCE_DIR "/tests/data/"

static const char *const test_vars[] = {"PORT=1502", "DIR=/run/t", NULL};

static void check_uri_unit(const char *text, int unit)
{
	struct rig_uri u;
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(u.unit, unit);
}

static void sim_fixture_loads(void **state)
{
	const char *vars[] = {"SIM_DIR=/tmp/sim x", "SIM_PORT=15020", NULL};
	struct rig_fixture *fx = NULL;
	char uri[128];
	(void)state;
	assert_int_equal(rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx), 0);
	assert_string_equal(fx->station_id, "SIM-01");
	assert_string_equal(fx->daq.uri, "modbus-tcp://127.0.0.1:15020?unit=1");
	assert_int_equal(fx->daq.sample_rate_hz, 20000);
	assert_int_equal(fx->n_nests, 8);
	assert_int_equal(fx->daq.sharing, RIG_DAQ_SHARED);
	for (unsigned n = 0; n < 8; n++) {
		const struct rig_nest *nest = rig_fixture_nest(fx, n);
		assert_non_null(nest);
		snprintf(uri, sizeof(uri), "unix:///tmp/sim x/nest%u.sock", n);
		assert_string_equal(nest->dut_uri, uri);
		check_uri_unit(nest->displacement.uri, (int)(10 + 2 * n));
		check_uri_unit(nest->force.uri, (int)(11 + 2 * n));
		assert_int_equal(nest->displacement.daq_channel, 2 * n);
		assert_int_equal(nest->force.daq_channel, 2 * n + 1);
		assert_true(nest->displacement.scale == 0.1);
		assert_true(nest->force.scale == 1.0);
		assert_string_equal(nest->displacement.unit, "um");
		assert_string_equal(nest->force.unit, "mN");
		assert_true(nest->displacement.cal.standard_uncertainty > 0);
	}
	assert_null(rig_fixture_nest(fx, 8));
	assert_string_equal(fx->line_key, "/tmp/sim x/line.key");
	assert_true(fx->phantom.max_strokes > 0);
	assert_true(fx->safety.max_protrusion_um == 3000);
	assert_true(fx->safety.max_force_mn == 5000);
	rig_fixture_free(fx);
	rig_fixture_free(NULL);
}

static void variables_from_caller_then_environment(void **state)
{
	const char *vars[] = {"SIM_PORT=2000", NULL};
	struct rig_fixture *fx = NULL;
	(void)state;
	setenv("SIM_DIR", "/from/env", 1);
	setenv("SIM_PORT", "1", 1);
	assert_int_equal(rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx), 0);
	assert_string_equal(fx->daq.uri, "modbus-tcp://127.0.0.1:2000?unit=1"); /* caller first */
	assert_string_equal(fx->line_key, "/from/env/line.key");
	rig_fixture_free(fx);
	unsetenv("SIM_DIR");
	unsetenv("SIM_PORT");
}

/* Write @p text as a fixture whose line_key is @p key_value and load it. */
static int load_with_key(const char *key_value, struct rig_fixture **fx, char *path, size_t cap)
{
	char *dir = ts_mkdtemp("fixture");
	char text[4096];
	FILE *in = fopen(DATA "fixture_min.yaml", "r");
	size_t n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = '\0';
	*strstr(text, "line_key:") = '\0';
	snprintf(path, cap, "%s/f.yaml", dir);
	FILE *out = fopen(path, "w");
	fprintf(out, "%sline_key: %s\n", text, key_value);
	fclose(out);
	int ret = rig_fixture_load(path, test_vars, fx);
	ts_rmtree(dir);
	free(dir);
	return ret;
}

static void expansion_forms(void **state)
{
	struct rig_fixture *fx = NULL;
	char path[256], want[300];
	(void)state;
	assert_int_equal(load_with_key("'$${DIR} costs $$5 at ${DIR}$'", &fx, path, sizeof(path)), 0);
	assert_string_equal(fx->line_key, "${DIR} costs $5 at /run/t$");
	rig_fixture_free(fx);
	assert_int_equal(load_with_key("\"${DIR}${PORT}\"", &fx, path, sizeof(path)), 0);
	assert_string_equal(fx->line_key, "/run/t1502");
	rig_fixture_free(fx);
	/* Column of the variable inside a plain scalar after two others. */
	assert_int_equal(load_with_key("${DIR}/${PORT}/${MISSING_ONE}", &fx, path, sizeof(path)),
			 RIG_ERR_FORMAT);
	snprintf(want, sizeof(want), "%s:40:26: undefined variable ${MISSING_ONE}", path);
	assert_memory_equal(rig_last_error(), want, strlen(want));
	assert_int_equal(load_with_key("${}", &fx, path, sizeof(path)), RIG_ERR_FORMAT);
	assert_null(fx);
	/* An expansion to nothing is an empty value. */
	setenv("RIG_TEST_EMPTY", "", 1);
	assert_int_equal(load_with_key("${RIG_TEST_EMPTY}", &fx, path, sizeof(path)), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "not empty after expansion"));
	unsetenv("RIG_TEST_EMPTY");
}

struct bad_case {
	const char *file;
	unsigned line, column;
	const char *says;
};

static const struct bad_case bad_fixtures[] = {
	{"bad_fixture_syntax.yaml", 4, 8, "YAML syntax error: mapping values are not allowed"},
	{"bad_fixture_duplicate.yaml", 5, 3, "duplicate key 'id' (first at line 3 column 3)"},
	{"bad_fixture_alias.yaml", 2, 10, "anchors (&name) are not supported"},
	{"bad_fixture_empty.yaml", 2, 1, "expected a mapping, found an empty file"},
	{"bad_fixture_two_docs.yaml", 3, 1, "found a second document"},
	{"bad_fixture_encoding.yaml", 4, 13, "cannot read the text at byte 82"},
	{"bad_fixture_unknown_key.yaml", 7, 3,
	 "unknown key 'sample_rate' in 'daq': expected one of uri, sample_rate_hz"},
	{"bad_fixture_missing_key.yaml", 22, 7, "expected key 'channel' in 'force', found none"},
	{"bad_fixture_wrong_type.yaml", 14, 14,
	 "'scale': expected a number from -1e+06 to 1e+06, found 'tenth'"},
	{"bad_fixture_quoted_number.yaml", 14, 14, "found the string '0.1'"},
	{"bad_fixture_range.yaml", 23, 16, "'channel': expected an integer from 0 to 15, found '16'"},
	{"bad_fixture_undefined_var.yaml", 39, 19, "undefined variable ${KEY_NAME}"},
	{"bad_fixture_bad_var.yaml", 10, 17, "expected ${NAME} with a name of letters"},
	{"bad_fixture_bad_uri.yaml", 10, 10, "'dut': expected a pen address"},
	{"bad_fixture_bad_date.yaml", 30, 14,
	 "'due': expected a calendar date YYYY-MM-DD, found '2026-02-30'"},
	{"bad_fixture_due_before.yaml", 30, 14, "expected a date on or after 'calibrated' (2026-01-05)"},
	{"bad_fixture_same_channel.yaml", 9, 5, "expected different DAQ channels"},
	{"bad_fixture_two_nests.yaml", 11, 5, "found the same dut as nests[0]"},
	{"bad_fixture_unit.yaml", 26, 13, "'unit': expected one of mN, found 'N'"},
	{"bad_fixture_no_phantom_limit.yaml", 33, 3, "expected 'max_strokes' or 'expires'"},
	{"bad_fixture_nests_map.yaml", 5, 3, "'nests': expected a list, found a mapping"},
};

static void every_error_names_file_line_column(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_fixtures) / sizeof(bad_fixtures[0]); i++) {
		const struct bad_case *c = &bad_fixtures[i];
		struct rig_fixture *fx = (struct rig_fixture *)1;
		char path[512], prefix[600];
		snprintf(path, sizeof(path), DATA "%s", c->file);
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", path, c->line, c->column);
		rig_clear_error();
		int ret = rig_fixture_load(path, test_vars, &fx);
		if (ret != RIG_ERR_FORMAT || strncmp(rig_last_error(), prefix, strlen(prefix)) != 0 ||
		    !strstr(rig_last_error(), c->says))
			fail_msg("%s: got %s '%s', expected '%s...%s'", c->file, rig_errname(ret),
				 rig_last_error(), prefix, c->says);
		assert_null(fx);
	}
}

static size_t read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* Random edits of a valid fixture (YAML punctuation, deleted bytes,
 * duplicated lines, deep nesting) must give a fixture or a positioned
 * error, never a crash or an error without FILE:LINE:COL. */
static void mutations_always_explained(void **state)
{
	static const char punct[] = ":-[]{}&*!|>'\"#\n \t$0a,?%@`\\";
	char base[4096], text[8192], path[512];
	char *dir = ts_mkdtemp("mutate");
	size_t n = read_file(DATA "fixture_min.yaml", base, sizeof(base));
	struct rig_pcg32 rng;
	unsigned loaded = 0;
	(void)state;
	snprintf(path, sizeof(path), "%s/m.yaml", dir);
	rig_pcg32_seed(&rng, 77, 1);
	for (int iter = 0; iter < 1500; iter++) {
		size_t len = n;
		memcpy(text, base, n);
		for (unsigned k = rig_pcg32_bounded(&rng, 3) + 1; k > 0; k--) {
			size_t at = rig_pcg32_bounded(&rng, (uint32_t)len);
			uint32_t op = rig_pcg32_bounded(&rng, 4);
			if (op == 0) {
				text[at] = punct[rig_pcg32_bounded(&rng, sizeof(punct) - 1)];
			} else if (op == 1 && len > 1) {
				memmove(text + at, text + at + 1, len - at - 1);
				len--;
			} else if (op == 2 && len + 200 < sizeof(text)) {
				memmove(text + at + 100, text + at, len - at);
				memset(text + at, '[', 100);
				len += 100;
			} else if (len * 2 < sizeof(text)) {
				memcpy(text + len, text + at, len - at); /* repeat the tail */
				len += len - at;
			}
		}
		FILE *f = fopen(path, "wb");
		fwrite(text, 1, len, f);
		fclose(f);
		struct rig_fixture *fx = NULL;
		rig_clear_error();
		int ret = rig_fixture_load(path, test_vars, &fx);
		if (ret == 0) {
			loaded++;
			rig_fixture_free(fx);
			continue;
		}
		const char *e = rig_last_error();
		if (ret != RIG_ERR_FORMAT || strncmp(e, path, strlen(path)) != 0 ||
		    e[strlen(path)] != ':' || !strchr("123456789", e[strlen(path) + 1]))
			fail_msg("iteration %d: %s '%s'", iter, rig_errname(ret), e);
	}
	assert_true(loaded > 0 && loaded < 1500);
	ts_rmtree(dir);
	free(dir);
}

static void unreadable_file(void **state)
{
	struct rig_fixture *fx = NULL;
	(void)state;
	assert_int_equal(rig_fixture_load(DATA "no_such_file.yaml", NULL, &fx), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "no_such_file.yaml"));
	assert_int_equal(rig_fixture_load(NULL, NULL, &fx), RIG_ERR_ARG);
}

static void dates(void **state)
{
	struct rig_date d, e;
	char buf[16];
	(void)state;
	assert_int_equal(rig_date_parse("2024-02-29", &d), 0);
	assert_string_equal(rig_date_format(&d, buf, sizeof(buf)), "2024-02-29");
	assert_int_equal(rig_date_parse("2026-02-29", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("2100-02-29", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("2000-02-29", &d), 0);
	assert_int_equal(rig_date_parse("2026-1-05", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("2026-01-05x", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("1969-12-31", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("2026-04-31", &d), RIG_ERR_FORMAT);
	assert_int_equal(rig_date_parse("2026-12-31", &d), 0);
	assert_int_equal(rig_date_parse("2027-01-01", &e), 0);
	assert_true(rig_date_compare(&d, &e) < 0);
	assert_true(rig_date_compare(&e, &d) > 0);
	assert_int_equal(rig_date_compare(&d, &d), 0);
	rig_date_today(&d);
	assert_true(d.year >= 2024 && d.month >= 1 && d.month <= 12);
}

static struct rig_date day(const char *text)
{
	struct rig_date d;
	assert_int_equal(rig_date_parse(text, &d), 0);
	return d;
}

static void calibration_due(void **state)
{
	struct rig_fixture *fx = NULL;
	char *detail = (char *)1;
	struct rig_date today;
	(void)state;
	assert_int_equal(rig_fixture_load(DATA "fixture_min.yaml", test_vars, &fx), 0);
	/* The force sensor is due 2026-07-01, the displacement sensor 2027-01-05. */
	today = day("2026-07-01");
	assert_int_equal(rig_fixture_check_due(fx, &today, &detail), 0);
	assert_null(detail);
	today = day("2026-07-02");
	assert_int_equal(rig_fixture_check_due(fx, &today, &detail), RIG_ERR_STATE);
	assert_non_null(strstr(detail, "nest 0 force sensor (certificate FS-0) was due for "
				       "calibration on 2026-07-01 (today 2026-07-02)"));
	assert_null(strstr(detail, "displacement"));
	assert_string_equal(detail, rig_last_error());
	free(detail);
	today = day("2027-01-06");
	assert_int_equal(rig_fixture_check_due(fx, &today, &detail), RIG_ERR_STATE);
	assert_non_null(strstr(detail, "displacement sensor (certificate DS-0) was due for "
				       "calibration on 2027-01-05"));
	assert_non_null(strstr(detail, "force sensor (certificate FS-0)"));
	free(detail);
	/* A certificate dated after today means a wrong clock: refused too. */
	today = day("2026-01-04");
	assert_int_equal(rig_fixture_check_due(fx, &today, NULL), RIG_ERR_STATE);
	assert_non_null(strstr(rig_last_error(), "clock"));
	rig_fixture_free(fx);
}

static void phantom_fresh(void **state)
{
	const char *vars[] = {"SIM_DIR=/s", "SIM_PORT=1", NULL};
	struct rig_fixture *fx = NULL;
	struct rig_date today;
	(void)state;
	assert_int_equal(rig_fixture_load(DATA "fixture_min.yaml", test_vars, &fx), 0);
	today = day("2026-12-31");
	assert_int_equal(rig_fixture_check_phantom(fx, &today, 1000000000), 0); /* no stroke limit */
	today = day("2027-01-01");
	assert_int_equal(rig_fixture_check_phantom(fx, &today, 0), RIG_ERR_STATE);
	assert_non_null(strstr(rig_last_error(), "expired on 2026-12-31"));
	rig_fixture_free(fx);
	assert_int_equal(rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx), 0);
	today = day("2030-01-01");
	assert_int_equal(rig_fixture_check_phantom(fx, &today, fx->phantom.max_strokes - 1), 0);
	assert_int_equal(rig_fixture_check_phantom(fx, &today, fx->phantom.max_strokes),
			 RIG_ERR_STATE);
	assert_non_null(strstr(rig_last_error(), "replace it"));
	today = day("2025-12-31");
	assert_int_equal(rig_fixture_check_phantom(fx, &today, 0), RIG_ERR_STATE);
	rig_fixture_free(fx);
}

/* A fixture with two nests (nest 1 may be left out) at the given addresses. */
static int load_nests(const char *dut0, const char *d0, const char *f0, const char *dut1,
		      const char *d1, const char *f1)
{
	static const char nest_fmt[] =
		"  - index: %d\n    dut: %s\n"
		"    displacement:\n      uri: %s\n      channel: %d\n      scale: 1\n"
		"      unit: um\n      calibration:\n        certificate: D%d\n"
		"        calibrated: 2026-01-05\n        due: 2027-01-05\n"
		"        standard_uncertainty: 1\n"
		"    force:\n      uri: %s\n      channel: %d\n      scale: 1\n"
		"      unit: mN\n      calibration:\n        certificate: F%d\n"
		"        calibrated: 2026-01-05\n        due: 2027-01-05\n"
		"        standard_uncertainty: 1\n";
	char *dir = ts_mkdtemp("nests");
	char path[512];
	struct rig_fixture *fx = NULL;
	int ret;
	snprintf(path, sizeof(path), "%s/f.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "station:\n  id: T\n  name: T\ndaq:\n"
		   "  uri: modbus-tcp://127.0.0.1:1502?unit=1\n  sample_rate_hz: 20000\nnests:\n");
	fprintf(f, nest_fmt, 0, dut0, d0, 0, 0, f0, 1, 0);
	if (dut1)
		fprintf(f, nest_fmt, 1, dut1, d1, 2, 1, f1, 3, 1);
	fprintf(f, "phantom:\n  type: s\n  installed: 2026-01-05\n  expires: 2026-12-31\n"
		   "safety:\n  max_force_mn: 5000\n  max_protrusion_um: 3000\n"
		   "line_key: /tmp/line.key\n");
	fclose(f);
	rig_clear_error();
	ret = rig_fixture_load(path, NULL, &fx);
	rig_fixture_free(fx);
	ts_rmtree(dir);
	free(dir);
	return ret;
}

#define MB(u) "modbus-tcp://127.0.0.1:1502?unit=" #u

static void nests_distinct_by_identity_baseline(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), MB(11), "unix:///tmp/b.sock",
				    MB(12), MB(13)),
			 0);
	assert_int_equal(load_nests("usb://1209:4d4e?serial=A", MB(10), MB(11),
				    "usb://1209:4d4e?serial=B", MB(12), MB(13)),
			 0);
}

static void nests_share_sensor_with_timeout(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), MB(11), "unix:///tmp/b.sock",
				    MB(10&timeout_ms=100), MB(13)),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "shared with nests[0]"));
}

static void nests_share_sensor_host_case(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", "modbus-tcp://Sim:1502?unit=10", MB(11),
				    "unix:///tmp/b.sock", MB(12), "modbus-tcp://sim:1502?unit=10"),
			 RIG_ERR_FORMAT);
}

static void nests_share_pen_timeout(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), MB(11),
				    "unix:///tmp/a.sock?timeout_ms=500", MB(12), MB(13)),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "the same dut as nests[0]"));
}

static void nests_share_pen_double_slash(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), MB(11), "unix:///tmp//./a.sock",
				    MB(12), MB(13)),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "the same dut as nests[0]"));
}

static void nests_share_usb_pen_without_serial(void **state)
{
	(void)state;
	assert_int_equal(load_nests("usb://1209:4d4e?serial=A", MB(10), MB(11), "usb://1209:4D4E",
				    MB(12), MB(13)),
			 RIG_ERR_FORMAT);
}

static void nest_same_sensor_in_two_roles(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), MB(10&timeout_ms=50), NULL, NULL,
				    NULL),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "to be the same device"));
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(1&timeout_ms=9), MB(11), NULL, NULL,
				    NULL),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "to be the DAQ"));
}

/* Unit 0 is the Modbus broadcast address: refused for TCP and RTU instruments. */
static void modbus_unit_zero_refused(void **state)
{
	(void)state;
	assert_int_equal(load_nests("unix:///tmp/a.sock", "modbus-tcp://127.0.0.1:1502?unit=0",
				    MB(11), NULL, NULL, NULL),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "unit 0 is the Modbus broadcast address"));
	assert_int_equal(load_nests("unix:///tmp/a.sock", MB(10), "modbus-rtu:///dev/ttyS0?unit=0",
				    NULL, NULL, NULL),
			 RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "unit 0 is the Modbus broadcast address"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sim_fixture_loads),
		cmocka_unit_test(variables_from_caller_then_environment),
		cmocka_unit_test(expansion_forms),
		cmocka_unit_test(every_error_names_file_line_column),
		cmocka_unit_test(mutations_always_explained),
		cmocka_unit_test(unreadable_file),
		cmocka_unit_test(dates),
		cmocka_unit_test(calibration_due),
		cmocka_unit_test(phantom_fresh),
		cmocka_unit_test(nests_distinct_by_identity_baseline),
		cmocka_unit_test(nests_share_sensor_with_timeout),
		cmocka_unit_test(nests_share_sensor_host_case),
		cmocka_unit_test(nests_share_pen_timeout),
		cmocka_unit_test(nests_share_pen_double_slash),
		cmocka_unit_test(nests_share_usb_pen_without_serial),
		cmocka_unit_test(nest_same_sensor_in_two_roles),
		cmocka_unit_test(modbus_unit_zero_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
