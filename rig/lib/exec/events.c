/* The run's event stream (DESIGN §8): the runner hands typed events to the
 * sinks registered for the run — journal, progress display, later report
 * writers and the results store. Also the traceability the first events
 * carry: who ran what, where, with which files, build and instruments. */
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"
#include "records/evidence.h"
#include "records/records.h"

int rigi_emit(struct rigi_run *r, struct rig_event *ev)
{
	ev->time_ms = rig_time_now_ms();
	/* The sinks write evidence to disk (the journal's fsync, a capture's
	 * attachments): on a loaded host one of them alone can outlast the
	 * pen's host-loss watchdog, and the motor may be on. */
	rigi_keeper_hold(r);
	for (size_t i = 0; i < r->n_sinks; i++) {
		struct rig_event_sink *s = &r->sinks[i];
		if (!s->on_event || s->on_event(ev, s->user) == 0)
			continue;
		if (s->required && !r->sink_error) {
			r->sink_error = RIG_ERR_IO;
			if (strstr(rig_last_error(), "disk full"))
				r->sink_error = RIG_ERR_NOSPACE;
			snprintf(r->sink_detail, sizeof(r->sink_detail), "%s: %s", s->name,
				 rig_last_error());
			RIGI_ERROR("run", "run %s: %s", r->run_id, r->sink_detail);
		} else if (!s->required) {
			RIGI_WARN("run", "run %s: sink %s dropped: %s", r->run_id, s->name,
				  rig_last_error());
			s->on_event = NULL;
		}
	}
	rigi_keeper_release(r);
	return r->sink_error;
}

int rigi_measurement_add(struct rigi_run *r, struct rig_record_step *rs,
			 const struct rig_measurement *m)
{
	struct rig_event ev = {.type = RIG_EV_MEASUREMENT};
	int ret = rig_record_step_add(rs, m);
	if (ret < 0)
		return ret;
	ev.u.measurement = (struct rig_ev_measurement){r->step_index, m};
	return rigi_emit(r, &ev) ? RIG_ERR_IO : 0;
}

static void sensor_instrument(struct rig_record_instrument *in, const char *role, int nest,
			      const struct rig_sensor *s, const struct rig_sensor_info *info)
{
	char buf[11];
	memset(in, 0, sizeof(*in));
	snprintf(in->role, sizeof(in->role), "%s", role);
	in->nest = nest;
	snprintf(in->uri, sizeof(in->uri), "%s", s ? s->uri : "");
	if (info) {
		in->identified = 1;
		in->device_type = info->id.device_type;
		in->map_version = info->id.map_version;
		in->serial = info->id.serial;
		snprintf(in->firmware, sizeof(in->firmware), "%u.%u", info->id.firmware >> 8,
			 info->id.firmware & 0xff);
	}
	in->standard_uncertainty = NAN;
	if (!s)
		return;
	snprintf(in->certificate, sizeof(in->certificate), "%s", s->cal.certificate);
	snprintf(in->calibrated, sizeof(in->calibrated), "%s",
		 rig_date_format(&s->cal.calibrated, buf, sizeof(buf)));
	snprintf(in->due, sizeof(in->due), "%s", rig_date_format(&s->cal.due, buf, sizeof(buf)));
	in->standard_uncertainty = s->cal.standard_uncertainty;
	snprintf(in->unit, sizeof(in->unit), "%s", s->unit);
}

int rigi_emit_station(struct rigi_run *r)
{
	struct rig_record_station st;
	struct rig_event ev = {.type = RIG_EV_STATION};
	const struct rig_daq_info *di = rigi_station_daq_info(r->station);
	memset(&st, 0, sizeof(st));
	sensor_instrument(&st.instruments[0], "daq", -1, NULL,
			  di ? &(struct rig_sensor_info){di->id, 0} : NULL);
	snprintf(st.instruments[0].uri, sizeof(st.instruments[0].uri), "%s", r->fx->daq.uri);
	sensor_instrument(&st.instruments[1], "displacement", (int)r->nest->index,
			  &r->nest->displacement,
			  r->disp ? rig_displacement_get_info(r->disp) : NULL);
	sensor_instrument(&st.instruments[2], "force", (int)r->nest->index, &r->nest->force,
			  r->force ? rig_force_get_info(r->force) : NULL);
	st.n_instruments = 3;
	ev.u.station = &st;
	return rigi_emit(r, &ev);
}

/* SHA-256 of a file's bytes in hex, or "unreadable: why". */
static void file_sha256(const char *path, char *hex, size_t cap)
{
	struct rigi_sha256_ctx c;
	uint8_t buf[8192], h[RIGI_SHA256_BYTES];
	size_t n;
	FILE *f = path ? fopen(path, "rb") : NULL;
	if (!f) {
		snprintf(hex, cap, "unreadable");
		return;
	}
	rigi_sha256_init(&c);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		rigi_sha256_update(&c, buf, n);
	fclose(f);
	rigi_sha256_final(&c, h);
	if (cap >= 2 * sizeof(h) + 1)
		rigi_hex_encode(h, sizeof(h), hex);
}

/* The login name from the password database ($USER can say anything). */
static void login_name(char *out, size_t cap)
{
	struct passwd pw, *res = NULL;
	char buf[1024];
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, cap, "%s", res->pw_name);
	else
		snprintf(out, cap, "uid %u", (unsigned)geteuid());
}

static void phantom_header(struct rigi_run *r, struct rig_record_phantom *p)
{
	const struct rig_phantom *fp = &r->fx->phantom;
	char buf[11];
	snprintf(p->type, sizeof(p->type), "%s", fp->type);
	snprintf(p->lot, sizeof(p->lot), "%s", fp->lot ? fp->lot : "");
	snprintf(p->installed, sizeof(p->installed), "%s",
		 rig_date_format(&fp->installed, buf, sizeof(buf)));
	if (fp->has_expiry)
		snprintf(p->expires, sizeof(p->expires), "%s",
			 rig_date_format(&fp->expires, buf, sizeof(buf)));
	p->max_strokes = fp->max_strokes;
	p->strokes_before = rigi_phantom_strokes(r->reports, r->fx->station_id, p->installed, p->lot);
}

int rigi_emit_run_begin(struct rigi_run *r, const char *signing_key)
{
	struct rig_record *h = NULL;
	struct rig_event ev = {.type = RIG_EV_RUN_BEGIN};
	int ret = rig_record_new(&h);
	(void)signing_key;
	if (ret < 0)
		return ret;
	snprintf(h->run_id, sizeof(h->run_id), "%s", r->run_id);
	snprintf(h->suite_name, sizeof(h->suite_name), "%s", r->opt->suite->name);
	snprintf(h->suite_version, sizeof(h->suite_version), "%s", r->opt->suite->version);
	snprintf(h->suite_path, sizeof(h->suite_path), "%s", r->opt->suite->path);
	file_sha256(r->opt->suite->path, h->suite_sha256, sizeof(h->suite_sha256));
	snprintf(h->station.id, sizeof(h->station.id), "%s", r->fx->station_id);
	snprintf(h->station.name, sizeof(h->station.name), "%s", r->fx->station_name);
	h->station.nest = r->opt->nest;
	h->station.simulated = r->opt->simulated;
	h->station.seed = r->opt->seed;
	if (gethostname(h->station.host, sizeof(h->station.host) - 1) != 0)
		snprintf(h->station.host, sizeof(h->station.host), "unknown");
	snprintf(h->station.fixture_path, sizeof(h->station.fixture_path), "%s", r->fx->path);
	file_sha256(r->fx->path, h->station.fixture_sha256, sizeof(h->station.fixture_sha256));
	phantom_header(r, &h->station.phantom);
	if (r->opt->warnings)
		snprintf(h->warnings, sizeof(h->warnings), "%s", r->opt->warnings);
	if (r->opt->operator_name)
		snprintf(h->operator_name, sizeof(h->operator_name), "%s", r->opt->operator_name);
	else
		login_name(h->operator_name, sizeof(h->operator_name));
	snprintf(h->software_commit, sizeof(h->software_commit), "%s", rig_build_commit());
	ev.u.run = h;
	ret = rigi_emit(r, &ev);
	r->phantom_strokes_before = h->station.phantom.strokes_before;
	rig_record_free(h);
	return ret;
}
