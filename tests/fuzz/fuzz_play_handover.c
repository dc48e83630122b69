/* Fuzz harness: the play hand-over (player/handover.h) is hostile input:
 * in the service the viewer's client parses what came over the socket from
 * the custodian's child, and a hostile process on either end could send
 * anything. A hand-over that parses must:
 *   - be bounded: 1 to TLO_PLAY_HANDOVER_MAX_SEGMENTS segments, a range with
 *     from before to, every segment overlapping it, in session order, its
 *     keys inside the value's secure memory, the watermark one line;
 *   - encode back to exactly the input (one spelling of one hand-over), and
 *     each cut point tlo_play_handover_offset names must start a line;
 * a failed parse leaves the value zeroed. None may crash, leak or read out
 * of bounds.
 *
 * Seeds: hand-overs made here (one and three segments, a window and
 * headless, a watermark with Chinese text). */
#include "handover.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const tlo_play_handover zero;
    tlo_play_handover h;
    tlo_error err;
    if (sodium_init() < 0)
        abort();
    if (tlo_play_handover_parse((const char *)data, size, &h, &err) != 0) {
        if (memcmp(&h, &zero, sizeof h) != 0 || err.code == 0 ||
            !memchr(err.msg, '\0', sizeof err.msg))
            abort(); /* a failed parse left fields behind, or said nothing */
        return 0;
    }
    if (h.n == 0 || h.n > TLO_PLAY_HANDOVER_MAX_SEGMENTS || h.from_ms >= h.to_ms || !h.keys ||
        !memchr(h.watermark, '\0', sizeof h.watermark) ||
        !tlo_text_ok(h.watermark, TLO_PLAYER_WATERMARK_MAX))
        abort();
    for (size_t i = 0; i < h.n; i++) {
        const tlo_play_handover_segment *s = &h.seg[i];
        if (s->key != h.keys + i * TLO_OBJECT_KEY_BYTES || s->start_ms >= s->end_ms ||
            s->end_ms <= h.from_ms || s->start_ms >= h.to_ms || s->object[32] != '\0' ||
            (i > 0 && s->index <= h.seg[i - 1].index))
            abort();
    }
    char *text = NULL;
    size_t len = 0;
    if (tlo_play_handover_encode(&h, &text, &len, &err) != 0 || len != size ||
        memcmp(text, data, size) != 0)
        abort(); /* two spellings of one hand-over */
    for (size_t k = 0; k <= h.n; k++) {
        size_t o = tlo_play_handover_offset(text, len, k);
        if (o == 0 || o >= len || text[o - 1] != '\n')
            abort();
    }
    tlo_play_handover_text_free(text);
    tlo_play_handover_free(&h);
    return 0;
}

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const char *marks[] = {"VIEWED BY Per Prosecutor - CASE 2026-0042 -",
                                  "VIEWED BY 张警官 - CASE 2026-刑-0042 -", "VIEWED BY A & <B> -"};
    int rc = 0;
    if (sodium_init() < 0)
        return 1;
    for (size_t v = 0; v < 3 && rc == 0; v++) {
        tlo_play_handover h;
        size_t n = v == 1 ? 3 : 1;
        if (tlo_play_handover_alloc(&h, n, NULL) != 0)
            return 1;
        h.access_seq = 40 + v;
        h.from_ms = 1000 * v;
        h.to_ms = 1000 * v + 4000 * n - 1;
        h.headless = v != 2;
        snprintf(h.watermark, sizeof h.watermark, "%s", marks[v]);
        snprintf(h.layout, sizeof h.layout, "%s",
                 v == 1   ? "pip"
                 : v == 2 ? "cam2"
                          : "side-by-side");
        snprintf(h.title, sizeof h.title, "tellonce play - case %zu", v);
        h.started_ms = 1796000000000 + v;
        snprintf(h.zone, sizeof h.zone, "%s", v == 1 ? "Asia/Shanghai" : "");
        h.session_ms = h.to_ms + 1000 * v;
        h.nmarks = v == 1 ? 2 : 0;
        h.marks[0] = h.from_ms + 500;
        h.marks[1] = h.from_ms + 2500;
        for (size_t i = 0; i < n; i++) {
            tlo_play_handover_segment *s = &h.seg[i];
            s->index = 2 * v + i;
            s->start_ms = 4000 * i;
            s->end_ms = 4000 * (i + 1) + v;
            s->bytes = 700000 + 17 * i;
            s->seq = 9 + i;
            snprintf(s->object, sizeof s->object, "%016zx%016zx", v, i);
            memset(s->plaintext_sha256, 0x40 + (int)i, 32);
            memset(s->ciphertext_sha256, 0x80 + (int)i, 32);
            for (size_t k = 0; k < TLO_OBJECT_KEY_BYTES; k++)
                s->key[k] = (uint8_t)(k * 13 + i);
        }
        char *text = NULL;
        size_t len = 0;
        rc = tlo_play_handover_encode(&h, &text, &len, NULL) == 0
                 ? emit(ctx, (const uint8_t *)text, len)
                 : 1;
        tlo_play_handover_text_free(text);
        tlo_play_handover_free(&h);
    }
    return rc;
}
