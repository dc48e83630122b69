#include "tlo_common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void tlo_hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int tlo_unhex(uint8_t *out, size_t len, const char *hex)
{
    if (!hex || strlen(hex) != 2 * len)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            goto bad;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
bad:
    memset(out, 0, len);
    return TLO_EARG;
}

void tlo_store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void tlo_store_be64(uint8_t *p, uint64_t v)
{
    tlo_store_be32(p, (uint32_t)(v >> 32));
    tlo_store_be32(p + 4, (uint32_t)v);
}

uint32_t tlo_load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t tlo_load_be64(const uint8_t *p)
{
    return (uint64_t)tlo_load_be32(p) << 32 | tlo_load_be32(p + 4);
}

int tlo_write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

long long tlo_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, p + got, len - got, (off_t)(off + got));
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (long long)got;
}

size_t tlo_utf8_text_char(const uint8_t *p, size_t n, uint32_t *cp_out)
{
    uint8_t c = p[0];
    uint32_t cp;
    size_t more;
    *cp_out = 0;
    if (c < 0x80) {
        if (c < 0x20 || c == 0x7f)
            return 0;
        *cp_out = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        cp = c & 0x1f;
        more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        cp = c & 0x0f;
        more = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
        cp = c & 0x07;
        more = 3;
    } else {
        return 0;
    }
    if (n - 1 < more)
        return 0;
    for (size_t k = 1; k <= more; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
        return 0;
    *cp_out = cp;
    return more + 1;
}

int tlo_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    /* Digits only: strtoull alone would skip white space and take a sign. */
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static bool hidden(uint32_t cp)
{
    return (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           (cp >= 0x200B && cp <= 0x200F);
}

bool tlo_text_ok(const char *s, size_t max)
{
    size_t len = strlen(s);
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char((const uint8_t *)s + i, len - i, &cp);
        if (!n || hidden(cp))
            return false;
        i += n;
    }
    return true;
}

uint32_t tlo_text_hidden_char(const char *s)
{
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char((const uint8_t *)s + i, len - i, &cp);
        if (!n)
            return 0;
        if (hidden(cp))
            return cp;
        i += n;
    }
    return 0;
}

void tlo_clean_text(char *out, size_t cap, const char *in)
{
    size_t k = 0, len = strlen(in);
    for (size_t i = 0; i < len && k + 5 < cap;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char((const uint8_t *)in + i, len - i, &cp);
        if (!n) {
            out[k++] = '?';
            i++;
            continue;
        }
        memcpy(out + k, in + i, n);
        k += n;
        i += n;
    }
    if (cap)
        out[k < cap ? k : cap - 1] = '\0';
}

char *tlo_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int tlo_read_file(const char *path, size_t max, char **out, size_t *len, tlo_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tlo_fail(err, errno == ENOENT ? TLO_ENOTFOUND : TLO_EIO, "cannot open %s: %s", path,
                        strerror(errno));
    char *buf = malloc(max + 1);
    long long n = buf ? tlo_pread_full(fd, buf, max + 1, 0) : -ENOMEM;
    close(fd);
    if (n < 0) {
        free(buf);
        return tlo_fail(err, n == -ENOMEM ? TLO_ENOMEM : TLO_EIO, "cannot read %s: %s", path,
                        strerror((int)-n));
    }
    if ((size_t)n > max) {
        free(buf);
        return tlo_fail(err, TLO_EFORMAT,
                        "%s is larger than any file tellonce reads here (%zu bytes)", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

int tlo_write_new_file(const char *path, const void *data, size_t len, int mode, tlo_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return tlo_fail(err, errno == EEXIST ? TLO_EEXIST : TLO_EIO, "cannot create %s: %s%s", path,
                        strerror(errno),
                        errno == EEXIST ? " (tellonce never overwrites a file)" : "");
    int rc = tlo_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc != 0) {
        unlink(path);
        return tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(-rc));
    }
    return 0;
}
