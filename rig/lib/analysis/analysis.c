/* Stroke analysis of one capture (docs/analysis.md): runs the
 * segmentation, classifies each extension (partial, clipped, glitch),
 * measures the accepted strokes, counts skipped strokes from the periods,
 * and summarises each measurand with rig_stats_compute. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>

#include "analysis/analysis_int.h"
#include "core/core.h"

#define MIN_SAMPLES 16
#define FIT_MIN_HALF 5
#define MIN_BASELINE 8   /* samples for a stroke's force baseline */
#define MIN_DROP_WINDOW 3 /* samples in which a puncture drop must show */
#define RESID_FLOOR_UM 0.05 /* noise floor of the spike test: below any sensor's step */

void rig_analysis_params_default(struct rig_analysis_params *p)
{
	*p = (struct rig_analysis_params){
		.range_percentile = 1.0,
		.thr_lo = 0.30,
		.thr_hi = 0.70,
		.min_span_um = 100,
		.smooth_s = 0.25e-3,
		.glitch_duration = 0.5,
		.glitch_amplitude = 0.5,
		.glitch_gap = 0.5,
		.glitch_residual = 8,
		.skip_ratio = 1.5,
		.peak_window = 0.15,
		.contact_sigma = 6,
		.contact_min_mn = 5,
		.puncture_drop = 0.3,
		.puncture_window = 0.05,
		.tent_residual = 1.0,
	};
}

const char *rig_stroke_status_name(enum rig_stroke_status status)
{
	static const char *const names[RIG_STROKE_N_STATUS] = {
		[RIG_STROKE_OK] = "ok",
		[RIG_STROKE_PARTIAL_START] = "partial-start",
		[RIG_STROKE_PARTIAL_END] = "partial-end",
		[RIG_STROKE_CLIPPED] = "clipped",
		[RIG_STROKE_GLITCH] = "glitch",
		[RIG_STROKE_SKIPPED] = "skipped",
	};
	return (unsigned)status < RIG_STROKE_N_STATUS ? names[status] : "?";
}

static int in_range(double v, double lo, double hi)
{
	return isfinite(v) && v >= lo && v <= hi;
}

static int check_params(const struct rig_analysis_params *p)
{
	const char *bad = NULL;
	if (!in_range(p->range_percentile, 0, 25))
		bad = "range_percentile must be in [0, 25]";
	else if (!(p->thr_lo > 0 && p->thr_lo < p->thr_hi && p->thr_hi < 1))
		bad = "thresholds must satisfy 0 < thr_lo < thr_hi < 1";
	else if (!in_range(p->min_span_um, 0, 1e6) || !in_range(p->smooth_s, 0, 1))
		bad = "min_span_um and smooth_s must be finite and >= 0";
	else if (!in_range(p->glitch_duration, 0, 1) || !in_range(p->glitch_amplitude, 0, 1) ||
		 !in_range(p->glitch_gap, 0, 1))
		bad = "glitch_duration, glitch_amplitude and glitch_gap must be in [0, 1]";
	else if (!in_range(p->glitch_residual, 1, 1e6) || !in_range(p->skip_ratio, 1.01, 100))
		bad = "glitch_residual must be >= 1 and skip_ratio > 1";
	else if (!in_range(p->peak_window, 0.001, 0.25))
		bad = "peak_window must be in [0.001, 0.25]";
	else if (!in_range(p->contact_sigma, 0, 1e6) || !in_range(p->contact_min_mn, 0, 1e6) ||
		 !(p->contact_sigma > 0 || p->contact_min_mn > 0))
		bad = "contact_sigma and contact_min_mn must be >= 0, one of them > 0";
	else if (!in_range(p->puncture_drop, 0.01, 1) || !in_range(p->puncture_window, 0.001, 0.5))
		bad = "puncture_drop must be in [0.01, 1] and puncture_window in [0.001, 0.5]";
	else if (!in_range(p->tent_residual, 0, 1))
		bad = "tent_residual must be in [0, 1]";
	return bad ? rigi_fail(RIG_ERR_ARG, "stroke analysis parameters: %s", bad) : 0;
}

static int check_capture(const struct rig_capture *cap)
{
	if (!cap || !cap->disp_um || !(cap->rate_hz > 0) || !isfinite(cap->rate_hz) ||
	    cap->n < MIN_SAMPLES)
		return rigi_fail(RIG_ERR_ARG, "stroke analysis: need a displacement channel, a "
					      "positive sample rate and at least %d samples",
				 MIN_SAMPLES);
	for (size_t i = 0; i < cap->n; i++) {
		const char *ch = !isfinite(cap->disp_um[i])			 ? "displacement"
				 : cap->force_mn && !isfinite(cap->force_mn[i]) ? "force"
										 : NULL;
		if (ch)
			return rigi_fail(RIG_ERR_ARG, "stroke analysis: %s sample %zu is not a "
						      "finite number", ch, i);
	}
	return 0;
}

/* Everything one analysis works on. */
struct run {
	const struct rig_capture *cap;
	const struct rig_analysis_params *p;
	struct rig_analysis *an;
	struct rigi_segmentation seg;
	struct rigi_window *win; /* one per stroke */
	double *scratch;         /* n values */
};

static void stroke_init(struct rig_stroke *st)
{
	*st = (struct rig_stroke){.status = RIG_STROKE_OK};
	st->t_peak_s = st->protrusion_um = st->period_s = NAN;
	st->force_baseline_mn = st->peak_force_mn = st->contact_um = NAN;
	st->puncture_force_mn = st->puncture_um = st->tenting_um = NAN;
	st->penetration_um = st->drag_mn = NAN;
}

static int clipped(const double *v, size_t a, size_t b, double lo, double hi)
{
	if (!v || !(lo < hi))
		return 0;
	for (size_t i = a; i <= b; i++)
		if (v[i] <= lo || v[i] >= hi)
			return 1;
	return 0;
}

/* The cycle of kept phase k runs from the trough of the retraction before
 * it to the trough of the one after. Its force baseline is the withdrawal
 * half of the retraction before it (below the low threshold, up to the
 * trough): there the needles have left the phantom, whereas on the way
 * back out of the trough a tip that never leaves the phantom already loads
 * it. A withdrawal too short for a median falls back to the whole part of
 * the retraction below the low threshold. */
static void set_window(struct run *r, size_t k, size_t prev, size_t next)
{
	const struct rigi_segmentation *seg = &r->seg;
	const struct rigi_phase *ph = &seg->ph[k];
	struct rigi_window *w = &r->win[k];
	size_t n = r->cap->n;
	size_t a = prev < seg->n_phases ? seg->ph[prev].fall : 0;
	size_t b = next < seg->n_phases ? seg->ph[next].rise : n;

	w->rise = ph->rise;
	w->fall = ph->fall;
	w->top = ph->top;
	w->start = ph->has_rise ? rigi_trough(seg, a, ph->rise) : a;
	w->end = ph->has_fall && next < seg->n_phases ? rigi_trough(seg, ph->fall, b) : n - 1;
	w->base_from = a;
	while (w->base_from < w->start && seg->smooth[w->base_from] >= seg->thr_lo)
		w->base_from++;
	w->base_to = w->start + 1;
	if (w->base_to - w->base_from >= MIN_BASELINE)
		return;
	w->base_to = ph->rise;
	while (w->base_to > w->base_from && seg->smooth[w->base_to - 1] >= seg->thr_lo)
		w->base_to--;
}

static enum rig_stroke_status classify(const struct run *r, size_t k, size_t next)
{
	const struct rigi_phase *ph = &r->seg.ph[k];
	const struct rigi_window *w = &r->win[k];
	const struct rig_capture *c = r->cap;

	if (ph->removed)
		return RIG_STROKE_GLITCH;
	if (!ph->has_rise)
		return RIG_STROKE_PARTIAL_START;
	if (!ph->has_fall || next >= r->seg.n_phases)
		return RIG_STROKE_PARTIAL_END;
	if (clipped(c->disp_um, w->start, w->end, c->disp_clip_lo_um, c->disp_clip_hi_um) ||
	    clipped(c->force_mn, w->start, w->end, c->force_clip_lo_mn, c->force_clip_hi_mn))
		return RIG_STROKE_CLIPPED;
	if (ph->merged)
		return RIG_STROKE_GLITCH;
	return RIG_STROKE_OK;
}

static void build_strokes(struct run *r)
{
	size_t prev = r->seg.n_phases;
	for (size_t k = 0; k < r->seg.n_phases; k++) {
		struct rig_stroke *st = &r->an->strokes[k];
		const struct rigi_phase *ph = &r->seg.ph[k];
		size_t next = rigi_next_phase(&r->seg, k);

		stroke_init(st);
		if (ph->removed) {
			r->win[k] = (struct rigi_window){.start = ph->rise, .end = ph->fall - 1,
							 .rise = ph->rise, .fall = ph->fall,
							 .top = ph->top};
		} else {
			set_window(r, k, prev, next);
			prev = k;
		}
		st->status = classify(r, k, next);
		st->start = r->win[k].start;
		st->end = r->win[k].end;
		st->peak = ph->top;
		st->t_peak_s = (double)ph->top / r->cap->rate_hz;
	}
}

/* Fit every accepted stroke's peak; then reject as glitches the strokes
 * whose fit has a residual far beyond the capture's typical noise (a spike
 * in the peak window would bias the protrusion). */
static int fit_peaks(struct run *r, size_t halfwidth)
{
	struct rig_analysis *an = r->an;
	double *scale = malloc(2 * (an->n_strokes + 1) * sizeof(*scale));
	double *rmax, *tmp;
	size_t m = 0;

	if (!scale)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory");
	rmax = scale + an->n_strokes + 1;
	tmp = r->scratch;
	for (size_t k = 0; k < an->n_strokes; k++) {
		struct rig_stroke *st = &an->strokes[k];
		if (st->status != RIG_STROKE_OK)
			continue;
		if (rigi_fit_peak(r->cap->disp_um, r->cap->n, r->cap->rate_hz, &r->win[k],
				  halfwidth, st, &scale[k], &rmax[k]) < 0) {
			st->status = RIG_STROKE_GLITCH;
			continue;
		}
		tmp[m++] = scale[k];
	}
	an->disp_noise_um = m ? rigi_median_inplace(tmp, m) : NAN;
	/* A noiseless signal must not make every rounding error a spike. */
	double limit = r->p->glitch_residual * fmax(an->disp_noise_um, RESID_FLOOR_UM);
	for (size_t k = 0; k < an->n_strokes && m; k++) {
		struct rig_stroke *st = &an->strokes[k];
		if (st->status == RIG_STROKE_OK && rmax[k] > limit) {
			RIGI_DEBUG(RIGI_ANALYSIS_DOMAIN, "stroke %zu: peak-fit residual %.2f um "
				   "> %.1f x noise %.3f um: spike", k, rmax[k], r->p->glitch_residual,
				   an->disp_noise_um);
			st->status = RIG_STROKE_GLITCH;
			st->protrusion_um = NAN;
		}
	}
	free(scale);
	return 0;
}

/* Period of each kept extension to the next one, from the mid-level
 * up-crossings; an interval of about m median periods hides m - 1 skipped
 * strokes (the tip stayed retracted). */
static void measure_periods(struct run *r)
{
	const struct rigi_segmentation *seg = &r->seg;
	for (size_t k = 0; k < seg->n_phases; k++) {
		size_t nx = rigi_next_phase(seg, k);
		if (seg->ph[k].removed || nx >= seg->n_phases)
			continue;
		double dt = seg->ph[nx].t_cross - seg->ph[k].t_cross;
		if (isnan(dt) || isnan(seg->median_period))
			continue;
		double ratio = dt / seg->median_period;
		if (ratio >= r->p->skip_ratio) {
			long missing = lround(ratio) - 1;
			r->an->count[RIG_STROKE_SKIPPED] += (size_t)(missing > 1 ? missing : 1);
			continue;
		}
		if (r->an->strokes[k].status == RIG_STROKE_OK)
			r->an->strokes[k].period_s = dt / r->cap->rate_hz;
	}
}

static void measure_forces(struct run *r)
{
	struct rigi_force_ctx ctx = {.force_noise_mn = r->an->force_noise_mn,
				     .drop_window = MIN_DROP_WINDOW};
	/* No median period means no accepted stroke: the window is unused. */
	if (!isnan(r->seg.median_period)) {
		long w = lround(r->p->puncture_window * r->seg.median_period);
		if (w > MIN_DROP_WINDOW)
			ctx.drop_window = (size_t)w;
	}
	for (size_t k = 0; k < r->an->n_strokes; k++) {
		struct rig_stroke *st = &r->an->strokes[k];
		if (st->status != RIG_STROKE_OK)
			continue;
		rigi_measure_force(r->cap->disp_um, r->cap->force_mn, &r->win[k], r->p, &ctx,
				   r->scratch, st);
		r->an->n_loaded += st->starts_loaded;
	}
}

/* Force noise from the strokes' baseline regions, where the phantom is
 * unloaded (elsewhere tenting ramps and puncture drops would count as
 * noise); from the whole capture when they hold too few samples. */
static int estimate_force_noise(struct run *r)
{
	const struct rig_capture *c = r->cap;
	unsigned char *quiet;

	r->an->force_noise_mn = NAN;
	if (!c->force_mn)
		return 0;
	quiet = calloc(c->n, 1);
	if (!quiet)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu samples", c->n);
	for (size_t k = 0; k < r->an->n_strokes; k++)
		if (r->an->strokes[k].status == RIG_STROKE_OK)
			memset(quiet + r->win[k].base_from, 1,
			       r->win[k].base_to - r->win[k].base_from);
	r->an->force_noise_mn = rigi_diff_noise(c->force_mn, quiet, c->n, r->scratch);
	free(quiet);
	if (isnan(r->an->force_noise_mn))
		r->an->force_noise_mn = rigi_diff_noise(c->force_mn, NULL, c->n, r->scratch);
	return 0;
}

/* Summary of one double field of the accepted strokes (NaN values, i.e.
 * measurands that do not apply, are left out). */
static int summarise(struct run *r, size_t field, double (*map)(double), struct rig_stats *out)
{
	size_t m = 0;
	for (size_t k = 0; k < r->an->n_strokes; k++) {
		const struct rig_stroke *st = &r->an->strokes[k];
		double v = *(const double *)((const char *)st + field);
		if (st->status == RIG_STROKE_OK && !isnan(v))
			r->scratch[m++] = map ? map(v) : v;
	}
	if (m == 0) {
		*out = (struct rig_stats){.n = 0, .mean = NAN, .median = NAN, .sd = NAN,
					  .sem = NAN, .min = NAN, .max = NAN,
					  .trimmed_mean = NAN};
		return 0;
	}
	int ret = rig_stats_compute(r->scratch, m, out);
	if (ret < 0)
		rigi_error_context("stroke analysis: summary");
	return ret;
}

static double reciprocal(double v)
{
	return 1.0 / v;
}

/* The standard uncertainty of the mean stroke rate. Consecutive periods
 * are not independent: each runs from one mid-level crossing to the next,
 * so one stroke's timing enters two of them (an MA(1) series; lag-1
 * autocorrelation ~ +0.3 for a cam's symmetric stroke), and sd/sqrt(n)
 * understates the scatter of the mean. The long-run variance of an MA(1)
 * series is var * (1 + 2 rho1): rho1 is estimated from adjacent accepted
 * strokes, clamped to [0, 0.5] (0: never less than sd/sqrt(n); 0.5: the
 * largest an MA(1) series has). docs/analysis.md §5. */
static void rate_uncertainty(struct rig_analysis *an)
{
	const struct rig_stats *s = &an->stroke_rate_hz;
	double num = 0, den = 0;
	size_t pairs = 0;

	an->stroke_rate_rho1 = NAN;
	an->stroke_rate_u_hz = s->n ? s->sem : NAN;
	if (s->n < 3)
		return;
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *a = &an->strokes[k];
		if (a->status != RIG_STROKE_OK || isnan(a->period_s))
			continue;
		den += (1 / a->period_s - s->mean) * (1 / a->period_s - s->mean);
		const struct rig_stroke *b = k + 1 < an->n_strokes ? &an->strokes[k + 1] : NULL;
		if (b && b->status == RIG_STROKE_OK && !isnan(b->period_s)) {
			num += (1 / a->period_s - s->mean) * (1 / b->period_s - s->mean);
			pairs++;
		}
	}
	if (pairs < 2 || !(den > 0))
		return;
	double rho = num / den;
	an->stroke_rate_rho1 = rho;
	rho = rho < 0 ? 0 : rho > 0.5 ? 0.5 : rho;
	an->stroke_rate_u_hz = s->sem * sqrt(1 + 2 * rho);
}

static int summarise_all(struct run *r)
{
	struct rig_analysis *an = r->an;
	int ret = summarise(r, offsetof(struct rig_stroke, protrusion_um), NULL, &an->protrusion_um);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, period_s), NULL, &an->period_s);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, period_s), reciprocal,
				&an->stroke_rate_hz);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, peak_force_mn), NULL,
				&an->peak_force_mn);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, penetration_um), NULL,
				&an->penetration_um);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, tenting_um), NULL, &an->tenting_um);
	if (ret == 0)
		ret = summarise(r, offsetof(struct rig_stroke, drag_mn), NULL, &an->drag_mn);
	for (size_t k = 0; k < an->n_strokes; k++) {
		an->count[an->strokes[k].status]++;
		an->n_punctured += an->strokes[k].status == RIG_STROKE_OK && an->strokes[k].punctured;
	}
	if (ret == 0)
		rate_uncertainty(an);
	return ret;
}

/* Peak-fit half-width: a fixed fraction of the period keeps the fit's
 * bias (from the waveform's sixth-order term) the same at every rate. */
static size_t fit_halfwidth(const struct run *r)
{
	double h = r->p->peak_window * r->seg.median_period;
	if (!(h >= FIT_MIN_HALF))
		return FIT_MIN_HALF;
	return h > RIGI_FIT_MAX_HALF ? RIGI_FIT_MAX_HALF : (size_t)lround(h);
}

static int analyse(struct run *r)
{
	struct rig_analysis *an = r->an;
	int ret;

	an->strokes = calloc(r->seg.n_phases + 1, sizeof(*an->strokes));
	r->win = calloc(r->seg.n_phases + 1, sizeof(*r->win));
	r->scratch = malloc(r->cap->n * sizeof(*r->scratch));
	if (!an->strokes || !r->win || !r->scratch)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu samples",
				 r->cap->n);
	an->n_strokes = r->seg.n_phases;
	build_strokes(r);
	ret = estimate_force_noise(r);
	if (ret < 0)
		return ret;
	an->peak_halfwidth = fit_halfwidth(r);
	ret = fit_peaks(r, an->peak_halfwidth);
	if (ret < 0)
		return ret;
	measure_periods(r);
	if (r->cap->force_mn)
		measure_forces(r);
	return 0;
}

int rig_analysis_run(const struct rig_capture *cap, const struct rig_analysis_params *params,
		     struct rig_analysis **out)
{
	struct run r = {.cap = cap};
	struct rig_analysis *an = NULL;
	int ret;

	*out = NULL;
	ret = check_capture(cap);
	if (ret < 0)
		return ret;
	an = calloc(1, sizeof(*an));
	if (!an)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory");
	if (params)
		an->params = *params;
	else
		rig_analysis_params_default(&an->params);
	r.p = &an->params;
	r.an = an;
	an->rate_hz = cap->rate_hz;
	an->n_samples = cap->n;
	an->disp_noise_um = an->force_noise_mn = NAN;
	ret = check_params(r.p);
	if (ret == 0)
		ret = rigi_segment(cap->disp_um, cap->n, cap->rate_hz, r.p, &r.seg);
	if (ret < 0)
		goto out;
	an->disp_min_um = r.seg.lo_um;
	an->disp_max_um = r.seg.hi_um;
	an->thr_lo_um = r.seg.thr_lo;
	an->thr_hi_um = r.seg.thr_hi;
	an->smooth_samples = r.seg.smooth_len;
	if (r.seg.smooth)
		ret = analyse(&r);
	if (ret == 0)
		ret = summarise_all(&r);
	if (ret == 0)
		RIGI_DEBUG(RIGI_ANALYSIS_DOMAIN, "%zu strokes: %zu ok, %zu partial, %zu clipped, "
			   "%zu glitch, %zu skipped", an->n_strokes, an->count[RIG_STROKE_OK],
			   an->count[RIG_STROKE_PARTIAL_START] + an->count[RIG_STROKE_PARTIAL_END],
			   an->count[RIG_STROKE_CLIPPED], an->count[RIG_STROKE_GLITCH],
			   an->count[RIG_STROKE_SKIPPED]);
out:
	rigi_segmentation_clear(&r.seg);
	free(r.win);
	free(r.scratch);
	if (ret < 0) {
		rig_analysis_free(an);
		return ret;
	}
	*out = an;
	return 0;
}

void rig_analysis_free(struct rig_analysis *an)
{
	if (!an)
		return;
	free(an->strokes);
	free(an);
}
