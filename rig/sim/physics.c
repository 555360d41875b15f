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

/* Each needle's tip height in the cartridge, from its own stream so that
 * the other streams (and every unit's existing ground truth) are unchanged.
 * Centred on their mean: the cartridge as a whole punctures at the tenting
 * depth as before, the needles one by one around it. The missing needle's
 * index is drawn for every unit, so the stream does not depend on the
 * failure mode. */
static void draw_needles(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	double mean = 0.0;

	rig_pcg32_seed_named(&r, seed, serial, "needles");
	for (int i = 0; i < SIM_NEEDLES; i++) {
		u->needle_dz_um[i] = unif(&r, -SIM_NEEDLE_SPREAD_UM, SIM_NEEDLE_SPREAD_UM);
		mean += u->needle_dz_um[i] / SIM_NEEDLES;
	}
	for (int i = 0; i < SIM_NEEDLES; i++)
		u->needle_dz_um[i] -= mean;
	u->missing_index = (int)(rig_pcg32_uniform(&r) * SIM_NEEDLES) % SIM_NEEDLES;
}

static void draw_failures(struct sim_unit *u, uint64_t seed, const char *serial)
{
	struct rig_pcg32 r;
	rig_pcg32_seed_named(&r, seed, serial, "failure");
	u->needles = SIM_NEEDLES;
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
	draw_needles(u, seed, serial);
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

static int needle_present(const struct sim_unit *u, int i)
{
	return !(u->failure == SIM_FAILURE_MISSING_NEEDLE && i == u->missing_index);
}

/* Going down through the puncture: the tenting force and the drag are
 * shared by the needles present, and each needle's share changes from
 * tenting to drag when its own tip reaches the tenting depth, so the
 * force falls in one step per needle (a staircase a few µm wide). Below the
 * first and past the last puncture this is the whole-cartridge model. */
static double puncture_staircase(const struct sim_unit *u, double tent, double tip_um)
{
	double tenting = u->stiffness_mn_um * tip_um;
	double drag = u->drag_mn + u->drag_slope_mn_um * (tip_um - tent);
	int present = 0, punctured = 0;

	for (int i = 0; i < u->needles && i < SIM_NEEDLES; i++) {
		if (!needle_present(u, i))
			continue;
		present++;
		punctured += tip_um >= tent + u->needle_dz_um[i];
	}
	if (!present)
		return tenting;
	return (tenting * (present - punctured) + drag * punctured) / present;
}

double sim_phys_force(const struct sim_unit *u, double peak_um, double tip_um,
		      int retracting)
{
	double tent = sim_phys_tenting_um(u);
	double bottom;

	if (tip_um <= 0)
		return 0.0;
	if (peak_um < tent)
		return u->stiffness_mn_um * tip_um;  /* no puncture: tenting, elastic both ways */
	if (!retracting)
		return puncture_staircase(u, tent, tip_um);
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
