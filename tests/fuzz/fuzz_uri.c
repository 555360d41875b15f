/* Fuzz target: the address parser (rig_uri_parse, rig/lib/core/uri.c).
 * Oracles (rig/uri.h): an accepted URI keeps its text, has a known scheme,
 * NUL-terminated fields, a unit of -1 or 0..247, parity N/E/O, and parsing
 * its text again gives the same result. */
#include <stdlib.h>
#include <string.h>

#include <rig/rig.h>
#include <rig/uri.h>

#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rig_uri a, b;
	char *text;

	fuzz_quiet();
	if (memchr(data, 0, size))
		return 0; /* a C string cannot carry it */
	text = fuzz_strndup(data, size);
	memset(&a, 0x55, sizeof(a));
	if (rig_uri_parse(text, &a) == 0) {
		FUZZ_CHECK(a.scheme >= RIG_URI_MODBUS_TCP && a.scheme <= RIG_URI_TCP, "scheme %d",
			   (int)a.scheme);
		FUZZ_CHECK(memchr(a.host, 0, sizeof(a.host)) && memchr(a.path, 0, sizeof(a.path)) &&
			   memchr(a.serial, 0, sizeof(a.serial)) &&
			   memchr(a.usb_path, 0, sizeof(a.usb_path)) &&
			   memchr(a.text, 0, sizeof(a.text)), "unterminated field");
		FUZZ_CHECK(strcmp(a.text, text) == 0, "text '%s' for input '%s'", a.text, text);
		FUZZ_CHECK(a.unit == -1 || (a.unit >= 0 && a.unit <= 247), "unit %d", a.unit);
		FUZZ_CHECK(a.scheme != RIG_URI_MODBUS_RTU || a.parity == 'N' || a.parity == 'E' ||
			   a.parity == 'O', "parity 0x%02x", (unsigned char)a.parity);
		FUZZ_CHECK(a.timeout_ms >= 0, "timeout %d", a.timeout_ms);
		memset(&b, 0x55, sizeof(b));
		FUZZ_CHECK(rig_uri_parse(a.text, &b) == 0, "own text refused: %s", rig_last_error());
		FUZZ_CHECK(b.scheme == a.scheme && !strcmp(b.host, a.host) && b.port == a.port &&
			   !strcmp(b.path, a.path) && b.unit == a.unit && b.baud == a.baud &&
			   b.parity == a.parity && b.data_bits == a.data_bits &&
			   b.stop_bits == a.stop_bits && b.timeout_ms == a.timeout_ms &&
			   b.vid == a.vid && b.pid == a.pid && !strcmp(b.serial, a.serial) &&
			   !strcmp(b.usb_path, a.usb_path), "reparse differs");
	} else {
		FUZZ_CHECK(rig_last_error()[0] != '\0', "refusal without a detail");
	}
	free(text);
	return 0;
}
