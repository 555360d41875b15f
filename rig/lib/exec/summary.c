/* The one-line headline of a run, derived from its record (never kept
 * alongside it): the worst depth and rate errors as found and as left. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <rig/run.h>

/* Largest |error| of the judged measurements of @p quantity in @p st, in
 * µm, or in % of the setpoint when @p pct. NAN when there is none. */
static double worst(const struct rig_record_step *st, const char *quantity, int pct)
{
	double w = NAN;
	for (size_t i = 0; i < st->n_measurements; i++) {
		const struct rig_measurement *m = &st->measurements[i];
		double e = pct ? 100.0 * m->error / m->setpoint : m->error;
		if (!m->judged || strcmp(m->quantity, quantity) != 0 || !isfinite(e))
			continue;
		if (isnan(w) || fabs(e) > fabs(w))
			w = e;
	}
	return w;
}

void rig_run_summary_from_record(const struct rig_record *rec, struct rig_run_summary *out)
{
	out->outcome = rec->outcome;
	out->error = rec->error;
	snprintf(out->reason, sizeof(out->reason), "%s", rec->reason);
	snprintf(out->serial, sizeof(out->serial), "%s",
		 rec->unit.serial[0] ? rec->unit.serial : "unknown");
	snprintf(out->run_id, sizeof(out->run_id), "%s", rec->run_id);
	out->safe_state_confirmed = rec->safe_state_confirmed;
	snprintf(out->safe_state_detail, sizeof(out->safe_state_detail), "%s",
		 rec->safe_state_detail);
	snprintf(out->table_path, sizeof(out->table_path), "%s",
		 rec->has_table && rec->commit == RIG_COMMIT_CONFIRMED ? rec->table_bin_path : "");
	for (size_t i = 0; i < rec->n_steps; i++) {
		const struct rig_record_step *st = rec->steps[i];
		int left = strcmp(st->type, "as_left") == 0;
		if (!left && strcmp(st->type, "as_found") != 0)
			continue;
		*(left ? &out->as_left_depth_um : &out->as_found_depth_um) =
			worst(st, "protrusion", 0);
		*(left ? &out->as_left_rate_pct : &out->as_found_rate_pct) = worst(st, "rate", 1);
	}
}
