/* The auditor's report as one self-contained HTML file (docs/report.md):
 * no script, no font, image or stylesheet from anywhere (a CSP meta says
 * so to the browser too), a print stylesheet, and the coverage chart of
 * each session as inline SVG. Every text is HTML-escaped: names, purposes,
 * markers and reasons come from the ledger and are hostile. */
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char style[] =
    "body{font-family:'DejaVu Sans','WenQuanYi Zen Hei',sans-serif;font-size:14px;"
    "color:#111;margin:24px;max-width:1000px}\n"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;"
    "border-bottom:1px solid #999}h3{font-size:15px;margin:16px 0 6px}\n"
    "table{border-collapse:collapse;width:100%;margin:4px 0 12px}\n"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:left;vertical-align:top}\n"
    "th{background:#f6f6f6}td.n{text-align:right;white-space:nowrap}\n"
    ".mono{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all}\n"
    ".ok{color:#0a6b2a;font-weight:bold}.bad{color:#a40000;font-weight:bold}\n"
    ".broken{color:#a40000;font-weight:bold}.muted{color:#555}\n"
    "pre{white-space:pre-wrap;word-break:break-all;background:#f6f6f6;padding:6px;"
    "border:1px solid #ccc}\n"
    "dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:4px 0}\n"
    "dt{color:#444}dd{margin:0}\n"
    ".legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;"
    "margin:0 4px 0 12px}\n"
    "@page{size:A4;margin:14mm}\n"
    "@media print{body{margin:0;font-size:10pt;max-width:none}"
    "section.session{break-before:page}h2,h3{break-after:avoid}"
    "tr,svg,dl,pre{break-inside:avoid}thead{display:table-header-group}"
    "svg{max-width:100%;height:auto}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* HTML-escaped text (also fit for attribute values in double quotes). The
 * text is the ledger's, unchecked: a byte that starts no well-formed UTF-8
 * character becomes U+FFFD and a control character (but newline) '?', so the
 * page is valid UTF-8 with no control character whatever the rows hold. */
static void esc(FILE *f, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, len; i < n; i += len) {
        uint32_t cp;
        const unsigned char c = (unsigned char)s[i];
        if ((len = tlo_utf8_text_char((const uint8_t *)s + i, n - i, &cp)) == 0) {
            len = 1;
            if (c == 0xc2 && n - i >= 2 && (unsigned char)s[i + 1] >= 0x80 &&
                (unsigned char)s[i + 1] <= 0x9f)
                len = 2; /* C1, well formed */
            fputs(c == '\n' ? "\n" : c < 0x80 || len == 2 ? "?" : "\xef\xbf\xbd", f);
            continue;
        }
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fwrite(s + i, 1, len, f);
        }
    }
}

static void person(FILE *f, const tlo_custody_report *r, int i)
{
    char buf[TLO_NAME_MAX + 220], roles[200];
    if (i < 0 || (size_t)i >= r->npeople) {
        fputs("an unknown key", f);
        return;
    }
    if (r->person[i].roles == TLO_ROLE_CUSTODIAN) {
        fputs("the custodian", f);
        return;
    }
    tlo_roles_format(r->person[i].roles, ", ", roles, sizeof roles);
    snprintf(buf, sizeof buf, "%s (%s)", r->person[i].name, roles);
    esc(f, buf);
}

/* A chart's label: the person cut to 26 characters (the whole name is in
 * the row's title and the tables). */
static void label(FILE *f, const tlo_custody_report *r, int i)
{
    char buf[TLO_NAME_MAX + 220], roles[200];
    size_t k = 0, chars = 0;
    if (i < 0 || (size_t)i >= r->npeople) {
        fputs("an unknown key", f);
        return;
    }
    tlo_roles_format(r->person[i].roles, ", ", roles, sizeof roles);
    snprintf(buf, sizeof buf, "%s (%s)", r->person[i].name, roles);
    while (buf[k] && chars < 26) {
        k++;
        while (((unsigned char)buf[k] & 0xC0) == 0x80)
            k++;
        chars++;
    }
    bool cut = buf[k] != '\0';
    buf[k] = '\0';
    esc(f, buf);
    if (cut)
        fputs("\u2026", f);
}

static void clock_(FILE *f, uint64_t ms)
{
    char b[40];
    tlo_custody_clock_words(ms, b, sizeof b);
    fputs(b, f);
}

static void utc(FILE *f, uint64_t ms)
{
    char b[64];
    tlo_custody_utc_words(ms, b, sizeof b);
    fputs(b, f);
}

static void range(FILE *f, uint64_t a, uint64_t b)
{
    clock_(f, a);
    fputs("\u2013", f);
    clock_(f, b);
}

static unsigned px(uint64_t ms, uint64_t len)
{
    if (!len)
        return TLO_REPORT_CHART_LABEL;
    if (ms > len)
        ms = len;
    /* round(ms * AXIS / len), in integers */
    return TLO_REPORT_CHART_LABEL + (unsigned)((ms * TLO_REPORT_CHART_AXIS * 2 + len) / (2 * len));
}

/* The people of a session's chart, in the order of their first access:
 * every one (rows has room for s->naccess). */
static size_t chart_rows(const tlo_custody_report_session *s, int *rows)
{
    size_t n = 0;
    for (size_t i = 0; i < s->naccess; i++) {
        size_t k = 0;
        while (k < n && rows[k] != s->access[i].person)
            k++;
        if (k == n)
            rows[n++] = s->access[i].person;
    }
    return n;
}

/* The axis: a tick every whole step (1 s, 2 s, 5 s, ... 1 h) so that at
 * most 8 are labelled, above the rows; the end is marked unlabelled. */
static void axis(FILE *f, uint64_t length_ms)
{
    static const uint64_t steps[] = {1000,   2000,   5000,   10000,  15000,   30000,  60000,
                                     120000, 300000, 600000, 900000, 1800000, 3600000};
    uint64_t step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        if (length_ms / steps[k] <= 8) {
            step = steps[k];
            break;
        }
    for (uint64_t ms = 0;; ms += step) {
        bool end = ms >= length_ms;
        if (end)
            ms = length_ms;
        unsigned x = px(ms, length_ms);
        fprintf(f, "<line x1=\"%u\" y1=\"%d\" x2=\"%u\" y2=\"%d\" stroke=\"#888\"/>", x,
                TLO_REPORT_CHART_TOP - 8, x, TLO_REPORT_CHART_TOP - 2);
        if (!end && (length_ms - ms) * TLO_REPORT_CHART_AXIS >= 40 * length_ms) {
            fprintf(f, "<text x=\"%u\" y=\"%d\" font-size=\"10\" text-anchor=\"%s\" fill=\"#333\">",
                    x, TLO_REPORT_CHART_TOP - 12, ms == 0 ? "start" : "middle");
            clock_(f, ms);
            fputs("</text>\n", f);
        }
        if (end)
            break;
    }
}

static void chart(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    /* One row per person, however many: a chart that stopped at some count
     * would hide who else viewed the session. */
    int *rows = s->naccess ? calloc(s->naccess, sizeof *rows) : NULL;
    if (s->naccess && !rows) {
        fputs("<p>Out of memory: the chart is not drawn; the table below lists every access.</p>\n",
              f);
        return;
    }
    size_t n = chart_rows(s, rows);
    const unsigned W = TLO_REPORT_CHART_LABEL + TLO_REPORT_CHART_AXIS + 24;
    const unsigned H = TLO_REPORT_CHART_TOP +
                       (unsigned)(n ? n : 1) * (TLO_REPORT_CHART_ROW + TLO_REPORT_CHART_GAP) + 4;
    fprintf(
        f,
        "<svg class=\"coverage\" width=\"%u\" "
        "height=\"%u\" viewBox=\"0 0 %u %u\" shape-rendering=\"crispEdges\" "
        "data-session=\"%u\" data-length-ms=\"%" PRIu64 "\" data-label-px=\"%d\" "
        "data-axis-px=\"%d\" role=\"img\" aria-label=\"who viewed which part of session %u\">\n",
        W, H, W, H, s->no, s->length_ms, TLO_REPORT_CHART_LABEL, TLO_REPORT_CHART_AXIS, s->no);
    axis(f, s->length_ms);
    if (!n)
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#555\">nobody viewed or "
                "exported any part of this session</text>\n",
                TLO_REPORT_CHART_LABEL, TLO_REPORT_CHART_TOP + 14);
    for (size_t i = 0; i < n; i++) {
        unsigned y =
            TLO_REPORT_CHART_TOP + (unsigned)i * (TLO_REPORT_CHART_ROW + TLO_REPORT_CHART_GAP);
        fprintf(f, "<g class=\"band\" data-row=\"%zu\" data-person=\"", i);
        person(f, r, rows[i]);
        fprintf(f, "\">\n<text x=\"%d\" y=\"%u\" font-size=\"12\" text-anchor=\"end\"><title>",
                TLO_REPORT_CHART_LABEL - 6, y + 13);
        person(f, r, rows[i]);
        fputs("</title>", f);
        label(f, r, rows[i]);
        fprintf(f,
                "</text>\n<rect class=\"row\" x=\"%d\" y=\"%u\" width=\"%d\" height=\"%d\" "
                "fill=\"%s\"/>\n",
                TLO_REPORT_CHART_LABEL, y, TLO_REPORT_CHART_AXIS, TLO_REPORT_CHART_ROW,
                TLO_REPORT_FILL_ROW);
        for (size_t k = 0; k < s->naccess; k++) {
            const tlo_custody_report_access *a = &s->access[k];
            if (a->person != rows[i])
                continue;
            unsigned x1 = px(a->from_ms, s->length_ms), x2 = px(a->to_ms, s->length_ms);
            unsigned w = x2 > x1 ? x2 - x1 : 1;
            fprintf(f,
                    "<rect class=\"%s\" data-seq=\"%" PRIu64 "\" data-from-ms=\"%" PRIu64
                    "\" data-to-ms=\"%" PRIu64 "\" x=\"%u\" y=\"%u\" width=\"%u\" height=\"%d\" "
                    "fill=\"%s\"><title>",
                    a->exp ? "export" : "view", a->seq, a->from_ms, a->to_ms, x1, y, w,
                    TLO_REPORT_CHART_ROW, a->exp ? TLO_REPORT_FILL_EXPORT : TLO_REPORT_FILL_VIEW);
            fprintf(f, "entry %" PRIu64 ": ", a->seq);
            range(f, a->from_ms, a->to_ms);
            fputs("</title></rect>\n", f);
        }
        fputs("</g>\n", f);
    }
    free(rows);
    fputs("</svg>\n", f);
    fprintf(f,
            "<p class=\"legend muted\"><span style=\"background:%s\"></span>viewed"
            "<span style=\"background:%s\"></span>released to export"
            "<span style=\"background:%s\"></span>not accessed</p>\n",
            TLO_REPORT_FILL_VIEW, TLO_REPORT_FILL_EXPORT, TLO_REPORT_FILL_ROW);
}

static void session(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    fprintf(f, "<section class=\"session\" id=\"session-%u\">\n<h2>Session %u</h2>\n<dl>", s->no,
            s->no);
    fputs("<dt>id</dt><dd class=\"mono\">", f);
    esc(f, s->id); /* 32 hex digits in a ledger that verifies; escaped in one that does not */
    fputs("</dd>", f);
    fputs("<dt>recorded by</dt><dd>", f);
    person(f, r, s->recorder);
    fputs("</dd><dt>room</dt><dd>", f);
    esc(f, s->room);
    fprintf(f, " (%" PRIu64 " camera%s, %" PRIu64 " microphone%s)</dd>", s->cameras,
            s->cameras == 1 ? "" : "s", s->microphones, s->microphones == 1 ? "" : "s");
    fputs("<dt>started</dt><dd>", f);
    utc(f, s->started_at);
    fprintf(f, "</dd><dt>status</dt><dd>%s", s->status);
    if (s->closed_at) {
        fputs(", ", f);
        utc(f, s->closed_at);
    }
    fputs("</dd><dt>length</dt><dd>", f);
    clock_(f, s->length_ms);
    fprintf(f, "</dd><dt>segments</dt><dd>%" PRIu64 " (%" PRIu64 " sealed bytes)</dd>", s->segments,
            s->bytes);
    fprintf(f, "<dt>gaps</dt><dd>%s</dd></dl>\n", s->ngaps ? "" : "none: the media is continuous");
    if (s->ngaps) {
        fputs("<table><thead><tr><th>gap</th><th>after segment</th></tr></thead><tbody>", f);
        for (size_t i = 0; i < s->ngaps; i++) {
            fputs("<tr><td>", f);
            range(f, s->gap[i].from_ms, s->gap[i].to_ms);
            fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td></tr>", s->gap[i].after_index);
        }
        fputs("</tbody></table>\n", f);
    }
    fputs("<h3>Who viewed or exported which part</h3>\n", f);
    chart(f, r, s);
    if (s->naccess) {
        fputs("<table><thead><tr><th>entry</th><th>when</th><th>who</th><th>what</th>"
              "<th>range</th><th>purpose</th><th>grant</th></tr></thead><tbody>\n",
              f);
        for (size_t i = 0; i < s->naccess; i++) {
            const tlo_custody_report_access *a = &s->access[i];
            fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", a->seq);
            utc(f, a->time_ms);
            fputs("</td><td>", f);
            person(f, r, a->person);
            fprintf(f, "</td><td>%s</td><td>", a->exp ? "released to export" : "viewed");
            range(f, a->from_ms, a->to_ms);
            fputs("</td><td>", f);
            esc(f, a->purpose);
            fputs("</td><td>", f);
            esc(f, a->grant);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fprintf(f, "<h3>Markers (%zu)</h3>\n", s->nmarkers);
    if (s->nmarkers) {
        fputs("<table><thead><tr><th>entry</th><th>at</th><th>by</th><th>text</th></tr></thead>"
              "<tbody>\n",
              f);
        for (size_t i = 0; i < s->nmarkers; i++) {
            fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", s->marker[i].seq);
            clock_(f, s->marker[i].at_ms);
            fputs("</td><td>", f);
            person(f, r, s->marker[i].person);
            fputs("</td><td>", f);
            esc(f, s->marker[i].text);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fprintf(f, "<h3>Device events (%zu)</h3>\n", s->ndevices);
    if (s->ndevices) {
        fputs("<table><thead><tr><th>entry</th><th>at</th><th>device</th><th>event</th>"
              "<th>message</th><th>then</th></tr></thead><tbody>\n",
              f);
        for (size_t i = 0; i < s->ndevices; i++) {
            const tlo_custody_report_device *d = &s->device[i];
            fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", d->seq);
            clock_(f, d->at_ms);
            fputs("</td><td>", f);
            esc(f, d->device);
            fputs("</td><td>", f);
            esc(f, d->event);
            fputs("</td><td>", f);
            esc(f, d->message);
            fputs("</td><td>", f);
            esc(f, d->then);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fputs("</section>\n", f);
}

static void verification(FILE *f, const tlo_custody_report *r)
{
    fputs("<section id=\"verification\">\n<h2>Verification</h2>\n", f);
    if (r->verified)
        fprintf(f,
                "<p><span class=\"ok\">OK</span>: all %" PRIu64 " entries of the ledger verified "
                "(every link, signature and the Merkle root), the checkpoints and the sealed files "
                "too.</p>\n",
                r->entries);
    else {
        fputs("<p><span class=\"bad\">FAILED</span>: ", f);
        esc(f, r->problem);
        fputs(" Nothing below can be relied on until this is resolved.</p>\n", f);
    }
    if (r->checkpoint_size)
        fprintf(f,
                "<dl><dt>checkpoint</dt><dd>the newest the custodian signed: %" PRIu64
                " entries</dd><dt>root (hex)</dt><dd class=\"mono\">%s</dd>"
                "<dt>root (base64)</dt><dd class=\"mono\">%s</dd></dl>\n",
                r->checkpoint_size, r->checkpoint_root, r->checkpoint_b64);
    if (r->checkpoint_size && r->entries > r->checkpoint_size)
        fprintf(f,
                "<p>The last %" PRIu64 " entries are not yet covered by a checkpoint: a cut of "
                "them would not be seen until the next one.</p>\n",
                r->entries - r->checkpoint_size);
    else if (r->checkpoint_size)
        fputs("<p>Every entry is covered by that checkpoint.</p>\n", f);
    else
        fputs("<p class=\"bad\">The vault holds no checkpoint: nothing shows that entries were "
              "not cut from its end.</p>\n",
              f);
    fputs("<p>To check it independently, with the custodian's verifier key kept outside the "
          "vault, on a copy of the vault:</p>\n<pre>",
          f);
    esc(f, r->verify_command);
    fputs("</pre>\n</section>\n", f);
}

static void grants(FILE *f, const tlo_custody_report *r)
{
    fprintf(f, "<section id=\"grants\">\n<h2>Grants (%zu)</h2>\n", r->ngrants);
    if (!r->ngrants) {
        fputs("<p>none</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>grant</th><th>status</th><th>by</th><th>to</th><th>of</th>"
          "<th>actions</th><th>expires</th><th>purpose</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < r->ngrants; i++) {
        const tlo_custody_report_grant *g = &r->grant[i];
        fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>%s", g->seq, g->status);
        if (g->revoked_seq)
            fprintf(f, " (entry %" PRIu64 ")", g->revoked_seq);
        fputs("</td><td>", f);
        person(f, r, g->by);
        fputs("</td><td>", f);
        if (g->to >= 0)
            person(f, r, g->to);
        else
            esc(f, g->to_name);
        fputs("</td><td>", f);
        if (g->note) {
            fprintf(f, "note %u", g->note_no);
        } else {
            range(f, g->from_ms, g->until_ms);
            fprintf(f, " of session %u", g->session_no);
        }
        fputs("</td><td>", f);
        esc(f, g->actions);
        fputs("</td><td>", f);
        utc(f, g->expires_ms);
        fputs("</td><td>", f);
        esc(f, g->purpose);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static void exports(FILE *f, const tlo_custody_report *r)
{
    fprintf(f, "<section id=\"exports\">\n<h2>Exports (%zu)</h2>\n", r->nexports);
    if (!r->nexports) {
        fputs("<p>none</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>entry</th><th>when</th><th>by</th><th>clip</th><th>bytes</th>"
          "<th>SHA-256</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < r->nexports; i++) {
        const tlo_custody_report_export *x = &r->exp[i];
        fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", x->seq);
        utc(f, x->time_ms);
        fputs("</td><td>", f);
        person(f, r, x->person);
        fputs("</td><td>", f);
        range(f, x->clip_start_ms, x->clip_end_ms);
        fprintf(f, " of session %u (asked ", x->session_no);
        range(f, x->from_ms, x->to_ms);
        fprintf(f, ")</td><td class=\"n\">%" PRIu64 "</td><td class=\"mono\">", x->bytes);
        esc(f, x->sha256);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static void notes(FILE *f, const tlo_custody_report *r)
{
    fprintf(f,
            "<section id=\"notes\">\n<h2>Notes (%zu)</h2>\n<p class=\"muted\">Metadata only: the "
            "ledger holds no note's text, title or file names.</p>\n",
            r->nnotes);
    if (!r->nnotes) {
        fputs("<p>none</p></section>\n", f);
        return;
    }
    fputs("<table><thead><tr><th>note</th><th>kind</th><th>version</th><th>entry</th>"
          "<th>when</th><th>by</th><th>files</th><th>sealed bytes</th><th>text bytes</th>"
          "<th>refers to</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < r->nnotes; i++) {
        const tlo_custody_report_note *n = &r->note[i];
        for (size_t k = 0; k < n->nversions; k++) {
            const tlo_custody_report_note_version *v = &n->version[k];
            fprintf(f, "<tr><td class=\"n\">%u</td><td>", n->no);
            esc(f, n->kind);
            fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td><td>",
                    v->version, v->seq);
            utc(f, v->time_ms);
            fputs("</td><td>", f);
            person(f, r, v->author);
            fprintf(f,
                    "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
                    "</td><td class=\"n\">%" PRIu64 "</td><td>",
                    v->files, v->bytes, v->text_bytes);
            if (v->session_no) {
                clock_(f, v->at_ms);
                fprintf(f, " of session %u", v->session_no);
            }
            fputs("</td></tr>\n", f);
        }
        fprintf(f,
                "<tr><td></td><td colspan=\"9\" class=\"muted\">read %" PRIu64
                " times, refused %" PRIu64 " times</td></tr>\n",
                n->reads, n->refused);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static void samples(FILE *f, const tlo_custody_report *r)
{
    fprintf(f, "<section id=\"samples\">\n<h2>Samples (%zu)</h2>\n", r->nsamples);
    if (!r->nsamples)
        fputs("<p>none</p>\n", f);
    for (size_t i = 0; i < r->nsamples; i++) {
        const tlo_custody_report_sample *s = &r->sample[i];
        fputs("<h3>", f);
        esc(f, s->label);
        fputs(" (", f);
        esc(f, s->kind);
        fputs(", seal ", f);
        esc(f, s->seal_number);
        fprintf(f, "): %s", s->state);
        if (!strcmp(s->state, "in transfer")) {
            fputs(" to ", f);
            esc(f, s->to_name);
        } else if (!strcmp(s->state, "held")) {
            fputs(" by ", f);
            person(f, r, s->holder);
        }
        if (s->broken_seal)
            fputs(" <span class=\"broken\">SEAL BROKEN</span>", f);
        fputs("</h3>\n<table><thead><tr><th>entry</th><th>when</th><th>custody</th></tr></thead>"
              "<tbody>\n",
              f);
        for (size_t k = 0; k < s->nevents; k++) {
            fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", s->event[k].seq);
            utc(f, s->event[k].time_ms);
            fputs("</td><td>", f);
            esc(f, s->event[k].text);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
    fputs("</section>\n", f);
}

static void lines(FILE *f, const tlo_custody_report *r, const tlo_custody_report_line *l, size_t n)
{
    (void)r;
    fputs("<table><thead><tr><th>entry</th><th>when (UTC)</th><th>kind</th><th>what</th></tr>"
          "</thead><tbody>\n",
          f);
    for (size_t i = 0; i < n; i++) {
        const char *kind = tlo_entry_kind_name(l[i].kind);
        fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", l[i].seq);
        utc(f, l[i].time_ms);
        fprintf(f, "</td><td>%s</td><td>", kind ? kind : "unknown");
        esc(f, l[i].text);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

int tlo_report_write_html(const tlo_custody_report *r, FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "style-src 'unsafe-inline'\">\n"
          "<meta name=\"referrer\" content=\"no-referrer\">\n",
          f);
    fprintf(f, "<title>Custody report, case %s</title>\n<style>\n%s</style>\n</head>\n<body>\n",
            r->case_id, style);
    fputs("<h1>Custody report</h1>\n<dl>", f);
    fprintf(f, "<dt>case</dt><dd><span class=\"mono\">%s</span> (internal id)", r->case_id);
    if (r->number_shown) {
        fputs(", number ", f);
        esc(f, r->case_number);
    }
    fputs("</dd><dt>opened</dt><dd>", f);
    utc(f, r->opened_at);
    fputs(" by ", f);
    person(f, r, r->opener);
    fputs("</dd><dt>written</dt><dd>", f);
    utc(f, r->generated_at);
    fputs(", from the custody ledger alone: no key was used, no content of the interview, no "
          "note and no detail of the child is in it</dd></dl>\n",
          f);
    verification(f, r);
    fprintf(f,
            "<section id=\"people\">\n<h2>People (%zu)</h2>\n<table><thead><tr><th>name "
            "(roles)</th><th>key</th></tr></thead><tbody>\n",
            r->npeople);
    for (size_t i = 0; i < r->npeople; i++) {
        fputs("<tr><td>", f);
        person(f, r, (int)i);
        fprintf(f, "</td><td class=\"mono\">%s</td></tr>\n", r->person[i].key_id);
    }
    fputs("</tbody></table>\n</section>\n", f);
    for (size_t i = 0; i < r->nsessions; i++)
        session(f, r, &r->session[i]);
    grants(f, r);
    exports(f, r);
    notes(f, r);
    samples(f, r);
    fprintf(f, "<section id=\"refusals\">\n<h2>Refusals (%zu)</h2>\n", r->nrefusals);
    if (r->nrefusals)
        lines(f, r, r->refusal, r->nrefusals);
    else
        fputs("<p>none</p>\n", f);
    fprintf(f, "</section>\n<section id=\"timeline\">\n<h2>Timeline (%zu entries)</h2>\n",
            r->nlines);
    lines(f, r, r->line, r->nlines);
    fputs("</section>\n</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
