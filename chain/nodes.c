/* The stored Merkle tree: every complete (perfect) subtree of level >= 1 in
 * tree_nodes(level, idx, hash), written in the transaction of the append
 * that completes it, so proofs and old roots cost O(log n) reads instead of
 * a walk of the whole ledger (docs/ledger.md, "The database").
 *
 *   level  the subtree has 2^level leaves, 1..63 (level 0: the entries)
 *   idx    it covers leaves [idx << level, (idx + 1) << level)
 *   hash   its RFC 6962 root, 32 bytes
 *
 * Stored hashes are not trusted for anything a verifier relies on: a proof
 * made from them is checked against a signed checkpoint root by whoever uses
 * it (a bad node makes that check fail), and tlo_chain_verify_nodes
 * recomputes every node from the entries and compares. Level 0 is always
 * recomputed from the entry, never read from the leaf_hash column. */
#include "chain.h"
#include "ledger_internal.h"
#include "merkle.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int table_exists(tlo_chain *c, bool *yes, tlo_error *err)
{
    sqlite3_stmt *st;
    *yes = false;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = "
                           "'tree_nodes'",
                           -1, &st, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "looking for the stored Merkle nodes");
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return chain_db_fail(c, err, "looking for the stored Merkle nodes");
    *yes = step == SQLITE_ROW;
    return 0;
}

int chain_nodes_probe(tlo_chain *c, tlo_error *err)
{
    return table_exists(c, &c->has_nodes, err);
}

int chain_nodes_prepare(tlo_chain *c, sqlite3_stmt **ins, tlo_error *err)
{
    *ins = NULL;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO tree_nodes VALUES (?, ?, ?)", -1, ins, NULL) !=
        SQLITE_OK)
        return chain_db_fail(c, err, "preparing to store Merkle nodes");
    return 0;
}

int chain_nodes_put(tlo_chain *c, sqlite3_stmt *ins, uint64_t size_after,
                    const uint8_t (*nodes)[TLO_HASH_BYTES], unsigned n, tlo_error *err)
{
    for (unsigned j = 0; j < n; j++) {
        unsigned level = j + 1;
        sqlite3_reset(ins);
        sqlite3_bind_int(ins, 1, (int)level);
        sqlite3_bind_int64(ins, 2, (sqlite3_int64)((size_after >> level) - 1));
        sqlite3_bind_blob(ins, 3, nodes[j], TLO_HASH_BYTES, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            return chain_db_fail(c, err, "storing a Merkle node");
    }
    return 0;
}

void chain_nodes_close(tlo_chain *c)
{
    sqlite3_finalize(c->get_node);
    sqlite3_finalize(c->get_entry);
    c->get_node = c->get_entry = NULL;
}

/* ---- building the nodes of an older ledger ------------------------------- */

typedef struct builder {
    tlo_chain *c;
    sqlite3_stmt *ins;
    tlo_merkle_tree tree;
    uint64_t expect;
} builder;

static int build_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                       tlo_error *err)
{
    builder *b = ctx;
    uint8_t nodes[TLO_MERKLE_EDGE_MAX][TLO_HASH_BYTES];
    unsigned n;
    if (e->seq != b->expect)
        return tlo_fail(err, TLO_EFORMAT,
                        "ledger %s: entry %" PRIu64 " is missing, so its Merkle nodes cannot be "
                        "stored; run 'tellonce verify' and restore the ledger from a backup",
                        b->c->path, b->expect);
    b->expect++;
    int rc = tlo_merkle_tree_append_nodes(&b->tree, leaf, nodes, &n, err);
    return rc ? rc
              : chain_nodes_put(b->c, b->ins, b->expect, (const uint8_t(*)[TLO_HASH_BYTES])nodes, n,
                                err);
}

/* A ledger made before tree_nodes existed gets it on its first read-write
 * open: one walk of every entry (measured ~15 s per million entries here),
 * in one transaction, so it is all there or not at all. A read-only open of
 * such a ledger works too: its proofs are made from the leaves (O(n)). */
int chain_nodes_ensure(tlo_chain *c, tlo_error *err)
{
    bool have;
    int rc = table_exists(c, &have, err);
    if (rc)
        return rc;
    if (have) {
        c->has_nodes = true;
        /* A ledger from before the case-number index (SQLite builds it from
         * the entries; nothing to do when it exists). */
        if (sqlite3_exec(c->db, CHAIN_CASE_NUMBER_INDEX, NULL, NULL, NULL) != SQLITE_OK)
            return chain_db_fail(c, err, "indexing the case numbers");
        return 0;
    }
    if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting to store the Merkle nodes");
    if ((rc = table_exists(c, &have, err)) != 0 || have) /* another process built it */
        goto done;
    if (sqlite3_exec(
            c->db,
            CHAIN_NODES_SCHEMA
            "CREATE INDEX IF NOT EXISTS entries_by_kind ON entries(kind);" CHAIN_CASE_NUMBER_INDEX,
            NULL, NULL, NULL) != SQLITE_OK) {
        rc = chain_db_fail(c, err, "creating the stored Merkle nodes");
        goto done;
    }
    builder b = {.c = c};
    tlo_merkle_tree_init(&b.tree);
    if ((rc = chain_nodes_prepare(c, &b.ins, err)) == 0) {
        /* tlo_chain_walk opens its own read transaction; we are in one. */
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(c->db, "SELECT " ENTRY_COLUMNS " FROM entries ORDER BY seq", -1, &st,
                               NULL) != SQLITE_OK)
            rc = chain_db_fail(c, err, "reading entries");
        else {
            int step;
            while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
                tlo_entry e;
                uint8_t *buf, leaf[TLO_HASH_BYTES];
                if ((rc = chain_row_to_entry(c, st, &e, &buf, err)) == 0) {
                    tlo_entry_leaf_hash(&e, leaf);
                    rc = build_visit(&b, &e, leaf, err);
                }
                free(buf);
            }
            if (rc == 0 && step != SQLITE_DONE)
                rc = chain_db_fail(c, err, "reading entries");
            sqlite3_finalize(st);
        }
        sqlite3_finalize(b.ins);
    }
done:
    if (rc == 0 && sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = chain_db_fail(c, err, "storing the Merkle nodes");
    if (rc) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        return tlo_fail(err, rc,
                        "ledger %s was made before tellonce stored its Merkle nodes, and they "
                        "could not be added: %s",
                        c->path, why);
    }
    c->has_nodes = true;
    return 0;
}

/* ---- reading nodes --------------------------------------------------------- */

static int leaf_of(tlo_chain *c, uint64_t seq, uint8_t out[TLO_HASH_BYTES], tlo_error *err)
{
    if (!c->get_entry &&
        sqlite3_prepare_v2(c->db, "SELECT " ENTRY_COLUMNS " FROM entries WHERE seq = ?", -1,
                           &c->get_entry, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "reading an entry");
    sqlite3_stmt *st = c->get_entry;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
    int rc, step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        tlo_entry e;
        uint8_t *buf;
        if ((rc = chain_row_to_entry(c, st, &e, &buf, err)) == 0)
            tlo_entry_leaf_hash(&e, out);
        free(buf);
    } else if (step == SQLITE_DONE) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "ledger %s has no entry %" PRIu64 "; run 'tellonce verify' and restore the "
                      "ledger from a backup",
                      c->path, seq);
    } else {
        rc = chain_db_fail(c, err, "reading an entry");
    }
    sqlite3_reset(st);
    return rc;
}

typedef struct node_src {
    tlo_chain *c;
    tlo_error *err;
} node_src;

static int get_node(void *ctx, unsigned level, uint64_t index, uint8_t out[TLO_HASH_BYTES])
{
    node_src *s = ctx;
    tlo_chain *c = s->c;
    if (level == 0)
        return leaf_of(c, index, out, s->err);
    if (!c->get_node &&
        sqlite3_prepare_v2(c->db, "SELECT hash FROM tree_nodes WHERE level = ? AND idx = ?", -1,
                           &c->get_node, NULL) != SQLITE_OK)
        return chain_db_fail(c, s->err, "reading a stored Merkle node");
    sqlite3_stmt *st = c->get_node;
    sqlite3_reset(st);
    sqlite3_bind_int(st, 1, (int)level);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)index);
    int rc = 0, step = sqlite3_step(st);
    if (step == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB &&
        sqlite3_column_bytes(st, 0) == TLO_HASH_BYTES)
        memcpy(out, sqlite3_column_blob(st, 0), TLO_HASH_BYTES);
    else if (step == SQLITE_ROW || step == SQLITE_DONE)
        rc = tlo_fail(s->err, TLO_EFORMAT,
                      "ledger %s: the stored Merkle node of level %u, index %" PRIu64
                      " is %s; run 'tellonce verify'",
                      c->path, level, index, step == SQLITE_DONE ? "missing" : "damaged");
    else
        rc = chain_db_fail(c, s->err, "reading a stored Merkle node");
    sqlite3_reset(st);
    return rc;
}

/* A read transaction around a few lookups, so they see one ledger; inside
 * a caller's transaction (a proof made from a walk's callback) that one. */
static int read_begin(tlo_chain *c, bool *began, tlo_error *err)
{
    *began = false;
    if (!sqlite3_get_autocommit(c->db))
        return 0;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting a read");
    *began = true;
    return 0;
}

static void read_end(tlo_chain *c, bool began)
{
    if (c->get_node)
        sqlite3_reset(c->get_node);
    if (c->get_entry)
        sqlite3_reset(c->get_entry);
    if (began)
        sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
}

/* The leaf fallback for a read-only ledger without stored nodes. */
typedef struct leaf_src {
    uint8_t (*h)[TLO_HASH_BYTES];
} leaf_src;

static int leaf_from_array(void *ctx, uint64_t index, uint8_t out[TLO_MERKLE_HASH_BYTES])
{
    leaf_src *l = ctx;
    memcpy(out, l->h[index], TLO_HASH_BYTES);
    return 0;
}

static int check_size(tlo_chain *c, uint64_t size, tlo_error *err)
{
    uint64_t have;
    int rc = tlo_chain_size(c, &have, err);
    if (rc == 0 && size > have)
        rc = tlo_fail(err, TLO_ERANGE,
                      "ledger %s has %" PRIu64 " entries, not %" PRIu64
                      "; the checkpoint is not of this ledger, or entries were removed",
                      c->path, have, size);
    return rc;
}

int tlo_chain_inclusion_proof(tlo_chain *c, uint64_t index, uint64_t size,
                              uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_HASH_BYTES],
                              size_t *proof_len, tlo_error *err)
{
    *proof_len = 0;
    int rc = check_size(c, size, err);
    if (rc)
        return rc;
    if (!c->has_nodes) {
        leaf_src l;
        if ((rc = tlo_chain_leaf_hashes(c, size, &l.h, err)) == 0)
            rc =
                tlo_merkle_inclusion_proof(leaf_from_array, &l, index, size, proof, proof_len, err);
        free(l.h);
        return rc;
    }
    bool began;
    if ((rc = read_begin(c, &began, err)) != 0)
        return rc;
    node_src s = {c, err};
    rc = tlo_merkle_inclusion_proof_nodes(get_node, &s, index, size, proof, proof_len, err);
    read_end(c, began);
    return rc;
}

int tlo_chain_consistency_proof(tlo_chain *c, uint64_t size1, uint64_t size2,
                                uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_HASH_BYTES],
                                size_t *proof_len, tlo_error *err)
{
    *proof_len = 0;
    int rc = check_size(c, size2, err);
    if (rc)
        return rc;
    if (!c->has_nodes) {
        leaf_src l;
        if ((rc = tlo_chain_leaf_hashes(c, size2, &l.h, err)) == 0)
            rc = tlo_merkle_consistency_proof(leaf_from_array, &l, size1, size2, proof, proof_len,
                                              err);
        free(l.h);
        return rc;
    }
    bool began;
    if ((rc = read_begin(c, &began, err)) != 0)
        return rc;
    node_src s = {c, err};
    rc = tlo_merkle_consistency_proof_nodes(get_node, &s, size1, size2, proof, proof_len, err);
    read_end(c, began);
    return rc;
}

int tlo_chain_root_at(tlo_chain *c, uint64_t size, uint8_t root[static TLO_HASH_BYTES],
                      tlo_error *err)
{
    memset(root, 0, TLO_HASH_BYTES);
    int rc = check_size(c, size, err);
    if (rc)
        return rc;
    if (!c->has_nodes) {
        leaf_src l;
        if (size == 0) {
            tlo_merkle_empty_root(root);
            return 0;
        }
        if ((rc = tlo_chain_leaf_hashes(c, size, &l.h, err)) == 0)
            tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])l.h, size);
        free(l.h);
        return rc;
    }
    bool began;
    if ((rc = read_begin(c, &began, err)) != 0)
        return rc;
    node_src s = {c, err};
    rc = tlo_merkle_root_nodes(get_node, &s, size, root, err);
    read_end(c, began);
    return rc;
}

int tlo_chain_tree_at(tlo_chain *c, uint64_t size, tlo_merkle_tree *t, tlo_error *err)
{
    tlo_merkle_tree_init(t);
    int rc = check_size(c, size, err);
    if (rc)
        return rc;
    if (!c->has_nodes)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "ledger %s has no stored Merkle nodes (it was made by an older "
                        "tellonce and opened read-only); open it read-write once to add them",
                        c->path);
    bool began;
    if ((rc = read_begin(c, &began, err)) != 0)
        return rc;
    node_src s = {c, err};
    rc = tlo_merkle_tree_from_nodes(t, size, get_node, &s, err);
    read_end(c, began);
    return rc;
}

/* ---- verifying the stored nodes ------------------------------------------ */

/* One cursor per level over the stored nodes in idx order: an append
 * completes the nodes of each level in idx order, so recomputing the tree
 * from the entries meets the rows of each level one after the other. */
typedef struct checker {
    tlo_chain *c;
    tlo_chain_report *r;
    tlo_merkle_tree tree;
    sqlite3_stmt *cur[TLO_MERKLE_EDGE_MAX];
    uint64_t expect;
    int failed;
} checker;

static int node_bad(checker *k, uint64_t seq, unsigned level, uint64_t idx, const char *what)
{
    k->r->ok = false;
    if (k->r->first_bad < 0 || (uint64_t)k->r->first_bad > seq)
        k->r->first_bad = (int64_t)seq;
    snprintf(k->r->problem, sizeof k->r->problem,
             "ledger %s: the stored Merkle node of level %u, index %" PRIu64 " (entries %" PRIu64
             " to %" PRIu64 ") %s; proofs made from it would fail; the "
             "entries themselves are intact (restore the database from a backup, or ask for "
             "support to rebuild the nodes)",
             k->c->path, level, idx, idx << level, ((idx + 1) << level) - 1, what);
    k->failed = 1;
    return 1;
}

static int check_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                       tlo_error *err)
{
    checker *k = ctx;
    uint8_t nodes[TLO_MERKLE_EDGE_MAX][TLO_HASH_BYTES];
    unsigned n;
    if (e->seq != k->expect)
        return 1; /* tlo_chain_verify reports the gap */
    k->expect++;
    if (tlo_merkle_tree_append_nodes(&k->tree, leaf, nodes, &n, err) != 0)
        return 1;
    for (unsigned j = 0; j < n; j++) {
        unsigned level = j + 1;
        uint64_t idx = (k->expect >> level) - 1;
        sqlite3_stmt *st = k->cur[level];
        if (!st) {
            if (sqlite3_prepare_v2(k->c->db,
                                   "SELECT idx, hash FROM tree_nodes WHERE level = ? ORDER BY idx",
                                   -1, &k->cur[level], NULL) != SQLITE_OK)
                return chain_db_fail(k->c, err, "reading the stored Merkle nodes");
            st = k->cur[level];
            sqlite3_bind_int(st, 1, (int)level);
        }
        int step = sqlite3_step(st);
        if (step != SQLITE_ROW && step != SQLITE_DONE)
            return chain_db_fail(k->c, err, "reading the stored Merkle nodes");
        if (step == SQLITE_DONE)
            return node_bad(k, e->seq, level, idx, "is missing");
        if (sqlite3_column_int64(st, 0) != (sqlite3_int64)idx)
            return node_bad(k, e->seq, level, idx,
                            (uint64_t)sqlite3_column_int64(st, 0) > idx
                                ? "is missing"
                                : "is preceded by a node that does not exist in the tree");
        if (sqlite3_column_type(st, 1) != SQLITE_BLOB ||
            sqlite3_column_bytes(st, 1) != TLO_HASH_BYTES ||
            memcmp(sqlite3_column_blob(st, 1), nodes[j], TLO_HASH_BYTES) != 0)
            return node_bad(k, e->seq, level, idx,
                            "differs from the one recomputed from the entries");
    }
    return 0;
}

int tlo_chain_verify_nodes(tlo_chain *c, tlo_chain_report *report, tlo_error *err)
{
    if (!c->has_nodes || !report->ok)
        return 0; /* an older ledger read-only: nothing stored, nothing to trust */
    checker k = {.c = c, .r = report};
    tlo_merkle_tree_init(&k.tree);
    int rc = 0;
    if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return chain_db_fail(c, err, "starting a read");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT " ENTRY_COLUMNS " FROM entries ORDER BY seq", -1, &st,
                           NULL) != SQLITE_OK)
        rc = chain_db_fail(c, err, "reading entries");
    int step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        tlo_entry e;
        uint8_t *buf, leaf[TLO_HASH_BYTES];
        if ((rc = chain_row_to_entry(c, st, &e, &buf, err)) == 0) {
            tlo_entry_leaf_hash(&e, leaf);
            rc = check_visit(&k, &e, leaf, err);
        }
        free(buf);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = chain_db_fail(c, err, "reading entries");
    if (rc == 1)
        rc = 0; /* stopped: either node_bad filled the report or verify reports it */
    /* No row beyond the tree: a node of a subtree not complete yet, or of a
     * level no subtree has reached, is as wrong as a changed one. */
    if (rc == 0 && !k.failed) {
        sqlite3_stmt *cnt;
        uint64_t want = 0;
        for (unsigned l = 1; l < 64; l++)
            want += k.expect >> l;
        if (sqlite3_prepare_v2(c->db, "SELECT count(*) FROM tree_nodes", -1, &cnt, NULL) !=
                SQLITE_OK ||
            sqlite3_step(cnt) != SQLITE_ROW)
            rc = chain_db_fail(c, err, "counting the stored Merkle nodes");
        else if ((uint64_t)sqlite3_column_int64(cnt, 0) != want) {
            report->ok = false;
            if (report->first_bad < 0)
                report->first_bad = (int64_t)k.expect;
            snprintf(report->problem, sizeof report->problem,
                     "ledger %s stores %lld Merkle nodes, but a tree of %" PRIu64
                     " entries has %" PRIu64 ": nodes were added outside tellonce; proofs made "
                     "from them could fail (restore the database from a backup)",
                     c->path, (long long)sqlite3_column_int64(cnt, 0), k.expect, want);
        }
        sqlite3_finalize(cnt);
    }
    for (unsigned l = 0; l < TLO_MERKLE_EDGE_MAX; l++)
        sqlite3_finalize(k.cur[l]);
    sqlite3_finalize(st);
    sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}
