/* Test suite files: loading and checking (format in docs/files.md). Each
 * step type declares its keys; values are range-checked; the order of the
 * steps is checked so that a suite that cannot work (a table written before
 * anything was fitted) is refused before a unit is touched. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/suite.h>

#include "core/config.h"
#include "core/core.h"

#define MAX_STEPS 64
#define MAX_SETPOINTS 64
#define MAX_SWEEP_POINTS 256

static const char *const step_names[] = {
	"identify", "readiness", "as_found", "depth_sweep", "rate_sweep",
	"fit",      "write_table", "read_back", "as_left",	"run_in",      "needle_count", NULL,
};

#define STEP_COMMON "type", "name"
static const char *const keys_plain[] = {STEP_COMMON, NULL};
static const char *const keys_readiness[] = {STEP_COMMON, "zero_sensors", "check_phantom",
					     "check_calibration", NULL};
/* Adaptive measurement (struct rig_adaptive), besides the step's target keys. */
#define ADAPTIVE_KEYS "chunk_s", "max_capture_s", "settle_band_um", "settle_band_pct", \
		      "max_settle_s"
static const char *const keys_measure[] = {STEP_COMMON, "setpoints", "grid", "capture_s",
					   "min_strokes", "limits", "corner",
					   "max_puncture_force_mn", "max_drift_um",
					   "max_skipped_pct", "target_u_um", "target_u_pct",
					   ADAPTIVE_KEYS, NULL};
static const char *const keys_depth_sweep[] = {STEP_COMMON, "codes",     "duty",
					       "approach",  "capture_s", "settle_ms",
					       "stop_above_um", "target_u_um", "min_strokes",
					       ADAPTIVE_KEYS, NULL};
static const char *const keys_rate_sweep[] = {STEP_COMMON, "duties",    "code",
					      "capture_s", "settle_ms", "target_u_pct",
					      "min_strokes", ADAPTIVE_KEYS, NULL};
static const char *const keys_fit[] = {STEP_COMMON, "max_degree", "monotone", NULL};
static const char *const keys_run_in[] = {STEP_COMMON, "code",	"duty",	   "capture_s",
					  "window_s",	"max_slope_pct_per_min", "min_s",
					  "max_s",	NULL};

static const char *const keys_needle_count[] = {
	STEP_COMMON, "needles", "probe_code", "probe_duty", "past_puncture_um", "min_duty",
	"max_duty", "above_dead_band", "passes", "max_s", "max_approach_um_per_ms", NULL};

static const char *const *const step_keys[] = {
	keys_plain,      keys_readiness, keys_measure, keys_depth_sweep, keys_rate_sweep,
	keys_fit,        keys_plain,     keys_plain,   keys_measure,     keys_run_in,
	keys_needle_count,
};

static const char *const top_keys[] = {"name",  "version", "description", "limits",
					"min_tur", "steps",   NULL};
static const char *const limits_keys[] = {"as_found", "as_left", NULL};
static const char *const pair_keys[] = {"depth", "rate", NULL};
static const char *const depth_tol_keys[] = {"abs_um", "rel_pct", "guard", "guard_factor", NULL};
static const char *const rate_tol_keys[] = {"abs_spm", "rel_pct", "guard", "guard_factor", NULL};
static const char *const setpoint_keys[] = {"depth_um", "rate_spm", NULL};
static const char *const range_keys[] = {"from", "to", "step", NULL};
static const char *const approach_names[] = {"up", "down", NULL};
static const char *const guard_names[] = {"guarded", "guarded-accept", NULL};

const char *rig_step_type_name(enum rig_step_type type)
{
	return (unsigned)type < sizeof(step_keys) / sizeof(step_keys[0]) ? step_names[type] : NULL;
}

int rig_step_type_parse(const char *name)
{
	for (int i = 0; name && step_names[i]; i++)
		if (strcmp(name, step_names[i]) == 0)
			return i;
	return -1;
}

/* ---- limits ---- */

static const struct rig_suite_limits default_limits = {
	.as_found_depth = {.abs = 150, .guard = RIG_GUARD_GUARDED, .guard_factor = 1},
	.as_found_rate = {.rel = 0.10, .guard = RIG_GUARD_GUARDED, .guard_factor = 1},
	.as_left_depth = {.abs = 50, .rel = 0.05, .guard = RIG_GUARD_GUARDED, .guard_factor = 1},
	.as_left_rate = {.rel = 0.03, .guard = RIG_GUARD_GUARDED, .guard_factor = 1},
};

/* A tolerance given in the file replaces the default entirely. */
static int read_tolerance(const struct rigi_map *parent, const char *key, int depth,
			  struct rig_tolerance *tol)
{
	const char *abs_key = depth ? "abs_um" : "abs_spm";
	struct rigi_map m;
	struct rig_tolerance t = {.guard = RIG_GUARD_GUARDED, .guard_factor = 1};
	double pct = 0;
	int guard = RIG_GUARD_GUARDED;
	int ret = rigi_map_map(parent, key, RIGI_OPTIONAL, depth ? depth_tol_keys : rate_tol_keys,
			       &m);
	if (ret < 0 || !m.node)
		return ret;
	if ((ret = rigi_map_num(&m, abs_key, RIGI_OPTIONAL, 0, 1e5, &t.abs)) < 0 ||
	    (ret = rigi_map_num(&m, "rel_pct", RIGI_OPTIONAL, 0, 100, &pct)) < 0 ||
	    (ret = rigi_map_enum(&m, "guard", RIGI_OPTIONAL, guard_names, &guard)) < 0 ||
	    (ret = rigi_map_num(&m, "guard_factor", RIGI_OPTIONAL, 1, 3, &t.guard_factor)) < 0)
		return ret;
	if (t.abs == 0 && pct == 0)
		return rigi_cfg_fail(m.cfg, m.node,
				     "'%s': expected '%s' or 'rel_pct' greater than 0, found neither",
				     key, abs_key);
	t.rel = pct / 100;
	t.guard = (enum rig_guard)guard;
	*tol = t;
	return 0;
}

/* {depth: ..., rate: ...} under @p key of @p parent. */
static int read_tolerance_pair(const struct rigi_map *parent, const char *key,
			       struct rig_tolerance *depth, struct rig_tolerance *rate)
{
	struct rigi_map m;
	int ret = rigi_map_map(parent, key, RIGI_OPTIONAL, pair_keys, &m);
	if (ret < 0 || !m.node)
		return ret;
	ret = read_tolerance(&m, "depth", 1, depth);
	if (ret == 0)
		ret = read_tolerance(&m, "rate", 0, rate);
	return ret;
}

static int read_limits(const struct rigi_map *top, struct rig_suite_limits *l)
{
	struct rigi_map m;
	int ret = rigi_map_map(top, "limits", RIGI_OPTIONAL, limits_keys, &m);
	if (ret < 0 || !m.node)
		return ret;
	ret = read_tolerance_pair(&m, "as_found", &l->as_found_depth, &l->as_found_rate);
	if (ret == 0)
		ret = read_tolerance_pair(&m, "as_left", &l->as_left_depth, &l->as_left_rate);
	return ret;
}

/* ---- value lists ---- */

/* A strictly increasing list of integers in [lo, hi] with 1..max entries. */
static int read_list(const struct rigi_cfg *cfg, const struct rigi_node *seq, const char *key,
		     unsigned long lo, unsigned long hi, size_t max, uint16_t **out, size_t *n)
{
	unsigned long v, prev = 0;
	if (seq->n == 0 || seq->n > max)
		return rigi_cfg_fail(cfg, seq, "'%s': expected 1 to %zu values, found %zu", key, max,
				     seq->n);
	uint16_t *vals = calloc(seq->n, sizeof(*vals));
	if (!vals)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", cfg->path);
	for (size_t i = 0; i < seq->n; i++) {
		char what[48];
		snprintf(what, sizeof(what), "%s[%zu]", key, i);
		int ret = rigi_node_uint(cfg, seq->items[i], what, lo, hi, &v);
		if (ret == 0 && i > 0 && v <= prev)
			ret = rigi_cfg_fail(cfg, seq->items[i],
					    "'%s': expected a value above the previous one (%lu), "
					    "found %lu", what, prev, v);
		if (ret < 0) {
			free(vals);
			return ret;
		}
		vals[i] = (uint16_t)v;
		prev = v;
	}
	free(*out);
	*out = vals;
	*n = seq->n;
	return 0;
}

/* {from, to, step} expanded, or a list. */
static int read_sweep_values(const struct rigi_map *m, const char *key, unsigned long hi,
			     uint16_t **out, size_t *n)
{
	const struct rigi_node *node;
	struct rigi_map r;
	unsigned long from = 0, to = 0, step = 0;
	int ret = rigi_map_get(m, key, RIGI_REQUIRED, &node);
	if (ret < 0)
		return ret;
	if (node->kind == RIGI_NODE_SEQ)
		return read_list(m->cfg, node, key, 0, hi, MAX_SWEEP_POINTS, out, n);
	if (node->kind != RIGI_NODE_MAP) {
		char found[64];
		return rigi_cfg_fail(m->cfg, node,
				     "'%s': expected a list or {from, to, step}, found %s", key,
				     rigi_node_describe(node, found, sizeof(found)));
	}
	if ((ret = rigi_cfg_map(m->cfg, node, key, range_keys, &r)) < 0 ||
	    (ret = rigi_map_uint(&r, "from", RIGI_REQUIRED, 0, hi, &from)) < 0 ||
	    (ret = rigi_map_uint(&r, "to", RIGI_REQUIRED, 0, hi, &to)) < 0 ||
	    (ret = rigi_map_uint(&r, "step", RIGI_REQUIRED, 1, hi, &step)) < 0)
		return ret;
	if (to <= from || (to - from) / step + 1 > MAX_SWEEP_POINTS)
		return rigi_cfg_fail(m->cfg, node,
				     "'%s': expected 'to' above 'from' and at most %d points, found "
				     "%lu..%lu by %lu",
				     key, MAX_SWEEP_POINTS, from, to, step);
	size_t count = (to - from) / step + 1;
	uint16_t *vals = calloc(count, sizeof(*vals));
	if (!vals)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", m->cfg->path);
	for (size_t i = 0; i < count; i++)
		vals[i] = (uint16_t)(from + i * step);
	free(*out);
	*out = vals;
	*n = count;
	return 0;
}

/* ---- adaptive measurement ---- */

/* The first of @p keys that @p m has, or NULL. */
static const char *first_key(const struct rigi_map *m, const char *const *keys)
{
	for (size_t i = 0; keys[i]; i++)
		if (rigi_map_find(m, keys[i]))
			return keys[i];
	return NULL;
}

/* The adaptive rule of a measuring step (docs/files.md): on when the step
 * gives its target(s) — target_u_um when @p depth, target_u_pct when
 * @p rate, both together when both apply — and then instead of the fixed
 * rule's keys. @p min_strokes: the step's own (as_found, as_left), or 0 for
 * a sweep, which then reads its min_strokes key here (default 8). */
static int read_adaptive(const struct rigi_map *m, int depth, int rate, unsigned min_strokes,
			 struct rig_adaptive *a)
{
	static const char *const tuning[] = {ADAPTIVE_KEYS, "min_strokes", NULL};
	static const char *const fixed[] = {"capture_s", "settle_ms", NULL};
	const char *target = depth && rigi_map_find(m, "target_u_um") ? "target_u_um"
			     : rate && rigi_map_find(m, "target_u_pct") ? "target_u_pct"
									: NULL;
	const char *other;
	unsigned long strokes = 8;
	int ret;

	*a = (struct rig_adaptive){.chunk_s = 0.1, .max_capture_s = 2, .settle_band_um = 1.0,
				   .settle_band_pct = 1.0, .max_settle_s = 1};
	if (!target) {
		/* A measuring step's min_strokes belongs to its fixed rule too. */
		other = first_key(m, tuning);
		if (other && !(min_strokes && !strcmp(other, "min_strokes")))
			return rigi_cfg_fail(m->cfg, rigi_map_find(m, other),
					     "'%s': expected only with %s (adaptive measurement), "
					     "found without it", other,
					     depth && rate ? "target_u_um and target_u_pct"
					     : depth       ? "target_u_um"
							   : "target_u_pct");
		return 0;
	}
	if ((other = first_key(m, fixed)))
		return rigi_cfg_fail(m->cfg, rigi_map_find(m, other),
				     "'%s': expected either %s (a fixed capture) or %s (adaptive), "
				     "found both", other, other, target);
	if (depth && rate && !(rigi_map_find(m, "target_u_um") && rigi_map_find(m, "target_u_pct")))
		return rigi_cfg_fail(m->cfg, rigi_map_find(m, target),
				     "'%s': expected target_u_um and target_u_pct together (the "
				     "points judge depth and rate), found only %s", target, target);
	a->on = 1;
	if ((depth && (ret = rigi_map_num(m, "target_u_um", RIGI_OPTIONAL, 0.01, 1000,
					  &a->target_u_um)) < 0) ||
	    (rate && (ret = rigi_map_num(m, "target_u_pct", RIGI_OPTIONAL, 0.001, 100,
					 &a->target_u_pct)) < 0) ||
	    (ret = rigi_map_num(m, "chunk_s", RIGI_OPTIONAL, 0.02, 5, &a->chunk_s)) < 0 ||
	    (ret = rigi_map_num(m, "max_capture_s", RIGI_OPTIONAL, 0.04, 60,
				&a->max_capture_s)) < 0 ||
	    (ret = rigi_map_num(m, "settle_band_um", RIGI_OPTIONAL, 0.01, 1000,
				&a->settle_band_um)) < 0 ||
	    (ret = rigi_map_num(m, "settle_band_pct", RIGI_OPTIONAL, 0.001, 100,
				&a->settle_band_pct)) < 0 ||
	    (ret = rigi_map_num(m, "max_settle_s", RIGI_OPTIONAL, 0, 60, &a->max_settle_s)) < 0 ||
	    (!min_strokes &&
	     (ret = rigi_map_uint(m, "min_strokes", RIGI_OPTIONAL, 3, 100000, &strokes)) < 0))
		return ret;
	if (a->max_capture_s < 2 * a->chunk_s)
		return rigi_cfg_fail(m->cfg, m->node,
				     "%s: expected max_capture_s >= 2 x chunk_s (settling compares "
				     "two captures), found chunk_s %g, max_capture_s %g",
				     m->what, a->chunk_s, a->max_capture_s);
	a->min_strokes = min_strokes ? min_strokes : (unsigned)strokes;
	return 0;
}

/* ---- steps ---- */

static int read_setpoints(const struct rigi_map *m, struct rig_step_measure *s)
{
	const struct rigi_node *node, *list;
	struct rigi_map sp;
	int ret = rigi_map_get(m, "setpoints", RIGI_REQUIRED, &node);
	if (ret < 0)
		return ret;
	if (node->kind == RIGI_NODE_SCALAR && strcmp(node->text, "user") == 0) {
		s->user_setpoints = 1;
		return 0;
	}
	if (node->kind != RIGI_NODE_MAP) {
		char found[64];
		return rigi_cfg_fail(m->cfg, node,
				     "'setpoints': expected user or {depth_um: [...], rate_spm: "
				     "[...]}, found %s", rigi_node_describe(node, found, sizeof(found)));
	}
	if ((ret = rigi_cfg_map(m->cfg, node, "setpoints", setpoint_keys, &sp)) < 0)
		return ret;
	if (!rigi_map_find(&sp, "depth_um") && !rigi_map_find(&sp, "rate_spm"))
		return rigi_cfg_fail(m->cfg, node,
				     "'setpoints': expected 'depth_um' or 'rate_spm', found neither");
	if ((ret = rigi_map_seq(&sp, "depth_um", RIGI_OPTIONAL, &list)) < 0 ||
	    (list && (ret = read_list(m->cfg, list, "depth_um", 1, 65535, MAX_SETPOINTS,
				      &s->depths_um, &s->n_depths)) < 0) ||
	    (ret = rigi_map_seq(&sp, "rate_spm", RIGI_OPTIONAL, &list)) < 0 ||
	    (list && (ret = read_list(m->cfg, list, "rate_spm", 1, 65535, MAX_SETPOINTS,
				      &s->rates_spm, &s->n_rates)) < 0))
		return ret;
	return 0;
}

static int read_measure(const struct rigi_map *m, const struct rig_suite_limits *defaults,
			int as_found, struct rig_step_measure *s)
{
	unsigned long strokes = 20;
	int ret;
	s->capture_s = 0.5;
	s->corner = 1;
	s->max_skipped_pct = 1.0;
	s->depth = as_found ? defaults->as_found_depth : defaults->as_left_depth;
	s->rate = as_found ? defaults->as_found_rate : defaults->as_left_rate;
	if ((ret = read_setpoints(m, s)) < 0 ||
	    (ret = rigi_map_bool(m, "grid", RIGI_OPTIONAL, &s->grid)) < 0 ||
	    (ret = rigi_map_num(m, "capture_s", RIGI_OPTIONAL, 0.01, 60, &s->capture_s)) < 0 ||
	    (ret = rigi_map_uint(m, "min_strokes", RIGI_OPTIONAL, 1, 100000, &strokes)) < 0 ||
	    (ret = read_tolerance_pair(m, "limits", &s->depth, &s->rate)) < 0 ||
	    (ret = rigi_map_bool(m, "corner", RIGI_OPTIONAL, &s->corner)) < 0 ||
	    (ret = rigi_map_num(m, "max_puncture_force_mn", RIGI_OPTIONAL, 1, 1e6,
				&s->max_puncture_force_mn)) < 0 ||
	    (ret = rigi_map_num(m, "max_drift_um", RIGI_OPTIONAL, 0.1, 1e4, &s->max_drift_um)) < 0 ||
	    (ret = rigi_map_num(m, "max_skipped_pct", RIGI_OPTIONAL, 0, 100, &s->max_skipped_pct)) < 0)
		return ret;
	s->min_strokes = (unsigned)strokes;
	return read_adaptive(m, 1, 1, s->min_strokes, &s->adaptive);
}

static int read_depth_sweep(const struct rigi_map *m, struct rig_step_depth_sweep *s)
{
	unsigned long duty = 0, settle = 100, stop = 0;
	int approach = 0;
	int ret;
	s->capture_s = 0.25;
	if ((ret = read_sweep_values(m, "codes", 65535, &s->codes, &s->n_codes)) < 0 ||
	    (ret = rigi_map_uint(m, "duty", RIGI_REQUIRED, 0, 1000, &duty)) < 0 ||
	    (ret = rigi_map_enum(m, "approach", RIGI_OPTIONAL, approach_names, &approach)) < 0 ||
	    (ret = rigi_map_num(m, "capture_s", RIGI_OPTIONAL, 0.01, 60, &s->capture_s)) < 0 ||
	    (ret = rigi_map_uint(m, "settle_ms", RIGI_OPTIONAL, 0, 60000, &settle)) < 0 ||
	    (ret = rigi_map_uint(m, "stop_above_um", RIGI_OPTIONAL, 1, 65535, &stop)) < 0 ||
	    (ret = read_adaptive(m, 1, 0, 0, &s->adaptive)) < 0)
		return ret;
	s->duty = (uint16_t)duty;
	s->approach_up = approach == 0;
	s->settle_ms = (unsigned)settle;
	s->stop_above_um = (uint16_t)stop;
	return 0;
}

static int read_rate_sweep(const struct rigi_map *m, struct rig_step_rate_sweep *s)
{
	unsigned long code = 0, settle = 100;
	int ret;
	s->capture_s = 0.25;
	if ((ret = read_sweep_values(m, "duties", 1000, &s->duties, &s->n_duties)) < 0 ||
	    (ret = rigi_map_uint(m, "code", RIGI_OPTIONAL, 1, 65535, &code)) < 0 ||
	    (ret = rigi_map_num(m, "capture_s", RIGI_OPTIONAL, 0.01, 60, &s->capture_s)) < 0 ||
	    (ret = rigi_map_uint(m, "settle_ms", RIGI_OPTIONAL, 0, 60000, &settle)) < 0 ||
	    (ret = read_adaptive(m, 0, 1, 0, &s->adaptive)) < 0)
		return ret;
	s->code = (uint16_t)code;
	s->settle_ms = (unsigned)settle;
	return 0;
}

static int read_needle_count(const struct rigi_map *m, struct rig_step_needle_count *s)
{
	unsigned long needles = 0, code = 1200, duty = 400, lo = 100, hi = 300, above = 4,
		      passes = 3;
	int ret;
	s->past_puncture_um = 40;
	s->max_s = 20;
	s->max_approach_um_per_ms = 5;
	if ((ret = rigi_map_uint(m, "needles", RIGI_REQUIRED, 1, 256, &needles)) < 0 ||
	    (ret = rigi_map_uint(m, "probe_code", RIGI_OPTIONAL, 1, 65535, &code)) < 0 ||
	    (ret = rigi_map_uint(m, "probe_duty", RIGI_OPTIONAL, 1, 1000, &duty)) < 0 ||
	    (ret = rigi_map_num(m, "past_puncture_um", RIGI_OPTIONAL, 15, 200,
				&s->past_puncture_um)) < 0 ||
	    (ret = rigi_map_uint(m, "min_duty", RIGI_OPTIONAL, 0, 1000, &lo)) < 0 ||
	    (ret = rigi_map_uint(m, "max_duty", RIGI_OPTIONAL, 1, 1000, &hi)) < 0 ||
	    (ret = rigi_map_uint(m, "above_dead_band", RIGI_OPTIONAL, 0, 200, &above)) < 0 ||
	    (ret = rigi_map_uint(m, "passes", RIGI_OPTIONAL, 1, 100, &passes)) < 0 ||
	    (ret = rigi_map_num(m, "max_s", RIGI_OPTIONAL, 1, 600, &s->max_s)) < 0 ||
	    (ret = rigi_map_num(m, "max_approach_um_per_ms", RIGI_OPTIONAL, 0.1, 100,
				&s->max_approach_um_per_ms)) < 0)
		return ret;
	if (lo >= hi || hi + above > 1000)
		return rigi_cfg_fail(m->cfg, m->node,
				     "%s: expected min_duty < max_duty and max_duty + "
				     "above_dead_band <= 1000, found %lu, %lu and %lu",
				     m->what, lo, hi, above);
	s->needles = (unsigned)needles;
	s->probe_code = (uint16_t)code;
	s->probe_duty = (uint16_t)duty;
	s->min_duty = (uint16_t)lo;
	s->max_duty = (uint16_t)hi;
	s->above_dead_band = (uint16_t)above;
	s->passes = (unsigned)passes;
	return 0;
}

static int read_run_in(const struct rigi_map *m, struct rig_step_run_in *s)
{
	unsigned long code = 0, duty = 1000;
	int ret;
	s->capture_s = 2;
	s->window_s = 30;
	s->max_slope_pct_per_min = 0.25;
	s->min_s = 30;
	s->max_s = 600;
	if ((ret = rigi_map_uint(m, "code", RIGI_OPTIONAL, 1, 65535, &code)) < 0 ||
	    (ret = rigi_map_uint(m, "duty", RIGI_OPTIONAL, 1, 1000, &duty)) < 0 ||
	    (ret = rigi_map_num(m, "capture_s", RIGI_OPTIONAL, 0.1, 60, &s->capture_s)) < 0 ||
	    (ret = rigi_map_num(m, "window_s", RIGI_OPTIONAL, 1, 3600, &s->window_s)) < 0 ||
	    (ret = rigi_map_num(m, "max_slope_pct_per_min", RIGI_OPTIONAL, 0.001, 100,
				&s->max_slope_pct_per_min)) < 0 ||
	    (ret = rigi_map_num(m, "min_s", RIGI_OPTIONAL, 0, 3600, &s->min_s)) < 0 ||
	    (ret = rigi_map_num(m, "max_s", RIGI_OPTIONAL, 1, 7200, &s->max_s)) < 0)
		return ret;
	if (s->window_s < 3 * s->capture_s || s->max_s < s->window_s || s->max_s < s->min_s)
		return rigi_cfg_fail(m->cfg, m->node,
				     "%s: expected window_s >= 3 x capture_s (a trend needs three "
				     "readings) and max_s >= window_s and min_s, found capture_s %g, "
				     "window_s %g, min_s %g, max_s %g", m->what, s->capture_s,
				     s->window_s, s->min_s, s->max_s);
	s->code = (uint16_t)code;
	s->duty = (uint16_t)duty;
	return 0;
}

static int read_fit(const struct rigi_map *m, struct rig_step_fit *s)
{
	unsigned long degree = 3;
	int ret;
	s->monotone = 1;
	if ((ret = rigi_map_uint(m, "max_degree", RIGI_OPTIONAL, 1, 5, &degree)) < 0 ||
	    (ret = rigi_map_bool(m, "monotone", RIGI_OPTIONAL, &s->monotone)) < 0)
		return ret;
	if (!s->monotone)
		return rigi_cfg_fail(m->cfg, rigi_map_find(m, "monotone"),
				     "'monotone': expected true (pens refuse tables whose knots do "
				     "not increase), found false");
	s->max_degree = (unsigned)degree;
	return 0;
}

static int read_readiness(const struct rigi_map *m, struct rig_step_readiness *s)
{
	int ret;
	s->zero_sensors = s->check_phantom = s->check_calibration = 1;
	if ((ret = rigi_map_bool(m, "zero_sensors", RIGI_OPTIONAL, &s->zero_sensors)) < 0 ||
	    (ret = rigi_map_bool(m, "check_phantom", RIGI_OPTIONAL, &s->check_phantom)) < 0 ||
	    (ret = rigi_map_bool(m, "check_calibration", RIGI_OPTIONAL, &s->check_calibration)) < 0)
		return ret;
	return 0;
}

static int read_params(const struct rigi_map *m, const struct rig_suite *suite,
		       struct rig_step *st)
{
	switch (st->type) {
	case RIG_STEP_READINESS:
		return read_readiness(m, &st->u.readiness);
	case RIG_STEP_AS_FOUND:
	case RIG_STEP_AS_LEFT:
		return read_measure(m, &suite->limits, st->type == RIG_STEP_AS_FOUND, &st->u.measure);
	case RIG_STEP_DEPTH_SWEEP:
		return read_depth_sweep(m, &st->u.depth_sweep);
	case RIG_STEP_RATE_SWEEP:
		return read_rate_sweep(m, &st->u.rate_sweep);
	case RIG_STEP_FIT:
		return read_fit(m, &st->u.fit);
	case RIG_STEP_RUN_IN:
		return read_run_in(m, &st->u.run_in);
	case RIG_STEP_NEEDLE_COUNT:
		return read_needle_count(m, &st->u.needle_count);
	default:
		return 0;
	}
}

static int check_name(const struct rigi_map *m, const char *name)
{
	size_t len = strlen(name);
	if (len < RIG_MEASUREMENT_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == len)
		return 0;
	return rigi_cfg_fail(m->cfg, rigi_map_find(m, "name"),
			     "'name': expected up to %d letters, digits, '_', '-' or '.', found "
			     "'%.80s'", RIG_MEASUREMENT_NAME_MAX - 1, name);
}

static int read_step(const struct rigi_cfg *cfg, const struct rigi_node *node, size_t i,
		     struct rig_suite *suite)
{
	struct rig_step *st = &suite->steps[i];
	struct rigi_map m = {.cfg = cfg, .node = node};
	char what[48];
	int type = 0;
	int ret;

	snprintf(what, sizeof(what), "steps[%zu]", i);
	snprintf(m.what, sizeof(m.what), "'%s'", what);
	st->line = node->line;
	st->column = node->column;
	if (node->kind != RIGI_NODE_MAP)
		return rigi_cfg_map(cfg, node, what, keys_plain, &m);
	/* The type decides which keys are known, so it is read first. */
	ret = rigi_map_enum(&m, "type", RIGI_REQUIRED, step_names, &type);
	if (ret < 0)
		return ret;
	st->type = (enum rig_step_type)type;
	snprintf(what, sizeof(what), "steps[%zu] (%s)", i, step_names[type]);
	if ((ret = rigi_cfg_map(cfg, node, what, step_keys[type], &m)) < 0 ||
	    (ret = rigi_map_str(&m, "name", RIGI_OPTIONAL, &st->name)) < 0)
		return ret;
	if (!st->name && !(st->name = strdup(step_names[type])))
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", cfg->path);
	ret = check_name(&m, st->name);
	if (ret == 0)
		ret = read_params(&m, suite, st);
	return ret;
}

/* Whether a step of @p type occurs before step @p i. */
static int seen_before(const struct rig_suite *s, size_t i, enum rig_step_type type)
{
	for (size_t j = 0; j < i; j++)
		if (s->steps[j].type == type)
			return 1;
	return 0;
}

static int step_fail(const struct rigi_cfg *cfg, const struct rig_step *st, const char *fmt,
		     ...) __attribute__((format(printf, 3, 4)));
static int step_fail(const struct rigi_cfg *cfg, const struct rig_step *st, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return rigi_fail(RIG_ERR_FORMAT, "%s:%u:%u: %s", cfg->path, st->line, st->column, msg);
}

/* What each step needs before it, so that a suite that cannot work is
 * refused before a unit is touched. */
static int check_order(const struct rigi_cfg *cfg, const struct rig_suite *s)
{
	for (size_t i = 0; i < s->n_steps; i++) {
		const struct rig_step *st = &s->steps[i];
		const char *name = step_names[st->type];
		int measuring = st->type == RIG_STEP_AS_FOUND || st->type == RIG_STEP_AS_LEFT ||
				st->type == RIG_STEP_DEPTH_SWEEP || st->type == RIG_STEP_RATE_SWEEP ||
				st->type == RIG_STEP_RUN_IN || st->type == RIG_STEP_NEEDLE_COUNT;
		for (size_t j = 0; j < i; j++)
			if (strcmp(s->steps[j].name, st->name) == 0)
				return step_fail(cfg, st,
						 "expected a step name of its own, found '%s' "
						 "twice; give the %s step a 'name'", st->name, name);
		if (i == 0 && st->type != RIG_STEP_IDENTIFY)
			return step_fail(cfg, st,
					 "expected 'identify' as the first step (records need the "
					 "unit's serial), found '%s'", name);
		if (measuring && !seen_before(s, i, RIG_STEP_READINESS))
			return step_fail(cfg, st, "expected a 'readiness' step before '%s'", name);
		if (st->type == RIG_STEP_AS_FOUND && seen_before(s, i, RIG_STEP_WRITE_TABLE))
			return step_fail(cfg, st, "expected '%s' before 'write_table' (it measures the "
					 "unit as found)", name);
		if (st->type == RIG_STEP_FIT && (!seen_before(s, i, RIG_STEP_DEPTH_SWEEP) ||
						 !seen_before(s, i, RIG_STEP_RATE_SWEEP)))
			return step_fail(cfg, st, "expected a 'depth_sweep' and a 'rate_sweep' step "
					 "before '%s' (a table holds both curves)", name);
		if (st->type == RIG_STEP_WRITE_TABLE && !seen_before(s, i, RIG_STEP_FIT))
			return step_fail(cfg, st, "expected a 'fit' step before '%s'", name);
		/* A unit whose table changed is judged as left, never on the sweep. */
		if (st->type == RIG_STEP_WRITE_TABLE && !seen_before(s, s->n_steps, RIG_STEP_AS_LEFT))
			return step_fail(cfg, st, "expected an 'as_left' step after '%s' (a unit with "
					 "a new table must be measured again)", name);
		if (st->type == RIG_STEP_AS_LEFT && seen_before(s, s->n_steps, RIG_STEP_WRITE_TABLE) &&
		    !seen_before(s, i, RIG_STEP_WRITE_TABLE))
			return step_fail(cfg, st, "expected '%s' after 'write_table'", name);
		if (st->type == RIG_STEP_READ_BACK && !seen_before(s, i, RIG_STEP_WRITE_TABLE))
			return step_fail(cfg, st, "expected a 'write_table' step before '%s'", name);
	}
	return 0;
}

static int read_steps(const struct rigi_cfg *cfg, const struct rigi_map *top,
		      struct rig_suite *suite)
{
	const struct rigi_node *seq;
	int ret = rigi_map_seq(top, "steps", RIGI_REQUIRED, &seq);
	if (ret < 0)
		return ret;
	if (seq->n == 0 || seq->n > MAX_STEPS)
		return rigi_cfg_fail(cfg, seq, "'steps': expected 1 to %d steps, found %zu",
				     MAX_STEPS, seq->n);
	suite->steps = calloc(seq->n, sizeof(*suite->steps));
	if (!suite->steps)
		return rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", cfg->path);
	for (size_t i = 0; i < seq->n; i++) {
		/* Counted first so that rig_suite_free frees a half-read step. */
		suite->n_steps = i + 1;
		ret = read_step(cfg, seq->items[i], i, suite);
		if (ret < 0)
			return ret;
	}
	return check_order(cfg, suite);
}

static int read_suite(const struct rigi_cfg *cfg, const struct rigi_node *root,
		      struct rig_suite *suite)
{
	struct rigi_map top;
	int ret = rigi_cfg_map(cfg, root, NULL, top_keys, &top);
	if (ret < 0)
		return ret;
	suite->limits = default_limits;
	suite->min_tur = RIG_TUR_MIN;
	if ((ret = rigi_map_str(&top, "name", RIGI_REQUIRED, &suite->name)) < 0 ||
	    (ret = rigi_map_num(&top, "min_tur", RIGI_OPTIONAL, 1, 100, &suite->min_tur)) < 0 ||
	    (ret = rigi_map_str(&top, "version", RIGI_REQUIRED, &suite->version)) < 0 ||
	    (ret = rigi_map_str(&top, "description", RIGI_OPTIONAL, &suite->description)) < 0 ||
	    (ret = read_limits(&top, &suite->limits)) < 0)
		return ret;
	return read_steps(cfg, &top, suite);
}

int rig_suite_load(const char *path, struct rig_suite **out)
{
	struct rigi_doc *doc = NULL;
	struct rig_suite *suite = NULL;
	struct rigi_cfg cfg = {.path = path};
	int ret;

	if (!path || !out)
		return rigi_fail(RIG_ERR_ARG, "rig_suite_load: path and out are required");
	*out = NULL;
	ret = rigi_yaml_load(path, &doc);
	if (ret < 0)
		goto out;
	suite = calloc(1, sizeof(*suite));
	if (!suite || !(suite->path = strdup(path))) {
		ret = rigi_fail(RIG_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	ret = read_suite(&cfg, doc->root, suite);
out:
	rigi_doc_free(doc);
	if (ret < 0) {
		rig_suite_free(suite);
		return ret;
	}
	RIGI_DEBUG("suite", "%s: suite %s %s, %zu steps", path, suite->name, suite->version,
		   suite->n_steps);
	*out = suite;
	return 0;
}

static void step_free(struct rig_step *st)
{
	switch (st->type) {
	case RIG_STEP_AS_FOUND:
	case RIG_STEP_AS_LEFT:
		free(st->u.measure.depths_um);
		free(st->u.measure.rates_spm);
		break;
	case RIG_STEP_DEPTH_SWEEP:
		free(st->u.depth_sweep.codes);
		break;
	case RIG_STEP_RATE_SWEEP:
		free(st->u.rate_sweep.duties);
		break;
	default:
		break;
	}
	free(st->name);
}

void rig_suite_free(struct rig_suite *suite)
{
	if (!suite)
		return;
	for (size_t i = 0; i < suite->n_steps; i++)
		step_free(&suite->steps[i]);
	free(suite->steps);
	free(suite->path);
	free(suite->name);
	free(suite->version);
	free(suite->description);
	free(suite);
}
