/* Adaptive measurement end to end (docs/calibration.md "Adaptive
 * measurement"): the shipped calibrate suite on a simulated pen passes and
 * every judged point reached its targets (the strokes' part of its U). The
 * rule itself: tests/unit/test_adaptive.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>
#include <rig/suite.h>

#include "exec/exec.h"
#include "testsupport.h"

struct seen {
	double u_sensor, worst_prot_u, worst_rate_pct;
	unsigned as_left;
};

static int on_event(const struct rig_event *ev, void *user)
{
	struct seen *s = user;
	if (ev->type != RIG_EV_MEASUREMENT)
		return 0;
	const struct rig_measurement *m = ev->u.measurement.m;
	if (!m->judged || (strcmp(m->quantity, "protrusion") && strcmp(m->quantity, "rate")))
		return 0;
	if (!strcmp(m->quantity, "protrusion")) {
		double u = sqrt(fmax(0, m->u_expanded * m->u_expanded / 4 - s->u_sensor * s->u_sensor));
		s->worst_prot_u = fmax(s->worst_prot_u, u);
	} else {
		double u = 100 * m->u_expanded / m->value / 2;
		s->worst_rate_pct = fmax(s->worst_rate_pct, u);
	}
	s->as_left++;
	return 0;
}

/* The shipped calibrate suite on one simulated pen: it passes, and every
 * judged point reached its target (none needed max_capture_s on a healthy
 * pen). */
static void calibration_reaches_targets(void **state)
{
	struct ts_station st;
	struct rig_run_summary sum;
	char reports[300];
	(void)state;
	assert_int_equal(ts_station_start(&st, 1, 9, "fixtures/sim.yaml"), 0);
	const struct rig_adaptive *al = NULL;
	for (size_t i = 0; i < st.suite->n_steps; i++)
		if (st.suite->steps[i].type == RIG_STEP_AS_LEFT)
			al = &st.suite->steps[i].u.measure.adaptive;
	assert_non_null(al);
	assert_true(al->on);
	struct seen seen = {.u_sensor = st.fx->nests[0].displacement.cal.standard_uncertainty};
	struct rig_event_sink sink = {"test", on_event, &seen, 0};
	snprintf(reports, sizeof(reports), "%s/out", st.dir);
	struct rig_run_options opt = {.fixture = st.fx, .suite = st.suite, .simulated = 1,
				      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
				      .calibrations_dir = reports, .sinks = &sink, .n_sinks = 1};
	assert_int_equal(rig_run_unit(&opt, &sum), 0);
	if (sum.outcome != RIG_OUTCOME_PASS)
		fail_msg("%s: %s", rig_outcome_name(sum.outcome), sum.reason);
	assert_true(seen.as_left > 20);
	/* Rounding of the recorded U aside. */
	assert_true(seen.worst_prot_u <= al->target_u_um * 1.001);
	assert_true(seen.worst_rate_pct <= al->target_u_pct * 1.001 + 100 * RIGI_DAQ_CLOCK_REL_U);
	ts_station_stop(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(calibration_reaches_targets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
