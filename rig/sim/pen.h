/* A simulated pen: the firmware model (docs/protocol.md, device side) and
 * the physics of its depth mechanism, drive and the nest's phantom
 * (DESIGN §4). The station (station.h) samples its true needle position and
 * phantom force; the DUT endpoint feeds it protocol bytes; tests and the
 * control socket read its ground truth. Thread-safe: every function locks
 * the pen. Nothing here is used by the rig's measuring path. */
#ifndef SIM_PEN_H
#define SIM_PEN_H

#include <stddef.h>
#include <stdint.h>

#include "simclock.h"

enum sim_failure {
	SIM_FAILURE_NONE = 0,
	SIM_FAILURE_BENT_NEEDLE,      /* higher puncture force, shallower */
	SIM_FAILURE_MISSING_NEEDLE,   /* lower total puncture force */
	SIM_FAILURE_SKIPPED_STROKES,  /* some strokes do not extend */
	SIM_FAILURE_STALL,            /* motor stalls at high load */
	SIM_FAILURE_CARTRIDGE,        /* cartridge not seated: depth offset */
	SIM_FAILURE_DETENT_SLIP,      /* depth drifts during a run */
};

/** Name as used on the command line ("bent-needle", ...); NULL if invalid. */
const char *sim_failure_name(enum sim_failure f);
/** Parse a name; returns the failure or -1. */
int sim_failure_parse(const char *name);

struct sim_pen_config {
	uint64_t seed;             /* run seed: unit variation from (seed, serial) */
	char serial[17];           /* e.g. "MN1-000123" */
	enum sim_failure failure;
	const char *state_dir;     /* flash persisted as <state_dir>/<serial>.flash */
	uint8_t line_key[32];      /* provisioned key */
	const struct sim_clock *clock;
};

struct sim_pen;

/** Create a pen; loads its flash from the state directory or, the first
 *  time, creates it with a factory table (nominal mapping, table_seq 1,
 *  signed with line_key). The state directory is created if missing (one
 *  level). cfg->clock is borrowed and must outlive the pen; NULL gives the
 *  pen a private real-time clock. One pen object per flash file at a time
 *  (the file is locked). Returns NULL on error (rig_last_error() says why:
 *  RIG_ERR_AUTH when the flash was provisioned with another line key,
 *  RIG_ERR_FORMAT when it is damaged, RIG_ERR_BUSY when held). */
struct sim_pen *sim_pen_new(const struct sim_pen_config *cfg);
/** Free a pen (an orderly shutdown: the stroke counter is saved when the
 *  motor was running). NULL is a no-op. */
void sim_pen_free(struct sim_pen *pen);

/* ---- firmware side ---- */

/** Feed @p len bytes received from the host. Response bytes (zero or more
 *  whole frames) are written to @p out (capacity @p cap, >= 2 * 1036);
 *  returns their count. Never blocks. A response that does not fit is
 *  dropped (only a host that pipelines requests, against §1, can cause it).
 *  The link timers run on real monotonic time (rig_clock_ns(), in every
 *  clock mode): first the host-loss watchdog runs (sim_pen_tick()), then a
 *  partial frame with no new byte for 100 ms is discarded. */
size_t sim_pen_receive(struct sim_pen *pen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap);
/** sim_pen_receive() at monotonic time @p now_ns (tests drive the link
 *  timers with it; never earlier than a previous call's time). */
size_t sim_pen_receive_at(struct sim_pen *pen, int64_t now_ns, const uint8_t *in, size_t len,
			  uint8_t *out, size_t cap);

/** The host-loss watchdog (docs/protocol.md §3): in service mode or with
 *  the motor on, no valid frame for 1000 ms of real time stops the motor,
 *  leaves service mode, ends the session and sets fault HOST_LOST. The
 *  endpoint serving the pen calls this periodically (every 50 ms or
 *  sooner); sim_pen_receive() calls it too. Returns 1 when it tripped now. */
int sim_pen_tick(struct sim_pen *pen);
/** sim_pen_tick() at monotonic time @p now_ns. */
int sim_pen_tick_at(struct sim_pen *pen, int64_t now_ns);

/** The host link closed: the authenticated session ends, a partial frame is
 *  dropped, a table write in progress is left as is (uncommitted). */
void sim_pen_link_closed(struct sim_pen *pen);

/** Power loss and power-up: RAM state lost (motor off, session, partial
 *  frame, write in progress, strokes counted since the last motor stop),
 *  flash kept exactly as it is, boot verification of both slots. Mechanical
 *  state (depth stop position, motor-on time for the drifts) is kept. */
void sim_pen_power_cycle(struct sim_pen *pen);

/** Inject a power loss when the firmware model has received @p n more
 *  bytes (the n-th byte is lost with the power); 0 now; -1 disarms. The pen
 *  powers up again at once, as sim_pen_power_cycle(): the rest of the bytes
 *  of that sim_pen_receive() call are lost, and the boot count changes (a
 *  link should drop, as USB does when a device resets). */
void sim_pen_power_loss_after(struct sim_pen *pen, long n);

/** Inject a power loss inside the flash: once @p n more bytes have been
 *  programmed, the write in progress is cut at that byte (a torn record or
 *  a partially written slot, as on a real flash) and the pen powers up
 *  again as above; the response to the request is lost; -1 disarms. */
void sim_pen_flash_loss_after(struct sim_pen *pen, long n);

/** Power-ups since sim_pen_new() (1 after creation). */
unsigned long sim_pen_boot_count(struct sim_pen *pen);

/* ---- physics side (what the station's sensors see) ---- */

/** True needle-tip protrusion (µm beyond the cartridge face; negative when
 *  retracted) and phantom force (mN) for @p n samples at simulated times
 *  t0 + i * dt (the DAQ's captures). Either output may be NULL.
 *  Deterministic: the same pen, command history and calls give the same
 *  values (randomness from PCG32 streams of (seed, serial)). The cam starts
 *  from rest at the first sample after a motor start and runs on stroke by
 *  stroke; the last 4096 strokes are kept, so samples may be asked in any
 *  order (earlier times than a previous call see the same strokes; times
 *  before the cam started, or older than the kept strokes, see the tip at
 *  rest). Slow drifts use the motor-on time at each stroke's start in whole
 *  seconds, so a command sequence replayed quickly gives the same samples.
 *  The command state (code, duty, motor) is the one at call time. */
void sim_pen_waveform(struct sim_pen *pen, double t0, double dt, size_t n,
		      double *tip_um, double *force_mn);

/** One sample at simulated time @p t for a slow sensor reading: as
 *  sim_pen_waveform(), except that it never starts the cam of a motor run
 *  (it previews the first stroke instead), so readings between a motor
 *  start and the next capture do not shift that capture's strokes. */
void sim_pen_sample(struct sim_pen *pen, double t, double *tip_um, double *force_mn);

/* ---- ground truth (side channel; never used by the rig's measuring path) ---- */

struct sim_truth {
	double protrusion_um;   /* peak tip protrusion per stroke */
	double penetration_um;  /* effective penetration into the phantom */
	double rate_hz;         /* strokes per second */
	double puncture_force_mn;
	uint16_t code, duty;    /* what the firmware applies */
};

/* Truth values use the motor-on time now (whole seconds) for the drifts.
 * puncture_force_mn is 0 when the needles do not puncture (protrusion below
 * the tenting depth); rate_hz is 0 when the cam does not turn (motor off,
 * dead band, stall). */

/** Truth for the pen's present state (mode, setpoints or raw code/duty, the
 *  backlash side of the last code change, motor on or off). */
void sim_pen_truth_now(struct sim_pen *pen, struct sim_truth *out);
/** Truth for raw service values, approached from below (rising code), with
 *  the motor running. */
void sim_pen_truth_service(struct sim_pen *pen, uint16_t code, uint16_t duty,
			   struct sim_truth *out);
/** Truth for user setpoints through the pen's active table (the same
 *  mapping and range checks as SET_USER), approached from below, motor
 *  running. Returns 0, RIG_ERR_RANGE when the table or the user range does
 *  not cover the setpoint, or RIG_ERR_STATE when the pen has no valid table. */
int sim_pen_truth_user(struct sim_pen *pen, uint16_t depth_um, uint16_t rate_spm,
		       struct sim_truth *out);

/** The serial number. */
const char *sim_pen_serial(const struct sim_pen *pen);

#endif
