/* Private helpers shared by the instrument drivers (daq.c, sensor.c):
 * opening an instrument by URI and checking its identity block. */
#ifndef RIGI_INSTR_INSTR_H
#define RIGI_INSTR_INSTR_H

#include <stdint.h>

#include <rig/instr.h>

#include "instr/modbus.h"

/* Common block (docs/registers.md). */
#define RIGI_IR_DEVICE_TYPE 0x0000
#define RIGI_IR_STATUS 0x0010
#define RIGI_HR_COMMAND 0x0100
#define RIGI_MAP_VERSION 1
#define RIGI_DAQ_MAP_VERSION_MAX 2 /* the DAQ's map 2 reads the buffer while capturing */

/** Parse @p uri, open the instrument, read its identity block into @p id
 *  and check it is a @p expected_type device speaking map version 1.
 *  @param out receives the Modbus handle (rigi_mb_close). */
int rigi_instr_open(const char *uri, uint16_t expected_type, struct rigi_mb **out,
		    struct rig_instr_identity *id);

/** "a force sensor", "a DAQ", ... or "an unknown device". */
const char *rigi_instr_kind(uint16_t device_type);

#endif
