/* The DUT endpoint of one simulated nest: a Unix-domain stream socket
 * server (docs/protocol.md §1, "stream socket") on its own thread, one host
 * connection at a time, feeding the received bytes to the nest's pen and
 * writing its responses back. The pen can be swapped or removed at any time
 * (an empty nest accepts and closes at once); a link cut can be injected. */
#ifndef SIM_DUT_ENDPOINT_H
#define SIM_DUT_ENDPOINT_H

#include "pen.h"

struct sim_dut_endpoint;

/** Bind and listen on @p path (a stale socket file there is replaced; a path
 *  another server answers on gives RIG_ERR_BUSY). The nest starts empty and
 *  the thread stopped. Returns NULL on error (rig_last_error() says why). */
struct sim_dut_endpoint *sim_dut_endpoint_new(const char *path);

/** Stop, close and unlink the socket. NULL is a no-op. */
void sim_dut_endpoint_free(struct sim_dut_endpoint *ep);

/** Start serving on a thread: 0 or RIG_ERR_STATE (already running) /
 *  RIG_ERR_INTERNAL (thread creation failed). */
int sim_dut_endpoint_start(struct sim_dut_endpoint *ep);

/** Stop serving and join the thread; an open connection is closed and its
 *  pen gets sim_pen_link_closed(). No-op when not running. */
void sim_dut_endpoint_stop(struct sim_dut_endpoint *ep);

/** Put @p pen in the nest (borrowed; NULL empties it). A connection to the
 *  previous pen is closed as if the pen were unplugged (that pen gets
 *  sim_pen_link_closed()). When this returns the endpoint no longer touches
 *  the previous pen, which the caller may then free. */
void sim_dut_endpoint_set_pen(struct sim_dut_endpoint *ep, struct sim_pen *pen);

/** Cut the link after @p n more bytes received from the host (0: now;
 *  -1 disarms): those bytes reach the pen, any response to them is lost,
 *  the connection is closed and the pen gets sim_pen_link_closed(). */
void sim_dut_endpoint_cut_after(struct sim_dut_endpoint *ep, long n);

/** Hold the next request of command @p cmd (after letting @p skip through)
 *  for @p ms real-time milliseconds before the pen sees it; -1 clears. */
void sim_dut_endpoint_hold(struct sim_dut_endpoint *ep, int cmd, unsigned skip, unsigned ms);

/** 1 while a host is connected. */
int sim_dut_endpoint_connected(struct sim_dut_endpoint *ep);

/** The socket path. */
const char *sim_dut_endpoint_path(const struct sim_dut_endpoint *ep);

#endif
