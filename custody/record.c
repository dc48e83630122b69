/* Recording a session: its entries, in the order that makes the custody.
 *
 *   session-start  the room's digest (docs/rooms.md), its devices, the encoder;
 *                  durable before the custodian releases the case key (G3)
 *   segment        one per sealed segment, after capture/ fsynced it (G2)
 *   device-event   a camera or microphone lost while recording
 *   marker         a note at a moment of the session clock
 *   session-end    what was recorded, status ended or failed; then a checkpoint */
#include "internal.h"
#include "record_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tlo_custody_recording {
    tlo_custody *v;
    const tlo_vault_identity *actor;
    tlo_custody_case cs;
    char session[2 * TLO_ID_BYTES + 1];
    char *objects;
    uint8_t *key;
    tlo_capture *cap;
    void (*on_event)(void *ctx, const tlo_custody_rec_event *ev);
    void *ctx;
    pthread_mutex_t lock; /* the ledger: one append at a time */
    uint64_t segments, bytes, first_seq, markers, events;
    uint64_t max_delay_ms;
    uint64_t log_cpu_ns; /* CPU time spent appending segment entries */
    uint64_t elapsed_ms; /* wall-clock time tlo_capture_run took */
};

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void notify(tlo_custody_recording *r, const tlo_custody_rec_event *ev)
{
    if (r->on_event)
        r->on_event(r->ctx, ev);
}

/* Appends an entry of the session's case, signed by the interviewer. */
static int append(tlo_custody_recording *r, uint16_t kind, const char *body, uint64_t *seq,
                  tlo_error *err)
{
    return custody_append(r->v, r->actor, kind, r->cs.id, body, seq, err);
}

/* A segment is sealed and durable: log it. */
static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    tlo_custody_recording *r = ctx;
    char obj[33], pt[65], ct[65], body[900];
    uint64_t seq;
    tlo_hex(obj, seg->object_id, TLO_ID_BYTES);
    tlo_hex(pt, seg->digests.plaintext_sha256, 32);
    tlo_hex(ct, seg->digests.ciphertext_sha256, 32);
    snprintf(body, sizeof body,
             "bytes=%llu\nciphertext_sha256=%s\nduration_ms=%llu\nend_ms=%llu\nindex=%llu\n"
             "object=%s\nplaintext_bytes=%llu\nplaintext_sha256=%s\nsession=%s\nstart_ms=%llu\n"
             "wall_end_ms=%llu\nwall_start_ms=%llu\n",
             (unsigned long long)seg->digests.ciphertext_bytes, ct,
             (unsigned long long)(seg->end_ns / 1000000 - seg->start_ns / 1000000),
             (unsigned long long)(seg->end_ns / 1000000), (unsigned long long)seg->index, obj,
             (unsigned long long)seg->digests.plaintext_bytes, pt, r->session,
             (unsigned long long)(seg->start_ns / 1000000), (unsigned long long)seg->wall_end_ms,
             (unsigned long long)seg->wall_start_ms);
    pthread_mutex_lock(&r->lock);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int rc = append(r, TLO_ENTRY_SEGMENT, body, &seq, err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    r->log_cpu_ns += (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec));
    if (rc == 0) {
        uint64_t delay = wall_ms() - seg->wall_end_ms;
        r->segments++;
        r->bytes += seg->digests.ciphertext_bytes;
        if (delay > r->max_delay_ms)
            r->max_delay_ms = delay;
        tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_SEGMENT,
                                    .index = seg->index,
                                    .bytes = seg->digests.ciphertext_bytes,
                                    .seq = seq};
        notify(r, &ev);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* A camera or microphone failed: a signed device-event entry. */
static void on_capture_event(void *ctx, const tlo_capture_event *cev)
{
    tlo_custody_recording *r = ctx;
    char body[900], msg[400];
    tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_MONITOR_LOST, .message = msg};
    /* GStreamer's text, as one line of valid text. */
    tlo_clean_text(msg, sizeof msg, cev->message);
    if (cev->kind == TLO_CAPTURE_MONITOR_LOST) {
        /* The monitor shows, it does not record: nothing to log. */
        ev.message = cev->message;
        pthread_mutex_lock(&r->lock);
        notify(r, &ev);
        pthread_mutex_unlock(&r->lock);
        return;
    }
    tlo_error err = {0};
    bool camera = cev->kind == TLO_CAPTURE_CAMERA_LOST;
    ev.kind = TLO_CUSTODY_REC_DEVICE_LOST;
    ev.device = camera ? "camera" : "microphone";
    ev.device_no = cev->device;
    ev.at_ms = cev->session_ns / 1000000;
    snprintf(body, sizeof body,
             "at_ms=%llu\ndevice=%s %u\nevent=lost\nmessage=%s\nsession=%s\nthen=%s\n",
             (unsigned long long)ev.at_ms, ev.device, cev->device, msg, r->session,
             camera ? "its track goes on as a no-signal slate"
                    : "its track ends; the others go on");
    pthread_mutex_lock(&r->lock);
    if (append(r, TLO_ENTRY_DEVICE_EVENT, body, &ev.seq, &err) == 0) {
        r->events++;
    } else {
        ev.seq = 0;
        ev.err = &err;
    }
    notify(r, &ev);
    pthread_mutex_unlock(&r->lock);
}

int tlo_custody_record_mark(tlo_custody_recording *rec, uint64_t at_ms, const char *text,
                            uint64_t *seq, tlo_error *err)
{
    char body[900];
    if (!tlo_text_ok(text, 500))
        return tlo_fail(err, TLO_EARG, "the text is one line of text, 1 to 500 bytes");
    snprintf(body, sizeof body, "at_ms=%llu\nsession=%s\ntext=%s\n", (unsigned long long)at_ms,
             rec->session, text);
    pthread_mutex_lock(&rec->lock);
    int rc = append(rec, TLO_ENTRY_MARKER, body, seq, err);
    if (rc == 0)
        rec->markers++;
    pthread_mutex_unlock(&rec->lock);
    return rc;
}

/* The session-start body: the room as recorded (docs/rooms.md). */
static void start_body(char *body, size_t cap, const tlo_hw_room *room, const char *encoder,
                       const char *session)
{
    uint8_t digest[TLO_HW_DIGEST_BYTES];
    char hex[2 * TLO_HW_DIGEST_BYTES + 1];
    tlo_hw_room_digest(room, digest);
    tlo_hex(hex, digest, TLO_HW_DIGEST_BYTES);
    size_t n = 0;
    for (unsigned i = 0; i < room->n_cameras; i++) {
        const tlo_hw_camera *cam = &room->cameras[i];
        n += (size_t)snprintf(body + n, cap - n, "camera.%u=%s %s %ux%u %u fps %u kbit/s\n", i + 1,
                              cam->source.kind == TLO_HW_SOURCE_TEST ? "test" : "device",
                              cam->source.value, cam->width, cam->height, cam->fps,
                              cam->bitrate_kbps);
    }
    n += (size_t)snprintf(body + n, cap - n, "cameras=%u\nencoder=%s\n", room->n_cameras, encoder);
    for (unsigned i = 0; i < room->n_microphones; i++) {
        const tlo_hw_source *src = &room->microphones[i].source;
        n += (size_t)snprintf(body + n, cap - n, "microphone.%u=%s%s%s\n", i + 1,
                              src->kind == TLO_HW_SOURCE_SPEECH ? "speech"
                              : src->kind == TLO_HW_SOURCE_TONE ? "tone"
                                                                : "device",
                              src->kind == TLO_HW_SOURCE_DEVICE ? " " : "",
                              src->kind == TLO_HW_SOURCE_DEVICE ? src->value : "");
    }
    snprintf(body + n, cap - n,
             "microphones=%u\nroom=%s\nroom_sha256=%s\nsegment_seconds=%u\nsession=%s\n",
             room->n_microphones, room->name, hex, room->segment_seconds, session);
}

int custody_release_key(tlo_custody *v, const tlo_custody_case *cs, uint8_t **key, tlo_error *err)
{
    tlo_vault_identity *cust = NULL;
    int rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_case_key(v, cs, cust, key, err);
    tlo_vault_identity_free(cust);
    if (rc && rc != TLO_ENOMEM) {
        rc = TLO_EFORMAT;
        if (err)
            err->code = rc;
    }
    return rc;
}

static int build_capture(tlo_custody_recording *r, const tlo_custody_record_params *p,
                         tlo_error *err)
{
    tlo_capture_config cfg = {.room = *p->room,
                              .encoder = p->encoder,
                              .duration_seconds = p->duration_seconds,
                              .live = p->live,
                              .monitor = p->monitor,
                              .objects_dir = r->objects,
                              .fail_camera = p->fail_camera,
                              .fail_at_ms = p->fail_at_ms};
    memcpy(cfg.case_id, r->cs.id, TLO_ID_BYTES);
    r->cap = tlo_capture_new(&cfg, r->key, on_segment, on_capture_event, r, err);
    return r->cap ? 0 : (err && err->code ? err->code : TLO_EIO);
}

int tlo_custody_record_start(tlo_custody *v, const tlo_vault_identity *interviewer,
                             const tlo_custody_record_params *p, tlo_custody_recording **rec,
                             tlo_error *err)
{
    char body[3000];
    uint8_t session_id[TLO_ID_BYTES];
    *rec = NULL;
    int rc = custody_check_actor(v, interviewer, TLO_ROLE_INTERVIEWER,
                                 "interviewer (only interviewers record)", NULL, err);
    if (rc)
        return rc;
    tlo_custody_recording *r = calloc(1, sizeof *r);
    if (!r || !(r->objects = tlo_custody_path(v, "objects"))) {
        free(r);
        return tlo_fail(err, TLO_ENOMEM, "out of memory starting a recording");
    }
    r->v = v;
    r->actor = interviewer;
    r->on_event = p->on_event;
    r->ctx = p->ctx;
    pthread_mutex_init(&r->lock, NULL);
    /* The case as its case-open entry has it, not as the caller says. */
    if ((rc = custody_case_by_id(v, p->cs->id, &r->cs, err)) != 0) {
        tlo_custody_record_free(r);
        return rc;
    }
    if (mkdir(r->objects, 0700) != 0 && access(r->objects, W_OK) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot use %s", r->objects);
        tlo_custody_record_free(r);
        return rc;
    }
    /* 1. The session starts in the ledger, durably, before any key moves. */
    tlo_vault_random_id(session_id);
    tlo_hex(r->session, session_id, TLO_ID_BYTES);
    start_body(body, sizeof body, p->room, p->encoder, r->session);
    if ((rc = append(r, TLO_ENTRY_SESSION_START, body, &r->first_seq, err)) != 0) {
        tlo_custody_record_free(r);
        return rc;
    }
    *rec = r; /* from here on, the session must be ended */
    /* 2. Only now does the custodian release the case key. 3. The pipeline. */
    if ((rc = custody_release_key(v, &r->cs, &r->key, err)) != 0)
        return rc;
    return build_capture(r, p, err);
}

const char *tlo_custody_record_session(const tlo_custody_recording *rec)
{
    return rec->session;
}

int tlo_custody_record_run(tlo_custody_recording *rec, tlo_error *err)
{
    if (!rec->cap)
        return tlo_fail(err, TLO_ESTATE, "the recording of session %s did not start", rec->session);
    uint64_t t0 = wall_ms();
    int rc = tlo_capture_run(rec->cap, err);
    rec->elapsed_ms = wall_ms() - t0;
    return rc;
}

void tlo_custody_record_stop(tlo_custody_recording *rec)
{
    if (rec && rec->cap)
        tlo_capture_stop(rec->cap); /* only sets a flag */
}

void tlo_custody_record_get_status(tlo_custody_recording *rec, tlo_custody_record_status *out)
{
    memset(out, 0, sizeof *out);
    if (rec->cap)
        tlo_capture_get_stats(rec->cap, &out->capture);
    pthread_mutex_lock(&rec->lock);
    out->segments = rec->segments;
    out->bytes = rec->bytes;
    out->markers = rec->markers;
    out->device_events = rec->events;
    pthread_mutex_unlock(&rec->lock);
}

int tlo_custody_record_finish(tlo_custody_recording *rec, bool failed,
                              tlo_custody_record_summary *out, tlo_error *err)
{
    char body[1000];
    memset(out, 0, sizeof *out);
    snprintf(out->session, sizeof out->session, "%s", rec->session);
    out->first_seq = rec->first_seq;
    out->segments = rec->segments;
    out->bytes = rec->bytes;
    out->markers = rec->markers;
    out->device_events = rec->events;
    out->max_delay_ms = rec->max_delay_ms;
    out->log_cpu_ns = rec->log_cpu_ns;
    if (rec->cap) {
        tlo_capture_stats st;
        tlo_capture_get_stats(rec->cap, &st);
        out->recorded = true;
        out->seal_cpu_ns = st.seal_cpu_ns;
    }
    /* The session ends in the ledger whatever happened, then a checkpoint. */
    snprintf(body, sizeof body,
             "bytes=%llu\ndevice_events=%llu\nelapsed_ms=%llu\nmarkers=%llu\nmedia_ms=%llu\n"
             "segments=%llu\nsession=%s\nstatus=%s\n",
             (unsigned long long)rec->bytes, (unsigned long long)rec->events,
             (unsigned long long)(rec->cap ? rec->elapsed_ms : 0), (unsigned long long)rec->markers,
             (unsigned long long)(rec->cap ? tlo_capture_media_ns(rec->cap) / 1000000 : 0),
             (unsigned long long)rec->segments, rec->session, failed ? "failed" : "ended");
    int rc = append(rec, TLO_ENTRY_SESSION_END, body, &out->end_seq, err);
    if (rc) {
        out->end_seq = 0;
        return rc;
    }
    return tlo_custody_checkpoint(rec->v, NULL, err);
}

void tlo_custody_record_free(tlo_custody_recording *rec)
{
    if (!rec)
        return;
    tlo_capture_free(rec->cap);
    tlo_vault_key_free(rec->key);
    pthread_mutex_destroy(&rec->lock);
    free(rec->objects);
    free(rec);
}
