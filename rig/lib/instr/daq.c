/* Driver of the station's DAQ (device type 0x4451, docs/registers.md):
 * configure, arm, trigger, wait for the capture (polling its status), read
 * the buffer out through the paged window in 125-register blocks — after
 * the capture (register map 1), or while it runs (map 2), so that its data
 * is in the host as soon as it ends. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <rig/clock.h>
#include <rig/rig.h>

#include "core/core.h"
#include "instr/instr.h"

#define DOMAIN "daq"

/* Input registers. */
#define IR_CHANNELS 0x0005
#define IR_FLAGS 0x0011
#define IR_WINDOW 0x4000
/* Holding registers. */
#define HR_RATE 0x0101
#define HR_PAGE 0x0107
#define WINDOW_SAMPLES 16384u

enum daq_cmd { CMD_ARM = 1, CMD_ABORT = 2, CMD_TRIGGER = 3, CMD_CLEAR_FLAGS = 4 };

#define FLAG_OVERRUN 0x0001u
#define FLAG_FAULT 0x0002u
#define FLAG_CONFIG_ERROR 0x0004u
#define FAULT_CODE_OVERRUN 3

/* Polling while waiting: between 1 and 50 ms, half the estimated rest. */
#define POLL_MIN_NS 1000000LL
#define POLL_MAX_NS 50000000LL
#define POLL_ARMED_NS 5000000LL
#define POLL_PROBE_NS 2000000LL /* first sleep of a capture: measures its pace */
#define IDLE_SLICE_NS 100000000LL /* rig_daq_wait_idle's longest sleep */
#define POLL_STREAM_NS 5000000LL /* map 2: keep up with the capture */

struct rig_daq {
	struct rigi_mb *mb;
	struct rig_daq_info info;
	struct rig_daq_config cfg;
	bool configured;
	unsigned n_enabled;
};

/* Status block 0x0010..0x0014. */
struct daq_state {
	enum rig_daq_status status;
	uint16_t flags;
	uint32_t captured;
	uint16_t fault;
};

static const char *const status_names[] = {"IDLE", "ARMED", "CAPTURING", "DONE", "FAULT"};
static const char *const fault_names[] = {"none", "ADC", "sample clock", "overrun"};

const char *rig_daq_status_name(enum rig_daq_status status)
{
	return (unsigned)status < 5 ? status_names[status] : "?";
}

static const char *fault_name(uint16_t code)
{
	return code < 4 ? fault_names[code] : "unknown";
}

int rig_daq_open(const char *uri, struct rig_daq **out)
{
	struct rig_daq *daq;
	uint16_t regs[5];
	int ret;

	*out = NULL;
	daq = calloc(1, sizeof(*daq));
	if (!daq)
		return rigi_fail(RIG_ERR_NOMEM, "DAQ %s: out of memory", uri);
	ret = rigi_instr_open(uri, RIG_DEVICE_DAQ, &daq->mb, &daq->info.id);
	if (ret < 0)
		goto out;
	ret = rigi_mb_read_input(daq->mb, IR_CHANNELS, 5, regs);
	if (ret < 0)
		goto out;
	daq->info.channels = regs[0];
	daq->info.max_rate_hz = rigi_mb_u32(regs + 1);
	daq->info.capacity = rigi_mb_u32(regs + 3);
	if (daq->info.channels == 0 || daq->info.channels > 16 || daq->info.max_rate_hz == 0 ||
	    daq->info.capacity == 0)
		ret = rigi_fail(RIG_ERR_PROTOCOL, "%s: implausible DAQ limits (%u channels, %u Hz, "
				"%u samples); check the unit id", rigi_mb_where(daq->mb),
				daq->info.channels, daq->info.max_rate_hz, daq->info.capacity);
out:
	if (ret < 0) {
		rig_daq_close(daq);
		return ret;
	}
	*out = daq;
	return 0;
}

void rig_daq_close(struct rig_daq *daq)
{
	if (!daq)
		return;
	rigi_mb_close(daq->mb);
	free(daq);
}

const struct rig_daq_info *rig_daq_get_info(const struct rig_daq *daq)
{
	return &daq->info;
}

size_t rig_daq_capture_size(const struct rig_daq *daq)
{
	return daq->configured ? (size_t)daq->cfg.samples_per_channel * daq->n_enabled : 0;
}

static int read_state(struct rig_daq *daq, struct daq_state *st)
{
	uint16_t regs[5];
	int ret = rigi_mb_read_input(daq->mb, RIGI_IR_STATUS, 5, regs);
	if (ret < 0)
		return ret;
	st->status = (enum rig_daq_status)regs[0];
	st->flags = regs[1];
	st->captured = rigi_mb_u32(regs + 2);
	st->fault = regs[4];
	return 0;
}

int rig_daq_status(struct rig_daq *daq, enum rig_daq_status *status, uint32_t *captured)
{
	struct daq_state st;
	int ret = read_state(daq, &st);
	if (ret < 0)
		return ret;
	if (status)
		*status = st.status;
	if (captured)
		*captured = st.captured;
	return 0;
}

static int command(struct rig_daq *daq, enum daq_cmd cmd)
{
	return rigi_mb_write(daq->mb, RIGI_HR_COMMAND, (uint16_t)cmd);
}

static unsigned popcount16(uint16_t v)
{
	unsigned n = 0;
	for (; v; v &= (uint16_t)(v - 1))
		n++;
	return n;
}

static int check_config(const struct rig_daq *daq, const struct rig_daq_config *cfg)
{
	const struct rig_daq_info *in = &daq->info;
	unsigned n = popcount16(cfg->channel_mask);
	const char *where = rigi_mb_where(daq->mb);

	if (cfg->rate_hz < 1 || cfg->rate_hz > in->max_rate_hz)
		return rigi_fail(RIG_ERR_RANGE, "%s: rate %u Hz outside 1..%u Hz", where,
				 cfg->rate_hz, in->max_rate_hz);
	if (n == 0 || (cfg->channel_mask >> in->channels) != 0)
		return rigi_fail(RIG_ERR_RANGE, "%s: channel mask 0x%04x must enable at least one "
				 "of channels 0..%u", where, cfg->channel_mask, in->channels - 1);
	if (cfg->samples_per_channel < 1 ||
	    (uint64_t)cfg->samples_per_channel * n > in->capacity)
		return rigi_fail(RIG_ERR_RANGE, "%s: %u samples x %u channels exceeds the buffer "
				 "(%u samples); capture fewer samples or channels", where,
				 cfg->samples_per_channel, n, in->capacity);
	if (cfg->trigger != RIG_DAQ_TRIGGER_IMMEDIATE && cfg->trigger != RIG_DAQ_TRIGGER_SOFTWARE)
		return rigi_fail(RIG_ERR_RANGE, "%s: unknown trigger mode %d", where, cfg->trigger);
	return 0;
}

int rig_daq_configure(struct rig_daq *daq, const struct rig_daq_config *cfg)
{
	struct daq_state st;
	uint16_t regs[6];
	int ret;

	ret = check_config(daq, cfg);
	if (ret < 0)
		return ret;
	ret = read_state(daq, &st);
	if (ret == 0 && st.status != RIG_DAQ_IDLE && st.status != RIG_DAQ_DONE) {
		RIGI_DEBUG(DOMAIN, "%s: aborting (status %s) to configure", rigi_mb_where(daq->mb),
			   rig_daq_status_name(st.status));
		ret = command(daq, CMD_ABORT);
	}
	if (ret == 0 && st.flags)
		ret = command(daq, CMD_CLEAR_FLAGS);
	if (ret < 0)
		return ret;
	rigi_mb_put_u32(regs, cfg->rate_hz);
	rigi_mb_put_u32(regs + 2, cfg->samples_per_channel);
	regs[4] = cfg->channel_mask;
	regs[5] = (uint16_t)cfg->trigger;
	ret = rigi_mb_write_many(daq->mb, HR_RATE, 6, regs);
	if (ret < 0)
		return ret;
	daq->cfg = *cfg;
	daq->n_enabled = popcount16(cfg->channel_mask);
	daq->configured = true;
	return 0;
}

int rig_daq_arm(struct rig_daq *daq)
{
	uint16_t flags;
	int ret;

	if (!daq->configured)
		return rigi_fail(RIG_ERR_STATE, "%s: arm before configure; call rig_daq_configure "
				 "first", rigi_mb_where(daq->mb));
	ret = command(daq, CMD_ARM);
	if (ret == 0)
		ret = rigi_mb_read_input(daq->mb, IR_FLAGS, 1, &flags);
	if (ret == 0 && (flags & FLAG_CONFIG_ERROR))
		ret = rigi_fail(RIG_ERR_RANGE, "%s: the DAQ refused the configuration "
				"(CONFIG_ERROR: %u Hz, %u samples, mask 0x%04x); check its limits",
				rigi_mb_where(daq->mb), daq->cfg.rate_hz,
				daq->cfg.samples_per_channel, daq->cfg.channel_mask);
	return ret;
}

int rig_daq_trigger(struct rig_daq *daq)
{
	return command(daq, CMD_TRIGGER);
}

int rig_daq_abort(struct rig_daq *daq)
{
	return command(daq, CMD_ABORT);
}

/* Map a finished poll to the wait's result: 1 to keep waiting. */
static int judge_state(const struct rig_daq *daq, const struct daq_state *st)
{
	const char *where = rigi_mb_where(daq->mb);

	switch (st->status) {
	case RIG_DAQ_DONE:
		return 0;
	case RIG_DAQ_ARMED:
	case RIG_DAQ_CAPTURING:
		return 1;
	case RIG_DAQ_FAULT:
		if ((st->flags & FLAG_OVERRUN) || st->fault == FAULT_CODE_OVERRUN)
			return rigi_fail(RIG_ERR_OVERRUN, "%s: capture lost samples (OVERRUN after "
					 "%u of %u per channel); its data must not be used; "
					 "repeat the capture", where, st->captured,
					 daq->cfg.samples_per_channel);
		return rigi_fail(RIG_ERR_INSTRUMENT, "%s: capture ended in FAULT (fault code %u, "
				 "%s); check the DAQ and its sample clock", where, st->fault,
				 fault_name(st->fault));
	case RIG_DAQ_IDLE:
		return rigi_fail(RIG_ERR_STATE, "%s: the DAQ is idle: the capture was aborted or "
				 "never armed", where);
	}
	return rigi_fail(RIG_ERR_PROTOCOL, "%s: unknown DAQ status %u", where,
			 (unsigned)st->status);
}

/* The capture's own pace, measured from the first poll that saw it
 * capturing: the DAQ's clock may run at any speed (a simulated station runs
 * K times faster), so the nominal rate is never trusted for the wait. */
struct poll_pace {
	int64_t t0;       /* 0 until a poll sees CAPTURING */
	uint32_t c0;      /* samples per channel captured then */
	int64_t probe_ns; /* next sleep while no progress has been seen */
};

/* Sleep about half the estimated time left at the measured pace; before any
 * progress is seen, short probe sleeps that double (a DAQ may report its
 * progress in blocks). */
static int64_t next_poll_ns(const struct rig_daq *daq, const struct daq_state *st,
			    struct poll_pace *pace, int64_t now)
{
	double left = (double)daq->cfg.samples_per_channel - st->captured;
	int64_t ns;

	if (st->status != RIG_DAQ_CAPTURING) /* armed: the trigger may take a while */
		return POLL_ARMED_NS;
	if (!pace->t0) {
		pace->t0 = now;
		pace->c0 = st->captured;
		pace->probe_ns = POLL_PROBE_NS;
	}
	if (st->captured <= pace->c0 || now <= pace->t0) {
		ns = pace->probe_ns;
		pace->probe_ns = ns * 2 < POLL_MAX_NS ? ns * 2 : POLL_MAX_NS;
		return ns;
	}
	ns = (int64_t)(left * (double)(now - pace->t0) / (double)(st->captured - pace->c0) / 2);
	return ns < POLL_MIN_NS ? POLL_MIN_NS : ns > POLL_MAX_NS ? POLL_MAX_NS : ns;
}

/* A wait goes on unless it timed out or the operator stopped it. */
static int still_waiting(const struct rig_daq *daq, const struct daq_state *st, int64_t now,
			 int64_t deadline, int timeout_ms)
{
	if (now >= deadline)
		return rigi_fail(RIG_ERR_TIMEOUT, "%s: capture not done after %d ms (status %s, "
				 "%u of %u samples per channel); check the trigger and the rate",
				 rigi_mb_where(daq->mb), timeout_ms,
				 rig_daq_status_name(st->status), st->captured,
				 daq->cfg.samples_per_channel);
	if (rig_interrupted())
		return rigi_fail(RIG_ERR_INTERRUPTED, "%s: waiting for the capture: interrupted",
				 rigi_mb_where(daq->mb));
	return 0;
}

int rig_daq_wait(struct rig_daq *daq, int timeout_ms)
{
	return rig_daq_wait_idle(daq, timeout_ms, NULL, NULL);
}

int rig_daq_wait_idle(struct rig_daq *daq, int timeout_ms, int (*idle)(void *arg), void *arg)
{
	int64_t deadline = rig_clock_ns() + (int64_t)timeout_ms * 1000000;
	struct poll_pace pace = {0};
	struct daq_state st;
	int ret;

	for (;;) {
		int64_t now, pause;
		ret = read_state(daq, &st);
		if (ret < 0)
			return ret;
		now = rig_clock_ns();
		ret = judge_state(daq, &st);
		if (ret <= 0)
			return ret;
		if ((ret = still_waiting(daq, &st, now, deadline, timeout_ms)) < 0)
			return ret;
		pause = next_poll_ns(daq, &st, &pace, now);
		if (idle && (ret = idle(arg)) < 0)
			return ret;
		if (idle && pause > IDLE_SLICE_NS)
			pause = IDLE_SLICE_NS;
		rig_sleep_ns(pause < deadline - now ? pause : deadline - now);
	}
}

static int16_t to_i16(uint16_t v)
{
	return v <= INT16_MAX ? (int16_t)v : (int16_t)(-(int32_t)(uint16_t)~v - 1);
}

/* Read @p n samples of the selected page's window from @p offset on. */
static int read_window_at(struct rig_daq *daq, uint32_t offset, uint32_t n, int16_t *dst,
			  int (*idle)(void *arg), void *arg)
{
	uint16_t regs[RIGI_MB_MAX_READ];
	while (n > 0) {
		uint16_t block = (uint16_t)(n < RIGI_MB_MAX_READ ? n : RIGI_MB_MAX_READ);
		int ret = idle ? idle(arg) : 0;
		if (ret == 0)
			ret = rigi_mb_read_input(daq->mb, (uint16_t)(IR_WINDOW + offset), block,
						 regs);
		if (ret < 0)
			return ret;
		for (uint16_t i = 0; i < block; i++)
			dst[i] = to_i16(regs[i]);
		dst += block;
		offset += block;
		n -= block;
	}
	return 0;
}

/* Read buffer samples [from, to) (page by page) into @p buf. */
static int read_span(struct rig_daq *daq, int16_t *buf, size_t from, size_t to,
		     int (*idle)(void *arg), void *arg)
{
	while (from < to) {
		uint32_t page = (uint32_t)(from / WINDOW_SAMPLES);
		size_t in_page = from % WINDOW_SAMPLES;
		size_t n = to - from < WINDOW_SAMPLES - in_page ? to - from : WINDOW_SAMPLES - in_page;
		int ret = rigi_mb_write(daq->mb, HR_PAGE, (uint16_t)page);
		if (ret == 0)
			ret = read_window_at(daq, (uint32_t)in_page, (uint32_t)n, buf + from, idle,
					     arg);
		if (ret < 0) {
			rigi_error_context("reading capture page %u", page);
			return ret;
		}
		from += n;
	}
	return 0;
}

int rig_daq_read(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read)
{
	return rig_daq_read_idle(daq, buf, cap, n_read, NULL, NULL);
}

int rig_daq_read_idle(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read,
		      int (*idle)(void *arg), void *arg)
{
	size_t total = rig_daq_capture_size(daq);
	struct daq_state st;
	int ret;

	if (n_read)
		*n_read = 0;
	if (!daq->configured || cap < total)
		return rigi_fail(RIG_ERR_ARG, "%s: buffer of %zu samples for a capture of %zu",
				 rigi_mb_where(daq->mb), cap, total);
	ret = read_state(daq, &st);
	if (ret < 0)
		return ret;
	if (st.status != RIG_DAQ_DONE)
		return rigi_fail(RIG_ERR_STATE, "%s: no finished capture to read (status %s); "
				 "wait for DONE first", rigi_mb_where(daq->mb),
				 rig_daq_status_name(st.status));
	if ((ret = read_span(daq, buf, 0, total, idle, arg)) < 0)
		return ret;
	if (n_read)
		*n_read = total;
	return 0;
}

/* Map 2: read what the DAQ has captured so far, whole Modbus blocks only
 * until it is DONE, then the rest. */
static int collect_streaming(struct rig_daq *daq, int16_t *buf, size_t total, int timeout_ms,
			     int (*idle)(void *arg), void *arg)
{
	int64_t deadline = rig_clock_ns() + (int64_t)timeout_ms * 1000000;
	struct poll_pace pace = {0};
	size_t have = 0;

	for (;;) {
		struct daq_state st;
		int ret = read_state(daq, &st);
		if (ret < 0)
			return ret;
		int64_t now = rig_clock_ns();
		if ((ret = judge_state(daq, &st)) < 0)
			return ret;
		size_t avail = ret == 0 ? total : (size_t)st.captured * daq->n_enabled;
		if (ret != 0)
			avail -= avail % RIGI_MB_MAX_READ;
		if (avail > have) {
			if ((ret = read_span(daq, buf, have, avail < total ? avail : total, idle,
					     arg)) < 0)
				return ret;
			have = avail < total ? avail : total;
			continue; /* more has come in meanwhile */
		}
		if (have == total)
			return 0;
		if ((ret = still_waiting(daq, &st, now, deadline, timeout_ms)) < 0)
			return ret;
		int64_t pause = next_poll_ns(daq, &st, &pace, now);
		if (idle && (ret = idle(arg)) < 0)
			return ret;
		if (pause > POLL_STREAM_NS)
			pause = POLL_STREAM_NS;
		rig_sleep_ns(pause < deadline - now ? pause : deadline - now);
	}
}

int rig_daq_collect_idle(struct rig_daq *daq, int16_t *buf, size_t cap, size_t *n_read,
			 int timeout_ms, int (*idle)(void *arg), void *arg)
{
	size_t total = rig_daq_capture_size(daq);
	int ret;

	if (n_read)
		*n_read = 0;
	if (!daq->configured || cap < total)
		return rigi_fail(RIG_ERR_ARG, "%s: buffer of %zu samples for a capture of %zu",
				 rigi_mb_where(daq->mb), cap, total);
	if (daq->info.id.map_version < 2) {
		ret = rig_daq_wait_idle(daq, timeout_ms, idle, arg);
		return ret < 0 ? ret : rig_daq_read_idle(daq, buf, cap, n_read, idle, arg);
	}
	ret = collect_streaming(daq, buf, total, timeout_ms, idle, arg);
	if (ret == 0 && n_read)
		*n_read = total;
	return ret;
}
