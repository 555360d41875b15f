/* Delimiting Modbus RTU requests on a serial line (see rtu_frame.h): the
 * simulated station's RTU server reads whole requests here, so that one
 * server can answer several unit ids on one tty. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "core/core.h"
#include "instr/rtu_frame.h"

#define RTU_BYTE_TIMEOUT_MS 50
#define FC_WRITE_MULTIPLE_COILS 0x0F
#define FC_WRITE_MULTIPLE_REGISTERS 0x10

uint16_t rigi_rtu_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xFFFF;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
	}
	return crc;
}

static int read_full(int fd, uint8_t *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;
		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		r = read(fd, buf + got, n - got);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Discard input until the line has been quiet a moment (a frame we could
 * not delimit, or requests during a link drop). */
void rigi_rtu_drain(int fd)
{
	uint8_t junk[256];
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, 5) > 0 && (p.revents & POLLIN) && read(fd, junk, sizeof(junk)) > 0)
		;
}

/* Read one RTU request; its length follows from the function code. Returns
 * the frame length, or 0 when nothing usable arrived. */
int rigi_rtu_read_request(int fd, uint8_t *buf)
{
	size_t have = 2, total;

	if (read_full(fd, buf, 2, RTU_BYTE_TIMEOUT_MS) < 0)
		return 0;
	if (buf[1] >= 1 && buf[1] <= 6) {
		total = 8;
	} else if (buf[1] == FC_WRITE_MULTIPLE_REGISTERS ||
		   buf[1] == FC_WRITE_MULTIPLE_COILS) {
		if (read_full(fd, buf + have, 5, RTU_BYTE_TIMEOUT_MS) < 0)
			return 0;
		have += 5;
		total = 9u + buf[6]; /* header, byte count, data, CRC */
	} else {
		RIGI_DEBUG("modbus", "server: RTU function 0x%02x not framed; dropped", buf[1]);
		rigi_rtu_drain(fd);
		return 0;
	}
	if (total > RIGI_RTU_MAX_ADU ||
	    read_full(fd, buf + have, total - have, RTU_BYTE_TIMEOUT_MS) < 0)
		return 0;
	if (rigi_rtu_crc16(buf, total - 2) != (uint16_t)(buf[total - 2] | (buf[total - 1] << 8))) {
		RIGI_DEBUG("modbus", "server: RTU request with a bad CRC dropped");
		rigi_rtu_drain(fd);
		return 0;
	}
	rigi_trace_bytes("modbus", "server: RTU request", buf, total);
	return (int)total;
}
