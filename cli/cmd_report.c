/* tellonce report — the auditor's report of one case, from the ledger
 * alone (docs/report.md): one self-contained HTML file, and the same facts
 * as JSON. No key and no passphrase, unless --as asks for the case's number
 * (shown only to those the table lets see it, and logged first). */
#include "cli.h"
#include "report.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fputs(_("usage: tellonce report CASE -o REPORT.html [--json REPORT.json] [--vault DIR]\n"
            "                       [--as NAME [--passphrase-file FILE]]\n"
            "\n"
            "Writes the custody report of CASE (its internal id, or its number when the\n"
            "custodian's secret can be read) from the ledger alone, with no key: the\n"
            "verification of the whole ledger and how to repeat it, each session (length,\n"
            "segments, markers, device events, gaps, and a chart of who viewed or exported\n"
            "which part), grants, exports with their SHA-256, notes (metadata only),\n"
            "samples with their custody, refusals, and the case's timeline in words.\n"
            "REPORT.html is one self-contained page (no script, nothing loaded from\n"
            "anywhere) that prints well, in the language of the messages (LANG); the\n"
            "JSON is in English. It holds no content of the interview, no note,\n"
            "no detail of the child and no case number: with --as, a person the table lets\n"
            "see case numbers (docs/roles.md) gets the number in it, after a case-view\n"
            "entry logs that it was shown. Exit status 0 when the ledger verifies; 1 when\n"
            "it does not (the report is written and says what is wrong).\n"),
          f);
}

/* Writes into the unnamed file the service's client handed over for path
 * (it links it into place itself after exit 0). */
static int write_to_client(const char *path, const tlo_custody_report *r, bool json)
{
    int fd = dup(tlo_service_file_fd(path));
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("the file handed over for the report cannot be written: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_SYSTEM;
    }
    int bad = json ? tlo_report_write_json(r, f) : tlo_report_write_html(r, f);
    if (fclose(f) != 0 || bad) {
        cli_error("cannot write the report: %s (is the disk full?)", strerror(errno));
        return EXIT_SYSTEM;
    }
    return EXIT_OK;
}

/* Writes the file at path through path.tmp.PID, renamed into place. */
static int write_out(const char *path, const tlo_custody_report *r, bool json)
{
    if (tlo_service_in_child())
        return write_to_client(path, r, json);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp) {
        cli_error("%s: the path is too long", path);
        return EXIT_USAGE;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        cli_error("cannot write %s: %s (is its folder there and writable?)", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EXIT_SYSTEM;
    }
    int bad = json ? tlo_report_write_json(r, f) : tlo_report_write_html(r, f);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        bad = -1;
    int saved = errno;
    if (fclose(f) != 0)
        bad = -1;
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            saved = errno;
        cli_error("cannot write %s: %s (is the disk full?)", path, strerror(saved));
        unlink(tmp);
        return EXIT_SYSTEM;
    }
    return EXIT_OK;
}

/* With --as: the case's number, shown through the custodian (logged). A
 * person who may not see it is refused (the refusal logged) and the report
 * goes on without it. */
static int case_number(tlo_custody *v, const uint8_t id[static TLO_ID_BYTES], const char *as,
                       const char *pass_file, tlo_custody_case_facts *facts)
{
    tlo_error err = {0};
    tlo_custody_case_facts *list = NULL;
    size_t n = 0, i = 0;
    int rc = EXIT_OK;
    tlo_vault_identity *actor = cli_acting(v, as, pass_file, TLO_ACT_REPORT, &rc);
    if (!actor)
        return rc;
    /* The facts as the list has them (with the keyed hash of the number). */
    if (tlo_custody_cases(v, &list, &n, &err) != 0) {
        rc = cli_fail(&err);
        n = 0;
    }
    while (i < n && memcmp(list[i].c.id, id, TLO_ID_BYTES) != 0)
        i++;
    if (rc != EXIT_OK) {
        /* said why */
    } else if (i == n) {
        cli_error("no case-open entry for the case asked: run 'tellonce verify'");
        rc = EXIT_BAD_DATA;
    } else if (tlo_custody_case_numbers(v, actor, &list[i], 1, NULL, &err) != 0) {
        if (err.code != TLO_EDENIED)
            rc = cli_fail(&err);
        else
            fprintf(stderr,
                    "tellonce: %s\ntellonce: the report names the case by its internal "
                    "id only.\n",
                    err.msg);
    }
    if (i < n)
        *facts = list[i];
    free(list);
    tlo_vault_identity_free(actor);
    return rc;
}

/* The JSON is English whatever the language of the page (docs/json.md):
 * when the page's words are not, the case's entries are read again in
 * English; the verification is the page's (unless the ledger grew in the
 * meantime: then it is verified again). */
static int write_json(tlo_custody *v, const tlo_custody_report_params *p,
                      const tlo_custody_report *r, const char *path)
{
    if (!strcmp(tlo_report_lang(), "en"))
        return write_out(path, r, true);
    tlo_custody_report_params ep = *p;
    tlo_custody_report er;
    tlo_error err = {0};
    ep.english = 1;
    ep.progress = (tlo_custody_progress){0};
    ep.verified = r;
    if (tlo_custody_report_build(v, &ep, &er, &err) != 0)
        return cli_fail(&err);
    int rc = write_out(path, &er, true);
    tlo_custody_report_free(&er);
    return rc;
}

typedef struct report_opts {
    const char *vault_opt, *out, *json, *as, *pass_file;
} report_opts;

/* 0 and *o, -1 (--help: done), or an exit code. */
static int report_options(int argc, char **argv, report_opts *o)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"json", required_argument, NULL, 'j'},
                                         {"as", required_argument, NULL, 'a'},
                                         {"passphrase-file", required_argument, NULL, 'p'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *vault_opt = NULL, *out = NULL, *json = NULL, *as = NULL, *pass_file = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            vault_opt = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = optarg;
            break;
        case 'a':
            as = optarg;
            break;
        case 'p':
            pass_file = optarg;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !out) {
        cli_error("report takes one CASE and -o REPORT.html; see 'tellonce report --help'");
        return EXIT_USAGE;
    }
    *o = (report_opts){vault_opt, out, json, as, pass_file};
    return 0;
}

int cmd_report(int argc, char **argv)
{
    report_opts o;
    int rc = report_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    const char *number = argv[optind], *vault_opt = o.vault_opt, *out = o.out, *json = o.json,
               *as = o.as, *pass_file = o.pass_file;
    tlo_custody *v = cli_open(vault_opt, as == NULL, &rc);
    if (!v)
        return rc;
    tlo_custody_case cs;
    tlo_custody_case_facts facts = {0};
    tlo_custody_report r;
    tlo_error err = {0};
    char dir[PATH_MAX];
    if ((rc = cli_find_case(v, number, &cs)) != EXIT_OK ||
        (as && (rc = case_number(v, cs.id, as, pass_file, &facts)) != EXIT_OK)) {
        tlo_custody_close(v);
        return rc;
    }
    tlo_custody_report_params p = {
        .case_id = cs.id,
        .case_number = facts.number_shown ? facts.c.number : NULL,
        .vault_dir_words = realpath(tlo_custody_dir(v), dir) ? dir : NULL,
    };
    /* The report's files are written at the end: the terminal shows how
     * far its verification is. */
    cli_progress *shown = cli_progress_new(CLI_PROGRESS_REPORT, false);
    p.progress = cli_progress_hook(shown);
    int brc = tlo_custody_report_build(v, &p, &r, &err);
    cli_progress_end(shown);
    if (brc != 0) {
        rc = cli_fail(&err);
        tlo_custody_close(v);
        return rc;
    }
    rc = write_out(out, &r, false);
    if (rc == EXIT_OK && json)
        rc = write_json(v, &p, &r, json);
    if (rc == EXIT_OK) {
        /* Through the service the paths are the client's, which puts the
         * files there after this succeeds. */
        bool remote = tlo_service_in_child();
        if (remote)
            printf(_("Wrote the report: %zu sessions, %zu entries of the case, %zu grants, %zu "
                     "exports, %zu notes, %zu samples, %zu refusals.\n"),
                   r.nsessions, r.nlines, r.ngrants, r.nexports, r.nnotes, r.nsamples, r.nrefusals);
        else if (json)
            printf(_("Wrote %s and %s: %zu sessions, %zu entries of the case, %zu grants, %zu "
                     "exports, %zu notes, %zu samples, %zu refusals.\n"),
                   out, json, r.nsessions, r.nlines, r.ngrants, r.nexports, r.nnotes, r.nsamples,
                   r.nrefusals);
        else
            printf(_("Wrote %s: %zu sessions, %zu entries of the case, %zu grants, %zu exports, "
                     "%zu notes, %zu samples, %zu refusals.\n"),
                   out, r.nsessions, r.nlines, r.ngrants, r.nexports, r.nnotes, r.nsamples,
                   r.nrefusals);
        if (r.verified) {
            printf(_("The ledger verified: %llu entries; the newest checkpoint covers %llu.\n"),
                   (unsigned long long)r.entries, (unsigned long long)r.checkpoint_size);
        } else {
            cli_error("the ledger does not verify: %s (the report says so)", r.problem);
            rc = EXIT_BAD_DATA;
        }
    }
    tlo_custody_report_free(&r);
    tlo_custody_close(v);
    return rc;
}
