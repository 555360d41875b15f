/* Private interface of the USB transport of the DUT protocol (usb.c, the
 * only libusb caller of the project): its transport table for client.c, and
 * the conversion of libusb errors into rig errors whose details tell an
 * operator what to do (exposed so that tests can check the advice for
 * errors an emulated bus cannot produce, e.g. a permission denied to root). */
#ifndef RIGI_DUT_USB_H
#define RIGI_DUT_USB_H

#include "dut/transport.h"

/* usb.c: usb://VID:PID[?serial=S][&path=BUS-PORT.PORT] (docs/protocol.md §7). */
extern const struct rigi_transport_ops rigi_transport_usb;

/* Endpoints, interface and transfer sizes of a pen (docs/protocol.md §7). */
#define RIGI_USB_INTERFACE 0
#define RIGI_USB_EP_OUT 0x01
#define RIGI_USB_EP_IN 0x81

/** Convert the libusb error @p lerr (a LIBUSB_ERROR_* value) raised by
 *  @p op on the device at bus path @p path with node @p node into a rig
 *  error, with a detail naming the device, the operation, the libusb error
 *  and what the operator should do. Returns the rig error. */
int rigi_usb_fail(int lerr, const char *path, const char *node, const char *op);

#endif
