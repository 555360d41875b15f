/* TEMPORARY placeholders while subcommands are being written. */
#include "cli.h"
int cmd_sensors(int argc, char **argv) { (void)argc; (void)argv; return 2; }
int cmd_daq(int argc, char **argv) { (void)argc; (void)argv; return 2; }
