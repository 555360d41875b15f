/* The PostgreSQL backend of the results store (store.h): the only file of
 * needle-rig that calls libpq. A line of stations reports into one server;
 * the station never waits long for it: a connect timeout and a statement
 * timeout bound every call (store-and-forward keeps what could not be
 * sent, docs/store.md). Credentials come only through libpq's own means
 * (PGPASSFILE, ~/.pgpass, a service file): a password in the address is
 * refused, so that none ends up in a shell history, a process list or a
 * record. Rows are streamed (single-row mode), so that statistics over a
 * whole line's history need not fit in one result. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "core/core.h"
#include "records/store.h"

#define CONNECT_TIMEOUT_S "5"
#define STATEMENT_TIMEOUT "-c statement_timeout=15000"
#define MAX_PARAMS 4096

struct pg_conn {
	PGconn *pg;
	char where[256];          /* host:port/db, for error details */
};

struct pg_row {
	PGresult *res;
	unsigned char *blob;      /* the last bytea decoded */
};

static int password_in(const char *location)
{
	const char *p = strstr(location, "://"), *at, *colon;
	if (strstr(location, "password="))
		return 1;
	if (!p)
		return 0;
	p += 3;
	at = strchr(p, '@');
	colon = strchr(p, ':');
	return at && colon && colon < at;
}

static int pg_fail(struct pg_conn *c, int err, const char *what, const char *msg)
{
	char text[512];
	size_t len;
	snprintf(text, sizeof(text), "%s", msg ? msg : "");
	len = strlen(text);
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = 0;
	return rigi_fail(err, "line store %s: %s: %s", c->where, what, text);
}

static int pg_open(const char *location, void **out)
{
	const char *keys[] = {"connect_timeout", "options", "application_name", "dbname", NULL};
	const char *vals[] = {CONNECT_TIMEOUT_S, STATEMENT_TIMEOUT, "needle-rig", location, NULL};
	struct pg_conn *c;
	int ret;
	if (password_in(location))
		return rigi_fail(RIG_ERR_ARG,
				 "line store address has a password in it: remove it and give "
				 "the password through PGPASSFILE or ~/.pgpass (docs/store.md)");
	if (!(c = calloc(1, sizeof(*c))))
		return rigi_fail(RIG_ERR_NOMEM, "line store");
	snprintf(c->where, sizeof(c->where), "%s", location);
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		ret = pg_fail(c, RIG_ERR_DISCONNECTED, "cannot connect",
			      c->pg ? PQerrorMessage(c->pg) : "out of memory");
		PQfinish(c->pg);
		free(c);
		return ret;
	}
	snprintf(c->where, sizeof(c->where), "%s:%s/%s", PQhost(c->pg), PQport(c->pg),
		 PQdb(c->pg));
	/* Quiet: "relation already exists, skipping" is not news. */
	PQclear(PQexec(c->pg, "SET client_min_messages = warning"));
	*out = c;
	return 0;
}

static void pg_close(void *conn)
{
	struct pg_conn *c = conn;
	if (!c)
		return;
	PQfinish(c->pg);
	free(c);
}

/* A lost connection is DISCONNECTED (the outbox keeps the run); anything
 * else the server refused is IO with its message. */
static int result_error(struct pg_conn *c, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	int err = RIG_ERR_IO;
	if (PQstatus(c->pg) != CONNECTION_OK || (state && !strncmp(state, "08", 2)) ||
	    (state && !strncmp(state, "57P", 3)))
		err = RIG_ERR_DISCONNECTED;
	else if (state && !strcmp(state, "57014"))
		err = RIG_ERR_TIMEOUT;
	else if (state && (!strcmp(state, "40001") || !strcmp(state, "40P01")))
		err = RIG_ERR_BUSY;
	return pg_fail(c, err, "statement failed",
		       res && PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
							   : PQerrorMessage(c->pg));
}

struct pg_params {
	char *text[MAX_PARAMS];
	const char *values[MAX_PARAMS];
	int lengths[MAX_PARAMS], formats[MAX_PARAMS];
};

static int make_params(const struct rigi_sql_value *p, size_t n, struct pg_params *pp)
{
	for (size_t i = 0; i < n; i++) {
		char buf[32];
		pp->text[i] = NULL;
		pp->values[i] = NULL;
		pp->lengths[i] = 0;
		pp->formats[i] = 0;
		switch (p[i].type) {
		case RIGI_SQL_INT:
			snprintf(buf, sizeof(buf), "%lld", (long long)p[i].i);
			pp->values[i] = pp->text[i] = strdup(buf);
			break;
		case RIGI_SQL_REAL:
			if (isfinite(p[i].d)) {
				snprintf(buf, sizeof(buf), "%.17g", p[i].d);
				pp->values[i] = pp->text[i] = strdup(buf);
			}
			break;
		case RIGI_SQL_TEXT:
			pp->values[i] = p[i].s;
			break;
		case RIGI_SQL_BLOB:
			pp->values[i] = p[i].b ? p[i].b : "";
			pp->lengths[i] = (int)p[i].len;
			pp->formats[i] = 1;  /* bytea in binary: no escaping */
			break;
		default:
			break;
		}
		if ((p[i].type == RIGI_SQL_INT || (p[i].type == RIGI_SQL_REAL && isfinite(p[i].d))) &&
		    !pp->text[i])
			return RIG_ERR_NOMEM;
	}
	return 0;
}

static void free_params(struct pg_params *pp, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(pp->text[i]);
}

static int drain(struct pg_conn *c, rigi_sql_row_fn fn, void *user)
{
	struct pg_row pr = {0};
	struct rigi_sql_row row = {&rigi_pg_backend, &pr};
	PGresult *res;
	int ret = 0;
	while ((res = PQgetResult(c->pg))) {
		ExecStatusType st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE && ret == 0 && fn) {
			pr.res = res;
			ret = fn(&row, user);
			free(pr.blob);
			pr.blob = NULL;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
			   st != PGRES_COMMAND_OK && ret == 0) {
			ret = result_error(c, res);
		}
		PQclear(res);
	}
	return ret;
}

static int pg_exec(void *conn, const char *sql, const struct rigi_sql_value *p, size_t n,
		   rigi_sql_row_fn fn, void *user)
{
	struct pg_conn *c = conn;
	struct pg_params *pp;
	int ret;
	if (n > MAX_PARAMS)
		return rigi_fail(RIG_ERR_INTERNAL, "line store: %zu parameters", n);
	/* calloc: with no parameters gcc -O3 sees the arrays passed unset. */
	if (!(pp = calloc(1, sizeof(*pp))))
		return rigi_fail(RIG_ERR_NOMEM, "line store");
	if ((ret = make_params(p, n, pp)) < 0) {
		free_params(pp, n);
		free(pp);
		return rigi_fail(RIG_ERR_NOMEM, "line store");
	}
	if (!PQsendQueryParams(c->pg, sql, (int)n, NULL, pp->values, pp->lengths, pp->formats,
			       0)) {
		ret = result_error(c, NULL);
	} else {
		PQsetSingleRowMode(c->pg);
		ret = drain(c, fn, user);
	}
	free_params(pp, n);
	free(pp);
	return ret;
}

static int pg_begin(void *conn, int exclusive)
{
	int ret = pg_exec(conn, "BEGIN", NULL, 0, NULL, NULL);
	/* Stations migrating the line's schema at once take turns. */
	if (ret == 0 && exclusive)
		ret = pg_exec(conn, "SELECT pg_advisory_xact_lock(7406001)", NULL, 0, NULL, NULL);
	return ret;
}

static int col_null(const struct rigi_sql_row *r, int col)
{
	const struct pg_row *pr = r->impl;
	return PQgetisnull(pr->res, 0, col);
}

static int64_t col_int(const struct rigi_sql_row *r, int col)
{
	const struct pg_row *pr = r->impl;
	const char *t = PQgetvalue(pr->res, 0, col);
	if (t[0] == 't' || t[0] == 'f')   /* a boolean */
		return t[0] == 't';
	return strtoll(t, NULL, 10);
}

static double col_real(const struct rigi_sql_row *r, int col)
{
	const struct pg_row *pr = r->impl;
	return col_null(r, col) ? NAN : strtod(PQgetvalue(pr->res, 0, col), NULL);
}

static const char *col_text(const struct rigi_sql_row *r, int col)
{
	const struct pg_row *pr = r->impl;
	return PQgetvalue(pr->res, 0, col);
}

static size_t col_blob(const struct rigi_sql_row *r, int col, const void **bytes)
{
	struct pg_row *pr = r->impl;
	size_t len = 0;
	free(pr->blob);
	pr->blob = PQunescapeBytea((const unsigned char *)PQgetvalue(pr->res, 0, col), &len);
	*bytes = pr->blob;
	return pr->blob ? len : 0;
}

const struct rigi_store_backend rigi_pg_backend = {
	.name = "postgresql",
	.key_type = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
	.int_type = "BIGINT",
	.real_type = "DOUBLE PRECISION",
	.blob_type = "BYTEA",
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.begin = pg_begin,
	.col_null = col_null,
	.col_int = col_int,
	.col_real = col_real,
	.col_text = col_text,
	.col_blob = col_blob,
};
