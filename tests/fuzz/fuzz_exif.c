/* Fuzz harness: the EXIF scanner (custody/note_container.c,
 * tlo_custody_exif_scan), which reads photos as the author gave them:
 * hostile input. It must never read out of its buffer, loop without end
 * or say GPS without EXIF. The input is the photo (a JPEG, PNG or TIFF
 * file, or any other: HEIC is not scanned). */
#include "custody.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: the sanitizers see any read past it. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    tlo_custody_exif x;
    tlo_custody_exif_scan(copy, size, &x);
    if ((x.gps && !x.exif) || (x.exif && !x.checked))
        abort();
    free(copy);
    return 0;
}

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    /* JPEG: SOI, APP1 Exif (little-endian TIFF, IFD0 with a GPS pointer),
     * SOS, EOI. */
    static const uint8_t jpeg_gps[] = {
        0xff, 0xd8, 0xff, 0xe1, 0x00, 0x24, 'E',  'x',  'i',  'f',  0,    0,    'I',  'I', 42, 0,
        8,    0,    0,    0,    1,    0,    0x25, 0x88, 4,    0,    1,    0,    0,    0,   26, 0,
        0,    0,    0,    0,    0,    0,    0xff, 0xda, 0x00, 0x02, 0x11, 0x22, 0xff, 0xd9};
    /* big-endian TIFF, no GPS */
    static const uint8_t jpeg_be[] = {0xff, 0xd8, 0xff, 0xe1, 0x00, 0x1a, 'E', 'x',  'i',
                                      'f',  0,    0,    'M',  'M',  0,    42,  0,    0,
                                      0,    8,    0,    1,    0x01, 0x0f, 0,   2,    0,
                                      0,    0,    4,    'C',  'a',  'm',  0,   0xff, 0xd9};
    static const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0,
                                  14,   'e', 'X', 'I', 'f',  'I',  'I',  42,   0, 8, 0,
                                  0,    0,   1,   0,   0x25, 0x88, 0,    0,    0, 0, 0,
                                  0,    0,   'I', 'E', 'N',  'D',  0,    0,    0, 0};
    /* a TIFF file (little-endian), IFD0: ImageWidth and a GPS pointer */
    static const uint8_t tiff[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 2, 0,    0,    1, 4,
                                   0,   1,   0,  0, 0, 0, 0, 0, 0, 0x25, 0x88, 4, 0,
                                   1,   0,   0,  0, 0, 0, 0, 0, 0, 0,    0,    0};
    int rc = emit(ctx, jpeg_gps, sizeof jpeg_gps);
    if (rc == 0)
        rc = emit(ctx, tiff, sizeof tiff);
    if (rc == 0)
        rc = emit(ctx, jpeg_be, sizeof jpeg_be);
    if (rc == 0)
        rc = emit(ctx, png, sizeof png);
    return rc;
}
