/* Private header of the records layer: the report output modules, one
 * const struct per format, listed in output.c (rig/report.h). */
#ifndef RIGI_RECORDS_OUTPUT_H
#define RIGI_RECORDS_OUTPUT_H

#include <rig/report.h>

extern const struct rig_output_module rigi_output_csv;
#endif
