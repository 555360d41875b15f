/* A run's hold on its nest: opening the station's DAQ, the sensors and the pen named
 * by the fixture, the line key and authentication, timed waits that honour
 * Ctrl-C, and the safe state (motor off, service mode left) on exit. */
#include <stdio.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

/* The pen first: if an instrument cannot be opened, the pen can still be
 * made safe (a previous run may have left it running). The DAQ is the
 * station's, opened once for all its nests. */
int rigi_nest_open(struct rigi_run *r)
{
	int ret = rig_dut_open(r->nest->dut_uri, &r->dut);
	if (ret == 0)
		ret = rigi_station_daq_open(r->station);
	if (ret == 0)
		ret = rig_displacement_open(r->nest->displacement.uri, &r->disp);
	if (ret == 0)
		ret = rig_force_open(r->nest->force.uri, &r->force);
	return ret;
}

void rigi_nest_close(struct rigi_run *r)
{
	rig_dut_close(r->dut);
	rig_force_close(r->force);
	rig_displacement_close(r->disp);
	r->dut = NULL;
	r->force = NULL;
	r->disp = NULL;
	if (r->have_key)
		rig_key_wipe(r->key);
	r->have_key = 0;
}

int rigi_nest_make_safe(struct rigi_run *r, char *detail, size_t cap)
{
	struct rig_dut_status st;
	int ret;

	/* The DAQ is left alone: it is harmless, and other nests may be using it. */
	if (!r->dut) {
		snprintf(detail, cap, "pen link never opened: nothing to make safe");
		return RIG_ERR_STATE;
	}
	ret = rig_dut_safe(r->dut);
	if (ret == RIG_ERR_DISCONNECTED || ret == RIG_ERR_TIMEOUT) {
		/* The link dropped: open it again once, the pen may be back. */
		rig_dut_close(r->dut);
		r->dut = NULL;
		ret = rig_dut_open(r->nest->dut_uri, &r->dut);
		if (ret == 0)
			ret = rig_dut_safe(r->dut);
	}
	if (ret == 0)
		ret = rig_dut_status(r->dut, &st);
	if (ret < 0) {
		snprintf(detail, cap, "could not confirm the safe state: %s: %s; switch the pen "
				      "off by hand before removing it",
			 rig_strerror(ret), rig_last_error());
		return ret;
	}
	if (st.motor_on || st.mode != 0 || st.authenticated) {
		snprintf(detail, cap, "pen reports motor %s, %s mode, session %s after SAFE",
			 st.motor_on ? "on" : "off", st.mode ? "SERVICE" : "USER",
			 st.authenticated ? "open" : "closed");
		return RIG_ERR_DEVICE;
	}
	r->authenticated = 0;
	snprintf(detail, cap, "SAFE confirmed by STATUS: motor off, USER mode, session closed");
	return 0;
}

int rigi_ensure_key(struct rigi_run *r)
{
	const char *path = r->opt->key_path ? r->opt->key_path : r->fx->line_key;
	int ret;
	if (r->have_key)
		return 0;
	if (!path)
		return rigi_fail(RIG_ERR_NOT_FOUND, "no line key: set line_key in the fixture %s "
						    "or give --key FILE",
				 r->fx->path);
	ret = rig_key_load_file(path, r->key);
	if (ret < 0)
		return ret;
	r->have_key = 1;
	return 0;
}

int rigi_ensure_auth(struct rigi_run *r)
{
	int ret;
	if (r->authenticated)
		return 0;
	ret = rigi_ensure_key(r);
	if (ret == 0)
		ret = rig_dut_authenticate(r->dut, r->key);
	if (ret == 0)
		r->authenticated = 1;
	return ret;
}

int rigi_keepalive(void *run)
{
	struct rigi_run *r = run;
	if (!r->dut)
		return 0;
	int ret = rig_dut_keepalive(r->dut, RIGI_KEEPALIVE_MS);
	if (ret < 0)
		rigi_error_context("keeping the pen's link alive while waiting");
	return ret;
}

int rigi_rezero(struct rigi_run *r, struct rigi_step_result *res)
{
	int ret = r->rezero ? rig_dut_motor(r->dut, 0) : 0;
	if (ret == 0 && r->rezero)
		ret = rig_displacement_zero(r->disp);
	if (ret < 0)
		rigi_result_from_error(r, res, ret, "re-zeroing the displacement sensor");
	return ret;
}

int rigi_settle(struct rigi_run *r, unsigned ms)
{
	r->sum->physical_s += ms / 1000.0;
	int64_t end = rig_clock_ns() + (int64_t)((double)ms * 1e6 / r->time_scale);
	while (rig_clock_ns() < end) {
		if (rig_interrupted())
			return rigi_fail(RIG_ERR_INTERRUPTED, "%s", rig_interrupt_cause());
		int ret = rigi_keepalive(r);
		if (ret < 0)
			return ret;
		int64_t left = end - rig_clock_ns();
		rig_sleep_ns(left < 20000000 ? left : 20000000);
	}
	return rig_interrupted() ? rigi_fail(RIG_ERR_INTERRUPTED, "%s", rig_interrupt_cause())
				 : 0;
}
