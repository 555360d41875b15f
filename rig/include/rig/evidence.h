/* What a run leaves on disk, and the tools of an auditor (docs/records.md):
 * closing the journals of runs that died (host crash, kill -9, power cut)
 * into records, and verifying that a record is what its run wrote. */
#ifndef RIG_EVIDENCE_H
#define RIG_EVIDENCE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Called for each run recovered or checked by rig_records_recover. */
typedef void (*rig_recover_fn)(const char *run_dir, const char *what, void *user);

struct rig_recover_stats {
	unsigned recovered;   /* journals closed into a record */
	unsigned live;        /* runs still going on (left alone) */
	unsigned temp_removed;/* stray temporary files removed */
	unsigned failed;      /* journals that could not be closed (see the callback) */
};

/** Close every run under @p reports_dir whose journal has no final record
 *  and whose process is gone: the record says ERROR (ABORTED when its last
 *  step was) "run did not finish: last event ...", and the stray temporary
 *  files of its interrupted writes (in its folder and in
 *  @p calibrations_dir) are removed. @p deep also walks every run folder
 *  (not only the registered open runs). @p signing_key (may be NULL) signs
 *  recovered records whose run did not name one. Returns 0 or a negative
 *  rig_err when @p reports_dir cannot be read. */
int rig_records_recover(const char *reports_dir, const char *calibrations_dir,
			const char *signing_key, int deep, rig_recover_fn fn, void *user,
			struct rig_recover_stats *stats);

/** Verify one record (a run folder or its record.json): the Ed25519
 *  signature in record.sig over record.json's bytes, the journal's hash
 *  chain, and that the record is exactly what its journal builds.
 *  @p public_key_file (may be NULL) is the station's published key, which
 *  the record's key must equal. Returns 0 when all hold;
 *  RIG_ERR_SIGNATURE when something was changed after the fact, with
 *  @p detail naming the file and the field or line; RIG_ERR_FORMAT /
 *  RIG_ERR_NOT_FOUND for unreadable evidence. */
int rig_records_verify(const char *path, const char *public_key_file, char *detail, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
