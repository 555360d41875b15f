/* Fuzz target: the run record JSON loader (rig_record_from_json,
 * rig/lib/records/json.c), as `rig records verify` and the store import
 * use it. Oracle: a record it accepts is written back by rig_record_to_json
 * into JSON that loads again and is written identically (a fixed point:
 * what a record says survives a round trip). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rig/record.h>
#include <rig/rig.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig_record *a = NULL, *b = NULL;
	char *text, *ja = NULL, *jb = NULL;

	fuzz_quiet();
	text = fuzz_strndup(data, size);
	int ret = rig_record_from_json(text, "fuzz.json", &a);

	if (getenv("RIG_FUZZ_VERBOSE"))
		fprintf(stderr, "record_json: %d %s\n", ret, ret ? rig_last_error() : "");
	if (ret == 0) {
		FUZZ_CHECK(rig_record_to_json(a, &ja) == 0, "accepted record cannot be written: %s",
			   rig_last_error());
		FUZZ_ORACLE(rig_record_from_json(ja, "rewritten.json", &b) == 0,
			    "record written from an accepted one is refused: %s", rig_last_error());
		if (b) {
			FUZZ_CHECK(rig_record_to_json(b, &jb) == 0, "second write failed");
			FUZZ_ORACLE(strcmp(ja, jb) == 0, "round trip is not a fixed point");
		}
	} else {
		FUZZ_CHECK(a == NULL, "failed load left a record");
	}
	free(jb);
	free(ja);
	rig_record_free(b);
	rig_record_free(a);
	free(text);
	return 0;
}
