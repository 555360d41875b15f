/* Segmentation of the displacement signal into extensions (docs/analysis.md
 * §2): robust range, a box filter used for detection only, a hysteresis
 * comparator between two thresholds relative to the span, the mid-level
 * up-crossing of each extension, then glitch screening against the median
 * extension (dropouts merged back, spikes removed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analysis/analysis_int.h"
#include "core/core.h"

/* A dropout replaces part of an extension: the pieces around it span at
 * most this many median extension lengths. */
#define DROPOUT_SPAN 1.25

enum level { LEVEL_UNKNOWN, LEVEL_LOW, LEVEL_HIGH };

static int robust_range(const double *x, size_t n, double pct, double *lo, double *hi)
{
	double *tmp = malloc(n * sizeof(*tmp));
	if (!tmp)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu samples", n);
	memcpy(tmp, x, n * sizeof(*tmp));
	*lo = rigi_quantile_inplace(tmp, n, pct / 100.0);
	*hi = rigi_quantile_inplace(tmp, n, 1.0 - pct / 100.0);
	free(tmp);
	return 0;
}

/* Centred moving average of odd length len (shorter at the edges), so that
 * the filtered signal has no delay and crossing times stay unbiased. */
static void box_filter(const double *x, size_t n, size_t len, double *out)
{
	size_t h = len / 2;
	double sum = 0;
	size_t a = 0, b = 0; /* window [a, b) */

	for (size_t i = 0; i < n; i++) {
		size_t want_a = i > h ? i - h : 0;
		size_t want_b = i + h + 1 < n ? i + h + 1 : n;
		while (b < want_b)
			sum += x[b++];
		while (a < want_a)
			sum -= x[a++];
		out[i] = sum / (double)(b - a);
	}
}

static int push_phase(struct rigi_segmentation *seg, size_t *cap, const struct rigi_phase *p)
{
	if (seg->n_phases == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct rigi_phase *np = realloc(seg->ph, ncap * sizeof(*np));
		if (!np)
			return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu strokes",
					 ncap);
		seg->ph = np;
		*cap = ncap;
	}
	seg->ph[seg->n_phases++] = *p;
	return 0;
}

/* Mid-level up-crossing before sample `rise`, interpolated linearly on the
 * smoothed signal (a centred filter keeps a straight flank in place). */
static double mid_crossing(const struct rigi_segmentation *seg, size_t from, size_t rise)
{
	const double *s = seg->smooth;
	size_t j = rise;
	while (j > from && s[j - 1] > seg->mid)
		j--;
	if (j == from || s[j] == s[j - 1])
		return NAN;
	return (double)(j - 1) + (seg->mid - s[j - 1]) / (s[j] - s[j - 1]);
}

/* Hysteresis comparator: one phase per run above thr_hi, ended by a drop
 * below thr_lo. A phase is complete on the left only when the retraction
 * before it began inside the capture (a seen downward crossing). */
static int find_phases(struct rigi_segmentation *seg, size_t n)
{
	const double *s = seg->smooth;
	enum level lvl = s[0] > seg->thr_hi ? LEVEL_HIGH
			 : s[0] < seg->thr_lo ? LEVEL_LOW
					      : LEVEL_UNKNOWN;
	int low_seen = 0; /* the current retraction began inside the capture */
	size_t cap = 0, low_from = 0;
	struct rigi_phase cur = {0};
	int ret;

	if (lvl == LEVEL_HIGH)
		cur = (struct rigi_phase){.rise = 0, .t_cross = NAN};
	for (size_t i = 1; i < n; i++) {
		if (lvl != LEVEL_HIGH && s[i] > seg->thr_hi) {
			cur = (struct rigi_phase){.rise = i, .has_rise = lvl == LEVEL_LOW && low_seen};
			cur.t_cross = cur.has_rise ? mid_crossing(seg, low_from, i) : NAN;
			lvl = LEVEL_HIGH;
		} else if (lvl == LEVEL_HIGH && s[i] < seg->thr_lo) {
			cur.fall = i;
			cur.has_fall = 1;
			ret = push_phase(seg, &cap, &cur);
			if (ret < 0)
				return ret;
			lvl = LEVEL_LOW;
			low_seen = 1;
			low_from = i;
		} else if (lvl == LEVEL_UNKNOWN && s[i] < seg->thr_lo) {
			lvl = LEVEL_LOW;
			low_seen = 1;
			low_from = i;
		}
	}
	if (lvl == LEVEL_HIGH) {
		cur.fall = n;
		cur.has_fall = 0;
		return push_phase(seg, &cap, &cur);
	}
	return 0;
}

static void find_tops(struct rigi_segmentation *seg)
{
	for (size_t k = 0; k < seg->n_phases; k++) {
		struct rigi_phase *p = &seg->ph[k];
		p->top = p->rise;
		for (size_t i = p->rise; i < p->fall; i++)
			if (seg->smooth[i] > seg->smooth[p->top])
				p->top = i;
		p->amp = seg->smooth[p->top] - seg->lo_um;
	}
}

/* Median of what @p get returns for each complete, kept phase pair or
 * phase; NaN when none qualifies. */
typedef int (*phase_value_fn)(const struct rigi_segmentation *seg, size_t k, double *v);

static int median_of(const struct rigi_segmentation *seg, phase_value_fn get, double *out)
{
	double *v = malloc((seg->n_phases + 1) * sizeof(*v));
	size_t m = 0;
	if (!v)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu strokes",
				 seg->n_phases);
	for (size_t k = 0; k < seg->n_phases; k++)
		if (!seg->ph[k].removed && get(seg, k, &v[m]))
			m++;
	*out = m ? rigi_median_inplace(v, m) : NAN;
	free(v);
	return 0;
}

static int gap_value(const struct rigi_segmentation *seg, size_t k, double *v)
{
	size_t nx = rigi_next_phase(seg, k);
	if (nx >= seg->n_phases || !seg->ph[k].has_fall)
		return 0;
	*v = (double)(seg->ph[nx].rise - seg->ph[k].fall);
	return 1;
}

static int duration_value(const struct rigi_segmentation *seg, size_t k, double *v)
{
	const struct rigi_phase *p = &seg->ph[k];
	if (!p->has_rise || !p->has_fall || p->merged)
		return 0;
	*v = (double)(p->fall - p->rise);
	return 1;
}

static int amp_value(const struct rigi_segmentation *seg, size_t k, double *v)
{
	if (!seg->ph[k].has_rise || !seg->ph[k].has_fall)
		return 0;
	*v = seg->ph[k].amp;
	return 1;
}

static int period_value(const struct rigi_segmentation *seg, size_t k, double *v)
{
	size_t nx = rigi_next_phase(seg, k);
	if (nx >= seg->n_phases || isnan(seg->ph[k].t_cross) || isnan(seg->ph[nx].t_cross))
		return 0;
	*v = seg->ph[nx].t_cross - seg->ph[k].t_cross;
	return 1;
}

/* A retraction much shorter than the median one, between two pieces that
 * together last about one extension, is a dropout of the sensor inside an
 * extension: join the pieces into one extension, marked as glitched. A
 * burst during a retraction fails the length test and is left to
 * remove_small, so that its neighbour survives. */
static int merge_dropouts(struct rigi_segmentation *seg, const struct rig_analysis_params *p)
{
	double med_gap = NAN, med_dur = NAN;
	size_t out = 0;
	int ret = median_of(seg, gap_value, &med_gap);
	if (ret == 0)
		ret = median_of(seg, duration_value, &med_dur);
	if (ret < 0 || isnan(med_gap) || isnan(med_dur))
		return ret;
	for (size_t k = 0; k < seg->n_phases; k++) {
		struct rigi_phase *q = &seg->ph[k];
		if (out > 0) {
			struct rigi_phase *last = &seg->ph[out - 1];
			double gap = (double)(q->rise - last->fall);
			double joined = (double)(q->fall - last->rise);
			if (last->has_fall && gap < p->glitch_gap * med_gap &&
			    joined <= DROPOUT_SPAN * med_dur) {
				if (seg->smooth[q->top] > seg->smooth[last->top]) {
					last->top = q->top;
					last->amp = q->amp;
				}
				last->fall = q->fall;
				last->has_fall = q->has_fall;
				last->merged = 1;
				seg->n_merged++;
				continue;
			}
		}
		seg->ph[out++] = *q;
	}
	seg->n_phases = out;
	return 0;
}

/* Extensions much shorter or smaller than the median one are spikes or
 * tremors, not strokes: they stay in the list (reported) but take no part
 * in the neighbour relations (troughs, periods). */
static int remove_small(struct rigi_segmentation *seg, const struct rig_analysis_params *p)
{
	double med_dur = NAN, med_amp = NAN;
	int ret = median_of(seg, duration_value, &med_dur);
	if (ret == 0)
		ret = median_of(seg, amp_value, &med_amp);
	if (ret < 0)
		return ret;
	for (size_t k = 0; k < seg->n_phases; k++) {
		struct rigi_phase *q = &seg->ph[k];
		double dur;
		if (!duration_value(seg, k, &dur))
			continue;
		if ((!isnan(med_dur) && dur < p->glitch_duration * med_dur) ||
		    (!isnan(med_amp) && q->amp < p->glitch_amplitude * med_amp)) {
			q->removed = 1;
			seg->n_glitch_removed++;
		}
	}
	return 0;
}

/* A removed glitch must not make its kept neighbour look complete: the
 * next kept phase inherits whether the retraction before the glitch was
 * seen from its start. */
static void relink_after_removal(struct rigi_segmentation *seg)
{
	int has_rise = -1;
	for (size_t k = 0; k < seg->n_phases; k++) {
		struct rigi_phase *q = &seg->ph[k];
		if (q->removed) {
			if (has_rise < 0)
				has_rise = q->has_rise;
			continue;
		}
		if (has_rise == 0) {
			q->has_rise = 0;
			q->t_cross = NAN;
		}
		has_rise = -1;
	}
}

int rigi_segment(const double *x, size_t n, double fs, const struct rig_analysis_params *p,
		 struct rigi_segmentation *seg)
{
	double span;
	int ret;

	memset(seg, 0, sizeof(*seg));
	seg->median_period = NAN;
	ret = robust_range(x, n, p->range_percentile, &seg->lo_um, &seg->hi_um);
	if (ret < 0)
		return ret;
	span = seg->hi_um - seg->lo_um;
	seg->thr_lo = seg->lo_um + p->thr_lo * span;
	seg->thr_hi = seg->lo_um + p->thr_hi * span;
	seg->mid = 0.5 * (seg->thr_lo + seg->thr_hi);
	seg->smooth_len = (size_t)lround(p->smooth_s * fs) | 1u;
	if (span < p->min_span_um) {
		RIGI_DEBUG(RIGI_ANALYSIS_DOMAIN, "displacement span %.1f um < %.1f um: no strokes",
			   span, p->min_span_um);
		return 0;
	}
	seg->smooth = malloc(n * sizeof(*seg->smooth));
	if (!seg->smooth)
		return rigi_fail(RIG_ERR_NOMEM, "stroke analysis: no memory for %zu samples", n);
	box_filter(x, n, seg->smooth_len, seg->smooth);
	ret = find_phases(seg, n);
	if (ret == 0) {
		find_tops(seg);
		ret = merge_dropouts(seg, p);
	}
	if (ret == 0)
		ret = remove_small(seg, p);
	if (ret == 0) {
		relink_after_removal(seg);
		ret = median_of(seg, period_value, &seg->median_period);
	}
	RIGI_DEBUG(RIGI_ANALYSIS_DOMAIN,
		   "range %.1f..%.1f um, thresholds %.1f/%.1f um, filter %zu, %zu extensions "
		   "(%zu glitches removed, %zu dropouts merged), median period %.2f samples",
		   seg->lo_um, seg->hi_um, seg->thr_lo, seg->thr_hi, seg->smooth_len, seg->n_phases,
		   seg->n_glitch_removed, seg->n_merged, seg->median_period);
	return ret;
}

void rigi_segmentation_clear(struct rigi_segmentation *seg)
{
	free(seg->smooth);
	free(seg->ph);
	memset(seg, 0, sizeof(*seg));
}

size_t rigi_next_phase(const struct rigi_segmentation *seg, size_t k)
{
	for (size_t j = k + 1; j < seg->n_phases; j++)
		if (!seg->ph[j].removed)
			return j;
	return seg->n_phases;
}

size_t rigi_trough(const struct rigi_segmentation *seg, size_t a, size_t b)
{
	size_t m = a;
	for (size_t i = a + 1; i < b; i++)
		if (seg->smooth[i] < seg->smooth[m])
			m = i;
	return m;
}
