/* Private header of the report writers (rig/report.h, docs/reports.md): the
 * output modules of the records layer, one const struct per format, each
 * defined in its own file (junit.c, ...). The table of rig_output_modules()
 * lists them in a fixed order; add a module's declaration here, one line
 * each, named rigi_output_<id>. */
#ifndef RIGI_OUTPUT_H
#define RIGI_OUTPUT_H

#include <rig/report.h>

extern const struct rig_output_module rigi_output_csv;   /* "csv": strokes.csv (output.c) */
extern const struct rig_output_module rigi_output_junit; /* "junit": junit.xml (junit.c) */
extern const struct rig_output_module rigi_output_html;  /* "html": report.html (html.c) */
extern const struct rig_output_module rigi_output_pdf;   /* "pdf": certificate.pdf (certificate.c) */

#endif
