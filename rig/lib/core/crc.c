/* CRC-32 through zlib: the project's only zlib caller. */
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
