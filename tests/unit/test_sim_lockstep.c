/* Tests of the simulated station's lockstep captures (rig/sim/station.c,
 * docs/sim-station.md "Time"): a capture runs on in slices of simulated
 * time, so one request never carries more than its budget of physics (a
 * 2 s capture computed inside the ARM request made that reply later than
 * the rig's 200 ms Modbus timeout on a loaded host: healthy units ERROR in
 * run-in, issue 11). The samples must not depend on the slicing, and the
 * capture must still end at t0 + its duration with nothing waiting. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "instr/modbus.h"
#include "pen.h"
#include "station.h"
#include "testsupport.h"

#define SEED 4321
#define RATE 20000
#define COUNT 40000 /* 2 s, the run-in's capture */
#define MASK 0x0003

static struct rigi_mb *open_daq(struct sim_station *st)
{
	char text[128];
	struct rig_uri u;
	struct rigi_mb *mb = NULL;
	snprintf(text, sizeof(text), "modbus-tcp://127.0.0.1:%u?unit=1", sim_station_port(st));
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(rigi_mb_open(&u, &mb), 0);
	return mb;
}

static uint16_t status(struct rigi_mb *daq)
{
	uint16_t v = 0;
	assert_int_equal(rigi_mb_read_input(daq, 0x0010, 1, &v), 0);
	return v;
}

static void arm(struct rigi_mb *daq)
{
	uint16_t cfg[6];
	rigi_mb_put_u32(cfg, RATE);
	rigi_mb_put_u32(cfg + 2, COUNT);
	cfg[4] = MASK;
	cfg[5] = 0; /* immediate trigger */
	assert_int_equal(rigi_mb_write_many(daq, 0x0101, 6, cfg), 0);
	assert_int_equal(rigi_mb_write(daq, 0x0100, 1), 0);
}

static void read_all(struct rigi_mb *daq, int16_t *out, size_t total)
{
	uint16_t r[RIGI_MB_MAX_READ];
	for (size_t i = 0; i < total;) {
		uint16_t off = (uint16_t)(i % 16384), n = RIGI_MB_MAX_READ;
		if (off == 0)
			assert_int_equal(rigi_mb_write(daq, 0x0107, (uint16_t)(i / 16384)), 0);
		if (n > total - i)
			n = (uint16_t)(total - i);
		if (n > 16384 - off)
			n = (uint16_t)(16384 - off);
		assert_int_equal(rigi_mb_read_input(daq, (uint16_t)(0x4000 + off), n, r), 0);
		for (uint16_t k = 0; k < n; k++)
			out[i + k] = (int16_t)r[k];
		i += n;
	}
}

/* One 2 s lockstep capture of a pen at rest with @p budget_ms; returns the
 * samples, and in @p polls the status reads it took to finish. */
static int16_t *lockstep_capture(int budget_ms, const char *dir, unsigned *polls, double *t_end)
{
	struct sim_clock clock;
	struct sim_pen_config pc;
	struct sim_station_config cfg = {.n_nests = 1, .seed = SEED, .clock = &clock,
					 .lockstep_budget_ms = budget_ms};
	struct sim_station *st = NULL;
	struct sim_pen *pen;
	struct rigi_mb *daq;
	int16_t *buf = malloc(COUNT * 2 * sizeof(int16_t));

	assert_non_null(buf);
	sim_clock_init_lockstep(&clock);
	memset(&pc, 0, sizeof(pc));
	pc.seed = SEED;
	pc.clock = &clock;
	snprintf(pc.serial, sizeof(pc.serial), "MN1-000077");
	pc.state_dir = dir;
	pen = sim_pen_new(&pc);
	assert_non_null(pen);
	assert_int_equal(sim_station_new(&cfg, &st), 0);
	assert_int_equal(sim_station_set_pen(st, 0, pen), 0);
	assert_int_equal(sim_station_start(st), 0);
	daq = open_daq(st);
	arm(daq);
	*polls = 0;
	while (status(daq) != 3) {
		assert_true(++*polls < 1000);
	}
	*t_end = sim_clock_now(&clock);
	read_all(daq, buf, COUNT * 2);
	rigi_mb_close(daq);
	sim_station_free(st);
	sim_pen_free(pen);
	return buf;
}

static void sliced_capture_is_the_same_capture(void **state)
{
	char *dir = ts_mkdtemp("lockstep");
	unsigned polls_sliced, polls_whole;
	double end_sliced, end_whole;
	(void)state;

	/* One slice (0.1 s) per request: the ARM reply comes back mid-capture
	 * and the status polls carry the rest. */
	int16_t *sliced = lockstep_capture(-1, dir, &polls_sliced, &end_sliced);
	ts_rmtree(dir);
	free(dir);
	dir = ts_mkdtemp("lockstep");
	/* A budget no host exceeds here: the capture is over by the first poll. */
	int16_t *whole = lockstep_capture(60000, dir, &polls_whole, &end_whole);
	assert_true(polls_sliced >= 2.0 / SIM_STATION_LOCKSTEP_SLICE_S - 2);
	assert_int_equal(polls_whole, 0);
	assert_memory_equal(sliced, whole, COUNT * 2 * sizeof(int16_t));
	/* Both end where a 2 s capture from t = 0 ends (to the DAQ's 20 ppm). */
	assert_true(end_sliced > 1.9999 && end_sliced < 2.0001);
	assert_true(end_whole > 1.9999 && end_whole < 2.0001);
	free(sliced);
	free(whole);
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sliced_capture_is_the_same_capture),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
