/* Fuzz harness: a room profile (docs/rooms.md) is a file someone edits by
 * hand and hands to 'tellonce record': hostile input. A profile that parses
 * must describe canonically (and parse to the same description again). */
#include "hw.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char text[TLO_HW_DESCRIBE_MAX];
    tlo_hw_room room;
    tlo_error err;
    if (tlo_hw_room_parse((const char *)data, size, "fuzz", &room, &err) != 0)
        return 0;
    size_t n = tlo_hw_room_describe(&room, text, sizeof text);
    if (n == 0 || n >= sizeof text || strlen(text) != n)
        abort(); /* a valid room must have a canonical description */
    uint8_t d1[32], d2[32];
    tlo_hw_room_digest(&room, d1);
    tlo_hw_room_digest(&room, d2);
    if (memcmp(d1, d2, 32) != 0)
        abort();
    return 0;
}

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const char *seeds[] = {
        "[room]\nname=small\n[camera 1]\nsource=test:ball\n[microphone 1]\nsource=speech\n",
        "# Interview room 2\n[room]\nname=Interview room 2\nsegment_seconds=6\nencoder=x264\n"
        "caption=true\n\n[camera 1]\nsource=test:pinwheel\nwidth=1280\nheight=720\nfps=30\n"
        "bitrate_kbps=4000\n\n[camera 2]\nsource=device:/dev/video0\nwidth=1920\nheight=1080\n"
        "fps=25\nbitrate_kbps=8000\n\n[microphone 1]\nsource=tone\n\n[microphone 2]\n"
        "source=device:Built-in Audio Analog Stereo\n",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        int rc = emit(ctx, (const uint8_t *)seeds[i], strlen(seeds[i]));
        if (rc)
            return rc;
    }
    return 0;
}
