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
	struct ts_station st;
	char reports[300], reply[256];
	double wall_total = 0, phys_total = 0;

	rig_log_set_level(RIG_LOG_ERROR);
	if (ts_station_start(&st, 1, 9, "fixtures/sim.yaml") < 0)
		return 1;
	snprintf(reports, sizeof(reports), "%s/out", st.dir);
	printf("calibrate suite, lockstep simulated station, %u units\n", units);
	printf("%-12s %-6s %10s %12s %9s\n", "unit", "result", "rig wall s", "physical s", "overhead");
	for (unsigned u = 0; u < units; u++) {
		struct rig_run_options opt = {.fixture = st.fx, .suite = st.suite, .simulated = 1,
					      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
					      .calibrations_dir = reports};
		struct rig_run_summary sum;
		char line[64];
		snprintf(line, sizeof(line), "load 0 MN1-%06u", 900 + u);
		rig_sim_control(st.sim, line, reply, sizeof(reply));
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
	ts_station_stop(&st);
	return 0;
}
