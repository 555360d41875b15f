/* Logging of librig: the library never prints; it hands messages to a
 * callback the application installs. The level comes from the RIG_DEBUG
 * environment variable (error|warn|info|debug|trace or 0..5) unless set. */
#ifndef RIG_LOG_H
#define RIG_LOG_H

#include <stdarg.h>

enum rig_log_level {
	RIG_LOG_NONE = 0,
	RIG_LOG_ERROR = 1, /* an operation failed; the caller gets an error */
	RIG_LOG_WARN = 2,  /* something odd that was handled (retry, reconnect) */
	RIG_LOG_INFO = 3,  /* milestones an operator follows (step started) */
	RIG_LOG_DEBUG = 4, /* decisions and parameters, for engineers */
	RIG_LOG_TRACE = 5, /* byte-level traffic */
};

/** Callback receiving one formatted message (no trailing newline).
 *  @p domain names the layer ("modbus", "dut", "sim", ...). */
typedef void (*rig_log_fn)(enum rig_log_level level, const char *domain,
			   const char *message, void *user);

/** Install @p fn (NULL restores the default, which writes to stderr). */
void rig_log_set_callback(rig_log_fn fn, void *user);

/** Set the level; messages above it are dropped. */
void rig_log_set_level(enum rig_log_level level);

/** Current level (initialised from RIG_DEBUG on first use, default warn). */
enum rig_log_level rig_log_get_level(void);

/** Parse "error", "warn", "info", "debug", "trace" or a digit 0..5.
 *  Returns the level, or -1 when @p text is not a level. */
int rig_log_parse_level(const char *text);

/** Emit a message (used by the library and the simulator). */
void rig_log(enum rig_log_level level, const char *domain, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rig_logv(enum rig_log_level level, const char *domain, const char *fmt,
	      va_list ap) __attribute__((format(printf, 3, 0)));

#endif
