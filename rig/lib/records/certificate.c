/* The calibration certificate of a run (output module "pdf",
 * certificate.pdf): one to three A4 pages drawn by plot.c on a PDF canvas,
 * with the contents ISO/IEC 17025 §7.8.2 and §7.8.4 ask for — a unique
 * certificate number and "page N of M" on every page, the item (unit
 * identity), the laboratory (station, operator), the method (suite name,
 * version and SHA-256), the measurement standards with their certificates
 * and due dates (traceability), the environmental conditions the station
 * has, as-found and as-left results with U and k, the decision rule in
 * words, the outcome per measurement and overall, the adjustment (table
 * before and after), dates, software and build, and the record's
 * signature fingerprint. A run that did not finish, or ended ERROR or
 * ABORTED, gets a certificate that says so first and states no conformity. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "records/output.h"
#include "records/plot.h"
#include "records/records.h"

#define MARGIN 42.0
#define TOP 78.0      /* below the page header */
#define BOTTOM 54.0   /* above the footer */
#define BODY 8.5
#define SMALL 7.4

void rigi_certificate_number(const struct rig_record *rec, char *buf, size_t cap)
{
	size_t n = 0;
	int w = snprintf(buf, cap, "%s-", rec->station.id[0] ? rec->station.id : "RIG");
	if (w < 0 || (size_t)w >= cap)
		return;
	n = (size_t)w;
	for (const char *p = rec->run_id; *p && n + 1 < cap; p++)
		if (*p != '.' && *p != 'Z')
			buf[n++] = *p;
	buf[n] = '\0';
}

int rigi_report_signature(const char *run_dir, char *fp, size_t cap)
{
	char path[2200];
	uint8_t sum[RIGI_SHA256_BYTES];
	char hex[2 * RIGI_SHA256_BYTES + 1];
	snprintf(path, sizeof(path), "%s/record.sig", run_dir);
	FILE *f = fopen(path, "rb");
	if (!f)
		return rigi_sys_fail(errno, "open", path);
	size_t len = 0, got;
	char chunk[512];
	struct rigi_sha256_ctx c;
	rigi_sha256_init(&c);
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rigi_sha256_update(&c, chunk, got);
		len += got;
	}
	int bad = ferror(f);
	fclose(f);
	rigi_sha256_final(&c, sum);
	if (bad || !len)
		return rigi_fail(RIG_ERR_IO, "%s: cannot be read, or is empty", path);
	rigi_hex_encode(sum, sizeof(sum), hex);
	snprintf(fp, cap, "%.16s", hex);
	return 0;
}

/* ---- layout ---- */

struct cert {
	struct rigi_canvas *c;
	const struct rig_record *rec;
	const char *run_dir;
	char number[160];
	double y, w;          /* cursor; text width */
};

static const struct rigi_rgba grey = {0.42, 0.42, 0.42, 1}, rule = {0.70, 0.70, 0.70, 1},
			      head_fill = {0.92, 0.92, 0.92, 1};

/* Header and footer of page @p page of @p pages (rigi_page_fn). */
static void page_frame(struct rigi_canvas *c, int page, int pages, void *user)
{
	const struct cert *k = user;
	struct rigi_text_style t = {.size = 14, .bold = 1};
	struct rigi_text_style n = {.size = BODY, .bold = 1, .align = RIGI_ALIGN_RIGHT};
	struct rigi_text_style s = {.size = SMALL, .color = grey, .align = RIGI_ALIGN_RIGHT};
	double W = rigi_canvas_width(c), H = rigi_canvas_height(c);
	char buf[500];
	rigi_canvas_text(c, MARGIN, 34, "Calibration certificate", &t);
	snprintf(buf, sizeof(buf), "Certificate No. %s", k->number);
	rigi_canvas_text(c, W - MARGIN, 34, buf, &n);
	snprintf(buf, sizeof(buf), "Page %d of %d", page, pages);
	rigi_canvas_text(c, W - MARGIN, 47, buf, &s);
	rigi_canvas_line(c, MARGIN, 62, W - MARGIN, 62, &rule, 0.8);
	rigi_canvas_line(c, MARGIN, H - 42, W - MARGIN, H - 42, &rule, 0.5);
	snprintf(buf, sizeof(buf), "Certificate No. %s — page %d of %d — made by needle-rig %s "
		 "from the signed run record. This certificate shall not be reproduced except in "
		 "full.", k->number, page, pages, rig_version());
	s.align = RIGI_ALIGN_LEFT;
	s.width = W - 2 * MARGIN;
	rigi_canvas_text(c, MARGIN, H - 38, buf, &s);
}

/* Room for @p h more points on this page, else a new page. */
static void need(struct cert *k, double h)
{
	if (k->y + h <= rigi_canvas_height(k->c) - BOTTOM)
		return;
	rigi_canvas_next_page(k->c);
	k->y = TOP;
}

static void heading(struct cert *k, const char *text)
{
	struct rigi_text_style st = {.size = 10.5, .bold = 1};
	need(k, 48);
	k->y += 7;
	k->y += rigi_canvas_text(k->c, MARGIN, k->y, text, &st) + 3;
}

static void para(struct cert *k, const char *text, double size)
{
	struct rigi_text_style st = {.size = size, .width = k->w};
	double h;
	rigi_canvas_text_size(k->c, text, &st, NULL, &h);
	need(k, h);
	k->y += rigi_canvas_text(k->c, MARGIN, k->y, text, &st) + 3;
}

/* A "key: value" line, the value wrapped in its column. */
static void kv(struct cert *k, const char *key, const char *value)
{
	struct rigi_text_style ks = {.size = BODY, .bold = 1, .width = 140};
	struct rigi_text_style vs = {.size = BODY, .width = k->w - 144};
	double hv, hk;
	rigi_canvas_text_size(k->c, value && *value ? value : "—", &vs, NULL, &hv);
	rigi_canvas_text_size(k->c, key, &ks, NULL, &hk);
	need(k, hv > hk ? hv : hk);
	rigi_canvas_text(k->c, MARGIN, k->y, key, &ks);
	rigi_canvas_text(k->c, MARGIN + 144, k->y, value && *value ? value : "—", &vs);
	k->y += (hv > hk ? hv : hk) + 1.5;
}

struct col {
	const char *title;
	double width;
	enum rigi_align align;
};

/* One table row of @p n cells; @p fill (may be NULL, or hold NULLs) colours
 * cells. @p header: bold on grey. Returns its height. */
static double row(struct cert *k, const struct col *cols, size_t n, const char *const *cells,
		  const struct rigi_rgba *const *fill, int header)
{
	double h = 0, x = MARGIN, ch;
	struct rigi_text_style st = {.size = SMALL, .bold = header};
	for (size_t i = 0; i < n; i++) {
		st.width = cols[i].width - 5;
		st.bold = header || (fill && fill[i]);
		rigi_canvas_text_size(k->c, cells[i], &st, NULL, &ch);
		h = ch > h ? ch : h;
	}
	h += 3;
	for (size_t i = 0; i < n; i++) {
		const struct rigi_rgba *f = header ? &head_fill : fill ? fill[i] : NULL;
		rigi_canvas_rect(k->c, x, k->y, cols[i].width, h, f, &rule, 0.4);
		st.width = cols[i].width - 5;
		st.align = cols[i].align;
		st.bold = header || (fill && fill[i]);
		rigi_canvas_text(k->c, x + 2.5, k->y + 1.5, cells[i], &st);
		x += cols[i].width;
	}
	return h;
}

static void table_header(struct cert *k, const struct col *cols, size_t n)
{
	const char *cells[12];
	for (size_t i = 0; i < n && i < 12; i++)
		cells[i] = cols[i].title;
	need(k, 34);
	k->y += row(k, cols, n, cells, NULL, 1);
}

/* A body row, with the header again on top of a new page. */
static void table_row(struct cert *k, const struct col *cols, size_t n, const char *const *cells,
		      const struct rigi_rgba *const *fill)
{
	int page = rigi_canvas_page(k->c);
	need(k, 2 * SMALL + 6);
	if (rigi_canvas_page(k->c) != page)
		table_header(k, cols, n);
	k->y += row(k, cols, n, cells, fill, 0);
}

/* ---- contents ---- */

static int judged_run(const struct rig_record *r)
{
	return !rigi_report_recovered(r) && r->outcome != RIG_OUTCOME_ERROR &&
	       r->outcome != RIG_OUTCOME_ABORTED;
}

static void outcome_box(struct cert *k)
{
	const struct rig_record *r = k->rec;
	struct rigi_rgba bg = rigi_outcome_color(r->outcome), white = {1, 1, 1, 1};
	struct rigi_text_style big = {.size = 20, .bold = 1, .color = white, .width = k->w - 20},
			       first = {.size = 12, .bold = 1, .color = white, .width = k->w - 20},
			       txt = {.size = BODY + 0.5, .color = white, .width = k->w - 20};
	char line[700], result[64];
	const char *lead = NULL;
	if (rigi_report_recovered(r))
		lead = "RUN DID NOT FINISH — no calibration result";
	else if (r->outcome == RIG_OUTCOME_ERROR)
		lead = "STATION ERROR — the unit was not judged";
	else if (r->outcome == RIG_OUTCOME_ABORTED)
		lead = "RUN ABORTED — the unit was not judged";
	snprintf(result, sizeof(result), "Result: %s", rig_outcome_name(r->outcome));
	snprintf(line, sizeof(line), "%s%s%s", r->reason, r->error ? " — " : "",
		 r->error ? rig_errname(r->error) : "");
	double h1 = 0, h2, h3, h4;
	if (lead)
		rigi_canvas_text_size(k->c, lead, &first, NULL, &h1);
	rigi_canvas_text_size(k->c, result, &big, NULL, &h2);
	rigi_canvas_text_size(k->c, line, &txt, NULL, &h3);
	rigi_canvas_text_size(k->c, rigi_report_outcome_meaning(r), &txt, NULL, &h4);
	double h = h1 + h2 + h3 + h4 + 22;
	need(k, h);
	rigi_canvas_rect(k->c, MARGIN, k->y, k->w, h, &bg, NULL, 0);
	double y = k->y + 8;
	if (lead)
		y += rigi_canvas_text(k->c, MARGIN + 10, y, lead, &first);
	y += rigi_canvas_text(k->c, MARGIN + 10, y, result, &big) + 2;
	y += rigi_canvas_text(k->c, MARGIN + 10, y, line, &txt) + 2;
	rigi_canvas_text(k->c, MARGIN + 10, y, rigi_report_outcome_meaning(r), &txt);
	k->y += h + 6;
}

static void identity(struct cert *k)
{
	const struct rig_record *r = k->rec;
	char buf[400], a[40], b[40];
	heading(k, "1. Item calibrated");
	snprintf(buf, sizeof(buf), "%s, serial %s, hardware %s, firmware %s", r->unit.model,
		 r->unit.serial, r->unit.hardware, r->unit.firmware);
	kv(k, "Motorized microneedling pen", r->unit.serial[0] ? buf : "not identified");
	heading(k, "2. Calibration");
	snprintf(buf, sizeof(buf), "%s — %s, nest %u, host %s%s", r->station.id, r->station.name,
		 r->station.nest, r->station.host,
		 r->station.simulated ? " (a simulated station: for demonstration only)" : "");
	kv(k, "Station (laboratory)", buf);
	kv(k, "Performed by (operator)", r->operator_name);
	snprintf(buf, sizeof(buf), "%s to %s", rigi_report_time(r->started_ms, a, sizeof(a)),
		 r->ended_ms ? rigi_report_time(r->ended_ms, b, sizeof(b)) : "not ended");
	kv(k, "Date of calibration", buf);
	rigi_report_time(r->ended_ms ? r->ended_ms : r->started_ms, a, sizeof(a));
	kv(k, "Date of issue", a);
	kv(k, "Run id", r->run_id);
}

static void method(struct cert *k)
{
	const struct rig_record *r = k->rec;
	char buf[RIG_RECORD_PATH_MAX + 200];
	heading(k, "3. Method");
	snprintf(buf, sizeof(buf), "%s version %s (%s)", r->suite_name, r->suite_version,
		 r->suite_path);
	kv(k, "Procedure (suite)", buf);
	kv(k, "Suite SHA-256", r->suite_sha256);
	snprintf(buf, sizeof(buf), "%s, SHA-256 %s", r->station.fixture_path,
		 r->station.fixture_sha256);
	kv(k, "Station fixture", buf);
	para(k, "Needle protrusion beyond the cartridge face and stroke rate are measured by "
		"analysing synchronously sampled needle-tip displacement and phantom force "
		"stroke by stroke (needle-rig docs/calibration.md): as found, depth and rate "
		"sweeps, a monotone fit, a new calibration table written to the pen and read "
		"back, as left. U is the expanded uncertainty, U = k·u_c with coverage factor "
		"k = 2 (about 95 %), from the stroke-to-stroke scatter and the sensor "
		"calibration (GUM).", BODY);
}

static void standards(struct cert *k)
{
	const struct rig_record_station *s = &k->rec->station;
	static const struct col cols[] = {{"Instrument", 70, 0}, {"Serial", 62, 0},
					  {"Certificate", 100, 0}, {"Calibrated", 62, 0},
					  {"Due", 62, 0}, {"u (k = 1)", 60, 0}, {"Nest", 95, 0}};
	heading(k, "4. Measurement standards and traceability");
	table_header(k, cols, 7);
	for (size_t i = 0; i < s->n_instruments; i++) {
		const struct rig_record_instrument *in = &s->instruments[i];
		char ser[24], u[32], nest[24];
		snprintf(ser, sizeof(ser), in->identified ? "%lu" : "not identified",
			 (unsigned long)in->serial);
		if (isfinite(in->standard_uncertainty))
			snprintf(u, sizeof(u), "%g %s", in->standard_uncertainty,
				 rigi_report_unit(in->unit));
		else
			snprintf(u, sizeof(u), "—");
		snprintf(nest, sizeof(nest), in->nest < 0 ? "station" : "%d", in->nest);
		const char *cells[] = {in->role, ser, in->certificate[0] ? in->certificate : "none",
				       in->calibrated[0] ? in->calibrated : "—",
				       in->due[0] ? in->due : "—", u, nest};
		table_row(k, cols, 7, cells, NULL);
	}
	char buf[400];
	snprintf(buf, sizeof(buf), "Phantom: %s%s%s, installed %s, expires %s. The sensors' "
		 "calibration certificates above give the traceability of the results to the SI; "
		 "their uncertainties enter U.", s->phantom.type, s->phantom.lot[0] ? ", lot " : "",
		 s->phantom.lot, s->phantom.installed[0] ? s->phantom.installed : "—",
		 s->phantom.expires[0] ? s->phantom.expires : "never");
	k->y += 3;
	para(k, buf, SMALL + 0.6);
	heading(k, "5. Environmental conditions");
	if (s->simulated)
		para(k, "None measured: this is a simulated station, which has no temperature or "
			"humidity sensor; no environmental data are recorded.", BODY);
	else
		para(k, "None measured: the station has no temperature or humidity sensor; no "
			"environmental data are recorded for this calibration.", BODY);
}

/* The rules the judged measurements used, e.g. "guarded, f = 1". */
static void rules_used(const struct rig_record *r, char *buf, size_t cap)
{
	int seen[2] = {0, 0};
	double f[2] = {NAN, NAN};
	int mixed[2] = {0, 0};
	for (size_t i = 0; i < r->n_steps; i++)
		for (size_t j = 0; j < r->steps[i]->n_measurements; j++) {
			const struct rig_measurement *m = &r->steps[i]->measurements[j];
			int g = m->limit.guard == RIG_GUARD_GUARDED_ACCEPT;
			if (!m->judged || !isfinite(m->limit.guard_factor))
				continue;
			mixed[g] |= seen[g] && f[g] != m->limit.guard_factor;
			seen[g] = 1;
			f[g] = m->limit.guard_factor;
		}
	buf[0] = '\0';
	for (int g = 0; g < 2; g++)
		if (seen[g])
			snprintf(buf + strlen(buf), cap - strlen(buf), "%s\"%s\" with f = %s%g",
				 buf[0] ? " and " : "", rig_guard_name((enum rig_guard)g),
				 mixed[g] ? "up to " : "", f[g]);
	if (!buf[0])
		snprintf(buf, cap, "none (no measurement was judged)");
}

static void decision_rule(struct cert *k)
{
	char used[160], buf[300];
	heading(k, "6. Decision rule");
	para(k, "Guarded acceptance per ILAC-G8:2019. Each result is judged against its tolerance "
		"limits [low, high] with a guard band w = f·U (f ≥ 1). PASS: the measured value "
		"lies inside the acceptance interval [low + w, high − w], so the whole interval "
		"value ± U lies inside the tolerance; the probability that a passed unit is "
		"actually out of tolerance is at most about 2.5 % for f = 1. FAIL (rule "
		"\"guarded\"): the value lies more than w outside the tolerance (value − w > high "
		"or value + w < low), so the whole interval value ± U lies outside; with rule "
		"\"guarded-accept\": the value lies outside the tolerance. INDETERMINATE: "
		"otherwise (inside the guard band) — conformity is neither proven nor disproven; "
		"the unit is recalibrated or retested. A measurement that could not be taken is "
		"ERROR, never FAIL. The run's outcome is the worst of its steps (ERROR > ABORTED "
		"> FAIL > INDETERMINATE > PASS).", BODY);
	rules_used(k->rec, used, sizeof(used));
	snprintf(buf, sizeof(buf), "Rule used in this calibration: %s.", used);
	para(k, buf, BODY);
}

/* Result rows in order: depth, then rate, each by setpoint, then the
 * rest in the order measured. */
struct row_order {
	int group;
	double key;
	size_t i;
};

static int row_cmp(const void *a, const void *b)
{
	const struct row_order *p = a, *q = b;
	if (p->group != q->group)
		return p->group - q->group;
	if (p->key != q->key)
		return p->key < q->key ? -1 : 1;
	return (p->i > q->i) - (p->i < q->i);
}

static struct row_order *order_rows(const struct rig_record_step *s)
{
	struct row_order *o = malloc((s->n_measurements + 1) * sizeof(*o));
	for (size_t i = 0; o && i < s->n_measurements; i++) {
		const struct rig_measurement *m = &s->measurements[i];
		o[i].group = !strcmp(m->quantity, "protrusion") ? 0
			     : !strcmp(m->quantity, "rate")     ? 1
								: 2;
		o[i].key = o[i].group < 2 && isfinite(m->setpoint) ? m->setpoint : (double)i;
		o[i].i = i;
	}
	if (o)
		qsort(o, s->n_measurements, sizeof(*o), row_cmp);
	return o;
}

static void results(struct cert *k, const struct rig_record_step *s, const char *title)
{
	static const struct col cols[] = {{"Measurement", 133, 0}, {"Setpoint", 41, 2},
					  {"Value", 54, 2}, {"Error", 42, 2}, {"U (k)", 40, 2},
					  {"Tolerance", 64, 2}, {"Acceptance", 64, 2},
					  {"Result", 73, 1}};
	char head[200];
	snprintf(head, sizeof(head), "%s — step %s: %s", title, s->name,
		 rig_outcome_name(s->outcome));
	heading(k, head);
	table_header(k, cols, 8);
	size_t shown = 0;
	struct row_order *order = order_rows(s);
	for (size_t o = 0; o < s->n_measurements; o++) {
		const struct rig_measurement *m = &s->measurements[order ? order[o].i : o];
		if (!m->judged)
			continue;
		char sp[32], v[48], e[32], u[40], t[64], a[64], x[24], y[24];
		int d = rigi_report_decimals(m->u_expanded);
		struct rigi_rgba pale = rigi_outcome_pale(m->outcome);
		rigi_report_num(sp, sizeof(sp), m->setpoint, 0, 0);
		snprintf(v, sizeof(v), "%s %s", rigi_report_num(x, sizeof(x), m->value, d, 0),
			 rigi_report_unit(m->unit));
		rigi_report_num(e, sizeof(e), m->error, d, 1);
		rigi_report_num(x, sizeof(x), m->u_expanded, d, 0);
		snprintf(u, sizeof(u), "%s (%g)", x, m->k);
		snprintf(t, sizeof(t), "%s–%s", rigi_report_num(x, sizeof(x), m->limit.low, d, 0),
			 rigi_report_num(y, sizeof(y), m->limit.high, d, 0));
		snprintf(a, sizeof(a), "%s–%s", rigi_report_num(x, sizeof(x), m->accept_low, d, 0),
			 rigi_report_num(y, sizeof(y), m->accept_high, d, 0));
		const char *cells[] = {m->name, sp, v, e, u, t, a, rig_outcome_name(m->outcome)};
		const struct rigi_rgba *fill[8] = {NULL};
		fill[7] = &pale;
		table_row(k, cols, 8, cells, fill);
		shown++;
	}
	free(order);
	if (!shown)
		para(k, "No measurement of this step was judged.", SMALL + 0.6);
	k->y += 3;
	for (size_t i = 0; i < s->n_measurements; i++) {
		const struct rig_measurement *m = &s->measurements[i];
		char note[RIG_MEASUREMENT_REASON_MAX + 100];
		if (!m->judged || m->outcome == RIG_OUTCOME_PASS)
			continue;
		snprintf(note, sizeof(note), "%s %s: %s", m->name, rig_outcome_name(m->outcome),
			 m->reason);
		para(k, note, SMALL + 0.6);
	}
	if (s->reason[0]) {
		char note[RIG_RECORD_REASON_MAX + RIG_RECORD_NAME_MAX + 16];
		snprintf(note, sizeof(note), "Step %s: %s", s->name, s->reason);
		para(k, note, SMALL + 0.6);
	}
}

static void knot_cells(const long *kn, char c[4][24])
{
	for (int q = 0; q < 4; q++)
		snprintf(c[q], 24, kn && q ? "—" : "");
	if (!kn)
		return;
	for (int q = 0; q < 3; q++)
		if (kn[q] >= 0)
			snprintf(c[q], 24, "%ld", kn[q]);
	if (kn[1] >= 0 && kn[2] >= 0)
		snprintf(c[3], 24, "%+ld", kn[2] - kn[1]);
}

static void adjustment(struct cert *k)
{
	const struct rig_record *r = k->rec;
	static const struct col cols[] = {
		{"Depth (µm)", 64, 2},         {"code before", 64, 2},     {"code after", 64, 2},
		{"change", 63, 2},             {"Rate (strokes/min)", 64, 2},
		{"duty before (‰)", 64, 2},    {"duty after (‰)", 64, 2},  {"change", 64, 2}};
	const struct rig_cal_table *b = r->unit.has_previous_table ? &r->unit.previous_table.decoded
								  : NULL,
				   *a = r->has_table ? &r->table.decoded : NULL;
	long dk[2 * RIG_CAL_TABLE_MAX_KNOTS][3], rk[2 * RIG_CAL_TABLE_MAX_KNOTS][3];
	char buf[600];
	heading(k, "8. Adjustment: the calibration table before and after");
	if (a)
		snprintf(buf, sizeof(buf), "A new table (table_seq %lu, slot %c, %zu bytes) was "
			 "written to the pen; commit: %s — %s; read back: %s.",
			 (unsigned long)a->table_seq, r->table.slot ? 'B' : 'A', r->table.len,
			 rig_commit_status_name(r->commit), r->commit_detail,
			 r->read_back < 0 ? "not done" : r->read_back ? "identical" : "DIFFERED");
	else
		snprintf(buf, sizeof(buf), "No adjustment: no table was written by this run; the "
			 "pen keeps its table%s.", b ? " (shown as before)" : "");
	para(k, buf, BODY);
	if (b) {
		snprintf(buf, sizeof(buf), "Table before: table_seq %lu, slot %c, as found at "
			 "identify.", (unsigned long)b->table_seq,
			 r->unit.previous_table.slot ? 'B' : 'A');
		para(k, buf, BODY);
	}
	if (!a && !b)
		return;
	size_t nd = rigi_report_knots(b, a, 1, dk, 2 * RIG_CAL_TABLE_MAX_KNOTS),
	       nr = rigi_report_knots(b, a, 0, rk, 2 * RIG_CAL_TABLE_MAX_KNOTS);
	table_header(k, cols, 8);
	for (size_t i = 0; i < nd || i < nr; i++) {
		char c[2][4][24];
		knot_cells(i < nd ? dk[i] : NULL, c[0]);
		knot_cells(i < nr ? rk[i] : NULL, c[1]);
		const char *cells[8] = {c[0][0], c[0][1], c[0][2], c[0][3],
					c[1][0], c[1][1], c[1][2], c[1][3]};
		table_row(k, cols, 8, cells, NULL);
	}
}

static void conformity(struct cert *k)
{
	const struct rig_record *r = k->rec;
	char buf[RIG_RECORD_REASON_MAX + 300];
	heading(k, "10. Statement of conformity");
	if (judged_run(r))
		snprintf(buf, sizeof(buf), "Overall outcome: %s — %s. Judged by the decision rule "
			 "of section 6 against the suite's tolerances, as left where the unit was "
			 "adjusted.", rig_outcome_name(r->outcome), r->reason);
	else
		snprintf(buf, sizeof(buf), "Overall outcome: %s — %s. No statement of conformity "
			 "is made: the unit was not judged; retest it.",
			 rig_outcome_name(r->outcome), r->reason);
	para(k, buf, BODY + 0.5);
	if (!r->safe_state_confirmed) {
		snprintf(buf, sizeof(buf), "The pen's safe state was NOT confirmed at the end of "
			 "the run: %s.", r->safe_state_detail);
		para(k, buf, BODY);
	}
}

static void evidence(struct cert *k)
{
	const struct rig_record *r = k->rec;
	char buf[300], fp[20];
	heading(k, "11. Record, software and signature");
	snprintf(buf, sizeof(buf), "needle-rig %s, build %s", r->software_version,
		 r->software_commit);
	kv(k, "Software", buf);
	snprintf(buf, sizeof(buf), "record.json of run %s; journal of %llu events, last line "
		 "SHA-256 %.16s…", r->run_id, (unsigned long long)r->journal_events,
		 r->journal_sha256);
	kv(k, "Record", buf);
	if (rigi_report_signature(k->run_dir, fp, sizeof(fp)) == 0)
		snprintf(buf, sizeof(buf), "%s (first 16 hex digits of the SHA-256 of record.sig)",
			 fp);
	else
		snprintf(buf, sizeof(buf), "none: the record has no record.sig (not signed)");
	kv(k, "Signature fingerprint", buf);
	kv(k, "Signer public key (Ed25519)", r->signer_public_key[0] ? r->signer_public_key
								    : "none");
	para(k, "The record is signed by the station with Ed25519; check it and its journal with "
		"`rig records verify`. This certificate is derived from the signed record.",
	     SMALL + 0.6);
}

static void render(struct cert *k)
{
	const struct rig_record *r = k->rec;
	int found = 0, left = 0;
	k->w = rigi_canvas_width(k->c) - 2 * MARGIN;
	k->y = TOP;
	outcome_box(k);
	identity(k);
	method(k);
	standards(k);
	decision_rule(k);
	for (size_t i = 0; i < r->n_steps; i++)
		if (!strcmp(r->steps[i]->type, "as_found"))
			results(k, r->steps[i], "7. Results as found"), found = 1;
	if (!found) {
		heading(k, "7. Results as found");
		para(k, "No as-found step ran.", BODY);
	}
	adjustment(k);
	for (size_t i = 0; i < r->n_steps; i++)
		if (!strcmp(r->steps[i]->type, "as_left"))
			results(k, r->steps[i], "9. Results as left"), left = 1;
	if (!left) {
		heading(k, "9. Results as left");
		para(k, "No as-left step ran: the unit was not measured after adjustment.", BODY);
	}
	conformity(k);
	evidence(k);
}

static int write_pdf(const struct rig_report_input *in, const char *path)
{
	struct cert k = {.rec = in->record, .run_dir = in->run_dir};
	char title[300], date[32] = "", creator[64], *pdf = NULL;
	size_t len = 0;
	if (!in->record || !in->run_dir || !path)
		return rigi_fail(RIG_ERR_ARG, "pdf certificate: record, run folder and path are "
				 "needed");
	int64_t ms = k.rec->ended_ms ? k.rec->ended_ms : k.rec->started_ms;
	if (rig_time_format_utc(ms, date, sizeof(date)) == 0)
		date[19] = '\0';
	rigi_certificate_number(in->record, k.number, sizeof(k.number));
	snprintf(title, sizeof(title), "Calibration certificate %s (%s)", k.number,
		 k.rec->unit.serial);
	snprintf(creator, sizeof(creator), "needle-rig %s", rig_version());
	int ret = rigi_canvas_pdf(RIGI_A4_WIDTH_PT, RIGI_A4_HEIGHT_PT, title, creator,
				  date[0] ? date : NULL, page_frame, &k, &k.c);
	if (ret == 0) {
		render(&k);
		ret = rigi_canvas_finish(k.c, NULL, &pdf, &len);
	}
	if (ret == 0)
		ret = rigi_atomic_write(path, pdf, len);
	else
		rigi_error_context("%s", path);
	free(pdf);
	return ret;
}

const struct rig_output_module rigi_output_pdf = {
	.id = "pdf",
	.description = "the calibration certificate, 1 to 3 A4 pages (ISO/IEC 17025 §7.8)",
	.file_name = "certificate.pdf",
	.write = write_pdf,
};
