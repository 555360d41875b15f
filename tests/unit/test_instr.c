/* Tests of the instrument drivers (rig/instr.h) against the simulated
 * station over Modbus TCP and RTU (pty): DAQ capture and multi-page
 * read-out, software trigger, limits, overrun; force and displacement
 * readings, tare / zero, wrong device types, dead sensors; a server that
 * goes away; and a running pen's strokes seen through the whole chain. */
#include <math.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <rig/instr.h>
#include <rig/rig.h>

#include "core/core.h"
#include "daqsim.h"
#include "station.h"
#include "testsupport.h"

struct fix {
	struct sim_clock clock;
	struct sim_station *st;
	int master, slave;
	char tcp[64];
	char rtu[96];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	struct sim_station_config cfg = {.n_nests = 2, .seed = 99, .clock = &f->clock};
	struct termios t;
	char name[64];

	if (openpty(&f->master, &f->slave, NULL, NULL, NULL) < 0 ||
	    ttyname_r(f->slave, name, sizeof(name)) != 0)
		return -1;
	tcgetattr(f->slave, &t);
	cfmakeraw(&t);
	tcsetattr(f->slave, TCSANOW, &t);
	sim_clock_init(&f->clock, 10.0);
	cfg.rtu_fd = f->master;
	if (sim_station_new(&cfg, &f->st) < 0 || sim_station_start(f->st) < 0)
		return -1;
	snprintf(f->tcp, sizeof(f->tcp), "modbus-tcp://127.0.0.1:%u", sim_station_port(f->st));
	snprintf(f->rtu, sizeof(f->rtu), "modbus-rtu://%s", name);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	sim_station_free(f->st);
	close(f->master);
	close(f->slave);
	free(f);
	return 0;
}

static const char *uri(const char *base, int unit)
{
	static char text[128];
	snprintf(text, sizeof(text), "%s?unit=%d", base, unit);
	return text;
}

static void expect(int ret, int err)
{
	if (ret != err)
		fail_msg("got %s (%s), expected %s", rig_errname(ret), rig_last_error(),
			 rig_errname(err));
}

static struct rig_daq *open_daq(const char *base)
{
	struct rig_daq *daq = NULL;
	expect(rig_daq_open(uri(base, 1), &daq), 0);
	return daq;
}

/* Configure, arm, wait and read; returns the samples (malloc'd). */
static int16_t *capture(struct rig_daq *daq, uint32_t rate, uint32_t spc, uint16_t mask)
{
	struct rig_daq_config cfg = {rate, spc, mask, RIG_DAQ_TRIGGER_IMMEDIATE};
	size_t n = 0;
	int16_t *buf;

	expect(rig_daq_configure(daq, &cfg), 0);
	buf = malloc(rig_daq_capture_size(daq) * sizeof(int16_t));
	expect(rig_daq_arm(daq), 0);
	expect(rig_daq_wait(daq, 5000), 0);
	expect(rig_daq_read(daq, buf, rig_daq_capture_size(daq), &n), 0);
	assert_int_equal(n, rig_daq_capture_size(daq));
	return buf;
}

/* Empty nests: displacement near -20000 counts, force near 0. */
static void check_rest(const int16_t *buf, size_t n, const unsigned *kinds, unsigned nch)
{
	for (size_t i = 0; i < n; i++) {
		int v = buf[i];
		if (kinds[i % nch] == 0 ? (v > -19700 || v < -20300) : (v > 300 || v < -300))
			fail_msg("sample %zu (channel slot %zu) = %d", i, i % nch, v);
	}
}

static void daq_capture(const char *base)
{
	struct rig_daq *daq = open_daq(base);
	const struct rig_daq_info *info = rig_daq_get_info(daq);
	const unsigned kinds[2] = {0, 1};
	int16_t *buf;

	assert_int_equal(info->id.device_type, RIG_DEVICE_DAQ);
	assert_int_equal(info->channels, 4);
	assert_int_equal(info->max_rate_hz, 50000);
	assert_int_equal(info->capacity, 1048576);
	buf = capture(daq, 20000, 3000, 0x0003);
	assert_int_equal(rig_daq_capture_size(daq), 6000);
	check_rest(buf, 6000, kinds, 2);
	free(buf);
	/* Again from DONE, on nest 1 only. */
	buf = capture(daq, 5000, 500, 0x000C);
	check_rest(buf, 1000, kinds, 2);
	free(buf);
	rig_daq_close(daq);
}

static void daq_capture_tcp(void **state)
{
	daq_capture(((struct fix *)*state)->tcp);
}

static void daq_capture_rtu(void **state)
{
	daq_capture(((struct fix *)*state)->rtu);
}

/* 4 channels x 12000 samples: three pages of the 16384-sample window. */
static void daq_multi_page(void **state)
{
	struct fix *f = *state;
	struct rig_daq *daq = open_daq(f->tcp);
	const unsigned kinds[4] = {0, 1, 0, 1};
	int16_t *buf = capture(daq, 50000, 12000, 0x000F);

	check_rest(buf, 48000, kinds, 4);
	/* Had the page not changed, page 1 would repeat page 0. */
	assert_memory_not_equal(buf, buf + 16384, 1000 * sizeof(int16_t));
	assert_memory_not_equal(buf + 16384, buf + 32768, 1000 * sizeof(int16_t));
	free(buf);
	rig_daq_close(daq);
}

/* The idle callback of a collect: is the capture still running when a
 * window read is about to be made? (asked over a second connection) */
struct watch {
	struct rig_daq *other;
	unsigned reads_while_capturing, calls;
};

static int watch_idle(void *arg)
{
	struct watch *w = arg;
	enum rig_daq_status status;
	expect(rig_daq_status(w->other, &status, NULL), 0);
	w->calls++;
	w->reads_while_capturing += status == RIG_DAQ_CAPTURING;
	return 0;
}

/* Collect 4 channels x 2000 samples at 1 kHz (2 s simulated, 200 ms real;
 * 64 Modbus blocks): the result equals the finished buffer read again; a
 * map-2 DAQ is read while it captures (most blocks), a map-1 DAQ only after
 * (the idle calls while capturing are then the status polls, about 10). */
static unsigned collect_and_compare(const char *base)
{
	struct rig_daq *daq = open_daq(base);
	struct watch w = {open_daq(base), 0, 0};
	struct rig_daq_config cfg = {1000, 2000, 0x000F, RIG_DAQ_TRIGGER_IMMEDIATE};
	size_t n = 0, total;
	int16_t *got, *again;

	expect(rig_daq_configure(daq, &cfg), 0);
	total = rig_daq_capture_size(daq);
	got = malloc(total * sizeof(int16_t));
	again = malloc(total * sizeof(int16_t));
	assert_non_null(got);
	assert_non_null(again);
	expect(rig_daq_arm(daq), 0);
	expect(rig_daq_collect_idle(daq, got, total, &n, 5000, watch_idle, &w), 0);
	assert_int_equal(n, total);
	expect(rig_daq_read(daq, again, total, &n), 0);
	assert_memory_equal(got, again, total * sizeof(int16_t));
	assert_true(w.calls >= 64); /* one per 125-sample block at least */
	free(got);
	free(again);
	rig_daq_close(w.other);
	rig_daq_close(daq);
	return w.reads_while_capturing;
}

static void daq_collect_streams(void **state)
{
	struct fix *f = *state;
	unsigned streamed = collect_and_compare(f->tcp), polled;
	sim_daq_inject_map_version(1);
	polled = collect_and_compare(f->tcp);
	print_message("idle calls while capturing: map 2 %u, map 1 %u\n", streamed, polled);
	assert_true(streamed >= 32);
	assert_true(polled < 32);
	sim_daq_inject_map_version(0);
}

static void daq_software_trigger(void **state)
{
	struct fix *f = *state;
	struct rig_daq *daq = open_daq(f->tcp);
	struct rig_daq_config cfg = {10000, 1000, 0x1, RIG_DAQ_TRIGGER_SOFTWARE};
	enum rig_daq_status status;
	uint32_t captured;
	int64_t t0;

	expect(rig_daq_configure(daq, &cfg), 0);
	expect(rig_daq_arm(daq), 0);
	expect(rig_daq_status(daq, &status, &captured), 0);
	assert_int_equal(status, RIG_DAQ_ARMED);
	assert_string_equal(rig_daq_status_name(status), "ARMED");
	t0 = rig_clock_ms();
	expect(rig_daq_wait(daq, 100), RIG_ERR_TIMEOUT);
	assert_true(rig_clock_ms() - t0 < 400);
	assert_non_null(strstr(rig_last_error(), "ARMED"));
	expect(rig_daq_trigger(daq), 0);
	expect(rig_daq_wait(daq, 2000), 0);
	expect(rig_daq_abort(daq), 0);
	expect(rig_daq_status(daq, &status, NULL), 0);
	assert_int_equal(status, RIG_DAQ_IDLE);
	expect(rig_daq_wait(daq, 100), RIG_ERR_STATE);
	expect(rig_daq_trigger(daq), RIG_ERR_BUSY); /* not armed */
	rig_daq_close(daq);
}

static void daq_limits(void **state)
{
	struct fix *f = *state;
	struct rig_daq *daq = open_daq(f->tcp);
	struct rig_daq_config bad_rate = {60000, 10, 0x1, RIG_DAQ_TRIGGER_IMMEDIATE};
	struct rig_daq_config bad_mask = {1000, 10, 0x10, RIG_DAQ_TRIGGER_IMMEDIATE};
	struct rig_daq_config too_long = {1000, 600000, 0x3, RIG_DAQ_TRIGGER_IMMEDIATE};
	struct rig_daq_config ok = {1000, 1000, 0x3, RIG_DAQ_TRIGGER_IMMEDIATE};
	int16_t small[10], *buf = malloc(2000 * sizeof(int16_t));

	expect(rig_daq_arm(daq), RIG_ERR_STATE); /* not configured */
	expect(rig_daq_configure(daq, &bad_rate), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "60000 Hz"));
	expect(rig_daq_configure(daq, &bad_mask), RIG_ERR_RANGE);
	expect(rig_daq_configure(daq, &too_long), RIG_ERR_RANGE);
	assert_non_null(strstr(rig_last_error(), "buffer"));
	expect(rig_daq_configure(daq, &ok), 0);
	expect(rig_daq_arm(daq), 0);
	expect(rig_daq_read(daq, small, 10, NULL), RIG_ERR_ARG);
	expect(rig_daq_read(daq, buf, 2000, NULL), RIG_ERR_STATE); /* capturing */
	expect(rig_daq_arm(daq), RIG_ERR_BUSY);
	free(buf);
	rig_daq_close(daq);
}

static void daq_overrun(void **state)
{
	struct fix *f = *state;
	struct rig_daq *daq = open_daq(f->tcp);
	struct rig_daq_config cfg = {20000, 2000, 0x3, RIG_DAQ_TRIGGER_IMMEDIATE};

	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_DAQ_OVERRUN, 0, 0), 0);
	expect(rig_daq_configure(daq, &cfg), 0);
	expect(rig_daq_arm(daq), 0);
	expect(rig_daq_wait(daq, 2000), RIG_ERR_OVERRUN);
	assert_non_null(strstr(rig_last_error(), "must not be used"));
	free(capture(daq, 20000, 2000, 0x3)); /* configure recovers from FAULT */
	rig_daq_close(daq);
}

static void wrong_device(void **state)
{
	struct fix *f = *state;
	struct rig_displacement *ds = NULL;
	struct rig_force *fs = NULL;
	struct rig_daq *daq = NULL;
	char want[160];

	expect(rig_displacement_open(uri(f->tcp, 11), &ds), RIG_ERR_NOT_FOUND);
	snprintf(want, sizeof(want), "unit 11 at %s is a force sensor (0x4653), expected a "
		 "displacement sensor", f->tcp);
	assert_non_null(strstr(rig_last_error(), want));
	assert_null(ds);
	expect(rig_force_open(uri(f->tcp, 1), &fs), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "is a DAQ (0x4451), expected a force sensor"));
	expect(rig_daq_open(uri(f->tcp, 12), &daq), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "is a displacement sensor"));
	expect(rig_daq_open(uri(f->tcp, 40), &daq), RIG_ERR_NOT_FOUND); /* nobody */
	assert_non_null(strstr(rig_last_error(), "gateway target"));
	expect(rig_daq_open("modbus-tcp://127.0.0.1:1?unit", &daq), RIG_ERR_FORMAT);
}

static void sensors(const char *base)
{
	struct rig_displacement *ds = NULL;
	struct rig_force *fs = NULL;
	struct rig_sensor_reading r;
	double sum = 0;

	expect(rig_displacement_open(uri(base, 12), &ds), 0);
	expect(rig_force_open(uri(base, 13), &fs), 0);
	assert_true(rig_displacement_get_info(ds)->range == 5000.0);
	assert_true(rig_force_get_info(fs)->range == 20000.0);
	assert_int_equal(rig_force_get_info(fs)->id.map_version, 1);
	expect(rig_displacement_read(ds, &r), 0);
	assert_int_equal(r.status, RIG_SENSOR_OK);
	assert_true(fabs(r.value + 2000) < 40); /* offset up to 20 µm */
	assert_int_equal(r.flags & RIG_SENSOR_FLAG_REFERENCED, 0);
	expect(rig_displacement_zero(ds), 0);
	for (int i = 0; i < 20; i++) {
		expect(rig_displacement_read(ds, &r), 0);
		sum += r.value;
	}
	assert_true(fabs(sum / 20 + 2000) < 1.5);
	assert_true(r.flags & RIG_SENSOR_FLAG_REFERENCED);
	expect(rig_force_tare(fs), 0);
	expect(rig_force_read(fs, &r), 0);
	assert_true(fabs(r.value) < 30);
	expect(rig_force_clear(fs), 0);
	expect(rig_displacement_clear(ds), 0);
	rig_displacement_close(ds);
	rig_force_close(fs);
}

static void sensors_tcp(void **state)
{
	sensors(((struct fix *)*state)->tcp);
}

static void sensors_rtu(void **state)
{
	sensors(((struct fix *)*state)->rtu);
}

static void dead_sensor(void **state)
{
	struct fix *f = *state;
	struct rig_force *fs = NULL;
	struct rig_sensor_reading r;

	expect(rig_force_open(uri(f->tcp, 11), &fs), 0);
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_DEAD_FORCE, 0, 1), 0);
	expect(rig_force_read(fs, &r), RIG_ERR_INSTRUMENT);
	assert_int_equal(r.status, RIG_SENSOR_FAULT);
	assert_true(r.flags & RIG_SENSOR_FLAG_FAULT);
	assert_non_null(strstr(rig_last_error(), "force sensor reports FAULT"));
	expect(rig_force_tare(fs), RIG_ERR_INSTRUMENT);
	assert_non_null(strstr(rig_last_error(), "slave device failure"));
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_DEAD_FORCE, 0, 0), 0);
	expect(rig_force_read(fs, &r), 0);
	rig_force_close(fs);
}

/* The station stops while the rig waits: an error within about a second. */
static void station_gone_during_wait(void **state)
{
	struct fix *f = *state;
	struct rig_daq *daq = open_daq(f->tcp);
	struct rig_daq_config cfg = {1000, 100000, 0x1, RIG_DAQ_TRIGGER_IMMEDIATE};
	int64_t t0;

	expect(rig_daq_configure(daq, &cfg), 0);
	expect(rig_daq_arm(daq), 0);
	sim_station_stop(f->st);
	t0 = rig_clock_ms();
	expect(rig_daq_wait(daq, 10000), RIG_ERR_DISCONNECTED);
	assert_true(rig_clock_ms() - t0 < 1200);
	rig_daq_close(daq);
}

/* ---- a running pen, end to end ---- */

static void pen_command(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, uint16_t len)
{
	uint8_t req[64], rsp[2 * 1036];
	size_t n;

	req[0] = 0xA5;
	req[1] = 0x5A;
	req[2] = 0x01;
	req[3] = cmd;
	rigi_put_u16le(req + 4, cmd);
	rigi_put_u16le(req + 6, len);
	memcpy(req + 8, p, len);
	rigi_put_u32le(req + 8 + len, rigi_crc32(req + 2, 6u + len));
	n = sim_pen_receive(pen, req, 12u + len, rsp, sizeof(rsp));
	assert_true(n >= 13);
	assert_int_equal(rsp[3], cmd | 0x80);
	assert_int_equal(rsp[8], 0); /* status OK */
}

/* Count strokes: upward crossings of the mid level, with hysteresis. */
static int count_strokes(const int16_t *buf, size_t n, unsigned nch, int *lo, int *hi)
{
	int strokes = 0, armed = 0, mid;
	*lo = INT16_MAX;
	*hi = INT16_MIN;
	for (size_t k = 0; k < n; k++) {
		*lo = buf[k * nch] < *lo ? buf[k * nch] : *lo;
		*hi = buf[k * nch] > *hi ? buf[k * nch] : *hi;
	}
	mid = (*lo + *hi) / 2;
	for (size_t k = 0; k < n; k++) {
		int v = buf[k * nch];
		if (v < mid - (*hi - *lo) / 4)
			armed = 1;
		else if (armed && v > mid + (*hi - *lo) / 4) {
			strokes++;
			armed = 0;
		}
	}
	return strokes;
}

static void pen_strokes_captured(void **state)
{
	struct fix *f = *state;
	char *dir = ts_mkdtemp("instr-pen");
	struct sim_pen_config pc = {.seed = 5, .state_dir = dir, .clock = &f->clock};
	struct sim_pen *pen;
	struct rig_daq *daq = open_daq(f->tcp);
	struct rig_displacement *ds = NULL;
	struct rig_sensor_reading r;
	struct rig_daq_config cfg = {20000, 10000, 0x3, RIG_DAQ_TRIGGER_IMMEDIATE};
	const uint8_t user[4] = {0xE8, 0x03, 0x70, 0x17}; /* 1000 µm, 6000 strokes/min */
	const uint8_t on = 1;
	int16_t *buf = malloc(20000 * sizeof(int16_t));
	int strokes, lo, hi;

	snprintf(pc.serial, sizeof(pc.serial), "MN1-000007");
	pen = sim_pen_new(&pc);
	assert_non_null(pen);
	pen_command(pen, 0x10, user, 4);
	pen_command(pen, 0x12, &on, 1);
	assert_int_equal(sim_station_set_pen(f->st, 0, pen), 0);
	expect(rig_displacement_open(uri(f->tcp, 10), &ds), 0);
	expect(rig_displacement_zero(ds), 0);
	/* 0.5 s simulated; slow readings of the same nest during the capture
	 * must not disturb the captured waveform. */
	expect(rig_daq_configure(daq, &cfg), 0);
	expect(rig_daq_arm(daq), 0);
	for (int i = 0; i < 5; i++) {
		rig_sleep_ns(5000000);
		rig_displacement_read(ds, &r);
	}
	expect(rig_daq_wait(daq, 5000), 0);
	expect(rig_daq_read(daq, buf, 20000, NULL), 0);
	strokes = count_strokes(buf, 10000, 2, &lo, &hi);
	/* ~100 strokes/s (unit spread 10 %, sag under load) for 0.5 s. */
	if (strokes < 35 || strokes > 65 || hi - lo < 3000)
		fail_msg("%d strokes, displacement %d .. %d counts", strokes, lo, hi);
	assert_int_equal(sim_station_set_pen(f->st, 0, NULL), 0);
	rig_displacement_close(ds);
	rig_daq_close(daq);
	sim_pen_free(pen);
	free(buf);
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(daq_capture_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_capture_rtu, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_multi_page, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_collect_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_software_trigger, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_device, setup, teardown),
		cmocka_unit_test_setup_teardown(sensors_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(sensors_rtu, setup, teardown),
		cmocka_unit_test_setup_teardown(dead_sensor, setup, teardown),
		cmocka_unit_test_setup_teardown(station_gone_during_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(pen_strokes_captured, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
