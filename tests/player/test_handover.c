/* player: the play hand-over (player/handover.h), the value the custodian's
 * side gives the showing part of play. handover_roundtrip: encode then parse
 * gives the value back, keys included, in secure memory. handover_hostile_
 * refused: what a hostile service or client could send instead is refused,
 * each with a message naming what is wrong, and leaves nothing behind. */
#include "handover.h"
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void fill(tlo_play_handover *h, size_t n)
{
    CHECK(tlo_play_handover_alloc(h, n, NULL) == 0);
    h->access_seq = 41;
    h->from_ms = 3000;
    h->to_ms = 9000;
    h->headless = true;
    snprintf(h->watermark, sizeof h->watermark, "VIEWED BY 张警官 - CASE 2026-刑-0042 -");
    snprintf(h->layout, sizeof h->layout, "pip");
    snprintf(h->title, sizeof h->title, "tellonce play - case 2026-刑-0042 - 张警官");
    h->started_ms = 1796000000000;
    snprintf(h->zone, sizeof h->zone, "Asia/Shanghai");
    h->session_ms = 20000;
    h->nmarks = 2;
    h->marks[0] = 4500;
    h->marks[1] = 8000;
    for (size_t i = 0; i < h->n; i++) {
        tlo_play_handover_segment *s = &h->seg[i];
        s->index = i;
        s->start_ms = 4000 * i;
        s->end_ms = 4000 * (i + 1);
        s->bytes = 100000 + i;
        s->seq = 10 + i;
        snprintf(s->object, sizeof s->object, "%032zx", i + 0xabc);
        memset(s->plaintext_sha256, 0x11 + (int)i, 32);
        memset(s->ciphertext_sha256, 0x22 + (int)i, 32);
        memset(s->key, 0x33 + (int)i, TLO_OBJECT_KEY_BYTES);
    }
}

static void check_roundtrip(void)
{
    tlo_play_handover h, back;
    tlo_error err = {0};
    char *text = NULL;
    size_t len = 0;
    fill(&h, 3);
    CHECK_MSG(tlo_play_handover_encode(&h, &text, &len, &err) == 0, "%s", err.msg);
    CHECK_MSG(text && tlo_play_handover_parse(text, len, &back, &err) == 0, "%s", err.msg);
    CHECK(back.n == 3 && back.access_seq == 41 && back.from_ms == 3000 && back.to_ms == 9000 &&
          back.headless && !strcmp(back.watermark, h.watermark));
    CHECK(!strcmp(back.layout, "pip") && !strcmp(back.title, h.title) &&
          back.started_ms == 1796000000000);
    CHECK(!strcmp(back.zone, "Asia/Shanghai") && back.session_ms == 20000 && back.nmarks == 2 &&
          back.marks[0] == 4500 && back.marks[1] == 8000);
    for (size_t i = 0; back.n == 3 && i < 3; i++) {
        CHECK(back.seg[i].index == i && back.seg[i].start_ms == 4000 * i &&
              back.seg[i].bytes == 100000 + i && back.seg[i].seq == 10 + i &&
              !strcmp(back.seg[i].object, h.seg[i].object));
        CHECK(!memcmp(back.seg[i].ciphertext_sha256, h.seg[i].ciphertext_sha256, 32) &&
              !memcmp(back.seg[i].plaintext_sha256, h.seg[i].plaintext_sha256, 32));
        CHECK(!memcmp(back.seg[i].key, h.seg[i].key, TLO_OBJECT_KEY_BYTES));
        CHECK(back.seg[i].key == back.keys + i * TLO_OBJECT_KEY_BYTES);
    }
    /* Where a sender cuts it: segment lines, then the markers after them. */
    size_t o1 = tlo_play_handover_offset(text, len, 1), o3 = tlo_play_handover_offset(text, len, 3);
    CHECK(o1 < len && !strncmp(text + o1, "seg=1 ", 6));
    CHECK(o3 < len && !strcmp(text + o3, "markers=2\nmark=4500\nmark=8000\nend\n"));
    CHECK(tlo_play_handover_offset(text, len, 100) == len);
    tlo_play_handover_text_free(text);
    tlo_play_handover_free(&back);
    tlo_play_handover_free(&h);
}

/* The text of a good value with `from` replaced by `to` (once). */
static char *edited(const char *from, const char *to, size_t *len)
{
    tlo_play_handover h;
    char *text = NULL, *out = NULL;
    size_t n = 0;
    fill(&h, 2);
    if (tlo_play_handover_encode(&h, &text, &n, NULL) == 0) {
        char *at = strstr(text, from);
        CHECK_MSG(at != NULL, "'%s' not in the text", from);
        if (at && (out = malloc(n + strlen(to) + 1)) != NULL) {
            size_t pre = (size_t)(at - text);
            memcpy(out, text, pre);
            strcpy(out + pre, to);
            strcat(out, at + strlen(from));
            *len = strlen(out);
            for (size_t i = 0; i < *len; i++)
                if (out[i] == '\x01') /* stands for a NUL */
                    out[i] = '\0';
        }
    }
    tlo_play_handover_text_free(text);
    tlo_play_handover_free(&h);
    return out;
}

static void refused(const char *what, const char *from, const char *to, const char *needle)
{
    size_t len = 0;
    char *t = edited(from, to, &len);
    tlo_play_handover h;
    tlo_error err = {0};
    static const tlo_play_handover zero;
    if (!t)
        return;
    int rc = tlo_play_handover_parse(t, len, &h, &err);
    CHECK_MSG(rc == TLO_EFORMAT, "%s: accepted (%d)", what, rc);
    CHECK_MSG(strstr(err.msg, needle) && strstr(err.msg, "refused"), "%s: message \"%s\" lacks %s",
              what, err.msg, needle);
    CHECK_MSG(!memcmp(&h, &zero, sizeof h), "%s: fields left behind", what);
    free(t);
}

static void check_hostile(void)
{
    char seg0[600];
    refused("another magic", "play-handover", "play-handoveR", "line 1");
    refused("a leading zero", "from_ms=3000", "from_ms=03000", "from_ms");
    refused("an empty range", "to_ms=9000", "to_ms=3000", "to_ms");
    refused("a range past 63 bits", "to_ms=9000", "to_ms=99999999999999999999", "to_ms");
    refused("headless=2", "headless=1", "headless=2", "headless");
    refused("a control character in the watermark", "VIEWED BY", "VIEWED\tBY", "watermark");
    refused("a direction override in the watermark", "VIEWED BY",
            "VIEWED \xe2\x80\xae"
            "BY",
            "watermark");
    refused("an empty watermark", "watermark=VIEWED BY 张警官 - CASE 2026-刑-0042 -",
            "watermark=", "watermark");
    refused("an unknown layout", "layout=pip", "layout=mosaic", "layout");
    refused("camera 0", "layout=pip", "layout=cam0", "layout");
    refused("an empty title", "title=tellonce play - case 2026-刑-0042 - 张警官",
            "title=", "title");
    refused("a control character in the title", "title=tellonce play", "title=tellonce\x1bplay",
            "title");
    refused("no started_ms", "started_ms=1796000000000", "started=1796000000000", "started_ms");
    refused("more segments than lines", "segments=2", "segments=3", "seg=");
    refused("fewer segments than lines", "segments=2", "segments=1", "markers");
    refused("a zone this machine has not", "zone=Asia/Shanghai", "zone=Asia/Atlantis", "zone");
    refused("a zone outside zoneinfo", "zone=Asia/Shanghai", "zone=../../etc/passwd", "zone");
    refused("a session shorter than the range", "session_ms=20000", "session_ms=8000",
            "session_ms");
    refused("a marker before the range", "mark=4500", "mark=2000", "marker");
    refused("a marker after the range", "mark=8000", "mark=9001", "marker");
    refused("markers out of order", "mark=4500\nmark=8000", "mark=8000\nmark=4500", "marker");
    refused("more markers than lines", "markers=2", "markers=3", "mark=");
    refused("too many markers", "markers=2", "markers=1001", "markers");
    refused("no segments", "segments=2", "segments=0", "segments");
    refused("too many segments", "segments=2", "segments=3601", "segments");
    refused("upper-case hex", "seg=0 0 4000 100000 10 00000000000000000000000000000abc",
            "seg=0 0 4000 100000 10 00000000000000000000000000000ABC", "seg=");
    refused("a short key", "3333333333333333\n", "33333333333333\n", "seg=");
    refused("a segment outside the range", "seg=0 0 4000", "seg=0 0 3000", "segment 0");
    refused("segments out of order", "seg=1 4000", "seg=0 4000", "segment 1");
    refused("a segment that ends before it starts", "seg=1 4000 8000", "seg=1 8000 8000",
            "segment 1");
    refused("a NUL in a line", "access=41", "access=4\x01", "line 2");
    refused("bytes after the end", "end\n", "end\nmore\n", "after the end");
    refused("no end line", "end\n", "", "end");
    refused("an extra space", "seg=1 ", "seg=1  ", "seg=");
    snprintf(seg0, sizeof seg0, "access=0");
    refused("no access entry", "access=41", seg0, "access");
    /* Cut anywhere: refused, never read past the length. */
    tlo_play_handover h;
    char *text = NULL;
    size_t len = 0;
    fill(&h, 2);
    CHECK(tlo_play_handover_encode(&h, &text, &len, NULL) == 0);
    tlo_play_handover_free(&h);
    unsigned accepted = 0;
    for (size_t cut = 0; text && cut < len; cut++) {
        tlo_error err = {0};
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, text, cut);
        if (tlo_play_handover_parse(copy, cut, &h, &err) == 0)
            accepted++;
        tlo_play_handover_free(&h);
        free(copy);
    }
    CHECK_MSG(accepted == 0, "%u cut texts accepted", accepted);
    tlo_play_handover_text_free(text);
    /* The encoder refuses what the parser would. */
    fill(&h, 1);
    h.to_ms = h.from_ms;
    tlo_error err = {0};
    CHECK_ERR(tlo_play_handover_encode(&h, &text, &len, &err), err, TLO_EARG, "from_ms");
    tlo_play_handover_free(&h);
    CHECK_ERR(tlo_play_handover_alloc(&h, 0, &err), err, TLO_EARG, "1 to 3600");
    CHECK_ERR(tlo_play_handover_alloc(&h, 3601, &err), err, TLO_EARG, "1 to 3600");
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    check_roundtrip();
    check_hostile();
    return tu_finish("handover");
}
