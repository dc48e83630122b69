/* tellonce play — view a granted clip of a session.
 *
 * Two parts, with one value between them (player/handover.h):
 *  - the decision (where the custodian is: in-process, or the service's
 *    child): the custodian logs the access and releases the object keys of
 *    the segments that overlap the range (custody/); the hand-over gets
 *    them, the segments' digests, the range, the player options and the
 *    watermark text, which this side decides (the name the ledger enrols,
 *    the case, the date and time of the access by this side's clock), with
 *    one read-only fd per segment file;
 *  - the showing (where the viewer is): FFmpeg decodes the segments from
 *    those fds through the decrypting read path (player/clip.c, which checks
 *    each file's SHA-256 first); the player window shows the cameras side by
 *    side with the watermark burned into the picture, and plays the audio (player/window.c).
 * --headless decodes the same frames without a window and reports what it decoded (tests,
 *    benchmarks). It never opens a path of the vault.
 * Embedded, the hand-over goes through its text and parser too, so both
 * ways show exactly what travels. */
#include "cli.h"
#include "tlo_time.h"
#include "clip.h"
#include "handover.h"
#include "layout.h"
#include "proto.h"
#include "service.h"
#include "window.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static void play_usage(FILE *f)
{
    fputs(_("usage: tellonce play CASE --session S --as NAME [--from HH:MM:SS] [--to HH:MM:SS]\n"
            "                     [--purpose TEXT] [--layout side-by-side|pip|camN]\n"
            "                     [--headless [--json]] [--passphrase-file FILE] [--vault DIR]\n"
            "\n"
            "Shows the range --from to --to (default: all that NAME is granted) of session S\n"
            "(its number in 'tellonce session list', or 4+ hex digits of its id) of CASE\n"
            "(its number or internal id): the cameras side by side, the audio, the\n"
            "session's markers inside the range, and a watermark with NAME, the case and\n"
            "the time of the access burned into the picture. The access is logged before\n"
            "anything is decrypted; only the segments of the range are. Keys (in the window\n"
            "or the terminal): space pauses, left/right arrows seek 10 s (never outside the\n"
            "granted range), q quits. On a terminal the last frame stays at the end of the\n"
            "range until q (or a seek back); otherwise the end of the range ends it.\n"
            "--headless decodes the range without a window and reports frames and times;\n"
            "with --json as one JSON object (docs/json.md).\n"
            "--layout: side-by-side (every camera, the default), pip (camera 2 as an inset in\n"
            "the bottom-right corner of camera 1, with the session clock and the local date\n"
            "and time of the recording burned in), or camN (camera N of the room profile\n"
            "alone, cam1, cam2). The key l in the window switches layouts, in that order;\n"
            "the window's title names the case, the person and the layout.\n"),
          f);
}

typedef struct play_args {
    const char *as, *vault_opt, *pass_file, *session, *purpose, *case_number;
    const char *layout; /* --layout, or NULL (side-by-side) */
    uint64_t from_ms, to_ms;
    bool has_from, has_to;
    char session_id[33]; /* the session --session names */
    int headless;
    bool json; /* --json, with --headless */
} play_args;

/* play --headless --json: what run_headless prints (in this process). */
static bool headless_json;

/* --layout: 0, or -1 with the error printed. */
static int layout_check(const play_args *a)
{
    tlo_layout l;
    if (a->layout && tlo_layout_parse(a->layout, &l) != 0) {
        cli_error("--layout takes side-by-side, pip or a camera as the room profile numbers it "
                  "(cam1, cam2); see 'tellonce play --help'");
        return -1;
    }
    return 0;
}

/* What play's options say together: 0, or an exit code (the error printed). */
static int check_args(play_args *a, const char *from, const char *to)
{
    if (a->json && !a->headless) {
        cli_error("--json is for play --headless (the window shows the clip, it prints no "
                  "data); add --headless or leave --json out");
        return EXIT_USAGE;
    }
    headless_json = a->json;
    if (layout_check(a) != 0)
        return EXIT_USAGE;
    if ((from && cli_parse_session_time(from, &a->from_ms) != 0) ||
        (to && cli_parse_session_time(to, &a->to_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm optional)");
        return EXIT_USAGE;
    }
    a->has_from = from != NULL;
    a->has_to = to != NULL;
    if (cli_range_order(a->has_from, a->has_to, a->from_ms, a->to_ms) != 0)
        return EXIT_USAGE;
    /* (In the service's child the display is the client's: its part checks.) */
    if (!a->headless && !tlo_service_in_child() && !getenv("DISPLAY") &&
        !getenv("WAYLAND_DISPLAY")) {
        cli_error("play needs a display (DISPLAY or WAYLAND_DISPLAY is not set); --headless "
                  "decodes without one");
        return EXIT_USAGE;
    }
    return 0;
}

/* 0, or an exit code (the error printed); -1 after --help. */
static int parse_args(int argc, char **argv, play_args *a)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"session", required_argument, NULL, 's'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"to", required_argument, NULL, 't'},
                                         {"purpose", required_argument, NULL, 'p'},
                                         {"headless", no_argument, NULL, 'H'},
                                         {"layout", required_argument, NULL, 'Y'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *from = NULL, *to = NULL;
    int c;
    memset(a, 0, sizeof *a);
    a->to_ms = UINT64_MAX;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            a->as = optarg;
            break;
        case 'V':
            a->vault_opt = optarg;
            break;
        case 'P':
            a->pass_file = optarg;
            break;
        case 's':
            a->session = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'p':
            a->purpose = optarg;
            break;
        case 'H':
            a->headless = 1;
            break;
        case 'Y':
            a->layout = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 'h':
            play_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !a->as || !a->session) {
        cli_error("play takes CASE, --session and --as; see 'tellonce play --help'");
        return EXIT_USAGE;
    }
    a->case_number = argv[optind];
    return check_args(a, from, to);
}

/* ---- markers of the session ---- */

/* The session's markers inside the released range [from_ms, to_ms], in
 * session time order (the ledger holds them in the order they were added,
 * and a marker added afterwards may be earlier): a person granted 10-20 s
 * sees the markers of 10-20 s, no others. */
typedef struct play_marker {
    uint64_t at_ms;
    char text[1024];
} play_marker;

typedef struct marker_scan {
    const uint8_t *case_id;
    const char *session;
    uint64_t from_ms, to_ms;
    play_marker *m;
    size_t n, cap;
    bool failed;
    uint64_t started_ms; /* the session-start entry's time, 0 until seen */
    uint64_t length_ms;  /* the latest end of its segments: the window's time axis */
} marker_scan;

static int visit_marker(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    marker_scan *ms = ctx;
    char session[40];
    uint64_t v;
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_SESSION_START && e->has_case &&
        memcmp(e->case_id, ms->case_id, TLO_ID_BYTES) == 0 &&
        tlo_entry_str(e, "session", session, sizeof session) == 0 &&
        strcmp(session, ms->session) == 0)
        ms->started_ms = e->time_ms;
    if (e->kind == TLO_ENTRY_SEGMENT && e->has_case &&
        memcmp(e->case_id, ms->case_id, TLO_ID_BYTES) == 0 &&
        tlo_entry_str(e, "session", session, sizeof session) == 0 &&
        strcmp(session, ms->session) == 0 && tlo_entry_u64(e, "end_ms", &v) == 0 &&
        v > ms->length_ms)
        ms->length_ms = v;
    if (e->kind != TLO_ENTRY_MARKER || !e->has_case ||
        memcmp(e->case_id, ms->case_id, TLO_ID_BYTES) != 0 ||
        tlo_entry_str(e, "session", session, sizeof session) != 0 ||
        strcmp(session, ms->session) != 0 || tlo_entry_u64(e, "at_ms", &v) != 0 ||
        v < ms->from_ms || v > ms->to_ms)
        return 0;
    if (ms->n == ms->cap) {
        size_t cap = ms->cap ? 2 * ms->cap : 16;
        play_marker *m = cap < 100000 ? realloc(ms->m, cap * sizeof *m) : NULL;
        if (!m) {
            ms->failed = true;
            return 0;
        }
        ms->m = m;
        ms->cap = cap;
    }
    if (tlo_entry_str(e, "text", ms->m[ms->n].text, sizeof ms->m[ms->n].text) != 0)
        return 0;
    ms->m[ms->n++].at_ms = v;
    return 0;
}

static int marker_order(const void *a, const void *b)
{
    const play_marker *x = a, *y = b;
    return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

/* Lists the markers ms collected, sorted by their session time. */
static void print_markers(marker_scan *ms)
{
    if (ms->n) /* qsort of no array (NULL) is undefined */
        qsort(ms->m, ms->n, sizeof *ms->m, marker_order);
    for (size_t i = 0; i < ms->n; i++) {
        uint64_t v = ms->m[i].at_ms;
        fprintf(stderr, _("  marker %02llu:%02llu:%02llu.%03llu  %s\n"),
                (unsigned long long)(v / 3600000), (unsigned long long)(v / 60000 % 60),
                (unsigned long long)(v / 1000 % 60), (unsigned long long)(v % 1000), ms->m[i].text);
    }
    if (ms->failed)
        cli_error("out of memory for the session's markers: some are not listed");
}

static void hms(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

static void print_access(const tlo_custody_released *rel, const play_args *a)
{
    char from[32], to[32];
    hms(from, sizeof from, rel->from_ms);
    hms(to, sizeof to, rel->to_ms);
    unsigned long long first = rel->n ? rel->seg[0].index : 0,
                       last = rel->n ? rel->seg[rel->n - 1].index : 0;
    if (rel->grant_seq)
        fprintf(stderr,
                _("Access logged as entry %llu (under a grant). Session %s of case %s, %s to %s, "
                  "segments %llu to %llu.\n"),
                (unsigned long long)rel->access_seq, a->session, a->case_number, from, to, first,
                last);
    else
        fprintf(stderr,
                _("Access logged as entry %llu (the interviewer's own recording). Session %s of "
                  "case %s, %s to %s, segments %llu to %llu.\n"),
                (unsigned long long)rel->access_seq, a->session, a->case_number, from, to, first,
                last);
}

/* What the picture will carry, said once on the terminal. */
static void print_window(const tlo_play_handover *h)
{
    fprintf(stderr, _("Watermark: %s\n"), h->watermark);
    fprintf(stderr, _("Layout: %s\n"), h->layout);
}

/* What the window's bar shows (window.h): the session's length, the
 * markers print_markers listed (sorted, inside the range), and the vault's
 * display zone for pip's date and time (the client of the service has no
 * vault to read it from). */
static void window_bar(const marker_scan *ms, tlo_play_handover *h)
{
    bool system = true;
    h->session_ms = ms->length_ms > h->to_ms ? ms->length_ms : h->to_ms;
    h->nmarks = 0;
    for (size_t i = 0; i < ms->n && h->nmarks < TLO_PLAY_HANDOVER_MAX_MARKERS; i++)
        h->marks[h->nmarks++] = ms->m[i].at_ms;
    tlo_time_zone_name(h->zone, sizeof h->zone, &system);
    if (system)
        h->zone[0] = '\0';
}

/* ---- the showing part: the hand-over and its fds, nothing of the vault ---- */

typedef struct headless {
    uint64_t video, audio;
} headless;

static int count_frame(void *ctx, const tlo_clip_frame *f)
{
    headless *h = ctx;
    if (f->kind == TLO_PLAYER_TRACK_VIDEO)
        h->video++;
    else
        h->audio++;
    return 0;
}

/* play --headless --json (docs/json.md). */
static void print_headless_json(const tlo_play_handover *ho, const headless *h,
                                const tlo_clip_stats *st)
{
    printf("{\"access_entry\":%llu,\"from_ms\":%llu,\"to_ms\":%llu,\"video_frames\":%llu,"
           "\"audio_frames\":%llu,\"first_ms\":%llu,\"last_ms\":%llu,\"segments\":%u,"
           "\"first_frame_us\":%llu,\"watermark\":",
           (unsigned long long)ho->access_seq, (unsigned long long)ho->from_ms,
           (unsigned long long)ho->to_ms, (unsigned long long)h->video,
           (unsigned long long)h->audio, (unsigned long long)st->first_ms,
           (unsigned long long)st->last_ms, st->segments_opened,
           (unsigned long long)st->first_frame_us);
    cli_json_string(stdout, ho->watermark);
    printf(",\"layout\":");
    cli_json_string(stdout, ho->layout);
    printf(",\"tracks\":[");
    for (unsigned k = 0; k < st->tracks; k++)
        printf("%s{\"track\":%u,\"kind\":\"%s\",\"frames\":%llu}", k ? "," : "", k,
               st->kind[k] == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio",
               (unsigned long long)st->frames[k]);
    printf("]}\n");
}

static int run_headless(const tlo_clip_segment *segs, const tlo_play_handover *ho)
{
    headless h = {0};
    tlo_clip_stats st;
    tlo_error err = {0};
    if (tlo_clip_decode(segs, ho->n, ho->from_ms, ho->to_ms, count_frame, &h, &st, &err) < 0)
        return cli_fail(&err);
    if (headless_json) {
        print_headless_json(ho, &h, &st);
        return EXIT_OK;
    }
    printf(_("Decoded %llu video and %llu audio frames in %u tracks, %llu.%03llu s to "
             "%llu.%03llu s of the session, from %u segments; the first frame after %llu.%03llu "
             "ms.\n"),
           (unsigned long long)h.video, (unsigned long long)h.audio, st.tracks,
           (unsigned long long)(st.first_ms / 1000), (unsigned long long)(st.first_ms % 1000),
           (unsigned long long)(st.last_ms / 1000), (unsigned long long)(st.last_ms % 1000),
           st.segments_opened, (unsigned long long)(st.first_frame_us / 1000),
           (unsigned long long)(st.first_frame_us % 1000));
    for (unsigned k = 0; k < st.tracks; k++)
        printf(st.kind[k] == TLO_PLAYER_TRACK_VIDEO ? _("  track %u: video, %llu frames\n")
                                                    : _("  track %u: audio, %llu frames\n"),
               k, (unsigned long long)st.frames[k]);
    return EXIT_OK;
}

/* ---- the window, with keys and a status line on a terminal ---- */

static int term_key(void *ctx)
{
    struct pollfd pfd = {.fd = 0, .events = POLLIN};
    char b[8];
    (void)ctx;
    if (poll(&pfd, 1, 0) <= 0)
        return 0;
    ssize_t n = read(0, b, sizeof b);
    if (n == 1)
        return b[0];
    if (n >= 3 && b[0] == 27 && b[1] == '[')
        return b[2] == 'C' ? 'R' : b[2] == 'D' ? 'L' : 0;
    return 0;
}

static void term_status(void *ctx, tlo_window_state state, uint64_t at)
{
    const tlo_play_handover *ho = ctx;
    char from[32], to[32];
    hms(from, sizeof from, ho->from_ms);
    hms(to, sizeof to, ho->to_ms);
    /* TRANSLATORS: the play status word; padded to the widest of the three. */
    const char *word = state == TLO_WINDOW_ENDED    ? _("ENDED")
                       : state == TLO_WINDOW_PAUSED ? _("PAUSED")
                                                    : _("PLAYING");
    fputs("\r\033[K", stderr);
    cli_print_padded(stderr, word, 7);
    fprintf(stderr, _(" %02llu:%02llu:%02llu.%01llu  (granted %s to %s)"),
            (unsigned long long)(at / 3600000), (unsigned long long)(at / 60000 % 60),
            (unsigned long long)(at / 1000 % 60), (unsigned long long)(at % 1000 / 100), from, to);
    fflush(stderr);
}

static int run_window(const tlo_clip_segment *segs, const tlo_play_handover *ho)
{
    tlo_window_params wp = {.segs = segs,
                            .nsegs = ho->n,
                            .from_ms = ho->from_ms,
                            .to_ms = ho->to_ms,
                            .watermark = ho->watermark,
                            .title = ho->title,
                            .started_ms = ho->started_ms,
                            .session_ms = ho->session_ms,
                            .marks = ho->marks,
                            .nmarks = ho->nmarks,
                            .ctx = (void *)(uintptr_t)ho};
    struct termios saved;
    bool raw = false;
    if (isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        raw = tcsetattr(0, TCSANOW, &t) == 0;
    }
    tlo_layout_parse(ho->layout, &wp.layout); /* the parser checked it */
    if (raw) {
        wp.read_key = term_key;
        wp.status = term_status;
    }
    fprintf(stderr,
            _("Playing; space pauses, arrows seek 10 s, l switches the layout, q quits.\n"));
    tlo_error err = {0};
    int r = tlo_window_play(&wp, &err);
    if (raw) {
        fputs("\n", stderr);
        tcsetattr(0, TCSANOW, &saved);
    }
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}

/* Shows the hand-over's clip: segment i read from fds[i] (nfds of them,
 * which must be one per segment; not closed here). An exit code. */
static int play_show(const tlo_play_handover *ho, const int *fds, size_t nfds)
{
    if (nfds != ho->n) {
        cli_error("the play hand-over names %zu segments but %zu files came with it; nothing "
                  "was shown: run play again",
                  ho->n, nfds);
        return EXIT_BAD_DATA;
    }
    if (!ho->headless && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("play needs a display (DISPLAY or WAYLAND_DISPLAY is not set); --headless "
                  "decodes without one");
        return EXIT_USAGE;
    }
    /* pip's date and time in the vault's zone (the parser checked it). */
    if (ho->zone[0])
        (void)tlo_time_set_zone(ho->zone);
    tlo_clip_segment *segs = calloc(ho->n, sizeof *segs);
    char(*names)[64] = calloc(ho->n, sizeof *names);
    int rc = EXIT_SYSTEM;
    if (segs && names) {
        for (size_t i = 0; i < ho->n; i++) {
            const tlo_play_handover_segment *s = &ho->seg[i];
            snprintf(names[i], sizeof names[i], "%llu (object %s)", (unsigned long long)s->index,
                     s->object);
            segs[i] = (tlo_clip_segment){.path = names[i],
                                         .from_fd = true,
                                         .fd = fds[i],
                                         .ciphertext_sha256 = s->ciphertext_sha256,
                                         .object_key = s->key,
                                         .start_ms = s->start_ms,
                                         .end_ms = s->end_ms,
                                         .plaintext_sha256 = s->plaintext_sha256};
        }
        rc = ho->headless ? run_headless(segs, ho) : run_window(segs, ho);
    } else {
        cli_error("out of memory");
    }
    free(names);
    free(segs);
    return rc;
}

/* ---- the decision part: the custodian's release into a hand-over ---- */

/* The window's layout and title: the case as the person named it, the
 * person as the ledger enrols them. */
static void window_fields(const play_args *a, const char *person, tlo_play_handover *h)
{
    tlo_layout l;
    tlo_layout_parse(a->layout ? a->layout : "side-by-side", &l);
    tlo_layout_text(&l, h->layout, sizeof h->layout);
    snprintf(h->title, sizeof h->title, _("tellonce play - case %s - %s"), a->case_number, person);
}

/* The hand-over of rel: its keys copied into h's secure memory; the
 * watermark names the person as the ledger enrols them. */
static int make_handover(tlo_custody *v, const tlo_vault_identity *actor,
                         const tlo_custody_released *rel, const play_args *a, tlo_play_handover *h)
{
    tlo_error err = {0};
    uint8_t actor_id[32];
    if (tlo_play_handover_alloc(h, rel->n, &err) != 0)
        return cli_fail(&err);
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    const tlo_custody_person *who = tlo_custody_person_by_actor(v, actor_id);
    char when[TLO_TIME_TEXT_MAX];
    tlo_time_text((uint64_t)time(NULL) * 1000, when, sizeof when);
    snprintf(h->watermark, sizeof h->watermark, "VIEWED BY %s - CASE %s - %s",
             who ? who->name : actor->name, a->case_number, when);
    window_fields(a, who ? who->name : actor->name, h);
    h->access_seq = rel->access_seq;
    h->from_ms = rel->from_ms;
    h->to_ms = rel->to_ms;
    h->headless = a->headless;
    for (size_t i = 0; i < rel->n; i++) {
        const tlo_custody_segment *s = &rel->seg[i];
        tlo_play_handover_segment *d = &h->seg[i];
        d->index = s->index;
        d->start_ms = s->start_ms;
        d->end_ms = s->end_ms;
        d->bytes = s->bytes;
        d->seq = s->seq;
        memcpy(d->object, s->object, sizeof d->object);
        memcpy(d->plaintext_sha256, s->plaintext_sha256, 32);
        memcpy(d->ciphertext_sha256, s->ciphertext_sha256, 32);
        memcpy(d->key, s->key, TLO_OBJECT_KEY_BYTES);
    }
    return 0;
}

/* The released segments' files, open read-only (fds[i] for segment i). */
static int open_segments(tlo_custody *v, const tlo_custody_released *rel, int *fds)
{
    for (size_t i = 0; i < rel->n; i++)
        fds[i] = -1;
    for (size_t i = 0; i < rel->n; i++) {
        char *path = tlo_custody_object_path(v, rel->seg[i].object);
        fds[i] = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        if (fds[i] < 0) {
            cli_error("cannot open segment %llu, %s: %s; run 'tellonce verify'",
                      (unsigned long long)rel->seg[i].index, path ? path : rel->seg[i].object,
                      path ? strerror(errno) : "out of memory");
            free(path);
            return path ? EXIT_BAD_DATA : EXIT_SYSTEM;
        }
        free(path);
    }
    return 0;
}

static void close_fds(int *fds, size_t n)
{
    for (size_t i = 0; fds && i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
}

/* The hand-over as it travels: encoded, then parsed back (the same code the
 * service's client runs on what it receives). */
static int through_text(const tlo_play_handover *h, tlo_play_handover *out)
{
    char *text = NULL;
    size_t len = 0;
    tlo_error err = {0};
    int rc = tlo_play_handover_encode(h, &text, &len, &err) != 0 ||
                     tlo_play_handover_parse(text, len, out, &err) != 0
                 ? cli_fail(&err)
                 : 0;
    tlo_play_handover_text_free(text);
    return rc;
}

/* In the service's child: the hand-over to the client, as DATA frames of at
 * most TLO_SVC_FDS_MAX segments each, every frame with its segments' fds
 * (read-only), cut between segment lines. An exit code. */
static int send_handover(const tlo_play_handover *h, const int *fds, size_t nfds)
{
    char *text = NULL;
    size_t len = 0;
    tlo_error err = {0};
    /* The client keeps at most 64 DATA frames (cli/remote.c). */
    if (h->n > 64 * TLO_SVC_FDS_MAX) {
        cli_error("the range covers %zu segments; through the custodian service one play shows "
                  "at most %d: play it in parts (the access is logged, nothing was shown)",
                  h->n, 64 * TLO_SVC_FDS_MAX);
        return EXIT_USAGE;
    }
    if (nfds != h->n || tlo_play_handover_encode(h, &text, &len, &err) != 0)
        return err.code ? cli_fail(&err) : EXIT_SYSTEM;
    int rc = EXIT_OK;
    for (size_t k = 0; rc == EXIT_OK && k < h->n; k += TLO_SVC_FDS_MAX) {
        size_t nf = h->n - k < TLO_SVC_FDS_MAX ? h->n - k : TLO_SVC_FDS_MAX;
        size_t a = k ? tlo_play_handover_offset(text, len, k) : 0;
        size_t e = k + nf < h->n ? tlo_play_handover_offset(text, len, k + nf) : len;
        if (e - a > TLO_SVC_FRAME_MAX ||
            tlo_service_send(TLO_SVC_DATA, text + a, e - a, fds + k, nf) != 0) {
            cli_error("cannot hand the clip's segments %zu to %zu over to the client: %s; the "
                      "access is logged, nothing was shown: run play again",
                      k, k + nf - 1, strerror(errno));
            rc = EXIT_SYSTEM;
        }
    }
    tlo_play_handover_text_free(text);
    return rc;
}

int cli_play_client(const char *text, size_t len, const int *fds, size_t nfds, int argc,
                    char **argv)
{
    tlo_play_handover h;
    play_args a;
    tlo_error err = {0};
    /* The options as the service's child read them (it accepted them):
     * what this side prints, --json above all, is the client's to know. */
    int rc0 = parse_args(argc, argv, &a);
    if (rc0 != 0)
        return rc0 < 0 ? EXIT_USAGE : rc0;
    if (tlo_play_handover_parse(text, len, &h, &err) != 0)
        return cli_fail(&err);
    int rc = play_show(&h, fds, nfds);
    tlo_play_handover_free(&h);
    return rc;
}

int cmd_play(int argc, char **argv)
{
    play_args a;
    tlo_custody_case cs;
    tlo_custody_request req;
    tlo_custody_released rel = {0};
    tlo_play_handover h = {0}, shown = {0};
    int *fds = NULL;
    size_t nfds = 0;
    tlo_error err = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = cli_open(a.vault_opt, false, &rc);
    if (!v || (rc = cli_find_case(v, a.case_number, &cs)) != 0 ||
        (rc = cli_session_ref(v, &cs, a.session, a.session_id, NULL)) != 0 ||
        !(actor = cli_acting(v, a.as, a.pass_file,
                             TLO_ACT_LOGIN /* the custodian decides, and logs */, &rc)) ||
        (rc = cli_clip_range(v, &cs, a.session_id, actor, TLO_CUSTODY_VIEW, a.has_from, a.has_to,
                             &a.from_ms, &a.to_ms)) != 0)
        goto out;
    a.session = a.session_id;
    /* The access is logged, then the keys come: the range's and no more. */
    if (tlo_custody_request_make(v, actor, TLO_CUSTODY_VIEW, &cs, a.session, a.from_ms, a.to_ms,
                                 a.purpose, &req, &err) != 0 ||
        tlo_custody_release(v, &req, &rel, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(fds = calloc(rel.n ? rel.n : 1, sizeof *fds))) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    nfds = rel.n;
    if ((rc = open_segments(v, &rel, fds)) != 0 ||
        (rc = make_handover(v, actor, &rel, &a, &h)) != 0)
        goto out;
    print_access(&rel, &a);
    print_window(&h);
    tlo_custody_released_free(&rel); /* the hand-over holds the keys now */
    marker_scan ms = {
        .case_id = cs.id, .session = a.session, .from_ms = h.from_ms, .to_ms = h.to_ms};
    tlo_chain_walk_case(tlo_custody_chain(v), cs.id, 0, visit_marker, &ms, &err);
    print_markers(&ms);
    window_bar(&ms, &h);
    free(ms.m);
    h.started_ms = ms.started_ms;
    /* Nothing of the ledger is needed any more. */
    tlo_custody_close(v);
    v = NULL;
    if (tlo_service_in_child()) /* the client shows it, on its user's screen */
        rc = send_handover(&h, fds, nfds);
    else if ((rc = through_text(&h, &shown)) == 0)
        rc = play_show(&shown, fds, nfds);
out:
    close_fds(fds, nfds);
    tlo_play_handover_free(&shown);
    tlo_play_handover_free(&h);
    tlo_custody_released_free(&rel);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}
