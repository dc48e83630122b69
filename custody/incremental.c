/* An incremental verification for checkpoints: see custody_tree_since. A
 * whole-ledger verification costs ~40 ms per 1,000 entries (signatures), so
 * one per checkpoint does not last five years of a centre; this one costs
 * the entries since the newest checkpoint plus O(enrolments * log n). */
#include "incremental.h"
#include "merkle.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct key {
    uint8_t actor[32];
    uint8_t pk[32];
    unsigned roles;
    int64_t revoked_at;
} key;

typedef struct since {
    tlo_custody *v;
    tlo_chain_report *r;
    const char *cp_path;
    tlo_checkpoint cp;
    key *keys;
    size_t nkeys, cap;
    uint64_t expect;
    uint64_t last_time;
    uint8_t prev[32];
    tlo_merkle_tree tree;
} since;

static int bad(since *s, uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(since *s, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    s->r->ok = false;
    s->r->first_bad = (int64_t)seq;
    va_start(ap, fmt);
    vsnprintf(s->r->problem, sizeof s->r->problem, fmt, ap);
    va_end(ap);
    return 1;
}

static key *find_key(since *s, const uint8_t actor[static 32])
{
    for (size_t i = 0; i < s->nkeys; i++)
        if (memcmp(s->keys[i].actor, actor, 32) == 0)
            return &s->keys[i];
    return NULL;
}

static int enrol(since *s, const uint8_t pk[static 32], unsigned roles)
{
    uint8_t actor[32];
    crypto_hash_sha256(actor, pk, 32);
    if (find_key(s, actor))
        return 1;
    if (s->nkeys == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        key *k = realloc(s->keys, cap * sizeof *k);
        if (!k)
            return -1;
        s->keys = k;
        s->cap = cap;
    }
    key *k = &s->keys[s->nkeys++];
    memcpy(k->actor, actor, 32);
    memcpy(k->pk, pk, 32);
    k->roles = roles;
    k->revoked_at = -1;
    return 0;
}

/* The entry (by its recomputed leaf) is leaf seq of the checkpoint. */
static int proven(since *s, uint64_t seq, const uint8_t leaf[static 32], tlo_error *err)
{
    uint8_t proof[TLO_MERKLE_MAX_PROOF][32];
    size_t n;
    tlo_error why = {0};
    int rc = tlo_chain_inclusion_proof(tlo_custody_chain(s->v), seq, s->cp.size, proof, &n, err);
    if (rc)
        return rc;
    if (tlo_merkle_verify_inclusion(leaf, seq, s->cp.size, (const uint8_t(*)[32])proof, n,
                                    s->cp.root, &why) != 0)
        return bad(s, seq,
                   "entry %llu, or an entry beside it in the Merkle tree, is not the one %s "
                   "covers (%s): the ledger was changed since that checkpoint; run 'tellonce "
                   "verify --checkpoint %s'",
                   (unsigned long long)seq, s->cp_path, why.msg, s->cp_path);
    return 0;
}

/* Enrolments before the checkpoint, each proven to be in it. */
static int prefix_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    since *s = ctx;
    uint8_t pk[32];
    if (e->seq >= s->cp.size)
        return 2; /* done: the rest is checked entry by entry */
    int rc = proven(s, e->seq, leaf, err);
    if (rc)
        return rc;
    if (e->kind == TLO_ENTRY_GENESIS) {
        if (e->seq != 0 || tlo_entry_hex(e, "admin.pk", pk, 32) != 0 ||
            enrol(s, pk, TLO_ROLE_ADMIN) < 0 || tlo_entry_hex(e, "custodian.pk", pk, 32) != 0 ||
            enrol(s, pk, TLO_ROLE_CUSTODIAN) < 0)
            return bad(s, e->seq, "the genesis entry %llu does not name its keys",
                       (unsigned long long)e->seq);
    } else if (e->kind == TLO_ENTRY_USER_ADD) {
        char roles[200];
        unsigned mask;
        if (tlo_entry_hex(e, "pk", pk, 32) != 0 ||
            tlo_entry_str(e, "roles", roles, sizeof roles) != 0 ||
            tlo_roles_parse(roles, strlen(roles), &mask) != 0)
            return bad(s, e->seq, "entry %llu enrols a person without a valid key or roles",
                       (unsigned long long)e->seq);
        if (enrol(s, pk, mask) < 0)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the enrolments");
    } else if (e->kind == TLO_ENTRY_USER_REVOKE) {
        uint8_t actor[32];
        if (tlo_entry_hex(e, "pk", pk, 32) != 0)
            return bad(s, e->seq, "entry %llu does not name a public key",
                       (unsigned long long)e->seq);
        crypto_hash_sha256(actor, pk, 32);
        key *k = find_key(s, actor);
        if (k && k->revoked_at < 0)
            k->revoked_at = (int64_t)e->seq;
    }
    return 0;
}

/* One entry since the checkpoint, checked as chain/verify.c checks it. */
static int new_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    since *s = ctx;
    const char *why;
    uint8_t pk[32], box[32];
    (void)err;
    if (e->seq != s->expect)
        return bad(s, s->expect,
                   e->seq > s->expect
                       ? "entry %llu is missing: the next entry is %llu (entries were deleted)"
                       : "entry %llu appears out of order (got %llu)",
                   (unsigned long long)s->expect, (unsigned long long)e->seq);
    if (!tlo_entry_kind_name(e->kind))
        return bad(s, e->seq, "entry %llu has unknown kind %u", (unsigned long long)e->seq,
                   e->kind);
    if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        return bad(s, e->seq, "entry %llu has a body that is not canonical: %s",
                   (unsigned long long)e->seq, why);
    if (sodium_memcmp(e->prev, s->prev, 32) != 0)
        return bad(s, e->seq,
                   "entry %llu does not link to entry %llu: its previous-entry hash differs",
                   (unsigned long long)e->seq, (unsigned long long)(e->seq - 1));
    if (e->time_ms < s->last_time)
        return bad(s, e->seq, "entry %llu is dated before the entry preceding it",
                   (unsigned long long)e->seq);
    if (e->kind == TLO_ENTRY_GENESIS)
        return bad(s, e->seq, "entry %llu is a second genesis entry", (unsigned long long)e->seq);
    key *k = find_key(s, e->actor);
    if (!k)
        return bad(s, e->seq, "entry %llu is signed by a key that was never enrolled",
                   (unsigned long long)e->seq);
    if (k->revoked_at >= 0)
        return bad(s, e->seq, "entry %llu is signed by a key revoked at entry %lld",
                   (unsigned long long)e->seq, (long long)k->revoked_at);
    if (!tlo_entry_verify(e, k->pk))
        return bad(s, e->seq, "entry %llu has an invalid signature", (unsigned long long)e->seq);
    s->r->signatures++;
    if ((e->kind == TLO_ENTRY_GRANT || e->kind == TLO_ENTRY_GRANT_REVOKE ||
         e->kind == TLO_ENTRY_USER_ADD || e->kind == TLO_ENTRY_USER_REVOKE) &&
        !(k->roles & TLO_ROLE_ADMIN))
        return bad(s, e->seq,
                   "entry %llu grants, revokes or changes enrolment but its signer is not an "
                   "administrator",
                   (unsigned long long)e->seq);
    if (e->kind == TLO_ENTRY_USER_ADD || e->kind == TLO_ENTRY_USER_REVOKE) {
        if (tlo_entry_hex(e, "pk", pk, 32) != 0)
            return bad(s, e->seq, "entry %llu does not name a public key",
                       (unsigned long long)e->seq);
        if (e->kind == TLO_ENTRY_USER_ADD) {
            char roles[200];
            unsigned mask;
            if (tlo_entry_hex(e, "box_pk", box, 32) != 0 ||
                tlo_entry_str(e, "roles", roles, sizeof roles) != 0 ||
                tlo_roles_parse(roles, strlen(roles), &mask) != 0)
                return bad(s, e->seq, "entry %llu enrols a person without valid keys or roles",
                           (unsigned long long)e->seq);
            int rc = enrol(s, pk, mask);
            if (rc < 0)
                return -1;
            if (rc > 0)
                return bad(s, e->seq, "entry %llu enrols a key that is already enrolled",
                           (unsigned long long)e->seq);
        } else {
            uint8_t actor[32];
            crypto_hash_sha256(actor, pk, 32);
            key *victim = find_key(s, actor);
            if (!victim || victim->revoked_at >= 0)
                return bad(s, e->seq, "entry %llu revokes a key that is not enrolled",
                           (unsigned long long)e->seq);
            victim->revoked_at = (int64_t)e->seq;
        }
    }
    if (tlo_merkle_tree_append(&s->tree, leaf, NULL) != 0)
        return -1;
    memcpy(s->prev, leaf, 32);
    s->last_time = e->time_ms;
    s->expect++;
    s->r->entries = s->expect;
    return 0;
}

static int full(tlo_custody *v, tlo_chain_report *r, tlo_error *err)
{
    return tlo_chain_verify(tlo_custody_chain(v), r, err);
}

int custody_tree_since(tlo_custody *v, tlo_chain_report *r, tlo_error *err)
{
    tlo_chain *ch = tlo_custody_chain(v);
    since s = {.v = v, .r = r};
    char *text = NULL, *path = tlo_custody_newest_checkpoint(v);
    uint64_t tip;
    int rc;
    memset(r, 0, sizeof *r);
    r->ok = true;
    r->first_bad = -1;
    if (!path)
        return full(v, r, err);
    tlo_error e2 = {0};
    if (tlo_custody_checkpoint_read(v, path, &s.cp, &text, &e2) != 0 || s.cp.size == 0) {
        /* Unreadable or forged: rely on nothing, verify it all. */
        free(text);
        free(path);
        return full(v, r, err);
    }
    s.cp_path = path;
    if ((rc = tlo_chain_size(ch, &tip, err)) != 0)
        goto out;
    if (tip >= s.cp.size && tip - s.cp.size > s.cp.size) {
        /* More new than checkpointed (a first checkpoint in a long time):
         * the whole verification, on every core, is no slower. */
        free(text);
        free(path);
        return full(v, r, err);
    }
    if (tip < s.cp.size) {
        bad(&s, tip,
            "the ledger has %llu entries, but %s covers %llu: entries were removed from its end",
            (unsigned long long)tip, path, (unsigned long long)s.cp.size);
        goto out;
    }
    /* The stored tree of the checkpointed prefix is the one signed. */
    uint8_t root[32];
    if ((rc = tlo_chain_tree_at(ch, s.cp.size, &s.tree, err)) == TLO_EUNSUPPORTED) {
        free(text);
        free(path);
        return full(v, r, err);
    }
    if (rc)
        goto out;
    tlo_merkle_tree_root(&s.tree, root);
    if (sodium_memcmp(root, s.cp.root, 32) != 0) {
        bad(&s, 0,
            "the ledger's stored tree of its first %llu entries does not match %s: the ledger "
            "was rewritten or forked since, or its stored tree is damaged; run 'tellonce verify "
            "--checkpoint %s'",
            (unsigned long long)s.cp.size, path, path);
        goto out;
    }
    static const uint16_t kinds[] = {TLO_ENTRY_GENESIS, TLO_ENTRY_USER_ADD, TLO_ENTRY_USER_REVOKE};
    rc = tlo_chain_walk_kinds(ch, kinds, 3, 0, prefix_visit, &s, err);
    if (rc > 0)
        rc = 0; /* stopped: at the checkpoint, or at a finding in r */
    if (rc < 0 || !r->ok)
        goto out;
    /* The entry the first new one links to, itself in the checkpoint. */
    tlo_entry last;
    uint8_t *buf = NULL;
    if ((rc = tlo_chain_get(ch, s.cp.size - 1, &last, &buf, err)) != 0)
        goto out;
    tlo_entry_leaf_hash(&last, s.prev);
    s.last_time = last.time_ms;
    free(buf);
    if ((rc = proven(&s, s.cp.size - 1, s.prev, err)) != 0 || !r->ok) {
        rc = rc < 0 ? rc : 0;
        goto out;
    }
    s.expect = s.cp.size;
    r->entries = s.cp.size;
    rc = tlo_chain_walk(ch, s.cp.size, new_visit, &s, err);
    if (rc == -1)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory verifying the ledger");
    if (rc < 0)
        goto out;
    rc = 0;
    tlo_merkle_tree_root(&s.tree, r->root);
    if (!r->ok)
        goto out;
    /* The stored tree head, and the stored nodes along the new right edge,
     * agree with what the entries give. */
    uint64_t stored_size;
    uint8_t stored[32], from_nodes[32];
    if ((rc = tlo_chain_root(ch, &stored_size, stored, err)) != 0 ||
        (rc = tlo_chain_root_at(ch, s.expect, from_nodes, err)) != 0)
        goto out;
    if (stored_size != s.expect || sodium_memcmp(stored, r->root, 32) != 0 ||
        sodium_memcmp(from_nodes, r->root, 32) != 0)
        bad(&s, s.cp.size,
            "the stored Merkle tree (%llu entries) does not match the %llu entries: entries or "
            "stored nodes were added or changed outside tellonce; run 'tellonce verify'",
            (unsigned long long)stored_size, (unsigned long long)s.expect);
out:
    if (!r->ok && r->first_bad >= 0 && r->entries > (uint64_t)r->first_bad)
        r->entries = (uint64_t)r->first_bad;
    free(s.keys);
    free(text);
    free(path);
    return rc;
}
