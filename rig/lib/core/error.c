/* Error codes, their names and descriptions, and the per-thread error
 * detail that tells an operator what failed, where and what to do. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"

#define DETAIL_MAX 1024

static _Thread_local char last_detail[DETAIL_MAX];

struct err_text {
	int code;
	const char *name;
	const char *text;
};

static const struct err_text err_table[] = {
	{RIG_OK, "RIG_OK", "success"},
	{RIG_ERR_ARG, "RIG_ERR_ARG", "invalid argument"},
	{RIG_ERR_NOMEM, "RIG_ERR_NOMEM", "out of memory"},
	{RIG_ERR_IO, "RIG_ERR_IO", "input/output error"},
	{RIG_ERR_TIMEOUT, "RIG_ERR_TIMEOUT", "timed out waiting for the device"},
	{RIG_ERR_DISCONNECTED, "RIG_ERR_DISCONNECTED", "link disconnected"},
	{RIG_ERR_PROTOCOL, "RIG_ERR_PROTOCOL", "protocol error (malformed or unexpected reply)"},
	{RIG_ERR_CRC, "RIG_ERR_CRC", "checksum mismatch"},
	{RIG_ERR_DEVICE, "RIG_ERR_DEVICE", "device reported a failure"},
	{RIG_ERR_NOT_FOUND, "RIG_ERR_NOT_FOUND", "not found"},
	{RIG_ERR_PERMISSION, "RIG_ERR_PERMISSION", "permission denied"},
	{RIG_ERR_BUSY, "RIG_ERR_BUSY", "resource busy"},
	{RIG_ERR_UNSUPPORTED, "RIG_ERR_UNSUPPORTED", "not supported"},
	{RIG_ERR_AUTH, "RIG_ERR_AUTH", "authentication failed"},
	{RIG_ERR_RANGE, "RIG_ERR_RANGE", "value out of range"},
	{RIG_ERR_FORMAT, "RIG_ERR_FORMAT", "malformed input"},
	{RIG_ERR_STATE, "RIG_ERR_STATE", "invalid in the current state"},
	{RIG_ERR_OVERRUN, "RIG_ERR_OVERRUN", "data overrun"},
	{RIG_ERR_INSTRUMENT, "RIG_ERR_INSTRUMENT", "instrument fault"},
	{RIG_ERR_INTERRUPTED, "RIG_ERR_INTERRUPTED", "interrupted"},
	{RIG_ERR_SIGNATURE, "RIG_ERR_SIGNATURE", "signature invalid"},
	{RIG_ERR_INTERNAL, "RIG_ERR_INTERNAL", "internal error (a bug in needle-rig)"},
	{RIG_ERR_NOSPACE, "RIG_ERR_NOSPACE", "disk full"},
};

static const struct err_text *find(int err)
{
	for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
		if (err_table[i].code == err)
			return &err_table[i];
	return NULL;
}

const char *rig_strerror(int err)
{
	const struct err_text *e = find(err);
	return e ? e->text : "unknown error";
}

const char *rig_errname(int err)
{
	const struct err_text *e = find(err);
	return e ? e->name : "RIG_ERR_UNKNOWN";
}

const char *rig_last_error(void)
{
	return last_detail;
}

void rig_clear_error(void)
{
	last_detail[0] = '\0';
}

int rigi_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_detail, sizeof(last_detail), fmt, ap);
	va_end(ap);
	rig_log(RIG_LOG_DEBUG, "error", "%s: %s", rig_errname(err), last_detail);
	return err;
}

void rigi_error_context(const char *fmt, ...)
{
	char prefix[DETAIL_MAX];
	char old[DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, last_detail, sizeof(old));
	/* Truncation of an over-long detail is acceptable; build it piecewise. */
	size_t n = strnlen(prefix, sizeof(last_detail) - 1);
	memcpy(last_detail, prefix, n);
	if (old[0] && n + 2 < sizeof(last_detail)) {
		memcpy(last_detail + n, ": ", 2);
		n += 2;
		size_t m = strnlen(old, sizeof(last_detail) - 1 - n);
		memcpy(last_detail + n, old, m);
		n += m;
	}
	last_detail[n] = '\0';
}
