/* Entry point of the `rig` command: dispatches to subcommands and lists
 * every one of them (with their own subcommands) in `rig --help`. */
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>

#include "cli.h"

/* One line of `rig --help`; a command with subcommands may take several
 * lines. The first word of @form is the command dispatched to @run; the
 * man page of each command is rig-<command>(1) (tests/cli/test_man.sh). */
struct help_line {
	const char *form;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct help_line commands[] = {
	{"demo", "calibrate simulated pens end to end (starts its own simulator)", cmd_demo},
	{"run", "run a suite on one unit of a station (fixture + suite files)", cmd_run},
	{"records recover", "close the runs that died (crash, kill -9) into records", cmd_records},
	{"records verify", "check records' signatures and journals", cmd_records},
	{"results list|show|export|stats", "the results store: runs, a run, export, yield, Cpk",
	 cmd_results},
	{"results report|import|push", "line dashboard (HTML); store records; push to the line",
	 cmd_results},
	{"report", "write a run's reports (HTML, PDF certificate, JUnit, CSV) again", cmd_report},
	{"sim", "run the simulated station (Modbus server, pens, physics)", cmd_sim},
	{"sim ctl", "steer a running simulator: load pens, inject faults, ground truth", cmd_sim},
	{"dut info|status|read-table", "a pen's identity, status, calibration table", cmd_dut},
	{"dut run", "make a pen stroke at user setpoints (motor on)", cmd_dut},
	{"dut safe", "put a pen safe: motor off, service mode left", cmd_dut},
	{"devices", "list the pens on the USB buses: serial, firmware, bus path", cmd_devices},
	{"sensors", "slow readings of a nest's force and displacement sensors", cmd_sensors},
	{"daq info", "the DAQ's identity, channels, maximum rate and buffer", cmd_daq},
	{"daq capture", "capture waveforms from the DAQ to CSV", cmd_daq},
	{"fit", "fit a polynomial or monotone curve to CSV data; invert to knots", cmd_fit},
	{"analyze", "stroke analysis of a capture CSV: protrusion, rate, forces", cmd_analyze},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out, "usage: rig COMMAND [OPTIONS]   (rig COMMAND --help for details)\n"
		     "       rig --version | -V\n\n"
		     "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strlen(commands[i].form) > 28)
			fprintf(out, "  %s\n  %-28s %s\n", commands[i].form, "", commands[i].summary);
		else
			fprintf(out, "  %-28s %s\n", commands[i].form, commands[i].summary);
	}
	fprintf(out, "\nenvironment: RIG_DEBUG=error|warn|info|debug|trace sets the log level\n"
		     "exit codes: 0 ok/PASS, 1 FAIL, 2 usage, 3 station ERROR, "
		     "4 INDETERMINATE, 5 interrupted\n"
		     "manual: man rig, man rig-COMMAND\n");
}

/* Does @name match the first word of @form? */
static int is_command(const char *form, const char *name)
{
	size_t n = strcspn(form, " ");
	return strlen(name) == n && !strncmp(form, name, n);
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
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("rig %s (build commit %s)\n", rig_version(), rig_build_commit());
		return RIG_EXIT_OK;
	}
	cli_setup_logging();
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (is_command(commands[i].form, argv[1]))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rig: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return RIG_EXIT_USAGE;
}
