/* `rig devices`: the pens on the USB buses, with what an operator needs to
 * address one (serial, bus path, the usb:// address) and to check it
 * (firmware version from IDENTIFY), plus what to do about a pen the rig
 * cannot open. Read-only: IDENTIFY only. */
#include <stdio.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>

#include "cli.h"

#define MAX_PENS 64

static const char usage_text[] =
	"usage: rig devices [--quick]\n\n"
	"List the pens (USB %04x:%04x) on the USB buses: serial, firmware version,\n"
	"bus path, device node and the address that opens each one.\n"
	"  --quick   do not send IDENTIFY (no firmware version; does not claim the pens)\n\n"
	"A pen listed with 'no access' needs the udev rule: see docs/usb.md.\n";

static void print_version(const struct rig_dut_device_info *e, char *buf, size_t cap)
{
	if (e->identified)
		snprintf(buf, cap, "%u.%u.%u", (e->fw_version >> 16) & 0xFF,
			 (e->fw_version >> 8) & 0xFF, e->fw_version & 0xFF);
	else /* bcdDevice carries major.minor */
		snprintf(buf, cap, "%x.%x", e->bcd_device >> 8, e->bcd_device & 0xFF);
}

static void print_pens(const struct rig_dut_device_info *list, size_t n)
{
	char version[32];

	printf("%-10s %-17s %-9s %-6s %-9s %-21s %s\n", "VID:PID", "SERIAL", "FIRMWARE",
	       "MODEL", "BUS PATH", "NODE", "ADDRESS");
	for (size_t i = 0; i < n; i++) {
		const struct rig_dut_device_info *e = &list[i];
		print_version(e, version, sizeof(version));
		printf("%04x:%04x  %-17s %-9s %-6s %-9s %-21s %s\n", e->vid, e->pid,
		       e->serial[0] ? e->serial : "?", version, e->model[0] ? e->model : "?",
		       e->path, e->node, e->uri);
	}
	for (size_t i = 0; i < n; i++)
		if (list[i].err)
			printf("\n%s (%s): %s: %s\n", list[i].path,
			       list[i].serial[0] ? list[i].serial : "serial unknown",
			       list[i].err == RIG_ERR_PERMISSION ? "no access"
			       : list[i].err == RIG_ERR_BUSY	  ? "in use"
								  : "not identified",
			       list[i].detail);
}

int cmd_devices(int argc, char **argv)
{
	static struct rig_dut_device_info list[MAX_PENS];
	unsigned flags = RIG_DUT_LIST_IDENTIFY;
	size_t n = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf(usage_text, RIG_DUT_USB_VID, RIG_DUT_USB_PID);
			return RIG_EXIT_OK;
		}
		if (strcmp(argv[i], "--quick") != 0) {
			fprintf(stderr, "rig: devices: unexpected argument '%s'\n\n", argv[i]);
			fprintf(stderr, usage_text, RIG_DUT_USB_VID, RIG_DUT_USB_PID);
			return RIG_EXIT_USAGE;
		}
		flags &= ~RIG_DUT_LIST_IDENTIFY;
	}
	ret = rig_dut_list(flags, list, MAX_PENS, &n);
	if (ret < 0)
		return cli_report_error("devices", ret);
	if (n == 0) {
		printf("no pens (USB %04x:%04x) found; check the cable and the pen's power, and "
		       "that `lsusb -d %04x:%04x` sees it\n", RIG_DUT_USB_VID, RIG_DUT_USB_PID,
		       RIG_DUT_USB_VID, RIG_DUT_USB_PID);
		return RIG_EXIT_OK;
	}
	if (n > MAX_PENS)
		fprintf(stderr, "rig: devices: %zu pens found, listing the first %d\n", n, MAX_PENS);
	print_pens(list, n < MAX_PENS ? n : MAX_PENS);
	return RIG_EXIT_OK;
}
