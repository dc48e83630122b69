/* tellonce grant — an administrator grants one person a clip of one
 * session (a range, a purpose, an expiry, view and/or export); grant list,
 * grant revoke. Grants are ledger entries (kinds 30 and 31); the custodian
 * (custodian.c) honours them. */
#include "custodian.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void grant_usage(FILE *f)
{
    fprintf(f,
            "usage: tellonce grant CASE --to NAME --session ID --expires YYYY-MM-DD\n"
            "                      --purpose TEXT --as ADMIN [--from HH:MM:SS] [--until HH:MM:SS]\n"
            "                      [--actions view|export|view,export] [--passphrase-file FILE]\n"
            "       tellonce grant list [CASE] [--json]\n"
            "       tellonce grant revoke GRANT-ID --as ADMIN [--reason TEXT]\n"
            "\n"
            "Grants NAME (a prosecutor, medical staff or an administrator; never an auditor)\n"
            "the range --from to --until (session clock; default the whole session) of\n"
            "session ID of CASE, for --purpose, until the end of the --expires day (UTC),\n"
            "for the --actions (default view). A signed ledger entry, written by an\n"
            "administrator; its entry number is the GRANT-ID. 'grant revoke' ends a\n"
            "grant at once. The interviewer who recorded a session may view it without a\n"
            "grant.\n");
}

/* "YYYY-MM-DD" into the last ms of that day, UTC. */
static int parse_expiry(const char *s, uint64_t *ms)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 2000 || y > 9999 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    struct tm back;
    if (t == (time_t)-1 || !gmtime_r(&t, &back) || back.tm_mday != d)
        return -1; /* 2026-02-30 */
    *ms = ((uint64_t)t + 86400) * 1000 - 1;
    return 0;
}

static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

typedef struct session_find {
    const uint8_t *case_id;
    const char *session;
    bool found, ended;
    uint64_t end_ms;
} session_find;

static int visit_session(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                         tlo_error *err)
{
    session_find *f = ctx;
    char id[40], v[24];
    size_t n;
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, f->case_id, TLO_ID_BYTES) != 0)
        return 0;
    const uint8_t *s = tlo_entry_body_get(e->body, e->body_len, "session", &n);
    if (!s || n >= sizeof id)
        return 0;
    memcpy(id, s, n);
    id[n] = '\0';
    if (strcmp(id, f->session) != 0)
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START)
        f->found = true;
    else if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED)
        f->ended = true;
    else if (e->kind == TLO_ENTRY_SEGMENT) {
        const uint8_t *end = tlo_entry_body_get(e->body, e->body_len, "end_ms", &n);
        uint64_t ms;
        if (end && n < sizeof v) {
            memcpy(v, end, n);
            v[n] = '\0';
            if (tlo_parse_u64(v, &ms) == 0 && ms > f->end_ms)
                f->end_ms = ms;
        }
    }
    return 0;
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
    char *vault = cli_vault_dir(vault_opt);
    cli_case cs;
    cli_grant *g = NULL;
    size_t n = 0;
    tlo_chain *ch = cli_open_ledger(vault, true, &rc);
    if (!ch)
        goto out;
    if (argc - optind == 1 && (rc = cli_case_find(ch, argv[optind], &cs, false)) != 0)
        goto out;
    if ((rc = cli_grants_load(ch, argc - optind == 1 ? cs.id : NULL, &g, &n)) != 0)
        goto out;
    uint64_t now = (uint64_t)time(NULL) * 1000;
    if (json)
        printf("[");
    else if (n == 0)
        printf("No grants%s.\n", argc - optind == 1 ? " for this case" : "");
    for (size_t i = 0; i < n; i++) {
        char from[32], until[32], exp[32], chex[33];
        time_t et = (time_t)(g[i].expires_ms / 1000);
        struct tm tm;
        gmtime_r(&et, &tm);
        strftime(exp, sizeof exp, "%Y-%m-%d", &tm);
        ms_text(from, sizeof from, g[i].from_ms);
        ms_text(until, sizeof until, g[i].until_ms);
        tlo_hex(chex, g[i].case_id, TLO_ID_BYTES);
        const char *state = g[i].revoked_at >= 0     ? "revoked"
                            : g[i].expires_ms <= now ? "expired"
                                                     : "active";
        const char *actions = g[i].view && g[i].exp ? "view,export" : g[i].exp ? "export" : "view";
        if (json) {
            printf("%s{\"grant\":%llu,\"case_id\":\"%s\",\"to\":", i ? "," : "",
                   (unsigned long long)g[i].seq, chex);
            cli_json_string(stdout, g[i].to_name);
            printf(",\"session\":\"%s\",\"from_ms\":%llu,\"until_ms\":%llu,\"expires\":\"%s\","
                   "\"actions\":\"%s\",\"state\":\"%s\",\"purpose\":",
                   g[i].session, (unsigned long long)g[i].from_ms,
                   (unsigned long long)g[i].until_ms, exp, actions, state);
            cli_json_string(stdout, g[i].purpose);
            printf("}");
        } else {
            printf("grant %llu: %s may %s session %s, %s to %s, until %s (%s); purpose: %s\n",
                   (unsigned long long)g[i].seq, g[i].to_name, actions, g[i].session, from, until,
                   exp, state, g[i].purpose);
        }
    }
    if (json)
        printf("]\n");
    rc = EXIT_OK;
out:
    free(g);
    tlo_chain_close(ch);
    free(vault);
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
    uint64_t id;
    if (argc - optind != 1 || !as || tlo_parse_u64(argv[optind], &id) != 0) {
        cli_error("grant revoke takes a GRANT-ID (see 'tellonce grant list') and --as ADMIN");
        return EXIT_USAGE;
    }
    if (!tlo_text_ok(reason, 300)) {
        cli_error("--reason is one line of text, at most 300 bytes");
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt);
    cli_people pp = {0};
    cli_grant *g = NULL;
    size_t n = 0;
    tlo_vault_identity *actor = NULL;
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_grants_load(ch, NULL, &g, &n)) != 0)
        goto out;
    const cli_grant *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (g[i].seq == id)
            found = &g[i];
    if (!found) {
        cli_error("there is no grant %llu; 'tellonce grant list' shows them",
                  (unsigned long long)id);
        rc = EXIT_USAGE;
        goto out;
    }
    if (found->revoked_at >= 0) {
        cli_error("grant %llu was already revoked in entry %lld", (unsigned long long)id,
                  (long long)found->revoked_at);
        rc = EXIT_USAGE;
        goto out;
    }
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_ADMIN,
                                    "administrator (only administrators revoke grants)", &rc)))
        goto out;
    char body[600];
    snprintf(body, sizeof body, "grant=%llu\nreason=%s\n", (unsigned long long)id, reason);
    tlo_chain_draft d = {.kind = TLO_ENTRY_GRANT_REVOKE,
                         .has_case = true,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    memcpy(d.case_id, found->case_id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = actor->sign_sk};
    memcpy(s.pk, actor->sign_pk, 32);
    uint64_t seq;
    tlo_error err = {0};
    if (tlo_chain_append(ch, &d, 1, &s, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf("Grant %llu (to %s) is revoked, in entry %llu by %s.\n", (unsigned long long)id,
           found->to_name, (unsigned long long)seq, as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    free(g);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(vault);
    return rc;
}

int cmd_grant(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return grant_list(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "revoke"))
        return grant_revoke(argc - 1, argv + 1);
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"to", required_argument, NULL, 't'},
                                         {"session", required_argument, NULL, 's'},
                                         {"from", required_argument, NULL, 'f'},
                                         {"until", required_argument, NULL, 'u'},
                                         {"expires", required_argument, NULL, 'e'},
                                         {"purpose", required_argument, NULL, 'p'},
                                         {"actions", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *to = NULL, *session = NULL,
               *from = NULL, *until = NULL, *expires = NULL, *purpose = NULL, *actions = "view";
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
        case 't':
            to = optarg;
            break;
        case 's':
            session = optarg;
            break;
        case 'f':
            from = optarg;
            break;
        case 'u':
            until = optarg;
            break;
        case 'e':
            expires = optarg;
            break;
        case 'p':
            purpose = optarg;
            break;
        case 'a':
            actions = optarg;
            break;
        case 'h':
            grant_usage(stdout);
            return EXIT_OK;
        default:
            grant_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !as || !to || !session || !expires || !purpose) {
        cli_error("grant takes CASE, --to, --session, --expires, --purpose and --as; see "
                  "'tellonce grant --help'");
        return EXIT_USAGE;
    }
    uint64_t from_ms = 0, until_ms = UINT64_MAX, expires_ms;
    if ((from && cli_parse_session_time(from, &from_ms) != 0) ||
        (until && cli_parse_session_time(until, &until_ms) != 0)) {
        cli_error("--from and --until take session times as HH:MM:SS, MM:SS or SS (.mmm "
                  "optional)");
        return EXIT_USAGE;
    }
    if (parse_expiry(expires, &expires_ms) != 0) {
        cli_error("--expires takes a date, YYYY-MM-DD (the grant ends with that day, UTC)");
        return EXIT_USAGE;
    }
    if ((uint64_t)time(NULL) * 1000 > expires_ms) {
        cli_error("--expires %s is in the past", expires);
        return EXIT_USAGE;
    }
    if (strcmp(actions, "view") && strcmp(actions, "export") && strcmp(actions, "view,export")) {
        cli_error("--actions is view, export or view,export");
        return EXIT_USAGE;
    }
    if (!tlo_text_ok(purpose, 400)) {
        cli_error("--purpose is one line of text, 1 to 400 bytes");
        return EXIT_USAGE;
    }
    if (strlen(session) != 32 || strspn(session, "0123456789abcdef") != 32) {
        cli_error("--session takes a session id: 32 hex digits, as 'tellonce log' shows them");
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt);
    cli_people pp = {0};
    cli_case cs;
    tlo_vault_identity *actor = NULL;
    tlo_error err = {0};
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_case_find(ch, argv[optind], &cs, false)) != 0)
        goto out;
    const cli_person *grantee = cli_people_by_name(&pp, to);
    if (!grantee || grantee->revoked_at >= 0) {
        cli_error("nobody active is enrolled as \"%s\"; 'tellonce user list' shows them", to);
        rc = EXIT_USAGE;
        goto out;
    }
    if (!(grantee->roles & (TLO_ROLE_PROSECUTOR | TLO_ROLE_MEDICAL | TLO_ROLE_ADMIN))) {
        cli_error("%s is not a prosecutor, medical staff or administrator: grants go to them "
                  "only (auditors never receive keys)",
                  to);
        rc = EXIT_USAGE;
        goto out;
    }
    /* The session must be of this case, ended, and the range within it. */
    session_find f = {.case_id = cs.id, .session = session};
    if (tlo_chain_walk(ch, 0, visit_session, &f, &err) < 0) {
        rc = cli_fail(&err);
        goto out;
    }
    rc = EXIT_USAGE;
    if (!f.found) {
        cli_error("case %s has no session %s; 'tellonce log --case %s' lists its sessions",
                  argv[optind], session, argv[optind]);
        goto out;
    }
    if (!f.ended) {
        cli_error("session %s has not ended (still recording, or 'tellonce recover' it first)",
                  session);
        goto out;
    }
    if (until_ms == UINT64_MAX)
        until_ms = f.end_ms;
    if (until_ms <= from_ms || until_ms > f.end_ms) {
        char e[32];
        ms_text(e, sizeof e, f.end_ms);
        cli_error("the range must lie within the session, 00:00:00 to %s", e);
        goto out;
    }
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_ADMIN,
                                    "administrator (only administrators grant)", &rc)))
        goto out;
    char body[1200], pk[65];
    tlo_hex(pk, grantee->pk, 32);
    snprintf(body, sizeof body,
             "actions=%s\nexpires_ms=%llu\nfrom_ms=%llu\npurpose=%s\nsession=%s\nto=%s\n"
             "to_name=%s\nuntil_ms=%llu\n",
             actions, (unsigned long long)expires_ms, (unsigned long long)from_ms, purpose, session,
             pk, grantee->name, (unsigned long long)until_ms);
    tlo_chain_draft d = {.kind = TLO_ENTRY_GRANT,
                         .has_case = true,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    memcpy(d.case_id, cs.id, TLO_ID_BYTES);
    tlo_chain_signer sg = {.sk = actor->sign_sk};
    memcpy(sg.pk, actor->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(ch, &d, 1, &sg, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    char a[32], b[32];
    ms_text(a, sizeof a, from_ms);
    ms_text(b, sizeof b, until_ms);
    printf("Grant %llu: %s may %s session %s of case %s from %s to %s, until the end of %s "
           "(UTC). Signed by %s.\n",
           (unsigned long long)seq, grantee->name, actions, session, argv[optind], a, b, expires,
           as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(vault);
    return rc;
}
