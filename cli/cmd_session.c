/* tellonce session list — the sessions of a case, numbered as every
 * --session option accepts them. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void session_usage(FILE *f)
{
    fputs(_("usage: tellonce session list CASE --as NAME [--passphrase-file FILE] [--json]\n"
            "                            [--vault DIR]\n"
            "\n"
            "Lists the sessions of CASE (its number or internal id) in the order they\n"
            "started: each one's number in the case, start (local time with its offset),\n"
            "length, room, status (recording, interrupted, ended, failed, recovered) and\n"
            "segments. Every --session option takes that number, the session's id, or a\n"
            "unique prefix of the id of at least 4 hex digits. Only what the custodian\n"
            "verified of the ledger is listed; nothing is decrypted.\n"),
          f);
}

/* "2026-12-01 22:40:05 +08:00": local time with its offset. */
static void start_text(uint64_t ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char day[40], zone[16];
    localtime_r(&t, &tm);
    strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    strftime(zone, sizeof zone, "%z", &tm);
    if (strlen(zone) == 5)
        snprintf(out, cap, "%s %.3s:%s", day, zone, zone + 3);
    else
        snprintf(out, cap, "%s %s", day, zone);
}

static void length_text(uint64_t ms, char *out, size_t cap)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

static void print_json(const tlo_custody_case *cs, const tlo_custody_session_row *r, size_t n)
{
    char hex[2 * TLO_ID_BYTES + 1], when[64];
    tlo_hex(hex, cs->id, TLO_ID_BYTES);
    printf("{\"case_id\":\"%s\",\"sessions\":[", hex);
    for (size_t i = 0; i < n; i++) {
        start_text(r[i].started_at, when, sizeof when);
        printf("%s{\"session_number\":%u,\"session\":\"%s\",\"start_ms\":%llu,\"start\":",
               i ? "," : "", r[i].no, r[i].id, (unsigned long long)r[i].started_at);
        cli_json_string(stdout, when);
        printf(",\"length_ms\":%llu,\"room\":", (unsigned long long)r[i].length_ms);
        cli_json_string(stdout, r[i].room);
        printf(",\"status\":\"%s\",\"segments\":%llu,\"entry\":%llu}", r[i].status,
               (unsigned long long)r[i].segments, (unsigned long long)r[i].start_seq);
    }
    printf("]}\n");
}

/* A session's status in the reader's language (custody's word in JSON). */
static const char *status_text(const char *status)
{
    /* TRANSLATORS: a session's status in session list (at most 11 columns) */
    static const char *const words[] = {N_("recording"), N_("interrupted"), N_("ended"),
                                        N_("failed"), N_("recovered")};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(status, words[i]))
            return _(words[i]);
    return status;
}

static void print_table(const tlo_custody_case *cs, const tlo_custody_session_row *r, size_t n)
{
    char when[64], len[32], room[3 * sizeof r->room + 1];
    if (n == 0) {
        printf(_("Case %s has no session yet.\n"), cs->number);
        return;
    }
    /* TRANSLATORS: session list's column headings; NO is the session's number in the case */
    const char *no = _("NO"), *segments = _("SEGMENTS");
    int nw = cli_text_width(no) > 3 ? cli_text_width(no) : 3; /* the number's column */
    for (int w = cli_text_width(no); w < nw; w++)
        putchar(' ');
    printf("%s  ", no);
    cli_print_padded(stdout, _("START"), 26);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("LENGTH"), 8);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("STATUS"), 11);
    fputs("  ", stdout);
    for (int w = cli_text_width(segments); w < 8; w++)
        putchar(' ');
    printf("%s  ", segments);
    cli_print_padded(stdout, _("SESSION"), 16);
    printf("  %s\n", _("ROOM"));
    for (size_t i = 0; i < n; i++) {
        start_text(r[i].started_at, when, sizeof when);
        length_text(r[i].length_ms, len, sizeof len);
        cli_clean_text(room, sizeof room, r[i].room);
        printf("%*u  %-26s  %-8s  ", nw, r[i].no, when, len);
        cli_print_padded(stdout, status_text(r[i].status), 11);
        printf("  %8llu  %.16s  %s\n", (unsigned long long)r[i].segments, r[i].id, room);
    }
}

static int session_list(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault = NULL, *pass_file = NULL;
    int c, json = 0, rc = EXIT_OK;
    optind = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            as = optarg;
            break;
        case 'V':
            vault = optarg;
            break;
        case 'P':
            pass_file = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            session_usage(stdout);
            return EXIT_OK;
        default:
            cli_error("session list takes CASE, --as NAME and --json; see 'tellonce session "
                      "--help'");
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1 || !as) {
        cli_error("session list takes CASE and --as NAME; see 'tellonce session --help'");
        return EXIT_USAGE;
    }
    tlo_custody_case cs;
    tlo_custody_session_row *rows = NULL;
    tlo_vault_identity *actor = NULL;
    size_t n = 0;
    tlo_error err = {0};
    tlo_custody *v = cli_open(vault, false, &rc);
    if (v && (rc = cli_find_case(v, argv[optind], &cs)) == EXIT_OK &&
        (actor = cli_acting_on(v, as, pass_file, TLO_ACT_SESSION_LIST, cs.id, &rc))) {
        if (tlo_custody_session_list(v, actor, cs.id, &rows, &n, &err) != 0)
            rc = cli_fail(&err);
        else if (json)
            print_json(&cs, rows, n);
        else
            print_table(&cs, rows, n);
    }
    free(rows);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

int cmd_session(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        session_usage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return session_list(argc - 1, argv + 1);
    cli_error("session takes 'list'; see 'tellonce session --help'");
    return EXIT_USAGE;
}
