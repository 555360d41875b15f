/* Measurements of one stroke (docs/analysis.md §3): the peak protrusion by
 * a local quartic least-squares fit on the raw displacement, and from the
 * force signal the contact, the puncture (a sudden drop while the tip still
 * advances), the tenting depth, the effective penetration and the drag. */
#include <math.h>
#include <stdint.h>

#include "analysis/analysis_int.h"

#define FIT_MAX_ITER 4

#define LOADED_TRAVEL 0.02

#define POLY_TERMS 5 /* x = a0 + a1 u + a2 u^2 + a3 u^3 + a4 u^4 */

struct poly {
	double a[POLY_TERMS]; /* in u = (i - centre) / h */
};

static double poly_eval(const struct poly *p, double u)
{
	double v = 0;
	for (int k = POLY_TERMS - 1; k >= 0; k--)
		v = v * u + p->a[k];
	return v;
}

static double poly_slope(const struct poly *p, double u)
{
	double v = 0;
	for (int k = POLY_TERMS - 1; k >= 1; k--)
		v = v * u + k * p->a[k];
	return v;
}

static double poly_curvature(const struct poly *p, double u)
{
	double v = 0;
	for (int k = POLY_TERMS - 1; k >= 2; k--)
		v = v * u + k * (k - 1) * p->a[k];
	return v;
}

/* Least squares of x[lo..hi] against a quartic in u (scaled to [-1, 1] so
 * that the normal equations stay well conditioned), solved by Gaussian
 * elimination with partial pivoting. Returns 0, or -1 if singular. */
static int fit_poly(const double *x, size_t lo, size_t hi, double centre, double h,
		    struct poly *p)
{
	double s[2 * POLY_TERMS - 1] = {0}, m[POLY_TERMS][POLY_TERMS + 1] = {{0}};
	for (size_t i = lo; i <= hi; i++) {
		double u = ((double)i - centre) / h, pw = 1;
		for (int k = 0; k < 2 * POLY_TERMS - 1; k++, pw *= u) {
			s[k] += pw;
			if (k < POLY_TERMS)
				m[k][POLY_TERMS] += x[i] * pw;
		}
	}
	for (int r = 0; r < POLY_TERMS; r++)
		for (int c = 0; c < POLY_TERMS; c++)
			m[r][c] = s[r + c];
	for (int c = 0; c < POLY_TERMS; c++) {
		int piv = c;
		for (int r = c + 1; r < POLY_TERMS; r++)
			if (fabs(m[r][c]) > fabs(m[piv][c]))
				piv = r;
		if (!(fabs(m[piv][c]) > 1e-12 * s[0]))
			return -1;
		for (int k = 0; k <= POLY_TERMS; k++) {
			double t = m[c][k];
			m[c][k] = m[piv][k];
			m[piv][k] = t;
		}
		for (int r = c + 1; r < POLY_TERMS; r++) {
			double f = m[r][c] / m[c][c];
			for (int k = c; k <= POLY_TERMS; k++)
				m[r][k] -= f * m[c][k];
		}
	}
	for (int r = POLY_TERMS - 1; r >= 0; r--) {
		double v = m[r][POLY_TERMS];
		for (int k = r + 1; k < POLY_TERMS; k++)
			v -= m[r][k] * p->a[k];
		p->a[r] = v / m[r][r];
	}
	return 0;
}

/* The maximum of the fitted quartic nearest the centre: Newton on the
 * slope from the vertex of its quadratic part. -1 when it is not a
 * concave maximum. */
static int fit_vertex(const struct poly *p, double *u)
{
	double v;
	if (!(p->a[2] < 0))
		return -1;
	v = -p->a[1] / (2 * p->a[2]);
	for (int it = 0; it < 20; it++) {
		double c = poly_curvature(p, v);
		if (!(c < 0))
			return -1;
		double step = poly_slope(p, v) / c;
		v -= step;
		if (fabs(step) < 1e-9)
			break;
	}
	*u = v;
	return isfinite(v) ? 0 : -1;
}

static void fit_window(const struct rigi_window *w, size_t n, size_t c, size_t h, size_t *lo,
		       size_t *hi)
{
	size_t last = w->end < n - 1 ? w->end : n - 1;
	*lo = c > w->start + h ? c - h : w->start;
	*hi = c + h < last ? c + h : last;
}

static void residuals(const double *x, size_t lo, size_t hi, double centre, double h,
		      const struct poly *p, double *scale, double *rmax)
{
	double r[2 * RIGI_FIT_MAX_HALF + 1];
	size_t m = 0;
	*rmax = 0;
	for (size_t i = lo; i <= hi; i++) {
		r[m] = fabs(x[i] - poly_eval(p, ((double)i - centre) / h));
		if (r[m] > *rmax)
			*rmax = r[m];
		m++;
	}
	*scale = 1.4826 * rigi_median_inplace(r, m);
}

int rigi_fit_peak(const double *x, size_t n, double fs, const struct rigi_window *w,
		  size_t halfwidth, struct rig_stroke *st, double *resid_scale,
		  double *resid_max)
{
	size_t c = w->top, prev = SIZE_MAX, lo = 0, hi = 0;
	double h = (double)halfwidth, u = 0;
	struct poly p;

	/* Re-centre on the vertex: a window symmetric about the true peak
	 * keeps the terms the quartic cannot follow from biasing it. Stop when
	 * the centre settles or swings back (vertex near a half sample). */
	for (int it = 0;; it++) {
		fit_window(w, n, c, halfwidth, &lo, &hi);
		if (hi - lo < 2 * POLY_TERMS || fit_poly(x, lo, hi, (double)c, h, &p) < 0 ||
		    fit_vertex(&p, &u) < 0)
			return -1;
		double v = (double)c + u * h;
		if (v < (double)w->rise || v >= (double)w->fall)
			return -1;
		size_t nc = (size_t)lround(v);
		if (nc == c || nc == prev || it == FIT_MAX_ITER - 1)
			break;
		prev = c;
		c = nc;
	}
	if (fabs(u) > 1)
		return -1;
	st->peak = (size_t)lround((double)c + u * h);
	st->t_peak_s = ((double)c + u * h) / fs;
	st->protrusion_um = poly_eval(&p, u);
	residuals(x, lo, hi, (double)c, h, &p, resid_scale, resid_max);
	return 0;
}

static double force_baseline(const double *f, const struct rigi_window *w, double *scratch)
{
	size_t m = 0;
	for (size_t i = w->base_from; i < w->base_to; i++)
		scratch[m++] = f[i];
	return m ? rigi_median_inplace(scratch, m) : f[w->start];
}

/* Tip position where the tenting force leaves the baseline: a straight
 * line of force against position over the whole flank up to the peak
 * force, extrapolated back to the baseline. When the stroke starts already
 * loaded (a tip that never leaves the phantom) the contact lies before the
 * trough: it may, by at most the stroke's length. A fit that fails (no
 * rising line, contact after the first loaded sample) falls back to
 * interpolating between the last sample below the threshold and the first
 * above it. */
static double contact_position(const double *x, const double *f, size_t first, size_t m,
			       size_t start, double b, double peak_um)
{
	double sx = 0, sf = 0, sxx = 0, sxf = 0, k = 0;
	for (size_t j = first; j <= m; j++) {
		sx += x[j];
		sf += f[j];
		sxx += x[j] * x[j];
		sxf += x[j] * f[j];
		k++;
	}
	if (k >= 2) {
		double var = sxx - sx * sx / k, cov = sxf - sx * sf / k;
		if (var > 0 && cov > 0) {
			double xc = sx / k - (sf / k - b) / (cov / var);
			if (xc <= x[first] && xc >= x[start] - (peak_um - x[start]))
				return xc;
		}
	}
	if (first == start || !(f[first] > f[first - 1]))
		return x[first];
	double frac = (b - f[first - 1]) / (f[first] - f[first - 1]);
	frac = frac < 0 ? 0 : frac;
	return x[first - 1] + frac * (x[first] - x[first - 1]);
}

/* Index of the first sample within the drop window, and no later than
 * the peak, where the force has fallen by the puncture drop; 0 when there
 * is none. Only a drop while the tip still advances counts: after the peak
 * an elastic unloading or the needles' withdrawal lowers the force too. */
static size_t find_drop(const double *f, size_t m, size_t peak, size_t window, double b,
			double thr, double drop_frac)
{
	double drop = drop_frac * (f[m] - b);
	if (drop < thr)
		drop = thr;
	for (size_t j = m + 1; j <= peak && j <= m + window; j++)
		if (f[j] <= f[m] - drop)
			return j;
	return 0;
}

/* Where the drop after the flank's maximum m happened: the midpoints of
 * the sample steps it spans, weighted by how much the force fell in each.
 * A cartridge's needles puncture one after another within a few µm (each
 * takes its share of the force with it), so on a fast stroke the drop spans
 * one to three sample steps; its weighted centre is where the middle needle
 * punctured, the point the effective penetration refers to. The first step
 * alone would be the first needle's puncture, short by half the needles'
 * spread. A single sudden drop gives the midpoint of x[m] and x[m + 1],
 * unbiased over strokes whose sampling phase varies. */
static double drop_centre(const double *x, const double *f, size_t m, size_t last, double noise)
{
	double sw = 0, swx = 0;
	for (size_t j = m; j < last && (j == m || f[j] - f[j + 1] > noise); j++) {
		double w = f[j] - f[j + 1];
		if (w <= 0 || x[j + 1] <= x[j])
			break;
		sw += w;
		swx += w * 0.5 * (x[j] + x[j + 1]);
	}
	return sw > 0 ? swx / sw : x[m];
}

/* The puncture: its position (drop_centre) and the force on the flank's
 * local line at that position. Taking sample m itself would read short by
 * half a sample step, which is tens of µm on a fast stroke. */
static void locate_puncture(const double *x, const double *f, size_t first, size_t m,
			    size_t last, double noise, double b, struct rig_stroke *st)
{
	double sx = 0, sf = 0, sxx = 0, sxf = 0, k = 0;
	double xp = drop_centre(x, f, m, last, noise);
	double fp = f[m];
	for (size_t j = m >= first + 3 ? m - 3 : first; j <= m; j++) {
		sx += x[j];
		sf += f[j];
		sxx += x[j] * x[j];
		sxf += x[j] * f[j];
		k++;
	}
	double var = sxx - sx * sx / k, cov = sxf - sx * sf / k;
	if (k >= 2 && var > 0 && cov > 0)
		fp += cov / var * (xp - x[m]);
	st->puncture_um = xp;
	st->puncture_force_mn = fp - b;
}

static void no_force_result(struct rig_stroke *st)
{
	st->contact_um = NAN;
	st->punctured = 0;
	st->starts_loaded = 0;
	st->puncture_force_mn = NAN;
	st->puncture_um = NAN;
	st->tenting_um = NAN;
	st->penetration_um = 0;
	st->drag_mn = NAN;
}

void rigi_measure_force(const double *x, const double *force, const struct rigi_window *w,
			const struct rig_analysis_params *p, const struct rigi_force_ctx *ctx,
			double *scratch, struct rig_stroke *st)
{
	double b = force_baseline(force, w, scratch);
	double thr = p->contact_sigma * ctx->force_noise_mn;
	size_t first = w->start, m;

	if (!(thr > p->contact_min_mn))
		thr = p->contact_min_mn;
	st->force_baseline_mn = b;
	st->peak_force_mn = force[w->start] - b;
	for (size_t i = w->start; i <= w->end; i++)
		if (force[i] - b > st->peak_force_mn)
			st->peak_force_mn = force[i] - b;
	no_force_result(st);
	while (first <= st->peak && !(force[first] - b > thr))
		first++;
	if (first > st->peak)
		return;
	/* Loaded from the start: the force is up before the tip has covered
	 * LOADED_TRAVEL of its way from the trough to the peak. */
	st->starts_loaded =
		x[first] - x[w->start] < LOADED_TRAVEL * (st->protrusion_um - x[w->start]);
	m = first;
	for (size_t i = first; i <= st->peak; i++)
		if (force[i] > force[m])
			m = i;
	st->contact_um = contact_position(x, force, first, m, w->start, b, st->protrusion_um);
	size_t j = find_drop(force, m, st->peak, ctx->drop_window, b, thr, p->puncture_drop);
	if (!j) {
		/* Loaded from the start and never punctured: the tips stay in the
		 * phantom, so neither contact nor penetration can be seen. */
		if (st->starts_loaded)
			st->contact_um = st->penetration_um = NAN;
		return;
	}
	st->punctured = 1;
	locate_puncture(x, force, first, m, st->peak, 3 * ctx->force_noise_mn, b, st);
	st->tenting_um = st->puncture_um - st->contact_um;
	st->penetration_um =
		st->protrusion_um - st->contact_um - p->tent_residual * st->tenting_um;
	if (st->puncture_force_mn > st->peak_force_mn)
		st->peak_force_mn = st->puncture_force_mn;
	/* Drag: the plateau after the drop has settled, up to the peak. */
	size_t k = 0;
	for (size_t i = j + 2; i <= st->peak; i++)
		scratch[k++] = force[i] - b;
	st->drag_mn = k >= 3 ? rigi_median_inplace(scratch, k) : NAN;
}
