/* Fuzz target: the journal line parser (rigi_event_from_line,
 * rig/lib/records/json.c), which recovery runs on every line of a killed
 * run's journal (docs/records.md). Oracle: an event it accepts is written
 * back by rigi_event_to_line into a line that parses again to the same
 * seq, prev hash and line text (a fixed point). */
#include <stdlib.h>
#include <string.h>

#include <rig/event.h>
#include <rig/rig.h>

#include "fuzz.h"
#include "records/records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rigi_event_buf b1, b2;
	struct rig_event e1, e2;
	uint64_t s1 = 0, s2 = 0;
	char p1[65] = "", p2[65] = "";
	char *l1 = NULL, *l2 = NULL;

	fuzz_quiet();
	memset(&b1, 0, sizeof(b1));
	memset(&b2, 0, sizeof(b2));
	if (rigi_event_from_line((const char *)data, size, "journal:1", &b1, &e1, &s1, p1) == 0) {
		FUZZ_CHECK(memchr(p1, 0, sizeof(p1)) != NULL, "prev hash not terminated");
		FUZZ_CHECK(rigi_event_to_line(&e1, s1, p1, &l1) == 0, "accepted event cannot be "
			   "written: %s", rig_last_error());
		FUZZ_ORACLE(rigi_event_from_line(l1, strlen(l1), "journal:2", &b2, &e2, &s2, p2) == 0,
			    "line written from an accepted event is refused: %s", rig_last_error());
		if (l1 && s2 == s1) {
			FUZZ_CHECK(strcmp(p1, p2) == 0, "prev hash changed in the round trip");
			FUZZ_CHECK(rigi_event_to_line(&e2, s2, p2, &l2) == 0, "second write failed");
			FUZZ_ORACLE(strcmp(l1, l2) == 0, "round trip is not a fixed point:\n%s\n%s",
				    l1, l2);
		}
	}
	free(l2);
	free(l1);
	rigi_event_buf_free(&b2);
	rigi_event_buf_free(&b1);
	return 0;
}
