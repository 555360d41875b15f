/* Fuzz target: the capture CSV reader (rig_capture_read_csv,
 * rig/lib/analysis/capture_csv.c) and the stroke analysis on whatever it
 * accepts (rig_analysis_run). Input: an options byte, then the file (written
 * to a private temp directory). Options bits 0-1: displacement column NULL,
 * "ch0", "ch0_um" or "ch1"; bits 2-3: force column NULL, "ch1", "ch1_mN",
 * "ch0"; bit 4: rate_hz 10000 given. Oracles: an accepted capture has a
 * rate > 0 and finite samples (docs/analysis.md §6); refusals name the file. */
#include <math.h>
#include <string.h>

#include <rig/analysis.h>
#include <rig/rig.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const disp[4] = {NULL, "ch0", "ch0_um", "ch1"};
	static const char *const force[4] = {NULL, "ch1", "ch1_mN", "ch0"};
	struct rig_capture_csv_options opt;
	struct rig_capture *cap = NULL;
	struct rig_analysis *an = NULL;
	const char *path;
	int ret;

	fuzz_quiet();
	if (size < 1)
		return 0;
	memset(&opt, 0, sizeof(opt));
	opt.disp_column = disp[data[0] & 3];
	opt.force_column = force[(data[0] >> 2) & 3];
	opt.rate_hz = (data[0] & 0x10) ? 10000.0 : 0.0;
	path = fuzz_write_file("capture.csv", data + 1, size - 1);
	ret = rig_capture_read_csv(path, &opt, &cap);
	if (ret < 0) {
		FUZZ_CHECK(cap == NULL, "failed read left a capture");
		FUZZ_CHECK(strstr(rig_last_error(), "capture.csv") != NULL,
			   "refusal without the file name: %s", rig_last_error());
		return 0;
	}
	FUZZ_CHECK(cap && cap->disp_um && cap->rate_hz > 0 && isfinite(cap->rate_hz),
		   "accepted capture without displacement or rate");
	for (size_t i = 0; i < cap->n; i++) {
		FUZZ_ORACLE(isfinite(cap->disp_um[i]), "sample %zu displacement not finite", i);
		if (cap->force_mn)
			FUZZ_ORACLE(isfinite(cap->force_mn[i]), "sample %zu force not finite", i);
	}
	if (rig_analysis_run(cap, NULL, &an) == 0)
		rig_analysis_free(an);
	rig_capture_free(cap);
	return 0;
}
