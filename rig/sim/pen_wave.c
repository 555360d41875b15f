/* The simulated pen's waveform: needle-tip position and phantom force at
 * the simulated times the station asks for. The cam runs stroke by stroke;
 * each stroke takes its period, peak jitter and skip from the pen's
 * "stroke" PCG32 stream and its protrusion and rate from the pen's state
 * when it is generated. Strokes are generated in time order and kept in a
 * ring, so that samples asked out of order (a slow sensor reading between
 * the blocks of a capture) see the same strokes: the waveform is a function
 * of time for a given command history. */
#include <math.h>

#include "core/core.h"
#include "firmware.h"

/* Draw the stroke starting at @p t from @p rng; 0 when the cam does not turn
 * (dead band). Always three draws, so a unit's jitter does not depend on its
 * failure mode. */
static int make_stroke(const struct sim_pen *pen, struct rig_pcg32 *rng, double t,
		       struct sim_stroke *s)
{
	const struct sim_unit *u = &pen->unit;
	double on_s = sim_hw_on_seconds(pen, t);
	double p = sim_hw_protrusion(pen, on_s);
	double rate = sim_phys_rate(u, pen->hw.duty_applied, p, on_s);
	double n_period, n_peak, draw_skip;

	if (rate <= 0)
		return 0;
	n_period = rig_pcg32_normal(rng);
	draw_skip = rig_pcg32_uniform(rng);
	n_peak = rig_pcg32_normal(rng);
	s->start_s = t;
	s->period_s = (1.0 + u->jitter * n_period) / rate;
	s->rest_um = p - u->throw_um;
	if (u->failure == SIM_FAILURE_SKIPPED_STROKES && draw_skip < u->skip_frac)
		s->amp_um = SIM_SKIP_TWITCH * u->throw_um;
	else
		s->amp_um = u->throw_um + u->peak_jitter_um * n_peak;
	return 1;
}

static void eval_stroke(const struct sim_pen *pen, const struct sim_stroke *s, double t,
			double *tip, double *force)
{
	double theta = 2.0 * M_PI * (t - s->start_s) / s->period_s - M_PI;
	*tip = s->rest_um + s->amp_um * (1.0 - sim_phys_cam_shape(&pen->unit, theta));
	*force = sim_phys_force(&pen->unit, s->rest_um + s->amp_um, *tip, theta >= 0);
}

static void at_rest(const struct sim_pen *pen, double t, double *tip, double *force)
{
	double rest = sim_hw_protrusion(pen, sim_hw_on_seconds(pen, t)) - pen->unit.throw_um;
	*tip = rest;
	*force = sim_phys_force(&pen->unit, rest, rest, 0);
}

static struct sim_stroke *stroke(struct sim_cam *cam, size_t age)
{
	return &cam->hist[(cam->newest + SIM_CAM_HISTORY - age) % SIM_CAM_HISTORY];
}

static int push_stroke(struct sim_pen *pen, double t)
{
	struct sim_cam *cam = &pen->hw.cam;
	struct sim_stroke s;

	if (!make_stroke(pen, &cam->rng, t, &s)) {
		cam->active = 0; /* stopped in the dead band; a later sample restarts */
		return 0;
	}
	cam->newest = (cam->newest + 1) % SIM_CAM_HISTORY;
	*stroke(cam, 0) = s;
	if (cam->count < SIM_CAM_HISTORY)
		cam->count++;
	return 1;
}

/* The kept stroke in progress at @p t (binary search), or NULL when @p t is
 * before the run's first kept stroke. */
static const struct sim_stroke *find_past(struct sim_cam *cam, double t)
{
	size_t lo = 0, hi = cam->count - 1; /* ages: 0 newest */

	if (t >= stroke(cam, 0)->start_s)
		return stroke(cam, 0);
	if (t < stroke(cam, hi)->start_s)
		return NULL;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (stroke(cam, mid)->start_s <= t)
			hi = mid;
		else
			lo = mid + 1;
	}
	return stroke(cam, lo);
}

/* One sample. @p may_anchor: a sample of a run whose cam has not started
 * yet starts it (captures) or only previews it (slow readings). */
static void sample(struct sim_pen *pen, double t, int may_anchor, double *tip, double *force)
{
	struct sim_cam *cam = &pen->hw.cam;
	const struct sim_stroke *s;

	if (!pen->hw.running) {
		cam->active = 0;
		at_rest(pen, t, tip, force);
		return;
	}
	if (!cam->active || cam->run != pen->hw.run) {
		struct rig_pcg32 preview = cam->rng;
		struct sim_stroke first;
		if (!may_anchor) {
			if (make_stroke(pen, &preview, t, &first))
				eval_stroke(pen, &first, t, tip, force);
			else
				at_rest(pen, t, tip, force);
			return;
		}
		cam->count = 0;
		cam->run = pen->hw.run;
		cam->active = push_stroke(pen, t);
		if (!cam->active) {
			at_rest(pen, t, tip, force);
			return;
		}
	}
	while (t >= stroke(cam, 0)->start_s + stroke(cam, 0)->period_s) {
		if (!push_stroke(pen, stroke(cam, 0)->start_s + stroke(cam, 0)->period_s)) {
			at_rest(pen, t, tip, force);
			return;
		}
	}
	s = find_past(cam, t);
	if (s)
		eval_stroke(pen, s, t, tip, force);
	else
		at_rest(pen, t, tip, force);
}

void sim_pen_waveform(struct sim_pen *pen, double t0, double dt, size_t n, double *tip_um,
		      double *force_mn)
{
	pthread_mutex_lock(&pen->lock);
	for (size_t i = 0; i < n; i++) {
		double tip, force;
		sample(pen, t0 + (double)i * dt, 1, &tip, &force);
		if (tip_um)
			tip_um[i] = tip;
		if (force_mn)
			force_mn[i] = force;
	}
	pthread_mutex_unlock(&pen->lock);
}

void sim_pen_sample(struct sim_pen *pen, double t, double *tip_um, double *force_mn)
{
	pthread_mutex_lock(&pen->lock);
	sample(pen, t, 0, tip_um, force_mn);
	pthread_mutex_unlock(&pen->lock);
}
