/* Private interface of the pen client: the link state behind the opaque
 * struct rig_dut, and the request/response exchange that client.c
 * implements and tablexfer.c (table read/write) builds on. Tests may set
 * the tuning fields (seq, chunk sizes) to make exchanges predictable. */
#ifndef RIGI_DUT_CLIENT_H
#define RIGI_DUT_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <rig/dut.h>
#include <rig/uri.h>

#include "dut/frame.h"
#include "dut/transport.h"

#define RIGI_DUT_TIMEOUT_MS 500
/* TABLE_COMMIT waits this many response timeouts (2000 ms by default). */
#define RIGI_DUT_COMMIT_FACTOR 4
#define RIGI_DUT_GAP_WARN_NS 500000000LL /* half the pen's host-loss watchdog */

struct rig_dut {
	struct rig_uri uri;
	const struct rigi_transport_ops *ops;
	void *tp;                       /* transport private state */
	struct rigi_frame_decoder dec;  /* survives requests: stale replies */
	uint16_t next_seq;              /* seq of the next new request */
	int timeout_ms;                 /* response timeout */
	int commit_timeout_ms;          /* TABLE_COMMIT response timeout */
	size_t write_chunk;             /* TABLE_CHUNK data bytes, <= 512 */
	size_t read_chunk;              /* TABLE_READ count, <= 1000 */
	int last_status;                /* status byte of the last answer, -1 */
	int have_identity;
	struct rig_dut_identity id;
	uint8_t serial16[RIGI_DUT_SERIAL_BYTES]; /* IDENTIFY's raw serial field */
	int pending_slot;               /* slot uploaded, awaiting commit; -1 none */
	int64_t last_tx_ns;             /* rig_clock_ns() of the last frame sent */
	int64_t max_gap_ns;             /* the longest silence between two frames sent */
	char last_what[48];             /* the last frame's request */
	int hold_interrupts;            /* rig_dut_hold_interrupts */
};

/* One request. */
struct rigi_dut_request {
	uint8_t cmd;
	const uint8_t *payload;
	size_t len;
	const char *what;        /* for details, e.g. "TABLE_CHUNK 2/3"; NULL: the
				  * command's name */
	const char *if_cut;      /* advice added when the link drops, or NULL */
	int timeout_ms;          /* 0: the link's response timeout */
	int secret;              /* never log the payload (AUTH_RESPONSE's MAC) */
	int uninterruptible;     /* still sent after an interrupt (SAFE, abort) */
};

/** Send @p req and wait for its answer, resending the identical frame once
 *  when an attempt gets no valid answer in time. On an OK answer, the data
 *  after the status byte goes to @p data (capacity @p cap) and its length
 *  to *@p data_len (either may be NULL/0 when the command has none).
 *  Returns 0, or a negative rig_err whose detail names the pen, the
 *  request and the pen's status or the link's failure. */
int rigi_dut_transact(struct rig_dut *dut, const struct rigi_dut_request *req, uint8_t *data,
		      size_t cap, size_t *data_len);

/** Fail with a detail "pen at URI (SERIAL): @p what: <fmt...>". */
int rigi_dut_fail(const struct rig_dut *dut, int err, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/** IDENTIFY unless the identity is already known. */
int rigi_dut_ensure_identity(struct rig_dut *dut);

#endif
