/* Benchmark: the rig's own overhead per calibrated unit on top of the
 * physical time its steps need (capture durations and settling waits).
 * Runs the calibrate suite on N simulated units with a lockstep clock, so
 * the station never makes the rig wait: the wall time is all rig (Modbus
 * read-out, pen protocol, analysis, fitting, records). Usage:
 * bench_run [UNITS] (default 5). Reports figures; never fails on speed. */
#include <stdio.h>
#include <stdlib.h>

#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "testsupport.h"

int main(int argc, char **argv)
{
	unsigned units = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5;
	char *dir = ts_mkdtemp("benchrun");
	struct rig_sim_config cfg = {.n_nests = 1, .seed = 9, .lockstep = 1, .state_dir = dir};
	struct rig_sim *sim = NULL;
	struct rig_fixture *fx = NULL;
	struct rig_suite *suite = NULL;
	char dir_var[300], port_var[64], reports[300], reply[256];
	const char *vars[] = {dir_var, port_var, NULL};
	double wall_total = 0, phys_total = 0;

	rig_log_set_level(RIG_LOG_ERROR);
	if (rig_sim_start(&cfg, &sim) < 0) {
		fprintf(stderr, "bench_run: %s\n", rig_last_error());
		return 1;
	}
	snprintf(dir_var, sizeof(dir_var), "SIM_DIR=%s", dir);
	snprintf(port_var, sizeof(port_var), "SIM_PORT=%u", (unsigned)rig_sim_port(sim));
	snprintf(reports, sizeof(reports), "%s/out", dir);
	if (rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &fx) < 0 ||
	    rig_suite_load(RIG_SOURCE_DIR "/fixtures/suites/calibrate.yaml", &suite) < 0) {
		fprintf(stderr, "bench_run: %s\n", rig_last_error());
		return 1;
	}
	printf("calibrate suite, lockstep simulated station, %u units\n", units);
	printf("%-12s %-6s %10s %12s %9s\n", "unit", "result", "rig wall s", "physical s", "overhead");
	for (unsigned u = 0; u < units; u++) {
		struct rig_run_options opt = {.fixture = fx, .suite = suite, .simulated = 1,
					      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
					      .calibrations_dir = reports};
		struct rig_run_summary sum;
		char line[64];
		snprintf(line, sizeof(line), "load 0 MN1-%06u", 900 + u);
		rig_sim_control(sim, line, reply, sizeof(reply));
		int64_t t0 = rig_clock_ns();
		if (rig_run_unit(&opt, &sum) < 0)
			return 1;
		double wall = (double)(rig_clock_ns() - t0) * 1e-9;
		wall_total += wall;
		phys_total += sum.physical_s;
		printf("%-12s %-6s %10.3f %12.2f %8.1f %%\n", sum.serial,
		       rig_outcome_name(sum.outcome), wall, sum.physical_s,
		       100.0 * wall / sum.physical_s);
	}
	printf("mean per unit: rig %.3f s on top of %.2f s of physical time: overhead ratio "
	       "%.3f (%.1f %%)\n",
	       wall_total / units, phys_total / units, wall_total / phys_total,
	       100.0 * wall_total / phys_total);
	rig_suite_free(suite);
	rig_fixture_free(fx);
	rig_sim_stop(sim);
	ts_rmtree(dir);
	free(dir);
	return 0;
}
