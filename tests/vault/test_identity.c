/* Identities: generate, save, load, load_public, key id, and the identity
 * file format of docs/identity-format.md, including every byte flipped and
 * every truncation. Files live in a mkdtemp directory removed at the end. */
#include "vault.h"

#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

/* The layout, written out again from docs/identity-format.md rather than
 * taken from identity.c, so that the document is what is tested. */
#define F_VERSION 8
#define F_OPSLIMIT 9
#define F_MEMLIMIT 13
#define F_SALT 17
#define F_NONCE 33
#define F_NAME_LEN 57
#define F_NAME 58
#define F_FIXED 234 /* file size is F_FIXED + name length */
#define F_MAX (F_FIXED + 255)
#define SECRET_BYTES 96

static const uint8_t file_magic[8] = {0x89, 'T', 'L', 'O', 'I', 'D', '\r', '\n'};

static const char pass[] = "correct horse battery staple";
#define PASS_LEN (sizeof pass - 1)

/* Half of PATH_MAX, so that dir + "/" + a file name always fits. */
static char dir[PATH_MAX / 2];

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void path_of(char out[static PATH_MAX], const char *name)
{
    snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

/* Whole file into buf; its length, or -1. */
static long read_file(const char *path, uint8_t *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long long n = tlo_pread_full(fd, buf, cap, 0);
    close(fd);
    return (long)n;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = tlo_write_all(fd, buf, len);
    close(fd);
    return rc;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* An independent writer of the documented format, with any Argon2id limits
 * and any keys (matching or not). Returns the file length. */
static size_t craft(uint8_t out[static F_MAX], const char *name, size_t name_len,
                    const uint8_t sign_pk[32], const uint8_t box_pk[32], const uint8_t *sign_sk,
                    const uint8_t *box_sk, uint32_t opslimit, uint32_t memlimit_kib)
{
    memcpy(out, file_magic, 8);
    out[F_VERSION] = 1;
    tlo_store_be32(out + F_OPSLIMIT, opslimit);
    tlo_store_be32(out + F_MEMLIMIT, memlimit_kib);
    randombytes_buf(out + F_SALT, 16);
    randombytes_buf(out + F_NONCE, 24);
    out[F_NAME_LEN] = (uint8_t)name_len;
    memcpy(out + F_NAME, name, name_len);
    size_t off = F_NAME + name_len;
    memcpy(out + off, sign_pk, 32);
    memcpy(out + off + 32, box_pk, 32);
    size_t ad_len = off + 64;

    uint8_t *key = sodium_malloc(32), *plain = sodium_malloc(SECRET_BYTES);
    if (!key || !plain ||
        crypto_pwhash(key, 32, pass, PASS_LEN, out + F_SALT, opslimit, (size_t)memlimit_kib * 1024,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        fprintf(stderr, "craft: Argon2id failed\n");
        exit(2);
    }
    memcpy(plain, sign_sk, 64);
    memcpy(plain + 64, box_sk, 32);
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + ad_len, &clen, plain, SECRET_BYTES, out,
                                               ad_len, NULL, out + F_NONCE, key);
    sodium_free(plain);
    sodium_free(key);
    return ad_len + (size_t)clen;
}

static size_t craft_id(uint8_t out[static F_MAX], const tlo_vault_identity *id, uint32_t opslimit,
                       uint32_t memlimit_kib)
{
    return craft(out, id->name, strlen(id->name), id->sign_pk, id->box_pk, id->sign_sk, id->box_sk,
                 opslimit, memlimit_kib);
}

static bool same_public(const tlo_vault_identity *a, const tlo_vault_identity *b)
{
    return strcmp(a->name, b->name) == 0 && memcmp(a->sign_pk, b->sign_pk, 32) == 0 &&
           memcmp(a->box_pk, b->box_pk, 32) == 0;
}

static bool same_secret(const tlo_vault_identity *a, const tlo_vault_identity *b)
{
    return a->sign_sk && b->sign_sk && a->box_sk && b->box_sk &&
           sodium_memcmp(a->sign_sk, b->sign_sk, 64) == 0 &&
           sodium_memcmp(a->box_sk, b->box_sk, 32) == 0;
}

/* The loaded secret keys work with the original public keys. */
static void check_keys_work(const tlo_vault_identity *orig, const tlo_vault_identity *loaded)
{
    static const uint8_t msg[] = "statement of 2024-05-01, session 2";
    uint8_t sig[crypto_sign_BYTES];
    CHECK(crypto_sign_detached(sig, NULL, msg, sizeof msg, loaded->sign_sk) == 0);
    CHECK(crypto_sign_verify_detached(sig, msg, sizeof msg, orig->sign_pk) == 0);
    sig[0] ^= 1;
    CHECK(crypto_sign_verify_detached(sig, msg, sizeof msg, orig->sign_pk) != 0);

    uint8_t sealed[sizeof msg + crypto_box_SEALBYTES], opened[sizeof msg];
    CHECK(crypto_box_seal(sealed, msg, sizeof msg, orig->box_pk) == 0);
    CHECK(crypto_box_seal_open(opened, sealed, sizeof sealed, loaded->box_pk, loaded->box_sk) == 0);
    CHECK(memcmp(opened, msg, sizeof msg) == 0);
}

static void test_generate_names(void)
{
    tlo_error err;
    tlo_vault_identity *id = tlo_vault_identity_generate("Officer Test", &err);
    CHECK(id != NULL);
    if (id) {
        CHECK(strcmp(id->name, "Officer Test") == 0);
        CHECK(id->sign_sk != NULL && id->box_sk != NULL);
        uint8_t pk[32];
        crypto_scalarmult_base(pk, id->box_sk);
        CHECK(memcmp(pk, id->box_pk, 32) == 0);
        crypto_sign_ed25519_sk_to_pk(pk, id->sign_sk);
        CHECK(memcmp(pk, id->sign_pk, 32) == 0);
    }
    tlo_vault_identity *id2 = tlo_vault_identity_generate("Officer Test", &err);
    CHECK(id && id2 && memcmp(id->sign_pk, id2->sign_pk, 32) != 0);
    CHECK(id && id2 && memcmp(id->box_pk, id2->box_pk, 32) != 0);
    tlo_vault_identity_free(id);
    tlo_vault_identity_free(id2);

    static const char *const bad[] = {
        "",             /* empty */
        "Anna\nBerg",   /* line break */
        "Anna\tBerg",   /* tab */
        "Anna\x7f",     /* DEL */
        "Anna\xc2\x85", /* U+0085, a C1 control */
        "Anna\xff",     /* not UTF-8 */
        "\xc0\xaf",     /* overlong '/' */
        "\xed\xa0\x80", /* a surrogate */
        "\xe5\xbc",     /* cut-off sequence */
        "Anna\xe2\x80\xae"
        "greB", /* U+202E RIGHT-TO-LEFT OVERRIDE */
        "\xe2\x81\xa6"
        "Bo",             /* U+2066 LEFT-TO-RIGHT ISOLATE */
        "Bo\xef\xbb\xbf", /* U+FEFF ZERO WIDTH NO-BREAK SPACE */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        id = tlo_vault_identity_generate(bad[i], &err);
        CHECK_MSG(id == NULL, "bad name %zu accepted", i);
        CHECK_ERR(err.code, err, TLO_EARG, "name");
        tlo_vault_identity_free(id);
    }
    id = tlo_vault_identity_generate(NULL, &err);
    CHECK(id == NULL && err.code == TLO_EARG);

    char longname[TLO_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname);
    longname[TLO_NAME_MAX + 1] = '\0';
    id = tlo_vault_identity_generate(longname, &err); /* 256 bytes */
    CHECK(id == NULL);
    CHECK_ERR(err.code, err, TLO_EARG, "name");
    longname[TLO_NAME_MAX] = '\0';
    id = tlo_vault_identity_generate(longname, &err); /* 255 bytes */
    CHECK(id != NULL && strlen(id->name) == TLO_NAME_MAX);
    tlo_vault_identity_free(id);

    tlo_vault_identity_free(NULL); /* NULL-safe */
}

static void test_key_id(void)
{
    tlo_error err;
    tlo_vault_identity *a = tlo_vault_identity_generate("A", &err);
    tlo_vault_identity *b = tlo_vault_identity_generate("B", &err);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    char k1[17], k2[17], kb[17];
    memset(k1, 'x', sizeof k1);
    tlo_vault_identity_key_id(k1, a);
    tlo_vault_identity_key_id(k2, a);
    tlo_vault_identity_key_id(kb, b);
    CHECK(strlen(k1) == 16);
    CHECK(strspn(k1, "0123456789abcdef") == 16);
    CHECK(strcmp(k1, k2) == 0);
    CHECK(strcmp(k1, kb) != 0);

    uint8_t d[32];
    char want[17];
    crypto_hash_sha256(d, a->sign_pk, 32);
    tlo_hex(want, d, 8);
    CHECK(strcmp(k1, want) == 0);

    memset(k1, 'x', sizeof k1);
    tlo_vault_identity_key_id(k1, NULL);
    CHECK(k1[0] == '\0');
out:
    tlo_vault_identity_free(a);
    tlo_vault_identity_free(b);
}

/* Decrypts a saved file by the document alone and compares with id. */
static void check_against_document(const uint8_t *buf, size_t len, const tlo_vault_identity *id,
                                   uint32_t want_ops, size_t want_mem)
{
    size_t n = strlen(id->name);
    CHECK(len == F_FIXED + n);
    CHECK(memcmp(buf, file_magic, 8) == 0);
    CHECK(buf[F_VERSION] == 1);
    CHECK(tlo_load_be32(buf + F_OPSLIMIT) == want_ops);
    CHECK((size_t)tlo_load_be32(buf + F_MEMLIMIT) * 1024 == want_mem);
    CHECK(buf[F_NAME_LEN] == n);
    if (len != F_FIXED + n)
        return;
    CHECK(memcmp(buf + F_NAME, id->name, n) == 0);
    CHECK(memcmp(buf + F_NAME + n, id->sign_pk, 32) == 0);
    CHECK(memcmp(buf + F_NAME + n + 32, id->box_pk, 32) == 0);

    uint8_t *key = sodium_malloc(32), *plain = sodium_malloc(SECRET_BYTES);
    CHECK(key && plain);
    if (!key || !plain)
        return;
    CHECK(crypto_pwhash(key, 32, pass, PASS_LEN, buf + F_SALT, tlo_load_be32(buf + F_OPSLIMIT),
                        (size_t)tlo_load_be32(buf + F_MEMLIMIT) * 1024,
                        crypto_pwhash_ALG_ARGON2ID13) == 0);
    size_t ad = F_NAME + n + 64;
    unsigned long long plen = 0;
    CHECK(crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, buf + ad, len - ad, buf,
                                                     ad, buf + F_NONCE, key) == 0);
    CHECK(plen == SECRET_BYTES);
    CHECK(sodium_memcmp(plain, id->sign_sk, 64) == 0);
    CHECK(sodium_memcmp(plain + 64, id->box_sk, 32) == 0);
    sodium_free(plain);
    sodium_free(key);
}

static void test_roundtrip(const char *name, const char *file)
{
    tlo_error err;
    char path[PATH_MAX];
    path_of(path, file);
    tlo_vault_identity *id = tlo_vault_identity_generate(name, &err);
    CHECK(id != NULL);
    if (!id)
        return;
    int rc = tlo_vault_identity_save(id, path, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_MSG(rc == 0, "save: %s", err.msg);

    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
    uint8_t before[F_MAX + 1];
    long len = read_file(path, before, sizeof before);
    CHECK(len == (long)(F_FIXED + strlen(name)));
    if (len > 0)
        check_against_document(before, (size_t)len, id,
                               (uint32_t)crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);

    tlo_vault_identity *got = tlo_vault_identity_load(path, pass, PASS_LEN, &err);
    CHECK_MSG(got != NULL, "load: %s", err.msg);
    if (got) {
        CHECK(same_public(id, got));
        CHECK(same_secret(id, got));
        check_keys_work(id, got);
        char k1[17], k2[17];
        tlo_vault_identity_key_id(k1, id);
        tlo_vault_identity_key_id(k2, got);
        CHECK(strcmp(k1, k2) == 0);
    }
    tlo_vault_identity_free(got);

    tlo_vault_identity *pub = tlo_vault_identity_load_public(path, &err);
    CHECK_MSG(pub != NULL, "load_public: %s", err.msg);
    if (pub) {
        CHECK(same_public(id, pub));
        CHECK(pub->sign_sk == NULL && pub->box_sk == NULL);
        /* A public-only identity cannot be saved. */
        char p2[PATH_MAX];
        path_of(p2, "public-only.tloid");
        rc = tlo_vault_identity_save(pub, p2, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
        CHECK_ERR(rc, err, TLO_EARG, "secret");
        CHECK(!file_exists(p2));
    }
    tlo_vault_identity_free(pub);

    /* Wrong passphrases: a different one, a prefix, one byte changed. */
    static const char wrong[] = "correct horse battery stapler";
    got = tlo_vault_identity_load(path, wrong, sizeof wrong - 1, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EPASSPHRASE, path);
    CHECK(strstr(err.msg, "wrong passphrase") != NULL);
    tlo_vault_identity_free(got);
    got = tlo_vault_identity_load(path, pass, PASS_LEN - 1, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EPASSPHRASE, path);
    tlo_vault_identity_free(got);
    got = tlo_vault_identity_load(path, "", 0, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EARG, path);
    tlo_vault_identity_free(got);

    /* Loading never writes. */
    uint8_t after[F_MAX + 1];
    CHECK(read_file(path, after, sizeof after) == len && len > 0 &&
          memcmp(before, after, (size_t)len) == 0);
    tlo_vault_identity_free(id);
}

static void test_save_errors(void)
{
    tlo_error err;
    char path[PATH_MAX], other[PATH_MAX];
    path_of(path, "exists.tloid");
    tlo_vault_identity *a = tlo_vault_identity_generate("Anna Berg", &err);
    tlo_vault_identity *b = tlo_vault_identity_generate("Bo Ek", &err);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    int rc = tlo_vault_identity_save(a, path, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_MSG(rc == 0, "save: %s", err.msg);
    uint8_t before[F_MAX + 1], after[F_MAX + 1];
    long len = read_file(path, before, sizeof before);

    rc = tlo_vault_identity_save(b, path, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EEXIST, path);
    CHECK(read_file(path, after, sizeof after) == len && len > 0 &&
          memcmp(before, after, (size_t)len) == 0);

    /* A dangling symlink is refused too, and not followed. */
    path_of(other, "dangling.tloid");
    char target[PATH_MAX];
    path_of(target, "symlink-target");
    CHECK(symlink(target, other) == 0);
    rc = tlo_vault_identity_save(b, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EEXIST, other);
    CHECK(!file_exists(target));
    unlink(other);

    path_of(other, "empty-pass.tloid");
    rc = tlo_vault_identity_save(b, other, pass, 0, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EARG, "passphrase");
    rc = tlo_vault_identity_save(b, other, NULL, 5, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EARG, "passphrase");
    CHECK(!file_exists(other));

    path_of(other, "no-such-dir/b.tloid");
    rc = tlo_vault_identity_save(b, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EIO, other);
    CHECK(!file_exists(other));

    /* An identity whose name was spoiled after generation. */
    tlo_vault_identity spoiled = *b;
    strcpy(spoiled.name, "Bo\nEk");
    path_of(other, "spoiled.tloid");
    rc = tlo_vault_identity_save(&spoiled, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EARG, "name");
    /* Or whose public key is not its own. */
    spoiled = *b;
    memcpy(spoiled.box_pk, a->box_pk, 32);
    rc = tlo_vault_identity_save(&spoiled, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_ERR(rc, err, TLO_EARG, "do not match");
    CHECK(!file_exists(other));

    /* A write that fails half-way (a file size limit, like a full disk)
     * leaves no file behind. */
    path_of(other, "too-big.tloid");
    struct rlimit old_limit, small;
    CHECK(getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    small = old_limit;
    small.rlim_cur = 100;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    rc = tlo_vault_identity_save(b, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK(setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
    signal(SIGXFSZ, old_handler);
    CHECK_ERR(rc, err, TLO_EIO, other);
    CHECK(strstr(err.msg, "nothing was saved") != NULL);
    CHECK(!file_exists(other));

    /* A umask that takes the owner's bits away still gives 0600. */
    path_of(other, "umask.tloid");
    mode_t old = umask(0277);
    rc = tlo_vault_identity_save(b, other, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    umask(old);
    CHECK_MSG(rc == 0, "save: %s", err.msg);
    struct stat st;
    CHECK(stat(other, &st) == 0 && (st.st_mode & 07777) == 0600);
    unlink(other);
out:
    tlo_vault_identity_free(a);
    tlo_vault_identity_free(b);
}

static void test_load_errors(void)
{
    tlo_error err;
    char path[PATH_MAX];
    path_of(path, "missing.tloid");
    tlo_vault_identity *id = tlo_vault_identity_load(path, pass, PASS_LEN, &err);
    CHECK(id == NULL);
    CHECK_ERR(err.code, err, TLO_EIO, path);
    id = tlo_vault_identity_load_public(path, &err);
    CHECK(id == NULL);
    CHECK_ERR(err.code, err, TLO_EIO, path);
    id = tlo_vault_identity_load(dir, pass, PASS_LEN, &err);
    CHECK(id == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, dir);
    id = tlo_vault_identity_load(NULL, pass, PASS_LEN, &err);
    CHECK(id == NULL && err.code == TLO_EARG);
}

/* The default cost, end to end, once. */
static void test_moderate(void)
{
    tlo_error err;
    char path[PATH_MAX];
    path_of(path, "moderate.tloid");
    tlo_vault_identity *id = tlo_vault_identity_generate("Dr. Moderate", &err);
    CHECK(id != NULL);
    if (!id)
        return;
    int rc = tlo_vault_identity_save(id, path, pass, PASS_LEN, TLO_KDF_MODERATE, &err);
    CHECK_MSG(rc == 0, "save: %s", err.msg);
    uint8_t buf[F_MAX + 1];
    long len = read_file(path, buf, sizeof buf);
    CHECK(len > F_MEMLIMIT + 4);
    if (len > F_MEMLIMIT + 4) {
        CHECK(tlo_load_be32(buf + F_OPSLIMIT) == crypto_pwhash_OPSLIMIT_MODERATE);
        CHECK((size_t)tlo_load_be32(buf + F_MEMLIMIT) * 1024 == crypto_pwhash_MEMLIMIT_MODERATE);
    }
    tlo_vault_identity *got = tlo_vault_identity_load(path, pass, PASS_LEN, &err);
    CHECK_MSG(got && same_public(id, got) && same_secret(id, got), "load: %s", err.msg);
    tlo_vault_identity_free(got);
    tlo_vault_identity_free(id);
}

static tlo_vault_identity *load_bytes(const char *path, const uint8_t *buf, size_t len,
                                      tlo_error *err)
{
    if (write_file(path, buf, len) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
    return tlo_vault_identity_load(path, pass, PASS_LEN, err);
}

/* Files built by the test's own writer: the cheapest limits the reader
 * accepts, the bounds, malformed names, and keys that do not match. */
static void test_crafted(void)
{
    tlo_error err;
    char path[PATH_MAX];
    path_of(path, "crafted.tloid");
    tlo_vault_identity *a = tlo_vault_identity_generate("Anna Berg", &err);
    tlo_vault_identity *b = tlo_vault_identity_generate("Bo Ek", &err);
    CHECK(a && b);
    if (!a || !b)
        goto out;
    uint8_t buf[F_MAX + 8];
    size_t len;
    tlo_vault_identity *got;

    /* The bounds themselves are accepted (1 GiB is not tried: too slow). */
    static const uint32_t ok_limits[][2] = {{1, 8192}, {16, 8192}, {1, 8193}};
    for (size_t i = 0; i < 3; i++) {
        len = craft_id(buf, a, ok_limits[i][0], ok_limits[i][1]);
        got = load_bytes(path, buf, len, &err);
        CHECK_MSG(got && same_public(a, got) && same_secret(a, got), "limits %u/%u: %s",
                  ok_limits[i][0], ok_limits[i][1], err.msg);
        tlo_vault_identity_free(got);
    }

    /* Absurd limits are refused before Argon2id runs. The code proves it:
     * after Argon2id the only failures are EPASSPHRASE (these files carry
     * the right passphrase's ciphertext under other limits) or ENOMEM; the
     * time is a second, generous, witness. */
    len = craft_id(buf, a, 1, 8192);
    static const uint32_t bad_limits[][2] = {
        {0, 65536},
        {17, 65536},
        {0xffffffff, 65536},
        {1, 0},
        {1, 8191},
        {1, 1048577},
        {1, 0xffffffff},
        {0xffffffff, 0xffffffff},
        {2, 1024u * 1024 * 4}, /* 4 GiB */
    };
    double t0 = now();
    for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
        tlo_store_be32(buf + F_OPSLIMIT, bad_limits[i][0]);
        tlo_store_be32(buf + F_MEMLIMIT, bad_limits[i][1]);
        got = load_bytes(path, buf, len, &err);
        CHECK(got == NULL);
        CHECK_ERR(err.code, err, TLO_EFORMAT, path);
        CHECK(strstr(err.msg, "Argon2id") != NULL);
        tlo_vault_identity_free(got);
        got = tlo_vault_identity_load_public(path, &err);
        CHECK(got == NULL && err.code == TLO_EFORMAT);
        tlo_vault_identity_free(got);
    }
    double dt = now() - t0;
    CHECK_MSG(dt < 5.0, "absurd limits took %.2f s", dt);

    /* Keys that do not match the public keys, under a valid tag. */
    len = craft(buf, "Anna Berg", 9, b->sign_pk, a->box_pk, a->sign_sk, a->box_sk, 1, 8192);
    got = load_bytes(path, buf, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    len = craft(buf, "Anna Berg", 9, a->sign_pk, b->box_pk, a->sign_sk, a->box_sk, 1, 8192);
    got = load_bytes(path, buf, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    /* An Ed25519 secret key is seed || pk: B's pk after A's seed passes a
     * check that only compares the second half. */
    uint8_t *forged = sodium_malloc(64);
    CHECK(forged != NULL);
    if (forged) {
        memcpy(forged, a->sign_sk, 32);
        memcpy(forged + 32, b->sign_pk, 32);
        len = craft(buf, "Anna Berg", 9, b->sign_pk, a->box_pk, forged, a->box_sk, 1, 8192);
        got = load_bytes(path, buf, len, &err);
        CHECK(got == NULL);
        CHECK_ERR(err.code, err, TLO_EFORMAT, path);
        sodium_free(forged);
    }

    /* Names no writer of ours produces, under a valid tag. */
    static const char *const bad_names[] = {"Anna\nBerg", "Anna\x01", "\xff\xfe", "a\0b"};
    static const size_t bad_lens[] = {9, 5, 2, 3};
    for (size_t i = 0; i < 4; i++) {
        len = craft(buf, bad_names[i], bad_lens[i], a->sign_pk, a->box_pk, a->sign_sk, a->box_sk, 1,
                    8192);
        got = load_bytes(path, buf, len, &err);
        CHECK_MSG(got == NULL, "bad name %zu accepted", i);
        CHECK_ERR(err.code, err, TLO_EFORMAT, path);
        tlo_vault_identity_free(got);
    }

    len = craft_id(buf, a, 1, 8192);
    uint8_t tmp[F_MAX + 8];

    memcpy(tmp, buf, len); /* a name length of zero */
    tmp[F_NAME_LEN] = 0;
    got = load_bytes(path, tmp, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    memcpy(tmp, buf, len); /* a name length running past the end */
    tmp[F_NAME_LEN] = 255;
    got = load_bytes(path, tmp, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    memcpy(tmp, buf, len); /* an unknown version */
    tmp[F_VERSION] = 2;
    got = load_bytes(path, tmp, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EUNSUPPORTED, path);
    memcpy(tmp, buf, len); /* a foreign magic */
    memcpy(tmp, "\x89PNG\r\n\x1a\n", 8);
    got = load_bytes(path, tmp, len, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    memcpy(tmp, buf, len); /* one byte appended */
    tmp[len] = 0;
    got = load_bytes(path, tmp, len + 1, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);

    /* A large file is refused without reading it all. */
    static uint8_t big[1 << 16];
    memcpy(big, buf, len);
    got = load_bytes(path, big, sizeof big, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    got = tlo_vault_identity_load_public(path, &err);
    CHECK(got == NULL);
    CHECK_ERR(err.code, err, TLO_EFORMAT, path);
    unlink(path);
out:
    tlo_vault_identity_free(a);
    tlo_vault_identity_free(b);
}

/* What flipping byte `pos` may produce. Magic: EFORMAT. Version:
 * EUNSUPPORTED. Limits: EFORMAT (out of bounds) or EPASSPHRASE (another key).
 * Name length: EFORMAT (the size no longer fits). Name: EFORMAT (not valid
 * text) or EPASSPHRASE. Everything else: EPASSPHRASE. Never success. */
static bool flip_result_ok(size_t pos, size_t name_len, int code)
{
    if (pos < F_VERSION)
        return code == TLO_EFORMAT;
    if (pos == F_VERSION)
        return code == TLO_EUNSUPPORTED;
    if (pos < F_SALT)
        return code == TLO_EFORMAT || code == TLO_EPASSPHRASE;
    if (pos == F_NAME_LEN)
        return code == TLO_EFORMAT;
    if (pos >= F_NAME && pos < F_NAME + name_len)
        return code == TLO_EFORMAT || code == TLO_EPASSPHRASE;
    return code == TLO_EPASSPHRASE;
}

/* Every byte of a file flipped in turn must fail, with the right code.
 *
 * Cost: every flip that passes the parser runs Argon2id. A saved file costs
 * ~0.13 s per run (INTERACTIVE: 2 passes, 64 MiB), and ~200 of its ~245
 * positions would run it: 30 s a mask. So the full sweep runs on a file of
 * the same layout written by craft() with the cheapest limits the reader
 * accepts (1 pass, 8 MiB: ~10 ms a run). Flips of its limit bytes cannot make
 * it slow: with masks 0x01 and 0xff the opslimit becomes 0, 254 or huge (all
 * refused) and the memlimit at most 0x0000df00 KiB = 56 MiB. The parsed bytes
 * (header and name) get both masks, as each takes the parser down another
 * path; the public keys and ciphertext, which the parser does not interpret
 * and the tag covers whole, get one. The saved INTERACTIVE file gets the
 * two-mask sweep over the bytes that decide whether and how Argon2id runs
 * (magic, version, limits, name length): flips there are refused outright or
 * cost at most one 128 MiB run. About 5 s in all. */
static const uint8_t two_masks[] = {0x01, 0xff}, one_mask[] = {0xff};

static void sweep(const char *path, const uint8_t *orig, size_t len, size_t from, size_t to,
                  const uint8_t *masks, size_t nmasks, const char *what)
{
    uint8_t buf[F_MAX];
    size_t name_len = orig[F_NAME_LEN];
    int wrong = 0;
    for (size_t pos = from; pos < to && pos < len; pos++) {
        for (size_t m = 0; m < nmasks; m++) {
            tlo_error err;
            memcpy(buf, orig, len);
            buf[pos] ^= masks[m];
            memset(&err, 0, sizeof err);
            tlo_vault_identity *got = load_bytes(path, buf, len, &err);
            if (got || !flip_result_ok(pos, name_len, err.code) || !strstr(err.msg, path)) {
                wrong++;
                fprintf(stderr, "%s: byte %zu ^ 0x%02x: %s (%d: %s)\n", what, pos, masks[m],
                        got ? "LOADED" : "unexpected error", err.code, err.msg);
            }
            tlo_vault_identity_free(got);
        }
    }
    CHECK_MSG(wrong == 0, "%s: %d flips misbehaved", what, wrong);
}

static void test_flips_and_truncation(void)
{
    tlo_error err;
    char saved[PATH_MAX], path[PATH_MAX];
    path_of(saved, "flip-source.tloid");
    path_of(path, "flipped.tloid");
    tlo_vault_identity *id = tlo_vault_identity_generate("张警官", &err);
    CHECK(id != NULL);
    if (!id)
        return;
    int rc = tlo_vault_identity_save(id, saved, pass, PASS_LEN, TLO_KDF_INTERACTIVE, &err);
    CHECK_MSG(rc == 0, "save: %s", err.msg);
    uint8_t orig[F_MAX + 1];
    long slen = read_file(saved, orig, sizeof orig);
    CHECK(slen == F_FIXED + 9);
    if (slen != F_FIXED + 9)
        goto out;
    size_t len = (size_t)slen;

    /* The unflipped copy loads: the sweep tests the flips, not the copy. */
    tlo_vault_identity *got = load_bytes(path, orig, len, &err);
    CHECK_MSG(got && same_secret(id, got), "copy: %s", err.msg);
    tlo_vault_identity_free(got);

    double t0 = now();
    sweep(path, orig, len, 0, F_SALT, two_masks, 2, "saved file header");
    sweep(path, orig, len, F_NAME_LEN, F_NAME_LEN + 1, two_masks, 2, "saved file name length");
    double t1 = now();

    uint8_t cheap[F_MAX];
    size_t clen = craft_id(cheap, id, 1, 8192);
    got = load_bytes(path, cheap, clen, &err);
    CHECK_MSG(got && same_secret(id, got), "cheap copy: %s", err.msg);
    tlo_vault_identity_free(got);
    size_t keys_at = F_NAME + cheap[F_NAME_LEN];
    sweep(path, cheap, clen, 0, keys_at, two_masks, 2, "cheap file header and name");
    sweep(path, cheap, clen, keys_at, clen, one_mask, 1, "cheap file keys and ciphertext");
    double t2 = now();

    /* Every truncation, with and without the passphrase. */
    int wrong = 0;
    for (size_t cut = 0; cut < len; cut++) {
        got = load_bytes(path, orig, cut, &err);
        if (got || err.code != TLO_EFORMAT || !strstr(err.msg, path))
            wrong++;
        tlo_vault_identity_free(got);
        got = tlo_vault_identity_load_public(path, &err);
        if (got || err.code != TLO_EFORMAT || !strstr(err.msg, path))
            wrong++;
        tlo_vault_identity_free(got);
    }
    CHECK_MSG(wrong == 0, "%d truncations misbehaved", wrong);
    double t3 = now();
    printf("flips: saved header %.2f s, cheap file %.2f s; truncations %.2f s\n", t1 - t0, t2 - t1,
           t3 - t2);
    unlink(path);
out:
    tlo_vault_identity_free(id);
}

int main(void)
{
    if (tlo_vault_init(NULL) != 0) {
        fprintf(stderr, "tlo_vault_init failed\n");
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(dir, sizeof dir, "%s/tlo-identity-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (n < 0 || (size_t)n >= sizeof dir) {
        fprintf(stderr, "TMPDIR is too long\n");
        return 1;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    test_generate_names();
    test_key_id();
    test_roundtrip("Officer Test", "officer.tloid");
    test_roundtrip("张警官", "zhang.tloid");
    test_save_errors();
    test_load_errors();
    test_moderate();
    test_crafted();
    test_flips_and_truncation();

    static const char *const files[] = {"officer.tloid", "zhang.tloid", "exists.tloid",
                                        "moderate.tloid", "flip-source.tloid"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[PATH_MAX];
        path_of(p, files[i]);
        CHECK_MSG(unlink(p) == 0, "unlink %s: %s", p, strerror(errno));
    }
    CHECK_MSG(rmdir(dir) == 0, "rmdir %s: %s (a test left a file behind)", dir, strerror(errno));
    return tu_finish("vault_identity");
}
