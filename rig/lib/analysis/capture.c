/* Captures in physical units: allocation, and conversion of the DAQ's
 * signed 16-bit counts with each channel's scaling from the fixture. */
#include <math.h>
#include <stdlib.h>

#include <rig/analysis.h>

#include "core/core.h"

int rig_capture_new(double rate_hz, size_t n, int with_force, struct rig_capture **out)
{
	struct rig_capture *cap;

	*out = NULL;
	if (n == 0 || !(rate_hz > 0) || !isfinite(rate_hz))
		return rigi_fail(RIG_ERR_ARG, "capture: %zu samples at %g Hz: need at least one "
					      "sample and a positive rate", n, rate_hz);
	cap = calloc(1, sizeof(*cap));
	if (!cap)
		return rigi_fail(RIG_ERR_NOMEM, "capture: no memory");
	cap->rate_hz = rate_hz;
	cap->n = n;
	cap->disp_um = calloc(n, sizeof(double));
	if (with_force)
		cap->force_mn = calloc(n, sizeof(double));
	if (!cap->disp_um || (with_force && !cap->force_mn)) {
		rig_capture_free(cap);
		return rigi_fail(RIG_ERR_NOMEM, "capture: no memory for %zu samples", n);
	}
	*out = cap;
	return 0;
}

void rig_capture_free(struct rig_capture *cap)
{
	if (!cap)
		return;
	free(cap->disp_um);
	free(cap->force_mn);
	free(cap);
}

static int check_scale(const struct rig_channel_scale *s, const char *what)
{
	if (!s || !isfinite(s->scale) || s->scale == 0 || !isfinite(s->offset))
		return rigi_fail(RIG_ERR_ARG, "capture: %s channel scaling must be finite with a "
					      "non-zero scale; check the fixture's channel scaling", what);
	return 0;
}

/* Convert one channel; the clip limits are where counts -32768 and 32767
 * land, computed the same way so that clipped samples compare equal. */
static void convert(const int16_t *in, size_t n, size_t stride, const struct rig_channel_scale *s,
		    double *out, double *clip_lo, double *clip_hi)
{
	double a = INT16_MIN * s->scale + s->offset;
	double b = INT16_MAX * s->scale + s->offset;
	for (size_t i = 0; i < n; i++)
		out[i] = in[i * stride] * s->scale + s->offset;
	*clip_lo = a < b ? a : b;
	*clip_hi = a < b ? b : a;
}

int rig_capture_from_counts(double rate_hz, size_t n, size_t stride, const int16_t *disp,
			    const struct rig_channel_scale *disp_scale, const int16_t *force,
			    const struct rig_channel_scale *force_scale, struct rig_capture **out)
{
	struct rig_capture *cap = NULL;
	int ret;

	*out = NULL;
	if (!disp || stride == 0)
		return rigi_fail(RIG_ERR_ARG, "capture: no displacement samples or a zero stride");
	ret = check_scale(disp_scale, "displacement");
	if (ret == 0 && force)
		ret = check_scale(force_scale, "force");
	if (ret == 0)
		ret = rig_capture_new(rate_hz, n, force != NULL, &cap);
	if (ret < 0)
		return ret;
	convert(disp, n, stride, disp_scale, cap->disp_um, &cap->disp_clip_lo_um,
		&cap->disp_clip_hi_um);
	if (force)
		convert(force, n, stride, force_scale, cap->force_mn, &cap->force_clip_lo_mn,
			&cap->force_clip_hi_mn);
	*out = cap;
	return 0;
}
