/* Private header of the report writers: a small drawing and plotting API
 * over cairo and pango (plot.c is the project's only caller of either).
 * A canvas is an SVG picture written to memory (for the HTML report, which
 * embeds it inline) or a multi-page PDF document written to memory (the
 * calibration certificate); on it: text laid out by pango, lines,
 * rectangles, and x/y plots with axes, ticks, labels, lines, markers,
 * error bars, filled bands and a legend. Units are points for PDF and CSS
 * pixels for SVG. No SVG or PDF syntax is written by hand anywhere: cairo
 * writes it. Drawing calls do not fail one by one; the first error of a
 * canvas (cairo's status is sticky) is reported by rigi_canvas_finish. */
#ifndef RIGI_RECORDS_PLOT_H
#define RIGI_RECORDS_PLOT_H

#include <stddef.h>

#include <rig/record.h>
#include <rig/verdict.h>

#define RIGI_A4_WIDTH_PT 595.276
#define RIGI_A4_HEIGHT_PT 841.890

struct rigi_rgba {
	double r, g, b, a; /* 0..1; a = 0 is treated as opaque 1 (so {r,g,b} is enough) */
};

struct rigi_canvas;

/** A new SVG picture of @p w x @p h (CSS px). */
int rigi_canvas_svg(double w, double h, struct rigi_canvas **out);

/** Draws a page's decoration (header, footer) once the number of pages is
 *  known: page @p page of @p pages, drawn over the page's content. */
typedef void (*rigi_page_fn)(struct rigi_canvas *c, int page, int pages, void *user);

/** A new PDF document of pages @p w x @p h pt (RIGI_A4_*), its first page
 *  begun. Pages are recorded as they are drawn and laid into the document
 *  by rigi_canvas_finish, which calls @p decorate (may be NULL) on each, so
 *  that a page can say "page N of M". @p title, @p creator and @p date
 *  ("YYYY-MM-DDTHH:MM:SS", or NULL: none, so the same input gives the same
 *  bytes) go to its metadata. */
int rigi_canvas_pdf(double w, double h, const char *title, const char *creator,
		    const char *date, rigi_page_fn decorate, void *user,
		    struct rigi_canvas **out);

/** The page being drawn, from 1 (always 1 for an SVG). */
int rigi_canvas_page(const struct rigi_canvas *c);

/** Page width and height. */
double rigi_canvas_width(const struct rigi_canvas *c);
double rigi_canvas_height(const struct rigi_canvas *c);

/** End the PDF page and begin the next (nothing for an SVG). */
void rigi_canvas_next_page(struct rigi_canvas *c);

/** Finish the document and hand over its bytes (*data malloc'd, NUL-added,
 *  the caller frees it). For an SVG: the <svg> element alone, without the
 *  XML declaration, every id (and reference to one) prefixed with
 *  @p id_prefix, so that several pictures can live in one HTML page. Frees
 *  the canvas whatever the result. Returns 0 or a rig_err (RIG_ERR_NOMEM,
 *  RIG_ERR_INTERNAL) naming what cairo said. */
int rigi_canvas_finish(struct rigi_canvas *c, const char *id_prefix, char **data, size_t *len);

/** Free a canvas without finishing it; NULL is a no-op. */
void rigi_canvas_free(struct rigi_canvas *c);

/* ---- text (pango; font "DejaVu Sans", or "DejaVu Sans Mono") ---- */

enum rigi_align { RIGI_ALIGN_LEFT = 0, RIGI_ALIGN_CENTER, RIGI_ALIGN_RIGHT };

struct rigi_text_style {
	double size;           /* font size (pt or px); 0: 9 */
	int bold;
	int mono;
	struct rigi_rgba color; /* zero: black */
	enum rigi_align align;  /* relative to x (and, when width > 0, within width) */
	double width;           /* wrap at this width; 0: one line per '\n' */
};

/** Draw UTF-8 @p text (plain text, never markup; invalid bytes shown as
 *  U+FFFD) with its top at @p y; returns the height it took. */
double rigi_canvas_text(struct rigi_canvas *c, double x, double y, const char *text,
			const struct rigi_text_style *st);

/** The size @p text would take, without drawing it. */
void rigi_canvas_text_size(struct rigi_canvas *c, const char *text,
			   const struct rigi_text_style *st, double *w, double *h);

/** A rectangle, filled with @p fill and/or outlined with @p stroke (either
 *  may be NULL) of width @p lw. */
void rigi_canvas_rect(struct rigi_canvas *c, double x, double y, double w, double h,
		      const struct rigi_rgba *fill, const struct rigi_rgba *stroke, double lw);

/** A straight line. */
void rigi_canvas_line(struct rigi_canvas *c, double x0, double y0, double x1, double y1,
		      const struct rigi_rgba *color, double lw);

/* ---- x/y plots ---- */

enum rigi_series_kind {
	RIGI_SERIES_LINE = 0, /* a polyline through (x, y); NaN breaks it; long ones decimated */
	RIGI_SERIES_POINTS,   /* a marker at each (x, y); with @c dy, error bars y -/+ dy */
	RIGI_SERIES_BAND,     /* a filled area between y (lower) and y2 (upper) over x */
};

enum rigi_marker {
	RIGI_MARK_CIRCLE = 0,
	RIGI_MARK_SQUARE,
	RIGI_MARK_TRIANGLE,
	RIGI_MARK_DIAMOND,
	RIGI_MARK_CROSS,
	RIGI_MARK_PLUS,
	RIGI_MARK_VBAR,  /* a vertical tick through the point */
};

/** One series; its arrays are borrowed for the rigi_plot_draw call. */
struct rigi_series {
	enum rigi_series_kind kind;
	const char *legend;      /* NULL: not in the legend */
	const double *x, *y;     /* n points */
	const double *y2;        /* BAND: the upper edge */
	const double *dy;        /* POINTS: error bar half-widths (NULL: none) */
	size_t n;
	struct rigi_rgba color;
	double width;            /* line width, or marker size; 0: a default */
	enum rigi_marker marker;
	int hollow;              /* POINTS: outlined markers */
	int dashed;              /* LINE */
	/* POINTS without error bars or hollow markers: every marker in one
	 * path, filled or stroked once, so that a long series makes one SVG
	 * element instead of one per point (the dashboard's charts). */
	int merged;
};

/** A POINTS series of @p marker of @p size, and a LINE series of @p width
 *  (the other fields zero: add error bars, hollow, dashed after). */
struct rigi_series rigi_points(const char *legend, const double *x, const double *y,
				      size_t n, struct rigi_rgba color, double size,
				      enum rigi_marker marker);
struct rigi_series rigi_line(const char *legend, const double *x, const double *y,
				    size_t n, struct rigi_rgba color, double width);

struct rigi_plot {
	const char *title;       /* above the plot; NULL: none */
	const char *x_label, *y_label;
	/* Axis ranges; NaN: from the data (with a margin, ticks on round numbers). */
	double x_min, x_max, y_min, y_max;
	int zero_line;           /* draw y = 0 */
	const struct rigi_series *series;
	size_t n_series;
	double font_size;        /* 0: 9 */
};

/** Draw @p p into the box (@p x, @p y, @p w, @p h): title, axes with ticks
 *  and labels, the series clipped to the plot area, and a legend below it
 *  (inside the box). Non-finite points are skipped. */
void rigi_plot_draw(struct rigi_canvas *c, const struct rigi_plot *p, double x, double y,
		    double w, double h);

/* ---- shared by the report writers ---- */

/** Colours of the outcomes: a strong one (banners, markers) and a pale
 *  one (table cells). */
struct rigi_rgba rigi_outcome_color(enum rig_outcome o);
struct rigi_rgba rigi_outcome_pale(enum rig_outcome o);

/** Decimals that show an expanded uncertainty @p u with two significant
 *  digits (GUM 7.2.6), 0..6; 2 when there is no U. */
int rigi_report_decimals(double u);

/** @p v with @p dec decimals ("%+" when @p plus) into @p buf; "—" when not
 *  finite. Returns @p buf. */
const char *rigi_report_num(char *buf, size_t cap, double v, int dec, int plus);

/** A unit as people read it: "µm" for "um"; others as they are. */
const char *rigi_report_unit(const char *unit);

/** @p ms (since 1970, UTC) as "YYYY-MM-DD HH:MM:SS UTC" into @p buf
 *  (>= 25 bytes); "—" when there is none. Returns @p buf. */
const char *rigi_report_time(int64_t ms, char *buf, size_t cap);

/** The knots of the tables before (@p b) and after (@p a) — either may be
 *  NULL — of depth (@p depth 1) or rate (0), merged by setpoint:
 *  out[i] = {setpoint, code or duty before, after}, -1 where a table has
 *  no knot at that setpoint. Returns the count (at most @p cap). */
size_t rigi_report_knots(const struct rig_cal_table *b, const struct rig_cal_table *a, int depth,
			 long out[][3], size_t cap);

/** The certificate number of a run (certificate.c): the station id, '-',
 *  and the run id without its '.' and 'Z', e.g.
 *  "SIM-01-20261202T173627477-8a7657". Unique, since run ids are. */
void rigi_certificate_number(const struct rig_record *rec, char *buf, size_t cap);

/** The signature fingerprint of the run folder @p run_dir (certificate.c):
 *  the first 16 hex digits of the SHA-256 of record.sig's bytes into @p fp
 *  (>= 17 bytes). 0, or RIG_ERR_NOT_FOUND when there is no record.sig. */
int rigi_report_signature(const char *run_dir, char *fp, size_t cap);

/** 1 when the run ended without finishing: recovered after the rig died
 *  (reason "run did not finish", error RIG_ERR_INTERRUPTED). */
int rigi_report_recovered(const struct rig_record *rec);

/** One line said first by every report, after the outcome: what the
 *  outcome means for the unit ("the unit meets every limit ...", "the unit
 *  was not judged: retest it", ...). Static string. */
const char *rigi_report_outcome_meaning(const struct rig_record *rec);

#endif
