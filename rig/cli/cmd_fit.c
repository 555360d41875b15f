/* `rig fit`: fit a polynomial (with standard errors) or a monotone
 * calibration curve to two columns of a CSV file, and optionally invert the
 * curve to table knots. Format and method: docs/fit.md. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/fit.h>
#include <rig/rig.h>

#include "cli.h"

#define MAX_FIELDS 64
#define MAX_TARGETS 64

struct fit_args {
	const char *path;
	const char *xname, *yname;
	long degree;
	int monotone;
	double targets[MAX_TARGETS];
	size_t n_targets;
};

struct dataset {
	double *x, *y;
	size_t n, cap;
	int xcol, ycol, ncols;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: rig fit DATA.csv [--degree N] [--x NAME] [--y NAME]\n"
		"                        [--monotone] [--invert \"T1,T2,...\"]\n\n"
		"  DATA.csv        CSV with a header line; lines starting with # are comments\n"
		"  --degree N      polynomial degree 0..%d (default 1)\n"
		"  --x NAME        column of x (default 'x'); --y NAME likewise (default 'y')\n"
		"  --monotone      fit the monotone calibration curve (degree chosen by AICc)\n"
		"  --invert LIST   solve curve(x) = T for each target T (implies --monotone)\n",
		RIG_POLY_MAX_DEGREE);
}

/* Split @p line at commas in place; trims blanks. Returns the field count
 * or -1 when there are more than MAX_FIELDS. */
static int split_csv(char *line, char **fields)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *end = strchr(p, ',');
		char *e;
		if (n == MAX_FIELDS)
			return -1;
		if (end)
			*end = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
			*--e = '\0';
		fields[n++] = p;
		if (!end)
			return n;
		p = end + 1;
	}
}

static int parse_number(const char *s, double *v)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	return *s && !*end && !errno && isfinite(*v) ? 0 : -1;
}

static int find_column(char **fields, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(fields[i], name))
			return i;
	return -1;
}

static int take_header(const struct fit_args *a, struct dataset *d, char *line, size_t lineno)
{
	char *f[MAX_FIELDS];
	int n = split_csv(line, f);

	if (n < 0) {
		fprintf(stderr, "rig: fit: %s:%zu: more than %d columns in the header\n", a->path,
			lineno, MAX_FIELDS);
		return -1;
	}
	d->ncols = n;
	d->xcol = find_column(f, n, a->xname);
	d->ycol = find_column(f, n, a->yname);
	if (d->xcol < 0 || d->ycol < 0) {
		fprintf(stderr, "rig: fit: %s:%zu: header has no column '%s'; expected a header "
				"line naming the columns, e.g. '%s,%s' (pick others with --x/--y)\n",
			a->path, lineno, d->xcol < 0 ? a->xname : a->yname, a->xname, a->yname);
		return -1;
	}
	return 0;
}

static int push(struct dataset *d, double x, double y)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 256;
		double *nx = realloc(d->x, cap * sizeof(double)), *ny;
		if (!nx)
			return -1;
		d->x = nx;
		ny = realloc(d->y, cap * sizeof(double));
		if (!ny)
			return -1;
		d->y = ny;
		d->cap = cap;
	}
	d->x[d->n] = x;
	d->y[d->n++] = y;
	return 0;
}

static int take_row(const struct fit_args *a, struct dataset *d, char *line, size_t lineno)
{
	char *f[MAX_FIELDS];
	int n = split_csv(line, f);
	double x, y;

	if (n != d->ncols) {
		fprintf(stderr, "rig: fit: %s:%zu: expected %d fields as in the header, found %d\n",
			a->path, lineno, d->ncols, n < 0 ? MAX_FIELDS + 1 : n);
		return -1;
	}
	for (int k = 0; k < 2; k++) {
		int col = k ? d->ycol : d->xcol;
		if (parse_number(f[col], k ? &y : &x) < 0) {
			fprintf(stderr, "rig: fit: %s:%zu: column '%s' is not a number: '%s'\n",
				a->path, lineno, k ? a->yname : a->xname, f[col]);
			return -1;
		}
	}
	if (push(d, x, y) < 0) {
		fprintf(stderr, "rig: fit: %s:%zu: out of memory\n", a->path, lineno);
		return -1;
	}
	return 0;
}

static int read_csv(const struct fit_args *a, struct dataset *d)
{
	FILE *f = fopen(a->path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	int ret = 0, have_header = 0;

	if (!f) {
		fprintf(stderr, "rig: fit: cannot open '%s': %s\n", a->path, strerror(errno));
		return -1;
	}
	while (ret == 0 && getline(&line, &cap, f) >= 0) {
		const char *p = line;
		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0')
			continue;
		ret = have_header ? take_row(a, d, line, lineno) : take_header(a, d, line, lineno);
		have_header = 1;
	}
	if (ret == 0 && ferror(f)) {
		fprintf(stderr, "rig: fit: %s: read error: %s\n", a->path, strerror(errno));
		ret = -1;
	} else if (ret == 0 && !have_header) {
		fprintf(stderr, "rig: fit: %s:%zu: no header line; expected e.g. '%s,%s'\n",
			a->path, lineno, a->xname, a->yname);
		ret = -1;
	}
	free(line);
	fclose(f);
	return ret;
}

static int parse_targets(const char *s, struct fit_args *a)
{
	char *copy = strdup(s), *f[MAX_FIELDS];
	int n = copy ? split_csv(copy, f) : -1, ret = 0;

	if (n < 0 || n > MAX_TARGETS) {
		fprintf(stderr, "rig: fit: --invert: at most %d targets\n", MAX_TARGETS);
		ret = -1;
	}
	for (int i = 0; ret == 0 && i < n; i++)
		if (parse_number(f[i], &a->targets[i]) < 0) {
			fprintf(stderr, "rig: fit: --invert: target %d is not a number: '%s'\n",
				i + 1, f[i]);
			ret = -1;
		}
	a->n_targets = ret == 0 ? (size_t)n : 0;
	free(copy);
	return ret;
}

static int parse_args(int argc, char **argv, struct fit_args *a)
{
	static const struct option opts[] = {
		{"degree", required_argument, NULL, 'd'}, {"x", required_argument, NULL, 'x'},
		{"y", required_argument, NULL, 'y'},      {"monotone", no_argument, NULL, 'm'},
		{"invert", required_argument, NULL, 'i'}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c;

	*a = (struct fit_args){.xname = "x", .yname = "y", .degree = 1};
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:x:y:mi:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			a->degree = strtol(optarg, &end, 10);
			if (!*optarg || *end || a->degree < 0 || a->degree > RIG_POLY_MAX_DEGREE) {
				fprintf(stderr, "rig: fit: --degree '%s': expected 0..%d\n", optarg,
					RIG_POLY_MAX_DEGREE);
				return -1;
			}
			break;
		case 'x': a->xname = optarg; break;
		case 'y': a->yname = optarg; break;
		case 'm': a->monotone = 1; break;
		case 'i':
			if (parse_targets(optarg, a) < 0)
				return -1;
			a->monotone = 1;
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	a->path = argv[optind];
	return 0;
}

static void print_poly(const struct rig_poly_fit_result *r)
{
	printf("polynomial degree %u (least squares on scaled x, SVD; condition number %.3g)\n",
	       r->degree, r->cond);
	printf("  %-6s %24s %24s\n", "coef", "estimate", "standard error");
	for (unsigned k = 0; k <= r->degree; k++)
		printf("  b%-5u %24.15g %24.15g\n", k, r->coef[k], r->se[k]);
	printf("residual SD  %.15g\nR-squared    %.15g\nn %zu, dof %zu\n", r->resid_sd, r->r2,
	       r->n, r->dof);
}

static void print_curve(const struct rig_curve_info *in)
{
	if (in->kind == RIG_CURVE_POLY)
		printf("monotone model: polynomial of degree %u\n", in->degree);
	else
		printf("monotone model: Steffen interpolant of the per-x means "
		       "(no polynomial was monotone and adequate)\n");
	printf("  degree  AICc          monotone\n");
	for (unsigned d = 1; d <= RIG_CURVE_MAX_DEGREE; d++)
		if (!isnan(in->aicc[d]))
			printf("  %-6u  %-12.6g  %s%s\n", d, in->aicc[d],
			       (in->monotone_mask >> d) & 1 ? "yes" : "no",
			       in->kind == RIG_CURVE_POLY && d == in->degree ? "  <- chosen" : "");
	printf("x range %.10g .. %.10g, model %.10g .. %.10g, smallest slope %.6g\n", in->x_min,
	       in->x_max, in->y_lo, in->y_hi, in->min_slope);
	printf("residual SD %.6g, max |residual| %.6g, n %zu at %zu x values\n", in->resid_sd,
	       in->max_abs_resid, in->n, in->n_levels);
	if (in->kind == RIG_CURVE_POLY)
		print_poly(&in->poly);
}

/* Errors of the fit are about the data (too few points, not monotone, a
 * target outside the sweep): report them as bad input. */
static int fit_error(const char *path, int err)
{
	int code = cli_report_error(path, err);
	return err == RIG_ERR_RANGE ? RIG_EXIT_USAGE : code;
}

static int run_monotone(const struct fit_args *a, const struct dataset *d)
{
	struct rig_curve *c = NULL;
	struct rig_curve_info in;
	struct rig_knot knots[MAX_TARGETS];
	int ret = rig_curve_fit(d->x, d->y, d->n, NULL, &c);

	if (ret < 0)
		return fit_error(a->path, ret);
	rig_curve_info(c, &in);
	print_curve(&in);
	if (a->n_targets) {
		ret = rig_curve_knots(c, a->targets, a->n_targets, knots);
		if (ret < 0) {
			rig_curve_free(c);
			return fit_error(a->path, ret);
		}
		printf("knots  %12s %14s %8s %14s %10s\n", "target", "x", "rounded",
		       "model(rounded)", "u(model)");
		for (size_t i = 0; i < a->n_targets; i++) {
			double u = 0;
			rig_curve_eval(c, knots[i].x, NULL, &u);
			printf("       %12.6g %14.6f %8ld %14.6f %10.3g\n", knots[i].setpoint,
			       knots[i].x, knots[i].value, knots[i].setpoint + knots[i].residual, u);
		}
	}
	rig_curve_free(c);
	return RIG_EXIT_OK;
}

int cmd_fit(int argc, char **argv)
{
	struct fit_args a;
	struct dataset d = {0};
	struct rig_poly_fit_result r;
	int ret = parse_args(argc, argv, &a), code;

	if (ret)
		return ret > 0 ? RIG_EXIT_OK : RIG_EXIT_USAGE;
	if (read_csv(&a, &d) < 0) {
		code = RIG_EXIT_USAGE;
		goto out;
	}
	printf("%s: %zu points, x = '%s', y = '%s'\n", a.path, d.n, a.xname, a.yname);
	if (a.monotone) {
		code = run_monotone(&a, &d);
		goto out;
	}
	ret = rig_poly_fit(d.x, d.y, d.n, (unsigned)a.degree, &r, NULL);
	if (ret < 0) {
		code = fit_error(a.path, ret);
		goto out;
	}
	print_poly(&r);
	code = RIG_EXIT_OK;
out:
	free(d.x);
	free(d.y);
	return code;
}
