/* Summary statistics of a set of measurements (strokes, repeated readings). */
#ifndef RIG_STATS_H
#define RIG_STATS_H

#include <stddef.h>

struct rig_stats {
	size_t n;        /* number of values */
	double mean;
	double median;
	double sd;       /* sample standard deviation (n - 1); 0 when n < 2 */
	double sem;      /* standard uncertainty of the mean: sd / sqrt(n) */
	double min, max;
	double trimmed_mean; /* mean of the central 80 % (10 % cut each side) */
};

/** Summarise @p n values (not modified). Returns 0, or RIG_ERR_ARG when
 *  n == 0 or a value is not finite. */
int rig_stats_compute(const double *values, size_t n, struct rig_stats *out);

#endif
