/* `rig results`: the results store for process engineers and QA (docs/store.md):
 * list runs, show one, export them, statistics (yield, capability, control
 * charts with Nelson rules), import record folders, and push a station's
 * outbox to the line's PostgreSQL. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/store.h>

#include "cli.h"

static void results_usage(FILE *out)
{
	fprintf(out,
		"usage: rig results list   [FILTER] [--json | --csv]\n"
		"       rig results show   RUN_ID [--json]\n"
		"       rig results export [FILTER]\n"
		"       rig results stats  [FILTER] [--json] [--points]\n"
		"       rig results report --html FILE [FILTER]\n"
		"       rig results import DIR... [--line URL]\n"
		"       rig results push   --line URL [--quiet]\n\n"
		"Every command reads --store LOCATION: the station's SQLite file (default\n"
		"reports/results.db) or a PostgreSQL address (postgresql://USER@HOST:PORT/DB;\n"
		"the password comes from PGPASSFILE or ~/.pgpass, never the command line).\n\n"
		"FILTER: --serial S --station ID --suite NAME --outcome PASS|FAIL|...\n"
		"        --since DATE --until DATE (YYYY-MM-DD, UTC) --limit N (latest N runs)\n\n"
		"list    the runs, oldest first: a table, or JSON lines / CSV\n"
		"show    one run's steps and measurements as stored (--json: its export line)\n"
		"export  every selected run as one JSON line: its record, as stored\n"
		"stats   counts per outcome, first-pass yield, retest rate, and per judged\n"
		"        measurand mean, sigma, Cp/Cpk, Pp/Ppk with 95 %% intervals and an\n"
		"        individuals chart with Nelson rules 1-4 (which runs broke which rule)\n"
		"report  the same as one self-contained HTML page (--html FILE) with the\n"
		"        individuals and moving-range chart of every measurand\n"
		"import  store the records under each DIR (a reports folder, a serial's or a\n"
		"        run's); with --line, queue them for the line server and push\n"
		"push    send the runs waiting in the station's outbox to the line server\n\n"
		"Exit codes: 0 done, 1 some runs not imported or pushed, 2 usage, 3 store\n"
		"unreachable or unreadable.\n");
}

struct results_args {
	const char *store;
	const char *line;
	const char *html;
	struct rig_store_filter filter;
	int json, csv, points, quiet;
};

static int parse_date(const char *text, int64_t *ms)
{
	char buf[40];
	snprintf(buf, sizeof(buf), "%sT00:00:00.000Z", text);
	return rig_time_parse_utc(buf, ms);
}

static int parse_option(int c, struct results_args *a)
{
	char *end;
	switch (c) {
	case 'S': a->store = optarg; return 0;
	case 'L': a->line = optarg; return 0;
	case 'H': a->html = optarg; return 0;
	case 's': a->filter.serial = optarg; return 0;
	case 't': a->filter.station = optarg; return 0;
	case 'u': a->filter.suite = optarg; return 0;
	case 'j': a->json = 1; return 0;
	case 'c': a->csv = 1; return 0;
	case 'p': a->points = 1; return 0;
	case 'q': a->quiet = 1; return 0;
	case 'o':
		if ((a->filter.outcome = rig_outcome_parse(optarg)) < 0)
			return fprintf(stderr, "rig results: --outcome PASS, FAIL, INDETERMINATE, "
				       "ERROR or ABORTED, not '%s'\n", optarg), -1;
		return 0;
	case 'b':
	case 'e':
		if (parse_date(optarg, c == 'b' ? &a->filter.since_ms : &a->filter.until_ms) < 0)
			return fprintf(stderr, "rig results: --%s expects YYYY-MM-DD, not '%s'\n",
				       c == 'b' ? "since" : "until", optarg), -1;
		return 0;
	case 'n':
		a->filter.limit = strtoul(optarg, &end, 10);
		if (end == optarg || *end || a->filter.limit == 0)
			return fprintf(stderr, "rig results: --limit expects N >= 1\n"), -1;
		return 0;
	default:
		return -1;
	}
}

static int parse_args(int argc, char **argv, struct results_args *a)
{
	static const struct option opts[] = {
		{"store", required_argument, 0, 'S'},  {"line", required_argument, 0, 'L'},
		{"serial", required_argument, 0, 's'}, {"station", required_argument, 0, 't'},
		{"suite", required_argument, 0, 'u'},  {"outcome", required_argument, 0, 'o'},
		{"since", required_argument, 0, 'b'},  {"until", required_argument, 0, 'e'},
		{"limit", required_argument, 0, 'n'},  {"json", no_argument, 0, 'j'},
		{"csv", no_argument, 0, 'c'},          {"points", no_argument, 0, 'p'},
		{"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
		{"html", required_argument, 0, 'H'},
		{0, 0, 0, 0}};
	int c;
	memset(a, 0, sizeof(*a));
	rig_store_filter_init(&a->filter);
	a->store = "reports/" RIG_STORE_DEFAULT_NAME;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			results_usage(stdout);
			return 1;
		}
		if (parse_option(c, a) < 0) {
			results_usage(stderr);
			return -1;
		}
	}
	return 0;
}

static int open_store(const char *location, struct rig_store **s)
{
	int ret = rig_store_open(location, s);
	if (ret < 0)
		return cli_report_error("results store", ret);
	return 0;
}

/* ---- list ---- */

static void csv_field(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int print_run(const struct rig_store_run *r, void *user)
{
	const struct results_args *a = user;
	char started[32] = "";
	rig_time_format_utc(r->started_ms, started, sizeof(started));
	if (a->json) {
		char *line = NULL;
		if (rig_store_run_to_json(r, &line) < 0)
			return -1;
		puts(line);
		free(line);
	} else if (a->csv) {
		const char *f[] = {r->run_id, r->serial, r->station, started, rig_outcome_name(r->outcome),
				   r->suite, r->commit, r->reason, r->record_path};
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
			if (i)
				putchar(',');
			csv_field(f[i]);
		}
		printf(",%u\n", r->nest);
	} else {
		printf("%-28s %-12s %-10s %4u  %-24s %-13s %s\n", r->run_id, r->serial, r->station,
		       r->nest, started, rig_outcome_name(r->outcome), r->suite);
	}
	return 0;
}

static int results_list(struct rig_store *s, const struct results_args *a)
{
	if (a->csv)
		puts("run_id,serial,station,started,outcome,suite,commit,reason,record,nest");
	else if (!a->json)
		printf("%-28s %-12s %-10s %4s  %-24s %-13s %s\n", "RUN", "SERIAL", "STATION", "NEST",
		       "STARTED (UTC)", "OUTCOME", "SUITE");
	int ret = rig_store_list(s, &a->filter, print_run, (void *)a);
	return ret < 0 ? cli_report_error("results list", ret) : RIG_EXIT_OK;
}

/* ---- show, export ---- */

static int print_line(const char *json, void *user)
{
	(void)user;
	return puts(json) < 0 ? -1 : 0;
}

static void show_step(const struct rig_record_step *st)
{
	printf("\n%s (%s): %s%s%s\n", st->name, st->type, rig_outcome_name(st->outcome),
	       st->reason[0] ? " - " : "", st->reason);
	for (size_t i = 0; i < st->n_measurements; i++) {
		const struct rig_measurement *m = &st->measurements[i];
		printf("  %-32s %12.4f %-4s  U %8.4f  %-13s", m->name, m->value, m->unit,
		       m->u_expanded, m->judged ? rig_outcome_name(m->outcome) : "(reported)");
		if (m->judged)
			printf(" tolerance %g..%g", m->limit.low, m->limit.high);
		putchar('\n');
	}
}

static int results_show(struct rig_store *s, const char *run_id, const struct results_args *a)
{
	struct rig_record *rec = NULL;
	struct rig_store_filter f;
	int ret;
	if (a->json) {
		rig_store_filter_init(&f);
		f.run_id = run_id;
		if ((ret = rig_store_get(s, run_id, &rec)) == 0)
			ret = rig_store_export(s, &f, print_line, NULL);
		rig_record_free(rec);
		return ret < 0 ? cli_report_error("results show", ret) : RIG_EXIT_OK;
	}
	if ((ret = rig_store_get(s, run_id, &rec)) < 0)
		return cli_report_error("results show", ret);
	char started[32] = "";
	rig_time_format_utc(rec->started_ms, started, sizeof(started));
	printf("run %s  %s %s  station %s nest %u  %s\n", rec->run_id, rec->unit.serial,
	       rec->unit.model, rec->station.id, rec->station.nest, started);
	printf("suite %s %s  operator %s  outcome %s%s%s\n", rec->suite_name, rec->suite_version,
	       rec->operator_name, rig_outcome_name(rec->outcome), rec->reason[0] ? " - " : "",
	       rec->reason);
	for (size_t i = 0; i < rec->n_steps; i++)
		show_step(rec->steps[i]);
	rig_record_free(rec);
	return RIG_EXIT_OK;
}

/* ---- stats ---- */

static void print_measurand(const struct rig_store_stats *st, const struct rig_store_measurand *m)
{
	const struct rig_spc_capability *c = &m->capability;
	printf("%-10s %-30s n %6zu  mean %10.4g %-3s sd %8.3g  Cpk %6.2f [%5.2f, %5.2f]  "
	       "Ppk %6.2f",
	       m->step, m->name, m->n, c->mean, m->unit, c->sd, c->cpk, c->cpk_low, c->cpk_high,
	       c->ppk);
	for (int b = 0; b < 4; b++)
		if (m->chart.broken[b])
			printf("  rule%d x%zu", b + 1, m->chart.broken[b]);
	putchar('\n');
	for (int b = 0; b < 4; b++) {
		size_t shown = 0;
		for (size_t i = 0; i < m->n && m->chart.broken[b] && shown < 3; i++)
			if (m->chart.rules[i] & (1u << b)) {
				printf("%s%s", shown ? ", " : "           rule flagged at ",
				       st->run_ids[m->runs[i]]);
				shown++;
			}
		if (shown)
			printf("%s (%s)\n", m->chart.broken[b] > shown ? ", ..." : "",
			       rig_spc_rule_text((enum rig_spc_rule)(1u << b)));
	}
}

static int results_stats(struct rig_store *s, const struct results_args *a)
{
	struct rig_store_stats *st = NULL;
	int ret = rig_store_stats(s, &a->filter, &st);
	if (ret < 0)
		return cli_report_error("results stats", ret);
	if (a->json) {
		char *text = NULL;
		if ((ret = rig_store_stats_to_json(st, a->points, &text)) == 0)
			puts(text);
		free(text);
	} else {
		const struct rig_spc_yield *y = &st->yield;
		printf("runs %zu: PASS %zu  FAIL %zu  INDETERMINATE %zu  ERROR %zu  ABORTED %zu\n",
		       y->runs, y->per_outcome[0], y->per_outcome[1], y->per_outcome[2],
		       y->per_outcome[3], y->per_outcome[4]);
		printf("units %zu (%zu judged): first-pass yield %.2f %% [%.2f, %.2f]  final "
		       "yield %.2f %%  retested %.2f %%\n\n",
		       y->units, y->units_judged, 100 * y->fpy, 100 * y->fpy_low, 100 * y->fpy_high,
		       100 * y->final_yield, 100 * y->retest_rate);
		for (size_t i = 0; i < st->n_measurands; i++)
			print_measurand(st, &st->measurands[i]);
	}
	rig_store_stats_free(st);
	return ret < 0 ? cli_report_error("results stats", ret) : RIG_EXIT_OK;
}

/* ---- import, push ---- */

static void import_error(const char *path, const char *why, void *user)
{
	(void)user;
	fprintf(stderr, "rig results import: %s: %s\n", path, why);
}

static int push(struct rig_store *s, const struct results_args *a)
{
	struct rig_store_push_result res;
	int ret = rig_store_push(s, a->line, 1, &res);
	if (!a->quiet || ret < 0)
		printf("%zu run(s) pushed to the line server, %zu waiting in the outbox\n",
		       res.pushed, res.waiting);
	if (ret < 0) {
		fprintf(stderr, "rig results push: %s (the runs wait in the outbox; nothing is "
			"lost)\n", rig_last_error());
		return RIG_EXIT_FAIL;
	}
	return RIG_EXIT_OK;
}

static int results_import(struct rig_store *s, int argc, char **argv, const struct results_args *a)
{
	struct rig_store_import_result res;
	size_t imported = 0, failed = 0;
	for (int i = 0; i < argc; i++) {
		int ret = rig_store_import(s, argv[i], a->line != NULL, import_error, NULL, &res);
		if (ret < 0)
			return cli_report_error("results import", ret);
		imported += res.imported;
		failed += res.failed;
	}
	printf("%zu run(s) stored in %s, %zu record(s) unreadable\n", imported, a->store, failed);
	if (a->line && push(s, a) != RIG_EXIT_OK)
		return RIG_EXIT_FAIL;
	return failed ? RIG_EXIT_FAIL : RIG_EXIT_OK;
}

static int dispatch(struct rig_store *s, const char *cmd, int argc, char **argv,
		    const struct results_args *a)
{
	if (!strcmp(cmd, "list"))
		return results_list(s, a);
	if (!strcmp(cmd, "stats"))
		return results_stats(s, a);
	if (!strcmp(cmd, "export")) {
		int ret = rig_store_export(s, &a->filter, print_line, NULL);
		return ret < 0 ? cli_report_error("results export", ret) : RIG_EXIT_OK;
	}
	if (!strcmp(cmd, "show"))
		return results_show(s, argv[0], a);
	if (!strcmp(cmd, "import"))
		return results_import(s, argc, argv, a);
	if (!strcmp(cmd, "report"))
		return cli_results_report(s, &a->filter, a->html, a->store);
	return push(s, a);
}

static int operands_ok(const char *cmd, int n, const struct results_args *a)
{
	static const char *const known[] = {"list", "show", "export", "stats", "import", "push",
					    "report"};
	size_t i = 0;
	while (i < 7 && strcmp(cmd, known[i]))
		i++;
	if (i == 7)
		return fprintf(stderr, "rig results: unknown command '%s'\n", cmd), 0;
	if (!strcmp(cmd, "show") && n != 1)
		return fprintf(stderr, "rig results show: one RUN_ID\n"), 0;
	if (!strcmp(cmd, "import") && n < 1)
		return fprintf(stderr, "rig results import: at least one folder\n"), 0;
	if (!strcmp(cmd, "push") && !a->line)
		return fprintf(stderr, "rig results push: --line URL is required\n"), 0;
	if (!strcmp(cmd, "report") && !a->html)
		return fprintf(stderr, "rig results report: --html FILE is required\n"), 0;
	if (strcmp(cmd, "show") && strcmp(cmd, "import") && n != 0)
		return fprintf(stderr, "rig results %s: no operands\n", cmd), 0;
	return 1;
}

int cmd_results(int argc, char **argv)
{
	struct results_args a;
	struct rig_store *s = NULL;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		results_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? RIG_EXIT_USAGE : RIG_EXIT_OK;
	}
	const char *cmd = argv[1];
	int ret = parse_args(argc - 1, argv + 1, &a);
	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	int n = argc - 1 - optind;
	char **operands = argv + 1 + optind;
	if (!operands_ok(cmd, n, &a)) {
		results_usage(stderr);
		return RIG_EXIT_USAGE;
	}
	if ((ret = open_store(a.store, &s)) != 0)
		return ret;
	ret = dispatch(s, cmd, n, operands, &a);
	rig_store_close(s);
	return ret;
}
