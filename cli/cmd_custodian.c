/* tellonce custodian run — the custodian service in the foreground
 * (docs/service.md). The service is service/; this is its command line and
 * the start hook. */
#include "cli.h"
#include "service.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void custodian_usage(FILE *f)
{
    fprintf(f,
            _("usage: tellonce custodian run --vault DIR [--socket PATH] [--group GROUP]\n"
              "\n"
              "Runs the custodian service in the foreground until SIGTERM or Ctrl-C, which end\n"
              "every recording in it cleanly. The service alone reads the vault DIR (run it as\n"
              "the vault's owner, the system user tellonce in production: folder 0700, files\n"
              "0600); every other OS user in GROUP (default: this user's group) runs tellonce\n"
              "as its client over the Unix socket PATH (default %s, made\n"
              "0660). The service reads each client's uid and pid from the socket and logs\n"
              "them in the entries it makes. At its start it recovers the sessions a killed\n"
              "service left open, and tells the next client. systemd runs it as\n"
              "tellonce-custodian.service; docs/service.md sets it up step by step.\n"),
            TLO_SERVICE_DEFAULT_SOCKET);
}

/* The custodian's identity, unlocked once when the service starts, in
 * guarded memory: each child (one per request) inherits it and hands it to
 * its vault handle (cli_open), instead of unlocking custodian.id again. */
static tlo_vault_identity *service_custodian;

const tlo_vault_identity *cli_service_custodian(void)
{
    return service_custodian;
}

/* What the service does before it takes connections: unlocks the
 * custodian, then recovers every session a killed service (or recording)
 * left open, signed by the custodian, says so on its stderr and tells the
 * next client (cli_recover_at_start, cmd_recover.c). */
static int service_start(const char *vault)
{
    int rc;
    tlo_error err = {0};
    tlo_custody *v = cli_open(vault, false, &rc);
    if (!v)
        return rc;
    if (tlo_custody_custodian_unlock(v, &service_custodian, &err) != 0)
        rc = cli_fail(&err);
    tlo_custody_close(v);
    if (rc)
        return rc;
    tlo_service_set_custodian(service_custodian);
    return cli_recover_at_start(vault, tlo_service_notice);
}

static bool allowed(const char *command)
{
    return cli_forwarded(command);
}

int cmd_custodian(int argc, char **argv)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"socket", required_argument, NULL, 's'},
                                         {"group", required_argument, NULL, 'g'},
                                         {"help", no_argument, NULL, 'h'},
                                         {0, 0, 0, 0}};
    const char *vault = NULL, *socket_path = NULL, *group = NULL;
    int c;
    if (argc < 2 || strcmp(argv[1], "run") != 0) {
        if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
            custodian_usage(stdout);
            return EXIT_OK;
        }
        cli_usage_hint();
        return EXIT_USAGE;
    }
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            vault = optarg;
            break;
        case 's':
            socket_path = optarg;
            break;
        case 'g':
            group = optarg;
            break;
        case 'h':
            custodian_usage(stdout);
            return EXIT_OK;
        default:
            cli_error("see 'tellonce custodian --help'");
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        cli_error("unexpected argument '%s'; see 'tellonce custodian --help'", argv[optind + 1]);
        return EXIT_USAGE;
    }
    char *dir = cli_vault_dir(vault);
    char *real = dir ? realpath(dir, NULL) : NULL;
    struct stat st;
    if (!real || stat(real, &st) != 0) {
        cli_error("the vault %s does not exist; make it with 'tellonce init --vault %s' as the "
                  "service's user",
                  dir ? dir : "?", dir ? dir : "DIR");
        free(dir);
        free(real);
        return EXIT_USAGE;
    }
    free(dir);
    if (st.st_uid != geteuid() || (st.st_mode & 077)) {
        cli_error("the vault %s must belong to this user (uid %u) alone (mode 0700; it is %04o, "
                  "owner %u): the service is the only one that reads it",
                  real, (unsigned)geteuid(), (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
        free(real);
        return EXIT_USAGE;
    }
    tlo_service_config cfg = {.vault = real,
                              .socket = socket_path,
                              .group = group,
                              .start = service_start,
                              .run = cli_service_run,
                              .allowed = allowed};
    tlo_error err = {0};
    int rc = tlo_service_run(&cfg, &err);
    tlo_vault_identity_free(service_custodian);
    service_custodian = NULL;
    free(real);
    return rc == 0 ? EXIT_OK : cli_fail(&err);
}
