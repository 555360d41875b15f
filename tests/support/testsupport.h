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

/** Build a DUT protocol frame by hand from docs/protocol.md §2 (sync,
 *  version 1, type, seq, len, payload, CRC-32) into @p f, independently of
 *  the host codec, so device-side tests do not trust the code under test.
 *  Returns the frame length (12 + len). */
size_t ts_frame_build(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *p, size_t len);

/* ---- a simulated station with the fixture and suite loaded ---- */

struct rig_sim;
struct rig_fixture;
struct rig_suite;

struct ts_station {
	char *dir;                /* state directory (removed by ts_station_stop) */
	struct rig_sim *sim;
	struct rig_fixture *fx;   /* @p fixture with SIM_DIR and SIM_PORT set */
	struct rig_suite *suite;  /* fixtures/suites/calibrate.yaml */
};

/** Start a lockstep simulated station with @p nests nests and @p seed, and
 *  load RIG_SOURCE_DIR/@p fixture for it and the calibrate suite. Returns 0,
 *  or -1 with the reason on stderr. */
int ts_station_start(struct ts_station *st, unsigned nests, uint64_t seed,
		     const char *fixture);

/** Stop it and remove its state directory. */
void ts_station_stop(struct ts_station *st);

#endif
