/* Leases: who is recording (or recovering) a case or a room right now.
 *
 * A lease is an exclusive flock(2) on VAULT/locks/NAME.lock, held by the
 * process for as long as the work lasts. The kernel drops it when the
 * process ends however it ends (kill -9, a crash, a power cut leaves no
 * lock at all), so a lease never needs to be broken by hand and a stale
 * file means nothing: only the lock counts.
 *
 * The file says who holds it, for the message of whoever is refused:
 *
 *   holder=record session 0123...cdef      (or "recover")
 *   pid=4242
 *   since=2026-12-01T12:49:12Z
 *
 * It holds no secret, no case number and no name (the case is named by its
 * internal id in the file name, as in cases/). Mode 0600, folder 0700. What a
 * refused caller reads from it is shown as text only, bounded and cleaned:
 * the file is not trusted, the lock is. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct custody_lease {
    int fd;
};

/* What the holder wrote, as one line of text ("" if unreadable). */
static void read_holder(int fd, char *out, size_t cap)
{
    char buf[256], line[256] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    out[0] = '\0';
    if (n <= 0)
        return;
    buf[n] = '\0';
    /* "holder=... pid=... since=..." on one line. */
    size_t j = 0;
    for (ssize_t i = 0; i < n && j + 1 < sizeof line; i++)
        line[j++] = buf[i] == '\n' ? ' ' : buf[i];
    line[j] = '\0';
    while (j && line[j - 1] == ' ')
        line[--j] = '\0';
    tlo_clean_text(out, cap, line);
}

int custody_lease_take(tlo_custody *v, const char *name, const char *holder, custody_lease **out,
                       char *held_by, size_t held_cap, tlo_error *err)
{
    *out = NULL;
    if (held_by && held_cap)
        held_by[0] = '\0';
    char *dir = tlo_custody_path(v, "locks");
    char file[200];
    snprintf(file, sizeof file, "locks/%s.lock", name);
    char *path = tlo_custody_path(v, file);
    int rc = 0, fd = -1;
    if (!dir || !path) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory taking the lease %s", name);
        goto done;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = tlo_fail(err, TLO_EIO, "cannot create %s: %s; check the vault's permissions", dir,
                      strerror(errno));
        goto done;
    }
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot open the lease %s: %s; check the vault's permissions",
                      path, strerror(errno));
        goto done;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            char who[200];
            read_holder(fd, who, sizeof who);
            if (held_by && held_cap)
                snprintf(held_by, held_cap, "%s", who[0] ? who : "a process starting up");
            rc = tlo_fail(err, TLO_EEXIST, "%s is held by %s", path,
                          who[0] ? who : "a process starting up");
        } else {
            rc = tlo_fail(err, TLO_EIO, "cannot lock the lease %s: %s", path, strerror(errno));
        }
        goto done;
    }
    /* Ours: say who holds it. A failure to write it only leaves a refused
     * caller with less to say. */
    char text[200], since[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int len = snprintf(text, sizeof text, "holder=%s\npid=%ld\nsince=%s\n", holder, (long)getpid(),
                       since);
    if (fchmod(fd, 0600) != 0 || ftruncate(fd, 0) != 0 ||
        pwrite(fd, text, (size_t)len, 0) != (ssize_t)len) {
        /* not fatal, see above */
    }
    custody_lease *l = malloc(sizeof *l);
    if (!l) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory taking the lease %s", name);
        goto done;
    }
    l->fd = fd;
    fd = -1;
    *out = l;
done:
    if (fd >= 0)
        close(fd);
    free(dir);
    free(path);
    return rc;
}

int custody_lease_probe(tlo_custody *v, const char *name, bool *held, char *held_by,
                        size_t held_cap, tlo_error *err)
{
    char file[200];
    *held = false;
    if (held_by && held_cap)
        held_by[0] = '\0';
    snprintf(file, sizeof file, "locks/%s.lock", name);
    char *path = tlo_custody_path(v, file);
    if (!path)
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading the lease %s", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    int rc = 0;
    if (fd < 0) {
        if (errno != ENOENT)
            rc = tlo_fail(err, TLO_EIO, "cannot open the lease %s: %s", path, strerror(errno));
    } else if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            *held = true;
            if (held_by && held_cap) {
                char who[200];
                read_holder(fd, who, sizeof who);
                snprintf(held_by, held_cap, "%s", who[0] ? who : "a process starting up");
            }
        } else {
            rc = tlo_fail(err, TLO_EIO, "cannot lock the lease %s: %s", path, strerror(errno));
        }
    }
    if (fd >= 0)
        close(fd); /* drops our shared lock, if we got it */
    free(path);
    return rc;
}

void custody_lease_release(custody_lease *l)
{
    if (!l)
        return;
    close(l->fd); /* the kernel drops the lock */
    free(l);
}
