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

/* A case-open entry of case n (nothing else needs to come before it under
 * the table of kinds, chain/rules.c): the tests' filler. body holds 256. */
static tlo_chain_draft filler(uint32_t n, char *body)
{
    tlo_chain_draft d = {.kind = TLO_ENTRY_CASE_OPEN, .has_case = true};
    snprintf(body, 256, "info_object=%032x\ninfo_sha256=%064x\nwrapped_key_sha256=%064x\n", n, n,
             n);
    d.case_id[0] = 0xca;
    memcpy(d.case_id + 4, &n, sizeof n);
    d.body = (const uint8_t *)body;
    d.body_len = strlen(body);
    return d;
}

static int append_filler(tlo_chain *c, uint32_t n, const person *by, tlo_error *err)
{
    char body[256];
    tlo_chain_draft d = filler(n, body);
    return tlo_chain_append(c, &d, 1, &by->signer, NULL, err);
}

static char dir[] = "/tmp/tlo-ledger.XXXXXX";
static person admin, custodian, officer;
static int genesis_bad_countersig;

/* A ledger with genesis, one enrolled interviewer and `extra` case-opens. */
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
    for (int i = 0; i < extra; i++)
        CHECK_MSG(append_filler(c, (uint32_t)i, &officer, &err) == 0, "%s", err.msg);
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
    static char bodies[100][256];
    for (int i = 0; i < 100; i++)
        batch[i] = filler(1000 + (uint32_t)i, bodies[i]);
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
           NOTRIG "UPDATE entries SET body = (SELECT body FROM entries WHERE seq = 4) "
                  "WHERE seq = 5",
           5, "entry 5 has an invalid signature");
    tamper("time", NOTRIG "UPDATE entries SET time_ms = time_ms + 1 WHERE seq = 4", 4,
           "entry 4 has an invalid signature");
    tamper("signature", NOTRIG "UPDATE entries SET sig = zeroblob(64) WHERE seq = 2", 2,
           "entry 2 has an invalid signature");
    tamper("prev hash", NOTRIG "UPDATE entries SET prev = zeroblob(32) WHERE seq = 6", 6,
           "entry 6 does not link");
    /* A changed kind or case breaks the table's rules before the signature. */
    tamper("kind", NOTRIG "UPDATE entries SET kind = 42 WHERE seq = 3", 3,
           "entry 3 (export) names a case that no case-open entry before it opened");
    tamper("kind to another the signer may sign",
           NOTRIG "UPDATE entries SET kind = 24 WHERE seq = 3", 3,
           "entry 3 (session-recovered) names a case that no case-open entry before it opened");
    tamper("case", NOTRIG "UPDATE entries SET case_id = NULL WHERE seq = 3", 3,
           "entry 3 (case-open) does not name a case");
    tamper("case to another",
           NOTRIG "UPDATE entries SET case_id = (SELECT case_id FROM entries "
                  "WHERE seq = 2) WHERE seq = 3",
           3, "entry 3 opens a case that was already opened");
    tamper("delete a row", NOTRIG "DELETE FROM entries WHERE seq = 4", 4, "entry 4 is missing");
    tamper("swap two rows",
           NOTRIG "UPDATE entries SET seq = 100 WHERE seq = 3; UPDATE entries SET seq = 3 WHERE "
                  "seq = 4; UPDATE entries SET seq = 4 WHERE seq = 100",
           3, "entry 3");
    tamper("truncate the last entries", NOTRIG "DELETE FROM entries WHERE seq >= 6", 6,
           "stored Merkle tree");
    tamper("replace the genesis", NOTRIG "UPDATE entries SET actor = zeroblob(32) WHERE seq = 0", 0,
           "not signed by the administrator it enrols");
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
    CHECK(append_filler(c, 50, &stranger, &err) == 0);
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
    CHECK_MSG(!r.ok && r.first_bad == 2 &&
                  strstr(r.problem, "entry 2 (user-add) is signed by a key of interviewer; only an "
                                    "administrator may sign it"),
              "%s", r.problem);

    /* After revocation a key may not sign. */
    build(path, 0);
    c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "pk=%s\nreason=left the unit\n", hex32(a, officer.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_REVOKE, body, &admin, &err) == 0);
    CHECK(append_filler(c, 51, &officer, &err) == 0);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 3 && strstr(r.problem, "revoked at entry 2"), "%s",
              r.problem);

    /* user_activated_by_another_key: a person activates their own
     * enrolment, signed by that key; an administrator cannot do it for them. */
    build(path, 0);
    c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "name=张警官\npk=%s\n", hex32(a, officer.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_ACTIVATED, body, &admin, &err) == 0);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(!r.ok && r.first_bad == 2 &&
                  strstr(r.problem, "entry 2 (user-activated) activates a key other than the one "
                                    "that signed it"),
              "%s", r.problem);
    build(path, 0);
    c = tlo_chain_open(path, false, &err);
    CHECK(append_text(c, TLO_ENTRY_USER_ACTIVATED, body, &officer, &err) == 0);
    tlo_chain_close(c);
    r = verify_path(path);
    CHECK_MSG(r.ok, "user_activated_by_itself: %s", r.problem);
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
            for (int i = 0; c && i < 1000; i++) {
                if (append_filler(c, (uint32_t)(p * 100000 + i), &officer, &err) != 0) {
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
    static char bodies[1000][256];
    for (int k = 0; k < 10; k++) {
        for (int i = 0; i < 1000; i++)
            batch[i] = filler((uint32_t)(k * 1000 + i), bodies[i]);
        CHECK(tlo_chain_append(c, batch, 1000, &officer.signer, NULL, &err) == 0);
    }
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

/* Appends kind with body in case 0xca.. (filler 0) signed by `by`, to a copy
 * of the ledger at base, and verifies: the problem, or "" when it passes. */
static void expect_kind(const char *base, uint16_t kind, const char *body, const person *by,
                        const char *needle)
{
    char path[300], cmd[700];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/kinds-try.db", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", base, path);
    CHECK(system(cmd) == 0);
    tlo_chain *c = tlo_chain_open(path, false, &err);
    char fb[256];
    tlo_chain_draft d = filler(0, fb);
    d.kind = kind;
    d.body = (const uint8_t *)body;
    d.body_len = strlen(body);
    CHECK_MSG(tlo_chain_append(c, &d, 1, &by->signer, NULL, &err) == 0, "%s", err.msg);
    tlo_chain_close(c);
    tlo_chain_report r = verify_path(path);
    if (!needle[0])
        CHECK_MSG(r.ok, "%s kind %u: %s", body, kind, r.problem);
    else
        CHECK_MSG(!r.ok && strstr(r.problem, needle), "kind %u by the wrong signer: %s", kind,
                  r.ok ? "verify passed" : r.problem);
}

/* The finding: verify accepted access-granted, export, checkpoint, case-view
 * and marker entries signed by a prosecutor, a session's segments signed by
 * anyone, and never checked a checkpoint entry's root. */
static void test_who_signs_which_kind(void)
{
    char path[256], body[600], a[65], b[65];
    tlo_error err = {0};
    person prosecutor = make_person(), other = make_person();
    snprintf(path, sizeof path, "%s/kinds.db", dir);
    build(path, 1); /* 0 genesis, 1 officer, 2 case-open of filler 0 */
    tlo_chain *c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "box_pk=%s\nname=王芳\npk=%s\nroles=prosecutor\n",
             hex32(a, prosecutor.box_pk), hex32(b, prosecutor.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_ADD, body, &admin, &err) == 0); /* 3 */
    snprintf(body, sizeof body, "box_pk=%s\nname=李警官\npk=%s\nroles=interviewer\n",
             hex32(a, other.box_pk), hex32(b, other.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_ADD, body, &admin, &err) == 0); /* 4 */
    char fb[256];
    tlo_chain_draft d = filler(0, fb);
    static const char start[] = "cameras=2\nmicrophones=1\nroom=simulated\n"
                                "session=00112233445566778899aabbccddeeff\n";
    d.kind = TLO_ENTRY_SESSION_START;
    d.body = (const uint8_t *)start;
    d.body_len = strlen(start);
    CHECK(tlo_chain_append(c, &d, 1, &officer.signer, NULL, &err) == 0); /* 5 */
    tlo_chain_close(c);
    CHECK_MSG(verify_path(path).ok, "%s", verify_path(path).problem);

    static const char seg[] = "bytes=1\nciphertext_sha256=00\nend_ms=4000\nindex=0\nobject=00\n"
                              "plaintext_sha256=00\nsession=00112233445566778899aabbccddeeff\n"
                              "start_ms=0\n";
    static const char seg1[] = "bytes=1\nciphertext_sha256=00\nend_ms=4000\nindex=1\nobject=00\n"
                               "plaintext_sha256=00\nsession=00112233445566778899aabbccddeeff\n"
                               "start_ms=0\n";
    static const char mark[] = "at_ms=1\nsession=00112233445566778899aabbccddeeff\ntext=x\n";
    static const char end[] =
        "segments=0\nsession=00112233445566778899aabbccddeeff\nstatus=ended\n";
    expect_kind(path, TLO_ENTRY_SEGMENT, seg, &officer, "");
    expect_kind(path, TLO_ENTRY_SEGMENT, seg, &other,
                "entry 6 (segment) is signed by a key of interviewer; only the key that started "
                "the session");
    expect_kind(path, TLO_ENTRY_SEGMENT, seg1, &officer,
                "logs segment 1 of its session, but the "
                "next one is 0");
    expect_kind(path, TLO_ENTRY_SEGMENT, seg, &custodian, "only the key that started the session");
    expect_kind(path, TLO_ENTRY_SESSION_END, end, &other, "only the key that started the session");
    expect_kind(path, TLO_ENTRY_SESSION_END, end, &officer, "");
    expect_kind(path, TLO_ENTRY_DEVICE_EVENT,
                "at_ms=1\ndevice=camera 1\nevent=lost\nsession=00112233445566778899aabbccddeeff\n",
                &prosecutor, "only the key that started the session");
    expect_kind(path, TLO_ENTRY_MARKER, mark, &other, "");
    expect_kind(path, TLO_ENTRY_MARKER, mark, &prosecutor,
                "entry 6 (marker) is signed by a key of prosecutor; only the session's recorder "
                "or an interviewer may sign it");
    expect_kind(path, TLO_ENTRY_ACCESS_GRANTED,
                "action=view\nsession=00112233445566778899aabbccddeeff\n", &prosecutor,
                "entry 6 (access-granted) is signed by a key of prosecutor; only the custodian");
    expect_kind(path, TLO_ENTRY_ACCESS_GRANTED,
                "action=view\nsession=00112233445566778899aabbccddeeff\n", &custodian, "");
    expect_kind(path, TLO_ENTRY_EXPORT,
                "access=6\nclip_sha256=00\nsession=00112233445566778899aabbccddeeff\n", &prosecutor,
                "only the custodian");
    expect_kind(path, TLO_ENTRY_CASE_VIEW, "actor=00\nresult=shown\n", &prosecutor,
                "only the custodian");
    expect_kind(path, TLO_ENTRY_GRANT,
                "actions=view\nexpires_ms=9\nfrom_ms=0\nsession=00112233445566778899aabbccddeeff"
                "\nto=00\nuntil_ms=9\n",
                &prosecutor, "only an administrator");

    /* A checkpoint entry: the custodian's, and its root that of the size. */
    uint8_t root[32];
    uint64_t size;
    char rh[65];
    c = tlo_chain_open(path, false, &err);
    CHECK(tlo_chain_root(c, &size, root, &err) == 0 && size == 6);
    tlo_chain_close(c);
    tlo_hex(rh, root, 32);
    snprintf(body, sizeof body, "root=%s\nsize=6\n", rh);
    char cpath[300], cmd[700];
    snprintf(cpath, sizeof cpath, "%s/kinds-cp.db", dir);
    for (int t = 0; t < 4; t++) {
        snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, cpath);
        CHECK(system(cmd) == 0);
        c = tlo_chain_open(cpath, false, &err);
        if (t == 1)
            body[5] = body[5] == '0' ? '1' : '0'; /* another root */
        if (t == 2)
            snprintf(body, sizeof body, "root=%s\nsize=5\n", rh); /* another size */
        tlo_chain_draft dc = {
            .kind = TLO_ENTRY_CHECKPOINT, .body = (const uint8_t *)body, .body_len = strlen(body)};
        CHECK(tlo_chain_append(c, &dc, 1, t == 3 ? &prosecutor.signer : &custodian.signer, NULL,
                               &err) == 0);
        tlo_chain_close(c);
        tlo_chain_report r = verify_path(cpath);
        if (t == 0)
            CHECK_MSG(r.ok, "a true checkpoint entry: %s", r.problem);
        else
            CHECK_MSG(!r.ok && strstr(r.problem, t == 3 ? "only the custodian" : "is not theirs"),
                      "checkpoint case %d: %s", t, r.ok ? "verify passed" : r.problem);
        snprintf(body, sizeof body, "root=%s\nsize=6\n", rh);
    }
    free_person(&prosecutor);
    free_person(&other);
}

/* The finding (issue 11): the service recovers the sessions a crash left
 * open when it starts, with nobody there to sign: the custodian signs the
 * session-recovered entry. Only the custodian gains it: a prosecutor's
 * session-recovered still fails. */
static void test_custodian_signs_session_recovered(void)
{
    char path[256], body[600], a[65], b[65];
    tlo_error err = {0};
    person prosecutor = make_person();
    snprintf(path, sizeof path, "%s/recovered.db", dir);
    build(path, 1); /* 0 genesis, 1 officer, 2 case-open of filler 0 */
    tlo_chain *c = tlo_chain_open(path, false, &err);
    snprintf(body, sizeof body, "box_pk=%s\nname=王芳\npk=%s\nroles=prosecutor\n",
             hex32(a, prosecutor.box_pk), hex32(b, prosecutor.pk));
    CHECK(append_text(c, TLO_ENTRY_USER_ADD, body, &admin, &err) == 0); /* 3 */
    char fb[256];
    tlo_chain_draft d = filler(0, fb);
    static const char start[] = "cameras=2\nmicrophones=1\nroom=simulated\n"
                                "session=00112233445566778899aabbccddeeff\n";
    d.kind = TLO_ENTRY_SESSION_START;
    d.body = (const uint8_t *)start;
    d.body_len = strlen(start);
    CHECK(tlo_chain_append(c, &d, 1, &officer.signer, NULL, &err) == 0); /* 4 */
    tlo_chain_close(c);
    static const char rec[] = "kept_bytes=0\nrecovered_ms=0\nrecovered_segments=0\nsegments=0\n"
                              "session=00112233445566778899aabbccddeeff\nstatus=recovered\n"
                              "unfinished=\nunfinished_bytes=0\n";
    expect_kind(path, TLO_ENTRY_SESSION_RECOVERED, rec, &custodian, "");
    expect_kind(path, TLO_ENTRY_SESSION_RECOVERED, rec, &officer, "");
    expect_kind(path, TLO_ENTRY_SESSION_RECOVERED, rec, &prosecutor,
                "entry 5 (session-recovered) is signed by a key of prosecutor; only an "
                "interviewer, an administrator, or the custodian may sign it");
    free_person(&prosecutor);
}

/* The walk's progress (tlo_chain_verify_progress): done rises by
 * TLO_CHAIN_PROGRESS_STEP and ends at the ledger's size, total that size;
 * without a callback the report is the same. */
typedef struct progress_seen {
    uint64_t calls, last, total;
    bool rising;
} progress_seen;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_seen *p = ctx;
    if (done <= p->last || done > total || (p->total && total != p->total))
        p->rising = false;
    p->calls++;
    p->last = done;
    p->total = total;
}

static void test_verify_progress(void)
{
    char path[256];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/progress.db", dir);
    build(path, 0);
    tlo_chain *c = tlo_chain_open(path, false, &err);
    static tlo_chain_draft batch[1000];
    static char bodies[1000][256];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 1000; i++)
            batch[i] = filler((uint32_t)(k * 1000 + i), bodies[i]);
        CHECK(tlo_chain_append(c, batch, 1000, &officer.signer, NULL, &err) == 0);
    }
    progress_seen seen = {.rising = true};
    tlo_chain_report r = {0}, plain = {0};
    CHECK_MSG(tlo_chain_verify_progress(c, NULL, 0, (tlo_chain_progress){on_progress, &seen}, &r,
                                        &err) == 0,
              "%s", err.msg);
    CHECK_MSG(r.ok && r.entries == 3002, "%s", r.problem);
    /* 1024, 2048 and the end, 3002. */
    CHECK_MSG(seen.rising && seen.calls == 3 && seen.last == 3002 && seen.total == 3002,
              "verify_progress_rises_to_the_size: %llu calls, last %llu of %llu",
              (unsigned long long)seen.calls, (unsigned long long)seen.last,
              (unsigned long long)seen.total);
    CHECK(tlo_chain_verify(c, &plain, &err) == 0 && plain.ok && plain.entries == r.entries &&
          !memcmp(plain.root, r.root, sizeof r.root));
    tlo_chain_close(c);
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
    test_who_signs_which_kind();
    test_custodian_signs_session_recovered();
    test_concurrent();
    test_batched_signatures();
    test_verify_progress();
    free_person(&admin);
    free_person(&custodian);
    free_person(&officer);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return tu_finish("chain_ledger");
}
