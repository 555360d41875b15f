/* Private header of the results store (docs/store.md): the one table of
 * functions each SQL backend implements — sqlite.c (the only SQLite caller)
 * and pg.c (the only libpq caller) — in the style of libusb's backends, so
 * that store.c writes its schema, upserts and queries once for both. SQL
 * text uses $1, $2, ... for parameters and the type words {KEY}, {INT},
 * {REAL}, {BLOB}, which each backend spells its own way. */
#ifndef RIGI_STORE_H
#define RIGI_STORE_H

#include <stddef.h>
#include <stdint.h>

enum rigi_sql_type { RIGI_SQL_NULL = 0, RIGI_SQL_INT, RIGI_SQL_REAL, RIGI_SQL_TEXT, RIGI_SQL_BLOB };

/** A parameter. A REAL that is not finite is stored as NULL (both
 *  backends), so that NaN reads back as NAN from either. */
struct rigi_sql_value {
	enum rigi_sql_type type;
	int64_t i;
	double d;
	const char *s;          /* TEXT, NUL-terminated */
	const void *b;          /* BLOB */
	size_t len;
};

#define RIGI_SQL_I(v) ((struct rigi_sql_value){.type = RIGI_SQL_INT, .i = (v)})
#define RIGI_SQL_D(v) ((struct rigi_sql_value){.type = RIGI_SQL_REAL, .d = (v)})
#define RIGI_SQL_S(v) ((struct rigi_sql_value){.type = RIGI_SQL_TEXT, .s = (v)})
#define RIGI_SQL_B(p, n) ((struct rigi_sql_value){.type = RIGI_SQL_BLOB, .b = (p), .len = (n)})

struct rigi_sql_row;

/** Called once per result row; a non-zero return stops the query and is
 *  returned by exec. */
typedef int (*rigi_sql_row_fn)(const struct rigi_sql_row *row, void *user);

struct rigi_store_backend {
	const char *name;         /* "sqlite", "postgresql" */
	/* Type words for {KEY} {INT} {REAL} {BLOB} in DDL. */
	const char *key_type, *int_type, *real_type, *blob_type;
	/* Open the store at @p location; *conn is the backend's handle. The
	 * detail of an error names the location (never a password). */
	int (*open)(const char *location, void **conn);
	void (*close)(void *conn);
	/* Run one statement with @p n parameters; rows to @p fn (may be NULL). */
	int (*exec)(void *conn, const char *sql, const struct rigi_sql_value *p, size_t n,
		    rigi_sql_row_fn fn, void *user);
	/* BEGIN a transaction; @p exclusive: one writer of the whole store at a
	 * time (schema migrations). */
	int (*begin)(void *conn, int exclusive);
	/* Row accessors: NULL reads as 0, NAN, "" and no bytes. */
	int (*col_null)(const struct rigi_sql_row *r, int col);
	int64_t (*col_int)(const struct rigi_sql_row *r, int col);
	double (*col_real)(const struct rigi_sql_row *r, int col);
	const char *(*col_text)(const struct rigi_sql_row *r, int col);
	size_t (*col_blob)(const struct rigi_sql_row *r, int col, const void **bytes);
};

/* What a backend hands to a row callback: its own cursor. */
struct rigi_sql_row {
	const struct rigi_store_backend *be;
	void *impl;
};

extern const struct rigi_store_backend rigi_sqlite_backend;
extern const struct rigi_store_backend rigi_pg_backend;

static inline int64_t rigi_row_int(const struct rigi_sql_row *r, int c)
{
	return r->be->col_int(r, c);
}
static inline double rigi_row_real(const struct rigi_sql_row *r, int c)
{
	return r->be->col_real(r, c);
}
static inline const char *rigi_row_text(const struct rigi_sql_row *r, int c)
{
	return r->be->col_text(r, c);
}

/** @p sql with the type words of @p be put in (malloc'd; NULL: no memory). */
char *rigi_sql_ddl(const struct rigi_store_backend *be, const char *sql);

#endif
