/* Private header of the records layer: durable file writes shared by the
 * record writer and (later) the report writers. */
#ifndef RIGI_RECORDS_H
#define RIGI_RECORDS_H

#include <stddef.h>

/** Create directory @p path and any missing parents (mode 0755 less the
 *  umask). The parent of every directory created is fsynced, so the new
 *  entries survive a power loss. An existing directory is fine; an
 *  existing non-directory is RIG_ERR_IO. Returns 0 or a negative rig_err
 *  (RIG_ERR_PERMISSION, RIG_ERR_IO, RIG_ERR_NOMEM) naming the directory. */
int rigi_mkdir_p(const char *path);

/** Replace the file @p path by @p len bytes of @p data atomically: write a
 *  temporary file ".<name>.tmp-XXXXXX" in the same directory, fsync it,
 *  rename it over @p path, fsync the directory. Readers see the old
 *  content or the new, never a mix. On a failure before the rename the
 *  temporary file is removed and @p path is untouched; a failure of the
 *  final directory fsync is reported (RIG_ERR_IO) although the new content
 *  is already in place. The file's mode is 0644. */
int rigi_atomic_write(const char *path, const void *data, size_t len);

#endif
