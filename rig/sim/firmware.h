/* Internals of a simulated pen shared by its modules: the device structure,
 * the firmware model (device side of docs/protocol.md: framing in
 * firmware.c, tables and A/B slots in firmware_table.c) and the hardware
 * glue the firmware drives (pen.c, pen_wave.c). Written from
 * docs/protocol.md alone, independently of the host codec in rig/lib/dut/.
 * Every function here expects the pen's lock to be held. */
#ifndef SIM_FIRMWARE_H
#define SIM_FIRMWARE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <rig/pcg32.h>

#include "flash.h"
#include "pen.h"
#include "physics.h"

#define SIM_FW_HEADER 8u
#define SIM_FW_PAYLOAD_MAX 1024u
#define SIM_FW_FRAME_MAX (SIM_FW_HEADER + SIM_FW_PAYLOAD_MAX + 4u)
#define SIM_FW_KNOTS_MAX 32u
#define SIM_FW_NONCE 32u
/* Link timers count real monotonic nanoseconds in every clock mode: they
 * measure the host, which lives in real time (docs/protocol.md §2, §3). */
#define SIM_FW_RX_TIMEOUT_NS 100000000   /* partial frame: no new byte for 100 ms */
#define SIM_FW_WATCHDOG_NS 1000000000    /* host-loss watchdog: no valid frame for 1000 ms */

/* Status codes (docs/protocol.md §4). */
enum sim_fw_status {
	SIM_ST_OK = 0x00,
	SIM_ST_BAD_CRC = 0x01,
	SIM_ST_BAD_VERSION = 0x02,
	SIM_ST_UNKNOWN_COMMAND = 0x03,
	SIM_ST_BAD_LENGTH = 0x04,
	SIM_ST_BAD_ARGUMENT = 0x05,
	SIM_ST_AUTH_REQUIRED = 0x06,
	SIM_ST_AUTH_FAILED = 0x07,
	SIM_ST_WRONG_STATE = 0x08,
	SIM_ST_OUT_OF_RANGE = 0x09,
	SIM_ST_TABLE_INCOMPLETE = 0x0A,
	SIM_ST_TABLE_CRC = 0x0B,
	SIM_ST_TABLE_SIGNATURE = 0x0C,
	SIM_ST_TABLE_FORMAT = 0x0D,
	SIM_ST_TABLE_NOT_MONOTONE = 0x0E,
	SIM_ST_TABLE_BOUNDS = 0x0F,
	SIM_ST_TABLE_STALE = 0x10,
	SIM_ST_TABLE_SERIAL = 0x11,
	SIM_ST_FLASH_ERROR = 0x12,
	SIM_ST_FAULT = 0x13,
	SIM_ST_BUSY = 0x14,
};

/* fault_flags bits (docs/protocol.md §3 STATUS). */
enum sim_fw_fault {
	SIM_FAULT_STALL = 1u << 0,
	SIM_FAULT_OVERCURRENT = 1u << 1,
	SIM_FAULT_OVERTEMP = 1u << 2,
	SIM_FAULT_NO_TABLE = 1u << 3,
	SIM_FAULT_CARTRIDGE = 1u << 4,
	SIM_FAULT_FLASH = 1u << 5,
	SIM_FAULT_HOST_LOST = 1u << 6, /* the host-loss watchdog stopped the pen */
};

/* The device limits of model MN1 (IDENTIFY). */
#define SIM_MODEL "MN1"
#define SIM_HW_VERSION 0x0100u
#define SIM_FW_VERSION 0x010200u
#define SIM_TABLE_FORMAT 1u
#define SIM_TABLE_MAX_BYTES 512u
#define SIM_CODE_MIN 0u
#define SIM_CODE_MAX 4095u
#define SIM_DUTY_MIN 0u
#define SIM_DUTY_MAX 1000u
#define SIM_DEPTH_MIN_UM 250u
#define SIM_DEPTH_MAX_UM 2500u
#define SIM_DEPTH_STEP_UM 250u
#define SIM_MAX_PROTRUSION_UM 3000u
#define SIM_RATE_MIN_SPM 3000u
#define SIM_RATE_MAX_SPM 9000u
#define SIM_N_SPEEDS 6u

/** A parsed calibration table (docs/protocol.md §6) and its blob. */
struct sim_table {
	uint8_t n_depth, n_rate;
	uint16_t depth_sp[SIM_FW_KNOTS_MAX], depth_code[SIM_FW_KNOTS_MAX];
	uint16_t rate_sp[SIM_FW_KNOTS_MAX], rate_duty[SIM_FW_KNOTS_MAX];
	uint32_t seq, crc;
	uint16_t size;
	uint8_t blob[SIM_TABLE_MAX_BYTES];
};

/** Firmware RAM: lost on power loss. */
struct sim_fw {
	uint8_t rx[SIM_FW_FRAME_MAX];   /* frame being received */
	size_t rx_len;
	int64_t rx_last_ns;             /* monotonic time of the last received byte */
	int64_t valid_last_ns;          /* monotonic time of the last valid frame */
	uint8_t cache_req[SIM_FW_FRAME_MAX];  /* last executed request ... */
	size_t cache_req_len;
	uint8_t cache_resp[SIM_FW_FRAME_MAX]; /* ... and its response */
	size_t cache_resp_len;
	uint8_t mode;                   /* 0 USER, 1 SERVICE */
	uint8_t motor;                  /* commanded on */
	uint16_t faults;
	uint16_t code, duty, depth_um, rate_spm;
	int authenticated;
	int nonce_valid;
	uint8_t nonce[SIM_FW_NONCE];
	int active;                     /* active slot, -1 none */
	struct sim_table table;         /* the active table */
	int writing;                    /* TABLE_BEGIN accepted, not committed */
	int write_slot;
	uint16_t write_total, write_received;
	uint32_t write_crc;
	uint8_t write_buf[SIM_TABLE_MAX_BYTES];
};

#define SIM_CAM_HISTORY 4096u /* strokes kept for samples asked out of order */

/** One stroke cycle: tip = rest + amp * (1 - shape(theta)), theta from -pi
 *  (rest) through 0 (peak) to pi over the period. */
struct sim_stroke {
	double start_s, period_s;
	double rest_um, amp_um;
};

/** Cam state of the waveform generator (pen_wave.c): the strokes of the
 *  current motor run, newest last, in a ring. */
struct sim_cam {
	int active;            /* the run's strokes are anchored */
	unsigned run;          /* motor run they belong to */
	size_t newest, count;  /* ring position of the newest stroke, strokes kept */
	struct sim_stroke hist[SIM_CAM_HISTORY];
	struct rig_pcg32 rng;  /* per-stroke jitter and skips */
};

/** Mechanical and electrical state: survives power loss. */
struct sim_hw {
	int dir;               /* direction of the last code change: +1 up, -1 down */
	uint16_t code_applied, duty_applied; /* outputs the hardware runs with */
	int running;           /* motor energised */
	unsigned run;          /* counts motor starts */
	double on_acc_s;       /* motor-on time of finished runs */
	double run_start_s;    /* sim time the current run started */
	double strokes;        /* lifetime strokes */
	double strokes_t;      /* sim time up to which strokes are counted */
	double temp_c, temp_t; /* motor temperature and when it was updated */
	struct sim_cam cam;
};

struct sim_pen {
	pthread_mutex_t lock;
	char serial[SIM_FLASH_FIELD + 1];
	uint8_t serial_field[SIM_FLASH_FIELD]; /* NUL-padded as in IDENTIFY */
	uint8_t key[32];
	const struct sim_clock *clock;
	struct sim_clock own_clock;
	struct sim_unit unit;
	struct sim_flash *flash;
	unsigned long boots;   /* power-ups since creation */
	long loss_after;       /* received bytes before an injected power loss; -1 off */
	struct sim_fw fw;
	struct sim_hw hw;
};

/** lo <= v <= hi (a function, so that a bound of 0 draws no warning). */
static inline int sim_fw_in_range(unsigned v, unsigned lo, unsigned hi)
{
	return v >= lo && v <= hi;
}

/* ---- firmware.c ---- */

/** Power-up state of the firmware RAM (tables not loaded). The watchdog
 *  needs no time here: a powered-up pen is disarmed (USER mode, motor off)
 *  until a valid frame, which sets its time, arms it. */
void sim_fw_reset(struct sim_pen *pen);
/** Feed bytes received at monotonic time @p now_ns; see sim_pen_receive(). */
size_t sim_fw_receive(struct sim_pen *pen, int64_t now_ns, const uint8_t *in, size_t len,
		      uint8_t *out, size_t cap);
/** Run the host-loss watchdog at monotonic time @p now_ns: in service mode
 *  or with the motor on, 1000 ms without a valid frame stops the pen.
 *  Returns 1 when it tripped now. */
int sim_fw_watchdog(struct sim_pen *pen, int64_t now_ns);
/** The host link closed. */
void sim_fw_link_closed(struct sim_pen *pen);

/* ---- firmware_table.c ---- */

/** Verify both slots and select the active table (or set NO_TABLE). */
void sim_fw_boot_tables(struct sim_pen *pen);
/** Build the factory table blob (nominal mapping, signed): @p len bytes,
 *  whose CRC field is @p crc. */
int sim_fw_factory_table(const struct sim_pen *pen, uint32_t seq, uint8_t *blob, size_t *len,
			 uint32_t *crc);
/** Map user setpoints through the active table; returns a status code. */
uint8_t sim_fw_map_user(const struct sim_pen *pen, uint16_t depth_um, uint16_t rate_spm,
			uint16_t *code, uint16_t *duty);
/** Abort a table write in progress (erase the inactive slot). */
void sim_fw_abort_write(struct sim_pen *pen);
/** Run TABLE_READ/BEGIN/CHUNK/COMMIT/ABORT; returns the status, puts the
 *  response data after the status in @p data (@p data_len bytes). */
uint8_t sim_fw_table_command(struct sim_pen *pen, uint8_t cmd, const uint8_t *p, size_t len,
			     uint8_t *data, size_t *data_len);
/** Key check stored in the flash header (proves the line key). */
int sim_fw_keycheck(const struct sim_pen *pen, uint8_t out[SIM_FLASH_KEYCHECK_BYTES]);

/* ---- pen.c: hardware glue ---- */

/** Simulated seconds now. */
double sim_hw_now(const struct sim_pen *pen);
/** The firmware changed code, duty or motor: move the depth stop, start or
 *  stop the motor, detect a stall. */
void sim_hw_apply(struct sim_pen *pen);
/** Bring strokes and temperature up to now; report current (mA),
 *  temperature (0.1 °C) and lifetime strokes. */
void sim_hw_sense(struct sim_pen *pen, uint16_t *current_ma, int16_t *temp_dc,
		  uint32_t *strokes);
/** Power loss and immediate power-up: the motor stops, RAM is lost, the
 *  flash is kept as it is and verified at boot. */
void sim_hw_power_loss(struct sim_pen *pen);
/** Motor-on time (whole seconds) at sim time @p t. */
double sim_hw_on_seconds(const struct sim_pen *pen, double t);
/** Peak protrusion now with the applied code (µm). */
double sim_hw_protrusion(const struct sim_pen *pen, double on_s);

#endif
