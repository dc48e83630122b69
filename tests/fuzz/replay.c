/* Runs a libFuzzer harness without libFuzzer, so the normal test suite (and
 * its sanitizer build) exercises it: each file named on the command line,
 * then a deterministic stream of mutations of a few valid sealed objects. */
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *data;
    size_t len;
} buf;

static int sink(void *ctx, const uint8_t *p, size_t len, tlo_error *err)
{
    buf *b = ctx;
    (void)err;
    uint8_t *n = realloc(b->data, b->len + len);
    if (!n)
        return TLO_ENOMEM;
    b->data = n;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

static uint64_t state = 88172645463325252u;
static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

/* A seed: mode byte 0 then an object sealed with the harness key. */
static buf make_seed(size_t plen, unsigned chunk_log2)
{
    tlo_vault_object_params p = {.chunk_log2 = (uint8_t)chunk_log2};
    uint8_t *key = tlo_vault_key_alloc();
    uint8_t *pt = malloc(plen + 1);
    buf b = {calloc(1, 1), 1};
    for (int i = 0; i < TLO_KEY_BYTES; i++)
        key[i] = (uint8_t)i;
    for (size_t i = 0; i < plen; i++)
        pt[i] = (uint8_t)rnd();
    tlo_vault_writer *w = tlo_vault_writer_new(&p, key, sink, &b, NULL);
    if (!w || tlo_vault_writer_write(w, pt, plen, NULL) || tlo_vault_writer_finish(w, NULL, NULL))
        abort();
    tlo_vault_writer_free(w);
    tlo_vault_key_free(key);
    free(pt);
    return b;
}

/* Writes the seeds (mode byte + valid object) into dir, for a libFuzzer run. */
static int write_seeds(const char *dir)
{
    size_t sizes[] = {0, 1, 1023, 1024, 1025, 3000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        char path[4096];
        buf seed = make_seed(sizes[s], 10);
        snprintf(path, sizeof path, "%s/seed-%zu", dir, sizes[s]);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(seed.data, 1, seed.len, f) != seed.len || fclose(f) != 0) {
            fprintf(stderr, "cannot write %s\n", path);
            return 1;
        }
        free(seed.data);
    }
    return 0;
}

int main(int argc, char **argv)
{
    long runs = 0;
    if (tlo_vault_init(NULL) != 0)
        return 1;
    if (argc == 3 && !strcmp(argv[1], "--write-seeds"))
        return write_seeds(argv[2]);
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f)
            continue;
        uint8_t data[1 << 16];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        LLVMFuzzerTestOneInput(data, n);
        runs++;
    }
    size_t sizes[] = {0, 1, 1023, 1024, 1025, 3000};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        buf seed = make_seed(sizes[s], 10);
        LLVMFuzzerTestOneInput(seed.data, seed.len);
        runs++;
        uint8_t *m = malloc(seed.len + 64);
        for (int k = 0; k < 3000; k++) {
            size_t len = seed.len;
            memcpy(m, seed.data, seed.len);
            switch (rnd() % 4) {
            case 0: /* flip a few bytes */
                for (int j = 0; j < 1 + (int)(rnd() % 3); j++)
                    m[1 + rnd() % (len - 1)] ^= (uint8_t)(1 + rnd() % 255);
                break;
            case 1:
                len = 1 + rnd() % len;
                break; /* truncate */
            case 2:    /* append */
                for (int j = 0; j < (int)(rnd() % 64); j++)
                    m[len++] = (uint8_t)rnd();
                break;
            case 3: /* a random header field value */
                m[1 + rnd() % 104 % (len - 1)] = (uint8_t)rnd();
                break;
            }
            LLVMFuzzerTestOneInput(m, len);
            runs++;
        }
        free(m);
        free(seed.data);
    }
    /* Mode 1: random read ranges over a valid object. */
    for (int k = 0; k < 2000; k++) {
        uint8_t d[1 + 4 * 16];
        d[0] = 1;
        for (size_t j = 1; j < sizeof d; j++)
            d[j] = (uint8_t)rnd();
        LLVMFuzzerTestOneInput(d, sizeof d);
        runs++;
    }
    printf("fuzz replay: %ld passed, 0 failed\n", runs);
    return 0;
}
