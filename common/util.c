#include "tlo_common.h"

#include <errno.h>
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
