/* tellonce player — the play hand-over: everything the showing part of
 * `tellonce play` needs, decided by the custodian's side, as one value that
 * travels (in the service, from the custodian's child to the viewer's
 * client, with one read-only fd per segment beside it).
 *
 * The text (one encoding per meaning; every field bounded and checked by
 * the parser, which takes it as hostile input):
 *
 *   tellonce/v1 play-handover\n
 *   access=N\n          the access entry that logged this view
 *   from_ms=N\n         the range released, on the session clock (from < to)
 *   to_ms=N\n
 *   headless=0|1\n      the player option: decode without a window
 *   watermark=TEXT\n    burned into the picture (one line, 1..TLO_PLAYER_WATERMARK_MAX)
 *   layout=TEXT\n       how the cameras are laid out (layout.h: side-by-side, pip, camN)
 *   title=TEXT\n        the window's title (one line, 1..TLO_PLAY_HANDOVER_TITLE_MAX)
 *   started_ms=N\n      when the session started (UTC ms since 1970, from its entry)
 *   zone=NAME\n         the vault's display zone for pip's date and time
 *                       (tlo_time.h), or empty for the system's
 *   session_ms=N\n      the session's length on its clock, the play window's
 *                       time axis: to_ms or more
 *   segments=N\n        1..TLO_PLAY_HANDOVER_MAX_SEGMENTS, then N lines:
 *   seg=INDEX START_MS END_MS BYTES SEQ OBJECT PT CT KEY\n
 *                       decimal numbers (no leading zeros), OBJECT 32, PT and
 *                       CT (plaintext and ciphertext SHA-256) 64, KEY (the
 *                       object key) 128 lower-case hex digits; in session
 *                       order (INDEX increasing), each overlapping the range
 *   markers=N\n         0..TLO_PLAY_HANDOVER_MAX_MARKERS, then N lines:
 *   mark=MS\n           a marker's session time, inside the range, in time
 *                       order (the window's bar draws a tick for each)
 *   end\n
 *
 * The fd of segment i is the i-th fd that came with it; the player checks
 * the file's SHA-256 against CT, and the plaintext against PT, before use.
 * The text carries keys: it is kept in secure memory and wiped. */
#ifndef TLO_PLAYER_HANDOVER_H
#define TLO_PLAYER_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "player.h"
#include "tlo_time.h"

#define TLO_PLAY_HANDOVER_MAX_SEGMENTS TLO_PLAYER_EXPORT_MAX_SEGMENTS
#define TLO_PLAY_HANDOVER_TITLE_MAX 512
#define TLO_PLAY_HANDOVER_MAX_MARKERS 1000
/* The longest text: the header and TLO_PLAY_HANDOVER_MAX_SEGMENTS lines. */
#define TLO_PLAY_HANDOVER_SEG_LINE_MAX (4 + 5 * 21 + 33 + 3 * 65 + 129 + 1)
#define TLO_PLAY_HANDOVER_MAX_BYTES                                                                \
    (2048 + TLO_PLAYER_WATERMARK_MAX + TLO_PLAY_HANDOVER_TITLE_MAX +                               \
     TLO_PLAY_HANDOVER_MAX_SEGMENTS * TLO_PLAY_HANDOVER_SEG_LINE_MAX +                             \
     TLO_PLAY_HANDOVER_MAX_MARKERS * 26)

typedef struct tlo_play_handover_segment {
    uint64_t index, start_ms, end_ms, bytes, seq;
    char object[33]; /* its object id, for messages */
    uint8_t plaintext_sha256[32], ciphertext_sha256[32];
    uint8_t *key; /* TLO_OBJECT_KEY_BYTES, inside the value's secure memory */
} tlo_play_handover_segment;

typedef struct tlo_play_handover {
    uint64_t access_seq, from_ms, to_ms;
    bool headless;
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1];
    char layout[16];                             /* layout.h's text */
    char title[TLO_PLAY_HANDOVER_TITLE_MAX + 1]; /* of the window */
    uint64_t started_ms;                         /* the session's start, UTC ms */
    char zone[TLO_TIME_ZONE_MAX +
              1];        /* the vault's display zone (tlo_time.h), "" for the system's */
    uint64_t session_ms; /* the session's length: to_ms or more */
    size_t nmarks;
    uint64_t marks[TLO_PLAY_HANDOVER_MAX_MARKERS]; /* in time order, inside the range */
    size_t n;
    tlo_play_handover_segment *seg; /* malloc'd */
    uint8_t *keys;                  /* n * TLO_OBJECT_KEY_BYTES of sodium_malloc memory */
} tlo_play_handover;

/* Room for n segments in h (zeroed first; seg[i].key point into h->keys).
 * 0, or TLO_EARG (n out of 1..MAX) / TLO_ENOMEM with h empty. */
int tlo_play_handover_alloc(tlo_play_handover *h, size_t n, tlo_error *err);

/* Wipes the keys and frees. NULL-safe; h may be reused. */
void tlo_play_handover_free(tlo_play_handover *h);

/* The text of h into *out (sodium_malloc'd, NUL-terminated, *len bytes:
 * release with tlo_play_handover_text_free). h must be what the parser
 * accepts (TLO_EARG otherwise, naming the field). */
int tlo_play_handover_encode(const tlo_play_handover *h, char **out, size_t *len, tlo_error *err);
void tlo_play_handover_text_free(char *text);

/* Parses a hand-over's text (hostile input). 0 with *out filled (free with
 * tlo_play_handover_free), or TLO_EFORMAT saying which line is wrong
 * (TLO_ENOMEM), with *out zeroed. */
int tlo_play_handover_parse(const char *text, size_t len, tlo_play_handover *out, tlo_error *err);

/* Where segment line k (0..n; n: the markers= line after them) starts in a text encode
 * made, so that a sender can cut it between segments (to send each piece
 * with its segments' fds). len when there is no such line. */
size_t tlo_play_handover_offset(const char *text, size_t len, size_t k);

#endif
