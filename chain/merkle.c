/* The Merkle tree of the custody ledger: RFC 6962 / RFC 9162 §2.1 hashes, a
 * compact right edge, proofs and their verification (merkle.h). */
#include "merkle.h"

#include <gcrypt.h>
#include <inttypes.h>
#include <sodium.h>
#include <string.h>

#define HB TLO_MERKLE_HASH_BYTES

static const uint8_t state_magic[4] = {'T', 'L', 'M', 'T'};
#define STATE_VERSION 1

/* ---- bit helpers (x != 0 where it matters) ------------------------------ */

static unsigned bit_len(uint64_t x)
{
    return x ? 64u - (unsigned)__builtin_clzll(x) : 0u;
}

static unsigned popcount(uint64_t x)
{
    return (unsigned)__builtin_popcountll(x);
}

/* The largest power of two strictly below n, for n >= 2: where MTH splits. */
static uint64_t split_point(uint64_t n)
{
    return UINT64_C(1) << (bit_len(n - 1) - 1);
}

/* Hashes in the inclusion proof of leaf index in a tree of size leaves
 * (index < size <= 2^63): the levels below the point where the paths to index
 * and to size - 1 part ("inner"), plus one per left sibling above it. */
static size_t inclusion_len(uint64_t index, uint64_t size)
{
    unsigned inner = bit_len(index ^ (size - 1)); /* <= 63: both are below 2^63 */
    return inner + popcount(index >> inner);
}

/* Hashes in the consistency proof from size1 to size2 (0 < size1 < size2 <=
 * 2^63): the inclusion path of leaf size1 - 1 above the level of the largest
 * perfect subtree that ends at size1, plus that subtree's root unless it is
 * the whole old tree (size1 a power of two: the verifier has it as root1). */
static size_t consistency_len(uint64_t size1, uint64_t size2)
{
    unsigned inner = bit_len((size1 - 1) ^ (size2 - 1));
    unsigned border = popcount((size1 - 1) >> inner);
    unsigned shift = (unsigned)__builtin_ctzll(size1); /* < inner because size1 < size2 */
    unsigned start = (size1 == UINT64_C(1) << shift) ? 0 : 1;
    return start + (inner - shift) + border;
}

/* ---- hashes ------------------------------------------------------------- */

/* Leaves are entries of any length, hashed once each: libsodium's incremental
 * SHA-256 takes them without a copy and cannot fail. Node hashes are what
 * proofs and roots are made of (size - 1 of them per proof), and libgcrypt's
 * SHA-256 does a 65-byte input about five times faster here (150 against
 * 790 ns, SHA-NI), so nodes use it. Both are plain SHA-256. */
void tlo_merkle_leaf_hash(uint8_t out[static HB], const uint8_t *leaf, size_t len)
{
    static const uint8_t prefix = 0x00;
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &prefix, 1);
    if (len > 0)
        crypto_hash_sha256_update(&st, leaf, len);
    crypto_hash_sha256_final(&st, out);
}

void tlo_merkle_node_hash(uint8_t out[static HB], const uint8_t left[static HB],
                          const uint8_t right[static HB])
{
    uint8_t buf[1 + 2 * HB];
    buf[0] = 0x01;
    memcpy(buf + 1, left, HB); /* copied first, so out may alias left or right */
    memcpy(buf + 1 + HB, right, HB);
    gcry_md_hash_buffer(GCRY_MD_SHA256, out, buf, sizeof buf);
}

void tlo_merkle_empty_root(uint8_t out[static HB])
{
    static const uint8_t nothing[1] = {0};
    gcry_md_hash_buffer(GCRY_MD_SHA256, out, nothing, 0);
}

/* ---- subtree roots from leaves ------------------------------------------ */

/* Where subtree roots come from: leaf hashes only (get_leaf), or stored
 * perfect subtrees (get_node) when the caller keeps them. */
typedef struct {
    tlo_merkle_get_leaf_fn get_leaf;
    void *ctx;
    tlo_error *err;
    tlo_merkle_get_node_fn get_node;
} leaf_source;

static int fetch_leaf(const leaf_source *src, uint64_t index, uint8_t out[HB])
{
    int rc = src->get_leaf(src->ctx, index, out);
    if (rc == 0)
        return 0;
    if (rc > 0)
        rc = TLO_EIO; /* a callback that broke its contract still fails loudly */
    return tlo_fail(src->err, rc, "cannot read the leaf hash of ledger entry %" PRIu64 ": %s",
                    index, tlo_strerror(rc));
}

static int fetch_node(const leaf_source *src, unsigned level, uint64_t index, uint8_t out[HB])
{
    int rc = src->get_node(src->ctx, level, index, out);
    if (rc == 0)
        return 0;
    if (rc > 0)
        rc = TLO_EIO;
    if (src->err && src->err->code == rc && src->err->msg[0])
        return rc; /* the callback said what is wrong, naming the node */
    return tlo_fail(src->err, rc,
                    "cannot read the stored Merkle node of level %u, index %" PRIu64 ": %s", level,
                    index, tlo_strerror(rc));
}

/* MTH(D[lo : lo + n]) for n >= 1, by the definition: n leaf fetches and n - 1
 * node hashes, recursion depth at most 63. With stored nodes, a perfect
 * aligned subtree is one fetch, so any range costs at most 2 * 63 fetches. */
static int subtree_root(const leaf_source *src, uint64_t lo, uint64_t n, uint8_t out[HB])
{
    if (src->get_node && (n & (n - 1)) == 0 && (lo & (n - 1)) == 0) {
        unsigned level = (unsigned)__builtin_ctzll(n);
        return fetch_node(src, level, lo >> level, out);
    }
    if (n == 1)
        return fetch_leaf(src, lo, out);
    uint64_t k = split_point(n);
    uint8_t left[HB];
    int rc = subtree_root(src, lo, k, left);
    if (rc == 0)
        rc = subtree_root(src, lo + k, n - k, out);
    if (rc == 0)
        tlo_merkle_node_hash(out, left, out);
    return rc;
}

typedef struct {
    const uint8_t (*hashes)[HB];
} leaf_array;

static int array_leaf(void *ctx, uint64_t index, uint8_t out[HB])
{
    const leaf_array *a = ctx;
    memcpy(out, a->hashes[index], HB);
    return 0;
}

void tlo_merkle_root_of_leaves(uint8_t out[static HB], const uint8_t (*leaf_hashes)[HB], size_t n)
{
    if (n == 0) {
        tlo_merkle_empty_root(out);
        return;
    }
    leaf_array a = {leaf_hashes};
    leaf_source src = {array_leaf, &a, NULL, NULL};
    (void)subtree_root(&src, 0, n, out); /* reading an array cannot fail */
}

/* ---- the compact tree --------------------------------------------------- */

void tlo_merkle_tree_init(tlo_merkle_tree *t)
{
    memset(t, 0, sizeof *t);
}

uint64_t tlo_merkle_tree_size(const tlo_merkle_tree *t)
{
    return t->size;
}

/* edge[] holds one root per set bit of size, largest first. A new leaf is a
 * perfect subtree of one leaf; while the lowest set bits of size say the edge
 * ends in a subtree of the same height, the two merge (as a binary counter
 * carries), so the edge stays one root per set bit of size + 1. */
int tlo_merkle_tree_append(tlo_merkle_tree *t, const uint8_t leaf_hash[static HB], tlo_error *err)
{
    return tlo_merkle_tree_append_nodes(t, leaf_hash, NULL, NULL, err);
}

int tlo_merkle_tree_append_nodes(tlo_merkle_tree *t, const uint8_t leaf_hash[static HB],
                                 uint8_t (*nodes)[HB], unsigned *nnodes, tlo_error *err)
{
    if (nnodes)
        *nnodes = 0;
    if (t->size >= TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_ERANGE,
                        "the ledger's Merkle tree is full (2^63 entries); no entry can be added");
    uint8_t h[HB];
    memcpy(h, leaf_hash, HB);
    unsigned n = popcount(t->size), made = 0;
    for (uint64_t s = t->size; s & 1; s >>= 1) {
        n--;
        tlo_merkle_node_hash(h, t->edge[n], h);
        if (nodes)
            memcpy(nodes[made], h, HB);
        made++;
    }
    memcpy(t->edge[n], h, HB);
    t->size++;
    if (nnodes)
        *nnodes = made;
    return 0;
}

int tlo_merkle_tree_from_nodes(tlo_merkle_tree *t, uint64_t size, tlo_merkle_get_node_fn get_node,
                               void *ctx, tlo_error *err)
{
    tlo_merkle_tree_init(t);
    if (!get_node || size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_EARG, "compact tree: no node source, or a size beyond 2^63");
    leaf_source src = {NULL, ctx, err, get_node};
    uint64_t lo = 0;
    unsigned n = 0;
    for (unsigned level = 64; level-- > 0;) {
        uint64_t w = UINT64_C(1) << level;
        if (!(size & w))
            continue;
        int rc = fetch_node(&src, level, lo >> level, t->edge[n]);
        if (rc != 0) {
            tlo_merkle_tree_init(t);
            return rc;
        }
        n++;
        lo += w;
    }
    t->size = size;
    return 0;
}

void tlo_merkle_tree_root(const tlo_merkle_tree *t, uint8_t out[static HB])
{
    if (t->size == 0) {
        tlo_merkle_empty_root(out);
        return;
    }
    /* MTH splits at the largest power of two, which is edge[0]; the rest of
     * the tree splits the same way, so the root folds the edge from the right. */
    unsigned n = popcount(t->size);
    uint8_t h[HB];
    memcpy(h, t->edge[n - 1], HB);
    for (unsigned i = n - 1; i-- > 0;)
        tlo_merkle_node_hash(h, t->edge[i], h);
    memcpy(out, h, HB);
}

size_t tlo_merkle_tree_serialized_len(const tlo_merkle_tree *t)
{
    return TLO_MERKLE_STATE_HEADER_BYTES + (size_t)popcount(t->size) * HB;
}

int tlo_merkle_tree_serialize(const tlo_merkle_tree *t, uint8_t *out, size_t cap, size_t *out_len,
                              tlo_error *err)
{
    if (out_len)
        *out_len = 0;
    if (!out || !out_len)
        return tlo_fail(err, TLO_EARG, "no buffer given for the Merkle tree state");
    if (t->size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_EARG, "the Merkle tree state is corrupt (size %" PRIu64 ")",
                        t->size);
    size_t len = tlo_merkle_tree_serialized_len(t);
    if (cap < len)
        return tlo_fail(err, TLO_ERANGE,
                        "the Merkle tree state needs %zu bytes; the buffer holds %zu", len, cap);
    memcpy(out, state_magic, 4);
    out[4] = STATE_VERSION;
    out[5] = out[6] = out[7] = 0;
    tlo_store_be64(out + 8, t->size);
    memcpy(out + TLO_MERKLE_STATE_HEADER_BYTES, t->edge, len - TLO_MERKLE_STATE_HEADER_BYTES);
    *out_len = len;
    return 0;
}

int tlo_merkle_tree_deserialize(tlo_merkle_tree *t, const uint8_t *in, size_t len, tlo_error *err)
{
    tlo_merkle_tree_init(t);
    if (!in && len > 0)
        return tlo_fail(err, TLO_EARG, "no Merkle tree state given");
    if (len < TLO_MERKLE_STATE_HEADER_BYTES)
        return tlo_fail(err, TLO_ETRUNCATED,
                        "the stored Merkle tree state is truncated: %zu bytes, the header alone "
                        "has %d; restore the ledger database from a backup",
                        len, TLO_MERKLE_STATE_HEADER_BYTES);
    if (memcmp(in, state_magic, 4) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "the stored Merkle tree state does not start with \"TLMT\"; it is not a "
                        "tellonce tree state");
    if (in[4] != STATE_VERSION)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the stored Merkle tree state has version %u; this build reads version %d",
                        in[4], STATE_VERSION);
    if (in[5] | in[6] | in[7])
        return tlo_fail(err, TLO_EFORMAT,
                        "the stored Merkle tree state has nonzero reserved bytes; it was altered");
    uint64_t size = tlo_load_be64(in + 8);
    if (size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_EFORMAT,
                        "the stored Merkle tree state claims %" PRIu64 " entries, more than 2^63; "
                        "it was altered",
                        size);
    size_t want = TLO_MERKLE_STATE_HEADER_BYTES + (size_t)popcount(size) * HB;
    if (len < want)
        return tlo_fail(err, TLO_ETRUNCATED,
                        "the stored Merkle tree state is truncated: %zu bytes, a tree of %" PRIu64
                        " entries needs %zu",
                        len, size, want);
    if (len > want)
        return tlo_fail(err, TLO_EFORMAT,
                        "the stored Merkle tree state has %zu bytes after its last hash; it was "
                        "altered",
                        len - want);
    memcpy(t->edge, in + TLO_MERKLE_STATE_HEADER_BYTES, want - TLO_MERKLE_STATE_HEADER_BYTES);
    t->size = size;
    return 0;
}

/* ---- making proofs ------------------------------------------------------ */

/* The proofs are built top-down (the RFC's recursions unrolled), so the hashes
 * come out highest level first; the RFC orders them lowest first. */
static void reverse_into(uint8_t proof[][HB], uint8_t tmp[][HB], size_t n)
{
    for (size_t i = 0; i < n; i++)
        memcpy(proof[i], tmp[n - 1 - i], HB);
}

static int inclusion_proof(leaf_source src, uint64_t index, uint64_t size,
                           uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB], size_t *proof_len,
                           tlo_error *err)
{
    if (proof_len)
        *proof_len = 0;
    if (proof)
        memset(proof, 0, TLO_MERKLE_MAX_PROOF * HB);
    if ((!src.get_leaf && !src.get_node) || !proof || !proof_len)
        return tlo_fail(err, TLO_EARG, "inclusion proof: missing leaf source or output");
    if (size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_ERANGE,
                        "inclusion proof: a tree of %" PRIu64 " entries is beyond 2^63", size);
    if (index >= size)
        return tlo_fail(err, TLO_ERANGE,
                        "inclusion proof: entry %" PRIu64 " is not in a tree of %" PRIu64
                        " entries (entries count from 0)",
                        index, size);

    uint8_t tmp[TLO_MERKLE_MAX_PROOF][HB];
    size_t cnt = 0;
    uint64_t lo = 0, n = size, m = index; /* PATH(m, D[lo : lo + n]) */
    while (n > 1 && cnt < TLO_MERKLE_MAX_PROOF) {
        uint64_t k = split_point(n);
        int rc;
        if (m < k) { /* PATH(m, D[0:k]) : MTH(D[k:n]) */
            rc = subtree_root(&src, lo + k, n - k, tmp[cnt]);
            n = k;
        } else { /* PATH(m - k, D[k:n]) : MTH(D[0:k]) */
            rc = subtree_root(&src, lo, k, tmp[cnt]);
            lo += k;
            m -= k;
            n -= k;
        }
        if (rc != 0)
            return rc;
        cnt++;
    }
    if (n > 1) /* at most 63 levels below 2^63 leaves: cannot happen */
        return tlo_fail(err, TLO_ESTATE, "inclusion proof: the tree is deeper than 64 levels");
    reverse_into(proof, tmp, cnt);
    *proof_len = cnt;
    return 0;
}

static int consistency_proof(leaf_source src, uint64_t size1, uint64_t size2,
                             uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB], size_t *proof_len,
                             tlo_error *err)
{
    if (proof_len)
        *proof_len = 0;
    if (proof)
        memset(proof, 0, TLO_MERKLE_MAX_PROOF * HB);
    if ((!src.get_leaf && !src.get_node) || !proof || !proof_len)
        return tlo_fail(err, TLO_EARG, "consistency proof: missing leaf source or output");
    if (size2 > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: a tree of %" PRIu64 " entries is beyond 2^63", size2);
    if (size1 == 0)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: the empty tree is a prefix of every tree; a proof "
                        "from size 0 would prove nothing");
    if (size1 > size2)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: the older tree (%" PRIu64
                        " entries) is larger than the newer one (%" PRIu64 ")",
                        size1, size2);

    uint8_t tmp[TLO_MERKLE_MAX_PROOF][HB];
    size_t cnt = 0;
    uint64_t lo = 0, n = size2, m = size1; /* SUBPROOF(m, D[lo : lo + n], b) */
    int b = 1, rc = 0;
    while (m != n && cnt < TLO_MERKLE_MAX_PROOF - 1) {
        uint64_t k = split_point(n);
        if (m <= k) { /* SUBPROOF(m, D[0:k], b) : MTH(D[k:n]) */
            rc = subtree_root(&src, lo + k, n - k, tmp[cnt]);
            n = k;
        } else { /* SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]) */
            rc = subtree_root(&src, lo, k, tmp[cnt]);
            lo += k;
            m -= k;
            n -= k;
            b = 0;
        }
        if (rc != 0)
            return rc;
        cnt++;
    }
    if (m != n) /* at most 63 levels below 2^63 leaves: cannot happen */
        return tlo_fail(err, TLO_ESTATE, "consistency proof: the tree is deeper than 64 levels");
    if (!b) { /* SUBPROOF(m, D[m], false) = {MTH(D[m])} */
        rc = subtree_root(&src, lo, m, tmp[cnt]);
        if (rc != 0)
            return rc;
        cnt++;
    }
    reverse_into(proof, tmp, cnt);
    *proof_len = cnt;
    return 0;
}

int tlo_merkle_inclusion_proof(tlo_merkle_get_leaf_fn get_leaf, void *ctx, uint64_t index,
                               uint64_t size, uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB],
                               size_t *proof_len, tlo_error *err)
{
    leaf_source src = {get_leaf, ctx, err, NULL};
    return inclusion_proof(src, index, size, proof, proof_len, err);
}

int tlo_merkle_consistency_proof(tlo_merkle_get_leaf_fn get_leaf, void *ctx, uint64_t size1,
                                 uint64_t size2, uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB],
                                 size_t *proof_len, tlo_error *err)
{
    leaf_source src = {get_leaf, ctx, err, NULL};
    return consistency_proof(src, size1, size2, proof, proof_len, err);
}

int tlo_merkle_inclusion_proof_nodes(tlo_merkle_get_node_fn get_node, void *ctx, uint64_t index,
                                     uint64_t size, uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB],
                                     size_t *proof_len, tlo_error *err)
{
    leaf_source src = {NULL, ctx, err, get_node};
    return inclusion_proof(src, index, size, proof, proof_len, err);
}

int tlo_merkle_consistency_proof_nodes(tlo_merkle_get_node_fn get_node, void *ctx, uint64_t size1,
                                       uint64_t size2,
                                       uint8_t proof[static TLO_MERKLE_MAX_PROOF][HB],
                                       size_t *proof_len, tlo_error *err)
{
    leaf_source src = {NULL, ctx, err, get_node};
    return consistency_proof(src, size1, size2, proof, proof_len, err);
}

int tlo_merkle_root_nodes(tlo_merkle_get_node_fn get_node, void *ctx, uint64_t size,
                          uint8_t out[static HB], tlo_error *err)
{
    leaf_source src = {NULL, ctx, err, get_node};
    memset(out, 0, HB);
    if (!get_node || size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_EARG, "Merkle root: no node source, or a size beyond 2^63");
    if (size == 0) {
        tlo_merkle_empty_root(out);
        return 0;
    }
    uint8_t r[HB];
    int rc = subtree_root(&src, 0, size, r);
    if (rc == 0)
        memcpy(out, r, HB);
    return rc;
}

/* ---- checking proofs ---------------------------------------------------- */

int tlo_merkle_verify_inclusion(const uint8_t leaf_hash[static HB], uint64_t index, uint64_t size,
                                const uint8_t (*proof)[HB], size_t proof_len,
                                const uint8_t root[static HB], tlo_error *err)
{
    if (size > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_ERANGE,
                        "inclusion proof: the tree size %" PRIu64
                        " is beyond 2^63; the proof or checkpoint is damaged",
                        size);
    if (index >= size)
        return tlo_fail(err, TLO_ERANGE,
                        "inclusion proof: entry %" PRIu64 " cannot be in a tree of %" PRIu64
                        " entries (entries count from 0)",
                        index, size);
    if (proof_len > 0 && !proof)
        return tlo_fail(err, TLO_EARG, "inclusion proof: %zu hashes announced, none given",
                        proof_len);
    size_t want = inclusion_len(index, size);
    if (proof_len != want)
        return tlo_fail(err, TLO_EFORMAT,
                        "inclusion proof for entry %" PRIu64 " in a tree of %" PRIu64
                        " entries has %zu hashes, but such a proof has exactly %zu: hashes were "
                        "added or removed, or it was made for another entry or tree size",
                        index, size, proof_len, want);

    /* RFC 9162 §2.1.3.2, step by step. */
    uint64_t fn = index, sn = size - 1;
    uint8_t r[HB];
    memcpy(r, leaf_hash, HB);
    for (size_t i = 0; i < proof_len; i++) {
        if (sn == 0) /* cannot happen once the length is right; kept from the RFC */
            return tlo_fail(err, TLO_EFORMAT, "inclusion proof: too many hashes");
        if ((fn & 1) || fn == sn) {
            tlo_merkle_node_hash(r, proof[i], r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tlo_merkle_node_hash(r, r, proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return tlo_fail(err, TLO_EFORMAT, "inclusion proof: too few hashes");
    if (memcmp(r, root, HB) != 0) /* roots are public: no constant-time compare needed */
        return tlo_fail(err, TLO_MERKLE_EMISMATCH,
                        "inclusion proof: entry %" PRIu64 " with this proof does not lead to "
                        "the root of the tree of %" PRIu64
                        " entries; the entry, the proof or the checkpoint was altered, or they "
                        "come from different ledgers",
                        index, size);
    return 0;
}

int tlo_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[static HB],
                                  const uint8_t root2[static HB], const uint8_t (*proof)[HB],
                                  size_t proof_len, tlo_error *err)
{
    if (size2 > TLO_MERKLE_MAX_SIZE)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: the tree size %" PRIu64
                        " is beyond 2^63; the proof or checkpoint is damaged",
                        size2);
    if (size1 > size2)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: the older checkpoint (%" PRIu64
                        " entries) is larger than the newer one (%" PRIu64
                        "); a ledger never shrinks, so swap them or check where they came from",
                        size1, size2);
    if (size1 == 0)
        return tlo_fail(err, TLO_ERANGE,
                        "consistency proof: from an empty tree it would prove nothing; compare "
                        "with a checkpoint of at least one entry");
    if (proof_len > 0 && !proof)
        return tlo_fail(err, TLO_EARG, "consistency proof: %zu hashes announced, none given",
                        proof_len);
    if (size1 == size2) {
        if (proof_len != 0)
            return tlo_fail(err, TLO_EFORMAT,
                            "consistency proof between two trees of %" PRIu64
                            " entries must be empty, but has %zu hashes",
                            size1, proof_len);
        if (memcmp(root1, root2, HB) != 0)
            return tlo_fail(err, TLO_MERKLE_EMISMATCH,
                            "consistency proof: two checkpoints of %" PRIu64
                            " entries have different roots; the ledger was forked or altered",
                            size1);
        return 0;
    }
    size_t want = consistency_len(size1, size2);
    if (proof_len != want)
        return tlo_fail(err, TLO_EFORMAT,
                        "consistency proof from %" PRIu64 " to %" PRIu64
                        " entries has %zu hashes, but such a proof has exactly %zu: hashes were "
                        "added or removed, or it was made for other tree sizes",
                        size1, size2, proof_len, want);

    /* RFC 9162 §2.1.4.2, step by step. When size1 is a power of two the old
     * tree is one perfect subtree of the new one and root1 is the first hash
     * ("prepend first_hash"); otherwise the proof starts with it. */
    const uint8_t *seed;
    size_t i = 0;
    if ((size1 & (size1 - 1)) == 0) {
        seed = root1;
    } else {
        seed = proof[0];
        i = 1;
    }
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[HB], sr[HB];
    memcpy(fr, seed, HB);
    memcpy(sr, seed, HB);
    for (; i < proof_len; i++) {
        if (sn == 0) /* cannot happen once the length is right; kept from the RFC */
            return tlo_fail(err, TLO_EFORMAT, "consistency proof: too many hashes");
        if ((fn & 1) || fn == sn) {
            tlo_merkle_node_hash(fr, proof[i], fr);
            tlo_merkle_node_hash(sr, proof[i], sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            tlo_merkle_node_hash(sr, sr, proof[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return tlo_fail(err, TLO_EFORMAT, "consistency proof: too few hashes");
    if (memcmp(fr, root1, HB) != 0)
        return tlo_fail(err, TLO_MERKLE_EMISMATCH,
                        "consistency proof does not reproduce the root of the older checkpoint "
                        "(%" PRIu64 " entries); the proof or that checkpoint was altered",
                        size1);
    if (memcmp(sr, root2, HB) != 0)
        return tlo_fail(err, TLO_MERKLE_EMISMATCH,
                        "consistency proof: the newer checkpoint (%" PRIu64
                        " entries) does not extend the older one (%" PRIu64
                        "); the ledger was rewritten or forked, or the proof was altered",
                        size2, size1);
    return 0;
}
