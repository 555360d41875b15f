/* Private API of the Modbus wrapper (modbus.c, the only libmodbus caller of
 * needle-rig). Client side for the instrument drivers: one handle per
 * instrument (unit) on a shared, locked, reconnecting bus object. Server
 * side for the simulated station: a TCP listener and/or an RTU tty served by
 * one thread that hands every request to callbacks by unit id, with fault
 * hooks (link drop, late replies). Not part of the public API. */
#ifndef RIGI_INSTR_MODBUS_H
#define RIGI_INSTR_MODBUS_H

#include <stddef.h>
#include <stdint.h>

#include <rig/uri.h>

/* Protocol limits (registers per request). */
#define RIGI_MB_MAX_READ 125
#define RIGI_MB_MAX_WRITE 123

/* Default response timeout when the URI has no timeout_ms. */
#define RIGI_MB_DEFAULT_TIMEOUT_MS 200

/* ---- client ---- */

struct rigi_mb;

/** Open the instrument addressed by @p uri (modbus-tcp or modbus-rtu, with
 *  a unit). Instruments on the same TCP host:port or the same RTU device
 *  share one bus object (one libmodbus context, one lock, refcounted);
 *  the bus connects on first use. Response timeout: the URI's timeout_ms,
 *  else RIGI_MB_DEFAULT_TIMEOUT_MS.
 *  @param out receives the handle (free with rigi_mb_close).
 *  @return 0, RIG_ERR_ARG (not a Modbus URI), RIG_ERR_BUSY (RTU device
 *  already open with other line settings), RIG_ERR_DISCONNECTED /
 *  RIG_ERR_NOT_FOUND / RIG_ERR_PERMISSION (cannot connect), RIG_ERR_NOMEM. */
int rigi_mb_open(const struct rig_uri *uri, struct rigi_mb **out);

/** Release the handle; the bus closes with its last user. NULL is a no-op. */
void rigi_mb_close(struct rigi_mb *mb);

/** "modbus-tcp://HOST:PORT unit N" or "modbus-rtu:///dev/X unit N", for
 *  messages. Valid while @p mb is open. */
const char *rigi_mb_where(const struct rigi_mb *mb);

/** The bus part alone: "modbus-tcp://HOST:PORT" or "modbus-rtu:///dev/X". */
const char *rigi_mb_bus_where(const struct rigi_mb *mb);

/** Unit id of the instrument. */
int rigi_mb_unit(const struct rigi_mb *mb);

/** Read @p n (1..125) input registers (function 0x04) from @p addr into
 *  @p dst. Every rigi_mb_* request returns 0 or a negative rig_err with a
 *  detail naming URI, unit, function, address and the Modbus exception:
 *  RIG_ERR_TIMEOUT (no reply: after twice the response timeout, the link
 *  flushed so the next request starts clean), RIG_ERR_DISCONNECTED (link
 *  lost and reconnecting failed: at most 3 connect attempts, each bounded
 *  by the response timeout, 50 + 100 ms apart; under a second with the
 *  default timeout), RIG_ERR_RANGE (exception 2 or 3),
 *  RIG_ERR_BUSY (exception 6), RIG_ERR_INSTRUMENT (exception 4),
 *  RIG_ERR_NOT_FOUND (exception 0x0A/0x0B: no such unit behind a gateway),
 *  RIG_ERR_UNSUPPORTED (exception 1), RIG_ERR_PROTOCOL / RIG_ERR_CRC
 *  (garbled reply). Thread-safe: requests on one bus are serialised. */
int rigi_mb_read_input(struct rigi_mb *mb, uint16_t addr, uint16_t n, uint16_t *dst);

/** Read @p n (1..125) holding registers (function 0x03). */
int rigi_mb_read_holding(struct rigi_mb *mb, uint16_t addr, uint16_t n, uint16_t *dst);

/** Write one holding register (function 0x06). */
int rigi_mb_write(struct rigi_mb *mb, uint16_t addr, uint16_t value);

/** Write @p n (1..123) holding registers (function 0x10). */
int rigi_mb_write_many(struct rigi_mb *mb, uint16_t addr, uint16_t n, const uint16_t *src);

/** 32-bit helpers: two registers, high word first. */
int rigi_mb_read_input_u32(struct rigi_mb *mb, uint16_t addr, uint32_t *out);
int rigi_mb_write_u32(struct rigi_mb *mb, uint16_t addr, uint32_t value);

/** Combine / split 32-bit register pairs, high word first. */
static inline uint32_t rigi_mb_u32(const uint16_t *regs)
{
	return ((uint32_t)regs[0] << 16) | regs[1];
}
static inline int32_t rigi_mb_i32(const uint16_t *regs)
{
	uint32_t u = rigi_mb_u32(regs);
	return u <= INT32_MAX ? (int32_t)u : -(int32_t)(~u) - 1;
}
static inline void rigi_mb_put_u32(uint16_t *regs, uint32_t v)
{
	regs[0] = (uint16_t)(v >> 16);
	regs[1] = (uint16_t)v;
}

/* ---- server (the simulated station's far end) ---- */

/* Modbus exception codes a server callback may answer with. */
enum rigi_mb_exception {
	RIGI_MBX_ILLEGAL_FUNCTION = 0x01,
	RIGI_MBX_ILLEGAL_ADDRESS = 0x02,
	RIGI_MBX_ILLEGAL_VALUE = 0x03,
	RIGI_MBX_DEVICE_FAILURE = 0x04,
	RIGI_MBX_BUSY = 0x06,
	RIGI_MBX_GATEWAY_TARGET = 0x0B,
};

/* Returned by a callback when no instrument has that unit id: over TCP the
 * server answers exception 0x0B (gateway target failed to respond); over
 * RTU it stays silent, as an absent slave on a bus would. */
#define RIGI_MBSRV_NO_UNIT (-1)

/** Callbacks computing register values on demand. Called from the server
 *  thread, one at a time. Each returns 0 (reply normally), an
 *  enum rigi_mb_exception code, or RIGI_MBSRV_NO_UNIT. @p n is 1..125 for
 *  reads and 1..123 for writes. */
struct rigi_mbsrv_ops {
	int (*read_input)(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst);
	int (*read_holding)(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst);
	int (*write_holding)(void *user, int unit, uint16_t addr, uint16_t n,
			     const uint16_t *src);
};

struct rigi_mbsrv_config {
	const char *host;     /* TCP listen address (numeric or name); NULL: no TCP */
	uint16_t port;        /* 0: an ephemeral port (see rigi_mbsrv_port) */
	const char *rtu_path; /* tty to serve RTU on (opened and set raw); or NULL */
	int rtu_fd;           /* or an open tty fd (e.g. a pty master; borrowed); -1 */
	int rtu_baud;         /* 0: 115200 */
	const struct rigi_mbsrv_ops *ops;
	void *user;           /* passed to the callbacks */
};

struct rigi_mbsrv;

/** Open the listener and/or the tty and start serving in a new thread.
 *  @param out receives the server (free with rigi_mbsrv_free).
 *  @return 0, RIG_ERR_ARG, RIG_ERR_IO / RIG_ERR_BUSY (cannot listen: port in
 *  use), RIG_ERR_NOT_FOUND / RIG_ERR_PERMISSION (tty), RIG_ERR_NOMEM. */
int rigi_mbsrv_start(const struct rigi_mbsrv_config *cfg, struct rigi_mbsrv **out);

/** The TCP port actually bound (the ephemeral one when 0 was asked). */
uint16_t rigi_mbsrv_port(const struct rigi_mbsrv *srv);

/** Fault hook: close every client link now and refuse connections (listener
 *  closed; RTU requests ignored) for @p seconds of real time. @p seconds
 *  <= 0 ends a refusal in progress early, without dropping anything. */
void rigi_mbsrv_drop_links(struct rigi_mbsrv *srv, double seconds);

/** Fault hook: delay every reply by @p ms of real time (0 clears). */
void rigi_mbsrv_set_reply_delay(struct rigi_mbsrv *srv, int ms);

/** Stop the thread, close every link and free. NULL is a no-op. */
void rigi_mbsrv_free(struct rigi_mbsrv *srv);

#endif
