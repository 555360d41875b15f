/* Drivers of a nest's slow sensors: the force sensor (device type 0x4653)
 * and the displacement sensor (0x4453). Both share one register layout
 * (docs/registers.md), so one implementation serves both, parameterised by
 * a const description of each kind. */
#include <stdlib.h>

#include <rig/error.h>

#include "core/core.h"
#include "instr/instr.h"

#define IR_RANGE 0x0014

enum sensor_cmd { CMD_REFERENCE = 1, CMD_CLEAR_FLAGS = 2 };

/* What differs between the two kinds of sensor. */
struct sensor_kind {
	uint16_t device_type;
	const char *name;      /* "force sensor" */
	const char *unit;      /* as printed */
	double scale;          /* register count -> unit */
	const char *over_name; /* status 1 */
	const char *reference; /* command 1 */
	const char *over_hint;
};

static const struct sensor_kind force_kind = {
	.device_type = RIG_DEVICE_FORCE,
	.name = "force sensor",
	.unit = "mN",
	.scale = 1.0,
	.over_name = "OVERLOAD",
	.reference = "TARE",
	.over_hint = "remove the load (check the phantom and the nest's safety limits), then "
		     "clear the flags",
};

static const struct sensor_kind displacement_kind = {
	.device_type = RIG_DEVICE_DISPLACEMENT,
	.name = "displacement sensor",
	.unit = "um",
	.scale = 0.1,
	.over_name = "OUT_OF_RANGE",
	.reference = "ZERO",
	.over_hint = "check the laser is aimed at the needle hub and the pen is seated in "
		     "the nest",
};

struct sensor {
	const struct sensor_kind *kind;
	struct rigi_mb *mb;
	struct rig_sensor_info info;
};

struct rig_force {
	struct sensor s;
};

struct rig_displacement {
	struct sensor s;
};

const char *rig_sensor_status_name(enum rig_sensor_status status)
{
	static const char *const names[] = {"OK", "OVER_RANGE", "FAULT"};
	return (unsigned)status < 3 ? names[status] : "?";
}

static int sensor_open(struct sensor *s, const struct sensor_kind *kind, const char *uri)
{
	uint32_t range;
	int ret;

	s->kind = kind;
	ret = rigi_instr_open(uri, kind->device_type, &s->mb, &s->info.id);
	if (ret == 0)
		ret = rigi_mb_read_input_u32(s->mb, IR_RANGE, &range);
	if (ret < 0)
		return ret;
	s->info.range = range * kind->scale;
	return 0;
}

static int sensor_read(struct sensor *s, struct rig_sensor_reading *out)
{
	const struct sensor_kind *k = s->kind;
	uint16_t regs[4];
	int ret = rigi_mb_read_input(s->mb, RIGI_IR_STATUS, 4, regs);

	if (ret < 0)
		return ret;
	out->status = (enum rig_sensor_status)regs[0];
	out->flags = regs[1];
	out->value = rigi_mb_i32(regs + 2) * k->scale;
	switch (out->status) {
	case RIG_SENSOR_OK:
		return 0;
	case RIG_SENSOR_OVER_RANGE:
		return rigi_fail(RIG_ERR_INSTRUMENT, "%s: %s reports %s (%.1f %s, range +/-%.0f %s); "
				 "%s", rigi_mb_where(s->mb), k->name, k->over_name, out->value,
				 k->unit, s->info.range, k->unit, k->over_hint);
	case RIG_SENSOR_FAULT:
		return rigi_fail(RIG_ERR_INSTRUMENT, "%s: %s reports FAULT (value %.1f %s is not a "
				 "measurement); check the sensor head, its cable and its power",
				 rigi_mb_where(s->mb), k->name, out->value, k->unit);
	}
	return rigi_fail(RIG_ERR_PROTOCOL, "%s: %s: unknown status %u", rigi_mb_where(s->mb),
			 k->name, regs[0]);
}

static int sensor_command(struct sensor *s, enum sensor_cmd cmd)
{
	int ret = rigi_mb_write(s->mb, RIGI_HR_COMMAND, (uint16_t)cmd);
	if (ret < 0)
		rigi_error_context("%s %s", s->kind->name,
				   cmd == CMD_REFERENCE ? s->kind->reference : "CLEAR_FLAGS");
	return ret;
}

/* ---- force ---- */

int rig_force_open(const char *uri, struct rig_force **out)
{
	struct rig_force *fs = calloc(1, sizeof(*fs));
	int ret;

	*out = NULL;
	if (!fs)
		return rigi_fail(RIG_ERR_NOMEM, "force sensor %s: out of memory", uri);
	ret = sensor_open(&fs->s, &force_kind, uri);
	if (ret < 0) {
		rig_force_close(fs);
		return ret;
	}
	*out = fs;
	return 0;
}

void rig_force_close(struct rig_force *fs)
{
	if (!fs)
		return;
	rigi_mb_close(fs->s.mb);
	free(fs);
}

const struct rig_sensor_info *rig_force_get_info(const struct rig_force *fs)
{
	return &fs->s.info;
}

int rig_force_read(struct rig_force *fs, struct rig_sensor_reading *out)
{
	return sensor_read(&fs->s, out);
}

int rig_force_tare(struct rig_force *fs)
{
	return sensor_command(&fs->s, CMD_REFERENCE);
}

int rig_force_clear(struct rig_force *fs)
{
	return sensor_command(&fs->s, CMD_CLEAR_FLAGS);
}

/* ---- displacement ---- */

int rig_displacement_open(const char *uri, struct rig_displacement **out)
{
	struct rig_displacement *ds = calloc(1, sizeof(*ds));
	int ret;

	*out = NULL;
	if (!ds)
		return rigi_fail(RIG_ERR_NOMEM, "displacement sensor %s: out of memory", uri);
	ret = sensor_open(&ds->s, &displacement_kind, uri);
	if (ret < 0) {
		rig_displacement_close(ds);
		return ret;
	}
	*out = ds;
	return 0;
}

void rig_displacement_close(struct rig_displacement *ds)
{
	if (!ds)
		return;
	rigi_mb_close(ds->s.mb);
	free(ds);
}

const struct rig_sensor_info *rig_displacement_get_info(const struct rig_displacement *ds)
{
	return &ds->s.info;
}

int rig_displacement_read(struct rig_displacement *ds, struct rig_sensor_reading *out)
{
	return sensor_read(&ds->s, out);
}

int rig_displacement_zero(struct rig_displacement *ds)
{
	return sensor_command(&ds->s, CMD_REFERENCE);
}

int rig_displacement_clear(struct rig_displacement *ds)
{
	return sensor_command(&ds->s, CMD_CLEAR_FLAGS);
}
