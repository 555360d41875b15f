/* Transports of the DUT protocol: a byte pipe to a pen, as a table of
 * functions chosen by address scheme (client.c lists them). The client
 * writes one whole frame at a time and reads whatever bytes are available,
 * so any backend with bulk-pipe semantics fits: a stream socket
 * (socket.c: unix://, tcp://) or a USB bulk OUT/IN endpoint pair (usb.c:
 * usb://). A backend knows nothing of frames. */
#ifndef RIGI_DUT_TRANSPORT_H
#define RIGI_DUT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <rig/uri.h>

/* Size of the buffer the client passes to read(): a multiple of the USB
 * high-speed bulk max packet size (512), so that a bulk IN transfer of this
 * size never overflows, and larger than one frame (1036). */
#define RIGI_TRANSPORT_READ_CAP 2048u

/* Time allowed to establish a link in open(). */
#define RIGI_TRANSPORT_OPEN_TIMEOUT_MS 2000

struct rigi_transport_ops {
	/* Name for logs and error details ("socket", "usb"). */
	const char *name;

	/* Required. Open the link described by @p uri (its scheme is one this
	 * backend was listed for) within @p timeout_ms, and store the backend's
	 * private state in *@p priv; close() frees it. Returns 0, or a negative
	 * rig_err with a detail naming the address and what to do:
	 * RIG_ERR_NOT_FOUND (nothing at that address, nobody listening),
	 * RIG_ERR_PERMISSION, RIG_ERR_BUSY (claimed by another program),
	 * RIG_ERR_TIMEOUT, RIG_ERR_IO, RIG_ERR_NOMEM. On failure nothing is
	 * left allocated and *@p priv is untouched. */
	int (*open)(const struct rig_uri *uri, int timeout_ms, void **priv);

	/* Required. Send all @p len bytes of @p buf (one frame, <= 1036 bytes)
	 * within @p timeout_ms. Returns 0; RIG_ERR_DISCONNECTED when the peer
	 * is gone (closed socket, unplugged device); RIG_ERR_TIMEOUT when the
	 * bytes could not all be sent in time; RIG_ERR_INTERRUPTED when
	 * rig_interrupted() became true while waiting; RIG_ERR_IO otherwise.
	 * The caller keeps ownership of @p buf. */
	int (*write)(void *priv, const uint8_t *buf, size_t len, int timeout_ms);

	/* Required. Wait up to @p timeout_ms (0: do not wait) for bytes from
	 * the pen, then store those available, at most @p cap (always
	 * RIGI_TRANSPORT_READ_CAP), in @p buf and their count in *@p got.
	 * Returns 0 with *@p got >= 1, or 0 with *@p got == 0 when nothing
	 * arrived in time (a timeout is not an error here: the client decides
	 * and words it); RIG_ERR_DISCONNECTED when the peer is gone;
	 * RIG_ERR_INTERRUPTED; RIG_ERR_IO otherwise. Frame boundaries are not
	 * preserved: a read may return part of a frame or several frames. */
	int (*read)(void *priv, uint8_t *buf, size_t cap, int timeout_ms, size_t *got);

	/* Required. Release the link (the pen sees it close) and free @p priv.
	 * A NULL @p priv is a no-op. */
	void (*close)(void *priv);
};

/* socket.c: unix:// and tcp:// stream sockets. */
extern const struct rigi_transport_ops rigi_transport_socket;

#endif
