/* tellonce record — record one interview session of a case.
 *
 * The custody core (tlo_custody_record_*) logs the session's entries in the
 * order that makes the custody and holds the case key; this file is the
 * operator's terminal: options, the status line, markers typed as 'm',
 * 'q'/'y', signals, and what is printed. */
#include "cli.h"
#include "tlo_time.h"
#include "service.h"

#include <getopt.h>
#include <gst/gst.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The live monitor of a recording in the service: its frames go to the
 * clients' windows, in memory (cli/monitor.c shows them). */
static void to_client(void *ctx, const uint8_t *jpeg, size_t len)
{
    (void)ctx;
    tlo_service_preview(jpeg, len);
}

static void record_usage(FILE *f)
{
    fputs(
        _("usage: tellonce record CASE --as NAME [--room simulated|PROFILE] [--duration SECONDS]\n"
          "                       [--monitor] [--json] [--passphrase-file FILE] [--vault DIR]\n"
          "       tellonce record --attach [SESSION] --as NAME   (through the custodian service)\n"
          "\n"
          "Records one continuous session of CASE in a room: the built-in simulated room\n"
          "(two test-pattern cameras with a running clock, synthesized speech), or the room\n"
          "profile PROFILE (docs/rooms.md). It runs until --duration, 'q' or Ctrl-C (each\n"
          "confirmed with 'y', or Ctrl-C again within 3 s), 'tellonce stop' or SIGTERM; its\n"
          "terminal closing or its reader going away does not end it. Every segment is\n"
          "sealed as it is recorded and logged;\n"
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
          "Through the custodian service it is the same (Ctrl-C asks, as 'q' does), and\n"
          "Ctrl-D detaches this terminal while the session goes on; closing the terminal or\n"
          "killing the client does not end it either. --attach joins a live session of the\n"
          "service from another terminal (NAME: the interviewer who started it, or an\n"
          "administrator), with its status line, markers, 'q' 'y' and Ctrl-C. Without\n"
          "SESSION it joins the only live one NAME may join.\n"
          "--json prints the summary at the end as one JSON object (docs/json.md).\n"
          "\n"
          "For tests: --no-live runs the simulated room as fast as the machine can (needs\n"
          "--duration); --test-fail-camera N@SECONDS makes camera N fail at that time.\n"),
        f);
}

typedef struct rec_opts {
    const char *as, *vault, *pass_file, *room_spec;
    uint64_t duration, fail_at_ms;
    unsigned fail_camera;
    bool live, monitor, attach, json;
} rec_opts;

/* The operator's terminal while recording. */
typedef struct term {
    tlo_custody_recording *rec;
    pthread_mutex_t lock;  /* the terminal: one thread at a time */
    bool status_tty;       /* stderr is a terminal: the status line is drawn */
    bool line_shown;       /* the status line is on the screen (clear before printing) */
    double setup_cpu;      /* CPU seconds of the process before the recording started */
    double cpu_end;        /* ... and when it ended */
    volatile int finished; /* the recording is over: the UI thread ends */
} term;

static tlo_custody_recording *running;
/* A SIGTERM (or Ctrl-C) that came before the recording ran: it ends the
 * session as soon as it runs (record_live), never leaves it open. */
static volatile sig_atomic_t stop_pending;

/* On a terminal, Ctrl-C asks first, as 'q' does: the operator's terminal
 * shows the question, and a second Ctrl-C within 3 s ends the session (as
 * 'q' then 'y'). The same in the custodian service, where the client's
 * Ctrl-C comes as a 0x03 through the pty (cli/remote.c): there an
 * interrupt that cannot be asked about (no terminal) is ignored, never
 * ends the session. */
static volatile sig_atomic_t intr_asks;    /* set while the terminal's UI runs */
static volatile sig_atomic_t intr_asked;   /* a Ctrl-C to show as the question */
static volatile long long intr_ms;         /* when the last Ctrl-C came (monotonic) */
static volatile sig_atomic_t intr_ignored; /* in the service: a Ctrl-C that cannot ask */
#define INTR_AGAIN_MS 3000

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* async-signal-safe */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    if (sig == SIGINT && intr_ignored && !intr_asks)
        return;
    if (sig == SIGINT && intr_asks && running) {
        long long now = mono_ms(), last = intr_ms;
        intr_ms = now;
        if (!last || now - last > INTR_AGAIN_MS) {
            intr_asked = 1;
            return;
        }
    }
    stop_pending = 1;
    if (running)
        tlo_custody_record_stop(running); /* only sets a flag */
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void clock_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu.%03llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60),
             (unsigned long long)(ms % 1000));
}

/* A line for the operator: above the status line on a terminal. Lock held. */
static void say(term *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(term *t, const char *fmt, ...)
{
    va_list ap;
    if (t->line_shown) {
        fputs("\r\033[K", stderr);
        t->line_shown = false;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* What the core logged (or could not) while recording. */
static void on_event(void *ctx, const tlo_custody_rec_event *ev)
{
    term *t = ctx;
    char at[32];
    pthread_mutex_lock(&t->lock);
    if (ev->kind == TLO_CUSTODY_REC_SEGMENT) {
        if (!t->status_tty) /* on a terminal the status line counts them */
            say(t, _("  segment %llu sealed: %.1f MB, logged as entry %llu"),
                (unsigned long long)ev->index, (double)ev->bytes / 1e6,
                (unsigned long long)ev->seq);
    } else if (ev->kind == TLO_CUSTODY_REC_LEDGER_WAIT) {
        say(t,
            _("! the ledger refused an entry (%s); the recording goes on, and the sealed segments "
              "wait and are retried in order. If another program holds the ledger, end it."),
            ev->err ? ev->err->msg : "");
    } else if (ev->kind == TLO_CUSTODY_REC_LEDGER_BACK) {
        say(t, "%s",
            _("  the ledger takes entries again: every waiting segment is logged, in order"));
    } else if (ev->kind == TLO_CUSTODY_REC_MONITOR_LOST) {
        say(t,
            _("! the monitor window stopped or could not open: %s. The recording goes on "
              "without it."),
            ev->message);
    } else {
        clock_text(at, sizeof at, ev->at_ms);
        if (ev->seq)
            /* TRANSLATORS: "camera 2 lost at 00:01:02.003 (why)"; the device word stays as it is */
            say(t, _("! %s %u lost at %s (%s); the recording goes on. Logged as entry %llu."),
                ev->device, ev->device_no, at, ev->message, (unsigned long long)ev->seq);
        else
            say(t, _("! %s %u lost at %s, and the event could not be logged: %s"), ev->device,
                ev->device_no, at, ev->err ? ev->err->msg : "");
    }
    pthread_mutex_unlock(&t->lock);
}

/* A marker at at_ms of the session, by the recording interviewer. */
static void add_marker(term *t, uint64_t at_ms, const char *text)
{
    char at[32];
    tlo_error err = {0};
    uint64_t seq;
    clock_text(at, sizeof at, at_ms);
    int rc = tlo_custody_record_mark(t->rec, at_ms, text, &seq, &err);
    pthread_mutex_lock(&t->lock);
    if (rc == 0)
        say(t, _("  marker at %s: \"%s\", logged as entry %llu"), at, text,
            (unsigned long long)seq);
    else if (rc == TLO_EARG)
        say(t, _("! marker not added: %s"), err.msg);
    else
        say(t, _("! marker at %s not logged: %s"), at, err.msg);
    pthread_mutex_unlock(&t->lock);
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

static void status_line(term *t, char *out, size_t cap)
{
    tlo_custody_record_status rs;
    tlo_custody_record_get_status(t->rec, &rs);
    const tlo_capture_stats *st = &rs.capture;
    char clock[32];
    clock_text(clock, sizeof clock, st->session_ns / 1000000);
    clock[8] = '\0'; /* whole seconds */
    /* TRANSLATORS: the live status line while recording; keep it short */
    size_t n = (size_t)snprintf(out, cap, _("REC %s  %llu segments  %.1f MB"), clock,
                                (unsigned long long)rs.segments, (double)rs.bytes / 1e6);
    if (rs.pending && rs.ledger_busy_since_ms && n < cap) { /* not the few ms of a normal append */
        char since[32];
        tlo_time_clock_text(rs.ledger_busy_since_ms, since, sizeof since);
        n += (size_t)snprintf(out + n, cap - n, _("  %llu PENDING (ledger busy since %s)"),
                              (unsigned long long)rs.pending, since);
    }
    for (unsigned i = 0; i < st->n_microphones && n < cap; i++) {
        char m[48];
        meter(m, sizeof m, st->peak_db[i]);
        /* TRANSLATORS: the status line: microphone N and its level, or LOST */
        n += (size_t)snprintf(out + n, cap - n, _("  mic%u %s"), i + 1,
                              st->microphone_lost[i] ? _("LOST") : m);
    }
    for (unsigned i = 0; i < st->n_cameras && n < cap; i++)
        if (st->camera_lost[i])
            /* TRANSLATORS: the status line: camera N lost */
            n += (size_t)snprintf(out + n, cap - n, _("  cam%u LOST"), i + 1);
        else
            /* TRANSLATORS: the status line: camera N and its dropped frames */
            n += (size_t)snprintf(out + n, cap - n, _("  cam%u %llu drop"), i + 1,
                                  (unsigned long long)st->dropped[i]);
}

typedef struct ui {
    term *t;
    bool tty_in;    /* keys, raw; else lines */
    bool typing;    /* after 'm': the marker text */
    bool confirm_q; /* after 'q': y ends */
    uint64_t mark_at_ms;
    char text[512];
    size_t len;
    char line[1024]; /* lines from a pipe */
    size_t line_len;
} ui;

static uint64_t session_ms(term *t)
{
    tlo_custody_record_status rs;
    tlo_custody_record_get_status(t->rec, &rs);
    return rs.capture.session_ns / 1000000;
}

/* A key while typing a marker's text. */
static void on_text_key(ui *u, unsigned char k)
{
    if (k == '\r' || k == '\n') {
        u->text[u->len] = '\0';
        u->typing = false;
        add_marker(u->t, u->mark_at_ms, u->text);
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
}

static void on_key(ui *u, unsigned char k)
{
    if (u->typing) {
        on_text_key(u, k);
        return;
    }
    if (u->confirm_q) {
        u->confirm_q = false;
        intr_ms = 0; /* answered: a later Ctrl-C asks again */
        if (k == 'y' || k == 'Y')
            tlo_custody_record_stop(u->t->rec);
        return;
    }
    if (k == 'm' || k == 'M') {
        u->typing = true;
        u->len = 0;
        u->mark_at_ms = session_ms(u->t);
    } else if (k == 'q' || k == 'Q') {
        u->confirm_q = true;
    }
}

static void on_line(ui *u, char *line)
{
    if (!strcmp(line, "q"))
        tlo_custody_record_stop(u->t->rec);
    else if (line[0] == 'm' && line[1] == ' ')
        add_marker(u->t, session_ms(u->t), line + 2);
    else if (line[0])
        fprintf(stderr, _("tellonce: ignored input \"%s\" (use 'm TEXT' or 'q')\n"), line);
}

/* Feeds what standard input has: keys, or lines from a pipe. false at its end. */
static bool ui_read(ui *u)
{
    char buf[256];
    ssize_t n = read(0, buf, sizeof buf);
    if (n <= 0)
        return false; /* end of input: recording goes on */
    for (ssize_t i = 0; i < n; i++) {
        if (u->tty_in) {
            on_key(u, (unsigned char)buf[i]);
        } else if (buf[i] == '\n' || buf[i] == '\r') { /* '\r': Enter of a raw terminal */
            u->line[u->line_len] = '\0';
            on_line(u, u->line);
            u->line_len = 0;
        } else if (u->line_len + 1 < sizeof u->line) {
            u->line[u->line_len++] = buf[i];
        }
    }
    return true;
}

/* The status line, or the marker being typed, or the question after 'q'. */
static void ui_draw(ui *u)
{
    term *t = u->t;
    char line[1024];
    if (u->typing) {
        char at[32];
        clock_text(at, sizeof at, u->mark_at_ms);
        u->text[u->len] = '\0';
        snprintf(line, sizeof line, _("marker at %s (Enter saves, Esc cancels): %s"), at, u->text);
    } else if (u->confirm_q) {
        snprintf(line, sizeof line, "%s",
                 _("End the session now? y (or Ctrl-C again within 3 s) ends it, any other key "
                   "goes on"));
    } else {
        status_line(t, line, sizeof line);
    }
    pthread_mutex_lock(&t->lock);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    t->line_shown = true;
    pthread_mutex_unlock(&t->lock);
}

static void *ui_thread(void *arg)
{
    ui *u = arg;
    term *t = u->t;
    bool input = true;
    while (!t->finished) {
        if (intr_asked) { /* Ctrl-C: the same question as 'q' */
            intr_asked = 0;
            u->typing = false;
            u->confirm_q = true;
        }
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        int pr = input ? poll(&pfd, 1, 250) : (usleep(250000), 0);
        if (pr > 0)
            input = ui_read(u);
        if (t->status_tty && !t->finished)
            ui_draw(u);
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

/* One option into o: -1 to go on, else the exit code. */
static int record_option(int c, rec_opts *o)
{
    switch (c) {
    case 'A':
        o->as = optarg;
        break;
    case 'V':
        o->vault = optarg;
        break;
    case 'P':
        o->pass_file = optarg;
        break;
    case 'r':
        o->room_spec = optarg;
        break;
    case 'd':
        if (tlo_parse_u64(optarg, &o->duration) != 0 || o->duration == 0 || o->duration > 86400) {
            cli_error("--duration takes whole seconds, 1 to 86400 (a day)");
            return EXIT_USAGE;
        }
        break;
    case 'M':
        o->monitor = true;
        break;
    case 'a':
        o->attach = true;
        break;
    case 'L':
        o->live = false;
        break;
    case 'j':
        o->json = true;
        break;
    case 'F':
        if (parse_fail(optarg, &o->fail_camera, &o->fail_at_ms) != 0) {
            cli_error("--test-fail-camera takes N@SECONDS, a camera number and a time");
            return EXIT_USAGE;
        }
        break;
    case 'h':
        record_usage(stdout);
        return EXIT_OK;
    default:
        cli_usage_hint();
        return EXIT_USAGE;
    }
    return -1;
}

static int record_options(int argc, char **argv, rec_opts *o)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"room", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"monitor", no_argument, NULL, 'M'},
                                         {"attach", no_argument, NULL, 'a'},
                                         {"no-live", no_argument, NULL, 'L'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"test-fail-camera", required_argument, NULL, 'F'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if ((rc = record_option(c, o)) >= 0)
            return rc;
    if (o->attach) {
        if (argc - optind > 1 || !o->as) {
            cli_error("record --attach takes [SESSION] and --as NAME; see 'tellonce record "
                      "--help'");
            return EXIT_USAGE;
        }
        return -1;
    }
    if (argc - optind != 1 || !o->as) {
        cli_error("record takes CASE and --as NAME; see 'tellonce record --help'");
        return EXIT_USAGE;
    }
    if (!o->live && !o->duration) {
        cli_error("--no-live needs --duration");
        return EXIT_USAGE;
    }
    return -1;
}

/* The room and the encoder, before anything is logged: -1 or the exit code. */
static int record_setup(const rec_opts *o, tlo_hw_room *room, const char **encoder)
{
    tlo_error err = {0};
    if (tlo_hw_room_resolve(o->room_spec, room, &err) != 0) {
        cli_error("%s", err.msg);
        return EXIT_USAGE;
    }
    if (o->fail_camera > room->n_cameras) {
        cli_error("--test-fail-camera: the room \"%s\" has %u cameras", room->name,
                  room->n_cameras);
        return EXIT_USAGE;
    }
    /* In the service the monitor is the client's window (its display was
     * checked there); here it is frames sent to it. */
    if (o->monitor && !tlo_service_in_child() && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("--monitor needs a display (DISPLAY or WAYLAND_DISPLAY is not set); record "
                  "without it, or run it on the observation room's desktop");
        return EXIT_USAGE;
    }
    /* GStreamer first: a missing encoder is found before anything is logged. */
    gst_init(NULL, NULL);
    if (tlo_hw_encoder_resolve(room->encoder, encoder, &err) != 0)
        return cli_fail(&err);
    return -1;
}

/* Without --room, the vault's default-room setting, else the simulated
 * room, said on the first line: -1 or the exit code. */
static int record_room(tlo_custody *v, rec_opts *o, char *buf, size_t cap)
{
    tlo_error err = {0};
    if (o->room_spec)
        return -1;
    int set = tlo_custody_setting(v, "default-room", buf, cap, &err);
    if (set < 0)
        return cli_fail(&err);
    if (set > 0) {
        o->room_spec = buf;
        fprintf(stderr, _("Room: %s (the vault's default-room setting; --room chooses another)\n"),
                buf);
    } else {
        o->room_spec = "simulated";
        fputs(_("Room: simulated (SIMULATED test patterns — set a default room with "
                "'tellonce settings set default-room NAME')\n"),
              stderr);
    }
    return -1;
}

/* Keys one by one on a terminal; true if set. Ctrl-C still works (and asks);
 * Ctrl-\ and Ctrl-Z, which would kill or stop the recording with no
 * session-end entry, are plain keys while it runs (the terminal's settings
 * come back at the end). */
static bool raw_keys(struct termios *saved)
{
    if (tcgetattr(0, saved) != 0)
        return false;
    struct termios t = *saved;
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    t.c_cc[VQUIT] = _POSIX_VDISABLE;
    t.c_cc[VSUSP] = _POSIX_VDISABLE;
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    return tcsetattr(0, TCSANOW, &t) == 0;
}

/* Runs the recording with the operator's terminal; the exit code. */
static int record_live(term *t, const char *number, const tlo_hw_room *room, const char *encoder,
                       const rec_opts *o, const char *vault)
{
    struct termios saved;
    bool raw = false;
    pthread_t tid;
    tlo_error err = {0};
    t->status_tty = isatty(2);
    fprintf(stderr,
            _("Recording case %s, session %s, in the room \"%s\" (cameras: %u, microphones: %u, "
              "encoder: %s).\n"),
            number, tlo_custody_record_session(t->rec), room->name, room->n_cameras,
            room->n_microphones, encoder);
    if (!o->duration || tlo_service_in_child())
        fputs(_("'q' or Ctrl-C, then 'y' (or Ctrl-C again within 3 s), ends the session.\n"),
              stderr);
    if (tlo_service_in_child())
        fprintf(stderr,
                _("In the custodian service: Ctrl-D detaches this terminal and the session goes "
                  "on ('tellonce record --attach %s --as NAME' returns to it, 'tellonce stop' "
                  "ends it).\n"),
                tlo_custody_record_session(t->rec));
    if (isatty(0)) {
        fputs(_("Press 'm' to add a marker, 'q' to end.\n"), stderr);
        raw = raw_keys(&saved);
    }
    ui u = {.t = t, .tty_in = raw};
    /* Ctrl-C asks first where the question can be answered and seen. */
    intr_asks = raw && t->status_tty;
    running = t->rec;
    if (stop_pending) /* a signal came while the session started */
        tlo_custody_record_stop(t->rec);
    bool ui_started = pthread_create(&tid, NULL, ui_thread, &u) == 0;
    t->setup_cpu = process_cpu();
    int rc = tlo_custody_record_run(t->rec, &err) == 0 ? EXIT_OK : EXIT_SYSTEM;
    t->cpu_end = process_cpu();
    intr_asks = 0;
    running = NULL;
    t->finished = 1;
    if (ui_started)
        pthread_join(tid, NULL);
    if (raw)
        tcsetattr(0, TCSANOW, &saved);
    if (t->line_shown)
        fputs("\r\033[K", stderr);
    if (rc != EXIT_OK) {
        rc = cli_fail(&err);
        tlo_custody_record_status rs;
        tlo_custody_record_get_status(t->rec, &rs);
        if (strstr(err.msg, "disk is full"))
            cli_error("the recording stopped: the disk holding the vault (%s) is full. The %llu "
                      "segments sealed before it are kept and logged.",
                      vault, (unsigned long long)rs.segments);
    }
    return rc;
}

/* record --json: the summary (docs/json.md). */
static void print_summary_json(const tlo_custody_record_summary *sum, const tlo_custody_case *cs,
                               const char *number)
{
    char id[2 * TLO_ID_BYTES + 1];
    tlo_hex(id, cs->id, TLO_ID_BYTES);
    printf("{\"session\":\"%s\",\"case_id\":\"%s\",\"case_number\":", sum->session, id);
    cli_json_string(stdout, number);
    printf(",\"segments\":%llu,\"bytes\":%llu,\"markers\":%llu,\"device_events\":%llu,"
           "\"start_entry\":%llu,\"end_entry\":%llu,\"max_delay_ms\":%llu}\n",
           (unsigned long long)sum->segments, (unsigned long long)sum->bytes,
           (unsigned long long)sum->markers, (unsigned long long)sum->device_events,
           (unsigned long long)sum->first_seq, (unsigned long long)sum->end_seq,
           (unsigned long long)sum->max_delay_ms);
}

/* Ends the session in the ledger (and a checkpoint), and says so. */
static int record_finish(term *t, int rc, const char *number, const char *as,
                         const tlo_custody_case *cs, bool json)
{
    tlo_custody_record_summary sum;
    tlo_error err = {0};
    int frc = tlo_custody_record_finish(t->rec, rc != EXIT_OK, &sum, &err);
    if (frc && !sum.end_seq && tlo_custody_record_stalled(t->rec)) {
        cli_fail(&err);
        cli_error("run 'tellonce recover --as \"%s\"' now: it closes session %s and keeps "
                  "what of its last segment was sealed",
                  as, sum.session);
        return rc ? rc : EXIT_SYSTEM;
    }
    if (frc && !sum.end_seq) {
        cli_fail(&err);
        cli_error("the end of session %s could not be logged. Once that is solved (free "
                  "space if the disk is full), run 'tellonce recover --as \"%s\"' to close "
                  "it; everything sealed so far is kept.",
                  sum.session, as);
        return rc ? rc : EXIT_SYSTEM;
    }
    if (json)
        print_summary_json(&sum, cs, number);
    else
        printf("Session %s of case %s: %llu segments, %.1f MB sealed; entries %llu to %llu "
               "(the longest wait from a sealed segment to its entry: %llu ms).\n",
               sum.session, number, (unsigned long long)sum.segments, (double)sum.bytes / 1e6,
               (unsigned long long)sum.first_seq, (unsigned long long)sum.end_seq,
               (unsigned long long)sum.max_delay_ms);
    if (sum.recorded)
        /* What sealing and logging cost, against the whole process (which
         * includes unlocking two keys and all the encoding). */
        fprintf(stderr,
                "CPU: sealing %.3f s and logging %.3f s of %.2f s while recording; "
                "%.2f s before it (unlocking keys, setting up).\n",
                (double)sum.seal_cpu_ns / 1e9, (double)sum.log_cpu_ns / 1e9,
                t->cpu_end - t->setup_cpu, t->setup_cpu);
    if (frc) {
        int crc = cli_fail(&err);
        rc = rc ? rc : crc;
    }
    return rc;
}

/* In the custodian service: the session is attachable under its id, so that
 * 'record --attach' and 'stop' find it. The owner text is what the parent
 * lists; nothing is decided on it (record_attach checks the ledger). */
static void record_attachable(term *t, const tlo_custody_case *cs, const char *as)
{
    if (!tlo_service_in_child())
        return;
    char owner[400], hex[2 * TLO_ID_BYTES + 1], name[TLO_NAME_MAX + 1];
    tlo_error err = {0};
    tlo_hex(hex, cs->id, TLO_ID_BYTES);
    tlo_clean_text(name, sizeof name, as);
    const tlo_service_peer *peer = tlo_service_client();
    snprintf(owner, sizeof owner, "case=%s uid=%u name=%s", hex, peer ? (unsigned)peer->uid : 0,
             name);
    if (tlo_service_register(tlo_custody_record_session(t->rec), owner, &err) != 0)
        cli_error("the session records, but no other terminal can attach to it (%s); 'q' then "
                  "'y' here, or 'tellonce stop', ends it",
                  err.msg);
}

/* record --attach [SESSION]: joins a live session of the service. */
static int record_attach(const rec_opts *o, const char *session)
{
    if (!tlo_service_in_child()) {
        cli_error("record --attach joins a recording of the custodian service (--socket PATH, "
                  "or $TELLONCE_SOCKET); a recording in a process of its own is watched at its "
                  "own terminal, and 'tellonce stop' ends it");
        return EXIT_USAGE;
    }
    int rc;
    tlo_error err = {0};
    tlo_custody_live live;
    char id[33];
    tlo_custody *v = cli_open(o->vault, false, &rc);
    if (!v)
        return rc;
    /* Its id, or a unique prefix of it (4+ hex digits), among every case's sessions. */
    if (session && (rc = cli_session_ref(v, NULL, session, id, NULL)) != 0) {
        tlo_custody_close(v);
        return rc;
    }
    if (session)
        session = id;
    tlo_vault_identity *actor = cli_acting(v, o->as, o->pass_file, TLO_ACT_STOP, &rc);
    /* The same decision as 'stop': the interviewer who started it, or an
     * administrator, on what the ledger and the case's lease say. */
    bool may = false;
    if (actor && tlo_custody_stop_check(v, actor, NULL, session, &live, &err) == 0) {
        may = true;
    } else if (actor) {
        rc = cli_fail(&err);
        if (err.code == TLO_EDENIED)
            cli_error("only the interviewer who started it, or an administrator, may attach");
    }
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    if (!may)
        return rc;
    if (tlo_service_attach(live.session, &err) != 0) {
        cli_error("cannot attach to session %s: %s (is it recording in this service?)",
                  live.session, err.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK; /* the client is the recording's now: this exit code is not sent */
}

int cmd_record(int argc, char **argv)
{
    rec_opts o = {.live = true};
    tlo_hw_room room;
    const char *encoder = NULL;
    int rc = record_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.attach)
        return record_attach(&o, optind < argc ? argv[optind] : NULL);
    const char *number = argv[optind];
    tlo_vault_identity *actor = NULL;
    tlo_custody_case cs;
    tlo_error err = {0};
    term t = {.rec = NULL};
    char room_spec[1100];
    tlo_custody *v = cli_open(o.vault, false, &rc);
    if (!v)
        return rc;
    pthread_mutex_init(&t.lock, NULL);
    if ((rc = record_room(v, &o, room_spec, sizeof room_spec)) >= 0 ||
        (rc = record_setup(&o, &room, &encoder)) >= 0)
        goto out;
    if ((rc = cli_find_case(v, number, &cs)) != 0 ||
        !(actor = cli_acting_on(v, o.as, o.pass_file, TLO_ACT_RECORD, cs.id, &rc)))
        goto out;
    /* From here a session may start: the client going away (its terminal
     * closed, its pipes or the service's connection gone) never ends it.
     * Writes to a reader that is gone fail with EPIPE instead of killing
     * the process; a hangup is ignored: 'tellonce stop', 'q', --duration
     * or SIGTERM end it, each logging the session's end. */
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    /* SIGTERM (and Ctrl-C) end the session, also one that comes while it
     * starts: the handler is in place before the session-start entry. In
     * the service a client's Ctrl-C reaches the recording through the pty
     * and asks as here; until it can ask (and without a terminal) it is
     * ignored: a client never ends a recording by going away. */
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    intr_ignored = tlo_service_in_child();
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    tlo_custody_record_params p = {.cs = &cs,
                                   .room = &room,
                                   .encoder = encoder,
                                   .duration_seconds = (unsigned)o.duration,
                                   .live = o.live,
                                   .monitor = o.monitor,
                                   .preview = tlo_service_in_child() ? to_client : NULL,
                                   .fail_camera = o.fail_camera,
                                   .fail_at_ms = o.fail_at_ms,
                                   .on_event = on_event,
                                   .ctx = &t};
    if (tlo_custody_record_start(v, actor, &p, &t.rec, &err) != 0) {
        rc = cli_fail(&err);
    } else {
        record_attachable(&t, &cs, o.as);
        rc = record_live(&t, number, &room, encoder, &o, tlo_custody_dir(v));
    }
    if (t.rec) /* the session started: it ends in the ledger whatever happened */
        rc = record_finish(&t, rc, number, o.as, &cs, o.json);
out:
    tlo_custody_record_free(t.rec);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    pthread_mutex_destroy(&t.lock);
    return rc;
}
