/* `rig records`: the auditor's tools for the evidence a station leaves —
 * recover (close the journals of runs that died into records) and verify
 * (signature, journal hash chain, record = what its journal says). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <rig/evidence.h>
#include <rig/rig.h>

#include "cli.h"

static void records_usage(FILE *out)
{
	fprintf(out,
		"usage: rig records recover [REPORTS] [--calibrations DIR] [--signing-key FILE]\n"
		"       rig records verify PATH... [--public-key FILE]\n\n"
		"recover  closes every run under REPORTS (default reports) whose process died\n"
		"         (host crash, kill -9, power cut) into a record: ERROR, or ABORTED when\n"
		"         its last step was, \"run did not finish: last event ...\"; removes the\n"
		"         stray temporary files of its interrupted writes. It walks every run\n"
		"         folder; rig run does the same for its station's open runs at start.\n"
		"verify   checks each record (a run folder or its record.json): the Ed25519\n"
		"         signature in record.sig, the journal's hash chain, and that the record\n"
		"         is exactly what its journal builds; names the file and field or line\n"
		"         of anything changed after the fact. --public-key FILE: the station's\n"
		"         published key (<station>.signing.key.pub), which must have signed it.\n\n"
		"Exit codes: 0 all good, 1 a record was changed or could not be closed,\n"
		"2 usage or unreadable evidence.\n");
}

static void print_recovered(const char *dir, const char *what, void *user)
{
	(void)user;
	printf("%s: %s\n", dir, what);
}

static int records_recover(int argc, char **argv)
{
	static const struct option opts[] = {{"calibrations", required_argument, 0, 'c'},
					     {"signing-key", required_argument, 0, 'k'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *cal = "calibrations", *key = NULL;
	struct rig_recover_stats st;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cal = optarg; break;
		case 'k': key = optarg; break;
		case 'h': records_usage(stdout); return RIG_EXIT_OK;
		default: records_usage(stderr); return RIG_EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		records_usage(stderr);
		return RIG_EXIT_USAGE;
	}
	const char *reports = optind < argc ? argv[optind] : "reports";
	int ret = rig_records_recover(reports, cal, key, 1, print_recovered, NULL, &st);
	if (ret < 0)
		return cli_report_error("records recover", ret);
	printf("%u run(s) closed into records, %u still running, %u temporary file(s) removed, "
	       "%u could not be closed\n", st.recovered, st.live, st.temp_removed, st.failed);
	return st.failed ? RIG_EXIT_FAIL : RIG_EXIT_OK;
}

static int records_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"public-key", required_argument, 0, 'p'},
					     {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	const char *pub = NULL;
	char detail[1024];
	int c, bad = 0, unreadable = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pub = optarg; break;
		case 'h': records_usage(stdout); return RIG_EXIT_OK;
		default: records_usage(stderr); return RIG_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		records_usage(stderr);
		return RIG_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		int ret = rig_records_verify(argv[i], pub, detail, sizeof(detail));
		if (ret == 0)
			printf("%s: OK (%s)\n", argv[i], detail);
		else
			printf("%s: %s: %s\n", argv[i], ret == RIG_ERR_SIGNATURE ? "CHANGED" : "UNREADABLE",
			       detail);
		bad += ret == RIG_ERR_SIGNATURE;
		unreadable += ret < 0 && ret != RIG_ERR_SIGNATURE;
	}
	return bad ? RIG_EXIT_FAIL : unreadable ? RIG_EXIT_USAGE : RIG_EXIT_OK;
}

int cmd_records(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		records_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? RIG_EXIT_USAGE : RIG_EXIT_OK;
	}
	if (!strcmp(argv[1], "recover"))
		return records_recover(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return records_verify(argc - 1, argv + 1);
	fprintf(stderr, "rig records: unknown command '%s' (recover or verify)\n", argv[1]);
	return RIG_EXIT_USAGE;
}
