/* Tests of the core layer: PCG32 reference vectors, URI parsing, error
 * texts, CRC-32 check value, HMAC-SHA256 (RFC 4231) and key-file rules. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rig/rig.h>

#include "core/core.h"
#include "testsupport.h"

static void pcg32_reference_vectors(void **state)
{
	static const uint32_t expected[] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
					    0x83d2f293, 0xbfa4784b, 0xcbed606e};
	struct rig_pcg32 rng;
	(void)state;
	rig_pcg32_seed(&rng, 42u, 54u);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(rig_pcg32_next(&rng), expected[i]);
}

static void pcg32_bounded_and_uniform(void **state)
{
	struct rig_pcg32 rng;
	double sum = 0;
	(void)state;
	rig_pcg32_seed_named(&rng, 7, "MN1-000001", "test");
	for (int i = 0; i < 10000; i++) {
		uint32_t b = rig_pcg32_bounded(&rng, 6);
		double u = rig_pcg32_uniform(&rng);
		assert_true(b < 6);
		assert_true(u >= 0.0 && u < 1.0);
		sum += rig_pcg32_normal(&rng);
	}
	assert_true(sum / 10000 > -0.05 && sum / 10000 < 0.05);
}

static void pcg32_named_streams_differ(void **state)
{
	struct rig_pcg32 a, b, c;
	(void)state;
	rig_pcg32_seed_named(&a, 1, "MN1-000001", "depth");
	rig_pcg32_seed_named(&b, 1, "MN1-000001", "depth");
	rig_pcg32_seed_named(&c, 1, "MN1-000002", "depth");
	uint32_t va = rig_pcg32_next(&a);
	assert_int_equal(va, rig_pcg32_next(&b));
	assert_int_not_equal(va, rig_pcg32_next(&c));
}

static void uri_forms(void **state)
{
	struct rig_uri u;
	(void)state;
	assert_int_equal(rig_uri_parse("modbus-tcp://127.0.0.1:1502?unit=3", &u), 0);
	assert_int_equal(u.scheme, RIG_URI_MODBUS_TCP);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 1502);
	assert_int_equal(u.unit, 3);
	assert_int_equal(rig_uri_parse("modbus-rtu:///dev/ttyUSB0?baud=9600&unit=7&parity=E", &u), 0);
	assert_string_equal(u.path, "/dev/ttyUSB0");
	assert_int_equal(u.baud, 9600);
	assert_int_equal(u.parity, 'E');
	assert_int_equal(rig_uri_parse("usb://1209:4d4e?serial=MN1-000123", &u), 0);
	assert_int_equal(u.vid, 0x1209);
	assert_int_equal(u.pid, 0x4d4e);
	assert_string_equal(u.serial, "MN1-000123");
	assert_int_equal(rig_uri_parse("unix:///run/rig-sim/nest0.sock", &u), 0);
	assert_string_equal(u.path, "/run/rig-sim/nest0.sock");
	assert_int_equal(rig_uri_parse("tcp://localhost:4000", &u), 0);
}

static void uri_rejections(void **state)
{
	static const char *const bad[] = {
		"", "nothing", "ftp://x:1", "modbus-tcp://127.0.0.1:1502",
		"modbus-tcp://127.0.0.1?unit=1", "modbus-tcp://h:70000?unit=1",
		"modbus-tcp://h:1?unit=300", "modbus-tcp://h:1?unit=1&bogus=2",
		"modbus-rtu://dev/tty?unit=1", "usb://12:zz", "usb://1209", "unix://rel/path",
		"modbus-tcp://h:1?unit", "modbus-rtu:///dev/x?unit=1&parity=X",
	};
	struct rig_uri u;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rig_clear_error();
		assert_int_equal(rig_uri_parse(bad[i], &u), RIG_ERR_FORMAT);
		assert_true(strlen(rig_last_error()) > 0);
	}
}

/* Issue 12: each case is refused, naming the byte offset of the first wrong
 * byte and giving an example of a right address. */
static void uri_strict_rejections(void **state)
{
	static const struct {
		const char *text;
		const char *offset; /* "byte N" expected in the message */
		const char *what;   /* words expected in the message */
	} cases[] = {
		{"usb://-1:-1", "byte 6", "VID exactly 4 hex digits"},
		{"usb://12:34", "byte 6", "VID exactly 4 hex digits"},
		{"usb://1209:4d", "byte 11", "PID exactly 4 hex digits"},
		{"usb://01209:4d4e", "byte 6", "VID exactly 4 hex digits"},
		{"modbus-tcp://h:+502?unit=1", "byte 15", "digits only"},
		{"modbus-tcp://h: 502?unit=1", "byte 15", "digits only"},
		{"modbus-tcp://h:502 ?unit=1", "byte 15", "digits only"},
		{"tcp://h:0x10", "byte 8", "digits only"},
		{"usb://1209:4d4e?serial=", "byte 23", "serial= is empty"},
		{"usb://1209:4d4e?serial=A B", "byte 24", "blank"},
		{"modbus-tcp://h:1?unit=1&unit=2", "byte 24", "given twice"},
		{"usb://1209:4d4e?serial=A&serial=B", "byte 25", "given twice"},
		{"usb://1209:4d4e?unit=10", "byte 16", "not allowed here"},
		{"unix:///tmp/s?baud=9600", "byte 14", "not allowed here"},
		{"modbus-tcp://h:1?unit=1&serial=X", "byte 24", "not allowed here"},
		{"modbus-tcp://my host:502?unit=1", "byte 15", "host may hold only"},
		{"tcp://a/b:4000", "byte 7", "host may hold only"},
		{"modbus-tcp://h:1?unit=0x10", "byte 22", "decimal integer"},
		{"modbus-tcp://h:1?unit=+1", "byte 22", "decimal integer"},
		{"unix:///tmp/a\tb", "byte 13", "control"},
		{"modbus-tcp://h:1?", "byte 17", "without '='"},
	};
	struct rig_uri u;
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rig_clear_error();
		if (rig_uri_parse(cases[i].text, &u) != RIG_ERR_FORMAT)
			fail_msg("accepted '%s'", cases[i].text);
		if (!strstr(rig_last_error(), cases[i].offset) ||
		    !strstr(rig_last_error(), cases[i].what) || !strstr(rig_last_error(), "(e.g. ") ||
		    !strstr(rig_last_error(), cases[i].text))
			fail_msg("'%s': message '%s' lacks '%s' / '%s'", cases[i].text,
				 rig_last_error(), cases[i].offset, cases[i].what);
	}
}

static void uri_strict_accepts(void **state)
{
	struct rig_uri u;
	(void)state;
	assert_int_equal(rig_uri_parse("usb://1209:4D4E?serial=MN1-000123&path=1-2.3", &u), 0);
	assert_int_equal(u.vid, 0x1209);
	assert_int_equal(u.pid, 0x4d4e);
	assert_string_equal(u.usb_path, "1-2.3");
	assert_int_equal(rig_uri_parse("modbus-tcp://sim-host.local:1502?unit=0&timeout_ms=50", &u),
			 0);
	assert_int_equal(u.unit, 0);
	assert_int_equal(u.timeout_ms, 50);
	assert_int_equal(rig_uri_parse("unix:///tmp/n.sock?timeout_ms=200", &u), 0);
	assert_int_equal(u.timeout_ms, 200);
}

static void error_texts(void **state)
{
	(void)state;
	assert_string_equal(rig_errname(RIG_ERR_TIMEOUT), "RIG_ERR_TIMEOUT");
	for (int e = 0; e >= RIG_ERR_INTERNAL; e--)
		assert_string_not_equal(rig_strerror(e), "unknown error");
	assert_string_equal(rig_strerror(-999), "unknown error");
}

static void crc32_check_value(void **state)
{
	(void)state;
	assert_int_equal(rigi_crc32("123456789", 9), 0xCBF43926u);
	assert_int_equal(rigi_crc32_update(rigi_crc32("1234", 4), "56789", 5), 0xCBF43926u);
}

/* RFC 4231 test case 2 ("Jefe"), key zero-padded to 32 bytes, which HMAC
 * treats identically to the 4-byte key. */
static void hmac_rfc4231(void **state)
{
	static const uint8_t expected[32] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
		0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
		0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
	uint8_t key[32] = {'J', 'e', 'f', 'e'};
	const char *msg = "what do ya want for nothing?";
	const uint8_t *parts[2] = {(const uint8_t *)msg, (const uint8_t *)msg + 10};
	size_t lens[2] = {10, strlen(msg) - 10};
	uint8_t mac[32];
	(void)state;
	assert_int_equal(rigi_hmac_sha256(key, parts, lens, 2, mac), 0);
	assert_memory_equal(mac, expected, 32);
	assert_true(rigi_ct_equal(mac, expected, 32));
	mac[31] ^= 1;
	assert_false(rigi_ct_equal(mac, expected, 32));
}

static void key_file_permissions(void **state)
{
	char *dir = ts_mkdtemp("key");
	char path[512];
	uint8_t key[32], again[32];
	(void)state;
	snprintf(path, sizeof(path), "%s/line.key", dir);
	assert_int_equal(rigi_key_create(path), 0);
	assert_int_equal(rigi_key_load(path, key), 0);
	assert_int_equal(rigi_key_load(path, again), 0);
	assert_memory_equal(key, again, 32);
	assert_int_not_equal(rigi_key_create(path), 0); /* never overwrites */
	chmod(path, 0644);
	assert_int_equal(rigi_key_load(path, key), RIG_ERR_PERMISSION);
	assert_non_null(strstr(rig_last_error(), "chmod 600"));
	snprintf(path, sizeof(path), "%s/missing.key", dir);
	assert_int_equal(rigi_key_load(path, key), RIG_ERR_NOT_FOUND);
	ts_rmtree(dir);
	free(dir);
}

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

/* One key file text: refused with a detail naming the byte, or accepted. */
static void key_text(const char *text, size_t len, int err, const char *detail)
{
	uint8_t key[32], want[32];

	for (int i = 0; i < 32; i++)
		want[i] = (uint8_t)i;
	memset(key, 0xAA, sizeof(key));
	assert_int_equal(rigi_key_parse(text, len, "line.key", key), err);
	if (err == 0) {
		assert_memory_equal(key, want, 32);
		return;
	}
	assert_non_null(strstr(rig_last_error(), detail));
	assert_non_null(strstr(rig_last_error(), "key file line.key"));
}

static void key_file_format(void **state)
{
	char upper[] = HEX64 "\n";
	(void)state;
	key_text(HEX64, 64, 0, NULL);
	key_text(HEX64 "\n", 65, 0, NULL);
	for (char *c = upper; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	key_text(upper, 65, 0, NULL);
	key_text(HEX64, 63, RIG_ERR_FORMAT, "ends at byte 63 after 63 hex digits");
	key_text(HEX64 "\n", 65 - 2, RIG_ERR_FORMAT, "ends at byte 63");
	key_text(HEX64 "0", 65, RIG_ERR_FORMAT, "byte 64 is a 65th hex digit");
	key_text(HEX64 "\r\n", 66, RIG_ERR_FORMAT, "byte 64 is a carriage return; remove the "
						   "carriage return");
	key_text(HEX64 "\n\n", 66, RIG_ERR_FORMAT, "byte 65 is 0x0a after the closing newline");
	key_text(HEX64 "\nx", 66, RIG_ERR_FORMAT, "byte 65 is 0x78 after the closing newline");
	key_text(HEX64 " ", 65, RIG_ERR_FORMAT, "byte 64 is 0x20 after the 64 hex digits");
	key_text(" " HEX64, 65, RIG_ERR_FORMAT, "byte 0 is 0x20, not a hex digit");
	key_text("0001g2" HEX64, 64, RIG_ERR_FORMAT, "byte 4 is 0x67, not a hex digit");
	key_text("00\n" HEX64, 64, RIG_ERR_FORMAT, "byte 2 is a newline after 2 hex digits");
	key_text("", 0, RIG_ERR_FORMAT, "ends at byte 0 after 0 hex digits");
	/* 32 raw bytes are not a key file. */
	key_text("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
		 "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f", 32,
		 RIG_ERR_FORMAT, "byte 0 is 0x00, not a hex digit");
}

static void key_file_too_long_on_disk(void **state)
{
	char *dir = ts_mkdtemp("keylong");
	char path[512];
	uint8_t key[32];
	FILE *f;
	(void)state;
	snprintf(path, sizeof(path), "%s/line.key", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(HEX64 "\n# comment\n", f);
	fclose(f);
	chmod(path, 0600);
	assert_int_equal(rigi_key_load(path, key), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "byte 65 is 0x23 after the closing newline"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(HEX64 "\n", f);
	fclose(f);
	assert_int_equal(rigi_key_load(path, key), 0);
	assert_int_equal(key[31], 0x1f);
	ts_rmtree(dir);
	free(dir);
}

static void random_fails_without_sodium(void **state)
{
	uint8_t buf[16];
	(void)state;
	memset(buf, 0x5A, sizeof(buf));
	assert_int_equal(rigi_random_after_init(-1, buf, sizeof(buf)), RIG_ERR_INTERNAL);
	assert_non_null(strstr(rig_last_error(), "sodium_init() returned -1"));
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], 0);
	/* Initialised (0 first time, 1 after): random bytes, not the old ones. */
	memset(buf, 0, sizeof(buf));
	assert_int_equal(rigi_random_after_init(1, buf, sizeof(buf)), 0);
	assert_int_equal(rigi_random_bytes(buf, sizeof(buf)), 0);
	{
		int nonzero = 0;
		for (size_t i = 0; i < sizeof(buf); i++)
			nonzero |= buf[i];
		assert_true(nonzero); /* 2^-128 to fail by chance */
	}
}

static void log_levels(void **state)
{
	(void)state;
	assert_int_equal(rig_log_parse_level("debug"), RIG_LOG_DEBUG);
	assert_int_equal(rig_log_parse_level("TRACE"), RIG_LOG_TRACE);
	assert_int_equal(rig_log_parse_level("3"), RIG_LOG_INFO);
	assert_int_equal(rig_log_parse_level("loud"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pcg32_reference_vectors),
		cmocka_unit_test(pcg32_bounded_and_uniform),
		cmocka_unit_test(pcg32_named_streams_differ),
		cmocka_unit_test(uri_forms),
		cmocka_unit_test(uri_rejections),
		cmocka_unit_test(uri_strict_rejections),
		cmocka_unit_test(uri_strict_accepts),
		cmocka_unit_test(error_texts),
		cmocka_unit_test(crc32_check_value),
		cmocka_unit_test(hmac_rfc4231),
		cmocka_unit_test(key_file_permissions),
		cmocka_unit_test(key_file_format),
		cmocka_unit_test(key_file_too_long_on_disk),
		cmocka_unit_test(random_fails_without_sodium),
		cmocka_unit_test(log_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
