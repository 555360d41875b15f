/* The simulated station's clock: simulated seconds since the station started.
 * Real-time mode runs `speed` times faster than the monotonic clock. Lockstep
 * mode does not follow real time at all: it stands still until the station
 * advances it (a DAQ capture advances it by its own duration), so the same
 * command sequence sees the same simulated times and produces the same
 * bytes however fast or slow the host is. Every time-dependent part of the
 * simulator reads this clock, never the wall clock. */
#ifndef SIM_SIMCLOCK_H
#define SIM_SIMCLOCK_H

#include <stdatomic.h>
#include <stdint.h>

#include <rig/clock.h>

struct sim_clock {
	int64_t start_ns;          /* rig_clock_ns() at start */
	double speed;              /* simulated seconds per real second, > 0 */
	int lockstep;              /* 1: time moves only by sim_clock_advance_to */
	_Atomic int64_t lockstep_ns; /* lockstep time, simulated ns */
};

static inline void sim_clock_init(struct sim_clock *c, double speed)
{
	c->start_ns = rig_clock_ns();
	c->speed = speed > 0 ? speed : 1.0;
	c->lockstep = 0;
	atomic_init(&c->lockstep_ns, 0);
}

static inline void sim_clock_init_lockstep(struct sim_clock *c)
{
	sim_clock_init(c, 1.0);
	c->lockstep = 1;
}

/** Simulated seconds since start. */
static inline double sim_clock_now(const struct sim_clock *c)
{
	if (c->lockstep)
		return (double)atomic_load(&((struct sim_clock *)c)->lockstep_ns) * 1e-9;
	return (double)(rig_clock_ns() - c->start_ns) * 1e-9 * c->speed;
}

/** Lockstep only: move the clock forward to @p t seconds (never back). */
static inline void sim_clock_advance_to(const struct sim_clock *c, double t)
{
	_Atomic int64_t *p = &((struct sim_clock *)c)->lockstep_ns;
	int64_t want = (int64_t)(t * 1e9 + 0.5);
	int64_t have = atomic_load(p);
	while (c->lockstep && want > have && !atomic_compare_exchange_weak(p, &have, want))
		;
}

/** Real nanoseconds corresponding to @p sim_seconds of simulated time
 *  (0 in lockstep: nothing waits for real time). */
static inline int64_t sim_clock_real_ns(const struct sim_clock *c, double sim_seconds)
{
	return c->lockstep ? 0 : (int64_t)(sim_seconds / c->speed * 1e9);
}

#endif
