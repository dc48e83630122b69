/* The custody ledger: appends, batches, concurrent writers, and tampering
 * that verify must find and name. Tampering uses plain SQL on the database
 * file, as someone with the sqlite3 command line would. */
#include "chain.h"
#include "merkle.h"
#include "testutil.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct person {
    uint8_t pk[32], box_pk[32];
    uint8_t *sk, *box_sk;
    tlo_chain_signer signer;
} person;

static person make_person(void)
{
    person p;
    p.sk = sodium_malloc(64);
    p.box_sk = sodium_malloc(32);
    crypto_sign_keypair(p.pk, p.sk);
    crypto_box_keypair(p.box_pk, p.box_sk);
    memcpy(p.signer.pk, p.pk, 32);
    p.signer.sk = p.sk;
    return p;
}

static void free_person(person *p)
{
    sodium_free(p->sk);
    sodium_free(p->box_sk);
}

static char *hex32(char out[65], const uint8_t *k)
{
    tlo_hex(out, k, 32);
    return out;
}

static int append_text(tlo_chain *c, uint16_t kind, const char *body, const person *by,
                       tlo_error *err)
{
    tlo_chain_draft d = {.kind = kind, .body = (const uint8_t *)body, .body_len = strlen(body)};
    return tlo_chain_append(c, &d, 1, &by->signer, NULL, err);
}

static char dir[] = "/tmp/tlo-ledger.XXXXXX";
static person admin, custodian, officer;
static int genesis_bad_countersig;

/* A ledger with genesis, one enrolled interviewer and `extra` markers. */
static void build(const char *path, int extra)
{
    tlo_error err = {0};
    char body[1024], a[65], b[65], c2[65], d[65];
    unlink(path);
    tlo_chain *c = tlo_chain_create(path, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    char sighex[129];
    uint8_t sig[64];
    size_t mlen;
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=Admin Ahlberg\nadmin.pk=%s\ncustodian.box_pk=%s\n"
             "custodian.pk=%s\norigin=test.tellonce.invalid/vault\n",
             hex32(a, admin.box_pk), hex32(b, admin.pk), hex32(c2, custodian.box_pk),
             hex32(d, custodian.pk));
    uint8_t *msg = tlo_chain_genesis_message((const uint8_t *)body, strlen(body), &mlen);
    crypto_sign_detached(sig, NULL, msg, mlen, custodian.sk);
    free(msg);
    tlo_hex(sighex, sig, 64);
    if (genesis_bad_countersig)
        sighex[0] = sighex[0] == '0' ? '1' : '0';
    snprintf(body, sizeof body,
             "admin.box_pk=%s\nadmin.name=Admin Ahlberg\nadmin.pk=%s\ncustodian.box_pk=%s\n"
             "custodian.pk=%s\ncustodian.sig=%s\norigin=test.tellonce.invalid/vault\n",
             a, b, c2, d, sighex);
    CHECK_MSG(append_text(c, TLO_ENTRY_GENESIS, body, &admin, &err) == 0, "%s", err.msg);
    snprintf(body, sizeof body, "box_pk=%s\nname=张警官\npk=%s\nroles=interviewer\n",
             hex32(a, officer.box_pk), hex32(b, officer.pk));
    CHECK_MSG(append_text(c, TLO_ENTRY_USER_ADD, body, &admin, &err) == 0, "%s", err.msg);
    for (int i = 0; i < extra; i++) {
        snprintf(body, sizeof body, "at_ms=%d\ntext=marker %d\n", i * 1000, i);
        tlo_chain_draft dr = {.kind = TLO_ENTRY_MARKER,
                              .has_case = true,
                              .body = (const uint8_t *)body,
                              .body_len = strlen(body)};
        dr.case_id[0] = 7;
        CHECK(tlo_chain_append(c, &dr, 1, &officer.signer, NULL, &err) == 0);
    }
    tlo_chain_close(c);
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

static void sql(const char *path, const char *stmt)
{
    sqlite3 *db;
    char *msg = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_MSG(sqlite3_exec(db, stmt, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", stmt, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static void test_basic(void)
{
    char path[256];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/basic.db", dir);
    build(path, 10);

    tlo_chain_report r = verify_path(path);
    CHECK_MSG(r.ok, "%s", r.problem);
    CHECK(r.entries == 12 && r.signatures == 12 && r.first_bad == -1);

    /* The stored root equals MTH of the leaf hashes, recomputed here. */
    tlo_chain *c = tlo_chain_open(path, false, &err);
    uint8_t leaves[12][32], root[32], stored[32];
    uint64_t size;
    for (uint64_t i = 0; i < 12; i++) {
        tlo_entry e;
        uint8_t *buf;
        CHECK(tlo_chain_get(c, i, &e, &buf, &err) == 0);
        tlo_entry_leaf_hash(&e, leaves[i]);
        if (i > 0)
            CHECK(memcmp(e.prev, leaves[i - 1], 32) == 0);
        free(buf);
    }
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[32])leaves, 12);
    CHECK(tlo_chain_root(c, &size, stored, &err) == 0 && size == 12);
    CHECK(memcmp(root, stored, 32) == 0 && memcmp(root, r.root, 32) == 0);

    /* A batch is one transaction with consecutive numbers. */
    tlo_chain_draft batch[100];
    for (int i = 0; i < 100; i++)
        batch[i] = (tlo_chain_draft){
            .kind = TLO_ENTRY_SEGMENT, .body = (const uint8_t *)"index=1\n", .body_len = 8};
    uint64_t first;
    CHECK(tlo_chain_append(c, batch, 100, &officer.signer, &first, &err) == 0 && first == 12);
    CHECK(tlo_chain_size(c, &size, &err) == 0 && size == 112);
    /* A batch with one bad body appends nothing. */
    batch[50].body = (const uint8_t *)"B=not canonical\n";
    batch[50].body_len = 16;
    CHECK_ERR(tlo_chain_append(c, batch, 100, &officer.signer, &first, &err), err, TLO_EARG,
              "entry 50");
    CHECK(tlo_chain_size(c, &size, &err) == 0 && size == 112);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(r.ok && r.entries == 112, "%s", r.problem);

    sqlite3 *db;
    sqlite3_open(path, &db);
    CHECK(sqlite3_exec(db, "UPDATE entries SET time_ms = 0 WHERE seq = 3", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    CHECK(sqlite3_exec(db, "DELETE FROM entries WHERE seq = 3", NULL, NULL, NULL) ==
          SQLITE_CONSTRAINT);
    sqlite3_close(db);

    /* Creating over an existing file is refused. */
    CHECK(tlo_chain_create(path, &err) == NULL && err.code == TLO_EEXIST);
}

/* Each tampering must fail verification and name the entry. */
static void tamper(const char *name, const char *stmt, int64_t expect_bad, const char *needle)
{
    char path[256];
    snprintf(path, sizeof path, "%s/tamper.db", dir);
    build(path, 6); /* entries 0..7 */
    sql(path, stmt);
    tlo_chain_report r = verify_path(path);
    CHECK_MSG(!r.ok, "%s: verify passed", name);
    CHECK_MSG(r.first_bad == expect_bad, "%s: first bad %lld, expected %lld (%s)", name,
              (long long)r.first_bad, (long long)expect_bad, r.problem);
    CHECK_MSG(strstr(r.problem, needle) != NULL, "%s: \"%s\" lacks \"%s\"", name, r.problem,
              needle);
}

static void test_tampering(void)
{
#define NOTRIG "DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete; "
    tamper("body byte",
           NOTRIG "UPDATE entries SET body = CAST('at_ms=3000\ntext=marker 4\n' AS "
                  "BLOB) WHERE seq = 5",
           5, "entry 5 has an invalid signature");
    tamper("time", NOTRIG "UPDATE entries SET time_ms = time_ms + 1 WHERE seq = 4", 4,
           "entry 4 has an invalid signature");
    tamper("signature", NOTRIG "UPDATE entries SET sig = zeroblob(64) WHERE seq = 2", 2,
           "entry 2 has an invalid signature");
    tamper("prev hash", NOTRIG "UPDATE entries SET prev = zeroblob(32) WHERE seq = 6", 6,
           "entry 6 does not link");
    tamper("kind", NOTRIG "UPDATE entries SET kind = 42 WHERE seq = 3", 3,
           "entry 3 has an invalid signature");
    tamper("case", NOTRIG "UPDATE entries SET case_id = NULL WHERE seq = 3", 3,
           "entry 3 has an invalid signature");
    tamper("delete a row", NOTRIG "DELETE FROM entries WHERE seq = 4", 4, "entry 4 is missing");
    tamper("swap two rows",
           NOTRIG "UPDATE entries SET seq = 100 WHERE seq = 3; UPDATE entries SET seq = 3 WHERE "
                  "seq = 4; UPDATE entries SET seq = 4 WHERE seq = 100",
           3, "entry 3");
    tamper("truncate the last entries", NOTRIG "DELETE FROM entries WHERE seq >= 6", 6,
           "stored Merkle tree");
    tamper("replace the genesis", NOTRIG "UPDATE entries SET actor = zeroblob(32) WHERE seq = 0", 0,
           "never enrolled");
    tamper("a malformed row", NOTRIG "UPDATE entries SET sig = x'00' WHERE seq = 5", 5,
           "entry 5 is malformed");
#undef NOTRIG
}

static void test_keys(void)
{
    char path[256], body[512], a[65], b[65];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/keys.db", dir);
    build(path, 1);
    person stranger = make_person();
    tlo_chain *c = tlo_chain_open(path, false, &err);
    /* An entry by a key never enrolled. */
    CHECK(append_text(c, TLO_ENTRY_MARKER, "text=hello\n", &stranger, &err) == 0);
    tlo_chain_close(c);
    tlo_chain_report r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 3 && strstr(r.problem, "never enrolled"), "%s", r.problem);

    /* An interviewer cannot enrol people. */
    build(path, 0);
    c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "box_pk=%s\nname=X\npk=%s\nroles=admin\n",
             hex32(a, stranger.box_pk), hex32(b, stranger.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_ADD, body, &officer, &err) == 0);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 2 && strstr(r.problem, "not an administrator"), "%s",
              r.problem);

    /* After revocation a key may not sign. */
    build(path, 0);
    c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "pk=%s\nreason=left the unit\n", hex32(a, officer.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_REVOKE, body, &admin, &err) == 0);
    CHECK(append_text(c, TLO_ENTRY_MARKER, "text=late\n", &officer, &err) == 0);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 3 && strstr(r.problem, "revoked at entry 2"), "%s",
              r.problem);
    free_person(&stranger);

    /* The genesis must carry a valid countersignature by the custodian. */
    genesis_bad_countersig = 1;
    build(path, 0);
    genesis_bad_countersig = 0;
    r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 0 && strstr(r.problem, "countersignature"), "%s", r.problem);
}

/* Two processes appending 1,000 entries each at once: one valid chain. */
static void test_concurrent(void)
{
    char path[256];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/concurrent.db", dir);
    build(path, 0);
    pid_t pids[2];
    for (int p = 0; p < 2; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            tlo_chain *c = tlo_chain_open(path, false, &err);
            int failures = c ? 0 : 1;
            char body[64];
            for (int i = 0; c && i < 1000; i++) {
                snprintf(body, sizeof body, "text=writer %d entry %d\n", p, i);
                if (append_text(c, TLO_ENTRY_MARKER, body, &officer, &err) != 0) {
                    fprintf(stderr, "writer %d: %s\n", p, err.msg);
                    failures++;
                }
            }
            tlo_chain_close(c);
            _exit(failures ? 1 : 0);
        }
    }
    for (int p = 0; p < 2; p++) {
        int status;
        CHECK(waitpid(pids[p], &status, 0) == pids[p]);
        CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed", p);
    }
    tlo_chain_report r = verify_path(path);
    CHECK_MSG(r.ok && r.entries == 2002, "%s (%llu entries)", r.problem,
              (unsigned long long)r.entries);
}

/* Signatures are checked in batches on several threads: the earliest
 * failure must win, whether it is a signature or a link, in any batch. */
static void test_batched_signatures(void)
{
    char path[256], pristine[256], cmd[700];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/big.db", dir);
    snprintf(pristine, sizeof pristine, "%s/big-pristine.db", dir);
    build(path, 0);
    tlo_chain *c = tlo_chain_open(path, false, &err);
    static tlo_chain_draft batch[1000];
    for (int i = 0; i < 1000; i++)
        batch[i] = (tlo_chain_draft){
            .kind = TLO_ENTRY_SEGMENT, .body = (const uint8_t *)"index=7\n", .body_len = 8};
    for (int k = 0; k < 10; k++)
        CHECK(tlo_chain_append(c, batch, 1000, &officer.signer, NULL, &err) == 0);
    tlo_chain_close(c);
    tlo_chain_report r = verify_path(path);
    CHECK_MSG(r.ok && r.entries == 10002 && r.signatures == 10002, "%s", r.problem);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, pristine);
    CHECK(system(cmd) == 0);

    static const struct {
        const char *sql;
        int64_t bad;
        const char *needle;
    } cases[] = {
        {"UPDATE entries SET sig = zeroblob(64) WHERE seq IN (4500, 9000)", 4500, "signature"},
        {"UPDATE entries SET sig = zeroblob(64) WHERE seq = 100; "
         "UPDATE entries SET prev = zeroblob(32) WHERE seq = 4700",
         100, "signature"},
        {"UPDATE entries SET prev = zeroblob(32) WHERE seq = 200; "
         "UPDATE entries SET sig = zeroblob(64) WHERE seq = 300",
         200, "does not link"},
        {"UPDATE entries SET sig = zeroblob(64) WHERE seq = 10001", 10001, "signature"},
        {"UPDATE entries SET sig = zeroblob(64) WHERE seq = 4095", 4095, "signature"},
        {"UPDATE entries SET sig = zeroblob(64) WHERE seq = 4097", 4097, "signature"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", pristine, path);
        CHECK(system(cmd) == 0);
        char stmt[512];
        snprintf(stmt, sizeof stmt, "DROP TRIGGER entries_no_update; %s", cases[i].sql);
        sql(path, stmt);
        r = verify_path(path);
        CHECK_MSG(!r.ok && r.first_bad == cases[i].bad && strstr(r.problem, cases[i].needle),
                  "case %zu: first bad %lld, expected %lld: %s", i, (long long)r.first_bad,
                  (long long)cases[i].bad, r.problem);
        CHECK_MSG(r.entries == (uint64_t)cases[i].bad, "case %zu: %llu entries counted", i,
                  (unsigned long long)r.entries);
    }
}

int main(void)
{
    CHECK(sodium_init() >= 0);
    CHECK(mkdtemp(dir) != NULL);
    admin = make_person();
    custodian = make_person();
    officer = make_person();
    test_basic();
    test_tampering();
    test_keys();
    test_concurrent();
    test_batched_signatures();
    free_person(&admin);
    free_person(&custodian);
    free_person(&officer);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish("chain_ledger");
}
