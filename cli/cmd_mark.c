/* tellonce mark — a marker on a session's timeline ("break", "disclosure",
 * free text), added after the recording: a signed entry with its session
 * time. */
#include "cli.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mark_usage(FILE *f)
{
    fprintf(f, "usage: tellonce mark CASE --at HH:MM:SS[.mmm] TEXT --as NAME [--session ID]\n"
               "                     [--passphrase-file FILE] [--vault DIR]\n"
               "\n"
               "Adds a marker at a time of a recorded session of CASE (default: its newest\n"
               "session): a ledger entry signed by NAME, an interviewer. The time is on the\n"
               "session's clock, from 00:00:00 at its start, and must lie within the session.\n");
}

/* "HH:MM:SS", "MM:SS" or "SS", each with an optional ".mmm", into ms. */
int cli_parse_session_time(const char *s, uint64_t *ms)
{
    uint64_t parts[3] = {0, 0, 0}, frac = 0;
    int n = 0, digits = 0;
    const char *p = s;
    *ms = 0;
    while (*p && n < 3) {
        uint64_t v = 0;
        int d = 0;
        while (*p >= '0' && *p <= '9' && d < 6) {
            v = v * 10 + (uint64_t)(*p++ - '0');
            d++;
        }
        if (!d)
            return -1;
        parts[n++] = v;
        if (*p == ':')
            p++;
        else
            break;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9' && digits < 3) {
            frac = frac * 10 + (uint64_t)(*p++ - '0');
            digits++;
        }
        while (digits && digits < 3) {
            frac *= 10;
            digits++;
        }
    }
    if (*p || n == 0)
        return -1;
    uint64_t h = n == 3 ? parts[0] : 0, m = n >= 2 ? parts[n - 2] : 0, sec = parts[n - 1];
    if (m > 59 || sec > 59 || h > 99)
        return -1;
    *ms = ((h * 60 + m) * 60 + sec) * 1000 + frac;
    return 0;
}

typedef struct finder {
    const uint8_t *case_id;
    const char *want; /* a session id, or NULL for the newest */
    char session[33];
    int found, ended;
    uint64_t elapsed_ms;
} finder;

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    finder *f = ctx;
    char id[40] = "", v[40];
    size_t n;
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, f->case_id, TLO_ID_BYTES) != 0)
        return 0;
    const uint8_t *s = tlo_entry_body_get(e->body, e->body_len, "session", &n);
    if (!s || n != 32)
        return 0;
    memcpy(id, s, 32);
    id[32] = '\0';
    if (e->kind == TLO_ENTRY_SESSION_START && (!f->want || !strcmp(f->want, id))) {
        snprintf(f->session, sizeof f->session, "%s", id);
        f->found = 1;
        f->ended = 0;
    } else if (e->kind == TLO_ENTRY_SESSION_END && f->found && !strcmp(id, f->session)) {
        /* The recorded length on the session clock; without it, the
         * wall-clock time the recording took. */
        const uint8_t *el = tlo_entry_body_get(e->body, e->body_len, "media_ms", &n);
        if (!el)
            el = tlo_entry_body_get(e->body, e->body_len, "elapsed_ms", &n);
        f->ended = 1;
        if (el && n < sizeof v) {
            memcpy(v, el, n);
            v[n] = '\0';
            f->elapsed_ms = strtoull(v, NULL, 10);
        }
    }
    return 0;
}

int cmd_mark(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"at", required_argument, NULL, 't'},
                                         {"session", required_argument, NULL, 's'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *at = NULL, *session = NULL, *vault_opt = NULL, *pass_file = NULL;
    int c, rc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            as = optarg;
            break;
        case 't':
            at = optarg;
            break;
        case 's':
            session = optarg;
            break;
        case 'V':
            vault_opt = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'h':
            mark_usage(stdout);
            return EXIT_OK;
        default:
            mark_usage(stderr);
            return EXIT_USAGE;
        }
    }
    uint64_t at_ms;
    if (argc - optind != 2 || !as || !at) {
        cli_error("mark takes CASE, TEXT, --at and --as; see 'tellonce mark --help'");
        return EXIT_USAGE;
    }
    if (cli_parse_session_time(at, &at_ms) != 0) {
        cli_error("--at takes a session time as HH:MM:SS, MM:SS or SS, with optional .mmm");
        return EXIT_USAGE;
    }
    const char *number = argv[optind], *text = argv[optind + 1];
    if (!tlo_text_ok(text, 500)) {
        cli_error("the marker text is one line of text, 1 to 500 bytes");
        return EXIT_USAGE;
    }
    char *vault = cli_vault_dir(vault_opt);
    cli_people pp = {0};
    cli_case cs;
    tlo_vault_identity *actor = NULL;
    tlo_error err = {0};
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_case_find(ch, number, &cs, false)) != 0)
        goto out;
    finder f = {.case_id = cs.id, .want = session};
    if (tlo_chain_walk(ch, 0, visit, &f, &err) < 0) {
        rc = cli_fail(&err);
        goto out;
    }
    rc = EXIT_USAGE;
    if (!f.found) {
        cli_error(session ? "case %s has no session %s" : "case %s has no recorded session%s",
                  number, session ? session : "");
        goto out;
    }
    if (f.ended && at_ms > f.elapsed_ms) {
        cli_error("session %s lasted %llu.%03llu s; %s is after its end", f.session,
                  (unsigned long long)(f.elapsed_ms / 1000),
                  (unsigned long long)(f.elapsed_ms % 1000), at);
        goto out;
    }
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_INTERVIEWER, "interviewer",
                                    &rc)))
        goto out;
    char body[700];
    snprintf(body, sizeof body, "at_ms=%llu\nsession=%s\ntext=%s\n", (unsigned long long)at_ms,
             f.session, text);
    tlo_chain_draft d = {.kind = TLO_ENTRY_MARKER,
                         .has_case = true,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    memcpy(d.case_id, cs.id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = actor->sign_sk};
    memcpy(s.pk, actor->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(ch, &d, 1, &s, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    printf("Marker \"%s\" at %s of session %s (case %s), logged as entry %llu by %s.\n", text, at,
           f.session, number, (unsigned long long)seq, as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    free(vault);
    return rc;
}
