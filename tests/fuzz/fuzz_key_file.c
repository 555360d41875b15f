/* Fuzz target: the key file parsers: the line key (rigi_key_load,
 * rig/lib/core/crypto.c: 64 hex digits and an optional newline, docs/files.md
 * "Key files"), the station's signing key (rigi_signer_open, rig/lib/records/
 * sign.c) and a public key file (rigi_public_key_load). Each input is
 * written as a 0600 file in a private temp directory. Oracles: a line key
 * is accepted only in the documented form, and decodes to
 * the bytes it spells; a public key loaded is 64 lower-case hex digits; a
 * signer opened signs and its own signature verifies. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>

#include "core/core.h"
#include "fuzz.h"
#include "records/sign.h"

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (uint8_t)tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* docs/files.md: 64 hex digits with an optional trailing newline. */
static int ref_key(const uint8_t *d, size_t n, uint8_t key[32])
{
	if (n == 65 && d[64] == '\n')
		n = 64;
	if (n != 64)
		return 0;
	for (size_t i = 0; i < 32; i++) {
		int hi = hexval(d[2 * i]), lo = hexval(d[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return 0;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[32], want[32];
	char hex[65], sig[129];
	struct rigi_signer *s = NULL;
	const char *path;
	int ok, ref;

	fuzz_quiet();
	path = fuzz_write_file("line.key", data, size);
	ok = rigi_key_load(path, key) == 0;
	ref = ref_key(data, size, want);
	FUZZ_ORACLE(ok == ref, "line key %s, the documented forms say %s",
		    ok ? "accepted" : "refused", ref ? "valid" : "invalid");
	if (ok && ref)
		FUZZ_CHECK(memcmp(key, want, 32) == 0, "line key decoded to other bytes");
	if (rigi_public_key_load(path, hex) == 0) {
		FUZZ_CHECK(strlen(hex) == 64, "public key of %zu digits", strlen(hex));
		for (int i = 0; i < 64; i++)
			FUZZ_CHECK(isxdigit((unsigned char)hex[i]) && !isupper((unsigned char)hex[i]),
				   "public key digit %d", i);
	}
	path = fuzz_write_file("station.key", data, size);
	if (rigi_signer_open(path, &s) == 0) {
		rigi_signer_public_hex(s, hex);
		FUZZ_CHECK(rigi_signer_sign_hex(s, "fuzz", 4, sig) == 0, "signing failed");
		FUZZ_CHECK(rigi_verify_hex(hex, "fuzz", 4, sig) == 0, "own signature refused");
		rigi_signer_free(s);
	}
	rigi_wipe(key, sizeof(key));
	return 0;
}
