/* Reading runs back out of the results store: a whole run rebuilt as a
 * record (for pushing it to a line server and for exports, which must be
 * the same text from either backend and the same as the run's record.json),
 * and the run list of `rig results list` with its filter. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/store.h>

#include "core/core.h"
#include "records/store.h"
#include "records/store_int.h"

#define RUN_COLUMNS                                                                            \
	"run_key, run_id, record_schema, serial, model, hardware, firmware, station_id,"       \
	" station_name, nest, host, simulated, seed, fixture_path, fixture_sha256, suite_name," \
	" suite_version, suite_path, suite_sha256, operator, started_ms, ended_ms,"             \
	" software_version, software_commit, outcome, reason, error, commit_status,"            \
	" commit_detail, read_back, table_bin_path, table_json_path, previous_table_path,"      \
	" safe_state_confirmed, safe_state_detail, phantom_type, phantom_lot,"                  \
	" phantom_installed, phantom_expires, phantom_max_strokes, phantom_strokes_before,"     \
	" phantom_strokes_run, journal_events, journal_sha256, signer_public_key, warnings,"    \
	" record_path, record_sha256"

#define TXT(dst, col) snprintf((dst), sizeof(dst), "%s", rigi_row_text(row, (col)))

struct loading {
	struct rigi_store_run *run;
	int64_t key;
	int ret;
};

static int read_run(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record *r = l->run->rec;
	struct rig_record_station *st = &r->station;
	struct rig_record_phantom *ph = &st->phantom;
	int c;
	l->key = rigi_row_int(row, 0);
	TXT(r->run_id, 1);
	r->schema_version = (int)rigi_row_int(row, 2);
	TXT(r->unit.serial, 3), TXT(r->unit.model, 4), TXT(r->unit.hardware, 5);
	TXT(r->unit.firmware, 6), TXT(st->id, 7), TXT(st->name, 8);
	st->nest = (unsigned)rigi_row_int(row, 9);
	TXT(st->host, 10);
	st->simulated = (int)rigi_row_int(row, 11);
	st->seed = strtoull(rigi_row_text(row, 12), NULL, 10);
	TXT(st->fixture_path, 13), TXT(st->fixture_sha256, 14), TXT(r->suite_name, 15);
	TXT(r->suite_version, 16), TXT(r->suite_path, 17), TXT(r->suite_sha256, 18);
	TXT(r->operator_name, 19);
	r->started_ms = rigi_row_int(row, 20);
	r->ended_ms = rigi_row_int(row, 21);
	TXT(r->software_version, 22), TXT(r->software_commit, 23);
	r->outcome = (enum rig_outcome)rig_outcome_parse(rigi_row_text(row, 24));
	TXT(r->reason, 25);
	r->error = (int)rigi_row_int(row, 26);
	c = rig_commit_status_parse(rigi_row_text(row, 27));
	r->commit = c < 0 ? RIG_COMMIT_NOT_SENT : (enum rig_commit_status)c;
	TXT(r->commit_detail, 28);
	r->read_back = (int)rigi_row_int(row, 29);
	TXT(r->table_bin_path, 30), TXT(r->table_json_path, 31);
	TXT(r->unit.previous_table_path, 32);
	r->safe_state_confirmed = (int)rigi_row_int(row, 33);
	TXT(r->safe_state_detail, 34), TXT(ph->type, 35), TXT(ph->lot, 36);
	TXT(ph->installed, 37), TXT(ph->expires, 38);
	ph->max_strokes = (uint64_t)rigi_row_int(row, 39);
	ph->strokes_before = (uint64_t)rigi_row_int(row, 40);
	ph->strokes_run = (uint64_t)rigi_row_int(row, 41);
	r->journal_events = (uint64_t)rigi_row_int(row, 42);
	TXT(r->journal_sha256, 43), TXT(r->signer_public_key, 44), TXT(r->warnings, 45);
	TXT(l->run->record_path, 46), TXT(l->run->record_sha256, 47);
	if ((int)r->outcome < 0)
		l->ret = rigi_fail(RIG_ERR_FORMAT, "results store: run %s has outcome '%s'",
				   r->run_id, rigi_row_text(row, 24));
	return 0;
}

static int read_step(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record_step *st;
	int ret = rig_record_step_begin(l->run->rec, rigi_row_text(row, 0), rigi_row_text(row, 1),
					&st);
	if (ret < 0)
		return ret;
	st->outcome = (enum rig_outcome)rig_outcome_parse(rigi_row_text(row, 2));
	TXT(st->reason, 3);
	st->started_ms = rigi_row_int(row, 4);
	st->duration_s = rigi_row_real(row, 5);
	st->mono_start_ns = 0;
	return 0;
}

static int read_measurement(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record *r = l->run->rec;
	size_t si = (size_t)rigi_row_int(row, 0);
	struct rig_measurement m;
	int guard;
	if (si >= r->n_steps)
		return rigi_fail(RIG_ERR_FORMAT, "results store: run %s: a measurement of step %zu",
				 r->run_id, si);
	memset(&m, 0, sizeof(m));
	TXT(m.name, 1), TXT(m.quantity, 2), TXT(m.unit, 3);
	m.setpoint = rigi_row_real(row, 4);
	m.value = rigi_row_real(row, 5);
	m.error = rigi_row_real(row, 6);
	m.u_expanded = rigi_row_real(row, 7);
	m.k = rigi_row_real(row, 8);
	m.n = (unsigned)rigi_row_int(row, 9);
	m.judged = (int)rigi_row_int(row, 10);
	m.limit.low = rigi_row_real(row, 11);
	m.limit.high = rigi_row_real(row, 12);
	m.limit.nominal = rigi_row_real(row, 13);
	TXT(m.limit.unit, 14);
	guard = rig_guard_parse(rigi_row_text(row, 15));
	m.limit.guard = guard < 0 ? RIG_GUARD_GUARDED : (enum rig_guard)guard;
	m.limit.guard_factor = rigi_row_real(row, 16);
	m.accept_low = rigi_row_real(row, 17);
	m.accept_high = rigi_row_real(row, 18);
	m.outcome = (enum rig_outcome)rig_outcome_parse(rigi_row_text(row, 19));
	TXT(m.reason, 20);
	return rig_record_step_add(r->steps[si], &m);
}

/* A U component, in order, onto its measurement (loaded before). */
static int read_u_component(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record *r = l->run->rec;
	size_t si = (size_t)rigi_row_int(row, 0), mi = (size_t)rigi_row_int(row, 1);
	if (si >= r->n_steps || mi >= r->steps[si]->n_measurements ||
	    r->steps[si]->measurements[mi].n_budget >= RIG_U_BUDGET_MAX)
		return rigi_fail(RIG_ERR_FORMAT, "results store: run %s: a U component of "
				 "measurement %zu of step %zu", r->run_id, mi, si);
	struct rig_measurement *m = &r->steps[si]->measurements[mi];
	struct rig_u_component *c = &m->budget[m->n_budget++];
	TXT(c->source, 2);
	c->u = rigi_row_real(row, 3);
	return 0;
}

static int read_table(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record *r = l->run->rec;
	const void *bytes;
	size_t len = row->be->col_blob(row, 2, &bytes);
	int written = !strcmp(rigi_row_text(row, 0), "written");
	struct rig_record_table *t = written ? &r->table : &r->unit.previous_table;
	int ret = rig_record_table_set(t, bytes, len, (uint8_t)rigi_row_int(row, 1));
	if (ret < 0)
		return rigi_fail(ret, "results store: run %s: its %s table: %s", r->run_id,
				 rigi_row_text(row, 0), rig_last_error());
	if (written)
		r->has_table = 1;
	else
		r->unit.has_previous_table = 1;
	return 0;
}

static int read_instrument(const struct rigi_sql_row *row, void *user)
{
	struct loading *l = user;
	struct rig_record_station *st = &l->run->rec->station;
	struct rig_record_instrument *in;
	if (st->n_instruments >= RIG_RECORD_MAX_INSTRUMENTS)
		return 0;
	in = &st->instruments[st->n_instruments++];
	memset(in, 0, sizeof(*in));
	TXT(in->role, 0);
	in->nest = (int)rigi_row_int(row, 1);
	TXT(in->uri, 2);
	in->identified = (int)rigi_row_int(row, 3);
	in->device_type = (uint16_t)rigi_row_int(row, 4);
	in->map_version = (uint16_t)rigi_row_int(row, 5);
	in->serial = (uint32_t)rigi_row_int(row, 6);
	TXT(in->firmware, 7), TXT(in->certificate, 8), TXT(in->calibrated, 9), TXT(in->due, 10);
	in->standard_uncertainty = rigi_row_real(row, 11);
	TXT(in->unit, 12);
	return 0;
}

static int read_attachment(const struct rigi_sql_row *row, void *user)
{
	struct rigi_store_run *run = ((struct loading *)user)->run;
	void *p = realloc(run->atts, (run->n_atts + 1) * sizeof(*run->atts));
	if (!p)
		return RIG_ERR_NOMEM;
	run->atts = p;
	struct rigi_store_attachment *a = &run->atts[run->n_atts++];
	TXT(a->name, 0);
	a->bytes = (uint64_t)rigi_row_int(row, 1);
	TXT(a->sha256, 2);
	return 0;
}

static int load_children(struct rig_store *s, struct loading *l)
{
	struct rigi_sql_value k = RIGI_SQL_I(l->key);
	int ret = rigi_store_exec(s,
				  "SELECT name, type, outcome, reason, started_ms, duration_s"
				  " FROM steps WHERE run_key = $1 ORDER BY step_index",
				  &k, 1, read_step, l);
	if (ret == 0)
		ret = rigi_store_exec(
			s,
			"SELECT step_index, name, quantity, unit, setpoint, value, error,"
			" u_expanded, k, n, judged, low, high, nominal, limit_unit, guard,"
			" guard_factor, accept_low, accept_high, outcome, reason FROM measurements"
			" WHERE run_key = $1 ORDER BY step_index, m_index",
			&k, 1, read_measurement, l);
	if (ret == 0)
		ret = rigi_store_exec(s,
				      "SELECT step_index, m_index, source, u FROM u_components"
				      " WHERE run_key = $1 ORDER BY step_index, m_index, c_index",
				      &k, 1, read_u_component, l);
	if (ret == 0)
		ret = rigi_store_exec(s,
				      "SELECT role, slot, bytes FROM tables WHERE run_key = $1"
				      " ORDER BY role",
				      &k, 1, read_table, l);
	if (ret == 0)
		ret = rigi_store_exec(
			s,
			"SELECT role, nest, uri, identified, device_type, map_version, serial,"
			" firmware, certificate, calibrated, due, standard_uncertainty, unit"
			" FROM instruments WHERE run_key = $1 ORDER BY idx",
			&k, 1, read_instrument, l);
	if (ret == 0)
		ret = rigi_store_exec(s,
				      "SELECT name, bytes, sha256 FROM attachments WHERE run_key = $1"
				      " ORDER BY name",
				      &k, 1, read_attachment, l);
	return ret;
}

int rigi_store_load(struct rig_store *s, const char *run_id, struct rigi_store_run *out)
{
	struct rigi_sql_value id = RIGI_SQL_S(run_id);
	struct loading l = {out, -1, 0};
	int ret;
	memset(out, 0, sizeof(*out));
	if ((ret = rig_record_new(&out->rec)) < 0)
		return ret;
	out->rec->read_back = -1;
	ret = rigi_store_exec(s, "SELECT " RUN_COLUMNS " FROM runs WHERE run_id = $1", &id, 1,
			      read_run, &l);
	if (ret == 0 && l.key < 0)
		ret = rigi_fail(RIG_ERR_NOT_FOUND, "results store %s has no run %s", s->location,
				run_id);
	if (ret == 0)
		ret = l.ret;
	if (ret == 0)
		ret = load_children(s, &l);
	if (ret < 0)
		rigi_store_run_free(out);
	return ret;
}

/* ---- selecting runs ---- */

void rig_store_filter_init(struct rig_store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->outcome = -1;
}

static void where_add(char *sql, size_t cap, size_t *n, const char *cond)
{
	size_t used = strlen(sql);
	snprintf(sql + used, cap - used, "%s%s", used ? " AND " : " WHERE ", cond);
	(*n)++;
}

void rigi_store_where(const struct rig_store_filter *f, char *sql, size_t cap,
		      struct rigi_sql_value *p, size_t *n)
{
	char cond[64];
	sql[0] = 0;
	*n = 0;
	if (!f)
		return;
#define ADD(test, fmt, value)                                                                  \
	do {                                                                                   \
		if (test) {                                                                    \
			p[*n] = (value);                                                       \
			snprintf(cond, sizeof(cond), fmt, *n + 1);                             \
			where_add(sql, cap, n, cond);                                          \
		}                                                                              \
	} while (0)
	ADD(f->run_id && f->run_id[0], "r.run_id = $%zu", RIGI_SQL_S(f->run_id));
	ADD(f->serial && f->serial[0], "r.serial = $%zu", RIGI_SQL_S(f->serial));
	ADD(f->station && f->station[0], "r.station_id = $%zu", RIGI_SQL_S(f->station));
	ADD(f->suite && f->suite[0], "r.suite_name = $%zu", RIGI_SQL_S(f->suite));
	ADD(f->outcome >= 0, "r.outcome = $%zu",
	    RIGI_SQL_S(rig_outcome_name((enum rig_outcome)f->outcome)));
	ADD(f->since_ms > 0, "r.started_ms >= $%zu", RIGI_SQL_I(f->since_ms));
	ADD(f->until_ms > 0, "r.started_ms < $%zu", RIGI_SQL_I(f->until_ms));
#undef ADD
}

/* The selected runs' keys, oldest first: the latest f->limit when set. */
static void select_runs(const struct rig_store_filter *f, const char *columns, char *sql,
			size_t cap, struct rigi_sql_value *p, size_t *n)
{
	char where[512];
	rigi_store_where(f, where, sizeof(where), p, n);
	if (f && f->limit)
		snprintf(sql, cap,
			 "SELECT %s FROM (SELECT * FROM runs r%s ORDER BY started_ms DESC, run_id DESC"
			 " LIMIT %zu) r ORDER BY started_ms, run_id",
			 columns, where, f->limit);
	else
		snprintf(sql, cap, "SELECT %s FROM runs r%s ORDER BY started_ms, run_id", columns,
			 where);
}

struct listing {
	int (*fn)(const struct rig_store_run *run, void *user);
	void *user;
};

static int list_row(const struct rigi_sql_row *row, void *user)
{
	struct listing *l = user;
	struct rig_store_run r;
	memset(&r, 0, sizeof(r));
	TXT(r.run_id, 0), TXT(r.serial, 1), TXT(r.model, 2), TXT(r.station, 3);
	r.nest = (unsigned)rigi_row_int(row, 4);
	TXT(r.suite, 5), TXT(r.suite_version, 6), TXT(r.operator_name, 7);
	r.started_ms = rigi_row_int(row, 8);
	r.ended_ms = rigi_row_int(row, 9);
	int o = rig_outcome_parse(rigi_row_text(row, 10));
	r.outcome = o < 0 ? RIG_OUTCOME_ERROR : (enum rig_outcome)o;
	TXT(r.reason, 11), TXT(r.commit, 12), TXT(r.record_path, 13);
	return l->fn(&r, l->user);
}

int rig_store_list(struct rig_store *s, const struct rig_store_filter *f,
		   int (*fn)(const struct rig_store_run *run, void *user), void *user)
{
	struct rigi_sql_value p[8];
	struct listing l = {fn, user};
	char sql[2048];
	size_t n;
	select_runs(f, "run_id, serial, model, station_id, nest, suite_name, suite_version,"
		       " operator, started_ms, ended_ms, outcome, reason, commit_status, record_path",
		    sql, sizeof(sql), p, &n);
	return rigi_store_exec(s, sql, p, n, list_row, &l);
}

/* ---- export ---- */

struct id_list {
	char (*ids)[RIG_RUN_ID_MAX];
	size_t n, cap;
};

static int collect_id(const struct rigi_sql_row *row, void *user)
{
	struct id_list *l = user;
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->ids, nc * sizeof(*l->ids));
		if (!p)
			return rigi_fail(RIG_ERR_NOMEM, "results store: listing runs");
		l->ids = p;
		l->cap = nc;
	}
	snprintf(l->ids[l->n++], RIG_RUN_ID_MAX, "%s", rigi_row_text(row, 0));
	return 0;
}

int rigi_store_run_ids(struct rig_store *s, const struct rig_store_filter *f,
		       char (**ids)[RIG_RUN_ID_MAX], size_t *n)
{
	struct rigi_sql_value p[8];
	struct id_list l = {0};
	char sql[2048];
	size_t np;
	select_runs(f, "run_id", sql, sizeof(sql), p, &np);
	int ret = rigi_store_exec(s, sql, p, np, collect_id, &l);
	if (ret < 0) {
		free(l.ids);
		return ret;
	}
	*ids = l.ids;
	*n = l.n;
	return 0;
}

int rig_store_export(struct rig_store *s, const struct rig_store_filter *f,
		     int (*fn)(const char *json, void *user), void *user)
{
	char (*ids)[RIG_RUN_ID_MAX] = NULL;
	size_t n = 0;
	int ret = rigi_store_run_ids(s, f, &ids, &n);
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct rigi_store_run run;
		char *line = NULL;
		if ((ret = rigi_store_load(s, ids[i], &run)) < 0)
			break;
		ret = rigi_json_store_line(&run, &line);
		rigi_store_run_free(&run);
		if (ret == 0)
			ret = fn(line, user);
		free(line);
	}
	free(ids);
	return ret;
}

int rig_store_get(struct rig_store *s, const char *run_id, struct rig_record **out)
{
	struct rigi_store_run run;
	int ret = rigi_store_load(s, run_id, &run);
	if (ret < 0)
		return ret;
	*out = run.rec;
	run.rec = NULL;
	rigi_store_run_free(&run);
	return 0;
}
