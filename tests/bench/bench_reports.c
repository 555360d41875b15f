/* Benchmark of the reports of one unit: the time to write report.html and
 * certificate.pdf (the html and pdf output modules) and every format of
 * rig_output_modules() (rig_report_write "all") from a calibrated unit's
 * record and its attachments (strokes.csv, the kept raw captures). The
 * record comes from one calibration on a lockstep simulated station. The
 * first write also pays for loading the fonts (fontconfig, once per
 * process); the figure that matters for the line is the steady one.
 * Target (issue 8): all formats of one unit in <= 0.2 s.
 * Usage: bench_reports [REPEATS] (default 10). Reports figures; never fails
 * on speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/report.h>
#include <rig/rig.h>
#include <rig/run.h>
#include <rig/sim.h>

#include "records/output.h"
#include "testsupport.h"

static double seconds_since(int64_t t0)
{
	return (double)(rig_clock_ns() - t0) * 1e-9;
}

/* Seconds to write @p m's file of @p in into @p out_dir; negative on error. */
static double time_module(const struct rig_output_module *m, const struct rig_report_input *in,
			  const char *out_dir)
{
	char path[2048];
	snprintf(path, sizeof(path), "%s/%s", out_dir, m->file_name);
	int64_t t0 = rig_clock_ns();
	if (m->write(in, path) < 0) {
		fprintf(stderr, "bench_reports: %s: %s\n", m->id, rig_last_error());
		return -1;
	}
	return seconds_since(t0);
}

/* One calibrated unit's run folder into @p run_dir. */
static int make_run(struct ts_station *st, char *run_dir, size_t cap)
{
	char reports[600];
	snprintf(reports, sizeof(reports), "%s/out", st->dir);
	struct rig_run_options opt = {.fixture = st->fx, .suite = st->suite, .simulated = 1,
				      .seed = 9, .time_scale = 1e6, .reports_dir = reports,
				      .calibrations_dir = reports, .report_formats = "none"};
	struct rig_run_summary sum;
	if (rig_run_unit(&opt, &sum) < 0 || !sum.run_dir[0]) {
		fprintf(stderr, "bench_reports: the calibration failed: %s\n", rig_last_error());
		return -1;
	}
	printf("unit %s: %s, run folder %s\n", sum.serial, rig_outcome_name(sum.outcome),
	       sum.run_dir);
	snprintf(run_dir, cap, "%s", sum.run_dir);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned repeats = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 10;
	struct ts_station st;
	struct rig_record *rec = NULL;
	char run_dir[1100], path[1200], out[1200];
	double html = 0, pdf = 0, all = 0, first_html, first_pdf;

	rig_log_set_level(RIG_LOG_ERROR);
	if (repeats < 1)
		repeats = 1;
	if (ts_station_start(&st, 1, 9, "fixtures/sim.yaml") < 0 ||
	    make_run(&st, run_dir, sizeof(run_dir)) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/record.json", run_dir);
	snprintf(out, sizeof(out), "%s/reports-out", st.dir);
	if (rig_record_load(path, &rec) < 0) {
		fprintf(stderr, "bench_reports: %s\n", rig_last_error());
		return 1;
	}
	struct rig_report_input in = {rec, run_dir};
	first_html = time_module(&rigi_output_html, &in, run_dir);
	first_pdf = time_module(&rigi_output_pdf, &in, run_dir);
	if (first_html < 0 || first_pdf < 0)
		return 1;
	for (unsigned i = 0; i < repeats; i++) {
		double h = time_module(&rigi_output_html, &in, run_dir);
		double p = time_module(&rigi_output_pdf, &in, run_dir);
		int64_t t0 = rig_clock_ns();
		if (h < 0 || p < 0 || rig_report_write(run_dir, "all", out, NULL, NULL) < 0) {
			fprintf(stderr, "bench_reports: %s\n", rig_last_error());
			return 1;
		}
		all += seconds_since(t0);
		html += h;
		pdf += p;
	}
	printf("first write in this process (fonts loaded): html %.3f s, pdf %.3f s\n", first_html,
	       first_pdf);
	printf("per unit, mean of %u: html %.3f s, pdf %.3f s, html+pdf %.3f s\n", repeats,
	       html / repeats, pdf / repeats, (html + pdf) / repeats);
	printf("per unit, all formats of rig_output_modules() (rig_report_write \"all\", record "
	       "loaded each time): %.3f s (target <= 0.2 s)\n", all / repeats);
	rig_record_free(rec);
	ts_station_stop(&st);
	return 0;
}
