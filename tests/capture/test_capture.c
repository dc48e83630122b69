/* capture: a short simulated recording (as fast as possible) into sealed
 * segments; each one decrypts, in memory, to fragmented MP4 that FFmpeg opens
 * with every camera and the microphone; the segment files hold no plaintext. */
#include "capture.h"
#include "player.h"
#include "testutil.h"

#include <dirent.h>
#include <gcrypt.h>
#include <gst/gst.h>
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
            tlo_player_probe pr;
            CHECK(tlo_player_probe_memory(pt, n, &pr) == 0);
            CHECK_MSG(pr.video_h264 == 2 && pr.audio_aac == 1 && pr.streams == 3,
                      "segment %d: %u video, %u audio tracks", i, pr.video_h264, pr.audio_aac);
            total += (double)pr.duration_ms / 1000;
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
