#include "capture.h"
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* When a segment starts and ends on the session clock, from splitmuxsink's
 * fragment-opened and fragment-closed messages. */
typedef struct seg_time {
    uint64_t start_ns, end_ns;
    bool opened, closed;
} seg_time;

struct tlo_capture {
    tlo_capture_config cfg;
    tlo_hw_stream_opts opts;
    char *objects_dir;
    int dir_fd;
    const uint8_t *case_key;
    tlo_capture_segment_fn on_segment;
    tlo_capture_event_fn on_event;
    void *ctx;
    GstElement *pipeline;
    GstElement *cameras[TLO_HW_MAX_CAMERAS], *microphones[TLO_HW_MAX_MICROPHONES];
    GMutex lock; /* guards everything below that threads share */
    uint64_t next_index, sealed, bytes;
    /* Segments close out of order (splitmuxsink finalizes asynchronously, and
     * an EOS can finish the newest before the one before it), but they are
     * handed to the caller, and so logged, in index order, once both sealed
     * and closed (their end time known). */
    GList *done;           /* sealed segments waiting for their turn */
    GArray *times;         /* seg_time by index */
    uint64_t next_deliver; /* the index the caller gets next */
    int failed;
    tlo_error err;
    volatile sig_atomic_t stop;
    uint64_t media_ns;    /* session-clock time of the end of the last closed segment */
    uint64_t wall0_ms;    /* UTC ms at 0 on the session clock */
    uint64_t seal_cpu_ns; /* CPU time spent sealing (writer, digests, fsync) */
    gint samples_in;      /* atomic: muxed buffers the segments' sinks have taken */
    gint ending;          /* atomic: a camera's stream has ended (the recording's end) */
    bool stall_at_end;    /* tests only: the reference camera's end never reaches the muxer */
    bool stalled;         /* the end stalled: the last segment is unfinished */
    tlo_monitor *monitor; /* with cfg.monitor (monitor.h) */
    bool monitor_reported;
    /* For the status line. */
    uint64_t frames[TLO_HW_MAX_CAMERAS];
    GstSegment segment[TLO_HW_MAX_CAMERAS]; /* of each camera's encoded stream */
    GstClockTime first_pts[TLO_HW_MAX_CAMERAS], last_pts[TLO_HW_MAX_CAMERAS]; /* running time */
    bool camera_lost[TLO_HW_MAX_CAMERAS], microphone_lost[TLO_HW_MAX_MICROPHONES];
    double peak_db[TLO_HW_MAX_MICROPHONES], rms_db[TLO_HW_MAX_MICROPHONES];
    double loudest_db[TLO_HW_MAX_MICROPHONES];
};

/* One segment: the state behind one appsink of splitmuxsink. */
typedef struct segment {
    tlo_capture *c;
    tlo_vault_writer *w;
    int fd;
    bool done;
    tlo_capture_segment info;
} segment;

/* CPU time of the calling thread, for the cost of sealing. */
static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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
    uint64_t t0 = thread_cpu_ns();
    g_atomic_int_inc(&s->c->samples_in);
    if (!s->w && !s->done)
        rc = segment_open(s, &err);
    if (rc == 0 && buf && gst_buffer_map(buf, &map, GST_MAP_READ)) {
        rc = tlo_vault_writer_write(s->w, map.data, map.size, &err);
        gst_buffer_unmap(buf, &map);
    }
    gst_sample_unref(sample);
    uint64_t spent = thread_cpu_ns() - t0;
    g_mutex_lock(&s->c->lock);
    s->c->seal_cpu_ns += spent;
    g_mutex_unlock(&s->c->lock);
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

static seg_time *time_of(tlo_capture *c, uint64_t index)
{
    if (index >= c->times->len)
        g_array_set_size(c->times, (guint)index + 1);
    return &g_array_index(c->times, seg_time, index);
}

/* Hands over, in index order, every segment whose turn has come: sealed,
 * and closed (or, with force, whatever is sealed). The caller's callback
 * runs under the lock, so segments are logged one at a time. Lock held. */
static int deliver_locked(tlo_capture *c, bool force, tlo_error *err)
{
    int rc = 0;
    while (rc == 0 && c->done) {
        tlo_capture_segment *first = c->done->data;
        if (force)
            c->next_deliver = first->index;
        seg_time *t = time_of(c, first->index);
        if (first->index != c->next_deliver || (!t->closed && !force))
            break;
        c->done = g_list_delete_link(c->done, c->done);
        first->start_ns = t->start_ns;
        /* The wall clock of its first frame: where the session clock's zero
         * lies in UTC, plus its start. */
        first->wall_start_ms = c->wall0_ms + t->start_ns / 1000000;
        /* A segment ends where the next one starts (the cut: the next
         * fragment opens before this one has finished closing), so the
         * times are contiguous by construction; the last one, or one cut
         * short by an error, where its close message or the media said. */
        bool next = first->index + 1 < c->times->len && time_of(c, first->index + 1)->opened;
        first->end_ns = next        ? time_of(c, first->index + 1)->start_ns
                        : t->closed ? t->end_ns
                                    : MAX(c->media_ns, t->start_ns);
        if (first->end_ns < t->start_ns)
            first->end_ns = t->start_ns;
        rc = c->on_segment ? c->on_segment(c->ctx, first, err) : 0;
        if (rc == 0) {
            c->sealed++;
            c->bytes += first->digests.ciphertext_bytes;
            c->next_deliver++;
        }
        g_free(first);
    }
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
    uint64_t t0 = thread_cpu_ns();
    int rc = tlo_vault_writer_finish(s->w, &s->info.digests, &err);
    tlo_vault_writer_free(s->w);
    s->w = NULL;
    /* Durable before it is logged: the file, then its directory entry. */
    if (rc == 0 && (fsync(s->fd) != 0 || fsync(c->dir_fd) != 0))
        rc = tlo_fail(&err, TLO_EIO, "fsync of segment %s failed: %s%s", s->info.path,
                      strerror(errno), errno == ENOSPC ? " (the disk is full)" : "");
    if (close(s->fd) != 0 && rc == 0)
        rc =
            tlo_fail(&err, TLO_EIO, "closing segment %s failed: %s", s->info.path, strerror(errno));
    s->fd = -1;
    s->info.wall_end_ms = wall_ms();
    uint64_t spent = thread_cpu_ns() - t0;
    g_mutex_lock(&c->lock);
    c->seal_cpu_ns += spent;
    g_mutex_unlock(&c->lock);
    if (rc == 0) {
        g_mutex_lock(&c->lock);
        c->done = g_list_insert_sorted(c->done, g_memdup2(&s->info, sizeof s->info), by_index);
        rc = deliver_locked(c, false, &err);
        g_mutex_unlock(&c->lock);
    }
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
    /* splitmuxsink makes one sink per segment, in order. */
    g_mutex_lock(&s->c->lock);
    s->info.index = s->c->next_index++;
    g_mutex_unlock(&s->c->lock);
    g_object_set_data(G_OBJECT(sink), "tlo-index", GSIZE_TO_POINTER((gsize)s->info.index + 1));
    GstAppSinkCallbacks cb = {0};
    cb.new_sample = on_sample;
    cb.eos = on_eos;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, s, segment_free);
}

/* True if obj is (inside) an element of the monitor. */
static bool in_monitor(GstObject *obj)
{
    for (GstObject *o = obj; o; o = GST_OBJECT_PARENT(o))
        if (g_object_get_data(G_OBJECT(o), "tlo-monitor"))
            return true;
    return false;
}

/* splitmuxsink's fragment messages, in the thread that posts them (so the
 * times are known before the segment is handed over), and the first
 * notice of a failing source. */
static GstBusSyncReply on_bus_sync(GstBus *bus, GstMessage *m, gpointer data)
{
    (void)bus;
    tlo_capture *c = data;
    GstElement *bin = NULL;
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR && tlo_hw_is_source_of(GST_MESSAGE_SRC(m), &bin) &&
        g_object_get_data(G_OBJECT(bin), "tlo-camera")) {
        /* Before the failing source ends its stream: keep the track open. */
        tlo_hw_source_failed(bin);
        return GST_BUS_PASS;
    }
    const GstStructure *st = gst_message_get_structure(m);
    if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT || !st)
        return GST_BUS_PASS;
    bool opened = gst_structure_has_name(st, "splitmuxsink-fragment-opened");
    bool closed = gst_structure_has_name(st, "splitmuxsink-fragment-closed");
    guint64 rt;
    GstElement *sink = NULL;
    if ((!opened && !closed) || !gst_structure_get_uint64(st, "running-time", &rt) ||
        !gst_structure_get(st, "sink", GST_TYPE_ELEMENT, &sink, NULL) || !sink)
        return GST_BUS_PASS;
    gsize tag = GPOINTER_TO_SIZE(g_object_get_data(G_OBJECT(sink), "tlo-index"));
    gst_object_unref(sink);
    if (!tag)
        return GST_BUS_PASS;
    g_mutex_lock(&c->lock);
    seg_time *t = time_of(c, tag - 1);
    if (opened) {
        t->start_ns = rt;
        t->opened = true;
    } else {
        t->end_ns = rt;
        t->closed = true;
        if (rt > c->media_ns)
            c->media_ns = rt;
    }
    tlo_error err = {0};
    int rc = closed ? deliver_locked(c, false, &err) : 0;
    if (rc != 0 && !c->failed) {
        c->failed = 1;
        c->err = err;
        c->stop = 1;
    }
    g_mutex_unlock(&c->lock);
    return GST_BUS_PASS;
}

/* Counts what each camera encodes, for the status line and the session
 * clock of a recording that does not run in real time. */
static GstPadProbeReturn on_camera_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    tlo_capture *c = data;
    unsigned i = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(pad), "tlo-camera")) - 1;
    if (i >= TLO_HW_MAX_CAMERAS)
        return GST_PAD_PROBE_OK;
    if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        /* Encoders shift timestamps (x264enc by 1000 hours); the segment
         * maps them back to running time. */
        GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
        if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS)
            g_atomic_int_set(&c->ending, 1); /* a lost camera goes on with a slate */
        if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
            const GstSegment *seg;
            gst_event_parse_segment(ev, &seg);
            g_mutex_lock(&c->lock);
            gst_segment_copy_into(seg, &c->segment[i]);
            g_mutex_unlock(&c->lock);
        }
        return GST_PAD_PROBE_OK;
    }
    GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
    if (!b || !GST_BUFFER_PTS_IS_VALID(b))
        return GST_PAD_PROBE_OK;
    g_mutex_lock(&c->lock);
    GstClockTime pts =
        gst_segment_to_running_time(&c->segment[i], GST_FORMAT_TIME, GST_BUFFER_PTS(b));
    if (pts == GST_CLOCK_TIME_NONE) {
        g_mutex_unlock(&c->lock);
        return GST_PAD_PROBE_OK;
    }
    if (c->first_pts[i] == GST_CLOCK_TIME_NONE)
        c->first_pts[i] = pts;
    if (c->last_pts[i] == GST_CLOCK_TIME_NONE || pts > c->last_pts[i])
        c->last_pts[i] = pts;
    c->frames[i]++;
    g_mutex_unlock(&c->lock);
    return GST_PAD_PROBE_OK;
}

/* splitmuxsink asks camera 1 (its reference) for a keyframe where it will
 * cut the next segment; the other cameras get the same request, so every
 * camera's track in every segment starts with a keyframe and decodes on its
 * own. */
static GstPadProbeReturn on_keyframe_request(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    tlo_capture *c = data;
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT(info);
    if (!ev || !gst_video_event_is_force_key_unit(ev))
        return GST_PAD_PROBE_OK;
    for (unsigned i = 1; i < c->cfg.room.n_cameras; i++) {
        GstPad *out = c->cameras[i] ? gst_element_get_static_pad(c->cameras[i], "src") : NULL;
        if (out) {
            gst_pad_send_event(out, gst_event_copy(ev));
            gst_object_unref(out);
        }
    }
    return GST_PAD_PROBE_OK;
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

/* Adds and links element chain el[0..n) into the pipeline, then links its
 * end to splitmuxsink's pad of template templ. */
static int link_track(tlo_capture *c, GstElement *smux, GstElement **el, size_t n,
                      const char *templ, tlo_error *err)
{
    for (size_t k = 0; k < n; k++)
        gst_bin_add(GST_BIN(c->pipeline), el[k]);
    for (size_t k = 0; k + 1 < n; k++)
        if (!gst_element_link(el[k], el[k + 1]))
            return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link %s to %s", GST_ELEMENT_NAME(el[k]),
                            GST_ELEMENT_NAME(el[k + 1]));
    GstElement *fake = NULL;
    if (!smux) { /* a preview: nothing is kept */
        if (!(fake = make("fakesink", err)))
            return err->code;
        g_object_set(fake, "sync", FALSE, "async", FALSE, NULL);
        gst_bin_add(GST_BIN(c->pipeline), fake);
    }
    GstPad *sink = fake ? gst_element_get_static_pad(fake, "sink")
                        : gst_element_request_pad_simple(smux, templ);
    GstPad *src = gst_element_get_static_pad(el[n - 1], "src");
    if (!src) /* a tee: its outputs are request pads */
        src = gst_element_request_pad_simple(el[n - 1], "src_%u");
    int rc = 0;
    if (!sink || !src || gst_pad_link(src, sink) != GST_PAD_LINK_OK)
        rc = tlo_fail(err, TLO_EUNSUPPORTED, "cannot link %s to the segment muxer (%s)",
                      GST_ELEMENT_NAME(el[n - 1]), templ);
    if (sink)
        gst_object_unref(sink);
    if (src)
        gst_object_unref(src);
    return rc;
}

/* Tests only (TELLONCE_TEST_STALL_AT_END): the end of the reference camera's
 * stream never reaches the segment muxer, as when splitmuxsink stalls at
 * the end of a recording (seen with GStreamer 1.22.0 under load). */
static GstPadProbeReturn on_stall_eos(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
    (void)pad;
    (void)data;
    GstEvent *ev = gst_pad_probe_info_get_event(info);
    return ev && GST_EVENT_TYPE(ev) == GST_EVENT_EOS ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

/* A camera's encoded frames for the monitor, from a leaky queue: a slow or
 * stopped monitor never holds up the recording. */
static GstFlowReturn on_monitor_sample(GstAppSink *sink, gpointer data)
{
    tlo_capture *c = data;
    GstSample *sample = gst_app_sink_pull_sample(sink);
    if (!sample)
        return GST_FLOW_EOS;
    unsigned cam = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(sink), "tlo-camera"));
    if (cam)
        tlo_monitor_push(c->monitor, cam - 1, sample);
    gst_sample_unref(sample);
    return GST_FLOW_OK;
}

/* The monitor's feed of camera i from its tee: a leaky queue and an appsink
 * handing the frames to the monitor's own pipeline (monitor.h), so that
 * nothing the monitor does (no display, a window that fails or closes)
 * reaches the recording. */
static int add_monitor_feed(tlo_capture *c, GstElement *tee, unsigned i, tlo_error *err)
{
    GstElement *q = make("queue", err), *sink = q ? make("appsink", err) : NULL;
    if (!sink) {
        if (q)
            gst_object_unref(gst_object_ref_sink(q));
        return err->code;
    }
    g_object_set(q, "leaky", 2 /* downstream */, "max-size-buffers", 5u, "max-size-bytes", 0u,
                 "max-size-time", (guint64)0, NULL);
    g_object_set(sink, "sync", FALSE, "async", FALSE, "drop", TRUE, "max-buffers", 5u, NULL);
    g_object_set_data(G_OBJECT(q), "tlo-monitor", c);
    g_object_set_data(G_OBJECT(sink), "tlo-monitor", c);
    g_object_set_data(G_OBJECT(sink), "tlo-camera", GUINT_TO_POINTER(i + 1));
    GstAppSinkCallbacks cb = {0};
    cb.new_sample = on_monitor_sample;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cb, c, NULL);
    gst_bin_add_many(GST_BIN(c->pipeline), q, sink, NULL);
    if (!gst_element_link_many(tee, q, sink, NULL))
        return tlo_fail(err, TLO_EUNSUPPORTED, "cannot link camera %u to the monitor", i + 1);
    return 0;
}

static int build(tlo_capture *c, tlo_error *err)
{
    const tlo_hw_room *room = &c->cfg.room;
    c->pipeline = gst_pipeline_new("record");
    c->stall_at_end = getenv("TELLONCE_TEST_STALL_AT_END") != NULL;
    GstElement *smux = c->cfg.preview_only ? NULL : make("splitmuxsink", err);
    if (!smux && !c->cfg.preview_only)
        return err->code;
    if (smux) {
        gst_bin_add(GST_BIN(c->pipeline), smux);
        GstStructure *mux_props =
            gst_structure_from_string("properties,fragment-duration=100,streamable=true", NULL);
        GstStructure *sink_props =
            gst_structure_from_string("properties,sync=false,async=false", NULL);
        g_object_set(smux, "async-finalize", TRUE, "max-size-time",
                     (guint64)room->segment_seconds * GST_SECOND, "send-keyframe-requests", TRUE,
                     "muxer-factory", "mp4mux", "muxer-properties", mux_props, NULL);
        if (c->cfg.bench_plain_dir) {
            char *loc = g_build_filename(c->cfg.bench_plain_dir, "seg%05d.mp4", NULL);
            g_object_set(smux, "sink-factory", "filesink", "location", loc, NULL);
            g_free(loc);
        } else {
            g_object_set(smux, "sink-factory", "appsink", "sink-properties", sink_props, NULL);
            g_signal_connect(smux, "sink-added", G_CALLBACK(on_sink_added), c);
        }
        gst_structure_free(mux_props);
        gst_structure_free(sink_props);
    }

    GstElement *tees[TLO_HW_MAX_CAMERAS] = {NULL};
    for (unsigned i = 0; i < room->n_cameras; i++) {
        GstElement *bin = tlo_hw_camera_bin(room, i, &c->opts, err);
        if (!bin)
            return err->code;
        g_object_set_data(G_OBJECT(bin), "tlo-camera", GUINT_TO_POINTER(i + 1));
        c->cameras[i] = bin;
        if (c->cfg.fail_camera == i + 1)
            tlo_hw_inject_failure(bin, c->cfg.fail_at_ms * GST_MSECOND);
        GstPad *out = gst_element_get_static_pad(bin, "src");
        g_object_set_data(G_OBJECT(out), "tlo-camera", GUINT_TO_POINTER(i + 1));
        gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM,
                          on_camera_buffer, c, NULL);
        if (i == 0)
            gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_keyframe_request, c, NULL);
        gst_object_unref(out);
        /* The first camera is splitmuxsink's reference: segments are cut at
         * its keyframes. */
        char templ[32];
        if (i == 0)
            snprintf(templ, sizeof templ, "video");
        else
            snprintf(templ, sizeof templ, "video_aux_%u", i - 1);
        GstElement *el[2] = {bin, NULL};
        size_t n = 1;
        if (c->cfg.monitor) {
            if (!(tees[i] = el[n++] = make("tee", err)))
                return err->code;
        }
        if (link_track(c, smux, el, n, templ, err) != 0)
            return err->code;
        if (i == 0 && c->stall_at_end && smux) {
            GstPad *ref = gst_element_get_static_pad(smux, "video");
            if (ref) {
                gst_pad_add_probe(ref, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_stall_eos, c, NULL);
                gst_object_unref(ref);
            }
        }
    }
    for (unsigned i = 0; i < room->n_microphones; i++) {
        GstElement *bin = tlo_hw_microphone_bin(room, i, &c->opts, err);
        if (!bin)
            return err->code;
        g_object_set_data(G_OBJECT(bin), "tlo-microphone", GUINT_TO_POINTER(i + 1));
        c->microphones[i] = bin;
        GstElement *el[5] = {bin, make("level", err), make("audioconvert", err),
                             make("avenc_aac", err), make("aacparse", err)};
        for (size_t k = 1; k < 5; k++)
            if (!el[k]) {
                for (size_t j = 1; j < 5; j++)
                    if (el[j])
                        gst_object_unref(gst_object_ref_sink(el[j]));
                gst_object_unref(gst_object_ref_sink(bin));
                return err->code;
            }
        char name[32], templ[32];
        snprintf(name, sizeof name, "level-%u", i + 1);
        gst_object_set_name(GST_OBJECT(el[1]), name);
        g_object_set(el[1], "interval", (guint64)(100 * GST_MSECOND), "post-messages", TRUE, NULL);
        snprintf(templ, sizeof templ, "audio_%u", i);
        if (link_track(c, smux, el, 5, templ, err) != 0)
            return err->code;
    }
    if (c->cfg.monitor) {
        if (!(c->monitor = tlo_monitor_new(room, !c->cfg.preview_only, c->cfg.preview,
                                           c->cfg.preview_ctx, err)))
            return err->code;
        for (unsigned i = 0; i < room->n_cameras; i++)
            if (add_monitor_feed(c, tees[i], i, err) != 0)
                return err->code;
    }
    GstBus *bus = gst_element_get_bus(c->pipeline);
    gst_bus_set_sync_handler(bus, on_bus_sync, c, NULL);
    gst_object_unref(bus);
    return 0;
}

tlo_capture *tlo_capture_new(const tlo_capture_config *cfg, const uint8_t *case_key,
                             tlo_capture_segment_fn on_segment, tlo_capture_event_fn on_event,
                             void *ctx, tlo_error *err)
{
    if (!cfg || (!cfg->preview_only && (!case_key || !cfg->objects_dir))) {
        tlo_fail(err, TLO_EARG, "tlo_capture_new: invalid configuration");
        return NULL;
    }
    if (tlo_hw_room_check(&cfg->room, err) != 0)
        return NULL;
    if (cfg->fail_camera > cfg->room.n_cameras) {
        tlo_fail(err, TLO_EARG, "the room has no camera %u", cfg->fail_camera);
        return NULL;
    }
    tlo_capture *c = g_new0(tlo_capture, 1);
    c->dir_fd = -1;
    c->cfg = *cfg;
    c->objects_dir = g_strdup(cfg->objects_dir ? cfg->objects_dir : "");
    c->cfg.objects_dir = c->objects_dir;
    c->case_key = case_key;
    c->on_segment = on_segment;
    c->on_event = on_event;
    c->ctx = ctx;
    c->times = g_array_new(FALSE, TRUE, sizeof(seg_time));
    for (unsigned i = 0; i < TLO_HW_MAX_CAMERAS; i++) {
        c->first_pts[i] = c->last_pts[i] = GST_CLOCK_TIME_NONE;
        gst_segment_init(&c->segment[i], GST_FORMAT_TIME);
    }
    for (unsigned i = 0; i < TLO_HW_MAX_MICROPHONES; i++)
        c->peak_db[i] = c->rms_db[i] = c->loudest_db[i] = TLO_CAPTURE_LEVEL_SILENT;
    g_mutex_init(&c->lock);
    /* Keyframes at most every quarter second (0.2 s at 25 fps, a divisor of
     * the segment's frames): splitmuxsink holds back one whole GOP before
     * the muxer sees it (it cuts at keyframes), so the GOP bounds both what a
     * crash can lose from memory and how long after its end a segment is
     * sealed and logged. Measured: a 4 s GOP closed segments 4 s late; a 1 s
     * GOP, 1.08 s late. kill -9 under load (tests/bench/bench_kill.sh): 0.4 s
     * GOPs lost 248-544 ms, 0.2 s GOPs 207-353 ms (docs/performance.md). */
    c->opts = (tlo_hw_stream_opts){.live = cfg->live,
                                   .duration_seconds = cfg->duration_seconds,
                                   .encoder = cfg->encoder,
                                   .keyframe_ms = 250};
    if (!cfg->preview_only)
        c->dir_fd = open(cfg->objects_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (!cfg->preview_only && c->dir_fd < 0) {
        tlo_fail(err, TLO_EIO, "cannot open the segment directory %s: %s", cfg->objects_dir,
                 strerror(errno));
        tlo_capture_free(c);
        return NULL;
    }
    if (!c->opts.encoder && tlo_hw_encoder_resolve(cfg->room.encoder, &c->opts.encoder, err) != 0) {
        tlo_capture_free(c);
        return NULL;
    }
    if (build(c, err) != 0) {
        tlo_capture_free(c);
        return NULL;
    }
    return c;
}

static uint64_t session_now(tlo_capture *c)
{
    uint64_t t = 0;
    if (c->cfg.live) {
        GstClock *clock = gst_element_get_clock(c->pipeline);
        if (clock) {
            GstClockTime now = gst_clock_get_time(clock),
                         base = gst_element_get_base_time(c->pipeline);
            t = now > base ? now - base : 0;
            gst_object_unref(clock);
            return t;
        }
    }
    g_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->cfg.room.n_cameras; i++)
        if (c->last_pts[i] != GST_CLOCK_TIME_NONE && c->last_pts[i] > t)
            t = c->last_pts[i];
    g_mutex_unlock(&c->lock);
    return t;
}

/* The level element's message: peak and RMS of the first channel. */
static void on_level(tlo_capture *c, unsigned i, const GstStructure *st)
{
    const GValue *peak = gst_structure_get_value(st, "peak");
    const GValue *rms = gst_structure_get_value(st, "rms");
    if (!peak || !rms || !G_VALUE_HOLDS_BOXED(peak) || !G_VALUE_HOLDS_BOXED(rms))
        return;
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    GValueArray *pa = g_value_get_boxed(peak), *ra = g_value_get_boxed(rms);
    if (pa && ra && pa->n_values && ra->n_values) {
        g_mutex_lock(&c->lock);
        c->peak_db[i] = MAX(g_value_get_double(&pa->values[0]), TLO_CAPTURE_LEVEL_SILENT);
        c->rms_db[i] = MAX(g_value_get_double(&ra->values[0]), TLO_CAPTURE_LEVEL_SILENT);
        c->loudest_db[i] = MAX(c->loudest_db[i], c->peak_db[i]);
        g_mutex_unlock(&c->lock);
    }
    G_GNUC_END_IGNORE_DEPRECATIONS
}

/* A source failed: a camera goes on as a no-signal slate, a microphone's
 * track ends. Reported once per device. Returns 0, or an error that ends
 * the recording (the slate could not be started). */
static int on_source_error(tlo_capture *c, GstElement *bin, const char *what, tlo_error *err)
{
    unsigned cam = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(bin), "tlo-camera"));
    unsigned mic = GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(bin), "tlo-microphone"));
    tlo_capture_event ev = {.session_ns = session_now(c)};
    g_mutex_lock(&c->lock);
    bool first = cam ? !c->camera_lost[cam - 1] : mic ? !c->microphone_lost[mic - 1] : false;
    if (cam)
        c->camera_lost[cam - 1] = true;
    if (mic)
        c->microphone_lost[mic - 1] = true;
    g_mutex_unlock(&c->lock);
    if (!first)
        return 0;
    ev.kind = cam ? TLO_CAPTURE_CAMERA_LOST : TLO_CAPTURE_MICROPHONE_LOST;
    ev.device = cam ? cam : mic;
    snprintf(ev.message, sizeof ev.message, "%s", what);
    if (cam && tlo_hw_camera_failover(bin, &c->cfg.room, cam - 1, &c->opts, err) != 0)
        return err->code;
    if (c->on_event)
        c->on_event(c->ctx, &ev);
    return 0;
}

/* How long the end of a recording may go without a buffer reaching a
 * segment before it is taken as a stall. */
#define EOS_STALL_MS 60000

/* The monitor stopped showing, or never started: said once; the recording
 * goes on without it. */
static void report_monitor(tlo_capture *c, const char *why)
{
    if (c->monitor_reported)
        return;
    c->monitor_reported = true;
    if (c->on_event) {
        tlo_capture_event ev = {.kind = TLO_CAPTURE_MONITOR_LOST, .session_ns = session_now(c)};
        snprintf(ev.message, sizeof ev.message, "%s", why);
        c->on_event(c->ctx, &ev);
    }
}

int tlo_capture_run(tlo_capture *c, tlo_error *err)
{
    GstBus *bus = gst_element_get_bus(c->pipeline);
    int rc = 0, eos_sent = 0;

    c->wall0_ms = wall_ms();
    if (gst_element_set_state(c->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        gst_object_unref(bus);
        return tlo_fail(err, TLO_EIO, "the recording pipeline did not start");
    }
    if (c->cfg.live) {
        /* Live, the session clock is the pipeline clock less its base time,
         * which is set on the way to playing: map it to UTC once. */
        GstState state;
        gst_element_get_state(c->pipeline, &state, NULL, 5 * GST_SECOND);
        GstClock *clock = gst_element_get_clock(c->pipeline);
        if (clock) {
            GstClockTime now = gst_clock_get_time(clock),
                         base = gst_element_get_base_time(c->pipeline);
            uint64_t wall = wall_ms(), since = now > base ? (now - base) / 1000000 : 0;
            c->wall0_ms = wall > since ? wall - since : wall;
            gst_object_unref(clock);
        }
    }
    /* After the end is asked for, the pipeline must keep handing segments
     * their data until it is done: a muxer that stalls instead (splitmuxsink
     * of GStreamer 1.22.0 did, once in some ten recordings under load) would
     * keep the session from ever ending. After this long without a buffer,
     * the recording ends without its last segment, and says so. */
    const uint64_t stall_ms = c->stall_at_end ? 3000 : EOS_STALL_MS;
    uint64_t last_progress_ms = 0;
    gint last_samples = 0;
    bool watching = false;
    tlo_error merr = {0};
    if (c->monitor && tlo_monitor_start(c->monitor, &merr) != 0)
        report_monitor(c, merr.msg);
    for (;;) {
        char why[300];
        if (c->monitor) {
            tlo_capture_stats st;
            tlo_capture_get_stats(c, &st);
            if (tlo_monitor_poll(c->monitor, &st, why, sizeof why))
                report_monitor(c, why);
        }
        GstMessage *m = gst_bus_timed_pop_filtered(
            bus, 100 * GST_MSECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT);
        if (c->stop && !eos_sent) {
            /* End cleanly: EOS closes and seals the last segment. */
            gst_element_send_event(c->pipeline, gst_event_new_eos());
            eos_sent = 1;
        }
        /* (a preview seals nothing: its end is never a stall) */
        if (!watching && !c->cfg.preview_only && (eos_sent || g_atomic_int_get(&c->ending))) {
            watching = true;
            last_progress_ms = wall_ms();
            last_samples = g_atomic_int_get(&c->samples_in);
        }
        if (!m && watching) {
            gint now_samples = g_atomic_int_get(&c->samples_in);
            uint64_t now = wall_ms();
            if (now_samples != last_samples) {
                last_samples = now_samples;
                last_progress_ms = now;
            } else if (now - last_progress_ms > stall_ms) {
                g_mutex_lock(&c->lock);
                uint64_t sealed = c->sealed, media_ms = c->media_ns / 1000000;
                g_mutex_unlock(&c->lock);
                uint64_t sec = media_ms / 1000;
                c->stalled = true;
                rc = tlo_fail(err, TLO_EIO,
                              "the recorder did not finish the last segment within %llu s of the "
                              "end (the segment muxer stalled): the %llu segments before it are "
                              "sealed and logged, and the last one, from %02llu:%02llu:%02llu on "
                              "the session clock, is unfinished",
                              (unsigned long long)(stall_ms / 1000), (unsigned long long)sealed,
                              (unsigned long long)(sec / 3600), (unsigned long long)(sec / 60 % 60),
                              (unsigned long long)(sec % 60));
                break;
            }
        }
        if (!m)
            continue;
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
            const GstStructure *st = gst_message_get_structure(m);
            GstObject *src = GST_MESSAGE_SRC(m);
            unsigned mic;
            if (st && gst_structure_has_name(st, "level") && src &&
                sscanf(GST_OBJECT_NAME(src), "level-%u", &mic) == 1 && mic >= 1 &&
                mic <= TLO_HW_MAX_MICROPHONES)
                on_level(c, mic - 1, st);
            gst_message_unref(m);
            continue;
        }
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            GError *ge = NULL;
            GstElement *bin = NULL;
            gst_message_parse_error(m, &ge, NULL);
            if (in_monitor(GST_MESSAGE_SRC(m))) {
                /* Its feed (a queue, an appsink): not evidence either. */
                report_monitor(c, ge ? ge->message : "?");
                g_clear_error(&ge);
                gst_message_unref(m);
                continue;
            }
            if (tlo_hw_is_source_of(GST_MESSAGE_SRC(m), &bin)) {
                rc = on_source_error(c, bin, ge ? ge->message : "?", err);
                g_clear_error(&ge);
                gst_message_unref(m);
                if (rc == 0)
                    continue;
                break;
            }
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
    tlo_error e2 = {0};
    int drc = deliver_locked(c, true, &e2);
    if (drc == 0 && c->failed && rc == 0)
        *err = c->err, drc = c->err.code;
    g_mutex_unlock(&c->lock);
    if (drc != 0 && rc == 0) {
        rc = drc;
        if (e2.code)
            *err = e2;
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

bool tlo_capture_stalled(const tlo_capture *c)
{
    return c->stalled;
}

uint64_t tlo_capture_segments(const tlo_capture *c)
{
    return c->sealed;
}

void tlo_capture_get_stats(tlo_capture *c, tlo_capture_stats *out)
{
    memset(out, 0, sizeof *out);
    out->session_ns = session_now(c);
    g_mutex_lock(&c->lock);
    out->segments = c->sealed;
    out->bytes = c->bytes;
    out->seal_cpu_ns = c->seal_cpu_ns;
    out->n_cameras = c->cfg.room.n_cameras;
    out->n_microphones = c->cfg.room.n_microphones;
    for (unsigned i = 0; i < out->n_cameras; i++) {
        unsigned fps = c->cfg.room.cameras[i].fps;
        out->frames[i] = c->frames[i];
        out->camera_lost[i] = c->camera_lost[i];
        if (c->first_pts[i] != GST_CLOCK_TIME_NONE) {
            uint64_t expected =
                gst_util_uint64_scale_round(c->last_pts[i] - c->first_pts[i], fps, GST_SECOND) + 1;
            out->dropped[i] = expected > c->frames[i] ? expected - c->frames[i] : 0;
        }
    }
    for (unsigned i = 0; i < out->n_microphones; i++) {
        out->peak_db[i] = c->peak_db[i];
        out->rms_db[i] = c->rms_db[i];
        out->loudest_db[i] = c->loudest_db[i];
        out->microphone_lost[i] = c->microphone_lost[i];
    }
    g_mutex_unlock(&c->lock);
}

void tlo_capture_free(tlo_capture *c)
{
    if (!c)
        return;
    if (c->pipeline) {
        gst_element_set_state(c->pipeline, GST_STATE_NULL);
        gst_object_unref(c->pipeline);
    }
    tlo_monitor_free(c->monitor); /* after the recording's feed of it stopped */
    if (c->dir_fd >= 0)
        close(c->dir_fd);
    g_list_free_full(c->done, g_free);
    if (c->times)
        g_array_free(c->times, TRUE);
    g_mutex_clear(&c->lock);
    g_free(c->objects_dir);
    g_free(c);
}
