/* tellonce case open|list — cases, their keys and their sealed fields. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void case_usage(FILE *f)
{
    fprintf(f, "usage: tellonce case open NUMBER --as NAME [--title TEXT] [--child-name NAME]\n"
               "                          [--child-birthdate DATE] [--passphrase-file FILE]\n"
               "       tellonce case list [--json]\n"
               "       tellonce case show NUMBER --as NAME [--passphrase-file FILE]\n"
               "(each also takes --vault DIR)\n"
               "\n"
               "'open' creates a case with the number police use (letters, digits, dashes,\n"
               "Chinese characters...), a new random case key kept only wrapped to the\n"
               "custodian, and the title and the child's name and birth date sealed in the\n"
               "vault: they never appear in the ledger or in a file name. NAME must be an\n"
               "interviewer or an administrator.\n"
               "'show' prints what the ledger says of a case and, to an administrator or the\n"
               "interviewer who opened it, its sealed fields. The attempt is logged either\n"
               "way (a case-view entry, signed by the custodian, before anything is\n"
               "unsealed).\n");
}

static int mkdir_private(const char *vault, const char *name)
{
    char *p = tlo_path_join(vault, name);
    int rc = p && (mkdir(p, 0700) == 0 || errno == EEXIST) ? 0 : -1;
    if (rc)
        cli_error("cannot create %s: %s", p ? p : name, strerror(errno));
    free(p);
    return rc;
}

/* The custodian's X25519 key, from the genesis entry. */
static int custodian_box_pk(tlo_chain *c, uint8_t pk[32])
{
    tlo_entry e;
    uint8_t *buf = NULL;
    tlo_error err = {0};
    size_t n;
    char hex[65];
    int rc = EXIT_BAD_DATA;
    if (tlo_chain_get(c, 0, &e, &buf, &err) != 0)
        return cli_fail(&err);
    const uint8_t *v = tlo_entry_body_get(e.body, e.body_len, "custodian.box_pk", &n);
    if (v && n == 64) {
        memcpy(hex, v, 64);
        hex[64] = '\0';
        if (tlo_unhex(pk, 32, hex) == 0)
            rc = 0;
    }
    if (rc)
        cli_error("the ledger's genesis entry does not name the custodian's key");
    free(buf);
    return rc;
}

static int case_open(const char *vault, const char *number, const char *as, const char *pass_file,
                     const char *title, const char *child_name, const char *child_birthdate)
{
    cli_people pp = {0};
    cli_case existing;
    tlo_vault_identity *actor = NULL;
    uint8_t *key = NULL, case_id[TLO_ID_BYTES], box_pk[32], wrapped[TLO_WRAPPED_KEY_BYTES];
    char *key_path = NULL, *info_path = NULL, *fields = NULL;
    tlo_vault_writer *w = NULL;
    tlo_error err = {0};
    int rc, fd = -1;
    tlo_chain *c = cli_open_ledger(vault, false, &rc);

    if (!c || (rc = cli_people_load(c, &pp)) != 0)
        goto out;
    rc = EXIT_USAGE;
    if (!tlo_text_ok(number, 64) || strchr(number, '/')) {
        cli_error("a case number is 1 to 64 bytes of text without control characters or '/'");
        goto out;
    }
    if ((title && !tlo_text_ok(title, 1000)) || (child_name && !tlo_text_ok(child_name, 255)) ||
        (child_birthdate && !tlo_text_ok(child_birthdate, 64))) {
        cli_error("--title, --child-name and --child-birthdate take one line of text");
        goto out;
    }
    int found_rc = cli_case_find(c, number, &existing, true);
    if (found_rc == 0) {
        cli_error("case %s already exists (opened in entry %llu)", number,
                  (unsigned long long)existing.opened_at);
        goto out;
    }
    if (!(actor =
              cli_unlock_acting(vault, as, pass_file, &pp, TLO_ROLE_INTERVIEWER | TLO_ROLE_ADMIN,
                                "interviewer or administrator", &rc)))
        goto out;
    if ((rc = custodian_box_pk(c, box_pk)) != 0)
        goto out;
    rc = EXIT_SYSTEM;
    if (mkdir_private(vault, "objects") || mkdir_private(vault, "cases"))
        goto out;

    /* The key, wrapped to the custodian. */
    char hex[2 * TLO_ID_BYTES + 1], name[80];
    tlo_vault_random_id(case_id);
    tlo_hex(hex, case_id, TLO_ID_BYTES);
    if (!(key = tlo_vault_key_generate()) || tlo_vault_key_wrap(wrapped, key, box_pk, &err) != 0)
        goto out;
    snprintf(name, sizeof name, "cases/%s.key", hex);
    key_path = tlo_path_join(vault, name);
    if (cli_write_new_file(key_path, wrapped, sizeof wrapped, 0600) != 0) {
        free(key_path);
        key_path = NULL;
        goto out;
    }

    /* The sealed fields. */
    tlo_vault_object_params op = {.kind = TLO_KIND_CASEINFO};
    tlo_vault_digests d;
    memcpy(op.case_id, case_id, TLO_ID_BYTES);
    tlo_vault_random_id(op.object_id);
    tlo_hex(hex, op.object_id, TLO_ID_BYTES);
    snprintf(name, sizeof name, "objects/%s.tlo", hex);
    info_path = tlo_path_join(vault, name);
    if (asprintf(&fields, "case_number=%s\nchild_birthdate=%s\nchild_name=%s\ntitle=%s\n", number,
                 child_birthdate ? child_birthdate : "", child_name ? child_name : "",
                 title ? title : "") < 0) {
        fields = NULL;
        goto undo;
    }
    fd = open(info_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || !(w = tlo_vault_writer_new(&op, key, tlo_vault_fd_sink, &fd, &err)) ||
        tlo_vault_writer_write(w, fields, strlen(fields), &err) != 0 ||
        tlo_vault_writer_finish(w, &d, &err) != 0 || fsync(fd) != 0) {
        if (err.msg[0])
            cli_fail(&err);
        else
            cli_error("cannot write %s: %s", info_path, strerror(errno));
        goto undo;
    }
    close(fd);
    fd = -1;

    /* The entry: the case number and digests, nothing about the child. */
    char info_hex[65], key_hex[65], body[600];
    uint8_t key_digest[32];
    crypto_hash_sha256(key_digest, wrapped, sizeof wrapped);
    tlo_hex(info_hex, d.ciphertext_sha256, 32);
    tlo_hex(key_hex, key_digest, 32);
    snprintf(body, sizeof body,
             "case_number=%s\ninfo_object=%s\ninfo_sha256=%s\nwrapped_key_sha256=%s\n", number, hex,
             info_hex, key_hex);
    tlo_chain_draft dr = {.kind = TLO_ENTRY_CASE_OPEN,
                          .has_case = true,
                          .body = (const uint8_t *)body,
                          .body_len = strlen(body)};
    memcpy(dr.case_id, case_id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = actor->sign_sk};
    memcpy(s.pk, actor->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(c, &dr, 1, &s, &seq, &err) != 0) {
        rc = cli_fail(&err);
        goto undo;
    }
    tlo_hex(hex, case_id, TLO_ID_BYTES);
    printf("Opened case %s (internal id %s) in ledger entry %llu, by %s.\n"
           "Its key is kept wrapped to the custodian; its title and the child's details are "
           "sealed.\n",
           number, hex, (unsigned long long)seq, as);
    rc = EXIT_OK;
    goto out;
undo:
    if (key_path)
        unlink(key_path);
    if (info_path)
        unlink(info_path);
out:
    if (fd >= 0)
        close(fd);
    tlo_vault_writer_free(w);
    tlo_vault_key_free(key);
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(c);
    free(key_path);
    free(info_path);
    if (fields)
        sodium_memzero(fields, strlen(fields)); /* the child's details */
    free(fields);
    return rc;
}

/* What the ledger says of a case: its case-open entry and its sessions. */
typedef struct case_facts {
    const uint8_t *case_id;
    uint8_t opener[32];
    char info[40];
    unsigned sessions;
} case_facts;

static int facts_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    case_facts *f = ctx;
    size_t n;
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, f->case_id, TLO_ID_BYTES) != 0)
        return 0;
    if (e->kind == TLO_ENTRY_CASE_OPEN) {
        memcpy(f->opener, e->actor, 32);
        const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "info_object", &n);
        if (v && n < sizeof f->info) {
            memcpy(f->info, v, n);
            f->info[n] = '\0';
        }
    } else if (e->kind == TLO_ENTRY_SESSION_START) {
        f->sessions++;
    }
    return 0;
}

/* One field of the sealed "key=value" lines, printed under a label. */
static void show_field(const char *fields, const char *key, const char *label)
{
    size_t klen = strlen(key);
    for (const char *p = fields; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > klen && !strncmp(p, key, klen) && p[klen] == '=')
            printf("  %-16s %.*s\n", label, (int)(len - klen - 1), p + klen + 1);
        p = nl ? nl + 1 : NULL;
    }
}

static int case_show(const char *vault, const char *number, const char *as, const char *pass_file)
{
    cli_people pp = {0};
    cli_case cs;
    tlo_vault_identity *actor = NULL, *cust = NULL;
    uint8_t *key = NULL;
    char *fields = NULL, *path = NULL;
    int rc, fd = -1;
    tlo_error err = {0};
    tlo_chain *ch = cli_open_ledger(vault, false, &rc);
    if (!ch || (rc = cli_people_load(ch, &pp)) != 0 ||
        (rc = cli_case_find(ch, number, &cs, false)) != 0)
        goto out;
    case_facts f = {.case_id = cs.id};
    if (tlo_chain_walk(ch, 0, facts_visit, &f, &err) < 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!(actor = cli_unlock_acting(vault, as, pass_file, &pp,
                                    TLO_ROLE_ADMIN | TLO_ROLE_INTERVIEWER | TLO_ROLE_PROSECUTOR |
                                        TLO_ROLE_MEDICAL | TLO_ROLE_AUDITOR,
                                    "enrolled person", &rc)))
        goto out;
    uint8_t actor_id[32];
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    const cli_person *who = cli_people_by_actor(&pp, actor_id),
                     *opener = cli_people_by_actor(&pp, f.opener);
    char id[33];
    tlo_hex(id, cs.id, TLO_ID_BYTES);
    printf("Case %s\n  %-16s %s\n  %-16s entry %llu, by %s\n  %-16s %u\n", cs.number, "internal id",
           id, "opened", (unsigned long long)cs.opened_at, opener ? opener->name : "?", "sessions",
           f.sessions);
    bool entitled = who && ((who->roles & TLO_ROLE_ADMIN) || ((who->roles & TLO_ROLE_INTERVIEWER) &&
                                                              !memcmp(actor_id, f.opener, 32)));
    /* The attempt, logged before anything is unsealed. */
    char body[400], pk[65];
    tlo_hex(pk, actor->sign_pk, 32);
    snprintf(body, sizeof body, "actor=%s\n%sresult=%s\n", pk,
             entitled ? ""
                      : "reason=only an administrator or the interviewer who opened the case\n",
             entitled ? "shown" : "refused");
    if (!(cust = cli_unlock_custodian(vault))) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    tlo_chain_draft d = {.kind = TLO_ENTRY_CASE_VIEW,
                         .has_case = true,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    memcpy(d.case_id, cs.id, TLO_ID_BYTES);
    tlo_chain_signer sg = {.sk = cust->sign_sk};
    memcpy(sg.pk, cust->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(ch, &d, 1, &sg, &seq, &err) != 0) {
        rc = cli_fail(&err);
        cli_error("nothing was unsealed: the view could not be logged first");
        goto out;
    }
    if (!entitled) {
        cli_error("the sealed fields (title, the child's details) are shown only to an "
                  "administrator or the interviewer who opened the case; this attempt is logged "
                  "as entry %llu",
                  (unsigned long long)seq);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (!(key = cli_case_key(vault, &cs, cust))) {
        rc = EXIT_BAD_DATA;
        goto out;
    }
    char name[64];
    snprintf(name, sizeof name, "objects/%s.tlo", f.info);
    path = tlo_path_join(vault, name);
    fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    tlo_vault_reader *r = fd >= 0 ? tlo_vault_reader_open_fd(fd, key, path, &err) : NULL;
    size_t len = r ? (size_t)tlo_vault_reader_size(r) : 0;
    if (!r || len > 8192 || !(fields = sodium_malloc(len + 1)) ||
        tlo_vault_reader_read_at(r, 0, fields, len, &err) != 0) {
        tlo_vault_reader_free(r);
        rc = err.code ? cli_fail(&err) : EXIT_BAD_DATA;
        if (!err.code)
            cli_error("cannot read the case's sealed fields %s", path ? path : name);
        goto out;
    }
    tlo_vault_reader_free(r);
    fields[len] = '\0';
    show_field(fields, "title", "title");
    show_field(fields, "child_name", "child's name");
    show_field(fields, "child_birthdate", "child's birth");
    printf("(shown to %s; logged as entry %llu)\n", as, (unsigned long long)seq);
    rc = EXIT_OK;
out:
    if (fields)
        sodium_free(fields); /* wipes */
    if (fd >= 0)
        close(fd);
    free(path);
    tlo_vault_key_free(key);
    tlo_vault_identity_free(cust);
    tlo_vault_identity_free(actor);
    cli_people_free(&pp);
    tlo_chain_close(ch);
    return rc;
}

typedef struct lister {
    const cli_people *pp;
    int json, n;
} lister;

static int list_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    lister *l = ctx;
    size_t n;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_CASE_OPEN || !e->has_case)
        return 0;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "case_number", &n);
    char number[80], id[33];
    snprintf(number, sizeof number, "%.*s", (int)(v ? n : 0), v ? (const char *)v : "");
    tlo_hex(id, e->case_id, 16);
    const cli_person *p = cli_people_by_actor(l->pp, e->actor);
    if (l->json) {
        printf("%s{\"case_number\":", l->n ? "," : "");
        cli_json_string(stdout, number);
        printf(",\"id\":\"%s\",\"opened_at\":%llu,\"opened_by\":", id, (unsigned long long)e->seq);
        cli_json_string(stdout, p ? p->name : "");
        printf("}");
    } else {
        printf("%-24s %s  %-8llu %s\n", number, id, (unsigned long long)e->seq, p ? p->name : "?");
    }
    l->n++;
    return 0;
}

int cmd_case(int argc, char **argv)
{
    static const struct option opts[] = {{"as", required_argument, NULL, 'A'},
                                         {"vault", required_argument, NULL, 'V'},
                                         {"passphrase-file", required_argument, NULL, 'P'},
                                         {"title", required_argument, NULL, 't'},
                                         {"child-name", required_argument, NULL, 'n'},
                                         {"child-birthdate", required_argument, NULL, 'b'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *as = NULL, *vault_opt = NULL, *pass_file = NULL, *title = NULL;
    const char *child_name = NULL, *child_birthdate = NULL;
    int c, json = 0, rc = EXIT_USAGE;
    if (argc < 2) {
        case_usage(stderr);
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        case_usage(stdout);
        return EXIT_OK;
    }
    optind = 0;
    while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
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
            title = optarg;
            break;
        case 'n':
            child_name = optarg;
            break;
        case 'b':
            child_birthdate = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            case_usage(stdout);
            return EXIT_OK;
        default:
            case_usage(stderr);
            return EXIT_USAGE;
        }
    }
    int nargs = argc - 1 - optind;
    char **args = argv + 1 + optind;
    char *vault = cli_vault_dir(vault_opt);
    if (!strcmp(sub, "open") && nargs == 1) {
        if (!as)
            cli_error("case open needs --as NAME");
        else
            rc = case_open(vault, args[0], as, pass_file, title, child_name, child_birthdate);
    } else if (!strcmp(sub, "list") && nargs == 0) {
        cli_people pp = {0};
        tlo_chain *ch = cli_open_ledger(vault, true, &rc);
        if (ch && (rc = cli_people_load(ch, &pp)) == 0) {
            lister l = {.pp = &pp, .json = json};
            tlo_error err = {0};
            if (json)
                printf("[");
            else
                printf("%-24s %-32s  %-8s %s\n", "CASE", "INTERNAL ID", "OPENED", "BY");
            if (tlo_chain_walk(ch, 0, list_visit, &l, &err) < 0)
                rc = cli_fail(&err);
            if (json)
                printf("]\n");
        }
        cli_people_free(&pp);
        tlo_chain_close(ch);
    } else if (!strcmp(sub, "show") && nargs == 1) {
        if (!as)
            cli_error("case show needs --as NAME");
        else
            rc = case_show(vault, args[0], as, pass_file);
    } else {
        cli_error("see 'tellonce case --help' for open, list and show");
    }
    free(vault);
    return rc;
}
