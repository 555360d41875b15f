/* Statistical process control over many runs (docs/store.md "Statistics"):
 * yield (first-pass yield, retest rate) from the runs' outcomes, process
 * capability (Cp/Cpk from the within-run-to-run sigma, Pp/Ppk from the
 * overall sigma) of one measurand against its tolerance with confidence
 * intervals, and an individuals / moving-range control chart with Nelson
 * rules 1-4. Pure functions on plain arrays: the results store feeds them
 * series read from SQLite or PostgreSQL. */
#ifndef RIG_SPC_H
#define RIG_SPC_H

#include <stddef.h>
#include <stdint.h>

#include <rig/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One run, for yield: which unit, when, what became of it. */
struct rig_spc_run {
	const char *serial;     /* the unit */
	int64_t started_ms;     /* orders a unit's runs (ties: the order given) */
	enum rig_outcome outcome;
};

struct rig_spc_yield {
	size_t runs;                         /* runs given */
	size_t per_outcome[5];               /* runs per enum rig_outcome */
	size_t units;                        /* distinct serials */
	/* Units with at least one judged run (PASS, FAIL or INDETERMINATE): a run
	 * ending ERROR or ABORTED judged nothing about the pen, so it is not
	 * its first pass. */
	size_t units_judged;
	size_t first_pass;                   /* units whose first judged run PASSed */
	double fpy;                          /* first_pass / units_judged; NAN when none */
	double fpy_low, fpy_high;            /* 95 % Wilson score interval */
	size_t units_retested;               /* units with two or more runs (any outcome) */
	double retest_rate;                  /* units_retested / units; NAN when none */
	size_t final_pass;                   /* units whose last judged run PASSed */
	double final_yield;                  /* final_pass / units_judged; NAN when none */
};

/** Yield of @p n runs (@p runs may be NULL when n == 0: no units, the
 *  ratios NAN). Returns 0, RIG_ERR_ARG (NULL, a NULL serial, an outcome
 *  outside the enum) or RIG_ERR_NOMEM. */
int rig_spc_yield(const struct rig_spc_run *runs, size_t n, struct rig_spc_yield *out);

/* Confidence level of every interval below. */
#define RIG_SPC_CONFIDENCE 0.95
/* d2 for moving ranges of two: sigma_within = mean moving range / d2. */
#define RIG_SPC_D2 1.128

struct rig_spc_capability {
	size_t n;                    /* values */
	double low, high;            /* the tolerance limits given */
	double mean, mean_low, mean_high;   /* with its t interval */
	double sd, sd_low, sd_high;         /* overall sample sd (n - 1), chi-square interval */
	double sigma_within;         /* mean moving range / d2 (run to run) */
	double cp, cpk, cpk_low, cpk_high;  /* from sigma_within; interval: Bissell (1990) */
	double pp, ppk, ppk_low, ppk_high;  /* from sd; interval: Bissell (1990) */
};

/** Capability of @p n values (in run order: the moving ranges need it)
 *  against [@p low, @p high]. n >= 2 gives every figure; with n < 2, or a
 *  zero sigma, the figures that need them are NAN. Returns 0 or
 *  RIG_ERR_ARG (NULL, n == 0, a value or limit not finite, low >= high). */
int rig_spc_capability(const double *x, size_t n, double low, double high,
		       struct rig_spc_capability *out);

/* Nelson rules, as bits of rig_spc_chart.rules[i]. */
enum rig_spc_rule {
	RIG_SPC_RULE1 = 1 << 0, /* a point beyond 3 sigma from the centre line */
	RIG_SPC_RULE2 = 1 << 1, /* nine points in a row on one side of the centre line
				 * (a point on the line breaks the run) */
	RIG_SPC_RULE3 = 1 << 2, /* six points in a row steadily increasing or decreasing
				 * (five steps, each strict) */
	RIG_SPC_RULE4 = 1 << 3, /* fourteen points in a row alternating up and down
				 * (thirteen steps, none zero) */
};

/** An individuals / moving-range chart of a series. */
struct rig_spc_chart {
	size_t n;
	double center;            /* mean of the points */
	double sigma;             /* mean moving range / d2 */
	double ucl, lcl;          /* center +- 3 sigma */
	double mr_mean, mr_ucl;   /* moving-range chart: mean, 3.267 * mean */
	/* Per point, the rules that point completes (a bit set on the last
	 * point of each qualifying run, and on every later point while the
	 * pattern goes on); malloc'd, n entries, freed by rig_spc_chart_free. */
	uint8_t *rules;
	size_t broken[4];         /* points flagged by rule 1..4 */
};

/** Chart @p n >= 1 values in run order. Returns 0, RIG_ERR_ARG (NULL, n ==
 *  0, a value not finite) or RIG_ERR_NOMEM. With a zero sigma (all
 *  points equal, or n == 1) rule 1 flags nothing. */
int rig_spc_chart(const double *x, size_t n, struct rig_spc_chart *out);

/** Free what rig_spc_chart allocated; NULL is a no-op. */
void rig_spc_chart_free(struct rig_spc_chart *c);

/** "rule 1: a point beyond 3 sigma" etc. for one rule bit; NULL otherwise. */
const char *rig_spc_rule_text(enum rig_spc_rule rule);

#ifdef __cplusplus
}
#endif
#endif
