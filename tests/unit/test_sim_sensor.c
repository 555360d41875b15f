/* Tests of the simulated sensors' calibration error (rig/sim/sensor.c,
 * docs/sim-station.md "Sensor model"): over many sensors, the error of the
 * displacement sensor's reading and of the load cell's has the spread that
 * fixtures/sim.yaml states as their certificates' standard uncertainty;
 * each sensor's error is its own and repeats with the seed. Readings are
 * averaged DAQ samples, so the white noise does not hide the error. */
#include <math.h>
#include <stdlib.h>

#include <rig/fixture.h>
#include <rig/rig.h>

#include "sensor.h"
#include "testsupport.h"

#define N_SENSORS 300
#define N_SAMPLES 4000
#define CMD_REFERENCE 1u
#define HR_COMMAND 0x0100
#define FORCE_CERT_LOAD_MN 1250.0 /* where the load cell's certificate applies */

/* Mean DAQ output of @p s over N_SAMPLES at the constant true value @p x. */
static double mean_output(struct sim_sensor *s, double x)
{
	static double v[N_SAMPLES];
	double sum = 0;

	for (size_t i = 0; i < N_SAMPLES; i++)
		v[i] = x;
	sim_sensor_analog(s, v, N_SAMPLES);
	for (size_t i = 0; i < N_SAMPLES; i++)
		sum += v[i];
	return sum / N_SAMPLES;
}

/* Error of the reading at @p x relative to the reading at 0 (offset,
 * drift and ZERO / TARE residual cancel), for a freshly referenced sensor. */
static double error_at(struct sim_sensor *s, double x)
{
	uint16_t cmd = CMD_REFERENCE;

	assert_int_equal(sim_sensor_write(s, 0, 0, HR_COMMAND, 1, &cmd), 0);
	sim_sensor_capture_begin(s, 0, 1);
	double zero = mean_output(s, 0);
	return mean_output(s, x) - zero - x;
}

/* rms over N_SENSORS sensors of @p kind (seeds 1..N) of the error at @p x. */
static double rms_error(enum sim_sensor_kind kind, double x)
{
	struct sim_sensor *s = malloc(sizeof(*s));
	double ss = 0;

	assert_non_null(s);
	for (uint64_t seed = 1; seed <= N_SENSORS; seed++) {
		sim_sensor_init(s, kind, seed, 0);
		double e = error_at(s, x);
		ss += e * e;
	}
	free(s);
	return sqrt(ss / N_SENSORS);
}

/* The linearity error's variance is within about 16 % of u^2 away from
 * the ZERO position: the rms within 15 % of u allows that and the
 * sampling of 300 sensors (about 4 %). */
static void displacement_error_has_the_certificate_spread(void **state)
{
	const double u = SIM_SENSOR_DISP_LINEARITY_U;
	(void)state;
	for (double x = 500; x <= 2500; x += 1000) {
		double rms = rms_error(SIM_SENSOR_DISPLACEMENT, x);
		assert_true(rms > 0.85 * u && rms < 1.15 * u);
	}
	/* ZERO is taken at position 0: no calibration error is left there. */
	assert_true(rms_error(SIM_SENSOR_DISPLACEMENT, 0) < 0.05);
}

static void force_error_has_the_certificate_spread(void **state)
{
	const double u = FORCE_CERT_LOAD_MN * SIM_SENSOR_FORCE_GAIN_U;
	(void)state;
	double rms = rms_error(SIM_SENSOR_FORCE, FORCE_CERT_LOAD_MN);
	assert_true(rms > 0.85 * u && rms < 1.15 * u);
	/* A gain error: twice the load, twice the error. */
	rms = rms_error(SIM_SENSOR_FORCE, 2 * FORCE_CERT_LOAD_MN);
	assert_true(rms > 1.7 * u && rms < 2.3 * u);
}

/* Each sensor's error is its own draw, and the same seed draws it again. */
static void error_is_per_sensor_and_repeats(void **state)
{
	struct sim_sensor *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	sim_sensor_init(a, SIM_SENSOR_DISPLACEMENT, 7, 0);
	sim_sensor_init(b, SIM_SENSOR_DISPLACEMENT, 7, 0);
	assert_true(error_at(a, 1500) == error_at(b, 1500));
	double other = 0;
	for (unsigned nest = 1; nest < 8; nest++) {
		sim_sensor_init(b, SIM_SENSOR_DISPLACEMENT, 7, nest);
		other = fmax(other, fabs(error_at(b, 1500) - error_at(a, 1500)));
	}
	/* The averaging leaves ~0.02 um of noise; two curves differ by ~0.35 rms. */
	assert_true(other > 0.1);
	free(a);
	free(b);
}

/* fixtures/sim.yaml states what the simulated sensors really are. */
static void fixture_certificates_are_the_model(void **state)
{
	const char *vars[] = {"SIM_DIR=/tmp", "SIM_PORT=15020", NULL};
	struct rig_fixture *fx = NULL;
	(void)state;
	assert_int_equal(rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx), 0);
	for (unsigned n = 0; n < fx->n_nests; n++) {
		const struct rig_nest *nest = rig_fixture_nest(fx, n);
		assert_true(fabs(nest->displacement.cal.standard_uncertainty -
				 SIM_SENSOR_DISP_LINEARITY_U) < 1e-9);
		assert_true(fabs(nest->force.cal.standard_uncertainty -
				 FORCE_CERT_LOAD_MN * SIM_SENSOR_FORCE_GAIN_U) < 1e-9);
	}
	rig_fixture_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(displacement_error_has_the_certificate_spread),
		cmocka_unit_test(force_error_has_the_certificate_spread),
		cmocka_unit_test(error_is_per_sensor_and_repeats),
		cmocka_unit_test(fixture_certificates_are_the_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
