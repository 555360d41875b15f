/* Logging through an application callback; level from RIG_DEBUG. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/core.h"

static rig_log_fn log_fn;
static void *log_user;
static atomic_int log_level = -1;

/* Threads of one process run different nests: their lines say which. */
static _Thread_local char log_context[64];

void rigi_log_set_context(const char *context)
{
	snprintf(log_context, sizeof(log_context), "%s", context ? context : "");
}

static const char *const level_names[] = {"none", "error", "warn", "info", "debug", "trace"};

int rig_log_parse_level(const char *text)
{
	if (!text || !*text)
		return -1;
	if (text[0] >= '0' && text[0] <= '5' && text[1] == '\0')
		return text[0] - '0';
	for (int i = 0; i <= RIG_LOG_TRACE; i++)
		if (strcasecmp(text, level_names[i]) == 0)
			return i;
	return -1;
}

enum rig_log_level rig_log_get_level(void)
{
	int level = atomic_load(&log_level);
	if (level < 0) {
		level = rig_log_parse_level(getenv("RIG_DEBUG"));
		if (level < 0)
			level = RIG_LOG_WARN;
		atomic_store(&log_level, level);
	}
	return (enum rig_log_level)level;
}

void rig_log_set_level(enum rig_log_level level)
{
	atomic_store(&log_level, (int)level);
}

void rig_log_set_callback(rig_log_fn fn, void *user)
{
	log_fn = fn;
	log_user = user;
}

void rig_logv(enum rig_log_level level, const char *domain, const char *fmt, va_list ap)
{
	char msg[2048];

	if (level > rig_log_get_level() || level <= RIG_LOG_NONE)
		return;
	int at = log_context[0] ? snprintf(msg, sizeof(msg), "%s: ", log_context) : 0;
	vsnprintf(msg + at, sizeof(msg) - (size_t)at, fmt, ap);
	if (log_fn)
		log_fn(level, domain, msg, log_user);
	else
		fprintf(stderr, "rig %s [%s] %s\n", level_names[level], domain, msg);
}

void rig_log(enum rig_log_level level, const char *domain, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rig_logv(level, domain, fmt, ap);
	va_end(ap);
}

void rigi_trace_bytes(const char *domain, const char *what, const uint8_t *buf, size_t len)
{
	char hex[3 * 64 + 8];
	size_t n = len < 64 ? len : 64;
	size_t pos = 0;

	if (rig_log_get_level() < RIG_LOG_TRACE)
		return;
	for (size_t i = 0; i < n; i++)
		pos += (size_t)snprintf(hex + pos, sizeof(hex) - pos, "%02x ", buf[i]);
	if (len > n)
		snprintf(hex + pos, sizeof(hex) - pos, "...");
	rig_log(RIG_LOG_TRACE, domain, "%s %zu bytes: %s", what, len, hex);
}
