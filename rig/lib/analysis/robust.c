/* Robust order statistics for the stroke analysis: quantiles by selection
 * (O(n), no full sort, since captures hold hundreds of thousands of
 * samples) and a noise estimate that ignores the signal itself. */
#include <math.h>

#include "analysis/analysis_int.h"

static void swap(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* Hoare-style quickselect: afterwards v[k] is the k-th smallest value and
 * everything before it is <= v[k]. Median-of-three pivots keep sorted or
 * constant inputs (flat retractions) from going quadratic. */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;
	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < v[lo])
			swap(&v[mid], &v[lo]);
		if (v[hi] < v[lo])
			swap(&v[hi], &v[lo]);
		if (v[hi] < v[mid])
			swap(&v[hi], &v[mid]);
		double pivot = v[mid];
		size_t i = lo, j = hi;
		while (i <= j) {
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j) {
				swap(&v[i], &v[j]);
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/* Smallest value of v[from..n). */
static double min_from(const double *v, size_t from, size_t n)
{
	double m = v[from];
	for (size_t i = from + 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double rigi_quantile_inplace(double *v, size_t n, double q)
{
	double pos = q * (double)(n - 1);
	size_t k = (size_t)pos;
	double frac = pos - (double)k;
	double a;

	if (k >= n - 1)
		return select_kth(v, n, n - 1);
	a = select_kth(v, n, k);
	if (frac == 0.0)
		return a;
	/* After selection everything above index k is >= v[k]: the next order
	 * statistic is the smallest of them. */
	return a + frac * (min_from(v, k + 1, n) - a);
}

double rigi_median_inplace(double *v, size_t n)
{
	return rigi_quantile_inplace(v, n, 0.5);
}

double rigi_diff_noise(const double *x, const unsigned char *mask, size_t n, double *scratch)
{
	size_t m = 0;
	for (size_t i = 1; i < n; i++)
		if (!mask || (mask[i] && mask[i - 1]))
			scratch[m++] = fabs(x[i] - x[i - 1]);
	if (m < 8)
		return NAN;
	/* For white Gaussian noise the difference has sigma*sqrt(2) and its
	 * median absolute value is 0.6745 of that. */
	return rigi_median_inplace(scratch, m) / (0.674490 * sqrt(2.0));
}
