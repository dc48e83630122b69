/* bench_release — what one decision of the custodian costs as the ledger
 * grows (issue 10: a release at 10^6 entries within 1.5x of one at 10^3).
 *
 *   bench_release TELLONCE N [DIR]
 *
 * Makes a vault with the tellonce binary (a 12 s recording of case C-1 and a
 * grant of 5-7 s to a prosecutor), then fills its ledger to N entries with
 * recordings of another case (sessions of 900 segments, signed by the
 * interviewer who started them, as a centre's ledger is), then times:
 *   - the first release, which verifies the whole ledger (no verified state
 *     yet: custodian.state is made then);
 *   - 9 more releases, each verifying only the entries since the one before
 *     (its own access entry and checkpoint): median and worst.
 * Prints figures; asserts nothing about speed. */
#include "custody.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static void die(const char *what, const tlo_error *err)
{
    fprintf(stderr, "bench_release: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

/* Appends recordings of case `fill` signed by the interviewer until the
 * ledger holds n entries. */
static void fill_to(tlo_custody *v, const uint8_t fill[16], const tlo_vault_identity *officer,
                    uint64_t n)
{
    tlo_error err = {0};
    tlo_chain *ch = tlo_custody_chain(v);
    uint64_t size = 0;
    tlo_chain_signer s = {.sk = officer->sign_sk};
    memcpy(s.pk, officer->sign_pk, 32);
    static tlo_chain_draft d[1000];
    static char bodies[1000][600];
    char session[33] = "";
    uint64_t index = 0;
    if (tlo_chain_size(ch, &size, &err) != 0)
        die("size", &err);
    double t0 = now();
    while (size < n) {
        size_t k = 0;
        for (; k < 1000 && size + k < n; k++) {
            tlo_chain_draft *x = &d[k];
            *x = (tlo_chain_draft){.has_case = true};
            memcpy(x->case_id, fill, 16);
            if (!session[0] && size + k + 1 < n) {
                uint8_t id[16];
                randombytes_buf(id, sizeof id);
                tlo_hex(session, id, 16);
                index = 0;
                x->kind = TLO_ENTRY_SESSION_START;
                snprintf(bodies[k], sizeof bodies[k],
                         "cameras=2\nmicrophones=1\nroom=simulated\nsession=%s\n", session);
            } else if (session[0] && (index == 900 || size + k + 1 == n)) {
                x->kind = TLO_ENTRY_SESSION_END;
                snprintf(bodies[k], sizeof bodies[k], "segments=%llu\nsession=%s\nstatus=ended\n",
                         (unsigned long long)index, session);
                session[0] = '\0';
            } else if (session[0]) {
                x->kind = TLO_ENTRY_SEGMENT;
                snprintf(bodies[k], sizeof bodies[k],
                         "bytes=1000000\nciphertext_sha256=%064llx\nend_ms=%llu\nindex=%llu\n"
                         "object=%032llx\nplaintext_sha256=%064llx\nsession=%s\nstart_ms=%llu\n",
                         (unsigned long long)index, (unsigned long long)(index + 1) * 4000,
                         (unsigned long long)index, (unsigned long long)index,
                         (unsigned long long)index, session, (unsigned long long)index * 4000);
                index++;
            } else {
                /* One entry left and no session open: a marker needs one;
                 * stop one short rather than write an invalid entry. */
                break;
            }
            x->body = (const uint8_t *)bodies[k];
            x->body_len = strlen(bodies[k]);
        }
        if (k == 0)
            break;
        if (tlo_chain_append(ch, d, k, &s, NULL, &err) != 0)
            die("append", &err);
        size += k;
    }
    fprintf(stderr, "filled to %llu entries in %.1f s\n", (unsigned long long)size, now() - t0);
}

static double release_once(tlo_custody *v, const tlo_vault_identity *pros,
                           const tlo_custody_case *cs, const char *session)
{
    tlo_error err = {0};
    tlo_custody_request req;
    tlo_custody_released rel;
    if (tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, cs, session, 5000, 7000, NULL, &req,
                                 &err) != 0)
        die("request", &err);
    double t0 = now();
    if (tlo_custody_release(v, &req, &rel, &err) != 0)
        die("release", &err);
    double t = now() - t0;
    if (rel.n != 1)
        die("release gave another number of keys", NULL);
    tlo_custody_released_free(&rel);
    return t;
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc < 3) {
        fprintf(stderr, "usage: bench_release TELLONCE N [DIR]\n");
        return 2;
    }
    const char *t = argv[1];
    uint64_t n = strtoull(argv[2], NULL, 10);
    char dir[300], vault[400], session[40] = "";
    snprintf(dir, sizeof dir, "%s", argc > 3 ? argv[3] : "/var/tmp/tlo-bench-release.XXXXXX");
    if (argc <= 3 && !mkdtemp(dir))
        die("mkdtemp", NULL);
    snprintf(vault, sizeof vault, "%s/vault", dir);
    if (tlo_vault_init(&err) != 0)
        die("init", &err);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", vault, 1);
    if (sh("cd %s && rm -rf vault && echo 'admin passphrase' > a.pass && echo 'officer passphrase' "
           "> o.pass && echo 'prosecutor passphrase' > p.pass && "
           "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
           "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
           "--new-passphrase-file o.pass >/dev/null && "
           "'%s' user add Pros --role prosecutor --as Admin --passphrase-file a.pass "
           "--new-passphrase-file p.pass >/dev/null && "
           "'%s' case open C-1 --as Officer --passphrase-file o.pass >/dev/null && "
           "'%s' case open F-1 --as Officer --passphrase-file o.pass >/dev/null && "
           "'%s' record C-1 --as Officer --passphrase-file o.pass --duration 12 --no-live "
           ">/dev/null 2>&1",
           dir, t, t, t, t, t, t) != 0)
        die("making the vault", NULL);
    FILE *f = popen("sqlite3 \"$TELLONCE_VAULT/ledger.db\" \"SELECT CAST(body AS TEXT) FROM "
                    "entries WHERE kind = 20\" | sed -n 's/^session=//p'",
                    "r");
    if (!f || !fgets(session, sizeof session, f))
        die("finding the session", NULL);
    pclose(f);
    session[32] = '\0';
    if (sh("cd %s && '%s' grant C-1 --to Pros --session %s --from 5 --until 7 --expires "
           "2099-12-31 --purpose bench --as Admin --passphrase-file a.pass >/dev/null",
           dir, t, session) != 0)
        die("grant", NULL);

    tlo_custody *v = NULL;
    tlo_custody_case cs, fill;
    tlo_vault_identity *officer = NULL, *pros = NULL;
    if (tlo_custody_open(vault, false, &v, &err) != 0 ||
        tlo_custody_case_find(v, "C-1", &cs, &err) != 0 ||
        tlo_custody_case_find(v, "F-1", &fill, &err) != 0 ||
        tlo_custody_unlock(v, "Officer", "officer passphrase", 18, TLO_ROLE_INTERVIEWER,
                           "interviewer", &officer, &err) != 0 ||
        tlo_custody_unlock(v, "Pros", "prosecutor passphrase", 21, TLO_ROLE_PROSECUTOR,
                           "prosecutor", &pros, &err) != 0)
        die("opening the vault", &err);
    fill_to(v, fill.id, officer, n);

    double first = release_once(v, pros, &cs, session), times[9];
    for (int i = 0; i < 9; i++)
        times[i] = release_once(v, pros, &cs, session);
    qsort(times, 9, sizeof times[0], cmp_double);
    uint64_t size = 0;
    tlo_chain_size(tlo_custody_chain(v), &size, &err);
    printf("release at %llu entries: first (verifies all) %.1f ms; next 9: median %.2f ms, worst "
           "%.2f ms\n",
           (unsigned long long)size, first * 1e3, times[4] * 1e3, times[8] * 1e3);
    tlo_vault_identity_free(officer);
    tlo_vault_identity_free(pros);
    tlo_custody_close(v);
    if (argc <= 3)
        sh("rm -rf '%s'", dir);
    return 0;
}
