/* Shared declarations of the fuzz targets (tests/fuzz/README.md): the
 * libFuzzer entry point every fuzz_<name>.c defines, the oracle check that
 * turns a wrong answer into a crash, and the helpers that give loaders
 * taking a path a private file to read. */
#ifndef RIG_FUZZ_H
#define RIG_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* One input: returns 0 (libFuzzer's contract). A bug aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant (memory-safe but wrong): print and abort, so that
 * libFuzzer saves the input. */
#define FUZZ_CHECK(cond, ...)                                                              \
	do {                                                                               \
		if (!(cond))                                                               \
			fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                 \
	} while (0)

/* An "accepted violation": the code under test accepted what docs/ say must
 * be refused (or a reference decoder disagrees with it). Aborts like
 * FUZZ_CHECK unless RIG_FUZZ_LENIENT=1 is set in the environment, which only
 * prints it, so that a long exploratory run is not stopped at the first
 * known violation. */
#define FUZZ_ORACLE(cond, ...)                                                             \
	do {                                                                               \
		if (!(cond))                                                               \
			fuzz_violation(__FILE__, __LINE__, #cond, __VA_ARGS__);            \
	} while (0)

void fuzz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));
void fuzz_violation(const char *file, int line, const char *cond, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Quiet the library's log (warnings about bad input are expected). */
void fuzz_quiet(void);

/* A private directory for this process, created once (mkdtemp under
 * $TMPDIR or /tmp) and removed at exit with everything in it. */
const char *fuzz_tmpdir(void);

/* Write @p size bytes to <fuzz_tmpdir()>/@p name (mode 0600, replaced) and
 * return its path (static storage, valid until the next call). */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);

/* A NUL-terminated malloc'd copy of @p data (caller frees). */
char *fuzz_strndup(const uint8_t *data, size_t size);

/* IEEE CRC-32 written from docs/protocol.md §2 (bitwise; independent of
 * rig/lib/core/zlib.c and of the simulator's codec). */
uint32_t fuzz_ref_crc32(const uint8_t *p, size_t n);

/* Little-endian helpers for the reference decoders. */
static inline uint16_t fuzz_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t fuzz_u32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline void fuzz_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void fuzz_put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Build a DUT protocol frame (docs/protocol.md §2) into @p f (room for
 * 1036 bytes); returns its size. @p len <= 1024. */
size_t fuzz_frame(uint8_t *f, uint8_t type, uint16_t seq, const uint8_t *payload, size_t len);

#endif
