/* From sweeps to a table in the pen: fit monotone models of code →
 * protrusion and duty → rate, invert them at the user setpoints (refusing to
 * extrapolate), check the knots against the pen's ranges, sign and write
 * the table to the inactive slot, keep the exact bytes under
 * calibrations/<serial>/, and read the active table back. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>
#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"
#include "records/records.h"

/* Fit one curve and invert it at @p setpoints into integer knots. */
static int fit_curve(const struct rigi_sweep *sw, unsigned max_degree, const double *setpoints,
		     size_t n, const struct rig_knot_limits *lim, struct rig_knot *knots,
		     struct rig_curve_info *info)
{
	struct rig_curve_options o = {.max_degree = max_degree, .alpha = 0.01, .grid = 1000};
	struct rig_curve *c = NULL;
	int ret = rig_curve_fit(sw->x, sw->y, sw->n, &o, &c);
	if (ret == 0) {
		rig_curve_info(c, info);
		ret = rig_curve_knots(c, setpoints, n, knots);
	}
	if (ret == 0)
		ret = rig_knots_check(knots, n, lim);
	rig_curve_free(c);
	return ret;
}

static void record_fit(struct rigi_run *r, struct rig_record_step *rs, const char *what, const char *unit,
		       const struct rig_curve_info *info)
{
	struct rig_measurement m;
	char name[RIG_MEASUREMENT_NAME_MAX];
	snprintf(name, sizeof(name), "%s_fit_residual_sd", what);
	rig_measurement_init(&m, name, "residual_sd", unit, NAN);
	m.value = info->resid_sd;
	m.n = (unsigned)info->n;
	rig_measurement_judge(&m, NULL);
	rigi_measurement_add(r, rs, &m);
}

/* Knot setpoints: every user depth; every speed level, plus rate_min and
 * rate_max when they are not levels (the pen requires the table to cover
 * its whole user range). Count, or a negative rig_err. */
static int depth_setpoints(const struct rigi_run *r, double *sp, size_t cap)
{
	uint16_t d[RIGI_MAX_SETPOINTS];
	int n = rigi_user_depths(&r->id, d, cap < RIGI_MAX_SETPOINTS ? cap : RIGI_MAX_SETPOINTS);
	for (int i = 0; i < n; i++)
		sp[i] = d[i];
	return n;
}

static int rate_setpoints(const struct rigi_run *r, double *sp, size_t cap)
{
	uint16_t lv[RIGI_MAX_SETPOINTS];
	int nl = rigi_user_rates(&r->id, lv, RIGI_MAX_SETPOINTS);
	size_t n = 0, need;
	if (nl < 0)
		return nl;
	need = (size_t)nl + (lv[0] > r->id.rate_min_spm) + (lv[nl - 1] < r->id.rate_max_spm);
	if (need > cap)
		return rigi_fail(RIG_ERR_RANGE, "pen %s: %zu rate knots needed, the table holds %zu",
				 r->id.serial, need, cap);
	if (lv[0] > r->id.rate_min_spm)
		sp[n++] = r->id.rate_min_spm;
	for (int i = 0; i < nl; i++)
		sp[n++] = lv[i];
	if (lv[nl - 1] < r->id.rate_max_spm)
		sp[n++] = r->id.rate_max_spm;
	return (int)n;
}

void rigi_step_fit(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		   struct rigi_step_result *res)
{
	double dsp[RIG_CAL_TABLE_MAX_KNOTS], rsp[RIG_CAL_TABLE_MAX_KNOTS];
	struct rig_knot dk[RIG_CAL_TABLE_MAX_KNOTS], rk[RIG_CAL_TABLE_MAX_KNOTS];
	struct rig_curve_info dinfo, rinfo;
	/* The pen's declared capacity, but never more than the format holds. */
	size_t cap = r->id.table_max_knots < RIG_CAL_TABLE_MAX_KNOTS ? r->id.table_max_knots
								    : RIG_CAL_TABLE_MAX_KNOTS;
	int nd = depth_setpoints(r, dsp, cap);
	int nr = rate_setpoints(r, rsp, cap);
	struct rig_knot_limits dlim = {"depth", "code", r->id.code_min, r->id.code_max,
				       r->id.table_max_knots};
	struct rig_knot_limits rlim = {"rate", "duty", r->id.duty_min, r->id.duty_max,
				       r->id.table_max_knots};
	int ret;

	rigi_progress(r, st->name, 0, 0, "fitting %zu depth and %zu rate points",
		      r->depth_sweep.n, r->rate_sweep.n);
	if (nd < 2 || nr < 2) {
		rigi_result_from_error(r, res, nd < 0 ? nd : nr < 0 ? nr : RIG_ERR_RANGE,
				       "the pen's setpoints do not fit a table");
		return;
	}
	if (r->depth_sweep.n < 4 || r->rate_sweep.n < 4) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "fit needs a depth sweep and a rate sweep "
							"first (the suite has %s)",
				r->depth_sweep.n < 4 ? "no depth sweep" : "no rate sweep");
		return;
	}
	ret = fit_curve(&r->depth_sweep, st->u.fit.max_degree, dsp, (size_t)nd, &dlim, dk, &dinfo);
	if (ret == 0)
		ret = fit_curve(&r->rate_sweep, st->u.fit.max_degree, rsp, (size_t)nr, &rlim, rk,
				&rinfo);
	if (ret == RIG_ERR_RANGE || ret == RIG_ERR_FORMAT) {
		/* The unit cannot reach its declared range, or its curve is not
		 * monotone: that is the unit's failure, not the station's. */
		rigi_result_set(res, RIG_OUTCOME_FAIL, "no valid table: %s", rig_last_error());
		return;
	}
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "fit");
		return;
	}
	record_fit(r, rs, "depth", "um", &dinfo);
	record_fit(r, rs, "rate", "spm", &rinfo);
	memset(&r->table, 0, sizeof(r->table));
	snprintf(r->table.serial, sizeof(r->table.serial), "%s", r->id.serial);
	r->table.created = (uint64_t)rig_wall_time_s();
	r->table.n_depth = (uint8_t)nd;
	r->table.n_rate = (uint8_t)nr;
	for (int i = 0; i < nd; i++)
		r->table.depth[i] = (struct rig_cal_depth_knot){(uint16_t)dsp[i], (uint16_t)dk[i].value};
	for (int i = 0; i < nr; i++)
		r->table.rate[i] = (struct rig_cal_rate_knot){(uint16_t)rsp[i], (uint16_t)rk[i].value};
	r->have_table = 1;
	rigi_result_set(res, RIG_OUTCOME_PASS,
			"depth: degree %u, residual SD %.2f um over %zu codes; rate: degree %u, "
			"residual SD %.1f spm over %zu duties",
			dinfo.degree, dinfo.resid_sd, dinfo.n, rinfo.degree, rinfo.resid_sd, rinfo.n);
}

/* calibrations/<serial>/<run_id>.bin (exact bytes) and .json (readable),
 * durable before the pen is asked to activate them. */
static int store_table(struct rigi_run *r, uint8_t slot, char *bin, char *json_path, size_t cap)
{
	struct rig_record *t = NULL;
	char dir[1100];
	char *json = NULL;
	int ret = rig_record_new(&t);

	snprintf(dir, sizeof(dir), "%s/%s", r->calibrations, r->id.serial);
	snprintf(bin, cap, "%s/%s.bin", dir, r->run_id);
	snprintf(json_path, cap, "%s/%s.json", dir, r->run_id);
	if (ret == 0)
		ret = rigi_mkdir_p(dir);
	if (ret == 0)
		ret = rigi_atomic_write(bin, r->blob, r->blob_len);
	if (ret == 0) {
		snprintf(t->run_id, sizeof(t->run_id), "%s", r->run_id);
		snprintf(t->station.id, sizeof(t->station.id), "%s", r->fx->station_id);
		ret = rig_record_set_table(t, r->blob, r->blob_len, slot);
	}
	if (ret == 0)
		ret = rig_record_table_to_json(t, &json);
	if (ret == 0)
		ret = rigi_atomic_write(json_path, json, strlen(json));
	free(json);
	rig_record_free(t);
	return ret;
}

static int emit_table(struct rigi_run *r, enum rig_event_type type, uint8_t slot,
		      const char *bin, const char *json)
{
	struct rig_event ev = {.type = type};
	ev.u.table = (struct rig_ev_table){r->step_index, slot, r->table.table_seq, r->blob,
					   r->blob_len, bin, json};
	return rigi_emit(r, &ev);
}

static void emit_commit(struct rigi_run *r, enum rig_commit_status st, const char *detail)
{
	struct rig_event ev = {.type = RIG_EV_COMMIT_RESULT};
	ev.u.commit = (struct rig_ev_commit){r->step_index, st, detail};
	rigi_emit(r, &ev);
}

/* Encode, sign and check the table; 0 or -1 with @p res set. */
static int prepare_table(struct rigi_run *r, struct rig_dut_status *ds,
			 struct rigi_step_result *res)
{
	int ret = rig_dut_status(r->dut, ds);
	if (ret == 0) {
		r->table.table_seq = ds->active_table_seq + 1;
		ret = rigi_ensure_key(r);
	}
	if (ret == 0)
		ret = rig_cal_table_encode(&r->table, r->key, r->blob, sizeof(r->blob), &r->blob_len);
	if (ret == 0 && (ret = rig_cal_table_check(&r->table, &r->id, ds)) < 0) {
		/* The fit already checked bounds and monotonicity: a table the pen
		 * would refuse now points at the rig, not the unit. */
		rigi_result_set(res, RIG_OUTCOME_ERROR, "table refused before sending: %s",
				rig_last_error());
		res->err = ret;
		return -1;
	}
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "preparing the table");
		return -1;
	}
	return 0;
}

/* TABLE_COMMIT and what became of it: confirmed, refused, or unknown. */
static void commit_table(struct rigi_run *r, uint8_t slot, const char *bin,
			 struct rigi_step_result *res)
{
	char detail[RIG_RECORD_REASON_MAX];
	int activated = 0;
	int ret = rig_dut_table_commit(r->dut, r->blob, r->blob_len, &activated);
	snprintf(detail, sizeof(detail), "%s", ret < 0 ? rig_last_error() : "");
	/* FAILED only when the pen answered with a refusal: then it keeps its
	 * previous table. A lost answer, or an error after it activated one,
	 * leaves which table is active to the next as-found read. */
	if (ret < 0 && (activated || ret == RIG_ERR_TIMEOUT || ret == RIG_ERR_DISCONNECTED ||
			ret == RIG_ERR_INTERRUPTED || ret == RIG_ERR_PROTOCOL)) {
		emit_commit(r, RIG_COMMIT_UNKNOWN, detail);
		rigi_result_from_error(r, res, ret, "table commit (which table is active is "
						    "unknown: the next as-found read settles it)");
		return;
	}
	if (ret < 0) {
		emit_commit(r, RIG_COMMIT_FAILED, detail);
		rigi_result_from_error(r, res, ret, "table commit");
		return;
	}
	r->table_written = 1;
	emit_commit(r, RIG_COMMIT_CONFIRMED, "the pen activated the table; its read-back "
					     "matched byte for byte");
	rigi_result_set(res, RIG_OUTCOME_PASS, "table_seq %u (%zu bytes) in slot %c committed, "
			"stored in %s", r->table.table_seq, r->blob_len, slot ? 'B' : 'A', bin);
}

static void write_table(struct rigi_run *r, const struct rig_step *st,
			struct rig_record_step *rs, struct rigi_step_result *res)
{
	struct rig_dut_status ds;
	char bin[1200], json[1200];
	int ret;
	(void)rs;

	if (!r->have_table) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "no table to write: the fit step did not run");
		return;
	}
	rigi_progress(r, st->name, 0, 0, "signing and writing the table");
	if (prepare_table(r, &ds, res) < 0)
		return;
	uint8_t slot = ds.active_slot == 0 ? 1 : 0;
	/* The bytes are durable, and journaled, before the pen may activate them. */
	if ((ret = store_table(r, slot, bin, json, sizeof(bin))) < 0) {
		rigi_result_from_error(r, res, ret, "storing the table bytes before the write");
		return;
	}
	if (emit_table(r, RIG_EV_TABLE_STORED, slot, bin, json) ||
	    (ret = rigi_ensure_auth(r)) < 0 ||
	    (ret = rig_dut_table_upload(r->dut, r->blob, r->blob_len)) < 0) {
		if (r->sink_error)
			rigi_result_set(res, RIG_OUTCOME_ERROR, "%s", r->sink_detail);
		else
			rigi_result_from_error(r, res, ret, "table upload");
		return;
	}
	if (emit_table(r, RIG_EV_COMMIT_SENT, slot, bin, json)) {
		rig_dut_table_abort(r->dut);
		rigi_result_set(res, RIG_OUTCOME_ERROR, "%s; the table was not committed",
				r->sink_detail);
		return;
	}
	commit_table(r, slot, bin, res);
}

/* Ctrl-C during the write does not cut it: once begun, the table is
 * committed and (by the read_back step, which runs even then) read back, and
 * only then does the run stop, so no new table is left unverified. */
void rigi_step_write_table(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res)
{
	rig_dut_hold_interrupts(r->dut, 1);
	write_table(r, st, rs, res);
	rig_dut_hold_interrupts(r->dut, 0);
}

static void emit_read_back(struct rigi_run *r, int matches, size_t len, const char *detail)
{
	struct rig_event ev = {.type = RIG_EV_READ_BACK};
	ev.u.read_back = (struct rig_ev_read_back){r->step_index, matches, len, detail};
	rigi_emit(r, &ev);
}

void rigi_step_read_back(struct rigi_run *r, const struct rig_step *st,
			 struct rig_record_step *rs, struct rigi_step_result *res)
{
	uint8_t back[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_cal_table t;
	size_t len = 0;
	int ret;
	(void)rs;

	rigi_progress(r, st->name, 0, 0, "reading the active table back");
	if (!r->table_written) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "nothing to read back: no table was written");
		return;
	}
	rig_dut_hold_interrupts(r->dut, 1);
	ret = rig_dut_table_read(r->dut, RIG_DUT_SLOT_ACTIVE, back, sizeof(back), &len);
	rig_dut_hold_interrupts(r->dut, 0);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "table read-back");
		return;
	}
	if (len != r->blob_len || memcmp(back, r->blob, len) != 0) {
		emit_read_back(r, 0, len, "the active table differs from the one written");
		rigi_result_set(res, RIG_OUTCOME_FAIL,
				"the pen's active table (%zu bytes) differs from the one written "
				"(%zu bytes)",
				len, r->blob_len);
		return;
	}
	ret = rig_cal_table_decode(back, len, r->key, &t);
	emit_read_back(r, ret == 0, len, ret == 0 ? "identical to the table written, signature "
						    "valid" : rig_last_error());
	if (ret < 0) {
		rigi_result_set(res, RIG_OUTCOME_FAIL, "active table does not verify: %s",
				rig_last_error());
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS,
			"active table identical to the one written (%zu bytes, signature valid)", len);
}
