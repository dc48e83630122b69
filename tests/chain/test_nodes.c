/* The stored Merkle tree and the indexed walks (issue 10 §5): proofs and old
 * roots made from stored subtree hashes equal those made from all the leaves
 * at many sizes; verify finds a changed, missing or extra stored node; a
 * ledger made before the nodes were stored gets them on its first read-write
 * open; the case and kind walks give what a full walk filtered gives. */
#include "chain.h"
#include "merkle.h"
#include "testutil.h"

#include <gcrypt.h>
#include <sodium.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 300

static char dir[] = "/tmp/tlo-nodes.XXXXXX";
static uint8_t admin_pk[32], *admin_sk;
static tlo_chain_signer admin;

static void sql(const char *path, const char *stmt)
{
    sqlite3 *db;
    char *msg = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_MSG(sqlite3_exec(db, stmt, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", stmt, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

/* A genesis by one administrator, then n - 1 entries in batches of varying
 * sizes: markers of three cases, grants of case 1 and 2, checkpoints with no
 * case. Entry i's case is i % 4 (0: none). */
static void build(const char *path, uint64_t n)
{
    tlo_error err = {0};
    char body[1024], a[65], b[65];
    unlink(path);
    tlo_chain *c = tlo_chain_create(path, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    tlo_hex(a, admin_pk, 32);
    uint8_t cpk[32], csk[64], box[32], sig[64];
    crypto_sign_keypair(cpk, csk);
    randombytes_buf(box, 32);
    tlo_hex(b, cpk, 32);
    char boxhex[65], sighex[129];
    tlo_hex(boxhex, box, 32);
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=A\nadmin.pk=%s\ncustodian.box_pk=%s\ncustodian.pk=%s\n"
             "origin=test/nodes\n",
             boxhex, a, boxhex, b);
    size_t mlen;
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, strlen(body), &mlen);
    crypto_sign_detached(sig, NULL, msg, mlen, csk);
    free(msg);
    tlo_hex(sighex, sig, 64);
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=A\nadmin.pk=%s\ncustodian.box_pk=%s\ncustodian.pk=%s\n"
             "custodian.sig=%s\norigin=test/nodes\n",
             boxhex, a, boxhex, b, sighex);
    tlo_chain_draft g = {
        .kind = TLO_ENTRY_GENESIS, .body = (const uint8_t *)body, .body_len = strlen(body)};
    CHECK_MSG(tlo_chain_append(c, &g, 1, &admin, NULL, &err) == 0, "%s", err.msg);
    /* Entries the table of kinds (chain/rules.c) allows the administrator:
     * the opening of cases 1-3 and of numbered cases, grants in cases 1-3,
     * enrolments with no case. */
    static char bodies[64][400];
    tlo_chain_draft d[64];
    uint64_t seq = 1;
    size_t batch = 1;
    bool opened[4] = {false};
    while (seq < n) {
        size_t k = batch < n - seq ? batch : (size_t)(n - seq);
        for (size_t i = 0; i < k; i++, seq++) {
            unsigned cs = (unsigned)(seq % 4);
            memset(&d[i], 0, sizeof d[i]);
            d[i].has_case = cs != 0;
            d[i].case_id[0] = (uint8_t)cs;
            if (cs != 0 && !opened[cs]) {
                opened[cs] = true;
                d[i].kind = TLO_ENTRY_CASE_OPEN;
                snprintf(bodies[i], sizeof bodies[i],
                         "case_number_mac=C-%u\ninfo_object=0\ninfo_sha256=0\n"
                         "wrapped_key_sha256=0\n",
                         cs);
            } else if (seq % 10 == 5) { /* a numbered case, the number not always first */
                d[i].kind = TLO_ENTRY_CASE_OPEN;
                d[i].has_case = true;
                d[i].case_id[0] = 0x80;
                memcpy(d[i].case_id + 1, &seq, sizeof seq);
                snprintf(bodies[i], sizeof bodies[i],
                         seq % 20 == 5 ? "case_number_mac=N-%llu\ninfo_object=x\ninfo_sha256=x\n"
                                         "wrapped_key_sha256=x\n"
                                       : "a=1\ncase_number_mac=N-%llu\ninfo_object=x\n"
                                         "info_sha256=x\nwrapped_key_sha256=x\n",
                         (unsigned long long)(seq % 7));
            } else if (cs == 0) {
                d[i].kind = TLO_ENTRY_USER_ADD;
                snprintf(bodies[i], sizeof bodies[i],
                         "box_pk=%064llx\nname=U\npk=%064llx\nroles=medical\n",
                         (unsigned long long)seq, (unsigned long long)seq);
            } else {
                d[i].kind = TLO_ENTRY_GRANT;
                snprintf(bodies[i], sizeof bodies[i],
                         "actions=view\nexpires_ms=9\nfrom_ms=0\nsession=%032llx\n"
                         "to=%064llx\nuntil_ms=9\n",
                         (unsigned long long)seq, (unsigned long long)seq);
            }
            d[i].body = (const uint8_t *)bodies[i];
            d[i].body_len = strlen(bodies[i]);
        }
        CHECK_MSG(tlo_chain_append(c, d, k, &admin, NULL, &err) == 0, "%s", err.msg);
        batch = batch % 37 + 1;
    }
    tlo_chain_close(c);
}

static uint8_t leaves[N][32];

static int leaf_at(void *ctx, uint64_t i, uint8_t out[32])
{
    (void)ctx;
    memcpy(out, leaves[i], 32);
    return 0;
}

static void read_leaves(tlo_chain *c, uint64_t n)
{
    tlo_error err = {0};
    for (uint64_t i = 0; i < n; i++) {
        tlo_entry e;
        uint8_t *buf;
        CHECK(tlo_chain_get(c, i, &e, &buf, &err) == 0);
        tlo_entry_leaf_hash(&e, leaves[i]);
        free(buf);
    }
}

/* Every size: the root; a spread of (index, size) and (size1, size2): the
 * proofs, byte for byte, and that they check. */
static void compare_proofs(tlo_chain *c, uint64_t n, const char *what)
{
    tlo_error err = {0};
    uint8_t a[64][32], b[64][32], root[32], want[32];
    size_t la, lb;
    int bad = 0;
    for (uint64_t size = 1; size <= n; size++) {
        tlo_merkle_root_of_leaves(want, (const uint8_t(*)[32])leaves, size);
        if (tlo_chain_root_at(c, size, root, &err) != 0 || memcmp(root, want, 32) != 0)
            bad++;
        for (uint64_t i = 0; i < size; i += 1 + size / 9) {
            int r1 = tlo_chain_inclusion_proof(c, i, size, a, &la, &err);
            int r2 = tlo_merkle_inclusion_proof(leaf_at, NULL, i, size, b, &lb, NULL);
            if (r1 != 0 || r2 != 0 || la != lb || memcmp(a, b, la * 32) != 0 ||
                tlo_merkle_verify_inclusion(leaves[i], i, size, (const uint8_t(*)[32])a, la, want,
                                            NULL) != 0)
                bad++;
        }
        for (uint64_t s1 = 1; s1 <= size; s1 += 1 + size / 7) {
            int r1 = tlo_chain_consistency_proof(c, s1, size, a, &la, &err);
            int r2 = tlo_merkle_consistency_proof(leaf_at, NULL, s1, size, b, &lb, NULL);
            uint8_t r1root[32];
            tlo_merkle_root_of_leaves(r1root, (const uint8_t(*)[32])leaves, s1);
            if (r1 != 0 || r2 != 0 || la != lb || memcmp(a, b, la * 32) != 0 ||
                tlo_merkle_verify_consistency(s1, size, r1root, want, (const uint8_t(*)[32])a, la,
                                              NULL) != 0)
                bad++;
        }
    }
    CHECK_MSG(bad == 0, "%s: %d roots or proofs from stored nodes differ from the leaves' (%s)",
              what, bad, err.msg);
    CHECK_ERR(tlo_chain_root_at(c, n + 1, root, &err), err, TLO_ERANGE, "entries");
}

static void test_proofs_from_stored_nodes_equal_proofs_from_leaves(void)
{
    char path[256];
    tlo_error err = {0};
    const uint64_t sizes[] = {1, 2, 3, 7, 8, 9, 64, 65, 127, N};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        snprintf(path, sizeof path, "%s/p%llu.db", dir, (unsigned long long)sizes[s]);
        build(path, sizes[s]);
        tlo_chain *c = tlo_chain_open(path, true, &err);
        CHECK_MSG(c != NULL, "%s", err.msg);
        if (!c)
            continue;
        read_leaves(c, sizes[s]);
        compare_proofs(c, sizes[s], "stored nodes");
        /* The compact tree at any older size, extended, gives today's root. */
        for (uint64_t at = 0; at <= sizes[s]; at += 1 + sizes[s] / 5) {
            tlo_merkle_tree t;
            uint8_t r[32], want[32];
            CHECK_MSG(tlo_chain_tree_at(c, at, &t, &err) == 0, "%s", err.msg);
            for (uint64_t i = at; i < sizes[s]; i++)
                CHECK(tlo_merkle_tree_append(&t, leaves[i], NULL) == 0);
            tlo_merkle_tree_root(&t, r);
            tlo_merkle_root_of_leaves(want, (const uint8_t(*)[32])leaves, sizes[s]);
            CHECK(memcmp(r, want, 32) == 0);
        }
        tlo_chain_report rep;
        CHECK_MSG(tlo_chain_verify(c, &rep, &err) == 0 && rep.ok, "%s %s", err.msg, rep.problem);
        tlo_chain_close(c);
        /* Stored: every complete subtree, no more. */
        sqlite3 *db;
        sqlite3_stmt *st;
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM tree_nodes", -1, &st, NULL) ==
              SQLITE_OK);
        uint64_t want = 0;
        for (unsigned l = 1; l < 64; l++)
            want += sizes[s] >> l;
        CHECK(sqlite3_step(st) == SQLITE_ROW && (uint64_t)sqlite3_column_int64(st, 0) == want);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
}

static tlo_chain_report verify_path(const char *path)
{
    tlo_error err = {0};
    tlo_chain_report r = {0};
    tlo_chain *c = tlo_chain_open(path, true, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (c) {
        CHECK_MSG(tlo_chain_verify(c, &r, &err) == 0, "%s", err.msg);
        tlo_chain_close(c);
    }
    return r;
}

static void test_verify_finds_bad_stored_nodes(void)
{
    char path[256], stmt[512];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/bad.db", dir);
    const char *drop = "DROP TRIGGER tree_nodes_no_update; DROP TRIGGER tree_nodes_no_delete;";

    /* Changed: verify names the node, and a proof through it fails. */
    build(path, 100);
    snprintf(stmt, sizeof stmt,
             "%s UPDATE tree_nodes SET hash = zeroblob(32) WHERE level = 2 "
             "AND idx = 3;",
             drop);
    sql(path, stmt);
    tlo_chain_report r = verify_path(path);
    CHECK_MSG(!r.ok && strstr(r.problem, "level 2, index 3") && strstr(r.problem, "differs"), "%s",
              r.problem);
    tlo_chain *c = tlo_chain_open(path, true, &err);
    if (c) {
        uint8_t proof[64][32], root[32];
        size_t n;
        read_leaves(c, 100);
        tlo_merkle_root_of_leaves(root, (const uint8_t(*)[32])leaves, 100);
        /* entry 8's path has the subtree of entries 12 to 15 beside it */
        CHECK(tlo_chain_inclusion_proof(c, 8, 100, proof, &n, &err) == 0);
        CHECK(tlo_merkle_verify_inclusion(leaves[8], 8, 100, (const uint8_t(*)[32])proof, n, root,
                                          NULL) == TLO_MERKLE_EMISMATCH);
        tlo_chain_close(c);
    }

    /* Missing. */
    build(path, 100);
    snprintf(stmt, sizeof stmt, "%s DELETE FROM tree_nodes WHERE level = 5 AND idx = 1;", drop);
    sql(path, stmt);
    r = verify_path(path);
    CHECK_MSG(!r.ok && strstr(r.problem, "level 5, index 1") && strstr(r.problem, "missing"), "%s",
              r.problem);

    /* Extra: a node of a subtree that is not complete. */
    build(path, 100);
    sql(path, "INSERT INTO tree_nodes VALUES (6, 1, zeroblob(32));");
    r = verify_path(path);
    CHECK_MSG(!r.ok && strstr(r.problem, "Merkle nodes"), "%s", r.problem);

    /* The triggers refuse changes by our own code paths. */
    build(path, 10);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "UPDATE tree_nodes SET hash = zeroblob(32)", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    sqlite3_close(db);
}

static void test_old_ledger_gets_nodes_on_first_writable_open(void)
{
    char path[256];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/old.db", dir);
    build(path, 77);
    sql(path, "DROP TABLE tree_nodes; DROP INDEX entries_by_kind;");

    /* Read-only: no nodes; proofs still right, from the leaves. */
    tlo_chain *c = tlo_chain_open(path, true, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (c) {
        read_leaves(c, 77);
        compare_proofs(c, 77, "read-only, no nodes");
        tlo_chain_report r;
        CHECK(tlo_chain_verify(c, &r, &err) == 0 && r.ok);
        tlo_chain_close(c);
    }
    /* Read-write: built, then kept by appends. */
    c = tlo_chain_open(path, false, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (c) {
        char add[200];
        snprintf(add, sizeof add, "box_pk=%064x\nname=U\npk=%064x\nroles=medical\n", 1000000,
                 1000000);
        tlo_chain_draft d = {
            .kind = TLO_ENTRY_USER_ADD, .body = (const uint8_t *)add, .body_len = strlen(add)};
        CHECK_MSG(tlo_chain_append(c, &d, 1, &admin, NULL, &err) == 0, "%s", err.msg);
        tlo_chain_close(c);
    }
    c = tlo_chain_open(path, true, &err);
    if (c) {
        read_leaves(c, 78);
        compare_proofs(c, 78, "rebuilt");
        tlo_chain_report r;
        CHECK(tlo_chain_verify(c, &r, &err) == 0 && r.ok);
        tlo_chain_close(c);
    }
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM tree_nodes", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == 78 - 4);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

/* ---- walks ---------------------------------------------------------------- */

typedef struct seen {
    uint64_t seq[N];
    size_t n;
    int has_case; /* -1: any */
    uint8_t case_id;
    int kind; /* -1: any */
    uint64_t from;
} seen;

static int collect(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    seen *s = ctx;
    uint8_t want[32];
    (void)err;
    tlo_entry_leaf_hash(e, want);
    CHECK(memcmp(want, leaf, 32) == 0);
    if (s->has_case >= 0 && (!e->has_case || e->case_id[0] != s->case_id))
        return 0;
    if (s->kind >= 0 && e->kind != s->kind)
        return 0;
    if (e->seq < s->from)
        return 0;
    s->seq[s->n++] = e->seq;
    return 0;
}

static void test_case_and_kind_walks_equal_filtered_full_walk(void)
{
    char path[256];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/walk.db", dir);
    build(path, N);
    tlo_chain *c = tlo_chain_open(path, true, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    if (!c)
        return;
    int bad = 0;
    for (uint8_t cs = 0; cs < 5; cs++)
        for (uint64_t from = 0; from < N + 2; from += 61) {
            static seen full, idx;
            uint8_t id[TLO_CASE_ID_BYTES] = {cs};
            full = (seen){.has_case = 1, .case_id = cs, .kind = -1, .from = from};
            idx = (seen){.has_case = -1, .kind = -1};
            CHECK(tlo_chain_walk(c, 0, collect, &full, &err) == 0);
            CHECK(tlo_chain_walk_case(c, id, from, collect, &idx, &err) == 0);
            if (full.n != idx.n || memcmp(full.seq, idx.seq, full.n * 8) != 0)
                bad++;
            if (cs >= 1 && cs <= 3 && from == 0 && full.n == 0)
                bad++; /* the ledger has entries of cases 1 to 3 */
        }
    const uint16_t kinds[] = {TLO_ENTRY_GENESIS, TLO_ENTRY_GRANT, TLO_ENTRY_MARKER,
                              TLO_ENTRY_CHECKPOINT, TLO_ENTRY_SEGMENT};
    for (size_t k = 0; k < 5; k++)
        for (uint64_t from = 0; from < N; from += 97) {
            static seen full, idx;
            full = (seen){.has_case = -1, .kind = kinds[k], .from = from};
            idx = (seen){.has_case = -1, .kind = -1};
            CHECK(tlo_chain_walk(c, 0, collect, &full, &err) == 0);
            CHECK(tlo_chain_walk_kind(c, kinds[k], from, collect, &idx, &err) == 0);
            if (full.n != idx.n || memcmp(full.seq, idx.seq, full.n * 8) != 0)
                bad++;
        }
    /* By case number: the case-open entries whose body has that number. */
    for (unsigned k = 0; k < 8; k++) {
        static seen full, idx;
        char number[16];
        snprintf(number, sizeof number, "N-%u", k);
        full = (seen){.has_case = -1, .kind = TLO_ENTRY_CASE_OPEN};
        idx = (seen){.has_case = -1, .kind = -1};
        CHECK(tlo_chain_walk(c, 0, collect, &full, &err) == 0);
        size_t keep = 0;
        for (size_t i = 0; i < full.n; i++) {
            tlo_entry e;
            uint8_t *buf;
            char got[16];
            CHECK(tlo_chain_get(c, full.seq[i], &e, &buf, &err) == 0);
            if (tlo_entry_str(&e, "case_number_mac", got, sizeof got) == 0 && !strcmp(got, number))
                full.seq[keep++] = full.seq[i];
            free(buf);
        }
        full.n = keep;
        CHECK(tlo_chain_walk_case_number(c, number, collect, &idx, &err) == 0);
        if (full.n != idx.n || memcmp(full.seq, idx.seq, full.n * 8) != 0 ||
            (k < 7 && full.n == 0) || (k == 7 && full.n != 0))
            bad++;
    }
    CHECK_MSG(bad == 0, "%d indexed walks differ from the filtered full walk", bad);
    /* The case walk uses the index (SQLite's plan says so). */
    sqlite3 *db;
    sqlite3_stmt *st;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db,
                             "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE kind = 30 AND seq "
                             ">= 0 ORDER BY seq",
                             -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_MSG(strstr((const char *)sqlite3_column_text(st, 3), "entries_by_kind") != NULL, "%s",
              sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    CHECK(
        sqlite3_prepare_v2(db,
                           "EXPLAIN QUERY PLAN SELECT seq FROM entries WHERE kind = 10 AND "
                           "substr(body, instr(X'0A' || body, X'0A' || CAST('case_number_mac=' AS "
                           "BLOB)) + 16, instr(substr(body, instr(X'0A' || body, X'0A' || "
                           "CAST('case_number_mac=' AS BLOB)) + 16), X'0A') - 1) = X'00'",
                           -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_MSG(strstr((const char *)sqlite3_column_text(st, 3), "entries_by_case_number") != NULL,
              "%s", sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    sqlite3_close(db);
    tlo_chain_close(c);
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    CHECK(gcry_check_version(NULL) != NULL);
    CHECK(mkdtemp(dir) != NULL);
    admin_sk = sodium_malloc(64);
    crypto_sign_keypair(admin_pk, admin_sk);
    memcpy(admin.pk, admin_pk, 32);
    admin.sk = admin_sk;
    test_proofs_from_stored_nodes_equal_proofs_from_leaves();
    test_verify_finds_bad_stored_nodes();
    test_old_ledger_gets_nodes_on_first_writable_open();
    test_case_and_kind_walks_equal_filtered_full_walk();
    sodium_free(admin_sk);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish("chain_nodes");
}
