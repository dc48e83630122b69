/* The custodian's door, at its API (custody/custody.h): the keys released
 * for a grant are exactly those of the segments that overlap its range.
 * Every released key opens its own segment; no released key opens any
 * segment outside the range (nor any other segment). A refused request
 * releases nothing; a ledger that cannot be written releases nothing. A
 * request is a value: it survives its encoding, and one whose bytes or
 * signature were changed, or that is stale, is refused.
 *
 * The vault is made with the tellonce binary (argv[1]): a recording of 12 s
 * (segments 0-4, 4-8, 8-12 s) and a grant of 00:00:05 to 00:00:07 to a
 * prosecutor. */
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

static uint64_t size_of(tlo_chain *ch)
{
    uint64_t n = 0;
    tlo_error err = {0};
    tlo_chain_size(ch, &n, &err);
    return n;
}

/* Every segment of the session, from the ledger: object ids in order. */
typedef struct segs {
    char object[8][33];
    unsigned n;
} segs;

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    segs *s = ctx;
    size_t n;
    (void)leaf;
    (void)err;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "object", &n);
    if (e->kind == TLO_ENTRY_SEGMENT && v && n == 32 && s->n < 8) {
        memcpy(s->object[s->n], v, 32);
        s->object[s->n++][32] = '\0';
    }
    return 0;
}

/* Opens segment `object` with an object key: 0, or the error code. */
static int try_open(const char *vault, const char *object, const uint8_t *key)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/objects/%s.tlo", vault, object);
    int fd = open(path, O_RDONLY);
    struct stat st;
    tlo_error err = {0};
    if (fd < 0 || fstat(fd, &st) != 0)
        return TLO_EIO;
    tlo_vault_reader *r = tlo_vault_reader_open_object_key(tlo_vault_fd_source, &fd,
                                                           (uint64_t)st.st_size, key, path, &err);
    int rc = r ? 0 : err.code;
    if (r) {
        /* And every byte decrypts. */
        uint64_t size = tlo_vault_reader_size(r);
        uint8_t *buf = malloc(size ? size : 1);
        rc = tlo_vault_reader_read_at(r, 0, buf, (size_t)size, &err);
        free(buf);
    }
    tlo_vault_reader_free(r);
    close(fd);
    return rc;
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    if (argc != 2) {
        fprintf(stderr, "usage: test_custodian TELLONCE_BINARY\n");
        return 2;
    }
    CHECK(tlo_vault_init(&err) == 0);
    char dir[] = "/tmp/tlo-custodian.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char vault[256];
    snprintf(vault, sizeof vault, "%s/vault", dir);
    setenv("TELLONCE_TEST_FAST_KDF", "1", 1);
    setenv("TELLONCE_VAULT", vault, 1);
    const char *t = argv[1];
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

    tlo_custody *v = NULL;
    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (!v)
        return tu_finish("custodian");
    tlo_chain *ch = tlo_custody_chain(v);
    tlo_custody_case cs;
    segs sg = {0};
    CHECK(tlo_custody_case_find(v, "C-1", &cs, &err) == 0);
    CHECK(tlo_chain_walk(ch, 0, visit, &sg, &err) >= 0);
    CHECK_MSG(sg.n == 3, "%u segments", sg.n);
    /* The session id: from the session-start entry. */
    char session[33] = "";
    {
        FILE *f = popen("sqlite3 \"$TELLONCE_VAULT/ledger.db\" \"SELECT CAST(body AS TEXT) FROM "
                        "entries WHERE kind = 20\" | sed -n 's/^session=//p'",
                        "r");
        CHECK(f && fgets(session, sizeof session, f));
        if (f)
            pclose(f);
    }
    CHECK(strlen(session) == 32);
    tlo_custody_close(v);
    CHECK(sh("cd %s && '%s' grant C-1 --to Pros --session %s --from 5 --until 7 --expires "
             "2099-12-31 --purpose test --as Admin --passphrase-file a.pass >/dev/null",
             dir, t, session) == 0);

    CHECK(tlo_custody_open(vault, false, &v, &err) == 0);
    if (!v)
        return tu_finish("custodian");
    ch = tlo_custody_chain(v);
    tlo_vault_identity *pros = NULL;
    CHECK(tlo_custody_unlock(v, "Pros", "prosecutor passphrase", 21, TLO_ROLE_PROSECUTOR,
                             "prosecutor", &pros, &err) == 0);
    if (!pros)
        return tu_finish("custodian");

    /* 1. 5-7 s lies in segment 1 (4-8 s): its key, and no other. */
    tlo_custody_request req;
    tlo_custody_released rel;
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL, &req,
                                   &err) == 0);
    CHECK_MSG(tlo_custody_release(v, &req, &rel, &err) == 0, "%s", err.msg);
    CHECK_MSG(rel.n == 1 && rel.seg[0].index == 1, "%zu keys released", rel.n);
    CHECK(rel.access_seq > 0 && rel.grant_seq > 0);
    CHECK(!strcmp(rel.purpose, "test"));
    for (size_t k = 0; k < rel.n; k++)
        for (unsigned i = 0; i < sg.n; i++) {
            int orc = try_open(vault, sg.object[i], rel.seg[k].key);
            if (!strcmp(sg.object[i], rel.seg[k].object))
                CHECK_MSG(orc == 0, "the released key does not open its segment %u", i);
            else
                CHECK_MSG(orc == TLO_EWRONGKEY, "the key of segment %llu opens segment %u (%d)",
                          (unsigned long long)rel.seg[k].index, i, orc);
        }
    tlo_custody_released_free(&rel);
    CHECK(rel.n == 0 && rel.seg == NULL);

    /* 2. Refused (beyond the grant): nothing released, an access-denied entry. */
    uint64_t before = size_of(ch);
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 3000, 7000, NULL, &req,
                                   &err) == 0);
    CHECK(tlo_custody_release(v, &req, &rel, &err) == TLO_EDENIED);
    CHECK(rel.n == 0 && rel.seg == NULL && rel.denied_seq == before);
    CHECK_MSG(strstr(err.msg, "beyond the granted range") != NULL, "%s", err.msg);
    CHECK(size_of(ch) == before + 1);

    /* 3. The request as a value: encoded and decoded, it is the same request
     * and is granted; changed in one byte, or re-signed by nobody, refused. */
    char wire[TLO_CUSTODY_REQUEST_MAX];
    tlo_custody_request back;
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, "check",
                                   &req, &err) == 0);
    size_t wn = tlo_custody_request_encode(&req, wire, sizeof wire);
    CHECK(wn > 0 && tlo_custody_request_decode(wire, wn, &back, &err) == 0);
    CHECK(memcmp(&back, &req, sizeof req) == 0);
    CHECK_MSG(tlo_custody_release(v, &back, &rel, &err) == 0, "%s", err.msg);
    CHECK(rel.n == 1 && !strcmp(rel.purpose, "check"));
    tlo_custody_released_free(&rel);
    /* Widened after signing: the signature no longer covers it. */
    back.from_ms = 4000;
    before = size_of(ch);
    CHECK(tlo_custody_release(v, &back, &rel, &err) == TLO_EDENIED);
    CHECK_MSG(strstr(err.msg, "not signed by an enrolled") != NULL, "%s", err.msg);
    CHECK(rel.n == 0 && size_of(ch) == before + 1);
    /* A leading zero, a second spelling of the same number: not the encoding. */
    char odd[TLO_CUSTODY_REQUEST_MAX + 2];
    char *fm = strstr(wire, "from_ms=");
    CHECK(fm != NULL);
    if (fm) {
        size_t at = (size_t)(fm - wire) + 8;
        memcpy(odd, wire, at);
        odd[at] = '0';
        memcpy(odd + at + 1, wire + at, wn - at);
        CHECK(tlo_custody_request_decode(odd, wn + 1, &back, &err) == TLO_EFORMAT);
    }
    /* Stale: made more than 5 minutes ago (a replay). */
    req.time_ms -= 6 * 60 * 1000;
    {
        char text[TLO_CUSTODY_REQUEST_MAX];
        size_t n = tlo_custody_request_signed_text(&req, text, sizeof text);
        CHECK(n > 0);
        crypto_sign_detached(req.sig, NULL, (const uint8_t *)text, n, pros->sign_sk);
    }
    CHECK(tlo_custody_release(v, &req, &rel, &err) == TLO_EDENIED);
    CHECK_MSG(strstr(err.msg, "5 minutes") != NULL, "%s", err.msg);
    CHECK(rel.n == 0);

    /* 4. A ledger that cannot be written (opened read-only): nothing released,
     * however valid the request. */
    tlo_custody *ro = NULL;
    CHECK(tlo_custody_open(vault, true, &ro, &err) == 0);
    before = size_of(ch);
    if (ro) {
        CHECK(tlo_custody_request_make(ro, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL,
                                       &req, &err) == 0);
        int r3 = tlo_custody_release(ro, &req, &rel, &err);
        CHECK_MSG(r3 != 0, "released with a read-only ledger");
        CHECK(rel.n == 0 && rel.seg == NULL);
        /* A refusal that cannot be logged says both, with the append's code. */
        CHECK(tlo_custody_request_make(ro, pros, TLO_CUSTODY_VIEW, &cs, session, 1000, 7000, NULL,
                                       &req, &err) == 0);
        r3 = tlo_custody_release(ro, &req, &rel, &err);
        CHECK_MSG(r3 != 0 && r3 != TLO_EDENIED && rel.n == 0, "refusal on a read-only ledger: %d",
                  r3);
        CHECK_MSG(!strncmp(err.msg, "refused: the range asked for", 28) &&
                      strstr(err.msg, "could not be logged") != NULL,
                  "%s", err.msg);
        tlo_custody_close(ro);
    }
    CHECK(size_of(ch) == before);

    /* 5a. A segment file that is not the one its entry logged (doctored and
     * resealed with the case key would open; here one byte is changed): its
     * key is not released. */
    {
        char seg_path[4096];
        snprintf(seg_path, sizeof seg_path, "%s/objects/%s.tlo", vault, sg.object[1]);
        CHECK(sh("cp '%s' '%s.saved' && printf '\\377' | dd of='%s' bs=1 seek=4000 conv=notrunc "
                 "status=none",
                 seg_path, seg_path, seg_path) == 0);
        CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL,
                                       &req, &err) == 0);
        CHECK(tlo_custody_release(v, &req, &rel, &err) == TLO_EFORMAT);
        CHECK_MSG(rel.n == 0 && strstr(err.msg, "altered or replaced") != NULL, "%s", err.msg);
        CHECK(sh("mv '%s.saved' '%s'", seg_path, seg_path) == 0);
        CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL,
                                       &req, &err) == 0);
        CHECK_MSG(tlo_custody_release(v, &req, &rel, &err) == 0, "%s", err.msg);
        tlo_custody_released_free(&rel);
    }

    /* A custodian.secret copied through a system that ends lines with CRLF
     * still unlocks the custodian. */
    CHECK(sh("cd '%s' && cp custodian.secret secret.saved && printf '\\r\\n' >> custodian.secret",
             vault) == 0);
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL, &req,
                                   &err) == 0);
    CHECK_MSG(tlo_custody_release(v, &req, &rel, &err) == 0, "CRLF secret: %s", err.msg);
    tlo_custody_released_free(&rel);
    CHECK(sh("cd '%s' && mv secret.saved custodian.secret", vault) == 0);

    /* Numbers in requests and entries are digits only. */
    uint64_t num = 0;
    CHECK(tlo_parse_u64("\t-1", &num) != 0 && tlo_parse_u64(" 7", &num) != 0 &&
          tlo_parse_u64("+7", &num) != 0 && tlo_parse_u64("", &num) != 0);
    CHECK(tlo_parse_u64("18446744073709551615", &num) == 0 && num == UINT64_MAX);
    CHECK(tlo_parse_u64("18446744073709551616", &num) != 0);

    /* 5. cases/ID.key replaced by another key wrapped to the custodian (its
     * public key is public): never unwrapped, nothing released; and a key
     * file with a byte appended is damaged, not accepted. */
    char keypath[4096], hex[33], id_path[4096];
    tlo_hex(hex, cs.id, TLO_ID_BYTES);
    snprintf(keypath, sizeof keypath, "%s/cases/%s.key", vault, hex);
    snprintf(id_path, sizeof id_path, "%s/custodian.id", vault);
    CHECK(sh("cp '%s' '%s.saved' && printf x >> '%s'", keypath, keypath, keypath) == 0);
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL, &req,
                                   &err) == 0);
    CHECK(tlo_custody_release(v, &req, &rel, &err) != 0);
    CHECK_MSG(rel.n == 0 && strstr(err.msg, "damaged") != NULL, "%s", err.msg);
    tlo_vault_identity *cust_pub = tlo_vault_identity_load_public(id_path, &err);
    uint8_t *other = tlo_vault_key_generate(), wrapped[TLO_WRAPPED_KEY_BYTES];
    CHECK(cust_pub && other && tlo_vault_key_wrap(wrapped, other, cust_pub->box_pk, &err) == 0);
    {
        FILE *f = fopen(keypath, "wb");
        CHECK(f && fwrite(wrapped, 1, sizeof wrapped, f) == sizeof wrapped && fclose(f) == 0);
    }
    CHECK(tlo_custody_request_make(v, pros, TLO_CUSTODY_VIEW, &cs, session, 5000, 7000, NULL, &req,
                                   &err) == 0);
    CHECK(tlo_custody_release(v, &req, &rel, &err) != 0);
    CHECK_MSG(rel.n == 0 && strstr(err.msg, "wrapped_key_sha256") != NULL, "%s", err.msg);
    CHECK(sh("mv '%s.saved' '%s'", keypath, keypath) == 0);
    tlo_vault_key_free(other);
    tlo_vault_identity_free(cust_pub);

    tlo_vault_identity_free(pros);
    tlo_custody_close(v);
    sh("rm -rf '%s'", dir);
    return tu_finish("custodian");
}
