/* tellonce verify and tellonce log — the custody ledger for auditors and
 * for people. Neither needs a key or a passphrase. */
#include "cli.h"
#include "tlo_time.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
} ledger_args;

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
            if (tlo_unhex(a->case_id, TLO_CASE_ID_BYTES, optarg) != 0) {
                cli_error("--case takes the case's internal id, 32 hex digits");
                return EXIT_USAGE;
            }
            a->has_case = 1;
            break;
        case 'h':
            usage(stdout);
            return -1;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

static void verify_usage(FILE *f)
{
    fprintf(f, "usage: tellonce verify [--vault DIR] [--case ID] [--checkpoint OLD]\n"
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
               "--case ID verifies the whole ledger and counts the case's entries in it.\n"
               "Exit status 0 only when\n"
               "everything holds; otherwise 1, naming the first bad entry and what is wrong.\n");
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
        print_clean("FAILED: ", r->problem, (int)strlen(r->problem));
        if (r->first_bad >= 0)
            printf("The first bad entry is %lld; the %llu entries before it verified.\n",
                   (long long)r->first_bad, (unsigned long long)r->entries);
        return;
    }
    printf("OK: %llu entries, %llu signatures, every link and the Merkle root (%s) "
           "verified.\n",
           (unsigned long long)r->entries, (unsigned long long)r->signatures, root);
    if (v->segments)
        printf("    %llu sealed segments are in the vault with the digests logged, and "
               "every session is complete.\n",
               (unsigned long long)v->segments);
    if (a->has_case)
        printf("    The case has %llu of these entries; all are in the verified chain.\n",
               (unsigned long long)v->case_entries);
    if (v->has_old)
        printf("    and it extends %s (%llu entries).\n", v->anchors[0].label,
               (unsigned long long)v->anchors[0].size);
    if (v->local_checkpoints)
        printf("    and it extends all %zu checkpoints in the vault's checkpoints/ (the newest "
               "covers %llu entries).\n",
               v->local_checkpoints, (unsigned long long)v->local_newest);
    else
        printf("    The vault holds no checkpoint: nothing shows that entries were not cut from "
               "its end.\n");
    for (size_t i = 0; i < a->ndirs; i++)
        printf("    and the checkpoints published in %s%s", a->dirs[i],
               i + 1 == a->ndirs ? "" : ",\n");
    if (a->ndirs)
        printf(" (%zu in all, the newest covers %llu entries).\n", v->published_checkpoints,
               (unsigned long long)v->published_newest);
    if (v->pinned)
        printf("    The custodian is the pinned verifier key.\n");
    printf("    %llu case keys and records have the digests their cases logged; every file of "
           "the vault is one the ledger names.\n",
           (unsigned long long)v->case_records);
    for (const char *l = v->notes; *l;) {
        const char *nl = strchr(l, '\n');
        int len = nl ? (int)(nl - l) : (int)strlen(l);
        print_clean("    note: ", l, len);
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
    tlo_custody_verify_params p = {.old_checkpoint = a.checkpoint,
                                   .checkpoint_dirs = a.dirs,
                                   .ndirs = a.ndirs,
                                   .verifier = a.vkey ? &pinned : NULL,
                                   .case_id = a.has_case ? a.case_id : NULL};
    if (tlo_custody_verify_with(v, &p, &r, &err) != 0) {
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
    fprintf(f, "usage: tellonce log [--vault DIR] [--case ID] [--json]\n"
               "                    [--as NAME [--passphrase-file FILE]]\n"
               "\n"
               "The custody log as a person reads it: time, who (the person behind the entry,\n"
               "by name and role: for a view, the viewer, not the custodian who logged it),\n"
               "what, on which case, and the entry in words. The JSON adds \"person\",\n"
               "\"description\" and \"canonical\" to every entry's fields. --case shows only the\n"
               "entries of one case (its internal id). --json gives every field of every entry.\n"
               "Nothing here is verified ('tellonce verify' does that), but what is shown is\n"
               "cleaned: control characters become '?' (escaped in JSON), bytes that are not\n"
               "UTF-8 become U+FFFD, and an entry whose body is not canonical is marked\n"
               "\"(malformed entry N: not canonical: ...)\" instead of put in words.\n"
               "Cases are named by internal id: the ledger does not hold their numbers. With\n"
               "--as, an administrator, interviewer or prosecutor also sees each case's number,\n"
               "read through the custodian from its sealed record and logged first (one\n"
               "case-view entry per case).\n");
}

typedef struct log_ctx {
    ledger_args *a;
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

static void format_time(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text_ms(ms, out, cap);
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
                             const char *when, const char *what)
{
    const char *kind = tlo_entry_kind_name(e->kind);
    char actor[65], prev[65], lh[65], sig[129], roles[200], case_hex[33];
    tlo_hex(actor, e->actor, 32);
    tlo_hex(prev, e->prev, 32);
    tlo_hex(lh, leaf, 32);
    tlo_hex(sig, e->sig, 64);
    printf("%s{\"seq\":%llu,\"time_ms\":%llu,\"time\":\"%s\",\"kind\":\"%s\",\"case_id\":",
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
    tlo_roles_format(p ? p->roles : 0, ", ", roles, sizeof roles);
    printf(",\"actor_roles\":\"%s\",\"prev\":\"%s\",\"leaf_hash\":\"%s\",\"signature\":\"%s\","
           "\"body\":",
           roles, prev, lh, sig);
    print_body_json(e);
    /* The person behind the entry (for what the custodian signs: the one it
     * acted for) and the entry in words, as the log and the report say it. */
    printf(",\"person\":");
    if (person && person->roles != TLO_ROLE_CUSTODIAN) {
        char pk[65];
        tlo_hex(pk, person->pk, 32);
        tlo_roles_format(person->roles, ", ", roles, sizeof roles);
        printf("{\"name\":");
        cli_json_string(stdout, person->name);
        printf(",\"roles\":\"%s\",\"pk\":\"%s\"}", roles, pk);
    } else if (person) {
        printf("{\"name\":\"custodian\",\"roles\":\"custodian\"}");
    } else {
        printf("null");
    }
    printf(",\"description\":");
    cli_json_string(stdout, what);
    printf(",\"canonical\":%s}",
           tlo_entry_body_valid(e->body, e->body_len, NULL) ? "true" : "false");
}

/* One line for a terminal: every text in it comes from the ledger (names,
 * numbers, the words of the body), so each is cleaned of control
 * characters and bytes that are not UTF-8 before it is shown. */
static void print_entry_line(const log_ctx *l, const tlo_entry *e, const tlo_custody_person *p,
                             const char *when, const char *what)
{
    const char *kind = tlo_entry_kind_name(e->kind), *number = case_number_of(l, e);
    char who[TLO_NAME_MAX + 220], case_hex[33] = "-";
    char who_shown[3 * sizeof who], number_shown[3 * sizeof l->cases->c.number];
    char *what_shown = malloc(3 * strlen(what) + 1);
    if (e->has_case)
        tlo_hex(case_hex, e->case_id, 16);
    /* WHO: the person behind the entry, not the custodian who signed for them. */
    tlo_custody_person_words(p, who, sizeof who);
    cli_clean_text(who_shown, sizeof who_shown, who);
    if (number)
        cli_clean_text(number_shown, sizeof number_shown, number);
    if (what_shown)
        cli_clean_text(what_shown, 3 * strlen(what) + 1, what);
    /* A number whole (cutting bytes could cut a character), an id's first 8. */
    printf(number ? "%6llu  %s  %-30s  %-14s  %-8s  %s\n" : "%6llu  %s  %-30s  %-14s  %-8.8s  %s\n",
           (unsigned long long)e->seq, when, who_shown, kind ? kind : "unknown",
           number ? number_shown : case_hex, what_shown ? what_shown : "(out of memory)");
    free(what_shown);
}

static int log_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    log_ctx *l = ctx;
    char when[128], what[4096];
    const char *why = NULL;
    (void)err;
    if (l->a->has_case && (!e->has_case || memcmp(e->case_id, l->a->case_id, 16) != 0))
        return 0;
    const tlo_custody_person *p = tlo_custody_person_by_actor(l->v, e->actor);
    /* A row whose body is not canonical was never signed as it reads (verify
     * fails on it): it is marked, not put in words nor learnt from. */
    if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        snprintf(what, sizeof what,
                 "(malformed entry %llu: not canonical: %s; 'tellonce verify' says more)",
                 (unsigned long long)e->seq, why);
    else
        tlo_custody_describe(l->d, e, what, sizeof what);
    const tlo_custody_person *person = tlo_custody_describe_person(l->d, e);
    format_time(e->time_ms, when, sizeof when);
    if (l->a->json)
        print_entry_json(l, e, leaf, p, person, when, what);
    else
        print_entry_line(l, e, person, when, what);
    l->shown++;
    return 0;
}

/* Takes --as NAME and --passphrase-file FILE (log's own options) out of
 * argv, leaving the rest for parse_args. */
static int log_own_options(int *argc, char **argv, const char **as, const char **pass_file)
{
    int k = 1;
    for (int i = 1; i < *argc; i++) {
        const char **to = !strcmp(argv[i], "--as")                ? as
                          : !strcmp(argv[i], "--passphrase-file") ? pass_file
                                                                  : NULL;
        if (!to) {
            argv[k++] = argv[i];
            continue;
        }
        if (i + 1 >= *argc) {
            cli_error("%s needs a value; see 'tellonce log --help'", argv[i]);
            return EXIT_USAGE;
        }
        *to = argv[++i];
    }
    *argc = k;
    argv[k] = NULL;
    return EXIT_OK;
}

/* With --as: the numbers of every case, through the custodian (logged). */
static int log_numbers(log_ctx *l, const char *as, const char *pass_file)
{
    tlo_error err = {0};
    int rc = EXIT_OK;
    tlo_vault_identity *actor = cli_acting(l->v, as, pass_file, TLO_ACT_CASE_NUMBERS, &rc);
    if (!actor)
        return rc;
    if (tlo_custody_cases(l->v, &l->cases, &l->ncases, &err) != 0 ||
        tlo_custody_case_numbers(l->v, actor, l->cases, l->ncases, NULL, &err) != 0)
        rc = cli_fail(&err);
    tlo_vault_identity_free(actor);
    return rc;
}

int cmd_log(int argc, char **argv)
{
    ledger_args a;
    log_ctx l = {.a = &a};
    tlo_error err = {0};
    const char *as = NULL, *pass_file = NULL;
    const tlo_custody_person *people = NULL;
    size_t npeople = 0;
    int rc = log_own_options(&argc, argv, &as, &pass_file);
    if (rc)
        return rc;
    rc = parse_args(argc, argv, &a, log_usage);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (a.ndirs || a.vkey) { /* verify's options */
        log_usage(stderr);
        return EXIT_USAGE;
    }
    if (!(l.v = cli_open(a.vault_opt, as == NULL, &rc)))
        return rc;
    if (tlo_custody_people(l.v, NULL, NULL, &err) != 0) {
        rc = cli_fail(&err);
    } else if (as && (rc = log_numbers(&l, as, pass_file)) != EXIT_OK) {
        /* said why */
    } else if (tlo_custody_people(l.v, &people, &npeople, &err) != 0 ||
               tlo_custody_describer_new(people, npeople, &l.d, &err) != 0) {
        rc = cli_fail(&err);
    } else {
        if (a.json)
            fputc('[', stdout);
        else
            printf("%6s  %-29s  %-30s  %-14s  %-8s  %s\n", "ENTRY", "TIME", "WHO", "WHAT", "CASE",
                   "DETAILS");
        if ((a.has_case
                 ? tlo_chain_walk_case(tlo_custody_chain(l.v), a.case_id, 0, log_visit, &l, &err)
                 : tlo_chain_walk(tlo_custody_chain(l.v), 0, log_visit, &l, &err)) != 0)
            rc = cli_fail(&err);
        if (a.json)
            printf("]\n");
    }
    free(l.cases);
    tlo_custody_describer_free(l.d);
    tlo_custody_close(l.v);
    return rc;
}
