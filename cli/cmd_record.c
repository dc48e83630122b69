/* tellonce record — record one interview session of a case.
 *
 * Order matters: the session-start entry is durable before the custodian
 * releases the case key (G3); each segment is sealed and fsynced before its
 * entry is appended (G2); the session-end entry and a checkpoint close it. */
#include "capture.h"
#include "cli.h"
#include "hw.h"

#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <termios.h>
#include <gst/gst.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void record_usage(FILE *f)
{
    fprintf(
        f, "usage: tellonce record CASE --as NAME [--room simulated|PROFILE] [--duration SECONDS]\n"
           "                       [--monitor] [--passphrase-file FILE] [--vault DIR]\n"
           "\n"
           "Records one continuous session of CASE in a room: the built-in simulated room\n"
           "(two test-pattern cameras with a running clock, synthesized speech), or the room\n"
           "profile PROFILE (docs/rooms.md). It runs until --duration, 'q' (confirmed with\n"
           "'y'), Ctrl-C or SIGTERM. Every segment is sealed as it is recorded and logged;\n"
           "the session's start and end are signed entries, and a checkpoint is written at\n"
           "the end. NAME must be an interviewer.\n"
           "\n"
           "While recording, one status line shows the session time, segments sealed, bytes,\n"
           "each microphone's level and each camera's dropped frames. Press 'm', type a\n"
           "note and Enter to add a marker at the moment 'm' was pressed (Esc cancels).\n"
           "When standard input is not a terminal, lines 'm TEXT' and 'q' do the same.\n"
           "--monitor opens a window with all cameras for the observation room; nothing\n"
           "it shows is written.\n"
           "\n"
           "For tests: --no-live runs the simulated room as fast as the machine can (needs\n"
           "--duration); --test-fail-camera N@SECONDS makes camera N fail at that time.\n");
}

typedef struct session {
    tlo_chain *chain;
    tlo_chain_signer signer;
    cli_case cs;
    const char *number;
    char session_hex[2 * TLO_ID_BYTES + 1];
    pthread_mutex_t lock; /* the ledger and the terminal: one thread at a time */
    uint64_t segments, bytes, first_seq, markers, events;
    uint64_t max_delay_ms;
    uint64_t log_cpu_ns; /* CPU time spent appending segment entries */
    double setup_cpu;    /* CPU seconds of the process before the recording started */
    bool status_tty;     /* stderr is a terminal: the status line is drawn */
    bool line_shown;     /* the status line is on the screen (clear before printing) */
    tlo_capture *cap;
    volatile int finished; /* the recording is over: the UI thread ends */
} session;

static tlo_capture *running;

static void on_signal(int sig)
{
    (void)sig;
    if (running)
        tlo_capture_stop(running); /* only sets a flag */
}

static int append(session *s, uint16_t kind, const char *body, uint64_t *seq, tlo_error *err)
{
    tlo_chain_draft d = {
        .kind = kind, .has_case = true, .body = (const uint8_t *)body, .body_len = strlen(body)};
    memcpy(d.case_id, s->cs.id, TLO_ID_BYTES);
    return tlo_chain_append(s->chain, &d, 1, &s->signer, seq, err);
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void clock_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

/* A line for the operator: above the status line on a terminal. Lock held. */
static void say(session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(session *s, const char *fmt, ...)
{
    va_list ap;
    if (s->line_shown) {
        fputs("\r\033[K", stderr);
        s->line_shown = false;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* A segment is sealed and durable: log it. */
static int on_segment(void *ctx, const tlo_capture_segment *seg, tlo_error *err)
{
    session *s = ctx;
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
             (unsigned long long)seg->digests.plaintext_bytes, pt, s->session_hex,
             (unsigned long long)(seg->start_ns / 1000000), (unsigned long long)seg->wall_end_ms,
             (unsigned long long)seg->wall_start_ms);
    pthread_mutex_lock(&s->lock);
    struct timespec c0, c1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    int rc = append(s, TLO_ENTRY_SEGMENT, body, &seq, err);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    s->log_cpu_ns += (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll + (c1.tv_nsec - c0.tv_nsec));
    if (rc == 0) {
        uint64_t delay = now_ms() - seg->wall_end_ms;
        s->segments++;
        s->bytes += seg->digests.ciphertext_bytes;
        if (delay > s->max_delay_ms)
            s->max_delay_ms = delay;
        if (!s->status_tty) /* on a terminal the status line counts them */
            say(s, "  segment %llu sealed: %.1f MB, logged as entry %llu",
                (unsigned long long)seg->index, (double)seg->digests.ciphertext_bytes / 1e6,
                (unsigned long long)seq);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A camera or microphone failed: a signed device-event entry. */
static void on_event(void *ctx, const tlo_capture_event *ev)
{
    session *s = ctx;
    char body[900], msg[400], at[32];
    if (ev->kind == TLO_CAPTURE_MONITOR_LOST) {
        /* The monitor shows, it does not record: nothing to log. */
        pthread_mutex_lock(&s->lock);
        say(s, "! the monitor window is gone (%s); the recording goes on.", ev->message);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    tlo_error err = {0};
    uint64_t seq;
    /* GStreamer's text, as one line of valid text. */
    tlo_clean_text(msg, sizeof msg, ev->message);
    const char *what = ev->kind == TLO_CAPTURE_CAMERA_LOST ? "camera" : "microphone";
    snprintf(body, sizeof body,
             "at_ms=%llu\ndevice=%s %u\nevent=lost\nmessage=%s\nsession=%s\nthen=%s\n",
             (unsigned long long)(ev->session_ns / 1000000), what, ev->device, msg, s->session_hex,
             ev->kind == TLO_CAPTURE_CAMERA_LOST ? "its track goes on as a no-signal slate"
                                                 : "its track ends; the others go on");
    clock_text(at, sizeof at, ev->session_ns / 1000000);
    pthread_mutex_lock(&s->lock);
    int rc = append(s, TLO_ENTRY_DEVICE_EVENT, body, &seq, &err);
    if (rc == 0) {
        s->events++;
        say(s, "! %s %u lost at %s (%s); the recording goes on. Logged as entry %llu.", what,
            ev->device, at, msg, (unsigned long long)seq);
    } else {
        say(s, "! %s %u lost at %s, and the event could not be logged: %s", what, ev->device, at,
            err.msg);
    }
    pthread_mutex_unlock(&s->lock);
}

/* A marker at at_ms of the session, by the recording interviewer. */
static int add_marker(session *s, uint64_t at_ms, const char *text)
{
    char body[900], at[32];
    tlo_error err = {0};
    uint64_t seq;
    clock_text(at, sizeof at, at_ms);
    if (!tlo_text_ok(text, 500)) {
        pthread_mutex_lock(&s->lock);
        say(s, "! marker not added: the text is one line of text, 1 to 500 bytes");
        pthread_mutex_unlock(&s->lock);
        return -1;
    }
    snprintf(body, sizeof body, "at_ms=%llu\nsession=%s\ntext=%s\n", (unsigned long long)at_ms,
             s->session_hex, text);
    pthread_mutex_lock(&s->lock);
    int rc = append(s, TLO_ENTRY_MARKER, body, &seq, &err);
    if (rc == 0) {
        s->markers++;
        say(s, "  marker at %s: \"%s\", logged as entry %llu", at, text, (unsigned long long)seq);
    } else {
        say(s, "! marker at %s not logged: %s", at, err.msg);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* "  -23 dB" as a small bar: 10 steps from -60 to 0 dBFS. */
static void meter(char *out, size_t cap, double db)
{
    int bars = db <= -60 ? 0 : db >= 0 ? 10 : (int)((db + 60) / 6);
    char bar[11];
    for (int i = 0; i < 10; i++)
        bar[i] = i < bars ? '#' : '.';
    bar[10] = '\0';
    snprintf(out, cap, "[%s]%4.0f dB", bar, db < -99 ? -99.0 : db);
}

static void status_line(session *s, char *out, size_t cap)
{
    tlo_capture_stats st;
    tlo_capture_get_stats(s->cap, &st);
    char t[32];
    clock_text(t, sizeof t, st.session_ns / 1000000);
    t[8] = '\0'; /* whole seconds */
    size_t n = (size_t)snprintf(out, cap, "REC %s  %llu segments  %.1f MB", t,
                                (unsigned long long)st.segments, (double)st.bytes / 1e6);
    for (unsigned i = 0; i < st.n_microphones && n < cap; i++) {
        char m[48];
        meter(m, sizeof m, st.peak_db[i]);
        n += (size_t)snprintf(out + n, cap - n, "  mic%u %s", i + 1,
                              st.microphone_lost[i] ? "LOST" : m);
    }
    for (unsigned i = 0; i < st.n_cameras && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n,
                              st.camera_lost[i] ? "  cam%u LOST" : "  cam%u %llu drop", i + 1,
                              (unsigned long long)st.dropped[i]);
}

typedef struct ui {
    session *s;
    bool tty_in;    /* keys, raw; else lines */
    bool typing;    /* after 'm': the marker text */
    bool confirm_q; /* after 'q': y ends */
    uint64_t mark_at_ms;
    char text[512];
    size_t len;
    char line[1024]; /* lines from a pipe */
    size_t line_len;
} ui;

static uint64_t session_ms(session *s)
{
    tlo_capture_stats st;
    tlo_capture_get_stats(s->cap, &st);
    return st.session_ns / 1000000;
}

static void on_key(ui *u, unsigned char k)
{
    session *s = u->s;
    if (u->typing) {
        if (k == '\r' || k == '\n') {
            u->text[u->len] = '\0';
            u->typing = false;
            add_marker(s, u->mark_at_ms, u->text);
        } else if (k == 27) { /* Esc */
            u->typing = false;
        } else if (k == 127 || k == 8) {
            while (u->len && ((unsigned char)u->text[u->len - 1] & 0xc0) == 0x80)
                u->len--;
            if (u->len)
                u->len--;
        } else if (k >= 0x20 && u->len + 1 < 501) {
            u->text[u->len++] = (char)k;
        }
        return;
    }
    if (u->confirm_q) {
        u->confirm_q = false;
        if (k == 'y' || k == 'Y')
            tlo_capture_stop(s->cap);
        return;
    }
    if (k == 'm' || k == 'M') {
        u->typing = true;
        u->len = 0;
        u->mark_at_ms = session_ms(s);
    } else if (k == 'q' || k == 'Q') {
        u->confirm_q = true;
    }
}

static void on_line(ui *u, char *line)
{
    if (!strcmp(line, "q"))
        tlo_capture_stop(u->s->cap);
    else if (line[0] == 'm' && line[1] == ' ')
        add_marker(u->s, session_ms(u->s), line + 2);
    else if (line[0])
        fprintf(stderr, "tellonce: ignored input \"%s\" (use 'm TEXT' or 'q')\n", line);
}

static void *ui_thread(void *arg)
{
    ui *u = arg;
    session *s = u->s;
    bool input = true;
    while (!s->finished) {
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int pr = input ? poll(&pfd, 1, 250) : (usleep(250000), 0);
        if (pr > 0) {
            char buf[256];
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                input = false; /* end of input: recording goes on */
            } else {
                for (ssize_t i = 0; i < n; i++) {
                    if (u->tty_in) {
                        on_key(u, (unsigned char)buf[i]);
                    } else if (buf[i] == '\n') {
                        u->line[u->line_len] = '\0';
                        on_line(u, u->line);
                        u->line_len = 0;
                    } else if (u->line_len + 1 < sizeof u->line) {
                        u->line[u->line_len++] = buf[i];
                    }
                }
            }
        }
        if (s->status_tty && !s->finished) {
            char line[1024];
            if (u->typing) {
                char at[32];
                clock_text(at, sizeof at, u->mark_at_ms);
                u->text[u->len] = '\0';
                snprintf(line, sizeof line, "marker at %s (Enter saves, Esc cancels): %s", at,
                         u->text);
            } else if (u->confirm_q) {
                snprintf(line, sizeof line,
                         "End the session now? y ends it, any other key goes on");
            } else {
                status_line(s, line, sizeof line);
            }
            pthread_mutex_lock(&s->lock);
            fprintf(stderr, "\r\033[K%s", line);
            fflush(stderr);
            s->line_shown = true;
            pthread_mutex_unlock(&s->lock);
        }
    }
    return NULL;
}

/* "N@SECONDS" of --test-fail-camera. */
static int parse_fail(const char *arg, unsigned *cam, uint64_t *at_ms)
{
    char *end;
    unsigned long n = strtoul(arg, &end, 10);
    if (end == arg || *end != '@' || n < 1 || n > TLO_HW_MAX_CAMERAS)
        return -1;
    const char *p = end + 1;
    double sec = strtod(p, &end);
    if (end == p || *end || !(sec >= 0) || sec > 86400)
        return -1;
    *cam = (unsigned)n;
    *at_ms = (uint64_t)(sec * 1000);
    return 0;
}

int cmd_record(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"room", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"monitor", no_argument, NULL, 'M'},
                                         {"no-live", no_argument, NULL, 'L'},
                                         {"test-fail-camera", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *room_spec = "simulated";
    uint64_t duration = 0, fail_at_ms = 0;
    unsigned fail_camera = 0;
    int c, live = 1, monitor = 0, rc;
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
        case 'r':
            room_spec = optarg;
            break;
        case 'd':
            if (tlo_parse_u64(optarg, &duration) != 0 || duration == 0 || duration > 86400) {
                cli_error("--duration takes whole seconds, 1 to 86400 (a day)");
                return EXIT_USAGE;
            }
            break;
        case 'M':
            monitor = 1;
            break;
        case 'L':
            live = 0;
            break;
        case 'F':
            if (parse_fail(optarg, &fail_camera, &fail_at_ms) != 0) {
                cli_error("--test-fail-camera takes N@SECONDS, a camera number and a time");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            record_usage(stdout);
            return EXIT_OK;
        default:
            record_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !as) {
        cli_error("record takes CASE and --as NAME; see 'tellonce record --help'");
        return EXIT_USAGE;
    }
    if (!live && !duration) {
        cli_error("--no-live needs --duration");
        return EXIT_USAGE;
    }
    tlo_error err = {0};
    tlo_hw_room room;
    if (tlo_hw_room_resolve(room_spec, &room, &err) != 0) {
        cli_error("%s", err.msg);
        return EXIT_USAGE;
    }
    if (fail_camera > room.n_cameras) {
        cli_error("--test-fail-camera: the room \"%s\" has %u cameras", room.name, room.n_cameras);
        return EXIT_USAGE;
    }
    if (monitor && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("--monitor needs a display (DISPLAY or WAYLAND_DISPLAY is not set); record "
                  "without it, or run it on the observation room's desktop");
        return EXIT_USAGE;
    }
    /* GStreamer first: a missing encoder is found before anything is logged. */
    gst_init(NULL, NULL);
    const char *encoder = NULL;
    if (tlo_hw_encoder_resolve(room.encoder, &encoder, &err) != 0)
        return cli_fail(&err);

    const char *number = argv[optind];
    char *vault = cli_vault_dir(vault_opt), *objects = NULL;
    cli_people pp = {0};
    session s = {.number = number};
    tlo_vault_identity *actor = NULL, *cust = NULL;
    uint8_t *key = NULL, session_id[TLO_ID_BYTES], digest[TLO_HW_DIGEST_BYTES];
    tlo_capture *cap = NULL;
    char body[3000], hex[2 * TLO_HW_DIGEST_BYTES + 1];
    int started = 0;
    pthread_t tid;
    int ui_started = 0, raw = 0;
    struct termios saved;
    pthread_mutex_init(&s.lock, NULL);

    s.chain = cli_open_ledger(vault, false, &rc);
    if (!s.chain || (rc = cli_people_load(s.chain, &pp)) != 0 ||
        (rc = cli_case_find(s.chain, number, &s.cs, false)) != 0)
        goto out;
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_INTERVIEWER,
                                    "interviewer (only interviewers record)", &rc)))
        goto out;
    s.signer.sk = actor->sign_sk;
    memcpy(s.signer.pk, actor->sign_pk, 32);
    objects = tlo_path_join(vault, "objects");
    if (mkdir(objects, 0700) != 0 && access(objects, W_OK) != 0) {
        cli_error("cannot use %s", objects);
        rc = EXIT_SYSTEM;
        goto out;
    }

    /* 1. The session starts in the ledger, durably, before any key moves:
     * the room's digest (docs/rooms.md), its devices and the encoder. */
    tlo_vault_random_id(session_id);
    tlo_hex(s.session_hex, session_id, TLO_ID_BYTES);
    tlo_hw_room_digest(&room, digest);
    tlo_hex(hex, digest, TLO_HW_DIGEST_BYTES);
    size_t n = 0;
    for (unsigned i = 0; i < room.n_cameras; i++) {
        const tlo_hw_camera *cam = &room.cameras[i];
        n += (size_t)snprintf(body + n, sizeof body - n, "camera.%u=%s %s %ux%u %u fps %u kbit/s\n",
                              i + 1, cam->source.kind == TLO_HW_SOURCE_TEST ? "test" : "device",
                              cam->source.value, cam->width, cam->height, cam->fps,
                              cam->bitrate_kbps);
    }
    n += (size_t)snprintf(body + n, sizeof body - n, "cameras=%u\nencoder=%s\n", room.n_cameras,
                          encoder);
    for (unsigned i = 0; i < room.n_microphones; i++) {
        const tlo_hw_source *src = &room.microphones[i].source;
        n += (size_t)snprintf(body + n, sizeof body - n, "microphone.%u=%s%s%s\n", i + 1,
                              src->kind == TLO_HW_SOURCE_SPEECH ? "speech"
                              : src->kind == TLO_HW_SOURCE_TONE ? "tone"
                                                                : "device",
                              src->kind == TLO_HW_SOURCE_DEVICE ? " " : "",
                              src->kind == TLO_HW_SOURCE_DEVICE ? src->value : "");
    }
    snprintf(body + n, sizeof body - n,
             "microphones=%u\nroom=%s\nroom_sha256=%s\nsegment_seconds=%u\nsession=%s\n",
             room.n_microphones, room.name, hex, room.segment_seconds, s.session_hex);
    if (append(&s, TLO_ENTRY_SESSION_START, body, &s.first_seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    started = 1;
    /* 2. Only now does the custodian release the case key. */
    if (!(cust = cli_unlock_custodian(vault)) || !(key = cli_case_key(vault, &s.cs, cust))) {
        rc = EXIT_BAD_DATA;
        goto end;
    }
    tlo_vault_identity_free(cust);
    cust = NULL;

    /* 3. Record. */
    tlo_capture_config cfg = {.room = room,
                              .encoder = encoder,
                              .duration_seconds = (unsigned)duration,
                              .live = live,
                              .monitor = monitor,
                              .objects_dir = objects,
                              .fail_camera = fail_camera,
                              .fail_at_ms = fail_at_ms};
    memcpy(cfg.case_id, s.cs.id, TLO_ID_BYTES);
    if (!(cap = tlo_capture_new(&cfg, key, on_segment, on_event, &s, &err))) {
        rc = cli_fail(&err);
        goto end;
    }
    s.cap = cap;
    s.status_tty = isatty(2);
    fprintf(stderr,
            "Recording case %s, session %s, in the room \"%s\" (%u camera%s, %u microphone%s, %s)"
            "%s\n",
            number, s.session_hex, room.name, room.n_cameras, room.n_cameras == 1 ? "" : "s",
            room.n_microphones, room.n_microphones == 1 ? "" : "s", encoder,
            duration ? "" : "; 'q' or Ctrl-C ends the session");
    if (isatty(0)) {
        fprintf(stderr, "Press 'm' to add a marker, 'q' to end.\n");
        if (tcgetattr(0, &saved) == 0) {
            struct termios t = saved;
            t.c_lflag &= ~(tcflag_t)(ICANON | ECHO); /* keys one by one; Ctrl-C still works */
            t.c_cc[VMIN] = 1;
            t.c_cc[VTIME] = 0;
            raw = tcsetattr(0, TCSANOW, &t) == 0;
        }
    }
    ui u = {.s = &s, .tty_in = raw};
    running = cap;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ui_started = pthread_create(&tid, NULL, ui_thread, &u) == 0;
    uint64_t t0 = now_ms();
    s.setup_cpu = process_cpu();
    rc = tlo_capture_run(cap, &err) == 0 ? EXIT_OK : EXIT_SYSTEM;
    running = NULL;
    s.finished = 1;
    if (ui_started)
        pthread_join(tid, NULL);
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    if (s.line_shown)
        fputs("\r\033[K", stderr);
    if (rc != EXIT_OK) {
        rc = cli_fail(&err);
        if (strstr(err.msg, "disk is full"))
            cli_error("the recording stopped: the disk holding the vault (%s) is full. The %llu "
                      "segments sealed before it are kept and logged.",
                      vault, (unsigned long long)s.segments);
    }
    uint64_t elapsed = now_ms() - t0;

end:
    /* 4. The session ends in the ledger whatever happened, then a checkpoint. */
    if (started) {
        snprintf(body, sizeof body,
                 "bytes=%llu\ndevice_events=%llu\nelapsed_ms=%llu\nmarkers=%llu\nmedia_ms=%llu\n"
                 "segments=%llu\nsession=%s\nstatus=%s\n",
                 (unsigned long long)s.bytes, (unsigned long long)s.events,
                 (unsigned long long)(cap ? elapsed : 0), (unsigned long long)s.markers,
                 (unsigned long long)(cap ? tlo_capture_media_ns(cap) / 1000000 : 0),
                 (unsigned long long)s.segments, s.session_hex, rc == EXIT_OK ? "ended" : "failed");
        uint64_t seq;
        tlo_error e2 = {0};
        if (append(&s, TLO_ENTRY_SESSION_END, body, &seq, &e2) != 0) {
            cli_fail(&e2);
            cli_error("the end of session %s could not be logged. Once that is solved (free "
                      "space if the disk is full), run 'tellonce recover --as \"%s\"' to close "
                      "it; everything sealed so far is kept.",
                      s.session_hex, as);
            rc = rc ? rc : EXIT_SYSTEM;
        } else {
            printf("Session %s of case %s: %llu segments, %.1f MB sealed; entries %llu to %llu "
                   "(the longest wait from a sealed segment to its entry: %llu ms).\n",
                   s.session_hex, number, (unsigned long long)s.segments, (double)s.bytes / 1e6,
                   (unsigned long long)s.first_seq, (unsigned long long)seq,
                   (unsigned long long)s.max_delay_ms);
            if (cap) {
                /* What sealing and logging cost, against the whole process
                 * (which includes unlocking two keys and all the encoding). */
                tlo_capture_stats st;
                tlo_capture_get_stats(cap, &st);
                fprintf(stderr,
                        "CPU: sealing %.3f s and logging %.3f s of %.2f s while recording; "
                        "%.2f s before it (unlocking keys, setting up).\n",
                        (double)st.seal_cpu_ns / 1e9, (double)s.log_cpu_ns / 1e9,
                        process_cpu() - s.setup_cpu, s.setup_cpu);
            }
            int crc = cli_checkpoint_write(vault, s.chain, NULL, false);
            if (crc && !rc)
                rc = crc;
        }
    }
out:
    tlo_capture_free(cap);
    tlo_vault_key_free(key);
    tlo_vault_identity_free(actor);
    tlo_vault_identity_free(cust);
    cli_people_free(&pp);
    tlo_chain_close(s.chain);
    pthread_mutex_destroy(&s.lock);
    free(objects);
    free(vault);
    return rc;
}
