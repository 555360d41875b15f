/* `rig results report --html FILE [FILTER]` (docs/store.md "Dashboard"):
 * the statistics of the selected runs as one self-contained HTML page for
 * the line, written atomically so a browser refreshing it never sees half
 * a page. The page's title names the store and the filter, so that a
 * dashboard saved or mailed still says what it covers. */
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/store.h>

#include "cli.h"

/* Append ", WHAT VALUE" to @p buf when @p value is set. */
static void add_term(char *buf, size_t cap, const char *what, const char *value)
{
	size_t n = strlen(buf);
	if (value && *value && n < cap)
		snprintf(buf + n, cap - n, ", %s %s", what, value);
}

/* "@p title, station X, serial Y, ..., latest N runs": the selection. */
static void describe(char *buf, size_t cap, const struct rig_store_filter *f, const char *title)
{
	char t[40];
	snprintf(buf, cap, "%s", title && *title ? title : "results");
	add_term(buf, cap, "run", f->run_id);
	add_term(buf, cap, "station", f->station);
	add_term(buf, cap, "serial", f->serial);
	add_term(buf, cap, "suite", f->suite);
	if (f->outcome >= 0)
		add_term(buf, cap, "outcome", rig_outcome_name((enum rig_outcome)f->outcome));
	if (f->since_ms > 0 && rig_time_format_utc(f->since_ms, t, sizeof(t)) == 0)
		add_term(buf, cap, "since", t);
	if (f->until_ms > 0 && rig_time_format_utc(f->until_ms, t, sizeof(t)) == 0)
		add_term(buf, cap, "until", t);
	if (f->limit) {
		snprintf(t, sizeof(t), "%zu runs", f->limit);
		add_term(buf, cap, "latest", t);
	}
}

int cli_results_report(struct rig_store *s, const struct rig_store_filter *f,
		       const char *out_path, const char *title)
{
	struct rig_store_stats *st = NULL;
	char full[1024];
	int ret = rig_store_stats(s, f, &st);
	if (ret < 0)
		return cli_report_error("results report", ret);
	describe(full, sizeof(full), f, title);
	ret = rig_store_dashboard_write(st, full, out_path);
	if (ret == 0)
		printf("%s: dashboard of %zu run(s), %zu measurand(s)\n", out_path, st->n_runs,
		       st->n_measurands);
	rig_store_stats_free(st);
	return ret < 0 ? cli_report_error("results report", ret) : RIG_EXIT_OK;
}
