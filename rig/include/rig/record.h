/* Run records: one canonical JSON document per run (schema
 * "needle-rig/run-record/2", documented field by field in docs/records.md),
 * built from the run's events (rig/event.h) by the record builder and
 * written atomically to <reports>/<serial>/<run-id>/record.json, so that a
 * crash leaves either the previous record or the new one, never a torn
 * file. Records of schema 1 are still read. */
#ifndef RIG_RECORD_H
#define RIG_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <rig/table.h>
#include <rig/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RIG_RECORD_SCHEMA "needle-rig/run-record/2"
#define RIG_RECORD_SCHEMA_1 "needle-rig/run-record/1"
#define RIG_RUN_ID_MAX 40       /* "20261125T173146.123Z-a1b2c3" + NUL fits */
#define RIG_RECORD_NAME_MAX 64
#define RIG_RECORD_REASON_MAX 512
#define RIG_RECORD_PATH_MAX 1024
#define RIG_RECORD_WARNINGS_MAX 1024

/** The calibration table written to the pen: exact bytes and their knots. */
struct rig_record_table {
	uint8_t slot;                    /* slot: 0 A, 1 B */
	size_t len;
	uint8_t bytes[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_cal_table decoded;    /* decoded from bytes (CRC checked) */
};

/** What became of TABLE_COMMIT (docs/records.md "table"). */
enum rig_commit_status {
	RIG_COMMIT_NOT_SENT = 0,  /* stored, never sent: the pen keeps its table */
	RIG_COMMIT_SENT,          /* sent, no answer recorded yet (a run that died) */
	RIG_COMMIT_CONFIRMED,     /* the pen activated it and read-back matched */
	RIG_COMMIT_FAILED,        /* the pen refused it: it keeps its previous table */
	RIG_COMMIT_UNKNOWN,       /* the link was lost: the next as-found read settles it */
};

/** "not_sent", "sent", "confirmed", "failed", "unknown"; NULL otherwise. */
const char *rig_commit_status_name(enum rig_commit_status s);
/** Parse a name of rig_commit_status_name(); the status or -1. */
int rig_commit_status_parse(const char *name);

struct rig_record_unit {
	char serial[17];       /* as the pen reports it; names the report folder */
	char model[17];
	char hardware[16];     /* "1.0" */
	char firmware[16];     /* "1.2.0" */
	/* The pen's active table as found at identify (its exact bytes), or
	 * none (a blank pen). */
	int has_previous_table;
	struct rig_record_table previous_table;
	char previous_table_path[RIG_RECORD_PATH_MAX]; /* its copy in calibrations/, "" if none */
};

/** A station instrument: identity registers read at open, certificate
 *  from the fixture. */
struct rig_record_instrument {
	char role[16];           /* "daq", "displacement", "force" */
	int nest;                /* the nest it belongs to; -1 for the DAQ */
	char uri[160];
	int identified;          /* 1: the identity registers below were read */
	uint16_t device_type;
	uint16_t map_version;
	uint32_t serial;
	char firmware[8];        /* "major.minor" */
	char certificate[64];    /* "" for the DAQ (no certificate in the fixture) */
	char calibrated[11], due[11];  /* "YYYY-MM-DD" or "" */
	double standard_uncertainty;   /* u (k = 1) in @p unit; NAN when none */
	char unit[4];
};

#define RIG_RECORD_MAX_INSTRUMENTS 3

struct rig_record_phantom {
	char type[96];
	char lot[64];            /* "" when the fixture names none */
	char installed[11];
	char expires[11];        /* "" when none */
	uint64_t max_strokes;    /* 0: no limit */
	uint64_t strokes_before; /* strokes on it before this run */
	uint64_t strokes_run;    /* strokes this run put on it (from its captures) */
};

struct rig_record_station {
	char id[RIG_RECORD_NAME_MAX];    /* the fixture's station.id */
	char name[96];
	unsigned nest;
	int simulated;
	uint64_t seed;                   /* the simulator's run seed (when simulated) */
	char host[64];                   /* the host the rig ran on */
	char fixture_path[RIG_RECORD_PATH_MAX];
	char fixture_sha256[65];         /* of the fixture file's bytes */
	struct rig_record_phantom phantom;
	struct rig_record_instrument instruments[RIG_RECORD_MAX_INSTRUMENTS];
	size_t n_instruments;
};

struct rig_record_step {
	char name[RIG_RECORD_NAME_MAX];  /* the suite's step name */
	char type[24];                   /* the step type ("as_left", ...) */
	enum rig_outcome outcome;        /* ERROR "step did not finish" until ended */
	char reason[RIG_RECORD_REASON_MAX];
	int64_t started_ms;              /* wall clock, ms since 1970-01-01 UTC */
	double duration_s;               /* monotonic clock */
	struct rig_measurement *measurements;
	size_t n_measurements;
	int64_t mono_start_ns;           /* for duration_s; set by rig_record_step_begin */
};

struct rig_record {
	int schema_version;              /* 2 (1 for a record read from schema 1) */
	char run_id[RIG_RUN_ID_MAX];     /* sortable: UTC time + random suffix */
	char suite_name[RIG_RECORD_NAME_MAX];
	char suite_version[32];
	char suite_path[RIG_RECORD_PATH_MAX];
	char suite_sha256[65];           /* of the suite file's bytes */
	struct rig_record_station station;
	struct rig_record_unit unit;
	char operator_name[RIG_RECORD_NAME_MAX];
	int64_t started_ms;              /* wall clock, ms since 1970-01-01 UTC */
	int64_t ended_ms;                /* 0 until rig_record_finish */
	char software_version[32];       /* rig_version() */
	char software_commit[64];        /* git describe at configure time, or "unknown" */
	/* What the station warned of at the start (drift alarms of the results
	 * store), one per line; "" for none (docs/records.md "warnings"). */
	char warnings[RIG_RECORD_WARNINGS_MAX];
	struct rig_record_step **steps;  /* in execution order; pointers are stable */
	size_t n_steps;
	int has_table;                   /* a table was stored to be written */
	struct rig_record_table table;
	enum rig_commit_status commit;   /* what became of its TABLE_COMMIT */
	char commit_detail[256];
	char table_bin_path[RIG_RECORD_PATH_MAX];  /* where its bytes were stored */
	char table_json_path[RIG_RECORD_PATH_MAX];
	int read_back;                   /* -1 not read back, 0 differed, 1 matched */
	int safe_state_confirmed;        /* 1: motor off and service mode left at exit */
	char safe_state_detail[256];
	enum rig_outcome outcome;        /* ERROR "run did not finish" until finished */
	char reason[RIG_RECORD_REASON_MAX];
	int error;                       /* the rig_err behind an ERROR outcome, or 0 */
	/* The journal the record was made from (set when it is written). */
	uint64_t journal_events;
	char journal_sha256[65];         /* SHA-256 of the journal's last line */
	char signer_public_key[65];      /* Ed25519 public key (hex) that signs record.sig */
	int step_verdicts;               /* 1: steps carry verdict and drifted in JSON (new
					    records; 0 for a file written before them) */
};

/** Format @p ms (since 1970-01-01 UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into
 *  @p buf (>= 25 bytes). Returns 0 or RIG_ERR_RANGE (year outside
 *  1970..9999, or buffer too small). */
int rig_time_format_utc(int64_t ms, char *buf, size_t cap);

/** Parse the form of rig_time_format_utc exactly. 0 or RIG_ERR_FORMAT. */
int rig_time_parse_utc(const char *text, int64_t *ms);

/** Wall-clock time now in ms since 1970-01-01 UTC. */
int64_t rig_time_now_ms(void);

/** Make a run id for a run starting at @p ms: "YYYYMMDDTHHMMSS.mmmZ-xxxxxx"
 *  (UTC, then 6 random hex digits), so that ids sort by start time and two
 *  stations starting in the same millisecond still differ. */
int rig_run_id_make(int64_t ms, char *buf, size_t cap);

/** Start a record: a fresh run id, started now, software version, no steps,
 *  outcome ERROR "run did not finish" (a record saved mid-run never claims
 *  a verdict). The caller fills the identity fields, owns *out and frees it
 *  with rig_record_free(). */
int rig_record_new(struct rig_record **out);

/** Free a record and its steps; NULL is a no-op. */
void rig_record_free(struct rig_record *rec);

/** Append a step started now (names copied, truncated to their fields);
 *  outcome ERROR "step did not finish" until rig_record_step_end. *out
 *  points into @p rec and stays valid until rig_record_free. */
int rig_record_step_begin(struct rig_record *rec, const char *name, const char *type,
			  struct rig_record_step **out);

/** Append a copy of @p m to @p step. 0 or RIG_ERR_NOMEM. */
int rig_record_step_add(struct rig_record_step *step, const struct rig_measurement *m);

/** The verdict of a step's judged measurements (the worst of them, as
 *  rig_measurements_outcome), or -1 when it has none. For as_left it is part
 *  of the step's outcome; for as_found it is not (docs/records.md). */
int rig_record_step_verdict(const struct rig_record_step *step);

/** An as_found step's drift: 1 when its verdict is FAIL (drifted beyond the
 *  as-found limits), 0 when PASS, -1 otherwise (INDETERMINATE: cannot tell;
 *  no verdict; or not an as_found step). */
int rig_record_step_drifted(const struct rig_record_step *step);

/** End a step: its outcome, @p reason (copied; NULL for none) and duration. */
void rig_record_step_end(struct rig_record_step *step, enum rig_outcome outcome,
			 const char *reason);

/** Fill @p t from @p len bytes of a table blob for @p slot (copied and
 *  decoded; format and CRC checked: RIG_ERR_FORMAT / RIG_ERR_CRC). */
int rig_record_table_set(struct rig_record_table *t, const uint8_t *blob, size_t len,
			 uint8_t slot);

/** Record the table to be written to @p slot (see rig_record_table_set). */
int rig_record_set_table(struct rig_record *rec, const uint8_t *blob, size_t len, uint8_t slot);

/** Record whether the hardware was confirmed in a safe state at exit. */
void rig_record_set_safe_state(struct rig_record *rec, int confirmed, const char *detail);

/** Finish: end time now, overall outcome and reason. The outcome recorded
 *  is the worse of @p outcome and the aggregate of the steps (no steps:
 *  ERROR), so a record can never claim better than its steps show; when
 *  raised, the reason says so. */
void rig_record_finish(struct rig_record *rec, enum rig_outcome outcome, const char *reason);

/** The canonical JSON text of @p rec (keys sorted, 2-space indent, numbers
 *  with 15 significant digits, non-finite numbers as null, trailing
 *  newline): the same record always gives the same bytes. *out is
 *  malloc'd; the caller frees it. */
int rig_record_to_json(const struct rig_record *rec, char **out);

/** The record's table alone as JSON (schema "needle-rig/table/1": slot,
 *  length, bytes_hex, serial, table_seq, created, depth_knots, rate_knots,
 *  run_id, station), for calibrations/<serial>/<run-id>.json. The caller
 *  frees *out with free(). RIG_ERR_ARG when the record has no table. */
int rig_record_table_to_json(const struct rig_record *rec, char **out);

/** Parse a record from its JSON text (the schema must be
 *  RIG_RECORD_SCHEMA; every field is checked). @p source names the text in
 *  error details. The caller frees *out with rig_record_free(). */
int rig_record_from_json(const char *text, const char *source, struct rig_record **out);

/** Write @p rec atomically to <reports_dir>/<serial>/<run-id>/record.json
 *  (directories created; temp file, fsync, rename, fsync of the
 *  directory). The serial must be a safe file name (letters, digits, '-',
 *  '_', '.'; not "." or ".."): RIG_ERR_ARG otherwise. @p path (may be
 *  NULL) receives the file's path. Returns 0, RIG_ERR_IO (detail names the
 *  file and the system error), RIG_ERR_RANGE (@p cap too small). */
int rig_record_write(const struct rig_record *rec, const char *reports_dir, char *path,
		     size_t cap);

/** Read a record file written by rig_record_write(). */
int rig_record_load(const char *path, struct rig_record **out);

#ifdef __cplusplus
}
#endif
#endif
