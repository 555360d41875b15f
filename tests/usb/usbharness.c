/* The umockdev side of the USB test bus (usbharness.h): the testbed with its
 * hubs, and the usbfs ioctls libusb issues on a pen's device node, answered
 * as the kernel would (URB submission, completion, reaping and discarding;
 * interface claims; halts) on top of the device model in rig/sim/usbpen.c.
 * The ioctl handler runs on the testbed's thread and never blocks: a bulk
 * IN URB stays pending until the pen has response bytes. */
#include <errno.h>
#include <linux/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/usb/ch9.h>
#include <umockdev.h>

#include "usbharness.h"
#include "usbpen.h"

#define BUS 1
#define ROOT_DEVPATH "/devices/pci0000:00/0000:00:14.0/usb1"
#define HUB_DEVPATH ROOT_DEVPATH "/1-1"
#define FIRST_PEN_DEVNUM 3
#define DESCRIBE_CAP 8192

/* One submitted URB: the client's structure and buffer as umockdev resolved
 * them (written back to the client when reaped). */
struct urb {
	struct urb *next;
	UMockdevIoctlData *data;        /* our reference; the buffer is its child */
	struct usbdevfs_urb *u;         /* data->data */
	UMockdevIoctlClient *client;    /* the open file that submitted it */
	int port;
	unsigned devnum;                /* the device (plug) it was sent to */
	int done;
};

struct port {
	struct sim_pen *pen;            /* NULL: empty port */
	struct sim_usbpen *dev;         /* the present plug's device, or NULL */
	unsigned devnum;
	int in_sysfs;                   /* the testbed holds its description */
	UMockdevIoctlClient *owner;     /* claimed interface 0 */
};

/* A blocking REAPURB waiting for a completion. */
struct reaper {
	struct reaper *next;
	UMockdevIoctlClient *client;
	UMockdevIoctlData *arg;
};

struct usbh {
	pthread_mutex_t lock;
	UMockdevTestbed *tb;
	UMockdevIoctlBase *handler;
	unsigned next_devnum;
	struct port ports[USBH_PORTS + 1]; /* 1-based */
	struct urb *urbs;                  /* in submission order */
	struct reaper *reapers;
	int debug;
};

static const char root_hub[] =
	"P: " ROOT_DEVPATH "\nN: bus/usb/001/001\nE: DEVNAME=/dev/bus/usb/001/001\n"
	"E: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\nE: BUSNUM=001\nE: DEVNUM=001\n"
	"A: busnum=1\\n\nA: devnum=1\\n\nA: devpath=0\\n\nA: speed=480\\n\nA: maxchild=1\\n\n"
	"A: bConfigurationValue=1\\n\nA: idVendor=1d6b\\n\nA: idProduct=0002\\n\n"
	"H: descriptors=12010002090001406b1d020006060302010109021900010100e0000904000001090000"
	"000705810304000c\n";

static const char ext_hub[] =
	"P: " HUB_DEVPATH "\nN: bus/usb/001/002\nE: DEVNAME=/dev/bus/usb/001/002\n"
	"E: DEVTYPE=usb_device\nE: DRIVER=usb\nE: SUBSYSTEM=usb\nE: BUSNUM=001\nE: DEVNUM=002\n"
	"A: busnum=1\\n\nA: devnum=2\\n\nA: devpath=1\\n\nA: speed=480\\n\nA: maxchild=7\\n\n"
	"A: bConfigurationValue=1\\n\nA: idVendor=05e3\\n\nA: idProduct=0608\\n\n"
	"H: descriptors=1201000209000140e30508066085000100010902190001010080320904000001090000"
	"000705810301000c\n";

int usbh_available(void)
{
	/* umockdev_in_mock_environment() caches its first answer, which is
	 * "no" before a testbed exists: look for the preload library itself. */
	const char *preload = getenv("LD_PRELOAD");
	return preload && strstr(preload, "libumockdev-preload") != NULL;
}

static void complain(const char *what, GError *err)
{
	fprintf(stderr, "usbharness: %s: %s\n", what, err ? err->message : "failed");
	if (err)
		g_error_free(err);
}

/* ---- URBs ---- */

static void urb_free(struct urb *r)
{
	g_object_unref(r->data);
	free(r);
}

/* Finish @p r with @p status (a negative errno, 0) and @p actual bytes. */
static void urb_finish(struct urb *r, int status, size_t actual)
{
	r->u->status = status;
	r->u->actual_length = (int)actual;
	r->done = 1;
}

static struct urb *first_done(struct usbh *h, UMockdevIoctlClient *client, int unlink)
{
	for (struct urb **pp = &h->urbs; *pp; pp = &(*pp)->next) {
		struct urb *r = *pp;
		if (r->client != client || !r->done)
			continue;
		if (unlink)
			*pp = r->next;
		return r;
	}
	return NULL;
}

/* Hand @p r to the reaping client through its pointer argument. */
static void deliver(UMockdevIoctlClient *client, UMockdevIoctlData *arg, struct urb *r)
{
	GError *err = NULL;
	UMockdevIoctlData *p = umockdev_ioctl_data_resolve(arg, 0, sizeof(void *), &err);

	if (!p) {
		complain("resolve REAPURB argument", err);
		umockdev_ioctl_client_complete(client, -1, EFAULT);
	} else {
		umockdev_ioctl_data_set_ptr(p, 0, r->data);
		g_object_unref(p);
		umockdev_ioctl_client_complete(client, 0, 0);
	}
	urb_free(r);
}

/* Complete waiting REAPURB calls that now have a URB. Lock held. */
static void wake_reapers(struct usbh *h)
{
	for (struct reaper **pp = &h->reapers; *pp;) {
		struct reaper *w = *pp;
		struct urb *r = first_done(h, w->client, 1);
		if (!r) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		deliver(w->client, w->arg, r);
		g_object_unref(w->arg);
		g_object_unref(w->client);
		free(w);
	}
}

/* Fill pending bulk IN URBs of @p port, oldest first, from the pen. */
static void pump_in(struct usbh *h, int port)
{
	struct port *p = &h->ports[port];

	for (struct urb *r = h->urbs; r && p->dev; r = r->next) {
		size_t got = 0;
		int st;
		if (r->done || r->port != port || r->devnum != p->devnum ||
		    r->u->endpoint != SIM_USBPEN_EP_IN)
			continue;
		st = sim_usbpen_bulk_in(p->dev, r->u->buffer, (size_t)r->u->buffer_length, &got);
		if (st == 0 && got == 0)
			break;
		urb_finish(r, st, got);
	}
}

/* The port's device left the bus (unplug, injected cut, pen reset): every
 * URB in flight to it ends with -ESHUTDOWN, as the host controller does. */
static void gone_locked(struct usbh *h, int port)
{
	struct port *p = &h->ports[port];

	for (struct urb *r = h->urbs; r; r = r->next)
		if (!r->done && r->port == port && r->devnum == p->devnum)
			urb_finish(r, -ESHUTDOWN, 0);
	p->owner = NULL;
	wake_reapers(h);
}

/* ---- ioctls ---- */

/* The port whose present, connected device has node @p node; 0 if none. */
static int port_of(struct usbh *h, const char *node)
{
	for (int i = 1; i <= USBH_PORTS; i++) {
		struct port *p = &h->ports[i];
		if (p->dev && !strcmp(node, sim_usbpen_devnode(p->dev))) {
			if (!sim_usbpen_connected(p->dev)) {
				gone_locked(h, i);
				return 0;
			}
			return i;
		}
	}
	return 0;
}

/* Resolve the ioctl argument as a @p len-byte structure (caller unrefs). */
static UMockdevIoctlData *arg_struct(UMockdevIoctlData *arg, size_t len)
{
	GError *err = NULL;
	UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, len, &err);
	if (!d)
		complain("resolve ioctl argument", err);
	return d;
}

static int submit_bulk(struct usbh *h, int port, struct urb *r)
{
	struct port *p = &h->ports[port];
	size_t taken = 0;
	int st;

	if (r->u->endpoint == SIM_USBPEN_EP_IN) {
		pump_in(h, port);
		return 0;
	}
	if (r->u->endpoint != SIM_USBPEN_EP_OUT)
		return -ENOENT;
	st = sim_usbpen_bulk_out(p->dev, r->u->buffer, (size_t)r->u->buffer_length, &taken);
	if (st < 0 || taken > 0)
		urb_finish(r, st, taken);
	if (!sim_usbpen_connected(p->dev))
		gone_locked(h, port);
	else
		pump_in(h, port);
	return 0;
}

static int submit_control(struct usbh *h, int port, struct urb *r)
{
	size_t actual = 0;
	int st;

	if (r->u->endpoint != 0 || r->u->buffer_length < 8)
		return -EINVAL;
	st = sim_usbpen_control(h->ports[port].dev, r->u->buffer, (uint8_t *)r->u->buffer + 8,
				(size_t)r->u->buffer_length - 8, &actual);
	urb_finish(r, st, actual);
	return 0;
}

static int do_submit(struct usbh *h, int port, UMockdevIoctlClient *client,
		     UMockdevIoctlData *arg)
{
	struct port *p = &h->ports[port];
	GError *err = NULL;
	UMockdevIoctlData *ud = arg_struct(arg, sizeof(struct usbdevfs_urb));
	UMockdevIoctlData *bd = NULL;
	struct urb *r;
	int ret;

	if (!ud)
		return -EFAULT;
	r = calloc(1, sizeof(*r));
	r->data = ud;
	r->u = (struct usbdevfs_urb *)ud->data;
	r->client = client;
	r->port = port;
	r->devnum = p->devnum;
	if (r->u->buffer_length > 0) {
		bd = umockdev_ioctl_data_resolve(ud, offsetof(struct usbdevfs_urb, buffer),
						 (gsize)r->u->buffer_length, &err);
		if (!bd) {
			complain("resolve URB buffer", err);
			urb_free(r);
			return -EFAULT;
		}
		g_object_unref(bd); /* the URB keeps its buffer */
	}
	if (r->u->type == USBDEVFS_URB_TYPE_BULK && p->owner && p->owner != client)
		ret = -EBUSY;
	else if (r->u->type == USBDEVFS_URB_TYPE_BULK)
		ret = submit_bulk(h, port, r);
	else if (r->u->type == USBDEVFS_URB_TYPE_CONTROL)
		ret = submit_control(h, port, r);
	else
		ret = -EINVAL;
	if (ret < 0) {
		urb_free(r);
		return ret;
	}
	r->next = NULL;
	{
		struct urb **pp = &h->urbs;
		while (*pp)
			pp = &(*pp)->next;
		*pp = r;
	}
	wake_reapers(h);
	return 0;
}

static int do_discard(struct usbh *h, UMockdevIoctlClient *client, UMockdevIoctlData *arg)
{
	unsigned long id = *(unsigned long *)arg->data;

	for (struct urb *r = h->urbs; r; r = r->next)
		if (r->client == client && !r->done && r->data->client_addr == id) {
			urb_finish(r, -ENOENT, 0);
			wake_reapers(h);
			return 0;
		}
	return -EINVAL;
}

/* REAPURB(NDELAY): 1 when answered here, 0 when deferred (a blocking reap
 * with nothing done yet). Allowed after a disconnect, as in the kernel. */
static int do_reap(struct usbh *h, int port, UMockdevIoctlClient *client,
		   UMockdevIoctlData *arg, int block)
{
	struct urb *r;

	if (port)
		pump_in(h, port);
	r = first_done(h, client, 1);
	if (r) {
		deliver(client, arg, r);
		return 1;
	}
	if (!port || !block) {
		umockdev_ioctl_client_complete(client, -1, port ? EAGAIN : ENODEV);
		return 1;
	}
	{
		struct reaper *w = calloc(1, sizeof(*w));
		w->client = g_object_ref(client);
		w->arg = g_object_ref(arg);
		w->next = h->reapers;
		h->reapers = w;
	}
	return 0;
}

/* CLAIMINTERFACE, DISCONNECT_CLAIM (no kernel driver is ever bound to the
 * pen), RELEASEINTERFACE: host-side bookkeeping, nothing on the bus. */
static int do_claim(struct usbh *h, int port, UMockdevIoctlClient *client,
		    UMockdevIoctlData *arg, unsigned long req)
{
	struct port *p = &h->ports[port];
	size_t len = req == USBDEVFS_DISCONNECT_CLAIM ? sizeof(struct usbdevfs_disconnect_claim)
						       : sizeof(unsigned int);
	UMockdevIoctlData *d = arg_struct(arg, len);
	unsigned iface;

	if (!d)
		return -EFAULT;
	iface = *(unsigned int *)d->data; /* first field of every variant */
	g_object_unref(d);
	if (iface != SIM_USBPEN_INTERFACE)
		return -EINVAL;
	if (req == USBDEVFS_RELEASEINTERFACE) {
		if (p->owner != client)
			return -EINVAL;
		p->owner = NULL;
		return 0;
	}
	if (p->owner && p->owner != client)
		return -EBUSY;
	p->owner = client;
	return 0;
}

static int do_simple(struct usbh *h, int port, UMockdevIoctlClient *client,
		     UMockdevIoctlData *arg, unsigned long req, long *res)
{
	struct port *p = &h->ports[port];
	UMockdevIoctlData *d;
	int ret = 0;

	switch (req) {
	case USBDEVFS_GET_CAPABILITIES:
		if (!(d = arg_struct(arg, sizeof(uint32_t))))
			return -EFAULT;
		*(uint32_t *)d->data = USBDEVFS_CAP_ZERO_PACKET | USBDEVFS_CAP_BULK_CONTINUATION |
				       USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
				       USBDEVFS_CAP_REAP_AFTER_DISCONNECT;
		g_object_unref(d);
		return 0;
	case USBDEVFS_CLEAR_HALT:
		if (!(d = arg_struct(arg, sizeof(unsigned int))))
			return -EFAULT;
		ret = sim_usbpen_clear_halt(p->dev, *(unsigned int *)d->data);
		g_object_unref(d);
		return ret;
	case USBDEVFS_SETINTERFACE:
		if (!(d = arg_struct(arg, sizeof(struct usbdevfs_setinterface))))
			return -EFAULT;
		ret = sim_usbpen_set_interface(p->dev,
					       ((struct usbdevfs_setinterface *)d->data)->interface,
					       ((struct usbdevfs_setinterface *)d->data)->altsetting);
		g_object_unref(d);
		return ret;
	case USBDEVFS_RESET:
		/* A bus reset restarts the pen's USB function as a new link. */
		return sim_usbpen_set_interface(p->dev, SIM_USBPEN_INTERFACE, 0);
	case USBDEVFS_RESETEP:
		return 0;
	case USBDEVFS_GET_SPEED:
		*res = USB_SPEED_HIGH;
		return 0;
	case USBDEVFS_GETDRIVER:
	case USBDEVFS_IOCTL:
		return -ENODATA; /* no kernel driver bound, none to attach */
	default:
		if (h->debug)
			fprintf(stderr, "usbharness: ioctl 0x%lx on %s not emulated\n", req,
				sim_usbpen_devnode(p->dev));
		(void)client;
		return -ENOTTY;
	}
}

static void leave_sysfs(struct usbh *h, int port);

static gboolean on_ioctl(UMockdevIoctlBase *base, UMockdevIoctlClient *client, gpointer user)
{
	struct usbh *h = user;
	unsigned long req = umockdev_ioctl_client_get_request(client);
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	long res = 0;
	int port, ret;

	(void)base;
	pthread_mutex_lock(&h->lock);
	port = port_of(h, umockdev_ioctl_client_get_devnode(client));
	if (req == USBDEVFS_REAPURB || req == USBDEVFS_REAPURBNDELAY) {
		do_reap(h, port, client, arg, req == USBDEVFS_REAPURB);
		pthread_mutex_unlock(&h->lock);
		return TRUE;
	}
	if (!port)
		ret = -ENODEV;
	else if (req == USBDEVFS_SUBMITURB)
		ret = do_submit(h, port, client, arg);
	else if (req == USBDEVFS_DISCARDURB)
		ret = do_discard(h, client, arg);
	else if (req == USBDEVFS_CLAIMINTERFACE || req == USBDEVFS_RELEASEINTERFACE ||
		 req == USBDEVFS_DISCONNECT_CLAIM)
		ret = do_claim(h, port, client, arg, req);
	else
		ret = do_simple(h, port, client, arg, req, &res);
	pthread_mutex_unlock(&h->lock);
	umockdev_ioctl_client_complete(client, ret < 0 ? -1 : res, ret < 0 ? -ret : 0);
	if (port && !usbh_connected(h, port))
		leave_sysfs(h, port); /* it left the bus during this ioctl */
	return TRUE;
}

/* An open file of a pen's node closed: the kernel releases its claim and
 * drops its URBs. */
static void on_client_closed(GObject *obj, GParamSpec *pspec, gpointer user)
{
	struct usbh *h = user;
	UMockdevIoctlClient *client = UMOCKDEV_IOCTL_CLIENT(obj);

	(void)pspec;
	if (umockdev_ioctl_client_get_connected(client))
		return;
	pthread_mutex_lock(&h->lock);
	for (int i = 1; i <= USBH_PORTS; i++)
		if (h->ports[i].owner == client)
			h->ports[i].owner = NULL;
	for (struct urb **pp = &h->urbs; *pp;) {
		struct urb *r = *pp;
		if (r->client == client) {
			*pp = r->next;
			urb_free(r);
		} else {
			pp = &r->next;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

static void on_client_connected(UMockdevIoctlBase *base, UMockdevIoctlClient *client,
				gpointer user)
{
	(void)base;
	g_signal_connect(client, "notify::connected", G_CALLBACK(on_client_closed), user);
}

/* ---- the bus ---- */

struct usbh *usbh_new(void)
{
	struct usbh *h = calloc(1, sizeof(*h));
	GError *err = NULL;

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->debug = getenv("USBH_DEBUG") != NULL;
	h->next_devnum = FIRST_PEN_DEVNUM;
	h->tb = umockdev_testbed_new();
	h->handler = umockdev_ioctl_base_new();
	g_signal_connect(h->handler, "handle-ioctl", G_CALLBACK(on_ioctl), h);
	g_signal_connect(h->handler, "client-connected", G_CALLBACK(on_client_connected), h);
	if (!umockdev_testbed_add_from_string(h->tb, root_hub, &err) ||
	    !umockdev_testbed_add_from_string(h->tb, ext_hub, &err)) {
		complain("add the hubs", err);
		usbh_free(h);
		return NULL;
	}
	return h;
}

static int check_port(const struct usbh *h, int port, const char *what)
{
	if (port < 1 || port > USBH_PORTS || !h->ports[port].pen) {
		fprintf(stderr, "usbharness: %s: port %d has no pen\n", what, port);
		return -1;
	}
	return 0;
}

/* Take the port's device off the testbed (remove uevent first, while its
 * properties still exist). Lock not held. */
static void leave_sysfs(struct usbh *h, int port)
{
	struct port *p = &h->ports[port];
	char devpath[300], node[32];

	pthread_mutex_lock(&h->lock);
	if (!p->in_sysfs || !p->dev) {
		pthread_mutex_unlock(&h->lock);
		return;
	}
	p->in_sysfs = 0;
	snprintf(devpath, sizeof(devpath), "/sys%s", sim_usbpen_devpath(p->dev));
	snprintf(node, sizeof(node), "%s", sim_usbpen_devnode(p->dev));
	pthread_mutex_unlock(&h->lock);
	/* umockdev builds the uevent from the device's (emulated) sysfs, which
	 * only a preloaded process sees. */
	if (usbh_available())
		umockdev_testbed_uevent(h->tb, devpath, "remove");
	umockdev_testbed_remove_device(h->tb, devpath);
	umockdev_testbed_detach_ioctl(h->tb, node, NULL);
}

static int enumerate(struct usbh *h, int port)
{
	struct port *p = &h->ports[port];
	struct sim_usbpen *dev;
	char ports[8], *text = malloc(DESCRIBE_CAP);
	GError *err = NULL;
	unsigned devnum;

	snprintf(ports, sizeof(ports), "1.%d", port);
	pthread_mutex_lock(&h->lock);
	devnum = h->next_devnum;
	dev = sim_usbpen_new(p->pen, BUS, devnum, HUB_DEVPATH, ports);
	if (!text || !dev || sim_usbpen_describe(dev, text, DESCRIBE_CAP) < 0) {
		pthread_mutex_unlock(&h->lock);
		fprintf(stderr, "usbharness: plug port %d failed\n", port);
		sim_usbpen_free(dev);
		free(text);
		return -1;
	}
	h->next_devnum = h->next_devnum >= 127 ? FIRST_PEN_DEVNUM : h->next_devnum + 1;
	sim_usbpen_free(p->dev);
	p->dev = dev;
	p->devnum = devnum;
	p->owner = NULL;
	pthread_mutex_unlock(&h->lock);
	/* The handler first, so that the node works when the add uevent goes out. */
	if (!umockdev_testbed_attach_ioctl(h->tb, sim_usbpen_devnode(dev), h->handler, &err) ||
	    !umockdev_testbed_add_from_string(h->tb, text, &err)) {
		complain("add the pen's device", err);
		free(text);
		return -1;
	}
	free(text);
	pthread_mutex_lock(&h->lock);
	p->in_sysfs = 1;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int usbh_plug(struct usbh *h, int port, struct sim_pen *pen)
{
	if (port < 1 || port > USBH_PORTS || !pen || h->ports[port].pen) {
		fprintf(stderr, "usbharness: plug: port %d is not a free port 1..%d\n", port,
			USBH_PORTS);
		return -1;
	}
	h->ports[port].pen = pen;
	if (enumerate(h, port) == 0)
		return 0;
	h->ports[port].pen = NULL;
	return -1;
}

void usbh_unplug(struct usbh *h, int port)
{
	if (check_port(h, port, "unplug") < 0)
		return;
	pthread_mutex_lock(&h->lock);
	if (h->ports[port].dev) {
		sim_usbpen_unplug(h->ports[port].dev);
		gone_locked(h, port);
	}
	pthread_mutex_unlock(&h->lock);
	leave_sysfs(h, port);
}

int usbh_replug(struct usbh *h, int port)
{
	if (check_port(h, port, "replug") < 0)
		return -1;
	usbh_unplug(h, port);
	return enumerate(h, port);
}

void usbh_remove(struct usbh *h, int port)
{
	if (check_port(h, port, "remove") < 0)
		return;
	usbh_unplug(h, port);
	pthread_mutex_lock(&h->lock);
	sim_usbpen_free(h->ports[port].dev);
	h->ports[port].dev = NULL;
	h->ports[port].pen = NULL;
	pthread_mutex_unlock(&h->lock);
}

/* Run @p fn on the port's present device under the lock. */
#define WITH_DEVICE(h, port, what, stmt)                                                   \
	do {                                                                               \
		if (check_port(h, port, what) < 0)                                         \
			break;                                                             \
		pthread_mutex_lock(&(h)->lock);                                            \
		if ((h)->ports[port].dev) {                                                \
			struct sim_usbpen *dev_ = (h)->ports[port].dev;                    \
			stmt;                                                              \
		}                                                                          \
		pthread_mutex_unlock(&(h)->lock);                                          \
	} while (0)

void usbh_unplug_after(struct usbh *h, int port, long n)
{
	WITH_DEVICE(h, port, "unplug_after", sim_usbpen_unplug_after(dev_, n));
	if (n == 0)
		usbh_unplug(h, port);
}

void usbh_stall(struct usbh *h, int port, unsigned ep)
{
	WITH_DEVICE(h, port, "stall", sim_usbpen_stall(dev_, ep));
}

void usbh_hold_out(struct usbh *h, int port, int on)
{
	WITH_DEVICE(h, port, "hold_out", sim_usbpen_hold_out(dev_, on));
}

int usbh_connected(struct usbh *h, int port)
{
	int c = 0;
	WITH_DEVICE(h, port, "connected", c = sim_usbpen_connected(dev_));
	return c;
}

const char *usbh_path(struct usbh *h, int port)
{
	const char *s = "";
	WITH_DEVICE(h, port, "path", s = sim_usbpen_sysname(dev_));
	return s;
}

const char *usbh_devnode(struct usbh *h, int port)
{
	const char *s = "";
	WITH_DEVICE(h, port, "devnode", s = sim_usbpen_devnode(dev_));
	return s;
}

void usbh_free(struct usbh *h)
{
	if (!h)
		return;
	for (int i = 1; i <= USBH_PORTS; i++)
		if (h->ports[i].pen)
			usbh_remove(h, i);
	if (h->tb)
		g_object_unref(h->tb);
	if (h->handler)
		g_object_unref(h->handler);
	while (h->urbs) {
		struct urb *r = h->urbs;
		h->urbs = r->next;
		urb_free(r);
	}
	while (h->reapers) {
		struct reaper *w = h->reapers;
		h->reapers = w->next;
		g_object_unref(w->arg);
		g_object_unref(w->client);
		free(w);
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
}
