/* `rig run`: run a suite (a suite file in fixtures/suites/) on the unit in one nest of
 * a station described by a fixture file (a fixture file in fixtures/), or on
 * the units of several nests in parallel (--nests). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/report.h>
#include <rig/rig.h>
#include <rig/run.h>

#include "cli.h"

#define MAX_VARS 16

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: rig run --fixture FILE --suite FILE [--nest N | --nests all|LIST] [OPTIONS]\n\n"
		"Runs a suite on the unit in one nest: identify, readiness, as-found, sweeps,\n"
		"fit, signed table write, read-back, as-left (as the suite says), writes the\n"
		"run record to REPORTS/<serial>/<run-id>/record.json and the table bytes to\n"
		"CALIBRATIONS/<serial>/, and leaves the pen safe (motor off, service mode left).\n\n"
		"  --fixture FILE      the station (docs/files.md), e.g. fixtures/sim.yaml\n"
		"  --suite FILE        the suite, e.g. fixtures/suites/calibrate.yaml\n"
		"  --nest N            nest index (default 0)\n"
		"  --nests all|LIST    the units of several nests in parallel, e.g. all, 0-3,\n"
		"                      0,2: one record and one summary line per unit, each\n"
		"                      nest's outcome its own; the exit code is the worst\n"
		"                      unit's. One process drives a station's DAQ: run all\n"
		"                      the nests of a station from one rig run\n"
		"  --var NAME=VALUE    value for ${NAME} in the fixture (repeatable; the\n"
		"                      environment is consulted next), e.g. SIM_DIR, SIM_PORT\n"
		"  --key FILE          line key (default: the fixture's line_key)\n"
		"  --operator NAME     recorded operator (default: the login name)\n"
		"  --reports DIR       default reports\n"
		"  --calibrations DIR  default calibrations\n"
		"  --report-formats F  reports made after the run: all (default), none, or a\n"
		"                      list such as html,pdf (see rig report --help)\n"
		"  --store URL         the line's PostgreSQL, e.g. postgresql://rig@db:5432/line\n"
		"                      (default: the fixture's store); results always go to\n"
		"                      REPORTS/results.db first (docs/store.md)\n"
		"  --time-scale K      the station runs K times faster than real time (a\n"
		"                      simulated station's --speed): waits are divided by K\n\n"
		"Every attempt leaves a folder with its journal and signed record (see\n"
		"docs/records.md); runs of the station that died are closed first.\n\n"
		"Exit codes: 0 PASS, 1 FAIL, 2 usage or bad file (the line key included),\n"
		"3 station ERROR (retest), 4 INDETERMINATE, 5 interrupted (pen left safe).\n");
}

/* "all", "none" or known module ids separated by commas. */
static int formats_known(const char *list)
{
	char buf[256], *save = NULL;
	if (!strcmp(list, "all") || !strcmp(list, "none"))
		return 1;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!rig_output_module_find(t))
			return 0;
	return 1;
}

struct run_args {
	const char *fixture, *suite;
	const char *nests;           /* --nests, or NULL: one nest */
	const char *vars[MAX_VARS + 1];
	int n_vars;
	const char *store;
	struct rig_run_options opt;
};

static int parse_run_args(int argc, char **argv, struct run_args *a)
{
	static const struct option opts[] = {
		{"fixture", required_argument, 0, 'f'}, {"suite", required_argument, 0, 's'},
		{"nest", required_argument, 0, 'n'},    {"var", required_argument, 0, 'v'},
		{"nests", required_argument, 0, 'N'},
		{"key", required_argument, 0, 'k'},     {"operator", required_argument, 0, 'o'},
		{"reports", required_argument, 0, 'r'}, {"calibrations", required_argument, 0, 'c'},
		{"time-scale", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
		{"report-formats", required_argument, 0, 'R'},
		{"store", required_argument, 0, 'D'},
		{0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': a->fixture = optarg; break;
		case 's': a->suite = optarg; break;
		case 'n': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > 64) {
				fprintf(stderr, "rig run: --nest expects a nest index, got '%s'\n",
					optarg);
				return -1;
			}
			a->opt.nest = (unsigned)v;
			break;
		}
		case 'N': a->nests = optarg; break;
		case 'v':
			if (a->n_vars == MAX_VARS || !strchr(optarg, '=')) {
				fprintf(stderr, "rig run: --var expects NAME=VALUE (at most %d)\n",
					MAX_VARS);
				return -1;
			}
			a->vars[a->n_vars++] = optarg;
			break;
		case 'k': a->opt.key_path = optarg; break;
		case 'D': a->store = optarg; break;
		case 'o': a->opt.operator_name = optarg; break;
		case 'r': a->opt.reports_dir = optarg; break;
		case 'c': a->opt.calibrations_dir = optarg; break;
		case 'R':
			if (!formats_known(optarg)) {
				fprintf(stderr, "rig run: --report-formats: unknown format in '%s' "
						"(see rig report --help)\n", optarg);
				return -1;
			}
			a->opt.report_formats = optarg;
			break;
		case 't': {
			char *end;
			a->opt.time_scale = strtod(optarg, &end);
			if (end == optarg || *end || !(a->opt.time_scale >= 0.01) ||
			    a->opt.time_scale > 1e6) {
				fprintf(stderr, "rig run: --time-scale expects 0.01..1e6, got '%s'\n",
					optarg);
				return -1;
			}
			break;
		}
		case 'h': run_usage(stdout); return 1;
		default: run_usage(stderr); return -1;
		}
	}
	if (a->nests && a->opt.nest) {
		fprintf(stderr, "rig run: give --nest or --nests, not both\n");
		return -1;
	}
	if (!a->fixture || !a->suite || optind != argc) {
		fprintf(stderr, "rig run: --fixture and --suite are required\n\n");
		run_usage(stderr);
		return -1;
	}
	return 0;
}

/* --nests: "all" (every nest of the fixture) or indices and ranges such as
 * "0-3" or "0,2,5", each a nest of the fixture, none twice. */
static int parse_nests(const char *text, const struct rig_fixture *fx, unsigned *nests,
		       size_t *n)
{
	char buf[128], *save = NULL;
	*n = 0;
	if (!strcmp(text, "all")) {
		for (unsigned i = 0; i < fx->n_nests; i++)
			nests[(*n)++] = fx->nests[i].index;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *end;
		unsigned long lo = strtoul(t, &end, 10), hi = lo;
		if (end != t && *end == '-')
			hi = strtoul(end + 1, &end, 10);
		if (end == t || *end || hi < lo || hi >= RIG_FIXTURE_MAX_NESTS)
			goto bad;
		for (unsigned long i = lo; i <= hi; i++) {
			if (!rig_fixture_nest(fx, (unsigned)i)) {
				fprintf(stderr, "rig run: --nests %s: the fixture %s has no nest %lu\n",
					text, fx->path, i);
				return -1;
			}
			for (size_t k = 0; k < *n; k++)
				if (nests[k] == i)
					goto bad;
			nests[(*n)++] = (unsigned)i;
		}
	}
	if (*n)
		return 0;
bad:
	fprintf(stderr, "rig run: --nests expects all, or nest indices and ranges such as "
			"0-3 or 0,2 (each once), got '%s'\n", text);
	return -1;
}

/* Every listed nest at once on one station; the exit code is the worst. */
static int run_nests(struct run_args *a, struct rig_fixture *fx)
{
	unsigned nests[RIG_FIXTURE_MAX_NESTS], units[RIG_FIXTURE_MAX_NESTS];
	struct cli_nests cn = {.command = "run", .holder = "rig run --nests",
			       .store_url = a->store ? a->store : fx->store,
			       .station_id = fx->station_id, .print_paths = 1};
	char holder[160];
	enum rig_outcome worst;
	if (parse_nests(a->nests, fx, nests, &cn.n) < 0)
		return RIG_EXIT_USAGE;
	snprintf(holder, sizeof(holder), "rig run --nests %s", a->nests);
	cn.holder = holder;
	for (size_t i = 0; i < cn.n; i++)
		units[i] = 1;
	int ret = cli_nests_run(&cn, &a->opt, nests, units, &worst);
	if (ret < 0)
		return cli_report_error("run", ret);
	if (cn.bad_input)
		return RIG_EXIT_USAGE;
	return cli_exit_for_outcome(worst);
}

int cmd_run(int argc, char **argv)
{
	struct run_args a = {0};
	struct rig_fixture *fx = NULL;
	struct rig_suite *suite = NULL;
	struct rig_run_summary sum;
	int ret = parse_run_args(argc, argv, &a);

	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	if ((ret = rig_fixture_load(a.fixture, a.vars, &fx)) < 0)
		return cli_report_input_error("fixture", ret);
	if ((ret = rig_suite_load(a.suite, &suite)) < 0) {
		rig_fixture_free(fx);
		return cli_report_input_error("suite", ret);
	}
	rig_install_interrupt_handlers();
	a.opt.fixture = fx;
	a.opt.suite = suite;
	a.opt.progress = cli_print_progress;
	if (a.nests) {
		ret = run_nests(&a, fx);
		rig_suite_free(suite);
		rig_fixture_free(fx);
		return ret;
	}
	struct cli_run_store cs;
	cli_run_store_open(&cs, a.opt.reports_dir, a.store ? a.store : fx->store, fx->station_id);
	a.opt.sinks = cs.store ? &cs.sink : NULL;
	a.opt.n_sinks = cs.store ? 1 : 0;
	a.opt.warnings = cs.warnings;
	ret = rig_run_unit(&a.opt, &sum);
	cli_progress_done();
	cli_run_store_close(&cs);
	if (ret == 0) {
		cli_print_summary(stdout, &sum);
		printf("record: %s\n", sum.record_path);
		if (sum.table_path[0])
			printf("table:  %s\n", sum.table_path);
		if (sum.report_failures[0])
			fprintf(stderr, "rig run: reports not written (the outcome stands): %s\n",
				sum.report_failures);
		ret = sum.bad_input ? RIG_EXIT_USAGE : cli_exit_for_outcome(sum.outcome);
		/* The cause, on one line, where scripts and operators look for it. */
		if (sum.outcome == RIG_OUTCOME_ERROR || sum.bad_input)
			fprintf(stderr, "rig run: %s %s: %s (%s)\n", sum.serial,
				rig_outcome_name(sum.outcome), sum.reason,
				sum.error ? rig_errname(sum.error) : "no code");
	} else {
		ret = cli_report_error("run", ret);
	}
	rig_suite_free(suite);
	rig_fixture_free(fx);
	return ret;
}
