/* tellonce player — export: a clip of a session remuxed into one MP4.
 *
 * The sealed segments of a session (fragmented MP4, each on its own clock
 * from 0) are read through the decrypting AVIOContext with the object keys
 * the custodian released, and their packets are copied, not re-encoded, into
 * one standard MP4 (non-fragmented, the index at the front: "faststart")
 * that any court's player opens:
 *   - every video and audio track, in the order of the segments' tracks;
 *   - from the keyframe of the first video track at or before `from` (the
 *     clip's zero) to `to`; another video track starts at its first
 *     keyframe at or after the zero, so no track starts undecodable;
 *   - timestamps continuous across segments: a packet's time on the session
 *     clock is its segment's start_ms plus its own timestamp (from the
 *     segment's start), and the clip's time is that minus the zero. Audio
 *     that would overlap the packet before it (the muxer of a segment
 *     restarts each track at 0, up to an audio frame off) is laid right
 *     after it instead, so no audio is cut short.
 *
 * The MP4 is written into a file the caller opened (tlo_player_export_output:
 * tellonce gives an unnamed O_TMPFILE in the output's directory and links it
 * into place only once the export is logged, custody/export.c), and synced;
 * the player itself never names, renames or removes a file, so what a
 * process killed midway leaves is whatever the caller's file leaves. The
 * clip is plaintext by design: what the authorized person takes out of the
 * vault.
 * Every read fails for good at the first chunk that fails authentication,
 * and the export with it.
 *
 * With a watermark (tlo_player_export_mp4_watermarked, export_watermark.c)
 * the pictures are not the recorded bits: they are decoded and encoded
 * again with the text burned in, into the same kind of MP4, through the
 * same kind of caller's file and sync. */
#ifndef TLO_PLAYER_EXPORT_H
#define TLO_PLAYER_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "player.h"

/* At most this many segments in one export (4 hours of 4 s segments; the
 * manifest lists each one and must stay a bounded signed note). */
#define TLO_PLAYER_EXPORT_MAX_SEGMENTS 3600

typedef struct tlo_player_export_segment {
    const char *path;                /* the sealed object file */
    const uint8_t *object_key;       /* TLO_OBJECT_KEY_BYTES, as the custodian released it */
    uint64_t index;                  /* the segment's number in its session, for messages */
    uint64_t start_ms, end_ms;       /* on the session clock, from its segment entry */
    const uint8_t *plaintext_sha256; /* from its entry: checked before use (NULL: not) */
} tlo_player_export_segment;

typedef struct tlo_player_export_track {
    tlo_player_track_kind kind; /* video or audio */
    char codec[16];             /* "h264", "aac" */
    uint64_t packets;           /* copied; re-encoded: frames (blocks of samples) encoded */
} tlo_player_export_track;

/* Where an export writes: fd, an open, empty, seekable regular file opened
 * for reading and writing (the player writes it through /proc/self/fd/FD,
 * reads it back for its digest and syncs it; it does not close it); for the
 * watermarked export scratch_fd, a second one the muxer keeps the media in
 * until it writes the index at the front (-1 for a stream copy); name, the
 * output's path as people know it, for messages. */
typedef struct tlo_player_export_output {
    int fd, scratch_fd;
    const char *name;
    /* If not NULL: called as the clip is made (from the export's own
     * threads, one at a time) with the milliseconds of the range done, of
     * to_ms - from_ms. */
    void (*progress)(void *ctx, uint64_t done_ms, uint64_t total_ms);
    void *progress_ctx;
} tlo_player_export_output;

typedef struct tlo_player_export_result {
    uint64_t clip_start_ms; /* the clip's zero on the session clock (rounded down; re-encoded:
                               from_ms itself) */
    uint64_t clip_end_ms;   /* the end of its last packet on the session clock (rounded up) */
    unsigned tracks;
    tlo_player_export_track track[TLO_PLAYER_MAX_TRACKS];
    uint64_t bytes;     /* of the MP4 */
    uint8_t sha256[32]; /* of the MP4, as written */
} tlo_player_export_result;

/* Remuxes the range [from_ms, to_ms) of the session clock from the n
 * segments (in session order, contiguous, covering the range; 1 <= n <=
 * TLO_PLAYER_EXPORT_MAX_SEGMENTS) into a new MP4 in to->fd. The keys are only
 * read. Segments that differ in their tracks
 * (count, kind, codec, codec parameters) fail with TLO_EFORMAT. A chunk that
 * fails authentication is that code (TLO_ECHUNK, naming the file and chunk);
 * a write or sync failure TLO_EIO. out is
 * zeroed on entry and filled only when 0 is returned. */
int tlo_player_export_mp4(const tlo_player_export_segment *segs, size_t n, uint64_t from_ms,
                          uint64_t to_ms, const tlo_player_export_output *to,
                          tlo_player_export_result *out, tlo_error *err);

/* How the cameras go into the clip (layout.h), for the export functions
 * that take it (NULL: every camera its own track):
 *   TLO_LAYOUT_PIP, TLO_LAYOUT_SIDE_BY_SIDE  composed into one video track,
 *                                            so re-encoded (watermarked)
 *   TLO_LAYOUT_CAMERA                        camera `camera` alone, with every
 *                                            microphone; a stream copy or a
 *                                            re-encode */
typedef struct tlo_player_pip {
    uint64_t started_ms; /* composed: the session's start for the clock, UTC ms; 0: unknown */
    tlo_layout_kind kind;
    unsigned camera; /* TLO_LAYOUT_CAMERA: 1..TLO_PLAYER_MAX_TRACKS */
} tlo_player_pip;

/* tlo_player_export_mp4 with camera layout->camera alone (layout->kind
 * TLO_LAYOUT_CAMERA; anything else is TLO_EARG): its video track and every
 * microphone are copied; a clip without that camera is TLO_EARG naming
 * the cameras it has. */
int tlo_player_export_mp4_layout(const tlo_player_export_segment *segs, size_t n, uint64_t from_ms,
                                 uint64_t to_ms, const tlo_player_pip *layout,
                                 const tlo_player_export_output *to, tlo_player_export_result *out,
                                 tlo_error *err);

/* The longest watermark text, in bytes. */
#define TLO_PLAYER_WATERMARK_MAX 1024

/* As tlo_player_export_mp4, but re-encoded with `watermark` (one line of
 * text, 1..TLO_PLAYER_WATERMARK_MAX bytes of UTF-8, shown as it is: no
 * markup) burned into every picture: the range is decoded (tlo_clip_decode,
 * the same keys, only read) and every camera is encoded again as H.264 with
 * the text large and centred on a shaded band, every microphone as AAC, by
 * GStreamer (x264enc, avenc_aac, mp4mux) into the same kind of MP4. The
 * clip starts at from_ms itself, not at a keyframe before it. Every track
 * must show a frame in the first second of the range (a camera that lost
 * its signal still does: a slate), in 4:2:0 pictures of one size and mono
 * or stereo float audio; otherwise TLO_EUNSUPPORTED or TLO_EFORMAT. A missing
 * GStreamer element is TLO_EUNSUPPORTED; a failed write TLO_EIO; an encoder
 * or muxer failure TLO_EFORMAT, with GStreamer's message. Calls gst_init.
 * pip (not NULL) says the layout: TLO_LAYOUT_PIP composes the cameras into
 * one video track instead (layout.h): camera 1 at its size, camera 2 a
 * quarter of its width in its bottom-right corner, the session clock and
 * the date and time of the recording in the display zone (pip->started_ms;
 * 0: the clock alone) top right, the watermark over it all; a clip with one
 * camera is refused. TLO_LAYOUT_SIDE_BY_SIDE: every camera left to right
 * in one picture as high as the highest, the same clock and watermark.
 * TLO_LAYOUT_CAMERA: that camera alone (and every microphone). */
int tlo_player_export_mp4_watermarked(const tlo_player_export_segment *segs, size_t n,
                                      uint64_t from_ms, uint64_t to_ms, const char *watermark,
                                      const tlo_player_pip *pip, const tlo_player_export_output *to,
                                      tlo_player_export_result *out, tlo_error *err);

#endif
