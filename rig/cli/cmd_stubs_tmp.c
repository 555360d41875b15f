/* TEMPORARY placeholders while subcommands are being written. */
#include "cli.h"
