/* The test vectors of docs/vault-layout.md, read from the document itself and
 * checked with tellonce's own code, so that the document and the code cannot
 * drift apart:
 *   custodian  tlo_vault_identity_load unlocks custodian_id with
 *              custodian_secret into the keys the vector names;
 *   wrap       tlo_vault_key_unwrap opens wrapped with box_sk into case_key,
 *              and its SHA-256 is wrapped_key_sha256;
 *   record     tlo_vault_writer_new_with_salt seals the plaintext into
 *              exactly sealed, whose SHA-256 is info_sha256, and the reader
 *              opens it again. */
#include "testutil.h"
#include "vault.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char name[40];
    char *text; /* hex digits (or decimal) as in the document */
} field;

typedef struct {
    field f[24];
    int n;
} block;

static char *read_doc(void)
{
    const char *root = getenv("TLO_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/vault-layout.md", root ? root : ".");
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s (set TLO_SOURCE_ROOT)\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *doc = malloc((size_t)n + 1);
    size_t got = fread(doc, 1, (size_t)n, f);
    doc[got] = '\0';
    fclose(f);
    return doc;
}

/* The ```vector NAME block: one field per line, continued on lines that
 * start with a space. 0, or -1 when there is no such block. */
static int parse_block(const char *doc, const char *name, block *b)
{
    char start[64];
    snprintf(start, sizeof start, "```vector %s\n", name);
    const char *p = strstr(doc, start);
    if (!p)
        return -1;
    p += strlen(start);
    const char *end = strstr(p, "```");
    if (!end)
        return -1;
    field *cur = NULL;
    memset(b, 0, sizeof *b);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *line = p, *value;
        p += len + 1;
        if (len == 0)
            continue;
        if (line[0] == ' ') {
            value = line;
        } else {
            if (b->n == 24)
                return -1;
            cur = &b->f[b->n++];
            size_t nlen = strcspn(line, " \n");
            snprintf(cur->name, sizeof cur->name, "%.*s", (int)nlen, line);
            cur->text = calloc(1, 1);
            value = line + nlen;
        }
        if (!cur)
            return -1;
        size_t old = strlen(cur->text), k = old;
        cur->text = realloc(cur->text, old + len + 1);
        for (const char *q = value; q < line + len; q++)
            if (*q != ' ')
                cur->text[k++] = *q;
        cur->text[k] = '\0';
    }
    return 0;
}

static void free_block(block *b)
{
    for (int i = 0; i < b->n; i++)
        free(b->f[i].text);
}

/* The field's bytes (malloc'd, *len set), or NULL if absent or not hex. */
static uint8_t *get(const block *b, const char *name, size_t *len)
{
    for (int i = 0; i < b->n; i++) {
        if (strcmp(b->f[i].name, name) != 0)
            continue;
        size_t n = strlen(b->f[i].text) / 2;
        uint8_t *out = malloc(n ? n : 1);
        if (out && tlo_unhex(out, n, b->f[i].text) == 0) {
            *len = n;
            return out;
        }
        free(out);
        return NULL;
    }
    return NULL;
}

static long get_dec(const block *b, const char *name)
{
    for (int i = 0; i < b->n; i++)
        if (!strcmp(b->f[i].name, name))
            return strtol(b->f[i].text, NULL, 10);
    return -1;
}

/* Checks that field `name` is exactly len bytes equal to p. */
static void expect(const block *b, const char *vec, const char *name, const uint8_t *p, size_t len)
{
    size_t n = 0;
    uint8_t *v = get(b, name, &n);
    CHECK_MSG(v && n == len && memcmp(v, p, len) == 0, "vector %s: %s differs from the document",
              vec, name);
    free(v);
}

typedef struct {
    uint8_t *data;
    size_t len, cap;
} membuf;

static int mem_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    membuf *m = ctx;
    (void)err;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->data = realloc(m->data, m->cap);
        if (!m->data)
            return TLO_ENOMEM;
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static void check_custodian(const block *b)
{
    size_t id_len = 0, secret_len = 0, seed_len = 0;
    uint8_t *file = get(b, "custodian_id", &id_len),
            *secret = get(b, "custodian_secret", &secret_len);
    uint8_t *seed = get(b, "sign_seed", &seed_len);
    CHECK_MSG(file && secret && seed && seed_len == 32, "vector custodian: fields missing");
    if (!file || !secret || !seed)
        goto out;
    char dir[] = "/tmp/tlo-layout-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/custodian.id", dir);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(file, 1, id_len, f) == id_len);
    if (f)
        fclose(f);
    tlo_error err = {0};
    tlo_vault_identity *id = tlo_vault_identity_load(path, (const char *)secret, secret_len, &err);
    CHECK_MSG(id != NULL, "custodian_id does not unlock with custodian_secret: %s", err.msg);
    if (id) {
        CHECK(!strcmp(id->name, "custodian"));
        expect(b, "custodian", "sign_pk", id->sign_pk, 32);
        expect(b, "custodian", "box_pk", id->box_pk, 32);
        expect(b, "custodian", "box_sk", id->box_sk, 32);
        CHECK(memcmp(id->sign_sk, seed, 32) == 0); /* libsodium's form: seed || pk */
        CHECK(memcmp(id->sign_sk + 32, id->sign_pk, 32) == 0);
    }
    tlo_vault_identity_free(id);
    /* The secret less its last character does not unlock it. */
    CHECK(tlo_vault_identity_load(path, (const char *)secret, secret_len - 1, &err) == NULL);
    unlink(path);
    rmdir(dir);
out:
    free(file);
    free(secret);
    free(seed);
}

static void check_wrap(const block *b)
{
    size_t wl = 0, pl = 0, sl = 0;
    uint8_t *wrapped = get(b, "wrapped", &wl), *pk = get(b, "box_pk", &pl),
            *sk = get(b, "box_sk", &sl);
    CHECK_MSG(wrapped && wl == TLO_WRAPPED_KEY_BYTES && pk && pl == 32 && sk && sl == 32,
              "vector wrap: fields missing or of the wrong size");
    if (wrapped && wl == TLO_WRAPPED_KEY_BYTES && pk && pl == 32 && sk && sl == 32) {
        uint8_t *key = tlo_vault_key_alloc(), digest[32];
        tlo_error err = {0};
        CHECK_MSG(tlo_vault_key_unwrap(key, wrapped, pk, sk, &err) == 0, "unwrap: %s", err.msg);
        expect(b, "wrap", "case_key", key, 32);
        crypto_hash_sha256(digest, wrapped, wl);
        expect(b, "wrap", "wrapped_key_sha256", digest, 32);
        tlo_vault_key_free(key);
    }
    free(wrapped);
    free(pk);
    free(sk);
}

static void check_record(const block *b)
{
    size_t kl = 0, cl = 0, ol = 0, sl = 0, pl = 0;
    uint8_t *key = get(b, "case_key", &kl), *case_id = get(b, "case_id", &cl);
    uint8_t *obj = get(b, "object_id", &ol), *salt = get(b, "salt", &sl);
    uint8_t *pt = get(b, "plaintext", &pl);
    long kind = get_dec(b, "kind"), chunk = get_dec(b, "chunk_size");
    CHECK_MSG(key && kl == 32 && case_id && cl == 16 && obj && ol == 16 && salt && sl == 16 && pt &&
                  kind == TLO_KIND_CASEINFO && chunk == 65536 &&
                  get_dec(b, "plaintext_len") == (long)pl,
              "vector record: fields missing or wrong");
    if (key && kl == 32 && case_id && cl == 16 && obj && ol == 16 && salt && sl == 16 && pt) {
        tlo_vault_object_params p = {.kind = (uint8_t)kind, .chunk_log2 = 16};
        memcpy(p.case_id, case_id, 16);
        memcpy(p.object_id, obj, 16);
        membuf m = {0};
        tlo_error err = {0};
        tlo_vault_digests d;
        tlo_vault_writer *w = tlo_vault_writer_new_with_salt(&p, key, salt, mem_sink, &m, &err);
        CHECK(w && tlo_vault_writer_write(w, pt, pl, &err) == 0 &&
              tlo_vault_writer_finish(w, &d, &err) == 0);
        tlo_vault_writer_free(w);
        expect(b, "record", "sealed", m.data, m.len);
        expect(b, "record", "info_sha256", d.ciphertext_sha256, 32);
        /* And the reader opens it again, as 'case show' does. */
        tlo_vault_mem src = {m.data, m.len};
        tlo_vault_reader *r =
            tlo_vault_reader_open(tlo_vault_mem_source, &src, m.len, key, "record", &err);
        CHECK(r && tlo_vault_reader_size(r) == pl);
        if (r) {
            uint8_t *back = malloc(pl);
            CHECK(tlo_vault_reader_read_at(r, 0, back, pl, &err) == 0 && !memcmp(back, pt, pl));
            free(back);
        }
        tlo_vault_reader_free(r);
        free(m.data);
    }
    free(key);
    free(case_id);
    free(obj);
    free(salt);
    free(pt);
}

int main(void)
{
    tlo_error err = {0};
    CHECK(tlo_vault_init(&err) == 0);
    char *doc = read_doc();
    CHECK(doc != NULL);
    static const char *names[] = {"custodian", "wrap", "record"};
    for (size_t i = 0; doc && i < 3; i++) {
        block b;
        int found = parse_block(doc, names[i], &b) == 0;
        CHECK_MSG(found, "docs/vault-layout.md has no ```vector %s block", names[i]);
        if (!found)
            continue;
        if (i == 0)
            check_custodian(&b);
        else if (i == 1)
            check_wrap(&b);
        else
            check_record(&b);
        free_block(&b);
    }
    free(doc);
    return tu_finish("vault_layout_vectors");
}
