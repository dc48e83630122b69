/* Creating a vault: the directory, the custodian, the first administrator
 * and the ledger, bound together by a genesis entry that both sign.
 *
 * The genesis body (keys sorted, as every entry body):
 *   admin.box_pk=HEX64  admin.name=NAME  admin.pk=HEX64
 *   custodian.box_pk=HEX64  custodian.pk=HEX64
 *   custodian.sig=HEX128   the custodian's Ed25519 signature over
 *                          tlo_chain_genesis_message(the body without it)
 *   origin=ORIGIN
 * and the entry itself is signed by the administrator. */
#include "internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files of a vault being made, so that a failure can take them back. */
typedef struct making {
    char *ledger, *cust_id, *cust_secret, *people, *admin;
} making;

static void making_free(making *m)
{
    free(m->ledger);
    free(m->cust_id);
    free(m->cust_secret);
    free(m->people);
    free(m->admin);
}

/* Leaves no half-made vault behind. */
static void undo(const making *m)
{
    unlink(m->ledger);
    for (const char *suffix = "-wal"; suffix; suffix = suffix[1] == 'w' ? "-shm" : NULL) {
        char extra[4200];
        snprintf(extra, sizeof extra, "%s%s", m->ledger, suffix);
        unlink(extra);
    }
    if (m->admin)
        unlink(m->admin);
    unlink(m->cust_id);
    unlink(m->cust_secret);
}

static int mkdir_private(const char *path, tlo_error *err)
{
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return tlo_fail(err, TLO_EIO, "cannot create the directory %s: %s", path, strerror(errno));
    return 0;
}

static int init_check(const char *dir, const tlo_custody_init_params *p, tlo_error *err);
static int init_vault(const char *dir, const tlo_custody_init_params *p,
                      tlo_custody_init_result *out, tlo_error *err);

/* p with the administrator's name as people are enrolled (trimmed, NFC, 1
 * to TLO_CUSTODY_NAME_CHARS characters: custody/people.c); *name to free. */
static int norm_admin(const tlo_custody_init_params *p, tlo_custody_init_params *q, char **name,
                      tlo_error *err)
{
    *q = *p;
    *name = p->admin_name ? custody_text_norm(p->admin_name) : NULL;
    if (p->admin_name && !*name)
        return tlo_fail(err, TLO_ENOMEM, "out of memory creating a vault");
    size_t chars = *name ? custody_text_chars(*name) : 0;
    if (*name && (chars == 0 || chars > TLO_CUSTODY_NAME_CHARS)) {
        int rc = tlo_fail(err, TLO_EARG, "a person's name is 1 to %d characters; '%s' has %zu",
                          TLO_CUSTODY_NAME_CHARS, *name, chars);
        free(*name);
        *name = NULL;
        return rc;
    }
    q->admin_name = *name;
    return 0;
}

int tlo_custody_init_check(const char *dir, const tlo_custody_init_params *p, tlo_error *err)
{
    tlo_custody_init_params q;
    char *name;
    int rc = norm_admin(p, &q, &name, err);
    if (rc == 0)
        rc = init_check(dir, &q, err);
    free(name);
    return rc;
}

int tlo_custody_init(const char *dir, const tlo_custody_init_params *p,
                     tlo_custody_init_result *out, tlo_error *err)
{
    tlo_custody_init_params q;
    char *name;
    memset(out, 0, sizeof *out);
    int rc = norm_admin(p, &q, &name, err);
    if (rc == 0)
        rc = init_vault(dir, &q, out, err);
    free(name);
    return rc;
}

static int init_check(const char *dir, const tlo_custody_init_params *p, tlo_error *err)
{
    const char *o = p->origin;
    struct stat st;
    if (o && (!*o || strpbrk(o, " +\n\t")))
        return tlo_fail(err, TLO_EARG, "--origin must be non-empty without spaces or '+'");
    char *ledger = tlo_path_join(dir, "ledger.db"), *cust = tlo_path_join(dir, "custodian.id");
    bool exists = !ledger || !cust || stat(ledger, &st) == 0 || stat(cust, &st) == 0;
    free(ledger);
    free(cust);
    if (exists)
        return tlo_fail(err, TLO_EARG, "%s is already a tellonce vault; nothing was changed", dir);
    tlo_vault_identity *id = tlo_vault_identity_generate(p->admin_name, err);
    if (!id)
        return err && err->code ? err->code : TLO_EARG;
    tlo_vault_identity_free(id);
    return 0;
}

/* The custodian's identity, locked with a random secret kept beside it,
 * readable only by the vault's owner. *wrote: whether anything was written
 * (a custodian.secret already there is not ours to remove). */
static int save_custodian(const making *m, const tlo_vault_identity *cust, bool *wrote,
                          tlo_error *err)
{
    uint8_t raw[32];
    char *secret = sodium_malloc(65);
    int rc;
    if (!secret)
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for the custodian's secret");
    randombytes_buf(raw, sizeof raw);
    tlo_hex(secret, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    rc = tlo_write_new_file(m->cust_secret, secret, 64, 0600, err);
    *wrote = rc == 0;
    if (rc == 0)
        rc = tlo_vault_identity_save(cust, m->cust_id, secret, 64, TLO_KDF_INTERACTIVE, err);
    sodium_free(secret);
    return rc;
}

/* The genesis body: with the custodian's signature over it when sig_hex. */
static int genesis_body(char *body, size_t cap, const tlo_vault_identity *admin,
                        const tlo_vault_identity *cust, const char *origin, const char *sig_hex)
{
    char a_box[65], a_pk[65], c_box[65], c_pk[65], sig_line[160] = "";
    tlo_hex(a_box, admin->box_pk, 32);
    tlo_hex(a_pk, admin->sign_pk, 32);
    tlo_hex(c_box, cust->box_pk, 32);
    tlo_hex(c_pk, cust->sign_pk, 32);
    if (sig_hex)
        snprintf(sig_line, sizeof sig_line, "custodian.sig=%s\n", sig_hex);
    return snprintf(body, cap,
                    "admin.box_pk=%s\nadmin.name=%s\nadmin.pk=%s\ncustodian.box_pk=%s\n"
                    "custodian.pk=%s\n%sorigin=%s\n",
                    a_box, admin->name, a_pk, c_box, c_pk, sig_line, origin);
}

/* Creates the ledger with its genesis entry. */
static int write_genesis(const making *m, const tlo_vault_identity *admin,
                         const tlo_vault_identity *cust, const char *origin, tlo_error *err)
{
    char body[2048], sig_hex[129];
    uint8_t sig[64];
    size_t mlen;
    int n = genesis_body(body, sizeof body, admin, cust, origin, NULL);
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, (size_t)n, &mlen);
    if (!msg)
        return tlo_fail(err, TLO_ENOMEM, "out of memory making the genesis entry");
    crypto_sign_detached(sig, NULL, msg, mlen, cust->sign_sk);
    free(msg);
    tlo_hex(sig_hex, sig, sizeof sig);
    n = genesis_body(body, sizeof body, admin, cust, origin, sig_hex);
    tlo_chain *chain = tlo_chain_create(m->ledger, err);
    if (!chain)
        return err && err->code ? err->code : TLO_EIO;
    tlo_chain_draft d = {.kind = TLO_ENTRY_GENESIS, .body = (uint8_t *)body, .body_len = (size_t)n};
    tlo_chain_signer s = {.sk = admin->sign_sk};
    memcpy(s.pk, admin->sign_pk, 32);
    int rc = tlo_chain_append(chain, &d, 1, &s, NULL, err);
    tlo_chain_close(chain);
    return rc;
}

static void choose_origin(char *origin, size_t cap, const char *given)
{
    if (given) {
        snprintf(origin, cap, "%s", given);
    } else {
        uint8_t id[8];
        char hex[17];
        randombytes_buf(id, sizeof id);
        tlo_hex(hex, id, sizeof id);
        snprintf(origin, cap, "tellonce/vault/%s", hex);
    }
}

static int init_vault(const char *dir, const tlo_custody_init_params *p,
                      tlo_custody_init_result *out, tlo_error *err)
{
    making m = {tlo_path_join(dir, "ledger.db"), tlo_path_join(dir, "custodian.id"),
                tlo_path_join(dir, "custodian.secret"), tlo_path_join(dir, "people"), NULL};
    tlo_vault_identity *admin = NULL, *cust = NULL;
    char kid[2 * TLO_KEYID_BYTES + 1], file[64];
    int rc;

    memset(out, 0, sizeof *out);
    if (!m.ledger || !m.cust_id || !m.cust_secret || !m.people) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory creating the vault %s", dir);
        goto out;
    }
    if ((rc = init_check(dir, p, err)) != 0 ||
        (rc = tlo_custody_passphrase_check(p->admin_name, p->passphrase, p->passphrase_len, err)) !=
            0)
        goto out;
    rc = TLO_EARG;
    if (!(admin = tlo_vault_identity_generate(p->admin_name, err)) ||
        !(cust = tlo_vault_identity_generate("custodian", err))) {
        rc = err && err->code ? err->code : TLO_EARG;
        goto out;
    }
    /* Nothing is written before this point. */
    if ((rc = mkdir_private(dir, err)) != 0 || (rc = mkdir_private(m.people, err)) != 0)
        goto out;
    bool wrote;
    if ((rc = save_custodian(&m, cust, &wrote, err)) != 0) {
        if (wrote)
            undo(&m);
        goto out;
    }
    tlo_vault_identity_key_id(kid, admin);
    snprintf(file, sizeof file, "%s.id", kid);
    if (!(m.admin = tlo_path_join(m.people, file))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory creating the vault %s", dir);
        goto undo;
    }
    if ((rc = tlo_vault_identity_save(admin, m.admin, p->passphrase, p->passphrase_len, p->kdf,
                                      err)) != 0)
        goto undo;
    choose_origin(out->origin, sizeof out->origin, p->origin);
    if ((rc = write_genesis(&m, admin, cust, out->origin, err)) != 0)
        goto undo;
    /* SQLite made ledger.db with 0644 less the umask, and gives -wal and -shm
     * the database's mode: the ledger is the vault owner's alone too. */
    if (chmod(m.ledger, 0600) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot make %s private (mode 0600): %s", m.ledger,
                      strerror(errno));
        goto undo;
    }
    snprintf(out->admin_name, sizeof out->admin_name, "%s", admin->name);
    memcpy(out->admin_key_id, kid, sizeof kid);
    goto out;
undo:
    undo(&m);
    memset(out, 0, sizeof *out);
out:
    tlo_vault_identity_free(admin);
    tlo_vault_identity_free(cust);
    making_free(&m);
    return rc;
}
