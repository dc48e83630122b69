/* tellonce preview — the room's cameras and microphones in the monitor
 * window, without recording: no session, no ledger entry, nothing written
 * (capture/ with preview_only: no key, no segment, no file). The window says
 * NOT RECORDING. It runs here, on the desktop that shows it, never in the
 * custodian service. */
#include "cli.h"

#include <getopt.h>
#include <gst/gst.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void preview_usage(FILE *f)
{
    fputs(
        _("usage: tellonce preview [--room simulated|PROFILE] [--duration SECONDS] [--vault DIR]\n"
          "\n"
          "Shows the cameras of a room side by side, with a level meter per microphone, in\n"
          "a window marked NOT RECORDING, to set up a room before an interview. Nothing is\n"
          "recorded, logged or written. Without --room: the vault's default-room setting,\n"
          "else the simulated room. It needs a display (DISPLAY or WAYLAND_DISPLAY) and\n"
          "runs until Ctrl-C, SIGTERM or --duration.\n"),
        f);
}

static tlo_capture *volatile showing;
static volatile sig_atomic_t stop_asked;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_asked = 1;
    if (showing)
        tlo_capture_stop(showing); /* only sets a flag */
}

typedef struct preview_state {
    tlo_capture *cap;
    char why[600];
} preview_state;

/* The window is all a preview is: when it cannot show, the preview ends. */
static void on_preview_event(void *ctx, const tlo_capture_event *ev)
{
    preview_state *ps = ctx;
    if (ev->kind == TLO_CAPTURE_MONITOR_LOST) {
        if (!ps->why[0])
            snprintf(ps->why, sizeof ps->why, "%s", ev->message);
        tlo_capture_stop(ps->cap);
    } else {
        if (ev->kind == TLO_CAPTURE_CAMERA_LOST)
            cli_error("camera %u of the room failed (%s); the preview goes on without it",
                      ev->device, ev->message);
        else
            cli_error("microphone %u of the room failed (%s); the preview goes on without it",
                      ev->device, ev->message);
    }
}

/* The room: --room, else the vault's default-room, else simulated. */
static int preview_room(const char *spec, const char *vault, tlo_hw_room *room)
{
    char buf[1100];
    tlo_error err = {0};
    int rc = EXIT_OK;
    if (!spec) {
        tlo_custody *v = cli_open(vault, true, &rc);
        if (!v)
            return rc;
        int set = tlo_custody_setting(v, "default-room", buf, sizeof buf, &err);
        tlo_custody_close(v);
        if (set < 0)
            return cli_fail(&err);
        spec = set ? buf : "simulated";
        if (set)
            fprintf(stderr,
                    _("Room: %s (the vault's default-room setting; --room chooses another)\n"),
                    buf);
        else
            fputs(_("Room: simulated (SIMULATED test patterns — set a default room with "
                    "'tellonce settings set default-room NAME')\n"),
                  stderr);
    }
    if (tlo_hw_room_resolve(spec, room, &err) != 0) {
        cli_error("%s", err.msg);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_preview(int argc, char **argv)
{
    static const struct option opts[] = {{"room", required_argument, NULL, 'r'},
                                         {"duration", required_argument, NULL, 'd'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *spec = NULL, *vault = NULL;
    uint64_t duration = 0;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'r') {
            spec = optarg;
        } else if (c == 'V') {
            vault = optarg;
        } else if (c == 'd') {
            if (tlo_parse_u64(optarg, &duration) != 0 || duration == 0 || duration > 86400) {
                cli_error("--duration takes whole seconds, 1 to 86400 (a day)");
                return EXIT_USAGE;
            }
        } else if (c == 'h') {
            preview_usage(stdout);
            return EXIT_OK;
        } else {
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_error("preview takes no case and records nothing; see 'tellonce preview --help'");
        return EXIT_USAGE;
    }
    if (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("preview shows a window and needs a display (DISPLAY or WAYLAND_DISPLAY is not "
                  "set): run it on the desktop of the observation room");
        return EXIT_USAGE;
    }
    tlo_capture_config cfg = {.live = true,
                              .monitor = true,
                              .preview_only = true,
                              .duration_seconds = (unsigned)duration};
    if ((rc = preview_room(spec, vault, &cfg.room)) != EXIT_OK)
        return rc;
    gst_init(NULL, NULL);
    tlo_error err = {0};
    preview_state ps = {.cap = NULL};
    /* The encoder the recording would use: the picture is what it would be. */
    if (tlo_hw_encoder_resolve(cfg.room.encoder, &cfg.encoder, &err) != 0 ||
        !(ps.cap = tlo_capture_new(&cfg, NULL, NULL, on_preview_event, &ps, &err)))
        return cli_fail(&err);
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    showing = ps.cap;
    fprintf(stderr,
            _("Preview of the room \"%s\" (cameras: %u, microphones: %u): NOT RECORDING, "
              "nothing is kept. Ctrl-C ends it.\n"),
            cfg.room.name, cfg.room.n_cameras, cfg.room.n_microphones);
    if (stop_asked)
        tlo_capture_stop(ps.cap);
    rc = tlo_capture_run(ps.cap, &err) == 0 ? EXIT_OK : cli_fail(&err);
    showing = NULL;
    tlo_capture_free(ps.cap);
    if (ps.why[0]) {
        cli_error("the preview cannot show: %s", ps.why);
        return EXIT_SYSTEM;
    }
    return rc;
}
