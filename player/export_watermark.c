/* The re-encode of a watermarked export (export_watermark.h).
 *
 * FFmpeg decodes the range (tlo_clip_decode, in a thread of its own) and
 * hands each frame to GStreamer, one appsrc per track, all into one muxer:
 *
 *   each camera:     appsrc ! textoverlay ! videoconvert ! x264enc ! h264parse ! queue --.
 *   each microphone: appsrc ! audioconvert ! audioresample ! avenc_aac ! aacparse ! queue -+
 *   then:            mp4mux faststart=true ! filesink  <-----------------------------------'
 *
 * The overlay is the only way from a camera to the encoder: no picture is
 * encoded without the text. The appsrcs block when full, so the decoder
 * never runs more than a few frames ahead of the encoders. The queues in
 * front of the muxer hold encoded data without limit: the muxer waits for
 * every track, and the decoder hands tracks over in the order they are
 * stored (up to a fragment of one before the next), so a bounded queue
 * there could stop one track's encoder while the muxer waits for another
 * that the blocked decoder can no longer feed. Encoded data is small.
 *
 * With pip (layout.h) cameras 1 and 2 go into one picture instead, and
 * one video track (side-by-side: every camera, left to right; with camN
 * only camera N is encoded, as above):
 *
 *   camera 1: appsrc ! queue --.
 *   camera 2: appsrc ! queue ---+ compositor ! capsfilter ! textoverlay (clock) ! textoverlay
 *                                  ! videoconvert ! x264enc ! h264parse ! queue ! mp4mux
 *
 * (the queues in front of the compositor unbounded, for the reason above:
 * it waits for both cameras, which the decoder hands over a fragment at a
 * time). Other cameras are not decoded into it.
 *
 * The main thread watches the bus: the first error of any element stops
 * the decoder and the pipeline, and the export fails with its message. */
#include "export_watermark.h"
#include "font.h"
#include "layout.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/samplefmt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* How much of the range is decoded first to learn each track's format and
 * frame rate; every track must show a frame in it. */
#define PROBE_MS 1000
#define FPS_DEFAULT 25
#define FPS_MAX 120
/* Audio is timed by its samples; a jump of more than this between where
 * the samples lead and the frame's own time is followed (a real gap), a
 * smaller one (a segment's muxer restarting its track) is not. */
#define AUDIO_RESYNC_NS (100 * GST_MSECOND)
/* The recorder's AAC bitrate (avenc_aac's default), taken out of the
 * source's bytes to leave the cameras' share; and the encoder's bounds. */
#define AUDIO_KBPS 128
#define VIDEO_KBPS_MIN 300
#define VIDEO_KBPS_MAX 20000
#define RAW_QUEUE_FRAMES 8
#define RAW_AUDIO_QUEUE_BYTES (1024 * 1024)
/* Large on a 640-pixel-wide picture (points); textoverlay scales it with
 * the width. The families are chosen by font.h. */
#define WATERMARK_POINTS 20
#define DECODE_DONE "tellonce-decode-done"

typedef struct wm_track {
    tlo_player_track_kind kind; /* 0: not a video or audio stream, skipped */
    unsigned number;            /* camera or microphone number, from 1 */
    /* what the probe saw */
    int width, height, rate, channels;
    AVRational sar;
    uint64_t first_ms, last_ms, seen;
    unsigned fps, kbps;
    GstVideoInfo info;
    /* while encoding: written by the decoder thread only */
    GstElement *src;
    bool pushed;
    GstClockTime last_pts, end, audio_base;
    uint64_t samples, frames;
} wm_track;

typedef struct encoder {
    wm_track tr[TLO_PLAYER_MAX_TRACKS];
    unsigned ntracks;
    const tlo_clip_segment *segs;
    size_t n;
    uint64_t from_ms, to_ms;
    GstElement *pipeline;
    const char *missing; /* the first element that could not be made */
    char font[128];      /* the watermark's Pango font description (font.h) */
    char clock_font[128];
    bool pip;            /* cameras composed into one picture: pip or side by side */
    bool side_by_side;   /* every camera left to right (else camera 2 inset in 1) */
    unsigned camera;     /* --layout camN: only camera N (1..); 0: every camera */
    uint64_t started_ms; /* composed: the session's start, UTC ms (0: unknown) */
    gint stop;           /* atomic: the decoder stops at its next frame */
    /* The decoder thread's outcome: read once it is joined, or after its
     * DECODE_DONE message (posting and popping it order the two). */
    int drc;
    tlo_error derr;
    tlo_clip_stats dstats;
    /* Progress, from the decoder thread: the ms of the range pushed. */
    void (*progress)(void *ctx, uint64_t done_ms, uint64_t total_ms);
    void *progress_ctx;
    uint64_t progress_ms;
} encoder;

static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

static const char *track_name(const wm_track *t)
{
    return t->kind == TLO_PLAYER_TRACK_VIDEO ? "camera" : "microphone";
}

/* ---- the probe: each track's format, from the first second ---- */

static int probe_frame(void *ctx, const tlo_clip_frame *f)
{
    encoder *e = ctx;
    if (f->session_ms >= e->from_ms + PROBE_MS)
        return 1;
    wm_track *t = &e->tr[f->track];
    const AVFrame *fr = f->frame;
    if (t->seen++ == 0) {
        t->first_ms = f->session_ms;
        t->width = fr->width;
        t->height = fr->height;
        t->sar = fr->sample_aspect_ratio;
        t->rate = fr->sample_rate;
        t->channels = fr->ch_layout.nb_channels;
    }
    t->last_ms = f->session_ms;
    return 0;
}

/* The tracks from the probe, or an error naming the one that cannot be
 * encoded. */
static int learn_tracks(encoder *e, const tlo_clip_stats *st, tlo_error *err)
{
    unsigned video = 0, audio = 0;
    char at[24];
    ms_text(at, sizeof at, e->from_ms);
    e->ntracks = st->tracks;
    for (unsigned k = 0; k < st->tracks; k++) {
        wm_track *t = &e->tr[k];
        t->kind = st->kind[k];
        if (!t->kind)
            continue;
        t->number = t->kind == TLO_PLAYER_TRACK_VIDEO ? ++video : ++audio;
        if (t->seen == 0)
            return tlo_fail(err, TLO_EFORMAT,
                            "%s %u has nothing in the first second from %s, so it cannot be "
                            "re-encoded with the others; export without --watermark (stream "
                            "copy) or from another time",
                            track_name(t), t->number, at);
        if (t->kind == TLO_PLAYER_TRACK_VIDEO) {
            if (t->width < 16 || t->height < 16 || t->width > 8192 || t->height > 8192)
                return tlo_fail(err, TLO_EUNSUPPORTED, "camera %u has %dx%d pictures", t->number,
                                t->width, t->height);
            uint64_t span = t->last_ms - t->first_ms;
            t->fps = t->seen >= 2 && span ? (unsigned)((1000 * (t->seen - 1) + span / 2) / span)
                                          : FPS_DEFAULT;
            if (t->fps < 1)
                t->fps = 1;
            if (t->fps > FPS_MAX)
                t->fps = FPS_MAX;
        } else if (t->rate < 8000 || t->rate > 192000 || t->channels < 1 || t->channels > 2) {
            return tlo_fail(err, TLO_EUNSUPPORTED,
                            "microphone %u has %d channel(s) at %d Hz; a watermarked export "
                            "re-encodes mono or stereo audio of 8 to 192 kHz",
                            t->number, t->channels, t->rate);
        }
    }
    if (video + audio == 0)
        return tlo_fail(err, TLO_EFORMAT, "the clip has no camera and no microphone track");
    return 0;
}

/* Each camera's bitrate: the source's, from the bytes of its segments over
 * their time, less the microphones, shared by the cameras' picture sizes. */
static void choose_bitrates(encoder *e)
{
    uint64_t bytes = 0, ms = 0, pixels = 0, mics = 0;
    for (size_t i = 0; i < e->n; i++) {
        struct stat sb;
        if (stat(e->segs[i].path, &sb) == 0 && e->segs[i].end_ms > e->segs[i].start_ms) {
            bytes += (uint64_t)sb.st_size;
            ms += e->segs[i].end_ms - e->segs[i].start_ms;
        }
    }
    for (unsigned k = 0; k < e->ntracks; k++) {
        if (e->tr[k].kind == TLO_PLAYER_TRACK_VIDEO)
            pixels += (uint64_t)e->tr[k].width * (uint64_t)e->tr[k].height;
        else if (e->tr[k].kind == TLO_PLAYER_TRACK_AUDIO)
            mics++;
    }
    uint64_t total = ms ? bytes * 8 / ms : 0; /* bits per ms: kbit/s */
    uint64_t video = total > AUDIO_KBPS * mics ? total - AUDIO_KBPS * mics : 0;
    for (unsigned k = 0; k < e->ntracks; k++) {
        wm_track *t = &e->tr[k];
        if (t->kind != TLO_PLAYER_TRACK_VIDEO)
            continue;
        uint64_t kbps = pixels ? video * (uint64_t)t->width * (uint64_t)t->height / pixels : 0;
        t->kbps = (unsigned)(kbps < VIDEO_KBPS_MIN   ? VIDEO_KBPS_MIN
                             : kbps > VIDEO_KBPS_MAX ? VIDEO_KBPS_MAX
                                                     : kbps);
    }
}

/* ---- the pipeline ---- */

static GstElement *add(encoder *e, const char *factory, const wm_track *t)
{
    char name[64];
    if (t)
        snprintf(name, sizeof name, "%s%u-%s", track_name(t), t->number, factory);
    else
        snprintf(name, sizeof name, "%s", factory);
    GstElement *el = gst_element_factory_make(factory, name);
    if (el)
        gst_bin_add(GST_BIN(e->pipeline), el);
    else if (!e->missing)
        e->missing = factory;
    return el;
}

/* Links the last element of a track's chain to a new pad of the muxer. */
static bool link_to_mux(GstElement *last, GstElement *mux, const char *templ)
{
    GstPad *sink = gst_element_request_pad_simple(mux, templ);
    GstPad *src = gst_element_get_static_pad(last, "src");
    bool ok = sink && src && gst_pad_link(src, sink) == GST_PAD_LINK_OK;
    if (src)
        gst_object_unref(src);
    if (sink)
        gst_object_unref(sink); /* the muxer keeps its own reference */
    return ok;
}

static bool build_camera(encoder *e, wm_track *t, const char *markup, GstElement *mux)
{
    GstElement *src = add(e, "appsrc", t), *text = add(e, "textoverlay", t);
    GstElement *conv = add(e, "videoconvert", t), *enc = add(e, "x264enc", t);
    GstElement *parse = add(e, "h264parse", t), *q = add(e, "queue", t);
    if (!src || !text || !conv || !enc || !parse || !q)
        return false;
    gst_video_info_set_format(&t->info, GST_VIDEO_FORMAT_I420, (guint)t->width, (guint)t->height);
    t->info.fps_n = (gint)t->fps;
    t->info.fps_d = 1;
    t->info.par_n = t->sar.num > 0 && t->sar.den > 0 ? t->sar.num : 1;
    t->info.par_d = t->sar.num > 0 && t->sar.den > 0 ? t->sar.den : 1;
    GstCaps *caps = gst_video_info_to_caps(&t->info);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                 (guint64)t->info.size * RAW_QUEUE_FRAMES, NULL);
    gst_caps_unref(caps);
    g_object_set(text, "text", markup, "font-desc", e->font, "shaded-background", TRUE, NULL);
    gst_util_set_object_arg(G_OBJECT(text), "valignment", "center");
    gst_util_set_object_arg(G_OBJECT(text), "halignment", "center");
    gst_util_set_object_arg(G_OBJECT(text), "line-alignment", "center");
    /* A keyframe every second, so a player seeks to within a second. */
    g_object_set(enc, "bitrate", (guint)t->kbps, "key-int-max", (guint)t->fps, NULL);
    gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "veryfast");
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", (guint64)0,
                 NULL);
    t->src = src;
    return gst_element_link_many(src, text, conv, enc, parse, q, NULL) &&
           link_to_mux(q, mux, "video_%u");
}

/* pip's clock: each composed picture's own time sets its text (the probe
 * runs in the streaming thread, just before the overlay draws it). */
static GstPadProbeReturn clock_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    encoder *e = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstElement *overlay = GST_ELEMENT(gst_pad_get_parent(pad));
    if (buf && overlay && GST_BUFFER_PTS_IS_VALID(buf)) {
        char text[128];
        tlo_layout_clock_text(e->started_ms, e->from_ms + GST_BUFFER_PTS(buf) / GST_MSECOND, text,
                              sizeof text);
        g_object_set(overlay, "text", text, NULL);
        tlo_layout_clock_shown(text);
    }
    if (overlay)
        gst_object_unref(overlay);
    return GST_PAD_PROBE_OK;
}

static GstElement *add_pip(encoder *e, const char *factory, const char *name)
{
    GstElement *el = gst_element_factory_make(factory, name);
    if (el)
        gst_bin_add(GST_BIN(e->pipeline), el);
    else if (!e->missing)
        e->missing = factory;
    return el;
}

/* A camera's appsrc for pip, unbounded queue, into the compositor at x, y, w, h. */
static bool pip_input(encoder *e, wm_track *t, GstElement *comp, int x, int y, int w, int h,
                      unsigned z)
{
    GstElement *src = add(e, "appsrc", t), *q = add(e, "queue", t);
    if (!src || !q)
        return false;
    gst_video_info_set_format(&t->info, GST_VIDEO_FORMAT_I420, (guint)t->width, (guint)t->height);
    t->info.fps_n = (gint)t->fps;
    t->info.fps_d = 1;
    GstCaps *caps = gst_video_info_to_caps(&t->info);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                 (guint64)t->info.size * RAW_QUEUE_FRAMES, NULL);
    gst_caps_unref(caps);
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", (guint64)0,
                 NULL);
    GstPad *pad = gst_element_request_pad_simple(comp, "sink_%u");
    GstPad *out = gst_element_get_static_pad(q, "src");
    bool ok = pad && out;
    if (ok) {
        g_object_set(pad, "xpos", x, "ypos", y, "width", w, "height", h, "zorder", z, NULL);
        ok = gst_element_link(src, q) && gst_pad_link(out, pad) == GST_PAD_LINK_OK;
    }
    if (out)
        gst_object_unref(out);
    if (pad)
        gst_object_unref(pad);
    t->src = src;
    return ok;
}

/* Cameras cam[0..n) as one video track: picture-in-picture (cameras 1 and
 * 2, e->side_by_side false) or every camera left to right, each at its
 * size, as high as the highest. */
static bool build_pip(encoder *e, wm_track **cam, unsigned n, const char *markup, GstElement *mux)
{
    wm_track *a = cam[0], *b = cam[1];
    GstElement *comp = add_pip(e, "compositor", "pip-compositor");
    GstElement *cf = add_pip(e, "capsfilter", "pip-caps");
    GstElement *clock = add_pip(e, "textoverlay", "pip-clock");
    GstElement *text = add_pip(e, "textoverlay", "pip-watermark");
    GstElement *conv = add_pip(e, "videoconvert", "pip-videoconvert");
    GstElement *enc = add_pip(e, "x264enc", "pip-x264enc");
    GstElement *parse = add_pip(e, "h264parse", "pip-h264parse");
    GstElement *q = add_pip(e, "queue", "pip-queue");
    if (!comp || !cf || !clock || !text || !conv || !enc || !parse || !q)
        return false;
    int w = a->width & ~1, h = a->height & ~1;
    guint kbps = 0;
    if (e->side_by_side) {
        w = 0;
        for (unsigned k = 0; k < n; k++) {
            if (!pip_input(e, cam[k], comp, w, 0, cam[k]->width & ~1, cam[k]->height & ~1, 1))
                return false;
            w += cam[k]->width & ~1;
            h = MAX(h, cam[k]->height & ~1);
            kbps += (guint)cam[k]->kbps;
        }
    } else {
        int iw = (w / 4) & ~1;
        int ih = (int)((int64_t)b->height * iw / b->width) & ~1;
        if (!pip_input(e, a, comp, 0, 0, w, h, 1) ||
            !pip_input(e, b, comp, w - iw - 8, h - ih - 8, iw, ih, 2))
            return false;
        kbps = (guint)(a->kbps + b->kbps);
    }
    GstCaps *caps = gst_caps_new_simple("video/x-raw", "width", G_TYPE_INT, w, "height", G_TYPE_INT,
                                        h, "framerate", GST_TYPE_FRACTION, (int)a->fps, 1, NULL);
    g_object_set(cf, "caps", caps, NULL);
    gst_caps_unref(caps);
    g_object_set(clock, "text", "", "font-desc", e->clock_font, "shaded-background", TRUE, NULL);
    gst_util_set_object_arg(G_OBJECT(clock), "valignment", "top");
    gst_util_set_object_arg(G_OBJECT(clock), "halignment", "right");
    GstPad *cp = gst_element_get_static_pad(clock, "video_sink");
    gst_pad_add_probe(cp, GST_PAD_PROBE_TYPE_BUFFER, clock_probe, e, NULL);
    gst_object_unref(cp);
    g_object_set(text, "text", markup, "font-desc", e->font, "shaded-background", TRUE, NULL);
    gst_util_set_object_arg(G_OBJECT(text), "valignment", "center");
    gst_util_set_object_arg(G_OBJECT(text), "halignment", "center");
    gst_util_set_object_arg(G_OBJECT(text), "line-alignment", "center");
    /* Side by side the picture is two or more cameras wide: the texts stay
     * the size they have on one camera (textoverlay scales with the width). */
    if (e->side_by_side) {
        g_object_set(text, "auto-resize", FALSE, NULL);
        g_object_set(clock, "auto-resize", FALSE, NULL);
    }
    g_object_set(enc, "bitrate", kbps, "key-int-max", (guint)a->fps, NULL);
    gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", "veryfast");
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", (guint64)0,
                 NULL);
    return gst_element_link_many(comp, cf, clock, text, conv, enc, parse, q, NULL) &&
           link_to_mux(q, mux, "video_%u");
}

static bool build_microphone(encoder *e, wm_track *t, GstElement *mux)
{
    GstElement *src = add(e, "appsrc", t), *conv = add(e, "audioconvert", t);
    GstElement *res = add(e, "audioresample", t), *enc = add(e, "avenc_aac", t);
    GstElement *parse = add(e, "aacparse", t), *q = add(e, "queue", t);
    if (!src || !conv || !res || !enc || !parse || !q)
        return false;
    GstCaps *caps = gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout",
                                        G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, t->rate,
                                        "channels", G_TYPE_INT, t->channels, NULL);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                 (guint64)RAW_AUDIO_QUEUE_BYTES, NULL);
    gst_caps_unref(caps);
    g_object_set(q, "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", (guint64)0,
                 NULL);
    t->src = src;
    return gst_element_link_many(src, conv, res, enc, parse, q, NULL) &&
           link_to_mux(q, mux, "audio_%u");
}

static int build(encoder *e, const char *watermark, const char *path, const char *mdat_path,
                 tlo_error *err)
{
    e->pipeline = gst_pipeline_new("tellonce-export");
    GstElement *mux = add(e, "mp4mux", NULL), *sink = add(e, "filesink", NULL);
    bool ok = mux && sink;
    if (ok) {
        g_object_set(mux, "faststart", TRUE, "faststart-file", mdat_path, NULL);
        g_object_set(sink, "location", path, NULL);
        ok = gst_element_link(mux, sink);
    }
    /* textoverlay reads Pango markup: the text is shown as it is. */
    char *markup = g_markup_escape_text(watermark, -1);
    wm_track *cam[TLO_PLAYER_MAX_TRACKS] = {NULL};
    unsigned ncam = 0;
    for (unsigned k = 0; k < e->ntracks; k++)
        if (e->tr[k].kind == TLO_PLAYER_TRACK_VIDEO)
            cam[ncam++] = &e->tr[k];
    if (e->pip && !e->side_by_side && ncam < 2) {
        g_free(markup);
        return tlo_fail(err, TLO_EARG,
                        "the clip has one camera, so there is nothing to put in a picture in "
                        "the picture; export without --layout pip");
    }
    if (e->camera > ncam) {
        g_free(markup);
        return tlo_fail(err, TLO_EARG,
                        "the clip has %u camera(s), so there is no camera %u to export; use "
                        "--layout cam1 to cam%u",
                        ncam, e->camera, ncam);
    }
    if (e->pip && ok && ncam > 0)
        ok = build_pip(e, cam, e->side_by_side ? ncam : 2, markup, mux);
    for (unsigned k = 0; ok && k < e->ntracks; k++) {
        wm_track *t = &e->tr[k];
        if (t->kind == TLO_PLAYER_TRACK_VIDEO && (e->pip || (e->camera && t->number != e->camera)))
            continue; /* composed above, or left out (pip: cameras 3 on; camN: the others) */
        if (t->kind == TLO_PLAYER_TRACK_VIDEO)
            ok = build_camera(e, t, markup, mux);
        else if (t->kind == TLO_PLAYER_TRACK_AUDIO)
            ok = build_microphone(e, t, mux);
    }
    g_free(markup);
    if (e->missing)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the GStreamer element %s is missing, which a watermarked export needs "
                        "(x264enc is in gstreamer1.0-plugins-ugly, avenc_aac in "
                        "gstreamer1.0-libav, the others in -base and -good)",
                        e->missing);
    if (!ok)
        return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the GStreamer elements of the export");
    return 0;
}

/* ---- the decoder thread: frames into the appsrcs ---- */

/* A failure of the decoder thread's own (not the decoder's, not
 * GStreamer's): kept, and the decoder stops at its next frame. */
static void stop_with(encoder *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void stop_with(encoder *e, int code, const char *fmt, ...)
{
    if (e->drc == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->derr.msg, sizeof e->derr.msg, fmt, ap);
        va_end(ap);
        e->derr.code = e->drc = code;
    }
    g_atomic_int_set(&e->stop, 1);
}

static GstBuffer *video_buffer(encoder *e, wm_track *t, const tlo_clip_frame *f)
{
    const AVFrame *fr = f->frame;
    if ((fr->format != AV_PIX_FMT_YUV420P && fr->format != AV_PIX_FMT_YUVJ420P) ||
        fr->width != t->width || fr->height != t->height) {
        char at[24];
        ms_text(at, sizeof at, f->session_ms);
        stop_with(e, TLO_EUNSUPPORTED,
                  "camera %u changes its picture format or size at %s of the session; a "
                  "watermarked export re-encodes 4:2:0 pictures of one size per camera",
                  t->number, at);
        return NULL;
    }
    GstBuffer *buf = gst_buffer_new_allocate(NULL, t->info.size, NULL);
    GstVideoFrame vf;
    if (!buf || !gst_video_frame_map(&vf, &t->info, buf, GST_MAP_WRITE)) {
        if (buf)
            gst_buffer_unref(buf);
        stop_with(e, TLO_ENOMEM, "out of memory for a picture of camera %u", t->number);
        return NULL;
    }
    for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&vf); p++) {
        uint8_t *d = GST_VIDEO_FRAME_PLANE_DATA(&vf, p);
        size_t stride = (size_t)GST_VIDEO_FRAME_PLANE_STRIDE(&vf, p);
        size_t w = (size_t)GST_VIDEO_FRAME_COMP_WIDTH(&vf, p);
        int h = GST_VIDEO_FRAME_COMP_HEIGHT(&vf, p);
        for (int y = 0; y < h; y++)
            memcpy(d + (size_t)y * stride, fr->data[p] + (ptrdiff_t)y * fr->linesize[p], w);
    }
    gst_video_frame_unmap(&vf);
    GstClockTime pts = (f->session_ms - e->from_ms) * GST_MSECOND;
    if (t->pushed && pts <= t->last_pts) /* two frames on one millisecond */
        pts = t->last_pts + GST_MSECOND;
    GST_BUFFER_PTS(buf) = pts;
    GST_BUFFER_DURATION(buf) = GST_SECOND / t->fps;
    return buf;
}

static GstBuffer *audio_buffer(encoder *e, wm_track *t, const tlo_clip_frame *f)
{
    const AVFrame *fr = f->frame;
    int chn = fr->ch_layout.nb_channels;
    if ((fr->format != AV_SAMPLE_FMT_FLTP && fr->format != AV_SAMPLE_FMT_FLT) ||
        fr->sample_rate != t->rate || chn != t->channels || fr->nb_samples <= 0) {
        char at[24];
        ms_text(at, sizeof at, f->session_ms);
        stop_with(e, TLO_EUNSUPPORTED,
                  "microphone %u changes its sample format, rate or channels at %s of the "
                  "session; a watermarked export re-encodes float audio of one format per "
                  "microphone",
                  t->number, at);
        return NULL;
    }
    /* Timed by the samples: a segment's muxer restarts each track at its
     * own 0, which puts a frame's millisecond up to a frame off. */
    GstClockTime at = (f->session_ms - e->from_ms) * GST_MSECOND;
    GstClockTime next =
        t->audio_base + gst_util_uint64_scale(t->samples, GST_SECOND, (guint64)t->rate);
    bool discont = false;
    if (!t->pushed || at > next + AUDIO_RESYNC_NS) {
        discont = t->pushed; /* a gap in the recording: follow it */
        t->audio_base = at;
        t->samples = 0;
        next = at;
    } else if (at + AUDIO_RESYNC_NS < next) {
        return NULL; /* sound already given: never twice */
    }
    size_t samples = (size_t)fr->nb_samples;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, samples * (size_t)chn * sizeof(float), NULL);
    GstMapInfo map;
    if (!buf || !gst_buffer_map(buf, &map, GST_MAP_WRITE)) {
        if (buf)
            gst_buffer_unref(buf);
        stop_with(e, TLO_ENOMEM, "out of memory for the sound of microphone %u", t->number);
        return NULL;
    }
    float *o = (float *)(void *)map.data;
    for (size_t i = 0; i < samples; i++)
        for (int c = 0; c < chn; c++)
            o[i * (size_t)chn + (size_t)c] =
                fr->format == AV_SAMPLE_FMT_FLTP
                    ? ((const float *)(const void *)fr->data[c])[i]
                    : ((const float *)(const void *)fr->data[0])[i * (size_t)chn + (size_t)c];
    gst_buffer_unmap(buf, &map);
    t->samples += samples;
    GST_BUFFER_PTS(buf) = next;
    GST_BUFFER_DURATION(buf) =
        t->audio_base + gst_util_uint64_scale(t->samples, GST_SECOND, (guint64)t->rate) - next;
    if (discont)
        GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    return buf;
}

static int push_frame(void *ctx, const tlo_clip_frame *f)
{
    encoder *e = ctx;
    if (g_atomic_int_get(&e->stop))
        return 1;
    if (f->track >= e->ntracks || !e->tr[f->track].src)
        return 0;
    wm_track *t = &e->tr[f->track];
    GstBuffer *buf =
        t->kind == TLO_PLAYER_TRACK_VIDEO ? video_buffer(e, t, f) : audio_buffer(e, t, f);
    if (!buf)
        return g_atomic_int_get(&e->stop) ? 1 : 0;
    t->pushed = true;
    t->last_pts = GST_BUFFER_PTS(buf);
    if (GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf) > t->end)
        t->end = GST_BUFFER_PTS(buf) + GST_BUFFER_DURATION(buf);
    t->frames++;
    if (e->progress && f->session_ms > e->from_ms + e->progress_ms && f->session_ms < e->to_ms) {
        e->progress_ms = f->session_ms - e->from_ms;
        e->progress(e->progress_ctx, e->progress_ms, e->to_ms - e->from_ms);
    }
    GstFlowReturn fl = gst_app_src_push_buffer(GST_APP_SRC(t->src), buf); /* takes buf */
    if (fl != GST_FLOW_OK) {
        /* The pipeline failed (its error is on the bus) or is stopping. */
        if (!g_atomic_int_get(&e->stop) && e->drc == 0)
            stop_with(e, TLO_EFORMAT, "the encoder of %s %u stopped taking frames (%s)",
                      track_name(t), t->number, gst_flow_get_name(fl));
        return 1;
    }
    return 0;
}

static gpointer decode_thread(gpointer data)
{
    encoder *e = data;
    tlo_error err = {0};
    int rc = tlo_clip_decode(e->segs, e->n, e->from_ms, e->to_ms, push_frame, e, &e->dstats, &err);
    if (rc < 0 && e->drc == 0) {
        e->derr = err;
        e->drc = rc;
    }
    if (e->drc == 0 && !g_atomic_int_get(&e->stop))
        for (unsigned k = 0; k < e->ntracks; k++)
            if (e->tr[k].src)
                gst_app_src_end_of_stream(GST_APP_SRC(e->tr[k].src));
    gst_element_post_message(
        e->pipeline,
        gst_message_new_application(GST_OBJECT(e->pipeline), gst_structure_new_empty(DECODE_DONE)));
    return NULL;
}

/* An error message of the pipeline as the export's failure: a write that
 * failed is the disk's (TLO_EIO), anything else the encoding's. `writing`
 * names the output for a person. */
static int gst_failure(GstMessage *m, const char *writing, tlo_error *err)
{
    GError *ge = NULL;
    gchar *debug = NULL;
    gst_message_parse_error(m, &ge, &debug);
    bool disk =
        ge && ge->domain == GST_RESOURCE_ERROR &&
        (ge->code == GST_RESOURCE_ERROR_NO_SPACE_LEFT || ge->code == GST_RESOURCE_ERROR_WRITE ||
         ge->code == GST_RESOURCE_ERROR_OPEN_WRITE ||
         ge->code == GST_RESOURCE_ERROR_OPEN_READ_WRITE || ge->code == GST_RESOURCE_ERROR_CLOSE ||
         ge->code == GST_RESOURCE_ERROR_SYNC);
    /* The operating system's reason, which GStreamer puts in the debug text. */
    const char *why = debug ? strstr(debug, "system error: ") : NULL;
    int rc = tlo_fail(err, disk ? TLO_EIO : TLO_EFORMAT, "%s (re-encoding, in %s): %s%s%s%s",
                      writing, GST_MESSAGE_SRC_NAME(m), ge ? ge->message : "an unknown error",
                      why ? " (" : "", why ? why + 14 : "", why ? ")" : "");
    g_clear_error(&ge);
    g_free(debug);
    return rc;
}

/* Runs the pipeline with the decoder thread until the end of every track
 * (EOS) or the first failure. */
static int run(encoder *e, const char *writing, tlo_error *err)
{
    if (gst_element_set_state(e->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        GstBus *bus = gst_element_get_bus(e->pipeline);
        GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        int rc = m ? gst_failure(m, writing, err)
                   : tlo_fail(err, TLO_EIO, "%s: GStreamer cannot start", writing);
        if (m)
            gst_message_unref(m);
        gst_object_unref(bus);
        return rc;
    }
    GError *ge = NULL;
    GThread *th = g_thread_try_new("tlo-export-decode", decode_thread, e, &ge);
    if (!th) {
        int rc = tlo_fail(err, TLO_ENOMEM, "cannot start the decoder thread: %s",
                          ge ? ge->message : "?");
        g_clear_error(&ge);
        return rc;
    }
    GstBus *bus = gst_element_get_bus(e->pipeline);
    int rc = 0;
    bool eos = false, failed = false, decoded = false;
    while (!eos && !failed && !decoded) {
        GstMessage *m = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                                   GST_MESSAGE_ERROR | GST_MESSAGE_EOS |
                                                       GST_MESSAGE_APPLICATION);
        if (!m)
            continue;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            rc = gst_failure(m, writing, err);
            failed = true;
        } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
            eos = true;
        } else if (gst_message_has_name(m, DECODE_DONE) && e->drc != 0) {
            decoded = true; /* and failed: nothing is finished */
        }
        gst_message_unref(m);
    }
    /* Unblock the decoder (an appsrc blocks when full), then join it. */
    g_atomic_int_set(&e->stop, 1);
    gst_element_set_state(e->pipeline, GST_STATE_NULL);
    g_thread_join(th);
    gst_object_unref(bus);
    /* GStreamer's own message first: the decoder only saw its effect. */
    if (!failed && e->drc != 0) {
        if (err)
            *err = e->derr;
        rc = e->drc;
    }
    return rc;
}

int tlo_player_encode_mp4(const tlo_clip_segment *segs, size_t n, uint64_t from_ms, uint64_t to_ms,
                          const char *watermark, const tlo_player_pip *pip, const char *path,
                          const char *mdat_path, const char *writing, tlo_player_export_result *res,
                          void (*progress)(void *ctx, uint64_t done_ms, uint64_t total_ms),
                          void *progress_ctx, tlo_error *err)
{
    GError *ge = NULL;
    if (!gst_init_check(NULL, NULL, &ge)) {
        int rc =
            tlo_fail(err, TLO_EUNSUPPORTED, "cannot start GStreamer: %s", ge ? ge->message : "?");
        g_clear_error(&ge);
        return rc;
    }
    if (!g_utf8_validate(watermark, -1, NULL))
        return tlo_fail(err, TLO_EARG, "the watermark is not UTF-8 text");
    encoder *e = g_try_new0(encoder, 1);
    if (!e)
        return tlo_fail(err, TLO_ENOMEM, "out of memory for the export");
    /* Before anything is decoded: a name no font shows fails here. */
    int frc = tlo_player_watermark_font(watermark, WATERMARK_POINTS, e->font, sizeof e->font, err);
    if (frc != 0) {
        g_free(e);
        return frc;
    }
    if (tlo_player_watermark_font("0", 14, e->clock_font, sizeof e->clock_font, NULL) != 0)
        snprintf(e->clock_font, sizeof e->clock_font, "Sans Bold 14");
    e->pip = pip && (pip->kind == TLO_LAYOUT_PIP || pip->kind == TLO_LAYOUT_SIDE_BY_SIDE);
    e->side_by_side = pip && pip->kind == TLO_LAYOUT_SIDE_BY_SIDE;
    e->camera = pip && pip->kind == TLO_LAYOUT_CAMERA ? pip->camera : 0;
    e->started_ms = e->pip ? pip->started_ms : 0;
    e->segs = segs;
    e->n = n;
    e->from_ms = from_ms;
    e->to_ms = to_ms;
    e->progress = progress;
    e->progress_ctx = progress_ctx;
    tlo_clip_stats st;
    int rc = tlo_clip_decode(segs, n, from_ms, to_ms, probe_frame, e, &st, err);
    if (rc >= 0)
        rc = learn_tracks(e, &st, err);
    if (rc < 0)
        goto out;
    choose_bitrates(e);
    if ((rc = build(e, watermark, path, mdat_path, err)) != 0 || (rc = run(e, writing, err)) != 0)
        goto out;
    GstClockTime end = 0;
    for (unsigned k = 0; k < e->ntracks; k++) {
        const wm_track *t = &e->tr[k];
        if (!t->kind || (t->kind == TLO_PLAYER_TRACK_VIDEO &&
                         t->number != (e->camera ? e->camera : 1) && (e->pip || e->camera)))
            continue; /* composed: one video track, as many pictures as camera 1's */
        tlo_player_export_track *o = &res->track[res->tracks++];
        o->kind = t->kind;
        snprintf(o->codec, sizeof o->codec, "%s",
                 t->kind == TLO_PLAYER_TRACK_VIDEO ? "h264" : "aac");
        o->packets = t->frames;
        if (t->end > end)
            end = t->end;
    }
    res->clip_start_ms = from_ms;
    res->clip_end_ms = from_ms + (end + GST_MSECOND - 1) / GST_MSECOND;
    tlo_error_clear(err);
out:
    if (e->pipeline)
        gst_object_unref(e->pipeline);
    g_free(e);
    return rc;
}
