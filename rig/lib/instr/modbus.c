/* The only file of needle-rig that calls libmodbus (3.1.6): the client used
 * by the instrument drivers and the server used by the simulated station.
 *
 * Client habits (measured, see docs/registers.md and the team's notes):
 * 200 ms response timeout; no MODBUS_ERROR_RECOVERY_LINK (it blocks for as
 * long as the server is gone); after a timeout or a garbled reply we wait one
 * timeout and flush, so a late reply cannot desynchronise later requests;
 * on a lost link we close and reconnect with bounded retries and backoff.
 * A modbus_t is not thread-safe, so each bus (TCP host:port or RTU device)
 * has one context and one lock, shared by every instrument on it.
 *
 * Server: one thread polls the listener, the TCP clients and the RTU tty and
 * hands each request to the station's callbacks by unit id, then answers
 * with modbus_reply() from a scratch mapping filled on demand. RTU requests
 * are framed by rtu_frame.c rather than by modbus_receive(): 3.1.6 filters RTU
 * requests on one slave id and, after a request for another unit, swallows
 * the next valid request as a "confirmation to ignore", so one context
 * cannot serve several units on one tty. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#include <rig/clock.h>
#include <rig/rig.h>

#include "core/core.h"
#include "instr/modbus.h"
#include "instr/rtu_frame.h"

#define DOMAIN "modbus"
#define CONNECT_ATTEMPTS 3
#define BACKOFF_FIRST_MS 50
#define WHERE_MAX (RIG_URI_TEXT_MAX + 48)

/* ======================================================================
 * Client
 * ====================================================================== */

struct mb_bus {
	struct mb_bus *next;
	char key[RIG_URI_TEXT_MAX + 16]; /* "tcp:HOST:PORT" or "rtu:PATH" */
	char where[WHERE_MAX];           /* "modbus-tcp://HOST:PORT" */
	struct rig_uri uri;              /* line settings of the first opener */
	int refs;
	pthread_mutex_t lock;            /* serialises every use of ctx */
	modbus_t *ctx;
	bool connected;
};

struct rigi_mb {
	struct mb_bus *bus;
	int unit;
	int timeout_ms;
	char where[WHERE_MAX + 16]; /* bus where + " unit N" */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mb_bus *registry;

enum mb_fn { FN_READ_INPUT, FN_READ_HOLDING, FN_WRITE_ONE, FN_WRITE_MANY };

static const char *const fn_names[] = {
	[FN_READ_INPUT] = "read input",
	[FN_READ_HOLDING] = "read holding",
	[FN_WRITE_ONE] = "write",
	[FN_WRITE_MANY] = "write multiple",
};

struct mb_req {
	enum mb_fn fn;
	uint16_t addr;
	uint16_t n;
	uint16_t *dst;
	const uint16_t *src;
};

/* How each libmodbus exception maps to a rig error, and what to do. */
static const struct {
	int code;
	const char *name;
	int err;
	const char *hint;
} exceptions[] = {
	{EMBXILFUN, "exception 0x01 illegal function", RIG_ERR_UNSUPPORTED,
	 "the instrument does not support this function; check the unit id and device type"},
	{EMBXILADD, "exception 0x02 illegal data address", RIG_ERR_RANGE,
	 "the register is not in this instrument's map or not readable now; check the unit "
	 "id, the device type and docs/registers.md"},
	{EMBXILVAL, "exception 0x03 illegal data value", RIG_ERR_RANGE,
	 "the instrument refused the value; check it against docs/registers.md"},
	{EMBXSFAIL, "exception 0x04 slave device failure", RIG_ERR_INSTRUMENT,
	 "the instrument reports an internal failure; check its status and the sensor head"},
	{EMBXACK, "exception 0x05 acknowledge", RIG_ERR_BUSY,
	 "the instrument accepted a long operation; poll its status"},
	{EMBXSBUSY, "exception 0x06 slave device busy", RIG_ERR_BUSY,
	 "the instrument cannot do this in its present state; wait for it or abort first"},
	{EMBXNACK, "exception 0x07 negative acknowledge", RIG_ERR_DEVICE,
	 "the instrument cannot perform the request; check its status"},
	{EMBXMEMPAR, "exception 0x08 memory parity error", RIG_ERR_INSTRUMENT,
	 "the instrument's memory failed; have it serviced"},
	{EMBXGPATH, "exception 0x0A gateway path unavailable", RIG_ERR_NOT_FOUND,
	 "the gateway has no path to this unit; check the unit id and the gateway"},
	{EMBXGTAR, "exception 0x0B gateway target device failed to respond", RIG_ERR_NOT_FOUND,
	 "nothing answers as this unit behind the gateway; check the unit id and that the "
	 "instrument is powered"},
};

static bool is_link_error(int e)
{
	return e == ECONNRESET || e == EPIPE || e == EBADF || e == ECONNREFUSED ||
	       e == ENOTCONN || e == ECONNABORTED || e == EIO;
}

static void set_timeout(modbus_t *ctx, int ms)
{
	modbus_set_response_timeout(ctx, (uint32_t)(ms / 1000), (uint32_t)(ms % 1000) * 1000u);
}

static int connect_error(const struct mb_bus *bus, int e)
{
	const char *why = modbus_strerror(e);
	if (e == ENOENT)
		return rigi_fail(RIG_ERR_NOT_FOUND, "%s: no such device (%s); check the adapter "
				 "is plugged in and the path", bus->where, why);
	if (e == EACCES || e == EPERM)
		return rigi_fail(RIG_ERR_PERMISSION, "%s: %s; add the user to the group owning "
				 "the device (usually dialout)", bus->where, why);
	return rigi_fail(RIG_ERR_DISCONNECTED, "cannot connect to %s after %d attempts: %s; "
			 "check the station (or `rig sim`) is running and the address is right",
			 bus->where, CONNECT_ATTEMPTS, why);
}

/* Connect with bounded retries: at most CONNECT_ATTEMPTS tries with a
 * doubling backoff (50, 100 ms), so a caller never waits much over a second
 * even when each connect attempt itself times out. */
static int bus_connect(struct mb_bus *bus, int timeout_ms)
{
	int64_t backoff_ms = BACKOFF_FIRST_MS;
	int e = 0;

	for (int attempt = 1; attempt <= CONNECT_ATTEMPTS; attempt++) {
		modbus_close(bus->ctx);
		set_timeout(bus->ctx, timeout_ms);
		if (modbus_connect(bus->ctx) == 0) {
			bus->connected = true;
			if (attempt > 1)
				RIGI_WARN(DOMAIN, "%s: connected at attempt %d", bus->where, attempt);
			return 0;
		}
		e = errno;
		RIGI_DEBUG(DOMAIN, "%s: connect attempt %d: %s", bus->where, attempt,
			   modbus_strerror(e));
		if (attempt == CONNECT_ATTEMPTS || rig_interrupted())
			break;
		rig_sleep_ns(backoff_ms * 1000000);
		backoff_ms *= 2;
	}
	return connect_error(bus, e);
}

static void bus_disconnect(struct mb_bus *bus)
{
	modbus_close(bus->ctx);
	bus->connected = false;
}

static modbus_t *new_client_ctx(const struct rig_uri *u)
{
	char service[8];
	if (u->scheme == RIG_URI_MODBUS_TCP) {
		snprintf(service, sizeof(service), "%u", u->port);
		return modbus_new_tcp_pi(u->host, service);
	}
	return modbus_new_rtu(u->path, u->baud, u->parity, u->data_bits, u->stop_bits);
}

static void bus_key(const struct rig_uri *u, char *key, size_t kcap, char *where, size_t wcap)
{
	if (u->scheme == RIG_URI_MODBUS_TCP) {
		snprintf(key, kcap, "tcp:%s:%u", u->host, u->port);
		snprintf(where, wcap, "modbus-tcp://%s:%u", u->host, u->port);
	} else {
		snprintf(key, kcap, "rtu:%s", u->path);
		snprintf(where, wcap, "modbus-rtu://%s", u->path);
	}
}

static bool same_line(const struct rig_uri *a, const struct rig_uri *b)
{
	return a->scheme != RIG_URI_MODBUS_RTU ||
	       (a->baud == b->baud && a->parity == b->parity && a->data_bits == b->data_bits &&
		a->stop_bits == b->stop_bits);
}

static void bus_free(struct mb_bus *bus)
{
	if (bus->ctx) {
		modbus_close(bus->ctx);
		modbus_free(bus->ctx);
	}
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

/* Find or create the bus of @p u; called with registry_lock held. */
static int bus_get(const struct rig_uri *u, struct mb_bus **out)
{
	struct mb_bus *bus;
	char key[sizeof(bus->key)];
	char where[sizeof(bus->where)];

	bus_key(u, key, sizeof(key), where, sizeof(where));
	for (bus = registry; bus; bus = bus->next) {
		if (strcmp(bus->key, key) != 0)
			continue;
		if (!same_line(&bus->uri, u))
			return rigi_fail(RIG_ERR_BUSY, "%s is already open at %d baud %d%c%d; "
					 "every instrument on one bus must use the same line settings",
					 where, bus->uri.baud, bus->uri.data_bits, bus->uri.parity,
					 bus->uri.stop_bits);
		bus->refs++;
		*out = bus;
		return 0;
	}
	bus = calloc(1, sizeof(*bus));
	if (!bus)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", where);
	memcpy(bus->key, key, sizeof(key));
	memcpy(bus->where, where, sizeof(where));
	bus->uri = *u;
	bus->refs = 1;
	pthread_mutex_init(&bus->lock, NULL);
	bus->ctx = new_client_ctx(u);
	if (!bus->ctx) {
		int e = errno;
		bus_free(bus);
		return rigi_fail(RIG_ERR_ARG, "%s: libmodbus refused the address: %s", where,
				 modbus_strerror(e));
	}
	/* Recovery is ours (bounded); libmodbus's own link recovery can block. */
	modbus_set_error_recovery(bus->ctx, MODBUS_ERROR_RECOVERY_NONE);
	bus->next = registry;
	registry = bus;
	*out = bus;
	return 0;
}

static void bus_put(struct mb_bus *bus)
{
	struct mb_bus **p;

	pthread_mutex_lock(&registry_lock);
	if (--bus->refs > 0) {
		pthread_mutex_unlock(&registry_lock);
		return;
	}
	for (p = &registry; *p; p = &(*p)->next)
		if (*p == bus) {
			*p = bus->next;
			break;
		}
	pthread_mutex_unlock(&registry_lock);
	bus_free(bus);
}

int rigi_mb_open(const struct rig_uri *uri, struct rigi_mb **out)
{
	struct rigi_mb *mb;
	int ret;

	*out = NULL;
	if (!uri || (uri->scheme != RIG_URI_MODBUS_TCP && uri->scheme != RIG_URI_MODBUS_RTU) ||
	    uri->unit < 0)
		return rigi_fail(RIG_ERR_ARG, "'%s' is not a Modbus instrument address; expected "
				 "modbus-tcp://HOST:PORT?unit=N or modbus-rtu:///dev/TTY?unit=N",
				 uri ? uri->text : "(null)");
	mb = calloc(1, sizeof(*mb));
	if (!mb)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", uri->text);
	mb->unit = uri->unit;
	mb->timeout_ms = uri->timeout_ms > 0 ? uri->timeout_ms : RIGI_MB_DEFAULT_TIMEOUT_MS;
	pthread_mutex_lock(&registry_lock);
	ret = bus_get(uri, &mb->bus);
	pthread_mutex_unlock(&registry_lock);
	if (ret < 0) {
		free(mb);
		return ret;
	}
	snprintf(mb->where, sizeof(mb->where), "%s unit %d", mb->bus->where, mb->unit);
	pthread_mutex_lock(&mb->bus->lock);
	ret = mb->bus->connected ? 0 : bus_connect(mb->bus, mb->timeout_ms);
	pthread_mutex_unlock(&mb->bus->lock);
	if (ret < 0) {
		rigi_mb_close(mb);
		return ret;
	}
	*out = mb;
	return 0;
}

void rigi_mb_close(struct rigi_mb *mb)
{
	if (!mb)
		return;
	bus_put(mb->bus);
	free(mb);
}

const char *rigi_mb_where(const struct rigi_mb *mb)
{
	return mb->where;
}

const char *rigi_mb_bus_where(const struct rigi_mb *mb)
{
	return mb->bus->where;
}

int rigi_mb_unit(const struct rigi_mb *mb)
{
	return mb->unit;
}

static int call_libmodbus(modbus_t *ctx, const struct mb_req *r)
{
	switch (r->fn) {
	case FN_READ_INPUT:
		return modbus_read_input_registers(ctx, r->addr, r->n, r->dst);
	case FN_READ_HOLDING:
		return modbus_read_registers(ctx, r->addr, r->n, r->dst);
	case FN_WRITE_ONE:
		return modbus_write_register(ctx, r->addr, r->src[0]);
	case FN_WRITE_MANY:
		return modbus_write_registers(ctx, r->addr, r->n, r->src);
	}
	errno = EINVAL;
	return -1;
}

static int request_error(const struct rigi_mb *mb, const struct mb_req *r, int e)
{
	const char *fn = fn_names[r->fn];
	for (size_t i = 0; i < sizeof(exceptions) / sizeof(exceptions[0]); i++)
		if (exceptions[i].code == e)
			return rigi_fail(exceptions[i].err, "%s: %s 0x%04x (%u reg): %s; %s",
					 mb->where, fn, r->addr, r->n, exceptions[i].name,
					 exceptions[i].hint);
	if (e == ETIMEDOUT)
		return rigi_fail(RIG_ERR_TIMEOUT, "%s: %s 0x%04x: timed out after %d ms; check the "
				 "instrument is powered and cabled and answers as unit %d",
				 mb->where, fn, r->addr, mb->timeout_ms, mb->unit);
	if (is_link_error(e))
		return rigi_fail(RIG_ERR_DISCONNECTED, "%s: %s 0x%04x: link lost (%s); check the "
				 "station (or `rig sim`) is running and the cable", mb->where, fn,
				 r->addr, modbus_strerror(e));
	if (e == EMBBADCRC)
		return rigi_fail(RIG_ERR_CRC, "%s: %s 0x%04x: reply with a bad CRC; check cabling, "
				 "termination and baud rate", mb->where, fn, r->addr);
	if (e == EMBBADDATA || e == EMBBADEXC || e == EMBUNKEXC || e == EMBBADSLAVE)
		return rigi_fail(RIG_ERR_PROTOCOL, "%s: %s 0x%04x: unexpected reply (%s); the link "
				 "was flushed; check no other master shares the bus", mb->where,
				 fn, r->addr, modbus_strerror(e));
	if (e == EMBMDATA || e == EINVAL)
		return rigi_fail(RIG_ERR_ARG, "%s: %s 0x%04x: %u registers is outside 1..%d "
				 "(a bug in the caller)", mb->where, fn, r->addr, r->n,
				 r->fn <= FN_READ_HOLDING ? RIGI_MB_MAX_READ : RIGI_MB_MAX_WRITE);
	return rigi_fail(RIG_ERR_IO, "%s: %s 0x%04x: %s", mb->where, fn, r->addr,
			 modbus_strerror(e));
}

static void trace_request(const struct rigi_mb *mb, const struct mb_req *r)
{
	uint8_t bytes[2 * RIGI_MB_MAX_READ];
	char what[WHERE_MAX + 64];
	const uint16_t *regs = r->fn <= FN_READ_HOLDING ? r->dst : r->src;

	if (rig_log_get_level() < RIG_LOG_TRACE)
		return;
	for (size_t i = 0; i < r->n && i < RIGI_MB_MAX_READ; i++) {
		bytes[2 * i] = (uint8_t)(regs[i] >> 8);
		bytes[2 * i + 1] = (uint8_t)regs[i];
	}
	snprintf(what, sizeof(what), "%s: %s 0x%04x", mb->where, fn_names[r->fn], r->addr);
	rigi_trace_bytes(DOMAIN, what, bytes, 2u * r->n);
}

/* After a timeout a late reply may still arrive, and after a garbled reply
 * the stream is out of step: wait one response timeout, then drop whatever
 * came in (libmodbus issue #255). */
static void resync(struct mb_bus *bus, int timeout_ms)
{
	rig_sleep_ns((int64_t)timeout_ms * 1000000);
	modbus_flush(bus->ctx);
}

/* One request with our recovery policy; called with the bus locked.
 * A lost link is reconnected and the request sent once more (a Modbus
 * server closes links between requests, so it was not executed); a garbled
 * read is flushed and repeated once; a timeout is flushed and reported. */
static int transact_locked(struct rigi_mb *mb, const struct mb_req *r)
{
	struct mb_bus *bus = mb->bus;
	bool retried = false;
	int ret;

	if (!bus->connected) {
		ret = bus_connect(bus, mb->timeout_ms);
		if (ret < 0)
			goto connect_failed;
	}
	for (;;) {
		int e;
		modbus_set_slave(bus->ctx, mb->unit);
		set_timeout(bus->ctx, mb->timeout_ms);
		if (call_libmodbus(bus->ctx, r) >= 0) {
			trace_request(mb, r);
			return 0;
		}
		e = errno;
		RIGI_DEBUG(DOMAIN, "%s: %s 0x%04x: %s", mb->where, fn_names[r->fn], r->addr,
			   modbus_strerror(e));
		if (is_link_error(e)) {
			bus_disconnect(bus);
			if (retried)
				return request_error(mb, r, e);
			RIGI_WARN(DOMAIN, "%s: link lost (%s), reconnecting", bus->where,
				  modbus_strerror(e));
			ret = bus_connect(bus, mb->timeout_ms);
			if (ret < 0)
				goto connect_failed;
		} else if (e == ETIMEDOUT || e == EMBBADDATA || e == EMBBADCRC) {
			resync(bus, mb->timeout_ms);
			if (e == ETIMEDOUT || retried || r->fn > FN_READ_HOLDING)
				return request_error(mb, r, e);
		} else {
			return request_error(mb, r, e);
		}
		retried = true;
	}
connect_failed:
	rigi_error_context("unit %d: %s 0x%04x", mb->unit, fn_names[r->fn], r->addr);
	return ret;
}

static int transact(struct rigi_mb *mb, const struct mb_req *r)
{
	uint16_t max = r->fn <= FN_READ_HOLDING ? RIGI_MB_MAX_READ : RIGI_MB_MAX_WRITE;
	int ret;

	if (!mb)
		return rigi_fail(RIG_ERR_ARG, "Modbus request on a closed instrument");
	/* Checked here: libmodbus would print to stderr before refusing. */
	if (r->n < 1 || r->n > max)
		return request_error(mb, r, EMBMDATA);
	pthread_mutex_lock(&mb->bus->lock);
	ret = transact_locked(mb, r);
	pthread_mutex_unlock(&mb->bus->lock);
	return ret;
}

int rigi_mb_read_input(struct rigi_mb *mb, uint16_t addr, uint16_t n, uint16_t *dst)
{
	struct mb_req r = {.fn = FN_READ_INPUT, .addr = addr, .n = n, .dst = dst};
	return transact(mb, &r);
}

int rigi_mb_read_holding(struct rigi_mb *mb, uint16_t addr, uint16_t n, uint16_t *dst)
{
	struct mb_req r = {.fn = FN_READ_HOLDING, .addr = addr, .n = n, .dst = dst};
	return transact(mb, &r);
}

int rigi_mb_write(struct rigi_mb *mb, uint16_t addr, uint16_t value)
{
	struct mb_req r = {.fn = FN_WRITE_ONE, .addr = addr, .n = 1, .src = &value};
	return transact(mb, &r);
}

int rigi_mb_write_many(struct rigi_mb *mb, uint16_t addr, uint16_t n, const uint16_t *src)
{
	struct mb_req r = {.fn = FN_WRITE_MANY, .addr = addr, .n = n, .src = src};
	return transact(mb, &r);
}

int rigi_mb_read_input_u32(struct rigi_mb *mb, uint16_t addr, uint32_t *out)
{
	uint16_t regs[2];
	int ret = rigi_mb_read_input(mb, addr, 2, regs);
	if (ret == 0)
		*out = rigi_mb_u32(regs);
	return ret;
}

int rigi_mb_write_u32(struct rigi_mb *mb, uint16_t addr, uint32_t value)
{
	uint16_t regs[2];
	rigi_mb_put_u32(regs, value);
	return rigi_mb_write_many(mb, addr, 2, regs);
}

/* ======================================================================
 * Server
 * ====================================================================== */

#define MAX_CLIENTS 32
#define RELISTEN_RETRY_MS 100

struct rigi_mbsrv {
	struct rigi_mbsrv_ops ops;
	void *user;
	char host[RIG_URI_TEXT_MAX];
	bool tcp_enabled;
	uint16_t port;           /* bound port, kept across link drops */
	modbus_t *tcp;           /* I/O on client sockets (modbus_set_socket) */
	int listen_fd;           /* -1 while refusing connections */
	int clients[MAX_CLIENTS];
	size_t n_clients;
	modbus_t *rtu;
	int rtu_fd;              /* -1: no RTU */
	bool rtu_owned;          /* opened (and closed) by us */
	int64_t rtu_quiet_until; /* no peer on the tty: stop polling it a while */
	modbus_mapping_t *map;   /* scratch: filled per request */
	uint16_t scratch[RIGI_MB_MAX_READ];
	int wake[2];             /* self-pipe: stop, link drop */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;    /* guards the fields below */
	bool stop;
	bool drop_pending;
	int64_t down_until_ns;   /* links refused until then */
	int delay_ms;
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static int reply_delay(struct rigi_mbsrv *s)
{
	int ms;
	pthread_mutex_lock(&s->lock);
	ms = s->delay_ms;
	pthread_mutex_unlock(&s->lock);
	return ms;
}

/* Ask the station for the registers; fills the scratch mapping. Returns 0,
 * an exception code or RIGI_MBSRV_NO_UNIT. */
static int serve_pdu(struct rigi_mbsrv *s, const uint8_t *pdu, int unit)
{
	uint8_t fc = pdu[0];
	uint16_t addr = get_be16(pdu + 1);
	uint16_t n = get_be16(pdu + 3);
	modbus_mapping_t *m = s->map;

	switch (fc) {
	case MODBUS_FC_READ_INPUT_REGISTERS:
	case MODBUS_FC_READ_HOLDING_REGISTERS: {
		int exc;
		if (n < 1 || n > RIGI_MB_MAX_READ)
			return RIGI_MBX_ILLEGAL_VALUE;
		exc = fc == MODBUS_FC_READ_INPUT_REGISTERS
			      ? s->ops.read_input(s->user, unit, addr, n, s->scratch)
			      : s->ops.read_holding(s->user, unit, addr, n, s->scratch);
		if (exc)
			return exc;
		m->start_input_registers = m->start_registers = addr;
		memcpy(fc == MODBUS_FC_READ_INPUT_REGISTERS ? m->tab_input_registers
							     : m->tab_registers,
		       s->scratch, n * sizeof(uint16_t));
		return 0;
	}
	case MODBUS_FC_WRITE_SINGLE_REGISTER:
		m->start_registers = addr;
		s->scratch[0] = n; /* the value */
		return s->ops.write_holding(s->user, unit, addr, 1, s->scratch);
	case MODBUS_FC_WRITE_MULTIPLE_REGISTERS:
		if (n < 1 || n > RIGI_MB_MAX_WRITE || pdu[5] != 2 * n)
			return RIGI_MBX_ILLEGAL_VALUE;
		for (uint16_t i = 0; i < n; i++)
			s->scratch[i] = get_be16(pdu + 6 + 2 * i);
		m->start_registers = addr;
		return s->ops.write_holding(s->user, unit, addr, n, s->scratch);
	default:
		return RIGI_MBX_ILLEGAL_FUNCTION;
	}
}

/* Answer one complete request (@p len bytes, header included). Returns -1
 * when the link failed. */
static int dispatch(struct rigi_mbsrv *s, modbus_t *ctx, const uint8_t *req, int len, bool rtu)
{
	int hl = modbus_get_header_length(ctx);
	int unit = req[hl - 1];
	int exc, delay;

	if (rtu && unit == MODBUS_BROADCAST_ADDRESS)
		return 0; /* no instrument of ours acts on broadcasts */
	exc = serve_pdu(s, req + hl, unit);
	if (exc == RIGI_MBSRV_NO_UNIT) {
		if (rtu)
			return 0;
		exc = RIGI_MBX_GATEWAY_TARGET;
	}
	delay = reply_delay(s);
	if (delay > 0)
		rig_sleep_ns((int64_t)delay * 1000000);
	if (exc)
		return modbus_reply_exception(ctx, req, (unsigned)exc) < 0 ? -1 : 0;
	return modbus_reply(ctx, req, len, s->map) < 0 ? -1 : 0;
}

static void close_clients(struct rigi_mbsrv *s)
{
	for (size_t i = 0; i < s->n_clients; i++)
		close(s->clients[i]);
	s->n_clients = 0;
}

static void close_listener(struct rigi_mbsrv *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
}

static int tcp_listen(struct rigi_mbsrv *s)
{
	struct sockaddr_storage addr;
	socklen_t alen = sizeof(addr);
	char service[8];
	modbus_t *ctx;
	int fd, e;

	snprintf(service, sizeof(service), "%u", s->port);
	ctx = modbus_new_tcp_pi(s->host, service);
	if (!ctx)
		return rigi_fail(RIG_ERR_ARG, "Modbus server %s:%s: %s", s->host, service,
				 modbus_strerror(errno));
	fd = modbus_tcp_pi_listen(ctx, 16);
	e = errno;
	modbus_free(ctx);
	if (fd < 0)
		return rigi_fail(e == EADDRINUSE ? RIG_ERR_BUSY : RIG_ERR_IO,
				 "Modbus server: cannot listen on %s:%s: %s; %s", s->host, service,
				 modbus_strerror(e),
				 e == EADDRINUSE ? "another station or program holds the port; "
						   "choose another port"
						 : "check the address");
	if (getsockname(fd, (struct sockaddr *)&addr, &alen) == 0) {
		if (addr.ss_family == AF_INET)
			s->port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
		else if (addr.ss_family == AF_INET6)
			s->port = ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	}
	s->listen_fd = fd;
	return 0;
}

static void tcp_accept(struct rigi_mbsrv *s)
{
	int fd = accept(s->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	if (s->n_clients == MAX_CLIENTS) {
		RIGI_WARN(DOMAIN, "server: %d clients already, refusing another", MAX_CLIENTS);
		close(fd);
		return;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	s->clients[s->n_clients++] = fd;
	RIGI_DEBUG(DOMAIN, "server: client connected (%zu)", s->n_clients);
}

static int tcp_serve_client(struct rigi_mbsrv *s, int fd)
{
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH];
	int len;

	modbus_set_socket(s->tcp, fd);
	len = modbus_receive(s->tcp, req);
	if (len < 0)
		return -1; /* closed by the client, or garbage: drop the link */
	if (len == 0)
		return 0;
	return dispatch(s, s->tcp, req, len, false);
}

static void rtu_serve(struct rigi_mbsrv *s, bool down)
{
	uint8_t req[RIGI_RTU_MAX_ADU];
	int len;

	if (down) {
		rigi_rtu_drain(s->rtu_fd);
		return;
	}
	len = rigi_rtu_read_request(s->rtu_fd, req);
	if (len > 0)
		dispatch(s, s->rtu, req, len, true);
}

static void remove_client(struct rigi_mbsrv *s, size_t i)
{
	close(s->clients[i]);
	s->clients[i] = s->clients[--s->n_clients];
}

/* Poll-set layout: [0] wake pipe, then listener, RTU and clients. */
struct poll_set {
	struct pollfd fds[3 + MAX_CLIENTS];
	int n;
	int listen_at, rtu_at, clients_at;
};

static void build_poll_set(struct rigi_mbsrv *s, bool down, struct poll_set *ps)
{
	ps->n = 0;
	ps->listen_at = ps->rtu_at = -1;
	ps->fds[ps->n++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
	if (s->listen_fd >= 0) {
		ps->listen_at = ps->n;
		ps->fds[ps->n++] = (struct pollfd){.fd = s->listen_fd, .events = POLLIN};
	}
	if (s->rtu_fd >= 0 && rig_clock_ns() >= s->rtu_quiet_until) {
		ps->rtu_at = ps->n;
		ps->fds[ps->n++] = (struct pollfd){.fd = s->rtu_fd, .events = POLLIN};
	}
	ps->clients_at = ps->n;
	for (size_t i = 0; i < s->n_clients && !down; i++)
		ps->fds[ps->n++] = (struct pollfd){.fd = s->clients[i], .events = POLLIN};
}

static void handle_poll(struct rigi_mbsrv *s, bool down, const struct poll_set *ps)
{
	uint8_t junk[64];

	if (ps->fds[0].revents & POLLIN)
		while (read(s->wake[0], junk, sizeof(junk)) > 0)
			;
	if (ps->rtu_at >= 0) {
		short ev = ps->fds[ps->rtu_at].revents;
		if (ev & POLLIN)
			rtu_serve(s, down);
		else if (ev & (POLLHUP | POLLERR)) /* no peer on the pty yet */
			s->rtu_quiet_until = rig_clock_ns() + 50 * 1000000LL;
	}
	/* Walk backwards: remove_client moves the last client into slot i. */
	for (int i = ps->n - 1; i >= ps->clients_at; i--) {
		size_t c = (size_t)(i - ps->clients_at);
		if (ps->fds[i].revents && tcp_serve_client(s, s->clients[c]) < 0)
			remove_client(s, c);
	}
	if (ps->listen_at >= 0 && (ps->fds[ps->listen_at].revents & POLLIN))
		tcp_accept(s);
}

/* Apply a pending link drop and reopen the listener when the drop ends.
 * Returns the poll timeout in ms (-1: none). */
static int link_state(struct rigi_mbsrv *s, bool *down)
{
	int64_t now = rig_clock_ns(), until;
	bool drop;
	int timeout = -1;

	pthread_mutex_lock(&s->lock);
	drop = s->drop_pending;
	s->drop_pending = false;
	until = s->down_until_ns;
	pthread_mutex_unlock(&s->lock);
	if (drop) {
		RIGI_INFO(DOMAIN, "server: dropping %zu links", s->n_clients);
		close_clients(s);
		close_listener(s);
	}
	*down = until > now;
	if (*down)
		return (int)((until - now) / 1000000) + 1;
	if (s->tcp_enabled && s->listen_fd < 0 && tcp_listen(s) < 0) {
		RIGI_WARN(DOMAIN, "server: %s; retrying", rig_last_error());
		timeout = RELISTEN_RETRY_MS;
	}
	if (s->rtu_fd >= 0 && s->rtu_quiet_until > now) {
		int quiet = (int)((s->rtu_quiet_until - now) / 1000000) + 1;
		timeout = timeout < 0 || quiet < timeout ? quiet : timeout;
	}
	return timeout;
}

static bool should_stop(struct rigi_mbsrv *s)
{
	bool stop;
	pthread_mutex_lock(&s->lock);
	stop = s->stop;
	pthread_mutex_unlock(&s->lock);
	return stop;
}

static bool drop_requested(struct rigi_mbsrv *s)
{
	bool drop;
	pthread_mutex_lock(&s->lock);
	drop = s->drop_pending;
	pthread_mutex_unlock(&s->lock);
	return drop;
}

static void *serve_thread(void *arg)
{
	struct rigi_mbsrv *s = arg;
	struct poll_set ps;

	while (!should_stop(s)) {
		bool down;
		int timeout = link_state(s, &down);
		build_poll_set(s, down, &ps);
		if (poll(ps.fds, (nfds_t)ps.n, timeout) < 0) {
			if (errno != EINTR) {
				RIGI_ERROR(DOMAIN, "server: poll: %s", strerror(errno));
				break;
			}
			continue;
		}
		/* A drop asked for while we polled comes first: no request sent
		 * after rigi_mbsrv_drop_links() returned may still be served. */
		if (drop_requested(s))
			continue;
		handle_poll(s, down, &ps);
	}
	return NULL;
}

static void wake(struct rigi_mbsrv *s)
{
	ssize_t r = write(s->wake[1], "w", 1);
	(void)r; /* a full pipe already means "wake up" */
}

static int open_rtu(struct rigi_mbsrv *s, const struct rigi_mbsrv_config *cfg)
{
	int baud = cfg->rtu_baud > 0 ? cfg->rtu_baud : 115200;
	const char *path = cfg->rtu_path ? cfg->rtu_path : "/dev/null";

	s->rtu = modbus_new_rtu(path, baud, 'N', 8, 1);
	if (!s->rtu)
		return rigi_fail(RIG_ERR_ARG, "Modbus RTU server on %s: %s", path,
				 modbus_strerror(errno));
	if (!cfg->rtu_path) {
		s->rtu_fd = cfg->rtu_fd;
		modbus_set_socket(s->rtu, s->rtu_fd);
		return 0;
	}
	if (modbus_connect(s->rtu) < 0) {
		int e = errno;
		return rigi_fail(e == ENOENT ? RIG_ERR_NOT_FOUND
				 : e == EACCES ? RIG_ERR_PERMISSION : RIG_ERR_IO,
				 "Modbus RTU server: cannot open %s: %s", path, modbus_strerror(e));
	}
	s->rtu_owned = true;
	s->rtu_fd = modbus_get_socket(s->rtu);
	return 0;
}

static int server_init(struct rigi_mbsrv *s, const struct rigi_mbsrv_config *cfg)
{
	int ret;

	s->tcp_enabled = cfg->host != NULL;
	if (s->tcp_enabled) {
		snprintf(s->host, sizeof(s->host), "%s", cfg->host);
		s->port = cfg->port;
		s->tcp = modbus_new_tcp_pi(s->host, "0");
		if (!s->tcp)
			return rigi_fail(RIG_ERR_ARG, "Modbus server on %s: %s", s->host,
					 modbus_strerror(errno));
		/* A client that stalls mid-request must not stall the others long. */
		modbus_set_byte_timeout(s->tcp, 0, 100000);
		modbus_set_indication_timeout(s->tcp, 0, 100000);
		ret = tcp_listen(s);
		if (ret < 0)
			return ret;
	}
	if (cfg->rtu_path || cfg->rtu_fd >= 0) {
		ret = open_rtu(s, cfg);
		if (ret < 0)
			return ret;
	}
	if (pipe(s->wake) < 0)
		return rigi_fail(RIG_ERR_IO, "Modbus server: pipe: %s", strerror(errno));
	for (int i = 0; i < 2; i++) {
		fcntl(s->wake[i], F_SETFL, O_NONBLOCK);
		fcntl(s->wake[i], F_SETFD, FD_CLOEXEC);
	}
	s->map = modbus_mapping_new_start_address(0, 0, 0, 0, 0, RIGI_MB_MAX_READ, 0,
						  RIGI_MB_MAX_READ);
	if (!s->map)
		return rigi_fail(RIG_ERR_NOMEM, "Modbus server: out of memory");
	return 0;
}

int rigi_mbsrv_start(const struct rigi_mbsrv_config *cfg, struct rigi_mbsrv **out)
{
	struct rigi_mbsrv *s;
	int ret;

	*out = NULL;
	if (!cfg || !cfg->ops || !cfg->ops->read_input || !cfg->ops->read_holding ||
	    !cfg->ops->write_holding || (!cfg->host && !cfg->rtu_path && cfg->rtu_fd < 0))
		return rigi_fail(RIG_ERR_ARG, "Modbus server: needs callbacks and a TCP address "
				 "or an RTU tty");
	s = calloc(1, sizeof(*s));
	if (!s)
		return rigi_fail(RIG_ERR_NOMEM, "Modbus server: out of memory");
	s->ops = *cfg->ops;
	s->user = cfg->user;
	s->listen_fd = s->rtu_fd = s->wake[0] = s->wake[1] = -1;
	pthread_mutex_init(&s->lock, NULL);
	ret = server_init(s, cfg);
	if (ret == 0 && pthread_create(&s->thread, NULL, serve_thread, s) != 0)
		ret = rigi_fail(RIG_ERR_NOMEM, "Modbus server: cannot start its thread");
	if (ret < 0) {
		rigi_mbsrv_free(s);
		return ret;
	}
	s->thread_started = true;
	*out = s;
	return 0;
}

uint16_t rigi_mbsrv_port(const struct rigi_mbsrv *srv)
{
	return srv->port;
}

void rigi_mbsrv_drop_links(struct rigi_mbsrv *srv, double seconds)
{
	pthread_mutex_lock(&srv->lock);
	if (seconds > 0) {
		srv->drop_pending = true;
		srv->down_until_ns = rig_clock_ns() + (int64_t)(seconds * 1e9);
	} else {
		srv->down_until_ns = 0;
	}
	pthread_mutex_unlock(&srv->lock);
	wake(srv);
}

void rigi_mbsrv_set_reply_delay(struct rigi_mbsrv *srv, int ms)
{
	pthread_mutex_lock(&srv->lock);
	srv->delay_ms = ms > 0 ? ms : 0;
	pthread_mutex_unlock(&srv->lock);
}

void rigi_mbsrv_free(struct rigi_mbsrv *srv)
{
	if (!srv)
		return;
	if (srv->thread_started) {
		pthread_mutex_lock(&srv->lock);
		srv->stop = true;
		pthread_mutex_unlock(&srv->lock);
		wake(srv);
		pthread_join(srv->thread, NULL);
	}
	close_clients(srv);
	close_listener(srv);
	if (srv->tcp) {
		modbus_set_socket(srv->tcp, -1); /* its fds were ours, already closed */
		modbus_free(srv->tcp);
	}
	if (srv->rtu) {
		if (srv->rtu_owned)
			modbus_close(srv->rtu);
		else
			modbus_set_socket(srv->rtu, -1);
		modbus_free(srv->rtu);
	}
	modbus_mapping_free(srv->map);
	for (int i = 0; i < 2; i++)
		if (srv->wake[i] >= 0)
			close(srv->wake[i]);
	pthread_mutex_destroy(&srv->lock);
	free(srv);
}
