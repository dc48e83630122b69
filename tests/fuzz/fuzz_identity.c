/* Fuzz harness: an identity file (docs/identity-format.md) is hostile input.
 *
 * The input is written to a memfd and loaded through /proc/self/fd, both
 * without a passphrase (load_public) and with one. To keep each run fast,
 * inputs whose Argon2id limits (bytes 9..16) ask for more than 2 passes or
 * 16 MiB only go through load_public: the bounds on those limits are tested
 * by tests/vault/test_identity.c. */
#include "vault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static const char passphrase[] = "correct horse";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char path[64];
    tlo_error err;

    if (!init) {
        if (tlo_vault_init(NULL) != 0)
            abort();
        init = 1;
    }
    int fd = memfd_create("fuzz-identity", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    tlo_vault_identity_free(tlo_vault_identity_load_public(path, &err));
    int cheap = size >= 17 && tlo_load_be32(data + 9) <= 2 && tlo_load_be32(data + 13) <= 16384;
    if (cheap) {
        tlo_vault_identity *id =
            tlo_vault_identity_load(path, passphrase, sizeof passphrase - 1, &err);
        if (id && (!id->sign_sk || !id->box_sk))
            abort(); /* a loaded identity always has its secret keys */
        tlo_vault_identity_free(id);
    }
    close(fd);
    return 0;
}

/* One seed: a real identity file with its Argon2id limits lowered to 1 pass
 * and 8 MiB (so its tag no longer verifies, but every parsing step runs). */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    char dir[] = "/tmp/tlo-fuzz-id.XXXXXX", path[64];
    uint8_t buf[1024];
    int rc = 1;

    if (tlo_vault_init(NULL) != 0 || !mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/id", dir);
    tlo_vault_identity *id = tlo_vault_identity_generate("Fuzz 测试", NULL);
    if (id && tlo_vault_identity_save(id, path, passphrase, sizeof passphrase - 1,
                                      TLO_KDF_INTERACTIVE, NULL) == 0) {
        FILE *f = fopen(path, "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        if (n > 17) {
            tlo_store_be32(buf + 9, 1);
            tlo_store_be32(buf + 13, 8192);
            rc = emit(ctx, buf, n);
        }
    }
    tlo_vault_identity_free(id);
    unlink(path);
    rmdir(dir);
    return rc;
}
