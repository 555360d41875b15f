/* The results store (DESIGN §9, docs/store.md): every run of a station in
 * one database, for finding a pen's runs and for the statistics a process
 * engineer watches. One schema, two backends: SQLite on every station
 * (reports/results.db), PostgreSQL for a whole line. A run is stored in one
 * transaction, idempotently by its run id: storing it again replaces it
 * with identical rows. A station always writes its own SQLite first; runs
 * a line server has not acknowledged wait in the local outbox and are
 * pushed after each run and by `rig results push`, so that the server
 * being down never stops, delays or fails a run, and nothing is lost or
 * duplicated when it returns. */
#ifndef RIG_STORE_H
#define RIG_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <rig/event.h>
#include <rig/record.h>
#include <rig/spc.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RIG_STORE_SCHEMA_VERSION 1
#define RIG_STORE_DEFAULT_NAME "results.db"   /* in the reports folder */

struct rig_store;

/** Open (creating and migrating its schema) the store at @p location: a
 *  PostgreSQL address ("postgresql://user@host:port/db", "postgres://…",
 *  or a libpq "service=NAME" / "host=… dbname=…" string) or otherwise the
 *  path of an SQLite file. A password in a PostgreSQL address is refused
 *  (RIG_ERR_ARG): give it through PGPASSFILE. Returns 0, RIG_ERR_DISCONNECTED
 *  (server unreachable), RIG_ERR_FORMAT (not a store, or of a newer schema
 *  than this build knows), RIG_ERR_PERMISSION, RIG_ERR_IO. */
int rig_store_open(const char *location, struct rig_store **out);

/** Close; NULL is a no-op. */
void rig_store_close(struct rig_store *s);

/** "sqlite" or "postgresql". */
const char *rig_store_kind(const struct rig_store *s);

/** 1 when @p location names a PostgreSQL server rather than a file. */
int rig_store_is_server(const char *location);

/** Store @p rec, whose files are in @p run_dir (may be NULL: no
 *  attachments are listed), in one transaction, replacing any earlier copy
 *  of the same run id. @p queue: also put the run in the outbox for a line
 *  server. */
int rig_store_put(struct rig_store *s, const struct rig_record *rec, const char *run_dir,
		  int queue);

/** Runs waiting in the outbox of @p local. */
int rig_store_outbox_count(struct rig_store *local, size_t *n);

struct rig_store_push_result {
	size_t pushed;     /* runs the line server now holds */
	size_t waiting;    /* runs still in the outbox */
};

/** Push the outbox of @p local to the store at @p line_location, oldest
 *  first, one transaction per run; a run leaves the outbox only once the
 *  server committed it. Only one push per local store runs at a time: with
 *  @p wait 0 a push already under way makes this return 0 at once (that
 *  push will take the new runs too). Returns 0 when the outbox was
 *  emptied, or the error that stopped it (the runs not pushed stay). */
int rig_store_push(struct rig_store *local, const char *line_location, int wait,
		   struct rig_store_push_result *res);

struct rig_store_import_result {
	size_t imported;   /* records stored */
	size_t failed;     /* record files that could not be read */
};

/** Store every record under @p dir (a reports folder, a serial's folder or
 *  one run folder; schema 1 and 2 records). A record that cannot be read
 *  is reported to @p on_error (may be NULL) and skipped. */
int rig_store_import(struct rig_store *s, const char *dir, int queue,
		     void (*on_error)(const char *path, const char *why, void *user), void *user,
		     struct rig_store_import_result *res);

/** Which runs: NULL or "" / 0 / -1 fields select everything. */
struct rig_store_filter {
	const char *run_id;   /* one run */
	const char *serial;
	const char *station;
	const char *suite;
	int outcome;          /* an enum rig_outcome, or -1 for any */
	int64_t since_ms;     /* started at or after; 0: no bound */
	int64_t until_ms;     /* started before; 0: no bound */
	size_t limit;         /* the latest N runs; 0: all */
};

/** Select every run. */
void rig_store_filter_init(struct rig_store_filter *f);

/** A run as `rig results list` shows it. */
struct rig_store_run {
	char run_id[RIG_RUN_ID_MAX];
	char serial[17];
	char model[17];
	char station[RIG_RECORD_NAME_MAX];
	unsigned nest;
	char suite[RIG_RECORD_NAME_MAX];
	char suite_version[32];
	char operator_name[RIG_RECORD_NAME_MAX];
	int64_t started_ms, ended_ms;
	enum rig_outcome outcome;
	char reason[RIG_RECORD_REASON_MAX];
	char commit[16];      /* rig_commit_status_name, "" when no table */
	char record_path[RIG_RECORD_PATH_MAX];
};

/** Call @p fn for each selected run, oldest first; a non-zero return
 *  stops and is returned. */
int rig_store_list(struct rig_store *s, const struct rig_store_filter *f,
		   int (*fn)(const struct rig_store_run *run, void *user), void *user);

/** The run @p run_id as stored, rebuilt as its record (the caller frees it
 *  with rig_record_free); RIG_ERR_NOT_FOUND when the store has no such run. */
int rig_store_get(struct rig_store *s, const char *run_id, struct rig_record **out);

/** @p run as one line of compact JSON (the fields of struct rig_store_run). */
int rig_store_run_to_json(const struct rig_store_run *run, char **out);

/** Each selected run, oldest first, as one line of JSON (docs/store.md
 *  "Export": the run, its steps and measurements, table, instruments and
 *  attachments): the same run gives the same text from either backend. */
int rig_store_export(struct rig_store *s, const struct rig_store_filter *f,
		     int (*fn)(const char *json, void *user), void *user);

/** One measurand's series: a judged measurement of one step, with fixed
 *  limits, over the selected runs in start order. */
struct rig_store_measurand {
	char step[RIG_RECORD_NAME_MAX];
	char name[RIG_MEASUREMENT_NAME_MAX];
	char quantity[24];
	char unit[RIG_UNIT_MAX];
	double low, high;             /* the tolerance */
	size_t n;
	double *values;               /* n values */
	size_t *runs;                 /* n indexes into rig_store_stats.run_ids */
	struct rig_spc_capability capability;
	struct rig_spc_chart chart;
};

struct rig_store_stats {
	size_t n_runs;
	char (*run_ids)[RIG_RUN_ID_MAX];   /* selected runs, in start order */
	struct rig_spc_yield yield;
	struct rig_store_measurand *measurands;
	size_t n_measurands;
};

/** Statistics of the selected runs (docs/store.md "Statistics"). The
 *  caller frees *out with rig_store_stats_free. */
int rig_store_stats(struct rig_store *s, const struct rig_store_filter *f,
		    struct rig_store_stats **out);

void rig_store_stats_free(struct rig_store_stats *st);

/** @p st as JSON (docs/store.md "Statistics"): yield, and per measurand its
 *  capability, chart limits and the runs each Nelson rule flagged; with
 *  @p points, every point (run id and value) too. */
int rig_store_stats_to_json(const struct rig_store_stats *st, int points, char **out);

/** Write a line dashboard of @p st to @p path (one self-contained HTML
 *  page: counts and yield, and per measurand its capability and its
 *  individuals and moving-range charts with the Nelson-rule points marked;
 *  docs/store.md "Dashboard"), atomically. @p title names the selection. */
int rig_store_dashboard_write(const struct rig_store_stats *st, const char *title,
			      const char *path);

/* Station drift (docs/store.md): the window of a station's latest runs the
 * check charts, and what counts as an alarm. */
#define RIG_STORE_DRIFT_RUNS 25

/** Chart each measurand over the latest RIG_STORE_DRIFT_RUNS runs of
 *  @p station and call @p fn with a sentence for each whose latest run
 *  breaks a Nelson rule ("as_left protrusion@250um/5400spm: rule 2 (nine
 *  points on one side of the centre line), runs … to …"). */
int rig_store_drift(struct rig_store *s, const char *station,
		    void (*fn)(const char *alarm, void *user), void *user);

/** Whether the sink of @p s also queues the runs it stores for a line
 *  server (rig_store_put's @p queue); off when opened. */
void rig_store_set_queue(struct rig_store *s, int queue);

/** A sink for rig_run_options.sinks that stores the run's record in @p s
 *  when it is written (RIG_EV_RECORD). A store that fails is logged and
 *  never changes the run's outcome: the record on disk stays the evidence
 *  (`rig results import` catches up). */
struct rig_event_sink rig_store_sink(struct rig_store *s);

#ifdef __cplusplus
}
#endif
#endif
