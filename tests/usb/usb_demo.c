/* rig-usb-demo: watch the real USB code path calibrate pens. Hosts a
 * simulated station whose pens are presented on an emulated USB bus
 * (umockdev, tests/usb/usbharness.c), then runs the unmodified `rig run`
 * against fixtures/sim-usb.yaml for each unit: every pen command goes
 * through libusb's bulk transfers (docs/usb.md). Usage:
 *   build/tests/rig-usb-demo [--units N] [--seed S]
 * Re-executes itself under libumockdev-preload.so.0 when needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/sim.h>

#include "sim_internal.h"
#include "testsupport.h"
#include "usbharness.h"

static int run_rig(const char *dir, unsigned port)
{
	char dir_var[320], port_var[64];
	pid_t pid;
	int status;
	snprintf(dir_var, sizeof(dir_var), "SIM_DIR=%s", dir);
	snprintf(port_var, sizeof(port_var), "SIM_PORT=%u", port);
	char *argv[] = {RIG_BINARY_DIR "/bin/rig", "run", "--fixture",
			RIG_SOURCE_DIR "/fixtures/sim-usb.yaml", "--suite",
			RIG_SOURCE_DIR "/fixtures/suites/calibrate.yaml", "--var", dir_var, "--var",
			port_var, "--time-scale", "1000", NULL};
	pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
	unsigned units = 3;
	unsigned long seed = 1;
	char *dir;
	struct rig_sim_config cfg = {.n_nests = 1, .lockstep = 1};
	struct rig_sim *sim = NULL;
	struct usbh *bus;
	int worst = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--units"))
			units = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--seed"))
			seed = strtoul(argv[i + 1], NULL, 10);
	}
	if (!usbh_available()) {
		setenv("LD_PRELOAD", "libumockdev-preload.so.0", 1);
		execv("/proc/self/exe", argv);
		fprintf(stderr, "rig-usb-demo: cannot re-execute under umockdev: %s\n",
			strerror(errno));
		return 3;
	}
	bus = usbh_new();
	dir = ts_mkdtemp("usbdemo");
	cfg.seed = seed;
	cfg.state_dir = dir;
	if (!bus || !dir || rig_sim_start(&cfg, &sim) < 0) {
		fprintf(stderr, "rig-usb-demo: cannot start: %s\n", rig_last_error());
		return 3;
	}
	printf("simulated station with its pen on an emulated USB bus (umockdev); nest 0 is "
	       "bus path 1-1.1\n\n");
	for (unsigned u = 0; u < units; u++) {
		char line[64], reply[256];
		snprintf(line, sizeof(line), "load 0 MN1-%06u", 2000 + u);
		if (u)
			usbh_remove(bus, 1);
		if (rig_sim_control(sim, line, reply, sizeof(reply)) < 0 ||
		    usbh_plug(bus, 1, sim->nests[0].pen) < 0) {
			fprintf(stderr, "rig-usb-demo: cannot plug the pen: %s\n", reply);
			worst = 3;
			break;
		}
		fflush(stdout);
		int rc = run_rig(dir, rig_sim_port(sim));
		worst = rc > worst ? rc : worst;
	}
	usbh_free(bus);
	rig_sim_stop(sim);
	ts_rmtree(dir);
	free(dir);
	return worst;
}
