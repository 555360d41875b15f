/* Fuzz target: the simulator's control language (rig_sim_control,
 * rig/sim/control.c; docs/sim.md) on arbitrary lines. One lockstep station
 * with two nests is started once per process in a private state directory
 * (its listening sockets are never connected to); after each input the
 * faults are cleared and both nests get their default pens back on
 * factory-new flash, so every input starts alike. Input: lines separated by
 * '\n'. Oracles: the reply is one NUL-terminated line within the buffer,
 * starting "ok" exactly when the call returns 0 and "error" otherwise. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/sim.h>

#include "fuzz.h"
#include "sim_internal.h"

#define NESTS 2

static struct rig_sim *sim;

static void stop_sim(void)
{
	rig_sim_stop(sim);
	sim = NULL;
}

static void start_sim(void)
{
	struct rig_sim_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.n_nests = NESTS;
	cfg.seed = 7;
	cfg.lockstep = 1;
	cfg.state_dir = fuzz_tmpdir();
	cfg.host = "127.0.0.1";
	if (rig_sim_start(&cfg, &sim) < 0) {
		fprintf(stderr, "fuzz: rig_sim_start: %s\n", rig_last_error());
		abort();
	}
	atexit(stop_sim);
}

static void remove_flash_files(void)
{
	DIR *d = opendir(fuzz_tmpdir());
	struct dirent *e;
	char path[1024];

	if (!d)
		abort();
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);
		if (n > 6 && !strcmp(e->d_name + n - 6, ".flash")) {
			snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), e->d_name);
			unlink(path);
		}
	}
	closedir(d);
}

static void reset_sim(void)
{
	char reply[256], serial[17];

	rig_sim_control(sim, "fault clear", reply, sizeof(reply));
	pthread_mutex_lock(&sim->lock);
	for (unsigned i = 0; i < NESTS; i++)
		rigi_sim_load_pen(sim, i, NULL, NULL);
	remove_flash_files();
	for (unsigned i = 0; i < NESTS; i++) {
		snprintf(serial, sizeof(serial), "MN1-%06u", i + 1);
		if (rigi_sim_load_pen(sim, i, serial, NULL) < 0) {
			fprintf(stderr, "fuzz: reload %s: %s\n", serial, rig_last_error());
			abort();
		}
	}
	sim->stop_requested = 0;
	pthread_mutex_unlock(&sim->lock);
}

static void run_line(const char *line, size_t cap)
{
	char reply[600];
	int ret;

	memset(reply, 'X', sizeof(reply));
	ret = rig_sim_control(sim, line, reply, cap);
	FUZZ_CHECK(memchr(reply, 0, cap) != NULL, "reply not terminated within %zu", cap);
	FUZZ_CHECK(strchr(reply, '\n') == NULL, "reply of several lines: %s", reply);
	if (cap >= 6) {
		FUZZ_CHECK(ret == 0 ? strncmp(reply, "ok", 2) == 0 : strncmp(reply, "error", 5) == 0,
			   "return %d with reply '%s'", ret, reply);
	}
	FUZZ_CHECK(ret == 0 || ret == RIG_ERR_ARG, "return %d (rig_sim_control: 0 or ARG)", ret);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *line, *next;
	unsigned k = 0;

	fuzz_quiet();
	if (!sim) {
		start_sim();
		reset_sim();
	}
	text = fuzz_strndup(data, size);
	for (line = text; line; line = next, k++) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		run_line(line, k % 4 == 3 ? 8 : 512);
	}
	free(text);
	reset_sim();
	return 0;
}
