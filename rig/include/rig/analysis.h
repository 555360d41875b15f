/* Stroke analysis of a DAQ capture of one nest: the needle-tip displacement
 * (µm beyond the cartridge face) and the phantom force (mN), sampled
 * synchronously. Segments the strokes, measures each one (protrusion,
 * period, contact, puncture, effective penetration, forces), rejects and
 * counts unusable strokes by reason, and summarises (DESIGN §5).
 * The algorithm, every parameter and the measurand definitions are in
 * docs/analysis.md. */
#ifndef RIG_ANALYSIS_H
#define RIG_ANALYSIS_H

#include <stddef.h>
#include <stdint.h>

#include <rig/stats.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- captures ---- */

#define RIG_CAPTURE_NAME_MAX 32

/** A two-channel capture in physical units.
 *
 *  A capture made by rig_capture_new(), rig_capture_from_counts() or
 *  rig_capture_read_csv() owns its arrays; free it with rig_capture_free().
 *  A capture you fill in yourself (e.g. on the stack, pointing at your own
 *  arrays) is only borrowed by the analysis: never pass it to
 *  rig_capture_free(). */
struct rig_capture {
	double rate_hz;   /* sample rate, > 0 */
	size_t n;         /* samples per channel */
	double *disp_um;  /* n tip positions, µm beyond the cartridge face */
	double *force_mn; /* n phantom forces, mN; NULL when there is no force channel */
	/* Limits of each channel's converter: a sample at or beyond a limit was
	 * clipped. Checked only when lo < hi, so a zeroed pair checks nothing. */
	double disp_clip_lo_um, disp_clip_hi_um;
	double force_clip_lo_mn, force_clip_hi_mn;
	/* Channel names for reports, e.g. "ch0_um" ("" when unknown). */
	char disp_name[RIG_CAPTURE_NAME_MAX];
	char force_name[RIG_CAPTURE_NAME_MAX];
};

/** Allocate a capture of @p n samples (arrays zeroed, no clip limits).
 *  @p with_force: non-zero to allocate the force array too.
 *  Returns 0, RIG_ERR_ARG (n == 0 or rate_hz not > 0) or RIG_ERR_NOMEM.
 *  On success *out is owned by the caller (rig_capture_free). */
int rig_capture_new(double rate_hz, size_t n, int with_force, struct rig_capture **out);

/** Free a capture made by this module and its arrays. NULL is a no-op. */
void rig_capture_free(struct rig_capture *cap);

/** Linear scaling of a DAQ channel: value = counts * scale + offset. */
struct rig_channel_scale {
	double scale;  /* units per count (µm or mN), non-zero */
	double offset; /* units at 0 counts */
};

/** Build a capture from signed 16-bit DAQ counts.
 *  @p disp / @p force: sample k of a channel is p[k * stride] (stride 1 for
 *  a plain array, the number of enabled channels for an interleaved DAQ
 *  buffer); @p force may be NULL (no force channel, @p force_scale ignored).
 *  The clip limits are set to the values of counts -32768 and 32767.
 *  Returns 0, RIG_ERR_ARG (n == 0, stride == 0, rate or scale invalid) or
 *  RIG_ERR_NOMEM. On success *out is owned by the caller. */
int rig_capture_from_counts(double rate_hz, size_t n, size_t stride, const int16_t *disp,
			    const struct rig_channel_scale *disp_scale, const int16_t *force,
			    const struct rig_channel_scale *force_scale, struct rig_capture **out);

/** Options of rig_capture_read_csv(); a zeroed struct picks the defaults. */
struct rig_capture_csv_options {
	/* Column holding the displacement: its full name ("ch0_um") or its
	 * channel ("ch0"). NULL: the only column whose unit is "um". */
	const char *disp_column;
	/* Column holding the force, likewise. NULL: the only column whose unit
	 * is "mN"; when there is none, the capture has no force channel. */
	const char *force_column;
	/* Sample rate when the file has no time_s column (else 0). With a
	 * time_s column, a non-zero rate must agree with it within 1 %. */
	double rate_hz;
};

/** Read a capture written by `rig daq capture`: a CSV file whose header
 *  names the columns `time_s` (optional) then `ch<N>_<unit>` (unit um, mN,
 *  ...), one row of numbers per sample; lines starting with '#' are
 *  comments. The sample rate comes from the time column (which must increase
 *  uniformly) or from @p opt->rate_hz. @p opt may be NULL (defaults).
 *  Returns 0, RIG_ERR_NOT_FOUND / RIG_ERR_IO (cannot read the file),
 *  RIG_ERR_FORMAT (malformed: the detail names file:line:column and what
 *  was expected), RIG_ERR_ARG (columns not found or ambiguous, rate missing
 *  or inconsistent) or RIG_ERR_NOMEM. On success *out is owned by the
 *  caller (rig_capture_free). */
int rig_capture_read_csv(const char *path, const struct rig_capture_csv_options *opt,
			 struct rig_capture **out);

/* ---- analysis ---- */

/** Tuning of the analysis; docs/analysis.md explains each field. Get the
 *  defaults with rig_analysis_params_default() and change what you need. */
struct rig_analysis_params {
	double range_percentile; /* robust min/max: this and 100 - this percentile of disp (1.0) */
	double thr_lo, thr_hi;   /* hysteresis thresholds, fractions of the robust span (0.30, 0.70) */
	double min_span_um;      /* a smaller displacement span holds no strokes (100 µm) */
	double smooth_s;         /* detection smoothing (box filter) length, s (0.25 ms) */
	double glitch_duration;  /* extension shorter than this x median: glitch (0.5) */
	double glitch_amplitude; /* extension smaller than this x median amplitude: glitch (0.5) */
	double glitch_gap;       /* retraction shorter than this x median: dropout, glitch (0.5) */
	double glitch_residual;  /* peak-fit residual over this x noise: spike, glitch (8) */
	double skip_ratio;       /* period over this x median: skipped stroke(s) (1.5) */
	double peak_window;      /* peak-fit half-width, fraction of the median period (0.15) */
	double contact_sigma;    /* contact threshold in force-noise sigmas (6) */
	double contact_min_mn;   /* contact threshold floor, mN (5) */
	double puncture_drop;    /* puncture: force drop, fraction of the peak force (0.3) */
	double puncture_window;  /* ... reached within this fraction of the median period (0.05) */
	double tent_residual;    /* fraction of the tenting left at the stroke's bottom (1.0) */
};

/** Fill @p p with the defaults (the values in parentheses above). */
void rig_analysis_params_default(struct rig_analysis_params *p);

/** Why a stroke is not used; also indexes rig_analysis.count. */
enum rig_stroke_status {
	RIG_STROKE_OK = 0,        /* accepted and measured */
	RIG_STROKE_PARTIAL_START, /* its cycle began before the capture */
	RIG_STROKE_PARTIAL_END,   /* its cycle ended after the capture */
	RIG_STROKE_CLIPPED,       /* a sample of its cycle hit a converter limit */
	RIG_STROKE_GLITCH,        /* too short, too small, a dropout or a spike */
	RIG_STROKE_SKIPPED,       /* a missing extension: counted, never in the stroke list */
	RIG_STROKE_N_STATUS
};

/** Stable name of a status ("ok", "partial-start", "partial-end",
 *  "clipped", "glitch", "skipped"); "?" when out of range. Static string. */
const char *rig_stroke_status_name(enum rig_stroke_status status);

/** One stroke (one extension of the needles). Measurements are NaN when
 *  the stroke is rejected or the measurand does not apply. Positions are
 *  tip positions in µm beyond the cartridge face; forces are relative to the
 *  stroke's force baseline (the median force while retracted). */
struct rig_stroke {
	enum rig_stroke_status status;
	size_t start, peak, end;  /* samples: trough before, peak, trough after */
	double t_peak_s;          /* time of the fitted peak since the first sample */
	double protrusion_um;     /* fitted peak of the displacement */
	double period_s;          /* to the next stroke (NaN when strokes were skipped) */
	double force_baseline_mn; /* median raw force while retracted */
	double peak_force_mn;     /* largest force of the cycle */
	double contact_um;        /* tip position at first contact (NaN: no contact) */
	int starts_loaded;        /* 1 when the phantom was already loaded at the trough */
	int punctured;            /* 1 when a puncture (sudden force drop) was found */
	double puncture_force_mn; /* force just before the drop */
	double puncture_um;       /* tip position at puncture */
	double tenting_um;        /* puncture_um - contact_um */
	double penetration_um;    /* protrusion_um - contact_um - tent_residual * tenting_um;
				     0 without puncture; NaN when loaded and never punctured */
	double drag_mn;           /* median force between puncture and peak */
};

/** The result. A summary with n == 0 has NaN in its other fields. */
struct rig_analysis {
	struct rig_analysis_params params; /* as used */
	double rate_hz;                    /* sample rate of the capture */
	size_t n_samples;
	/* detection */
	double disp_min_um, disp_max_um;   /* robust range of the displacement */
	double thr_lo_um, thr_hi_um;       /* hysteresis thresholds */
	double disp_noise_um;              /* displacement noise (peak-fit residuals) */
	double force_noise_mn;             /* force noise (sigma), NaN without force */
	size_t smooth_samples;             /* detection filter length */
	size_t peak_halfwidth;             /* peak fit: +/- this many samples */
	/* strokes, in capture order; owned by this struct */
	size_t n_strokes;
	struct rig_stroke *strokes;
	size_t count[RIG_STROKE_N_STATUS]; /* strokes by status; [SKIPPED]: missing ones */
	size_t n_punctured;                /* accepted strokes with a puncture */
	size_t n_loaded;                   /* accepted strokes that start loaded */
	/* summaries over accepted strokes */
	struct rig_stats protrusion_um;
	struct rig_stats period_s;
	struct rig_stats stroke_rate_hz;   /* 1 / period, strokes per second */
	double stroke_rate_u_hz;           /* standard uncertainty of its mean: sem widened
					      for the correlation of adjacent periods */
	double stroke_rate_rho1;           /* their lag-1 autocorrelation (NaN: too few) */
	struct rig_stats peak_force_mn;
	struct rig_stats penetration_um;   /* 0 for strokes without puncture */
	struct rig_stats tenting_um;       /* punctured strokes only */
	struct rig_stats drag_mn;          /* punctured strokes only */
};

/** Analyse @p cap (borrowed, not modified) with @p params (NULL: the
 *  defaults). A capture with no usable stroke is not an error: the result
 *  has count[RIG_STROKE_OK] == 0 (and n_strokes == 0 when the displacement
 *  span is below params->min_span_um: the pen is not stroking).
 *  Returns 0, RIG_ERR_ARG (rate not > 0, fewer than 16 samples, a NULL
 *  displacement array, a non-finite sample or invalid params) or
 *  RIG_ERR_NOMEM. On success *out is owned by the caller
 *  (rig_analysis_free). */
int rig_analysis_run(const struct rig_capture *cap, const struct rig_analysis_params *params,
		     struct rig_analysis **out);

/** Free a result and its stroke list. NULL is a no-op. */
void rig_analysis_free(struct rig_analysis *an);

#ifdef __cplusplus
}
#endif
#endif
