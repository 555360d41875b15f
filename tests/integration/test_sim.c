/* The simulated station as a whole (rig_sim_*): start/stop, URIs, the
 * control language over the API and over the control socket, pen loading,
 * fault injection dispatch and ground truth, flash persistence across
 * restarts, and the pen reached through its DUT endpoint. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/instr.h>
#include <rig/table.h>
#include <rig/rig.h>
#include <rig/sim.h>

#include "testsupport.h"

struct fixture {
	char *dir;
	struct rig_sim *sim;
};

static int start(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct rig_sim_config cfg = {.n_nests = 2, .seed = 5, .speed = 50, .control_socket = 1};
	f->dir = ts_mkdtemp("sim");
	cfg.state_dir = f->dir;
	assert_int_equal(rig_sim_start(&cfg, &f->sim), 0);
	*state = f;
	return 0;
}

static int stop(void **state)
{
	struct fixture *f = *state;
	rig_sim_stop(f->sim);
	ts_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void ctl_ok(struct rig_sim *sim, const char *line, char *reply, size_t cap)
{
	int ret = rig_sim_control(sim, line, reply, cap);
	if (ret != 0)
		fail_msg("'%s' -> '%s'", line, reply);
}

static void uris_and_status(void **state)
{
	struct fixture *f = *state;
	char reply[512], expect[512];
	assert_non_null(strstr(rig_sim_daq_uri(f->sim), "?unit=1"));
	assert_non_null(strstr(rig_sim_displacement_uri(f->sim, 1), "?unit=12"));
	assert_non_null(strstr(rig_sim_force_uri(f->sim, 1), "?unit=13"));
	assert_null(rig_sim_dut_uri(f->sim, 2));
	ctl_ok(f->sim, "status", reply, sizeof(reply));
	snprintf(expect, sizeof(expect), "port=%u nests=2", (unsigned)rig_sim_port(f->sim));
	assert_non_null(strstr(reply, expect));
	assert_non_null(strstr(reply, "nest0=MN1-000001 nest1=MN1-000002"));
}

static void control_errors(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"", "bogus", "truth", "truth 9", "truth 0 service", "truth 0 sideways 1 2",
		"load 0", "load 5 X", "load 0 MN1-000009 not-a-failure", "fault", "fault nope",
		"fault modbus-late -3", "fault sensor-dead 0 laser", "fault dut-cut 0",
		"power-cycle 7", "truth 0 service 70000 1",
	};
	char reply[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rig_sim_control(f->sim, bad[i], reply, sizeof(reply)), RIG_ERR_ARG);
		assert_true(strncmp(reply, "error ", 6) == 0);
	}
}

/* Issue 12: extra words, non-decimal numbers and over-long lines refused. */
static void control_strict(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"status now", "help me", "stop 1", "unload 0 1", "power-cycle 0 0",
		"fault clear all", "fault daq-overrun 2", "fault modbus-late 10 20",
		"fault sensor-dead 0 disp x", "truth 0 user 800 6000 x", "load 0 A B C",
		"a b c d e f g h i", "truth 0x1", "power-cycle +1", "fault modbus-late 0x10",
		"fault modbus-late inf", "fault modbus-late nan", "fault dut-cut 0 0x10",
		"truth 0 service -0 1",
	};
	char reply[512], line[700];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (rig_sim_control(f->sim, bad[i], reply, sizeof(reply)) != RIG_ERR_ARG ||
		    strncmp(reply, "error ", 6) != 0)
			fail_msg("'%s' accepted: '%s'", bad[i], reply);
	}
	assert_int_equal(rig_sim_control(f->sim, "status now", reply, sizeof(reply)), RIG_ERR_ARG);
	assert_non_null(strstr(reply, "extra arguments"));
	ctl_ok(f->sim, "fault modbus-late 10.5", reply, sizeof(reply));
	ctl_ok(f->sim, "fault clear", reply, sizeof(reply));

	/* 511 bytes pass (padded with blanks), 512 are refused, not cut */
	memset(line, ' ', sizeof(line));
	memcpy(line, "status", 6);
	line[511] = '\0';
	ctl_ok(f->sim, line, reply, sizeof(reply));
	line[511] = ' ';
	line[512] = '\0';
	assert_int_equal(rig_sim_control(f->sim, line, reply, sizeof(reply)), RIG_ERR_ARG);
	assert_string_equal(reply, "error line too long, at most 511 bytes");
	memset(line, ' ', sizeof(line));
	memcpy(line + 600, "stop", 5); /* would run 'stop' if cut at 511 and the rest kept */
	memcpy(line, "help", 4);
	assert_int_equal(rig_sim_control_remote(rig_sim_control_path(f->sim), line, reply,
						sizeof(reply)),
			 RIG_ERR_ARG);
	assert_non_null(strstr(reply, "line too long, at most 511 bytes"));
	assert_int_equal(rig_sim_control_remote(rig_sim_control_path(f->sim), "status", reply,
						sizeof(reply)),
			 0);
}

/* At most 64 pens' flash files in the state directory. */
static void load_bounded(void **state)
{
	struct fixture *f = *state;
	char reply[512], line[64];
	int refused = 0;
	for (unsigned i = 0; i < 64; i++) { /* 2 pens were there from the start */
		snprintf(line, sizeof(line), "load 0 LIM-%03u", i);
		if (rig_sim_control(f->sim, line, reply, sizeof(reply)) != 0) {
			assert_int_equal(i, 62);
			assert_non_null(strstr(reply, "the limit is 64"));
			refused = 1;
			break;
		}
	}
	assert_true(refused);
	ctl_ok(f->sim, "load 0 LIM-000", reply, sizeof(reply)); /* a known serial still loads */
	ctl_ok(f->sim, "load 0 MN1-000001", reply, sizeof(reply));
}

static double field(const char *reply, const char *key)
{
	const char *p = strstr(reply, key);
	assert_non_null(p);
	return strtod(p + strlen(key), NULL);
}

static void truth_and_load(void **state)
{
	struct fixture *f = *state;
	char reply[512];
	double shallow, deep, bent;
	ctl_ok(f->sim, "truth 0 service 1000 600", reply, sizeof(reply));
	shallow = field(reply, "protrusion_um=");
	ctl_ok(f->sim, "truth 0 service 3000 600", reply, sizeof(reply));
	deep = field(reply, "protrusion_um=");
	assert_true(deep > shallow + 1000);
	assert_true(field(reply, "rate_hz=") > 50);
	/* The same serial with a bent needle is shallower at the same code. */
	ctl_ok(f->sim, "load 0 MN1-000001 bent-needle", reply, sizeof(reply));
	ctl_ok(f->sim, "truth 0 service 1000 600", reply, sizeof(reply));
	bent = field(reply, "protrusion_um=");
	assert_true(bent < shallow - 30);
	ctl_ok(f->sim, "unload 1", reply, sizeof(reply));
	assert_int_equal(rig_sim_control(f->sim, "truth 1", reply, sizeof(reply)), RIG_ERR_ARG);
	ctl_ok(f->sim, "load 1 MN1-000002", reply, sizeof(reply));
}

static void faults_dispatch(void **state)
{
	struct fixture *f = *state;
	char reply[512];
	ctl_ok(f->sim, "fault modbus-late 0", reply, sizeof(reply));
	ctl_ok(f->sim, "fault daq-overrun", reply, sizeof(reply));
	ctl_ok(f->sim, "fault sensor-dead 1 force", reply, sizeof(reply));
	ctl_ok(f->sim, "fault sensor-noisy 0 disp", reply, sizeof(reply));
	ctl_ok(f->sim, "fault dut-cut 0 100", reply, sizeof(reply));
	ctl_ok(f->sim, "fault power-loss 1 100", reply, sizeof(reply));
	ctl_ok(f->sim, "power-cycle 1", reply, sizeof(reply));
	ctl_ok(f->sim, "fault clear", reply, sizeof(reply));
}

static void control_socket_and_pen(void **state)
{
	struct fixture *f = *state;
	struct rig_dut *dut = NULL;
	struct rig_dut_identity id;
	char reply[512];
	assert_int_equal(rig_sim_control_remote(rig_sim_control_path(f->sim), "status", reply,
						sizeof(reply)), 0);
	assert_non_null(strstr(reply, "nests=2"));
	assert_int_equal(rig_sim_control_remote(rig_sim_control_path(f->sim), "nonsense", reply,
						sizeof(reply)), RIG_ERR_ARG);
	assert_int_equal(rig_sim_control_remote("/nonexistent/control.sock", "status", reply,
						sizeof(reply)), RIG_ERR_NOT_FOUND);
	assert_int_equal(rig_dut_open(rig_sim_dut_uri(f->sim, 1), &dut), 0);
	assert_int_equal(rig_dut_identify(dut, &id), 0);
	assert_string_equal(id.serial, "MN1-000002");
	rig_dut_close(dut);
}

/* A second station on the same state directory sees the same pens (flash
 * and line key persisted), and the control language stops it. */
static void restart_keeps_state(void **state)
{
	char *dir = ts_mkdtemp("simre");
	struct rig_sim_config cfg = {.n_nests = 1, .seed = 9, .state_dir = dir};
	struct rig_sim *sim = NULL;
	char first[512], second[512];
	(void)state;
	assert_int_equal(rig_sim_start(&cfg, &sim), 0);
	ctl_ok(sim, "truth 0 user 1000 6000", first, sizeof(first));
	ctl_ok(sim, "stop", second, sizeof(second));
	assert_true(rig_sim_stop_requested(sim));
	rig_sim_stop(sim);
	assert_int_equal(rig_sim_start(&cfg, &sim), 0);
	ctl_ok(sim, "truth 0 user 1000 6000", second, sizeof(second));
	assert_string_equal(first, second);
	rig_sim_stop(sim);
	cfg.n_nests = 12;
	assert_int_equal(rig_sim_start(&cfg, &sim), RIG_ERR_ARG);
	ts_rmtree(dir);
	free(dir);
}

/* One capture of nest 0 with the pen stroking in service mode, on a fresh
 * lockstep station with @p seed; returns the DAQ's bytes (malloc'd). */
static int16_t *capture_bytes(uint64_t seed, size_t *n)
{
	char *dir = ts_mkdtemp("repro");
	char key_path[512];
	struct rig_sim_config cfg = {.n_nests = 1, .seed = seed, .lockstep = 1, .state_dir = dir};
	struct rig_daq_config dc = {.rate_hz = 20000, .samples_per_channel = 4000,
				    .channel_mask = 0x3, .trigger = RIG_DAQ_TRIGGER_IMMEDIATE};
	struct rig_sim *sim = NULL;
	struct rig_dut *dut = NULL;
	struct rig_daq *daq = NULL;
	uint8_t key[RIG_KEY_BYTES];
	int16_t *buf = calloc(8000, sizeof(int16_t));

	assert_int_equal(rig_sim_start(&cfg, &sim), 0);
	snprintf(key_path, sizeof(key_path), "%s/line.key", dir);
	assert_int_equal(rig_key_load_file(key_path, key), 0);
	assert_int_equal(rig_dut_open(rig_sim_dut_uri(sim, 0), &dut), 0);
	assert_int_equal(rig_dut_authenticate(dut, key), 0);
	assert_int_equal(rig_dut_set_service(dut, 2000, 700), 0);
	assert_int_equal(rig_dut_motor(dut, 1), 0);
	assert_int_equal(rig_daq_open(rig_sim_daq_uri(sim), &daq), 0);
	assert_int_equal(rig_daq_configure(daq, &dc), 0);
	assert_int_equal(rig_daq_arm(daq), 0);
	assert_int_equal(rig_daq_wait(daq, 5000), 0);
	assert_int_equal(rig_daq_read(daq, buf, 8000, n), 0);
	rig_daq_close(daq);
	rig_dut_close(dut);
	rig_sim_stop(sim);
	ts_rmtree(dir);
	free(dir);
	return buf;
}

/* Same seed and serial, same commands: the same capture, byte for byte,
 * whatever the host's timing (lockstep clock); another seed differs. */
static void captures_are_reproducible(void **state)
{
	size_t n1, n2, n3;
	int16_t *a = capture_bytes(77, &n1);
	int16_t *b = capture_bytes(77, &n2);
	int16_t *c = capture_bytes(78, &n3);
	int16_t lo = 0, hi = 0;
	(void)state;
	assert_int_equal(n1, 8000);
	assert_int_equal(n2, 8000);
	assert_memory_equal(a, b, n1 * sizeof(int16_t));
	assert_memory_not_equal(a, c, n1 * sizeof(int16_t));
	for (size_t i = 0; i < n1; i += 2) {
		lo = a[i] < lo ? a[i] : lo;
		hi = a[i] > hi ? a[i] : hi;
	}
	assert_true(hi - lo > 20000); /* the needles really stroked (> 2 mm) */
	free(a);
	free(b);
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(uris_and_status, start, stop),
		cmocka_unit_test_setup_teardown(control_errors, start, stop),
		cmocka_unit_test_setup_teardown(control_strict, start, stop),
		cmocka_unit_test_setup_teardown(load_bounded, start, stop),
		cmocka_unit_test_setup_teardown(truth_and_load, start, stop),
		cmocka_unit_test_setup_teardown(faults_dispatch, start, stop),
		cmocka_unit_test_setup_teardown(control_socket_and_pen, start, stop),
		cmocka_unit_test(restart_keeps_state),
		cmocka_unit_test(captures_are_reproducible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
