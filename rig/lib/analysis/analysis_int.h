/* Private interface of the analysis layer: robust order statistics, the
 * segmentation of the displacement signal into extensions, and the
 * per-stroke measurements. Shared by segment.c, measure.c and analysis.c;
 * not part of the public API. */
#ifndef RIGI_ANALYSIS_INT_H
#define RIGI_ANALYSIS_INT_H

#include <stddef.h>

#include <rig/analysis.h>

#define RIGI_ANALYSIS_DOMAIN "analysis"

/* ---- robust.c ---- */

/** The q-quantile (0 <= q <= 1, linear interpolation between order
 *  statistics) of @p n values; reorders @p v in place. n > 0. */
double rigi_quantile_inplace(double *v, size_t n, double q);

/** Median of @p n values (reorders @p v). n > 0. */
double rigi_median_inplace(double *v, size_t n);

/** Noise sigma of a sampled signal from the median absolute difference
 *  between neighbours that are both in the mask (mask[i] != 0; mask NULL:
 *  all samples), so that slow signal changes and rare jumps do not count. @p scratch has
 *  room for n values. Returns NaN when fewer than 8 differences qualify. */
double rigi_diff_noise(const double *x, const unsigned char *mask, size_t n, double *scratch);

/* ---- segment.c ---- */

/** One extension (a run of the smoothed displacement above the high
 *  threshold, ended by a drop below the low threshold). */
struct rigi_phase {
	size_t rise;        /* first sample above thr_hi (0 when the capture began high) */
	size_t fall;        /* first sample below thr_lo after it (n when none) */
	size_t top;         /* largest smoothed sample in [rise, fall) */
	double t_cross;     /* up-crossing of the mid level, in samples; NaN if not seen */
	double amp;         /* smoothed maximum minus the robust minimum, µm */
	int has_rise;       /* the retraction before it was seen from its start */
	int has_fall;       /* the capture holds its fall below thr_lo */
	int merged;         /* a dropout split it and was merged back: glitch */
	int removed;        /* too short or too small: a glitch, not an extension */
};

/** The segmentation of one capture. */
struct rigi_segmentation {
	double lo_um, hi_um;    /* robust range */
	double thr_lo, thr_hi, mid;
	size_t smooth_len;
	double *smooth;         /* n samples of the detection-smoothed signal */
	size_t n_phases;
	struct rigi_phase *ph;  /* in capture order, including removed glitches */
	double median_period;   /* samples; NaN when fewer than two up-crossings */
	size_t n_glitch_removed;/* extensions removed as glitches */
	size_t n_merged;        /* dropouts merged back into an extension */
};

/** Find the extensions of @p x (n samples at @p fs Hz). Leaves an empty
 *  segmentation (n_phases 0) when the robust span is below
 *  p->min_span_um. Returns 0 or RIG_ERR_NOMEM; free with
 *  rigi_segmentation_clear. */
int rigi_segment(const double *x, size_t n, double fs, const struct rig_analysis_params *p,
		 struct rigi_segmentation *seg);

void rigi_segmentation_clear(struct rigi_segmentation *seg);

/** Index of the next phase after @p k that is not removed, or n_phases. */
size_t rigi_next_phase(const struct rigi_segmentation *seg, size_t k);

/** Argmin of seg->smooth over [a, b) (a < b). */
size_t rigi_trough(const struct rigi_segmentation *seg, size_t a, size_t b);

/* ---- measure.c ---- */

/* Largest peak-fit half-width, samples (the fit keeps its residuals on the
 * stack); at the default window it covers 50 strokes/s up to 85 kHz. */
#define RIGI_FIT_MAX_HALF 256

/** Where one stroke lies in the capture. */
struct rigi_window {
	size_t start, end;       /* troughs before and after: the cycle is [start, end] */
	size_t base_from, base_to; /* retraction before it, for the force baseline */
	size_t rise, fall;       /* its extension [rise, fall) */
	size_t top;              /* largest smoothed sample */
};

/** Peak of the displacement by local quartic least squares over
 *  +/- @p halfwidth samples around the top, re-centred on the vertex.
 *  Sets st->protrusion_um, st->t_peak_s, st->peak and *resid_scale (robust
 *  residual sigma) and *resid_max (largest absolute residual). Returns 0,
 *  or -1 when no concave vertex is found inside the extension. */
int rigi_fit_peak(const double *x, size_t n, double fs, const struct rigi_window *w,
		  size_t halfwidth, struct rig_stroke *st, double *resid_scale,
		  double *resid_max);

/** What the force measurements need to know about the whole capture. */
struct rigi_force_ctx {
	double force_noise_mn; /* sigma of the force channel */
	size_t drop_window;    /* samples in which a puncture drop must show */
};

/** Force measurements of one stroke (contact, puncture, peak force, drag,
 *  penetration) from @p force and @p x, given its peak already fitted.
 *  @p scratch holds w->end - w->start + 1 values. */
void rigi_measure_force(const double *x, const double *force, const struct rigi_window *w,
			const struct rig_analysis_params *p, const struct rigi_force_ctx *ctx,
			double *scratch, struct rig_stroke *st);

#endif
