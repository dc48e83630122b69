/* tellonce play — view a granted clip of a session.
 *
 * The custodian logs the access and releases the object keys of the
 * segments that overlap the range (custody/); FFmpeg decodes them through
 * the decrypting read path (player/clip.c); the player window shows the
 * cameras side by side with the viewer's name, the case and the local date
 * and time burned into the picture, and plays the audio (player/window.c).
 * --headless decodes the same frames without a window and reports what it
 * decoded (tests, benchmarks). */
#include "cli.h"
#include "clip.h"
#include "window.h"

#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static void play_usage(FILE *f)
{
    fprintf(f,
            "usage: tellonce play CASE --session ID --as NAME [--from HH:MM:SS] [--to HH:MM:SS]\n"
            "                     [--purpose TEXT] [--headless] [--passphrase-file FILE]\n"
            "                     [--vault DIR]\n"
            "\n"
            "Shows the range --from to --to (default: all that NAME may see) of session ID\n"
            "of CASE: the cameras side by side, the audio, the session's markers listed,\n"
            "and a watermark with NAME, the case and the local date and time burned into\n"
            "the picture. The access is logged before anything is decrypted; only the\n"
            "segments of the range are. Keys (in the window or the terminal): space\n"
            "pauses, left/right arrows seek 10 s (never outside the granted range), q\n"
            "quits. On a terminal the last frame stays at the end of the range until q (or\n"
            "a seek back); otherwise the end of the range ends it. --headless decodes the\n"
            "range without a window and reports frames and times.\n");
}

typedef struct play_args {
    const char *as, *vault_opt, *pass_file, *session, *purpose, *case_number;
    uint64_t from_ms, to_ms;
    int headless;
} play_args;

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
        case 'h':
            play_usage(stdout);
            return -1;
        default:
            play_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !a->as || !a->session) {
        cli_error("play takes CASE, --session and --as; see 'tellonce play --help'");
        return EXIT_USAGE;
    }
    a->case_number = argv[optind];
    if ((from && cli_parse_session_time(from, &a->from_ms) != 0) ||
        (to && cli_parse_session_time(to, &a->to_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm optional)");
        return EXIT_USAGE;
    }
    if (strlen(a->session) != 32) {
        cli_error("--session takes a session id: 32 hex digits, as 'tellonce log' shows them");
        return EXIT_USAGE;
    }
    if (!a->headless && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("play needs a display (DISPLAY or WAYLAND_DISPLAY is not set); --headless "
                  "decodes without one");
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- markers of the session ---- */

typedef struct marker_scan {
    const uint8_t *case_id;
    const char *session;
} marker_scan;

static int visit_marker(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    marker_scan *ms = ctx;
    char session[40], text[1024];
    uint64_t v;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_MARKER || !e->has_case ||
        memcmp(e->case_id, ms->case_id, TLO_ID_BYTES) != 0 ||
        tlo_entry_str(e, "session", session, sizeof session) != 0 ||
        strcmp(session, ms->session) != 0 || tlo_entry_str(e, "text", text, sizeof text) != 0 ||
        tlo_entry_u64(e, "at_ms", &v) != 0)
        return 0;
    fprintf(stderr, "  marker %02llu:%02llu:%02llu.%03llu  %s\n", (unsigned long long)(v / 3600000),
            (unsigned long long)(v / 60000 % 60), (unsigned long long)(v / 1000 % 60),
            (unsigned long long)(v % 1000), text);
    return 0;
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
    fprintf(stderr,
            "Access logged as entry %llu (%s). Session %s of case %s, %s to %s, segments %llu to "
            "%llu.\n",
            (unsigned long long)rel->access_seq,
            rel->grant_seq ? "under a grant" : "the interviewer's own recording", a->session,
            a->case_number, from, to, (unsigned long long)(rel->n ? rel->seg[0].index : 0),
            (unsigned long long)(rel->n ? rel->seg[rel->n - 1].index : 0));
}

/* ---- headless ---- */

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

static int run_headless(const tlo_clip_segment *segs, const tlo_custody_released *rel)
{
    headless h = {0};
    tlo_clip_stats st;
    tlo_error err = {0};
    if (tlo_clip_decode(segs, rel->n, rel->from_ms, rel->to_ms, count_frame, &h, &st, &err) < 0)
        return cli_fail(&err);
    printf("Decoded %llu video and %llu audio frames in %u tracks, %llu.%03llu s to "
           "%llu.%03llu s of the session, from %u segments; the first frame after %llu.%03llu "
           "ms.\n",
           (unsigned long long)h.video, (unsigned long long)h.audio, st.tracks,
           (unsigned long long)(st.first_ms / 1000), (unsigned long long)(st.first_ms % 1000),
           (unsigned long long)(st.last_ms / 1000), (unsigned long long)(st.last_ms % 1000),
           st.segments_opened, (unsigned long long)(st.first_frame_us / 1000),
           (unsigned long long)(st.first_frame_us % 1000));
    for (unsigned k = 0; k < st.tracks; k++)
        printf("  track %u: %s, %llu frames\n", k,
               st.kind[k] == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio",
               (unsigned long long)st.frames[k]);
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
    const tlo_custody_released *rel = ctx;
    char from[32], to[32];
    hms(from, sizeof from, rel->from_ms);
    hms(to, sizeof to, rel->to_ms);
    fprintf(stderr, "\r\033[K%s %02llu:%02llu:%02llu.%01llu  (granted %s to %s)",
            state == TLO_WINDOW_ENDED    ? "ENDED  "
            : state == TLO_WINDOW_PAUSED ? "PAUSED "
                                         : "PLAYING",
            (unsigned long long)(at / 3600000), (unsigned long long)(at / 60000 % 60),
            (unsigned long long)(at / 1000 % 60), (unsigned long long)(at % 1000 / 100), from, to);
    fflush(stderr);
}

static int run_window(const tlo_clip_segment *segs, const tlo_custody_released *rel,
                      const play_args *a)
{
    tlo_custody_released range = {.from_ms = rel->from_ms, .to_ms = rel->to_ms};
    tlo_window_params wp = {.segs = segs,
                            .nsegs = rel->n,
                            .from_ms = rel->from_ms,
                            .to_ms = rel->to_ms,
                            .viewer = a->as,
                            .case_number = a->case_number,
                            .ctx = &range};
    struct termios saved;
    bool raw = false;
    if (isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        t.c_cc[VMIN] = 0;
        t.c_cc[VTIME] = 0;
        raw = tcsetattr(0, TCSANOW, &t) == 0;
    }
    if (raw) {
        wp.read_key = term_key;
        wp.status = term_status;
    }
    fprintf(stderr, "Playing; space pauses, arrows seek 10 s, q quits.\n");
    tlo_error err = {0};
    int r = tlo_window_play(&wp, &err);
    if (raw) {
        fputs("\n", stderr);
        tcsetattr(0, TCSANOW, &saved);
    }
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}

/* The released segments as the decoder takes them; paths malloc'd. */
static tlo_clip_segment *clip_segments(tlo_custody *v, const tlo_custody_released *rel)
{
    tlo_clip_segment *segs = calloc(rel->n ? rel->n : 1, sizeof *segs);
    for (size_t i = 0; segs && i < rel->n; i++)
        segs[i] = (tlo_clip_segment){.path = tlo_custody_object_path(v, rel->seg[i].object),
                                     .object_key = rel->seg[i].key,
                                     .start_ms = rel->seg[i].start_ms,
                                     .end_ms = rel->seg[i].end_ms,
                                     .plaintext_sha256 = rel->seg[i].plaintext_sha256};
    return segs;
}

static void clip_segments_free(tlo_clip_segment *segs, size_t n)
{
    for (size_t i = 0; segs && i < n; i++)
        free((char *)(uintptr_t)segs[i].path);
    free(segs);
}

int cmd_play(int argc, char **argv)
{
    play_args a;
    tlo_custody_case cs;
    tlo_custody_request req;
    tlo_custody_released rel = {0};
    tlo_clip_segment *segs = NULL;
    tlo_error err = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = cli_open(a.vault_opt, false, &rc);
    if (!v || (rc = cli_find_case(v, a.case_number, &cs)) != 0 ||
        !(actor = cli_acting(v, a.as, a.pass_file,
                             TLO_ROLE_ADMIN | TLO_ROLE_INTERVIEWER | TLO_ROLE_PROSECUTOR |
                                 TLO_ROLE_MEDICAL | TLO_ROLE_AUDITOR,
                             "enrolled person", &rc)))
        goto out;
    /* The access is logged, then the keys come: the range's and no more. */
    if (tlo_custody_request_make(v, actor, TLO_CUSTODY_VIEW, &cs, a.session, a.from_ms, a.to_ms,
                                 a.purpose, &req, &err) != 0 ||
        tlo_custody_release(v, &req, &rel, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(segs = clip_segments(v, &rel))) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    print_access(&rel, &a);
    marker_scan ms = {.case_id = cs.id, .session = a.session};
    tlo_chain_walk_case(tlo_custody_chain(v), cs.id, 0, visit_marker, &ms, &err);
    /* Nothing of the ledger is needed any more. */
    tlo_custody_close(v);
    v = NULL;
    rc = a.headless ? run_headless(segs, &rel) : run_window(segs, &rel, &a);
out:
    clip_segments_free(segs, rel.n);
    tlo_custody_released_free(&rel);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}
