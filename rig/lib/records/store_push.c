/* Store-and-forward (docs/store.md "Line server"): a station's runs wait in
 * the outbox of its own SQLite until the line's PostgreSQL has committed
 * them; then, and only then, they leave it. A push that fails halfway
 * leaves the rest queued, and a run pushed twice (the answer to a COMMIT
 * lost with the link) is replaced by an identical copy, so the server ends
 * with every run exactly once. Also `rig results import`: record folders
 * made before the store existed, or while it could not be written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rig/store.h>

#include "core/core.h"
#include "records/records.h"
#include "records/store.h"
#include "records/store_int.h"

#define PUSH_BATCH 64

static int read_count(const struct rigi_sql_row *row, void *user)
{
	*(size_t *)user = (size_t)rigi_row_int(row, 0);
	return 0;
}

int rig_store_outbox_count(struct rig_store *local, size_t *n)
{
	*n = 0;
	return rigi_store_exec(local, "SELECT count(*) FROM outbox", NULL, 0, read_count, n);
}

/* One pusher per local store: an flock on "<store>.push.lock". */
static int push_lock(const struct rig_store *local, int wait, int *fd)
{
	char path[1100];
	snprintf(path, sizeof(path), "%s.push.lock", local->location);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0)
		return rigi_sys_fail(errno, "open the push lock", path);
	if (flock(*fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0)
		return 0;
	int err = errno;
	close(*fd);
	*fd = -1;
	if (err == EWOULDBLOCK)
		return RIG_ERR_BUSY;
	return rigi_sys_fail(err, "lock", path);
}

static int push_one(struct rig_store *local, struct rig_store *line, const char *run_id)
{
	struct rigi_store_run run;
	struct rigi_sql_value id = RIGI_SQL_S(run_id);
	int ret = rigi_store_load(local, run_id, &run);
	if (ret == RIG_ERR_NOT_FOUND) /* queued, then the run was removed: nothing to send */
		return rigi_store_exec(local, "DELETE FROM outbox WHERE run_id = $1", &id, 1, NULL,
				       NULL);
	if (ret < 0)
		return ret;
	ret = rigi_store_put_run(line, &run, 0);
	rigi_store_run_free(&run);
	if (ret == 0)
		return rigi_store_exec(local, "DELETE FROM outbox WHERE run_id = $1", &id, 1, NULL,
				       NULL);
	char why[400];
	snprintf(why, sizeof(why), "%s", rig_last_error());
	const struct rigi_sql_value p[] = {RIGI_SQL_S(why), id};
	rigi_store_exec(local,
			"UPDATE outbox SET attempts = attempts + 1, last_error = $1 WHERE run_id = $2",
			p, 2, NULL, NULL);
	return rigi_fail(ret, "%s", why);
}

static int collect(const struct rigi_sql_row *row, void *user)
{
	struct {
		char ids[PUSH_BATCH][RIG_RUN_ID_MAX];
		size_t n;
	} *b = user;
	snprintf(b->ids[b->n++], RIG_RUN_ID_MAX, "%s", rigi_row_text(row, 0));
	return 0;
}

static int push_all(struct rig_store *local, struct rig_store *line,
		    struct rig_store_push_result *res)
{
	struct {
		char ids[PUSH_BATCH][RIG_RUN_ID_MAX];
		size_t n;
	} batch;
	int ret;
	do {
		batch.n = 0;
		ret = rigi_store_exec(local,
				      "SELECT run_id FROM outbox ORDER BY queued_ms, run_id LIMIT 64",
				      NULL, 0, collect, &batch);
		for (size_t i = 0; i < batch.n && ret == 0; i++)
			if ((ret = push_one(local, line, batch.ids[i])) == 0)
				res->pushed++;
	} while (ret == 0 && batch.n == PUSH_BATCH);
	return ret;
}

int rig_store_push(struct rig_store *local, const char *line_location, int wait,
		   struct rig_store_push_result *res)
{
	struct rig_store_push_result ignored;
	struct rig_store *line = NULL;
	int fd, ret;
	if (!res)
		res = &ignored;
	memset(res, 0, sizeof(*res));
	if (!local || !line_location)
		return rigi_fail(RIG_ERR_ARG, "rig_store_push: a local store and a line address");
	if (local->be != &rigi_sqlite_backend)
		return rigi_fail(RIG_ERR_ARG, "the outbox is in a station's SQLite store, not in %s",
				 local->location);
	ret = push_lock(local, wait, &fd);
	if (ret == RIG_ERR_BUSY) {
		rig_store_outbox_count(local, &res->waiting);
		return 0;  /* the push under way takes these too */
	}
	if (ret < 0)
		return ret;
	if ((ret = rig_store_open(line_location, &line)) == 0) {
		ret = push_all(local, line, res);
		rig_store_close(line);
	}
	rig_store_outbox_count(local, &res->waiting);
	close(fd);
	return ret;
}

/* ---- import ---- */

struct importing {
	struct rig_store *s;
	int queue;
	void (*on_error)(const char *path, const char *why, void *user);
	void *user;
	struct rig_store_import_result *res;
};

static void import_record(struct importing *im, const char *dir)
{
	char path[2048];
	struct rig_record *rec = NULL;
	snprintf(path, sizeof(path), "%s/record.json", dir);
	int ret = rig_record_load(path, &rec);
	if (ret == 0)
		ret = rig_store_put(im->s, rec, dir, im->queue);
	rig_record_free(rec);
	if (ret == 0) {
		im->res->imported++;
		return;
	}
	im->res->failed++;
	if (im->on_error)
		im->on_error(path, rig_last_error(), im->user);
}

/* A run folder has record.json; other folders are walked (two levels
 * below a reports folder); '.'-folders are the station's own state. */
static void walk(struct importing *im, const char *dir, int depth)
{
	char path[2048];
	struct stat sb;
	struct dirent *d;
	DIR *dp;
	snprintf(path, sizeof(path), "%s/record.json", dir);
	if (stat(path, &sb) == 0) {
		import_record(im, dir);
		return;
	}
	if (depth > 2 || !(dp = opendir(dir)))
		return;
	char **names = NULL;
	size_t n = 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		char **p = realloc(names, (n + 1) * sizeof(*names));
		if (!p)
			break;
		names = p;
		names[n++] = strdup(d->d_name);
	}
	closedir(dp);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i] ? names[i] : "");
		if (names[i] && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
			walk(im, path, depth + 1);
		free(names[i]);
	}
	free(names);
}

int rig_store_import(struct rig_store *s, const char *dir, int queue,
		     void (*on_error)(const char *path, const char *why, void *user), void *user,
		     struct rig_store_import_result *res)
{
	struct rig_store_import_result ignored;
	struct stat sb;
	if (!res)
		res = &ignored;
	memset(res, 0, sizeof(*res));
	if (!s || !dir)
		return rigi_fail(RIG_ERR_ARG, "rig_store_import: a store and a folder");
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return rigi_fail(RIG_ERR_NOT_FOUND, "%s: no such folder of records", dir);
	struct importing im = {s, queue, on_error, user, res};
	walk(&im, dir, 0);
	return 0;
}
