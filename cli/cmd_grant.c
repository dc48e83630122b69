/* tellonce grant — an administrator grants one person a clip of one
 * session (a range, a purpose, an expiry, view and/or export); grant list,
 * grant revoke. Grants are ledger entries (kinds 30 and 31) that the custody
 * core checks, logs and honours (custody/grants.c). */
#include "cli.h"
#include "tlo_time.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void grant_usage(FILE *f)
{
    fputs(_("usage: tellonce grant CASE --for NAME --session S --expires YYYY-MM-DD\n"
            "                      --purpose TEXT --as ADMIN [--from HH:MM:SS] [--to HH:MM:SS]\n"
            "                      [--actions view|export|view,export] [--passphrase-file FILE]\n"
            "       tellonce grant CASE --for NAME --note NOTE --expires YYYY-MM-DD\n"
            "                      --purpose TEXT --as ADMIN\n"
            "       tellonce grant list [CASE] [--json]\n"
            "       tellonce grant revoke GRANT-ID --as ADMIN [--reason TEXT]\n"
            "\n"
            "Grants NAME (a prosecutor, medical staff or an administrator; never an auditor)\n"
            "the range --from to --to (session clock; default the whole session) of\n"
            "session S of CASE (its number in 'tellonce session list', or 4+ hex digits of\n"
            "its id), for --purpose, until the end of the --expires day in the vault's\n"
            "time zone ('tellonce settings'; \"YYYY-MM-DD HH:MM\": that minute),\n"
            "for the --actions (default view). A signed ledger entry, written by an\n"
            "administrator; its entry number is the GRANT-ID. 'grant revoke' ends a\n"
            "grant at once. The interviewer who recorded a session may view it without a\n"
            "grant. With --note, grants NAME the note NOTE of CASE (its number in 'tellonce\n"
            "note list' or 4+ hex digits of its id), every version of it, until the end of\n"
            "the --expires day, for --purpose; 'grant revoke' ends it too. The older\n"
            "spellings still work, with a note: --until for --to, and --to NAME (a value\n"
            "that is not a time) for --for NAME.\n"),
          f);
}

/* The vault's time zone made the display zone (its timezone setting, read
 * from verified entries; unset: the system's), then --expires: "YYYY-MM-DD"
 * ends at 23:59:59.999 of that day in it, "YYYY-MM-DD HH:MM" at that minute.
 * Refused: no such day, or one already past. 0 or the exit code (printed). */
static int grant_expiry(tlo_custody *v, const char *text, uint64_t *ms)
{
    char zone[TLO_TIME_ZONE_MAX + 1];
    tlo_error err = {0};
    bool whole_day = false;
    int set = tlo_custody_setting(v, "timezone", zone, sizeof zone, &err);
    if (set < 0)
        return cli_fail(&err);
    if (set == 1 && tlo_time_set_zone(zone) != 0) {
        cli_error("the vault's time zone %s is not one this machine has (/usr/share/zoneinfo): "
                  "install the package tzdata, or have an administrator set another with "
                  "'tellonce settings set timezone ZONE'",
                  zone);
        return EXIT_SYSTEM;
    }
    if (set == 0)
        (void)tlo_time_set_zone(NULL);
    char name[TLO_TIME_ZONE_MAX + 1];
    tlo_time_zone_name(name, sizeof name, NULL);
    if (tlo_time_parse_local(text, ms, &whole_day) != 0) {
        cli_error("--expires takes a day, YYYY-MM-DD (the grant ends with that day in %s), or "
                  "\"YYYY-MM-DD HH:MM\" (it ends at that minute); '%s' is neither",
                  name, text);
        return EXIT_USAGE;
    }
    if (tlo_custody_now_ms() >= *ms) {
        char now[TLO_TIME_TEXT_MAX];
        tlo_time_text(tlo_custody_now_ms(), now, sizeof now);
        cli_error("--expires %s is in the past: it is %s now (%s); give a later day", text, now,
                  name);
        return EXIT_USAGE;
    }
    return 0;
}

static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

/* ms as ISO 8601 UTC with milliseconds, for JSON. */
static void iso_utc(uint64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[24];
    if (!gmtime_r(&t, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(out, cap, "%llu", (unsigned long long)ms);
    else
        snprintf(out, cap, "%s.%03uZ", s, (unsigned)(ms % 1000));
}

static void print_grant(const tlo_custody_grant *g, bool json, bool first, uint64_t now)
{
    char from[32], until[32], exp[TLO_TIME_TEXT_MAX], iso[32], chex[33];
    tlo_time_text(g->expires_ms, exp, sizeof exp);
    iso_utc(g->expires_ms, iso, sizeof iso);
    ms_text(from, sizeof from, g->from_ms);
    ms_text(until, sizeof until, g->until_ms);
    tlo_hex(chex, g->case_id, TLO_ID_BYTES);
    /* TRANSLATORS: a grant's state in grant list */
    const char *state = g->revoked_at >= 0     ? N_("revoked")
                        : g->expires_ms <= now ? N_("expired")
                                               : N_("active");
    if (!json) {
        /* TRANSLATORS: grant list: GRANT-ID, person, session, from, to, expiry, state, purpose */
        if (g->view && g->exp)
            printf(_("grant %llu: %s may view,export session %s, %s to %s, until %s (%s); "
                     "purpose: %s\n"),
                   (unsigned long long)g->seq, g->to_name, g->session, from, until, exp, _(state),
                   g->purpose);
        else if (g->exp)
            printf(_("grant %llu: %s may export session %s, %s to %s, until %s (%s); purpose: "
                     "%s\n"),
                   (unsigned long long)g->seq, g->to_name, g->session, from, until, exp, _(state),
                   g->purpose);
        else
            printf(_("grant %llu: %s may view session %s, %s to %s, until %s (%s); purpose: %s\n"),
                   (unsigned long long)g->seq, g->to_name, g->session, from, until, exp, _(state),
                   g->purpose);
        return;
    }
    printf("%s{\"entry\":%llu,\"case_id\":\"%s\",\"person\":", first ? "" : ",",
           (unsigned long long)g->seq, chex);
    cli_json_string(stdout, g->to_name);
    printf(",\"session\":\"%s\",\"from_ms\":%llu,\"to_ms\":%llu,\"expires\":\"%s\","
           "\"expires_ms\":%llu,\"actions\":%s,\"state\":\"%s\",\"purpose\":",
           g->session, (unsigned long long)g->from_ms, (unsigned long long)g->until_ms, iso,
           (unsigned long long)g->expires_ms,
           g->view && g->exp ? "[\"view\",\"export\"]"
           : g->exp          ? "[\"export\"]"
                             : "[\"view\"]",
           state);
    cli_json_string(stdout, g->purpose);
    printf("}");
}

static void print_note_grant(const tlo_custody_note_grant *g, bool json, bool first, uint64_t now)
{
    char exp[TLO_TIME_TEXT_MAX], iso[32], chex[33];
    tlo_time_text(g->expires_ms, exp, sizeof exp);
    iso_utc(g->expires_ms, iso, sizeof iso);
    tlo_hex(chex, g->case_id, TLO_ID_BYTES);
    /* TRANSLATORS: a grant's state in grant list */
    const char *state = g->revoked_at >= 0     ? N_("revoked")
                        : g->expires_ms <= now ? N_("expired")
                                               : N_("active");
    if (!json) {
        printf(_("grant %llu: %s may read note %s (every version), until %s (%s); purpose: %s\n"),
               (unsigned long long)g->seq, g->to_name, g->note, exp, _(state), g->purpose);
        return;
    }
    printf("%s{\"entry\":%llu,\"case_id\":\"%s\",\"person\":", first ? "" : ",",
           (unsigned long long)g->seq, chex);
    cli_json_string(stdout, g->to_name);
    printf(",\"note\":\"%s\",\"expires\":\"%s\",\"expires_ms\":%llu,\"actions\":[\"read\"],"
           "\"state\":\"%s\",\"purpose\":",
           g->note, iso, (unsigned long long)g->expires_ms, state);
    cli_json_string(stdout, g->purpose);
    printf("}");
}

static int grant_list(int argc, char **argv)
{
    static const struct option opts[] = {{"vault", required_argument, NULL, 'V'},
                                         {"json", no_argument, NULL, 'j'},
                                         {NULL, 0, NULL, 0}};
    const char *vault_opt = NULL;
    int c, json = 0, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'V')
            vault_opt = optarg;
        else if (c == 'j')
            json = 1;
        else
            return EXIT_USAGE;
    }
    tlo_custody_case cs;
    tlo_custody_grant *g = NULL;
    tlo_custody_note_grant *ng = NULL;
    tlo_error err = {0};
    size_t n = 0, nn = 0;
    bool one = argc - optind == 1;
    tlo_custody *v = cli_open(vault_opt, true, &rc);
    if (!v || (one && (rc = cli_find_case(v, argv[optind], &cs)) != 0))
        goto out;
    if (tlo_custody_grants(v, one ? cs.id : NULL, &g, &n, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (tlo_custody_note_grants(v, one ? cs.id : NULL, &ng, &nn, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    uint64_t now = tlo_custody_now_ms();
    if (json)
        printf("[");
    else if (n == 0 && nn == 0)
        fputs(one ? _("No grants for this case.\n") : _("No grants.\n"), stdout);
    for (size_t i = 0; i < n; i++)
        print_grant(&g[i], json, i == 0, now);
    for (size_t i = 0; i < nn; i++)
        print_note_grant(&ng[i], json, i == 0 && n == 0, now);
    if (json)
        printf("]\n");
    rc = EXIT_OK;
out:
    free(g);
    free(ng);
    tlo_custody_close(v);
    return rc;
}

static int grant_revoke(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"reason", required_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *reason = "revoked";
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
        case 'r':
            reason = optarg;
            break;
        default:
            return EXIT_USAGE;
        }
    }
    uint64_t id, seq;
    if (argc - optind != 1 || !as || tlo_parse_u64(argv[optind], &id) != 0) {
        cli_error("grant revoke takes a GRANT-ID (see 'tellonce grant list') and --as ADMIN");
        return EXIT_USAGE;
    }
    if (!tlo_text_ok(reason, 300)) {
        cli_error("--reason is one line of text, at most 300 bytes");
        return EXIT_USAGE;
    }
    tlo_custody_grant g;
    tlo_error err = {0};
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = cli_open(vault_opt, false, &rc);
    if (!v)
        return rc;
    tlo_custody_note_grant ng;
    if (tlo_custody_grant_find(v, id, &g, &err) == TLO_ENOTFOUND &&
        tlo_custody_note_grant_find(v, id, &ng, NULL) != TLO_ENOTFOUND) {
        /* a note grant (kind 32): revoked the same way */
        tlo_error_clear(&err);
        if (tlo_custody_note_grant_find(v, id, &ng, &err) != 0)
            rc = cli_fail(&err);
        else if ((actor = cli_acting_on(v, as, pass_file, TLO_ACT_GRANT, ng.case_id, &rc)) &&
                 tlo_custody_note_grant_revoke(v, actor, id, reason, &ng, &seq, &err) != 0)
            rc = cli_fail(&err);
        else if (actor) {
            printf(_("Note grant %llu (to %s) is revoked, in entry %llu by %s.\n"),
                   (unsigned long long)id, ng.to_name, (unsigned long long)seq, as);
            rc = EXIT_OK;
        }
    } else if (err.code)
        rc = cli_fail(&err);
    else if ((actor = cli_acting_on(v, as, pass_file, TLO_ACT_GRANT, g.case_id, &rc)) &&
             tlo_custody_grant_revoke(v, actor, id, reason, &g, &seq, &err) != 0)
        rc = cli_fail(&err);
    else if (actor) {
        printf(_("Grant %llu (to %s) is revoked, in entry %llu by %s.\n"), (unsigned long long)id,
               g.to_name, (unsigned long long)seq, as);
        rc = EXIT_OK;
    }
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

typedef struct grant_args {
    const char *as, *vault_opt, *pass_file, *expires, *note;
    tlo_custody_grant_params p;
} grant_args;

static int grant_check_options(int argc, char **argv, grant_args *a, const char *from,
                               const char *until, const char *actions);

/* The options of grant (getopt_long). */
static const struct option grant_opts[] = {{"as", required_argument, NULL, 'A'},
                                           {"vault", required_argument, NULL, 'V'},
                                           {"passphrase-file", required_argument, NULL, 'P'},
                                           {"to", required_argument, NULL, 't'},
                                           {"for", required_argument, NULL, 'F'},
                                           {"session", required_argument, NULL, 's'},
                                           {"from", required_argument, NULL, 'f'},
                                           {"until", required_argument, NULL, 'u'},
                                           {"expires", required_argument, NULL, 'e'},
                                           {"purpose", required_argument, NULL, 'p'},
                                           {"actions", required_argument, NULL, 'a'},
                                           {"note", required_argument, NULL, 'n'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};

/* Reads the options of 'grant' into a; 0, -1 after --help, or an exit code. */
static int grant_options(int argc, char **argv, grant_args *a)
{
    const char *from = NULL, *until = NULL, *actions = "view", *to_name = NULL;
    uint64_t ms;
    int c;
    memset(a, 0, sizeof *a);
    a->p.until_ms = UINT64_MAX;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", grant_opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            a->as = optarg;
            break;
        case 'V':
            a->vault_opt = optarg;
            break;
        case 'P':
            a->pass_file = optarg;
            break;
        case 't': /* the range's end; a value that is not a time: the old --to NAME */
            if (cli_parse_session_time(optarg, &ms) == 0)
                until = optarg;
            else
                to_name = optarg;
            break;
        case 'F':
            a->p.to = optarg;
            break;
        case 's':
            a->p.session = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'u':
            fprintf(stderr, _("%s: note: --until is now --to\n"), cli_prog);
            until = optarg;
            break;
        case 'e':
            a->expires = optarg;
            break;
        case 'p':
            a->p.purpose = optarg;
            break;
        case 'a':
            actions = optarg;
            break;
        case 'n':
            a->note = optarg;
            break;
        case 'h':
            grant_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (to_name && a->p.to) {
        cli_error("--to %s is not a time (HH:MM:SS): --to ends the range, and the person is "
                  "--for NAME",
                  to_name);
        return EXIT_USAGE;
    }
    if (to_name) {
        fprintf(stderr, _("%s: note: use --for NAME (--to now ends the range)\n"), cli_prog);
        a->p.to = to_name;
    }
    return grant_check_options(argc, argv, a, from, until, actions);
}

/* What grant_options read, checked together. */
static int grant_check_options(int argc, char **argv, grant_args *a, const char *from,
                               const char *until, const char *actions)
{
    if (a->note && (a->p.session || from || until || strcmp(actions, "view"))) {
        cli_error("a note grant (--note) covers the whole note: leave out --session, --from, "
                  "--to and --actions");
        return EXIT_USAGE;
    }
    if (argc - optind != 1 || !a->as || !a->p.to || (!a->p.session && !a->note) || !a->expires ||
        !a->p.purpose) {
        cli_error("grant takes CASE, --for NAME, --session, --expires, --purpose and --as; see "
                  "'tellonce grant --help'");
        return EXIT_USAGE;
    }
    a->p.case_number = argv[optind];
    if ((from && cli_parse_session_time(from, &a->p.from_ms) != 0) ||
        (until && cli_parse_session_time(until, &a->p.until_ms) != 0)) {
        cli_error("--from and --to take session times as HH:MM:SS, MM:SS or SS (.mmm "
                  "optional)");
        return EXIT_USAGE;
    }
    a->p.view = !strcmp(actions, "view") || !strcmp(actions, "view,export");
    a->p.exp = !strcmp(actions, "export") || !strcmp(actions, "view,export");
    if (!a->p.view && !a->p.exp) {
        cli_error("--actions is view, export or view,export");
        return EXIT_USAGE;
    }
    return 0;
}

/* What the core cannot know: the spelling the person typed. */
static int grant_check_text(grant_args *a)
{
    if (!tlo_text_ok(a->p.purpose, 400)) {
        cli_error("--purpose is one line of text, 1 to 400 bytes");
        return EXIT_USAGE;
    }
    return 0;
}

/* grant CASE --note NOTE ...: custody/notes.c checks, logs and honours it. */
static int grant_note(tlo_custody *v, const grant_args *a)
{
    tlo_custody_note_grant_params p = {.case_number = a->p.case_number,
                                       .note = a->note,
                                       .to = a->p.to,
                                       .expires_ms = a->p.expires_ms,
                                       .purpose = a->p.purpose};
    tlo_custody_note_grant g;
    tlo_error err = {0};
    tlo_vault_identity *actor = NULL;
    int rc;
    if (tlo_custody_note_grant_check(v, &p, &g, &err) != 0)
        return cli_fail(&err);
    if (!(actor = cli_acting_on(v, a->as, a->pass_file, TLO_ACT_GRANT, g.case_id, &rc)))
        return rc;
    if (tlo_custody_note_grant_issue(v, actor, &p, &g, &err) != 0)
        rc = cli_fail(&err);
    else {
        char exp[TLO_TIME_TEXT_MAX];
        tlo_time_text(g.expires_ms, exp, sizeof exp);
        printf(_("Grant %llu: %s may read note %s of case %s (every version), until %s. Signed by "
                 "%s.\n"),
               (unsigned long long)g.seq, g.to_name, g.note, p.case_number, exp, a->as);
        rc = EXIT_OK;
    }
    tlo_vault_identity_free(actor);
    return rc;
}

int cmd_grant(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return grant_list(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "revoke"))
        return grant_revoke(argc - 1, argv + 1);
    grant_args a;
    tlo_custody_grant g;
    tlo_error err = {0};
    int rc = grant_options(argc, argv, &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if ((rc = grant_check_text(&a)) != 0)
        return rc;
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = cli_open(a.vault_opt, false, &rc);
    if (!v)
        return rc;
    if (a.note) {
        if ((rc = grant_expiry(v, a.expires, &a.p.expires_ms)) == 0)
            rc = grant_note(v, &a);
        tlo_custody_close(v);
        return rc;
    }
    /* Everything is checked before the passphrase is asked: the session
     * named first (a typo is said as such), then the day in the vault's
     * time zone (from the verified ledger). */
    tlo_custody_case cs;
    char session[33];
    if ((rc = cli_find_case(v, a.p.case_number, &cs)) != 0 ||
        (rc = cli_session_ref(v, &cs, a.p.session, session, NULL)) != 0 ||
        (rc = grant_expiry(v, a.expires, &a.p.expires_ms)) != 0)
        goto out;
    a.p.session = session;
    if (tlo_custody_grant_check(v, &a.p, &g, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(actor = cli_acting_on(v, a.as, a.pass_file, TLO_ACT_GRANT, g.case_id, &rc)))
        goto out;
    if (tlo_custody_grant_issue(v, actor, &a.p, &g, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    char from[32], until[32], exp[TLO_TIME_TEXT_MAX];
    ms_text(from, sizeof from, g.from_ms);
    ms_text(until, sizeof until, g.until_ms);
    tlo_time_text(g.expires_ms, exp, sizeof exp);
    if (g.view && g.exp)
        printf(_("Grant %llu: %s may view,export session %s of case %s from %s to %s, until "
                 "%s. Signed by %s.\n"),
               (unsigned long long)g.seq, g.to_name, g.session, a.p.case_number, from, until, exp,
               a.as);
    else if (g.exp)
        printf(_("Grant %llu: %s may export session %s of case %s from %s to %s, until %s. "
                 "Signed by %s.\n"),
               (unsigned long long)g.seq, g.to_name, g.session, a.p.case_number, from, until, exp,
               a.as);
    else
        printf(_("Grant %llu: %s may view session %s of case %s from %s to %s, until %s. Signed "
                 "by %s.\n"),
               (unsigned long long)g.seq, g.to_name, g.session, a.p.case_number, from, until, exp,
               a.as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}
