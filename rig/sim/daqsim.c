/* The simulated DAQ: register map of docs/registers.md (device type 0x4451)
 * and its capture state machine on the simulated clock. The samples of a
 * capture are produced in one go when the simulated clock passes its end,
 * from the station's acquire callback, so a capture's bytes depend only on
 * the seed, the capture number, the start time and the pens' waveforms. */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <rig/log.h>
#include <rig/pcg32.h>

#include "daqsim.h"
#include "station_regs.h"

#define DEVICE_DAQ 0x4451u
#define MAP_VERSION 2u /* 2: the window reads while CAPTURING; 1 only when DONE */
#define FIRMWARE 0x0104u

#define IR_STATUS 0x0010
#define IR_END 0x0015
#define IR_WINDOW 0x4000
#define HR_COMMAND 0x0100
#define HR_RATE 0x0101
#define HR_COUNT 0x0103
#define HR_MASK 0x0105
#define HR_TRIGGER 0x0106
#define HR_PAGE 0x0107
#define HR_COUNT_REGS 8

enum { ST_IDLE, ST_ARMED, ST_CAPTURING, ST_DONE, ST_FAULT };
enum { CMD_ARM = 1, CMD_ABORT = 2, CMD_TRIGGER = 3, CMD_CLEAR_FLAGS = 4 };

#define FLAG_OVERRUN 0x0001u
#define FLAG_FAULT 0x0002u
#define FLAG_CONFIG_ERROR 0x0004u
#define FAULT_ADC 1u
#define GEN_BLOCK 1024u
#define FAULT_OVERRUN 3u

/* Sample-clock error of this DAQ: within +/-20 ppm, drawn from the seed. */
#define TIMEBASE_PPM 20.0

static const struct sim_regspan input_spans[] = {
	{0x0000, 10}, {IR_STATUS, IR_END - IR_STATUS}, {IR_WINDOW, SIM_DAQ_WINDOW}};
static const struct sim_regspan holding_spans[] = {{HR_COMMAND, HR_COUNT_REGS}};

#define N_SPANS(a) (sizeof(a) / sizeof((a)[0]))

/* Injected fault `daq-map-version V`: the map version the identity block
 * reports; 0 means the true MAP_VERSION. Process-wide (see daqsim.h). */
static atomic_uint map_version_fault;

static unsigned popcount16(uint16_t v)
{
	unsigned n = 0;
	for (; v; v &= (uint16_t)(v - 1))
		n++;
	return n;
}

void sim_daq_init(struct sim_daq *d, uint64_t seed, unsigned channels,
		  sim_daq_acquire_fn acquire, void *user)
{
	struct rig_pcg32 rng;

	memset(d, 0, sizeof(*d));
	d->seed = seed;
	d->channels = channels;
	d->acquire = acquire;
	d->user = user;
	rig_pcg32_seed_named(&rng, seed, "daq", "serial");
	d->serial = 51000000u + rig_pcg32_bounded(&rng, 1000000u);
	rig_pcg32_seed_named(&rng, seed, "daq", "timebase");
	d->timebase = 1.0 + (2.0 * rig_pcg32_uniform(&rng) - 1.0) * TIMEBASE_PPM * 1e-6;
	d->rate = 1000;
	d->count = 1000;
	d->mask = 0x0003;
}

void sim_daq_cleanup(struct sim_daq *d)
{
	free(d->buf);
	d->buf = NULL;
}

static bool config_valid(const struct sim_daq *d)
{
	unsigned n = popcount16(d->mask);
	return d->rate >= 1 && d->rate <= SIM_DAQ_MAX_RATE && n > 0 &&
	       (d->mask >> d->channels) == 0 && d->count >= 1 &&
	       (uint64_t)d->count * n <= SIM_DAQ_CAPACITY && d->trigger <= 1;
}

/* @p taken: samples per channel taken before the fault; 0x0012 holds it
 * while in FAULT (docs/registers.md "Fault"). */
static void set_fault(struct sim_daq *d, uint16_t code, uint16_t flags, uint32_t taken)
{
	d->status = ST_FAULT;
	d->fault_code = code;
	d->flags |= (uint16_t)(flags | FLAG_FAULT);
	d->fault_captured = taken;
	sim_daq_cleanup(d);
}

static int16_t to_counts(double v)
{
	double c = nearbyint(v);
	/* Saturate like an ADC; NaN from a broken model reads as the minimum. */
	return (int16_t)(c > INT16_MAX ? INT16_MAX : c >= INT16_MIN ? c : INT16_MIN);
}

/* Produce samples [d->generated, upto) of every enabled channel, block by
 * block, each nest's pen asked in time order. */
static void generate(struct sim_daq *d, uint32_t upto)
{
	double disp[GEN_BLOCK], force[GEN_BLOCK];
	unsigned nch = popcount16(d->cap_mask);

	while (d->generated < upto) {
		uint32_t n = upto - d->generated < GEN_BLOCK ? upto - d->generated : GEN_BLOCK;
		for (unsigned nest = 0; nest < d->channels / 2; nest++) {
			unsigned cd = 2 * nest, cf = cd + 1;
			bool want_d = d->cap_mask & (1u << cd), want_f = d->cap_mask & (1u << cf);
			unsigned pos_d = popcount16((uint16_t)(d->cap_mask & ((1u << cd) - 1)));
			int16_t *out = d->buf + (size_t)d->generated * nch;
			if (!want_d && !want_f)
				continue;
			d->acquire(d->user, nest, d->t0, d->dt, d->generated, n, d->capture, disp,
				   force);
			for (uint32_t k = 0; k < n; k++) {
				if (want_d) /* 0.1 µm per count */
					out[k * nch + pos_d] = to_counts(disp[k] * 10.0);
				if (want_f) /* 1 mN per count; right after displacement */
					out[k * nch + pos_d + want_d] = to_counts(force[k]);
			}
		}
		d->generated += n;
	}
}

/* Samples of the capture whose time is not after @p now. */
static uint32_t due(const struct sim_daq *d, double now)
{
	double k = floor((now - d->t0) / d->dt) + 1;
	return k <= 0 ? 0 : k < d->cap_count ? (uint32_t)k : d->cap_count;
}

void sim_daq_advance(struct sim_daq *d, double now)
{
	if (d->status != ST_CAPTURING)
		return;
	if (now < d->t_end) {
		generate(d, due(d, now));
		return;
	}
	if (d->overrun_pending) {
		d->overrun_pending = false;
		/* It ran to its end: every sample was taken, some were lost. */
		set_fault(d, FAULT_OVERRUN, FLAG_OVERRUN, d->cap_count);
		return;
	}
	generate(d, d->cap_count);
	d->status = ST_DONE;
}

/* The capture covers simulated times [t0, t0 + count * dt), dt from the
 * nominal rate and this DAQ's sample-clock error. */
static void start_capture(struct sim_daq *d, double now)
{
	size_t total = (size_t)d->cap_count * popcount16(d->cap_mask);

	d->buf = malloc(total * sizeof(int16_t));
	if (!d->buf) {
		rig_log(RIG_LOG_ERROR, "sim", "DAQ: no memory for %zu samples", total);
		set_fault(d, FAULT_ADC, 0, 0);
		return;
	}
	d->status = ST_CAPTURING;
	d->generated = 0;
	d->t0 = now;
	d->dt = 1.0 / (d->rate * d->timebase);
	d->t_end = now + d->cap_count * d->dt;
}

static uint32_t captured(const struct sim_daq *d, double now)
{
	double k;
	switch (d->status) {
	case ST_CAPTURING:
		k = floor((now - d->t0) / d->dt);
		return k < d->cap_count ? (uint32_t)k : d->cap_count;
	case ST_DONE:
		return d->cap_count;
	case ST_FAULT:
		return d->fault_captured;
	default:
		return 0;
	}
}

static int command(struct sim_daq *d, double now, uint16_t cmd)
{
	switch (cmd) {
	case CMD_ARM:
		if (d->status != ST_IDLE && d->status != ST_DONE)
			return RIGI_MBX_BUSY;
		sim_daq_cleanup(d);
		if (!config_valid(d)) {
			d->flags |= FLAG_CONFIG_ERROR;
			d->status = ST_IDLE;
			return 0;
		}
		d->capture++;
		d->cap_count = d->count;
		d->cap_mask = d->mask;
		d->status = ST_ARMED;
		if (d->trigger == 0)
			start_capture(d, now);
		return 0;
	case CMD_TRIGGER:
		if (d->status != ST_ARMED)
			return RIGI_MBX_BUSY;
		start_capture(d, now);
		return 0;
	case CMD_ABORT:
		sim_daq_cleanup(d);
		d->status = ST_IDLE;
		return 0;
	case CMD_CLEAR_FLAGS:
		d->flags = 0;
		d->fault_code = 0;
		if (d->status == ST_FAULT)
			d->status = ST_IDLE;
		return 0;
	default:
		return RIGI_MBX_ILLEGAL_VALUE;
	}
}

static void holding_image(const struct sim_daq *d, uint16_t *img)
{
	img[0] = 0; /* command: write-only */
	sim_regs_put_u32(img + HR_RATE - HR_COMMAND, d->rate);
	sim_regs_put_u32(img + HR_COUNT - HR_COMMAND, d->count);
	img[HR_MASK - HR_COMMAND] = d->mask;
	img[HR_TRIGGER - HR_COMMAND] = d->trigger;
	img[HR_PAGE - HR_COMMAND] = d->page;
}

static bool covers(uint16_t addr, uint16_t n, uint16_t reg)
{
	return reg >= addr && reg < addr + n;
}

/* Check the fields a write completes; partial 32-bit fields are checked at
 * ARM (CONFIG_ERROR). */
static bool write_valid(const struct sim_daq *d, const uint16_t *img, uint16_t addr, uint16_t n)
{
	uint32_t rate = sim_regs_u32(img + HR_RATE - HR_COMMAND);
	uint32_t count = sim_regs_u32(img + HR_COUNT - HR_COMMAND);
	uint16_t mask = img[HR_MASK - HR_COMMAND];

	if (covers(addr, n, HR_RATE) && covers(addr, n, HR_RATE + 1) &&
	    (rate < 1 || rate > SIM_DAQ_MAX_RATE))
		return false;
	if (covers(addr, n, HR_COUNT) && covers(addr, n, HR_COUNT + 1) &&
	    (count < 1 || count > SIM_DAQ_CAPACITY))
		return false;
	if (covers(addr, n, HR_MASK) && (mask == 0 || (mask >> d->channels) != 0))
		return false;
	if (covers(addr, n, HR_TRIGGER) && img[HR_TRIGGER - HR_COMMAND] > 1)
		return false;
	return !covers(addr, n, HR_PAGE) ||
	       img[HR_PAGE - HR_COMMAND] < SIM_DAQ_CAPACITY / SIM_DAQ_WINDOW;
}

int sim_daq_write(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
		  const uint16_t *src)
{
	uint16_t img[HR_COUNT_REGS];
	bool config = addr + n > HR_RATE && addr <= HR_TRIGGER;

	if (!sim_regs_listed(holding_spans, N_SPANS(holding_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	sim_daq_advance(d, now);
	if (config && d->status != ST_IDLE && d->status != ST_DONE)
		return RIGI_MBX_BUSY;
	holding_image(d, img);
	memcpy(img + (addr - HR_COMMAND), src, n * sizeof(uint16_t));
	if (!write_valid(d, img, addr, n))
		return RIGI_MBX_ILLEGAL_VALUE;
	d->rate = sim_regs_u32(img + HR_RATE - HR_COMMAND);
	d->count = sim_regs_u32(img + HR_COUNT - HR_COMMAND);
	d->mask = img[HR_MASK - HR_COMMAND];
	d->trigger = img[HR_TRIGGER - HR_COMMAND];
	d->page = img[HR_PAGE - HR_COMMAND];
	return addr == HR_COMMAND ? command(d, now, src[0]) : 0;
}

int sim_daq_read_holding(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
			 uint16_t *dst)
{
	uint16_t img[HR_COUNT_REGS];

	if (!sim_regs_listed(holding_spans, N_SPANS(holding_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	sim_daq_advance(d, now);
	holding_image(d, img);
	memcpy(dst, img + (addr - HR_COMMAND), n * sizeof(uint16_t));
	return 0;
}

static unsigned map_version(void)
{
	unsigned v = atomic_load(&map_version_fault);
	return v ? v : MAP_VERSION;
}

static int read_window(struct sim_daq *d, double now, uint16_t addr, uint16_t n, uint16_t *dst)
{
	size_t first = (size_t)d->page * SIM_DAQ_WINDOW + (addr - IR_WINDOW);
	size_t nch = popcount16(d->cap_mask);
	size_t total = (size_t)d->cap_count * nch;

	if (d->status == ST_FAULT)
		return RIGI_MBX_DEVICE_FAILURE; /* the data is unusable, waiting cannot help */
	if (d->status == ST_CAPTURING && map_version() >= 2) {
		if (first + n > total)
			return RIGI_MBX_ILLEGAL_ADDRESS;
		if (first + n > (size_t)captured(d, now) * nch)
			return RIGI_MBX_BUSY; /* not taken yet */
	} else if (d->status != ST_DONE) {
		return RIGI_MBX_BUSY;
	}
	if (first + n > total)
		return RIGI_MBX_ILLEGAL_ADDRESS;
	for (uint16_t i = 0; i < n; i++)
		dst[i] = (uint16_t)d->buf[first + i];
	return 0;
}

int sim_daq_read_input(struct sim_daq *d, double now, uint16_t addr, uint16_t n,
		       uint16_t *dst)
{
	uint16_t img[IR_END] = {0};

	if (!sim_regs_listed(input_spans, N_SPANS(input_spans), addr, n))
		return RIGI_MBX_ILLEGAL_ADDRESS;
	sim_daq_advance(d, now);
	if (addr >= IR_WINDOW)
		return read_window(d, now, addr, n, dst);
	img[0] = DEVICE_DAQ;
	img[1] = (uint16_t)map_version();
	sim_regs_put_u32(img + 2, d->serial);
	img[4] = FIRMWARE;
	img[5] = (uint16_t)d->channels;
	sim_regs_put_u32(img + 6, SIM_DAQ_MAX_RATE);
	sim_regs_put_u32(img + 8, SIM_DAQ_CAPACITY);
	img[IR_STATUS] = d->status;
	img[IR_STATUS + 1] = d->flags;
	sim_regs_put_u32(img + IR_STATUS + 2, captured(d, now));
	img[IR_STATUS + 4] = d->fault_code;
	memcpy(dst, img + addr, n * sizeof(uint16_t));
	return 0;
}

void sim_daq_inject_map_version(unsigned version)
{
	atomic_store(&map_version_fault, version & 0xFFFFu);
}

void sim_daq_inject_overrun(struct sim_daq *d, bool on)
{
	d->overrun_pending = on;
}

double sim_daq_capture_end(const struct sim_daq *d)
{
	return d->status == ST_CAPTURING ? d->t_end : -1.0;
}
