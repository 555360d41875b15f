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

#include <rig/event.h>
#include <rig/record.h>
#include <rig/store.h>

#include "core/core.h"
#include "records/records.h"
#include "records/store_int.h"

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

static json_t *budget_json(const struct rig_measurement *m, int *failed)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < m->n_budget; i++) {
		json_t *c = json_object();
		put(c, "source", jstr(m->budget[i].source), failed);
		put(c, "u", jnum(m->budget[i].u), failed);
		if (json_array_append_new(a, c) < 0)
			*failed = 1;
	}
	if (!a)
		*failed = 1;
	return a;
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
	if (m->n_budget) /* absent when U is not itemised, as in records before it */
		put(o, "u_budget", budget_json(m, failed), failed);
	put(o, "reason", jstr(m->reason), failed);
	return o;
}

static json_t *step_json(const struct rig_record_step *st, size_t index, int verdicts,
			 int *failed)
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
	if (verdicts) { /* derived from the measurements, for readers of the file */
		int verdict = rig_record_step_verdict(st), drifted = rig_record_step_drifted(st);
		put(o, "verdict",
		    verdict < 0 ? json_null() : json_string(rig_outcome_name(verdict)), failed);
		put(o, "drifted", drifted < 0 ? json_null() : json_boolean(drifted), failed);
	}
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

static json_t *jstr_or_null(const char *s)
{
	return s && *s ? jstr(s) : json_null();
}

static json_t *instrument_json(const struct rig_record_instrument *in, int *failed)
{
	json_t *o = json_object();
	char hex[8];
	put(o, "role", jstr(in->role), failed);
	put(o, "nest", in->nest < 0 ? json_null() : json_integer(in->nest), failed);
	put(o, "uri", jstr(in->uri), failed);
	put(o, "identified", json_boolean(in->identified), failed);
	snprintf(hex, sizeof(hex), "0x%04x", in->device_type);
	put(o, "device_type", in->identified ? json_string(hex) : json_null(), failed);
	put(o, "map_version", in->identified ? json_integer(in->map_version) : json_null(), failed);
	put(o, "serial", in->identified ? json_integer(in->serial) : json_null(), failed);
	put(o, "firmware", in->identified ? jstr(in->firmware) : json_null(), failed);
	put(o, "certificate", jstr_or_null(in->certificate), failed);
	put(o, "calibrated", jstr_or_null(in->calibrated), failed);
	put(o, "due", jstr_or_null(in->due), failed);
	put(o, "standard_uncertainty", jnum(in->standard_uncertainty), failed);
	put(o, "unit", jstr(in->unit), failed);
	return o;
}

static json_t *instruments_json(const struct rig_record_station *st, int *failed)
{
	json_t *a = json_array();
	for (size_t i = 0; i < st->n_instruments; i++)
		append(a, instrument_json(&st->instruments[i], failed), failed);
	return a;
}

static json_t *phantom_json(const struct rig_record_phantom *p, int *failed)
{
	json_t *o = json_object();
	put(o, "type", jstr(p->type), failed);
	put(o, "lot", jstr_or_null(p->lot), failed);
	put(o, "installed", jstr_or_null(p->installed), failed);
	put(o, "expires", jstr_or_null(p->expires), failed);
	put(o, "max_strokes", p->max_strokes ? json_integer((json_int_t)p->max_strokes)
					     : json_null(), failed);
	put(o, "strokes_before", json_integer((json_int_t)p->strokes_before), failed);
	put(o, "strokes_run", json_integer((json_int_t)p->strokes_run), failed);
	return o;
}

/* The station without its instruments (those arrive in their own event). */
static json_t *station_json(const struct rig_record_station *st, int *failed)
{
	char seed[24];
	json_t *o = json_object();
	snprintf(seed, sizeof(seed), "%" PRIu64, st->seed);
	put(o, "id", jstr(st->id), failed);
	put(o, "name", jstr(st->name), failed);
	put(o, "nest", json_integer(st->nest), failed);
	put(o, "simulated", json_boolean(st->simulated), failed);
	put(o, "seed", st->simulated ? json_string(seed) : json_null(), failed);
	put(o, "host", jstr(st->host), failed);
	put(o, "fixture", pairs_json(failed, "path", jstr(st->fixture_path), "sha256",
				     jstr(st->fixture_sha256)), failed);
	put(o, "phantom", phantom_json(&st->phantom, failed), failed);
	return o;
}

static json_t *unit_json(const struct rig_record_unit *u, int *failed)
{
	json_t *o = json_object();
	put(o, "serial", jstr(u->serial), failed);
	put(o, "model", jstr(u->model), failed);
	put(o, "hardware", jstr(u->hardware), failed);
	put(o, "firmware", jstr(u->firmware), failed);
	put(o, "previous_table", u->has_previous_table ? table_json(&u->previous_table, failed)
						       : json_null(), failed);
	put(o, "previous_table_path", jstr_or_null(u->previous_table_path), failed);
	return o;
}

/* What a run_begin event carries: the record's header. */
/* The record's warnings: one string per line of @p text. */
static json_t *warnings_json(const char *text, int *failed)
{
	json_t *a = json_array();
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char line[RIG_RECORD_WARNINGS_MAX];
		snprintf(line, sizeof(line), "%.*s", (int)n, p);
		append(a, jstr(line), failed);
		p += n + (nl != NULL);
	}
	return a;
}

static void header_json(json_t *o, const struct rig_record *r, int *failed)
{
	json_t *suite = pairs_json(failed, "name", jstr(r->suite_name), "version",
				   jstr(r->suite_version));
	json_t *sw = pairs_json(failed, "name", json_string("needle-rig"), "version",
				jstr(r->software_version));
	put(suite, "path", jstr(r->suite_path), failed);
	put(suite, "sha256", jstr(r->suite_sha256), failed);
	put(sw, "commit", jstr(r->software_commit), failed);
	put(o, "run_id", jstr(r->run_id), failed);
	put(o, "suite", suite, failed);
	put(o, "station", station_json(&r->station, failed), failed);
	put(o, "operator", jstr(r->operator_name), failed);
	put(o, "started", jtime(r->started_ms), failed);
	put(o, "software", sw, failed);
	if (r->warnings[0])
		put(o, "warnings", warnings_json(r->warnings, failed), failed);
}

static json_t *written_table_json(const struct rig_record *r, int *failed)
{
	json_t *o = table_json(&r->table, failed);
	put(o, "commit", json_string(rig_commit_status_name(r->commit)), failed);
	put(o, "commit_detail", jstr(r->commit_detail), failed);
	put(o, "stored", pairs_json(failed, "bin", jstr(r->table_bin_path), "json",
				    jstr(r->table_json_path)), failed);
	put(o, "read_back", r->read_back < 0 ? json_null() : json_boolean(r->read_back), failed);
	return o;
}

static json_t *error_json(int err, int *failed)
{
	if (!err)
		return json_null();
	return pairs_json(failed, "code", json_integer(err), "name", json_string(rig_errname(err)));
}

static json_t *record_json(const struct rig_record *r, int *failed)
{
	json_t *o = json_object();
	json_t *steps = json_array();
	json_t *station;
	for (size_t i = 0; i < r->n_steps; i++)
		append(steps, step_json(r->steps[i], i, r->step_verdicts, failed), failed);
	header_json(o, r, failed);
	station = json_object_get(o, "station");
	put(station, "instruments", instruments_json(&r->station, failed), failed);
	put(o, "schema", json_string(RIG_RECORD_SCHEMA), failed);
	put(o, "unit", unit_json(&r->unit, failed), failed);
	put(o, "ended", jtime(r->ended_ms), failed);
	put(o, "steps", steps, failed);
	put(o, "table", r->has_table ? written_table_json(r, failed) : json_null(), failed);
	put(o, "safe_state", pairs_json(failed, "confirmed", json_boolean(r->safe_state_confirmed),
					"detail", jstr(r->safe_state_detail)), failed);
	put(o, "outcome", json_string(rig_outcome_name(r->outcome)), failed);
	put(o, "reason", jstr(r->reason), failed);
	put(o, "error", error_json(r->error, failed), failed);
	put(o, "journal", pairs_json(failed, "events", json_integer((json_int_t)r->journal_events),
				     "last_sha256", jstr(r->journal_sha256)), failed);
	put(json_object_get(o, "journal"), "file", json_string("journal.jsonl"), failed);
	put(o, "signature", r->signer_public_key[0]
		? pairs_json(failed, "algorithm", json_string("ed25519"), "public_key",
			     jstr(r->signer_public_key))
		: json_null(), failed);
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
	put(root, "station", jstr(rec->station.id), &failed);
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
	int version;         /* the record schema version being read */
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
	/* A key listed as "?name" is optional (added within a schema version:
	 * records written before it lack it and still verify byte for byte). */
	json_object_foreach(obj, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i] + (keys[i][0] == '?'), key) != 0)
			i++;
		if (!keys[i])
			return rd_fail(r, key, r->version < 2 ? "no such field in schema "
						RIG_RECORD_SCHEMA_1 : "no such field in schema "
						RIG_RECORD_SCHEMA);
	}
	for (size_t i = 0; keys[i]; i++)
		if (keys[i][0] != '?' && !json_object_get(obj, keys[i]))
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
	struct rd sub = {r->source, where, r->version};
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
	"limit", "acceptance", "outcome", "reason", "?u_budget", NULL};
static const char *const budget_keys[] = {"source", "u", NULL};

/* u_budget (absent in records written before it: not itemised). */
static int read_budget(const struct rd *r, json_t *o, struct rig_measurement *m)
{
	json_t *a = json_object_get(o, "u_budget");
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > RIG_U_BUDGET_MAX)
		return rd_fail(r, "u_budget", "a list of at most 4 components");
	for (size_t i = 0; i < json_array_size(a); i++) {
		char where[160];
		json_t *c = json_array_get(a, i);
		snprintf(where, sizeof(where), "%s%su_budget[%zu]", r->where, r->where[0] ? "." : "",
			 i);
		struct rd cr = {r->source, where, r->version};
		struct rig_u_component *u = &m->budget[i];
		int ret = json_is_object(c) ? check_keys(&cr, c, budget_keys)
					    : rd_fail(r, "u_budget", "a list of {source, u} objects");
		if (ret < 0 || (ret = get_str(&cr, c, "source", u->source, sizeof(u->source))) < 0 ||
		    (ret = get_num(&cr, c, "u", &u->u)) < 0)
			return ret;
		m->n_budget++;
	}
	return 0;
}

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
	    (ret = get_str(r, o, "reason", m->reason, sizeof(m->reason))) < 0 ||
	    (ret = read_budget(r, o, m)) < 0)
		return ret;
	m->n = (unsigned)n;
	if (m->judged)
		return get_outcome(r, o, "outcome", &m->outcome);
	if (!json_is_null(json_object_get(o, "outcome")))
		return rd_fail(r, "outcome", "null for a measurement that is not judged");
	return 0;
}

/* verdict and drifted are derived from the measurements: not kept when read,
 * only whether the file has them (records written before them lack them). */
static const char *const step_keys[] = {"index",	 "name",      "type",	    "outcome",
					"reason",	 "started",   "duration_s",
					"measurements", "?verdict", "?drifted", NULL};

static int read_step(const struct rd *parent, json_t *o, size_t i, struct rig_record *rec)
{
	char where[48], mwhere[96];
	struct rig_record_step *st;
	json_int_t index = 0;
	snprintf(where, sizeof(where), "steps[%zu]", i);
	struct rd r = {parent->source, where, parent->version};
	int ret = json_is_object(o) ? check_keys(&r, o, step_keys) : rd_fail(parent, where, "an object");
	if (ret < 0 || (ret = rig_record_step_begin(rec, "", "", &st)) < 0)
		return ret;
	rec->step_verdicts = json_object_get(o, "verdict") != NULL;
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
		struct rd mr = {r.source, mwhere, r.version};
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
static const char *const written_table_keys[] = {
	"slot", "length", "bytes_hex", "serial", "table_seq", "created", "depth_knots",
	"rate_knots", "commit", "commit_detail", "stored", "read_back", NULL};

/* The table's bytes are the truth; the decoded fields must agree with them.
 * Only the keys of table_keys are compared (a written table has more). */
static int read_table_into(const struct rd *r, json_t *t, struct rig_record_table *out)
{
	uint8_t bytes[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 0;
	json_t *hex = json_object_get(t, "bytes_hex");
	json_t *slot = json_object_get(t, "slot");
	if (!json_is_string(hex) || hex_decode(json_string_value(hex), bytes, sizeof(bytes), &len))
		return rd_fail(r, "bytes_hex", "lowercase hex digits of a format-1 table");
	if (!json_is_string(slot) || (strcmp(json_string_value(slot), "A") != 0 &&
				      strcmp(json_string_value(slot), "B") != 0))
		return rd_fail(r, "slot", "\"A\" or \"B\"");
	int ret = rig_record_table_set(out, bytes, len, json_string_value(slot)[0] == 'B');
	if (ret < 0)
		return rigi_fail(RIG_ERR_FORMAT, "%s: %s bytes_hex: %s", r->source, r->where,
				 rig_last_error());
	int failed = 0, same = 1;
	json_t *again = table_json(out, &failed);
	for (size_t i = 0; table_keys[i] && !failed; i++)
		same &= json_equal(json_object_get(again, table_keys[i]),
				   json_object_get(t, table_keys[i]));
	json_decref(again);
	if (failed || !same)
		return rd_fail(r, "depth_knots", "fields that agree with bytes_hex (edited record?)");
	return 0;
}

/* A string field that may be null (read as ""). */
static int get_str_null(const struct rd *r, json_t *obj, const char *key, char *buf, size_t cap)
{
	if (json_is_null(json_object_get(obj, key))) {
		buf[0] = '\0';
		return 0;
	}
	return get_str(r, obj, key, buf, cap);
}

static const char *const stored_keys[] = {"bin", "json", NULL};

static int read_written_table(const struct rd *r, json_t *t, struct rig_record *rec)
{
	struct rd tr = {r->source, "table", r->version};
	json_t *stored, *rb = json_object_get(t, "read_back");
	char name[16];
	int ret = read_table_into(&tr, t, &rec->table);
	if (ret < 0)
		return ret;
	rec->has_table = 1;
	rec->commit = RIG_COMMIT_CONFIRMED; /* schema 1 recorded only committed tables */
	rec->read_back = -1;
	if (r->version < 2)
		return 0;
	if ((ret = get_str(&tr, t, "commit", name, sizeof(name))) < 0 ||
	    (ret = rig_commit_status_parse(name)) < 0)
		return rd_fail(&tr, "commit", "not_sent, sent, confirmed, failed or unknown");
	rec->commit = (enum rig_commit_status)ret;
	if ((ret = get_str(&tr, t, "commit_detail", rec->commit_detail,
			   sizeof(rec->commit_detail))) < 0 ||
	    (ret = get_obj(&tr, t, "stored", 0, stored_keys, &stored)) < 0 ||
	    (ret = get_str(&tr, stored, "bin", rec->table_bin_path, sizeof(rec->table_bin_path))) < 0 ||
	    (ret = get_str(&tr, stored, "json", rec->table_json_path,
			   sizeof(rec->table_json_path))) < 0)
		return ret;
	if (!json_is_null(rb) && !json_is_boolean(rb))
		return rd_fail(&tr, "read_back", "true, false or null");
	rec->read_back = json_is_null(rb) ? -1 : json_is_true(rb);
	return 0;
}

static const char *const top_keys_1[] = {"schema",   "run_id",  "suite",    "station",
					 "unit",     "operator", "started", "ended",
					 "software", "steps",    "table",   "safe_state",
					 "outcome",  "reason",   NULL};
static const char *const top_keys[] = {
	"schema", "run_id", "suite", "station", "unit", "operator", "started", "ended",
	"software", "steps", "table", "safe_state", "outcome", "reason", "error", "journal",
	"signature", "?warnings", NULL};
static const char *const suite_keys_1[] = {"name", "version", NULL};
static const char *const suite_keys[] = {"name", "version", "path", "sha256", NULL};
static const char *const station_keys_1[] = {"id", "nest", "simulated", "seed", NULL};
static const char *const station_keys[] = {"id", "name", "nest", "simulated", "seed",
					   "host", "fixture", "phantom", "instruments", NULL};
static const char *const fixture_keys[] = {"path", "sha256", NULL};
static const char *const phantom_keys[] = {"type", "lot", "installed", "expires",
					   "max_strokes", "strokes_before", "strokes_run", NULL};
static const char *const instrument_keys[] = {
	"role", "nest", "uri", "identified", "device_type", "map_version", "serial",
	"firmware", "certificate", "calibrated", "due", "standard_uncertainty", "unit", NULL};
static const char *const unit_keys_1[] = {"serial", "model", "hardware", "firmware", NULL};
static const char *const unit_keys[] = {"serial", "model", "hardware", "firmware",
					"previous_table", "previous_table_path", NULL};
static const char *const software_keys_1[] = {"name", "version", NULL};
static const char *const software_keys[] = {"name", "version", "commit", NULL};
static const char *const safe_keys[] = {"confirmed", "detail", NULL};
static const char *const error_keys[] = {"code", "name", NULL};
static const char *const journal_keys[] = {"file", "events", "last_sha256", NULL};
static const char *const signature_keys[] = {"algorithm", "public_key", NULL};

#define KEYS(r, name) ((r)->version < 2 ? name##_1 : name)

static int get_u64(const struct rd *r, json_t *obj, const char *key, int nullable, uint64_t *out)
{
	json_int_t v = 0;
	if (nullable && json_is_null(json_object_get(obj, key))) {
		*out = 0;
		return 0;
	}
	int ret = get_int(r, obj, key, 0, INT64_MAX, &v);
	*out = (uint64_t)v;
	return ret;
}

static int read_instrument(const struct rd *r, json_t *o, struct rig_record_instrument *in)
{
	json_int_t nest = -1, mv = 0, serial = 0;
	char type[8];
	int ret = json_is_object(o) ? check_keys(r, o, instrument_keys) : rd_fail(r, "", "an object");
	memset(in, 0, sizeof(*in));
	if (ret < 0 || (ret = get_str(r, o, "role", in->role, sizeof(in->role))) < 0 ||
	    (ret = get_str(r, o, "uri", in->uri, sizeof(in->uri))) < 0 ||
	    (ret = get_bool(r, o, "identified", &in->identified)) < 0 ||
	    (ret = get_str_null(r, o, "certificate", in->certificate, sizeof(in->certificate))) < 0 ||
	    (ret = get_str_null(r, o, "calibrated", in->calibrated, sizeof(in->calibrated))) < 0 ||
	    (ret = get_str_null(r, o, "due", in->due, sizeof(in->due))) < 0 ||
	    (ret = get_num(r, o, "standard_uncertainty", &in->standard_uncertainty)) < 0 ||
	    (ret = get_str(r, o, "unit", in->unit, sizeof(in->unit))) < 0)
		return ret;
	if (!json_is_null(json_object_get(o, "nest")) &&
	    (ret = get_int(r, o, "nest", 0, 255, &nest)) < 0)
		return ret;
	in->nest = (int)nest;
	if (!in->identified)
		return 0;
	if ((ret = get_str(r, o, "device_type", type, sizeof(type))) < 0 ||
	    (ret = get_int(r, o, "map_version", 0, 65535, &mv)) < 0 ||
	    (ret = get_int(r, o, "serial", 0, UINT32_MAX, &serial)) < 0 ||
	    (ret = get_str(r, o, "firmware", in->firmware, sizeof(in->firmware))) < 0)
		return ret;
	in->device_type = (uint16_t)strtoul(type, NULL, 16);
	in->map_version = (uint16_t)mv;
	in->serial = (uint32_t)serial;
	return 0;
}

static int read_instruments(const struct rd *r, json_t *a, struct rig_record_station *st)
{
	char where[64];
	if (!json_is_array(a) || json_array_size(a) > RIG_RECORD_MAX_INSTRUMENTS)
		return rd_fail(r, "instruments", "a list of at most 3 instruments");
	st->n_instruments = 0;
	for (size_t i = 0; i < json_array_size(a); i++) {
		snprintf(where, sizeof(where), "station.instruments[%zu]", i);
		struct rd ir = {r->source, where, r->version};
		int ret = read_instrument(&ir, json_array_get(a, i), &st->instruments[i]);
		if (ret < 0)
			return ret;
		st->n_instruments++;
	}
	return 0;
}

static int read_phantom(const struct rd *r, json_t *st, struct rig_record_phantom *p)
{
	json_t *o;
	struct rd pr = {r->source, "station.phantom", r->version};
	int ret = get_obj(r, st, "phantom", 0, phantom_keys, &o);
	if (ret < 0 || (ret = get_str(&pr, o, "type", p->type, sizeof(p->type))) < 0 ||
	    (ret = get_str_null(&pr, o, "lot", p->lot, sizeof(p->lot))) < 0 ||
	    (ret = get_str_null(&pr, o, "installed", p->installed, sizeof(p->installed))) < 0 ||
	    (ret = get_str_null(&pr, o, "expires", p->expires, sizeof(p->expires))) < 0 ||
	    (ret = get_u64(&pr, o, "max_strokes", 1, &p->max_strokes)) < 0 ||
	    (ret = get_u64(&pr, o, "strokes_before", 0, &p->strokes_before)) < 0)
		return ret;
	return get_u64(&pr, o, "strokes_run", 0, &p->strokes_run);
}

/* The station object; its instruments are read when @p with_instruments. */
static int read_station(const struct rd *r, json_t *o, struct rig_record_station *out,
			int with_instruments)
{
	json_t *st, *fx;
	json_int_t nest = 0;
	struct rd sr = {r->source, "station", r->version};
	const char *const *keys = KEYS(r, station_keys);
	int ret;
	if (r->version >= 2 && !with_instruments) {
		static const char *const no_instruments[] = {"id", "name", "nest", "simulated",
							     "seed", "host", "fixture", "phantom",
							     NULL};
		keys = no_instruments;
	}
	ret = get_obj(r, o, "station", 0, keys, &st);
	if (ret < 0 || (ret = get_str(&sr, st, "id", out->id, sizeof(out->id))) < 0 ||
	    (ret = get_int(&sr, st, "nest", 0, 255, &nest)) < 0 ||
	    (ret = get_bool(&sr, st, "simulated", &out->simulated)) < 0)
		return ret;
	out->nest = (unsigned)nest;
	if (r->version >= 2 &&
	    ((ret = get_str(&sr, st, "name", out->name, sizeof(out->name))) < 0 ||
	     (ret = get_str(&sr, st, "host", out->host, sizeof(out->host))) < 0 ||
	     (ret = get_obj(&sr, st, "fixture", 0, fixture_keys, &fx)) < 0 ||
	     (ret = get_str(&sr, fx, "path", out->fixture_path, sizeof(out->fixture_path))) < 0 ||
	     (ret = get_str(&sr, fx, "sha256", out->fixture_sha256,
			    sizeof(out->fixture_sha256))) < 0 ||
	     (ret = read_phantom(r, st, &out->phantom)) < 0 ||
	     (with_instruments &&
	      (ret = read_instruments(&sr, json_object_get(st, "instruments"), out)) < 0)))
		return ret;
	json_t *seed = json_object_get(st, "seed");
	const char *s = json_string_value(seed);
	if (!out->simulated && json_is_null(seed))
		return 0;
	if (out->simulated && s && *s && strspn(s, "0123456789") == strlen(s) && strlen(s) <= 20) {
		errno = 0;
		out->seed = strtoull(s, NULL, 10);
		if (errno == 0)
			return 0;
	}
	return rd_fail(&sr, "seed", "a decimal string when simulated, else null");
}

static int read_unit(const struct rd *r, json_t *o, struct rig_record_unit *u)
{
	json_t *unit, *prev;
	struct rd ur = {r->source, "unit", r->version};
	struct rd pr = {r->source, "unit.previous_table", r->version};
	int ret = get_obj(r, o, "unit", 0, KEYS(r, unit_keys), &unit);
	if (ret < 0 || (ret = get_str(&ur, unit, "serial", u->serial, sizeof(u->serial))) < 0 ||
	    (ret = get_str(&ur, unit, "model", u->model, sizeof(u->model))) < 0 ||
	    (ret = get_str(&ur, unit, "hardware", u->hardware, sizeof(u->hardware))) < 0 ||
	    (ret = get_str(&ur, unit, "firmware", u->firmware, sizeof(u->firmware))) < 0)
		return ret;
	if (r->version < 2)
		return 0;
	if ((ret = get_str_null(&ur, unit, "previous_table_path", u->previous_table_path,
				sizeof(u->previous_table_path))) < 0 ||
	    (ret = get_obj(&ur, unit, "previous_table", 1, table_keys, &prev)) < 0)
		return ret;
	u->has_previous_table = prev != NULL;
	return prev ? read_table_into(&pr, prev, &u->previous_table) : 0;
}

/* The header fields a run_begin event carries (and a record starts with). */
static int read_warnings(const struct rd *r, json_t *o, struct rig_record *rec)
{
	json_t *a = json_object_get(o, "warnings"), *v;
	size_t i, used = 0;
	rec->warnings[0] = 0;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) == 0)
		return rd_fail(r, "warnings", "a list of one or more strings");
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		if (!s || !s[0] || strchr(s, '\n'))
			return rd_fail(r, "warnings", "a list of one-line strings");
		int n = snprintf(rec->warnings + used, sizeof(rec->warnings) - used, "%s%s",
				 used ? "\n" : "", s);
		if (n < 0 || (size_t)n >= sizeof(rec->warnings) - used)
			return rd_fail(r, "warnings", "at most 1023 bytes in all");
		used += (size_t)n;
	}
	return 0;
}

static int read_header(const struct rd *r, json_t *o, struct rig_record *rec, int instruments)
{
	json_t *suite, *sw;
	struct rd sr = {r->source, "suite", r->version}, wr = {r->source, "software", r->version};
	int ret;
	if ((ret = get_str(r, o, "run_id", rec->run_id, sizeof(rec->run_id))) < 0 ||
	    (ret = get_obj(r, o, "suite", 0, KEYS(r, suite_keys), &suite)) < 0 ||
	    (ret = get_str(&sr, suite, "name", rec->suite_name, sizeof(rec->suite_name))) < 0 ||
	    (ret = get_str(&sr, suite, "version", rec->suite_version, sizeof(rec->suite_version))) < 0 ||
	    (ret = read_station(r, o, &rec->station, instruments)) < 0 ||
	    (ret = get_str(r, o, "operator", rec->operator_name, sizeof(rec->operator_name))) < 0 ||
	    (ret = get_time(r, o, "started", 0, &rec->started_ms)) < 0 ||
	    (ret = get_obj(r, o, "software", 0, KEYS(r, software_keys), &sw)) < 0 ||
	    (ret = get_str(&wr, sw, "version", rec->software_version,
			   sizeof(rec->software_version))) < 0)
		return ret;
	if (r->version < 2)
		return 0;
	if ((ret = read_warnings(r, o, rec)) < 0)
		return ret;
	if ((ret = get_str(&sr, suite, "path", rec->suite_path, sizeof(rec->suite_path))) < 0 ||
	    (ret = get_str(&sr, suite, "sha256", rec->suite_sha256, sizeof(rec->suite_sha256))) < 0)
		return ret;
	return get_str(&wr, sw, "commit", rec->software_commit, sizeof(rec->software_commit));
}

static int read_error(const struct rd *r, json_t *o, int *err)
{
	json_t *e;
	json_int_t code = 0;
	int ret = get_obj(r, o, "error", 1, error_keys, &e);
	struct rd er = {r->source, "error", r->version};
	*err = 0;
	if (ret < 0 || !e)
		return ret;
	ret = get_int(&er, e, "code", RIG_ERR_INTERNAL - 100, -1, &code);
	*err = (int)code;
	return ret;
}

/* Outcome, safe state and the version-2 trailer (error, journal, signature). */
static int read_trailer(const struct rd *r, json_t *o, struct rig_record *rec)
{
	json_t *safe, *jo, *sig;
	struct rd fr = {r->source, "safe_state", r->version}, jr = {r->source, "journal", r->version};
	struct rd gr = {r->source, "signature", r->version};
	int ret;
	if ((ret = get_time(r, o, "ended", 1, &rec->ended_ms)) < 0 ||
	    (ret = get_obj(r, o, "safe_state", 0, safe_keys, &safe)) < 0 ||
	    (ret = get_bool(&fr, safe, "confirmed", &rec->safe_state_confirmed)) < 0 ||
	    (ret = get_str(&fr, safe, "detail", rec->safe_state_detail,
			   sizeof(rec->safe_state_detail))) < 0 ||
	    (ret = get_outcome(r, o, "outcome", &rec->outcome)) < 0 ||
	    (ret = get_str(r, o, "reason", rec->reason, sizeof(rec->reason))) < 0)
		return ret;
	if (r->version < 2)
		return 0;
	if ((ret = read_error(r, o, &rec->error)) < 0 ||
	    (ret = get_obj(r, o, "journal", 0, journal_keys, &jo)) < 0 ||
	    (ret = get_u64(&jr, jo, "events", 0, &rec->journal_events)) < 0 ||
	    (ret = get_str(&jr, jo, "last_sha256", rec->journal_sha256,
			   sizeof(rec->journal_sha256))) < 0 ||
	    (ret = get_obj(r, o, "signature", 1, signature_keys, &sig)) < 0)
		return ret;
	return sig ? get_str(&gr, sig, "public_key", rec->signer_public_key,
			     sizeof(rec->signer_public_key))
		   : 0;
}

static int read_record(struct rd *r, json_t *root, struct rig_record *rec)
{
	json_t *schema = json_object_get(root, "schema");
	json_t *steps, *table;
	const char *sv = json_string_value(schema);
	if (sv && strcmp(sv, RIG_RECORD_SCHEMA_1) == 0)
		r->version = 1;
	else if (sv && strcmp(sv, RIG_RECORD_SCHEMA) == 0)
		r->version = 2;
	else
		return rd_fail(r, "schema", "\"" RIG_RECORD_SCHEMA "\" or \"" RIG_RECORD_SCHEMA_1
					    "\" (a record of another version needs the rig that "
					    "wrote it)");
	rec->schema_version = r->version;
	rec->read_back = -1;
	int ret = check_keys(r, root, KEYS(r, top_keys));
	if (ret == 0)
		ret = read_header(r, root, rec, 1);
	if (ret == 0)
		ret = read_unit(r, root, &rec->unit);
	if (ret == 0)
		ret = read_trailer(r, root, rec);
	if (ret < 0)
		return ret;
	steps = json_object_get(root, "steps");
	if (!json_is_array(steps))
		return rd_fail(r, "steps", "a list");
	for (size_t i = 0; i < json_array_size(steps); i++)
		if ((ret = read_step(r, json_array_get(steps, i), i, rec)) < 0)
			return ret;
	ret = get_obj(r, root, "table", 1, r->version < 2 ? table_keys : written_table_keys,
		      &table);
	if (ret == 0 && table)
		ret = read_written_table(r, table, rec);
	return ret;
}

int rig_record_from_json(const char *text, const char *source, struct rig_record **out)
{
	struct rig_record *rec = NULL;
	json_error_t jerr;
	struct rd r = {source ? source : "record", "", 2};
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

/* ---- journal lines: one event as one compact JSON object ---- */

#define LINE_FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15))

static void event_payload_json(json_t *o, const struct rig_event *ev, int *failed)
{
	const struct rig_ev_table *t = &ev->u.table;
	struct rig_record_table tab;
	switch (ev->type) {
	case RIG_EV_RUN_BEGIN: {
		json_t *run = json_object();
		header_json(run, ev->u.run, failed);
		put(o, "run", run, failed);
		break;
	}
	case RIG_EV_STATION:
		put(o, "instruments", instruments_json(ev->u.station, failed), failed);
		break;
	case RIG_EV_UNIT: put(o, "unit", unit_json(ev->u.unit, failed), failed); break;
	case RIG_EV_STEP_BEGIN:
		put(o, "step", json_integer(ev->u.step_begin.index), failed);
		put(o, "name", jstr(ev->u.step_begin.name), failed);
		put(o, "type", jstr(ev->u.step_begin.type), failed);
		break;
	case RIG_EV_CAPTURE:
		put(o, "step", json_integer(ev->u.capture.step), failed);
		put(o, "seconds", jnum(ev->u.capture.seconds), failed);
		put(o, "rate_hz", json_integer(ev->u.capture.rate_hz), failed);
		put(o, "samples", json_integer((json_int_t)ev->u.capture.samples), failed);
		put(o, "strokes", json_integer((json_int_t)ev->u.capture.strokes), failed);
		put(o, "accepted", json_integer((json_int_t)ev->u.capture.accepted), failed);
		break;
	case RIG_EV_MEASUREMENT:
		put(o, "step", json_integer(ev->u.measurement.step), failed);
		put(o, "measurement", measurement_json(ev->u.measurement.m, failed), failed);
		break;
	case RIG_EV_TABLE_STORED:
	case RIG_EV_COMMIT_SENT:
		put(o, "step", json_integer(t->step), failed);
		if (rig_record_table_set(&tab, t->bytes, t->len, t->slot) < 0) {
			*failed = 1;
			break;
		}
		put(o, "table", table_json(&tab, failed), failed);
		if (ev->type == RIG_EV_TABLE_STORED)
			put(o, "stored", pairs_json(failed, "bin", jstr(t->bin_path), "json",
						    jstr(t->json_path)), failed);
		break;
	case RIG_EV_COMMIT_RESULT:
		put(o, "step", json_integer(ev->u.commit.step), failed);
		put(o, "status", json_string(rig_commit_status_name(ev->u.commit.status)), failed);
		put(o, "detail", jstr(ev->u.commit.detail), failed);
		break;
	case RIG_EV_READ_BACK:
		put(o, "step", json_integer(ev->u.read_back.step), failed);
		put(o, "matches", json_boolean(ev->u.read_back.matches), failed);
		put(o, "length", json_integer((json_int_t)ev->u.read_back.len), failed);
		put(o, "detail", jstr(ev->u.read_back.detail), failed);
		break;
	case RIG_EV_STEP_END:
		put(o, "step", json_integer(ev->u.step_end.index), failed);
		put(o, "outcome", json_string(rig_outcome_name(ev->u.step_end.outcome)), failed);
		put(o, "reason", jstr(ev->u.step_end.reason), failed);
		put(o, "duration_s", jnum(ev->u.step_end.duration_s), failed);
		break;
	case RIG_EV_SAFE_STATE:
		put(o, "confirmed", json_boolean(ev->u.safe.confirmed), failed);
		put(o, "detail", jstr(ev->u.safe.detail), failed);
		break;
	case RIG_EV_RUN_END:
		put(o, "outcome", json_string(rig_outcome_name(ev->u.run_end.outcome)), failed);
		put(o, "reason", jstr(ev->u.run_end.reason), failed);
		put(o, "error", error_json(ev->u.run_end.error, failed), failed);
		break;
	default: *failed = 1; break;
	}
}

int rigi_event_to_line(const struct rig_event *ev, uint64_t seq, const char *prev_sha256,
		       char **out)
{
	int failed = 0;
	json_t *o = json_object();
	put(o, "event", json_string(rig_event_type_name(ev->type)), &failed);
	put(o, "seq", json_integer((json_int_t)seq), &failed);
	put(o, "prev", json_string(prev_sha256), &failed);
	put(o, "time", jtime(ev->time_ms), &failed);
	event_payload_json(o, ev, &failed);
	*out = failed ? NULL : json_dumps(o, LINE_FLAGS);
	json_decref(o);
	if (!*out)
		return rigi_fail(RIG_ERR_NOMEM, "journal: cannot encode a %s event",
				 rig_event_type_name(ev->type) ? rig_event_type_name(ev->type) : "?");
	return 0;
}

void rigi_event_buf_free(struct rigi_event_buf *b)
{
	if (!b)
		return;
	rig_record_free(b->header);
	b->header = NULL;
}

static int get_step_index(const struct rd *r, json_t *o, unsigned *out)
{
	json_int_t v = 0;
	int ret = get_int(r, o, "step", 0, 4095, &v);
	*out = (unsigned)v;
	return ret;
}

static int read_ev_table(const struct rd *r, json_t *o, struct rigi_event_buf *b,
			 struct rig_event *ev)
{
	json_t *t, *stored;
	struct rd tr = {r->source, "table", 2};
	struct rig_record_table *tab = &b->table;
	int ret = get_step_index(r, o, &ev->u.table.step);
	if (ret == 0)
		ret = get_obj(r, o, "table", 0, table_keys, &t);
	if (ret == 0)
		ret = read_table_into(&tr, t, tab);
	if (ret < 0)
		return ret;
	ev->u.table = (struct rig_ev_table){ev->u.table.step, tab->slot, tab->decoded.table_seq,
					    tab->bytes, tab->len, NULL, NULL};
	if (ev->type != RIG_EV_TABLE_STORED)
		return 0;
	if ((ret = get_obj(r, o, "stored", 0, stored_keys, &stored)) < 0 ||
	    (ret = get_str(r, stored, "bin", b->text1, sizeof(b->text1))) < 0 ||
	    (ret = get_str(r, stored, "json", b->text2, sizeof(b->text2))) < 0)
		return ret;
	ev->u.table.bin_path = b->text1;
	ev->u.table.json_path = b->text2;
	return 0;
}

static int read_ev_end(const struct rd *r, json_t *o, struct rigi_event_buf *b,
		       struct rig_event *ev)
{
	int ret;
	if (ev->type == RIG_EV_STEP_END) {
		ret = get_step_index(r, o, &ev->u.step_end.index);
		if (ret == 0)
			ret = get_outcome(r, o, "outcome", &ev->u.step_end.outcome);
		if (ret == 0)
			ret = get_str(r, o, "reason", b->text1, sizeof(b->text1));
		if (ret == 0)
			ret = get_num(r, o, "duration_s", &ev->u.step_end.duration_s);
		ev->u.step_end.reason = b->text1;
		return ret;
	}
	ret = get_outcome(r, o, "outcome", &ev->u.run_end.outcome);
	if (ret == 0)
		ret = get_str(r, o, "reason", b->text1, sizeof(b->text1));
	if (ret == 0)
		ret = read_error(r, o, &ev->u.run_end.error);
	ev->u.run_end.reason = b->text1;
	return ret;
}

static int read_ev_commit(const struct rd *r, json_t *o, struct rigi_event_buf *b,
			  struct rig_event *ev)
{
	char name[16];
	int ret, st = 0;
	if (ev->type == RIG_EV_READ_BACK) {
		json_int_t len = 0;
		ret = get_step_index(r, o, &ev->u.read_back.step);
		if (ret == 0)
			ret = get_bool(r, o, "matches", &ev->u.read_back.matches);
		if (ret == 0)
			ret = get_int(r, o, "length", 0, RIG_CAL_TABLE_MAX_BYTES, &len);
		if (ret == 0)
			ret = get_str(r, o, "detail", b->text1, sizeof(b->text1));
		ev->u.read_back.len = (size_t)len;
		ev->u.read_back.detail = b->text1;
		return ret;
	}
	ret = get_step_index(r, o, &ev->u.commit.step);
	if (ret == 0)
		ret = get_str(r, o, "status", name, sizeof(name));
	if (ret == 0 && (st = rig_commit_status_parse(name)) < 0)
		ret = rd_fail(r, "status", "confirmed, failed or unknown");
	if (ret < 0)
		return ret;
	ev->u.commit.status = (enum rig_commit_status)st;
	ret = get_str(r, o, "detail", b->text1, sizeof(b->text1));
	ev->u.commit.detail = b->text1;
	return ret;
}

static int read_ev_capture(const struct rd *r, json_t *o, struct rig_event *ev)
{
	struct rig_ev_capture *c = &ev->u.capture;
	json_int_t rate = 0;
	int ret = get_step_index(r, o, &c->step);
	if (ret == 0)
		ret = get_num(r, o, "seconds", &c->seconds);
	if (ret == 0)
		ret = get_int(r, o, "rate_hz", 0, UINT32_MAX, &rate);
	if (ret == 0)
		ret = get_u64(r, o, "samples", 0, &c->samples);
	if (ret == 0)
		ret = get_u64(r, o, "strokes", 0, &c->strokes);
	if (ret == 0)
		ret = get_u64(r, o, "accepted", 0, &c->accepted);
	c->rate_hz = (uint32_t)rate;
	return ret;
}

static int read_ev_payload(const struct rd *r, json_t *o, struct rigi_event_buf *b,
			   struct rig_event *ev)
{
	int ret;
	switch (ev->type) {
	case RIG_EV_RUN_BEGIN: {
		json_t *run = json_object_get(o, "run");
		struct rd hr = {r->source, "run", 2};
		if (!json_is_object(run))
			return rd_fail(r, "run", "an object");
		rig_record_free(b->header);
		if ((ret = rig_record_new(&b->header)) < 0)
			return ret;
		ev->u.run = b->header;
		return read_header(&hr, run, b->header, 0);
	}
	case RIG_EV_STATION:
		memset(&b->station, 0, sizeof(b->station));
		ev->u.station = &b->station;
		return read_instruments(r, json_object_get(o, "instruments"), &b->station);
	case RIG_EV_UNIT:
		memset(&b->unit, 0, sizeof(b->unit));
		ev->u.unit = &b->unit;
		return read_unit(r, o, &b->unit);
	case RIG_EV_STEP_BEGIN:
		ev->u.step_begin.name = b->text1;
		ev->u.step_begin.type = b->text2;
		if ((ret = get_step_index(r, o, &ev->u.step_begin.index)) < 0 ||
		    (ret = get_str(r, o, "name", b->text1, sizeof(b->text1))) < 0)
			return ret;
		return get_str(r, o, "type", b->text2, sizeof(b->text2));
	case RIG_EV_CAPTURE: return read_ev_capture(r, o, ev);
	case RIG_EV_MEASUREMENT: {
		json_t *m = json_object_get(o, "measurement");
		struct rd mr = {r->source, "measurement", 2};
		ev->u.measurement.m = &b->m;
		if ((ret = get_step_index(r, o, &ev->u.measurement.step)) < 0)
			return ret;
		return json_is_object(m) ? read_measurement(&mr, m, &b->m)
					 : rd_fail(r, "measurement", "an object");
	}
	case RIG_EV_TABLE_STORED:
	case RIG_EV_COMMIT_SENT: return read_ev_table(r, o, b, ev);
	case RIG_EV_COMMIT_RESULT:
	case RIG_EV_READ_BACK: return read_ev_commit(r, o, b, ev);
	case RIG_EV_STEP_END:
	case RIG_EV_RUN_END: return read_ev_end(r, o, b, ev);
	case RIG_EV_SAFE_STATE:
		ev->u.safe.detail = b->text1;
		if ((ret = get_bool(r, o, "confirmed", &ev->u.safe.confirmed)) < 0)
			return ret;
		return get_str(r, o, "detail", b->text1, sizeof(b->text1));
	default: return rd_fail(r, "event", "a known event type");
	}
}

int rigi_event_from_line(const char *line, size_t len, const char *source,
			 struct rigi_event_buf *b, struct rig_event *ev, uint64_t *seq,
			 char prev_sha256[65])
{
	json_error_t jerr;
	struct rd r = {source, "", 2};
	json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	char name[24];
	int ret;
	if (!o)
		return rigi_fail(RIG_ERR_FORMAT, "%s: column %d: not valid JSON: %s", source,
				 jerr.column, jerr.text);
	memset(ev, 0, sizeof(*ev));
	ret = json_is_object(o) ? get_str(&r, o, "event", name, sizeof(name))
				: rigi_fail(RIG_ERR_FORMAT, "%s: not a JSON object", source);
	if (ret == 0 && (ret = rig_event_type_parse(name)) < 0)
		ret = rd_fail(&r, "event", "a known event type");
	if (ret >= 0) {
		ev->type = (enum rig_event_type)ret;
		ret = get_u64(&r, o, "seq", 0, seq);
	}
	if (ret == 0)
		ret = get_str(&r, o, "prev", prev_sha256, 65);
	if (ret == 0)
		ret = get_time(&r, o, "time", 0, &ev->time_ms);
	if (ret == 0)
		ret = read_ev_payload(&r, o, b, ev);
	json_decref(o);
	return ret;
}

/* ---- comparing two records: where do they differ? ---- */

static void scalar_text(json_t *v, char *buf, size_t cap)
{
	char *t = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
	snprintf(buf, cap, "%s", t ? t : "(absent)");
	free(t);
}

static int first_diff(json_t *a, json_t *b, char *path, size_t cap, char *va, char *vb,
		      size_t vcap)
{
	size_t used = strlen(path);
	if (json_is_object(a) && json_is_object(b)) {
		const char *key;
		json_t *v;
		void *tmp;
		json_object_foreach_safe(a, tmp, key, v) {
			snprintf(path + used, cap - used, "%s%s", used ? "." : "", key);
			if (first_diff(v, json_object_get(b, key), path, cap, va, vb, vcap))
				return 1;
		}
		json_object_foreach_safe(b, tmp, key, v) {
			snprintf(path + used, cap - used, "%s%s", used ? "." : "", key);
			if (!json_object_get(a, key))
				return first_diff(NULL, v, path, cap, va, vb, vcap);
		}
		path[used] = '\0';
		return 0;
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t n = json_array_size(a) > json_array_size(b) ? json_array_size(a)
								   : json_array_size(b);
		for (size_t i = 0; i < n; i++) {
			snprintf(path + used, cap - used, "[%zu]", i);
			if (first_diff(json_array_get(a, i), json_array_get(b, i), path, cap, va, vb,
				       vcap))
				return 1;
		}
		path[used] = '\0';
		return 0;
	}
	if (a && b && json_equal(a, b))
		return 0;
	scalar_text(a, va, vcap);
	scalar_text(b, vb, vcap);
	return 1;
}

int rigi_json_first_difference(const char *a, const char *b, char *path, size_t cap, char *va,
			       char *vb, size_t vcap)
{
	json_error_t jerr;
	json_t *ja = json_loads(a, 0, &jerr);
	json_t *jb = ja ? json_loads(b, 0, &jerr) : NULL;
	int ret;
	path[0] = '\0';
	if (!ja || !jb)
		ret = rigi_fail(RIG_ERR_FORMAT, "line %d column %d: not valid JSON: %s", jerr.line,
				jerr.column, jerr.text);
	else
		ret = first_diff(ja, jb, path, cap, va, vb, vcap);
	json_decref(ja);
	json_decref(jb);
	return ret;
}

/* ---- the results store's export lines (docs/store.md "Export") ---- */

static char *dump_line(json_t *o, int failed)
{
	char *text = failed ? NULL
			    : json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	json_decref(o);
	return text;
}

int rigi_json_store_line(const struct rigi_store_run *run, char **out)
{
	int failed = 0;
	json_t *o = json_object(), *atts = json_array();
	for (size_t i = 0; i < run->n_atts; i++) {
		const struct rigi_store_attachment *a = &run->atts[i];
		json_t *j = pairs_json(&failed, "name", jstr(a->name), "sha256", jstr(a->sha256));
		put(j, "bytes", json_integer((json_int_t)a->bytes), &failed);
		append(atts, j, &failed);
	}
	put(o, "record", record_json(run->rec, &failed), &failed);
	put(o, "record_schema", json_integer(run->rec->schema_version), &failed);
	put(o, "record_path", jstr(run->record_path), &failed);
	put(o, "record_sha256", jstr(run->record_sha256), &failed);
	put(o, "attachments", atts, &failed);
	*out = dump_line(o, failed);
	return *out ? 0 : rigi_fail(RIG_ERR_NOMEM, "run %s: out of memory exporting it",
				    run->rec->run_id);
}

int rig_store_run_to_json(const struct rig_store_run *r, char **out)
{
	int failed = 0;
	json_t *o = json_object();
	put(o, "run_id", jstr(r->run_id), &failed);
	put(o, "serial", jstr(r->serial), &failed);
	put(o, "model", jstr(r->model), &failed);
	put(o, "station", jstr(r->station), &failed);
	put(o, "nest", json_integer(r->nest), &failed);
	put(o, "suite", jstr(r->suite), &failed);
	put(o, "suite_version", jstr(r->suite_version), &failed);
	put(o, "operator", jstr(r->operator_name), &failed);
	put(o, "started", jtime(r->started_ms), &failed);
	put(o, "ended", jtime(r->ended_ms), &failed);
	put(o, "outcome", json_string(rig_outcome_name(r->outcome)), &failed);
	put(o, "reason", jstr(r->reason), &failed);
	put(o, "commit", r->commit[0] ? jstr(r->commit) : json_null(), &failed);
	put(o, "record", jstr(r->record_path), &failed);
	*out = dump_line(o, failed);
	return *out ? 0 : rigi_fail(RIG_ERR_NOMEM, "run %s as JSON", r->run_id);
}

static json_t *yield_json(const struct rig_spc_yield *y, int *failed)
{
	json_t *o = json_object(), *per = json_object();
	for (int i = 0; i < 5; i++)
		put(per, rig_outcome_name((enum rig_outcome)i), json_integer((json_int_t)y->per_outcome[i]),
		    failed);
	put(o, "runs", json_integer((json_int_t)y->runs), failed);
	put(o, "per_outcome", per, failed);
	put(o, "units", json_integer((json_int_t)y->units), failed);
	put(o, "units_judged", json_integer((json_int_t)y->units_judged), failed);
	put(o, "first_pass", json_integer((json_int_t)y->first_pass), failed);
	put(o, "fpy", jnum(y->fpy), failed);
	put(o, "fpy_ci95", pairs_json(failed, "low", jnum(y->fpy_low), "high", jnum(y->fpy_high)),
	    failed);
	put(o, "units_retested", json_integer((json_int_t)y->units_retested), failed);
	put(o, "retest_rate", jnum(y->retest_rate), failed);
	put(o, "final_pass", json_integer((json_int_t)y->final_pass), failed);
	put(o, "final_yield", jnum(y->final_yield), failed);
	return o;
}

static json_t *interval(double v, double lo, double hi, int *failed)
{
	json_t *o = pairs_json(failed, "value", jnum(v), "low", jnum(lo));
	put(o, "high", jnum(hi), failed);
	return o;
}

static json_t *capability_json(const struct rig_spc_capability *c, int *failed)
{
	json_t *o = json_object();
	put(o, "n", json_integer((json_int_t)c->n), failed);
	put(o, "mean", interval(c->mean, c->mean_low, c->mean_high, failed), failed);
	put(o, "sd", interval(c->sd, c->sd_low, c->sd_high, failed), failed);
	put(o, "sigma_within", jnum(c->sigma_within), failed);
	put(o, "cp", jnum(c->cp), failed);
	put(o, "cpk", interval(c->cpk, c->cpk_low, c->cpk_high, failed), failed);
	put(o, "pp", jnum(c->pp), failed);
	put(o, "ppk", interval(c->ppk, c->ppk_low, c->ppk_high, failed), failed);
	return o;
}

static json_t *chart_json(const struct rig_store_stats *st, const struct rig_store_measurand *m,
			  int points, int *failed)
{
	const struct rig_spc_chart *c = &m->chart;
	json_t *o = json_object(), *rules = json_object(), *pts = json_array();
	put(o, "center", jnum(c->center), failed);
	put(o, "sigma", jnum(c->sigma), failed);
	put(o, "ucl", jnum(c->ucl), failed);
	put(o, "lcl", jnum(c->lcl), failed);
	put(o, "mr_mean", jnum(c->mr_mean), failed);
	put(o, "mr_ucl", jnum(c->mr_ucl), failed);
	for (int b = 0; b < 4; b++) {
		json_t *runs = json_array();
		char key[8];
		for (size_t i = 0; i < m->n; i++)
			if (c->rules[i] & (1u << b))
				append(runs, jstr(st->run_ids[m->runs[i]]), failed);
		snprintf(key, sizeof(key), "rule%d", b + 1);
		put(rules, key, runs, failed);
	}
	put(o, "nelson", rules, failed);
	for (size_t i = 0; points && i < m->n; i++)
		append(pts, pairs_json(failed, "run_id", jstr(st->run_ids[m->runs[i]]), "value",
				       jnum(m->values[i])), failed);
	put(o, "points", points ? pts : (json_decref(pts), json_null()), failed);
	return o;
}

int rig_store_stats_to_json(const struct rig_store_stats *st, int points, char **out)
{
	int failed = 0;
	json_t *o = json_object(), *ms = json_array();
	put(o, "yield", yield_json(&st->yield, &failed), &failed);
	for (size_t i = 0; i < st->n_measurands; i++) {
		const struct rig_store_measurand *m = &st->measurands[i];
		json_t *j = pairs_json(&failed, "step", jstr(m->step), "name", jstr(m->name));
		put(j, "quantity", jstr(m->quantity), &failed);
		put(j, "unit", jstr(m->unit), &failed);
		put(j, "low", jnum(m->low), &failed);
		put(j, "high", jnum(m->high), &failed);
		put(j, "capability", capability_json(&m->capability, &failed), &failed);
		put(j, "chart", chart_json(st, m, points, &failed), &failed);
		append(ms, j, &failed);
	}
	put(o, "measurands", ms, &failed);
	*out = failed ? NULL : json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(o);
	return *out ? 0 : rigi_fail(RIG_ERR_NOMEM, "statistics as JSON");
}
