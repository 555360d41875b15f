/* `rig daq`: the DAQ from the command line: its identity and limits, and a
 * capture written to CSV with each column in engineering units (channel
 * scaling given on the command line; the simulated station's by default),
 * with the capture and read-out times. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/instr.h>
#include <rig/rig.h>

#include "cli.h"

#define DEFAULT_URI "modbus-tcp://127.0.0.1:1502?unit=1"
#define MAX_CHANNELS 16

static const char usage_text[] =
	"usage: rig daq COMMAND [OPTIONS]\n\n"
	"commands:\n"
	"  info      the DAQ's identity, channels, maximum rate and buffer size\n"
	"  capture   capture waveforms into a CSV file\n"
	"'rig daq COMMAND --help' for a command's options.\n";

static const char info_help[] =
	"usage: rig daq info [--uri URI]\n\n"
	"  --uri URI   the DAQ (default " DEFAULT_URI ")\n";

static const char capture_help[] =
	"usage: rig daq capture [--uri URI] [--rate HZ] [--seconds S | --count N]\n"
	"                       [--channels LIST] [--scale CH=FACTOR:UNIT ...] --out FILE.csv\n\n"
	"Capture, then write time_s and one column per channel, in engineering units.\n"
	"  --uri URI              the DAQ (default " DEFAULT_URI ")\n"
	"  --rate HZ              sample rate (default 20000)\n"
	"  --seconds S            capture length (default 1)\n"
	"  --count N              or samples per channel\n"
	"  --channels LIST        channel numbers, e.g. 0,1 (default 0,1)\n"
	"  --scale CH=FACTOR:UNIT counts x FACTOR = value in UNIT for channel CH\n"
	"                         (repeatable). Default: the simulated station's scaling,\n"
	"                         channel 2n 0.1:um (nest n displacement) and 2n+1 1:mN\n"
	"                         (force); a real station's comes from its fixture file.\n"
	"  --out FILE.csv         the CSV file to write (replaced atomically); - writes\n"
	"                         it to standard output\n"
	"What was captured and how long it took goes to standard error.\n";

struct scale {
	double factor;
	int decimals; /* as written in the factor */
	char unit[16];
	int given;
};

struct capture_args {
	const char *uri, *out;
	double rate, seconds;
	long count;
	uint16_t mask;
	struct scale scale[MAX_CHANNELS];
};

static int parse_double(const char *text, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	return errno || end == text || *end || !(*out >= lo && *out <= hi) ? -1 : 0;
}

static int parse_channels(const char *text, uint16_t *mask)
{
	char *end;
	*mask = 0;
	for (const char *p = text; *p; p = *end == ',' ? end + 1 : end) {
		long ch;
		errno = 0;
		ch = strtol(p, &end, 10);
		if (errno || end == p || ch < 0 || ch >= MAX_CHANNELS || (*end && *end != ','))
			return -1;
		*mask |= (uint16_t)(1u << ch);
	}
	return *mask ? 0 : -1;
}

/* "CH=FACTOR:UNIT" */
static int parse_scale(const char *text, struct scale *scales)
{
	const char *eq = strchr(text, '='), *colon = strchr(text, ':');
	const char *dot;
	char num[32], *end;
	long ch;
	double factor;

	if (!eq || !colon || colon < eq || (size_t)(colon - eq - 1) >= sizeof(num) ||
	    !colon[1] || strlen(colon + 1) >= sizeof(scales[0].unit))
		return -1;
	errno = 0;
	ch = strtol(text, &end, 10);
	if (errno || end != eq || ch < 0 || ch >= MAX_CHANNELS)
		return -1;
	memcpy(num, eq + 1, (size_t)(colon - eq - 1));
	num[colon - eq - 1] = '\0';
	if (parse_double(num, -1e9, 1e9, &factor) < 0 || factor == 0)
		return -1;
	dot = strchr(num, '.');
	scales[ch].factor = factor;
	scales[ch].decimals = dot && !strpbrk(num, "eE") ? (int)strlen(dot + 1) : 6;
	snprintf(scales[ch].unit, sizeof(scales[ch].unit), "%s", colon + 1);
	scales[ch].given = 1;
	return 0;
}

/* Channels without --scale get the simulated station's scaling. */
static void default_scales(struct scale *scales)
{
	for (int ch = 0; ch < MAX_CHANNELS; ch++) {
		if (scales[ch].given)
			continue;
		scales[ch].factor = ch % 2 ? 1.0 : 0.1;
		scales[ch].decimals = ch % 2 ? 0 : 1;
		snprintf(scales[ch].unit, sizeof(scales[ch].unit), "%s", ch % 2 ? "mN" : "um");
	}
}

static int parse_capture(int argc, char **argv, struct capture_args *a)
{
	static const struct option opts[] = {
		{"uri", required_argument, NULL, 'u'}, {"rate", required_argument, NULL, 'r'},
		{"seconds", required_argument, NULL, 's'}, {"count", required_argument, NULL, 'n'},
		{"channels", required_argument, NULL, 'c'}, {"scale", required_argument, NULL, 'k'},
		{"out", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	double count;
	int c, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'u': a->uri = optarg; break;
		case 'r':
			bad |= parse_double(optarg, 1, 1e7, &a->rate) | (a->rate != floor(a->rate));
			break;
		case 's': bad |= parse_double(optarg, 1e-6, 1e6, &a->seconds); break;
		case 'n':
			bad |= parse_double(optarg, 1, 1e9, &count);
			a->count = (long)count;
			break;
		case 'c': bad |= parse_channels(optarg, &a->mask); break;
		case 'k': bad |= parse_scale(optarg, a->scale); break;
		case 'o': a->out = optarg; break;
		case 'h': fputs(capture_help, stdout); return 1;
		default: bad = 1;
		}
	}
	if (bad || optind != argc || !a->out) {
		fprintf(stderr, "rig: daq capture: %s\n\n%s",
			bad || optind != argc ? "bad arguments" : "--out FILE.csv is required",
			capture_help);
		return -1;
	}
	default_scales(a->scale);
	if (a->count == 0)
		a->count = lround(a->seconds * a->rate) > 0 ? lround(a->seconds * a->rate) : 1;
	return 0;
}

static void print_scaling(const struct capture_args *a)
{
	fprintf(stderr, "scaling:");
	for (int ch = 0; ch < MAX_CHANNELS; ch++)
		if (a->mask & (1u << ch))
			fprintf(stderr, " ch%d %g %s/count%s", ch, a->scale[ch].factor, a->scale[ch].unit,
				a->scale[ch].given ? "" : " (simulated station default)");
	fprintf(stderr, "\n");
}

static void print_csv(FILE *fp, const struct capture_args *a, const int16_t *buf, size_t spc)
{
	unsigned nch = 0;
	int chans[MAX_CHANNELS];

	for (int ch = 0; ch < MAX_CHANNELS; ch++)
		if (a->mask & (1u << ch))
			chans[nch++] = ch;
	fprintf(fp, "time_s");
	for (unsigned i = 0; i < nch; i++)
		fprintf(fp, ",ch%d_%s", chans[i], a->scale[chans[i]].unit);
	fprintf(fp, "\n");
	for (size_t k = 0; k < spc; k++) {
		fprintf(fp, "%.6f", (double)k / a->rate);
		for (unsigned i = 0; i < nch; i++) {
			const struct scale *s = &a->scale[chans[i]];
			fprintf(fp, ",%.*f", s->decimals, buf[k * nch + i] * s->factor);
		}
		fprintf(fp, "\n");
	}
}

/* Write the CSV to FILE.tmp, then rename: a reader never sees half a file.
 * "-": to standard output. */
static int write_csv(const struct capture_args *a, const int16_t *buf, size_t spc)
{
	char tmp[4096];
	FILE *fp;
	int ok;

	if (!strcmp(a->out, "-")) {
		print_csv(stdout, a, buf, spc);
		if (fflush(stdout) != 0 || ferror(stdout)) {
			fprintf(stderr, "rig: daq capture: writing to standard output failed\n");
			return RIG_EXIT_STATION;
		}
		return RIG_EXIT_OK;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->out);
	fp = fopen(tmp, "w");
	if (!fp) {
		fprintf(stderr, "rig: daq capture: cannot write %s: %s\n", tmp, strerror(errno));
		return RIG_EXIT_USAGE;
	}
	print_csv(fp, a, buf, spc);
	ok = !ferror(fp);
	ok = fclose(fp) == 0 && ok;
	if (!ok || rename(tmp, a->out) != 0) {
		fprintf(stderr, "rig: daq capture: writing %s failed: %s\n", a->out, strerror(errno));
		remove(tmp);
		return RIG_EXIT_USAGE;
	}
	return RIG_EXIT_OK;
}

/* Configure, arm, wait and read: fills @p buf; times in seconds. */
static int run_capture(struct rig_daq *daq, const struct capture_args *a, int16_t **buf,
		       double *t_wait, double *t_read)
{
	struct rig_daq_config cfg = {(uint32_t)a->rate, (uint32_t)a->count, a->mask,
				     RIG_DAQ_TRIGGER_IMMEDIATE};
	double duration = (double)a->count / a->rate;
	int64_t t0 = rig_clock_ns(), t1;
	int ret;

	ret = rig_daq_configure(daq, &cfg);
	if (ret == 0)
		ret = rig_daq_arm(daq);
	if (ret == 0)
		ret = rig_daq_wait(daq, (int)(duration * 1500) + 2000);
	if (ret < 0) {
		if (ret == RIG_ERR_INTERRUPTED)
			rig_daq_abort(daq); /* leave the DAQ idle */
		return cli_report_error("capturing", ret);
	}
	t1 = rig_clock_ns();
	*buf = malloc(rig_daq_capture_size(daq) * sizeof(int16_t));
	if (!*buf)
		return cli_report_error("capturing", RIG_ERR_NOMEM);
	ret = rig_daq_read(daq, *buf, rig_daq_capture_size(daq), NULL);
	if (ret < 0)
		return cli_report_error("reading the capture out", ret);
	*t_wait = (t1 - t0) * 1e-9;
	*t_read = (rig_clock_ns() - t1) * 1e-9;
	return 0;
}

static int cmd_capture(int argc, char **argv)
{
	struct capture_args a = {.uri = DEFAULT_URI, .rate = 20000, .seconds = 1, .mask = 0x3};
	struct rig_daq *daq = NULL;
	int16_t *buf = NULL;
	double t_wait = 0, t_read = 0;
	size_t total;
	int ret = parse_capture(argc, argv, &a);

	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	rig_install_interrupt_handlers();
	ret = rig_daq_open(a.uri, &daq);
	if (ret < 0)
		return cli_report_error("opening the DAQ", ret);
	print_scaling(&a);
	ret = run_capture(daq, &a, &buf, &t_wait, &t_read);
	if (ret == 0) {
		total = rig_daq_capture_size(daq);
		fprintf(stderr, "capture: %ld samples x %zu channels at %.0f Hz = %.6f s of signal\n",
			a.count, total / (size_t)a.count, a.rate, a.count / a.rate);
		fprintf(stderr, "rig: configure + arm + wait %.3f s, read-out %.3f s "
			"(%.2f M registers/s), total %.3f s\n",
			t_wait, t_read, total / t_read * 1e-6, t_wait + t_read);
		ret = write_csv(&a, buf, (size_t)a.count);
		if (ret == 0 && strcmp(a.out, "-"))
			fprintf(stderr, "wrote %s\n", a.out);
	}
	free(buf);
	rig_daq_close(daq);
	return ret;
}

static int cmd_info(int argc, char **argv)
{
	const char *uri = DEFAULT_URI;
	const struct rig_daq_info *in;
	struct rig_daq *daq;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(info_help, stdout);
			return RIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--uri") || i + 1 == argc) {
			fprintf(stderr, "rig: daq info: bad arguments\n\n%s", info_help);
			return RIG_EXIT_USAGE;
		}
		uri = argv[++i];
	}
	ret = rig_daq_open(uri, &daq);
	if (ret < 0)
		return cli_report_error("opening the DAQ", ret);
	in = rig_daq_get_info(daq);
	printf("%-13s%s\n%-13s%u\n%-13s%u.%u\n%-13s%u\n%-13s%u Hz\n%-13s%u samples\n", "daq",
	       uri, "serial", in->id.serial, "firmware", in->id.firmware >> 8,
	       in->id.firmware & 0xFF, "channels", in->channels, "max rate", in->max_rate_hz,
	       "buffer", in->capacity);
	rig_daq_close(daq);
	return RIG_EXIT_OK;
}

int cmd_daq(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage_text, stderr);
		return RIG_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_text, stdout);
		return RIG_EXIT_OK;
	}
	if (!strcmp(argv[1], "capture"))
		return cmd_capture(argc - 1, argv + 1);
	if (!strcmp(argv[1], "info"))
		return cmd_info(argc - 1, argv + 1);
	fprintf(stderr, "rig: daq: unknown command '%s'\n\n%s", argv[1], usage_text);
	return RIG_EXIT_USAGE;
}
