/* tellonce player — the playback window: the cameras of a clip side by side
 * with the viewer's watermark burned in, the audio, and seeking within the
 * granted range. The front end supplies keys and shows the status. */
#ifndef TLO_PLAYER_WINDOW_H
#define TLO_PLAYER_WINDOW_H

#include <stdbool.h>

#include "clip.h"
#include "layout.h"

typedef enum { TLO_WINDOW_PLAYING, TLO_WINDOW_PAUSED, TLO_WINDOW_ENDED } tlo_window_state;

typedef struct tlo_window_params {
    const tlo_clip_segment *segs; /* the released segments, in session order */
    size_t nsegs;
    uint64_t from_ms, to_ms; /* the range released: playback and seeks stay inside it */
    /* Burned in as written: the custodian side's text ("VIEWED BY NAME -
     * CASE NUMBER - date and time of the access"), never the viewer's. */
    const char *watermark;
    tlo_layout layout;   /* the first layout; the key l switches (layout.h) */
    const char *title;   /* the window's title (the layout is added), or NULL */
    uint64_t started_ms; /* the session's start (UTC ms), for pip's date and time; 0: unknown */
    /* The bar along the bottom of the window (never in an export): the
     * session's time axis 0..session_ms (to_ms or more), the range released
     * on it, the position, and a tick for each marker (nmarks session
     * times inside the range, in time order). */
    uint64_t session_ms;
    const uint64_t *marks;
    size_t nmarks;
    /* The viewer's keys from the terminal, or NULL: returns 0 (none), ' '
     * (pause), 'q', 'R' or 'L' (seek 10 s), 'l' (the next layout). With keys, the last frame stays
     * at the end of the range until q or a seek back; without, the end of
     * the range ends playback. */
    int (*read_key)(void *ctx);
    /* Called a few times a second with where playback is, or NULL. */
    void (*status)(void *ctx, tlo_window_state state, uint64_t at_ms);
    void *ctx;
} tlo_window_params;

/* Plays the clip in a window until the end (or q). Calls gst_init. 0, or a
 * negative code with err saying what failed (a segment that fails
 * authentication, a window that cannot be built). */
int tlo_window_play(const tlo_window_params *p, tlo_error *err);

#endif
