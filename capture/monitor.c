/* The live monitor (monitor.h): a pipeline of its own, fed in memory. */
#include "monitor.h"
#include "tlo_common.h"

#include <X11/Xlib.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METER_ROW 20 /* pixels per microphone's meter, under the pictures */
#define METER_X 70   /* where the bars start (the label "mic N" is before it) */

struct tlo_monitor {
    GstElement *pipeline, *conv_out, *out;
    GstElement *src[TLO_HW_MAX_CAMERAS], *label[TLO_HW_MAX_CAMERAS], *sign;
    GstPad *meter[TLO_HW_MAX_MICROPHONES];
    unsigned n_cameras, n_microphones, meter_w;
    bool recording, window, started, stopped;
    bool lost[TLO_HW_MAX_CAMERAS];
    gint on;                           /* atomic: frames are taken */
    gint caps_set[TLO_HW_MAX_CAMERAS]; /* atomic: the appsrc has its caps */
    uint64_t shown_s;
};

/* An X server that goes away ends the X client by default (Xlib calls
 * exit() from its I/O error handler): here it only ends the monitor. The
 * thread that met the error (one of the window's) is parked for good; the
 * monitor's pipeline is then left as it is (free does not stop it, which
 * would wait on that thread), and the recording never waits on it. */
static gint xio_lost;
static int on_xio_error(Display *d)
{
    (void)d;
    g_atomic_int_set(&xio_lost, 1);
    for (;;)
        pause();
    return 0;
}

static GstElement *make(const char *factory, tlo_error *err)
{
    GstElement *e = gst_element_factory_make(factory, NULL);
    if (!e)
        tlo_fail(err, TLO_EUNSUPPORTED,
                 "the GStreamer element %s is missing; install the packages in scripts/deps "
                 "(scripts/install-deps)",
                 factory);
    return e;
}

/* Adds el[0..n) to the pipeline and links them; false if one is missing. */
static bool chain(tlo_monitor *m, GstElement **el, size_t n, tlo_error *err)
{
    bool ok = true;
    for (size_t k = 0; k < n; k++)
        if (!el[k])
            ok = false;
    for (size_t k = 0; k < n; k++)
        if (el[k]) {
            if (ok)
                gst_bin_add(GST_BIN(m->pipeline), el[k]);
            else
                gst_object_unref(gst_object_ref_sink(el[k]));
        }
    if (!ok)
        return false;
    for (size_t k = 0; k + 1 < n; k++)
        if (!gst_element_link(el[k], el[k + 1])) {
            tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor (%s to %s)",
                     GST_ELEMENT_NAME(el[k]), GST_ELEMENT_NAME(el[k + 1]));
            return false;
        }
    return true;
}

static GstElement *capsfilter(const char *text, tlo_error *err)
{
    GstElement *f = make("capsfilter", err);
    if (f) {
        GstCaps *caps = gst_caps_from_string(text);
        g_object_set(f, "caps", caps, NULL);
        gst_caps_unref(caps);
    }
    return f;
}

static GstElement *overlay(const char *text, const char *font, guint color, tlo_error *err)
{
    GstElement *o = make("textoverlay", err);
    if (o)
        g_object_set(o, "text", text, "font-desc", font, "color", color, "shaded-background", TRUE,
                     "wait-text", FALSE, NULL);
    return o;
}

static void on_jpeg_free(gpointer data)
{
    g_free(data);
}

typedef struct jpeg_out {
    void (*fn)(void *ctx, const uint8_t *jpeg, size_t len);
    void *ctx;
    gint64 last_us; /* when the last frame went (monotonic) */
} jpeg_out;

static GstFlowReturn on_jpeg(GstAppSink *sink, gpointer data)
{
    jpeg_out *o = data;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_EOS;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    /* At most 4 frames a second, whatever the timestamps say: the service
     * drops a client whose socket does not take a frame at once. */
    gint64 now = g_get_monotonic_time();
    if (now - o->last_us < 240000) {
        gst_sample_unref(sample);
        return GST_FLOW_OK;
    }
    o->last_us = now;
    if (buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        o->fn(o->ctx, map.data, map.size);
        gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

/* The end when the picture goes elsewhere: videorate (at most 4 frames a
 * second), jpegenc, an appsink calling fn. */
static GstElement *jpeg_sink(void (*fn)(void *, const uint8_t *, size_t), void *ctx, tlo_error *err)
{
    GstElement *bin = gst_bin_new("tlo-preview");
    GstElement *rate = make("videorate", err), *jpeg = rate ? make("jpegenc", err) : NULL;
    GstElement *sink = jpeg ? make("appsink", err) : NULL;
    if (!sink) {
        if (rate)
            gst_object_unref(gst_object_ref_sink(rate));
        if (jpeg)
            gst_object_unref(gst_object_ref_sink(jpeg));
        gst_object_unref(gst_object_ref_sink(bin));
        return NULL;
    }
    g_object_set(rate, "max-rate", 4, "drop-only", TRUE, NULL);
    g_object_set(jpeg, "quality", 70, NULL);
    g_object_set(sink, "sync", FALSE, "drop", TRUE, "max-buffers", 2u, NULL);
    gst_bin_add_many(GST_BIN(bin), rate, jpeg, sink, NULL);
    if (!gst_element_link_many(rate, jpeg, sink, NULL)) {
        gst_object_unref(gst_object_ref_sink(bin));
        tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor's preview");
        return NULL;
    }
    GstPad *pad = gst_element_get_static_pad(rate, "sink");
    gst_element_add_pad(bin, gst_ghost_pad_new("sink", pad));
    gst_object_unref(pad);
    jpeg_out *o = g_new0(jpeg_out, 1);
    o->fn = fn;
    o->ctx = ctx;
    GstAppSinkCallbacks cb = {0};
    cb.new_sample = on_jpeg;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, o, on_jpeg_free);
    return bin;
}

/* Camera i: appsrc, decoder, scaled to its tile, its name, into comp. */
static bool add_camera(tlo_monitor *m, GstElement *comp, unsigned i, unsigned x, unsigned w,
                       unsigned h, tlo_error *err)
{
    char caps[96], name[32];
    snprintf(caps, sizeof caps, "video/x-raw,width=%u,height=%u", w, h);
    /* TRANSLATORS: a camera's name in the monitor window */
    snprintf(name, sizeof name, _("camera %u"), i + 1);
    GstElement *el[6] = {make("appsrc", err),       make("avdec_h264", err),
                         make("videoconvert", err), make("videoscale", err),
                         capsfilter(caps, err),     overlay(name, "Sans Bold 12", 0xffffffff, err)};
    if (!chain(m, el, 6, err))
        return false;
    m->src[i] = el[0];
    m->label[i] = el[5];
    g_object_set(el[0], "is-live", TRUE, "format", GST_FORMAT_TIME, "do-timestamp", TRUE,
                 "max-buffers", (guint64)25, "leaky-type", 2 /* downstream: drop the oldest */,
                 NULL);
    gst_util_set_object_arg(G_OBJECT(el[5]), "halignment", "right");
    gst_util_set_object_arg(G_OBJECT(el[5]), "valignment", "bottom");
    GstPad *pad = gst_element_request_pad_simple(comp, "sink_%u");
    GstPad *src = gst_element_get_static_pad(el[5], "src");
    g_object_set(pad, "xpos", (gint)x, "ypos", 0, NULL);
    bool ok = gst_pad_link(src, pad) == GST_PAD_LINK_OK;
    gst_object_unref(src);
    gst_object_unref(pad);
    if (!ok)
        tlo_fail(err, TLO_EUNSUPPORTED, "cannot link camera %u to the monitor", i + 1);
    return ok;
}

/* Microphone j's meter: a green bar whose width follows its level. */
static bool add_meter(tlo_monitor *m, GstElement *comp, unsigned j, unsigned y, tlo_error *err)
{
    GstElement *el[2] = {make("videotestsrc", err),
                         capsfilter("video/x-raw,width=16,height=14,framerate=10/1", err)};
    if (!chain(m, el, 2, err))
        return false;
    gst_util_set_object_arg(G_OBJECT(el[0]), "pattern", "solid-color");
    g_object_set(el[0], "is-live", TRUE, "foreground-color", 0xff20d020u, NULL);
    GstPad *pad = gst_element_request_pad_simple(comp, "sink_%u");
    GstPad *src = gst_element_get_static_pad(el[1], "src");
    g_object_set(pad, "xpos", METER_X, "ypos", (gint)y, "width", 1, "height", 14, "alpha", 0.0,
                 NULL);
    bool ok = gst_pad_link(src, pad) == GST_PAD_LINK_OK;
    gst_object_unref(src);
    m->meter[j] = pad; /* the reference is kept for the level */
    if (!ok)
        tlo_fail(err, TLO_EUNSUPPORTED, "cannot link microphone %u's meter", j + 1);
    return ok;
}

static bool build(tlo_monitor *m, const tlo_hw_room *room,
                  void (*preview)(void *, const uint8_t *, size_t), void *preview_ctx,
                  tlo_error *err)
{
    unsigned tile_w[TLO_HW_MAX_CAMERAS], tile_h[TLO_HW_MAX_CAMERAS], total_w = 0, max_h = 0;
    for (unsigned i = 0; i < room->n_cameras; i++) {
        const tlo_hw_camera *cam = &room->cameras[i];
        tile_w[i] = MIN(cam->width, 640u);
        tile_h[i] = MAX(2u, (unsigned)((uint64_t)cam->height * tile_w[i] / cam->width) & ~1u);
        total_w += tile_w[i];
        max_h = MAX(max_h, tile_h[i]);
    }
    total_w = MAX(total_w, 320u);
    unsigned total_h = (max_h + 12 + room->n_microphones * METER_ROW) & ~1u;
    m->meter_w = total_w - METER_X - 20;
    char caps[96];
    snprintf(caps, sizeof caps, "video/x-raw,width=%u,height=%u", total_w, total_h);
    GstElement *comp = make("compositor", err);
    GstElement *el[4] = {
        comp, capsfilter(caps, err), make("videoconvert", err),
        overlay(m->recording ? _("REC") : _("NOT RECORDING"), "Sans Bold 16", 0xffff2020u, err)};
    if (!chain(m, el, 4, err))
        return false;
    /* Decoding takes time: frames stamped when they arrive would all be
     * late for a compositor that waits for no one, and dropped. */
    g_object_set(comp, "background", 1 /* black */, "latency", (guint64)(400 * GST_MSECOND), NULL);
    m->sign = el[3];
    gst_util_set_object_arg(G_OBJECT(m->sign), "halignment", "right");
    gst_util_set_object_arg(G_OBJECT(m->sign), "valignment", "top");
    GstElement *last = m->sign;
    for (unsigned j = 0; j < room->n_microphones; j++) {
        char text[32];
        /* TRANSLATORS: a microphone's meter in the monitor window */
        snprintf(text, sizeof text, _("mic %u"), j + 1);
        GstElement *o = overlay(text, "Sans 9", 0xffffffffu, err);
        if (!o)
            return false;
        gst_bin_add(GST_BIN(m->pipeline), o);
        gst_util_set_object_arg(G_OBJECT(o), "halignment", "left");
        gst_util_set_object_arg(G_OBJECT(o), "valignment", "top");
        g_object_set(o, "shaded-background", FALSE, "xpad", 6, "ypad", 0, "deltay",
                     (gint)(max_h + 2 + j * METER_ROW), NULL);
        if (!gst_element_link(last, o))
            return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor's meters"), false;
        last = o;
    }
    if (!(m->conv_out = make("videoconvert", err)))
        return false;
    gst_bin_add(GST_BIN(m->pipeline), m->conv_out);
    if (!gst_element_link(last, m->conv_out))
        return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor"), false;
    if (preview) {
        if (!(m->out = jpeg_sink(preview, preview_ctx, err)))
            return false;
        gst_bin_add(GST_BIN(m->pipeline), m->out);
        if (!gst_element_link(m->conv_out, m->out))
            return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor's preview"), false;
    }
    unsigned x = 0;
    for (unsigned i = 0; i < room->n_cameras; i++) {
        if (!add_camera(m, comp, i, x, tile_w[i], tile_h[i], err))
            return false;
        x += tile_w[i];
    }
    for (unsigned j = 0; j < room->n_microphones; j++)
        if (!add_meter(m, comp, j, max_h + 6 + j * METER_ROW, err))
            return false;
    return true;
}

tlo_monitor *tlo_monitor_new(const tlo_hw_room *room, bool recording,
                             void (*preview)(void *ctx, const uint8_t *jpeg, size_t len),
                             void *preview_ctx, tlo_error *err)
{
    tlo_monitor *m = g_new0(tlo_monitor, 1);
    m->n_cameras = room->n_cameras;
    m->n_microphones = room->n_microphones;
    m->recording = recording;
    m->window = preview == NULL;
    m->shown_s = UINT64_MAX;
    m->pipeline = gst_pipeline_new("monitor");
    if (!build(m, room, preview, preview_ctx, err)) {
        tlo_monitor_free(m);
        return NULL;
    }
    return m;
}

/* The window's sink, opened (READY): ximagesink on X11, autovideosink
 * elsewhere (Wayland). Not xvimagesink first: on a display without XVideo
 * (Xvfb) its failed open made the ximagesink opened right after it fail to
 * open the display now and then (measured: 3 of 4 previews on Xvfb; none in
 * 3 with ximagesink alone), and the monitor's picture is composed at its
 * size anyway. */
static GstElement *window_sink(tlo_error *err)
{
    const char *display = getenv("DISPLAY");
    const char *x11[] = {"ximagesink", NULL}, *other[] = {"autovideosink", NULL};
    if (display && *display)
        XSetIOErrorHandler(on_xio_error);
    for (const char **f = display && *display ? x11 : other; *f; f++) {
        GstElement *e = gst_element_factory_make(*f, NULL);
        if (!e)
            continue;
        if (gst_element_set_state(e, GST_STATE_READY) != GST_STATE_CHANGE_FAILURE) {
            g_object_set(e, "sync", FALSE, NULL);
            return e;
        }
        gst_element_set_state(e, GST_STATE_NULL);
        gst_object_unref(gst_object_ref_sink(e));
    }
    tlo_fail(err, TLO_EIO,
             "the monitor window cannot open on the display \"%s\": check DISPLAY (it must name "
             "the desktop of the observation room)",
             display ? display : "");
    return NULL;
}

int tlo_monitor_start(tlo_monitor *m, tlo_error *err)
{
    m->started = true;
    if (m->window) {
        if (!(m->out = window_sink(err))) {
            m->stopped = true;
            return err->code;
        }
        gst_bin_add(GST_BIN(m->pipeline), m->out);
        if (!gst_element_link(m->conv_out, m->out)) {
            m->stopped = true;
            return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the monitor window");
        }
    }
    if (gst_element_set_state(m->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        m->stopped = true;
        gst_element_set_state(m->pipeline, GST_STATE_NULL);
        return tlo_fail(err, TLO_EIO,
                        "the monitor window did not start (is the display there?); the "
                        "recording goes on without it");
    }
    g_atomic_int_set(&m->on, 1);
    return 0;
}

void tlo_monitor_push(tlo_monitor *m, unsigned i, GstSample *sample)
{
    if (!m || i >= m->n_cameras || !g_atomic_int_get(&m->on))
        return;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    if (!buf)
        return;
    if (!g_atomic_int_get(&m->caps_set[i])) {
        GstCaps *caps = gst_sample_get_caps(sample);
        if (!caps)
            return;
        gst_app_src_set_caps(GST_APP_SRC(m->src[i]), caps);
        g_atomic_int_set(&m->caps_set[i], 1);
    }
    /* The monitor's own clock stamps it (its pipeline started later). */
    GstBuffer *copy = gst_buffer_copy(buf);
    GST_BUFFER_PTS(copy) = GST_BUFFER_DTS(copy) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION(copy) = GST_CLOCK_TIME_NONE;
    gst_app_src_push_buffer(GST_APP_SRC(m->src[i]), copy);
}

static bool stop(tlo_monitor *m, char *why, size_t cap, const char *text)
{
    snprintf(why, cap, "%s", text);
    m->stopped = true;
    g_atomic_int_set(&m->on, 0);
    if (!g_atomic_int_get(&xio_lost))
        gst_element_set_state(m->pipeline, GST_STATE_NULL);
    return true;
}

bool tlo_monitor_poll(tlo_monitor *m, const tlo_capture_stats *st, char *why, size_t cap)
{
    if (!m || !m->started || m->stopped)
        return false;
    if (g_atomic_int_get(&xio_lost))
        return stop(m, why, cap, "the display of the monitor window went away");
    GstBus *bus = gst_element_get_bus(m->pipeline);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (msg) {
        GError *ge = NULL;
        gst_message_parse_error(msg, &ge, NULL);
        char text[300];
        snprintf(text, sizeof text, "%s", ge ? ge->message : "the monitor failed");
        g_clear_error(&ge);
        gst_message_unref(msg);
        return stop(m, why, cap, text);
    }
    uint64_t s = st->session_ns / 1000000000u;
    if (m->recording && s != m->shown_s) {
        char text[64];
        /* TRANSLATORS: the monitor's sign while recording, with the session time */
        snprintf(text, sizeof text, _("\u25cf REC %02llu:%02llu:%02llu"),
                 (unsigned long long)(s / 3600), (unsigned long long)(s / 60 % 60),
                 (unsigned long long)(s % 60));
        g_object_set(m->sign, "text", text, NULL);
        m->shown_s = s;
    }
    for (unsigned j = 0; j < m->n_microphones && j < st->n_microphones; j++) {
        double db = st->microphone_lost[j] ? -100 : st->peak_db[j];
        int w = db <= -60 ? 0 : db >= 0 ? (int)m->meter_w : (int)((db + 60) / 60 * m->meter_w);
        g_object_set(m->meter[j], "width", MAX(w, 1), "alpha", w > 1 ? 1.0 : 0.0, NULL);
    }
    for (unsigned i = 0; i < m->n_cameras && i < st->n_cameras; i++)
        if (st->camera_lost[i] && !m->lost[i]) {
            char text[64];
            snprintf(text, sizeof text, _("camera %u: SIGNAL LOST"), i + 1);
            g_object_set(m->label[i], "text", text, "color", 0xffffd000u, NULL);
            m->lost[i] = true;
        }
    return false;
}

void tlo_monitor_free(tlo_monitor *m)
{
    if (!m)
        return;
    g_atomic_int_set(&m->on, 0);
    for (unsigned j = 0; j < TLO_HW_MAX_MICROPHONES; j++)
        if (m->meter[j])
            gst_object_unref(m->meter[j]);
    if (m->pipeline && !g_atomic_int_get(&xio_lost)) {
        gst_element_set_state(m->pipeline, GST_STATE_NULL);
        gst_object_unref(m->pipeline);
    }
    g_free(m);
}
