/* Fuzz target: the YAML suite loader (rig_suite_load, rig/lib/exec/suite.c
 * over rig/lib/core/yaml.c) on arbitrary files written to a private temp
 * directory. Oracle: a refusal has a detail naming the file; a failed load
 * leaves no suite. */
#include <string.h>

#include <rig/rig.h>
#include <rig/suite.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rig_suite *suite = NULL;
	const char *path;
	int ret;

	fuzz_quiet();
	path = fuzz_write_file("suite.yaml", data, size);
	ret = rig_suite_load(path, &suite);
	if (ret < 0) {
		FUZZ_CHECK(suite == NULL, "failed load left a suite");
		FUZZ_CHECK(strstr(rig_last_error(), "suite.yaml") != NULL,
			   "refusal without the file name: %s", rig_last_error());
		return 0;
	}
	FUZZ_CHECK(suite != NULL, "load returned 0 without a suite");
	rig_suite_free(suite);
	return 0;
}
