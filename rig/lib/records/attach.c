/* The attachments of a run (docs/reports.md "Attachments"), kept by a sink
 * on the event stream while the run goes: strokes.csv holds every stroke
 * of every capture with units in its header; captures/ holds raw captures
 * as gzip'd CSV (the format of `rig daq capture`, which `rig analyze`, a
 * spreadsheet or pandas read back), listed in captures/index.csv. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>

#include "core/core.h"
#include "records/attach.h"
#include "records/records.h"

#define INDEX_HEADER "capture,step,step_name,label,file,seconds,rate_hz,samples,strokes,accepted\n"

void rigi_attach_init(struct rigi_attach *a, const struct rigi_evidence *ev,
		      enum rig_keep_captures keep)
{
	memset(a, 0, sizeof(*a));
	a->ev = ev;
	a->keep = keep;
	snprintf(a->run_id, sizeof(a->run_id), "%s", ev->run_id);
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_text(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, ",%.9g", v);
	else
		fputs(",", f);
}

static FILE *open_append(const struct rigi_attach *a, const char *name, const char *header)
{
	char path[RIGI_PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", a->ev->dir, name);
	FILE *f = fopen(path, "a");
	if (!f) {
		rigi_sys_fail(errno, "open", path);
		return NULL;
	}
	if (ftell(f) == 0)
		fputs(header, f);
	return f;
}

static int write_strokes(struct rigi_attach *a, const struct rig_ev_capture *c)
{
	const struct rig_analysis *an = c->analysis;
	if (!a->strokes && !(a->strokes = open_append(a, "strokes.csv", RIGI_STROKES_CSV_HEADER)))
		return RIG_ERR_IO;
	for (size_t i = 0; i < an->n_strokes; i++) {
		const struct rig_stroke *s = &an->strokes[i];
		fprintf(a->strokes, "%s,%u,", a->run_id, a->step);
		csv_text(a->strokes, a->step_name);
		fprintf(a->strokes, ",%u,", a->n_captures);
		csv_text(a->strokes, c->label ? c->label : "");
		fprintf(a->strokes, ",%zu,%s", i, rig_stroke_status_name(s->status));
		csv_num(a->strokes, s->t_peak_s);
		csv_num(a->strokes, s->protrusion_um);
		csv_num(a->strokes, s->period_s);
		csv_num(a->strokes, s->force_baseline_mn);
		csv_num(a->strokes, s->peak_force_mn);
		csv_num(a->strokes, s->contact_um);
		fprintf(a->strokes, ",%d", s->punctured);
		csv_num(a->strokes, s->puncture_force_mn);
		csv_num(a->strokes, s->puncture_um);
		csv_num(a->strokes, s->tenting_um);
		csv_num(a->strokes, s->penetration_um);
		fprintf(a->strokes, ",%d\n", s->status == RIG_STROKE_OK);
	}
	if (fflush(a->strokes) != 0)
		return rigi_sys_fail(errno, "write", "strokes.csv");
	return 0;
}

/* The capture as CSV text in memory: time_s, displacement, force. (Built
 * by hand rather than with open_memstream, whose sanitizer interceptor is
 * not safe with several nests' threads.) */
static char *capture_csv(const struct rig_capture *cap, const char *label, size_t *len)
{
	size_t row_max = 64, cap_bytes = 256 + strlen(label ? label : "") + cap->n * row_max;
	char *text = malloc(cap_bytes);
	size_t n = 0;
	if (!text)
		return NULL;
	/* The label is the step's own text (no line breaks): one comment line. */
	n += (size_t)snprintf(text, cap_bytes, "# needle-rig capture: %s\ntime_s,ch0_um%s\n",
			      label ? label : "", cap->force_mn ? ",ch1_mN" : "");
	for (size_t i = 0; i < cap->n && n < cap_bytes; i++) {
		int w = cap->force_mn
			? snprintf(text + n, cap_bytes - n, "%.9g,%.6g,%.6g\n",
				   (double)i / cap->rate_hz, cap->disp_um[i], cap->force_mn[i])
			: snprintf(text + n, cap_bytes - n, "%.9g,%.6g\n",
				   (double)i / cap->rate_hz, cap->disp_um[i]);
		if (w < 0 || (size_t)w >= cap_bytes - n) {
			free(text);
			return NULL;
		}
		n += (size_t)w;
	}
	*len = n;
	return text;
}

static int keep_capture(struct rigi_attach *a, const struct rig_ev_capture *c)
{
	char dir[RIGI_PATH_MAX + 16], name[128], path[RIGI_PATH_MAX + 160];
	void *gz = NULL;
	size_t len = 0, gz_len = 0;
	char *csv = capture_csv(c->capture, c->label, &len);
	int ret = csv ? 0 : rigi_fail(RIG_ERR_NOMEM, "capture %u: out of memory", a->n_captures);
	snprintf(dir, sizeof(dir), "%s/captures", a->ev->dir);
	snprintf(name, sizeof(name), "%03u-%.60s.csv.gz", a->n_captures, a->step_name);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (ret == 0)
		ret = rigi_mkdir_p(dir);
	if (ret == 0)
		ret = rigi_gzip(csv, len, 6, &gz, &gz_len);
	if (ret == 0)
		ret = rigi_atomic_write(path, gz, gz_len);
	free(csv);
	free(gz);
	FILE *idx = ret == 0 ? open_append(a, "captures/index.csv", INDEX_HEADER) : NULL;
	if (ret == 0 && !idx)
		ret = RIG_ERR_IO;
	if (idx) {
		fprintf(idx, "%u,%u,", a->n_captures, a->step);
		csv_text(idx, a->step_name);
		fputc(',', idx);
		csv_text(idx, c->label ? c->label : "");
		fprintf(idx, ",%s,%.6g,%u,%llu,%llu,%llu\n", name, c->seconds, c->rate_hz,
			(unsigned long long)c->samples, (unsigned long long)c->strokes,
			(unsigned long long)c->accepted);
		if (fclose(idx) != 0)
			ret = rigi_sys_fail(errno, "write", "captures/index.csv");
	}
	return ret;
}

static int measuring_step(const char *type)
{
	return !strcmp(type, "as_found") || !strcmp(type, "as_left") ||
	       !strcmp(type, "depth_sweep") || !strcmp(type, "rate_sweep") ||
	       !strcmp(type, "run_in");
}

int rigi_attach_sink(const struct rig_event *ev, void *user)
{
	struct rigi_attach *a = user;
	int ret = 0;
	if (ev->type == RIG_EV_STEP_BEGIN) {
		a->step = ev->u.step_begin.index;
		snprintf(a->step_name, sizeof(a->step_name), "%s", ev->u.step_begin.name);
		snprintf(a->step_type, sizeof(a->step_type), "%s", ev->u.step_begin.type);
		a->kept_in_step = 0;
		return 0;
	}
	if (ev->type != RIG_EV_CAPTURE || !ev->u.capture.analysis || !ev->u.capture.capture)
		return 0;
	ret = write_strokes(a, &ev->u.capture);
	if (ret == 0 && (a->keep == RIG_KEEP_CAPTURES_ALL ||
			 (a->keep == RIG_KEEP_CAPTURES_FIRST && !a->kept_in_step &&
			  measuring_step(a->step_type)))) {
		ret = keep_capture(a, &ev->u.capture);
		a->kept_in_step = 1;
	}
	a->n_captures++;
	return ret;
}

void rigi_attach_close(struct rigi_attach *a)
{
	if (a->strokes)
		fclose(a->strokes);
	a->strokes = NULL;
}
