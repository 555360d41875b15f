/* A USB bus for tests and demos without USB hardware: a umockdev testbed
 * presenting simulated pens (rig/sim/usbpen.h) to an unmodified libusb, so
 * that the rig's real USB transport (rig/lib/dut/usb.c) runs against the
 * simulator's firmware model.
 *
 * Topology: root hub usb1 (bus 1) with a 7-port hub at 1-1; pen k (1..7)
 * plugs into port k of that hub, bus path "1-1.k". Each (re)plug gets a new
 * device address, as the kernel assigns them.
 *
 * The emulation works in-process through umockdev's preload library, which
 * must be loaded before anything else opens /dev or /sys:
 *     LD_PRELOAD=libumockdev-preload.so.0 ./program     (or umockdev-wrapper)
 * and under AddressSanitizer also ASAN_OPTIONS=verify_asan_link_order=0.
 * Create the harness before the first libusb use in the process (before
 * opening a usb:// pen or listing pens). The ioctl handler runs on the
 * testbed's own thread; every function here may be called from any thread.
 * libusb busy-polls an emulated device: expect ~700 round trips per second
 * and a spinning CPU while a transfer waits. */
#ifndef RIG_TEST_USBHARNESS_H
#define RIG_TEST_USBHARNESS_H

#include "pen.h"

#define USBH_PORTS 7

struct usbh;

/** 1 when the umockdev preload library is active in this process, so that
 *  usbh_new() can work; tests without it skip (exit 77). */
int usbh_available(void);

/** Start a testbed with the hubs and no pens. NULL on failure (reason on
 *  stderr: umockdev is a test tool, this is not librig). */
struct usbh *usbh_new(void);

/** Unplug every pen and stop the testbed. NULL is a no-op. */
void usbh_free(struct usbh *h);

/** Plug @p pen (borrowed; must outlive its plug) into hub port @p port
 *  (1..USBH_PORTS, free). Returns 0, or -1 (message on stderr). */
int usbh_plug(struct usbh *h, int port, struct sim_pen *pen);

/** Unplug the pen in @p port: transfers in flight end with -ESHUTDOWN,
 *  every later ioctl on its node fails with ENODEV, a "remove" uevent goes
 *  out and the device leaves sysfs. The pen stays assigned to the port. */
void usbh_unplug(struct usbh *h, int port);

/** Plug the port's pen in again (after usbh_unplug(), an injected unplug or
 *  a pen power loss), under a new device address. 0 or -1. */
int usbh_replug(struct usbh *h, int port);

/** Empty the port: unplug and forget its pen (the caller may free it). */
void usbh_remove(struct usbh *h, int port);

/** Unplug once the port's pen has taken @p n more bulk OUT bytes. */
void usbh_unplug_after(struct usbh *h, int port, long n);

/** STALL endpoint @p ep of the port's pen until the host clears it. */
void usbh_stall(struct usbh *h, int port, unsigned ep);

/** While @p on, the port's pen NAKs bulk OUT (hung firmware). */
void usbh_hold_out(struct usbh *h, int port, int on);

/** 1 while the port's device is on the bus. */
int usbh_connected(struct usbh *h, int port);

/** The port's bus path ("1-1.3") and device node ("/dev/bus/usb/001/005");
 *  valid until the next plug of that port. */
const char *usbh_path(struct usbh *h, int port);
const char *usbh_devnode(struct usbh *h, int port);

#endif
