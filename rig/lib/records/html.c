/* The HTML report of a run (output module "html", report.html): one
 * self-contained page — inline CSS, plots as inline SVG drawn by plot.c,
 * no script, no external resource — that prints on A4. The outcome comes
 * first (a coloured banner with the reason, and "run did not finish" for a
 * recovered run), then who/what/where (unit, station and its sensors,
 * operator, suite, software, dates), the steps, as-found and as-left
 * results per setpoint with error plots (tolerance band, acceptance band,
 * U bars), the sweeps with the fit, the table's knots and residuals, the
 * table before and after, one raw capture per step from the attachments
 * (displacement and force with the detected strokes), and the evidence.
 * Every text from the record is HTML-escaped: the pen's serial and model
 * come from the device. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>
#include <rig/fit.h>
#include <rig/rig.h>

#include "core/core.h"
#include "records/output.h"
#include "records/plot.h"
#include "records/records.h"

/* ---- the page being written ---- */

struct html {
	char *p;
	size_t len, cap;
	int oom;
	const struct rig_record *rec;
	const char *run_dir;
	unsigned n_plots;
	int err; /* first fatal error (out of memory) */
};

static void putn(struct html *h, const char *s, size_t n)
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

static void put(struct html *h, const char *s)
{
	putn(h, s, strlen(s));
}

/* Formatted markup of our own; never pass record text here (use esc). */
__attribute__((format(printf, 2, 3))) static void putf(struct html *h, const char *fmt, ...)
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
static void esc(struct html *h, const char *s);

/* Text formatted, then escaped as a whole: the arguments may be record
 * text. */
__attribute__((format(printf, 2, 3))) static void escf(struct html *h, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	esc(h, buf);
}


static void esc(struct html *h, const char *s)
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

/* <p class="warn">formatted, escaped text</p> */
#define warn(h, ...)                                                                      \
	do {                                                                                \
		put(h, "<p class=\"warn\">");                                             \
		escf(h, __VA_ARGS__);                                                       \
		put(h, "</p>\n");                                                          \
	} while (0)

/* <td class="cls">escaped text</td> (@p cls NULL: no class; no text: —). */
static void cell(struct html *h, const char *cls, const char *text)
{
	if (cls)
		putf(h, "<td class=\"%s\">", cls);
	else
		put(h, "<td>");
	esc(h, text && *text ? text : "—");
	put(h, "</td>");
}

static const char *outcome_class(enum rig_outcome o)
{
	static const char *const cls[] = {"pass", "fail", "indet", "error", "aborted"};
	return (unsigned)o < 5 ? cls[o] : "error";
}

/* ---- the head and the outcome ---- */

static const char css[] =
	"*{box-sizing:border-box}"
	"body{font-family:'DejaVu Sans',Verdana,sans-serif;font-size:13px;color:#222;margin:0;"
	"background:#fff}"
	"main{max-width:1100px;margin:0 auto;padding:16px 20px 40px}"
	"h1{font-size:20px;margin:18px 0 6px}h2{font-size:17px;margin:26px 0 8px;"
	"border-bottom:2px solid #ccc;padding-bottom:3px}h3{font-size:14px;margin:16px 0 6px}"
	".banner{color:#fff;padding:16px 22px;border-radius:6px;margin:0 0 14px;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}"
	".banner .verdict{font-size:44px;font-weight:bold;letter-spacing:2px}"
	".banner .first{font-size:22px;font-weight:bold;text-transform:uppercase}"
	".banner .reason{font-size:16px;margin-top:6px}.banner .meaning{margin-top:6px}"
	".pass{background:#1b7a2f}.fail{background:#c61e1e}.indet{background:#d98000}"
	".error{background:#595961}.aborted{background:#664799}"
	".warn{border:2px solid #c61e1e;background:#fdecec;padding:8px 12px;margin:8px 0;"
	"border-radius:4px}"
	".note{color:#555;font-style:italic}"
	"ul.findings{border-left:5px solid #c61e1e;margin:0 0 12px;padding:6px 10px 6px 28px;"
	"background:#fafafa}td.r{min-width:180px}"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:6px 0}"
	"dl.facts dt{font-weight:bold;color:#444}dl.facts dd{margin:0;overflow-wrap:anywhere}"
	"table{border-collapse:collapse;margin:6px 0 10px;font-size:12px}"
	"th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
	"th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}td.r{font-size:11px;color:#333}"
	"td.o{font-weight:bold;color:#fff;text-align:center;white-space:nowrap;"
	"-webkit-print-color-adjust:exact;print-color-adjust:exact}tr.rep td{color:#777}"
	".mono{font-family:'DejaVu Sans Mono',monospace;font-size:11px;overflow-wrap:anywhere}"
	".plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:10px}"
	"figure.plot{margin:6px 0;break-inside:avoid}figure.plot svg{width:100%;height:auto;"
	"display:block}figcaption{font-size:11px;color:#444;margin-top:2px}"
	"footer{margin-top:30px;font-size:11px;color:#555;border-top:1px solid #ccc;"
	"padding-top:6px}"
	"@page{size:A4;margin:14mm 12mm}"
	"@media print{body{font-size:10pt}main{max-width:none;padding:0}"
	".plots{display:block}h2{break-after:avoid}h3{break-after:avoid}"
	"figure.plot svg{width:auto;max-width:100%}"
	"tr,figure,.banner,dl.facts{break-inside:avoid}"
	"a{color:inherit;text-decoration:none}}";

static void head(struct html *h)
{
	const struct rig_record *r = h->rec;
	put(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	       "<meta name=\"generator\" content=\"needle-rig ");
	esc(h, rig_version());
	put(h, "\">\n<title>");
	escf(h, "%s — %s — run %s", rig_outcome_name(r->outcome),
	     r->unit.serial[0] ? r->unit.serial : "unidentified unit", r->run_id);
	put(h, "</title>\n<style>");
	put(h, css);
	put(h, "</style>\n</head>\n<body>\n<main>\n");
}

/* What decided a non-PASS outcome: each step that did not pass, and its
 * measurements that did not pass. */
static void findings(struct html *h)
{
	const struct rig_record *r = h->rec;
	int any = 0;
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct rig_record_step *s = r->steps[i];
		if (s->outcome == RIG_OUTCOME_PASS)
			continue;
		put(h, any ? "" : "<ul class=\"findings\">\n");
		any = 1;
		putf(h, "<li><b>%s</b> in step ", rig_outcome_name(s->outcome));
		escf(h, "%s: %s", s->name, s->reason);
		for (size_t j = 0; j < s->n_measurements; j++) {
			const struct rig_measurement *m = &s->measurements[j];
			if (m->judged && m->outcome != RIG_OUTCOME_PASS) {
				put(h, "<br>");
				escf(h, "%s %s: %s", rig_outcome_name(m->outcome), m->name,
				     m->reason);
			}
		}
		put(h, "</li>\n");
	}
	put(h, any ? "</ul>\n" : "");
}

static void banner(struct html *h)
{
	const struct rig_record *r = h->rec;
	putf(h, "<section class=\"banner %s\" id=\"outcome\">\n", outcome_class(r->outcome));
	if (rigi_report_recovered(r))
		put(h, "<div class=\"first\">Run did not finish</div>\n");
	else if (r->outcome == RIG_OUTCOME_ERROR)
		put(h, "<div class=\"first\">Station error — the unit was not judged</div>\n");
	else if (r->outcome == RIG_OUTCOME_ABORTED)
		put(h, "<div class=\"first\">Run aborted — the unit was not judged</div>\n");
	putf(h, "<div class=\"verdict\">%s</div>\n<div class=\"reason\">",
	     rig_outcome_name(r->outcome));
	escf(h, r->error ? "%s (%s)" : "%s", r->reason, rig_errname(r->error));
	put(h, "</div>\n<div class=\"meaning\">");
	esc(h, rigi_report_outcome_meaning(r));
	put(h, "</div>\n</section>\n");
	findings(h);
	if (!r->safe_state_confirmed) {
		put(h, "<p class=\"warn\"><b>The pen's safe state was not confirmed at the end of "
		       "the run</b> (motor off, service mode left): ");
		esc(h, r->safe_state_detail);
		put(h, ". Check the pen before handling it.</p>\n");
	}
}

/* ---- who, what, where ---- */

static void fact(struct html *h, const char *name, const char *value)
{
	putf(h, "<dt>%s</dt><dd>", name);
	esc(h, value && *value ? value : "—");
	put(h, "</dd>\n");
}

static void facts(struct html *h)
{
	const struct rig_record *r = h->rec;
	char a[64], b[64], t[2048], cert[160];
	snprintf(t, sizeof(t), "%s %s (hardware %s, firmware %s)", r->unit.model, r->unit.serial,
		 r->unit.hardware, r->unit.firmware);
	put(h, "<h1>Calibration and test report</h1>\n<dl class=\"facts\">\n");
	fact(h, "Unit", r->unit.serial[0] ? t : "not identified");
	fact(h, "Run", r->run_id);
	snprintf(t, sizeof(t), "%s — %s", rigi_report_time(r->started_ms, a, sizeof(a)),
		 r->ended_ms ? rigi_report_time(r->ended_ms, b, sizeof(b)) : "not ended");
	fact(h, "Started — ended", t);
	fact(h, "Operator", r->operator_name);
	snprintf(t, sizeof(t), "%s, %s, nest %u, host %s%s", r->station.id, r->station.name,
		 r->station.nest, r->station.host, r->station.simulated ? " (simulated)" : "");
	fact(h, "Station", t);
	snprintf(t, sizeof(t), "%s version %s (%s), SHA-256 %s", r->suite_name, r->suite_version,
		 r->suite_path, r->suite_sha256);
	fact(h, "Suite (method)", t);
	snprintf(t, sizeof(t), "%s, SHA-256 %s", r->station.fixture_path,
		 r->station.fixture_sha256);
	fact(h, "Fixture", t);
	snprintf(t, sizeof(t), "needle-rig %s, build %s", r->software_version, r->software_commit);
	fact(h, "Software", t);
	rigi_certificate_number(r, cert, sizeof(cert));
	snprintf(t, sizeof(t), "No. %s (certificate.pdf)", cert);
	fact(h, "Calibration certificate", t);
	put(h, "</dl>\n");
}

static void sensors(struct html *h)
{
	const struct rig_record_station *s = &h->rec->station;
	char buf[64];
	put(h, "<h3>Station instruments (traceability)</h3>\n<table>\n<tr><th>Role</th>"
	       "<th>Nest</th><th>Serial</th><th>Type / firmware</th><th>Certificate</th>"
	       "<th>Calibrated</th><th>Due</th><th>u (k = 1)</th><th>Address</th></tr>\n");
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct rig_record_instrument *in = &s->instruments[i];
		put(h, "<tr>");
		cell(h, NULL, in->role);
		snprintf(buf, sizeof(buf), in->nest < 0 ? "station" : "%d", in->nest);
		cell(h, NULL, buf);
		snprintf(buf, sizeof(buf), in->identified ? "%lu" : "not identified",
			 (unsigned long)in->serial);
		cell(h, NULL, buf);
		snprintf(buf, sizeof(buf), in->identified ? "0x%04x / %s" : "—", in->device_type,
			 in->firmware);
		cell(h, NULL, buf);
		cell(h, NULL, in->certificate[0] ? in->certificate
						 : "none (not a measuring sensor)");
		cell(h, NULL, in->calibrated);
		cell(h, NULL, in->due);
		if (isfinite(in->standard_uncertainty))
			snprintf(buf, sizeof(buf), "%g %s", in->standard_uncertainty,
				 rigi_report_unit(in->unit));
		else
			snprintf(buf, sizeof(buf), "—");
		cell(h, NULL, buf);
		put(h, "<td class=\"mono\">");
		esc(h, in->uri);
		put(h, "</td></tr>\n");
	}
	put(h, "</table>\n");
	const struct rig_record_phantom *ph = &s->phantom;
	put(h, "<p>");
	escf(h, "Phantom: %s%s%s, installed %s, expires %s, strokes %llu + %llu this run. "
	     "Environmental conditions: none measured by this station.", ph->type,
	     ph->lot[0] ? ", lot " : "", ph->lot, ph->installed[0] ? ph->installed : "—",
	     ph->expires[0] ? ph->expires : "never", (unsigned long long)ph->strokes_before,
	     (unsigned long long)ph->strokes_run);
	put(h, "</p>\n");
}

static void steps(struct html *h)
{
	const struct rig_record *r = h->rec;
	char buf[32];
	put(h, "<h2 id=\"steps\">Steps</h2>\n<table>\n<tr><th>#</th><th>Step</th><th>Type</th>"
	       "<th>Outcome</th><th>Reason</th><th>Duration</th></tr>\n");
	for (size_t i = 0; i < r->n_steps; i++) {
		const struct rig_record_step *s = r->steps[i];
		putf(h, "<tr><td class=\"n\">%zu</td>", i + 1);
		cell(h, NULL, s->name);
		cell(h, NULL, s->type);
		putf(h, "<td class=\"o %s\">%s</td>", outcome_class(s->outcome),
		     rig_outcome_name(s->outcome));
		cell(h, NULL, s->reason);
		snprintf(buf, sizeof(buf), "%.2f s", s->duration_s);
		putf(h, "<td class=\"n\">%s</td></tr>\n", buf);
	}
	if (!r->n_steps)
		put(h, "<tr><td colspan=\"6\" class=\"note\">no step was started</td></tr>\n");
	put(h, "</table>\n");
}

/* ---- measurements ---- */

static void meas_row(struct html *h, const struct rig_measurement *m)
{
	char a[48], b[48], t[128];
	int d = rigi_report_decimals(m->u_expanded);
	putf(h, "<tr%s>", m->judged ? "" : " class=\"rep\"");
	cell(h, NULL, m->name);
	putf(h, "<td class=\"n\">%s</td>", rigi_report_num(a, sizeof(a), m->setpoint, 0, 0));
	putf(h, "<td class=\"n\">%s ", rigi_report_num(a, sizeof(a), m->value, d, 0));
	esc(h, rigi_report_unit(m->unit));
	putf(h, "</td><td class=\"n\">%s</td>", rigi_report_num(a, sizeof(a), m->error, d, 1));
	for (int k = 0; k < 2; k++) {
		double lo = k ? m->accept_low : m->limit.low;
		double hi = k ? m->accept_high : m->limit.high;
		if (m->judged && isfinite(lo))
			snprintf(t, sizeof(t), "%s–%s", rigi_report_num(a, sizeof(a), lo, d, 0),
				 rigi_report_num(b, sizeof(b), hi, d, 0));
		else
			snprintf(t, sizeof(t), "—");
		cell(h, "n", t);
	}
	rigi_report_num(a, sizeof(a), m->u_expanded, d, 0);
	snprintf(t, sizeof(t), "%s (k = %g)", a, m->k);
	cell(h, "n", t);
	if (m->judged)
		putf(h, "<td class=\"o %s\">%s</td>", outcome_class(m->outcome),
		     rig_outcome_name(m->outcome));
	else
		put(h, "<td>reported</td>");
	cell(h, "r", m->reason);
	put(h, "</tr>\n");
}

static void meas_table(struct html *h, const struct rig_record_step *s)
{
	put(h, "<table>\n<tr><th>Measurement</th><th>Setpoint</th><th>Value</th><th>Error</th>"
	       "<th>Tolerance limits</th><th>Acceptance interval</th><th>U</th><th>Verdict</th>"
	       "<th>Reason</th></tr>\n");
	for (size_t i = 0; i < s->n_measurements; i++)
		meas_row(h, &s->measurements[i]);
	if (!s->n_measurements)
		put(h, "<tr><td colspan=\"9\" class=\"note\">no measurement</td></tr>\n");
	put(h, "</table>\n");
}

/* Append the finished picture @p c as a figure with @p caption (our text
 * and record text alike: escaped). A picture that cannot be drawn is said
 * in the page; only running out of memory fails the report. */
static void figure(struct html *h, struct rigi_canvas *c, const char *caption)
{
	char prefix[16], *svg = NULL;
	size_t len = 0;
	snprintf(prefix, sizeof(prefix), "p%u-", ++h->n_plots);
	int ret = rigi_canvas_finish(c, prefix, &svg, &len);
	if (ret < 0) {
		if (ret == RIG_ERR_NOMEM && !h->err)
			h->err = ret;
		RIGI_WARN("report", "a plot of the HTML report failed: %s", rig_last_error());
		warn(h, "This plot could not be drawn: %s", rig_last_error());
		return;
	}
	put(h, "<figure class=\"plot\">\n");
	putn(h, svg, len);
	put(h, "<figcaption>");
	esc(h, caption);
	put(h, "</figcaption>\n</figure>\n");
	free(svg);
}

struct errpt {
	double x, e, u, tlo, thi, alo, ahi;
	enum rig_outcome o;
};

static int errpt_cmp(const void *a, const void *b)
{
	const struct errpt *p = a, *q = b;
	return (p->x > q->x) - (p->x < q->x);
}

/* The judged measurements of @p quantity in @p s as points, sorted by
 * setpoint; malloc'd, count in *n (0: NULL). */
static struct errpt *error_points(const struct rig_record_step *s, const char *quantity, size_t *n)
{
	struct errpt *pt = calloc(s->n_measurements + 1, sizeof(*pt));
	*n = 0;
	if (!pt)
		return NULL;
	for (size_t i = 0; i < s->n_measurements; i++) {
		const struct rig_measurement *m = &s->measurements[i];
		if (!m->judged || strcmp(m->quantity, quantity) || !isfinite(m->setpoint) ||
		    !isfinite(m->limit.nominal))
			continue;
		double nom = m->limit.nominal;
		pt[(*n)++] = (struct errpt){m->setpoint, m->error, m->u_expanded,
					    m->limit.low - nom, m->limit.high - nom,
					    m->accept_low - nom, m->accept_high - nom, m->outcome};
	}
	qsort(pt, *n, sizeof(*pt), errpt_cmp);
	return pt;
}

/* The series of an error plot from @p n points into @p sr (5 slots), with
 * @p v (8 n doubles) holding their arrays. Returns the count. */
static size_t error_series(const struct errpt *pt, size_t n, double *v, struct rigi_series *sr)
{
	static const enum rig_outcome kinds[] = {RIG_OUTCOME_PASS, RIG_OUTCOME_INDETERMINATE,
						 RIG_OUTCOME_FAIL};
	static const enum rigi_marker marks[] = {RIGI_MARK_CIRCLE, RIGI_MARK_DIAMOND,
						 RIGI_MARK_SQUARE};
	double *x = v, *tlo = v + n, *thi = v + 2 * n, *alo = v + 3 * n, *ahi = v + 4 * n;
	double *kx = v + 5 * n, *ky = v + 6 * n, *ku = v + 7 * n; /* grouped by outcome */
	size_t ns = 0, at = 0;
	for (size_t i = 0; i < n; i++) {
		x[i] = pt[i].x;
		tlo[i] = pt[i].tlo, thi[i] = pt[i].thi, alo[i] = pt[i].alo, ahi[i] = pt[i].ahi;
	}
	sr[ns++] = (struct rigi_series){.kind = RIGI_SERIES_BAND, .legend = "tolerance",
					.x = x, .y = tlo, .y2 = thi, .n = n,
					.color = {0.99, 0.85, 0.55, 1}};
	sr[ns++] = (struct rigi_series){.kind = RIGI_SERIES_BAND, .legend = "acceptance (guarded)",
					.x = x, .y = alo, .y2 = ahi, .n = n,
					.color = {0.74, 0.90, 0.74, 1}};
	for (int k = 0; k < 3; k++) {
		size_t start = at;
		for (size_t i = 0; i < n; i++)
			if (pt[i].o == kinds[k]) {
				kx[at] = pt[i].x, ky[at] = pt[i].e, ku[at] = pt[i].u;
				at++;
			}
		if (at == start)
			continue;
		sr[ns] = rigi_points(rig_outcome_name(kinds[k]), kx + start, ky + start, at - start,
				     rigi_outcome_color(kinds[k]), 6, marks[k]);
		sr[ns++].dy = ku + start;
	}
	return ns;
}

/* Error vs setpoint of one quantity of one step, with the tolerance band,
 * the acceptance band and U bars; nothing when the step has none. */
static void error_plot(struct html *h, const struct rig_record_step *s, const char *quantity,
		       const char *unit, const char *what)
{
	size_t n;
	struct errpt *pt = error_points(s, quantity, &n);
	double *v = pt && n ? calloc(n * 8, sizeof(double)) : NULL;
	struct rigi_canvas *c = NULL;
	struct rigi_series sr[5];
	if (!pt || (n && !v))
		h->err = RIG_ERR_NOMEM;
	if (!v || rigi_canvas_svg(540, 300, &c) < 0) {
		free(pt);
		free(v);
		return;
	}
	char xl[64], yl[64], title[200];
	snprintf(xl, sizeof(xl), "setpoint (%s)", rigi_report_unit(unit));
	snprintf(yl, sizeof(yl), "error (%s)", rigi_report_unit(unit));
	snprintf(title, sizeof(title), "%s: %s", s->name, what);
	struct rigi_plot p = {.title = title, .x_label = xl, .y_label = yl, .x_min = NAN,
			      .x_max = NAN, .y_min = NAN, .y_max = NAN, .zero_line = 1,
			      .series = sr, .n_series = error_series(pt, n, v, sr),
			      .font_size = 10};
	rigi_plot_draw(c, &p, 4, 4, 532, 292);
	snprintf(title, sizeof(title), "%s: %s error at each setpoint; bars: expanded uncertainty "
		 "U (k = 2); inner band: acceptance interval, outer band: tolerance", s->name,
		 what);
	figure(h, c, title);
	free(pt);
	free(v);
}

/* The results of an as-found or as-left step; @p id: the heading's id
 * (NULL for a second step of the same kind). */
static void results_step(struct html *h, const struct rig_record_step *s, const char *title,
			 const char *id)
{
	if (id)
		putf(h, "<h2 id=\"%s\">%s</h2>\n<p>Step <b>", id, title);
	else
		putf(h, "<h2>%s</h2>\n<p>Step <b>", title);
	esc(h, s->name);
	putf(h, "</b>: <b>%s</b> — ", rig_outcome_name(s->outcome));
	esc(h, s->reason);
	put(h, "</p>\n<div class=\"plots\">\n");
	error_plot(h, s, "protrusion", "um", "depth (protrusion)");
	error_plot(h, s, "rate", "spm", "stroke rate");
	put(h, "</div>\n");
	meas_table(h, s);
}

/* ---- sweeps and the fit ---- */

/* The degree the fit step chose for "depth" or "rate" (from its reason,
 * "depth: degree 3, ..."), or 0 when it says none. */
static unsigned fit_degree(const struct rig_record *r, const char *what)
{
	char key[32];
	snprintf(key, sizeof(key), "%s: degree ", what);
	for (size_t i = 0; i < r->n_steps; i++) {
		const char *p;
		if (strcmp(r->steps[i]->type, "fit") || !(p = strstr(r->steps[i]->reason, key)))
			continue;
		char *end;
		unsigned long d = strtoul(p + strlen(key), &end, 10);
		int ok = end != p + strlen(key) && d >= 1 && d <= RIG_CURVE_MAX_DEGREE;
		return ok ? (unsigned)d : 0;
	}
	return 0;
}

struct sweep {
	size_t n;
	double *x, *y, *u, *res;     /* points: code or duty, value, U, residual */
	double cx[200], cy[200];     /* the fitted curve */
	size_t nc;
	unsigned degree;             /* 0: the monotone model of rig_curve_fit */
	double resid_sd;
	double kx[2][RIG_CAL_TABLE_MAX_KNOTS], ky[2][RIG_CAL_TABLE_MAX_KNOTS];
	double kr[RIG_CAL_TABLE_MAX_KNOTS]; /* knot setpoint - curve at its code */
	size_t nk[2];                /* knots of the table after [0] and before [1] */
};

/* Fit the sweep's points as the fit step did (its degree), for the curve
 * and residuals shown. 0, or a negative rig_err (no curve then). */
static int sweep_fit(struct sweep *w)
{
	struct rig_poly_fit_result pf;
	struct rig_curve *c = NULL;
	int ret;
	double lo = w->x[0], hi = w->x[w->n - 1];
	if (w->degree && w->n >= w->degree + 2) {
		if ((ret = rig_poly_fit(w->x, w->y, w->n, w->degree, &pf, w->res)) < 0)
			return ret;
		w->resid_sd = pf.resid_sd;
		for (w->nc = 0; w->nc < 200; w->nc++) {
			w->cx[w->nc] = lo + (hi - lo) * (double)w->nc / 199;
			w->cy[w->nc] = rig_poly_eval(&pf, w->cx[w->nc]);
		}
		return 0;
	}
	w->degree = 0;
	if ((ret = rig_curve_fit(w->x, w->y, w->n, NULL, &c)) < 0)
		return ret;
	struct rig_curve_info info;
	size_t nr;
	rig_curve_info(c, &info);
	w->degree = info.kind == RIG_CURVE_POLY ? info.degree : 0;
	w->resid_sd = info.resid_sd;
	const double *res = rig_curve_residuals(c, &nr);
	for (size_t i = 0; i < w->n; i++)
		w->res[i] = i < nr ? res[i] : NAN;
	for (w->nc = 0; w->nc < 200; w->nc++) {
		w->cx[w->nc] = lo + (hi - lo) * (double)w->nc / 199;
		if (rig_curve_eval(c, w->cx[w->nc], &w->cy[w->nc], NULL) < 0)
			w->cy[w->nc] = NAN;
	}
	rig_curve_free(c);
	return 0;
}

static void sweep_knots(struct sweep *w, const struct rig_record *r, int depth)
{
	const struct rig_cal_table *t[2] = {NULL, NULL};
	if (r->has_table)
		t[0] = &r->table.decoded;
	if (r->unit.has_previous_table)
		t[1] = &r->unit.previous_table.decoded;
	for (int k = 0; k < 2; k++) {
		w->nk[k] = 0;
		size_t n = !t[k] ? 0 : depth ? t[k]->n_depth : t[k]->n_rate;
		for (size_t i = 0; i < n && i < RIG_CAL_TABLE_MAX_KNOTS; i++) {
			w->kx[k][i] = depth ? t[k]->depth[i].code : t[k]->rate[i].duty;
			w->ky[k][i] = depth ? t[k]->depth[i].setpoint_um : t[k]->rate[i].rate_spm;
			w->kr[i] = NAN;
			w->nk[k]++;
		}
	}
	for (size_t i = 0; i < w->nk[0] && w->nc; i++) { /* knot setpoint - curve at its code */
		double lo = w->cx[0], hi = w->cx[w->nc - 1], X = w->kx[0][i];
		size_t j = X <= lo ? 0 : X >= hi ? w->nc - 2 : (size_t)((X - lo) / (hi - lo) * 199);
		if (j > w->nc - 2)
			j = w->nc - 2;
		double f = (X - w->cx[j]) / (w->cx[j + 1] - w->cx[j]);
		w->kr[i] = w->ky[0][i] - (w->cy[j] + f * (w->cy[j + 1] - w->cy[j]));
	}
}

/* The sweep's points (value finite), sorted by code or duty. */
static int sweep_points(struct sweep *w, const struct rig_record_step *s)
{
	memset(w, 0, sizeof(*w));
	w->x = calloc(4 * (s->n_measurements + 1), sizeof(double));
	if (!w->x)
		return RIG_ERR_NOMEM;
	w->y = w->x + s->n_measurements + 1;
	w->u = w->y + s->n_measurements + 1;
	w->res = w->u + s->n_measurements + 1;
	for (size_t i = 0; i < s->n_measurements; i++) {
		const struct rig_measurement *m = &s->measurements[i];
		if (!isfinite(m->setpoint) || !isfinite(m->value))
			continue;
		size_t j = w->n++;
		for (; j > 0 && w->x[j - 1] > m->setpoint; j--) {
			w->x[j] = w->x[j - 1], w->y[j] = w->y[j - 1], w->u[j] = w->u[j - 1];
		}
		w->x[j] = m->setpoint, w->y[j] = m->value, w->u[j] = m->u_expanded;
	}
	return 0;
}

static void sweep_draw(struct rigi_canvas *c, const struct sweep *w, int depth)
{
	static const struct rigi_rgba blue = {0.12, 0.35, 0.65, 1}, dark = {0.2, 0.2, 0.2, 1},
				      red = {0.80, 0.20, 0.10, 1}, grey = {0.30, 0.30, 0.30, 1};
	size_t nres = w->nc ? w->n : 0, nkr = w->nc ? w->nk[0] : 0;
	const char *fit = w->degree ? "fit (polynomial)" : "fit (monotone)";
	struct rigi_series top[4] = {
		rigi_points("measured (U bars)", w->x, w->y, w->n, blue, 4, RIGI_MARK_CIRCLE),
		rigi_line(fit, w->cx, w->cy, w->nc, dark, 1),
		rigi_points("knots of the table written", w->kx[0], w->ky[0], w->nk[0], red, 7,
			    RIGI_MARK_DIAMOND),
		rigi_points("knots of the table before", w->kx[1], w->ky[1], w->nk[1], grey, 8,
			    RIGI_MARK_PLUS)};
	struct rigi_series bottom[2] = {
		rigi_points("measured − fit (U bars)", w->x, w->res, nres, blue, 4,
			    RIGI_MARK_CIRCLE),
		rigi_points("knot setpoint − fit at its code (rounding)", w->kx[0], w->kr, nkr, red,
			    7, RIGI_MARK_DIAMOND)};
	top[0].dy = bottom[0].dy = w->u;
	top[2].hollow = bottom[1].hollow = 1;
	struct rigi_plot p = {.title = depth ? "Depth sweep: code → protrusion"
					     : "Rate sweep: duty → stroke rate",
			      .y_label = depth ? "protrusion (µm)" : "stroke rate (strokes/min)",
			      .x_min = NAN, .x_max = NAN, .y_min = NAN, .y_max = NAN,
			      .series = top, .n_series = 4, .font_size = 10};
	rigi_plot_draw(c, &p, 4, 4, 532, 280);
	struct rigi_plot q = {.x_label = depth ? "actuator code" : "motor duty (‰)",
			      .y_label = depth ? "residual (µm)" : "residual (spm)",
			      .x_min = NAN, .x_max = NAN, .y_min = NAN, .y_max = NAN,
			      .zero_line = 1, .series = bottom, .n_series = 2, .font_size = 10};
	rigi_plot_draw(c, &q, 4, 286, 532, 170);
}

static void sweep_plot(struct html *h, const struct rig_record_step *s, int depth)
{
	struct sweep w;
	struct rigi_canvas *c = NULL;
	char cap[400], fitted[160];
	if (sweep_points(&w, s) < 0) {
		h->err = RIG_ERR_NOMEM;
		return;
	}
	w.degree = fit_degree(h->rec, depth ? "depth" : "rate");
	int fit_ret = w.n >= 2 ? sweep_fit(&w) : RIG_ERR_ARG;
	if (fit_ret < 0)
		w.nc = 0;
	sweep_knots(&w, h->rec, depth);
	if (fit_ret < 0)
		snprintf(fitted, sizeof(fitted), "no curve: the points could not be fitted (%s)",
			 w.n >= 2 ? rig_last_error() : "too few points");
	else
		snprintf(fitted, sizeof(fitted), "fit: polynomial of degree %u (the fit step's), "
			 "residual SD %.3g %s", w.degree, w.resid_sd, depth ? "µm" : "spm");
	if (fit_ret == 0 && !w.degree)
		snprintf(fitted, sizeof(fitted), "fit: monotone interpolant, pooled SD %.3g %s",
			 w.resid_sd, depth ? "µm" : "spm");
	snprintf(cap, sizeof(cap), "%s: %zu %s; %s; knots: setpoint against the %s the table "
		 "sets for it", s->name, w.n, depth ? "codes" : "duties", fitted,
		 depth ? "code" : "duty");
	if (w.n && rigi_canvas_svg(540, 460, &c) == 0) {
		sweep_draw(c, &w, depth);
		figure(h, c, cap);
	}
	free(w.x);
}

/* ---- the table before and after ---- */

static void knot_rows(struct html *h, const struct rig_cal_table *before,
		      const struct rig_cal_table *after, int depth)
{
	long kn[2 * RIG_CAL_TABLE_MAX_KNOTS][3];
	size_t n = rigi_report_knots(before, after, depth, kn, 2 * RIG_CAL_TABLE_MAX_KNOTS);
	for (size_t i = 0; i < n; i++) {
		char c[3][24] = {"—", "—", "—"};
		for (int q = 1; q < 3; q++)
			if (kn[i][q] >= 0)
				snprintf(c[q - 1], 24, "%ld", kn[i][q]);
		if (kn[i][1] >= 0 && kn[i][2] >= 0)
			snprintf(c[2], 24, "%+ld", kn[i][2] - kn[i][1]);
		putf(h, "<tr><td class=\"n\">%ld</td><td class=\"n\">%s</td><td class=\"n\">%s</td>"
		     "<td class=\"n\">%s</td></tr>\n", kn[i][0], c[0], c[1], c[2]);
	}
}

static void table_facts(struct html *h, const char *what, const struct rig_record_table *t)
{
	char buf[200];
	snprintf(buf, sizeof(buf), "slot %c, table_seq %lu, %zu bytes, %u depth and %u rate knots",
		 t->slot ? 'B' : 'A', (unsigned long)t->decoded.table_seq, t->len,
		 t->decoded.n_depth, t->decoded.n_rate);
	putf(h, "<dt>%s</dt><dd>", what);
	esc(h, buf);
	put(h, "</dd>\n");
}

static void tables(struct html *h)
{
	const struct rig_record *r = h->rec;
	const struct rig_cal_table *b = r->unit.has_previous_table ? &r->unit.previous_table.decoded
								  : NULL,
				   *a = r->has_table ? &r->table.decoded : NULL;
	put(h, "<h2 id=\"table\">Calibration table: before and after</h2>\n<dl class=\"facts\">\n");
	if (b)
		table_facts(h, "Before (as found)", &r->unit.previous_table);
	else
		fact(h, "Before (as found)", "none (a blank pen, or the table was never read)");
	if (a) {
		table_facts(h, "Written", &r->table);
		char buf[320];
		const char *rb = r->read_back < 0 ? "not done"
				 : r->read_back   ? "matched"
						  : "DIFFERED";
		snprintf(buf, sizeof(buf), "%s: %s; read back: %s",
			 rig_commit_status_name(r->commit), r->commit_detail, rb);
		fact(h, "Commit", buf);
		fact(h, "Stored bytes", r->table_bin_path);
	} else {
		fact(h, "Written", "no table was written by this run: the pen keeps its table");
	}
	put(h, "</dl>\n");
	if (!a && !b)
		return;
	for (int depth = 1; depth >= 0; depth--) {
		putf(h, "<table style=\"display:inline-table;margin-right:24px\">\n<tr><th>%s</th>"
		     "<th>%s before</th><th>%s after</th><th>change</th></tr>\n",
		     depth ? "depth (µm)" : "rate (strokes/min)", depth ? "code" : "duty (‰)",
		     depth ? "code" : "duty (‰)");
		knot_rows(h, b, a, depth);
		put(h, "</table>\n");
	}
}

/* ---- attachments: raw captures and strokes.csv ---- */

/* Split a CSV line in place into at most @p max fields (quotes, "" inside
 * them). Returns the count. */
static size_t csv_split(char *s, char **f, size_t max)
{
	size_t n = 0;
	s[strcspn(s, "\r\n")] = '\0';
	while (n < max) {
		char *o = s;
		f[n++] = s;
		if (*s == '"') {
			for (s++; *s && !(*s == '"' && s[1] != '"'); s++)
				*o++ = *s == '"' ? *++s : *s;
			s += *s == '"';
		} else {
			while (*s && *s != ',')
				*o++ = *s++;
		}
		int more = *s == ',';
		*o = '\0';
		if (!more)
			break;
		s++;
	}
	return n;
}

/* First sample in [a, b] at or above @p v; b when none. */
static size_t first_at(const double *d, size_t a, size_t b, double v)
{
	while (a < b && d[a] < v)
		a++;
	return a;
}

struct capview {
	struct rig_capture *cap;
	struct rig_analysis *an;
	double *t;        /* sample times, ms */
	size_t w0, w1, k0; /* zoom window [w0, w1) from stroke k0 */
	double *mx[7], *my[7];
	/* markers: peaks of accepted and rejected strokes (whole capture);
	 * peak, contact, puncture (displacement); contact, puncture (force) */
	size_t mn[7];
};

static void capview_mark(struct capview *v, int k, double x, double y)
{
	v->mx[k][v->mn[k]] = x;
	v->my[k][v->mn[k]++] = y;
}

/* Times, the zoom window (four strokes from the first accepted one) and
 * the markers of the detected strokes. */
static int capview_build(struct capview *v)
{
	const struct rig_capture *c = v->cap;
	size_t ns = v->an->n_strokes + 1, k;
	v->t = malloc((c->n + 14 * ns) * sizeof(double));
	if (!v->t)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory for a capture plot");
	for (size_t i = 0; i < c->n; i++)
		v->t[i] = 1000.0 * (double)i / c->rate_hz;
	for (int m = 0; m < 7; m++) {
		v->mx[m] = v->t + c->n + (size_t)(2 * m) * ns;
		v->my[m] = v->mx[m] + ns;
	}
	for (k = 0; k < v->an->n_strokes && v->an->strokes[k].status != RIG_STROKE_OK; k++)
		;
	v->k0 = k;
	v->w0 = k < v->an->n_strokes ? v->an->strokes[k].start : 0;
	size_t last = k + 3 < v->an->n_strokes ? k + 3 : v->an->n_strokes - 1;
	v->w1 = k < v->an->n_strokes ? v->an->strokes[last].end : c->n / 5;
	if (v->w1 <= v->w0 + 16 || v->w1 > c->n)
		v->w0 = 0, v->w1 = c->n;
	for (k = 0; k < v->an->n_strokes; k++) {
		const struct rig_stroke *s = &v->an->strokes[k];
		int ok = s->status == RIG_STROKE_OK;
		if (s->peak >= c->n)
			continue;
		capview_mark(v, ok ? 0 : 1, ok ? 1000 * s->t_peak_s : v->t[s->peak],
			     ok ? s->protrusion_um : c->disp_um[s->peak]);
		if (!ok || s->peak < v->w0 || s->peak >= v->w1)
			continue;
		capview_mark(v, 2, 1000 * s->t_peak_s, s->protrusion_um);
		if (!isfinite(s->contact_um))
			continue;
		size_t ic = first_at(c->disp_um, s->start, s->peak, s->contact_um);
		capview_mark(v, 3, v->t[ic], c->disp_um[ic]);
		if (c->force_mn)
			capview_mark(v, 5, v->t[ic], c->force_mn[ic]);
		if (!s->punctured || !isfinite(s->puncture_um))
			continue;
		size_t ip = first_at(c->disp_um, ic, s->peak, s->puncture_um);
		capview_mark(v, 4, v->t[ip], c->disp_um[ip]);
		if (c->force_mn)
			capview_mark(v, 6, v->t[ip], c->force_mn[ip]);
	}
	return 0;
}

static void capview_draw(struct rigi_canvas *c, const struct capview *v)
{
	const struct rig_capture *cp = v->cap;
	static const struct rigi_rgba blue = {0.12, 0.35, 0.65, 1}, violet = {0.45, 0.25, 0.55, 1},
				      red = {0.80, 0.20, 0.10, 1}, green = {0.10, 0.55, 0.20, 1},
				      black = {0.0, 0.0, 0.0, 1}, grey = {0.55, 0.55, 0.55, 1};
	size_t wn = v->w1 - v->w0;
	double x0 = v->t[v->w0], x1 = v->t[v->w1 - 1];
	const char *punct = v->mn[4] ? "puncture" : "puncture (none in these strokes)";
	const double *t = v->t + v->w0, *fw = cp->force_mn ? cp->force_mn + v->w0 : NULL;
	struct rigi_series a[3] = {
		rigi_line("displacement", v->t, cp->disp_um, cp->n, blue, 0.8),
		rigi_points("peak (accepted stroke)", v->mx[0], v->my[0], v->mn[0], red, 5,
			    RIGI_MARK_TRIANGLE),
		rigi_points("rejected stroke", v->mx[1], v->my[1], v->mn[1], grey, 7,
			    RIGI_MARK_CROSS)};
	struct rigi_series b[4] = {
		rigi_line("displacement", t, cp->disp_um + v->w0, wn, blue, 1.2),
		rigi_points("peak (fitted)", v->mx[2], v->my[2], v->mn[2], red, 8,
			    RIGI_MARK_TRIANGLE),
		rigi_points("contact", v->mx[3], v->my[3], v->mn[3], green, 8, RIGI_MARK_CIRCLE),
		rigi_points(punct, v->mx[4], v->my[4], v->mn[4], black, 9, RIGI_MARK_DIAMOND)};
	struct rigi_series f[3] = {
		rigi_line("phantom force", t, fw, wn, violet, 1.2),
		rigi_points("contact", v->mx[5], v->my[5], v->mn[5], green, 8, RIGI_MARK_CIRCLE),
		rigi_points(punct, v->mx[6], v->my[6], v->mn[6], black, 9, RIGI_MARK_DIAMOND)};
	b[3].hollow = f[2].hollow = 1;
	struct rigi_plot p = {.title = "Whole capture", .y_label = "tip (µm)", .x_min = v->t[0],
			      .x_max = v->t[cp->n - 1], .y_min = NAN, .y_max = NAN, .series = a,
			      .n_series = 3, .font_size = 13};
	rigi_plot_draw(c, &p, 4, 4, 992, 200);
	p = (struct rigi_plot){.title = "Strokes in detail", .y_label = "tip (µm)", .x_min = x0,
			       .x_max = x1, .y_min = NAN, .y_max = NAN, .series = b,
			       .n_series = 4, .font_size = 13};
	rigi_plot_draw(c, &p, 4, 208, 992, 230);
	p = (struct rigi_plot){.x_label = "time (ms)", .y_label = "force (mN)", .x_min = x0,
			       .x_max = x1, .y_min = NAN, .y_max = NAN, .series = f,
			       .n_series = 3, .font_size = 13};
	if (cp->force_mn)
		rigi_plot_draw(c, &p, 4, 440, 992, 216);
}

/* One capture of captures/index.csv (fields @p f) as a figure, or a note
 * saying why it cannot be shown. */
static void capture_figure(struct html *h, char **f)
{
	char path[2200], cap[700];
	struct capview v = {0};
	struct rigi_canvas *c = NULL;
	int ret = strchr(f[4], '/') || !f[4][0] ? RIG_ERR_FORMAT : 0;
	if (ret < 0)
		rigi_fail(ret, "captures/index.csv names '%s', which is not a file of captures/",
			  f[4]);
	snprintf(path, sizeof(path), "%s/captures/%s", h->run_dir, f[4]);
	if (ret == 0 && (ret = rig_capture_read_csv(path, NULL, &v.cap)) == 0)
		ret = rig_analysis_run(v.cap, NULL, &v.an);
	if (ret == 0 && (ret = capview_build(&v)) == 0 &&
	    (ret = rigi_canvas_svg(1000, v.cap->force_mn ? 660 : 442, &c)) == 0) {
		capview_draw(c, &v);
		snprintf(cap, sizeof(cap), "captures/%s — step %s, %s: %zu samples at %g Hz; %zu "
			 "strokes detected, %zu accepted (analysed again for this page with the "
			 "default parameters; the run's index says %s and %s)", f[4], f[2], f[3],
			 v.cap->n, v.cap->rate_hz, v.an->n_strokes, v.an->count[RIG_STROKE_OK],
			 f[8], f[9]);
		figure(h, c, cap);
	} else {
		if (ret == RIG_ERR_NOMEM)
			h->err = ret;
		warn(h, "Capture %s cannot be shown: %s", f[4], rig_last_error());
	}
	free(v.t);
	rig_analysis_free(v.an);
	rig_capture_free(v.cap);
}

static void captures(struct html *h)
{
	char path[2200], *line = NULL, *f[12];
	size_t cap = 0, shown = 0;
	snprintf(path, sizeof(path), "%s/captures/index.csv", h->run_dir);
	FILE *in = fopen(path, "r");
	put(h, "<h2 id=\"captures\">Raw captures</h2>\n");
	if (!in) {
		put(h, "<p class=\"note\">No raw capture was kept with this run (fixture "
		       "<code>reports.captures</code>), or the run took none.</p>\n");
		return;
	}
	put(h, "<p>One capture per measuring step as kept with the run: the displacement of the "
	       "needle tip beyond the cartridge face and the phantom force against time, with "
	       "each detected stroke's peak, first contact and puncture.</p>\n");
	for (int row = 0; getline(&line, &cap, in) > 0; row++)
		if (row > 0 && csv_split(line, f, 12) == 10) {
			capture_figure(h, f);
			shown++;
		}
	if (!shown)
		put(h, "<p class=\"note\">captures/index.csv lists no capture.</p>\n");
	free(line);
	fclose(in);
}

/* ---- the evidence, and the page ---- */

static void evidence(struct html *h)
{
	const struct rig_record *r = h->rec;
	char buf[300], fp[20];
	put(h, "<h2 id=\"evidence\">Evidence</h2>\n<dl class=\"facts\">\n");
	snprintf(buf, sizeof(buf), "journal.jsonl, %llu events, last line SHA-256 %s",
		 (unsigned long long)r->journal_events, r->journal_sha256);
	fact(h, "Journal", buf);
	if (rigi_report_signature(h->run_dir, fp, sizeof(fp)) == 0)
		snprintf(buf, sizeof(buf), "record.sig, Ed25519; fingerprint (first 16 hex digits "
			 "of the SHA-256 of record.sig) %s", fp);
	else
		snprintf(buf, sizeof(buf), "no record.sig: this record is not signed");
	fact(h, "Signature", buf);
	fact(h, "Signer public key", r->signer_public_key[0] ? r->signer_public_key : "none");
	fact(h, "Safe state at exit", r->safe_state_detail);
	put(h, "</dl>\n<footer>");
	escf(h, "Made by needle-rig %s from record.json of run %s", rig_version(), r->run_id);
	put(h, ". The journal and the signed record are the evidence; this page is derived from "
	       "them and from the run's attachments, and can be made again with <code>rig report"
	       "</code>. Check the record with <code>rig records verify</code>.</footer>\n");
}

static void body(struct html *h)
{
	const struct rig_record *r = h->rec;
	banner(h);
	facts(h);
	sensors(h);
	steps(h);
	int found = 0, left = 0;
	for (size_t i = 0; i < r->n_steps; i++)
		if (!strcmp(r->steps[i]->type, "as_found"))
			results_step(h, r->steps[i], "As found", found++ ? NULL : "as-found");
	if (!found)
		put(h, "<h2 id=\"as-found\">As found</h2>\n<p class=\"note\">No as-found step "
		       "ran.</p>\n");
	for (size_t i = 0; i < r->n_steps; i++) {
		const char *t = r->steps[i]->type;
		int depth = !strcmp(t, "depth_sweep");
		if (depth || !strcmp(t, "rate_sweep")) {
			putf(h, "<h2>%s sweep and fit</h2>\n", depth ? "Depth" : "Rate");
			sweep_plot(h, r->steps[i], depth);
		}
	}
	tables(h);
	for (size_t i = 0; i < r->n_steps; i++)
		if (!strcmp(r->steps[i]->type, "as_left"))
			results_step(h, r->steps[i], "As left", left++ ? NULL : "as-left");
	if (!left)
		put(h, "<h2 id=\"as-left\">As left</h2>\n<p class=\"note\">No as-left step ran: "
		       "the unit was not measured after adjustment.</p>\n");
	captures(h);
	evidence(h);
	put(h, "</main>\n</body>\n</html>\n");
}

static int write_html(const struct rig_report_input *in, const char *path)
{
	struct html h = {.rec = in->record, .run_dir = in->run_dir};
	if (!in->record || !in->run_dir || !path)
		return rigi_fail(RIG_ERR_ARG, "html report: record, run folder and path are "
				 "needed");
	head(&h);
	body(&h);
	int ret = h.oom || h.err ? rigi_fail(RIG_ERR_NOMEM, "%s: out of memory writing the HTML "
					     "report; free memory and run rig report again", path)
				 : rigi_atomic_write(path, h.p, h.len);
	free(h.p);
	return ret;
}

const struct rig_output_module rigi_output_html = {
	.id = "html",
	.description = "one self-contained page: outcome, tables, plots, captures (inline SVG)",
	.file_name = "report.html",
	.write = write_html,
};
