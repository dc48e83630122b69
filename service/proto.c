/* The custodian service's frames and requests (proto.h). */
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int tlo_svc_send(int sock, char type, const void *data, size_t len, const int *fds, size_t nfds)
{
    uint8_t head[5] = {(uint8_t)type, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 8), (uint8_t)len};
    if (len > TLO_SVC_FRAME_MAX || nfds > TLO_SVC_FDS_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    union {
        char buf[CMSG_SPACE(sizeof(int) * TLO_SVC_FDS_MAX)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov[2] = {{.iov_base = head, .iov_len = sizeof head},
                           {.iov_base = (void *)(uintptr_t)data, .iov_len = len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    if (nfds) {
        memset(&ctl, 0, sizeof ctl);
        msg.msg_control = ctl.buf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    size_t total = sizeof head + len, sent = 0;
    while (sent < total) {
        ssize_t w = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                /* a non-blocking socket whose peer is slow: wait a while */
                struct pollfd p = {.fd = sock, .events = POLLOUT};
                int pr = poll(&p, 1, 10000);
                if (pr > 0 || (pr < 0 && errno == EINTR))
                    continue;
                errno = ETIMEDOUT;
            }
            return -1;
        }
        sent += (size_t)w;
        msg.msg_control = NULL; /* the fds went with the first byte */
        msg.msg_controllen = 0;
        /* advance the iovecs past what went */
        size_t skip = (size_t)w;
        while (msg.msg_iovlen && skip >= msg.msg_iov[0].iov_len) {
            skip -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen) {
            msg.msg_iov[0].iov_base = (uint8_t *)msg.msg_iov[0].iov_base + skip;
            msg.msg_iov[0].iov_len -= skip;
        }
    }
    return 0;
}

int tlo_svc_send_nowait(int sock, char type, const void *data, size_t len)
{
    uint8_t head[5] = {(uint8_t)type, (uint8_t)(len >> 24), (uint8_t)(len >> 16),
                       (uint8_t)(len >> 8), (uint8_t)len};
    if (len > TLO_SVC_FRAME_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    struct iovec iov[2] = {{.iov_base = head, .iov_len = sizeof head},
                           {.iov_base = (void *)(uintptr_t)data, .iov_len = len}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
    ssize_t w;
    do
        w = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)(sizeof head + len))
        return 0;
    if (w >= 0)
        errno = EAGAIN; /* part of the frame went: the stream is cut */
    return -1;
}

bool tlo_svc_has_room(int sock, size_t len, size_t reserve)
{
    int queued = 0, cap = 0;
    socklen_t cl = sizeof cap;
    if (ioctl(sock, SIOCOUTQ, &queued) != 0 ||
        getsockopt(sock, SOL_SOCKET, SO_SNDBUF, &cap, &cl) != 0 || queued < 0 || cap <= 0)
        return false;
    /* what the kernel charges for a frame is more than its bytes (buffer
     * overhead): count it twice */
    size_t need = 2 * (len + 5) + reserve;
    return (size_t)queued < (size_t)cap && need <= (size_t)cap - (size_t)queued;
}

static int read_full(int sock, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(sock, p + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EPROTO; /* closed inside a frame */
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

void tlo_svc_frame_free(tlo_svc_frame *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nfds; i++)
        if (f->fds[i] >= 0)
            close(f->fds[i]);
    if (f->data) {
        if (f->type == TLO_SVC_SECRET) {
            sodium_free(f->data);
        } else {
            if (f->type == TLO_SVC_STDIN)
                sodium_memzero(f->data, f->len); /* typed input: maybe a passphrase */
            free(f->data);
        }
    }
    memset(f, 0, sizeof *f);
}

int tlo_svc_recv(int sock, tlo_svc_frame *f)
{
    uint8_t head[5];
    union {
        char buf[CMSG_SPACE(sizeof(int) * (TLO_SVC_FDS_MAX + 1))];
        struct cmsghdr align;
    } ctl;
    struct iovec iov = {.iov_base = head, .iov_len = sizeof head};
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf};
    ssize_t r;
    bool too_many = false;
    memset(f, 0, sizeof *f);
    do
        r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return -1;
    if (r == 0)
        return 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int tmp[TLO_SVC_FDS_MAX + 1];
        if (n > TLO_SVC_FDS_MAX + 1)
            n = TLO_SVC_FDS_MAX + 1;
        memcpy(tmp, CMSG_DATA(c), n * sizeof(int));
        for (size_t i = 0; i < n; i++) {
            if (f->nfds < TLO_SVC_FDS_MAX)
                f->fds[f->nfds++] = tmp[i];
            else {
                close(tmp[i]);
                too_many = true;
            }
        }
    }
    if (msg.msg_flags & MSG_CTRUNC)
        too_many = true;
    if ((size_t)r < sizeof head && read_full(sock, head + r, sizeof head - (size_t)r) != 0)
        goto bad;
    f->type = (char)head[0];
    f->len = (uint32_t)head[1] << 24 | (uint32_t)head[2] << 16 | (uint32_t)head[3] << 8 | head[4];
    if (too_many) {
        errno = EBADMSG;
        goto bad;
    }
    if (f->len > TLO_SVC_FRAME_MAX) {
        errno = EMSGSIZE;
        goto bad;
    }
    f->data = f->type == TLO_SVC_SECRET ? sodium_malloc(f->len + 1) : malloc(f->len + 1);
    if (!f->data) {
        errno = ENOMEM;
        goto bad;
    }
    if (read_full(sock, f->data, f->len) != 0)
        goto bad;
    f->data[f->len] = 0;
    return 1;
bad : {
    int e = errno;
    tlo_svc_frame_free(f);
    errno = e;
    return -1;
}
}

/* ---- requests ---------------------------------------------------------- */

void tlo_svc_request_free(tlo_svc_request *r)
{
    if (!r)
        return;
    for (int i = 0; r->argv && i < r->argc; i++)
        free(r->argv[i]);
    free(r->argv);
    memset(r, 0, sizeof *r);
}

static bool printable(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
            return false;
    return true;
}

const char *const tlo_svc_locale_env[TLO_SVC_LOCALE_VARS] = {"LANG", "LC_ALL", "LC_MESSAGES",
                                                             "LANGUAGE"};
const char *const tlo_svc_locale_key[TLO_SVC_LOCALE_VARS] = {"lang", "lc_all", "lc_messages",
                                                             "language"};

bool tlo_svc_locale_ok(int i, const char *v, size_t n)
{
    if (i < 0 || i >= TLO_SVC_LOCALE_VARS || n < 1 || n > TLO_SVC_LOCALE_MAX)
        return false;
    for (size_t k = 0; k < n; k++) {
        char c = v[k];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '@' || c == '-' || (c == ':' && i == 3);
        if (!ok)
            return false;
    }
    return true;
}

static int small_number(const char *v, size_t n, unsigned max, unsigned *out)
{
    unsigned x = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (unsigned)(v[i] - '0');
    }
    if (x > max)
        return -1;
    *out = x;
    return 0;
}

static int locale_key(const char *k, size_t n)
{
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++)
        if (strlen(tlo_svc_locale_key[i]) == n && !memcmp(k, tlo_svc_locale_key[i], n))
            return i;
    return -1;
}

int tlo_svc_request_parse(const uint8_t *p, size_t n, tlo_svc_request *out, tlo_error *err)
{
    const char *s = (const char *)p, *end = s + n;
    unsigned seen = 0, u = 0;
    memset(out, 0, sizeof *out);
    if (n > TLO_SVC_FRAME_MAX)
        return tlo_fail(err, TLO_EFORMAT, "the request is longer than %u bytes", TLO_SVC_FRAME_MAX);
    if (!(out->argv = calloc(TLO_SVC_ARGS_MAX + 1, sizeof *out->argv)))
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading a request");
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eq = nl ? memchr(s, '=', (size_t)(nl - s)) : NULL;
        if (!nl || !eq) {
            tlo_svc_request_free(out);
            return tlo_fail(err, TLO_EFORMAT, "the request has a line that is not key=value");
        }
        size_t klen = (size_t)(eq - s), vlen = (size_t)(nl - eq - 1);
        const char *v = eq + 1;
        int bad = 0;
#define KEY(k) (klen == sizeof k - 1 && !memcmp(s, k, klen))
        if (!printable(v, vlen))
            bad = 1;
        else if (KEY("arg")) {
            if (out->argc >= TLO_SVC_ARGS_MAX || vlen > TLO_SVC_ARG_MAX ||
                !(out->argv[out->argc] = strndup(v, vlen)))
                bad = 1;
            else
                out->argc++;
        } else if (out->argc > 0) {
            bad = 1; /* the arguments come last */
        } else if (KEY("nonce") && !(seen & 1)) {
            seen |= 1;
            bad = vlen != TLO_SVC_NONCE_HEX;
            for (size_t i = 0; !bad && i < vlen; i++)
                bad = !((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f'));
            if (!bad)
                memcpy(out->nonce, v, vlen);
        } else if (KEY("tty") && !(seen & 2)) {
            seen |= 2;
            bad = small_number(v, vlen, 1, &u) != 0;
            out->tty = u == 1;
        } else if (KEY("rows") && !(seen & 4)) {
            seen |= 4;
            bad = small_number(v, vlen, 10000, &out->rows) != 0;
        } else if (KEY("cols") && !(seen & 8)) {
            seen |= 8;
            bad = small_number(v, vlen, 10000, &out->cols) != 0;
        } else if (KEY("term") && !(seen & 16)) {
            seen |= 16;
            bad = vlen >= sizeof out->term;
            if (!bad)
                memcpy(out->term, v, vlen);
        } else if (locale_key(s, klen) >= 0) {
            int i = locale_key(s, klen);
            bad = (seen & (128u << i)) || !tlo_svc_locale_ok(i, v, vlen);
            seen |= 128u << i;
            if (!bad)
                memcpy(out->locale[i], v, vlen);
        } else if (KEY("files") && !(seen & 32)) {
            seen |= 32;
            bad = small_number(v, vlen, TLO_SVC_FDS_MAX, &out->files) != 0;
        } else if (KEY("secret") && !(seen & 64)) {
            seen |= 64;
            bad = small_number(v, vlen, 1, &u) != 0;
            out->secret = u == 1;
        } else {
            bad = 1;
        }
#undef KEY
        if (bad) {
            tlo_svc_request_free(out);
            return tlo_fail(err, TLO_EFORMAT, "the request's line %.*s is not allowed there",
                            (int)(klen < 32 ? klen : 32), s);
        }
        s = nl + 1;
    }
    if (!(seen & 1) || out->argc == 0) {
        tlo_svc_request_free(out);
        return tlo_fail(err, TLO_EFORMAT, "the request has no %s",
                        !(seen & 1) ? "nonce" : "command");
    }
    return 0;
}

char *tlo_svc_request_format(const tlo_svc_request *r, size_t *len, tlo_error *err)
{
    size_t cap = 512;
    for (int i = 0; i < r->argc; i++) {
        size_t a = strlen(r->argv[i]);
        if (a > TLO_SVC_ARG_MAX || !printable(r->argv[i], a)) {
            tlo_fail(err, TLO_EARG,
                     "argument %d (%.40s) is too long or holds a control character (a newline, "
                     "a tab); the service takes neither",
                     i, r->argv[i]);
            return NULL;
        }
        cap += a + 5;
    }
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++) {
        if (r->locale[i][0] && !tlo_svc_locale_ok(i, r->locale[i], strlen(r->locale[i]))) {
            tlo_fail(err, TLO_EARG,
                     "the locale %s=%.64s is not a locale name the service takes (letters, "
                     "digits, _ . @ -)",
                     tlo_svc_locale_env[i], r->locale[i]);
            return NULL;
        }
        cap += strlen(tlo_svc_locale_key[i]) + strlen(r->locale[i]) + 2;
    }
    if (r->argc < 1 || r->argc > TLO_SVC_ARGS_MAX || cap > TLO_SVC_FRAME_MAX ||
        !printable(r->term, strlen(r->term))) {
        tlo_fail(err, TLO_EARG, "the command line is too long for the service");
        return NULL;
    }
    char *out = malloc(cap);
    if (!out) {
        tlo_fail(err, TLO_ENOMEM, "out of memory");
        return NULL;
    }
    size_t n = (size_t)snprintf(
        out, cap, "nonce=%s\ntty=%d\nrows=%u\ncols=%u\nterm=%s\nfiles=%u\nsecret=%d\n", r->nonce,
        r->tty ? 1 : 0, r->rows, r->cols, r->term, r->files, r->secret ? 1 : 0);
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++)
        if (r->locale[i][0])
            n += (size_t)snprintf(out + n, cap - n, "%s=%s\n", tlo_svc_locale_key[i], r->locale[i]);
    for (int i = 0; i < r->argc; i++)
        n += (size_t)snprintf(out + n, cap - n, "arg=%s\n", r->argv[i]);
    *len = n;
    return out;
}
