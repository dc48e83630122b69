/* The writers of the auditor's report (docs/report.md): the model
 * (tlo_custody_report, custody/report.c) as one self-contained HTML file
 * and as JSON. They print only what the model holds, escaped for their
 * medium: every text of the ledger is hostile input. */
#ifndef TLO_CLI_REPORT_H
#define TLO_CLI_REPORT_H

#include <stdio.h>

#include "custody.h"

/* The coverage chart's geometry (docs/report.md, "The coverage chart"): a
 * session of length L ms is drawn AXIS px wide after a LABEL px column of
 * names; a time t ms is at x = LABEL + round(t * AXIS / L) in the SVG's own
 * pixels; row i (people in the order of their first access to the session)
 * is at y = TOP + i * (ROW + GAP), ROW px high. */
#define TLO_REPORT_CHART_LABEL 200
#define TLO_REPORT_CHART_AXIS 720
#define TLO_REPORT_CHART_TOP 28
#define TLO_REPORT_CHART_ROW 18
#define TLO_REPORT_CHART_GAP 6
/* The fills: a band row's background, a view, an export. Nothing else on
 * the page uses these colours (a test finds the bands by them). */
#define TLO_REPORT_FILL_ROW "#ececec"
#define TLO_REPORT_FILL_VIEW "#1f5fbf"
#define TLO_REPORT_FILL_EXPORT "#c0561b"

/* The language of the page's words, as an HTML lang code: "zh-CN" when
 * the messages are Simplified Chinese, else "en". */
const char *tlo_report_lang(void);
/* The page, in the reader's language; 0 or -1 when writing f failed (errno). */
int tlo_report_write_html(const tlo_custody_report *r, FILE *f);
/* The same facts as one JSON object; 0 or -1. */
int tlo_report_write_json(const tlo_custody_report *r, FILE *f);

#endif
