/* Statistics from the results store (docs/store.md "Statistics"): the
 * selected runs' yield, and for each judged measurand its series in start
 * order, capability and control chart (rig/spc.h). The series are read in
 * one pass over run_series (a run's judged values in one row, in start
 * order) and dealt into one array per measurand, so that a line's 100,000
 * runs take a second or two, not minutes. Also the station drift check
 * `rig run` makes at start. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/spc.h>
#include <rig/store.h>

#include "core/core.h"
#include "records/store.h"
#include "records/store_int.h"

struct run_rows {
	struct rig_store_stats *st;
	struct rig_spc_run *runs;
	char (*serials)[17];
	int64_t *keys;
	size_t cap;
};

static int grow_runs(struct run_rows *rr)
{
	struct rig_store_stats *st = rr->st;
	size_t nc = rr->cap ? rr->cap * 2 : 1024;
	void *a = realloc(st->run_ids, nc * sizeof(*st->run_ids));
	if (a)
		st->run_ids = a;
	void *b = realloc(rr->runs, nc * sizeof(*rr->runs));
	if (b)
		rr->runs = b;
	void *c = realloc(rr->serials, nc * sizeof(*rr->serials));
	if (c)
		rr->serials = c;
	void *d = realloc(rr->keys, nc * sizeof(*rr->keys));
	if (d)
		rr->keys = d;
	if (!a || !b || !c || !d)
		return rigi_fail(RIG_ERR_NOMEM, "results store: statistics of %zu runs", nc);
	rr->cap = nc;
	return 0;
}

static int run_row(const struct rigi_sql_row *row, void *user)
{
	struct run_rows *rr = user;
	size_t i = rr->st->n_runs;
	int ret, o;
	if (i == rr->cap && (ret = grow_runs(rr)) < 0)
		return ret;
	rr->keys[i] = rigi_row_int(row, 0);
	snprintf(rr->st->run_ids[i], RIG_RUN_ID_MAX, "%s", rigi_row_text(row, 1));
	snprintf(rr->serials[i], sizeof(rr->serials[i]), "%s", rigi_row_text(row, 2));
	o = rig_outcome_parse(rigi_row_text(row, 4));
	rr->runs[i] = (struct rig_spc_run){NULL, rigi_row_int(row, 3),
					   o < 0 ? RIG_OUTCOME_ERROR : (enum rig_outcome)o};
	rr->st->n_runs++;
	return 0;
}

static int read_runs(struct rig_store *s, const struct rig_store_filter *f, struct run_rows *rr)
{
	struct rigi_sql_value p[8];
	char where[512], sql[1024];
	size_t n;
	rigi_store_where(f, where, sizeof(where), p, &n);
	if (f && f->limit)
		snprintf(sql, sizeof(sql),
			 "SELECT run_key, run_id, serial, started_ms, outcome FROM (SELECT * FROM"
			 " runs r%s ORDER BY started_ms DESC, run_id DESC LIMIT %zu) r"
			 " ORDER BY started_ms, run_id",
			 where, f->limit);
	else
		snprintf(sql, sizeof(sql),
			 "SELECT run_key, run_id, serial, started_ms, outcome FROM runs r%s"
			 " ORDER BY started_ms, run_id",
			 where);
	int ret = rigi_store_exec(s, sql, p, n, run_row, rr);
	for (size_t i = 0; i < rr->st->n_runs; i++)
		rr->runs[i].serial = rr->serials[i];
	return ret;
}

/* ---- measurands and their series ---- */

struct series_rows {
	struct rig_store_stats *st;
	int64_t *measurand_keys;     /* of st->measurands[i] */
	int64_t max_run_key;
	int32_t *run_index;          /* run_key -> index into run_ids, or -1 */
	int64_t max_measurand_key;
	int32_t *measurand_index;    /* measurand_key -> index into measurands, or -1 */
	size_t cap;
	int ret;
};

static int measurand_row(const struct rigi_sql_row *row, void *user)
{
	struct series_rows *sr = user;
	struct rig_store_stats *st = sr->st;
	if (st->n_measurands == sr->cap) {
		size_t nc = sr->cap ? sr->cap * 2 : 64;
		void *a = realloc(st->measurands, nc * sizeof(*st->measurands));
		if (a)
			st->measurands = a;
		void *b = realloc(sr->measurand_keys, nc * sizeof(*sr->measurand_keys));
		if (b)
			sr->measurand_keys = b;
		if (!a || !b)
			return rigi_fail(RIG_ERR_NOMEM, "results store: measurands");
		sr->cap = nc;
	}
	struct rig_store_measurand *m = &st->measurands[st->n_measurands];
	memset(m, 0, sizeof(*m));
	sr->measurand_keys[st->n_measurands++] = rigi_row_int(row, 0);
	snprintf(m->step, sizeof(m->step), "%s", rigi_row_text(row, 1));
	snprintf(m->name, sizeof(m->name), "%s", rigi_row_text(row, 2));
	snprintf(m->quantity, sizeof(m->quantity), "%s", rigi_row_text(row, 3));
	snprintf(m->unit, sizeof(m->unit), "%s", rigi_row_text(row, 4));
	m->low = rigi_row_real(row, 5);
	m->high = rigi_row_real(row, 6);
	return 0;
}

static struct rig_store_measurand *find_measurand(struct series_rows *sr, int64_t key)
{
	if (key < 0 || key > sr->max_measurand_key || sr->measurand_index[key] < 0)
		return NULL;  /* not judged */
	return &sr->st->measurands[sr->measurand_index[key]];
}

static int index_measurands(struct series_rows *sr)
{
	for (size_t i = 0; i < sr->st->n_measurands; i++)
		if (sr->measurand_keys[i] > sr->max_measurand_key)
			sr->max_measurand_key = sr->measurand_keys[i];
	size_t n = (size_t)sr->max_measurand_key + 1;
	if (!(sr->measurand_index = malloc(n * sizeof(*sr->measurand_index))))
		return rigi_fail(RIG_ERR_NOMEM, "results store: statistics");
	memset(sr->measurand_index, 0xff, n * sizeof(*sr->measurand_index));
	for (size_t i = 0; i < sr->st->n_measurands; i++)
		sr->measurand_index[sr->measurand_keys[i]] = (int32_t)i;
	return 0;
}

static int add_point(struct rig_store_measurand *m, size_t run, double v, size_t *cap,
		     size_t n_runs)
{
	if (m->n == *cap) {
		/* A measurand has at most one point a run: room for all of them at
		 * once costs address space only (pages are touched as they fill),
		 * where doubling would copy a 100,000-point series again and again. */
		size_t nc = *cap ? *cap * 2 : n_runs;
		void *a = realloc(m->values, nc * sizeof(*m->values));
		if (a)
			m->values = a;
		void *b = realloc(m->runs, nc * sizeof(*m->runs));
		if (b)
			m->runs = b;
		if (!a || !b)
			return rigi_fail(RIG_ERR_NOMEM, "results store: a series of %zu points", nc);
		*cap = nc;
	}
	m->values[m->n] = v;
	m->runs[m->n++] = run;
	return 0;
}

struct series_cursor {
	struct series_rows *sr;
	size_t *caps;                /* of each measurand's arrays */
};

/* One run's points (run_series.points, docs/store.md). */
static int series_row(const struct rigi_sql_row *row, void *user)
{
	struct series_cursor *c = user;
	struct series_rows *sr = c->sr;
	int64_t rk = rigi_row_int(row, 0);
	const uint8_t *p;
	size_t len = row->be->col_blob(row, 1, (const void **)&p);
	if (rk < 0 || rk > sr->max_run_key || sr->run_index[rk] < 0)
		return 0;
	for (size_t off = 0; off + 16 <= len; off += 16) {
		uint64_t bits = rigi_get_u64le(p + off + 8);
		double v;
		memcpy(&v, &bits, sizeof(v));
		struct rig_store_measurand *m = find_measurand(sr, (int64_t)rigi_get_u64le(p + off));
		int ret;
		if (!m || !isfinite(v))
			continue;
		ret = add_point(m, (size_t)sr->run_index[rk], v, &c->caps[m - sr->st->measurands],
				sr->st->n_runs);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int read_series(struct rig_store *s, struct run_rows *rr, struct series_rows *sr)
{
	struct series_cursor c = {sr, NULL};
	int ret;
	for (size_t i = 0; i < rr->st->n_runs; i++)
		if (rr->keys[i] > sr->max_run_key)
			sr->max_run_key = rr->keys[i];
	sr->run_index = malloc(((size_t)sr->max_run_key + 1) * sizeof(*sr->run_index));
	if (!sr->run_index)
		return rigi_fail(RIG_ERR_NOMEM, "results store: statistics");
	memset(sr->run_index, 0xff, ((size_t)sr->max_run_key + 1) * sizeof(*sr->run_index));
	for (size_t i = 0; i < rr->st->n_runs; i++)
		sr->run_index[rr->keys[i]] = (int32_t)i;
	ret = rigi_store_exec(s,
			      "SELECT measurand_key, step_name, name, quantity, unit, low, high"
			      " FROM measurands WHERE judged = 1",
			      NULL, 0, measurand_row, sr);
	if (ret == 0)
		ret = index_measurands(sr);
	if (ret == 0 && !(c.caps = calloc(sr->st->n_measurands + 1, sizeof(*c.caps))))
		ret = rigi_fail(RIG_ERR_NOMEM, "results store: statistics");
	if (ret == 0 && rr->st->n_runs)
		ret = rigi_store_exec(s,
				      "SELECT run_key, points FROM run_series"
				      " ORDER BY started_ms, run_key",
				      NULL, 0, series_row, &c);
	free(c.caps);
	return ret;
}

/* Runs that started in the same millisecond come from the index by key,
 * not by run id: put each series in the order of run_ids. */
static void order_series(struct rig_store_measurand *m)
{
	for (size_t i = 1; i < m->n; i++)
		for (size_t j = i; j > 0 && m->runs[j - 1] > m->runs[j]; j--) {
			size_t r = m->runs[j];
			double v = m->values[j];
			m->runs[j] = m->runs[j - 1], m->values[j] = m->values[j - 1];
			m->runs[j - 1] = r, m->values[j - 1] = v;
		}
}

static int measurand_cmp(const void *pa, const void *pb)
{
	const struct rig_store_measurand *a = pa, *b = pb;
	int c = strcmp(a->step, b->step);
	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = strcmp(a->unit, b->unit);
	if (!c)
		c = (a->low > b->low) - (a->low < b->low);
	if (!c)
		c = (a->high > b->high) - (a->high < b->high);
	return c;
}

static int analyse(struct rig_store_stats *st)
{
	size_t kept = 0;
	int ret = 0;
	for (size_t i = 0; i < st->n_measurands && ret == 0; i++) {
		struct rig_store_measurand *m = &st->measurands[i];
		if (m->n == 0) {
			free(m->values);
			free(m->runs);
			continue;
		}
		order_series(m);
		if (isfinite(m->low) && isfinite(m->high) && m->low < m->high)
			ret = rig_spc_capability(m->values, m->n, m->low, m->high, &m->capability);
		else
			memset(&m->capability, 0, sizeof(m->capability));
		if (ret == 0)
			ret = rig_spc_chart(m->values, m->n, &m->chart);
		st->measurands[kept++] = *m;
	}
	st->n_measurands = kept;
	/* In byte order here, not the server's collation: the same list from
	 * SQLite and from PostgreSQL. */
	if (st->n_measurands)
		qsort(st->measurands, st->n_measurands, sizeof(*st->measurands), measurand_cmp);
	return ret;
}

int rig_store_stats(struct rig_store *s, const struct rig_store_filter *f,
		    struct rig_store_stats **out)
{
	struct rig_store_stats *st = calloc(1, sizeof(*st));
	struct run_rows rr = {st, NULL, NULL, NULL, 0};
	struct series_rows sr = {.st = st};
	int ret;
	if (!st)
		return rigi_fail(RIG_ERR_NOMEM, "results store: statistics");
	ret = read_runs(s, f, &rr);
	if (ret == 0)
		ret = rig_spc_yield(rr.runs, st->n_runs, &st->yield);
	if (ret == 0)
		ret = read_series(s, &rr, &sr);
	if (ret == 0)
		ret = analyse(st);
	free(rr.runs);
	free(rr.serials);
	free(rr.keys);
	free(sr.measurand_keys);
	free(sr.measurand_index);
	free(sr.run_index);
	if (ret < 0) {
		rig_store_stats_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

void rig_store_stats_free(struct rig_store_stats *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n_measurands; i++) {
		free(st->measurands[i].values);
		free(st->measurands[i].runs);
		rig_spc_chart_free(&st->measurands[i].chart);
	}
	free(st->measurands);
	free(st->run_ids);
	free(st);
}

/* ---- station drift ---- */

/* Fewer points than this make no chart worth an alarm. */
#define DRIFT_MIN_POINTS 10

static void drift_alarm(const struct rig_store_stats *st, const struct rig_store_measurand *m,
			void (*fn)(const char *alarm, void *user), void *user)
{
	uint8_t rules = m->chart.rules[m->n - 1];
	char text[RIG_RECORD_WARNINGS_MAX / 2], which[160] = "";
	for (int b = 0; b < 4; b++)
		if (rules & (1u << b)) {
			size_t used = strlen(which);
			snprintf(which + used, sizeof(which) - used, "%s%s", used ? "; " : "",
				 rig_spc_rule_text((enum rig_spc_rule)(1u << b)));
		}
	snprintf(text, sizeof(text), "station drift: %s %s: %s (latest %zu runs, %s to %s)",
		 m->step, m->name, which, m->n, st->run_ids[m->runs[0]],
		 st->run_ids[m->runs[m->n - 1]]);
	fn(text, user);
}

int rig_store_drift(struct rig_store *s, const char *station,
		    void (*fn)(const char *alarm, void *user), void *user)
{
	struct rig_store_filter f;
	struct rig_store_stats *st = NULL;
	rig_store_filter_init(&f);
	f.station = station;
	f.limit = RIG_STORE_DRIFT_RUNS;
	int ret = rig_store_stats(s, &f, &st);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < st->n_measurands; i++) {
		const struct rig_store_measurand *m = &st->measurands[i];
		/* Only a pattern the latest run is part of: one that ended by
		 * itself is history, not drift. */
		if (m->n >= DRIFT_MIN_POINTS && m->runs[m->n - 1] == st->n_runs - 1 &&
		    m->chart.rules[m->n - 1])
			drift_alarm(st, m, fn, user);
	}
	rig_store_stats_free(st);
	return 0;
}
