/* `rig report`: write a run's reports again, or in other formats or another
 * folder, from its record and attachments (docs/reports.md). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <rig/report.h>
#include <rig/rig.h>

#include "cli.h"

static void report_usage(FILE *out)
{
	const struct rig_output_module *const *m = rig_output_modules();
	fprintf(out, "usage: rig report RUN_DIR|RECORD... [--format LIST] [--out DIR]\n\n"
		     "Writes the reports of each run from its record.json and the attachments in\n"
		     "its folder (strokes.csv, captures/). Reports are also made at the end of\n"
		     "every `rig run`. A report that cannot be written is said; the others are\n"
		     "still written.\n\n"
		     "  --format LIST  all (default) or a comma-separated list of:\n");
	for (size_t i = 0; m[i]; i++)
		fprintf(out, "                   %-6s %s: %s\n", m[i]->id, m[i]->file_name,
			m[i]->description);
	fprintf(out, "  --out DIR      write them there instead of the run folder (one run only)\n\n"
		     "Exit codes: 0 every report written, 2 usage or an unreadable record,\n"
		     "3 a report could not be written.\n");
}

static void print_written(const struct rig_output_module *m, const char *path, int err,
			  void *user)
{
	int *failed = user;
	if (err == 0) {
		printf("%-6s %s\n", m->id, path);
		return;
	}
	fprintf(stderr, "rig report: %s not written (%s): %s\n", m->id, path, rig_last_error());
	*failed = 1;
}

/* A run folder, or the folder of a record.json. */
static void run_dir_of(const char *arg, char *dir, size_t cap)
{
	struct stat st;
	snprintf(dir, cap, "%s", arg);
	if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(dir, cap, ".");
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, 0, 'f'},
					     {"out", required_argument, 0, 'o'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *formats = NULL, *out = NULL;
	char dir[2048];
	int c, failed = 0, bad = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': formats = optarg; break;
		case 'o': out = optarg; break;
		case 'h': report_usage(stdout); return RIG_EXIT_OK;
		default: report_usage(stderr); return RIG_EXIT_USAGE;
		}
	}
	if (optind == argc || (out && argc - optind > 1)) {
		report_usage(stderr);
		return RIG_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int module_failed = 0;
		run_dir_of(argv[i], dir, sizeof(dir));
		int ret = rig_report_write(dir, formats, out, print_written, &module_failed);
		failed |= module_failed;
		if (ret == RIG_ERR_ARG)
			return cli_report_error("report", ret);
		if (ret < 0 && !module_failed) { /* no module ran: the record is unreadable */
			cli_report_error(argv[i], ret);
			bad = 1;
		}
	}
	return bad ? RIG_EXIT_USAGE : failed ? RIG_EXIT_STATION : RIG_EXIT_OK;
}
