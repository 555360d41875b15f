/* `rig dut run` and `rig dut safe`: keep a pen stroking at user setpoints
 * (through its own table, no key needed) for a while, and put it back in its
 * safe state, for engineers at a station or a simulator (e.g. around a
 * `rig daq capture`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/clock.h>
#include <rig/dut.h>
#include <rig/rig.h>

#include "cli.h"

static int parse_u16(const char *text, const char *what, uint16_t *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > 65535) {
		fprintf(stderr, "rig dut run: %s must be an integer 0..65535, got '%s'\n", what, text);
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

static const char run_usage[] = "usage: rig dut run URI DEPTH_UM RATE_SPM [--seconds S]\n";

static int parse_seconds(const char *text, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	if (errno || end == text || *end || !(*out > 0 && *out <= 86400)) {
		fprintf(stderr, "rig dut run: --seconds must be a number of seconds in (0, 86400], "
				"got '%s'\n", text);
		return -1;
	}
	return 0;
}

/* Stroke until @p seconds have passed (0: until Ctrl-C), keeping the link
 * alive: the pen's host-loss watchdog stops a motor it does not hear from. */
static int keep_running(struct rig_dut *dut, double seconds)
{
	int64_t end = rig_clock_ns() + (int64_t)(seconds * 1e9);
	while (!rig_interrupted() && (seconds == 0 || rig_clock_ns() < end)) {
		int ret = rig_dut_keepalive(dut, 200);
		if (ret < 0)
			return ret;
		rig_sleep_ns(50000000);
	}
	return 0;
}

int cmd_dut_run(int argc, char **argv)
{
	struct rig_dut *dut = NULL;
	uint16_t depth, rate, code = 0, duty = 0;
	double seconds = 0;
	int ret, safe_ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("%s\nSet the pen's user setpoints (mapped through its active table), start the\n"
		       "motor and keep it stroking for S seconds, or until Ctrl-C without\n"
		       "--seconds; then put the pen safe (motor off, confirmed with STATUS).\n"
		       "Meanwhile the pen hears from the rig at least every 200 ms: killed, the rig\n"
		       "goes silent and the pen's host-loss watchdog stops the motor within 1 s.\n",
		       run_usage);
		return RIG_EXIT_OK;
	}
	if (argc == 6 && !strcmp(argv[4], "--seconds")) {
		if (parse_seconds(argv[5], &seconds) < 0)
			return RIG_EXIT_USAGE;
		argc = 4;
	}
	if (argc != 4 || parse_u16(argv[2], "DEPTH_UM", &depth) < 0 ||
	    parse_u16(argv[3], "RATE_SPM", &rate) < 0) {
		fputs(run_usage, stderr);
		return RIG_EXIT_USAGE;
	}
	rig_install_interrupt_handlers();
	ret = rig_dut_open(argv[1], &dut);
	if (ret == 0)
		ret = rig_dut_set_user(dut, depth, rate, &code, &duty);
	if (ret == 0)
		ret = rig_dut_motor(dut, 1);
	if (ret == 0) {
		printf("pen stroking at %u um, %u strokes/min (table: code %u, duty %u permille)"
		       "%s\n", depth, rate, code, duty, seconds ? "" : "; Ctrl-C stops it");
		fflush(stdout);
		ret = keep_running(dut, seconds);
	}
	safe_ret = dut ? rig_dut_safe(dut) : 0; /* on every way out: SAFE is uninterruptible */
	rig_dut_close(dut);
	if (ret == 0 && safe_ret < 0)
		ret = safe_ret;
	if (ret < 0)
		return cli_report_error("dut run", ret);
	printf("pen safe: motor off\n");
	/* Without --seconds, Ctrl-C is how the run ends. */
	return rig_interrupted() && seconds ? RIG_EXIT_INTERRUPTED : RIG_EXIT_OK;
}

int cmd_dut_safe(int argc, char **argv)
{
	struct rig_dut *dut = NULL;
	struct rig_dut_status st;
	int ret;

	if (argc != 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: rig dut safe URI\n\nMotor off, service mode left, session closed "
			"(SAFE), confirmed with STATUS.\n");
		return argc == 2 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	}
	ret = rig_dut_open(argv[1], &dut);
	if (ret == 0)
		ret = rig_dut_safe(dut);
	if (ret == 0)
		ret = rig_dut_status(dut, &st);
	rig_dut_close(dut);
	if (ret < 0)
		return cli_report_error("dut safe", ret);
	printf("pen safe: motor %s, %s mode\n", st.motor_on ? "ON" : "off",
	       st.mode ? "SERVICE" : "USER");
	return st.motor_on || st.mode ? RIG_EXIT_STATION : RIG_EXIT_OK;
}
