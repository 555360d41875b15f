/* Helpers shared by the fuzz targets (fuzz.h): oracle failures, a private
 * temp directory for loaders that take a path, the reference CRC-32 and
 * frame builder written from docs/protocol.md. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rig/log.h>

#include "fuzz.h"

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void fuzz_violation(const char *file, int line, const char *cond, const char *fmt, ...)
{
	const char *lenient = getenv("RIG_FUZZ_LENIENT");
	va_list ap;

	fprintf(stderr, "FUZZ ACCEPTED VIOLATION %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (!lenient || strcmp(lenient, "1") != 0)
		abort();
}

void fuzz_quiet(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	/* Silent unless RIG_DEBUG asks: the targets feed bad input on purpose,
	 * and the warnings about it would drown libFuzzer's output. */
	if (!getenv("RIG_DEBUG"))
		rig_log_set_level(RIG_LOG_NONE);
}

static char tmpdir[512];

static void remove_tmpdir(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(tmpdir);
}

const char *fuzz_tmpdir(void)
{
	const char *base;

	if (tmpdir[0])
		return tmpdir;
	base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/rig-fuzz-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(remove_tmpdir);
	return tmpdir;
}

const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[1024];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", fuzz_tmpdir(), name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror("fuzz: open");
		abort();
	}
	while (size > 0) {
		ssize_t n = write(fd, data, size);
		if (n <= 0) {
			perror("fuzz: write");
			abort();
		}
		data += n;
		size -= (size_t)n;
	}
	close(fd);
	return path;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

uint32_t fuzz_ref_crc32(const uint8_t *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return crc ^ 0xFFFFFFFFu;
}

size_t fuzz_frame(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *payload, size_t len)
{
	f[0] = 0xA5;
	f[1] = 0x5A;
	f[2] = 0x01;
	f[3] = type;
	fuzz_put16(f + 4, seq);
	fuzz_put16(f + 6, (uint16_t)len);
	if (len)
		memcpy(f + 8, payload, len);
	fuzz_put32(f + 8 + len, fuzz_ref_crc32(f + 2, 6 + len));
	return 12 + len;
}
