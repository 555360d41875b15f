/* PCG32 (O'Neill's pcg32_random_r, XSH-RR 64/32): the only source of
 * randomness of the simulator, so that runs are reproducible bit for bit. */
#ifndef RIG_PCG32_H
#define RIG_PCG32_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rig_pcg32 {
	uint64_t state;
	uint64_t inc;
};

/** Seed as pcg32_srandom_r(rng, initstate, initseq). */
void rig_pcg32_seed(struct rig_pcg32 *rng, uint64_t initstate, uint64_t initseq);

/** Next 32-bit output, as pcg32_random_r. */
uint32_t rig_pcg32_next(struct rig_pcg32 *rng);

/** Uniform integer in [0, bound) without modulo bias (pcg32_boundedrand_r). */
uint32_t rig_pcg32_bounded(struct rig_pcg32 *rng, uint32_t bound);

/** Uniform double in [0, 1) with 53 random bits. */
double rig_pcg32_uniform(struct rig_pcg32 *rng);

/** Standard normal deviate (Box-Muller; consumes four outputs). */
double rig_pcg32_normal(struct rig_pcg32 *rng);

/** Seed a stream from (run seed, a name such as a unit serial, a purpose
 *  tag): the same triple always gives the same stream. */
void rig_pcg32_seed_named(struct rig_pcg32 *rng, uint64_t seed,
			  const char *name, const char *purpose);

#ifdef __cplusplus
}
#endif
#endif
