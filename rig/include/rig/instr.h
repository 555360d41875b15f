/* Drivers of the station's instruments (docs/registers.md): the DAQ that
 * captures fast synchronous waveforms, and each nest's force and
 * displacement sensors (slow readings, tare / zero). Every instrument is a
 * Modbus device addressed by a URI such as
 * "modbus-tcp://127.0.0.1:1502?unit=1" or
 * "modbus-rtu:///dev/ttyUSB0?baud=115200&unit=10"; instruments on the same
 * TCP server or RTU line share one link. Functions return 0 or a negative
 * enum rig_err with a detail in rig_last_error(). A handle may be used from
 * one thread at a time; different handles may be used concurrently. */
#ifndef RIG_INSTR_H
#define RIG_INSTR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Device types (input register 0x0000). */
#define RIG_DEVICE_DAQ 0x4451u          /* "DQ" */
#define RIG_DEVICE_FORCE 0x4653u        /* "FS" */
#define RIG_DEVICE_DISPLACEMENT 0x4453u /* "DS" */

/** Identity block common to every instrument. */
struct rig_instr_identity {
	uint16_t device_type;
	uint16_t map_version; /* register map version (this rig speaks 1; a DAQ also 2) */
	uint32_t serial;
	uint16_t firmware;    /* major << 8 | minor */
};

/* ====================================================================
 * DAQ
 * ==================================================================== */

struct rig_daq;

enum rig_daq_trigger {
	RIG_DAQ_TRIGGER_IMMEDIATE = 0, /* the capture starts at arm */
	RIG_DAQ_TRIGGER_SOFTWARE = 1,  /* the capture starts at rig_daq_trigger */
};

enum rig_daq_status {
	RIG_DAQ_IDLE = 0,
	RIG_DAQ_ARMED = 1,
	RIG_DAQ_CAPTURING = 2,
	RIG_DAQ_DONE = 3,
	RIG_DAQ_FAULT = 4,
};

struct rig_daq_info {
	struct rig_instr_identity id;
	unsigned channels;
	uint32_t max_rate_hz;
	uint32_t capacity; /* samples, all channels together */
};

struct rig_daq_config {
	uint32_t rate_hz;             /* 1 .. max_rate_hz */
	uint32_t samples_per_channel; /* >= 1; times enabled channels <= capacity */
	uint16_t channel_mask;        /* bit i enables channel i */
	enum rig_daq_trigger trigger;
};

/** Open the DAQ at @p uri and check it is one (device type, map version).
 *  @param out receives the handle; close with rig_daq_close.
 *  @return 0, RIG_ERR_FORMAT (bad URI), RIG_ERR_NOT_FOUND (another kind of
 *  instrument answers at that unit), RIG_ERR_UNSUPPORTED (register map
 *  version), or a link error (RIG_ERR_DISCONNECTED, RIG_ERR_TIMEOUT, ...). */
int rig_daq_open(const char *uri, struct rig_daq **out);

/** Close the handle. NULL is a no-op. The DAQ itself is left as it is. */
void rig_daq_close(struct rig_daq *daq);

/** Identity, channel count, maximum rate and buffer capacity, read at open.
 *  The pointer stays valid until rig_daq_close. */
const struct rig_daq_info *rig_daq_get_info(const struct rig_daq *daq);

/** Check @p cfg against the DAQ's limits and write it. A DAQ that is
 *  armed, capturing or in FAULT is aborted first and latched flags are
 *  cleared, so the next capture starts clean.
 *  @return 0, RIG_ERR_RANGE (a value outside the DAQ's limits; nothing
 *  written), or a link / instrument error. */
int rig_daq_configure(struct rig_daq *daq, const struct rig_daq_config *cfg);

/** Arm with the last configuration. With an immediate trigger the capture
 *  starts now. @return 0, RIG_ERR_STATE (not configured),
 *  RIG_ERR_RANGE (the DAQ set CONFIG_ERROR), RIG_ERR_BUSY (already armed or
 *  capturing), or a link error. */
int rig_daq_arm(struct rig_daq *daq);

/** Start an armed capture (software trigger).
 *  @return 0, RIG_ERR_BUSY (not armed), or a link error. */
int rig_daq_trigger(struct rig_daq *daq);

/** Poll the DAQ until the capture is done, at most @p timeout_ms.
 *  @return 0 (DONE), RIG_ERR_OVERRUN (samples lost: the data must not be
 *  used), RIG_ERR_INSTRUMENT (FAULT for another reason), RIG_ERR_STATE (the
 *  DAQ went idle: aborted or never armed), RIG_ERR_TIMEOUT,
 *  RIG_ERR_INTERRUPTED, or a link error. */
int rig_daq_wait(struct rig_daq *daq, int timeout_ms);

/** rig_daq_wait that calls @p idle(@p arg) between polls, at least every
 *  100 ms, so the caller can keep its other links alive (a pen's host-loss
 *  watchdog); a negative return of @p idle ends the wait with it. */
int rig_daq_wait_idle(struct rig_daq *daq, int timeout_ms, int (*idle)(void *arg), void *arg);

/** Samples in the configured capture: samples_per_channel times the number
 *  of enabled channels (0 before rig_daq_configure). */
size_t rig_daq_capture_size(const struct rig_daq *daq);

/** Read the finished capture into @p buf (capacity @p cap samples), in the
 *  DAQ's order: interleaved by enabled channel in increasing channel
 *  number. Reads the buffer window page by page in 125-register blocks.
 *  @param n_read receives the number of samples (may be NULL).
 *  @return 0, RIG_ERR_ARG (@p cap smaller than rig_daq_capture_size),
 *  RIG_ERR_STATE (no finished capture), or a link error. */
int rig_daq_read(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read);
/** rig_daq_read that calls @p idle(@p arg) before every Modbus read: a big
 *  capture takes a while to read out, and a running pen must be kept alive
 *  meanwhile. A non-zero return of @p idle ends the read with that value. */
int rig_daq_read_idle(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read,
		      int (*idle)(void *arg), void *arg);
/** Wait for the armed capture and read it out, calling @p idle (may be
 *  NULL) as rig_daq_wait_idle and rig_daq_read_idle do. From a DAQ of
 *  register map 2 the buffer is read while the capture runs, so the data is
 *  in @p buf soon after the capture ends; from map 1, after DONE. Errors as
 *  rig_daq_wait and rig_daq_read. */
int rig_daq_collect_idle(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read,
			 int timeout_ms, int (*idle)(void *arg), void *arg);

/** Abort any capture; the DAQ returns to IDLE and its data is discarded. */
int rig_daq_abort(struct rig_daq *daq);

/** Present status and samples captured so far per channel (either pointer
 *  may be NULL). */
int rig_daq_status(struct rig_daq *daq, enum rig_daq_status *status, uint32_t *captured);

/** "IDLE", "ARMED", "CAPTURING", "DONE", "FAULT" (static; "?" otherwise). */
const char *rig_daq_status_name(enum rig_daq_status status);

/* ====================================================================
 * Force and displacement sensors
 * ==================================================================== */

enum rig_sensor_status {
	RIG_SENSOR_OK = 0,
	RIG_SENSOR_OVER_RANGE = 1, /* force: OVERLOAD; displacement: OUT_OF_RANGE */
	RIG_SENSOR_FAULT = 2,      /* dead or disconnected sensor head */
};

/* Flags (latched by the instrument until cleared). */
#define RIG_SENSOR_FLAG_OVER_RANGE 0x0001u /* an overload / out of range occurred */
#define RIG_SENSOR_FLAG_FAULT 0x0002u
#define RIG_SENSOR_FLAG_REFERENCED 0x0004u /* force: TARED; displacement: ZEROED */

struct rig_sensor_reading {
	double value; /* force in mN, displacement in µm */
	enum rig_sensor_status status;
	uint16_t flags;
};

struct rig_sensor_info {
	struct rig_instr_identity id;
	double range; /* full scale: mN, or µm (measures -range .. +range) */
};

/** "OK", "OVER_RANGE", "FAULT" (static; "?" otherwise). */
const char *rig_sensor_status_name(enum rig_sensor_status status);

struct rig_force;

/** Open the force sensor at @p uri and check it is one. Errors as
 *  rig_daq_open. @param out receives the handle (rig_force_close). */
int rig_force_open(const char *uri, struct rig_force **out);

/** Close. NULL is a no-op. */
void rig_force_close(struct rig_force *fs);

/** Identity and range, read at open; valid until close. */
const struct rig_sensor_info *rig_force_get_info(const struct rig_force *fs);

/** One slow reading in mN (tare applied). @p out is filled whenever the
 *  instrument answered. @return 0 (status OK), RIG_ERR_INSTRUMENT (status
 *  OVERLOAD or FAULT: the value is not a valid measurement), or a link
 *  error. */
int rig_force_read(struct rig_force *fs, struct rig_sensor_reading *out);

/** Tare: the present force becomes zero. @return 0, RIG_ERR_INSTRUMENT
 *  (sensor in FAULT), or a link error. */
int rig_force_tare(struct rig_force *fs);

/** Clear the latched flags. */
int rig_force_clear(struct rig_force *fs);

struct rig_displacement;

/** Open the displacement sensor at @p uri and check it is one. */
int rig_displacement_open(const char *uri, struct rig_displacement **out);

/** Close. NULL is a no-op. */
void rig_displacement_close(struct rig_displacement *ds);

/** Identity and range, read at open; valid until close. */
const struct rig_sensor_info *rig_displacement_get_info(const struct rig_displacement *ds);

/** One slow reading in µm (positive: needle tips beyond the cartridge face).
 *  Returns as rig_force_read (RIG_ERR_INSTRUMENT when OUT_OF_RANGE or FAULT). */
int rig_displacement_read(struct rig_displacement *ds, struct rig_sensor_reading *out);

/** Zero: re-reference to the nest's flush gauge, removing offset drift. */
int rig_displacement_zero(struct rig_displacement *ds);

/** Clear the latched flags. */
int rig_displacement_clear(struct rig_displacement *ds);

#ifdef __cplusplus
}
#endif
#endif
