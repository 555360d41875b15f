/* Entry point of the `rig` command: dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>

#include "cli.h"

static const struct rig_command commands[] = {
	{"demo", "calibrate simulated pens end to end (starts its own simulator)", cmd_demo},
	{"run", "run a suite on one unit of a station (fixture + suite files)", cmd_run},
	{"records", "recover the records of runs that died; verify signed records", cmd_records},
	{"results", "the results store: list, show, export, stats, import, push to the line server",
	 cmd_results},
	{"report", "write a run's reports (HTML, PDF certificate, JUnit, CSV) again", cmd_report},
	{"sim", "run the simulated station (Modbus server, pens, physics)", cmd_sim},
	{"dut", "talk to a pen: info, status, read-table", cmd_dut},
	{"devices", "list the pens on the USB buses: serial, firmware, bus path", cmd_devices},
	{"sensors", "slow readings of a nest's force and displacement sensors", cmd_sensors},
	{"daq", "capture waveforms from the DAQ to CSV", cmd_daq},
	{"fit", "fit a polynomial or monotone curve to CSV data; invert to knots", cmd_fit},
	{"analyze", "stroke analysis of a capture CSV: protrusion, rate, forces", cmd_analyze},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: rig COMMAND [OPTIONS]   (rig COMMAND --help for details)\n\n"
		     "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nenvironment: RIG_DEBUG=error|warn|info|debug|trace sets the log level\n"
		     "exit codes: 0 ok/PASS, 1 FAIL, 2 usage, 3 station ERROR, "
		     "4 INDETERMINATE, 5 interrupted\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return RIG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return RIG_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("rig %s\n", rig_version());
		return RIG_EXIT_OK;
	}
	cli_setup_logging();
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rig: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return RIG_EXIT_USAGE;
}
