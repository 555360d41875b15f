/* Integration of the host DUT client with the simulator's firmware model
 * (rig/sim/pen.c), two implementations written independently from
 * docs/protocol.md: a small pump thread carries bytes between the client's
 * Unix socket and sim_pen_receive(). Covers identify, status,
 * authentication (right and wrong key), table read, table write with
 * read-back, and the pen's own refusals. */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "pen.h"
#include "simclock.h"
#include "testsupport.h"

struct bench {
	char *dir;
	char uri[400];
	int listen_fd;
	volatile int stop;
	pthread_t thread;
	struct sim_clock clock;
	struct sim_pen *pen;
	uint8_t key[32];
	struct rig_dut *dut;
};

/* One host connection at a time: bytes in, sim_pen_receive, bytes out. */
static void pump(struct bench *b, int fd)
{
	static uint8_t in[4096], out[4 * 1036];
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (!b->stop) {
		ssize_t n;
		size_t m;
		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recv(fd, in, sizeof(in), 0);
		if (n <= 0)
			break;
		m = sim_pen_receive(b->pen, in, (size_t)n, out, sizeof(out));
		if (m && send(fd, out, m, MSG_NOSIGNAL) != (ssize_t)m)
			break;
	}
	sim_pen_link_closed(b->pen);
}

static void *pump_main(void *arg)
{
	struct bench *b = arg;
	struct pollfd p = {.fd = b->listen_fd, .events = POLLIN};

	while (!b->stop) {
		int fd;
		if (poll(&p, 1, 20) <= 0)
			continue;
		fd = accept(b->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		pump(b, fd);
		close(fd);
	}
	return NULL;
}

static int setup(void **state)
{
	struct bench *b = calloc(1, sizeof(*b));
	struct sim_pen_config cfg = {.seed = 42, .serial = "MN1-000777"};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[200];

	if (!b)
		return -1;
	b->dir = ts_mkdtemp("dutsim");
	for (int i = 0; i < 32; i++)
		b->key[i] = (uint8_t)(0xC0 + i);
	sim_clock_init(&b->clock, 1.0);
	memcpy(cfg.line_key, b->key, 32);
	cfg.state_dir = b->dir;
	cfg.clock = &b->clock;
	b->pen = sim_pen_new(&cfg);
	if (!b->dir || !b->pen) {
		fprintf(stderr, "sim_pen_new: %s\n", rig_last_error());
		return -1;
	}
	snprintf(path, sizeof(path), "%s/nest0.sock", b->dir);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	snprintf(b->uri, sizeof(b->uri), "unix://%s", path);
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (b->listen_fd < 0 || bind(b->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(b->listen_fd, 1) != 0 || pthread_create(&b->thread, NULL, pump_main, b) != 0)
		return -1;
	if (rig_dut_open(b->uri, &b->dut) != 0) {
		fprintf(stderr, "rig_dut_open: %s\n", rig_last_error());
		return -1;
	}
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bench *b = *state;
	if (rig_dut_safe(b->dut) != 0)
		fprintf(stderr, "SAFE: %s\n", rig_last_error());
	rig_dut_close(b->dut);
	b->stop = 1;
	pthread_join(b->thread, NULL);
	close(b->listen_fd);
	sim_pen_free(b->pen);
	ts_rmtree(b->dir);
	free(b->dir);
	free(b);
	return 0;
}

static void identify_and_status(void **state)
{
	struct bench *b = *state;
	struct rig_dut_identity id;
	struct rig_dut_status st;

	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	assert_string_equal(id.serial, "MN1-000777");
	assert_int_equal(id.table_format, 1);
	assert_true(id.code_min < id.code_max);
	assert_true(id.depth_min_um < id.depth_max_um);
	assert_true(id.n_speed_levels >= 1 && id.n_speed_levels <= 8);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_true(st.active_slot == RIG_DUT_SLOT_A || st.active_slot == RIG_DUT_SLOT_B);
	assert_int_equal(st.authenticated, 0);
	assert_int_equal(st.motor_on, 0);
}

/* Read the active table and check it is a valid one for this pen. */
static void read_active(struct bench *b, struct rig_cal_table *t, uint8_t *blob, size_t *len)
{
	struct rig_dut_identity id;
	assert_int_equal(rig_dut_table_read(b->dut, RIG_DUT_SLOT_ACTIVE, blob,
					    RIG_CAL_TABLE_MAX_BYTES, len), 0);
	assert_int_equal(rig_cal_table_decode(blob, *len, b->key, t), 0);
	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	assert_int_equal(rig_cal_table_check(t, &id, NULL), 0);
	assert_string_equal(t->serial, "MN1-000777");
}

static void wrong_key_is_refused(void **state)
{
	struct bench *b = *state;
	uint8_t wrong[32], blob[RIG_CAL_TABLE_MAX_BYTES];
	struct rig_cal_table t;
	struct rig_dut_status st;
	size_t len;

	memcpy(wrong, b->key, 32);
	wrong[31] ^= 0x80;
	assert_int_equal(rig_dut_authenticate(b->dut, wrong), RIG_ERR_AUTH);
	assert_int_equal(rig_dut_last_status(b->dut), RIG_DUT_AUTH_FAILED);
	assert_int_equal(rig_dut_set_service(b->dut, 100, 500), RIG_ERR_AUTH);
	assert_int_equal(rig_dut_last_status(b->dut), RIG_DUT_AUTH_REQUIRED);
	/* A valid, newer table is still refused without a session. */
	read_active(b, &t, blob, &len);
	t.table_seq++;
	assert_int_equal(rig_cal_table_encode(&t, b->key, blob, sizeof(blob), &len), 0);
	assert_int_equal(rig_dut_table_write(b->dut, blob, len), RIG_ERR_AUTH);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.authenticated, 0);
	assert_int_equal(st.active_table_seq, t.table_seq - 1);
}

static void authenticated_table_write(void **state)
{
	struct bench *b = *state;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES], back[RIG_CAL_TABLE_MAX_BYTES], other[32];
	struct rig_cal_table t, t2;
	struct rig_dut_status before, after;
	size_t len, back_len;

	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	assert_int_equal(rig_dut_status(b->dut, &before), 0);
	assert_int_equal(before.authenticated, 1);
	read_active(b, &t, blob, &len);
	assert_int_equal(t.table_seq, before.active_table_seq);

	/* Signed with another key: the pen refuses it and keeps its table. */
	t.table_seq = before.active_table_seq + 1;
	memset(other, 0x5A, sizeof(other));
	assert_int_equal(rig_cal_table_encode(&t, other, blob, sizeof(blob), &len), 0);
	assert_int_equal(rig_dut_table_write(b->dut, blob, len), RIG_ERR_SIGNATURE);
	assert_int_equal(rig_dut_last_status(b->dut), RIG_DUT_OK); /* the abort's */
	assert_int_equal(rig_dut_status(b->dut, &after), 0);
	assert_int_equal(after.active_slot, before.active_slot);
	assert_int_equal(after.active_table_seq, before.active_table_seq);
	assert_int_equal(after.write_state, 0);

	/* A properly signed newer table: written, committed, read back. */
	t.depth[0].code++;
	assert_int_equal(rig_cal_table_encode(&t, b->key, blob, sizeof(blob), &len), 0);
	assert_int_equal(rig_dut_table_write(b->dut, blob, len), 0);
	assert_int_equal(rig_dut_status(b->dut, &after), 0);
	assert_int_not_equal(after.active_slot, before.active_slot);
	assert_int_equal(after.active_table_seq, t.table_seq);
	assert_int_equal(after.active_table_crc, rigi_get_u32le(blob + len - 36));
	assert_int_equal(rig_dut_table_read(b->dut, after.active_slot, back, sizeof(back),
					    &back_len), 0);
	assert_int_equal(back_len, len);
	assert_memory_equal(back, blob, len);
	assert_int_equal(rig_cal_table_decode(back, back_len, b->key, &t2), 0);
	assert_int_equal(t2.depth[0].code, t.depth[0].code);

	/* The same table again is stale: the rig refuses before sending. */
	assert_int_equal(rig_dut_table_write(b->dut, blob, len), RIG_ERR_STATE);
	assert_non_null(strstr(rig_last_error(), "refused before sending"));
}

static void modes_and_ranges(void **state)
{
	struct bench *b = *state;
	struct rig_dut_identity id;
	struct rig_dut_status st;
	uint16_t code = 0, duty = 0;

	assert_int_equal(rig_dut_identify(b->dut, &id), 0);
	assert_int_equal(rig_dut_set_user(b->dut, id.depth_min_um, id.rate_min_spm, &code, &duty),
			 0);
	assert_true(code >= id.code_min && code <= id.code_max);
	assert_true(duty >= id.duty_min && duty <= id.duty_max);
	assert_int_equal(rig_dut_set_user(b->dut, (uint16_t)(id.depth_max_um + 1),
					  id.rate_min_spm, NULL, NULL), RIG_ERR_RANGE);
	assert_int_equal(rig_dut_authenticate(b->dut, b->key), 0);
	assert_int_equal(rig_dut_set_service(b->dut, id.code_min, id.duty_max), 0);
	assert_int_equal(rig_dut_set_service(b->dut, id.code_min, (uint16_t)(id.duty_max + 1)),
			 RIG_ERR_RANGE);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.mode, 1);
	assert_int_equal(rig_dut_safe(b->dut), 0);
	assert_int_equal(rig_dut_status(b->dut, &st), 0);
	assert_int_equal(st.mode, 0);
	assert_int_equal(st.authenticated, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identify_and_status, setup, teardown),
		cmocka_unit_test_setup_teardown(wrong_key_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(authenticated_table_write, setup, teardown),
		cmocka_unit_test_setup_teardown(modes_and_ranges, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
