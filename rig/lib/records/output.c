/* The report output modules in one explicit list (nothing registers behind
 * the caller's back), and writing a run's reports with them; the CSV module
 * (strokes.csv, kept while the run went) lives here too. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rig/report.h>

#include "core/core.h"
#include "records/attach.h"
#include "records/output.h"
#include "records/records.h"

static const struct rig_output_module *const modules[] = {
	&rigi_output_html,
	&rigi_output_pdf,
	&rigi_output_junit,
	&rigi_output_csv,
	NULL,
};

const struct rig_output_module *const *rig_output_modules(void)
{
	return modules;
}

const struct rig_output_module *rig_output_module_find(const char *id)
{
	for (size_t i = 0; id && modules[i]; i++)
		if (strcmp(modules[i]->id, id) == 0)
			return modules[i];
	return NULL;
}

/* strokes.csv: kept by the run (attach.c); the module makes it available
 * where the reports go, and says so when the run kept none. */
static int write_csv(const struct rig_report_input *in, const char *path)
{
	char src[2048];
	char *text = NULL;
	size_t len = 0;
	snprintf(src, sizeof(src), "%s/strokes.csv", in->run_dir);
	struct stat a, b;
	if (stat(src, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino &&
	    a.st_dev == b.st_dev)
		return 0; /* the run's own file */
	int ret = rigi_gunzip_file(src, &text, &len, (size_t)256 << 20);
	if (ret == RIG_ERR_NOT_FOUND) /* no capture was taken: the header alone */
		return rigi_atomic_write(path, RIGI_STROKES_CSV_HEADER,
					 strlen(RIGI_STROKES_CSV_HEADER));
	if (ret == 0)
		ret = rigi_atomic_write(path, text, len);
	free(text);
	return ret;
}

const struct rig_output_module rigi_output_csv = {
	.id = "csv",
	.description = "every stroke of every capture, units in the header",
	.file_name = "strokes.csv",
	.write = write_csv,
};

/* Parse "html,pdf" / "all" / NULL into a selection; RIG_ERR_ARG names an
 * unknown format. */
static int select_modules(const char *formats, int *chosen, size_t n)
{
	char buf[256], *save = NULL;
	memset(chosen, 0, n * sizeof(*chosen));
	if (!formats || !strcmp(formats, "all")) {
		for (size_t i = 0; i < n; i++)
			chosen[i] = 1;
		return 0;
	}
	if (!strcmp(formats, "none"))
		return 0;
	snprintf(buf, sizeof(buf), "%s", formats);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (modules[i] && strcmp(modules[i]->id, t) != 0)
			i++;
		if (!modules[i]) {
			char known[128] = "";
			for (size_t k = 0; modules[k]; k++)
				snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
					 k ? ", " : "", modules[k]->id);
			return rigi_fail(RIG_ERR_ARG, "unknown report format '%s' (known: %s, all, "
					 "none)", t, known);
		}
		chosen[i] = 1;
	}
	return 0;
}

int rig_report_write(const char *run_dir, const char *formats, const char *out_dir,
		     rig_report_fn fn, void *user)
{
	char path[2048];
	struct rig_record *rec = NULL;
	int chosen[16], first = 0, ret;
	size_t n = 0;
	while (modules[n])
		n++;
	if ((ret = select_modules(formats, chosen, n)) < 0)
		return ret;
	snprintf(path, sizeof(path), "%s/record.json", run_dir);
	if ((ret = rig_record_load(path, &rec)) < 0)
		return ret;
	if (!out_dir)
		out_dir = run_dir;
	if ((ret = rigi_mkdir_p(out_dir)) < 0) {
		rig_record_free(rec);
		return ret;
	}
	struct rig_report_input in = {rec, run_dir};
	for (size_t i = 0; i < n; i++) {
		if (!chosen[i])
			continue;
		snprintf(path, sizeof(path), "%s/%s", out_dir, modules[i]->file_name);
		rig_clear_error();
		ret = modules[i]->write(&in, path);
		if (ret < 0 && !first)
			first = ret;
		if (fn)
			fn(modules[i], path, ret, user);
	}
	rig_record_free(rec);
	return first;
}
