/* rig_run_unit: one suite on one unit. Opens the nest, runs the steps in
 * order (stopping at the first ERROR or ABORTED), records every step and
 * measurement, puts the pen in its safe state on every exit path, and
 * writes the run record atomically. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include <rig/evidence.h>
#include <rig/report.h>

#include "core/core.h"
#include "exec/exec.h"
#include "records/attach.h"
#include "records/evidence.h"
#include "records/records.h"

void rigi_result_set(struct rigi_step_result *res, enum rig_outcome outcome, const char *fmt, ...)
{
	va_list ap;
	res->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* "STALL,CARTRIDGE" for the pen's own fault flags (NO_TABLE excluded: having
 * no valid table is what calibration is for; HOST_LOST too: it tells of a
 * host, not of the unit). Returns non-zero when any. */
static int fault_names(unsigned flags, char *buf, size_t cap)
{
	flags &= ~(unsigned)(RIG_DUT_FAULT_NO_TABLE | RIG_DUT_FAULT_HOST_LOST);
	buf[0] = '\0';
	for (unsigned b = 0; b < 16; b++)
		if (flags & (1u << b))
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", buf[0] ? "," : "",
				 rig_dut_fault_name(1u << b));
	return flags != 0;
}

static int pen_reports_fault(struct rigi_run *r, char *flags, size_t cap)
{
	struct rig_dut_status st;
	return r->dut && rig_dut_status(r->dut, &st) == 0 && fault_names(st.fault_flags, flags, cap);
}

/* A pen that refuses because of its own fault (stall, cartridge) is a unit
 * failure; every other device, link or instrument error is the station's. */
static int pen_fault(struct rigi_run *r, char *flags, size_t cap)
{
	return r->dut && rig_dut_last_status(r->dut) == RIG_DUT_FAULT &&
	       pen_reports_fault(r, flags, cap);
}

/* The pen stopped itself because this rig went silent: a station fault. */
static int host_lost(struct rigi_run *r)
{
	struct rig_dut_status st;
	return r->dut && rig_dut_status(r->dut, &st) == 0 &&
	       (st.fault_flags & RIG_DUT_FAULT_HOST_LOST);
}

#define HOST_LOST_WHY "the pen's host-loss watchdog stopped it (HOST_LOST): it heard " \
	"nothing from the rig for 1 s, so the station was overloaded or hung; retest"

void rigi_result_from_error(struct rigi_run *r, struct rigi_step_result *res, int err,
			    const char *what)
{
	char detail[RIG_RECORD_REASON_MAX], flags[128];
	snprintf(detail, sizeof(detail), "%s", rig_last_error());
	res->err = err;
	if (err == RIG_ERR_INTERRUPTED)
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s: %s", what, rig_interrupt_cause());
	/* pen_fault first: it needs the status of the refused command. */
	else if (err == RIG_ERR_DEVICE && pen_fault(r, flags, sizeof(flags)))
		rigi_result_set(res, RIG_OUTCOME_FAIL, "%s: the pen reports fault %s", what, flags);
	else if (err == RIG_ERR_DEVICE && host_lost(r))
		rigi_result_set(res, RIG_OUTCOME_ERROR, "%s: " HOST_LOST_WHY, what);
	else
		rigi_result_set(res, RIG_OUTCOME_ERROR, "%s: %s: %s", what, rig_strerror(err), detail);
}

void rigi_explain_no_strokes(struct rigi_run *r, const struct rigi_sample *s, const char *what,
			     struct rigi_step_result *res)
{
	char why[RIG_RECORD_REASON_MAX];
	size_t skipped = s->an ? s->an->count[RIG_STROKE_SKIPPED] : 0;
	if (rigi_sensors_ok(r) < 0)
		rigi_result_set(res, RIG_OUTCOME_ERROR, "%s: %s; the unit is not judged, retest",
				what, rig_last_error());
	else if (host_lost(r))
		rigi_result_set(res, RIG_OUTCOME_ERROR, "%s: " HOST_LOST_WHY, what);
	else if (pen_reports_fault(r, why, sizeof(why)))
		rigi_result_set(res, RIG_OUTCOME_FAIL, "%s: the pen reports fault %s", what, why);
	else if (skipped > s->n_accepted)
		rigi_result_set(res, RIG_OUTCOME_FAIL, "%s: the pen skipped %zu strokes", what,
				skipped);
	else
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"%s, yet neither the pen nor the sensors report a fault: check the "
				"displacement sensor's aim and the pen's seating, then retest",
				what);
}

void rigi_progress(struct rigi_run *r, const char *step, unsigned point, unsigned n_points,
		   const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	snprintf(r->progress_text, sizeof(r->progress_text), "%s", text);
	struct rig_event ev = {.type = RIG_EV_PROGRESS};
	ev.u.progress = (struct rig_ev_progress){step, r->step_index,
						 (unsigned)r->opt->suite->n_steps, point, n_points,
						 text};
	rigi_emit(r, &ev);
}

/* A pen reporting a fault of its own (cartridge not detected, stalled,
 * overheated) is a unit failure. */
static int unit_faults(struct rigi_run *r, struct rigi_step_result *res)
{
	struct rig_dut_status st;
	char flags[128];
	int ret = rig_dut_status(r->dut, &st);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "status");
		return 1;
	}
	if (!fault_names(st.fault_flags, flags, sizeof(flags)))
		return 0;
	rigi_result_set(res, RIG_OUTCOME_FAIL, "%s %s reports fault %s%s", r->id.model,
			r->id.serial, flags,
			st.fault_flags & RIG_DUT_FAULT_CARTRIDGE ? ": cartridge not seated" : "");
	return 1;
}

/* The serial names folders (reports/, calibrations/): no path tricks. */
static int serial_is_safe(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && s[0] != '.' && s[0] != '_' &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

/* The table the pen has now, kept before anything can change it: in the
 * record (unit.previous_table) and byte for byte in calibrations/. */
static int read_previous_table(struct rigi_run *r, struct rig_record_unit *u)
{
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_dut_status ds;
	char dir[1100];
	size_t len = 0;
	int ret = rig_dut_status(r->dut, &ds);
	if (ret == 0)
		ret = rig_dut_table_read(r->dut, RIG_DUT_SLOT_ACTIVE, blob, sizeof(blob), &len);
	if (ret < 0 || len == 0)
		return ret; /* a blank pen has no table */
	if (rig_record_table_set(&u->previous_table, blob, len, ds.active_slot == 1) < 0) {
		/* Corrupt or of another format: kept as bytes, not decoded. */
		RIGI_WARN("run", "pen %s: its active table does not decode: %s", u->serial,
			  rig_last_error());
	} else {
		u->has_previous_table = 1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", r->calibrations, u->serial);
	int n = snprintf(u->previous_table_path, sizeof(u->previous_table_path),
			 "%s/%s.as-found.bin", dir, r->run_id);
	if (n < 0 || (size_t)n >= sizeof(u->previous_table_path))
		return rigi_fail(RIG_ERR_RANGE, "calibrations path %s is too long", dir);
	ret = rigi_mkdir_p(dir);
	return ret < 0 ? ret : rigi_atomic_write(u->previous_table_path, blob, len);
}

static void unit_identity(struct rigi_run *r, struct rig_record_unit *u)
{
	memset(u, 0, sizeof(*u));
	snprintf(u->serial, sizeof(u->serial), "%s", r->id.serial);
	snprintf(u->model, sizeof(u->model), "%s", r->id.model);
	snprintf(u->hardware, sizeof(u->hardware), "%u.%u", r->id.hw_version >> 8,
		 r->id.hw_version & 0xff);
	snprintf(u->firmware, sizeof(u->firmware), "%u.%u.%u", r->id.fw_version >> 16,
		 (r->id.fw_version >> 8) & 0xff, r->id.fw_version & 0xff);
}

static int emit_unit(struct rigi_run *r, const struct rig_record_unit *u,
		     struct rigi_step_result *res)
{
	struct rig_event ev = {.type = RIG_EV_UNIT};
	ev.u.unit = u;
	if (!rigi_emit(r, &ev))
		return 0;
	rigi_result_set(res, RIG_OUTCOME_ERROR, "%s", r->sink_detail);
	res->err = r->sink_error;
	return -1;
}

void rigi_step_identify(struct rigi_run *r, const struct rig_step *st,
			struct rig_record_step *rs, struct rigi_step_result *res)
{
	struct rig_record_unit u;
	int ret = rig_dut_identify(r->dut, &r->id);
	(void)rs;
	rigi_progress(r, st->name, 0, 0, "identifying the pen");
	if (ret == RIG_ERR_DISCONNECTED || ret == RIG_ERR_NOT_FOUND || ret == RIG_ERR_TIMEOUT) {
		char detail[RIG_RECORD_REASON_MAX];
		snprintf(detail, sizeof(detail), "%s", rig_last_error());
		rigi_result_set(res, RIG_OUTCOME_ERROR, "identify: no pen answers in nest %u: is a "
				"pen seated and switched on? (%.400s)", r->nest->index, detail);
		res->err = ret;
		return;
	}
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "identify");
		return;
	}
	if (!serial_is_safe(r->id.serial)) {
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"the pen reports serial '%s', which cannot name its records "
				"(letters, digits, '-', '_', '.' only, not starting with '_' or '.'): "
				"check the pen's provisioning",
				r->id.serial);
		return;
	}
	r->have_id = 1;
	unit_identity(r, &u);
	snprintf(r->sum->serial, sizeof(r->sum->serial), "%s", r->id.serial);
	/* The identity first (the run folder moves under the serial), then
	 * again with the table as found once its bytes are stored. */
	if (emit_unit(r, &u, res) < 0)
		return;
	if ((ret = read_previous_table(r, &u)) < 0) {
		rigi_result_from_error(r, res, ret, "keeping the pen's present table");
		return;
	}
	if (u.previous_table_path[0] && emit_unit(r, &u, res) < 0)
		return;
	if (unit_faults(r, res))
		return;
	/* A station whose key this pen refuses is found now, before any stroke. */
	if (r->have_key && (ret = rigi_ensure_auth(r)) < 0) {
		rigi_result_from_error(r, res, ret, "authenticating with the line key");
		if (ret == RIG_ERR_AUTH)
			rigi_result_set(res, RIG_OUTCOME_ERROR,
					"the pen refused the station's line key (%s): this station "
					"is not set up for this line; fix line_key, then retest",
					r->opt->key_path ? r->opt->key_path : r->fx->line_key);
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS, "%s %s, firmware %s%s", u.model, u.serial,
			u.firmware, u.has_previous_table ? "" : ", no valid table");
}

static int check_sensor(const char *what, int ret, const struct rig_sensor_reading *rd,
			struct rigi_run *r, struct rigi_step_result *res)
{
	if (ret == 0 && rd->status == RIG_SENSOR_OK)
		return 0;
	if (ret == 0)
		ret = RIG_ERR_INSTRUMENT;
	rigi_result_from_error(r, res, ret, what);
	return -1;
}

void rigi_step_readiness(struct rigi_run *r, const struct rig_step *st,
			 struct rig_record_step *rs, struct rigi_step_result *res)
{
	const struct rig_step_readiness *rd = &st->u.readiness;
	struct rig_sensor_reading reading;
	struct rig_date today;
	char *detail = NULL;
	(void)rs;

	rigi_progress(r, st->name, 0, 0, "checking the station");
	rig_date_today(&today);
	if (rd->check_calibration && rig_fixture_check_due(r->fx, &today, &detail) < 0) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "station not fit to certify units: %s",
				detail ? detail : rig_last_error());
		free(detail);
		return;
	}
	free(detail);
	if (rd->check_phantom &&
	    rig_fixture_check_phantom(r->fx, &today, r->phantom_strokes_before) < 0) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "phantom: %s", rig_last_error());
		return;
	}
	/* The pen must be still while the sensors are re-referenced. */
	int ret = rig_dut_safe(r->dut);
	r->authenticated = 0; /* SAFE ends the session */
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "stopping the pen before zeroing");
		return;
	}
	if (rd->zero_sensors &&
	    (check_sensor("zeroing the displacement sensor", rig_displacement_zero(r->disp),
			  &(struct rig_sensor_reading){0}, r, res) < 0 ||
	     check_sensor("taring the force sensor", rig_force_tare(r->force),
			  &(struct rig_sensor_reading){0}, r, res) < 0))
		return;
	r->rezero = rd->zero_sensors;
	if (check_sensor("displacement sensor", rig_displacement_read(r->disp, &reading), &reading,
			 r, res) < 0 ||
	    check_sensor("force sensor", rig_force_read(r->force, &reading), &reading, r, res) < 0)
		return;
	rigi_result_set(res, RIG_OUTCOME_PASS, "sensors %s and healthy, calibration in date",
			rd->zero_sensors ? "zeroed" : "read");
}

typedef void (*step_fn)(struct rigi_run *, const struct rig_step *, struct rig_record_step *,
			struct rigi_step_result *);

static step_fn step_function(enum rig_step_type type)
{
	switch (type) {
	case RIG_STEP_IDENTIFY: return rigi_step_identify;
	case RIG_STEP_READINESS: return rigi_step_readiness;
	case RIG_STEP_AS_FOUND:
	case RIG_STEP_AS_LEFT: return rigi_step_measure;
	case RIG_STEP_DEPTH_SWEEP: return rigi_step_depth_sweep;
	case RIG_STEP_RATE_SWEEP: return rigi_step_rate_sweep;
	case RIG_STEP_FIT: return rigi_step_fit;
	case RIG_STEP_WRITE_TABLE: return rigi_step_write_table;
	case RIG_STEP_READ_BACK: return rigi_step_read_back;
	case RIG_STEP_RUN_IN: return rigi_step_run_in;
	case RIG_STEP_NEEDLE_COUNT: return rigi_step_needle_count;
	}
	return NULL;
}

static void emit_step_begin(struct rigi_run *r, size_t i, const struct rig_step *st)
{
	struct rig_event ev = {.type = RIG_EV_STEP_BEGIN};
	ev.u.step_begin = (struct rig_ev_step_begin){(unsigned)i, st->name,
						     rig_step_type_name(st->type)};
	rigi_emit(r, &ev);
}

static void emit_step_end(struct rigi_run *r, size_t i, const struct rigi_step_result *res,
			  int64_t t0)
{
	struct rig_event ev = {.type = RIG_EV_STEP_END};
	ev.u.step_end = (struct rig_ev_step_end){(unsigned)i, res->outcome, res->reason,
						 (double)(rig_clock_ns() - t0) / 1e9};
	rigi_emit(r, &ev);
}

/* Run the steps; returns the outcome that ended the run and its reason. */
static enum rig_outcome run_steps(struct rigi_run *r, char *reason, size_t cap, int *err)
{
	const struct rig_suite *suite = r->opt->suite;
	enum rig_outcome worst = RIG_OUTCOME_PASS;

	snprintf(reason, cap, "every step passed");
	for (size_t i = 0; i < suite->n_steps; i++) {
		const struct rig_step *st = &suite->steps[i];
		struct rig_record_step rs = {0};
		struct rigi_step_result res = {RIG_OUTCOME_ERROR, "step did not report", 0};
		int64_t t0 = rig_clock_ns();
		r->step_index = (unsigned)i;
		rigi_keepalive(r); /* a failure shows in the step's first command */
		emit_step_begin(r, i, st);
		rig_clear_error();
		if (r->sink_error)
			rigi_result_set(&res, RIG_OUTCOME_ERROR, "%s", r->sink_detail);
		else if (rig_interrupted() && !(st->type == RIG_STEP_READ_BACK && r->table_written))
			rigi_result_set(&res, RIG_OUTCOME_ABORTED, "%s", rig_interrupt_cause());
		else
			step_function(st->type)(r, st, &rs, &res);
		/* Evidence that could not be kept stops the run, whatever the step saw. */
		if (r->sink_error && res.outcome != RIG_OUTCOME_ERROR)
			rigi_result_set(&res, RIG_OUTCOME_ERROR, "%s", r->sink_detail);
		free(rs.measurements);
		emit_step_end(r, i, &res, t0);
		RIGI_INFO("run", "%s: %s: %s", st->name, rig_outcome_name(res.outcome), res.reason);
		if (rig_outcome_combine(worst, res.outcome) != worst) {
			worst = rig_outcome_combine(worst, res.outcome);
			snprintf(reason, cap, "%s: %.440s", st->name, res.reason);
			*err = r->sink_error ? r->sink_error
			       : res.err		? res.err
			       : res.outcome == RIG_OUTCOME_ABORTED ? RIG_ERR_INTERRUPTED
								    : RIG_ERR_STATE;
		}
		/* A failed unit is not calibrated further; a broken station or an
		 * operator stop ends the run at once. */
		if (res.outcome == RIG_OUTCOME_ERROR || res.outcome == RIG_OUTCOME_ABORTED ||
		    (res.outcome == RIG_OUTCOME_FAIL && st->type != RIG_STEP_AS_LEFT))
			break;
	}
	return worst;
}

static void emit_end(struct rigi_run *r, enum rig_outcome outcome, const char *reason, int err)
{
	char detail[256];
	struct rig_event ev = {.type = RIG_EV_SAFE_STATE};
	int safe = r->dut ? rigi_nest_make_safe(r, detail, sizeof(detail)) == 0 : 0;
	if (!r->dut)
		snprintf(detail, sizeof(detail), "the pen was never reached: nothing to make safe");
	ev.u.safe = (struct rig_ev_safe){safe, detail};
	rigi_emit(r, &ev);
	ev = (struct rig_event){.type = RIG_EV_RUN_END};
	ev.u.run_end = (struct rig_ev_run_end){outcome, reason,
					       outcome == RIG_OUTCOME_ERROR ? err : 0};
	rigi_emit(r, &ev);
}

static void summary_init(struct rig_run_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->outcome = RIG_OUTCOME_ERROR;
	s->as_found_depth_um = s->as_left_depth_um = NAN;
	s->as_found_rate_pct = s->as_left_rate_pct = NAN;
	snprintf(s->serial, sizeof(s->serial), "unknown");
}

/* Progress goes to the caller's callback through a sink like any other. */
static int progress_sink(const struct rig_event *ev, void *user)
{
	const struct rigi_run *r = user;
	if (ev->type != RIG_EV_PROGRESS)
		return 0;
	const struct rig_ev_progress *p = &ev->u.progress;
	struct rig_run_progress rp = {p->step, p->step_index, p->n_steps, p->point, p->n_points,
				      p->text};
	r->opt->progress(&rp, r->opt->progress_user);
	return 0;
}

static void add_sink(struct rigi_run *r, struct rig_event_sink s)
{
	if (r->n_sinks < RIGI_MAX_SINKS)
		r->sinks[r->n_sinks++] = s;
}

/* The reports, after the record: a failing one is said, never changes the
 * outcome. */
static void note_report(const struct rig_output_module *m, const char *path, int err, void *user)
{
	struct rig_run_summary *out = user;
	size_t used = strlen(out->report_failures);
	if (err == 0)
		return;
	RIGI_WARN("run", "report %s (%s) not written: %s", m->id, path, rig_last_error());
	snprintf(out->report_failures + used, sizeof(out->report_failures) - used, "%s%s: %.200s",
		 used ? "; " : "", m->id, rig_last_error());
}

/* Called while the run still holds its evidence (rigi_evidence_close). */
static void make_reports(const struct rig_record *rec, const char *dir, void *user)
{
	const struct rigi_run *r = user;
	const char *formats = r->opt->report_formats ? r->opt->report_formats
						     : r->fx->report_formats;
	(void)rec;
	if (formats && !strcmp(formats, "none"))
		return;
	rig_report_write(dir, formats, NULL, note_report, r->sum);
}

/* The written record, to the sinks that keep results (the store): the
 * journal is closed by now and takes no more events. */
static void emit_record(struct rigi_run *r, const struct rig_record *rec, const char *dir)
{
	struct rig_event ev = {.type = RIG_EV_RECORD};
	ev.u.record = (struct rig_ev_record){rec, dir};
	rigi_emit(r, &ev);
}

/* Everything before the pen is touched; the cause goes to @p reason. */
static int prepare(struct rigi_run *r, const char *signing_key, char *reason, size_t cap,
		   int *bad_input)
{
	int ret = rigi_emit_run_begin(r, signing_key);
	if (ret == 0)
		ret = rigi_preflight(r, signing_key, bad_input);
	if (ret == 0 && (ret = rigi_nest_open(r)) < 0)
		rigi_error_context("opening nest %u", r->nest->index);
	if (ret < 0)
		snprintf(reason, cap, "%s: %.440s", rig_strerror(ret),
			 r->sink_error ? r->sink_detail : rig_last_error());
	if (rigi_emit_station(r) && ret == 0) {
		ret = r->sink_error;
		snprintf(reason, cap, "%s", r->sink_detail);
	}
	return ret;
}

int rig_run_unit(const struct rig_run_options *opt, struct rig_run_summary *out)
{
	struct rigi_run r = {.opt = opt, .fx = opt->fixture, .sum = out, .nest_lock = -1};
	struct rig_station *own_station = NULL;
	struct rigi_evidence ev;
	struct rigi_attach att;
	struct rig_record *rec = NULL;
	char reason[RIG_RECORD_REASON_MAX], key[1024];
	enum rig_outcome outcome;
	int ret, err = 0, bad_input = 0;

	summary_init(out);
	r.time_scale = opt->time_scale > 0 ? opt->time_scale : 1.0;
	r.reports = opt->reports_dir ? opt->reports_dir : "reports";
	r.calibrations = opt->calibrations_dir ? opt->calibrations_dir : "calibrations";
	r.nest = rig_fixture_nest(opt->fixture, opt->nest);
	if (!r.nest)
		return rigi_fail(RIG_ERR_ARG, "fixture %s has no nest %u", opt->fixture->path,
				 opt->nest);
	if (!(r.station = opt->station)) {
		struct rig_station_options so = {opt->fixture, r.reports, r.time_scale, "rig run"};
		if ((ret = rig_station_open(&so, &own_station)) < 0)
			return ret;
		r.station = own_station;
	}
	rigi_signing_key_path(opt->fixture, key, sizeof(key));
	/* Runs of this station that died are closed into records first. */
	rig_records_recover(r.reports, r.calibrations, key, 0, NULL, NULL, NULL);
	if ((ret = rig_run_id_make(rig_time_now_ms(), r.run_id, sizeof(r.run_id))) < 0 ||
	    (ret = rigi_evidence_open(&ev, r.reports, r.calibrations, key, r.run_id)) < 0) {
		rig_station_close(own_station);
		return ret;
	}
	rigi_station_nest_active(r.station, r.nest->index, 1);
	add_sink(&r, (struct rig_event_sink){"journal", rigi_evidence_sink, &ev, 1});
	rigi_attach_init(&att, &ev, (enum rig_keep_captures)opt->fixture->keep_captures);
	add_sink(&r, (struct rig_event_sink){"attachments", rigi_attach_sink, &att, 0});
	if (opt->progress)
		add_sink(&r, (struct rig_event_sink){"progress", progress_sink, &r, 0});
	for (size_t i = 0; i < opt->n_sinks; i++)
		add_sink(&r, opt->sinks[i]);
	ret = prepare(&r, key, reason, sizeof(reason), &bad_input);
	if (ret < 0) {
		outcome = ret == RIG_ERR_INTERRUPTED ? RIG_OUTCOME_ABORTED : RIG_OUTCOME_ERROR;
		err = ret;
	} else {
		outcome = run_steps(&r, reason, sizeof(reason), &err);
	}
	emit_end(&r, outcome, reason, err);
	rigi_nest_close(&r);
	rigi_attach_close(&att);
	ret = rigi_evidence_close(&ev, make_reports, &r, &rec, out->record_path,
				  sizeof(out->record_path));
	rigi_release_locks(&r);
	rigi_station_nest_active(r.station, r.nest->index, 0);
	rig_station_close(own_station);
	if (ret < 0)
		return ret;
	rig_run_summary_from_record(rec, out);
	out->bad_input = bad_input;
	snprintf(out->run_dir, sizeof(out->run_dir), "%s", ev.dir);
	emit_record(&r, rec, ev.dir);
	rig_record_free(rec);
	return 0;
}
