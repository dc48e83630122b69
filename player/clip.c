/* Decoding a clip across sealed segments (clip.h). */
#include "clip.h"

#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

typedef struct dec_track {
    AVCodecContext *dec;
    tlo_player_track_kind kind;
} dec_track;

typedef struct clip_state {
    dec_track tr[TLO_PLAYER_MAX_TRACKS];
    unsigned n;
    uint64_t from_ms, to_ms, t0_us;
    tlo_clip_frame_fn fn;
    void *ctx;
    tlo_clip_stats *st;
    AVFrame *frame;
    bool done;                   /* every track passed TO */
    const tlo_clip_segment *cur; /* the segment read last, and its zero */
    int64_t cur_base;
    bool past[TLO_PLAYER_MAX_TRACKS];
} clip_state;

/* Session time of a frame: the segment's start plus its offset from the
 * segment's earliest timestamp. */
static uint64_t session_ms(const tlo_clip_segment *seg, int64_t base_ms, const AVFrame *f,
                           AVRational tb)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    if (ts == AV_NOPTS_VALUE)
        return seg->start_ms;
    int64_t ms = av_rescale_q(ts, tb, (AVRational){1, 1000}) - base_ms;
    return ms > 0 ? seg->start_ms + (uint64_t)ms : seg->start_ms;
}

/* Hands over every frame the decoder has ready. <0 error, 1 stop. */
static int drain(clip_state *cs, unsigned k, const tlo_clip_segment *seg, int64_t base_ms,
                 AVRational tb)
{
    for (;;) {
        int av = avcodec_receive_frame(cs->tr[k].dec, cs->frame);
        if (av == AVERROR(EAGAIN) || av == AVERROR_EOF)
            return 0;
        if (av < 0)
            return av;
        uint64_t t = session_ms(seg, base_ms, cs->frame, tb);
        int rc = 0;
        if (t >= cs->to_ms) {
            cs->past[k] = true;
        } else if (t >= cs->from_ms) {
            if (cs->st->frames[k] == 0 && cs->st->first_frame_us == 0)
                cs->st->first_frame_us = mono_us() - cs->t0_us;
            cs->st->frames[k]++;
            if (!cs->st->first_ms || t < cs->st->first_ms)
                cs->st->first_ms = t;
            if (t > cs->st->last_ms)
                cs->st->last_ms = t;
            tlo_clip_frame f = {
                .track = k, .kind = cs->tr[k].kind, .session_ms = t, .frame = cs->frame};
            rc = cs->fn ? cs->fn(cs->ctx, &f) : 0;
        }
        av_frame_unref(cs->frame);
        if (rc != 0)
            return rc;
    }
}

/* Opens decoders from the first segment's streams. */
static int open_decoders(clip_state *cs, AVFormatContext *fmt, const char *name, tlo_error *err)
{
    for (unsigned i = 0; i < fmt->nb_streams && i < TLO_PLAYER_MAX_TRACKS; i++) {
        AVStream *st = fmt->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;
        const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
        dec_track *t = &cs->tr[cs->n++];
        t->kind = type == AVMEDIA_TYPE_VIDEO   ? TLO_PLAYER_TRACK_VIDEO
                  : type == AVMEDIA_TYPE_AUDIO ? TLO_PLAYER_TRACK_AUDIO
                                               : 0;
        if (!t->kind)
            continue;
        if (!codec)
            return tlo_fail(err, TLO_EUNSUPPORTED,
                            "%s: stream %u is %s, which this FFmpeg "
                            "cannot decode",
                            name, i, avcodec_get_name(st->codecpar->codec_id));
        if (!(t->dec = avcodec_alloc_context3(codec)))
            return tlo_fail(err, TLO_ENOMEM, "out of memory for a decoder");
        t->dec->pkt_timebase = st->time_base;
        int av = avcodec_parameters_to_context(t->dec, st->codecpar);
        if (av >= 0)
            av = avcodec_open2(t->dec, codec, NULL);
        if (av < 0)
            return tlo_fail(err, TLO_EFORMAT, "%s: cannot start decoding stream %u: %s", name, i,
                            av_err2str(av));
    }
    cs->st->tracks = cs->n;
    for (unsigned k = 0; k < cs->n; k++)
        cs->st->kind[k] = cs->tr[k].kind;
    return 0;
}

/* The SHA-256 of everything fd holds is want, or TLO_EFORMAT naming name. */
static int check_ciphertext(int fd, uint64_t size, const uint8_t want[static 32], const char *name,
                            tlo_error *err)
{
    enum { STEP = 1 << 16 };
    uint8_t *buf = malloc(STEP), got[32];
    crypto_hash_sha256_state h;
    if (!buf)
        return tlo_fail(err, TLO_ENOMEM, "out of memory checking %s", name);
    crypto_hash_sha256_init(&h);
    int rc = 0;
    for (uint64_t off = 0; rc == 0 && off < size;) {
        size_t len = size - off < STEP ? (size_t)(size - off) : STEP;
        long long n = tlo_pread_full(fd, buf, len, off);
        if (n != (long long)len)
            rc = tlo_fail(err, TLO_EIO, "cannot read segment %s at byte %llu: %s", name,
                          (unsigned long long)off, n < 0 ? strerror((int)-n) : "it shrank");
        else
            crypto_hash_sha256_update(&h, buf, len);
        off += len;
    }
    free(buf);
    if (rc)
        return rc;
    crypto_hash_sha256_final(&h, got);
    if (sodium_memcmp(got, want, 32) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "segment %s is not the file its segment entry logged (its SHA-256 "
                        "differs): it was altered or replaced; run 'tellonce verify'",
                        name);
    return 0;
}

/* The segment's file, open for reading: its own fd (dup'd, so that the
 * caller's stays as it was) or path. -1 with err filled. */
static int segment_fd(const tlo_clip_segment *seg, struct stat *sb, tlo_error *err)
{
    int fd =
        seg->from_fd ? fcntl(seg->fd, F_DUPFD_CLOEXEC, 3) : open(seg->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        int e = fd < 0 ? errno : EINVAL;
        if (fd >= 0)
            close(fd);
        tlo_fail(err, TLO_EIO, "cannot open segment %s%s: %s", seg->path,
                 seg->from_fd ? " (the file handed over for it)" : "",
                 e == EINVAL ? "not a regular file" : strerror(e));
        return -1;
    }
    if (seg->from_fd) {
        int rc = seg->ciphertext_sha256
                     ? check_ciphertext(fd, (uint64_t)sb->st_size, seg->ciphertext_sha256,
                                        seg->path, err)
                     : tlo_fail(err, TLO_EARG, "segment %s: a file handed over without its digest",
                                seg->path);
        if (rc) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

/* One segment: read, decode, hand over. 0, 1 (stop) or a negative code. */
static int decode_segment(clip_state *cs, const tlo_clip_segment *seg, tlo_error *err)
{
    struct stat sb;
    int fd = segment_fd(seg, &sb, err);
    if (fd < 0)
        return err && err->code ? err->code : TLO_EIO;
    /* The source reads through a pointer to fd for as long as the reader
     * lives: keep it in this frame until the media is freed. */
    int fdv = fd;
    tlo_vault_reader *r = tlo_vault_reader_open_object_key(
        tlo_vault_fd_source, &fdv, (uint64_t)sb.st_size, seg->object_key, seg->path, err);
    if (!r) {
        close(fd);
        return err ? err->code : TLO_EIO;
    }
    int prc = seg->plaintext_sha256
                  ? tlo_player_check_plaintext(r, seg->plaintext_sha256, seg->path, err)
                  : 0;
    if (prc) {
        tlo_vault_reader_free(r);
        close(fd);
        return prc;
    }
    tlo_player_media *m = tlo_player_media_open_reader(r, seg->path, err);
    if (!m) {
        close(fd);
        return err ? err->code : TLO_EFORMAT;
    }
    cs->st->segments_opened++;
    AVFormatContext *fmt = tlo_player_media_format(m);
    int rc = 0;
    if (cs->n == 0)
        rc = open_decoders(cs, fmt, seg->path, err);
    /* The segment's zero: its earliest stream start. */
    int64_t base_ms = INT64_MAX;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        if (st->start_time != AV_NOPTS_VALUE) {
            int64_t ms = av_rescale_q(st->start_time, st->time_base, (AVRational){1, 1000});
            if (ms < base_ms)
                base_ms = ms;
        }
    }
    if (base_ms == INT64_MAX)
        base_ms = 0;
    cs->cur = seg;
    cs->cur_base = base_ms;
    AVPacket *pkt = av_packet_alloc();
    if (!pkt && rc == 0)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory for a packet");
    while (rc == 0) {
        int av = av_read_frame(fmt, pkt);
        const tlo_error *kept = tlo_player_media_error(m);
        if (kept->code != 0) {
            /* Never decode a packet read while the vault reader failed. */
            if (err)
                *err = *kept;
            rc = kept->code;
            break;
        }
        if (av == AVERROR_EOF)
            break;
        if (av < 0) {
            rc = tlo_fail(err, TLO_EFORMAT, "%s: reading a packet failed: %s", seg->path,
                          av_err2str(av));
            break;
        }
        unsigned k = (unsigned)pkt->stream_index;
        if (k < cs->n && cs->tr[k].dec && !cs->past[k]) {
            av = avcodec_send_packet(cs->tr[k].dec, pkt);
            if (av >= 0)
                av = drain(cs, k, seg, base_ms, fmt->streams[k]->time_base);
            if (av < 0)
                rc = tlo_fail(err, TLO_EFORMAT, "%s: decoding stream %u failed: %s", seg->path, k,
                              av_err2str(av));
            else if (av == 1)
                rc = 1;
        }
        av_packet_unref(pkt);
        bool all = true;
        for (unsigned t = 0; t < cs->n; t++)
            all = all && (!cs->tr[t].dec || cs->past[t]);
        if (all) {
            cs->done = true;
            break;
        }
    }
    av_packet_free(&pkt);
    tlo_player_media_free(m);
    close(fd);
    return rc;
}

int tlo_clip_decode(const tlo_clip_segment *segs, size_t n, uint64_t from_ms, uint64_t to_ms,
                    tlo_clip_frame_fn fn, void *ctx, tlo_clip_stats *stats, tlo_error *err)
{
    clip_state cs = {
        .from_ms = from_ms, .to_ms = to_ms, .fn = fn, .ctx = ctx, .st = stats, .t0_us = mono_us()};
    memset(stats, 0, sizeof *stats);
    if (!segs || n == 0 || to_ms <= from_ms)
        return tlo_fail(err, TLO_EARG, "tlo_clip_decode: no segments or an empty range");
    cs.frame = av_frame_alloc();
    if (!cs.frame)
        return tlo_fail(err, TLO_ENOMEM, "out of memory for a frame");
    int rc = 0;
    for (size_t i = 0; rc == 0 && !cs.done && i < n; i++) {
        if (segs[i].end_ms <= from_ms || segs[i].start_ms >= to_ms)
            continue; /* not needed: never opened */
        rc = decode_segment(&cs, &segs[i], err);
    }
    /* The frames still in the decoders. */
    for (unsigned k = 0; rc == 0 && k < cs.n; k++) {
        if (!cs.tr[k].dec || cs.past[k])
            continue;
        if (cs.cur && avcodec_send_packet(cs.tr[k].dec, NULL) >= 0) {
            int av = drain(&cs, k, cs.cur, cs.cur_base, cs.tr[k].dec->pkt_timebase);
            if (av < 0 || av == 1)
                rc = av < 0 ? tlo_fail(err, TLO_EFORMAT, "decoding the end of the clip failed") : 1;
        }
    }
    for (unsigned k = 0; k < cs.n; k++)
        avcodec_free_context(&cs.tr[k].dec);
    av_frame_free(&cs.frame);
    return rc;
}
