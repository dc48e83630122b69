/* The playback window (window.h): GStreamer shows the decoded frames of a
 * clip; a decoding thread feeds one appsrc per track. */
#include "window.h"
#include "font.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/video/navigation.h>
#include <gst/video/video.h>
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

struct player;
typedef struct decode_job {
    struct player *p;
    uint64_t from_ms;
    tlo_clip_stats st;
} decode_job;

typedef struct player {
    GstElement *pipeline;
    GstElement *video[TLO_PLAYER_MAX_TRACKS]; /* appsrc by track, NULL for audio */
    GstElement *audio[TLO_PLAYER_MAX_TRACKS];
    bool built;
    GMutex lock;
    const char *watermark;
    const char *font;       /* the watermark's Pango font description (font.h) */
    const char *clock_font; /* pip's clock: the same family, smaller */
    tlo_layout layout;      /* now */
    unsigned cameras;       /* video tracks of the clip */
    uint64_t started_ms;    /* the session's start, UTC ms (0: unknown) */
    char title_text[640];   /* the window's title with the layout */
    uint64_t base_ms;       /* session time shown at running time 0 */
    uint64_t last_ms;       /* the newest session time handed over */
    volatile int stop;      /* the decoder stops at the next frame */
    const tlo_clip_segment *segs;
    size_t nsegs;
    uint64_t to_ms;
    tlo_error err;
    int rc;
    bool eos;
    /* The bar below the picture (window only: an export has none). */
    GstVideoInfo bar_info; /* the composed frame: the picture and the bar */
    int pic_w, pic_h;      /* the picture above the bar */
    uint64_t from_ms;      /* the range released */
    uint64_t session_ms;   /* the bar's axis: 0..session_ms */
    const uint64_t *marks;
    size_t nmarks;
    decode_job job; /* the decoding thread's, while it runs */
    pthread_t tid;
    bool decoding;
} player;

/* The bar's height in pixels, and its margins left and right. */
enum { BAR_H = 24, BAR_MARGIN = 8 };

/* Where each camera goes in the window for the player's layout: x, y, w,
 * h of camera (video track) k, or w = 0 for a camera not shown. pip: the
 * first camera at its size (at most 1280 wide), the second a quarter of
 * that width in its bottom-right corner, 8 pixels in; camN: camera N alone. */
typedef struct place {
    int x, y, w, h, z;
} place;

static int scaled_h(const layout *l, unsigned k, int w)
{
    return l->w[k] > 0 ? (int)((int64_t)l->h[k] * w / l->w[k]) & ~1 : w * 9 / 16;
}

static void place_cameras(const player *p, const layout *l, const tlo_clip_stats *st,
                          place out[TLO_PLAYER_MAX_TRACKS])
{
    unsigned number = 0, first = TLO_PLAYER_MAX_TRACKS;
    int x = 0;
    memset(out, 0, sizeof(place) * TLO_PLAYER_MAX_TRACKS);
    for (unsigned k = 0; k < st->tracks; k++) {
        if (st->kind[k] != TLO_PLAYER_TRACK_VIDEO)
            continue;
        number++;
        int w0 = l->w[k] > 0 ? l->w[k] : 640;
        if (p->layout.kind == TLO_LAYOUT_SIDE_BY_SIDE) {
            /* Side by side, each at most 640 pixels wide. */
            int w = MIN(w0, 640);
            out[k] = (place){x, 0, w, scaled_h(l, k, w), 1};
            x += w;
        } else if (p->layout.kind == TLO_LAYOUT_CAMERA) {
            if (number == p->layout.camera) {
                int w = MIN(w0, 1280);
                out[k] = (place){0, 0, w, scaled_h(l, k, w), 1};
            }
        } else if (number == 1) {
            int w = MIN(w0, 1280);
            out[k] = (place){0, 0, w, scaled_h(l, k, w), 1};
            first = k;
        } else if (number == 2 && first < TLO_PLAYER_MAX_TRACKS) {
            int w = (out[first].w / 4) & ~1;
            int h = scaled_h(l, k, w);
            out[k] = (place){out[first].w - w - 8, out[first].h - h - 8, w, h, 2};
        }
    }
}

/* pip's clock follows the picture: each composed frame's time sets the
 * text it is drawn with (the probe runs in the streaming thread, just
 * before the overlay draws that frame). */
static GstPadProbeReturn pip_clock_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    player *p = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstElement *overlay = GST_ELEMENT(gst_pad_get_parent(pad));
    if (buf && overlay && GST_BUFFER_PTS_IS_VALID(buf)) {
        char text[128];
        tlo_layout_clock_text(p->started_ms, p->base_ms + GST_BUFFER_PTS(buf) / GST_MSECOND, text,
                              sizeof text);
        g_object_set(overlay, "text", text, NULL);
        tlo_layout_clock_shown(text);
    }
    if (overlay)
        gst_object_unref(overlay);
    return GST_PAD_PROBE_OK;
}

/* The window's title, as a tag ahead of the first picture (the X sinks
 * name their window by it). */
static GstPadProbeReturn title_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    player *p = data;
    (void)info;
    GstTagList *tags = gst_tag_list_new(GST_TAG_TITLE, p->title_text, NULL);
    gst_pad_push_event(pad, gst_event_new_tag(tags));
    return GST_PAD_PROBE_REMOVE;
}

/* Paints [x0, x1) x [y0, y1) of an I420 frame in one colour (even bounds:
 * the chroma planes are half size). */
static void fill_rect(GstVideoFrame *f, int x0, int x1, int y0, int y1, uint8_t yy, uint8_t u,
                      uint8_t v)
{
    int w = GST_VIDEO_FRAME_WIDTH(f), h = GST_VIDEO_FRAME_HEIGHT(f);
    x0 = MAX(0, x0 & ~1), y0 = MAX(0, y0 & ~1);
    x1 = MIN(w, (x1 + 1) & ~1), y1 = MIN(h, (y1 + 1) & ~1);
    if (x0 >= x1 || y0 >= y1)
        return;
    for (int y = y0; y < y1; y++)
        memset((uint8_t *)GST_VIDEO_FRAME_PLANE_DATA(f, 0) +
                   y * GST_VIDEO_FRAME_PLANE_STRIDE(f, 0) + x0,
               yy, (size_t)(x1 - x0));
    const uint8_t c[2] = {u, v};
    for (int pl = 1; pl <= 2; pl++)
        for (int y = y0 / 2; y < y1 / 2; y++)
            memset((uint8_t *)GST_VIDEO_FRAME_PLANE_DATA(f, pl) +
                       y * GST_VIDEO_FRAME_PLANE_STRIDE(f, pl) + x0 / 2,
                   c[pl - 1], (size_t)(x1 - x0) / 2);
}

/* The column of session time t on the bar. */
static int bar_x(const player *p, uint64_t t)
{
    int span = p->pic_w - 2 * BAR_MARGIN;
    uint64_t len = p->session_ms ? p->session_ms : 1;
    if (t > len)
        t = len;
    return BAR_MARGIN + (int)((int64_t)span * (int64_t)t / (int64_t)len);
}

/* The bar below the picture of a frame at session time now: black, the
 * session's axis (grey), the range released on it (green), a tick for
 * each marker inside it (yellow), the position (white). */
static void draw_bar(const player *p, GstVideoFrame *f, uint64_t now)
{
    int y = p->pic_h;
    fill_rect(f, 0, p->pic_w, y, y + BAR_H, 16, 128, 128);
    fill_rect(f, BAR_MARGIN, p->pic_w - BAR_MARGIN, y + 10, y + 14, 90, 128, 128);
    fill_rect(f, bar_x(p, p->from_ms), bar_x(p, p->to_ms), y + 6, y + 18, 145, 54, 34);
    for (size_t i = 0; i < p->nmarks; i++) {
        int x = bar_x(p, p->marks[i]);
        fill_rect(f, x - 1, x + 1, y + 2, y + 22, 210, 16, 146);
    }
    int x = bar_x(p, now);
    fill_rect(f, x - 1, x + 1, y, y + BAR_H, 235, 128, 128);
}

static GstPadProbeReturn bar_probe(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    player *p = data;
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
    GstVideoFrame f;
    (void)pad;
    if (!buf || !GST_BUFFER_PTS_IS_VALID(buf))
        return GST_PAD_PROBE_OK;
    buf = gst_buffer_make_writable(buf);
    GST_PAD_PROBE_INFO_DATA(info) = buf;
    if (gst_video_frame_map(&f, &p->bar_info, buf, GST_MAP_WRITE)) {
        draw_bar(p, &f, p->base_ms + GST_BUFFER_PTS(buf) / GST_MSECOND);
        gst_video_frame_unmap(&f);
    }
    return GST_PAD_PROBE_OK;
}

/* A seek of the running pipeline reaches each appsrc: the decoder is
 * restarted from there by the loop (seek_in_place), nothing to do here. */
static gboolean on_seek_data(GstAppSrc *src, guint64 offset, gpointer data)
{
    (void)src, (void)offset, (void)data;
    return TRUE;
}

/* Builds the pipeline from the first frame of each track (the sizes), laid
 * out as p->layout says. The watermark is the last element before the
 * display: nothing is shown without it. */
static int build_window(player *p, const layout *l, const tlo_clip_stats *st)
{
    p->pipeline = gst_pipeline_new("play");
    bool pip = p->layout.kind == TLO_LAYOUT_PIP;
    GstElement *comp = gst_element_factory_make("compositor", NULL);
    GstElement *size = gst_element_factory_make("capsfilter", NULL);
    /* pip's clock; otherwise nothing in its place (identity passes through). */
    GstElement *clock = gst_element_factory_make(pip ? "textoverlay" : "identity", NULL);
    GstElement *mark = gst_element_factory_make("clockoverlay", NULL);
    GstElement *conv = gst_element_factory_make("videoconvert", NULL);
    /* ximagesink on X11, named: autovideosink tries xvimagesink first, whose
     * failed open on a display without XVideo (Xvfb) made the ximagesink
     * after it fail now and then, and with no X server it fell back to
     * sinks that crash (capture/monitor.c chooses the same way). */
    const char *x11 = getenv("DISPLAY");
    GstElement *sink = gst_element_factory_make(x11 && *x11 ? "ximagesink" : "autovideosink", NULL);
    if (!comp || !size || !clock || !mark || !conv || !sink)
        return -1;
    place where[TLO_PLAYER_MAX_TRACKS];
    place_cameras(p, l, st, where);
    p->pic_w = p->pic_h = 0;
    for (unsigned k = 0; k < st->tracks; k++) {
        p->pic_w = MAX(p->pic_w, where[k].x + where[k].w);
        p->pic_h = MAX(p->pic_h, where[k].y + where[k].h);
    }
    p->pic_w = MAX(p->pic_w & ~1, 2 * BAR_MARGIN + 2);
    p->pic_h = MAX(p->pic_h & ~1, 2);
    /* The picture with the bar below it, in I420 for bar_probe. */
    gst_video_info_set_format(&p->bar_info, GST_VIDEO_FORMAT_I420, (guint)p->pic_w,
                              (guint)(p->pic_h + BAR_H));
    GstCaps *caps = gst_video_info_to_caps(&p->bar_info);
    gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, 25, 1, NULL);
    g_object_set(size, "caps", caps, NULL);
    gst_caps_unref(caps);
    /* The custodian's text holds the time of the access: no clock of the
     * viewer's is added (clockoverlay with no time shows the text alone). */
    g_object_set(mark, "text", p->watermark, "time-format", "", "shaded-background", TRUE,
                 "font-desc", p->font, NULL);
    gst_util_set_object_arg(G_OBJECT(mark), "valignment", "center");
    gst_util_set_object_arg(G_OBJECT(mark), "halignment", "center");
    /* Centred on the picture, not on the picture and the bar below it. */
    g_object_set(mark, "deltay", -BAR_H / 2, NULL);
    /* pip: the session clock and the recording's date and time, top right
     * (the recorder's own caption is top left). */
    if (pip) {
        g_object_set(clock, "text", "", "shaded-background", TRUE, "font-desc", p->clock_font,
                     NULL);
        gst_util_set_object_arg(G_OBJECT(clock), "valignment", "top");
        gst_util_set_object_arg(G_OBJECT(clock), "halignment", "right");
    }
    gst_bin_add_many(GST_BIN(p->pipeline), comp, size, clock, mark, conv, sink, NULL);
    if (!gst_element_link_many(comp, size, clock, mark, conv, sink, NULL))
        return -1;
    GstPad *bp = gst_element_get_static_pad(size, "src");
    gst_pad_add_probe(bp, GST_PAD_PROBE_TYPE_BUFFER, bar_probe, p, NULL);
    gst_object_unref(bp);
    if (pip) {
        GstPad *cp = gst_element_get_static_pad(clock, "video_sink");
        gst_pad_add_probe(cp, GST_PAD_PROBE_TYPE_BUFFER, pip_clock_probe, p, NULL);
        gst_object_unref(cp);
    }
    GstPad *tp = gst_element_get_static_pad(conv, "src");
    gst_pad_add_probe(tp, GST_PAD_PROBE_TYPE_BUFFER, title_probe, p, NULL);
    gst_object_unref(tp);
    for (unsigned k = 0; k < st->tracks; k++) {
        /* A camera this layout does not show is not decoded into the window. */
        if (st->kind[k] != TLO_PLAYER_TRACK_VIDEO || where[k].w == 0)
            continue;
        GstElement *src = gst_element_factory_make("appsrc", NULL);
        GstElement *q = gst_element_factory_make("queue", NULL);
        GstElement *vc = gst_element_factory_make("videoconvert", NULL);
        gst_bin_add_many(GST_BIN(p->pipeline), src, q, vc, NULL);
        g_object_set(src, "format", GST_FORMAT_TIME, "block", TRUE, "max-bytes",
                     (guint64)8 * 1024 * 1024, "stream-type", GST_APP_STREAM_TYPE_SEEKABLE, NULL);
        g_signal_connect(src, "seek-data", G_CALLBACK(on_seek_data), p);
        GstPad *pad = gst_element_request_pad_simple(comp, "sink_%u");
        GstPad *out = gst_element_get_static_pad(vc, "src");
        g_object_set(pad, "xpos", where[k].x, "ypos", where[k].y, "width", where[k].w, "height",
                     where[k].h, "zorder", (guint)where[k].z, NULL);
        bool ok =
            gst_element_link_many(src, q, vc, NULL) && gst_pad_link(out, pad) == GST_PAD_LINK_OK;
        gst_object_unref(out);
        gst_object_unref(pad);
        if (!ok)
            return -1;
        p->video[k] = src;
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
                     (guint64)1024 * 1024, "stream-type", GST_APP_STREAM_TYPE_SEEKABLE, NULL);
        g_signal_connect(src, "seek-data", G_CALLBACK(on_seek_data), p);
        if (!gst_element_link_many(src, ac, ar, as, NULL))
            return -1;
        p->audio[k] = src;
        break; /* one audio track is heard; the others are in the export */
    }
    gst_element_set_state(p->pipeline, GST_STATE_PLAYING);
    p->built = true;
    return 0;
}

/* Sets caps on src once, from the first buffer's format. */
static void set_caps_once(GstElement *src, GstCaps *caps)
{
    GstCaps *have = gst_app_src_get_caps(GST_APP_SRC(src));
    if (!have)
        gst_app_src_set_caps(GST_APP_SRC(src), caps);
    else
        gst_caps_unref(have);
    gst_caps_unref(caps);
}

/* A video frame as one I420 buffer, or NULL for a format not shown. */
static GstBuffer *video_buffer(GstElement *src, const AVFrame *fr)
{
    if (fr->format != AV_PIX_FMT_YUV420P && fr->format != AV_PIX_FMT_YUVJ420P)
        return NULL;
    int w = fr->width, h = fr->height;
    set_caps_once(src, gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                                           G_TYPE_INT, w, "height", G_TYPE_INT, h, "framerate",
                                           GST_TYPE_FRACTION, 0, 1, NULL));
    size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
    size_t size = (size_t)w * (size_t)h + 2 * cw * ch;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, size, NULL);
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
    return buf;
}

/* An audio frame as one interleaved F32 buffer, or NULL. */
static GstBuffer *audio_buffer(GstElement *src, const AVFrame *fr)
{
    if (fr->format != AV_SAMPLE_FMT_FLTP && fr->format != AV_SAMPLE_FMT_FLT)
        return NULL;
    int chn = fr->ch_layout.nb_channels;
    if (chn < 1 || chn > 8)
        return NULL;
    set_caps_once(src,
                  gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, "F32LE", "layout",
                                      G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT,
                                      fr->sample_rate, "channels", G_TYPE_INT, chn, NULL));
    size_t samples = (size_t)fr->nb_samples;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, samples * (size_t)chn * sizeof(float), NULL);
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
    GST_BUFFER_DURATION(buf) = gst_util_uint64_scale(samples, GST_SECOND, (guint64)fr->sample_rate);
    return buf;
}

static int push_frame(void *ctx, const tlo_clip_frame *f)
{
    player *p = ctx;
    if (p->stop)
        return 1;
    GstElement *src = f->kind == TLO_PLAYER_TRACK_VIDEO ? p->video[f->track] : p->audio[f->track];
    if (!src)
        return 0;
    GstBuffer *buf = f->kind == TLO_PLAYER_TRACK_VIDEO ? video_buffer(src, f->frame)
                                                       : audio_buffer(src, f->frame);
    if (!buf)
        return 0;
    GST_BUFFER_PTS(buf) = (GstClockTime)(f->session_ms - p->base_ms) * GST_MSECOND;
    g_mutex_lock(&p->lock);
    if (f->session_ms > p->last_ms)
        p->last_ms = f->session_ms;
    g_mutex_unlock(&p->lock);
    return gst_app_src_push_buffer(GST_APP_SRC(src), buf) == GST_FLOW_OK || p->stop ? 0 : 1;
}

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

/* One message of the bus: 'e' (end), 'E' (end, keep the last frame), 'w'
 * (the window never came up: try again), -1 (error), or a key the window
 * sent, or 0. */
static int on_message(player *p, GstMessage *m, bool hold)
{
    int r = 0;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS) {
        /* With keys the last frame stays: the viewer may seek back or quit.
         * Otherwise the end of the range ends it. */
        r = hold ? 'E' : 'e';
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError *ge = NULL;
        gst_message_parse_error(m, &ge, NULL);
        tlo_fail(&p->err, TLO_EIO, "the player window failed: %s", ge ? ge->message : "?");
        g_clear_error(&ge);
        /* The window never came up (the display refused a new window, seen
         * on Xvfb right after the last one closed): the caller may retry. */
        gint64 pos = 0;
        r = !gst_element_query_position(p->pipeline, GST_FORMAT_TIME, &pos) || pos <= 0 ? 'w' : -1;
    } else if (gst_navigation_message_get_type(m) == GST_NAVIGATION_MESSAGE_EVENT) {
        GstEvent *ev = NULL;
        const char *k = NULL;
        if (gst_navigation_message_parse_event(m, &ev) &&
            gst_navigation_event_get_type(ev) == GST_NAVIGATION_EVENT_KEY_PRESS &&
            gst_navigation_event_parse_key_event(ev, &k) && k)
            r = !strcmp(k, "space")    ? ' '
                : !strcmp(k, "Right")  ? 'R'
                : !strcmp(k, "Left")   ? 'L'
                : k[0] == 'q' && !k[1] ? 'q'
                : k[0] == 'l' && !k[1] ? 'l'
                                       : 0;
        if (ev)
            gst_event_unref(ev);
    }
    gst_message_unref(m);
    return r;
}

/* Where a seek key leads: 10 s on or back, never outside the range. */
static int seek_in_place(player *p, uint64_t t);
static uint64_t seek_target(player *p, int key, uint64_t range_from)
{
    g_mutex_lock(&p->lock);
    uint64_t now = p->last_ms;
    g_mutex_unlock(&p->lock);
    uint64_t t = key == 'R' ? now + 10000 : (now > range_from + 10000 ? now - 10000 : range_from);
    if (t < range_from)
        t = range_from;
    if (t >= p->to_ms)
        t = p->to_ms > range_from + 1000 ? p->to_ms - 1000 : range_from;
    return t;
}

static void report(player *p, const tlo_window_params *wp, uint64_t from_ms, bool paused,
                   bool ended)
{
    gint64 pos = 0;
    uint64_t at = from_ms;
    if (gst_element_query_position(p->pipeline, GST_FORMAT_TIME, &pos) && pos > 0)
        at = from_ms + (uint64_t)pos / 1000000;
    wp->status(wp->ctx,
               ended    ? TLO_WINDOW_ENDED
               : paused ? TLO_WINDOW_PAUSED
                        : TLO_WINDOW_PLAYING,
               at);
}

/* The decoding thread from from_ms (p->job, p->tid). */
static void start_decoder(player *p, uint64_t from_ms)
{
    p->stop = 0;
    p->job = (decode_job){.p = p, .from_ms = from_ms};
    g_mutex_lock(&p->lock);
    p->last_ms = from_ms;
    g_mutex_unlock(&p->lock);
    p->decoding = pthread_create(&p->tid, NULL, decode_thread, &p->job) == 0;
}

static void join_decoder(player *p)
{
    p->stop = 1;
    if (p->decoding)
        pthread_join(p->tid, NULL);
    p->decoding = false;
}

/* A seek key: the running pipeline is flushed to t and the decoder started
 * again from there, so the window and its last picture stay up (a new
 * pipeline would open a new, blank window). The decoder may be blocked in
 * a full appsrc: the flush unblocks it; a buffer it pushed after the first
 * flush is dropped by the second. 0, or -1 when the pipeline refused. */
static int seek_in_place(player *p, uint64_t t)
{
    gint64 at = (gint64)(t - p->base_ms) * GST_MSECOND;
    GstSeekFlags how = GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE;
    p->stop = 1;
    if (!gst_element_seek_simple(p->pipeline, GST_FORMAT_TIME, how, at))
        return -1;
    join_decoder(p);
    if (p->rc < 0)
        return -1;
    if (!gst_element_seek_simple(p->pipeline, GST_FORMAT_TIME, how, at))
        return -1;
    start_decoder(p, t);
    return 0;
}

/* Runs the bus and the keys until the end, a seek, q or an error. */
static int run_loop(player *p, const tlo_window_params *wp, uint64_t from_ms, uint64_t *seek_to)
{
    GstBus *bus = gst_element_get_bus(p->pipeline);
    bool paused = false, ended = false;
    unsigned tick = 0;
    int result = 'e';
    for (;;) {
        if (wp->status && ++tick % 5 == 0)
            report(p, wp, from_ms, paused, ended);
        int key = wp->read_key ? wp->read_key(wp->ctx) : 0;
        GstMessage *m = gst_bus_timed_pop(bus, 50 * GST_MSECOND);
        int got = m ? on_message(p, m, wp->read_key != NULL) : 0;
        if (got == 'e' || got == 'w' || got == -1) {
            result = got;
            break;
        }
        if (got == 'E')
            ended = true;
        else if (got)
            key = got;
        if (key == 'q' || key == 'Q') {
            result = 'q';
            break;
        }
        if (key == ' ' && !ended) {
            paused = !paused;
            gst_element_set_state(p->pipeline, paused ? GST_STATE_PAUSED : GST_STATE_PLAYING);
        }
        if ((key == 'R' || key == 'L') && seek_in_place(p, seek_target(p, key, wp->from_ms)) != 0) {
            *seek_to = seek_target(p, key, wp->from_ms);
            result = 's'; /* the running pipeline refused the seek: rebuilt there */
            break;
        }
        if (key == 'R' || key == 'L')
            ended = false;
        if (key == 'l') {
            /* The next layout, from where the picture is now. */
            gint64 pos = 0;
            *seek_to = from_ms;
            if (gst_element_query_position(p->pipeline, GST_FORMAT_TIME, &pos) && pos > 0)
                *seek_to = from_ms + (uint64_t)pos / 1000000;
            if (*seek_to >= p->to_ms)
                *seek_to = from_ms;
            result = 'y';
            break;
        }
    }
    gst_object_unref(bus);
    return result;
}

/* Plays from from_ms until the end, a seek, or q. Returns the key that
 * ended it: 'q', 's' (seek: *seek_to set), 'y' (the next layout, from
 * *seek_to), 'e' (end), 'w' (retry), or -1. */
static int play_from(player *p, const tlo_window_params *wp, uint64_t from_ms, uint64_t *seek_to)
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
    p->cameras = 0;
    for (unsigned k = 0; k < probe.tracks; k++)
        p->cameras += probe.kind[k] == TLO_PLAYER_TRACK_VIDEO;
    if (p->layout.kind == TLO_LAYOUT_CAMERA && p->layout.camera > p->cameras) {
        tlo_fail(&p->err, TLO_EARG,
                 "the clip has %u camera(s), so there is no camera %u to show; "
                 "use --layout side-by-side, pip or cam1 to cam%u",
                 p->cameras, p->layout.camera, p->cameras);
        return -1;
    }
    if (p->layout.kind == TLO_LAYOUT_PIP && p->cameras < 2)
        p->layout = (tlo_layout){TLO_LAYOUT_CAMERA, 1}; /* nothing to inset */
    char lt[16];
    tlo_layout_text(&p->layout, lt, sizeof lt);
    snprintf(p->title_text, sizeof p->title_text, "%s - layout %s (l: next layout)",
             wp->title ? wp->title : "tellonce play", lt);
    if (build_window(p, &l, &probe) != 0) {
        tlo_fail(&p->err, TLO_EUNSUPPORTED,
                 "cannot build the player window (GStreamer elements missing?)");
        teardown(p);
        return -1;
    }
    start_decoder(p, from_ms);
    int result = run_loop(p, wp, from_ms, seek_to);
    p->stop = 1;
    /* Unblock the decoder (appsrc blocks when full), then join it. */
    gst_element_set_state(p->pipeline, GST_STATE_NULL);
    join_decoder(p);
    teardown(p);
    if (p->rc < 0)
        result = -1;
    if (result == 'w')
        *seek_to = from_ms;
    return result;
}

int tlo_window_play(const tlo_window_params *wp, tlo_error *err)
{
    gst_init(NULL, NULL);
    /* A name no installed font shows would be boxes: refused before a window. */
    char font[128];
    int frc =
        tlo_player_watermark_font(wp->watermark ? wp->watermark : "", 18, font, sizeof font, err);
    if (frc != 0)
        return frc;
    /* clockoverlay reads its text as Pango markup: the text is escaped, so
     * a name with & or < shows as written. */
    char *watermark = g_markup_escape_text(wp->watermark ? wp->watermark : "", -1);
    char clock_font[128];
    if (tlo_player_watermark_font("0", 14, clock_font, sizeof clock_font, NULL) != 0)
        snprintf(clock_font, sizeof clock_font, "Sans Bold 14");
    player p = {.watermark = watermark,
                .font = font,
                .clock_font = clock_font,
                .layout = wp->layout,
                .started_ms = wp->started_ms,
                .from_ms = wp->from_ms,
                .session_ms = wp->session_ms > wp->to_ms ? wp->session_ms : wp->to_ms,
                .marks = wp->marks,
                .nmarks = wp->marks ? wp->nmarks : 0,
                .segs = wp->segs,
                .nsegs = wp->nsegs,
                .to_ms = wp->to_ms};
    g_mutex_init(&p.lock);
    uint64_t at = wp->from_ms, seek = 0;
    unsigned retries = 0;
    int r;
    while ((r = play_from(&p, wp, at, &seek)) == 's' || r == 'y' || (r == 'w' && retries++ < 3)) {
        if (r == 'y')
            p.layout = tlo_layout_next(&p.layout, p.cameras);
        at = seek;
        if (r == 'w')
            usleep(300000);
    }
    g_mutex_clear(&p.lock);
    g_free(watermark);
    if (r == 'w' || r < 0) {
        if (err)
            *err = p.err;
        return p.err.code ? p.err.code : TLO_EIO;
    }
    return 0;
}
