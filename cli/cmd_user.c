/* tellonce user add|list|revoke — enrol people with their roles. Enrolment and
 * revocation are ledger entries signed by an administrator. */
#include "cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* Unlocks --as and checks, in the ledger, that they are an active admin. */
static tlo_vault_identity *unlock_admin(const char *vault, const char *as, const char *pass_file,
                                        const cli_people *pp, int *rc)
{
    return cli_unlock_acting(vault, as, pass_file, pp, TLO_ROLE_ADMIN,
                             "administrator (only administrators enrol and revoke people)", rc);
}

static int append_signed(tlo_chain *c, uint16_t kind, const char *body,
                         const tlo_vault_identity *by, uint64_t *seq)
{
    tlo_chain_draft d = {.kind = kind, .body = (const uint8_t *)body, .body_len = strlen(body)};
    tlo_chain_signer s = {.sk = by->sign_sk};
    tlo_error err = {0};
    memcpy(s.pk, by->sign_pk, 32);
    if (tlo_chain_append(c, &d, 1, &s, seq, &err) != 0)
        return cli_fail(&err);
    return 0;
}

static int user_add(const char *vault, int argc, char **argv, const char *name, unsigned roles,
                    const char *as, const char *pass_file, const char *new_pass_file)
{
    (void)argc;
    (void)argv;
    cli_people pp = {0};
    tlo_vault_identity *admin = NULL, *person = NULL;
    char *pass = NULL, *people_dir = NULL, *path = NULL;
    tlo_error err = {0};
    int rc;
    tlo_chain *c = cli_open_ledger(vault, false, &rc);

    if (!c || (rc = cli_people_load(c, &pp)) != 0)
        goto out;
    rc = EXIT_USAGE;
    if (cli_people_by_name(&pp, name)) {
        cli_error("'%s' is already enrolled in this vault; choose a name that tells people apart",
                  name);
        goto out;
    }
    if (!(person = tlo_vault_identity_generate(name, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = unlock_admin(vault, as, pass_file, &pp, &rc)))
        goto out;
    char prompt[400];
    size_t len;
    snprintf(prompt, sizeof prompt, "New passphrase for %s: ", name);
    rc = EXIT_USAGE;
    if (!(pass = cli_passphrase(new_pass_file, "TELLONCE_NEW_PASSPHRASE", prompt, 1, &len)))
        goto out;

    char kid[2 * TLO_KEYID_BYTES + 1], file[64], pk[65], box[65], role_text[200], body[1024];
    tlo_vault_identity_key_id(kid, person);
    snprintf(file, sizeof file, "%s.id", kid);
    people_dir = tlo_path_join(vault, "people");
    path = tlo_path_join(people_dir, file);
    rc = EXIT_SYSTEM;
    if (tlo_vault_identity_save(person, path, pass, len, cli_kdf_cost(), &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    tlo_roles_format(roles, ",", role_text, sizeof role_text); /* as the ledger spells it */
    tlo_hex(pk, person->sign_pk, 32);
    tlo_hex(box, person->box_pk, 32);
    snprintf(body, sizeof body, "box_pk=%s\nname=%s\npk=%s\nroles=%s\n", box, name, pk, role_text);
    uint64_t seq;
    if ((rc = append_signed(c, TLO_ENTRY_USER_ADD, body, admin, &seq)) != 0) {
        unlink(path); /* not enrolled: the identity must not linger */
        goto out;
    }
    tlo_roles_format(roles, ", ", role_text, sizeof role_text);
    printf("Enrolled %s (%s), key id %s, in ledger entry %llu, signed by %s.\n", name, role_text,
           kid, (unsigned long long)seq, as);
    rc = EXIT_OK;
out:
    cli_people_free(&pp);
    tlo_chain_close(c);
    tlo_vault_identity_free(admin);
    tlo_vault_identity_free(person);
    sodium_free(pass);
    free(people_dir);
    free(path);
    return rc;
}

static int user_revoke(const char *vault, const char *name, const char *as, const char *pass_file,
                       const char *reason)
{
    cli_people pp = {0};
    tlo_vault_identity *admin = NULL;
    int rc;
    tlo_chain *c = cli_open_ledger(vault, false, &rc);

    if (!c || (rc = cli_people_load(c, &pp)) != 0)
        goto out;
    const cli_person *p = cli_people_by_name(&pp, name);
    rc = EXIT_USAGE;
    if (!p || (p->roles & TLO_ROLE_CUSTODIAN)) {
        cli_error("nobody named '%s' is enrolled (and not yet revoked) in this vault", name);
        goto out;
    }
    if (!(admin = unlock_admin(vault, as, pass_file, &pp, &rc)))
        goto out;
    char pk[65], body[1024], clean[512];
    size_t k = 0;
    for (const char *r = reason; *r && k + 1 < sizeof clean; r++)
        clean[k++] = (*r == '\n' || *r == '\r' || *r == '\t') ? ' ' : *r;
    clean[k] = '\0';
    tlo_hex(pk, p->pk, 32);
    snprintf(body, sizeof body, "pk=%s\nreason=%s\n", pk, clean);
    uint64_t seq;
    if ((rc = append_signed(c, TLO_ENTRY_USER_REVOKE, body, admin, &seq)) != 0)
        goto out;
    printf("Revoked %s in ledger entry %llu, signed by %s. What %s signed before stays valid.\n",
           name, (unsigned long long)seq, as, name);
    rc = EXIT_OK;
out:
    cli_people_free(&pp);
    tlo_chain_close(c);
    tlo_vault_identity_free(admin);
    return rc;
}

static int user_list(const char *vault, int json)
{
    cli_people pp = {0};
    int rc;
    tlo_chain *c = cli_open_ledger(vault, true, &rc);
    if (!c || (rc = cli_people_load(c, &pp)) != 0)
        goto out;
    if (json)
        fputc('[', stdout);
    else
        printf("%-24s %-28s %-16s %-9s %s\n", "NAME", "ROLES", "KEY ID", "ENROLLED", "STATUS");
    for (size_t i = 0; i < pp.n; i++) {
        const cli_person *p = &pp.p[i];
        char roles[200], kid[17], pk[65];
        uint8_t h[32];
        crypto_hash_sha256(h, p->pk, 32);
        tlo_hex(kid, h, 8);
        tlo_hex(pk, p->pk, 32);
        tlo_roles_format(p->roles, ", ", roles, sizeof roles);
        if (json) {
            printf("%s{\"name\":", i ? "," : "");
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
    if (json)
        printf("]\n");
    rc = EXIT_OK;
out:
    cli_people_free(&pp);
    tlo_chain_close(c);
    return rc;
}

int cmd_user(int argc, char **argv)
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
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *new_pass_file = NULL;
    const char *reason = "revoked by an administrator";
    unsigned roles = 0, r;
    int json = 0, c;

    if (argc < 2) {
        user_usage(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        user_usage(stdout);
        return EXIT_OK;
    }
    optind = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (tlo_roles_parse(optarg, strlen(optarg), &r) != 0) {
                cli_error("'%s' is not a role: use admin, interviewer, prosecutor, medical or "
                          "auditor",
                          optarg);
                return EXIT_USAGE;
            }
            roles |= r;
            break;
        case 'A':
            as = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'N':
            new_pass_file = optarg;
            break;
        case 'R':
            reason = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            user_usage(stdout);
            return EXIT_OK;
        default:
            user_usage(stderr);
            return EXIT_USAGE;
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    char *vault = cli_vault_dir(vault_opt);
    int rc = EXIT_USAGE;
    if (!strcmp(sub, "list") && nargs == 0) {
        rc = user_list(vault, json);
    } else if (!strcmp(sub, "add") && nargs == 1) {
        if (!roles || !as)
            cli_error("user add needs at least one --role and --as ADMIN");
        else
            rc = user_add(vault, nargs, args, args[0], roles, as, pass_file, new_pass_file);
    } else if (!strcmp(sub, "revoke") && nargs == 1) {
        if (!as)
            cli_error("user revoke needs --as ADMIN");
        else
            rc = user_revoke(vault, args[0], as, pass_file, reason);
    } else {
        cli_error("see 'tellonce user --help' for add, list and revoke");
    }
    free(vault);
    return rc;
}
