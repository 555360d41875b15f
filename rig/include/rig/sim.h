/* The simulated station (library rigsim): one Modbus TCP server serving the
 * DAQ and every nest's sensors, one DUT endpoint (Unix socket) per nest
 * running the pen firmware model, physics with ground truth, and a control
 * channel for fault injection and ground-truth queries (docs/sim.md).
 * Used by `rig sim`, by tests and (later) by `rig demo`. */
#ifndef RIG_SIM_H
#define RIG_SIM_H

#include <stddef.h>
#include <stdint.h>

#define RIG_SIM_MAX_NESTS 8

struct rig_sim_config {
	unsigned n_nests;         /* 1..RIG_SIM_MAX_NESTS (0 means 1) */
	uint64_t seed;            /* run seed: unit variation and noise */
	double speed;             /* simulated seconds per real second (0 means 1) */
	int lockstep;             /* non-zero: the clock ignores real time and moves only
				     by DAQ captures (reproducible bytes, fastest) */
	const char *state_dir;    /* pen flash, key, sockets; NULL: rig_sim_default_state_dir() */
	const char *host;         /* Modbus TCP bind address; NULL: "127.0.0.1" */
	uint16_t port;            /* Modbus TCP port; 0: ephemeral (tests) */
	const char *key_path;     /* line key; NULL: <state_dir>/line.key, created if missing */
	unsigned serial_base;     /* nest n holds pen MN1-<serial_base + n> (6 digits) */
	const char *failures[RIG_SIM_MAX_NESTS]; /* failure-mode name per nest, or NULL */
	int control_socket;       /* non-zero: serve the control language on <state_dir>/control.sock */
};

struct rig_sim;

/** Start a simulated station (threads; returns once it serves). On error
 *  returns a negative rig_err and rig_last_error() says why. The caller
 *  owns *out and frees it with rig_sim_stop(). */
int rig_sim_start(const struct rig_sim_config *cfg, struct rig_sim **out);

/** Stop every thread, close sockets, free. NULL is a no-op. */
void rig_sim_stop(struct rig_sim *sim);

/** Run one line of the control language (docs/sim.md), e.g.
 *  "truth 0 service 2000 500" or "fault modbus-late 300", writing the reply
 *  line (starting "ok" or "error") into @p reply. Returns 0 when the reply is
 *  "ok ...", RIG_ERR_ARG otherwise. */
int rig_sim_control(struct rig_sim *sim, const char *line, char *reply, size_t cap);

/** Non-zero once a "stop" control command arrived. */
int rig_sim_stop_requested(const struct rig_sim *sim);

/** URIs of the station: the Modbus server of the instruments (with the
 *  DAQ's unit id), and nest @p nest's pen, displacement and force sensor.
 *  Static storage inside @p sim; NULL for a nest that does not exist. */
const char *rig_sim_daq_uri(const struct rig_sim *sim);
const char *rig_sim_dut_uri(const struct rig_sim *sim, unsigned nest);
const char *rig_sim_displacement_uri(const struct rig_sim *sim, unsigned nest);
const char *rig_sim_force_uri(const struct rig_sim *sim, unsigned nest);
/** Path of the control socket ("" when not served). */
const char *rig_sim_control_path(const struct rig_sim *sim);
/** The Modbus TCP port actually bound. */
uint16_t rig_sim_port(const struct rig_sim *sim);

/** Default state directory: $RIG_SIM_STATE_DIR, else /tmp/rig-sim-<uid>. */
const char *rig_sim_default_state_dir(void);

/** Send one control line to a running simulator's control socket at
 *  @p path and read the reply (used by tests and `rig sim ctl`). */
int rig_sim_control_remote(const char *path, const char *line, char *reply, size_t cap);

#endif
