/* Benchmark of the stroke analysis: samples per second analysed on a
 * 10 s x 20 kHz two-channel capture (117 strokes/s, 1 µm and 5 mN noise,
 * puncturing strokes), and of reading the same capture from CSV.
 * Usage: bench_analysis [REPEATS] (default 20). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <rig/analysis.h>
#include <rig/error.h>
#include <rig/pcg32.h>

#include "testsupport.h"

#define FS 20000.0
#define SECONDS 10.0
#define RATE_HZ 117.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* A plain cam stroke (peak 1500 µm, throw 2000 µm) into a phantom that
 * punctures at 480 µm; enough realism for the analysis to do all its work. */
static struct rig_capture *make_capture(void)
{
	struct rig_capture *cap = NULL;
	struct rig_pcg32 rng;
	double phase = 0;

	if (rig_capture_new(FS, (size_t)(SECONDS * FS), 1, &cap) < 0)
		return NULL;
	rig_pcg32_seed(&rng, 1, 2);
	for (size_t i = 0; i < cap->n; i++) {
		double prev = phase;
		phase += 2 * M_PI * RATE_HZ / FS * (1 + 0.005 * rig_pcg32_normal(&rng));
		double tip = 1500 - 1000 * (1 - cos(phase)) - 20 * (1 - cos(2 * phase));
		int extending = sin(prev) < 0;
		double f = tip <= 0 || !extending ? 0 : tip < 480 ? 2.5 * tip : 75;
		cap->disp_um[i] = round(10 * (tip + rig_pcg32_normal(&rng))) / 10;
		cap->force_mn[i] = round(f + 5 * rig_pcg32_normal(&rng));
	}
	return cap;
}

static int bench_analysis(const struct rig_capture *cap, int repeats)
{
	double t0 = now_s();
	size_t ok = 0;
	for (int r = 0; r < repeats; r++) {
		struct rig_analysis *an = NULL;
		int ret = rig_analysis_run(cap, NULL, &an);
		if (ret < 0) {
			fprintf(stderr, "analysis failed: %s\n", rig_last_error());
			return 1;
		}
		ok = an->count[RIG_STROKE_OK];
		rig_analysis_free(an);
	}
	double dt = (now_s() - t0) / repeats;
	printf("analysis: %zu samples, %zu strokes accepted: %.2f ms per capture, "
	       "%.1f M samples/s (%.0f x real time)\n", cap->n, ok, 1e3 * dt,
	       (double)cap->n / dt / 1e6, SECONDS / dt);
	return 0;
}

static int bench_csv(const struct rig_capture *cap)
{
	char *dir = ts_mkdtemp("bench-analysis"), path[512];
	struct rig_capture *back = NULL;
	FILE *f;
	int ret;

	if (!dir)
		return 1;
	snprintf(path, sizeof(path), "%s/capture.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "time_s,ch0_um,ch1_mN\n");
	for (size_t i = 0; i < cap->n; i++)
		fprintf(f, "%.6f,%.1f,%.0f\n", (double)i / FS, cap->disp_um[i], cap->force_mn[i]);
	fclose(f);
	double t0 = now_s();
	ret = rig_capture_read_csv(path, NULL, &back);
	double dt = now_s() - t0;
	if (ret == 0)
		printf("csv read: %.1f ms per capture, %.1f M samples/s\n", 1e3 * dt,
		       (double)cap->n / dt / 1e6);
	else
		fprintf(stderr, "csv read failed: %s\n", rig_last_error());
	rig_capture_free(back);
	ts_rmtree(dir);
	free(dir);
	return ret < 0;
}

int main(int argc, char **argv)
{
	int repeats = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20;
	struct rig_capture *cap = make_capture();
	int ret;

	if (!cap || repeats < 1)
		return 2;
	ret = bench_analysis(cap, repeats);
	if (ret == 0)
		ret = bench_csv(cap);
	rig_capture_free(cap);
	return ret;
}
