/* `rig demo`: the rig's main job on a simulated station, for a newcomer.
 * Starts `rig sim` as its own process (its own process group, so Ctrl-C
 * reaches the demo, which first makes the pen safe), calibrates N units one
 * after another through the calibrate suite, prints a line per unit, and
 * stops the simulator on every exit path. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "cli.h"

extern char **environ;

/* With a lockstep clock the station never waits for real time: the
 * runner's settling waits shrink to nothing. */
#define LOCKSTEP_TIME_SCALE 1000.0

struct demo_args {
	unsigned units, nests;
	unsigned long seed;
	double speed;
	const char *fixture, *suite, *reports, *calibrations;
	const char *store;        /* the line server; NULL: the fixture's, if any */
	const char *failures[64]; /* by unit index */
	int keep;
	int lockstep;
};

static void demo_usage(FILE *out)
{
	fprintf(out,
		"usage: rig demo [--units N] [--seed S] [--speed K] [--nests N] [OPTIONS]\n\n"
		"Starts a simulated station, then calibrates N pens end to end (as found,\n"
		"sweeps, fit, signed table write, read back, as left) and prints one line per\n"
		"unit: worst as-found and as-left errors and the outcome. Records go to\n"
		"reports/<serial>/<run-id>/record.json, tables to calibrations/<serial>/.\n\n"
		"  --units N            pens to calibrate (default 3)\n"
		"  --seed S             simulator seed: unit variation and noise (default 1)\n"
		"  --speed K            simulated clock K times real time (default 20)\n"
		"  --lockstep           simulated clock moves only by captures: no waiting\n"
		"  --nests N            nests on the station; units rotate through them (default 1)\n"
		"  --failure U=MODE     build unit U (0-based) with a failure mode: bent-needle,\n"
		"                       missing-needle, skipped-strokes, stall,\n"
		"                       cartridge-not-seated, detent-slip (repeatable)\n"
		"  --fixture FILE       default fixtures/sim.yaml (or the installed example)\n"
		"  --suite FILE         default fixtures/suites/calibrate.yaml (likewise)\n"
		"  --reports DIR        default reports\n"
		"  --calibrations DIR   default calibrations\n"
		"  --store URL          the line's PostgreSQL (results also go to\n"
		"                       REPORTS/results.db; docs/store.md)\n"
		"  --keep               keep the simulator's state directory\n\n"
		"Exit codes: 0 every unit PASS, 1 a unit FAILED, 2 usage, 3 station ERROR,\n"
		"4 INDETERMINATE, 5 interrupted (pen left safe, simulator stopped).\n");
}

static int parse_demo_args(int argc, char **argv, struct demo_args *a)
{
	static const struct option opts[] = {
		{"units", required_argument, 0, 'u'},   {"seed", required_argument, 0, 's'},
		{"speed", required_argument, 0, 'k'},   {"nests", required_argument, 0, 'n'},
		{"failure", required_argument, 0, 'f'}, {"fixture", required_argument, 0, 'F'},
		{"suite", required_argument, 0, 'S'},   {"reports", required_argument, 0, 'r'},
		{"calibrations", required_argument, 0, 'c'}, {"keep", no_argument, 0, 'K'},
		{"lockstep", no_argument, 0, 'L'},     {"store", required_argument, 0, 'D'},
		{"help", no_argument, 0, 'h'},          {0, 0, 0, 0}};
	char *end;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': a->units = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': a->seed = strtoul(optarg, NULL, 10); break;
		case 'k': a->speed = strtod(optarg, NULL); break;
		case 'n': a->nests = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'F': a->fixture = optarg; break;
		case 'S': a->suite = optarg; break;
		case 'r': a->reports = optarg; break;
		case 'c': a->calibrations = optarg; break;
		case 'K': a->keep = 1; break;
		case 'L': a->lockstep = 1; break;
		case 'D': a->store = optarg; break;
		case 'f': {
			unsigned long u = strtoul(optarg, &end, 10);
			if (end == optarg || *end != '=' || u >= 64) {
				fprintf(stderr, "rig demo: --failure expects UNIT=MODE, e.g. 1=stall\n");
				return -1;
			}
			a->failures[u] = end + 1;
			break;
		}
		case 'h': demo_usage(stdout); return 1;
		default: demo_usage(stderr); return -1;
		}
	}
	if (optind != argc || a->units < 1 || a->units > 10000 || a->nests < 1 ||
	    a->nests > RIG_SIM_MAX_NESTS || a->speed < 0.1 || a->speed > 1000) {
		fprintf(stderr, "rig demo: --units 1..10000, --nests 1..%d, --speed 0.1..1000\n",
			RIG_SIM_MAX_NESTS);
		return -1;
	}
	return 0;
}

/* Start `rig sim` in its own process group (Ctrl-C reaches the demo, which
 * makes the pen safe first), on any free port, output to DIR/sim.log; it
 * stops by itself if the demo dies. */
static pid_t spawn_sim(const struct demo_args *a, const char *dir)
{
	char nests[16], seed[32], speed[32], parent[32], log[600];
	char *argv[] = {"rig", "sim", "--state-dir", (char *)dir, "--port", "0", "--parent",
			parent, "--nests", nests, "--seed", seed, "--speed", speed,
			a->lockstep ? "--lockstep" : NULL, NULL};
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid = -1;

	snprintf(nests, sizeof(nests), "%u", a->nests);
	snprintf(seed, sizeof(seed), "%lu", a->seed);
	snprintf(speed, sizeof(speed), "%g", a->speed);
	snprintf(parent, sizeof(parent), "%ld", (long)getpid());
	snprintf(log, sizeof(log), "%s/sim.log", dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	if (posix_spawn(&pid, "/proc/self/exe", &fa, &attr, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return pid;
}

/* Wait until the simulator answers; returns its Modbus port, or -1 (and
 * *pid = -1 when it already exited and was reaped). */
static int wait_for_sim(pid_t *pid, const char *dir)
{
	char path[600], reply[512] = "";
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	for (int i = 0; i < 100 && !rig_interrupted(); i++) {
		int status;
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			*pid = -1;
			return -1;
		}
		if (rig_sim_control_remote(path, "status", reply, sizeof(reply)) == 0) {
			const char *p = strstr(reply, "port=");
			return p ? (int)strtol(p + 5, NULL, 10) : -1;
		}
		rig_sleep_ns(50000000);
	}
	return -1;
}

static void stop_sim(pid_t pid)
{
	int status;
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			return;
		rig_sleep_ns(20000000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Put a new pen into its nest, as an operator would. */
static int load_unit(const char *dir, unsigned nest, const char *serial, const char *failure)
{
	char path[600], line[128], reply[512] = "";
	snprintf(path, sizeof(path), "%s/control.sock", dir);
	snprintf(line, sizeof(line), "load %u %s%s%s", nest, serial, failure ? " " : "",
		 failure ? failure : "");
	if (rig_sim_control_remote(path, line, reply, sizeof(reply)) != 0) {
		fprintf(stderr, "rig demo: simulator refused '%s': %s\n", line,
			reply[0] ? reply : rig_last_error());
		return -1;
	}
	return 0;
}

struct demo_ctx {
	const struct demo_args *a;
	const char *dir;
};

/* Unit u of the demo goes to nest u mod nests: before the nest's k-th unit,
 * the simulator builds it in the nest. */
static int load_nth_unit(struct cli_nest *n, struct rig_nest_job *job, unsigned k)
{
	const struct demo_ctx *d = n->all->user;
	unsigned u = job->opt.nest + k * d->a->nests;
	char serial[32];
	snprintf(serial, sizeof(serial), "MN1-%06u",
		 (unsigned)((d->a->seed % 1000) * 1000 + u + 1));
	snprintf(n->label, sizeof(n->label), "[%u/%u] nest %u %s", u + 1, d->a->units,
		 job->opt.nest, serial);
	return load_unit(d->dir, job->opt.nest, serial, u < 64 ? d->a->failures[u] : NULL);
}

/* Calibrate every unit, the nests in parallel (one station, rig/station.h). */
static int run_units(const struct demo_args *a, const char *dir, struct rig_fixture *fx,
		     struct rig_suite *suite, struct cli_nests *cn)
{
	struct demo_ctx d = {a, dir};
	struct rig_run_options base = {
		.fixture = fx, .suite = suite, .reports_dir = a->reports,
		.calibrations_dir = a->calibrations, .simulated = 1, .seed = a->seed,
		.time_scale = a->lockstep ? LOCKSTEP_TIME_SCALE : a->speed,
	};
	unsigned nests[RIG_SIM_MAX_NESTS], units[RIG_SIM_MAX_NESTS];
	enum rig_outcome worst;
	for (unsigned i = 0; i < a->nests; i++) {
		nests[i] = i;
		units[i] = a->units / a->nests + (i < a->units % a->nests);
	}
	*cn = (struct cli_nests){.command = "demo", .holder = "rig demo",
				 .store_url = a->store ? a->store : fx->store,
				 .station_id = fx->station_id, .load_unit = load_nth_unit,
				 .user = &d, .n = a->nests};
	if (cli_nests_run(cn, &base, nests, units, &worst) < 0) {
		fprintf(stderr, "rig demo: %s\n", rig_last_error());
		return RIG_OUTCOME_ERROR;
	}
	return worst;
}

/* A default input file: FIXTURES_REL (e.g. "fixtures/sim.yaml") in the
 * working directory, as in a checkout; otherwise the example installed with
 * the binary (<bindir>/RIG_BIN_TO_DATA/FIXTURES_REL); otherwise the
 * relative path, which then fails to load with its name in the error. */
static const char *default_file(const char *rel, char *buf, size_t size)
{
	char exe[PATH_MAX], path[PATH_MAX + 256];
	ssize_t n;
	char *slash;

	if (access(rel, F_OK) == 0)
		return rel;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return rel;
	exe[n] = '\0';
	if (!(slash = strrchr(exe, '/')))
		return rel;
	*slash = '\0';
	/* realpath: the record names the file without "bin/../". */
	if (snprintf(path, sizeof(path), "%s/%s/%s", exe, RIG_BIN_TO_DATA, rel) >= (int)sizeof(path) ||
	    size < PATH_MAX || !realpath(path, buf))
		return rel;
	return buf;
}

static int load_files(const struct demo_args *a, const char *dir, unsigned short port,
		      struct rig_fixture **fx, struct rig_suite **suite)
{
	char sim_dir[600], sim_port[32];
	const char *vars[] = {sim_dir, sim_port, NULL};
	int ret;
	snprintf(sim_dir, sizeof(sim_dir), "SIM_DIR=%s", dir);
	snprintf(sim_port, sizeof(sim_port), "SIM_PORT=%u", port);
	if ((ret = rig_fixture_load(a->fixture, vars, fx)) < 0)
		return cli_report_input_error("fixture", ret);
	if ((ret = rig_suite_load(a->suite, suite)) < 0)
		return cli_report_input_error("suite", ret);
	if (a->nests > (*fx)->n_nests) {
		fprintf(stderr, "rig demo: %s describes %u nest(s); --nests %u needs as many\n",
			a->fixture, (*fx)->n_nests, a->nests);
		return RIG_EXIT_USAGE;
	}
	return 0;
}

int cmd_demo(int argc, char **argv)
{
	char fixture_path[PATH_MAX], suite_path[PATH_MAX];
	struct demo_args a = {
		.units = 3, .nests = 1, .seed = 1, .speed = 20,
		.fixture = default_file("fixtures/sim.yaml", fixture_path, sizeof(fixture_path)),
		.suite = default_file("fixtures/suites/calibrate.yaml", suite_path,
				      sizeof(suite_path))};
	struct rig_fixture *fx = NULL;
	struct rig_suite *suite = NULL;
	char dir[256];
	const char *tmp = getenv("TMPDIR");
	int port = -1;
	pid_t pid = -1;
	int ret = parse_demo_args(argc, argv, &a);

	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	rig_install_interrupt_handlers();
	/* The state directory holds the simulator's Unix sockets: its path must
	 * stay short (108 bytes with the socket name). */
	if (!tmp || !*tmp || strlen(tmp) > 160)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/rig-demo-XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "rig demo: cannot create a state directory in %s: %s\n", tmp,
			strerror(errno));
		return RIG_EXIT_STATION;
	}
	pid = spawn_sim(&a, dir);
	if (pid > 0)
		port = wait_for_sim(&pid, dir);
	if (port <= 0) {
		fprintf(stderr, "rig demo: the simulator did not start; its log is %s/sim.log\n", dir);
		stop_sim(pid);
		return RIG_EXIT_STATION;
	}
	ret = load_files(&a, dir, (unsigned short)port, &fx, &suite);
	if (ret == 0) {
		char clock[32];
		snprintf(clock, sizeof(clock), a.lockstep ? "lockstep clock" : "speed x%g", a.speed);
		printf("simulated station: %u nest(s), seed %lu, %s, Modbus on 127.0.0.1:%d\n"
		       "calibrating %u unit(s) with %s\n\n",
		       a.nests, a.seed, clock, port, a.units, a.suite);
		printf("per unit: worst depth error and worst rate error, as found and as left\n");
		struct cli_nests cn;
		ret = cli_exit_for_outcome(run_units(&a, dir, fx, suite, &cn));
		if (a.nests > 1)
			printf("\nthe station's DAQ took %lu captures for %lu requests of the nests\n",
			       cn.captures, cn.requests);
		printf("\n%u PASS, %u FAIL, %u INDETERMINATE, %u ERROR, %u ABORTED; records in %s/, "
		       "tables in %s/\n",
		       cn.tally[RIG_OUTCOME_PASS], cn.tally[RIG_OUTCOME_FAIL],
		       cn.tally[RIG_OUTCOME_INDETERMINATE], cn.tally[RIG_OUTCOME_ERROR],
		       cn.tally[RIG_OUTCOME_ABORTED], a.reports ? a.reports : "reports",
		       a.calibrations ? a.calibrations : "calibrations");
	}
	stop_sim(pid);
	if (!a.keep && ret != RIG_EXIT_STATION)
		nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	else
		fprintf(stderr, "rig demo: simulator state and log kept in %s\n", dir);
	rig_suite_free(suite);
	rig_fixture_free(fx);
	return ret;
}
