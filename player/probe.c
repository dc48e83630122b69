#include "player.h"

#include <libavformat/avformat.h>
#include <string.h>

typedef struct membuf {
    const uint8_t *p;
    size_t len, pos;
} membuf;

static int mem_read(void *opaque, uint8_t *buf, int size)
{
    membuf *m = opaque;
    size_t n = m->len - m->pos < (size_t)size ? m->len - m->pos : (size_t)size;
    if (n == 0)
        return AVERROR_EOF;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return (int)n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
    membuf *m = opaque;
    if (whence == AVSEEK_SIZE)
        return (int64_t)m->len;
    int64_t base = whence == SEEK_CUR ? (int64_t)m->pos : whence == SEEK_END ? (int64_t)m->len : 0;
    if (base + off < 0 || base + off > (int64_t)m->len)
        return -1;
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

int tlo_player_probe_memory(const uint8_t *data, size_t len, tlo_player_probe *out)
{
    membuf m = {data, len, 0};
    uint8_t *iobuf = av_malloc(32768);
    AVIOContext *io =
        iobuf ? avio_alloc_context(iobuf, 32768, 0, &m, mem_read, NULL, mem_seek) : NULL;
    AVFormatContext *fmt = io ? avformat_alloc_context() : NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (!fmt) {
        if (io)
            av_freep(&io->buffer);
        else
            av_free(iobuf);
        avio_context_free(&io);
        return -1;
    }
    fmt->pb = io;
    av_log_set_level(AV_LOG_QUIET);
    if (avformat_open_input(&fmt, NULL, NULL, NULL) == 0) {
        if (avformat_find_stream_info(fmt, NULL) >= 0) {
            for (unsigned i = 0; i < fmt->nb_streams; i++) {
                enum AVCodecID id = fmt->streams[i]->codecpar->codec_id;
                out->video_h264 += id == AV_CODEC_ID_H264;
                out->audio_aac += id == AV_CODEC_ID_AAC;
            }
            out->streams = fmt->nb_streams;
            if (fmt->duration > 0)
                out->duration_ms = (uint64_t)(fmt->duration / (AV_TIME_BASE / 1000));
            rc = 0;
        }
        avformat_close_input(&fmt);
    } else {
        avformat_free_context(fmt);
    }
    av_freep(&io->buffer);
    avio_context_free(&io);
    return rc;
}
