/* capture: short simulated recordings (as fast as possible) into sealed
 * segments; each one decrypts, in memory, to fragmented MP4 that FFmpeg opens
 * with every camera and the microphone; segment times on the session clock
 * are contiguous; the segment files hold no plaintext. Then camera 1 (the
 * one segments are cut by) fails in the middle: the failure is reported, and
 * segments keep coming with every track, its own as a no-signal slate. */
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

static tlo_capture_event events[8];
static int nevents;

static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    (void)ctx;
    (void)err;
    if (nsegs < MAX_SEGS)
        segs[nsegs] = *seg;
    nsegs++;
    return 0;
}

static void on_event(void *ctx, const tlo_capture_event *ev)
{
    (void)ctx;
    if (nevents < 8)
        events[nevents] = *ev;
    nevents++;
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

/* Records cfg; the stats at the end in *st. */
static void record(const tlo_capture_config *cfg, const uint8_t *key, tlo_capture_stats *st)
{
    tlo_error err = {0};
    nsegs = nevents = 0;
    tlo_capture *c = tlo_capture_new(cfg, key, on_segment, on_event, NULL, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (!c)
        return;
    CHECK_MSG(tlo_capture_run(c, &err) == 0, "%s", err.msg);
    CHECK(tlo_capture_segments(c) == (uint64_t)nsegs);
    tlo_capture_get_stats(c, st);
    CHECK(st->segments == (uint64_t)nsegs);
    tlo_capture_free(c);
}

/* Every segment: its file and digests, its plaintext as fragmented MP4 with
 * every track, times contiguous; returns the decoded seconds in all. */
static uint64_t decoded_ms; /* what the decoders gave, all segments */

static double check_segments(const char *label, const uint8_t *key)
{
    tlo_error err = {0};
    double total = 0;
    decoded_ms = 0;
    for (int i = 0; i < nsegs && i < MAX_SEGS; i++) {
        tlo_capture_segment *s = &segs[i];
        size_t flen = 0;
        uint8_t *file = read_file(s->path, &flen), h[32];
        CHECK(s->index == (uint64_t)i);
        /* The session clock: from 0, each segment where the last one ended. */
        CHECK_MSG(s->start_ns == (i ? segs[i - 1].end_ns : 0), "%s segment %d starts at %llu ns",
                  label, i, (unsigned long long)s->start_ns);
        CHECK_MSG(s->end_ns > s->start_ns && s->end_ns - s->start_ns <= 5 * 1000000000ull,
                  "%s segment %d: %llu to %llu ns", label, i, (unsigned long long)s->start_ns,
                  (unsigned long long)s->end_ns);
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
            CHECK_MSG(nb >= 4, "%s segment %d: box walk failed", label, i);
            if (nb >= 4) {
                CHECK(!strcmp(types[0], "ftyp") && !strcmp(types[1], "moov"));
                int moof = 0;
                for (int k = 2; k < nb; k++)
                    moof += !strcmp(types[k], "moof");
                CHECK_MSG(moof >= 2, "%s segment %d has %d fragments", label, i, moof);
            }
            tlo_player_probe pr;
            CHECK(tlo_player_probe_memory(pt, n, &pr) == 0);
            CHECK_MSG(pr.video_h264 == 2 && pr.audio_aac == 1 && pr.streams == 3,
                      "%s segment %d: %u video, %u audio tracks", label, i, pr.video_h264,
                      pr.audio_aac);
            total += (double)pr.duration_ms / 1000;
            /* Decoded through the decrypting read path (player/): every
             * track gives frames. */
            tlo_player_media *md = tlo_player_media_open(s->path, key, &err);
            CHECK_MSG(md != NULL, "%s", err.msg);
            tlo_player_decode_stats ds;
            if (md) {
                CHECK_MSG(tlo_player_media_decode_all(md, &ds, &err) == 0, "%s", err.msg);
                unsigned vid = 0, aud = 0;
                for (unsigned t = 0; t < ds.tracks; t++) {
                    vid += ds.track[t].kind == TLO_PLAYER_TRACK_VIDEO && ds.track[t].frames > 0;
                    aud += ds.track[t].kind == TLO_PLAYER_TRACK_AUDIO && ds.track[t].frames > 0;
                }
                CHECK_MSG(vid == 2 && aud == 1, "%s segment %d decodes %u video, %u audio tracks",
                          label, i, vid, aud);
                decoded_ms += ds.duration_ms;
                tlo_player_media_free(md);
            }
            /* G1: the sealed file holds none of the plaintext's bytes. */
            CHECK(memmem(file, flen, pt, 64) == NULL);
            CHECK(memmem(file, flen, pt + n / 2, 64) == NULL);
            free(pt);
            tlo_vault_reader_free(r);
        }
        free(file);
    }
    return total;
}

/* Nothing but sealed segments in the directory; empties it. */
static void check_dir(const char *dir)
{
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
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    char dir[] = "/tmp/tlo-capture.XXXXXX";
    gst_init(&argc, &argv);
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    uint8_t *key = tlo_vault_key_generate();

    /* The simulated room (two cameras, speech), smaller and slower. */
    tlo_capture_config cfg = {
        .duration_seconds = 20, .live = false, .objects_dir = dir, .encoder = "x264enc"};
    CHECK(tlo_hw_room_simulated(&cfg.room) == 0);
    for (unsigned i = 0; i < cfg.room.n_cameras; i++) {
        cfg.room.cameras[i].width = 320;
        cfg.room.cameras[i].height = 240;
        cfg.room.cameras[i].fps = 15;
    }
    cfg.case_id[0] = 42;
    tlo_capture_stats st;
    record(&cfg, key, &st);
    /* 20 s in segments of about 4 s, cut at keyframes. */
    CHECK_MSG(nsegs >= 5 && nsegs <= 6, "%d segments", nsegs);
    CHECK(nevents == 0);
    double total = check_segments("plain", key);
    /* 20 s, give or take one segment. */
    CHECK_MSG(total > 16.0 && total < 24.0, "probed %.2f s in all, for 20 s recorded", total);
    CHECK_MSG(decoded_ms > 16000 && decoded_ms < 24000, "decoded %llu ms, for 20 s recorded",
              (unsigned long long)decoded_ms);
    CHECK_MSG(nsegs >= 1 && segs[nsegs - 1].end_ns >= 19500000000ull &&
                  segs[nsegs - 1].end_ns <= 20500000000ull,
              "the last segment ends at %llu ns of 20 s",
              (unsigned long long)segs[nsegs > 0 ? nsegs - 1 : 0].end_ns);
    /* The status line's figures: every frame, none dropped, speech heard. */
    CHECK_MSG(st.frames[0] == 300 && st.frames[1] == 300 && st.dropped[0] == 0 &&
                  st.dropped[1] == 0,
              "frames %llu/%llu, dropped %llu/%llu", (unsigned long long)st.frames[0],
              (unsigned long long)st.frames[1], (unsigned long long)st.dropped[0],
              (unsigned long long)st.dropped[1]);
    CHECK_MSG(st.loudest_db[0] > -20 && st.loudest_db[0] <= 0, "microphone peak %.1f dBFS",
              st.loudest_db[0]);
    CHECK(!st.camera_lost[0] && !st.camera_lost[1] && !st.microphone_lost[0]);
    printf("capture: %d segments, %.2f s probed, %llu ms decoded, for 20 s recorded\n", nsegs,
           total, (unsigned long long)decoded_ms);
    check_dir(dir);

    /* Camera 1 fails 3 s in: reported once, and the recording goes on. */
    cfg.fail_camera = 1;
    cfg.fail_at_ms = 3000;
    cfg.duration_seconds = 10;
    record(&cfg, key, &st);
    CHECK_MSG(nevents == 1, "%d events", nevents);
    if (nevents >= 1) {
        CHECK(events[0].kind == TLO_CAPTURE_CAMERA_LOST && events[0].device == 1);
        CHECK_MSG(events[0].session_ns >= 2500000000ull && events[0].session_ns <= 4000000000ull,
                  "lost at %llu ns", (unsigned long long)events[0].session_ns);
        printf("capture: camera 1 lost: %s\n", events[0].message);
    }
    CHECK_MSG(nsegs >= 3 && nsegs <= 4, "%d segments after a camera failed", nsegs);
    CHECK(st.camera_lost[0] && !st.camera_lost[1]);
    CHECK_MSG(st.frames[0] >= 148 && st.frames[0] <= 152, "camera 1 (with slate): %llu frames",
              (unsigned long long)st.frames[0]);
    total = check_segments("failed", key);
    CHECK_MSG(total > 9.0 && total < 14.5, "probed %.2f s with a failed camera", total);
    CHECK_MSG(decoded_ms > 8000 && decoded_ms < 14000, "decoded %llu ms with a failed camera",
              (unsigned long long)decoded_ms);
    check_dir(dir);

    rmdir(dir);
    tlo_vault_key_free(key);
    return tu_finish("capture");
}
