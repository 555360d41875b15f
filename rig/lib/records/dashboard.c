/* The line dashboard of the results store (`rig results report --html`,
 * docs/store.md "Dashboard"): one self-contained HTML page of the
 * statistics of many runs, for the process engineer's morning look at a
 * line. Inline CSS, charts as inline SVG drawn by plot.c, no script, no
 * external resource. First the selection, counts per outcome and the
 * yields; then a table of every judged measurand (mean, sd, Cp/Cpk,
 * Pp/Ppk with their intervals, points per Nelson rule); then per
 * measurand an individuals chart (centre, control limits, tolerance, the
 * points a rule flagged marked apart) and a moving-range chart, with the
 * runs that broke each rule listed below. A long series is drawn by its
 * latest DASH_MAX_POINTS points so the page stays small; every figure is
 * computed over all points. Text from the store (step and measurand
 * names, run ids, the title) is HTML-escaped. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/store.h>

#include "core/core.h"
#include "records/plot.h"
#include "records/records.h"

/* Points drawn per chart: enough to see a drift, small enough that a
 * page of many measurands over 100,000 runs stays a few megabytes. */
#define DASH_MAX_POINTS 2000
/* Run ids listed per rule below a chart. */
#define DASH_MAX_RUN_IDS 10

/* ---- the page being written (as html.c) ---- */

struct dash {
	char *p;
	size_t len, cap;
	int oom;
	int err;          /* first fatal error (out of memory) */
	unsigned n_plots;
	const struct rig_store_stats *st;
};

static void putn(struct dash *h, const char *s, size_t n)
{
	if (h->oom)
		return;
	if (h->len + n + 1 > h->cap) {
		size_t cap = h->cap ? h->cap : 262144;
		while (cap < h->len + n + 1)
			cap *= 2;
		char *p = realloc(h->p, cap);
		if (!p) {
			h->oom = 1;
			return;
		}
		h->p = p;
		h->cap = cap;
	}
	memcpy(h->p + h->len, s, n);
	h->len += n;
	h->p[h->len] = '\0';
}

static void put(struct dash *h, const char *s)
{
	putn(h, s, strlen(s));
}

/* Formatted markup of our own; never pass store text here (use esc). */
__attribute__((format(printf, 2, 3))) static void putf(struct dash *h, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		putn(h, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Text as HTML character data or attribute value: & < > " ' escaped. */
static void esc(struct dash *h, const char *s)
{
	const char *run = s;
	for (; *s; s++) {
		const char *e = *s == '&'   ? "&amp;"
				: *s == '<'  ? "&lt;"
				: *s == '>'  ? "&gt;"
				: *s == '"'  ? "&quot;"
				: *s == '\'' ? "&#39;"
					     : NULL;
		if (!e)
			continue;
		putn(h, run, (size_t)(s - run));
		put(h, e);
		run = s + 1;
	}
	putn(h, run, (size_t)(s - run));
}

/* Text formatted, then escaped as a whole: the arguments may be store
 * text. */
__attribute__((format(printf, 2, 3))) static void escf(struct dash *h, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc(h, buf);
}

/* @p v with 4 significant digits, "—" when not finite. */
static const char *num(char *buf, size_t cap, double v)
{
	if (!isfinite(v))
		snprintf(buf, cap, "—");
	else
		snprintf(buf, cap, "%.4g", v);
	return buf;
}

/* A ratio as a percentage with two decimals, "—" when there is none. */
static const char *pct(char *buf, size_t cap, double v)
{
	if (!isfinite(v))
		snprintf(buf, cap, "—");
	else
		snprintf(buf, cap, "%.2f %%", 100 * v);
	return buf;
}

/* ---- the head, the selection and the yield ---- */

static const char css[] =
	"*{box-sizing:border-box}"
	"body{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:13px;color:#222;margin:0;"
	"background:#fff}"
	"main{max-width:1100px;margin:0 auto;padding:16px 20px 40px}"
	"h1{font-size:20px;margin:18px 0 6px}h2{font-size:17px;margin:26px 0 8px;"
	"border-bottom:2px solid #ccc;padding-bottom:3px}h3{font-size:14px;margin:20px 0 6px}"
	".note{color:#555;font-style:italic}"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:6px 0}"
	"dl.facts dt{font-weight:bold;color:#444}dl.facts dd{margin:0;overflow-wrap:anywhere}"
	"table{border-collapse:collapse;margin:6px 0 10px;font-size:12px}"
	"th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
	"th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	"td.o{font-weight:bold;color:#fff;text-align:center;white-space:nowrap;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	".pass{background:#1b7a2f}.fail{background:#c61e1e}.indet{background:#d98000}"
	".error{background:#595961}.aborted{background:#664799}"
	"td.hit{background:#fdecec;color:#c61e1e;font-weight:bold}"
	".mono{font-family:'DejaVu Sans Mono',monospace;font-size:11px;overflow-wrap:anywhere}"
	"figure.plot{margin:6px 0;break-inside:avoid}figure.plot svg{width:100%;height:auto;"
	"display:block}figcaption{font-size:11px;color:#444;margin-top:2px}"
	"ul.rules{margin:4px 0 12px;padding-left:22px}ul.rules li{margin:2px 0}"
	"section.measurand{break-inside:avoid-page}"
	"footer{margin-top:30px;font-size:11px;color:#666;border-top:1px solid #ccc;"
	"padding-top:6px}"
	"@page{size:A4;margin:12mm}@media print{main{max-width:none;padding:0}}";

static void head(struct dash *h, const char *title)
{
	put(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	escf(h, "Line dashboard — %s", title);
	put(h, "</title>\n<style>");
	put(h, css);
	put(h, "</style>\n</head>\n<body>\n<main>\n<h1>");
	escf(h, "Line dashboard — %s", title);
	put(h, "</h1>\n");
}

static void fact(struct dash *h, const char *id, const char *what, const char *text)
{
	put(h, "<dt>");
	esc(h, what);
	if (id)
		putf(h, "</dt><dd id=\"%s\">", id);
	else
		put(h, "</dt><dd>");
	esc(h, text);
	put(h, "</dd>\n");
}

/* Which runs: their count and the first and last (run ids start with
 * their start time, so they say the period too). */
static void selection(struct dash *h)
{
	const struct rig_store_stats *st = h->st;
	char buf[400];
	put(h, "<h2 id=\"selection\">Selection</h2>\n<dl class=\"facts\">\n");
	snprintf(buf, sizeof(buf), "%zu", st->n_runs);
	fact(h, "runs", "Runs", buf);
	if (st->n_runs) {
		snprintf(buf, sizeof(buf), "%s … %s", st->run_ids[0], st->run_ids[st->n_runs - 1]);
		fact(h, NULL, "First … last run", buf);
	}
	snprintf(buf, sizeof(buf), "%zu (%zu with a judged run)", st->yield.units,
		 st->yield.units_judged);
	fact(h, NULL, "Units", buf);
	snprintf(buf, sizeof(buf), "%zu", st->n_measurands);
	fact(h, NULL, "Judged measurands", buf);
	put(h, "</dl>\n");
}

static void outcomes(struct dash *h)
{
	static const char *const cls[] = {"pass", "fail", "indet", "error", "aborted"};
	const struct rig_spc_yield *y = &h->st->yield;
	put(h, "<table id=\"outcomes\">\n<tr>");
	for (int o = 0; o < 5; o++)
		putf(h, "<th>%s</th>", rig_outcome_name((enum rig_outcome)o));
	put(h, "</tr>\n<tr>");
	for (int o = 0; o < 5; o++)
		putf(h, "<td class=\"o %s\">%zu</td>", cls[o], y->per_outcome[o]);
	put(h, "</tr>\n</table>\n");
}

static void yields(struct dash *h)
{
	const struct rig_spc_yield *y = &h->st->yield;
	char a[32], b[32], c[32], buf[200];
	put(h, "<h2 id=\"yield\">Outcomes and yield</h2>\n");
	outcomes(h);
	put(h, "<dl class=\"facts\">\n");
	fact(h, "fpy", "First-pass yield", pct(a, sizeof(a), y->fpy));
	snprintf(buf, sizeof(buf), "%s … %s (Wilson score); %zu of %zu judged units passed their "
		 "first judged run", pct(b, sizeof(b), y->fpy_low), pct(c, sizeof(c), y->fpy_high),
		 y->first_pass, y->units_judged);
	fact(h, "fpy-ci", "95 % interval", buf);
	snprintf(buf, sizeof(buf), "%s (%zu units whose last judged run passed)",
		 pct(a, sizeof(a), y->final_yield), y->final_pass);
	fact(h, "final-yield", "Final yield", buf);
	snprintf(buf, sizeof(buf), "%s (%zu of %zu units ran more than once)",
		 pct(a, sizeof(a), y->retest_rate), y->units_retested, y->units);
	fact(h, "retest", "Retest rate", buf);
	put(h, "</dl>\n");
}

/* ---- the table of measurands ---- */

static void num_cell(struct dash *h, double v)
{
	char buf[32];
	putf(h, "<td class=\"n\">%s</td>", num(buf, sizeof(buf), v));
}

/* "1.23 [1.10, 1.36]" */
static void ci_cell(struct dash *h, double v, double lo, double hi)
{
	char a[32], b[32], c[32];
	putf(h, "<td class=\"n\">%s [%s, %s]</td>", num(a, sizeof(a), v), num(b, sizeof(b), lo),
	     num(c, sizeof(c), hi));
}

static void measurand_row(struct dash *h, size_t k)
{
	const struct rig_store_measurand *m = &h->st->measurands[k];
	const struct rig_spc_capability *c = &m->capability;
	putf(h, "<tr class=\"measurand\"><td><a href=\"#m%zu\">", k + 1);
	esc(h, m->step);
	put(h, "</a></td><td>");
	esc(h, m->name);
	putf(h, "</td><td class=\"n\">%zu</td>", m->n);
	num_cell(h, c->mean);
	num_cell(h, c->sd);
	put(h, "<td>");
	esc(h, rigi_report_unit(m->unit));
	put(h, "</td>");
	num_cell(h, c->cp);
	ci_cell(h, c->cpk, c->cpk_low, c->cpk_high);
	num_cell(h, c->pp);
	ci_cell(h, c->ppk, c->ppk_low, c->ppk_high);
	for (int b = 0; b < 4; b++)
		putf(h, "<td class=\"n%s\">%zu</td>", m->chart.broken[b] ? " hit" : "",
		     m->chart.broken[b]);
	put(h, "</tr>\n");
}

static void measurand_table(struct dash *h)
{
	put(h, "<h2 id=\"measurands\">Measurands</h2>\n<p>Every judged measurand with both "
	       "limits, over its values in start order. Cp, Cpk from σ within (mean moving range "
	       "/ 1.128), Pp, Ppk from the overall s; brackets: 95 % intervals (Bissell). R1–R4: "
	       "points flagged by Nelson rules 1–4.</p>\n<table id=\"measurand-table\">\n<tr>"
	       "<th>Step</th><th>Measurand</th><th>n</th><th>Mean</th><th>s</th><th>Unit</th>"
	       "<th>Cp</th><th>Cpk [95 %]</th><th>Pp</th><th>Ppk [95 %]</th><th>R1</th><th>R2</th>"
	       "<th>R3</th><th>R4</th></tr>\n");
	for (size_t k = 0; k < h->st->n_measurands; k++)
		measurand_row(h, k);
	if (!h->st->n_measurands)
		put(h, "<tr><td colspan=\"14\" class=\"note\">no judged measurand in these "
		       "runs</td></tr>\n");
	put(h, "</table>\n");
}

/* ---- the charts of a measurand ---- */

/* The drawn window of a series (its latest points) as plot arrays. */
struct window {
	size_t first, n;       /* points [first, first + n) of the series */
	double *x, *y;         /* n: point number (from 1) and value */
	double *fx, *fy;       /* nf flagged points */
	size_t nf;
	double *mx, *my;       /* n - 1 moving ranges, at the later point */
	size_t nm;
	double lx[2];          /* ends of the horizontal lines */
};

static int window_build(struct window *w, const struct rig_store_measurand *m)
{
	w->n = m->n < DASH_MAX_POINTS ? m->n : DASH_MAX_POINTS;
	w->first = m->n - w->n;
	w->x = malloc(6 * (w->n + 1) * sizeof(double));
	if (!w->x)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory for a chart of the dashboard");
	w->y = w->x + w->n + 1;
	w->fx = w->y + w->n + 1;
	w->fy = w->fx + w->n + 1;
	w->mx = w->fy + w->n + 1;
	w->my = w->mx + w->n + 1;
	w->nf = w->nm = 0;
	for (size_t i = 0; i < w->n; i++) {
		size_t j = w->first + i;
		w->x[i] = (double)(j + 1);
		w->y[i] = m->values[j];
		if (m->chart.rules && m->chart.rules[j]) {
			w->fx[w->nf] = w->x[i];
			w->fy[w->nf++] = w->y[i];
		}
		if (j > 0) { /* the first drawn point's range is from the point before it */
			w->mx[w->nm] = w->x[i];
			w->my[w->nm++] = fabs(m->values[j] - m->values[j - 1]);
		}
	}
	w->lx[0] = w->x[0] - 0.5;
	w->lx[1] = w->x[w->n - 1] + 0.5;
	return 0;
}

static const struct rigi_rgba c_point = {0.12, 0.35, 0.65, 1}, c_flag = {0.85, 0.10, 0.10, 1},
			      c_centre = {0.10, 0.55, 0.20, 1}, c_limit = {0.80, 0.20, 0.10, 1},
			      c_tol = {0.90, 0.55, 0.0, 1}, c_trace = {0.60, 0.68, 0.80, 1};

/* The plain points of a chart, as one path: small squares, or for a long
 * series vertical ticks (a quarter of the bytes a square takes in the
 * SVG, and a page over 2,000 points stays small). */
static struct rigi_series points(const char *legend, const double *x, const double *y, size_t n)
{
	struct rigi_series s = n > 500 ? rigi_points(legend, x, y, n, c_point, 3, RIGI_MARK_VBAR)
				       : rigi_points(legend, x, y, n, c_point, 4, RIGI_MARK_SQUARE);
	s.merged = 1;
	return s;
}

/* A horizontal line at @p v over the window (@p yv: 2 doubles it keeps). */
static struct rigi_series hline(const char *legend, const struct window *w, double *yv, double v,
				struct rigi_rgba color, int dashed)
{
	yv[0] = yv[1] = v;
	struct rigi_series s = rigi_line(legend, w->lx, yv, 2, color, 1.2);
	s.dashed = dashed;
	return s;
}

static void individuals_draw(struct rigi_canvas *c, const struct rig_store_measurand *m,
			     const struct window *w, double *yv)
{
	const struct rig_spc_chart *ch = &m->chart;
	char yl[64];
	struct rigi_series s[8];
	size_t n = 0;
	if (w->n <= 500) /* a trace helps the eye over few points, and is bytes over many */
		s[n++] = rigi_line(NULL, w->x, w->y, w->n, c_trace, 0.6);
	s[n++] = points("value", w->x, w->y, w->n);
	s[n++] = rigi_points("flagged by a Nelson rule", w->fx, w->fy, w->nf, c_flag, 7,
			     RIGI_MARK_DIAMOND);
	s[n - 1].merged = 1; /* a drift flags hundreds of points in a row */
	s[n++] = hline("centre", w, yv, ch->center, c_centre, 0);
	s[n++] = hline("UCL / LCL (±3σ)", w, yv + 2, ch->ucl, c_limit, 1);
	s[n++] = hline(NULL, w, yv + 4, ch->lcl, c_limit, 1);
	if (isfinite(m->low))
		s[n++] = hline("tolerance", w, yv + 6, m->low, c_tol, 0);
	if (isfinite(m->high))
		s[n++] = hline(isfinite(m->low) ? NULL : "tolerance", w, yv + 8, m->high, c_tol, 0);
	snprintf(yl, sizeof(yl), "%s (%s)", m->quantity, rigi_report_unit(m->unit));
	/* No title in the picture: the section's heading names it, and every
	 * distinct glyph costs its outline in each SVG. */
	struct rigi_plot p = {.y_label = yl, .x_min = w->lx[0], .x_max = w->lx[1],
			      .y_min = NAN, .y_max = NAN, .series = s, .n_series = n,
			      .font_size = 11};
	rigi_plot_draw(c, &p, 4, 4, 992, 300);
}

static void moving_range_draw(struct rigi_canvas *c, const struct rig_store_measurand *m,
			      const struct window *w, double *yv)
{
	char yl[64];
	struct rigi_series s[4] = {
		points("moving range", w->mx, w->my, w->nm),
		rigi_line(NULL, w->mx, w->my, w->n <= 500 ? w->nm : 0, c_trace, 0.6),
		hline("MR mean", w, yv, m->chart.mr_mean, c_centre, 0),
		hline("MR UCL (3.267 MR mean)", w, yv + 2, m->chart.mr_ucl, c_limit, 1)};
	snprintf(yl, sizeof(yl), "MR (%s)", rigi_report_unit(m->unit));
	struct rigi_plot p = {.x_label = "point (run, in start order)",
			      .y_label = yl, .x_min = w->lx[0], .x_max = w->lx[1], .y_min = 0,
			      .y_max = NAN, .series = s, .n_series = 4, .font_size = 11};
	rigi_plot_draw(c, &p, 4, 308, 992, 210);
}

/* Append the finished picture @p c as a figure with @p caption (escaped).
 * A picture that cannot be drawn is said in the page; only running out of
 * memory fails the dashboard. */
static void figure(struct dash *h, struct rigi_canvas *c, const char *caption)
{
	char prefix[16], *svg = NULL;
	size_t len = 0;
	snprintf(prefix, sizeof(prefix), "p%u-", ++h->n_plots);
	int ret = rigi_canvas_finish(c, prefix, &svg, &len);
	if (ret < 0) {
		if (ret == RIG_ERR_NOMEM && !h->err)
			h->err = ret;
		RIGI_WARN("report", "a chart of the dashboard failed: %s", rig_last_error());
		put(h, "<p class=\"note\">");
		escf(h, "This chart could not be drawn: %s", rig_last_error());
		put(h, "</p>\n");
		return;
	}
	put(h, "<figure class=\"plot\">\n");
	putn(h, svg, len);
	put(h, "<figcaption>");
	esc(h, caption);
	put(h, "</figcaption>\n</figure>\n");
	free(svg);
}

static void charts(struct dash *h, const struct rig_store_measurand *m)
{
	struct window w;
	struct rigi_canvas *c = NULL;
	double yv[10];
	char cap[400];
	if (window_build(&w, m) < 0) {
		h->err = RIG_ERR_NOMEM;
		return;
	}
	if (w.n < m->n)
		snprintf(cap, sizeof(cap), "The latest %zu of %zu points are drawn (points %zu to "
			 "%zu); the limits and every figure are over all %zu.", w.n, m->n,
			 w.first + 1, m->n, m->n);
	else
		snprintf(cap, sizeof(cap), "All %zu points; limits from the mean moving range.",
			 m->n);
	if (rigi_canvas_svg(1000, 522, &c) == 0) {
		individuals_draw(c, m, &w, yv);
		moving_range_draw(c, m, &w, yv); /* the lines' arrays are borrowed per plot */
		figure(h, c, cap);
	} else {
		h->err = RIG_ERR_NOMEM;
	}
	free(w.x);
}

/* Below a chart: the runs of the points each rule flagged. */
static void rule_hits(struct dash *h, const struct rig_store_measurand *m)
{
	int any = 0;
	for (int b = 0; b < 4; b++) {
		size_t shown = 0, total = m->chart.broken[b];
		if (!total || !m->chart.rules)
			continue;
		put(h, any ? "" : "<ul class=\"rules\">\n");
		any = 1;
		putf(h, "<li class=\"rule%d\"><b>", b + 1);
		esc(h, rig_spc_rule_text((enum rig_spc_rule)(1u << b)));
		putf(h, "</b> — %zu point%s: <span class=\"mono\">", total, total == 1 ? "" : "s");
		for (size_t i = 0; i < m->n && shown < DASH_MAX_RUN_IDS; i++)
			if (m->chart.rules[i] & (1u << b)) {
				put(h, shown++ ? ", " : "");
				esc(h, h->st->run_ids[m->runs[i]]);
			}
		if (total > shown)
			putf(h, " ... and %zu more", total - shown);
		put(h, "</span></li>\n");
	}
	put(h, any ? "</ul>\n" : "<p class=\"note\">No Nelson rule broken.</p>\n");
}

static void measurand_section(struct dash *h, size_t k)
{
	const struct rig_store_measurand *m = &h->st->measurands[k];
	char a[32], b[32], c[32], d[32], e[32], f[32];
	putf(h, "<section class=\"measurand\" id=\"m%zu\">\n<h3>", k + 1);
	escf(h, "%s %s", m->step, m->name);
	put(h, "</h3>\n<p>");
	escf(h, "Tolerance %s … %s %s; centre %s, σ within %s, UCL %s, LCL %s.",
	     num(a, sizeof(a), m->low), num(b, sizeof(b), m->high), rigi_report_unit(m->unit),
	     num(c, sizeof(c), m->chart.center), num(d, sizeof(d), m->chart.sigma),
	     num(e, sizeof(e), m->chart.ucl), num(f, sizeof(f), m->chart.lcl));
	put(h, "</p>\n");
	if (m->n)
		charts(h, m);
	rule_hits(h, m);
	put(h, "</section>\n");
}

static void body(struct dash *h, const char *title)
{
	head(h, title);
	selection(h);
	yields(h);
	measurand_table(h);
	if (h->st->n_measurands)
		put(h, "<h2 id=\"charts\">Control charts</h2>\n");
	for (size_t k = 0; k < h->st->n_measurands && !h->err && !h->oom; k++)
		measurand_section(h, k);
	put(h, "<footer>");
	escf(h, "Made by needle-rig %s from the results store (rig results report). The records "
	     "are the evidence; this page is derived from them.", rig_version());
	put(h, "</footer>\n</main>\n</body>\n</html>\n");
}

int rig_store_dashboard_write(const struct rig_store_stats *st, const char *title,
			      const char *path)
{
	if (!st || !path)
		return rigi_fail(RIG_ERR_ARG, "dashboard: statistics and a path are needed");
	struct dash h = {.st = st};
	body(&h, title && *title ? title : "results");
	int ret = h.oom || h.err ? rigi_fail(RIG_ERR_NOMEM, "%s: out of memory writing the "
					     "dashboard; select fewer runs or free memory", path)
				 : rigi_atomic_write(path, h.p, h.len);
	free(h.p);
	return ret;
}
