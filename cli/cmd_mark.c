/* tellonce mark — a marker on a session's timeline ("break", "disclosure",
 * free text), added after the recording: a signed entry with its session
 * time. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mark_usage(FILE *f)
{
    fputs(_("usage: tellonce mark CASE --at HH:MM:SS[.mmm] TEXT --as NAME [--session S]\n"
            "                     [--passphrase-file FILE] [--vault DIR] [--json]\n"
            "\n"
            "Adds a marker at a time of a recorded session of CASE (default: its newest\n"
            "session): a ledger entry signed by NAME, an interviewer. The time is on the\n"
            "session's clock, from 00:00:00 at its start, and must lie within the session.\n"
            "--json prints the marker as one JSON object (docs/json.md).\n"),
          f);
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

typedef struct mark_opts {
    const char *as, *at, *session, *vault, *pass_file;
    bool json;
} mark_opts;

/* Options into o; -1 to go on, else the exit code. */
static int mark_options(int argc, char **argv, mark_opts *o)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"at", required_argument, NULL, 't'},
                                         {"session", required_argument, NULL, 's'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
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
        case 't':
            o->at = optarg;
            break;
        case 's':
            o->session = optarg;
            break;
        case 'V':
            o->vault = optarg;
            break;
        case 'P':
            o->pass_file = optarg;
            break;
        case 'j':
            o->json = true;
            break;
        case 'h':
            mark_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    return -1;
}

/* mark --json (docs/json.md). */
static void print_mark_json(const tlo_custody_mark_params *p, const tlo_custody_mark_target *t,
                            const uint8_t *case_id, uint64_t seq, const char *as)
{
    char id[33];
    tlo_hex(id, case_id, TLO_ID_BYTES);
    printf("{\"case_id\":\"%s\",\"case_number\":", id);
    cli_json_string(stdout, p->case_number);
    printf(",\"session\":\"%s\",\"at_ms\":%llu,\"text\":", t->session,
           (unsigned long long)p->at_ms);
    cli_json_string(stdout, p->text);
    printf(",\"entry\":%llu,\"person\":", (unsigned long long)seq);
    cli_json_string(stdout, as);
    printf("}\n");
}

int cmd_mark(int argc, char **argv)
{
    mark_opts o = {0};
    int rc = mark_options(argc, argv, &o);
    if (rc >= 0)
        return rc;
    tlo_custody_mark_params p = {.at_text = o.at, .session = o.session};
    if (argc - optind != 2 || !o.as || !o.at) {
        cli_error("mark takes CASE, TEXT, --at and --as; see 'tellonce mark --help'");
        return EXIT_USAGE;
    }
    if (cli_parse_session_time(o.at, &p.at_ms) != 0) {
        cli_error("--at takes a session time as HH:MM:SS, MM:SS or SS, with optional .mmm");
        return EXIT_USAGE;
    }
    p.case_number = argv[optind];
    p.text = argv[optind + 1];
    if (!tlo_text_ok(p.text, 500)) {
        cli_error("the marker text is one line of text, 1 to 500 bytes");
        return EXIT_USAGE;
    }
    tlo_vault_identity *actor = NULL;
    tlo_custody_mark_target t;
    tlo_error err = {0};
    uint64_t seq;
    tlo_custody *v = cli_open(o.vault, false, &rc);
    if (!v)
        return rc;
    tlo_custody_case cs;
    char session[33];
    if ((rc = cli_find_case(v, p.case_number, &cs)) == EXIT_OK && p.session &&
        (rc = cli_session_ref(v, &cs, p.session, session, NULL)) == EXIT_OK)
        p.session = session;
    if (rc != EXIT_OK)
        ;
    else if (tlo_custody_mark_check(v, &p, &t, &err) != 0)
        rc = cli_fail(&err);
    else if ((actor = cli_acting_on(v, o.as, o.pass_file, TLO_ACT_MARK, cs.id, &rc)))
        rc = tlo_custody_mark(v, actor, &p, &t, &seq, &err) != 0 ? cli_fail(&err) : EXIT_OK;
    if (actor && rc == EXIT_OK && o.json)
        print_mark_json(&p, &t, cs.id, seq, o.as);
    else if (actor && rc == EXIT_OK)
        printf(_("Marker \"%s\" at %s of session %s (case %s), logged as entry %llu by %s.\n"),
               p.text, o.at, t.session, p.case_number, (unsigned long long)seq, o.as);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}
