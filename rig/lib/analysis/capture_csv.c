/* Reader of the capture CSV written by `rig daq capture` (docs/analysis.md
 * §6): a header `time_s,ch<N>_<unit>,...`, then one row of numbers per
 * sample. Picks the displacement (um) and force (mN) columns by unit or by
 * name; every error names file:line:column and what was expected. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>

#include "core/core.h"

#define MAX_COLUMNS 64
#define NUM_MAX 64
#define RATE_TOLERANCE 0.01 /* --rate against the time column */
#define STEP_TOLERANCE 0.25 /* each time step against the first one */
/* Time steps outside these make rate_hz meaningless (inf, 0, or beyond any
 * DAQ): 1 ns..1e4 s per sample, i.e. 1e9 Hz down to 1e-4 Hz. */
#define STEP_MIN_S 1e-9
#define STEP_MAX_S 1e4
/* A step must span this many units in the last place of its timestamp, or
 * the timestamps are too large for their step to be resolved. */
#define STEP_MIN_ULPS 64

struct column {
	char name[RIG_CAPTURE_NAME_MAX];
	const char *unit; /* points into name; NULL for time_s */
	size_t chan_len;  /* length of "ch<N>" */
};

struct reader {
	const char *path;
	FILE *f;
	char *gz_text;    /* the decompressed file behind f, for a .gz capture */
	char *line;
	size_t cap;
	size_t lineno;
	size_t n_cols;
	struct column col[MAX_COLUMNS];
	int time_col, disp_col, force_col; /* -1: none */
	/* samples read so far */
	size_t n, alloc;
	double *disp, *force;
	double t0, t_prev, dt0;
};

/* Next non-empty, non-comment line without its line ending; 0 at EOF. */
static int next_line(struct reader *r, int *err)
{
	ssize_t len;
	*err = 0;
	while ((len = getline(&r->line, &r->cap, r->f)) >= 0) {
		r->lineno++;
		while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
			r->line[--len] = '\0';
		if (len > 0 && r->line[0] != '#')
			return 1;
	}
	if (ferror(r->f))
		*err = rigi_fail(RIG_ERR_IO, "%s:%zu: read failed: %s", r->path, r->lineno + 1,
				 strerror(errno));
	return 0;
}

/* Split off the field starting at line[*pos]: *start and *len without
 * surrounding blanks, *pos moved past it and its comma. Returns 1 when a
 * comma followed (another field comes), else 0. */
static int field(const char *line, size_t *pos, const char **start, size_t *len)
{
	const char *s = line + *pos;
	const char *comma = strchr(s, ',');
	size_t n = comma ? (size_t)(comma - s) : strlen(s);
	*pos += n + (comma ? 1 : 0);
	while (n > 0 && (*s == ' ' || *s == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	*start = s;
	*len = n;
	return comma != NULL;
}

static int parse_column_name(const char *s, size_t len, struct column *c)
{
	size_t i = 2;
	if (len >= sizeof(c->name))
		return -1;
	memcpy(c->name, s, len);
	c->name[len] = '\0';
	if (!strcmp(c->name, "time_s"))
		return 0;
	if (len < 5 || strncmp(s, "ch", 2) || s[2] < '0' || s[2] > '9')
		return -1;
	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i + 1 >= len || s[i] != '_')
		return -1;
	c->chan_len = i;
	c->unit = c->name + i + 1;
	for (const char *u = c->unit; *u; u++)
		if (!((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z')))
			return -1;
	return 0;
}

static int add_column(struct reader *r, const char *s, size_t len)
{
	size_t colno = (size_t)(s - r->line) + 1;
	struct column *c = &r->col[r->n_cols];

	if (r->n_cols == MAX_COLUMNS)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected at most %d columns",
				 r->path, r->lineno, colno, MAX_COLUMNS);
	if (parse_column_name(s, len, c) < 0)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected a column name time_s or "
				 "ch<N>_<unit> (e.g. ch0_um), found '%.*s'", r->path, r->lineno,
				 colno, (int)(len > 40 ? 40 : len), s);
	for (size_t k = 0; k < r->n_cols; k++)
		if (!strcmp(r->col[k].name, c->name))
			return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected each column once, "
					 "found '%s' again", r->path, r->lineno, colno, c->name);
	if (!c->unit)
		r->time_col = (int)r->n_cols;
	r->n_cols++;
	return 0;
}

static int read_header(struct reader *r)
{
	size_t pos = 0, len;
	const char *s;
	int err, more = 1;

	if (!next_line(r, &err))
		return err ? err : rigi_fail(RIG_ERR_FORMAT, "%s:%zu:1: expected a header line "
					     "(e.g. time_s,ch0_um,ch1_mN), found end of file",
					     r->path, r->lineno + 1);
	r->time_col = -1;
	while (more) {
		more = field(r->line, &pos, &s, &len);
		if ((err = add_column(r, s, len)) < 0)
			return err;
	}
	return 0;
}

static int matches(const struct column *c, const char *want)
{
	return c->unit && (!strcmp(c->name, want) ||
			   (strlen(want) == c->chan_len && !strncmp(c->name, want, c->chan_len)));
}

/* Column named @p want, or else the only one with unit @p unit. -1 when
 * there is none and @p required is 0. */
static int pick_column(struct reader *r, const char *want, const char *unit, const char *what,
		       const char *option, int required, int *out)
{
	int found = -1;
	for (size_t k = 0; k < r->n_cols; k++) {
		const struct column *c = &r->col[k];
		int hit = want ? matches(c, want) : c->unit && !strcmp(c->unit, unit);
		if (!hit)
			continue;
		if (found >= 0)
			return rigi_fail(RIG_ERR_ARG, "%s: several %s columns (%s, %s): choose one "
					 "with %s", r->path, what, r->col[found].name, c->name,
					 option);
		found = (int)k;
	}
	if (found < 0 && (want || required))
		return rigi_fail(RIG_ERR_ARG, "%s: no %s column %s%s%s: the header has other "
				 "columns; name one with %s", r->path, what, want ? "'" : "(unit ",
				 want ? want : unit, want ? "'" : ")", option);
	*out = found;
	return 0;
}

static int grow(struct reader *r)
{
	size_t na = r->alloc ? r->alloc * 2 : 4096;
	double *d = realloc(r->disp, na * sizeof(*d));
	if (!d)
		return rigi_fail(RIG_ERR_NOMEM, "%s: no memory for %zu samples", r->path, na);
	r->disp = d;
	if (r->force_col >= 0) {
		double *f = realloc(r->force, na * sizeof(*f));
		if (!f)
			return rigi_fail(RIG_ERR_NOMEM, "%s: no memory for %zu samples", r->path, na);
		r->force = f;
	}
	r->alloc = na;
	return 0;
}

static int parse_number(struct reader *r, const char *s, size_t len, size_t colno, double *v)
{
	char buf[NUM_MAX];
	char *end;
	if (len == 0 || len >= sizeof(buf))
		goto bad;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	*v = strtod(buf, &end);
	if (!*end && errno == ERANGE && fabs(*v) < 1)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected 0 or a number of magnitude "
				 "at least %g, found '%.*s' (too small for a double: denormal)",
				 r->path, r->lineno, colno, DBL_MIN, (int)(len > 40 ? 40 : len), s);
	if (*end || errno == ERANGE || !isfinite(*v))
		goto bad;
	return 0;
bad:
	return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected a finite number, found '%.*s'",
			 r->path, r->lineno, colno, (int)(len > 40 ? 40 : len), s);
}

/* Time must grow by about the same step on every row (uniform sampling). */
static int check_time(struct reader *r, double t)
{
	if (r->n == 0) {
		r->t0 = r->t_prev = t;
		return 0;
	}
	double dt = t - r->t_prev;
	if (!(dt > 0))
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%d: expected time_s to increase, found "
				 "%g after %g", r->path, r->lineno, 1 + r->time_col, t, r->t_prev);
	if (dt < STEP_MIN_S || dt > STEP_MAX_S)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%d: expected a time step of %g..%g s, "
				 "found %g s (%.17g after %.17g): the sample rate would be %g Hz",
				 r->path, r->lineno, 1 + r->time_col, STEP_MIN_S, STEP_MAX_S, dt, t,
				 r->t_prev, 1 / dt);
	if (dt < STEP_MIN_ULPS * (nextafter(fabs(t), INFINITY) - fabs(t)))
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%d: expected timestamps small enough to "
				 "resolve their step, found a step of %g s at %.17g s (double "
				 "resolution there %g s); write time_s from the start of the capture",
				 r->path, r->lineno, 1 + r->time_col, dt, t,
				 nextafter(fabs(t), INFINITY) - fabs(t));
	if (r->n == 1)
		r->dt0 = dt;
	if (fabs(dt - r->dt0) > STEP_TOLERANCE * r->dt0)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%d: expected time_s to grow by about "
				 "%g s per row (uniform sampling), found a step of %g s",
				 r->path, r->lineno, 1 + r->time_col, r->dt0, dt);
	r->t_prev = t;
	return 0;
}

static int read_row(struct reader *r)
{
	size_t pos = 0, len, k;
	const char *s;
	double t = 0, v = 0;
	int ret, more = 1;

	if (r->n == r->alloc && (ret = grow(r)) < 0)
		return ret;
	for (k = 0; more && k < r->n_cols; k++) {
		more = field(r->line, &pos, &s, &len);
		if ((ret = parse_number(r, s, len, (size_t)(s - r->line) + 1, &v)) < 0)
			return ret;
		if ((int)k == r->time_col)
			t = v;
		if ((int)k == r->disp_col)
			r->disp[r->n] = v;
		if ((int)k == r->force_col)
			r->force[r->n] = v;
	}
	if (k < r->n_cols || more)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:%zu: expected %zu fields as in the "
				 "header, found %s", r->path, r->lineno, pos + 1, r->n_cols,
				 k < r->n_cols ? "fewer" : "more");
	if (r->time_col >= 0 && (ret = check_time(r, t)) < 0)
		return ret;
	r->n++;
	return 0;
}

static int sample_rate(struct reader *r, const struct rig_capture_csv_options *opt,
		       double *rate)
{
	double want = opt ? opt->rate_hz : 0;
	if (opt && opt->rate_hz != 0 && !(want >= 1 / STEP_MAX_S && want <= 1 / STEP_MIN_S))
		return rigi_fail(RIG_ERR_ARG, "%s: expected a sample rate of %g..%g Hz, given %g",
				 r->path, 1 / STEP_MAX_S, 1 / STEP_MIN_S, want);
	if (r->time_col < 0) {
		if (!(want > 0))
			return rigi_fail(RIG_ERR_ARG, "%s: no time_s column: give the sample rate "
					 "(--rate HZ)", r->path);
		*rate = want;
		return 0;
	}
	*rate = (double)(r->n - 1) / (r->t_prev - r->t0);
	if (want > 0 && fabs(*rate / want - 1) > RATE_TOLERANCE)
		return rigi_fail(RIG_ERR_ARG, "%s: the time_s column gives %.6g Hz but the rate "
				 "given is %.6g Hz; drop --rate or check the file", r->path,
				 *rate, want);
	return 0;
}

static int read_rows(struct reader *r)
{
	int err, ret;
	while (next_line(r, &err))
		if ((ret = read_row(r)) < 0)
			return ret;
	if (err)
		return err;
	if (r->n < 2)
		return rigi_fail(RIG_ERR_FORMAT, "%s:%zu:1: expected at least 2 rows of samples, "
				 "found %zu", r->path, r->lineno + 1, r->n);
	return 0;
}

/* A capture kept with a run is gzip'd (".csv.gz"): read it whole, then
 * parse it from memory like any file. */
static int open_gzip(struct reader *r)
{
	size_t len = 0;
	int ret = rigi_gunzip_file(r->path, &r->gz_text, &len, (size_t)1 << 30);
	if (ret < 0)
		return ret;
	r->f = fmemopen(r->gz_text, len ? len : 1, "r");
	if (!r->f)
		return rigi_fail(RIG_ERR_NOMEM, "%s: cannot read it from memory", r->path);
	return 0;
}

static int open_file(struct reader *r)
{
	size_t n = strlen(r->path);
	if (n > 3 && strcmp(r->path + n - 3, ".gz") == 0)
		return open_gzip(r);
	r->f = fopen(r->path, "r");
	if (r->f)
		return 0;
	int e = errno;
	return rigi_fail(e == ENOENT ? RIG_ERR_NOT_FOUND : e == EACCES ? RIG_ERR_PERMISSION
								      : RIG_ERR_IO,
			 "%s: cannot open: %s; check the path", r->path, strerror(e));
}

static int make_capture(struct reader *r, double rate, struct rig_capture **out)
{
	struct rig_capture *cap = calloc(1, sizeof(*cap));
	if (!cap)
		return rigi_fail(RIG_ERR_NOMEM, "%s: no memory", r->path);
	cap->rate_hz = rate;
	cap->n = r->n;
	cap->disp_um = r->disp;
	cap->force_mn = r->force;
	r->disp = r->force = NULL;
	memcpy(cap->disp_name, r->col[r->disp_col].name, sizeof(cap->disp_name));
	if (r->force_col >= 0)
		memcpy(cap->force_name, r->col[r->force_col].name, sizeof(cap->force_name));
	*out = cap;
	return 0;
}

int rig_capture_read_csv(const char *path, const struct rig_capture_csv_options *opt,
			 struct rig_capture **out)
{
	struct reader r = {.path = path, .force_col = -1, .disp_col = -1};
	double rate = 0;
	int ret;

	*out = NULL;
	if (!path)
		return rigi_fail(RIG_ERR_ARG, "capture: no file name");
	ret = open_file(&r);
	if (ret == 0)
		ret = read_header(&r);
	if (ret == 0)
		ret = pick_column(&r, opt ? opt->disp_column : NULL, "um", "displacement",
				  "--disp", 1, &r.disp_col);
	if (ret == 0)
		ret = pick_column(&r, opt ? opt->force_column : NULL, "mN", "force", "--force", 0,
				  &r.force_col);
	if (ret == 0 && r.force_col == r.disp_col)
		ret = rigi_fail(RIG_ERR_ARG, "%s: the displacement and force columns are both "
				"'%s'", path, r.col[r.disp_col].name);
	if (ret == 0)
		ret = read_rows(&r);
	if (ret == 0)
		ret = sample_rate(&r, opt, &rate);
	if (ret == 0)
		ret = make_capture(&r, rate, out);
	if (r.f)
		fclose(r.f);
	free(r.gz_text);
	free(r.line);
	free(r.disp);
	free(r.force);
	return ret;
}
