/* A simulated pen: creation and flash provisioning, power loss and power-up,
 * the hardware the firmware drives (depth stop with backlash, motor runs,
 * stall, stroke counter, current, temperature), and the ground truth. The
 * firmware model is in firmware*.c, the waveform in pen_wave.c. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"
#include "firmware.h"

#define AMBIENT_C 24.0
#define HEAT_C_PER_A 25.0     /* steady-state motor temperature rise per ampere */
#define THERMAL_TAU_S 120.0

double sim_hw_now(const struct sim_pen *pen)
{
	return sim_clock_now(pen->clock);
}

double sim_hw_on_seconds(const struct sim_pen *pen, double t)
{
	const struct sim_hw *hw = &pen->hw;
	double on = hw->on_acc_s;
	if (hw->running && t > hw->run_start_s)
		on += t - hw->run_start_s;
	return floor(on);
}

double sim_hw_protrusion(const struct sim_pen *pen, double on_s)
{
	return sim_phys_protrusion(&pen->unit, pen->hw.code_applied, pen->hw.dir, on_s);
}

static double rate_now(const struct sim_pen *pen, double t)
{
	double on_s = sim_hw_on_seconds(pen, t);
	return sim_phys_rate(&pen->unit, pen->hw.duty_applied, sim_hw_protrusion(pen, on_s),
			     on_s);
}

static double current_now(const struct sim_pen *pen, double t)
{
	double on_s = sim_hw_on_seconds(pen, t);
	if (!pen->hw.running)
		return 0.0;
	return sim_phys_current_ma(pen->hw.duty_applied, sim_hw_protrusion(pen, on_s),
				   rate_now(pen, t) > 0);
}

/* Count strokes and move the temperature up to @p now with the outputs
 * that were applied since the last update. */
static void advance(struct sim_pen *pen, double now)
{
	struct sim_hw *hw = &pen->hw;
	double t_eq = AMBIENT_C + HEAT_C_PER_A * current_now(pen, now) / 1000.0;

	if (hw->running && now > hw->strokes_t)
		hw->strokes += rate_now(pen, now) * (now - hw->strokes_t);
	hw->strokes_t = now;
	if (now > hw->temp_t)
		hw->temp_c = t_eq + (hw->temp_c - t_eq) * exp(-(now - hw->temp_t) / THERMAL_TAU_S);
	hw->temp_t = now;
}

static void motor_stop(struct sim_pen *pen, double now, int save)
{
	struct sim_hw *hw = &pen->hw;
	struct sim_flash_counters c;

	if (!hw->running)
		return;
	if (now > hw->run_start_s)
		hw->on_acc_s += now - hw->run_start_s;
	hw->running = 0;
	if (!save)
		return;
	c.stroke_count = (uint32_t)hw->strokes;
	if (sim_flash_write_counters(pen->flash, &c) < 0 && !sim_flash_dead(pen->flash))
		RIGI_WARN("sim", "pen %s: stroke counter not saved: %s", pen->serial,
			  rig_last_error());
}

void sim_hw_apply(struct sim_pen *pen)
{
	struct sim_fw *fw = &pen->fw;
	struct sim_hw *hw = &pen->hw;
	double now = sim_hw_now(pen);

	advance(pen, now); /* strokes and heat of the outputs applied until now */
	if (fw->code != hw->code_applied) {
		hw->dir = fw->code > hw->code_applied ? 1 : -1;
		hw->code_applied = fw->code;
	}
	hw->duty_applied = fw->duty;
	if (fw->motor && !hw->running) {
		hw->running = 1;
		hw->run++;
		hw->run_start_s = now;
		hw->strokes_t = now;
	} else if (!fw->motor) {
		motor_stop(pen, now, 1);
	}
	if (hw->running && sim_phys_stalls(&pen->unit, fw->duty,
					   sim_hw_protrusion(pen, sim_hw_on_seconds(pen, now)))) {
		RIGI_INFO("sim", "pen %s: motor stalled (code %u, duty %u)", pen->serial,
			  fw->code, fw->duty);
		fw->faults |= SIM_FAULT_STALL;
		fw->motor = 0;
		motor_stop(pen, now, 1);
	}
}

void sim_hw_sense(struct sim_pen *pen, uint16_t *current_ma, int16_t *temp_dc,
		  uint32_t *strokes)
{
	double now = sim_hw_now(pen);
	advance(pen, now);
	*current_ma = (uint16_t)lround(current_now(pen, now));
	*temp_dc = (int16_t)lround(pen->hw.temp_c * 10.0);
	*strokes = (uint32_t)pen->hw.strokes;
}

/* Power-up: firmware RAM from scratch, flash records rescanned, tables
 * verified, outputs parked (code 0, duty 0, motor off). */
static void power_up(struct sim_pen *pen)
{
	struct sim_flash_counters c;

	sim_flash_power_up(pen->flash);
	sim_fw_reset(pen);
	sim_fw_boot_tables(pen);
	if (pen->unit.failure == SIM_FAILURE_CARTRIDGE)
		pen->fw.faults |= SIM_FAULT_CARTRIDGE;
	sim_flash_read_counters(pen->flash, &c);
	pen->hw.strokes = c.stroke_count;
	pen->loss_after = -1;
	pen->boots++;
	sim_hw_apply(pen);
}

void sim_hw_power_loss(struct sim_pen *pen)
{
	double now = sim_hw_now(pen);

	RIGI_INFO("sim", "pen %s: power loss and power-up", pen->serial);
	advance(pen, now);
	motor_stop(pen, now, 0); /* strokes since the last save are lost */
	pen->fw.motor = 0;
	power_up(pen);
}

static int check_config(const struct sim_pen_config *cfg)
{
	size_t n = cfg ? strnlen(cfg->serial, sizeof(cfg->serial)) : 0;
	if (!cfg || n == 0 || n >= sizeof(cfg->serial) || !cfg->state_dir)
		return rigi_fail(RIG_ERR_ARG, "simulated pen: a serial (1..16 characters) and a "
				 "state directory are required");
	for (size_t i = 0; i < n; i++)
		if (cfg->serial[i] <= ' ' || cfg->serial[i] > '~' || cfg->serial[i] == '/')
			return rigi_fail(RIG_ERR_ARG, "simulated pen: serial '%s' must be printable "
					 "ASCII without spaces or '/'", cfg->serial);
	if (sim_failure_name(cfg->failure) == NULL)
		return rigi_fail(RIG_ERR_ARG, "simulated pen %s: unknown failure mode %d",
				 cfg->serial, (int)cfg->failure);
	if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST)
		return rigi_fail(RIG_ERR_IO, "simulated pen %s: cannot create state directory "
				 "%s: %s", cfg->serial, cfg->state_dir, strerror(errno));
	return 0;
}

/* Open the pen's flash file, provisioning a factory-new one the first time. */
static int open_flash(struct sim_pen *pen, const char *dir)
{
	struct sim_flash_id id;
	uint8_t blob[SIM_TABLE_MAX_BYTES];
	size_t len;
	uint32_t crc;
	int ret;

	memset(&id, 0, sizeof(id));
	memcpy(id.model, SIM_MODEL, sizeof(SIM_MODEL));
	memcpy(id.serial, pen->serial, sizeof(pen->serial));
	ret = sim_fw_keycheck(pen, id.keycheck);
	if (ret < 0)
		return ret;
	ret = sim_flash_open(&pen->flash, dir, &id);
	if (ret != RIG_ERR_NOT_FOUND)
		return ret;
	ret = sim_fw_factory_table(pen, 1, blob, &len, &crc);
	if (ret == 0)
		ret = sim_flash_create(&pen->flash, dir, &id, blob, len, 1, crc);
	if (ret == 0)
		RIGI_INFO("sim", "pen %s: factory-new flash %s", pen->serial,
			  sim_flash_path(pen->flash));
	return ret;
}

struct sim_pen *sim_pen_new(const struct sim_pen_config *cfg)
{
	struct sim_pen *pen;
	double now;

	if (check_config(cfg) < 0)
		return NULL;
	pen = calloc(1, sizeof(*pen));
	if (!pen) {
		rigi_fail(RIG_ERR_NOMEM, "simulated pen %s: out of memory", cfg->serial);
		return NULL;
	}
	pthread_mutex_init(&pen->lock, NULL);
	memcpy(pen->serial, cfg->serial, sizeof(pen->serial) - 1);
	memcpy(pen->serial_field, pen->serial, strlen(pen->serial));
	memcpy(pen->key, cfg->line_key, sizeof(pen->key));
	if (!cfg->clock)
		sim_clock_init(&pen->own_clock, 1.0);
	pen->clock = cfg->clock ? cfg->clock : &pen->own_clock;
	sim_unit_draw(&pen->unit, cfg->seed, pen->serial, cfg->failure);
	rig_pcg32_seed_named(&pen->hw.cam.rng, cfg->seed, pen->serial, "stroke");
	if (open_flash(pen, cfg->state_dir) < 0) {
		sim_pen_free(pen);
		return NULL;
	}
	now = sim_hw_now(pen);
	pen->hw.dir = 1;
	pen->hw.temp_c = AMBIENT_C;
	pen->hw.temp_t = now;
	pen->hw.strokes_t = now;
	power_up(pen);
	return pen;
}

void sim_pen_free(struct sim_pen *pen)
{
	if (!pen)
		return;
	if (pen->flash)
		motor_stop(pen, sim_hw_now(pen), 1);
	sim_flash_close(pen->flash);
	rigi_wipe(pen->key, sizeof(pen->key));
	pthread_mutex_destroy(&pen->lock);
	free(pen);
}

size_t sim_pen_receive_at(struct sim_pen *pen, int64_t now_ns, const uint8_t *in, size_t len,
			  uint8_t *out, size_t cap)
{
	size_t n;
	pthread_mutex_lock(&pen->lock);
	n = sim_fw_receive(pen, now_ns, in, len, out, cap);
	pthread_mutex_unlock(&pen->lock);
	return n;
}

size_t sim_pen_receive(struct sim_pen *pen, const uint8_t *in, size_t len, uint8_t *out,
		       size_t cap)
{
	/* Real time, not the simulated clock: see SIM_FW_WATCHDOG_NS. */
	return sim_pen_receive_at(pen, rig_clock_ns(), in, len, out, cap);
}

int sim_pen_tick_at(struct sim_pen *pen, int64_t now_ns)
{
	int tripped;
	pthread_mutex_lock(&pen->lock);
	tripped = sim_fw_watchdog(pen, now_ns);
	pthread_mutex_unlock(&pen->lock);
	return tripped;
}

int sim_pen_tick(struct sim_pen *pen)
{
	return sim_pen_tick_at(pen, rig_clock_ns());
}

void sim_pen_link_closed(struct sim_pen *pen)
{
	pthread_mutex_lock(&pen->lock);
	sim_fw_link_closed(pen);
	pthread_mutex_unlock(&pen->lock);
}

void sim_pen_power_cycle(struct sim_pen *pen)
{
	pthread_mutex_lock(&pen->lock);
	sim_hw_power_loss(pen);
	pthread_mutex_unlock(&pen->lock);
}

void sim_pen_power_loss_after(struct sim_pen *pen, long n)
{
	pthread_mutex_lock(&pen->lock);
	pen->loss_after = n > 0 ? n : -1;
	if (n == 0)
		sim_hw_power_loss(pen);
	pthread_mutex_unlock(&pen->lock);
}

void sim_pen_flash_loss_after(struct sim_pen *pen, long n)
{
	pthread_mutex_lock(&pen->lock);
	sim_flash_loss_after(pen->flash, n);
	pthread_mutex_unlock(&pen->lock);
}

unsigned long sim_pen_boot_count(struct sim_pen *pen)
{
	unsigned long n;
	pthread_mutex_lock(&pen->lock);
	n = pen->boots;
	pthread_mutex_unlock(&pen->lock);
	return n;
}

const char *sim_pen_serial(const struct sim_pen *pen)
{
	return pen->serial;
}

/* ---- ground truth ---- */

static void truth_for(const struct sim_pen *pen, uint16_t code, uint16_t duty, int dir,
		      int turning, struct sim_truth *out)
{
	const struct sim_unit *u = &pen->unit;
	double on_s = sim_hw_on_seconds(pen, sim_hw_now(pen));
	double p = sim_phys_protrusion(u, code, dir, on_s);

	memset(out, 0, sizeof(*out));
	out->code = code;
	out->duty = duty;
	out->protrusion_um = p;
	out->penetration_um = sim_phys_penetration(u, p);
	out->puncture_force_mn = p >= sim_phys_tenting_um(u) ? sim_phys_puncture_force(u) : 0.0;
	if (turning && !sim_phys_stalls(u, duty, p))
		out->rate_hz = sim_phys_rate(u, duty, p, on_s);
}

void sim_pen_truth_now(struct sim_pen *pen, struct sim_truth *out)
{
	pthread_mutex_lock(&pen->lock);
	truth_for(pen, pen->hw.code_applied, pen->hw.duty_applied, pen->hw.dir,
		  pen->hw.running, out);
	pthread_mutex_unlock(&pen->lock);
}

void sim_pen_truth_service(struct sim_pen *pen, uint16_t code, uint16_t duty,
			   struct sim_truth *out)
{
	pthread_mutex_lock(&pen->lock);
	truth_for(pen, code, duty, 1, 1, out);
	pthread_mutex_unlock(&pen->lock);
}

int sim_pen_truth_user(struct sim_pen *pen, uint16_t depth_um, uint16_t rate_spm,
		       struct sim_truth *out)
{
	uint16_t code = 0, duty = 0;
	uint8_t st;
	int ret = 0;

	pthread_mutex_lock(&pen->lock);
	memset(out, 0, sizeof(*out));
	st = sim_fw_map_user(pen, depth_um, rate_spm, &code, &duty);
	if (st == SIM_ST_FAULT)
		ret = rigi_fail(RIG_ERR_STATE, "simulated pen %s has no valid table", pen->serial);
	else if (st != SIM_ST_OK)
		ret = rigi_fail(RIG_ERR_RANGE, "simulated pen %s: %u µm / %u spm is outside its "
				"table or user range", pen->serial, depth_um, rate_spm);
	else
		truth_for(pen, code, duty, 1, 1, out);
	pthread_mutex_unlock(&pen->lock);
	return ret;
}
