/* Shared fixtures for the cmocka tests: temporary directories, free ports,
 * and the includes every test needs. */
#ifndef RIG_TESTSUPPORT_H
#define RIG_TESTSUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/** Create a fresh temporary directory (removed by ts_rmtree). Returns a
 *  malloc'd path. */
char *ts_mkdtemp(const char *tag);

/** Remove a directory tree (best effort). */
void ts_rmtree(const char *path);

/** A TCP port on 127.0.0.1 that was free a moment ago. */
unsigned short ts_free_port(void);

#endif
