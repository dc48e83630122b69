/* Publishing files atomically, and the test-only kill hook.
 *
 * A verb that makes a file writes it where nobody looks for it, makes it
 * durable, logs the entry that names it, and only then gives it its name
 * with one linkat or rename (docs/vault-layout.md, "Temporary files"). A
 * process killed at any moment leaves either nothing under the final name
 * or the finished file. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void custody_test_kill(const char *step)
{
    /* Test-only: TELLONCE_TEST_KILL_AT=STEP kills the process at STEP, as
     * kill -9 or a power cut would, so that tests can stop a verb at each of
     * its steps. It can only make a command fail. */
    const char *at = getenv("TELLONCE_TEST_KILL_AT");
    if (at && !strcmp(at, step))
        raise(SIGKILL);
}

int custody_sync_dir(const char *dir, tlo_error *err)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (dfd < 0 || fsync(dfd) != 0)
        rc = tlo_fail(err, TLO_EIO, "cannot sync the folder %s to disk: %s", dir, strerror(errno));
    if (dfd >= 0)
        close(dfd);
    return rc;
}

int custody_private_dir(tlo_custody *v, char **out, tlo_error *err)
{
    struct stat st;
    *out = tlo_custody_path(v, "tmp");
    if (!*out)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (mkdir(*out, 0700) == 0) {
        if (custody_sync_dir(v->dir, err) == 0)
            return 0;
    } else if (errno == EEXIST && lstat(*out, &st) == 0 && S_ISDIR(st.st_mode)) {
        return 0;
    } else {
        tlo_fail(err, TLO_EIO,
                 "cannot make the vault's private folder %s: %s; it must be a folder that "
                 "only the vault's owner can write",
                 *out, errno == EEXIST ? "something else has that name" : strerror(errno));
    }
    free(*out);
    *out = NULL;
    return err && err->code ? err->code : TLO_EIO;
}

int custody_tmpfile(const char *dir, int *fd, tlo_error *err)
{
    *fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (*fd >= 0)
        return 0;
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the file system of %s cannot hold unnamed files (O_TMPFILE), which "
                        "tellonce writes plaintext media into until it is done: write it to a "
                        "folder on ext4, XFS, Btrfs or tmpfs",
                        dir);
    return tlo_fail(err, TLO_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
}

int custody_fd_path(int fd, char out[static 32])
{
    return snprintf(out, 32, "/proc/self/fd/%d", fd) < 32 ? 0 : -1;
}

int custody_link_fd(int fd, const char *path, const char *dir, tlo_error *err)
{
    char src[32];
    custody_fd_path(fd, src);
    if (fsync(fd) != 0)
        return tlo_fail(err, TLO_EIO, "cannot sync %s to disk: %s", path, strerror(errno));
    if (linkat(AT_FDCWD, src, AT_FDCWD, path, AT_SYMLINK_FOLLOW) != 0) {
        if (errno == EEXIST)
            return tlo_fail(err, TLO_EEXIST,
                            "%s appeared while tellonce was writing it; it is left as it was "
                            "(tellonce never overwrites a file): move it away and run the "
                            "command again",
                            path);
        return tlo_fail(err, TLO_EIO, "cannot create %s: %s%s", path, strerror(errno),
                        errno == ENOENT ? " (is /proc mounted?)" : "");
    }
    if (custody_sync_dir(dir, err) != 0) {
        unlink(path);
        return err->code;
    }
    return 0;
}

int custody_publish(const char *from, const char *to, const char *dir, tlo_error *err)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST)
            return tlo_fail(err, TLO_EEXIST, "cannot move %s to %s: %s exists already", from, to,
                            to);
        if (errno != EINVAL && errno != ENOSYS)
            return tlo_fail(err, TLO_EIO, "cannot move %s to %s: %s", from, to, strerror(errno));
        /* A file system without RENAME_NOREPLACE: link never replaces. */
        if (link(from, to) != 0)
            return tlo_fail(err, errno == EEXIST ? TLO_EEXIST : TLO_EIO, "cannot move %s to %s: %s",
                            from, to, strerror(errno));
        unlink(from);
    }
    return custody_sync_dir(dir, err);
}
