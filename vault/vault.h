/* tellonce vault — sealed objects, case keys and identities.
 *
 * A sealed object is an age-style STREAM: a 104-byte header, then chunks of
 * plaintext (64 KiB by default) each sealed with ChaCha20-Poly1305 under a
 * per-object key derived from the case key and the whole header. Any chunk can
 * be read without reading the others. docs/format.md has the byte layout.
 *
 * Secrets (case keys, identity secret keys, passphrase-derived keys) live only
 * in sodium_malloc memory; every function here that takes one takes a pointer
 * the caller owns, and copies nothing of it outside secure memory.
 *
 * Call tlo_vault_init() once before anything else. */
#ifndef TLO_VAULT_H
#define TLO_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_KEY_BYTES 32    /* a case key */
#define TLO_ID_BYTES 16     /* a case id or object id */
#define TLO_SALT_BYTES 16   /* per-object salt */
#define TLO_KEYID_BYTES 8   /* a short key fingerprint */
#define TLO_DIGEST_BYTES 32 /* SHA-256 */
#define TLO_TAG_BYTES 16    /* Poly1305 */
#define TLO_OBJECT_HEADER_BYTES 104
#define TLO_CHUNK_LOG2_DEFAULT 16 /* 64 KiB */
#define TLO_CHUNK_LOG2_MIN 10
#define TLO_CHUNK_LOG2_MAX 20
#define TLO_OBJECT_VERSION 1
#define TLO_SUITE_CHACHA20POLY1305_SHA256 1

/* Object kinds (header byte 10). */
enum {
    TLO_KIND_BLOB = 0,       /* anything: the plumbing commands */
    TLO_KIND_SEGMENT = 1,    /* a recorded media segment */
    TLO_KIND_ATTACHMENT = 2, /* a medical note, photo or document */
    TLO_KIND_CASEINFO = 3,   /* sealed case fields (the child's identity) */
};

/* Initializes libsodium and libgcrypt. Returns 0 or TLO_ECRYPTO. Idempotent. */
int tlo_vault_init(tlo_error *err);

/* ---- secure key buffers ------------------------------------------------ */

/* A TLO_KEY_BYTES buffer in sodium_malloc memory, filled from the system RNG.
 * Returns NULL when locked memory is exhausted. Free with tlo_vault_key_free. */
uint8_t *tlo_vault_key_generate(void);
/* A zeroed TLO_KEY_BYTES buffer in sodium_malloc memory, or NULL. */
uint8_t *tlo_vault_key_alloc(void);
/* Wipes and frees a key buffer. NULL-safe. */
void tlo_vault_key_free(uint8_t *key);

/* The longest passphrase or secret line read (bytes, without the newline). */
#define TLO_SECRET_LINE_MAX 1024

/* Reads one line from fd (up to a newline, the end, or TLO_SECRET_LINE_MAX
 * bytes; a final CR is dropped) into sodium_malloc memory, NUL-terminated,
 * its length in *len. Free it with sodium_free (which wipes). NULL when
 * locked memory is exhausted. For passphrases and custodian.secret. */
char *tlo_vault_secret_line(int fd, size_t *len);

/* The key id of a case key: the first 8 bytes of
 * HMAC-SHA-256(key, "tellonce/v1 key id"). Safe to show and store. */
void tlo_vault_key_id(uint8_t out[static TLO_KEYID_BYTES], const uint8_t key[static TLO_KEY_BYTES]);

/* ---- writing an object --------------------------------------------------- */

/* The writer hands every byte of the sealed object, in order, to this sink.
 * It returns 0, or a negative TLO_E* code (and fills err) to abort. */
typedef int (*tlo_vault_sink_fn)(void *ctx, const uint8_t *buf, size_t len, tlo_error *err);

typedef struct tlo_vault_writer tlo_vault_writer;

typedef struct tlo_vault_object_params {
    uint8_t kind;                    /* TLO_KIND_* */
    uint8_t chunk_log2;              /* 0 means TLO_CHUNK_LOG2_DEFAULT */
    uint8_t case_id[TLO_ID_BYTES];   /* internal case id (never the police case number) */
    uint8_t object_id[TLO_ID_BYTES]; /* unique per object; see tlo_vault_random_id */
} tlo_vault_object_params;

typedef struct tlo_vault_digests {
    uint8_t plaintext_sha256[TLO_DIGEST_BYTES];  /* of the bytes written */
    uint8_t ciphertext_sha256[TLO_DIGEST_BYTES]; /* of the whole sealed object, header included */
    uint64_t plaintext_bytes;
    uint64_t ciphertext_bytes;
    uint64_t chunks;
} tlo_vault_digests;

/* Fills id with random bytes. */
void tlo_vault_random_id(uint8_t id[static TLO_ID_BYTES]);

/* Starts a sealed object under case_key with a fresh random salt; writes the
 * header to the sink at once. case_key is only read during this call (the
 * derived object key is kept in secure memory until free). On failure returns
 * NULL and fills err. */
tlo_vault_writer *tlo_vault_writer_new(const tlo_vault_object_params *params,
                                       const uint8_t case_key[static TLO_KEY_BYTES],
                                       tlo_vault_sink_fn sink, void *sink_ctx, tlo_error *err);

/* As tlo_vault_writer_new, with the salt given. ONLY for test vectors: two
 * objects with the same case key, object id and salt would reuse nonces. */
tlo_vault_writer *tlo_vault_writer_new_with_salt(const tlo_vault_object_params *params,
                                                 const uint8_t case_key[static TLO_KEY_BYTES],
                                                 const uint8_t salt[static TLO_SALT_BYTES],
                                                 tlo_vault_sink_fn sink, void *sink_ctx,
                                                 tlo_error *err);

/* Appends len bytes of plaintext. Full chunks are sealed and sunk as they fill
 * (the last full chunk is held back until it is known not to be final). After
 * any failure the writer refuses further writes. */
int tlo_vault_writer_write(tlo_vault_writer *w, const void *buf, size_t len, tlo_error *err);

/* Seals the final chunk and fills out (if not NULL) with both SHA-256 digests
 * and the sizes. After finish the writer accepts nothing but free. */
int tlo_vault_writer_finish(tlo_vault_writer *w, tlo_vault_digests *out, tlo_error *err);

/* Frees the writer and wipes its keys. NULL-safe. A writer freed before finish
 * has produced an object without a final chunk, which readers reject. */
void tlo_vault_writer_free(tlo_vault_writer *w);

/* A sink that writes to a file descriptor (ctx points to an int fd). */
int tlo_vault_fd_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err);

/* ---- reading an object --------------------------------------------------- */

/* The reader pulls bytes through this source: read up to len bytes at off into
 * buf; return the count (short only at end of data) or a negative TLO_E* code. */
typedef long long (*tlo_vault_source_fn)(void *ctx, uint64_t off, uint8_t *buf, size_t len,
                                         tlo_error *err);

typedef struct tlo_vault_reader tlo_vault_reader;

/* The header fields, as parsed. Without a key they are unauthenticated:
 * tlo_vault_inspect says so; a reader that opened has authenticated them. */
typedef struct tlo_vault_header {
    uint8_t version;
    uint8_t suite;
    uint8_t kind;
    uint8_t chunk_log2;
    uint8_t case_id[TLO_ID_BYTES];
    uint8_t object_id[TLO_ID_BYTES];
    uint8_t salt[TLO_SALT_BYTES];
    uint8_t key_id[TLO_KEYID_BYTES];
} tlo_vault_header;

/* Opens a sealed object of total size `size` read through src. Checks the
 * header (magic, version, suite, key id, header MAC) and authenticates the
 * final chunk, so a truncated or extended object fails here. On any failure
 * returns NULL with err naming the cause (and, for chunks, the chunk index);
 * `name` (a file name, may be NULL) is used in messages. case_key is only
 * read during this call. */
tlo_vault_reader *tlo_vault_reader_open(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                                        const uint8_t case_key[static TLO_KEY_BYTES],
                                        const char *name, tlo_error *err);

/* An object key: what the custodian releases for one object, so that a
 * viewer can read exactly that object and no other of the case. It is
 * derived from the case key and the object's whole header (HKDF-SHA-256,
 * docs/format.md), so it opens only that object; the case key cannot be
 * recovered from it. Keep it in secure memory (tlo_vault_key_alloc is too
 * small: use sodium_malloc(TLO_OBJECT_KEY_BYTES)) and wipe it after use. */
#define TLO_OBJECT_KEY_BYTES 64

/* Derives into out the object key of the object read through src, after
 * checking that case_key sealed it (key id) and that its header is intact
 * (MAC). 0, or a negative code with out zeroed. */
int tlo_vault_object_key(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                         const uint8_t case_key[static TLO_KEY_BYTES],
                         uint8_t out[static TLO_OBJECT_KEY_BYTES], const char *name,
                         tlo_error *err);

/* tlo_vault_reader_open with an object key instead of the case key: any
 * other object fails with TLO_EWRONGKEY (its header MAC does not match). */
tlo_vault_reader *
tlo_vault_reader_open_object_key(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                                 const uint8_t object_key[static TLO_OBJECT_KEY_BYTES],
                                 const char *name, tlo_error *err);

/* Convenience: open a sealed object from a file descriptor (size from fstat).
 * The reader does not own fd; keep it open until free. */
tlo_vault_reader *tlo_vault_reader_open_fd(int fd, const uint8_t case_key[static TLO_KEY_BYTES],
                                           const char *name, tlo_error *err);

/* For recovery after a crash: opens an object that has no final chunk (its
 * writer never finished) and reads only its authenticated prefix: the inner
 * chunks from the first, in order, while they authenticate. The header is
 * checked as by tlo_vault_reader_open. tlo_vault_reader_size is then the
 * prefix length (a multiple of the chunk size, maybe 0). A complete object
 * opens too, without its final chunk. NULL with err filled on failure. */
tlo_vault_reader *tlo_vault_reader_open_prefix(tlo_vault_source_fn src, void *src_ctx,
                                               uint64_t size,
                                               const uint8_t case_key[static TLO_KEY_BYTES],
                                               const char *name, tlo_error *err);

/* Length of the plaintext. */
uint64_t tlo_vault_reader_size(const tlo_vault_reader *r);
const tlo_vault_header *tlo_vault_reader_header(const tlo_vault_reader *r);

/* Reads exactly len bytes of plaintext at offset off into buf, decrypting only
 * the chunks that cover the range. offset+len must be within the plaintext.
 * buf is zeroed on failure: no byte of a chunk that failed authentication is
 * ever returned. The first authentication failure makes the reader refuse all
 * later reads (TLO_ESTATE), so a caller cannot skip past damage silently. */
int tlo_vault_reader_read_at(tlo_vault_reader *r, uint64_t off, void *buf, size_t len,
                             tlo_error *err);

/* Frees the reader and wipes its keys and buffers. NULL-safe. */
void tlo_vault_reader_free(tlo_vault_reader *r);

/* What can be said of an object without its key. */
typedef struct tlo_vault_inspection {
    tlo_vault_header header;
    uint64_t file_bytes;
    uint64_t chunk_bytes;     /* plaintext bytes per full chunk */
    uint64_t chunks;          /* chunk count implied by the file size */
    uint64_t plaintext_bytes; /* implied by the file size, if the object is intact */
    bool size_consistent;     /* false if the last chunk is shorter than a tag */
} tlo_vault_inspection;

/* Parses the header of an object read through src. Fails with
 * TLO_ENOTOBJECT, TLO_EUNSUPPORTED or TLO_EFORMAT; never needs a key, and so
 * cannot authenticate anything it reports. */
int tlo_vault_inspect(tlo_vault_source_fn src, void *src_ctx, uint64_t size, const char *name,
                      tlo_vault_inspection *out, tlo_error *err);

/* A source over a file descriptor (ctx points to an int fd). */
long long tlo_vault_fd_source(void *ctx, uint64_t off, uint8_t *buf, size_t len, tlo_error *err);

/* A source over memory. */
typedef struct tlo_vault_mem {
    const uint8_t *data;
    size_t len;
} tlo_vault_mem;
long long tlo_vault_mem_source(void *ctx, uint64_t off, uint8_t *buf, size_t len, tlo_error *err);

/* ---- case keys ----------------------------------------------------------- */

#define TLO_X25519_PK_BYTES 32
#define TLO_X25519_SK_BYTES 32
#define TLO_ED25519_PK_BYTES 32
#define TLO_ED25519_SK_BYTES 64
#define TLO_WRAPPED_KEY_BYTES (TLO_KEY_BYTES + 48) /* crypto_box_seal overhead */

/* Wraps a case key to a custodian's X25519 public key (libsodium sealed box).
 * The wrapped form may be stored anywhere; only the custodian can unwrap it. */
int tlo_vault_key_wrap(uint8_t out[static TLO_WRAPPED_KEY_BYTES],
                       const uint8_t case_key[static TLO_KEY_BYTES],
                       const uint8_t custodian_pk[static TLO_X25519_PK_BYTES], tlo_error *err);

/* Unwraps into case_key_out (a tlo_vault_key_alloc buffer). Fails with
 * TLO_EWRONGKEY if the box was not made for this key pair or was altered;
 * case_key_out is zeroed on failure. */
int tlo_vault_key_unwrap(uint8_t *case_key_out, const uint8_t wrapped[static TLO_WRAPPED_KEY_BYTES],
                         const uint8_t custodian_pk[static TLO_X25519_PK_BYTES],
                         const uint8_t *custodian_sk, tlo_error *err);

/* ---- identities ---------------------------------------------------------- */

#define TLO_NAME_MAX 255

/* A person: Ed25519 (signing) and X25519 (sealed boxes) key pairs. The public
 * parts are plain fields; the secret parts point into sodium_malloc memory. */
typedef struct tlo_vault_identity {
    char name[TLO_NAME_MAX + 1];
    uint8_t sign_pk[TLO_ED25519_PK_BYTES];
    uint8_t box_pk[TLO_X25519_PK_BYTES];
    uint8_t *sign_sk; /* TLO_ED25519_SK_BYTES, secure memory */
    uint8_t *box_sk;  /* TLO_X25519_SK_BYTES, secure memory */
} tlo_vault_identity;

/* Argon2id cost. TLO_KDF_MODERATE is the default for people; tests may use
 * TLO_KDF_INTERACTIVE to stay fast. */
typedef enum { TLO_KDF_INTERACTIVE, TLO_KDF_MODERATE } tlo_vault_kdf_cost;

/* Generates a new identity named name (1..TLO_NAME_MAX bytes of valid UTF-8,
 * no control characters, no bidirectional or invisible formatting characters).
 * Returns NULL on failure. */
tlo_vault_identity *tlo_vault_identity_generate(const char *name, tlo_error *err);

/* Writes the identity to path (created with mode 0600, refused if it exists),
 * its secret keys encrypted with XChaCha20-Poly1305 under a key derived from
 * the passphrase by Argon2id; fsyncs the file. passphrase must not be empty. */
int tlo_vault_identity_save(const tlo_vault_identity *id, const char *path, const char *passphrase,
                            size_t passphrase_len, tlo_vault_kdf_cost cost, tlo_error *err);

/* Reads and unlocks an identity file. A wrong passphrase (or a damaged file)
 * is TLO_EPASSPHRASE; a file that is not an identity is TLO_EFORMAT. The
 * file's Argon2id limits are bounded before use. Returns NULL on failure. */
tlo_vault_identity *tlo_vault_identity_load(const char *path, const char *passphrase,
                                            size_t passphrase_len, tlo_error *err);

/* Reads only the public part (name and public keys) without a passphrase. The
 * secret pointers of the result are NULL. NOTHING in the result is
 * authenticated (anyone who can write the file can change it): trust public
 * keys from the ledger's signed enrolment, not from this. NULL on failure. */
tlo_vault_identity *tlo_vault_identity_load_public(const char *path, tlo_error *err);

/* Wipes and frees. NULL-safe. */
void tlo_vault_identity_free(tlo_vault_identity *id);

/* The short key id shown to people: the first 8 bytes of SHA-256 of the
 * Ed25519 public key, as 16 hex characters plus NUL. */
void tlo_vault_identity_key_id(char out[static 2 * TLO_KEYID_BYTES + 1],
                               const tlo_vault_identity *id);

#endif
