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

#include "core/core.h"
#include "exec/exec.h"

void rigi_result_set(struct rigi_step_result *res, enum rig_outcome outcome, const char *fmt, ...)
{
	va_list ap;
	res->outcome = outcome;
	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* "STALL,CARTRIDGE" for the pen's own fault flags (NO_TABLE excluded: having
 * no valid table is what calibration is for). Returns non-zero when any. */
static int fault_names(unsigned flags, char *buf, size_t cap)
{
	flags &= ~(unsigned)RIG_DUT_FAULT_NO_TABLE;
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

void rigi_result_from_error(struct rigi_run *r, struct rigi_step_result *res, int err,
			    const char *what)
{
	char detail[RIG_RECORD_REASON_MAX], flags[128];
	snprintf(detail, sizeof(detail), "%s", rig_last_error());
	if (err == RIG_ERR_INTERRUPTED)
		rigi_result_set(res, RIG_OUTCOME_ABORTED, "%s: interrupted by the operator", what);
	else if (err == RIG_ERR_DEVICE && pen_fault(r, flags, sizeof(flags)))
		rigi_result_set(res, RIG_OUTCOME_FAIL, "%s: the pen reports fault %s", what, flags);
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
	if (!r->opt->progress)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	struct rig_run_progress p = {step, r->step_index, (unsigned)r->opt->suite->n_steps, point,
				     n_points, text};
	r->opt->progress(&p, r->opt->progress_user);
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
	return n > 0 && strcmp(s, ".") && strcmp(s, "..") &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

void rigi_step_identify(struct rigi_run *r, const struct rig_step *st,
			struct rig_record_step *rs, struct rigi_step_result *res)
{
	struct rig_record_unit *u = &r->rec->unit;
	int ret = rig_dut_identify(r->dut, &r->id);
	(void)rs;
	rigi_progress(r, st->name, 0, 0, "identifying the pen");
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "identify");
		return;
	}
	if (!serial_is_safe(r->id.serial)) {
		rigi_result_set(res, RIG_OUTCOME_ERROR,
				"the pen reports serial '%s', which cannot name its records "
				"(letters, digits, '-', '_', '.' only): check the pen's provisioning",
				r->id.serial);
		return;
	}
	r->have_id = 1;
	snprintf(u->serial, sizeof(u->serial), "%s", r->id.serial);
	snprintf(u->model, sizeof(u->model), "%s", r->id.model);
	snprintf(u->hardware, sizeof(u->hardware), "%u.%u", r->id.hw_version >> 8,
		 r->id.hw_version & 0xff);
	snprintf(u->firmware, sizeof(u->firmware), "%u.%u.%u", r->id.fw_version >> 16,
		 (r->id.fw_version >> 8) & 0xff, r->id.fw_version & 0xff);
	snprintf(r->sum->serial, sizeof(r->sum->serial), "%s", r->id.serial);
	if (unit_faults(r, res))
		return;
	rigi_result_set(res, RIG_OUTCOME_PASS, "%s %s, firmware %s", u->model, u->serial,
			u->firmware);
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
	if (rd->check_phantom && rig_fixture_check_phantom(r->fx, &today, 0) < 0) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "phantom: %s", rig_last_error());
		return;
	}
	/* The pen must be still while the sensors are re-referenced. */
	int ret = rig_dut_safe(r->dut);
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
	}
	return NULL;
}

/* Run the steps; returns the outcome that ended the run and its reason. */
static enum rig_outcome run_steps(struct rigi_run *r, char *reason, size_t cap)
{
	const struct rig_suite *suite = r->opt->suite;
	enum rig_outcome worst = RIG_OUTCOME_PASS;

	snprintf(reason, cap, "every step passed");
	for (size_t i = 0; i < suite->n_steps; i++) {
		const struct rig_step *st = &suite->steps[i];
		struct rig_record_step *rs = NULL;
		struct rigi_step_result res = {RIG_OUTCOME_ERROR, "step did not report"};
		r->step_index = (unsigned)i;
		if (rig_record_step_begin(r->rec, st->name, rig_step_type_name(st->type), &rs) < 0) {
			snprintf(reason, cap, "%s: cannot record the step: %s", st->name,
				 rig_last_error());
			return RIG_OUTCOME_ERROR;
		}
		if (rig_interrupted())
			rigi_result_set(&res, RIG_OUTCOME_ABORTED, "interrupted by the operator");
		else
			step_function(st->type)(r, st, rs, &res);
		rig_record_step_end(rs, res.outcome, res.reason);
		RIGI_INFO("run", "%s: %s: %s", st->name, rig_outcome_name(res.outcome), res.reason);
		if (rig_outcome_combine(worst, res.outcome) != worst) {
			worst = rig_outcome_combine(worst, res.outcome);
			snprintf(reason, cap, "%s: %.440s", st->name, res.reason);
		}
		/* A failed unit is not calibrated further; a broken station or an
		 * operator stop ends the run at once. */
		if (res.outcome == RIG_OUTCOME_ERROR || res.outcome == RIG_OUTCOME_ABORTED ||
		    (res.outcome == RIG_OUTCOME_FAIL && st->type != RIG_STEP_AS_LEFT))
			break;
	}
	return worst;
}

static void start_record(struct rigi_run *r)
{
	const char *op = r->opt->operator_name ? r->opt->operator_name : getenv("USER");
	struct rig_record *rec = r->rec;
	snprintf(rec->suite_name, sizeof(rec->suite_name), "%s", r->opt->suite->name);
	snprintf(rec->suite_version, sizeof(rec->suite_version), "%s", r->opt->suite->version);
	snprintf(rec->station_id, sizeof(rec->station_id), "%s", r->fx->station_id);
	snprintf(rec->operator_name, sizeof(rec->operator_name), "%s", op ? op : "unknown");
	snprintf(rec->software_version, sizeof(rec->software_version), "%s", rig_version());
	rec->nest = r->opt->nest;
	rec->simulated = r->opt->simulated;
	rec->seed = r->opt->seed;
}

static void finish(struct rigi_run *r, enum rig_outcome outcome, const char *reason)
{
	char detail[256];
	int safe = rigi_nest_make_safe(r, detail, sizeof(detail)) == 0;
	rig_record_set_safe_state(r->rec, safe, detail);
	r->sum->safe_state_confirmed = safe;
	snprintf(r->sum->safe_state_detail, sizeof(r->sum->safe_state_detail), "%s", detail);
	rig_record_finish(r->rec, outcome, reason);
	r->sum->outcome = r->rec->outcome;
	snprintf(r->sum->reason, sizeof(r->sum->reason), "%s", r->rec->reason);
	snprintf(r->sum->run_id, sizeof(r->sum->run_id), "%s", r->rec->run_id);
}

static void summary_init(struct rig_run_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->outcome = RIG_OUTCOME_ERROR;
	s->as_found_depth_um = s->as_left_depth_um = NAN;
	s->as_found_rate_pct = s->as_left_rate_pct = NAN;
	snprintf(s->serial, sizeof(s->serial), "unknown");
}

int rig_run_unit(const struct rig_run_options *opt, struct rig_run_summary *out)
{
	struct rigi_run r = {.opt = opt, .fx = opt->fixture, .sum = out};
	char reason[RIG_RECORD_REASON_MAX];
	enum rig_outcome outcome;
	int ret;

	summary_init(out);
	r.time_scale = opt->time_scale > 0 ? opt->time_scale : 1.0;
	r.nest = rig_fixture_nest(opt->fixture, opt->nest);
	if (!r.nest)
		return rigi_fail(RIG_ERR_ARG, "fixture %s has no nest %u", opt->fixture->path,
				 opt->nest);
	ret = rig_record_new(&r.rec);
	if (ret < 0)
		return ret;
	start_record(&r);
	ret = rigi_nest_open(&r);
	if (ret < 0) {
		snprintf(reason, sizeof(reason), "cannot open nest %u: %s: %s", opt->nest,
			 rig_strerror(ret), rig_last_error());
		outcome = ret == RIG_ERR_INTERRUPTED ? RIG_OUTCOME_ABORTED : RIG_OUTCOME_ERROR;
	} else {
		outcome = run_steps(&r, reason, sizeof(reason));
	}
	finish(&r, outcome, reason);
	rigi_nest_close(&r);
	ret = rig_record_write(r.rec, opt->reports_dir ? opt->reports_dir : "reports",
			       out->record_path, sizeof(out->record_path));
	rig_record_free(r.rec);
	return ret;
}
