/* Tests of the simulated station's instruments at the register level, as
 * docs/registers.md specifies them (raw addresses, not the rig's drivers):
 * identity blocks, unlisted addresses and invalid values, the DAQ state
 * machine and buffer window, the sensor model's statistics, ZERO / TARE,
 * injected faults, RTU service, and reproducibility from the seed. */
#include <math.h>
#include <pty.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "instr/modbus.h"
#include "daqsim.h"
#include "station.h"
#include "testsupport.h"
/* Included twice on purpose: its include guard must cover the whole header
 * (struct ts_station would be defined twice). */
#include "testsupport.h"

#define SEED 1234
#define N_NESTS 2

struct fix {
	struct sim_clock clock;
	struct sim_station *st;
	struct rigi_mb *daq, *disp0, *force0, *disp1;
	char base[64];
};

static struct sim_station *new_station(uint64_t seed, const struct sim_clock *clock, int rtu_fd)
{
	struct sim_station_config cfg = {.n_nests = N_NESTS, .seed = seed, .clock = clock,
					 .rtu_fd = rtu_fd};
	struct sim_station *st = NULL;
	assert_int_equal(sim_station_new(&cfg, &st), 0);
	assert_int_equal(sim_station_start(st), 0);
	return st;
}

static struct rigi_mb *open_unit(const char *base, int unit)
{
	char text[128];
	struct rig_uri u;
	struct rigi_mb *mb = NULL;
	snprintf(text, sizeof(text), "%s?unit=%d", base, unit);
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(rigi_mb_open(&u, &mb), 0);
	return mb;
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	sim_clock_init(&f->clock, 20.0); /* captures 20 times faster than real time */
	f->st = new_station(SEED, &f->clock, 0);
	snprintf(f->base, sizeof(f->base), "modbus-tcp://127.0.0.1:%u", sim_station_port(f->st));
	f->daq = open_unit(f->base, 1);
	f->disp0 = open_unit(f->base, 10);
	f->force0 = open_unit(f->base, 11);
	f->disp1 = open_unit(f->base, 12);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	rigi_mb_close(f->daq);
	rigi_mb_close(f->disp0);
	rigi_mb_close(f->force0);
	rigi_mb_close(f->disp1);
	sim_station_free(f->st);
	free(f);
	return 0;
}

static uint16_t reg(struct rigi_mb *mb, uint16_t addr)
{
	uint16_t v;
	assert_int_equal(rigi_mb_read_input(mb, addr, 1, &v), 0);
	return v;
}

static void identity(void **state)
{
	struct fix *f = *state;
	uint16_t r[10];

	assert_int_equal(rigi_mb_read_input(f->daq, 0, 10, r), 0);
	assert_int_equal(r[0], 0x4451);
	assert_int_equal(r[1], 2); /* the DAQ's map 2: its window reads while capturing */
	assert_int_equal(r[5], 2 * N_NESTS);
	assert_int_equal(rigi_mb_u32(r + 6), 50000);
	assert_int_equal(rigi_mb_u32(r + 8), 1048576);
	assert_int_equal(rigi_mb_read_input(f->disp0, 0, 5, r), 0);
	assert_int_equal(r[0], 0x4453);
	assert_int_equal(r[1], 1);
	assert_int_equal(rigi_mb_read_input(f->disp0, 0x14, 2, r), 0);
	assert_int_equal(rigi_mb_u32(r), 50000); /* +/-5000.0 µm in 0.1 µm */
	assert_int_equal(rigi_mb_read_input(f->force0, 0, 5, r), 0);
	assert_int_equal(r[0], 0x4653);
	assert_int_equal(rigi_mb_read_input(f->force0, 0x14, 2, r), 0);
	assert_int_equal(rigi_mb_u32(r), 20000);
	assert_int_equal(rigi_mb_read_holding(f->force0, 0x100, 1, r), 0);
	assert_int_equal(r[0], 0); /* command reads 0 */
}

static void expect(int ret, int err)
{
	if (ret != err)
		fail_msg("got %s (%s), expected %s", rig_errname(ret), rig_last_error(),
			 rig_errname(err));
}

static void unlisted_and_invalid(void **state)
{
	struct fix *f = *state;
	uint16_t r[20];
	struct rigi_mb *absent = open_unit(f->base, 14); /* nest 2 of a 2-nest station */

	expect(rigi_mb_read_input(f->disp0, 0x0005, 1, r), RIG_ERR_RANGE);
	expect(rigi_mb_read_input(f->disp0, 0x0000, 17, r), RIG_ERR_RANGE); /* spans a gap */
	expect(rigi_mb_read_input(f->force0, 0x0016, 1, r), RIG_ERR_RANGE);
	expect(rigi_mb_read_holding(f->force0, 0x0101, 1, r), RIG_ERR_RANGE);
	expect(rigi_mb_write(f->force0, 0x0100, 9), RIG_ERR_RANGE); /* unknown command */
	expect(rigi_mb_read_input(f->daq, 0x000A, 1, r), RIG_ERR_RANGE);
	expect(rigi_mb_read_input(f->daq, 0x4000, 1, r), RIG_ERR_BUSY); /* no capture */
	expect(rigi_mb_write_u32(f->daq, 0x0101, 0), RIG_ERR_RANGE);     /* rate 0 */
	expect(rigi_mb_write_u32(f->daq, 0x0101, 50001), RIG_ERR_RANGE);
	expect(rigi_mb_write_u32(f->daq, 0x0103, 1048577), RIG_ERR_RANGE);
	expect(rigi_mb_write(f->daq, 0x0105, 0x0010), RIG_ERR_RANGE);   /* channel 4 */
	expect(rigi_mb_write(f->daq, 0x0105, 0), RIG_ERR_RANGE);
	expect(rigi_mb_write(f->daq, 0x0106, 2), RIG_ERR_RANGE);
	expect(rigi_mb_write(f->daq, 0x0107, 64), RIG_ERR_RANGE);
	expect(rigi_mb_write(f->daq, 0x0100, 5), RIG_ERR_RANGE);
	expect(rigi_mb_read_input(absent, 0, 1, r), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "gateway target"));
	rigi_mb_close(absent);
}

/* Unit 0 (broadcast) over TCP: the station has no unit 0 and serves no
 * broadcast, so it answers like any absent unit (docs/sim-station.md). */
static void unit_zero_over_tcp(void **state)
{
	struct fix *f = *state;
	uint16_t r[2] = {0, 0};
	struct rigi_mb *bcast = open_unit(f->base, 0);
	expect(rigi_mb_read_input(bcast, 0, 1, r), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "exception 0x0B gateway target"));
	expect(rigi_mb_write(bcast, 0x0100, 1), RIG_ERR_NOT_FOUND); /* no DAQ armed by it */
	assert_int_equal(reg(f->daq, 0x0010), 0); /* still IDLE */
	rigi_mb_close(bcast);
}

static void wait_status(struct rigi_mb *daq, uint16_t want)
{
	int64_t t0 = rig_clock_ms();
	while (reg(daq, 0x10) != want) {
		assert_true(rig_clock_ms() - t0 < 3000);
		rig_sleep_ns(2000000);
	}
}

/* rate, samples per channel, mask, trigger; then ARM. */
static void configure_and_arm(struct rigi_mb *daq, uint32_t rate, uint32_t count,
			      uint16_t mask, uint16_t trigger)
{
	uint16_t cfg[6];
	rigi_mb_put_u32(cfg, rate);
	rigi_mb_put_u32(cfg + 2, count);
	cfg[4] = mask;
	cfg[5] = trigger;
	assert_int_equal(rigi_mb_write_many(daq, 0x0101, 6, cfg), 0);
	assert_int_equal(rigi_mb_write(daq, 0x0100, 1), 0);
}

static void daq_state_machine(void **state)
{
	struct fix *f = *state;
	uint16_t r[RIGI_MB_MAX_READ], back[6], early[2];
	uint32_t captured;

	/* 5000 samples at 1 kHz: 5 s simulated, 250 ms real. */
	configure_and_arm(f->daq, 1000, 5000, 0x0003, 1);
	assert_int_equal(reg(f->daq, 0x10), 1); /* ARMED */
	assert_int_equal(rigi_mb_read_holding(f->daq, 0x0101, 6, back), 0);
	assert_int_equal(rigi_mb_u32(back), 1000);
	assert_int_equal(rigi_mb_u32(back + 2), 5000);
	expect(rigi_mb_write(f->daq, 0x0105, 0x1), RIG_ERR_BUSY);
	expect(rigi_mb_write(f->daq, 0x0100, 1), RIG_ERR_BUSY); /* ARM twice */
	assert_int_equal(rigi_mb_write(f->daq, 0x0100, 3), 0);  /* TRIGGER */
	assert_int_equal(reg(f->daq, 0x10), 2);                 /* CAPTURING */
	/* Map 2: while capturing, the window reads below the samples taken. */
	expect(rigi_mb_read_input(f->daq, 0x4000 + 9000, 1, r), RIG_ERR_BUSY);
	rig_sleep_ns(50000000);
	assert_int_equal(rigi_mb_read_input_u32(f->daq, 0x12, &captured), 0);
	assert_true(captured > 0 && captured < 5000);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x4000, 2, early), 0);
	expect(rigi_mb_read_input(f->daq, 0x4000 + 9998, 2, r), RIG_ERR_BUSY);
	/* Map 1: only when DONE. */
	sim_daq_inject_map_version(1);
	expect(rigi_mb_read_input(f->daq, 0x4000, 2, r), RIG_ERR_BUSY);
	sim_daq_inject_map_version(0);
	wait_status(f->daq, 3);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x4000, 2, r), 0);
	assert_memory_equal(r, early, sizeof(early)); /* the same samples, early or late */
	assert_int_equal(rigi_mb_read_input_u32(f->daq, 0x12, &captured), 0);
	assert_int_equal(captured, 5000);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x4000, RIGI_MB_MAX_READ, r), 0);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x4000 + 9999, 1, r), 0);
	expect(rigi_mb_read_input(f->daq, 0x4000 + 9900, RIGI_MB_MAX_READ, r), RIG_ERR_RANGE);
	assert_int_equal(rigi_mb_write(f->daq, 0x0107, 1), 0); /* page 1: beyond the data */
	expect(rigi_mb_read_input(f->daq, 0x4000, 1, r), RIG_ERR_RANGE);
	assert_int_equal(rigi_mb_write(f->daq, 0x0107, 0), 0);
	assert_int_equal(rigi_mb_write(f->daq, 0x0100, 2), 0); /* ABORT */
	assert_int_equal(reg(f->daq, 0x10), 0);
	expect(rigi_mb_write(f->daq, 0x0100, 3), RIG_ERR_BUSY); /* TRIGGER when idle */
	/* Each value valid, the whole not: 600000 x 2 channels > capacity. */
	configure_and_arm(f->daq, 1000, 600000, 0x0003, 0);
	assert_int_equal(reg(f->daq, 0x10), 0);
	assert_int_equal(reg(f->daq, 0x11), 0x0004); /* CONFIG_ERROR */
	assert_int_equal(rigi_mb_write(f->daq, 0x0100, 4), 0);
	assert_int_equal(reg(f->daq, 0x11), 0);
}

/* Read a finished capture through the window, page by page. */
static void read_capture(struct rigi_mb *daq, int16_t *out, size_t total)
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

static int16_t *capture(struct rigi_mb *daq, uint32_t rate, uint32_t count, uint16_t mask)
{
	unsigned nch = (unsigned)__builtin_popcount(mask);
	int16_t *buf = malloc(count * nch * sizeof(int16_t));
	configure_and_arm(daq, rate, count, mask, 0);
	wait_status(daq, 3);
	read_capture(daq, buf, count * nch);
	return buf;
}

static void channel_stats(const int16_t *buf, size_t n, unsigned nch, unsigned ch, double *mean,
			  double *sd)
{
	double s = 0, s2 = 0;
	for (size_t k = 0; k < n; k++) {
		double v = buf[k * nch + ch];
		s += v;
		s2 += v * v;
	}
	*mean = s / n;
	*sd = sqrt(s2 / n - *mean * *mean);
}

/* Empty nests: tips at rest at -2000 µm (-20000 counts of 0.1 µm) plus each
 * sensor's offset (within 20 µm, 200 mN), noise 1 µm and 5 mN rms. */
static void capture_statistics(void **state)
{
	struct fix *f = *state;
	const size_t n = 4000;
	int16_t *buf = capture(f->daq, 20000, n, 0x000F);
	double mean[4], sd[4];

	for (unsigned ch = 0; ch < 4; ch++)
		channel_stats(buf, n, 4, ch, &mean[ch], &sd[ch]);
	for (unsigned nest = 0; nest < 2; nest++) {
		assert_true(fabs(mean[2 * nest] + 20000) < 250);
		assert_true(sd[2 * nest] > 8.5 && sd[2 * nest] < 11.5);
		assert_true(fabs(mean[2 * nest + 1]) < 250);
		assert_true(sd[2 * nest + 1] > 4.2 && sd[2 * nest + 1] < 5.8);
	}
	assert_true(fabs(mean[0] - mean[2]) > 0.5); /* each sensor its own offset */
	free(buf);
}

/* Mean of @p n slow readings of the value register (counts). */
static double slow_mean(struct rigi_mb *mb, int n, double *sd)
{
	double s = 0, s2 = 0;
	uint16_t r[4];
	for (int i = 0; i < n; i++) {
		double v;
		assert_int_equal(rigi_mb_read_input(mb, 0x10, 4, r), 0);
		v = rigi_mb_i32(r + 2);
		s += v;
		s2 += v * v;
	}
	if (sd)
		*sd = sqrt(s2 / n - (s / n) * (s / n));
	return s / n;
}

static void zero_and_tare(void **state)
{
	struct fix *f = *state;
	double sd;

	assert_int_equal(reg(f->disp0, 0x11) & 0x4, 0);
	assert_int_equal(rigi_mb_write(f->disp0, 0x100, 1), 0); /* ZERO */
	assert_int_equal(reg(f->disp0, 0x11) & 0x4, 0x4);       /* ZEROED */
	/* Offset removed: -2000.0 µm within the residual of 1/8 µm and the
	 * mean's noise (1 µm / sqrt(100)). */
	assert_true(fabs(slow_mean(f->disp0, 100, &sd) + 20000) < 6);
	assert_true(sd > 7 && sd < 13);
	assert_int_equal(rigi_mb_write(f->force0, 0x100, 1), 0); /* TARE */
	assert_true(fabs(slow_mean(f->force0, 100, NULL)) < 4);
	assert_int_equal(rigi_mb_write(f->force0, 0x100, 2), 0); /* CLEAR_FLAGS */
	assert_int_equal(reg(f->force0, 0x11), 0x4);             /* TARED stays */
}

static void sensor_faults(void **state)
{
	struct fix *f = *state;
	uint16_t a[4], b[4];
	double sd;

	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_DEAD_DISPLACEMENT, 0, 1), 0);
	assert_int_equal(rigi_mb_read_input(f->disp0, 0x10, 4, a), 0);
	assert_int_equal(rigi_mb_read_input(f->disp0, 0x10, 4, b), 0);
	assert_int_equal(a[0], 2);              /* FAULT */
	assert_int_equal(a[1] & 0x2, 0x2);
	assert_memory_equal(a, b, sizeof(a));   /* frozen */
	expect(rigi_mb_write(f->disp0, 0x100, 1), RIG_ERR_INSTRUMENT); /* exception 4 */
	assert_int_equal(reg(f->disp1, 0x10), 0); /* the other nest is fine */
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_NOISY_FORCE, 0, 1), 0);
	slow_mean(f->force0, 200, &sd);
	assert_true(sd > 80 && sd < 120); /* 5 mN x 20 */
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_CLEAR, 0, 0), 0);
	assert_int_equal(reg(f->disp0, 0x10), 0);
	slow_mean(f->force0, 200, &sd);
	assert_true(sd < 7);
}

static void daq_overrun(void **state)
{
	struct fix *f = *state;
	uint16_t r[5];

	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_DAQ_OVERRUN, 0, 0), 0);
	configure_and_arm(f->daq, 10000, 1000, 0x3, 0);
	wait_status(f->daq, 4);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x10, 5, r), 0);
	assert_int_equal(r[1], 0x0003); /* OVERRUN | FAULT */
	assert_int_equal(r[4], 3);      /* fault code: overrun */
	assert_int_equal(rigi_mb_u32(r + 2), 1000); /* 0x0012: it ran to its end */
	/* In FAULT the window gets exception 0x04 (waiting cannot help), the
	 * status block reads normally and ARM is refused (0x06). */
	expect(rigi_mb_read_input(f->daq, 0x4000, 1, r), RIG_ERR_INSTRUMENT);
	assert_non_null(strstr(rig_last_error(), "exception 0x04"));
	expect(rigi_mb_write(f->daq, 0x100, 1), RIG_ERR_BUSY);
	assert_int_equal(reg(f->daq, 0x10), 4);
	assert_int_equal(rigi_mb_write(f->daq, 0x100, 4), 0);
	assert_int_equal(rigi_mb_read_input(f->daq, 0x10, 5, r), 0);
	assert_int_equal(r[0], 0); /* IDLE */
	assert_int_equal(rigi_mb_u32(r + 2), 0);
	/* Only one capture is spoiled. */
	configure_and_arm(f->daq, 10000, 1000, 0x3, 0);
	wait_status(f->daq, 3);
}

static void link_faults(void **state)
{
	struct fix *f = *state;
	uint16_t r;

	expect(sim_station_inject(f->st, SIM_STATION_FAULT_LINK_DROP, 0, 0), RIG_ERR_ARG);
	expect(sim_station_inject(f->st, SIM_STATION_FAULT_DEAD_FORCE, 5, 1), RIG_ERR_ARG);
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_LATE_REPLY, 0, 300), 0);
	expect(rigi_mb_read_input(f->daq, 0, 1, &r), RIG_ERR_TIMEOUT);
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_LATE_REPLY, 0, 0), 0);
	assert_int_equal(reg(f->daq, 0), 0x4451);
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_LINK_DROP, 0, 30), 0);
	expect(rigi_mb_read_input(f->daq, 0, 1, &r), RIG_ERR_DISCONNECTED);
	assert_int_equal(sim_station_inject(f->st, SIM_STATION_FAULT_CLEAR, 0, 0), 0);
	assert_int_equal(reg(f->daq, 0), 0x4451); /* CLEAR ended the drop */
	for (int i = 0; i <= SIM_STATION_FAULT_NOISY_FORCE; i++)
		assert_int_equal(sim_station_fault_parse(sim_station_fault_name(i)), i);
	assert_int_equal(sim_station_fault_parse("meteor"), -1);
}

/* Every unit answers over RTU on a pty as well as over TCP. */
static void serves_rtu(void **state)
{
	struct sim_station *st;
	struct rigi_mb *daq, *force1;
	struct termios t;
	int master, slave;
	char name[64], base[96];
	uint16_t r[RIGI_MB_MAX_READ];
	(void)state;

	if (openpty(&master, &slave, NULL, NULL, NULL) < 0 || ttyname_r(slave, name, sizeof(name)))
		skip();
	tcgetattr(slave, &t);
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	st = new_station(SEED, NULL, master);
	snprintf(base, sizeof(base), "modbus-rtu://%s", name);
	daq = open_unit(base, 1);
	force1 = open_unit(base, 13);
	assert_int_equal(reg(daq, 0), 0x4451);
	assert_int_equal(reg(force1, 0), 0x4653);
	configure_and_arm(daq, 50000, 1000, 0x3, 0);
	wait_status(daq, 3);
	assert_int_equal(rigi_mb_read_input(daq, 0x4000, RIGI_MB_MAX_READ, r), 0);
	assert_true((int16_t)r[0] < -19000 && (int16_t)r[0] > -21000);
	rigi_mb_close(daq);
	rigi_mb_close(force1);
	sim_station_free(st);
	close(master);
	close(slave);
}

static struct sim_pen *rest_pen(const char *dir)
{
	struct sim_pen_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 77;
	snprintf(cfg.serial, sizeof(cfg.serial), "MN1-000042");
	cfg.state_dir = dir;
	return sim_pen_new(&cfg);
}

/* One capture of 0.1 s from a fresh station (real-time clock). */
static int16_t *fresh_capture(uint64_t seed, bool with_pen)
{
	char *dir = with_pen ? ts_mkdtemp("station-pen") : NULL;
	struct sim_pen *pen = with_pen ? rest_pen(dir) : NULL;
	struct sim_station *st = new_station(seed, NULL, 0);
	char base[64];
	struct rigi_mb *daq;
	int16_t *buf;

	if (with_pen) {
		assert_non_null(pen);
		assert_int_equal(sim_station_set_pen(st, 0, pen), 0);
	}
	snprintf(base, sizeof(base), "modbus-tcp://127.0.0.1:%u", sim_station_port(st));
	daq = open_unit(base, 1);
	buf = capture(daq, 20000, 2000, 0x000F);
	rigi_mb_close(daq);
	sim_station_free(st);
	sim_pen_free(pen);
	ts_rmtree(dir);
	free(dir);
	return buf;
}

static void reproducible_from_seed(void **state)
{
	const size_t bytes = 2000 * 4 * sizeof(int16_t);
	int16_t *a = fresh_capture(SEED, false), *b = fresh_capture(SEED, false);
	int16_t *c = fresh_capture(SEED + 1, false);
	int16_t *pa = fresh_capture(SEED, true), *pb = fresh_capture(SEED, true);
	(void)state;

	assert_memory_equal(a, b, bytes);
	assert_memory_not_equal(a, c, bytes);
	assert_memory_equal(pa, pb, bytes);
	assert_memory_not_equal(pa, a, bytes); /* the pen's rest position is not -2000 */
	free(a);
	free(b);
	free(c);
	free(pa);
	free(pb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identity, setup, teardown),
		cmocka_unit_test_setup_teardown(unlisted_and_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(unit_zero_over_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_state_machine, setup, teardown),
		cmocka_unit_test_setup_teardown(capture_statistics, setup, teardown),
		cmocka_unit_test_setup_teardown(zero_and_tare, setup, teardown),
		cmocka_unit_test_setup_teardown(sensor_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(daq_overrun, setup, teardown),
		cmocka_unit_test_setup_teardown(link_faults, setup, teardown),
		cmocka_unit_test(serves_rtu),
		cmocka_unit_test(reproducible_from_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
