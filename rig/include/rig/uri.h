/* Addresses of instruments and pens (exact grammar: docs/files.md
 * "Addresses"; each scheme takes only its own keys, each key once):
 *   modbus-tcp://HOST:PORT?unit=N[&timeout_ms=T]
 *   modbus-rtu:///dev/ttyUSB0?baud=115200&unit=N[&parity=N|E|O&data=8&stop=1]
 *   usb://VVVV:PPPP[?serial=S][&path=BUS-PORT.PORT]   (exactly 4 hex digits)
 *   unix:///path/to/socket[?timeout_ms=T]
 *   tcp://HOST:PORT[?timeout_ms=T]       (DUT stream socket, tests)      */
#ifndef RIG_URI_H
#define RIG_URI_H

#include <stdint.h>

enum rig_uri_scheme {
	RIG_URI_MODBUS_TCP = 1,
	RIG_URI_MODBUS_RTU,
	RIG_URI_USB,
	RIG_URI_UNIX,
	RIG_URI_TCP,
};

#define RIG_URI_TEXT_MAX 256

struct rig_uri {
	enum rig_uri_scheme scheme;
	char host[RIG_URI_TEXT_MAX]; /* tcp schemes */
	uint16_t port;               /* tcp schemes */
	char path[RIG_URI_TEXT_MAX]; /* rtu device, unix socket path */
	int unit;                    /* modbus unit id 0..247, -1 when absent */
	int baud;                    /* rtu, default 115200 */
	char parity;                 /* rtu 'N', 'E' or 'O', default 'N' */
	int data_bits;               /* rtu, default 8 */
	int stop_bits;               /* rtu, default 1 */
	int timeout_ms;              /* response timeout, 0 = default */
	uint16_t vid, pid;           /* usb */
	char serial[64];             /* usb ?serial= */
	char usb_path[64];           /* usb ?path= (bus-port.port) */
	char text[RIG_URI_TEXT_MAX * 2]; /* the URI as given */
};

/** Parse @p text into @p out. Returns 0 or RIG_ERR_FORMAT; on error
 *  rig_last_error() names the address, the byte offset of the first wrong
 *  byte, what is wrong and a right example of the scheme. */
int rig_uri_parse(const char *text, struct rig_uri *out);

/** Name of a scheme as written in URIs ("modbus-tcp", ...). */
const char *rig_uri_scheme_name(enum rig_uri_scheme scheme);

#endif
