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

void rigi_random_bytes(uint8_t *buf, size_t len)
{
	if (rigi_crypto_init() == 0)
		randombytes_buf(buf, len);
}

void rigi_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

static int parse_key_text(const char *text, size_t len, uint8_t key[RIGI_KEY_BYTES])
{
	size_t bin_len = 0;
	const char *end = NULL;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len != 2 * RIGI_KEY_BYTES)
		return -1;
	if (sodium_hex2bin(key, RIGI_KEY_BYTES, text, len, NULL, &bin_len, &end) != 0 ||
	    bin_len != RIGI_KEY_BYTES)
		return -1;
	return 0;
}

int rigi_key_load(const char *path, uint8_t key[RIGI_KEY_BYTES])
{
	char buf[2 * RIGI_KEY_BYTES + 4];
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
	if (n == (ssize_t)RIGI_KEY_BYTES) {
		memcpy(key, buf, RIGI_KEY_BYTES);
	} else if (n < 0 || parse_key_text(buf, (size_t)n, key) != 0) {
		ret = rigi_fail(RIG_ERR_FORMAT,
				"key file %s: expected 32 raw bytes or 64 hex digits", path);
	}
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
	rigi_random_bytes(key, sizeof(key));
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
