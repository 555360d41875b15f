/* Internal state of a running simulated station (struct rig_sim), shared by
 * sim.c (lifecycle, nests) and control.c (the control language). */
#ifndef SIM_SIM_INTERNAL_H
#define SIM_SIM_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <rig/sim.h>

#include "dut_endpoint.h"
#include "pen.h"
#include "simclock.h"
#include "station.h"

struct sim_nest {
	struct sim_pen *pen;               /* NULL: empty nest */
	struct sim_dut_endpoint *endpoint;
	char dut_uri[320];
	char disp_uri[128];
	char force_uri[128];
};

struct rig_sim {
	struct rig_sim_config cfg;
	char state_dir[256];
	char control_path[300];
	char daq_uri[128];
	uint8_t line_key[32];
	struct sim_clock clock;
	struct sim_station *station;
	struct sim_nest nests[RIG_SIM_MAX_NESTS];
	pthread_mutex_t lock;              /* serialises control commands */
	pthread_t control_thread;
	int control_fd;                    /* listening socket, -1 when none */
	atomic_int control_running;        /* read by the control thread */
	atomic_int stop_requested;         /* set by the control thread */
};

/** Replace nest @p nest's pen by a new one (serial, failure name or NULL).
 *  Called with sim->lock held. */
int rigi_sim_load_pen(struct rig_sim *sim, unsigned nest, const char *serial,
		      const char *failure);

/** Start / stop the control-socket server thread. */
/* Longest control line (without its newline); longer ones are refused. */
#define RIG_SIM_CONTROL_LINE_MAX 511

int rigi_sim_control_serve(struct rig_sim *sim);
void rigi_sim_control_shutdown(struct rig_sim *sim);

#endif
