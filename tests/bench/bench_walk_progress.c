/* bench_walk_progress — what the ledger walk's progress callback costs
 * (chain/verify.c, tlo_chain_verify_progress; issue 13: it must cost < 2%).
 *
 * Verifies the ledger LEDGER_DB (read-only) REPS times each way, the two
 * alternating so that a busy machine slows both alike: without a callback,
 * and with one that does what cli/progress.c does (a clock read and a lock
 * at each call, a line formatted at most 4 times a second, into a buffer:
 * the terminal's own time is not the callback's). Prints the median wall and
 * CPU seconds of each and their ratio. Asserts nothing about speed; it
 * checks that every run verified the same entries.
 *
 * usage: bench_walk_progress LEDGER_DB [REPS]   (a vault's ledger.db; make
 * one of 10^5 entries with tellonce init + bench_scale_fill VAULT PASS 100000) */
#include "chain.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

typedef struct shown {
    pthread_mutex_t lock;
    double drawn;
    unsigned calls, lines;
    char line[160];
} shown;

static void draw(void *ctx, uint64_t done, uint64_t total)
{
    shown *s = ctx;
    pthread_mutex_lock(&s->lock);
    double t = now();
    s->calls++;
    if (t - s->drawn >= 0.25 || done == total) {
        snprintf(s->line, sizeof s->line, "\r\033[Kverifying the ledger %3u%%",
                 (unsigned)(done * 100 / total));
        s->drawn = t;
        s->lines++;
    }
    pthread_mutex_unlock(&s->lock);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: bench_walk_progress LEDGER_DB [REPS]\n");
        return 2;
    }
    int reps = argc == 3 ? atoi(argv[2]) : 5;
    if (reps < 1 || reps > 100)
        reps = 5;
    tlo_error err = {0};
    tlo_chain *c = tlo_chain_open(argv[1], true, &err);
    if (!c) {
        fprintf(stderr, "bench_walk_progress: %s\n", err.msg);
        return 1;
    }
    double wall[2][100], used[2][100];
    uint64_t entries = 0;
    shown s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    for (int r = 0; r < reps; r++)
        for (int with = 0; with < 2; with++) {
            tlo_chain_report rep;
            tlo_chain_progress p = with ? (tlo_chain_progress){draw, &s} : (tlo_chain_progress){0};
            double t0 = now(), c0 = cpu();
            if (tlo_chain_verify_progress(c, NULL, 0, p, &rep, &err) != 0 || !rep.ok) {
                fprintf(stderr, "bench_walk_progress: %s%s\n", err.msg, rep.problem);
                return 1;
            }
            wall[with][r] = now() - t0;
            used[with][r] = cpu() - c0;
            if (entries && rep.entries != entries) {
                fprintf(stderr, "bench_walk_progress: %llu entries, then %llu\n",
                        (unsigned long long)entries, (unsigned long long)rep.entries);
                return 1;
            }
            entries = rep.entries;
        }
    double w0 = median(wall[0], reps), w1 = median(wall[1], reps);
    double u0 = median(used[0], reps), u1 = median(used[1], reps);
    printf("%llu entries, %d runs each: without the callback %.3f s wall, %.3f s CPU; with it "
           "%.3f s wall, %.3f s CPU (%u calls, %u lines a run): wall %+.2f%%, CPU %+.2f%%\n",
           (unsigned long long)entries, reps, w0, u0, w1, u1, s.calls / (unsigned)reps,
           s.lines / (unsigned)reps, (w1 / w0 - 1) * 100, (u1 / u0 - 1) * 100);
    tlo_chain_close(c);
    return 0;
}
