/* One measurement sample of a nest: a synchronous DAQ capture of the
 * displacement and force channels, converted to µm and mN with the
 * fixture's channel scaling, analysed stroke by stroke; plus the
 * uncertainty of its means and the safety interlock. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"


/* The nest's two channels, through the station's capture scheduler (shared
 * with the other nests' requests of about the same time). */
static int capture(struct rigi_run *r, double capture_s, int16_t **buf, size_t *n)
{
	const struct rig_sensor *ds = &r->nest->displacement;
	const struct rig_sensor *fs = &r->nest->force;
	struct rigi_capture_req req = {
		.nest = r->nest->index,
		.mask = (uint16_t)((1u << ds->daq_channel) | (1u << fs->daq_channel)),
		.samples = (uint32_t)lround(capture_s * r->fx->daq.sample_rate_hz),
		.keepalive = rigi_keepalive,
		.arg = r,
	};
	*n = req.samples;
	*buf = req.buf = malloc((size_t)req.samples * 2 * sizeof(int16_t));
	if (!*buf)
		return rigi_fail(RIG_ERR_NOMEM, "no memory for a %.2f s capture", capture_s);
	return rigi_station_capture(r->station, &req);
}

static int sample_take(struct rigi_run *r, double capture_s, int keep, struct rigi_sample *out)
{
	const struct rig_sensor *ds = &r->nest->displacement;
	const struct rig_sensor *fs = &r->nest->force;
	struct rig_channel_scale dscale = {ds->scale, ds->offset};
	struct rig_channel_scale fscale = {fs->scale, fs->offset};
	struct rig_capture *cap = NULL;
	int16_t *buf = NULL;
	size_t n = 0;
	/* Interleaved in increasing channel number (docs/registers.md). */
	int disp_first = ds->daq_channel < fs->daq_channel;
	int ret;

	*out = (struct rigi_sample){0};
	if (rig_interrupted())
		return rigi_fail(RIG_ERR_INTERRUPTED, "%s", rig_interrupt_cause());
	/* Captures may follow each other for minutes (a run-in) with the motor
	 * on; with a lockstep DAQ none of them waits long enough to keep the
	 * pen's link alive from inside the wait. */
	if ((ret = rigi_keepalive(r)) < 0)
		return ret;
	r->sum->physical_s += capture_s;
	ret = capture(r, capture_s, &buf, &n);
	/* What follows touches the sensors, the CPU and the disk, never the pen,
	 * and can take hundreds of ms of real time on a loaded host with the
	 * motor on: the keeper keeps the pen alive meanwhile. */
	rigi_keeper_hold(r);
	/* A capture is only as good as the sensors behind it: a sensor in fault
	 * or over range during it makes it a station error, not data. */
	if (ret == 0)
		ret = rigi_sensors_ok(r);
	if (ret == 0)
		ret = rig_capture_from_counts(r->fx->daq.sample_rate_hz, n, 2,
					      buf + (disp_first ? 0 : 1), &dscale,
					      buf + (disp_first ? 1 : 0), &fscale, &cap);
	if (ret == 0) {
		out->max_disp_um = -INFINITY;
		out->max_force_mn = -INFINITY;
		for (size_t i = 0; i < n; i++) {
			out->max_disp_um = fmax(out->max_disp_um, cap->disp_um[i]);
			out->max_force_mn = fmax(out->max_force_mn, cap->force_mn[i]);
		}
		struct rig_analysis_params params;
		rig_analysis_params_default(&params);
		params.tent_residual = r->fx->phantom.tent_residual;
		ret = rig_analysis_run(cap, &params, &out->an);
	}
	if (ret == 0) {
		struct rig_event ev = {.type = RIG_EV_CAPTURE};
		out->n_accepted = out->an->count[RIG_STROKE_OK];
		ev.u.capture = (struct rig_ev_capture){r->step_index, capture_s,
						       r->fx->daq.sample_rate_hz, n,
						       out->an->n_strokes, out->n_accepted,
						       r->progress_text, cap, out->an};
		if (rigi_emit(r, &ev))
			ret = rigi_fail(r->sink_error, "%s", r->sink_detail);
	} else {
		rigi_error_context("DAQ capture of nest %u (%.2f s)", r->nest->index, capture_s);
	}
	rigi_keeper_release(r);
	if (ret == 0 && keep) {
		out->cap = cap;
		cap = NULL;
	}
	rig_capture_free(cap);
	free(buf);
	return ret;
}

int rigi_sample_take(struct rigi_run *r, double capture_s, struct rigi_sample *out)
{
	return sample_take(r, capture_s, 0, out);
}

int rigi_sample_take_keep(struct rigi_run *r, double capture_s, struct rigi_sample *out)
{
	return sample_take(r, capture_s, 1, out);
}

static int sensor_ok(const char *what, const char *uri, int ret,
		     const struct rig_sensor_reading *rd)
{
	if (ret < 0)
		return ret;
	if (rd->status != RIG_SENSOR_OK)
		return rigi_fail(RIG_ERR_INSTRUMENT, "%s %s reports %s: check the sensor head, its "
						     "cable and its power",
				 what, uri, rig_sensor_status_name(rd->status));
	return 0;
}

int rigi_sensors_ok(struct rigi_run *r)
{
	struct rig_sensor_reading rd = {0};
	int ret = rig_displacement_read(r->disp, &rd);
	ret = sensor_ok("displacement sensor", r->nest->displacement.uri, ret, &rd);
	if (ret == 0) {
		ret = rig_force_read(r->force, &rd);
		ret = sensor_ok("force sensor", r->nest->force.uri, ret, &rd);
	}
	return ret;
}

void rigi_sample_free(struct rigi_sample *s)
{
	rig_analysis_free(s->an);
	rig_capture_free(s->cap);
	s->an = NULL;
	s->cap = NULL;
}

void rigi_protrusion_budget(const struct rigi_run *r, const struct rig_analysis *an,
			   struct rig_measurement *m)
{
	m->n_budget = 0;
	rig_measurement_add_u(m, "repeatability", an->protrusion_um.sem);
	rig_measurement_add_u(m, "sensor_calibration",
			      r->nest->displacement.cal.standard_uncertainty);
}

void rigi_penetration_budget(const struct rigi_run *r, const struct rig_analysis *an,
			     struct rig_measurement *m)
{
	/* protrusion − contact − t·(puncture − contact): the sensor's linearity
	 * errors at the peak and at the puncture, hundreds of µm apart, are
	 * independent (at the contact, near its ZERO, it has none). */
	double t = r->fx->phantom.tent_residual;
	m->n_budget = 0;
	rig_measurement_add_u(m, "repeatability", an->penetration_um.sem);
	rig_measurement_add_u(m, "sensor_calibration",
			      r->nest->displacement.cal.standard_uncertainty * sqrt(1 + t * t));
}

void rigi_rate_budget(const struct rigi_run *r, const struct rig_analysis *an,
		      struct rig_measurement *m)
{
	(void)r;
	m->n_budget = 0;
	rig_measurement_add_u(m, "repeatability", an->stroke_rate_u_hz * 60.0);
	rig_measurement_add_u(m, "daq_clock",
			      an->stroke_rate_hz.mean * 60.0 * RIGI_DAQ_CLOCK_REL_U);
}

double rigi_protrusion_u(const struct rigi_run *r, const struct rig_analysis *an)
{
	struct rig_measurement m;
	rig_measurement_init(&m, "", "", "", NAN);
	rigi_protrusion_budget(r, an, &m);
	return m.u_expanded;
}

double rigi_rate_u_spm(const struct rigi_run *r, const struct rig_analysis *an)
{
	struct rig_measurement m;
	rig_measurement_init(&m, "", "", "", NAN);
	rigi_rate_budget(r, an, &m);
	return m.u_expanded;
}

int rigi_sample_unsafe(const struct rigi_run *r, const struct rigi_sample *s, char *why,
		       size_t cap)
{
	const struct rig_fixture_safety *lim = &r->fx->safety;
	if (lim->max_force_mn > 0 && s->max_force_mn > lim->max_force_mn) {
		snprintf(why, cap, "safety interlock: phantom force %.0f mN above the fixture's "
				   "limit %.0f mN",
			 s->max_force_mn, lim->max_force_mn);
		return 1;
	}
	if (lim->max_protrusion_um > 0 && s->max_disp_um > lim->max_protrusion_um) {
		snprintf(why, cap, "safety interlock: needles protruded %.0f um, beyond the "
				   "fixture's limit %.0f um",
			 s->max_disp_um, lim->max_protrusion_um);
		return 1;
	}
	return 0;
}

int rigi_sample_checked(struct rigi_run *r, int ret, const struct rigi_sample *s,
			const char *what, struct rigi_step_result *res)
{
	char why[256];
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, what);
		return ret;
	}
	if (rigi_sample_unsafe(r, s, why, sizeof(why))) {
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s at %s", why, what);
		return RIG_ERR_RANGE;
	}
	return 0;
}
