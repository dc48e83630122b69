/* Cases and sessions as the ledger knows them, and the case keys.
 *
 * A case has an internal id (16 random bytes: file names and entries use it),
 * the case number police use (in the case-open entry), a random case key kept
 * only wrapped to the custodian in cases/ID.key, and its sealed fields (title,
 * the child's name and birth date) in a sealed object under objects/. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct finder {
    const char *number; /* by number, */
    const uint8_t *id;  /* or by internal id */
    tlo_custody_case *out;
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
    if (!v || (f->number && (n != strlen(f->number) || memcmp(v, f->number, n) != 0)) ||
        (f->id && memcmp(e->case_id, f->id, TLO_ID_BYTES) != 0) || n >= sizeof f->out->number)
        return 0;
    f->found++;
    memcpy(f->out->id, e->case_id, TLO_ID_BYTES);
    memcpy(f->out->number, v, n);
    f->out->number[n] = '\0';
    f->out->opened_at = e->seq;
    f->out->has_wrapped_digest =
        tlo_entry_hex(e, "wrapped_key_sha256", f->out->wrapped_key_sha256, 32) == 0;
    return 0;
}

int tlo_custody_case_find(tlo_custody *v, const char *number, tlo_custody_case *out, tlo_error *err)
{
    finder f = {.number = number, .out = out};
    memset(out, 0, sizeof *out);
    /* The case-open entries with this number, by index: O(1), not O(ledger). */
    if (tlo_chain_walk_case_number(v->ch, number, find_visit, &f, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    if (f.found == 0)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "no case '%s' in this vault; 'tellonce case list' shows the cases", number);
    return 0;
}

int custody_case_by_id(tlo_custody *v, const uint8_t id[static TLO_ID_BYTES], tlo_custody_case *out,
                       tlo_error *err)
{
    finder f = {.id = id, .out = out};
    char hex[2 * TLO_ID_BYTES + 1];
    memset(out, 0, sizeof *out);
    /* Only the case's own entries (its case-open among them). */
    if (tlo_chain_walk_case(v->ch, id, 0, find_visit, &f, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    if (f.found == 0) {
        tlo_hex(hex, id, TLO_ID_BYTES);
        return tlo_fail(err, TLO_ENOTFOUND, "the ledger opens no case with the id %s", hex);
    }
    return 0;
}

int custody_case_key(tlo_custody *v, const tlo_custody_case *cs, const tlo_vault_identity *cust,
                     uint8_t **key_out, tlo_error *err)
{
    char hex[2 * TLO_ID_BYTES + 1], name[64];
    uint8_t wrapped[TLO_WRAPPED_KEY_BYTES + 1], digest[32];
    int rc = 0;
    *key_out = NULL;
    tlo_hex(hex, cs->id, TLO_ID_BYTES);
    snprintf(name, sizeof name, "cases/%s.key", hex);
    char *path = tlo_custody_path(v, name);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        /* Not there: destroyed, or an incomplete vault (the data's problem);
         * any other failure is the system's. */
        int e = path ? errno : ENOMEM;
        rc = tlo_fail(err, e == ENOENT ? TLO_EFORMAT : TLO_EIO,
                      "the key of case %s is not in the vault (%s: %s); it was destroyed or the "
                      "vault is incomplete",
                      cs->number, path ? path : "?", strerror(e));
        goto out;
    }
    long long n = tlo_pread_full(fd, wrapped, sizeof wrapped, 0);
    close(fd);
    if (n != TLO_WRAPPED_KEY_BYTES) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the wrapped key of case %s (%s) is damaged: %lld bytes, not %d", cs->number,
                      path, n, TLO_WRAPPED_KEY_BYTES);
        goto out;
    }
    crypto_hash_sha256(digest, wrapped, TLO_WRAPPED_KEY_BYTES);
    if (!cs->has_wrapped_digest || sodium_memcmp(digest, cs->wrapped_key_sha256, 32) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the wrapped key of case %s (%s) is not the one its case-open entry %llu "
                      "logged (wrapped_key_sha256): it was replaced; restore it from a backup",
                      cs->number, path, (unsigned long long)cs->opened_at);
        goto out;
    }
    uint8_t *key = tlo_vault_key_alloc();
    if (!key) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the key of case %s", cs->number);
        goto out;
    }
    if ((rc = tlo_vault_key_unwrap(key, wrapped, cust->box_pk, cust->box_sk, err)) != 0) {
        tlo_vault_key_free(key);
        goto out;
    }
    *key_out = key;
out:
    free(path);
    return rc;
}

typedef struct session_scan {
    const uint8_t *case_id;
    const char *session;
    tlo_custody_session *out;
} session_scan;

static int session_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                         tlo_error *err)
{
    session_scan *ss = ctx;
    char id[40];
    uint64_t ms;
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, ss->case_id, TLO_ID_BYTES) != 0 ||
        tlo_entry_str(e, "session", id, sizeof id) != 0 || strcmp(id, ss->session) != 0)
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        ss->out->found = true;
        memcpy(ss->out->recorder, e->actor, 32);
    } else if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        ss->out->ended = true;
    } else if (e->kind == TLO_ENTRY_SEGMENT) {
        ss->out->segments++;
        if (tlo_entry_u64(e, "end_ms", &ms) == 0 && ms > ss->out->end_ms)
            ss->out->end_ms = ms;
    }
    return 0;
}

int tlo_custody_session_info(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                             const char *session, tlo_custody_session *out, tlo_error *err)
{
    session_scan ss = {.case_id = case_id, .session = session, .out = out};
    memset(out, 0, sizeof *out);
    if (tlo_chain_walk_case(v->ch, case_id, 0, session_visit, &ss, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    return 0;
}
