/* End-to-end calibration against the simulated station, judged from the
 * simulator's ground truth (a side channel the rig never uses): 20 seeded
 * units of the default model must, when they PASS, be within 20 µm at every
 * user depth and 1 % at every speed level; units with failure modes must
 * never PASS; a station fault mid-run must end as ERROR with the pen safe. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "testsupport.h"

struct world {
	struct ts_station st;
	const char *fault_line;  /* injected when the run reaches fault_step */
	const char *fault_step;
	unsigned fault_point;
	int fault_done;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	assert_int_equal(ts_station_start(&w->st, 1, 2026, "fixtures/sim.yaml"), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	ts_station_stop(&w->st);
	free(w);
	return 0;
}

static void inject_on_progress(const struct rig_run_progress *p, void *user)
{
	struct world *w = user;
	char reply[256];
	if (w->fault_line && !w->fault_done && !strcmp(p->step, w->fault_step) &&
	    p->point >= w->fault_point) {
		w->fault_done = 1;
		assert_int_equal(rig_sim_control(w->st.sim, w->fault_line, reply, sizeof(reply)), 0);
	}
}

static void run_unit(struct world *w, const char *serial, const char *failure,
		     struct rig_run_summary *sum)
{
	char line[128], reply[256], reports[300], cals[300];
	struct rig_run_options opt = {.fixture = w->st.fx, .suite = w->st.suite, .simulated = 1,
				      .seed = 2026, .time_scale = 1000,
				      .progress = inject_on_progress, .progress_user = w};
	struct rig_record *rec = NULL;
	snprintf(line, sizeof(line), "load 0 %s%s%s", serial, failure ? " " : "",
		 failure ? failure : "");
	assert_int_equal(rig_sim_control(w->st.sim, line, reply, sizeof(reply)), 0);
	snprintf(reports, sizeof(reports), "%s/reports", w->st.dir);
	snprintf(cals, sizeof(cals), "%s/calibrations", w->st.dir);
	opt.reports_dir = reports;
	opt.calibrations_dir = cals;
	assert_int_equal(rig_run_unit(&opt, sum), 0);
	/* The record on disk says what the summary says; a written table is kept
	 * byte for byte next to its readable JSON. */
	assert_int_equal(rig_record_load(sum->record_path, &rec), 0);
	assert_int_equal(rec->outcome, sum->outcome);
	if (sum->table_path[0]) {
		char json[600];
		struct stat st;
		assert_true(rec->has_table);
		assert_int_equal(stat(sum->table_path, &st), 0);
		assert_int_equal((size_t)st.st_size, rec->table.len);
		snprintf(json, sizeof(json), "%.*s.json", (int)(strlen(sum->table_path) - 4),
			 sum->table_path);
		assert_int_equal(stat(json, &st), 0);
	}
	rig_record_free(rec);
}

static double truth_value(struct world *w, const char *query, const char *key)
{
	char reply[512];
	const char *p;
	assert_int_equal(rig_sim_control(w->st.sim, query, reply, sizeof(reply)), 0);
	p = strstr(reply, key);
	assert_non_null(p);
	return strtod(p + strlen(key), NULL);
}

/* Every user depth at the middle speed and every speed level at the middle
 * depth, as the pen's new table maps them, against ground truth. */
static void check_truth(struct world *w, const char *serial, double *worst_um,
			double *worst_pct)
{
	static const unsigned levels[] = {3000, 4200, 5400, 6600, 7800, 9000};
	char q[96];
	for (unsigned d = 250; d <= 2500; d += 250) {
		snprintf(q, sizeof(q), "truth 0 user %u 5400", d);
		double err = truth_value(w, q, "protrusion_um=") - d;
		*worst_um = fmax(*worst_um, fabs(err));
		if (fabs(err) > 20.0)
			fail_msg("%s: true protrusion at %u um is off by %+.1f um", serial, d, err);
	}
	for (size_t i = 0; i < 6; i++) {
		snprintf(q, sizeof(q), "truth 0 user 1250 %u", levels[i]);
		double pct = (truth_value(w, q, "rate_hz=") * 60.0 - levels[i]) / levels[i] * 100;
		*worst_pct = fmax(*worst_pct, fabs(pct));
		if (fabs(pct) > 1.0)
			fail_msg("%s: true rate at %u spm is off by %+.2f %%", serial, levels[i], pct);
	}
}

/* The rig's as-left effective penetration at 1500 um against truth (the
 * fixture states the phantom's tent residual). Returns |error| in um. */
static double penetration_error(struct world *w, const char *record_path)
{
	struct rig_record *rec = NULL;
	double measured = NAN;
	assert_int_equal(rig_record_load(record_path, &rec), 0);
	for (size_t i = 0; i < rec->n_steps; i++)
		for (size_t k = 0; k < rec->steps[i]->n_measurements; k++)
			if (!strcmp(rec->steps[i]->type, "as_left") &&
			    !strcmp(rec->steps[i]->measurements[k].name, "penetration@1500um/5400spm"))
				measured = rec->steps[i]->measurements[k].value;
	rig_record_free(rec);
	assert_true(isfinite(measured));
	return fabs(measured - truth_value(w, "truth 0 user 1500 5400", "penetration_um="));
}

static void twenty_units_meet_truth(void **state)
{
	struct world *w = *state;
	double worst_um = 0, worst_pct = 0, worst_pen = 0;
	unsigned passed = 0;
	for (unsigned u = 0; u < 20; u++) {
		struct rig_run_summary sum;
		char serial[32];
		snprintf(serial, sizeof(serial), "MN1-%06u", 500 + u);
		run_unit(w, serial, NULL, &sum);
		printf("  %s %-5s as-found %+7.1f um %+6.2f %%  as-left %+5.1f um %+5.2f %%\n",
		       serial, rig_outcome_name(sum.outcome), sum.as_found_depth_um,
		       sum.as_found_rate_pct, sum.as_left_depth_um, sum.as_left_rate_pct);
		assert_true(sum.safe_state_confirmed);
		if (sum.outcome != RIG_OUTCOME_PASS) {
			printf("    reason: %s\n", sum.reason);
			continue;
		}
		passed++;
		check_truth(w, serial, &worst_um, &worst_pct);
		worst_pen = fmax(worst_pen, penetration_error(w, sum.record_path));
	}
	printf("  %u of 20 PASS; worst true error of a passed unit: %.1f um, %.2f %%; "
	       "effective penetration at 1500 um within %.1f um of truth\n",
	       passed, worst_um, worst_pct, worst_pen);
	assert_true(passed >= 18);
	assert_true(worst_pen < 10.0);
}

static void failure_modes_never_pass(void **state)
{
	static const struct {
		const char *mode, *named;
	} cases[] = {
		{"bent-needle", "bent"},
		{"stall", "STALL"},
		{"detent-slip", "detent"},
		{"cartridge-not-seated", "cartridge"},
		{"skipped-strokes", "skips strokes"},
	};
	struct world *w = *state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig_run_summary sum;
		char serial[32];
		snprintf(serial, sizeof(serial), "MN1-%06u", 700 + (unsigned)i);
		run_unit(w, serial, cases[i].mode, &sum);
		printf("  %-22s %s: %s\n", cases[i].mode, rig_outcome_name(sum.outcome), sum.reason);
		/* Unit faults: FAIL, never ERROR (that would send a bad pen to a retest). */
		assert_int_equal(sum.outcome, RIG_OUTCOME_FAIL);
		assert_non_null(strstr(sum.reason, cases[i].named));
		assert_true(sum.safe_state_confirmed);
	}
}

/* The pen as the next operator would find it: motor off, user mode. */
static void assert_pen_safe(struct world *w)
{
	struct rig_dut *dut = NULL;
	struct rig_dut_status st;
	assert_int_equal(rig_dut_open(rig_sim_dut_uri(w->st.sim, 0), &dut), 0);
	assert_int_equal(rig_dut_status(dut, &st), 0);
	assert_int_equal(st.motor_on, 0);
	assert_int_equal(st.mode, 0);
	rig_dut_close(dut);
}

static void station_faults_mid_run_are_errors(void **state)
{
	static const struct {
		const char *line, *step;
		unsigned point;
	} faults[] = {
		{"fault daq-overrun", "depth_sweep", 5},
		{"fault sensor-dead 0 disp", "as_found", 3},
		{"fault modbus-drop 2", "rate_sweep", 2},
		{"fault dut-cut 0 0", "depth_sweep", 8},
		{"fault sensor-dead 0 force", "as_left", 4},
		{"fault sensor-dead 0 disp", "depth_sweep", 6},
		{"fault sensor-dead 0 disp", "rate_sweep", 3},
	};
	struct world *w = *state;
	char reply[256];
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++) {
		struct rig_run_summary sum;
		char serial[32];
		snprintf(serial, sizeof(serial), "MN1-%06u", 800 + (unsigned)i);
		w->fault_line = faults[i].line;
		w->fault_step = faults[i].step;
		w->fault_point = faults[i].point;
		w->fault_done = 0;
		run_unit(w, serial, NULL, &sum);
		printf("  %-26s %s: %s\n", faults[i].line, rig_outcome_name(sum.outcome), sum.reason);
		assert_true(w->fault_done);
		assert_int_equal(sum.outcome, RIG_OUTCOME_ERROR);
		assert_true(sum.safe_state_confirmed);
		assert_int_equal(rig_sim_control(w->st.sim, "fault clear", reply, sizeof(reply)), 0);
		assert_pen_safe(w);
	}
	w->fault_line = NULL;
}

static void interrupt_on_progress(const struct rig_run_progress *p, void *user)
{
	(void)user;
	if (!strcmp(p->step, "depth_sweep") && p->point == 4)
		rig_request_interrupt();
}

/* Ctrl-C mid-run: ABORTED, the pen confirmed safe and found safe. Last test:
 * the interrupt flag of a process cannot be taken back. */
static void interrupt_mid_run_is_aborted_and_safe(void **state)
{
	struct world *w = *state;
	struct rig_run_summary sum;
	char reply[256], out[300];
	struct rig_run_options opt = {.fixture = w->st.fx, .suite = w->st.suite, .simulated = 1,
				      .time_scale = 1000, .reports_dir = out,
				      .calibrations_dir = out, .progress = interrupt_on_progress};
	snprintf(out, sizeof(out), "%s/out", w->st.dir);
	assert_int_equal(rig_sim_control(w->st.sim, "load 0 MN1-000900", reply, sizeof(reply)), 0);
	assert_int_equal(rig_run_unit(&opt, &sum), 0);
	printf("  Ctrl-C in the depth sweep: %s: %s; safe: %s\n", rig_outcome_name(sum.outcome),
	       sum.reason, sum.safe_state_detail);
	assert_int_equal(sum.outcome, RIG_OUTCOME_ABORTED);
	assert_true(sum.safe_state_confirmed);
	assert_pen_safe(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(twenty_units_meet_truth),
		cmocka_unit_test(failure_modes_never_pass),
		cmocka_unit_test(station_faults_mid_run_are_errors),
		cmocka_unit_test(interrupt_mid_run_is_aborted_and_safe),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
