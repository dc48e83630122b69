/* tellonce player — reading recorded media with FFmpeg.
 *
 * For now: probing decrypted media held in memory (the plaintext never
 * leaves the process: libavformat reads it through a custom AVIOContext).
 * The decrypting AVIOContext over sealed objects, clip playback and export
 * come with the viewing issue. */
#ifndef TLO_PLAYER_H
#define TLO_PLAYER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tlo_player_probe {
    unsigned video_h264;  /* H.264 video tracks */
    unsigned audio_aac;   /* AAC audio tracks */
    unsigned streams;     /* all tracks */
    uint64_t duration_ms; /* as libavformat reads it; 0 if it cannot tell */
} tlo_player_probe;

/* Opens len bytes of media in memory with libavformat and fills out.
 * Returns 0, or -1 when libavformat cannot open it (out is zeroed). */
int tlo_player_probe_memory(const uint8_t *data, size_t len, tlo_player_probe *out);

#endif
