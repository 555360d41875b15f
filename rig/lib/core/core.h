/* Private helpers of librig shared by every layer: error details, logging
 * shorthands, byte order, and the wrappers of zlib (CRC-32) and libsodium
 * (HMAC-SHA256, SHA-256, hex, Ed25519, random, constant-time compare).
 * Not part of the public API; the simulator uses it too (it is the same
 * project). */
#ifndef RIGI_CORE_H
#define RIGI_CORE_H

#include <stdatomic.h>
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

/** This thread's log context ("station SIM-01 nest 2"), put in front of every
 *  message it logs; NULL clears it. The text is copied. */
void rigi_log_set_context(const char *context);

/** The cancel token of this thread (a nest of a station): rig_interrupted()
 *  is true once *@p token is non-zero. NULL: only the process's signals. */
void rigi_set_thread_cancel(const atomic_int *token);
/** This thread's cancel token, or NULL. */
const atomic_int *rigi_thread_cancel(void);

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

/* ---- zlib.c: the only zlib caller ---- */

/** CRC-32 (IEEE 802.3, as zlib crc32(), reflected, init and xorout
 *  0xFFFFFFFF; "123456789" gives 0xCBF43926). */
uint32_t rigi_crc32(const void *buf, size_t len);
/** Continue a CRC-32 over more bytes (start with crc = 0). */
uint32_t rigi_crc32_update(uint32_t crc, const void *buf, size_t len);
/** Compress @p len bytes into a gzip file image (*out malloc'd; the caller
 *  frees it) at @p level 1..9. */
int rigi_gzip(const void *data, size_t len, int level, void **out, size_t *out_len);
/** Read a gzip file (or a plain one: zlib passes it through) whole into
 *  *out (NUL-terminated, malloc'd), refusing more than @p max bytes. */
int rigi_gunzip_file(const char *path, char **out, size_t *out_len, size_t max);

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

/** Fill @p buf with cryptographically random bytes; RIG_ERR_INTERNAL (and
 *  @p buf zeroed) when libsodium cannot initialise. */
int rigi_random_bytes(uint8_t *buf, size_t len);

/** rigi_random_bytes() given sodium_init()'s result: a pure function so that
 *  its failure path is testable. */
int rigi_random_after_init(int sodium_init_result, uint8_t *buf, size_t len);

/** Wipe a secret from memory (not optimised away). */
void rigi_wipe(void *buf, size_t len);

/** Parse a key file's bytes: exactly 64 hex digits, optionally one "\n"
 *  (docs/files.md "Key files"); errors name the first bad byte's offset. */
int rigi_key_parse(const char *text, size_t len, const char *path,
		   uint8_t key[RIGI_KEY_BYTES]);

/** Read a 32-byte key file (rigi_key_parse()). Refuses (RIG_ERR_PERMISSION) a file that group or
 *  others can read, or that is not a regular file. The key is never logged. */
int rigi_key_load(const char *path, uint8_t key[RIGI_KEY_BYTES]);

/** Create a fresh random key file with mode 0600 (fails if it exists). */
int rigi_key_create(const char *path);

#define RIGI_SHA256_BYTES 32u
#define RIGI_ED25519_PK_BYTES 32u
#define RIGI_ED25519_SK_BYTES 64u   /* libsodium's secret key (seed || pk) */
#define RIGI_ED25519_SEED_BYTES 32u /* the RFC 8032 secret key */
#define RIGI_ED25519_SIG_BYTES 64u

/** SHA-256 of @p len bytes. */
void rigi_sha256(const void *data, size_t len, uint8_t out[RIGI_SHA256_BYTES]);

/** Incremental SHA-256 (for hashing files in pieces): init, any number of
 *  updates, final (which wipes the context). The size and alignment are
 *  checked against libsodium's crypto_hash_sha256_state in crypto.c. */
struct rigi_sha256_ctx {
	_Alignas(16) unsigned char opaque[128];
};
void rigi_sha256_init(struct rigi_sha256_ctx *c);
void rigi_sha256_update(struct rigi_sha256_ctx *c, const void *data, size_t len);
void rigi_sha256_final(struct rigi_sha256_ctx *c, uint8_t out[RIGI_SHA256_BYTES]);

/** Lower-case hex of @p len bytes into @p hex (capacity >= 2*len+1). */
void rigi_hex_encode(const uint8_t *bin, size_t len, char *hex);

/** Exactly 2*@p len hex digits (either case) -> bytes; 0 or RIG_ERR_FORMAT
 *  (detail: what was expected; the input itself is never echoed, it may
 *  be a secret). Nothing may follow the digits. */
int rigi_hex_decode(const char *hex, uint8_t *bin, size_t len);

/** New Ed25519 key pair from the system RNG. 0 or RIG_ERR_INTERNAL. */
int rigi_ed25519_keypair(uint8_t pk[RIGI_ED25519_PK_BYTES], uint8_t sk[RIGI_ED25519_SK_BYTES]);

/** The Ed25519 key pair of a 32-byte RFC 8032 secret key (seed), as
 *  libsodium's crypto_sign_seed_keypair. 0 or RIG_ERR_INTERNAL. */
int rigi_ed25519_seed_keypair(const uint8_t seed[RIGI_ED25519_SEED_BYTES],
			      uint8_t pk[RIGI_ED25519_PK_BYTES], uint8_t sk[RIGI_ED25519_SK_BYTES]);

/** Public key of a secret key (derived from its seed half, not copied
 *  from its public half). */
void rigi_ed25519_sk_to_pk(const uint8_t sk[RIGI_ED25519_SK_BYTES], uint8_t pk[RIGI_ED25519_PK_BYTES]);

/** Detached RFC 8032 Ed25519 (pure, not prehashed) signature of @p msg.
 *  0 or RIG_ERR_INTERNAL. */
int rigi_ed25519_sign(const uint8_t sk[RIGI_ED25519_SK_BYTES], const void *msg, size_t len,
		      uint8_t sig[RIGI_ED25519_SIG_BYTES]);

/** 0 when @p sig is valid for @p msg under @p pk, RIG_ERR_SIGNATURE
 *  otherwise (including a key that is not a valid curve point). */
int rigi_ed25519_verify(const uint8_t pk[RIGI_ED25519_PK_BYTES], const void *msg, size_t len,
			const uint8_t sig[RIGI_ED25519_SIG_BYTES]);

#endif
