#include "capture.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tlo_capture {
    tlo_capture_config cfg;
    char *objects_dir;
    int dir_fd;
    const uint8_t *case_key;
    tlo_capture_segment_fn on_segment;
    void *ctx;
    GstElement *pipeline;
    GMutex lock; /* guards next_index, sealed, failed, err, done, next_deliver */
    uint64_t next_index, sealed;
    /* Segments close out of order (splitmuxsink finalizes asynchronously, and
     * an EOS can finish the newest before the one before it), but they are
     * handed to the caller, and so logged, in index order. */
    GList *done;           /* sealed segments waiting for an earlier one */
    uint64_t next_deliver; /* the index the caller gets next */
    int failed;
    tlo_error err;
    volatile sig_atomic_t stop;
    uint64_t media_ns; /* session-clock time of the end of the last closed segment */
};

/* One segment: the state behind one appsink of splitmuxsink. */
typedef struct segment {
    tlo_capture *c;
    tlo_vault_writer *w;
    int fd;
    bool done;
    tlo_capture_segment info;
} segment;

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Records the first failure and stops the pipeline with a GStreamer error
 * naming it; a full disk is RESOURCE/NO_SPACE_LEFT. */
static void fail(segment *s, GstElement *sink, const tlo_error *e, int nospace)
{
    tlo_capture *c = s->c;
    g_mutex_lock(&c->lock);
    if (!c->failed) {
        c->failed = 1;
        c->err = *e;
    }
    g_mutex_unlock(&c->lock);
    if (nospace)
        GST_ELEMENT_ERROR(sink, RESOURCE, NO_SPACE_LEFT, ("%s", e->msg), (NULL));
    else
        GST_ELEMENT_ERROR(sink, RESOURCE, WRITE, ("%s", e->msg), (NULL));
}

static int segment_open(segment *s, tlo_error *err)
{
    tlo_capture *c = s->c;
    /* 16 KiB chunks: at most two are in memory, unsealed, at any moment (the
     * one filling and the last full one, held until more data shows it is
     * not the final chunk), so a crash loses little. */
    tlo_vault_object_params p = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = 14};
    char hex[2 * TLO_ID_BYTES + 1];

    g_mutex_lock(&c->lock);
    s->info.index = c->next_index++;
    g_mutex_unlock(&c->lock);
    s->info.wall_start_ms = wall_ms();
    tlo_vault_random_id(s->info.object_id);
    memcpy(p.case_id, c->cfg.case_id, TLO_ID_BYTES);
    memcpy(p.object_id, s->info.object_id, TLO_ID_BYTES);
    tlo_hex(hex, s->info.object_id, TLO_ID_BYTES);
    snprintf(s->info.path, sizeof s->info.path, "%s/%s.tlo", c->objects_dir, hex);
    s->fd = open(s->info.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd < 0)
        return tlo_fail(err, TLO_EIO, "cannot create segment %s: %s%s", s->info.path,
                        strerror(errno), errno == ENOSPC ? " (the disk is full)" : "");
    s->w = tlo_vault_writer_new(&p, c->case_key, tlo_vault_fd_sink, &s->fd, err);
    return s->w ? 0 : err->code;
}

static GstFlowReturn on_sample(GstAppSink *sink, gpointer data)
{
    segment *s = data;
    tlo_error err = {0};
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_EOS;
    GstBuffer *buf = gst_sample_get_buffer(sample);
    GstMapInfo map;
    int rc = 0;
    if (!s->w && !s->done)
        rc = segment_open(s, &err);
    if (rc == 0 && buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        rc = tlo_vault_writer_write(s->w, map.data, map.size, &err);
        gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
    if (rc != 0) {
        fail(s, GST_ELEMENT(sink), &err, strstr(err.msg, "disk is full") != NULL);
        return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
}

static gint by_index(gconstpointer a, gconstpointer b)
{
    const tlo_capture_segment *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Queues a sealed segment and hands over, in index order, every segment
 * whose turn has come. The caller's callback runs under the lock, so
 * segments are logged one at a time. */
static int deliver(tlo_capture *c, const tlo_capture_segment *seg, tlo_error *err)
{
    int rc = 0;
    g_mutex_lock(&c->lock);
    if (seg)
        c->done = g_list_insert_sorted(c->done, g_memdup2(seg, sizeof *seg), by_index);
    while (rc == 0 && c->done && ((tlo_capture_segment *)c->done->data)->index == c->next_deliver) {
        tlo_capture_segment *first = c->done->data;
        c->done = g_list_delete_link(c->done, c->done);
        rc = c->on_segment ? c->on_segment(c->ctx, first, err) : 0;
        if (rc == 0) {
            c->sealed++;
            c->next_deliver++;
        }
        g_free(first);
    }
    g_mutex_unlock(&c->lock);
    return rc;
}

static void on_eos(GstAppSink *sink, gpointer data)
{
    segment *s = data;
    tlo_capture *c = s->c;
    tlo_error err = {0};
    if (!s->w || s->done)
        return;
    s->done = true;
    int rc = tlo_vault_writer_finish(s->w, &s->info.digests, &err);
    tlo_vault_writer_free(s->w);
    s->w = NULL;
    /* Durable before it is logged: the file, then its directory entry. */
    if (rc == 0 && (fsync(s->fd) != 0 || fsync(c->dir_fd) != 0))
        rc = tlo_fail(&err, TLO_EIO, "fsync of segment %s failed: %s", s->info.path,
                      strerror(errno));
    if (close(s->fd) != 0 && rc == 0)
        rc =
            tlo_fail(&err, TLO_EIO, "closing segment %s failed: %s", s->info.path, strerror(errno));
    s->fd = -1;
    s->info.wall_end_ms = wall_ms();
    if (rc == 0)
        rc = deliver(c, &s->info, &err);
    if (rc != 0)
        fail(s, GST_ELEMENT(sink), &err, strstr(err.msg, "disk is full") != NULL);
}

static void segment_free(gpointer data)
{
    segment *s = data;
    /* A segment cut short (an error, a crash of the pipeline) is left without
     * a final chunk: readers reject it and 'tellonce recover' handles it. */
    tlo_vault_writer_free(s->w);
    if (s->fd >= 0)
        close(s->fd);
    g_free(s);
}

static void on_sink_added(GstElement *smux, GstElement *sink, gpointer data)
{
    (void)smux;
    if (!GST_IS_APP_SINK(sink))
        return;
    segment *s = g_new0(segment, 1);
    s->c = data;
    s->fd = -1;
    GstAppSinkCallbacks cb = {0};
    cb.new_sample = on_sample;
    cb.eos = on_eos;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, s, segment_free);
}

static const char *patterns[] = {"smpte", "ball", "snow", "pinwheel"};

tlo_capture *tlo_capture_new(const tlo_capture_config *cfg, const uint8_t *case_key,
                             tlo_capture_segment_fn on_segment, void *ctx, tlo_error *err)
{
    static const char *needed[] = {"videotestsrc", "timeoverlay", "x264enc",  "h264parse",
                                   "audiotestsrc", "avenc_aac",   "aacparse", "splitmuxsink",
                                   "mp4mux",       "appsink"};
    if (!cfg || !case_key || !cfg->objects_dir || cfg->cameras < 1 || cfg->cameras > 4 ||
        !cfg->fps || !cfg->width || !cfg->height || !cfg->segment_seconds) {
        tlo_fail(err, TLO_EARG, "tlo_capture_new: invalid configuration");
        return NULL;
    }
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        GstElementFactory *f = gst_element_factory_find(needed[i]);
        if (!f) {
            tlo_fail(err, TLO_EUNSUPPORTED,
                     "the GStreamer element %s is missing; install the packages in "
                     "scripts/deps (scripts/install-deps)",
                     needed[i]);
            return NULL;
        }
        gst_object_unref(f);
    }
    tlo_capture *c = g_new0(tlo_capture, 1);
    c->dir_fd = -1;
    c->cfg = *cfg;
    c->objects_dir = g_strdup(cfg->objects_dir);
    c->case_key = case_key;
    c->on_segment = on_segment;
    c->ctx = ctx;
    g_mutex_init(&c->lock);
    c->dir_fd = open(cfg->objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->dir_fd < 0) {
        tlo_fail(err, TLO_EIO, "cannot open the segment directory %s: %s", cfg->objects_dir,
                 strerror(errno));
        tlo_capture_free(c);
        return NULL;
    }

    /* splitmuxsink's properties must be set before its first muxer exists,
     * so they are part of the description. */
    GString *d = g_string_new(NULL);
    g_string_append_printf(
        d,
        "splitmuxsink name=smux async-finalize=true max-size-time=%" G_GUINT64_FORMAT
        " send-keyframe-requests=true muxer-factory=mp4mux "
        "muxer-properties=\"properties,fragment-duration=500,streamable=true\" "
        "sink-factory=appsink sink-properties=\"properties,sync=false,async=false\" ",
        (guint64)cfg->segment_seconds * GST_SECOND);
    /* Keyframes every half second: splitmuxsink holds back one whole GOP
     * before the muxer sees it (it cuts at keyframes), so the GOP bounds both
     * what a crash can lose from memory and how long after its end a segment
     * is sealed and logged. Measured: a 4 s GOP closed segments 4 s late; a
     * 1 s GOP, 1.08 s late. */
    /* With a duration the sources stop after it (an EOS ends the recording). */
    char video_n[40] = "", audio_n[40] = "";
    if (cfg->duration_seconds) {
        snprintf(video_n, sizeof video_n, "num-buffers=%u", cfg->duration_seconds * cfg->fps);
        snprintf(audio_n, sizeof audio_n, "num-buffers=%u", cfg->duration_seconds * 50);
    }
    for (unsigned i = 0; i < cfg->cameras; i++) {
        g_string_append_printf(
            d,
            "videotestsrc pattern=%s is-live=%s %s ! video/x-raw,width=%u,height=%u,"
            "framerate=%u/1 ! timeoverlay text=\"camera %u\" ! x264enc speed-preset=veryfast "
            "tune=zerolatency key-int-max=%u ! h264parse ! ",
            patterns[i], cfg->live ? "true" : "false", video_n, cfg->width, cfg->height, cfg->fps,
            i + 1, cfg->fps / 2 ? cfg->fps / 2 : 1);
        if (i == 0)
            g_string_append(d, "smux.video ");
        else
            g_string_append_printf(d, "smux.video_aux_%u ", i - 1);
    }
    /* 48 kHz in buffers of 960 samples: 50 a second. */
    g_string_append_printf(d,
                           "audiotestsrc wave=sine freq=440 is-live=%s samplesperbuffer=960 %s ! "
                           "audio/x-raw,rate=48000,channels=1 ! audioconvert ! avenc_aac ! "
                           "aacparse ! smux.audio_0",
                           cfg->live ? "true" : "false", audio_n);
    char *desc = g_string_free(d, FALSE);
    GError *gerr = NULL;
    c->pipeline = gst_parse_launch(desc, &gerr);
    g_free(desc);
    if (!c->pipeline || gerr) {
        tlo_fail(err, TLO_EUNSUPPORTED, "cannot build the recording pipeline: %s",
                 gerr ? gerr->message : "unknown error");
        g_clear_error(&gerr);
        tlo_capture_free(c);
        return NULL;
    }
    GstElement *smux = gst_bin_get_by_name(GST_BIN(c->pipeline), "smux");
    g_signal_connect(smux, "sink-added", G_CALLBACK(on_sink_added), c);
    gst_object_unref(smux);
    return c;
}

int tlo_capture_run(tlo_capture *c, tlo_error *err)
{
    GstBus *bus = gst_element_get_bus(c->pipeline);
    int rc = 0, eos_sent = 0;

    if (gst_element_set_state(c->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        gst_object_unref(bus);
        return tlo_fail(err, TLO_EIO, "the recording pipeline did not start");
    }
    for (;;) {
        GstMessage *m = gst_bus_timed_pop_filtered(
            bus, 100 * GST_MSECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
        if (c->stop && !eos_sent) {
            /* End cleanly: EOS closes and seals the last segment. */
            gst_element_send_event(c->pipeline, gst_event_new_eos());
            eos_sent = 1;
        }
        if (!m)
            continue;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
            /* Where each segment ends on the session clock. */
            const GstStructure *st = gst_message_get_structure(m);
            guint64 rt;
            if (st && gst_structure_has_name(st, "splitmuxsink-fragment-closed") &&
                gst_structure_get_uint64(st, "running-time", &rt) && rt > c->media_ns)
                c->media_ns = rt;
            gst_message_unref(m);
            continue;
        }
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError *ge = NULL;
            gst_message_parse_error(m, &ge, NULL);
            g_mutex_lock(&c->lock);
            if (c->failed)
                *err = c->err, rc = c->err.code;
            else
                rc = tlo_fail(err, TLO_EIO, "recording failed in %s: %s",
                              GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), ge ? ge->message : "?");
            g_mutex_unlock(&c->lock);
            g_clear_error(&ge);
        }
        gst_message_unref(m);
        break;
    }
    gst_element_set_state(c->pipeline, GST_STATE_NULL);
    gst_object_unref(bus);
    /* Segments still waiting had an earlier one that never closed (an error
     * cut it short): hand them over anyway, in order, so they are logged. */
    g_mutex_lock(&c->lock);
    if (c->done)
        c->next_deliver = ((tlo_capture_segment *)c->done->data)->index;
    g_mutex_unlock(&c->lock);
    while (c->done) {
        tlo_error e2 = {0};
        if (deliver(c, NULL, &e2) != 0) {
            if (rc == 0)
                rc = e2.code, *err = e2;
            break;
        }
        g_mutex_lock(&c->lock);
        if (c->done)
            c->next_deliver = ((tlo_capture_segment *)c->done->data)->index;
        g_mutex_unlock(&c->lock);
    }
    return rc;
}

void tlo_capture_stop(tlo_capture *c)
{
    c->stop = 1;
}

uint64_t tlo_capture_media_ns(const tlo_capture *c)
{
    return c->media_ns;
}

uint64_t tlo_capture_segments(const tlo_capture *c)
{
    return c->sealed;
}

void tlo_capture_free(tlo_capture *c)
{
    if (!c)
        return;
    if (c->pipeline) {
        gst_element_set_state(c->pipeline, GST_STATE_NULL);
        gst_object_unref(c->pipeline);
    }
    if (c->dir_fd >= 0)
        close(c->dir_fd);
    g_list_free_full(c->done, g_free);
    g_mutex_clear(&c->lock);
    g_free(c->objects_dir);
    g_free(c);
}
