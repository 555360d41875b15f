/* A run's hold on its nest: opening the station's DAQ, the sensors and the pen named
 * by the fixture, the line key and authentication, timed waits that honour
 * Ctrl-C, the pen's keepalive (and its keeper thread during long work), and
 * the safe state (motor off, service mode left) on exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static void keeper_stop(struct rigi_run *r);

void rigi_nest_close(struct rigi_run *r)
{
	keeper_stop(r);
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

/* The pen's keeper: a thread that sends the pen its keepalive while the
 * nest's own thread is busy elsewhere. The pen's host-loss watchdog counts
 * real time (1 s), and one fsync of the journal or one capture attachment
 * took 0.8 s on a loaded 2-core host: no keepalive between pieces of work
 * can cover a single piece that long. */
#define KEEPER_SLICE_NS 50000000L

struct rigi_keeper {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned holds;  /* nested holds of the run's thread */
	int busy;        /* the keeper is using the pen */
	int failed;      /* its keepalive failed during this hold: not tried again */
	int quit;
};

static void *keeper_main(void *arg)
{
	struct rigi_run *r = arg;
	struct rigi_keeper *k = r->keeper;
	pthread_mutex_lock(&k->lock);
	while (!k->quit) {
		if (k->holds && !k->failed) {
			k->busy = 1;
			pthread_mutex_unlock(&k->lock);
			/* Sends only when due; a failure shows in the run's next
			 * command, where its detail belongs. */
			int ret = rigi_keepalive(r);
			pthread_mutex_lock(&k->lock);
			k->busy = 0;
			k->failed = ret < 0;
			pthread_cond_broadcast(&k->cond);
		}
		if (k->quit)
			break;
		if (!k->holds || k->failed) {
			pthread_cond_wait(&k->cond, &k->lock);
			continue;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += KEEPER_SLICE_NS;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&k->cond, &k->lock, &until);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static struct rigi_keeper *keeper_start(struct rigi_run *r)
{
	struct rigi_keeper *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	r->keeper = k;
	if (pthread_create(&k->thread, NULL, keeper_main, r) != 0) {
		RIGI_WARN("run", "no thread to keep the pen alive: long work keeps it from "
				 "between the pieces only");
		pthread_cond_destroy(&k->cond);
		pthread_mutex_destroy(&k->lock);
		free(k);
		r->keeper = NULL;
	}
	return r->keeper;
}

static void keeper_stop(struct rigi_run *r)
{
	struct rigi_keeper *k = r->keeper;
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	k->quit = 1;
	pthread_cond_broadcast(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cond);
	pthread_mutex_destroy(&k->lock);
	free(k);
	r->keeper = NULL;
}

void rigi_keeper_hold(struct rigi_run *r)
{
	struct rigi_keeper *k = r->keeper;
	if (!r->dut || (!k && !(k = keeper_start(r))))
		return;
	pthread_mutex_lock(&k->lock);
	if (k->holds++ == 0) {
		k->failed = 0;
		pthread_cond_broadcast(&k->cond);
	}
	pthread_mutex_unlock(&k->lock);
}

void rigi_keeper_release(struct rigi_run *r)
{
	struct rigi_keeper *k = r->keeper;
	if (!k)
		return;
	pthread_mutex_lock(&k->lock);
	if (k->holds && --k->holds == 0)
		while (k->busy) /* the pen is the run's again once this STATUS is answered */
			pthread_cond_wait(&k->cond, &k->lock);
	pthread_mutex_unlock(&k->lock);
}
