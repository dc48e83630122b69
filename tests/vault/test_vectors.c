/* The test vectors of docs/format.md, read from the document itself so the
 * document and the code cannot drift apart.
 *
 *   test_vault_vectors            check every ```vector block of docs/format.md
 *   test_vault_vectors --print    print the blocks (to write the document)
 *
 * Each vector: fixed case key, ids, salt and plaintext (byte i = i mod 251)
 * sealed with tlo_vault_writer_new_with_salt; the intermediate keys are
 * derived here with the same HKDF the format specifies. */
#include "internal.h"
#include "testutil.h"
#include "vault.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *name;
    uint8_t kind, chunk_log2;
    size_t plaintext_len;
} vector_def;

static const vector_def vectors[] = {
    {"A", TLO_KIND_SEGMENT, 10, 2600},    /* three chunks of 1 KiB: 1024, 1024, 552 */
    {"B", TLO_KIND_BLOB, 16, 0},          /* empty plaintext: one empty final chunk */
    {"C", TLO_KIND_ATTACHMENT, 10, 2048}, /* plaintext a multiple of the chunk size */
};

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

/* One named value of a vector, as hex (or decimal for lengths). */
typedef struct {
    char name[32];
    char *hex;
} field;

typedef struct {
    field f[16];
    int n;
} computed;

static void add(computed *c, const char *name, const uint8_t *p, size_t len)
{
    field *f = &c->f[c->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->hex = malloc(2 * len + 1);
    tlo_hex(f->hex, p, len);
}

static void add_dec(computed *c, const char *name, size_t v)
{
    field *f = &c->f[c->n++];
    snprintf(f->name, sizeof f->name, "%s", name);
    f->hex = malloc(24);
    snprintf(f->hex, 24, "%zu", v);
}

static void compute(const vector_def *v, computed *c)
{
    uint8_t *key = tlo_vault_key_alloc();
    uint8_t salt[TLO_SALT_BYTES], kid[TLO_KEYID_BYTES], keys[64], info[18 + 72];
    tlo_vault_object_params p = {.kind = v->kind, .chunk_log2 = v->chunk_log2};
    uint8_t *pt = malloc(v->plaintext_len + 1);
    membuf m = {0};
    tlo_error err = {0};
    tlo_vault_digests d;

    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++) {
        p.case_id[i] = (uint8_t)(0x10 + i);
        p.object_id[i] = (uint8_t)(0x20 + i);
        salt[i] = (uint8_t)(0x30 + i);
    }
    for (size_t i = 0; i < v->plaintext_len; i++)
        pt[i] = (uint8_t)(i % 251);
    tlo_vault_writer *w = tlo_vault_writer_new_with_salt(&p, key, salt, mem_sink, &m, &err);
    CHECK(w != NULL);
    CHECK(tlo_vault_writer_write(w, pt, v->plaintext_len, &err) == 0);
    CHECK(tlo_vault_writer_finish(w, &d, &err) == 0);
    tlo_vault_writer_free(w);

    tlo_vault_key_id(kid, key);
    memcpy(info, "tellonce/v1 object", 18);
    memcpy(info + 18, m.data, 72);
    vault_hkdf_sha256(keys, 64, salt, sizeof salt, key, 32, info, sizeof info);

    add(c, "case_key", key, 32);
    add(c, "case_id", p.case_id, 16);
    add(c, "object_id", p.object_id, 16);
    add(c, "salt", salt, 16);
    add_dec(c, "kind", v->kind);
    add_dec(c, "chunk_size", (size_t)1 << v->chunk_log2);
    add_dec(c, "plaintext_len", v->plaintext_len);
    add(c, "key_id", kid, sizeof kid);
    add(c, "payload_key", keys, 32);
    add(c, "mac_key", keys + 32, 32);
    add(c, "header", m.data, TLO_OBJECT_HEADER_BYTES);
    add(c, "plaintext_sha256", d.plaintext_sha256, 32);
    add(c, "sealed_sha256", d.ciphertext_sha256, 32);
    add(c, "sealed", m.data, m.len);

    /* And the reader agrees. */
    tlo_vault_mem src = {m.data, m.len};
    tlo_vault_reader *r =
        tlo_vault_reader_open(tlo_vault_mem_source, &src, m.len, key, "vector", &err);
    CHECK(r != NULL && tlo_vault_reader_size(r) == v->plaintext_len);
    if (r && v->plaintext_len) {
        uint8_t *back = malloc(v->plaintext_len);
        CHECK(tlo_vault_reader_read_at(r, 0, back, v->plaintext_len, &err) == 0);
        CHECK(memcmp(back, pt, v->plaintext_len) == 0);
        free(back);
    }
    tlo_vault_reader_free(r);
    sodium_memzero(keys, sizeof keys);
    tlo_vault_key_free(key);
    free(pt);
    free(m.data);
}

static void free_computed(computed *c)
{
    for (int i = 0; i < c->n; i++)
        free(c->f[i].hex);
}

static void print_vector(const vector_def *v, const computed *c)
{
    printf("```vector %s\n", v->name);
    for (int i = 0; i < c->n; i++) {
        const char *h = c->f[i].hex;
        size_t len = strlen(h);
        printf("%-17s ", c->f[i].name);
        for (size_t off = 0; off < len; off += 64)
            printf("%s%.*s\n", off ? "                  " : "",
                   (int)(len - off < 64 ? len - off : 64), h + off);
    }
    printf("```\n\n");
}

/* Parses the ```vector NAME block of the document into a computed. */
static int parse_block(const char *doc, const char *name, computed *c)
{
    char start[32];
    snprintf(start, sizeof start, "```vector %s\n", name);
    const char *p = strstr(doc, start);
    if (!p)
        return -1;
    p += strlen(start);
    const char *end = strstr(p, "```");
    if (!end)
        return -1;
    field *cur = NULL;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            nl = end;
        char line[256];
        size_t ll = (size_t)(nl - p) < sizeof line - 1 ? (size_t)(nl - p) : sizeof line - 1;
        memcpy(line, p, ll);
        line[ll] = '\0';
        p = nl + 1;
        char *value;
        if (line[0] == ' ') {
            value = line + strspn(line, " ");
        } else {
            if (c->n == 16)
                return -1;
            cur = &c->f[c->n++];
            size_t nlen = strcspn(line, " ");
            snprintf(cur->name, sizeof cur->name, "%.*s", (int)nlen, line);
            cur->hex = calloc(1, 1);
            value = line + nlen + strspn(line + nlen, " ");
        }
        if (!cur)
            return -1;
        size_t old = strlen(cur->hex);
        cur->hex = realloc(cur->hex, old + strlen(value) + 1);
        strcpy(cur->hex + old, value);
    }
    return 0;
}

static char *read_doc(void)
{
    const char *root = getenv("TLO_SOURCE_ROOT");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/format.md", root ? root : ".");
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

int main(int argc, char **argv)
{
    tlo_error err = {0};
    int print = argc > 1 && !strcmp(argv[1], "--print");
    char *doc = print ? NULL : read_doc();

    CHECK(tlo_vault_init(&err) == 0);
    CHECK(print || doc != NULL);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        computed c = {0}, d = {0};
        compute(&vectors[i], &c);
        if (print) {
            print_vector(&vectors[i], &c);
        } else if (doc) {
            CHECK_MSG(parse_block(doc, vectors[i].name, &d) == 0,
                      "docs/format.md has no ```vector %s block", vectors[i].name);
            CHECK_MSG(c.n == d.n, "vector %s: %d fields computed, %d in the document",
                      vectors[i].name, c.n, d.n);
            for (int k = 0; k < c.n && k < d.n; k++)
                CHECK_MSG(!strcmp(c.f[k].name, d.f[k].name) && !strcmp(c.f[k].hex, d.f[k].hex),
                          "vector %s: %s differs from the document (%s)", vectors[i].name,
                          c.f[k].name, d.f[k].name);
        }
        free_computed(&c);
        free_computed(&d);
    }
    free(doc);
    return print ? 0 : tu_finish("vault_vectors");
}
