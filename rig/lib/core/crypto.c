/* HMAC-SHA256, randomness, constant-time comparison and key files through
 * libsodium: the project's only libsodium caller. */
#include <errno.h>
#include <fcntl.h>
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
