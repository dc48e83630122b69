/* tellonce player — decoding a clip: a range of a session, across its
 * sealed segments, each opened with the object key the custodian released
 * for it (and nothing else).
 *
 * Times are on the session clock (ms from the session's start). A segment's
 * media starts at its start_ms: its earliest packet timestamp is mapped
 * there. Decoding starts at the first segment that overlaps the range (from
 * its first keyframe), so starting a clip late in a long session reads and
 * decrypts only the segments it needs. Frames before FROM are decoded (the
 * decoder needs them) but not handed over; decoding stops at TO. */
#ifndef TLO_PLAYER_CLIP_H
#define TLO_PLAYER_CLIP_H

#include "player.h"

struct AVFrame;

typedef struct tlo_clip_segment {
    const char *path; /* the sealed segment file; with from_fd only its name in messages */
    /* from_fd: read the object through fd (open for reading; only pread, never
     * closed) instead of opening path: the viewer holds no path of the vault,
     * only the files the custodian opened for it. The file's SHA-256 must
     * then be ciphertext_sha256 (required), checked before anything of it is
     * used, as the custodian checks a path before it releases its key. */
    bool from_fd;
    int fd;
    const uint8_t *ciphertext_sha256;
    const uint8_t *object_key;       /* TLO_OBJECT_KEY_BYTES, released for it */
    uint64_t start_ms, end_ms;       /* on the session clock, from its entry */
    const uint8_t *plaintext_sha256; /* from its entry: checked before use (NULL: not) */
} tlo_clip_segment;

typedef struct tlo_clip_frame {
    unsigned track; /* stream index, the same in every segment of a session */
    tlo_player_track_kind kind;
    uint64_t session_ms;         /* its time on the session clock */
    const struct AVFrame *frame; /* decoded: video YUV, audio samples; valid during the call */
} tlo_clip_frame;

/* Called for each decoded frame in [from, to), in decoding order per track.
 * Return 0 to go on, 1 to stop cleanly, a negative code to fail. */
typedef int (*tlo_clip_frame_fn)(void *ctx, const tlo_clip_frame *f);

typedef struct tlo_clip_stats {
    unsigned tracks;
    tlo_player_track_kind kind[TLO_PLAYER_MAX_TRACKS];
    uint64_t frames[TLO_PLAYER_MAX_TRACKS]; /* handed over */
    uint64_t first_ms, last_ms;             /* session times of the first and last frames */
    unsigned segments_opened;               /* how many segments were decrypted */
    uint64_t first_frame_us; /* from the call to the first frame handed over (monotonic) */
} tlo_clip_stats;

/* Decodes [from_ms, to_ms) of the segments segs[0..n) (in session order).
 * 0, 1 when fn stopped it, or a negative code with err naming the segment
 * and what failed (a chunk that fails authentication stops everything). */
int tlo_clip_decode(const tlo_clip_segment *segs, size_t n, uint64_t from_ms, uint64_t to_ms,
                    tlo_clip_frame_fn fn, void *ctx, tlo_clip_stats *stats, tlo_error *err);

#endif
