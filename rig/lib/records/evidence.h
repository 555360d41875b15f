/* Private header of the records layer: one attempt's evidence on disk —
 * its run folder, journal, record and signature (evidence.c). */
#ifndef RIGI_RECORDS_EVIDENCE_H
#define RIGI_RECORDS_EVIDENCE_H

#include <rig/event.h>
#include <rig/record.h>

#include "records/journal.h"

#define RIGI_PATH_MAX 1024
#define RIGI_UNIDENTIFIED "_unidentified"

struct rigi_evidence {
	char reports[RIGI_PATH_MAX];
	char calibrations[RIGI_PATH_MAX];
	char signing_key[RIGI_PATH_MAX];  /* "" : records are not signed */
	char run_id[RIG_RUN_ID_MAX];
	char dir[RIGI_PATH_MAX];          /* the run folder now */
	char journal_path[RIGI_PATH_MAX];
	char open_entry[RIGI_PATH_MAX];   /* <reports>/.open/<run-id> */
	struct rigi_journal journal;
	int failed;                       /* a write failed: the rig must stop */
	int moved;                        /* the folder is under the serial now */
};

/** Called by rigi_evidence_close with the finished record, while the run
 *  still holds its journal's lock (the reports are made then). */
typedef void (*rigi_evidence_fn)(const struct rig_record *rec, const char *dir, void *user);

/** Open an attempt's evidence before anything is touched: the folder
 *  <reports>/_unidentified/<run-id>/, its entry in <reports>/.open/ (which
 *  names the folder, the calibrations directory and the signing key, so a
 *  later recovery finds everything), and the locked journal. */
int rigi_evidence_open(struct rigi_evidence *e, const char *reports, const char *calibrations,
		       const char *signing_key, const char *run_id);

/** The journal sink (struct rig_event_sink.on_event, @p user the
 *  evidence): appends the event; at the unit event the folder moves to
 *  <reports>/<serial>/<run-id>/. */
int rigi_evidence_sink(const struct rig_event *ev, void *user);

/** End of the attempt (after its run_end event): close the journal, build
 *  the record from it, write record.json atomically, sign it into
 *  record.sig, update the phantom's stroke count, call @p before_release
 *  (may be NULL), remove stray temporary files and the .open entry, and
 *  only then release the journal's lock. *@p rec (may be NULL) receives the record;
 *  @p path its file. */
int rigi_evidence_close(struct rigi_evidence *e, rigi_evidence_fn before_release, void *user,
			struct rig_record **rec, char *path, size_t cap);

/** Strokes on the phantom of @p station_id installed on @p installed (lot
 *  @p lot, may be ""), as counted by the runs recorded in @p reports. */
uint64_t rigi_phantom_strokes(const char *reports, const char *station_id, const char *installed,
			      const char *lot);

/** Build the record of the run folder @p dir from its journal, write
 *  record.json atomically and (with @p signing_key) record.sig. */
int rigi_finalize_run(const char *dir, const char *signing_key, struct rig_record **out,
		      char *path, size_t cap);

/** Remove the temporary files of interrupted atomic writes of run
 *  @p run_id: in its folder @p dir and in <calibrations>/<serial>/.
 *  Returns how many; @p stats (may be NULL) counts them too. */
unsigned rigi_remove_run_temps(const char *dir, const char *calibrations, const char *serial,
			       const char *run_id, unsigned *stats);

/** Add the strokes run @p st put on its phantom to the station's count. */
int rigi_phantom_add(const char *reports, const struct rig_record_station *st);

#endif
