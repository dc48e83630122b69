/* tellonce chain — the Merkle tree of the custody ledger (RFC 6962 / RFC 9162 §2.1).
 *
 *   leaf hash  = SHA-256(0x00 || leaf)
 *   node hash  = SHA-256(0x01 || left || right)
 *   MTH({})    = SHA-256("")
 *   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
 *
 * Chain-internal: the ledger keeps a compact tree (tlo_merkle_tree) next to its
 * entries, and proofs are made and checked here. Sizes go up to 2^63 leaves (so
 * they fit SQLite's signed 64-bit integers); no proof has more than 64 hashes.
 *
 * Every function that can fail returns 0 or a negative TLO_E* code and fills
 * err (when not NULL) with a sentence for a person; outputs are set to safe
 * values on entry and filled only on success. Nothing here allocates.
 * Hashing uses libsodium and libgcrypt; call tlo_vault_init() (or sodium_init()
 * and gcry_check_version()) once before, as for any use of those libraries. */
#ifndef TLO_MERKLE_H
#define TLO_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_MERKLE_HASH_BYTES 32
#define TLO_MERKLE_MAX_SIZE (UINT64_C(1) << 63) /* largest tree size, in leaves */
#define TLO_MERKLE_MAX_PROOF 64                 /* most hashes in any proof */
#define TLO_MERKLE_EDGE_MAX 64                  /* room for the right edge (63 suffice) */

/* A proof that is well formed but does not lead to the root it must lead to:
 * the entry, the proof or a checkpoint was altered, or they belong to
 * different logs. It is the shared TLO_EPROOF under a name that says where it
 * comes from. */
#define TLO_MERKLE_EMISMATCH TLO_EPROOF

/* ---- hashes ------------------------------------------------------------ */

/* SHA-256(0x00 || leaf[0..len)). leaf may be NULL when len is 0. */
void tlo_merkle_leaf_hash(uint8_t out[static TLO_MERKLE_HASH_BYTES], const uint8_t *leaf,
                          size_t len);

/* SHA-256(0x01 || left || right). out may alias left or right. */
void tlo_merkle_node_hash(uint8_t out[static TLO_MERKLE_HASH_BYTES],
                          const uint8_t left[static TLO_MERKLE_HASH_BYTES],
                          const uint8_t right[static TLO_MERKLE_HASH_BYTES]);

/* MTH of the empty tree: SHA-256(""). */
void tlo_merkle_empty_root(uint8_t out[static TLO_MERKLE_HASH_BYTES]);

/* MTH of n leaf hashes held in memory, computed by the recursive definition
 * above (n - 1 node hashes). leaf_hashes may be NULL when n is 0. */
void tlo_merkle_root_of_leaves(uint8_t out[static TLO_MERKLE_HASH_BYTES],
                               const uint8_t (*leaf_hashes)[TLO_MERKLE_HASH_BYTES], size_t n);

/* ---- the compact tree: the right edge --------------------------------- */

/* The roots of the perfect subtrees that make up a tree of `size` leaves, one
 * per set bit of size, largest (leftmost) first — what transparency-dev's
 * compact.Range holds for the range [0, size). Appending costs at most 63 node
 * hashes (amortized 1), computing the root popcount(size) - 1; neither needs
 * the leaves. The caller owns the struct (2 KiB; no heap); treat the fields
 * as private. */
typedef struct tlo_merkle_tree {
    uint64_t size;
    uint8_t edge[TLO_MERKLE_EDGE_MAX][TLO_MERKLE_HASH_BYTES];
} tlo_merkle_tree;

/* The empty tree. */
void tlo_merkle_tree_init(tlo_merkle_tree *t);

/* Appends one leaf by its leaf hash (tlo_merkle_leaf_hash of the entry).
 * Returns 0, or TLO_ERANGE when the tree already holds TLO_MERKLE_MAX_SIZE
 * leaves (the tree is then unchanged). */
int tlo_merkle_tree_append(tlo_merkle_tree *t,
                           const uint8_t leaf_hash[static TLO_MERKLE_HASH_BYTES], tlo_error *err);

/* tlo_merkle_tree_append, also giving the perfect subtrees the leaf
 * completes: nodes[j] (room for 63) is the root of level j + 1 (2^(j+1)
 * leaves) ending at this leaf, i.e. index ((size after) >> (j + 1)) - 1 of
 * that level; *nnodes of them (the trailing one bits of the old size). */
int tlo_merkle_tree_append_nodes(tlo_merkle_tree *t,
                                 const uint8_t leaf_hash[static TLO_MERKLE_HASH_BYTES],
                                 uint8_t (*nodes)[TLO_MERKLE_HASH_BYTES], unsigned *nnodes,
                                 tlo_error *err);

/* MTH of the leaves appended so far (the empty root for none). */
void tlo_merkle_tree_root(const tlo_merkle_tree *t, uint8_t out[static TLO_MERKLE_HASH_BYTES]);

/* The number of leaves appended so far. */
uint64_t tlo_merkle_tree_size(const tlo_merkle_tree *t);

/* Serialized state, so a ledger can store the tree and resume appending:
 *
 *   offset  bytes   field
 *   0       4       magic "TLMT"
 *   4       1       version, 1
 *   5       3       zero
 *   8       8       size, big-endian, at most 2^63
 *   16      32 * k  the k = popcount(size) subtree roots, largest first
 *
 * The state carries no integrity check of its own: it is only as good as the
 * storage it comes from. After restoring, compare the root with the newest
 * signed checkpoint (verify recomputes everything from the entries anyway). */
#define TLO_MERKLE_STATE_HEADER_BYTES 16
#define TLO_MERKLE_STATE_MAX_BYTES (TLO_MERKLE_STATE_HEADER_BYTES + 63 * TLO_MERKLE_HASH_BYTES)

/* Bytes tlo_merkle_tree_serialize writes for t. */
size_t tlo_merkle_tree_serialized_len(const tlo_merkle_tree *t);

/* Writes the state of t to out (cap bytes) and its length to *out_len.
 * Returns 0 or TLO_ERANGE when cap is too small (*out_len is then 0). */
int tlo_merkle_tree_serialize(const tlo_merkle_tree *t, uint8_t *out, size_t cap, size_t *out_len,
                              tlo_error *err);

/* Restores t from len bytes of serialized state. On failure t is the empty
 * tree and the code says why: TLO_ETRUNCATED (shorter than its size needs),
 * TLO_EFORMAT (not a tree state, nonzero padding, size above 2^63, or bytes
 * after the last hash), TLO_EUNSUPPORTED (another version). */
int tlo_merkle_tree_deserialize(tlo_merkle_tree *t, const uint8_t *in, size_t len, tlo_error *err);

/* ---- making proofs ------------------------------------------------------ */

/* Fetches the leaf hash of leaf `index` into out. Returns 0 or a negative
 * TLO_E* code, which the proof functions pass on (their err then names the
 * leaf; keep any detail of your own in ctx). */
typedef int (*tlo_merkle_get_leaf_fn)(void *ctx, uint64_t index,
                                      uint8_t out[TLO_MERKLE_HASH_BYTES]);

/* The inclusion proof (RFC 9162 §2.1.3.1 PATH) of leaf `index` in the tree of
 * the first `size` leaves, into proof[0..*proof_len), lowest level first.
 *
 * Cost: the proof needs the roots of the subtrees beside the path, and this
 * computes them from the leaves: size - 1 leaf fetches and about as many node
 * hashes per proof, O(size). Measured here: 0.16 s for 2^20 leaf hashes held
 * in memory; reading them from the ledger will cost more than hashing. Stored
 * subtree roots would make it O(log size) if that ever matters.
 *
 * Returns 0; TLO_ERANGE when index >= size or size > 2^63; or the code of a
 * failed get_leaf. On failure *proof_len is 0 and proof is zeroed. */
int tlo_merkle_inclusion_proof(tlo_merkle_get_leaf_fn get_leaf, void *ctx, uint64_t index,
                               uint64_t size,
                               uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_MERKLE_HASH_BYTES],
                               size_t *proof_len, tlo_error *err);

/* Fetches the root of the perfect subtree of level `level` (2^level leaves;
 * level 0 is a leaf hash) number `index`, i.e. leaves [index << level,
 * (index + 1) << level), into out. Same contract as tlo_merkle_get_leaf_fn;
 * a callback that fills err itself (same code) keeps its message. */
typedef int (*tlo_merkle_get_node_fn)(void *ctx, unsigned level, uint64_t index,
                                      uint8_t out[TLO_MERKLE_HASH_BYTES]);

/* The same proofs from stored perfect subtrees: O(log size) fetches and no
 * node hash at all (at most 2 * 63 fetches for the one sibling that is not a
 * perfect subtree). The proofs are exactly those of the leaf versions when
 * the nodes are right; a wrong stored node gives a proof that fails against
 * the signed root, so whoever uses the proof still catches it. */
int tlo_merkle_inclusion_proof_nodes(
    tlo_merkle_get_node_fn get_node, void *ctx, uint64_t index, uint64_t size,
    uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_MERKLE_HASH_BYTES], size_t *proof_len,
    tlo_error *err);
int tlo_merkle_consistency_proof_nodes(
    tlo_merkle_get_node_fn get_node, void *ctx, uint64_t size1, uint64_t size2,
    uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_MERKLE_HASH_BYTES], size_t *proof_len,
    tlo_error *err);

/* MTH of the first size leaves from stored nodes: popcount(size) fetches. */
int tlo_merkle_root_nodes(tlo_merkle_get_node_fn get_node, void *ctx, uint64_t size,
                          uint8_t out[static TLO_MERKLE_HASH_BYTES], tlo_error *err);

/* The compact tree of the first size leaves from stored nodes (one fetch per
 * set bit of size), to resume appending from an older tree size. */
int tlo_merkle_tree_from_nodes(tlo_merkle_tree *t, uint64_t size, tlo_merkle_get_node_fn get_node,
                               void *ctx, tlo_error *err);

/* The consistency proof (RFC 9162 §2.1.4.1 PROOF = SUBPROOF(size1, D[size2],
 * true)) that the tree of the first size1 leaves is a prefix of the tree of
 * the first size2 leaves. Empty when size1 == size2. Same cost as above:
 * O(size2) leaf fetches and node hashes.
 *
 * Returns 0; TLO_ERANGE when size1 is 0 (the empty tree is a prefix of every
 * tree, so such a proof would prove nothing), size1 > size2 or size2 > 2^63;
 * or the code of a failed get_leaf. On failure *proof_len is 0. */
int tlo_merkle_consistency_proof(tlo_merkle_get_leaf_fn get_leaf, void *ctx, uint64_t size1,
                                 uint64_t size2,
                                 uint8_t proof[static TLO_MERKLE_MAX_PROOF][TLO_MERKLE_HASH_BYTES],
                                 size_t *proof_len, tlo_error *err);

/* ---- checking proofs ---------------------------------------------------- */

/* A proof binds a leaf (or an older root) to a root, not to a tree size: the
 * path of leaf 0 is hashed the same way in trees of 5 to 8 leaves, so one
 * proof passes for each of those sizes against the same root (as with any
 * RFC 6962 verifier). Take the size and the root together from one signed
 * checkpoint, never the size from the proof file alone. */

/* Checks that the leaf with leaf_hash is leaf `index` of the tree of `size`
 * leaves whose root is `root` (RFC 9162 §2.1.3.2). proof may be NULL when
 * proof_len is 0. Returns 0 when it is; otherwise
 *   TLO_ERANGE            index >= size, or size > 2^63;
 *   TLO_EFORMAT           the proof has the wrong number of hashes for index
 *                         and size (a hash added, dropped or garbage);
 *   TLO_MERKLE_EMISMATCH  the proof does not lead to root. */
__attribute__((warn_unused_result)) int
tlo_merkle_verify_inclusion(const uint8_t leaf_hash[static TLO_MERKLE_HASH_BYTES], uint64_t index,
                            uint64_t size, const uint8_t (*proof)[TLO_MERKLE_HASH_BYTES],
                            size_t proof_len, const uint8_t root[static TLO_MERKLE_HASH_BYTES],
                            tlo_error *err);

/* Checks that the tree of size1 leaves with root1 is a prefix of the tree of
 * size2 leaves with root2 (RFC 9162 §2.1.4.2). When size1 == size2 the proof
 * must be empty and the roots equal. Returns 0 when it is; otherwise
 *   TLO_ERANGE            size1 == 0 (meaningless), size1 > size2, or size2 > 2^63;
 *   TLO_EFORMAT           the proof has the wrong number of hashes;
 *   TLO_MERKLE_EMISMATCH  the proof does not reproduce root1, or root2. */
__attribute__((warn_unused_result)) int tlo_merkle_verify_consistency(
    uint64_t size1, uint64_t size2, const uint8_t root1[static TLO_MERKLE_HASH_BYTES],
    const uint8_t root2[static TLO_MERKLE_HASH_BYTES],
    const uint8_t (*proof)[TLO_MERKLE_HASH_BYTES], size_t proof_len, tlo_error *err);

#endif
