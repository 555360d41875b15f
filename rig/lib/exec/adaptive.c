/* Adaptive measurement of one point (docs/analysis.md §11, suite keys in
 * docs/files.md): settling detected from the signal instead of a fixed wait,
 * then short captures whose strokes are pooled until the expanded
 * uncertainty of the pooled mean reaches the suite's target, within a
 * maximum time. The pool's uncertainty never pairs strokes of different
 * captures as neighbours: they are not adjacent in time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

/* A settling window holds at least this many accepted strokes (or
 * SETTLE_WINDOW_CAPTURES captures) before its means are compared. */
#define SETTLE_MIN_STROKES 5
#define SETTLE_WINDOW_CAPTURES 4
/* Margin on the predicted remaining capture: the scatter's estimate moves. */
#define PREDICT_MARGIN 1.1

void rigi_pool_free(struct rigi_pool *p)
{
	rigi_sample_free(&p->s);
	free(p->chunk);
	*p = (struct rigi_pool){0};
}

static double reciprocal(double v)
{
	return 1.0 / v;
}

/* Summary of one field of the pooled accepted strokes (NaN left out), as
 * the analysis summarises one capture (docs/analysis.md §5). */
static int summarise(struct rig_analysis *an, size_t field, double (*map)(double), double *buf,
		     struct rig_stats *out)
{
	size_t m = 0;
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		double v = *(const double *)((const char *)st + field);
		if (st->status == RIG_STROKE_OK && !isnan(v))
			buf[m++] = map ? map(v) : v;
	}
	if (m == 0) {
		*out = (struct rig_stats){.mean = NAN, .median = NAN, .sd = NAN, .sem = NAN,
					  .min = NAN, .max = NAN, .trimmed_mean = NAN};
		return 0;
	}
	return rig_stats_compute(buf, m, out);
}

double rigi_pool_lag1(const struct rig_analysis *an, const unsigned *chunk, size_t field,
		      int recip, double mean)
{
	double num = 0, den = 0;
	size_t pairs = 0;
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *a = &an->strokes[k];
		double va = *(const double *)((const char *)a + field);
		if (a->status != RIG_STROKE_OK || isnan(va))
			continue;
		va = (recip ? 1.0 / va : va) - mean;
		den += va * va;
		if (k + 1 >= an->n_strokes || chunk[k + 1] != chunk[k])
			continue;
		const struct rig_stroke *b = &an->strokes[k + 1];
		double vb = *(const double *)((const char *)b + field);
		if (b->status != RIG_STROKE_OK || isnan(vb))
			continue;
		num += va * ((recip ? 1.0 / vb : vb) - mean);
		pairs++;
	}
	return pairs >= 2 && den > 0 ? num / den : NAN;
}

/* sem widened for the lag-1 correlation of neighbours: the long-run
 * variance of an MA(1) series, var (1 + 2 rho). The estimate r from n
 * values is low by about (1 + 4 rho) / n (Kendall), which a pool of 20-40
 * strokes makes 0.05-0.09: it is corrected, then clamped to [0, 0.5]
 * (docs/analysis.md §11). */
static double widened(double sem, double r, size_t n)
{
	if (isnan(r) || n == 0)
		return sem;
	double rho = r + (1 + 4 * r) / (double)n;
	rho = rho < 0 ? 0 : rho > 0.5 ? 0.5 : rho;
	return sem * sqrt(1 + 2 * rho);
}

static int pool_summarise(struct rigi_pool *p)
{
	struct rig_analysis *an = p->s.an;
	double *buf = malloc((an->n_strokes ? an->n_strokes : 1) * sizeof(double));
	int ret = 0;
	if (!buf)
		return rigi_fail(RIG_ERR_NOMEM, "no memory to pool %zu strokes", an->n_strokes);
#define SUM(field, map, out) \
	if (ret == 0) \
		ret = summarise(an, offsetof(struct rig_stroke, field), map, buf, &an->out)
	SUM(protrusion_um, NULL, protrusion_um);
	SUM(period_s, NULL, period_s);
	SUM(period_s, reciprocal, stroke_rate_hz);
	SUM(peak_force_mn, NULL, peak_force_mn);
	SUM(penetration_um, NULL, penetration_um);
	SUM(tenting_um, NULL, tenting_um);
	SUM(drag_mn, NULL, drag_mn);
#undef SUM
	free(buf);
	if (ret < 0)
		return ret;
	an->stroke_rate_rho1 = an->stroke_rate_hz.n >= 3
		? rigi_pool_lag1(an, p->chunk, offsetof(struct rig_stroke, period_s), 1,
				 an->stroke_rate_hz.mean)
		: NAN;
	an->stroke_rate_u_hz = widened(an->stroke_rate_hz.sem, an->stroke_rate_rho1,
				       an->stroke_rate_hz.n);
	p->protrusion_rho1 = an->protrusion_um.n >= 3
		? rigi_pool_lag1(an, p->chunk, offsetof(struct rig_stroke, protrusion_um), 0,
				 an->protrusion_um.mean)
		: NAN;
	/* Peaks have no shared crossing: on the simulator their lag-1
	 * correlation is ~0 (mean -0.08 over 267 pooled points). A pen whose
	 * peaks wander shows one above white noise's 2/sqrt(n): then, and only
	 * then, protrusion_um.sem is widened as the rate's is. */
	if (p->protrusion_rho1 > 2 / sqrt((double)an->protrusion_um.n))
		an->protrusion_um.sem = widened(an->protrusion_um.sem, p->protrusion_rho1,
						an->protrusion_um.n);
	p->s.n_accepted = an->count[RIG_STROKE_OK];
	return 0;
}

/* The first analysis pooled gives the pool its detection values (those of
 * its first capture); strokes and counts are then appended. */
static int pool_start(struct rigi_pool *p, const struct rig_analysis *an)
{
	p->s.an = malloc(sizeof(*p->s.an));
	if (!p->s.an)
		return rigi_fail(RIG_ERR_NOMEM, "no memory to pool captures");
	*p->s.an = *an;
	p->s.an->strokes = NULL;
	p->s.an->n_strokes = 0;
	p->s.an->n_samples = 0;
	p->s.an->n_punctured = p->s.an->n_loaded = 0;
	memset(p->s.an->count, 0, sizeof(p->s.an->count));
	p->s.max_disp_um = -INFINITY;
	p->s.max_force_mn = -INFINITY;
	return 0;
}

/* Append the strokes of @p from (one capture when @p chunk is NULL, else
 * @p n_chunks captures numbered by @p chunk) after the pool's. */
static int append(struct rigi_pool *p, const struct rigi_sample *from, const unsigned *chunk,
		  unsigned n_chunks, double capture_s)
{
	const struct rig_analysis *an = from->an;
	int ret = p->s.an ? 0 : pool_start(p, an);
	if (ret < 0)
		return ret;
	struct rig_analysis *to = p->s.an;
	size_t n = to->n_strokes + an->n_strokes;
	struct rig_stroke *strokes = realloc(to->strokes, (n ? n : 1) * sizeof(*strokes));
	if (strokes)
		to->strokes = strokes;
	unsigned *ids = strokes ? realloc(p->chunk, (n ? n : 1) * sizeof(*ids)) : NULL;
	if (!ids)
		return rigi_fail(RIG_ERR_NOMEM, "no memory to pool %zu strokes", n);
	p->chunk = ids;
	if (an->n_strokes)
		memcpy(to->strokes + to->n_strokes, an->strokes, an->n_strokes * sizeof(*strokes));
	for (size_t k = 0; k < an->n_strokes; k++)
		p->chunk[to->n_strokes + k] = p->n_chunks + (chunk ? chunk[k] : 0);
	to->n_strokes = n;
	to->n_samples += an->n_samples;
	for (int i = 0; i < RIG_STROKE_N_STATUS; i++)
		to->count[i] += an->count[i];
	to->n_punctured += an->n_punctured;
	to->n_loaded += an->n_loaded;
	p->s.max_disp_um = fmax(p->s.max_disp_um, from->max_disp_um);
	p->s.max_force_mn = fmax(p->s.max_force_mn, from->max_force_mn);
	p->n_chunks += n_chunks;
	p->capture_s += capture_s;
	return pool_summarise(p);
}

int rigi_pool_add(struct rigi_pool *p, const struct rigi_sample *s, double capture_s)
{
	return append(p, s, NULL, 1, capture_s);
}

int rigi_pool_merge(struct rigi_pool *to, const struct rigi_pool *from)
{
	return from->s.an ? append(to, &from->s, from->chunk, from->n_chunks, from->capture_s) : 0;
}

int rigi_settled(const struct rig_adaptive *a, const struct rig_analysis *w1,
		 const struct rig_analysis *w2)
{
	const struct rig_stats *p1 = &w1->protrusion_um, *p2 = &w2->protrusion_um;
	const struct rig_stats *r1 = &w1->stroke_rate_hz, *r2 = &w2->stroke_rate_hz;
	/* Too few strokes to compare: nothing in the signal to wait for; the
	 * stroke count decides the point (a pen that does not stroke). */
	if (p1->n < SETTLE_MIN_STROKES || p2->n < SETTLE_MIN_STROKES || r1->n < 2 || r2->n < 2)
		return 1;
	return fabs(p2->mean - p1->mean) <= a->settle_band_um &&
	       fabs(r2->mean - r1->mean) <= a->settle_band_pct / 100.0 * r2->mean;
}

enum rigi_adapt rigi_adaptive_enough(const struct rig_adaptive *a, const struct rigi_need *need,
				     const struct rigi_pooled_u *u)
{
	int met = u->n_accepted >= a->min_strokes &&
		  (!need->depth || u->depth_um <= a->target_u_um) &&
		  (!need->rate || u->rate_pct <= a->target_u_pct);
	if (met)
		return RIGI_ADAPT_MET;
	if (u->capture_s >= a->max_capture_s - 1e-9)
		return RIGI_ADAPT_MAX;
	/* At the pace so far, even the longest capture cannot give min_strokes:
	 * a pen that hardly strokes is judged on what it did, now. */
	if ((double)u->n_accepted * a->max_capture_s / u->capture_s < 0.5 * a->min_strokes)
		return RIGI_ADAPT_HOPELESS;
	return RIGI_ADAPT_MORE;
}

/* Strokes needed for a statistical part @p sem to shrink to @p sem_target,
 * by 1/sqrt(n). */
static double strokes_for(double n, double sem, double sem_target)
{
	if (!(sem > 0) || !(sem_target > 0))
		return n;
	return n * (sem / sem_target) * (sem / sem_target);
}

double rigi_adaptive_next_s(const struct rig_adaptive *a, const struct rigi_need *need,
			    const struct rigi_pooled_u *u)
{
	double n = (double)u->n_accepted;
	double need_n = a->min_strokes;
	double left = a->max_capture_s - u->capture_s;
	if (need->depth)
		need_n = fmax(need_n, strokes_for(n, u->depth_um, a->target_u_um));
	/* The rate counts only strokes with a period: one fewer per capture. */
	if (need->rate)
		need_n = fmax(need_n, (n - (double)u->n_rate) +
					      strokes_for((double)u->n_rate, u->rate_pct,
							  a->target_u_pct));
	double per_stroke = n > 0 ? u->capture_s / n : a->chunk_s;
	/* + 2: the partial strokes at the ends of a capture are not accepted. */
	double t = ((need_n - n) * PREDICT_MARGIN + 2) * per_stroke;
	/* At most twice what is pooled: the scatter's estimate from few
	 * strokes is rough. */
	t = fmin(t, fmax(2 * u->capture_s, a->chunk_s));
	t = fmax(t, a->chunk_s);
	return fmin(t, left);
}

/* The pooled standard uncertainties of the means the rule looks at: from
 * the strokes' scatter, widened for their correlation (not the station's
 * sensor or clock calibration, which no number of strokes reduces). */
static void pooled_u(const struct rigi_pool *p, struct rigi_pooled_u *u)
{
	const struct rig_analysis *an = p->s.an;
	*u = (struct rigi_pooled_u){.n_accepted = p->s.n_accepted, .capture_s = p->capture_s,
				    .n_rate = an ? an->stroke_rate_hz.n : 0,
				    .depth_um = INFINITY, .rate_pct = INFINITY};
	if (!an)
		return;
	if (an->protrusion_um.n >= 2 && isfinite(an->protrusion_um.sem))
		u->depth_um = an->protrusion_um.sem;
	if (an->stroke_rate_hz.n >= 2 && isfinite(an->stroke_rate_u_hz) &&
	    an->stroke_rate_hz.mean > 0)
		u->rate_pct = 100.0 * an->stroke_rate_u_hz / an->stroke_rate_hz.mean;
}

/* One capture into @p p; 1 when the safety interlock tripped on it (the
 * pool's maxima then say so), 0, or a negative rig_err. */
static int take_into(struct rigi_run *r, double capture_s, struct rigi_pool *p)
{
	struct rigi_sample s;
	char why[256];
	int ret = rigi_sample_take(r, capture_s, &s);
	if (ret == 0)
		ret = rigi_pool_add(p, &s, capture_s);
	if (ret == 0 && rigi_sample_unsafe(r, &s, why, sizeof(why)))
		ret = 1;
	rigi_sample_free(&s);
	return ret;
}

/* The next capture of a settling window: chunk_s, or long enough for the
 * window's strokes at the pace seen so far in it or, for its first
 * capture, in @p before (a slow pen gives few strokes, and no period, in
 * a short capture), within half of max_settle_s. */
static double window_capture_s(const struct rig_adaptive *a, const struct rigi_pool *w,
			       const struct rigi_pool *before)
{
	const struct rigi_pool *pace = w->s.an ? w : before && before->s.an ? before : NULL;
	if (!pace)
		return a->chunk_s;
	double seen = (double)pace->s.an->n_strokes;
	double t = seen > 0 ? (SETTLE_MIN_STROKES + 2) * pace->capture_s / seen
			    : 4 * a->chunk_s;
	if (w->s.an)
		t -= w->capture_s;
	return fmin(fmax(t, a->chunk_s), fmax(a->max_settle_s / 2, a->chunk_s));
}

/* A settling window: captures until SETTLE_MIN_STROKES accepted strokes,
 * SETTLE_WINDOW_CAPTURES captures, or a longer capture that saw no stroke
 * at all (a pen that does not stroke: nothing to settle). */
static int take_window(struct rigi_run *r, const struct rig_adaptive *a, struct rigi_pool *w,
		       const struct rigi_pool *before)
{
	int ret = 0;
	for (unsigned i = 0; ret == 0 && i < SETTLE_WINDOW_CAPTURES; i++) {
		if (w->s.an && (w->s.an->protrusion_um.n >= SETTLE_MIN_STROKES ||
				(i >= 2 && w->s.an->n_strokes == 0)))
			break;
		ret = take_into(r, window_capture_s(a, w, before), w);
	}
	return ret;
}

/* Settle: windows until two consecutive ones agree (both kept: had the
 * first not been settled, the second would differ from it) or until
 * max_settle_s of windows were dropped (the latest is kept). The kept
 * windows start @p p. 0, 1 (safety interlock tripped), or a rig_err. */
static int settle(struct rigi_run *r, const struct rig_adaptive *a, const char *what,
		  struct rigi_pool *p, struct rigi_adapt_stats *st)
{
	struct rigi_pool w1 = {0}, w2 = {0};
	int ret = take_window(r, a, &w1, NULL);
	int kept = 0;
	while (ret == 0) {
		ret = take_window(r, a, &w2, &w1);
		if (ret != 0 || rigi_settled(a, w1.s.an, w2.s.an))
			break;
		st->settle_s += w1.capture_s;
		rigi_pool_free(&w1);
		w1 = w2;
		w2 = (struct rigi_pool){0};
		if (st->settle_s >= a->max_settle_s - 1e-9) {
			st->unsettled = 1;
			RIGI_WARN("run", "nest %u: %s not settled after %.2f s (mean protrusion or "
				  "rate of consecutive captures differ by more than %g um / %g %%): "
				  "measured as it is", r->nest->index, what, st->settle_s,
				  a->settle_band_um, a->settle_band_pct);
			break;
		}
	}
	if (ret >= 0)
		kept = rigi_pool_merge(p, &w1);
	if (ret >= 0 && kept == 0)
		kept = rigi_pool_merge(p, &w2);
	rigi_pool_free(&w1);
	rigi_pool_free(&w2);
	return ret < 0 ? ret : kept < 0 ? kept : ret;
}

int rigi_sample_adaptive(struct rigi_run *r, const struct rig_adaptive *a,
			 const struct rigi_need *need, const char *what, struct rigi_sample *out,
			 struct rigi_adapt_stats *st)
{
	struct rigi_pool p = {0};
	struct rigi_pooled_u u;
	enum rigi_adapt verdict = RIGI_ADAPT_MORE;
	int ret;

	*out = (struct rigi_sample){0};
	*st = (struct rigi_adapt_stats){0};
	pooled_u(&p, &u);
	ret = settle(r, a, what, &p, st);
	while (ret == 0) {
		pooled_u(&p, &u);
		verdict = rigi_adaptive_enough(a, need, &u);
		if (verdict != RIGI_ADAPT_MORE)
			break;
		ret = take_into(r, rigi_adaptive_next_s(a, need, &u), &p);
	}
	st->capture_s = p.capture_s;
	st->captures = p.n_chunks;
	st->stop = verdict;
	if (ret < 0) {
		rigi_pool_free(&p);
		return ret;
	}
	RIGI_DEBUG("run", "nest %u: %s: settled in %.2f s, %zu strokes in %u captures of %.2f s: "
		   "u of the mean %.3g um, %.3g %%, lag-1 %.2f / %.2f (%s)", r->nest->index, what,
		   st->settle_s, p.s.n_accepted, p.n_chunks, p.capture_s, u.depth_um, u.rate_pct,
		   p.protrusion_rho1, p.s.an->stroke_rate_rho1,
		   verdict == RIGI_ADAPT_MET ? "target met"
		   : verdict == RIGI_ADAPT_MAX ? "max_capture_s reached"
					       : "too few strokes to go on");
	*out = p.s;
	free(p.chunk);
	return 0;
}
