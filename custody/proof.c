/* Proofs an outsider checks against the vault's checkpoints
 * (docs/ledger-formats.md): an inclusion proof that one entry is in a
 * checkpoint, carrying the entry itself, and a consistency proof that a later
 * checkpoint extends an earlier one. Making them needs the vault's ledger;
 * checking them needs only the custodian's verifier key and the files. */
#include "internal.h"
#include "merkle.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What a proof is made against: a checkpoint of the vault (path, or the
 * newest) and its note, checked to match the ledger's stored tree. The proofs
 * come from stored subtree hashes (chain/nodes.c), O(log n): a wrong stored
 * node makes a proof that fails against the checkpoint's signed root, which
 * is what whoever receives a proof checks (verify-proof). */
typedef struct against {
    char *newest; /* when path is the newest */
    const char *path;
    tlo_checkpoint cp;
    char *text;
} against;

static void against_free(against *a)
{
    free(a->newest);
    free(a->text);
    memset(a, 0, sizeof *a);
}

static int against_open(tlo_custody *v, const char *path, against *a, tlo_error *err)
{
    uint8_t root[TLO_HASH_BYTES];
    memset(a, 0, sizeof *a);
    a->path = path ? path : (a->newest = tlo_custody_newest_checkpoint(v));
    if (!a->path)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "the vault has no checkpoint yet: 'tellonce checkpoint' writes one");
    int rc = tlo_custody_checkpoint_read(v, a->path, &a->cp, &a->text, err);
    if (rc == 0)
        rc = tlo_chain_root_at(v->ch, a->cp.size, root, err);
    if (rc) {
        against_free(a);
        return rc;
    }
    if (sodium_memcmp(root, a->cp.root, TLO_HASH_BYTES) != 0) {
        rc = tlo_fail(err, TLO_EPROOF,
                      "the ledger does not match %s: the root of its first %llu entries differs; "
                      "run 'tellonce verify --checkpoint %s'",
                      a->path, (unsigned long long)a->cp.size, a->path);
        against_free(a);
    }
    return rc;
}

/* The entry travels in the proof's extra line, so an auditor sees what is
 * proven and recomputes its leaf hash. */
static int carry_entry(tlo_custody *v, uint64_t seq, tlo_proof_inclusion *p, tlo_error *err)
{
    tlo_entry e;
    uint8_t *buf = NULL, *enc = NULL;
    int rc = tlo_chain_get(v->ch, seq, &e, &buf, err);
    if (rc)
        return rc;
    enc = malloc(TLO_ENTRY_MAX_BYTES);
    size_t n = enc ? tlo_entry_encode(&e, enc, TLO_ENTRY_MAX_BYTES) : 0;
    if (!enc)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    else if (n == 0 || n > TLO_PROOF_EXTRA_MAX)
        rc = tlo_fail(err, TLO_EARG,
                      "entry %llu is %zu bytes, larger than a proof file carries (%d)",
                      (unsigned long long)seq, n, TLO_PROOF_EXTRA_MAX);
    if (rc == 0) {
        p->has_extra = true;
        p->extra_len = n;
        memcpy(p->extra, enc, n);
    }
    free(enc);
    free(buf);
    return rc;
}

int tlo_custody_prove_entry(tlo_custody *v, uint64_t seq, const char *checkpoint_path, char **out,
                            size_t *out_len, tlo_error *err)
{
    against a;
    *out = NULL;
    *out_len = 0;
    int rc = against_open(v, checkpoint_path, &a, err);
    if (rc)
        return rc;
    tlo_proof_inclusion *p = calloc(1, sizeof *p);
    if (!p)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    else if (seq >= a.cp.size)
        rc = tlo_fail(err, TLO_ENOTFOUND,
                      "entry %llu is not in %s, which covers entries 0 to %llu; write a newer "
                      "checkpoint",
                      (unsigned long long)seq, a.path, (unsigned long long)(a.cp.size - 1));
    else if ((rc = tlo_chain_inclusion_proof(v->ch, seq, a.cp.size, p->hashes, &p->nhashes, err)) ==
                 0 &&
             (rc = carry_entry(v, seq, p, err)) == 0) {
        p->index = seq;
        p->checkpoint = a.text;
        p->checkpoint_len = strlen(a.text);
        rc = tlo_proof_inclusion_format(p, out, out_len, err);
    }
    free(p);
    against_free(&a);
    return rc;
}

/* The consistency proof from old (a checkpoint of the vault) to a. */
static int consistency(tlo_custody *v, const against *a, const char *old_path,
                       const tlo_checkpoint *old, char **out, size_t *out_len, tlo_error *err)
{
    uint8_t root[TLO_HASH_BYTES];
    if (old->size > a->cp.size)
        return tlo_fail(err, TLO_EARG, "%s (%llu entries) is newer than %s (%llu)", old_path,
                        (unsigned long long)old->size, a->path, (unsigned long long)a->cp.size);
    int rc = tlo_chain_root_at(v->ch, old->size, root, err);
    if (rc)
        return rc;
    if (sodium_memcmp(root, old->root, TLO_HASH_BYTES) != 0)
        return tlo_fail(err, TLO_EPROOF,
                        "the ledger does not extend %s: the root of its first %llu entries "
                        "differs, so it was rewritten or forked since",
                        old_path, (unsigned long long)old->size);
    tlo_proof_consistency *p = calloc(1, sizeof *p);
    uint8_t(*proof)[TLO_HASH_BYTES] = calloc(TLO_MERKLE_MAX_PROOF, TLO_HASH_BYTES);
    if (!p || !proof)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    else if (old->size < a->cp.size)
        rc = tlo_chain_consistency_proof(v->ch, old->size, a->cp.size, proof, &p->nhashes, err);
    if (rc == 0) {
        memcpy(p->hashes, proof, p->nhashes * TLO_HASH_BYTES);
        p->old_size = old->size;
        p->checkpoint = a->text;
        p->checkpoint_len = strlen(a->text);
        rc = tlo_proof_consistency_format(p, out, out_len, err);
    }
    free(p);
    free(proof);
    return rc;
}

int tlo_custody_prove_consistency(tlo_custody *v, const char *old_path, const char *new_path,
                                  char **out, size_t *out_len, tlo_error *err)
{
    against a;
    tlo_checkpoint old;
    char *old_text = NULL;
    *out = NULL;
    *out_len = 0;
    int rc = against_open(v, new_path, &a, err);
    if (rc)
        return rc;
    if ((rc = tlo_custody_checkpoint_read(v, old_path, &old, &old_text, err)) == 0)
        rc = consistency(v, &a, old_path, &old, out, out_len, err);
    free(old_text);
    against_free(&a);
    return rc;
}

/* ---- checking, without the ledger ---------------------------------------- */

static int check_inclusion(const char *text, size_t len, const char *path,
                           const tlo_note_verifier *key, tlo_custody_proof_result *out,
                           tlo_error *err)
{
    tlo_proof_inclusion *p = calloc(1, sizeof *p);
    tlo_error why = {0};
    tlo_entry e;
    uint8_t leaf[TLO_HASH_BYTES];
    int rc;
    memset(&e, 0, sizeof e);
    if (!p)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if ((rc = tlo_proof_inclusion_open(text, len, key, 1, key->name, p, &out->cp, &why)) != 0)
        tlo_fail(err, rc, "%s: %s", path, why.msg);
    else if (!p->has_extra || tlo_entry_decode(p->extra, p->extra_len, &e, &why) != 0)
        rc = tlo_fail(err, TLO_EFORMAT, "%s does not carry a tellonce ledger entry%s%s", path,
                      why.msg[0] ? ": " : "", why.msg);
    else if (e.seq != p->index)
        rc = tlo_fail(err, TLO_EPROOF, "%s proves leaf %llu but carries entry %llu", path,
                      (unsigned long long)p->index, (unsigned long long)e.seq);
    else {
        tlo_entry_leaf_hash(&e, leaf);
        if (tlo_merkle_verify_inclusion(leaf, p->index, out->cp.size,
                                        (const uint8_t(*)[TLO_HASH_BYTES])p->hashes, p->nhashes,
                                        out->cp.root, &why) != 0)
            rc = tlo_fail(err, TLO_EPROOF,
                          "%s: entry %llu is NOT proven to be in the checkpoint: %s", path,
                          (unsigned long long)p->index, why.msg);
    }
    if (rc == 0) {
        out->seq = e.seq;
        out->entry_kind = e.kind;
        out->time_ms = e.time_ms;
        memcpy(out->actor, e.actor, 32);
    }
    free(p);
    return rc;
}

static int check_consistency(const char *text, size_t len, const char *path,
                             const tlo_note_verifier *key, const char *old_path,
                             tlo_custody_proof_result *out, tlo_error *err)
{
    tlo_proof_consistency *p = calloc(1, sizeof *p);
    tlo_error why = {0};
    tlo_checkpoint old;
    char *old_text = NULL;
    size_t old_len;
    int rc;
    if (!p)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if ((rc = tlo_proof_consistency_open(text, len, key, 1, key->name, p, &out->cp, &why)) != 0)
        tlo_fail(err, rc, "%s: %s", path, why.msg);
    else if ((rc = tlo_read_file(old_path, TLO_NOTE_MAX_BYTES, &old_text, &old_len, err)) != 0)
        ; /* err names the file */
    else if ((rc = tlo_checkpoint_open(old_text, old_len, key, 1, key->name, &old, &why)) != 0)
        tlo_fail(err, rc, "checkpoint %s: %s", old_path, why.msg);
    else if (old.size != p->old_size)
        rc = tlo_fail(err, TLO_EPROOF, "%s is a proof from %llu entries, but %s has %llu", path,
                      (unsigned long long)p->old_size, old_path, (unsigned long long)old.size);
    else if (tlo_merkle_verify_consistency(old.size, out->cp.size, old.root, out->cp.root,
                                           (const uint8_t(*)[TLO_HASH_BYTES])p->hashes, p->nhashes,
                                           &why) != 0)
        rc = tlo_fail(err, TLO_EPROOF, "%s: the ledger of %llu entries does NOT extend %s: %s",
                      path, (unsigned long long)out->cp.size, old_path, why.msg);
    if (rc == 0)
        out->old_size = old.size;
    free(old_text);
    free(p);
    return rc;
}

int tlo_custody_proof_check(const char *path, const tlo_note_verifier *key, const char *old_path,
                            tlo_custody_proof_result *out, tlo_error *err)
{
    static const char incl[] = TLO_PROOF_INCLUSION_HEADER "\n";
    static const char cons[] = TLO_PROOF_CONSISTENCY_HEADER "\n";
    char *text = NULL;
    size_t len;
    memset(out, 0, sizeof *out);
    int rc = tlo_read_file(path, TLO_PROOF_MAX_BYTES, &text, &len, err);
    if (rc)
        return rc;
    if (!strncmp(text, incl, sizeof incl - 1)) {
        out->inclusion = true;
        rc = check_inclusion(text, len, path, key, out, err);
    } else if (!strncmp(text, cons, sizeof cons - 1)) {
        if (!old_path)
            rc = tlo_fail(err, TLO_EARG,
                          "a consistency proof is checked against the older checkpoint you "
                          "kept: give it with --old FILE");
        else
            rc = check_consistency(text, len, path, key, old_path, out, err);
    } else {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "%s is not a proof tellonce writes (its first line is neither %s nor %s)",
                      path, TLO_PROOF_INCLUSION_HEADER, TLO_PROOF_CONSISTENCY_HEADER);
    }
    /* cp.extensions pointed into text. */
    out->cp.extensions = NULL;
    out->cp.extensions_len = 0;
    free(text);
    if (rc) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}
