/* Model of a nest's simulated slow sensors (docs/sim-station.md): the laser
 * displacement sensor and the load cell under the phantom. Each has a
 * calibration error of its own (gain, linearity: what its certificate's
 * standard uncertainty stands for) and adds to the true signal a power-up
 * offset, a slow offset drift (removed by ZERO / TARE), white noise and
 * quantization; has a range with a latched flag;
 * and can be made dead (FAULT, frozen value) or noisy (noise x20). It
 * serves its Modbus registers and the analog output the DAQ samples. All
 * randomness comes from PCG32 streams named "nest<N>/disp" or
 * "nest<N>/force". Not thread-safe: the station locks around every call. */
#ifndef SIM_SENSOR_H
#define SIM_SENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rig/pcg32.h>

/* Calibration error (docs/sim-station.md "Sensor model"): the rms linearity
 * error of the displacement sensor, µm, and the rms relative gain error of
 * the load cell (fixtures/sim.yaml: 2 mN, at 1.25 N). */
#define SIM_SENSOR_DISP_LINEARITY_U 0.15
#define SIM_SENSOR_FORCE_GAIN_U 0.0016
/* The displacement sensor's standard uncertainty for a reading as the rig
 * takes it (ZERO at the start of each measuring step): the linearity error,
 * the ZERO residual (1 um noise / 8 = 0.125 um) and the drift between the
 * ZERO and the reading (0.1 um per root second, about 0.2 um rms over a
 * step's readings) combined, 0.28 um, stated as 0.3 um. */
#define SIM_SENSOR_DISP_CERT_U 0.3
/* The linearity curve's table: one value every LIN_STEP over ±range. */
#define SIM_SENSOR_LIN_STEP 2
#define SIM_SENSOR_LIN_MAX 5001

enum sim_sensor_kind {
	SIM_SENSOR_DISPLACEMENT, /* µm, tip protrusion */
	SIM_SENSOR_FORCE,        /* mN, phantom force */
};

struct sim_sensor {
	enum sim_sensor_kind kind;
	char name[24];         /* PCG32 stream name, e.g. "nest0/force" */
	uint64_t seed;
	uint32_t serial;
	double noise_rms;      /* white noise, engineering units */
	double resolution;     /* register LSB, engineering units */
	double range;          /* full scale, engineering units */
	double offset0;        /* power-up offset */
	double drift_step;     /* drift random-walk step per simulated second */
	double reference;      /* subtracted by ZERO / TARE */
	bool referenced;       /* ZEROED / TARED flag */
	uint16_t latched;      /* OVER_RANGE flag, latched until CLEAR_FLAGS */
	bool dead;
	bool noisy;
	double frozen;         /* output while dead */
	struct rig_pcg32 drift_rng;
	int64_t drift_k;       /* simulated second the drift value belongs to */
	double drift;
	struct rig_pcg32 read_rng; /* noise of slow readings and TARE */
	struct rig_pcg32 cap_rng;  /* noise of the DAQ capture in progress */
	double cap_offset;         /* offset held during that capture */
	double cap_spare;          /* the second normal of the last Box-Muller pair */
	bool cap_have_spare;
	double gain;               /* 1 + relative gain error */
	size_t lin_n;              /* entries of lin, 0 without linearity error */
	double lin[SIM_SENSOR_LIN_MAX]; /* linearity error at -range + i * LIN_STEP */
};

/** Initialise the sensor of @p kind of nest @p nest from the station seed. */
void sim_sensor_init(struct sim_sensor *s, enum sim_sensor_kind kind, uint64_t seed,
		     unsigned nest);

/** Serve input registers [addr, addr + n) at simulated time @p t, where the
 *  true quantity (µm or mN) is @p truth. Returns 0 or an exception code. */
int sim_sensor_read_input(struct sim_sensor *s, double t, double truth, uint16_t addr,
			  uint16_t n, uint16_t *dst);

/** Serve holding registers (only the command register, which reads 0). */
int sim_sensor_read_holding(struct sim_sensor *s, uint16_t addr, uint16_t n, uint16_t *dst);

/** Execute a write of holding registers (commands ZERO / TARE, CLEAR_FLAGS)
 *  at time @p t with true quantity @p truth. Returns 0 or an exception
 *  code (0x04 while the sensor is dead). */
int sim_sensor_write(struct sim_sensor *s, double t, double truth, uint16_t addr, uint16_t n,
		     const uint16_t *src);

/** Begin the analog output of DAQ capture number @p capture starting at
 *  simulated time @p t0: its noise comes from the stream "capture#N" of
 *  the sensor's name and its offset and drift are held as at @p t0. */
void sim_sensor_capture_begin(struct sim_sensor *s, double t0, unsigned capture);

/** The next @p n samples of the analog output: @p values holds the true
 *  quantity on entry and the output on return. */
void sim_sensor_analog(struct sim_sensor *s, double *values, size_t n);

/** Kill (FAULT, output frozen at the present noise-free value) or revive. */
void sim_sensor_set_dead(struct sim_sensor *s, bool dead, double t, double truth);

/** Multiply the noise by 20, or restore it. */
void sim_sensor_set_noisy(struct sim_sensor *s, bool noisy);

#endif
