/* The simulated station's clock: simulated seconds since the station started,
 * running `speed` times faster than the monotonic clock. Every time-dependent
 * part of the simulator reads this clock, never the wall clock. */
#ifndef SIM_SIMCLOCK_H
#define SIM_SIMCLOCK_H

#include <stdint.h>

#include <rig/clock.h>

struct sim_clock {
	int64_t start_ns; /* rig_clock_ns() at start */
	double speed;     /* simulated seconds per real second, > 0 */
};

static inline void sim_clock_init(struct sim_clock *c, double speed)
{
	c->start_ns = rig_clock_ns();
	c->speed = speed > 0 ? speed : 1.0;
}

/** Simulated seconds since start. */
static inline double sim_clock_now(const struct sim_clock *c)
{
	return (double)(rig_clock_ns() - c->start_ns) * 1e-9 * c->speed;
}

/** Real nanoseconds corresponding to @p sim_seconds of simulated time. */
static inline int64_t sim_clock_real_ns(const struct sim_clock *c, double sim_seconds)
{
	return (int64_t)(sim_seconds / c->speed * 1e9);
}

#endif
