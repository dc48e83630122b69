/* The Merkle tree of the ledger (chain/merkle.h) against published vectors,
 * against forgeries, and against itself.
 *
 *   - tests/chain/data/rfc6962_reference.txt: the RFC 6962 reference tree of
 *     transparency-dev/merkle (hashes, roots 1..8, known proofs); our proofs
 *     must equal the known ones byte for byte.
 *   - tests/chain/data/tdev_testdata.txt: transparency-dev/merkle's testdata
 *     probes, each accepted or refused as upstream expects.
 *   - tests/chain/data/tree_state.txt: golden serialized tree states.
 *   - every accepted proof above, and many generated ones, altered every way
 *     a forger or a bug could (each hash flipped, hashes added before or after,
 *     dropped, the wrong leaf, index, size or root): each must be refused with
 *     the right code.
 *   - properties: every inclusion proof for sizes 1..200 and every consistency
 *     proof for 1 <= m <= n <= 100 verify; the compact tree's root is the MTH
 *     at every size; serialized states round-trip.
 *
 * Data files are read from $TLO_SOURCE_ROOT (default "."). */
#include "merkle.h"
#include "testutil.h"

#include <gcrypt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define HB TLO_MERKLE_HASH_BYTES
#define MAXP TLO_MERKLE_MAX_PROOF

/* ---- small helpers ------------------------------------------------------ */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void hash_of_index(uint8_t out[HB], uint64_t i)
{
    uint8_t data[12] = {'l', 'e', 'a', 'f'};
    tlo_store_be64(data + 4, i);
    tlo_merkle_leaf_hash(out, data, sizeof data);
}

/* Leaf hashes in memory, with a count of fetches and an optional failure. */
typedef struct {
    const uint8_t (*hashes)[HB];
    uint64_t n;
    uint64_t fetches;
    uint64_t fail_at; /* UINT64_MAX: never */
    int fail_code;
} leaf_store;

static int store_get(void *ctx, uint64_t index, uint8_t out[HB])
{
    leaf_store *s = ctx;
    s->fetches++;
    if (index == s->fail_at)
        return s->fail_code;
    if (index >= s->n) {
        fprintf(stderr, "proof code asked for leaf %" PRIu64 " of %" PRIu64 "\n", index, s->n);
        tu_failed++;
        memset(out, 0, HB);
        return 0;
    }
    memcpy(out, s->hashes[index], HB);
    return 0;
}

static leaf_store store_of(const uint8_t (*hashes)[HB], uint64_t n)
{
    leaf_store s = {hashes, n, 0, UINT64_MAX, 0};
    return s;
}

static int is_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc |= p[i];
    return acc == 0;
}

/* ---- negative families: every way an accepted proof can be altered ------ */

static const uint8_t some_hash[HB] = {0xab, 0xac, 0xab, 0xa0, [25] = 0x60, 0x06,
                                      0x1e, 0x00, 0x12, 0x34, 0x56};

/* Expects the inclusion proof to be refused with `code` (0: any failure). */
static void expect_incl_fail(const uint8_t leaf[HB], uint64_t index, uint64_t size,
                             const uint8_t (*proof)[HB], size_t n, const uint8_t root[HB], int code,
                             const char *what, const char *label)
{
    tlo_error err;
    tlo_error_clear(&err);
    int rc = tlo_merkle_verify_inclusion(leaf, index, size, proof, n, root, &err);
    if (code == 0)
        CHECK_MSG(rc < 0 && err.msg[0], "%s: %s: accepted (rc %d)", label, what, rc);
    else
        CHECK_MSG(rc == code && err.msg[0], "%s: %s: rc %d (%s), expected %d", label, what, rc,
                  err.msg, code);
}

/* Takes an inclusion proof that verifies and checks that no alteration of it does. */
static void inclusion_family(const uint8_t leaf[HB], uint64_t index, uint64_t size,
                             const uint8_t (*proof)[HB], size_t n, const uint8_t root[HB],
                             const char *label)
{
    uint8_t p[MAXP + 2][HB], x[HB];
    tlo_error err;
    int rc = tlo_merkle_verify_inclusion(leaf, index, size, proof, n, root, &err);
    CHECK_MSG(rc == 0, "%s: the original proof fails: %s", label, err.msg);
    if (rc != 0)
        return;

    /* Each hash altered, in its first, a middle and its last byte. */
    for (size_t i = 0; i < n; i++) {
        static const int pos[3][2] = {{0, 3}, {15, 0}, {31, 7}};
        for (int j = 0; j < 3; j++) {
            memcpy(p, proof, n * HB);
            p[i][pos[j][0]] ^= (uint8_t)(1u << pos[j][1]);
            expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n, root,
                             TLO_MERKLE_EMISMATCH, "one hash flipped", label);
        }
    }
    /* Two neighbouring hashes swapped (when they differ). */
    for (size_t i = 0; i + 1 < n; i++) {
        if (memcmp(proof[i], proof[i + 1], HB) == 0)
            continue;
        memcpy(p, proof, n * HB);
        memcpy(p[i], proof[i + 1], HB);
        memcpy(p[i + 1], proof[i], HB);
        expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n, root, TLO_MERKLE_EMISMATCH,
                         "hashes swapped", label);
    }
    /* The wrong leaf. */
    memcpy(x, leaf, HB);
    x[7] ^= 0x10;
    expect_incl_fail(x, index, size, proof, n, root, TLO_MERKLE_EMISMATCH, "wrong leaf", label);
    expect_incl_fail(some_hash, index, size, proof, n, root, TLO_MERKLE_EMISMATCH, "random leaf",
                     label);
    /* The wrong root. */
    memcpy(x, root, HB);
    x[31] ^= 0x01;
    expect_incl_fail(leaf, index, size, proof, n, x, TLO_MERKLE_EMISMATCH, "wrong root", label);
    tlo_merkle_empty_root(x);
    expect_incl_fail(leaf, index, size, proof, n, x, TLO_MERKLE_EMISMATCH, "empty root", label);
    /* The wrong index or size: refused, whatever the reason (bounds, length, root). */
    uint64_t idx[] = {index - 1, index + 1, index ^ 2, index ^ 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof idx / sizeof idx[0]; i++)
        if (idx[i] != index)
            expect_incl_fail(leaf, idx[i], size, proof, n, root, 0, "wrong index", label);
    /* Sizes of another height, as upstream alters them. (size +- 1 is not
     * always refused, and need not be: see test_size_not_bound.) */
    uint64_t sz[] = {size * 2, size / 2, 0, TLO_MERKLE_MAX_SIZE + 1};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        expect_incl_fail(leaf, index, sz[i], proof, n, root, 0, "wrong size", label);
    /* Garbage, a root or a copy before or after; one dropped; one inserted. */
    const uint8_t *extras[] = {some_hash, root, leaf, n ? proof[0] : root};
    for (size_t e = 0; e < sizeof extras / sizeof extras[0]; e++) {
        memcpy(p, proof, n * HB);
        memcpy(p[n], extras[e], HB);
        expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n + 1, root, TLO_EFORMAT,
                         "hash appended", label);
        memcpy(p[0], extras[e], HB);
        memcpy(p[1], proof, n * HB);
        expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n + 1, root, TLO_EFORMAT,
                         "hash prepended", label);
    }
    memset(p, 0, sizeof p);
    memcpy(p, proof, n * HB);
    expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n + 1, root, TLO_EFORMAT,
                     "zero hash appended", label);
    if (n > 0) {
        expect_incl_fail(leaf, index, size, proof, n - 1, root, TLO_EFORMAT, "truncated", label);
        expect_incl_fail(leaf, index, size, proof + 1, n - 1, root, TLO_EFORMAT, "first dropped",
                         label);
        expect_incl_fail(leaf, index, size, NULL, 0, root, TLO_EFORMAT, "empty proof", label);
        memcpy(p[0], proof[0], HB);
        memcpy(p[1], some_hash, HB);
        memcpy(p + 2, proof + 1, (n - 1) * HB);
        expect_incl_fail(leaf, index, size, (const uint8_t(*)[HB])p, n + 1, root, TLO_EFORMAT,
                         "hash inserted", label);
    }
}

static void expect_cons_fail(uint64_t m, uint64_t n, const uint8_t r1[HB], const uint8_t r2[HB],
                             const uint8_t (*proof)[HB], size_t len, int code, const char *needle,
                             const char *what, const char *label)
{
    tlo_error err;
    tlo_error_clear(&err);
    int rc = tlo_merkle_verify_consistency(m, n, r1, r2, proof, len, &err);
    if (code == 0)
        CHECK_MSG(rc < 0 && err.msg[0], "%s: %s: accepted (rc %d)", label, what, rc);
    else
        CHECK_MSG(rc == code && err.msg[0] && (!needle || strstr(err.msg, needle)),
                  "%s: %s: rc %d (%s), expected %d mentioning \"%s\"", label, what, rc, err.msg,
                  code, needle ? needle : "");
}

/* Takes a consistency proof that verifies and checks that no alteration of it does. */
static void consistency_family(uint64_t m, uint64_t n, const uint8_t r1[HB], const uint8_t r2[HB],
                               const uint8_t (*proof)[HB], size_t len, const char *label)
{
    uint8_t p[MAXP + 2][HB], x[HB];
    tlo_error err;
    int rc = tlo_merkle_verify_consistency(m, n, r1, r2, proof, len, &err);
    CHECK_MSG(rc == 0, "%s: the original proof fails: %s", label, err.msg);
    if (rc != 0)
        return;

    if (m == n) {
        memcpy(x, r2, HB);
        x[0] ^= 1;
        expect_cons_fail(m, n, r1, x, NULL, 0, TLO_MERKLE_EMISMATCH, "different roots",
                         "equal sizes, other root", label);
        expect_cons_fail(m, n, r1, r2, &some_hash, 1, TLO_EFORMAT, "must be empty",
                         "equal sizes, a hash", label);
        if (m > 1)
            expect_cons_fail(m - 1, n, r1, r2, NULL, 0, TLO_EFORMAT, NULL, "smaller size1, empty",
                             label);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        static const int pos[3][2] = {{0, 4}, {16, 1}, {31, 6}};
        for (int j = 0; j < 3; j++) {
            memcpy(p, proof, len * HB);
            p[i][pos[j][0]] ^= (uint8_t)(1u << pos[j][1]);
            expect_cons_fail(m, n, r1, r2, (const uint8_t(*)[HB])p, len, TLO_MERKLE_EMISMATCH, NULL,
                             "one hash flipped", label);
        }
    }
    memcpy(x, r1, HB);
    x[5] ^= 0x20;
    expect_cons_fail(m, n, x, r2, proof, len, TLO_MERKLE_EMISMATCH, "older", "wrong root1", label);
    memcpy(x, r2, HB);
    x[5] ^= 0x20;
    expect_cons_fail(m, n, r1, x, proof, len, TLO_MERKLE_EMISMATCH, "does not extend",
                     "wrong root2", label);
    expect_cons_fail(m, n, r2, r1, proof, len, TLO_MERKLE_EMISMATCH, NULL, "swapped roots", label);
    expect_cons_fail(m, n, r1, r1, proof, len, TLO_MERKLE_EMISMATCH, NULL, "root1 twice", label);
    /* Wrong sizes: refused, whatever the reason. */
    uint64_t s1[] = {m - 1, m + 1, m ^ 2, 0, n + 1};
    for (size_t i = 0; i < sizeof s1 / sizeof s1[0]; i++)
        if (s1[i] != m)
            expect_cons_fail(s1[i], n, r1, r2, proof, len, 0, NULL, "wrong size1", label);
    uint64_t s2[] = {n * 2, n / 2, m - 1, TLO_MERKLE_MAX_SIZE + 1}; /* as for inclusion */
    for (size_t i = 0; i < sizeof s2 / sizeof s2[0]; i++)
        if (s2[i] != n)
            expect_cons_fail(m, s2[i], r1, r2, proof, len, 0, NULL, "wrong size2", label);
    /* Length changes. */
    expect_cons_fail(m, n, r1, r2, NULL, 0, TLO_EFORMAT, NULL, "empty proof", label);
    expect_cons_fail(m, n, r1, r2, proof, len - 1, TLO_EFORMAT, NULL, "truncated", label);
    expect_cons_fail(m, n, r1, r2, proof + 1, len - 1, TLO_EFORMAT, NULL, "first dropped", label);
    const uint8_t *extras[] = {some_hash, r1, r2, proof[0]};
    for (size_t e = 0; e < sizeof extras / sizeof extras[0]; e++) {
        memcpy(p, proof, len * HB);
        memcpy(p[len], extras[e], HB);
        expect_cons_fail(m, n, r1, r2, (const uint8_t(*)[HB])p, len + 1, TLO_EFORMAT, NULL,
                         "hash appended", label);
        memcpy(p[0], extras[e], HB);
        memcpy(p[1], proof, len * HB);
        expect_cons_fail(m, n, r1, r2, (const uint8_t(*)[HB])p, len + 1, TLO_EFORMAT, NULL,
                         "hash prepended", label);
    }
}

/* ---- data files --------------------------------------------------------- */

typedef struct {
    size_t len;
    uint8_t b[64];
} blob;

typedef struct {
    char kind; /* 'i' inclusion, 'c' consistency */
    uint64_t a, b;
    blob h1, h2;
    blob proof[MAXP + 4];
    size_t nproof;
    int want_ok;
    char desc[160];
    char source[300];
} record;

static FILE *open_data(const char *name)
{
    const char *root = getenv("TLO_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/chain/data/%s", root ? root : ".", name);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s (set TLO_SOURCE_ROOT)\n", path);
        tu_failed++;
    }
    return f;
}

/* Hex of any even length up to 64 bytes, or "." / "-" for no bytes. */
static int parse_blob(blob *out, const char *s)
{
    memset(out, 0, sizeof *out);
    if (strcmp(s, ".") == 0 || strcmp(s, "-") == 0)
        return 0;
    size_t n = strlen(s);
    if (n % 2 || n / 2 > sizeof out->b)
        return -1;
    out->len = n / 2;
    return tlo_unhex(out->b, out->len, s);
}

static int parse_u64(uint64_t *out, const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    *out = (uint64_t)v;
    return (*s && !*end) ? 0 : -1;
}

static int parse_proof(record *r, char *s)
{
    r->nproof = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (char *tok = s;;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = '\0';
        if (r->nproof == sizeof r->proof / sizeof r->proof[0])
            return -1;
        if (parse_blob(&r->proof[r->nproof++], tok) != 0)
            return -1;
        if (!comma)
            return 0;
        tok = comma + 1;
    }
}

/* The reference tree, filled while reading rfc6962_reference.txt. */
static uint8_t ref_leaf_hash[8][HB];
static size_t ref_leaves;
static uint8_t ref_root[9][HB];
static int ref_root_known[9];

/* "inclusion a b h1 h2 proof ok|fail desc" or "consistency ..." into r;
 * "@" means the reference leaf hash or root. */
static int parse_record(record *r, char *line, const char *source)
{
    memset(r, 0, sizeof *r);
    char *f[7], *save = NULL;
    int nf = 0;
    char *tok = strtok_r(line, " ", &save);
    while (tok && nf < 7) {
        f[nf++] = tok;
        tok = nf < 7 ? strtok_r(NULL, " ", &save) : NULL;
    }
    if (nf < 7)
        return -1;
    char *rest = strtok_r(NULL, "", &save);
    snprintf(r->desc, sizeof r->desc, "%s", rest ? rest : "");
    snprintf(r->source, sizeof r->source, "%s", source);
    r->kind = f[0][0];
    if (parse_u64(&r->a, f[1]) || parse_u64(&r->b, f[2]))
        return -1;
    for (int i = 0; i < 2; i++) {
        blob *h = i ? &r->h2 : &r->h1;
        if (strcmp(f[3 + i], "@") != 0) {
            if (parse_blob(h, f[3 + i]) != 0)
                return -1;
            continue;
        }
        h->len = HB;
        if (r->kind == 'i' && i == 0) { /* leaf hash of leaf a */
            if (r->a >= ref_leaves)
                return -1;
            memcpy(h->b, ref_leaf_hash[r->a], HB);
        } else { /* root of size b (inclusion) or of size a / b (consistency) */
            uint64_t s = (r->kind == 'c' && i == 0) ? r->a : r->b;
            if (s > 8 || !ref_root_known[s])
                return -1;
            memcpy(h->b, ref_root[s], HB);
        }
    }
    if (parse_proof(r, f[5]) != 0)
        return -1;
    if (strcmp(f[6], "ok") != 0 && strcmp(f[6], "fail") != 0)
        return -1;
    r->want_ok = strcmp(f[6], "ok") == 0;
    return 0;
}

/* 1 when every value of r is a 32-byte hash, so the API can take it. */
static int expressible(const record *r)
{
    if (r->h1.len != HB || r->h2.len != HB)
        return 0;
    for (size_t i = 0; i < r->nproof; i++)
        if (r->proof[i].len != HB)
            return 0;
    return r->nproof <= MAXP;
}

static int records_run, records_unexpressible;

static void run_record(const record *r)
{
    char label[600];
    snprintf(label, sizeof label, "%s [%s %" PRIu64 " %" PRIu64 " %s]", r->source,
             r->kind == 'i' ? "inclusion" : "consistency", r->a, r->b, r->desc);
    records_run++;
    if (!expressible(r)) {
        /* A 9-byte leaf or a zero-length "hash" cannot reach a function that
         * takes uint8_t[32]: refused at the type boundary, which is right only
         * for a probe meant to fail. */
        records_unexpressible++;
        CHECK_MSG(!r->want_ok, "%s: a good vector holds a value that is not 32 bytes", label);
        return;
    }
    uint8_t proof[MAXP][HB];
    for (size_t i = 0; i < r->nproof; i++)
        memcpy(proof[i], r->proof[i].b, HB);
    tlo_error err;
    tlo_error_clear(&err);
    int rc = r->kind == 'i'
                 ? tlo_merkle_verify_inclusion(r->h1.b, r->a, r->b, (const uint8_t(*)[HB])proof,
                                               r->nproof, r->h2.b, &err)
                 : tlo_merkle_verify_consistency(r->a, r->b, r->h1.b, r->h2.b,
                                                 (const uint8_t(*)[HB])proof, r->nproof, &err);
    if (r->want_ok) {
        CHECK_MSG(rc == 0, "%s: refused: %s", label, err.msg);
        if (r->kind == 'i')
            inclusion_family(r->h1.b, r->a, r->b, (const uint8_t(*)[HB])proof, r->nproof, r->h2.b,
                             label);
        else
            consistency_family(r->a, r->b, r->h1.b, r->h2.b, (const uint8_t(*)[HB])proof, r->nproof,
                               label);
    } else {
        CHECK_MSG(rc < 0 && err.msg[0], "%s: accepted a probe meant to fail", label);
    }

    /* A good vector inside the reference tree: our proof must be the same bytes. */
    int in_ref = r->kind == 'i' ? r->b <= ref_leaves : r->b <= ref_leaves && r->a > 0;
    uint64_t rs = r->b;
    if (r->want_ok && in_ref && ref_root_known[rs] && memcmp(r->h2.b, ref_root[rs], HB) == 0) {
        leaf_store s = store_of((const uint8_t(*)[HB])ref_leaf_hash, ref_leaves);
        uint8_t got[MAXP][HB];
        size_t n = 99;
        rc = r->kind == 'i'
                 ? tlo_merkle_inclusion_proof(store_get, &s, r->a, r->b, got, &n, &err)
                 : tlo_merkle_consistency_proof(store_get, &s, r->a, r->b, got, &n, &err);
        CHECK_MSG(rc == 0 && n == r->nproof && memcmp(got, proof, n * HB) == 0,
                  "%s: our proof differs (rc %d, %zu hashes)", label, rc, n);
    }
}

static void run_file(const char *name, int *records_in_file)
{
    FILE *f = open_data(name);
    if (!f)
        return;
    char *line = NULL, source[200] = "";
    size_t cap = 0;
    ssize_t len;
    int lineno = 0, bad = 0;
    *records_in_file = 0;
    while ((len = getline(&line, &cap, f)) != -1) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        if (line[0] == '#') {
            if (strncmp(line, "# testdata/", 11) == 0)
                snprintf(source, sizeof source, "%s", line + 2);
            continue;
        }
        char where[240];
        snprintf(where, sizeof where, "%s:%d", name, lineno);
        char *sp = strchr(line, ' ');
        if (!sp) {
            bad++;
            continue;
        }
        *sp = '\0';
        char *args = sp + 1;
        blob b1, b2;
        uint64_t u;
        if (strcmp(line, "empty_root") == 0) {
            uint8_t h[HB];
            tlo_merkle_empty_root(h);
            CHECK_MSG(parse_blob(&b1, args) == 0 && b1.len == HB && memcmp(h, b1.b, HB) == 0,
                      "%s: empty root", where);
        } else if (strcmp(line, "leaf_hash") == 0) {
            char *h = strchr(args, ' ');
            uint8_t got[HB];
            if (!h || (*h = '\0', parse_blob(&b1, args)) || parse_blob(&b2, h + 1) ||
                b2.len != HB) {
                bad++;
                continue;
            }
            tlo_merkle_leaf_hash(got, b1.len ? b1.b : NULL, b1.len);
            CHECK_MSG(memcmp(got, b2.b, HB) == 0, "%s: leaf hash", where);
        } else if (strcmp(line, "leaf") == 0) {
            if (parse_blob(&b1, args) || ref_leaves == 8) {
                bad++;
                continue;
            }
            tlo_merkle_leaf_hash(ref_leaf_hash[ref_leaves++], b1.b, b1.len);
        } else if (strcmp(line, "root") == 0) {
            char *h = strchr(args, ' ');
            if (!h || (*h = '\0', parse_u64(&u, args)) || u > ref_leaves || u == 0 ||
                parse_blob(&b1, h + 1) || b1.len != HB) {
                bad++;
                continue;
            }
            memcpy(ref_root[u], b1.b, HB);
            ref_root_known[u] = 1;
            /* The MTH by definition and the compact tree both give it. */
            uint8_t got[HB];
            tlo_merkle_root_of_leaves(got, (const uint8_t(*)[HB])ref_leaf_hash, (size_t)u);
            CHECK_MSG(memcmp(got, b1.b, HB) == 0, "%s: MTH of %" PRIu64 " leaves", where, u);
            tlo_merkle_tree t;
            tlo_merkle_tree_init(&t);
            for (uint64_t i = 0; i < u; i++)
                CHECK(tlo_merkle_tree_append(&t, ref_leaf_hash[i], NULL) == 0);
            tlo_merkle_tree_root(&t, got);
            CHECK_MSG(memcmp(got, b1.b, HB) == 0, "%s: compact root of %" PRIu64 " leaves", where,
                      u);
        } else if (strcmp(line, "inclusion") == 0 || strcmp(line, "consistency") == 0) {
            *sp = ' ';
            record r;
            if (parse_record(&r, line, source[0] ? source : where) != 0) {
                bad++;
                continue;
            }
            run_record(&r);
            (*records_in_file)++;
            source[0] = '\0';
        } else {
            bad++;
        }
    }
    free(line);
    fclose(f);
    CHECK_MSG(bad == 0, "%s: %d lines not understood", name, bad);
}

static void test_golden_states(void)
{
    FILE *f = open_data("tree_state.txt");
    if (!f)
        return;
    char line[4096];
    int seen = 0;
    while (fgets(line, sizeof line, f)) {
        uint64_t size;
        char hex[3000];
        unsigned long long s;
        if (sscanf(line, "state %llu %2999s", &s, hex) != 2)
            continue;
        size = (uint64_t)s;
        seen++;
        size_t len = strlen(hex) / 2;
        uint8_t want[TLO_MERKLE_STATE_MAX_BYTES], got[TLO_MERKLE_STATE_MAX_BYTES];
        CHECK(len <= sizeof want && tlo_unhex(want, len, hex) == 0);
        tlo_merkle_tree t, u;
        tlo_merkle_tree_init(&t);
        for (uint64_t i = 0; i < size && i < ref_leaves; i++)
            CHECK(tlo_merkle_tree_append(&t, ref_leaf_hash[i], NULL) == 0);
        size_t n = 0;
        CHECK(tlo_merkle_tree_serialize(&t, got, sizeof got, &n, NULL) == 0);
        CHECK_MSG(n == len && memcmp(got, want, n) == 0, "golden state of size %" PRIu64 " differs",
                  size);
        tlo_error err;
        CHECK(tlo_merkle_tree_deserialize(&u, want, len, &err) == 0);
        uint8_t r1[HB], r2[HB];
        tlo_merkle_tree_root(&u, r1);
        if (size == 0)
            tlo_merkle_empty_root(r2);
        else
            memcpy(r2, ref_root[size], HB);
        CHECK_MSG(tlo_merkle_tree_size(&u) == size && memcmp(r1, r2, HB) == 0,
                  "restored golden state of size %" PRIu64 " has the wrong root", size);
    }
    fclose(f);
    CHECK_MSG(seen == 9, "tree_state.txt: %d states, expected 9", seen);
}

/* ---- properties ---------------------------------------------------------- */

#define PROP_INCL_MAX 200
#define PROP_CONS_MAX 100
#define FAMILY_MAX 40 /* alter every proof of the smaller sizes */

static uint8_t leaves[1200][HB];

static void test_inclusion_property(void)
{
    uint8_t proof[MAXP][HB], root[HB], compact[HB];
    tlo_merkle_tree t;
    tlo_merkle_tree_init(&t);
    int all_ok = 1;
    for (uint64_t size = 1; size <= PROP_INCL_MAX; size++) {
        CHECK(tlo_merkle_tree_append(&t, leaves[size - 1], NULL) == 0);
        tlo_merkle_root_of_leaves(root, (const uint8_t(*)[HB])leaves, (size_t)size);
        tlo_merkle_tree_root(&t, compact);
        CHECK_MSG(memcmp(root, compact, HB) == 0, "size %" PRIu64 ": compact root differs", size);
        for (uint64_t index = 0; index < size; index++) {
            leaf_store s = store_of((const uint8_t(*)[HB])leaves, size);
            size_t n = 99;
            tlo_error err;
            int rc = tlo_merkle_inclusion_proof(store_get, &s, index, size, proof, &n, &err);
            int ok = rc == 0 && n <= MAXP;
            /* The cost the header promises: every other leaf once, no more. */
            ok = ok && s.fetches == size - 1;
            ok = ok && tlo_merkle_verify_inclusion(leaves[index], index, size,
                                                   (const uint8_t(*)[HB])proof, n, root, &err) == 0;
            if (!ok) {
                CHECK_MSG(ok, "inclusion %" PRIu64 "/%" PRIu64 ": rc %d, %" PRIu64 " fetches: %s",
                          index, size, rc, s.fetches, err.msg);
                all_ok = 0;
                continue;
            }
            if (size <= FAMILY_MAX) {
                char label[64];
                snprintf(label, sizeof label, "inclusion %" PRIu64 "/%" PRIu64, index, size);
                inclusion_family(leaves[index], index, size, (const uint8_t(*)[HB])proof, n, root,
                                 label);
            } else if (index + 1 < size) {
                /* Larger sizes: at least the neighbour must not borrow the proof. */
                CHECK(tlo_merkle_verify_inclusion(leaves[index + 1], index + 1, size,
                                                  (const uint8_t(*)[HB])proof, n, root, NULL) < 0);
            }
        }
    }
    CHECK(all_ok);
}

static void test_consistency_property(void)
{
    static uint8_t roots[PROP_CONS_MAX + 1][HB];
    uint8_t proof[MAXP][HB];
    for (uint64_t s = 1; s <= PROP_CONS_MAX; s++)
        tlo_merkle_root_of_leaves(roots[s], (const uint8_t(*)[HB])leaves, (size_t)s);
    int all_ok = 1;
    for (uint64_t n = 1; n <= PROP_CONS_MAX; n++) {
        for (uint64_t m = 0; m <= n; m++) {
            leaf_store s = store_of((const uint8_t(*)[HB])leaves, n);
            size_t len = 99;
            tlo_error err;
            int rc = tlo_merkle_consistency_proof(store_get, &s, m, n, proof, &len, &err);
            if (m == 0) {
                /* The empty tree is a prefix of everything: no proof is made or accepted. */
                CHECK_MSG(rc == TLO_ERANGE && len == 0, "consistency 0/%" PRIu64 ": rc %d", n, rc);
                CHECK(tlo_merkle_verify_consistency(0, n, roots[1], roots[n], NULL, 0, NULL) ==
                      TLO_ERANGE);
                continue;
            }
            int ok = rc == 0 && len <= MAXP && (m != n || len == 0) && s.fetches <= n;
            ok = ok && tlo_merkle_verify_consistency(m, n, roots[m], roots[n],
                                                     (const uint8_t(*)[HB])proof, len, &err) == 0;
            if (!ok) {
                CHECK_MSG(ok, "consistency %" PRIu64 "/%" PRIu64 ": rc %d, len %zu: %s", m, n, rc,
                          len, err.msg);
                all_ok = 0;
                continue;
            }
            if (n <= FAMILY_MAX) {
                char label[64];
                snprintf(label, sizeof label, "consistency %" PRIu64 "/%" PRIu64, m, n);
                consistency_family(m, n, roots[m], roots[n], (const uint8_t(*)[HB])proof, len,
                                   label);
            } else if (m < n) {
                /* A forked log: the same sizes, one old leaf different. */
                uint8_t forked[HB], saved[HB];
                uint64_t victim = rnd() % m;
                memcpy(saved, leaves[victim], HB);
                leaves[victim][0] ^= 1;
                tlo_merkle_root_of_leaves(forked, (const uint8_t(*)[HB])leaves, (size_t)n);
                memcpy(leaves[victim], saved, HB);
                CHECK(tlo_merkle_verify_consistency(m, n, roots[m], forked,
                                                    (const uint8_t(*)[HB])proof, len,
                                                    NULL) == TLO_MERKLE_EMISMATCH);
            }
        }
    }
    CHECK(all_ok);
}

/* The compact tree against the definition at every size, and its state
 * serialized, restored and appended to at every size. */
static void test_compact_tree(void)
{
    const size_t N = sizeof leaves / sizeof leaves[0];
    tlo_merkle_tree t;
    uint8_t a[HB], b[HB], state[TLO_MERKLE_STATE_MAX_BYTES];
    tlo_merkle_tree_init(&t);
    tlo_merkle_tree_root(&t, a);
    tlo_merkle_empty_root(b);
    CHECK(tlo_merkle_tree_size(&t) == 0 && memcmp(a, b, HB) == 0);
    int all_ok = 1;
    for (size_t size = 0; size <= N; size++) {
        if (size > 0)
            CHECK(tlo_merkle_tree_append(&t, leaves[size - 1], NULL) == 0);
        tlo_merkle_tree_root(&t, a);
        tlo_merkle_root_of_leaves(b, (const uint8_t(*)[HB])leaves, size);
        int ok = tlo_merkle_tree_size(&t) == size && memcmp(a, b, HB) == 0;

        size_t len = 0;
        tlo_error err;
        ok = ok && tlo_merkle_tree_serialize(&t, state, sizeof state, &len, &err) == 0;
        ok = ok && len == tlo_merkle_tree_serialized_len(&t) &&
             len == TLO_MERKLE_STATE_HEADER_BYTES +
                        (size_t)__builtin_popcountll((unsigned long long)size) * HB;
        tlo_merkle_tree u;
        ok = ok && tlo_merkle_tree_deserialize(&u, state, len, &err) == 0;
        tlo_merkle_tree_root(&u, b);
        ok = ok && tlo_merkle_tree_size(&u) == size && memcmp(a, b, HB) == 0;
        /* The restored tree goes on exactly like the original. */
        if (size + 3 <= N && size % 7 == 0) {
            tlo_merkle_tree v = t;
            for (size_t k = 0; k < 3; k++) {
                ok = ok && tlo_merkle_tree_append(&u, leaves[size + k], NULL) == 0 &&
                     tlo_merkle_tree_append(&v, leaves[size + k], NULL) == 0;
                tlo_merkle_tree_root(&u, a);
                tlo_merkle_tree_root(&v, b);
                ok = ok && memcmp(a, b, HB) == 0;
            }
        }
        if (!ok) {
            CHECK_MSG(ok, "compact tree at size %zu", size);
            all_ok = 0;
        }
    }
    CHECK(all_ok);
}

static void test_state_refused(void)
{
    tlo_merkle_tree t, u;
    uint8_t state[TLO_MERKLE_STATE_MAX_BYTES + 8], bad[sizeof state], h[HB];
    size_t len = 0;
    tlo_error err;
    tlo_merkle_tree_init(&t);
    for (size_t i = 0; i < 13; i++) /* 1101b: three subtree roots */
        CHECK(tlo_merkle_tree_append(&t, leaves[i], NULL) == 0);
    CHECK(tlo_merkle_tree_serialize(&t, state, sizeof state, &len, NULL) == 0);
    CHECK(len == 16 + 3 * HB);

    /* Every truncation: refused, and the tree left empty. */
    for (size_t cut = 0; cut < len; cut++) {
        memset(&u, 0xa5, sizeof u);
        int rc = tlo_merkle_tree_deserialize(&u, state, cut, &err);
        CHECK_MSG(rc == TLO_ETRUNCATED && strstr(err.msg, "truncated") && u.size == 0,
                  "cut at %zu: rc %d", cut, rc);
    }
    memcpy(bad, state, len);
    bad[len] = 0;
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len + 1, &err), err, TLO_EFORMAT, "after");
    CHECK(u.size == 0);
    memcpy(bad, state, len);
    bad[0] = 'X';
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_EFORMAT, "TLMT");
    memcpy(bad, state, len);
    bad[4] = 2;
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_EUNSUPPORTED, "version 2");
    memcpy(bad, state, len);
    bad[6] = 1;
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_EFORMAT, "reserved");
    /* A size with more set bits than hashes, and one beyond 2^63. */
    memcpy(bad, state, len);
    tlo_store_be64(bad + 8, 15);
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_ETRUNCATED, "needs");
    tlo_store_be64(bad + 8, 8);
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_EFORMAT, "after");
    tlo_store_be64(bad + 8, TLO_MERKLE_MAX_SIZE + 1);
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, 16 + 2 * HB, &err), err, TLO_EFORMAT, "2^63");
    tlo_store_be64(bad + 8, UINT64_MAX);
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, bad, len, &err), err, TLO_EFORMAT, "2^63");
    CHECK_ERR(tlo_merkle_tree_deserialize(&u, NULL, 5, &err), err, TLO_EARG, "no Merkle");
    /* A buffer too small for serializing. */
    size_t n = 77;
    CHECK_ERR(tlo_merkle_tree_serialize(&t, state, len - 1, &n, &err), err, TLO_ERANGE, "needs");
    CHECK(n == 0);

    /* The largest trees: 2^63 - 1 leaves (63 roots), then one more, then full. */
    memset(bad, 0, sizeof bad);
    memcpy(bad, "TLMT\1\0\0\0", 8);
    tlo_store_be64(bad + 8, TLO_MERKLE_MAX_SIZE - 1);
    for (size_t i = 0; i < 63; i++)
        memcpy(bad + 16 + i * HB, leaves[i], HB);
    CHECK(tlo_merkle_tree_deserialize(&u, bad, 16 + 63 * HB, &err) == 0);
    /* Its root folds the edge from the right; appending leaf 63 merges it all. */
    uint8_t want[HB], got[HB];
    memcpy(want, leaves[63], HB);
    for (size_t i = 63; i-- > 0;)
        tlo_merkle_node_hash(want, leaves[i], want);
    CHECK(tlo_merkle_tree_append(&u, leaves[63], &err) == 0);
    tlo_merkle_tree_root(&u, got);
    CHECK(tlo_merkle_tree_size(&u) == TLO_MERKLE_MAX_SIZE && memcmp(got, want, HB) == 0);
    CHECK(tlo_merkle_tree_serialized_len(&u) == 16 + HB);
    CHECK_ERR(tlo_merkle_tree_append(&u, leaves[0], &err), err, TLO_ERANGE, "full");
    CHECK(tlo_merkle_tree_size(&u) == TLO_MERKLE_MAX_SIZE);
    tlo_merkle_tree_root(&u, h);
    CHECK(memcmp(h, want, HB) == 0);
}

/* Bounds of verification for sizes no test could build: lengths are checked
 * before anything is hashed, and a proof of the right length but wrong hashes
 * is a mismatch, never an overrun. */
static void test_large_bounds(void)
{
    static uint8_t proof[MAXP + 1][HB];
    uint8_t root[HB] = {1};
    tlo_error err;
    const uint64_t max = TLO_MERKLE_MAX_SIZE;
    for (size_t i = 0; i <= MAXP; i++)
        memset(proof[i], (int)i + 1, HB);

    /* Leaf 0 and the last leaf of the largest tree: 63 hashes. */
    CHECK_ERR(
        tlo_merkle_verify_inclusion(leaves[0], 0, max, (const uint8_t(*)[HB])proof, 63, root, &err),
        err, TLO_MERKLE_EMISMATCH, "does not lead");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], max - 1, max, (const uint8_t(*)[HB])proof, 63,
                                          root, &err),
              err, TLO_MERKLE_EMISMATCH, "does not lead");
    CHECK_ERR(
        tlo_merkle_verify_inclusion(leaves[0], 0, max, (const uint8_t(*)[HB])proof, 64, root, &err),
        err, TLO_EFORMAT, "exactly 63");
    CHECK_ERR(
        tlo_merkle_verify_inclusion(leaves[0], 0, max, (const uint8_t(*)[HB])proof, 62, root, &err),
        err, TLO_EFORMAT, "exactly 63");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], 0, max + 1, (const uint8_t(*)[HB])proof, 63,
                                          root, &err),
              err, TLO_ERANGE, "2^63");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], UINT64_MAX - 1, UINT64_MAX,
                                          (const uint8_t(*)[HB])proof, 64, root, &err),
              err, TLO_ERANGE, "2^63");
    /* 2^63 - 1 leaves, the last one: one hash per lower subtree, 62. */
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], max - 2, max - 1, (const uint8_t(*)[HB])proof,
                                          62, root, &err),
              err, TLO_MERKLE_EMISMATCH, "does not lead");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], 5, 5, NULL, 0, root, &err), err, TLO_ERANGE,
              "cannot be in");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], 0, 0, NULL, 0, root, &err), err, TLO_ERANGE,
              "cannot be in");
    CHECK_ERR(tlo_merkle_verify_inclusion(leaves[0], 0, 2, NULL, 1, root, &err), err, TLO_EARG,
              "none given");

    /* Consistency of the largest trees: 1 -> 2^63 (63 hashes), 2^63-1 -> 2^63. */
    CHECK_ERR(tlo_merkle_verify_consistency(1, max, leaves[0], root, (const uint8_t(*)[HB])proof,
                                            63, &err),
              err, TLO_MERKLE_EMISMATCH, "does not extend");
    /* 2^63 - 1 -> 2^63 is the longest proof there is: 64 hashes. */
    CHECK_ERR(tlo_merkle_verify_consistency(max - 1, max, leaves[0], root,
                                            (const uint8_t(*)[HB])proof, 64, &err),
              err, TLO_MERKLE_EMISMATCH, "older");
    CHECK_ERR(tlo_merkle_verify_consistency(max - 1, max, leaves[0], root,
                                            (const uint8_t(*)[HB])proof, 65, &err),
              err, TLO_EFORMAT, "exactly 64");
    CHECK_ERR(tlo_merkle_verify_consistency(max - 1, max, leaves[0], root,
                                            (const uint8_t(*)[HB])proof, 63, &err),
              err, TLO_EFORMAT, "exactly 64");
    CHECK_ERR(tlo_merkle_verify_consistency(3, max + 1, leaves[0], root,
                                            (const uint8_t(*)[HB])proof, 63, &err),
              err, TLO_ERANGE, "2^63");
    CHECK_ERR(tlo_merkle_verify_consistency(9, 8, leaves[0], root, NULL, 0, &err), err, TLO_ERANGE,
              "larger");
    CHECK_ERR(tlo_merkle_verify_consistency(0, 0, root, root, NULL, 0, &err), err, TLO_ERANGE,
              "nothing");
    CHECK_ERR(tlo_merkle_verify_consistency(2, 5, root, root, NULL, 2, &err), err, TLO_EARG,
              "none given");
    CHECK_ERR(tlo_merkle_verify_consistency(2, 5, root, root, NULL, 0, &err), err, TLO_EFORMAT,
              "has 0 hashes");

    /* Making proofs: bounds refused before any leaf is read. */
    leaf_store s = store_of((const uint8_t(*)[HB])leaves, 4);
    uint8_t out[MAXP][HB];
    size_t n = 5;
    CHECK_ERR(tlo_merkle_inclusion_proof(store_get, &s, 4, 4, out, &n, &err), err, TLO_ERANGE,
              "not in a tree");
    CHECK(n == 0);
    CHECK_ERR(tlo_merkle_inclusion_proof(store_get, &s, 0, max + 1, out, &n, &err), err, TLO_ERANGE,
              "2^63");
    CHECK_ERR(tlo_merkle_consistency_proof(store_get, &s, 5, 4, out, &n, &err), err, TLO_ERANGE,
              "larger");
    CHECK_ERR(tlo_merkle_consistency_proof(store_get, &s, 1, max + 1, out, &n, &err), err,
              TLO_ERANGE, "2^63");
    CHECK_ERR(tlo_merkle_inclusion_proof(NULL, &s, 0, 4, out, &n, &err), err, TLO_EARG, "missing");
    CHECK(s.fetches == 0);
    n = 5;
    CHECK(tlo_merkle_consistency_proof(store_get, &s, 4, 4, out, &n, &err) == 0 && n == 0);
}

/* A leaf that cannot be read fails the proof with its code and names it. */
static void test_leaf_source_failure(void)
{
    uint8_t out[MAXP][HB];
    tlo_error err;
    for (uint64_t at = 0; at < 13; at++) {
        leaf_store s = store_of((const uint8_t(*)[HB])leaves, 13);
        s.fail_at = at;
        s.fail_code = TLO_EIO;
        size_t n = 9;
        char needle[64];
        snprintf(needle, sizeof needle, "entry %" PRIu64 ":", at);
        int rc = tlo_merkle_inclusion_proof(store_get, &s, 12 - at, 13, out, &n, &err);
        if (at == 12 - at) { /* the leaf itself is never read */
            CHECK(rc == 0);
            continue;
        }
        CHECK_ERR(rc, err, TLO_EIO, needle);
        CHECK(n == 0 && is_zero(&out[0][0], sizeof out));
        s.fetches = 0;
        s.fail_code = 7; /* a broken callback: positive */
        rc = tlo_merkle_consistency_proof(store_get, &s, 5, 13, out, &n, &err);
        CHECK_ERR(rc, err, TLO_EIO, needle);
        CHECK(n == 0 && is_zero(&out[0][0], sizeof out));
    }
}

static void test_hashes(void)
{
    /* Domain separation: a node is not the leaf of its children's bytes. */
    uint8_t a[HB], b[HB], n1[HB], n2[HB], both[2 * HB];
    hash_of_index(a, 1);
    hash_of_index(b, 2);
    tlo_merkle_node_hash(n1, a, b);
    tlo_merkle_node_hash(n2, b, a);
    memcpy(both, a, HB);
    memcpy(both + HB, b, HB);
    tlo_merkle_leaf_hash(n2, both, sizeof both);
    CHECK(memcmp(n1, n2, HB) != 0);
    tlo_merkle_node_hash(n2, b, a);
    CHECK(memcmp(n1, n2, HB) != 0);
    /* The node hash by its definition, through libsodium; and aliasing. */
    uint8_t buf[1 + 2 * HB] = {1};
    memcpy(buf + 1, both, sizeof both);
    crypto_hash_sha256(n2, buf, sizeof buf);
    CHECK(memcmp(n1, n2, HB) == 0);
    memcpy(n2, a, HB);
    tlo_merkle_node_hash(n2, n2, b);
    CHECK(memcmp(n1, n2, HB) == 0);
    memcpy(n2, b, HB);
    tlo_merkle_node_hash(n2, a, n2);
    CHECK(memcmp(n1, n2, HB) == 0);
    /* The empty tree and the empty leaf differ. */
    tlo_merkle_empty_root(n1);
    tlo_merkle_leaf_hash(n2, NULL, 0);
    CHECK(memcmp(n1, n2, HB) != 0);
    tlo_merkle_root_of_leaves(n2, NULL, 0);
    CHECK(memcmp(n1, n2, HB) == 0);
}

/* What a proof does not bind: the tree size. The path of leaf 0 in a tree of
 * 8 is computed exactly as in a tree of 7 (every sibling is on its right), so
 * the same hashes "prove" it against the same root for either size, as in
 * every RFC 6962 verifier. A root means something only together with the size
 * it was signed with: callers take both from one signed checkpoint. */
static void test_size_not_bound(void)
{
    uint8_t proof[MAXP][HB], root8[HB], root1[HB];
    size_t n = 0;
    leaf_store s = store_of((const uint8_t(*)[HB])leaves, 8);
    tlo_merkle_root_of_leaves(root8, (const uint8_t(*)[HB])leaves, 8);
    CHECK(tlo_merkle_inclusion_proof(store_get, &s, 0, 8, proof, &n, NULL) == 0 && n == 3);
    CHECK(tlo_merkle_verify_inclusion(leaves[0], 0, 7, (const uint8_t(*)[HB])proof, n, root8,
                                      NULL) == 0);
    CHECK(tlo_merkle_verify_inclusion(leaves[0], 0, 5, (const uint8_t(*)[HB])proof, n, root8,
                                      NULL) == 0);
    /* The last leaf's path does depend on the size. */
    CHECK(tlo_merkle_inclusion_proof(store_get, &s, 7, 8, proof, &n, NULL) == 0 && n == 3);
    CHECK(tlo_merkle_verify_inclusion(leaves[7], 7, 8, (const uint8_t(*)[HB])proof, n, root8,
                                      NULL) == 0);
    for (uint64_t size = 1; size < 64; size++)
        if (size != 8)
            CHECK(tlo_merkle_verify_inclusion(leaves[7], 7, size, (const uint8_t(*)[HB])proof, n,
                                              root8, NULL) < 0);
    /* Likewise consistency from size 1. */
    memcpy(root1, leaves[0], HB);
    CHECK(tlo_merkle_consistency_proof(store_get, &s, 1, 8, proof, &n, NULL) == 0 && n == 3);
    CHECK(tlo_merkle_verify_consistency(1, 7, root1, root8, (const uint8_t(*)[HB])proof, n, NULL) ==
          0);
}

int main(void)
{
    if (sodium_init() < 0 || !gcry_check_version("1.10.0")) {
        fprintf(stderr, "cannot initialize libsodium or libgcrypt\n");
        return 1;
    }
    gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++)
        hash_of_index(leaves[i], i);

    test_hashes();

    int n_ref = 0, n_tdev = 0;
    run_file("rfc6962_reference.txt", &n_ref);
    CHECK_MSG(ref_leaves == 8 && n_ref == 10, "reference file: %zu leaves, %d proofs", ref_leaves,
              n_ref);
    int before = records_unexpressible;
    run_file("tdev_testdata.txt", &n_tdev);
    CHECK_MSG(n_tdev == 47, "tdev_testdata.txt: %d probes, expected 47", n_tdev);
    printf("vectors: %d reference proofs, %d upstream probes (%d refused at the type boundary)\n",
           n_ref, n_tdev, records_unexpressible - before);
    test_golden_states();

    test_inclusion_property();
    test_consistency_property();
    test_compact_tree();
    test_state_refused();
    test_large_bounds();
    test_leaf_source_failure();
    test_size_not_bound();
    return tu_finish("chain_merkle");
}
