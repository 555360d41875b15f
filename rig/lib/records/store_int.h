/* What the results store's files share (store.c, store_schema.c,
 * store_load.c, store_push.c, store_stats.c): the open store, and a stored
 * run in memory — the record with the attachments listed beside it. */
#ifndef RIGI_STORE_INT_H
#define RIGI_STORE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <rig/record.h>
#include <rig/store.h>

#include "records/store.h"

#define RIGI_STORE_MEASURAND_CACHE 1024

struct rigi_measurand_slot {
	char *mkey;
	int64_t key;
};

struct rig_store {
	const struct rigi_store_backend *be;
	void *conn;
	char location[1024];     /* as given (never holds a password) */
	int queue;               /* the sink also queues runs for a line server */
	/* mkey -> measurand_key, cleared when a transaction is rolled back
	 * (its new keys are gone with it). */
	struct rigi_measurand_slot measurands[RIGI_STORE_MEASURAND_CACHE];
};

struct rigi_store_attachment {
	char name[256];          /* relative to the run folder */
	uint64_t bytes;
	char sha256[65];
};

struct rigi_store_run {
	struct rig_record *rec;
	struct rigi_store_attachment *atts;
	size_t n_atts;
	char record_path[RIG_RECORD_PATH_MAX];
	char record_sha256[65];
};

void rigi_store_run_free(struct rigi_store_run *run);

/** Create or bring the schema to RIG_STORE_SCHEMA_VERSION. */
int rigi_store_migrate(struct rig_store *s);

/** Store @p run in one transaction (replacing the run id's earlier copy). */
int rigi_store_put_run(struct rig_store *s, const struct rigi_store_run *run, int queue);

/** Load the run @p run_id (RIG_ERR_NOT_FOUND when absent). */
int rigi_store_load(struct rig_store *s, const char *run_id, struct rigi_store_run *out);

/** Rows of a plain statement into @p fn (store.h backend exec). */
int rigi_store_exec(struct rig_store *s, const char *sql, const struct rigi_sql_value *p,
		    size_t n, rigi_sql_row_fn fn, void *user);

/** The WHERE clause (" WHERE ...", or "") and parameters of @p f over the
 *  runs table aliased r; @p p receives up to 7 values. */
void rigi_store_where(const struct rig_store_filter *f, char *sql, size_t cap,
		      struct rigi_sql_value *p, size_t *n);

/** The run ids @p f selects, oldest first (*ids malloc'd). */
int rigi_store_run_ids(struct rig_store *s, const struct rig_store_filter *f,
		       char (**ids)[RIG_RUN_ID_MAX], size_t *n);

/** One run as an export line (json.c): compact canonical JSON. */
int rigi_json_store_line(const struct rigi_store_run *run, char **out);

#endif
