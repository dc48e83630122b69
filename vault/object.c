/* Sealed objects: an age-style STREAM of ChaCha20-Poly1305 chunks.
 *
 * Layout (all integers big-endian; docs/format.md is the full specification):
 *
 *   offset  size  field
 *   ------  ----  -------------------------------------------------------
 *        0     8  magic 89 54 4C 4F 0D 0A 1A 0A ("\x89TLO\r\n\x1a\n")
 *        8     1  version (1)
 *        9     1  suite (1: ChaCha20-Poly1305, HKDF-SHA-256, SHA-256 digests)
 *       10     1  kind (TLO_KIND_*)
 *       11     1  chunk_log2: plaintext bytes per chunk C = 2^chunk_log2 (10..20)
 *       12     4  reserved, zero
 *       16    16  case id
 *       32    16  object id
 *       48     8  key id of the case key (tlo_vault_key_id)
 *       56    16  salt (random per object)
 *       72    32  header MAC = HMAC-SHA-256(mac_key, bytes 0..71)
 *      104     .  chunk 0, chunk 1, ... : chunk i at 104 + i*(C+16);
 *                 every chunk but the last holds C plaintext bytes + 16-byte tag
 *     end-8    8  trailer: plaintext length L
 *
 *   payload_key || mac_key = HKDF-SHA-256(ikm = case key, salt = salt,
 *                             info = "tellonce/v1 object" || bytes 0..71, 64)
 *   nonce(i)  = i as 11 bytes big-endian || (0x01 if chunk i is the last else 0x00)
 *   chunk i   = ChaCha20-Poly1305(payload_key, nonce(i), aad, plaintext_i)
 *               aad = L (8 bytes) for the last chunk, empty otherwise
 *
 * The last chunk holds 1..C bytes, or 0 only when L = 0 (then it is chunk 0).
 * Binding L into the last chunk and storing it after it lets a reader find the
 * authenticated end exactly, so appended bytes and truncation are told apart
 * from alteration. Nonces never repeat: each object has its own key (fresh
 * salt), and the counter increases by one per chunk. */
#include "internal.h"
#include "vault.h"

#include <errno.h>
#include <gcrypt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t magic[8] = {0x89, 'T', 'L', 'O', '\r', '\n', 0x1a, '\n'};
static const char info_label[] = "tellonce/v1 object";

#define HDR TLO_OBJECT_HEADER_BYTES
#define HDR_MACED 72 /* bytes covered by the header MAC */
#define TRAILER 8
#define TAG TLO_TAG_BYTES
#define NAME_MAX_SHOWN 200

enum { OFF_VERSION = 8, OFF_SUITE = 9, OFF_KIND = 10, OFF_CHUNK = 11, OFF_RESERVED = 12 };
enum { OFF_CASE = 16, OFF_OBJECT = 32, OFF_KEYID = 48, OFF_SALT = 56, OFF_MAC = 72 };

/* ---- shared -------------------------------------------------------------- */

/* The object key of hdr under case_key: HKDF-SHA-256 over the whole header
 * (docs/format.md): 32 bytes of payload key, then 32 of header MAC key. */
static int derive_object_key(uint8_t keys[static TLO_OBJECT_KEY_BYTES], const uint8_t *hdr,
                             const uint8_t case_key[static TLO_KEY_BYTES], tlo_error *err)
{
    uint8_t info[sizeof info_label - 1 + HDR_MACED];
    memcpy(info, info_label, sizeof info_label - 1);
    memcpy(info + sizeof info_label - 1, hdr, HDR_MACED);
    if (vault_hkdf_sha256(keys, TLO_OBJECT_KEY_BYTES, hdr + OFF_SALT, TLO_SALT_BYTES, case_key,
                          TLO_KEY_BYTES, info, sizeof info) != 0)
        return tlo_fail(err, TLO_ECRYPTO, "object key derivation failed");
    return 0;
}

/* Sets up the payload cipher from an object key in a fresh
 * GCRY_CIPHER_SECURE handle, and computes the header MAC of hdr[0..72). */
static int use_object_key(gcry_cipher_hd_t *hd_out, uint8_t mac_out[32], const uint8_t *hdr,
                          const uint8_t keys[static TLO_OBJECT_KEY_BYTES], tlo_error *err)
{
    gcry_cipher_hd_t hd = NULL;
    *hd_out = NULL;
    crypto_auth_hmacsha256(mac_out, hdr, HDR_MACED, keys + 32);
    gcry_error_t e =
        gcry_cipher_open(&hd, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305, GCRY_CIPHER_SECURE);
    if (!e)
        e = gcry_cipher_setkey(hd, keys, 32);
    if (e) {
        gcry_cipher_close(hd);
        return tlo_fail(err, gcry_err_code(e) == GPG_ERR_ENOMEM ? TLO_ENOMEM : TLO_ECRYPTO,
                        "libgcrypt cannot set up ChaCha20-Poly1305: %s", gcry_strerror(e));
    }
    *hd_out = hd;
    return 0;
}

/* Derives the payload key into a fresh GCRY_CIPHER_SECURE handle and the
 * header MAC of hdr[0..72) into mac_out. Nothing secret outlives the call
 * outside the handle. */
static int derive(gcry_cipher_hd_t *hd_out, uint8_t mac_out[32], const uint8_t *hdr,
                  const uint8_t case_key[static TLO_KEY_BYTES], tlo_error *err)
{
    uint8_t *keys = sodium_malloc(TLO_OBJECT_KEY_BYTES);
    *hd_out = NULL;
    if (!keys)
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for an object key");
    int rc = derive_object_key(keys, hdr, case_key, err);
    if (rc == 0)
        rc = use_object_key(hd_out, mac_out, hdr, keys, err);
    sodium_free(keys);
    return rc;
}

static void make_nonce(uint8_t nonce[12], uint64_t counter, int final)
{
    memset(nonce, 0, 12);
    tlo_store_be64(nonce + 3, counter);
    nonce[11] = final ? 1 : 0;
}

/* Sets up hd for chunk `counter` (final with AAD = L when final). */
static gcry_error_t chunk_begin(gcry_cipher_hd_t hd, uint64_t counter, int final, uint64_t plen)
{
    uint8_t nonce[12];
    gcry_error_t e;

    make_nonce(nonce, counter, final);
    e = gcry_cipher_setiv(hd, nonce, sizeof nonce);
    if (!e && final) {
        uint8_t aad[8];
        tlo_store_be64(aad, plen);
        e = gcry_cipher_authenticate(hd, aad, sizeof aad);
    }
    if (!e)
        e = gcry_cipher_final(hd);
    return e;
}

static const char *shown(const char *name)
{
    return name ? name : "object";
}

/* ---- writer -------------------------------------------------------------- */

struct tlo_vault_writer {
    tlo_vault_sink_fn sink;
    void *sink_ctx;
    gcry_cipher_hd_t aead;
    gcry_md_hd_t sha_pt, sha_ct;
    size_t chunk;     /* plaintext bytes per chunk */
    uint64_t counter; /* index of the next chunk to seal */
    uint8_t *buf;     /* chunk + tag; media, so ordinary memory */
    size_t fill;      /* plaintext bytes waiting in buf */
    uint64_t pt_bytes, ct_bytes;
    enum { W_OPEN, W_DONE, W_FAILED } state;
};

static int emit(tlo_vault_writer *w, const uint8_t *p, size_t len, tlo_error *err)
{
    gcry_md_write(w->sha_ct, p, len);
    w->ct_bytes += len;
    return w->sink(w->sink_ctx, p, len, err);
}

/* Seals len bytes from in to out (which may equal in) as chunk w->counter and
 * sinks it. out must hold len + TAG bytes. */
static int seal_chunk(tlo_vault_writer *w, const uint8_t *in, uint8_t *out, size_t len, int final,
                      tlo_error *err)
{
    gcry_error_t e;

    if (w->counter == UINT64_MAX)
        return tlo_fail(err, TLO_ERANGE, "object too large: chunk counter exhausted");
    gcry_md_write(w->sha_pt, in, len); /* before an in-place encryption overwrites it */
    w->pt_bytes += len;
    e = chunk_begin(w->aead, w->counter, final, w->pt_bytes);
    if (!e)
        e = in == out ? gcry_cipher_encrypt(w->aead, out, len, NULL, 0)
                      : gcry_cipher_encrypt(w->aead, out, len, in, len);
    if (!e)
        e = gcry_cipher_gettag(w->aead, out + len, TAG);
    if (e)
        return tlo_fail(err, TLO_ECRYPTO, "sealing chunk %llu failed: %s",
                        (unsigned long long)w->counter, gcry_strerror(e));
    w->counter++;
    return emit(w, out, len + TAG, err);
}

static tlo_vault_writer *writer_new(const tlo_vault_object_params *params,
                                    const uint8_t case_key[static TLO_KEY_BYTES],
                                    const uint8_t salt[static TLO_SALT_BYTES],
                                    tlo_vault_sink_fn sink, void *sink_ctx, tlo_error *err)
{
    uint8_t hdr[HDR] = {0};
    tlo_vault_writer *w;
    unsigned log2;

    if (!params || !sink) {
        tlo_fail(err, TLO_EARG, "tlo_vault_writer_new: missing parameters or sink");
        return NULL;
    }
    log2 = params->chunk_log2 ? params->chunk_log2 : TLO_CHUNK_LOG2_DEFAULT;
    if (log2 < TLO_CHUNK_LOG2_MIN || log2 > TLO_CHUNK_LOG2_MAX) {
        tlo_fail(err, TLO_EARG, "chunk size 2^%u is outside 2^%d..2^%d", log2, TLO_CHUNK_LOG2_MIN,
                 TLO_CHUNK_LOG2_MAX);
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (!w) {
        tlo_fail(err, TLO_ENOMEM, "out of memory for an object writer");
        return NULL;
    }
    w->sink = sink;
    w->sink_ctx = sink_ctx;
    w->chunk = (size_t)1 << log2;
    w->buf = malloc(w->chunk + TAG);
    if (!w->buf || gcry_md_open(&w->sha_pt, GCRY_MD_SHA256, 0) != 0 ||
        gcry_md_open(&w->sha_ct, GCRY_MD_SHA256, 0) != 0) {
        tlo_fail(err, TLO_ENOMEM, "out of memory for an object writer");
        goto fail;
    }

    memcpy(hdr, magic, sizeof magic);
    hdr[OFF_VERSION] = TLO_OBJECT_VERSION;
    hdr[OFF_SUITE] = TLO_SUITE_CHACHA20POLY1305_SHA256;
    hdr[OFF_KIND] = params->kind;
    hdr[OFF_CHUNK] = (uint8_t)log2;
    memcpy(hdr + OFF_CASE, params->case_id, TLO_ID_BYTES);
    memcpy(hdr + OFF_OBJECT, params->object_id, TLO_ID_BYTES);
    tlo_vault_key_id(hdr + OFF_KEYID, case_key);
    memcpy(hdr + OFF_SALT, salt, TLO_SALT_BYTES);
    if (derive(&w->aead, hdr + OFF_MAC, hdr, case_key, err) != 0)
        goto fail;
    if (emit(w, hdr, sizeof hdr, err) != 0)
        goto fail;
    return w;
fail:
    tlo_vault_writer_free(w);
    return NULL;
}

tlo_vault_writer *tlo_vault_writer_new(const tlo_vault_object_params *params,
                                       const uint8_t case_key[static TLO_KEY_BYTES],
                                       tlo_vault_sink_fn sink, void *sink_ctx, tlo_error *err)
{
    uint8_t salt[TLO_SALT_BYTES];
    randombytes_buf(salt, sizeof salt);
    return writer_new(params, case_key, salt, sink, sink_ctx, err);
}

tlo_vault_writer *tlo_vault_writer_new_with_salt(const tlo_vault_object_params *params,
                                                 const uint8_t case_key[static TLO_KEY_BYTES],
                                                 const uint8_t salt[static TLO_SALT_BYTES],
                                                 tlo_vault_sink_fn sink, void *sink_ctx,
                                                 tlo_error *err)
{
    return writer_new(params, case_key, salt, sink, sink_ctx, err);
}

static int writer_usable(tlo_vault_writer *w, tlo_error *err)
{
    if (!w)
        return tlo_fail(err, TLO_EARG, "no object writer");
    if (w->state == W_FAILED)
        return tlo_fail(err, TLO_ESTATE, "this object writer failed earlier; start a new object");
    if (w->state == W_DONE)
        return tlo_fail(err, TLO_ESTATE, "this object is already finished");
    return 0;
}

int tlo_vault_writer_write(tlo_vault_writer *w, const void *data, size_t len, tlo_error *err)
{
    const uint8_t *p = data;
    int rc = writer_usable(w, err);

    if (rc)
        return rc;
    while (len > 0) {
        if (w->fill == w->chunk) {
            /* More data follows, so the held-back full chunk is not the last. */
            if ((rc = seal_chunk(w, w->buf, w->buf, w->chunk, 0, err)) != 0)
                goto fail;
            w->fill = 0;
        }
        if (w->fill == 0 && len > w->chunk) {
            /* A whole chunk with more after it: seal straight from the caller. */
            if ((rc = seal_chunk(w, p, w->buf, w->chunk, 0, err)) != 0)
                goto fail;
            p += w->chunk;
            len -= w->chunk;
            continue;
        }
        size_t n = w->chunk - w->fill < len ? w->chunk - w->fill : len;
        memcpy(w->buf + w->fill, p, n);
        w->fill += n;
        p += n;
        len -= n;
    }
    return 0;
fail:
    w->state = W_FAILED;
    return rc;
}

int tlo_vault_writer_finish(tlo_vault_writer *w, tlo_vault_digests *out, tlo_error *err)
{
    uint8_t trailer[TRAILER];
    int rc;

    if (out)
        memset(out, 0, sizeof *out);
    if ((rc = writer_usable(w, err)) != 0)
        return rc;
    /* seal_chunk adds the final chunk's length to pt_bytes before binding it
     * as the AAD, so the final chunk authenticates the total length L. */
    uint64_t total = w->pt_bytes + w->fill;
    if ((rc = seal_chunk(w, w->buf, w->buf, w->fill, 1, err)) != 0)
        goto fail;
    w->fill = 0;
    tlo_store_be64(trailer, total);
    if ((rc = emit(w, trailer, sizeof trailer, err)) != 0)
        goto fail;
    w->state = W_DONE;
    if (out) {
        memcpy(out->plaintext_sha256, gcry_md_read(w->sha_pt, GCRY_MD_SHA256), TLO_DIGEST_BYTES);
        memcpy(out->ciphertext_sha256, gcry_md_read(w->sha_ct, GCRY_MD_SHA256), TLO_DIGEST_BYTES);
        out->plaintext_bytes = total;
        out->ciphertext_bytes = w->ct_bytes;
        out->chunks = w->counter;
    }
    return 0;
fail:
    w->state = W_FAILED;
    return rc;
}

void tlo_vault_writer_free(tlo_vault_writer *w)
{
    if (!w)
        return;
    gcry_cipher_close(w->aead); /* wipes the key schedule */
    gcry_md_close(w->sha_pt);
    gcry_md_close(w->sha_ct);
    if (w->buf) {
        sodium_memzero(w->buf, w->chunk + TAG);
        free(w->buf);
    }
    free(w);
}

int tlo_vault_fd_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    int rc = tlo_write_all(*(int *)ctx, buf, len);
    if (rc == -ENOSPC)
        return tlo_fail(err, TLO_EIO, "the disk is full: free space, then seal again");
    if (rc < 0)
        return tlo_fail(err, TLO_EIO, "writing the sealed object failed: %s", strerror(-rc));
    return 0;
}

/* ---- sources ------------------------------------------------------------- */

long long tlo_vault_fd_source(void *ctx, uint64_t off, uint8_t *buf, size_t len, tlo_error *err)
{
    long long n = tlo_pread_full(*(int *)ctx, buf, len, off);
    if (n < 0)
        return tlo_fail(err, TLO_EIO, "reading at byte %llu failed: %s", (unsigned long long)off,
                        strerror((int)-n));
    return n;
}

long long tlo_vault_mem_source(void *ctx, uint64_t off, uint8_t *buf, size_t len, tlo_error *err)
{
    const tlo_vault_mem *m = ctx;
    (void)err;
    if (off >= m->len)
        return 0;
    size_t n = m->len - off < len ? (size_t)(m->len - off) : len;
    memcpy(buf, m->data + off, n);
    return (long long)n;
}

/* Reads exactly len bytes or fails with TLO_ETRUNCATED/TLO_EIO. */
static int read_exact(tlo_vault_source_fn src, void *ctx, uint64_t off, uint8_t *buf, size_t len,
                      const char *name, tlo_error *err)
{
    long long n = src(ctx, off, buf, len, err);
    if (n < 0)
        return (int)n;
    if ((size_t)n != len)
        return tlo_fail(err, TLO_ETRUNCATED, "%s: ends at byte %llu, earlier than its size said",
                        shown(name), (unsigned long long)(off + (uint64_t)n));
    return 0;
}

/* ---- header -------------------------------------------------------------- */

static void parse_header(tlo_vault_header *h, const uint8_t *hdr)
{
    h->version = hdr[OFF_VERSION];
    h->suite = hdr[OFF_SUITE];
    h->kind = hdr[OFF_KIND];
    h->chunk_log2 = hdr[OFF_CHUNK];
    memcpy(h->case_id, hdr + OFF_CASE, TLO_ID_BYTES);
    memcpy(h->object_id, hdr + OFF_OBJECT, TLO_ID_BYTES);
    memcpy(h->key_id, hdr + OFF_KEYID, TLO_KEYID_BYTES);
    memcpy(h->salt, hdr + OFF_SALT, TLO_SALT_BYTES);
}

/* The checks that need no key: magic, version, suite, size. Reads the header
 * into hdr (HDR bytes). */
static int read_header(tlo_vault_source_fn src, void *ctx, uint64_t size, const char *name,
                       uint8_t hdr[HDR], tlo_error *err)
{
    size_t have = size < HDR ? (size_t)size : HDR;
    int rc;

    memset(hdr, 0, HDR);
    if ((rc = read_exact(src, ctx, 0, hdr, have, name, err)) != 0)
        return rc;
    if (have < sizeof magic || memcmp(hdr, magic, sizeof magic) != 0)
        return tlo_fail(err, TLO_ENOTOBJECT,
                        "%s is not a tellonce sealed object (its first bytes are not the "
                        "tellonce magic); check that you named the right file",
                        shown(name));
    if (have < OFF_SUITE + 1)
        return tlo_fail(err, TLO_ETRUNCATED, "%s: truncated inside its header (%zu of %d bytes)",
                        shown(name), have, HDR);
    if (hdr[OFF_VERSION] != TLO_OBJECT_VERSION)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "%s: object format version %u is not supported by this tellonce (it "
                        "reads version %d); use a newer tellonce, or the header was altered",
                        shown(name), hdr[OFF_VERSION], TLO_OBJECT_VERSION);
    if (hdr[OFF_SUITE] != TLO_SUITE_CHACHA20POLY1305_SHA256)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "%s: cipher suite %u is not supported by this tellonce (it reads suite "
                        "%d); use a newer tellonce, or the header was altered",
                        shown(name), hdr[OFF_SUITE], TLO_SUITE_CHACHA20POLY1305_SHA256);
    if (have < HDR)
        return tlo_fail(err, TLO_ETRUNCATED, "%s: truncated inside its header (%zu of %d bytes)",
                        shown(name), have, HDR);
    return 0;
}

/* Where the chunks of an object whose plaintext is `plen` bytes end, trailer
 * included, or 0 if plen is absurd. */
static uint64_t object_size_for(uint64_t plen, uint64_t chunk)
{
    if (plen > (UINT64_C(1) << 60))
        return 0;
    uint64_t n = plen == 0 ? 1 : (plen + chunk - 1) / chunk;
    return HDR + plen + n * TAG + TRAILER;
}

int tlo_vault_inspect(tlo_vault_source_fn src, void *src_ctx, uint64_t size, const char *name,
                      tlo_vault_inspection *out, tlo_error *err)
{
    uint8_t hdr[HDR];
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = read_header(src, src_ctx, size, name, hdr, err)) != 0)
        return rc;
    if (hdr[OFF_CHUNK] < TLO_CHUNK_LOG2_MIN || hdr[OFF_CHUNK] > TLO_CHUNK_LOG2_MAX)
        return tlo_fail(err, TLO_EUNSUPPORTED, "%s: chunk size 2^%u is outside 2^%d..2^%d",
                        shown(name), hdr[OFF_CHUNK], TLO_CHUNK_LOG2_MIN, TLO_CHUNK_LOG2_MAX);
    parse_header(&out->header, hdr);
    out->file_bytes = size;
    out->chunk_bytes = UINT64_C(1) << hdr[OFF_CHUNK];
    if (size >= HDR + TAG + TRAILER) {
        uint8_t t[TRAILER];
        if ((rc = read_exact(src, src_ctx, size - TRAILER, t, TRAILER, name, err)) != 0)
            return rc;
        uint64_t plen = tlo_load_be64(t);
        if (object_size_for(plen, out->chunk_bytes) == size) {
            out->size_consistent = true;
            out->plaintext_bytes = plen;
            out->chunks = plen == 0 ? 1 : (plen + out->chunk_bytes - 1) / out->chunk_bytes;
        }
    }
    if (!out->size_consistent) {
        uint64_t payload = size > HDR ? size - HDR : 0;
        out->chunks = (payload + out->chunk_bytes + TAG - 1) / (out->chunk_bytes + TAG);
    }
    return 0;
}

/* ---- reader -------------------------------------------------------------- */

struct tlo_vault_reader {
    tlo_vault_source_fn src;
    void *src_ctx;
    uint64_t size;
    gcry_cipher_hd_t aead;
    tlo_vault_header header;
    size_t chunk;      /* plaintext bytes per full chunk */
    uint64_t nchunks;  /* >= 1 */
    uint64_t plen;     /* authenticated plaintext length */
    uint8_t *cbuf;     /* one chunk of ciphertext + tag */
    uint8_t *pbuf;     /* one chunk of plaintext: the cache */
    uint64_t cached;   /* chunk index held in pbuf, or UINT64_MAX */
    size_t cached_len; /* plaintext bytes of that chunk */
    int failed;        /* an authentication failure happened: refuse everything */
    int partial;       /* opened by tlo_vault_reader_open_prefix: no final chunk */
    void *owned_ctx;   /* freed with the reader (the fd of tlo_vault_reader_open_fd) */
    char name[NAME_MAX_SHOWN + 1];
};

static uint64_t chunk_offset(const tlo_vault_reader *r, uint64_t i)
{
    return HDR + i * (r->chunk + TAG);
}

/* Reads chunk i (ct_len bytes of ciphertext and tag) and opens it into out
 * (ct_len - TAG bytes). On authentication failure returns TLO_ECHUNK with out
 * wiped; the message is left to the caller. */
static int open_chunk(tlo_vault_reader *r, uint64_t i, size_t ct_len, int final, uint64_t plen,
                      uint8_t *out, tlo_error *err)
{
    size_t len = ct_len - TAG;
    gcry_error_t e;
    int rc;

    if ((rc = read_exact(r->src, r->src_ctx, chunk_offset(r, i), r->cbuf, ct_len, r->name, err)) !=
        0)
        return rc;
    e = chunk_begin(r->aead, i, final, plen);
    if (!e)
        e = gcry_cipher_decrypt(r->aead, out, len, r->cbuf, len);
    if (!e)
        e = gcry_cipher_checktag(r->aead, r->cbuf + len, TAG);
    if (e) {
        sodium_memzero(out, len);
        if (gcry_err_code(e) == GPG_ERR_CHECKSUM)
            return TLO_ECHUNK;
        return tlo_fail(err, TLO_ECRYPTO, "%s: opening chunk %llu failed: %s", r->name,
                        (unsigned long long)i, gcry_strerror(e));
    }
    return 0;
}

/* The fast path failed: walk the chunks from the start to say exactly what is
 * wrong. Only runs on damaged objects, so its O(n) cost is fine. */
static int diagnose(tlo_vault_reader *r, tlo_error *err)
{
    const size_t full = r->chunk + TAG;

    for (uint64_t j = 0;; j++) {
        uint64_t start = chunk_offset(r, j);
        if (j == 0 && start >= r->size)
            return tlo_fail(err, TLO_ETRUNCATED, "%s is truncated: it has a header but no chunks",
                            r->name);
        if (start >= r->size)
            return tlo_fail(err, TLO_ETRUNCATED,
                            "%s is truncated: it ends after chunk %llu, which is not the final "
                            "chunk; the first %llu bytes of plaintext are intact",
                            r->name, (unsigned long long)(j - 1),
                            (unsigned long long)(j * r->chunk));
        uint64_t avail = r->size - start;
        int rc;
        if (avail >= full) {
            rc = open_chunk(r, j, full, 0, 0, r->pbuf, err);
            if (rc == 0)
                continue;
            if (rc != TLO_ECHUNK)
                return rc;
        }
        /* Chunk j is not a valid inner chunk, so it must be the final one. The
         * trailer after it holds L, which fixes its length: look for an offset
         * where the 8 bytes say so, then authenticate that candidate. */
        size_t window = avail < full + TRAILER ? (size_t)avail : full + TRAILER;
        uint8_t *win = malloc(window);
        if (!win)
            return tlo_fail(err, TLO_ENOMEM, "out of memory while checking %s", r->name);
        if ((rc = read_exact(r->src, r->src_ctx, start, win, window, r->name, err)) != 0) {
            free(win);
            return rc;
        }
        for (size_t ct = TAG; ct + TRAILER <= window && ct <= full; ct++) {
            uint64_t plen = j * r->chunk + (ct - TAG);
            if (tlo_load_be64(win + ct) != plen || (ct == TAG && j > 0))
                continue;
            if (open_chunk(r, j, ct, 1, plen, r->pbuf, err) == 0) {
                uint64_t end = start + ct + TRAILER;
                free(win);
                return tlo_fail(err, TLO_ETRAILING,
                                "%s has %llu bytes of extra data after its final chunk (chunk "
                                "%llu ends the object at byte %llu); the sealed content itself "
                                "is intact, but the file was altered",
                                r->name, (unsigned long long)(r->size - end), (unsigned long long)j,
                                (unsigned long long)end);
            }
        }
        free(win);
        if (avail >= full + TRAILER)
            return tlo_fail(err, TLO_ECHUNK,
                            "%s: chunk %llu fails authentication: it was altered, replaced, moved, "
                            "or comes from another object; the data before it is intact",
                            r->name, (unsigned long long)j);
        return tlo_fail(err, TLO_ETRUNCATED,
                        "%s is truncated: it ends inside chunk %llu, which has no valid end "
                        "(or its last bytes were altered); the first %llu bytes of plaintext are "
                        "intact",
                        r->name, (unsigned long long)j, (unsigned long long)(j * r->chunk));
    }
}

/* The checks every open makes: header, key id, header MAC, parameters.
 * Returns a reader with its buffers, not yet knowing its chunks. */
static tlo_vault_reader *open_header(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                                     const uint8_t *case_key, const uint8_t *object_key,
                                     const char *name, tlo_error *err)
{
    uint8_t hdr[HDR], mac[32], kid[TLO_KEYID_BYTES];
    tlo_vault_reader *r;

    if (!src || (!case_key && !object_key)) {
        tlo_fail(err, TLO_EARG, "tlo_vault_reader_open: no source or no key");
        return NULL;
    }
    if (read_header(src, src_ctx, size, name, hdr, err) != 0)
        return NULL;
    if (case_key)
        tlo_vault_key_id(kid, case_key);
    if (case_key && sodium_memcmp(kid, hdr + OFF_KEYID, sizeof kid) != 0) {
        char want[2 * TLO_KEYID_BYTES + 1], have[2 * TLO_KEYID_BYTES + 1];
        tlo_hex(want, hdr + OFF_KEYID, TLO_KEYID_BYTES);
        tlo_hex(have, kid, TLO_KEYID_BYTES);
        tlo_fail(err, TLO_EWRONGKEY,
                 "%s was sealed with the key whose id is %s, but the key given has id %s; use "
                 "the right case key (if you are sure it is right, the header was altered)",
                 shown(name), want, have);
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) {
        tlo_fail(err, TLO_ENOMEM, "out of memory for an object reader");
        return NULL;
    }
    snprintf(r->name, sizeof r->name, "%s", shown(name));
    r->src = src;
    r->src_ctx = src_ctx;
    r->size = size;
    r->cached = UINT64_MAX;
    if (case_key ? derive(&r->aead, mac, hdr, case_key, err) != 0
                 : use_object_key(&r->aead, mac, hdr, object_key, err) != 0)
        goto fail;
    if (sodium_memcmp(mac, hdr + OFF_MAC, sizeof mac) != 0) {
        if (case_key)
            tlo_fail(err, TLO_EHEADER,
                     "%s: the header was altered (its MAC does not match); the object cannot be "
                     "trusted",
                     r->name);
        else
            tlo_fail(err, TLO_EWRONGKEY,
                     "%s: the object key given is not this object's (or its header was altered); "
                     "a released key opens only the object it was derived for",
                     r->name);
        goto fail;
    }
    /* Authenticated from here on; now the fields can be judged. */
    if (hdr[OFF_CHUNK] < TLO_CHUNK_LOG2_MIN || hdr[OFF_CHUNK] > TLO_CHUNK_LOG2_MAX ||
        tlo_load_be32(hdr + OFF_RESERVED) != 0) {
        tlo_fail(err, TLO_EUNSUPPORTED,
                 "%s uses a chunk size or header flags this tellonce does not read; use a newer "
                 "tellonce",
                 r->name);
        goto fail;
    }
    parse_header(&r->header, hdr);
    r->chunk = (size_t)1 << hdr[OFF_CHUNK];
    r->cbuf = malloc(r->chunk + TAG + TRAILER);
    r->pbuf = malloc(r->chunk);
    if (!r->cbuf || !r->pbuf) {
        tlo_fail(err, TLO_ENOMEM, "out of memory for an object reader");
        goto fail;
    }
    return r;
fail:
    tlo_vault_reader_free(r);
    return NULL;
}

static tlo_vault_reader *finish_open(tlo_vault_reader *r, tlo_vault_source_fn src, void *src_ctx,
                                     uint64_t size, tlo_error *err);

tlo_vault_reader *tlo_vault_reader_open(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                                        const uint8_t case_key[static TLO_KEY_BYTES],
                                        const char *name, tlo_error *err)
{
    tlo_vault_reader *r = open_header(src, src_ctx, size, case_key, NULL, name, err);
    return r ? finish_open(r, src, src_ctx, size, err) : NULL;
}

tlo_vault_reader *
tlo_vault_reader_open_object_key(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                                 const uint8_t object_key[static TLO_OBJECT_KEY_BYTES],
                                 const char *name, tlo_error *err)
{
    tlo_vault_reader *r = open_header(src, src_ctx, size, NULL, object_key, name, err);
    return r ? finish_open(r, src, src_ctx, size, err) : NULL;
}

int tlo_vault_object_key(tlo_vault_source_fn src, void *src_ctx, uint64_t size,
                         const uint8_t case_key[static TLO_KEY_BYTES],
                         uint8_t out[static TLO_OBJECT_KEY_BYTES], const char *name, tlo_error *err)
{
    uint8_t hdr[HDR];
    memset(out, 0, TLO_OBJECT_KEY_BYTES);
    /* Only for an object this case key sealed, with an intact header. */
    tlo_vault_reader *r = open_header(src, src_ctx, size, case_key, NULL, name, err);
    if (!r)
        return err ? err->code : TLO_EHEADER;
    tlo_vault_reader_free(r);
    int rc = read_header(src, src_ctx, size, name, hdr, err);
    if (rc == 0)
        rc = derive_object_key(out, hdr, case_key, err);
    if (rc != 0)
        sodium_memzero(out, TLO_OBJECT_KEY_BYTES);
    return rc;
}

/* The rest of an open: the final chunk authenticated with L bound in. */
static tlo_vault_reader *finish_open(tlo_vault_reader *r, tlo_vault_source_fn src, void *src_ctx,
                                     uint64_t size, tlo_error *err)
{
    int rc;

    /* Fast path: the trailer gives L, L gives the size; if they agree,
     * authenticate the final chunk with L bound in. */
    if (size >= HDR + TAG + TRAILER) {
        uint8_t t[TRAILER];
        if (read_exact(src, src_ctx, size - TRAILER, t, TRAILER, r->name, err) != 0)
            goto fail;
        uint64_t plen = tlo_load_be64(t);
        if (object_size_for(plen, r->chunk) == size) {
            uint64_t n = plen == 0 ? 1 : (plen + r->chunk - 1) / r->chunk;
            size_t last = (size_t)(plen - (n - 1) * r->chunk);
            rc = open_chunk(r, n - 1, last + TAG, 1, plen, r->pbuf, err);
            if (rc == 0) {
                r->nchunks = n;
                r->plen = plen;
                r->cached = n - 1;
                r->cached_len = last;
                return r;
            }
            if (rc != TLO_ECHUNK)
                goto fail;
            /* The size can agree by chance when bytes were appended (their
             * last 8 then read as a plausible L): let the walk decide, and
             * only if it finds nothing better blame the final chunk. */
            rc = diagnose(r, err);
            if (rc == TLO_ETRUNCATED)
                tlo_fail(err, TLO_ECHUNK,
                         "%s: chunk %llu (the final chunk) fails authentication: it was altered "
                         "or replaced",
                         r->name, (unsigned long long)(n - 1));
            goto fail;
        }
    }
    rc = diagnose(r, err);
    (void)rc;
fail:
    tlo_vault_reader_free(r);
    return NULL;
}

tlo_vault_reader *tlo_vault_reader_open_prefix(tlo_vault_source_fn src, void *src_ctx,
                                               uint64_t size,
                                               const uint8_t case_key[static TLO_KEY_BYTES],
                                               const char *name, tlo_error *err)
{
    tlo_vault_reader *r = open_header(src, src_ctx, size, case_key, NULL, name, err);
    const size_t full = r ? r->chunk + TAG : 0;
    uint64_t k = 0;
    if (!r)
        return NULL;
    /* Inner chunks, in order, while they authenticate. */
    while (HDR + (k + 1) * full <= size) {
        int rc = open_chunk(r, k, full, 0, 0, r->pbuf, err);
        if (rc == TLO_ECHUNK)
            break;
        if (rc != 0) {
            tlo_vault_reader_free(r);
            return NULL;
        }
        k++;
    }
    tlo_error_clear(err);
    r->partial = 1;
    r->nchunks = k;
    r->plen = k * r->chunk;
    r->cached = UINT64_MAX;
    return r;
}

tlo_vault_reader *tlo_vault_reader_open_fd(int fd, const uint8_t case_key[static TLO_KEY_BYTES],
                                           const char *name, tlo_error *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        tlo_fail(err, TLO_EIO, "%s: cannot stat: %s", shown(name), strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        tlo_fail(err, TLO_EARG, "%s is not a regular file", shown(name));
        return NULL;
    }
    /* The reader keeps a pointer to the fd; store it inside the reader. */
    int *fdp = malloc(sizeof *fdp);
    if (!fdp) {
        tlo_fail(err, TLO_ENOMEM, "out of memory");
        return NULL;
    }
    *fdp = fd;
    tlo_vault_reader *r =
        tlo_vault_reader_open(tlo_vault_fd_source, fdp, (uint64_t)st.st_size, case_key, name, err);
    if (!r) {
        free(fdp);
        return NULL;
    }
    r->owned_ctx = fdp;
    return r;
}

uint64_t tlo_vault_reader_size(const tlo_vault_reader *r)
{
    return r->plen;
}

const tlo_vault_header *tlo_vault_reader_header(const tlo_vault_reader *r)
{
    return &r->header;
}

int tlo_vault_reader_read_at(tlo_vault_reader *r, uint64_t off, void *buf, size_t len,
                             tlo_error *err)
{
    uint8_t *out = buf;
    size_t done = 0;
    int rc;

    if (!r || (!buf && len))
        return tlo_fail(err, TLO_EARG, "tlo_vault_reader_read_at: no reader or buffer");
    /* buf is zeroed on every failure below, not up front: that would be one
     * more write pass over every read. */
    if (r->failed) {
        if (len)
            memset(buf, 0, len);
        return tlo_fail(err, TLO_ESTATE,
                        "%s: an earlier read found a chunk that fails authentication; this reader "
                        "refuses all further reads",
                        r->name);
    }
    if (off > r->plen || len > r->plen - off) {
        if (len)
            memset(buf, 0, len);
        return tlo_fail(err, TLO_ERANGE,
                        "%s: bytes %llu..%llu are outside the plaintext, which is %llu bytes",
                        r->name, (unsigned long long)off, (unsigned long long)(off + len),
                        (unsigned long long)r->plen);
    }
    while (done < len) {
        uint64_t pos = off + done;
        uint64_t i = pos / r->chunk;
        size_t in_chunk = (size_t)(pos % r->chunk);
        int final = i == r->nchunks - 1 && !r->partial;
        size_t clen = final ? (size_t)(r->plen - i * r->chunk) : r->chunk;
        size_t n = clen - in_chunk < len - done ? clen - in_chunk : len - done;

        if (i != r->cached && in_chunk == 0 && n == clen) {
            /* The whole chunk is wanted: open it straight into the caller's
             * buffer (wiped on failure), without touching the cache. */
            rc = open_chunk(r, i, clen + TAG, final, r->plen, out + done, err);
        } else {
            if (i != r->cached) {
                r->cached = UINT64_MAX;
                rc = open_chunk(r, i, clen + TAG, final, r->plen, r->pbuf, err);
                if (rc == 0) {
                    r->cached = i;
                    r->cached_len = clen;
                }
            } else {
                rc = 0;
            }
            if (rc == 0)
                memcpy(out + done, r->pbuf + in_chunk, n);
        }
        if (rc != 0) {
            sodium_memzero(buf, len);
            if (rc == TLO_ECHUNK) {
                r->failed = 1;
                return tlo_fail(err, TLO_ECHUNK,
                                "%s: chunk %llu fails authentication: it was altered, replaced, "
                                "moved, or comes from another object; nothing of it is returned",
                                r->name, (unsigned long long)i);
            }
            return rc;
        }
        done += n;
    }
    return 0;
}

void tlo_vault_reader_free(tlo_vault_reader *r)
{
    if (!r)
        return;
    gcry_cipher_close(r->aead);
    if (r->pbuf) {
        sodium_memzero(r->pbuf, r->chunk);
        free(r->pbuf);
    }
    free(r->cbuf);
    free(r->owned_ctx);
    free(r);
}
