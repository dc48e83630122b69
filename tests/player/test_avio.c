/* player: sealed media read through the decrypting AVIOContext. Real media
 * (2 s of H.264 and 1 s of AAC in fragmented MP4) is made in memory with
 * GStreamer, sealed into 16 KiB chunks, and read back with FFmpeg: it decodes
 * in full and seeks; an altered chunk stops decoding for good with an error
 * that names the chunk; a wrong key, a truncated file and sealed non-media
 * fail at open. The plaintext is never written to disk. */
#include "clip.h"
#include "player.h"
#include "testutil.h"

#include <sodium.h>
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK_LOG2 14
#define CHUNK ((size_t)1 << CHUNK_LOG2)

typedef struct bytes {
    uint8_t *p;
    size_t len, cap;
} bytes;

static int append(bytes *b, const uint8_t *p, size_t len)
{
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q)
            return -1;
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, len);
    b->len += len;
    return 0;
}

/* 50 frames of 320x240 H.264 at 25 fps and 50 x 960 samples of AAC at
 * 48 kHz, muxed into fragmented MP4 (0.5 s fragments), collected in memory. */
static int make_media(bytes *out)
{
    GError *gerr = NULL;
    GstElement *p = gst_parse_launch(
        "videotestsrc num-buffers=50 ! video/x-raw,width=320,height=240,framerate=25/1 ! "
        "x264enc key-int-max=12 ! h264parse ! "
        "mp4mux fragment-duration=500 streamable=true name=m ! appsink name=sink sync=false "
        "audiotestsrc num-buffers=50 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=1 ! "
        "avenc_aac ! aacparse ! m.",
        &gerr);
    if (!p) {
        fprintf(stderr, "pipeline: %s\n", gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        return -1;
    }
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
    int rc = 0;
    gst_element_set_state(p, GST_STATE_PLAYING);
    GstSample *s;
    while (rc == 0 && (s = gst_app_sink_pull_sample(GST_APP_SINK(sink))) != NULL) {
        GstMapInfo map;
        GstBuffer *buf = gst_sample_get_buffer(s);
        if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
            rc = append(out, map.data, map.size);
            gst_buffer_unmap(buf, &map);
        }
        gst_sample_unref(s);
    }
    if (!gst_app_sink_is_eos(GST_APP_SINK(sink)))
        rc = -1;
    GstBus *bus = gst_element_get_bus(p);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (msg) {
        gst_message_parse_error(msg, &gerr, NULL);
        fprintf(stderr, "pipeline error: %s\n", gerr->message);
        g_clear_error(&gerr);
        gst_message_unref(msg);
        rc = -1;
    }
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(sink);
    gst_object_unref(p);
    return rc;
}

/* Seals len bytes into a new file at path. Returns the chunk count, or -1. */
static long long seal(const char *path, const uint8_t *p, size_t len, const uint8_t *key)
{
    tlo_error err = {0};
    tlo_vault_object_params params = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = CHUNK_LOG2};
    tlo_vault_digests dg;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    tlo_vault_random_id(params.case_id);
    tlo_vault_random_id(params.object_id);
    tlo_vault_writer *w = tlo_vault_writer_new(&params, key, tlo_vault_fd_sink, &fd, &err);
    int rc = w ? tlo_vault_writer_write(w, p, len, &err) : -1;
    if (rc == 0)
        rc = tlo_vault_writer_finish(w, &dg, &err);
    tlo_vault_writer_free(w);
    close(fd);
    if (rc != 0)
        fprintf(stderr, "sealing %s: %s\n", path, err.msg);
    return rc == 0 ? (long long)dg.chunks : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)n)) != NULL)
        *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static int spill(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wbx");
    if (!f)
        return -1;
    size_t n = fwrite(p, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

/* Every call FFmpeg makes to the read callback, through a wrapper put in
 * front of it: after the first failure no call may return data. */
static int (*real_read)(void *, uint8_t *, int);
static int reads_after_failure, data_after_failure, failed_once;

static int counting_read(void *opaque, uint8_t *buf, int size)
{
    int n = real_read(opaque, buf, size);
    if (failed_once) {
        reads_after_failure++;
        data_after_failure += n > 0;
    }
    if (n < 0 && n != AVERROR_EOF)
        failed_once = 1;
    return n;
}

static void check_intact(const char *path, const uint8_t *key)
{
    tlo_error err = {0};
    tlo_player_decode_stats st;
    tlo_player_media *m = tlo_player_media_open(path, key, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        return;
    CHECK(tlo_player_media_error(m)->code == 0);
    CHECK_MSG(tlo_player_media_decode_all(m, &st, &err) == 0, "%s", err.msg);
    CHECK(tlo_player_media_error(m)->code == 0);
    CHECK_MSG(st.tracks == 2, "%u tracks", st.tracks);
    unsigned v = 0, a = 0;
    for (unsigned i = 0; i < st.tracks && i < TLO_PLAYER_MAX_TRACKS; i++) {
        const tlo_player_track_stats *t = &st.track[i];
        printf("track %u: stream %u %s %s, %llu frames, pts %lld..%lld ms, ends at %lld ms\n", i,
               t->stream_index, t->kind == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio", t->codec,
               (unsigned long long)t->frames, (long long)t->first_pts_ms, (long long)t->last_pts_ms,
               (long long)t->end_ms);
        if (t->kind == TLO_PLAYER_TRACK_VIDEO) {
            v++;
            CHECK(!strcmp(t->codec, "h264"));
            CHECK_MSG(t->frames == 50, "%llu video frames", (unsigned long long)t->frames);
            /* x264's B-frames delay presentation by two frames (80 ms). */
            CHECK(t->first_pts_ms >= 0 && t->first_pts_ms <= 120);
            CHECK(t->last_pts_ms - t->first_pts_ms == 49 * 40);
        } else {
            a++;
            CHECK(t->kind == TLO_PLAYER_TRACK_AUDIO && !strcmp(t->codec, "aac"));
            /* 48000 samples of 1024-sample AAC frames, give or take priming. */
            CHECK_MSG(t->frames >= 46 && t->frames <= 49, "%llu audio frames",
                      (unsigned long long)t->frames);
            CHECK_MSG(t->end_ms - t->first_pts_ms >= 950 && t->end_ms - t->first_pts_ms <= 1050,
                      "audio %lld..%lld ms", (long long)t->first_pts_ms, (long long)t->end_ms);
        }
    }
    CHECK(v == 1 && a == 1);
    /* 0 (audio) to 2 s of video after that 80 ms delay. */
    CHECK_MSG(st.duration_ms >= 1950 && st.duration_ms <= 2150, "%llu ms decoded",
              (unsigned long long)st.duration_ms);
    printf("intact: %u tracks, %llu ms decoded\n", st.tracks, (unsigned long long)st.duration_ms);
    tlo_player_media_free(m);
}

/* Seek to 1 s: the demuxer lands on the keyframe whose decoding time is at
 * or before it (every 12 frames: 0.96 s; shown 80 ms later, see above) and
 * reads on to the end. */
static void check_seek(const char *path, const uint8_t *key)
{
    tlo_error err = {0};
    tlo_player_media *m = tlo_player_media_open(path, key, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m)
        return;
    AVFormatContext *f = tlo_player_media_format(m);
    int vi = av_find_best_stream(f, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    CHECK(vi >= 0);
    CHECK(av_seek_frame(f, -1, AV_TIME_BASE, AVSEEK_FLAG_BACKWARD) >= 0);
    AVPacket *pkt = av_packet_alloc();
    int64_t first_ms = -1;
    int video = 0, rc;
    while ((rc = av_read_frame(f, pkt)) >= 0) {
        if (pkt->stream_index == vi) {
            int64_t ms = av_rescale_q(pkt->pts, f->streams[vi]->time_base, (AVRational){1, 1000});
            if (first_ms < 0) {
                first_ms = ms;
                CHECK(pkt->flags & AV_PKT_FLAG_KEY);
            }
            video++;
        }
        av_packet_unref(pkt);
    }
    CHECK(rc == AVERROR_EOF);
    CHECK(tlo_player_media_error(m)->code == 0);
    CHECK_MSG(first_ms >= 500 && first_ms <= 1100, "first video packet after the seek at %lld ms",
              (long long)first_ms);
    CHECK_MSG(video >= 25 && video <= 30, "%d video packets after the seek", video);
    printf("seek to 1 s: first video packet at %lld ms, %d video packets to the end\n",
           (long long)first_ms, video);
    av_packet_free(&pkt);
    tlo_player_media_free(m);
}

/* A source over memory that notes which chunks each phase reads. */
#define MAX_CHUNKS 64
enum { PHASE_VAULT_OPEN = 1, PHASE_MEDIA_OPEN = 2, PHASE_DECODE = 4 };
typedef struct recording {
    tlo_vault_mem mem;
    unsigned phase;
    unsigned seen[MAX_CHUNKS];
    long long fail_chunk; /* the first read touching it fails with TLO_EIO; -1 for none */
} recording;

static long long recording_source(void *ctx, uint64_t off, uint8_t *buf, size_t len, tlo_error *err)
{
    recording *r = ctx;
    const uint64_t full = CHUNK + TLO_TAG_BYTES;
    if (len > 0 && off + len > TLO_OBJECT_HEADER_BYTES) {
        uint64_t lo = off > TLO_OBJECT_HEADER_BYTES ? off - TLO_OBJECT_HEADER_BYTES : 0;
        uint64_t hi = off + len - 1 - TLO_OBJECT_HEADER_BYTES;
        for (uint64_t c = lo / full; c <= hi / full && c < MAX_CHUNKS; c++) {
            r->seen[c] |= r->phase;
            if ((long long)c == r->fail_chunk) {
                r->fail_chunk = -1; /* a passing fault: the next read would work */
                return tlo_fail(err, TLO_EIO, "reading at byte %llu failed: injected fault",
                                (unsigned long long)off);
            }
        }
    }
    return tlo_vault_mem_source(&r->mem, off, buf, len, err);
}

/* The same media over a reader the caller opened (tlo_player_media_open_reader),
 * from memory through a recording source. Returns the first chunk that
 * decoding reads but opening does not, or -1. */
static long long check_open_reader(const char *path, const uint8_t *key, long long chunks)
{
    tlo_error err = {0};
    tlo_player_decode_stats st;
    size_t len = 0;
    long long late = -1;
    uint8_t *file = slurp(path, &len);
    recording rec = {.mem = {file, len}, .phase = PHASE_VAULT_OPEN, .fail_chunk = -1};
    CHECK(file != NULL && chunks <= MAX_CHUNKS);
    if (!file || chunks > MAX_CHUNKS) {
        free(file);
        return -1;
    }
    tlo_vault_reader *r = tlo_vault_reader_open(recording_source, &rec, len, key, "mem", &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    rec.phase = PHASE_MEDIA_OPEN;
    tlo_player_media *m = tlo_player_media_open_reader(r, "mem", &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        rec.phase = PHASE_DECODE;
        CHECK(tlo_player_media_decode_all(m, &st, &err) == 0);
        CHECK(st.tracks == 2 && st.duration_ms >= 1950 && st.duration_ms <= 2150);
        tlo_player_media_free(m);
    }
    printf("chunks read: ");
    for (long long c = 0; c < chunks; c++) {
        unsigned s = rec.seen[c];
        printf("%lld:%s%s%s ", c, s & PHASE_VAULT_OPEN ? "V" : "", s & PHASE_MEDIA_OPEN ? "O" : "",
               s & PHASE_DECODE ? "D" : "");
        if (late < 0 && s == PHASE_DECODE)
            late = c;
    }
    printf("(V vault open, O media open, D decode)\n");
    CHECK(tlo_player_media_open_reader(NULL, "mem", &err) == NULL && err.code == TLO_EARG);
    free(file);
    return late;
}

/* An I/O error in chunk k while decoding, a passing one: the vault reader
 * would read on after it, but the media does not. */
static void check_io_error(const char *path, const uint8_t *key, long long k)
{
    tlo_error err = {0};
    tlo_player_decode_stats st;
    size_t len = 0;
    uint8_t *file = slurp(path, &len), buf[512];
    recording rec = {.mem = {file, len}, .fail_chunk = -1};
    CHECK(file != NULL);
    if (!file)
        return;
    tlo_vault_reader *r = tlo_vault_reader_open(recording_source, &rec, len, key, "mem", &err);
    tlo_player_media *m = r ? tlo_player_media_open_reader(r, "mem", &err) : NULL;
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        rec.fail_chunk = k;
        CHECK_ERR(tlo_player_media_decode_all(m, &st, &err), err, TLO_EIO, "injected fault");
        CHECK(!strncmp(err.msg, "mem: ", 5));
        CHECK(rec.fail_chunk == -1 && tlo_player_media_error(m)->code == TLO_EIO);
        AVIOContext *pb = tlo_player_media_format(m)->pb;
        CHECK(pb->read_packet(pb->opaque, buf, sizeof buf) == AVERROR(EIO));
        CHECK(pb->seek(pb->opaque, 0, SEEK_SET) == AVERROR(EIO));
        CHECK(tlo_player_media_decode_all(m, &st, &err) == TLO_EIO);
        printf("I/O error: %s\n", err.msg);
        tlo_player_media_free(m);
    }
    free(file);
}

/* Writes a copy of the sealed object with one byte flipped in the middle of
 * chunk k. */
static int write_flipped(const char *path, const uint8_t *sealed, size_t len, long long k)
{
    size_t off = TLO_OBJECT_HEADER_BYTES + (size_t)k * (CHUNK + TLO_TAG_BYTES) + CHUNK / 2;
    uint8_t *bad = malloc(len);
    if (!bad || off >= len) {
        free(bad);
        return -1;
    }
    memcpy(bad, sealed, len);
    bad[off] ^= 0x40;
    int rc = spill(path, bad, len);
    free(bad);
    return rc;
}

/* One byte flipped in the middle of chunk k, a chunk that only decoding
 * reads: open succeeds, decoding stops at chunk k and names it, and from then
 * on every read and seek fails, through FFmpeg or straight at the callbacks. */
static void check_tampered(const char *dir, const uint8_t *sealed, size_t len, long long k,
                           const uint8_t *key)
{
    tlo_error err = {0};
    tlo_player_decode_stats st;
    char path[256], needle[32];

    snprintf(path, sizeof path, "%s/tampered.tlo", dir);
    snprintf(needle, sizeof needle, "chunk %lld ", k);
    CHECK(write_flipped(path, sealed, len, k) == 0);

    /* Demuxing alone: the error comes out of av_read_frame (the mov demuxer
     * passes it on, not as an end of file), and any packet returned once the
     * error is kept is one cut short at the failure and flagged corrupt. */
    tlo_player_media *m = tlo_player_media_open(path, key, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (m) {
        AVFormatContext *f = tlo_player_media_format(m);
        AVPacket *pkt = av_packet_alloc();
        int rc, got = 0, late = 0, late_intact = 0;
        while (got < 10000 && (rc = av_read_frame(f, pkt)) >= 0) {
            got++;
            if (tlo_player_media_error(m)->code != 0) {
                late++;
                late_intact += !(pkt->flags & AV_PKT_FLAG_CORRUPT);
            }
            av_packet_unref(pkt);
        }
        av_packet_free(&pkt);
        CHECK_MSG(rc == AVERROR_INVALIDDATA, "av_read_frame ended with %d (%s)", rc,
                  av_err2str(rc));
        CHECK(tlo_player_media_error(m)->code == TLO_ECHUNK);
        CHECK(late_intact == 0);
        printf("demuxing the tampered file: %d packets, %d of them (flagged corrupt) after the "
               "failed read, then %s\n",
               got, late, av_err2str(rc));
        tlo_player_media_free(m);
    }

    m = tlo_player_media_open(path, key, &err);
    CHECK_MSG(m != NULL, "%s", err.msg);
    if (!m) {
        unlink(path);
        return;
    }
    AVFormatContext *f = tlo_player_media_format(m);
    AVIOContext *pb = f->pb;
    real_read = pb->read_packet;
    pb->read_packet = counting_read;

    int rc = tlo_player_media_decode_all(m, &st, &err);
    CHECK_ERR(rc, err, TLO_ECHUNK, needle);
    CHECK(strstr(err.msg, path) != NULL);
    CHECK(st.tracks == 0 && st.duration_ms == 0);
    const tlo_error *kept = tlo_player_media_error(m);
    CHECK_ERR(kept->code, *kept, TLO_ECHUNK, needle);
    printf("tampered: %s\n", err.msg);

    /* Again: the kept error, at once. */
    tlo_error err2 = {0};
    CHECK(tlo_player_media_decode_all(m, &st, &err2) == TLO_ECHUNK);
    CHECK(!strcmp(err2.msg, err.msg));

    /* Through FFmpeg: back to the start and read on. Packets that FFmpeg
     * still holds (authenticated before the failure) may come out, but the
     * reading never reaches the end cleanly. */
    int seek = av_seek_frame(f, -1, 0, AVSEEK_FLAG_BACKWARD);
    AVPacket *pkt = av_packet_alloc();
    int got = 0, last = 0;
    while (seek >= 0 && got < 10000 && (last = av_read_frame(f, pkt)) >= 0) {
        got++;
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    printf("after the failure: av_seek_frame to 0 gave %d, then %d packets before %d (%s)\n", seek,
           got, last, av_err2str(last));
    CHECK(seek < 0 || (last < 0 && last != AVERROR_EOF));

    /* Straight at the callbacks, which FFmpeg's buffer cannot hide. */
    uint8_t buf[4096];
    CHECK(avio_size(pb) == AVERROR_INVALIDDATA);
    CHECK(pb->seek(pb->opaque, 0, SEEK_SET) == AVERROR_INVALIDDATA);
    CHECK(pb->seek(pb->opaque, 0, AVSEEK_SIZE) == AVERROR_INVALIDDATA);
    CHECK(real_read(pb->opaque, buf, sizeof buf) == AVERROR_INVALIDDATA);
    CHECK(tlo_player_media_error(m)->code == TLO_ECHUNK);
    CHECK(failed_once == 1 && data_after_failure == 0);
    printf("FFmpeg called read %d more times after the failure, none returned data\n",
           reads_after_failure);

    tlo_player_media_free(m);
    unlink(path);
}

/* A flipped byte in a chunk that opening reads: the open fails, naming it. */
static void check_tampered_early(const char *dir, const uint8_t *sealed, size_t len,
                                 const uint8_t *key)
{
    tlo_error err = {0};
    char path[256];
    snprintf(path, sizeof path, "%s/tampered-early.tlo", dir);
    CHECK(write_flipped(path, sealed, len, 1) == 0);
    CHECK(tlo_player_media_open(path, key, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_ECHUNK, "chunk 1 ");
    CHECK(strstr(err.msg, path) != NULL);
    unlink(path);
}

static void check_open_failures(const char *dir, const char *good, const uint8_t *sealed,
                                size_t len, const uint8_t *key)
{
    tlo_error err = {0};
    char path[256];

    uint8_t *other = tlo_vault_key_generate();
    CHECK(other != NULL);
    if (other) {
        CHECK(tlo_player_media_open(good, other, &err) == NULL);
        CHECK_ERR(err.code, err, TLO_EWRONGKEY, "key");
        CHECK(strstr(err.msg, good) != NULL);
        tlo_vault_key_free(other);
    }

    snprintf(path, sizeof path, "%s/truncated.tlo", dir);
    CHECK(spill(path, sealed, len / 2) == 0);
    CHECK(tlo_player_media_open(path, key, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_ETRUNCATED, "truncated");
    CHECK(strstr(err.msg, path) != NULL);
    unlink(path);

    snprintf(path, sizeof path, "%s/missing.tlo", dir);
    CHECK(tlo_player_media_open(path, key, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EIO, path);

    /* Sealed and intact, but not media. */
    uint8_t zeros[3000] = {0};
    snprintf(path, sizeof path, "%s/notmedia.tlo", dir);
    CHECK(seal(path, zeros, sizeof zeros, key) == 1);
    CHECK(tlo_player_media_open(path, key, &err) == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, "as media");
    unlink(path);
}

/* The plaintext as it is read is checked against the digest its entry
 * logged: the right digest passes, any other is refused, naming the file. */
static void check_plaintext_digest(const char *path, const uint8_t *key, const bytes *media)
{
    tlo_error err = {0};
    size_t len = 0;
    uint8_t *file = slurp(path, &len), want[32];
    recording rec = {.mem = {file, len}, .phase = PHASE_VAULT_OPEN, .fail_chunk = -1};
    crypto_hash_sha256(want, media->p, media->len);
    for (int wrong = 0; file && wrong < 2; wrong++) {
        tlo_vault_reader *r = tlo_vault_reader_open(recording_source, &rec, len, key, "seg", &err);
        CHECK_MSG(r != NULL, "%s", err.msg);
        if (!r)
            break;
        want[31] ^= (uint8_t)wrong;
        int rc = tlo_player_check_plaintext(r, want, "segment 3 (seg)", &err);
        want[31] ^= (uint8_t)wrong;
        if (wrong)
            CHECK_ERR(rc, err, TLO_EFORMAT, "segment 3 (seg) does not hold the media its entry");
        else
            CHECK_MSG(rc == 0, "the right plaintext digest is refused: %s", err.msg);
        tlo_vault_reader_free(r);
    }
    free(file);
}

static int count_clip_frame(void *ctx, const tlo_clip_frame *f)
{
    (void)f;
    (*(unsigned *)ctx)++;
    return 0;
}

/* clip_from_fd_checks_ciphertext: the showing part of play reads each
 * segment from a read-only fd the custodian's side opened (it holds no
 * vault path), and the file's SHA-256 must be the ciphertext digest its
 * entry logged before anything of it is used: the right digest decodes,
 * another (a file altered or swapped after the release) is refused with
 * the segment named, without one frame handed over. */
static void check_clip_from_fd(const char *path, const uint8_t *key, const uint8_t *sealed,
                               size_t len)
{
    tlo_error err = {0};
    uint8_t ct[32], *okey = sodium_malloc(TLO_OBJECT_KEY_BYTES);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && okey != NULL);
    if (fd < 0 || !okey)
        goto out;
    CHECK_MSG(tlo_vault_object_key(tlo_vault_fd_source, &fd, len, key, okey, path, &err) == 0, "%s",
              err.msg);
    crypto_hash_sha256(ct, sealed, len);
    for (int wrong = 0; wrong < 2; wrong++) {
        unsigned frames = 0;
        tlo_clip_stats st;
        ct[7] ^= (uint8_t)wrong;
        tlo_clip_segment seg = {.path = "3 (object 00ff)",
                                .from_fd = true,
                                .fd = fd,
                                .ciphertext_sha256 = ct,
                                .object_key = okey,
                                .start_ms = 0,
                                .end_ms = 2000};
        int rc = tlo_clip_decode(&seg, 1, 0, 2000, count_clip_frame, &frames, &st, &err);
        ct[7] ^= (uint8_t)wrong;
        if (wrong) {
            CHECK_ERR(rc, err, TLO_EFORMAT, "segment 3 (object 00ff) is not the file its segment");
            CHECK_MSG(frames == 0, "%u frames of a file with the wrong digest", frames);
        } else {
            CHECK_MSG(rc == 0, "reading the segment from its fd: %s", err.msg);
            CHECK_MSG(frames >= 50, "%u frames decoded from the fd", frames);
        }
    }
    /* The fd is the caller's: still open, at its place. */
    CHECK(fcntl(fd, F_GETFD) >= 0 && lseek(fd, 0, SEEK_CUR) == 0);
    /* Without a digest a file from an fd is not read at all. */
    tlo_clip_segment nodigest = {
        .path = "4", .from_fd = true, .fd = fd, .object_key = okey, .start_ms = 0, .end_ms = 2000};
    tlo_clip_stats st;
    CHECK_ERR(tlo_clip_decode(&nodigest, 1, 0, 2000, NULL, NULL, &st, &err), err, TLO_EARG,
              "without its digest");
out:
    if (fd >= 0)
        close(fd);
    if (okey)
        sodium_free(okey);
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    char dir[] = "/tmp/tlo-player.XXXXXX", path[256];
    bytes media = {0};

    gst_init(&argc, &argv);
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    uint8_t *key = tlo_vault_key_generate();
    CHECK(key != NULL);
    CHECK(make_media(&media) == 0);
    CHECK_MSG(media.len > 8 * CHUNK, "%zu bytes of media", media.len);
    if (!key || media.len <= 8 * CHUNK) {
        rmdir(dir);
        free(media.p);
        tlo_vault_key_free(key);
        return tu_finish("player");
    }

    snprintf(path, sizeof path, "%s/segment.tlo", dir);
    long long chunks = seal(path, media.p, media.len, key);
    CHECK(chunks >= 8);
    size_t len = 0;
    uint8_t *sealed = slurp(path, &len);
    CHECK(sealed != NULL);
    /* The sealed file holds none of the plaintext's bytes. */
    CHECK(sealed && memmem(sealed, len, media.p, 64) == NULL);
    CHECK(sealed && memmem(sealed, len, media.p + media.len / 2, 64) == NULL);
    printf("media: %zu bytes, sealed into %lld chunks of %zu\n", media.len, chunks, CHUNK);

    if (sealed && chunks >= 8) {
        check_intact(path, key);
        check_seek(path, key);
        long long late = check_open_reader(path, key, chunks);
        /* With this media FFmpeg's open reads all but a few chunks (it walks
         * every fragment, and reads across short gaps rather than seek). */
        CHECK_MSG(late > 0, "no chunk is read only by decoding");
        if (late > 0) {
            check_tampered(dir, sealed, len, late, key);
            check_io_error(path, key, late);
        }
        check_tampered_early(dir, sealed, len, key);
        check_plaintext_digest(path, key, &media);
        check_clip_from_fd(path, key, sealed, len);
        check_open_failures(dir, path, sealed, len, key);
    }

    unlink(path);
    CHECK(rmdir(dir) == 0); /* nothing else was ever written there */
    free(sealed);
    free(media.p);
    tlo_vault_key_free(key);
    return tu_finish("player");
}
