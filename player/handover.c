/* The play hand-over's text: encoder and (hostile-input) parser. The format
 * is in handover.h. */
#include "handover.h"
#include "layout.h"
#include "tlo_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAGIC "tellonce/v1 play-handover\n"
#define LINE_MAX_BYTES (TLO_PLAYER_WATERMARK_MAX + 16)

int tlo_play_handover_alloc(tlo_play_handover *h, size_t n, tlo_error *err)
{
    memset(h, 0, sizeof *h);
    if (n == 0 || n > TLO_PLAY_HANDOVER_MAX_SEGMENTS)
        return tlo_fail(err, TLO_EARG, "a play hand-over holds 1 to %d segments, not %zu",
                        TLO_PLAY_HANDOVER_MAX_SEGMENTS, n);
    h->seg = calloc(n, sizeof *h->seg);
    h->keys = sodium_malloc(n * TLO_OBJECT_KEY_BYTES);
    if (!h->seg || !h->keys) {
        free(h->seg);
        if (h->keys)
            sodium_free(h->keys);
        memset(h, 0, sizeof *h);
        return tlo_fail(err, TLO_ENOMEM, "out of memory (or locked memory) for %zu segment keys",
                        n);
    }
    sodium_memzero(h->keys, n * TLO_OBJECT_KEY_BYTES);
    h->n = n;
    for (size_t i = 0; i < n; i++)
        h->seg[i].key = h->keys + i * TLO_OBJECT_KEY_BYTES;
    return 0;
}

void tlo_play_handover_free(tlo_play_handover *h)
{
    if (!h)
        return;
    if (h->keys)
        sodium_free(h->keys); /* wipes */
    free(h->seg);
    memset(h, 0, sizeof *h);
}

void tlo_play_handover_text_free(char *text)
{
    if (text)
        sodium_free(text);
}

/* What the parser checks of the whole value, for the encoder too: NULL or
 * what is wrong. */
static const char *value_wrong(const tlo_play_handover *h, size_t *at)
{
    *at = 0;
    if (h->from_ms >= h->to_ms)
        return "from_ms is not before to_ms";
    if (h->access_seq == 0)
        return "no access entry";
    if (!tlo_text_ok(h->watermark, TLO_PLAYER_WATERMARK_MAX))
        return "the watermark is not one line of text of 1 to 1024 bytes";
    tlo_layout l;
    if (tlo_layout_parse(h->layout, &l) != 0)
        return "the layout is not side-by-side, pip or camN";
    if (!tlo_text_ok(h->title, TLO_PLAY_HANDOVER_TITLE_MAX))
        return "the title is not one line of text of 1 to 512 bytes";
    if (h->zone[0] && !tlo_time_zone_valid(h->zone))
        return "the zone is not a time zone of this machine";
    if (h->session_ms < h->to_ms)
        return "the session's length is before the range's end";
    if (h->nmarks > TLO_PLAY_HANDOVER_MAX_MARKERS)
        return "more markers than a hand-over holds";
    for (size_t i = 0; i < h->nmarks; i++)
        if (h->marks[i] < h->from_ms || h->marks[i] > h->to_ms ||
            (i > 0 && h->marks[i] < h->marks[i - 1]))
            return "a marker outside the range or out of time order";
    if (h->n == 0 || h->n > TLO_PLAY_HANDOVER_MAX_SEGMENTS || !h->seg || !h->keys)
        return "the segment count is out of range";
    for (size_t i = 0; i < h->n; i++) {
        const tlo_play_handover_segment *s = &h->seg[i];
        *at = i + 1;
        if (s->start_ms >= s->end_ms)
            return "a segment that ends before it starts";
        if (s->end_ms <= h->from_ms || s->start_ms >= h->to_ms)
            return "a segment outside the range";
        if (i > 0 && (s->index <= h->seg[i - 1].index || s->start_ms < h->seg[i - 1].start_ms))
            return "segments out of session order";
        if (strlen(s->object) != 32 || strspn(s->object, "0123456789abcdef") != 32)
            return "an object id that is not 32 lower-case hex digits";
        if (s->bytes == 0 || s->seq == 0)
            return "a segment without its size or entry";
        if (s->key != h->keys + i * TLO_OBJECT_KEY_BYTES)
            return "a key outside the value's secure memory";
    }
    *at = 0;
    return NULL;
}

int tlo_play_handover_encode(const tlo_play_handover *h, char **out, size_t *len, tlo_error *err)
{
    size_t at;
    *out = NULL;
    *len = 0;
    const char *wrong = value_wrong(h, &at);
    if (wrong)
        return at ? tlo_fail(err, TLO_EARG, "play hand-over, segment %zu: %s", at - 1, wrong)
                  : tlo_fail(err, TLO_EARG, "play hand-over: %s", wrong);
    size_t cap = 800 + strlen(h->watermark) + strlen(h->title) +
                 h->n * TLO_PLAY_HANDOVER_SEG_LINE_MAX + h->nmarks * 26;
    char *t = sodium_malloc(cap);
    if (!t)
        return tlo_fail(err, TLO_ENOMEM, "out of locked memory for a play hand-over");
    size_t n = (size_t)snprintf(t, cap,
                                MAGIC "access=%llu\nfrom_ms=%llu\nto_ms=%llu\nheadless=%d\n"
                                      "watermark=%s\nlayout=%s\ntitle=%s\nstarted_ms=%llu\n"
                                      "zone=%s\nsession_ms=%llu\nsegments=%zu\n",
                                (unsigned long long)h->access_seq, (unsigned long long)h->from_ms,
                                (unsigned long long)h->to_ms, h->headless ? 1 : 0, h->watermark,
                                h->layout, h->title, (unsigned long long)h->started_ms, h->zone,
                                (unsigned long long)h->session_ms, h->n);
    for (size_t i = 0; i < h->n && n < cap; i++) {
        const tlo_play_handover_segment *s = &h->seg[i];
        char pt[65], ct[65], key[2 * TLO_OBJECT_KEY_BYTES + 1];
        tlo_hex(pt, s->plaintext_sha256, 32);
        tlo_hex(ct, s->ciphertext_sha256, 32);
        tlo_hex(key, s->key, TLO_OBJECT_KEY_BYTES);
        n += (size_t)snprintf(t + n, cap - n, "seg=%llu %llu %llu %llu %llu %s %s %s %s\n",
                              (unsigned long long)s->index, (unsigned long long)s->start_ms,
                              (unsigned long long)s->end_ms, (unsigned long long)s->bytes,
                              (unsigned long long)s->seq, s->object, pt, ct, key);
        sodium_memzero(key, sizeof key);
    }
    if (n < cap)
        n += (size_t)snprintf(t + n, cap - n, "markers=%zu\n", h->nmarks);
    for (size_t i = 0; i < h->nmarks && n < cap; i++)
        n += (size_t)snprintf(t + n, cap - n, "mark=%llu\n", (unsigned long long)h->marks[i]);
    if (n < cap)
        n += (size_t)snprintf(t + n, cap - n, "end\n");
    if (n >= cap) { /* cannot happen: cap counts every line at its longest */
        sodium_free(t);
        return tlo_fail(err, TLO_EARG, "play hand-over: the text does not fit");
    }
    *out = t;
    *len = n;
    return 0;
}

/* ---- the parser --------------------------------------------------------- */

typedef struct reader {
    const char *p, *end;
    unsigned line; /* 1-based, of the line read last */
    char buf[LINE_MAX_BYTES + 1];
} reader;

/* The next line, without its newline, NUL-terminated into r->buf; NULL when
 * there is none, it is too long or holds a NUL. */
static const char *next_line(reader *r)
{
    r->line++;
    if (r->p >= r->end)
        return NULL;
    const char *nl = memchr(r->p, '\n', (size_t)(r->end - r->p));
    if (!nl || (size_t)(nl - r->p) > LINE_MAX_BYTES || memchr(r->p, '\0', (size_t)(nl - r->p)))
        return NULL;
    size_t n = (size_t)(nl - r->p);
    memcpy(r->buf, r->p, n);
    r->buf[n] = '\0';
    r->p = nl + 1;
    return r->buf;
}

/* A decimal number as the encoder writes it: no sign, no leading zero,
 * fits 63 bits (no time or count in tellonce comes near). */
static bool number(const char *s, size_t n, uint64_t *v)
{
    char tmp[24];
    if (n == 0 || n > 19 || (n > 1 && s[0] == '0'))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return strspn(tmp, "0123456789") == n && tlo_parse_u64(tmp, v) == 0 && *v <= INT64_MAX;
}

/* "key=N" */
static bool field_u64(const char *line, const char *key, uint64_t *v)
{
    size_t k = strlen(key);
    return line && !strncmp(line, key, k) && line[k] == '=' &&
           number(line + k + 1, strlen(line + k + 1), v);
}

/* Exactly len lower-case hex digits into out (len/2 bytes). */
static bool hex_field(const char *s, size_t len, uint8_t *out)
{
    char tmp[2 * TLO_OBJECT_KEY_BYTES + 1];
    if (len > sizeof tmp - 1)
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    bool ok = strspn(tmp, "0123456789abcdef") == len && tlo_unhex(out, len / 2, tmp) == 0;
    sodium_memzero(tmp, sizeof tmp);
    return ok;
}

/* "seg=..." into s (its key into s->key). */
static bool seg_line(const char *line, tlo_play_handover_segment *s)
{
    static const size_t hex_len[4] = {32, 64, 64, 2 * TLO_OBJECT_KEY_BYTES};
    uint64_t *num[5] = {&s->index, &s->start_ms, &s->end_ms, &s->bytes, &s->seq};
    uint8_t obj[16];
    uint8_t *hex_out[4] = {obj, s->plaintext_sha256, s->ciphertext_sha256, s->key};
    if (strncmp(line, "seg=", 4) != 0)
        return false;
    const char *p = line + 4;
    for (int f = 0; f < 9; f++) {
        const char *sp = strchr(p, ' ');
        size_t n = f < 8 ? (sp ? (size_t)(sp - p) : 0) : strlen(p);
        if (f < 8 && !sp)
            return false;
        if (f < 5 ? !number(p, n, num[f]) : n != hex_len[f - 5] || !hex_field(p, n, hex_out[f - 5]))
            return false;
        if (f == 5)
            memcpy(s->object, p, 32), s->object[32] = '\0';
        p += n + 1;
    }
    return true;
}

int tlo_play_handover_parse(const char *text, size_t len, tlo_play_handover *out, tlo_error *err)
{
    reader *r = malloc(sizeof *r);
    uint64_t access = 0, from = 0, to = 0, headless = 0, n = 0, started = 0, length = 0, marks = 0;
    char zone[TLO_TIME_ZONE_MAX + 1] = "";
    char *watermark = calloc(1, TLO_PLAYER_WATERMARK_MAX + 1);
    char layout[16] = "", *title = calloc(1, TLO_PLAY_HANDOVER_TITLE_MAX + 1);
    tlo_layout lay;
    tlo_play_handover h;
    memset(out, 0, sizeof *out);
    memset(&h, 0, sizeof h);
    if (!r || !watermark || !title) {
        free(r);
        free(watermark);
        free(title);
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading a play hand-over");
    }
    *r = (reader){.p = text, .end = text + len};
    const char *bad = NULL, *line;
    if (!text || len > TLO_PLAY_HANDOVER_MAX_BYTES)
        bad = "it is larger than a hand-over can be";
    else if (!(line = next_line(r)) || strcmp(line, "tellonce/v1 play-handover") != 0)
        bad = "it does not start with \"tellonce/v1 play-handover\"";
    else if (!field_u64(next_line(r), "access", &access) || access == 0)
        bad = "access=N expected";
    else if (!field_u64(next_line(r), "from_ms", &from))
        bad = "from_ms=N expected";
    else if (!field_u64(next_line(r), "to_ms", &to) || to <= from)
        bad = "to_ms=N after from_ms expected";
    else if (!field_u64(next_line(r), "headless", &headless) || headless > 1)
        bad = "headless=0 or headless=1 expected";
    else if (!(line = next_line(r)) || strncmp(line, "watermark=", 10) != 0 ||
             !tlo_text_ok(line + 10, TLO_PLAYER_WATERMARK_MAX))
        bad = "watermark=TEXT expected (one line of text, 1 to 1024 bytes)";
    else
        memcpy(watermark, line + 10, strlen(line + 10) + 1);
    if (!bad && (!(line = next_line(r)) || strncmp(line, "layout=", 7) != 0 ||
                 strlen(line + 7) >= sizeof layout || tlo_layout_parse(line + 7, &lay) != 0))
        bad = "layout=side-by-side, layout=pip or layout=camN expected";
    else if (!bad)
        memcpy(layout, line + 7, strlen(line + 7) + 1);
    if (!bad && (!(line = next_line(r)) || strncmp(line, "title=", 6) != 0 ||
                 !tlo_text_ok(line + 6, TLO_PLAY_HANDOVER_TITLE_MAX)))
        bad = "title=TEXT expected (one line of text, 1 to 512 bytes)";
    else if (!bad)
        memcpy(title, line + 6, strlen(line + 6) + 1);
    if (!bad && !field_u64(next_line(r), "started_ms", &started))
        bad = "started_ms=N expected";
    if (!bad &&
        (!(line = next_line(r)) || strncmp(line, "zone=", 5) != 0 ||
         strlen(line + 5) > TLO_TIME_ZONE_MAX || (line[5] && !tlo_time_zone_valid(line + 5))))
        bad = "zone=NAME expected (a time zone of this machine, or empty)";
    else if (!bad)
        memcpy(zone, line + 5, strlen(line + 5) + 1);
    if (!bad && (!field_u64(next_line(r), "session_ms", &length) || length < to))
        bad = "session_ms=N expected, to_ms or more";
    if (!bad &&
        (!field_u64(next_line(r), "segments", &n) || n == 0 || n > TLO_PLAY_HANDOVER_MAX_SEGMENTS))
        bad = "segments=N expected, 1 to 3600";
    int rc = 0;
    if (!bad && (rc = tlo_play_handover_alloc(&h, (size_t)n, err)) != 0)
        goto out;
    memcpy(h.watermark, watermark, sizeof h.watermark);
    memcpy(h.layout, layout, sizeof h.layout);
    memcpy(h.title, title, sizeof h.title);
    h.started_ms = started;
    memcpy(h.zone, zone, sizeof h.zone);
    h.session_ms = length;
    h.access_seq = access;
    h.from_ms = from;
    h.to_ms = to;
    h.headless = headless == 1;
    for (size_t i = 0; !bad && i < h.n; i++) {
        const char *sl = next_line(r);
        if (!sl || !seg_line(sl, &h.seg[i]))
            bad = "seg=INDEX START_MS END_MS BYTES SEQ OBJECT PT CT KEY expected";
        sodium_memzero(r->buf, sizeof r->buf); /* it held a key */
    }
    if (!bad &&
        (!field_u64(next_line(r), "markers", &marks) || marks > TLO_PLAY_HANDOVER_MAX_MARKERS))
        bad = "markers=N expected, 0 to 1000";
    for (uint64_t i = 0; !bad && i < marks; i++)
        if (!field_u64(next_line(r), "mark", &h.marks[h.nmarks++]))
            bad = "mark=MS expected";
    size_t at = 0;
    const char *wrong = bad ? NULL : value_wrong(&h, &at);
    if (!bad && wrong)
        bad = wrong;
    else if (!bad && (!(line = next_line(r)) || strcmp(line, "end") != 0))
        bad = "the line \"end\" expected";
    else if (!bad && r->p != r->end)
        bad = "bytes after the end line";
    if (bad)
        rc = at ? tlo_fail(err, TLO_EFORMAT,
                           "the play hand-over is refused: segment %zu: %s; it did not come "
                           "from a tellonce custodian of this version",
                           at - 1, bad)
                : tlo_fail(err, TLO_EFORMAT,
                           "the play hand-over is refused at line %u: %s; it did not come from "
                           "a tellonce custodian of this version",
                           r->line, bad);
out:
    sodium_memzero(r->buf, sizeof r->buf);
    free(r);
    free(watermark);
    free(title);
    if (rc) {
        tlo_play_handover_free(&h);
        return rc;
    }
    *out = h;
    return 0;
}

size_t tlo_play_handover_offset(const char *text, size_t len, size_t k)
{
    /* The segment lines follow the header's 12 lines; line 12 + k. */
    size_t line = 0, want = 12 + k;
    for (size_t i = 0; i < len; i++) {
        if (line == want)
            return i;
        if (text[i] == '\n')
            line++;
    }
    return len;
}
