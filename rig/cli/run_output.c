/* How runs look on the terminal: a live progress line while a unit is
 * calibrated, one summary line per finished unit, exit codes by outcome. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rig/run.h>

#include "cli.h"

static int live_line;

int cli_exit_for_outcome(int outcome)
{
	switch (outcome) {
	case RIG_OUTCOME_PASS: return RIG_EXIT_OK;
	case RIG_OUTCOME_FAIL: return RIG_EXIT_FAIL;
	case RIG_OUTCOME_INDETERMINATE: return RIG_EXIT_INDETERMINATE;
	case RIG_OUTCOME_ABORTED: return RIG_EXIT_INTERRUPTED;
	default: return RIG_EXIT_STATION;
	}
}

/* "+12.3 um" with the given decimals, or a dash when not measured. */
static void format_value(char *buf, size_t cap, double v, int decimals, const char *unit)
{
	if (isnan(v))
		snprintf(buf, cap, "%s", "-");
	else
		snprintf(buf, cap, "%+.*f %s", decimals, v, unit);
}

void cli_progress_done(void)
{
	if (live_line) {
		fprintf(stderr, "\r\033[K");
		live_line = 0;
	}
}

void cli_print_summary(FILE *out, const struct rig_run_summary *s)
{
	char afd[32], afr[32], ald[32], alr[32];
	cli_progress_done();
	format_value(afd, sizeof(afd), s->as_found_depth_um, 1, "um");
	format_value(afr, sizeof(afr), s->as_found_rate_pct, 2, "%");
	format_value(ald, sizeof(ald), s->as_left_depth_um, 1, "um");
	format_value(alr, sizeof(alr), s->as_left_rate_pct, 2, "%");
	fprintf(out, "%-12s as-found %10s %9s   as-left %9s %8s   %s\n", s->serial, afd, afr, ald,
		alr, rig_outcome_name(s->outcome));
	if (s->outcome != RIG_OUTCOME_PASS)
		fprintf(out, "             reason: %s\n", s->reason);
	if (!s->safe_state_confirmed)
		fprintf(out, "             WARNING: the pen's safe state was NOT confirmed (%s)\n",
			s->safe_state_detail);
	fflush(out);
}

void cli_print_progress(const struct rig_run_progress *p, void *user)
{
	const char *label = user ? user : "";
	static char last_step[64];
	if (isatty(STDERR_FILENO)) {
		char pts[32] = "";
		if (p->n_points)
			snprintf(pts, sizeof(pts), " %u/%u", p->point + 1, p->n_points);
		fprintf(stderr, "\r\033[K%s step %u/%u %-12s%s  %s", label, p->step_index + 1,
			p->n_steps, p->step, pts, p->text);
		live_line = 1;
	} else if (strcmp(last_step, p->step) != 0) {
		fprintf(stderr, "%s step %u/%u %s\n", label, p->step_index + 1, p->n_steps, p->step);
	}
	snprintf(last_step, sizeof(last_step), "%s", p->step);
	fflush(stderr);
}
