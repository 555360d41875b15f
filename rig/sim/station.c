/* The simulated station's instruments behind one Modbus server: routes each
 * request by unit id to the DAQ or a nest's sensor, feeds them the true
 * signals of the nest's pen at the simulated time, and injects faults. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rig/clock.h>
#include <rig/error.h>

#include "core/core.h"
#include "daqsim.h"
#include "instr/modbus.h"
#include "sensor.h"
#include "station.h"

#define DOMAIN "sim"
#define MAX_LINK_DROP_S 3600.0
#define MAX_LATE_MS 60000.0

struct sim_nest {
	struct sim_pen *pen; /* borrowed, may be NULL */
	struct sim_sensor disp;
	struct sim_sensor force;
};

struct sim_station {
	unsigned n_nests;
	struct sim_clock own_clock;
	const struct sim_clock *clock;
	char host[64];
	uint16_t port;
	char *rtu_path;
	int rtu_fd;
	int rtu_baud;
	pthread_mutex_t lock; /* everything below; held by every callback */
	struct sim_daq daq;
	struct sim_nest nests[SIM_STATION_MAX_NESTS];
	struct rigi_mbsrv *srv;
	int64_t lockstep_budget_ns; /* < 0: one slice per request */
};

static const char *const fault_names[] = {
	[SIM_STATION_FAULT_CLEAR] = "clear",
	[SIM_STATION_FAULT_LINK_DROP] = "link-drop",
	[SIM_STATION_FAULT_LATE_REPLY] = "late-reply",
	[SIM_STATION_FAULT_DAQ_OVERRUN] = "daq-overrun",
	[SIM_STATION_FAULT_DEAD_DISPLACEMENT] = "dead-displacement",
	[SIM_STATION_FAULT_DEAD_FORCE] = "dead-force",
	[SIM_STATION_FAULT_NOISY_DISPLACEMENT] = "noisy-displacement",
	[SIM_STATION_FAULT_NOISY_FORCE] = "noisy-force",
};

#define N_FAULTS (sizeof(fault_names) / sizeof(fault_names[0]))

const char *sim_station_fault_name(enum sim_station_fault fault)
{
	return (unsigned)fault < N_FAULTS ? fault_names[fault] : NULL;
}

int sim_station_fault_parse(const char *name)
{
	for (size_t i = 0; i < N_FAULTS; i++)
		if (name && !strcmp(name, fault_names[i]))
			return (int)i;
	return -1;
}

/* True tip protrusion and phantom force of a nest at simulated time @p t. */
static void nest_truth(struct sim_nest *ns, double t, double *tip_um, double *force_mn)
{
	if (ns->pen) {
		sim_pen_waveform(ns->pen, t, 0.0, 1, tip_um, force_mn);
	} else {
		*tip_um = SIM_STATION_REST_UM;
		*force_mn = 0.0;
	}
}

/* Called by the DAQ (station locked) as a capture's samples fall due. */
static void acquire(void *user, unsigned nest, double t0, double dt, size_t first, size_t n,
		    unsigned capture, double *disp_um, double *force_mn)
{
	struct sim_station *st = user;
	struct sim_nest *ns = &st->nests[nest];

	if (first == 0) {
		sim_sensor_capture_begin(&ns->disp, t0, capture);
		sim_sensor_capture_begin(&ns->force, t0, capture);
	}
	if (ns->pen) {
		sim_pen_waveform(ns->pen, t0 + (double)first * dt, dt, n, disp_um, force_mn);
	} else {
		for (size_t i = 0; i < n; i++) {
			disp_um[i] = SIM_STATION_REST_UM;
			force_mn[i] = 0.0;
		}
	}
	sim_sensor_analog(&ns->disp, disp_um, n);
	sim_sensor_analog(&ns->force, force_mn, n);
}

static struct sim_sensor *find_sensor(struct sim_station *st, int unit, struct sim_nest **ns)
{
	int idx = unit - SIM_STATION_UNIT_DISPLACEMENT(0);
	if (idx < 0 || (unsigned)idx / 2 >= st->n_nests)
		return NULL;
	*ns = &st->nests[idx / 2];
	return idx % 2 ? &(*ns)->force : &(*ns)->disp;
}

enum op { OP_READ_INPUT, OP_READ_HOLDING, OP_WRITE };

static int serve_sensor(struct sim_nest *ns, struct sim_sensor *s, enum op op, double now,
			uint16_t addr, uint16_t n, uint16_t *regs)
{
	double tip, force, truth;

	if (op == OP_READ_HOLDING)
		return sim_sensor_read_holding(s, addr, n, regs);
	nest_truth(ns, now, &tip, &force);
	truth = s->kind == SIM_SENSOR_FORCE ? force : tip;
	if (op == OP_READ_INPUT)
		return sim_sensor_read_input(s, now, truth, addr, n, regs);
	return sim_sensor_write(s, now, truth, addr, n, regs);
}

/* A lockstep clock does not wait for real time: a capture that started runs
 * on at once, slice by slice, until it is over or the request has carried
 * its budget of real time; the next request takes it on. Computing a whole
 * capture's physics inside one request (40,000 samples a channel for a 2 s
 * capture) made that reply as late as the host was loaded: one ARM reply
 * took 193 ms of the rig's 200 ms Modbus timeout on a busy host, one cause
 * of healthy units' ERROR in run-in (issue 11). A real DAQ answers while it
 * captures. The samples do not depend on the slicing: each pen and sensor
 * is asked in time order either way. */
static void lockstep_run(struct sim_station *st)
{
	int64_t t0 = rig_clock_ns();
	double end;

	while ((end = sim_daq_capture_end(&st->daq)) >= 0) {
		double next = sim_clock_now(st->clock) + SIM_STATION_LOCKSTEP_SLICE_S;
		sim_clock_advance_to(st->clock, next < end ? next : end + 1e-6);
		sim_daq_advance(&st->daq, sim_clock_now(st->clock));
		if (st->lockstep_budget_ns < 0 || rig_clock_ns() - t0 >= st->lockstep_budget_ns)
			break;
	}
}

static int serve(struct sim_station *st, enum op op, int unit, uint16_t addr, uint16_t n,
		 uint16_t *regs)
{
	struct sim_sensor *s;
	struct sim_nest *ns;
	double now;
	int ret = RIGI_MBSRV_NO_UNIT;

	pthread_mutex_lock(&st->lock);
	now = sim_clock_now(st->clock);
	/* Capture samples first, so each pen is asked in time order. */
	sim_daq_advance(&st->daq, now);
	if (unit == SIM_STATION_UNIT_DAQ) {
		ret = op == OP_READ_INPUT     ? sim_daq_read_input(&st->daq, now, addr, n, regs)
		      : op == OP_READ_HOLDING ? sim_daq_read_holding(&st->daq, now, addr, n, regs)
					      : sim_daq_write(&st->daq, now, addr, n, regs);
	} else if ((s = find_sensor(st, unit, &ns))) {
		ret = serve_sensor(ns, s, op, now, addr, n, regs);
	}
	if (st->clock->lockstep)
		lockstep_run(st);
	pthread_mutex_unlock(&st->lock);
	return ret;
}

static int cb_read_input(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst)
{
	return serve(user, OP_READ_INPUT, unit, addr, n, dst);
}

static int cb_read_holding(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst)
{
	return serve(user, OP_READ_HOLDING, unit, addr, n, dst);
}

static int cb_write_holding(void *user, int unit, uint16_t addr, uint16_t n,
			    const uint16_t *src)
{
	uint16_t regs[RIGI_MB_MAX_WRITE];
	memcpy(regs, src, n * sizeof(uint16_t));
	return serve(user, OP_WRITE, unit, addr, n, regs);
}

static const struct rigi_mbsrv_ops server_ops = {
	.read_input = cb_read_input,
	.read_holding = cb_read_holding,
	.write_holding = cb_write_holding,
};

int sim_station_new(const struct sim_station_config *cfg, struct sim_station **out)
{
	struct sim_station *st;

	*out = NULL;
	if (!cfg || cfg->n_nests < 1 || cfg->n_nests > SIM_STATION_MAX_NESTS)
		return rigi_fail(RIG_ERR_ARG, "simulated station: %u nests; 1..%d supported",
				 cfg ? cfg->n_nests : 0, SIM_STATION_MAX_NESTS);
	if (cfg->host && strlen(cfg->host) >= sizeof(st->host))
		return rigi_fail(RIG_ERR_ARG, "simulated station: host name too long");
	st = calloc(1, sizeof(*st));
	if (!st || (cfg->rtu_path && !(st->rtu_path = strdup(cfg->rtu_path)))) {
		free(st);
		return rigi_fail(RIG_ERR_NOMEM, "simulated station: out of memory");
	}
	st->n_nests = cfg->n_nests;
	sim_clock_init(&st->own_clock, 1.0);
	st->clock = cfg->clock ? cfg->clock : &st->own_clock;
	memcpy(st->host, cfg->host ? cfg->host : "127.0.0.1",
	       strlen(cfg->host ? cfg->host : "127.0.0.1") + 1);
	st->port = cfg->port;
	st->rtu_fd = cfg->rtu_fd > 0 ? cfg->rtu_fd : -1;
	st->rtu_baud = cfg->rtu_baud;
	st->lockstep_budget_ns = cfg->lockstep_budget_ms < 0 ? -1
				 : (int64_t)(cfg->lockstep_budget_ms ? cfg->lockstep_budget_ms
								     : SIM_STATION_LOCKSTEP_BUDGET_MS) *
					   1000000;
	pthread_mutex_init(&st->lock, NULL);
	sim_daq_init(&st->daq, cfg->seed, 2 * cfg->n_nests, acquire, st);
	for (unsigned i = 0; i < cfg->n_nests; i++) {
		sim_sensor_init(&st->nests[i].disp, SIM_SENSOR_DISPLACEMENT, cfg->seed, i);
		sim_sensor_init(&st->nests[i].force, SIM_SENSOR_FORCE, cfg->seed, i);
	}
	*out = st;
	return 0;
}

int sim_station_set_pen(struct sim_station *st, unsigned nest, struct sim_pen *pen)
{
	if (nest >= st->n_nests)
		return rigi_fail(RIG_ERR_ARG, "simulated station: no nest %u (it has %u)", nest,
				 st->n_nests);
	pthread_mutex_lock(&st->lock);
	st->nests[nest].pen = pen;
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int sim_station_start(struct sim_station *st)
{
	struct rigi_mbsrv_config sc = {
		.host = st->host,
		.rtu_path = st->rtu_path,
		.rtu_fd = st->rtu_fd,
		.rtu_baud = st->rtu_baud,
		.ops = &server_ops,
		.user = st,
	};
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	if (st->srv) {
		ret = rigi_fail(RIG_ERR_STATE, "simulated station: already serving on port %u",
				st->port);
	} else {
		sc.port = st->port;
		ret = rigi_mbsrv_start(&sc, &st->srv);
		if (ret == 0) {
			st->port = rigi_mbsrv_port(st->srv); /* a restart keeps the port */
			RIGI_INFO(DOMAIN, "station: Modbus on %s:%u, %u nests%s%s", st->host,
				  st->port, st->n_nests, st->rtu_path ? ", RTU on " : "",
				  st->rtu_path ? st->rtu_path : "");
		}
	}
	pthread_mutex_unlock(&st->lock);
	return ret;
}

uint16_t sim_station_port(struct sim_station *st)
{
	uint16_t port;
	pthread_mutex_lock(&st->lock);
	port = st->port;
	pthread_mutex_unlock(&st->lock);
	return port;
}

/* Kill / revive or make noisy / normal one sensor (station locked). */
static int inject_sensor(struct sim_station *st, enum sim_station_fault fault, unsigned nest,
			 bool on)
{
	bool force = fault == SIM_STATION_FAULT_DEAD_FORCE || fault == SIM_STATION_FAULT_NOISY_FORCE;
	struct sim_nest *ns;
	double now, tip, f;

	if (nest >= st->n_nests)
		return rigi_fail(RIG_ERR_ARG, "simulated station: no nest %u (it has %u)", nest,
				 st->n_nests);
	ns = &st->nests[nest];
	if (fault == SIM_STATION_FAULT_NOISY_DISPLACEMENT || fault == SIM_STATION_FAULT_NOISY_FORCE) {
		sim_sensor_set_noisy(force ? &ns->force : &ns->disp, on);
		return 0;
	}
	now = sim_clock_now(st->clock);
	sim_daq_advance(&st->daq, now);
	nest_truth(ns, now, &tip, &f);
	sim_sensor_set_dead(force ? &ns->force : &ns->disp, on, now, force ? f : tip);
	return 0;
}

static void clear_faults(struct sim_station *st)
{
	sim_daq_inject_overrun(&st->daq, false);
	for (unsigned i = 0; i < st->n_nests; i++) {
		sim_sensor_set_dead(&st->nests[i].disp, false, 0, 0);
		sim_sensor_set_dead(&st->nests[i].force, false, 0, 0);
		sim_sensor_set_noisy(&st->nests[i].disp, false);
		sim_sensor_set_noisy(&st->nests[i].force, false);
	}
	if (st->srv) {
		rigi_mbsrv_set_reply_delay(st->srv, 0);
		rigi_mbsrv_drop_links(st->srv, 0);
	}
}

static int inject_link(struct sim_station *st, enum sim_station_fault fault, double value)
{
	if (!st->srv)
		return rigi_fail(RIG_ERR_STATE, "simulated station: not serving; start it first");
	if (fault == SIM_STATION_FAULT_LINK_DROP) {
		if (!(value > 0 && value <= MAX_LINK_DROP_S))
			return rigi_fail(RIG_ERR_ARG, "link drop of %g s: expected 0 < seconds <= %g",
					 value, MAX_LINK_DROP_S);
		rigi_mbsrv_drop_links(st->srv, value);
		return 0;
	}
	if (!(value >= 0 && value <= MAX_LATE_MS))
		return rigi_fail(RIG_ERR_ARG, "late replies of %g ms: expected 0 .. %g ms", value,
				 MAX_LATE_MS);
	rigi_mbsrv_set_reply_delay(st->srv, (int)value);
	return 0;
}

int sim_station_inject(struct sim_station *st, enum sim_station_fault fault, unsigned nest,
		       double value)
{
	int ret = 0;

	pthread_mutex_lock(&st->lock);
	switch (fault) {
	case SIM_STATION_FAULT_CLEAR:
		clear_faults(st);
		break;
	case SIM_STATION_FAULT_LINK_DROP:
	case SIM_STATION_FAULT_LATE_REPLY:
		ret = inject_link(st, fault, value);
		break;
	case SIM_STATION_FAULT_DAQ_OVERRUN:
		sim_daq_inject_overrun(&st->daq, true);
		break;
	case SIM_STATION_FAULT_DEAD_DISPLACEMENT:
	case SIM_STATION_FAULT_DEAD_FORCE:
	case SIM_STATION_FAULT_NOISY_DISPLACEMENT:
	case SIM_STATION_FAULT_NOISY_FORCE:
		ret = inject_sensor(st, fault, nest, value != 0);
		break;
	default:
		ret = rigi_fail(RIG_ERR_ARG, "simulated station: unknown fault %d", (int)fault);
	}
	pthread_mutex_unlock(&st->lock);
	if (ret == 0)
		RIGI_INFO(DOMAIN, "station: fault %s nest %u value %g", sim_station_fault_name(fault),
			  nest, value);
	return ret;
}

void sim_station_stop(struct sim_station *st)
{
	struct rigi_mbsrv *srv;

	pthread_mutex_lock(&st->lock);
	srv = st->srv;
	st->srv = NULL;
	pthread_mutex_unlock(&st->lock);
	/* Outside the lock: the server thread may be waiting for it. */
	rigi_mbsrv_free(srv);
}

void sim_station_free(struct sim_station *st)
{
	if (!st)
		return;
	sim_station_stop(st);
	sim_daq_cleanup(&st->daq);
	pthread_mutex_destroy(&st->lock);
	free(st->rtu_path);
	free(st);
}
