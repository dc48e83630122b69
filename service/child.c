/* A child of the custodian service: one client's connection, from the hello
 * to the exit code (service.h). Its main thread runs the command; a relay
 * thread moves bytes between the command's terminal (a pty, or pipes) and
 * every client attached to it. */
#include "internal.h"

#include "custody.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <stdarg.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 8
#define MAX_FILES TLO_SVC_FDS_MAX
/* the longest frame a client sends while its command runs (typed input,
 * a window size): more and it is dropped */
#define CLIENT_FRAME_MAX 65536
/* What a monitor frame leaves free in a client's send buffer for the
 * output that must reach it (status lines, messages, the end). */
#define PREVIEW_RESERVE (256u << 10)

static struct {
    bool in_child;
    const svc_child_args *a;
    char *secret; /* sodium_malloc'd */
    size_t secret_len;
    pthread_mutex_t req_lock;
    /* the relay */
    pthread_t relay;
    bool relay_running;
    pthread_mutex_t out_lock; /* writes to clients; the clients array */
    pthread_cond_t synced;
    unsigned sync_asked, sync_done;
    int clients[MAX_CLIENTS];
    size_t nclients;
    /* what each client sent that is not a whole frame yet (the relay never
     * waits for the rest: a client sending slowly stalls nothing) */
    uint8_t inbuf[MAX_CLIENTS][CLIENT_FRAME_MAX + 5];
    size_t inlen[MAX_CLIENTS];
    bool tty;
    int out_r, err_r, in_w, master;
    int wake[2];
    bool registered, handed_over;
    int files[MAX_FILES];
    size_t nfiles;
    FILE *log; /* the service's own stderr (the journal), not the client's */
    struct {
        char name[32];
        int fd;
    } named[MAX_FILES];
    size_t nnamed;
} g = {.req_lock = PTHREAD_MUTEX_INITIALIZER,
       .out_lock = PTHREAD_MUTEX_INITIALIZER,
       .synced = PTHREAD_COND_INITIALIZER,
       .out_r = -1,
       .err_r = -1,
       .in_w = -1,
       .master = -1,
       .wake = {-1, -1}};

static const tlo_vault_identity *svc_custodian;

void tlo_service_set_custodian(const tlo_vault_identity *cust)
{
    svc_custodian = cust;
}

bool tlo_service_in_child(void)
{
    return g.in_child;
}

const tlo_service_peer *tlo_service_client(void)
{
    return g.in_child ? &g.a->peer : NULL;
}

const char *tlo_service_vault(void)
{
    return g.in_child ? g.a->cfg->vault : NULL;
}

char *tlo_service_take_secret(size_t *len)
{
    *len = 0;
    if (!g.secret)
        return NULL;
    char *copy = sodium_malloc(g.secret_len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, g.secret, g.secret_len + 1);
    *len = g.secret_len;
    sodium_free(g.secret); /* taken: no copy stays */
    g.secret = NULL;
    return copy;
}

int tlo_service_file_fd(const char *path)
{
    int n;
    char tail;
    if (!g.in_child || sscanf(path, "/dev/fd/%d%c", &n, &tail) != 1)
        return -1;
    for (size_t i = 0; i < g.nfiles; i++)
        if (g.files[i] == n)
            return n;
    return -1;
}

int tlo_service_named_fd(const char *name)
{
    for (size_t i = 0; g.in_child && i < g.nnamed; i++)
        if (!strcmp(g.named[i].name, name))
            return g.named[i].fd;
    return -1;
}

/* ---- to the clients ---------------------------------------------------- */

#define mono_ms svc_mono_ms

/* Under out_lock. */
static void drop_client(size_t i)
{
    close(g.clients[i]);
    size_t last = --g.nclients;
    if (i != last) {
        g.clients[i] = g.clients[last];
        memcpy(g.inbuf[i], g.inbuf[last], g.inlen[last]);
        g.inlen[i] = g.inlen[last];
    }
    sodium_memzero(g.inbuf[last], sizeof g.inbuf[last]);
    g.inlen[last] = 0;
}

/* Under out_lock: fd becomes a client the relay reads without ever waiting. */
static bool add_client(int fd)
{
    if (g.nclients >= MAX_CLIENTS)
        return false;
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    g.inlen[g.nclients] = 0;
    g.clients[g.nclients++] = fd;
    return true;
}

/* To every client. A live recording never waits: a client whose buffer is
 * full is dropped (it may attach again). Anything else waits for a slow
 * client (10 s at most each time), so no output is lost. Under out_lock. */
static void broadcast(char type, const void *p, size_t n)
{
    for (size_t i = 0; i < g.nclients;) {
        int rc = g.registered ? tlo_svc_send_nowait(g.clients[i], type, p, n)
                              : tlo_svc_send(g.clients[i], type, p, n, NULL, 0);
        if (rc != 0)
            drop_client(i);
        else
            i++;
    }
}

static void client_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void say(int conn, char type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(int conn, char type, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0)
        tlo_svc_send(conn, type, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, NULL, 0);
}

/* ---- the relay --------------------------------------------------------- */

/* Reads what fd has now (non-blocking) and sends it; false at its end. */
static bool pump(int fd, char type)
{
    char buf[65536];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
            pthread_mutex_lock(&g.out_lock);
            broadcast(type, buf, (size_t)r);
            pthread_mutex_unlock(&g.out_lock);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        return false; /* EOF, or EIO: the pty's last slave closed */
    }
}

static void close_input(void)
{
    if (!g.tty && g.in_w >= 0) {
        close(g.in_w);
        g.in_w = -1;
    }
}

/* One whole frame from a client while its command runs. */
static void client_frame(char type, const uint8_t *data, size_t len)
{
    switch (type) {
    case TLO_SVC_STDIN:
        /* non-blocking: input a command does not read is dropped, never
         * waited for */
        for (size_t off = 0; g.in_w >= 0 && off < len;) {
            ssize_t w = write(g.in_w, data + off, len - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        break;
    case TLO_SVC_EOF:
        /* a recording's standard input never ends because a client's did */
        if (!g.registered)
            close_input();
        break;
    case TLO_SVC_WINSIZE: {
        unsigned rows, cols;
        char text[32];
        snprintf(text, sizeof text, "%.*s", (int)(len < 31 ? len : 31), (const char *)data);
        if (g.tty && g.master >= 0 && sscanf(text, "%u %u", &rows, &cols) == 2 && rows < 10000 &&
            cols < 10000) {
            struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
            ioctl(g.master, TIOCSWINSZ, &ws);
        }
        break;
    }
    default:
        break; /* nothing else is asked of a running command */
    }
}

/* Reads what the client on fd sent (without waiting) and acts on each whole
 * frame; false when the client is gone (closed, or a frame too long).
 * Under out_lock. */
static bool from_client(int fd)
{
    size_t i = 0;
    while (i < g.nclients && g.clients[i] != fd)
        i++;
    if (i == g.nclients)
        return true; /* dropped meanwhile */
    uint8_t *b = g.inbuf[i];
    size_t *n = &g.inlen[i];
    ssize_t r;
    do
        r = recv(fd, b + *n, sizeof g.inbuf[i] - *n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        return false;
    if (r > 0)
        *n += (size_t)r;
    while (*n >= 5) {
        uint32_t len = (uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 8 | b[4];
        if (len > CLIENT_FRAME_MAX)
            return false;
        if (*n < 5 + (size_t)len)
            break;
        client_frame((char)b[0], b + 5, len);
        sodium_memzero(b + 5, len); /* typed input: maybe a passphrase */
        memmove(b, b + 5 + len, *n - 5 - len);
        *n -= 5 + len;
    }
    return true;
}

static void *relay_main(void *arg)
{
    (void)arg;
    for (;;) {
        struct pollfd p[4 + MAX_CLIENTS];
        size_t n = 0, first_client;
        p[n++] = (struct pollfd){.fd = g.wake[0], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = g.a->push, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = g.out_r, .events = POLLIN};
        p[n++] = (struct pollfd){.fd = g.err_r, .events = POLLIN};
        first_client = n;
        pthread_mutex_lock(&g.out_lock);
        for (size_t i = 0; i < g.nclients; i++)
            p[n++] = (struct pollfd){.fd = g.clients[i], .events = POLLIN};
        pthread_mutex_unlock(&g.out_lock);
        if (g.out_r < 0 && g.err_r < 0)
            return NULL; /* the command's output ended: it is done */
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return NULL;
        }
        if (p[2].revents && !pump(g.out_r, TLO_SVC_STDOUT)) {
            close(g.out_r);
            if (g.tty)
                g.master = g.in_w = -1; /* the same descriptor */
            g.out_r = -1;
        }
        if (p[3].revents && !pump(g.err_r, TLO_SVC_STDERR)) {
            close(g.err_r);
            g.err_r = -1;
        }
        if (p[0].revents) {
            char c = 0;
            if (read(g.wake[0], &c, 1) == 1) {
                if (g.out_r >= 0)
                    pump(g.out_r, TLO_SVC_STDOUT);
                if (g.err_r >= 0)
                    pump(g.err_r, TLO_SVC_STDERR);
                pthread_mutex_lock(&g.out_lock);
                g.sync_done++;
                pthread_cond_broadcast(&g.synced);
                pthread_mutex_unlock(&g.out_lock);
                if (c == 'x')
                    return NULL; /* handing the client over */
            }
        }
        if (p[1].revents) {
            char msg[256];
            int fd;
            ssize_t r = svc_ctl_recv(g.a->push, msg, sizeof msg, &fd);
            if (r > 0 && fd >= 0 && !strncmp(msg, "client", 6)) {
                client_timeouts(fd);
                pthread_mutex_lock(&g.out_lock);
                if (g.nclients < MAX_CLIENTS) {
                    say(fd, TLO_SVC_MODE, "tty=%d\n", g.tty ? 1 : 0);
                    say(fd, TLO_SVC_NOTICE,
                        _("tellonce: attached; the session goes on when you "
                          "leave (Ctrl-D detaches; Ctrl-C asks to end it)\n"));
                    add_client(fd);
                } else {
                    say(fd, TLO_SVC_STDERR,
                        "tellonce: error: %d clients are attached already; try again later\n",
                        MAX_CLIENTS);
                    say(fd, TLO_SVC_EXIT, "code=3\n");
                    close(fd);
                }
                pthread_mutex_unlock(&g.out_lock);
            } else if (fd >= 0) {
                close(fd);
            }
        }
        for (size_t i = first_client; i < n; i++) {
            if (!p[i].revents)
                continue;
            pthread_mutex_lock(&g.out_lock);
            bool alive = from_client(p[i].fd);
            pthread_mutex_unlock(&g.out_lock);
            if (!alive) {
                pthread_mutex_lock(&g.out_lock);
                for (size_t k = 0; k < g.nclients; k++)
                    if (g.clients[k] == p[i].fd) {
                        drop_client(k);
                        break;
                    }
                bool none = g.nclients == 0;
                pthread_mutex_unlock(&g.out_lock);
                /* The last client left. A recording goes on (its output is
                 * read and dropped); anything else gets the end of its input,
                 * and on a pty a hang-up, as a closed terminal would. */
                if (none && !g.registered) {
                    close_input();
                    if (g.tty && g.master >= 0) {
                        close(g.master);
                        g.master = g.out_r = g.in_w = -1;
                    }
                }
            }
        }
    }
}

static int relay_start(void)
{
    if (pthread_create(&g.relay, NULL, relay_main, NULL) != 0)
        return -1;
    g.relay_running = true;
    return 0;
}

/* Asks the relay to send everything written so far; with stop, it then ends. */
static void relay_sync(bool stop)
{
    if (!g.relay_running)
        return;
    pthread_mutex_lock(&g.out_lock);
    unsigned want = ++g.sync_asked;
    pthread_mutex_unlock(&g.out_lock);
    char c = stop ? 'x' : 's';
    if (write(g.wake[1], &c, 1) != 1)
        return;
    pthread_mutex_lock(&g.out_lock);
    while (g.sync_done < want) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 5;
        if (pthread_cond_timedwait(&g.synced, &g.out_lock, &until) != 0)
            break; /* the relay ended already */
    }
    pthread_mutex_unlock(&g.out_lock);
    if (stop) {
        pthread_join(g.relay, NULL);
        g.relay_running = false;
    }
}

static void flush_std(void)
{
    fflush(stdout);
    fflush(stderr);
}

int tlo_service_send(char type, const void *data, size_t len, const int *fds, size_t nfds)
{
    if (!g.in_child) {
        errno = EINVAL;
        return -1;
    }
    flush_std();
    relay_sync(false);
    pthread_mutex_lock(&g.out_lock);
    int rc = g.nclients ? tlo_svc_send(g.clients[0], type, data, len, fds, nfds) : -1;
    pthread_mutex_unlock(&g.out_lock);
    return rc;
}

void tlo_service_preview(const uint8_t *jpeg, size_t len)
{
    if (!g.in_child || len > TLO_SVC_FRAME_MAX)
        return;
    /* A monitor frame is skipped for a client whose buffer has no room for
     * it and the output that must still reach it: a slow or suspended
     * desktop misses pictures, never the session's output or its end. */
    pthread_mutex_lock(&g.out_lock);
    for (size_t i = 0; i < g.nclients;) {
        if (!tlo_svc_has_room(g.clients[i], len, PREVIEW_RESERVE)) {
            i++;
            continue;
        }
        if (tlo_svc_send_nowait(g.clients[i], TLO_SVC_PREVIEW, jpeg, len) != 0)
            drop_client(i);
        else
            i++;
    }
    pthread_mutex_unlock(&g.out_lock);
}

/* ---- asking the parent ------------------------------------------------- */

static int ask_parent(const char *msg, int fd, char *reply, size_t cap, tlo_error *err)
{
    int got_fd;
    pthread_mutex_lock(&g.req_lock);
    ssize_t r =
        svc_ctl_send(g.a->req, msg, fd) == 0 ? svc_ctl_recv(g.a->req, reply, cap, &got_fd) : -1;
    pthread_mutex_unlock(&g.req_lock);
    if (r > 0 && got_fd >= 0)
        close(got_fd);
    if (r <= 0)
        return tlo_fail(err, TLO_EIO, "the custodian service's parent did not answer");
    if (strncmp(reply, "ok", 2) != 0)
        return tlo_fail(err, TLO_ENOTFOUND, "%s", !strncmp(reply, "err ", 4) ? reply + 4 : reply);
    return 0;
}

static bool key_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    return true;
}

int tlo_service_login_keep(const tlo_vault_identity *id, unsigned minutes, tlo_error *err)
{
    char name_hex[2 * TLO_NAME_MAX + 1], spk[65], ssk[129], bpk[65], bsk[65], reply[256];
    char *msg;
    if (!g.in_child)
        return tlo_fail(err, TLO_EARG, "a login is kept by the custodian service only");
    if (minutes < 1 || minutes > SVC_LOGIN_MAX_MINUTES)
        return tlo_fail(err, TLO_EARG, "a login lasts 1 to %d minutes", SVC_LOGIN_MAX_MINUTES);
    if (!(msg = sodium_malloc(2048)))
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory");
    sodium_bin2hex(name_hex, sizeof name_hex, (const uint8_t *)id->name, strlen(id->name));
    sodium_bin2hex(spk, sizeof spk, id->sign_pk, 32);
    sodium_bin2hex(ssk, sizeof ssk, id->sign_sk, 64);
    sodium_bin2hex(bpk, sizeof bpk, id->box_pk, 32);
    sodium_bin2hex(bsk, sizeof bsk, id->box_sk, 32);
    snprintf(msg, 2048, "login %u %s %s %s %s %s", minutes, name_hex, spk, ssk, bpk, bsk);
    sodium_memzero(ssk, sizeof ssk);
    sodium_memzero(bsk, sizeof bsk);
    int rc = ask_parent(msg, -1, reply, sizeof reply, err);
    sodium_free(msg);
    return rc;
}

tlo_vault_identity *tlo_service_login_identity(const char *name)
{
    uint64_t now = svc_mono_ms();
    for (size_t i = 0; g.in_child && i < SVC_LOGINS_MAX; i++) {
        const svc_login *l = &svc_logins[i];
        if (!l->id || l->uid != g.a->peer.uid || l->until_ms <= now || strcmp(l->id->name, name))
            continue;
        tlo_vault_identity *id = calloc(1, sizeof *id);
        if (!id || !(id->sign_sk = sodium_malloc(64)) || !(id->box_sk = sodium_malloc(32))) {
            tlo_vault_identity_free(id);
            return NULL;
        }
        memcpy(id->name, l->id->name, sizeof id->name);
        memcpy(id->sign_pk, l->id->sign_pk, 32);
        memcpy(id->box_pk, l->id->box_pk, 32);
        memcpy(id->sign_sk, l->id->sign_sk, 64);
        memcpy(id->box_sk, l->id->box_sk, 32);
        return id;
    }
    return NULL;
}

int tlo_service_logout(const char *name, unsigned *ended, tlo_error *err)
{
    char msg[600], reply[64];
    *ended = 0;
    if (!g.in_child)
        return tlo_fail(err, TLO_EARG, "logins are kept by the custodian service only");
    if (name)
        snprintf(msg, sizeof msg, "logout %s", name);
    else
        snprintf(msg, sizeof msg, "logout");
    int rc = ask_parent(msg, -1, reply, sizeof reply, err);
    if (rc == 0)
        sscanf(reply, "ok %u", ended);
    return rc;
}

int tlo_service_register(const char *key, const char *owner, tlo_error *err)
{
    char msg[600], reply[256];
    if (!g.in_child)
        return tlo_fail(err, TLO_EARG, "not in the custodian service");
    if (!key_ok(key, 80) || strlen(owner) > 400 || strchr(owner, '\n'))
        return tlo_fail(err, TLO_EARG, "a key for the service is 1 to 80 printable characters");
    snprintf(msg, sizeof msg, "register %s %s", key, owner);
    int rc = ask_parent(msg, -1, reply, sizeof reply, err);
    if (rc == 0)
        g.registered = true;
    /* a recording lives for hours: it keeps no copy of anyone's login */
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++)
        if (svc_logins[i].id)
            svc_login_wipe(&svc_logins[i]);
    return rc;
}

int tlo_service_attach(const char *key, tlo_error *err)
{
    char msg[200], reply[256];
    if (!g.in_child)
        return tlo_fail(err, TLO_EARG, "not in the custodian service");
    if (!key_ok(key, 80))
        return tlo_fail(err, TLO_EARG, "no such session: %.80s", key);
    flush_std();
    relay_sync(true); /* the client's frames go to the other child from now on */
    snprintf(msg, sizeof msg, "attach %s", key);
    int conn = g.nclients ? g.clients[0] : -1;
    int rc = conn >= 0 ? ask_parent(msg, conn, reply, sizeof reply, err)
                       : tlo_fail(err, TLO_EIO, "the client has gone");
    if (rc == 0) {
        g.handed_over = true;
        return 0;
    }
    relay_start(); /* still ours: carry on so the error reaches the client */
    return rc;
}

int tlo_service_signal(const char *key, int sig, tlo_error *err)
{
    char msg[200], reply[256];
    if (!g.in_child)
        return tlo_fail(err, TLO_EARG, "not in the custodian service");
    if (!key_ok(key, 80))
        return tlo_fail(err, TLO_EARG, "no such session: %.80s", key);
    snprintf(msg, sizeof msg, "signal %s %d", key, sig);
    return ask_parent(msg, -1, reply, sizeof reply, err);
}

char *tlo_service_list(tlo_error *err)
{
    char reply[4096];
    if (!g.in_child) {
        tlo_fail(err, TLO_EARG, "not in the custodian service");
        return NULL;
    }
    if (ask_parent("list", -1, reply, sizeof reply, err) != 0)
        return NULL;
    const char *nl = strchr(reply, '\n');
    return strdup(nl ? nl + 1 : "");
}

/* ---- the child's life -------------------------------------------------- */

static void log_refusal(const svc_child_args *a, const char *command, const char *reason);

void tlo_service_refused(const char *command, const char *reason)
{
    if (g.in_child)
        log_refusal(g.a, command, reason);
}

static void log_refusal(const svc_child_args *a, const char *command, const char *reason)
{
    char reply[64];
    tlo_error err = {0};
    tlo_custody *v = NULL;
    /* The parent keeps a budget per user, so nobody fills the ledger. */
    FILE *log = g.log ? g.log : stderr;
    if (ask_parent("quota", -1, reply, sizeof reply, &err) != 0) {
        fprintf(log, "tellonce custodian: refused uid %u pid %d (%s); not logged: %s\n",
                (unsigned)a->peer.uid, (int)a->peer.pid, reason, err.msg);
        return;
    }
    if (tlo_custody_open(a->cfg->vault, false, &v, &err) == 0 &&
        (!svc_custodian || tlo_custody_adopt_custodian(v, svc_custodian, &err) == 0)) {
        tlo_custody_set_client(v, (uint32_t)a->peer.uid, (uint32_t)a->peer.pid);
        tlo_custody_log_refusal(v, command, reason, &err);
    }
    if (err.code)
        fprintf(log, "tellonce custodian: could not log a refusal (uid %u): %s\n",
                (unsigned)a->peer.uid, err.msg);
    else
        fprintf(log, "tellonce custodian: refused uid %u pid %d: %s (logged)\n",
                (unsigned)a->peer.uid, (int)a->peer.pid, reason);
    tlo_custody_close(v);
}

static _Noreturn void refuse(const svc_child_args *a, int code, const char *command, bool log,
                             const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static _Noreturn void refuse(const svc_child_args *a, int code, const char *command, bool log,
                             const char *fmt, ...)
{
    char why[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (log)
        log_refusal(a, command, why);
    say(a->conn, TLO_SVC_STDERR, "tellonce: error: %s\n", why);
    say(a->conn, TLO_SVC_EXIT, "code=%d\n", code);
    _exit(code);
}

/* The client's language for its command (docs/i18n.md): the service's own
 * language variables give way to the client's (names the parser checked:
 * never a path), then the locale is set from them as main() does. A locale
 * this machine lacks leaves the messages in English. */
static void apply_locale(const tlo_svc_request *r)
{
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++) {
        if (r->locale[i][0])
            setenv(tlo_svc_locale_env[i], r->locale[i], 1);
        else
            unsetenv(tlo_svc_locale_env[i]);
    }
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
}

static int setup_terminal(const tlo_svc_request *r)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    g.tty = r->tty;
    if (r->tty) {
        struct winsize ws = {.ws_row = (unsigned short)(r->rows ? r->rows : 24),
                             .ws_col = (unsigned short)(r->cols ? r->cols : 80)};
        int m, s;
        if (openpty(&m, &s, NULL, NULL, &ws) != 0)
            return -1;
        /* Of the keys a terminal turns into signals, only Ctrl-C (SIGINT,
         * which record asks about) stays one: Ctrl-\ (SIGQUIT) and Ctrl-Z
         * (SIGTSTP) from any client would kill or stop the recording with
         * no session-end entry; here they are plain bytes. */
        struct termios t;
        if (tcgetattr(s, &t) == 0) {
            t.c_cc[VQUIT] = _POSIX_VDISABLE;
            t.c_cc[VSUSP] = _POSIX_VDISABLE;
            tcsetattr(s, TCSANOW, &t);
        }
        /* the pty is this session's controlling terminal: /dev/tty prompts
         * (passphrases, without echo) reach the client */
        ioctl(s, TIOCSCTTY, 0);
        if (dup2(s, 0) < 0 || dup2(s, 1) < 0 || dup2(s, 2) < 0)
            return -1;
        close(s);
        fcntl(m, F_SETFD, FD_CLOEXEC);
        fcntl(m, F_SETFL, O_NONBLOCK);
        g.master = g.out_r = g.in_w = m;
        if (r->term[0])
            setenv("TERM", r->term, 1);
        return 0;
    }
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
        return -1;
    if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0)
        return -1;
    close(in[0]);
    close(out[1]);
    close(err[1]);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);
    fcntl(in[1], F_SETFL, O_NONBLOCK);
    g.in_w = in[1];
    g.out_r = out[0];
    g.err_r = err[0];
    return 0;
}

/* A file the client handed over for argument "arg=N" (FILE frame), checked
 * as hostile: never an O_PATH descriptor (one that opens nothing itself:
 * reopened through /dev/fd it would be opened with the service's rights); a
 * file to read must be a sealed memory file (what tellonce's client sends:
 * reopening it gives only what the client wrote); a file to write ("out=1")
 * an empty, unnamed regular file open for writing. Refuses the client
 * otherwise. The argument becomes "/dev/fd/N", or, with "name=", the file
 * is kept under that name (export's manifest). */
static void take_file(const svc_child_args *a, tlo_svc_request *req, tlo_svc_frame *f, char *why,
                      size_t cap)
{
    const char *text = (const char *)f->data, *command = req->argv[0];
    unsigned long idx;
    char *end, name[32] = "";
    int fd = f->fds[0], fl = fcntl(fd, F_GETFL);
    bool out = strstr(text, "\nout=1\n") != NULL;
    struct stat st;
    if (strncmp(text, "arg=", 4) != 0 || (idx = strtoul(text + 4, &end, 10)) == 0 || *end != '\n' ||
        idx >= (unsigned long)req->argc)
        refuse(a, 2, command, true, "the client sent a file for no argument");
    const char *nm = strstr(text, "\nname=");
    if (nm && (sscanf(nm + 6, "%31[a-z]", name) != 1 || g.nnamed >= MAX_FILES))
        refuse(a, 2, command, true, "the client sent a file with a name the service does not take");
    if (fl < 0 || (fl & O_PATH) || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        snprintf(why, cap, "argument %lu: not an open regular file", idx);
    else if (out && ((fl & O_ACCMODE) == O_RDONLY || st.st_nlink != 0 || st.st_size != 0))
        snprintf(why, cap, "argument %lu: an output must be an empty unnamed file open to write",
                 idx);
    else if (!out && (fcntl(fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)) !=
                         (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK))
        snprintf(why, cap, "argument %lu: an input must be a sealed copy in memory", idx);
    else
        why[0] = 0;
    if (why[0])
        refuse(a, 2, command, true, "%s (this request did not come from tellonce)", why);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    f->fds[0] = -1;
    if (name[0]) {
        snprintf(g.named[g.nnamed].name, sizeof g.named[0].name, "%s", name);
        g.named[g.nnamed++].fd = fd;
        return;
    }
    if (g.nfiles >= MAX_FILES)
        refuse(a, 2, command, true, "the client sent more files than the service takes");
    char path[32];
    snprintf(path, sizeof path, "/dev/fd/%d", fd);
    g.files[g.nfiles++] = fd;
    free(req->argv[idx]);
    req->argv[idx] = strdup(path);
}

/* How long a nonce is good for: TLO_SVC_NONCE_TTL_MS, or, for the test
 * suite's stale-request test only, $TELLONCE_TEST_NONCE_TTL_MS from the
 * service's own environment (never a client's). */
static uint64_t nonce_ttl_ms(void)
{
    const char *t = getenv("TELLONCE_TEST_NONCE_TTL_MS");
    uint64_t v;
    if (t && tlo_parse_u64(t, &v) == 0 && v > 0 && v < TLO_SVC_NONCE_TTL_MS)
        return v;
    return TLO_SVC_NONCE_TTL_MS;
}

_Noreturn void svc_child_main(const svc_child_args *a)
{
    tlo_svc_request req;
    tlo_error err = {0};
    uint8_t nonce[32];
    char nonce_hex[TLO_SVC_NONCE_HEX + 1], hello[8192];
    g.a = a;
    /* only this client's OS user's logins stay in this process */
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++)
        if (svc_logins[i].id && svc_logins[i].uid != a->peer.uid)
            svc_login_wipe(&svc_logins[i]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != a->parent)
        _exit(EXIT_FAILURE); /* the service ended before the line above */
    signal(SIGPIPE, SIG_IGN);
    setsid(); /* no controlling terminal but the client's pty */
    client_timeouts(a->conn);

    if (a->refuse)
        refuse(a, EXIT_FAILURE, NULL, true, "%s", a->refuse);

    /* One deadline for the whole request phase, however slowly a client
     * sends: past it the child ends (SIGALRM), whatever it was reading. */
    alarm((unsigned)(nonce_ttl_ms() / 1000) + 10);
    randombytes_buf(nonce, sizeof nonce);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    int n =
        snprintf(hello, sizeof hello, "tellonce-service 1\nnonce=%s\ntime_ms=%llu\n%s", nonce_hex,
                 (unsigned long long)tlo_custody_now_ms(), a->notices ? a->notices : "");
    uint64_t hello_at = mono_ms();
    if (n < 0 || tlo_svc_send(a->conn, TLO_SVC_HELLO, hello, strlen(hello), NULL, 0) != 0)
        _exit(EXIT_FAILURE);

    struct pollfd p = {.fd = a->conn, .events = POLLIN};
    int pr;
    do
        pr = poll(&p, 1, (int)nonce_ttl_ms() + 5000);
    while (pr < 0 && errno == EINTR);
    if (pr == 0)
        refuse(a, EXIT_FAILURE, NULL, true,
               "no request within %llu ms of the service's nonce (a stale client); connect again",
               (unsigned long long)nonce_ttl_ms());
    tlo_svc_frame f;
    int got = tlo_svc_recv(a->conn, &f);
    if (got == 0)
        _exit(EXIT_SUCCESS); /* the client asked nothing */
    if (got < 0 || f.type != TLO_SVC_REQUEST)
        refuse(a, EXIT_FAILURE, NULL, true, "the first frame was not a request (%s)",
               got < 0 ? strerror(errno) : "another kind");
    if (tlo_svc_request_parse(f.data, f.len, &req, &err) != 0)
        refuse(a, EXIT_FAILURE, NULL, true, "the request is malformed: %s",
               tlo_error_english(&err)); /* a reason for the ledger: English */
    tlo_svc_frame_free(&f);
    const char *command = req.argv[0];
    if (sodium_memcmp(req.nonce, nonce_hex, TLO_SVC_NONCE_HEX) != 0)
        refuse(a, EXIT_FAILURE, command, true,
               "the request carries a nonce this connection was not given (a replayed or forged "
               "request)");
    if (mono_ms() - hello_at > nonce_ttl_ms())
        refuse(a, EXIT_FAILURE, command, true,
               "the request came %llu ms after its nonce, more than %llu ms (a stale request); "
               "connect again",
               (unsigned long long)(mono_ms() - hello_at), (unsigned long long)nonce_ttl_ms());
    if (!a->cfg->allowed(command))
        refuse(a, 2, command, false,
               "'tellonce %.60s' does not run through the custodian service; run it on your own "
               "machine, without --socket (see 'tellonce --help')",
               command);

    apply_locale(&req);

    /* the passphrase, then the files the client opened for us */
    /* exactly what the request announced: its passphrase (once), then
     * its files (each one fd, checked before anything uses it) */
    for (unsigned secrets = req.secret ? 1 : 0, files = req.files; secrets + files > 0;) {
        if (tlo_svc_recv(a->conn, &f) != 1)
            refuse(a, EXIT_FAILURE, command, false, "the client went before its request ended");
        if (f.type == TLO_SVC_SECRET && secrets && f.len <= 4096) {
            g.secret = (char *)f.data;
            g.secret_len = f.len;
            f.data = NULL;
            f.type = 0;
            secrets--;
        } else if (f.type == TLO_SVC_FILE && files && f.nfds == 1) {
            char why[200];
            take_file(a, &req, &f, why, sizeof why);
            files--;
        } else {
            refuse(a, EXIT_FAILURE, command, true,
                   "the client's request was not followed by what it announced");
        }
        tlo_svc_frame_free(&f);
    }
    alarm(0); /* the request is in: the command may take its time */

    int log_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (log_fd >= 0 && (g.log = fdopen(log_fd, "w")))
        setvbuf(g.log, NULL, _IONBF, 0);
    if (pipe2(g.wake, O_CLOEXEC) != 0 || setup_terminal(&req) != 0)
        refuse(a, 3, command, false, "the service could not make a terminal: %s", strerror(errno));
    add_client(a->conn);
    g.in_child = true;
    if (relay_start() != 0)
        _exit(3);

    int code = a->cfg->run(req.argc, req.argv);

    flush_std();
    /* closing the pty's master below hangs up its session, this process's */
    signal(SIGHUP, SIG_IGN);
    if (!g.handed_over) {
        /* The command's end is its output's end: close our side of it, then
         * wait for the relay to send the rest. */
        int devnull = open("/dev/null", O_RDWR);
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
        close(devnull);
        if (g.relay_running) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 3;
            if (pthread_timedjoin_np(g.relay, NULL, &until) == 0)
                g.relay_running = false;
            else
                relay_sync(true); /* something still holds the terminal */
        }
        pthread_mutex_lock(&g.out_lock);
        char text[32];
        int tn = snprintf(text, sizeof text, "code=%d\n", code);
        broadcast(TLO_SVC_EXIT, text, (size_t)tn);
        pthread_mutex_unlock(&g.out_lock);
    }
    if (g.secret)
        sodium_free(g.secret);
    tlo_svc_request_free(&req);
    _exit(code);
}
