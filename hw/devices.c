/* The machine side of hw/: device discovery, the encoder choice, and the
 * source bins of a room's cameras and microphones.
 *
 * Everything here needs gst_init. Bins are built element by element (not
 * from a launch string) so that no value of a profile, such as a device or
 * room name, is ever parsed as pipeline syntax. */
#include "hw.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- devices ---- */

static int not_initialized(tlo_error *err)
{
    return tlo_fail(err, TLO_ESTATE, "GStreamer is not initialized (call gst_init first)");
}

/* The device node or API path GStreamer's providers report, if any. */
static char *device_path(GstDevice *dev)
{
    static const char *const keys[] = {"device.path", "api.v4l2.path", "api.alsa.path",
                                       "device.string"};
    GstStructure *props = gst_device_get_properties(dev);
    char *path = NULL;
    for (size_t i = 0; props && !path && i < sizeof keys / sizeof keys[0]; i++) {
        const char *v = gst_structure_get_string(props, keys[i]);
        if (v && *v)
            path = g_strdup(v);
    }
    if (props)
        gst_structure_free(props);
    return path;
}

static GList *monitor_devices(bool cameras, bool microphones)
{
    GstDeviceMonitor *mon = gst_device_monitor_new();
    if (cameras)
        gst_device_monitor_add_filter(mon, "Video/Source", NULL);
    if (microphones)
        gst_device_monitor_add_filter(mon, "Audio/Source", NULL);
    /* Not started: this probes the providers once, which is all we need. */
    GList *list = gst_device_monitor_get_devices(mon);
    gst_object_unref(mon);
    return list;
}

static int by_kind_then_name(const void *a, const void *b)
{
    const tlo_hw_device *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind == TLO_HW_CAMERA ? -1 : 1;
    return strcmp(x->name, y->name);
}

int tlo_hw_devices_list(tlo_hw_device **out, size_t *n, tlo_error *err)
{
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    if (!out || !n)
        return tlo_fail(err, TLO_EARG, "tlo_hw_devices_list: no output");
    if (!gst_is_initialized())
        return not_initialized(err);
    GList *list = monitor_devices(true, true);
    size_t count = g_list_length(list), k = 0;
    tlo_hw_device *devs = count ? g_new0(tlo_hw_device, count) : NULL;
    for (GList *l = list; l; l = l->next) {
        GstDevice *dev = l->data;
        tlo_hw_device *d = &devs[k++];
        d->kind = gst_device_has_classes(dev, "Video/Source") ? TLO_HW_CAMERA : TLO_HW_MICROPHONE;
        d->name = gst_device_get_display_name(dev);
        if (!d->name)
            d->name = g_strdup("(unnamed)");
        d->klass = gst_device_get_device_class(dev);
        if (!d->klass)
            d->klass = g_strdup("");
        GstCaps *caps = gst_device_get_caps(dev);
        d->caps = caps ? gst_caps_to_string(caps) : g_strdup("");
        if (caps)
            gst_caps_unref(caps);
        d->path = device_path(dev);
    }
    g_list_free_full(list, gst_object_unref);
    if (count)
        qsort(devs, count, sizeof *devs, by_kind_then_name);
    *out = devs;
    *n = count;
    return 0;
}

void tlo_hw_devices_free(tlo_hw_device *devs, size_t n)
{
    if (!devs)
        return;
    for (size_t i = 0; i < n; i++) {
        g_free(devs[i].name);
        g_free(devs[i].klass);
        g_free(devs[i].path);
        g_free(devs[i].caps);
    }
    g_free(devs);
}

/* The Debian package that holds a GStreamer element we use, for messages. */
static const char *package_of(const char *factory)
{
    static const struct {
        const char *factory, *package;
    } known[] = {
        {"x264enc", "gstreamer1.0-plugins-ugly"},      {"h264parse", "gstreamer1.0-plugins-bad"},
        {"vah264enc", "gstreamer1.0-plugins-bad"},     {"nvh264enc", "gstreamer1.0-plugins-bad"},
        {"vaapih264enc", "gstreamer1.0-vaapi"},        {"v4l2src", "gstreamer1.0-plugins-good"},
        {"pulsesrc", "gstreamer1.0-pulseaudio"},       {"timeoverlay", "gstreamer1.0-plugins-base"},
        {"clockoverlay", "gstreamer1.0-plugins-base"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(factory, known[i].factory))
            return known[i].package;
    return "the GStreamer packages of scripts/deps";
}

static GstElement *make(const char *factory, const char *name, tlo_error *err)
{
    GstElement *e = gst_element_factory_make(factory, name);
    if (!e)
        tlo_fail(err, TLO_EUNSUPPORTED,
                 "the GStreamer element %s is missing; install %s (scripts/install-deps does)",
                 factory, package_of(factory));
    return e;
}

int tlo_hw_device_element(const tlo_hw_source *src, tlo_hw_device_kind kind, GstElement **out,
                          tlo_error *err)
{
    if (out)
        *out = NULL;
    if (!src || !out || src->kind != TLO_HW_SOURCE_DEVICE)
        return tlo_fail(err, TLO_EARG, "tlo_hw_device_element: not a device source");
    if (!gst_is_initialized())
        return not_initialized(err);
    const char *what = kind == TLO_HW_CAMERA ? "camera" : "microphone";
    const char *name = src->value;
    if (kind == TLO_HW_CAMERA && !strncmp(name, "/dev/", 5)) {
        if (access(name, F_OK) != 0)
            /* the C library's words untranslated: this text can become a
             * session-end's reason, and the ledger is English */
            return tlo_fail(err, TLO_EIO, "the camera %s is not connected (%s)", name,
                            strerrordesc_np(errno) ? strerrordesc_np(errno) : "unknown error");
        GstElement *e = make("v4l2src", NULL, err);
        if (!e)
            return err ? err->code : TLO_EUNSUPPORTED;
        g_object_set(e, "device", name, NULL);
        *out = e;
        return 0;
    }
    GList *list = monitor_devices(kind == TLO_HW_CAMERA, kind == TLO_HW_MICROPHONE);
    GstDevice *found = NULL;
    unsigned matches = 0;
    for (GList *l = list; l; l = l->next) {
        char *dn = gst_device_get_display_name(l->data);
        char *path = device_path(l->data);
        if ((dn && !strcmp(dn, name)) || (path && !strcmp(path, name))) {
            matches++;
            found = l->data;
        }
        g_free(dn);
        g_free(path);
    }
    int rc = 0;
    if (matches == 0)
        rc = tlo_fail(err, TLO_EIO,
                      "no %s \"%s\" is connected; 'tellonce devices' lists the cameras and "
                      "microphones found",
                      what, name);
    else if (matches > 1)
        rc = tlo_fail(err, TLO_EARG,
                      "%u %ss are called \"%s\"; name one by its path ('tellonce devices' "
                      "shows them)",
                      matches, what, name);
    else if (!(*out = gst_device_create_element(found, NULL)))
        rc = tlo_fail(err, TLO_EIO, "the %s \"%s\" was found but GStreamer cannot open it", what,
                      name);
    g_list_free_full(list, gst_object_unref);
    return rc;
}

/* ---- encoders ---- */

/* Each H.264 encoder we drive, in the order auto tries them, with the names
 * of its bitrate (kbit/s) and keyframe-interval properties and what else
 * makes it a constant-bitrate, low-latency encoder. */
typedef struct encoder_info {
    const char *element;
    tlo_hw_encoder family;
    const char *bitrate, *keyint;
    const char *extra[5]; /* property, value, ..., NULL */
} encoder_info;

static const encoder_info encoders[] = {
    {"vaapih264enc", TLO_HW_ENCODER_VAAPI, "bitrate", "keyframe-period", {"rate-control", "cbr"}},
    {"vah264enc", TLO_HW_ENCODER_VAAPI, "bitrate", "key-int-max", {"rate-control", "cbr"}},
    {"nvh264enc", TLO_HW_ENCODER_NVENC, "bitrate", "gop-size", {"rc-mode", "cbr"}},
    {"x264enc",
     TLO_HW_ENCODER_X264,
     "bitrate",
     "key-int-max",
     {"speed-preset", "veryfast", "tune", "zerolatency"}},
};
#define N_ENCODERS (sizeof encoders / sizeof encoders[0])

static bool factory_exists(const char *name)
{
    GstElementFactory *f = gst_element_factory_find(name);
    if (!f)
        return false;
    gst_object_unref(f);
    return true;
}

/* Whether element encodes two small frames here. A hardware encoder's
 * plugin can be installed (and even register) on a machine whose GPU or
 * driver cannot run it; auto must not pick it there. */
static bool encodes_here(const char *element)
{
    char *desc = g_strdup_printf("videotestsrc num-buffers=2 ! "
                                 "video/x-raw,width=320,height=240,framerate=25/1 ! "
                                 "videoconvert ! %s ! fakesink",
                                 element);
    GError *ge = NULL;
    GstElement *p = gst_parse_launch(desc, &ge);
    g_free(desc);
    bool ok = false;
    if (p && !ge && gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE) {
        GstBus *bus = gst_element_get_bus(p);
        GstMessage *m =
            gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
        ok = m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS;
        if (m)
            gst_message_unref(m);
        gst_object_unref(bus);
    }
    if (p) {
        gst_element_set_state(p, GST_STATE_NULL);
        gst_object_unref(p);
    }
    g_clear_error(&ge);
    return ok;
}

/* Probed once per process: 0 not yet, 1 usable, -1 not. */
static int usable[N_ENCODERS];
static GMutex usable_lock;

static bool usable_here(size_t i)
{
    /* Only the probe is remembered: a plugin registered later still counts. */
    if (!factory_exists(encoders[i].element))
        return false;
    g_mutex_lock(&usable_lock);
    if (usable[i] == 0)
        usable[i] = encodes_here(encoders[i].element) ? 1 : -1;
    bool ok = usable[i] > 0;
    g_mutex_unlock(&usable_lock);
    return ok;
}

const char *tlo_hw_encoder_element(tlo_hw_encoder enc)
{
    if (!gst_is_initialized())
        return NULL;
    for (size_t i = 0; i < N_ENCODERS; i++) {
        const encoder_info *e = &encoders[i];
        if (enc == TLO_HW_ENCODER_AUTO) {
            /* Hardware only if it really works; x264 (software) if it exists. */
            if (e->family == TLO_HW_ENCODER_X264 ? factory_exists(e->element) : usable_here(i))
                return e->element;
        } else if (e->family == enc && factory_exists(e->element)) {
            return e->element;
        }
    }
    return NULL;
}

int tlo_hw_encoder_resolve(tlo_hw_encoder enc, const char **element, tlo_error *err)
{
    if (element)
        *element = NULL;
    if (!element || (unsigned)enc > TLO_HW_ENCODER_NVENC)
        return tlo_fail(err, TLO_EARG, "tlo_hw_encoder_resolve: invalid arguments");
    if (!gst_is_initialized())
        return not_initialized(err);
    const char *e = tlo_hw_encoder_element(enc);
    if (e) {
        *element = e;
        return 0;
    }
    switch (enc) {
    case TLO_HW_ENCODER_VAAPI:
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the room asks for the VA-API encoder, but neither vaapih264enc nor "
                        "vah264enc is installed (gstreamer1.0-vaapi, gstreamer1.0-plugins-bad); "
                        "or set encoder=auto");
    case TLO_HW_ENCODER_NVENC:
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the room asks for the NVENC encoder, but nvh264enc is not available "
                        "(gstreamer1.0-plugins-bad and the NVIDIA driver); or set encoder=auto");
    default:
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "no H.264 encoder is available: x264enc is missing; install "
                        "gstreamer1.0-plugins-ugly (scripts/install-deps)");
    }
}

/* Sets a whole-number property, clamped to what the element accepts (a
 * keyframe interval of 7200 frames is beyond some hardware encoders). */
static void set_number(GstElement *e, const char *prop, unsigned v)
{
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), prop);
    if (!ps)
        return;
    if (G_IS_PARAM_SPEC_UINT(ps)) {
        GParamSpecUInt *u = G_PARAM_SPEC_UINT(ps);
        g_object_set(e, prop, CLAMP(v, u->minimum, u->maximum), NULL);
    } else if (G_IS_PARAM_SPEC_INT(ps)) {
        GParamSpecInt *s = G_PARAM_SPEC_INT(ps);
        gint x = v > (unsigned)G_MAXINT ? G_MAXINT : (gint)v;
        g_object_set(e, prop, CLAMP(x, s->minimum, s->maximum), NULL);
    }
}

static GstElement *make_encoder(const char *element, const tlo_hw_camera *cam,
                                unsigned keyint_frames, tlo_error *err)
{
    GstElement *e = make(element, NULL, err);
    if (!e)
        return NULL;
    for (size_t i = 0; i < N_ENCODERS; i++) {
        const encoder_info *info = &encoders[i];
        if (strcmp(info->element, element))
            continue;
        set_number(e, info->bitrate, cam->bitrate_kbps);
        /* A keyframe at least once a segment, so every segment is cut on time. */
        set_number(e, info->keyint, keyint_frames);
        for (size_t k = 0; info->extra[k]; k += 2)
            if (g_object_class_find_property(G_OBJECT_GET_CLASS(e), info->extra[k]))
                gst_util_set_object_arg(G_OBJECT(e), info->extra[k], info->extra[k + 1]);
    }
    return e;
}

/* ---- source bins ---- */

/* Adds elements[0..n) to bin, links them in order and ghosts the last one's
 * src pad as "src". Consumes the elements (they belong to the bin). */
static int finish_bin(GstElement *bin, GstElement **el, size_t n, tlo_error *err)
{
    for (size_t i = 0; i < n; i++)
        gst_bin_add(GST_BIN(bin), el[i]);
    for (size_t i = 0; i + 1 < n; i++)
        if (!gst_element_link(el[i], el[i + 1]))
            return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link %s to %s in %s",
                            GST_ELEMENT_NAME(el[i]), GST_ELEMENT_NAME(el[i + 1]),
                            GST_ELEMENT_NAME(bin));
    GstPad *pad = gst_element_get_static_pad(el[n - 1], "src");
    GstPad *ghost = gst_ghost_pad_new("src", pad);
    gst_object_unref(pad);
    gst_pad_set_active(ghost, TRUE);
    gst_element_add_pad(bin, ghost);
    return 0;
}

static void drop(GstElement **el, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (el[i])
            gst_object_unref(gst_object_ref_sink(el[i]));
}

/* The checks every bin starts with: a valid room, an existing source i. */
static bool bin_args_ok(const tlo_hw_room *room, unsigned i, unsigned count, const char *what,
                        const tlo_hw_stream_opts *opts, tlo_error *err)
{
    if (!room || !opts) {
        tlo_fail(err, TLO_EARG, "tlo_hw_%s_bin: no room or no options", what);
        return false;
    }
    if (tlo_hw_room_check(room, err) != 0)
        return false;
    if (i >= count) {
        tlo_fail(err, TLO_EARG, "the room \"%s\" has no %s %u", room->name, what, i + 1);
        return false;
    }
    if (!gst_is_initialized()) {
        not_initialized(err);
        return false;
    }
    return true;
}

static GstElement *capsfilter(const char *caps_text, tlo_error *err)
{
    GstElement *f = make("capsfilter", NULL, err);
    if (f) {
        GstCaps *caps = gst_caps_from_string(caps_text);
        g_object_set(f, "caps", caps, NULL);
        gst_caps_unref(caps);
    }
    return f;
}

static void camera_caps(const tlo_hw_camera *cam, char *out, size_t cap)
{
    snprintf(out, cap,
             "video/x-raw,format=I420,width=%u,height=%u,framerate=%u/1,pixel-aspect-ratio=1/1",
             cam->width, cam->height, cam->fps);
}

/* What a bin knows about its source, for failover: set on the bin. */
typedef struct source_state {
    gint failed;           /* atomic: the source failed, its end-of-stream is dropped */
    GMutex lock;           /* guards last_end */
    GstClockTime last_end; /* where the source's last buffer ended (stream time) */
} source_state;

static void source_state_free(gpointer data)
{
    source_state *st = data;
    g_mutex_clear(&st->lock);
    g_free(st);
}

static GstPadProbeReturn on_source_data(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    source_state *st = data;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
        if (GST_BUFFER_PTS_IS_VALID(b)) {
            GstClockTime end =
                GST_BUFFER_PTS(b) + (GST_BUFFER_DURATION_IS_VALID(b) ? GST_BUFFER_DURATION(b) : 0);
            g_mutex_lock(&st->lock);
            if (end > st->last_end || st->last_end == GST_CLOCK_TIME_NONE)
                st->last_end = end;
            g_mutex_unlock(&st->lock);
        }
        return GST_PAD_PROBE_OK;
    }
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (ev && GST_EVENT_TYPE(ev) == GST_EVENT_EOS && g_atomic_int_get(&st->failed))
        return GST_PAD_PROBE_DROP; /* the track goes on: the slate takes over */
    return GST_PAD_PROBE_OK;
}

/* Watches what leaves the source part of bin: on the selector's first input
 * for a camera, on the source element's pad for a microphone. */
static void watch_source(GstElement *bin)
{
    source_state *st = g_new0(source_state, 1);
    g_mutex_init(&st->lock);
    st->last_end = GST_CLOCK_TIME_NONE;
    g_object_set_data_full(G_OBJECT(bin), "tlo-source", st, source_state_free);
    GstElement *sel = gst_bin_get_by_name(GST_BIN(bin), "select");
    GstElement *src = sel ? NULL : gst_bin_get_by_name(GST_BIN(bin), "source");
    /* finish_bin linked the selector's first request pad, sink_0. */
    GstPad *pad = sel   ? gst_element_get_static_pad(sel, "sink_0")
                  : src ? gst_element_get_static_pad(src, "src")
                        : NULL;
    if (pad) {
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                          on_source_data, st, NULL);
        gst_object_unref(pad);
    }
    if (sel)
        gst_object_unref(sel);
    if (src)
        gst_object_unref(src);
}

bool tlo_hw_is_source_of(GstObject *obj, GstElement **bin)
{
    for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o)) {
        GstObject *parent = GST_OBJECT_PARENT(o);
        if (parent && GST_IS_BIN(parent) && g_object_get_data(G_OBJECT(parent), "tlo-source") &&
            !g_strcmp0(GST_OBJECT_NAME(o), "source")) {
            if (bin)
                *bin = GST_ELEMENT(parent);
            return true;
        }
    }
    return false;
}

void tlo_hw_source_failed(GstElement *bin)
{
    source_state *st = bin ? g_object_get_data(G_OBJECT(bin), "tlo-source") : NULL;
    if (st)
        g_atomic_int_set(&st->failed, 1);
}

int tlo_hw_camera_failover(GstElement *bin, const tlo_hw_room *room, unsigned i,
                           const tlo_hw_stream_opts *opts, tlo_error *err)
{
    if (!bin_args_ok(room, i, room ? room->n_cameras : 0, "camera", opts, err))
        return err ? err->code : TLO_EARG;
    source_state *st = g_object_get_data(G_OBJECT(bin), "tlo-source");
    GstElement *sel = gst_bin_get_by_name(GST_BIN(bin), "select");
    if (!st || !sel) {
        if (sel)
            gst_object_unref(sel);
        return tlo_fail(err, TLO_EARG, "tlo_hw_camera_failover: not a camera bin");
    }
    const tlo_hw_camera *cam = &room->cameras[i];
    g_mutex_lock(&st->lock);
    GstClockTime from = st->last_end == GST_CLOCK_TIME_NONE ? 0 : st->last_end;
    g_mutex_unlock(&st->lock);

    GstElement *el[3] = {NULL};
    char caps[160], text[128], when[32];
    camera_caps(cam, caps, sizeof caps);
    bool ok = (el[0] = make("videotestsrc", NULL, err)) != NULL;
    ok = ok && (el[1] = capsfilter(caps, err)) != NULL;
    ok = ok && (el[2] = make("textoverlay", NULL, err)) != NULL;
    if (!ok) {
        drop(el, 3);
        gst_object_unref(sel);
        return err ? err->code : TLO_EUNSUPPORTED;
    }
    /* Black from where the camera's last frame ended, for as long as the
     * recording would have had the camera. */
    gst_util_set_object_arg(G_OBJECT(el[0]), "pattern", "black");
    g_object_set(el[0], "is-live", (gboolean)opts->live, "timestamp-offset", (gint64)from, NULL);
    if (opts->duration_seconds) {
        guint64 total = (guint64)opts->duration_seconds * GST_SECOND;
        guint64 left = total > from ? total - from : 0;
        g_object_set(el[0], "num-buffers", (gint)(left * cam->fps / GST_SECOND), NULL);
    }
    GDateTime *now = g_date_time_new_now_local();
    char *w = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_date_time_unref(now);
    snprintf(when, sizeof when, "%s", w ? w : "?");
    g_free(w);
    snprintf(text, sizeof text, "CAMERA %u: NO SIGNAL since %s", i + 1, when);
    g_object_set(el[2], "text", text, "shaded-background", TRUE, NULL);
    gst_util_set_object_arg(G_OBJECT(el[2]), "valignment", "center");
    gst_util_set_object_arg(G_OBJECT(el[2]), "halignment", "center");

    for (size_t k = 0; k < 3; k++)
        gst_bin_add(GST_BIN(bin), el[k]);
    GstPad *sink = gst_element_request_pad_simple(sel, "sink_%u");
    GstPad *out = gst_element_get_static_pad(el[2], "src");
    int rc = 0;
    if (!gst_element_link_many(el[0], el[1], el[2], NULL) || !sink ||
        gst_pad_link(out, sink) != GST_PAD_LINK_OK)
        rc = tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the no-signal slate of camera %u", i + 1);
    if (rc == 0) {
        g_object_set(sel, "active-pad", sink, NULL);
        for (size_t k = 3; k-- > 0;)
            if (!gst_element_sync_state_with_parent(el[k]))
                rc =
                    tlo_fail(err, TLO_EIO, "the no-signal slate of camera %u did not start", i + 1);
    }
    if (out)
        gst_object_unref(out);
    if (sink)
        gst_object_unref(sink);
    gst_object_unref(sel);
    return rc;
}

typedef struct injected {
    guint64 at;
    gint fired;
} injected;

static GstPadProbeReturn on_inject(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    injected *inj = data;
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!b || !GST_BUFFER_PTS_IS_VALID(b) || GST_BUFFER_PTS(b) < inj->at)
        return GST_PAD_PROBE_OK;
    /* As a camera that is pulled out: the push fails, for good. */
    g_atomic_int_set(&inj->fired, 1);
    gst_buffer_unref(b);
    GST_PAD_PROBE_INFO_DATA(info) = NULL;
    GST_PAD_PROBE_INFO_FLOW_RETURN(info) = GST_FLOW_ERROR;
    return GST_PAD_PROBE_HANDLED;
}

void tlo_hw_inject_failure(GstElement *bin, guint64 at_ns)
{
    GstElement *src = bin ? gst_bin_get_by_name(GST_BIN(bin), "source") : NULL;
    GstPad *pad = src ? gst_element_get_static_pad(src, "src") : NULL;
    if (pad) {
        injected *inj = g_new0(injected, 1);
        inj->at = at_ns;
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_inject, inj, g_free);
        gst_object_unref(pad);
    }
    if (src)
        gst_object_unref(src);
}

GstElement *tlo_hw_camera_bin(const tlo_hw_room *room, unsigned i, const tlo_hw_stream_opts *opts,
                              tlo_error *err)
{
    if (!bin_args_ok(room, i, room ? room->n_cameras : 0, "camera", opts, err))
        return NULL;
    const tlo_hw_camera *cam = &room->cameras[i];
    const char *encoder = opts->encoder;
    if (!encoder && tlo_hw_encoder_resolve(room->encoder, &encoder, err) != 0)
        return NULL;

    GstElement *el[10] = {NULL};
    size_t n = 0;
    bool ok = true;
    if (cam->source.kind == TLO_HW_SOURCE_TEST) {
        ok = (el[n++] = make("videotestsrc", "source", err)) != NULL;
        if (ok) {
            gst_util_set_object_arg(G_OBJECT(el[0]), "pattern", cam->source.value);
            g_object_set(el[0], "is-live", (gboolean)opts->live, NULL);
            if (opts->duration_seconds)
                g_object_set(el[0], "num-buffers", (gint)(opts->duration_seconds * cam->fps), NULL);
        }
    } else {
        ok = tlo_hw_device_element(&cam->source, TLO_HW_CAMERA, &el[n++], err) == 0;
        if (ok)
            gst_object_set_name(GST_OBJECT(el[0]), "source");
        /* A camera gives what it gives: convert, scale and pace it. */
        ok = ok && (el[n++] = make("videoconvert", NULL, err)) != NULL;
        ok = ok && (el[n++] = make("videoscale", NULL, err)) != NULL;
        ok = ok && (el[n++] = make("videorate", NULL, err)) != NULL;
    }
    if (ok) {
        char caps[160];
        camera_caps(cam, caps, sizeof caps);
        ok = (el[n++] = capsfilter(caps, err)) != NULL;
    }
    /* Where a no-signal slate takes over if the source fails. */
    ok = ok && (el[n++] = make("input-selector", "select", err)) != NULL;
    if (ok && cam->source.kind == TLO_HW_SOURCE_TEST) {
        /* The running clock of a simulated camera: its stream time. */
        ok = (el[n++] = make("timeoverlay", NULL, err)) != NULL;
        if (ok) {
            char text[32];
            snprintf(text, sizeof text, "camera %u", i + 1);
            g_object_set(el[n - 1], "text", text, NULL);
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "valignment", "top");
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "halignment", "left");
        }
        /* A test pattern is no interview: the recording itself says so. */
        ok = ok && (el[n++] = make("textoverlay", NULL, err)) != NULL;
        if (ok) {
            g_object_set(el[n - 1], "text", "SIMULATED", "font-desc", "Sans Bold 28", "color",
                         0xffffe000u, "shaded-background", TRUE, NULL);
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "valignment", "center");
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "halignment", "center");
        }
    }
    if (ok && room->caption) {
        /* Date, time and room burned into the picture; the name is set as a
         * property, never parsed. */
        ok = (el[n++] = make("clockoverlay", NULL, err)) != NULL;
        if (ok) {
            g_object_set(el[n - 1], "text", room->name, "time-format", "%Y-%m-%d %H:%M:%S %Z",
                         "shaded-background", TRUE, NULL);
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "valignment", "bottom");
            gst_util_set_object_arg(G_OBJECT(el[n - 1]), "halignment", "left");
        }
    }
    ok = ok && (el[n++] = make("videoconvert", NULL, err)) != NULL;
    /* At most keyframe_ms apart, and a divisor of the frames in a segment:
     * cameras that start together then have keyframes at every segment cut
     * (splitmuxsink cuts at camera 1's; the others follow by time). */
    unsigned seg_frames = cam->fps * room->segment_seconds, keyint = seg_frames;
    if (opts->keyframe_ms) {
        uint64_t most = (uint64_t)cam->fps * opts->keyframe_ms / 1000;
        for (keyint = (unsigned)MIN(most, (uint64_t)seg_frames); keyint > 1; keyint--)
            if (seg_frames % keyint == 0)
                break;
    }
    ok = ok && (el[n++] = make_encoder(encoder, cam, keyint ? keyint : 1, err)) != NULL;
    ok = ok && (el[n++] = make("h264parse", NULL, err)) != NULL;
    if (!ok) {
        drop(el, n);
        return NULL;
    }
    char name[32];
    snprintf(name, sizeof name, "camera-%u", i + 1);
    GstElement *bin = gst_bin_new(name);
    if (finish_bin(bin, el, n, err) != 0) {
        gst_object_unref(gst_object_ref_sink(bin));
        return NULL;
    }
    watch_source(bin);
    return bin;
}

/* Speech for an appsrc: the PCM looped with a second of silence between
 * repeats, timestamped from 0 (live: from the running time of its first
 * buffer), in 20 ms buffers; end of stream after
 * `limit` frames when it is not 0. Runs in the appsrc's streaming thread. */
typedef struct speech_feed {
    GBytes *pcm;
    size_t frame;          /* bytes per frame */
    guint64 speech_frames; /* frames of speech in pcm */
    guint64 cycle_frames;  /* speech + silence */
    unsigned rate;
    guint64 pushed, limit;
    bool live, started;
    GstClockTime start; /* running time of the first sample (live) */
} speech_feed;

static void speech_feed_free(gpointer data)
{
    speech_feed *f = data;
    g_bytes_unref(f->pcm);
    g_free(f);
}

static void on_need_data(GstElement *src, guint length, gpointer data)
{
    (void)length;
    speech_feed *f = data;
    if (!f->started) {
        /* Live, the first sample plays now: a source that starts late (the
         * resampler is slow to set up) must not have all its buffers late
         * and dropped by the mixer. */
        f->started = true;
        GstClock *clock = f->live ? gst_element_get_clock(src) : NULL;
        if (clock) {
            GstClockTime now = gst_clock_get_time(clock), base = gst_element_get_base_time(src);
            f->start = now > base ? now - base : 0;
            gst_object_unref(clock);
        }
    }
    if (f->limit && f->pushed >= f->limit) {
        GstFlowReturn ret;
        g_signal_emit_by_name(src, "end-of-stream", &ret);
        return;
    }
    guint64 frames = f->rate / 50;
    if (f->limit && f->limit - f->pushed < frames)
        frames = f->limit - f->pushed;
    GstBuffer *buf = gst_buffer_new_allocate(NULL, frames * f->frame, NULL);
    GstMapInfo map;
    gst_buffer_map(buf, &map, GST_MAP_WRITE);
    gsize pcm_len;
    const uint8_t *pcm = g_bytes_get_data(f->pcm, &pcm_len);
    for (guint64 k = 0; k < frames; k++) {
        guint64 at = (f->pushed + k) % f->cycle_frames;
        uint8_t *dst = map.data + k * f->frame;
        if (at < f->speech_frames)
            memcpy(dst, pcm + at * f->frame, f->frame);
        else
            memset(dst, 0, f->frame);
    }
    gst_buffer_unmap(buf, &map);
    GstClockTime t0 = gst_util_uint64_scale(f->pushed, GST_SECOND, f->rate);
    GstClockTime t1 = gst_util_uint64_scale(f->pushed + frames, GST_SECOND, f->rate);
    GST_BUFFER_PTS(buf) = f->start + t0;
    GST_BUFFER_DURATION(buf) = t1 - t0;
    GST_BUFFER_OFFSET(buf) = f->pushed;
    GST_BUFFER_OFFSET_END(buf) = f->pushed + frames;
    f->pushed += frames;
    GstFlowReturn ret;
    g_signal_emit_by_name(src, "push-buffer", buf, &ret);
    gst_buffer_unref(buf);
}

/* appsrc playing the speech WAV, through the action signals (no link to
 * libgstapp). */
static GstElement *speech_source(const tlo_hw_stream_opts *opts, tlo_error *err)
{
    uint8_t *made = NULL;
    size_t len = 0;
    const uint8_t *wav = opts->speech_wav;
    if (!wav) {
        if (tlo_hw_speech_pcm(NULL, &made, &len, err) != 0)
            return NULL;
        wav = made;
    } else {
        len = opts->speech_len;
    }
    tlo_hw_wav w;
    int rc = tlo_hw_wav_parse(wav, len, &w, err);
    if (rc == 0 && w.data_bytes == 0)
        rc = tlo_fail(err, TLO_EFORMAT, "the speech WAV holds no audio");
    if (rc != 0) {
        g_free(made);
        return NULL;
    }
    GstElement *src = make("appsrc", "source", err);
    if (!src) {
        g_free(made);
        return NULL;
    }
    speech_feed *f = g_new0(speech_feed, 1);
    f->pcm = g_bytes_new(wav + w.data_offset, w.data_bytes);
    g_free(made);
    f->frame = (size_t)w.channels * w.bits / 8;
    f->rate = w.rate;
    f->speech_frames = w.data_bytes / f->frame;
    f->cycle_frames = f->speech_frames + w.rate; /* one second apart */
    f->limit = (guint64)opts->duration_seconds * w.rate;
    f->live = opts->live;

    static const char *const formats[] = {"U8", "S16LE", "S24LE", "S32LE"};
    GstCaps *caps =
        gst_caps_new_simple("audio/x-raw", "format", G_TYPE_STRING, formats[w.bits / 8 - 1],
                            "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT,
                            (gint)w.rate, "channels", G_TYPE_INT, (gint)w.channels, NULL);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "is-live", (gboolean)opts->live,
                 "emit-signals", TRUE, NULL);
    if (opts->live)
        g_object_set(src, "min-latency", (gint64)(20 * GST_MSECOND), NULL);
    gst_caps_unref(caps);
    g_object_set_data_full(G_OBJECT(src), "tlo-speech-feed", f, speech_feed_free);
    g_signal_connect(src, "need-data", G_CALLBACK(on_need_data), f);
    return src;
}

/* audiotestsrc in 20 ms buffers of TLO_HW_AUDIO_CAPS: wave, volume. */
static GstElement *test_audio(const char *wave, double volume, const tlo_hw_stream_opts *opts,
                              tlo_error *err)
{
    GstElement *s = make("audiotestsrc", NULL, err);
    if (!s)
        return NULL;
    gst_util_set_object_arg(G_OBJECT(s), "wave", wave);
    g_object_set(s, "volume", volume, "is-live", (gboolean)opts->live, "samplesperbuffer", 960,
                 NULL);
    if (opts->duration_seconds)
        g_object_set(s, "num-buffers", (gint)(opts->duration_seconds * 50), NULL);
    return s;
}

/* Speech and room noise into an audiomixer; returns the mixer (in bin) or
 * NULL. The elements belong to bin once added. */
static GstElement *speech_mix(GstElement *bin, const tlo_hw_stream_opts *opts, tlo_error *err)
{
    GstElement *el[7] = {NULL};
    bool ok = (el[0] = speech_source(opts, err)) != NULL;
    ok = ok && (el[1] = make("audioconvert", NULL, err)) != NULL;
    ok = ok && (el[2] = make("audioresample", NULL, err)) != NULL;
    ok = ok && (el[3] = capsfilter(TLO_HW_AUDIO_CAPS, err)) != NULL;
    ok = ok && (el[4] = test_audio("pink-noise", 0.02, opts, err)) != NULL;
    ok = ok && (el[5] = capsfilter(TLO_HW_AUDIO_CAPS, err)) != NULL;
    ok = ok && (el[6] = make("audiomixer", NULL, err)) != NULL;
    if (!ok) {
        drop(el, 7);
        return NULL;
    }
    g_object_set(el[6], "output-buffer-duration", (guint64)(20 * GST_MSECOND), NULL);
    for (size_t i = 0; i < 7; i++)
        gst_bin_add(GST_BIN(bin), el[i]);
    if (!gst_element_link_many(el[0], el[1], el[2], el[3], el[6], NULL) ||
        !gst_element_link_many(el[4], el[5], el[6], NULL)) {
        tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the simulated microphone's speech and noise");
        return NULL;
    }
    return el[6];
}

GstElement *tlo_hw_microphone_bin(const tlo_hw_room *room, unsigned i,
                                  const tlo_hw_stream_opts *opts, tlo_error *err)
{
    if (!bin_args_ok(room, i, room ? room->n_microphones : 0, "microphone", opts, err))
        return NULL;
    const tlo_hw_source *src = &room->microphones[i].source;
    char name[32];
    snprintf(name, sizeof name, "microphone-%u", i + 1);
    GstElement *bin = gst_bin_new(name);
    GstElement *el[4] = {NULL};
    size_t n = 0;
    bool ok = true;
    if (src->kind == TLO_HW_SOURCE_SPEECH) {
        /* The mixer is already in the bin: only the final caps are added. */
        GstElement *mix = speech_mix(bin, opts, err);
        GstElement *caps = mix ? capsfilter(TLO_HW_AUDIO_CAPS, err) : NULL;
        if (!caps) {
            gst_object_unref(gst_object_ref_sink(bin));
            return NULL;
        }
        gst_bin_add(GST_BIN(bin), caps);
        if (!gst_element_link(mix, caps)) {
            tlo_fail(err, TLO_EUNSUPPORTED, "cannot link the simulated microphone's mixer");
            gst_object_unref(gst_object_ref_sink(bin));
            return NULL;
        }
        GstPad *pad = gst_element_get_static_pad(caps, "src");
        GstPad *ghost = gst_ghost_pad_new("src", pad);
        gst_object_unref(pad);
        gst_pad_set_active(ghost, TRUE);
        gst_element_add_pad(bin, ghost);
        watch_source(bin);
        return bin;
    }
    if (src->kind == TLO_HW_SOURCE_TONE) {
        ok = (el[n++] = test_audio("sine", 0.3, opts, err)) != NULL;
        if (ok)
            gst_object_set_name(GST_OBJECT(el[0]), "source");
    } else {
        ok = tlo_hw_device_element(src, TLO_HW_MICROPHONE, &el[n++], err) == 0;
        if (ok)
            gst_object_set_name(GST_OBJECT(el[0]), "source");
        ok = ok && (el[n++] = make("audioconvert", NULL, err)) != NULL;
        ok = ok && (el[n++] = make("audioresample", NULL, err)) != NULL;
    }
    ok = ok && (el[n++] = capsfilter(TLO_HW_AUDIO_CAPS, err)) != NULL;
    if (!ok) {
        drop(el, n);
        gst_object_unref(gst_object_ref_sink(bin));
        return NULL;
    }
    if (finish_bin(bin, el, n, err) != 0) {
        gst_object_unref(gst_object_ref_sink(bin));
        return NULL;
    }
    watch_source(bin);
    return bin;
}
