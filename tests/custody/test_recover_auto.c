/* The recovery the custodian service runs at its start
 * (tlo_custody_recover_auto), at its API: with nobody there to sign, the
 * custodian signs the access to the case key and the session-recovered
 * entry, the vault verifies afterwards, and what was done comes back
 * (session ids, parts kept) so that the service can tell the next clients.
 * A session whose recording is live (its lease held) is left alone, and a
 * second run finds nothing to do.
 *
 * The vault is made with the tellonce binary (argv[1]); a live recording is
 * killed with kill -9 once its first segment is logged. */
#include "custody.h"
#include "testutil.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* What the ledger says of recoveries. */
typedef struct seen {
    uint8_t cust_actor[32]; /* SHA-256 of the genesis entry's custodian.pk */
    char cust_pk[65];
    unsigned recovered, recovered_by_cust, access_recover, access_by_cust_for_cust;
    char last_recovered_session[33];
} seen;

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    seen *s = ctx;
    char v[80];
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_GENESIS && tlo_entry_str(e, "custodian.pk", v, sizeof v) == 0) {
        uint8_t pk[32];
        snprintf(s->cust_pk, sizeof s->cust_pk, "%.64s", v);
        if (tlo_unhex(pk, 32, v) == 0)
            crypto_hash_sha256(s->cust_actor, pk, 32);
    }
    if (e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        s->recovered++;
        s->recovered_by_cust += !memcmp(e->actor, s->cust_actor, 32);
        tlo_entry_str(e, "session", s->last_recovered_session, sizeof s->last_recovered_session);
    }
    if (e->kind == TLO_ENTRY_ACCESS_GRANTED && tlo_entry_str(e, "action", v, sizeof v) == 0 &&
        !strcmp(v, "recover")) {
        s->access_recover++;
        s->access_by_cust_for_cust += !memcmp(e->actor, s->cust_actor, 32) &&
                                      tlo_entry_str(e, "actor", v, sizeof v) == 0 &&
                                      !strcmp(v, s->cust_pk);
    }
    return 0;
}

static seen scan(tlo_custody *v)
{
    seen s;
    tlo_error err = {0};
    memset(&s, 0, sizeof s);
    CHECK_MSG(tlo_chain_walk(tlo_custody_chain(v), 0, visit, &s, &err) >= 0, "%s", err.msg);
    return s;
}

static bool verifies(tlo_custody *v)
{
    tlo_custody_verify_report r;
    tlo_error err = {0};
    memset(&r, 0, sizeof r);
    int rc = tlo_custody_verify(v, NULL, NULL, &r, &err);
    bool ok = rc == 0 && r.chain.ok;
    if (!ok)
        fprintf(stderr, "verify: %s\n", rc ? err.msg : r.chain.problem);
    tlo_custody_verify_report_free(&r);
    return ok;
}

/* Starts a live recording of C-1 in the background (its pid in dir/rec.pid)
 * and waits until its session-start entry is logged and, when segment, its
 * first segment too (polled every 0.1 s, for up to 2 minutes). */
static int start_recording(const char *dir, const char *t, int segment)
{
    return sh("cd %s && before=$(sqlite3 -cmd '.timeout 5000' vault/ledger.db "
              "'SELECT count(*) FROM entries WHERE kind = 20') && "
              "{ '%s' record C-1 --as Officer --passphrase-file o.pass --duration 600 "
              "</dev/null >rec.out 2>&1 & echo $! > rec.pid; } && "
              "i=0; "
              "until [ \"$(sqlite3 -cmd '.timeout 5000' vault/ledger.db "
              "'SELECT count(*) FROM entries WHERE kind = %d')\" -gt \"$before\" ]; do "
              "  i=$((i + 1)); "
              "  kill -0 $(cat rec.pid) 2>/dev/null && [ $i -lt 1200 ] || exit 1; "
              "  sleep 0.1; "
              "done",
              dir, t, segment ? 21 : 20);
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: test_recover_auto TELLONCE_BINARY\n");
        return 2;
    }
    CHECK(tlo_vault_init(&err) == 0);
    char dir[] = "/tmp/tlo-recover-auto.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char vault[256];
    snprintf(vault, sizeof vault, "%s/vault", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", vault, 1);
    const char *t = argv[1];
    CHECK(sh("cd %s && echo recover-admin-pass > a.pass && echo recover-officer-pass > o.pass && "
             "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
             "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
             "--new-passphrase-file o.pass >/dev/null && "
             "'%s' case open C-1 --as Officer --passphrase-file o.pass >/dev/null",
             dir, t, t, t) == 0);

    /* A recording killed with kill -9 after its first segment. */
    CHECK_MSG(start_recording(dir, t, 1) == 0, "the recording did not log a segment");
    CHECK(sh("cd %s && kill -9 $(cat rec.pid) && while kill -0 $(cat rec.pid) 2>/dev/null; do "
             "sleep 0.1; done",
             dir) == 0);

    tlo_custody *v = NULL;
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (!v)
        return tu_finish("custody_recover_auto");
    size_t open_n = 0;
    CHECK(tlo_custody_recover_count(v, &open_n, &err) == 0 && open_n == 1);
    CHECK_MSG(!verifies(v), "verify passed with a session never ended");

    /* custodian_recovers_at_start: the custodian alone closes it. */
    tlo_custody_recovery r;
    tlo_custody_recovery_summary sum;
    int rc = tlo_custody_recover_auto(v, &r, &sum, &err);
    CHECK_MSG(rc == 0, "recover_auto: %s", err.msg);
    CHECK_MSG(sum.sessions == 1 && sum.skipped == 0, "sessions %zu skipped %zu", sum.sessions,
              sum.skipped);
    size_t parts = 0, closed = 0;
    const char *closed_session = "";
    for (size_t i = 0; i < r.n; i++) {
        parts += !r.step[i].closed && !r.step[i].skipped;
        if (r.step[i].closed) {
            closed++;
            closed_session = r.step[i].session;
            CHECK(r.step[i].segments >= 1); /* the segment logged before the kill */
        }
    }
    CHECK(closed == 1 && parts == sum.salvaged);
    seen s = scan(v);
    CHECK_MSG(s.recovered == 1 && s.recovered_by_cust == 1,
              "session-recovered entries %u, by the custodian %u", s.recovered,
              s.recovered_by_cust);
    CHECK_MSG(s.access_recover == 1 && s.access_by_cust_for_cust == 1,
              "access-granted action=recover %u, by and for the custodian %u", s.access_recover,
              s.access_by_cust_for_cust);
    CHECK_MSG(!strcmp(s.last_recovered_session, closed_session), "recovered %s, step says %s",
              s.last_recovered_session, closed_session);
    CHECK(verifies(v));
    tlo_custody_recovery_free(&r);

    /* A second run: nothing open, nothing logged. */
    uint64_t size0 = 0, size1 = 0;
    tlo_chain_size(tlo_custody_chain(v), &size0, &err);
    CHECK(tlo_custody_recover_auto(v, &r, &sum, &err) == 0 && r.n == 0 && sum.sessions == 0);
    tlo_chain_size(tlo_custody_chain(v), &size1, &err);
    CHECK(size0 == size1);
    tlo_custody_recovery_free(&r);
    tlo_custody_close(v);

    /* recover_auto_leaves_live_session_alone: a live recording (its lease
     * held) is a skipped step, nothing logged; SIGTERM then ends it cleanly
     * and the vault verifies. */
    CHECK_MSG(start_recording(dir, t, 0) == 0, "the second recording did not start");
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (!v)
        return tu_finish("custody_recover_auto");
    seen before = scan(v); /* the live recording appends meanwhile: count recoveries */
    rc = tlo_custody_recover_auto(v, &r, &sum, &err);
    CHECK_MSG(rc == 0, "recover_auto while live: %s", err.msg);
    CHECK_MSG(r.n == 1 && r.step[0].skipped && sum.skipped == 1 && sum.sessions == 0,
              "steps %zu, skipped %zu", r.n, sum.skipped);
    seen after = scan(v);
    CHECK_MSG(after.recovered == before.recovered && after.access_recover == before.access_recover,
              "recoveries logged for a live session: %u -> %u", before.recovered, after.recovered);
    tlo_custody_recovery_free(&r);
    tlo_custody_close(v);
    CHECK(sh("cd %s && kill -TERM $(cat rec.pid) && while kill -0 $(cat rec.pid) 2>/dev/null; "
             "do sleep 0.1; done",
             dir) == 0);
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (v) {
        CHECK(tlo_custody_recover_count(v, &open_n, &err) == 0 && open_n == 0);
        CHECK(verifies(v));
        tlo_custody_close(v);
    }
    sh("cd %s && kill -9 $(cat rec.pid) 2>/dev/null", dir); /* a recording left by a failure */
    if (tu_failed == 0)
        sh("rm -rf '%s'", dir);
    else
        fprintf(stderr, "kept %s\n", dir);
    return tu_finish("custody_recover_auto");
}
