/* tellonce play — view a granted clip of a session.
 *
 * The custodian logs the access and releases the object keys of the
 * segments that overlap the range (custodian.c); FFmpeg decodes them through
 * the decrypting read path (player/clip.c); GStreamer shows the cameras side
 * by side with the viewer's name, the case and the local date and time
 * burned into the picture, and plays the audio. --headless decodes the same
 * frames without a window and reports what it decoded (tests, benchmarks). */
#include "clip.h"
#include "custodian.h"

#include <getopt.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/navigation.h>
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void play_usage(FILE *f)
{
    fprintf(f,
            "usage: tellonce play CASE --session ID --as NAME [--from HH:MM:SS] [--to HH:MM:SS]\n"
            "                     [--purpose TEXT] [--headless] [--passphrase-file FILE]\n"
            "                     [--vault DIR]\n"
            "\n"
            "Shows the range --from to --to (default: all that NAME may see) of session ID\n"
            "of CASE: the cameras side by side, the audio, the session's markers listed,\n"
            "and a watermark with NAME, the case and the local date and time burned into\n"
            "the picture. The access is logged before anything is decrypted; only the\n"
            "segments of the range are. Keys (in the window or the terminal): space\n"
            "pauses, left/right arrows seek 10 s (never outside the granted range), q\n"
            "quits. On a terminal the last frame stays at the end of the range until q (or\n"
            "a seek back); otherwise the end of the range ends it. --headless decodes the\n"
            "range without a window and reports frames and times.\n");
}

/* ---- markers of the session ---- */

typedef struct marker_scan {
    const uint8_t *case_id;
    const char *session;
    unsigned shown;
} marker_scan;

static int visit_marker(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    marker_scan *ms = ctx;
    size_t n, tn, an;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_MARKER || !e->has_case ||
        memcmp(e->case_id, ms->case_id, TLO_ID_BYTES) != 0)
        return 0;
    const uint8_t *s = tlo_entry_body_get(e->body, e->body_len, "session", &n);
    const uint8_t *t = tlo_entry_body_get(e->body, e->body_len, "text", &tn);
    const uint8_t *a = tlo_entry_body_get(e->body, e->body_len, "at_ms", &an);
    if (!s || !t || !a || n != strlen(ms->session) || memcmp(s, ms->session, n) != 0 || an > 20)
        return 0;
    char at[24];
    memcpy(at, a, an);
    at[an] = '\0';
    unsigned long long v = strtoull(at, NULL, 10);
    fprintf(stderr, "  marker %02llu:%02llu:%02llu.%03llu  %.*s\n", v / 3600000, v / 60000 % 60,
            v / 1000 % 60, v % 1000, (int)tn, (const char *)t);
    ms->shown++;
    return 0;
}

/* ---- headless ---- */

typedef struct headless {
    uint64_t video, audio;
} headless;

static int count_frame(void *ctx, const tlo_clip_frame *f)
{
    headless *h = ctx;
    if (f->kind == TLO_PLAYER_TRACK_VIDEO)
        h->video++;
    else
        h->audio++;
    return 0;
}

/* ---- the window ---- */

/* First pass for the layout: the size of each camera, from its first
 * frames (at most a second is decoded for it). */
typedef struct layout {
    int w[TLO_PLAYER_MAX_TRACKS], h[TLO_PLAYER_MAX_TRACKS];
    uint64_t first_ms;
} layout;

static int first_frames(void *ctx, const tlo_clip_frame *f)
{
    layout *l = ctx;
    if (!l->first_ms)
        l->first_ms = f->session_ms + 1;
    if (f->kind == TLO_PLAYER_TRACK_VIDEO && !l->w[f->track]) {
        l->w[f->track] = f->frame->width;
        l->h[f->track] = f->frame->height;
    }
    return f->session_ms + 1 > l->first_ms + 1000 ? 1 : 0;
}

typedef struct player {
    GstElement *pipeline;
    GstElement *video[TLO_PLAYER_MAX_TRACKS]; /* appsrc by track, NULL for audio */
    GstElement *audio[TLO_PLAYER_MAX_TRACKS];
    bool built;
    GMutex lock;
    const char *watermark;
    uint64_t base_ms;  /* session time shown at running time 0 */
    uint64_t last_ms;  /* the newest session time handed over */
    volatile int stop; /* the decoder stops at the next frame */
    const tlo_clip_segment *segs;
    size_t nsegs;
    uint64_t to_ms;
    tlo_error err;
    int rc;
    bool eos;
} player;

/* Builds the pipeline from the first frame of each track (the sizes). The
 * watermark is the last element before the display: nothing is shown
 * without it. */
static int build_window(player *p, const layout *l, const tlo_clip_stats *st)
{
    p->pipeline = gst_pipeline_new("play");
    GstElement *comp = gst_element_factory_make("compositor", NULL);
    GstElement *mark = gst_element_factory_make("clockoverlay", NULL);
    GstElement *conv = gst_element_factory_make("videoconvert", NULL);
    GstElement *sink = gst_element_factory_make("autovideosink", NULL);
    if (!comp || !mark || !conv || !sink)
        return -1;
    g_object_set(mark, "text", p->watermark, "time-format", "%Y-%m-%d %H:%M:%S",
                 "shaded-background", TRUE, "font-desc", "Sans Bold 18", NULL);
    gst_util_set_object_arg(G_OBJECT(mark), "valignment", "center");
    gst_util_set_object_arg(G_OBJECT(mark), "halignment", "center");
    gst_bin_add_many(GST_BIN(p->pipeline), comp, mark, conv, sink, NULL);
    if (!gst_element_link_many(comp, mark, conv, sink, NULL))
        return -1;
    int x = 0;
    for (unsigned k = 0; k < st->tracks; k++) {
        if (st->kind[k] != TLO_PLAYER_TRACK_VIDEO)
            continue;
        GstElement *src = gst_element_factory_make("appsrc", NULL);
        GstElement *q = gst_element_factory_make("queue", NULL);
        GstElement *vc = gst_element_factory_make("videoconvert", NULL);
        gst_bin_add_many(GST_BIN(p->pipeline), src, q, vc, NULL);
        g_object_set(src, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                     (guint64)8 * 1024 * 1024, NULL);
        GstPad *pad = gst_element_request_pad_simple(comp, "sink_%u");
        GstPad *out = gst_element_get_static_pad(vc, "src");
        /* Side by side, each at most 640 pixels wide. */
        int w = l->w[k] > 0 ? MIN(l->w[k], 640) : 640;
        int h = l->w[k] > 0 ? (int)((int64_t)l->h[k] * w / l->w[k]) & ~1 : 360;
        g_object_set(pad, "xpos", x, "ypos", 0, "width", w, "height", h, NULL);
        bool ok =
            gst_element_link_many(src, q, vc, NULL) && gst_pad_link(out, pad) == GST_PAD_LINK_OK;
        gst_object_unref(out);
        gst_object_unref(pad);
        if (!ok)
            return -1;
        p->video[k] = src;
        x += w;
    }
    for (unsigned k = 0; k < st->tracks; k++) {
        if (st->kind[k] != TLO_PLAYER_TRACK_AUDIO)
            continue;
        GstElement *src = gst_element_factory_make("appsrc", NULL);
        GstElement *ac = gst_element_factory_make("audioconvert", NULL);
        GstElement *ar = gst_element_factory_make("audioresample", NULL);
        /* No sound device (a server, a test): the audio is decoded all the
         * same and played into nothing. */
        bool device = access("/dev/snd", F_OK) == 0 || getenv("PULSE_SERVER");
        GstElement *as = gst_element_factory_make(device ? "autoaudiosink" : "fakesink", NULL);
        if (!device)
            g_object_set(as, "sync", TRUE, NULL);
        gst_bin_add_many(GST_BIN(p->pipeline), src, ac, ar, as, NULL);
        g_object_set(src, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                     (guint64)1024 * 1024, NULL);
        if (!gst_element_link_many(src, ac, ar, as, NULL))
            return -1;
        p->audio[k] = src;
        break; /* one audio track is heard; the others are in the export */
    }
    gst_element_set_state(p->pipeline, GST_STATE_PLAYING);
    p->built = true;
    return 0;
}

static int push_frame(void *ctx, const tlo_clip_frame *f)
{
    player *p = ctx;
    if (p->stop)
        return 1;
    const AVFrame *fr = f->frame;
    GstElement *src = f->kind == TLO_PLAYER_TRACK_VIDEO ? p->video[f->track] : p->audio[f->track];
    if (!src)
        return 0;
    GstClockTime pts = (GstClockTime)(f->session_ms - p->base_ms) * GST_MSECOND;
    GstBuffer *buf = NULL;
    if (f->kind == TLO_PLAYER_TRACK_VIDEO) {
        if (fr->format != AV_PIX_FMT_YUV420P && fr->format != AV_PIX_FMT_YUVJ420P)
            return 0;
        int w = fr->width, h = fr->height;
        if (!gst_app_src_get_caps(GST_APP_SRC(src))) {
            GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420",
                                                "width", G_TYPE_INT, w, "height", G_TYPE_INT, h,
                                                "framerate", GST_TYPE_FRACTION, 0, 1, NULL);
            gst_app_src_set_caps(GST_APP_SRC(src), caps);
            gst_caps_unref(caps);
        } else {
            GstCaps *caps = gst_app_src_get_caps(GST_APP_SRC(src));
            gst_caps_unref(caps);
        }
        size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
        size_t size = (size_t)w * (size_t)h + 2 * cw * ch;
        buf = gst_buffer_new_allocate(NULL, size, NULL);
        GstMapInfo map;
        gst_buffer_map(buf, &map, GST_MAP_WRITE);
        uint8_t *d = map.data;
        for (int y = 0; y < h; y++, d += w)
            memcpy(d, fr->data[0] + (size_t)y * (size_t)fr->linesize[0], (size_t)w);
        for (int pl = 1; pl <= 2; pl++)
            for (size_t y = 0; y < ch; y++, d += cw)
                memcpy(d, fr->data[pl] + y * (size_t)fr->linesize[pl], cw);
        gst_buffer_unmap(buf, &map);
        GST_BUFFER_DURATION(buf) = 40 * GST_MSECOND;
    } else {
        if (fr->format != AV_SAMPLE_FMT_FLTP && fr->format != AV_SAMPLE_FMT_FLT)
            return 0;
        int chn = fr->ch_layout.nb_channels;
        if (chn < 1 || chn > 8)
            return 0;
        if (!gst_app_src_get_caps(GST_APP_SRC(src))) {
            GstCaps *caps =
                gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout",
                                    G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT,
                                    fr->sample_rate, "channels", G_TYPE_INT, chn, NULL);
            gst_app_src_set_caps(GST_APP_SRC(src), caps);
            gst_caps_unref(caps);
        } else {
            GstCaps *caps = gst_app_src_get_caps(GST_APP_SRC(src));
            gst_caps_unref(caps);
        }
        size_t samples = (size_t)fr->nb_samples;
        buf = gst_buffer_new_allocate(NULL, samples * (size_t)chn * sizeof(float), NULL);
        GstMapInfo map;
        gst_buffer_map(buf, &map, GST_MAP_WRITE);
        float *o = (float *)map.data;
        for (size_t i = 0; i < samples; i++)
            for (int c = 0; c < chn; c++)
                o[i * (size_t)chn + (size_t)c] =
                    fr->format == AV_SAMPLE_FMT_FLTP
                        ? ((const float *)fr->data[c])[i]
                        : ((const float *)fr->data[0])[i * (size_t)chn + (size_t)c];
        gst_buffer_unmap(buf, &map);
        GST_BUFFER_DURATION(buf) =
            gst_util_uint64_scale(samples, GST_SECOND, (guint64)fr->sample_rate);
    }
    GST_BUFFER_PTS(buf) = pts;
    g_mutex_lock(&p->lock);
    if (f->session_ms > p->last_ms)
        p->last_ms = f->session_ms;
    g_mutex_unlock(&p->lock);
    return gst_app_src_push_buffer(GST_APP_SRC(src), buf) == GST_FLOW_OK || p->stop ? 0 : 1;
}

typedef struct decode_job {
    player *p;
    uint64_t from_ms;
    tlo_clip_stats st;
} decode_job;

static void *decode_thread(void *arg)
{
    decode_job *j = arg;
    player *p = j->p;
    tlo_error err = {0};
    int rc = tlo_clip_decode(p->segs, p->nsegs, j->from_ms, p->to_ms, push_frame, p, &j->st, &err);
    for (unsigned k = 0; k < TLO_PLAYER_MAX_TRACKS; k++) {
        if (p->video[k])
            gst_app_src_end_of_stream(GST_APP_SRC(p->video[k]));
        if (p->audio[k])
            gst_app_src_end_of_stream(GST_APP_SRC(p->audio[k]));
    }
    if (rc < 0) {
        p->err = err;
        p->rc = rc;
    }
    return NULL;
}

static void teardown(player *p)
{
    if (p->pipeline) {
        gst_element_set_state(p->pipeline, GST_STATE_NULL);
        gst_object_unref(p->pipeline);
    }
    p->pipeline = NULL;
    memset(p->video, 0, sizeof p->video);
    memset(p->audio, 0, sizeof p->audio);
    p->built = false;
}

/* Plays from from_ms until the end, a seek, or q. Returns the key that
 * ended it: 'q', 's' (seek: *seek_to set), 'e' (end), or -1 on error. */
static int play_from(player *p, uint64_t from_ms, uint64_t range_from, bool tty, uint64_t *seek_to)
{
    tlo_clip_stats probe;
    tlo_error err = {0};
    layout l = {0};
    /* The tracks, their kinds and sizes, from the first frames. */
    if (tlo_clip_decode(p->segs, p->nsegs, from_ms, p->to_ms, first_frames, &l, &probe, &err) < 0) {
        p->err = err;
        return -1;
    }
    p->stop = 0;
    p->base_ms = from_ms;
    p->last_ms = from_ms;
    if (build_window(p, &l, &probe) != 0) {
        tlo_fail(&p->err, TLO_EUNSUPPORTED,
                 "cannot build the player window (GStreamer elements "
                 "missing?)");
        teardown(p);
        return -1;
    }
    decode_job job = {.p = p, .from_ms = from_ms};
    pthread_t tid;
    pthread_create(&tid, NULL, decode_thread, &job);
    GstBus *bus = gst_element_get_bus(p->pipeline);
    int result = 'e';
    bool paused = false, ended = false;
    unsigned tick = 0;
    for (;;) {
        int key = 0;
        /* Where playback is, on the session clock, on the terminal. */
        if (tty && ++tick % 5 == 0) {
            gint64 pos = 0;
            uint64_t at = from_ms;
            if (gst_element_query_position(p->pipeline, GST_FORMAT_TIME, &pos) && pos > 0)
                at = from_ms + (uint64_t)pos / 1000000;
            fprintf(stderr,
                    "\r\033[K%s %02llu:%02llu:%02llu.%01llu  (granted %02llu:%02llu:%02llu to "
                    "%02llu:%02llu:%02llu)",
                    ended    ? "ENDED  "
                    : paused ? "PAUSED "
                             : "PLAYING",
                    (unsigned long long)(at / 3600000), (unsigned long long)(at / 60000 % 60),
                    (unsigned long long)(at / 1000 % 60), (unsigned long long)(at % 1000 / 100),
                    (unsigned long long)(range_from / 3600000),
                    (unsigned long long)(range_from / 60000 % 60),
                    (unsigned long long)(range_from / 1000 % 60),
                    (unsigned long long)(p->to_ms / 3600000),
                    (unsigned long long)(p->to_ms / 60000 % 60),
                    (unsigned long long)(p->to_ms / 1000 % 60));
            fflush(stderr);
        }
        if (tty) {
            struct pollfd pfd = {.fd = 0, .events = POLLIN};
            if (poll(&pfd, 1, 0) > 0) {
                char b[8];
                ssize_t n = read(0, b, sizeof b);
                if (n == 1)
                    key = b[0];
                else if (n >= 3 && b[0] == 27 && b[1] == '[')
                    key = b[2] == 'C' ? 'R' : b[2] == 'D' ? 'L' : 0;
            }
        }
        GstMessage *m = gst_bus_timed_pop(bus, 50 * GST_MSECOND);
        if (m) {
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
                gst_message_unref(m);
                /* On a terminal the last frame stays: the viewer may seek
                 * back or quit. Otherwise the end of the range ends it. */
                if (!tty)
                    break;
                ended = true;
                continue;
            }
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
                GError *ge = NULL;
                gst_message_parse_error(m, &ge, NULL);
                tlo_fail(&p->err, TLO_EIO, "the player window failed: %s", ge ? ge->message : "?");
                g_clear_error(&ge);
                gst_message_unref(m);
                /* The window never came up (the display refused a new
                 * window, seen on Xvfb right after the last one closed):
                 * the caller may try again. */
                gint64 pos = 0;
                result = !gst_element_query_position(p->pipeline, GST_FORMAT_TIME, &pos) || pos <= 0
                             ? 'w'
                             : -1;
                break;
            }
            if (gst_navigation_message_get_type(m) == GST_NAVIGATION_MESSAGE_EVENT) {
                GstEvent *ev = NULL;
                const char *k = NULL;
                if (gst_navigation_message_parse_event(m, &ev) &&
                    gst_navigation_event_get_type(ev) == GST_NAVIGATION_EVENT_KEY_PRESS &&
                    gst_navigation_event_parse_key_event(ev, &k) && k)
                    key = !strcmp(k, "space")    ? ' '
                          : !strcmp(k, "Right")  ? 'R'
                          : !strcmp(k, "Left")   ? 'L'
                          : k[0] == 'q' && !k[1] ? 'q'
                                                 : 0;
                if (ev)
                    gst_event_unref(ev);
            }
            gst_message_unref(m);
        }
        if (key == 'q' || key == 'Q') {
            result = 'q';
            break;
        }
        if (key == ' ' && !ended) {
            paused = !paused;
            gst_element_set_state(p->pipeline, paused ? GST_STATE_PAUSED : GST_STATE_PLAYING);
        }
        if (key == 'R' || key == 'L') {
            g_mutex_lock(&p->lock);
            uint64_t now = p->last_ms;
            g_mutex_unlock(&p->lock);
            uint64_t t =
                key == 'R' ? now + 10000 : (now > range_from + 10000 ? now - 10000 : range_from);
            /* Never outside the granted range. */
            if (t < range_from)
                t = range_from;
            if (t >= p->to_ms)
                t = p->to_ms > range_from + 1000 ? p->to_ms - 1000 : range_from;
            *seek_to = t;
            result = 's';
            break;
        }
    }
    p->stop = 1;
    gst_object_unref(bus);
    /* Unblock the decoder (appsrc blocks when full), then join it. */
    gst_element_set_state(p->pipeline, GST_STATE_NULL);
    pthread_join(tid, NULL);
    teardown(p);
    if (p->rc < 0)
        result = -1;
    if (result == 'w')
        *seek_to = from_ms;
    return result;
}

int cmd_play(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"session", required_argument, NULL, 's'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"purpose", required_argument, NULL, 'p'},
                                         {"headless", no_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *session = NULL, *from = NULL,
               *to = NULL, *purpose = NULL;
    int c, rc, headless_mode = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            as = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 's':
            session = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'p':
            purpose = optarg;
            break;
        case 'H':
            headless_mode = 1;
            break;
        case 'h':
            play_usage(stdout);
            return EXIT_OK;
        default:
            play_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !as || !session) {
        cli_error("play takes CASE, --session and --as; see 'tellonce play --help'");
        return EXIT_USAGE;
    }
    cli_request req = {.to_ms = UINT64_MAX, .action = CLI_ACTION_VIEW, .purpose = purpose};
    if ((from && cli_parse_session_time(from, &req.from_ms) != 0) ||
        (to && cli_parse_session_time(to, &req.to_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm optional)");
        return EXIT_USAGE;
    }
    if (strlen(session) != 32) {
        cli_error("--session takes a session id: 32 hex digits, as 'tellonce log' shows them");
        return EXIT_USAGE;
    }
    if (!headless_mode && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("play needs a display (DISPLAY or WAYLAND_DISPLAY is not set); --headless "
                  "decodes without one");
        return EXIT_USAGE;
    }
    snprintf(req.session, sizeof req.session, "%s", session);
    char *vault = cli_vault_dir(vault_opt);
    cli_people pp = {0};
    cli_case cs;
    cli_release rel = {0};
    tlo_vault_identity *actor = NULL;
    tlo_clip_segment *segs = NULL;
    char **paths = NULL;
    tlo_error err = {0};
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_case_find(ch, argv[optind], &cs, false)) != 0)
        goto out;
    req.cs = &cs;
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp,
                                    TLO_ROLE_ADMIN | TLO_ROLE_INTERVIEWER | TLO_ROLE_PROSECUTOR |
                                        TLO_ROLE_MEDICAL | TLO_ROLE_AUDITOR,
                                    "enrolled person", &rc)))
        goto out;
    /* The access is logged, then the keys come: the range's and no more. */
    if ((rc = cli_custodian_release(vault, ch, &pp, actor, &req, &rel)) != 0)
        goto out;
    segs = calloc(rel.n ? rel.n : 1, sizeof *segs);
    paths = calloc(rel.n ? rel.n : 1, sizeof *paths);
    for (size_t i = 0; segs && paths && i < rel.n; i++) {
        char name[64];
        snprintf(name, sizeof name, "objects/%s.tlo", rel.seg[i].object);
        paths[i] = tlo_path_join(vault, name);
        segs[i] = (tlo_clip_segment){.path = paths[i],
                                     .object_key = rel.seg[i].key,
                                     .start_ms = rel.seg[i].start_ms,
                                     .end_ms = rel.seg[i].end_ms};
    }
    fprintf(
        stderr,
        "Access logged as entry %llu (%s). Session %s of case %s, %02llu:%02llu:%02llu to "
        "%02llu:%02llu:%02llu, segments %llu to %llu.\n",
        (unsigned long long)rel.access_seq,
        rel.grant_seq ? "under a grant" : "the interviewer's own recording", session, cs.number,
        (unsigned long long)(rel.from_ms / 3600000), (unsigned long long)(rel.from_ms / 60000 % 60),
        (unsigned long long)(rel.from_ms / 1000 % 60), (unsigned long long)(rel.to_ms / 3600000),
        (unsigned long long)(rel.to_ms / 60000 % 60), (unsigned long long)(rel.to_ms / 1000 % 60),
        (unsigned long long)(rel.n ? rel.seg[0].index : 0),
        (unsigned long long)(rel.n ? rel.seg[rel.n - 1].index : 0));
    marker_scan ms = {.case_id = cs.id, .session = session};
    tlo_chain_walk(ch, 0, visit_marker, &ms, &err);
    /* Nothing of the ledger is needed any more. */
    tlo_chain_close(ch);
    ch = NULL;

    if (headless_mode) {
        headless h = {0};
        tlo_clip_stats st;
        int dr = tlo_clip_decode(segs, rel.n, rel.from_ms, rel.to_ms, count_frame, &h, &st, &err);
        if (dr < 0) {
            rc = cli_fail(&err);
            goto out;
        }
        printf("Decoded %llu video and %llu audio frames in %u tracks, %llu.%03llu s to "
               "%llu.%03llu s of the session, from %u segments; the first frame after %llu.%03llu "
               "ms.\n",
               (unsigned long long)h.video, (unsigned long long)h.audio, st.tracks,
               (unsigned long long)(st.first_ms / 1000), (unsigned long long)(st.first_ms % 1000),
               (unsigned long long)(st.last_ms / 1000), (unsigned long long)(st.last_ms % 1000),
               st.segments_opened, (unsigned long long)(st.first_frame_us / 1000),
               (unsigned long long)(st.first_frame_us % 1000));
        for (unsigned k = 0; k < st.tracks; k++)
            printf("  track %u: %s, %llu frames\n", k,
                   st.kind[k] == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio",
                   (unsigned long long)st.frames[k]);
        rc = EXIT_OK;
        goto out;
    }

    gst_init(NULL, NULL);
    char watermark[400], date[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%d", &tm);
    /* clockoverlay reads its text as Pango markup: a name with & or < is
     * escaped, so it shows as written. */
    char *who = g_markup_escape_text(as, -1), *num = g_markup_escape_text(cs.number, -1);
    snprintf(watermark, sizeof watermark, "VIEWED BY %s - CASE %s -", who, num);
    g_free(who);
    g_free(num);
    (void)date;
    player p = {.watermark = watermark, .segs = segs, .nsegs = rel.n, .to_ms = rel.to_ms};
    g_mutex_init(&p.lock);
    bool tty = isatty(0);
    struct termios saved;
    bool raw = false;
    if (tty && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        raw = tcsetattr(0, TCSANOW, &t) == 0;
    }
    fprintf(stderr, "Playing; space pauses, arrows seek 10 s, q quits.\n");
    uint64_t at = rel.from_ms, seek = 0;
    int r;
    unsigned retries = 0;
    while ((r = play_from(&p, at, rel.from_ms, raw, &seek)) == 's' || (r == 'w' && retries++ < 3)) {
        at = seek;
        if (r == 'w')
            usleep(300000);
    }
    if (r == 'w')
        r = -1;
    if (raw)
        fputs("\n", stderr);
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    g_mutex_clear(&p.lock);
    rc = r < 0 ? cli_fail(&p.err) : EXIT_OK;
out:
    for (size_t i = 0; paths && i < rel.n; i++)
        free(paths[i]);
    free(paths);
    free(segs);
    cli_release_free(&rel);
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(vault);
    return rc;
}
