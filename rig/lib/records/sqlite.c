/* The SQLite backend of the results store (store.h): the only file of
 * needle-rig that calls SQLite. Every station keeps its results in one
 * SQLite file (reports/results.db): WAL, so that `rig results` reads while
 * nests write; synchronous=NORMAL, because the signed record on disk is the
 * evidence and the store can always be rebuilt from it (`rig results
 * import`); a busy timeout, because several rig processes share the file.
 * Prepared statements are kept per connection: a run stores the same few
 * statements a hundred times. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "core/core.h"
#include "records/store.h"

#define STMT_CACHE 24
#define BUSY_TIMEOUT_MS 15000

struct cached_stmt {
	const char *key;         /* the caller's pointer it was last asked by */
	char *sql;
	sqlite3_stmt *stmt;
};

struct sqlite_conn {
	sqlite3 *db;
	char path[1024];
	struct cached_stmt cache[STMT_CACHE];
	unsigned next_evict;
};

static int sqlite_fail(struct sqlite_conn *c, int rc, const char *what)
{
	int err = RIG_ERR_IO;
	if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		err = RIG_ERR_BUSY;
	else if (rc == SQLITE_FULL)
		err = RIG_ERR_NOSPACE;
	else if (rc == SQLITE_NOMEM)
		err = RIG_ERR_NOMEM;
	else if (rc == SQLITE_CANTOPEN || rc == SQLITE_PERM || rc == SQLITE_READONLY)
		err = RIG_ERR_PERMISSION;
	else if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
		err = RIG_ERR_FORMAT;
	return rigi_fail(err, "results store %s: %s: %s%s", c->path, what,
			 c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc),
			 err == RIG_ERR_FORMAT ? " (not a results store, or damaged: move it aside "
						 "and rebuild it with `rig results import`)"
					       : "");
}

/* "$12" -> "?12": SQLite's numbered parameters. */
static char *sqlite_text(const char *sql)
{
	char *t = strdup(sql);
	for (char *p = t; p && *p; p++)
		if (*p == '$' && p[1] >= '0' && p[1] <= '9')
			*p = '?';
	return t;
}

static int sqlite_open(const char *location, void **out)
{
	struct sqlite_conn *c = calloc(1, sizeof(*c));
	int rc;
	if (!c)
		return rigi_fail(RIG_ERR_NOMEM, "results store %s", location);
	snprintf(c->path, sizeof(c->path), "%s", location);
	rc = sqlite3_open_v2(location, &c->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(c->db,
				  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
				  "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;",
				  NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		int ret = sqlite_fail(c, rc, "cannot open");
		sqlite3_close(c->db);
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}

static void sqlite_close(void *conn)
{
	struct sqlite_conn *c = conn;
	if (!c)
		return;
	for (int i = 0; i < STMT_CACHE; i++) {
		sqlite3_finalize(c->cache[i].stmt);
		free(c->cache[i].sql);
	}
	sqlite3_close(c->db);
	free(c);
}

static int prepare(struct sqlite_conn *c, const char *sql, sqlite3_stmt **out)
{
	struct cached_stmt *slot = NULL;
	char *text;
	int rc;
	/* Most statements are string literals, asked for by the same pointer;
	 * a built one may reuse a freed address, so the text is still checked. */
	for (int i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].key == sql && !strcmp(c->cache[i].sql, sql)) {
			*out = c->cache[i].stmt;
			return 0;
		}
	for (int i = 0; i < STMT_CACHE; i++)
		if (c->cache[i].sql && !strcmp(c->cache[i].sql, sql)) {
			c->cache[i].key = sql;
			*out = c->cache[i].stmt;
			return 0;
		}
	for (int i = 0; i < STMT_CACHE && !slot; i++)
		if (!c->cache[i].sql)
			slot = &c->cache[i];
	if (!slot) {
		slot = &c->cache[c->next_evict++ % STMT_CACHE];
		sqlite3_finalize(slot->stmt);
		free(slot->sql);
		slot->sql = NULL;
		slot->key = NULL;
	}
	if (!(text = sqlite_text(sql)))
		return rigi_fail(RIG_ERR_NOMEM, "results store %s", c->path);
	rc = sqlite3_prepare_v2(c->db, text, -1, &slot->stmt, NULL);
	free(text);
	if (rc != SQLITE_OK)
		return sqlite_fail(c, rc, "statement refused");
	slot->key = sql;
	if (!(slot->sql = strdup(sql))) {
		sqlite3_finalize(slot->stmt);
		slot->stmt = NULL;
		return rigi_fail(RIG_ERR_NOMEM, "results store %s", c->path);
	}
	*out = slot->stmt;
	return 0;
}

/* SQLITE_STATIC: the caller's values outlive the statement's step. */
static int bind(sqlite3_stmt *st, int i, const struct rigi_sql_value *v)
{
	switch (v->type) {
	case RIGI_SQL_INT:
		return sqlite3_bind_int64(st, i, v->i);
	case RIGI_SQL_REAL:
		return isfinite(v->d) ? sqlite3_bind_double(st, i, v->d) : sqlite3_bind_null(st, i);
	case RIGI_SQL_TEXT:
		return v->s ? sqlite3_bind_text(st, i, v->s, -1, SQLITE_STATIC)
			    : sqlite3_bind_null(st, i);
	case RIGI_SQL_BLOB:
		return sqlite3_bind_blob64(st, i, v->b ? v->b : "", v->len, SQLITE_STATIC);
	default:
		return sqlite3_bind_null(st, i);
	}
}

static int sqlite_exec(void *conn, const char *sql, const struct rigi_sql_value *p, size_t n,
		       rigi_sql_row_fn fn, void *user)
{
	struct sqlite_conn *c = conn;
	struct rigi_sql_row row = {&rigi_sqlite_backend, NULL};
	sqlite3_stmt *st = NULL;
	int rc, ret = prepare(c, sql, &st);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++)
		if ((rc = bind(st, (int)i + 1, &p[i])) != SQLITE_OK) {
			sqlite3_reset(st);
			return sqlite_fail(c, rc, "binding a parameter");
		}
	row.impl = st;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (fn && (ret = fn(&row, user)) != 0)
			break;
	if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = sqlite_fail(c, rc, "statement failed");
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

static int sqlite_begin(void *conn, int exclusive)
{
	return sqlite_exec(conn, exclusive ? "BEGIN IMMEDIATE" : "BEGIN", NULL, 0, NULL, NULL);
}

static int col_null(const struct rigi_sql_row *r, int col)
{
	return sqlite3_column_type(r->impl, col) == SQLITE_NULL;
}

static int64_t col_int(const struct rigi_sql_row *r, int col)
{
	return sqlite3_column_int64(r->impl, col);
}

static double col_real(const struct rigi_sql_row *r, int col)
{
	return col_null(r, col) ? NAN : sqlite3_column_double(r->impl, col);
}

static const char *col_text(const struct rigi_sql_row *r, int col)
{
	const unsigned char *t = sqlite3_column_text(r->impl, col);
	return t ? (const char *)t : "";
}

static size_t col_blob(const struct rigi_sql_row *r, int col, const void **bytes)
{
	*bytes = sqlite3_column_blob(r->impl, col);
	return (size_t)sqlite3_column_bytes(r->impl, col);
}

const struct rigi_store_backend rigi_sqlite_backend = {
	.name = "sqlite",
	.key_type = "INTEGER PRIMARY KEY",
	.int_type = "INTEGER",
	.real_type = "REAL",
	.blob_type = "BLOB",
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.begin = sqlite_begin,
	.col_null = col_null,
	.col_int = col_int,
	.col_real = col_real,
	.col_text = col_text,
	.col_blob = col_blob,
};
