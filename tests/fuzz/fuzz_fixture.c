/* Fuzz target: the YAML fixture loader (rig_fixture_load, rig/lib/exec/
 * fixture.c over rig/lib/core/yaml.c) on arbitrary files, and on what it
 * accepts, the calibration-due and phantom checks. The loader takes a path:
 * each input is written to a file in a private temp directory. Oracle: a
 * refusal always has a detail naming the file. */
#include <stdlib.h>
#include <string.h>

#include <rig/fixture.h>
#include <rig/rig.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const vars[] = {"STATION=fuzz-01", "NEST=0", NULL};
	const struct rig_date today = {2026, 12, 3};
	struct rig_fixture *fx = NULL;
	const char *path;
	char *detail = NULL;
	int ret;

	fuzz_quiet();
	path = fuzz_write_file("fixture.yaml", data, size);
	ret = rig_fixture_load(path, vars, &fx);
	if (ret < 0) {
		FUZZ_CHECK(fx == NULL, "failed load left a fixture");
		FUZZ_CHECK(strstr(rig_last_error(), "fixture.yaml") != NULL,
			   "refusal without the file name: %s", rig_last_error());
		return 0;
	}
	FUZZ_CHECK(fx != NULL, "load returned 0 without a fixture");
	for (unsigned i = 0; i < RIG_FIXTURE_MAX_NESTS; i++) {
		const struct rig_nest *nest = rig_fixture_nest(fx, i);
		FUZZ_CHECK(!nest || nest->index == i, "nest %u has index %u", i, nest->index);
	}
	(void)rig_fixture_check_due(fx, &today, &detail);
	free(detail);
	(void)rig_fixture_check_phantom(fx, &today, 1000);
	rig_fixture_free(fx);
	return 0;
}
