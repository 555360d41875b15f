/* Tests of adaptive measurement (rig/lib/exec/adaptive.c, docs/analysis.md
 * §11): pooling of captures (counts, summaries, neighbours paired only
 * within a capture), the stopping rule and the next capture's length, the
 * settling test, the suite keys and their errors (a calibration on the
 * simulated station: tests/integration/test_adaptive_run.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/suite.h>

#include "exec/exec.h"
#include "testsupport.h"

/* A capture's analysis made of accepted strokes with these protrusions and
 * periods (NAN: none), plus @p skipped missing strokes. */
static struct rig_analysis *fake(const double *prot, const double *period, size_t n,
				 size_t skipped)
{
	struct rig_analysis *an = calloc(1, sizeof(*an));
	assert_non_null(an);
	an->strokes = calloc(n ? n : 1, sizeof(*an->strokes));
	assert_non_null(an->strokes);
	an->n_strokes = n;
	an->rate_hz = 20000;
	an->n_samples = 2000;
	for (size_t i = 0; i < n; i++) {
		an->strokes[i] = (struct rig_stroke){.status = RIG_STROKE_OK,
						     .protrusion_um = prot[i],
						     .period_s = period ? period[i] : NAN,
						     .peak_force_mn = 100,
						     .penetration_um = prot[i] - 500,
						     .tenting_um = NAN,
						     .drag_mn = NAN};
	}
	an->count[RIG_STROKE_OK] = n;
	an->count[RIG_STROKE_SKIPPED] = skipped;
	return an;
}

static void add(struct rigi_pool *p, struct rig_analysis *an, double seconds)
{
	struct rigi_sample s = {.an = an, .n_accepted = an->count[RIG_STROKE_OK],
				.max_force_mn = 10, .max_disp_um = 1000};
	assert_int_equal(rigi_pool_add(p, &s, seconds), 0);
	rig_analysis_free(an);
}

/* Two captures: pairing their last and first strokes as neighbours would
 * turn a negative lag-1 correlation into +0.29. */
static void neighbours_only_within_a_capture(void **state)
{
	static const double a[] = {0, 0, 0, 10}, b[] = {10, 0, 0, 0};
	struct rigi_pool p = {0};
	(void)state;
	add(&p, fake(a, NULL, 4, 0), 0.1);
	add(&p, fake(b, NULL, 4, 0), 0.1);
	assert_int_equal(p.n_chunks, 2);
	assert_int_equal(p.s.an->protrusion_um.n, 8);
	assert_true(fabs(p.s.an->protrusion_um.mean - 2.5) < 1e-12);
	/* Within the captures: (-2.5)(-2.5) x 4 + (-2.5)(7.5) x 2 = -12.5, over 150. */
	assert_true(fabs(p.protrusion_rho1 - (-12.5 / 150)) < 1e-12);
	assert_true(fabs(rigi_pool_lag1(p.s.an, p.chunk, offsetof(struct rig_stroke, protrusion_um),
				       0, 2.5) - (-12.5 / 150)) < 1e-12);
	/* Corrected for its bias, -1/12 + (1 - 1/3) / 8 = 0 (to rounding): never
	 * narrower than sd / sqrt(n). */
	assert_true(fabs(p.s.an->protrusion_um.sem - p.s.an->protrusion_um.sd / sqrt(8)) < 1e-9);
	rigi_pool_free(&p);
}

/* Counts add up, summaries cover all strokes, and a positive correlation
 * widens the rate's uncertainty as the analysis does for one capture. */
static void pooled_counts_and_rate_uncertainty(void **state)
{
	static const double prot[] = {1000, 1001, 1002, 1003, 1004, 1005};
	static const double per1[] = {0.010, 0.010, 0.011, 0.011, 0.012, NAN};
	static const double per2[] = {0.012, 0.012, 0.011, 0.011, 0.010, NAN};
	struct rigi_pool p = {0};
	(void)state;
	add(&p, fake(prot, per1, 6, 1), 0.1);
	add(&p, fake(prot, per2, 6, 2), 0.15);
	const struct rig_analysis *an = p.s.an;
	assert_int_equal(an->n_strokes, 12);
	assert_int_equal(p.s.n_accepted, 12);
	assert_int_equal(an->count[RIG_STROKE_SKIPPED], 3);
	assert_int_equal(an->n_samples, 4000);
	assert_true(fabs(p.capture_s - 0.25) < 1e-12);
	assert_int_equal(an->stroke_rate_hz.n, 10);
	assert_true(fabs(an->protrusion_um.mean - 1002.5) < 1e-9);
	assert_true(p.s.max_disp_um == 1000 && p.s.max_force_mn == 10);
	/* Slow runs of equal periods: rho1 > 0; corrected for its bias from 10
	 * rates, clamped to 0.5 at most. */
	double rho = an->stroke_rate_rho1;
	assert_true(rho > 0);
	double r = rho + (1 + 4 * rho) / 10;
	r = r > 0.5 ? 0.5 : r;
	assert_true(fabs(an->stroke_rate_u_hz - an->stroke_rate_hz.sem * sqrt(1 + 2 * r)) < 1e-12);
	/* A merged pool keeps both captures apart. */
	struct rigi_pool q = {0};
	assert_int_equal(rigi_pool_merge(&q, &p), 0);
	assert_int_equal(q.n_chunks, 2);
	assert_int_equal(q.chunk[5], 0);
	assert_int_equal(q.chunk[6], 1);
	assert_true(fabs(q.s.an->stroke_rate_rho1 - rho) < 1e-12);
	rigi_pool_free(&q);
	rigi_pool_free(&p);
}

static const struct rig_adaptive rule = {.on = 1, .target_u_um = 0.065, .target_u_pct = 0.12,
					 .chunk_s = 0.1, .max_capture_s = 2, .min_strokes = 20,
					 .settle_band_um = 1, .settle_band_pct = 1,
					 .max_settle_s = 1};

static void stopping_rule(void **state)
{
	struct rigi_need depth = {1, 0}, rate = {0, 1}, both = {1, 1};
	struct rigi_pooled_u u = {.n_accepted = 30, .n_rate = 28, .capture_s = 0.4,
				  .depth_um = 0.06, .rate_pct = 0.2};
	(void)state;
	assert_int_equal(rigi_adaptive_enough(&rule, &depth, &u), RIGI_ADAPT_MET);
	assert_int_equal(rigi_adaptive_enough(&rule, &rate, &u), RIGI_ADAPT_MORE);
	assert_int_equal(rigi_adaptive_enough(&rule, &both, &u), RIGI_ADAPT_MORE);
	u.depth_um = rule.target_u_um; /* reaching the target is enough */
	u.rate_pct = rule.target_u_pct;
	assert_int_equal(rigi_adaptive_enough(&rule, &both, &u), RIGI_ADAPT_MET);
	/* Good U, too few strokes. */
	u.n_accepted = 19;
	assert_int_equal(rigi_adaptive_enough(&rule, &both, &u), RIGI_ADAPT_MORE);
	/* No estimate yet. */
	u = (struct rigi_pooled_u){.n_accepted = 25, .capture_s = 0.2, .depth_um = INFINITY,
				   .rate_pct = INFINITY};
	assert_int_equal(rigi_adaptive_enough(&rule, &depth, &u), RIGI_ADAPT_MORE);
	/* The longest capture is over: stated with the U it has. */
	u.capture_s = 2.0;
	assert_int_equal(rigi_adaptive_enough(&rule, &depth, &u), RIGI_ADAPT_MAX);
	/* 1 stroke in 0.4 s: 5 in 2 s, fewer than half of min_strokes. */
	u = (struct rigi_pooled_u){.n_accepted = 1, .capture_s = 0.4, .depth_um = INFINITY,
				   .rate_pct = INFINITY};
	assert_int_equal(rigi_adaptive_enough(&rule, &depth, &u), RIGI_ADAPT_HOPELESS);
	u.n_accepted = 3; /* 15 in 2 s: worth going on */
	assert_int_equal(rigi_adaptive_enough(&rule, &depth, &u), RIGI_ADAPT_MORE);
}

static void next_capture_length(void **state)
{
	struct rigi_need depth = {1, 0}, rate = {0, 1};
	struct rigi_pooled_u u = {.n_accepted = 20, .n_rate = 18, .capture_s = 0.2,
				  .depth_um = 0.0725, .rate_pct = 0.1};
	struct rig_adaptive fine = rule;
	(void)state;
	fine.chunk_s = 0.02;
	/* 1/sqrt(n): 0.0725 -> 0.065 needs 20 x 1.244 = 24.9 strokes, 4.9 more,
	 * with 10 % margin and 2 for the ends, at 0.01 s a stroke. */
	double want = ((20 * (0.0725 / 0.065) * (0.0725 / 0.065) - 20) * 1.1 + 2) * 0.01;
	assert_true(fabs(rigi_adaptive_next_s(&fine, &depth, &u) - want) < 1e-12);
	/* Never below chunk_s. */
	assert_true(rigi_adaptive_next_s(&rule, &depth, &u) == rule.chunk_s);
	/* At most twice what is pooled, and what max_capture_s leaves. */
	u.rate_pct = 1.0;
	assert_true(fabs(rigi_adaptive_next_s(&rule, &rate, &u) - 0.4) < 1e-12);
	u.capture_s = 1.9;
	assert_true(fabs(rigi_adaptive_next_s(&rule, &rate, &u) - 0.1) < 1e-12);
	/* No estimate yet: as long as allowed. */
	u = (struct rigi_pooled_u){.n_accepted = 4, .n_rate = 3, .capture_s = 0.1,
				   .depth_um = INFINITY, .rate_pct = INFINITY};
	assert_true(fabs(rigi_adaptive_next_s(&rule, &rate, &u) - 0.2) < 1e-12);
}

/* Two windows of 8 strokes at 1000 um and 100 Hz, the second shifted. */
static void settling(void **state)
{
	double p1[8], p2[8], t1[8], t2[8];
	(void)state;
	for (int i = 0; i < 8; i++) {
		p1[i] = 1000 + (i % 2 ? 0.2 : -0.2);
		t1[i] = 0.01;
	}
	memcpy(p2, p1, sizeof(p1));
	memcpy(t2, t1, sizeof(t1));
	struct rig_analysis *w1 = fake(p1, t1, 8, 0), *w2 = fake(p2, t2, 8, 0);
	struct rigi_pool a = {0}, b = {0};
	add(&a, w1, 0.1);
	add(&b, w2, 0.1);
	assert_int_equal(rigi_settled(&rule, a.s.an, b.s.an), 1);
	rigi_pool_free(&b);
	for (int i = 0; i < 8; i++)
		p2[i] += 1.5; /* the depth still moving */
	add(&b, fake(p2, t2, 8, 0), 0.1);
	assert_int_equal(rigi_settled(&rule, a.s.an, b.s.an), 0);
	rigi_pool_free(&b);
	for (int i = 0; i < 8; i++) {
		p2[i] = p1[i];
		t2[i] = 0.01 / 1.015; /* the drive 1.5 % faster */
	}
	add(&b, fake(p2, t2, 8, 0), 0.1);
	assert_int_equal(rigi_settled(&rule, a.s.an, b.s.an), 0);
	rigi_pool_free(&b);
	/* Too few strokes to tell: nothing in the signal to wait for. */
	add(&b, fake(p2, t2, 3, 0), 0.1);
	assert_int_equal(rigi_settled(&rule, a.s.an, b.s.an), 1);
	rigi_pool_free(&b);
	rigi_pool_free(&a);
}

/* ---- suite keys ---- */

static const char *head = "name: t\nversion: \"1\"\nsteps:\n  - type: identify\n"
			  "  - type: readiness\n";

static int load(const char *steps, struct rig_suite **s)
{
	char *dir = ts_mkdtemp("adaptive");
	char path[512];
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/suite.yaml", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s%s", head, steps);
	fclose(f);
	int ret = rig_suite_load(path, s);
	ts_rmtree(dir);
	free(dir);
	return ret;
}

static void expect_error(const char *steps, const char *line_col, const char *words)
{
	struct rig_suite *s = NULL;
	assert_int_equal(load(steps, &s), RIG_ERR_FORMAT);
	assert_null(s);
	if (!strstr(rig_last_error(), line_col) || !strstr(rig_last_error(), words))
		fail_msg("expected '%s' and '%s' in: %s", line_col, words, rig_last_error());
}

static void suite_keys(void **state)
{
	struct rig_suite *s = NULL;
	(void)state;
	assert_int_equal(load("  - type: as_found\n    setpoints: user\n    target_u_um: 0.07\n"
			      "    target_u_pct: 0.1\n    min_strokes: 12\n    chunk_s: 0.2\n"
			      "  - type: depth_sweep\n    codes: [100, 200, 300, 400]\n"
			      "    duty: 600\n    target_u_um: 0.1\n"
			      "  - type: rate_sweep\n    duties: [300, 400, 500, 600]\n"
			      "    target_u_pct: 0.3\n    min_strokes: 4\n    max_settle_s: 0\n"
			      "  - type: as_left\n    setpoints: user\n    capture_s: 0.4\n",
			      &s),
			 0);
	const struct rig_adaptive *af = &s->steps[2].u.measure.adaptive;
	assert_true(af->on && af->target_u_um == 0.07 && af->target_u_pct == 0.1);
	assert_int_equal(af->min_strokes, 12);
	assert_true(af->chunk_s == 0.2 && af->max_capture_s == 2 && af->max_settle_s == 1);
	assert_true(af->settle_band_um == 1.0 && af->settle_band_pct == 1.0);
	const struct rig_adaptive *ds = &s->steps[3].u.depth_sweep.adaptive;
	assert_true(ds->on && ds->target_u_um == 0.1 && ds->target_u_pct == 0);
	assert_int_equal(ds->min_strokes, 8);
	const struct rig_adaptive *rs = &s->steps[4].u.rate_sweep.adaptive;
	assert_true(rs->on && rs->target_u_pct == 0.3 && rs->max_settle_s == 0);
	assert_int_equal(rs->min_strokes, 4);
	assert_false(s->steps[5].u.measure.adaptive.on);
	assert_true(s->steps[5].u.measure.capture_s == 0.4);
	rig_suite_free(s);

	expect_error("  - type: as_found\n    setpoints: user\n    capture_s: 0.5\n"
		     "    target_u_um: 0.07\n    target_u_pct: 0.1\n",
		     ":8:16:", "either capture_s (a fixed capture) or target_u_um");
	expect_error("  - type: as_left\n    setpoints: user\n    target_u_pct: 0.1\n",
		     ":8:19:", "target_u_um and target_u_pct together");
	expect_error("  - type: as_found\n    setpoints: user\n    chunk_s: 0.2\n", ":8:14:",
		     "'chunk_s': expected only with target_u_um and target_u_pct");
	expect_error("  - type: depth_sweep\n    codes: [100, 200]\n    duty: 600\n"
		     "    settle_ms: 50\n    target_u_um: 0.1\n",
		     ":9:16:", "'settle_ms': expected either settle_ms");
	expect_error("  - type: rate_sweep\n    duties: [300, 400]\n    min_strokes: 5\n",
		     ":8:18:", "'min_strokes': expected only with target_u_pct");
	expect_error("  - type: rate_sweep\n    duties: [300, 400]\n    target_u_pct: 0.2\n"
		     "    chunk_s: 0.5\n    max_capture_s: 0.8\n",
		     ":6:5:", "max_capture_s >= 2 x chunk_s");
	expect_error("  - type: depth_sweep\n    codes: [100, 200]\n    duty: 600\n"
		     "    target_u_pct: 0.2\n",
		     ":9:5:", "target_u_pct");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(neighbours_only_within_a_capture),
		cmocka_unit_test(pooled_counts_and_rate_uncertainty),
		cmocka_unit_test(stopping_rule),
		cmocka_unit_test(next_capture_length),
		cmocka_unit_test(settling),
		cmocka_unit_test(suite_keys),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
