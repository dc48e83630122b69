/* Touching grants joined, at the custodian's door (custody/custodian.c,
 * issue 13): a prosecutor granted 0-10 s and 10-20 s of a session (two grant
 * entries) is released 5-15 s, logged with the range, the grant holding its
 * start and both grants; a gap of 1 s between two grants is refused and
 * logged, the reason naming both ranges; a revoked or an expired grant is
 * never joined. The requests are signed here, past the cli's own check.
 *
 * The vault is made with the tellonce binary (argv[1]): a recording of 21 s
 * (segments of 4 s) and the grants. */
#include "custody.h"
#include "testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The first line of a shell command's output, or "". */
static void line_of(char *out, size_t cap, const char *cmd)
{
    FILE *f = popen(cmd, "r");
    out[0] = '\0';
    if (f && fgets(out, (int)cap, f))
        out[strcspn(out, "\n")] = '\0';
    if (f)
        pclose(f);
}

static const char *tlo, *dir;
static char session[40];

/* Issues a grant of FROM-TO s to PERSON; its entry number, or 0. */
static unsigned grant(const char *person, int from, int to, const char *expires)
{
    char cmd[2048], n[32];
    snprintf(cmd, sizeof cmd,
             "cd %s && '%s' grant C-1 --for '%s' --session %s --from %d --to %d --expires %s "
             "--purpose hearing --as Admin --passphrase-file a.pass | sed -n 's/^Grant "
             "\\([0-9]*\\):.*/\\1/p'",
             dir, tlo, person, session, from, to, expires);
    line_of(n, sizeof n, cmd);
    return (unsigned)strtoul(n, NULL, 10);
}

/* The body of entry seq, as text. */
static void body_of(char *out, size_t cap, uint64_t seq)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sqlite3 \"$TELLONCE_VAULT/ledger.db\" \"SELECT replace(CAST(body AS TEXT), char(10), "
             "' ') FROM entries WHERE seq = %llu\"",
             (unsigned long long)seq);
    line_of(out, cap, cmd);
}

/* Asks 5-15 s as `name`: the return code of the release; rel filled. */
static int ask(tlo_custody *v, const char *name, const char *pass, const tlo_custody_case *cs,
               tlo_custody_released *rel, tlo_error *err)
{
    tlo_vault_identity *id = NULL;
    tlo_custody_request req;
    memset(rel, 0, sizeof *rel);
    int rc = tlo_custody_unlock(v, name, pass, strlen(pass), TLO_ROLE_PROSECUTOR, "play", &id, err);
    if (rc == 0)
        rc = tlo_custody_request_make(v, id, TLO_CUSTODY_VIEW, cs, session, 5000, 15000, NULL, &req,
                                      err);
    if (rc == 0)
        rc = tlo_custody_release(v, &req, rel, err);
    tlo_vault_identity_free(id);
    return rc;
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: test_joined TELLONCE_BINARY\n");
        return 2;
    }
    CHECK(tlo_vault_init(&err) == 0);
    static char tmp[] = "/tmp/tlo-joined.XXXXXX";
    CHECK(mkdtemp(tmp) != NULL);
    dir = tmp;
    tlo = argv[1];
    char vault[256];
    snprintf(vault, sizeof vault, "%s/vault", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", vault, 1);
    unsetenv("TELLONCE_TEST_NOW_MS");
    CHECK(sh("cd %s && echo 'admin passphrase' > a.pass && echo 'officer passphrase' > o.pass && "
             "echo 'p passphrase' > p.pass && "
             "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
             "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
             "--new-passphrase-file o.pass >/dev/null && "
             "for p in P1 P2 P3 P4; do '%s' user add $p --role prosecutor --as Admin "
             "--passphrase-file a.pass --new-passphrase-file p.pass >/dev/null || exit 1; done && "
             "'%s' case open C-1 --as Officer --passphrase-file o.pass >/dev/null && "
             "'%s' record C-1 --as Officer --passphrase-file o.pass --duration 21 --no-live "
             ">/dev/null 2>&1",
             dir, tlo, tlo, tlo, tlo, tlo) == 0);
    line_of(session, sizeof session,
            "sqlite3 \"$TELLONCE_VAULT/ledger.db\" \"SELECT CAST(body AS TEXT) FROM entries "
            "WHERE kind = 20\" | sed -n 's/^session=//p'");
    CHECK(strlen(session) == 32);
    unsigned a1 = grant("P1", 0, 10, "2099-12-31"), b1 = grant("P1", 10, 20, "2099-12-31");
    unsigned a2 = grant("P2", 0, 10, "2099-12-31"), b2 = grant("P2", 11, 20, "2099-12-31");
    unsigned a3 = grant("P3", 0, 10, "2099-12-31"), b3 = grant("P3", 10, 20, "2099-12-31");
    unsigned a4 = grant("P4", 0, 10, "2099-12-31"), b4 = grant("P4", 10, 20, "2030-06-30");
    CHECK(a1 && b1 && a2 && b2 && a3 && b3 && a4 && b4);
    CHECK(sh("cd %s && '%s' grant revoke %u --reason test --as Admin --passphrase-file a.pass "
             ">/dev/null",
             dir, tlo, b3) == 0);

    tlo_custody *v = NULL;
    tlo_custody_case cs;
    tlo_custody_released rel;
    char body[3000], want[64];
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (!v)
        return tu_finish("custody_joined");
    CHECK(tlo_custody_case_find(v, "C-1", &cs, &err) == 0);

    /* contiguous_grants_joined: 5-15 s over 0-10 and 10-20 s, the segments
     * of 4-8, 8-12 and 12-16 s. */
    int rc = ask(v, "P1", "p passphrase", &cs, &rel, &err);
    CHECK_MSG(rc == 0, "contiguous_grants_joined: %s", err.msg);
    CHECK_MSG(rel.n == 3 && rel.from_ms == 5000 && rel.to_ms == 15000 && rel.grant_seq == a1,
              "contiguous_grants_joined: %zu keys, %llu-%llu ms, grant %llu", rel.n,
              (unsigned long long)rel.from_ms, (unsigned long long)rel.to_ms,
              (unsigned long long)rel.grant_seq);
    body_of(body, sizeof body, rel.access_seq);
    snprintf(want, sizeof want, "grant=%u grants=%u,%u ", a1, a1, b1);
    CHECK_MSG(strstr(body, want) && strstr(body, "from_ms=5000 ") && strstr(body, "to_ms=15000"),
              "contiguous_grants_joined: the entry is %s", body);
    tlo_custody_released_free(&rel);

    /* gap_not_joined: 0-10 and 11-20 s; refused, logged, both named. */
    rc = ask(v, "P2", "p passphrase", &cs, &rel, &err);
    CHECK_MSG(rc == TLO_EDENIED && rel.n == 0 && rel.denied_seq > 0, "gap_not_joined: %d %s", rc,
              err.msg);
    CHECK_MSG(strstr(err.msg, "00:00:00 to 00:00:10, 00:00:11 to 00:00:20"), "gap_not_joined: %s",
              err.msg);
    body_of(body, sizeof body, rel.denied_seq);
    CHECK_MSG(strstr(body, "reason=the range asked for goes beyond the granted ranges (00:00:00 "
                           "to 00:00:10, 00:00:11 to 00:00:20)"),
              "gap_not_joined: the entry is %s", body);
    tlo_custody_released_free(&rel);

    /* revoked_not_joined: the second grant was revoked. */
    rc = ask(v, "P3", "p passphrase", &cs, &rel, &err);
    CHECK_MSG(rc == TLO_EDENIED && rel.n == 0, "revoked_not_joined: %d %s", rc, err.msg);
    CHECK_MSG(strstr(err.msg, "(00:00:00 to 00:00:10)"), "revoked_not_joined: %s", err.msg);
    tlo_custody_released_free(&rel);

    /* expired_not_joined: in 2031 the second grant has expired. */
    setenv("TELLONCE_TEST_NOW_MS", "1924992000000", 1);
    rc = ask(v, "P4", "p passphrase", &cs, &rel, &err);
    CHECK_MSG(rc == TLO_EDENIED && rel.n == 0, "expired_not_joined: %d %s", rc, err.msg);
    CHECK_MSG(strstr(err.msg, "(00:00:00 to 00:00:10)"), "expired_not_joined: %s", err.msg);
    tlo_custody_released_free(&rel);
    unsetenv("TELLONCE_TEST_NOW_MS");

    tlo_custody_close(v);
    sh("rm -rf %s", dir);
    return tu_finish("custody_joined");
}
