/* tellonce init — create a vault: the ledger, the custodian's keys and the
 * first administrator, bound together by a genesis entry that both sign. */
#include "cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>

static void init_usage(FILE *f)
{
    fputs(_("usage: tellonce init --admin NAME [--vault DIR] [--origin ORIGIN]\n"
            "                     [--passphrase-file FILE]\n"
            "\n"
            "Creates a vault in DIR (default: $TELLONCE_VAULT, else\n"
            "~/.local/share/tellonce/vault): the custody ledger, the custodian's keys, and the\n"
            "identity of the first administrator NAME, whose passphrase is asked twice (or\n"
            "read from FILE or $TELLONCE_PASSPHRASE: less safe, for scripts); it needs at\n"
            "least 12 characters and must not be a common one or NAME. The genesis\n"
            "entry of the ledger is signed by the administrator and the custodian.\n"
            "ORIGIN names the ledger in its checkpoints (default: tellonce/vault/ and a\n"
            "random id).\n"),
          f);
}

/* Reads the options into *p; -1 (help printed) when done, else an exit code
 * (EXIT_OK to go on). */
static int init_options(int argc, char **argv, tlo_custody_init_params *p, const char **vault_opt,
                        const char **pass_file)
{
    static const struct option opts[] = {
        {"admin", required_argument, NULL, 'a'},  {"vault", required_argument, NULL, 'V'},
        {"origin", required_argument, NULL, 'o'}, {"passphrase-file", required_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            p->admin_name = optarg;
            break;
        case 'V':
            *vault_opt = optarg;
            break;
        case 'o':
            p->origin = optarg;
            break;
        case 'P':
            *pass_file = optarg;
            break;
        case 'h':
            init_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (!p->admin_name || optind != argc) {
        cli_error("init needs --admin NAME (the first administrator); see 'tellonce init --help'");
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_init(int argc, char **argv)
{
    tlo_custody_init_params p = {.kdf = cli_kdf_cost()};
    tlo_custody_init_result res;
    const char *vault_opt = NULL, *pass_file = NULL;
    tlo_error err = {0};
    char *pass = NULL, prompt[400];
    int rc = init_options(argc, argv, &p, &vault_opt, &pass_file);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    char *vault = cli_vault_dir(vault_opt),
         *ledger = vault ? tlo_path_join(vault, "ledger.db") : NULL;
    if (!ledger) {
        cli_error("out of memory");
        rc = EXIT_SYSTEM;
        goto out;
    }
    /* Everything that can fail without writing comes before the passphrase. */
    if (tlo_custody_init_check(vault, &p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    snprintf(prompt, sizeof prompt, _("New passphrase for %s (at least 12 characters): "),
             p.admin_name);
    rc = EXIT_USAGE;
    if (!(pass = cli_passphrase(pass_file, "TELLONCE_PASSPHRASE", prompt, 1, &p.passphrase_len)))
        goto out;
    p.passphrase = pass;
    if (tlo_custody_init(vault, &p, &res, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    /* TRANSLATORS: keep the values (%s) lined up */
    printf(_("Created the vault %s\n"
             "  ledger         %s (entry 0: genesis, signed by %s and the custodian)\n"
             "  origin         %s\n"
             "  administrator  %s, key id %s\n"
             "Next: 'tellonce user add NAME --role ROLE --as \"%s\"' enrols people.\n"),
           vault, ledger, res.admin_name, res.origin, res.admin_name, res.admin_key_id,
           res.admin_name);
    rc = EXIT_OK;
out:
    sodium_free(pass);
    free(vault);
    free(ledger);
    return rc;
}
