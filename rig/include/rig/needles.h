/* Missing-needle detection (docs/analysis.md §10): count the needle
 * punctures in the force staircase of one slow approach through the
 * phantom's puncture, from the force samples alone. */
#ifndef RIG_NEEDLES_H
#define RIG_NEEDLES_H

#include <stddef.h>

/** What the staircase of one approach shows. */
struct rig_needle_count {
	int punctures;     /* needles seen puncturing (merged steps counted by size) */
	double confidence; /* 0..1: 1 when every drop is a whole number of steps */
	double step_mn;    /* force drop of one needle's puncture */
	double noise_mn;   /* force noise (sigma) of the samples */
	size_t drops;      /* drops found (a drop may be several needles at once) */
};

/** Count the punctures in @p n force samples (mN) of one downward pass
 *  through the puncture. A drop is a run of sample-to-sample falls larger
 *  than 5 sigma of the differences; one needle's step is the median of the
 *  drops no larger than 1.5 times the smallest; each drop counts as its
 *  size in steps, rounded. confidence is 1 − 2·(largest distance of a drop
 *  from a whole number of steps), 0 when the noise is too large to tell one
 *  step from none (sigma of a difference > 0.15 step).
 *  Returns 0, RIG_ERR_ARG (n < 16, NULL arrays, a value not finite) or
 *  RIG_ERR_NOMEM. */
int rig_needles_count(const double *force_mn, size_t n, struct rig_needle_count *out);

#endif
