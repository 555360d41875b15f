/* The pen's host-loss watchdog against slow evidence (issue 10): a sink
 * that takes longer than the watchdog's 1 s of real time on a capture, with
 * the pen's motor on, must not starve the pen's keepalive (the keeper of
 * rig/lib/exec/nest.c sends it meanwhile). Before the keeper, the pen
 * stopped itself (HOST_LOST) and the unit ended in ERROR. */
#include <stdio.h>
#include <string.h>

#include <rig/clock.h>
#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "testsupport.h"

#define SLOW_CAPTURES 3
#define SLOW_NS 1500000000LL /* beyond the pen's 1 s watchdog */

struct slow {
	unsigned slept;
};

/* As a journal's fsync on a loaded host would: blocks the run's thread. */
static int slow_on_capture(const struct rig_event *ev, void *user)
{
	struct slow *s = user;
	if (ev->type == RIG_EV_CAPTURE && s->slept < SLOW_CAPTURES) {
		s->slept++;
		rig_sleep_ns(SLOW_NS);
	}
	return 0;
}

static void slow_sink_keeps_the_pen(void **state)
{
	struct ts_station st;
	struct rig_run_summary sum;
	struct slow slow = {0};
	struct rig_event_sink sink = {"slow", slow_on_capture, &slow, 1};
	char reports[300];
	(void)state;
	assert_int_equal(ts_station_start(&st, 1, 9, "fixtures/sim.yaml"), 0);
	snprintf(reports, sizeof(reports), "%s/out", st.dir);
	struct rig_run_options opt = {.fixture = st.fx, .suite = st.suite, .simulated = 1,
				      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
				      .calibrations_dir = reports, .sinks = &sink, .n_sinks = 1};
	assert_int_equal(rig_run_unit(&opt, &sum), 0);
	assert_int_equal(slow.slept, SLOW_CAPTURES);
	if (sum.outcome != RIG_OUTCOME_PASS)
		fail_msg("%s: %s", rig_outcome_name(sum.outcome), sum.reason);
	ts_station_stop(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slow_sink_keeps_the_pen),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
