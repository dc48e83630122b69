/* tellonce player — reading recorded media with FFmpeg.
 *
 * Two ways in, and the plaintext never leaves the process in either:
 * probing decrypted media held in memory (probe.c), and reading a sealed
 * object straight from disk through a decrypting AVIOContext (avio.c), which
 * hands libavformat only bytes of chunks that authenticated. Clip playback
 * and export come with the viewing issue. */
#ifndef TLO_PLAYER_H
#define TLO_PLAYER_H

#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"
#include "vault.h"

struct AVFormatContext;

typedef struct tlo_player_probe {
    unsigned video_h264;  /* H.264 video tracks */
    unsigned audio_aac;   /* AAC audio tracks */
    unsigned streams;     /* all tracks */
    uint64_t duration_ms; /* as libavformat reads it; 0 if it cannot tell */
} tlo_player_probe;

/* Opens len bytes of media in memory with libavformat and fills out.
 * Returns 0, or -1 when libavformat cannot open it (out is zeroed). */
int tlo_player_probe_memory(const uint8_t *data, size_t len, tlo_player_probe *out);

/* ---- sealed media through a decrypting AVIOContext ---------------------- */

/* A sealed media object opened for libavformat. libavformat reads the
 * plaintext through a 64 KiB AVIOContext whose read and seek callbacks call
 * tlo_vault_reader_read_at, so every byte it sees comes from a chunk that
 * authenticated. The first failure of the vault reader (a chunk that fails
 * authentication, an I/O error) is kept, and from then on every read and
 * seek of the AVIOContext fails (AVERROR_INVALIDDATA for authentication,
 * AVERROR(EIO) for I/O): damage cannot be skipped past, even by seeking. */
typedef struct tlo_player_media tlo_player_media;

/* Opens the sealed object at path under case_key, then the media inside it
 * (avformat_open_input and avformat_find_stream_info). case_key is only read
 * during this call. A wrong key, a truncated or altered object, or content
 * that is not media fails here: NULL, with err naming the file (and the chunk,
 * for a chunk that fails authentication). Free with tlo_player_media_free. */
tlo_player_media *tlo_player_media_open(const char *path,
                                        const uint8_t case_key[static TLO_KEY_BYTES],
                                        tlo_error *err);

/* Reads the whole plaintext of r and checks that its SHA-256 is want (the
 * plaintext_sha256 the segment's entry logged): 0, or TLO_EFORMAT naming
 * name. A segment sealed again with the right key would otherwise play as
 * if it were the recording. Costs one more decryption pass. */
int tlo_player_check_plaintext(tlo_vault_reader *r, const uint8_t want[static 32], const char *name,
                               tlo_error *err);

/* As tlo_player_media_open, over a reader the caller opened (from any
 * source; keep that source alive until the media is freed). The media takes
 * the reader in every case: on failure it has already been freed. name (may
 * be NULL) is used in messages. */
tlo_player_media *tlo_player_media_open_reader(tlo_vault_reader *r, const char *name,
                                               tlo_error *err);

/* The demuxer, for av_read_frame, av_seek_frame and the streams. It stays
 * owned by the media: do not close it or touch its pb. Reads through it fail
 * for good after the first failure of the vault reader, but libavformat does
 * not say so at once: the av_read_frame during which a read failed can still
 * return a packet cut short (flagged AV_PKT_FLAG_CORRUPT, made of bytes read
 * before the failure), and a demuxer may report the failure as a plain end
 * of file. So check tlo_player_media_error after every packet and at the
 * end, as tlo_player_media_decode_all does. */
struct AVFormatContext *tlo_player_media_format(tlo_player_media *m);

/* The first failure of the vault reader under this media (its message names
 * the file and the chunk), or an error with code 0 when there has been none. */
const tlo_error *tlo_player_media_error(const tlo_player_media *m);

/* Closes the demuxer, frees the AVIOContext and its buffer, frees the vault
 * reader (which wipes its keys and plaintext cache) and closes the file.
 * NULL-safe. */
void tlo_player_media_free(tlo_player_media *m);

#define TLO_PLAYER_MAX_TRACKS 8

typedef enum {
    TLO_PLAYER_TRACK_VIDEO = 1,
    TLO_PLAYER_TRACK_AUDIO = 2,
} tlo_player_track_kind;

typedef struct tlo_player_track_stats {
    unsigned stream_index;      /* in tlo_player_media_format(m)->streams */
    tlo_player_track_kind kind; /* video or audio */
    char codec[16];             /* the FFmpeg codec name: "h264", "aac" */
    uint64_t frames;            /* decoded video frames or audio frames (blocks of samples) */
    int64_t first_pts_ms;       /* earliest and latest presentation time of a */
    int64_t last_pts_ms;        /* decoded frame; both 0 if none was decoded */
    int64_t end_ms;             /* latest presentation time plus that frame's duration */
} tlo_player_track_stats;

typedef struct tlo_player_decode_stats {
    unsigned tracks; /* video and audio streams, all decoded; others are skipped */
    tlo_player_track_stats track[TLO_PLAYER_MAX_TRACKS];
    uint64_t duration_ms; /* latest end_ms minus earliest first_pts_ms, over all tracks */
} tlo_player_decode_stats;

/* Reads every packet from the current position of the demuxer (the start,
 * right after open) to the end and decodes every video and audio stream with
 * libavcodec, filling out. More than TLO_PLAYER_MAX_TRACKS video and audio
 * streams is TLO_EUNSUPPORTED. A failure of the vault reader, now or before,
 * returns its code (TLO_ECHUNK names the chunk); a demuxing or decoding
 * failure is TLO_EFORMAT; missing decoders TLO_EUNSUPPORTED. out is zeroed
 * on entry and complete only when 0 is returned. */
int tlo_player_media_decode_all(tlo_player_media *m, tlo_player_decode_stats *out, tlo_error *err);

#endif
