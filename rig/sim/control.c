/* The simulator's control language (docs/sim.md): one command per line,
 * one reply line starting "ok" or "error". It loads pens into nests,
 * injects station and pen faults, and reports ground truth. Served on a
 * Unix socket so tests and operators can steer a running `rig sim`. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/core.h"
#include "daqsim.h"
#include "sim_internal.h"

#define MAX_TOKENS 8
/* Pens' flash files kept in the state directory: `load` of a new serial
 * beyond this is refused, so a script cannot fill the disk (docs/sim.md). */
#define MAX_FLASH_FILES 64

struct ctl_request {
	struct rig_sim *sim;
	int argc;
	char *argv[MAX_TOKENS];
	char *reply;
	size_t cap;
};

static int reply(struct ctl_request *r, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int reply(struct ctl_request *r, int ok, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(r->reply, r->cap, "%s", ok ? "ok" : "error");
	if (fmt && n >= 0 && (size_t)n + 1 < r->cap) {
		r->reply[n++] = ' ';
		va_start(ap, fmt);
		vsnprintf(r->reply + n, r->cap - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return ok ? 0 : RIG_ERR_ARG;
}

/* Decimal digits only: no sign, blank, "0x" or trailing text. */
static int parse_uint(const char *text, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	if (!text || !*text || strlen(text) > 10)
		return -1;
	for (const char *c = text; *c; c++) {
		if (*c < '0' || *c > '9')
			return -1;
		v = v * 10 + (unsigned long)(*c - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* A decimal number: digits, one '.', an exponent; no hex, inf or nan. */
static int parse_decimal(const char *text, double *out)
{
	char *end;
	if (!text || !*text || strspn(text, "0123456789.eE+-") != strlen(text) ||
	    !strchr("0123456789.", text[0]))
		return -1;
	errno = 0;
	*out = strtod(text, &end);
	return (errno || *end) ? -1 : 0;
}

/* A command that takes exactly @p n words (its name included). */
static int expect_words(struct ctl_request *r, int n, const char *usage)
{
	if (r->argc == n)
		return 0;
	return reply(r, 0, "%s arguments; usage: %s", r->argc > n ? "extra" : "missing", usage);
}

static int parse_nest(struct ctl_request *r, int idx, unsigned *nest)
{
	unsigned long v;
	if (idx >= r->argc || parse_uint(r->argv[idx], RIG_SIM_MAX_NESTS - 1, &v) ||
	    v >= r->sim->cfg.n_nests)
		return reply(r, 0, "expected a nest number 0..%u", r->sim->cfg.n_nests - 1);
	*nest = (unsigned)v;
	return 0;
}

static int print_truth(struct ctl_request *r, const struct sim_truth *t)
{
	return reply(r, 1,
		     "protrusion_um=%.3f penetration_um=%.3f rate_hz=%.4f "
		     "puncture_force_mn=%.1f code=%u duty=%u",
		     t->protrusion_um, t->penetration_um, t->rate_hz, t->puncture_force_mn,
		     (unsigned)t->code, (unsigned)t->duty);
}

/* truth NEST | truth NEST service CODE DUTY | truth NEST user DEPTH_UM RATE_SPM */
static int cmd_truth(struct ctl_request *r)
{
	struct sim_truth t;
	unsigned nest = 0;
	unsigned long a, b;
	struct sim_pen *pen;

	if (parse_nest(r, 1, &nest) < 0)
		return RIG_ERR_ARG;
	pen = r->sim->nests[nest].pen;
	if (!pen)
		return reply(r, 0, "nest %u is empty", nest);
	if (r->argc == 2) {
		sim_pen_truth_now(pen, &t);
		return print_truth(r, &t);
	}
	if (r->argc != 5 || parse_uint(r->argv[3], 65535, &a) || parse_uint(r->argv[4], 65535, &b))
		return reply(r, 0, "usage: truth NEST [service CODE DUTY | user DEPTH_UM RATE_SPM]");
	if (!strcmp(r->argv[2], "service")) {
		sim_pen_truth_service(pen, (uint16_t)a, (uint16_t)b, &t);
		return print_truth(r, &t);
	}
	if (!strcmp(r->argv[2], "user")) {
		if (sim_pen_truth_user(pen, (uint16_t)a, (uint16_t)b, &t) < 0)
			return reply(r, 0, "the active table does not cover %lu um / %lu spm", a, b);
		return print_truth(r, &t);
	}
	return reply(r, 0, "truth mode must be 'service' or 'user'");
}

/* Whether the state directory has room for @p serial's flash file: it has
 * one already, or fewer than MAX_FLASH_FILES pens have one. */
static int flash_room(struct ctl_request *r, const char *serial)
{
	char path[1024];
	struct stat st;
	unsigned n = 0;
	DIR *d;
	struct dirent *e;
	snprintf(path, sizeof(path), "%s/%s.flash", r->sim->state_dir, serial);
	if (stat(path, &st) == 0)
		return 0;
	d = opendir(r->sim->state_dir);
	if (!d)
		return 0; /* the pen's own open then says what is wrong */
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		if (len > 6 && !strcmp(e->d_name + len - 6, ".flash"))
			n++;
	}
	closedir(d);
	if (n < MAX_FLASH_FILES)
		return 0;
	return reply(r, 0, "the state directory %s holds the flash files of %u pens, the "
			   "limit is %u: reuse a serial, or stop the simulator and remove "
			   "%s/*.flash",
		     r->sim->state_dir, n, MAX_FLASH_FILES, r->sim->state_dir);
}

/* load NEST SERIAL [FAILURE] | unload NEST */
static int cmd_load(struct ctl_request *r)
{
	unsigned nest = 0;
	int unload = !strcmp(r->argv[0], "unload");
	if (parse_nest(r, 1, &nest) < 0)
		return RIG_ERR_ARG;
	if (unload && expect_words(r, 2, "unload NEST") < 0)
		return RIG_ERR_ARG;
	if (!unload && (r->argc < 3 || r->argc > 4))
		return reply(r, 0, "%s arguments; usage: load NEST SERIAL [FAILURE]",
			     r->argc > 4 ? "extra" : "missing");
	if (!unload && flash_room(r, r->argv[2]) < 0)
		return RIG_ERR_ARG;
	if (rigi_sim_load_pen(r->sim, nest, unload ? NULL : r->argv[2],
			      r->argc == 4 ? r->argv[3] : NULL) < 0)
		return reply(r, 0, "%s", rig_last_error());
	return reply(r, 1, "nest %u %s", nest, unload ? "empty" : r->argv[2]);
}

static int cmd_power_cycle(struct ctl_request *r)
{
	unsigned nest = 0;
	if (parse_nest(r, 1, &nest) < 0 || expect_words(r, 2, "power-cycle NEST") < 0)
		return RIG_ERR_ARG;
	if (!r->sim->nests[nest].pen)
		return reply(r, 0, "nest %u is empty", nest);
	sim_pen_power_cycle(r->sim->nests[nest].pen);
	return reply(r, 1, "nest %u power-cycled", nest);
}

static int cmd_status(struct ctl_request *r)
{
	char list[512];
	size_t pos = 0;
	if (expect_words(r, 1, "status") < 0)
		return RIG_ERR_ARG;
	list[0] = '\0';
	for (unsigned i = 0; i < r->sim->cfg.n_nests && pos < sizeof(list); i++) {
		const struct sim_pen *pen = r->sim->nests[i].pen;
		pos += (size_t)snprintf(list + pos, sizeof(list) - pos, " nest%u=%s", i,
					pen ? sim_pen_serial(pen) : "empty");
	}
	return reply(r, 1, "port=%u nests=%u seed=%llu speed=%g sim_time=%.3f%s",
		     (unsigned)sim_station_port(r->sim->station), r->sim->cfg.n_nests,
		     (unsigned long long)r->sim->cfg.seed, r->sim->cfg.speed,
		     sim_clock_now(&r->sim->clock), list);
}

static int control_fault(struct ctl_request *r);

static int cmd_stop(struct ctl_request *r)
{
	if (expect_words(r, 1, "stop") < 0)
		return RIG_ERR_ARG;
	r->sim->stop_requested = 1;
	return reply(r, 1, "stopping");
}

static int cmd_help(struct ctl_request *r)
{
	if (expect_words(r, 1, "help") < 0)
		return RIG_ERR_ARG;
	return reply(r, 1,
		     "commands: status | load NEST SERIAL [FAILURE] | unload NEST | "
		     "truth NEST [service CODE DUTY | user DEPTH_UM RATE_SPM] | power-cycle NEST | "
		     "fault KIND ARGS (see docs/sim.md) | stop");
}

static const struct {
	const char *name;
	int (*run)(struct ctl_request *r);
} commands[] = {
	{"help", cmd_help},   {"status", cmd_status},
	{"truth", cmd_truth}, {"load", cmd_load},
	{"unload", cmd_load}, {"power-cycle", cmd_power_cycle},
	{"fault", control_fault}, {"stop", cmd_stop},
};

int rig_sim_control(struct rig_sim *sim, const char *line, char *out, size_t cap)
{
	char buf[RIG_SIM_CONTROL_LINE_MAX + 1];
	char *save = NULL;
	struct ctl_request r = {.sim = sim, .reply = out, .cap = cap};
	int ret;

	if (strlen(line) > RIG_SIM_CONTROL_LINE_MAX)
		return reply(&r, 0, "line too long, at most %d bytes", RIG_SIM_CONTROL_LINE_MAX);
	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok_r(buf, " \t\r\n", &save); tok;
	     tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (r.argc == MAX_TOKENS)
			return reply(&r, 0, "extra arguments: at most %d words in a command",
				     MAX_TOKENS);
		r.argv[r.argc++] = tok;
	}
	if (r.argc == 0)
		return reply(&r, 0, "empty command; try 'help'");
	pthread_mutex_lock(&sim->lock);
	ret = RIG_ERR_ARG;
	size_t i;
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(r.argv[0], commands[i].name))
			break;
	if (i < sizeof(commands) / sizeof(commands[0]))
		ret = commands[i].run(&r);
	else
		reply(&r, 0, "unknown command '%s'; try 'help'", r.argv[0]);
	pthread_mutex_unlock(&sim->lock);
	RIGI_DEBUG("sim", "control: %s -> %s", line, out);
	return ret;
}

/* fault KIND ARGS: station faults go to the Modbus station, link and power
 * faults to the nest's DUT endpoint and pen. */
static int fault_sensor(struct ctl_request *r, int dead)
{
	unsigned nest = 0;
	int disp;
	enum sim_station_fault f;
	if (parse_nest(r, 2, &nest) < 0)
		return RIG_ERR_ARG;
	if (r->argc != 4 || (strcmp(r->argv[3], "disp") && strcmp(r->argv[3], "force")))
		return reply(r, 0, "usage: fault %s NEST disp|force", r->argv[1]);
	disp = !strcmp(r->argv[3], "disp");
	f = dead ? (disp ? SIM_STATION_FAULT_DEAD_DISPLACEMENT : SIM_STATION_FAULT_DEAD_FORCE)
		 : (disp ? SIM_STATION_FAULT_NOISY_DISPLACEMENT : SIM_STATION_FAULT_NOISY_FORCE);
	if (sim_station_inject(r->sim->station, f, nest, 1) < 0)
		return reply(r, 0, "%s", rig_last_error());
	return reply(r, 1, "nest %u %s sensor %s", nest, r->argv[3], dead ? "dead" : "noisy");
}

static int fault_station_value(struct ctl_request *r, enum sim_station_fault f, double max)
{
	double v;
	if (r->argc != 3)
		return reply(r, 0, "%s arguments; usage: fault %s VALUE",
			     r->argc > 3 ? "extra" : "missing", r->argv[1]);
	if (parse_decimal(r->argv[2], &v) || v < 0 || v > max)
		return reply(r, 0, "fault %s: value must be 0..%g", r->argv[1], max);
	if (sim_station_inject(r->sim->station, f, 0, v) < 0)
		return reply(r, 0, "%s", rig_last_error());
	return reply(r, 1, "%s %g", r->argv[1], v);
}

/* fault daq-map-version VERSION: the DAQ's identity block reports register
 * map version VERSION (2 is the true one, 1 a map-1 DAQ; `fault clear` restores it). */
static int fault_daq_map_version(struct ctl_request *r)
{
	unsigned long v;
	if (r->argc != 3 || parse_uint(r->argv[2], 65535, &v) || v == 0)
		return reply(r, 0, "usage: fault daq-map-version VERSION (1..65535)");
	sim_daq_inject_map_version((unsigned)v);
	return reply(r, 1, "DAQ reports register map version %lu", v);
}

static int fault_dut(struct ctl_request *r, int power)
{
	unsigned nest = 0;
	unsigned long bytes;
	struct sim_nest *n;
	if (parse_nest(r, 2, &nest) < 0)
		return RIG_ERR_ARG;
	if (r->argc != 4 || parse_uint(r->argv[3], 100000000UL, &bytes))
		return reply(r, 0, "usage: fault %s NEST BYTES", r->argv[1]);
	n = &r->sim->nests[nest];
	if (power) {
		if (!n->pen)
			return reply(r, 0, "nest %u is empty", nest);
		sim_pen_power_loss_after(n->pen, (long)bytes);
	} else {
		sim_dut_endpoint_cut_after(n->endpoint, (long)bytes);
	}
	return reply(r, 1, "nest %u %s after %lu bytes", nest, power ? "power loss" : "link cut",
		     bytes);
}

/* fault dut-hold NEST COMMAND MS [SKIP]: a slow pen (docs/sim.md). */
static int fault_dut_hold(struct ctl_request *r)
{
	static const struct {
		const char *name;
		int code;
	} cmds[] = {{"TABLE_READ", 0x20}, {"TABLE_BEGIN", 0x21}, {"TABLE_CHUNK", 0x22},
		    {"TABLE_COMMIT", 0x23}};
	unsigned nest = 0;
	unsigned long ms = 0, skip = 0;
	int code = -1;
	if (parse_nest(r, 2, &nest) < 0)
		return RIG_ERR_ARG;
	for (size_t i = 0; r->argc >= 4 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(r->argv[3], cmds[i].name))
			code = cmds[i].code;
	if ((r->argc != 5 && r->argc != 6) || code < 0 || parse_uint(r->argv[4], 600000UL, &ms) ||
	    (r->argc == 6 && parse_uint(r->argv[5], 1000000UL, &skip)))
		return reply(r, 0, "usage: fault dut-hold NEST TABLE_READ|TABLE_BEGIN|TABLE_CHUNK|"
				   "TABLE_COMMIT MS [SKIP]");
	sim_dut_endpoint_hold(r->sim->nests[nest].endpoint, code, (unsigned)skip, (unsigned)ms);
	return reply(r, 1, "nest %u holds %s for %lu ms after %lu more", nest, r->argv[3], ms,
		     skip);
}

static int control_fault(struct ctl_request *r)
{
	const char *kind = r->argc > 1 ? r->argv[1] : "";
	if (!strcmp(kind, "modbus-drop"))
		return fault_station_value(r, SIM_STATION_FAULT_LINK_DROP, 3600);
	if (!strcmp(kind, "modbus-late"))
		return fault_station_value(r, SIM_STATION_FAULT_LATE_REPLY, 60000);
	if (!strcmp(kind, "daq-overrun")) {
		if (expect_words(r, 2, "fault daq-overrun") < 0)
			return RIG_ERR_ARG;
		if (sim_station_inject(r->sim->station, SIM_STATION_FAULT_DAQ_OVERRUN, 0, 1) < 0)
			return reply(r, 0, "%s", rig_last_error());
		return reply(r, 1, "next DAQ capture overruns");
	}
	if (!strcmp(kind, "daq-map-version"))
		return fault_daq_map_version(r);
	if (!strcmp(kind, "sensor-dead") || !strcmp(kind, "sensor-noisy"))
		return fault_sensor(r, !strcmp(kind, "sensor-dead"));
	if (!strcmp(kind, "dut-cut") || !strcmp(kind, "power-loss"))
		return fault_dut(r, !strcmp(kind, "power-loss"));
	if (!strcmp(kind, "dut-hold"))
		return fault_dut_hold(r);
	if (!strcmp(kind, "clear")) {
		if (expect_words(r, 2, "fault clear") < 0)
			return RIG_ERR_ARG;
		sim_station_inject(r->sim->station, SIM_STATION_FAULT_CLEAR, 0, 0);
		sim_daq_inject_map_version(0);
		for (unsigned i = 0; i < r->sim->cfg.n_nests; i++) {
			sim_dut_endpoint_cut_after(r->sim->nests[i].endpoint, -1);
			sim_dut_endpoint_hold(r->sim->nests[i].endpoint, -1, 0, 0);
		}
		return reply(r, 1, "faults cleared");
	}
	return reply(r, 0, "unknown fault '%s' (modbus-drop, modbus-late, daq-overrun, "
			   "daq-map-version, sensor-dead, sensor-noisy, dut-cut, power-loss, "
			   "dut-hold, clear)", kind);
}
