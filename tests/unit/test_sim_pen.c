/* Tests of the simulated pen's physics (rig/sim/physics.c, pen.c,
 * pen_wave.c) against its ground truth — peak and rate seen in the
 * waveform, determinism, phantom forces, backlash, drifts, every failure
 * mode — and of the DUT endpoint over a real Unix socket (one host at a
 * time, empty nest, pen swap, link cut, power loss). The pen is driven by
 * protocol frames built here from docs/protocol.md. */
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "dut_endpoint.h"
#include "pen.h"
#include "physics.h"
#include "testsupport.h"

#define FS 20000.0 /* sampling rate of the tests' captures */
#define SEED 11

struct fix {
	char *dir;
	struct sim_clock clock;
	uint8_t key[32];
	uint16_t seq;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	for (int i = 0; i < 32; i++)
		f->key[i] = (uint8_t)(3 * i + 1);
	f->dir = ts_mkdtemp("simpen");
	sim_clock_init(&f->clock, 1.0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	ts_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static struct sim_pen *pen_new(struct fix *f, const char *serial, enum sim_failure failure)
{
	struct sim_pen_config cfg;
	char dir[512];
	struct sim_pen *pen;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = SEED;
	snprintf(cfg.serial, sizeof(cfg.serial), "%s", serial);
	cfg.failure = failure;
	/* One state directory per failure mode: a serial may appear in several. */
	snprintf(dir, sizeof(dir), "%s/%d", f->dir, (int)failure);
	cfg.state_dir = dir;
	memcpy(cfg.line_key, f->key, 32);
	cfg.clock = &f->clock;
	pen = sim_pen_new(&cfg);
	assert_non_null(pen);
	return pen;
}

static size_t build(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *p, size_t len)
{
	return ts_frame_build(f, type, seq, p, len);
}

/* One request straight into the pen; returns the status, data to @p data. */
static int cmd(struct fix *f, struct sim_pen *pen, uint8_t type, const uint8_t *p, size_t len,
	       uint8_t *data)
{
	uint8_t fr[1100], out[2200];
	size_t n = sim_pen_receive(pen, fr, build(fr, type, ++f->seq, p, len), out, sizeof(out));
	assert_true(n >= 13);
	assert_int_equal(out[3], type | 0x80);
	assert_int_equal(rigi_get_u16le(out + 4), f->seq);
	if (data)
		memcpy(data, out + 9, rigi_get_u16le(out + 6) - 1u);
	return out[8];
}

static void mac_for(const struct fix *f, const char *serial, const uint8_t nonce[32],
		    uint8_t mac[32])
{
	uint8_t field[16] = {0};
	const uint8_t *parts[3] = {(const uint8_t *)"NRIG-AUTH-1", nonce, field};
	const size_t lens[3] = {11, 32, 16};
	memcpy(field, serial, strlen(serial));
	assert_int_equal(rigi_hmac_sha256(f->key, parts, lens, 3, mac), 0);
}

static void service(struct fix *f, struct sim_pen *pen, uint16_t code, uint16_t duty)
{
	uint8_t nonce[32], mac[32], p[4];
	assert_int_equal(cmd(f, pen, 0x03, NULL, 0, nonce), 0);
	mac_for(f, sim_pen_serial(pen), nonce, mac);
	assert_int_equal(cmd(f, pen, 0x04, mac, 32, NULL), 0);
	rigi_put_u16le(p, code);
	rigi_put_u16le(p + 2, duty);
	assert_int_equal(cmd(f, pen, 0x11, p, 4, NULL), 0);
}

static int motor(struct fix *f, struct sim_pen *pen, uint8_t on)
{
	return cmd(f, pen, 0x12, &on, 1, NULL);
}

static uint16_t faults(struct fix *f, struct sim_pen *pen, uint8_t *motor_on)
{
	uint8_t st[64];
	assert_int_equal(cmd(f, pen, 0x02, NULL, 0, st), 0);
	if (motor_on)
		*motor_on = st[1];
	return rigi_get_u16le(st + 2);
}

static void advance(struct fix *f, double seconds)
{
	f->clock.start_ns -= (int64_t)(seconds * 1e9);
}

static double now(const struct fix *f)
{
	return sim_clock_now(&f->clock);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Strokes of a capture: maxima between up- and down-crossings of @p level,
 * and the interpolated times of the up-crossings. Returns the count. */
static size_t strokes(const double *tip, size_t n, double level, double *peaks,
		      double *t_up)
{
	size_t k = 0;
	int above = tip[0] > level;
	double peak = -1e9;
	for (size_t i = 1; i < n; i++) {
		if (!above && tip[i] > level) {
			t_up[k] = (i - 1 + (level - tip[i - 1]) / (tip[i] - tip[i - 1])) / FS;
			above = 1;
			peak = tip[i];
		} else if (above && tip[i] > peak) {
			peak = tip[i];
		} else if (above && tip[i] <= level) {
			above = 0;
			peaks[k++] = peak;
		}
	}
	return k;
}

static double *capture(struct sim_pen *pen, double t0, size_t n, double **force)
{
	double *tip = malloc(n * sizeof(double));
	*force = malloc(n * sizeof(double));
	sim_pen_waveform(pen, t0, 1.0 / FS, n, tip, *force);
	return tip;
}

static void peak_and_rate_match_truth(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-000100", SIM_FAILURE_NONE);
	struct sim_unit u;
	struct sim_truth tr;
	size_t n = (size_t)(2 * FS), k;
	double *force, *tip, peaks[400], t_up[400], rate, lo = 1e9;

	sim_unit_draw(&u, SEED, "MN1-000100", SIM_FAILURE_NONE);
	service(f, pen, 2400, 650);
	assert_int_equal(motor(f, pen, 1), 0);
	sim_pen_truth_now(pen, &tr);
	assert_int_equal(tr.code, 2400);
	tip = capture(pen, now(f), n, &force);
	k = strokes(tip, n, tr.protrusion_um - u.throw_um / 2, peaks, t_up);
	assert_true(k > 100);
	qsort(peaks, k, sizeof(double), cmp_double);
	assert_true(fabs(peaks[k / 2] - tr.protrusion_um) < 1.0);
	rate = (double)(k - 1) / (t_up[k - 1] - t_up[0]);
	assert_true(fabs(rate / tr.rate_hz - 1.0) < 0.005);
	for (size_t i = 0; i < n; i++)
		lo = tip[i] < lo ? tip[i] : lo;
	assert_true(fabs(lo - (tr.protrusion_um - u.throw_um)) < 2.0);
	print_message("peak %.2f truth %.2f um; rate %.3f truth %.3f Hz\n", peaks[k / 2],
		      tr.protrusion_um, rate, tr.rate_hz);
	free(tip);
	free(force);
	/* Motor off: the tip rests at P - S. */
	assert_int_equal(motor(f, pen, 0), 0);
	tip = capture(pen, now(f), 100, &force);
	for (size_t i = 0; i < 100; i++)
		assert_true(fabs(tip[i] - (tr.protrusion_um - u.throw_um)) < 1e-9);
	free(tip);
	free(force);
	sim_pen_free(pen);
}

static void run_and_capture(struct fix *f, struct sim_pen *pen, double t0, size_t n,
			    double *tip, double *force)
{
	service(f, pen, 2000, 600);
	assert_int_equal(motor(f, pen, 1), 0);
	sim_pen_waveform(pen, t0, 1.0 / FS, n, tip, force);
}

static void deterministic_and_unit_specific(void **state)
{
	enum { N = 6000 };
	struct fix *f = *state;
	struct sim_pen *a = pen_new(f, "MN1-000200", SIM_FAILURE_NONE);
	struct sim_pen *b = pen_new(f, "MN1-000201", SIM_FAILURE_NONE);
	struct sim_pen *c;
	static double ta[N], fa[N], tb[N], fb[N];

	run_and_capture(f, a, 5.5, N, ta, fa);
	run_and_capture(f, b, 5.5, N, tb, fb);
	assert_memory_not_equal(ta, tb, sizeof(ta));
	sim_pen_free(a);
	sim_pen_free(b);
	/* Same seed and serial, new object, same flash: identical samples, and
	 * a capture split over two calls continues the same strokes. */
	c = pen_new(f, "MN1-000200", SIM_FAILURE_NONE);
	run_and_capture(f, c, 5.5, N, tb, fb);
	assert_memory_equal(ta, tb, sizeof(ta));
	assert_memory_equal(fa, fb, sizeof(fa));
	sim_pen_free(c);
	c = pen_new(f, "MN1-000200", SIM_FAILURE_NONE);
	run_and_capture(f, c, 5.5, N / 2, tb, fb);
	sim_pen_waveform(c, 5.5 + (N / 2) / FS, 1.0 / FS, N / 2, tb + N / 2, fb + N / 2);
	for (size_t i = 0; i < N; i++)
		assert_true(fabs(ta[i] - tb[i]) < 1e-6);
	sim_pen_free(c);
}

static void slow_readings_do_not_disturb_captures(void **state)
{
	enum { N = 8000 };
	struct fix *f = *state;
	struct sim_pen *a = pen_new(f, "MN1-000210", SIM_FAILURE_NONE);
	struct sim_pen *b;
	static double ta[N], fa[N], tb[N], fb[N];
	double tip, force;

	run_and_capture(f, a, 3.5, N, ta, fa);
	/* Out of order on the same pen: earlier times see the same strokes. */
	sim_pen_sample(a, 3.5 + 1234 / FS, &tip, &force);
	assert_true(tip == ta[1234] && force == fa[1234]);
	sim_pen_waveform(a, 3.5 + 10 / FS, 1.0 / FS, 1, &tip, &force);
	assert_true(tip == ta[10]);
	sim_pen_free(a);

	/* A slow reading before the capture (it does not start the cam) and one
	 * in the middle of it (it runs ahead of the capture's blocks). */
	b = pen_new(f, "MN1-000210", SIM_FAILURE_NONE);
	service(f, b, 2000, 600);
	assert_int_equal(motor(f, b, 1), 0);
	sim_pen_sample(b, 3.2, &tip, &force);
	sim_pen_waveform(b, 3.5, 1.0 / FS, N / 4, tb, fb);
	sim_pen_sample(b, 3.5 + 0.9 * N / FS, &tip, &force);
	sim_pen_waveform(b, 3.5 + (N / 4) / FS, 1.0 / FS, N - N / 4, tb + N / 4, fb + N / 4);
	for (size_t i = 0; i < N; i++)
		assert_true(fabs(ta[i] - tb[i]) < 1e-6 && fabs(fa[i] - fb[i]) < 1e-6);
	sim_pen_free(b);
}

static void phantom_forces(void **state)
{
	enum { N = 16000 };
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-000300", SIM_FAILURE_NONE);
	struct sim_unit u;
	struct sim_truth deep, shallow;
	static double tip[N], force[N];
	double tent, fmax = 0;
	size_t i_max = 0;

	sim_unit_draw(&u, SEED, "MN1-000300", SIM_FAILURE_NONE);
	tent = u.puncture_mn / u.stiffness_mn_um;
	sim_pen_truth_service(pen, 2600, 600, &deep);
	assert_true(deep.protrusion_um > tent);
	assert_true(fabs(deep.penetration_um - (deep.protrusion_um - u.rebound * tent)) < 1e-9);
	assert_true(deep.penetration_um < deep.protrusion_um);
	assert_true(fabs(deep.puncture_force_mn - u.puncture_mn) < 1e-9);
	sim_pen_truth_service(pen, 300, 600, &shallow);
	assert_true(shallow.protrusion_um < tent);
	assert_true(shallow.penetration_um == 0.0 && shallow.puncture_force_mn == 0.0);

	/* Strokes sampled at 1 MHz: tenting up to the puncture force, then drag. */
	service(f, pen, 2600, 600);
	assert_int_equal(motor(f, pen, 1), 0);
	sim_pen_waveform(pen, now(f), 1e-6, N, tip, force);
	for (size_t i = 0; i < N; i++) {
		if (tip[i] <= 0)
			assert_true(force[i] == 0.0);
		if (force[i] > fmax) {
			fmax = force[i];
			i_max = i;
		}
	}
	assert_true(fmax <= u.puncture_mn + 1e-9 && fmax > u.puncture_mn - 10.0);
	assert_true(i_max + 20 < N);
	assert_true(force[i_max + 20] > u.drag_mn - 1e-9);
	assert_true(force[i_max + 20] < u.drag_mn + 0.06 * 3000);
	sim_pen_free(pen);
}

static void backlash_sag_and_warm_up(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-000400", SIM_FAILURE_NONE);
	struct sim_unit u;
	struct sim_truth up, down, shallow, deep, cold, warm;

	sim_unit_draw(&u, SEED, "MN1-000400", SIM_FAILURE_NONE);
	service(f, pen, 2000, 800);
	sim_pen_truth_now(pen, &up);
	service(f, pen, 2500, 800);
	service(f, pen, 2000, 800);
	sim_pen_truth_now(pen, &down);
	assert_true(fabs(down.protrusion_um - up.protrusion_um - u.backlash_um) < 1e-9);
	assert_in_range((long)(u.backlash_um * 10), 100, 200);

	sim_pen_truth_service(pen, 400, 800, &shallow);
	sim_pen_truth_service(pen, 3300, 800, &deep);
	assert_true(deep.rate_hz < shallow.rate_hz * 0.99);
	assert_true(deep.rate_hz > shallow.rate_hz * 0.94);

	assert_int_equal(motor(f, pen, 1), 0);
	sim_pen_truth_now(pen, &cold);
	advance(f, 60.0);
	sim_pen_truth_now(pen, &warm);
	assert_true(warm.rate_hz / cold.rate_hz - 1.0 > 0.006);
	assert_true(warm.rate_hz / cold.rate_hz - 1.0 < 0.025);
	assert_true(cold.rate_hz > 0 && cold.protrusion_um == warm.protrusion_um);
	/* Temperature and current rise while running. */
	uint8_t st[64];
	assert_int_equal(cmd(f, pen, 0x02, NULL, 0, st), 0);
	assert_true((int16_t)rigi_get_u16le(st + 22) > 260);
	assert_true(rigi_get_u16le(st + 20) > 300);
	/* Inside the dead band the cam does not turn. */
	service(f, pen, 2000, 90);
	sim_pen_truth_now(pen, &cold);
	assert_true(cold.rate_hz == 0.0);
	sim_pen_free(pen);
}

/* Downward force steps larger than 20 mN as the tip goes down through the
 * puncture in 0.01 µm increments (the drag slope adds < 0.001 mN a step). */
static int puncture_steps(const struct sim_unit *u)
{
	double tent = sim_phys_tenting_um(u), prev = -1.0;
	int steps = 0;

	for (double tip = tent - 10.0; tip < tent + 10.0; tip += 0.01) {
		double fmn = sim_phys_force(u, tent + 200.0, tip, 0);
		steps += prev >= 0 && prev - fmn > 20.0;
		prev = fmn;
	}
	return steps;
}

/* The puncture is a staircase of one step per needle present: 12 on a
 * healthy cartridge, 11 with a needle missing, the same total force. */
static void needle_staircase(void **state)
{
	(void)state;
	for (int k = 0; k < 20; k++) {
		char serial[16];
		struct sim_unit ok, missing;
		double tent;

		snprintf(serial, sizeof serial, "MN1-%06d", 700 + k);
		sim_unit_draw(&ok, 5, serial, SIM_FAILURE_NONE);
		sim_unit_draw(&missing, 5, serial, SIM_FAILURE_MISSING_NEEDLE);
		assert_int_equal(puncture_steps(&ok), 12);
		assert_int_equal(puncture_steps(&missing), 11);
		tent = sim_phys_tenting_um(&ok);
		/* whole-cartridge model outside the staircase */
		assert_true(fabs(sim_phys_force(&ok, tent + 200, tent - 7, 0) -
				 ok.stiffness_mn_um * (tent - 7)) < 1e-9);
		assert_true(fabs(sim_phys_force(&ok, tent + 200, tent + 7, 0) -
				 (ok.drag_mn + ok.drag_slope_mn_um * 7)) < 1e-9);
	}
}

static void failure_bent_missing_cartridge(void **state)
{
	struct fix *f = *state;
	struct sim_pen *ok = pen_new(f, "MN1-000500", SIM_FAILURE_NONE);
	struct sim_pen *bent = pen_new(f, "MN1-000500", SIM_FAILURE_BENT_NEEDLE);
	struct sim_pen *missing = pen_new(f, "MN1-000500", SIM_FAILURE_MISSING_NEEDLE);
	struct sim_pen *cart = pen_new(f, "MN1-000500", SIM_FAILURE_CARTRIDGE);
	struct sim_truth t0, t1, t2, t3;
	double d;

	sim_pen_truth_service(ok, 3500, 600, &t0);
	sim_pen_truth_service(bent, 3500, 600, &t1);
	sim_pen_truth_service(missing, 3500, 600, &t2);
	sim_pen_truth_service(cart, 3500, 600, &t3);
	d = t0.protrusion_um - t1.protrusion_um;
	assert_true(d >= 60 && d <= 120);
	assert_true(t1.puncture_force_mn / t0.puncture_force_mn >= 1.5);
	assert_true(t1.puncture_force_mn / t0.puncture_force_mn <= 2.0);
	assert_true(fabs(t2.puncture_force_mn / t0.puncture_force_mn - 11.0 / 12.0) < 1e-9);
	assert_true(t2.protrusion_um == t0.protrusion_um);
	assert_true(t2.penetration_um > t0.penetration_um); /* less tenting */
	d = t0.protrusion_um - t3.protrusion_um;
	assert_true(d >= 200 && d <= 400);
	assert_true(t2.rate_hz == t0.rate_hz);
	assert_int_equal(faults(f, ok, NULL), 0);
	assert_int_equal(faults(f, cart, NULL), 1u << 4);
	service(f, cart, 2000, 600);
	assert_int_equal(motor(f, cart, 1), 0); /* CARTRIDGE does not block the motor */
	sim_pen_free(ok);
	sim_pen_free(bent);
	sim_pen_free(missing);
	sim_pen_free(cart);
}

static void failure_skipped_strokes(void **state)
{
	enum { N = 60000 };
	struct fix *f = *state;
	struct sim_pen *ok = pen_new(f, "MN1-000600", SIM_FAILURE_NONE);
	struct sim_pen *skip = pen_new(f, "MN1-000600", SIM_FAILURE_SKIPPED_STROKES);
	static double tip[N], force[N], peaks[1000], t_up[1000];
	struct sim_truth tr;
	size_t k_ok, k_skip;
	double level, missing;

	run_and_capture(f, ok, 1.0, N, tip, force);
	sim_pen_truth_now(ok, &tr);
	level = tr.protrusion_um - 1000.0;
	k_ok = strokes(tip, N, level, peaks, t_up);
	run_and_capture(f, skip, 1.0, N, tip, force);
	k_skip = strokes(tip, N, level, peaks, t_up);
	missing = 1.0 - (double)k_skip / (double)k_ok;
	print_message("skipped %.1f %% of %zu strokes\n", 100 * missing, k_ok);
	assert_true(missing > 0.01 && missing < 0.12);
	sim_pen_free(ok);
	sim_pen_free(skip);
}

static void failure_stall(void **state)
{
	struct fix *f = *state;
	struct sim_pen *ok = pen_new(f, "MN1-000700", SIM_FAILURE_NONE);
	struct sim_pen *stall = pen_new(f, "MN1-000700", SIM_FAILURE_STALL);
	struct sim_truth tr;
	uint8_t on;
	double tip[200], force[200];

	service(f, ok, 2800, 900);
	assert_int_equal(motor(f, ok, 1), 0);
	sim_pen_truth_now(ok, &tr);
	assert_true(tr.rate_hz > 100);
	service(f, stall, 2800, 900);
	assert_int_equal(motor(f, stall, 1), 0);
	assert_int_equal(faults(f, stall, &on), 1u << 0);
	assert_int_equal(on, 0);
	sim_pen_truth_now(stall, &tr);
	assert_true(tr.rate_hz == 0.0);
	sim_pen_waveform(stall, now(f), 1.0 / FS, 200, tip, force);
	for (size_t i = 1; i < 200; i++)
		assert_true(tip[i] == tip[0]);
	assert_int_equal(motor(f, stall, 1), 0x13); /* FAULT until SAFE */
	assert_int_equal(cmd(f, stall, 0x13, NULL, 0, NULL), 0);
	assert_int_equal(faults(f, stall, NULL), 0);
	service(f, stall, 1000, 900); /* shallow: runs */
	assert_int_equal(motor(f, stall, 1), 0);
	assert_int_equal(faults(f, stall, &on), 0);
	assert_int_equal(on, 1);
	sim_pen_free(ok);
	sim_pen_free(stall);
}

static void failure_detent_slip(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-000800", SIM_FAILURE_DETENT_SLIP);
	struct sim_truth a, b;

	service(f, pen, 2000, 600);
	sim_pen_truth_now(pen, &a);
	assert_int_equal(motor(f, pen, 1), 0);
	advance(f, 20.5);
	sim_pen_truth_now(pen, &b);
	assert_true(fabs((a.protrusion_um - b.protrusion_um) - 40.0) < 1e-6);
	assert_int_equal(motor(f, pen, 0), 0);
	advance(f, 100.0); /* no slip while stopped */
	sim_pen_truth_now(pen, &a);
	assert_true(fabs(a.protrusion_um - b.protrusion_um) < 1e-9);
	sim_pen_free(pen);
}

static void truth_user_through_table(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-000900", SIM_FAILURE_NONE);
	struct sim_truth tr, ts;

	assert_int_equal(sim_pen_truth_user(pen, 1000, 6000, &tr), 0);
	assert_int_equal(tr.code, 1333); /* factory table: 1000 / 0.75 */
	sim_pen_truth_service(pen, tr.code, tr.duty, &ts);
	assert_true(ts.protrusion_um == tr.protrusion_um && ts.rate_hz == tr.rate_hz);
	assert_int_equal(sim_pen_truth_user(pen, 2600, 6000, &tr), RIG_ERR_RANGE);
	sim_pen_free(pen);
}

/* ---- the endpoint over a real socket ---- */

static int connect_to(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(snprintf(a.sun_path, sizeof(a.sun_path), "%s", path) < (int)sizeof(a.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void stale_socket(const char *path)
{
	struct sockaddr_un a;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&a, 0, sizeof(a));
	a.sun_family = AF_UNIX;
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
}

/* Read one frame (2 s timeout): its length, 0 when the peer closed. */
static ssize_t read_frame(int fd, uint8_t *buf)
{
	size_t got = 0, need = 8;
	while (got < need) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		assert_int_equal(poll(&p, 1, 2000), 1);
		n = read(fd, buf + got, need - got);
		if (n <= 0)
			return 0;
		got += (size_t)n;
		if (got == 8)
			need = 12 + rigi_get_u16le(buf + 6);
	}
	return (ssize_t)got;
}

static int sock_cmd(struct fix *f, int fd, uint8_t type, const uint8_t *p, size_t len,
		    uint8_t *data)
{
	uint8_t fr[1100];
	size_t n = build(fr, type, ++f->seq, p, len);
	assert_int_equal(write(fd, fr, n), (ssize_t)n);
	if (read_frame(fd, fr) == 0)
		return -1;
	assert_int_equal(fr[3], type | 0x80);
	if (data)
		memcpy(data, fr + 9, rigi_get_u16le(fr + 6) - 1u);
	return fr[8];
}

static void sock_auth(struct fix *f, int fd, const char *serial)
{
	uint8_t nonce[32], mac[32];
	assert_int_equal(sock_cmd(f, fd, 0x03, NULL, 0, nonce), 0);
	mac_for(f, serial, nonce, mac);
	assert_int_equal(sock_cmd(f, fd, 0x04, mac, 32, NULL), 0);
}

static struct sim_dut_endpoint *endpoint(struct fix *f, struct sim_pen *pen, char *path,
					 size_t size)
{
	struct sim_dut_endpoint *ep;
	snprintf(path, size, "%s/nest0.sock", f->dir);
	ep = sim_dut_endpoint_new(path);
	assert_non_null(ep);
	sim_dut_endpoint_set_pen(ep, pen);
	assert_int_equal(sim_dut_endpoint_start(ep), 0);
	return ep;
}

static void endpoint_one_host_and_cut(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-001000", SIM_FAILURE_NONE);
	char path[512];
	uint8_t d[128], p[4] = {0xD0, 0x07, 0x58, 0x02}, buf[64];
	struct sim_dut_endpoint *ep = endpoint(f, pen, path, sizeof(path));
	int a, b;

	assert_null(sim_dut_endpoint_new(path)); /* a live socket is not replaced */
	a = connect_to(path);
	assert_int_equal(sock_cmd(f, a, 0x01, NULL, 0, d), 0);
	assert_string_equal((char *)d + 16, "MN1-001000");
	assert_int_equal(sim_dut_endpoint_connected(ep), 1);
	b = connect_to(path); /* one host at a time */
	assert_int_equal(read_frame(b, buf), 0);
	close(b);
	sock_auth(f, a, "MN1-001000");
	assert_int_equal(sock_cmd(f, a, 0x11, p, 4, NULL), 0);

	/* Cut after 5 bytes: the request is lost, the link closes, and so
	 * does the session. */
	sim_dut_endpoint_cut_after(ep, 5);
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, NULL), -1);
	close(a);
	a = connect_to(path);
	assert_int_equal(sock_cmd(f, a, 0x11, p, 4, NULL), 0x06);
	close(a);
	sim_dut_endpoint_free(ep);
	assert_int_equal(access(path, F_OK), -1);
	/* A stale socket file (its server gone) is replaced. */
	stale_socket(path);
	assert_int_equal(access(path, F_OK), 0);
	ep = endpoint(f, pen, path, sizeof(path));
	a = connect_to(path);
	assert_int_equal(sock_cmd(f, a, 0x01, NULL, 0, d), 0);
	close(a);
	sim_dut_endpoint_free(ep);
	sim_pen_free(pen);
}

static void endpoint_swap_power_loss_empty(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen = pen_new(f, "MN1-001000", SIM_FAILURE_NONE);
	struct sim_pen *other = pen_new(f, "MN1-001001", SIM_FAILURE_NONE);
	char path[512];
	uint8_t d[128], buf[64];
	struct sim_dut_endpoint *ep = endpoint(f, pen, path, sizeof(path));
	int a = connect_to(path);

	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, NULL), 0);
	/* Swap the pen: the host's link drops; the next host sees the new pen. */
	sim_dut_endpoint_set_pen(ep, other);
	assert_int_equal(read_frame(a, buf), 0);
	close(a);
	sim_pen_free(pen); /* no longer referenced by the endpoint */
	a = connect_to(path);
	assert_int_equal(sock_cmd(f, a, 0x01, NULL, 0, d), 0);
	assert_string_equal((char *)d + 16, "MN1-001001");

	/* Power loss in the pen: the link drops, the pen comes back. */
	sim_pen_power_loss_after(other, 3);
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, NULL), -1);
	close(a);
	a = connect_to(path);
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, NULL), 0);

	/* Empty nest: accept, then close. */
	sim_dut_endpoint_set_pen(ep, NULL);
	assert_int_equal(read_frame(a, buf), 0);
	close(a);
	a = connect_to(path);
	assert_int_equal(read_frame(a, buf), 0);
	close(a);
	assert_int_equal(sim_dut_endpoint_connected(ep), 0);
	sim_dut_endpoint_free(ep);
	sim_pen_free(other);
}

/* The host-loss watchdog through the endpoint, on real time with a
 * lockstep clock (which never moves here): a host's STATUS every 250 ms
 * keeps the pen running, a second connection neither disturbs the first
 * nor counts, and once the host goes quiet the endpoint's tick stops the
 * motor 1000..1050 ms after the last valid frame (docs/protocol.md §3). */
static void endpoint_watchdog(void **state)
{
	struct fix *f = *state;
	struct sim_pen *pen;
	struct sim_dut_endpoint *ep;
	struct sim_truth t;
	char path[512];
	uint8_t d[64], buf[64], p[4] = {0xE8, 0x03, 0x58, 0x02}, on = 1; /* code 1000, duty 600 */
	int64_t last, stopped = 0;
	int a, b;

	sim_clock_init_lockstep(&f->clock);
	pen = pen_new(f, "MN1-001002", SIM_FAILURE_NONE);
	ep = endpoint(f, pen, path, sizeof(path));
	a = connect_to(path);
	sock_auth(f, a, "MN1-001002");
	assert_int_equal(sock_cmd(f, a, 0x11, p, 4, NULL), 0);
	assert_int_equal(sock_cmd(f, a, 0x12, &on, 1, NULL), 0);
	for (int i = 0; i < 6; i++) {
		usleep(250000);
		assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, d), 0);
		assert_int_equal(d[1], 1); /* motor still on: 1.5 s kept alive */
	}
	b = connect_to(path); /* one host at a time: closed at once */
	assert_int_equal(read_frame(b, buf), 0);
	close(b);
	last = rig_clock_ns(); /* before the pen receives the last frame */
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, d), 0);
	assert_int_equal(d[6], 1); /* the first host's session is intact */
	while (rig_clock_ns() - last < 3000000000LL) {
		sim_pen_truth_now(pen, &t);
		if (t.rate_hz == 0) {
			stopped = rig_clock_ns();
			break;
		}
		usleep(5000);
	}
	assert_true(stopped > 0);
	print_message("watchdog stopped the motor %.1f ms after the last frame\n",
		      (double)(stopped - last) * 1e-6);
	/* 1000 ms plus the 50 ms tick, with room for a loaded machine. */
	assert_in_range((stopped - last) / 1000000, 1000, 1500);
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, d), 0);
	assert_int_equal(d[0], 0);                       /* USER mode */
	assert_int_equal(d[1], 0);                       /* motor off */
	assert_int_equal(rigi_get_u16le(d + 2), 0x0040); /* HOST_LOST */
	assert_int_equal(d[6], 0);                       /* session ended */
	assert_int_equal(sock_cmd(f, a, 0x12, &on, 1, NULL), 0x13); /* FAULT until SAFE */
	assert_int_equal(sock_cmd(f, a, 0x13, NULL, 0, NULL), 0);
	assert_int_equal(sock_cmd(f, a, 0x02, NULL, 0, d), 0);
	assert_int_equal(rigi_get_u16le(d + 2), 0);
	close(a);
	sim_dut_endpoint_free(ep);
	sim_pen_free(pen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(peak_and_rate_match_truth, setup, teardown),
		cmocka_unit_test_setup_teardown(deterministic_and_unit_specific, setup, teardown),
		cmocka_unit_test_setup_teardown(slow_readings_do_not_disturb_captures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(phantom_forces, setup, teardown),
		cmocka_unit_test_setup_teardown(backlash_sag_and_warm_up, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_bent_missing_cartridge, setup, teardown),
		cmocka_unit_test(needle_staircase),
		cmocka_unit_test_setup_teardown(failure_skipped_strokes, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(failure_detent_slip, setup, teardown),
		cmocka_unit_test_setup_teardown(truth_user_through_table, setup, teardown),
		cmocka_unit_test_setup_teardown(endpoint_one_host_and_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(endpoint_swap_power_loss_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(endpoint_watchdog, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
