/* Export: the released segments of a session remuxed into one MP4
 * (export.h). Stream copy here: no decoder or encoder runs in this file;
 * the re-encode with a watermark is export_watermark.c, which shares the
 * output file, digest and sync below.
 *
 * Two passes over the first segment, one over the others: the first pass
 * reads only the first segment's packets, up to `from`, to find the keyframe
 * the clip starts at (its zero); the second copies the packets. Times are
 * kept in each track's own time base (which every segment must share), so
 * a packet is moved by a whole number of ticks: its segment's start on the
 * session clock, minus the segment's own origin, minus the zero. */
#include "export.h"
#include "export_watermark.h"

#include <errno.h>
#include <fcntl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mathematics.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define US_PER_MS 1000
/* A packet more than this outside its segment's recorded start and end
 * means the segment is not what its entry says: refused. */
#define SLACK_US (2 * 1000 * 1000)
/* Timestamps beyond this (in ticks) are refused before any arithmetic. */
#define TS_LIMIT (INT64_C(1) << 50)
#define HASH_BUF_BYTES (1024 * 1024)

static const AVRational us_tb = {1, 1000000};

/* One segment opened for reading. */
typedef struct source {
    int fd;
    tlo_player_media *m;
    AVFormatContext *fmt;
    int64_t origin_us; /* the segment's own start, in its timestamps */
} source;

/* One output track, and what every segment's matching stream must be. */
typedef struct track {
    enum AVMediaType type;
    AVCodecParameters *par; /* of the first segment */
    AVRational tb;          /* the input time base, the same in every segment */
    AVStream *ost;
    unsigned number; /* camera or microphone number, from 1 */
    bool started, done;
    int64_t last_dts;     /* of the last packet written, clip ticks */
    int64_t next_dts;     /* where the next packet would follow on (audio) */
    int64_t end;          /* latest pts + duration written, clip ticks */
    int64_t offset;       /* this segment's shift, ticks */
    int64_t lo_us, hi_us; /* this segment's bounds on the session clock */
    tlo_player_export_track stats;
} track;

typedef struct exporter {
    const tlo_player_export_segment *segs;
    size_t n;
    int64_t from_us, to_us, zero_us;
    track tr[TLO_PLAYER_MAX_TRACKS];
    unsigned ntracks;
    int map[TLO_PLAYER_MAX_TRACKS * 4]; /* input stream -> track, or -1 */
    AVFormatContext *out;
    char tmp_path[32]; /* the caller's file, as /proc/self/fd/FD */
    char writing[320]; /* "writing OUT", for messages */
    const tlo_player_export_output *to;
    tlo_error *err;
    unsigned camera; /* only this camera's video (1..), or 0: every camera */
} exporter;

static int fail_av(tlo_error *err, int code, const char *what, int averr)
{
    char text[128];
    if (av_strerror(averr, text, sizeof text) < 0)
        snprintf(text, sizeof text, "FFmpeg error %d", averr);
    return tlo_fail(err, code, "%s: %s", what, text);
}

/* A failed write: the disk (TLO_EIO) or the data (TLO_EFORMAT). */
static int write_code(int averr)
{
    return averr == AVERROR(ENOSPC) || averr == AVERROR(EIO) || averr == AVERROR(EDQUOT) ||
                   averr == AVERROR(EFBIG)
               ? TLO_EIO
               : TLO_EFORMAT;
}

static void source_close(source *s)
{
    tlo_player_media_free(s->m); /* frees the reader, which does not own fd */
    s->m = NULL;
    s->fmt = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

/* Opens segment s with its object key. src must stay where it is until
 * source_close: the vault reader reads through &src->fd. */
static int source_open(const tlo_player_export_segment *s, source *src, tlo_error *err)
{
    struct stat st;
    src->m = NULL;
    src->fmt = NULL;
    src->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (src->fd < 0)
        return tlo_fail(err, TLO_EIO, "cannot open segment %llu (%s): %s",
                        (unsigned long long)s->index, s->path, strerror(errno));
    if (fstat(src->fd, &st) != 0) {
        int e = errno;
        source_close(src);
        return tlo_fail(err, TLO_EIO, "cannot read segment %llu (%s): %s",
                        (unsigned long long)s->index, s->path, strerror(e));
    }
    tlo_vault_reader *r = tlo_vault_reader_open_object_key(
        tlo_vault_fd_source, &src->fd, (uint64_t)st.st_size, s->object_key, s->path, err);
    if (!r) {
        source_close(src);
        return err && err->code ? err->code : TLO_EFORMAT;
    }
    int prc =
        s->plaintext_sha256 ? tlo_player_check_plaintext(r, s->plaintext_sha256, s->path, err) : 0;
    if (prc) {
        tlo_vault_reader_free(r);
        source_close(src);
        return prc;
    }
    src->m = tlo_player_media_open_reader(r, s->path, err); /* takes r */
    if (!src->m) {
        source_close(src);
        return err && err->code ? err->code : TLO_EFORMAT;
    }
    src->fmt = tlo_player_media_format(src->m);
    src->origin_us = src->fmt->start_time != AV_NOPTS_VALUE ? src->fmt->start_time : 0;
    if (src->origin_us < -SLACK_US || src->origin_us > SLACK_US) {
        source_close(src);
        return tlo_fail(err, TLO_EFORMAT,
                        "segment %llu (%s) starts at %lld us of its own clock, not near 0",
                        (unsigned long long)s->index, s->path, (long long)src->origin_us);
    }
    return 0;
}

/* The kept failure of the vault reader under src, if any: checked after
 * every packet (player.h says why). */
static int media_failed(const source *src, tlo_error *err)
{
    const tlo_error *e = tlo_player_media_error(src->m);
    if (e->code == 0)
        return 0;
    if (err)
        *err = *e;
    return e->code;
}

/* A packet's decode (or presentation) time in its own time base, with the
 * bounds every later computation relies on. */
static int packet_time(const AVPacket *pkt, bool dts, int64_t *ts)
{
    int64_t t = dts && pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (t == AV_NOPTS_VALUE)
        t = pkt->dts;
    if (t == AV_NOPTS_VALUE || t < -TS_LIMIT || t > TS_LIMIT)
        return -1;
    *ts = t;
    return 0;
}

/* Session time in us of a timestamp of segment s. */
static int64_t session_us(const tlo_player_export_segment *s, const source *src, AVRational tb,
                          int64_t ts)
{
    return (int64_t)s->start_ms * US_PER_MS + av_rescale_q(ts, tb, us_tb) - src->origin_us;
}

static bool same_params(const AVCodecParameters *a, const AVCodecParameters *b)
{
    if (a->codec_type != b->codec_type || a->codec_id != b->codec_id ||
        a->extradata_size != b->extradata_size ||
        (a->extradata_size && memcmp(a->extradata, b->extradata, (size_t)a->extradata_size)))
        return false;
    if (a->codec_type == AVMEDIA_TYPE_VIDEO)
        return a->width == b->width && a->height == b->height;
    return a->sample_rate == b->sample_rate && a->ch_layout.nb_channels == b->ch_layout.nb_channels;
}

/* Maps the streams of a segment onto the tracks: the first segment defines
 * them, every later one must match. */
static int map_streams(exporter *x, size_t i, const source *src)
{
    const tlo_player_export_segment *s = &x->segs[i];
    unsigned k = 0, video = 0, audio = 0;
    if (src->fmt->nb_streams > sizeof x->map / sizeof x->map[0])
        return tlo_fail(x->err, TLO_EUNSUPPORTED, "segment %llu (%s) has %u streams; at most %zu",
                        (unsigned long long)s->index, s->path, src->fmt->nb_streams,
                        sizeof x->map / sizeof x->map[0]);
    unsigned cameras = 0;
    for (unsigned j = 0; j < src->fmt->nb_streams; j++) {
        const AVStream *st = src->fmt->streams[j];
        enum AVMediaType type = st->codecpar->codec_type;
        x->map[j] = -1;
        if (type != AVMEDIA_TYPE_VIDEO && type != AVMEDIA_TYPE_AUDIO)
            continue;
        /* --layout camN: the other cameras are left out. */
        if (type == AVMEDIA_TYPE_VIDEO && ++cameras != x->camera && x->camera)
            continue;
        if (k == TLO_PLAYER_MAX_TRACKS)
            return tlo_fail(x->err, TLO_EUNSUPPORTED,
                            "segment %llu (%s) has more than %d video and audio tracks",
                            (unsigned long long)s->index, s->path, TLO_PLAYER_MAX_TRACKS);
        if (st->time_base.num <= 0 || st->time_base.den <= 0)
            return tlo_fail(x->err, TLO_EFORMAT, "segment %llu (%s): track %u has no time base",
                            (unsigned long long)s->index, s->path, j);
        track *t = &x->tr[k];
        if (i == 0) {
            t->type = type;
            t->tb = st->time_base;
            t->number = type == AVMEDIA_TYPE_VIDEO ? ++video : ++audio;
            t->par = avcodec_parameters_alloc();
            if (!t->par || avcodec_parameters_copy(t->par, st->codecpar) < 0)
                return tlo_fail(x->err, TLO_ENOMEM, "out of memory for the export's tracks");
            t->stats.kind =
                type == AVMEDIA_TYPE_VIDEO ? TLO_PLAYER_TRACK_VIDEO : TLO_PLAYER_TRACK_AUDIO;
            snprintf(t->stats.codec, sizeof t->stats.codec, "%s",
                     avcodec_get_name(st->codecpar->codec_id));
            x->ntracks = k + 1;
        } else if (k >= x->ntracks || !same_params(t->par, st->codecpar) ||
                   av_cmp_q(t->tb, st->time_base) != 0) {
            return tlo_fail(x->err, TLO_EFORMAT,
                            "segment %llu (%s): its track %u is not like track %u of the first "
                            "segment of the clip (kind, codec, parameters or time base differ), "
                            "so they cannot be joined without re-encoding",
                            (unsigned long long)s->index, s->path, j, k);
        }
        x->map[j] = (int)k;
        k++;
    }
    if (x->camera && cameras < x->camera)
        return tlo_fail(x->err, TLO_EARG,
                        "segment %llu (%s) has %u camera(s), so there is no camera %u to export; "
                        "use --layout cam1 to cam%u",
                        (unsigned long long)s->index, s->path, cameras, x->camera, cameras);
    if (k != x->ntracks || k == 0)
        return tlo_fail(x->err, TLO_EFORMAT,
                        "segment %llu (%s) has %u video and audio tracks where the first segment "
                        "of the clip has %u",
                        (unsigned long long)s->index, s->path, k, x->ntracks);
    /* This segment's shift and bounds, per track. */
    for (unsigned j = 0; j < x->ntracks; j++) {
        track *t = &x->tr[j];
        int64_t shift_us = (int64_t)s->start_ms * US_PER_MS - src->origin_us - x->zero_us;
        t->offset = av_rescale_q_rnd(shift_us, us_tb, t->tb, AV_ROUND_NEAR_INF);
        t->lo_us = (int64_t)s->start_ms * US_PER_MS - SLACK_US;
        t->hi_us = (int64_t)s->end_ms * US_PER_MS + SLACK_US;
    }
    return 0;
}

/* Pass one: the clip's zero, the keyframe of the first video track (with
 * --layout camN, camera N's) at or
 * before from (the first segment starts with one: segments are cut at its
 * keyframes). Without video the zero is from itself. */
static int find_zero(exporter *x)
{
    const tlo_player_export_segment *s = &x->segs[0];
    source src;
    AVPacket *pkt = NULL;
    int rc = source_open(s, &src, x->err), v = -1;
    if (rc)
        return rc;
    unsigned cameras = 0;
    for (unsigned j = 0; j < src.fmt->nb_streams && v < 0; j++)
        if (src.fmt->streams[j]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            (++cameras == x->camera || !x->camera))
            v = (int)j;
    x->zero_us = x->from_us;
    if (v < 0)
        goto out;
    if (!(pkt = av_packet_alloc())) {
        rc = tlo_fail(x->err, TLO_ENOMEM, "out of memory for reading %s", s->path);
        goto out;
    }
    AVRational tb = src.fmt->streams[v]->time_base;
    bool found = false;
    for (;;) {
        int av = av_read_frame(src.fmt, pkt);
        if ((rc = media_failed(&src, x->err)) != 0)
            goto out;
        if (av == AVERROR_EOF)
            break;
        if (av < 0) {
            rc = fail_av(x->err, TLO_EFORMAT, s->path, av);
            goto out;
        }
        int64_t ts;
        if (pkt->stream_index == v && (pkt->flags & AV_PKT_FLAG_KEY)) {
            if (packet_time(pkt, false, &ts) != 0) {
                rc = tlo_fail(x->err, TLO_EFORMAT, "%s: a keyframe without a valid timestamp",
                              s->path);
                goto out;
            }
            int64_t at = session_us(s, &src, tb, ts);
            if (at <= x->from_us || !found) {
                x->zero_us = at;
                found = true;
            }
            if (at >= x->from_us) {
                av_packet_unref(pkt);
                break;
            }
        }
        av_packet_unref(pkt);
    }
    if (!found)
        rc = tlo_fail(x->err, TLO_EFORMAT,
                      "segment %llu (%s) has no keyframe in its first video "
                      "track: the clip cannot start there",
                      (unsigned long long)s->index, s->path);
out:
    av_packet_free(&pkt);
    source_close(&src);
    return rc;
}

/* The output, once the first segment tells the tracks. */
static int open_output(exporter *x)
{
    char *url = NULL;
    size_t ul = strlen(x->tmp_path) + 6;
    AVDictionary *opts = NULL;
    int av;
    if (!(url = malloc(ul)))
        return tlo_fail(x->err, TLO_ENOMEM, "out of memory");
    /* "file:" so that no other protocol reads the name. */
    snprintf(url, ul, "file:%s", x->tmp_path);
    av = avformat_alloc_output_context2(&x->out, NULL, "mp4", url);
    if (av < 0 || !x->out) {
        free(url);
        return fail_av(x->err, TLO_EUNSUPPORTED, "this FFmpeg cannot write MP4", av);
    }
    for (unsigned k = 0; k < x->ntracks; k++) {
        track *t = &x->tr[k];
        t->ost = avformat_new_stream(x->out, NULL);
        if (!t->ost || avcodec_parameters_copy(t->ost->codecpar, t->par) < 0) {
            free(url);
            return tlo_fail(x->err, TLO_ENOMEM, "out of memory for the export's tracks");
        }
        t->ost->codecpar->codec_tag = 0;
        t->ost->time_base = t->tb;
        /* Every camera default (the mp4 muxer then flags each video track
         * enabled, each in its own alternate group): otherwise it enables
         * only the first, and ordinary players show one camera. */
        if (t->type == AVMEDIA_TYPE_VIDEO)
            t->ost->disposition |= AV_DISPOSITION_DEFAULT;
        char name[32];
        snprintf(name, sizeof name, "%s %u",
                 t->type == AVMEDIA_TYPE_VIDEO ? "camera" : "microphone", t->number);
        av_dict_set(&t->ost->metadata, "handler_name", name, 0);
    }
    av = avio_open(&x->out->pb, url, AVIO_FLAG_WRITE);
    free(url);
    if (av < 0)
        return fail_av(x->err, TLO_EIO, x->writing, av);
    av_dict_set(&opts, "movflags", "+faststart", 0);
    av = avformat_write_header(x->out, &opts);
    av_dict_free(&opts);
    if (av < 0)
        return fail_av(x->err, write_code(av), x->writing, av);
    return 0;
}

/* Copies one packet of track t if it is in the clip. Returns 0, 1 when the
 * track has ended (past to), or a negative code. */
static int copy_packet(exporter *x, size_t i, const source *src, track *t, AVPacket *pkt)
{
    const tlo_player_export_segment *s = &x->segs[i];
    int64_t dts, pts;
    if (packet_time(pkt, true, &dts) != 0 || packet_time(pkt, false, &pts) != 0)
        return tlo_fail(x->err, TLO_EFORMAT,
                        "segment %llu (%s): a packet without a valid "
                        "timestamp",
                        (unsigned long long)s->index, s->path);
    int64_t at_dts = session_us(s, src, t->tb, dts), at_pts = session_us(s, src, t->tb, pts);
    if (at_dts < t->lo_us || at_dts > t->hi_us || at_pts < t->lo_us || at_pts > t->hi_us)
        return tlo_fail(x->err, TLO_EFORMAT,
                        "segment %llu (%s) holds a packet at %lld ms of the session, outside its "
                        "recorded %llu to %llu ms",
                        (unsigned long long)s->index, s->path, (long long)(at_pts / US_PER_MS),
                        (unsigned long long)s->start_ms, (unsigned long long)s->end_ms);
    if (at_dts >= x->to_us) {
        t->done = true;
        return 1;
    }
    if (!t->started) {
        bool key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
        if (at_pts < x->zero_us || (t->type == AVMEDIA_TYPE_VIDEO && !key))
            return 0; /* before the clip, or not decodable on its own */
    }
    int64_t duration = pkt->duration > 0 && pkt->duration < TS_LIMIT ? pkt->duration : 0;
    dts += t->offset;
    pts += t->offset;
    if (t->type == AVMEDIA_TYPE_AUDIO && t->started && dts < t->next_dts &&
        t->next_dts - dts <= (duration ? duration : 1)) {
        /* Overlaps the packet before by less than a packet: the segment's
         * muxer restarted the track at its own 0. Follow on instead. */
        pts += t->next_dts - dts;
        dts = t->next_dts;
    }
    if (!t->started && dts < 0) { /* a rounding tick before the zero */
        pts -= dts;
        dts = 0;
    }
    if (t->started && dts <= t->last_dts) {
        pts += t->last_dts + 1 - dts;
        dts = t->last_dts + 1;
    }
    if (pts < dts)
        pts = dts;
    t->started = true;
    t->last_dts = dts;
    t->next_dts = dts + duration;
    if (pts + duration > t->end)
        t->end = pts + duration;
    t->stats.packets++;
    pkt->dts = dts;
    pkt->pts = pts;
    pkt->pos = -1;
    pkt->stream_index = t->ost->index;
    av_packet_rescale_ts(pkt, t->tb, t->ost->time_base);
    int av = av_interleaved_write_frame(x->out, pkt); /* takes the packet's data */
    if (av < 0)
        return fail_av(x->err, write_code(av), x->writing, av);
    return 0;
}

/* Pass two: every segment's packets, in order. */
static int copy_all(exporter *x)
{
    AVPacket *pkt = av_packet_alloc();
    int rc = 0;
    if (!pkt)
        return tlo_fail(x->err, TLO_ENOMEM, "out of memory for the export");
    bool all_done = false;
    for (size_t i = 0; i < x->n && !all_done && rc == 0; i++) {
        const tlo_player_export_segment *s = &x->segs[i];
        source src;
        if ((rc = source_open(s, &src, x->err)) != 0)
            break;
        if ((rc = map_streams(x, i, &src)) == 0 && i == 0)
            rc = open_output(x);
        while (rc == 0) {
            int av = av_read_frame(src.fmt, pkt);
            if ((rc = media_failed(&src, x->err)) != 0)
                break;
            if (av == AVERROR_EOF)
                break;
            if (av < 0) {
                rc = fail_av(x->err, TLO_EFORMAT, s->path, av);
                break;
            }
            int k = pkt->stream_index >= 0 && (size_t)pkt->stream_index < src.fmt->nb_streams
                        ? x->map[pkt->stream_index]
                        : -1;
            if (k >= 0 && !x->tr[k].done) {
                int c = copy_packet(x, i, &src, &x->tr[k], pkt);
                if (c < 0)
                    rc = c;
                else if (c == 1) {
                    all_done = true;
                    for (unsigned j = 0; j < x->ntracks; j++)
                        all_done = all_done && x->tr[j].done;
                }
            }
            av_packet_unref(pkt);
            if (all_done)
                break;
        }
        source_close(&src);
        if (rc == 0 && x->to->progress) { /* the range up to this segment's end is done */
            uint64_t from = (uint64_t)x->from_us / US_PER_MS, to = (uint64_t)x->to_us / US_PER_MS;
            uint64_t end = all_done || s->end_ms > to ? to : s->end_ms;
            x->to->progress(x->to->progress_ctx, end > from ? end - from : 0, to - from);
        }
    }
    av_packet_free(&pkt);
    if (rc == 0 && x->out) {
        int av = av_write_trailer(x->out);
        if (av < 0)
            rc = fail_av(x->err, write_code(av), x->writing, av);
    }
    if (x->out) {
        int av = avio_closep(&x->out->pb);
        if (rc == 0 && av < 0)
            rc = fail_av(x->err, TLO_EIO, x->writing, av);
    }
    return rc;
}

/* Hashes the finished file at path and syncs it to disk; name is what
 * messages call it. */
static int hash_and_sync(const char *path, const char *name, tlo_player_export_result *out,
                         tlo_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint8_t *buf = malloc(HASH_BUF_BYTES);
    crypto_hash_sha256_state st;
    uint64_t off = 0;
    int rc = 0;
    if (fd < 0 || !buf) {
        rc = fd < 0 ? tlo_fail(err, TLO_EIO, "cannot reopen %s (as %s): %s", name, path,
                               strerror(errno))
                    : tlo_fail(err, TLO_ENOMEM, "out of memory");
        goto out;
    }
    crypto_hash_sha256_init(&st);
    for (;;) {
        long long n = tlo_pread_full(fd, buf, HASH_BUF_BYTES, off);
        if (n < 0) {
            rc = tlo_fail(err, TLO_EIO, "cannot read back %s: %s", name, strerror((int)-n));
            goto out;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += (uint64_t)n;
        if (n < HASH_BUF_BYTES)
            break;
    }
    crypto_hash_sha256_final(&st, out->sha256);
    out->bytes = off;
    if (fsync(fd) != 0)
        rc = tlo_fail(err, TLO_EIO, "cannot sync %s to disk: %s", name, strerror(errno));
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* The stream copy into tmp: the result but for its size and digest. */
static int copy_into(exporter *x, tlo_player_export_result *res)
{
    int rc;
    if ((rc = find_zero(x)) != 0 || (rc = copy_all(x)) != 0)
        return rc;
    int64_t end_us = 0;
    res->tracks = x->ntracks;
    for (unsigned k = 0; k < x->ntracks; k++) {
        res->track[k] = x->tr[k].stats;
        int64_t e = av_rescale_q_rnd(x->tr[k].end, x->tr[k].tb, us_tb, AV_ROUND_UP);
        if (x->tr[k].started && e > end_us)
            end_us = e;
    }
    res->clip_start_ms = (uint64_t)(x->zero_us > 0 ? x->zero_us : 0) / US_PER_MS;
    res->clip_end_ms = ((uint64_t)(x->zero_us + end_us) + US_PER_MS - 1) / US_PER_MS;
    return 0;
}

/* Both exports: the checks, the stream copy or the re-encode (watermark
 * not NULL) into the caller's file, its digest and sync. */
static int export_run(const tlo_player_export_segment *segs, size_t n, uint64_t from_ms,
                      uint64_t to_ms, const char *watermark, const tlo_player_pip *pip,
                      const tlo_player_export_output *to, tlo_player_export_result *out,
                      tlo_error *err)
{
    exporter x = {.segs = segs, .n = n, .to = to, .err = err};
    if (pip && pip->kind == TLO_LAYOUT_CAMERA)
        x.camera = pip->camera;
    char mdat_path[32];
    int rc = 0;
    if (out)
        memset(out, 0, sizeof *out);
    if (!segs || !out || !to || to->fd < 0 || !to->name || (watermark && to->scratch_fd < 0) ||
        n == 0 || n > TLO_PLAYER_EXPORT_MAX_SEGMENTS || to_ms <= from_ms ||
        to_ms > (uint64_t)INT64_MAX / US_PER_MS / 2)
        return tlo_fail(err, TLO_EARG,
                        "tlo_player_export_mp4: no output file, no segments, too many (%zu, at "
                        "most %d), or an empty range",
                        n, TLO_PLAYER_EXPORT_MAX_SEGMENTS);
    for (size_t i = 0; i < n; i++)
        if (!segs[i].path || !segs[i].object_key || segs[i].end_ms < segs[i].start_ms ||
            segs[i].end_ms > (uint64_t)INT64_MAX / US_PER_MS / 2 ||
            (i && segs[i].start_ms < segs[i - 1].start_ms))
            return tlo_fail(err, TLO_EARG,
                            "tlo_player_export_mp4: segment %zu is malformed or "
                            "out of order",
                            i);
    snprintf(x.writing, sizeof x.writing, "writing %s", to->name);
    x.from_us = (int64_t)from_ms * US_PER_MS;
    x.to_us = (int64_t)to_ms * US_PER_MS;
    /* FFmpeg and GStreamer take paths: the caller's open files as paths. */
    snprintf(x.tmp_path, sizeof x.tmp_path, "/proc/self/fd/%d", to->fd);
    snprintf(mdat_path, sizeof mdat_path, "/proc/self/fd/%d", to->scratch_fd);

    tlo_player_export_result res = {0};
    if (watermark) {
        /* The muxer's index goes at the front, so it keeps the media in a
         * second file until the end: the caller's, never a shared /tmp. */
        tlo_clip_segment *cs = calloc(n, sizeof *cs);
        if (!cs) {
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++)
            cs[i] = (tlo_clip_segment){.path = segs[i].path,
                                       .object_key = segs[i].object_key,
                                       .start_ms = segs[i].start_ms,
                                       .end_ms = segs[i].end_ms,
                                       .plaintext_sha256 = segs[i].plaintext_sha256};
        rc = tlo_player_encode_mp4(cs, n, from_ms, to_ms, watermark, pip, x.tmp_path, mdat_path,
                                   x.writing, &res, to->progress, to->progress_ctx, err);
        free(cs);
    } else {
        rc = copy_into(&x, &res);
    }
    if (rc != 0 || (rc = hash_and_sync(x.tmp_path, to->name, &res, err)) != 0)
        goto done;
    *out = res;
    tlo_error_clear(err);
done:
    avformat_free_context(x.out);
    for (unsigned k = 0; k < TLO_PLAYER_MAX_TRACKS; k++)
        avcodec_parameters_free(&x.tr[k].par);
    return rc;
}

int tlo_player_export_mp4(const tlo_player_export_segment *segs, size_t n, uint64_t from_ms,
                          uint64_t to_ms, const tlo_player_export_output *to,
                          tlo_player_export_result *out, tlo_error *err)
{
    return export_run(segs, n, from_ms, to_ms, NULL, NULL, to, out, err);
}

int tlo_player_export_mp4_layout(const tlo_player_export_segment *segs, size_t n, uint64_t from_ms,
                                 uint64_t to_ms, const tlo_player_pip *layout,
                                 const tlo_player_export_output *to, tlo_player_export_result *out,
                                 tlo_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!layout || layout->kind != TLO_LAYOUT_CAMERA || layout->camera < 1 ||
        layout->camera > TLO_PLAYER_MAX_TRACKS)
        return tlo_fail(err, TLO_EARG,
                        "tlo_player_export_mp4_layout: a stream copy keeps one camera (camN) or "
                        "every camera; a composed layout is a re-encode");
    return export_run(segs, n, from_ms, to_ms, NULL, layout, to, out, err);
}

int tlo_player_export_mp4_watermarked(const tlo_player_export_segment *segs, size_t n,
                                      uint64_t from_ms, uint64_t to_ms, const char *watermark,
                                      const tlo_player_pip *pip, const tlo_player_export_output *to,
                                      tlo_player_export_result *out, tlo_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!watermark || !*watermark || strlen(watermark) > TLO_PLAYER_WATERMARK_MAX ||
        strchr(watermark, '\n'))
        return tlo_fail(err, TLO_EARG,
                        "tlo_player_export_mp4_watermarked: the watermark is one line of 1 to %d "
                        "bytes",
                        TLO_PLAYER_WATERMARK_MAX);
    return export_run(segs, n, from_ms, to_ms, watermark, pip, to, out, err);
}
