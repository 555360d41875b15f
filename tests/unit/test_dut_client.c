/* Tests of the pen client (rig/lib/dut/client.c, tablexfer.c, socket.c)
 * against a scripted peer on a Unix socket: each script is a data table of
 * the exact request expected (command, seq, payload) and what the peer does
 * (reply, NAK, stay silent, corrupt, close). The peer compares whole frames
 * byte for byte; the MAC expected in AUTH_RESPONSE was computed
 * independently (Python hmac). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "core/core.h"
#include "dut/client.h"
#include "testsupport.h"

enum act {
	REPLY,         /* answer with status (+ data when OK) */
	SILENT,        /* read the request, answer nothing */
	STALE_FIRST,   /* a well-formed answer with the previous seq, then the answer */
	GARBAGE_FIRST, /* junk bytes, then the answer split in two writes */
	CORRUPT,       /* the answer with a bad CRC */
	CLOSE,         /* read the request and close the link */
};

struct step {
	uint8_t cmd;
	uint16_t seq;
	const uint8_t *req; /* expected request payload */
	size_t req_len;
	enum act act;
	int nak;
	uint8_t status;
	const uint8_t *data; /* answer data after an OK status */
	size_t data_len;
};

struct peer {
	char *dir;
	char path[300];
	char uri[400];
	int listen_fd;
	const struct step *steps;
	size_t n_steps;
	size_t done;
	char error[512];
	pthread_t thread;
};

/* ---- data the scripts refer to (filled by setup) ---- */

static const uint8_t nonce[32] = {0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47,
				  0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
				  0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57,
				  0x58, 0x59, 0x5a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f};
/* HMAC-SHA256(key 00..1f, "NRIG-AUTH-1" || nonce || "MN1-000123" NUL-padded to 16). */
static const uint8_t auth_mac[32] = {0x42, 0xe9, 0x25, 0xcb, 0x87, 0x14, 0x8d, 0x2e,
				     0xd7, 0x97, 0x59, 0xbd, 0xdb, 0xf3, 0xb9, 0xa5,
				     0xc9, 0x08, 0x35, 0xa1, 0xbd, 0x7f, 0x38, 0x28,
				     0x5c, 0x29, 0x87, 0x76, 0x8a, 0xb3, 0x04, 0x3e};
static uint8_t ident[94];
static uint8_t status_a6[36]; /* slot A active, table_seq 6 */
static uint8_t status_a7[36]; /* slot A active, table_seq 7 */
static uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
static size_t blob_len;      /* 96 */
static uint8_t begin_req[6]; /* total 96, crc of blob */
static uint8_t chunk1[2 + 64], chunk2[2 + 32];
static uint8_t read_a[5], read_b[5]; /* active slot: offset 0 count 50, 50 count 46 */
static uint8_t read_ans_a[3 + 50], read_ans_b[3 + 46];
static const uint8_t recv64[2] = {64, 0}, recv96[2] = {96, 0};
static const uint8_t slot_b[1] = {1};
static const uint8_t commit_ans[5] = {1, 7, 0, 0, 0};
static const uint8_t motor_on[1] = {1};
static const uint8_t user_req[4] = {0xE8, 0x03, 0x70, 0x17}; /* 1000 µm, 6000 /min */
static const uint8_t user_ans[4] = {0xDC, 0x05, 0x58, 0x02}; /* code 1500, duty 600 */
static const uint8_t service_req[4] = {0x00, 0x08, 0xF4, 0x01};
static const uint8_t read_slot_b[5] = {1, 0, 0, 50, 0}; /* slot B, offset 0, count 50 */
static const uint8_t empty_b[3] = {1, 0, 0};

static void test_key(uint8_t key[32])
{
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
}

static void fill_identity(void)
{
	static const uint16_t levels[5] = {3000, 4500, 6000, 7500, 9000};
	memcpy(ident, "MN1", 3);
	memcpy(ident + 16, "MN1-000123", 10);
	rigi_put_u16le(ident + 32, 0x0102);
	rigi_put_u32le(ident + 34, 0x010400);
	rigi_put_u16le(ident + 38, 1);
	rigi_put_u16le(ident + 40, 512);
	ident[42] = 32;
	rigi_put_u16le(ident + 46, 4095);
	rigi_put_u16le(ident + 48, 100);
	rigi_put_u16le(ident + 50, 1000);
	rigi_put_u16le(ident + 52, 250);
	rigi_put_u16le(ident + 54, 2500);
	rigi_put_u16le(ident + 56, 250);
	rigi_put_u16le(ident + 58, 3000);
	rigi_put_u16le(ident + 60, 3000);
	rigi_put_u16le(ident + 62, 9000);
	ident[64] = 5;
	for (int i = 0; i < 5; i++)
		rigi_put_u16le(ident + 66 + 2 * i, levels[i]);
}

static void fill_table(void)
{
	struct rig_cal_table t;
	uint8_t key[32];

	memset(&t, 0, sizeof(t));
	snprintf(t.serial, sizeof(t.serial), "MN1-000123");
	t.table_seq = 7;
	t.created = 1700000000;
	t.n_depth = 3;
	t.depth[0] = (struct rig_cal_depth_knot){250, 800};
	t.depth[1] = (struct rig_cal_depth_knot){1000, 1500};
	t.depth[2] = (struct rig_cal_depth_knot){2500, 3000};
	t.n_rate = 2;
	t.rate[0] = (struct rig_cal_rate_knot){3000, 200};
	t.rate[1] = (struct rig_cal_rate_knot){9000, 900};
	test_key(key);
	assert_int_equal(rig_cal_table_encode(&t, key, blob, sizeof(blob), &blob_len), 0);
	assert_int_equal(blob_len, 96);
	rigi_put_u16le(begin_req, 96);
	rigi_put_u32le(begin_req + 2, rigi_crc32(blob, blob_len));
	memcpy(chunk1 + 2, blob, 64);
	rigi_put_u16le(chunk2, 64);
	memcpy(chunk2 + 2, blob + 64, 32);
	read_a[0] = read_b[0] = 0xFE;
	rigi_put_u16le(read_a + 3, 50);
	rigi_put_u16le(read_b + 1, 50);
	rigi_put_u16le(read_b + 3, 46);
	read_ans_a[0] = read_ans_b[0] = 1;
	rigi_put_u16le(read_ans_a + 1, 96);
	rigi_put_u16le(read_ans_b + 1, 96);
	memcpy(read_ans_a + 3, blob, 50);
	memcpy(read_ans_b + 3, blob + 50, 46);
}

static int setup_data(void **state)
{
	(void)state;
	fill_identity();
	rigi_put_u32le(status_a6 + 8, 6);
	rigi_put_u32le(status_a6 + 12, 0x12345678);
	rigi_put_u16le(status_a6 + 22, (uint16_t)-123); /* -12.3 °C */
	rigi_put_u32le(status_a6 + 16, 4000000000u);
	memcpy(status_a7, status_a6, sizeof(status_a7));
	rigi_put_u32le(status_a7 + 8, 7);
	fill_table();
	return 0;
}

/* ---- the scripted peer ---- */

static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = recv(fd, buf + got, len - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

static int peer_failed(struct peer *p, const char *what)
{
	snprintf(p->error, sizeof(p->error), "step %zu: %s", p->done, what);
	return -1;
}

static int send_answer(int fd, const struct step *s, uint16_t seq, uint8_t flip)
{
	uint8_t payload[1 + 1024], frame[RIGI_FRAME_MAX];
	size_t len = 1, n = 0;
	payload[0] = s->status;
	if (!s->nak && s->status == 0 && s->data_len) {
		memcpy(payload + 1, s->data, s->data_len);
		len += s->data_len;
	}
	for (size_t i = 1; i < len; i++)
		payload[i] ^= flip;
	if (rigi_frame_encode(s->nak ? 0xFF : (uint8_t)(s->cmd | 0x80), seq, payload, len, frame,
			      sizeof(frame), &n) != 0)
		return -1;
	if (s->act == CORRUPT)
		frame[n - 1] ^= 1;
	if (s->act == GARBAGE_FIRST) {
		static const uint8_t junk[] = {0x00, 0xA5, 0x13, 0x5A, 0xFF};
		send(fd, junk, sizeof(junk), MSG_NOSIGNAL);
		send(fd, frame, 5, MSG_NOSIGNAL);
		usleep(20000);
		return send(fd, frame + 5, n - 5, MSG_NOSIGNAL) == (ssize_t)(n - 5) ? 0 : -1;
	}
	return send(fd, frame, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Read one request and compare it with the step's expected frame. */
static int expect_request(struct peer *p, int fd, const struct step *s)
{
	uint8_t got[RIGI_FRAME_MAX], want[RIGI_FRAME_MAX];
	size_t want_len = 0, len;

	if (read_exact(fd, got, 8) != 0)
		return peer_failed(p, "link closed before the expected request");
	len = 8 + rigi_get_u16le(got + 6) + 4;
	if (len > sizeof(got) || read_exact(fd, got + 8, len - 8) != 0)
		return peer_failed(p, "request truncated");
	rigi_frame_encode(s->cmd, s->seq, s->req, s->req_len, want, sizeof(want), &want_len);
	if (len != want_len || memcmp(got, want, len) != 0) {
		char what[200];
		snprintf(what, sizeof(what), "request differs: got type 0x%02x seq %u len %zu, "
			 "expected type 0x%02x seq %u len %zu", got[3], rigi_get_u16le(got + 4), len,
			 s->cmd, s->seq, want_len);
		return peer_failed(p, what);
	}
	return 0;
}

static int run_step(struct peer *p, int fd, const struct step *s)
{
	int ret = expect_request(p, fd, s);
	if (ret < 0)
		return ret;
	switch (s->act) {
	case SILENT:
		return 0;
	case CLOSE:
		return 1;
	case STALE_FIRST:
		if (send_answer(fd, s, (uint16_t)(s->seq - 1), 0x5A) < 0)
			return peer_failed(p, "send failed");
		break;
	default:
		break;
	}
	return send_answer(fd, s, s->seq, 0) < 0 ? peer_failed(p, "send failed") : 0;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;
	struct timeval tv = {.tv_sec = 3};
	uint8_t extra;
	int fd = accept(p->listen_fd, NULL, NULL);
	int ret = 0;

	if (fd < 0) {
		peer_failed(p, "accept failed");
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (; p->done < p->n_steps && ret == 0; p->done += ret == 0 || ret == 1)
		ret = run_step(p, fd, &p->steps[p->done]);
	/* After the script the client must send nothing more. */
	if (ret == 0 && recv(fd, &extra, 1, 0) != 0)
		peer_failed(p, "the client sent more than the script expects");
	close(fd);
	return NULL;
}

static void peer_start(struct peer *p, const struct step *steps, size_t n, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memset(p, 0, sizeof(*p));
	p->dir = ts_mkdtemp("dutclient");
	assert_non_null(p->dir);
	snprintf(p->path, sizeof(p->path), "%s/pen.sock", p->dir);
	snprintf(p->uri, sizeof(p->uri), "unix://%s?timeout_ms=%d", p->path, timeout_ms);
	assert_true(strlen(p->path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
	p->listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 1), 0);
	p->steps = steps;
	p->n_steps = n;
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

/* Join the peer and check it ran the whole script without a mismatch. */
static void peer_finish(struct peer *p)
{
	pthread_join(p->thread, NULL);
	close(p->listen_fd);
	if (p->error[0])
		fail_msg("scripted peer: %s", p->error);
	assert_int_equal(p->done, p->n_steps);
	ts_rmtree(p->dir);
	free(p->dir);
}

/* Open the client on the peer with a known first seq and small chunks. */
static struct rig_dut *connect_client(struct peer *p, uint16_t seq)
{
	struct rig_dut *dut = NULL;
	assert_int_equal(rig_dut_open(p->uri, &dut), 0);
	dut->next_seq = seq;
	dut->write_chunk = 64;
	dut->read_chunk = 50;
	return dut;
}

#define N(a) (sizeof(a) / sizeof(a[0]))
#define OK_DATA(d) .data = d, .data_len = sizeof(d)
#define REQ(p) .req = p, .req_len = sizeof(p)

/* ---- tests ---- */

static void identify_and_status(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_IDENTIFY, 100, .act = GARBAGE_FIRST, OK_DATA(ident)},
		{RIGI_DUT_STATUS, 101, .act = STALE_FIRST, OK_DATA(status_a6)},
	};
	struct peer p;
	struct rig_dut *dut;
	struct rig_dut_identity id;
	struct rig_dut_status st;
	(void)state;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 100);
	assert_string_equal(rig_dut_uri(dut), p.uri);
	assert_int_equal(rig_dut_last_status(dut), -1);
	assert_int_equal(rig_dut_identify(dut, &id), 0);
	assert_string_equal(id.model, "MN1");
	assert_string_equal(id.serial, "MN1-000123");
	assert_int_equal(id.hw_version, 0x0102);
	assert_int_equal(id.fw_version, 0x010400);
	assert_int_equal(id.code_max, 4095);
	assert_int_equal(id.duty_min, 100);
	assert_int_equal(id.depth_step_um, 250);
	assert_int_equal(id.max_protrusion_um, 3000);
	assert_int_equal(id.n_speed_levels, 5);
	assert_int_equal(id.speed_levels[4], 9000);
	assert_int_equal(id.speed_levels[5], 0);
	assert_int_equal(dut->dec.garbage, 5);
	assert_int_equal(rig_dut_status(dut, &st), 0);
	assert_int_equal(st.active_slot, RIG_DUT_SLOT_A);
	assert_int_equal(st.active_table_seq, 6);
	assert_int_equal(st.active_table_crc, 0x12345678);
	assert_int_equal(st.stroke_count, 4000000000u);
	assert_int_equal(st.temperature_dc, -123);
	assert_int_equal(st.mode, 0);
	assert_int_equal(rig_dut_last_status(dut), RIG_DUT_OK);
	rig_dut_close(dut);
	peer_finish(&p);
}

/* Log capture: proves trace logging is on while the MAC never appears. */
static char log_text[65536];
static size_t log_len;

static void capture(enum rig_log_level level, const char *domain, const char *msg, void *user)
{
	int n;
	(void)level;
	(void)user;
	n = snprintf(log_text + log_len, sizeof(log_text) - log_len, "[%s] %s\n", domain, msg);
	if (n > 0 && (size_t)n < sizeof(log_text) - log_len)
		log_len += (size_t)n;
}

static void authenticate_ok_never_logs_mac(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_IDENTIFY, 7, .act = REPLY, OK_DATA(ident)},
		{RIGI_DUT_AUTH_CHALLENGE, 8, .act = REPLY, OK_DATA(nonce)},
		{RIGI_DUT_AUTH_RESPONSE, 9, REQ(auth_mac), .act = REPLY},
	};
	struct peer p;
	struct rig_dut *dut;
	uint8_t key[32];
	enum rig_log_level old = rig_log_get_level();
	(void)state;
	test_key(key);
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 7);
	log_len = 0;
	log_text[0] = '\0';
	rig_log_set_callback(capture, NULL);
	rig_log_set_level(RIG_LOG_TRACE);
	assert_int_equal(rig_dut_authenticate(dut, key), 0);
	rig_log_set_level(old);
	rig_log_set_callback(NULL, NULL);
	assert_non_null(strstr(log_text, "tx 12 bytes: a5 5a 01 03 08 00")); /* challenge */
	assert_non_null(strstr(log_text, "tx AUTH_RESPONSE seq 9 (32-byte payload not logged)"));
	assert_null(strstr(log_text, "42 e9 25 cb"));
	assert_null(strstr(log_text, "42e925cb"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void authenticate_wrong_key(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_IDENTIFY, 7, .act = REPLY, OK_DATA(ident)},
		{RIGI_DUT_AUTH_CHALLENGE, 8, .act = REPLY, OK_DATA(nonce)},
		{RIGI_DUT_AUTH_RESPONSE, 9, REQ(auth_mac), .act = REPLY,
		 .status = RIG_DUT_AUTH_FAILED},
	};
	struct peer p;
	struct rig_dut *dut;
	uint8_t key[32];
	(void)state;
	test_key(key);
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 7);
	assert_int_equal(rig_dut_authenticate(dut, key), RIG_ERR_AUTH);
	assert_non_null(strstr(rig_last_error(), "(MN1-000123): AUTH_RESPONSE: the pen answered "
						 "AUTH_FAILED"));
	assert_non_null(strstr(rig_last_error(), "line's key file"));
	assert_int_equal(rig_dut_last_status(dut), RIG_DUT_AUTH_FAILED);
	rig_dut_close(dut);
	peer_finish(&p);
}

static const struct step write_prefix[] = {
	{RIGI_DUT_IDENTIFY, 300, .act = REPLY, OK_DATA(ident)},
	{RIGI_DUT_STATUS, 301, .act = REPLY, OK_DATA(status_a6)},
	{RIGI_DUT_TABLE_BEGIN, 302, REQ(begin_req), .act = REPLY, OK_DATA(slot_b)},
	{RIGI_DUT_TABLE_CHUNK, 303, REQ(chunk1), .act = REPLY, OK_DATA(recv64)},
};

static void table_write_ok(void **state)
{
	static struct step script[N(write_prefix) + 4];
	static const struct step rest[] = {
		{RIGI_DUT_TABLE_CHUNK, 304, REQ(chunk2), .act = REPLY, OK_DATA(recv96)},
		{RIGI_DUT_TABLE_COMMIT, 305, .act = REPLY, OK_DATA(commit_ans)},
		{RIGI_DUT_TABLE_READ, 306, REQ(read_a), .act = REPLY, OK_DATA(read_ans_a)},
		{RIGI_DUT_TABLE_READ, 307, REQ(read_b), .act = REPLY, OK_DATA(read_ans_b)},
	};
	struct peer p;
	struct rig_dut *dut;
	(void)state;
	memcpy(script, write_prefix, sizeof(write_prefix));
	memcpy(script + N(write_prefix), rest, sizeof(rest));
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 300);
	assert_int_equal(rig_dut_table_write(dut, blob, blob_len), 0);
	rig_dut_close(dut);
	peer_finish(&p);
}

static void table_write_readback_mismatch(void **state)
{
	static uint8_t wrong_b[3 + 46];
	static struct step script[N(write_prefix) + 4];
	static const struct step rest[] = {
		{RIGI_DUT_TABLE_CHUNK, 304, REQ(chunk2), .act = REPLY, OK_DATA(recv96)},
		{RIGI_DUT_TABLE_COMMIT, 305, .act = REPLY, OK_DATA(commit_ans)},
		{RIGI_DUT_TABLE_READ, 306, REQ(read_a), .act = REPLY, OK_DATA(read_ans_a)},
		{RIGI_DUT_TABLE_READ, 307, REQ(read_b), .act = REPLY, OK_DATA(wrong_b)},
	};
	struct peer p;
	struct rig_dut *dut;
	(void)state;
	memcpy(wrong_b, read_ans_b, sizeof(wrong_b));
	wrong_b[3 + 20] ^= 0x10; /* blob offset 70 */
	memcpy(script, write_prefix, sizeof(write_prefix));
	memcpy(script + N(write_prefix), rest, sizeof(rest));
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 300);
	assert_int_equal(rig_dut_table_write(dut, blob, blob_len), RIG_ERR_DEVICE);
	assert_non_null(strstr(rig_last_error(), "differs from the bytes written at offset 70"));
	rig_dut_close(dut);
	peer_finish(&p);
}

/* A refusal at commit aborts the write and keeps the commit's detail. */
static void table_write_refused_at_commit(void **state)
{
	static struct step script[N(write_prefix) + 3];
	static const struct step rest[] = {
		{RIGI_DUT_TABLE_CHUNK, 304, REQ(chunk2), .act = REPLY, OK_DATA(recv96)},
		{RIGI_DUT_TABLE_COMMIT, 305, .act = REPLY, .status = RIG_DUT_TABLE_SIGNATURE},
		{RIGI_DUT_TABLE_ABORT, 306, .act = REPLY},
	};
	struct peer p;
	struct rig_dut *dut;
	(void)state;
	memcpy(script, write_prefix, sizeof(write_prefix));
	memcpy(script + N(write_prefix), rest, sizeof(rest));
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 300);
	assert_int_equal(rig_dut_table_write(dut, blob, blob_len), RIG_ERR_SIGNATURE);
	assert_non_null(strstr(rig_last_error(), "TABLE_COMMIT: the pen answered TABLE_SIGNATURE"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void table_write_disconnect(void **state)
{
	static struct step script[N(write_prefix) + 1];
	static const struct step cut = {RIGI_DUT_TABLE_CHUNK, 304, REQ(chunk2), .act = CLOSE};
	struct peer p;
	struct rig_dut *dut;
	(void)state;
	memcpy(script, write_prefix, sizeof(write_prefix));
	script[N(write_prefix)] = cut;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 300);
	assert_int_equal(rig_dut_table_write(dut, blob, blob_len), RIG_ERR_DISCONNECTED);
	assert_non_null(strstr(rig_last_error(), p.uri));
	assert_non_null(strstr(rig_last_error(), "(MN1-000123) disconnected during TABLE_CHUNK 2/2"));
	assert_non_null(strstr(rig_last_error(), "re-seat the cable; the pen keeps its previous "
						 "table"));
	rig_dut_close(dut);
	peer_finish(&p);
}

/* The rig refuses a table the pen would refuse, before sending it. */
static void table_write_refused_before_sending(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_IDENTIFY, 300, .act = REPLY, OK_DATA(ident)},
		{RIGI_DUT_STATUS, 301, .act = REPLY, OK_DATA(status_a6)},
		{RIGI_DUT_STATUS, 302, .act = REPLY, OK_DATA(status_a7)},
	};
	struct peer p;
	struct rig_dut *dut;
	uint8_t bad[sizeof(blob)];
	(void)state;
	memcpy(bad, blob, blob_len);
	bad[50] ^= 1;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 300);
	assert_int_equal(rig_dut_table_write(dut, bad, blob_len), RIG_ERR_CRC);
	assert_non_null(strstr(rig_last_error(), "(MN1-000123): table write refused before "
						 "sending: table blob: crc at offset 60"));
	/* The pen's active table_seq is 7 now: a seq-7 table is stale. */
	assert_int_equal(rig_dut_table_write(dut, blob, blob_len), RIG_ERR_STATE);
	assert_non_null(strstr(rig_last_error(), "table_seq 7 is not above"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void nak_is_a_failed_request(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_SET_SERVICE, 5, REQ(service_req), .act = REPLY, .nak = 1,
		 .status = RIG_DUT_BAD_CRC},
	};
	struct peer p;
	struct rig_dut *dut;
	(void)state;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 5);
	assert_int_equal(rig_dut_set_service(dut, 2048, 500), RIG_ERR_CRC);
	assert_non_null(strstr(rig_last_error(), "SET_SERVICE: the pen answered NAK BAD_CRC"));
	assert_int_equal(rig_dut_last_status(dut), RIG_DUT_BAD_CRC);
	rig_dut_close(dut);
	peer_finish(&p);
}

static void timeout_then_same_seq(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_MOTOR, 0xFFFF, REQ(motor_on), .act = SILENT},
		{RIGI_DUT_MOTOR, 0xFFFF, REQ(motor_on), .act = REPLY},
		{RIGI_DUT_SET_USER, 0x0000, REQ(user_req), .act = CORRUPT, OK_DATA(user_ans)},
		{RIGI_DUT_SET_USER, 0x0000, REQ(user_req), .act = REPLY, OK_DATA(user_ans)},
		{RIGI_DUT_SAFE, 0x0001, .act = SILENT},
		{RIGI_DUT_SAFE, 0x0001, .act = SILENT},
	};
	struct peer p;
	struct rig_dut *dut;
	uint16_t code = 0, duty = 0;
	int64_t t0;
	(void)state;
	peer_start(&p, script, N(script), 100);
	dut = connect_client(&p, 0xFFFF);
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_motor(dut, 1), 0);
	assert_true(rig_clock_ms() - t0 >= 100);
	assert_int_equal(rig_dut_set_user(dut, 1000, 6000, &code, &duty), 0);
	assert_int_equal(code, 1500);
	assert_int_equal(duty, 600);
	assert_int_equal(dut->dec.rejected, 1);
	t0 = rig_clock_ms();
	assert_int_equal(rig_dut_safe(dut), RIG_ERR_TIMEOUT);
	assert_true(rig_clock_ms() - t0 >= 200);
	assert_non_null(strstr(rig_last_error(), "SAFE: no answer in 100 ms"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void corrupt_twice_reports_crc(void **state)
{
	static const struct step script[] = {
		{RIGI_DUT_STATUS, 9, .act = CORRUPT, OK_DATA(status_a6)},
		{RIGI_DUT_STATUS, 9, .act = CORRUPT, OK_DATA(status_a6)},
	};
	struct peer p;
	struct rig_dut *dut;
	struct rig_dut_status st;
	(void)state;
	peer_start(&p, script, N(script), 100);
	dut = connect_client(&p, 9);
	assert_int_equal(rig_dut_status(dut, &st), RIG_ERR_CRC);
	assert_non_null(strstr(rig_last_error(), "STATUS: no valid answer in 100 ms"));
	assert_non_null(strstr(rig_last_error(), "CRC mismatch"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void bad_answers_are_protocol_errors(void **state)
{
	static uint8_t bad_ident[94];
	static const uint8_t short_user[3] = {0};
	static const struct step script[] = {
		{RIGI_DUT_SET_USER, 20, REQ(user_req), .act = REPLY, OK_DATA(short_user)},
		{RIGI_DUT_IDENTIFY, 21, .act = REPLY, OK_DATA(bad_ident)},
		{RIGI_DUT_TABLE_READ, 22, REQ(read_slot_b), .act = REPLY, OK_DATA(empty_b)},
	};
	struct peer p;
	struct rig_dut *dut;
	struct rig_dut_identity id;
	uint8_t buf[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 99;
	(void)state;
	memcpy(bad_ident, ident, sizeof(ident));
	bad_ident[20] = 0;
	bad_ident[22] = 'Z'; /* text after the NUL padding */
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 20);
	assert_int_equal(rig_dut_set_user(dut, 1000, 6000, NULL, NULL), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "SET_USER answer OK carries 3 data bytes, "
						 "expected 4"));
	assert_int_equal(rig_dut_identify(dut, &id), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "serial at offset 16 is not NUL-padded ASCII"));
	/* An empty slot reads as zero bytes. */
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_B, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(rig_dut_table_read(dut, 2, buf, sizeof(buf), &len), RIG_ERR_ARG);
	rig_dut_close(dut);
	peer_finish(&p);
}

/* One IDENTIFY answer with one field changed: refused with err and a
 * detail naming the field, or accepted when err is 0. */
struct ident_case {
	size_t off;
	unsigned value; /* u16 when wide, else u8 */
	int wide;
	int err;
	const char *detail;
};

static void identify_once(const struct ident_case *c)
{
	static uint8_t data[94];
	const struct step script[] = {{RIGI_DUT_IDENTIFY, 40, .act = REPLY, OK_DATA(data)}};
	struct peer p;
	struct rig_dut *dut;
	struct rig_dut_identity id;

	memcpy(data, ident, sizeof(data));
	if (c->wide)
		rigi_put_u16le(data + c->off, (uint16_t)c->value);
	else
		data[c->off] = (uint8_t)c->value;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 40);
	assert_int_equal(rig_dut_identify(dut, &id), c->err);
	if (c->detail)
		assert_non_null(strstr(rig_last_error(), c->detail));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void identify_limits(void **state)
{
	static const struct ident_case cases[] = {
		{56, 0, 1, RIG_ERR_PROTOCOL, "depth_step_um at offset 56 is 0"},
		{56, 1, 1, 0, NULL},
		{38, 2, 1, RIG_ERR_UNSUPPORTED, "table_format at offset 38 is 2"},
		{38, 0, 1, RIG_ERR_UNSUPPORTED, "table_format at offset 38 is 0"},
		{42, 1, 0, RIG_ERR_PROTOCOL, "table_max_knots at offset 42 is 1, expected 2..32"},
		{42, 2, 0, 0, NULL},
		{42, 33, 0, RIG_ERR_PROTOCOL, "table_max_knots at offset 42 is 33"},
		{42, 32, 0, 0, NULL},
		{70, 4500, 1, RIG_ERR_PROTOCOL, "speed_levels[2] at offset 70 is 4500, not above "
						"speed_levels[1] = 4500"},
		{70, 4501, 1, 0, NULL},
		{66, 0, 1, RIG_ERR_PROTOCOL, "speed_levels[0] at offset 66 is 0"},
		{66, 1, 1, 0, NULL},
		{76, 9500, 1, RIG_ERR_PROTOCOL, "speed_levels[5] at offset 76 is 9500 but only 5"},
		{64, 6, 0, RIG_ERR_PROTOCOL, "speed_levels[5] at offset 76 is 0 but "
					     "n_speed_levels is 6"},
		{43, 1, 0, RIG_ERR_PROTOCOL, "reserved byte at offset 43 is 0x01"},
		{65, 0x80, 0, RIG_ERR_PROTOCOL, "reserved byte at offset 65 is 0x80"},
		{82, 1, 0, RIG_ERR_PROTOCOL, "reserved byte at offset 82"},
		{93, 1, 0, RIG_ERR_PROTOCOL, "reserved byte at offset 93"},
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		identify_once(&cases[i]);
}

static void status_fault_bits(void **state)
{
	static uint8_t defined[36], undefined[36];
	static const struct step script[] = {
		{RIGI_DUT_STATUS, 50, .act = REPLY, OK_DATA(defined)},
		{RIGI_DUT_STATUS, 51, .act = REPLY, OK_DATA(undefined)},
	};
	struct peer p;
	struct rig_dut *dut;
	struct rig_dut_status st;
	(void)state;
	memcpy(defined, status_a6, sizeof(defined));
	rigi_put_u16le(defined + 2, 0x007F);
	memcpy(undefined, status_a6, sizeof(undefined));
	rigi_put_u16le(undefined + 2, 0x0081);
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 50);
	assert_int_equal(rig_dut_status(dut, &st), 0);
	assert_int_equal(st.fault_flags, 0x007F);
	assert_int_equal(rig_dut_status(dut, &st), RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "fault_flags at offset 2 is 0x0081: bits "
						 "0x0080 are not defined"));
	rig_dut_close(dut);
	peer_finish(&p);
}

static void table_read_answers_checked(void **state)
{
	static const uint8_t read_active[5] = {0xFE, 0, 0, 50, 0};
	static const uint8_t wrong_slot[3] = {0, 0, 0};
	static const uint8_t none_with_total[3] = {0xFF, 5, 0};
	static const uint8_t none[3] = {0xFF, 0, 0};
	static const uint8_t short_b[3 + 9] = {1, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
	static const uint8_t full_b[3 + 10] = {1, 10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	static const struct step script[] = {
		{RIGI_DUT_TABLE_READ, 60, REQ(read_slot_b), .act = REPLY, OK_DATA(wrong_slot)},
		{RIGI_DUT_TABLE_READ, 61, REQ(read_active), .act = REPLY,
		 OK_DATA(none_with_total)},
		{RIGI_DUT_TABLE_READ, 62, REQ(read_active), .act = REPLY, OK_DATA(none)},
		{RIGI_DUT_TABLE_READ, 63, REQ(read_slot_b), .act = REPLY, OK_DATA(short_b)},
		{RIGI_DUT_TABLE_READ, 64, REQ(read_slot_b), .act = REPLY, OK_DATA(full_b)},
	};
	struct peer p;
	struct rig_dut *dut;
	uint8_t buf[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 99;
	(void)state;
	peer_start(&p, script, N(script), 300);
	dut = connect_client(&p, 60);
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_B, buf, sizeof(buf), &len),
			 RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "slot at data offset 0 is 0x00, expected 0x01"));
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_ACTIVE, buf, sizeof(buf), &len),
			 RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "total at data offset 1 is 5, expected 0"));
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_ACTIVE, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_B, buf, sizeof(buf), &len),
			 RIG_ERR_PROTOCOL);
	assert_non_null(strstr(rig_last_error(), "9 bytes (answer of 12 data bytes) for a count "
						 "of 50 at offset 0 of a 10-byte slot; expected 10"));
	assert_int_equal(rig_dut_table_read(dut, RIG_DUT_SLOT_B, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 10);
	assert_int_equal(buf[9], 10);
	rig_dut_close(dut);
	peer_finish(&p);
}

static void open_errors(void **state)
{
	struct rig_dut *dut = (struct rig_dut *)&dut;
	char *dir = ts_mkdtemp("dutopen");
	char uri[400];
	(void)state;
	snprintf(uri, sizeof(uri), "unix://%s/absent.sock", dir);
	assert_int_equal(rig_dut_open(uri, &dut), RIG_ERR_NOT_FOUND);
	assert_null(dut);
	assert_non_null(strstr(rig_last_error(), "start the simulator"));
	assert_int_equal(rig_dut_open("usb://1209:4d4e", &dut), RIG_ERR_NOT_FOUND); /* no pen on the bus */
	assert_int_equal(rig_dut_open("modbus-tcp://127.0.0.1:1502?unit=1", &dut),
			 RIG_ERR_UNSUPPORTED);
	assert_int_equal(rig_dut_open("nonsense", &dut), RIG_ERR_FORMAT);
	snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%u", ts_free_port());
	assert_int_equal(rig_dut_open(uri, &dut), RIG_ERR_NOT_FOUND);
	rig_dut_close(NULL);
	ts_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(identify_and_status),
		cmocka_unit_test(authenticate_ok_never_logs_mac),
		cmocka_unit_test(authenticate_wrong_key),
		cmocka_unit_test(table_write_ok),
		cmocka_unit_test(table_write_readback_mismatch),
		cmocka_unit_test(table_write_refused_at_commit),
		cmocka_unit_test(table_write_disconnect),
		cmocka_unit_test(table_write_refused_before_sending),
		cmocka_unit_test(nak_is_a_failed_request),
		cmocka_unit_test(timeout_then_same_seq),
		cmocka_unit_test(corrupt_twice_reports_crc),
		cmocka_unit_test(bad_answers_are_protocol_errors),
		cmocka_unit_test(identify_limits),
		cmocka_unit_test(status_fault_bits),
		cmocka_unit_test(table_read_answers_checked),
		cmocka_unit_test(open_errors),
	};
	return cmocka_run_group_tests(tests, setup_data, NULL);
}
