/* The simulated pen as a USB device (docs/protocol.md §7): its descriptors,
 * the sysfs description an emulator (umockdev) presents to libusb, its
 * control endpoint (GET_DESCRIPTOR, GET_STATUS, ...) and its bulk pipe pair
 * bridged to the firmware model (sim_pen_receive). This is the device side
 * only, at the level of transfers: the host side (usbfs URBs, reaping,
 * claims) belongs to whoever emulates the kernel (tests/usb/usbharness.c).
 * Faults a real USB link has can be injected: unplug (now or after n more
 * bytes), a STALL on an endpoint, a device that NAKs its OUT endpoint. A
 * power loss of the pen (sim_pen_power_loss_after) disconnects the device,
 * as a real pen drops off the bus when it resets. Thread-safe. */
#ifndef SIM_USBPEN_H
#define SIM_USBPEN_H

#include <stddef.h>
#include <stdint.h>

#include "pen.h"

#define SIM_USBPEN_VID 0x1209u        /* pid.codes */
#define SIM_USBPEN_PID 0x4D4Eu
#define SIM_USBPEN_EP_OUT 0x01u
#define SIM_USBPEN_EP_IN 0x81u
#define SIM_USBPEN_MAX_PACKET 512u    /* bulk, high speed */
#define SIM_USBPEN_INTERFACE 0u

struct sim_usbpen;

/** A USB device for @p pen (borrowed; must outlive the device) at bus
 *  @p bus, address @p devnum, plugged into port path @p ports below the
 *  hub whose sysfs device path is @p parent_devpath (e.g. ports "1.4" under
 *  "/devices/pci0000:00/0000:00:14.0/usb1/1-1"; the device's sysfs name is
 *  then "1-1.4"). The device is connected and unclaimed. NULL on error
 *  (rig_last_error() says why). */
struct sim_usbpen *sim_usbpen_new(struct sim_pen *pen, unsigned bus, unsigned devnum,
				  const char *parent_devpath, const char *ports);

/** Free the device (not the pen). NULL is a no-op. */
void sim_usbpen_free(struct sim_usbpen *up);

/** Write the device's description in umockdev's text format (P:, N:, E:,
 *  A:, H: lines: sysfs attributes, uevent properties, the descriptors) to
 *  @p buf (capacity @p cap, NUL-terminated). 0 or RIG_ERR_RANGE. */
int sim_usbpen_describe(const struct sim_usbpen *up, char *buf, size_t cap);

/** "/dev/bus/usb/BBB/DDD". */
const char *sim_usbpen_devnode(const struct sim_usbpen *up);
/** The sysfs device path, "/devices/.../1-1.4". */
const char *sim_usbpen_devpath(const struct sim_usbpen *up);
/** The sysfs name, which is the bus-port path: "1-1.4". */
const char *sim_usbpen_sysname(const struct sim_usbpen *up);

/* ---- the device's endpoints; each returns 0 or a negative errno as the
 *      kernel reports a URB's status (-EPIPE stall, -ESHUTDOWN gone) ---- */

/** A control transfer: the 8-byte @p setup packet and its data stage in
 *  @p data (capacity @p cap: IN data is written there, OUT data read).
 *  The byte count of the data stage goes to *@p actual. Unsupported
 *  requests STALL (-EPIPE), as USB devices do. */
int sim_usbpen_control(struct sim_usbpen *up, const uint8_t setup[8], uint8_t *data,
		       size_t cap, size_t *actual);

/** Bulk OUT (endpoint 0x01): the pen takes @p len bytes, *@p taken says how
 *  many (0 while it NAKs, see sim_usbpen_hold_out()). -ESHUTDOWN when the
 *  device went away during the transfer (injected unplug, power loss). */
int sim_usbpen_bulk_out(struct sim_usbpen *up, const uint8_t *data, size_t len, size_t *taken);

/** Bulk IN (endpoint 0x81): response bytes waiting in the pen, at most
 *  @p cap, to @p buf; their count to *@p got (0: nothing yet, the transfer
 *  stays pending). -EOVERFLOW when @p cap is not a multiple of the packet
 *  size and the waiting data do not fit (babble). */
int sim_usbpen_bulk_in(struct sim_usbpen *up, uint8_t *buf, size_t cap, size_t *got);

/** CLEAR_FEATURE(ENDPOINT_HALT) for @p ep: 0 or -EINVAL (no such endpoint). */
int sim_usbpen_clear_halt(struct sim_usbpen *up, unsigned ep);

/** SET_INTERFACE @p iface, alternate @p alt (also a bus reset's effect):
 *  0, or -EINVAL unless (0, 0). The pen takes it as a new link: its session
 *  ends, a partial frame and unread response bytes are dropped, halts are
 *  cleared (docs/protocol.md §7). Claiming and releasing an interface are
 *  host-side only and invisible to a device. */
int sim_usbpen_set_interface(struct sim_usbpen *up, unsigned iface, unsigned alt);

/** 1 while connected to the bus. */
int sim_usbpen_connected(struct sim_usbpen *up);

/* ---- fault injection ---- */

/** Unplug now: the device leaves the bus and the pen sees its link close. */
void sim_usbpen_unplug(struct sim_usbpen *up);

/** Unplug once the pen has taken @p n more bulk OUT bytes (those n reach
 *  the firmware, a response to them is lost); 0 now, -1 disarms. */
void sim_usbpen_unplug_after(struct sim_usbpen *up, long n);

/** STALL endpoint @p ep (0x01 or 0x81) until the host clears the halt. */
void sim_usbpen_stall(struct sim_usbpen *up, unsigned ep);

/** While @p on, the pen NAKs bulk OUT (a hung firmware): OUT transfers
 *  stay pending until the host gives up. */
void sim_usbpen_hold_out(struct sim_usbpen *up, int on);

#endif
