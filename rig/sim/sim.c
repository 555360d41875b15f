/* Lifecycle of a simulated station: state directory, line key, one pen and
 * one DUT endpoint per nest, the Modbus station, and the control socket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rig/sim.h>

#include "core/core.h"
#include "sim_internal.h"

const char *rig_sim_default_state_dir(void)
{
	static char dir[256];
	const char *env = getenv("RIG_SIM_STATE_DIR");
	if (env && *env)
		return env;
	snprintf(dir, sizeof(dir), "/tmp/rig-sim-%u", (unsigned)getuid());
	return dir;
}

static int make_state_dir(const char *dir)
{
	struct stat st;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return rigi_fail(RIG_ERR_IO, "cannot create state directory %s: %s", dir,
				 strerror(errno));
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return rigi_fail(RIG_ERR_IO, "state directory %s is not a directory", dir);
	return 0;
}

/* The line key: loaded from the configured file, or created on first use
 * in the state directory (the simulated line's provisioning step). */
static int load_line_key(struct rig_sim *sim)
{
	char path[320];
	const char *key_path = sim->cfg.key_path;
	if (!key_path) {
		snprintf(path, sizeof(path), "%s/line.key", sim->state_dir);
		if (access(path, F_OK) != 0) {
			int ret = rigi_key_create(path);
			if (ret < 0)
				return ret;
			RIGI_INFO("sim", "created line key %s", path);
		}
		key_path = path;
	}
	return rigi_key_load(key_path, sim->line_key);
}

int rigi_sim_load_pen(struct rig_sim *sim, unsigned nest, const char *serial,
		      const char *failure)
{
	struct sim_nest *n = &sim->nests[nest];
	struct sim_pen_config pc = {0};
	struct sim_pen *pen = NULL;
	int f = failure ? sim_failure_parse(failure) : SIM_FAILURE_NONE;

	if (f < 0)
		return rigi_fail(RIG_ERR_ARG, "unknown failure mode '%s'", failure);
	if (serial && (strlen(serial) == 0 || strlen(serial) > 16))
		return rigi_fail(RIG_ERR_ARG, "serial '%s' must be 1..16 characters", serial);
	/* Take the old pen out of the nest first (its flash file is then free,
	 * so the same serial can come back, e.g. with a failure mode). */
	if (sim->station)
		sim_station_set_pen(sim->station, nest, NULL);
	if (n->endpoint)
		sim_dut_endpoint_set_pen(n->endpoint, NULL);
	sim_pen_free(n->pen);
	n->pen = NULL;
	if (!serial)
		return 0;
	pc.seed = sim->cfg.seed;
	snprintf(pc.serial, sizeof(pc.serial), "%s", serial);
	pc.failure = (enum sim_failure)f;
	pc.state_dir = sim->state_dir;
	memcpy(pc.line_key, sim->line_key, sizeof(pc.line_key));
	pc.clock = &sim->clock;
	pen = sim_pen_new(&pc);
	rigi_wipe(pc.line_key, sizeof(pc.line_key));
	if (!pen)
		return RIG_ERR_DEVICE;
	if (sim->station)
		sim_station_set_pen(sim->station, nest, pen);
	if (n->endpoint)
		sim_dut_endpoint_set_pen(n->endpoint, pen);
	n->pen = pen;
	RIGI_INFO("sim", "nest %u: %s%s%s", nest, serial ? serial : "empty",
		  f ? " with failure " : "", f ? failure : "");
	return 0;
}

static int start_nest(struct rig_sim *sim, unsigned i)
{
	struct sim_nest *n = &sim->nests[i];
	char serial[32];
	char path[300];
	int ret;

	snprintf(path, sizeof(path), "%s/nest%u.sock", sim->state_dir, i);
	snprintf(n->dut_uri, sizeof(n->dut_uri), "unix://%s", path);
	snprintf(n->disp_uri, sizeof(n->disp_uri), "modbus-tcp://%s:%u?unit=%u",
		 sim->cfg.host, (unsigned)sim_station_port(sim->station), 10 + 2 * i);
	snprintf(n->force_uri, sizeof(n->force_uri), "modbus-tcp://%s:%u?unit=%u",
		 sim->cfg.host, (unsigned)sim_station_port(sim->station), 11 + 2 * i);
	n->endpoint = sim_dut_endpoint_new(path);
	if (!n->endpoint)
		return RIG_ERR_IO;
	snprintf(serial, sizeof(serial), "MN1-%06u", (sim->cfg.serial_base + i) % 1000000u);
	ret = rigi_sim_load_pen(sim, i, serial, sim->cfg.failures[i]);
	if (ret < 0)
		return ret;
	return sim_dut_endpoint_start(n->endpoint);
}

static int start_station(struct rig_sim *sim)
{
	struct sim_station_config sc = {
		.n_nests = sim->cfg.n_nests,
		.seed = sim->cfg.seed,
		.clock = &sim->clock,
		.host = sim->cfg.host,
		.port = sim->cfg.port,
	};
	int ret = sim_station_new(&sc, &sim->station);
	if (ret < 0)
		return ret;
	ret = sim_station_start(sim->station);
	if (ret < 0)
		return ret;
	snprintf(sim->daq_uri, sizeof(sim->daq_uri), "modbus-tcp://%s:%u?unit=1",
		 sim->cfg.host, (unsigned)sim_station_port(sim->station));
	return 0;
}

static int normalise_config(struct rig_sim *sim, const struct rig_sim_config *cfg)
{
	sim->cfg = *cfg;
	if (sim->cfg.n_nests == 0)
		sim->cfg.n_nests = 1;
	if (sim->cfg.n_nests > RIG_SIM_MAX_NESTS)
		return rigi_fail(RIG_ERR_ARG, "%u nests requested; the simulator supports 1..%d",
				 cfg->n_nests, RIG_SIM_MAX_NESTS);
	if (sim->cfg.speed <= 0)
		sim->cfg.speed = 1.0;
	if (!sim->cfg.host)
		sim->cfg.host = "127.0.0.1";
	if (sim->cfg.serial_base == 0)
		sim->cfg.serial_base = 1;
	snprintf(sim->state_dir, sizeof(sim->state_dir), "%s",
		 cfg->state_dir ? cfg->state_dir : rig_sim_default_state_dir());
	return 0;
}

int rig_sim_start(const struct rig_sim_config *cfg, struct rig_sim **out)
{
	struct rig_sim *sim = calloc(1, sizeof(*sim));
	int ret;

	*out = NULL;
	if (!sim)
		return rigi_fail(RIG_ERR_NOMEM, "simulator: out of memory");
	pthread_mutex_init(&sim->lock, NULL);
	sim->control_fd = -1;
	ret = normalise_config(sim, cfg);
	if (ret == 0)
		ret = make_state_dir(sim->state_dir);
	if (ret == 0)
		ret = load_line_key(sim);
	if (sim->cfg.lockstep)
		sim_clock_init_lockstep(&sim->clock);
	else
		sim_clock_init(&sim->clock, sim->cfg.speed);
	if (ret == 0)
		ret = start_station(sim);
	for (unsigned i = 0; ret == 0 && i < sim->cfg.n_nests; i++)
		ret = start_nest(sim, i);
	if (ret == 0 && sim->cfg.control_socket)
		ret = rigi_sim_control_serve(sim);
	if (ret < 0) {
		rigi_error_context("simulated station");
		rig_sim_stop(sim);
		return ret;
	}
	RIGI_INFO("sim", "station up: %u nest(s), Modbus on %s:%u, seed %llu, speed %g",
		  sim->cfg.n_nests, sim->cfg.host, (unsigned)sim_station_port(sim->station),
		  (unsigned long long)sim->cfg.seed, sim->cfg.speed);
	*out = sim;
	return 0;
}

void rig_sim_stop(struct rig_sim *sim)
{
	if (!sim)
		return;
	rigi_sim_control_shutdown(sim);
	for (unsigned i = 0; i < RIG_SIM_MAX_NESTS; i++) {
		sim_dut_endpoint_free(sim->nests[i].endpoint);
		sim->nests[i].endpoint = NULL;
	}
	sim_station_free(sim->station);
	for (unsigned i = 0; i < RIG_SIM_MAX_NESTS; i++)
		sim_pen_free(sim->nests[i].pen);
	rigi_wipe(sim->line_key, sizeof(sim->line_key));
	pthread_mutex_destroy(&sim->lock);
	free(sim);
}

int rig_sim_stop_requested(const struct rig_sim *sim)
{
	return sim->stop_requested;
}

const char *rig_sim_daq_uri(const struct rig_sim *sim)
{
	return sim->daq_uri;
}

static const struct sim_nest *nest_of(const struct rig_sim *sim, unsigned nest)
{
	return nest < sim->cfg.n_nests ? &sim->nests[nest] : NULL;
}

const char *rig_sim_dut_uri(const struct rig_sim *sim, unsigned nest)
{
	const struct sim_nest *n = nest_of(sim, nest);
	return n ? n->dut_uri : NULL;
}

const char *rig_sim_displacement_uri(const struct rig_sim *sim, unsigned nest)
{
	const struct sim_nest *n = nest_of(sim, nest);
	return n ? n->disp_uri : NULL;
}

const char *rig_sim_force_uri(const struct rig_sim *sim, unsigned nest)
{
	const struct sim_nest *n = nest_of(sim, nest);
	return n ? n->force_uri : NULL;
}

const char *rig_sim_control_path(const struct rig_sim *sim)
{
	return sim->control_path;
}

uint16_t rig_sim_port(const struct rig_sim *sim)
{
	return sim_station_port(sim->station);
}
