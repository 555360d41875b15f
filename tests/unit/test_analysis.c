/* Tests of the stroke analysis (rig/analysis.h) on synthetic captures with
 * known truth: a cam-driven stroke (near sinusoid plus a second harmonic,
 * per-cycle period jitter, per-stroke peak spread), a phantom under the
 * needles (contact, tenting, puncture drop, drag), sensor noise and
 * quantization from PCG32, and injected faults (partial edges, glitches,
 * skipped strokes, clipping). The generator lives here, independent of the
 * simulator, so that the analysis is checked against an exact truth. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>
#include <rig/error.h>
#include <rig/pcg32.h>

#include "analysis/analysis_int.h"
#include "testsupport.h"

#define MAX_CYCLES 2048
#define MAX_SKIP 8

/* ---- the generator ---- */

struct synth {
	double fs, rate_hz, seconds;
	double p_um, throw_um, h2; /* peak, stroke, second harmonic (sim-like cam) */
	double spread_um;          /* per-stroke peak: uniform +/- this */
	double jitter;             /* relative sigma of each cycle's period */
	double phase0;             /* cam angle at t = 0: 0 peak, +/-pi rest */
	double noise_um, quant_um;
	int with_force;
	double stiffness, puncture_mn, drag_mn, drag_slope, fnoise_mn, fquant_mn;
	size_t skip[MAX_SKIP], n_skip; /* cycles that stay retracted */
	uint64_t seed;
};

struct cycle {
	double start, period; /* rest to rest, s */
	double amp;           /* extension above rest, µm */
	int skipped;
};

struct truth {
	size_t n;
	struct cycle c[MAX_CYCLES];
	double rest, tent;
};

static double cam_shape(double h2, double theta)
{
	return (1.0 - cos(theta)) / 2.0 + h2 * (1.0 - cos(2.0 * theta)) / 4.0;
}

static double phantom(const struct synth *s, double peak, double tip, int retracting,
		      double tent)
{
	if (tip <= 0)
		return 0;
	if (peak < tent || (!retracting && tip < tent))
		return s->stiffness * tip;
	if (!retracting)
		return s->drag_mn + s->drag_slope * (tip - tent);
	return (s->drag_mn + s->drag_slope * (peak - tent)) * exp(-(peak - tip) / 30.0);
}

static double quantize(double v, double q)
{
	return q > 0 ? q * round(v / q) : v;
}

static int is_skipped(const struct synth *s, size_t k)
{
	for (size_t i = 0; i < s->n_skip; i++)
		if (s->skip[i] == k)
			return 1;
	return 0;
}

static void make_cycles(const struct synth *s, struct rig_pcg32 *rng, struct truth *tr)
{
	double t;
	tr->rest = s->p_um - s->throw_um;
	tr->tent = s->puncture_mn / s->stiffness;
	tr->n = 0;
	for (t = 0; tr->n == 0 || t < s->seconds; tr->n++) {
		struct cycle *c = &tr->c[tr->n];
		assert_true(tr->n < MAX_CYCLES);
		c->period = (1.0 + s->jitter * rig_pcg32_normal(rng)) / s->rate_hz;
		c->start = tr->n == 0 ? -(s->phase0 + M_PI) / (2 * M_PI) * c->period : t;
		c->skipped = is_skipped(s, tr->n);
		c->amp = c->skipped ? 0.02 * s->throw_um
				    : s->throw_um + s->spread_um * (2 * rig_pcg32_uniform(rng) - 1);
		t = c->start + c->period;
	}
}

/* Fill a capture of s->seconds; returns the truth of every cycle. */
static struct rig_capture *synth_run(const struct synth *s, struct truth *tr)
{
	struct rig_pcg32 rng;
	struct rig_capture *cap = NULL;
	size_t n = (size_t)llround(s->seconds * s->fs), k = 0;

	rig_pcg32_seed(&rng, s->seed, 77);
	make_cycles(s, &rng, tr);
	assert_int_equal(rig_capture_new(s->fs, n, s->with_force, &cap), 0);
	for (size_t i = 0; i < n; i++) {
		double t = (double)i / s->fs;
		while (t >= tr->c[k].start + tr->c[k].period)
			k++;
		const struct cycle *c = &tr->c[k];
		double theta = 2 * M_PI * (t - c->start) / c->period - M_PI;
		double tip = tr->rest + c->amp * (1.0 - cam_shape(s->h2, theta));
		cap->disp_um[i] = quantize(tip + s->noise_um * rig_pcg32_normal(&rng), s->quant_um);
		if (s->with_force) {
			double f = phantom(s, tr->rest + c->amp, tip, theta >= 0, tr->tent);
			cap->force_mn[i] =
				quantize(f + s->fnoise_mn * rig_pcg32_normal(&rng), s->fquant_mn);
		}
	}
	return cap;
}

static void synth_default(struct synth *s, double rate_hz, double noise_um)
{
	*s = (struct synth){
		.fs = 20000, .rate_hz = rate_hz, .seconds = 1.0, .p_um = 1500,
		.throw_um = 2000, .h2 = 0.05, .spread_um = 5, .jitter = 0.005,
		.phase0 = M_PI / 2, .noise_um = noise_um, .quant_um = 0.1,
		.stiffness = 2.5, .puncture_mn = 1200, .drag_mn = 75, .drag_slope = 0.04,
		.fnoise_mn = 5, .fquant_mn = 1, .seed = 1,
	};
}

/* ---- truth of the segmentation ---- */

/* Time of cycle c's crossing of @p level on its way up (sign -1) or down
 * (+1); the cam shape is even in theta, so one bisection serves both. */
static double crossing(const struct synth *s, const struct truth *tr, size_t k, double level,
		       int sign)
{
	const struct cycle *c = &tr->c[k];
	double lo = 0, hi = M_PI;
	if (c->amp <= level - tr->rest)
		return NAN;
	for (int it = 0; it < 60; it++) {
		double mid = 0.5 * (lo + hi);
		if (tr->rest + c->amp * (1 - cam_shape(s->h2, mid)) > level)
			lo = mid;
		else
			hi = mid;
	}
	return c->start + c->period * (M_PI + sign * lo) / (2 * M_PI);
}

struct expect {
	size_t ok, partial_start, partial_end;
};

/* What the rules of docs/analysis.md say for this truth: an extension is
 * seen when part of it lies above the high threshold inside the capture;
 * complete when the previous extension's fall below the low threshold and
 * the next extension's rise above the high one are inside too. */
static struct expect expected_counts(const struct synth *s, const struct truth *tr)
{
	double hi = tr->rest + 0.7 * s->throw_um, lo = tr->rest + 0.3 * s->throw_um;
	struct expect e = {0};
	size_t prev = SIZE_MAX;
	for (size_t k = 0; k < tr->n; k++) {
		if (tr->c[k].skipped)
			continue;
		double up = crossing(s, tr, k, hi, -1), down = crossing(s, tr, k, hi, +1);
		if (down > 0 && up < s->seconds) {
			size_t nx = k + 1;
			while (nx < tr->n && tr->c[nx].skipped)
				nx++;
			int left = prev != SIZE_MAX && crossing(s, tr, prev, lo, +1) > 0;
			int right = nx < tr->n && crossing(s, tr, nx, hi, -1) < s->seconds;
			e.ok += left && right;
			e.partial_start += !left;
			e.partial_end += left && !right;
		}
		prev = k;
	}
	return e;
}

/* The truth cycle whose peak is nearest to a stroke's peak time. */
static const struct cycle *match(const struct truth *tr, const struct rig_stroke *st)
{
	const struct cycle *best = NULL;
	double best_d = INFINITY;
	for (size_t k = 0; k < tr->n; k++) {
		double d = fabs(tr->c[k].start + tr->c[k].period / 2 - st->t_peak_s);
		if (d < best_d) {
			best_d = d;
			best = &tr->c[k];
		}
	}
	assert_non_null(best);
	assert_true(best_d < best->period / 4);
	return best;
}

static struct rig_analysis *analyse(const struct rig_capture *cap)
{
	struct rig_analysis *an = NULL;
	int ret = rig_analysis_run(cap, NULL, &an);
	if (ret < 0)
		fprintf(stderr, "analysis: %s\n", rig_last_error());
	assert_int_equal(ret, 0);
	return an;
}

static void check_counts(const struct synth *s, const struct truth *tr,
			 const struct rig_analysis *an)
{
	struct expect e = expected_counts(s, tr);
	assert_int_equal(an->count[RIG_STROKE_OK], e.ok);
	assert_int_equal(an->count[RIG_STROKE_PARTIAL_START], e.partial_start);
	assert_int_equal(an->count[RIG_STROKE_PARTIAL_END], e.partial_end);
	assert_int_equal(an->count[RIG_STROKE_GLITCH], 0);
	assert_int_equal(an->count[RIG_STROKE_CLIPPED], 0);
	assert_int_equal(an->count[RIG_STROKE_SKIPPED], s->n_skip);
}

/* ---- tests ---- */

static void quantiles_match_sorting(void **state)
{
	struct rig_pcg32 rng;
	double v[257], sorted[257], tmp[257];
	(void)state;
	rig_pcg32_seed(&rng, 5, 6);
	for (size_t n = 1; n <= 257; n += 16) {
		for (size_t i = 0; i < n; i++)
			v[i] = (double)rig_pcg32_bounded(&rng, 20); /* many ties */
		memcpy(sorted, v, n * sizeof(double));
		for (size_t i = 1; i < n; i++) /* insertion sort: the reference */
			for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
				double t = sorted[j];
				sorted[j] = sorted[j - 1];
				sorted[j - 1] = t;
			}
		for (double q = 0; q <= 1.0; q += 0.125) {
			double pos = q * (double)(n - 1);
			size_t k = (size_t)pos;
			double ref = k + 1 < n ? sorted[k] + (pos - (double)k) * (sorted[k + 1] - sorted[k])
					       : sorted[k];
			memcpy(tmp, v, n * sizeof(double));
			assert_float_equal(rigi_quantile_inplace(tmp, n, q), ref, 1e-12);
		}
	}
}

static void counts_at_rate(double rate_hz, double noise_um, double phase0, double seconds)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	synth_default(&s, rate_hz, noise_um);
	s.phase0 = phase0;
	s.seconds = seconds;
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	check_counts(&s, tr, an);
	assert_true(an->count[RIG_STROKE_OK] > rate_hz * seconds - 4);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void counts_clean_and_noisy(void **state)
{
	(void)state;
	counts_at_rate(50, 0, M_PI / 2, 1.0);
	counts_at_rate(150, 0, M_PI / 2, 1.0);
	counts_at_rate(50, 1.0, M_PI / 2, 1.0);
	counts_at_rate(150, 1.0, M_PI / 2, 1.0);
	counts_at_rate(117, 3.0, -2.0, 0.77);
}

static void partial_edges(void **state)
{
	(void)state;
	/* Starting at the peak, on the rise, at rest; ends wherever the
	 * jittered cycles leave the last stroke. */
	const double phases[] = {0.0, -1.0, -M_PI + 0.1, 2.5, 1.2};
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		struct synth s;
		struct truth *tr = malloc(sizeof(*tr));
		synth_default(&s, 100, 1.0);
		s.phase0 = phases[i];
		s.seconds = 0.3 + 0.0013 * (double)i;
		s.seed = 10 + i;
		struct rig_capture *cap = synth_run(&s, tr);
		struct rig_analysis *an = analyse(cap);
		struct expect e = expected_counts(&s, tr);
		check_counts(&s, tr, an);
		assert_true(e.partial_start + e.partial_end >= 1);
		/* Rejected strokes carry no measurement. */
		for (size_t k = 0; k < an->n_strokes; k++)
			if (an->strokes[k].status != RIG_STROKE_OK)
				assert_true(isnan(an->strokes[k].protrusion_um));
		rig_analysis_free(an);
		rig_capture_free(cap);
		free(tr);
	}
}

static void peak_accuracy_at(double rate_hz, double throw_um, double h2, uint64_t seed)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	double sum = 0, worst = 0;
	size_t m = 0;

	synth_default(&s, rate_hz, 1.0);
	s.throw_um = throw_um;
	s.h2 = h2;
	s.seed = seed;
	s.seconds = 2.0;
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		if (st->status != RIG_STROKE_OK)
			continue;
		const struct cycle *c = match(tr, st);
		double err = st->protrusion_um - (tr->rest + c->amp);
		assert_true(fabs(err) < 2.0);
		assert_true(fabs(st->t_peak_s - (c->start + c->period / 2)) < 50e-6);
		sum += err;
		worst = fmax(worst, fabs(err));
		m++;
	}
	assert_true(m > rate_hz * s.seconds - 4);
	assert_true(fabs(sum / (double)m) < 0.15);
	assert_true(an->disp_noise_um > 0.7 && an->disp_noise_um < 1.4);
	printf("  peak %3.0f/s throw %4.0f h2 %.2f: %zu strokes, mean error %+.3f um, worst %.3f "
	       "um, fit +/-%zu samples\n", rate_hz, throw_um, h2, m, sum / (double)m, worst,
	       an->peak_halfwidth);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void peak_within_2um(void **state)
{
	(void)state;
	peak_accuracy_at(50, 2000, 0.05, 21);
	peak_accuracy_at(100, 2000, 0.0, 22);
	peak_accuracy_at(150, 2000, 0.08, 23);
	peak_accuracy_at(200, 3000, 0.08, 24); /* the simulator's longest, fastest stroke */
}

static void period_at(double rate_hz, uint64_t seed)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	double worst = 0, truth_sum = 0;
	size_t m = 0;

	synth_default(&s, rate_hz, 1.0);
	s.seed = seed;
	s.seconds = 2.0;
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	double mid = 0.5 * (an->thr_lo_um + an->thr_hi_um);
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		if (st->status != RIG_STROKE_OK)
			continue;
		size_t c = (size_t)(match(tr, st) - tr->c);
		double want = crossing(&s, tr, c + 1, mid, -1) - crossing(&s, tr, c, mid, -1);
		double rel = fabs(st->period_s / want - 1);
		assert_true(rel < 0.002);
		worst = fmax(worst, rel);
		truth_sum += 1.0 / want;
		m++;
	}
	double truth_rate = truth_sum / (double)m;
	assert_int_equal(an->stroke_rate_hz.n, m);
	assert_true(fabs(an->stroke_rate_hz.mean / truth_rate - 1) < 0.002);
	assert_true(fabs(an->stroke_rate_hz.mean / rate_hz - 1) < 0.002);
	assert_true(fabs(an->period_s.median * rate_hz - 1) < 0.01);
	printf("  period %3.0f/s: worst per-stroke error %.4f %%, rate %.3f/s vs truth %.3f/s\n",
	       rate_hz, 100 * worst, an->stroke_rate_hz.mean, truth_rate);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void period_within_0_2_percent(void **state)
{
	(void)state;
	period_at(50, 31);
	period_at(150, 32);
}

/* A burst of a few samples at full extension during a retraction. */
static void glitch_burst_rejected(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 100, 1.0);
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *clean = analyse(cap);
	size_t at = (size_t)llround(tr->c[20].start * s.fs); /* a rest */
	for (size_t i = at; i < at + 12; i++)
		cap->disp_um[i] = s.p_um;
	struct rig_analysis *an = analyse(cap);
	assert_int_equal(an->count[RIG_STROKE_GLITCH], 1);
	assert_int_equal(an->count[RIG_STROKE_OK], clean->count[RIG_STROKE_OK]);
	assert_int_equal(an->count[RIG_STROKE_SKIPPED], 0);
	assert_float_equal(an->protrusion_um.mean, clean->protrusion_um.mean, 1e-9);
	assert_int_equal(an->n_strokes, clean->n_strokes + 1);
	rig_analysis_free(an);
	rig_analysis_free(clean);
	rig_capture_free(cap);
	free(tr);
}

/* A single-sample spike in a peak window and a dropout in an extension. */
static void spike_and_dropout_rejected(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 100, 1.0);
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *clean = analyse(cap);
	const struct cycle *c = &tr->c[10];
	size_t peak = (size_t)llround((c->start + c->period / 2) * s.fs);
	cap->disp_um[peak + 3] += 40;
	c = &tr->c[30];
	peak = (size_t)llround((c->start + c->period / 2) * s.fs);
	for (size_t i = peak + 20; i < peak + 30; i++)
		cap->disp_um[i] = tr->rest;
	struct rig_analysis *an = analyse(cap);
	assert_int_equal(an->count[RIG_STROKE_GLITCH], 2);
	assert_int_equal(an->count[RIG_STROKE_OK], clean->count[RIG_STROKE_OK] - 2);
	assert_int_equal(an->count[RIG_STROKE_SKIPPED], 0);
	rig_analysis_free(an);
	rig_analysis_free(clean);
	rig_capture_free(cap);
	free(tr);
}

static void skipped_strokes_counted(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 120, 1.0);
	s.n_skip = 4;
	s.skip[0] = 7;
	s.skip[1] = 40;
	s.skip[2] = 41;
	s.skip[3] = 90;
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	check_counts(&s, tr, an);
	/* The strokes before a gap have no period; the rate is unaffected. */
	size_t no_period = 0;
	for (size_t k = 0; k < an->n_strokes; k++)
		no_period += an->strokes[k].status == RIG_STROKE_OK &&
			     isnan(an->strokes[k].period_s);
	assert_int_equal(no_period, 3);
	assert_true(fabs(an->stroke_rate_hz.mean / 120 - 1) < 0.002);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void puncture_at(double rate_hz, double p_um, uint64_t seed)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	double sum_tent = 0, sum_pen = 0, half_step;
	size_t m = 0;

	synth_default(&s, rate_hz, 1.0);
	s.with_force = 1;
	s.p_um = p_um;
	s.seed = seed;
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	/* The puncture lies between two samples: within half the tip's largest
	 * step of the midpoint. Contact is found to ~1.5 µm rms from 5 mN noise. */
	half_step = 0.5 * M_PI * s.throw_um * rate_hz / s.fs;
	assert_true(an->force_noise_mn > 4 && an->force_noise_mn < 6);
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		if (st->status != RIG_STROKE_OK)
			continue;
		const struct cycle *c = match(tr, st);
		double pen = tr->rest + c->amp - tr->tent;
		assert_true(st->punctured);
		assert_true(fabs(st->contact_um) < 7);
		assert_true(fabs(st->tenting_um - tr->tent) < half_step + 7);
		assert_true(fabs(st->penetration_um - pen) < half_step + 2);
		assert_true(fabs(st->puncture_force_mn - s.puncture_mn) <
			    s.stiffness * half_step + 20);
		assert_true(st->drag_mn > s.drag_mn - 10 &&
			    st->drag_mn < s.drag_mn + s.drag_slope * (p_um - tr->tent) + 10);
		sum_tent += st->tenting_um - tr->tent;
		sum_pen += st->penetration_um - pen;
		m++;
	}
	assert_int_equal(an->n_punctured, m);
	assert_int_equal(an->n_loaded, tr->rest > 0 ? m : 0);
	assert_int_equal(an->penetration_um.n, m);
	assert_true(fabs(sum_tent / (double)m) < 6);
	assert_true(fabs(an->peak_force_mn.median / s.puncture_mn - 1) < 0.05);
	printf("  puncture %3.0f/s P %4.0f: %zu strokes, tenting mean error %+.2f um, "
	       "penetration mean error %+.2f um, peak force %.0f mN\n", rate_hz, p_um, m,
	       sum_tent / (double)m, sum_pen / (double)m, an->peak_force_mn.median);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void puncture_detected(void **state)
{
	(void)state;
	puncture_at(50, 1500, 41);
	puncture_at(150, 1500, 42);
	puncture_at(150, 700, 43);
	puncture_at(50, 2300, 44); /* rest at +300 µm: every stroke starts loaded */
}

static void no_puncture_means_zero_penetration(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 100, 1.0);
	s.with_force = 1;
	s.p_um = 300; /* tenting depth 480 µm: the needles never get through */
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	assert_true(an->count[RIG_STROKE_OK] > 90);
	assert_int_equal(an->n_punctured, 0);
	assert_int_equal(an->penetration_um.n, an->count[RIG_STROKE_OK]);
	assert_float_equal(an->penetration_um.max, 0, 0);
	assert_int_equal(an->tenting_um.n, 0);
	assert_true(fabs(an->peak_force_mn.median - s.stiffness * s.p_um) < 20);
	for (size_t k = 0; k < an->n_strokes; k++)
		if (an->strokes[k].status == RIG_STROKE_OK)
			assert_true(fabs(an->strokes[k].contact_um) < 7);
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

/* Resting beyond the tenting depth, the needles never leave the hole: no
 * contact, no puncture, and a penetration that cannot be measured. */
static void needles_never_leaving_the_phantom(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 150, 1.0);
	s.with_force = 1;
	s.p_um = 2600; /* rest at +600 µm, tenting depth 480 µm */
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	assert_true(an->count[RIG_STROKE_OK] > 140);
	assert_int_equal(an->n_punctured, 0);
	assert_int_equal(an->n_loaded, an->count[RIG_STROKE_OK]);
	assert_int_equal(an->penetration_um.n, 0);
	for (size_t k = 0; k < an->n_strokes; k++)
		if (an->strokes[k].status == RIG_STROKE_OK)
			assert_true(isnan(an->strokes[k].contact_um));
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

/* Through int16 counts with the fixture's scaling: a stroke whose peak
 * exceeds the converter's range is rejected as clipped. */
static void clipped_strokes_rejected(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	const struct rig_channel_scale ds = {0.1, 0}, fs = {1.0, 0};
	(void)state;
	synth_default(&s, 100, 1.0);
	s.with_force = 1;
	s.p_um = 3200;
	s.spread_um = 100; /* some peaks beyond 3276.7 µm */
	struct rig_capture *cap = synth_run(&s, tr);
	size_t n = cap->n, over = 0;
	int16_t *counts = malloc(2 * n * sizeof(*counts));
	for (size_t i = 0; i < n; i++) {
		double d = round(cap->disp_um[i] / 0.1), f = round(cap->force_mn[i]);
		counts[2 * i] = (int16_t)(d > INT16_MAX ? INT16_MAX : d);
		counts[2 * i + 1] = (int16_t)f;
	}
	struct rig_capture *c16 = NULL;
	assert_int_equal(rig_capture_from_counts(s.fs, n, 2, counts, &ds, counts + 1, &fs, &c16), 0);
	assert_float_equal(c16->disp_clip_hi_um, 3276.7, 1e-9);
	assert_float_equal(c16->disp_clip_lo_um, -3276.8, 1e-9);
	assert_float_equal(c16->force_mn[5], cap->force_mn[5], 1e-9);
	struct rig_analysis *an = analyse(c16);
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		int hit = 0;
		for (size_t i = st->start; i <= st->end; i++)
			hit |= c16->disp_um[i] >= c16->disp_clip_hi_um;
		if (st->status == RIG_STROKE_OK || st->status == RIG_STROKE_CLIPPED)
			assert_int_equal(st->status == RIG_STROKE_CLIPPED, hit);
		over += st->status == RIG_STROKE_CLIPPED;
	}
	assert_true(over > 5);
	assert_int_equal(an->count[RIG_STROKE_CLIPPED], over);
	assert_true(an->protrusion_um.max < 3276.7);
	rig_analysis_free(an);
	rig_capture_free(c16);
	rig_capture_free(cap);
	free(counts);
	free(tr);
}

static void no_force_channel(void **state)
{
	struct synth s;
	struct truth *tr = malloc(sizeof(*tr));
	(void)state;
	synth_default(&s, 100, 1.0);
	struct rig_capture *cap = synth_run(&s, tr);
	struct rig_analysis *an = analyse(cap);
	assert_null(cap->force_mn);
	assert_true(an->protrusion_um.n > 90);
	assert_int_equal(an->peak_force_mn.n, 0);
	assert_int_equal(an->penetration_um.n, 0);
	assert_true(isnan(an->peak_force_mn.mean));
	assert_true(isnan(an->force_noise_mn));
	rig_analysis_free(an);
	rig_capture_free(cap);
	free(tr);
}

static void idle_pen_has_no_strokes(void **state)
{
	struct rig_capture *cap = NULL;
	struct rig_analysis *an = NULL;
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 3, 4);
	assert_int_equal(rig_capture_new(20000, 20000, 1, &cap), 0);
	for (size_t i = 0; i < cap->n; i++) {
		cap->disp_um[i] = -500 + 1.0 * rig_pcg32_normal(&rng);
		cap->force_mn[i] = 5 * rig_pcg32_normal(&rng);
	}
	assert_int_equal(rig_analysis_run(cap, NULL, &an), 0);
	assert_int_equal(an->n_strokes, 0);
	assert_int_equal(an->protrusion_um.n, 0);
	assert_true(an->disp_max_um - an->disp_min_um < 10);
	rig_analysis_free(an);
	rig_capture_free(cap);
}

static void bad_input_rejected(void **state)
{
	struct rig_capture *cap = NULL;
	struct rig_analysis *an = NULL;
	struct rig_analysis_params p;
	(void)state;
	assert_int_equal(rig_capture_new(0, 10, 0, &cap), RIG_ERR_ARG);
	assert_int_equal(rig_capture_new(1000, 0, 0, &cap), RIG_ERR_ARG);
	assert_int_equal(rig_capture_new(1000, 100, 0, &cap), 0);
	rig_analysis_params_default(&p);
	p.thr_lo = 0.8;
	assert_int_equal(rig_analysis_run(cap, &p, &an), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "thr_lo"));
	cap->disp_um[42] = NAN;
	assert_int_equal(rig_analysis_run(cap, NULL, &an), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "sample 42"));
	assert_null(an);
	cap->n = 8;
	assert_int_equal(rig_analysis_run(cap, NULL, &an), RIG_ERR_ARG);
	assert_int_equal(rig_analysis_run(NULL, NULL, &an), RIG_ERR_ARG);
	rig_capture_free(cap);
	rig_capture_free(NULL);
	rig_analysis_free(NULL);
	const struct rig_channel_scale zero = {0, 0};
	int16_t raw[4] = {0};
	assert_int_equal(rig_capture_from_counts(1000, 4, 1, raw, &zero, NULL, NULL, &cap),
			 RIG_ERR_ARG);
	assert_string_equal(rig_stroke_status_name(RIG_STROKE_PARTIAL_END), "partial-end");
	assert_string_equal(rig_stroke_status_name(RIG_STROKE_N_STATUS), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantiles_match_sorting),
		cmocka_unit_test(counts_clean_and_noisy),
		cmocka_unit_test(partial_edges),
		cmocka_unit_test(peak_within_2um),
		cmocka_unit_test(period_within_0_2_percent),
		cmocka_unit_test(glitch_burst_rejected),
		cmocka_unit_test(spike_and_dropout_rejected),
		cmocka_unit_test(skipped_strokes_counted),
		cmocka_unit_test(puncture_detected),
		cmocka_unit_test(no_puncture_means_zero_penetration),
		cmocka_unit_test(needles_never_leaving_the_phantom),
		cmocka_unit_test(clipped_strokes_rejected),
		cmocka_unit_test(no_force_channel),
		cmocka_unit_test(idle_pen_has_no_strokes),
		cmocka_unit_test(bad_input_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
