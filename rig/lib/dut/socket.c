/* The stream-socket transport of the DUT protocol (unix:// and tcp://): the
 * simulator's pens and the tests. Non-blocking socket plus poll(), so that
 * every operation honours its timeout and the interrupt flag. Details name
 * the operation; the client prefixes the pen's address. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rig/clock.h>
#include <rig/rig.h>

#include "core/core.h"
#include "dut/transport.h"

struct sock {
	int fd;
};

static int errno_to_err(int e)
{
	switch (e) {
	case ENOENT:
	case ECONNREFUSED:
	case EHOSTUNREACH:
	case ENETUNREACH:
		return RIG_ERR_NOT_FOUND;
	case EACCES:
	case EPERM:
		return RIG_ERR_PERMISSION;
	case ETIMEDOUT:
		return RIG_ERR_TIMEOUT;
	case EPIPE:
	case ECONNRESET:
	case ECONNABORTED:
	case ENOTCONN:
		return RIG_ERR_DISCONNECTED;
	case ENOMEM:
	case ENOBUFS:
		return RIG_ERR_NOMEM;
	default:
		return RIG_ERR_IO;
	}
}

/* Wait until @p fd is ready for @p events. Returns 1 when ready (or in an
 * error/hang-up state the next call will report), 0 on timeout,
 * or RIG_ERR_IO. */
static int wait_fd(int fd, short events, int timeout_ms)
{
	int64_t deadline = rig_clock_ms() + timeout_ms;
	struct pollfd p = {.fd = fd, .events = events};

	for (;;) {
		int64_t left = deadline - rig_clock_ms();
		int n = poll(&p, 1, left > 0 ? (int)left : 0);
		if (n > 0)
			return 1;
		if (n == 0)
			return 0;
		/* EINTR: keep waiting. A request is bounded by its timeout, and SAFE
		 * must complete after Ctrl-C (the client decides what to send). */
		if (errno != EINTR)
			return rigi_fail(RIG_ERR_IO, "poll: %s", strerror(errno));
	}
}

static int connect_fail(int e, const char *what)
{
	const char *hint = "check the address";
	if (e == ENOENT || e == ECONNREFUSED)
		hint = "start the simulator (rig sim) or check the address";
	else if (e == EACCES || e == EPERM)
		hint = "check the socket's permissions";
	return rigi_fail(errno_to_err(e), "connect to %s: %s; %s", what, strerror(e), hint);
}

/* Connect the non-blocking socket @p fd to @p addr (@p what names it)
 * within @p timeout_ms. Returns 0 or a negative rig_err with a detail. */
static int connect_fd(int fd, const struct sockaddr *addr, socklen_t len, int timeout_ms,
		      const char *what)
{
	int soerr = 0;
	socklen_t slen = sizeof(soerr);
	int ret;

	if (connect(fd, addr, len) == 0)
		return 0;
	if (errno != EINPROGRESS && errno != EAGAIN)
		return connect_fail(errno, what);
	ret = wait_fd(fd, POLLOUT, timeout_ms);
	if (ret < 0)
		return ret;
	if (ret == 0)
		return rigi_fail(RIG_ERR_TIMEOUT, "connect to %s: no answer in %d ms; check the "
				 "address and the network", what, timeout_ms);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen) != 0)
		return connect_fail(errno, what);
	return soerr ? connect_fail(soerr, what) : 0;
}

static int open_unix(const struct rig_uri *uri, int timeout_ms, int *out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(uri->path);
	int fd, ret;

	if (n >= sizeof(sa.sun_path))
		return rigi_fail(RIG_ERR_FORMAT, "socket path of %zu characters is longer than "
				 "the %zu a Unix socket allows", n, sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, uri->path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return rigi_fail(errno_to_err(errno), "socket: %s", strerror(errno));
	ret = connect_fd(fd, (const struct sockaddr *)&sa, sizeof(sa), timeout_ms, uri->path);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	*out = fd;
	return 0;
}

static int open_tcp(const struct rig_uri *uri, int timeout_ms, int *out)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char port[8];
	int ret = RIG_ERR_NOT_FOUND;
	int one = 1;
	int gai;

	snprintf(port, sizeof(port), "%u", uri->port);
	gai = getaddrinfo(uri->host, port, &hints, &res);
	if (gai != 0)
		return rigi_fail(RIG_ERR_NOT_FOUND, "resolve %s: %s; check the host name",
				 uri->host, gai_strerror(gai));
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
				ai->ai_protocol);
		if (fd < 0) {
			ret = rigi_fail(errno_to_err(errno), "socket: %s", strerror(errno));
			continue;
		}
		ret = connect_fd(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, uri->text);
		if (ret == 0) {
			/* Frames are small and latency-bound: do not batch them. */
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
			*out = fd;
			break;
		}
		close(fd);
		if (ret == RIG_ERR_INTERRUPTED)
			break;
	}
	freeaddrinfo(res);
	return ret;
}

static int sock_open(const struct rig_uri *uri, int timeout_ms, void **priv)
{
	struct sock *s;
	int fd = -1;
	int ret;

	if (uri->scheme == RIG_URI_UNIX)
		ret = open_unix(uri, timeout_ms, &fd);
	else if (uri->scheme == RIG_URI_TCP)
		ret = open_tcp(uri, timeout_ms, &fd);
	else
		ret = rigi_fail(RIG_ERR_INTERNAL, "socket transport given a %s address",
				rig_uri_scheme_name(uri->scheme));
	if (ret < 0)
		return ret;
	s = malloc(sizeof(*s));
	if (!s) {
		close(fd);
		return rigi_fail(RIG_ERR_NOMEM, "out of memory opening a socket");
	}
	s->fd = fd;
	*priv = s;
	return 0;
}

static int sock_write(void *priv, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct sock *s = priv;
	int64_t deadline = rig_clock_ms() + timeout_ms;
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		int ret;
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			return rigi_fail(errno_to_err(errno), "send: %s", strerror(errno));
		ret = wait_fd(s->fd, POLLOUT, (int)(deadline - rig_clock_ms()));
		if (ret < 0)
			return ret;
		if (ret == 0)
			return rigi_fail(RIG_ERR_TIMEOUT, "send: %zu of %zu bytes sent in %d ms",
					 off, len, timeout_ms);
	}
	return 0;
}

static int sock_read(void *priv, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
	struct sock *s = priv;
	ssize_t n;
	int ret;

	*got = 0;
	ret = wait_fd(s->fd, POLLIN, timeout_ms);
	if (ret <= 0)
		return ret;
	n = recv(s->fd, buf, cap, MSG_DONTWAIT);
	if (n > 0) {
		*got = (size_t)n;
		return 0;
	}
	if (n == 0)
		return rigi_fail(RIG_ERR_DISCONNECTED, "the link was closed by the pen's side");
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return rigi_fail(errno_to_err(errno), "recv: %s", strerror(errno));
}

static void sock_close(void *priv)
{
	struct sock *s = priv;
	if (!s)
		return;
	close(s->fd);
	free(s);
}

const struct rigi_transport_ops rigi_transport_socket = {
	.name = "socket",
	.open = sock_open,
	.write = sock_write,
	.read = sock_read,
	.close = sock_close,
};
