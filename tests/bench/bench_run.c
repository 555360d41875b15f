/* Benchmark: the rig's own overhead per calibrated unit on top of the
 * physical time its steps need (capture durations and settling waits).
 * Runs the calibrate suite on N simulated units. With a lockstep clock
 * (the default) the station never makes the rig wait: the wall time is all
 * rig (Modbus read-out, pen protocol, analysis, fitting, records). With
 * SPEED the station's clock runs SPEED times real time, as a real station
 * does at 1: the wall time per unit over its physical time divided by SPEED
 * is then what a unit costs over its physics bound (issue 10: at most 1.02
 * at speed 1). Usage: bench_run [UNITS [SPEED]] (default 5, lockstep).
 * Reports figures; never fails on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "testsupport.h"

/* A one-nest station whose clock runs @p speed times real time (the
 * lockstep one is ts_station_start's). */
static int station_start_realtime(struct ts_station *st, double speed)
{
	struct rig_sim_config cfg = {.n_nests = 1, .seed = 9, .speed = speed};
	char dir_var[300], port_var[64];
	const char *vars[] = {dir_var, port_var, NULL};

	memset(st, 0, sizeof(*st));
	st->dir = ts_mkdtemp("station");
	cfg.state_dir = st->dir;
	if (!st->dir || rig_sim_start(&cfg, &st->sim) < 0)
		goto fail;
	snprintf(dir_var, sizeof(dir_var), "SIM_DIR=%s", st->dir);
	snprintf(port_var, sizeof(port_var), "SIM_PORT=%u", (unsigned)rig_sim_port(st->sim));
	if (rig_fixture_load(RIG_SOURCE_DIR "/fixtures/sim.yaml", vars, &st->fx) < 0 ||
	    rig_suite_load(RIG_SOURCE_DIR "/fixtures/suites/calibrate.yaml", &st->suite) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "bench_run: %s\n", rig_last_error());
	ts_station_stop(st);
	return -1;
}

int main(int argc, char **argv)
{
	unsigned units = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 5;
	double speed = argc > 2 ? strtod(argv[2], NULL) : 0;
	struct ts_station st;
	char reports[300], reply[256];
	double wall_total = 0, phys_total = 0;

	rig_log_set_level(RIG_LOG_ERROR);
	if ((speed > 0 ? station_start_realtime(&st, speed)
		       : ts_station_start(&st, 1, 9, "fixtures/sim.yaml")) < 0)
		return 1;
	snprintf(reports, sizeof(reports), "%s/out", st.dir);
	if (speed > 0)
		printf("calibrate suite, simulated station at speed %g, %u units\n", speed, units);
	else
		printf("calibrate suite, lockstep simulated station, %u units\n", units);
	printf("%-12s %-6s %10s %12s %9s\n", "unit", "result", "rig wall s", "physical s",
	       speed > 0 ? "wall/bound" : "overhead");
	for (unsigned u = 0; u < units; u++) {
		struct rig_run_options opt = {.fixture = st.fx, .suite = st.suite, .simulated = 1,
					      .seed = 9, .time_scale = speed > 0 ? speed : 1e6,
					      .reports_dir = reports, .calibrations_dir = reports};
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
		if (speed > 0)
			printf("%-12s %-6s %10.3f %12.2f %9.4f\n", sum.serial,
			       rig_outcome_name(sum.outcome), wall, sum.physical_s,
			       wall * speed / sum.physical_s);
		else
			printf("%-12s %-6s %10.3f %12.2f %8.1f %%\n", sum.serial,
			       rig_outcome_name(sum.outcome), wall, sum.physical_s,
			       100.0 * wall / sum.physical_s);
	}
	if (speed > 0)
		printf("mean per unit: %.3f s of wall time for %.2f s of physical time at speed %g: "
		       "wall over the physics bound %.4f\n",
		       wall_total / units, phys_total / units, speed,
		       wall_total * speed / phys_total);
	else
		printf("mean per unit: rig %.3f s on top of %.2f s of physical time: overhead ratio "
		       "%.3f (%.1f %%)\n",
		       wall_total / units, phys_total / units, wall_total / phys_total,
		       100.0 * wall_total / phys_total);
	ts_station_stop(&st);
	return 0;
}
