/* tellonce login|logout — keep a person's identity unlocked in the custodian
 * service for a few minutes, so a busy prosecutor is not asked at every
 * step (docs/service.md). */
#include "cli.h"
#include "tlo_time.h"
#include "service.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void login_usage(FILE *f)
{
    fputs(_("usage: tellonce login --as NAME [--minutes N] [--passphrase-file FILE]\n"
            "       tellonce logout [--as NAME]\n"
            "\n"
            "'login' asks NAME's passphrase once; then, for N minutes (1 to 10, default 10),\n"
            "tellonce commands run by this OS user as NAME through the custodian service do\n"
            "not ask it again. The service keeps NAME's unlocked identity in its memory only,\n"
            "for this OS user only, and wipes it when the time is up, at 'logout', or when the\n"
            "service stops. Without the service (the embedded default) each command asks.\n"
            "'logout' ends this OS user's login of NAME, or all of them.\n"),
          f);
}

/* tellonce logout [--as NAME]: ends this OS user's login (of NAME, or every
 * one). An exit code. */
static int logout(const char *as)
{
    tlo_error err = {0};
    unsigned ended;
    if (tlo_service_logout(as, &ended, &err) != 0)
        return cli_fail(&err);
    if (as && ended)
        printf(_("Logged out of %s.\n"), as);
    else if (as)
        printf(_("No login of %s to end.\n"), as);
    else if (ended)
        fputs(_("Logged out.\n"), stdout);
    else
        fputs(_("No login to end.\n"), stdout);
    return EXIT_OK;
}

int cmd_login(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'a'},
                                         {"minutes", required_argument, NULL, 'm'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *as = NULL, *pass_file = NULL, *vault = NULL;
    bool out = !strcmp(argv[0], "logout");
    unsigned long minutes = 10;
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'a':
            as = optarg;
            break;
        case 'm':
            minutes = strtoul(optarg, &end, 10);
            if (*end || minutes < 1 || minutes > 10) {
                cli_error("--minutes takes 1 to 10");
                return EXIT_USAGE;
            }
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'V':
            vault = optarg;
            break;
        case 'h':
            login_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc || (!out && !as)) {
        cli_usage_hint();
        return EXIT_USAGE;
    }
    if (!tlo_service_in_child()) {
        cli_error("%s is for the custodian service (--socket PATH or $TELLONCE_SOCKET): in this "
                  "process each command asks the passphrase",
                  argv[0]);
        return EXIT_USAGE;
    }
    tlo_error err = {0};
    if (out)
        return logout(as);
    tlo_custody *v = cli_open(vault, true, &rc);
    if (!v)
        return rc;
    /* a login is made with the passphrase, never from a login: else one
     * login could renew itself for ever */
    cli_no_login = true;
    tlo_vault_identity *id = cli_acting(v, as, pass_file, TLO_ACT_LOGIN, &rc);
    if (id) {
        if (tlo_service_login_keep(id, (unsigned)minutes, &err) != 0) {
            rc = cli_fail(&err);
        } else {
            char when[TLO_TIME_TEXT_MAX];
            tlo_time_text(((uint64_t)time(NULL) + (uint64_t)minutes * 60) * 1000, when,
                          sizeof when);
            printf(_("Logged in as %s for %lu minute(s), until %s: this OS user's tellonce "
                     "commands as %s do not ask the passphrase until then; 'tellonce logout' "
                     "ends it.\n"),
                   as, minutes, when, as);
            rc = EXIT_OK;
        }
    }
    tlo_vault_identity_free(id);
    tlo_custody_close(v);
    return rc;
}
