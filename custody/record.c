/* Recording a session: its entries, in the order that makes the custody.
 *
 *   session-start  the room's digest (docs/rooms.md), its devices, the encoder;
 *                  durable before the custodian releases the case key (G3)
 *   segment        one per sealed segment, after capture/ fsynced it (G2)
 *   device-event   a camera or microphone lost while recording
 *   marker         a note at a moment of the session clock
 *   session-end    what was recorded, status ended or failed; then a checkpoint
 *
 * A session holds two leases (lease.c) from before its start entry until it
 * is freed: its case's and its room's, so that a case or a room records one
 * session at a time and 'recover' leaves a live session alone.
 *
 * Segment and device-event entries are appended by a logger thread, in the
 * order capture/ hands them over, never by the streaming threads: an entry
 * the ledger refuses (another process holding its write lock past SQLite's
 * busy timeout, a full disk) stays first in the queue and is retried while
 * the recording goes on, so a sealed segment is never dropped and the
 * segments are logged contiguous, in index order. */
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

/* An entry waiting for the logger thread. */
typedef struct pending {
    struct pending *next;
    uint16_t kind; /* TLO_ENTRY_SEGMENT or TLO_ENTRY_DEVICE_EVENT */
    uint64_t index, bytes, wall_end_ms;
    tlo_custody_rec_event ev; /* device events: what to tell (device, message point below) */
    char device[16], message[400];
    char body[900];
} pending;

/* How long the end of a recording waits for refused entries, and the pause
 * between two tries while recording (each try itself waits out SQLite's
 * busy timeout on a locked ledger). */
#define DRAIN_MS 60000
#define RETRY_MS 1000

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
    pthread_mutex_t ledger; /* one append at a time; on_event runs under it */
    pthread_mutex_t lock;   /* the counters and the queue below */
    pthread_cond_t wake;    /* the queue grew, or the logger should end */
    pthread_cond_t logged;  /* an entry of the queue was logged */
    uint64_t pushed, taken; /* entries queued and logged so far */
    pending *head, *tail;   /* entries in hand-over order, the first being tried */
    uint64_t npending;
    uint64_t busy_since_ms; /* UTC ms of the first refusal still unresolved; 0: none */
    char busy_why[256];
    bool quit; /* the pipeline is done: drain the queue, then end */
    bool logger_started;
    pthread_t logger;
    custody_lease *case_lease, *room_lease;
    uint64_t segments, bytes, first_seq, markers, events;
    uint64_t max_delay_ms;
    uint64_t log_cpu_ns; /* CPU time spent appending segment entries */
    uint64_t elapsed_ms; /* wall-clock time tlo_capture_run took */
    char why[400];       /* the first error that stopped it: the session-end's reason */
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

/* Deadline d ms from now, for pthread_cond_timedwait. */
static struct timespec in_ms(uint64_t d)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)(d / 1000);
    ts.tv_nsec += (long)(d % 1000) * 1000000;
    if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
    }
    return ts;
}

/* How long the streaming thread that handed over an entry waits for it to
 * be logged while the ledger is not refusing entries. The wait keeps the old
 * back-pressure (a segment's entry is normally committed in a few ms, before
 * the pipeline writes much more: with a disk filling up, the entry gets in
 * before the next segment's bytes take the space) and is bounded, so a
 * locked ledger never holds up the pipeline for long. */
#define HANDOVER_WAIT_MS 250

static void push(tlo_custody_recording *r, pending *p)
{
    pthread_mutex_lock(&r->lock);
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->npending++;
    uint64_t ticket = ++r->pushed;
    pthread_cond_signal(&r->wake);
    struct timespec until = in_ms(HANDOVER_WAIT_MS);
    while (r->taken < ticket && !r->busy_since_ms && r->logger_started &&
           pthread_cond_timedwait(&r->logged, &r->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&r->lock);
}

/* A segment is sealed and durable: queue its entry for the logger. */
static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    tlo_custody_recording *r = ctx;
    char obj[33], pt[65], ct[65];
    pending *p = calloc(1, sizeof *p);
    if (!p)
        return tlo_fail(err, TLO_ENOMEM, "out of memory queueing the entry of segment %llu (%s)",
                        (unsigned long long)seg->index, seg->path);
    tlo_hex(obj, seg->object_id, TLO_ID_BYTES);
    tlo_hex(pt, seg->digests.plaintext_sha256, 32);
    tlo_hex(ct, seg->digests.ciphertext_sha256, 32);
    snprintf(p->body, sizeof p->body,
             "bytes=%llu\nciphertext_sha256=%s\nduration_ms=%llu\nend_ms=%llu\nindex=%llu\n"
             "object=%s\nplaintext_bytes=%llu\nplaintext_sha256=%s\nsession=%s\nstart_ms=%llu\n"
             "wall_end_ms=%llu\nwall_start_ms=%llu\n",
             (unsigned long long)seg->digests.ciphertext_bytes, ct,
             (unsigned long long)(seg->end_ns / 1000000 - seg->start_ns / 1000000),
             (unsigned long long)(seg->end_ns / 1000000), (unsigned long long)seg->index, obj,
             (unsigned long long)seg->digests.plaintext_bytes, pt, r->session,
             (unsigned long long)(seg->start_ns / 1000000), (unsigned long long)seg->wall_end_ms,
             (unsigned long long)seg->wall_start_ms);
    p->kind = TLO_ENTRY_SEGMENT;
    p->index = seg->index;
    p->bytes = seg->digests.ciphertext_bytes;
    p->wall_end_ms = seg->wall_end_ms;
    push(r, p);
    return 0;
}

/* Appends the first entry of the queue (the logger's thread). */
static int log_one(tlo_custody_recording *r, pending *p, tlo_error *err)
{
    uint64_t seq;
    pthread_mutex_lock(&r->ledger);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int rc = append(r, p->kind, p->body, &seq, err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    uint64_t cpu = (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec));
    if (rc == 0) {
        pthread_mutex_lock(&r->lock);
        if (p->kind == TLO_ENTRY_SEGMENT) {
            uint64_t delay = wall_ms() - p->wall_end_ms;
            r->log_cpu_ns += cpu;
            r->segments++;
            r->bytes += p->bytes;
            if (delay > r->max_delay_ms)
                r->max_delay_ms = delay;
        } else {
            r->events++;
        }
        pthread_mutex_unlock(&r->lock);
        tlo_custody_rec_event ev = p->ev;
        if (p->kind == TLO_ENTRY_SEGMENT) {
            ev.kind = TLO_CUSTODY_REC_SEGMENT;
            ev.index = p->index;
            ev.bytes = p->bytes;
        } else {
            ev.device = p->device;
            ev.message = p->message;
        }
        ev.seq = seq;
        notify(r, &ev);
    }
    pthread_mutex_unlock(&r->ledger);
    return rc;
}

/* The logger: the queue's entries in order, each retried until the ledger
 * takes it. After quit it goes on for DRAIN_MS (and one try at least), then
 * leaves what is still refused in the queue. */
static void *logger_main(void *arg)
{
    tlo_custody_recording *r = arg;
    uint64_t quit_ms = 0;
    unsigned tries_after_quit = 0;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        while (!r->head && !r->quit)
            pthread_cond_wait(&r->wake, &r->lock);
        if (!r->head)
            break;
        if (r->quit && !quit_ms)
            quit_ms = wall_ms();
        if (quit_ms && tries_after_quit >= 1 && wall_ms() - quit_ms >= DRAIN_MS)
            break;
        pending *p = r->head;
        pthread_mutex_unlock(&r->lock);
        tlo_error err = {0};
        int rc = log_one(r, p, &err);
        pthread_mutex_lock(&r->lock);
        if (quit_ms)
            tries_after_quit++;
        if (rc == 0) {
            r->head = p->next;
            if (!r->head)
                r->tail = NULL;
            r->npending--;
            r->taken++;
            pthread_cond_broadcast(&r->logged);
            free(p);
            if (r->busy_since_ms && !r->head) {
                r->busy_since_ms = 0;
                r->busy_why[0] = '\0';
                tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_LEDGER_BACK};
                pthread_mutex_unlock(&r->lock);
                pthread_mutex_lock(&r->ledger);
                notify(r, &ev);
                pthread_mutex_unlock(&r->ledger);
                pthread_mutex_lock(&r->lock);
            }
            continue;
        }
        bool first = !r->busy_since_ms;
        if (first)
            r->busy_since_ms = wall_ms();
        pthread_cond_broadcast(&r->logged); /* the hand-over stops waiting */
        snprintf(r->busy_why, sizeof r->busy_why, "%.*s", (int)sizeof r->busy_why - 1, err.msg);
        tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_LEDGER_WAIT,
                                    .index = p->kind == TLO_ENTRY_SEGMENT ? p->index : 0,
                                    .pending = r->npending,
                                    .err = &err};
        if (first) {
            pthread_mutex_unlock(&r->lock);
            pthread_mutex_lock(&r->ledger);
            notify(r, &ev);
            pthread_mutex_unlock(&r->ledger);
            pthread_mutex_lock(&r->lock);
        }
        struct timespec until = in_ms(RETRY_MS);
        pthread_cond_timedwait(&r->wake, &r->lock, &until);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* A camera or microphone failed: a signed device-event entry, queued after
 * the segments sealed before it. */
static void on_capture_event(void *ctx, const tlo_capture_event *cev)
{
    tlo_custody_recording *r = ctx;
    char msg[400];
    /* GStreamer's text, as one line of valid text. */
    tlo_clean_text(msg, sizeof msg, cev->message);
    if (cev->kind == TLO_CAPTURE_MONITOR_LOST) {
        /* The monitor shows, it does not record: nothing to log. */
        tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_MONITOR_LOST, .message = cev->message};
        pthread_mutex_lock(&r->ledger);
        notify(r, &ev);
        pthread_mutex_unlock(&r->ledger);
        return;
    }
    bool camera = cev->kind == TLO_CAPTURE_CAMERA_LOST;
    pending *p = calloc(1, sizeof *p);
    if (!p) {
        tlo_error err;
        tlo_fail(&err, TLO_ENOMEM, "out of memory");
        tlo_custody_rec_event ev = {.kind = TLO_CUSTODY_REC_DEVICE_LOST,
                                    .device = camera ? "camera" : "microphone",
                                    .device_no = cev->device,
                                    .at_ms = cev->session_ns / 1000000,
                                    .message = msg,
                                    .err = &err};
        pthread_mutex_lock(&r->ledger);
        notify(r, &ev);
        pthread_mutex_unlock(&r->ledger);
        return;
    }
    p->kind = TLO_ENTRY_DEVICE_EVENT;
    snprintf(p->device, sizeof p->device, "%s", camera ? "camera" : "microphone");
    snprintf(p->message, sizeof p->message, "%s", msg);
    p->ev = (tlo_custody_rec_event){.kind = TLO_CUSTODY_REC_DEVICE_LOST,
                                    .device_no = cev->device,
                                    .at_ms = cev->session_ns / 1000000};
    snprintf(p->body, sizeof p->body,
             "at_ms=%llu\ndevice=%s %u\nevent=lost\nmessage=%s\nsession=%s\nthen=%s\n",
             (unsigned long long)p->ev.at_ms, p->device, cev->device, msg, r->session,
             camera ? "its track goes on as a no-signal slate"
                    : "its track ends; the others go on");
    push(r, p);
}

int tlo_custody_record_mark(tlo_custody_recording *rec, uint64_t at_ms, const char *text,
                            uint64_t *seq, tlo_error *err)
{
    char body[900];
    if (!tlo_text_ok(text, 500))
        return tlo_fail(err, TLO_EARG, "the text is one line of text, 1 to 500 bytes");
    snprintf(body, sizeof body, "at_ms=%llu\nsession=%s\ntext=%s\n", (unsigned long long)at_ms,
             rec->session, text);
    pthread_mutex_lock(&rec->ledger);
    int rc = append(rec, TLO_ENTRY_MARKER, body, seq, err);
    if (rc == 0) {
        pthread_mutex_lock(&rec->lock);
        rec->markers++;
        pthread_mutex_unlock(&rec->lock);
    }
    pthread_mutex_unlock(&rec->ledger);
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
                              .preview = p->preview,
                              .preview_ctx = p->preview_ctx,
                              .objects_dir = r->objects,
                              .fail_camera = p->fail_camera,
                              .fail_at_ms = p->fail_at_ms};
    memcpy(cfg.case_id, r->cs.id, TLO_ID_BYTES);
    r->cap = tlo_capture_new(&cfg, r->key, on_segment, on_capture_event, r, err);
    return r->cap ? 0 : (err && err->code ? err->code : TLO_EIO);
}

/* A lease name's part from a room name: [A-Za-z0-9._-] kept, others '_'. */
static void room_part(char *out, size_t cap, const char *name)
{
    size_t j = 0;
    for (const char *c = name; *c && j + 1 < cap && j < 64; c++)
        out[j++] = (char)((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                                  (*c >= '0' && *c <= '9') || *c == '.' || *c == '-'
                              ? *c
                              : '_');
    out[j] = '\0';
}

/* The case's lease, then the room's: one session of a case, and one of a
 * room, at a time; and 'recover' leaves a session alone while its lease is
 * held. Before anything is logged. */
static int take_leases(tlo_custody_recording *r, const tlo_hw_room *room, tlo_error *err)
{
    char name[100], holder[80], room_name[70], who[200], hex[2 * TLO_ID_BYTES + 1];
    tlo_hex(hex, r->cs.id, TLO_ID_BYTES);
    snprintf(holder, sizeof holder, "record session %s", r->session);
    snprintf(name, sizeof name, "case-%s", hex);
    int rc = custody_lease_take(r->v, name, holder, &r->case_lease, who, sizeof who, err);
    if (rc == TLO_EEXIST)
        return tlo_fail(err, rc,
                        "case %s is being recorded or recovered right now (%s, lease "
                        "locks/%s.lock): a case records one session at a time; end that session "
                        "first, or wait for its recovery",
                        r->cs.number, who, name);
    if (rc)
        return rc;
    room_part(room_name, sizeof room_name, room->name);
    snprintf(name, sizeof name, "room-%s", room_name);
    rc = custody_lease_take(r->v, name, holder, &r->room_lease, who, sizeof who, err);
    if (rc == TLO_EEXIST)
        rc = tlo_fail(err, rc,
                      "the room \"%s\" is recording another session right now (%s, lease "
                      "locks/%s.lock): a room records one session at a time; end that session "
                      "first or record in another room",
                      room->name, who, name);
    if (rc) {
        custody_lease_release(r->case_lease);
        r->case_lease = NULL;
    }
    return rc;
}

int tlo_custody_record_start(tlo_custody *v, const tlo_vault_identity *interviewer,
                             const tlo_custody_record_params *p, tlo_custody_recording **rec,
                             tlo_error *err)
{
    char body[3000];
    uint8_t session_id[TLO_ID_BYTES];
    *rec = NULL;
    int rc = custody_check_act(v, interviewer, TLO_ACT_RECORD, 0, NULL, NULL, err);
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
    pthread_mutex_init(&r->ledger, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->logged, NULL);
    /* The case as its case-open entry has it, not as the caller says. */
    if ((rc = custody_case_by_id(v, p->cs->id, &r->cs, err)) != 0) {
        tlo_custody_record_free(r);
        return rc;
    }
    tlo_vault_random_id(session_id);
    tlo_hex(r->session, session_id, TLO_ID_BYTES);
    if ((rc = take_leases(r, p->room, err)) != 0) {
        tlo_custody_record_free(r);
        return rc;
    }
    if (mkdir(r->objects, 0700) != 0 && access(r->objects, W_OK) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot use %s", r->objects);
        tlo_custody_record_free(r);
        return rc;
    }
    /* 1. The session starts in the ledger, durably, before any key moves. */
    start_body(body, sizeof body, p->room, p->encoder, r->session);
    if ((rc = append(r, TLO_ENTRY_SESSION_START, body, &r->first_seq, err)) != 0) {
        tlo_custody_record_free(r);
        return rc;
    }
    *rec = r; /* from here on, the session must be ended */
    /* 2. Only now does the custodian release the case key. 3. The pipeline. */
    if ((rc = custody_release_key(v, &r->cs, &r->key, err)) == 0)
        rc = build_capture(r, p, err);
    if (rc && err)
        tlo_clean_text(r->why, sizeof r->why, tlo_error_english(err)); /* the ledger is English */
    return rc;
}

/* Ends the logger once it has drained the queue (or given up). */
static void stop_logger(tlo_custody_recording *rec)
{
    if (!rec->logger_started)
        return;
    pthread_mutex_lock(&rec->lock);
    rec->quit = true;
    pthread_cond_signal(&rec->wake);
    pthread_mutex_unlock(&rec->lock);
    pthread_join(rec->logger, NULL);
    pthread_mutex_lock(&rec->lock);
    rec->logger_started = false;
    pthread_mutex_unlock(&rec->lock);
}

const char *tlo_custody_record_session(const tlo_custody_recording *rec)
{
    return rec->session;
}

bool tlo_custody_record_stalled(const tlo_custody_recording *rec)
{
    return rec->cap && tlo_capture_stalled(rec->cap);
}

int tlo_custody_record_run(tlo_custody_recording *rec, tlo_error *err)
{
    if (!rec->cap)
        return tlo_fail(err, TLO_ESTATE, "the recording of session %s did not start", rec->session);
    if (pthread_create(&rec->logger, NULL, logger_main, rec) != 0)
        return tlo_fail(err, TLO_ENOMEM, "cannot start the logger of session %s", rec->session);
    pthread_mutex_lock(&rec->lock);
    rec->logger_started = true;
    pthread_mutex_unlock(&rec->lock);
    uint64_t t0 = wall_ms();
    int rc = tlo_capture_run(rec->cap, err);
    rec->elapsed_ms = wall_ms() - t0;
    if (rc && err && !rec->why[0])
        tlo_clean_text(rec->why, sizeof rec->why, tlo_error_english(err));
    /* Every sealed segment is logged before the session can end. */
    stop_logger(rec);
    if (rec->npending) {
        tlo_error e = {0};
        tlo_fail(&e, TLO_EIO,
                 "%llu sealed entries of session %s (from segment %llu on) could not be logged "
                 "within %d s after the recording ended: %s. The sealed files are kept in "
                 "objects/; once the ledger takes entries again, run 'tellonce recover'",
                 (unsigned long long)rec->npending, rec->session,
                 (unsigned long long)rec->head->index, DRAIN_MS / 1000, rec->busy_why);
        if (rc == 0 || !err || !err->code) {
            rc = e.code;
            if (err)
                *err = e;
        }
    }
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
    out->pending = rec->npending;
    out->ledger_busy_since_ms = rec->busy_since_ms;
    snprintf(out->ledger_error, sizeof out->ledger_error, "%s", rec->busy_why);
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
    /* A recording whose end stalled left its last segment unfinished:
     * 'tellonce recover' keeps its sealed part, and only an open session is
     * recovered. */
    if (rec->cap && tlo_capture_stalled(rec->cap))
        return tlo_fail(err, TLO_EIO,
                        "session %s is left open: its last segment is unfinished, and 'tellonce "
                        "recover' keeps what of it was sealed",
                        rec->session);
    /* A session-end before every sealed segment is logged would close the
     * session with a gap: leave it open for 'tellonce recover'. */
    if (rec->npending)
        return tlo_fail(err, TLO_EIO,
                        "session %s is left open: %llu sealed entries could not be logged (%s)",
                        rec->session, (unsigned long long)rec->npending, rec->busy_why);
    /* The session ends in the ledger whatever happened, then a checkpoint.
     * One that recorded nothing says why (reason). */
    char reason[460] = "";
    if (!rec->segments)
        snprintf(reason, sizeof reason, "reason=%s\n",
                 rec->why[0] ? rec->why
                 : failed    ? "the recording failed before its first segment was sealed"
                             : "the recording ended before its first segment was sealed");
    snprintf(body, sizeof body,
             "bytes=%llu\ndevice_events=%llu\nelapsed_ms=%llu\nmarkers=%llu\nmedia_ms=%llu\n"
             "%ssegments=%llu\nsession=%s\nstatus=%s\n",
             (unsigned long long)rec->bytes, (unsigned long long)rec->events,
             (unsigned long long)(rec->cap ? rec->elapsed_ms : 0), (unsigned long long)rec->markers,
             (unsigned long long)(rec->cap ? tlo_capture_media_ns(rec->cap) / 1000000 : 0), reason,
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
    stop_logger(rec);
    tlo_capture_free(rec->cap);
    tlo_vault_key_free(rec->key);
    for (pending *p = rec->head, *next; p; p = next) {
        next = p->next;
        free(p);
    }
    custody_lease_release(rec->room_lease);
    custody_lease_release(rec->case_lease);
    pthread_cond_destroy(&rec->wake);
    pthread_mutex_destroy(&rec->ledger);
    pthread_mutex_destroy(&rec->lock);
    free(rec->objects);
    free(rec);
}
