/* Typed reading of configuration documents (config.h) with errors that name
 * FILE:LINE:COL, what was expected and what was found; ${NAME} expansion;
 * and the calendar dates of rig/fixture.h. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rig/fixture.h>

#include "core/config.h"
#include "core/core.h"

/* ---- calendar dates ---- */

static int days_in_month(int year, int month)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	return month == 2 && leap ? 29 : days[month - 1];
}

int rig_date_parse(const char *text, struct rig_date *out)
{
	static const char shape[] = "dddd-dd-dd";
	int v[3] = {0, 0, 0};
	int field = 0;

	if (!text || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_date_parse: text and out are required");
	for (size_t i = 0; i < sizeof(shape); i++) {
		char c = text[i];
		if (shape[i] == '\0' ? c != '\0' : shape[i] == 'd' ? (c < '0' || c > '9') : c != '-')
			return rigi_fail(RIG_ERR_FORMAT, "date '%s': expected YYYY-MM-DD", text);
		if (shape[i] == 'd')
			v[field] = v[field] * 10 + (c - '0');
		else
			field++;
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]))
		return rigi_fail(RIG_ERR_FORMAT,
				 "date '%s': no such day (expected a year from 1970, month 1..12, "
				 "a day of that month)", text);
	out->year = v[0];
	out->month = v[1];
	out->day = v[2];
	return 0;
}

void rig_date_today(struct rig_date *out)
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	out->year = tm.tm_year + 1900;
	out->month = tm.tm_mon + 1;
	out->day = tm.tm_mday;
}

int rig_date_compare(const struct rig_date *a, const struct rig_date *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

char *rig_date_format(const struct rig_date *d, char *buf, size_t cap)
{
	snprintf(buf, cap, "%04d-%02d-%02d", d->year, d->month, d->day);
	return buf;
}

/* ---- positioned errors ---- */

static int vfail_at(const struct rigi_cfg *cfg, unsigned line, unsigned column, const char *fmt,
		    va_list ap) __attribute__((format(printf, 4, 0)));
static int vfail_at(const struct rigi_cfg *cfg, unsigned line, unsigned column, const char *fmt,
		    va_list ap)
{
	char msg[768];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return rigi_fail(RIG_ERR_FORMAT, "%s:%u:%u: %s", cfg->path, line, column, msg);
}

static int fail_at(const struct rigi_cfg *cfg, unsigned line, unsigned column, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));
static int fail_at(const struct rigi_cfg *cfg, unsigned line, unsigned column, const char *fmt,
		   ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail_at(cfg, line, column, fmt, ap);
	va_end(ap);
	return ret;
}

int rigi_cfg_fail(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int ret = vfail_at(cfg, node->line, node->column, fmt, ap);
	va_end(ap);
	return ret;
}

const char *rigi_node_describe(const struct rigi_node *node, char *buf, size_t cap)
{
	if (!node)
		snprintf(buf, cap, "nothing");
	else if (node->kind == RIGI_NODE_MAP)
		snprintf(buf, cap, "a mapping");
	else if (node->kind == RIGI_NODE_SEQ)
		snprintf(buf, cap, "a list");
	else if (node->len == 0 && node->style == RIGI_SCALAR_PLAIN)
		snprintf(buf, cap, "nothing");
	else
		snprintf(buf, cap, "%s'%.40s%s'", node->style == RIGI_SCALAR_QUOTED ? "the string " : "",
			 node->text, node->len > 40 ? "..." : "");
	return buf;
}

/* "expected <expected>, found <node>" at the node. */
static int mismatch(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		    const char *expected)
{
	char found[64];
	return rigi_cfg_fail(cfg, node, "'%s': expected %s, found %s", what, expected,
			     rigi_node_describe(node, found, sizeof(found)));
}

/* ---- mappings ---- */

static int list_keys(const char *const *keys, char *buf, size_t cap)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; keys[i] && used < cap; i++) {
		int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", keys[i]);
		if (n < 0)
			return -1;
		used += (size_t)n;
	}
	return 0;
}

int rigi_cfg_map(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		 const char *const *keys, struct rigi_map *out)
{
	char name[sizeof(out->what)];
	char found[64];
	/* @p what may point into @p out (a caller renaming its own map). */
	if (what)
		snprintf(name, sizeof(name), "'%s'", what);
	else
		snprintf(name, sizeof(name), "the top level");
	out->cfg = cfg;
	out->node = node;
	memcpy(out->what, name, sizeof(name));
	if (node->kind != RIGI_NODE_MAP)
		return rigi_cfg_fail(cfg, node, "%s: expected a mapping (key: value lines), found %s",
				     name, rigi_node_describe(node, found, sizeof(found)));
	for (size_t i = 0; i < node->n; i++) {
		const struct rigi_node *key = node->pairs[i].key;
		size_t k = 0;
		while (keys[k] && strcmp(keys[k], key->text) != 0)
			k++;
		if (!keys[k]) {
			char known[512];
			list_keys(keys, known, sizeof(known));
			return rigi_cfg_fail(cfg, key, "unknown key '%s' in %s: expected one of %s",
					     key->text, name, known);
		}
	}
	return 0;
}

const struct rigi_node *rigi_map_find(const struct rigi_map *m, const char *key)
{
	for (size_t i = 0; m->node && i < m->node->n; i++)
		if (strcmp(m->node->pairs[i].key->text, key) == 0)
			return m->node->pairs[i].value;
	return NULL;
}

int rigi_map_get(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const struct rigi_node **out)
{
	*out = rigi_map_find(m, key);
	if (!*out && need == RIGI_REQUIRED)
		return rigi_cfg_fail(m->cfg, m->node, "expected key '%s' in %s, found none", key,
				     m->what);
	return 0;
}

int rigi_map_map(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const char *const *keys, struct rigi_map *out)
{
	const struct rigi_node *n;
	int ret = rigi_map_get(m, key, need, &n);
	if (ret < 0)
		return ret;
	if (!n) {
		out->cfg = m->cfg;
		out->node = NULL;
		snprintf(out->what, sizeof(out->what), "'%s'", key);
		return 0;
	}
	return rigi_cfg_map(m->cfg, n, key, keys, out);
}

int rigi_map_seq(const struct rigi_map *m, const char *key, enum rigi_need need,
		 const struct rigi_node **out)
{
	int ret = rigi_map_get(m, key, need, out);
	if (ret < 0 || !*out)
		return ret;
	if ((*out)->kind != RIGI_NODE_SEQ)
		return mismatch(m->cfg, *out, key, "a list");
	return 0;
}

/* ---- strings and ${NAME} expansion ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static int sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = 2 * (b->len + n + 1);
		char *p = realloc(b->p, cap);
		if (!p)
			return rigi_fail(RIG_ERR_NOMEM, "out of memory expanding a string");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static const char *lookup_var(const struct rigi_cfg *cfg, const char *name, size_t len)
{
	for (size_t i = 0; cfg->vars && cfg->vars[i]; i++)
		if (strncmp(cfg->vars[i], name, len) == 0 && cfg->vars[i][len] == '=')
			return cfg->vars[i] + len + 1;
	char key[128];
	if (len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	return getenv(key);
}

static int is_name_char(char c, int first)
{
	return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (!first && c >= '0' && c <= '9');
}

/* Fail at byte @p off of the scalar: exact when the text is verbatim. */
static int fail_in_text(const struct rigi_cfg *cfg, const struct rigi_node *node, size_t off,
			const char *msg)
{
	unsigned col = node->column;
	if (node->verbatim) {
		size_t chars = 0;
		for (size_t i = 0; i < off; i++)
			if (((unsigned char)node->text[i] & 0xC0) != 0x80)
				chars++;
		col += (unsigned)chars + (node->style == RIGI_SCALAR_QUOTED);
	}
	return fail_at(cfg, node->line, col, "%s", msg);
}

/* One ${NAME} at text[*pos]: append its value and advance past '}'. */
static int expand_one(const struct rigi_cfg *cfg, const struct rigi_node *node, size_t *pos,
		      struct sbuf *b)
{
	const char *t = node->text;
	const char *name = t + *pos + 2;
	size_t len = 0;
	char msg[320];

	while (is_name_char(name[len], len == 0))
		len++;
	if (name[len] != '}' || len == 0) {
		snprintf(msg, sizeof(msg),
			 "expected ${NAME} with a name of letters, digits and '_', found '%.40s'",
			 t + *pos);
		return fail_in_text(cfg, node, *pos, msg);
	}
	const char *value = lookup_var(cfg, name, len);
	if (!value) {
		snprintf(msg, sizeof(msg),
			 "undefined variable ${%.*s}: expected it to be set by the caller or in "
			 "the environment",
			 (int)len, name);
		return fail_in_text(cfg, node, *pos, msg);
	}
	*pos += len + 3;
	return sbuf_add(b, value, strlen(value));
}

static int expand(const struct rigi_cfg *cfg, const struct rigi_node *node, char **out)
{
	struct sbuf b = {0};
	const char *t = node->text;
	size_t i = 0;
	int ret = sbuf_add(&b, "", 0);

	while (ret == 0 && t[i]) {
		if (t[i] == '$' && t[i + 1] == '$') {
			ret = sbuf_add(&b, "$", 1);
			i += 2;
		} else if (t[i] == '$' && t[i + 1] == '{') {
			ret = expand_one(cfg, node, &i, &b);
		} else {
			size_t run = strcspn(t + i + 1, "$") + 1;
			ret = sbuf_add(&b, t + i, run);
			i += run;
		}
	}
	if (ret < 0) {
		free(b.p);
		return ret;
	}
	*out = b.p;
	return 0;
}

static int node_string(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		       char **out)
{
	char *s = NULL;
	int ret;
	if (node->kind != RIGI_NODE_SCALAR || node->len == 0)
		return mismatch(cfg, node, what, "a non-empty text value");
	if (cfg->expand)
		ret = expand(cfg, node, &s);
	else
		ret = (s = strdup(node->text)) ? 0 : rigi_fail(RIG_ERR_NOMEM, "out of memory");
	if (ret < 0)
		return ret;
	if (!*s) {
		free(s);
		return mismatch(cfg, node, what, "a value that is not empty after expansion");
	}
	free(*out);
	*out = s;
	return 0;
}

int rigi_map_str(const struct rigi_map *m, const char *key, enum rigi_need need, char **out)
{
	const struct rigi_node *n;
	int ret = rigi_map_get(m, key, need, &n);
	if (ret < 0 || !n)
		return ret;
	return node_string(m->cfg, n, key, out);
}

/* ---- numbers, booleans, dates, choices ---- */

static int is_plain_value(const struct rigi_node *node)
{
	return node->kind == RIGI_NODE_SCALAR && node->style == RIGI_SCALAR_PLAIN && node->len > 0;
}

int rigi_node_uint(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		   unsigned long lo, unsigned long hi, unsigned long *out)
{
	char expected[96];
	unsigned long v = 0;
	int ok = is_plain_value(node) && node->len <= 20 &&
		 strspn(node->text, "0123456789") == node->len;
	if (ok) {
		errno = 0;
		v = strtoul(node->text, NULL, 10);
		ok = errno == 0 && v >= lo && v <= hi;
	}
	if (!ok) {
		snprintf(expected, sizeof(expected), "an integer from %lu to %lu", lo, hi);
		return mismatch(cfg, node, what, expected);
	}
	*out = v;
	return 0;
}

int rigi_node_num(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		  double lo, double hi, double *out)
{
	char expected[96];
	double v = 0;
	char *end = NULL;
	/* Only decimal notation: strtod would also take hex, "inf" and "nan". */
	int ok = is_plain_value(node) && strspn(node->text, "0123456789+-.eE") == node->len;
	if (ok) {
		errno = 0;
		v = strtod(node->text, &end);
		ok = errno == 0 && *end == '\0' && isfinite(v) && v >= lo && v <= hi;
	}
	if (!ok) {
		snprintf(expected, sizeof(expected), "a number from %g to %g", lo, hi);
		return mismatch(cfg, node, what, expected);
	}
	*out = v;
	return 0;
}

int rigi_node_enum(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		   const char *const *names, int *out)
{
	char expected[512];
	for (int i = 0; node->kind == RIGI_NODE_SCALAR && names[i]; i++) {
		if (strcmp(node->text, names[i]) == 0) {
			*out = i;
			return 0;
		}
	}
	memcpy(expected, "one of ", 8);
	list_keys(names, expected + 7, sizeof(expected) - 7);
	return mismatch(cfg, node, what, expected);
}

/* Shared shape of the map-level typed readers: find, then convert. */
#define MAP_READER(key, need, call)                                                          \
	do {                                                                                 \
		const struct rigi_node *n_;                                                  \
		int ret_ = rigi_map_get(m, key, need, &n_);                                  \
		if (ret_ < 0 || !n_)                                                         \
			return ret_;                                                         \
		return call;                                                                 \
	} while (0)

int rigi_map_uint(const struct rigi_map *m, const char *key, enum rigi_need need,
		  unsigned long lo, unsigned long hi, unsigned long *out)
{
	MAP_READER(key, need, rigi_node_uint(m->cfg, n_, key, lo, hi, out));
}

int rigi_map_num(const struct rigi_map *m, const char *key, enum rigi_need need, double lo,
		 double hi, double *out)
{
	MAP_READER(key, need, rigi_node_num(m->cfg, n_, key, lo, hi, out));
}

int rigi_map_enum(const struct rigi_map *m, const char *key, enum rigi_need need,
		  const char *const *names, int *out)
{
	MAP_READER(key, need, rigi_node_enum(m->cfg, n_, key, names, out));
}

static int node_bool(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		     int *out)
{
	if (is_plain_value(node) && (strcmp(node->text, "true") == 0 ||
				     strcmp(node->text, "false") == 0)) {
		*out = node->text[0] == 't';
		return 0;
	}
	return mismatch(cfg, node, what, "true or false");
}

int rigi_map_bool(const struct rigi_map *m, const char *key, enum rigi_need need, int *out)
{
	MAP_READER(key, need, node_bool(m->cfg, n_, key, out));
}

static int node_date(const struct rigi_cfg *cfg, const struct rigi_node *node, const char *what,
		     struct rig_date *out)
{
	if (node->kind == RIGI_NODE_SCALAR && rig_date_parse(node->text, out) == 0)
		return 0;
	return mismatch(cfg, node, what, "a calendar date YYYY-MM-DD");
}

int rigi_map_date(const struct rigi_map *m, const char *key, enum rigi_need need,
		  struct rig_date *out)
{
	MAP_READER(key, need, node_date(m->cfg, n_, key, out));
}
