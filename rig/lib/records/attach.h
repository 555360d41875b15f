/* Private header of the records layer: the attachments a run keeps beside
 * its record — every stroke of every capture in strokes.csv, and raw
 * captures, gzip'd, in captures/ (attach.c; docs/reports.md). */
#ifndef RIGI_RECORDS_ATTACH_H
#define RIGI_RECORDS_ATTACH_H

#include <stdio.h>

#include <rig/event.h>
#include <rig/report.h>

#include "records/evidence.h"

#define RIGI_STROKES_CSV_HEADER                                                            \
	"run_id,step,step_name,capture,label,stroke,status,t_peak_s,protrusion_um,period_s,"   \
	"force_baseline_mn,peak_force_mn,contact_um,punctured,puncture_force_mn,puncture_um,"  \
	"tenting_um,penetration_um,accepted\n"

struct rigi_attach {
	const struct rigi_evidence *ev;  /* where the run folder is now */
	enum rig_keep_captures keep;
	char run_id[RIG_RUN_ID_MAX];
	unsigned step;                   /* the step now */
	char step_name[64], step_type[24];
	int kept_in_step;                /* a capture of this step was kept */
	unsigned n_captures;             /* captures so far in the run */
	FILE *strokes;                   /* strokes.csv, open for appending */
};

/** Attachments of the run whose evidence is @p ev. */
void rigi_attach_init(struct rigi_attach *a, const struct rigi_evidence *ev,
		      enum rig_keep_captures keep);

/** The attachments sink (struct rig_event_sink.on_event, @p user the
 *  rigi_attach). Not required: a failure drops it, the run goes on. */
int rigi_attach_sink(const struct rig_event *ev, void *user);

/** Close what is open (at the end of the run). */
void rigi_attach_close(struct rigi_attach *a);

#endif
