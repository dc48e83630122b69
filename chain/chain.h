/* tellonce chain — the custody ledger.
 *
 * An append-only list of signed entries (chain/entry.h) kept in SQLite (WAL,
 * synchronous=FULL, one writer at a time), each linked to the one before by
 * its hash, all of them the leaves of an RFC 6962 Merkle tree whose compact
 * right edge is stored with them. An append returns only once its entries
 * are durable. Verification needs no secret: it rebuilds everything from the
 * entries and the public keys enrolled in them. docs/ledger.md describes it.
 *
 * Call tlo_vault_init() (or sodium_init()) before using this module. */
#ifndef TLO_CHAIN_H
#define TLO_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "tlo_common.h"

typedef struct tlo_chain tlo_chain;

/* Creates a new, empty ledger database at path (refuses an existing file). */
tlo_chain *tlo_chain_create(const char *path, tlo_error *err);

/* Opens an existing ledger. readonly opens it without write access (an
 * auditor's copy). Returns NULL with err filled on failure. */
tlo_chain *tlo_chain_open(const char *path, bool readonly, tlo_error *err);

/* Closes the database. NULL-safe. */
void tlo_chain_close(tlo_chain *c);

/* What a caller asks to append; the ledger fills seq, time, prev, actor, sig. */
typedef struct tlo_chain_draft {
    uint16_t kind;
    bool has_case;
    uint8_t case_id[TLO_CASE_ID_BYTES];
    const uint8_t *body; /* canonical, see tlo_entry_body_valid */
    size_t body_len;
} tlo_chain_draft;

/* The actor who signs: public key and secret key (64 bytes, secure memory,
 * owned by the caller). */
typedef struct tlo_chain_signer {
    uint8_t pk[32];
    const uint8_t *sk;
} tlo_chain_signer;

/* Appends n entries (n >= 1) signed by s, in one transaction: either all are
 * appended or none. Waits up to 30 s for another writer. Returns 0 only once
 * the entries are durable (committed with fsync); *first_seq (if not NULL) is
 * the sequence number of the first. The time of each entry is the current UTC
 * time in milliseconds, never earlier than the entry before it. */
int tlo_chain_append(tlo_chain *c, const tlo_chain_draft *drafts, size_t n,
                     const tlo_chain_signer *s, uint64_t *first_seq, tlo_error *err);

/* Number of entries. */
int tlo_chain_size(tlo_chain *c, uint64_t *size, tlo_error *err);

/* Reads entry seq: fills *e with its fields; e->body points into *buf, which
 * the caller frees with free(). Nothing is verified here. */
int tlo_chain_get(tlo_chain *c, uint64_t seq, tlo_entry *e, uint8_t **buf, tlo_error *err);

/* The Merkle root and size recorded with the newest entry (the stored compact
 * tree); tlo_chain_verify recomputes it from the entries. */
int tlo_chain_root(tlo_chain *c, uint64_t *size, uint8_t root[static TLO_HASH_BYTES],
                   tlo_error *err);

/* Walks the entries in order, calling fn for each (with its leaf hash), in
 * one read transaction. fn returns 0 to go on, anything else to stop (and
 * that value is returned). */
typedef int (*tlo_chain_visit_fn)(void *ctx, const tlo_entry *e,
                                  const uint8_t leaf[static TLO_HASH_BYTES], tlo_error *err);
int tlo_chain_walk(tlo_chain *c, uint64_t from, tlo_chain_visit_fn fn, void *ctx, tlo_error *err);

/* Walks the entries of one case (case_id), from seq `from` on, in seq order,
 * in one read transaction, through the entries_by_case index: the cost is
 * the case's entries, not the ledger's. Entries without a case are never
 * visited. Same callback contract as tlo_chain_walk.
 *
 * Nothing is verified here: a row is what the database holds (each field
 * checked for type and size, the leaf hash recomputed from it), not an entry
 * whose signature, link or signer anyone checked. A caller that decides on
 * what it reads verifies it first (tlo_chain_verify, or a verified state
 * kept up to a checkpoint) or knows the decision is only a lookup. */
int tlo_chain_walk_case(tlo_chain *c, const uint8_t case_id[static TLO_CASE_ID_BYTES],
                        uint64_t from, tlo_chain_visit_fn fn, void *ctx, tlo_error *err);

/* The same for the entries of one kind (any case or none), through the
 * entries_by_kind index (every ledger gets it on its first read-write open;
 * a read-only copy without it is scanned, with the same result). */
int tlo_chain_walk_kind(tlo_chain *c, uint16_t kind, uint64_t from, tlo_chain_visit_fn fn,
                        void *ctx, tlo_error *err);

/* The case-open entries whose body says case_number_mac=number (the keyed
 * hash of a case number, in hex: docs/vault-layout.md "Case numbers"), in
 * seq order, through the entries_by_case_number_mac index (an index on that
 * part of the body, O(matches)). Visitors compare the parsed body themselves: the index
 * only finds candidates. Not verified, as above. */
int tlo_chain_walk_case_number(tlo_chain *c, const char *number, tlo_chain_visit_fn fn, void *ctx,
                               tlo_error *err);

/* The same for the entries of any of nkinds kinds (1 to
 * TLO_CHAIN_WALK_KINDS_MAX), in seq order: the people of a ledger are
 * genesis, user-add and user-revoke, read in one walk. */
#define TLO_CHAIN_WALK_KINDS_MAX 8
int tlo_chain_walk_kinds(tlo_chain *c, const uint16_t *kinds, size_t nkinds, uint64_t from,
                         tlo_chain_visit_fn fn, void *ctx, tlo_error *err);

/* ---- the stored tree (chain/nodes.c) ------------------------------------- */

/* Every perfect subtree of the Merkle tree is stored (tree_nodes) as the
 * append that completes it commits; a ledger made before that gets them on
 * its first read-write open. These read them: O(log size) lookups, no walk.
 * Stored hashes are not trusted: a proof made from a bad node fails when it
 * is checked against the signed checkpoint root (as every user of a proof
 * must), and tlo_chain_verify_nodes finds the bad node. A read-only ledger
 * without stored nodes falls back to the leaves (O(size)). size is at most
 * the ledger's size (TLO_ERANGE otherwise). */
int tlo_chain_inclusion_proof(tlo_chain *c, uint64_t index, uint64_t size,
                              uint8_t proof[static 64][TLO_HASH_BYTES], size_t *proof_len,
                              tlo_error *err);
int tlo_chain_consistency_proof(tlo_chain *c, uint64_t size1, uint64_t size2,
                                uint8_t proof[static 64][TLO_HASH_BYTES], size_t *proof_len,
                                tlo_error *err);

/* The Merkle root of the first size entries, from stored nodes (popcount(size)
 * lookups). Compare it with a signed checkpoint before relying on it. */
int tlo_chain_root_at(tlo_chain *c, uint64_t size, uint8_t root[static TLO_HASH_BYTES],
                      tlo_error *err);

/* The compact tree (merkle.h) of the first size entries from stored nodes,
 * to extend an older tree head with the entries since (custody's
 * incremental checkpoint). Check its root against the checkpoint first. */
struct tlo_merkle_tree;
int tlo_chain_tree_at(tlo_chain *c, uint64_t size, struct tlo_merkle_tree *t, tlo_error *err);

/* The message the custodian countersigns in the genesis entry:
 * "tellonce/v1 genesis\n" || the body without its custodian.sig line. Returns
 * a malloc'd buffer (free it) or NULL when out of memory. */
uint8_t *tlo_chain_genesis_message(const uint8_t *body, size_t len, size_t *out_len);

/* ---- verification -------------------------------------------------------- */

/* What verification found. */
typedef struct tlo_chain_report {
    bool ok;
    uint64_t entries;                /* entries checked */
    uint64_t signatures;             /* signatures verified */
    uint8_t root[TLO_HASH_BYTES];    /* Merkle root recomputed from the entries */
    int64_t first_bad;               /* seq of the first bad entry, or -1 */
    char problem[TLO_ERROR_MSG_MAX]; /* what is wrong with it, for a person */
} tlo_chain_report;

/* Verifies, without any secret, every entry: sequence numbers from 0 without
 * gaps, canonical encoding, the link to the entry before, the signature
 * against the key enrolled (and not revoked) at that point, admin rights for
 * enrolments; then recomputes the Merkle root and compares it with the stored
 * tree. Returns 0 when the walk ran (report->ok says whether all holds), or a
 * negative code when the database could not be read at all. */
int tlo_chain_verify(tlo_chain *c, tlo_chain_report *report, tlo_error *err);

/* A tree head the ledger must match: from a checkpoint an auditor brings, or
 * the vault's newest one. The caller checks its signature first. */
typedef struct tlo_chain_anchor {
    uint64_t size;
    uint8_t root[TLO_HASH_BYTES];
    const char *label; /* named in the report: "checkpoint old.txt" */
} tlo_chain_anchor;

/* tlo_chain_verify, and also: for each anchor, the root of the first
 * anchor.size entries equals anchor.root (so a ledger rewritten or forked
 * since that checkpoint fails even if it is consistent in itself), and the
 * ledger is not shorter than any anchor (truncation). */
int tlo_chain_verify_anchored(tlo_chain *c, const tlo_chain_anchor *anchors, size_t nanchors,
                              tlo_chain_report *report, tlo_error *err);

/* Progress of a verification walk, for a front end to show: fn (if not
 * NULL) is called with ctx and the entries walked of the entries to walk
 * (the ledger's size when the walk began), from the walking thread, every
 * TLO_CHAIN_PROGRESS_STEP entries and once at the end of the walk; done never
 * goes back and never exceeds total. */
#define TLO_CHAIN_PROGRESS_STEP 1024
typedef struct tlo_chain_progress {
    void (*fn)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} tlo_chain_progress;

/* tlo_chain_verify_anchored, telling progress as it walks. */
int tlo_chain_verify_progress(tlo_chain *c, const tlo_chain_anchor *anchors, size_t nanchors,
                              tlo_chain_progress progress, tlo_chain_report *report,
                              tlo_error *err);

/* tlo_chain_verify_anchored from a state of an earlier verification
 * (chain/rules.h): walks only the entries from tlo_chain_state_size(st) on,
 * and leaves st at the last one when report->ok. When not ok, st is in no
 * defined state: free it. The custodian keeps st between decisions. */
typedef struct tlo_chain_state tlo_chain_state;
int tlo_chain_verify_state(tlo_chain *c, tlo_chain_state *st, const tlo_chain_anchor *anchors,
                           size_t nanchors, tlo_chain_report *report, tlo_error *err);

/* The leaf hashes of the first n entries, recomputed from the entries (not
 * read from the cache column), into a malloc'd array of n hashes. */
int tlo_chain_leaf_hashes(tlo_chain *c, uint64_t n, uint8_t (**out)[TLO_HASH_BYTES],
                          tlo_error *err);

/* Recomputes every stored node from the entries and compares: on a missing,
 * changed or extra node sets report->ok = false, first_bad and problem (when
 * report is ok on entry: it never hides an earlier finding). Returns 0 when
 * the check ran, or a negative code when the database could not be read. */
int tlo_chain_verify_nodes(tlo_chain *c, tlo_chain_report *report, tlo_error *err);

#endif
