/* tellonce user add|activate|list|revoke — enrol people with their roles —
 * and tellonce passwd. Enrolment and revocation are ledger entries signed by
 * an administrator; activation is signed by the person. */
#include "cli.h"
#include "cli_text.h"
#include "tlo_time.h"
#include "service.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void user_usage(FILE *f)
{
    fputs(_("usage: tellonce user add NAME --role ROLE [--role ROLE...] --as ADMIN\n"
            "                         [--passphrase-file FILE] [--new-passphrase-file FILE]\n"
            "       tellonce user add NAME --reissue --as ADMIN [--passphrase-file FILE]\n"
            "       tellonce user activate NAME [--code CODE | --code-file FILE]\n"
            "                         [--new-passphrase-file FILE]\n"
            "       tellonce user list [--json]\n"
            "       tellonce user revoke NAME --as ADMIN [--reason TEXT] [--passphrase-file FILE]\n"
            "(each also takes --vault DIR)\n"
            "\n"
            "ROLE is admin, interviewer, prosecutor, medical, auditor, psychologist,\n"
            "legal-aid or social-worker; a person may hold several ('tellonce roles' says\n"
            "what each may do). 'add' creates NAME's identity and logs the enrolment signed by "
            "ADMIN\n"
            "(whose passphrase comes from --passphrase-file, $TELLONCE_PASSPHRASE, or the\n"
            "terminal). The identity is locked with a one-time enrolment code, printed once\n"
            "(XXXX-XXXX-XXXX-XXXX) and valid 24 h: give it to NAME in person. NAME then runs\n"
            "'activate', types the code and chooses their own passphrase (twice); until then\n"
            "NAME cannot act; '--reissue' gives a pending NAME a new code (revoking the old\n"
            "enrolment). With --new-passphrase-file (or $TELLONCE_NEW_PASSPHRASE) ADMIN\n"
            "sets NAME's passphrase instead: for a single-operator vault and scripts only;\n"
            "the custodian service refuses it. A new passphrase needs at least 12 characters\n"
            "and must not be a common one or the person's name. 'revoke' ends a person's\n"
            "right to sign; what they signed before stays valid. 'tellonce passwd' changes\n"
            "your own passphrase.\n"),
          f);
}

/* "2026-12-02 23:04:00 +08:00": local, with its offset. */
static void utc_text(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text(ms, out, cap);
}

/* The enrolment code, once, and what to do with it. */
static void print_code(const char *name, const tlo_custody_enrolment *out)
{
    char until[64];
    utc_text(out->activate_by_ms, until, sizeof until);
    printf(_("\n"
             "  Enrolment code for %s:  %s\n"
             "\n"
             "It is shown only this once and is valid 24 h (until %s). Give it to %s\n"
             "in person. %s then runs\n"
             "  tellonce user activate \"%s\"\n"
             "types the code and chooses their own passphrase; until then %s cannot act.\n"),
           name, out->code, until, name, name, name, name);
}

static int user_reissue(const char *vault_opt, const char *name, const char *as,
                        const char *pass_file)
{
    tlo_custody_enrolment out = {0};
    tlo_vault_identity *admin = NULL;
    tlo_error err = {0};
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    if (tlo_custody_user_reissue_check(v, name, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = cli_acting(v, as, pass_file, TLO_ACT_USER_ENROL, &rc)))
        goto out;
    if (tlo_custody_user_reissue(v, admin, name, cli_kdf_cost(), &out, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf(_("Revoked the pending enrolment of %s and enrolled them again, key id %s, in ledger "
             "entry %llu, signed by %s. The old code opens nothing any more.\n"),
           name, out.key_id, (unsigned long long)out.seq, as);
    print_code(name, &out);
    rc = EXIT_OK;
out:
    sodium_free(out.code);
    tlo_vault_identity_free(admin);
    tlo_custody_close(v);
    return rc;
}

static int user_add(const char *vault_opt, const char *name, unsigned roles, const char *as,
                    const char *pass_file, const char *new_pass_file)
{
    tlo_custody_user_params p = {.name = name, .roles = roles, .kdf = cli_kdf_cost()};
    tlo_custody_enrolment out = {0};
    tlo_vault_identity *admin = NULL;
    tlo_error err = {0};
    char *pass = NULL, prompt[400], role_text[200];
    const char *env = getenv("TELLONCE_NEW_PASSPHRASE");
    bool admin_sets = new_pass_file || (env && *env);
    int rc;

    if (admin_sets && cli_in_service()) {
        cli_error("the custodian service does not let an administrator set %s's passphrase: "
                  "leave out --new-passphrase-file (and $TELLONCE_NEW_PASSPHRASE) to enrol %s "
                  "with a one-time code",
                  name, name);
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    if (tlo_custody_user_add_check(v, name, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(admin = cli_acting(v, as, pass_file, TLO_ACT_USER_ENROL, &rc)))
        goto out;
    if (admin_sets) {
        snprintf(prompt, sizeof prompt, _("New passphrase for %s: "), name);
        rc = EXIT_USAGE;
        if (!(pass = cli_passphrase(new_pass_file, "TELLONCE_NEW_PASSPHRASE", prompt, 1,
                                    &p.passphrase_len)))
            goto out;
        p.passphrase = pass;
    }
    if (tlo_custody_user_add(v, admin, &p, &out, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    cli_roles_text(roles, role_text, sizeof role_text);
    printf(_("Enrolled %s (%s), key id %s, in ledger entry %llu, signed by %s.\n"), name, role_text,
           out.key_id, (unsigned long long)out.seq, as);
    if (out.code)
        print_code(name, &out);
    rc = EXIT_OK;
out:
    sodium_free(out.code);
    tlo_vault_identity_free(admin);
    sodium_free(pass);
    tlo_custody_close(v);
    return rc;
}

/* The code: --code, else the first line of --code-file, else typed. */
static char *read_code(const char *name, const char *code, const char *code_file, size_t *len)
{
    char prompt[400];
    if (code) {
        size_t n = strlen(code);
        char *p = n <= 64 ? sodium_malloc(n + 1) : NULL;
        if (!p) {
            cli_error("--code: an enrolment code is 16 letters and digits (XXXX-XXXX-XXXX-XXXX)");
            return NULL;
        }
        memcpy(p, code, n + 1);
        *len = n;
        return p;
    }
    snprintf(prompt, sizeof prompt, _("Enrolment code for %s: "), name);
    return cli_passphrase(code_file, NULL, prompt, 0, len);
}

static int user_activate(const char *vault_opt, const char *name, const char *code_opt,
                         const char *code_file, const char *new_pass_file)
{
    const tlo_custody_person *who;
    tlo_vault_identity *id = NULL;
    tlo_error err = {0};
    char *code = NULL, *pass = NULL, prompt[400];
    size_t code_len = 0, pass_len = 0;
    uint64_t seq;
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);

    if (!v)
        return rc;
    if (tlo_custody_activation_check(v, name, &who, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    rc = EXIT_USAGE;
    if (!(code = read_code(name, code_opt, code_file, &code_len)))
        goto out;
    if (tlo_custody_activation_open(v, name, code, code_len, &id, &err) != 0) {
        if (err.code == TLO_EPASSPHRASE && tlo_service_in_child()) {
            char why[300];
            snprintf(why, sizeof why, "wrong enrolment code for %s", name);
            tlo_service_refused("user activate", why);
        }
        rc = cli_fail(&err);
        goto out;
    }
    snprintf(prompt, sizeof prompt, _("New passphrase for %s (at least 12 characters): "), name);
    if (!(pass = cli_passphrase(new_pass_file, "TELLONCE_NEW_PASSPHRASE", prompt, 1, &pass_len)))
        goto out;
    if (tlo_custody_user_activate(v, id, code, code_len, pass, pass_len, cli_kdf_cost(), &seq,
                                  &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf(_("Activated %s in ledger entry %llu, signed by their own key. Only your passphrase\n"
             "opens your identity now (the code opens nothing); act with --as \"%s\".\n"),
           name, (unsigned long long)seq, name);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(id);
    sodium_free(code);
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
    if (!(admin = cli_acting(v, as, pass_file, TLO_ACT_USER_ENROL, &rc)))
        goto out;
    if (tlo_custody_user_revoke(v, admin, name, reason, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf(_("Revoked %s in ledger entry %llu, signed by %s. What %s signed before stays valid.\n"),
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
        printf("%s{\"person\":", first ? "" : ",");
        cli_json_string(stdout, p->name);
        printf(",\"roles\":");
        cli_json_roles(stdout, p->roles);
        printf(",\"key_id\":\"%s\",\"person_key\":\"%s\",\"enrolled_entry\":%llu,"
               "\"revoked_entry\":",
               kid, pk, (unsigned long long)p->enrolled_at);
        if (p->revoked_at >= 0)
            printf("%lld", (long long)p->revoked_at);
        else
            printf("null");
        printf(",\"pending\":%s,\"activate_by_ms\":",
               tlo_custody_person_pending(p) ? "true" : "false");
        if (p->activate_by_ms)
            printf("%llu}", (unsigned long long)p->activate_by_ms);
        else
            printf("null}");
    } else {
        char status[128], until[64];
        if (p->revoked_at >= 0) {
            snprintf(status, sizeof status, _("revoked (entry %lld)"), (long long)p->revoked_at);
        } else if (tlo_custody_person_pending(p)) {
            utc_text(p->activate_by_ms, until, sizeof until);
            if (tlo_custody_now_ms() > p->activate_by_ms)
                snprintf(status, sizeof status, _("pending: code expired %s"), until);
            else
                snprintf(status, sizeof status, _("pending: code valid until %s"), until);
        } else {
            snprintf(status, sizeof status, "%s", _("active"));
        }
        cli_roles_text(p->roles, roles, sizeof roles);
        cli_print_padded(stdout, p->name, 24); /* by the columns it takes (a Chinese name) */
        putchar(' ');
        cli_print_padded(stdout, roles, 28);
        printf(" %-16s %-9llu %s\n", kid, (unsigned long long)p->enrolled_at, status);
    }
}

/* user list's headings, padded by the columns each takes. */
static void print_heading(void)
{
    /* TRANSLATORS: user list's column headings */
    cli_print_padded(stdout, _("NAME"), 24);
    putchar(' ');
    cli_print_padded(stdout, _("ROLES"), 28);
    putchar(' ');
    cli_print_padded(stdout, _("KEY ID"), 16);
    putchar(' ');
    /* TRANSLATORS: user list's heading over the entry number of the enrolment */
    cli_print_padded(stdout, _("ENROLLED"), 9);
    putchar(' ');
    fputs(_("STATUS"), stdout);
    putchar('\n');
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
        print_heading();
    for (size_t i = 0; i < n; i++)
        print_person(&list[i], json, i == 0);
    if (json)
        printf("]\n");
    tlo_custody_close(v);
    return EXIT_OK;
}

typedef struct user_opts {
    const char *as, *vault, *pass_file, *new_pass_file, *reason, *code, *code_file;
    unsigned roles;
    int json, reissue;
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
                                         {"code", required_argument, NULL, 'c'},
                                         {"code-file", required_argument, NULL, 'C'},
                                         {"reissue", no_argument, NULL, 'I'},
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
                cli_error("'%s' is not a role: use admin, interviewer, prosecutor, medical, "
                          "auditor, psychologist, legal-aid or social-worker",
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
        case 'c':
            o->code = optarg;
            break;
        case 'C':
            o->code_file = optarg;
            break;
        case 'I':
            o->reissue = 1;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            user_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_user(int argc, char **argv)
{
    user_opts o = {.reason = "revoked by an administrator"};
    if (argc < 2) {
        cli_usage_hint();
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
    /* NAME as it is enrolled and looked up (trimmed, NFC), so what is
     * printed is what the ledger holds */
    char *name = nargs == 1 ? tlo_custody_text_norm(args[0]) : NULL;
    if (name)
        args[0] = name;
    rc = EXIT_USAGE;
    if (!strcmp(sub, "list") && nargs == 0) {
        rc = user_list(o.vault, o.json);
    } else if (!strcmp(sub, "add") && nargs == 1 && o.reissue) {
        if (!o.as || o.roles || o.new_pass_file)
            cli_error("user add NAME --reissue takes --as ADMIN, and neither --role nor "
                      "--new-passphrase-file (NAME keeps their roles and gets a new code)");
        else
            rc = user_reissue(o.vault, args[0], o.as, o.pass_file);
    } else if (!strcmp(sub, "add") && nargs == 1) {
        if (!o.roles || !o.as)
            cli_error("user add needs at least one --role and --as ADMIN");
        else
            rc = user_add(o.vault, args[0], o.roles, o.as, o.pass_file, o.new_pass_file);
    } else if (!strcmp(sub, "activate") && nargs == 1) {
        if (o.code && o.code_file)
            cli_error("user activate takes --code or --code-file, not both");
        else
            rc = user_activate(o.vault, args[0], o.code, o.code_file, o.new_pass_file);
    } else if (!strcmp(sub, "revoke") && nargs == 1) {
        if (!o.as)
            cli_error("user revoke needs --as ADMIN");
        else
            rc = user_revoke(o.vault, args[0], o.as, o.pass_file, o.reason);
    } else {
        cli_error("see 'tellonce user --help' for add, activate, list and revoke");
    }
    free(name);
    return rc;
}

/* ---- tellonce passwd ------------------------------------------------------ */

static void passwd_usage(FILE *f)
{
    fputs(
        _("usage: tellonce passwd --as NAME [--passphrase-file FILE] [--new-passphrase-file FILE]\n"
          "                       [--vault DIR]\n"
          "\n"
          "Changes NAME's own passphrase: the current one first (from --passphrase-file,\n"
          "$TELLONCE_PASSPHRASE or the terminal), then the new one twice (or from\n"
          "--new-passphrase-file or $TELLONCE_NEW_PASSPHRASE). The new one needs at least\n"
          "12 characters and must not be a common one or NAME. The identity file is\n"
          "replaced at once; afterwards the old passphrase opens nothing.\n"),
        f);
}

int cmd_passwd(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"new-passphrase-file", required_argument, NULL, 'N'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *new_pass_file = NULL;
    tlo_vault_identity *id = NULL;
    tlo_error err = {0};
    char *pass = NULL, prompt[400];
    size_t len = 0;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
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
        case 'h':
            passwd_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (!as || optind != argc) {
        cli_error(
            "passwd needs --as NAME (whose passphrase changes); see 'tellonce passwd --help'");
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    if (!(id = cli_acting(v, as, pass_file, TLO_ACT_LOGIN, &rc)))
        goto out;
    snprintf(prompt, sizeof prompt, _("New passphrase for %s (at least 12 characters): "), as);
    rc = EXIT_USAGE;
    if (!(pass = cli_passphrase(new_pass_file, "TELLONCE_NEW_PASSPHRASE", prompt, 1, &len)))
        goto out;
    if (tlo_custody_passwd(v, id, pass, len, cli_kdf_cost(), &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf(_("Changed the passphrase of %s. The old one opens nothing any more.\n"), as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(id);
    sodium_free(pass);
    tlo_custody_close(v);
    return rc;
}
