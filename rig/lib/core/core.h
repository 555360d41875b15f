/* Private helpers of librig shared by every layer: error details, logging
 * shorthands, byte order, and the wrappers of zlib (CRC-32) and libsodium
 * (HMAC-SHA256, random, constant-time compare). Not part of the public API;
 * the simulator uses it too (it is the same project). */
#ifndef RIGI_CORE_H
#define RIGI_CORE_H

#include <stddef.h>
#include <stdint.h>

#include <rig/error.h>
#include <rig/log.h>

/** Record a detail for rig_last_error() on this thread and return @p err,
 *  so that callers write `return rigi_fail(RIG_ERR_X, "...", ...)`. */
int rigi_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Prefix the current thread's error detail with "@p context: ". */
void rigi_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define RIGI_ERROR(dom, ...) rig_log(RIG_LOG_ERROR, dom, __VA_ARGS__)
#define RIGI_WARN(dom, ...) rig_log(RIG_LOG_WARN, dom, __VA_ARGS__)
#define RIGI_INFO(dom, ...) rig_log(RIG_LOG_INFO, dom, __VA_ARGS__)
#define RIGI_DEBUG(dom, ...) rig_log(RIG_LOG_DEBUG, dom, __VA_ARGS__)
#define RIGI_TRACE(dom, ...) rig_log(RIG_LOG_TRACE, dom, __VA_ARGS__)

/** Log @p len bytes as hex at TRACE level (cheap when TRACE is off). */
void rigi_trace_bytes(const char *domain, const char *what, const uint8_t *buf,
		      size_t len);

/* Little-endian byte order helpers (the DUT protocol is little-endian). */
static inline void rigi_put_u16le(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void rigi_put_u32le(uint8_t *p, uint32_t v)
{
	rigi_put_u16le(p, (uint16_t)v);
	rigi_put_u16le(p + 2, (uint16_t)(v >> 16));
}
static inline void rigi_put_u64le(uint8_t *p, uint64_t v)
{
	rigi_put_u32le(p, (uint32_t)v);
	rigi_put_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t rigi_get_u16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t rigi_get_u32le(const uint8_t *p)
{
	return (uint32_t)rigi_get_u16le(p) | ((uint32_t)rigi_get_u16le(p + 2) << 16);
}
static inline uint64_t rigi_get_u64le(const uint8_t *p)
{
	return (uint64_t)rigi_get_u32le(p) | ((uint64_t)rigi_get_u32le(p + 4) << 32);
}

/* ---- crc.c: the only zlib caller ---- */

/** CRC-32 (IEEE 802.3, as zlib crc32(), reflected, init and xorout
 *  0xFFFFFFFF; "123456789" gives 0xCBF43926). */
uint32_t rigi_crc32(const void *buf, size_t len);
/** Continue a CRC-32 over more bytes (start with crc = 0). */
uint32_t rigi_crc32_update(uint32_t crc, const void *buf, size_t len);

/* ---- crypto.c: the only libsodium caller ---- */

#define RIGI_HMAC_BYTES 32u
#define RIGI_KEY_BYTES 32u

/** Initialise libsodium once (thread-safe); 0 or RIG_ERR_INTERNAL. */
int rigi_crypto_init(void);

/** HMAC-SHA256 of the concatenation of @p n_parts buffers with @p key. */
int rigi_hmac_sha256(const uint8_t key[RIGI_KEY_BYTES], const uint8_t *const *parts,
		     const size_t *lens, size_t n_parts, uint8_t out[RIGI_HMAC_BYTES]);

/** Constant-time equality of two @p len-byte buffers: 1 equal, 0 not. */
int rigi_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

/** Fill @p buf with cryptographically random bytes. */
void rigi_random_bytes(uint8_t *buf, size_t len);

/** Wipe a secret from memory (not optimised away). */
void rigi_wipe(void *buf, size_t len);

/** Read a 32-byte key file (raw 32 bytes, or 64 hex digits with optional
 *  trailing newline). Refuses (RIG_ERR_PERMISSION) a file that group or
 *  others can read, or that is not a regular file. The key is never logged. */
int rigi_key_load(const char *path, uint8_t key[RIGI_KEY_BYTES]);

/** Create a fresh random key file with mode 0600 (fails if it exists). */
int rigi_key_create(const char *path);

#endif
