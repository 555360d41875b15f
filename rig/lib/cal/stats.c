/* rig_stats_compute: robust summary of repeated measurements (per-stroke
 * peaks, periods, forces). The arithmetic is GSL's, through numeric.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <rig/stats.h>

#include "cal/numeric.h"
#include "core/core.h"

/* 10 % cut on each side: the central 80 % (DESIGN §5, "trimmed mean"). */
#define TRIM_FRACTION 0.10

int rig_stats_compute(const double *values, size_t n, struct rig_stats *out)
{
	double *sorted;

	if (!values || !out)
		return rigi_fail(RIG_ERR_ARG, "statistics: NULL values or result");
	if (n == 0)
		return rigi_fail(RIG_ERR_ARG, "statistics: no values to summarise");
	for (size_t i = 0; i < n; i++)
		if (!isfinite(values[i]))
			return rigi_fail(RIG_ERR_ARG,
					 "statistics: value %zu of %zu is not finite (%g); "
					 "reject it before summarising",
					 i, n, values[i]);
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return rigi_fail(RIG_ERR_NOMEM, "statistics: %zu values", n);
	memcpy(sorted, values, n * sizeof(*sorted));
	rigi_num_sort(sorted, n);

	memset(out, 0, sizeof(*out));
	out->n = n;
	out->mean = rigi_num_mean(sorted, n);
	out->sd = rigi_num_sd(sorted, n, out->mean);
	out->sem = out->sd / sqrt((double)n);
	out->median = rigi_num_median_sorted(sorted, n);
	out->min = sorted[0];
	out->max = sorted[n - 1];
	out->trimmed_mean = rigi_num_trimmed_mean_sorted(sorted, n, TRIM_FRACTION);
	free(sorted);
	return RIG_OK;
}
