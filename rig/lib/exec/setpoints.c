/* The pen's user setpoints, from its identity: one list used to plan the
 * as-found/as-left points, to pick the rate sweep's load, and to place the
 * table's knots, so that every setpoint written into a table is judged. */
#include "core/core.h"
#include "exec/exec.h"

int rigi_user_depths(const struct rig_dut_identity *id, uint16_t *out, size_t cap)
{
	size_t n = 0;
	unsigned step = id->depth_step_um;
	if (id->depth_min_um > id->depth_max_um || id->depth_max_um == 0)
		return rigi_fail(RIG_ERR_PROTOCOL, "pen %s declares depth range %u..%u um",
				 id->serial, id->depth_min_um, id->depth_max_um);
	for (unsigned d = id->depth_min_um; d <= id->depth_max_um; d += step ? step : 65536u) {
		if (n == cap)
			goto too_many;
		out[n++] = (uint16_t)d;
	}
	if (out[n - 1] < id->depth_max_um) {
		if (n == cap)
			goto too_many;
		out[n++] = id->depth_max_um;
	}
	return (int)n;
too_many:
	return rigi_fail(RIG_ERR_RANGE, "pen %s declares more than %zu depth setpoints "
					"(%u..%u um by %u um)",
			 id->serial, cap, id->depth_min_um, id->depth_max_um, step);
}

int rigi_user_rates(const struct rig_dut_identity *id, uint16_t *out, size_t cap)
{
	size_t n = 0;
	if (id->n_speed_levels == 0 || id->n_speed_levels > 8 || id->n_speed_levels > cap)
		return rigi_fail(RIG_ERR_PROTOCOL, "pen %s declares %u speed levels (1..8 expected)",
				 id->serial, id->n_speed_levels);
	for (unsigned i = 0; i < id->n_speed_levels; i++)
		if (!n || id->speed_levels[i] > out[n - 1])
			out[n++] = id->speed_levels[i];
	return (int)n;
}

/* Of an even count the lower of the two middle ones: 4 setpoints give the
 * 2nd (index 1). Lower, because the rate sweep and the rate checks then run
 * at the lighter of the two loads (docs/files.md "Steps"). */
size_t rigi_middle_index(size_t n)
{
	return n > 0 ? (n - 1) / 2 : 0;
}

uint16_t rigi_middle_depth(const struct rig_dut_identity *id)
{
	uint16_t d[RIGI_MAX_SETPOINTS];
	int n = rigi_user_depths(id, d, RIGI_MAX_SETPOINTS);
	return n > 0 ? d[rigi_middle_index((size_t)n)] : id->depth_min_um;
}
