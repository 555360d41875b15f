/* Helpers shared by the subcommands: error reporting and log output. */
#include <stdio.h>

#include <rig/rig.h>

#include "cli.h"

int cli_report_error(const char *what, int err)
{
	const char *detail = rig_last_error();
	fprintf(stderr, "rig: %s: %s%s%s\n", what, rig_strerror(err), detail[0] ? ": " : "",
		detail);
	switch (err) {
	case RIG_ERR_ARG:
	case RIG_ERR_FORMAT:
		return RIG_EXIT_USAGE;
	case RIG_ERR_INTERRUPTED:
		return RIG_EXIT_INTERRUPTED;
	default:
		return RIG_EXIT_STATION;
	}
}

int cli_report_input_error(const char *what, int err)
{
	int code = cli_report_error(what, err);
	if (err == RIG_ERR_NOT_FOUND || err == RIG_ERR_PERMISSION || err == RIG_ERR_IO)
		return RIG_EXIT_USAGE; /* the file named on the command line: fix the input */
	return code;
}

static void log_to_stderr(enum rig_log_level level, const char *domain, const char *message,
			  void *user)
{
	static const char *const names[] = {"", "error", "warning", "info", "debug", "trace"};
	(void)user;
	fprintf(stderr, "rig: %s [%s] %s\n", names[level], domain, message);
}

void cli_setup_logging(void)
{
	rig_log_set_callback(log_to_stderr, NULL);
}
