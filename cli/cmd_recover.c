/* tellonce recover — close sessions a crash or power cut left open.
 *
 * A session whose recording process died has no session-end entry, and its
 * last segment was never finished: a sealed object with no final chunk,
 * referenced by no entry. recover keeps the authenticated part of that
 * object, cut after its last complete MP4 fragment, seals it again as a
 * complete segment, logs it, and ends the session as recovered, saying what
 * was kept and what was lost. The unfinished object stays where it is. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void recover_usage(FILE *f)
{
    fputs(_("usage: tellonce recover --as NAME [--passphrase-file FILE] [--vault DIR] [--json]\n"
            "\n"
            "Closes every session that a crash or power cut left open: keeps the\n"
            "authenticated part of its unfinished segment (whole MP4 fragments only), seals\n"
            "it again as a complete segment, logs it, and ends the session as recovered,\n"
            "saying what was kept and lost. NAME must be an interviewer or an administrator;\n"
            "the access to the case key is logged first. --json prints every step as one\n"
            "JSON object (docs/json.md).\n"),
          f);
}

/* Says what the recovery did, step by step, as it was logged. */
static void print_steps(const tlo_custody_recovery *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const tlo_custody_recovery_step *s = &r->step[i];
        if (s->skipped)
            printf(_("Session %s (case %s) is live: its case's lease is held (%s), so it is left "
                     "alone and nothing is logged for it. Run recover again once that recording "
                     "has stopped, if it did not end cleanly.\n"),
                   s->session, s->case_hex, s->held_by);
        else if (!s->closed)
            printf(_("Recovered %.1f s of session %s from %s: sealed again as segment %llu (entry "
                     "%llu).\n"),
                   (double)s->ms / 1000, s->session, s->file, (unsigned long long)s->index,
                   (unsigned long long)s->seq);
        else
            printf(_("Session %s (case %s) is closed as recovered in entry %llu: %llu segments in "
                     "all; of the unfinished segment file (%llu bytes sealed) %llu bytes of whole "
                     "fragments were kept; what had not been sealed when the recording stopped is "
                     "lost.\n"),
                   s->session, s->case_hex, (unsigned long long)s->seq,
                   (unsigned long long)s->segments, (unsigned long long)s->found_bytes,
                   (unsigned long long)s->kept_bytes);
    }
}

/* recover --json (docs/json.md): every step, as print_steps says them. */
static void print_steps_json(const tlo_custody_recovery *r)
{
    printf("{\"steps\":[");
    for (size_t i = 0; i < r->n; i++) {
        const tlo_custody_recovery_step *s = &r->step[i];
        const char *what = s->skipped ? "live" : !s->closed ? "segment" : "closed";
        printf("%s{\"step\":\"%s\",\"session\":\"%s\",\"case_id\":", i ? "," : "", what,
               s->session);
        if (s->case_hex[0])
            printf("\"%s\"", s->case_hex);
        else
            printf("null");
        if (s->skipped) {
            printf(",\"held_by\":");
            cli_json_string(stdout, s->held_by);
        } else if (!s->closed) {
            printf(",\"entry\":%llu,\"segment\":%llu,\"kept_ms\":%llu,\"file\":",
                   (unsigned long long)s->seq, (unsigned long long)s->index,
                   (unsigned long long)s->ms);
            cli_json_string(stdout, s->file);
        } else {
            printf(",\"entry\":%llu,\"segments\":%llu,\"found_bytes\":%llu,"
                   "\"kept_bytes\":%llu",
                   (unsigned long long)s->seq, (unsigned long long)s->segments,
                   (unsigned long long)s->found_bytes, (unsigned long long)s->kept_bytes);
        }
        printf("}");
    }
    printf("]}\n");
}

int cmd_recover(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL;
    int c, rc;
    bool json = false;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'A') {
            as = optarg;
        } else if (c == 'V') {
            vault_opt = optarg;
        } else if (c == 'P') {
            pass_file = optarg;
        } else if (c == 'j') {
            json = true;
        } else {
            if (c != 'h') {
                cli_usage_hint();
                return EXIT_USAGE;
            }
            recover_usage(stdout);
            return EXIT_OK;
        }
    }
    if (optind != argc || !as) {
        cli_error("recover takes --as NAME; see 'tellonce recover --help'");
        return EXIT_USAGE;
    }
    tlo_vault_identity *actor = NULL;
    tlo_custody_recovery r = {0};
    tlo_error err = {0};
    size_t open_count = 0;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    /* Who asks is decided first: a person the table does not let recover
     * is refused (and logged) whether or not a session is open. */
    if (tlo_custody_recover_count(v, &open_count, &err) != 0) {
        rc = cli_fail(&err);
    } else if (!(actor = cli_acting(v, as, pass_file, TLO_ACT_RECOVER, &rc))) {
        /* refused (logged), or the identity could not be opened: said */
    } else if (open_count == 0 && json) {
        printf("{\"steps\":[]}\n");
        rc = EXIT_OK;
    } else if (open_count == 0) {
        printf(_("Every session in the vault is closed; there is nothing to recover.\n"));
        rc = EXIT_OK;
    } else {
        int frc = tlo_custody_recover(v, actor, &r, &err);
        if (json)
            print_steps_json(&r);
        else
            print_steps(&r); /* what was done before any failure is logged */
        rc = frc ? cli_fail(&err) : EXIT_OK;
    }
    tlo_custody_recovery_free(&r);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

/* What the service's recovery did, for its stderr and its next client. */
static void tell_auto(const tlo_custody_recovery *r, void (*notice)(const char *text))
{
    char line[600];
    for (size_t i = 0; i < r->n; i++) {
        const tlo_custody_recovery_step *s = &r->step[i];
        size_t parts = 0;
        uint64_t ms = 0;
        for (size_t j = 0; j < r->n; j++)
            if (!r->step[j].closed && !r->step[j].skipped &&
                !strcmp(r->step[j].session, s->session)) {
                parts++;
                ms += r->step[j].ms;
            }
        if (s->skipped)
            snprintf(line, sizeof line,
                     _("session %s (case %s) was left open but is live outside the service (%s): "
                       "left alone; if it does not end cleanly, run 'tellonce recover'"),
                     s->session, s->case_hex, s->held_by);
        else if (s->closed)
            snprintf(line, sizeof line,
                     _("session %s (case %s), left open when the service or its recording "
                       "stopped, was recovered at the service's start: %llu segments in all, %zu "
                       "sealed again from unfinished files (%.1f s); entry %llu, signed by the "
                       "custodian ('tellonce log --case %s' shows it)"),
                     s->session, s->case_hex, (unsigned long long)s->segments, parts,
                     (double)ms / 1000, (unsigned long long)s->seq, s->case_hex);
        else
            continue;
        fprintf(stderr, "%s: %s\n", cli_prog, line);
        if (notice)
            notice(line);
    }
}

int cli_recover_at_start(const char *vault, void (*notice)(const char *text))
{
    int rc;
    tlo_error err = {0};
    tlo_custody_recovery r = {0};
    tlo_custody_recovery_summary sum;
    tlo_custody *v = cli_open(vault, false, &rc);
    if (!v)
        return rc;
    int frc = tlo_custody_recover_auto(v, &r, &sum, &err);
    tell_auto(&r, notice); /* what was done before any failure is logged */
    if (frc) {
        /* The service still starts: what it decides later fails closed on
         * its own, and 'tellonce recover' can be run once this is fixed. */
        char line[TLO_ERROR_MSG_MAX + 200];
        snprintf(line, sizeof line,
                 _("the recovery at the service's start failed: %s; the sessions it did not "
                   "close stay open: once that is fixed, run 'tellonce recover'"),
                 err.msg[0] ? err.msg : tlo_strerror(err.code));
        fprintf(stderr, "%s: error: %s\n", cli_prog, line);
        if (notice)
            notice(line);
    } else if (sum.sessions == 0 && sum.skipped == 0) {
        fprintf(stderr, "%s: every session of the vault is closed; nothing to recover\n", cli_prog);
    }
    tlo_custody_recovery_free(&r);
    tlo_custody_close(v);
    return EXIT_OK;
}
