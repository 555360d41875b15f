/* Simulated slow sensors of a nest: the register map of docs/registers.md
 * (force 0x4653, displacement 0x4453) over the sensor model described in
 * docs/sim-station.md. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sensor.h"
#include "station_regs.h"

#define DEVICE_FORCE 0x4653u
#define DEVICE_DISPLACEMENT 0x4453u
#define MAP_VERSION 1u

#define IR_STATUS 0x0010
#define IR_MEASURE_END 0x0014 /* status, flags, value (i32) */
#define IR_END 0x0016
#define HR_COMMAND 0x0100

#define STATUS_OK 0u
#define STATUS_OVER 1u
#define STATUS_FAULT 2u
#define FLAG_OVER 0x0001u
#define FLAG_FAULT 0x0002u
#define FLAG_REFERENCED 0x0004u

#define CMD_REFERENCE 1u /* ZERO or TARE */
#define CMD_CLEAR_FLAGS 2u

/* Drift: Ornstein-Uhlenbeck random walk, one step per simulated second,
 * correlation time one hour (stationary spread = step * sqrt(1800)). */
#define DRIFT_TAU_S 3600.0
/* ZERO / TARE average 64 readings: residual noise = noise / 8. */
#define REFERENCE_AVERAGING 8.0
#define NOISY_FACTOR 20.0
/* Linearity error: LIN_TERMS sinusoids over the measured position, periods
 * log-uniform in [LIN_PERIOD_MIN, LIN_PERIOD_MAX] (engineering units),
 * tabulated every LIN_STEP over the range and interpolated linearly (the
 * interpolation error is under 1 % of the curve's amplitude). */
#define LIN_TERMS 16
#define LIN_PERIOD_MIN 40.0
#define LIN_PERIOD_MAX 800.0
#define LIN_STEP ((double)SIM_SENSOR_LIN_STEP)

struct kind_params {
	uint16_t device_type;
	uint16_t firmware;
	const char *tag;     /* stream name suffix */
	uint32_t serial_base;
	double noise_rms, resolution, range, offset_spread, drift_step;
	/* Calibration error, what the certificate's standard uncertainty
	 * stands for (docs/sim-station.md): relative gain error (rms) and
	 * linearity error (rms, engineering units). */
	double gain_u, linearity_u;
};

static const struct kind_params params[] = {
	[SIM_SENSOR_DISPLACEMENT] = {DEVICE_DISPLACEMENT, 0x0103, "disp", 31000000u,
				     1.0, 0.1, 5000.0, 20.0, 0.1, 0.0, SIM_SENSOR_DISP_LINEARITY_U},
	[SIM_SENSOR_FORCE] = {DEVICE_FORCE, 0x0201, "force", 41000000u,
			      5.0, 1.0, 20000.0, 200.0, 0.5, SIM_SENSOR_FORCE_GAIN_U, 0.0},
};

static const struct sim_regspan input_spans[] = {{0x0000, 5}, {0x0010, 6}};
static const struct sim_regspan holding_spans[] = {{HR_COMMAND, 1}};

#define N_SPANS(a) (sizeof(a) / sizeof((a)[0]))

/* Draw the sensor's calibration error from its "calibration" stream: a
 * gain error and a linearity curve that is zero at position 0 (where ZERO
 * references the displacement sensor, so the offset takes the rest). With
 * amplitudes N(0, u^2/LIN_TERMS) and uniform phases its variance over
 * sensors at position x is u^2 * mean(1 - cos(2 pi x / period)), within
 * about 16 % of u^2 wherever |x| >= 100. */
static void draw_calibration(struct sim_sensor *s, const struct kind_params *p)
{
	double amp[LIN_TERMS], omega[LIN_TERMS], phase[LIN_TERMS];
	struct rig_pcg32 rng;

	rig_pcg32_seed_named(&rng, s->seed, s->name, "calibration");
	s->gain = 1.0 + p->gain_u * rig_pcg32_normal(&rng);
	for (int k = 0; k < LIN_TERMS; k++) {
		double period = LIN_PERIOD_MIN *
				pow(LIN_PERIOD_MAX / LIN_PERIOD_MIN, rig_pcg32_uniform(&rng));
		omega[k] = 2.0 * M_PI / period;
		phase[k] = 2.0 * M_PI * rig_pcg32_uniform(&rng);
		amp[k] = p->linearity_u / sqrt((double)LIN_TERMS) * rig_pcg32_normal(&rng);
	}
	s->lin_n = 0;
	if (p->linearity_u <= 0)
		return;
	s->lin_n = (size_t)(2.0 * p->range / LIN_STEP) + 1;
	if (s->lin_n > SIM_SENSOR_LIN_MAX)
		s->lin_n = SIM_SENSOR_LIN_MAX;
	for (size_t i = 0; i < s->lin_n; i++) {
		double x = -p->range + (double)i * LIN_STEP, e = 0;
		for (int k = 0; k < LIN_TERMS; k++)
			e += amp[k] * (sin(omega[k] * x + phase[k]) - sin(phase[k]));
		s->lin[i] = e;
	}
}

/* The calibration error's reading of the true quantity @p x. */
static double calibrated(const struct sim_sensor *s, double x)
{
	double pos, frac;
	size_t i;

	if (!s->lin_n)
		return x * s->gain;
	pos = (x + s->range) / LIN_STEP;
	pos = pos < 0 ? 0 : pos > (double)(s->lin_n - 1) ? (double)(s->lin_n - 1) : pos;
	i = (size_t)pos;
	if (i >= s->lin_n - 1)
		i = s->lin_n - 2;
	frac = pos - (double)i;
	return x * s->gain + s->lin[i] + frac * (s->lin[i + 1] - s->lin[i]);
}

void sim_sensor_init(struct sim_sensor *s, enum sim_sensor_kind kind, uint64_t seed,
		     unsigned nest)
{
	const struct kind_params *p = &params[kind];
	struct rig_pcg32 rng;

	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->seed = seed;
	snprintf(s->name, sizeof(s->name), "nest%u/%s", nest, p->tag);
	s->noise_rms = p->noise_rms;
	s->resolution = p->resolution;
	s->range = p->range;
	s->drift_step = p->drift_step;
	rig_pcg32_seed_named(&rng, seed, s->name, "serial");
	s->serial = p->serial_base + rig_pcg32_bounded(&rng, 1000000u);
	rig_pcg32_seed_named(&rng, seed, s->name, "offset");
	s->offset0 = (2.0 * rig_pcg32_uniform(&rng) - 1.0) * p->offset_spread;
	rig_pcg32_seed_named(&s->drift_rng, seed, s->name, "drift");
	rig_pcg32_seed_named(&s->read_rng, seed, s->name, "read");
	draw_calibration(s, p);
}

/* Drift at simulated time @p t: a pure function of (seed, name, floor(t)),
 * whatever the order of queries, because the walk is stepped one second
 * at a time from the start. Earlier times than the last query get the
 * last value (time only moves forward in the station). */
static double drift_at(struct sim_sensor *s, double t)
{
	const double a = exp(-1.0 / DRIFT_TAU_S);
	int64_t k = t > 0 ? (int64_t)floor(t) : 0;

	while (s->drift_k < k) {
		s->drift = s->drift * a + s->drift_step * rig_pcg32_normal(&s->drift_rng);
		s->drift_k++;
	}
	return s->drift;
}

/* What the transducer sees before referencing (true value plus errors). */
static double transducer(struct sim_sensor *s, double t, double truth)
{
	return calibrated(s, truth) + s->offset0 + drift_at(s, t);
}

static double sigma(const struct sim_sensor *s)
{
	return s->noise_rms * (s->noisy ? NOISY_FACTOR : 1.0);
}

static double clip(double v, double range)
{
	return v > range ? range : v < -range ? -range : v;
}

/* A load cell overloads on the physical load; the displacement sensor goes
 * out of range on its referenced reading. */
static bool over_range(const struct sim_sensor *s, double raw, double value)
{
	return fabs(s->kind == SIM_SENSOR_FORCE ? raw : value) > s->range;
}

/* One slow measurement: fills status, flags and value registers. */
static void measure(struct sim_sensor *s, double t, double truth, uint16_t *img)
{
	double raw, value;
	uint16_t status = STATUS_OK;
	long counts;

	if (s->dead) {
		value = s->frozen;
		status = STATUS_FAULT;
	} else {
		raw = transducer(s, t, truth);
		value = raw - s->reference + sigma(s) * rig_pcg32_normal(&s->read_rng);
		if (over_range(s, raw, value)) {
			status = STATUS_OVER;
			s->latched |= FLAG_OVER;
		}
		value = clip(value, s->range);
	}
	counts = lround(value / s->resolution);
	img[IR_STATUS] = status;
	img[IR_STATUS + 1] = (uint16_t)(s->latched | (s->dead ? FLAG_FAULT : 0) |
					(s->referenced ? FLAG_REFERENCED : 0));
	sim_regs_put_u32(img + IR_STATUS + 2, (uint32_t)(int32_t)counts);
}

int sim_sensor_read_input(struct sim_sensor *s, double t, double truth, uint16_t addr,
			  uint16_t n, uint16_t *dst)
{
	const struct kind_params *p = &params[s->kind];
	uint16_t img[IR_END] = {0};

	if (!sim_regs_listed(input_spans, N_SPANS(input_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	img[0] = p->device_type;
	img[1] = MAP_VERSION;
	sim_regs_put_u32(img + 2, s->serial);
	img[4] = p->firmware;
	sim_regs_put_u32(img + IR_END - 2, (uint32_t)lround(s->range / s->resolution));
	/* Only a read that covers the measurement takes one (and draws noise). */
	if (addr < IR_MEASURE_END && addr + n > IR_STATUS)
		measure(s, t, truth, img);
	memcpy(dst, img + addr, n * sizeof(uint16_t));
	return 0;
}

int sim_sensor_read_holding(struct sim_sensor *s, uint16_t addr, uint16_t n, uint16_t *dst)
{
	(void)s;
	if (!sim_regs_listed(holding_spans, N_SPANS(holding_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	dst[0] = 0; /* the command register is write-only */
	return 0;
}

int sim_sensor_write(struct sim_sensor *s, double t, double truth, uint16_t addr, uint16_t n,
		     const uint16_t *src)
{
	double residual;

	if (!sim_regs_listed(holding_spans, N_SPANS(holding_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	switch (src[0]) {
	case CMD_CLEAR_FLAGS:
		s->latched = 0;
		return 0;
	case CMD_REFERENCE:
		if (s->dead)
			return RIGI_MBX_DEVICE_FAILURE;
		residual = sigma(s) / REFERENCE_AVERAGING * rig_pcg32_normal(&s->read_rng);
		/* ZERO re-references to the flush gauge (removes offset and drift);
		 * TARE makes the present load read zero. */
		s->reference = (s->kind == SIM_SENSOR_FORCE ? transducer(s, t, truth)
							    : transducer(s, t, 0.0)) + residual;
		s->referenced = true;
		return 0;
	default:
		return RIGI_MBX_ILLEGAL_VALUE;
	}
}

void sim_sensor_capture_begin(struct sim_sensor *s, double t0, unsigned capture)
{
	char purpose[32];

	snprintf(purpose, sizeof(purpose), "capture#%u", capture);
	rig_pcg32_seed_named(&s->cap_rng, s->seed, s->name, purpose);
	s->cap_have_spare = false;
	/* The drift is far slower than any capture: held at its start value. */
	s->cap_offset = s->offset0 + drift_at(s, t0) - s->reference;
}

/* The next standard normal of the capture's noise. Box-Muller gives two
 * independent normals per pair of uniforms; both are used (the second is
 * kept for the next sample, across calls), which halves the cost of the
 * noise, a tenth of a lockstep run's time. The values depend only on the
 * sample's index in the capture, not on how the samples are requested. */
static double capture_normal(struct sim_sensor *s)
{
	double u1, u2, r;

	if (s->cap_have_spare) {
		s->cap_have_spare = false;
		return s->cap_spare;
	}
	u1 = rig_pcg32_uniform(&s->cap_rng);
	u2 = rig_pcg32_uniform(&s->cap_rng);
	if (u1 < 1e-300)
		u1 = 1e-300;
	r = sqrt(-2.0 * log(u1));
	s->cap_spare = r * sin(2.0 * M_PI * u2);
	s->cap_have_spare = true;
	return r * cos(2.0 * M_PI * u2);
}

void sim_sensor_analog(struct sim_sensor *s, double *values, size_t n)
{
	double sd = sigma(s);

	for (size_t i = 0; i < n; i++) {
		/* Draw even when dead, so reviving keeps the stream in step. */
		double noise = sd * capture_normal(s);
		values[i] = s->dead ? s->frozen
				    : clip(calibrated(s, values[i]) + s->cap_offset + noise, s->range);
	}
}

void sim_sensor_set_dead(struct sim_sensor *s, bool dead, double t, double truth)
{
	if (dead && !s->dead)
		s->frozen = clip(transducer(s, t, truth) - s->reference, s->range);
	s->dead = dead;
}

void sim_sensor_set_noisy(struct sim_sensor *s, bool noisy)
{
	s->noisy = noisy;
}
