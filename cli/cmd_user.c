/* tellonce user add|list|revoke — enrol people with their roles. Enrolment and
 * revocation are ledger entries signed by an administrator. */
#include "cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void user_usage(FILE *f)
{
    fprintf(f,
            "usage: tellonce user add NAME --role ROLE [--role ROLE...] --as ADMIN\n"
            "                         [--new-passphrase-file FILE] [--passphrase-file FILE]\n"
            "       tellonce user list [--json]\n"
            "       tellonce user revoke NAME --as ADMIN [--reason TEXT] [--passphrase-file FILE]\n"
            "(each also takes --vault DIR)\n"
            "\n"
            "ROLE is admin, interviewer, prosecutor, medical or auditor; a person may hold\n"
            "several. 'add' creates NAME's identity, locked with a passphrase NAME types\n"
            "twice (or from --new-passphrase-file, or $TELLONCE_NEW_PASSPHRASE), and logs the\n"
            "enrolment signed by ADMIN (whose passphrase comes from --passphrase-file,\n"
            "$TELLONCE_PASSPHRASE, or the terminal). 'revoke' ends a person's right to sign;\n"
            "what they signed before stays valid.\n");
}

#define ADMIN_ROLE_TEXT "administrator (only administrators enrol and revoke people)"

static int user_add(const char *vault_opt, const char *name, unsigned roles, const char *as,
                    const char *pass_file, const char *new_pass_file)
{
    tlo_custody_user_params p = {.name = name, .roles = roles, .kdf = cli_kdf_cost()};
    tlo_custody_enrolment out;
    tlo_vault_identity *admin = NULL;
    tlo_error err = {0};
    char *pass = NULL, prompt[400], role_text[200];
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);

    if (!v)
        return rc;
    if (tlo_custody_user_add_check(v, name, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = cli_acting(v, as, pass_file, TLO_ROLE_ADMIN, ADMIN_ROLE_TEXT, &rc)))
        goto out;
    snprintf(prompt, sizeof prompt, "New passphrase for %s: ", name);
    rc = EXIT_USAGE;
    if (!(pass = cli_passphrase(new_pass_file, "TELLONCE_NEW_PASSPHRASE", prompt, 1,
                                &p.passphrase_len)))
        goto out;
    p.passphrase = pass;
    if (tlo_custody_user_add(v, admin, &p, &out, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    tlo_roles_format(roles, ", ", role_text, sizeof role_text);
    printf("Enrolled %s (%s), key id %s, in ledger entry %llu, signed by %s.\n", name, role_text,
           out.key_id, (unsigned long long)out.seq, as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(admin);
    sodium_free(pass);
    tlo_custody_close(v);
    return rc;
}

static int user_revoke(const char *vault_opt, const char *name, const char *as,
                       const char *pass_file, const char *reason)
{
    const tlo_custody_person *p;
    tlo_vault_identity *admin = NULL;
    tlo_error err = {0};
    uint64_t seq;
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);

    if (!v)
        return rc;
    if (tlo_custody_user_revoke_check(v, name, &p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = cli_acting(v, as, pass_file, TLO_ROLE_ADMIN, ADMIN_ROLE_TEXT, &rc)))
        goto out;
    if (tlo_custody_user_revoke(v, admin, name, reason, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf("Revoked %s in ledger entry %llu, signed by %s. What %s signed before stays valid.\n",
           name, (unsigned long long)seq, as, name);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(admin);
    tlo_custody_close(v);
    return rc;
}

static void print_person(const tlo_custody_person *p, int json, bool first)
{
    char roles[200], kid[17], pk[65];
    uint8_t h[32];
    crypto_hash_sha256(h, p->pk, 32);
    tlo_hex(kid, h, 8);
    tlo_hex(pk, p->pk, 32);
    tlo_roles_format(p->roles, ", ", roles, sizeof roles);
    if (json) {
        printf("%s{\"name\":", first ? "" : ",");
        cli_json_string(stdout, p->name);
        printf(",\"roles\":\"%s\",\"key_id\":\"%s\",\"public_key\":\"%s\","
               "\"enrolled_at\":%llu,\"revoked_at\":",
               roles, kid, pk, (unsigned long long)p->enrolled_at);
        if (p->revoked_at >= 0)
            printf("%lld}", (long long)p->revoked_at);
        else
            printf("null}");
    } else {
        char status[40];
        if (p->revoked_at >= 0)
            snprintf(status, sizeof status, "revoked (entry %lld)", (long long)p->revoked_at);
        else
            snprintf(status, sizeof status, "active");
        printf("%-24s %-28s %-16s %-9llu %s\n", p->name, roles, kid,
               (unsigned long long)p->enrolled_at, status);
    }
}

static int user_list(const char *vault_opt, int json)
{
    const tlo_custody_person *list;
    tlo_error err = {0};
    size_t n;
    int rc;
    tlo_custody *v = cli_open(vault_opt, true, &rc);
    if (!v)
        return rc;
    if (tlo_custody_people(v, &list, &n, &err) != 0) {
        rc = cli_fail(&err);
        tlo_custody_close(v);
        return rc;
    }
    if (json)
        fputc('[', stdout);
    else
        printf("%-24s %-28s %-16s %-9s %s\n", "NAME", "ROLES", "KEY ID", "ENROLLED", "STATUS");
    for (size_t i = 0; i < n; i++)
        print_person(&list[i], json, i == 0);
    if (json)
        printf("]\n");
    tlo_custody_close(v);
    return EXIT_OK;
}

typedef struct user_opts {
    const char *as, *vault, *pass_file, *new_pass_file, *reason;
    unsigned roles;
    int json;
} user_opts;

/* Reads the options after the subcommand; -1 when help was printed, else an
 * exit code (EXIT_OK to go on). */
static int user_options(int argc, char **argv, user_opts *o)
{
    static const struct option opts[] = {{"role", required_argument, NULL, 'r'},
                                         {"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"new-passphrase-file", required_argument, NULL, 'N'},
                                         {"reason", required_argument, NULL, 'R'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    unsigned r;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (tlo_roles_parse(optarg, strlen(optarg), &r) != 0) {
                cli_error("'%s' is not a role: use admin, interviewer, prosecutor, medical or "
                          "auditor",
                          optarg);
                return EXIT_USAGE;
            }
            o->roles |= r;
            break;
        case 'A':
            o->as = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'P':
            o->pass_file = optarg;
            break;
        case 'N':
            o->new_pass_file = optarg;
            break;
        case 'R':
            o->reason = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            user_usage(stdout);
            return -1;
        default:
            user_usage(stderr);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_user(int argc, char **argv)
{
    user_opts o = {.reason = "revoked by an administrator"};
    if (argc < 2) {
        user_usage(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        user_usage(stdout);
        return EXIT_OK;
    }
    int rc = user_options(argc - 1, argv + 1, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    rc = EXIT_USAGE;
    if (!strcmp(sub, "list") && nargs == 0) {
        rc = user_list(o.vault, o.json);
    } else if (!strcmp(sub, "add") && nargs == 1) {
        if (!o.roles || !o.as)
            cli_error("user add needs at least one --role and --as ADMIN");
        else
            rc = user_add(o.vault, args[0], o.roles, o.as, o.pass_file, o.new_pass_file);
    } else if (!strcmp(sub, "revoke") && nargs == 1) {
        if (!o.as)
            cli_error("user revoke needs --as ADMIN");
        else
            rc = user_revoke(o.vault, args[0], o.as, o.pass_file, o.reason);
    } else {
        cli_error("see 'tellonce user --help' for add, list and revoke");
    }
    return rc;
}
