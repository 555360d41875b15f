/* Parsing of instrument and pen addresses (see rig/uri.h for the forms and
 * docs/files.md "Addresses" for the exact grammar). Strict on purpose: an
 * address that could mean two things, or that names a key of another scheme,
 * is refused with the byte offset of the first wrong byte. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/uri.h>

#include "core/core.h"

/* Query keys; a scheme allows a subset (bit mask). */
enum uri_key {
	KEY_UNIT,
	KEY_BAUD,
	KEY_PARITY,
	KEY_DATA,
	KEY_STOP,
	KEY_TIMEOUT_MS,
	KEY_SERIAL,
	KEY_PATH,
	KEY_COUNT
};

static const char *const key_names[KEY_COUNT] = {
	"unit", "baud", "parity", "data", "stop", "timeout_ms", "serial", "path",
};

#define BIT(k) (1u << (k))

static const struct {
	enum rig_uri_scheme scheme;
	const char *name;
	unsigned keys;       /* allowed query keys */
	const char *example; /* a right address of this scheme */
} schemes[] = {
	{RIG_URI_MODBUS_TCP, "modbus-tcp", BIT(KEY_UNIT) | BIT(KEY_TIMEOUT_MS),
	 "modbus-tcp://10.0.0.5:502?unit=1"},
	{RIG_URI_MODBUS_RTU, "modbus-rtu",
	 BIT(KEY_UNIT) | BIT(KEY_BAUD) | BIT(KEY_PARITY) | BIT(KEY_DATA) | BIT(KEY_STOP) |
		 BIT(KEY_TIMEOUT_MS),
	 "modbus-rtu:///dev/ttyUSB0?baud=115200&unit=1"},
	{RIG_URI_USB, "usb", BIT(KEY_SERIAL) | BIT(KEY_PATH) | BIT(KEY_TIMEOUT_MS),
	 "usb://1209:4d4e?serial=MN1-000123"},
	{RIG_URI_UNIX, "unix", BIT(KEY_TIMEOUT_MS), "unix:///run/rig-sim/nest0.sock"},
	{RIG_URI_TCP, "tcp", BIT(KEY_TIMEOUT_MS), "tcp://localhost:4000"},
};

#define N_SCHEMES (sizeof(schemes) / sizeof(schemes[0]))

static size_t scheme_index(enum rig_uri_scheme scheme)
{
	for (size_t i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return i;
	return 0;
}

const char *rig_uri_scheme_name(enum rig_uri_scheme scheme)
{
	for (size_t i = 0; i < N_SCHEMES; i++)
		if (schemes[i].scheme == scheme)
			return schemes[i].name;
	return "?";
}

/* Error at byte @p at of the address: what is wrong and a right example. */
static int bad_at(const struct rig_uri *u, const char *at, const char *what)
{
	size_t off = at ? (size_t)(at - u->text) : 0;
	const char *example = u->scheme ? schemes[scheme_index(u->scheme)].example
					: "modbus-tcp://10.0.0.5:502?unit=1";
	return rigi_fail(RIG_ERR_FORMAT, "address '%s', byte %zu: %s (e.g. %s)", u->text, off,
			 what, example);
}

/* A decimal integer in [lo, hi] spanning exactly [s, s+len): digits only,
 * so no sign, blank, '0x' or trailing text. */
static int parse_decimal(const char *s, size_t len, long lo, long hi, long *out)
{
	long v = 0;
	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly four hex digits. */
static int parse_hex16(const char *s, size_t len, uint16_t *out)
{
	unsigned v = 0;
	if (len != 4)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		int d = hex_digit(s[i]);
		if (d < 0)
			return -1;
		v = v * 16 + (unsigned)d;
	}
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

/* Serial numbers and usb paths: printable, no blanks or URI delimiters. */
static const char *bad_token_byte(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~' || strchr("/?&=#%", s[i]))
			return s + i;
	return NULL;
}

static int apply_number(struct rig_uri *u, enum uri_key k, const char *val, size_t vlen)
{
	static const struct {
		long lo, hi;
		const char *what;
	} range[] = {
		[KEY_UNIT] = {0, 247, "unit must be a decimal integer 0..247"},
		[KEY_BAUD] = {300, 4000000, "baud must be a decimal integer 300..4000000"},
		[KEY_DATA] = {5, 8, "data must be 5..8"},
		[KEY_STOP] = {1, 2, "stop must be 1 or 2"},
		[KEY_TIMEOUT_MS] = {1, 600000, "timeout_ms must be a decimal integer 1..600000"},
	};
	long v;
	if (parse_decimal(val, vlen, range[k].lo, range[k].hi, &v))
		return bad_at(u, val, range[k].what);
	switch (k) {
	case KEY_UNIT: u->unit = (int)v; break;
	case KEY_BAUD: u->baud = (int)v; break;
	case KEY_DATA: u->data_bits = (int)v; break;
	case KEY_STOP: u->stop_bits = (int)v; break;
	default: u->timeout_ms = (int)v; break;
	}
	return 0;
}

static int apply_text(struct rig_uri *u, char *dst, size_t cap, const char *key, const char *val,
		      size_t vlen)
{
	char msg[96];
	const char *b;
	if (vlen == 0) {
		snprintf(msg, sizeof(msg), "%s= is empty (leave the key out instead)", key);
		return bad_at(u, val, msg);
	}
	b = bad_token_byte(val, vlen);
	if (b) {
		snprintf(msg, sizeof(msg), "%s contains a blank, a control byte or one of / ? & = # %%",
			 key);
		return bad_at(u, b, msg);
	}
	if (copy_text(dst, cap, val, vlen)) {
		snprintf(msg, sizeof(msg), "%s longer than %zu characters", key, cap - 1);
		return bad_at(u, val, msg);
	}
	return 0;
}

static int apply_param(struct rig_uri *u, enum uri_key k, const char *val, size_t vlen)
{
	switch (k) {
	case KEY_PARITY:
		if (vlen != 1 || !strchr("NEO", val[0]))
			return bad_at(u, val, "parity must be N, E or O");
		u->parity = val[0];
		return 0;
	case KEY_SERIAL:
		return apply_text(u, u->serial, sizeof(u->serial), "serial", val, vlen);
	case KEY_PATH:
		return apply_text(u, u->usb_path, sizeof(u->usb_path), "path", val, vlen);
	default:
		return apply_number(u, k, val, vlen);
	}
}

static int find_key(const char *key, size_t klen)
{
	for (int k = 0; k < KEY_COUNT; k++)
		if (strlen(key_names[k]) == klen && strncmp(key, key_names[k], klen) == 0)
			return k;
	return -1;
}

static int refuse_key(struct rig_uri *u, const char *key, size_t klen, int k)
{
	char msg[200];
	size_t n;
	unsigned allowed = schemes[scheme_index(u->scheme)].keys;
	n = (size_t)snprintf(msg, sizeof(msg), "%s '%.*s' (%s:// takes: ",
			     k < 0 ? "unknown parameter" : "parameter not allowed here", (int)klen,
			     key, rig_uri_scheme_name(u->scheme));
	for (int i = 0; i < KEY_COUNT && n < sizeof(msg); i++)
		if (allowed & BIT(i))
			n += (size_t)snprintf(msg + n, sizeof(msg) - n, "%s ", key_names[i]);
	if (n < sizeof(msg))
		snprintf(msg + n - 1, sizeof(msg) - n + 1, ")");
	return bad_at(u, key, msg);
}

static int parse_query(struct rig_uri *u, const char *q)
{
	unsigned seen = 0;
	unsigned allowed = schemes[scheme_index(u->scheme)].keys;
	while (q) {
		const char *amp = strchr(q, '&');
		size_t len = amp ? (size_t)(amp - q) : strlen(q);
		const char *eq = memchr(q, '=', len);
		int k;
		int ret;
		if (!eq)
			return bad_at(u, q, "query parameter without '=' (expected key=value)");
		k = find_key(q, (size_t)(eq - q));
		if (k < 0 || !(allowed & BIT(k)))
			return refuse_key(u, q, (size_t)(eq - q), k);
		if (seen & BIT(k))
			return bad_at(u, q, "parameter given twice");
		seen |= BIT(k);
		ret = apply_param(u, (enum uri_key)k, eq + 1, len - (size_t)(eq + 1 - q));
		if (ret < 0)
			return ret;
		q = amp ? amp + 1 : NULL;
	}
	return 0;
}

/* Host names and IPv4 addresses: letters, digits, '.', '-', '_'. */
static int parse_host_port(struct rig_uri *u, const char *s, size_t len)
{
	const char *colon = NULL;
	long port;
	for (size_t i = 0; i < len; i++)
		if (s[i] == ':')
			colon = s + i;
	if (!colon || colon == s)
		return bad_at(u, s, "expected HOST:PORT after '//'");
	for (const char *c = s; c < colon; c++)
		if (!(*c >= 'a' && *c <= 'z') && !(*c >= 'A' && *c <= 'Z') &&
		    !(*c >= '0' && *c <= '9') && !strchr(".-_", *c))
			return bad_at(u, c, "host may hold only letters, digits, '.', '-' and '_'");
	if (copy_text(u->host, sizeof(u->host), s, (size_t)(colon - s)))
		return bad_at(u, s, "host name too long");
	if (parse_decimal(colon + 1, len - (size_t)(colon + 1 - s), 1, 65535, &port))
		return bad_at(u, colon + 1, "port must be a decimal integer 1..65535 (digits only)");
	u->port = (uint16_t)port;
	return 0;
}

static int parse_usb_ids(struct rig_uri *u, const char *s, size_t len)
{
	const char *colon = memchr(s, ':', len);
	if (!colon || parse_hex16(s, (size_t)(colon - s), &u->vid))
		return bad_at(u, s, "expected usb://VID:PID, VID exactly 4 hex digits");
	if (parse_hex16(colon + 1, len - (size_t)(colon + 1 - s), &u->pid))
		return bad_at(u, colon + 1, "expected usb://VID:PID, PID exactly 4 hex digits");
	return 0;
}

static int parse_path(struct rig_uri *u, const char *rest, size_t len)
{
	const char *b;
	if (len == 0 || rest[0] != '/')
		return bad_at(u, rest, "expected an absolute path after '//'");
	for (b = rest; b < rest + len; b++)
		if (*b < ' ' || *b > '~')
			return bad_at(u, b, "path contains a control or non-ASCII byte");
	if (copy_text(u->path, sizeof(u->path), rest, len))
		return bad_at(u, rest, "path too long");
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
		return parse_path(u, rest, len);
	}
	return bad_at(u, rest, "unknown scheme");
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
	sep = strstr(out->text, "://");
	if (!sep)
		return bad_at(out, out->text,
			      "expected SCHEME://... (modbus-tcp, modbus-rtu, usb, unix, tcp)");
	scheme_len = (size_t)(sep - out->text);
	for (size_t i = 0; i < N_SCHEMES; i++)
		if (strlen(schemes[i].name) == scheme_len &&
		    strncmp(schemes[i].name, out->text, scheme_len) == 0)
			out->scheme = schemes[i].scheme;
	if (!out->scheme)
		return bad_at(out, out->text,
			      "unknown scheme (expected modbus-tcp, modbus-rtu, usb, unix, tcp)");
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
		return bad_at(out, out->text + strlen(out->text),
			      "missing ?unit=N (the instrument's Modbus unit id)");
	return 0;
}
