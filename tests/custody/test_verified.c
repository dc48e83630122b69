/* The custodian decides on verified rows only (issue 10, section 1): each
 * finding of the review is one case below, on its own copy of a vault with
 * a 12 s recording (segments 0-4, 4-8, 8-12 s) and a grant of 5-7 s to a
 * prosecutor. Before the fix each of these released keys; now each
 * releases nothing and says why.
 *
 *   forged_grant_zero_signature   a grant row whose signature is all zeros
 *   forged_segment_wrong_signer   a segment entry signed by the prosecutor,
 *                                 naming segment 0's file for 5-7 s
 *   forged_enrolment              a user-add signed by the prosecutor that
 *                                 enrols an administrator, who grants
 *   older_ledger_put_back         a revocation undone by putting back a copy
 *                                 of ledger.db from before it
 *   revocation_hidden_from_case   a revocation moved to another case id (so
 *                                 a lookup by case misses it)
 *   verified_state_forged         custodian.state replaced with one that was
 *                                 not made by the custodian */
#include "custody.h"
#include "testutil.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static char dir[] = "/tmp/tlo-verified.XXXXXX";
static char base[300], work[300], session[33];
static const char *tellonce;

/* A fresh copy of the base vault in work/. */
static void fresh(void)
{
    CHECK(sh("rm -rf '%s' && cp -a '%s' '%s'", work, base, work) == 0);
}

/* Asks for 5-7 s (or from-to) as name (passphrase pass, or the identity
 * given) on the vault in work/: the number of keys released (-1 when
 * refused or failed), with the error in *msg. */
static int ask(const char *name, const char *pass, const tlo_vault_identity *as, uint64_t from,
               uint64_t to, char *msg, size_t cap)
{
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_custody_case cs;
    tlo_vault_identity *id = NULL;
    tlo_custody_request req;
    tlo_custody_released rel = {0};
    int n = -1;
    msg[0] = '\0';
    CHECK_MSG(tlo_custody_open(work, false, &v, &err) == 0, "%s", err.msg);
    if (!v)
        return -1;
    CHECK_MSG(tlo_custody_case_find(v, "C-1", &cs, &err) == 0, "%s", err.msg);
    if (!as) {
        /* On a ledger that does not verify the custodian refuses already
         * here (it checks the person against what it verified): that is
         * the refusal, and its message names the damage. */
        if (tlo_custody_unlock(v, name, pass, strlen(pass), TLO_ROLE_PROSECUTOR | TLO_ROLE_ADMIN,
                               "person", &id, &err) != 0) {
            snprintf(msg, cap, "%s", err.msg);
            tlo_custody_close(v);
            return -1;
        }
        as = id;
    }
    if (as && tlo_custody_request_make(v, as, TLO_CUSTODY_VIEW, &cs, session, from, to, NULL, &req,
                                       &err) == 0) {
        if (tlo_custody_release(v, &req, &rel, &err) == 0)
            n = (int)rel.n;
        tlo_custody_released_free(&rel);
    }
    snprintf(msg, cap, "%s", err.msg);
    tlo_vault_identity_free(id);
    tlo_custody_close(v);
    return n;
}

/* Appends a draft to work/'s ledger signed by (pk, sk). */
static void forge(uint16_t kind, const uint8_t *case_id, const char *body, const uint8_t pk[32],
                  const uint8_t *sk)
{
    char path[400];
    tlo_error err = {0};
    snprintf(path, sizeof path, "%s/ledger.db", work);
    tlo_chain *c = tlo_chain_open(path, false, &err);
    CHECK_MSG(c != NULL, "%s", err.msg);
    tlo_chain_draft d = {.kind = kind,
                         .has_case = case_id != NULL,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    if (case_id)
        memcpy(d.case_id, case_id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = sk};
    memcpy(s.pk, pk, 32);
    CHECK_MSG(c && tlo_chain_append(c, &d, 1, &s, NULL, &err) == 0, "%s", err.msg);
    tlo_chain_close(c);
}

static void sql(const char *stmt)
{
    CHECK(sh("sqlite3 '%s/ledger.db' \"DROP TRIGGER IF EXISTS entries_no_update; %s\"", work,
             stmt) == 0);
}

typedef struct vault_facts {
    tlo_custody_case cs;
    tlo_vault_identity *pros, *admin;
    char seg0_object[33], seg0_ct[65], seg0_pt[65];
    uint64_t grant_seq;
} vault_facts;

static int find_facts(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    vault_facts *f = ctx;
    uint64_t index;
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_SEGMENT && tlo_entry_u64(e, "index", &index) == 0 && index == 0) {
        tlo_entry_str(e, "object", f->seg0_object, sizeof f->seg0_object);
        tlo_entry_str(e, "ciphertext_sha256", f->seg0_ct, sizeof f->seg0_ct);
        tlo_entry_str(e, "plaintext_sha256", f->seg0_pt, sizeof f->seg0_pt);
    }
    if (e->kind == TLO_ENTRY_GRANT)
        f->grant_seq = e->seq;
    return 0;
}

static void facts(vault_facts *f)
{
    tlo_custody *v = NULL;
    tlo_error err = {0};
    memset(f, 0, sizeof *f);
    CHECK(tlo_custody_open(work, false, &v, &err) == 0);
    if (!v)
        return;
    CHECK(tlo_custody_case_find(v, "C-1", &f->cs, &err) == 0);
    CHECK(tlo_custody_unlock(v, "Pros", "prosecutor passphrase", 21, TLO_ROLE_PROSECUTOR,
                             "prosecutor", &f->pros, &err) == 0);
    CHECK(tlo_custody_unlock(v, "Admin", "admin passphrase", 16, TLO_ROLE_ADMIN, "administrator",
                             &f->admin, &err) == 0);
    CHECK(tlo_chain_walk(tlo_custody_chain(v), 0, find_facts, f, &err) >= 0);
    tlo_custody_close(v);
}

static void facts_free(vault_facts *f)
{
    tlo_vault_identity_free(f->pros);
    tlo_vault_identity_free(f->admin);
}

static void grant_body(char *out, size_t cap, const uint8_t to[32], uint64_t from, uint64_t until)
{
    char hex[65];
    tlo_hex(hex, to, 32);
    snprintf(out, cap,
             "actions=view,export\nexpires_ms=4102444799999\nfrom_ms=%llu\npurpose=forged\n"
             "session=%s\nto=%s\nto_name=Pros\nuntil_ms=%llu\n",
             (unsigned long long)from, session, hex, (unsigned long long)until);
}

static void refused(const char *finding, int n, const char *msg, const char *needle)
{
    CHECK_MSG(n < 0, "%s: %d keys released", finding, n);
    CHECK_MSG(strstr(msg, needle) != NULL, "%s: \"%s\" lacks \"%s\"", finding, msg, needle);
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    char msg[TLO_ERROR_MSG_MAX], body[1200];
    if (argc != 2) {
        fprintf(stderr, "usage: test_verified TELLONCE_BINARY\n");
        return 2;
    }
    tellonce = argv[1];
    CHECK(tlo_vault_init(&err) == 0);
    CHECK(mkdtemp(dir) != NULL);
    snprintf(base, sizeof base, "%s/base", dir);
    snprintf(work, sizeof work, "%s/work", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", base, 1);
    const char *t = tellonce;
    CHECK(sh("cd %s && echo 'admin passphrase' > a.pass && echo 'officer passphrase' > o.pass && "
             "echo 'prosecutor passphrase' > p.pass && "
             "'%s' init --admin Admin --passphrase-file a.pass >/dev/null && "
             "'%s' user add Officer --role interviewer --as Admin --passphrase-file a.pass "
             "--new-passphrase-file o.pass >/dev/null && "
             "'%s' user add Pros --role prosecutor --as Admin --passphrase-file a.pass "
             "--new-passphrase-file p.pass >/dev/null && "
             "'%s' case open C-1 --as Officer --passphrase-file o.pass >/dev/null && "
             "'%s' record C-1 --as Officer --passphrase-file o.pass --duration 12 --no-live "
             ">/dev/null 2>&1",
             dir, t, t, t, t, t) == 0);
    FILE *f = popen("sqlite3 \"$TELLONCE_VAULT/ledger.db\" \"SELECT CAST(body AS TEXT) FROM "
                    "entries WHERE kind = 20\" | sed -n 's/^session=//p'",
                    "r");
    CHECK(f && fgets(session, sizeof session, f));
    if (f)
        pclose(f);
    CHECK(strlen(session) == 32);
    CHECK(sh("cd %s && '%s' grant C-1 --to Pros --session %s --from 5 --until 7 --expires "
             "2099-12-31 --purpose test --as Admin --passphrase-file a.pass >/dev/null",
             dir, t, session) == 0);
    /* The base vault, as its custodian last verified it (custodian.state). */
    snprintf(work, sizeof work, "%s", base);
    CHECK_MSG(ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg) == 1, "%s",
              msg);
    snprintf(work, sizeof work, "%s/work", dir);

    vault_facts vf;

    /* forged_grant_zero_signature: 0-12 s, its signature zeroed. */
    fresh();
    facts(&vf);
    grant_body(body, sizeof body, vf.pros->sign_pk, 0, 12000);
    forge(TLO_ENTRY_GRANT, vf.cs.id, body, vf.admin->sign_pk, vf.admin->sign_sk);
    sql("UPDATE entries SET sig = zeroblob(64) WHERE seq = (SELECT max(seq) FROM entries)");
    refused("forged_grant_zero_signature",
            ask("Pros", "prosecutor passphrase", NULL, 0, 11000, msg, sizeof msg), msg,
            "has an invalid signature");
    facts_free(&vf);

    /* forged_segment_wrong_signer: segment 3 of the session (after its end),
     * 5-7 s, pointing at segment 0's file and digests, signed by the
     * prosecutor. */
    fresh();
    facts(&vf);
    snprintf(body, sizeof body,
             "bytes=1\nciphertext_sha256=%s\nduration_ms=2000\nend_ms=7000\nindex=3\nobject=%s\n"
             "plaintext_bytes=1\nplaintext_sha256=%s\nsession=%s\nstart_ms=5000\n",
             vf.seg0_ct, vf.seg0_object, vf.seg0_pt, session);
    forge(TLO_ENTRY_SEGMENT, vf.cs.id, body, vf.pros->sign_pk, vf.pros->sign_sk);
    refused("forged_segment_wrong_signer",
            ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "does not verify");
    facts_free(&vf);

    /* forged_enrolment: the prosecutor enrols Mallory as an administrator
     * (the entry signed by himself), Mallory grants the prosecutor 0-12 s. */
    fresh();
    facts(&vf);
    {
        uint8_t mpk[32], bpk[32], bsk[32];
        uint8_t *msk = sodium_malloc(64);
        char a[65], b[65];
        crypto_sign_keypair(mpk, msk);
        crypto_box_keypair(bpk, bsk);
        snprintf(body, sizeof body, "box_pk=%s\nname=Mallory\npk=%s\nroles=admin\n",
                 (tlo_hex(a, bpk, 32), a), (tlo_hex(b, mpk, 32), b));
        forge(TLO_ENTRY_USER_ADD, NULL, body, vf.pros->sign_pk, vf.pros->sign_sk);
        grant_body(body, sizeof body, vf.pros->sign_pk, 0, 12000);
        forge(TLO_ENTRY_GRANT, vf.cs.id, body, mpk, msk);
        sodium_free(msk);
    }
    refused("forged_enrolment",
            ask("Pros", "prosecutor passphrase", NULL, 0, 11000, msg, sizeof msg), msg,
            "only an administrator may sign it");
    facts_free(&vf);

    /* older_ledger_put_back: the grant is revoked; the refusal is logged;
     * then ledger.db from before the revocation is put back. */
    fresh();
    CHECK(sh("cd '%s' && mkdir old && cp ledger.db* old/", work) == 0);
    setenv("TELLONCE_VAULT", work, 1);
    facts(&vf);
    CHECK(sh("cd %s && '%s' grant revoke %llu --reason test --as Admin --passphrase-file "
             "a.pass >/dev/null",
             dir, t, (unsigned long long)vf.grant_seq) == 0);
    refused("revoked", ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "the grant was revoked");
    CHECK(sh("cd '%s' && rm -f ledger.db* && cp old/ledger.db* . ", work) == 0);
    refused("older_ledger_put_back",
            ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "an older ledger.db was put back");
    facts_free(&vf);

    /* revocation_hidden_from_case: the revocation's case id changed in the
     * database, so reading the case by its id misses it. */
    fresh();
    facts(&vf);
    CHECK(sh("cd %s && '%s' grant revoke %llu --reason test --as Admin --passphrase-file "
             "a.pass >/dev/null",
             dir, t, (unsigned long long)vf.grant_seq) == 0);
    refused("revoked", ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "the grant was revoked");
    /* Twice: the revocation is then not the last entry verified (which is
     * checked on its own), so only reading the case can find it. */
    refused("revoked", ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "the grant was revoked");
    sql("UPDATE entries SET case_id = zeroblob(16) WHERE kind = 31");
    refused("revocation_hidden_from_case",
            ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg), msg,
            "are not the");
    facts_free(&vf);

    /* verified_state_forged: a state file not made by the custodian is not
     * used (the ledger is verified again from entry 0), so a forged grant
     * before it is still found. */
    fresh();
    facts(&vf);
    grant_body(body, sizeof body, vf.pros->sign_pk, 0, 12000);
    forge(TLO_ENTRY_GRANT, vf.cs.id, body, vf.pros->sign_pk, vf.pros->sign_sk);
    CHECK(sh("cd '%s' && printf 'TLVS\\0\\0\\0\\1' > custodian.state && head -c 200 /dev/zero >> "
             "custodian.state",
             work) == 0);
    refused("verified_state_forged",
            ask("Pros", "prosecutor passphrase", NULL, 0, 11000, msg, sizeof msg), msg,
            "only an administrator may sign it");
    facts_free(&vf);

    /* And the untouched vault still releases exactly its grant. */
    fresh();
    CHECK_MSG(ask("Pros", "prosecutor passphrase", NULL, 5000, 7000, msg, sizeof msg) == 1, "%s",
              msg);

    if (!getenv("TLO_KEEP"))
        sh("rm -rf '%s'", dir);
    return tu_finish("custody_verified");
}
