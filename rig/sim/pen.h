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
 *  signed with line_key). Returns NULL on error (rig_last_error() says why). */
struct sim_pen *sim_pen_new(const struct sim_pen_config *cfg);
void sim_pen_free(struct sim_pen *pen);

/* ---- firmware side ---- */

/** Feed @p len bytes received from the host. Response bytes (zero or more
 *  whole frames) are written to @p out (capacity @p cap, >= 2 * 1036);
 *  returns their count. Never blocks. */
size_t sim_pen_receive(struct sim_pen *pen, const uint8_t *in, size_t len,
		       uint8_t *out, size_t cap);

/** The host link closed: the authenticated session ends, a partial frame is
 *  dropped, a table write in progress is left as is (uncommitted). */
void sim_pen_link_closed(struct sim_pen *pen);

/** Power loss and power-up: RAM state lost (motor off, session, partial
 *  frame, write in progress), flash kept exactly as it is, boot verification
 *  of both slots. */
void sim_pen_power_cycle(struct sim_pen *pen);

/** Inject a power loss when the firmware model has received @p n more
 *  bytes (the n-th byte is lost with the power); -1 disarms. */
void sim_pen_power_loss_after(struct sim_pen *pen, long n);

/* ---- physics side (what the station's sensors see) ---- */

/** True needle-tip protrusion (µm beyond the cartridge face; negative when
 *  retracted) and phantom force (mN) for @p n samples at simulated times
 *  t0 + i * dt. Deterministic: the same pen, command history and calls give
 *  the same values (randomness from PCG32 streams of (seed, serial)). */
void sim_pen_waveform(struct sim_pen *pen, double t0, double dt, size_t n,
		      double *tip_um, double *force_mn);

/* ---- ground truth (side channel; never used by the rig's measuring path) ---- */

struct sim_truth {
	double protrusion_um;   /* peak tip protrusion per stroke */
	double penetration_um;  /* effective penetration into the phantom */
	double rate_hz;         /* strokes per second */
	double puncture_force_mn;
	uint16_t code, duty;    /* what the firmware applies */
};

/** Truth for the pen's present state (mode, setpoints or raw code/duty). */
void sim_pen_truth_now(struct sim_pen *pen, struct sim_truth *out);
/** Truth for raw service values, approached from below (rising code). */
void sim_pen_truth_service(struct sim_pen *pen, uint16_t code, uint16_t duty,
			   struct sim_truth *out);
/** Truth for user setpoints through the pen's active table. Returns 0 or
 *  RIG_ERR_RANGE when the table does not cover the setpoint. */
int sim_pen_truth_user(struct sim_pen *pen, uint16_t depth_um, uint16_t rate_spm,
		       struct sim_truth *out);

/** The serial number. */
const char *sim_pen_serial(const struct sim_pen *pen);

#endif
