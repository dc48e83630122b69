/* Identities: a person's Ed25519 and X25519 key pairs, and the passphrase-
 * locked file that holds them.
 *
 * Identity file, version 1 (docs/identity-format.md has the same table and
 * the reasons). Integers are big-endian. N is the name length.
 *
 *   offset   size  field
 *   0        8     magic 89 54 4c 4f 49 44 0d 0a ("\x89TLOID\r\n")
 *   8        1     version = 1
 *   9        4     Argon2id opslimit (u32)
 *   13       4     Argon2id memlimit in KiB (u32)
 *   17       16    Argon2id salt
 *   33       24    XChaCha20-Poly1305 nonce
 *   57       1     N, the name length (1..255)
 *   58       N     name: UTF-8, no control characters
 *   58+N     32    Ed25519 public key
 *   90+N     32    X25519 public key
 *   122+N    112   XChaCha20-Poly1305-IETF ciphertext and tag of
 *                  Ed25519 secret key (64) || X25519 secret key (32)
 *   234+N          end of file
 *
 * Bytes 0 .. 122+N are the associated data of the ciphertext: once the file
 * is unlocked, nothing in it can have been altered. Without the passphrase
 * (tlo_vault_identity_load_public) nothing is authenticated.
 *
 * A file is hostile input until its tag checks: it is read whole (it cannot
 * exceed 489 bytes), its size must be exactly 234+N, and the Argon2id limits
 * are bounded before Argon2id runs, so a crafted file cannot make us allocate
 * terabytes or spin for hours. */
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define MAGIC_BYTES 8
#define FILE_VERSION 1
#define OFF_VERSION 8
#define OFF_OPSLIMIT 9
#define OFF_MEMLIMIT 13
#define OFF_SALT 17
#define OFF_NONCE 33
#define OFF_NAME_LEN 57
#define OFF_NAME 58
#define SALT_BYTES crypto_pwhash_SALTBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AEAD_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define AEAD_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define SECRET_BYTES (TLO_ED25519_SK_BYTES + TLO_X25519_SK_BYTES)
#define CIPHER_BYTES (SECRET_BYTES + AEAD_TAG_BYTES)
/* Everything but the name. */
#define FIXED_BYTES (OFF_NAME + TLO_ED25519_PK_BYTES + TLO_X25519_PK_BYTES + CIPHER_BYTES)
#define FILE_MAX (FIXED_BYTES + TLO_NAME_MAX)

/* Bounds on the limits a file may ask for, checked before Argon2id runs. The
 * upper ones are far above what we write (MODERATE: 3 passes, 256 MiB) and
 * still finish in seconds; the lower ones refuse a file weakened to be cheap
 * to brute-force. */
#define OPSLIMIT_LO ((uint32_t)crypto_pwhash_OPSLIMIT_MIN)
#define OPSLIMIT_HI 16u
#define MEMLIMIT_KIB_LO (8u * 1024)    /* 8 MiB */
#define MEMLIMIT_KIB_HI (1024u * 1024) /* 1 GiB */

static const uint8_t magic[MAGIC_BYTES] = {0x89, 'T', 'L', 'O', 'I', 'D', '\r', '\n'};

_Static_assert(SALT_BYTES == 16, "the file has a 16-byte salt");
_Static_assert(NONCE_BYTES == 24, "the file has a 24-byte nonce");
_Static_assert(OFF_NAME == OFF_NONCE + NONCE_BYTES + 1, "layout");
_Static_assert(FIXED_BYTES == 234, "docs/identity-format.md says 234 + N");
_Static_assert(crypto_sign_SECRETKEYBYTES == TLO_ED25519_SK_BYTES, "Ed25519 sk size");
_Static_assert(crypto_sign_PUBLICKEYBYTES == TLO_ED25519_PK_BYTES, "Ed25519 pk size");
_Static_assert(crypto_box_SECRETKEYBYTES == TLO_X25519_SK_BYTES, "X25519 sk size");
_Static_assert(crypto_box_PUBLICKEYBYTES == TLO_X25519_PK_BYTES, "X25519 pk size");
_Static_assert(crypto_scalarmult_BYTES == TLO_X25519_PK_BYTES, "X25519 point size");

/* The parsed, still unauthenticated, fields of an identity file. Points into
 * the buffer it was parsed from. */
typedef struct parsed_file {
    uint32_t opslimit;
    uint32_t memlimit_kib;
    const uint8_t *salt;
    const uint8_t *nonce;
    size_t name_len;
    const uint8_t *name;
    const uint8_t *sign_pk;
    const uint8_t *box_pk;
    const uint8_t *cipher;
    size_t ad_len; /* bytes before the ciphertext */
} parsed_file;

/* Bidirectional and invisible formatting characters: a name holding them could
 * be shown reversed or look identical to another name in the custody log and
 * in watermarks (e.g. U+202E RIGHT-TO-LEFT OVERRIDE). */
static bool invisible(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x2069) || cp == 0xfeff;
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF)
 * without control characters (C0, DEL and C1) or invisible() ones. */
static bool name_valid(const uint8_t *s, size_t n)
{
    if (n < 1 || n > TLO_NAME_MAX)
        return false;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = tlo_utf8_text_char(s + i, n - i, &cp);
        if (len == 0 || invisible(cp))
            return false;
        i += len;
    }
    return true;
}

static void kdf_limits(tlo_vault_kdf_cost cost, uint32_t *opslimit, uint32_t *memlimit_kib)
{
    if (cost == TLO_KDF_INTERACTIVE) {
        *opslimit = (uint32_t)crypto_pwhash_OPSLIMIT_INTERACTIVE;
        *memlimit_kib = (uint32_t)(crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024);
    } else {
        *opslimit = (uint32_t)crypto_pwhash_OPSLIMIT_MODERATE;
        *memlimit_kib = (uint32_t)(crypto_pwhash_MEMLIMIT_MODERATE / 1024);
    }
}

/* Argon2id of the passphrase into *key, a fresh sodium_malloc buffer the
 * caller frees; *key is NULL on failure. The limits must already be bounded. */
static int derive_key(uint8_t **key, const char *passphrase, size_t passphrase_len,
                      const uint8_t *salt, uint32_t opslimit, uint32_t memlimit_kib,
                      const char *path, tlo_error *err)
{
    *key = NULL;
    uint8_t *k = sodium_malloc(AEAD_KEY_BYTES);
    if (!k)
        return tlo_fail(err, TLO_ENOMEM,
                        "out of locked memory for the key of identity file %s; close other "
                        "programs or raise the memlock limit",
                        path);
    if (crypto_pwhash(k, AEAD_KEY_BYTES, passphrase, passphrase_len, salt, opslimit,
                      (size_t)memlimit_kib * 1024, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        int e = errno;
        sodium_free(k);
        if (e == ENOMEM)
            return tlo_fail(err, TLO_ENOMEM,
                            "out of memory deriving the key of identity file %s from the "
                            "passphrase (Argon2id needs %u MiB); close other programs and try "
                            "again",
                            path, (unsigned)(memlimit_kib / 1024));
        return tlo_fail(err, TLO_ECRYPTO,
                        "Argon2id failed deriving the key of identity file %s; this is a bug or "
                        "a broken libsodium",
                        path);
    }
    *key = k;
    return 0;
}

/* Reads the whole file at path into buf (cap bytes); a file longer than cap
 * is refused without reading the rest. */
static int read_small_file(const char *path, uint8_t *buf, size_t cap, size_t *len, tlo_error *err)
{
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tlo_fail(err, TLO_EIO, "cannot open identity file %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return tlo_fail(err, TLO_EIO, "cannot stat identity file %s: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return tlo_fail(err, TLO_EFORMAT,
                        "%s is not a regular file, so it cannot be an identity file; check the "
                        "path",
                        path);
    }
    /* One byte more than cap tells "too long" from "exactly cap". */
    uint8_t extra;
    long long n = tlo_pread_full(fd, buf, cap, 0);
    long long m = n == (long long)cap ? tlo_pread_full(fd, &extra, 1, cap) : 0;
    close(fd);
    if (n < 0 || m < 0)
        return tlo_fail(err, TLO_EIO, "cannot read identity file %s: %s", path,
                        strerror((int)-(n < 0 ? n : m)));
    if (m > 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "%s is too long to be a tellonce identity file (more than %zu bytes); "
                        "check the path or restore the file from a backup",
                        path, cap);
    *len = (size_t)n;
    return 0;
}

static int too_short(const char *path, tlo_error *err)
{
    return tlo_fail(err, TLO_EFORMAT,
                    "identity file %s is truncated (too short); restore it from a backup", path);
}

/* Checks the layout of an identity file and points p at its fields. Nothing
 * is authenticated here, but every length and limit is bounded. */
static int parse_file(const uint8_t *buf, size_t len, const char *path, parsed_file *p,
                      tlo_error *err)
{
    memset(p, 0, sizeof *p);
    if (len < MAGIC_BYTES)
        return too_short(path, err);
    if (memcmp(buf, magic, MAGIC_BYTES) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "%s is not a tellonce identity file (bad magic); check the path", path);
    if (len <= OFF_VERSION)
        return too_short(path, err);
    if (buf[OFF_VERSION] != FILE_VERSION)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "identity file %s has format version %u, but this build of tellonce "
                        "reads only version %u; use a newer tellonce",
                        path, buf[OFF_VERSION], FILE_VERSION);
    if (len < FIXED_BYTES + 1)
        return too_short(path, err);

    p->opslimit = tlo_load_be32(buf + OFF_OPSLIMIT);
    p->memlimit_kib = tlo_load_be32(buf + OFF_MEMLIMIT);
    if (p->opslimit < OPSLIMIT_LO || p->opslimit > OPSLIMIT_HI)
        return tlo_fail(err, TLO_EFORMAT,
                        "identity file %s asks for %lu Argon2id passes, outside %u..%u; it is "
                        "damaged or was not written by tellonce",
                        path, (unsigned long)p->opslimit, OPSLIMIT_LO, OPSLIMIT_HI);
    if (p->memlimit_kib < MEMLIMIT_KIB_LO || p->memlimit_kib > MEMLIMIT_KIB_HI)
        return tlo_fail(err, TLO_EFORMAT,
                        "identity file %s asks for %lu KiB of Argon2id memory, outside %u..%u "
                        "KiB; it is damaged or was not written by tellonce",
                        path, (unsigned long)p->memlimit_kib, MEMLIMIT_KIB_LO, MEMLIMIT_KIB_HI);

    p->name_len = buf[OFF_NAME_LEN];
    if (p->name_len == 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "identity file %s has an empty name; it is damaged or was not written "
                        "by tellonce",
                        path);
    if (len < FIXED_BYTES + p->name_len)
        return too_short(path, err);
    if (len > FIXED_BYTES + p->name_len)
        return tlo_fail(err, TLO_EFORMAT,
                        "identity file %s has %zu bytes after its end; it is damaged or was not "
                        "written by tellonce",
                        path, len - (FIXED_BYTES + p->name_len));
    p->name = buf + OFF_NAME;
    if (!name_valid(p->name, p->name_len))
        return tlo_fail(err, TLO_EFORMAT,
                        "identity file %s has a name that is not UTF-8 text without control "
                        "characters; it is damaged or was not written by tellonce",
                        path);
    p->salt = buf + OFF_SALT;
    p->nonce = buf + OFF_NONCE;
    p->sign_pk = p->name + p->name_len;
    p->box_pk = p->sign_pk + TLO_ED25519_PK_BYTES;
    p->cipher = p->box_pk + TLO_X25519_PK_BYTES;
    p->ad_len = (size_t)(p->cipher - buf);
    return 0;
}

/* A new identity with the public fields of p and no secret keys. */
static tlo_vault_identity *identity_from_parsed(const parsed_file *p, const char *path,
                                                tlo_error *err)
{
    tlo_vault_identity *id = calloc(1, sizeof *id);
    if (!id) {
        tlo_fail(err, TLO_ENOMEM, "out of memory loading identity file %s", path);
        return NULL;
    }
    memcpy(id->name, p->name, p->name_len);
    id->name[p->name_len] = '\0';
    memcpy(id->sign_pk, p->sign_pk, TLO_ED25519_PK_BYTES);
    memcpy(id->box_pk, p->box_pk, TLO_X25519_PK_BYTES);
    return id;
}

/* True if sign_sk and box_sk are the secret halves of sign_pk and box_pk.
 * Ed25519: the whole secret key is recomputed from its seed (its second half
 * is a stored copy of the public key and proves nothing). -1 when secure
 * memory runs out. */
static int keys_match(const uint8_t *sign_sk, const uint8_t *box_sk,
                      const uint8_t sign_pk[static TLO_ED25519_PK_BYTES],
                      const uint8_t box_pk[static TLO_X25519_PK_BYTES])
{
    uint8_t *scratch = sodium_malloc(crypto_sign_SEEDBYTES + TLO_ED25519_SK_BYTES);
    if (!scratch)
        return -1;
    uint8_t *seed = scratch, *sk2 = scratch + crypto_sign_SEEDBYTES;
    uint8_t pk2[TLO_ED25519_PK_BYTES], q[TLO_X25519_PK_BYTES];
    int ok = crypto_sign_ed25519_sk_to_seed(seed, sign_sk) == 0 &&
             crypto_sign_seed_keypair(pk2, sk2, seed) == 0 &&
             sodium_memcmp(pk2, sign_pk, sizeof pk2) == 0 &&
             sodium_memcmp(sk2, sign_sk, TLO_ED25519_SK_BYTES) == 0 &&
             crypto_scalarmult_base(q, box_sk) == 0 && sodium_memcmp(q, box_pk, sizeof q) == 0;
    sodium_free(scratch);
    return ok;
}

tlo_vault_identity *tlo_vault_identity_generate(const char *name, tlo_error *err)
{
    tlo_error_clear(err);
    if (!name) {
        tlo_fail(err, TLO_EARG, "an identity needs a name");
        return NULL;
    }
    size_t n = strnlen(name, TLO_NAME_MAX + 1);
    if (!name_valid((const uint8_t *)name, n)) {
        tlo_fail(err, TLO_EARG,
                 "invalid identity name: it must be 1 to %d bytes of UTF-8 text without control "
                 "characters (such as a line break)",
                 TLO_NAME_MAX);
        return NULL;
    }
    tlo_vault_identity *id = calloc(1, sizeof *id);
    if (!id) {
        tlo_fail(err, TLO_ENOMEM, "out of memory creating identity \"%s\"", name);
        return NULL;
    }
    memcpy(id->name, name, n);
    id->sign_sk = sodium_malloc(TLO_ED25519_SK_BYTES);
    id->box_sk = sodium_malloc(TLO_X25519_SK_BYTES);
    if (!id->sign_sk || !id->box_sk) {
        tlo_fail(err, TLO_ENOMEM,
                 "out of locked memory for the secret keys of identity \"%s\"; close other "
                 "programs or raise the memlock limit",
                 name);
        tlo_vault_identity_free(id);
        return NULL;
    }
    if (crypto_sign_keypair(id->sign_pk, id->sign_sk) != 0 ||
        crypto_box_keypair(id->box_pk, id->box_sk) != 0) {
        tlo_fail(err, TLO_ECRYPTO,
                 "libsodium failed to generate the key pairs of identity \"%s\"; this is a bug "
                 "or a broken libsodium",
                 name);
        tlo_vault_identity_free(id);
        return NULL;
    }
    return id;
}

/* Makes the new directory entry of path durable. Filesystems that cannot
 * fsync a directory (EINVAL) are accepted: there is nothing more to do. */
static int fsync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return -ENAMETOOLONG;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -errno;
    close(fd);
    return rc;
}

int tlo_vault_identity_save(const tlo_vault_identity *id, const char *path, const char *passphrase,
                            size_t passphrase_len, tlo_vault_kdf_cost cost, tlo_error *err)
{
    tlo_error_clear(err);
    if (!id || !path || !*path)
        return tlo_fail(err, TLO_EARG, "saving an identity needs an identity and a file name");
    if (!passphrase || passphrase_len == 0)
        return tlo_fail(err, TLO_EARG,
                        "refusing to save identity file %s with an empty passphrase; choose a "
                        "passphrase",
                        path);
    if (passphrase_len > crypto_pwhash_PASSWD_MAX)
        return tlo_fail(err, TLO_EARG, "the passphrase for identity file %s is too long", path);
    if (cost != TLO_KDF_INTERACTIVE && cost != TLO_KDF_MODERATE)
        return tlo_fail(err, TLO_EARG, "unknown Argon2id cost %d for identity file %s", (int)cost,
                        path);
    size_t name_len = strnlen(id->name, sizeof id->name);
    if (!name_valid((const uint8_t *)id->name, name_len))
        return tlo_fail(err, TLO_EARG,
                        "the identity to save as %s has an invalid name (1 to %d bytes of UTF-8 "
                        "without control characters)",
                        path, TLO_NAME_MAX);
    if (!id->sign_sk || !id->box_sk)
        return tlo_fail(err, TLO_EARG,
                        "identity \"%s\" has no secret keys (it was loaded without its "
                        "passphrase), so it cannot be saved as %s",
                        id->name, path);
    int match = keys_match(id->sign_sk, id->box_sk, id->sign_pk, id->box_pk);
    if (match < 0)
        return tlo_fail(err, TLO_ENOMEM, "out of locked memory saving identity file %s", path);
    if (!match)
        return tlo_fail(err, TLO_EARG,
                        "identity \"%s\" has public keys that do not match its secret keys; "
                        "refusing to save it as %s",
                        id->name, path);
    /* Fail early rather than after a second of Argon2id; O_EXCL below is
     * what actually guarantees nothing is overwritten. */
    struct stat st;
    if (lstat(path, &st) == 0)
        return tlo_fail(err, TLO_EEXIST,
                        "identity file %s already exists; refusing to overwrite it (choose "
                        "another name or remove the old file yourself)",
                        path);

    uint32_t opslimit, memlimit_kib;
    kdf_limits(cost, &opslimit, &memlimit_kib);
    uint8_t buf[FILE_MAX];
    memcpy(buf, magic, MAGIC_BYTES);
    buf[OFF_VERSION] = FILE_VERSION;
    tlo_store_be32(buf + OFF_OPSLIMIT, opslimit);
    tlo_store_be32(buf + OFF_MEMLIMIT, memlimit_kib);
    randombytes_buf(buf + OFF_SALT, SALT_BYTES);
    randombytes_buf(buf + OFF_NONCE, NONCE_BYTES);
    buf[OFF_NAME_LEN] = (uint8_t)name_len;
    size_t off = OFF_NAME;
    memcpy(buf + off, id->name, name_len);
    off += name_len;
    memcpy(buf + off, id->sign_pk, TLO_ED25519_PK_BYTES);
    off += TLO_ED25519_PK_BYTES;
    memcpy(buf + off, id->box_pk, TLO_X25519_PK_BYTES);
    off += TLO_X25519_PK_BYTES;
    const size_t ad_len = off;

    uint8_t *key;
    int rc = derive_key(&key, passphrase, passphrase_len, buf + OFF_SALT, opslimit, memlimit_kib,
                        path, err);
    if (rc != 0)
        return rc;
    uint8_t *plain = sodium_malloc(SECRET_BYTES);
    if (!plain) {
        sodium_free(key);
        return tlo_fail(err, TLO_ENOMEM, "out of locked memory saving identity file %s", path);
    }
    memcpy(plain, id->sign_sk, TLO_ED25519_SK_BYTES);
    memcpy(plain + TLO_ED25519_SK_BYTES, id->box_sk, TLO_X25519_SK_BYTES);
    unsigned long long clen = 0;
    rc = crypto_aead_xchacha20poly1305_ietf_encrypt(buf + off, &clen, plain, SECRET_BYTES, buf,
                                                    ad_len, NULL, buf + OFF_NONCE, key);
    sodium_free(plain);
    sodium_free(key);
    if (rc != 0 || clen != CIPHER_BYTES)
        return tlo_fail(err, TLO_ECRYPTO,
                        "encrypting identity file %s failed; this is a bug or a broken libsodium",
                        path);
    off += CIPHER_BYTES;

    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return tlo_fail(err, TLO_EEXIST,
                            "identity file %s already exists; refusing to overwrite it (choose "
                            "another name or remove the old file yourself)",
                            path);
        return tlo_fail(err, TLO_EIO, "cannot create identity file %s: %s", path, strerror(errno));
    }
    /* The umask may have taken bits away; the owner must keep read/write. */
    const char *what = "set the mode of";
    int e = fchmod(fd, 0600) == 0 ? 0 : -errno;
    if (e == 0) {
        what = "write";
        e = tlo_write_all(fd, buf, off);
    }
    if (e == 0) {
        what = "fsync";
        e = fsync(fd) == 0 ? 0 : -errno;
    }
    if (close(fd) != 0 && e == 0) {
        what = "close";
        e = -errno;
    }
    if (e == 0) {
        what = "fsync the directory of";
        e = fsync_parent(path);
    }
    if (e != 0) {
        unlink(path);
        return tlo_fail(err, TLO_EIO,
                        "cannot %s identity file %s: %s; nothing was saved (check free space "
                        "and permissions, then try again)",
                        what, path, strerror(-e));
    }
    return 0;
}

/* Reads and checks the file; on success p points into buf. */
static int read_and_parse(const char *path, uint8_t *buf, size_t *len, parsed_file *p,
                          tlo_error *err)
{
    int rc = read_small_file(path, buf, FILE_MAX, len, err);
    if (rc != 0)
        return rc;
    return parse_file(buf, *len, path, p, err);
}

tlo_vault_identity *tlo_vault_identity_load(const char *path, const char *passphrase,
                                            size_t passphrase_len, tlo_error *err)
{
    tlo_error_clear(err);
    if (!path || !*path) {
        tlo_fail(err, TLO_EARG, "loading an identity needs a file name");
        return NULL;
    }
    if (!passphrase || passphrase_len == 0 || passphrase_len > crypto_pwhash_PASSWD_MAX) {
        tlo_fail(err, TLO_EARG, "unlocking identity file %s needs its passphrase", path);
        return NULL;
    }
    uint8_t buf[FILE_MAX];
    size_t len;
    parsed_file p;
    if (read_and_parse(path, buf, &len, &p, err) != 0)
        return NULL;

    uint8_t *key;
    if (derive_key(&key, passphrase, passphrase_len, p.salt, p.opslimit, p.memlimit_kib, path,
                   err) != 0)
        return NULL;
    uint8_t *plain = sodium_malloc(SECRET_BYTES);
    if (!plain) {
        sodium_free(key);
        tlo_fail(err, TLO_ENOMEM, "out of locked memory unlocking identity file %s", path);
        return NULL;
    }
    unsigned long long plen = 0;
    int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, p.cipher, CIPHER_BYTES,
                                                        buf, p.ad_len, p.nonce, key);
    sodium_free(key);
    if (rc != 0 || plen != SECRET_BYTES) {
        sodium_free(plain);
        tlo_fail(err, TLO_EPASSPHRASE, "wrong passphrase for identity file %s; type it again",
                 path);
        return NULL;
    }

    tlo_vault_identity *id = identity_from_parsed(&p, path, err);
    if (!id) {
        sodium_free(plain);
        return NULL;
    }
    id->sign_sk = sodium_malloc(TLO_ED25519_SK_BYTES);
    id->box_sk = sodium_malloc(TLO_X25519_SK_BYTES);
    if (!id->sign_sk || !id->box_sk) {
        sodium_free(plain);
        tlo_vault_identity_free(id);
        tlo_fail(err, TLO_ENOMEM,
                 "out of locked memory for the secret keys of identity file %s; close other "
                 "programs or raise the memlock limit",
                 path);
        return NULL;
    }
    memcpy(id->sign_sk, plain, TLO_ED25519_SK_BYTES);
    memcpy(id->box_sk, plain + TLO_ED25519_SK_BYTES, TLO_X25519_SK_BYTES);
    sodium_free(plain);

    int match = keys_match(id->sign_sk, id->box_sk, id->sign_pk, id->box_pk);
    if (match != 1) {
        tlo_vault_identity_free(id);
        if (match < 0)
            tlo_fail(err, TLO_ENOMEM, "out of locked memory checking identity file %s", path);
        else
            tlo_fail(err, TLO_EFORMAT,
                     "identity file %s holds secret keys that do not match its public keys; it "
                     "was not written by tellonce, do not use it",
                     path);
        return NULL;
    }
    return id;
}

tlo_vault_identity *tlo_vault_identity_load_public(const char *path, tlo_error *err)
{
    tlo_error_clear(err);
    if (!path || !*path) {
        tlo_fail(err, TLO_EARG, "loading an identity needs a file name");
        return NULL;
    }
    uint8_t buf[FILE_MAX];
    size_t len;
    parsed_file p;
    if (read_and_parse(path, buf, &len, &p, err) != 0)
        return NULL;
    return identity_from_parsed(&p, path, err);
}

void tlo_vault_identity_free(tlo_vault_identity *id)
{
    if (!id)
        return;
    sodium_free(id->sign_sk); /* wipes; NULL-safe */
    sodium_free(id->box_sk);
    sodium_memzero(id, sizeof *id);
    free(id);
}

void tlo_vault_identity_key_id(char out[static 2 * TLO_KEYID_BYTES + 1],
                               const tlo_vault_identity *id)
{
    out[0] = '\0';
    if (!id)
        return;
    uint8_t digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, id->sign_pk, TLO_ED25519_PK_BYTES);
    tlo_hex(out, digest, TLO_KEYID_BYTES);
}
