/* tellonce verify and tellonce log — the custody ledger for auditors and
 * for people. Neither needs a key or a passphrase. */
#include "cli.h"
#include "cli_text.h"
#include "tlo_time.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct option ledger_opts[] = {{"vault", required_argument, NULL, 'V'},
                                            {"checkpoint", required_argument, NULL, 'C'},
                                            {"case", required_argument, NULL, 'c'},
                                            {"json", no_argument, NULL, 'j'},
                                            {"checkpoints", required_argument, NULL, 'D'},
                                            {"verifier-key", required_argument, NULL, 'K'},
                                            {"help", no_argument, NULL, 'h'},
                                            {NULL, 0, NULL, 0}};

#define MAX_DIRS 16

typedef struct ledger_args {
    const char *vault_opt, *checkpoint, *vkey;
    const char *dirs[MAX_DIRS];
    size_t ndirs;
    int json, has_case;
    uint8_t case_id[TLO_CASE_ID_BYTES];
    const char *case_number; /* --case with a case number: resolved once the vault is open */
} ledger_args;

/* --case NUMBER into a->case_id (cli_case_ref), once the vault is open. */
static int resolve_case(tlo_custody *v, ledger_args *a)
{
    return a->case_number ? cli_case_ref(v, a->case_number, a->case_id, NULL) : EXIT_OK;
}

static int parse_args(int argc, char **argv, ledger_args *a, void (*usage)(FILE *))
{
    int c;
    memset(a, 0, sizeof *a);
    optind = 0;
    while ((c = getopt_long(argc, argv, "", ledger_opts, NULL)) != -1) {
        switch (c) {
        case 'V':
            a->vault_opt = optarg;
            break;
        case 'C':
            a->checkpoint = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'D':
            if (a->ndirs == MAX_DIRS) {
                cli_error("at most %d --checkpoints directories", MAX_DIRS);
                return EXIT_USAGE;
            }
            a->dirs[a->ndirs++] = optarg;
            break;
        case 'K':
            a->vkey = optarg;
            break;
        case 'c':
            if (tlo_unhex(a->case_id, TLO_CASE_ID_BYTES, optarg) != 0)
                a->case_number = optarg; /* the number police use */
            a->has_case = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        cli_usage_hint();
        return EXIT_USAGE;
    }
    return 0;
}

static void verify_usage(FILE *f)
{
    fputs(_("usage: tellonce verify [--vault DIR] [--case CASE] [--checkpoint OLD]\n"
            "                       [--checkpoints PUBDIR]... [--verifier-key KEY] [--json]\n"
            "\n"
            "Checks the whole custody ledger without any key or passphrase: every entry's\n"
            "number, encoding, link to the entry before, and signature by a key enrolled\n"
            "(and not revoked) at that point, and the Merkle root; that the ledger extends\n"
            "every checkpoint in the vault's checkpoints/, in each PUBDIR (where they were\n"
            "published) and OLD (a checkpoint an auditor kept), so a ledger rewritten,\n"
            "forked or cut short since fails; that every checkpoint entry has its file.\n"
            "KEY is the custodian's verifier key ('tellonce checkpoint --verifier-key'):\n"
            "with it, a vault whose custodian is another key fails. Every entry is a link of "
            "the chain, so\n"
            "--case CASE (its number or internal id) verifies the whole ledger and counts\n"
            "the case's entries in it.\n"
            "Exit status 0 only when\n"
            "everything holds; otherwise 1, naming the first bad entry and what is wrong.\n"),
          f);
}

static void print_verify_json(const ledger_args *a, const tlo_custody_verify_report *v)
{
    const tlo_chain_report *r = &v->chain;
    char root[65];
    tlo_hex(root, r->root, 32);
    printf("{\"ok\":%s,\"entries\":%llu,\"signatures\":%llu,\"root\":\"%s\","
           "\"first_bad_entry\":",
           r->ok ? "true" : "false", (unsigned long long)r->entries,
           (unsigned long long)r->signatures, root);
    if (r->first_bad >= 0)
        printf("%lld", (long long)r->first_bad);
    else
        printf("null");
    printf(",\"problem\":");
    cli_json_string(stdout, r->ok ? "" : r->problem);
    if (a->has_case)
        printf(",\"case_entries\":%llu", (unsigned long long)v->case_entries);
    printf(",\"segments\":%llu", (unsigned long long)v->segments);
    printf(",\"case_records\":%llu,\"unfinished\":%llu,\"notes\":",
           (unsigned long long)v->case_records, (unsigned long long)v->unfinished);
    cli_json_string(stdout, v->notes);
    printf(",\"checkpoints\":%zu,\"vault_checkpoints\":%zu,\"published_checkpoints\":%zu,"
           "\"checkpoint_entries\":%zu,\"pinned_key\":%s",
           v->nanchors, v->local_checkpoints, v->published_checkpoints, v->checkpoint_entries,
           v->pinned ? "true" : "false");
    printf("}\n");
}

/* A problem or note for the terminal: it may name a file put into the vault
 * from outside, whose name is anyone's bytes. */
static void print_clean(const char *before, const char *text, int len)
{
    char *raw = strndup(text, (size_t)len), *shown = malloc(3 * (size_t)len + 1);
    if (raw && shown)
        cli_clean_text(shown, 3 * (size_t)len + 1, raw);
    printf("%s%s\n", before, raw && shown ? shown : "(out of memory)");
    free(raw);
    free(shown);
}

static void print_verify(const ledger_args *a, const tlo_custody_verify_report *v)
{
    const tlo_chain_report *r = &v->chain;
    char root[65];
    tlo_hex(root, r->root, 32);
    if (!r->ok) {
        print_clean(_("FAILED: "), r->problem, (int)strlen(r->problem));
        if (r->first_bad >= 0)
            printf(_("The first bad entry is %lld; the %llu entries before it verified.\n"),
                   (long long)r->first_bad, (unsigned long long)r->entries);
        return;
    }
    printf(_("OK: %llu entries, %llu signatures, every link and the Merkle root (%s) "
             "verified.\n"),
           (unsigned long long)r->entries, (unsigned long long)r->signatures, root);
    if (v->segments)
        printf(_("    %llu sealed segments are in the vault with the digests logged, and "
                 "every session is complete.\n"),
               (unsigned long long)v->segments);
    if (a->has_case)
        printf(_("    The case has %llu of these entries; all are in the verified chain.\n"),
               (unsigned long long)v->case_entries);
    if (v->has_old)
        printf(_("    and it extends %s (%llu entries).\n"), v->anchors[0].label,
               (unsigned long long)v->anchors[0].size);
    if (v->local_checkpoints)
        printf(_("    and it extends all %zu checkpoints in the vault's checkpoints/ (the newest "
                 "covers %llu entries).\n"),
               v->local_checkpoints, (unsigned long long)v->local_newest);
    else
        fputs(_("    The vault holds no checkpoint: nothing shows that entries were not cut from "
                "its end.\n"),
              stdout);
    for (size_t i = 0; i < a->ndirs; i++)
        printf(_("    and the checkpoints published in %s%s"), a->dirs[i],
               i + 1 == a->ndirs ? "" : ",\n");
    if (a->ndirs)
        printf(_(" (%zu in all, the newest covers %llu entries).\n"), v->published_checkpoints,
               (unsigned long long)v->published_newest);
    if (v->pinned)
        fputs(_("    The custodian is the pinned verifier key.\n"), stdout);
    printf(_("    %llu case keys and records have the digests their cases logged; every file of "
             "the vault is one the ledger names.\n"),
           (unsigned long long)v->case_records);
    for (const char *l = v->notes; *l;) {
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        print_clean(_("    note: "), l, len);
        l += len + (nl != NULL);
    }
}

int cmd_verify(int argc, char **argv)
{
    ledger_args a;
    tlo_custody_verify_report r;
    tlo_error err = {0};
    int rc = parse_args(argc, argv, &a, verify_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    tlo_note_verifier pinned;
    if (a.vkey && tlo_note_verifier_parse(&pinned, a.vkey, strlen(a.vkey), &err) != 0) {
        cli_error("--verifier-key: %s (give the line 'tellonce checkpoint --verifier-key' "
                  "printed)",
                  err.msg);
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(a.vault_opt, true, &rc);
    if (!v)
        return rc;
    if ((rc = resolve_case(v, &a)) != EXIT_OK) {
        tlo_custody_close(v);
        return rc;
    }
    tlo_custody_verify_params p = {.old_checkpoint = a.checkpoint,
                                   .checkpoint_dirs = a.dirs,
                                   .ndirs = a.ndirs,
                                   .verifier = a.vkey ? &pinned : NULL,
                                   .case_id = a.has_case ? a.case_id : NULL};
    cli_progress *shown = cli_progress_new(CLI_PROGRESS_VERIFY, a.json);
    p.progress = cli_progress_hook(shown);
    int vrc = tlo_custody_verify_with(v, &p, &r, &err);
    cli_progress_end(shown);
    if (vrc != 0) {
        rc = cli_fail(&err);
    } else {
        if (a.json)
            print_verify_json(&a, &r);
        else
            print_verify(&a, &r);
        rc = r.chain.ok ? EXIT_OK : EXIT_BAD_DATA;
        tlo_custody_verify_report_free(&r);
    }
    tlo_custody_close(v);
    return rc;
}

static void log_usage(FILE *f)
{
    fputs(_("usage: tellonce log [--vault DIR] [--case CASE] [--person NAME] [--since WHEN]\n"
            "                    [--kind KIND]... [--json | --csv]\n"
            "                    [--as NAME [--passphrase-file FILE]]\n"
            "\n"
            "The custody log as a person reads it: time (local, with its offset), who (the\n"
            "person behind the entry, by name and role: for a view, the viewer, not the\n"
            "custodian who logged it), what, on which case, and the entry in words, with the\n"
            "same wording as the auditor's report.\n"
            "\n"
            "  --case CASE     only the entries of one case (its number or internal id)\n"
            "  --person NAME   only the entries NAME is behind (what they did, and what the\n"
            "                  custodian did at their request)\n"
            "  --since WHEN    only the entries from WHEN on: a day (2026-12-01, from its\n"
            "                  start) or a local time (2026-12-01 14:30 or 2026-12-01 14:30:05)\n"
            "  --kind KIND     only entries of this kind, by name as the log shows it\n"
            "                  (access-granted) or number (40); give it again for several\n"
            "  --json          every field of every entry; adds \"person\", \"description\"\n"
            "                  and \"canonical\" to the entry's fields\n"
            "  --csv           RFC 4180, one row per entry: seq, time (ISO 8601 with offset),\n"
            "                  kind, person, role, case, session (its number in the case),\n"
            "                  summary (the entry in words)\n"
            "\n"
            "On a terminal, stderr says how many entries matched of how many.\n"
            "Nothing here is verified ('tellonce verify' does that), but what is shown is\n"
            "cleaned: control characters become '?' (escaped in JSON), bytes that are not\n"
            "UTF-8 become U+FFFD, and an entry whose body is not canonical is marked\n"
            "\"(malformed entry N: not canonical: ...)\" instead of put in words.\n"
            "Cases are named by internal id: the ledger does not hold their numbers. With\n"
            "--as, an administrator, interviewer or prosecutor also sees each case's number,\n"
            "read through the custodian from its sealed record and logged first (one\n"
            "case-view entry per case); anyone else named by --as sees internal ids.\n"),
          f);
}

#define MAX_KINDS 32

/* log's own options: what to show, and how. */
typedef struct log_filter {
    const char *as, *pass_file, *person, *case_text, *since_text;
    bool has_since, csv;
    uint64_t since_ms;
    uint16_t kinds[MAX_KINDS];
    size_t nkinds;
} log_filter;

typedef struct log_ctx {
    ledger_args *a;
    const log_filter *f;
    tlo_custody *v; /* everyone the ledger enrols, loaded before the walk */
    size_t shown;
    tlo_custody_case_facts *cases; /* with --as: the numbers shown */
    size_t ncases;
    tlo_custody_describer *d; /* the words of each entry, with the person behind it */
} log_ctx;

/* The number of the case of e when it was shown (--as), else NULL. */
static const char *case_number_of(const log_ctx *l, const tlo_entry *e)
{
    for (size_t i = 0; e->has_case && i < l->ncases; i++)
        if (l->cases[i].number_shown && !memcmp(l->cases[i].c.id, e->case_id, 16))
            return l->cases[i].c.number;
    return NULL;
}

/* The JSON's time: local, with milliseconds and the offset. */
static void format_time(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text_ms(ms, out, cap);
}

/* ISO 8601 in the display zone with its offset, "2026-12-01T22:40:05+08:00"
 * (for --csv), from tlo_time_text's "2026-12-01 22:40:05 +08:00". */
static void iso_time(uint64_t ms, char *out, size_t cap)
{
    char text[TLO_TIME_TEXT_MAX];
    tlo_time_text(ms, text, sizeof text);
    if (strlen(text) != 26 || text[10] != ' ' || text[19] != ' ') {
        snprintf(out, cap, "%s", text); /* "(time N ms)" */
        return;
    }
    text[10] = 'T';
    snprintf(out, cap, "%.19s%s", text, text + 20);
}

/* The body's lines as a JSON object of strings. The keys and values are
 * the row's bytes, which nothing has checked here: both are escaped. */
static void print_body_json(const tlo_entry *e)
{
    size_t i = 0;
    int first = 1;
    printf("{");
    while (i < e->body_len) {
        const char *line = (const char *)e->body + i;
        const char *nl = memchr(line, '\n', e->body_len - i);
        size_t n = nl ? (size_t)(nl - line) : e->body_len - i;
        const char *eq = memchr(line, '=', n);
        if (eq) {
            size_t k = (size_t)(eq - line);
            printf("%s", first ? "" : ",");
            cli_json_bytes(stdout, line, k);
            printf(":");
            cli_json_bytes(stdout, eq + 1, n - k - 1);
            first = 0;
        }
        i += n + 1;
    }
    printf("}");
}

static void print_entry_json(const log_ctx *l, const tlo_entry *e, const uint8_t leaf[static 32],
                             const tlo_custody_person *p, const tlo_custody_person *person,
                             const char *what)
{
    const char *kind = tlo_entry_kind_name(e->kind);
    char actor[65], prev[65], lh[65], sig[129], case_hex[33], when[128];
    tlo_hex(actor, e->actor, 32);
    tlo_hex(prev, e->prev, 32);
    tlo_hex(lh, leaf, 32);
    tlo_hex(sig, e->sig, 64);
    format_time(e->time_ms, when, sizeof when);
    printf("%s{\"entry\":%llu,\"time_ms\":%llu,\"time\":\"%s\",\"kind\":\"%s\",\"case_id\":",
           l->shown ? "," : "", (unsigned long long)e->seq, (unsigned long long)e->time_ms, when,
           kind ? kind : "unknown");
    if (e->has_case) {
        tlo_hex(case_hex, e->case_id, 16);
        printf("\"%s\"", case_hex);
    } else {
        printf("null");
    }
    if (case_number_of(l, e)) {
        printf(",\"case_number\":");
        cli_json_string(stdout, case_number_of(l, e));
    }
    printf(",\"actor\":\"%s\",\"actor_name\":", actor);
    if (p)
        cli_json_string(stdout, p->name);
    else
        printf("null");
    printf(",\"actor_roles\":");
    cli_json_roles(stdout, p ? p->roles : 0);
    printf(",\"prev\":\"%s\",\"leaf_hash\":\"%s\",\"signature\":\"%s\",\"body\":", prev, lh, sig);
    print_body_json(e);
    /* The person behind the entry (for what the custodian signs: the one it
     * acted for) and the entry in words, as the log and the report say it. */
    printf(",\"person\":");
    if (person && person->roles != TLO_ROLE_CUSTODIAN) {
        char pk[65];
        tlo_hex(pk, person->pk, 32);
        cli_json_string(stdout, person->name);
        printf(",\"person_roles\":");
        cli_json_roles(stdout, person->roles);
        printf(",\"person_key\":\"%s\"", pk);
    } else if (person) {
        printf("\"custodian\",\"person_roles\":[\"custodian\"],\"person_key\":null");
    } else {
        printf("null,\"person_roles\":null,\"person_key\":null");
    }
    printf(",\"description\":");
    cli_json_string(stdout, what);
    printf(",\"canonical\":%s}",
           tlo_entry_body_valid(e->body, e->body_len, NULL) ? "true" : "false");
}

/* One line for a terminal: every text in it comes from the ledger (names,
 * numbers, the words of the body), so each is cleaned of control
 * characters and bytes that are not UTF-8 (cli_print_padded) and padded by
 * the columns it takes, not its bytes. */
static void print_entry_line(const log_ctx *l, const tlo_entry *e, const tlo_custody_person *p,
                             const char *what)
{
    const char *kind = tlo_entry_kind_name(e->kind), *number = case_number_of(l, e);
    char who[TLO_NAME_MAX + 220], case_hex[33] = "-", when[64];
    if (e->has_case) {
        tlo_hex(case_hex, e->case_id, 16);
        case_hex[8] = '\0'; /* an id's first 8; a number whole */
    }
    /* WHO: the person behind the entry, not the custodian who signed for them. */
    cli_person_text(p, who, sizeof who);
    tlo_time_text(e->time_ms, when, sizeof when);
    printf("%6llu  %s  ", (unsigned long long)e->seq, when);
    cli_print_padded(stdout, who, 30);
    printf("  %-14s  ", kind ? kind : "unknown");
    cli_print_padded(stdout, number ? number : case_hex, 8);
    printf("  ");
    cli_print_padded(stdout, what, 0);
    printf("\n");
}

/* The heading of print_entry_line's columns, padded by display width. */
static void print_heading(void)
{
    /* TRANSLATORS: the log's column headings; ENTRY is at most 6 columns wide */
    const char *entry = _("ENTRY");
    for (int w = cli_text_width(entry); w < 6; w++)
        putchar(' ');
    fputs(entry, stdout);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("TIME"), 26);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("WHO"), 30);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("WHAT"), 14);
    fputs("  ", stdout);
    cli_print_padded(stdout, _("CASE"), 8);
    fputs("  ", stdout);
    fputs(_("DETAILS"), stdout);
    putchar('\n');
}

/* One field of --csv (RFC 4180): quoted, quotes doubled, the ledger's text
 * cleaned as for a terminal (no line breaks inside a field). */
static void csv_field(const char *s, bool last)
{
    size_t cap = 3 * strlen(s) + 1;
    char *shown = malloc(cap);
    if (shown)
        cli_clean_text(shown, cap, s);
    putchar('"');
    for (const char *c = shown ? shown : "(out of memory)"; *c; c++) {
        if (*c == '"')
            putchar('"');
        putchar(*c);
    }
    putchar('"');
    fputs(last ? "\r\n" : ",", stdout);
    free(shown);
}

static void print_entry_csv(const log_ctx *l, const tlo_entry *e, const tlo_custody_person *p,
                            const char *what)
{
    const char *kind = tlo_entry_kind_name(e->kind), *number = case_number_of(l, e);
    char seq[24], when[64], roles[200] = "", case_hex[33] = "", session[40] = "", no[16];
    size_t n = 0;
    const uint8_t *s = tlo_entry_body_get(e->body, e->body_len, "session", &n);
    snprintf(seq, sizeof seq, "%llu", (unsigned long long)e->seq);
    iso_time(e->time_ms, when, sizeof when);
    if (p)
        tlo_roles_format(p->roles, ", ", roles, sizeof roles);
    if (e->has_case)
        tlo_hex(case_hex, e->case_id, 16);
    if (s && n < sizeof session) {
        memcpy(session, s, n);
        session[n] = '\0';
        unsigned k = tlo_custody_describe_session_no(l->d, session);
        if (k) {
            snprintf(no, sizeof no, "%u", k);
            snprintf(session, sizeof session, "%s", no);
        }
    }
    csv_field(seq, false);
    csv_field(when, false);
    csv_field(kind ? kind : "unknown", false);
    csv_field(p ? p->name : "", false);
    csv_field(roles, false);
    csv_field(number ? number : case_hex, false);
    csv_field(session, false);
    csv_field(what, true);
}

/* Whether e passes --case, --kind, --since and --person (the person behind
 * it, as the line names them). */
static bool log_wanted(const log_ctx *l, const tlo_entry *e, const tlo_custody_person *person)
{
    const log_filter *f = l->f;
    if (l->a->has_case && (!e->has_case || memcmp(e->case_id, l->a->case_id, 16) != 0))
        return false;
    if (f->has_since && e->time_ms < f->since_ms)
        return false;
    if (f->person && (!person || strcmp(person->name, f->person) != 0))
        return false;
    if (!f->nkinds)
        return true;
    for (size_t i = 0; i < f->nkinds; i++)
        if (f->kinds[i] == e->kind)
            return true;
    return false;
}

static int log_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    log_ctx *l = ctx;
    char what[4096];
    const char *why = NULL;
    (void)err;
    const tlo_custody_person *p = tlo_custody_person_by_actor(l->v, e->actor);
    /* A row whose body is not canonical was never signed as it reads (verify
     * fails on it): it is marked, not put in words nor learnt from. Every
     * entry is described, shown or not: the numbers of sessions and notes
     * are learnt from those before. */
    if (!tlo_entry_body_valid(e->body, e->body_len, &why) && (l->a->json || l->f->csv))
        snprintf(what, sizeof what,
                 "(malformed entry %llu: not canonical: %s; 'tellonce verify' says more)",
                 (unsigned long long)e->seq, why);
    else if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        snprintf(what, sizeof what,
                 _("(malformed entry %llu: not canonical: %s; 'tellonce verify' says more)"),
                 (unsigned long long)e->seq, why);
    else
        tlo_custody_describe(l->d, e, what, sizeof what);
    const tlo_custody_person *person = tlo_custody_describe_person(l->d, e);
    if (!log_wanted(l, e, person))
        return 0;
    if (l->a->json)
        print_entry_json(l, e, leaf, p, person, what);
    else if (l->f->csv)
        print_entry_csv(l, e, person, what);
    else
        print_entry_line(l, e, person, what);
    l->shown++;
    return 0;
}

/* --since: "2026-12-01" (from the start of the day), "2026-12-01 14:30" or
 * "2026-12-01 14:30:05" ('T' between them too), in the display zone
 * (tlo_time_parse_local: the vault's zone, else the system's). 0 or -1. */
static int parse_since(const char *s, uint64_t *ms)
{
    char minute[17];
    size_t n = strlen(s);
    unsigned sec = 0;
    if (n != 10 && n != 16 && n != 19)
        return -1;
    if (n == 10) {
        snprintf(minute, sizeof minute, "%s 00:00", s);
    } else {
        if (s[10] != ' ' && s[10] != 'T')
            return -1;
        snprintf(minute, sizeof minute, "%.10s %.5s", s, s + 11);
    }
    if (n == 19) {
        if (s[16] != ':' || s[17] < '0' || s[17] > '5' || s[18] < '0' || s[18] > '9')
            return -1;
        sec = (unsigned)(s[17] - '0') * 10 + (unsigned)(s[18] - '0');
    }
    if (tlo_time_parse_local(minute, ms, NULL) != 0)
        return -1;
    *ms += sec * 1000u;
    return 0;
}

/* --kind: a name as the log shows it, or a number; 0 when unknown. */
static uint16_t parse_kind(const char *s)
{
    char *end;
    unsigned long k;
    if (*s >= '0' && *s <= '9') {
        k = strtoul(s, &end, 10);
        return !*end && k <= 0xffff && tlo_entry_kind_name((uint16_t)k) ? (uint16_t)k : 0;
    }
    return tlo_entry_kind_from_name(s);
}

static void kinds_error(const char *s)
{
    char list[1024] = "";
    size_t used = 0;
    for (unsigned k = 0; k <= 0xffff; k++) {
        const char *name = tlo_entry_kind_name((uint16_t)k);
        int n;
        if (!name)
            continue;
        n = snprintf(list + used, sizeof list - used, "%s%s (%u)", used ? ", " : "", name, k);
        if (n < 0 || (size_t)n >= sizeof list - used)
            break;
        used += (size_t)n;
    }
    cli_error("--kind %s: no entry kind has that name or number; the kinds are %s", s, list);
}

/* Takes log's own options out of argv (--as, --passphrase-file, --person,
 * --since, --kind, --case, --csv), leaving the rest for parse_args. */
static int log_own_options(int *argc, char **argv, log_filter *f)
{
    static const char *const valued[] = {
        "--as", "--passphrase-file", "--person", "--since", "--kind", "--case"};
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        const char *o = argv[i], *val = NULL, *eq = strchr(o, '=');
        size_t olen = eq ? (size_t)(eq - o) : strlen(o), which;
        if (!strcmp(o, "--csv")) {
            f->csv = true;
            continue;
        }
        /* --as and --passphrase-file only as two words: the service hands
         * over the file named by the word after --passphrase-file. */
        for (which = eq ? 2 : 0; which < sizeof valued / sizeof valued[0]; which++)
            if (strlen(valued[which]) == olen && !strncmp(o, valued[which], olen))
                break;
        if (which == sizeof valued / sizeof valued[0]) {
            argv[k++] = argv[i];
            continue;
        }
        o = valued[which];
        if (eq) {
            val = eq + 1; /* --kind=export */
        } else if (i + 1 >= *argc) {
            cli_error("%s needs a value; see 'tellonce log --help'", o);
            return EXIT_USAGE;
        } else {
            val = argv[++i];
        }
        if (!strcmp(o, "--as")) {
            f->as = val;
        } else if (!strcmp(o, "--passphrase-file")) {
            f->pass_file = val;
        } else if (!strcmp(o, "--person")) {
            f->person = val;
        } else if (!strcmp(o, "--case")) {
            f->case_text = val;
        } else if (!strcmp(o, "--since")) {
            f->since_text = val; /* read in the vault's zone, once it is open */
        } else if (f->nkinds == MAX_KINDS) {
            cli_error("at most %d --kind options", MAX_KINDS);
            return EXIT_USAGE;
        } else if (!(f->kinds[f->nkinds] = parse_kind(val))) {
            kinds_error(val);
            return EXIT_USAGE;
        } else {
            f->nkinds++;
        }
    }
    *argc = k;
    argv[k] = NULL;
    return EXIT_OK;
}

/* With --as: the numbers of every case, through the custodian (logged).
 * A person whose roles may not see them sees internal ids, and is told. */
static int log_numbers(log_ctx *l, const char *as, const char *pass_file)
{
    tlo_error err = {0};
    int rc = EXIT_OK;
    const tlo_custody_person *who = tlo_custody_person_by_name(l->v, as);
    if (who && !(who->roles & tlo_custody_act_roles(TLO_ACT_CASE_NUMBERS))) {
        char may[300];
        cli_act_who(TLO_ACT_CASE_NUMBERS, may, sizeof may);
        fprintf(
            stderr,
            _("tellonce: %s sees the cases by internal id: case numbers are shown only to %s.\n"),
            as, may);
        return EXIT_OK;
    }
    tlo_vault_identity *actor = cli_acting(l->v, as, pass_file, TLO_ACT_CASE_NUMBERS, &rc);
    if (!actor)
        return rc;
    if (tlo_custody_cases(l->v, &l->cases, &l->ncases, &err) != 0 ||
        tlo_custody_case_numbers(l->v, actor, l->cases, l->ncases, NULL, &err) != 0)
        rc = cli_fail(&err);
    tlo_vault_identity_free(actor);
    return rc;
}

/* --person names someone enrolled (now or before), --case a case, --since
 * a time in the display zone (the vault's, set when it was opened). */
static int log_check_filter(log_ctx *l, log_filter *f, const tlo_custody_person *people,
                            size_t npeople)
{
    tlo_error err = {0};
    tlo_custody_case cs;
    bool known = false;
    for (size_t i = 0; l->f->person && i < npeople; i++)
        known |= !strcmp(people[i].name, l->f->person);
    if (l->f->person && !known) {
        cli_error("--person %s: no one of that name was ever enrolled in this vault; 'tellonce "
                  "user list' names everyone",
                  l->f->person);
        return EXIT_USAGE;
    }
    if (f->since_text) {
        if (parse_since(f->since_text, &f->since_ms) != 0) {
            cli_error("--since %s: give a day (2026-12-01) or a local time (2026-12-01 "
                      "14:30 or 2026-12-01 14:30:05) that exists",
                      f->since_text);
            return EXIT_USAGE;
        }
        f->has_since = true;
    }
    if (l->f->case_text) {
        if (tlo_custody_case_find(l->v, l->f->case_text, &cs, &err) != 0)
            return cli_fail(&err);
        memcpy(l->a->case_id, cs.id, TLO_CASE_ID_BYTES);
        l->a->has_case = 1;
    }
    return EXIT_OK;
}

int cmd_log(int argc, char **argv)
{
    ledger_args a;
    log_filter f = {0};
    log_ctx l = {.a = &a, .f = &f};
    tlo_error err = {0};
    const tlo_custody_person *people = NULL;
    size_t npeople = 0;
    uint64_t total = 0;
    int rc = log_own_options(&argc, argv, &f);
    if (rc)
        return rc;
    rc = parse_args(argc, argv, &a, log_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (a.ndirs || a.vkey || a.has_case || a.checkpoint) { /* verify's options */
        cli_usage_hint();
        return EXIT_USAGE;
    }
    if (a.json && f.csv) {
        cli_error("--json and --csv are two formats of the same log: give one");
        return EXIT_USAGE;
    }
    if (!(l.v = cli_open(a.vault_opt, f.as == NULL, &rc)))
        return rc;
    /* The filters are checked before --as logs anything; the people are
     * read again after (log_numbers appends). */
    if (tlo_custody_people(l.v, &people, &npeople, &err) != 0) {
        rc = cli_fail(&err);
    } else if ((rc = log_check_filter(&l, &f, people, npeople)) != EXIT_OK) {
        /* said why */
    } else if (f.as && (rc = log_numbers(&l, f.as, f.pass_file)) != EXIT_OK) {
        /* said why */
    } else if (tlo_custody_people(l.v, &people, &npeople, &err) != 0 ||
               tlo_custody_describer_new(people, npeople, &l.d, &err) != 0) {
        rc = cli_fail(&err);
    } else {
        tlo_custody_describer_set_english(l.d, a.json || f.csv); /* JSON and CSV stay English */
        if (a.json)
            fputc('[', stdout);
        else if (f.csv)
            printf("seq,time,kind,person,role,case,session,summary\r\n");
        else
            print_heading();
        if ((a.has_case
                 ? tlo_chain_walk_case(tlo_custody_chain(l.v), a.case_id, 0, log_visit, &l, &err)
                 : tlo_chain_walk(tlo_custody_chain(l.v), 0, log_visit, &l, &err)) != 0 ||
            tlo_chain_size(tlo_custody_chain(l.v), &total, &err) != 0)
            rc = cli_fail(&err);
        if (a.json)
            printf("]\n");
        if (rc == EXIT_OK && isatty(STDERR_FILENO))
            fprintf(stderr, _("%zu of %llu entries matched.\n"), l.shown,
                    (unsigned long long)total);
    }
    free(l.cases);
    tlo_custody_describer_free(l.d);
    tlo_custody_close(l.v);
    return rc;
}
