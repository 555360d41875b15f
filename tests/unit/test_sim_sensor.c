/* Tests of the simulated sensors' calibration error (rig/sim/sensor.c,
 * docs/sim-station.md "Sensor model"): over many sensors, the error of the
 * displacement sensor's reading and of the load cell's has the spread the
 * model states (the load cell's is its certificate's 2 mN), none is left
 * at the ZERO position, each sensor's error is its own and repeats with
 * the seed, and fixtures/sim.yaml's certificates are the model's. Readings
 * are averaged DAQ samples, so the white noise does not hide the error. */
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

/* rms over N_SENSORS sensors of @p kind (seeds 1..N) of the error at each
 * of @p n positions @p x (one draw of each sensor for all of them). */
static void rms_errors(enum sim_sensor_kind kind, const double *x, size_t n, double *rms)
{
	struct sim_sensor *s = malloc(sizeof(*s));

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		rms[i] = 0;
	for (uint64_t seed = 1; seed <= N_SENSORS; seed++) {
		sim_sensor_init(s, kind, seed, 0);
		for (size_t i = 0; i < n; i++) {
			double e = error_at(s, x[i]);
			rms[i] += e * e;
		}
	}
	for (size_t i = 0; i < n; i++)
		rms[i] = sqrt(rms[i] / N_SENSORS);
	free(s);
}

/* The linearity error's variance is within about 16 % of u^2 away from
 * the ZERO position: the rms within 15 % of u allows that and the
 * sampling of 300 sensors (about 4 %). */
static void displacement_error_has_its_spread(void **state)
{
	const double u = SIM_SENSOR_DISP_LINEARITY_U, x[] = {0, 500, 1500, 2500};
	double rms[4];
	(void)state;
	rms_errors(SIM_SENSOR_DISPLACEMENT, x, 4, rms);
	/* ZERO is taken at position 0: no calibration error is left there. */
	assert_true(rms[0] < 0.05);
	for (size_t i = 1; i < 4; i++)
		assert_true(rms[i] > 0.85 * u && rms[i] < 1.15 * u);
}

static void force_error_has_the_certificate_spread(void **state)
{
	const double u = FORCE_CERT_LOAD_MN * SIM_SENSOR_FORCE_GAIN_U;
	const double x[] = {FORCE_CERT_LOAD_MN, 2 * FORCE_CERT_LOAD_MN};
	double rms[2];
	(void)state;
	rms_errors(SIM_SENSOR_FORCE, x, 2, rms);
	assert_true(rms[0] > 0.85 * u && rms[0] < 1.15 * u);
	/* A gain error: twice the load, twice the error. */
	assert_true(rms[1] > 1.7 * u && rms[1] < 2.3 * u);
}

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

/* fixtures/sim.yaml states what the simulated sensors really are: for the
 * displacement sensor at least its linearity and ZERO residual combined. */
static void fixture_certificates_are_the_model(void **state)
{
	assert_true(SIM_SENSOR_DISP_CERT_U >= sqrt(SIM_SENSOR_DISP_LINEARITY_U *
							   SIM_SENSOR_DISP_LINEARITY_U +
						   0.125 * 0.125));
	const char *vars[] = {"SIM_DIR=/tmp", "SIM_PORT=15020", NULL};
	struct rig_fixture *fx = NULL;
	(void)state;
	assert_int_equal(rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx), 0);
	for (unsigned n = 0; n < fx->n_nests; n++) {
		const struct rig_nest *nest = rig_fixture_nest(fx, n);
		assert_true(fabs(nest->displacement.cal.standard_uncertainty -
				 SIM_SENSOR_DISP_CERT_U) < 1e-9);
		assert_true(fabs(nest->force.cal.standard_uncertainty -
				 FORCE_CERT_LOAD_MN * SIM_SENSOR_FORCE_GAIN_U) < 1e-9);
	}
	rig_fixture_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(displacement_error_has_its_spread),
		cmocka_unit_test(force_error_has_the_certificate_spread),
		cmocka_unit_test(error_is_per_sensor_and_repeats),
		cmocka_unit_test(fixture_certificates_are_the_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
