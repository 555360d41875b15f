/* The drawing and plotting layer of the report writers (plot.h): the
 * project's only caller of cairo and pango. Canvases are SVG pictures or
 * PDF documents written to memory; text is laid out by pango in
 * "DejaVu Sans"; plots have nice-number ticks, a grid, clipped series
 * (lines, markers with error bars, filled bands) and a legend below.
 * cairo's errors are turned into rig errors when a canvas is finished. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include "core/core.h"
#include "records/plot.h"

#define FONT_FAMILY "DejaVu Sans"
#define FONT_MONO "DejaVu Sans Mono"

struct membuf {
	char *p;
	size_t len, cap;
	int oom;
};

struct rigi_canvas {
	int pdf;
	double w, h;
	cairo_surface_t *surface;   /* the SVG or PDF surface */
	cairo_t *cr;                /* what is drawn on now: the SVG, or a PDF page's recording */
	PangoLayout *layout;
	PangoFontDescription *font;
	struct membuf out;
	/* PDF: the pages recorded so far (the last is being drawn), replayed
	 * into the document at the end with their decoration. */
	cairo_surface_t **pages;
	size_t n_pages, cap_pages;
	rigi_page_fn decorate;
	void *user;
};

static cairo_status_t mem_write(void *closure, const unsigned char *data, unsigned int n)
{
	struct membuf *b = closure;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 65536;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return CAIRO_STATUS_WRITE_ERROR;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return CAIRO_STATUS_SUCCESS;
}

/* The rig error for a cairo status (CAIRO_STATUS_SUCCESS: 0). */
static int cairo_fail(cairo_status_t st, const struct membuf *b, const char *what)
{
	if (st == CAIRO_STATUS_SUCCESS)
		return 0;
	if (st == CAIRO_STATUS_NO_MEMORY || (b && b->oom))
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory while cairo drew the report; "
				 "free memory and make the report again (rig report)", what);
	return rigi_fail(RIG_ERR_INTERNAL, "%s: cairo failed: %s; this is a bug of the report "
			 "writer, please report it with the run folder", what,
			 cairo_status_to_string(st));
}

/* Text set-up shared by SVG and PDF: one layout, unhinted metrics and
 * unrounded glyph positions, so text looks the same at any zoom. */
static int canvas_setup(struct rigi_canvas *c, cairo_surface_t *target, const char *what)
{
	int ret = cairo_fail(cairo_surface_status(c->surface), &c->out, what);
	if (ret < 0 || (ret = cairo_fail(cairo_surface_status(target), NULL, what)) < 0)
		return ret;
	c->cr = cairo_create(target);
	if ((ret = cairo_fail(cairo_status(c->cr), &c->out, what)) < 0)
		return ret;
	c->layout = pango_cairo_create_layout(c->cr);
	c->font = pango_font_description_from_string(FONT_FAMILY);
	if (!c->layout || !c->font)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory setting up pango", what);
	PangoContext *ctx = pango_layout_get_context(c->layout);
	cairo_font_options_t *fo = cairo_font_options_create();
	cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
	cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_NONE);
	pango_cairo_context_set_font_options(ctx, fo);
	cairo_font_options_destroy(fo);
	pango_context_set_round_glyph_positions(ctx, FALSE);
	pango_layout_context_changed(c->layout);
	cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
	return 0;
}

int rigi_canvas_svg(double w, double h, struct rigi_canvas **out)
{
	struct rigi_canvas *c = calloc(1, sizeof(*c));
	*out = NULL;
	if (!c)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory for an SVG picture");
	c->w = w;
	c->h = h;
	c->surface = cairo_svg_surface_create_for_stream(mem_write, &c->out, w, h);
	cairo_svg_surface_restrict_to_version(c->surface, CAIRO_SVG_VERSION_1_1);
	cairo_svg_surface_set_document_unit(c->surface, CAIRO_SVG_UNIT_USER);
	int ret = canvas_setup(c, c->surface, "SVG picture");
	if (ret < 0) {
		rigi_canvas_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

/* A new recorded page; its surface is appended to c->pages. */
static cairo_surface_t *page_new(struct rigi_canvas *c)
{
	if (c->n_pages == c->cap_pages) {
		size_t cap = c->cap_pages ? 2 * c->cap_pages : 4;
		cairo_surface_t **p = realloc(c->pages, cap * sizeof(*p));
		if (!p)
			return NULL;
		c->pages = p;
		c->cap_pages = cap;
	}
	cairo_rectangle_t r = {0, 0, c->w, c->h};
	c->pages[c->n_pages] = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &r);
	return c->pages[c->n_pages++];
}

static void pdf_metadata(cairo_surface_t *s, const char *title, const char *creator,
			 const char *date)
{
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
		return;
	if (title)
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	if (creator)
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, creator);
	if (date) {
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, date);
		cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_MOD_DATE, date);
	}
}

int rigi_canvas_pdf(double w, double h, const char *title, const char *creator,
		    const char *date, rigi_page_fn decorate, void *user, struct rigi_canvas **out)
{
	struct rigi_canvas *c = calloc(1, sizeof(*c));
	cairo_surface_t *page;
	int ret;
	*out = NULL;
	if (!c)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory for a PDF document");
	c->pdf = 1;
	c->w = w;
	c->h = h;
	c->decorate = decorate;
	c->user = user;
	c->surface = cairo_pdf_surface_create_for_stream(mem_write, &c->out, w, h);
	pdf_metadata(c->surface, title, creator, date);
	if (!(page = page_new(c)))
		ret = rigi_fail(RIG_ERR_NOMEM, "out of memory for a PDF page");
	else
		ret = canvas_setup(c, page, "PDF document");
	if (ret < 0) {
		rigi_canvas_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

double rigi_canvas_width(const struct rigi_canvas *c)
{
	return c->w;
}

double rigi_canvas_height(const struct rigi_canvas *c)
{
	return c->h;
}

int rigi_canvas_page(const struct rigi_canvas *c)
{
	return c->pdf ? (int)c->n_pages : 1;
}

void rigi_canvas_next_page(struct rigi_canvas *c)
{
	cairo_surface_t *page;
	if (!c->pdf || cairo_status(c->cr) != CAIRO_STATUS_SUCCESS)
		return; /* the error stays in c->cr, for rigi_canvas_finish */
	if (!(page = page_new(c))) {
		c->out.oom = 1; /* reported by rigi_canvas_finish */
		return;
	}
	cairo_destroy(c->cr);
	c->cr = cairo_create(page);
	cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
	pango_cairo_update_layout(c->cr, c->layout);
}

void rigi_canvas_free(struct rigi_canvas *c)
{
	if (!c)
		return;
	if (c->layout)
		g_object_unref(c->layout);
	if (c->font)
		pango_font_description_free(c->font);
	if (c->cr)
		cairo_destroy(c->cr);
	for (size_t i = 0; i < c->n_pages; i++)
		cairo_surface_destroy(c->pages[i]);
	free(c->pages);
	if (c->surface)
		cairo_surface_destroy(c->surface);
	free(c->out.p);
	free(c);
}

/* The <svg> element of cairo's document with every id, href="#..." and
 * url(#...) prefixed by @p prefix. malloc'd, or NULL (out of memory). */
static char *svg_prefix_ids(const char *doc, size_t len, const char *prefix, size_t *out_len)
{
	static const char *const keys[] = {"id=\"", "href=\"#", "url(#"};
	static const size_t klen[] = {4, 7, 5};
	const char *p = strstr(doc, "<svg"), *end = doc + len;
	size_t pl = strlen(prefix), n = 0, cap;
	if (!p)
		p = doc;
	cap = (size_t)(end - p) + 1 + 4096 * pl;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	while (p < end) {
		size_t run = strcspn(p, "ihu"), k = 3;
		if (n + run + 16 + pl > cap) {
			char *o = realloc(out, cap = (n + run + 16 + pl) * 2);
			if (!o) {
				free(out);
				return NULL;
			}
			out = o;
		}
		memcpy(out + n, p, run);
		n += run;
		p += run;
		if (p >= end)
			break;
		for (k = 0; k < 3 && strncmp(p, keys[k], klen[k]) != 0; k++)
			;
		if (k == 3) {
			out[n++] = *p++;
			continue;
		}
		memcpy(out + n, p, klen[k]);
		memcpy(out + n + klen[k], prefix, pl);
		n += klen[k] + pl;
		p += klen[k];
	}
	out[n] = '\0';
	*out_len = n;
	return out;
}

/* Replay the recorded pages into the PDF, each with its decoration. */
static int pdf_pages(struct rigi_canvas *c)
{
	cairo_destroy(c->cr);
	c->cr = cairo_create(c->surface);
	cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
	pango_cairo_update_layout(c->cr, c->layout);
	for (size_t i = 0; i < c->n_pages; i++) {
		cairo_set_source_surface(c->cr, c->pages[i], 0, 0);
		cairo_paint(c->cr);
		if (c->decorate)
			c->decorate(c, (int)i + 1, (int)c->n_pages, c->user);
		cairo_show_page(c->cr);
	}
	return cairo_fail(cairo_status(c->cr), &c->out, "PDF document");
}

int rigi_canvas_finish(struct rigi_canvas *c, const char *id_prefix, char **data, size_t *len)
{
	const char *what = c->pdf ? "PDF document" : "SVG picture";
	int ret = cairo_fail(cairo_status(c->cr), &c->out, what);
	*data = NULL;
	*len = 0;
	if (ret == 0 && c->out.oom)
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", what);
	if (ret == 0 && c->pdf)
		ret = pdf_pages(c);
	if (ret == 0) {
		cairo_destroy(c->cr);
		c->cr = NULL;
		cairo_surface_finish(c->surface);
		ret = cairo_fail(cairo_surface_status(c->surface), &c->out, what);
	}
	if (ret == 0 && !c->out.p)
		ret = rigi_fail(RIG_ERR_INTERNAL, "%s: cairo wrote nothing", what);
	if (ret == 0 && c->pdf) {
		*data = c->out.p;
		*len = c->out.len;
		c->out.p = NULL;
	} else if (ret == 0) {
		*data = svg_prefix_ids(c->out.p, c->out.len, id_prefix ? id_prefix : "", len);
		if (!*data)
			ret = rigi_fail(RIG_ERR_NOMEM, "out of memory for an SVG picture");
	}
	rigi_canvas_free(c);
	return ret;
}

/* ---- text ---- */

static void set_color(cairo_t *cr, const struct rigi_rgba *col)
{
	double a = col->a > 0 ? col->a : 1.0;
	cairo_set_source_rgba(cr, col->r, col->g, col->b, a);
}

/* Lay @p text out in the canvas's layout with @p st. */
static void layout_text(struct rigi_canvas *c, const char *text, const struct rigi_text_style *st)
{
	double size = st && st->size > 0 ? st->size : 9.0;
	pango_font_description_set_family(c->font, st && st->mono ? FONT_MONO : FONT_FAMILY);
	pango_font_description_set_absolute_size(c->font, size * PANGO_SCALE);
	pango_font_description_set_weight(c->font, st && st->bold ? PANGO_WEIGHT_BOLD
								  : PANGO_WEIGHT_NORMAL);
	pango_layout_set_font_description(c->layout, c->font);
	if (st && st->width > 0) {
		pango_layout_set_width(c->layout, (int)(st->width * PANGO_SCALE));
		pango_layout_set_wrap(c->layout, PANGO_WRAP_WORD_CHAR);
	} else {
		pango_layout_set_width(c->layout, -1);
	}
	PangoAlignment al = PANGO_ALIGN_LEFT;
	if (st && st->align == RIGI_ALIGN_CENTER)
		al = PANGO_ALIGN_CENTER;
	else if (st && st->align == RIGI_ALIGN_RIGHT)
		al = PANGO_ALIGN_RIGHT;
	pango_layout_set_alignment(c->layout, al);
	if (g_utf8_validate(text, -1, NULL)) {
		pango_layout_set_text(c->layout, text, -1);
	} else {
		gchar *valid = g_utf8_make_valid(text, -1);
		pango_layout_set_text(c->layout, valid ? valid : "?", -1);
		g_free(valid);
	}
}

void rigi_canvas_text_size(struct rigi_canvas *c, const char *text,
			   const struct rigi_text_style *st, double *w, double *h)
{
	int pw, ph;
	layout_text(c, text, st);
	pango_layout_get_size(c->layout, &pw, &ph);
	if (w)
		*w = (double)pw / PANGO_SCALE;
	if (h)
		*h = (double)ph / PANGO_SCALE;
}

double rigi_canvas_text(struct rigi_canvas *c, double x, double y, const char *text,
			const struct rigi_text_style *st)
{
	int pw, ph;
	static const struct rigi_text_style plain = {0};
	if (!st)
		st = &plain;
	layout_text(c, text, st);
	pango_layout_get_size(c->layout, &pw, &ph);
	if (st->width <= 0 && st->align == RIGI_ALIGN_CENTER)
		x -= (double)pw / PANGO_SCALE / 2;
	else if (st->width <= 0 && st->align == RIGI_ALIGN_RIGHT)
		x -= (double)pw / PANGO_SCALE;
	set_color(c->cr, &st->color);
	cairo_move_to(c->cr, x, y);
	pango_cairo_show_layout(c->cr, c->layout);
	return (double)ph / PANGO_SCALE;
}

/* Text turned 90° counter-clockwise, centred on (x, y). */
static void text_vertical(struct rigi_canvas *c, double x, double y, const char *text,
			  const struct rigi_text_style *st)
{
	double w, h;
	rigi_canvas_text_size(c, text, st, &w, &h);
	cairo_save(c->cr);
	cairo_translate(c->cr, x, y);
	cairo_rotate(c->cr, -M_PI / 2);
	pango_cairo_update_layout(c->cr, c->layout);
	set_color(c->cr, &st->color);
	cairo_move_to(c->cr, -w / 2, -h / 2);
	pango_cairo_show_layout(c->cr, c->layout);
	cairo_restore(c->cr);
	pango_cairo_update_layout(c->cr, c->layout);
}

void rigi_canvas_rect(struct rigi_canvas *c, double x, double y, double w, double h,
		      const struct rigi_rgba *fill, const struct rigi_rgba *stroke, double lw)
{
	cairo_rectangle(c->cr, x, y, w, h);
	if (fill) {
		set_color(c->cr, fill);
		if (stroke)
			cairo_fill_preserve(c->cr);
		else
			cairo_fill(c->cr);
	}
	if (stroke) {
		set_color(c->cr, stroke);
		cairo_set_line_width(c->cr, lw > 0 ? lw : 0.5);
		cairo_stroke(c->cr);
	}
	cairo_new_path(c->cr);
}

void rigi_canvas_line(struct rigi_canvas *c, double x0, double y0, double x1, double y1,
		      const struct rigi_rgba *color, double lw)
{
	cairo_move_to(c->cr, x0, y0);
	cairo_line_to(c->cr, x1, y1);
	set_color(c->cr, color);
	cairo_set_line_width(c->cr, lw > 0 ? lw : 0.5);
	cairo_stroke(c->cr);
}

/* ---- plots ---- */

struct frame {
	double px, py, pw, ph;          /* plot area */
	double x0, x1, y0, y1;          /* data ranges */
	double xstep, ystep;            /* tick steps */
};

static double map_x(const struct frame *f, double x)
{
	return f->px + (x - f->x0) / (f->x1 - f->x0) * f->pw;
}

static double map_y(const struct frame *f, double y)
{
	return f->py + f->ph - (y - f->y0) / (f->y1 - f->y0) * f->ph;
}

/* A round tick step (1, 2 or 5 times a power of ten) for about @p n ticks. */
static double nice_step(double span, double n)
{
	double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * p;
}

struct rigi_series rigi_points(const char *legend, const double *x, const double *y,
				      size_t n, struct rigi_rgba color, double size,
				      enum rigi_marker marker)
{
	return (struct rigi_series){.kind = RIGI_SERIES_POINTS, .legend = legend, .x = x, .y = y,
				    .n = n, .color = color, .width = size, .marker = marker};
}

struct rigi_series rigi_line(const char *legend, const double *x, const double *y,
				    size_t n, struct rigi_rgba color, double width)
{
	return (struct rigi_series){.kind = RIGI_SERIES_LINE, .legend = legend, .x = x, .y = y,
				    .n = n, .color = color, .width = width};
}

static void extend(double *lo, double *hi, double v)
{
	if (!isfinite(v))
		return;
	if (v < *lo)
		*lo = v;
	if (v > *hi)
		*hi = v;
}

/* The data range of the plot's series along x (@p axis 0) or y (1). */
static void data_range(const struct rigi_plot *p, int axis, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (size_t s = 0; s < p->n_series; s++) {
		const struct rigi_series *sr = &p->series[s];
		for (size_t i = 0; i < sr->n; i++) {
			if (axis == 0) {
				if (isfinite(sr->y[i]))
					extend(lo, hi, sr->x[i]);
				continue;
			}
			if (!isfinite(sr->x[i]))
				continue;
			double dy = sr->dy && isfinite(sr->dy[i]) ? sr->dy[i] : 0;
			extend(lo, hi, sr->y[i] - dy);
			extend(lo, hi, sr->y[i] + dy);
			if (sr->y2)
				extend(lo, hi, sr->y2[i]);
		}
	}
}

/* Resolve one axis: given limits, or the data's with a 5 % margin. */
static void axis_range(const struct rigi_plot *p, int axis, double want_lo, double want_hi,
		       double n_ticks, double *lo, double *hi, double *step)
{
	double dlo, dhi;
	data_range(p, axis, &dlo, &dhi);
	if (!isfinite(dlo)) {
		dlo = 0;
		dhi = 1;
	}
	double span = dhi - dlo;
	if (span <= 0)
		span = fabs(dhi) > 0 ? fabs(dhi) * 0.2 : 1.0;
	*lo = isfinite(want_lo) ? want_lo : (dhi - dlo > 0 ? dlo - 0.05 * span : dlo - span);
	*hi = isfinite(want_hi) ? want_hi : (dhi - dlo > 0 ? dhi + 0.05 * span : dhi + span);
	if (*hi <= *lo)
		*hi = *lo + 1;
	*step = nice_step(*hi - *lo, n_ticks);
}

/* The index of the first tick at or above @p lo. */
static long first_tick(double lo, double step)
{
	return lround(ceil(lo / step - 1e-9));
}

static void tick_label(double v, double step, char *buf, size_t cap)
{
	int dec = (int)(-floor(log10(step) + 1e-9));
	if (dec < 0)
		dec = 0;
	if (fabs(v) < step * 1e-9)
		v = 0.0;
	snprintf(buf, cap, "%.*f", dec, v);
}

/* Width of the widest y tick label. */
static double y_labels_width(struct rigi_canvas *c, const struct frame *f,
			     const struct rigi_text_style *st)
{
	char buf[32];
	double wmax = 0, w;
	for (long i = first_tick(f->y0, f->ystep); i * f->ystep <= f->y1 + f->ystep * 1e-9; i++) {
		tick_label(i * f->ystep, f->ystep, buf, sizeof(buf));
		rigi_canvas_text_size(c, buf, st, &w, NULL);
		if (w > wmax)
			wmax = w;
	}
	return wmax;
}

static const struct rigi_rgba grid_color = {0.88, 0.88, 0.88, 1};
static const struct rigi_rgba axis_color = {0.35, 0.35, 0.35, 1};

static void draw_axes(struct rigi_canvas *c, const struct rigi_plot *p, const struct frame *f,
		      const struct rigi_text_style *st)
{
	char buf[32];
	cairo_t *cr = c->cr;
	double fs = st->size;
	for (long i = first_tick(f->x0, f->xstep); i * f->xstep <= f->x1 + f->xstep * 1e-9; i++) {
		double v = (double)i * f->xstep, X = map_x(f, v);
		rigi_canvas_line(c, X, f->py, X, f->py + f->ph, &grid_color, 0.5);
		rigi_canvas_line(c, X, f->py + f->ph, X, f->py + f->ph + 3, &axis_color, 0.7);
		tick_label(v, f->xstep, buf, sizeof(buf));
		struct rigi_text_style t = *st;
		t.align = RIGI_ALIGN_CENTER;
		rigi_canvas_text(c, X, f->py + f->ph + 4, buf, &t);
	}
	for (long i = first_tick(f->y0, f->ystep); i * f->ystep <= f->y1 + f->ystep * 1e-9; i++) {
		double v = (double)i * f->ystep, Y = map_y(f, v);
		rigi_canvas_line(c, f->px, Y, f->px + f->pw, Y, &grid_color, 0.5);
		rigi_canvas_line(c, f->px - 3, Y, f->px, Y, &axis_color, 0.7);
		tick_label(v, f->ystep, buf, sizeof(buf));
		struct rigi_text_style t = *st;
		t.align = RIGI_ALIGN_RIGHT;
		rigi_canvas_text(c, f->px - 5, Y - fs * 0.62, buf, &t);
	}
	if (p->zero_line && f->y0 < 0 && f->y1 > 0)
		rigi_canvas_line(c, f->px, map_y(f, 0), f->px + f->pw, map_y(f, 0), &axis_color,
				 0.8);
	cairo_new_path(cr);
	rigi_canvas_rect(c, f->px, f->py, f->pw, f->ph, NULL, &axis_color, 0.8);
}

static void marker_path(cairo_t *cr, enum rigi_marker m, double x, double y, double s)
{
	double r = s / 2;
	switch (m) {
	case RIGI_MARK_SQUARE:
		cairo_rectangle(cr, x - r * 0.9, y - r * 0.9, 1.8 * r, 1.8 * r);
		break;
	case RIGI_MARK_TRIANGLE:
		cairo_move_to(cr, x, y - r * 1.15);
		cairo_line_to(cr, x + r, y + r * 0.75);
		cairo_line_to(cr, x - r, y + r * 0.75);
		cairo_close_path(cr);
		break;
	case RIGI_MARK_DIAMOND:
		cairo_move_to(cr, x, y - r * 1.2);
		cairo_line_to(cr, x + r, y);
		cairo_line_to(cr, x, y + r * 1.2);
		cairo_line_to(cr, x - r, y);
		cairo_close_path(cr);
		break;
	case RIGI_MARK_CROSS:
		cairo_move_to(cr, x - r, y - r);
		cairo_line_to(cr, x + r, y + r);
		cairo_move_to(cr, x - r, y + r);
		cairo_line_to(cr, x + r, y - r);
		break;
	case RIGI_MARK_PLUS:
		cairo_move_to(cr, x - r, y);
		cairo_line_to(cr, x + r, y);
		cairo_move_to(cr, x, y - r);
		cairo_line_to(cr, x, y + r);
		break;
	case RIGI_MARK_VBAR:
		cairo_move_to(cr, x, y - 1.6 * r);
		cairo_line_to(cr, x, y + 1.6 * r);
		break;
	default:
		cairo_new_sub_path(cr);
		cairo_arc(cr, x, y, r, 0, 2 * M_PI);
		break;
	}
}

static int marker_is_line(enum rigi_marker m)
{
	return m == RIGI_MARK_CROSS || m == RIGI_MARK_PLUS || m == RIGI_MARK_VBAR;
}

static void draw_marker(cairo_t *cr, const struct rigi_series *s, double x, double y)
{
	double size = s->width > 0 ? s->width : 5;
	marker_path(cr, s->marker, x, y, size);
	set_color(cr, &s->color);
	if (marker_is_line(s->marker)) {
		cairo_set_line_width(cr, size / 4 > 1 ? size / 4 : 1);
		cairo_stroke(cr);
	} else if (s->hollow) {
		cairo_set_source_rgb(cr, 1, 1, 1);
		cairo_fill_preserve(cr);
		set_color(cr, &s->color);
		cairo_set_line_width(cr, 1.0);
		cairo_stroke(cr);
	} else {
		cairo_fill(cr);
	}
}

/* All the markers of @p s as one path, filled (or stroked, for the line
 * markers) once: the SVG holds one element, not one per point. */
static void draw_points_merged(cairo_t *cr, const struct frame *f, const struct rigi_series *s)
{
	double size = s->width > 0 ? s->width : 5;
	for (size_t i = 0; i < s->n; i++)
		if (isfinite(s->x[i]) && isfinite(s->y[i]))
			marker_path(cr, s->marker, map_x(f, s->x[i]), map_y(f, s->y[i]), size);
	set_color(cr, &s->color);
	if (marker_is_line(s->marker)) {
		cairo_set_line_width(cr, size / 4 > 1 ? size / 4 : 1);
		cairo_stroke(cr);
	} else {
		cairo_fill(cr);
	}
}

static void draw_points(struct rigi_canvas *c, const struct frame *f, const struct rigi_series *s)
{
	if (s->merged && !s->dy && !s->hollow) {
		draw_points_merged(c->cr, f, s);
		return;
	}
	cairo_t *cr = c->cr;
	double size = s->width > 0 ? s->width : 5;
	for (size_t i = 0; s->dy && i < s->n; i++) {
		if (!isfinite(s->x[i]) || !isfinite(s->y[i]) || !isfinite(s->dy[i]))
			continue;
		double X = map_x(f, s->x[i]), lo = map_y(f, s->y[i] - s->dy[i]),
		       hi = map_y(f, s->y[i] + s->dy[i]);
		cairo_move_to(cr, X, lo);
		cairo_line_to(cr, X, hi);
		cairo_move_to(cr, X - size * 0.6, lo);
		cairo_line_to(cr, X + size * 0.6, lo);
		cairo_move_to(cr, X - size * 0.6, hi);
		cairo_line_to(cr, X + size * 0.6, hi);
	}
	if (s->dy) {
		set_color(cr, &s->color);
		cairo_set_line_width(cr, 0.9);
		cairo_stroke(cr);
	}
	for (size_t i = 0; i < s->n; i++)
		if (isfinite(s->x[i]) && isfinite(s->y[i]))
			draw_marker(cr, s, map_x(f, s->x[i]), map_y(f, s->y[i]));
}

/* Decimation of a long polyline: per unit-wide column, its lowest and
 * highest points, in their order; the shape is kept at the resolution
 * drawn (one unit is a pixel of the SVG, a point of the PDF). */
struct column {
	long col;
	size_t lo, hi;
	int open;
};

static void column_flush(cairo_t *cr, const struct frame *f, const struct rigi_series *s,
			 struct column *k, int *pen)
{
	size_t a = k->lo < k->hi ? k->lo : k->hi, b = k->lo < k->hi ? k->hi : k->lo;
	for (int i = 0; i < 2; i++) {
		size_t j = i ? b : a;
		if (i && b == a)
			break;
		double X = map_x(f, s->x[j]), Y = map_y(f, s->y[j]);
		if (*pen)
			cairo_line_to(cr, X, Y);
		else
			cairo_move_to(cr, X, Y);
		*pen = 1;
	}
	k->open = 0;
}

static void draw_line(struct rigi_canvas *c, const struct frame *f, const struct rigi_series *s)
{
	cairo_t *cr = c->cr;
	struct column k = {0};
	int pen = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (!isfinite(s->x[i]) || !isfinite(s->y[i])) {
			if (k.open)
				column_flush(cr, f, s, &k, &pen);
			pen = 0;
			continue;
		}
		long col = lround(map_x(f, s->x[i]));
		if (k.open && col != k.col)
			column_flush(cr, f, s, &k, &pen);
		if (!k.open) {
			k = (struct column){col, i, i, 1};
			continue;
		}
		if (s->y[i] < s->y[k.lo])
			k.lo = i;
		if (s->y[i] > s->y[k.hi])
			k.hi = i;
	}
	if (k.open)
		column_flush(cr, f, s, &k, &pen);
	static const double dash[] = {4, 3};
	cairo_set_dash(cr, dash, s->dashed ? 2 : 0, 0);
	set_color(cr, &s->color);
	cairo_set_line_width(cr, s->width > 0 ? s->width : 1.2);
	cairo_stroke(cr);
	cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_band(struct rigi_canvas *c, const struct frame *f, const struct rigi_series *s)
{
	cairo_t *cr = c->cr;
	size_t i = 0;
	while (i < s->n) {
		size_t a = i;
		while (a < s->n && !(isfinite(s->x[a]) && isfinite(s->y[a]) && isfinite(s->y2[a])))
			a++;
		size_t b = a;
		while (b < s->n && isfinite(s->x[b]) && isfinite(s->y[b]) && isfinite(s->y2[b]))
			b++;
		if (b > a) {
			cairo_move_to(cr, map_x(f, s->x[a]), map_y(f, s->y2[a]));
			for (size_t j = a + 1; j < b; j++)
				cairo_line_to(cr, map_x(f, s->x[j]), map_y(f, s->y2[j]));
			for (size_t j = b; j-- > a;)
				cairo_line_to(cr, map_x(f, s->x[j]), map_y(f, s->y[j]));
			cairo_close_path(cr);
		}
		i = b > a ? b : s->n;
	}
	set_color(cr, &s->color);
	cairo_fill(cr);
}

static void draw_series(struct rigi_canvas *c, const struct rigi_plot *p, const struct frame *f)
{
	cairo_t *cr = c->cr;
	cairo_save(cr);
	cairo_rectangle(cr, f->px, f->py, f->pw, f->ph);
	cairo_clip(cr);
	for (int pass = 0; pass < 3; pass++) /* bands under lines under points */
		for (size_t s = 0; s < p->n_series; s++) {
			const struct rigi_series *sr = &p->series[s];
			if (sr->kind == RIGI_SERIES_BAND && pass == 0 && sr->y2)
				draw_band(c, f, sr);
			else if (sr->kind == RIGI_SERIES_LINE && pass == 1)
				draw_line(c, f, sr);
			else if (sr->kind == RIGI_SERIES_POINTS && pass == 2)
				draw_points(c, f, sr);
		}
	cairo_restore(cr);
}

/* The swatch of a legend entry in the box (x, y, 16, h). */
static void legend_swatch(struct rigi_canvas *c, const struct rigi_series *s, double x, double y,
			  double h)
{
	cairo_t *cr = c->cr;
	if (s->kind == RIGI_SERIES_BAND) {
		rigi_canvas_rect(c, x, y + h * 0.15, 16, h * 0.7, &s->color, NULL, 0);
	} else if (s->kind == RIGI_SERIES_LINE) {
		struct rigi_series l = *s;
		static const double dash[] = {4, 3};
		cairo_set_dash(cr, dash, s->dashed ? 2 : 0, 0);
		rigi_canvas_line(c, x, y + h / 2, x + 16, y + h / 2, &l.color,
				 s->width > 0 ? s->width : 1.2);
		cairo_set_dash(cr, NULL, 0, 0);
	} else {
		if (s->dy)
			rigi_canvas_line(c, x + 8, y + 1, x + 8, y + h - 1, &s->color, 0.9);
		draw_marker(cr, s, x + 8, y + h / 2);
	}
}

/* Lay the legend out in rows of width @p w; draw it at (x, y) when @p draw.
 * Returns its height. */
static double legend(struct rigi_canvas *c, const struct rigi_plot *p, double x, double y,
		     double w, const struct rigi_text_style *st, int draw)
{
	double cx = 0, row = st->size * 1.35, rows = 0, tw;
	int any = 0;
	for (size_t s = 0; s < p->n_series; s++) {
		const struct rigi_series *sr = &p->series[s];
		if (!sr->legend)
			continue;
		rigi_canvas_text_size(c, sr->legend, st, &tw, NULL);
		double ew = 16 + 4 + tw + 14;
		if (any && cx + ew > w) {
			cx = 0;
			rows++;
		}
		if (draw) {
			legend_swatch(c, sr, x + cx, y + rows * row, row);
			double ty = y + rows * row + row * 0.1;
			rigi_canvas_text(c, x + cx + 20, ty, sr->legend, st);
		}
		cx += ew;
		any = 1;
	}
	return any ? (rows + 1) * row + 2 : 0;
}

void rigi_plot_draw(struct rigi_canvas *c, const struct rigi_plot *p, double x, double y,
		    double w, double h)
{
	struct rigi_text_style st = {.size = p->font_size > 0 ? p->font_size : 9,
				     .color = {0.15, 0.15, 0.15, 1}};
	struct rigi_text_style title = st;
	struct frame f;
	double top = y, th = 0, lh, ylw;
	title.bold = 1;
	title.size = st.size * 1.1;
	if (p->title)
		th = rigi_canvas_text(c, x, top, p->title, &title) + 4;
	axis_range(p, 0, p->x_min, p->x_max, w / 70 > 3 ? w / 70 : 3, &f.x0, &f.x1, &f.xstep);
	axis_range(p, 1, p->y_min, p->y_max, h / 45 > 3 ? h / 45 : 3, &f.y0, &f.y1, &f.ystep);
	lh = legend(c, p, x, 0, w, &st, 0);
	ylw = y_labels_width(c, &f, &st);
	f.px = x + (p->y_label ? st.size * 1.6 : 0) + ylw + 7;
	f.py = top + th + st.size * 0.6;
	f.pw = x + w - f.px - st.size * 0.8;
	f.ph = y + h - lh - f.py - st.size * 1.4 - (p->x_label ? st.size * 1.5 : 0) - 4;
	if (f.pw < 20 || f.ph < 20)
		return; /* no room: the caller's box is too small */
	draw_series(c, p, &f);
	draw_axes(c, p, &f, &st);
	if (p->x_label) {
		struct rigi_text_style t = st;
		t.align = RIGI_ALIGN_CENTER;
		double ty = f.py + f.ph + st.size * 1.5 + 4;
		rigi_canvas_text(c, f.px + f.pw / 2, ty, p->x_label, &t);
	}
	if (p->y_label)
		text_vertical(c, x + st.size * 0.7, f.py + f.ph / 2, p->y_label, &st);
	legend(c, p, x, y + h - lh, w, &st, 1);
}

/* ---- shared by the report writers ---- */

struct rigi_rgba rigi_outcome_color(enum rig_outcome o)
{
	switch (o) {
	case RIG_OUTCOME_PASS:
		return (struct rigi_rgba){0.106, 0.478, 0.184, 1};
	case RIG_OUTCOME_FAIL:
		return (struct rigi_rgba){0.776, 0.118, 0.118, 1};
	case RIG_OUTCOME_INDETERMINATE:
		return (struct rigi_rgba){0.85, 0.50, 0.0, 1};
	case RIG_OUTCOME_ABORTED:
		return (struct rigi_rgba){0.40, 0.28, 0.60, 1};
	default:
		return (struct rigi_rgba){0.35, 0.35, 0.38, 1};
	}
}

struct rigi_rgba rigi_outcome_pale(enum rig_outcome o)
{
	struct rigi_rgba s = rigi_outcome_color(o);
	return (struct rigi_rgba){1 - (1 - s.r) * 0.18, 1 - (1 - s.g) * 0.18,
				  1 - (1 - s.b) * 0.18, 1};
}

int rigi_report_decimals(double u)
{
	if (!isfinite(u) || u <= 0)
		return 2;
	int d = 1 - (int)floor(log10(u));
	return d < 0 ? 0 : d > 6 ? 6 : d;
}

const char *rigi_report_num(char *buf, size_t cap, double v, int dec, int plus)
{
	if (!isfinite(v))
		snprintf(buf, cap, "—");
	else
		snprintf(buf, cap, plus ? "%+.*f" : "%.*f", dec, v);
	return buf;
}

const char *rigi_report_unit(const char *unit)
{
	return !strcmp(unit, "um") ? "µm" : unit;
}

const char *rigi_report_time(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0 || cap < 25 || rig_time_format_utc(ms, buf, cap) < 0) {
		snprintf(buf, cap, "—");
		return buf;
	}
	buf[10] = ' ';
	snprintf(buf + 19, cap - 19, " UTC");
	return buf;
}

size_t rigi_report_knots(const struct rig_cal_table *b, const struct rig_cal_table *a, int depth,
			 long out[][3], size_t cap)
{
	size_t i = 0, j = 0, n = 0, nb = !b ? 0 : depth ? b->n_depth : b->n_rate,
	       na = !a ? 0 : depth ? a->n_depth : a->n_rate;
	while ((i < nb || j < na) && n < cap) {
		long sb = i < nb ? (depth ? b->depth[i].setpoint_um : b->rate[i].rate_spm) : -1;
		long sa = j < na ? (depth ? a->depth[j].setpoint_um : a->rate[j].rate_spm) : -1;
		long sp = sb < 0 ? sa : sa < 0 ? sb : sb < sa ? sb : sa;
		out[n][0] = sp;
		out[n][1] = sb == sp ? (depth ? b->depth[i].code : b->rate[i].duty) : -1;
		out[n][2] = sa == sp ? (depth ? a->depth[j].code : a->rate[j].duty) : -1;
		i += sb == sp;
		j += sa == sp;
		n++;
	}
	return n;
}

int rigi_report_recovered(const struct rig_record *rec)
{
	return rec->error == RIG_ERR_INTERRUPTED ||
	       strncmp(rec->reason, "run did not finish", 18) == 0;
}

const char *rigi_report_outcome_meaning(const struct rig_record *rec)
{
	if (rigi_report_recovered(rec))
		return "The run did not finish: the rig stopped before the end and the run was "
		       "closed by recovery. The unit was not judged; retest it.";
	switch (rec->outcome) {
	case RIG_OUTCOME_PASS:
		return "The unit meets every limit, with the measurement uncertainty accounted "
		       "for.";
	case RIG_OUTCOME_FAIL:
		return "The unit is bad: a measurement lies outside its limits beyond the "
		       "measurement uncertainty, or a health check failed.";
	case RIG_OUTCOME_INDETERMINATE:
		return "Conformity is not proven either way: a result lies in the guard band. "
		       "Recalibrate or retest the unit.";
	case RIG_OUTCOME_ABORTED:
		return "The run was stopped by the operator or a safety interlock. The unit was "
		       "not judged; retest it.";
	default:
		return "The station or a link failed, or a measurement could not be taken. The "
		       "unit was not judged; retest it.";
	}
}
