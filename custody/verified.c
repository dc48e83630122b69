/* The custodian's verified state: what it has checked of the ledger, kept
 * between decisions so that each decision verifies only the entries appended
 * since (docs/ledger.md, "What the custodian decides on").
 *
 * custodian.state (0600) holds the state of chain/rules.h after the first N
 * entries, authenticated with a key only the custodian has:
 *
 *   offset  size  field
 *        0     4  magic "TLVS"
 *        4     4  version 1 (big-endian)
 *        8    32  leaf hash of the ledger's genesis entry (which vault)
 *       40    32  BLAKE2b-256 keyed MAC of bytes 0..40 and 72..end
 *       72     8  length L of the state (big-endian)
 *       80     L  the state (tlo_chain_state_save)
 *
 * The MAC key is BLAKE2b-256 of "tellonce/v1 verified-state key" keyed with
 * the first 32 bytes of the custodian's Ed25519 secret key (its seed). A file
 * that is missing, for another vault, or fails its MAC is not used: the
 * custodian then verifies the whole ledger again (and says nothing: the file
 * is a cache, never the authority). A ledger shorter than the state, or whose
 * entry N-1 is no longer the one verified, is refused: entries were removed
 * or replaced. */
#include "internal.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_FILE "custodian.state"
#define HEAD_BYTES 80
#define STATE_MAX (256u << 20)

static void mac_key(const tlo_vault_identity *cust, uint8_t key[static 32])
{
    static const char ctx[] = "tellonce/v1 verified-state key";
    crypto_generichash(key, 32, (const uint8_t *)ctx, sizeof ctx - 1, cust->sign_sk, 32);
}

static void mac(const uint8_t key[static 32], const uint8_t *file, size_t len,
                uint8_t out[static 32])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, key, 32, 32);
    crypto_generichash_update(&h, file, 40);
    crypto_generichash_update(&h, file + 72, len - 72);
    crypto_generichash_final(&h, out, 32);
}

static int genesis_leaf(tlo_custody *v, uint8_t leaf[static 32], tlo_error *err)
{
    tlo_entry e;
    uint8_t *buf = NULL;
    int rc = tlo_chain_get(v->ch, 0, &e, &buf, err);
    if (rc == 0)
        tlo_entry_leaf_hash(&e, leaf);
    free(buf);
    return rc;
}

/* The saved state if it is this vault's and authentic, else NULL. */
static tlo_chain_state *load(tlo_custody *v, const uint8_t key[static 32],
                             const uint8_t gen[static 32])
{
    char *path = tlo_custody_path(v, STATE_FILE);
    char *text = NULL;
    uint8_t *buf, want[32];
    size_t len = 0;
    tlo_chain_state *st = NULL;
    if (path && tlo_read_file(path, STATE_MAX, &text, &len, NULL) == 0 &&
        (buf = (uint8_t *)text) != NULL && len >= HEAD_BYTES && !memcmp(buf, "TLVS\0\0\0\1", 8) &&
        !memcmp(buf + 8, gen, 32)) {
        mac(key, buf, len, want);
        uint64_t n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | buf[72 + i];
        if (sodium_memcmp(want, buf + 40, 32) == 0 && n == len - HEAD_BYTES)
            st = tlo_chain_state_load(buf + HEAD_BYTES, (size_t)n, NULL);
    }
    free(text);
    free(path);
    return st;
}

/* Writes the state under a temporary name, fsyncs, renames it in place. */
static int save(tlo_custody *v, const tlo_chain_state *st, const uint8_t key[static 32],
                const uint8_t gen[static 32], tlo_error *err)
{
    uint8_t *sb = NULL;
    size_t sl = 0;
    int rc = tlo_chain_state_save(st, &sb, &sl, err);
    if (rc)
        return rc;
    size_t len = HEAD_BYTES + sl;
    uint8_t *file = malloc(len);
    char *path = tlo_custody_path(v, STATE_FILE), *tmp = tlo_custody_path(v, STATE_FILE ".XXXXXX");
    if (!file || !path || !tmp) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory saving the custodian's verified state");
        goto out;
    }
    memcpy(file, "TLVS\0\0\0\1", 8);
    memcpy(file + 8, gen, 32);
    for (int i = 0; i < 8; i++)
        file[72 + i] = (uint8_t)((uint64_t)sl >> (56 - 8 * i));
    memcpy(file + HEAD_BYTES, sb, sl);
    mac(key, file, len, file + 40);
    /* A name of its own: two processes may save at once (the last rename
     * wins, and either file is a valid state). mkstemp makes it 0600. */
    int fd = mkstemp(tmp);
    size_t done = 0;
    while (fd >= 0 && done < len) {
        ssize_t w = write(fd, file + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    bool written = fd >= 0 && done == len && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && written) {
        written = false;
        e = errno;
    }
    if (!written || rename(tmp, path) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(written ? errno : e));
        unlink(tmp);
        goto out;
    }
    int dfd = open(v->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    free(sb);
    free(file);
    free(path);
    free(tmp);
    return rc;
}

/* The newest checkpoint as an anchor: the ledger must not be shorter. */
static int newest_anchor(tlo_custody *v, tlo_chain_anchor *a, char *label, size_t cap,
                         tlo_error *err)
{
    char *path = tlo_custody_newest_checkpoint(v), *text = NULL;
    tlo_checkpoint cp;
    memset(a, 0, sizeof *a);
    if (!path)
        return 0;
    int rc = tlo_custody_checkpoint_read(v, path, &cp, &text, err);
    if (rc == 0) {
        a->size = cp.size;
        memcpy(a->root, cp.root, TLO_HASH_BYTES);
        snprintf(label, cap, "checkpoint %s", path);
        a->label = label;
    }
    free(text);
    free(path);
    return rc;
}

/* Saved when the handle closes, or after this many entries unsaved (a
 * process that runs for long, or dies, leaves a recent file). */
#define CUSTODY_STATE_SAVE_EVERY 100000

void custody_verified_close(tlo_custody *v)
{
    if (v->vstate && v->vstate_key && !v->readonly &&
        tlo_chain_state_size(v->vstate) != v->vstate_saved)
        save(v, v->vstate, v->vstate_key, v->vstate_key + 32, NULL);
    tlo_chain_state_free(v->vstate);
    v->vstate = NULL;
    if (v->vstate_key)
        sodium_free(v->vstate_key); /* wipes */
    v->vstate_key = NULL;
}

int custody_verified(tlo_custody *v, const tlo_vault_identity *cust, tlo_chain_state **out,
                     tlo_error *err)
{
    tlo_chain_report rep;
    tlo_chain_anchor anchor;
    char label[600];
    *out = NULL;
    int rc = 0;
    if (!v->vstate_key) {
        if (!(v->vstate_key = sodium_malloc(64)))
            return tlo_fail(err, TLO_ENOMEM, "out of secure memory for the verified state's key");
        if ((rc = genesis_leaf(v, v->vstate_key + 32, err)) != 0) {
            sodium_free(v->vstate_key);
            v->vstate_key = NULL;
            return rc;
        }
        mac_key(cust, v->vstate_key);
    }
    const uint8_t *key = v->vstate_key, *gen = v->vstate_key + 32;
    if ((rc = newest_anchor(v, &anchor, label, sizeof label, err)) != 0)
        return rc;
    /* The state this handle holds, else the saved one, else none. */
    tlo_chain_state *st = v->vstate;
    v->vstate = NULL;
    if (!st) {
        st = load(v, key, gen);
        v->vstate_saved = st ? tlo_chain_state_size(st) : 0;
    }
    uint64_t from = st ? tlo_chain_state_size(st) : 0;
    tlo_entry tail;
    uint8_t *lbuf = NULL;
    /* Entry from-1 is read by its key (O(log n)); counting rows would walk
     * them all. */
    int missing = from > 0 ? tlo_chain_get(v->ch, from - 1, &tail, &lbuf, NULL) : 0;
    uint8_t leaf[32], last[32];
    if (missing == 0 && from > 0) {
        tlo_entry_leaf_hash(&tail, leaf);
        tlo_chain_state_last_leaf(st, last);
    }
    free(lbuf);
    if (missing == TLO_ERANGE) {
        tlo_chain_state_free(st);
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger holds fewer entries than the %llu the custodian verified: "
                        "entries were removed or an older ledger.db was put back. No decision is "
                        "made; 'tellonce verify' names the damage",
                        (unsigned long long)from);
    }
    if (missing) {
        tlo_chain_state_free(st);
        return tlo_fail(err, missing, "cannot read entry %llu of the ledger",
                        (unsigned long long)(from - 1));
    }
    if (from > 0 && sodium_memcmp(leaf, last, 32) != 0) {
        /* The last entry verified must still be the one verified. */
        tlo_chain_state_free(st);
        return tlo_fail(err, TLO_EFORMAT,
                        "entry %llu is not the one the custodian verified: the ledger was "
                        "changed. No decision is made; 'tellonce verify' names the damage",
                        (unsigned long long)(from - 1));
    }
    if (!st && !(st = tlo_chain_state_new()))
        return tlo_fail(err, TLO_ENOMEM, "out of memory verifying the ledger");
    bool anchored = anchor.label && anchor.size > from;
    rc = tlo_chain_verify_state(v->ch, st, anchored ? &anchor : NULL, anchored ? 1 : 0, &rep, err);
    if (rc == 0 && !rep.ok)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the ledger does not verify, so the custodian decides nothing on it: %s. "
                      "'tellonce verify' shows the whole report",
                      rep.problem);
    if (rc) {
        tlo_chain_state_free(st);
        return rc;
    }
    /* The file is a cache: when it cannot be written (a full disk), the
     * decisions go on from the state in memory, and the next process
     * verifies from the older file. */
    if (!v->readonly && tlo_chain_state_size(st) >= v->vstate_saved + CUSTODY_STATE_SAVE_EVERY &&
        save(v, st, key, gen, NULL) == 0)
        v->vstate_saved = tlo_chain_state_size(st);
    v->vstate = st;
    *out = st;
    return 0;
}

int custody_walk_case(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                      tlo_chain_visit_fn fn, void *ctx, tlo_error *err)
{
    /* By the case index: O(the case's entries), not O(ledger). */
    return tlo_chain_walk_case(v->ch, case_id, 0, fn, ctx, err);
}
