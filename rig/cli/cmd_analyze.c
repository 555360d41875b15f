/* `rig analyze`: stroke analysis of a capture CSV written by `rig daq
 * capture` — the summary of protrusion, stroke rate, forces and
 * penetration, rejected strokes by reason, and optionally every stroke, as
 * text or JSON. Method and definitions: docs/analysis.md. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/analysis.h>
#include <rig/rig.h>

#include "cli.h"

struct analyze_args {
	const char *path;
	struct rig_capture_csv_options csv;
	double tent_residual;
	int strokes, json;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rig analyze CAPTURE.csv [--rate HZ] [--disp COL] [--force COL]\n"
		"                               [--tent-residual F] [--strokes] [--json]\n\n"
		"  CAPTURE.csv        capture from 'rig daq capture' (header time_s,ch<N>_<unit>,...)\n"
		"  --rate HZ          sample rate, when the file has no time_s column\n"
		"  --disp COL         displacement column, by name or channel (ch0); default: the\n"
		"                     column in um\n"
		"  --force COL        force column; default: the column in mN (none: no force)\n"
		"  --tent-residual F  fraction of the tenting depth left at the bottom of a stroke\n"
		"                     (a property of the phantom; default 1 = no rebound)\n"
		"  --strokes          list every stroke too\n"
		"  --json             print one JSON object instead of text\n");
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (!*s || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct analyze_args *a)
{
	static const struct option opts[] = {
		{"rate", required_argument, NULL, 'r'},
		{"disp", required_argument, NULL, 'd'},
		{"force", required_argument, NULL, 'f'},
		{"tent-residual", required_argument, NULL, 't'},
		{"strokes", no_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*a = (struct analyze_args){.tent_residual = 1.0};
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (parse_double(optarg, 1e-3, 1e9, &a->csv.rate_hz) < 0)
				goto bad_value;
			break;
		case 'd':
			a->csv.disp_column = optarg;
			break;
		case 'f':
			a->csv.force_column = optarg;
			break;
		case 't':
			if (parse_double(optarg, 0, 1, &a->tent_residual) < 0)
				goto bad_value;
			break;
		case 's':
			a->strokes = 1;
			break;
		case 'j':
			a->json = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "rig analyze: expected one capture file\n\n");
		usage(stderr);
		return -1;
	}
	a->path = argv[optind];
	return 0;
bad_value:
	fprintf(stderr, "rig analyze: bad value '%s' for --%s\n", optarg,
		opts[c == 'r' ? 0 : 3].name);
	return -1;
}

/* ---- text ---- */

static void text_row(const char *name, const char *unit, const struct rig_stats *s,
		     double scale)
{
	if (s->n == 0) {
		printf("%-12s %-12s %6d %12s\n", name, unit, 0, "-");
		return;
	}
	printf("%-12s %-12s %6zu %12.3f %12.3f %10.3f %10.3f %12.3f %12.3f\n", name, unit, s->n,
	       s->median * scale, s->mean * scale, s->sd * scale, s->sem * scale,
	       s->min * scale, s->max * scale);
}

static void text_summary(const struct analyze_args *a, const struct rig_capture *cap,
			 const struct rig_analysis *an)
{
	printf("capture     %s: %zu samples at %.6g Hz (%.3f s); displacement %s, force %s\n",
	       a->path, cap->n, cap->rate_hz, (double)cap->n / cap->rate_hz, cap->disp_name,
	       cap->force_mn ? cap->force_name : "none");
	printf("strokes     %zu found, %zu accepted; rejected:", an->n_strokes,
	       an->count[RIG_STROKE_OK]);
	for (int s = RIG_STROKE_PARTIAL_START; s < RIG_STROKE_SKIPPED; s++)
		printf(" %s %zu%s", rig_stroke_status_name(s), an->count[s],
		       s + 1 < RIG_STROKE_SKIPPED ? "," : "");
	printf("; skipped strokes %zu\n", an->count[RIG_STROKE_SKIPPED]);
	if (an->n_strokes == 0)
		printf("            no strokes: displacement span %.1f um (the pen is not stroking?)\n",
		       an->disp_max_um - an->disp_min_um);
	printf("\n%-12s %-12s %6s %12s %12s %10s %10s %12s %12s\n", "measurand", "unit", "n",
	       "median", "mean", "sd", "u(mean)", "min", "max");
	text_row("protrusion", "um", &an->protrusion_um, 1);
	text_row("rate", "strokes/s", &an->stroke_rate_hz, 1);
	text_row("rate", "strokes/min", &an->stroke_rate_hz, 60);
	if (cap->force_mn) {
		text_row("peak force", "mN", &an->peak_force_mn, 1);
		text_row("penetration", "um", &an->penetration_um, 1);
		text_row("tenting", "um", &an->tenting_um, 1);
		text_row("drag", "mN", &an->drag_mn, 1);
		printf("\npunctured   %zu of %zu accepted strokes", an->n_punctured,
		       an->count[RIG_STROKE_OK]);
		if (an->n_loaded)
			printf("; %zu start loaded (the needles stay in the phantom between strokes)", an->n_loaded);
		putchar('\n');
	}
	printf("detection   thresholds %.1f / %.1f um, displacement noise %.2f um, force noise "
	       "%.2f mN, peak fit +/-%zu samples\n", an->thr_lo_um, an->thr_hi_um,
	       an->disp_noise_um, an->force_noise_mn, an->peak_halfwidth);
}

static void text_strokes(const struct rig_analysis *an)
{
	printf("\n%5s %-13s %9s %10s %9s %8s %8s %8s %8s %8s %7s\n", "#", "status", "t_peak_s",
	       "protr_um", "period_ms", "peak_mN", "cont_um", "punct_um", "tent_um", "pen_um",
	       "drag_mN");
	for (size_t k = 0; k < an->n_strokes; k++) {
		const struct rig_stroke *st = &an->strokes[k];
		printf("%5zu %-13s %9.5f %10.2f %9.4f %8.1f %8.1f %8.1f %8.1f %8.1f %7.1f\n", k,
		       rig_stroke_status_name(st->status), st->t_peak_s, st->protrusion_um,
		       st->period_s * 1e3, st->peak_force_mn, st->contact_um, st->puncture_um,
		       st->tenting_um, st->penetration_um, st->drag_mn);
	}
}

/* ---- JSON ---- */

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_number(double v)
{
	if (isfinite(v))
		printf("%.9g", v);
	else
		printf("null");
}

static void json_stats(const char *key, const struct rig_stats *s, double scale)
{
	printf("\"%s\":{\"n\":%zu,\"median\":", key, s->n);
	json_number(s->median * scale);
	printf(",\"mean\":");
	json_number(s->mean * scale);
	printf(",\"sd\":");
	json_number(s->sd * scale);
	printf(",\"u\":");
	json_number(s->sem * scale);
	printf(",\"min\":");
	json_number(s->min * scale);
	printf(",\"max\":");
	json_number(s->max * scale);
	putchar('}');
}

static void json_stroke(size_t k, const struct rig_stroke *st)
{
	const struct {
		const char *key;
		double v;
	} f[] = {
		{"t_peak_s", st->t_peak_s},	    {"protrusion_um", st->protrusion_um},
		{"period_s", st->period_s},	    {"peak_force_mn", st->peak_force_mn},
		{"contact_um", st->contact_um},	    {"puncture_um", st->puncture_um},
		{"puncture_force_mn", st->puncture_force_mn},
		{"tenting_um", st->tenting_um},	    {"penetration_um", st->penetration_um},
		{"drag_mn", st->drag_mn},
	};
	printf("%s{\"index\":%zu,\"status\":\"%s\",\"start\":%zu,\"end\":%zu,\"punctured\":%s,"
	       "\"starts_loaded\":%s", k ? "," : "", k, rig_stroke_status_name(st->status),
	       st->start, st->end, st->punctured ? "true" : "false",
	       st->starts_loaded ? "true" : "false");
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		printf(",\"%s\":", f[i].key);
		json_number(f[i].v);
	}
	putchar('}');
}

static void json_output(const struct analyze_args *a, const struct rig_capture *cap,
			const struct rig_analysis *an)
{
	printf("{\"capture\":{\"file\":");
	json_string(a->path);
	printf(",\"samples\":%zu,\"rate_hz\":", cap->n);
	json_number(cap->rate_hz);
	printf(",\"disp_column\":");
	json_string(cap->disp_name);
	printf(",\"force_column\":");
	if (cap->force_mn)
		json_string(cap->force_name);
	else
		printf("null");
	printf("},\"strokes_found\":%zu,\"counts\":{", an->n_strokes);
	for (int s = 0; s < RIG_STROKE_N_STATUS; s++)
		printf("%s\"%s\":%zu", s ? "," : "", rig_stroke_status_name(s), an->count[s]);
	printf("},\"punctured\":%zu,\"loaded\":%zu,\"summary\":{", an->n_punctured,
	       an->n_loaded);
	json_stats("protrusion_um", &an->protrusion_um, 1);
	putchar(',');
	json_stats("rate_per_s", &an->stroke_rate_hz, 1);
	putchar(',');
	json_stats("rate_per_min", &an->stroke_rate_hz, 60);
	putchar(',');
	json_stats("period_s", &an->period_s, 1);
	putchar(',');
	json_stats("peak_force_mn", &an->peak_force_mn, 1);
	putchar(',');
	json_stats("penetration_um", &an->penetration_um, 1);
	putchar(',');
	json_stats("tenting_um", &an->tenting_um, 1);
	putchar(',');
	json_stats("drag_mn", &an->drag_mn, 1);
	printf("},\"detection\":{\"thr_lo_um\":");
	json_number(an->thr_lo_um);
	printf(",\"thr_hi_um\":");
	json_number(an->thr_hi_um);
	printf(",\"disp_noise_um\":");
	json_number(an->disp_noise_um);
	printf(",\"force_noise_mn\":");
	json_number(an->force_noise_mn);
	printf(",\"peak_halfwidth\":%zu}", an->peak_halfwidth);
	if (a->strokes) {
		printf(",\"strokes\":[");
		for (size_t k = 0; k < an->n_strokes; k++)
			json_stroke(k, &an->strokes[k]);
		putchar(']');
	}
	printf("}\n");
}

int cmd_analyze(int argc, char **argv)
{
	struct analyze_args a;
	struct rig_analysis_params params;
	struct rig_capture *cap = NULL;
	struct rig_analysis *an = NULL;
	int ret, code = RIG_EXIT_OK;

	ret = parse_args(argc, argv, &a);
	if (ret != 0)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	rig_analysis_params_default(&params);
	params.tent_residual = a.tent_residual;
	ret = rig_capture_read_csv(a.path, &a.csv, &cap);
	if (ret < 0) {
		/* A file that cannot be read is a bad input, not a station fault. */
		cli_report_error("analyze: reading the capture", ret);
		code = ret == RIG_ERR_NOMEM ? RIG_EXIT_STATION : RIG_EXIT_USAGE;
		goto out;
	}
	ret = rig_analysis_run(cap, &params, &an);
	if (ret < 0) {
		code = cli_report_error("analyze", ret);
		goto out;
	}
	if (a.json) {
		json_output(&a, cap, an);
	} else {
		text_summary(&a, cap, an);
		if (a.strokes)
			text_strokes(an);
	}
out:
	rig_analysis_free(an);
	rig_capture_free(cap);
	return code;
}
