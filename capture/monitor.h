/* The live monitor of a recording or a preview (internal to capture/).
 *
 * A pipeline of its own, apart from the recording's: each camera's encoded
 * frames are handed to it in memory (tlo_monitor_push, from a leaky queue of
 * the recording), decoded, labelled and put side by side, with a level
 * meter per microphone and a sign: a red "REC" with the session time while
 * recording, "NOT RECORDING" in a preview. It shows in a window, or goes as
 * JPEG frames to a callback (the custodian service's client window). It is
 * never evidence and nothing of it is kept. Whatever happens to it (no
 * display, a window that fails to start, is closed, or whose display goes
 * away) never reaches the recording: it only stops showing. */
#ifndef TLO_CAPTURE_MONITOR_H
#define TLO_CAPTURE_MONITOR_H

#include "capture.h"

#include <gst/gst.h>

typedef struct tlo_monitor tlo_monitor;

/* Builds it (nothing opens yet). recording: the REC sign, else NOT
 * RECORDING. preview: JPEG frames instead of a window (may be NULL). NULL
 * with err filled when an element is missing. */
tlo_monitor *tlo_monitor_new(const tlo_hw_room *room, bool recording,
                             void (*preview)(void *ctx, const uint8_t *jpeg, size_t len),
                             void *preview_ctx, tlo_error *err);

/* Opens the window and starts it. 0, or an error saying why it cannot show
 * (no display); the monitor is then off for good. */
int tlo_monitor_start(tlo_monitor *m, tlo_error *err);

/* One encoded frame of camera i (0-based); any thread; never blocks. */
void tlo_monitor_push(tlo_monitor *m, unsigned i, GstSample *sample);

/* About every 100 ms from the recording's loop: the sign's time, the meters
 * and the cameras' warnings from st. Returns true once, when the monitor
 * stopped (its error in why). */
bool tlo_monitor_poll(tlo_monitor *m, const tlo_capture_stats *st, char *why, size_t cap);

/* NULL-safe. */
void tlo_monitor_free(tlo_monitor *m);

#endif
