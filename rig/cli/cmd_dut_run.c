/* `rig dut run` and `rig dut safe`: start a pen stroking at user setpoints
 * (through its own table, no key needed) and put it back in its safe state,
 * for engineers at a station or a simulator (e.g. before `rig daq capture`). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_dut_run(int argc, char **argv)
{
	struct rig_dut *dut = NULL;
	uint16_t depth, rate, code = 0, duty = 0;
	int ret;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: rig dut run URI DEPTH_UM RATE_SPM\n\n"
		       "Set the pen's user setpoints (mapped through its active table) and start\n"
		       "the motor. 'rig dut safe URI' stops it.\n");
		return RIG_EXIT_OK;
	}
	if (argc != 4 || parse_u16(argv[2], "DEPTH_UM", &depth) < 0 ||
	    parse_u16(argv[3], "RATE_SPM", &rate) < 0) {
		fprintf(stderr, "usage: rig dut run URI DEPTH_UM RATE_SPM\n");
		return RIG_EXIT_USAGE;
	}
	ret = rig_dut_open(argv[1], &dut);
	if (ret == 0)
		ret = rig_dut_set_user(dut, depth, rate, &code, &duty);
	if (ret == 0)
		ret = rig_dut_motor(dut, 1);
	rig_dut_close(dut);
	if (ret < 0)
		return cli_report_error("dut run", ret);
	printf("pen stroking at %u um, %u strokes/min (table: code %u, duty %u permille); "
	       "'rig dut safe %s' stops it\n",
	       depth, rate, code, duty, argv[1]);
	return RIG_EXIT_OK;
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
