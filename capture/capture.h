/* tellonce capture — record one session into sealed segments.
 *
 * A GStreamer pipeline takes the cameras and microphones of a room (hw/
 * builds their source bins: devices, or the simulated room's test patterns
 * and speech), encodes every camera as its own H.264 track and every
 * microphone as its own AAC track, and splitmuxsink cuts the stream at the
 * first camera's keyframes into segments of fragmented MP4 (0.1 s fragments,
 * a keyframe at most every 0.25 s). Each segment's bytes go from the muxer, through an
 * appsink, straight into a vault writer: sealed chunk by chunk as they
 * arrive, never written in plaintext. When a segment closes it is finished,
 * fsynced, and handed to the caller, who logs it.
 *
 * The session clock is the pipeline's running time: 0 when the recording
 * starts. A camera whose source fails is reported as an event and replaced
 * by a no-signal slate (hw.h), so its track and the recording go on; a
 * microphone that fails ends its track, the others go on. */
#ifndef TLO_CAPTURE_H
#define TLO_CAPTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "hw.h"
#include "vault.h"

typedef struct tlo_capture_config {
    tlo_hw_room room;          /* checked with tlo_hw_room_check */
    const char *encoder;       /* H.264 encoder element; NULL: resolved from the room */
    unsigned duration_seconds; /* stop after this much media; 0: until tlo_capture_stop */
    bool live;                 /* real-time sources; false runs as fast as possible (tests) */
    bool monitor;              /* a window with all cameras (decoded; nothing it shows is kept) */
    /* With monitor: instead of a window here, the monitor's picture as JPEG
     * frames (at most 4 a second) handed to preview, from a streaming thread
     * behind leaky queues (the custodian service sends them to the client's
     * window). It is a preview, never evidence: nothing of it is kept. */
    void (*preview)(void *ctx, const uint8_t *jpeg, size_t len);
    void *preview_ctx;
    /* tellonce preview: the monitor only (monitor must be set), with "NOT
     * RECORDING" for its sign; nothing is muxed, sealed or written, no key
     * is needed (case_key and objects_dir may be NULL), no segment is
     * handed over. */
    bool preview_only;
    const char *objects_dir; /* where sealed segments are written */
    uint8_t case_id[TLO_ID_BYTES];
    /* Tests only: camera fail_camera (1-based; 0 none) fails at fail_at_ms
     * of its stream, as an unplugged camera does. */
    unsigned fail_camera;
    uint64_t fail_at_ms;
    /* Benchmarks only (tests/bench/bench_capture.c), never tellonce: the
     * same pipeline writing plain MP4 files (filesink) DIR/seg%05d.mp4
     * instead of sealing; no segment is handed over. */
    const char *bench_plain_dir;
} tlo_capture_config;

/* One sealed, durable segment. */
typedef struct tlo_capture_segment {
    uint64_t index;         /* 0, 1, 2, ... in recording order */
    uint64_t start_ns;      /* where it starts and ends on the session clock */
    uint64_t end_ns;        /* (the next segment starts where this one ends) */
    uint64_t wall_start_ms; /* UTC ms of its start (live: when its first frame was taken) */
    uint64_t wall_end_ms;   /* UTC ms when it was sealed and fsynced */
    uint8_t object_id[TLO_ID_BYTES];
    tlo_vault_digests digests;
    char path[4096];
} tlo_capture_segment;

/* Called (from a streaming thread) for each segment once it is durable, in
 * index order, one at a time. Return 0, or a negative code (with err
 * filled) to stop the recording. */
typedef int (*tlo_capture_segment_fn)(void *ctx, const tlo_capture_segment *seg, tlo_error *err);

typedef enum {
    TLO_CAPTURE_CAMERA_LOST,     /* its track goes on with the no-signal slate */
    TLO_CAPTURE_MICROPHONE_LOST, /* its track ends */
    TLO_CAPTURE_MONITOR_LOST,    /* the --monitor window failed or was closed; recording goes on */
} tlo_capture_event_kind;

typedef struct tlo_capture_event {
    tlo_capture_event_kind kind;
    unsigned device;     /* 1-based camera or microphone number */
    uint64_t session_ns; /* when, on the session clock */
    char message[512];   /* what GStreamer said */
} tlo_capture_event;

/* Called from the thread running tlo_capture_run. */
typedef void (*tlo_capture_event_fn)(void *ctx, const tlo_capture_event *ev);

#define TLO_CAPTURE_LEVEL_SILENT (-100.0) /* dBFS shown for no signal yet */

/* A snapshot for the status line. */
typedef struct tlo_capture_stats {
    uint64_t session_ns;  /* the session clock now */
    uint64_t segments;    /* sealed and handed over */
    uint64_t bytes;       /* ciphertext bytes of those segments */
    uint64_t seal_cpu_ns; /* CPU time spent sealing: encryption, both digests, writes, fsync */
    unsigned n_cameras, n_microphones;
    uint64_t frames[TLO_HW_MAX_CAMERAS];  /* encoded frames per camera */
    uint64_t dropped[TLO_HW_MAX_CAMERAS]; /* frames missing against the camera's rate */
    bool camera_lost[TLO_HW_MAX_CAMERAS];
    double peak_db[TLO_HW_MAX_MICROPHONES]; /* last 100 ms, dBFS */
    double rms_db[TLO_HW_MAX_MICROPHONES];
    double loudest_db[TLO_HW_MAX_MICROPHONES]; /* the highest peak of the session */
    bool microphone_lost[TLO_HW_MAX_MICROPHONES];
} tlo_capture_stats;

typedef struct tlo_capture tlo_capture;

/* Builds the pipeline. case_key (secure memory, owned by the caller) must
 * stay valid until tlo_capture_free. NULL with err filled on failure (a
 * missing GStreamer plugin or device is named). Call gst_init first. */
tlo_capture *tlo_capture_new(const tlo_capture_config *cfg, const uint8_t *case_key,
                             tlo_capture_segment_fn on_segment, tlo_capture_event_fn on_event,
                             void *ctx, tlo_error *err);

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
/* True once tlo_capture_run gave up on an end that stalled (no buffer reached
 * a segment for a minute after the end began): the last segment is left
 * unfinished, for 'tellonce recover' to keep what of it was sealed. */
bool tlo_capture_stalled(const tlo_capture *c);
uint64_t tlo_capture_segments(const tlo_capture *c);

/* A consistent snapshot; callable from any thread while recording. */
void tlo_capture_get_stats(tlo_capture *c, tlo_capture_stats *out);

void tlo_capture_free(tlo_capture *c);

#endif
