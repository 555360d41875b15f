/* The only jansson caller: run records to canonical JSON and back (schema
 * in docs/records.md). Canonical means the same record always gives the
 * same bytes: keys sorted, 2-space indent, reals with 15 significant
 * digits (a record read back and written again is byte-identical), NaN and
 * infinities as null. Reading is strict: every field is checked, unknown
 * keys are refused, and the table's knots must match its bytes. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <rig/record.h>

#include "core/core.h"

#define DUMP_FLAGS (JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

/* ---- writing ---- */

/* A JSON string; text that is not valid UTF-8 (a pen may send anything) is
 * kept readable with '?' for each byte outside printable ASCII. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j)
		return j;
	size_t n = strlen(s);
	char *copy = malloc(n + 1);
	if (!copy)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		copy[i] = (s[i] && ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7E)) ? '?'
											 : s[i];
	j = json_string(copy);
	free(copy);
	return j;
}

static json_t *jnum(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jtime(int64_t ms)
{
	char buf[32];
	if (ms <= 0 || rig_time_format_utc(ms, buf, sizeof(buf)) < 0)
		return json_null();
	return json_string(buf);
}

/* Set @p key; a NULL value (allocation failed) marks the build failed. */
static void put(json_t *obj, const char *key, json_t *value, int *failed)
{
	if (!obj || json_object_set_new(obj, key, value) != 0)
		*failed = 1;
}

static void append(json_t *arr, json_t *value, int *failed)
{
	if (!arr || json_array_append_new(arr, value) != 0)
		*failed = 1;
}

static json_t *limit_json(const struct rig_limit *l, int *failed)
{
	json_t *o = json_object();
	put(o, "low", jnum(l->low), failed);
	put(o, "high", jnum(l->high), failed);
	put(o, "nominal", jnum(l->nominal), failed);
	put(o, "unit", jstr(l->unit), failed);
	put(o, "guard", json_string(rig_guard_name(l->guard)), failed);
	put(o, "guard_factor", jnum(l->guard_factor), failed);
	return o;
}

static json_t *measurement_json(const struct rig_measurement *m, int *failed)
{
	json_t *o = json_object();
	json_t *acc = json_null();
	put(o, "name", jstr(m->name), failed);
	put(o, "quantity", jstr(m->quantity), failed);
	put(o, "unit", jstr(m->unit), failed);
	put(o, "setpoint", jnum(m->setpoint), failed);
	put(o, "value", jnum(m->value), failed);
	put(o, "error", jnum(m->error), failed);
	put(o, "U", jnum(m->u_expanded), failed);
	put(o, "k", jnum(m->k), failed);
	put(o, "n", json_integer(m->n), failed);
	put(o, "judged", json_boolean(m->judged), failed);
	/* A measurement that failed before its limit was known has none. */
	put(o, "limit", m->judged && m->limit.guard_factor >= 1 ? limit_json(&m->limit, failed)
								 : json_null(),
	    failed);
	if (m->judged && isfinite(m->accept_low) && isfinite(m->accept_high)) {
		acc = json_object();
		put(acc, "low", jnum(m->accept_low), failed);
		put(acc, "high", jnum(m->accept_high), failed);
	}
	put(o, "acceptance", acc, failed);
	put(o, "outcome", m->judged ? json_string(rig_outcome_name(m->outcome)) : json_null(),
	    failed);
	put(o, "reason", jstr(m->reason), failed);
	return o;
}

static json_t *step_json(const struct rig_record_step *st, size_t index, int *failed)
{
	json_t *o = json_object();
	json_t *ms = json_array();
	for (size_t i = 0; i < st->n_measurements; i++)
		append(ms, measurement_json(&st->measurements[i], failed), failed);
	put(o, "index", json_integer((json_int_t)index), failed);
	put(o, "name", jstr(st->name), failed);
	put(o, "type", jstr(st->type), failed);
	put(o, "outcome", json_string(rig_outcome_name(st->outcome)), failed);
	put(o, "reason", jstr(st->reason), failed);
	put(o, "started", jtime(st->started_ms), failed);
	put(o, "duration_s", jnum(st->duration_s), failed);
	put(o, "measurements", ms, failed);
	return o;
}

static json_t *knots_json(const struct rig_cal_table *t, int depth, int *failed)
{
	json_t *a = json_array();
	for (unsigned i = 0; i < (depth ? t->n_depth : t->n_rate); i++) {
		json_t *k = json_object();
		put(k, depth ? "setpoint_um" : "rate_spm",
		    json_integer(depth ? t->depth[i].setpoint_um : t->rate[i].rate_spm), failed);
		put(k, depth ? "code" : "duty",
		    json_integer(depth ? t->depth[i].code : t->rate[i].duty), failed);
		append(a, k, failed);
	}
	return a;
}

static json_t *table_json(const struct rig_record_table *t, int *failed)
{
	static const char hexdig[] = "0123456789abcdef";
	char hex[2 * RIG_CAL_TABLE_MAX_BYTES + 1];
	json_t *o = json_object();
	for (size_t i = 0; i < t->len; i++) {
		hex[2 * i] = hexdig[t->bytes[i] >> 4];
		hex[2 * i + 1] = hexdig[t->bytes[i] & 15];
	}
	hex[2 * t->len] = '\0';
	put(o, "slot", json_string(t->slot ? "B" : "A"), failed);
	put(o, "length", json_integer((json_int_t)t->len), failed);
	put(o, "bytes_hex", json_string(hex), failed);
	put(o, "serial", jstr(t->decoded.serial), failed);
	put(o, "table_seq", json_integer(t->decoded.table_seq), failed);
	put(o, "created", json_integer((json_int_t)t->decoded.created), failed);
	put(o, "depth_knots", knots_json(&t->decoded, 1, failed), failed);
	put(o, "rate_knots", knots_json(&t->decoded, 0, failed), failed);
	return o;
}

static json_t *pairs_json(int *failed, const char *k1, json_t *v1, const char *k2, json_t *v2)
{
	json_t *o = json_object();
	put(o, k1, v1, failed);
	put(o, k2, v2, failed);
	return o;
}

static json_t *record_json(const struct rig_record *r, int *failed)
{
	char seed[24];
	json_t *o = json_object();
	json_t *steps = json_array();
	json_t *station = pairs_json(failed, "id", jstr(r->station_id), "nest",
				     json_integer(r->nest));
	json_t *unit = pairs_json(failed, "serial", jstr(r->unit.serial), "model",
				  jstr(r->unit.model));
	snprintf(seed, sizeof(seed), "%" PRIu64, r->seed);
	put(station, "simulated", json_boolean(r->simulated), failed);
	put(station, "seed", r->simulated ? json_string(seed) : json_null(), failed);
	put(unit, "hardware", jstr(r->unit.hardware), failed);
	put(unit, "firmware", jstr(r->unit.firmware), failed);
	for (size_t i = 0; i < r->n_steps; i++)
		append(steps, step_json(r->steps[i], i, failed), failed);
	put(o, "schema", json_string(RIG_RECORD_SCHEMA), failed);
	put(o, "run_id", jstr(r->run_id), failed);
	put(o, "suite", pairs_json(failed, "name", jstr(r->suite_name), "version",
				   jstr(r->suite_version)), failed);
	put(o, "station", station, failed);
	put(o, "unit", unit, failed);
	put(o, "operator", jstr(r->operator_name), failed);
	put(o, "started", jtime(r->started_ms), failed);
	put(o, "ended", jtime(r->ended_ms), failed);
	put(o, "software", pairs_json(failed, "name", json_string("needle-rig"), "version",
				      jstr(r->software_version)), failed);
	put(o, "steps", steps, failed);
	put(o, "table", r->has_table ? table_json(&r->table, failed) : json_null(), failed);
	put(o, "safe_state", pairs_json(failed, "confirmed", json_boolean(r->safe_state_confirmed),
					"detail", jstr(r->safe_state_detail)), failed);
	put(o, "outcome", json_string(rig_outcome_name(r->outcome)), failed);
	put(o, "reason", jstr(r->reason), failed);
	return o;
}

int rig_record_to_json(const struct rig_record *rec, char **out)
{
	int failed = 0;
	char *text = NULL;
	if (!rec || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_record_to_json: record and out are required");
	json_t *root = record_json(rec, &failed);
	if (!failed && root)
		text = json_dumps(root, DUMP_FLAGS);
	json_decref(root);
	size_t n = text ? strlen(text) : 0;
	char *copy = text ? malloc(n + 2) : NULL;
	if (!copy) {
		free(text);
		return rigi_fail(RIG_ERR_NOMEM, "run %s: out of memory building the JSON record",
				 rec->run_id);
	}
	memcpy(copy, text, n);
	memcpy(copy + n, "\n", 2);
	free(text);
	*out = copy;
	return 0;
}

/* The table of a record alone, for calibrations/<serial>/<run-id>.json:
 * the same fields as the record's "table", with the run and station. */
int rig_record_table_to_json(const struct rig_record *rec, char **out)
{
	int failed = 0;
	char *text = NULL;
	json_t *root;
	if (!rec || !out || !rec->has_table)
		return rigi_fail(RIG_ERR_ARG, "rig_record_table_to_json: a record with a table is "
					      "required");
	root = table_json(&rec->table, &failed);
	put(root, "schema", json_string("needle-rig/table/1"), &failed);
	put(root, "run_id", jstr(rec->run_id), &failed);
	put(root, "station", jstr(rec->station_id), &failed);
	if (!failed)
		text = json_dumps(root, DUMP_FLAGS);
	json_decref(root);
	if (!text)
		return rigi_fail(RIG_ERR_NOMEM, "run %s: out of memory building the table JSON",
				 rec->run_id);
	*out = text;
	return 0;
}

/* ---- reading ---- */

/* Where in the document a reader is, for messages. */
struct rd {
	const char *source;
	const char *where;   /* "", "steps[2]", "steps[2].measurements[0]", ... */
};

static int rd_fail(const struct rd *r, const char *key, const char *expected)
{
	return rigi_fail(RIG_ERR_FORMAT, "%s: %s%s'%s': expected %s", r->source, r->where,
			 r->where[0] ? " " : "", key, expected);
}

static int check_keys(const struct rd *r, json_t *obj, const char *const *keys)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (!keys[i])
			return rd_fail(r, key, "no such field in schema " RIG_RECORD_SCHEMA);
	}
	for (size_t i = 0; keys[i]; i++)
		if (!json_object_get(obj, keys[i]))
			return rd_fail(r, keys[i], "this field (missing)");
	return 0;
}

static int get_str(const struct rd *r, json_t *obj, const char *key, char *buf, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return rd_fail(r, key, "a string of a sensible length");
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* A number, or null read as NAN. */
static int get_num(const struct rd *r, json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (json_is_null(v))
		*out = NAN;
	else if (json_is_number(v))
		*out = json_number_value(v);
	else
		return rd_fail(r, key, "a number or null");
	return 0;
}

static int get_int(const struct rd *r, json_t *obj, const char *key, json_int_t lo,
		   json_int_t hi, json_int_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return rd_fail(r, key, "an integer in range");
	*out = json_integer_value(v);
	return 0;
}

static int get_bool(const struct rd *r, json_t *obj, const char *key, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_boolean(v))
		return rd_fail(r, key, "true or false");
	*out = json_is_true(v);
	return 0;
}

/* A time string, or null (0) when @p nullable. */
static int get_time(const struct rd *r, json_t *obj, const char *key, int nullable,
		    int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (nullable && json_is_null(v)) {
		*out = 0;
		return 0;
	}
	if (!json_is_string(v) || rig_time_parse_utc(json_string_value(v), out) < 0)
		return rd_fail(r, key, "a UTC time YYYY-MM-DDTHH:MM:SS.mmmZ");
	return 0;
}

static int get_outcome(const struct rd *r, json_t *obj, const char *key, enum rig_outcome *out)
{
	json_t *v = json_object_get(obj, key);
	int o = json_is_string(v) ? rig_outcome_parse(json_string_value(v)) : -1;
	if (o < 0)
		return rd_fail(r, key, "PASS, FAIL, INDETERMINATE, ERROR or ABORTED");
	*out = (enum rig_outcome)o;
	return 0;
}

/* An object with exactly @p keys (or null when @p nullable: *out NULL). */
static int get_obj(const struct rd *r, json_t *obj, const char *key, int nullable,
		   const char *const *keys, json_t **out)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (nullable && json_is_null(v))
		return 0;
	if (!json_is_object(v))
		return rd_fail(r, key, nullable ? "an object or null" : "an object");
	char where[160];
	snprintf(where, sizeof(where), "%s%s%s", r->where, r->where[0] ? "." : "", key);
	struct rd sub = {r->source, where};
	*out = v;
	return check_keys(&sub, v, keys);
}

static const char *const limit_keys[] = {"low", "high", "nominal", "unit", "guard",
					 "guard_factor", NULL};
static const char *const accept_keys[] = {"low", "high", NULL};

static int read_limit(const struct rd *r, json_t *o, struct rig_measurement *m)
{
	json_t *l, *a;
	int ret = get_obj(r, o, "limit", 1, limit_keys, &l);
	if (ret == 0 && l) {
		json_t *g = json_object_get(l, "guard");
		int guard = json_is_string(g) ? rig_guard_parse(json_string_value(g)) : -1;
		if (guard < 0)
			return rd_fail(r, "limit.guard", "guarded or guarded-accept");
		m->limit.guard = (enum rig_guard)guard;
		if ((ret = get_num(r, l, "low", &m->limit.low)) < 0 ||
		    (ret = get_num(r, l, "high", &m->limit.high)) < 0 ||
		    (ret = get_num(r, l, "nominal", &m->limit.nominal)) < 0 ||
		    (ret = get_str(r, l, "unit", m->limit.unit, sizeof(m->limit.unit))) < 0 ||
		    (ret = get_num(r, l, "guard_factor", &m->limit.guard_factor)) < 0)
			return ret;
	}
	if (ret == 0)
		ret = get_obj(r, o, "acceptance", 1, accept_keys, &a);
	if (ret == 0 && a && ((ret = get_num(r, a, "low", &m->accept_low)) < 0 ||
			      (ret = get_num(r, a, "high", &m->accept_high)) < 0))
		return ret;
	return ret;
}

static const char *const measurement_keys[] = {
	"name", "quantity", "unit", "setpoint", "value", "error", "U", "k", "n", "judged",
	"limit", "acceptance", "outcome", "reason", NULL};

static int read_measurement(const struct rd *r, json_t *o, struct rig_measurement *m)
{
	json_int_t n = 0;
	int ret = check_keys(r, o, measurement_keys);
	rig_measurement_init(m, "", "", "", NAN);
	if (ret < 0 || (ret = get_str(r, o, "name", m->name, sizeof(m->name))) < 0 ||
	    (ret = get_str(r, o, "quantity", m->quantity, sizeof(m->quantity))) < 0 ||
	    (ret = get_str(r, o, "unit", m->unit, sizeof(m->unit))) < 0 ||
	    (ret = get_num(r, o, "setpoint", &m->setpoint)) < 0 ||
	    (ret = get_num(r, o, "value", &m->value)) < 0 ||
	    (ret = get_num(r, o, "error", &m->error)) < 0 ||
	    (ret = get_num(r, o, "U", &m->u_expanded)) < 0 ||
	    (ret = get_num(r, o, "k", &m->k)) < 0 ||
	    (ret = get_int(r, o, "n", 0, UINT32_MAX, &n)) < 0 ||
	    (ret = get_bool(r, o, "judged", &m->judged)) < 0 ||
	    (ret = read_limit(r, o, m)) < 0 ||
	    (ret = get_str(r, o, "reason", m->reason, sizeof(m->reason))) < 0)
		return ret;
	m->n = (unsigned)n;
	if (m->judged)
		return get_outcome(r, o, "outcome", &m->outcome);
	if (!json_is_null(json_object_get(o, "outcome")))
		return rd_fail(r, "outcome", "null for a measurement that is not judged");
	return 0;
}

static const char *const step_keys[] = {"index", "name", "type", "outcome", "reason",
					"started", "duration_s", "measurements", NULL};

static int read_step(const struct rd *parent, json_t *o, size_t i, struct rig_record *rec)
{
	char where[48], mwhere[96];
	struct rig_record_step *st;
	json_int_t index = 0;
	snprintf(where, sizeof(where), "steps[%zu]", i);
	struct rd r = {parent->source, where};
	int ret = json_is_object(o) ? check_keys(&r, o, step_keys) : rd_fail(parent, where, "an object");
	if (ret < 0 || (ret = rig_record_step_begin(rec, "", "", &st)) < 0)
		return ret;
	json_t *ms = json_object_get(o, "measurements");
	if ((ret = get_int(&r, o, "index", (json_int_t)i, (json_int_t)i, &index)) < 0 ||
	    (ret = get_str(&r, o, "name", st->name, sizeof(st->name))) < 0 ||
	    (ret = get_str(&r, o, "type", st->type, sizeof(st->type))) < 0 ||
	    (ret = get_outcome(&r, o, "outcome", &st->outcome)) < 0 ||
	    (ret = get_str(&r, o, "reason", st->reason, sizeof(st->reason))) < 0 ||
	    (ret = get_time(&r, o, "started", 0, &st->started_ms)) < 0 ||
	    (ret = get_num(&r, o, "duration_s", &st->duration_s)) < 0)
		return ret;
	if (!json_is_array(ms))
		return rd_fail(&r, "measurements", "a list");
	for (size_t k = 0; k < json_array_size(ms); k++) {
		struct rig_measurement m;
		json_t *mo = json_array_get(ms, k);
		snprintf(mwhere, sizeof(mwhere), "%s.measurements[%zu]", where, k);
		struct rd mr = {r.source, mwhere};
		ret = json_is_object(mo) ? read_measurement(&mr, mo, &m)
					 : rd_fail(&r, "measurements", "a list of objects");
		if (ret == 0)
			ret = rig_record_step_add(st, &m);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int hex_decode(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0)
			return -1;
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : v << 4);
	}
	*len = n / 2;
	return 0;
}

static const char *const table_keys[] = {"slot", "length", "bytes_hex", "serial", "table_seq",
					 "created", "depth_knots", "rate_knots", NULL};

/* The table's bytes are the truth; the decoded fields must agree with them. */
static int read_table(const struct rd *r, json_t *t, struct rig_record *rec)
{
	uint8_t bytes[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 0;
	json_t *hex = json_object_get(t, "bytes_hex");
	json_t *slot = json_object_get(t, "slot");
	struct rd tr = {r->source, "table"};
	if (!json_is_string(hex) || hex_decode(json_string_value(hex), bytes, sizeof(bytes), &len))
		return rd_fail(&tr, "bytes_hex", "lowercase hex digits of a format-1 table");
	if (!json_is_string(slot) || (strcmp(json_string_value(slot), "A") != 0 &&
				      strcmp(json_string_value(slot), "B") != 0))
		return rd_fail(&tr, "slot", "\"A\" or \"B\"");
	int ret = rig_record_set_table(rec, bytes, len, json_string_value(slot)[0] == 'B');
	if (ret < 0)
		return rigi_fail(RIG_ERR_FORMAT, "%s: table: bytes_hex: %s", r->source,
				 rig_last_error());
	int failed = 0;
	json_t *again = table_json(&rec->table, &failed);
	int same = !failed && json_equal(again, t);
	json_decref(again);
	if (!same)
		return rd_fail(&tr, "depth_knots", "fields that agree with bytes_hex (edited record?)");
	return 0;
}

static const char *const top_keys[] = {"schema",   "run_id",  "suite",    "station",
				       "unit",     "operator", "started", "ended",
				       "software", "steps",    "table",   "safe_state",
				       "outcome",  "reason",   NULL};
static const char *const suite_keys[] = {"name", "version", NULL};
static const char *const station_keys[] = {"id", "nest", "simulated", "seed", NULL};
static const char *const unit_keys[] = {"serial", "model", "hardware", "firmware", NULL};
static const char *const software_keys[] = {"name", "version", NULL};
static const char *const safe_keys[] = {"confirmed", "detail", NULL};

static int read_station(const struct rd *r, json_t *o, struct rig_record *rec)
{
	json_t *st;
	json_int_t nest = 0;
	struct rd sr = {r->source, "station"};
	int ret = get_obj(r, o, "station", 0, station_keys, &st);
	if (ret < 0 || (ret = get_str(&sr, st, "id", rec->station_id, sizeof(rec->station_id))) < 0 ||
	    (ret = get_int(&sr, st, "nest", 0, 255, &nest)) < 0 ||
	    (ret = get_bool(&sr, st, "simulated", &rec->simulated)) < 0)
		return ret;
	rec->nest = (unsigned)nest;
	json_t *seed = json_object_get(st, "seed");
	const char *s = json_string_value(seed);
	if (!rec->simulated && json_is_null(seed))
		return 0;
	if (rec->simulated && s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20) {
		errno = 0;
		rec->seed = strtoull(s, NULL, 10);
		if (errno == 0)
			return 0;
	}
	return rd_fail(&sr, "seed", "a decimal string when simulated, else null");
}

static int read_header(const struct rd *r, json_t *o, struct rig_record *rec)
{
	json_t *suite, *unit, *sw, *safe;
	struct rd sr = {r->source, "suite"}, ur = {r->source, "unit"}, wr = {r->source, "software"},
		  fr = {r->source, "safe_state"};
	int ret;
	if ((ret = get_str(r, o, "run_id", rec->run_id, sizeof(rec->run_id))) < 0 ||
	    (ret = get_obj(r, o, "suite", 0, suite_keys, &suite)) < 0 ||
	    (ret = get_str(&sr, suite, "name", rec->suite_name, sizeof(rec->suite_name))) < 0 ||
	    (ret = get_str(&sr, suite, "version", rec->suite_version, sizeof(rec->suite_version))) < 0 ||
	    (ret = read_station(r, o, rec)) < 0 ||
	    (ret = get_obj(r, o, "unit", 0, unit_keys, &unit)) < 0 ||
	    (ret = get_str(&ur, unit, "serial", rec->unit.serial, sizeof(rec->unit.serial))) < 0 ||
	    (ret = get_str(&ur, unit, "model", rec->unit.model, sizeof(rec->unit.model))) < 0 ||
	    (ret = get_str(&ur, unit, "hardware", rec->unit.hardware, sizeof(rec->unit.hardware))) < 0 ||
	    (ret = get_str(&ur, unit, "firmware", rec->unit.firmware, sizeof(rec->unit.firmware))) < 0 ||
	    (ret = get_str(r, o, "operator", rec->operator_name, sizeof(rec->operator_name))) < 0 ||
	    (ret = get_time(r, o, "started", 0, &rec->started_ms)) < 0 ||
	    (ret = get_time(r, o, "ended", 1, &rec->ended_ms)) < 0 ||
	    (ret = get_obj(r, o, "software", 0, software_keys, &sw)) < 0 ||
	    (ret = get_str(&wr, sw, "version", rec->software_version,
			   sizeof(rec->software_version))) < 0 ||
	    (ret = get_obj(r, o, "safe_state", 0, safe_keys, &safe)) < 0 ||
	    (ret = get_bool(&fr, safe, "confirmed", &rec->safe_state_confirmed)) < 0 ||
	    (ret = get_str(&fr, safe, "detail", rec->safe_state_detail,
			   sizeof(rec->safe_state_detail))) < 0 ||
	    (ret = get_outcome(r, o, "outcome", &rec->outcome)) < 0 ||
	    (ret = get_str(r, o, "reason", rec->reason, sizeof(rec->reason))) < 0)
		return ret;
	return 0;
}

static int read_record(const struct rd *r, json_t *root, struct rig_record *rec)
{
	json_t *schema = json_object_get(root, "schema");
	json_t *steps, *table;
	if (!json_is_string(schema) || strcmp(json_string_value(schema), RIG_RECORD_SCHEMA) != 0)
		return rd_fail(r, "schema", "\"" RIG_RECORD_SCHEMA "\" (a record of another "
					    "version needs the rig that wrote it)");
	int ret = check_keys(r, root, top_keys);
	if (ret == 0)
		ret = read_header(r, root, rec);
	if (ret < 0)
		return ret;
	steps = json_object_get(root, "steps");
	if (!json_is_array(steps))
		return rd_fail(r, "steps", "a list");
	for (size_t i = 0; i < json_array_size(steps); i++)
		if ((ret = read_step(r, json_array_get(steps, i), i, rec)) < 0)
			return ret;
	ret = get_obj(r, root, "table", 1, table_keys, &table);
	if (ret == 0 && table)
		ret = read_table(r, table, rec);
	return ret;
}

int rig_record_from_json(const char *text, const char *source, struct rig_record **out)
{
	struct rig_record *rec = NULL;
	json_error_t jerr;
	struct rd r = {source ? source : "record", ""};
	int ret;

	if (!text || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_record_from_json: text and out are required");
	*out = NULL;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%d:%d: not valid JSON: %s", r.source, jerr.line,
				 jerr.column, jerr.text);
	if (!json_is_object(root)) {
		ret = rigi_fail(RIG_ERR_FORMAT, "%s: expected a JSON object at the top", r.source);
		goto out;
	}
	rec = calloc(1, sizeof(*rec));
	if (!rec) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", r.source);
		goto out;
	}
	ret = read_record(&r, root, rec);
out:
	json_decref(root);
	if (ret < 0) {
		rig_record_free(rec);
		return ret;
	}
	*out = rec;
	return 0;
}
