/* Run records in memory: run ids, steps and their measurements, the table
 * written, safe-state confirmation, the overall outcome; and their files
 * (<reports>/<serial>/<run-id>/record.json, written atomically). The JSON
 * text itself is json.c's business. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <rig/clock.h>
#include <rig/fixture.h>
#include <rig/record.h>
#include <rig/rig.h>

#include "core/core.h"
#include "records/records.h"

/* A record file larger than this is not one of ours. */
#define RECORD_FILE_MAX (64u * 1024 * 1024)

static int ms_to_tm(int64_t ms, struct tm *tm)
{
	time_t s = (time_t)(ms / 1000);
	if (ms < 0 || !gmtime_r(&s, tm) || tm->tm_year + 1900 > 9999)
		return rigi_fail(RIG_ERR_RANGE, "time %lld ms: outside 1970..9999", (long long)ms);
	return 0;
}

int rig_time_format_utc(int64_t ms, char *buf, size_t cap)
{
	struct tm tm;
	int ret = ms_to_tm(ms, &tm);
	if (ret < 0)
		return ret;
	int n = snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(ms % 1000));
	if (n < 0 || (size_t)n >= cap)
		return rigi_fail(RIG_ERR_RANGE, "time: buffer of %zu bytes too small", cap);
	return 0;
}

/* The value of @p n decimal digits at @p p (already checked to be digits). */
static int digits(const char *p, int n)
{
	int v = 0;
	while (n-- > 0)
		v = v * 10 + (*p++ - '0');
	return v;
}

int rig_time_parse_utc(const char *text, int64_t *ms)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	struct rig_date date;
	char day[11];

	for (size_t i = 0; i < sizeof(shape); i++) {
		char c = text ? text[i] : '\0';
		if (shape[i] == '\0' ? c != '\0' : shape[i] == 'd' ? (c < '0' || c > '9') : c != shape[i])
			return rigi_fail(RIG_ERR_FORMAT, "time '%.40s': expected YYYY-MM-DDTHH:MM:SS.mmmZ",
					 text ? text : "");
	}
	memcpy(day, text, 10);
	day[10] = '\0';
	int hour = digits(text + 11, 2), min = digits(text + 14, 2), sec = digits(text + 17, 2);
	if (rig_date_parse(day, &date) < 0 || hour > 23 || min > 59 || sec > 59)
		return rigi_fail(RIG_ERR_FORMAT, "time '%.40s': no such date or time of day", text);
	struct tm tm = {.tm_year = date.year - 1900, .tm_mon = date.month - 1, .tm_mday = date.day,
			.tm_hour = hour, .tm_min = min, .tm_sec = sec};
	*ms = (int64_t)timegm(&tm) * 1000 + digits(text + 20, 3);
	return 0;
}

int64_t rig_time_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int rig_run_id_make(int64_t ms, char *buf, size_t cap)
{
	struct tm tm;
	uint8_t r[3];
	int ret = ms_to_tm(ms, &tm);
	if (ret < 0)
		return ret;
	/* Two runs in one millisecond differ only by these bytes. */
	if ((ret = rigi_random_bytes(r, sizeof(r))) < 0)
		return ret;
	int n = snprintf(buf, cap, "%04d%02d%02dT%02d%02d%02d.%03dZ-%02x%02x%02x", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (int)(ms % 1000), r[0], r[1], r[2]);
	if (n < 0 || (size_t)n >= cap)
		return rigi_fail(RIG_ERR_RANGE, "run id: buffer of %zu bytes too small", cap);
	return 0;
}

int rig_record_new(struct rig_record **out)
{
	struct rig_record *rec;
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	rec = calloc(1, sizeof(*rec));
	if (!rec)
		return rigi_fail(RIG_ERR_NOMEM, "new run record: out of memory");
	rec->started_ms = rig_time_now_ms();
	rec->step_verdicts = 1;
	ret = rig_run_id_make(rec->started_ms, rec->run_id, sizeof(rec->run_id));
	if (ret < 0) {
		free(rec);
		return ret;
	}
	snprintf(rec->software_version, sizeof(rec->software_version), "%s", rig_version());
	rec->schema_version = 2;
	rec->read_back = -1;
	rec->outcome = RIG_OUTCOME_ERROR;
	snprintf(rec->reason, sizeof(rec->reason), "run did not finish");
	*out = rec;
	return 0;
}

void rig_record_free(struct rig_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->n_steps; i++) {
		free(rec->steps[i]->measurements);
		free(rec->steps[i]);
	}
	free(rec->steps);
	free(rec);
}

/* @p arr with room for element @p n (arrays grow in powers of two), or
 * NULL when out of memory (@p arr is then still valid). */
static void *grown(void *arr, size_t n, size_t size)
{
	if (n & (n - 1))
		return arr;
	return realloc(arr, (n ? 2 * n : 1) * size);
}

int rig_record_step_begin(struct rig_record *rec, const char *name, const char *type,
			  struct rig_record_step **out)
{
	struct rig_record_step **steps = grown(rec->steps, rec->n_steps, sizeof(*steps));
	struct rig_record_step *st;
	if (!steps)
		return rigi_fail(RIG_ERR_NOMEM, "run record: out of memory");
	rec->steps = steps;
	st = calloc(1, sizeof(*st));
	if (!st)
		return rigi_fail(RIG_ERR_NOMEM, "run record: out of memory");
	snprintf(st->name, sizeof(st->name), "%s", name ? name : "");
	snprintf(st->type, sizeof(st->type), "%s", type ? type : "");
	st->outcome = RIG_OUTCOME_ERROR;
	snprintf(st->reason, sizeof(st->reason), "step did not finish");
	st->started_ms = rig_time_now_ms();
	st->mono_start_ns = rig_clock_ns();
	rec->steps[rec->n_steps++] = st;
	if (out)
		*out = st;
	return 0;
}

int rig_record_step_verdict(const struct rig_record_step *step)
{
	for (size_t i = 0; i < step->n_measurements; i++)
		if (step->measurements[i].judged)
			return (int)rig_measurements_outcome(step->measurements,
							     step->n_measurements);
	return -1;
}

int rig_record_step_drifted(const struct rig_record_step *step)
{
	int v = strcmp(step->type, "as_found") == 0 ? rig_record_step_verdict(step) : -1;
	return v == RIG_OUTCOME_FAIL ? 1 : v == RIG_OUTCOME_PASS ? 0 : -1;
}

int rig_record_step_add(struct rig_record_step *step, const struct rig_measurement *m)
{
	struct rig_measurement *ms = grown(step->measurements, step->n_measurements, sizeof(*ms));
	if (!ms)
		return rigi_fail(RIG_ERR_NOMEM, "run record: out of memory");
	step->measurements = ms;
	step->measurements[step->n_measurements++] = *m;
	return 0;
}

void rig_record_step_end(struct rig_record_step *step, enum rig_outcome outcome,
			 const char *reason)
{
	step->outcome = outcome;
	snprintf(step->reason, sizeof(step->reason), "%s", reason ? reason : "");
	step->duration_s = (double)(rig_clock_ns() - step->mono_start_ns) / 1e9;
}

int rig_record_table_set(struct rig_record_table *out, const uint8_t *blob, size_t len,
			 uint8_t slot)
{
	struct rig_cal_table t;
	if (!blob || len > sizeof(out->bytes))
		return rigi_fail(RIG_ERR_FORMAT, "run record: a table of %zu bytes is not format 1",
				 len);
	/* The key is not needed to know what the knots are; the pen verifies
	 * the signature when it commits the table. */
	int ret = rig_cal_table_decode(blob, len, NULL, &t);
	if (ret < 0)
		return ret;
	out->slot = slot;
	out->len = len;
	memcpy(out->bytes, blob, len);
	out->decoded = t;
	return 0;
}

int rig_record_set_table(struct rig_record *rec, const uint8_t *blob, size_t len, uint8_t slot)
{
	int ret = rig_record_table_set(&rec->table, blob, len, slot);
	if (ret == 0)
		rec->has_table = 1;
	return ret;
}

void rig_record_set_safe_state(struct rig_record *rec, int confirmed, const char *detail)
{
	rec->safe_state_confirmed = confirmed != 0;
	snprintf(rec->safe_state_detail, sizeof(rec->safe_state_detail), "%s",
		 detail ? detail : "");
}

void rig_record_finish(struct rig_record *rec, enum rig_outcome outcome, const char *reason)
{
	enum rig_outcome steps = RIG_OUTCOME_ERROR;
	const char *worst = NULL;
	for (size_t i = 0; i < rec->n_steps; i++) {
		const struct rig_record_step *st = rec->steps[i];
		enum rig_outcome before = i ? steps : RIG_OUTCOME_PASS;
		steps = rig_outcome_combine(before, st->outcome);
		if (!worst || steps != before)
			worst = st->name;
	}
	enum rig_outcome final = rig_outcome_combine(outcome, steps);
	rec->ended_ms = rig_time_now_ms();
	rec->outcome = final;
	if (!reason)
		reason = "";
	if (final == outcome)
		snprintf(rec->reason, sizeof(rec->reason), "%s", reason);
	else if (!worst)
		snprintf(rec->reason, sizeof(rec->reason), "%s (raised from %s: no step ran)", reason,
			 rig_outcome_name(outcome));
	else
		snprintf(rec->reason, sizeof(rec->reason), "%s (raised from %s by step %s)", reason,
			 rig_outcome_name(outcome), worst);
}

static int safe_component(const char *s)
{
	size_t len = strlen(s);
	return len > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == len;
}

int rig_record_write(const struct rig_record *rec, const char *reports_dir, char *path,
		     size_t cap)
{
	char dir[4096], file[4200];
	char *json = NULL;
	int ret;

	if (!rec || !reports_dir || !*reports_dir)
		return rigi_fail(RIG_ERR_ARG, "rig_record_write: record and reports directory required");
	if (!safe_component(rec->unit.serial) || !safe_component(rec->run_id))
		return rigi_fail(RIG_ERR_ARG,
				 "run record: serial '%s' or run id '%s' is not usable as a folder "
				 "name (letters, digits, '-', '_', '.')",
				 rec->unit.serial, rec->run_id);
	int n = snprintf(dir, sizeof(dir), "%s/%s/%s", reports_dir, rec->unit.serial, rec->run_id);
	if (n < 0 || (size_t)n >= sizeof(dir))
		return rigi_fail(RIG_ERR_RANGE, "run record: reports path too long");
	snprintf(file, sizeof(file), "%s/record.json", dir);
	if (path && strlen(file) >= cap)
		return rigi_fail(RIG_ERR_RANGE, "run record: path buffer of %zu bytes too small", cap);
	ret = rigi_mkdir_p(dir);
	if (ret == 0)
		ret = rig_record_to_json(rec, &json);
	if (ret == 0)
		ret = rigi_atomic_write(file, json, strlen(json));
	free(json);
	if (ret < 0) {
		rigi_error_context("run %s: record", rec->run_id);
		return ret;
	}
	RIGI_INFO("record", "run %s: record written to %s", rec->run_id, file);
	if (path)
		snprintf(path, cap, "%s", file);
	return 0;
}

static int read_text(const char *path, char **out)
{
	struct stat st;
	char *text = NULL;
	FILE *f = fopen(path, "rb");
	int ret = 0;

	if (!f)
		return rigi_fail(errno == ENOENT ? RIG_ERR_NOT_FOUND : RIG_ERR_IO, "%s: %s", path,
				 strerror(errno));
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) ||
	    (uintmax_t)st.st_size > RECORD_FILE_MAX) {
		ret = rigi_fail(RIG_ERR_FORMAT, "%s: not a record file (not regular or over %u bytes)",
				path, RECORD_FILE_MAX);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	if (fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		ret = rigi_fail(RIG_ERR_IO, "%s: read error", path);
		goto out;
	}
	text[st.st_size] = '\0';
	*out = text;
	text = NULL;
out:
	free(text);
	fclose(f);
	return ret;
}

int rig_record_load(const char *path, struct rig_record **out)
{
	char *text = NULL;
	int ret;
	if (!path || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_record_load: path and out are required");
	ret = read_text(path, &text);
	if (ret == 0)
		ret = rig_record_from_json(text, path, out);
	free(text);
	return ret;
}
