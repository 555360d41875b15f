/* Parsing of instrument and pen addresses (see rig/uri.h for the forms). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/uri.h>

#include "core/core.h"

static const struct {
	enum rig_uri_scheme scheme;
	const char *name;
} schemes[] = {
	{RIG_URI_MODBUS_TCP, "modbus-tcp"}, {RIG_URI_MODBUS_RTU, "modbus-rtu"},
	{RIG_URI_USB, "usb"},               {RIG_URI_UNIX, "unix"},
	{RIG_URI_TCP, "tcp"},
};

const char *rig_uri_scheme_name(enum rig_uri_scheme scheme)
{
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].name;
	return "?";
}

static int bad(const char *text, const char *what)
{
	return rigi_fail(RIG_ERR_FORMAT, "address '%s': %s", text, what);
}

/* Parse a decimal integer in [lo, hi] spanning exactly [s, s+len). */
static int parse_long(const char *s, size_t len, long lo, long hi, long *out)
{
	char buf[32];
	char *end;
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*out = strtol(buf, &end, 10);
	if (errno || *end || *out < lo || *out > hi)
		return -1;
	return 0;
}

static int parse_hex16(const char *s, size_t len, uint16_t *out)
{
	char buf[8];
	char *end;
	unsigned long v;
	if (len == 0 || len > 4)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtoul(buf, &end, 16);
	if (*end)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int copy_text(char *dst, size_t cap, const char *s, size_t len)
{
	if (len >= cap)
		return -1;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

/* One key=value pair of the query string. */
static int apply_param(struct rig_uri *u, const char *key, size_t klen, const char *val,
		       size_t vlen)
{
	long v;
#define KEY(k) (klen == strlen(k) && strncmp(key, k, klen) == 0)
	if (KEY("unit")) {
		if (parse_long(val, vlen, 0, 247, &v))
			return bad(u->text, "unit must be an integer 0..247");
		u->unit = (int)v;
	} else if (KEY("baud")) {
		if (parse_long(val, vlen, 300, 4000000, &v))
			return bad(u->text, "baud must be an integer 300..4000000");
		u->baud = (int)v;
	} else if (KEY("parity")) {
		if (vlen != 1 || !strchr("NEO", val[0]))
			return bad(u->text, "parity must be N, E or O");
		u->parity = val[0];
	} else if (KEY("data")) {
		if (parse_long(val, vlen, 5, 8, &v))
			return bad(u->text, "data must be 5..8");
		u->data_bits = (int)v;
	} else if (KEY("stop")) {
		if (parse_long(val, vlen, 1, 2, &v))
			return bad(u->text, "stop must be 1 or 2");
		u->stop_bits = (int)v;
	} else if (KEY("timeout_ms")) {
		if (parse_long(val, vlen, 1, 600000, &v))
			return bad(u->text, "timeout_ms must be 1..600000");
		u->timeout_ms = (int)v;
	} else if (KEY("serial")) {
		if (copy_text(u->serial, sizeof(u->serial), val, vlen))
			return bad(u->text, "serial too long");
	} else if (KEY("path")) {
		if (copy_text(u->usb_path, sizeof(u->usb_path), val, vlen))
			return bad(u->text, "path too long");
	} else {
		return bad(u->text, "unknown parameter (known: unit, baud, parity, data, "
				    "stop, timeout_ms, serial, path)");
	}
#undef KEY
	return 0;
}

static int parse_query(struct rig_uri *u, const char *q)
{
	while (q && *q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		int ret;
		if (!eq)
			return bad(u->text, "query parameter without '=' (expected key=value)");
		ret = apply_param(u, q, (size_t)(eq - q), eq + 1, len - (size_t)(eq + 1 - q));
		if (ret < 0)
			return ret;
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

static int parse_host_port(struct rig_uri *u, const char *s, size_t len)
{
	const char *colon = NULL;
	long port;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon || colon == s)
		return bad(u->text, "expected HOST:PORT after '//'");
	if (copy_text(u->host, sizeof(u->host), s, (size_t)(colon - s)))
		return bad(u->text, "host name too long");
	if (parse_long(colon + 1, len - (size_t)(colon + 1 - s), 1, 65535, &port))
		return bad(u->text, "port must be an integer 1..65535");
	u->port = (uint16_t)port;
	return 0;
}

static int parse_usb_ids(struct rig_uri *u, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	if (!colon || parse_hex16(s, (size_t)(colon - s), &u->vid) ||
	    parse_hex16(colon + 1, len - (size_t)(colon + 1 - s), &u->pid))
		return bad(u->text, "expected usb://VID:PID with 4-digit hex ids, "
				    "e.g. usb://1209:4d4e?serial=MN1-000123");
	return 0;
}

static int parse_authority(struct rig_uri *u, const char *rest, size_t len)
{
	switch (u->scheme) {
	case RIG_URI_MODBUS_TCP:
	case RIG_URI_TCP:
		return parse_host_port(u, rest, len);
	case RIG_URI_USB:
		return parse_usb_ids(u, rest, len);
	case RIG_URI_MODBUS_RTU:
	case RIG_URI_UNIX:
		if (len == 0 || rest[0] != '/')
			return bad(u->text, "expected an absolute path, e.g. modbus-rtu:///dev/ttyUSB0 "
					    "or unix:///run/rig-sim/nest0.sock");
		if (copy_text(u->path, sizeof(u->path), rest, len))
			return bad(u->text, "path too long");
		return 0;
	}
	return bad(u->text, "unknown scheme");
}

int rig_uri_parse(const char *text, struct rig_uri *out)
{
	const char *sep;
	const char *rest;
	const char *query;
	size_t scheme_len;
	int ret;

	memset(out, 0, sizeof(*out));
	out->unit = -1;
	out->baud = 115200;
	out->parity = 'N';
	out->data_bits = 8;
	out->stop_bits = 1;
	if (!text || copy_text(out->text, sizeof(out->text), text, strlen(text)))
		return rigi_fail(RIG_ERR_FORMAT, "address missing or longer than %zu characters",
				 sizeof(out->text) - 1);
	sep = strstr(text, "://");
	if (!sep)
		return bad(text, "expected SCHEME://... (modbus-tcp, modbus-rtu, usb, unix, tcp)");
	scheme_len = (size_t)(sep - text);
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].name) == scheme_len &&
		    strncmp(schemes[i].name, text, scheme_len) == 0)
			out->scheme = schemes[i].scheme;
	if (!out->scheme)
		return bad(text, "unknown scheme (expected modbus-tcp, modbus-rtu, usb, unix, tcp)");
	rest = sep + 3;
	query = strchr(rest, '?');
	ret = parse_authority(out, rest, query ? (size_t)(query - rest) : strlen(rest));
	if (ret < 0)
		return ret;
	ret = parse_query(out, query ? query + 1 : NULL);
	if (ret < 0)
		return ret;
	if ((out->scheme == RIG_URI_MODBUS_TCP || out->scheme == RIG_URI_MODBUS_RTU) &&
	    out->unit < 0)
		return bad(text, "missing ?unit=N (the instrument's Modbus unit id)");
	return 0;
}
