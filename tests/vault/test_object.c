/* Sealed objects: round trips, random access, and every way an object can be
 * wrong (docs/format.md). Everything happens in memory. */
#include "testutil.h"

#include <sodium.h>
#include "vault.h"

#include <gcrypt.h>
#include <stdlib.h>
#include <string.h>

#define C 65536
#define H TLO_OBJECT_HEADER_BYTES
#define T TLO_TAG_BYTES
#define TRAILER 8

typedef struct {
    uint8_t *data;
    size_t len, cap;
} membuf;

static int mem_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    membuf *m = ctx;
    (void)err;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + len)
            cap *= 2;
        uint8_t *p = realloc(m->data, cap);
        if (!p)
            return TLO_ENOMEM;
        m->data = p;
        m->cap = cap;
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint8_t *random_bytes(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)rnd();
    return p;
}

static const uint8_t case_id[TLO_ID_BYTES] = {1, 2, 3, 4};

/* Seals pt into a new membuf, writing in pieces of random sizes when
 * `pieces` is set. */
static membuf seal(const uint8_t *key, const uint8_t *pt, size_t len, int pieces,
                   tlo_vault_digests *d)
{
    tlo_vault_object_params p = {.kind = TLO_KIND_SEGMENT};
    membuf m = {0};
    tlo_error err = {0};
    memcpy(p.case_id, case_id, sizeof case_id);
    tlo_vault_random_id(p.object_id);
    tlo_vault_writer *w = tlo_vault_writer_new(&p, key, mem_sink, &m, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    size_t done = 0;
    while (done < len) {
        size_t n = pieces ? 1 + rnd() % (3 * C) : len;
        if (n > len - done)
            n = len - done;
        CHECK(tlo_vault_writer_write(w, pt + done, n, &err) == 0);
        done += n;
    }
    CHECK(tlo_vault_writer_finish(w, d, &err) == 0);
    tlo_vault_writer_free(w);
    return m;
}

static tlo_vault_reader *open_mem(tlo_vault_mem *src, const uint8_t *key, tlo_error *err)
{
    return tlo_vault_reader_open(tlo_vault_mem_source, src, src->len, key, "test.tlo", err);
}

static void sha256(uint8_t out[32], const void *p, size_t len)
{
    gcry_md_hash_buffer(GCRY_MD_SHA256, out, p, len);
}

static size_t expected_size(size_t len)
{
    size_t n = len == 0 ? 1 : (len + C - 1) / C;
    return H + len + n * T + TRAILER;
}

static void check_read(tlo_vault_reader *r, const uint8_t *pt, uint64_t off, size_t len)
{
    tlo_error err = {0};
    uint8_t *buf = malloc(len ? len : 1);
    int rc = tlo_vault_reader_read_at(r, off, buf, len, &err);
    CHECK_MSG(rc == 0, "read_at(%llu, %zu): %s", (unsigned long long)off, len, err.msg);
    CHECK_MSG(memcmp(buf, pt + off, len) == 0, "read_at(%llu, %zu) differs",
              (unsigned long long)off, len);
    free(buf);
}

static void test_round_trips(const uint8_t *key)
{
    static const size_t sizes[] = {0,     1,         65535,         65536,
                                   65537, 3 * 65536, 3 * 65536 + 1, 5 * 1024 * 1024 + 12345};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int pieces = 0; pieces < 2; pieces++) {
            size_t len = sizes[s];
            uint8_t *pt = random_bytes(len);
            tlo_vault_digests d;
            membuf m = seal(key, pt, len, pieces, &d);
            uint8_t h[32];

            CHECK_MSG(m.len == expected_size(len), "size %zu: sealed %zu bytes, expected %zu", len,
                      m.len, expected_size(len));
            CHECK(d.plaintext_bytes == len && d.ciphertext_bytes == m.len);
            CHECK(d.chunks == (len == 0 ? 1 : (len + C - 1) / C));
            sha256(h, pt, len);
            CHECK(memcmp(h, d.plaintext_sha256, 32) == 0);
            sha256(h, m.data, m.len);
            CHECK(memcmp(h, d.ciphertext_sha256, 32) == 0);

            tlo_vault_mem src = {m.data, m.len};
            tlo_error err = {0};
            tlo_vault_reader *r = open_mem(&src, key, &err);
            CHECK_MSG(r != NULL, "size %zu: %s", len, err.msg);
            if (r) {
                CHECK(tlo_vault_reader_size(r) == len);
                CHECK(tlo_vault_reader_header(r)->kind == TLO_KIND_SEGMENT);
                CHECK(memcmp(tlo_vault_reader_header(r)->case_id, case_id, sizeof case_id) == 0);
                check_read(r, pt, 0, len);
                check_read(r, pt, len, 0);
                if (len > 0)
                    check_read(r, pt, len - 1, 1);
                if (len > C + 10) {
                    check_read(r, pt, C - 10, 20);   /* across a boundary */
                    check_read(r, pt, C - 1, C + 2); /* spans three chunks */
                    check_read(r, pt, C, C);         /* exactly one chunk */
                    check_read(r, pt, 5, len - 10);  /* nearly everything */
                }
                for (int i = 0; i < 200 && len > 0; i++) {
                    uint64_t off = rnd() % len;
                    size_t n = (size_t)(rnd() % (len - off + 1));
                    if (n > 3 * C)
                        n = 3 * C;
                    check_read(r, pt, off, n);
                }
                /* Beyond the end is refused, and the reader stays usable. */
                uint8_t b[2];
                CHECK(tlo_vault_reader_read_at(r, len, b, 1, &err) == TLO_ERANGE);
                CHECK(tlo_vault_reader_read_at(r, UINT64_MAX, b, 2, &err) == TLO_ERANGE);
                if (len > 0)
                    check_read(r, pt, 0, 1);
                tlo_vault_reader_free(r);
            }
            free(m.data);
            free(pt);
        }
    }
}

/* Opens a copy of obj and returns the open error (0 if it opened), after
 * reading every byte when it opens (so inner chunks are checked too). */
static int open_and_read_all(const uint8_t *obj, size_t len, const uint8_t *key, tlo_error *err)
{
    tlo_vault_mem src = {obj, len};
    tlo_error_clear(err);
    tlo_vault_reader *r = open_mem(&src, key, err);
    if (!r)
        return err->code;
    uint64_t n = tlo_vault_reader_size(r);
    uint8_t *buf = malloc(n ? n : 1);
    memset(buf, 0xaa, n);
    int rc = tlo_vault_reader_read_at(r, 0, buf, n, err);
    if (rc != 0) {
        int zero = 1;
        for (uint64_t i = 0; i < n; i++)
            zero &= buf[i] == 0;
        CHECK_MSG(zero, "a failed read returned bytes");
        /* The failure is sticky. */
        tlo_error e2;
        uint8_t b;
        CHECK(tlo_vault_reader_read_at(r, 0, &b, 1, &e2) == TLO_ESTATE);
    }
    free(buf);
    tlo_vault_reader_free(r);
    return rc;
}

static void test_header_bytes(const uint8_t *key)
{
    size_t len = 2 * C + 77;
    uint8_t *pt = random_bytes(len);
    tlo_vault_digests d;
    membuf m = seal(key, pt, len, 0, &d);
    tlo_error err;

    for (size_t i = 0; i < H; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            m.data[i] ^= (uint8_t)(1u << bit);
            tlo_vault_mem src = {m.data, m.len};
            tlo_vault_reader *r = open_mem(&src, key, &err);
            int expect = i < 8                 ? TLO_ENOTOBJECT
                         : i < 10              ? TLO_EUNSUPPORTED
                         : (i >= 48 && i < 56) ? TLO_EWRONGKEY
                                               : TLO_EHEADER;
            CHECK_MSG(r == NULL && err.code == expect, "flip header byte %zu bit %d: got %d (%s)",
                      i, bit, r ? 0 : err.code, r ? "opened" : err.msg);
            CHECK(strstr(err.msg, i < 8 ? "test.tlo is not" : "test.tlo") != NULL);
            tlo_vault_reader_free(r);
            m.data[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK(open_and_read_all(m.data, m.len, key, &err) == 0);
    free(m.data);
    free(pt);
}

static void test_chunk_bytes(const uint8_t *key)
{
    size_t len = 3 * C + 100; /* chunks 0..2 full, chunk 3 holds 100 bytes */
    uint8_t *pt = random_bytes(len);
    tlo_vault_digests d;
    membuf m = seal(key, pt, len, 1, &d);
    tlo_error err;
    char needle[32];

    for (unsigned chunk = 0; chunk < 4; chunk++) {
        size_t start = H + chunk * (size_t)(C + T);
        size_t clen = chunk < 3 ? C + T : 100 + T;
        /* first byte, a middle byte, the first and last byte of the tag */
        size_t where[] = {0, clen / 2, clen - T, clen - 1};
        for (size_t k = 0; k < 4; k++) {
            m.data[start + where[k]] ^= 0x40;
            int rc = open_and_read_all(m.data, m.len, key, &err);
            snprintf(needle, sizeof needle, "chunk %u", chunk);
            CHECK_ERR(rc, err, TLO_ECHUNK, needle);
            m.data[start + where[k]] ^= 0x40;
        }
    }
    /* The trailer: a changed length no longer matches the size. */
    for (size_t k = 0; k < TRAILER; k++) {
        m.data[m.len - 1 - k] ^= 1;
        CHECK(open_and_read_all(m.data, m.len, key, &err) != 0);
        m.data[m.len - 1 - k] ^= 1;
    }
    CHECK(open_and_read_all(m.data, m.len, key, &err) == 0);
    free(m.data);
    free(pt);
}

static void test_truncation(const uint8_t *key)
{
    size_t len = 3 * C + 100;
    uint8_t *pt = random_bytes(len);
    tlo_vault_digests d;
    membuf m = seal(key, pt, len, 0, &d);
    tlo_error err;

    /* At every chunk boundary: no final chunk. */
    for (unsigned k = 0; k <= 3; k++) {
        size_t cut = H + k * (size_t)(C + T);
        CHECK_ERR(open_and_read_all(m.data, cut, key, &err), err, TLO_ETRUNCATED, "truncated");
    }
    /* Inside chunks, inside the tag, in the trailer. */
    size_t cuts[] = {
        H + 1,           H + C / 2, H + C + T - 1, H + 2 * (C + T) + 5, m.len - TRAILER - 1,
        m.len - TRAILER, m.len - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++)
        CHECK_ERR(open_and_read_all(m.data, cuts[k], key, &err), err, TLO_ETRUNCATED, "truncated");
    /* Inside the header, and so short the magic is incomplete. */
    CHECK_ERR(open_and_read_all(m.data, H - 1, key, &err), err, TLO_ETRUNCATED, "header");
    CHECK_ERR(open_and_read_all(m.data, 4, key, &err), err, TLO_ENOTOBJECT, "not a tellonce");
    CHECK_ERR(open_and_read_all(m.data, 0, key, &err), err, TLO_ENOTOBJECT, "not a tellonce");
    free(m.data);
    free(pt);
}

static void test_appended(const uint8_t *key)
{
    /* One object whose final chunk is short, one whose final chunk is full. */
    size_t lens[] = {2 * C + 300, 2 * C, 0};
    for (size_t i = 0; i < 3; i++) {
        size_t len = lens[i];
        uint8_t *pt = random_bytes(len);
        tlo_vault_digests d;
        membuf m = seal(key, pt, len, 0, &d);
        uint8_t *other_pt = random_bytes(3 * C);
        membuf other = seal(key, other_pt, 3 * C, 0, &d);
        free(other_pt);
        tlo_error err;
        size_t extras[] = {1, 7, 8, 100, C + T};
        for (size_t k = 0; k < sizeof extras / sizeof extras[0]; k++) {
            size_t extra = extras[k];
            uint8_t *big = malloc(m.len + extra);
            memcpy(big, m.data, m.len);
            /* a whole chunk from another object of the same case, or its start */
            memcpy(big + m.len, other.data + H + C + T, extra);
            char needle[64];
            snprintf(needle, sizeof needle, "%zu bytes of extra data", extra);
            CHECK_ERR(open_and_read_all(big, m.len + extra, key, &err), err, TLO_ETRAILING, needle);
            free(big);
        }
        /* Appended bytes whose last 8 read as a length that fits the new
         * size: the size check passes by chance, the walk still finds them. */
        for (size_t extra = 1; extra <= 16; extra++) {
            uint8_t *big = calloc(1, m.len + extra);
            memcpy(big, m.data, m.len);
            uint64_t fake = len + extra; /* same chunk count, so size + extra */
            size_t n = len == 0 ? 1 : (len + C - 1) / C;
            if ((fake + C - 1) / C != n)
                fake = len; /* would add a chunk; keep the plain case */
            for (int b = 0; b < 8 && extra >= (size_t)(8 - b); b++)
                big[m.len + extra - 8 + b] = (uint8_t)(fake >> (56 - 8 * b));
            char needle[64];
            snprintf(needle, sizeof needle, "%zu bytes of extra data", extra);
            CHECK_ERR(open_and_read_all(big, m.len + extra, key, &err), err, TLO_ETRAILING, needle);
            free(big);
        }
        free(other.data);
        free(m.data);
        free(pt);
    }
}

static void test_swaps_and_foreign_chunks(const uint8_t *key)
{
    size_t len = 4 * C + 10;
    uint8_t *pt = random_bytes(len);
    tlo_vault_digests d;
    membuf a = seal(key, pt, len, 0, &d);
    membuf b = seal(key, pt, len, 0, &d); /* same plaintext, same case key */
    tlo_error err;
    uint8_t *tmp = malloc(C + T);

    CHECK(a.len == b.len && memcmp(a.data + H, b.data + H, C + T) != 0); /* fresh salt */
    /* Swap chunks 1 and 2. */
    size_t c1 = H + (C + T), c2 = H + 2 * (size_t)(C + T);
    memcpy(tmp, a.data + c1, C + T);
    memcpy(a.data + c1, a.data + c2, C + T);
    memcpy(a.data + c2, tmp, C + T);
    CHECK_ERR(open_and_read_all(a.data, a.len, key, &err), err, TLO_ECHUNK, "chunk 1");
    memcpy(a.data + c2, a.data + c1, C + T);
    memcpy(a.data + c1, tmp, C + T);
    CHECK(open_and_read_all(a.data, a.len, key, &err) == 0);
    /* Chunk 2 copied from another object of the same case. */
    memcpy(a.data + c2, b.data + c2, C + T);
    CHECK_ERR(open_and_read_all(a.data, a.len, key, &err), err, TLO_ECHUNK, "chunk 2");
    /* The final chunk and trailer taken from the other object. */
    membuf fresh = seal(key, pt, len, 0, &d);
    memcpy(fresh.data + H + 4 * (size_t)(C + T), b.data + H + 4 * (size_t)(C + T), 10 + T + 8);
    CHECK_ERR(open_and_read_all(fresh.data, fresh.len, key, &err), err, TLO_ECHUNK, "chunk 4");
    /* Another object's header on this object's chunks. */
    memcpy(fresh.data, b.data, H);
    memcpy(fresh.data + H + 4 * (size_t)(C + T), a.data + H + 4 * (size_t)(C + T), 10 + T + 8);
    CHECK(open_and_read_all(fresh.data, fresh.len, key, &err) == TLO_ECHUNK);
    free(fresh.data);
    free(tmp);
    free(a.data);
    free(b.data);
    free(pt);
}

static void test_wrong_key(const uint8_t *key)
{
    uint8_t *pt = random_bytes(1000);
    tlo_vault_digests d;
    membuf m = seal(key, pt, 1000, 0, &d);
    uint8_t *other = tlo_vault_key_generate();
    tlo_error err;
    CHECK_ERR(open_and_read_all(m.data, m.len, other, &err), err, TLO_EWRONGKEY, "key given");
    tlo_vault_key_free(other);
    free(m.data);
    free(pt);
}

/* An object key opens its object and no other of the same case. */
static void test_object_keys(const uint8_t *key)
{
    uint8_t *pt = random_bytes(3 * C + 5);
    tlo_vault_digests d;
    membuf a = seal(key, pt, 3 * C + 5, 0, &d), b = seal(key, pt, 3 * C + 5, 0, &d);
    uint8_t *ka = sodium_malloc(TLO_OBJECT_KEY_BYTES), *kb = sodium_malloc(TLO_OBJECT_KEY_BYTES);
    tlo_error err = {0};
    tlo_vault_mem sa = {a.data, a.len}, sb = {b.data, b.len};
    CHECK(tlo_vault_object_key(tlo_vault_mem_source, &sa, a.len, key, ka, "a", &err) == 0);
    CHECK(tlo_vault_object_key(tlo_vault_mem_source, &sb, b.len, key, kb, "b", &err) == 0);
    CHECK(sodium_memcmp(ka, kb, TLO_OBJECT_KEY_BYTES) != 0);
    tlo_vault_reader *r =
        tlo_vault_reader_open_object_key(tlo_vault_mem_source, &sa, a.len, ka, "a", &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        check_read(r, pt, 0, 3 * C + 5);
        tlo_vault_reader_free(r);
    }
    /* A's key on B, even with B's chunks otherwise intact. */
    r = tlo_vault_reader_open_object_key(tlo_vault_mem_source, &sb, b.len, ka, "b", &err);
    CHECK(r == NULL);
    CHECK_ERR(r ? 0 : err.code, err, TLO_EWRONGKEY, "not this object's");
    /* A's header with B's chunks: the header is A's, the chunks fail. */
    memcpy(b.data, a.data, 104);
    r = tlo_vault_reader_open_object_key(tlo_vault_mem_source, &sb, b.len, ka, "mixed", &err);
    CHECK(r == NULL && err.code == TLO_ECHUNK);
    tlo_vault_reader_free(r);
    /* Only the case key that sealed it derives an object key. */
    uint8_t *other = tlo_vault_key_generate();
    CHECK_ERR(tlo_vault_object_key(tlo_vault_mem_source, &sa, a.len, other, ka, "a", &err), err,
              TLO_EWRONGKEY, "key given");
    CHECK(sodium_is_zero(ka, TLO_OBJECT_KEY_BYTES));
    /* An altered header derives nothing. */
    a.data[40] ^= 1;
    CHECK_ERR(tlo_vault_object_key(tlo_vault_mem_source, &sa, a.len, key, ka, "a", &err), err,
              TLO_EHEADER, "altered");
    tlo_vault_key_free(other);
    sodium_free(ka);
    sodium_free(kb);
    free(a.data);
    free(b.data);
    free(pt);
}

static int failing_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    size_t *budget = ctx;
    (void)buf;
    if (len > *budget)
        return tlo_fail(err, TLO_EIO, "the disk is full");
    *budget -= len;
    return 0;
}

static void test_writer_failures(const uint8_t *key)
{
    tlo_vault_object_params p = {0};
    tlo_error err;
    size_t budget = H + 10;
    uint8_t *pt = random_bytes(3 * C);

    p.chunk_log2 = 9;
    CHECK(tlo_vault_writer_new(&p, key, mem_sink, NULL, &err) == NULL && err.code == TLO_EARG);
    p.chunk_log2 = 21;
    CHECK(tlo_vault_writer_new(&p, key, mem_sink, NULL, &err) == NULL && err.code == TLO_EARG);
    p.chunk_log2 = 0;
    tlo_vault_writer *w = tlo_vault_writer_new(&p, key, failing_sink, &budget, &err);
    CHECK(w != NULL);
    CHECK_ERR(tlo_vault_writer_write(w, pt, 3 * C, &err), err, TLO_EIO, "disk is full");
    CHECK(tlo_vault_writer_write(w, pt, 1, &err) == TLO_ESTATE);
    tlo_vault_digests d;
    CHECK(tlo_vault_writer_finish(w, &d, &err) == TLO_ESTATE);
    tlo_vault_writer_free(w);

    membuf m = {0};
    w = tlo_vault_writer_new(&p, key, mem_sink, &m, &err);
    CHECK(tlo_vault_writer_finish(w, &d, &err) == 0);
    CHECK(tlo_vault_writer_finish(w, &d, &err) == TLO_ESTATE);
    CHECK(tlo_vault_writer_write(w, pt, 1, &err) == TLO_ESTATE);
    tlo_vault_writer_free(w);
    tlo_vault_writer_free(NULL);
    tlo_vault_reader_free(NULL);
    free(m.data);
    free(pt);
}

static void test_small_chunks_and_inspect(const uint8_t *key)
{
    /* 1 KiB chunks exercise the same code with many chunks. */
    tlo_vault_object_params p = {.kind = TLO_KIND_ATTACHMENT, .chunk_log2 = 10};
    size_t len = 100 * 1024 + 1;
    uint8_t *pt = random_bytes(len);
    membuf m = {0};
    tlo_error err;
    tlo_vault_digests d;
    tlo_vault_writer *w = tlo_vault_writer_new(&p, key, mem_sink, &m, &err);
    for (size_t i = 0; i < len; i += 333)
        CHECK(tlo_vault_writer_write(w, pt + i, len - i < 333 ? len - i : 333, &err) == 0);
    CHECK(tlo_vault_writer_finish(w, &d, &err) == 0);
    tlo_vault_writer_free(w);
    CHECK(d.chunks == 101);

    tlo_vault_mem src = {m.data, m.len};
    tlo_vault_inspection ins;
    CHECK(tlo_vault_inspect(tlo_vault_mem_source, &src, m.len, "x", &ins, &err) == 0);
    CHECK(ins.chunks == 101 && ins.plaintext_bytes == len && ins.size_consistent);
    CHECK(ins.chunk_bytes == 1024 && ins.header.kind == TLO_KIND_ATTACHMENT);
    src.len = m.len - 3;
    CHECK(tlo_vault_inspect(tlo_vault_mem_source, &src, m.len - 3, "x", &ins, &err) == 0);
    CHECK(!ins.size_consistent);
    src.len = m.len;
    tlo_vault_reader *r = open_mem(&src, key, &err);
    CHECK(r != NULL);
    for (int i = 0; r && i < 300; i++) {
        uint64_t off = rnd() % len;
        check_read(r, pt, off, (size_t)(rnd() % (len - off + 1)) % 5000);
    }
    tlo_vault_reader_free(r);
    /* Inner chunk 57 of 101 altered: found by the read, named by index. */
    m.data[H + 57 * (1024 + T) + 3] ^= 1;
    CHECK_ERR(open_and_read_all(m.data, m.len, key, &err), err, TLO_ECHUNK, "chunk 57");
    free(m.data);
    free(pt);
}

/* After a crash: the writer never finished. The authenticated prefix can
 * still be read, and nothing past the first damaged chunk. */
static void test_prefix(const uint8_t *key)
{
    size_t len = 5 * C + C / 2;
    uint8_t *pt = random_bytes(len);
    tlo_vault_object_params p = {.kind = TLO_KIND_SEGMENT};
    membuf m = {0};
    tlo_error err;
    tlo_vault_writer *w = tlo_vault_writer_new(&p, key, mem_sink, &m, &err);
    CHECK(tlo_vault_writer_write(w, pt, len, &err) == 0);
    tlo_vault_writer_free(w); /* a crash: no finish */
    /* Sealed so far: the header and the 5 full chunks (the writer holds the
     * half chunk in memory). A torn write leaves part of a chunk too. */
    CHECK(m.len == H + 5 * (size_t)(C + T));
    uint8_t torn[100];
    memset(torn, 0x5a, sizeof torn);
    CHECK(mem_sink(&m, torn, sizeof torn, &err) == 0);
    tlo_vault_mem src = {m.data, m.len};
    CHECK_ERR(open_and_read_all(m.data, m.len, key, &err), err, TLO_ETRUNCATED, "truncated");
    tlo_vault_reader *r =
        tlo_vault_reader_open_prefix(tlo_vault_mem_source, &src, m.len, key, "partial", &err);
    CHECK_MSG(r != NULL, "%s", err.msg);
    if (r) {
        CHECK(tlo_vault_reader_size(r) == 5 * (uint64_t)C);
        check_read(r, pt, 0, 5 * (size_t)C);
        check_read(r, pt, 5 * C - 1, 1);
        tlo_vault_reader_free(r);
    }
    /* Chunk 2 damaged: the prefix is chunks 0 and 1. */
    m.data[H + 2 * (C + T) + 9] ^= 1;
    r = tlo_vault_reader_open_prefix(tlo_vault_mem_source, &src, m.len, key, "partial", &err);
    CHECK(r != NULL && tlo_vault_reader_size(r) == 2 * (uint64_t)C);
    if (r)
        check_read(r, pt, 0, 2 * (size_t)C);
    tlo_vault_reader_free(r);
    /* The header is checked as always. */
    uint8_t *other = tlo_vault_key_generate();
    CHECK(tlo_vault_reader_open_prefix(tlo_vault_mem_source, &src, m.len, other, "partial", &err) ==
              NULL &&
          err.code == TLO_EWRONGKEY);
    m.data[20] ^= 1;
    CHECK(tlo_vault_reader_open_prefix(tlo_vault_mem_source, &src, m.len, key, "partial", &err) ==
              NULL &&
          err.code == TLO_EHEADER);
    tlo_vault_key_free(other);
    free(m.data);
    free(pt);
}

int main(void)
{
    tlo_error err = {0};
    CHECK(tlo_vault_init(&err) == 0);
    uint8_t *key = tlo_vault_key_generate();
    test_round_trips(key);
    test_header_bytes(key);
    test_chunk_bytes(key);
    test_truncation(key);
    test_appended(key);
    test_swaps_and_foreign_chunks(key);
    test_wrong_key(key);
    test_object_keys(key);
    test_writer_failures(key);
    test_small_chunks_and_inspect(key);
    test_prefix(key);
    tlo_vault_key_free(key);
    return tu_finish("vault_object");
}
