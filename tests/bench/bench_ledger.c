/* bench_ledger — how fast the custody ledger appends durably and verifies.
 *
 *   1. durable single appends (each its own fsynced transaction): rate, and
 *      latency p50/p99;
 *   2. durable appends in batches of 100 and of 1,000 entries;
 *   3. a ledger of N entries (1,000,000 by default) built in batches, then
 *      verified: entries per second, per core, against the Ed25519
 *      verification limit measured on the same machine;
 *   4. proof sizes at N entries: an inclusion proof and a consistency proof
 *      from N/2, as hashes and as file bytes.
 *
 * Prints figures; asserts nothing about speed. Run by scripts/bench, on a
 * real disk (fsync to tmpfs costs nothing and would flatter appends). */
#include "chain.h"
#include "merkle.h"
#include "note.h"

#include <errno.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint8_t pk[32], *sk;
static uint8_t cpk[32], *csk;

static void die(const char *what, const tlo_error *err)
{
    fprintf(stderr, "bench_ledger: %s: %s\n", what, err ? err->msg : strerror(errno));
    exit(1);
}

/* A new ledger with a valid genesis (countersigned) signed by our key. */
static tlo_chain *fresh(const char *path)
{
    tlo_error err = {0};
    char a[65], b[65], body[1024], sig_hex[129];
    uint8_t sig[64];
    size_t mlen;
    unlink(path);
    char wal[4200];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    tlo_chain *c = tlo_chain_create(path, &err);
    if (!c)
        die("create", &err);
    tlo_hex(a, pk, 32);
    tlo_hex(b, cpk, 32);
    int n = snprintf(body, sizeof body,
                     "admin.box_pk=%s\nadmin.name=Bench\nadmin.pk=%s\ncustodian.box_pk=%s\n"
                     "custodian.pk=%s\norigin=bench.invalid/ledger\n",
                     a, a, b, b);
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, (size_t)n, &mlen);
    crypto_sign_detached(sig, NULL, msg, mlen, csk);
    free(msg);
    tlo_hex(sig_hex, sig, 64);
    n = snprintf(body, sizeof body,
                 "admin.box_pk=%s\nadmin.name=Bench\nadmin.pk=%s\ncustodian.box_pk=%s\n"
                 "custodian.pk=%s\ncustodian.sig=%s\norigin=bench.invalid/ledger\n",
                 a, a, b, b, sig_hex);
    tlo_chain_draft d = {.kind = TLO_ENTRY_GENESIS, .body = (uint8_t *)body, .body_len = (size_t)n};
    tlo_chain_signer s = {.sk = sk};
    memcpy(s.pk, pk, 32);
    if (tlo_chain_append(c, &d, 1, &s, NULL, &err) != 0)
        die("genesis", &err);
    /* Case 1, which the batches' grants name (the table of kinds,
     * chain/rules.c: an entry names only a case opened before it). */
    static const char open_body[] = "info_object=00\ninfo_sha256=00\nwrapped_key_sha256=00\n";
    tlo_chain_draft o = {.kind = TLO_ENTRY_CASE_OPEN,
                         .has_case = true,
                         .body = (const uint8_t *)open_body,
                         .body_len = sizeof open_body - 1};
    o.case_id[0] = 1;
    if (tlo_chain_append(c, &o, 1, &s, NULL, &err) != 0)
        die("case-open", &err);
    return c;
}

/* A segment-like entry body of realistic size (~230 bytes). */
static const char seg_body[] =
    "bytes=1234567\n"
    "ciphertext_sha256=5d41402abc4b2a76b9719d911017c592ae2f6b1a1d6a9a5b0c3f2e1d0c9b8a79\n"
    "duration_ms=4000\n"
    "index=17\n"
    "plaintext_sha256=7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730\n"
    "start_ms=68000\n";

/* A grant of case 1, of a segment entry's size: what an administrator (the
 * bench's one signer) may sign under the table of kinds. */
static const char grant_body[] =
    "actions=view\nexpires_ms=4102444800000\nfrom_ms=0\npurpose=bench: a grant of a "
    "segment entry's size\nsession=5d41402abc4b2a76b9719d911017c592\n"
    "to=7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730\nuntil_ms=68000\n";

static void append_batches(tlo_chain *c, size_t total, size_t per_batch)
{
    static tlo_chain_draft d[1000];
    tlo_chain_signer s = {.sk = sk};
    tlo_error err = {0};
    memcpy(s.pk, pk, 32);
    for (size_t i = 0; i < per_batch; i++) {
        d[i] = (tlo_chain_draft){.kind = TLO_ENTRY_GRANT,
                                 .has_case = true,
                                 .body = (const uint8_t *)grant_body,
                                 .body_len = sizeof grant_body - 1};
        d[i].case_id[0] = 1;
    }
    for (size_t done = 0; done < total; done += per_batch)
        if (tlo_chain_append(c, d, per_batch, &s, NULL, &err) != 0)
            die("append", &err);
}

static int leaf_at(void *ctx, uint64_t index, uint8_t out[TLO_MERKLE_HASH_BYTES])
{
    const uint8_t(*leaves)[TLO_HASH_BYTES] = ctx;
    memcpy(out, leaves[index], TLO_HASH_BYTES);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    long n_big = argc > 2 ? atol(argv[2]) : 1000000;
    char path[4096];
    tlo_error err = {0};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (sodium_init() < 0 || n_big < 2000)
        return 1;
    sk = sodium_malloc(64);
    csk = sodium_malloc(64);
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(cpk, csk);
    snprintf(path, sizeof path, "%s/bench-ledger.db", dir);
    printf("bench_ledger: ledger at %s, %ld CPUs, SQLite %s, libsodium %s\n\n", path, cpus,
           sqlite3_libversion(), sodium_version_string());

    /* 1. Single durable appends. */
    enum { SINGLES = 2000 };
    static double lat[SINGLES];
    tlo_chain *c = fresh(path);
    tlo_chain_signer s = {.sk = sk};
    memcpy(s.pk, pk, 32);
    tlo_chain_draft d = {.kind = TLO_ENTRY_SEGMENT,
                         .body = (const uint8_t *)seg_body,
                         .body_len = sizeof seg_body - 1};
    double t0 = now();
    for (int i = 0; i < SINGLES; i++) {
        double a = now();
        if (tlo_chain_append(c, &d, 1, &s, NULL, &err) != 0)
            die("append", &err);
        lat[i] = now() - a;
    }
    double single = now() - t0;
    qsort(lat, SINGLES, sizeof lat[0], cmp_double);
    printf("durable single appends   %8.0f /s   latency p50 %.2f ms, p99 %.2f ms (%d appends)\n",
           SINGLES / single, lat[SINGLES / 2] * 1e3, lat[SINGLES * 99 / 100] * 1e3, SINGLES);
    tlo_chain_close(c);

    /* 2. Batches. */
    size_t sizes[] = {100, 1000};
    for (int k = 0; k < 2; k++) {
        c = fresh(path);
        size_t total = sizes[k] * 100;
        t0 = now();
        append_batches(c, total, sizes[k]);
        double t = now() - t0;
        printf("durable batches of %-5zu %8.0f entries/s (%zu entries, %.2f ms a batch)\n",
               sizes[k], (double)total / t, total, t / 100 * 1e3);
        tlo_chain_close(c);
    }

    /* 3. A big ledger, verified. */
    c = fresh(path);
    t0 = now();
    size_t want = (size_t)n_big - 1; /* the genesis is the first */
    append_batches(c, want / 1000 * 1000, 1000);
    if (want % 1000)
        append_batches(c, want % 1000, want % 1000);
    uint64_t size;
    double build = now() - t0;
    tlo_chain_size(c, &size, &err);
    printf("built a ledger of %llu entries in %.1f s (%.0f entries/s in batches of 1,000)\n",
           (unsigned long long)size, build, (double)size / build);
    tlo_chain_report r;
    t0 = now();
    if (tlo_chain_verify(c, &r, &err) != 0 || !r.ok)
        die("verify", r.ok ? &err : NULL);
    double ver = now() - t0;

    /* The limit: Ed25519 verifications per second on one core, same size. */
    uint8_t msg[400], sig[64];
    memset(msg, 7, sizeof msg);
    crypto_sign_detached(sig, NULL, msg, 18 + 107 + sizeof seg_body - 1, sk);
    int nv = 20000;
    t0 = now();
    for (int i = 0; i < nv; i++)
        if (crypto_sign_verify_detached(sig, msg, 18 + 107 + sizeof seg_body - 1, pk) != 0)
            return 1;
    double lim = nv / (now() - t0);
    printf("verify                   %8.0f entries/s = %.0f per core on %ld cores (%.1f s)\n",
           (double)size / ver, (double)size / ver / (double)cpus, cpus, ver);
    printf("Ed25519 verify limit     %8.0f /s on one core (%.1f us each); verify per core is "
           "%.0f%% of it\n",
           lim, 1e6 / lim, 100.0 * ((double)size / ver / (double)cpus) / lim);

    /* 4. Proof sizes at this size: real proof files, with a signed checkpoint. */
    uint8_t(*leaves)[TLO_HASH_BYTES], root[TLO_HASH_BYTES];
    if (tlo_chain_leaf_hashes(c, size, &leaves, &err) != 0)
        die("leaves", &err);
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])leaves, size);
    char *cp = NULL, *file = NULL;
    size_t cp_len, file_len;
    if (tlo_checkpoint_sign("bench.invalid/ledger", size, root, "bench.invalid/ledger", csk, &cp,
                            &cp_len, &err) != 0)
        die("checkpoint", &err);
    static tlo_proof_inclusion ip;
    static tlo_proof_consistency cpf;
    static uint8_t hashes[TLO_MERKLE_MAX_PROOF][TLO_HASH_BYTES];
    tlo_entry e;
    uint8_t *ebuf;
    ip.index = size / 2;
    if (tlo_chain_get(c, ip.index, &e, &ebuf, &err) != 0)
        die("get", &err);
    ip.has_extra = true;
    ip.extra_len = tlo_entry_encode(&e, ip.extra, sizeof ip.extra);
    free(ebuf);
    t0 = now();
    if (tlo_merkle_inclusion_proof(leaf_at, leaves, ip.index, size, ip.hashes, &ip.nhashes, &err) !=
        0)
        die("inclusion proof", &err);
    double tp = now() - t0;
    ip.checkpoint = cp;
    ip.checkpoint_len = cp_len;
    if (tlo_proof_inclusion_format(&ip, &file, &file_len, &err) != 0)
        die("format", &err);
    printf("inclusion proof at %llu   %zu hashes, a %zu-byte file (checkpoint and entry "
           "included); made in %.0f ms from the leaf hashes\n",
           (unsigned long long)size, ip.nhashes, file_len, tp * 1e3);
    free(file);
    cpf.old_size = size / 2;
    if (tlo_merkle_consistency_proof(leaf_at, leaves, cpf.old_size, size, hashes, &cpf.nhashes,
                                     &err) != 0)
        die("consistency proof", &err);
    memcpy(cpf.hashes, hashes, cpf.nhashes * TLO_HASH_BYTES);
    cpf.checkpoint = cp;
    cpf.checkpoint_len = cp_len;
    if (tlo_proof_consistency_format(&cpf, &file, &file_len, &err) != 0)
        die("format", &err);
    printf("consistency %llu->%llu  %zu hashes, a %zu-byte file\n",
           (unsigned long long)cpf.old_size, (unsigned long long)size, cpf.nhashes, file_len);
    free(file);
    free(cp);
    free(leaves);
    tlo_chain_close(c);
    unlink(path);
    sodium_free(sk);
    sodium_free(csk);
    return 0;
}
