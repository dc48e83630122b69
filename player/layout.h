/* tellonce player — how the cameras of a clip are laid out in play and in
 * a re-encoded export (--layout).
 *
 *   side-by-side  every camera, left to right (the default)
 *   pip           picture-in-picture: camera 2 as an inset a quarter of
 *                 camera 1's width in its bottom-right corner, with the
 *                 session clock and the local date and time of the
 *                 recording burned in (the recording rules ask for both)
 *   camN          one camera: N as the room profile numbers it ([camera N]);
 *                 also written cameraN or N
 *
 * The originals stay separate tracks in the vault and in a stream-copy
 * export: a layout is made when the clip is shown or re-encoded. */
#ifndef TLO_PLAYER_LAYOUT_H
#define TLO_PLAYER_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    TLO_LAYOUT_SIDE_BY_SIDE = 0,
    TLO_LAYOUT_PIP = 1,
    TLO_LAYOUT_CAMERA = 2,
} tlo_layout_kind;

typedef struct tlo_layout {
    tlo_layout_kind kind;
    unsigned camera; /* TLO_LAYOUT_CAMERA: 1..TLO_PLAYER_MAX_TRACKS; else 0 */
} tlo_layout;

/* text as above into *out: 0, or -1 (out is side-by-side) for anything else. */
int tlo_layout_parse(const char *text, tlo_layout *out);

/* The canonical text of l ("side-by-side", "pip", "cam2") into out. */
void tlo_layout_text(const tlo_layout *l, char *out, size_t cap);

/* The layout after l when a viewer presses the layout key, for a clip of
 * cameras cameras: side-by-side, pip (with 2 or more), cam1 .. camN, and
 * round again. */
tlo_layout tlo_layout_next(const tlo_layout *l, unsigned cameras);

/* pip's clock: "HH:MM:SS" of the session clock, then the local date and
 * time of that moment of the recording with its offset ("2026-12-01
 * 22:40:05 +08:00", tlo_time_text: the display zone, which the front end
 * sets to the vault's timezone setting) when started_ms (the session's
 * start, UTC ms) is not 0. */
void tlo_layout_clock_text(uint64_t started_ms, uint64_t session_ms, char *out, size_t cap);

/* A test hook, called with each clock text as it is burned in: with
 * TELLONCE_TEST_PIP_CLOCK=FILE in the environment, the first of a process
 * is appended to FILE as a line (what the picture shows anyway), so a test
 * reads the text without reading pixels. Otherwise nothing. */
void tlo_layout_clock_shown(const char *text);

#endif
