/* Monotonic time for timeouts and durations (never the wall clock). */
#ifndef RIG_CLOCK_H
#define RIG_CLOCK_H

#include <stdint.h>

/** Nanoseconds on CLOCK_MONOTONIC. */
int64_t rig_clock_ns(void);

/** Milliseconds on CLOCK_MONOTONIC. */
int64_t rig_clock_ms(void);

/** Sleep @p ns nanoseconds (restarts after signals unless rig_interrupted()). */
void rig_sleep_ns(int64_t ns);

/** Seconds since the Unix epoch on the wall clock (for records only). */
int64_t rig_wall_time_s(void);

#endif
