/* Runs a libFuzzer harness without libFuzzer, so the normal test suite (and
 * its sanitizer build) exercises it:
 *
 *   replay [--mutations N] [FILE...]   each FILE (a directory: each file in
 *                                      it, as tests/fuzz/corpus/NAME), then
 *                                      every seed of the harness and N
 *                                      deterministic mutations of each
 *                                      (flips, cuts, appends)
 *   replay --write-seeds DIR           the harness's seeds, for a corpus
 *
 * A harness provides LLVMFuzzerTestOneInput and fuzz_seeds. */
#include "vault.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static uint64_t state = 88172645463325252u;
static uint64_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

typedef struct {
    const char *dir;
    int n;
} seed_writer;

static int write_seed(void *ctx, const uint8_t *seed, size_t len)
{
    seed_writer *w = ctx;
    char path[4096];
    snprintf(path, sizeof path, "%s/seed-%d", w->dir, w->n++);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(seed, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        return 1;
    }
    return 0;
}

typedef struct {
    long mutations, runs;
} replayer;

static int replay_seed(void *ctx, const uint8_t *seed, size_t len)
{
    replayer *r = ctx;
    uint8_t *m = malloc(len + 64);
    if (!m)
        return 1;
    LLVMFuzzerTestOneInput(seed, len);
    r->runs++;
    for (long k = 0; k < r->mutations && len > 1; k++) {
        size_t n = len;
        memcpy(m, seed, len);
        switch (rnd() % 4) {
        case 0: /* flip a few bytes */
            for (int j = 0; j < 1 + (int)(rnd() % 3); j++)
                m[1 + rnd() % (n - 1)] ^= (uint8_t)(1 + rnd() % 255);
            break;
        case 1: /* cut */
            n = 1 + rnd() % n;
            break;
        case 2: /* append */
            for (int j = 0; j < (int)(rnd() % 64); j++)
                m[n++] = (uint8_t)rnd();
            break;
        case 3: /* any value in a header-sized prefix */
            m[1 + rnd() % (n - 1 < 128 ? n - 1 : 128)] = (uint8_t)rnd();
            break;
        }
        LLVMFuzzerTestOneInput(m, n);
        r->runs++;
    }
    free(m);
    return 0;
}

/* Runs the input in one file, or in each file of a directory (not its
 * subdirectories, nor names starting with '.'). Returns 0, or 1 if one
 * cannot be read. */
static int replay_path(const char *path, long *runs)
{
    static uint8_t data[1 << 20];
    DIR *d = opendir(path);
    if (d) {
        int rc = 0;
        struct dirent *e;
        char sub[4096];
        while (rc == 0 && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            DIR *inner = opendir(sub);
            if (inner) {
                closedir(inner);
                continue;
            }
            rc = replay_path(sub, runs);
        }
        closedir(d);
        return rc;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    LLVMFuzzerTestOneInput(data, n);
    (*runs)++;
    return 0;
}

int main(int argc, char **argv)
{
    replayer r = {.mutations = 1000};
    int i = 1;

    if (tlo_vault_init(NULL) != 0)
        return 1;
    if (argc == 3 && !strcmp(argv[1], "--write-seeds")) {
        seed_writer w = {argv[2], 0};
        return fuzz_seeds(write_seed, &w);
    }
    if (argc > 2 && !strcmp(argv[1], "--mutations")) {
        r.mutations = atol(argv[2]);
        i = 3;
    }
    for (; i < argc; i++)
        if (replay_path(argv[i], &r.runs) != 0)
            return 1;
    if (fuzz_seeds(replay_seed, &r) != 0)
        return 1;
    printf("fuzz replay: %ld passed, 0 failed\n", r.runs);
    return 0;
}
