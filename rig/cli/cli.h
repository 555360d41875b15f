/* The `rig` command: shared declarations of its subcommands. Subcommands use
 * only the public API (<rig/...>). Exit codes are those of enum rig_exit. */
#ifndef RIG_CLI_H
#define RIG_CLI_H

#include <stdio.h>

/** Exit codes of `rig` (documented in the README). */
enum rig_exit {
	RIG_EXIT_OK = 0,          /* success; for a run: every unit PASS */
	RIG_EXIT_FAIL = 1,        /* a unit failed (FAIL) */
	RIG_EXIT_USAGE = 2,       /* bad command line or input file */
	RIG_EXIT_STATION = 3,     /* station or link error (ERROR): retest */
	RIG_EXIT_INDETERMINATE = 4, /* a verdict inside the guard band */
	RIG_EXIT_INTERRUPTED = 5, /* Ctrl-C or operator abort; hardware made safe */
};

struct rig_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
};

/** Print "rig: <what>: <rig_last_error()>" and a hint to stderr; returns the
 *  exit code matching @p err. */
int cli_report_error(const char *what, int err);
/** The same for an input file the user named (fixture, suite): one that is
 *  missing or cannot be read is bad input (exit 2), not a station fault. */
int cli_report_input_error(const char *what, int err);

/** Install the stderr log writer used by every subcommand. */
void cli_setup_logging(void);

int cmd_sim(int argc, char **argv);
int cmd_dut(int argc, char **argv);
int cmd_dut_run(int argc, char **argv);
int cmd_dut_safe(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_sensors(int argc, char **argv);
int cmd_daq(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_analyze(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_records(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_demo(int argc, char **argv);

struct rig_run_summary;
struct rig_run_progress;

/** Exit code for a run's outcome (enum rig_outcome). */
int cli_exit_for_outcome(int outcome);
/** Print one summary line of a finished run. */
void cli_print_summary(FILE *out, const struct rig_run_summary *s);
/** Progress callback for rig_run_unit: a live line on a terminal, step
 *  lines otherwise. @p user is a const char * label (e.g. "[1/3]") or NULL. */
void cli_print_progress(const struct rig_run_progress *p, void *user);
/** Finish a live progress line before printing something else. */
void cli_progress_done(void);

/* The results store around one run (run_store.c). */
#include <rig/event.h>
struct rig_store;
struct cli_run_store {
	struct rig_store *store;      /* NULL: not opened (warned) */
	const char *line;             /* the line server, or NULL */
	char path[1024];              /* REPORTS/results.db */
	struct rig_event_sink sink;   /* add to rig_run_options.sinks when store */
	char warnings[1024];          /* drift alarms, for rig_run_options.warnings */
};
/** Open the station's store under @p reports and check @p station's drift;
 *  never fails a run (a store that cannot be opened is warned of). */
int cli_run_store_open(struct cli_run_store *cs, const char *reports, const char *line,
		       const char *station);
/** Close it and push its outbox to the line server in the background. */
void cli_run_store_close(struct cli_run_store *cs);

/* Several nests of one station at once (run_nests.c). */
#include <rig/station.h>
struct cli_nests;
struct cli_nest {
	struct cli_nests *all;
	char label[96];               /* "nest 2", or the demo's "[3/8] nest 2 MN1-..." */
	unsigned last_step;
	int load_failed;              /* load_unit refused the unit */
	struct cli_run_store cs;
};
struct cli_nests {
	const char *command;          /* "run", "demo": for messages */
	const char *holder;           /* for a refused second process */
	const char *store_url;        /* the line server, or NULL */
	const char *station_id;
	int print_paths;              /* a record: line per unit, the cause of an ERROR */
	/* Before unit @p k of @p job: put the unit in (the demo); non-zero skips it
	 * and ends the nest's work. May set n->label. NULL: the unit is there. */
	int (*load_unit)(struct cli_nest *n, struct rig_nest_job *job, unsigned k);
	void *user;
	size_t n;                     /* nests */
	struct cli_nest nest[RIG_FIXTURE_MAX_NESTS];
	unsigned tally[RIG_OUTCOME_ABORTED + 1]; /* units by outcome */
	int bad_input;                /* a unit ended on bad input */
	unsigned long captures, requests; /* the station's DAQ: shared when fewer */
};
/** Run units[i] units on nests[i] (i < cn->n) in parallel, each from
 *  @p base; *worst receives the worst outcome. 0 or the station's error. */
int cli_nests_run(struct cli_nests *cn, const struct rig_run_options *base,
		  const unsigned *nests, const unsigned *units, enum rig_outcome *worst);

int cmd_results(int argc, char **argv);
struct rig_store_filter; int cli_results_report(struct rig_store *s, const struct rig_store_filter *f, const char *out_path, const char *title); /* cmd_results_report.c */

#endif
