/* Private: delimiting Modbus RTU requests on a serial line, for the
 * simulated station's RTU server (modbus.c). Plain protocol code: it calls
 * no library. */
#ifndef RIGI_INSTR_RTU_FRAME_H
#define RIGI_INSTR_RTU_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* Largest RTU frame (address, PDU of 253 bytes, CRC). */
#define RIGI_RTU_MAX_ADU 256

/** Standard Modbus RTU CRC-16 (reflected poly 0xA001, init 0xFFFF); sent
 *  low byte first. */
uint16_t rigi_rtu_crc16(const uint8_t *p, size_t n);

/** Read one request from @p fd into @p buf (RIGI_RTU_MAX_ADU bytes): its
 *  length follows from the function code (0x01-0x06 fixed, 0x0F/0x10 by
 *  byte count); the CRC is checked. Returns the frame length with the CRC,
 *  or 0 when nothing usable arrived (timeout between bytes, bad CRC, a
 *  function that cannot be delimited; the line is then drained). */
int rigi_rtu_read_request(int fd, uint8_t *buf);

/** Discard input until the line has been quiet for 5 ms. */
void rigi_rtu_drain(int fd);

#endif
