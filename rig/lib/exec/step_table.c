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

static void record_fit(struct rig_record_step *rs, const char *what, const char *unit,
		       const struct rig_curve_info *info)
{
	struct rig_measurement m;
	char name[RIG_MEASUREMENT_NAME_MAX];
	snprintf(name, sizeof(name), "%s_fit_residual_sd", what);
	rig_measurement_init(&m, name, "residual_sd", unit, NAN);
	m.value = info->resid_sd;
	m.n = (unsigned)info->n;
	rig_measurement_judge(&m, NULL);
	rig_record_step_add(rs, &m);
}

static size_t depth_setpoints(const struct rigi_run *r, double *sp, size_t cap)
{
	size_t n = 0;
	unsigned step = r->id.depth_step_um ? r->id.depth_step_um : 250;
	for (unsigned d = r->id.depth_min_um; d <= r->id.depth_max_um && n < cap; d += step)
		sp[n++] = d;
	if (n && sp[n - 1] < r->id.depth_max_um && n < cap)
		sp[n++] = r->id.depth_max_um;
	return n;
}

static size_t rate_setpoints(const struct rigi_run *r, double *sp, size_t cap)
{
	size_t n = 0;
	if (r->id.n_speed_levels == 0 || r->id.speed_levels[0] > r->id.rate_min_spm)
		sp[n++] = r->id.rate_min_spm;
	for (unsigned i = 0; i < r->id.n_speed_levels && n < cap; i++)
		if (!n || r->id.speed_levels[i] > sp[n - 1])
			sp[n++] = r->id.speed_levels[i];
	if (sp[n - 1] < r->id.rate_max_spm && n < cap)
		sp[n++] = r->id.rate_max_spm;
	return n;
}

void rigi_step_fit(struct rigi_run *r, const struct rig_step *st, struct rig_record_step *rs,
		   struct rigi_step_result *res)
{
	double dsp[RIG_CAL_TABLE_MAX_KNOTS], rsp[RIG_CAL_TABLE_MAX_KNOTS];
	struct rig_knot dk[RIG_CAL_TABLE_MAX_KNOTS], rk[RIG_CAL_TABLE_MAX_KNOTS];
	struct rig_curve_info dinfo, rinfo;
	size_t nd = depth_setpoints(r, dsp, r->id.table_max_knots);
	size_t nr = rate_setpoints(r, rsp, r->id.table_max_knots);
	struct rig_knot_limits dlim = {"depth", "code", r->id.code_min, r->id.code_max,
				       r->id.table_max_knots};
	struct rig_knot_limits rlim = {"rate", "duty", r->id.duty_min, r->id.duty_max,
				       r->id.table_max_knots};
	int ret;

	rigi_progress(r, st->name, 0, 0, "fitting %zu depth and %zu rate points",
		      r->depth_sweep.n, r->rate_sweep.n);
	ret = fit_curve(&r->depth_sweep, st->u.fit.max_degree, dsp, nd, &dlim, dk, &dinfo);
	if (ret == 0)
		ret = fit_curve(&r->rate_sweep, st->u.fit.max_degree, rsp, nr, &rlim, rk, &rinfo);
	if (ret < 0) {
		/* The unit cannot reach its declared range, or its curve is not
		 * monotone: that is the unit's failure, not the station's. */
		rigi_result_set(res, RIG_OUTCOME_FAIL, "no valid table: %s", rig_last_error());
		return;
	}
	record_fit(rs, "depth", "um", &dinfo);
	record_fit(rs, "rate", "spm", &rinfo);
	memset(&r->table, 0, sizeof(r->table));
	snprintf(r->table.serial, sizeof(r->table.serial), "%s", r->id.serial);
	r->table.created = (uint64_t)rig_wall_time_s();
	r->table.n_depth = (uint8_t)nd;
	r->table.n_rate = (uint8_t)nr;
	for (size_t i = 0; i < nd; i++)
		r->table.depth[i] = (struct rig_cal_depth_knot){(uint16_t)dsp[i], (uint16_t)dk[i].value};
	for (size_t i = 0; i < nr; i++)
		r->table.rate[i] = (struct rig_cal_rate_knot){(uint16_t)rsp[i], (uint16_t)rk[i].value};
	r->have_table = 1;
	rigi_result_set(res, RIG_OUTCOME_PASS,
			"depth: degree %u, residual SD %.2f um over %zu codes; rate: degree %u, "
			"residual SD %.1f spm over %zu duties",
			dinfo.degree, dinfo.resid_sd, dinfo.n, rinfo.degree, rinfo.resid_sd, rinfo.n);
}

/* calibrations/<serial>/<run_id>.bin (exact bytes) and .json (readable). */
static int store_table(struct rigi_run *r)
{
	const char *base = r->opt->calibrations_dir ? r->opt->calibrations_dir : "calibrations";
	char dir[400], path[512];
	char *json = NULL;
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", base, r->id.serial);
	ret = rigi_mkdir_p(dir);
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/%s.bin", dir, r->rec->run_id);
		ret = rigi_atomic_write(path, r->blob, r->blob_len);
		snprintf(r->sum->table_path, sizeof(r->sum->table_path), "%s", path);
	}
	if (ret == 0)
		ret = rig_record_table_to_json(r->rec, &json);
	if (ret == 0) {
		snprintf(path, sizeof(path), "%s/%s.json", dir, r->rec->run_id);
		ret = rigi_atomic_write(path, json, strlen(json));
	}
	free(json);
	return ret;
}

void rigi_step_write_table(struct rigi_run *r, const struct rig_step *st,
			   struct rig_record_step *rs, struct rigi_step_result *res)
{
	struct rig_dut_status ds;
	int ret;
	(void)rs;

	if (!r->have_table) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "no table to write: the fit step did not run");
		return;
	}
	rigi_progress(r, st->name, 0, 0, "signing and writing the table");
	ret = rig_dut_status(r->dut, &ds);
	if (ret == 0) {
		r->table.table_seq = ds.active_table_seq + 1;
		ret = rigi_ensure_key(r);
	}
	if (ret == 0)
		ret = rig_cal_table_encode(&r->table, r->key, r->blob, sizeof(r->blob), &r->blob_len);
	if (ret == 0 && (ret = rig_cal_table_check(&r->table, &r->id, &ds)) < 0) {
		rigi_result_set(res, RIG_OUTCOME_FAIL, "table refused before sending: %s",
				rig_last_error());
		return;
	}
	if (ret == 0)
		ret = rigi_ensure_auth(r);
	if (ret == 0)
		ret = rig_dut_table_write(r->dut, r->blob, r->blob_len);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "table write");
		return;
	}
	r->table_written = 1;
	rig_record_set_table(r->rec, r->blob, r->blob_len, ds.active_slot == 0 ? 1 : 0);
	ret = store_table(r);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "storing the table bytes");
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS, "table_seq %u (%zu bytes) committed, stored in %s",
			r->table.table_seq, r->blob_len, r->sum->table_path);
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
	ret = rig_dut_table_read(r->dut, RIG_DUT_SLOT_ACTIVE, back, sizeof(back), &len);
	if (ret < 0) {
		rigi_result_from_error(r, res, ret, "table read-back");
		return;
	}
	if (len != r->blob_len || memcmp(back, r->blob, len) != 0) {
		rigi_result_set(res, RIG_OUTCOME_FAIL,
				"the pen's active table (%zu bytes) differs from the one written "
				"(%zu bytes)",
				len, r->blob_len);
		return;
	}
	ret = rig_cal_table_decode(back, len, r->key, &t);
	if (ret < 0) {
		rigi_result_set(res, RIG_OUTCOME_FAIL, "active table does not verify: %s",
				rig_last_error());
		return;
	}
	rigi_result_set(res, RIG_OUTCOME_PASS,
			"active table identical to the one written (%zu bytes, signature valid)", len);
}
