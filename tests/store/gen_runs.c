/* Generated runs for the results store's tests and benchmark: a line of
 * STATIONS stations testing pens, some retested, outcomes drawn with fixed
 * odds, and per run an as-left step of judged depth and rate measurements
 * (with their limits) shaped like the calibration suite's. One station can
 * be given a slow drift on one measurand (to make Nelson rules fire). Runs
 * are records built with the public API and stored with rig_store_put, so
 * they take the same path as a station's runs.
 * Usage: gen_runs --store LOCATION --runs N [--stations S] [--seed X]
 *                 [--measurements M] [--reported R] [--drift STATION]
 *                 [--drift-step X] [--time]
 * M judged measurements in as_left and R reported-only ones in a sweep
 * step; the calibration suite's runs have about 62 and 55.
 * --time prints "stored N runs in T s (R runs/s)". */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/store.h>

struct gen {
	unsigned long runs, stations, measurements, reported;
	unsigned long seed;
	long drift_station;
	double drift_step;       /* added to the drifting measurand per run of its station */
	const char *store;
	int time;
};

static void add_measurement(struct rig_record_step *st, struct rig_pcg32 *rng, unsigned i,
			    double drift)
{
	static const double depths[] = {250, 500, 750, 1000, 1500, 2000};
	struct rig_measurement m;
	struct rig_tolerance tol = {.abs = 50, .rel = 0.05, .guard = RIG_GUARD_GUARDED,
				    .guard_factor = 1};
	struct rig_limit lim;
	char name[64];
	double sp = depths[i % 6];
	int rate = i % 3 == 2;
	if (rate) {
		sp = 3000 + 600.0 * (i % 5);
		snprintf(name, sizeof(name), "rate@%.0fspm/%u", sp, i);
		rig_measurement_init(&m, name, "rate", "spm", sp);
	} else {
		snprintf(name, sizeof(name), "protrusion@%.0fum/%u", sp, i);
		rig_measurement_init(&m, name, "protrusion", "um", sp);
	}
	m.value = sp + (rate ? 20 : 8) * rig_pcg32_normal(rng) + (i == 0 ? drift : 0);
	m.u_expanded = rate ? 6 : 1.5;
	m.n = 48;
	rig_limit_from_tolerance(&tol, sp, m.unit, &lim);
	rig_measurement_judge(&m, &lim);
	rig_record_step_add(st, &m);
}

/* A sweep step of reported-only measurements (no limit), as the
 * calibration suite's depth and rate sweeps. */
static int add_sweep(struct rig_record *rec, struct rig_pcg32 *rng, unsigned long n)
{
	struct rig_record_step *st;
	int ret = rig_record_step_begin(rec, "depth_sweep", "depth_sweep", &st);
	for (unsigned long i = 0; i < n && ret == 0; i++) {
		struct rig_measurement m;
		char name[64];
		double sp = 200 + 40.0 * (double)i;
		snprintf(name, sizeof(name), "protrusion@%.0fum", sp);
		rig_measurement_init(&m, name, "protrusion", "um", sp);
		m.value = sp * 1.1 + 5 * rig_pcg32_normal(rng);
		m.u_expanded = 1.5;
		m.n = 48;
		rig_measurement_judge(&m, NULL);
		ret = rig_record_step_add(st, &m);
	}
	if (ret == 0)
		rig_record_step_end(st, RIG_OUTCOME_PASS, NULL);
	return ret;
}

static struct rig_record *make_run(const struct gen *g, struct rig_pcg32 *rng, unsigned long i,
				   int64_t t0)
{
	struct rig_record *rec;
	struct rig_record_step *st;
	unsigned long station = i % g->stations;
	/* About one unit in ten comes back for a second run. */
	unsigned long unit = rig_pcg32_uniform(rng) < 0.1 && i > 0 ? i - 1 : i;
	double u = rig_pcg32_uniform(rng);
	double drift = (long)station == g->drift_station ? g->drift_step * (double)(i / g->stations)
							      : 0;
	if (rig_record_new(&rec) < 0)
		return NULL;
	rec->started_ms = t0 + (int64_t)i * 1000;
	rec->ended_ms = rec->started_ms + 900;
	snprintf(rec->run_id, sizeof(rec->run_id), "GEN%010u-%06x", (unsigned)i, (unsigned)(g->seed & 0xffffff));
	snprintf(rec->unit.serial, sizeof(rec->unit.serial), "GEN-%07u", (unsigned)(unit % 10000000));
	snprintf(rec->unit.model, sizeof(rec->unit.model), "MN1");
	snprintf(rec->station.id, sizeof(rec->station.id), "GEN-%02u", (unsigned)(station % 100));
	snprintf(rec->suite_name, sizeof(rec->suite_name), "calibrate");
	snprintf(rec->suite_version, sizeof(rec->suite_version), "1");
	snprintf(rec->operator_name, sizeof(rec->operator_name), "gen");
	if (rig_record_step_begin(rec, "as_left", "as_left", &st) < 0) {
		rig_record_free(rec);
		return NULL;
	}
	for (unsigned m = 0; m < g->measurements; m++)
		add_measurement(st, rng, m, drift);
	st->started_ms = rec->started_ms;
	if (g->reported && add_sweep(rec, rng, g->reported) < 0) {
		rig_record_free(rec);
		return NULL;
	}
	enum rig_outcome o = rig_measurements_outcome(st->measurements, st->n_measurements);
	/* Station faults and FAILs, at fixed odds, whatever the values said. */
	if (u < 0.03)
		o = RIG_OUTCOME_ERROR;
	else if (u < 0.08)
		o = RIG_OUTCOME_FAIL;
	else if (u < 0.09)
		o = RIG_OUTCOME_INDETERMINATE;
	else if (u < 0.095)
		o = RIG_OUTCOME_ABORTED;
	st->outcome = o;
	rec->outcome = o;
	snprintf(rec->reason, sizeof(rec->reason), "generated");
	return rec;
}

static int parse(int argc, char **argv, struct gen *g)
{
	static const struct option opts[] = {
		{"store", required_argument, 0, 's'}, {"runs", required_argument, 0, 'n'},
		{"stations", required_argument, 0, 'S'}, {"seed", required_argument, 0, 'x'},
		{"measurements", required_argument, 0, 'm'}, {"drift", required_argument, 0, 'd'},
		{"reported", required_argument, 0, 'r'}, {"time", no_argument, 0, 't'},
		{"drift-step", required_argument, 0, 'D'},
		{0, 0, 0, 0}};
	int c;
	*g = (struct gen){.runs = 100, .stations = 4, .measurements = 12, .reported = 0, .seed = 1,
			  .drift_station = -1, .drift_step = 0.05};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': g->store = optarg; break;
		case 'n': g->runs = strtoul(optarg, NULL, 10); break;
		case 'S': g->stations = strtoul(optarg, NULL, 10); break;
		case 'x': g->seed = strtoul(optarg, NULL, 10); break;
		case 'm': g->measurements = strtoul(optarg, NULL, 10); break;
		case 'D': g->drift_step = strtod(optarg, NULL); break;
		case 'r': g->reported = strtoul(optarg, NULL, 10); break;
		case 'd': g->drift_station = strtol(optarg, NULL, 10); break;
		case 't': g->time = 1; break;
		default: return -1;
		}
	}
	return g->store && g->stations > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct gen g;
	struct rig_store *s;
	struct rig_pcg32 rng;
	if (parse(argc, argv, &g) < 0) {
		fprintf(stderr, "usage: gen_runs --store LOCATION --runs N [--stations S] [--seed X]"
				" [--measurements M] [--reported R] [--drift STATION] [--time]\n");
		return 2;
	}
	if (rig_store_open(g.store, &s) < 0) {
		fprintf(stderr, "gen_runs: %s\n", rig_last_error());
		return 3;
	}
	rig_pcg32_seed(&rng, g.seed, 54);
	int64_t t0 = 1790000000000, put_ns = 0;
	for (unsigned long i = 0; i < g.runs; i++) {
		struct rig_record *rec = make_run(&g, &rng, i, t0);
		int64_t c0 = rig_clock_ns();
		int ret = rec ? rig_store_put(s, rec, NULL, 0) : -1;
		put_ns += rig_clock_ns() - c0;
		if (ret < 0) {
			fprintf(stderr, "gen_runs: run %lu: %s\n", i, rig_last_error());
			rig_record_free(rec);
			rig_store_close(s);
			return 3;
		}
		rig_record_free(rec);
	}
	/* Only the stores are timed: making the records is the generator's. */
	double secs = (double)put_ns * 1e-9;
	if (g.time)
		printf("stored %lu runs of %lu measurements into %s in %.3f s (%.0f runs/s)\n",
		       g.runs, g.measurements, rig_store_kind(s), secs, (double)g.runs / secs);
	rig_store_close(s);
	return 0;
}
