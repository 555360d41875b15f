/* Names of the pen failure modes the simulator can build a unit with. */
#include <string.h>

#include "pen.h"

static const char *const failure_names[] = {
	[SIM_FAILURE_NONE] = "none",
	[SIM_FAILURE_BENT_NEEDLE] = "bent-needle",
	[SIM_FAILURE_MISSING_NEEDLE] = "missing-needle",
	[SIM_FAILURE_SKIPPED_STROKES] = "skipped-strokes",
	[SIM_FAILURE_STALL] = "stall",
	[SIM_FAILURE_CARTRIDGE] = "cartridge-not-seated",
	[SIM_FAILURE_DETENT_SLIP] = "detent-slip",
};

#define N_FAILURES (sizeof(failure_names) / sizeof(failure_names[0]))

const char *sim_failure_name(enum sim_failure f)
{
	return (unsigned)f < N_FAILURES ? failure_names[f] : NULL;
}

int sim_failure_parse(const char *name)
{
	for (size_t i = 0; i < N_FAILURES; i++)
		if (name && !strcmp(name, failure_names[i]))
			return (int)i;
	return -1;
}
