/* `rig sensors`: slow readings of one nest's displacement and force sensors
 * (or of sensors given by URI), with units and status; optionally ZERO /
 * TARE first. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/instr.h>
#include <rig/rig.h>

#include "cli.h"

static const char usage_text[] =
	"usage: rig sensors [--host H] [--port P] [--nest N] [--count N] [--interval-ms M]\n"
	"                   [--zero] [--tare]\n"
	"       rig sensors [--disp URI] [--force URI] [...]\n\n"
	"Slow readings of a nest's displacement (um) and force (mN) sensors.\n"
	"  --host H          station address (default 127.0.0.1)\n"
	"  --port P          station Modbus TCP port (default 1502)\n"
	"  --nest N          nest number: displacement unit 10+2N, force 11+2N (default 0)\n"
	"  --disp URI        a displacement sensor by address instead, e.g.\n"
	"                    modbus-rtu:///dev/ttyUSB0?baud=115200&unit=10\n"
	"  --force URI       a force sensor by address instead\n"
	"  --count N         number of readings (default 5; 0: until Ctrl-C)\n"
	"  --interval-ms M   time between readings (default 500)\n"
	"  --zero            ZERO the displacement sensor first (re-reference to the\n"
	"                    nest's flush gauge, removing drift)\n"
	"  --tare            TARE the force sensor first (present force reads zero)\n"
	"Exit status 3 when a sensor reports OVER_RANGE or FAULT, or a link fails.\n";

struct sensors_args {
	const char *host;
	long port, nest, count, interval_ms;
	const char *disp_uri, *force_uri;
	int zero, tare;
};

/* Parse a decimal integer in [lo, hi]; 0 or -1. */
static int parse_long(const char *text, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	*out = strtol(text, &end, 10);
	return errno || end == text || *end || *out < lo || *out > hi ? -1 : 0;
}

static int parse_args(int argc, char **argv, struct sensors_args *a)
{
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
		{"nest", required_argument, NULL, 'n'}, {"disp", required_argument, NULL, 'd'},
		{"force", required_argument, NULL, 'f'}, {"count", required_argument, NULL, 'c'},
		{"interval-ms", required_argument, NULL, 'i'}, {"zero", no_argument, NULL, 'z'},
		{"tare", no_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': a->host = optarg; break;
		case 'p': bad |= parse_long(optarg, 1, 65535, &a->port); break;
		case 'n': bad |= parse_long(optarg, 0, 118, &a->nest); break;
		case 'd': a->disp_uri = optarg; break;
		case 'f': a->force_uri = optarg; break;
		case 'c': bad |= parse_long(optarg, 0, 1000000, &a->count); break;
		case 'i': bad |= parse_long(optarg, 0, 3600000, &a->interval_ms); break;
		case 'z': a->zero = 1; break;
		case 't': a->tare = 1; break;
		case 'h': fputs(usage_text, stdout); return 1;
		default: bad = 1;
		}
	}
	if (bad || optind != argc) {
		fprintf(stderr, "rig: sensors: bad arguments\n\n%s", usage_text);
		return -1;
	}
	return 0;
}

struct sensors {
	struct rig_displacement *ds;
	struct rig_force *fs;
	char disp_uri[300], force_uri[300];
};

static int open_sensors(const struct sensors_args *a, struct sensors *s)
{
	int ret = 0;

	if (!a->disp_uri && !a->force_uri) {
		snprintf(s->disp_uri, sizeof(s->disp_uri), "modbus-tcp://%s:%ld?unit=%ld", a->host,
			 a->port, 10 + 2 * a->nest);
		snprintf(s->force_uri, sizeof(s->force_uri), "modbus-tcp://%s:%ld?unit=%ld",
			 a->host, a->port, 11 + 2 * a->nest);
	} else {
		snprintf(s->disp_uri, sizeof(s->disp_uri), "%s", a->disp_uri ? a->disp_uri : "");
		snprintf(s->force_uri, sizeof(s->force_uri), "%s", a->force_uri ? a->force_uri : "");
	}
	if (s->disp_uri[0]) {
		ret = rig_displacement_open(s->disp_uri, &s->ds);
		if (ret < 0)
			return cli_report_error("opening the displacement sensor", ret);
		printf("displacement  %s: serial %u, firmware %u.%u, range +/-%.1f um\n",
		       s->disp_uri, rig_displacement_get_info(s->ds)->id.serial,
		       rig_displacement_get_info(s->ds)->id.firmware >> 8,
		       rig_displacement_get_info(s->ds)->id.firmware & 0xFF,
		       rig_displacement_get_info(s->ds)->range);
	}
	if (s->force_uri[0]) {
		ret = rig_force_open(s->force_uri, &s->fs);
		if (ret < 0)
			return cli_report_error("opening the force sensor", ret);
		printf("force         %s: serial %u, firmware %u.%u, range +/-%.0f mN\n",
		       s->force_uri, rig_force_get_info(s->fs)->id.serial,
		       rig_force_get_info(s->fs)->id.firmware >> 8,
		       rig_force_get_info(s->fs)->id.firmware & 0xFF,
		       rig_force_get_info(s->fs)->range);
	}
	return 0;
}

/* "OK", "FAULT", "OK (latched over-range, TARED)", ... */
static void format_status(const struct rig_sensor_reading *r, const char *referenced,
			  char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s", rig_sensor_status_name(r->status));
	if (r->flags & (RIG_SENSOR_FLAG_OVER_RANGE | RIG_SENSOR_FLAG_REFERENCED))
		snprintf(out + n, cap - (size_t)n, " (%s%s%s)",
			 r->flags & RIG_SENSOR_FLAG_OVER_RANGE ? "over range latched" : "",
			 (r->flags & RIG_SENSOR_FLAG_OVER_RANGE) &&
				 (r->flags & RIG_SENSOR_FLAG_REFERENCED) ? ", " : "",
			 r->flags & RIG_SENSOR_FLAG_REFERENCED ? referenced : "");
}

/* Print a value and its status; returns 1 on an instrument fault, <0 on a
 * link error. */
static int print_reading(int ret, const struct rig_sensor_reading *r, int width, int decimals,
			 const char *referenced, int pad)
{
	char status[64];
	if (ret < 0 && ret != RIG_ERR_INSTRUMENT)
		return ret;
	format_status(r, referenced, status, sizeof(status));
	printf("%*.*f  %-*s", width, decimals, r->value, pad, status);
	return ret == RIG_ERR_INSTRUMENT;
}

static int read_loop(const struct sensors_args *a, struct sensors *s)
{
	int64_t t0 = rig_clock_ns();
	int faults = 0;

	printf("%10s  %16s  %-28s %12s  %s\n", "time_s", "displacement_um", "status", "force_mN",
	       "status");
	for (long i = 0; a->count == 0 || i < a->count; i++) {
		struct rig_sensor_reading r = {0};
		int ret;
		if (i > 0)
			rig_sleep_ns(a->interval_ms * 1000000LL);
		if (rig_interrupted())
			return RIG_EXIT_INTERRUPTED;
		printf("%10.3f  ", (rig_clock_ns() - t0) * 1e-9);
		if (s->ds) {
			ret = print_reading(rig_displacement_read(s->ds, &r), &r, 16, 1, "ZEROED", 29);
			if (ret < 0)
				return cli_report_error("reading the displacement sensor", ret);
			faults += ret;
		} else {
			printf("%16s  %-29s", "-", "");
		}
		if (s->fs) {
			ret = print_reading(rig_force_read(s->fs, &r), &r, 12, 0, "TARED", 0);
			if (ret < 0)
				return cli_report_error("reading the force sensor", ret);
			faults += ret;
		}
		printf("\n");
		fflush(stdout);
	}
	return faults ? RIG_EXIT_STATION : RIG_EXIT_OK;
}

int cmd_sensors(int argc, char **argv)
{
	struct sensors_args a = {.host = "127.0.0.1", .port = 1502, .count = 5,
				 .interval_ms = 500};
	struct sensors s = {0};
	int ret = parse_args(argc, argv, &a);

	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	rig_install_interrupt_handlers();
	ret = open_sensors(&a, &s);
	if (ret == 0 && a.zero && s.ds && (ret = rig_displacement_zero(s.ds)) < 0)
		ret = cli_report_error("zeroing the displacement sensor", ret);
	if (ret == 0 && a.tare && s.fs && (ret = rig_force_tare(s.fs)) < 0)
		ret = cli_report_error("taring the force sensor", ret);
	if (ret == 0)
		ret = read_loop(&a, &s);
	rig_displacement_close(s.ds);
	rig_force_close(s.fs);
	return ret;
}
