/* Unit tests of the missing-needle detector (rig/lib/analysis/needles.c) on
 * synthetic staircases: the force of N needles of random lengths going
 * slowly through a phantom's puncture, with the station's load-cell noise. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <rig/error.h>
#include <rig/needles.h>
#include <rig/pcg32.h>

#include "physics.h"
#include "testsupport.h"

#define RATE_HZ 20000.0
#define SAMPLES 800

/* A slow approach at @p v_um_ms through the puncture of @p needles needles
 * (tips within ±3 µm), tenting stiffness k and puncture force from the
 * simulator's ranges, white noise @p noise_mn. */
static void staircase(struct rig_pcg32 *r, int needles, double v_um_ms, double noise_mn,
		      double *f)
{
	double k = 2.0 + rig_pcg32_uniform(r), fp = 1000.0 + 400.0 * rig_pcg32_uniform(r);
	double drag = 50.0 + 50.0 * rig_pcg32_uniform(r), tent = fp / k, dz[16];

	for (int i = 0; i < needles; i++)
		dz[i] = -3.0 + 6.0 * rig_pcg32_uniform(r);
	for (size_t s = 0; s < SAMPLES; s++) {
		double tip = tent - 6.0 + v_um_ms * 1000.0 * (double)s / RATE_HZ;
		int punctured = 0;
		for (int i = 0; i < needles; i++)
			punctured += tip >= tent + dz[i];
		f[s] = (k * tip * (needles - punctured) +
			(drag + 0.04 * (tip - tent)) * punctured) / needles +
		       noise_mn * rig_pcg32_normal(r);
	}
}

/* Fraction of @p trials whose count is @p needles with confidence ≥ 0.5. */
static double counted(int needles, double noise_mn, int trials)
{
	struct rig_pcg32 r;
	double f[SAMPLES];
	int right = 0;

	rig_pcg32_seed(&r, 42, (uint64_t)needles);
	for (int t = 0; t < trials; t++) {
		struct rig_needle_count c;
		staircase(&r, needles, 0.5, noise_mn, f);
		assert_int_equal(rig_needles_count(f, SAMPLES, &c), 0);
		right += c.punctures == needles && c.confidence >= 0.5;
	}
	return (double)right / trials;
}

static void healthy_and_missing(void **state)
{
	double twelve, eleven;
	(void)state;
	twelve = counted(12, 5.0, 100);
	eleven = counted(11, 5.0, 100);
	print_message("12 needles counted right %.0f %%, 11 needles %.0f %%\n",
		      100 * twelve, 100 * eleven);
	assert_true(twelve >= 0.95);
	assert_true(eleven >= 0.95);
}

/* Noise near a step's size: the count must not be trusted. */
static void too_noisy(void **state)
{
	struct rig_pcg32 r;
	double f[SAMPLES];
	struct rig_needle_count c;
	(void)state;
	rig_pcg32_seed(&r, 7, 1);
	staircase(&r, 12, 0.5, 40.0, f);
	assert_int_equal(rig_needles_count(f, SAMPLES, &c), 0);
	assert_true(c.confidence < 0.5);
}

/* The simulator's own phantom physics (sim_phys_force, cam shape) on one
 * slow stroke — 1 stroke/s, peak 30 µm past the tenting depth — sampled at
 * the station's 20 kHz with its load cell's 5 mN noise, over the last 20 µm
 * of the way down. (The station's sensor and DAQ layers are not in this
 * loop.) Returns the punctures counted, or -1 when not confident. */
static int sim_stroke_count(const char *serial, enum sim_failure failure, struct rig_pcg32 *noise)
{
	struct sim_unit u;
	double tent, peak, f[SAMPLES * 8];
	size_t n = 0;
	struct rig_needle_count c;

	sim_unit_draw(&u, 11, serial, failure);
	tent = sim_phys_tenting_um(&u);
	peak = tent + 30.0;
	for (double t = 0; t < 0.5 && n < SAMPLES * 8; t += 1.0 / RATE_HZ) {
		double theta = 2.0 * M_PI * t - M_PI;
		double tip = peak - u.throw_um * sim_phys_cam_shape(&u, theta);
		if (tip >= tent - 20.0)
			f[n++] = sim_phys_force(&u, peak, tip, 0) + 5.0 * rig_pcg32_normal(noise);
	}
	assert_int_equal(rig_needles_count(f, n, &c), 0);
	return c.confidence >= 0.5 ? c.punctures : -1;
}

static void simulated_units(void **state)
{
	struct rig_pcg32 noise;
	int caught = 0, false_alarms = 0, unsure = 0;
	(void)state;
	rig_pcg32_seed(&noise, 3, 3);
	for (int k = 0; k < 75; k++) {
		char serial[16];
		int missing = k < 25, n;
		snprintf(serial, sizeof serial, "MN1-%06d", 9000 + k);
		n = sim_stroke_count(serial, missing ? SIM_FAILURE_MISSING_NEEDLE : SIM_FAILURE_NONE,
				     &noise);
		unsure += n < 0;
		caught += missing && n == 11;
		false_alarms += !missing && n >= 0 && n != 12;
	}
	print_message("simulated slow strokes: %d of 25 missing caught, %d false alarms "
		      "in 50 healthy, %d not judged\n", caught, false_alarms, unsure);
	assert_true(caught >= 24);
	assert_int_equal(false_alarms, 0);
}

static void bad_input(void **state)
{
	double f[32] = {0};
	struct rig_needle_count c;
	(void)state;
	assert_int_equal(rig_needles_count(f, 8, &c), RIG_ERR_ARG);
	f[3] = NAN;
	assert_int_equal(rig_needles_count(f, 32, &c), RIG_ERR_ARG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_and_missing),
		cmocka_unit_test(too_noisy),
		cmocka_unit_test(simulated_units),
		cmocka_unit_test(bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
