/* tellonce stop — end a live recording from another terminal.
 *
 * The custody core finds the recording and decides who may end it
 * (tlo_custody_stop_check: the interviewer who started it, or an
 * administrator); the recording is then sent SIGTERM (in the custodian
 * service, by the service's parent) and ends as on 'q':
 * it logs its own session-end entry and checkpoint. stop logs nothing. */
#include "cli.h"
#include "service.h"

#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void stop_usage(FILE *f)
{
    fputs(_("usage: tellonce stop [CASE] [--session S] --as NAME [--passphrase-file FILE]\n"
            "                     [--vault DIR]\n"
            "\n"
            "Ends a live recording, as 'q' then 'y' at its terminal would: the recording logs\n"
            "its session-end entry and a checkpoint, and stop waits for that (up to two\n"
            "minutes). Without CASE or --session it ends the only recording NAME may stop.\n"
            "NAME must be the interviewer who started the session, or an administrator.\n"
            "stop itself logs nothing.\n"),
          f);
}

/* Waits (polling the ledger every 0.2 s, up to two minutes) until the
 * session has ended in the ledger. */
static bool wait_ended(tlo_custody *v, const tlo_custody_live *live)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        tlo_custody_session s;
        tlo_error err = {0};
        if (tlo_custody_session_info(v, live->case_id, live->session, &s, &err) == 0 && s.ended)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - t0.tv_sec > 120)
            return false;
        poll(NULL, 0, 200);
    }
}

/* In the custodian service its parent ends the recording child it knows
 * under the session's id; a recording it does not know (one run outside
 * it, by the service's user) is signalled directly. */
static int signal_recording(tlo_custody *v, const tlo_custody_live *live, tlo_error *err)
{
    tlo_error serr = {0};
    if (tlo_service_in_child() && tlo_service_signal(live->session, SIGTERM, &serr) == 0)
        return 0;
    return tlo_custody_stop_signal(v, live, err);
}

int cmd_stop(int argc, char **argv)
{
    static const struct option opts[] = {
        {"as", required_argument, NULL, 'A'},    {"session", required_argument, NULL, 's'},
        {"vault", required_argument, NULL, 'V'}, {"passphrase-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *session = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'A') {
            as = optarg;
        } else if (c == 's') {
            session = optarg;
        } else if (c == 'V') {
            vault_opt = optarg;
        } else if (c == 'P') {
            pass_file = optarg;
        } else {
            if (c != 'h') {
                cli_usage_hint();
                return EXIT_USAGE;
            }
            stop_usage(stdout);
            return EXIT_OK;
        }
    }
    if (argc - optind > 1 || !as) {
        cli_error("stop takes [CASE] and --as NAME; see 'tellonce stop --help'");
        return EXIT_USAGE;
    }
    const char *number = optind < argc ? argv[optind] : NULL;
    tlo_error err = {0};
    tlo_custody_live live;
    tlo_custody_case cs;
    char id[33];
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    /* --session: a number in CASE, or an id or its prefix (in CASE, or in any case). */
    if (session && ((number && (rc = cli_find_case(v, number, &cs)) != 0) ||
                    (rc = cli_session_ref(v, number ? &cs : NULL, session, id, NULL)) != 0))
        goto out;
    if (session)
        session = id;
    actor = cli_acting(v, as, pass_file, TLO_ACT_STOP, &rc);
    if (!actor)
        goto out;
    if (tlo_custody_stop_check(v, actor, number, session, &live, &err) != 0 ||
        signal_recording(v, &live, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    fprintf(stderr, _("Asked the recording of session %s (case %s) to end; waiting for it.\n"),
            live.session, number ? number : live.case_hex);
    if (!wait_ended(v, &live)) {
        cli_error("session %s has not logged its end within two minutes; its recording was "
                  "asked to end (SIGTERM). Check it with 'tellonce log'; if its process is "
                  "gone, run 'tellonce recover'",
                  live.session);
        rc = EXIT_SYSTEM;
        goto out;
    }
    printf(_("Session %s has ended: its recording logged the session-end entry.\n"), live.session);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}
