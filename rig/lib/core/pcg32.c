/* PCG32 (pcg32_random_r from the PCG reference C implementation, Apache-2.0
 * algorithm by M. O'Neill): 64-bit LCG state, XSH-RR output. */
#include <math.h>
#include <string.h>

#include <rig/pcg32.h>

#define PCG_MULT 6364136223846793005ULL

uint32_t rig_pcg32_next(struct rig_pcg32 *rng)
{
	uint64_t old = rng->state;
	uint32_t xorshifted;
	uint32_t rot;

	rng->state = old * PCG_MULT + rng->inc;
	xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
	rot = (uint32_t)(old >> 59u);
	return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void rig_pcg32_seed(struct rig_pcg32 *rng, uint64_t initstate, uint64_t initseq)
{
	rng->state = 0u;
	rng->inc = (initseq << 1u) | 1u;
	rig_pcg32_next(rng);
	rng->state += initstate;
	rig_pcg32_next(rng);
}

uint32_t rig_pcg32_bounded(struct rig_pcg32 *rng, uint32_t bound)
{
	uint32_t threshold;
	if (bound == 0)
		return 0;
	threshold = -bound % bound;
	for (;;) {
		uint32_t r = rig_pcg32_next(rng);
		if (r >= threshold)
			return r % bound;
	}
}

double rig_pcg32_uniform(struct rig_pcg32 *rng)
{
	uint64_t hi = rig_pcg32_next(rng) >> 5;  /* 27 bits */
	uint64_t lo = rig_pcg32_next(rng) >> 6;  /* 26 bits */
	return (double)((hi << 26) | lo) * (1.0 / 9007199254740992.0);
}

double rig_pcg32_normal(struct rig_pcg32 *rng)
{
	double u1 = rig_pcg32_uniform(rng);
	double u2 = rig_pcg32_uniform(rng);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* FNV-1a: a fixed, documented way to turn names into 64-bit stream ids. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s && *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void rig_pcg32_seed_named(struct rig_pcg32 *rng, uint64_t seed, const char *name,
			  const char *purpose)
{
	uint64_t h = fnv1a(14695981039346656037ULL, name);
	h = fnv1a(h ^ 0x2f, purpose);
	rig_pcg32_seed(rng, seed ^ h, h >> 1);
}
