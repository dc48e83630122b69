/* Signed notes, checkpoints and proof files (chain/note.h).
 *
 * Checked against outside values, not only against ourselves:
 *   - golang.org/x/mod/sumdb/note note_test.go: the PeterNeumann key, note and
 *     signature, the EnochRoot key and signature, its malformed notes and its
 *     mangled verifier keys;
 *   - three real sum.golang.org checkpoints, signed by the production key of
 *     that log (the verifier key compiled into the go command);
 *   - a checkpoint and RFC 6962 proofs produced by golang.org/x/mod (note.Sign,
 *     tlog.ProveRecord, tlog.ProveTree) from a fixed key and tree;
 *   - the examples of the C2SP signed-note, tlog-checkpoint and tlog-witness
 *     specifications (their signatures are by keys that are not published, and
 *     their proofs are illustrative, so they are checked for syntax only). */
#include "note.h"
#include "testutil.h"

#include <sodium.h>
#include <stdlib.h>

/* ---- vectors ------------------------------------------------------------- */

/* golang.org/x/mod/sumdb/note, note_test.go */
#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_SKEY_B64 "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz" /* of PRIVATE+KEY+... */
#define ENOCH_VKEY "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define GO_TEXT                                                                                    \
    "If you think cryptography is the answer to your problem,\n"                                   \
    "then you don't know what your problem is.\n"
#define PETER_SIG                                                                                  \
    "\xe2\x80\x94 PeterNeumann "                                                                   \
    "x08go/ZJkuBS9UG/"                                                                             \
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
#define ENOCH_SIG                                                                                  \
    "\xe2\x80\x94 EnochRoot "                                                                      \
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"                                                 \
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"

/* sum.golang.org: the verifier key of the go command, and checkpoints it signed. */
#define SUMDB_VKEY "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
#define SUMDB_ORIGIN "go.sum database tree"
static const struct {
    const char *note;
    uint64_t size;
} sumdb_checkpoints[] = {
    {"go.sum database tree\n445646\njEFFy4AtYgBBNTSZTiNnQrgQqMbcH0mfO2oP2FxR9VU=\n\n"
     "\xe2\x80\x94 sum.golang.org "
     "Az3grkGho/"
     "PqvUmEuTv6+r2g303hUhu60FOD6vLpm19mBwH9UjquWY2OKxNmZ55z0gHrp24AgPC3Q5WO7uZrVdvdCQU=\n",
     445646},
    {"go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n"
     "\xe2\x80\x94 sum.golang.org "
     "Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/"
     "p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n",
     15368405},
    {"go.sum database tree\n63512409\nF7eHRPqN/cqPtqti14NKdGGaI1Giw8coWP3KxihFZbg=\n\n"
     "\xe2\x80\x94 sum.golang.org "
     "Az3gri1OBHKT87Xj8UXU8zjoHGy/X+7Nl94f8TZkELVaasolmGApUsWqwVG9vE6hgqYb/ph/w2vdkLIVRH7bMB/"
     "FPQ4=\n",
     63512409},
};

/* golang.org/x/mod 0.7.0: note.GenerateKey(seed 00 01 .. 1f, "tellonce.test/log"),
 * a tree of 13 leaves "leaf 0".."leaf 12" (tlog.StoredHashes), note.Sign of its
 * checkpoint, tlog.ProveRecord(13, 6) and tlog.ProveTree(13, 6). */
#define TEST_ORIGIN "tellonce.test/log"
#define TEST_VKEY "tellonce.test/log+7fa92545+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
#define TEST_ROOT13 "z5tMKkSnyqci1dVI7mT/kKEZsMMaysNETcWDAAo508o="
#define TEST_ROOT6 "g2PDghzkHrtGIiEWpCzIPbp1OYSyPPyiaqrQpoZzNuo="
#define TEST_CP13                                                                                  \
    "tellonce.test/log\n13\n" TEST_ROOT13 "\n\n"                                                   \
    "\xe2\x80\x94 tellonce.test/log "                                                              \
    "f6klRcsCmzAyVkJT/VY9agpcgeBqmNR88pcBVBUbLhjYP5ZXbKKOJ9ysZxPI4/dvl6yGYH8X8+u/"                 \
    "go7EIegtiGIOgwI=\n"
static const char *const incl_13_6[] = {
    "S0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4=",
    "dauSgmjIb0TaXUJBGI7XHkqrLU131tUBF9rZSoQu3gM=",
    "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=",
    "FKIDRTceLPTWuzSt7CdKn5X8MPMVCNcEZaVvhotgGXU=",
};
static const char *const cons_6_13[] = {
    "dauSgmjIb0TaXUJBGI7XHkqrLU131tUBF9rZSoQu3gM=",
    "brzFS2cQ7gYQp/yCzeUXE9soDj3IRRW96WMqGbZaC5M=",
    "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=",
    "FKIDRTceLPTWuzSt7CdKn5X8MPMVCNcEZaVvhotgGXU=",
};

/* The examples of the C2SP specifications. */
#define C2SP_NOTE_EXAMPLE                                                                          \
    "Ognuno sta solo sul cuor della terra\n"                                                       \
    "trafitto da un raggio di sole:\n"                                                             \
    "\n"                                                                                           \
    "ed \xc3\xa8 subito sera.\n"                                                                   \
    "\n"                                                                                           \
    "\xe2\x80\x94 quasimodo.example/salvatore "                                                    \
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/"                                                                \
    "5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
#define C2SP_CHECKPOINT_BODY                                                                       \
    "example.com/behind-the-sofa\n"                                                                \
    "20852163\n"                                                                                   \
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
#define C2SP_CHECKPOINT_SIG1                                                                       \
    "\xe2\x80\x94 example.com/behind-the-sofa "                                                    \
    "Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/"                                    \
    "Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
#define C2SP_CHECKPOINT_SIG2                                                                       \
    "\xe2\x80\x94 example.com/behind-the-sofa "                                                    \
    "opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/"                                 \
    "V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n"
#define C2SP_WITNESS_PROOF                                                                         \
    "old 20852014\n"                                                                               \
    "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n"                                               \
    "jrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n"                                               \
    "5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n"                                               \
    "/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n"                                               \
    "\n" C2SP_CHECKPOINT_BODY "\n" C2SP_CHECKPOINT_SIG1 C2SP_CHECKPOINT_SIG2

/* ---- helpers ------------------------------------------------------------- */

static void b64(uint8_t *out, size_t len, const char *s)
{
    size_t n = 0;
    if (sodium_base642bin(out, len, s, strlen(s), NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) !=
            0 ||
        n != len) {
        fprintf(stderr, "bad test vector %s\n", s);
        abort();
    }
}

/* An Ed25519 secret key in secure memory, from a 32-byte seed. */
static uint8_t *key_from_seed(const uint8_t seed[32])
{
    uint8_t pk[32];
    uint8_t *sk = sodium_malloc(TLO_NOTE_SECRET_KEY_BYTES);
    if (!sk || crypto_sign_seed_keypair(pk, sk, seed) != 0)
        abort();
    return sk;
}

static uint8_t *key_from_byte(uint8_t b)
{
    uint8_t seed[32];
    memset(seed, b, sizeof seed);
    return key_from_seed(seed);
}

static tlo_note_verifier verifier(const char *name, const uint8_t *sk)
{
    tlo_note_verifier v;
    if (tlo_note_verifier_init(&v, name, sk + 32, NULL) != 0)
        abort();
    return v;
}

static tlo_note_verifier vkey(const char *s)
{
    tlo_note_verifier v;
    tlo_error err;
    if (tlo_note_verifier_parse(&v, s, strlen(s), &err) != 0) {
        fprintf(stderr, "vkey %s: %s\n", s, err.msg);
        abort();
    }
    return v;
}

static tlo_note note; /* 5 KB: kept off the stack of every test */

static int open_n(const char *msg, size_t len, const tlo_note_verifier *keys, size_t n,
                  tlo_error *err)
{
    tlo_error_clear(err);
    return tlo_note_open(msg, len, keys, n, &note, err);
}

static int open_s(const char *msg, const tlo_note_verifier *keys, size_t n, tlo_error *err)
{
    return open_n(msg, strlen(msg), keys, n, err);
}

static bool note_is_zero(void)
{
    static const tlo_note zero;
    return memcmp(&note, &zero, sizeof note) == 0;
}

/* A heap copy of s with byte i replaced (or XORed when x). */
static char *with_byte(const char *s, size_t i, char c)
{
    char *d = strdup(s);
    if (!d)
        abort();
    d[i] = c;
    return d;
}

/* ---- golang.org/x/mod/sumdb/note ---------------------------------------- */

static void test_go_keys(void)
{
    tlo_note_verifier v;
    tlo_error err;
    char out[TLO_NOTE_VKEY_MAX];

    CHECK(tlo_note_verifier_parse(&v, PETER_VKEY, strlen(PETER_VKEY), &err) == 0);
    CHECK(strcmp(v.name, "PeterNeumann") == 0 && v.name_len == 12);
    CHECK(v.key_id == 0xc74f20a3);
    CHECK(tlo_note_key_id(v.name, v.name_len, v.public_key) == 0xc74f20a3);
    CHECK(tlo_note_verifier_format(&v, out, sizeof out, &err) == 0);
    CHECK(strcmp(out, PETER_VKEY) == 0);

    v = vkey(ENOCH_VKEY);
    CHECK(v.key_id == 0xaf0cfe78);
    CHECK(tlo_note_verifier_format(&v, out, sizeof out, &err) == 0 && !strcmp(out, ENOCH_VKEY));

    /* The sumdb key has '+' inside its base64: only the first two split. */
    v = vkey(SUMDB_VKEY);
    CHECK(v.key_id == 0x033de0ae && !strcmp(v.name, "sum.golang.org"));
    CHECK(tlo_note_verifier_format(&v, out, sizeof out, &err) == 0 && !strcmp(out, SUMDB_VKEY));

    /* Upper-case hex is accepted (Go's strconv.ParseUint is), written lower. */
    v = vkey("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
    CHECK(v.key_id == 0xc74f20a3);

    /* TestNewVerifier: every proper substring and every byte incremented fails. */
    const char *k = PETER_VKEY;
    size_t n = strlen(k);
    int accepted = 0;
    for (size_t i = 0; i <= n; i++) {
        for (size_t j = i + 1; j <= n; j++) {
            if ((i != 0 || j != n) && tlo_note_verifier_parse(&v, k + i, j - i, NULL) == 0)
                accepted++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        char *m = with_byte(k, i, (char)(k[i] + 1));
        if (tlo_note_verifier_parse(&v, m, n, NULL) == 0)
            accepted++;
        free(m);
    }
    CHECK_MSG(accepted == 0, "%d mangled verifier keys accepted", accepted);
    /* libsodium 1.0.18 decodes any byte >= 0x80 as '/': not a second spelling here. */
    char *hi = with_byte(k, (size_t)(strchr(k + 22, '/') - k), '\xa4');
    int rc = tlo_note_verifier_parse(&v, hi, n, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "base64");
    free(hi);
    rc = tlo_note_verifier_parse(&v,
                                 "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/"
                                 "LDE4izWy10TWBADKEY==",
                                 74, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "base64"); /* "EY==": non-zero padding bits, too */
    const char *alg = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    rc = tlo_note_verifier_parse(&v, alg, strlen(alg), &err);
    CHECK_ERR(rc, err, TLO_EUNSUPPORTED, "signature type 0x65");
    const char *wrong_id = "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    rc = tlo_note_verifier_parse(&v, wrong_id, strlen(wrong_id), &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "does not match");
    static const tlo_note_verifier zero;
    CHECK(memcmp(&v, &zero, sizeof v) == 0); /* cleared on failure */
}

/* TestSign: the PeterNeumann note, byte for byte. */
static void test_go_sign(void)
{
    uint8_t skey[33];
    char *out = NULL;
    size_t len = 0;
    tlo_error err;

    b64(skey, sizeof skey, PETER_SKEY_B64);
    CHECK(skey[0] == TLO_NOTE_ALG_ED25519);
    uint8_t *sk = key_from_seed(skey + 1);
    sodium_memzero(skey, sizeof skey);
    tlo_note_verifier peter = vkey(PETER_VKEY);
    CHECK(memcmp(sk + 32, peter.public_key, 32) == 0);

    CHECK(tlo_note_sign(GO_TEXT, strlen(GO_TEXT), "PeterNeumann", sk, &out, &len, &err) == 0);
    CHECK(out && len == strlen(GO_TEXT "\n" PETER_SIG) && !strcmp(out, GO_TEXT "\n" PETER_SIG));
    free(out);

    /* Sign with a short text: "malformed note". */
    int rc = tlo_note_sign("abc", 3, "PeterNeumann", sk, &out, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "end with a newline");
    CHECK(out == NULL && len == 0);
    rc = tlo_note_sign(GO_TEXT, strlen(GO_TEXT), "bad name", sk, &out, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "contains a space");
    sodium_free(sk);
}

/* TestOpen. */
static void test_go_open(void)
{
    tlo_note_verifier peter = vkey(PETER_VKEY), enoch = vkey(ENOCH_VKEY);
    tlo_note_verifier both[2] = {peter, enoch};
    const char *msg = GO_TEXT "\n" PETER_SIG ENOCH_SIG;
    tlo_error err;
    int rc;

    /* One verified, one not. */
    CHECK(open_s(msg, &peter, 1, &err) == 0);
    CHECK(note.text == msg && note.text_len == strlen(GO_TEXT));
    CHECK(note.nsigs == 2 && note.nverified == 1);
    CHECK(note.sigs[0].verified && note.sigs[0].key_id == 0xc74f20a3);
    CHECK(!note.sigs[1].verified && note.sigs[1].key_id == 0xaf0cfe78);
    CHECK(note.sigs[1].name_len == 9 && !memcmp(note.sigs[1].name, "EnochRoot", 9));

    /* Both verified. */
    CHECK(open_s(msg, both, 2, &err) == 0 && note.nverified == 2);

    /* Neither: no trusted signature. */
    rc = open_s(msg, NULL, 0, &err);
    CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");
    CHECK(note_is_zero());
    CHECK(tlo_note_parse_unverified(msg, strlen(msg), &note, &err) == 0 && note.nsigs == 2 &&
          note.nverified == 0);

    /* Duplicated verifier (two different keys with one name and id) vs the same key twice. */
    tlo_note_verifier fake = enoch;
    fake.public_key[0] ^= 1;
    tlo_note_verifier amb[3] = {enoch, peter, fake};
    rc = open_s(GO_TEXT "\n" ENOCH_SIG, amb, 3, &err);
    CHECK_ERR(rc, err, TLO_EARG, "share the name EnochRoot");
    tlo_note_verifier same[3] = {enoch, peter, enoch};
    CHECK(open_s(GO_TEXT "\n" PETER_SIG, same, 3, &err) == 0);

    /* Invalid signature by a trusted key ("ABCD" inserted: a longer signature). */
    char bad[512];
    const char *ps = PETER_SIG;
    snprintf(bad, sizeof bad, "%s\n%.60sABCD%s", GO_TEXT, ps, ps + 60);
    rc = open_s(bad, &peter, 1, &err);
    CHECK_ERR(rc, err, TLO_EPROOF, "PeterNeumann+c74f20a3 does not verify");

    /* Go's malformed notes. */
    static const char *const bad_msgs[] = {
        GO_TEXT,
        GO_TEXT "\n",
        "\x01" GO_TEXT "\n" PETER_SIG,
        "\xff" GO_TEXT "\n" PETER_SIG,
        GO_TEXT "\n" PETER_SIG "Unexpected line.\n",
        GO_TEXT
        "\n\xe2\x80\x94 Bad Name "
        "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6R"
        "yyBwJnAM=",
    };
    for (size_t i = 0; i < sizeof bad_msgs / sizeof bad_msgs[0]; i++) {
        rc = open_s(bad_msgs[i], &peter, 1, &err);
        CHECK_MSG(rc == TLO_EFORMAT, "bad message %zu: %d %s", i, rc, err.msg);
    }
    char cut[512];
    snprintf(cut, sizeof cut, "%s\n%s", GO_TEXT, PETER_SIG);
    cut[strlen(cut) - 1] = '\0'; /* the last signature line without its newline */
    rc = open_s(cut, &peter, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "does not end with a newline");
}

/* Real checkpoints of sum.golang.org, a production log. */
static void test_sumdb(void)
{
    tlo_note_verifier sumdb = vkey(SUMDB_VKEY);
    tlo_checkpoint cp;
    tlo_error err;

    for (size_t i = 0; i < sizeof sumdb_checkpoints / sizeof sumdb_checkpoints[0]; i++) {
        const char *m = sumdb_checkpoints[i].note;
        int rc = tlo_checkpoint_open(m, strlen(m), &sumdb, 1, SUMDB_ORIGIN, &cp, &err);
        CHECK_MSG(rc == 0, "sumdb checkpoint %zu: %s", i, err.msg);
        CHECK(cp.size == sumdb_checkpoints[i].size && !strcmp(cp.origin, SUMDB_ORIGIN));
        CHECK(cp.extensions == NULL && cp.extensions_len == 0);
        /* One digit of the tree size changed: the signature fails. */
        size_t at = strlen(SUMDB_ORIGIN) + 1;
        char *m2 = with_byte(m, at, m[at] == '9' ? '8' : (char)(m[at] + 1));
        rc = tlo_checkpoint_open(m2, strlen(m2), &sumdb, 1, SUMDB_ORIGIN, &cp, &err);
        CHECK_ERR(rc, err, TLO_EPROOF, "does not verify");
        free(m2);
    }
}

/* ---- signing and opening our own notes ---------------------------------- */

static void test_round_trip(void)
{
    uint8_t *sk = key_from_byte(7), *sk2 = key_from_byte(8);
    tlo_note_verifier v = verifier("tellonce.example/ledger", sk);
    tlo_note_verifier v2 = verifier("tellonce.example/ledger", sk2);
    tlo_note_verifier other = verifier("witness.example", sk2);
    char *out = NULL;
    size_t len = 0;
    tlo_error err;
    int rc;

    /* Texts with blank lines, a fake signature line, non-ASCII, a lone newline. */
    static const char *const texts[] = {
        "a\n",
        "\n",
        "\n\n\n",
        "line one\n\nline three\n\n",
        "x\n\n\xe2\x80\x94 tellonce.example/ledger AAAAAAA=\n",
        ("Gr\xc3\xbc\xc3\x9f"
         "e \xe2\x80\x94 \xf0\x9f\x94\x92 \x7f\n"),
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        const char *t = texts[i];
        rc = tlo_note_sign(t, strlen(t), "tellonce.example/ledger", sk, &out, &len, &err);
        CHECK_MSG(rc == 0, "sign text %zu: %s", i, err.msg);
        CHECK(out && strlen(out) == len);
        CHECK_MSG(out && open_n(out, len, &v, 1, &err) == 0, "open text %zu: %s", i, err.msg);
        CHECK(note.text == out && note.text_len == strlen(t) && !memcmp(note.text, t, strlen(t)));
        CHECK(note.nsigs == 1 && note.nverified == 1);
        /* The same name under another key: another key id, so ignored. */
        rc = open_n(out, len, &v2, 1, &err);
        CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");
        free(out);
        out = NULL;
    }

    /* Two signatures: ours and a witness's (a co-signed note), in either order. */
    const char *t = "tellonce.example/ledger\n5\n" TEST_ROOT13 "\n";
    char *a = NULL, *b = NULL;
    size_t alen, blen;
    CHECK(tlo_note_sign(t, strlen(t), "tellonce.example/ledger", sk, &a, &alen, &err) == 0);
    CHECK(tlo_note_sign(t, strlen(t), "witness.example", sk2, &b, &blen, &err) == 0);
    char both[1024];
    snprintf(both, sizeof both, "%s%s", a, b + strlen(t) + 1);
    tlo_note_verifier keys[2] = {other, v};
    CHECK(open_s(both, keys, 2, &err) == 0 && note.nverified == 2 && note.nsigs == 2);
    CHECK(open_s(both, &other, 1, &err) == 0 && note.nverified == 1 && note.sigs[1].verified);
    CHECK(open_s(both, &v, 1, &err) == 0 && note.nverified == 1 && note.sigs[0].verified);
    free(a);
    free(b);

    /* A key whose public half does not match its seed signs nothing. */
    uint8_t *broken = key_from_byte(9);
    broken[40] ^= 1;
    rc = tlo_note_sign("a\n", 2, "k", broken, &out, &len, &err);
    CHECK_ERR(rc, err, TLO_ECRYPTO, "damaged");
    CHECK(out == NULL);
    sodium_free(broken);
    sodium_free(sk);
    sodium_free(sk2);
}

/* Negative tests on a note we signed: every alteration must fail. */
static void test_tamper(void)
{
    uint8_t *sk = key_from_byte(1), *sk2 = key_from_byte(2);
    tlo_note_verifier v = verifier("tellonce.example/ledger", sk);
    const char *t = "tellonce.example/ledger\n42\n" TEST_ROOT13 "\n";
    char *m = NULL;
    size_t len = 0;
    tlo_error err;
    int rc;

    CHECK(tlo_note_sign(t, strlen(t), "tellonce.example/ledger", sk, &m, &len, &err) == 0);
    CHECK(open_n(m, len, &v, 1, &err) == 0);
    size_t tlen = strlen(t), sig_at = tlen + 1 + 4 + strlen("tellonce.example/ledger") + 1;

    /* Every byte of the text altered: TLO_EPROOF or (for a newline) TLO_EFORMAT. */
    int passed = 0;
    for (size_t i = 0; i < tlen; i++) {
        char *d = with_byte(m, i, m[i] == 'A' ? 'B' : 'A');
        if (open_n(d, len, &v, 1, &err) == 0)
            passed++;
        free(d);
    }
    CHECK_MSG(passed == 0, "%d altered texts verified", passed);
    char *d = with_byte(m, 30, 'Q');
    rc = open_n(d, len, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EPROOF, "does not verify");
    free(d);

    /* Every base64 character of the signature (key id included) altered. */
    passed = 0;
    for (size_t i = sig_at; i < len - 2; i++) {
        d = with_byte(m, i, m[i] == 'A' ? 'B' : 'A');
        rc = open_n(d, len, &v, 1, &err);
        if (rc == 0)
            passed++;
        free(d);
    }
    CHECK_MSG(passed == 0, "%d altered signatures verified", passed);

    /* A signature byte altered (not its key id): trusted key, bad signature. */
    d = with_byte(m, sig_at + 20, m[sig_at + 20] == 'A' ? 'B' : 'A');
    rc = open_n(d, len, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EPROOF, "does not verify");
    free(d);

    /* Wrong key (same name, another key): the key id differs, so the
     * signature is "by another key" and nothing trusted signed. */
    tlo_note_verifier wrong = verifier("tellonce.example/ledger", sk2);
    rc = open_n(m, len, &wrong, 1, &err);
    CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");

    /* Wrong key id: a trusted name and key under an id that is not its own.
     * The spec says such a signature is another key's and is ignored. */
    tlo_note_verifier wrong_id = v;
    wrong_id.key_id ^= 1;
    rc = open_n(m, len, &wrong_id, 1, &err);
    CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");
    /* ... and a signature line whose key id was replaced by another key's
     * id, under the same name, is checked against that key and fails. */
    tlo_note_verifier v2 = verifier("tellonce.example/ledger", sk2);
    uint8_t raw[68];
    char sigb64[93], forged[1024];
    {
        const char *s = m + sig_at;
        char tmp[93];
        memcpy(tmp, s, 92);
        tmp[92] = '\0';
        b64(raw, sizeof raw, tmp);
        tlo_store_be32(raw, v2.key_id);
        sodium_bin2base64(sigb64, sizeof sigb64, raw, sizeof raw, sodium_base64_VARIANT_ORIGINAL);
        snprintf(forged, sizeof forged, "%s\n\xe2\x80\x94 tellonce.example/ledger %s\n", t, sigb64);
        rc = open_s(forged, &v2, 1, &err);
        CHECK_ERR(rc, err, TLO_EPROOF, "does not verify");
    }

    /* Structure: missing blank line, CRLF, trailing garbage, duplicate lines, NUL. */
    char buf[2048];
    snprintf(buf, sizeof buf, "%.*s%s", (int)tlen, m, m + tlen + 1); /* blank line removed */
    rc = open_s(buf, &v, 1, &err);
    CHECK_MSG(rc == TLO_EFORMAT, "no blank line: %s", err.msg);
    CHECK(note_is_zero());

    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (m[i] == '\n')
            buf[o++] = '\r';
        buf[o++] = m[i];
    }
    rc = open_n(buf, o, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "carriage return");
    snprintf(buf, sizeof buf, "%s", m);
    buf[len - 1] = '\r';
    buf[len] = '\n';
    rc = open_n(buf, len + 1, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "carriage return");

    snprintf(buf, sizeof buf, "%sgarbage", m);
    rc = open_s(buf, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "does not end with a newline");
    snprintf(buf, sizeof buf, "%sgarbage\n", m);
    rc = open_s(buf, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "does not start with an em dash");
    snprintf(buf, sizeof buf, "%s\n", m); /* an empty line after the signatures */
    rc = open_s(buf, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "no signature line");
    snprintf(buf, sizeof buf, "%s%s", m, m + tlen + 1); /* the signature line twice */
    rc = open_s(buf, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "signature lines 1 and 2 are by the same key");
    rc = open_s(buf, NULL, 0, &err); /* duplicates are malformed even when untrusted */
    CHECK_ERR(rc, err, TLO_EFORMAT, "by the same key");

    memcpy(buf, m, len);
    buf[5] = '\0';
    rc = open_n(buf, len, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "NUL byte");
    memcpy(buf, m, len);
    buf[len - 1] = '\0'; /* NUL in place of the final newline */
    rc = open_n(buf, len, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "NUL byte");
    buf[len - 1] = '\n';
    buf[3] = '\t';
    rc = open_n(buf, len, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "control character 0x09");

    /* Malformed signature lines. */
    static const char *const bad_sig_lines[] = {
        "- tellonce.example/ledger AAAAAAA=\n",           /* hyphen, not an em dash */
        "\xe2\x80\x94tellonce.example/ledger AAAAAAA=\n", /* no space after the dash */
        "\xe2\x80\x94 tellonce.example/ledger\n",         /* no signature */
        "\xe2\x80\x94 tellonce.example/ledger \n",        /* empty signature */
        "\xe2\x80\x94  AAAAAAA=\n",                       /* empty name */
        "\xe2\x80\x94 a+b AAAAAAA=\n",                    /* '+' in the name */
        ("\xe2\x80\x94 a\xc2\xa0"
         "b AAAAAAA=\n"), /* NO-BREAK SPACE in the name */
        ("\xe2\x80\x94 a\xe3\x80\x80"
         "b AAAAAAA=\n"),                /* IDEOGRAPHIC SPACE in the name */
        "\xe2\x80\x94 k AAAAAA==\n",     /* 4 bytes: a key id, no signature */
        "\xe2\x80\x94 k AAAAAAF=\n",     /* non-zero padding bits */
        "\xe2\x80\x94 k AAAAAAA\n",      /* no padding */
        "\xe2\x80\x94 k AAAA AAA=\n",    /* space inside the base64 */
        "\xe2\x80\x94 k AAAAAAA= \n",    /* trailing space */
        "\xe2\x80\x94 k AAAAAAA=AAAA\n", /* data after padding */
        ("\xe2\x80\x94 k AAAA\xc2\xbf"
         "A=\n"),                                /* "\xc2\xbf" for "//" (libsodium 1.0.18) */
        "\xe2\x80\x94 k AAAAAAA=\xe2\x80\x94\n", /* non-ASCII in the base64 */
    };
    for (size_t i = 0; i < sizeof bad_sig_lines / sizeof bad_sig_lines[0]; i++) {
        snprintf(buf, sizeof buf, "%s%s", m, bad_sig_lines[i]);
        rc = open_s(buf, &v, 1, &err);
        CHECK_MSG(rc == TLO_EFORMAT, "bad signature line %zu: %d %s", i, rc, err.msg);
    }
    /* A well-formed unknown signature is ignored. */
    snprintf(buf, sizeof buf, "%s\xe2\x80\x94 k AAAAAAA=\n", m);
    CHECK(open_s(buf, &v, 1, &err) == 0 && note.nsigs == 2 && note.nverified == 1);

    free(m);
    sodium_free(sk);
    sodium_free(sk2);
}

/* Bounds: signature count, line length, note size, key names, UTF-8. */
static void test_bounds(void)
{
    uint8_t *sk = key_from_byte(3);
    tlo_note_verifier v = verifier("k", sk);
    char *m = NULL, *big;
    size_t len = 0;
    tlo_error err;
    int rc;

    CHECK(tlo_note_sign("t\n", 2, "k", sk, &m, &len, &err) == 0);
    big = malloc(TLO_NOTE_MAX_BYTES + 64);
    if (!big)
        abort();

    /* 99 other signatures and ours: 100 accepted; 101 not. */
    size_t o = 0;
    memcpy(big, m, len);
    o = len;
    for (int i = 0; i < 99; i++)
        o += (size_t)sprintf(big + o, "\xe2\x80\x94 other%d AAAAAAA=\n", i);
    CHECK(open_n(big, o, &v, 1, &err) == 0 && note.nsigs == 100 && note.nverified == 1);
    o += (size_t)sprintf(big + o, "\xe2\x80\x94 other%d AAAAAAA=\n", 99);
    rc = open_n(big, o, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "more than 100 signatures");

    /* A line of TLO_NOTE_LINE_MAX bytes is fine; one more is not. */
    char *t = malloc(TLO_NOTE_LINE_MAX + 2);
    if (!t)
        abort();
    memset(t, 'x', TLO_NOTE_LINE_MAX);
    t[TLO_NOTE_LINE_MAX] = '\n';
    free(m);
    CHECK(tlo_note_sign(t, TLO_NOTE_LINE_MAX + 1, "k", sk, &m, &len, &err) == 0);
    CHECK(open_n(m, len, &v, 1, &err) == 0);
    free(m);
    t[TLO_NOTE_LINE_MAX] = 'x';
    t[TLO_NOTE_LINE_MAX + 1] = '\n';
    rc = tlo_note_sign(t, TLO_NOTE_LINE_MAX + 2, "k", sk, &m, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "line of 16385 bytes");
    memcpy(big, t, TLO_NOTE_LINE_MAX + 2);
    o = TLO_NOTE_LINE_MAX + 2 +
        (size_t)sprintf(big + TLO_NOTE_LINE_MAX + 2, "\n\xe2\x80\x94 k AAAAAAA=\n");
    rc = open_n(big, o, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "line of 16385 bytes");
    free(t);

    /* The whole note: at most TLO_NOTE_MAX_BYTES. */
    for (size_t i = 0; i < TLO_NOTE_MAX_BYTES; i++)
        big[i] = (i % 64 == 63) ? '\n' : 'y';
    rc = tlo_note_sign(big, TLO_NOTE_MAX_BYTES, "k", sk, &m, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "would exceed");
    o = TLO_NOTE_MAX_BYTES - 200;
    big[o - 1] = '\n';
    CHECK(tlo_note_sign(big, o, "k", sk, &m, &len, &err) == 0 && len <= TLO_NOTE_MAX_BYTES);
    CHECK(open_n(m, len, &v, 1, &err) == 0);
    free(m);
    o = TLO_NOTE_MAX_BYTES + 1 - 15;
    big[o - 1] = '\n';
    o += (size_t)sprintf(big + o, "\n\xe2\x80\x94 k AAAAAAA=\n");
    rc = open_n(big, o, &v, 1, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "accepts at most 1048576");

    /* Key names. */
    char name[TLO_NOTE_NAME_MAX + 2];
    memset(name, 'n', sizeof name);
    name[TLO_NOTE_NAME_MAX] = '\0';
    CHECK(tlo_note_sign("t\n", 2, name, sk, &m, &len, &err) == 0);
    tlo_note_verifier vn = verifier(name, sk);
    CHECK(open_n(m, len, &vn, 1, &err) == 0);
    char vk[TLO_NOTE_VKEY_MAX];
    CHECK(tlo_note_verifier_format(&vn, vk, sizeof vk, &err) == 0 &&
          strlen(vk) == TLO_NOTE_VKEY_MAX - 1);
    tlo_note_verifier back;
    CHECK(tlo_note_verifier_parse(&back, vk, strlen(vk), &err) == 0 && back.key_id == vn.key_id);
    free(m);
    name[TLO_NOTE_NAME_MAX] = 'n';
    name[TLO_NOTE_NAME_MAX + 1] = '\0';
    rc = tlo_note_sign("t\n", 2, name, sk, &m, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "at most 512");
    static const char *const bad_names[] = {
        "",
        "a b",
        "a+b",
        "a\tb",
        ("a\xc2\x85"
         "b"),
        ("a\xe2\x80\xa8"
         "b"),
        ("a\xe1\x9a\x80"
         "b"),
        "a\xc0\xaf",
        "a\xed\xa0\x80",
        "a\xf4\x90\x80\x80",
        "a\x01",
        "\xe2\x80",
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        rc = tlo_note_sign("t\n", 2, bad_names[i], sk, &m, &len, &err);
        CHECK_MSG(rc == TLO_EFORMAT && m == NULL, "bad name %zu accepted", i);
        tlo_note_verifier vb;
        CHECK(tlo_note_verifier_init(&vb, bad_names[i], sk + 32, NULL) == TLO_EFORMAT);
    }
    /* Names may hold any other character: '-', '/', '@', non-ASCII, DEL. */
    CHECK(tlo_note_sign("t\n", 2, "a-b/c@d\xc3\xa9\x7f", sk, &m, &len, &err) == 0);
    free(m);

    /* Texts that are not UTF-8 or hold control characters. */
    static const char *const bad_texts[] = {
        "\xc0\xaf\n",         /* overlong '/' */
        "\xe0\x80\xaf\n",     /* overlong, 3 bytes */
        "\xed\xa0\x80\n",     /* a surrogate */
        "\xf4\x90\x80\x80\n", /* above U+10FFFF */
        "\xc3\n",             /* cut sequence */
        "\x80\n",             /* lone continuation byte */
        "a\x1b[31m\n",        /* escape */
        "a\r\n",
        "no newline",
        "",
    };
    for (size_t i = 0; i < sizeof bad_texts / sizeof bad_texts[0]; i++) {
        rc = tlo_note_sign(bad_texts[i], strlen(bad_texts[i]), "k", sk, &m, &len, &err);
        CHECK_MSG(rc == TLO_EFORMAT && m == NULL, "bad text %zu accepted", i);
    }
    rc = tlo_note_sign("a\0b\n", 4, "k", sk, &m, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "NUL byte");

    /* Arguments. */
    CHECK(tlo_note_open(NULL, 0, &v, 1, &note, &err) == TLO_EARG);
    CHECK(tlo_note_open("x", 1, NULL, 1, &note, &err) == TLO_EARG);
    CHECK(tlo_note_sign(NULL, 0, "k", sk, &m, &len, NULL) == TLO_EARG);
    CHECK(tlo_note_verifier_format(&v, vk, 10, NULL) == TLO_EARG);
    free(big);
    sodium_free(sk);
}

/* ---- checkpoints --------------------------------------------------------- */

static void test_checkpoint(void)
{
    uint8_t root[32], *sk;
    uint8_t seed[32];
    tlo_checkpoint cp;
    char *out = NULL;
    size_t len = 0;
    tlo_error err;
    int rc;

    /* The Go-signed checkpoint, byte for byte, from the same key. */
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    sk = key_from_seed(seed);
    tlo_note_verifier v = vkey(TEST_VKEY), mine = verifier(TEST_ORIGIN, sk);
    CHECK(v.key_id == mine.key_id && !memcmp(v.public_key, mine.public_key, 32));
    b64(root, sizeof root, TEST_ROOT13);
    CHECK(tlo_checkpoint_sign(TEST_ORIGIN, 13, root, TEST_ORIGIN, sk, &out, &len, &err) == 0);
    CHECK(out && !strcmp(out, TEST_CP13) && len == strlen(TEST_CP13));
    free(out);
    CHECK(tlo_checkpoint_open(TEST_CP13, strlen(TEST_CP13), &v, 1, TEST_ORIGIN, &cp, &err) == 0);
    CHECK(cp.size == 13 && !memcmp(cp.root, root, 32) && cp.origin_len == strlen(TEST_ORIGIN));
    rc = tlo_checkpoint_open(TEST_CP13, strlen(TEST_CP13), &v, 1, "example.com/other", &cp, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "another log");
    CHECK(cp.size == 0 && cp.origin[0] == '\0');

    /* Sizes 0, 1 and 2^64-1; round trip through format and parse. */
    static const uint64_t sizes[] = {0, 1, 10, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        CHECK(tlo_checkpoint_format("log.example/a", sizes[i], root, NULL, &out, &len, &err) == 0);
        CHECK(tlo_checkpoint_parse(out, len, &cp, &err) == 0 && cp.size == sizes[i]);
        CHECK(!strcmp(cp.origin, "log.example/a") && !memcmp(cp.root, root, 32));
        free(out);
    }
    CHECK(tlo_checkpoint_format("o", 0, root, NULL, &out, &len, &err) == 0);
    CHECK(!strcmp(out, "o\n0\n" TEST_ROOT13 "\n"));
    free(out);

    /* Extension lines. */
    CHECK(tlo_checkpoint_format("o", 5, root, "ext one\next two\n", &out, &len, &err) == 0);
    CHECK(tlo_checkpoint_parse(out, len, &cp, &err) == 0);
    CHECK(cp.extensions == out + len - 16 && cp.extensions_len == 16);
    free(out);
    rc = tlo_checkpoint_format("o", 5, root, "ext\n\n", &out, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "empty extension line");
    rc = tlo_checkpoint_format("o", 5, root, "ext", &out, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "end with a newline");
    rc = tlo_checkpoint_format("two words", 5, root, NULL, &out, &len, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "contains a space");
    CHECK(out == NULL);

    /* Parsing: the origin may be any non-empty line (go.sum's has spaces). */
    const char *ok = SUMDB_ORIGIN "\n0\n" TEST_ROOT13 "\n";
    CHECK(tlo_checkpoint_parse(ok, strlen(ok), &cp, &err) == 0 && cp.size == 0);
    static const char *const bad[] = {
        "\n1\n" TEST_ROOT13 "\n",                               /* empty origin */
        "o\n01\n" TEST_ROOT13 "\n",                             /* leading zero */
        "o\n00\n" TEST_ROOT13 "\n",                             /* leading zero */
        "o\n+1\n" TEST_ROOT13 "\n",                             /* sign */
        "o\n-1\n" TEST_ROOT13 "\n",                             /* sign */
        "o\n 1\n" TEST_ROOT13 "\n",                             /* space */
        "o\n1 \n" TEST_ROOT13 "\n",                             /* space */
        "o\n0x10\n" TEST_ROOT13 "\n",                           /* hex */
        "o\n18446744073709551616\n" TEST_ROOT13 "\n",           /* 2^64 */
        "o\n99999999999999999999\n" TEST_ROOT13 "\n",           /* overflow, 20 digits */
        "o\n\n" TEST_ROOT13 "\n",                               /* empty size */
        "o\n1\n",                                               /* no root */
        "o\n1\n\n",                                             /* empty root */
        "o\n1\nz5tMKkSnyqci1dVI7mT/kKEZsMMaysNETcWDAAo508o\n",  /* unpadded */
        "o\n1\nz5tMKkSnyqci1dVI7mT/kKEZsMMaysNETcWDAAo508p=\n", /* padding bits */
        "o\n1\nz5tMKkSnyqci1dVI7mT/kKEZsMMaysNETcWDAAo5\n",     /* 30 bytes */
        "o\n1\nz5tMKkSnyqci1dVI7mT/kKEZsMMaysNETcWDAAo508oA\n", /* 33 bytes */
        "o\n1\nz5tMKkSnyqci1dVI7mT_kKEZsMMaysNETcWDAAo508o=\n", /* URL alphabet */
        "o\n1\n" TEST_ROOT13,                                   /* no final newline */
        "o\n1\n" TEST_ROOT13 "\n\n",                            /* empty extension line */
        "o\n1\n" TEST_ROOT13 "\nx\n\n",                         /* empty extension line */
        "o\n1\n" TEST_ROOT13 "\r\n",                            /* CRLF */
        "o\r\n1\n" TEST_ROOT13 "\n",                            /* CRLF */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = tlo_checkpoint_parse(bad[i], strlen(bad[i]), &cp, &err);
        CHECK_MSG(rc == TLO_EFORMAT, "bad checkpoint %zu accepted", i);
        CHECK(cp.size == 0 && cp.origin_len == 0);
    }
    rc = tlo_checkpoint_parse("o\n1\0\n" TEST_ROOT13 "\n", 50, &cp, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "NUL byte");
    char longorigin[TLO_CHECKPOINT_ORIGIN_MAX + 64];
    memset(longorigin, 'o', TLO_CHECKPOINT_ORIGIN_MAX + 1);
    snprintf(longorigin + TLO_CHECKPOINT_ORIGIN_MAX + 1, 60, "\n1\n%s\n", TEST_ROOT13);
    rc = tlo_checkpoint_parse(longorigin, strlen(longorigin), &cp, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "origin is 513 bytes");

    /* A root whose base64 holds "//", spelled with a UTF-8 character that
     * libsodium 1.0.18 alone would decode the same. */
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    CHECK(tlo_checkpoint_format("o", 1, ff, NULL, &out, &len, &err) == 0);
    CHECK(tlo_checkpoint_parse(out, len, &cp, &err) == 0 && !memcmp(cp.root, ff, 32));
    char *slashes = strstr(out, "//");
    slashes[0] = '\xc2';
    slashes[1] = '\xbf';
    rc = tlo_checkpoint_parse(out, len, &cp, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "root hash");
    free(out);

    /* A checkpoint whose text is well signed but is not a checkpoint. */
    CHECK(tlo_note_sign("o\n1\n", 4, TEST_ORIGIN, sk, &out, &len, &err) == 0);
    rc = tlo_checkpoint_open(out, len, &mine, 1, NULL, &cp, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "root hash");
    free(out);
    sodium_free(sk);
}

/* The examples of the C2SP specifications. */
static void test_c2sp_examples(void)
{
    tlo_checkpoint cp;
    tlo_proof_consistency pc;
    tlo_error err;
    uint8_t sig[68];
    char *out = NULL;
    size_t len;

    /* signed-note: the Quasimodo poem, with an empty line inside its text. */
    const char *poem = C2SP_NOTE_EXAMPLE;
    CHECK(tlo_note_parse_unverified(poem, strlen(poem), &note, &err) == 0);
    CHECK(note.text_len == strlen(poem) - strlen(strstr(poem, "\n\n\xe2\x80\x94")) + 1);
    CHECK(note.nsigs == 1 && note.sigs[0].name_len == strlen("quasimodo.example/salvatore"));
    b64(sig, sizeof sig,
        "NnugSzTjtVAewIS+Z/iJhUPeFDkO/"
        "5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=");
    CHECK(note.sigs[0].key_id == tlo_load_be32(sig));
    int rc = open_s(poem, NULL, 0, &err);
    CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");

    /* tlog-checkpoint: the example parses and formats back to itself. */
    const char *cpn = C2SP_CHECKPOINT_BODY "\n" C2SP_CHECKPOINT_SIG1;
    CHECK(tlo_note_parse_unverified(cpn, strlen(cpn), &note, &err) == 0);
    CHECK(tlo_checkpoint_parse(note.text, note.text_len, &cp, &err) == 0);
    CHECK(!strcmp(cp.origin, "example.com/behind-the-sofa") && cp.size == 20852163);
    CHECK(tlo_checkpoint_format(cp.origin, cp.size, cp.root, NULL, &out, &len, &err) == 0);
    CHECK(out && !strcmp(out, C2SP_CHECKPOINT_BODY));
    free(out);

    /* tlog-witness: the example add-checkpoint body under our header is our
     * consistency proof's syntax, but its 4 hashes are illustrative: from
     * 20852014 to 20852163 leaves a proof has 18. */
    const char *wp = TLO_PROOF_CONSISTENCY_HEADER "\n" C2SP_WITNESS_PROOF;
    CHECK(tlo_proof_consistency_len(20852014, 20852163) == 18);
    rc = tlo_proof_consistency_parse(wp, strlen(wp), &pc, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "has 4 hashes where the tree sizes call for exactly 18");
}

/* ---- proofs -------------------------------------------------------------- */

/* RFC 6962 PATH and PROOF lengths by their recursive definitions. */
static size_t path_len(uint64_t m, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return 1 + (m < k ? path_len(m, k) : path_len(m - k, n - k));
}

static size_t subproof_len(uint64_t m, uint64_t n, bool b)
{
    if (m == n)
        return b ? 0 : 1;
    uint64_t k = 1;
    while (k * 2 < n)
        k *= 2;
    return 1 + (m <= k ? subproof_len(m, k, b) : subproof_len(m - k, n - k, false));
}

static void test_proof_lengths(void)
{
    int bad = 0;
    for (uint64_t n = 1; n <= 300; n++) {
        for (uint64_t m = 0; m < n; m++) {
            if (tlo_proof_inclusion_len(m, n) != path_len(m, n))
                bad++;
            if (m > 0 && tlo_proof_consistency_len(m, n) != subproof_len(m, n, true))
                bad++;
        }
        if (tlo_proof_consistency_len(0, n) != 0 || tlo_proof_consistency_len(n, n) != 0)
            bad++;
    }
    CHECK_MSG(bad == 0, "%d proof lengths differ from RFC 6962", bad);
    CHECK(tlo_proof_inclusion_len(0, UINT64_MAX) == 64);
    CHECK(tlo_proof_inclusion_len(UINT64_MAX - 1, UINT64_MAX) == 63);
    CHECK(tlo_proof_inclusion_len(5, 5) == 0);
    CHECK(tlo_proof_consistency_len(1, UINT64_MAX) == 64);
    CHECK(tlo_proof_consistency_len(3, UINT64_MAX) == TLO_PROOF_CONSISTENCY_MAX_HASHES);
    CHECK(tlo_proof_consistency_len(UINT64_C(1) << 63, UINT64_MAX) == 1);
    CHECK(tlo_proof_consistency_len(3, UINT64_C(1) << 62) == 63); /* tlog-witness's bound */
    CHECK(tlo_proof_consistency_len(3, 2) == 0);
}

/* RFC 9162 2.1.3.2: the inclusion proof from Go verifies against its root,
 * which pins the order of the hashes (leaf's sibling first). */
static bool verify_inclusion(uint64_t index, uint64_t size, const uint8_t leaf[32],
                             const uint8_t (*path)[32], size_t n, const uint8_t root[32])
{
    uint64_t fn = index, sn = size - 1;
    uint8_t r[32], buf[65];
    memcpy(r, leaf, 32);
    for (size_t i = 0; i < n; i++) {
        if (sn == 0)
            return false;
        buf[0] = 1;
        if ((fn & 1) || fn == sn) {
            memcpy(buf + 1, path[i], 32);
            memcpy(buf + 33, r, 32);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0)
                    fn >>= 1, sn >>= 1;
        } else {
            memcpy(buf + 1, r, 32);
            memcpy(buf + 33, path[i], 32);
        }
        crypto_hash_sha256(r, buf, sizeof buf);
        fn >>= 1, sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, 32) == 0;
}

static tlo_proof_inclusion pi, pi2; /* 6 KB each */

static void test_inclusion_proof(void)
{
    tlo_note_verifier v = vkey(TEST_VKEY);
    uint8_t root[32], leaf[32], buf[16];
    tlo_checkpoint cp;
    char *out = NULL, *out2 = NULL;
    size_t len = 0, len2 = 0;
    tlo_error err;
    int rc;

    memset(&pi, 0, sizeof pi);
    pi.index = 6;
    pi.nhashes = 4;
    for (size_t i = 0; i < 4; i++)
        b64(pi.hashes[i], 32, incl_13_6[i]);
    pi.checkpoint = TEST_CP13;
    pi.checkpoint_len = strlen(TEST_CP13);

    buf[0] = 0;
    memcpy(buf + 1, "leaf 6", 6);
    crypto_hash_sha256(leaf, buf, 7);
    b64(root, 32, TEST_ROOT13);
    CHECK(verify_inclusion(6, 13, leaf, (const uint8_t(*)[32])pi.hashes, 4, root));

    CHECK(tlo_proof_inclusion_format(&pi, &out, &len, &err) == 0);
    const char *want = "c2sp.org/tlog-proof@v1\nindex 6\n"
                       "S0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4=\n"
                       "dauSgmjIb0TaXUJBGI7XHkqrLU131tUBF9rZSoQu3gM=\n"
                       "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=\n"
                       "FKIDRTceLPTWuzSt7CdKn5X8MPMVCNcEZaVvhotgGXU=\n"
                       "\n" TEST_CP13;
    CHECK(out && !strcmp(out, want));
    CHECK(tlo_proof_inclusion_open(out, len, &v, 1, TEST_ORIGIN, &pi2, &cp, &err) == 0);
    CHECK(pi2.index == 6 && pi2.nhashes == 4 && !pi2.has_extra && cp.size == 13);
    CHECK(!memcmp(pi2.hashes, pi.hashes, sizeof pi.hashes));
    CHECK(pi2.checkpoint == out + len - strlen(TEST_CP13));
    CHECK(tlo_proof_inclusion_format(&pi2, &out2, &len2, &err) == 0 && !strcmp(out, out2));
    free(out2);

    /* With extra data (the spec's own example string is not valid base64). */
    pi.has_extra = true;
    pi.extra_len = 30;
    memcpy(pi.extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
    CHECK(tlo_proof_inclusion_format(&pi, &out2, &len2, &err) == 0);
    CHECK(out2 &&
          !strncmp(out2 + 23, "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\nindex 6\n", 55));
    CHECK(tlo_proof_inclusion_parse(out2, len2, &pi2, &err) == 0 && pi2.has_extra &&
          pi2.extra_len == 30 && !memcmp(pi2.extra, pi.extra, 30));
    free(out2);
    /* The extra line of the tlog-proof example, in front of our proof. */
    char *spec_extra = malloc(len + 128);
    if (!spec_extra)
        abort();
    int sn = sprintf(spec_extra,
                     "c2sp.org/tlog-proof@v1\n"
                     "extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6kYXJ3aW4tYXJ\n%s",
                     out + 23);
    CHECK(tlo_proof_inclusion_parse(spec_extra, (size_t)sn, &pi2, &err) == 0);
    CHECK(pi2.has_extra && pi2.extra_len == 39 && !memcmp(pi2.extra, "age-v1.2.1-darwin", 17));
    free(spec_extra);
    pi.has_extra = false;

    /* Wrong key, wrong origin. */
    tlo_note_verifier peter = vkey(PETER_VKEY);
    rc = tlo_proof_inclusion_open(out, len, &peter, 1, TEST_ORIGIN, &pi2, &cp, &err);
    CHECK_ERR(rc, err, TLO_EWRONGKEY, "signed by none");
    CHECK(pi2.index == 0 && pi2.checkpoint == NULL && cp.size == 0);

    /* The writer refuses what the reader would refuse. */
    pi.index = 13;
    rc = tlo_proof_inclusion_format(&pi, &out2, &len2, &err);
    CHECK_ERR(rc, err, TLO_EARG, "not in a tree of 13");
    pi.index = 6;
    pi.nhashes = 3;
    rc = tlo_proof_inclusion_format(&pi, &out2, &len2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "has 3 hashes where the tree sizes call for exactly 4");
    pi.nhashes = 4;
    pi.has_extra = true;
    pi.extra_len = 0;
    rc = tlo_proof_inclusion_format(&pi, &out2, &len2, &err);
    CHECK_ERR(rc, err, TLO_EARG, "omit it");
    pi.has_extra = false;
    pi.checkpoint = TEST_CP13 "x";
    pi.checkpoint_len = strlen(TEST_CP13) + 1;
    rc = tlo_proof_inclusion_format(&pi, &out2, &len2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "the checkpoint in the inclusion proof is malformed");
    CHECK(out2 == NULL);

    /* Malformed proofs. */
    char m[4096];
    const char *h = TLO_PROOF_INCLUSION_HEADER "\n";
    const char *hashes = "S0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4=\n"
                         "dauSgmjIb0TaXUJBGI7XHkqrLU131tUBF9rZSoQu3gM=\n"
                         "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=\n"
                         "FKIDRTceLPTWuzSt7CdKn5X8MPMVCNcEZaVvhotgGXU=\n";
    struct {
        const char *fmt; /* %s: header, hashes, checkpoint */
        int code;
        const char *needle;
    } cases[] = {
        {"c2sp.org/tlog-proof@v2\nindex 6\n%.0s%s\n%s", TLO_EUNSUPPORTED, "another version"},
        {"tlog-proof\nindex 6\n%.0s%s\n%s", TLO_EFORMAT, "does not start with the line"},
        {"%sindex 06\n%s\n%s", TLO_EFORMAT, "\"index \""},
        {"%sindex  6\n%s\n%s", TLO_EFORMAT, "\"index \""},
        {"%sindex 6 \n%s\n%s", TLO_EFORMAT, "\"index \""},
        {"%sIndex 6\n%s\n%s", TLO_EFORMAT, "\"index \""},
        {"%sindex 13\n%s\n%s", TLO_EFORMAT, "not in its tree of 13"},
        {"%sindex 12\n%s\n%s", TLO_EFORMAT, "call for exactly 2"},
        {"%sindex 6\n%sS0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4=\n\n%s", TLO_EFORMAT,
         "has 5 hashes"},
        {"%sindex 6\n%sS0cR0FayJ4OSwjH9QYWK3qjKiTrQxwSPV9omggAoRf4\n\n%s", TLO_EFORMAT,
         "not a 32-byte hash"},
        {"%sindex 6\n%s%s", TLO_EFORMAT, "not a 32-byte hash"}, /* no blank line */
        {"%sindex 6\n%s\n\n%s", TLO_EFORMAT, "malformed"},      /* two blank lines */
        {"%sextra \nindex 6\n%s\n%s", TLO_EFORMAT, "extra data"},
        {"%sindex 6\nextra AAAA\n%s\n%s", TLO_EFORMAT, "not a 32-byte hash"},
        {"%sindex 6\n%s\n%sgarbage\n", TLO_EFORMAT, "em dash"},
        {"%sindex 6\n%s\n%s\n", TLO_EFORMAT, "no signature line"},
        {"%sindex 6\n%s", TLO_EFORMAT, "ends before the blank line"},
        {"%sindex 6\n%s\n%.0s", TLO_EFORMAT, "no checkpoint"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
/* The formats are the test table above, all literals of this file. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        int n = snprintf(m, sizeof m, cases[i].fmt, h, hashes, TEST_CP13);
#pragma GCC diagnostic pop
        rc = tlo_proof_inclusion_parse(m, (size_t)n, &pi2, &err);
        CHECK_MSG(rc == cases[i].code && strstr(err.msg, cases[i].needle), "proof case %zu: %d %s",
                  i, rc, err.msg);
    }
    memcpy(m, out, len);
    m[len - 1] = '\r';
    m[len] = '\n';
    rc = tlo_proof_inclusion_parse(m, len + 1, &pi2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "carriage return");
    m[len - 1] = '\n';
    m[30] = '\0';
    rc = tlo_proof_inclusion_parse(m, len, &pi2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "NUL byte");
    /* A hash line with "//" spelled as a UTF-8 character. */
    pi.checkpoint = TEST_CP13;
    pi.checkpoint_len = strlen(TEST_CP13);
    memset(pi.hashes[1], 0xff, 32);
    CHECK(tlo_proof_inclusion_format(&pi, &out2, &len2, &err) == 0);
    CHECK(tlo_proof_inclusion_parse(out2, len2, &pi2, &err) == 0);
    char *sl = strstr(out2, "//");
    sl[0] = '\xc2';
    sl[1] = '\xbf';
    rc = tlo_proof_inclusion_parse(out2, len2, &pi2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "line 4 of the inclusion proof is not a 32-byte hash");
    free(out2);
    b64(pi.hashes[1], 32, incl_13_6[1]);
    /* Tampered checkpoint inside a well-formed proof. */
    memcpy(m, out, len + 1);
    char *size_line = strstr(m, "\n13\n");
    size_line[2] = '4';
    rc = tlo_proof_inclusion_open(m, len, &v, 1, TEST_ORIGIN, &pi2, &cp, &err);
    CHECK_ERR(rc, err, TLO_EPROOF, "does not verify");
    free(out);
}

static tlo_proof_consistency pc, pc2;

static void test_consistency_proof(void)
{
    tlo_note_verifier v = vkey(TEST_VKEY);
    uint8_t *sk, seed[32], root[32];
    tlo_checkpoint cp;
    char *out = NULL, *out2 = NULL, *cpn = NULL;
    size_t len = 0, len2 = 0, cpn_len = 0;
    tlo_error err;
    int rc;

    memset(&pc, 0, sizeof pc);
    pc.old_size = 6;
    pc.nhashes = 4;
    for (size_t i = 0; i < 4; i++)
        b64(pc.hashes[i], 32, cons_6_13[i]);
    pc.checkpoint = TEST_CP13;
    pc.checkpoint_len = strlen(TEST_CP13);
    CHECK(tlo_proof_consistency_format(&pc, &out, &len, &err) == 0);
    const char *want = "tellonce.consistency-proof/v1\nold 6\n"
                       "dauSgmjIb0TaXUJBGI7XHkqrLU131tUBF9rZSoQu3gM=\n"
                       "brzFS2cQ7gYQp/yCzeUXE9soDj3IRRW96WMqGbZaC5M=\n"
                       "T2MQhKFXxU9U/Psj/164ZQxLoWDClbsTqYMrEJ1SZ34=\n"
                       "FKIDRTceLPTWuzSt7CdKn5X8MPMVCNcEZaVvhotgGXU=\n"
                       "\n" TEST_CP13;
    CHECK(out && !strcmp(out, want));
    CHECK(tlo_proof_consistency_open(out, len, &v, 1, TEST_ORIGIN, &pc2, &cp, &err) == 0);
    CHECK(pc2.old_size == 6 && pc2.nhashes == 4 && cp.size == 13);
    CHECK(!memcmp(pc2.hashes, pc.hashes, sizeof pc.hashes));
    CHECK(tlo_proof_consistency_format(&pc2, &out2, &len2, &err) == 0 && !strcmp(out, out2));
    free(out2);
    /* Without the header line it is a c2sp.org/tlog-witness add-checkpoint body. */
    CHECK(!strncmp(strchr(out, '\n') + 1, "old 6\n", 6));

    /* Old sizes 0 and 13: no hashes. */
    for (int k = 0; k < 2; k++) {
        pc.old_size = k ? 13 : 0;
        pc.nhashes = 0;
        CHECK(tlo_proof_consistency_format(&pc, &out2, &len2, &err) == 0);
        CHECK(tlo_proof_consistency_open(out2, len2, &v, 1, NULL, &pc2, &cp, &err) == 0);
        CHECK(pc2.old_size == pc.old_size && pc2.nhashes == 0);
        free(out2);
        pc.nhashes = 1;
        rc = tlo_proof_consistency_format(&pc, &out2, &len2, &err);
        CHECK_ERR(rc, err, TLO_EFORMAT, "call for exactly 0");
    }
    pc.old_size = 14;
    pc.nhashes = 0;
    rc = tlo_proof_consistency_format(&pc, &out2, &len2, &err);
    CHECK_ERR(rc, err, TLO_EARG, "larger than the new");

    /* A proof of 65 hashes, the most: old size 3 in a tree of 2^64-1 leaves. */
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    sk = key_from_seed(seed);
    memset(root, 0xab, sizeof root);
    CHECK(tlo_checkpoint_sign(TEST_ORIGIN, UINT64_MAX, root, TEST_ORIGIN, sk, &cpn, &cpn_len,
                              &err) == 0);
    pc.old_size = 3;
    pc.nhashes = 65;
    for (int i = 0; i < 65; i++)
        memset(pc.hashes[i], i, 32);
    pc.checkpoint = cpn;
    pc.checkpoint_len = cpn_len;
    CHECK(tlo_proof_consistency_format(&pc, &out2, &len2, &err) == 0);
    CHECK(tlo_proof_consistency_open(out2, len2, &v, 1, TEST_ORIGIN, &pc2, &cp, &err) == 0);
    CHECK(pc2.nhashes == 65 && cp.size == UINT64_MAX && !memcmp(pc2.hashes[64], pc.hashes[64], 32));
    /* and one hash more is over the bound */
    char *p = malloc(len2 + 64);
    if (!p)
        abort();
    char *blank = strstr(out2, "\n\n");
    size_t head = (size_t)(blank - out2) + 1;
    memcpy(p, out2, head);
    memcpy(p + head, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 45);
    memcpy(p + head + 45, out2 + head, len2 - head);
    rc = tlo_proof_consistency_parse(p, len2 + 45, &pc2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "more than 65 hashes");
    free(p);
    free(out2);

    /* Malformed. */
    static const char *const bad[] = {
        "tellonce.consistency-proof/v1\nold 06\n\n",  "tellonce.consistency-proof/v1\nold -1\n\n",
        "tellonce.consistency-proof/v1\nold\n\n",     "tellonce.consistency-proof/v1\n\n",
        "tellonce.consistency-proof/v1\nindex 6\n\n", "c2sp.org/tlog-proof@v1\nold 6\n\n",
    };
    char m[2048];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int n = snprintf(m, sizeof m, "%s%s", bad[i], TEST_CP13);
        rc = tlo_proof_consistency_parse(m, (size_t)n, &pc2, &err);
        CHECK_MSG(rc == TLO_EFORMAT, "bad consistency proof %zu: %d %s", i, rc, err.msg);
    }
    const char *v2 = "tellonce.consistency-proof/v2\nold 6\n\n";
    int n = snprintf(m, sizeof m, "%s%s", v2, TEST_CP13);
    rc = tlo_proof_consistency_parse(m, (size_t)n, &pc2, &err);
    CHECK_ERR(rc, err, TLO_EUNSUPPORTED, "another version");
    n = snprintf(m, sizeof m, "tellonce.consistency-proof/v1\nold 14\n\n%s", TEST_CP13);
    rc = tlo_proof_consistency_parse(m, (size_t)n, &pc2, &err);
    CHECK_ERR(rc, err, TLO_EFORMAT, "larger than its checkpoint's 13");
    free(out);
    free(cpn);
    sodium_free(sk);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    test_go_keys();
    test_go_sign();
    test_go_open();
    test_sumdb();
    test_round_trip();
    test_tamper();
    test_bounds();
    test_checkpoint();
    test_c2sp_examples();
    test_proof_lengths();
    test_inclusion_proof();
    test_consistency_proof();
    return tu_finish("chain_note");
}
