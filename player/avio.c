/* The decrypting read path: libavformat over a sealed object.
 *
 * FFmpeg pulls bytes through an AVIOContext whose callbacks read plaintext
 * with tlo_vault_reader_read_at. The vault reader authenticates every chunk it
 * returns and zeroes the buffer on failure; on top of that this file makes the
 * first failure final, for three reasons:
 *  - the vault reader latches only authentication failures; an I/O error
 *    would let a later read succeed after a gap FFmpeg never noticed;
 *  - libavformat treats a failed read like the end of the data (it sets
 *    eof_reached, and a seek clears that again), and a demuxer may then
 *    report a clean end of file; the kept error is what tells the two apart;
 *  - the message of the first failure names the chunk; later ones do not.
 */
#include "player.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IO_BUFFER_BYTES 65536
#define NAME_SHOWN 200

struct tlo_player_media {
    tlo_vault_reader *reader;
    int fd;        /* owned, or -1 when the caller opened the reader */
    uint64_t size; /* of the plaintext */
    uint64_t pos;  /* of the next read */
    int averr;     /* 0, or what every read and seek returns from now on */
    tlo_error first;
    AVIOContext *io;
    AVFormatContext *fmt;
    char name[NAME_SHOWN + 1];
};

static int to_averror(int code)
{
    switch (code) {
    case TLO_ECHUNK:
    case TLO_ESTATE: /* the reader had already failed authentication */
        return AVERROR_INVALIDDATA;
    case TLO_ENOMEM:
        return AVERROR(ENOMEM);
    default: /* TLO_EIO, and a file that shrank under us (TLO_ETRUNCATED) */
        return AVERROR(EIO);
    }
}

/* Keeps the first failure, naming the file (the vault's chunk messages do,
 * its I/O messages do not); every later read and seek returns its AVERROR. */
static int fail_for_good(tlo_player_media *m, int code, const tlo_error *e)
{
    if (!m->averr) {
        if (strstr(e->msg, m->name))
            tlo_fail(&m->first, code, "%s", e->msg);
        else
            tlo_fail(&m->first, code, "%s: %s", m->name, e->msg);
        m->averr = to_averror(code);
    }
    return m->averr;
}

static int io_read(void *opaque, uint8_t *buf, int size)
{
    tlo_player_media *m = opaque;
    tlo_error e = {0};

    if (m->averr)
        return m->averr;
    if (size <= 0)
        return AVERROR(EINVAL);
    if (m->pos >= m->size)
        return AVERROR_EOF;
    size_t n = m->size - m->pos < (uint64_t)size ? (size_t)(m->size - m->pos) : (size_t)size;
    int rc = tlo_vault_reader_read_at(m->reader, m->pos, buf, n, &e);
    if (rc != 0)
        return fail_for_good(m, rc, &e); /* buf was zeroed, and is not handed over */
    m->pos += n;
    return (int)n;
}

static int64_t io_seek(void *opaque, int64_t off, int whence)
{
    tlo_player_media *m = opaque;
    int64_t size = (int64_t)m->size, base;

    if (m->averr)
        return m->averr;
    whence &= ~AVSEEK_FORCE;
    switch (whence) {
    case AVSEEK_SIZE:
        return size;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)m->pos;
        break;
    case SEEK_END:
        base = size;
        break;
    default:
        return AVERROR(EINVAL);
    }
    /* base + off within 0..size, without overflowing. */
    if (off < -base || off > size - base)
        return AVERROR(EINVAL);
    m->pos = (uint64_t)(base + off);
    return (int64_t)m->pos;
}

static void averr_text(char *out, size_t len, int averr)
{
    if (av_strerror(averr, out, len) < 0)
        snprintf(out, len, "FFmpeg error %d", averr);
}

/* The error to report for a failed FFmpeg call: the kept failure of the vault
 * reader if there is one (FFmpeg's own code for it says less), else what
 * FFmpeg said, as code. */
static int media_fail(const tlo_player_media *m, tlo_error *err, int code, const char *what,
                      int averr)
{
    char text[128];
    if (m->first.code != 0) {
        if (err)
            *err = m->first;
        return m->first.code;
    }
    averr_text(text, sizeof text, averr);
    return tlo_fail(err, code, "%s: %s: %s", m->name, what, text);
}

void tlo_player_media_free(tlo_player_media *m)
{
    if (!m)
        return;
    if (m->fmt)
        avformat_close_input(&m->fmt); /* custom I/O: leaves m->io alone */
    if (m->io) {
        av_freep(&m->io->buffer); /* FFmpeg may have replaced the one we gave */
        avio_context_free(&m->io);
    }
    tlo_vault_reader_free(m->reader);
    if (m->fd >= 0)
        close(m->fd);
    free(m);
}

/* Takes r (and fd, if not -1) in every case. */
static tlo_player_media *media_open(tlo_vault_reader *r, int fd, const char *name, tlo_error *err)
{
    tlo_player_media *m = calloc(1, sizeof *m);
    uint8_t *iobuf = NULL;
    int rc;

    if (!m) {
        tlo_vault_reader_free(r);
        if (fd >= 0)
            close(fd);
        tlo_fail(err, TLO_ENOMEM, "out of memory for a media reader");
        return NULL;
    }
    m->reader = r;
    m->fd = fd;
    m->size = tlo_vault_reader_size(r);
    snprintf(m->name, sizeof m->name, "%s", name ? name : "object");

    iobuf = av_malloc(IO_BUFFER_BYTES);
    if (iobuf)
        m->io = avio_alloc_context(iobuf, IO_BUFFER_BYTES, 0, m, io_read, NULL, io_seek);
    if (!m->io) {
        av_free(iobuf);
        tlo_fail(err, TLO_ENOMEM, "out of memory for reading %s", m->name);
        goto fail;
    }
    m->fmt = avformat_alloc_context();
    if (!m->fmt) {
        tlo_fail(err, TLO_ENOMEM, "out of memory for reading %s", m->name);
        goto fail;
    }
    m->fmt->pb = m->io;
    av_log_set_level(AV_LOG_QUIET); /* library code does not print; errors come back in err */
    rc = avformat_open_input(&m->fmt, NULL, NULL, NULL);
    if (rc < 0) { /* m->fmt was freed and set to NULL */
        media_fail(m, err, TLO_EFORMAT, "FFmpeg cannot read the content as media", rc);
        goto fail;
    }
    rc = avformat_find_stream_info(m->fmt, NULL);
    if (rc < 0 || m->averr) {
        media_fail(m, err, TLO_EFORMAT, "FFmpeg cannot find the streams of the media", rc);
        goto fail;
    }
    tlo_error_clear(err);
    return m;
fail:
    tlo_player_media_free(m);
    return NULL;
}

tlo_player_media *tlo_player_media_open(const char *path,
                                        const uint8_t case_key[static TLO_KEY_BYTES],
                                        tlo_error *err)
{
    if (!path || !case_key) {
        tlo_fail(err, TLO_EARG, "tlo_player_media_open: no path or key");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tlo_fail(err, TLO_EIO, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    tlo_vault_reader *r = tlo_vault_reader_open_fd(fd, case_key, path, err);
    if (!r) {
        close(fd);
        return NULL;
    }
    return media_open(r, fd, path, err);
}

tlo_player_media *tlo_player_media_open_reader(tlo_vault_reader *r, const char *name,
                                               tlo_error *err)
{
    if (!r) {
        tlo_fail(err, TLO_EARG, "tlo_player_media_open_reader: no reader");
        return NULL;
    }
    return media_open(r, -1, name, err);
}

struct AVFormatContext *tlo_player_media_format(tlo_player_media *m)
{
    return m ? m->fmt : NULL;
}

const tlo_error *tlo_player_media_error(const tlo_player_media *m)
{
    static const tlo_error none = {0};
    return m ? &m->first : &none;
}

/* ---- decoding everything ------------------------------------------------- */

typedef struct track {
    AVCodecContext *dec;
    AVStream *st;
    int64_t first, last, end; /* ms; first > last while no frame was seen */
    uint64_t frames;
} track;

/* The duration of a decoded frame in ms: from the samples for audio, from
 * the stream's frame rate for video (0 when it cannot tell). */
static int64_t frame_ms(const track *t, const AVFrame *f)
{
    if (t->dec->codec_type == AVMEDIA_TYPE_AUDIO) {
        int rate = f->sample_rate > 0 ? f->sample_rate : t->dec->sample_rate;
        return rate > 0 ? av_rescale(f->nb_samples, 1000, rate) : 0;
    }
    AVRational fr = t->st->avg_frame_rate.num > 0 ? t->st->avg_frame_rate : t->st->r_frame_rate;
    return fr.num > 0 && fr.den > 0 ? av_rescale(1000, fr.den, fr.num) : 0;
}

/* Receives every frame the decoder has ready. Returns 0, or an AVERROR. */
static int drain(track *t, AVFrame *f)
{
    for (;;) {
        int rc = avcodec_receive_frame(t->dec, f);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
            return 0;
        if (rc < 0)
            return rc;
        int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
        if (ts != AV_NOPTS_VALUE) {
            int64_t ms = av_rescale_q(ts, t->st->time_base, (AVRational){1, 1000});
            int64_t end = ms + frame_ms(t, f);
            if (t->frames == 0 || ms < t->first)
                t->first = ms;
            if (t->frames == 0 || ms > t->last)
                t->last = ms;
            if (t->frames == 0 || end > t->end)
                t->end = end;
        }
        t->frames++;
        av_frame_unref(f);
    }
}

static int track_name(char *out, size_t len, const track *t)
{
    return snprintf(out, len, "stream %d (%s)", t->st->index, avcodec_get_name(t->dec->codec_id));
}

int tlo_player_media_decode_all(tlo_player_media *m, tlo_player_decode_stats *out, tlo_error *err)
{
    track tr[TLO_PLAYER_MAX_TRACKS];
    unsigned n = 0;
    AVPacket *pkt = NULL;
    AVFrame *frame = NULL;
    char what[96];
    int rc = 0, av;

    if (out)
        memset(out, 0, sizeof *out);
    memset(tr, 0, sizeof tr);
    if (!m || !out || !m->fmt)
        return tlo_fail(err, TLO_EARG, "tlo_player_media_decode_all: no media or output");
    if (m->first.code != 0) {
        if (err)
            *err = m->first;
        return m->first.code;
    }

    AVFormatContext *fmt = m->fmt;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;
        if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (n == TLO_PLAYER_MAX_TRACKS) {
            rc = tlo_fail(err, TLO_EUNSUPPORTED,
                          "%s has more than %d video and audio tracks; this tellonce reads at "
                          "most %d",
                          m->name, TLO_PLAYER_MAX_TRACKS, TLO_PLAYER_MAX_TRACKS);
            goto done;
        }
        const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
        if (!codec) {
            rc = tlo_fail(err, TLO_EUNSUPPORTED,
                          "%s: stream %u is %s, which this FFmpeg cannot decode; install an "
                          "FFmpeg with that decoder",
                          m->name, i, avcodec_get_name(st->codecpar->codec_id));
            goto done;
        }
        track *t = &tr[n++];
        t->st = st;
        t->dec = avcodec_alloc_context3(codec);
        if (!t->dec) {
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory for decoding %s", m->name);
            goto done;
        }
        t->dec->pkt_timebase = st->time_base;
        av = avcodec_parameters_to_context(t->dec, st->codecpar);
        if (av >= 0)
            av = avcodec_open2(t->dec, codec, NULL);
        if (av < 0) {
            track_name(what, sizeof what, t);
            rc = tlo_fail(err, TLO_EFORMAT, "%s: cannot start decoding %s: %s", m->name, what,
                          av_err2str(av));
            goto done;
        }
    }

    pkt = av_packet_alloc();
    frame = av_frame_alloc();
    if (!pkt || !frame) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory for decoding %s", m->name);
        goto done;
    }
    for (;;) {
        av = av_read_frame(fmt, pkt);
        if (av == AVERROR_EOF)
            break;
        if (av < 0 || m->averr) {
            rc = media_fail(m, err, TLO_EFORMAT, "reading a packet failed", av);
            goto done;
        }
        track *t = NULL;
        for (unsigned k = 0; k < n; k++)
            if (tr[k].st->index == pkt->stream_index)
                t = &tr[k];
        if (t) {
            av = avcodec_send_packet(t->dec, pkt);
            /* EAGAIN cannot happen: every send is followed by a full drain. */
            if (av >= 0)
                av = drain(t, frame);
            if (av < 0) {
                track_name(what, sizeof what, t);
                rc = tlo_fail(err, TLO_EFORMAT,
                              "%s: decoding %s failed at byte %lld of the plaintext: %s", m->name,
                              what, (long long)pkt->pos, av_err2str(av));
                goto done;
            }
        }
        av_packet_unref(pkt);
    }
    /* A demuxer may end "cleanly" at a failed read: the kept error decides. */
    if (m->averr) {
        rc = media_fail(m, err, TLO_EFORMAT, "reading failed", m->averr);
        goto done;
    }
    for (unsigned k = 0; k < n; k++) {
        av = avcodec_send_packet(tr[k].dec, NULL);
        if (av >= 0)
            av = drain(&tr[k], frame);
        if (av < 0) {
            track_name(what, sizeof what, &tr[k]);
            rc = tlo_fail(err, TLO_EFORMAT, "%s: decoding the end of %s failed: %s", m->name, what,
                          av_err2str(av));
            goto done;
        }
    }

    int64_t first = 0, end = 0;
    int seen = 0;
    out->tracks = n;
    for (unsigned k = 0; k < n; k++) {
        tlo_player_track_stats *s = &out->track[k];
        s->stream_index = (unsigned)tr[k].st->index;
        s->kind = tr[k].dec->codec_type == AVMEDIA_TYPE_VIDEO ? TLO_PLAYER_TRACK_VIDEO
                                                              : TLO_PLAYER_TRACK_AUDIO;
        snprintf(s->codec, sizeof s->codec, "%s", avcodec_get_name(tr[k].dec->codec_id));
        s->frames = tr[k].frames;
        if (tr[k].frames == 0)
            continue;
        s->first_pts_ms = tr[k].first;
        s->last_pts_ms = tr[k].last;
        s->end_ms = tr[k].end;
        if (!seen || tr[k].first < first)
            first = tr[k].first;
        if (!seen || tr[k].end > end)
            end = tr[k].end;
        seen = 1;
    }
    out->duration_ms = seen && end > first ? (uint64_t)(end - first) : 0;
    tlo_error_clear(err);
done:
    if (rc != 0)
        memset(out, 0, sizeof *out);
    av_packet_free(&pkt);
    av_frame_free(&frame);
    for (unsigned k = 0; k < n; k++)
        avcodec_free_context(&tr[k].dec);
    return rc;
}

int tlo_player_check_plaintext(tlo_vault_reader *r, const uint8_t want[static 32], const char *name,
                               tlo_error *err)
{
    enum { STEP = 1 << 16 };
    uint8_t *buf = malloc(STEP), got[32];
    uint64_t size = tlo_vault_reader_size(r);
    crypto_hash_sha256_state h;
    int rc = buf ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory checking %s", name);
    crypto_hash_sha256_init(&h);
    for (uint64_t off = 0; rc == 0 && off < size; off += STEP) {
        size_t n = size - off < STEP ? (size_t)(size - off) : STEP;
        if ((rc = tlo_vault_reader_read_at(r, off, buf, n, err)) == 0)
            crypto_hash_sha256_update(&h, buf, n);
    }
    crypto_hash_sha256_final(&h, got);
    if (buf)
        sodium_memzero(buf, STEP);
    free(buf);
    if (rc == 0 && sodium_memcmp(got, want, 32) != 0)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "%s does not hold the media its entry logged (its plaintext SHA-256 "
                      "differs): it was sealed again after the recording; nothing of it is shown. "
                      "'tellonce verify' shows the damage",
                      name ? name : "a segment");
    return rc;
}
