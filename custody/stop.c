/* Ending a live recording from outside it ('tellonce stop').
 *
 * A live recording holds its case's lease (lease.c): an flock on
 * VAULT/locks/case-CASEID.lock whose file says "holder=record session ID"
 * and "pid=N". The file is not trusted: the session must be one the ledger
 * has started and not ended, and the process must be the one the kernel
 * says holds the lock on that very file (/proc/locks), checked again
 * through a pidfd just before the signal, so that a pid written into the
 * file by anyone (or reused since) is never signalled. The recording ends
 * as on SIGTERM: its own session-end entry; stop logs nothing. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Whether the kernel says pid holds an flock on the file at fd
 * (/proc/locks: "N: FLOCK  ADVISORY  WRITE PID MAJ:MIN:INODE 0 EOF"). */
static bool holds_lock(int fd, long pid)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return false;
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return false;
    char line[256];
    bool held = false;
    while (!held && fgets(line, sizeof line, f)) {
        char type[16], mode[16], rw[16];
        long lpid;
        unsigned maj, min;
        unsigned long long ino;
        const char *p = strchr(line, ':');
        if (!p || sscanf(p + 1, "%15s %15s %15s %ld %x:%x:%llu", type, mode, rw, &lpid, &maj, &min,
                         &ino) != 7)
            continue;
        held = !strcmp(type, "FLOCK") && lpid == pid && maj == major(st.st_dev) &&
               min == minor(st.st_dev) && ino == (unsigned long long)st.st_ino;
    }
    fclose(f);
    return held;
}

/* The lease file of case hex: the session and pid its holder wrote,
 * checked against the lock. 1 when it is a live recording's, 0 when not
 * (not held, held by a recovery, or a file that lies), <0 on error. */
static int read_lease(tlo_custody *v, const char *hex, tlo_custody_live *out, tlo_error *err)
{
    char name[80], file[120], buf[256];
    bool held = false;
    snprintf(name, sizeof name, "case-%s", hex);
    int rc = custody_lease_probe(v, name, &held, NULL, 0, err);
    if (rc || !held)
        return rc;
    snprintf(file, sizeof file, "locks/%s.lock", name);
    char *path = tlo_custody_path(v, file);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    free(path);
    if (fd < 0)
        return 0; /* gone since: the recording ended */
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    char session[40] = "";
    long pid = 0;
    for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "holder=record session ", 22) && strlen(l + 22) == 32 &&
            strspn(l + 22, "0123456789abcdef") == 32)
            snprintf(session, sizeof session, "%s", l + 22);
        else if (!strncmp(l, "pid=", 4))
            pid = strtol(l + 4, NULL, 10);
    }
    bool live = session[0] && pid > 1 && holds_lock(fd, pid);
    close(fd);
    if (!live)
        return 0;
    memset(out, 0, sizeof *out);
    snprintf(out->session, sizeof out->session, "%s", session);
    snprintf(out->case_hex, sizeof out->case_hex, "%s", hex);
    out->pid = pid;
    return 1;
}

/* The live recording of the case whose internal id is hex, if the ledger
 * agrees: its session started and not ended. */
static int live_of_case(tlo_custody *v, const char *hex, tlo_custody_live *out, tlo_error *err)
{
    uint8_t id[TLO_ID_BYTES];
    tlo_custody_session s;
    if (tlo_unhex(id, TLO_ID_BYTES, hex) != 0)
        return 0;
    int rc = read_lease(v, hex, out, err);
    if (rc <= 0)
        return rc;
    if ((rc = tlo_custody_session_info(v, id, out->session, &s, err)) != 0)
        return rc;
    if (!s.found || s.ended)
        return 0;
    memcpy(out->recorder, s.recorder, 32);
    memcpy(out->case_id, id, TLO_ID_BYTES);
    return 1;
}

/* Every live recording: one per case whose lease a recorder holds. */
static int all_live(tlo_custody *v, tlo_custody_live **list, size_t *n, tlo_error *err)
{
    *list = NULL;
    *n = 0;
    char *dir = tlo_custody_path(v, "locks");
    DIR *d = dir ? opendir(dir) : NULL;
    int rc = 0;
    if (!d) {
        rc = dir && errno == ENOENT ? 0
                                    : tlo_fail(err, TLO_EIO, "cannot read %s: %s",
                                               dir ? dir : "locks", strerror(errno));
        free(dir);
        return rc;
    }
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        char hex[33];
        const char *f = de->d_name;
        if (strlen(f) != 5 + 32 + 5 || strncmp(f, "case-", 5) || strcmp(f + 37, ".lock") ||
            strspn(f + 5, "0123456789abcdef") < 32)
            continue;
        memcpy(hex, f + 5, 32);
        hex[32] = '\0';
        tlo_custody_live one;
        int got = live_of_case(v, hex, &one, err);
        if (got < 0) {
            rc = got;
        } else if (got) {
            tlo_custody_live *nl = realloc(*list, (*n + 1) * sizeof *nl);
            if (!nl) {
                rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
            } else {
                *list = nl;
                nl[(*n)++] = one;
            }
        }
    }
    closedir(d);
    free(dir);
    if (rc) {
        free(*list);
        *list = NULL;
        *n = 0;
    }
    return rc;
}

int tlo_custody_live_list(tlo_custody *v, tlo_custody_live **list, size_t *n, tlo_error *err)
{
    return all_live(v, list, n, err);
}

int tlo_custody_stop_check(tlo_custody *v, const tlo_vault_identity *actor, const char *case_number,
                           const char *session, tlo_custody_live *out, tlo_error *err)
{
    const tlo_custody_person *who = NULL;
    memset(out, 0, sizeof *out);
    /* The roles first (as if it were their recording); which recording
     * they may stop is asked of the table for each below. */
    int rc = custody_check_act(v, actor, TLO_ACT_STOP, TLO_WHEN_RECORDER, NULL, &who, err);
    if (rc)
        return rc;
    unsigned roles = who->roles;
    uint8_t me[32];
    memcpy(me, who->actor, 32);
    tlo_custody_live *list = NULL;
    size_t n = 0;
    if (case_number) {
        tlo_custody_case cs;
        char hex[33];
        if ((rc = tlo_custody_case_find(v, case_number, &cs, err)) != 0)
            return rc;
        tlo_hex(hex, cs.id, TLO_ID_BYTES);
        list = malloc(sizeof *list);
        if (!list)
            return tlo_fail(err, TLO_ENOMEM, "out of memory");
        int got = live_of_case(v, hex, list, err);
        if (got < 0) {
            free(list);
            return got;
        }
        n = (size_t)got;
    } else if ((rc = all_live(v, &list, &n, err)) != 0) {
        return rc;
    }
    /* The one meant: --session, else the only one actor may stop. */
    size_t pick = n, count = 0;
    char names[600] = "";
    for (size_t i = 0; i < n; i++) {
        bool may = tlo_custody_may(TLO_ACT_STOP, roles,
                                   !memcmp(list[i].recorder, me, 32) ? TLO_WHEN_RECORDER : 0);
        if (session ? !strcmp(list[i].session, session) : may) {
            pick = i;
            count++;
        }
        if (strlen(names) + 40 < sizeof names) {
            strcat(names, i ? ", " : "");
            strcat(names, list[i].session);
        }
    }
    const char *what = case_number ? case_number : "any case";
    if (session && count == 0)
        rc = tlo_fail(err, TLO_ENOTFOUND,
                      "session %s is not being recorded now (in %s): it has ended, or it never "
                      "started; 'tellonce log' shows its entries",
                      session, what);
    else if (count == 0 && n == 0)
        rc = tlo_fail(err, TLO_ENOTFOUND, "no recording of %s is live now: nothing to stop", what);
    else if (count == 0) {
        /* Logged: the sessions only, never the case as typed (a number
         * police use never goes into the ledger); the entry names the case
         * when one was named. */
        char detail[700];
        snprintf(detail, sizeof detail, "live session %s was started by another interviewer",
                 names);
        rc = custody_refuse_act(v, who, TLO_ACT_STOP, case_number ? list[0].case_id : NULL, detail,
                                err);
    } else if (count > 1)
        rc = tlo_fail(err, TLO_EARG,
                      "%zu recordings are live (sessions %s): name one with --session ID, or "
                      "name its case",
                      count, names);
    else if (!tlo_custody_may(TLO_ACT_STOP, roles,
                              !memcmp(list[pick].recorder, me, 32) ? TLO_WHEN_RECORDER : 0)) {
        char detail[200];
        snprintf(detail, sizeof detail, "session %s was started by another interviewer",
                 list[pick].session);
        rc = custody_refuse_act(v, who, TLO_ACT_STOP, list[pick].case_id, detail, err);
    } else
        *out = list[pick];
    free(list);
    return rc;
}

int tlo_custody_stop_signal(tlo_custody *v, const tlo_custody_live *live, tlo_error *err)
{
    char file[120];
    snprintf(file, sizeof file, "locks/case-%s.lock", live->case_hex);
    char *path = tlo_custody_path(v, file);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    int pfd = fd >= 0 ? pidfd_open((pid_t)live->pid, 0) : -1;
    int rc = 0;
    /* The pidfd names the process for good: if it still holds the lock
     * now, the signal goes to the recorder, not to a pid reused since. */
    if (fd < 0 || pfd < 0 || !holds_lock(fd, live->pid))
        rc = tlo_fail(err, TLO_ENOTFOUND,
                      "session %s is not being recorded any more (%s no longer held): nothing "
                      "to stop",
                      live->session, path ? path : file);
    else if (pidfd_send_signal(pfd, SIGTERM, NULL, 0) != 0)
        rc = tlo_fail(err, errno == EPERM ? TLO_EDENIED : TLO_EIO,
                      "cannot signal the recording of session %s (process %ld): %s%s",
                      live->session, live->pid, strerror(errno),
                      errno == EPERM ? "; it runs as another user: run stop as that user, or "
                                       "through the custodian service"
                                     : "");
    if (pfd >= 0)
        close(pfd);
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}
