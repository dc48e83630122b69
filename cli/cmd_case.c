/* tellonce case open|list|show — cases, their keys and their sealed fields. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void case_usage(FILE *f)
{
    fputs(_("usage: tellonce case open NUMBER --as NAME [--title TEXT] [--child-file FILE]\n"
            "                          [--passphrase-file FILE]\n"
            "       tellonce case list [--as NAME [--passphrase-file FILE]] [--json]\n"
            "       tellonce case show NUMBER --as NAME [--passphrase-file FILE] [--json]\n"
            "(each also takes --vault DIR)\n"
            "\n"
            "'open' creates a case with the number police use (letters, digits, dashes,\n"
            "Chinese characters...), a new random case key kept only wrapped to the\n"
            "custodian, and the title and the child's name and birth date sealed in the\n"
            "vault: they never appear in the ledger or in a file name; nor does the number\n"
            "(the ledger keeps a keyed hash of it, which only the custodian can make).\n"
            "NAME must be an interviewer or an administrator. The child's details never go\n"
            "on the command line (every user can read it): FILE holds the lines\n"
            "child_name=NAME and child_birthdate=DATE (either may be left out); without\n"
            "--child-file they are asked on the terminal (Enter for none).\n"
            "'list' names cases by internal id; with --as, to an administrator, interviewer\n"
            "or prosecutor, also by number: read through the custodian, and logged (one\n"
            "case-view entry per case).\n"
            "'show' prints what the ledger says of a case and, to an administrator or the\n"
            "interviewer who opened it, its sealed fields. The attempt is logged either\n"
            "way (a case-view entry, signed by the custodian, before anything is\n"
            "unsealed).\n"),
          f);
}

/* One line "key=value" of a child file: the value into *field. */
static int child_line(const char *file, unsigned no, char *line, tlo_custody_case_params *p)
{
    char *eq = strchr(line, '=');
    if (eq) {
        *eq = '\0';
        if (!strcmp(line, "child_name") && !p->child_name) {
            p->child_name = eq + 1;
            return EXIT_OK;
        }
        if (!strcmp(line, "child_birthdate") && !p->child_birthdate) {
            p->child_birthdate = eq + 1;
            return EXIT_OK;
        }
    }
    cli_error("%s, line %u: expected child_name=NAME or child_birthdate=DATE, each at most once; "
              "fix the file",
              file, no);
    return EXIT_USAGE;
}

/* The child's details from --child-file (into *buf, secure memory: the
 * caller sodium_frees it), never from argv. */
static int child_from_file(const char *file, tlo_custody_case_params *p, char **buf)
{
    enum { MAX = 2048 };
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("cannot open the child file %s: %s", file, strerror(errno));
        return EXIT_USAGE;
    }
    char *b = *buf = sodium_malloc(MAX + 1);
    long long n = b ? tlo_pread_full(fd, b, MAX + 1, 0) : -ENOMEM;
    close(fd);
    if (n < 0 || n > MAX) {
        cli_error("cannot read the child file %s: %s", file,
                  n < 0 ? strerror((int)-n) : "larger than 2048 bytes");
        return n == -ENOMEM ? EXIT_SYSTEM : EXIT_USAGE;
    }
    b[n] = '\0';
    if (strlen(b) != (size_t)n) {
        cli_error("the child file %s holds a NUL byte; it is lines of text", file);
        return EXIT_USAGE;
    }
    unsigned no = 0;
    for (char *line = b; *line;) {
        char *nl = strchr(line, '\n'), *next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = '\0';
        if (nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        no++;
        int rc = *line ? child_line(file, no, line, p) : EXIT_OK;
        if (rc)
            return rc;
        line = next;
    }
    return EXIT_OK;
}

/* Asks one of the child's details on the terminal (echo on): *out in
 * secure memory, NULL when left empty. */
static int ask_child(int tty, const char *prompt, char **out)
{
    size_t len;
    *out = NULL;
    if (write(tty, prompt, strlen(prompt)) < 0)
        return EXIT_SYSTEM;
    char *s = tlo_vault_secret_line(tty, &len);
    if (!s) {
        cli_error("out of secure memory for the child's details");
        return EXIT_SYSTEM;
    }
    if (len == 0)
        sodium_free(s);
    else
        *out = s;
    return EXIT_OK;
}

/* The child's details: from --child-file, else asked on the terminal when
 * there is one, else none. */
static int child_details(const char *file, tlo_custody_case_params *p, char *bufs[3])
{
    if (file)
        return child_from_file(file, p, &bufs[0]);
    if (!isatty(STDIN_FILENO))
        return EXIT_OK;
    int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (tty < 0)
        return EXIT_OK;
    int rc = ask_child(tty, _("The child's name (Enter for none): "), &bufs[1]);
    if (rc == EXIT_OK)
        rc = ask_child(tty, _("The child's birth date (Enter for none): "), &bufs[2]);
    close(tty);
    p->child_name = bufs[1];
    p->child_birthdate = bufs[2];
    return rc;
}

static int case_open(const char *vault_opt, tlo_custody_case_params *p, const char *as,
                     const char *pass_file, const char *child_file)
{
    char *bufs[3] = {NULL, NULL, NULL}; /* the child's details, secure memory */
    tlo_vault_identity *actor = NULL;
    tlo_custody_case cs;
    tlo_error err = {0};
    int rc;
    tlo_custody *v = NULL;
    if (!(v = cli_open(vault_opt, false, &rc)))
        goto out;
    /* The number first, so that nobody types the child's details for a case
     * that cannot be opened; then everything. */
    if (tlo_custody_case_open_check(v, p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if ((rc = child_details(child_file, p, bufs)) != EXIT_OK)
        goto out;
    if (tlo_custody_case_open_check(v, p, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(actor = cli_acting(v, as, pass_file, TLO_ACT_CASE_OPEN, &rc)))
        goto out;
    if (tlo_custody_case_open(v, actor, p, &cs, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    char hex[2 * TLO_ID_BYTES + 1];
    tlo_hex(hex, cs.id, TLO_ID_BYTES);
    printf(_("Opened case %s (internal id %s) in ledger entry %llu, by %s.\n"
             "Its key is kept wrapped to the custodian; its title and the child's details are "
             "sealed.\n"),
           cs.number, hex, (unsigned long long)cs.opened_at, as);
    rc = EXIT_OK;
out:
    for (int i = 0; i < 3; i++)
        if (bufs[i])
            sodium_free(bufs[i]); /* wipes */
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

/* One "  LABEL  value" line of case show, the label padded by its display
 * width (a translated label). */
static void case_field(const char *label, const char *value)
{
    fputs("  ", stdout);
    /* TRANSLATORS: the labels of 'case show' are padded to 16 columns. */
    cli_print_padded(stdout, label, 16);
    printf(" %s\n", value);
}

/* What the ledger says of a case, before anything is unsealed. */
static void print_facts(tlo_custody *v, const tlo_custody_case_facts *f)
{
    const tlo_custody_person *opener = tlo_custody_person_by_actor(v, f->opener);
    char id[33];
    tlo_hex(id, f->c.id, TLO_ID_BYTES);
    printf(_("Case %s\n"), f->c.number);
    case_field(_("internal id"), id);
    char opened[TLO_NAME_MAX + 64], sessions[24];
    snprintf(opened, sizeof opened, _("entry %llu, by %s"), (unsigned long long)f->c.opened_at,
             opener ? opener->name : "?");
    snprintf(sessions, sizeof sessions, "%u", f->sessions);
    case_field(_("opened"), opened);
    case_field(_("sessions"), sessions);
}

/* case show --json (docs/json.md): the facts and the sealed fields, once
 * the view is logged. */
static void print_show_json(tlo_custody *v, const tlo_custody_case_facts *f,
                            const tlo_custody_case_view *view, const char *as)
{
    const tlo_custody_person *opener = tlo_custody_person_by_actor(v, f->opener);
    char id[33];
    tlo_hex(id, f->c.id, TLO_ID_BYTES);
    printf("{\"case_number\":");
    cli_json_string(stdout, f->c.number);
    printf(",\"case_id\":\"%s\",\"opened_entry\":%llu,\"opened_by\":", id,
           (unsigned long long)f->c.opened_at);
    cli_json_string(stdout, opener ? opener->name : "");
    printf(",\"sessions\":%u,\"title\":", f->sessions);
    cli_json_string(stdout, view->record.title);
    printf(",\"child_name\":");
    cli_json_string(stdout, view->record.child_name);
    printf(",\"child_birthdate\":");
    cli_json_string(stdout, view->record.child_birthdate);
    printf(",\"person\":");
    cli_json_string(stdout, as);
    printf(",\"entry\":%llu}\n", (unsigned long long)view->view_seq);
}

static int case_show(const char *vault_opt, const char *number, const char *as,
                     const char *pass_file, bool json)
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
    if (!(actor =
              cli_acting(v, as, pass_file, TLO_ACT_LOGIN /* case show decides, and logs */, &rc)))
        goto out;
    if (!json)
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
    if (json) {
        print_show_json(v, &facts, view, as);
        rc = EXIT_OK;
        goto out;
    }
    case_field(_("title"), view->record.title);
    case_field(_("child's name"), view->record.child_name);
    case_field(_("child's birth"), view->record.child_birthdate);
    printf(_("(shown to %s; logged as entry %llu)\n"), as, (unsigned long long)view->view_seq);
    rc = EXIT_OK;
out:
    if (view)
        sodium_free(view); /* wipes */
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

static int case_list(const char *vault_opt, int json, const char *as, const char *pass_file)
{
    tlo_custody_case_facts *list = NULL;
    tlo_vault_identity *actor = NULL;
    tlo_error err = {0};
    uint64_t seq = 0;
    size_t n = 0;
    int rc;
    /* Read-only unless someone asks for the numbers: that is logged. */
    tlo_custody *v = cli_open(vault_opt, as == NULL, &rc);
    if (!v)
        return rc;
    if (tlo_custody_people(v, NULL, NULL, &err) != 0 ||
        tlo_custody_cases(v, &list, &n, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (as) {
        if (!(actor = cli_acting(v, as, pass_file, TLO_ACT_CASE_NUMBERS, &rc)))
            goto out;
        if (tlo_custody_case_numbers(v, actor, list, n, &seq, &err) != 0)
            rc = cli_fail(&err); /* the list follows, by internal id where unread */
        if (tlo_custody_people(v, NULL, NULL, &err) != 0) {
            rc = cli_fail(&err);
            goto out;
        }
    }
    if (json)
        printf("[");
    else {
        /* TRANSLATORS: the headings of 'case list'; padded by display width. */
        cli_print_padded(stdout, _("CASE"), 24);
        fputs(" ", stdout);
        cli_print_padded(stdout, _("INTERNAL ID"), 32);
        fputs("  ", stdout);
        cli_print_padded(stdout, _("OPENED"), 8);
        printf(" %s\n", _("BY"));
    }
    for (size_t i = 0; i < n; i++) {
        const tlo_custody_person *p = tlo_custody_person_by_actor(v, list[i].opener);
        char id[33];
        tlo_hex(id, list[i].c.id, TLO_ID_BYTES);
        if (json) {
            printf("%s{\"case_number\":", i ? "," : "");
            if (list[i].number_shown)
                cli_json_string(stdout, list[i].c.number);
            else
                printf("null");
            printf(",\"case_id\":\"%s\",\"opened_entry\":%llu,\"opened_by\":", id,
                   (unsigned long long)list[i].c.opened_at);
            cli_json_string(stdout, p ? p->name : "");
            printf("}");
        } else {
            cli_print_padded(stdout, list[i].number_shown ? list[i].c.number : "-", 24);
            printf(" %s  %-8llu ", id, (unsigned long long)list[i].c.opened_at);
            cli_print_padded(stdout, p ? p->name : "?", 0);
            printf("\n");
        }
    }
    if (json)
        printf("]\n");
    if (seq && !json)
        printf(_("(numbers shown to %s; logged as entries %llu to %llu)\n"), as,
               (unsigned long long)seq, (unsigned long long)(seq + n - 1));
out:
    tlo_vault_identity_free(actor);
    free(list);
    tlo_custody_close(v);
    return rc;
}

typedef struct case_opts {
    const char *as, *vault, *pass_file, *child_file;
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
                                         {"child-file", required_argument, NULL, 'F'},
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
        case 'b':
            /* Too late to hide it (it is in /proc/PID/cmdline now), but
             * never sealed from there: the habit must not stay. */
            cli_error("the child's details never go on the command line, where every user of "
                      "this machine can read them; put child_name=... and child_birthdate=... "
                      "lines in a file only you can read and give --child-file FILE, or leave "
                      "it out to be asked on the terminal");
            return EXIT_USAGE;
        case 'F':
            o->child_file = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'h':
            case_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return EXIT_OK;
}

int cmd_case(int argc, char **argv)
{
    case_opts o = {0};
    if (argc < 2) {
        cli_usage_hint();
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
            rc = case_open(o.vault, &o.p, o.as, o.pass_file, o.child_file);
    } else if (!strcmp(sub, "list") && nargs == 0) {
        rc = case_list(o.vault, o.json, o.as, o.pass_file);
    } else if (!strcmp(sub, "show") && nargs == 1) {
        if (!o.as)
            cli_error("case show needs --as NAME");
        else
            rc = case_show(o.vault, args[0], o.as, o.pass_file, o.json);
    } else {
        cli_error("see 'tellonce case --help' for open, list and show");
    }
    return rc;
}
