/* Missing-needle detection: the needles of a cartridge differ in length by a
 * few µm, so on a slow enough approach the force falls in one step per
 * needle as each tip punctures the phantom (docs/analysis.md §10). A missing
 * needle is one step fewer, which the total puncture force cannot show (the
 * cartridge-to-cartridge spread of that total is larger than one needle). */
#include <math.h>
#include <stdlib.h>

#include <rig/error.h>
#include <rig/needles.h>

#include "analysis/analysis_int.h"
#include "core/core.h"

#define DROP_SIGMAS 5.0    /* a fall of 5 sigma of a difference is not noise */
#define SINGLE_RATIO 1.5   /* drops up to 1.5 x the smallest are single needles */
#define MAX_NOISE_STEP 0.15 /* beyond this sigma/step, 11 and 12 blur */
#define MAX_DROPS 64

/* Find the drops: maximal runs of falls beyond @p thr; their sizes go to
 * @p size (at most MAX_DROPS). */
static size_t find_drops(const double *f, size_t n, double thr, double *size)
{
	size_t k = 0;

	for (size_t i = 0; i + 1 < n && k < MAX_DROPS; i++) {
		size_t j = i;
		if (f[i] - f[i + 1] <= thr)
			continue;
		while (j + 1 < n && f[j] - f[j + 1] > thr)
			j++;
		size[k++] = f[i] - f[j];
		i = j;
	}
	return k;
}

/* One needle's step: the median of the drops that are single needles. */
static double single_step(const double *size, size_t k)
{
	double smallest = size[0], singles[MAX_DROPS];
	size_t m = 0;

	for (size_t i = 1; i < k; i++)
		smallest = size[i] < smallest ? size[i] : smallest;
	for (size_t i = 0; i < k; i++)
		if (size[i] <= SINGLE_RATIO * smallest)
			singles[m++] = size[i];
	return rigi_median_inplace(singles, m);
}

static void judge(const double *size, size_t k, struct rig_needle_count *out)
{
	double worst = 0.0;

	out->step_mn = single_step(size, k);
	for (size_t i = 0; i < k; i++) {
		double steps = size[i] / out->step_mn;
		double off = fabs(steps - (double)lround(steps));
		out->punctures += (int)lround(steps);
		worst = off > worst ? off : worst;
	}
	out->confidence = 1.0 - 2.0 * worst;
	if (M_SQRT2 * out->noise_mn > MAX_NOISE_STEP * out->step_mn)
		out->confidence = 0.0;
}

int rig_needles_count(const double *force_mn, size_t n, struct rig_needle_count *out)
{
	double size[MAX_DROPS], *scratch;

	if (!force_mn || !out || n < 16)
		return rigi_fail(RIG_ERR_ARG, "needle count: need 16 or more force samples");
	for (size_t i = 0; i < n; i++)
		if (!isfinite(force_mn[i]))
			return rigi_fail(RIG_ERR_ARG, "needle count: force sample %zu is not finite", i);
	scratch = malloc(n * sizeof *scratch);
	if (!scratch)
		return rigi_fail(RIG_ERR_NOMEM, "needle count: out of memory");
	*out = (struct rig_needle_count){0};
	out->noise_mn = rigi_diff_noise(force_mn, NULL, n, scratch);
	free(scratch);
	if (!isfinite(out->noise_mn))
		out->noise_mn = 0.0;
	out->drops = find_drops(force_mn, n, DROP_SIGMAS * M_SQRT2 * out->noise_mn, size);
	if (out->drops)
		judge(size, out->drops, out);
	return 0;
}
