/* capture: a short simulated recording (as fast as possible) into sealed
 * segments; each one decrypts, in memory, to fragmented MP4 that FFmpeg opens
 * with every camera and the microphone; the segment files hold no plaintext. */
#include "capture.h"
#include "testutil.h"

#include <dirent.h>
#include <gcrypt.h>
#include <gst/gst.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_SEGS 16
static tlo_capture_segment segs[MAX_SEGS];
static int nsegs;

static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    (void)ctx;
    (void)err;
    if (nsegs < MAX_SEGS)
        segs[nsegs] = *seg;
    nsegs++;
    return 0;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *p = malloc((size_t)n + 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

/* The top-level MP4 boxes of a buffer: types into out (4 chars each). */
static int boxes(const uint8_t *p, size_t len, char out[][5], int max)
{
    size_t i = 0;
    int n = 0;
    while (i + 8 <= len && n < max) {
        uint64_t sz = (uint64_t)p[i] << 24 | p[i + 1] << 16 | p[i + 2] << 8 | p[i + 3];
        memcpy(out[n], p + i + 4, 4);
        out[n++][4] = '\0';
        if (sz == 1 && i + 16 <= len) {
            sz = 0;
            for (int k = 0; k < 8; k++)
                sz = sz << 8 | p[i + 8 + k];
        }
        if (sz < 8 || sz > len - i)
            return -1;
        i += sz;
    }
    return i == len ? n : -1;
}

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

/* Opens the plaintext with libavformat from memory: streams and duration. */
static void probe(const uint8_t *p, size_t len, int *video, int *audio, double *seconds)
{
    membuf m = {p, len, 0};
    uint8_t *iobuf = av_malloc(32768);
    AVIOContext *io = avio_alloc_context(iobuf, 32768, 0, &m, mem_read, NULL, mem_seek);
    AVFormatContext *fmt = avformat_alloc_context();
    *video = *audio = 0;
    *seconds = 0;
    fmt->pb = io;
    if (avformat_open_input(&fmt, NULL, NULL, NULL) == 0) {
        if (avformat_find_stream_info(fmt, NULL) >= 0) {
            for (unsigned i = 0; i < fmt->nb_streams; i++) {
                enum AVCodecID id = fmt->streams[i]->codecpar->codec_id;
                *video += id == AV_CODEC_ID_H264;
                *audio += id == AV_CODEC_ID_AAC;
            }
            *seconds = fmt->duration > 0 ? (double)fmt->duration / AV_TIME_BASE : 0;
        }
        avformat_close_input(&fmt);
    } else {
        avformat_free_context(fmt);
    }
    av_freep(&io->buffer);
    avio_context_free(&io);
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    char dir[] = "/tmp/tlo-capture.XXXXXX";
    gst_init(&argc, &argv);
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    uint8_t *key = tlo_vault_key_generate();

    tlo_capture_config cfg = {.cameras = 2,
                              .width = 320,
                              .height = 240,
                              .fps = 15,
                              .segment_seconds = 4,
                              .duration_seconds = 10,
                              .live = false,
                              .objects_dir = dir};
    cfg.case_id[0] = 42;
    tlo_capture *c = tlo_capture_new(&cfg, key, on_segment, NULL, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (c) {
        CHECK_MSG(tlo_capture_run(c, &err) == 0, "%s", err.msg);
        CHECK(tlo_capture_segments(c) == (uint64_t)nsegs);
        tlo_capture_free(c);
    }
    /* 10 s in segments of about 4 s, cut at keyframes. */
    CHECK_MSG(nsegs >= 3 && nsegs <= 4, "%d segments", nsegs);

    double total = 0;
    for (int i = 0; i < nsegs && i < MAX_SEGS; i++) {
        tlo_capture_segment *s = &segs[i];
        size_t flen;
        uint8_t *file = read_file(s->path, &flen), h[32];
        CHECK(s->index == (uint64_t)i);
        CHECK(file && flen == s->digests.ciphertext_bytes);
        if (!file)
            continue;
        gcry_md_hash_buffer(GCRY_MD_SHA256, h, file, flen);
        CHECK(memcmp(h, s->digests.ciphertext_sha256, 32) == 0);

        tlo_vault_mem src = {file, flen};
        tlo_vault_reader *r =
            tlo_vault_reader_open(tlo_vault_mem_source, &src, flen, key, s->path, &err);
        CHECK_MSG(r != NULL, "%s", err.msg);
        if (r) {
            size_t n = (size_t)tlo_vault_reader_size(r);
            uint8_t *pt = malloc(n);
            CHECK(tlo_vault_reader_read_at(r, 0, pt, n, &err) == 0);
            CHECK(tlo_vault_reader_header(r)->kind == TLO_KIND_SEGMENT);
            CHECK(tlo_vault_reader_header(r)->case_id[0] == 42);
            gcry_md_hash_buffer(GCRY_MD_SHA256, h, pt, n);
            CHECK(memcmp(h, s->digests.plaintext_sha256, 32) == 0);
            /* Fragmented MP4: ftyp, moov, then moof/mdat pairs. */
            char types[512][5];
            int nb = boxes(pt, n, types, 512);
            CHECK_MSG(nb >= 4, "segment %d: box walk failed", i);
            if (nb >= 4) {
                CHECK(!strcmp(types[0], "ftyp") && !strcmp(types[1], "moov"));
                int moof = 0;
                for (int k = 2; k < nb; k++)
                    moof += !strcmp(types[k], "moof");
                CHECK_MSG(moof >= 2, "segment %d has %d fragments", i, moof);
            }
            int video, audio;
            double seconds;
            probe(pt, n, &video, &audio, &seconds);
            CHECK_MSG(video == 2 && audio == 1, "segment %d: %d video, %d audio tracks", i, video,
                      audio);
            total += seconds;
            /* G1: the sealed file holds none of the plaintext's bytes. */
            CHECK(memmem(file, flen, pt, 64) == NULL);
            CHECK(memmem(file, flen, pt + n / 2, 64) == NULL);
            free(pt);
            tlo_vault_reader_free(r);
        }
        free(file);
    }
    CHECK_MSG(total > 9.0 && total < 14.5, "decoded %.2f s in all, for 10 s recorded", total);
    printf("capture: %d segments, %.2f s decoded for 10 s recorded\n", nsegs, total);

    /* Nothing but sealed segments in the directory. */
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        files++;
        CHECK_MSG(strlen(de->d_name) == 36 && !strcmp(de->d_name + 32, ".tlo"), "stray file %s",
                  de->d_name);
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    CHECK(files == nsegs);
    rmdir(dir);
    tlo_vault_key_free(key);
    return tu_finish("capture");
}
