/* Model of the simulated station's DAQ (docs/registers.md, device type
 * 0x4451; model in docs/sim-station.md): configuration registers, the
 * IDLE/ARMED/CAPTURING/DONE/FAULT state machine run on the simulated clock,
 * and the capture buffer behind the paged window. Channels 2n and 2n+1
 * sample nest n's displacement (0.1 µm/count) and force (1 mN/count). The
 * samples are produced as the simulated clock passes them, through the
 * acquire callback, whenever the station advances the DAQ (before serving
 * any request), so the pens are always asked for their waveform in time
 * order. Not thread-safe: the station locks around every call. */
#ifndef SIM_DAQSIM_H
#define SIM_DAQSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_DAQ_MAX_RATE 50000u
#define SIM_DAQ_CAPACITY 1048576u
#define SIM_DAQ_WINDOW 16384u

/** Fill the analog signals of nest @p nest for samples first .. first+n-1
 *  of capture number @p capture, at simulated times t0 + (first + i) * dt:
 *  displacement in µm and force in mN as the sensors output them. Calls
 *  for one capture come in sample order, starting with first = 0. */
typedef void (*sim_daq_acquire_fn)(void *user, unsigned nest, double t0, double dt,
				   size_t first, size_t n, unsigned capture, double *disp_um,
				   double *force_mn);

struct sim_daq {
	uint64_t seed;
	uint32_t serial;
	unsigned channels;      /* 2 per nest */
	double timebase;        /* true sample rate / nominal (1 + ppm error) */
	sim_daq_acquire_fn acquire;
	void *user;
	/* holding registers */
	uint32_t rate, count;
	uint16_t mask, trigger, page;
	/* state */
	uint16_t status, flags, fault_code;
	double t0, t_end;       /* capture span on the simulated clock */
	double dt;              /* true sample interval of the capture */
	unsigned capture;       /* number of the present capture */
	uint32_t cap_count;     /* layout of the buffered capture */
	uint16_t cap_mask;
	uint32_t generated;     /* samples per channel produced so far */
	uint32_t fault_captured;
	bool overrun_pending;
	int16_t *buf;           /* cap_count * enabled channels, interleaved */
};

/** Initialise for @p channels channels (2 per nest). */
void sim_daq_init(struct sim_daq *d, uint64_t seed, unsigned channels,
		  sim_daq_acquire_fn acquire, void *user);

/** Free the capture buffer. */
void sim_daq_cleanup(struct sim_daq *d);

/** Produce the samples of the capture in progress up to simulated time
 *  @p now and end it (DONE, or FAULT on an injected overrun) once @p now
 *  passes its end. */
void sim_daq_advance(struct sim_daq *d, double now);

/** Simulated time at which the capture in progress ends, or -1 when none is
 *  in progress (a lockstep clock jumps there). */
double sim_daq_capture_end(const struct sim_daq *d);

/** Serve input registers at simulated time @p now (identity, status,
 *  buffer window). Returns 0 or an exception code. */
int sim_daq_read_input(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
		       uint16_t *dst);

/** Serve holding registers (configuration read-back; command reads 0). */
int sim_daq_read_holding(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
			 uint16_t *dst);

/** Write holding registers (configuration, commands) at @p now. */
int sim_daq_write(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
		  const uint16_t *src);

/** Make the capture in progress, or else the next one, end in FAULT with
 *  OVERRUN (fault code 3). */
void sim_daq_inject_overrun(struct sim_daq *d, bool on);

/** Make every simulated DAQ of this process report register map version
 *  @p version (1..65535) in its identity block; 0 restores the true one.
 *  Process-wide and thread-safe (a `rig sim` has one DAQ; the control
 *  fault `daq-map-version` sets it without the station's lock). */
void sim_daq_inject_map_version(unsigned version);

#endif
