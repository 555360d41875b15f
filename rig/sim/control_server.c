/* The control socket of a running simulator: a Unix stream socket at
 * <state_dir>/control.sock; each line received is run through
 * rig_sim_control() and its reply line sent back. Also the client side
 * (rig_sim_control_remote) used by tests and `rig sim ctl`. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"
#include "sim_internal.h"

static int unix_address(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return rigi_fail(RIG_ERR_ARG, "socket path %s is longer than %zu bytes", path,
				 sizeof(addr->sun_path) - 1);
	memcpy(addr->sun_path, path, strlen(path) + 1);
	return 0;
}

static int send_reply(int fd, char *out)
{
	size_t len = strlen(out);
	out[len++] = '\n';
	return write(fd, out, len) == (ssize_t)len ? 0 : -1;
}

/* Serve one client until it closes: line in, reply line out. A line longer
 * than RIG_SIM_CONTROL_LINE_MAX is skipped up to its newline and answered
 * with an error, never cut and run. */
static void serve_client(struct rig_sim *sim, int fd)
{
	char line[RIG_SIM_CONTROL_LINE_MAX + 2]; /* the line, its '\n', NUL */
	char out[1024];
	size_t used = 0;
	int skipping = 0;

	while (sim->control_running) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 200) <= 0)
			continue;
		n = read(fd, line + used, sizeof(line) - 1 - used);
		if (n <= 0)
			return;
		used += (size_t)n;
		line[used] = '\0';
		char *nl;
		while ((nl = memchr(line, '\n', used)) != NULL) {
			*nl = '\0';
			if (skipping)
				snprintf(out, sizeof(out), "error line too long, at most %d bytes",
					 RIG_SIM_CONTROL_LINE_MAX);
			else
				rig_sim_control(sim, line, out, sizeof(out) - 1);
			skipping = 0;
			if (send_reply(fd, out) < 0)
				return;
			used -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, used + 1);
		}
		if (used == sizeof(line) - 1) {
			skipping = 1; /* over-long: drop what came so far */
			used = 0;
		}
	}
}

static void *control_thread(void *arg)
{
	struct rig_sim *sim = arg;
	while (sim->control_running) {
		struct pollfd p = {.fd = sim->control_fd, .events = POLLIN};
		if (poll(&p, 1, 200) <= 0)
			continue;
		int fd = accept(sim->control_fd, NULL, NULL);
		/* A client that stops reading must not hold up the simulator's stop. */
		struct timeval send_timeout = {1, 0};
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
		serve_client(sim, fd);
		close(fd);
	}
	return NULL;
}

int rigi_sim_control_serve(struct rig_sim *sim)
{
	struct sockaddr_un addr;
	int ret;

	snprintf(sim->control_path, sizeof(sim->control_path), "%s/control.sock", sim->state_dir);
	ret = unix_address(sim->control_path, &addr);
	if (ret < 0)
		return ret;
	/* A socket file left by a dead simulator is replaced; a live one is not. */
	{
		char reply[64];
		if (rig_sim_control_remote(sim->control_path, "help", reply, sizeof(reply)) == 0)
			return rigi_fail(RIG_ERR_BUSY,
					 "another simulator is running with state directory %s; "
					 "stop it or give --state-dir another directory",
					 sim->state_dir);
		rig_clear_error();
	}
	unlink(sim->control_path);
	sim->control_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sim->control_fd < 0 ||
	    bind(sim->control_fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(sim->control_fd, 4) != 0)
		return rigi_fail(RIG_ERR_IO, "control socket %s: %s", sim->control_path,
				 strerror(errno));
	sim->control_running = 1;
	if (pthread_create(&sim->control_thread, NULL, control_thread, sim) != 0) {
		sim->control_running = 0;
		return rigi_fail(RIG_ERR_IO, "cannot start the control thread");
	}
	return 0;
}

void rigi_sim_control_shutdown(struct rig_sim *sim)
{
	if (sim->control_running) {
		sim->control_running = 0;
		pthread_join(sim->control_thread, NULL);
	}
	if (sim->control_fd >= 0) {
		close(sim->control_fd);
		unlink(sim->control_path);
		sim->control_fd = -1;
	}
}

int rig_sim_control_remote(const char *path, const char *line, char *reply, size_t cap)
{
	struct sockaddr_un addr;
	size_t used = 0;
	int ret = unix_address(path, &addr);
	int fd;

	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		ret = rigi_fail(RIG_ERR_NOT_FOUND,
				"no simulator control socket at %s (%s): is `rig sim` running "
				"with this state directory?",
				path, strerror(errno));
		goto out;
	}
	if (write(fd, line, strlen(line)) != (ssize_t)strlen(line) || write(fd, "\n", 1) != 1) {
		ret = rigi_fail(RIG_ERR_IO, "control socket %s: write failed", path);
		goto out;
	}
	while (used + 1 < cap) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 5000) <= 0) {
			ret = rigi_fail(RIG_ERR_TIMEOUT, "control socket %s: no reply", path);
			goto out;
		}
		n = read(fd, reply + used, cap - 1 - used);
		if (n <= 0)
			break;
		used += (size_t)n;
		if (memchr(reply, '\n', used))
			break;
	}
	reply[used] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	ret = strncmp(reply, "ok", 2) == 0 ? 0 : RIG_ERR_ARG;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}
