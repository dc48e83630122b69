#include "cli.h"
#include "service.h"
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

/* The character at p (n >= 1 bytes left) as shown: its length in *len, and
 * its code point, or -1 for a control character (C0, DEL, C1), or -2 for a
 * byte that starts no well-formed UTF-8 character (*len is 1 then). */
static long text_char(const unsigned char *p, size_t n, size_t *len)
{
    uint32_t cp;
    if ((*len = tlo_utf8_text_char(p, n, &cp)) != 0)
        return (long)cp;
    *len = 1;
    if (p[0] < 0x80)
        return -1;
    if (p[0] == 0xc2 && n >= 2 && p[1] >= 0x80 && p[1] <= 0x9f) { /* C1, well formed */
        *len = 2;
        return -1;
    }
    return -2;
}

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

void cli_json_bytes(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    fputc('"', f);
    for (size_t i = 0, len; i < n; i += len) {
        long cp = text_char(p + i, n - i, &len);
        if (cp == -2)
            fputs(replacement, f);
        else if (cp == -1)
            fprintf(f, "\\u%04x", len == 2 ? p[i + 1] : p[i]);
        else if (cp == '"' || cp == '\\')
            fprintf(f, "\\%c", (int)cp);
        else
            fwrite(p + i, 1, len, f);
    }
    fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
    cli_json_bytes(f, s, strlen(s));
}

void cli_clean_text(char *out, size_t cap, const char *in)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = strlen(in), used = 0;
    if (!cap)
        return;
    for (size_t i = 0, len; i < n; i += len) {
        long cp = text_char(p + i, n - i, &len);
        const char *put = cp == -2 ? replacement : cp == -1 ? "?" : (const char *)p + i;
        size_t k = cp == -2 ? 3 : cp == -1 ? 1 : len;
        if (used + k >= cap)
            break; /* cut between characters, never inside one */
        memcpy(out + used, put, k);
        used += k;
    }
    out[used] = '\0';
}

bool cli_in_service(void)
{
    return tlo_service_in_child();
}
