/* The auditor's report as one self-contained HTML file (docs/report.md):
 * no script, no font, image or stylesheet from anywhere (a CSP meta says
 * so to the browser too), a print stylesheet, and the coverage chart of
 * each session as inline SVG. Every text is HTML-escaped: names, purposes,
 * markers and reasons come from the ledger and are hostile. */
#include "report.h"

#include <inttypes.h>
#include <stdarg.h>
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

/* The person's words as the log says them ("王芳 (prosecutor)", "the
 * custodian", "an unknown key"), in the reader's language. */
static void person_text(const tlo_custody_report *r, int i, char *out, size_t cap)
{
    tlo_custody_person p = {0};
    if (i < 0 || (size_t)i >= r->npeople) {
        tlo_custody_person_words(NULL, out, cap);
        return;
    }
    snprintf(p.name, sizeof p.name, "%s", r->person[i].name);
    p.roles = r->person[i].roles;
    tlo_custody_person_words(&p, out, cap);
}

static void person(FILE *f, const tlo_custody_report *r, int i)
{
    char buf[TLO_NAME_MAX + 420];
    person_text(r, i, buf, sizeof buf);
    esc(f, buf);
}

/* A chart's label: the person cut to 26 characters (the whole name is in
 * the row's title and the tables). */
static void label(FILE *f, const tlo_custody_report *r, int i)
{
    char buf[TLO_NAME_MAX + 420];
    size_t k = 0, chars = 0;
    person_text(r, i, buf, sizeof buf);
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

/* A table's head: the names (N_ marked) in the reader's language. */
static void thead(FILE *f, const char *const *names, size_t n)
{
    fputs("<table><thead><tr>", f);
    for (size_t i = 0; i < n; i++) {
        fputs("<th>", f);
        esc(f, _(names[i]));
        fputs("</th>", f);
    }
    fputs("</tr></thead><tbody>\n", f);
}
#define THEAD(f, ...)                                                                              \
    do {                                                                                           \
        static const char *const names_[] = {__VA_ARGS__};                                         \
        thead(f, names_, sizeof names_ / sizeof names_[0]);                                        \
    } while (0)

/* A heading with a count: fmt one translatable literal ("Markers (%zu)"). */
static void heading(FILE *f, const char *tag, const char *text)
{
    fprintf(f, "<%s>", tag);
    esc(f, text);
    fprintf(f, "</%s>\n", tag);
}

/* The status and state words of the model (sessions, grants, samples) and
 * in the reader's language; another value as it is (the values a person
 * types, kinds and actions, stay as typed). */
static const char *word(const char *w)
{
    static const char *const t[] = {/* TRANSLATORS: a session's status in the report */
                                    N_("open"), N_("ended"), N_("failed"), N_("recovered"),
                                    /* TRANSLATORS: a grant's status in the report */
                                    N_("active"), N_("expired"), N_("revoked"),
                                    /* TRANSLATORS: a sample's state in the report */
                                    N_("held"), N_("in transfer"), N_("disposed")};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(w, t[i]))
            return _(t[i]);
    return w;
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

/* Row i of a session's chart: the person of rows[i], and a rectangle for
 * each of their views (upper half) and exports (lower half). */
static void chart_row(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s,
                      const int *rows, size_t i)
{
    unsigned y = TLO_REPORT_CHART_TOP + (unsigned)i * (TLO_REPORT_CHART_ROW + TLO_REPORT_CHART_GAP);
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
                a->exp ? "export" : "view", a->seq, a->from_ms, a->to_ms, x1,
                a->exp ? y + TLO_REPORT_CHART_ROW / 2 : y, w,
                a->exp ? TLO_REPORT_CHART_ROW - TLO_REPORT_CHART_ROW / 2 : TLO_REPORT_CHART_ROW / 2,
                a->exp ? TLO_REPORT_FILL_EXPORT : TLO_REPORT_FILL_VIEW);
        /* TRANSLATORS: a band's tooltip: the entry's number, then a range */
        fprintf(f, _("entry %llu: "), (unsigned long long)a->seq);
        range(f, a->from_ms, a->to_ms);
        fputs("</title></rect>\n", f);
    }
    fputs("</g>\n", f);
}

static void chart(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    /* One row per person, however many: a chart that stopped at some count
     * would hide who else viewed the session. */
    int *rows = s->naccess ? calloc(s->naccess, sizeof *rows) : NULL;
    if (s->naccess && !rows) {
        fputs("<p>", f);
        esc(f, _("Out of memory: the chart is not drawn; the table below lists every access."));
        fputs("</p>\n", f);
        return;
    }
    size_t n = chart_rows(s, rows);
    const unsigned W = TLO_REPORT_CHART_LABEL + TLO_REPORT_CHART_AXIS + 24;
    const unsigned H = TLO_REPORT_CHART_TOP +
                       (unsigned)(n ? n : 1) * (TLO_REPORT_CHART_ROW + TLO_REPORT_CHART_GAP) + 4;
    fprintf(f,
            "<svg class=\"coverage\" width=\"%u\" "
            "height=\"%u\" viewBox=\"0 0 %u %u\" shape-rendering=\"crispEdges\" "
            "data-session=\"%u\" data-length-ms=\"%" PRIu64 "\" data-label-px=\"%d\" "
            "data-axis-px=\"%d\" role=\"img\" aria-label=\"",
            W, H, W, H, s->no, s->length_ms, TLO_REPORT_CHART_LABEL, TLO_REPORT_CHART_AXIS);
    char aria[200];
    /* TRANSLATORS: the chart's label for screen readers; the session's number */
    snprintf(aria, sizeof aria, _("who viewed which part of session %u"), s->no);
    esc(f, aria);
    fputs("\">\n", f);
    axis(f, s->length_ms);
    if (!n) {
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#555\">",
                TLO_REPORT_CHART_LABEL, TLO_REPORT_CHART_TOP + 14);
        esc(f, _("nobody viewed or exported any part of this session"));
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < n; i++)
        chart_row(f, r, s, rows, i);
    free(rows);
    fputs("</svg>\n", f);
    fprintf(f, "<p class=\"legend muted\"><span style=\"background:%s\"></span>",
            TLO_REPORT_FILL_VIEW);
    /* TRANSLATORS: the chart's legend: a blue band */
    esc(f, _("viewed"));
    fprintf(f, "<span style=\"background:%s\"></span>", TLO_REPORT_FILL_EXPORT);
    /* TRANSLATORS: the chart's legend: an orange band */
    esc(f, _("released to export"));
    fprintf(f, "<span style=\"background:%s\"></span>", TLO_REPORT_FILL_ROW);
    /* TRANSLATORS: the chart's legend: a grey row */
    esc(f, _("not accessed"));
    fputs("</p>\n", f);
}

/* A term of a <dl>: name N_ marked, in the reader's language. */
static void dt(FILE *f, const char *name)
{
    fputs("<dt>", f);
    esc(f, _(name));
    fputs("</dt>", f);
}

/* A session's facts: who, where, when, how long, its segments and gaps. */
static void session_facts(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    char b[300];
    fputs("<dl>", f);
    dt(f, N_("id"));
    fputs("<dd class=\"mono\">", f);
    esc(f, s->id); /* 32 hex digits in a ledger that verifies; escaped in one that does not */
    fputs("</dd>", f);
    dt(f, N_("recorded by"));
    fputs("<dd>", f);
    person(f, r, s->recorder);
    fputs("</dd>", f);
    dt(f, N_("room"));
    fputs("<dd>", f);
    esc(f, s->room);
    /* TRANSLATORS: after the room's name: how many cameras and microphones */
    snprintf(b, sizeof b,
             dngettext(TLO_TEXT_DOMAIN, " (%llu camera, ", " (%llu cameras, ", s->cameras),
             (unsigned long long)s->cameras);
    esc(f, b);
    /* TRANSLATORS: after " (2 cameras, " */
    snprintf(b, sizeof b,
             dngettext(TLO_TEXT_DOMAIN, "%llu microphone)", "%llu microphones)", s->microphones),
             (unsigned long long)s->microphones);
    esc(f, b);
    fputs("</dd>", f);
    dt(f, N_("started"));
    fputs("<dd>", f);
    utc(f, s->started_at);
    fputs("</dd>", f);
    dt(f, N_("status"));
    fputs("<dd>", f);
    esc(f, word(s->status));
    if (s->closed_at) {
        fputs(", ", f);
        utc(f, s->closed_at);
    }
    fputs("</dd>", f);
    dt(f, N_("length"));
    fputs("<dd>", f);
    clock_(f, s->length_ms);
    fputs("</dd>", f);
    dt(f, N_("segments"));
    /* TRANSLATORS: segments of a session, and the bytes sealed in them */
    snprintf(b, sizeof b, _("%llu (%llu sealed bytes)"), (unsigned long long)s->segments,
             (unsigned long long)s->bytes);
    fputs("<dd>", f);
    esc(f, b);
    fputs("</dd>", f);
    dt(f, N_("gaps"));
    fputs("<dd>", f);
    if (!s->ngaps)
        esc(f, _("none: the media is continuous"));
    fputs("</dd></dl>\n", f);
}

/* The gaps in a session's media, when it has any. */
static void session_gaps(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    (void)r;
    if (s->ngaps) {
        /* TRANSLATORS: a table's heads: a gap in the media, the segment it follows */
        THEAD(f, N_("gap"), N_("after segment"));
        for (size_t i = 0; i < s->ngaps; i++) {
            fputs("<tr><td>", f);
            range(f, s->gap[i].from_ms, s->gap[i].to_ms);
            fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td></tr>", s->gap[i].after_index);
        }
        fputs("</tbody></table>\n", f);
    }
}

/* Every view and export of a session, one row each. */
static void session_access(FILE *f, const tlo_custody_report *r,
                           const tlo_custody_report_session *s)
{
    if (s->naccess) {
        /* TRANSLATORS: a table's heads (entry: the ledger entry's number) */
        THEAD(f, N_("entry"), N_("when"), N_("who"), N_("what"), N_("range"), N_("purpose"),
              N_("grant"));
        for (size_t i = 0; i < s->naccess; i++) {
            const tlo_custody_report_access *a = &s->access[i];
            fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", a->seq);
            utc(f, a->time_ms);
            fputs("</td><td>", f);
            person(f, r, a->person);
            fputs("</td><td>", f);
            esc(f, a->exp ? _("released to export") : _("viewed"));
            fputs("</td><td>", f);
            range(f, a->from_ms, a->to_ms);
            fputs("</td><td>", f);
            esc(f, a->purpose);
            fputs("</td><td>", f);
            esc(f, a->grant);
            fputs("</td></tr>\n", f);
        }
        fputs("</tbody></table>\n", f);
    }
}

/* A session's markers. */
static void session_markers(FILE *f, const tlo_custody_report *r,
                            const tlo_custody_report_session *s)
{
    char b[300];
    /* TRANSLATORS: a heading: how many markers the session has */
    snprintf(b, sizeof b, _("Markers (%zu)"), s->nmarkers);
    heading(f, "h3", b);
    if (s->nmarkers) {
        /* TRANSLATORS: a table's heads (at: a time on the session clock) */
        THEAD(f, N_("entry"), N_("at"), N_("by"), N_("text"));
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
}

/* A session's device events. */
static void session_devices(FILE *f, const tlo_custody_report *r,
                            const tlo_custody_report_session *s)
{
    char b[300];
    (void)r;
    /* TRANSLATORS: a heading: how many device events (a camera lost...) */
    snprintf(b, sizeof b, _("Device events (%zu)"), s->ndevices);
    heading(f, "h3", b);
    if (s->ndevices) {
        /* TRANSLATORS: a table's heads (then: what the recording did next) */
        THEAD(f, N_("entry"), N_("at"), N_("device"), N_("event"), N_("message"), N_("then"));
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
}

static void session(FILE *f, const tlo_custody_report *r, const tlo_custody_report_session *s)
{
    char b[300];
    fprintf(f, "<section class=\"session\" id=\"session-%u\">\n", s->no);
    /* TRANSLATORS: a heading: the session's number in its case */
    snprintf(b, sizeof b, _("Session %u"), s->no);
    heading(f, "h2", b);
    session_facts(f, r, s);
    session_gaps(f, r, s);
    heading(f, "h3", _("Who viewed or exported which part"));
    chart(f, r, s);
    session_access(f, r, s);
    session_markers(f, r, s);
    session_devices(f, r, s);
    fputs("</section>\n", f);
}

/* A paragraph of one sentence (a translated literal, formatted). */
static void para(FILE *f, const char *cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void para(FILE *f, const char *cls, const char *fmt, ...)
{
    char b[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (cls)
        fprintf(f, "<p class=\"%s\">", cls);
    else
        fputs("<p>", f);
    esc(f, b);
    fputs("</p>\n", f);
}

static void verification(FILE *f, const tlo_custody_report *r)
{
    char b[400];
    fputs("<section id=\"verification\">\n", f);
    heading(f, "h2", _("Verification"));
    if (r->verified) {
        fputs("<p><span class=\"ok\">", f);
        /* TRANSLATORS: the verification's result, in green */
        esc(f, _("OK"));
        fputs("</span>", f);
        /* TRANSLATORS: after "OK" */
        snprintf(b, sizeof b,
                 _(": all %llu entries of the ledger verified (every link, signature and the "
                   "Merkle root), the checkpoints and the sealed files too."),
                 (unsigned long long)r->entries);
        esc(f, b);
        fputs("</p>\n", f);
    } else {
        fputs("<p><span class=\"bad\">", f);
        /* TRANSLATORS: the verification's result, in red */
        esc(f, _("FAILED"));
        fputs("</span>: ", f);
        esc(f, r->problem);
        fputs(" ", f);
        esc(f, _("Nothing below can be relied on until this is resolved."));
        fputs("</p>\n", f);
    }
    if (r->checkpoint_size) {
        fputs("<dl>", f);
        dt(f, N_("checkpoint"));
        /* TRANSLATORS: the newest checkpoint, and how many entries it covers */
        snprintf(b, sizeof b, _("the newest the custodian signed: %llu entries"),
                 (unsigned long long)r->checkpoint_size);
        fputs("<dd>", f);
        esc(f, b);
        fputs("</dd>", f);
        dt(f, N_("root (hex)"));
        fprintf(f, "<dd class=\"mono\">%s</dd>", r->checkpoint_root);
        dt(f, N_("root (base64)"));
        fprintf(f, "<dd class=\"mono\">%s</dd></dl>\n", r->checkpoint_b64);
    }
    if (r->checkpoint_size && r->entries > r->checkpoint_size)
        para(f, NULL,
             _("The last %llu entries are not yet covered by a checkpoint: a cut of them would not "
               "be seen until the next one."),
             (unsigned long long)(r->entries - r->checkpoint_size));
    else if (r->checkpoint_size)
        para(f, NULL, "%s", _("Every entry is covered by that checkpoint."));
    else
        para(f, "bad", "%s",
             _("The vault holds no checkpoint: nothing shows that entries were not cut from its "
               "end."));
    para(f, NULL, "%s",
         _("To check it independently, with the custodian's verifier key kept outside the vault, "
           "on a copy of the vault:"));
    fputs("<pre>", f);
    esc(f, r->verify_command);
    fputs("</pre>\n</section>\n", f);
}

/* A section's start: its id and its heading (already in words). */
static void section(FILE *f, const char *id, const char *title)
{
    fprintf(f, "<section id=\"%s\">\n", id);
    heading(f, "h2", title);
}

/* "none", the paragraph of an empty section. */
static void none(FILE *f)
{
    fputs("<p>", f);
    /* TRANSLATORS: an empty section of the report (no grants, no exports...) */
    esc(f, _("none"));
    fputs("</p>", f);
}
static void grants(FILE *f, const tlo_custody_report *r)
{
    char b[200];
    /* TRANSLATORS: a heading: how many grants */
    snprintf(b, sizeof b, _("Grants (%zu)"), r->ngrants);
    section(f, "grants", b);
    if (!r->ngrants) {
        none(f);
        fputs("</section>\n", f);
        return;
    }
    /* TRANSLATORS: a table's heads (of: what the grant covers; actions: view, export, read) */
    THEAD(f, N_("grant"), N_("status"), N_("by"), N_("to"), N_("of"), N_("actions"), N_("expires"),
          N_("purpose"));
    for (size_t i = 0; i < r->ngrants; i++) {
        const tlo_custody_report_grant *g = &r->grant[i];
        fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", g->seq);
        esc(f, word(g->status));
        if (g->revoked_seq)
            /* TRANSLATORS: after "revoked": the entry that revoked it */
            fprintf(f, _(" (entry %llu)"), (unsigned long long)g->revoked_seq);
        fputs("</td><td>", f);
        person(f, r, g->by);
        fputs("</td><td>", f);
        if (g->to >= 0)
            person(f, r, g->to);
        else
            esc(f, g->to_name);
        fputs("</td><td>", f);
        if (g->note) {
            /* TRANSLATORS: the Nth note of a case */
            fprintf(f, _("note %u"), g->note_no);
        } else {
            range(f, g->from_ms, g->until_ms);
            /* TRANSLATORS: after a range of the session clock: which session */
            fprintf(f, _(" of session %u"), g->session_no);
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
    char b[200];
    /* TRANSLATORS: a heading: how many exports */
    snprintf(b, sizeof b, _("Exports (%zu)"), r->nexports);
    section(f, "exports", b);
    if (!r->nexports) {
        none(f);
        fputs("</section>\n", f);
        return;
    }
    /* TRANSLATORS: a table's heads */
    THEAD(f, N_("entry"), N_("when"), N_("by"), N_("clip"), N_("bytes"), N_("SHA-256"));
    for (size_t i = 0; i < r->nexports; i++) {
        const tlo_custody_report_export *x = &r->exp[i];
        fprintf(f, "<tr><td class=\"n\">%" PRIu64 "</td><td>", x->seq);
        utc(f, x->time_ms);
        fputs("</td><td>", f);
        person(f, r, x->person);
        fputs("</td><td>", f);
        range(f, x->clip_start_ms, x->clip_end_ms);
        /* TRANSLATORS: after the clip's range: its session, then the range asked for */
        fprintf(f, _(" of session %u (asked "), x->session_no);
        range(f, x->from_ms, x->to_ms);
        /* TRANSLATORS: closes " (asked " */
        fputs(_(")"), f);
        fprintf(f, "</td><td class=\"n\">%" PRIu64 "</td><td class=\"mono\">", x->bytes);
        esc(f, x->sha256);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static void notes(FILE *f, const tlo_custody_report *r)
{
    char b[200];
    /* TRANSLATORS: a heading: how many notes */
    snprintf(b, sizeof b, _("Notes (%zu)"), r->nnotes);
    section(f, "notes", b);
    para(f, "muted", "%s",
         _("Metadata only: the ledger holds no note's text, title or file names."));
    if (!r->nnotes) {
        none(f);
        fputs("</section>\n", f);
        return;
    }
    /* TRANSLATORS: a table's heads (refers to: a time of a session the note is about) */
    THEAD(f, N_("note"), N_("kind"), N_("version"), N_("entry"), N_("when"), N_("by"), N_("files"),
          N_("sealed bytes"), N_("text bytes"), N_("refers to"));
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
                fprintf(f, _(" of session %u"), v->session_no);
            }
            fputs("</td></tr>\n", f);
        }
        fputs("<tr><td></td><td colspan=\"9\" class=\"muted\">", f);
        /* TRANSLATORS: how often a note was read, and how often reading it was refused */
        snprintf(b, sizeof b, _("read %llu times, refused %llu times"),
                 (unsigned long long)n->reads, (unsigned long long)n->refused);
        esc(f, b);
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n</section>\n", f);
}

static void samples(FILE *f, const tlo_custody_report *r)
{
    char b[200];
    /* TRANSLATORS: a heading: how many samples */
    snprintf(b, sizeof b, _("Samples (%zu)"), r->nsamples);
    section(f, "samples", b);
    if (!r->nsamples) {
        none(f);
        fputs("\n", f);
    }
    for (size_t i = 0; i < r->nsamples; i++) {
        const tlo_custody_report_sample *s = &r->sample[i];
        fputs("<h3>", f);
        esc(f, s->label);
        fputs(" (", f);
        esc(f, s->kind);
        /* TRANSLATORS: in a sample's heading "S-001 (swab, seal 42): held by ...": before the
         * seal's number */
        esc(f, _(", seal "));
        esc(f, s->seal_number);
        fputs("): ", f);
        esc(f, word(s->state));
        if (!strcmp(s->state, "in transfer")) {
            /* TRANSLATORS: after "in transfer": to whom */
            esc(f, _(" to "));
            esc(f, s->to_name);
        } else if (!strcmp(s->state, "held")) {
            /* TRANSLATORS: after "held": by whom */
            esc(f, _(" by "));
            person(f, r, s->holder);
        }
        if (s->broken_seal) {
            fputs(" <span class=\"broken\">", f);
            esc(f, _("SEAL BROKEN"));
            fputs("</span>", f);
        }
        fputs("</h3>\n", f);
        /* TRANSLATORS: a table's heads (custody: what happened to the sample) */
        THEAD(f, N_("entry"), N_("when"), N_("custody"));
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
    /* TRANSLATORS: a table's heads (kind: the entry's kind name, which stays English) */
    THEAD(f, N_("entry"), N_("when"), N_("kind"), N_("what"));
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

const char *tlo_report_lang(void)
{
    /* TRANSLATORS: this translation's language as an HTML lang code
     * (<html lang="...">): zh-CN for Simplified Chinese */
    const char *lang = _("en");
    /* one code, letters, digits and '-' (it goes into an attribute) */
    for (const char *c = lang; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-'))
            return "en";
    return *lang ? lang : "en";
}

int tlo_report_write_html(const tlo_custody_report *r, FILE *f)
{
    char b[400];
    fprintf(f,
            "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n",
            tlo_report_lang());
    /* TRANSLATORS: the page's title: the case's internal id (32 hex digits) */
    snprintf(b, sizeof b, _("Custody report, case %s"), r->case_id);
    fputs("<title>", f);
    esc(f, b);
    fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    heading(f, "h1", _("Custody report"));
    fputs("<dl>", f);
    dt(f, N_("case"));
    fprintf(f, "<dd><span class=\"mono\">%s</span>", r->case_id);
    /* TRANSLATORS: after the case's 32 hex digits */
    esc(f, _(" (internal id)"));
    if (r->number_shown) {
        /* TRANSLATORS: before the case's number (as the case was opened) */
        esc(f, _(", number "));
        esc(f, r->case_number);
    }
    fputs("</dd>", f);
    dt(f, N_("opened"));
    fputs("<dd>", f);
    utc(f, r->opened_at);
    /* TRANSLATORS: between when the case was opened and who opened it */
    esc(f, _(" by "));
    person(f, r, r->opener);
    fputs("</dd>", f);
    dt(f, N_("written"));
    fputs("<dd>", f);
    utc(f, r->generated_at);
    /* TRANSLATORS: after the time the report was written */
    esc(f, _(", from the custody ledger alone: no key was used, no content of the interview, no "
             "note and no detail of the child is in it"));
    fputs("</dd></dl>\n", f);
    verification(f, r);
    /* TRANSLATORS: a heading: how many people the vault knows */
    snprintf(b, sizeof b, _("People (%zu)"), r->npeople);
    section(f, "people", b);
    /* TRANSLATORS: a table's heads (key: the first hex digits of the person's key) */
    THEAD(f, N_("name (roles)"), N_("key"));
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
    /* TRANSLATORS: a heading: how many refusals */
    snprintf(b, sizeof b, _("Refusals (%zu)"), r->nrefusals);
    section(f, "refusals", b);
    if (r->nrefusals)
        lines(f, r, r->refusal, r->nrefusals);
    else
        none(f);
    fputs("</section>\n", f);
    /* TRANSLATORS: a heading: every entry of the case, how many */
    snprintf(b, sizeof b, _("Timeline (%zu entries)"), r->nlines);
    section(f, "timeline", b);
    lines(f, r, r->line, r->nlines);
    fputs("</section>\n</body>\n</html>\n", f);
    return ferror(f) ? -1 : 0;
}
