/* Error codes of librig: every fallible function returns 0 or a negative
 * enum rig_err. Codes are never renumbered; new ones go at the end. */
#ifndef RIG_ERROR_H
#define RIG_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum rig_err {
	RIG_OK = 0,
	RIG_ERR_ARG = -1,         /* invalid argument from the caller */
	RIG_ERR_NOMEM = -2,       /* out of memory */
	RIG_ERR_IO = -3,          /* operating-system I/O error */
	RIG_ERR_TIMEOUT = -4,     /* the peer did not answer in time */
	RIG_ERR_DISCONNECTED = -5,/* link closed, cable pulled, server gone */
	RIG_ERR_PROTOCOL = -6,    /* malformed or unexpected reply from a peer */
	RIG_ERR_CRC = -7,         /* checksum mismatch */
	RIG_ERR_DEVICE = -8,      /* the device reported a failure status */
	RIG_ERR_NOT_FOUND = -9,   /* no such device, file or entry */
	RIG_ERR_PERMISSION = -10, /* access denied (device node, key file) */
	RIG_ERR_BUSY = -11,       /* resource held by someone else */
	RIG_ERR_UNSUPPORTED = -12,/* not supported by this device or build */
	RIG_ERR_AUTH = -13,       /* authentication failed or required */
	RIG_ERR_RANGE = -14,      /* value outside the allowed range */
	RIG_ERR_FORMAT = -15,     /* malformed input file or blob */
	RIG_ERR_STATE = -16,      /* operation not valid in the current state */
	RIG_ERR_OVERRUN = -17,    /* data lost (DAQ overrun) */
	RIG_ERR_INSTRUMENT = -18, /* instrument reports a fault/overload */
	RIG_ERR_INTERRUPTED = -19,/* stopped by signal or operator */
	RIG_ERR_SIGNATURE = -20,  /* HMAC signature invalid */
	RIG_ERR_INTERNAL = -21,   /* bug: an invariant of librig failed */
	RIG_ERR_NOSPACE = -22,    /* disk full (or over quota): nothing more can be stored */
};

/** Short English description of @p err (a negative rig_err or 0).
 *  Returns a static string; never NULL. */
const char *rig_strerror(int err);

/** Stable identifier of @p err, e.g. "RIG_ERR_TIMEOUT" (static string). */
const char *rig_errname(int err);

/** Detail of the last error raised on this thread: what failed and where
 *  (e.g. "modbus-tcp://127.0.0.1:1502 unit 3: read 0x0010: timeout").
 *  Empty string when none. The pointer is valid until the next librig call
 *  on this thread. */
const char *rig_last_error(void);

/** Clear the calling thread's last error detail. */
void rig_clear_error(void);

#ifdef __cplusplus
}
#endif
#endif
