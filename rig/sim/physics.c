/* Physics of a simulated pen: unit parameters and the pure models of the
 * depth mechanism, drive, stroke shape and phantom (see physics.h and
 * docs/sim-pen.md for the equations and distributions). */
#include <math.h>

#include <rig/pcg32.h>

#include "physics.h"

#define CODE_SPAN 4095.0
#define SAG_REF_UM 2500.0
#define DETENT_UM_PER_S 2.0   /* -20 µm per 10 s of motor-on time */
#define RETRACT_DECAY_UM 25.0 /* force decay length while the needles withdraw */

static double unif(struct rig_pcg32 *rng, double lo, double hi)
{
	return lo + (hi - lo) * rig_pcg32_uniform(rng);
}

static void draw_depth(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	rig_pcg32_seed_named(&r, seed, serial, "depth");
	u->gain = 1.0 + unif(&r, -0.08, 0.08);
	u->offset_um = unif(&r, -120.0, 120.0);
	u->bump_um = unif(&r, -30.0, 30.0);
	u->quad_um = unif(&r, -40.0, 40.0);
	u->backlash_um = unif(&r, 10.0, 20.0);
}

static void draw_drive(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	rig_pcg32_seed_named(&r, seed, serial, "drive");
	u->deadband = unif(&r, 100.0, 140.0);
	u->full_hz = SIM_NOMINAL_FULL_HZ * (1.0 + unif(&r, -0.10, 0.10));
	u->curvature = unif(&r, -0.06, 0.06);
	u->sag_at_2500 = unif(&r, 0.02, 0.05);
	u->warm_frac = unif(&r, 0.015, 0.025);
	u->warm_tau_s = unif(&r, 45.0, 75.0);
	u->jitter = unif(&r, 0.004, 0.006);
}

static void draw_cam_and_phantom(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	rig_pcg32_seed_named(&r, seed, serial, "cam");
	u->throw_um = 3000.0 * (1.0 + unif(&r, -0.02, 0.02));
	u->h2 = unif(&r, 0.0, 0.08);
	u->peak_jitter_um = 0.3;
	rig_pcg32_seed_named(&r, seed, serial, "phantom");
	u->stiffness_mn_um = unif(&r, 2.0, 3.0);
	u->puncture_mn = unif(&r, 1000.0, 1400.0);
	u->drag_mn = unif(&r, 50.0, 100.0);
	u->drag_slope_mn_um = unif(&r, 0.02, 0.06);
	/* The tenting left after puncture belongs to the station's phantom, not
	 * to the pen: one value, which fixtures/sim.yaml states as tent_residual. */
	u->rebound = SIM_PHANTOM_TENT_RESIDUAL;
}

static void draw_failures(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	rig_pcg32_seed_named(&r, seed, serial, "failure");
	u->needles = 12;
	u->bent_force_mult = unif(&r, 1.5, 2.0);
	u->bent_um = unif(&r, 60.0, 120.0);
	u->cartridge_um = unif(&r, 200.0, 400.0);
	u->skip_frac = 0.05;
	u->stall_depth_um = unif(&r, 1400.0, 1600.0);
	u->stall_duty = unif(&r, 650.0, 750.0);
}

void sim_unit_draw(struct sim_unit *u, uint64_t seed, const char *serial,
		   enum sim_failure failure)
{
	u->failure = failure;
	draw_depth(u, seed, serial);
	draw_drive(u, seed, serial);
	draw_cam_and_phantom(u, seed, serial);
	draw_failures(u, seed, serial);
}

double sim_phys_protrusion(const struct sim_unit *u, double code, int dir, double on_s)
{
	double x = code / CODE_SPAN;
	double p = u->offset_um + u->gain * SIM_UM_PER_CODE * code +
		   u->bump_um * sin(M_PI * x) + u->quad_um * x * x;

	p -= (dir >= 0 ? 0.5 : -0.5) * u->backlash_um;
	switch (u->failure) {
	case SIM_FAILURE_BENT_NEEDLE:
		p -= u->bent_um;
		break;
	case SIM_FAILURE_CARTRIDGE:
		p -= u->cartridge_um;
		break;
	case SIM_FAILURE_DETENT_SLIP:
		p -= DETENT_UM_PER_S * on_s;
		break;
	default:
		break;
	}
	return p;
}

double sim_phys_rate(const struct sim_unit *u, double duty, double protrusion_um,
		     double on_s)
{
	double x = (duty - u->deadband) / (SIM_DUTY_FULL - u->deadband);
	double load = protrusion_um > 0 ? protrusion_um / SAG_REF_UM : 0.0;
	double f;

	if (x <= 0)
		return 0.0;
	if (x > 1)
		x = 1;
	f = u->full_hz * (x + u->curvature * x * (1.0 - x));
	f *= 1.0 - u->sag_at_2500 * load;
	f *= 1.0 + u->warm_frac * (1.0 - exp(-on_s / u->warm_tau_s));
	return f;
}

int sim_phys_stalls(const struct sim_unit *u, double duty, double protrusion_um)
{
	return u->failure == SIM_FAILURE_STALL && duty > u->stall_duty &&
	       protrusion_um > u->stall_depth_um;
}

double sim_phys_cam_shape(const struct sim_unit *u, double theta)
{
	return (1.0 - cos(theta)) / 2.0 + u->h2 * (1.0 - cos(2.0 * theta)) / 4.0;
}

double sim_phys_puncture_force(const struct sim_unit *u)
{
	double f = u->puncture_mn;
	if (u->failure == SIM_FAILURE_BENT_NEEDLE)
		f *= u->bent_force_mult;
	else if (u->failure == SIM_FAILURE_MISSING_NEEDLE)
		f *= (double)(u->needles - 1) / u->needles;
	return f;
}

double sim_phys_tenting_um(const struct sim_unit *u)
{
	return sim_phys_puncture_force(u) / u->stiffness_mn_um;
}

double sim_phys_penetration(const struct sim_unit *u, double protrusion_um)
{
	double tent = sim_phys_tenting_um(u);
	if (protrusion_um < tent)
		return 0.0;
	return protrusion_um - u->rebound * tent;
}

double sim_phys_force(const struct sim_unit *u, double peak_um, double tip_um,
		      int retracting)
{
	double tent = sim_phys_tenting_um(u);
	double bottom;

	if (tip_um <= 0)
		return 0.0;
	if (peak_um < tent || (!retracting && tip_um < tent))
		return u->stiffness_mn_um * tip_um;  /* tenting, elastic both ways */
	if (!retracting)
		return u->drag_mn + u->drag_slope_mn_um * (tip_um - tent);
	bottom = u->drag_mn + u->drag_slope_mn_um * (peak_um - tent);
	return bottom * exp(-(peak_um - tip_um) / RETRACT_DECAY_UM);
}

double sim_phys_current_ma(double duty, double protrusion_um, int turning)
{
	if (duty <= 0)
		return 0.0;
	if (!turning)
		return 40.0 + 0.5 * duty; /* energised inside the dead band: no back-EMF */
	return 40.0 + 0.40 * duty + 0.10 * (protrusion_um > 0 ? protrusion_um : 0.0);
}

uint16_t sim_phys_nominal_code(double depth_um)
{
	return (uint16_t)lround(depth_um / SIM_UM_PER_CODE);
}

uint16_t sim_phys_nominal_duty(double rate_spm)
{
	double hz = rate_spm / 60.0;
	return (uint16_t)lround(SIM_NOMINAL_DEADBAND +
				(SIM_DUTY_FULL - SIM_NOMINAL_DEADBAND) * hz / SIM_NOMINAL_FULL_HZ);
}
