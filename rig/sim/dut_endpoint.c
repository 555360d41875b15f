/* The DUT endpoint of a simulated nest: a Unix-domain stream socket served
 * by one thread with poll(), a self-pipe to wake it for stop, pen swaps and
 * link cuts, and the nest state under one lock (see dut_endpoint.h). The
 * thread also runs the nest's pen's host-loss watchdog every 50 ms. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"
#include "dut_endpoint.h"

#define RX_CHUNK 4096u
#define TX_CAP (4u * 1036u)
#define TICK_MS 50 /* the pen's watchdog runs at least this often */

struct sim_dut_endpoint {
	pthread_mutex_t lock;
	pthread_t thread;
	int running;
	int stopping;
	char *path;
	int listen_fd;
	int client_fd;
	int wake[2];           /* self-pipe: [0] polled by the thread */
	struct sim_pen *pen;   /* borrowed; NULL: empty nest */
	int drop_client;       /* close the client without touching any pen */
	unsigned long boots;   /* the pen's boot count when the host connected */
	long cut_after;        /* received bytes before a link cut; -1 off */
	int hold_cmd;          /* command code held before the pen acts on it; -1 off */
	unsigned hold_skip;    /* occurrences to let through first */
	unsigned hold_ms;      /* how long (real time) */
};

static void wake(struct sim_dut_endpoint *ep)
{
	static const char b = 1;
	if (write(ep->wake[1], &b, 1) < 0 && errno != EAGAIN)
		RIGI_WARN("sim", "endpoint %s: wake-up failed: %s", ep->path, strerror(errno));
}

/* Close the host connection; @p notify tells the nest's pen. */
static void close_client(struct sim_dut_endpoint *ep, int notify, const char *why)
{
	if (ep->client_fd < 0)
		return;
	close(ep->client_fd);
	ep->client_fd = -1;
	if (notify && ep->pen)
		sim_pen_link_closed(ep->pen);
	RIGI_DEBUG("sim", "endpoint %s: connection closed (%s)", ep->path, why);
}

static int refuse_stale_or_busy(const char *path, const struct sockaddr_un *addr)
{
	struct stat st;
	int fd;

	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode))
		return rigi_fail(RIG_ERR_BUSY, "endpoint %s: path exists and is not a socket; "
				 "choose another path", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0) {
		close(fd);
		return rigi_fail(RIG_ERR_BUSY, "endpoint %s: another server answers there; "
				 "stop it or choose another path", path);
	}
	if (fd >= 0)
		close(fd);
	unlink(path);
	return 0;
}

static int listen_on(struct sim_dut_endpoint *ep)
{
	struct sockaddr_un addr;
	int ret;

	memset(&addr, 0, sizeof(addr));
	addr.sun_family = AF_UNIX;
	if (strlen(ep->path) >= sizeof(addr.sun_path))
		return rigi_fail(RIG_ERR_ARG, "endpoint %s: path longer than %zu bytes", ep->path,
				 sizeof(addr.sun_path) - 1);
	memcpy(addr.sun_path, ep->path, strlen(ep->path));
	ret = refuse_stale_or_busy(ep->path, &addr);
	if (ret < 0)
		return ret;
	ep->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ep->listen_fd < 0 ||
	    bind(ep->listen_fd, (const struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    listen(ep->listen_fd, 4) != 0)
		return rigi_fail(RIG_ERR_IO, "endpoint %s: cannot listen: %s; check the "
				 "directory exists and is writable", ep->path, strerror(errno));
	return 0;
}

struct sim_dut_endpoint *sim_dut_endpoint_new(const char *path)
{
	struct sim_dut_endpoint *ep = calloc(1, sizeof(*ep));

	if (!ep || !path || !(ep->path = strdup(path))) {
		free(ep);
		rigi_fail(path ? RIG_ERR_NOMEM : RIG_ERR_ARG, "endpoint: %s",
			  path ? "out of memory" : "no socket path given");
		return NULL;
	}
	pthread_mutex_init(&ep->lock, NULL);
	ep->listen_fd = ep->client_fd = -1;
	ep->wake[0] = ep->wake[1] = -1;
	ep->cut_after = -1;
	ep->hold_cmd = -1;
	if (pipe(ep->wake) != 0 || fcntl(ep->wake[0], F_SETFL, O_NONBLOCK) != 0 ||
	    fcntl(ep->wake[1], F_SETFL, O_NONBLOCK) != 0) {
		rigi_fail(RIG_ERR_IO, "endpoint %s: pipe: %s", path, strerror(errno));
		sim_dut_endpoint_free(ep);
		return NULL;
	}
	if (listen_on(ep) < 0) {
		if (ep->listen_fd >= 0)
			unlink(ep->path);
		sim_dut_endpoint_free(ep);
		return NULL;
	}
	return ep;
}

static void accept_client(struct sim_dut_endpoint *ep)
{
	int fd = accept(ep->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (ep->client_fd >= 0 || !ep->pen) {
		/* Busy or empty nest: the host sees the link close. */
		close(fd);
		return;
	}
	ep->client_fd = fd;
	ep->boots = sim_pen_boot_count(ep->pen);
	RIGI_DEBUG("sim", "endpoint %s: host connected", ep->path);
}

static int send_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1; /* peer gone, or not reading its responses */
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A slow pen: a request frame of the held command waits hold_ms before the
 * pen gets it (once, after hold_skip others). A host that dies meanwhile
 * still delivered the whole request, as over a real link. */
static void hold_if_asked(struct sim_dut_endpoint *ep, const uint8_t *in, size_t n)
{
	for (size_t i = 0; ep->hold_cmd >= 0 && i + 3 < n; i++) {
		if (in[i] != 0xA5 || in[i + 1] != 0x5A || in[i + 2] != 0x01 ||
		    in[i + 3] != (uint8_t)ep->hold_cmd)
			continue;
		if (ep->hold_skip > 0) {
			ep->hold_skip--;
			continue;
		}
		RIGI_INFO("sim", "endpoint %s: holding command 0x%02x for %u ms", ep->path,
			  ep->hold_cmd, ep->hold_ms);
		ep->hold_cmd = -1;
		pthread_mutex_unlock(&ep->lock);
		usleep(ep->hold_ms * 1000u);
		pthread_mutex_lock(&ep->lock);
	}
}

/* Bytes from the host to the pen, responses back, and the injected cut. */
static void serve_client(struct sim_dut_endpoint *ep)
{
	uint8_t in[RX_CHUNK], out[TX_CAP];
	ssize_t n = recv(ep->client_fd, in, sizeof(in), MSG_DONTWAIT);
	size_t feed, n_out;
	int cut = 0;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_client(ep, 1, n == 0 ? "host closed" : strerror(errno));
		return;
	}
	if (sim_pen_boot_count(ep->pen) != ep->boots) {
		/* The pen rebooted (power cycle): like USB, the link drops. */
		close_client(ep, 0, "pen rebooted");
		return;
	}
	feed = (size_t)n;
	hold_if_asked(ep, in, feed);
	if (ep->cut_after >= 0 && (long)feed >= ep->cut_after) {
		feed = (size_t)ep->cut_after;
		cut = 1;
	} else if (ep->cut_after >= 0) {
		ep->cut_after -= (long)feed;
	}
	n_out = sim_pen_receive(ep->pen, in, feed, out, sizeof(out));
	if (cut) {
		ep->cut_after = -1;
		close_client(ep, 1, "injected link cut");
	} else if (sim_pen_boot_count(ep->pen) != ep->boots) {
		close_client(ep, 0, "pen lost power");
	} else if (n_out > 0 && send_all(ep->client_fd, out, n_out) < 0) {
		close_client(ep, 1, "send failed");
	}
}

static void *endpoint_thread(void *arg)
{
	struct sim_dut_endpoint *ep = arg;
	struct pollfd pfd[3];
	char drain[64];
	int timeout;

	for (;;) {
		pthread_mutex_lock(&ep->lock);
		if (ep->drop_client)
			close_client(ep, 0, "pen removed or swapped");
		ep->drop_client = 0;
		if (ep->client_fd >= 0 && ep->cut_after == 0) {
			ep->cut_after = -1;
			close_client(ep, 1, "injected link cut");
		}
		if (ep->stopping) {
			close_client(ep, 1, "endpoint stopped");
			pthread_mutex_unlock(&ep->lock);
			return NULL;
		}
		pfd[0] = (struct pollfd){.fd = ep->wake[0], .events = POLLIN};
		pfd[1] = (struct pollfd){.fd = ep->listen_fd, .events = POLLIN};
		pfd[2] = (struct pollfd){.fd = ep->client_fd, .events = POLLIN};
		timeout = ep->pen ? TICK_MS : -1;
		pthread_mutex_unlock(&ep->lock);

		if (poll(pfd, pfd[2].fd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR)
			break;
		pthread_mutex_lock(&ep->lock);
		while (read(ep->wake[0], drain, sizeof(drain)) > 0)
			;
		/* The pen's host-loss watchdog runs whether or not a host is
		 * connected: a host that died leaves the pen alone here. */
		if (ep->pen)
			sim_pen_tick(ep->pen);
		if (!ep->drop_client && !ep->stopping) {
			/* Serve first: a host that hung up is reaped before the
			 * next one is accepted. */
			if (pfd[2].fd >= 0 && pfd[2].fd == ep->client_fd &&
			    (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
				serve_client(ep);
			if (pfd[1].revents & POLLIN)
				accept_client(ep);
		}
		pthread_mutex_unlock(&ep->lock);
	}
	RIGI_ERROR("sim", "endpoint %s: poll failed: %s; endpoint stopped", ep->path,
		   strerror(errno));
	return NULL;
}

int sim_dut_endpoint_start(struct sim_dut_endpoint *ep)
{
	int ret = 0;
	pthread_mutex_lock(&ep->lock);
	if (ep->running) {
		ret = rigi_fail(RIG_ERR_STATE, "endpoint %s already running", ep->path);
	} else {
		ep->stopping = 0;
		if (pthread_create(&ep->thread, NULL, endpoint_thread, ep) != 0)
			ret = rigi_fail(RIG_ERR_INTERNAL, "endpoint %s: cannot start its thread",
					ep->path);
		else
			ep->running = 1;
	}
	pthread_mutex_unlock(&ep->lock);
	return ret;
}

void sim_dut_endpoint_stop(struct sim_dut_endpoint *ep)
{
	pthread_mutex_lock(&ep->lock);
	if (!ep->running) {
		pthread_mutex_unlock(&ep->lock);
		return;
	}
	ep->stopping = 1;
	ep->running = 0;
	pthread_mutex_unlock(&ep->lock);
	wake(ep);
	pthread_join(ep->thread, NULL);
	pthread_mutex_lock(&ep->lock);
	close_client(ep, 1, "endpoint stopped");
	pthread_mutex_unlock(&ep->lock);
}

void sim_dut_endpoint_free(struct sim_dut_endpoint *ep)
{
	if (!ep)
		return;
	sim_dut_endpoint_stop(ep);
	if (ep->listen_fd >= 0) {
		close(ep->listen_fd);
		unlink(ep->path);
	}
	for (int i = 0; i < 2; i++)
		if (ep->wake[i] >= 0)
			close(ep->wake[i]);
	pthread_mutex_destroy(&ep->lock);
	free(ep->path);
	free(ep);
}

void sim_dut_endpoint_set_pen(struct sim_dut_endpoint *ep, struct sim_pen *pen)
{
	pthread_mutex_lock(&ep->lock);
	if (pen != ep->pen) {
		if (ep->client_fd >= 0) {
			if (ep->pen)
				sim_pen_link_closed(ep->pen);
			ep->drop_client = 1;
		}
		ep->pen = pen;
	}
	pthread_mutex_unlock(&ep->lock);
	wake(ep);
}

void sim_dut_endpoint_hold(struct sim_dut_endpoint *ep, int cmd, unsigned skip, unsigned ms)
{
	pthread_mutex_lock(&ep->lock);
	ep->hold_cmd = cmd;
	ep->hold_skip = skip;
	ep->hold_ms = ms;
	pthread_mutex_unlock(&ep->lock);
}

void sim_dut_endpoint_cut_after(struct sim_dut_endpoint *ep, long n)
{
	pthread_mutex_lock(&ep->lock);
	ep->cut_after = n < 0 ? -1 : n;
	pthread_mutex_unlock(&ep->lock);
	wake(ep);
}

int sim_dut_endpoint_connected(struct sim_dut_endpoint *ep)
{
	int c;
	pthread_mutex_lock(&ep->lock);
	c = ep->client_fd >= 0 && !ep->drop_client;
	pthread_mutex_unlock(&ep->lock);
	return c;
}

const char *sim_dut_endpoint_path(const struct sim_dut_endpoint *ep)
{
	return ep->path;
}
