/* The simulated pen as a USB device (see usbpen.h): descriptors as
 * docs/protocol.md §7 specifies them, standard control requests, and the
 * bulk pipe pair carrying DUT protocol bytes to and from the firmware model. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "firmware.h"
#include "usbpen.h"

#define MANUFACTURER "needle-rig"
#define PRODUCT "MN1 microneedling pen"
#define LANGID_EN_US 0x0409u
#define FIFO_CAP (8u * SIM_FW_FRAME_MAX)
#define DEVICE_LEN 18u
#define CONFIG_LEN 32u /* configuration + interface + 2 endpoints */

/* USB 2.0 chapter 9 codes used here. */
#define REQ_GET_STATUS 0x00
#define REQ_CLEAR_FEATURE 0x01
#define REQ_GET_DESCRIPTOR 0x06
#define REQ_GET_CONFIGURATION 0x08
#define REQ_SET_CONFIGURATION 0x09
#define REQ_GET_INTERFACE 0x0A
#define REQ_SET_INTERFACE 0x0B
#define DT_DEVICE 0x01
#define DT_CONFIG 0x02
#define DT_STRING 0x03
#define DT_INTERFACE 0x04
#define DT_ENDPOINT 0x05
#define DT_QUALIFIER 0x06
#define FEATURE_ENDPOINT_HALT 0
#define RECIP_DEVICE 0x00
#define RECIP_INTERFACE 0x01
#define RECIP_ENDPOINT 0x02

struct sim_usbpen {
	pthread_mutex_t lock;
	struct sim_pen *pen;
	unsigned bus, devnum;
	char devnode[32];
	char devpath[256];
	char sysname[64];
	char ports[32];
	unsigned long boots;     /* the pen's boot count when the device enumerated */
	int connected;
	int halt_out, halt_in;
	int hold_out;
	long unplug_after;       /* bulk OUT bytes before an unplug; -1 off */
	uint8_t fifo[FIFO_CAP];  /* response bytes waiting for bulk IN */
	size_t fifo_len;
};

/* Two BCD digits of a version field (bcdDevice carries major.minor). */
static uint8_t bcd(unsigned v)
{
	v %= 100;
	return (uint8_t)((v / 10) << 4 | (v % 10));
}

static void device_descriptor(uint8_t d[DEVICE_LEN])
{
	const uint8_t desc[DEVICE_LEN] = {
		DEVICE_LEN, DT_DEVICE, 0x00, 0x02,        /* bcdUSB 2.00 */
		0x00, 0x00, 0x00, 64,                     /* class per interface; EP0 64 */
		SIM_USBPEN_VID & 0xFF, SIM_USBPEN_VID >> 8,
		SIM_USBPEN_PID & 0xFF, SIM_USBPEN_PID >> 8,
		bcd((SIM_FW_VERSION >> 8) & 0xFF),        /* bcdDevice = firmware major.minor */
		bcd((SIM_FW_VERSION >> 16) & 0xFF),
		1, 2, 3,                                  /* manufacturer, product, serial */
		1,                                        /* one configuration */
	};
	memcpy(d, desc, DEVICE_LEN);
}

static void config_descriptor(uint8_t d[CONFIG_LEN])
{
	static const uint8_t desc[CONFIG_LEN] = {
		9, DT_CONFIG, CONFIG_LEN, 0, 1, 1, 0,
		0xC0, 50,                                 /* self-powered; 100 mA */
		9, DT_INTERFACE, SIM_USBPEN_INTERFACE, 0, 2,
		0xFF, 0x00, 0x01, 0,                      /* vendor class; protocol v1 */
		7, DT_ENDPOINT, SIM_USBPEN_EP_OUT, 0x02,  /* bulk */
		SIM_USBPEN_MAX_PACKET & 0xFF, SIM_USBPEN_MAX_PACKET >> 8, 0,
		7, DT_ENDPOINT, SIM_USBPEN_EP_IN, 0x02,
		SIM_USBPEN_MAX_PACKET & 0xFF, SIM_USBPEN_MAX_PACKET >> 8, 0,
	};
	memcpy(d, desc, CONFIG_LEN);
}

struct sim_usbpen *sim_usbpen_new(struct sim_pen *pen, unsigned bus, unsigned devnum,
				  const char *parent_devpath, const char *ports)
{
	struct sim_usbpen *up;

	if (!pen || bus < 1 || bus > 255 || devnum < 1 || devnum > 127 || !parent_devpath ||
	    strncmp(parent_devpath, "/devices/", 9) != 0 || !ports || !ports[0] ||
	    strlen(ports) >= sizeof(up->ports)) {
		rigi_fail(RIG_ERR_ARG, "simulated USB pen: a pen, bus 1..255, address 1..127, a "
			  "parent hub's sysfs path (/devices/...) and a port path are required");
		return NULL;
	}
	up = calloc(1, sizeof(*up));
	if (!up) {
		rigi_fail(RIG_ERR_NOMEM, "simulated USB pen: out of memory");
		return NULL;
	}
	pthread_mutex_init(&up->lock, NULL);
	up->pen = pen;
	up->bus = bus;
	up->devnum = devnum;
	snprintf(up->ports, sizeof(up->ports), "%s", ports);
	snprintf(up->sysname, sizeof(up->sysname), "%u-%s", bus, ports);
	snprintf(up->devnode, sizeof(up->devnode), "/dev/bus/usb/%03u/%03u", bus, devnum);
	if (snprintf(up->devpath, sizeof(up->devpath), "%s/%s", parent_devpath, up->sysname) >=
	    (int)sizeof(up->devpath)) {
		rigi_fail(RIG_ERR_ARG, "simulated USB pen: parent path %s too long",
			  parent_devpath);
		sim_usbpen_free(up);
		return NULL;
	}
	up->boots = sim_pen_boot_count(pen);
	up->connected = 1;
	up->unplug_after = -1;
	return up;
}

void sim_usbpen_free(struct sim_usbpen *up)
{
	if (!up)
		return;
	pthread_mutex_destroy(&up->lock);
	free(up);
}

const char *sim_usbpen_devnode(const struct sim_usbpen *up)
{
	return up->devnode;
}

const char *sim_usbpen_devpath(const struct sim_usbpen *up)
{
	return up->devpath;
}

const char *sim_usbpen_sysname(const struct sim_usbpen *up)
{
	return up->sysname;
}

/* ---- description for the emulator ---- */

struct text {
	char *buf;
	size_t cap, len;
	int overflow;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->overflow)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= t->cap - t->len)
		t->overflow = 1;
	else
		t->len += (size_t)n;
}

static void put_hex(struct text *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put(t, "%02x", p[i]);
}

/* A sysfs text attribute: the kernel ends each with a newline, which
 * umockdev's format writes as the escape \n (a backslash escapes itself). */
static void put_attr(struct text *t, const char *name, const char *value)
{
	put(t, "A: %s=", name);
	for (const char *c = value; *c; c++)
		put(t, *c == '\\' ? "\\\\" : "%c", *c);
	put(t, "\\n\n");
}

int sim_usbpen_describe(const struct sim_usbpen *up, char *buf, size_t cap)
{
	struct text t = {.buf = buf, .cap = cap};
	const char *serial = sim_pen_serial(up->pen);
	uint8_t dev[DEVICE_LEN], cfg[CONFIG_LEN];
	char v[64];

	device_descriptor(dev);
	config_descriptor(cfg);
	if (cap > 0)
		buf[0] = '\0';
	put(&t, "P: %s\nN: bus/usb/%03u/%03u\n", up->devpath, up->bus, up->devnum);
	put(&t, "E: DEVNAME=%s\nE: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\n",
	    up->devnode);
	put(&t, "E: BUSNUM=%03u\nE: DEVNUM=%03u\nE: PRODUCT=%x/%x/%x\nE: TYPE=0/0/0\n", up->bus,
	    up->devnum, SIM_USBPEN_VID, SIM_USBPEN_PID, rigi_get_u16le(dev + 12));
	put(&t, "E: ID_VENDOR_ID=%04x\nE: ID_MODEL_ID=%04x\nE: ID_SERIAL_SHORT=%s\n",
	    SIM_USBPEN_VID, SIM_USBPEN_PID, serial);
	snprintf(v, sizeof(v), "%u", up->bus);
	put_attr(&t, "busnum", v);
	snprintf(v, sizeof(v), "%u", up->devnum);
	put_attr(&t, "devnum", v);
	put_attr(&t, "devpath", up->ports);
	put_attr(&t, "speed", "480");
	put_attr(&t, "version", " 2.00");
	snprintf(v, sizeof(v), "%04x", SIM_USBPEN_VID);
	put_attr(&t, "idVendor", v);
	snprintf(v, sizeof(v), "%04x", SIM_USBPEN_PID);
	put_attr(&t, "idProduct", v);
	snprintf(v, sizeof(v), "%04x", rigi_get_u16le(dev + 12));
	put_attr(&t, "bcdDevice", v);
	put_attr(&t, "bDeviceClass", "00");
	put_attr(&t, "bMaxPacketSize0", "64");
	put_attr(&t, "bNumConfigurations", "1");
	put_attr(&t, "bNumInterfaces", " 1");
	put_attr(&t, "bConfigurationValue", "1");
	put_attr(&t, "bmAttributes", "c0");
	put_attr(&t, "maxchild", "0");
	put_attr(&t, "manufacturer", MANUFACTURER);
	put_attr(&t, "product", PRODUCT);
	put_attr(&t, "serial", serial);
	put(&t, "H: descriptors=");
	put_hex(&t, dev, sizeof(dev));
	put_hex(&t, cfg, sizeof(cfg));
	put(&t, "\n");
	if (t.overflow)
		return rigi_fail(RIG_ERR_RANGE, "simulated USB pen %s: description longer than %zu "
				 "bytes", up->sysname, cap);
	return 0;
}

/* ---- control endpoint ---- */

/* The pen rebooted since it enumerated: like a real pen it dropped off
 * the bus (it enumerates anew, as another device). Lock held. */
static int rebooted_locked(struct sim_usbpen *up)
{
	if (up->connected && sim_pen_boot_count(up->pen) != up->boots) {
		up->connected = 0;
		up->fifo_len = 0;
		RIGI_INFO("sim", "USB pen %s at %s: the pen reset and left the bus",
			  sim_pen_serial(up->pen), up->sysname);
	}
	return !up->connected;
}


/* String descriptor @p index in UTF-16LE (ASCII only here). */
static size_t string_descriptor(const struct sim_usbpen *up, unsigned index, uint8_t *d)
{
	const char *s = index == 1 ? MANUFACTURER : index == 2 ? PRODUCT
			: index == 3 ? sim_pen_serial(up->pen) : NULL;
	size_t n;

	if (index == 0) {
		d[0] = 4;
		d[1] = DT_STRING;
		rigi_put_u16le(d + 2, LANGID_EN_US);
		return 4;
	}
	if (!s)
		return 0;
	n = strlen(s);
	d[0] = (uint8_t)(2 + 2 * n);
	d[1] = DT_STRING;
	for (size_t i = 0; i < n; i++)
		rigi_put_u16le(d + 2 + 2 * i, (uint8_t)s[i]);
	return 2 + 2 * n;
}

/* GET_DESCRIPTOR: the whole descriptor into @p d; 0 when there is none. */
static size_t get_descriptor(const struct sim_usbpen *up, unsigned type, unsigned index,
			     uint8_t *d)
{
	switch (type) {
	case DT_DEVICE:
		device_descriptor(d);
		return DEVICE_LEN;
	case DT_CONFIG:
		if (index != 0)
			return 0;
		config_descriptor(d);
		return CONFIG_LEN;
	case DT_STRING:
		return string_descriptor(up, index, d);
	case DT_QUALIFIER: {
		/* A high-speed device describes itself at full speed too. */
		static const uint8_t q[10] = {10, DT_QUALIFIER, 0x00, 0x02, 0, 0, 0, 64, 1, 0};
		memcpy(d, q, sizeof(q));
		return sizeof(q);
	}
	default:
		return 0;
	}
}

static int halt_flag(struct sim_usbpen *up, unsigned ep, int **flag)
{
	if (ep == SIM_USBPEN_EP_OUT)
		*flag = &up->halt_out;
	else if (ep == SIM_USBPEN_EP_IN)
		*flag = &up->halt_in;
	else
		return -EINVAL;
	return 0;
}

/* SET_INTERFACE starts a new link (protocol.md §7). Lock held. */
static int set_interface_locked(struct sim_usbpen *up, unsigned iface, unsigned alt)
{
	if (iface != SIM_USBPEN_INTERFACE || alt != 0)
		return -EINVAL;
	if (rebooted_locked(up))
		return -ESHUTDOWN;
	up->fifo_len = 0;
	up->halt_in = up->halt_out = 0;
	sim_pen_link_closed(up->pen);
	return 0;
}

/* Standard requests; anything else STALLs. Lock held. */
static int control_locked(struct sim_usbpen *up, const uint8_t setup[8], uint8_t *data,
			  size_t cap, size_t *actual)
{
	unsigned type = setup[0], req = setup[1];
	unsigned value = rigi_get_u16le(setup + 2), index = rigi_get_u16le(setup + 4);
	size_t length = rigi_get_u16le(setup + 6);
	uint8_t d[256];
	size_t n = 0;
	int *flag;

	if (length > cap)
		return -EOVERFLOW;
	if (type == (0x80 | RECIP_DEVICE) && req == REQ_GET_DESCRIPTOR) {
		n = get_descriptor(up, value >> 8, value & 0xFF, d);
		if (n == 0)
			return -EPIPE;
	} else if ((type & 0x80) && req == REQ_GET_STATUS) {
		d[0] = (type & 0x1F) == RECIP_DEVICE ? 0x01 : 0; /* self-powered */
		d[1] = 0;
		if ((type & 0x1F) == RECIP_ENDPOINT && halt_flag(up, index, &flag) == 0)
			d[0] = (uint8_t)*flag;
		n = 2;
	} else if (type == 0x80 && req == REQ_GET_CONFIGURATION) {
		d[0] = 1;
		n = 1;
	} else if (type == (0x80 | RECIP_INTERFACE) && req == REQ_GET_INTERFACE && index == 0) {
		d[0] = 0;
		n = 1;
	} else if (type == 0 && req == REQ_SET_CONFIGURATION && value == 1) {
		n = 0;
	} else if (type == RECIP_INTERFACE && req == REQ_SET_INTERFACE) {
		if (set_interface_locked(up, index, value) < 0)
			return -EPIPE;
	} else if (type == RECIP_ENDPOINT && req == REQ_CLEAR_FEATURE &&
		   value == FEATURE_ENDPOINT_HALT && halt_flag(up, index, &flag) == 0) {
		*flag = 0;
	} else {
		return -EPIPE;
	}
	*actual = n < length ? n : length;
	if (type & 0x80)
		memcpy(data, d, *actual);
	return 0;
}

int sim_usbpen_control(struct sim_usbpen *up, const uint8_t setup[8], uint8_t *data,
		       size_t cap, size_t *actual)
{
	int ret;

	*actual = 0;
	pthread_mutex_lock(&up->lock);
	ret = rebooted_locked(up) ? -ESHUTDOWN : control_locked(up, setup, data, cap, actual);
	pthread_mutex_unlock(&up->lock);
	return ret;
}

/* ---- bulk endpoints ---- */

/* Leave the bus; @p notify tells the pen its link closed. Lock held. */
static void disconnect_locked(struct sim_usbpen *up, int notify, const char *why)
{
	if (!up->connected)
		return;
	up->connected = 0;
	up->fifo_len = 0;
	if (notify)
		sim_pen_link_closed(up->pen);
	RIGI_INFO("sim", "USB pen %s at %s: %s", sim_pen_serial(up->pen), up->sysname, why);
}

static int bulk_out_locked(struct sim_usbpen *up, const uint8_t *data, size_t len,
			   size_t *taken)
{
	uint8_t out[2 * SIM_FW_FRAME_MAX];
	size_t feed = len, n;
	int cut = 0;

	if (rebooted_locked(up))
		return -ESHUTDOWN;
	if (up->halt_out)
		return -EPIPE;
	if (up->hold_out)
		return 0;
	if (up->unplug_after >= 0 && (long)len >= up->unplug_after) {
		feed = (size_t)up->unplug_after;
		cut = 1;
	} else if (up->unplug_after >= 0) {
		up->unplug_after -= (long)len;
	}
	n = sim_pen_receive(up->pen, data, feed, out, sizeof(out));
	if (cut) {
		up->unplug_after = -1;
		disconnect_locked(up, 1, "unplugged (injected)");
		return -ESHUTDOWN;
	}
	if (rebooted_locked(up))
		return -ESHUTDOWN;
	if (n > sizeof(up->fifo) - up->fifo_len) {
		/* Only a host that never reads can cause it. */
		RIGI_WARN("sim", "USB pen %s: bulk IN buffer full; %zu response bytes dropped",
			  up->sysname, n);
		n = 0;
	}
	memcpy(up->fifo + up->fifo_len, out, n);
	up->fifo_len += n;
	*taken = len;
	return 0;
}

int sim_usbpen_bulk_out(struct sim_usbpen *up, const uint8_t *data, size_t len, size_t *taken)
{
	int ret;

	*taken = 0;
	pthread_mutex_lock(&up->lock);
	ret = bulk_out_locked(up, data, len, taken);
	pthread_mutex_unlock(&up->lock);
	return ret;
}

int sim_usbpen_bulk_in(struct sim_usbpen *up, uint8_t *buf, size_t cap, size_t *got)
{
	int ret = 0;

	*got = 0;
	pthread_mutex_lock(&up->lock);
	/* A posted IN transfer is polled all the time: the pen's host-loss
	 * watchdog runs here too. */
	sim_pen_tick(up->pen);
	if (rebooted_locked(up)) {
		ret = -ESHUTDOWN;
	} else if (up->halt_in) {
		ret = -EPIPE;
	} else if (up->fifo_len > cap && cap % SIM_USBPEN_MAX_PACKET != 0) {
		/* The last packet would not fit the host's buffer. */
		ret = -EOVERFLOW;
	} else if (up->fifo_len > 0) {
		/* The firmware ends each burst with a short (or zero-length)
		 * packet, so a transfer completes with what was waiting. */
		*got = up->fifo_len < cap ? up->fifo_len : cap;
		memcpy(buf, up->fifo, *got);
		memmove(up->fifo, up->fifo + *got, up->fifo_len - *got);
		up->fifo_len -= *got;
	}
	pthread_mutex_unlock(&up->lock);
	return ret;
}

int sim_usbpen_clear_halt(struct sim_usbpen *up, unsigned ep)
{
	int *flag;
	int ret;

	pthread_mutex_lock(&up->lock);
	ret = halt_flag(up, ep, &flag);
	if (ret == 0)
		*flag = 0;
	pthread_mutex_unlock(&up->lock);
	return ret;
}

int sim_usbpen_set_interface(struct sim_usbpen *up, unsigned iface, unsigned alt)
{
	int ret;

	pthread_mutex_lock(&up->lock);
	ret = set_interface_locked(up, iface, alt);
	pthread_mutex_unlock(&up->lock);
	return ret;
}

int sim_usbpen_connected(struct sim_usbpen *up)
{
	int c;

	pthread_mutex_lock(&up->lock);
	c = !rebooted_locked(up);
	pthread_mutex_unlock(&up->lock);
	return c;
}

void sim_usbpen_unplug(struct sim_usbpen *up)
{
	pthread_mutex_lock(&up->lock);
	disconnect_locked(up, 1, "unplugged");
	pthread_mutex_unlock(&up->lock);
}

void sim_usbpen_unplug_after(struct sim_usbpen *up, long n)
{
	pthread_mutex_lock(&up->lock);
	up->unplug_after = n < 0 ? -1 : n;
	if (n == 0)
		disconnect_locked(up, 1, "unplugged");
	pthread_mutex_unlock(&up->lock);
}

void sim_usbpen_stall(struct sim_usbpen *up, unsigned ep)
{
	int *flag;

	pthread_mutex_lock(&up->lock);
	if (halt_flag(up, ep, &flag) == 0)
		*flag = 1;
	pthread_mutex_unlock(&up->lock);
}

void sim_usbpen_hold_out(struct sim_usbpen *up, int on)
{
	pthread_mutex_lock(&up->lock);
	up->hold_out = on;
	pthread_mutex_unlock(&up->lock);
}
