/* The samples' readers at the API (custody.h, "Samples"), on a vault the
 * tellonce binary makes with one sample handed over and not yet received:
 *
 *   reader_needs_custodian     tlo_custody_samples_read on a copy without
 *                              custodian.secret fails (it decides on the
 *                              custodian's verified state), saying so
 *   verified_ledger_reader     on that copy, once verify said ok,
 *                              tlo_custody_samples_read_verified_ledger gives
 *                              the whole chain with no key: in transfer,
 *                              two steps, the names and roles */
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

int main(int argc, char **argv)
{
    static char dir[] = "/tmp/tlo-samples.XXXXXX";
    char base[300], copy[300];
    tlo_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: test_samples TELLONCE_BINARY\n");
        return 2;
    }
    const char *t = argv[1];
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", base, 1);
    CHECK(sh("cd %s && echo 'admin passphrase' > a.pass && echo 'person passphrase' > p.pass && "
             "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
             "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
             "--new-passphrase-file p.pass >/dev/null && "
             "'%s' user add Med --role medical --as Admin --passphrase-file a.pass "
             "--new-passphrase-file p.pass >/dev/null && "
             "'%s' user add Pros --role prosecutor --as Admin --passphrase-file a.pass "
             "--new-passphrase-file p.pass >/dev/null && "
             "'%s' case open C-1 --as Officer --passphrase-file p.pass >/dev/null && "
             "'%s' sample register C-1 --label S-001 --kind hair --seal-number 42 --as Med "
             "--passphrase-file p.pass >/dev/null && "
             "'%s' sample transfer C-1 S-001 --to Pros --place 'Lab 2' --as Med "
             "--passphrase-file p.pass >/dev/null && "
             "cp -a '%s' '%s' && rm '%s/custodian.secret'",
             dir, t, t, t, t, t, t, t, base, copy, copy) == 0);

    tlo_custody *v = NULL;
    tlo_custody_case cs;
    tlo_custody_samples s;
    CHECK_MSG(tlo_custody_open(base, true, &v, &err) == 0, "%s", err.msg);
    CHECK_MSG(v && tlo_custody_case_find(v, "C-1", &cs, &err) == 0, "%s", err.msg);
    tlo_custody_close(v);
    v = NULL;

    /* reader_needs_custodian */
    CHECK_MSG(tlo_custody_open(copy, true, &v, &err) == 0, "%s", err.msg);
    char hex[33];
    tlo_hex(hex, cs.id, TLO_ID_BYTES);
    int rc = v ? tlo_custody_samples_read(v, hex, &s, &err) : -1;
    CHECK_MSG(rc != 0, "reader_needs_custodian: read without custodian.secret: %d", rc);
    CHECK_MSG(strstr(err.msg, "custodian") != NULL, "reader_needs_custodian: \"%s\"", err.msg);
    if (rc == 0)
        tlo_custody_samples_free(&s);

    /* verified_ledger_reader */
    tlo_custody_verify_report rep;
    memset(&err, 0, sizeof err);
    CHECK_MSG(v && tlo_custody_verify(v, NULL, NULL, &rep, &err) == 0, "%s", err.msg);
    CHECK_MSG(rep.chain.ok, "verified_ledger_reader: verify: %s", rep.chain.problem);
    tlo_custody_verify_report_free(&rep);
    rc = v ? tlo_custody_samples_read_verified_ledger(v, cs.id, &s, &err) : -1;
    CHECK_MSG(rc == 0, "verified_ledger_reader: %s", err.msg);
    if (rc == 0) {
        const tlo_custody_sample *x = tlo_custody_sample_find(&s, "S-001");
        CHECK(s.n == 1 && x != NULL);
        CHECK(x && x->state == TLO_SAMPLE_IN_TRANSFER && x->nsteps == 2);
        CHECK(x && !strcmp(x->holder.name, "Med") && x->holder.roles == TLO_ROLE_MEDICAL);
        CHECK(x && !strcmp(x->pending.name, "Pros") && x->pending.roles == TLO_ROLE_PROSECUTOR);
        CHECK(x && x->nsteps == 2 && !strcmp(x->steps[1].place, "Lab 2") &&
              x->steps[1].kind == TLO_ENTRY_SAMPLE_TRANSFER);
        CHECK(x && !strcmp(x->kind, "hair") && !strcmp(x->seal_number, "42"));
        CHECK(s.problem[0] == '\0');
        tlo_custody_samples_free(&s);
    }
    tlo_custody_close(v);
    sh("rm -rf '%s'", dir);
    printf("%d passed, %d failed\n", tu_passed, tu_failed);
    return tu_failed ? 1 : 0;
}
