/* The incremental checkpoint (custody/incremental.c, issue 10 §5): a
 * checkpoint verifies only the entries since the newest checkpoint, relying
 * on that one (signed) for the entries before; it still refuses a ledger
 * changed since, one whose enrolments before the checkpoint were changed,
 * one whose stored tree no longer gives the signed root; and without a
 * checkpoint it can trust, it verifies everything.
 *
 * The vault is made with the tellonce binary (argv[1]). */
#include "custody.h"
#include "incremental.h"
#include "testutil.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void sql(const char *vault, const char *stmt)
{
    char path[512];
    sqlite3 *db;
    char *msg = NULL;
    snprintf(path, sizeof path, "%s/ledger.db", vault);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK_MSG(sqlite3_exec(db, stmt, NULL, NULL, &msg) == SQLITE_OK, "%s: %s", stmt, msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

static tlo_chain_report since(const char *vault)
{
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_chain_report r = {0};
    CHECK_MSG(tlo_custody_open(vault, false, &v, &err) == 0, "%s", err.msg);
    if (v)
        CHECK_MSG(custody_tree_since(v, &r, &err) == 0, "%s", err.msg);
    tlo_custody_close(v);
    return r;
}

static tlo_chain_report whole(const char *vault)
{
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_chain_report r = {0};
    CHECK_MSG(tlo_custody_open(vault, true, &v, &err) == 0, "%s", err.msg);
    if (v)
        CHECK_MSG(tlo_chain_verify(tlo_custody_chain(v), &r, &err) == 0, "%s", err.msg);
    tlo_custody_close(v);
    return r;
}

/* A vault: genesis, two people, a case, a checkpoint, then a person and a
 * case more (entries since the checkpoint). */
static void make(const char *t, const char *dir, const char *vault)
{
    sh("rm -rf '%s'", vault);
    CHECK(sh("cd %s && echo a > a.pass && echo o > o.pass && "
             "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
             "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
             "--new-passphrase-file o.pass >/dev/null && "
             "'%s' case open C-1 --as Officer --passphrase-file o.pass >/dev/null && "
             "'%s' checkpoint >/dev/null && "
             "'%s' user add Pros --role prosecutor --as Admin --passphrase-file a.pass "
             "--new-passphrase-file o.pass >/dev/null && "
             "'%s' case open C-2 --as Officer --passphrase-file o.pass >/dev/null",
             dir, t, t, t, t, t, t) == 0);
}

static uint64_t checkpoint_size(const char *vault)
{
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_checkpoint cp = {0};
    char *text = NULL;
    CHECK(tlo_custody_open(vault, true, &v, &err) == 0);
    char *path = v ? tlo_custody_newest_checkpoint(v) : NULL;
    CHECK(path && tlo_custody_checkpoint_read(v, path, &cp, &text, &err) == 0);
    free(text);
    free(path);
    tlo_custody_close(v);
    return cp.size;
}

static void test_checkpoint_verifies_only_entries_since_the_newest(const char *t, const char *dir,
                                                                   const char *vault)
{
    make(t, dir, vault);
    uint64_t at = checkpoint_size(vault);
    tlo_chain_report full = whole(vault), inc = since(vault);
    CHECK_MSG(full.ok && inc.ok, "%s / %s", full.problem, inc.problem);
    CHECK(inc.entries == full.entries && memcmp(inc.root, full.root, 32) == 0);
    CHECK_MSG(at > 0 && inc.signatures == full.entries - at,
              "%llu signatures checked for %llu entries since the checkpoint of %llu",
              (unsigned long long)inc.signatures, (unsigned long long)(full.entries - at),
              (unsigned long long)at);
    /* And the checkpoint it makes is right. */
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_custody_checkpoint_info info;
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    CHECK_MSG(v && tlo_custody_checkpoint(v, &info, &err) == 0, "%s", err.msg);
    CHECK(info.size == full.entries && memcmp(info.root, full.root, 32) == 0);
    tlo_custody_checkpoint_info_free(&info);
    tlo_custody_close(v);
    full = whole(vault);
    CHECK_MSG(full.ok, "%s", full.problem);
}

static void test_checkpoint_refuses_changes(const char *t, const char *dir, const char *vault)
{
    char stmt[512];
    const char *drop = "DROP TRIGGER entries_no_update;";

    /* An entry since the checkpoint changed. */
    make(t, dir, vault);
    uint64_t at = checkpoint_size(vault);
    snprintf(stmt, sizeof stmt,
             "%s UPDATE entries SET body = CAST('case_number=C-3\n' AS BLOB) WHERE seq = %llu + 1;",
             drop, (unsigned long long)at);
    sql(vault, stmt);
    tlo_chain_report r = since(vault);
    CHECK_MSG(!r.ok && r.first_bad == (int64_t)at + 1 && strstr(r.problem, "signature"), "%s",
              r.problem);

    /* An enrolment before the checkpoint changed (the officer made admin). */
    make(t, dir, vault);
    snprintf(stmt, sizeof stmt,
             "%s UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'roles=interviewer', "
             "'roles=admin') AS BLOB) WHERE seq = 1;",
             drop);
    sql(vault, stmt);
    r = since(vault);
    CHECK_MSG(!r.ok && r.first_bad <= 1 && strstr(r.problem, "is not the one"), "%s", r.problem);

    /* The stored tree of the prefix damaged. */
    make(t, dir, vault);
    sql(vault, "DROP TRIGGER tree_nodes_no_update; UPDATE tree_nodes SET hash = zeroblob(32) "
               "WHERE level = 1 AND idx = 0;");
    r = since(vault);
    CHECK_MSG(!r.ok && strstr(r.problem, "stored tree"), "%s", r.problem);

    /* Entries removed from the end, below the checkpoint. */
    make(t, dir, vault);
    snprintf(stmt, sizeof stmt,
             "DROP TRIGGER entries_no_delete; DELETE FROM entries WHERE seq >= %llu - 1;",
             (unsigned long long)at);
    sql(vault, stmt);
    r = since(vault);
    CHECK_MSG(!r.ok && strstr(r.problem, "removed"), "%s", r.problem);

    /* A forged newest checkpoint is not relied on: everything is verified. */
    make(t, dir, vault);
    CHECK(sh("cd '%s/checkpoints' && f=$(ls | tail -1) && sed -i 's/^[0-9]*$/99/' $f", vault) == 0);
    r = since(vault);
    tlo_chain_report full = whole(vault);
    CHECK_MSG(r.ok && r.signatures == full.entries, "%s (%llu signatures)", r.problem,
              (unsigned long long)r.signatures);
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: test_incremental TELLONCE_BINARY\n");
        return 2;
    }
    CHECK(tlo_vault_init(&err) == 0);
    char dir[] = "/tmp/tlo-incremental.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char vault[256];
    snprintf(vault, sizeof vault, "%s/vault", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", vault, 1);
    test_checkpoint_verifies_only_entries_since_the_newest(argv[1], dir, vault);
    test_checkpoint_refuses_changes(argv[1], dir, vault);
    sh("rm -rf '%s'", dir);
    return tu_finish("custody_incremental");
}
