/* Register-map helpers shared by the simulated instruments (sensor.c,
 * daqsim.c): which addresses a device lists, and 32-bit register pairs.
 * The simulated instruments implement docs/registers.md on their own; they
 * share nothing with the rig's drivers but the Modbus server. */
#ifndef SIM_STATION_REGS_H
#define SIM_STATION_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "instr/modbus.h" /* exception codes of the Modbus server */

/* A run of consecutive listed registers. */
struct sim_regspan {
	uint16_t first;
	uint16_t count;
};

/** True when [addr, addr + n) lies inside one listed span: a request that
 *  touches an unlisted address gets exception 0x02. */
static inline bool sim_regs_listed(const struct sim_regspan *spans, size_t n_spans,
				   uint16_t addr, uint16_t n)
{
	for (size_t i = 0; i < n_spans; i++)
		if (addr >= spans[i].first &&
		    (uint32_t)addr + n <= (uint32_t)spans[i].first + spans[i].count)
			return true;
	return false;
}

/** 32-bit value into two registers, high word first. */
static inline void sim_regs_put_u32(uint16_t *regs, uint32_t v)
{
	regs[0] = (uint16_t)(v >> 16);
	regs[1] = (uint16_t)v;
}

static inline uint32_t sim_regs_u32(const uint16_t *regs)
{
	return ((uint32_t)regs[0] << 16) | regs[1];
}

#endif
