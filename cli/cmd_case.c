/* tellonce case open|list|show — cases, their keys and their sealed fields. */
#include "cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void case_usage(FILE *f)
{
    fprintf(f, "usage: tellonce case open NUMBER --as NAME [--title TEXT] [--child-name NAME]\n"
               "                          [--child-birthdate DATE] [--passphrase-file FILE]\n"
               "       tellonce case list [--json]\n"
               "       tellonce case show NUMBER --as NAME [--passphrase-file FILE]\n"
               "(each also takes --vault DIR)\n"
               "\n"
               "'open' creates a case with the number police use (letters, digits, dashes,\n"
               "Chinese characters...), a new random case key kept only wrapped to the\n"
               "custodian, and the title and the child's name and birth date sealed in the\n"
               "vault: they never appear in the ledger or in a file name. NAME must be an\n"
               "interviewer or an administrator.\n"
               "'show' prints what the ledger says of a case and, to an administrator or the\n"
               "interviewer who opened it, its sealed fields. The attempt is logged either\n"
               "way (a case-view entry, signed by the custodian, before anything is\n"
               "unsealed).\n");
}

static int case_open(const char *vault_opt, const tlo_custody_case_params *p, const char *as,
                     const char *pass_file)
{
    tlo_vault_identity *actor = NULL;
    tlo_custody_case cs;
    tlo_error err = {0};
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);

    if (!v)
        return rc;
    if (tlo_custody_case_open_check(v, p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(actor = cli_acting(v, as, pass_file, TLO_ROLE_INTERVIEWER | TLO_ROLE_ADMIN,
                             "interviewer or administrator", &rc)))
        goto out;
    if (tlo_custody_case_open(v, actor, p, &cs, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    char hex[2 * TLO_ID_BYTES + 1];
    tlo_hex(hex, cs.id, TLO_ID_BYTES);
    printf("Opened case %s (internal id %s) in ledger entry %llu, by %s.\n"
           "Its key is kept wrapped to the custodian; its title and the child's details are "
           "sealed.\n",
           cs.number, hex, (unsigned long long)cs.opened_at, as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

/* What the ledger says of a case, before anything is unsealed. */
static void print_facts(tlo_custody *v, const tlo_custody_case_facts *f)
{
    const tlo_custody_person *opener = tlo_custody_person_by_actor(v, f->opener);
    char id[33];
    tlo_hex(id, f->c.id, TLO_ID_BYTES);
    printf("Case %s\n  %-16s %s\n  %-16s entry %llu, by %s\n  %-16s %u\n", f->c.number,
           "internal id", id, "opened", (unsigned long long)f->c.opened_at,
           opener ? opener->name : "?", "sessions", f->sessions);
}

static int case_show(const char *vault_opt, const char *number, const char *as,
                     const char *pass_file)
{
    tlo_custody_case_facts facts;
    tlo_vault_identity *actor = NULL;
    tlo_custody_case_view *view = NULL;
    tlo_error err = {0};
    int rc;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    if (tlo_custody_case_about(v, number, &facts, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(actor = cli_acting(v, as, pass_file,
                             TLO_ROLE_ADMIN | TLO_ROLE_INTERVIEWER | TLO_ROLE_PROSECUTOR |
                                 TLO_ROLE_MEDICAL | TLO_ROLE_AUDITOR,
                             "enrolled person", &rc)))
        goto out;
    print_facts(v, &facts);
    if (!(view = sodium_malloc(sizeof *view))) { /* it will hold the child's details */
        cli_error("out of secure memory");
        rc = EXIT_SYSTEM;
        goto out;
    }
    if (tlo_custody_case_show(v, actor, number, view, &err) != 0) {
        rc = cli_fail(&err);
        if (view->log_failed)
            cli_error("nothing was unsealed: the view could not be logged first");
        goto out;
    }
    printf("  %-16s %s\n", "title", view->record.title);
    printf("  %-16s %s\n", "child's name", view->record.child_name);
    printf("  %-16s %s\n", "child's birth", view->record.child_birthdate);
    printf("(shown to %s; logged as entry %llu)\n", as, (unsigned long long)view->view_seq);
    rc = EXIT_OK;
out:
    if (view)
        sodium_free(view); /* wipes */
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

static int case_list(const char *vault_opt, int json)
{
    tlo_custody_case_facts *list = NULL;
    tlo_error err = {0};
    size_t n = 0;
    int rc;
    tlo_custody *v = cli_open(vault_opt, true, &rc);
    if (!v)
        return rc;
    if (tlo_custody_people(v, NULL, NULL, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (json)
        printf("[");
    else
        printf("%-24s %-32s  %-8s %s\n", "CASE", "INTERNAL ID", "OPENED", "BY");
    if (tlo_custody_cases(v, &list, &n, &err) != 0)
        rc = cli_fail(&err);
    for (size_t i = 0; i < n; i++) {
        const tlo_custody_person *p = tlo_custody_person_by_actor(v, list[i].opener);
        char id[33];
        tlo_hex(id, list[i].c.id, TLO_ID_BYTES);
        if (json) {
            printf("%s{\"case_number\":", i ? "," : "");
            cli_json_string(stdout, list[i].c.number);
            printf(",\"id\":\"%s\",\"opened_at\":%llu,\"opened_by\":", id,
                   (unsigned long long)list[i].c.opened_at);
            cli_json_string(stdout, p ? p->name : "");
            printf("}");
        } else {
            printf("%-24s %s  %-8llu %s\n", list[i].c.number, id,
                   (unsigned long long)list[i].c.opened_at, p ? p->name : "?");
        }
    }
    if (json)
        printf("]\n");
out:
    free(list);
    tlo_custody_close(v);
    return rc;
}

typedef struct case_opts {
    const char *as, *vault, *pass_file;
    tlo_custody_case_params p;
    int json;
} case_opts;

/* Reads the options after the subcommand; -1 when help was printed, else an
 * exit code (EXIT_OK to go on). */
static int case_options(int argc, char **argv, case_opts *o)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"title", required_argument, NULL, 't'},
                                         {"child-name", required_argument, NULL, 'n'},
                                         {"child-birthdate", required_argument, NULL, 'b'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            o->as = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'P':
            o->pass_file = optarg;
            break;
        case 't':
            o->p.title = optarg;
            break;
        case 'n':
            o->p.child_name = optarg;
            break;
        case 'b':
            o->p.child_birthdate = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            case_usage(stdout);
            return -1;
        default:
            case_usage(stderr);
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_case(int argc, char **argv)
{
    case_opts o = {0};
    if (argc < 2) {
        case_usage(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        case_usage(stdout);
        return EXIT_OK;
    }
    int rc = case_options(argc - 1, argv + 1, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    rc = EXIT_USAGE;
    if (!strcmp(sub, "open") && nargs == 1) {
        o.p.number = args[0];
        if (!o.as)
            cli_error("case open needs --as NAME");
        else
            rc = case_open(o.vault, &o.p, o.as, o.pass_file);
    } else if (!strcmp(sub, "list") && nargs == 0) {
        rc = case_list(o.vault, o.json);
    } else if (!strcmp(sub, "show") && nargs == 1) {
        if (!o.as)
            cli_error("case show needs --as NAME");
        else
            rc = case_show(o.vault, args[0], o.as, o.pass_file);
    } else {
        cli_error("see 'tellonce case --help' for open, list and show");
    }
    return rc;
}
