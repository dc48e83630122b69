/* A progress line for long work (export, verify, report): what the custody
 * verb reports through its tlo_custody_progress hook, drawn on stderr as
 * "exporting  42%  0:05 elapsed, 0:07 remaining" and redrawn in place.
 *
 * Only on a terminal (stderr isatty) and never in --json mode: piped or
 * logged output holds nothing of it. Redrawn at most 4 times a second; the
 * first line as soon as some work is done. The hook may be called from a
 * thread of the verb's (a decoder, a hashing pool): the drawing is under a
 * lock, and the line is cleared by cli_progress_end once the verb has
 * returned. */
#include "cli.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_NS 250000000LL /* at most 4 lines a second */

struct cli_progress {
    cli_progress_kind kind;
    pthread_mutex_t lock;
    int64_t start_ns, drawn_ns; /* drawn_ns: the last line drawn, 0: none yet */
    bool drawn;
    bool ledger;      /* the last line drawn was the ledger walk's */
    int64_t phase_ns; /* when the part drawn began: what "remaining" is reckoned from */
};

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* "M:SS", or "H:MM:SS" from an hour on. */
static void clock_text(char *out, size_t cap, int64_t ns)
{
    long long s = ns / 1000000000LL;
    if (s >= 3600)
        snprintf(out, cap, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, cap, "%lld:%02lld", s / 60, s % 60);
}

cli_progress *cli_progress_new(cli_progress_kind kind, bool json)
{
    if (json || !isatty(STDERR_FILENO))
        return NULL;
    cli_progress *p = calloc(1, sizeof *p);
    if (!p)
        return NULL; /* no progress shown: the work goes on */
    p->kind = kind;
    pthread_mutex_init(&p->lock, NULL);
    p->start_ns = p->phase_ns = now_ns();
    return p;
}

/* The time left of a part begun at phase_ns, done of total at now. */
static int64_t remaining_ns(int64_t phase_ns, int64_t now, uint64_t done, uint64_t total)
{
    return (int64_t)((double)(now - phase_ns) * (double)(total - done) / (double)done);
}

static void draw(void *ctx, uint64_t done, uint64_t total)
{
    cli_progress *p = ctx;
    if (total == 0 || done == 0)
        return;
    if (done > total)
        done = total;
    pthread_mutex_lock(&p->lock);
    int64_t now = now_ns();
    if (p->ledger) {
        /* The files after the ledger: a new line at once, its own pace. */
        p->ledger = false;
        p->drawn = false;
        p->phase_ns = now;
    }
    if (!p->drawn || now - p->drawn_ns >= REDRAW_NS) {
        int64_t elapsed = now - p->start_ns;
        int64_t left = remaining_ns(p->phase_ns, now, done, total);
        unsigned pct = (unsigned)(done * 100 / total);
        char e[32], r[32];
        clock_text(e, sizeof e, elapsed);
        clock_text(r, sizeof r, left);
        /* \r and "erase to the end of the line": redrawn in place. */
        fputs("\r\033[K", stderr);
        switch (p->kind) {
        case CLI_PROGRESS_EXPORT:
            fprintf(stderr, _("exporting %3u%%  %s elapsed, %s remaining"), pct, e, r);
            break;
        case CLI_PROGRESS_VERIFY:
            fprintf(stderr, _("verifying the sealed files %3u%%  %s elapsed, %s remaining"), pct, e,
                    r);
            break;
        case CLI_PROGRESS_REPORT:
            fprintf(stderr,
                    _("verifying the vault for the report %3u%%  %s elapsed, %s "
                      "remaining"),
                    pct, e, r);
            break;
        }
        fflush(stderr);
        p->drawn = true;
        p->drawn_ns = now;
    }
    pthread_mutex_unlock(&p->lock);
}

/* The ledger walk of verify and report (chain/verify.c), before the files:
 * entries walked of the ledger's size. */
static void draw_ledger(void *ctx, uint64_t done, uint64_t total)
{
    cli_progress *p = ctx;
    if (total == 0 || done == 0)
        return;
    if (done > total)
        done = total;
    pthread_mutex_lock(&p->lock);
    int64_t now = now_ns();
    /* The end of the walk always: its 100% is news (the files come next). */
    if (!p->drawn || now - p->drawn_ns >= REDRAW_NS || done == total) {
        char e[32], r[32];
        unsigned pct = (unsigned)(done * 100 / total);
        clock_text(e, sizeof e, now - p->start_ns);
        clock_text(r, sizeof r, remaining_ns(p->phase_ns, now, done, total));
        fputs("\r\033[K", stderr);
        if (p->kind == CLI_PROGRESS_REPORT)
            fprintf(stderr,
                    _("verifying the ledger for the report %3u%%  %s elapsed, %s remaining"), pct,
                    e, r);
        else
            fprintf(stderr, _("verifying the ledger %3u%%  %s elapsed, %s remaining"), pct, e, r);
        fflush(stderr);
        p->drawn = true;
        p->ledger = true;
        p->drawn_ns = now;
    }
    pthread_mutex_unlock(&p->lock);
}

tlo_custody_progress cli_progress_hook(cli_progress *p)
{
    return p ? (tlo_custody_progress){.fn = draw, .ledger = draw_ledger, .ctx = p}
             : (tlo_custody_progress){0};
}

void cli_progress_end(cli_progress *p)
{
    if (!p)
        return;
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    pthread_mutex_destroy(&p->lock);
    free(p);
}
