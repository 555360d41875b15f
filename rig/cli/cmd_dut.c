/* `rig dut`: talk to a pen over the DUT protocol: identity, status, and
 * reading a calibration table slot (decoded, optionally verified with the
 * line key, optionally saved raw); `run` and `safe` are in cmd_dut_run.c.
 * Nothing here changes a pen's table. */
#include <stdio.h>
#include <string.h>

#include <rig/dut.h>
#include <rig/rig.h>
#include <rig/table.h>

#include "cli.h"

static const char usage_text[] =
	"usage: rig dut COMMAND URI [OPTIONS]\n\n"
	"commands:\n"
	"  info URI         the pen's identity: model, serial, versions, ranges\n"
	"  status URI       mode, motor, faults, active table, counters\n"
	"  read-table URI   read and decode a calibration table slot\n"
	"  run URI DEPTH_UM RATE_SPM [--seconds S]   stroke at user setpoints, then safe\n"
	"  safe URI         motor off, service mode left (SAFE)\n\n"
	"URI: unix:///path/to/socket, tcp://HOST:PORT or usb://VID:PID[?serial=S|?path=BUS-PORT.PORT];\n"
	"     add ?timeout_ms=T to change the 500 ms response timeout.\n"
	"'rig dut COMMAND --help' for a command's options.\n";

static const char info_help[] =
	"usage: rig dut info URI\n\nPrint the pen's identity (IDENTIFY).\n";
static const char status_help[] =
	"usage: rig dut status URI\n\nPrint the pen's status (STATUS).\n";
static const char read_help[] =
	"usage: rig dut read-table URI [--slot a|b|active] [--out FILE] [--key FILE]\n\n"
	"Read a calibration table slot and print it decoded.\n"
	"  --slot S    a, b or active (default active)\n"
	"  --out FILE  also write the slot's raw bytes to FILE\n"
	"  --key FILE  verify the table's signature with the line key file\n"
	"              (mode 600; 64 hex digits and a newline: docs/files.md)\n";

/* parse_args(): help was printed, exit successfully. */
#define HELP_SHOWN (-1)

struct dut_args {
	const char *uri;
	const char *slot;
	const char *out;
	const char *key;
};

static int is_help(const char *a)
{
	return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* Parse "URI [--opt VALUE]..." (options only when @p with_options).
 * Returns 0, HELP_SHOWN, or RIG_EXIT_USAGE after printing the problem. */
static int parse_args(int argc, char **argv, int with_options, const char *help,
		      struct dut_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char **slot = NULL;
		if (is_help(argv[i])) {
			fputs(help, stdout);
			return HELP_SHOWN;
		}
		if (with_options && !strcmp(argv[i], "--slot"))
			slot = &a->slot;
		else if (with_options && !strcmp(argv[i], "--out"))
			slot = &a->out;
		else if (with_options && !strcmp(argv[i], "--key"))
			slot = &a->key;
		if (slot) {
			if (i + 1 == argc) {
				fprintf(stderr, "rig: dut %s: %s needs a value\n\n%s", argv[0],
					argv[i], help);
				return RIG_EXIT_USAGE;
			}
			*slot = argv[++i];
		} else if (argv[i][0] != '-' && !a->uri) {
			a->uri = argv[i];
		} else {
			fprintf(stderr, "rig: dut %s: unexpected argument '%s'\n\n%s", argv[0],
				argv[i], help);
			return RIG_EXIT_USAGE;
		}
	}
	if (!a->uri) {
		fprintf(stderr, "rig: dut %s: missing the pen's URI\n\n%s", argv[0], help);
		return RIG_EXIT_USAGE;
	}
	return 0;
}

static void print_version(const char *label, uint32_t v, int parts)
{
	if (parts == 2)
		printf("%-15s%u.%u\n", label, (v >> 8) & 0xFF, v & 0xFF);
	else
		printf("%-15s%u.%u.%u\n", label, (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF);
}

static void print_identity(const char *uri, const struct rig_dut_identity *id)
{
	printf("%-15s%s\n%-15s%s\n%-15s%s\n", "pen", uri, "model", id->model, "serial",
	       id->serial);
	print_version("hardware", id->hw_version, 2);
	print_version("firmware", id->fw_version, 3);
	printf("%-15s%u (at most %u bytes, %u knots per curve)\n", "table format",
	       id->table_format, id->table_max_bytes, id->table_max_knots);
	printf("%-15s%u..%u\n", "actuator code", id->code_min, id->code_max);
	printf("%-15s%u..%u permille\n", "motor duty", id->duty_min, id->duty_max);
	printf("%-15s%u..%u um, step %u um\n", "depth range", id->depth_min_um,
	       id->depth_max_um, id->depth_step_um);
	printf("%-15s%u um\n", "max protrusion", id->max_protrusion_um);
	printf("%-15s%u..%u strokes/min\n", "rate range", id->rate_min_spm, id->rate_max_spm);
	printf("%-15s", "speed levels");
	for (unsigned i = 0; i < id->n_speed_levels && i < 8; i++)
		printf("%s%u", i ? " " : "", id->speed_levels[i]);
	printf(" strokes/min\n");
}

static void print_faults(uint16_t flags)
{
	int any = 0;
	printf("%-15s", "faults");
	for (unsigned bit = 0; bit < 16; bit++) {
		unsigned flag = 1u << bit;
		const char *name = rig_dut_fault_name(flag);
		if (!(flags & flag))
			continue;
		if (name)
			printf("%s%s", any ? ", " : "", name);
		else
			printf("%sbit %u", any ? ", " : "", bit);
		any = 1;
	}
	printf("%s\n", any ? "" : "none");
}

static void print_status(const struct rig_dut_status *st)
{
	printf("%-15s%s\n%-15s%s\n", "mode", st->mode ? "SERVICE" : "USER", "motor",
	       st->motor_on ? "on" : "off");
	print_faults(st->fault_flags);
	if (st->active_slot == RIG_DUT_SLOT_NONE)
		printf("%-15snone (no valid table)\n", "active slot");
	else
		printf("%-15s%c (table_seq %u, crc 0x%08x)\n", "active slot",
		       st->active_slot ? 'B' : 'A', st->active_table_seq, st->active_table_crc);
	printf("%-15s%s\n%-15s%s\n", "table write", st->write_state ? "in progress" : "none",
	       "authenticated", st->authenticated ? "yes" : "no");
	printf("%-15s%u\n%-15s%u mA\n", "strokes", st->stroke_count, "motor current",
	       st->motor_current_ma);
	printf("%-15s%.1f C\n", "temperature", st->temperature_dc / 10.0);
	printf("%-15scode %u, duty %u permille\n", "applied", st->code, st->duty);
	printf("%-15s%u um, %u strokes/min\n", "setpoints", st->depth_um, st->rate_spm);
}

static int run_info(int argc, char **argv)
{
	struct dut_args a = {0};
	struct rig_dut *dut = NULL;
	struct rig_dut_identity id;
	int ret = parse_args(argc, argv, 0, info_help, &a);

	if (ret)
		return ret == HELP_SHOWN ? RIG_EXIT_OK : ret;
	ret = rig_dut_open(a.uri, &dut);
	if (ret == 0)
		ret = rig_dut_identify(dut, &id);
	rig_dut_close(dut);
	if (ret < 0)
		return cli_report_error("dut info", ret);
	print_identity(a.uri, &id);
	return RIG_EXIT_OK;
}

static int run_status(int argc, char **argv)
{
	struct dut_args a = {0};
	struct rig_dut *dut = NULL;
	struct rig_dut_status st;
	int ret = parse_args(argc, argv, 0, status_help, &a);

	if (ret)
		return ret == HELP_SHOWN ? RIG_EXIT_OK : ret;
	ret = rig_dut_open(a.uri, &dut);
	if (ret == 0)
		ret = rig_dut_status(dut, &st);
	rig_dut_close(dut);
	if (ret < 0)
		return cli_report_error("dut status", ret);
	print_status(&st);
	return RIG_EXIT_OK;
}

static int write_raw(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(buf, 1, len, f) == len;

	if (f && fclose(f) != 0)
		ok = 0;
	if (!ok) {
		fprintf(stderr, "rig: dut read-table: cannot write %s\n", path);
		return RIG_EXIT_USAGE;
	}
	return 0;
}

static int parse_slot(const char *text, int *slot)
{
	if (!text || !strcmp(text, "active"))
		*slot = RIG_DUT_SLOT_ACTIVE;
	else if (!strcmp(text, "a") || !strcmp(text, "A"))
		*slot = RIG_DUT_SLOT_A;
	else if (!strcmp(text, "b") || !strcmp(text, "B"))
		*slot = RIG_DUT_SLOT_B;
	else
		return -1;
	return 0;
}

/* Decode the blob (verifying it when a key file is given) and print it. */
static int print_table(const struct dut_args *a, const uint8_t *blob, size_t len)
{
	uint8_t key[RIG_KEY_BYTES];
	struct rig_cal_table t;
	char text[4096];
	int ret = 0;

	if (a->key) {
		ret = rig_key_load_file(a->key, key);
		if (ret < 0)
			return cli_report_error("dut read-table: line key", ret);
	}
	ret = rig_cal_table_decode(blob, len, a->key ? key : NULL, &t);
	if (a->key)
		rig_key_wipe(key);
	if (ret == 0)
		ret = rig_cal_table_format(&t, text, sizeof(text));
	if (ret < 0)
		return cli_report_error("dut read-table: decode", ret);
	printf("%-11s%s\n%-11s%s\n", "slot", a->slot ? a->slot : "active", "signature",
	       a->key ? "verified with the line key" : "not checked (give --key FILE)");
	fputs(text, stdout);
	return RIG_EXIT_OK;
}

static int run_read_table(int argc, char **argv)
{
	struct dut_args a = {0};
	struct rig_dut *dut = NULL;
	uint8_t blob[RIG_CAL_TABLE_MAX_BYTES];
	size_t len = 0;
	int slot;
	int ret = parse_args(argc, argv, 1, read_help, &a);

	if (ret)
		return ret == HELP_SHOWN ? RIG_EXIT_OK : ret;
	if (parse_slot(a.slot, &slot) < 0) {
		fprintf(stderr, "rig: dut read-table: --slot must be a, b or active\n");
		return RIG_EXIT_USAGE;
	}
	ret = rig_dut_open(a.uri, &dut);
	if (ret == 0)
		ret = rig_dut_table_read(dut, slot, blob, sizeof(blob), &len);
	rig_dut_close(dut);
	if (ret < 0)
		return cli_report_error("dut read-table", ret);
	if (len == 0) {
		printf("slot %s: empty (no table)\n", a.slot ? a.slot : "active");
		if (a.out)
			fprintf(stderr, "rig: dut read-table: %s not written: the slot is empty\n",
				a.out);
		return RIG_EXIT_OK;
	}
	if (a.out && (ret = write_raw(a.out, blob, len)) != 0)
		return ret;
	return print_table(&a, blob, len);
}

int cmd_dut(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} subs[] = {{"info", run_info},         {"status", run_status},
		    {"read-table", run_read_table}, {"run", cmd_dut_run},
		    {"safe", cmd_dut_safe}};

	if (argc < 2) {
		fputs(usage_text, stderr);
		return RIG_EXIT_USAGE;
	}
	if (is_help(argv[1])) {
		fputs(usage_text, stdout);
		return RIG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].run(argc - 1, argv + 1);
	fprintf(stderr, "rig: dut: unknown command '%s'\n\n%s", argv[1], usage_text);
	return RIG_EXIT_USAGE;
}
