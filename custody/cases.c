/* Cases and sessions as the ledger knows them, and the case keys.
 *
 * A case has an internal id (16 random bytes: file names and entries use it),
 * the case number police use (only in its sealed record; the case-open entry
 * logs a keyed hash of it, below, to find it by), a random case key kept
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

/* ---- the case number's keyed hash ----
 *
 * The ledger names a case by its internal id only. To find a case by the
 * number police use, the custodian computes
 *   lookup_key      = crypto_kdf_derive_from_key(32, 1, "tlo-case", S)
 *   case_number_mac = BLAKE2b-256(key = lookup_key, message = the number's bytes)
 * where S is the 32 bytes custodian.secret's 64 hex digits spell; the
 * case-open entry logs case_number_mac in hex. Without custodian.secret
 * nobody can test a guessed number (they follow a known format) against the
 * ledger. docs/vault-layout.md has it for other readers. */
int custody_case_number_mac(tlo_custody *v, const char *number, uint8_t mac[static 32],
                            tlo_error *err)
{
    char *path = tlo_custody_path(v, "custodian.secret");
    int rc = 0, fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    uint8_t *keys = NULL;
    char *line = NULL;
    size_t len = 0;
    memset(mac, 0, 32);
    if (fd < 0) {
        rc = tlo_fail(err, TLO_EDENIED,
                      "a case is found by its number only through the custodian, and its secret "
                      "%s cannot be read (%s): run this as the vault's owner, or name the case by "
                      "its internal id (32 hex digits, 'tellonce case list')",
                      path ? path : "custodian.secret", strerror(errno));
        goto out;
    }
    line = tlo_vault_secret_line(fd, &len);
    close(fd);
    if (!line || !(keys = sodium_malloc(64))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the custodian's secret");
        goto out;
    }
    if (len != 64 || tlo_unhex(keys, 32, line) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the custodian secret %s is not 64 hex digits; restore it from a backup",
                      path);
        goto out;
    }
    crypto_kdf_derive_from_key(keys + 32, 32, 1, "tlo-case", keys);
    crypto_generichash(mac, 32, (const unsigned char *)number, strlen(number), keys + 32, 32);
out:
    if (line)
        sodium_free(line); /* wipes */
    if (keys)
        sodium_free(keys);
    free(path);
    return rc;
}

typedef struct finder {
    const uint8_t *mac; /* by the keyed hash of its number, */
    const uint8_t *id;  /* or by internal id */
    tlo_custody_case *out;
    int found;
} finder;

static int find_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    finder *f = ctx;
    uint8_t mac[32];
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_CASE_OPEN || !e->has_case)
        return 0;
    if (f->id && memcmp(e->case_id, f->id, TLO_ID_BYTES) != 0)
        return 0;
    if (f->mac &&
        (tlo_entry_hex(e, "case_number_mac", mac, 32) != 0 || sodium_memcmp(mac, f->mac, 32) != 0))
        return 0;
    f->found++;
    memcpy(f->out->id, e->case_id, TLO_ID_BYTES);
    f->out->opened_at = e->seq;
    f->out->has_wrapped_digest =
        tlo_entry_hex(e, "wrapped_key_sha256", f->out->wrapped_key_sha256, 32) == 0;
    return 0;
}

static bool is_internal_id(const char *s, uint8_t id[TLO_ID_BYTES])
{
    return strlen(s) == 2 * TLO_ID_BYTES && strspn(s, "0123456789abcdef") == 2 * TLO_ID_BYTES &&
           tlo_unhex(id, TLO_ID_BYTES, s) == 0;
}

static int case_find(tlo_custody *v, const char *number, tlo_custody_case *out, tlo_error *err);

int tlo_custody_case_find(tlo_custody *v, const char *number, tlo_custody_case *out, tlo_error *err)
{
    /* the number as a case is opened with it: trimmed, NFC */
    char *n = custody_text_norm(number);
    int rc;
    memset(out, 0, sizeof *out);
    if (!n)
        return tlo_fail(err, TLO_ENOMEM, "out of memory looking for case %s", number);
    rc = case_find(v, n, out, err);
    free(n);
    return rc;
}

static int case_find(tlo_custody *v, const char *number, tlo_custody_case *out, tlo_error *err)
{
    uint8_t id[TLO_ID_BYTES], mac[32];
    /* 32 lowercase hex digits: the internal id, which needs no custodian (a
     * case number cannot have that form: tlo_custody_case_open_check). */
    if (is_internal_id(number, id)) {
        int rc = custody_case_by_id(v, id, out, err);
        if (rc == TLO_ENOTFOUND)
            return tlo_fail(err, TLO_ENOTFOUND,
                            "no case has the internal id %s in this vault; 'tellonce case list' "
                            "shows the cases",
                            number);
        return rc;
    }
    int rc = custody_case_number_mac(v, number, mac, err);
    if (rc)
        return rc;
    finder f = {.mac = mac, .out = out};
    char mac_hex[65];
    tlo_hex(mac_hex, mac, 32);
    /* The case-open entries with this keyed hash, by index: O(matches), not
     * O(ledger). */
    if (tlo_chain_walk_case_number(v->ch, mac_hex, find_visit, &f, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    if (f.found == 0)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "no case '%s' in this vault; 'tellonce case list --as NAME' shows the "
                        "cases with their numbers",
                        number);
    /* The number as the person gave it: the ledger does not hold it. */
    snprintf(out->number, sizeof out->number, "%s", number);
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
    tlo_hex(out->number, id, TLO_ID_BYTES); /* named by its internal id */
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
