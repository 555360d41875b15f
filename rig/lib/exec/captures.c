/* The station's capture scheduler: the nests of a station ask for captures
 * of their own channels; requests of about the same time are served by one
 * capture of all their channels (docs/calibration.md, "Sharing the DAQ").
 *
 * A request joins the queue; the request at its head leads when the DAQ is
 * free: it waits a short window for the other running nests to ask too (in
 * lockstep they ask within milliseconds of each other), takes every queued
 * request that fits the DAQ's buffer into one capture, runs it and hands
 * each member its channels. With `daq.captures: turns` a capture serves its
 * leader alone, as a DAQ that can only serve one nest at a time would.
 * Every nest keeps its own pen alive while it waits; a nest's failure there
 * is its own and never spoils the capture of the others. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rig/rig.h>

#include "core/core.h"
#include "exec/exec.h"

#define WAIT_SLICE_NS 50000000L     /* keepalive period while waiting */
#define WINDOW_STATION_S 0.05       /* how long a leader waits for the others */
#define WINDOW_MIN_NS 2000000L      /* ... but at least this much real time */
#define WINDOW_EXPECTED_FRACTION 0.25 /* of a capture, for the nests of the last one */

struct rigi_capture_slot {
	const struct rigi_capture_req *req;
	int in_batch;              /* taken into the capture under way */
	int done;
	int ret;                   /* the capture's outcome for this member */
	int keep_err;              /* its keepalive's first failure (its own thread's) */
	char keep_detail[400];
	char detail[400];          /* the capture's error, written by the leader */
};

/* The capture of one batch, led by one nest. */
struct batch {
	struct rigi_capture_slot *member[RIG_FIXTURE_MAX_NESTS];
	size_t n;
	uint16_t mask;
	uint32_t samples;
};

static struct timespec deadline_in(int64_t ns)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += (time_t)(ns / 1000000000);
	t.tv_nsec += (long)(ns % 1000000000);
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static unsigned popcount16(uint16_t m)
{
	unsigned n = 0;
	for (; m; m &= (uint16_t)(m - 1))
		n++;
	return n;
}

static void remove_pending(struct rig_station *st, const struct rigi_capture_slot *s)
{
	for (size_t i = 0; i < st->n_pending; i++) {
		if (st->pending[i] == s) {
			memmove(&st->pending[i], &st->pending[i + 1],
				(st->n_pending - i - 1) * sizeof(st->pending[0]));
			st->n_pending--;
			return;
		}
	}
}

/* Keep the slot's pen alive; its first failure is kept for its nest (the
 * capture goes on for the others). */
static int keep_alive(void *slot)
{
	struct rigi_capture_slot *s = slot;
	int ret = s->req->keepalive ? s->req->keepalive(s->req->arg) : 0;
	if (ret < 0 && !s->keep_err) {
		s->keep_err = ret;
		snprintf(s->keep_detail, sizeof(s->keep_detail), "%s", rig_last_error());
	}
	return 0;
}

static void keep_alive_unlocked(struct rig_station *st, struct rigi_capture_slot *s)
{
	pthread_mutex_unlock(&st->lock);
	keep_alive(s);
	pthread_mutex_lock(&st->lock);
}

static uint32_t pending_nests(const struct rig_station *st)
{
	uint32_t m = 0;
	for (size_t i = 0; i < st->n_pending; i++)
		m |= 1u << st->pending[i]->req->nest;
	return m;
}

static int64_t station_ns(const struct rig_station *st, double station_s)
{
	int64_t ns = (int64_t)(station_s * 1e9 / st->time_scale);
	return ns > WINDOW_MIN_NS ? ns : WINDOW_MIN_NS;
}

/* The leader waits, keeping its pen alive, for the other running nests to
 * ask too: any of them for a short window of station time; the nests the
 * last capture served (a run-in's back-to-back captures, a sweep's next
 * point: they come back after analysing theirs) for up to a quarter of the
 * capture's length, since missing the capture costs them a whole one. */
static void gather(struct rig_station *st, struct rigi_capture_slot *leader)
{
	double capture_s = (double)leader->req->samples / st->fx->daq.sample_rate_hz;
	int64_t start = rig_clock_ns();
	int64_t end_any = start + station_ns(st, WINDOW_STATION_S);
	int64_t end_expected = start + station_ns(st, fmax(WINDOW_STATION_S,
							     WINDOW_EXPECTED_FRACTION * capture_s));
	while (!rig_interrupted()) {
		uint32_t asked = pending_nests(st), expected = st->last_batch & st->active;
		int64_t now = rig_clock_ns(), end;
		if ((asked & st->active) == st->active)
			return;
		end = (asked & expected) == expected ? end_any : end_expected;
		if (now >= end)
			return;
		struct timespec until = deadline_in(end - now < WAIT_SLICE_NS ? end - now
									: WAIT_SLICE_NS);
		pthread_cond_timedwait(&st->cond, &st->lock, &until);
		keep_alive_unlocked(st, leader); /* cheap: it sends only when due */
	}
}

/* Take the queued requests that fit into one capture (the leader first). */
static void take_batch(struct rig_station *st, uint32_t capacity, struct batch *b)
{
	size_t n = st->fx->daq.sharing == RIG_DAQ_TURNS ? 1 : st->n_pending;
	*b = (struct batch){0};
	for (size_t i = 0; i < n; i++) {
		struct rigi_capture_slot *s = st->pending[i];
		uint16_t mask = (uint16_t)(b->mask | s->req->mask);
		uint32_t samples = b->samples > s->req->samples ? b->samples : s->req->samples;
		if (b->n && (uint64_t)samples * popcount16(mask) > capacity)
			continue;
		b->member[b->n++] = s;
		b->mask = mask;
		b->samples = samples;
		s->in_batch = 1;
	}
	/* The queue keeps the others, in their order. */
	size_t kept = 0;
	st->last_batch = 0;
	for (size_t i = 0; i < st->n_pending; i++) {
		if (st->pending[i]->in_batch)
			st->last_batch |= 1u << st->pending[i]->req->nest;
		else
			st->pending[kept++] = st->pending[i];
	}
	st->n_pending = kept;
}

/* Copy member @p s's channels out of the batch's interleaved buffer. */
static void hand_out(const struct batch *b, const int16_t *all, struct rigi_capture_slot *s)
{
	unsigned n_all = popcount16(b->mask), n_own = popcount16(s->req->mask);
	unsigned pos[16], k = 0, at = 0;
	for (unsigned c = 0; c < 16; c++) {
		if (!(b->mask & (1u << c)))
			continue;
		if (s->req->mask & (1u << c))
			pos[k++] = at;
		at++;
	}
	for (uint32_t i = 0; i < s->req->samples; i++)
		for (unsigned j = 0; j < n_own; j++)
			s->req->buf[(size_t)i * n_own + j] = all[(size_t)i * n_all + pos[j]];
}

/* Configure, arm, wait and read one capture (the lock not held). */
static int run_capture(struct rig_station *st, const struct batch *b,
		       struct rigi_capture_slot *leader, int16_t **all)
{
	unsigned n_all = popcount16(b->mask);
	struct rig_daq_config cfg = {
		.rate_hz = st->fx->daq.sample_rate_hz,
		.samples_per_channel = b->samples,
		.channel_mask = b->mask,
		.trigger = RIG_DAQ_TRIGGER_IMMEDIATE,
	};
	int timeout_ms = (int)(b->samples * 1000.0 / cfg.rate_hz / st->time_scale) + 3000;
	size_t got = 0;
	int ret;

	*all = malloc((size_t)b->samples * n_all * sizeof(int16_t));
	if (!*all)
		return rigi_fail(RIG_ERR_NOMEM, "no memory for a capture of %u samples",
				 b->samples * n_all);
	ret = rig_daq_configure(st->daq, &cfg);
	if (ret == 0)
		ret = rig_daq_arm(st->daq);
	if (ret == 0)
		ret = rig_daq_collect_idle(st->daq, *all, (size_t)b->samples * n_all, &got,
					   timeout_ms, keep_alive, leader);
	if (ret < 0)
		rig_daq_abort(st->daq); /* free for the next capture; the first error is kept */
	if (ret == 0 && got != (size_t)b->samples * n_all)
		ret = rigi_fail(RIG_ERR_PROTOCOL, "DAQ returned %zu samples, expected %u", got,
				b->samples * n_all);
	return ret;
}

/* Lead one capture: called and returning with the lock held. */
static void lead(struct rig_station *st, struct rigi_capture_slot *me)
{
	const struct rig_daq_info *di = rig_daq_get_info(st->daq);
	const atomic_int *own_stop = rigi_thread_cancel();
	struct batch b = {0};
	int16_t *all = NULL;
	int ret;

	st->busy = 1;
	if (st->fx->daq.sharing == RIG_DAQ_SHARED)
		gather(st, me);
	take_batch(st, di->capacity, &b);
	st->captures++;
	pthread_mutex_unlock(&st->lock);
	/* The capture is the batch's, not the leader's: stopping the leader's
	 * nest alone must not abort the others' data (it stops after it). */
	rigi_set_thread_cancel(NULL);
	ret = run_capture(st, &b, me, &all);
	rigi_set_thread_cancel(own_stop);
	for (size_t i = 0; i < b.n; i++) {
		struct rigi_capture_slot *s = b.member[i];
		s->ret = ret;
		if (ret < 0)
			snprintf(s->detail, sizeof(s->detail), "%s", rig_last_error());
		else
			hand_out(&b, all, s);
	}
	free(all);
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < b.n; i++)
		b.member[i]->done = 1;
	st->busy = 0;
	pthread_cond_broadcast(&st->cond);
}

/* The member's result, in its own thread's error detail. */
static int result(const struct rigi_capture_slot *s)
{
	if (s->ret < 0)
		return rigi_fail(s->ret, "%s", s->detail);
	if (s->keep_err < 0)
		return rigi_fail(s->keep_err, "%s", s->keep_detail);
	return 0;
}

int rigi_station_capture(struct rig_station *st, const struct rigi_capture_req *req)
{
	struct rigi_capture_slot me = {.req = req};
	int ret = rigi_station_daq_open(st);
	if (ret < 0)
		return ret;
	if (popcount16(req->mask) == 0 || req->samples == 0)
		return rigi_fail(RIG_ERR_ARG, "a capture of no channel or no sample");
	pthread_mutex_lock(&st->lock);
	st->pending[st->n_pending++] = &me; /* one request per nest at most */
	st->requests++;
	pthread_cond_broadcast(&st->cond);
	while (!me.done) {
		if (!me.in_batch && rig_interrupted()) {
			remove_pending(st, &me);
			pthread_cond_broadcast(&st->cond);
			pthread_mutex_unlock(&st->lock);
			return rigi_fail(RIG_ERR_INTERRUPTED, "%s", rig_interrupt_cause());
		}
		if (!me.in_batch && !st->busy && st->pending[0] == &me) {
			lead(st, &me);
			continue;
		}
		struct timespec until = deadline_in(WAIT_SLICE_NS);
		pthread_cond_timedwait(&st->cond, &st->lock, &until);
		keep_alive_unlocked(st, &me); /* in a batch too: its motor may run */
	}
	pthread_mutex_unlock(&st->lock);
	return result(&me);
}

void rigi_station_nest_active(struct rig_station *st, unsigned nest, int active)
{
	pthread_mutex_lock(&st->lock);
	if (active)
		st->active |= 1u << nest;
	else
		st->active &= ~(1u << nest);
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}
