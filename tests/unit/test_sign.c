/* Tests of record signing: SHA-256 (FIPS 180 vectors), hex, Ed25519
 * (RFC 8032 §7.1 vectors, tampering), the station signing key file and its
 * rules (mode, owner, symlink, format, the .pub twin), and a third-party
 * check of a signature by tests/records/verify_ed25519.py (Python). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rig/rig.h>

#include "core/core.h"
#include "records/sign.h"
#include "testsupport.h"

#define VERIFIER RIG_SOURCE_DIR "/tests/records/verify_ed25519.py"

static void unhex(const char *hex, uint8_t *bin, size_t len)
{
	assert_int_equal(rigi_hex_decode(hex, bin, len), 0);
}

static void assert_digest(const uint8_t d[RIGI_SHA256_BYTES], const char *hex)
{
	char got[2 * RIGI_SHA256_BYTES + 1];
	rigi_hex_encode(d, RIGI_SHA256_BYTES, got);
	assert_string_equal(got, hex);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* The whole content of a small text file, in a static buffer. */
static const char *read_text(const char *path)
{
	static char buf[512];
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* ---- SHA-256 ---- */

static const struct {
	const char *msg;
	const char *digest;
} sha_vectors[] = {
	{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	{"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void sha256_vectors(void **state)
{
	uint8_t d[RIGI_SHA256_BYTES];
	(void)state;
	for (size_t i = 0; i < sizeof(sha_vectors) / sizeof(sha_vectors[0]); i++) {
		const char *m = sha_vectors[i].msg;
		size_t len = strlen(m);
		rigi_sha256(m, len, d);
		assert_digest(d, sha_vectors[i].digest);
		/* Incrementally, in pieces of 1, 2, 3, ... bytes (and an empty one). */
		struct rigi_sha256_ctx c;
		rigi_sha256_init(&c);
		rigi_sha256_update(&c, m, 0);
		for (size_t at = 0, piece = 1; at < len; at += piece, piece++)
			rigi_sha256_update(&c, m + at, piece < len - at ? piece : len - at);
		rigi_sha256_final(&c, d);
		assert_digest(d, sha_vectors[i].digest);
	}
}

/* One million 'a' (FIPS 180-2 appendix B.3) in odd 997-byte pieces, which
 * straddle the 64-byte block boundary every time. */
static void sha256_million_a_in_pieces(void **state)
{
	static char chunk[997];
	struct rigi_sha256_ctx c;
	uint8_t d[RIGI_SHA256_BYTES];
	size_t left = 1000000;
	(void)state;
	memset(chunk, 'a', sizeof(chunk));
	rigi_sha256_init(&c);
	while (left > 0) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);
		rigi_sha256_update(&c, chunk, n);
		left -= n;
	}
	rigi_sha256_final(&c, d);
	assert_digest(d, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* ---- hex ---- */

static void hex_round_trip_and_rejects(void **state)
{
	static const uint8_t bytes[4] = {0x00, 0x9f, 0xa0, 0xff};
	static const char *const bad[] = {
		"009fa0f",   /* odd length (7 digits) */
		"009fa0",    /* too short */
		"009fa0fg",  /* non-hex */
		"00 9fa0ff", /* space inside */
		"009fa0ff0", /* a digit too many */
		"009fa0ff\n", "009fa0ffx", "-09fa0ff", "",
	};
	uint8_t out[4];
	char hex[9];
	(void)state;
	rigi_hex_encode(bytes, 4, hex);
	assert_string_equal(hex, "009fa0ff");
	assert_int_equal(rigi_hex_decode(hex, out, 4), 0);
	assert_memory_equal(out, bytes, 4);
	assert_int_equal(rigi_hex_decode("009FA0fF", out, 4), 0); /* either case */
	assert_memory_equal(out, bytes, 4);
	assert_int_equal(rigi_hex_decode("", out, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		rig_clear_error();
		assert_int_equal(rigi_hex_decode(bad[i], out, 4), RIG_ERR_FORMAT);
		assert_non_null(strstr(rig_last_error(), "8 hex digits"));
	}
	assert_int_equal(rigi_hex_decode(NULL, out, 4), RIG_ERR_FORMAT);
}

/* ---- Ed25519: RFC 8032 §7.1 TEST 1, 2, 3 ---- */

static const struct {
	const char *seed, *pk, *msg, *sig;
} rfc8032[] = {
	{"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
	 "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	 "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
	{"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
	 "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	 "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
	{"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	 "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
	 "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	 "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};
#define N_RFC8032 (sizeof(rfc8032) / sizeof(rfc8032[0]))

static void ed25519_rfc8032_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_RFC8032; i++) {
		uint8_t seed[32], pk[32], pk2[32], sk[64], want_pk[32], sig[64], want_sig[64], msg[2];
		size_t mlen = strlen(rfc8032[i].msg) / 2;
		unhex(rfc8032[i].seed, seed, 32);
		unhex(rfc8032[i].pk, want_pk, 32);
		unhex(rfc8032[i].msg, msg, mlen);
		unhex(rfc8032[i].sig, want_sig, 64);
		assert_int_equal(rigi_ed25519_seed_keypair(seed, pk, sk), 0);
		assert_memory_equal(pk, want_pk, 32);
		assert_memory_equal(sk, seed, 32);
		rigi_ed25519_sk_to_pk(sk, pk2);
		assert_memory_equal(pk2, want_pk, 32);
		assert_int_equal(rigi_ed25519_sign(sk, msg, mlen, sig), 0);
		assert_memory_equal(sig, want_sig, 64);
		assert_int_equal(rigi_ed25519_verify(want_pk, msg, mlen, want_sig), 0);
		assert_int_equal(rigi_verify_hex(rfc8032[i].pk, msg, mlen, rfc8032[i].sig), 0);
	}
}

/* The public key comes from the seed half of a secret key, not its copy. */
static void ed25519_sk_to_pk_derives(void **state)
{
	uint8_t pk[32], sk[64], pk2[32];
	(void)state;
	assert_int_equal(rigi_ed25519_keypair(pk, sk), 0);
	rigi_ed25519_sk_to_pk(sk, pk2);
	assert_memory_equal(pk, pk2, 32);
	sk[40] ^= 0x01; /* damage the stored public half */
	rigi_ed25519_sk_to_pk(sk, pk2);
	assert_memory_equal(pk, pk2, 32);
}

static void ed25519_round_trip_and_tampering(void **state)
{
	static const char msg[] = "{\"serial\":\"MN1-000123\",\"verdict\":\"pass\"}\n";
	uint8_t pk[32], sk[64], sig[64], other_pk[32], other_sk[64];
	uint8_t m[sizeof(msg) - 1];
	(void)state;
	memcpy(m, msg, sizeof(m));
	assert_int_equal(rigi_ed25519_keypair(pk, sk), 0);
	assert_int_equal(rigi_ed25519_keypair(other_pk, other_sk), 0);
	assert_memory_not_equal(pk, other_pk, 32);
	assert_int_equal(rigi_ed25519_sign(sk, m, sizeof(m), sig), 0);
	assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m), sig), 0);
	assert_int_equal(rigi_ed25519_verify(other_pk, m, sizeof(m), sig), RIG_ERR_SIGNATURE);
	for (size_t bit = 0; bit < 8 * sizeof(m); bit += 7) {
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m), sig), RIG_ERR_SIGNATURE);
		m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * 64; bit += 5) {
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m), sig), RIG_ERR_SIGNATURE);
		sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	for (size_t bit = 0; bit < 8 * 32; bit += 3) {
		pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rig_clear_error();
		assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m), sig), RIG_ERR_SIGNATURE);
		assert_non_null(strstr(rig_last_error(), "does not verify"));
		pk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m), sig), 0);
	assert_int_equal(rigi_ed25519_verify(pk, m, sizeof(m) - 1, sig), RIG_ERR_SIGNATURE);
}

static void verify_hex_formats(void **state)
{
	const char *pk = rfc8032[1].pk, *sig = rfc8032[1].sig;
	char bad[200];
	uint8_t msg = 0x72;
	(void)state;
	assert_int_equal(rigi_verify_hex(pk, &msg, 1, sig), 0);
	msg ^= 1;
	assert_int_equal(rigi_verify_hex(pk, &msg, 1, sig), RIG_ERR_SIGNATURE);
	msg ^= 1;
	snprintf(bad, sizeof(bad), "%.63s", pk);
	assert_int_equal(rigi_verify_hex(bad, &msg, 1, sig), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "public key"));
	snprintf(bad, sizeof(bad), "%s\n", sig);
	assert_int_equal(rigi_verify_hex(pk, &msg, 1, bad), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "signature"));
	snprintf(bad, sizeof(bad), "%.127sz", sig);
	assert_int_equal(rigi_verify_hex(pk, &msg, 1, bad), RIG_ERR_FORMAT);
	assert_non_null(strstr(rig_last_error(), "signature"));
	assert_int_equal(rigi_verify_hex(NULL, &msg, 1, sig), RIG_ERR_FORMAT);
}

/* ---- the station signing key file ---- */

struct keydir {
	char *dir;
	char key[512], pub[520];
};

static int keydir_setup(void **state)
{
	struct keydir *k = calloc(1, sizeof(*k));
	if (!k || !(k->dir = ts_mkdtemp("sign"))) {
		free(k);
		return -1;
	}
	snprintf(k->key, sizeof(k->key), "%s/station.key", k->dir);
	snprintf(k->pub, sizeof(k->pub), "%s.pub", k->key);
	*state = k;
	return 0;
}

static int keydir_teardown(void **state)
{
	struct keydir *k = *state;
	ts_rmtree(k->dir);
	free(k->dir);
	free(k);
	return 0;
}

/* Open @p path, expect @p err, and that the detail contains @p needle. */
static void expect_open(const char *path, int err, const char *needle)
{
	struct rigi_signer *s = (struct rigi_signer *)&s; /* must be reset to NULL */
	rig_clear_error();
	assert_int_equal(rigi_signer_open(path, &s), err);
	if (err == 0) {
		assert_non_null(s);
	} else {
		assert_null(s);
		if (needle && !strstr(rig_last_error(), needle))
			fail_msg("detail \"%s\" lacks \"%s\"", rig_last_error(), needle);
	}
	rigi_signer_free(s);
}

/* The key file holding RFC 8032 TEST @p i's seed. */
static void write_rfc_key(const struct keydir *k, size_t i)
{
	char text[128];
	snprintf(text, sizeof(text), "ed25519-secret-seed %s\n", rfc8032[i].seed);
	write_text(k->key, text, 0600);
}

static void key_created_on_first_use(void **state)
{
	struct keydir *k = *state;
	struct rigi_signer *s = NULL, *again = NULL;
	char hex[65], hex2[65], loaded[65], want_pub[100];
	uint8_t seed[32], pk[32], sk[64];
	mode_t old = umask(0); /* the modes must not depend on the umask */

	assert_int_equal(rigi_signer_open(k->key, &s), 0);
	umask(old);
	assert_int_equal(mode_of(k->key), 0600);
	assert_int_equal(mode_of(k->pub), 0644);
	rigi_signer_public_hex(s, hex);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
	snprintf(want_pub, sizeof(want_pub), "ed25519-public %s\n", hex);
	assert_string_equal(read_text(k->pub), want_pub);

	/* The private file holds the seed of that very key pair. */
	const char *text = read_text(k->key);
	assert_int_equal(strlen(text), 20 + 64 + 1);
	assert_memory_equal(text, "ed25519-secret-seed ", 20);
	assert_int_equal(text[84], '\n');
	assert_int_equal(strspn(text + 20, "0123456789abcdef"), 64);
	char digits[65];
	memcpy(digits, text + 20, 64);
	digits[64] = '\0';
	unhex(digits, seed, 32);
	assert_int_equal(rigi_ed25519_seed_keypair(seed, pk, sk), 0);
	rigi_hex_encode(pk, 32, hex2);
	assert_string_equal(hex2, hex);

	assert_int_equal(rigi_signer_open(k->key, &again), 0);
	rigi_signer_public_hex(again, hex2);
	assert_string_equal(hex2, hex);
	assert_int_equal(rigi_public_key_load(k->pub, loaded), 0);
	assert_string_equal(loaded, hex);
	rigi_signer_free(s);
	rigi_signer_free(again);
	rigi_signer_free(NULL);
}

static void key_file_from_rfc8032_seed(void **state)
{
	struct keydir *k = *state;
	for (size_t i = 0; i < N_RFC8032; i++) {
		struct rigi_signer *s = NULL;
		char hex[65], sig[129];
		uint8_t msg[2];
		size_t mlen = strlen(rfc8032[i].msg) / 2;
		unlink(k->pub);
		write_rfc_key(k, i);
		unhex(rfc8032[i].msg, msg, mlen);
		assert_int_equal(rigi_signer_open(k->key, &s), 0);
		rigi_signer_public_hex(s, hex);
		assert_string_equal(hex, rfc8032[i].pk);
		assert_int_equal(rigi_signer_sign_hex(s, msg, mlen, sig), 0);
		assert_string_equal(sig, rfc8032[i].sig);
		assert_int_equal(rigi_verify_hex(hex, msg, mlen, sig), 0);
		rigi_signer_free(s);
	}
}

static void key_readable_by_others_refused(void **state)
{
	struct keydir *k = *state;
	static const mode_t bad[] = {0640, 0604, 0644, 0660, 0601, 0610, 0700 | 0007};
	char chmod_hint[600], mode_text[16];
	expect_open(k->key, 0, NULL);
	snprintf(chmod_hint, sizeof(chmod_hint), "chmod 600 %s", k->key);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(k->key, bad[i]), 0);
		snprintf(mode_text, sizeof(mode_text), "mode %03o", (unsigned)bad[i]);
		expect_open(k->key, RIG_ERR_PERMISSION, chmod_hint);
		assert_non_null(strstr(rig_last_error(), mode_text));
	}
	assert_int_equal(chmod(k->key, 0400), 0); /* read-only for the owner is fine */
	expect_open(k->key, 0, NULL);
}

static void key_malformed_refused(void **state)
{
	struct keydir *k = *state;
	const char *seed = rfc8032[0].seed;
	char text[256];
	static const struct {
		const char *before;
		int digits; /* of the seed */
		const char *after;
		const char *detail; /* names the first bad byte */
	} cases[] = {
		{"ed25519-secret-seed ", 62, "\n", "byte 82 is not a lower-case hex digit"},
		{"ed25519-secret-seed ", 64, "00\n", "byte 84 is 0x30, expected 0x0a"},
		{"ed25519-secret ", 64, "\n", "byte 14 is 0x20, expected 0x2d"},
		{"ed25519-public ", 64, "\n", "byte 8 is 0x70, expected 0x73"},
		{"ed25519-secret-seed ", 64, "\ngarbage", "byte 85 is 0x67 after the line's"},
		{"ed25519-secret-seed ", 64, "\n\n", "byte 85 is 0x0a after the line's"},
		{"ed25519-secret-seed ", 64, "", "the file ends at byte 84"},
		{"ed25519-secret-seed ", 64, "\r\n", "byte 84 is 0x0d, expected 0x0a (remove the "
						  "carriage return)"},
		{"ed25519-secret-seed  ", 64, "\n", "byte 20 is not a lower-case hex digit"},
		{"ed25519-secret-seed ", 63, "g\n", "byte 83 is not a lower-case hex digit"},
		{"ED25519-SECRET-SEED ", 64, "\n", "byte 0 is 0x45, expected 0x65"},
		{"", 64, "\n", "byte 0 is 0x39, expected 0x65"}, /* bare hex (a line key) */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unlink(k->key);
		snprintf(text, sizeof(text), "%s%.*s%s", cases[i].before, cases[i].digits, seed,
			 cases[i].after);
		write_text(k->key, text, 0600);
		expect_open(k->key, RIG_ERR_FORMAT, k->key);
		expect_open(k->key, RIG_ERR_FORMAT, cases[i].detail);
	}
	/* Upper-case hex is not the documented format either. */
	snprintf(text, sizeof(text), "ed25519-secret-seed %s\n",
		 "9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60");
	write_text(k->key, text, 0600);
	expect_open(k->key, RIG_ERR_FORMAT, "byte 21 is not a lower-case hex digit (digit 2");
	write_text(k->key, "", 0600);
	expect_open(k->key, RIG_ERR_FORMAT, "empty");
	assert_int_equal(access(k->pub, F_OK), -1); /* nothing was written */
}

static void pub_mismatch_refused(void **state)
{
	struct keydir *k = *state;
	char text[128];
	write_rfc_key(k, 0);
	snprintf(text, sizeof(text), "ed25519-public %s\n", rfc8032[1].pk);
	write_text(k->pub, text, 0644);
	expect_open(k->key, RIG_ERR_FORMAT, k->key);
	assert_non_null(strstr(rig_last_error(), k->pub));
	assert_string_equal(read_text(k->pub), text); /* left alone */
	/* A malformed .pub names both files too. */
	write_text(k->pub, "ed25519-public 1234\n", 0644);
	expect_open(k->key, RIG_ERR_FORMAT, k->pub);
	assert_non_null(strstr(rig_last_error(), k->key));
	/* The right one, in upper case, is accepted. */
	snprintf(text, sizeof(text), "ed25519-public %s\n",
		 "D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A");
	write_text(k->pub, text, 0644);
	expect_open(k->key, 0, NULL);
}

static void missing_pub_rewritten(void **state)
{
	struct keydir *k = *state;
	char want[128], hex[65];
	write_rfc_key(k, 2);
	assert_int_equal(rigi_public_key_load(k->pub, hex), RIG_ERR_NOT_FOUND);
	assert_non_null(strstr(rig_last_error(), k->pub));
	expect_open(k->key, 0, NULL);
	snprintf(want, sizeof(want), "ed25519-public %s\n", rfc8032[2].pk);
	assert_string_equal(read_text(k->pub), want);
	assert_int_equal(mode_of(k->pub), 0644);
	assert_int_equal(rigi_public_key_load(k->pub, hex), 0);
	assert_string_equal(hex, rfc8032[2].pk);
}

/* A key never generated beside the public key of an earlier one. */
static void orphan_pub_kept(void **state)
{
	struct keydir *k = *state;
	char text[128];
	snprintf(text, sizeof(text), "ed25519-public %s\n", rfc8032[0].pk);
	write_text(k->pub, text, 0644);
	expect_open(k->key, RIG_ERR_FORMAT, k->pub);
	assert_int_equal(access(k->key, F_OK), -1);
	assert_string_equal(read_text(k->pub), text);
}

static void public_key_load_formats(void **state)
{
	struct keydir *k = *state;
	static const char *const bad[] = {
		"ed25519-public d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		"ed25519-public d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511\n",
		"ed25519-public d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\nx",
		"ed25519-secret-seed d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a\n",
		"",
	};
	char hex[65];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(k->pub, bad[i], 0644);
		assert_int_equal(rigi_public_key_load(k->pub, hex), RIG_ERR_FORMAT);
		assert_non_null(strstr(rig_last_error(), k->pub));
	}
	assert_int_equal(rigi_public_key_load(k->dir, hex), RIG_ERR_FORMAT);
}

static void symlinked_key_refused(void **state)
{
	struct keydir *k = *state;
	char real[600], link[600];
	snprintf(real, sizeof(real), "%s/real.key", k->dir);
	snprintf(link, sizeof(link), "%s/link.key", k->dir);
	expect_open(real, 0, NULL);
	assert_int_equal(symlink(real, link), 0);
	expect_open(link, RIG_ERR_PERMISSION, "symbolic link");
	assert_non_null(strstr(rig_last_error(), link));
	/* A dangling link is not followed to create a key somewhere else. */
	snprintf(real, sizeof(real), "%s/elsewhere.key", k->dir);
	snprintf(link, sizeof(link), "%s/dangling.key", k->dir);
	assert_int_equal(symlink(real, link), 0);
	expect_open(link, RIG_ERR_PERMISSION, "symbolic link");
	assert_int_equal(access(real, F_OK), -1);
}

static void key_path_problems(void **state)
{
	struct keydir *k = *state;
	char path[600];
	struct rigi_signer *s = NULL;
	snprintf(path, sizeof(path), "%s/no/such/dir/station.key", k->dir);
	expect_open(path, RIG_ERR_NOT_FOUND, path);
	expect_open(k->dir, RIG_ERR_PERMISSION, "not a regular file");
	expect_open("", RIG_ERR_ARG, NULL);
	assert_int_equal(rigi_signer_open(NULL, &s), RIG_ERR_ARG);
	assert_int_equal(rigi_signer_open(k->key, NULL), RIG_ERR_ARG);

	/* Someone else's key (needs root to make one), and an unwritable
	 * directory (root may write anywhere, so only as another user). */
	if (geteuid() == 0) {
		expect_open(k->key, 0, NULL);
		assert_int_equal(chown(k->key, 1, (gid_t)-1), 0);
		expect_open(k->key, RIG_ERR_PERMISSION, "owned by uid 1");
	} else {
		snprintf(path, sizeof(path), "%s/ro", k->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		snprintf(path, sizeof(path), "%s/ro/station.key", k->dir);
		expect_open(path, RIG_ERR_PERMISSION, path);
	}
}

/* ---- a third party checks a signature: tests/records/verify_ed25519.py ---- */

/* Run the verifier with @p args and expect exit status @p want. */
static void expect_verifier(const char *args, int want)
{
	char cmd[2048];
	assert_true(snprintf(cmd, sizeof(cmd), "/usr/bin/python3 '%s' %s", VERIFIER, args) <
		    (int)sizeof(cmd));
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		fail_msg("could not run: %s", cmd);
	if (WEXITSTATUS(st) != want)
		fail_msg("%s: exit status %d, expected %d (1: invalid; 2: malformed input; 3: "
			 "neither python3-nacl nor python3-cryptography is installed; 127: no "
			 "python3)", cmd, WEXITSTATUS(st), want);
}

static void python_verifies_signature(void **state)
{
	struct keydir *k = *state;
	static const char content[] = "{\"run_id\":\"r1\",\"verdict\":\"pass\"}\n";
	struct rigi_signer *s = NULL;
	char data[600], sigfile[600], hex[65], sig[129], sigline[131], args[2048];

	expect_verifier("--selftest", 0);
	snprintf(data, sizeof(data), "%s/record.json", k->dir);
	snprintf(sigfile, sizeof(sigfile), "%s/record.sig", k->dir);
	write_text(data, content, 0644);
	assert_int_equal(rigi_signer_open(k->key, &s), 0);
	rigi_signer_public_hex(s, hex);
	assert_int_equal(rigi_signer_sign_hex(s, content, sizeof(content) - 1, sig), 0);
	snprintf(sigline, sizeof(sigline), "%s\n", sig);
	write_text(sigfile, sigline, 0644);
	snprintf(args, sizeof(args), "%s '%s' '%s'", hex, data, sigfile);
	expect_verifier(args, 0);

	/* One byte of the record changed: invalid. */
	char tampered[sizeof(content)];
	memcpy(tampered, content, sizeof(content));
	tampered[12] ^= 0x20;
	write_text(data, tampered, 0644);
	expect_verifier(args, 1);
	/* A malformed public key is a usage error. */
	snprintf(args, sizeof(args), "%.63s '%s' '%s'", hex, data, sigfile);
	expect_verifier(args, 2);
	rigi_signer_free(s);
}

#define KEY_TEST(f) cmocka_unit_test_setup_teardown(f, keydir_setup, keydir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_vectors),
		cmocka_unit_test(sha256_million_a_in_pieces),
		cmocka_unit_test(hex_round_trip_and_rejects),
		cmocka_unit_test(ed25519_rfc8032_vectors),
		cmocka_unit_test(ed25519_sk_to_pk_derives),
		cmocka_unit_test(ed25519_round_trip_and_tampering),
		cmocka_unit_test(verify_hex_formats),
		KEY_TEST(key_created_on_first_use),
		KEY_TEST(key_file_from_rfc8032_seed),
		KEY_TEST(key_readable_by_others_refused),
		KEY_TEST(key_malformed_refused),
		KEY_TEST(pub_mismatch_refused),
		KEY_TEST(missing_pub_rewritten),
		KEY_TEST(orphan_pub_kept),
		KEY_TEST(public_key_load_formats),
		KEY_TEST(symlinked_key_refused),
		KEY_TEST(key_path_problems),
		KEY_TEST(python_verifies_signature),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
