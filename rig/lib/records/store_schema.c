/* The results store's schema (docs/store.md "Schema"), written once for
 * both backends, and its migrations: store_schema holds the version; each
 * later version appends its steps to `migrations` and never edits an
 * earlier one, so that a station's SQLite and the line's PostgreSQL reach
 * the same tables from whatever version they were made with. */
#include <stdlib.h>
#include <string.h>

#include <rig/store.h>

#include "core/core.h"
#include "records/store.h"
#include "records/store_int.h"

static const char *const schema_v1[] = {
	"CREATE TABLE runs ("
	" run_key {KEY},"
	" run_id TEXT NOT NULL UNIQUE,"
	" record_schema {INT} NOT NULL,"
	" serial TEXT NOT NULL, model TEXT NOT NULL, hardware TEXT NOT NULL,"
	" firmware TEXT NOT NULL,"
	" station_id TEXT NOT NULL, station_name TEXT NOT NULL, nest {INT} NOT NULL,"
	" host TEXT NOT NULL, simulated {INT} NOT NULL, seed TEXT NOT NULL,"
	" fixture_path TEXT NOT NULL, fixture_sha256 TEXT NOT NULL,"
	" suite_name TEXT NOT NULL, suite_version TEXT NOT NULL, suite_path TEXT NOT NULL,"
	" suite_sha256 TEXT NOT NULL, operator TEXT NOT NULL,"
	" started_ms {INT} NOT NULL, ended_ms {INT} NOT NULL,"
	" software_version TEXT NOT NULL, software_commit TEXT NOT NULL,"
	" outcome TEXT NOT NULL, reason TEXT NOT NULL, error {INT} NOT NULL,"
	" commit_status TEXT NOT NULL, commit_detail TEXT NOT NULL, read_back {INT} NOT NULL,"
	" table_bin_path TEXT NOT NULL, table_json_path TEXT NOT NULL,"
	" previous_table_path TEXT NOT NULL,"
	" safe_state_confirmed {INT} NOT NULL, safe_state_detail TEXT NOT NULL,"
	" phantom_type TEXT NOT NULL, phantom_lot TEXT NOT NULL,"
	" phantom_installed TEXT NOT NULL, phantom_expires TEXT NOT NULL,"
	" phantom_max_strokes {INT} NOT NULL, phantom_strokes_before {INT} NOT NULL,"
	" phantom_strokes_run {INT} NOT NULL,"
	" journal_events {INT} NOT NULL, journal_sha256 TEXT NOT NULL,"
	" signer_public_key TEXT NOT NULL, warnings TEXT NOT NULL,"
	" record_path TEXT NOT NULL, record_sha256 TEXT NOT NULL,"
	" stored_ms {INT} NOT NULL)",
	"CREATE INDEX runs_serial ON runs (serial, started_ms)",
	"CREATE INDEX runs_started ON runs (started_ms)",
	"CREATE INDEX runs_station ON runs (station_id, started_ms)",
	"CREATE INDEX runs_outcome ON runs (outcome, started_ms)",
	"CREATE TABLE steps ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" step_index {INT} NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,"
	" outcome TEXT NOT NULL, reason TEXT NOT NULL, started_ms {INT} NOT NULL,"
	" duration_s {REAL}, PRIMARY KEY (run_key, step_index))",
	"CREATE TABLE measurands ("
	" measurand_key {KEY}, mkey TEXT NOT NULL UNIQUE,"
	" step_name TEXT NOT NULL, name TEXT NOT NULL, quantity TEXT NOT NULL,"
	" unit TEXT NOT NULL, judged {INT} NOT NULL, low {REAL}, high {REAL})",
	"CREATE TABLE measurements ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" step_index {INT} NOT NULL, m_index {INT} NOT NULL,"
	" measurand_key {INT} NOT NULL REFERENCES measurands (measurand_key),"
	" started_ms {INT} NOT NULL,"
	" name TEXT NOT NULL, quantity TEXT NOT NULL, unit TEXT NOT NULL,"
	" setpoint {REAL}, value {REAL}, error {REAL}, u_expanded {REAL}, k {REAL},"
	" n {INT} NOT NULL, judged {INT} NOT NULL,"
	" low {REAL}, high {REAL}, nominal {REAL}, limit_unit TEXT NOT NULL,"
	" guard TEXT NOT NULL, guard_factor {REAL}, accept_low {REAL}, accept_high {REAL},"
	" outcome TEXT NOT NULL, reason TEXT NOT NULL,"
	" PRIMARY KEY (run_key, step_index, m_index))",
	/* The judged values of a run in one row, for statistics: a line's
	 * 100,000 runs are 100,000 rows to read, not six million (points:
	 * docs/store.md "run_series"). Derived from measurements. */
	"CREATE TABLE run_series ("
	" run_key {INT} PRIMARY KEY REFERENCES runs (run_key) ON DELETE CASCADE,"
	" started_ms {INT} NOT NULL, points {BLOB} NOT NULL)",
	"CREATE INDEX run_series_started ON run_series (started_ms, run_key)",
	"CREATE TABLE tables ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" role TEXT NOT NULL, slot {INT} NOT NULL, bytes {BLOB} NOT NULL,"
	" table_seq {INT} NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (run_key, role))",
	"CREATE TABLE instruments ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" idx {INT} NOT NULL, role TEXT NOT NULL, nest {INT} NOT NULL, uri TEXT NOT NULL,"
	" identified {INT} NOT NULL, device_type {INT} NOT NULL, map_version {INT} NOT NULL,"
	" serial {INT} NOT NULL, firmware TEXT NOT NULL, certificate TEXT NOT NULL,"
	" calibrated TEXT NOT NULL, due TEXT NOT NULL, standard_uncertainty {REAL},"
	" unit TEXT NOT NULL, PRIMARY KEY (run_key, idx))",
	"CREATE TABLE attachments ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" name TEXT NOT NULL, bytes {INT} NOT NULL, sha256 TEXT NOT NULL,"
	" PRIMARY KEY (run_key, name))",
	"CREATE TABLE outbox ("
	" run_id TEXT PRIMARY KEY, queued_ms {INT} NOT NULL,"
	" attempts {INT} NOT NULL, last_error TEXT NOT NULL)",
	NULL,
};

/* Version 2: what each measurement's U is made of (docs/records.md
 * "u_budget"). */
static const char *const schema_v2[] = {
	"CREATE TABLE u_components ("
	" run_key {INT} NOT NULL REFERENCES runs (run_key) ON DELETE CASCADE,"
	" step_index {INT} NOT NULL, m_index {INT} NOT NULL, c_index {INT} NOT NULL,"
	" source TEXT NOT NULL, u {REAL},"
	" PRIMARY KEY (run_key, step_index, m_index, c_index))",
	NULL,
};

/* migrations[v - 1] takes a store from version v - 1 to v. */
static const char *const *const migrations[] = {schema_v1, schema_v2};
#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static int read_version(const struct rigi_sql_row *row, void *user)
{
	*(int64_t *)user = rigi_row_int(row, 0);
	return 0;
}

static int ddl(struct rig_store *s, const char *sql)
{
	char *text = rigi_sql_ddl(s->be, sql);
	int ret;
	if (!text)
		return rigi_fail(RIG_ERR_NOMEM, "results store");
	ret = s->be->exec(s->conn, text, NULL, 0, NULL, NULL);
	free(text);
	return ret;
}

static int migrate_locked(struct rig_store *s)
{
	int64_t version = 0;
	int ret = ddl(s, "CREATE TABLE IF NOT EXISTS store_schema (version {INT} NOT NULL)");
	if (ret == 0)
		ret = s->be->exec(s->conn, "SELECT max(version) FROM store_schema", NULL, 0,
				  read_version, &version);
	if (ret < 0)
		return ret;
	if (version > (int64_t)N_MIGRATIONS)
		return rigi_fail(RIG_ERR_FORMAT,
				 "results store %s has schema version %lld, newer than this "
				 "build's %zu: update needle-rig on this station",
				 s->location, (long long)version, N_MIGRATIONS);
	for (int64_t v = version; v < (int64_t)N_MIGRATIONS && ret == 0; v++) {
		for (const char *const *q = migrations[v]; *q && ret == 0; q++)
			ret = ddl(s, *q);
		struct rigi_sql_value p = RIGI_SQL_I(v + 1);
		if (ret == 0)
			ret = s->be->exec(s->conn, "INSERT INTO store_schema (version) VALUES ($1)",
					  &p, 1, NULL, NULL);
		if (ret == 0)
			RIGI_INFO("store", "%s: schema version %lld", s->location, (long long)v + 1);
	}
	return ret;
}

int rigi_store_migrate(struct rig_store *s)
{
	int ret = s->be->begin(s->conn, 1);
	if (ret < 0)
		return ret;
	ret = migrate_locked(s);
	if (ret == 0)
		return s->be->exec(s->conn, "COMMIT", NULL, 0, NULL, NULL);
	s->be->exec(s->conn, "ROLLBACK", NULL, 0, NULL, NULL);
	return ret;
}

char *rigi_sql_ddl(const struct rigi_store_backend *be, const char *sql)
{
	static const char *const words[] = {"{KEY}", "{INT}", "{REAL}", "{BLOB}"};
	const char *spell[] = {be->key_type, be->int_type, be->real_type, be->blob_type};
	size_t cap = strlen(sql) * 11 + 64, len = 0; /* {KEY} grows most: 5 -> 52 */
	char *out = malloc(cap);
	if (!out)
		return NULL;
	for (const char *p = sql; *p;) {
		int hit = -1;
		for (int w = 0; w < 4 && hit < 0; w++)
			if (!strncmp(p, words[w], strlen(words[w])))
				hit = w;
		if (hit < 0) {
			out[len++] = *p++;
			continue;
		}
		size_t n = strlen(spell[hit]);
		if (len + n + 1 >= cap)
			break;
		memcpy(out + len, spell[hit], n);
		len += n;
		p += strlen(words[hit]);
	}
	out[len] = 0;
	return out;
}
