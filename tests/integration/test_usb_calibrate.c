/* A full calibration over the emulated USB path: the simulated station's
 * pen is presented to the real libusb transport through umockdev, the
 * fixture binds nest 0 to bus path 1-1.1, and the calibrate suite must reach
 * the same ground-truth accuracy as over the socket transport (20 µm at every
 * user depth, 1 % at every speed level). An unplug mid-run must end ERROR. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/run.h>
#include <rig/station.h>
#include <rig/sim.h>

#include "sim_internal.h"
#include "testsupport.h"
#include "usbharness.h"

struct world {
	struct usbh *bus;
	struct ts_station st;
	int unplug_port;  /* unplug this hub port in the depth sweep (0: none) */
	int plugged[3];   /* by port */
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	if (!usbh_available()) {
		free(w);
		return -1;
	}
	w->bus = usbh_new(); /* before anything initialises libusb */
	assert_non_null(w->bus);
	assert_int_equal(ts_station_start(&w->st, 2, 31, "fixtures/sim-usb.yaml"), 0);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;
	usbh_free(w->bus); /* unplugs: no USB access to the pens after this */
	ts_station_stop(&w->st);
	free(w);
	return 0;
}

/* Put a new pen into a nest and plug that same pen into hub port nest + 1
 * (bus path 1-1.<nest+1>, as fixtures/sim-usb.yaml binds the nests). */
static void load_pen(struct world *w, unsigned nest, const char *serial)
{
	char line[64], reply[256];
	int port = (int)nest + 1;
	if (w->plugged[port])
		usbh_remove(w->bus, port);
	snprintf(line, sizeof(line), "load %u %s", nest, serial);
	assert_int_equal(rig_sim_control(w->st.sim, line, reply, sizeof(reply)), 0);
	assert_int_equal(usbh_plug(w->bus, port, w->st.sim->nests[nest].pen), 0);
	w->plugged[port] = 1;
}

struct job {
	struct world *w;
	unsigned nest;
	int unplug;  /* unplug this job's pen in its depth sweep */
	struct rig_run_summary sum;
};

static void unplug_on_progress(const struct rig_run_progress *p, void *user)
{
	struct job *j = user;
	if (j->unplug && !strcmp(p->step, "depth_sweep") && p->point == 6) {
		j->unplug = 0;
		usbh_unplug(j->w->bus, (int)j->nest + 1);
	}
}

static void *run_job(void *arg)
{
	struct job *j = arg;
	char out[300];
	struct rig_run_options opt = {.fixture = j->w->st.fx, .suite = j->w->st.suite, .nest = j->nest,
				      .simulated = 1, .seed = 31, .time_scale = 1000,
				      .reports_dir = out, .calibrations_dir = out,
				      .progress = unplug_on_progress, .progress_user = j};
	snprintf(out, sizeof(out), "%s/out", j->w->st.dir);
	if (rig_run_unit(&opt, &j->sum) < 0) {
		j->sum.outcome = RIG_OUTCOME_ABORTED; /* no record: flagged below */
		snprintf(j->sum.reason, sizeof(j->sum.reason), "no record: %s", rig_last_error());
	}
	return NULL;
}

static void keep_summary(struct rig_nest_job *nj, unsigned k, int ret,
			 const struct rig_run_summary *sum)
{
	struct job *j = nj->user;
	(void)k;
	if (ret == 0)
		j->sum = *sum;
}

static void run(struct world *w, int unplug, struct rig_run_summary *sum)
{
	struct job j = {.w = w, .nest = 0, .unplug = unplug};
	run_job(&j);
	*sum = j.sum;
	assert_int_not_equal(sum->record_path[0], '\0');
}

static double truth(struct world *w, const char *query, const char *key)
{
	char reply[512];
	assert_int_equal(rig_sim_control(w->st.sim, query, reply, sizeof(reply)), 0);
	assert_non_null(strstr(reply, key));
	return strtod(strstr(reply, key) + strlen(key), NULL);
}

static void calibration_over_usb_meets_truth(void **state)
{
	static const unsigned levels[] = {3000, 4200, 5400, 6600, 7800, 9000};
	struct world *w = *state;
	for (unsigned u = 0; u < 3; u++) {
		struct rig_run_summary sum;
		char serial[32], q[64];
		double worst_um = 0, worst_pct = 0;
		snprintf(serial, sizeof(serial), "MN1-%06u", 600 + u);
		load_pen(w, 0, serial);
		run(w, 0, &sum);
		assert_int_equal(sum.outcome, RIG_OUTCOME_PASS);
		assert_true(sum.safe_state_confirmed);
		for (unsigned d = 250; d <= 2500; d += 250) {
			snprintf(q, sizeof(q), "truth 0 user %u 5400", d);
			worst_um = fmax(worst_um, fabs(truth(w, q, "protrusion_um=") - d));
		}
		for (size_t i = 0; i < 6; i++) {
			snprintf(q, sizeof(q), "truth 0 user 1250 %u", levels[i]);
			worst_pct = fmax(worst_pct, fabs(truth(w, q, "rate_hz=") * 60 - levels[i]) /
							levels[i] * 100);
		}
		printf("  %s over USB: PASS, as-left %+.1f um %+.2f %%; true worst %.1f um %.2f %%\n",
		       serial, sum.as_left_depth_um, sum.as_left_rate_pct, worst_um, worst_pct);
		assert_true(worst_um <= 20.0);
		assert_true(worst_pct <= 1.0);
	}
}

static void unplug_mid_run_is_error(void **state)
{
	struct world *w = *state;
	struct rig_run_summary sum;
	load_pen(w, 0, "MN1-000610");
	run(w, 1, &sum);
	printf("  unplugged in the depth sweep: %s: %s\n", rig_outcome_name(sum.outcome), sum.reason);
	assert_int_equal(sum.outcome, RIG_OUTCOME_ERROR);
	assert_non_null(strstr(sum.reason, "disconnected"));
}

/* Two nests calibrating at once on one station (rig/station.h); nest 1's
 * pen is unplugged mid-run: nest 1 ends ERROR, nest 0 is untouched and
 * passes. */
static void unplug_leaves_other_nest_alone(void **state)
{
	struct world *w = *state;
	struct job j[2] = {{.w = w, .nest = 0}, {.w = w, .nest = 1, .unplug = 1}};
	struct rig_nest_job nj[2];
	struct rig_station *st = NULL;
	char out[300];
	snprintf(out, sizeof(out), "%s/out", w->st.dir);
	struct rig_station_options so = {w->st.fx, out, 1000, "test_usb_calibrate"};
	load_pen(w, 0, "MN1-000620");
	load_pen(w, 1, "MN1-000621");
	assert_int_equal(rig_station_open(&so, &st), 0);
	for (unsigned i = 0; i < 2; i++)
		nj[i] = (struct rig_nest_job){
			.opt = {.fixture = w->st.fx, .suite = w->st.suite, .nest = i, .simulated = 1,
				.seed = 31, .time_scale = 1000, .reports_dir = out,
				.calibrations_dir = out, .progress = unplug_on_progress,
				.progress_user = &j[i]},
			.units = 1, .after_unit = keep_summary, .user = &j[i]};
	assert_int_equal(rig_station_run(st, nj, 2), 0);
	rig_station_close(st);
	printf("  nest 0: %s (%.200s); nest 1 (unplugged): %s: %.120s\n",
	       rig_outcome_name(j[0].sum.outcome), j[0].sum.reason,
	       rig_outcome_name(j[1].sum.outcome), j[1].sum.reason);
	assert_int_equal(nj[0].worst_ret, 0);
	assert_int_equal(nj[1].worst_ret, 0);
	assert_int_equal(j[0].sum.outcome, RIG_OUTCOME_PASS);
	assert_int_equal(j[1].sum.outcome, RIG_OUTCOME_ERROR);
	assert_non_null(strstr(j[1].sum.reason, "disconnected"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(calibration_over_usb_meets_truth),
		cmocka_unit_test(unplug_mid_run_is_error),
		cmocka_unit_test(unplug_leaves_other_nest_alone),
	};
	if (!usbh_available()) {
		printf("umockdev preload not active: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
