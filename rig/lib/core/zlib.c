/* zlib, the project's only zlib caller: CRC-32, and gzip files (the raw
 * captures kept with a run, docs/reports.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "core/core.h"

uint32_t rigi_crc32_update(uint32_t crc, const void *buf, size_t len)
{
	const Bytef *p = buf;
	/* zlib takes uInt lengths; feed large buffers in pieces. */
	while (len > 0) {
		uInt n = len > 0x40000000u ? 0x40000000u : (uInt)len;
		crc = (uint32_t)crc32(crc, p, n);
		p += n;
		len -= n;
	}
	return crc;
}

uint32_t rigi_crc32(const void *buf, size_t len)
{
	return rigi_crc32_update(0, buf, len);
}

int rigi_gzip(const void *data, size_t len, int level, void **out, size_t *out_len)
{
	z_stream z;
	uLong bound;
	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip header and trailer, as `gzip` writes. */
	if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return rigi_fail(RIG_ERR_NOMEM, "gzip: cannot start the compressor");
	bound = deflateBound(&z, (uLong)len) + 32;
	unsigned char *buf = malloc(bound);
	if (!buf) {
		deflateEnd(&z);
		return rigi_fail(RIG_ERR_NOMEM, "gzip: out of memory for %zu bytes", len);
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = buf;
	z.avail_out = (uInt)bound;
	int ret = deflate(&z, Z_FINISH);
	*out_len = z.total_out;
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		return rigi_fail(RIG_ERR_INTERNAL, "gzip: the compressor did not finish (%d)", ret);
	}
	*out = buf;
	return 0;
}

int rigi_gunzip_file(const char *path, char **out, size_t *out_len, size_t max)
{
	gzFile f = gzopen(path, "rb");
	size_t cap = 1 << 16, n = 0;
	char *buf;
	if (!f)
		return rigi_fail(errno == ENOENT ? RIG_ERR_NOT_FOUND : RIG_ERR_IO, "%s: %s", path,
				 errno ? strerror(errno) : "cannot open");
	buf = malloc(cap + 1);
	for (int got = 1; buf && got > 0;) {
		if (n == cap) {
			char *bigger = cap < max ? realloc(buf, 2 * cap + 1) : NULL;
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		got = gzread(f, buf + n, (unsigned)(cap - n));
		if (got < 0) {
			int zerr;
			const char *why = gzerror(f, &zerr);
			gzclose(f);
			free(buf);
			return rigi_fail(RIG_ERR_FORMAT, "%s: not a valid gzip file: %s", path, why);
		}
		n += (size_t)got;
	}
	gzclose(f);
	if (!buf)
		return rigi_fail(RIG_ERR_NOMEM, "%s: over %zu bytes uncompressed, or out of memory",
				 path, max);
	buf[n] = '\0';
	*out = buf;
	*out_len = n;
	return 0;
}
