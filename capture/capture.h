/* tellonce capture — record one session into sealed segments.
 *
 * A GStreamer pipeline encodes every camera as its own H.264 track and the
 * microphone as AAC, and splitmuxsink cuts the stream at keyframes into
 * segments of fragmented MP4 (0.5 s fragments, a keyframe every 0.5 s). Each segment's bytes go
 * from the muxer, through an appsink, straight into a vault writer: sealed chunk by chunk as they
 * arrive, never written in plaintext. When a segment closes it is finished, fsynced, and handed to
 * the caller, who logs it.
 *
 * This first version records the built-in simulated room only (test patterns
 * with a running clock, a test tone); room profiles and devices come with hw/. */
#ifndef TLO_CAPTURE_H
#define TLO_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "vault.h"

typedef struct tlo_capture_config {
    unsigned cameras;       /* simulated cameras, 1..4 */
    unsigned width, height; /* per camera */
    unsigned fps;
    unsigned segment_seconds;  /* target segment length (cut at the next keyframe) */
    unsigned duration_seconds; /* stop after this much media; 0: until tlo_capture_stop */
    bool live;                 /* real-time sources; false runs as fast as possible (tests) */
    const char *objects_dir;   /* where sealed segments are written */
    uint8_t case_id[TLO_ID_BYTES];
} tlo_capture_config;

/* One sealed, durable segment. */
typedef struct tlo_capture_segment {
    uint64_t index;         /* 0, 1, 2, ... in recording order */
    uint64_t wall_start_ms; /* UTC ms when its first byte arrived */
    uint64_t wall_end_ms;   /* UTC ms when it was sealed and fsynced */
    uint8_t object_id[TLO_ID_BYTES];
    tlo_vault_digests digests;
    char path[4096];
} tlo_capture_segment;

/* Called (from a streaming thread) for each segment once it is durable.
 * Return 0, or a negative code (with err filled) to stop the recording. */
typedef int (*tlo_capture_segment_fn)(void *ctx, const tlo_capture_segment *seg, tlo_error *err);

typedef struct tlo_capture tlo_capture;

/* Builds the pipeline. case_key (secure memory, owned by the caller) must
 * stay valid until tlo_capture_free. NULL with err filled on failure (a
 * missing GStreamer plugin is named). Call gst_init first. */
tlo_capture *tlo_capture_new(const tlo_capture_config *cfg, const uint8_t *case_key,
                             tlo_capture_segment_fn on_segment, void *ctx, tlo_error *err);

/* Records until the duration is reached, tlo_capture_stop, or an error; the
 * last segment is closed and sealed either way. Returns 0 or a negative code;
 * segments handed over before an error stay valid. */
int tlo_capture_run(tlo_capture *c, tlo_error *err);

/* Asks a running recording to end (thread- and signal-safe: it only sets a
 * flag that the bus loop polls). */
void tlo_capture_stop(tlo_capture *c);

/* The recorded length on the session clock (ns): where the last segment that
 * closed ends. Valid after tlo_capture_run. */
uint64_t tlo_capture_media_ns(const tlo_capture *c);

/* Segments sealed so far. */
uint64_t tlo_capture_segments(const tlo_capture *c);

void tlo_capture_free(tlo_capture *c);

#endif
