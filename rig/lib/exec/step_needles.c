/* The needle-count step. A cartridge with a needle missing measures like a
 * good one at every speed level: it punctures at 11/12 of the force, inside
 * the healthy spread. What tells it apart is the staircase of the needles'
 * individual punctures, a few µm of tip travel wide, which the 20 kHz DAQ
 * resolves only on a slow approach (a few µm/ms; docs/analysis.md §10). So,
 * in service mode: probe where the phantom punctures, aim the peak a few
 * tens of µm past it, find the lowest duty at which the drive turns (just
 * above its dead band, about one stroke a second), and count the punctures
 * of each slow pass through it. docs/calibration.md "Needle count". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/needles.h>
#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

#define PROBE_CAPTURE_S 0.25
#define PROBE_SETTLE_MS 100
#define PROBE_STEP_CODES 200
#define MAX_PROBES 6
#define PROBE_MARGIN_UM 250.0  /* no probe higher once this close to the pen's limit */
#define MAX_AIMS 3
#define AIM_TOLERANCE_UM 10.0
#define APPROACH_CODES 50
#define TURN_CAPTURE_S 0.25
#define TURN_SETTLE_MS 150
#define TURN_SPAN_UM 20.0      /* moved more than this in a capture: it turns */
#define SLOW_CAPTURE_S 3.0
#define MIN_SLOW_CAPTURE_S 1.0
#define PASS_WINDOW_UM 100.0   /* a pass: the last this many µm up to its peak */
#define RETRACT_UM 10.0        /* this far below a pass's peak: it is going back */
#define MIN_PAST_UM 15.0       /* peak this far past the first puncture: all needles through */
#define MIN_CONFIDENCE 0.5
#define APPROACH_HALF_S 0.0025 /* the approach speed: fitted over +-2.5 ms of the puncture */
#define MAX_PASSES 64

/* Where the phantom punctures and how the protrusion follows the code. */
struct aim {
	uint16_t code;        /* puts the peak about past_puncture_um past it */
	double puncture_um;   /* tip position at puncture (probe strokes' median) */
	double um_per_code;
};

/* What one slow pass through the puncture showed. */
struct pass {
	int judged;           /* confident, slow enough, deep enough */
	int punctures;
	double confidence;
	double approach_um_per_ms;
	double past_um;       /* peak beyond the first puncture */
};

static int run_at(struct rigi_run *r, uint16_t code, uint16_t duty, unsigned settle_ms,
		  const char *what, struct rigi_step_result *res)
{
	int ret = rig_dut_set_service(r->dut, code, duty);
	if (ret == 0)
		ret = rig_dut_motor(r->dut, 1);
	if (ret == 0)
		ret = rigi_settle(r, settle_ms);
	if (ret < 0)
		rigi_result_from_error(r, res, ret, what);
	return ret;
}

/* A capture at @p code, @p duty; its result is the caller's to free. */
static int capture_at(struct rigi_run *r, uint16_t code, uint16_t duty, double capture_s,
		      unsigned settle_ms, int keep, struct rigi_sample *s,
		      struct rigi_step_result *res)
{
	char what[64];
	int ret;
	*s = (struct rigi_sample){0};
	snprintf(what, sizeof(what), "needle count at code %u, duty %u", code, duty);
	if ((ret = run_at(r, code, duty, settle_ms, what, res)) < 0)
		return ret;
	ret = keep ? rigi_sample_take_keep(r, capture_s, s) : rigi_sample_take(r, capture_s, s);
	return rigi_sample_checked(r, ret, s, what, res);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Median tip position at puncture of the sample's punctured strokes (NAN:
 * none punctured). */
static double puncture_median(const struct rig_analysis *an)
{
	double v[256];
	size_t n = 0;
	for (size_t i = 0; i < an->n_strokes && n < 256; i++)
		if (an->strokes[i].status == RIG_STROKE_OK && an->strokes[i].punctured)
			v[n++] = an->strokes[i].puncture_um;
	if (n == 0)
		return NAN;
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* Every code is reached from below, so that the backlash is always taken
 * up the same way (as in the depth sweep). */
static int approach(struct rigi_run *r, uint16_t code, uint16_t duty,
		    struct rigi_step_result *res)
{
	uint16_t below = code > r->id.code_min + APPROACH_CODES ? code - APPROACH_CODES
							       : r->id.code_min;
	return run_at(r, below, duty, 0, "needle count: approaching from below", res);
}

/* One probe: mean protrusion and puncture position at @p code (strokes
 * needed: a pen that does not stroke at the probe duty is explained). */
static int probe(struct rigi_run *r, const struct rig_step_needle_count *p, uint16_t code,
		 double *peak_um, double *puncture_um, struct rigi_step_result *res)
{
	struct rigi_sample s = {0};
	int ret = approach(r, code, p->probe_duty, res);
	if (ret == 0)
		ret = capture_at(r, code, p->probe_duty, PROBE_CAPTURE_S, PROBE_SETTLE_MS, 0, &s,
				 res);
	if (ret == 0 && s.n_accepted < 3) {
		char what[96];
		snprintf(what, sizeof(what), "needle count probe at code %u, duty %u: %zu strokes",
			 code, p->probe_duty, s.n_accepted);
		rigi_explain_no_strokes(r, &s, what, res);
		ret = RIG_ERR_STATE;
	}
	if (ret == 0) {
		*peak_um = s.an->protrusion_um.mean;
		*puncture_um = puncture_median(s.an);
	}
	rigi_sample_free(&s);
	return ret;
}

/* Probe upwards from probe_code until the needles puncture, then once more
 * for the slope, and aim. 0, 1 (never punctured: @p res set) or < 0. */
static int find_aim(struct rigi_run *r, const struct rig_step_needle_count *p, struct aim *a,
		    struct rigi_step_result *res)
{
	double peak[2] = {NAN, NAN}, punct = NAN, unused;
	uint16_t code = p->probe_code;
	int ret, k = 0;
	for (; k < MAX_PROBES; k++, code = (uint16_t)(code + PROBE_STEP_CODES)) {
		if (code > r->id.code_max || code < p->probe_code)
			break;
		if ((ret = probe(r, p, code, &peak[0], &punct, res)) < 0)
			return ret;
		if (isfinite(punct) || peak[0] > r->id.max_protrusion_um - PROBE_MARGIN_UM)
			break;
	}
	if (!isfinite(punct)) {
		rigi_result_set(res, RIG_OUTCOME_INDETERMINATE,
				"needle count not judged: no puncture seen up to %.0f um (code %u); "
				"the as-found puncture force says whether needles are blunt",
				peak[0], code);
		return 1;
	}
	uint16_t code2 = (uint16_t)(code + PROBE_STEP_CODES / 2);
	if ((ret = probe(r, p, code2, &peak[1], &unused, res)) < 0)
		return ret;
	a->puncture_um = punct;
	a->um_per_code = (peak[1] - peak[0]) / (PROBE_STEP_CODES / 2);
	if (!(a->um_per_code > 0.01)) {
		rigi_result_set(res, RIG_OUTCOME_FAIL,
				"needle count: the protrusion does not follow the code (%.0f um at "
				"code %u, %.0f um at code %u)", peak[0], code, peak[1], code2);
		return 1;
	}
	/* The protrusion is not quite linear in the code: aim, probe, correct. */
	double target = punct + p->past_puncture_um, at = peak[0], c = code;
	for (int i = 0; i < MAX_AIMS && fabs(target - at) > AIM_TOLERANCE_UM; i++) {
		c = fmin(fmax(round(c + (target - at) / a->um_per_code), r->id.code_min),
			 r->id.code_max);
		if ((ret = probe(r, p, (uint16_t)c, &at, &unused, res)) < 0)
			return ret;
	}
	a->code = (uint16_t)c;
	RIGI_DEBUG("needles", "probes: %.1f um at code %u (puncture at %.1f um), %.1f um at "
		   "code %u: code %u gives %.1f um", peak[0], code, punct, peak[1], code2,
		   a->code, at);
	return 0;
}

/* Does the drive turn at @p duty? (the tip moves in a capture) Started
 * from rest each time: a drive slowed into its dead band may still be
 * finishing the stroke it was in. */
static int turns(struct rigi_run *r, uint16_t code, uint16_t duty, int *yes,
		 struct rigi_step_result *res)
{
	struct rigi_sample s = {0};
	int ret = rig_dut_motor(r->dut, 0);
	if (ret < 0)
		rigi_result_from_error(r, res, ret, "needle count: stopping the drive");
	else
		ret = capture_at(r, code, duty, TURN_CAPTURE_S, TURN_SETTLE_MS, 1, &s, res);
	if (ret == 0) {
		double lo = INFINITY, hi = -INFINITY;
		for (size_t i = 0; i < s.cap->n; i++) {
			lo = fmin(lo, s.cap->disp_um[i]);
			hi = fmax(hi, s.cap->disp_um[i]);
		}
		*yes = hi - lo > TURN_SPAN_UM;
	}
	rigi_sample_free(&s);
	return ret;
}

/* The lowest duty that turns, by bisection between min_duty (assumed still)
 * and max_duty (must turn). 0, 1 (@p res set) or < 0. */
static int find_slow_duty(struct rigi_run *r, const struct rig_step_needle_count *p,
			  uint16_t code, uint16_t *duty, struct rigi_step_result *res)
{
	unsigned lo = p->min_duty, hi = p->max_duty;
	int yes = 0, ret;
	if ((ret = turns(r, code, (uint16_t)hi, &yes, res)) < 0)
		return ret;
	if (!yes) {
		struct rigi_sample none = {0};
		char what[96];
		snprintf(what, sizeof(what), "needle count: the drive does not turn at duty %u",
			 hi);
		rigi_explain_no_strokes(r, &none, what, res);
		return 1;
	}
	while (hi - lo > 2) {
		unsigned mid = (lo + hi) / 2;
		if ((ret = turns(r, code, (uint16_t)mid, &yes, res)) < 0)
			return ret;
		if (yes)
			hi = mid;
		else
			lo = mid;
	}
	*duty = (uint16_t)(hi + p->above_dead_band);
	RIGI_DEBUG("needles", "lowest duty turning at code %u: %u; slow duty %u", code, hi, *duty);
	return 0;
}

/* Least-squares slope of the tip position over samples [a, b]: the
 * displacement's noise (about 1 µm) swamps a two-point difference. */
static double slope_um_per_ms(const struct rig_capture *cap, size_t a, size_t b)
{
	double n = (double)(b - a + 1), mt = (double)(a + b) / 2, md = 0, sxy = 0, sxx = 0;
	if (b <= a)
		return INFINITY;
	for (size_t i = a; i <= b; i++)
		md += cap->disp_um[i] / n;
	for (size_t i = a; i <= b; i++) {
		sxy += ((double)i - mt) * (cap->disp_um[i] - md);
		sxx += ((double)i - mt) * ((double)i - mt);
	}
	return sxy / sxx * cap->rate_hz / 1000.0;
}

/* Judge one pass: force samples [from, peak] of a rising flank. */
static void judge_pass(const struct rig_capture *cap, size_t from, size_t peak,
		       const struct rig_step_needle_count *p, struct pass *out)
{
	struct rig_needle_count c;
	size_t fmax_i = from, half = (size_t)(cap->rate_hz * APPROACH_HALF_S) + 1;
	*out = (struct pass){0};
	if (peak - from < 16 || rig_needles_count(cap->force_mn + from, peak - from + 1, &c) < 0)
		return;
	for (size_t i = from; i <= peak; i++)
		if (cap->force_mn[i] > cap->force_mn[fmax_i])
			fmax_i = i;
	size_t a = fmax_i > from + half ? fmax_i - half : from;
	size_t b = fmax_i + half < peak ? fmax_i + half : peak;
	out->approach_um_per_ms = slope_um_per_ms(cap, a, b);
	out->past_um = cap->disp_um[peak] - cap->disp_um[fmax_i];
	out->punctures = c.punctures;
	out->confidence = c.confidence;
	out->judged = c.drops > 0 && c.confidence >= MIN_CONFIDENCE &&
		      out->approach_um_per_ms <= p->max_approach_um_per_ms &&
		      out->past_um >= MIN_PAST_UM;
	RIGI_DEBUG("needles", "pass of %zu samples: %d punctures in %zu drops, confidence %.2f, "
		   "%.2f um/ms, peak %.1f um past the first puncture, noise %.1f mN, step %.0f mN",
		   peak - from + 1, c.punctures, c.drops, c.confidence, out->approach_um_per_ms,
		   out->past_um, c.noise_mn, c.step_mn);
}

/* Every complete rising pass of a slow capture: from where the tip comes
 * within PASS_WINDOW_UM of the capture's top to the pass's own peak, once
 * it has clearly turned back. */
static size_t find_passes(const struct rig_capture *cap, const struct rig_step_needle_count *p,
			  struct pass *out, size_t cap_passes)
{
	double top = -INFINITY;
	size_t n = 0;
	for (size_t i = 0; i < cap->n; i++)
		top = fmax(top, cap->disp_um[i]);
	double level = top - PASS_WINDOW_UM;
	RIGI_DEBUG("needles", "slow capture: top %.1f um", top);
	for (size_t i = 1; i < cap->n && n < cap_passes; i++) {
		if (!(cap->disp_um[i - 1] < level && cap->disp_um[i] >= level))
			continue;
		size_t from = i, peak = i;
		for (; i < cap->n && cap->disp_um[i] > cap->disp_um[peak] - RETRACT_UM; i++)
			if (cap->disp_um[i] > cap->disp_um[peak])
				peak = i;
		if (i == cap->n)
			break; /* cut by the capture's end */
		if (cap->disp_um[peak] - cap->disp_um[from] < PASS_WINDOW_UM / 2)
			continue; /* noise about the level, not a stroke */
		judge_pass(cap, from, peak, p, &out[n++]);
	}
	return n;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The next slow capture: long enough for the passes still missing (and one
 * more, as a capture's edges cut one) at the pace seen so far. */
static double next_chunk_s(size_t seen, unsigned missing, double spent_s)
{
	double s = seen ? (missing + 1.0) * spent_s / (double)seen : SLOW_CAPTURE_S;
	return s < MIN_SLOW_CAPTURE_S ? MIN_SLOW_CAPTURE_S : s > SLOW_CAPTURE_S ? SLOW_CAPTURE_S : s;
}

/* Slow captures until enough passes are judged or max_s is spent. */
static int slow_passes(struct rigi_run *r, const struct rig_step *st, uint16_t code,
		       uint16_t duty, struct pass *passes, size_t *n, struct rigi_step_result *res)
{
	const struct rig_step_needle_count *p = &st->u.needle_count;
	unsigned judged = 0;
	double t = 0;
	*n = 0;
	while (t < p->max_s && judged < p->passes && *n < MAX_PASSES) {
		struct rigi_sample s;
		double chunk = t == 0 ? SLOW_CAPTURE_S : next_chunk_s(*n, p->passes - judged, t);
		rigi_progress(r, st->name, judged, p->passes, "slow passes at code %u, duty %u",
			      code, duty);
		int ret = capture_at(r, code, duty, chunk, t == 0 ? TURN_SETTLE_MS : 0, 1, &s, res);
		if (ret == 0) {
			size_t k = find_passes(s.cap, p, passes + *n, MAX_PASSES - *n);
			for (size_t i = 0; i < k; i++)
				judged += (unsigned)passes[*n + i].judged;
			*n += k;
		}
		rigi_sample_free(&s);
		if (ret < 0)
			return ret;
		t += chunk;
	}
	return 0;
}

static void report(struct rigi_run *r, struct rig_record_step *rs, const struct pass *ps,
		   size_t n, uint16_t duty)
{
	double v[MAX_PASSES], past[MAX_PASSES];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (ps[i].judged) {
			v[k] = ps[i].approach_um_per_ms;
			past[k++] = ps[i].past_um;
		}
	qsort(v, k, sizeof(v[0]), cmp_double);
	qsort(past, k, sizeof(past[0]), cmp_double);
	rigi_add_reported(r, rs, "slow_duty", "duty", "permille", NAN, duty, 0, 1);
	rigi_add_reported(r, rs, "passes_judged", "passes", "1", NAN, (double)k, 0, n);
	if (k) {
		rigi_add_reported(r, rs, "approach_speed", "speed", "um/ms", NAN, v[k / 2], NAN, k);
		rigi_add_reported(r, rs, "past_puncture", "depth", "um", NAN, past[k / 2], NAN, k);
	}
}

/* The verdict: the median count of the judged passes against the needles. */
static void judge(struct rigi_run *r, struct rig_record_step *rs,
		  const struct rig_step_needle_count *p, const struct pass *ps, size_t n,
		  struct rigi_step_result *res)
{
	int counts[MAX_PASSES];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (ps[i].judged)
			counts[k++] = ps[i].punctures;
	if (k < p->passes) {
		rigi_result_set(res, RIG_OUTCOME_INDETERMINATE,
				"needle count not judged: %zu of %u passes through the puncture "
				"were clear (%zu seen in %.0f s; too fast, too shallow or too noisy "
				"to count steps)", k, p->passes, n, p->max_s);
		return;
	}
	qsort(counts, k, sizeof(counts[0]), cmp_int);
	int median = counts[(k - 1) / 2];
	struct rig_measurement m;
	struct rig_limit lim = {.low = p->needles, .high = p->needles, .nominal = p->needles,
				.unit = "1", .guard = RIG_GUARD_GUARDED, .guard_factor = 1};
	rig_measurement_init(&m, "needle_count", "needles", "1", p->needles);
	m.value = median;
	m.u_expanded = 0;
	m.n = (unsigned)k;
	rig_measurement_judge(&m, &lim);
	rigi_measurement_add(r, rs, &m);
	if (median < (int)p->needles)
		rigi_result_set(res, RIG_OUTCOME_FAIL, "missing needle: %d of %u punctures seen "
				"(median of %zu slow passes)", median, p->needles, k);
	else if (median > (int)p->needles)
		rigi_result_set(res, RIG_OUTCOME_INDETERMINATE,
				"needle count not judged: %d punctures seen on a %u-needle "
				"cartridge (median of %zu passes): the steps are not resolved",
				median, p->needles, k);
	else
		rigi_result_set(res, RIG_OUTCOME_PASS, "%u of %u needles puncture (median of %zu "
				"slow passes)", p->needles, p->needles, k);
}

void rigi_step_needle_count(struct rigi_run *r, const struct rig_step *st,
			    struct rig_record_step *rs, struct rigi_step_result *res)
{
	const struct rig_step_needle_count *p = &st->u.needle_count;
	struct pass *passes = calloc(MAX_PASSES, sizeof(*passes));
	struct aim a = {0};
	uint16_t duty = 0;
	size_t n = 0;
	int ret;

	if (!passes) {
		rigi_result_set(res, RIG_OUTCOME_ERROR, "needle count: out of memory");
		return;
	}
	if ((ret = rigi_ensure_auth(r)) < 0) {
		rigi_result_from_error(r, res, ret, "needle count: entering service mode");
		goto out;
	}
	rigi_progress(r, st->name, 0, p->passes, "finding the puncture");
	if (find_aim(r, p, &a, res) != 0)
		goto out;
	rigi_progress(r, st->name, 0, p->passes, "finding the slowest duty at code %u", a.code);
	if (find_slow_duty(r, p, a.code, &duty, res) != 0)
		goto out;
	/* From rest: the stroke in progress was drawn at the last probe's duty. */
	if ((ret = rig_dut_motor(r->dut, 0)) < 0) {
		rigi_result_from_error(r, res, ret, "needle count: stopping the drive");
		goto out;
	}
	if (slow_passes(r, st, a.code, duty, passes, &n, res) < 0)
		goto out;
	report(r, rs, passes, n, duty);
	judge(r, rs, p, passes, n, res);
out:
	if (r->dut && (ret = rig_dut_motor(r->dut, 0)) < 0 && res->outcome == RIG_OUTCOME_PASS)
		rigi_result_from_error(r, res, ret, "needle count: stopping the motor");
	free(passes);
}
