/* `rig sim`: run the simulated station in the foreground until Ctrl-C, and
 * `rig sim ctl`: send one control command to a running simulator. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/sim.h>

#include "cli.h"

#define MAX_FAULTS 16

static void sim_usage(FILE *out)
{
	fprintf(out,
		"usage: rig sim [OPTIONS]\n"
		"       rig sim ctl [--state-dir DIR] COMMAND [ARGS...]\n\n"
		"Runs a simulated station: a Modbus TCP server with the DAQ (unit 1) and each\n"
		"nest's displacement (unit 10+2n) and force (unit 11+2n) sensors, and one pen\n"
		"per nest on a Unix socket, until Ctrl-C or the control command 'stop'.\n\n"
		"  --nests N           nests (pens) on the station, 1..%d (default 1)\n"
		"  --seed S            run seed: unit variation and noise (default 1)\n"
		"  --speed K           run the station's clock K times faster (default 1)\n"
		"  --lockstep          the station's clock ignores real time and moves only by\n"
		"                      DAQ captures: reproducible bytes, as fast as the host\n"
		"  --host ADDR         Modbus bind address (default 127.0.0.1)\n"
		"  --port P            Modbus TCP port (default 1502; 0 = any free port)\n"
		"  --state-dir DIR     pen flash, line key, sockets (default %s)\n"
		"  --key FILE          line key file (default DIR/line.key, created if missing)\n"
		"  --serial-base N     nest n holds pen MN1-<N+n> (default 1)\n"
		"  --failure NEST=MODE build nest's pen with a failure mode: bent-needle,\n"
		"                      missing-needle, skipped-strokes, stall,\n"
		"                      cartridge-not-seated, detent-slip\n"
		"  --parent PID        stop when process PID ends (used by rig demo)\n"
		"  --fault 'KIND ARGS' inject a fault at start (control language, docs/sim.md),\n"
		"                      e.g. --fault 'modbus-late 300'; repeatable\n\n"
		"'rig sim ctl' commands: status, load, unload, truth, power-cycle, fault, stop\n"
		"(docs/sim.md). Exit codes: 0 ok, 2 usage, 3 station error.\n",
		RIG_SIM_MAX_NESTS, rig_sim_default_state_dir());
}

static void ctl_usage(FILE *out)
{
	fprintf(out,
		"usage: rig sim ctl [--state-dir DIR] COMMAND [ARGS...]\n\n"
		"Sends one control command to a running simulator (its DIR/control.sock)\n"
		"and prints the reply (docs/sim.md, control language):\n\n"
		"  status                            port, nests, seed, speed, time, pens\n"
		"  load NEST SERIAL [MODE]           put a new pen into the nest\n"
		"  unload NEST                       empty the nest\n"
		"  truth NEST [service CODE DUTY | user DEPTH_UM RATE_SPM]\n"
		"                                    ground truth of the pen\n"
		"  power-cycle NEST                  power loss and power-up of the pen\n"
		"  fault KIND ARGS                   inject a fault, e.g. fault modbus-late 300\n"
		"  stop                              stop the simulator\n\n"
		"  --state-dir DIR   the simulator's state directory (default %s)\n\n"
		"Exit codes: 0 ok, 2 usage or a command the simulator refused, 3 no simulator\n"
		"answering at DIR.\n",
		rig_sim_default_state_dir());
}

static int parse_failure(struct rig_sim_config *cfg, const char *arg)
{
	char *end;
	unsigned long nest = strtoul(arg, &end, 10);
	if (end == arg || *end != '=' || nest >= RIG_SIM_MAX_NESTS) {
		fprintf(stderr, "rig sim: --failure expects NEST=MODE, e.g. 0=bent-needle\n");
		return -1;
	}
	cfg->failures[nest] = end + 1;
	return 0;
}

static int parse_number(const char *opt, const char *arg, double lo, double hi, double *out)
{
	char *end;
	*out = strtod(arg, &end);
	if (end == arg || *end || *out < lo || *out > hi) {
		fprintf(stderr, "rig sim: %s expects a number in %g..%g, got '%s'\n", opt, lo, hi,
			arg);
		return -1;
	}
	return 0;
}

static long parent_pid; /* --parent: stop when it is gone */

static int parse_sim_options(int argc, char **argv, struct rig_sim_config *cfg,
			     const char **faults, int *n_faults)
{
	static const struct option opts[] = {
		{"nests", required_argument, 0, 'n'},  {"seed", required_argument, 0, 's'},
		{"speed", required_argument, 0, 'k'},  {"host", required_argument, 0, 'H'},
		{"port", required_argument, 0, 'p'},   {"state-dir", required_argument, 0, 'd'},
		{"key", required_argument, 0, 'K'},    {"serial-base", required_argument, 0, 'b'},
		{"failure", required_argument, 0, 'f'}, {"fault", required_argument, 0, 'F'},
		{"lockstep", no_argument, 0, 'L'},    {"parent", required_argument, 0, 'P'},
		{"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
	double v;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': if (parse_number("--nests", optarg, 1, RIG_SIM_MAX_NESTS, &v)) return -1;
			cfg->n_nests = (unsigned)v; break;
		case 's': if (parse_number("--seed", optarg, 0, 1e18, &v)) return -1;
			cfg->seed = (uint64_t)v; break;
		case 'k': if (parse_number("--speed", optarg, 0.01, 1000, &v)) return -1;
			cfg->speed = v; break;
		case 'H': cfg->host = optarg; break;
		case 'p': if (parse_number("--port", optarg, 0, 65535, &v)) return -1;
			cfg->port = (uint16_t)v; break;
		case 'd': cfg->state_dir = optarg; break;
		case 'K': cfg->key_path = optarg; break;
		case 'b': if (parse_number("--serial-base", optarg, 0, 999999, &v)) return -1;
			cfg->serial_base = (unsigned)v; break;
		case 'f': if (parse_failure(cfg, optarg)) return -1; break;
		case 'F':
			if (*n_faults == MAX_FAULTS) {
				fprintf(stderr, "rig sim: at most %d --fault options\n", MAX_FAULTS);
				return -1;
			}
			faults[(*n_faults)++] = optarg;
			break;
		case 'L': cfg->lockstep = 1; break;
		case 'P': if (parse_number("--parent", optarg, 1, 4194304, &v)) return -1;
			parent_pid = (long)v; break;
		case 'h': sim_usage(stdout); return 1;
		default: sim_usage(stderr); return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "rig sim: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	return 0;
}

static void print_station(const struct rig_sim *sim, const struct rig_sim_config *cfg)
{
	if (cfg->lockstep)
		printf("simulated station up (seed %llu, lockstep clock)\n",
		       (unsigned long long)cfg->seed);
	else
		printf("simulated station up (seed %llu, speed %g)\n",
		       (unsigned long long)cfg->seed, cfg->speed);
	printf("  daq          %s\n", rig_sim_daq_uri(sim));
	for (unsigned i = 0; i < (cfg->n_nests ? cfg->n_nests : 1); i++) {
		printf("  nest %u pen    %s\n", i, rig_sim_dut_uri(sim, i));
		printf("  nest %u disp   %s\n", i, rig_sim_displacement_uri(sim, i));
		printf("  nest %u force  %s\n", i, rig_sim_force_uri(sim, i));
	}
	printf("  control      %s   (rig sim ctl help)\n", rig_sim_control_path(sim));
	printf("Ctrl-C stops the station.\n");
	fflush(stdout);
}

static int run_ctl(int argc, char **argv)
{
	const char *dir = rig_sim_default_state_dir();
	char line[512] = "";
	char path[600];
	char reply[2048] = "";
	int i = 1;
	int ret;

	if (i < argc && !strcmp(argv[i], "--state-dir") && i + 1 < argc) {
		dir = argv[i + 1];
		i += 2;
	}
	if (i >= argc || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
		ctl_usage(i >= argc ? stderr : stdout);
		return i >= argc ? RIG_EXIT_USAGE : RIG_EXIT_OK;
	}
	for (size_t pos = 0; i < argc; i++) {
		int n = snprintf(line + pos, sizeof(line) - pos, "%s%s", pos ? " " : "", argv[i]);
		if (n < 0 || (size_t)n >= sizeof(line) - pos) {
			fprintf(stderr, "rig sim ctl: command longer than %zu characters\n",
				sizeof(line) - 1);
			return RIG_EXIT_USAGE;
		}
		pos += (size_t)n;
	}
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	ret = rig_sim_control_remote(path, line, reply, sizeof(reply));
	if (ret == RIG_ERR_ARG && reply[0]) {
		fprintf(stderr, "rig sim ctl: %s\n", reply);
		return RIG_EXIT_USAGE;
	}
	if (ret < 0)
		return cli_report_error("sim ctl", ret);
	printf("%s\n", reply);
	return RIG_EXIT_OK;
}

int cmd_sim(int argc, char **argv)
{
	struct rig_sim_config cfg = {.seed = 1, .speed = 1.0, .port = 1502, .control_socket = 1};
	const char *faults[MAX_FAULTS];
	int n_faults = 0;
	struct rig_sim *sim = NULL;
	char reply[1024];
	int ret;

	if (argc > 1 && !strcmp(argv[1], "ctl"))
		return run_ctl(argc - 1, argv + 1);
	ret = parse_sim_options(argc, argv, &cfg, faults, &n_faults);
	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	rig_install_interrupt_handlers();
	ret = rig_sim_start(&cfg, &sim);
	if (ret < 0)
		return cli_report_error("cannot start the simulated station", ret);
	for (int i = 0; i < n_faults; i++) {
		char line[300];
		snprintf(line, sizeof(line), "fault %s", faults[i]);
		if (rig_sim_control(sim, line, reply, sizeof(reply)) < 0) {
			fprintf(stderr, "rig sim: --fault '%s': %s\n", faults[i], reply);
			rig_sim_stop(sim);
			return RIG_EXIT_USAGE;
		}
	}
	print_station(sim, &cfg);
	/* A parent that died (crashed demo) takes its simulator with it. */
	while (!rig_interrupted() && !rig_sim_stop_requested(sim) &&
	       (!parent_pid || (long)getppid() == parent_pid))
		rig_sleep_ns(100000000LL);
	rig_sim_stop(sim);
	printf("simulated station stopped\n");
	return RIG_EXIT_OK;
}
