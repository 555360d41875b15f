/* Benchmark: the physics bound of a suite per unit (the capture and settling
 * time the station needs, in simulated seconds, rig overhead excluded), by
 * step, with and without the run-in, beside the expanded uncertainty U
 * achieved per measurand (largest and mean over the points of each step).
 * Compares suites on the same simulated units: e.g. the fixed-length suite
 * kept as tests/bench/calibrate-fixed.yaml against the shipped adaptive one.
 * Usage: bench_physics [--units N] SUITE.yaml... (paths relative to the
 * source tree unless absolute; default: tests/bench/calibrate-fixed.yaml
 * and fixtures/suites/calibrate.yaml). Settling is the fixed waits plus the
 * captures an adaptive step dropped while the signal settled (from its log
 * line). Reports figures; never fails on them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/event.h>
#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>
#include <rig/suite.h>

#include "exec/exec.h"
#include "testsupport.h"

#define MAX_STEPS 16
enum { Q_PROT, Q_RATE, Q_PEN, N_Q };
static const char *const q_name[N_Q] = {"protrusion um", "rate %", "penetration um"};

struct step_fig {
	const char *name;
	double physical_s, capture_s;
	double settle_capture_s;  /* of capture_s, captures dropped while settling (logged) */
	double u_max[N_Q], u_sum[N_Q];
	double sem_max[N_Q];      /* the strokes' part of U: u of the mean (k = 1) */
	unsigned u_n[N_Q];
};

struct tally {
	double u_sensor_um;        /* the displacement sensor's calibration (k = 1) */
	const struct rig_run_summary *sum; /* of the running unit: physical_s is live */
	unsigned step;
	double begin_s;
	struct step_fig st[MAX_STEPS];
};

/* The runner logs the settling time an adaptive step took (docs/calibration.md). */
static void on_log(enum rig_log_level level, const char *domain, const char *msg, void *user)
{
	struct tally *t = user;
	const char *at;
	double v;
	if (level <= RIG_LOG_WARN || getenv("BENCH_LOG"))
		fprintf(stderr, "%s: %s\n", domain, msg);
	if (strcmp(domain, "run") || t->step >= MAX_STEPS)
		return;
	if ((at = strstr(msg, " s of capture, ")) && sscanf(at + 15, "%lf", &v) == 1)
		t->st[t->step].settle_capture_s += v;
	else if ((at = strstr(msg, " s of settling over "))) {
		while (at > msg && at[-1] != ' ')
			at--;
		if (sscanf(at, "%lf", &v) == 1)
			t->st[t->step].settle_capture_s += v;
	}
}

static int on_event(const struct rig_event *ev, void *user)
{
	struct tally *t = user;
	if (ev->type == RIG_EV_STEP_BEGIN && ev->u.step_begin.index < MAX_STEPS) {
		t->step = ev->u.step_begin.index;
		t->begin_s = t->sum->physical_s;
	} else if (ev->type == RIG_EV_STEP_END && t->step < MAX_STEPS) {
		t->st[t->step].physical_s += t->sum->physical_s - t->begin_s;
	} else if (ev->type == RIG_EV_CAPTURE && t->step < MAX_STEPS) {
		t->st[t->step].capture_s += ev->u.capture.seconds;
	} else if (ev->type == RIG_EV_MEASUREMENT && t->step < MAX_STEPS) {
		const struct rig_measurement *m = ev->u.measurement.m;
		int q = !strcmp(m->quantity, "protrusion") ? Q_PROT
			: !strcmp(m->quantity, "rate")     ? Q_RATE
			: !strcmp(m->quantity, "penetration") ? Q_PEN
							      : -1;
		double u = q == Q_RATE ? 100.0 * m->u_expanded / m->value : m->u_expanded;
		/* U = 2 sqrt(sem^2 + other^2): the sensor's u (protrusion) or the
		 * DAQ clock's (rate); penetration's U is all strokes. */
		double other = q == Q_PROT ? t->u_sensor_um : q == Q_RATE ? 100 * RIGI_DAQ_CLOCK_REL_U : 0;
		double sem = sqrt(fmax(0, u * u / 4 - other * other));
		if (q >= 0 && isfinite(u)) {
			struct step_fig *f = &t->st[t->step];
			f->u_max[q] = fmax(f->u_max[q], u);
			f->sem_max[q] = fmax(f->sem_max[q], sem);
			f->u_sum[q] += u;
			f->u_n[q]++;
		}
	}
	return 0;
}

static void print_figures(const struct rig_suite *suite, const struct tally *t, unsigned units,
			  unsigned passed)
{
	double total = 0, run_in = 0, cap = 0;
	printf("%-12s %9s %9s %9s   U (k = 2) per measurand: largest / mean over the step's "
	       "points [largest u of the mean from the strokes, k = 1]\n",
	       "step", "phys s", "capture s", "settle s");
	for (size_t i = 0; i < suite->n_steps && i < MAX_STEPS; i++) {
		const struct step_fig *f = &t->st[i];
		char us[300] = "";
		for (int q = 0; q < N_Q; q++)
			if (f->u_n[q])
				snprintf(us + strlen(us), sizeof(us) - strlen(us),
					 "  %s %.3f / %.3f [%.3f]", q_name[q], f->u_max[q],
					 f->u_sum[q] / f->u_n[q], f->sem_max[q]);
		double settle = f->physical_s - f->capture_s + f->settle_capture_s;
		if (fabs(settle) < 1e-6) /* rounding of the summed seconds */
			settle = 0;
		printf("%-12s %9.2f %9.2f %9.2f %s\n", suite->steps[i].name, f->physical_s / units,
		       (f->physical_s - settle) / units, settle / units, us);
		total += f->physical_s;
		cap += f->physical_s - settle;
		if (suite->steps[i].type == RIG_STEP_RUN_IN)
			run_in += f->physical_s;
	}
	printf("per unit (%u of %u PASS): physics bound %.2f s (capture %.2f s, settling %.2f s); "
	       "without the run-in %.2f s\n\n",
	       passed, units, total / units, cap / units, (total - cap) / units,
	       (total - run_in) / units);
}

static int bench_suite(struct ts_station *st, const char *path, unsigned units)
{
	char full[600], reports[300], reply[256];
	struct rig_suite *suite = NULL;
	struct tally *t = calloc(1, sizeof(*t));
	unsigned passed = 0;

	snprintf(full, sizeof(full), "%s%s%s", path[0] == '/' ? "" : RIG_SOURCE_DIR,
		 path[0] == '/' ? "" : "/", path);
	if (t)
		t->u_sensor_um = st->fx->nests[0].displacement.cal.standard_uncertainty;
	if (!t || rig_suite_load(full, &suite) < 0) {
		fprintf(stderr, "bench_physics: %s\n", t ? rig_last_error() : "out of memory");
		free(t);
		return -1;
	}
	snprintf(reports, sizeof(reports), "%s/out", st->dir);
	for (unsigned u = 0; u < units; u++) {
		struct rig_run_summary sum = {0};
		struct rig_event_sink sink = {"bench", on_event, t, 0};
		struct rig_run_options opt = {.fixture = st->fx, .suite = suite, .simulated = 1,
					      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
					      .calibrations_dir = reports, .sinks = &sink,
					      .n_sinks = 1};
		char line[64];
		t->sum = &sum;
		t->step = MAX_STEPS;
		rig_log_set_callback(on_log, t);
		snprintf(line, sizeof(line), "load 0 MN1-%06u", 900 + u);
		rig_sim_control(st->sim, line, reply, sizeof(reply));
		int64_t t0 = rig_clock_ns();
		if (rig_run_unit(&opt, &sum) < 0) {
			fprintf(stderr, "bench_physics: %s\n", rig_last_error());
			break;
		}
		rig_log_set_callback(NULL, NULL);
		if (getenv("BENCH_LOG"))
			fprintf(stderr, "%s: %.2f s wall, %.2f s physical\n", sum.serial,
				(double)(rig_clock_ns() - t0) * 1e-9, sum.physical_s);
		passed += sum.outcome == RIG_OUTCOME_PASS;
		if (sum.outcome != RIG_OUTCOME_PASS)
			printf("%s: %s: %s\n", sum.serial, rig_outcome_name(sum.outcome), sum.reason);
	}
	printf("suite %s (%s), %u simulated units\n", suite->name, path, units);
	print_figures(suite, t, units, passed);
	rig_suite_free(suite);
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const defaults[] = {"tests/bench/calibrate-fixed.yaml",
					       "fixtures/suites/calibrate.yaml"};
	const char *const *paths = defaults;
	unsigned units = 5;
	int n_paths = 2;
	struct ts_station st;

	if (argc > 2 && !strcmp(argv[1], "--units")) {
		units = (unsigned)strtoul(argv[2], NULL, 10);
		argc -= 2;
		argv += 2;
	}
	if (argc > 1) {
		paths = (const char *const *)argv + 1;
		n_paths = argc - 1;
	}
	if (units == 0)
		units = 1;
	/* Info: the settling times an adaptive step logs. */
	if (!getenv("RIG_DEBUG"))
		rig_log_set_level(RIG_LOG_INFO);
	if (ts_station_start(&st, 1, 9, "fixtures/sim.yaml") < 0)
		return 1;
	for (int i = 0; i < n_paths; i++)
		if (bench_suite(&st, paths[i], units) < 0)
			break;
	ts_station_stop(&st);
	return 0;
}
