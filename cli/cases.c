/* Cases as the ledger knows them, and their keys.
 *
 * A case has an internal id (16 random bytes: file names and entries use it),
 * the case number police use (in the case-open entry), a random case key kept
 * only wrapped to the custodian in cases/ID.key, and its sealed fields (title,
 * the child's name and birth date) in a sealed object under objects/. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct finder {
    const char *number;
    cli_case *out;
    int found;
} finder;

static int find_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    finder *f = ctx;
    size_t n;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_CASE_OPEN || !e->has_case)
        return 0;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "case_number", &n);
    if (!v || n != strlen(f->number) || memcmp(v, f->number, n) != 0)
        return 0;
    f->found++;
    memcpy(f->out->id, e->case_id, TLO_ID_BYTES);
    snprintf(f->out->number, sizeof f->out->number, "%s", f->number);
    f->out->opened_at = e->seq;
    return 0;
}

int cli_case_find(tlo_chain *c, const char *number, cli_case *out, bool quiet)
{
    finder f = {.number = number, .out = out};
    tlo_error err = {0};
    memset(out, 0, sizeof *out);
    if (tlo_chain_walk(c, 0, find_visit, &f, &err) < 0)
        return cli_fail(&err);
    if (f.found == 0) {
        if (quiet)
            return EXIT_USAGE;
        cli_error("no case '%s' in this vault; 'tellonce case list' shows the cases", number);
        return EXIT_USAGE;
    }
    return 0;
}

uint8_t *cli_case_key(const char *vault, const cli_case *cs, const tlo_vault_identity *custodian)
{
    char hex[2 * TLO_ID_BYTES + 1], name[64];
    tlo_hex(hex, cs->id, TLO_ID_BYTES);
    snprintf(name, sizeof name, "cases/%s.key", hex);
    char *path = tlo_path_join(vault, name);
    uint8_t wrapped[TLO_WRAPPED_KEY_BYTES];
    uint8_t *key = NULL;
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        cli_error("the key of case %s is not in the vault (%s: %s); it was destroyed or the "
                  "vault is incomplete",
                  cs->number, path ? path : "?", strerror(errno));
        goto out;
    }
    long long n = tlo_pread_full(fd, wrapped, sizeof wrapped, 0);
    close(fd);
    tlo_error err = {0};
    if (n != (long long)sizeof wrapped) {
        cli_error("the wrapped key of case %s (%s) is damaged", cs->number, path);
        goto out;
    }
    key = tlo_vault_key_alloc();
    if (!key || tlo_vault_key_unwrap(key, wrapped, custodian->box_pk, custodian->box_sk, &err)) {
        if (key)
            cli_fail(&err);
        tlo_vault_key_free(key);
        key = NULL;
    }
out:
    free(path);
    return key;
}
