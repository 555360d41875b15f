/* report_tool: writes the HTML report and the PDF certificate of a run
 * folder with the output modules themselves (rigi_output_html,
 * rigi_output_pdf), for tests/cli/test_reports.sh and for people who want
 * to look at them. --inject TEXT first puts TEXT into every text field a
 * pen or a fixture controls (serial, model, operator, station, reasons),
 * to check that the reports escape it.
 * Usage: report_tool RUN_DIR OUT_DIR [--formats html,pdf] [--inject TEXT]
 * Exit 0 when every report was written, 1 when one failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/error.h>
#include <rig/record.h>
#include <rig/report.h>

#include "records/output.h"

#define SET(field, text) snprintf((field), sizeof(field), "%s", (text))

static void inject(struct rig_record *r, const char *t)
{
	SET(r->unit.serial, t);
	SET(r->unit.model, t);
	SET(r->unit.firmware, t);
	SET(r->operator_name, t);
	SET(r->station.name, t);
	SET(r->suite_name, t);
	snprintf(r->reason, sizeof(r->reason), "%s (injected)", t);
	for (size_t i = 0; i < r->n_steps; i++) {
		struct rig_record_step *s = r->steps[i];
		snprintf(s->reason, sizeof(s->reason), "step reason %s", t);
		for (size_t j = 0; j < s->n_measurements; j++)
			snprintf(s->measurements[j].reason, sizeof(s->measurements[j].reason),
				 "measurement reason %s", t);
	}
	if (r->station.n_instruments > 1)
		SET(r->station.instruments[1].certificate, t);
}

static int run(const struct rig_output_module *m, const struct rig_report_input *in,
	       const char *out_dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", out_dir, m->file_name);
	int ret = m->write(in, path);
	if (ret < 0)
		fprintf(stderr, "report_tool: %s: %s: %s\n", m->id, rig_strerror(ret),
			rig_last_error());
	else
		printf("%s\n", path);
	return ret;
}

int main(int argc, char **argv)
{
	const char *formats = "html,pdf", *text = NULL;
	char path[4096];
	struct rig_record *rec = NULL;
	if (argc < 3) {
		fprintf(stderr, "usage: report_tool RUN_DIR OUT_DIR [--formats html,pdf] "
				"[--inject TEXT]\n");
		return 2;
	}
	for (int i = 3; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--formats"))
			formats = argv[i + 1];
		else if (!strcmp(argv[i], "--inject"))
			text = argv[i + 1];
		else
			return fprintf(stderr, "report_tool: unknown option %s\n", argv[i]), 2;
	}
	snprintf(path, sizeof(path), "%s/record.json", argv[1]);
	if (rig_record_load(path, &rec) < 0) {
		fprintf(stderr, "report_tool: %s\n", rig_last_error());
		return 1;
	}
	if (text)
		inject(rec, text);
	struct rig_report_input in = {rec, argv[1]};
	int failed = 0;
	if (strstr(formats, "html"))
		failed |= run(&rigi_output_html, &in, argv[2]) < 0;
	if (strstr(formats, "pdf"))
		failed |= run(&rigi_output_pdf, &in, argv[2]) < 0;
	rig_record_free(rec);
	return failed;
}
