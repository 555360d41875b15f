/* The record builder: a pure function from a run's events to its record.
 * The same code builds the record at the end of a run, closes a journal
 * left behind by a crash, and rebuilds a record to verify it, so a record
 * is always exactly what its journal says. */
#include <stdio.h>
#include <string.h>

#include <rig/event.h>
#include <rig/record.h>

#include "core/core.h"
#include "records/records.h"

static const char *const event_names[RIG_EV_N_TYPES] = {
	[RIG_EV_RUN_BEGIN] = "run_begin",         [RIG_EV_STATION] = "station",
	[RIG_EV_UNIT] = "unit",                   [RIG_EV_STEP_BEGIN] = "step_begin",
	[RIG_EV_CAPTURE] = "capture",             [RIG_EV_MEASUREMENT] = "measurement",
	[RIG_EV_TABLE_STORED] = "table_stored",   [RIG_EV_COMMIT_SENT] = "commit_sent",
	[RIG_EV_COMMIT_RESULT] = "commit_result", [RIG_EV_READ_BACK] = "read_back",
	[RIG_EV_STEP_END] = "step_end",           [RIG_EV_SAFE_STATE] = "safe_state",
	[RIG_EV_RUN_END] = "run_end",             [RIG_EV_PROGRESS] = "progress",
	[RIG_EV_RECORD] = "record",
};

const char *rig_event_type_name(enum rig_event_type type)
{
	return (unsigned)type < RIG_EV_N_TYPES ? event_names[type] : NULL;
}

int rig_event_type_parse(const char *name)
{
	for (int i = 0; i < RIG_EV_N_TYPES; i++)
		if (name && strcmp(name, event_names[i]) == 0)
			return i;
	return -1;
}

static const char *const commit_names[] = {"not_sent", "sent", "confirmed", "failed",
					   "unknown"};

const char *rig_commit_status_name(enum rig_commit_status s)
{
	return (unsigned)s < sizeof(commit_names) / sizeof(commit_names[0]) ? commit_names[s]
									     : NULL;
}

int rig_commit_status_parse(const char *name)
{
	for (int i = 0; i < (int)(sizeof(commit_names) / sizeof(commit_names[0])); i++)
		if (name && strcmp(name, commit_names[i]) == 0)
			return i;
	return -1;
}

static void copy_header(struct rig_record *rec, const struct rig_record *h)
{
	struct rig_record_instrument keep[RIG_RECORD_MAX_INSTRUMENTS];
	size_t n = rec->station.n_instruments;
	memcpy(keep, rec->station.instruments, sizeof(keep));
	snprintf(rec->run_id, sizeof(rec->run_id), "%s", h->run_id);
	snprintf(rec->suite_name, sizeof(rec->suite_name), "%s", h->suite_name);
	snprintf(rec->suite_version, sizeof(rec->suite_version), "%s", h->suite_version);
	snprintf(rec->suite_path, sizeof(rec->suite_path), "%s", h->suite_path);
	snprintf(rec->suite_sha256, sizeof(rec->suite_sha256), "%s", h->suite_sha256);
	rec->station = h->station;
	memcpy(rec->station.instruments, keep, sizeof(keep));
	rec->station.n_instruments = n;
	snprintf(rec->operator_name, sizeof(rec->operator_name), "%s", h->operator_name);
	rec->started_ms = h->started_ms;
	snprintf(rec->software_version, sizeof(rec->software_version), "%s", h->software_version);
	snprintf(rec->software_commit, sizeof(rec->software_commit), "%s", h->software_commit);
	snprintf(rec->warnings, sizeof(rec->warnings), "%s", h->warnings);
}

/* The step an event names must be the one open now. */
static struct rig_record_step *open_step(struct rig_record *rec, unsigned index)
{
	if (rec->n_steps == 0 || index != rec->n_steps - 1)
		return NULL;
	return rec->steps[index];
}

static int step_event(struct rig_record *rec, const struct rig_event *ev)
{
	struct rig_record_step *st;
	switch (ev->type) {
	case RIG_EV_STEP_BEGIN:
		if (ev->u.step_begin.index != rec->n_steps)
			return rigi_fail(RIG_ERR_FORMAT, "step %u begins after %zu steps",
					 ev->u.step_begin.index, rec->n_steps);
		if (rig_record_step_begin(rec, ev->u.step_begin.name, ev->u.step_begin.type, &st) < 0)
			return RIG_ERR_NOMEM;
		st->started_ms = ev->time_ms;
		return 0;
	case RIG_EV_MEASUREMENT:
		if (!(st = open_step(rec, ev->u.measurement.step)))
			break;
		return rig_record_step_add(st, ev->u.measurement.m);
	case RIG_EV_STEP_END:
		if (!(st = open_step(rec, ev->u.step_end.index)))
			break;
		st->outcome = ev->u.step_end.outcome;
		snprintf(st->reason, sizeof(st->reason), "%s", ev->u.step_end.reason);
		st->duration_s = ev->u.step_end.duration_s;
		return 0;
	default: return 0;
	}
	return rigi_fail(RIG_ERR_FORMAT, "%s event for a step that is not open",
			 rig_event_type_name(ev->type));
}

static int table_event(struct rig_record *rec, const struct rig_event *ev)
{
	int ret;
	switch (ev->type) {
	case RIG_EV_TABLE_STORED:
		ret = rig_record_set_table(rec, ev->u.table.bytes, ev->u.table.len, ev->u.table.slot);
		if (ret < 0)
			return ret;
		rec->commit = RIG_COMMIT_NOT_SENT;
		rec->read_back = -1;
		snprintf(rec->commit_detail, sizeof(rec->commit_detail),
			 "stored; TABLE_COMMIT not sent");
		snprintf(rec->table_bin_path, sizeof(rec->table_bin_path), "%s", ev->u.table.bin_path);
		snprintf(rec->table_json_path, sizeof(rec->table_json_path), "%s",
			 ev->u.table.json_path);
		return 0;
	case RIG_EV_COMMIT_SENT:
		rec->commit = RIG_COMMIT_SENT;
		snprintf(rec->commit_detail, sizeof(rec->commit_detail), "TABLE_COMMIT sent");
		return 0;
	case RIG_EV_COMMIT_RESULT:
		rec->commit = ev->u.commit.status;
		snprintf(rec->commit_detail, sizeof(rec->commit_detail), "%s", ev->u.commit.detail);
		return 0;
	case RIG_EV_READ_BACK:
		rec->read_back = ev->u.read_back.matches != 0;
		return 0;
	default: return 0;
	}
}

int rigi_record_apply(struct rig_record *rec, const struct rig_event *ev)
{
	switch (ev->type) {
	case RIG_EV_RUN_BEGIN: copy_header(rec, ev->u.run); return 0;
	case RIG_EV_STATION:
		memcpy(rec->station.instruments, ev->u.station->instruments,
		       sizeof(rec->station.instruments));
		rec->station.n_instruments = ev->u.station->n_instruments;
		return 0;
	case RIG_EV_UNIT: rec->unit = *ev->u.unit; return 0;
	case RIG_EV_CAPTURE: rec->station.phantom.strokes_run += ev->u.capture.strokes; return 0;
	case RIG_EV_SAFE_STATE:
		rig_record_set_safe_state(rec, ev->u.safe.confirmed, ev->u.safe.detail);
		return 0;
	case RIG_EV_RUN_END:
		rig_record_finish(rec, ev->u.run_end.outcome, ev->u.run_end.reason);
		rec->ended_ms = ev->time_ms;
		rec->error = rec->outcome == RIG_OUTCOME_ERROR ? ev->u.run_end.error : 0;
		return 0;
	case RIG_EV_STEP_BEGIN:
	case RIG_EV_MEASUREMENT:
	case RIG_EV_STEP_END: return step_event(rec, ev);
	case RIG_EV_TABLE_STORED:
	case RIG_EV_COMMIT_SENT:
	case RIG_EV_COMMIT_RESULT:
	case RIG_EV_READ_BACK: return table_event(rec, ev);
	default: return 0;
	}
}
