/* Verification of a ledger, with no secret: see tlo_chain_verify.
 *
 * What each entry must be, who may sign it and what its body holds is the
 * table and the state of rules.c; this file walks the ledger, checks the
 * signatures on every core, and compares the tree with the stored one and
 * with the checkpoints a caller brings. */
#include "chain.h"
#include "merkle.h"
#include "rules.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Signatures are checked on every core while the walk goes on: each costs
 * ~45 us, the rest of the walk a few us. The walk queues them in chunks;
 * worker threads (one per other core) take chunks from the queue, and the
 * walking thread takes one too whenever the queue is long, so all cores
 * verify. The walk goes on optimistically: the earliest failing signature
 * overrides any later failure the walk found. */
#define CHUNK 256
#define MAX_THREADS 16
#define QUEUE_HIGH 8 /* chunks waiting before the walking thread helps */

typedef struct pending {
    uint64_t seq;
    uint8_t pk[32];
    uint8_t sig[64];
    uint8_t *msg;
    size_t msg_len;
} pending;

typedef struct chunk {
    pending items[CHUNK];
    size_t n;
    struct chunk *next;
} chunk;

typedef struct sigq {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    chunk *head, *tail;
    size_t queued;
    int closed;
    uint64_t min_bad; /* seq of the earliest failing signature, or UINT64_MAX */
    uint64_t verified;
} sigq;

typedef struct walk {
    sigq q;
    chunk *cur;
    int nthreads, nworkers;
    pthread_t workers[MAX_THREADS];
    tlo_chain_report *r;
    tlo_chain_state *st;
    const tlo_chain_anchor *anchors;
    size_t nanchors;
    tlo_chain_progress progress;
    uint64_t walked, total; /* entries visited, and how many there are to visit */
} walk;

static int bad(walk *w, uint64_t seq, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bad(walk *w, uint64_t seq, const char *fmt, ...)
{
    va_list ap;
    w->r->ok = false;
    w->r->first_bad = (int64_t)seq;
    va_start(ap, fmt);
    vsnprintf(w->r->problem, sizeof w->r->problem, fmt, ap);
    va_end(ap);
    return 1; /* stop the walk */
}

/* Verifies a chunk; records its earliest failure in the queue. Frees it. */
static void check_chunk(sigq *q, chunk *c)
{
    uint64_t bad_seq = UINT64_MAX;
    size_t ok = 0;
    for (size_t i = 0; i < c->n; i++) {
        pending *p = &c->items[i];
        if (bad_seq == UINT64_MAX) {
            if (crypto_sign_verify_detached(p->sig, p->msg, p->msg_len, p->pk) == 0)
                ok++;
            else
                bad_seq = p->seq;
        }
        free(p->msg);
    }
    free(c);
    pthread_mutex_lock(&q->mu);
    q->verified += ok;
    if (bad_seq < q->min_bad)
        q->min_bad = bad_seq;
    pthread_mutex_unlock(&q->mu);
}

/* Takes a chunk from the queue, waiting for one unless `wait` is 0; NULL
 * when the queue is empty and (if waiting) closed. */
static chunk *take(sigq *q, int wait)
{
    pthread_mutex_lock(&q->mu);
    while (wait && !q->head && !q->closed)
        pthread_cond_wait(&q->cv, &q->mu);
    chunk *c = q->head;
    if (c) {
        q->head = c->next;
        if (!q->head)
            q->tail = NULL;
        q->queued--;
    }
    pthread_mutex_unlock(&q->mu);
    return c;
}

static void *worker(void *arg)
{
    sigq *q = arg;
    chunk *c;
    while ((c = take(q, 1)))
        check_chunk(q, c);
    return NULL;
}

/* Queues the current chunk; helps verify when the workers are behind (or
 * when there are none). Returns 1 once a signature has failed, to stop. */
static int submit(walk *w)
{
    chunk *c = w->cur;
    w->cur = NULL;
    if (!c || c->n == 0) {
        free(c);
    } else if (w->nworkers == 0) {
        check_chunk(&w->q, c);
    } else {
        pthread_mutex_lock(&w->q.mu);
        if (w->q.tail)
            w->q.tail->next = c;
        else
            w->q.head = c;
        w->q.tail = c;
        size_t queued = ++w->q.queued;
        pthread_cond_signal(&w->q.cv);
        pthread_mutex_unlock(&w->q.mu);
        if (queued > QUEUE_HIGH && (c = take(&w->q, 0)))
            check_chunk(&w->q, c);
    }
    pthread_mutex_lock(&w->q.mu);
    int failed = w->q.min_bad != UINT64_MAX;
    pthread_mutex_unlock(&w->q.mu);
    return failed;
}

static int defer_signature(walk *w, const tlo_entry *e, const uint8_t pk[static 32])
{
    if (!w->cur && !(w->cur = calloc(1, sizeof *w->cur)))
        return -1;
    pending *p = &w->cur->items[w->cur->n];
    size_t cap = 32 + TLO_ENTRY_FIXED_BYTES + e->body_len;
    p->msg = malloc(cap);
    if (!p->msg)
        return -1;
    p->msg_len = tlo_entry_signed_message(e, p->msg, cap);
    p->seq = e->seq;
    memcpy(p->pk, pk, 32);
    memcpy(p->sig, e->sig, 64);
    if (++w->cur->n == CHUNK && submit(w) != 0)
        return 1; /* stop: a signature failed */
    return 0;
}

static void start_workers(walk *w)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    w->nthreads = cpus < 1 ? 1 : cpus > MAX_THREADS ? MAX_THREADS : (int)cpus;
    pthread_mutex_init(&w->q.mu, NULL);
    pthread_cond_init(&w->q.cv, NULL);
    w->q.min_bad = UINT64_MAX;
    for (int t = 0; t + 1 < w->nthreads; t++)
        if (pthread_create(&w->workers[w->nworkers], NULL, worker, &w->q) == 0)
            w->nworkers++;
}

/* Drains the queue (helping), joins the workers, and folds the earliest
 * signature failure into the report. */
static void finish_workers(walk *w)
{
    chunk *c;
    submit(w);
    while ((c = take(&w->q, 0)))
        check_chunk(&w->q, c);
    pthread_mutex_lock(&w->q.mu);
    w->q.closed = 1;
    pthread_cond_broadcast(&w->q.cv);
    pthread_mutex_unlock(&w->q.mu);
    for (int t = 0; t < w->nworkers; t++)
        pthread_join(w->workers[t], NULL);
    pthread_mutex_destroy(&w->q.mu);
    pthread_cond_destroy(&w->q.cv);
    w->r->signatures = w->q.verified;
    uint64_t seq = w->q.min_bad;
    if (seq != UINT64_MAX && (w->r->ok || (uint64_t)w->r->first_bad > seq)) {
        w->r->ok = false;
        w->r->first_bad = (int64_t)seq;
        snprintf(w->r->problem, sizeof w->r->problem,
                 "entry %llu has an invalid signature: its content was changed after it was "
                 "signed",
                 (unsigned long long)seq);
    }
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                 tlo_error *err)
{
    walk *w = ctx;
    uint8_t pk[32];
    (void)err;

    /* The table of kinds and the state (rules.c); the signature later. */
    uint64_t at = tlo_chain_state_size(w->st);
    int rc = tlo_chain_state_check(w->st, e, leaf, pk, w->r->problem, sizeof w->r->problem);
    if (rc > 0) {
        w->r->ok = false;
        w->r->first_bad = (int64_t)(e->seq > at ? at : e->seq); /* a gap: the missing one */
        return 1;
    }
    if (rc < 0)
        return -1;
    int deferred = defer_signature(w, e, pk);
    if (deferred != 0)
        return deferred; /* 1: a batched signature failed; -1: out of memory */

    uint64_t size = tlo_chain_state_size(w->st);
    for (size_t i = 0; i < w->nanchors; i++) {
        if (w->anchors[i].size != size)
            continue;
        uint8_t root[TLO_HASH_BYTES];
        tlo_chain_state_root(w->st, root);
        if (sodium_memcmp(root, w->anchors[i].root, TLO_HASH_BYTES) != 0)
            return bad(w, e->seq,
                       "the first %llu entries do not match %s: their Merkle root differs, so "
                       "the ledger was rewritten or forked since (an entry up to %llu was "
                       "changed, removed or replaced)",
                       (unsigned long long)size, w->anchors[i].label, (unsigned long long)e->seq);
    }
    w->r->entries++;
    /* A test and a branch per entry; a call every STEP entries. */
    if (w->progress.fn && ++w->walked % TLO_CHAIN_PROGRESS_STEP == 0)
        w->progress.fn(w->progress.ctx, w->walked < w->total ? w->walked : w->total, w->total);
    return 0;
}

int tlo_chain_verify(tlo_chain *c, tlo_chain_report *report, tlo_error *err)
{
    return tlo_chain_verify_anchored(c, NULL, 0, report, err);
}

static int verify_state(tlo_chain *c, tlo_chain_state *st, const tlo_chain_anchor *anchors,
                        size_t nanchors, tlo_chain_progress progress, tlo_chain_report *report,
                        tlo_error *err);

int tlo_chain_verify_anchored(tlo_chain *c, const tlo_chain_anchor *anchors, size_t nanchors,
                              tlo_chain_report *report, tlo_error *err)
{
    return tlo_chain_verify_progress(c, anchors, nanchors, (tlo_chain_progress){0}, report, err);
}

int tlo_chain_verify_progress(tlo_chain *c, const tlo_chain_anchor *anchors, size_t nanchors,
                              tlo_chain_progress progress, tlo_chain_report *report, tlo_error *err)
{
    tlo_chain_state *st = tlo_chain_state_new();
    if (!st)
        return tlo_fail(err, TLO_ENOMEM, "out of memory verifying the ledger");
    int rc = verify_state(c, st, anchors, nanchors, progress, report, err);
    uint64_t size = tlo_chain_state_size(st), stored_size;
    uint8_t stored_root[TLO_HASH_BYTES];
    tlo_error local = {0};
    tlo_chain_state_free(st);
    if (rc || !report->ok)
        return rc;
    /* The stored tree (what the next append builds on) is the entries'. */
    if ((rc = tlo_chain_root(c, &stored_size, stored_root, &local)) != 0) {
        report->ok = false;
        snprintf(report->problem, sizeof report->problem, "%s", local.msg);
        return 0;
    }
    if (stored_size != size || sodium_memcmp(stored_root, report->root, 32) != 0) {
        report->ok = false;
        report->first_bad = (int64_t)(stored_size < size ? stored_size : size);
        snprintf(report->problem, sizeof report->problem,
                 "the stored Merkle tree (%llu entries) does not match the %llu entries: entries "
                 "were added or changed outside tellonce",
                 (unsigned long long)stored_size, (unsigned long long)size);
    }
    return tlo_chain_verify_nodes(c, report, err); /* the stored subtrees (chain/nodes.c) */
}

int tlo_chain_verify_state(tlo_chain *c, tlo_chain_state *st, const tlo_chain_anchor *anchors,
                           size_t nanchors, tlo_chain_report *report, tlo_error *err)
{
    return verify_state(c, st, anchors, nanchors, (tlo_chain_progress){0}, report, err);
}

static int verify_state(tlo_chain *c, tlo_chain_state *st, const tlo_chain_anchor *anchors,
                        size_t nanchors, tlo_chain_progress progress, tlo_chain_report *report,
                        tlo_error *err)
{
    walk w = {
        .r = report, .st = st, .anchors = anchors, .nanchors = nanchors, .progress = progress};
    uint64_t from = tlo_chain_state_size(st), size_now = 0;

    memset(report, 0, sizeof *report);
    report->ok = true;
    report->first_bad = -1;
    if (progress.fn) {
        /* The size for the percentage only: a failed count shows none. */
        tlo_error ignored = {0};
        if (tlo_chain_size(c, &size_now, &ignored) != 0 || size_now <= from)
            w.progress.fn = NULL;
        else
            w.total = size_now - from;
    }
    start_workers(&w);
    tlo_error local = {0};
    int rc = tlo_chain_walk(c, from, visit, &w, &local);
    finish_workers(&w); /* every queued signature, and what preceded a failure */
    if (w.progress.fn && w.walked)
        w.progress.fn(w.progress.ctx, w.walked < w.total ? w.walked : w.total, w.total);
    if (rc == -1)
        rc = tlo_fail(&local, TLO_ENOMEM, "out of memory verifying the ledger");
    if (rc < 0 && rc != TLO_EFORMAT) {
        if (err)
            *err = local;
        return rc;
    }
    uint64_t size = tlo_chain_state_size(st);
    if (rc == TLO_EFORMAT && report->ok) {
        /* A row that is not even an entry. */
        report->ok = false;
        report->first_bad = (int64_t)size;
        snprintf(report->problem, sizeof report->problem, "%s", local.msg);
    }
    tlo_chain_state_root(st, report->root);
    if (!report->ok) {
        /* Entries the walk passed after the first bad one do not count. */
        if (report->first_bad >= 0 && report->entries + from > (uint64_t)report->first_bad)
            report->entries = (uint64_t)report->first_bad - from;
        return 0;
    }
    if (size == 0) {
        report->ok = false;
        snprintf(report->problem, sizeof report->problem, "the ledger has no entries");
        return 0;
    }
    for (size_t i = 0; i < nanchors; i++)
        if (anchors[i].size > size || anchors[i].size == 0) {
            report->ok = false;
            report->first_bad = (int64_t)size;
            snprintf(report->problem, sizeof report->problem,
                     "the ledger has %llu entries, but %s covers %llu: entries were removed "
                     "from its end",
                     (unsigned long long)size, anchors[i].label,
                     (unsigned long long)anchors[i].size);
            return 0;
        }
    return 0;
}

uint8_t *tlo_chain_genesis_message(const uint8_t *body, size_t len, size_t *out_len)
{
    static const char ctx[] = "tellonce/v1 genesis\n";
    static const char skip[] = "custodian.sig=";
    uint8_t *msg = malloc(sizeof ctx + len);
    size_t n = sizeof ctx - 1, i = 0;
    *out_len = 0;
    if (!msg)
        return NULL;
    memcpy(msg, ctx, n);
    while (i < len) {
        const uint8_t *nl = memchr(body + i, '\n', len - i);
        size_t line = nl ? (size_t)(nl - (body + i)) + 1 : len - i;
        if (!(line >= sizeof skip - 1 && memcmp(body + i, skip, sizeof skip - 1) == 0)) {
            memcpy(msg + n, body + i, line);
            n += line;
        }
        i += line;
    }
    *out_len = n;
    return msg;
}

typedef struct leaves {
    uint8_t (*h)[TLO_HASH_BYTES];
    uint64_t n, want;
} leaves;

static int collect(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                   tlo_error *err)
{
    leaves *l = ctx;
    if (e->seq != l->n)
        return tlo_fail(err, TLO_EFORMAT,
                        "entry %llu is missing from the ledger; run 'tellonce verify'",
                        (unsigned long long)l->n);
    memcpy(l->h[l->n++], leaf, TLO_HASH_BYTES);
    return l->n == l->want ? 1 : 0;
}

int tlo_chain_leaf_hashes(tlo_chain *c, uint64_t n, uint8_t (**out)[TLO_HASH_BYTES], tlo_error *err)
{
    leaves l = {.want = n};
    *out = NULL;
    if (n == 0 || n > (UINT64_C(1) << 40))
        return tlo_fail(err, TLO_ERANGE, "no leaves to read");
    l.h = malloc((size_t)n * TLO_HASH_BYTES);
    if (!l.h)
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading %llu leaf hashes",
                        (unsigned long long)n);
    int rc = tlo_chain_walk(c, 0, collect, &l, err);
    if (rc < 0 || l.n != n) {
        free(l.h);
        return rc < 0 ? rc
                      : tlo_fail(err, TLO_ERANGE, "the ledger has only %llu entries, not %llu",
                                 (unsigned long long)l.n, (unsigned long long)n);
    }
    *out = l.h;
    return 0;
}
