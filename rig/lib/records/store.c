/* The results store (docs/store.md): opening a store of either backend,
 * and storing one run — its record and the files of its run folder — in
 * one transaction that first removes any earlier copy of the same run id,
 * so that storing a run again, from the live run, an import or a push,
 * leaves exactly one identical copy. The live run's record is the one
 * rebuilt from its journal, whose reals have the 15 significant digits of
 * record.json: a run stored live and the same run imported are the same
 * rows. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rig/store.h>

#include "core/core.h"
#include "records/records.h"
#include "records/store.h"
#include "records/store_int.h"

int rig_store_is_server(const char *location)
{
	return location && (!strncmp(location, "postgresql://", 13) ||
			    !strncmp(location, "postgres://", 11) ||
			    !strncmp(location, "service=", 8) || strstr(location, "dbname=") ||
			    !strncmp(location, "host=", 5));
}

int rig_store_open(const char *location, struct rig_store **out)
{
	struct rig_store *s;
	int ret;
	if (!location || !location[0] || !out)
		return rigi_fail(RIG_ERR_ARG, "results store: no location given");
	if (!(s = calloc(1, sizeof(*s))))
		return rigi_fail(RIG_ERR_NOMEM, "results store %s", location);
	s->be = rig_store_is_server(location) ? &rigi_pg_backend : &rigi_sqlite_backend;
	snprintf(s->location, sizeof(s->location), "%s", location);
	if ((ret = s->be->open(location, &s->conn)) < 0 || (ret = rigi_store_migrate(s)) < 0) {
		rig_store_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

static void forget_measurands(struct rig_store *s)
{
	for (size_t i = 0; i < RIGI_STORE_MEASURAND_CACHE; i++) {
		free(s->measurands[i].mkey);
		s->measurands[i].mkey = NULL;
	}
}

void rig_store_close(struct rig_store *s)
{
	if (!s)
		return;
	if (s->conn)
		s->be->close(s->conn);
	forget_measurands(s);
	free(s);
}

const char *rig_store_kind(const struct rig_store *s)
{
	return s->be->name;
}

int rigi_store_exec(struct rig_store *s, const char *sql, const struct rigi_sql_value *p,
		    size_t n, rigi_sql_row_fn fn, void *user)
{
	return s->be->exec(s->conn, sql, p, n, fn, user);
}

void rigi_store_run_free(struct rigi_store_run *run)
{
	rig_record_free(run->rec);
	free(run->atts);
	memset(run, 0, sizeof(*run));
}

/* ---- values ---- */

#define I(v) RIGI_SQL_I((int64_t)(v))
#define S(v) RIGI_SQL_S(v)
#define D(v) RIGI_SQL_D(v)

static int read_key(const struct rigi_sql_row *row, void *user)
{
	*(int64_t *)user = rigi_row_int(row, 0);
	return 0;
}

/* ---- one run ---- */

static int put_header(struct rig_store *s, const struct rigi_store_run *run, int64_t *key)
{
	const struct rig_record *r = run->rec;
	const struct rig_record_station *st = &r->station;
	const struct rig_record_phantom *ph = &st->phantom;
	char seed[24];
	snprintf(seed, sizeof(seed), "%llu", (unsigned long long)st->seed);
	const struct rigi_sql_value p[] = {
		S(r->run_id), I(r->schema_version), S(r->unit.serial), S(r->unit.model),
		S(r->unit.hardware), S(r->unit.firmware), S(st->id), S(st->name), I(st->nest),
		S(st->host), I(st->simulated), S(seed), S(st->fixture_path), S(st->fixture_sha256),
		S(r->suite_name), S(r->suite_version), S(r->suite_path), S(r->suite_sha256),
		S(r->operator_name), I(r->started_ms), I(r->ended_ms), S(r->software_version),
		S(r->software_commit), S(rig_outcome_name(r->outcome)), S(r->reason), I(r->error),
		S(r->has_table ? rig_commit_status_name(r->commit) : ""), S(r->commit_detail),
		I(r->read_back), S(r->table_bin_path), S(r->table_json_path),
		S(r->unit.previous_table_path), I(r->safe_state_confirmed), S(r->safe_state_detail),
		S(ph->type), S(ph->lot), S(ph->installed), S(ph->expires), I(ph->max_strokes),
		I(ph->strokes_before), I(ph->strokes_run), I(r->journal_events),
		S(r->journal_sha256), S(r->signer_public_key), S(r->warnings),
		S(run->record_path), S(run->record_sha256), I(rig_time_now_ms()),
	};
	return rigi_store_exec(
		s,
		"INSERT INTO runs (run_id, record_schema, serial, model, hardware, firmware,"
		" station_id, station_name, nest, host, simulated, seed, fixture_path,"
		" fixture_sha256, suite_name, suite_version, suite_path, suite_sha256, operator,"
		" started_ms, ended_ms, software_version, software_commit, outcome, reason, error,"
		" commit_status, commit_detail, read_back, table_bin_path, table_json_path,"
		" previous_table_path, safe_state_confirmed, safe_state_detail, phantom_type,"
		" phantom_lot, phantom_installed, phantom_expires, phantom_max_strokes,"
		" phantom_strokes_before, phantom_strokes_run, journal_events, journal_sha256,"
		" signer_public_key, warnings, record_path, record_sha256, stored_ms) VALUES ($1,"
		" $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,"
		" $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35,"
		" $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48)"
		" RETURNING run_key",
		p, sizeof(p) / sizeof(p[0]), read_key, key);
}

static int put_step(struct rig_store *s, int64_t key, size_t i, const struct rig_record_step *st)
{
	const struct rigi_sql_value p[] = {
		I(key), I(i), S(st->name), S(st->type), S(rig_outcome_name(st->outcome)),
		S(st->reason), I(st->started_ms), D(st->duration_s),
	};
	return rigi_store_exec(s,
			       "INSERT INTO steps (run_key, step_index, name, type, outcome, reason,"
			       " started_ms, duration_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
			       p, 8, NULL, NULL);
}

static size_t mkey_hash(const char *k)
{
	size_t h = 5381;
	while (*k)
		h = h * 33 + (unsigned char)*k++;
	return h % RIGI_STORE_MEASURAND_CACHE;
}

/* "step\x1fname\x1funit\x1fJ\x1f<bits of low>\x1f<bits of high>": a
 * measurement's measurand as text, built without printf (a run has a
 * hundred of them). */
static void measurand_text(char out[256], const char *step, const struct rig_measurement *m,
			   double low, double high)
{
	static const char hex[] = "0123456789abcdef";
	const double limits[2] = {isfinite(low) ? low : NAN, isfinite(high) ? high : NAN};
	size_t n = 0;
	const char *parts[3] = {step, m->name, m->unit};
	for (int p = 0; p < 3; p++) {
		for (const char *c = parts[p]; *c && n < 200; c++)
			out[n++] = *c;
		out[n++] = 0x1f;
	}
	out[n++] = m->judged ? 'J' : 'R';
	for (int l = 0; l < 2; l++) {
		uint64_t bits;
		memcpy(&bits, &limits[l], sizeof(bits));
		out[n++] = 0x1f;
		for (int s = 60; s >= 0; s -= 4)
			out[n++] = hex[(bits >> s) & 0xf];
	}
	out[n] = 0;
}

/* The measurand of a measurement: one step's measurement name with one
 * unit and one tolerance (docs/store.md "measurands"). */
static int measurand_key(struct rig_store *s, const char *step, const struct rig_measurement *m,
			 int64_t *key)
{
	char mkey[256];
	struct rigi_sql_value low = D(m->judged ? m->limit.low : NAN);
	struct rigi_sql_value high = D(m->judged ? m->limit.high : NAN);
	measurand_text(mkey, step, m, low.d, high.d);
	struct rigi_measurand_slot *slot = &s->measurands[mkey_hash(mkey)];
	if (slot->mkey && !strcmp(slot->mkey, mkey)) {
		*key = slot->key;
		return 0;
	}
	const struct rigi_sql_value p[] = {S(mkey), S(step), S(m->name), S(m->quantity),
					   S(m->unit), I(m->judged), low, high};
	int ret = rigi_store_exec(
		s,
		"INSERT INTO measurands (mkey, step_name, name, quantity, unit, judged, low, high)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (mkey) DO UPDATE"
		" SET mkey = excluded.mkey RETURNING measurand_key",
		p, 8, read_key, key);
	if (ret == 0) {
		free(slot->mkey);
		slot->mkey = strdup(mkey);
		slot->key = *key;
	}
	return ret;
}

#define M_COLS 25

static int put_measurement(struct rig_store *s, int64_t key, size_t si, int64_t started,
			   const struct rig_record_step *st, size_t mi, int64_t *measurand)
{
	const struct rig_measurement *m = &st->measurements[mi];
	const struct rig_limit *l = &m->limit;
	int64_t mk = 0;
	int ret = measurand_key(s, st->name, m, &mk);
	*measurand = mk;
	if (ret < 0)
		return ret;
	const struct rigi_sql_value p[M_COLS] = {
		I(key), I(si), I(mi), I(mk), I(started), S(m->name), S(m->quantity), S(m->unit),
		D(m->setpoint), D(m->value), D(m->error), D(m->u_expanded), D(m->k), I(m->n),
		I(m->judged), D(l->low), D(l->high), D(l->nominal), S(l->unit),
		S(rig_guard_name(l->guard)), D(l->guard_factor), D(m->accept_low),
		D(m->accept_high), S(rig_outcome_name(m->outcome)), S(m->reason),
	};
	ret = rigi_store_exec(
		s,
		"INSERT INTO measurements (run_key, step_index, m_index, measurand_key, started_ms,"
		" name, quantity, unit, setpoint, value, error, u_expanded, k, n, judged, low, high,"
		" nominal, limit_unit, guard, guard_factor, accept_low, accept_high, outcome, reason)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,"
		" $17, $18, $19, $20, $21, $22, $23, $24, $25)",
		p, M_COLS, NULL, NULL);
	for (unsigned c = 0; c < m->n_budget && ret == 0; c++) {
		const struct rigi_sql_value q[6] = {I(key), I(si), I(mi), I(c),
						    S(m->budget[c].source), D(m->budget[c].u)};
		ret = rigi_store_exec(s,
				      "INSERT INTO u_components (run_key, step_index, m_index,"
				      " c_index, source, u) VALUES ($1, $2, $3, $4, $5, $6)",
				      q, 6, NULL, NULL);
	}
	return ret;
}

static int put_table(struct rig_store *s, int64_t key, const char *role,
		     const struct rig_record_table *t)
{
	uint8_t h[RIGI_SHA256_BYTES];
	char hex[65];
	rigi_sha256(t->bytes, t->len, h);
	rigi_hex_encode(h, sizeof(h), hex);
	const struct rigi_sql_value p[] = {I(key), S(role), I(t->slot), RIGI_SQL_B(t->bytes, t->len),
					   I(t->decoded.table_seq), S(hex)};
	return rigi_store_exec(s,
			       "INSERT INTO tables (run_key, role, slot, bytes, table_seq, sha256)"
			       " VALUES ($1, $2, $3, $4, $5, $6)",
			       p, 6, NULL, NULL);
}

static int put_instrument(struct rig_store *s, int64_t key, size_t i,
			  const struct rig_record_instrument *in)
{
	const struct rigi_sql_value p[] = {
		I(key), I(i), S(in->role), I(in->nest), S(in->uri), I(in->identified),
		I(in->device_type), I(in->map_version), I(in->serial), S(in->firmware),
		S(in->certificate), S(in->calibrated), S(in->due), D(in->standard_uncertainty),
		S(in->unit),
	};
	return rigi_store_exec(
		s,
		"INSERT INTO instruments (run_key, idx, role, nest, uri, identified, device_type,"
		" map_version, serial, firmware, certificate, calibrated, due, standard_uncertainty,"
		" unit) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
		p, 15, NULL, NULL);
}

static int put_attachment(struct rig_store *s, int64_t key, const struct rigi_store_attachment *a)
{
	const struct rigi_sql_value p[] = {I(key), S(a->name), I(a->bytes), S(a->sha256)};
	return rigi_store_exec(s,
			       "INSERT INTO attachments (run_key, name, bytes, sha256)"
			       " VALUES ($1, $2, $3, $4)",
			       p, 4, NULL, NULL);
}

/* run_series.points: per judged measurement with a value, its measurand
 * key (int64) and value (IEEE double), both little-endian. */
struct points {
	uint8_t *bytes;
	size_t len, cap;
};

static int add_series_point(struct points *p, int64_t measurand, double value)
{
	if (p->len + 16 > p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		uint8_t *b = realloc(p->bytes, nc);
		if (!b)
			return rigi_fail(RIG_ERR_NOMEM, "results store: a run's series");
		p->bytes = b;
		p->cap = nc;
	}
	uint64_t bits;
	memcpy(&bits, &value, sizeof(bits));
	rigi_put_u64le(p->bytes + p->len, (uint64_t)measurand);
	rigi_put_u64le(p->bytes + p->len + 8, bits);
	p->len += 16;
	return 0;
}

static int put_series(struct rig_store *s, int64_t key, int64_t started, const struct points *p)
{
	const struct rigi_sql_value v[] = {I(key), I(started), RIGI_SQL_B(p->bytes, p->len)};
	return rigi_store_exec(s,
			       "INSERT INTO run_series (run_key, started_ms, points) VALUES ($1, $2, $3)",
			       v, 3, NULL, NULL);
}

static int put_children(struct rig_store *s, const struct rigi_store_run *run, int64_t key)
{
	const struct rig_record *r = run->rec;
	struct points pts = {0};
	int ret = 0;
	for (size_t i = 0; i < r->n_steps && ret == 0; i++) {
		const struct rig_record_step *st = r->steps[i];
		ret = put_step(s, key, i, st);
		for (size_t m = 0; m < st->n_measurements && ret == 0; m++) {
			int64_t mk = -1;
			ret = put_measurement(s, key, i, r->started_ms, st, m, &mk);
			if (ret == 0 && st->measurements[m].judged && isfinite(st->measurements[m].value))
				ret = add_series_point(&pts, mk, st->measurements[m].value);
		}
	}
	if (ret == 0)
		ret = put_series(s, key, r->started_ms, &pts);
	free(pts.bytes);
	if (ret == 0 && r->has_table)
		ret = put_table(s, key, "written", &r->table);
	if (ret == 0 && r->unit.has_previous_table)
		ret = put_table(s, key, "as_found", &r->unit.previous_table);
	for (size_t i = 0; i < r->station.n_instruments && ret == 0; i++)
		ret = put_instrument(s, key, i, &r->station.instruments[i]);
	for (size_t i = 0; i < run->n_atts && ret == 0; i++)
		ret = put_attachment(s, key, &run->atts[i]);
	return ret;
}

static int put_locked(struct rig_store *s, const struct rigi_store_run *run, int queue)
{
	struct rigi_sql_value id = S(run->rec->run_id);
	int64_t key = -1;
	int ret = rigi_store_exec(s, "DELETE FROM runs WHERE run_id = $1", &id, 1, NULL, NULL);
	if (ret == 0)
		ret = put_header(s, run, &key);
	if (ret == 0)
		ret = put_children(s, run, key);
	if (ret == 0 && queue) {
		const struct rigi_sql_value q[] = {id, I(rig_time_now_ms())};
		ret = rigi_store_exec(s,
				      "INSERT INTO outbox (run_id, queued_ms, attempts, last_error)"
				      " VALUES ($1, $2, 0, '') ON CONFLICT (run_id) DO NOTHING",
				      q, 2, NULL, NULL);
	}
	return ret;
}

int rigi_store_put_run(struct rig_store *s, const struct rigi_store_run *run, int queue)
{
	int ret = s->be->begin(s->conn, 0);
	if (ret == 0 && (ret = put_locked(s, run, queue)) == 0)
		ret = rigi_store_exec(s, "COMMIT", NULL, 0, NULL, NULL);
	if (ret < 0) {
		char why[512];
		snprintf(why, sizeof(why), "%s", rig_last_error());
		rigi_store_exec(s, "ROLLBACK", NULL, 0, NULL, NULL);
		forget_measurands(s);
		return rigi_fail(ret, "storing run %s: %s", run->rec->run_id, why);
	}
	return 0;
}

/* ---- the run folder's files ---- */

static int hash_file(const char *path, uint64_t *bytes, char hex[65])
{
	struct rigi_sha256_ctx c;
	uint8_t buf[65536], h[RIGI_SHA256_BYTES];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rigi_sha256_init(&c);
	*bytes = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		rigi_sha256_update(&c, buf, (size_t)n);
		*bytes += (uint64_t)n;
	}
	close(fd);
	rigi_sha256_final(&c, h);
	rigi_hex_encode(h, sizeof(h), hex);
	return n < 0 ? -1 : 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rigi_store_attachment *)a)->name,
		      ((const struct rigi_store_attachment *)b)->name);
}

/* Files of the run folder and of its first-level folders (captures/),
 * sorted by name; temporary files ('.' first) are not evidence. */
static int list_dir(const char *dir, const char *sub, struct rigi_store_run *run, size_t *cap)
{
	char path[2048];
	struct dirent *d;
	DIR *dp;
	snprintf(path, sizeof(path), "%s%s%s", dir, sub[0] ? "/" : "", sub);
	if (!(dp = opendir(path)))
		return sub[0] ? 0 : rigi_sys_fail(errno, "open the run folder", path);
	while ((d = readdir(dp))) {
		struct stat sb;
		char file[2304], name[256];
		if (d->d_name[0] == '.')
			continue;
		int len = snprintf(name, sizeof(name), "%s%s%s", sub, sub[0] ? "/" : "", d->d_name);
		if (len < 0 || (size_t)len >= sizeof(name))
			continue;  /* no file of ours has such a name */
		snprintf(file, sizeof(file), "%s/%s", dir, name);
		if (stat(file, &sb) != 0)
			continue;
		if (S_ISDIR(sb.st_mode) && !sub[0]) {
			list_dir(dir, d->d_name, run, cap);
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		if (run->n_atts == *cap) {
			size_t nc = *cap ? *cap * 2 : 16;
			void *p = realloc(run->atts, nc * sizeof(*run->atts));
			if (!p)
				break;
			run->atts = p;
			*cap = nc;
		}
		struct rigi_store_attachment *a = &run->atts[run->n_atts];
		snprintf(a->name, sizeof(a->name), "%s", name);
		if (hash_file(file, &a->bytes, a->sha256) == 0)
			run->n_atts++;
	}
	closedir(dp);
	return 0;
}

static int describe_folder(const char *run_dir, struct rigi_store_run *run)
{
	size_t cap = 0;
	int ret = list_dir(run_dir, "", run, &cap);
	if (ret < 0)
		return ret;
	qsort(run->atts, run->n_atts, sizeof(*run->atts), name_cmp);
	snprintf(run->record_path, sizeof(run->record_path), "%s/record.json", run_dir);
	for (size_t i = 0; i < run->n_atts; i++)
		if (!strcmp(run->atts[i].name, "record.json"))
			snprintf(run->record_sha256, sizeof(run->record_sha256), "%s",
				 run->atts[i].sha256);
	return 0;
}

int rig_store_put(struct rig_store *s, const struct rig_record *rec, const char *run_dir,
		  int queue)
{
	struct rigi_store_run run = {.rec = (struct rig_record *)rec};
	int ret;
	if (!s || !rec)
		return rigi_fail(RIG_ERR_ARG, "rig_store_put: store and record are required");
	if (run_dir && (ret = describe_folder(run_dir, &run)) < 0)
		return ret;
	ret = rigi_store_put_run(s, &run, queue);
	free(run.atts);
	return ret;
}

/* ---- the sink ---- */

static int store_event(const struct rig_event *ev, void *user)
{
	struct rig_store *s = user;
	if (ev->type != RIG_EV_RECORD)
		return 0;
	if (rig_store_put(s, ev->u.record.rec, ev->u.record.dir, s->queue) < 0)
		RIGI_WARN("store", "%s: run %s not stored (%s); its record is kept, `rig results "
			  "import` stores it later", s->location, ev->u.record.rec->run_id,
			  rig_last_error());
	return 0;
}

void rig_store_set_queue(struct rig_store *s, int queue)
{
	s->queue = queue;
}

struct rig_event_sink rig_store_sink(struct rig_store *s)
{
	return (struct rig_event_sink){"results store", store_event, s, 0};
}
