/* tellonce player — the re-encode of a watermarked export (export.h),
 * private to the player: export.c makes the files and checks the
 * arguments, export_watermark.c fills the MP4. */
#ifndef TLO_PLAYER_EXPORT_WATERMARK_H
#define TLO_PLAYER_EXPORT_WATERMARK_H

#include "clip.h"
#include "export.h"

/* Decodes [from_ms, to_ms) of segs[0..n) and encodes it, watermark burned
 * into every picture, as a faststart MP4 into path (an existing file, which
 * it overwrites); mdat_path is another existing file of the caller's that
 * the muxer uses for the media until the index is written in front, and
 * removes. writing ("writing OUT") names the output in messages. res is
 * filled but for bytes and sha256. 0 or a negative code with err set; on
 * failure the caller removes both files. progress (if not NULL) is called
 * from the decoding thread as frames go to the encoders (which take them as
 * fast as they encode), with the ms of the range done. */
int tlo_player_encode_mp4(const tlo_clip_segment *segs, size_t n, uint64_t from_ms, uint64_t to_ms,
                          const char *watermark, const tlo_player_pip *pip, const char *path,
                          const char *mdat_path, const char *writing, tlo_player_export_result *res,
                          void (*progress)(void *ctx, uint64_t done_ms, uint64_t total_ms),
                          void *progress_ctx, tlo_error *err);

#endif
