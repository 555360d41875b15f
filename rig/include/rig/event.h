/* The run event stream (DESIGN §8): while a run goes, the runner emits typed
 * events — run and step begin/end, captures, measurements, the table's
 * journey into the pen, the safe state — to a list of sinks registered for
 * that run, in the style of libsigrok's session datafeed. The runner knows
 * nothing of files or formats: the journal, the record builder, the
 * progress display (and report writers, the results store) are sinks.
 *
 * Every payload is borrowed for the duration of the callback only; a sink
 * that keeps something copies it. Events of one run arrive in order, from
 * the thread running it. */
#ifndef RIG_EVENT_H
#define RIG_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <rig/record.h>
#include <rig/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

enum rig_event_type {
	RIG_EV_RUN_BEGIN = 0,  /* run: who, where, with what (record header) */
	RIG_EV_STATION,        /* station: the instruments identified at open */
	RIG_EV_UNIT,           /* unit: the pen identified, and the table it had */
	RIG_EV_STEP_BEGIN,     /* step_begin */
	RIG_EV_CAPTURE,        /* capture: one DAQ capture of the nest, analysed */
	RIG_EV_MEASUREMENT,    /* measurement: one measurement of the current step */
	RIG_EV_TABLE_STORED,   /* table: the bytes are durable in calibrations/ */
	RIG_EV_COMMIT_SENT,    /* table: TABLE_COMMIT is about to be sent */
	RIG_EV_COMMIT_RESULT,  /* commit: confirmed, failed or unknown */
	RIG_EV_READ_BACK,      /* read_back: the active table read back */
	RIG_EV_STEP_END,       /* step_end */
	RIG_EV_SAFE_STATE,     /* safe: the pen's state at exit */
	RIG_EV_RUN_END,        /* run_end: the outcome the runner decided */
	RIG_EV_PROGRESS,       /* progress: what happens now (not journaled) */
	RIG_EV_RECORD,         /* record: the record is written and signed (not journaled) */
	RIG_EV_N_TYPES
};

/** "run_begin", "station", ... as in the journal; NULL when unknown. */
const char *rig_event_type_name(enum rig_event_type type);

/** Parse a name of rig_event_type_name(); the type or -1. */
int rig_event_type_parse(const char *name);

struct rig_ev_step_begin {
	unsigned index;         /* position in the suite, from 0 */
	const char *name;       /* the suite's step name */
	const char *type;       /* "as_left", ... */
};

struct rig_capture;
struct rig_analysis;

struct rig_ev_capture {
	unsigned step;          /* index of the step taking it */
	double seconds;         /* station time captured */
	uint32_t rate_hz;
	uint64_t samples;       /* per channel */
	uint64_t strokes;       /* strokes detected (the phantom wears by these) */
	uint64_t accepted;      /* strokes accepted for measurement */
	/* For sinks that keep attachments; not journaled (NULL in replays). */
	const char *label;                  /* what was measured, e.g. "1000 um at 5400 spm" */
	const struct rig_capture *capture;  /* the samples, in µm and mN */
	const struct rig_analysis *analysis;/* its strokes */
};

struct rig_ev_measurement {
	unsigned step;
	const struct rig_measurement *m;
};

struct rig_ev_step_end {
	unsigned index;
	enum rig_outcome outcome;
	const char *reason;
	double duration_s;      /* monotonic clock */
};

/* The table on its way into the pen. */
struct rig_ev_table {
	unsigned step;
	uint8_t slot;           /* slot written: 0 A, 1 B */
	uint32_t table_seq;
	const uint8_t *bytes;
	size_t len;
	const char *bin_path;   /* TABLE_STORED: where the exact bytes are */
	const char *json_path;  /* TABLE_STORED: their readable JSON */
};

struct rig_ev_commit {
	unsigned step;
	enum rig_commit_status status; /* CONFIRMED, FAILED or UNKNOWN */
	const char *detail;
};

struct rig_ev_read_back {
	unsigned step;
	int matches;            /* 1: the active table is the one written */
	size_t len;             /* bytes read back */
	const char *detail;
};

struct rig_ev_safe {
	int confirmed;
	const char *detail;
};

struct rig_ev_run_end {
	enum rig_outcome outcome;
	const char *reason;
	int error;              /* the rig_err behind an ERROR, or 0 */
};

struct rig_ev_progress {
	const char *step;       /* step name */
	unsigned step_index, n_steps;
	unsigned point, n_points; /* n_points 0 when the step has no points */
	const char *text;
};

struct rig_ev_record {
	const struct rig_record *rec;  /* as written to record.json */
	const char *dir;               /* the run folder */
};

struct rig_event {
	enum rig_event_type type;
	int64_t time_ms;        /* wall clock, ms since 1970-01-01 UTC */
	union {
		const struct rig_record *run;           /* RUN_BEGIN: header fields only */
		const struct rig_record_station *station; /* STATION */
		const struct rig_record_unit *unit;     /* UNIT */
		struct rig_ev_step_begin step_begin;
		struct rig_ev_capture capture;
		struct rig_ev_measurement measurement;
		struct rig_ev_table table;              /* TABLE_STORED, COMMIT_SENT */
		struct rig_ev_commit commit;
		struct rig_ev_read_back read_back;
		struct rig_ev_step_end step_end;
		struct rig_ev_safe safe;
		struct rig_ev_run_end run_end;
		struct rig_ev_progress progress;
		struct rig_ev_record record;
	} u;
};

/** A consumer of events. @p on_event returns 0, or a negative rig_err when
 *  it could not keep the event (a journal on a full disk): for a sink with
 *  @p required set, that ends the run as ERROR before the pen is changed
 *  further; for others it is logged once and the sink is dropped. */
struct rig_event_sink {
	const char *name;
	int (*on_event)(const struct rig_event *ev, void *user);
	void *user;
	int required;
};

#ifdef __cplusplus
}
#endif
#endif
