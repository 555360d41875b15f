/* The simulated station's instruments (docs/sim-station.md): one Modbus
 * server (TCP, and optionally RTU on a tty) serving the DAQ (unit 1) and,
 * per nest n, a displacement sensor (unit 10 + 2n) and a force sensor
 * (unit 11 + 2n), exactly per docs/registers.md. Physics comes from each
 * nest's pen (pen.h); time from the simulated clock; randomness from PCG32
 * streams of the station seed. Faults can be injected for tests and demos.
 * Thread-safe: every function may be called from any thread. */
#ifndef SIM_STATION_H
#define SIM_STATION_H

#include <stdint.h>

#include "pen.h"
#include "simclock.h"

#define SIM_STATION_MAX_NESTS 8
#define SIM_STATION_UNIT_DAQ 1
#define SIM_STATION_UNIT_DISPLACEMENT(nest) (10 + 2 * (nest))
#define SIM_STATION_UNIT_FORCE(nest) (11 + 2 * (nest))

/* An empty nest (no pen): the displacement sensor sees the needle tips at
 * rest this far behind the cartridge face, and no force. */
#define SIM_STATION_REST_UM (-2000.0)

struct sim_station_config {
	unsigned n_nests;              /* 1 .. SIM_STATION_MAX_NESTS */
	uint64_t seed;                 /* run seed: serials, offsets, drift, noise */
	const struct sim_clock *clock; /* borrowed; NULL: own clock at speed 1 */
	const char *host;              /* TCP listen address; NULL: "127.0.0.1" */
	uint16_t port;                 /* 0: ephemeral (see sim_station_port) */
	const char *rtu_path;          /* also serve Modbus RTU on this tty; or NULL */
	int rtu_fd;                    /* or on this open tty fd (> 0, e.g. a pty
					* master; borrowed); 0: none */
	int rtu_baud;                  /* 0: 115200 */
	int lockstep_budget_ms;        /* lockstep: real time of physics one request
					* may carry (0: SIM_STATION_LOCKSTEP_BUDGET_MS,
					* < 0: one slice per request) */
};

/* A lockstep capture runs in slices of simulated time; one request carries
 * slices until the capture is over or this much real time went into them. */
#define SIM_STATION_LOCKSTEP_SLICE_S 0.1
#define SIM_STATION_LOCKSTEP_BUDGET_MS 20

enum sim_station_fault {
	SIM_STATION_FAULT_CLEAR = 0,        /* clear every injected fault */
	SIM_STATION_FAULT_LINK_DROP,        /* value: seconds (real time) of dropped
					     * and refused links */
	SIM_STATION_FAULT_LATE_REPLY,       /* value: ms (real time) every reply is
					     * late by; 0 clears */
	SIM_STATION_FAULT_DAQ_OVERRUN,      /* the capture in progress, else the
					     * next, ends in FAULT + OVERRUN */
	SIM_STATION_FAULT_DEAD_DISPLACEMENT,/* nest; value 1 dead, 0 revived */
	SIM_STATION_FAULT_DEAD_FORCE,
	SIM_STATION_FAULT_NOISY_DISPLACEMENT,/* nest; value 1 noise x20, 0 normal */
	SIM_STATION_FAULT_NOISY_FORCE,
};

/** Name as used on command lines and control sockets ("link-drop",
 *  "late-reply", "daq-overrun", "dead-displacement", "dead-force",
 *  "noisy-displacement", "noisy-force", "clear"); NULL if invalid. */
const char *sim_station_fault_name(enum sim_station_fault fault);

/** Parse a fault name; returns the fault or -1. */
int sim_station_fault_parse(const char *name);

struct sim_station;

/** Create a station (not serving yet). @param out receives it
 *  (sim_station_free). @return 0, RIG_ERR_ARG or RIG_ERR_NOMEM. */
int sim_station_new(const struct sim_station_config *cfg, struct sim_station **out);

/** Put @p pen (borrowed; NULL empties the nest) in nest @p nest. The pen
 *  must outlive its place in the station: set NULL before freeing it.
 *  @return 0 or RIG_ERR_ARG (no such nest). */
int sim_station_set_pen(struct sim_station *st, unsigned nest, struct sim_pen *pen);

/** Start serving Modbus (listener bound, thread running).
 *  @return 0, RIG_ERR_STATE (already serving), RIG_ERR_BUSY (port in use),
 *  RIG_ERR_IO, RIG_ERR_NOT_FOUND / RIG_ERR_PERMISSION (tty). */
int sim_station_start(struct sim_station *st);

/** The bound TCP port (valid after sim_station_start). */
uint16_t sim_station_port(struct sim_station *st);

/** Inject @p fault (see enum sim_station_fault for @p nest and @p value).
 *  @return 0, RIG_ERR_ARG (unknown fault, nest or value) or RIG_ERR_STATE
 *  (link faults need a running server). */
int sim_station_inject(struct sim_station *st, enum sim_station_fault fault, unsigned nest,
		       double value);

/** Stop serving (links closed, thread joined); instruments keep their
 *  state and sim_station_start may serve again. Idempotent. */
void sim_station_stop(struct sim_station *st);

/** Stop and free. NULL is a no-op. */
void sim_station_free(struct sim_station *st);

#endif
