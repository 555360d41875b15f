/* HMAC-SHA256, SHA-256, hex, Ed25519 signatures, randomness, constant-time
 * comparison and key files through libsodium: the project's only libsodium
 * caller. */
#include <errno.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "core/core.h"

int rigi_crypto_init(void)
{
	if (sodium_init() < 0)
		return rigi_fail(RIG_ERR_INTERNAL, "libsodium failed to initialise");
	return 0;
}

int rigi_hmac_sha256(const uint8_t key[RIGI_KEY_BYTES], const uint8_t *const *parts,
		     const size_t *lens, size_t n_parts, uint8_t out[RIGI_HMAC_BYTES])
{
	crypto_auth_hmacsha256_state st;
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	crypto_auth_hmacsha256_init(&st, key, RIGI_KEY_BYTES);
	for (size_t i = 0; i < n_parts; i++)
		crypto_auth_hmacsha256_update(&st, parts[i], lens[i]);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int rigi_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

int rigi_random_after_init(int sodium_init_result, uint8_t *buf, size_t len)
{
	if (sodium_init_result < 0) {
		/* No stale or predictable bytes may pass for random ones. */
		memset(buf, 0, len);
		return rigi_fail(RIG_ERR_INTERNAL, "no random bytes: libsodium failed to "
				 "initialise (sodium_init() returned %d); nothing that needs a "
				 "nonce, a key or a random sequence number can go on: check the "
				 "system's random source (/dev/urandom, getrandom)",
				 sodium_init_result);
	}
	randombytes_buf(buf, len);
	return 0;
}

int rigi_random_bytes(uint8_t *buf, size_t len)
{
	return rigi_random_after_init(sodium_init(), buf, len);
}

void rigi_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

static int is_hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* What follows the 64 digits: nothing, or one "\n" and nothing after it. */
static int check_key_tail(const char *text, size_t len, const char *path)
{
	const size_t d = 2 * RIGI_KEY_BYTES;

	if (len == d || (len == d + 1 && text[d] == '\n'))
		return 0;
	if (text[d] == '\r')
		return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is a carriage return; "
				 "remove the carriage return (the 64 digits may be followed by "
				 "one \"\\n\" only)", path, d);
	if (is_hex_digit(text[d]))
		return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is a 65th hex digit; a "
				 "key file holds exactly 64", path, d);
	if (text[d] != '\n')
		return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is 0x%02x after the 64 "
				 "hex digits; only one \"\\n\" may follow them", path, d,
				 (unsigned char)text[d]);
	return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is 0x%02x after the closing "
			 "newline; nothing may follow it (remove the trailing bytes)", path, d + 1,
			 (unsigned char)text[d + 1]);
}

int rigi_key_parse(const char *text, size_t len, const char *path,
		   uint8_t key[RIGI_KEY_BYTES])
{
	const size_t d = 2 * RIGI_KEY_BYTES;
	size_t bin_len = 0;
	int ret;

	for (size_t i = 0; i < d; i++) {
		if (i == len)
			return rigi_fail(RIG_ERR_FORMAT, "key file %s ends at byte %zu after %zu hex "
					 "digits; a key file holds exactly 64 hex digits "
					 "(docs/files.md \"Key files\")", path, i, i);
		if (text[i] == '\r' || text[i] == '\n')
			return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is %s after %zu hex "
					 "digits; a key file holds exactly 64 hex digits", path, i,
					 text[i] == '\r' ? "a carriage return" : "a newline", i);
		if (!is_hex_digit(text[i]))
			return rigi_fail(RIG_ERR_FORMAT, "key file %s: byte %zu is 0x%02x, not a hex "
					 "digit; a key file holds exactly 64 hex digits and an "
					 "optional \"\\n\" (docs/files.md \"Key files\")", path, i,
					 (unsigned char)text[i]);
	}
	ret = check_key_tail(text, len, path);
	if (ret == 0 && (sodium_hex2bin(key, RIGI_KEY_BYTES, text, d, NULL, &bin_len, NULL) != 0 ||
			 bin_len != RIGI_KEY_BYTES))
		ret = rigi_fail(RIG_ERR_INTERNAL, "key file %s: 64 hex digits did not decode", path);
	if (ret < 0)
		rigi_wipe(key, RIGI_KEY_BYTES);
	return ret;
}

int rigi_key_load(const char *path, uint8_t key[RIGI_KEY_BYTES])
{
	char buf[2 * RIGI_KEY_BYTES + 2]; /* one byte more than a valid file */
	struct stat st;
	ssize_t n;
	int ret = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return rigi_fail(errno == EACCES ? RIG_ERR_PERMISSION : RIG_ERR_NOT_FOUND,
				 "key file %s: %s; give the station key file's path", path,
				 strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		ret = rigi_fail(RIG_ERR_FORMAT, "key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = rigi_fail(RIG_ERR_PERMISSION,
				"key file %s is accessible by group or others (mode %03o); "
				"refusing to use it: run 'chmod 600 %s'",
				path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		ret = rigi_fail(RIG_ERR_IO, "key file %s: %s", path, strerror(errno));
	else
		ret = rigi_key_parse(buf, (size_t)n, path, key);
out:
	rigi_wipe(buf, sizeof(buf));
	close(fd);
	return ret;
}

int rigi_key_create(const char *path)
{
	uint8_t key[RIGI_KEY_BYTES];
	char hex[2 * RIGI_KEY_BYTES + 2];
	int ret = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return rigi_fail(RIG_ERR_IO, "cannot create key file %s: %s", path,
				 strerror(errno));
	ret = rigi_random_bytes(key, sizeof(key));
	if (ret < 0) {
		close(fd);
		unlink(path); /* ours: created by O_EXCL above, still empty */
		rigi_error_context("cannot create key file %s", path);
		return ret;
	}
	sodium_bin2hex(hex, sizeof(hex) - 1, key, sizeof(key));
	hex[2 * RIGI_KEY_BYTES] = '\n';
	if (write(fd, hex, 2 * RIGI_KEY_BYTES + 1) != 2 * RIGI_KEY_BYTES + 1 || fsync(fd) != 0)
		ret = rigi_fail(RIG_ERR_IO, "cannot write key file %s: %s", path, strerror(errno));
	close(fd);
	rigi_wipe(key, sizeof(key));
	rigi_wipe(hex, sizeof(hex));
	return ret;
}

/* ---- SHA-256 ---- */

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(struct rigi_sha256_ctx),
	       "struct rigi_sha256_ctx is too small for crypto_hash_sha256_state");
_Static_assert(alignof(crypto_hash_sha256_state) <= alignof(struct rigi_sha256_ctx),
	       "struct rigi_sha256_ctx is under-aligned for crypto_hash_sha256_state");
_Static_assert(RIGI_SHA256_BYTES == crypto_hash_sha256_BYTES, "SHA-256 size");
_Static_assert(RIGI_ED25519_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "Ed25519 public key size");
_Static_assert(RIGI_ED25519_SK_BYTES == crypto_sign_SECRETKEYBYTES, "Ed25519 secret key size");
_Static_assert(RIGI_ED25519_SEED_BYTES == crypto_sign_SEEDBYTES, "Ed25519 seed size");
_Static_assert(RIGI_ED25519_SIG_BYTES == crypto_sign_BYTES, "Ed25519 signature size");

static crypto_hash_sha256_state *sha_state(struct rigi_sha256_ctx *c)
{
	return (crypto_hash_sha256_state *)(void *)c->opaque;
}

void rigi_sha256(const void *data, size_t len, uint8_t out[RIGI_SHA256_BYTES])
{
	/* SHA-256 needs no initialised libsodium state; initialise anyway so
	 * that the library is always set up before its first use. */
	(void)rigi_crypto_init();
	crypto_hash_sha256(out, data, len);
}

void rigi_sha256_init(struct rigi_sha256_ctx *c)
{
	(void)rigi_crypto_init();
	crypto_hash_sha256_init(sha_state(c));
}

void rigi_sha256_update(struct rigi_sha256_ctx *c, const void *data, size_t len)
{
	crypto_hash_sha256_update(sha_state(c), data, len);
}

void rigi_sha256_final(struct rigi_sha256_ctx *c, uint8_t out[RIGI_SHA256_BYTES])
{
	crypto_hash_sha256_final(sha_state(c), out);
	sodium_memzero(c, sizeof(*c));
}

/* ---- hex ---- */

void rigi_hex_encode(const uint8_t *bin, size_t len, char *hex)
{
	sodium_bin2hex(hex, 2 * len + 1, bin, len);
}

int rigi_hex_decode(const char *hex, uint8_t *bin, size_t len)
{
	size_t n = hex ? strnlen(hex, 2 * len + 1) : 0;
	size_t bin_len = 0;
	const char *end = NULL;

	if (!hex || n != 2 * len)
		return rigi_fail(RIG_ERR_FORMAT, "expected exactly %zu hex digits, found %s%zu characters",
				 2 * len, n > 2 * len ? "more than " : "", n > 2 * len ? 2 * len : n);
	/* Constant time in the digits' values: the input may be a secret. */
	if (sodium_hex2bin(bin, len, hex, n, NULL, &bin_len, &end) != 0 || bin_len != len ||
	    end != hex + n) {
		sodium_memzero(bin, len);
		return rigi_fail(RIG_ERR_FORMAT,
				 "expected exactly %zu hex digits (0-9, a-f), found another character",
				 2 * len);
	}
	return 0;
}

/* ---- Ed25519 (RFC 8032, pure) ---- */

int rigi_ed25519_keypair(uint8_t pk[RIGI_ED25519_PK_BYTES], uint8_t sk[RIGI_ED25519_SK_BYTES])
{
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	if (crypto_sign_keypair(pk, sk) != 0)
		return rigi_fail(RIG_ERR_INTERNAL, "Ed25519 key generation failed in libsodium");
	return 0;
}

int rigi_ed25519_seed_keypair(const uint8_t seed[RIGI_ED25519_SEED_BYTES],
			      uint8_t pk[RIGI_ED25519_PK_BYTES], uint8_t sk[RIGI_ED25519_SK_BYTES])
{
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
		return rigi_fail(RIG_ERR_INTERNAL, "Ed25519 key derivation failed in libsodium");
	return 0;
}

void rigi_ed25519_sk_to_pk(const uint8_t sk[RIGI_ED25519_SK_BYTES], uint8_t pk[RIGI_ED25519_PK_BYTES])
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	uint8_t tmp_sk[crypto_sign_SECRETKEYBYTES];

	/* Derived from the seed half rather than copied from the public half,
	 * so that a secret key whose halves disagree cannot pass unnoticed. */
	(void)rigi_crypto_init();
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	crypto_sign_seed_keypair(pk, tmp_sk, seed);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(tmp_sk, sizeof(tmp_sk));
}

int rigi_ed25519_sign(const uint8_t sk[RIGI_ED25519_SK_BYTES], const void *msg, size_t len,
		      uint8_t sig[RIGI_ED25519_SIG_BYTES])
{
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	if (crypto_sign_detached(sig, NULL, msg, len, sk) != 0)
		return rigi_fail(RIG_ERR_INTERNAL, "Ed25519 signing failed in libsodium");
	return 0;
}

int rigi_ed25519_verify(const uint8_t pk[RIGI_ED25519_PK_BYTES], const void *msg, size_t len,
			const uint8_t sig[RIGI_ED25519_SIG_BYTES])
{
	int ret = rigi_crypto_init();
	if (ret < 0)
		return ret;
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return rigi_fail(RIG_ERR_SIGNATURE,
				 "Ed25519 signature does not verify under the given public key: "
				 "the data, the signature or the key is not the one signed");
	return 0;
}
