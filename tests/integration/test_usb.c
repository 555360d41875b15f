/* The USB transport (rig/lib/dut/usb.c) for real: libusb, unmodified, talks
 * to the simulator's firmware model presented as a USB device by umockdev
 * (tests/usb/usbharness.h). Covers open by serial and by bus path, wrong
 * addresses, the commands of a calibration (identify, status,
 * authentication, a service-mode sweep, a table write read back), the
 * link's failures (unplug mid-command and from another thread, pen power
 * loss, a pen held by another program, stalls, a pen that stops taking
 * data) and discovery. Runs under LD_PRELOAD=libumockdev-preload.so.0 (the
 * ctest environment); skips without it. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rig/clock.h>
#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "dut/client.h"
#include "dut/usb.h"
#include "pen.h"
#include "simclock.h"
#include "testsupport.h"
#include "usbharness.h"

#define SERIAL "MN1-000321"
#define SERIAL2 "MN1-000654"
#define PORT 3
#define PORT2 5
#define BY_SERIAL "usb://1209:4d4e?serial=" SERIAL

struct bench {
	char *dir;
	struct sim_clock clock;
	uint8_t key[32];
	struct sim_pen *pen, *pen2;
	struct usbh *bus;
	struct rig_dut *dut;
};

static struct sim_pen *new_pen(struct bench *b, const char *serial)
{
	struct sim_pen_config cfg = {.seed = 5, .state_dir = b->dir, .clock = &b->clock};
	struct sim_pen *pen;

	snprintf(cfg.serial, sizeof(cfg.serial), "%s", serial);
	memcpy(cfg.line_key, b->key, sizeof(b->key));
	pen = sim_pen_new(&cfg);
	if (!pen)
		fprintf(stderr, "sim_pen_new: %s\n", rig_last_error());
	return pen;
}

static int setup(void **state)
{
	struct bench *b = calloc(1, sizeof(*b));

	if (!b || !(b->dir = ts_mkdtemp("usb")))
		return -1;
	for (int i = 0; i < 32; i++)
		b->key[i] = (uint8_t)(0x30 + i);
	sim_clock_init(&b->clock, 1.0);
	b->bus = usbh_new();
	b->pen = new_pen(b, SERIAL);
	if (!b->bus || !b->pen || usbh_plug(b->bus, PORT, b->pen) < 0)
		return -1;
	if (rig_dut_open(BY_SERIAL, &b->dut) != 0) {
		fprintf(stderr, "rig_dut_open: %s\n", rig_last_error());
		return -1;
	}
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bench *b = *state;

	rig_dut_close(b->dut);
	usbh_free(b->bus);
	sim_pen_free(b->pen);
	sim_pen_free(b->pen2);
	ts_rmtree(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

static void identify_status_by_serial(void **state)
{
	struct bench *b = *state;
	struct rig_dut_identity id;
	struct rig_dut_status st;

	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	assert_string_equal(id.serial, SERIAL);
	assert_string_equal(id.model, "MN1");
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_true(st.active_slot == RIG_DUT_SLOT_A || st.active_slot == RIG_DUT_SLOT_B);
	assert_int_equal(st.authenticated, 0);
}

static void open_by_path(void **state)
{
	struct bench *b = *state;
	struct rig_dut *dut = NULL;
	struct rig_dut_identity id;
	char uri[128];

	assert_string_equal(usbh_path(b->bus, PORT), "1-1.3");
	rig_dut_close(b->dut); /* one link per pen */
	b->dut = NULL;
	snprintf(uri, sizeof(uri), "usb://1209:4d4e?path=%s", usbh_path(b->bus, PORT));
	assert_int_equal(rig_dut_open(uri, &dut), 0);
	assert_int_equal(rig_dut_identify(dut, &id), 0);
	assert_string_equal(id.serial, SERIAL);
	rig_dut_close(dut);
	/* The only pen with that VID:PID needs no selector at all. */
	assert_int_equal(rig_dut_open("usb://1209:4d4e", &dut), 0);
	assert_int_equal(rig_dut_identify(dut, &id), 0);
	rig_dut_close(dut);
	assert_int_equal(rig_dut_open("usb://1209:4d4e?path=1-1.6", &dut), RIG_ERR_NOT_FOUND);
	assert_null(dut);
	assert_non_null(strstr(rig_last_error(), "at bus path 1-1.6"));
}

static void wrong_serial_is_not_found(void **state)
{
	struct bench *b = *state;
	struct rig_dut *dut = NULL;

	(void)b;
	assert_int_equal(rig_dut_open("usb://1209:4d4e?serial=MN1-999999", &dut),
			 RIG_ERR_NOT_FOUND);
	assert_null(dut);
	assert_non_null(strstr(rig_last_error(), "MN1-999999"));
	assert_non_null(strstr(rig_last_error(), "rig devices"));
	assert_non_null(strstr(rig_last_error(), "1 other device"));
	assert_int_equal(rig_dut_open("usb://1209:4d4f?serial=" SERIAL, &dut), RIG_ERR_NOT_FOUND);
}

static void service_sweep(void **state)
{
	struct bench *b = *state;
	struct rig_dut_identity id;
	struct rig_dut_status st;
	struct sim_truth truth;

	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	assert_int_equal(rig_dut_set_service(b->dut, id.code_min, id.duty_min), RIG_ERR_AUTH);
	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	for (unsigned code = id.code_min; code <= id.code_max; code += (id.code_max - id.code_min) / 4) {
		uint16_t duty = (uint16_t)(id.duty_min + (id.duty_max - id.duty_min) / 2);
		assert_int_equal(rig_dut_set_service(b->dut, (uint16_t)code, duty), 0);
		assert_int_equal(rig_dut_motor(b->dut, 1), 0);
		assert_int_equal(rig_dut_status(b->dut, &st), 0);
		assert_int_equal(st.mode, 1);
		assert_int_equal(st.motor_on, 1);
		assert_int_equal(st.code, code);
		assert_int_equal(st.duty, duty);
		sim_pen_truth_now(b->pen, &truth);
		assert_int_equal(truth.code, code);
		assert_int_equal(rig_dut_motor(b->dut, 0), 0);
	}
	assert_int_equal(rig_dut_safe(b->dut), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.mode, 0);
	assert_int_equal(st.motor_on, 0);
	assert_int_equal(st.authenticated, 0);
}

/* The pen ends its session when the link closes (SET_INTERFACE, §7). */
static void session_ends_with_the_link(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;

	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.authenticated, 1);
	rig_dut_close(b->dut);
	assert_int_equal(rig_dut_open(BY_SERIAL, &b->dut), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.authenticated, 0);
}

static void table_write_read_back(void **state)
{
	struct bench *b = *state;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES], back[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_cal_table t;
	struct rig_dut_status before, after;
	size_t len, back_len;

	b->dut->write_chunk = 64; /* several TABLE_CHUNKs */
	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	assert_int_equal(rig_dut_status(b->dut, &before), 0);
	assert_int_equal(rig_dut_table_read(b->dut, RIG_DUT_SLOT_ACTIVE, blob, sizeof(blob), &len),
			 0);
	assert_int_equal(rig_cal_table_decode(blob, len, b->key, &t), 0);
	t.table_seq++;
	t.depth[1].code = (uint16_t)(t.depth[1].code + 3);
	assert_int_equal(rig_cal_table_encode(&t, b->key, blob, sizeof(blob), &len), 0);
	assert_true(len > 2 * 64);
	assert_int_equal(rig_dut_table_write(b->dut, blob, len), 0);
	assert_int_equal(rig_dut_status(b->dut, &after), 0);
	assert_int_not_equal(after.active_slot, before.active_slot);
	assert_int_equal(after.active_table_seq, t.table_seq);
	assert_int_equal(rig_dut_table_read(b->dut, after.active_slot, back, sizeof(back),
					    &back_len), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, blob, len);
}

static double elapsed_ms(int64_t t0)
{
	return (double)(rig_clock_ms() - t0);
}

/* The pen is unplugged after it took the request: the response never
 * comes, the transfer waiting for it ends at once. */
static void unplug_mid_command(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;
	struct rig_dut_identity id;
	int64_t t0;

	rig_dut_close(b->dut);
	assert_int_equal(rig_dut_open(BY_SERIAL "&timeout_ms=2000", &b->dut), 0);
	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	usbh_unplug_after(b->bus, PORT, 12); /* STATUS is a 12-byte frame */
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_status(b->dut, &st), RIG_ERR_DISCONNECTED);
	printf("unplug after the request: RIG_ERR_DISCONNECTED after %.0f ms\n", elapsed_ms(t0));
	assert_true(elapsed_ms(t0) < 300);
	assert_non_null(strstr(rig_last_error(), "re-seat the cable"));
	assert_false(usbh_connected(b->bus, PORT));
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_identify(b->dut, &id), RIG_ERR_DISCONNECTED);
	assert_true(elapsed_ms(t0) < 100);
	/* Plugged in again, the pen is found by its serial under a new address. */
	rig_dut_close(b->dut);
	b->dut = NULL;
	assert_int_equal(rig_dut_open(BY_SERIAL, &b->dut), RIG_ERR_NOT_FOUND);
	assert_int_equal(usbh_replug(b->bus, PORT), 0);
	assert_int_equal(rig_dut_open(BY_SERIAL, &b->dut), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
}

struct later {
	struct usbh *bus;
	int ms;
};

static void *unplug_later(void *arg)
{
	struct later *l = arg;
	rig_sleep_ns((int64_t)l->ms * 1000000);
	usbh_unplug(l->bus, PORT);
	return NULL;
}

/* The pen stops taking data and is pulled while the rig is blocked in a
 * transfer: the transfer ends with the unplug, not at its timeout. */
static void unplug_while_blocked(void **state)
{
	struct bench *b = *state;
	struct later l = {.bus = b->bus, .ms = 100};
	struct rig_dut_status st;
	pthread_t th;
	int64_t t0;

	rig_dut_close(b->dut);
	assert_int_equal(rig_dut_open(BY_SERIAL "&timeout_ms=3000", &b->dut), 0);
	usbh_hold_out(b->bus, PORT, 1);
	assert_int_equal(pthread_create(&th, NULL, unplug_later, &l), 0);
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_status(b->dut, &st), RIG_ERR_DISCONNECTED);
	printf("unplug %d ms into a blocked transfer: RIG_ERR_DISCONNECTED after %.0f ms\n",
	       l.ms, elapsed_ms(t0));
	assert_true(elapsed_ms(t0) < 1000);
	pthread_join(th, NULL);
}

static void power_loss_drops_the_link(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;

	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	sim_pen_power_loss_after(b->pen, 5);
	assert_int_equal(rig_dut_status(b->dut, &st), RIG_ERR_DISCONNECTED);
	assert_int_equal(sim_pen_boot_count(b->pen), 2);
	assert_false(usbh_connected(b->bus, PORT));
	rig_dut_close(b->dut);
	b->dut = NULL;
	assert_int_equal(usbh_replug(b->bus, PORT), 0);
	assert_int_equal(rig_dut_open(BY_SERIAL, &b->dut), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.authenticated, 0);
}

static void held_by_another_program(void **state)
{
	struct bench *b = *state;
	struct rig_dut *second = NULL;
	char hint[64];

	assert_int_equal(rig_dut_open(BY_SERIAL, &second), RIG_ERR_BUSY);
	assert_null(second);
	snprintf(hint, sizeof(hint), "fuser -v %s", usbh_devnode(b->bus, PORT));
	assert_non_null(strstr(rig_last_error(), hint));
	/* Released, it can be had. */
	rig_dut_close(b->dut);
	b->dut = NULL;
	assert_int_equal(rig_dut_open(BY_SERIAL, &second), 0);
	rig_dut_close(second);
}

static void stalled_endpoints_are_cleared(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;
	const unsigned eps[2] = {RIGI_USB_EP_IN, RIGI_USB_EP_OUT};

	for (int i = 0; i < 2; i++) {
		usbh_stall(b->bus, PORT, eps[i]);
		assert_int_equal(rig_dut_status(b->dut, &st), RIG_ERR_IO);
		assert_non_null(strstr(rig_last_error(), "stalled"));
		assert_non_null(strstr(rig_last_error(), "was cleared"));
		assert_int_equal(rig_dut_status(b->dut, &st), 0);
	}
}

static void pen_not_taking_data_times_out(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;
	int64_t t0;

	rig_dut_close(b->dut);
	assert_int_equal(rig_dut_open(BY_SERIAL "&timeout_ms=100", &b->dut), 0);
	usbh_hold_out(b->bus, PORT, 1);
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_status(b->dut, &st), RIG_ERR_TIMEOUT);
	assert_true(elapsed_ms(t0) >= 90 && elapsed_ms(t0) < 1000);
	assert_non_null(strstr(rig_last_error(), "took 0 of 12 bytes"));
	usbh_hold_out(b->bus, PORT, 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
}

static void discovery(void **state)
{
	struct bench *b = *state;
	struct rig_dut_device_info list[4];
	struct rig_dut *dut = NULL;
	struct rig_dut_identity id;
	size_t n = 0;

	b->pen2 = new_pen(b, SERIAL2);
	assert_non_null(b->pen2);
	assert_int_equal(usbh_plug(b->bus, PORT2, b->pen2), 0);
	/* The first pen is held by this process's link: still listed, but
	 * IDENTIFY cannot claim it. */
	assert_int_equal(rig_dut_list(RIG_DUT_LIST_IDENTIFY, list, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].path, "1-1.3");
	assert_string_equal(list[0].serial, SERIAL);
	assert_int_equal(list[0].err, RIG_ERR_BUSY);
	assert_false(list[0].identified);
	assert_string_equal(list[1].path, "1-1.5");
	assert_string_equal(list[1].serial, SERIAL2);
	assert_int_equal(list[1].err, 0);
	assert_true(list[1].identified);
	assert_string_equal(list[1].model, "MN1");
	assert_int_equal(list[1].fw_version, 0x010200);
	assert_int_equal(list[1].bcd_device, 0x0102);
	assert_int_equal(list[1].vid, RIG_DUT_USB_VID);
	assert_int_equal(list[1].pid, RIG_DUT_USB_PID);
	assert_string_equal(list[1].node, usbh_devnode(b->bus, PORT2));
	assert_string_equal(list[1].uri, "usb://1209:4d4e?serial=" SERIAL2);
	/* An entry's address opens it; two pens make a bare VID:PID ambiguous. */
	assert_int_equal(rig_dut_open(list[1].uri, &dut), 0);
	assert_int_equal(rig_dut_identify(dut, &id), 0);
	assert_string_equal(id.serial, SERIAL2);
	rig_dut_close(dut);
	assert_int_equal(rig_dut_open("usb://1209:4d4e", &dut), RIG_ERR_ARG);
	assert_non_null(strstr(rig_last_error(), "2 pens match"));
	/* A cap smaller than the count. */
	assert_int_equal(rig_dut_list(0, list, 1, &n), 0);
	assert_int_equal(n, 2);
	assert_false(list[0].identified);
	usbh_remove(b->bus, PORT2);
	assert_int_equal(rig_dut_list(0, list, 4, &n), 0);
	assert_int_equal(n, 1);
}

/* `rig devices`, another process: its libusb reaches this test's testbed
 * through the preload library it inherits. */
static void devices_command(void **state)
{
	struct bench *b = *state;
	char cmd[512], out[4096];
	size_t n;
	FILE *p;

	b->pen2 = new_pen(b, SERIAL2);
	assert_int_equal(usbh_plug(b->bus, PORT2, b->pen2), 0);
	rig_dut_close(b->dut);
	b->dut = NULL;
	snprintf(cmd, sizeof(cmd), "%s/bin/rig devices 2>&1", RIG_BINARY_DIR);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	assert_int_equal(pclose(p), 0);
	printf("%s", out);
	assert_non_null(strstr(out, "1209:4d4e  " SERIAL " "));
	assert_non_null(strstr(out, "1209:4d4e  " SERIAL2 " "));
	assert_non_null(strstr(out, "1.2.0"));
	assert_non_null(strstr(out, " 1-1.3 "));
	assert_non_null(strstr(out, " 1-1.5 "));
	assert_non_null(strstr(out, "usb://1209:4d4e?serial=" SERIAL "\n"));
	assert_null(strstr(out, "in use"));
}

/* Advice for errors the emulated bus cannot produce (the tests run as root). */
static void error_advice(void **state)
{
	(void)state;
	assert_int_equal(rigi_usb_fail(-3 /* LIBUSB_ERROR_ACCESS */, "1-1.3",
				       "/dev/bus/usb/001/005", "open"), RIG_ERR_PERMISSION);
	assert_non_null(strstr(rig_last_error(), "fixtures/udev/70-needle-rig.rules"));
	assert_non_null(strstr(rig_last_error(), "plugdev"));
	assert_non_null(strstr(rig_last_error(), "1-1.3"));
	assert_int_equal(rigi_usb_fail(-8 /* OVERFLOW */, "1-1.3", "n", "bulk IN"),
			 RIG_ERR_PROTOCOL);
	assert_int_equal(rigi_usb_fail(-7 /* TIMEOUT */, "1-1.3", "n", "x"), RIG_ERR_TIMEOUT);
	assert_int_equal(rigi_usb_fail(-1 /* IO */, "1-1.3", "n", "x"), RIG_ERR_IO);
	assert_int_equal(rigi_usb_fail(-99 /* OTHER */, "1-1.3", "n", "x"), RIG_ERR_IO);
}

/* Not a check: the cost of a round trip over the emulated bus. */
static void round_trip_time(void **state)
{
	struct bench *b = *state;
	struct rig_dut_status st;
	const int n = 300;
	int64_t t0 = rig_clock_ns();

	for (int i = 0; i < n; i++)
		assert_int_equal(rig_dut_status(b->dut, &st), 0);
	printf("usb round trip (STATUS, umockdev): %.3f ms mean over %d (%.0f/s)\n",
	       (double)(rig_clock_ns() - t0) / 1e6 / n, n,
	       n / ((double)(rig_clock_ns() - t0) / 1e9));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identify_status_by_serial, setup, teardown),
		cmocka_unit_test_setup_teardown(open_by_path, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_serial_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(service_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(session_ends_with_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(table_write_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(unplug_mid_command, setup, teardown),
		cmocka_unit_test_setup_teardown(unplug_while_blocked, setup, teardown),
		cmocka_unit_test_setup_teardown(power_loss_drops_the_link, setup, teardown),
		cmocka_unit_test_setup_teardown(held_by_another_program, setup, teardown),
		cmocka_unit_test_setup_teardown(stalled_endpoints_are_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(pen_not_taking_data_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(discovery, setup, teardown),
		cmocka_unit_test_setup_teardown(devices_command, setup, teardown),
		cmocka_unit_test(error_advice),
		cmocka_unit_test_setup_teardown(round_trip_time, setup, teardown),
	};

	if (!usbh_available()) {
		fprintf(stderr, "test_usb: needs LD_PRELOAD=libumockdev-preload.so.0; skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
