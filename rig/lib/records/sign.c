/* The station's Ed25519 signing key, which signs every finished run record
 * (record.sig beside record.json) so that anyone holding only the public
 * key can tell that a record is the station's and unaltered: the private
 * key file (created on first use with mode 0600, refused when it is a
 * symbolic link, someone else's or readable by others), its public twin
 * "<key>.pub", and signing and verifying with hex keys and signatures.
 * The cryptography itself is in core/crypto.c, the only libsodium caller. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "records/records.h"
#include "records/sign.h"

#define SECRET_PREFIX "ed25519-secret-seed "
#define PUBLIC_PREFIX "ed25519-public "
#define SECRET_PREFIX_LEN (sizeof(SECRET_PREFIX) - 1)
#define PUBLIC_PREFIX_LEN (sizeof(PUBLIC_PREFIX) - 1)
#define SEED_HEX_LEN (2 * RIGI_ED25519_SEED_BYTES)
#define PK_HEX_LEN (2 * RIGI_ED25519_PK_BYTES)
#define SECRET_LINE_LEN (SECRET_PREFIX_LEN + SEED_HEX_LEN + 1)
#define PUBLIC_LINE_LEN (PUBLIC_PREFIX_LEN + PK_HEX_LEN + 1)

/* create_secret(): someone else created the file meanwhile; read it. */
#define CREATED_ELSEWHERE 1

struct rigi_signer {
	uint8_t sk[RIGI_ED25519_SK_BYTES];
	uint8_t pk[RIGI_ED25519_PK_BYTES];
};

/* 1 when the directory that would hold @p path does not exist. */
static int dir_missing(const char *path)
{
	struct stat st;
	char *dir = rigi_dir_of(path);
	int missing = dir && stat(dir, &st) != 0 && (errno == ENOENT || errno == ENOTDIR);
	free(dir);
	return missing;
}

static int fsync_dir_of(const char *path)
{
	char *dir = rigi_dir_of(path);
	int ret = dir ? rigi_fsync_dir(dir)
		      : rigi_fail(RIG_ERR_NOMEM, "create signing key file %s: out of memory", path);
	free(dir);
	return ret;
}

/* Read until end of file or @p cap bytes; -1 with errno on failure. */
static int read_upto(int fd, char *buf, size_t cap, size_t *n)
{
	*n = 0;
	while (*n < cap) {
		ssize_t r = read(fd, buf + *n, cap - *n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		*n += (size_t)r;
	}
	return 0;
}

/* "<path>.pub", malloc'd. */
static char *pub_path_of(const char *path)
{
	size_t len = strlen(path);
	char *pub = malloc(len + 5);
	if (pub) {
		memcpy(pub, path, len);
		memcpy(pub + len, ".pub", 5);
	}
	return pub;
}

/* A regular file of ours that nobody else may read or change. */
static int check_key_file(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return rigi_sys_fail(errno, "stat signing key file", path);
	if (!S_ISREG(st.st_mode))
		return rigi_fail(RIG_ERR_PERMISSION,
				 "signing key file %s is not a regular file; refusing it: give the "
				 "path of the key file itself", path);
	if (st.st_uid != geteuid())
		return rigi_fail(RIG_ERR_PERMISSION,
				 "signing key file %s is owned by uid %u, not by this user (uid %u); "
				 "refusing it: run as its owner or 'chown %u %s'",
				 path, (unsigned)st.st_uid, (unsigned)geteuid(), (unsigned)geteuid(), path);
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return rigi_fail(RIG_ERR_PERMISSION,
				 "signing key file %s is accessible by group or others (mode %03o); "
				 "refusing to use it: run 'chmod 600 %s'",
				 path, (unsigned)(st.st_mode & 0777), path);
	return 0;
}

/* Where a signing key file's content first departs from its one line
 * (docs/files.md "Key files"), described into @p why; SIZE_MAX when it does
 * not. Digit bytes are not printed: they are key material. */
static size_t secret_bad_byte(const char *buf, size_t n, char *why, size_t cap)
{
	for (size_t i = 0; i < SECRET_LINE_LEN; i++) {
		char c = i < SECRET_PREFIX_LEN ? SECRET_PREFIX[i] : i < SECRET_LINE_LEN - 1 ? 'x' : '\n';
		if (i == n) {
			snprintf(why, cap, "the file ends at byte %zu; the line is %zu bytes", i,
				 (size_t)SECRET_LINE_LEN);
			return i;
		}
		if (c == 'x' && !((buf[i] >= '0' && buf[i] <= '9') || (buf[i] >= 'a' && buf[i] <= 'f'))) {
			snprintf(why, cap, "byte %zu is not a lower-case hex digit (digit %zu of 64)",
				 i, i - SECRET_PREFIX_LEN + 1);
			return i;
		}
		if (c != 'x' && buf[i] != c) {
			snprintf(why, cap, "byte %zu is 0x%02x, expected 0x%02x%s", i,
				 (unsigned char)buf[i], (unsigned char)c,
				 buf[i] == '\r' ? " (remove the carriage return)" : "");
			return i;
		}
	}
	if (n > SECRET_LINE_LEN) {
		snprintf(why, cap, "byte %zu is 0x%02x after the line's newline; nothing may "
			 "follow it", (size_t)SECRET_LINE_LEN,
			 (unsigned char)buf[SECRET_LINE_LEN]);
		return SECRET_LINE_LEN;
	}
	return SIZE_MAX;
}

/* The seed of a private key file's content, which must be exactly
 * SECRET_PREFIX, 64 lower-case hex digits and a newline. */
static int parse_secret(const char *buf, size_t n, const char *path,
			uint8_t seed[RIGI_ED25519_SEED_BYTES])
{
	char digits[SEED_HEX_LEN + 1], again[SEED_HEX_LEN + 1], why[160];
	int ok = 0;

	if (n == 0)
		return rigi_fail(RIG_ERR_FORMAT,
				 "signing key file %s is empty (left by a crash while it was being "
				 "created?); if nothing was ever signed with it, delete it and a new "
				 "key is generated", path);
	if (n == SECRET_LINE_LEN && memcmp(buf, SECRET_PREFIX, SECRET_PREFIX_LEN) == 0 &&
	    buf[n - 1] == '\n') {
		memcpy(digits, buf + SECRET_PREFIX_LEN, SEED_HEX_LEN);
		digits[SEED_HEX_LEN] = '\0';
		/* Decoded and re-encoded: lower case only, in constant time. */
		if (rigi_hex_decode(digits, seed, RIGI_ED25519_SEED_BYTES) == 0) {
			rigi_hex_encode(seed, RIGI_ED25519_SEED_BYTES, again);
			ok = rigi_ct_equal((const uint8_t *)digits, (const uint8_t *)again,
					   SEED_HEX_LEN);
		}
	}
	rigi_wipe(digits, sizeof(digits));
	rigi_wipe(again, sizeof(again));
	if (ok)
		return 0;
	rigi_wipe(seed, RIGI_ED25519_SEED_BYTES);
	if (secret_bad_byte(buf, n, why, sizeof(why)) == SIZE_MAX)
		snprintf(why, sizeof(why), "the digits did not decode");
	return rigi_fail(RIG_ERR_FORMAT,
			 "signing key file %s: %s; expected exactly one line \"" SECRET_PREFIX
			 "<64 lower-case hex digits>\\n\" (docs/files.md \"Key files\"); it is "
			 "not a station signing key or it was damaged: restore it from the "
			 "station's backup", path, why);
}

static int load_secret(int fd, const char *path, uint8_t seed[RIGI_ED25519_SEED_BYTES])
{
	char buf[SECRET_LINE_LEN + 1];
	size_t n = 0;
	int ret = check_key_file(fd, path);
	if (ret < 0)
		return ret;
	if (read_upto(fd, buf, sizeof(buf), &n) != 0)
		ret = rigi_sys_fail(errno, "read signing key file", path);
	else
		ret = parse_secret(buf, n, path, seed);
	rigi_wipe(buf, sizeof(buf));
	return ret;
}

/* Create the private key file holding @p line; CREATED_ELSEWHERE when it
 * appeared meanwhile. A file that could not be written whole is removed. */
static int write_secret_file(const char *path, const char *line, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST)
		return CREATED_ELSEWHERE;
	if (fd < 0 && errno == ENOENT && dir_missing(path))
		return rigi_fail(RIG_ERR_NOT_FOUND,
				 "create signing key file %s: its directory does not exist; create "
				 "it (mkdir -p) or give another path", path);
	if (fd < 0)
		return rigi_sys_fail(errno, "create signing key file", path);
	const char *what = "set the mode of";
	int ok = fchmod(fd, 0600) == 0;
	if (ok) {
		what = "write";
		ok = rigi_write_all(fd, line, len) == 0;
	}
	if (ok) {
		what = "fsync";
		ok = fsync(fd) == 0;
	}
	int err = errno;
	if (close(fd) != 0 && ok) {
		err = errno;
		what = "close";
		ok = 0;
	}
	if (!ok) {
		unlink(path);
		return rigi_sys_fail(err, what, path);
	}
	return fsync_dir_of(path);
}

static int create_secret(const char *path, uint8_t seed[RIGI_ED25519_SEED_BYTES])
{
	uint8_t pk[RIGI_ED25519_PK_BYTES], sk[RIGI_ED25519_SK_BYTES];
	char line[SECRET_LINE_LEN + 1];
	int ret = rigi_ed25519_keypair(pk, sk);

	if (ret < 0)
		return ret;
	memcpy(seed, sk, RIGI_ED25519_SEED_BYTES); /* libsodium's sk is seed || pk */
	memcpy(line, SECRET_PREFIX, SECRET_PREFIX_LEN);
	rigi_hex_encode(seed, RIGI_ED25519_SEED_BYTES, line + SECRET_PREFIX_LEN);
	line[SECRET_LINE_LEN - 1] = '\n';
	ret = write_secret_file(path, line, SECRET_LINE_LEN);
	rigi_wipe(sk, sizeof(sk));
	rigi_wipe(line, sizeof(line));
	if (ret != 0)
		rigi_wipe(seed, RIGI_ED25519_SEED_BYTES);
	return ret;
}

/* Refuse to generate a key beside the public key of an earlier one: that
 * file is what verifies the records signed before, never overwrite it. */
static int check_no_orphan_pub(const char *path, const char *pub)
{
	struct stat st;
	if (lstat(pub, &st) != 0)
		return 0;
	return rigi_fail(RIG_ERR_FORMAT,
			 "public key file %s exists but its signing key file %s does not; "
			 "restore %s, or move %s away (keep it: it verifies the records signed "
			 "with that key) to have a new key generated",
			 pub, path, path, pub);
}

/* The seed of the key file at @p path, creating the file when absent. */
static int read_or_create(const char *path, const char *pub,
			  uint8_t seed[RIGI_ED25519_SEED_BYTES], int *created)
{
	int ret = CREATED_ELSEWHERE;
	*created = 0;
	for (int attempt = 0; attempt < 2 && ret == CREATED_ELSEWHERE; attempt++) {
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0) {
			ret = load_secret(fd, path, seed);
			close(fd);
			return ret;
		}
		if (errno == ELOOP)
			return rigi_fail(RIG_ERR_PERMISSION,
					 "signing key file %s is a symbolic link; refusing it: give "
					 "the path of the key file itself", path);
		if (errno != ENOENT)
			return rigi_sys_fail(errno, "open signing key file", path);
		ret = check_no_orphan_pub(path, pub);
		if (ret == 0)
			ret = create_secret(path, seed);
		*created = ret == 0;
	}
	if (ret == CREATED_ELSEWHERE)
		ret = rigi_fail(RIG_ERR_BUSY, "signing key file %s keeps appearing and vanishing; "
				"is another program creating it?", path);
	return ret;
}

/* "<path>.pub" must hold @p pk; a missing one is (re)written. */
static int check_public(const char *path, const char *pub, const uint8_t pk[RIGI_ED25519_PK_BYTES])
{
	char want[PK_HEX_LEN + 1], have[PK_HEX_LEN + 1], line[PUBLIC_LINE_LEN + 1];
	int ret;

	rigi_hex_encode(pk, RIGI_ED25519_PK_BYTES, want);
	ret = rigi_public_key_load(pub, have);
	if (ret == 0 && strcmp(want, have) != 0)
		return rigi_fail(RIG_ERR_FORMAT,
				 "public key file %s holds another key than signing key file %s: one "
				 "of them was replaced; put back the matching pair (a missing %s is "
				 "rewritten from %s)", pub, path, pub, path);
	if (ret == RIG_ERR_NOT_FOUND) {
		memcpy(line, PUBLIC_PREFIX, PUBLIC_PREFIX_LEN);
		memcpy(line + PUBLIC_PREFIX_LEN, want, PK_HEX_LEN);
		line[PUBLIC_LINE_LEN - 1] = '\n';
		ret = rigi_atomic_write(pub, line, PUBLIC_LINE_LEN);
		if (ret == 0)
			RIGI_INFO("record", "wrote the public key file %s of signing key %s", pub, path);
	}
	if (ret < 0)
		rigi_error_context("signing key %s", path);
	return ret;
}

static pthread_mutex_t open_mutex = PTHREAD_MUTEX_INITIALIZER;

int rigi_signer_open(const char *path, struct rigi_signer **out)
{
	uint8_t seed[RIGI_ED25519_SEED_BYTES];
	struct rigi_signer *s = NULL;
	char *pub = NULL;
	int created = 0, ret;

	if (!out)
		return rigi_fail(RIG_ERR_ARG, "rigi_signer_open: out is required");
	*out = NULL;
	if (!path || !*path)
		return rigi_fail(RIG_ERR_ARG, "rigi_signer_open: the signing key path is empty");
	pub = pub_path_of(path);
	s = malloc(sizeof(*s));
	if (!pub || !s) {
		ret = rigi_fail(RIG_ERR_NOMEM, "open signing key %s: out of memory", path);
		goto out;
	}
	/* Nests of one station (threads or processes) may open it at once for
	 * the first time: one creates it while the others wait. */
	char *dir = rigi_dir_of(path);
	int lock = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	free(dir);
	pthread_mutex_lock(&open_mutex);
	if (lock >= 0)
		flock(lock, LOCK_EX);
	ret = read_or_create(path, pub, seed, &created);
	if (ret == 0)
		ret = rigi_ed25519_seed_keypair(seed, s->pk, s->sk);
	rigi_wipe(seed, sizeof(seed));
	if (ret == 0)
		ret = check_public(path, pub, s->pk);
	if (lock >= 0)
		close(lock);
	pthread_mutex_unlock(&open_mutex);
	if (ret == 0 && created)
		RIGI_INFO("record", "created the station signing key %s (public key in %s)", path, pub);
out:
	free(pub);
	if (ret == 0)
		*out = s;
	else
		rigi_signer_free(s);
	return ret;
}

void rigi_signer_free(struct rigi_signer *s)
{
	if (!s)
		return;
	rigi_wipe(s, sizeof(*s));
	free(s);
}

void rigi_signer_public_hex(const struct rigi_signer *s, char hex[65])
{
	rigi_hex_encode(s->pk, RIGI_ED25519_PK_BYTES, hex);
}

int rigi_signer_sign_hex(const struct rigi_signer *s, const void *msg, size_t len, char sig_hex[129])
{
	uint8_t sig[RIGI_ED25519_SIG_BYTES];
	if (!s || !sig_hex || (!msg && len))
		return rigi_fail(RIG_ERR_ARG, "rigi_signer_sign_hex: signer, message and output are required");
	int ret = rigi_ed25519_sign(s->sk, msg, len, sig);
	if (ret < 0)
		return ret;
	rigi_hex_encode(sig, sizeof(sig), sig_hex);
	return 0;
}

int rigi_verify_hex(const char *public_hex, const void *msg, size_t len, const char *sig_hex)
{
	uint8_t pk[RIGI_ED25519_PK_BYTES], sig[RIGI_ED25519_SIG_BYTES];
	if (!msg && len)
		return rigi_fail(RIG_ERR_ARG, "rigi_verify_hex: no message");
	if (rigi_hex_decode(public_hex, pk, sizeof(pk)) < 0) {
		rigi_error_context("malformed public key");
		return RIG_ERR_FORMAT;
	}
	if (rigi_hex_decode(sig_hex, sig, sizeof(sig)) < 0) {
		rigi_error_context("malformed signature");
		return RIG_ERR_FORMAT;
	}
	return rigi_ed25519_verify(pk, msg, len, sig);
}

int rigi_public_key_load(const char *path, char hex[65])
{
	char buf[PUBLIC_LINE_LEN + 1], digits[PK_HEX_LEN + 1];
	uint8_t pk[RIGI_ED25519_PK_BYTES];
	struct stat st;
	size_t n = 0;
	int ret = 0;

	if (!path || !hex)
		return rigi_fail(RIG_ERR_ARG, "rigi_public_key_load: path and output are required");
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && dir_missing(path))
		return rigi_fail(RIG_ERR_NOT_FOUND, "public key file %s does not exist", path);
	if (fd < 0)
		return rigi_sys_fail(errno, "open public key file", path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		ret = rigi_fail(RIG_ERR_FORMAT, "public key file %s is not a regular file", path);
	else if (read_upto(fd, buf, sizeof(buf), &n) != 0)
		ret = rigi_sys_fail(errno, "read public key file", path);
	close(fd);
	if (ret < 0)
		return ret;
	if (n == PUBLIC_LINE_LEN && memcmp(buf, PUBLIC_PREFIX, PUBLIC_PREFIX_LEN) == 0 &&
	    buf[n - 1] == '\n') {
		memcpy(digits, buf + PUBLIC_PREFIX_LEN, PK_HEX_LEN);
		digits[PK_HEX_LEN] = '\0';
		if (rigi_hex_decode(digits, pk, sizeof(pk)) == 0) {
			rigi_hex_encode(pk, sizeof(pk), hex);
			return 0;
		}
	}
	return rigi_fail(RIG_ERR_FORMAT,
			 "public key file %s: expected exactly one line \"" PUBLIC_PREFIX
			 "<64 hex digits>\"", path);
}
