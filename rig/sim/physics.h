/* Physics of a simulated pen (DESIGN §4): the unit's parameters drawn from
 * (run seed, serial), the depth mechanism (code -> protrusion), the drive
 * (duty -> stroke rate), the offset-cam stroke shape and the phantom under
 * the needles. Everything here is a pure function of the parameters and its
 * arguments; the pen (pen.c, pen_wave.c) keeps the time-dependent state.
 * docs/sim-pen.md lists every parameter and its distribution. */
#ifndef SIM_PHYSICS_H
#define SIM_PHYSICS_H

#include <stdint.h>

#include "pen.h"

#define SIM_UM_PER_CODE 0.75          /* nominal protrusion per actuator code */
#define SIM_NOMINAL_DEADBAND 120.0    /* permille, nominal drive */
#define SIM_PHANTOM_TENT_RESIDUAL 0.4 /* fraction of the tenting left at the bottom */
#define SIM_NOMINAL_FULL_HZ 180.0     /* strokes/s at duty 1000, nominal drive: the
                                       * slowest unit still reaches 150/s under load */
#define SIM_DUTY_FULL 1000.0
#define SIM_SKIP_TWITCH 0.02         /* a skipped stroke still moves 2 % of the throw */
#define SIM_NEEDLES 12               /* needles per MN1 cartridge */
#define SIM_NEEDLE_SPREAD_UM 3.0     /* tip heights differ by up to ±3 µm in a cartridge */

/** Per-unit parameters; see docs/sim-pen.md for their distributions. */
struct sim_unit {
	enum sim_failure failure;
	/* depth mechanism: P = offset + gain*0.75*code + bump*sin(pi x) + quad*x^2 -/+ backlash/2 */
	double gain, offset_um, bump_um, quad_um, backlash_um;
	/* drive */
	double deadband, full_hz, curvature, sag_at_2500, warm_frac, warm_tau_s;
	double jitter;          /* relative sigma of the per-stroke period */
	/* stroke shape */
	double throw_um, h2, peak_jitter_um;
	/* phantom */
	double stiffness_mn_um, puncture_mn, drag_mn, drag_slope_mn_um, rebound;
	/* needle tips: each one's height below the cartridge's mean tip (µm,
	 * mean 0), so needle i punctures when the hub is at tenting + dz[i];
	 * the needle a missing-needle unit lacks */
	double needle_dz_um[SIM_NEEDLES];
	int missing_index;
	/* failure modes (only the unit's own failure is applied) */
	int needles;
	double bent_force_mult, bent_um, cartridge_um, skip_frac;
	double stall_depth_um, stall_duty;
};

/** Draw the parameters of unit @p serial in run @p seed (PCG32 streams named
 *  "depth", "drive", "cam", "phantom", "needles", "failure"), so that one failure mode
 *  does not change the draws of the others. */
void sim_unit_draw(struct sim_unit *u, uint64_t seed, const char *serial,
		   enum sim_failure failure);

/** Peak protrusion (µm) at actuator @p code; @p dir is +1 when the last code
 *  change was upward (the stop lags low by half the backlash), -1 downward;
 *  @p on_s is the motor-on time in whole seconds (detent slip). */
double sim_phys_protrusion(const struct sim_unit *u, double code, int dir, double on_s);

/** Stroke rate (Hz) at @p duty with the needles reaching @p protrusion_um
 *  (load sag) after @p on_s whole seconds of motor-on time (warm-up).
 *  0 inside the dead band. */
double sim_phys_rate(const struct sim_unit *u, double duty, double protrusion_um,
		     double on_s);

/** 1 when a unit with the stall failure stalls at these values. */
int sim_phys_stalls(const struct sim_unit *u, double duty, double protrusion_um);

/** Stroke shape: 0 at the peak (theta = 0), 1 at rest (theta = ±pi). */
double sim_phys_cam_shape(const struct sim_unit *u, double theta);

/** Total puncture force of the cartridge (mN), failure mode included. */
double sim_phys_puncture_force(const struct sim_unit *u);

/** Tenting depth at puncture (µm): puncture force / stiffness. */
double sim_phys_tenting_um(const struct sim_unit *u);

/** Effective penetration (µm) for a stroke of peak @p protrusion_um; 0 when
 *  the needles do not puncture. */
double sim_phys_penetration(const struct sim_unit *u, double protrusion_um);

/** Phantom force (mN) with the tip at @p tip_um on a stroke of peak
 *  @p peak_um, on the way down (@p retracting 0) or back up (1). */
double sim_phys_force(const struct sim_unit *u, double peak_um, double tip_um,
		      int retracting);

/** Motor current (mA) when running at @p duty with peak @p protrusion_um. */
double sim_phys_current_ma(double duty, double protrusion_um, int turning);

/** Nominal (design) mapping used for the factory table: code for a depth
 *  setpoint, duty for a rate setpoint. */
uint16_t sim_phys_nominal_code(double depth_um);
uint16_t sim_phys_nominal_duty(double rate_spm);

#endif
