/* The live monitor of a recording that runs in the custodian service: the
 * service sends the monitor's picture as JPEG frames over the socket, in
 * memory (never a file), and this window shows them. It is a preview, not
 * evidence: nothing of it is kept. */
#include "cli.h"

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>

struct cli_monitor {
    GstElement *pipeline, *src;
    bool failed;
};

cli_monitor *cli_monitor_new(void)
{
    GError *gerr = NULL;
    cli_monitor *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    gst_init(NULL, NULL);
    /* The sink named for the display there is, never autovideosink: with no
     * X display it falls back to whatever else it finds (a framebuffer or
     * KMS sink), which "opens" a window nobody sees, or crashes. */
    const char *x11 = getenv("DISPLAY"), *sink = x11 && *x11 ? "ximagesink" : "waylandsink";
    char desc[256];
    snprintf(desc, sizeof desc,
             "appsrc name=src is-live=true do-timestamp=true caps=image/jpeg ! jpegdec ! "
             "videoconvert ! %s sync=false",
             sink);
    m->pipeline = gst_parse_launch(desc, &gerr);
    if (!m->pipeline) {
        cli_error("cannot open the monitor window: %s", gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        free(m);
        return NULL;
    }
    m->src = gst_bin_get_by_name(GST_BIN(m->pipeline), "src");
    if (gst_element_set_state(m->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        /* say why: the display refused us, no video sink, ... */
        GstBus *bus = gst_element_get_bus(m->pipeline);
        GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        gst_object_unref(bus);
        if (msg) {
            gst_message_parse_error(msg, &gerr, NULL);
            gst_message_unref(msg);
        }
        cli_error("cannot open the monitor window (%s); the recording goes on, and the window "
                  "is tried again in a few seconds",
                  gerr ? gerr->message : "is the display there?");
        g_clear_error(&gerr);
        cli_monitor_free(m);
        return NULL;
    }
    return m;
}

void cli_monitor_frame(cli_monitor *m, const uint8_t *jpeg, size_t len)
{
    if (!m || m->failed || !len)
        return;
    GstBus *bus = gst_element_get_bus(m->pipeline);
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    if (msg) {
        /* the window was closed, or the display went: the recording goes on */
        gst_message_unref(msg);
        m->failed = true;
        fprintf(stderr, "\r\n%s\r\n",
                _("tellonce: the monitor window is gone; the recording goes on"));
        return;
    }
    GstBuffer *buf = gst_buffer_new_memdup(jpeg, len);
    gst_app_src_push_buffer(GST_APP_SRC(m->src), buf);
}

void cli_monitor_free(cli_monitor *m)
{
    if (!m)
        return;
    if (m->pipeline) {
        gst_element_set_state(m->pipeline, GST_STATE_NULL);
        gst_object_unref(m->pipeline);
    }
    if (m->src)
        gst_object_unref(m->src);
    free(m);
}
