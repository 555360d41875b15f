/* The simulated pen's waveform: needle-tip position and phantom force
 * sampled at the times the station asks for. The cam runs stroke cycle by
 * stroke cycle; each cycle takes its period, peak jitter and skip from the
 * pen's "stroke" PCG32 stream and its protrusion and rate from the state at
 * its start, so the phase is continuous across calls and the same calls
 * give the same samples. */
#include <math.h>

#include "firmware.h"

/* Start a stroke cycle at @p t; 0 when the cam does not turn (dead band). */
static int begin_cycle(struct sim_pen *pen, double t)
{
	const struct sim_unit *u = &pen->unit;
	struct sim_cam *cam = &pen->hw.cam;
	double on_s = sim_hw_on_seconds(pen, t);
	double p = sim_hw_protrusion(pen, on_s);
	double rate = sim_phys_rate(u, pen->fw.duty, p, on_s);
	double n_period, n_peak, draw_skip;

	if (rate <= 0) {
		cam->active = 0;
		return 0;
	}
	/* Always three draws per cycle: a unit's jitter does not depend on its
	 * failure mode. */
	n_period = rig_pcg32_normal(&cam->rng);
	draw_skip = rig_pcg32_uniform(&cam->rng);
	n_peak = rig_pcg32_normal(&cam->rng);
	cam->active = 1;
	cam->run = pen->hw.run;
	cam->start_s = t;
	cam->period_s = (1.0 + u->jitter * n_period) / rate;
	cam->rest_um = p - u->throw_um;
	if (u->failure == SIM_FAILURE_SKIPPED_STROKES && draw_skip < u->skip_frac)
		cam->amp_um = SIM_SKIP_TWITCH * u->throw_um;
	else
		cam->amp_um = u->throw_um + u->peak_jitter_um * n_peak;
	return 1;
}

static void at_rest(const struct sim_pen *pen, double t, double *tip, double *force)
{
	double rest = sim_hw_protrusion(pen, sim_hw_on_seconds(pen, t)) - pen->unit.throw_um;
	*tip = rest;
	*force = sim_phys_force(&pen->unit, rest, rest, 0);
}

static void sample(struct sim_pen *pen, double t, double *tip, double *force)
{
	struct sim_cam *cam = &pen->hw.cam;
	double theta, peak;

	if (!pen->hw.running) {
		cam->active = 0;
		at_rest(pen, t, tip, force);
		return;
	}
	/* A new motor run, or a caller stepping back in time, restarts the cam
	 * from rest at this sample. */
	if ((!cam->active || cam->run != pen->hw.run || t < cam->start_s) &&
	    !begin_cycle(pen, t)) {
		at_rest(pen, t, tip, force);
		return;
	}
	while (t >= cam->start_s + cam->period_s) {
		if (!begin_cycle(pen, cam->start_s + cam->period_s)) {
			at_rest(pen, t, tip, force);
			return;
		}
	}
	theta = 2.0 * M_PI * (t - cam->start_s) / cam->period_s - M_PI;
	*tip = cam->rest_um + cam->amp_um * (1.0 - sim_phys_cam_shape(&pen->unit, theta));
	peak = cam->rest_um + cam->amp_um;
	*force = sim_phys_force(&pen->unit, peak, *tip, theta >= 0);
}

void sim_pen_waveform(struct sim_pen *pen, double t0, double dt, size_t n, double *tip_um,
		      double *force_mn)
{
	pthread_mutex_lock(&pen->lock);
	for (size_t i = 0; i < n; i++) {
		double tip, force;
		sample(pen, t0 + (double)i * dt, &tip, &force);
		if (tip_um)
			tip_um[i] = tip;
		if (force_mn)
			force_mn[i] = force;
	}
	pthread_mutex_unlock(&pen->lock);
}
