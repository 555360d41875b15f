/* Reports of a run (DESIGN §9, docs/reports.md): output modules that each
 * turn a run's record and its attachments into one file people or tools
 * read — an HTML report, a PDF calibration certificate, JUnit XML, stroke
 * CSV. The modules are const structs in one explicit list (libsigrok's
 * output modules are the model); a failing module never changes a run's
 * outcome. They run at the end of every run and on demand (`rig report`). */
#ifndef RIG_REPORT_H
#define RIG_REPORT_H

#include <stddef.h>

#include <rig/record.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Which raw captures a run keeps in its folder (captures/, gzip'd CSV).
 *  Every stroke of every capture goes to strokes.csv whatever this says. */
enum rig_keep_captures {
	RIG_KEEP_CAPTURES_FIRST = 0, /* the first capture of each measuring step (default) */
	RIG_KEEP_CAPTURES_NONE,
	RIG_KEEP_CAPTURES_ALL,
};

/** What a module reads: the record, and the run folder with its
 *  attachments (docs/reports.md "Attachments": strokes.csv, captures/). */
struct rig_report_input {
	const struct rig_record *record; /* borrowed; the run's canonical record */
	const char *run_dir;             /* the run folder (journal, record.sig, attachments) */
};

/** One report format. */
struct rig_output_module {
	const char *id;          /* "html", "pdf", "junit", "csv": the --format name */
	const char *description; /* one line, for --help */
	const char *file_name;   /* the file it writes in the output folder, e.g. "report.html" */
	/** Write the report of @p in to @p path (atomically: a reader sees the
	 *  old file or the new one). Returns 0 or a negative rig_err with the
	 *  reason in rig_last_error(). Must not change anything in the run
	 *  folder but its own file. */
	int (*write)(const struct rig_report_input *in, const char *path);
};

/** The modules, in a fixed order, NULL-terminated. */
const struct rig_output_module *const *rig_output_modules(void);

/** The module with id @p id, or NULL. */
const struct rig_output_module *rig_output_module_find(const char *id);

/** Called after each module: @p path written, or @p err (<0) with the reason
 *  in rig_last_error(). */
typedef void (*rig_report_fn)(const struct rig_output_module *m, const char *path, int err,
			      void *user);

/** Write the reports of the run folder @p run_dir (its record.json is read)
 *  in the formats @p formats ("html,pdf", "all" or NULL for every module)
 *  into @p out_dir (NULL: the run folder). Every module runs even when one
 *  fails. Returns 0 when every module wrote its file, RIG_ERR_ARG for an
 *  unknown format (before any is written), or the first module's error. */
int rig_report_write(const char *run_dir, const char *formats, const char *out_dir,
		     rig_report_fn fn, void *user);

#ifdef __cplusplus
}
#endif
#endif
