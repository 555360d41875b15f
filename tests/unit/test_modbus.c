/* Tests of the Modbus wrapper (rig/lib/instr/modbus.c): client against the
 * wrapper's own server over TCP and over RTU on a pseudo-terminal, with a
 * register bank whose special addresses answer exceptions; fault cases:
 * late replies, server gone, link drop and reconnect, unknown units, a
 * bus shared by two instruments and two threads. */
#include <pthread.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "instr/modbus.h"
#include "testsupport.h"

/* The bank: units 1 and 2; input registers 0..199 hold a pattern, holding
 * registers 0..99 are stored; special addresses answer exceptions. */
#define N_INPUT 200
#define N_HOLDING 100
#define ADDR_BUSY 0x0F01
#define ADDR_FAIL 0x0F02
#define VALUE_REFUSED 0xDEAD

struct bank {
	pthread_mutex_t lock;
	uint16_t holding[3][N_HOLDING];
	struct rigi_mbsrv *srv;
	char tcp[64];
	char rtu[96];
	int master, slave;
};

static uint16_t pattern(int unit, unsigned addr)
{
	return (uint16_t)(addr * 3u + (unsigned)unit * 1000u);
}

static int bank_read_input(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst)
{
	(void)user;
	if (unit < 1 || unit > 2)
		return RIGI_MBSRV_NO_UNIT;
	if (addr == ADDR_BUSY)
		return RIGI_MBX_BUSY;
	if (addr == ADDR_FAIL)
		return RIGI_MBX_DEVICE_FAILURE;
	if (addr + n > N_INPUT)
		return RIGI_MBX_ILLEGAL_ADDRESS;
	for (uint16_t i = 0; i < n; i++)
		dst[i] = pattern(unit, addr + i);
	return 0;
}

static int bank_read_holding(void *user, int unit, uint16_t addr, uint16_t n, uint16_t *dst)
{
	struct bank *b = user;
	if (unit < 1 || unit > 2)
		return RIGI_MBSRV_NO_UNIT;
	if (addr + n > N_HOLDING)
		return RIGI_MBX_ILLEGAL_ADDRESS;
	pthread_mutex_lock(&b->lock);
	memcpy(dst, b->holding[unit] + addr, n * sizeof(uint16_t));
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static int bank_write(void *user, int unit, uint16_t addr, uint16_t n, const uint16_t *src)
{
	struct bank *b = user;
	if (unit < 1 || unit > 2)
		return RIGI_MBSRV_NO_UNIT;
	if (addr + n > N_HOLDING)
		return RIGI_MBX_ILLEGAL_ADDRESS;
	for (uint16_t i = 0; i < n; i++)
		if (src[i] == VALUE_REFUSED)
			return RIGI_MBX_ILLEGAL_VALUE;
	pthread_mutex_lock(&b->lock);
	memcpy(b->holding[unit] + addr, src, n * sizeof(uint16_t));
	pthread_mutex_unlock(&b->lock);
	return 0;
}

static const struct rigi_mbsrv_ops bank_ops = {bank_read_input, bank_read_holding, bank_write};

static int start_server(struct bank *b, uint16_t port)
{
	struct rigi_mbsrv_config cfg = {.host = "127.0.0.1", .port = port, .rtu_fd = b->master,
					.ops = &bank_ops, .user = b};
	int ret = rigi_mbsrv_start(&cfg, &b->srv);
	if (ret == 0)
		snprintf(b->tcp, sizeof(b->tcp), "modbus-tcp://127.0.0.1:%u",
			 rigi_mbsrv_port(b->srv));
	return ret;
}

/* A pty pair: the server answers on the master, clients open the slave by
 * name. The test keeps the slave open so the master never sees a hang-up. */
static int setup(void **state)
{
	struct bank *b = calloc(1, sizeof(*b));
	struct termios t;
	char name[64];

	pthread_mutex_init(&b->lock, NULL);
	if (openpty(&b->master, &b->slave, NULL, NULL, NULL) < 0 ||
	    ttyname_r(b->slave, name, sizeof(name)) != 0)
		return -1;
	tcgetattr(b->slave, &t);
	cfmakeraw(&t);
	tcsetattr(b->slave, TCSANOW, &t);
	snprintf(b->rtu, sizeof(b->rtu), "modbus-rtu://%s", name);
	if (start_server(b, 0) < 0)
		return -1;
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bank *b = *state;
	rigi_mbsrv_free(b->srv);
	close(b->master);
	close(b->slave);
	pthread_mutex_destroy(&b->lock);
	free(b);
	return 0;
}

/* Open unit @p unit on @p base with extra query text. */
static struct rigi_mb *open_unit(const char *base, int unit, const char *extra)
{
	char text[256];
	struct rig_uri u;
	struct rigi_mb *mb = NULL;

	snprintf(text, sizeof(text), "%s?unit=%d%s", base, unit, extra ? extra : "");
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(rigi_mb_open(&u, &mb), 0);
	return mb;
}

static void check_pattern(struct rigi_mb *mb, uint16_t addr, uint16_t n)
{
	uint16_t regs[RIGI_MB_MAX_READ];
	assert_int_equal(rigi_mb_read_input(mb, addr, n, regs), 0);
	for (uint16_t i = 0; i < n; i++)
		assert_int_equal(regs[i], pattern(rigi_mb_unit(mb), addr + i));
}

static void round_trip(const char *base)
{
	struct rigi_mb *mb = open_unit(base, 1, NULL);
	uint16_t regs[RIGI_MB_MAX_WRITE], back[RIGI_MB_MAX_WRITE];
	uint32_t v;

	check_pattern(mb, 0, 1);
	check_pattern(mb, 75, RIGI_MB_MAX_READ);
	for (int i = 0; i < 50; i++)
		regs[i] = (uint16_t)(0x8000 + i * 7);
	assert_int_equal(rigi_mb_write_many(mb, 10, 50, regs), 0);
	assert_int_equal(rigi_mb_read_holding(mb, 10, 50, back), 0);
	assert_memory_equal(regs, back, 50 * sizeof(uint16_t));
	assert_int_equal(rigi_mb_write(mb, 99, 0x1234), 0);
	assert_int_equal(rigi_mb_read_holding(mb, 99, 1, back), 0);
	assert_int_equal(back[0], 0x1234);
	/* 32-bit values: high word first, and two's complement. */
	assert_int_equal(rigi_mb_write_u32(mb, 0, 0xFFFFFFFEu), 0);
	assert_int_equal(rigi_mb_read_holding(mb, 0, 2, back), 0);
	assert_int_equal(back[0], 0xFFFF);
	assert_int_equal(back[1], 0xFFFE);
	assert_int_equal(rigi_mb_i32(back), -2);
	assert_int_equal(rigi_mb_read_input_u32(mb, 4, &v), 0);
	assert_int_equal(v, ((uint32_t)pattern(1, 4) << 16) | pattern(1, 5));
	rigi_mb_close(mb);
}

static void tcp_round_trip(void **state)
{
	round_trip(((struct bank *)*state)->tcp);
}

static void rtu_round_trip(void **state)
{
	round_trip(((struct bank *)*state)->rtu);
}

static void expect_error(int ret, int err, const char *const *words)
{
	assert_int_equal(ret, err);
	for (; *words; words++)
		if (!strstr(rig_last_error(), *words))
			fail_msg("detail '%s' lacks '%s'", rig_last_error(), *words);
}

static void exceptions_named(const char *base)
{
	struct rigi_mb *mb = open_unit(base, 1, NULL);
	uint16_t regs[RIGI_MB_MAX_READ + 1];
	const char *addr_words[] = {base, "unit 1", "read input", "0x00c8",
				    "exception 0x02 illegal data address", "docs/registers.md", NULL};
	const char *value_words[] = {"write", "exception 0x03 illegal data value", NULL};
	const char *busy_words[] = {"exception 0x06 slave device busy", NULL};
	const char *fail_words[] = {"exception 0x04 slave device failure", NULL};
	const char *size_words[] = {"126 registers", NULL};

	expect_error(rigi_mb_read_input(mb, N_INPUT, 1, regs), RIG_ERR_RANGE, addr_words);
	expect_error(rigi_mb_write(mb, 3, VALUE_REFUSED), RIG_ERR_RANGE, value_words);
	expect_error(rigi_mb_read_input(mb, ADDR_BUSY, 1, regs), RIG_ERR_BUSY, busy_words);
	expect_error(rigi_mb_read_input(mb, ADDR_FAIL, 1, regs), RIG_ERR_INSTRUMENT, fail_words);
	expect_error(rigi_mb_read_input(mb, 0, RIGI_MB_MAX_READ + 1, regs), RIG_ERR_ARG,
		     size_words);
	check_pattern(mb, 0, 10); /* the link is still in step */
	rigi_mb_close(mb);
}

static void tcp_exceptions(void **state)
{
	exceptions_named(((struct bank *)*state)->tcp);
}

static void rtu_exceptions(void **state)
{
	exceptions_named(((struct bank *)*state)->rtu);
}

/* TCP: the server answers 0x0B for a unit it does not have. RTU: nobody
 * answers, and the next request for a present unit must still be served
 * (libmodbus 3.1.6's own RTU server would swallow it). */
static void unknown_unit(void **state)
{
	struct bank *b = *state;
	struct rigi_mb *tcp7 = open_unit(b->tcp, 7, NULL);
	struct rigi_mb *rtu7 = open_unit(b->rtu, 7, NULL);
	struct rigi_mb *rtu2 = open_unit(b->rtu, 2, NULL);
	const char *gw_words[] = {"unit 7", "exception 0x0B gateway target", NULL};
	const char *to_words[] = {"unit 7", "timed out after 200 ms", NULL};
	uint16_t reg;

	expect_error(rigi_mb_read_input(tcp7, 0, 1, &reg), RIG_ERR_NOT_FOUND, gw_words);
	expect_error(rigi_mb_read_input(rtu7, 0, 1, &reg), RIG_ERR_TIMEOUT, to_words);
	check_pattern(rtu2, 0, 5);
	rigi_mb_close(tcp7);
	rigi_mb_close(rtu7);
	rigi_mb_close(rtu2);
}

struct hammer {
	struct rigi_mb *mb;
	int failures;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	uint16_t regs[20];
	int unit = rigi_mb_unit(h->mb);
	for (int i = 0; i < 300; i++) {
		uint16_t addr = (uint16_t)(i % 150);
		if (rigi_mb_read_input(h->mb, addr, 20, regs) < 0 || regs[0] != pattern(unit, addr) ||
		    regs[19] != pattern(unit, addr + 19u))
			h->failures++;
	}
	return NULL;
}

/* Two instruments on one bus from two threads: the bus lock keeps every
 * reply with its request. */
static void shared_bus(const char *base)
{
	struct hammer h[2] = {{open_unit(base, 1, NULL), 0}, {open_unit(base, 2, NULL), 0}};
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hammer_thread, &h[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(h[i].failures, 0);
		rigi_mb_close(h[i].mb);
	}
}

static void tcp_shared_bus(void **state)
{
	shared_bus(((struct bank *)*state)->tcp);
}

static void rtu_shared_bus(void **state)
{
	struct bank *b = *state;
	struct rigi_mb *mb = open_unit(b->rtu, 1, NULL);
	struct rig_uri u;
	struct rigi_mb *other = NULL;
	char text[128];

	shared_bus(b->rtu);
	/* One line, one set of line settings. */
	snprintf(text, sizeof(text), "%s?unit=2&baud=9600", b->rtu);
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(rigi_mb_open(&u, &other), RIG_ERR_BUSY);
	assert_non_null(strstr(rig_last_error(), "115200"));
	assert_null(other);
	rigi_mb_close(mb);
}

/* A reply later than the timeout: the request times out, the late reply is
 * flushed, and the next request gets its own answer. A reply later than
 * the flush (500 ms) leaves a stale reply, which the next read detects,
 * flushes and retries. */
static void late_reply(void **state)
{
	struct bank *b = *state;
	struct rigi_mb *mb = open_unit(b->tcp, 1, NULL);
	struct rigi_mb *patient = open_unit(b->tcp, 2, "&timeout_ms=600");
	const int delays[] = {300, 500};
	uint16_t reg;

	for (int i = 0; i < 2; i++) {
		int64_t t0 = rig_clock_ms(), dt;
		rigi_mbsrv_set_reply_delay(b->srv, delays[i]);
		assert_int_equal(rigi_mb_read_input(mb, 7, 1, &reg), RIG_ERR_TIMEOUT);
		dt = rig_clock_ms() - t0;
		assert_true(dt >= 380 && dt < 1000);
		if (i == 0) /* same bus, longer timeout: waits out the delay */
			check_pattern(patient, 30, 3);
		rigi_mbsrv_set_reply_delay(b->srv, 0);
		check_pattern(mb, 8, 4);
		check_pattern(mb, 9, 4);
	}
	rigi_mb_close(mb);
	rigi_mb_close(patient);
}

/* The server goes away: every request fails within about a second; when
 * it comes back on the same port, the same handle reconnects. */
static void server_gone(void **state)
{
	struct bank *b = *state;
	struct rigi_mb *mb = open_unit(b->tcp, 1, NULL);
	const char *words[] = {"unit 1", "read input", "cannot connect", "rig sim", NULL};
	uint16_t port = rigi_mbsrv_port(b->srv);
	char text[96];
	struct rig_uri u;
	struct rigi_mb *none = NULL;
	uint16_t reg;

	check_pattern(mb, 0, 2);
	rigi_mbsrv_free(b->srv);
	b->srv = NULL;
	for (int i = 0; i < 2; i++) {
		int64_t t0 = rig_clock_ms();
		expect_error(rigi_mb_read_input(mb, 0, 1, &reg), RIG_ERR_DISCONNECTED, words);
		assert_true(rig_clock_ms() - t0 < 1200);
	}
	snprintf(text, sizeof(text), "%s?unit=2", b->tcp);
	assert_int_equal(rig_uri_parse(text, &u), 0);
	assert_int_equal(rigi_mb_open(&u, &none), RIG_ERR_DISCONNECTED);
	assert_null(none);
	assert_int_equal(start_server(b, port), 0);
	check_pattern(mb, 0, 2);
	rigi_mb_close(mb);
}

/* Links dropped and refused for a while: requests fail fast during the
 * drop and succeed after it on a fresh connection, without reopening. */
static void link_drop_and_recovery(void **state)
{
	struct bank *b = *state;
	struct rigi_mb *mb = open_unit(b->tcp, 1, NULL);
	uint16_t reg;
	int64_t t0;

	check_pattern(mb, 0, 2);
	rigi_mbsrv_drop_links(b->srv, 0.6);
	t0 = rig_clock_ms();
	assert_int_equal(rigi_mb_read_input(mb, 0, 1, &reg), RIG_ERR_DISCONNECTED);
	assert_true(rig_clock_ms() - t0 < 1200);
	rig_sleep_ns(700 * 1000000LL);
	check_pattern(mb, 0, 2);
	/* A short drop heals inside one request: reconnect and resend. */
	rigi_mbsrv_drop_links(b->srv, 0.05);
	rig_sleep_ns(100 * 1000000LL);
	check_pattern(mb, 3, 2);
	rigi_mb_close(mb);
}

static void not_a_modbus_address(void **state)
{
	struct rig_uri u;
	struct rigi_mb *mb = NULL;
	(void)state;
	assert_int_equal(rig_uri_parse("tcp://127.0.0.1:4000", &u), 0);
	assert_int_equal(rigi_mb_open(&u, &mb), RIG_ERR_ARG);
	assert_null(mb);
	assert_int_equal(rig_uri_parse("modbus-rtu:///dev/rig-no-such-tty?unit=1", &u), 0);
	assert_int_equal(rigi_mb_open(&u, &mb), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), "/dev/rig-no-such-tty"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tcp_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(rtu_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(rtu_exceptions, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_unit, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp_shared_bus, setup, teardown),
		cmocka_unit_test_setup_teardown(rtu_shared_bus, setup, teardown),
		cmocka_unit_test_setup_teardown(late_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(server_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(link_drop_and_recovery, setup, teardown),
		cmocka_unit_test(not_a_modbus_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
