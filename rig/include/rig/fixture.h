/* Station fixture files (files in fixtures/, format in docs/files.md): what a
 * station is made of — the DAQ, the nests with their pen and sensors and
 * the channel scaling, the phantom, safety limits, the station sensors' own
 * calibration certificates and the line key. Also calendar dates, which the
 * calibration due-date and phantom checks compare. */
#ifndef RIG_FIXTURE_H
#define RIG_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- calendar dates (UTC, proleptic Gregorian) ---- */

struct rig_date {
	int year;  /* 1970..9999 */
	int month; /* 1..12 */
	int day;   /* 1..31, valid for the month */
};

/** Parse "YYYY-MM-DD" (exactly that form, a real calendar day, year
 *  1970..9999). Returns 0 or RIG_ERR_FORMAT (rig_last_error() says why). */
int rig_date_parse(const char *text, struct rig_date *out);

/** Today's date on the wall clock, in UTC. */
void rig_date_today(struct rig_date *out);

/** <0, 0, >0 as @p a is before, equal to or after @p b. */
int rig_date_compare(const struct rig_date *a, const struct rig_date *b);

/** Write "YYYY-MM-DD" into @p buf (at least 11 bytes). Returns @p buf. */
char *rig_date_format(const struct rig_date *d, char *buf, size_t cap);

/* ---- fixture ---- */

#define RIG_FIXTURE_MAX_NESTS 8
#define RIG_FIXTURE_MAX_CHANNEL 15 /* DAQ channels 0..15 (16-bit channel mask) */

/** A station sensor's own calibration (its certificate). */
struct rig_sensor_cal {
	char *certificate;         /* certificate id, e.g. "DKD-K-12345/2026-0113" */
	struct rig_date calibrated;
	struct rig_date due;       /* usable up to and including this day */
	double standard_uncertainty; /* u (k = 1), in the sensor's unit */
};

/** A displacement or force sensor of a nest. */
struct rig_sensor {
	char *uri;             /* Modbus address of the sensor's slow interface */
	unsigned daq_channel;  /* DAQ channel carrying its fast signal */
	double scale;          /* unit per DAQ count */
	double offset;         /* unit; value = count * scale + offset */
	char unit[4];          /* "um" (displacement) or "mN" (force) */
	struct rig_sensor_cal cal;
};

struct rig_nest {
	unsigned index;        /* 0..RIG_FIXTURE_MAX_NESTS-1, unique */
	char *dut_uri;         /* the pen: usb://, unix:// or tcp:// */
	struct rig_sensor displacement;
	struct rig_sensor force;
};

struct rig_phantom {
	char *type;               /* material and thickness, e.g. "silicone 2 mm" */
	char *lot;                /* batch or id of the sheet installed; NULL when not given */
	struct rig_date installed;
	uint64_t max_strokes;     /* replace after this many strokes; 0: no limit */
	int has_expiry;
	struct rig_date expires;  /* replace after this day (when has_expiry) */
	double tent_residual;     /* fraction of the tenting left at the bottom of a stroke
				     after puncture, characterised for this phantom (0..1);
				     1 when not given: penetration is then a lower bound */
};

/* How the nests of a station share its DAQ (docs/files.md `daq.captures`). */
enum rig_daq_sharing {
	RIG_DAQ_SHARED = 0, /* requests at about the same time share one capture */
	RIG_DAQ_TURNS = 1,  /* one nest's capture at a time */
};

struct rig_fixture_daq {
	char *uri;                /* Modbus address of the DAQ, with its unit id */
	unsigned sample_rate_hz;
	enum rig_daq_sharing sharing;
};

struct rig_fixture_safety {
	double max_force_mn;      /* stop when the phantom force exceeds this */
	double max_protrusion_um; /* stop when the needles protrude further */
};

struct rig_fixture {
	char *path;               /* the file it was loaded from */
	char *station_id;         /* short id written into records, e.g. "SIM-01" */
	char *station_name;
	struct rig_fixture_daq daq;
	struct rig_nest nests[RIG_FIXTURE_MAX_NESTS];
	unsigned n_nests;         /* 1..RIG_FIXTURE_MAX_NESTS, in file order */
	struct rig_phantom phantom;
	struct rig_fixture_safety safety;
	char *line_key;           /* path of the line key file */
	char *store;              /* the line's results server (a PostgreSQL address, no
				     password); NULL: this station's SQLite only */
	char *signing_key;        /* the station's Ed25519 record-signing key file; NULL:
				     <fixture folder>/<station id>.signing.key */
	char *report_formats;     /* reports made after each run: "html,pdf", "all", "none";
				     NULL: all */
	int keep_captures;        /* enum rig_keep_captures: raw captures kept with a run */
};

/** Load the fixture file at @p path. String values may contain ${NAME},
 *  expanded from @p vars (NULL-terminated "NAME=VALUE" strings, may be
 *  NULL) and then from the environment; "$$" is a literal "$". Every
 *  problem is RIG_ERR_FORMAT with rig_last_error() "FILE:LINE:COL: what was
 *  expected, what was found" (an undefined variable included); an unreadable
 *  file is RIG_ERR_NOT_FOUND, RIG_ERR_PERMISSION or RIG_ERR_IO.
 *  On success the caller owns *out and frees it with rig_fixture_free(). */
int rig_fixture_load(const char *path, const char *const *vars, struct rig_fixture **out);

/** Free a fixture; NULL is a no-op. */
void rig_fixture_free(struct rig_fixture *fixture);

/** The nest with index @p index, or NULL. */
const struct rig_nest *rig_fixture_nest(const struct rig_fixture *fixture, unsigned index);

/** Refuse an out-of-date station: checks every sensor's calibration on
 *  @p today (overdue when today is after the due date; also refused when the
 *  certificate is dated after today, which means the clock is wrong).
 *  Returns 0 when all are in date (*detail = NULL), RIG_ERR_STATE when not:
 *  *detail (malloc'd, caller frees with free()) and rig_last_error() name
 *  each offending sensor, its certificate and due date. @p detail may be
 *  NULL when the text is not wanted. */
int rig_fixture_check_due(const struct rig_fixture *fixture, const struct rig_date *today,
			  char **detail);

/** Check the phantom is fresh on @p today after @p strokes_used strokes on
 *  it (the caller's count since it was installed). Returns 0, or
 *  RIG_ERR_STATE with rig_last_error() saying which limit was reached. */
int rig_fixture_check_phantom(const struct rig_fixture *fixture, const struct rig_date *today,
			      uint64_t strokes_used);

#ifdef __cplusplus
}
#endif
#endif
