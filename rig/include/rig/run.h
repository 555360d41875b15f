/* Running a suite on one unit of a station (DESIGN §5, §6): the runner opens
 * the nest's instruments and pen from the fixture, executes the suite's
 * steps in order, judges every measurement, writes the table and the run
 * record, and leaves the pen safe (motor off, service mode left) on every
 * exit path. A station or link failure ends the run as ERROR, never FAIL. */
#ifndef RIG_RUN_H
#define RIG_RUN_H

#include <stdint.h>

#include <rig/event.h>
#include <rig/fixture.h>
#include <rig/record.h>
#include <rig/suite.h>
#include <rig/verdict.h>

/** What the runner reports while it works (for progress displays). */
struct rig_run_progress {
	const char *step;     /* step name */
	unsigned step_index;  /* 0-based */
	unsigned n_steps;
	unsigned point;       /* measurement point within the step, 0-based */
	unsigned n_points;    /* 0 when the step has no points */
	const char *text;     /* short description of what happens now */
};

typedef void (*rig_run_progress_fn)(const struct rig_run_progress *p, void *user);

struct rig_station;

struct rig_run_options {
	const struct rig_fixture *fixture; /* borrowed */
	struct rig_station *station;       /* the station the nest is in (rig/station.h),
					      borrowed; NULL: the run opens one of its own */
	const struct rig_suite *suite;     /* borrowed */
	unsigned nest;                     /* index of the nest in the fixture */
	const char *operator_name;         /* recorded; NULL: $USER or "unknown" */
	const char *reports_dir;           /* NULL: "reports" */
	const char *calibrations_dir;      /* NULL: "calibrations" */
	const char *key_path;              /* NULL: the fixture's line_key */
	int simulated;                     /* recorded: 1 against the simulated station */
	uint64_t seed;                     /* recorded when simulated */
	double time_scale;                 /* the station's clock runs this much faster than
					      real time (a simulated station's --speed); the
					      runner's own waits are divided by it. 0 means 1 */
	rig_run_progress_fn progress;      /* may be NULL */
	void *progress_user;
	/* More sinks for the run's events (rig/event.h), after the journal and
	 * the progress display; may be NULL. */
	const struct rig_event_sink *sinks;
	size_t n_sinks;
	const char *warnings;              /* what the station warns of at the start (drift
					      alarms), one per line, kept in the record; NULL */
	const char *report_formats;        /* reports made after the run ("html,pdf", "all",
					      "none"); NULL: the fixture's, else all */
};

/** The headline of a finished run (the full story is in the record). */
struct rig_run_summary {
	enum rig_outcome outcome;
	char reason[RIG_RECORD_REASON_MAX];
	char serial[17];
	char run_id[RIG_RUN_ID_MAX];
	char record_path[RIG_RECORD_PATH_MAX]; /* "" when no record could be written */
	char table_path[RIG_RECORD_PATH_MAX]; /* calibrations/<serial>/<run_id>.bin, or "" */
	/* Largest |error| over the depth setpoints (µm) and speed levels (% of the
	 * setpoint), as found and as left; NAN when not measured. */
	double as_found_depth_um, as_left_depth_um;
	double as_found_rate_pct, as_left_rate_pct;
	int safe_state_confirmed;
	char safe_state_detail[256];  /* how it was confirmed, or why it could not be */
	/* Station time the steps physically needed: capture durations plus
	 * settling waits, in the station's seconds (for overhead figures). */
	double physical_s;
	int bad_input;                /* the run was refused for a bad input file (the line
					 key): the CLI exits 2 */
	int error;                    /* the rig_err behind an ERROR, or 0 */
	char run_dir[1024];           /* the run folder (record, journal, reports) */
	char report_failures[512];    /* reports that could not be written, and why; "" */
};

/** The headline of a run from its record (worst errors of the as-found and
 *  as-left steps, outcome, serial, table). Fields the record does not hold
 *  (record_path, physical_s) are left as they are. */
void rig_run_summary_from_record(const struct rig_record *rec, struct rig_run_summary *out);

/** Run @p opt->suite on the unit in nest @p opt->nest. Before anything:
 *  runs of the station that died are closed into records, and the run's
 *  folder and journal are opened (docs/records.md); then the preflight
 *  (locks, line key, disk room, phantom), the nest, the steps, the safe
 *  state. Returns 0 when the run ended and its record was written (the
 *  verdict, which may be ERROR or ABORTED, is in @p out), or a negative
 *  rig_err when not even the record could be written (rig_last_error()
 *  says why). Checks rig_interrupted() between and inside steps: Ctrl-C
 *  ends the run ABORTED with the pen safe. */
int rig_run_unit(const struct rig_run_options *opt, struct rig_run_summary *out);

#endif
