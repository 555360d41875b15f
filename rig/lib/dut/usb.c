/* The USB transport of the DUT protocol (usb://VID:PID?serial=S or
 * ?path=BUS-PORT.PORT) and USB pen discovery (rig_dut_list): the only
 * libusb caller of the project. A pen is a vendor-class interface 0 with a
 * bulk OUT (0x01) and a bulk IN (0x81) endpoint (docs/protocol.md §7). A
 * request frame goes out as one bulk OUT transfer; one bulk IN transfer of
 * RIGI_TRANSPORT_READ_CAP bytes is kept in flight between reads, so a
 * response that arrives after the client stopped waiting is not lost to a
 * cancellation. Each link has its own libusb context: nests run in their
 * own threads without sharing event handling. SET_INTERFACE at open and
 * close marks the link's start and end for the pen, which cannot see a
 * claim or release (its session ends, protocol.md §5). A pen that leaves the bus
 * ends the link at once with RIG_ERR_DISCONNECTED: transfers in flight
 * complete with NO_DEVICE, and where libusb has hotplug a DEVICE_LEFT
 * callback marks the link before anything is sent. Every libusb error
 * becomes a rig error whose detail says what the operator should do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libusb.h>

#include <rig/clock.h>
#include <rig/dut.h>
#include <rig/rig.h>

#include "core/core.h"
#include "dut/usb.h"

#define DOMAIN "usb"
#define PEN_CLASS 0xFF               /* vendor-specific interface */
#define SLICE_MS 50                  /* event waits, so interrupts are seen */
#define CLOSE_WAIT_MS 500            /* for the IN transfer's cancellation */
#define LIST_TIMEOUT_MS 300          /* IDENTIFY during discovery */
#define MAX_PORT_DEPTH 7             /* USB allows 7 tiers */

/* Where a device sits, for details: bus path and node. */
struct where {
	char path[32];   /* "1-1.4" */
	char node[32];   /* "/dev/bus/usb/001/005" */
};

struct usb_link {
	libusb_context *ctx;
	libusb_device *dev;             /* referenced */
	libusb_device_handle *h;
	struct where w;
	int claimed;
	struct libusb_transfer *in;     /* bulk IN, kept in flight */
	uint8_t in_buf[RIGI_TRANSPORT_READ_CAP];
	int in_busy;                    /* submitted, callback not run yet */
	int in_done;                    /* completed, not consumed */
	size_t in_off;                  /* bytes of in_buf already handed out */
	int gone;                       /* the device left the bus */
	int have_hotplug;
	libusb_hotplug_callback_handle hotplug;
};

/* ---- errors ---- */

static const char udev_advice[] =
	"install fixtures/udev/70-needle-rig.rules as /etc/udev/rules.d/70-needle-rig.rules, "
	"run `udevadm control --reload-rules && udevadm trigger` (or re-plug the pen), and "
	"add the operator to the plugdev group (`usermod -aG plugdev USER`, then log in "
	"again); see docs/usb.md";

int rigi_usb_fail(int lerr, const char *path, const char *node, const char *op)
{
	const char *name = libusb_error_name(lerr);

	switch (lerr) {
	case LIBUSB_ERROR_ACCESS:
		return rigi_fail(RIG_ERR_PERMISSION, "USB device %s (%s): %s: permission denied "
				 "(%s); %s", path, node, op, name, udev_advice);
	case LIBUSB_ERROR_BUSY:
		return rigi_fail(RIG_ERR_BUSY, "USB device %s (%s): %s: another program holds the "
				 "pen (%s); find it with `fuser -v %s` and stop it (another rig "
				 "process?)", path, node, op, name, node);
	case LIBUSB_ERROR_NO_DEVICE:
		return rigi_fail(RIG_ERR_DISCONNECTED, "USB device %s (%s): %s: the pen is gone "
				 "(%s: unplugged, or it reset); re-seat the cable, check that "
				 "`rig devices` lists it, and retry", path, node, op, name);
	case LIBUSB_ERROR_NOT_FOUND:
		return rigi_fail(RIG_ERR_NOT_FOUND, "USB device %s (%s): %s: no such interface "
				 "or endpoint (%s); a pen presents interface 0 with bulk "
				 "endpoints 0x01 and 0x81 (docs/protocol.md §7): check the "
				 "firmware", path, node, op, name);
	case LIBUSB_ERROR_TIMEOUT:
		return rigi_fail(RIG_ERR_TIMEOUT, "USB device %s (%s): %s: timed out (%s); the "
				 "pen does not take or send data: check it is powered and "
				 "power-cycle it", path, node, op, name);
	case LIBUSB_ERROR_PIPE:
		return rigi_fail(RIG_ERR_IO, "USB device %s (%s): %s: endpoint stalled (%s): the "
				 "pen refused the transfer; retry, and power-cycle the pen if it "
				 "persists", path, node, op, name);
	case LIBUSB_ERROR_OVERFLOW:
		return rigi_fail(RIG_ERR_PROTOCOL, "USB device %s (%s): %s: the pen sent more "
				 "than was asked for (%s); its firmware breaks docs/protocol.md "
				 "§7: power-cycle it and report its firmware version", path, node,
				 op, name);
	case LIBUSB_ERROR_INTERRUPTED:
		return rigi_fail(RIG_ERR_INTERRUPTED, "USB device %s: %s: interrupted", path, op);
	case LIBUSB_ERROR_NO_MEM:
		return rigi_fail(RIG_ERR_NOMEM, "USB device %s: %s: out of memory", path, op);
	case LIBUSB_ERROR_NOT_SUPPORTED:
		return rigi_fail(RIG_ERR_UNSUPPORTED, "USB device %s (%s): %s: not supported by "
				 "this platform's libusb (%s)", path, node, op, name);
	case LIBUSB_ERROR_INVALID_PARAM:
		return rigi_fail(RIG_ERR_INTERNAL, "USB device %s: %s: libusb refused the "
				 "arguments (%s)", path, op, name);
	default:
		return rigi_fail(RIG_ERR_IO, "USB device %s (%s): %s: I/O error (%s); check the "
				 "cable and hub, and re-plug the pen", path, node, op, name);
	}
}

static int link_fail(const struct usb_link *l, int lerr, const char *op)
{
	return rigi_usb_fail(lerr, l->w.path, l->w.node, op);
}

/* The libusb error equivalent of a finished transfer's status. */
static int transfer_error(enum libusb_transfer_status st)
{
	switch (st) {
	case LIBUSB_TRANSFER_COMPLETED:
		return 0;
	case LIBUSB_TRANSFER_TIMED_OUT:
		return LIBUSB_ERROR_TIMEOUT;
	case LIBUSB_TRANSFER_STALL:
		return LIBUSB_ERROR_PIPE;
	case LIBUSB_TRANSFER_NO_DEVICE:
		return LIBUSB_ERROR_NO_DEVICE;
	case LIBUSB_TRANSFER_OVERFLOW:
		return LIBUSB_ERROR_OVERFLOW;
	case LIBUSB_TRANSFER_CANCELLED:
		return LIBUSB_ERROR_INTERRUPTED;
	default:
		return LIBUSB_ERROR_IO;
	}
}

/* A stalled endpoint: clear the halt so the next transfer can pass, and
 * report the stall. */
static int stalled(struct usb_link *l, unsigned char ep, const char *op)
{
	int r = libusb_clear_halt(l->h, ep);
	int ret = link_fail(l, LIBUSB_ERROR_PIPE, op);

	if (r == 0)
		rigi_error_context("the halt of endpoint 0x%02x was cleared", ep);
	else
		rigi_error_context("clearing the halt of endpoint 0x%02x failed too (%s)", ep,
				   libusb_error_name(r));
	return ret;
}

/* ---- finding a pen ---- */

static void where_of(libusb_device *dev, struct where *w)
{
	uint8_t ports[MAX_PORT_DEPTH];
	int n = libusb_get_port_numbers(dev, ports, MAX_PORT_DEPTH);
	unsigned bus = libusb_get_bus_number(dev);
	size_t len;

	len = (size_t)snprintf(w->path, sizeof(w->path), "%u", bus);
	for (int i = 0; i < n && len < sizeof(w->path); i++)
		len += (size_t)snprintf(w->path + len, sizeof(w->path) - len, "%c%u",
					i ? '.' : '-', ports[i]);
	snprintf(w->node, sizeof(w->node), "/dev/bus/usb/%03u/%03u", bus,
		 libusb_get_device_address(dev));
}

/* Read the USB serial string of @p dev (opens it briefly). */
static int read_serial(libusb_device *dev, const struct where *w, char *out, size_t cap)
{
	struct libusb_device_descriptor d;
	libusb_device_handle *h = NULL;
	int r = libusb_get_device_descriptor(dev, &d);

	out[0] = '\0';
	if (r == 0 && d.iSerialNumber == 0)
		return rigi_fail(RIG_ERR_PROTOCOL, "USB device %s (%s): no serial number string "
				 "in its device descriptor; open it by path (?path=%s)", w->path,
				 w->node, w->path);
	if (r == 0)
		r = libusb_open(dev, &h);
	if (r == 0)
		r = libusb_get_string_descriptor_ascii(h, d.iSerialNumber, (unsigned char *)out,
						       (int)cap);
	if (h)
		libusb_close(h);
	if (r < 0) {
		out[0] = '\0';
		return rigi_usb_fail(r, w->path, w->node, "read the serial number");
	}
	return 0;
}

/* What find_device() saw while looking. */
struct search {
	int candidates;          /* devices with the VID:PID */
	int matches;
	int refused;             /* a candidate could not be read */
	int refused_err;
	char refused_detail[512];
};

/* Does @p dev match the address? 1 yes, 0 no. */
static int matches(libusb_device *dev, const struct rig_uri *uri, struct search *s)
{
	struct libusb_device_descriptor d;
	struct where w;
	char serial[128];
	int ret;

	if (libusb_get_device_descriptor(dev, &d) != 0 || d.idVendor != uri->vid ||
	    d.idProduct != uri->pid)
		return 0;
	s->candidates++;
	where_of(dev, &w);
	if (uri->usb_path[0] && strcmp(w.path, uri->usb_path) != 0)
		return 0;
	if (!uri->serial[0])
		return 1;
	ret = read_serial(dev, &w, serial, sizeof(serial));
	if (ret < 0) {
		if (!s->refused++) {
			s->refused_err = ret;
			snprintf(s->refused_detail, sizeof(s->refused_detail), "%s",
				 rig_last_error());
		}
		return 0;
	}
	return strcmp(serial, uri->serial) == 0;
}

static int not_found(const struct rig_uri *uri, const struct search *s)
{
	if (s->refused)
		return rigi_fail(s->refused_err, "no readable pen %04x:%04x with serial %s; %d "
				 "could not be read: %s", uri->vid, uri->pid, uri->serial,
				 s->refused, s->refused_detail);
	return rigi_fail(RIG_ERR_NOT_FOUND, "no pen %04x:%04x%s%s%s%s is connected (%d other "
			 "device%s with that VID:PID); list the pens with `rig devices`",
			 uri->vid, uri->pid, uri->serial[0] ? " with serial " : "", uri->serial,
			 uri->usb_path[0] ? " at bus path " : "", uri->usb_path, s->candidates,
			 s->candidates == 1 ? "" : "s");
}

/* The one device the address names, referenced, in *@p out. */
static int find_device(libusb_context *ctx, const struct rig_uri *uri, libusb_device **out)
{
	libusb_device **list = NULL;
	struct search s = {0};
	ssize_t n = libusb_get_device_list(ctx, &list);

	*out = NULL;
	if (n < 0)
		return rigi_usb_fail((int)n, "(all)", "/dev/bus/usb", "list the USB devices");
	for (ssize_t i = 0; i < n; i++) {
		if (!matches(list[i], uri, &s))
			continue;
		if (!s.matches++)
			*out = libusb_ref_device(list[i]);
	}
	libusb_free_device_list(list, 1);
	if (s.matches == 1)
		return 0;
	if (*out)
		libusb_unref_device(*out);
	*out = NULL;
	if (s.matches > 1)
		return rigi_fail(RIG_ERR_ARG, "%d pens match %04x:%04x%s%s; add ?serial=S or "
				 "?path=P to the address (`rig devices` lists them)", s.matches,
				 uri->vid, uri->pid, uri->serial[0] ? " with serial " : "",
				 uri->serial);
	return not_found(uri, &s);
}

/* ---- the link ---- */

/* Interface 0 must be the pen's: vendor class, bulk 0x01 and 0x81. */
static int check_interface(struct usb_link *l)
{
	struct libusb_config_descriptor *cfg = NULL;
	int r = libusb_get_active_config_descriptor(l->dev, &cfg);
	int out = 0, in = 0;
	const struct libusb_interface_descriptor *alt = NULL;

	if (r < 0)
		return link_fail(l, r, "read the configuration descriptor");
	if (cfg->bNumInterfaces > RIGI_USB_INTERFACE &&
	    cfg->interface[RIGI_USB_INTERFACE].num_altsetting > 0)
		alt = &cfg->interface[RIGI_USB_INTERFACE].altsetting[0];
	for (int i = 0; alt && i < alt->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *e = &alt->endpoint[i];
		int bulk = (e->bmAttributes & 0x03) == LIBUSB_TRANSFER_TYPE_BULK;
		out |= bulk && e->bEndpointAddress == RIGI_USB_EP_OUT;
		in |= bulk && e->bEndpointAddress == RIGI_USB_EP_IN;
	}
	r = alt && alt->bInterfaceClass == PEN_CLASS && out && in;
	libusb_free_config_descriptor(cfg);
	if (!r)
		return rigi_fail(RIG_ERR_PROTOCOL, "USB device %s (%s): interface 0 is not a "
				 "pen's (vendor class 0xFF with bulk endpoints 0x01 and 0x81, "
				 "docs/protocol.md §7); is it another device with the same "
				 "VID:PID?", l->w.path, l->w.node);
	return 0;
}

static int LIBUSB_CALL on_left(libusb_context *ctx, libusb_device *dev,
			       libusb_hotplug_event event, void *user)
{
	struct usb_link *l = user;

	(void)ctx;
	if (event == LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT && dev == l->dev && !l->gone) {
		l->gone = 1;
		RIGI_INFO(DOMAIN, "USB device %s (%s): the pen left the bus", l->w.path, l->w.node);
	}
	return 0;
}

static void LIBUSB_CALL on_in_done(struct libusb_transfer *t)
{
	struct usb_link *l = t->user_data;

	l->in_busy = 0;
	l->in_done = 1;
	l->in_off = 0;
	if (t->status == LIBUSB_TRANSFER_NO_DEVICE)
		l->gone = 1;
}

/* Open and claim the device; register for its departure. */
static int attach(struct usb_link *l)
{
	int r = libusb_open(l->dev, &l->h);

	if (r < 0)
		return link_fail(l, r, "open");
	/* No kernel driver should own a vendor interface, but if one does it
	 * is detached while the rig holds the pen and re-attached after. */
	r = libusb_set_auto_detach_kernel_driver(l->h, 1);
	if (r < 0 && r != LIBUSB_ERROR_NOT_SUPPORTED)
		return link_fail(l, r, "set kernel driver auto-detach");
	r = check_interface(l);
	if (r < 0)
		return r;
	r = libusb_claim_interface(l->h, RIGI_USB_INTERFACE);
	if (r < 0)
		return link_fail(l, r, "claim interface 0");
	l->claimed = 1;
	/* A pen cannot see a claim: SET_INTERFACE tells it a link starts. */
	r = libusb_set_interface_alt_setting(l->h, RIGI_USB_INTERFACE, 0);
	if (r < 0)
		return link_fail(l, r, "SET_INTERFACE 0 (start of link)");
	if (libusb_has_capability(LIBUSB_CAP_HAS_HOTPLUG)) {
		struct libusb_device_descriptor d;
		libusb_get_device_descriptor(l->dev, &d);
		r = libusb_hotplug_register_callback(l->ctx, LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT, 0,
						     d.idVendor, d.idProduct,
						     LIBUSB_HOTPLUG_MATCH_ANY, on_left, l,
						     &l->hotplug);
		if (r < 0)
			RIGI_WARN(DOMAIN, "USB device %s: no hotplug notification (%s); an unplug "
				  "is seen at the next transfer", l->w.path, libusb_error_name(r));
		l->have_hotplug = r == 0;
	}
	l->in = libusb_alloc_transfer(0);
	if (!l->in)
		return rigi_fail(RIG_ERR_NOMEM, "USB device %s: out of memory", l->w.path);
	libusb_fill_bulk_transfer(l->in, l->h, RIGI_USB_EP_IN, l->in_buf, sizeof(l->in_buf),
				  on_in_done, l, 0);
	return 0;
}

/* Stop the IN transfer in flight (a released interface must have none). */
static void cancel_in(struct usb_link *l)
{
	int64_t deadline = rig_clock_ms() + CLOSE_WAIT_MS;

	if (!l->in_busy || libusb_cancel_transfer(l->in) == LIBUSB_ERROR_NO_DEVICE)
		return;
	while (l->in_busy && rig_clock_ms() < deadline) {
		struct timeval tv = {0, SLICE_MS * 1000};
		if (libusb_handle_events_timeout_completed(l->ctx, &tv, NULL) < 0)
			break;
	}
	if (l->in_busy)
		RIGI_WARN(DOMAIN, "USB device %s: the bulk IN transfer did not end in %d ms",
			  l->w.path, CLOSE_WAIT_MS);
}

static void usb_close(void *priv)
{
	struct usb_link *l = priv;
	int r;

	if (!l)
		return;
	if (l->in)
		cancel_in(l);
	/* ... and that it ends: the pen closes its authenticated session. */
	if (l->claimed && !l->gone &&
	    (r = libusb_set_interface_alt_setting(l->h, RIGI_USB_INTERFACE, 0)) < 0)
		RIGI_DEBUG(DOMAIN, "USB device %s: SET_INTERFACE at close: %s", l->w.path,
			   libusb_error_name(r));
	if (l->claimed && (r = libusb_release_interface(l->h, RIGI_USB_INTERFACE)) < 0)
		RIGI_DEBUG(DOMAIN, "USB device %s: release interface: %s", l->w.path,
			   libusb_error_name(r));
	if (l->have_hotplug)
		libusb_hotplug_deregister_callback(l->ctx, l->hotplug);
	if (l->h)
		libusb_close(l->h);
	/* After libusb_close() a transfer libusb never completed (device gone)
	 * is no longer in flight and may be freed. */
	libusb_free_transfer(l->in);
	if (l->dev)
		libusb_unref_device(l->dev);
	if (l->ctx)
		libusb_exit(l->ctx);
	free(l);
}

static int new_context(libusb_context **ctx)
{
	int r = libusb_init(ctx);

	if (r < 0)
		return rigi_usb_fail(r, "(none)", "/dev/bus/usb", "initialise libusb; is USB "
				     "usable on this machine (/dev/bus/usb, /sys/bus/usb)?");
	return 0;
}

static int usb_open(const struct rig_uri *uri, int timeout_ms, void **priv)
{
	struct usb_link *l = calloc(1, sizeof(*l));
	int ret;

	(void)timeout_ms; /* opening is local: no wait on the pen */
	if (!l)
		return rigi_fail(RIG_ERR_NOMEM, "out of memory opening a USB pen");
	ret = new_context(&l->ctx);
	if (ret == 0)
		ret = find_device(l->ctx, uri, &l->dev);
	if (ret == 0) {
		where_of(l->dev, &l->w);
		ret = attach(l);
	}
	if (ret < 0) {
		usb_close(l);
		return ret;
	}
	RIGI_DEBUG(DOMAIN, "USB device %s (%s): interface 0 claimed", l->w.path, l->w.node);
	*priv = l;
	return 0;
}

static int gone_fail(const struct usb_link *l, const char *op)
{
	return link_fail(l, LIBUSB_ERROR_NO_DEVICE, op);
}

static int usb_write(void *priv, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct usb_link *l = priv;
	int done = 0;
	int r;

	if (l->gone)
		return gone_fail(l, "bulk OUT");
	/* libusb does not write to an OUT transfer's buffer. */
	r = libusb_bulk_transfer(l->h, RIGI_USB_EP_OUT, (unsigned char *)(uintptr_t)buf,
				 (int)len, &done, (unsigned)(timeout_ms > 0 ? timeout_ms : 1));
	if (r == 0 && (size_t)done == len)
		return 0;
	if (r == LIBUSB_ERROR_PIPE)
		return stalled(l, RIGI_USB_EP_OUT, "bulk OUT");
	if (r == LIBUSB_ERROR_TIMEOUT)
		return rigi_fail(RIG_ERR_TIMEOUT, "USB device %s (%s): bulk OUT: the pen took %d "
				 "of %zu bytes in %d ms; check it is powered, power-cycle it",
				 l->w.path, l->w.node, done, len, timeout_ms);
	if (r == LIBUSB_ERROR_NO_DEVICE)
		l->gone = 1;
	return link_fail(l, r ? r : LIBUSB_ERROR_IO, "bulk OUT");
}

/* Hand out what the finished IN transfer brought; resubmission is left to
 * the next read. */
static int consume_in(struct usb_link *l, uint8_t *buf, size_t cap, size_t *got)
{
	size_t avail = (size_t)l->in->actual_length - l->in_off;
	int r = transfer_error(l->in->status);

	if (r == LIBUSB_ERROR_PIPE) {
		l->in_done = 0;
		return stalled(l, RIGI_USB_EP_IN, "bulk IN");
	}
	if (r < 0) {
		l->in_done = 0;
		return link_fail(l, r, "bulk IN");
	}
	*got = avail < cap ? avail : cap;
	memcpy(buf, l->in_buf + l->in_off, *got);
	l->in_off += *got;
	if (l->in_off >= (size_t)l->in->actual_length)
		l->in_done = 0;
	return 0;
}

static int usb_read(void *priv, uint8_t *buf, size_t cap, int timeout_ms, size_t *got)
{
	struct usb_link *l = priv;
	int64_t deadline = rig_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	int r;

	*got = 0;
	if (!l->in_done && !l->gone && !l->in_busy) {
		r = libusb_submit_transfer(l->in);
		if (r < 0)
			return link_fail(l, r, "submit bulk IN");
		l->in_busy = 1;
	}
	for (;;) {
		int64_t left = deadline - rig_clock_ms();
		struct timeval tv = {0, 0};
		if (l->in_done)
			return consume_in(l, buf, cap, got);
		if (l->gone)
			return gone_fail(l, "bulk IN");
		/* No interrupt check here: a request is bounded by its timeout, and
		 * SAFE must complete after Ctrl-C (the client decides what to send). */
		if (left < 0)
			return 0;
		tv.tv_usec = (left < SLICE_MS ? left : SLICE_MS) * 1000;
		r = libusb_handle_events_timeout_completed(l->ctx, &tv, &l->in_done);
		if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED)
			return link_fail(l, r, "wait for bulk IN");
		if (left == 0 && !l->in_done)
			return 0;
	}
}

const struct rigi_transport_ops rigi_transport_usb = {
	.name = "usb",
	.open = usb_open,
	.write = usb_write,
	.read = usb_read,
	.close = usb_close,
};

/* ---- discovery ---- */

static void entry_error(struct rig_dut_device_info *e, int err)
{
	e->err = err;
	snprintf(e->detail, sizeof(e->detail), "%s", rig_last_error());
}

/* IDENTIFY through the ordinary client, by bus path. */
static void identify_entry(struct rig_dut_device_info *e)
{
	char uri[160];
	struct rig_dut *dut = NULL;
	struct rig_dut_identity id;
	int ret;

	snprintf(uri, sizeof(uri), "usb://%04x:%04x?path=%s&timeout_ms=%d", e->vid, e->pid,
		 e->path, LIST_TIMEOUT_MS);
	ret = rig_dut_open(uri, &dut);
	if (ret == 0)
		ret = rig_dut_identify(dut, &id);
	rig_dut_close(dut);
	if (ret < 0) {
		entry_error(e, ret);
		return;
	}
	e->identified = 1;
	snprintf(e->model, sizeof(e->model), "%s", id.model);
	e->fw_version = id.fw_version;
	if (!e->serial[0])
		snprintf(e->serial, sizeof(e->serial), "%s", id.serial);
}

static void fill_entry(libusb_device *dev, const struct libusb_device_descriptor *d,
		       struct rig_dut_device_info *e)
{
	struct where w;
	int ret;

	memset(e, 0, sizeof(*e));
	where_of(dev, &w);
	e->vid = d->idVendor;
	e->pid = d->idProduct;
	e->bus = libusb_get_bus_number(dev);
	e->address = libusb_get_device_address(dev);
	e->bcd_device = d->bcdDevice;
	snprintf(e->path, sizeof(e->path), "%s", w.path);
	snprintf(e->node, sizeof(e->node), "%s", w.node);
	ret = read_serial(dev, &w, e->serial, sizeof(e->serial));
	if (ret < 0)
		entry_error(e, ret);
}

static int by_path(const void *a, const void *b)
{
	const struct rig_dut_device_info *x = a, *y = b;
	return x->bus != y->bus ? x->bus - y->bus : strcmp(x->path, y->path);
}

int rig_dut_list(unsigned flags, struct rig_dut_device_info *out, size_t cap, size_t *n)
{
	libusb_context *ctx = NULL;
	libusb_device **list = NULL;
	ssize_t count;
	int ret = new_context(&ctx);

	*n = 0;
	if (ret < 0)
		return ret;
	count = libusb_get_device_list(ctx, &list);
	if (count < 0) {
		ret = rigi_usb_fail((int)count, "(all)", "/dev/bus/usb", "list the USB devices");
		goto out;
	}
	for (ssize_t i = 0; i < count; i++) {
		struct libusb_device_descriptor d;
		if (libusb_get_device_descriptor(list[i], &d) != 0 ||
		    d.idVendor != RIG_DUT_USB_VID || d.idProduct != RIG_DUT_USB_PID)
			continue;
		if (*n < cap)
			fill_entry(list[i], &d, &out[*n]);
		(*n)++;
	}
	libusb_free_device_list(list, 1);
	qsort(out, *n < cap ? *n : cap, sizeof(*out), by_path);
	for (size_t i = 0; i < *n && i < cap; i++) {
		struct rig_dut_device_info *e = &out[i];
		if ((flags & RIG_DUT_LIST_IDENTIFY) && e->err != RIG_ERR_PERMISSION)
			identify_entry(e);
		if (e->serial[0])
			snprintf(e->uri, sizeof(e->uri), "usb://%04x:%04x?serial=%s", e->vid,
				 e->pid, e->serial);
		else
			snprintf(e->uri, sizeof(e->uri), "usb://%04x:%04x?path=%s", e->vid,
				 e->pid, e->path);
	}
	RIGI_DEBUG(DOMAIN, "%zu pen(s) on the USB buses", *n);
out:
	libusb_exit(ctx);
	return ret;
}
