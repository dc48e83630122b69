/* The custodian service's parent (service.h): the socket, the children,
 * what they register, and a clean end on SIGTERM. It never opens the vault
 * itself after the start hook: children do, one per connection. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_KIDS 256
/* request-refused entries per user per hour; more go to stderr only */
#define REFUSAL_BUDGET 30
/* children at once for one uid (root and the service's own excepted), so one
 * client cannot take every slot (MAX_KIDS) from the others */
#define KIDS_PER_UID 16

typedef struct kid {
    pid_t pid;
    int req, push;
    uid_t uid;
    char key[81];
    char owner[401];
} kid;

static kid kids[MAX_KIDS];
svc_login svc_logins[SVC_LOGINS_MAX];

uint64_t svc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void svc_login_wipe(svc_login *l)
{
    tlo_vault_identity_free(l->id);
    memset(l, 0, sizeof *l);
}

static void logins_expire(void)
{
    uint64_t now = svc_mono_ms();
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++)
        if (svc_logins[i].id && svc_logins[i].until_ms <= now)
            svc_login_wipe(&svc_logins[i]);
}

/* "login MINUTES NAMEHEX SIGNPK SIGNSK BOXPK BOXSK" from child k (hex). */
static void login_keep(kid *k, char *msg, char *reply, size_t cap)
{
    unsigned minutes;
    char name_hex[2 * TLO_NAME_MAX + 1], spk[65], ssk[129], bpk[65], bsk[65];
    tlo_vault_identity *id = calloc(1, sizeof *id);
    size_t got;
    snprintf(reply, cap, "err the login was malformed");
    if (id)
        id->sign_sk = sodium_malloc(TLO_ED25519_SK_BYTES), id->box_sk = sodium_malloc(32);
    if (!id || !id->sign_sk || !id->box_sk ||
        sscanf(msg, "login %u %510s %64s %128s %64s %64s", &minutes, name_hex, spk, ssk, bpk,
               bsk) != 6 ||
        minutes < 1 || minutes > SVC_LOGIN_MAX_MINUTES ||
        sodium_hex2bin((uint8_t *)id->name, TLO_NAME_MAX, name_hex, strlen(name_hex), NULL, &got,
                       NULL) != 0 ||
        sodium_hex2bin(id->sign_pk, 32, spk, 64, NULL, NULL, NULL) != 0 ||
        sodium_hex2bin(id->sign_sk, 64, ssk, 128, NULL, NULL, NULL) != 0 ||
        sodium_hex2bin(id->box_pk, 32, bpk, 64, NULL, NULL, NULL) != 0 ||
        sodium_hex2bin(id->box_sk, 32, bsk, 64, NULL, NULL, NULL) != 0) {
        tlo_vault_identity_free(id);
        goto out;
    }
    id->name[got] = 0;
    logins_expire();
    svc_login *slot = NULL;
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++) {
        svc_login *l = &svc_logins[i];
        if (l->id && l->uid == k->uid && !strcmp(l->id->name, id->name))
            svc_login_wipe(l); /* the new one replaces it */
        if (!l->id && !slot)
            slot = l;
    }
    if (!slot) {
        tlo_vault_identity_free(id);
        snprintf(reply, cap, "err %d people are logged in already; try again later",
                 SVC_LOGINS_MAX);
        goto out;
    }
    uint64_t ms = minutes * 60000ull, test_ms;
    const char *t = getenv("TELLONCE_TEST_LOGIN_MS"); /* the suite's expiry test only */
    if (t && tlo_parse_u64(t, &test_ms) == 0 && test_ms > 0 && test_ms < ms)
        ms = test_ms;
    *slot = (svc_login){.uid = k->uid, .until_ms = svc_mono_ms() + ms, .id = id};
    snprintf(reply, cap, "ok");
    fprintf(stderr, "tellonce custodian: login of %s for uid %u, %u minute(s)\n", id->name,
            (unsigned)k->uid, minutes);
out:
    sodium_memzero(ssk, sizeof ssk);
    sodium_memzero(bsk, sizeof bsk);
    sodium_memzero(msg, strlen(msg));
}

static void logout(kid *k, const char *name, char *reply, size_t cap)
{
    unsigned n = 0;
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++) {
        svc_login *l = &svc_logins[i];
        if (l->id && l->uid == k->uid && (!*name || !strcmp(l->id->name, name))) {
            svc_login_wipe(l);
            n++;
        }
    }
    snprintf(reply, cap, "ok %u", n);
}
static size_t nkids;
static int sigpipe_fd[2] = {-1, -1};
static int vault_lock = -1;
static char *notices; /* for the next client */

typedef struct budget {
    uid_t uid;
    time_t since;
    unsigned used;
} budget;
static budget budgets[64];

void tlo_service_notice(const char *text)
{
    size_t old = notices ? strlen(notices) : 0, n = strlen(text);
    char *more = realloc(notices, old + n + 9);
    if (!more)
        return;
    notices = more;
    memcpy(notices + old, "notice=", 7);
    for (size_t i = 0; i < n; i++)
        notices[old + 7 + i] = text[i] == '\n' ? ' ' : text[i];
    notices[old + 7 + n] = '\n';
    notices[old + 8 + n] = 0;
}

static void on_signal(int sig)
{
    int e = errno;
    char c = (char)sig;
    if (write(sigpipe_fd[1], &c, 1) < 0) {
        /* full: a signal is pending already */
    }
    errno = e;
}

static bool in_group(uid_t uid, gid_t peer_gid, gid_t gid)
{
    if (uid == 0 || uid == geteuid() || peer_gid == gid)
        return true;
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) != 0 || !res)
        return false;
    gid_t groups[256];
    int n = 256;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
        return false;
    for (int i = 0; i < n; i++)
        if (groups[i] == gid)
            return true;
    return false;
}

static bool budget_take(uid_t uid)
{
    time_t now = time(NULL);
    budget *b = NULL, *oldest = &budgets[0];
    for (size_t i = 0; i < sizeof budgets / sizeof budgets[0]; i++) {
        if (budgets[i].used && budgets[i].uid == uid)
            b = &budgets[i];
        if (budgets[i].since < oldest->since)
            oldest = &budgets[i];
    }
    if (!b) {
        b = oldest;
        *b = (budget){.uid = uid, .since = now};
    }
    if (now - b->since > 3600)
        *b = (budget){.uid = uid, .since = now};
    if (b->used >= REFUSAL_BUDGET)
        return false;
    b->used++;
    return true;
}

static kid *kid_by_key(const char *key)
{
    for (size_t i = 0; i < nkids; i++)
        if (kids[i].key[0] && !strcmp(kids[i].key, key))
            return &kids[i];
    return NULL;
}

/* One request from child k on its control socket. */
static void answer(kid *k)
{
    char msg[4096], reply[4096];
    int fd;
    ssize_t r = svc_ctl_recv(k->req, msg, sizeof msg, &fd);
    if (r <= 0) {
        close(k->req);
        k->req = -1; /* it is ending; SIGCHLD reaps it */
        return;
    }
    snprintf(reply, sizeof reply, "err the service does not know '%.40s'", msg);
    if (!strncmp(msg, "register ", 9)) {
        char *key = msg + 9, *sp = strchr(key, ' ');
        if (sp)
            *sp = 0;
        if (strlen(key) >= sizeof k->key || (sp && strlen(sp + 1) >= sizeof k->owner))
            snprintf(reply, sizeof reply, "err a key of at most 80 bytes");
        else if (kid_by_key(key))
            snprintf(reply, sizeof reply, "err %.80s is registered already", key);
        else {
            memcpy(k->key, key, strlen(key) + 1);
            memcpy(k->owner, sp ? sp + 1 : "", strlen(sp ? sp + 1 : "") + 1);
            snprintf(reply, sizeof reply, "ok");
            fprintf(stderr, "tellonce custodian: %s is live (pid %d, for uid %u)\n", k->key,
                    (int)k->pid, (unsigned)k->uid);
        }
    } else if (!strncmp(msg, "attach ", 7)) {
        kid *to = kid_by_key(msg + 7);
        if (!to)
            snprintf(reply, sizeof reply, "err no live session %.80s in this service", msg + 7);
        else if (fd < 0 || svc_ctl_send(to->push, "client", fd) != 0)
            snprintf(reply, sizeof reply, "err could not hand the connection over: %s",
                     strerror(errno));
        else
            snprintf(reply, sizeof reply, "ok");
    } else if (!strncmp(msg, "signal ", 7)) {
        char key[100];
        int sig;
        kid *to = sscanf(msg + 7, "%99s %d", key, &sig) == 2 ? kid_by_key(key) : NULL;
        if (!to)
            snprintf(reply, sizeof reply, "err no live session %.80s in this service", msg + 7);
        else if (sig != SIGTERM && sig != SIGINT)
            snprintf(reply, sizeof reply, "err only SIGTERM ends a session");
        else if (kill(to->pid, sig) != 0)
            snprintf(reply, sizeof reply, "err %s", strerror(errno));
        else
            snprintf(reply, sizeof reply, "ok");
    } else if (!strcmp(msg, "list")) {
        size_t n = (size_t)snprintf(reply, sizeof reply, "ok\n");
        for (size_t i = 0; i < nkids && n < sizeof reply - 1; i++)
            if (kids[i].key[0])
                n += (size_t)snprintf(reply + n, sizeof reply - n, "%s %s\n", kids[i].key,
                                      kids[i].owner);
    } else if (!strncmp(msg, "login ", 6)) {
        login_keep(k, msg, reply, sizeof reply);
    } else if (!strncmp(msg, "logout", 6)) {
        logout(k, msg[6] == ' ' ? msg + 7 : "", reply, sizeof reply);
    } else if (!strcmp(msg, "quota")) {
        snprintf(reply, sizeof reply, budget_take(k->uid) ? "ok" : "err over budget");
    }
    if (fd >= 0)
        close(fd);
    svc_ctl_send(k->req, reply, -1);
}

static void reap(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < nkids; i++) {
            if (kids[i].pid != pid)
                continue;
            if (kids[i].key[0])
                fprintf(stderr, "tellonce custodian: %s ended (pid %d, %s %d)\n", kids[i].key,
                        (int)pid, WIFEXITED(status) ? "exit" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            if (kids[i].req >= 0)
                close(kids[i].req);
            close(kids[i].push);
            kids[i] = kids[--nkids];
            break;
        }
    }
}

static int listen_on(const char *path, gid_t gid, tlo_error *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return tlo_fail(err, TLO_EARG, "the socket path %s is too long", path);
    strcpy(sa.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return tlo_fail(err, TLO_EIO, "cannot make a socket: %s", strerror(errno));
    /* a socket left by a service that died is removed; a live one is not */
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) == 0) {
        close(s);
        return tlo_fail(err, TLO_EEXIST,
                        "another custodian service answers on %s; stop it first "
                        "(systemctl stop tellonce-custodian)",
                        path);
    }
    unlink(path);
    mode_t old = umask(0117);
    int b = bind(s, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (b != 0 || listen(s, 64) != 0) {
        int e = errno;
        close(s);
        return tlo_fail(err, TLO_EIO,
                        "cannot listen on %s: %s (does its folder exist and may "
                        "this user write to it?)",
                        path, strerror(e));
    }
    if (chmod(path, 0660) != 0 || (gid != getegid() && chown(path, (uid_t)-1, gid) != 0)) {
        int e = errno;
        close(s);
        unlink(path);
        return tlo_fail(err, TLO_EIO, "cannot give %s to its group: %s", path, strerror(e));
    }
    return s;
}

/* One service per vault: an exclusive lock held for the service's life. */
static int lock_vault(const char *vault, tlo_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/locks", vault);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/locks/service.lock", vault);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return tlo_fail(err, TLO_EIO, "cannot open %s: %s (is this the vault's owner?)", path,
                        strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return tlo_fail(err, TLO_EEXIST, "another custodian service runs on the vault %s", vault);
    }
    return fd;
}

static void accept_one(const tlo_service_config *cfg, int ls, gid_t gid)
{
    int conn = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0)
        return;
    struct ucred cred;
    socklen_t len = sizeof cred;
    logins_expire();
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || nkids >= MAX_KIDS) {
        close(conn);
        return;
    }
    int req[2], push[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, req) != 0) {
        close(conn);
        return;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, push) != 0) {
        close(req[0]);
        close(req[1]);
        close(conn);
        return;
    }
    char why[300] = "";
    size_t same = 0;
    for (size_t i = 0; i < nkids; i++)
        same += kids[i].uid == cred.uid && !kids[i].key[0]; /* live recordings do not count */
    if (!in_group(cred.uid, cred.gid, gid)) {
        struct group *g = getgrgid(gid);
        snprintf(why, sizeof why,
                 "uid %u may not use this custodian service: it is not in the group %s; ask the "
                 "administrator to add your account to it (docs/service.md)",
                 (unsigned)cred.uid, g ? g->gr_name : "of the socket");
    } else if (same >= KIDS_PER_UID && cred.uid != 0 && cred.uid != geteuid()) {
        snprintf(why, sizeof why,
                 "uid %u has %zu requests open in the service already; wait for one to end",
                 (unsigned)cred.uid, same);
    }
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        close(ls);
        close(vault_lock); /* only the service holds it, never an orphan */
        close(sigpipe_fd[0]);
        close(sigpipe_fd[1]);
        for (size_t i = 0; i < nkids; i++) {
            if (kids[i].req >= 0)
                close(kids[i].req);
            close(kids[i].push);
        }
        close(req[0]);
        close(push[0]);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGCHLD, SIG_DFL);
        svc_child_args a = {.cfg = cfg,
                            .conn = conn,
                            .req = req[1],
                            .push = push[1],
                            .peer = {.uid = cred.uid, .gid = cred.gid, .pid = cred.pid},
                            .refuse = why[0] ? why : NULL,
                            .notices = notices,
                            .parent = parent};
        svc_child_main(&a);
    }
    close(conn);
    close(req[1]);
    close(push[1]);
    if (pid < 0) {
        close(req[0]);
        close(push[0]);
        return;
    }
    kids[nkids++] = (kid){.pid = pid, .req = req[0], .push = push[0], .uid = cred.uid};
    free(notices); /* told to this client */
    notices = NULL;
}

int tlo_service_run(const tlo_service_config *cfg, tlo_error *err)
{
    const char *path = cfg->socket ? cfg->socket : TLO_SERVICE_DEFAULT_SOCKET;
    gid_t gid = getegid();
    int rc;
    if (cfg->group) {
        struct group *g = getgrnam(cfg->group);
        if (!g)
            return tlo_fail(err, TLO_EARG, "there is no group %s (make it: addgroup %s)",
                            cfg->group, cfg->group);
        gid = g->gr_gid;
    }
    int lock = lock_vault(cfg->vault, err);
    if (lock < 0)
        return err->code;
    vault_lock = lock;
    if (cfg->start && (rc = cfg->start(cfg->vault)) != 0) {
        close(lock);
        return tlo_fail(err, TLO_EIO, "the service did not start (exit code %d)", rc);
    }
    if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) != 0) {
        close(lock);
        return tlo_fail(err, TLO_EIO, "cannot make a pipe: %s", strerror(errno));
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int ls = listen_on(path, gid, err);
    if (ls < 0) {
        close(lock);
        return err->code;
    }
    fprintf(stderr, "tellonce custodian: serving the vault %s on %s (pid %d)\n", cfg->vault, path,
            (int)getpid());
    bool ending = false;
    for (;;) {
        struct pollfd p[2 + MAX_KIDS];
        size_t n = 0;
        p[n++] = (struct pollfd){.fd = sigpipe_fd[0], .events = POLLIN};
        p[n++] = (struct pollfd){.fd = ls, .events = ls >= 0 ? POLLIN : 0};
        for (size_t i = 0; i < nkids; i++)
            p[n++] = (struct pollfd){.fd = kids[i].req, .events = POLLIN};
        if (ending && nkids == 0)
            break;
        if (poll(p, n, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents) {
            char sigs[64];
            ssize_t got = read(sigpipe_fd[0], sigs, sizeof sigs);
            for (ssize_t i = 0; i < got; i++) {
                if (sigs[i] == SIGCHLD) {
                    reap();
                } else if (!ending) {
                    ending = true;
                    fprintf(stderr,
                            "tellonce custodian: stopping: ending %zu live child(ren) cleanly\n",
                            nkids);
                    close(ls);
                    ls = -1;
                    unlink(path);
                    for (size_t k = 0; k < nkids; k++)
                        kill(kids[k].pid, SIGTERM);
                }
            }
            continue; /* the kids array may have changed */
        }
        if (ls >= 0 && p[1].revents & POLLIN)
            accept_one(cfg, ls, gid);
        for (size_t i = 2; i < n; i++) {
            if (!p[i].revents)
                continue;
            for (size_t k = 0; k < nkids; k++)
                if (kids[k].req == p[i].fd && kids[k].req >= 0) {
                    answer(&kids[k]);
                    break;
                }
        }
    }
    if (ls >= 0) {
        close(ls);
        unlink(path);
    }
    close(lock);
    free(notices);
    notices = NULL;
    for (size_t i = 0; i < SVC_LOGINS_MAX; i++)
        if (svc_logins[i].id)
            svc_login_wipe(&svc_logins[i]);
    fprintf(stderr, "tellonce custodian: stopped\n");
    return 0;
}
