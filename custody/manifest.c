/* The export manifest: its text, written and read (docs/export.md).
 *
 * The manifest is a C2SP signed note by the custodian's ledger key under the
 * ledger's origin as key name, the key 'tellonce checkpoint --verifier-key'
 * prints. Its text is these lines, in this order, each "key value":
 *
 *   tellonce.export-manifest/v1
 *   # ...                             lines for a person saying how to check the clip
 *                                     (help_lines: the same words, with the clip's file
 *                                     name, in every manifest since issue 13; an older
 *                                     manifest has none)
 *   case-id HEX32                     the case's internal id, as entries name it (the
 *                                     number police use is only in the sealed case
 *                                     record: a manifest travels to outsiders)
 *   session HEX32
 *   range HH:MM:SS.mmm HH:MM:SS.mmm   the range granted to this export (access entry)
 *   clip HH:MM:SS.mmm HH:MM:SS.mmm    what the clip holds, from the keyframe at or before
 *   purpose TEXT                      as the access entry logged it
 *   grant N                           the grant entry used
 *   exported-by NAME
 *   exported-by-key HEX64             their Ed25519 public key (the access entry's actor=)
 *   exported-at YYYY-MM-DDTHH:MM:SS.mmmZ   the export entry's time, UTC
 *   access-entry N
 *   export-entry N
 *   tracks KIND:CODEC ...             "video:h264 video:h264 audio:aac"
 *   watermark TEXT                    only with --watermark: the text burned into every
 *                                     picture (the export entry's watermark=)
 *   layout pip                        only with --layout pip or side-by-side (after
 *                                     watermark): the cameras composed into one
 *                                     picture; with --layout camN (layout camN,
 *                                     after watermark if any) camera N alone (layout=)
 *   segment INDEX OBJECT START_MS END_MS PLAINTEXT_SHA256 CIPHERTEXT_SHA256 ENTRY
 *                                     one line per source segment, in order
 *   bytes N                           the clip's size
 *   sha256sum HEX64  FILE             exactly as `sha256sum FILE` prints it
 *   proof access-entry LEN            then LEN bytes: the c2sp.org/tlog-proof@v1
 *   end proof                         of the access entry (which it carries)
 *   proof export-entry LEN            the same for the export entry; both proofs
 *   end proof                         hold the same checkpoint, verbatim
 *
 * The parser reads hostile input: every line is bounded by its buffer, every
 * length by what follows it, and it needs no vault (tests/fuzz/fuzz_manifest.c). */
#include "manifest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MANIFEST_HEADER "tellonce.export-manifest/v1"

void custody_ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

void custody_utc_text(char *out, size_t cap, uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[32];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s.%03lluZ", s, (unsigned long long)(ms % 1000));
}

/* ---- writing -------------------------------------------------------------- */

/* A growing text (never printed: custody/ never prints). */
typedef struct text_buf {
    char *p;
    size_t len, cap;
    bool failed;
} text_buf;

/* Room for n more bytes and a NUL. */
static bool reserve(text_buf *t, size_t n)
{
    if (t->failed)
        return false;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *q = realloc(t->p, cap);
        if (!q) {
            t->failed = true;
            return false;
        }
        t->p = q;
        t->cap = cap;
    }
    return true;
}

static void put_bytes(text_buf *t, const char *s, size_t n)
{
    if (!reserve(t, n))
        return;
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

static void put(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text_buf *t, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n < 0)
        t->failed = true;
    else if (reserve(t, (size_t)n))
        t->len += (size_t)vsnprintf(t->p + t->len, (size_t)n + 1, fmt, again);
    va_end(again);
    va_end(ap);
}

/* How to check the clip, for a clerk who opens the manifest: plain lines,
 * signed with the rest; FILE is the clip's file name. */
static void help_lines(text_buf *t, const char *file)
{
    put(t, "# How to check %s and this manifest:\n", file);
    put(t, "# 1. Get the custodian's verifier key (one line, NAME+HEX+KEY) from the centre\n"
           "#    that made the export, not from the person who sent the clip; on the\n"
           "#    centre's machine 'tellonce checkpoint --verifier-key' prints it. Its NAME\n"
           "#    is the one on the last line of this file.\n");
    put(t, "# 2. In the folder that holds %s and %s.manifest, run\n", file, file);
    put(t, "#      tellonce verify-export '%s' --verifier-key 'KEY'\n", file);
    put(t,
        "#    It is fine when its first line begins \"OK: %s is the clip exported\"\n"
        "#    and its exit status is 0. Anything else means that the clip or this\n"
        "#    manifest is not what the custodian signed: do not rely on it.\n",
        file);
    put(t,
        "# 3. Without tellonce, 'sha256sum -c %s.sha256' in that folder checks the\n"
        "#    clip's bytes only (it prints \"%s: OK\"); the signature needs step 2.\n",
        file, file);
}

int tlo_custody_manifest_format(const tlo_custody_manifest *m, char **text, size_t *len,
                                tlo_error *err)
{
    char a[40], b[40], hex[65], hex2[65], cid[33];
    text_buf t = {0};
    *text = NULL;
    *len = 0;
    tlo_hex(cid, m->case_id, TLO_ID_BYTES);
    put(&t, "%s\n", MANIFEST_HEADER);
    if (m->help)
        help_lines(&t, m->file);
    put(&t, "case-id %s\nsession %s\n", cid, m->session);
    custody_ms_text(a, sizeof a, m->from_ms);
    custody_ms_text(b, sizeof b, m->to_ms);
    put(&t, "range %s %s\n", a, b);
    custody_ms_text(a, sizeof a, m->clip_start_ms);
    custody_ms_text(b, sizeof b, m->clip_end_ms);
    put(&t, "clip %s %s\npurpose %s\ngrant %s\nexported-by %s\n", a, b, m->purpose, m->grant,
        m->by);
    tlo_hex(hex, m->by_pk, 32);
    put(&t, "exported-by-key %s\nexported-at %s\naccess-entry %llu\nexport-entry %llu\ntracks", hex,
        m->at, (unsigned long long)m->access_seq, (unsigned long long)m->export_seq);
    if (m->tracks[0])
        put(&t, " %s", m->tracks);
    put(&t, "\n");
    if (m->watermark[0])
        put(&t, "watermark %s\n", m->watermark);
    if (m->layout[0])
        put(&t, "layout %s\n", m->layout);
    for (size_t i = 0; i < m->nseg; i++) {
        const tlo_custody_manifest_segment *s = &m->seg[i];
        tlo_hex(hex, s->pt, 32);
        tlo_hex(hex2, s->ct, 32);
        put(&t, "segment %llu %s %llu %llu %s %s %llu\n", (unsigned long long)s->index, s->object,
            (unsigned long long)s->start_ms, (unsigned long long)s->end_ms, hex, hex2,
            (unsigned long long)s->seq);
    }
    tlo_hex(hex, m->sha256, 32);
    put(&t, "bytes %llu\nsha256sum %s  %s\n", (unsigned long long)m->bytes, hex, m->file);
    put(&t, "proof access-entry %zu\n", m->proof_len[0]);
    put_bytes(&t, m->proof[0], m->proof_len[0]);
    put(&t, "end proof\nproof export-entry %zu\n", m->proof_len[1]);
    put_bytes(&t, m->proof[1], m->proof_len[1]);
    put(&t, "end proof\n");
    if (t.failed) {
        free(t.p);
        return tlo_fail(err, TLO_ENOMEM, "out of memory for the manifest");
    }
    *text = t.p;
    *len = t.len;
    return 0;
}

void tlo_custody_manifest_free(tlo_custody_manifest *m)
{
    if (!m)
        return;
    free(m->seg);
    m->seg = NULL;
    m->nseg = 0;
}

/* ---- reading -------------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
    unsigned line;
    char *why; /* the reason, TLO_ERROR_MSG_MAX bytes */
} cursor;

#define WHY(c, ...) snprintf((c)->why, TLO_ERROR_MSG_MAX, __VA_ARGS__)

static int next_line(cursor *c, const char **s, size_t *n)
{
    const char *nl = c->p < c->end ? memchr(c->p, '\n', (size_t)(c->end - c->p)) : NULL;
    if (!nl)
        return -1;
    *s = c->p;
    *n = (size_t)(nl - c->p);
    c->p = nl + 1;
    c->line++;
    return 0;
}

/* Reads the line "key value" into out (the value, 1..cap-1 bytes). */
static int line_value(cursor *c, const char *key, char *out, size_t cap)
{
    const char *s;
    size_t n, k = strlen(key);
    if (next_line(c, &s, &n) != 0 || n <= k + 1 || memcmp(s, key, k) != 0 || s[k] != ' ' ||
        n - k - 1 >= cap || memchr(s, '\0', n)) {
        WHY(c, "line %u is not the \"%s\" line it must be", c->line, key);
        return -1;
    }
    memcpy(out, s + k + 1, n - k - 1);
    out[n - k - 1] = '\0';
    return 0;
}

static int hex_value(const char *s, uint8_t *out, size_t len)
{
    return strlen(s) == 2 * len && strspn(s, "0123456789abcdef") == 2 * len &&
                   tlo_unhex(out, len, s) == 0
               ? 0
               : -1;
}

/* A session time exactly as custody_ms_text writes it (hours of 2 to 6
 * digits). */
static int session_time(const char *s, uint64_t *ms)
{
    uint64_t h = 0;
    size_t d = 0;
    char check[24];
    while (s[d] >= '0' && s[d] <= '9' && d < 6)
        h = h * 10 + (uint64_t)(s[d++] - '0');
    const char *t = s + d;
    if (d < 2 || strlen(t) != 10 || t[0] != ':' || t[3] != ':' || t[6] != '.' ||
        strspn(t + 1, "0123456789") != 2 || strspn(t + 4, "0123456789") != 2 ||
        strspn(t + 7, "0123456789") != 3)
        return -1;
    uint64_t mm = (uint64_t)(t[1] - '0') * 10 + (uint64_t)(t[2] - '0');
    uint64_t ss = (uint64_t)(t[4] - '0') * 10 + (uint64_t)(t[5] - '0');
    uint64_t f =
        (uint64_t)(t[7] - '0') * 100 + (uint64_t)(t[8] - '0') * 10 + (uint64_t)(t[9] - '0');
    *ms = ((h * 60 + mm) * 60 + ss) * 1000 + f;
    custody_ms_text(check, sizeof check, *ms);
    return strcmp(check, s) == 0 ? 0 : -1;
}

/* Two session times "HH:MM:SS.mmm HH:MM:SS.mmm". */
static int range_value(const char *s, char out[2][24], uint64_t *a, uint64_t *b)
{
    char x[24], y[24];
    if (sscanf(s, "%23s %23s", x, y) != 2 || session_time(x, a) != 0 || session_time(y, b) != 0)
        return -1;
    snprintf(out[0], 24, "%s", x);
    snprintf(out[1], 24, "%s", y);
    return 0;
}

static int proof_block(cursor *c, const char *name, const char **proof, size_t *len)
{
    char v[64], key[80], tail[2];
    size_t n;
    const char *s;
    snprintf(key, sizeof key, "proof %s", name);
    if (line_value(c, key, v, sizeof v) != 0)
        return -1;
    unsigned long long u;
    if (sscanf(v, "%llu%1s", &u, tail) != 1 || u == 0 || u > TLO_PROOF_MAX_BYTES ||
        u > (unsigned long long)(c->end - c->p)) {
        WHY(c, "line %u: the length of the proof of the %s is not valid", c->line, name);
        return -1;
    }
    *proof = c->p;
    *len = (size_t)u;
    for (const char *q = c->p; q < c->p + u; q++)
        if (*q == '\n')
            c->line++;
    c->p += u;
    if (next_line(c, &s, &n) != 0 || n != 9 || memcmp(s, "end proof", 9) != 0) {
        WHY(c, "line %u: the proof of the %s does not end where its length says", c->line, name);
        return -1;
    }
    return 0;
}

#define FIELD(key, out)                                                                            \
    if (line_value(c, key, out, sizeof out) != 0)                                                  \
    return -1
#define BAD(...)                                                                                   \
    do {                                                                                           \
        WHY(c, __VA_ARGS__);                                                                       \
        return -1;                                                                                 \
    } while (0)

/* From "case-id" to "tracks" and the optional "watermark". */
static int parse_head(cursor *c, tlo_custody_manifest *m)
{
    char v[TLO_NOTE_LINE_MAX + 1];
    const char *s;
    size_t n;
    /* The lines for a person, if any: their words are checked when the
     * text is written again (tlo_custody_manifest_parse). */
    for (unsigned k = 0;; k++) {
        cursor peek = *c;
        if (next_line(&peek, &s, &n) != 0 || n < 1 || s[0] != '#')
            break;
        if (k == 40)
            BAD("line %u: more lines for people than a manifest has", peek.line);
        *c = peek;
        m->help = true;
    }
    FIELD("case-id", v);
    if (hex_value(v, m->case_id, TLO_ID_BYTES) != 0)
        BAD("line %u: case-id is not 32 hex digits", c->line);
    FIELD("session", m->session);
    if (strlen(m->session) != 32 || strspn(m->session, "0123456789abcdef") != 32)
        BAD("line %u: session is not 32 hex digits", c->line);
    FIELD("range", v);
    if (range_value(v, m->range, &m->from_ms, &m->to_ms) != 0)
        BAD("line %u: range is not two session times", c->line);
    FIELD("clip", v);
    if (range_value(v, m->clip, &m->clip_start_ms, &m->clip_end_ms) != 0)
        BAD("line %u: clip is not two session times", c->line);
    FIELD("purpose", m->purpose);
    FIELD("grant", m->grant);
    FIELD("exported-by", m->by);
    FIELD("exported-by-key", v);
    if (hex_value(v, m->by_pk, 32) != 0)
        BAD("line %u: exported-by-key is not 64 hex digits", c->line);
    FIELD("exported-at", m->at);
    FIELD("access-entry", v);
    if (tlo_parse_u64(v, &m->access_seq) != 0)
        BAD("line %u: access-entry is not an entry number", c->line);
    FIELD("export-entry", v);
    if (tlo_parse_u64(v, &m->export_seq) != 0)
        BAD("line %u: export-entry is not an entry number", c->line);
    FIELD("tracks", m->tracks);
    cursor peek = *c; /* an optional watermark line */
    if (next_line(&peek, &s, &n) == 0 && n > 10 && memcmp(s, "watermark ", 10) == 0)
        FIELD("watermark", m->watermark);
    peek = *c; /* an optional layout line: pip, side-by-side or camN */
    if (next_line(&peek, &s, &n) == 0 && n > 7 && memcmp(s, "layout ", 7) == 0) {
        FIELD("layout", m->layout);
        bool composed = !strcmp(m->layout, "pip") || !strcmp(m->layout, "side-by-side");
        bool camera = strlen(m->layout) == 4 && !strncmp(m->layout, "cam", 3) &&
                      m->layout[3] >= '1' && m->layout[3] <= '0' + TLO_PLAYER_MAX_TRACKS;
        if (!(composed && m->watermark[0]) && !camera)
            BAD("line %u: layout is not pip or side-by-side after a watermark, nor cam1 to "
                "cam%d",
                c->line, TLO_PLAYER_MAX_TRACKS);
    }
    return 0;
}

/* One or more segment lines. */
static int parse_segments(cursor *c, tlo_custody_manifest *m)
{
    char v[TLO_NOTE_LINE_MAX + 1], tail[2];
    const char *s;
    size_t n;
    for (;;) {
        cursor peek = *c;
        if (next_line(&peek, &s, &n) != 0 || n < 8 || memcmp(s, "segment ", 8) != 0)
            break;
        if (m->nseg == TLO_PLAYER_EXPORT_MAX_SEGMENTS)
            BAD("more than %d segment lines", TLO_PLAYER_EXPORT_MAX_SEGMENTS);
        FIELD("segment", v);
        tlo_custody_manifest_segment *p = realloc(m->seg, (m->nseg + 1) * sizeof *p);
        if (!p)
            BAD("out of memory");
        m->seg = p;
        tlo_custody_manifest_segment *g = &m->seg[m->nseg++];
        memset(g, 0, sizeof *g);
        char idx[24], a[24], b[24], pt[72], ct[72], seq[24];
        if (sscanf(v, "%23s %32s %23s %23s %71s %71s %23s%1s", idx, g->object, a, b, pt, ct, seq,
                   tail) != 7 ||
            tlo_parse_u64(idx, &g->index) != 0 || strlen(g->object) != 32 ||
            tlo_parse_u64(a, &g->start_ms) != 0 || tlo_parse_u64(b, &g->end_ms) != 0 ||
            hex_value(pt, g->pt, 32) != 0 || hex_value(ct, g->ct, 32) != 0 ||
            tlo_parse_u64(seq, &g->seq) != 0)
            BAD("line %u: a segment line must be INDEX OBJECT START_MS END_MS "
                "PLAINTEXT_SHA256 CIPHERTEXT_SHA256 ENTRY",
                c->line);
    }
    if (m->nseg == 0)
        BAD("line %u: there is no segment line", c->line + 1);
    return 0;
}

/* "bytes", "sha256sum" and the two proofs, to the end. */
static int parse_tail(cursor *c, tlo_custody_manifest *m)
{
    char v[TLO_NOTE_LINE_MAX + 1];
    FIELD("bytes", v);
    if (tlo_parse_u64(v, &m->bytes) != 0)
        BAD("line %u: bytes is not a number", c->line);
    FIELD("sha256sum", v);
    if (strlen(v) < 67 || v[64] != ' ' || v[65] != ' ' || strlen(v + 66) >= sizeof m->file)
        BAD("line %u: sha256sum is not as sha256sum prints it", c->line);
    v[64] = '\0';
    if (hex_value(v, m->sha256, 32) != 0)
        BAD("line %u: sha256sum is not as sha256sum prints it", c->line);
    snprintf(m->file, sizeof m->file, "%s", v + 66);
    if (proof_block(c, "access-entry", &m->proof[0], &m->proof_len[0]) != 0 ||
        proof_block(c, "export-entry", &m->proof[1], &m->proof_len[1]) != 0)
        return -1;
    if (c->p != c->end)
        BAD("line %u: text follows the last proof", c->line + 1);
    return 0;
}

#undef FIELD
#undef BAD

int tlo_custody_manifest_parse(const char *text, size_t len, tlo_custody_manifest *m,
                               tlo_error *err)
{
    char why[TLO_ERROR_MSG_MAX] = "";
    cursor c = {.p = text, .end = text + len, .why = why};
    const char *s;
    size_t n;
    memset(m, 0, sizeof *m);
    if (next_line(&c, &s, &n) != 0 || n != strlen(MANIFEST_HEADER) ||
        memcmp(s, MANIFEST_HEADER, n) != 0) {
        WHY(&c, "its first line is not %s", MANIFEST_HEADER);
    } else if (parse_head(&c, m) == 0 && parse_segments(&c, m) == 0 && parse_tail(&c, m) == 0) {
        /* One spelling of one manifest: what the writer makes of it must be
         * the text read (no second space, tab or trailing word slips by). */
        char *again = NULL;
        size_t alen = 0;
        int same = tlo_custody_manifest_format(m, &again, &alen, NULL) == 0 && alen == len &&
                   memcmp(again, text, len) == 0;
        free(again);
        if (same)
            return 0;
        WHY(&c, "it is not written the one way tellonce writes a manifest (spacing, order)");
    }
    tlo_custody_manifest_free(m);
    memset(m, 0, sizeof *m);
    return tlo_fail(err, TLO_EFORMAT, "%s", why);
}
