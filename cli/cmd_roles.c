/* tellonce roles — who may do what: the table custody decides with
 * (custody/roles.c), printed for people, as JSON, or as the Markdown table
 * of docs/roles.md (a test checks that docs/roles.md is this output). */
#include "cli.h"
#include "cli_text.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void roles_usage(FILE *f)
{
    fputs(_("usage: tellonce roles [--json | --markdown]\n"
            "\n"
            "Shows every action and which roles may take it, as the vault decides: some\n"
            "always, some only with a grant, for their own recording or note, or for a\n"
            "sample they hold. A refusal is logged (an action-refused entry). Needs no\n"
            "vault. docs/roles.md is this table.\n"),
          f);
}

/* The roles in the order of the table's columns. */
static const unsigned columns[] = {
    TLO_ROLE_ADMIN,        TLO_ROLE_INTERVIEWER, TLO_ROLE_PROSECUTOR,    TLO_ROLE_MEDICAL,
    TLO_ROLE_PSYCHOLOGIST, TLO_ROLE_LEGAL_AID,   TLO_ROLE_SOCIAL_WORKER, TLO_ROLE_AUDITOR,
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* A condition in a cell. */
static const char *when_cell(unsigned when)
{
    switch (when) {
    case 0:
        return "yes";
    case TLO_WHEN_GRANTED:
        return "with a grant";
    case TLO_WHEN_RECORDER:
        return "own recording";
    case TLO_WHEN_OPENER:
        return "own case";
    case TLO_WHEN_AUTHOR:
        return "author";
    case TLO_WHEN_PROFESSION:
        return "same profession, on the case";
    case TLO_WHEN_HOLDER:
        return "holder";
    case TLO_WHEN_RECEIVER:
        return "receiver";
    default:
        return "?";
    }
}

/* What role may do under r, as a cell: "" (never), "yes", or the
 * conditions joined. */
static void cell(const tlo_custody_act_rule *r, unsigned role, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < TLO_CUSTODY_MAY_CLAUSES && r->may[i].roles; i++) {
        if (!(r->may[i].roles & role))
            continue;
        int n =
            snprintf(out + used, cap - used, "%s%s", used ? ", " : "", when_cell(r->may[i].when));
        if (n > 0 && (size_t)n < cap - used)
            used += (size_t)n;
        if (r->may[i].when == 0)
            break; /* "yes" says all */
    }
    if (strstr(out, "yes"))
        snprintf(out, cap, "yes");
}

static void role_name(unsigned role, char *out, size_t cap)
{
    tlo_roles_format(role, ",", out, cap);
}

static void print_markdown(const tlo_custody_act_rule *t, size_t n)
{
    char name[40], c[120];
    printf("| command | what | ");
    for (size_t k = 0; k < NCOLUMNS; k++) {
        role_name(columns[k], name, sizeof name);
        printf("%s |%s", name, k + 1 < NCOLUMNS ? " " : "\n");
    }
    printf("|---|---|");
    for (size_t k = 0; k < NCOLUMNS; k++)
        printf("---|");
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        printf("| `%s` | %s |", t[i].name, t[i].what);
        for (size_t k = 0; k < NCOLUMNS; k++) {
            cell(&t[i], columns[k], c, sizeof c);
            printf(" %s |", c);
        }
        printf("\n");
    }
}

static void print_json(const tlo_custody_act_rule *t, size_t n)
{
    char name[40], c[120];
    printf("{\"actions\":[");
    for (size_t i = 0; i < n; i++) {
        printf("%s{\"command\":", i ? "," : "");
        cli_json_string(stdout, t[i].name);
        printf(",\"what\":");
        cli_json_string(stdout, t[i].what);
        printf(",\"roles\":{");
        int first = 1;
        for (size_t k = 0; k < NCOLUMNS; k++) {
            cell(&t[i], columns[k], c, sizeof c);
            if (!c[0])
                continue;
            role_name(columns[k], name, sizeof name);
            printf("%s\"%s\":", first ? "" : ",", name);
            cli_json_string(stdout, c);
            first = 0;
        }
        printf("}}");
    }
    printf("]}\n");
}

static void print_text(const tlo_custody_act_rule *t, size_t n)
{
    char who[400];
    /* TRANSLATORS: the headings of 'tellonce roles' */
    cli_print_padded(stdout, _("COMMAND"), 38);
    printf(" %s\n", _("WHO MAY"));
    for (size_t i = 0; i < n; i++) {
        cli_act_who(t[i].act, who, sizeof who);
        printf("%-38s %s\n", t[i].name, who);
    }
}

int cmd_roles(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"markdown", no_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c, form = 0;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            form = 1;
            break;
        case 'm':
            form = 2;
            break;
        case 'h':
            roles_usage(stdout);
            return EXIT_OK;
        default:
            cli_error("run 'tellonce roles --help' for its options");
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("'tellonce roles' takes no argument ('%s')", argv[optind]);
        return EXIT_USAGE;
    }
    size_t n;
    const tlo_custody_act_rule *t = tlo_custody_act_rules(&n);
    if (form == 1)
        print_json(t, n);
    else if (form == 2)
        print_markdown(t, n);
    else
        print_text(t, n);
    return EXIT_OK;
}
