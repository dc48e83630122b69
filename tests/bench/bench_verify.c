/* bench_verify — how fast 'verify' hashes the media of a vault, on one
 * thread and on a pool of them (custody/verify.c, TELLONCE_VERIFY_THREADS).
 *
 * Makes a vault in a private folder (under TELLONCE_BENCH_TMPFS, else
 * /dev/shm, so the figure is the hashing and not the disk), logs one session
 * of --files segment files of --mib MiB of random bytes each, then times
 * tlo_custody_verify_media (the whole media check: the ledger walk, the
 * hashing, the comparisons) --reps times for each thread count, after one
 * untimed run that warms the page cache. Prints the median rate and its
 * ratio to one thread. Asserts nothing about speed; it does check that every
 * run verified every segment. The folder is removed at the end.
 *
 * usage: bench_verify [--files N] [--mib M] [--reps R] [--threads "1 2"] */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (every thread), user and system. */
static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int die(const char *what, const tlo_error *err)
{
    fprintf(stderr, "bench_verify: %s: %s\n", what, err ? err->msg : strerror(errno));
    return 1;
}

/* A vault whose one session has nfiles segments of mib MiB. */
static int make_vault(const char *dir, unsigned nfiles, unsigned mib, tlo_custody **out)
{
    tlo_error err = {0};
    tlo_custody_init_params ip = {.admin_name = "Bench Admin",
                                  .passphrase = "bench passphrase",
                                  .passphrase_len = 16,
                                  .kdf = TLO_KDF_INTERACTIVE};
    tlo_custody_init_result ir;
    tlo_vault_identity *admin = NULL;
    tlo_custody *v = NULL;
    if (tlo_custody_init(dir, &ip, &ir, &err) != 0)
        return die("init", &err);
    if (tlo_custody_open(dir, false, &v, &err) != 0 ||
        tlo_custody_unlock(v, "Bench Admin", "bench passphrase", 16, TLO_ROLE_ADMIN,
                           "administrator", &admin, &err) != 0)
        return die("open", &err);
    uint8_t case_id[TLO_ID_BYTES], sid[16];
    char session[33], body[1024];
    randombytes_buf(case_id, sizeof case_id);
    randombytes_buf(sid, sizeof sid);
    tlo_hex(session, sid, 16);
    char *objects = tlo_custody_path(v, "objects");
    mkdir(objects, 0700);
    free(objects);
    snprintf(body, sizeof body, "session=%s\n", session);
    if (custody_append(v, admin, TLO_ENTRY_SESSION_START, case_id, body, NULL, &err) != 0)
        return die("session-start", &err);
    size_t len = (size_t)mib << 20;
    uint8_t *buf = malloc(len);
    if (!buf)
        return die("malloc", NULL);
    for (unsigned i = 0; i < nfiles; i++) {
        uint8_t oid[16], h[32];
        char obj[33], sha[65];
        uint64_t size;
        randombytes_buf(oid, sizeof oid);
        tlo_hex(obj, oid, 16);
        randombytes_buf(buf, len);
        char *path = tlo_custody_object_path(v, obj);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        free(path);
        if (fd < 0 || tlo_write_all(fd, buf, len) != 0 || custody_hash_fd(fd, h, &size) != 0)
            return die("writing a segment file", NULL);
        close(fd);
        tlo_hex(sha, h, 32);
        snprintf(body, sizeof body,
                 "bytes=%llu\nciphertext_sha256=%s\nend_ms=%u\nindex=%u\nobject=%s\n"
                 "session=%s\nstart_ms=%u\n",
                 (unsigned long long)size, sha, (i + 1) * 4000, i, obj, session, i * 4000);
        if (custody_append(v, admin, TLO_ENTRY_SEGMENT, case_id, body, NULL, &err) != 0)
            return die("segment", &err);
    }
    free(buf);
    snprintf(body, sizeof body, "segments=%u\nsession=%s\n", nfiles, session);
    if (custody_append(v, admin, TLO_ENTRY_SESSION_END, case_id, body, NULL, &err) != 0)
        return die("session-end", &err);
    tlo_vault_identity_free(admin);
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned nfiles = 128, mib = 4, reps = 7;
    const char *threads = "1 2";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--files") && i + 1 < argc)
            nfiles = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mib") && i + 1 < argc)
            mib = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = argv[++i];
        else {
            fprintf(stderr, "usage: bench_verify [--files N] [--mib M] [--reps R] "
                            "[--threads \"1 2\"]\n");
            return 2;
        }
    }
    if (!nfiles || !mib || !reps || reps > 100)
        return 2;
    tlo_error err = {0};
    if (tlo_vault_init(&err) != 0)
        return die("init", &err);
    const char *base = getenv("TELLONCE_BENCH_TMPFS");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/bench-verify.XXXXXX", base && *base ? base : "/dev/shm");
    if (!mkdtemp(dir))
        return die("mkdtemp", NULL);
    char vault[4200];
    snprintf(vault, sizeof vault, "%s/vault", dir);
    tlo_custody *v = NULL;
    int rc = make_vault(vault, nfiles, mib, &v);
    double total = (double)nfiles * (double)((size_t)mib << 20), one = 0;
    double loads[3] = {0};
    if (getloadavg(loads, 3) < 0)
        loads[0] = -1;
    printf("bench_verify: %u segment files of %u MiB (%.2f GB) in %s; load average %.2f\n", nfiles,
           mib, total / 1e9, base && *base ? base : "/dev/shm", loads[0]);
    char list[256];
    snprintf(list, sizeof list, "%s", threads);
    for (char *save = NULL, *t = strtok_r(list, " ,", &save); rc == 0 && t;
         t = strtok_r(NULL, " ,", &save)) {
        setenv("TELLONCE_VERIFY_THREADS", t, 1);
        double s[100], wall = 0, cpus = 0;
        tlo_custody_media_report r;
        for (unsigned k = 0; rc == 0 && k <= reps; k++) {
            double t0 = now(), c0 = cpu();
            if (tlo_custody_verify_media(v, &r, &err) != 0 || !r.ok || r.segments != nfiles) {
                fprintf(stderr, "bench_verify: verify failed: %s\n", r.ok ? err.msg : r.problem);
                rc = 1;
            }
            if (k) { /* run 0 warms the page cache */
                s[k - 1] = now() - t0;
                wall += s[k - 1];
                cpus += cpu() - c0;
            }
        }
        if (rc)
            break;
        qsort(s, reps, sizeof s[0], cmp_double);
        double med = s[reps / 2], rate = total / med / 1e9;
        if (!one)
            one = rate;
        printf("  %2s thread%s  median %.3f s (min %.3f, max %.3f)  %.2f GB/s  %.2fx one "
               "thread\n",
               t, strcmp(t, "1") ? "s" : " ", med, s[0], s[reps - 1], rate, rate / one);
        /* On a busy machine the wall-clock rate says how much of the cores
         * the process got; these say what it did with them. */
        printf("             CPU %.2f s per run, %.2f cores busy, %.2f GB per CPU second\n",
               cpus / reps, cpus / wall, total * reps / cpus / 1e9);
    }
    if (getloadavg(loads, 3) >= 0)
        printf("  load average after: %.2f\n", loads[0]);
    tlo_custody_close(v);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_verify: could not remove %s\n", dir);
    return rc;
}
