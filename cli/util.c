#include "cli.h"
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint8_t *cli_read_key_file(const char *path, tlo_error *err)
{
    /* Room for 64 hex digits and a newline, plus one byte to notice more. */
    enum { CAP = 2 * TLO_KEY_BYTES + 2 };
    char *raw = sodium_malloc(CAP);
    uint8_t *key = tlo_vault_key_alloc();
    size_t got = 0;
    int fd = -1;

    if (!raw || !key) {
        tlo_fail(err, TLO_ENOMEM, "out of secure memory for a key");
        goto fail;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tlo_fail(err, TLO_EIO, "cannot open key file %s: %s", path, strerror(errno));
        goto fail;
    }
    while (got < CAP) {
        ssize_t n = read(fd, raw + got, CAP - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tlo_fail(err, TLO_EIO, "cannot read key file %s: %s", path, strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    if (got == TLO_KEY_BYTES) {
        memcpy(key, raw, TLO_KEY_BYTES);
    } else if (got == 2 * TLO_KEY_BYTES ||
               (got == 2 * TLO_KEY_BYTES + 1 && raw[2 * TLO_KEY_BYTES] == '\n')) {
        raw[2 * TLO_KEY_BYTES] = '\0';
        if (tlo_unhex(key, TLO_KEY_BYTES, raw) != 0) {
            tlo_fail(err, TLO_EARG, "key file %s: 64 characters, but not all hex digits", path);
            goto fail;
        }
    } else {
        tlo_fail(err, TLO_EARG,
                 "key file %s must hold 32 raw bytes or 64 hex characters (it holds %s%zu bytes)",
                 path, got == CAP ? "at least " : "", got);
        goto fail;
    }
    close(fd);
    sodium_free(raw);
    return key;
fail:
    if (fd >= 0)
        close(fd);
    sodium_free(raw);
    tlo_vault_key_free(key);
    return NULL;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

bool cli_in_service(void)
{
    return false; /* replaced when the service lands */
}
