/* The results store around a run, for `rig run` and `rig demo`: the
 * station's SQLite (REPORTS/results.db) is opened before the run, the
 * station's drift is checked (warned on stderr and kept in the record),
 * the store's sink stores the record when it is written, and afterwards
 * the outbox is pushed to the line server by a background `rig results push`
 * so that a slow or absent server never holds up the station. A store
 * that cannot be opened is warned of and the run goes on: the record on
 * disk is the evidence, and `rig results import` stores it later. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rig/rig.h>
#include <rig/store.h>

#include "cli.h"

extern char **environ;

/* The reports folder may not exist before the first run. */
static int mkdir_reports(const char *dir)
{
	return mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static void keep_alarm(const char *alarm, void *user)
{
	struct cli_run_store *cs = user;
	size_t used = strlen(cs->warnings);
	fprintf(stderr, "rig: warning: %s\n", alarm);
	if (used + strlen(alarm) + 2 < sizeof(cs->warnings))
		snprintf(cs->warnings + used, sizeof(cs->warnings) - used, "%s%s", used ? "\n" : "",
			 alarm);
}

int cli_run_store_open(struct cli_run_store *cs, const char *reports, const char *line,
		       const char *station)
{
	memset(cs, 0, sizeof(*cs));
	cs->line = line && line[0] ? line : NULL;
	snprintf(cs->path, sizeof(cs->path), "%s/%s", reports ? reports : "reports",
		 RIG_STORE_DEFAULT_NAME);
	if (mkdir_reports(reports ? reports : "reports") < 0 ||
	    rig_store_open(cs->path, &cs->store) < 0) {
		fprintf(stderr, "rig: warning: results store %s not opened (%s); the run goes on "
			"and its record can be stored later with `rig results import`\n",
			cs->path, rig_last_error());
		cs->store = NULL;
		return 0;
	}
	rig_store_set_queue(cs->store, cs->line != NULL);
	if (rig_store_drift(cs->store, station, keep_alarm, cs) < 0)
		fprintf(stderr, "rig: warning: station drift not checked: %s\n", rig_last_error());
	cs->sink = rig_store_sink(cs->store);
	return 0;
}

/* `rig results push` in its own session, its output appended to
 * REPORTS/.push.log: the station does not wait for the server. */
static void push_detached(const struct cli_run_store *cs)
{
	char log[1100], exe[1024];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	pid_t pid;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = 0;
	snprintf(log, sizeof(log), "%s.push.log", cs->path);
	char *argv[] = {exe, "results", "push", "--store", (char *)cs->path, "--line",
			(char *)cs->line, "--quiet", NULL};
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	posix_spawnattr_init(&attr);
	/* Its own process group: a Ctrl-C at the station does not cut a push short. */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&attr, 0);
	if (posix_spawn(&pid, exe, &fa, &attr, argv, environ) != 0)
		fprintf(stderr, "rig: warning: results not pushed now (no process); they wait in "
			"the outbox of %s\n", cs->path);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
}

void cli_run_store_close(struct cli_run_store *cs)
{
	if (!cs->store)
		return;
	rig_store_close(cs->store);
	cs->store = NULL;
	if (cs->line)
		push_detached(cs);
}
