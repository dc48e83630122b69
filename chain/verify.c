/* Verification of a whole ledger, with no secret: see tlo_chain_verify.
 *
 * Who may sign is itself in the ledger: the genesis entry (seq 0) enrols the
 * first administrator (who signs it) and the custodian; user-add entries,
 * signed by an administrator, enrol people with their roles; user-revoke
 * entries end a key's right to sign. Bodies (docs/ledger.md):
 *   genesis:     admin.box_pk, admin.name, admin.pk, custodian.box_pk,
 *                custodian.pk, custodian.sig, origin
 *   user-add:    name, pk, box_pk, roles (comma-separated)
 *   user-revoke: pk, reason */
#include "chain.h"
#include "merkle.h"

#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct key {
    uint8_t actor[TLO_HASH_BYTES]; /* SHA-256 of pk */
    uint8_t pk[32];
    unsigned roles;
    int64_t revoked_at; /* seq of the revocation, or -1 */
} key;

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
    key *keys;
    size_t nkeys, cap;
    uint64_t expect_seq;
    uint64_t last_time;
    uint8_t prev[TLO_HASH_BYTES];
    tlo_merkle_tree tree;
    const tlo_chain_anchor *anchors;
    size_t nanchors;
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

static key *find_key(walk *w, const uint8_t actor[static TLO_HASH_BYTES])
{
    for (size_t i = 0; i < w->nkeys; i++)
        if (memcmp(w->keys[i].actor, actor, TLO_HASH_BYTES) == 0)
            return &w->keys[i];
    return NULL;
}

/* Reads a 64-hex-digit public key field of a body. */
static bool get_pk(const tlo_entry *e, const char *field, uint8_t pk[static 32])
{
    size_t n;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, field, &n);
    char hex[65];
    if (!v || n != 64)
        return false;
    memcpy(hex, v, 64);
    hex[64] = '\0';
    return tlo_unhex(pk, 32, hex) == 0;
}

static bool parse_roles(const tlo_entry *e, unsigned *roles)
{
    size_t n;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "roles", &n);
    return v && tlo_roles_parse((const char *)v, n, roles) == 0;
}

static int enrol(walk *w, const uint8_t pk[static 32], unsigned roles)
{
    uint8_t actor[TLO_HASH_BYTES];
    crypto_hash_sha256(actor, pk, 32);
    if (find_key(w, actor))
        return 1; /* already enrolled */
    if (w->nkeys == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 16;
        key *k = realloc(w->keys, cap * sizeof *k);
        if (!k)
            return -1;
        w->keys = k;
        w->cap = cap;
    }
    key *k = &w->keys[w->nkeys++];
    memcpy(k->actor, actor, sizeof actor);
    memcpy(k->pk, pk, 32);
    k->roles = roles;
    k->revoked_at = -1;
    return 0;
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
    const char *why;
    uint8_t pk[32], box[32];
    (void)err;

    if (e->seq != w->expect_seq)
        return bad(w, w->expect_seq,
                   e->seq > w->expect_seq
                       ? "entry %llu is missing: the next entry is %llu (entries were deleted)"
                       : "entry %llu appears out of order (got %llu)",
                   (unsigned long long)w->expect_seq, (unsigned long long)e->seq);
    if (!tlo_entry_kind_name(e->kind))
        return bad(w, e->seq, "entry %llu has unknown kind %u", (unsigned long long)e->seq,
                   e->kind);
    if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        return bad(w, e->seq, "entry %llu has a body that is not canonical: %s",
                   (unsigned long long)e->seq, why);
    if (sodium_memcmp(e->prev, w->prev, TLO_HASH_BYTES) != 0)
        return bad(w, e->seq,
                   "entry %llu does not link to entry %llu: its previous-entry hash differs (the "
                   "entry before it was changed, removed or replaced, or this one was)",
                   (unsigned long long)e->seq, (unsigned long long)(e->seq - 1));
    if (e->time_ms < w->last_time)
        return bad(w, e->seq, "entry %llu is dated before the entry preceding it",
                   (unsigned long long)e->seq);

    if (e->seq == 0) {
        if (e->kind != TLO_ENTRY_GENESIS)
            return bad(w, 0, "entry 0 is not a genesis entry");
        if (!get_pk(e, "admin.pk", pk) || !get_pk(e, "admin.box_pk", box) ||
            !tlo_entry_body_get(e->body, e->body_len, "admin.name", &(size_t){0}))
            return bad(w, 0, "the genesis entry does not name the first administrator's keys");
        if (enrol(w, pk, TLO_ROLE_ADMIN) < 0)
            return -1;
        uint8_t cpk[32];
        if (!get_pk(e, "custodian.pk", cpk) || !get_pk(e, "custodian.box_pk", box))
            return bad(w, 0, "the genesis entry does not name the custodian's keys");
        /* The custodian countersigns the genesis: the vault's two keys
         * vouch for each other from the first entry on. */
        size_t n, mlen;
        const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "custodian.sig", &n);
        uint8_t sig[64];
        char hex[129];
        if (!v || n != 128)
            return bad(w, 0, "the genesis entry has no countersignature by the custodian");
        memcpy(hex, v, 128);
        hex[128] = '\0';
        uint8_t *msg = tlo_chain_genesis_message(e->body, e->body_len, &mlen);
        if (!msg)
            return -1;
        int ok =
            tlo_unhex(sig, 64, hex) == 0 && crypto_sign_verify_detached(sig, msg, mlen, cpk) == 0;
        free(msg);
        if (!ok)
            return bad(w, 0, "the custodian's countersignature of the genesis entry is invalid");
        if (enrol(w, cpk, TLO_ROLE_CUSTODIAN) < 0)
            return -1;
    } else if (e->kind == TLO_ENTRY_GENESIS) {
        return bad(w, e->seq, "entry %llu is a second genesis entry", (unsigned long long)e->seq);
    }

    key *k = find_key(w, e->actor);
    if (!k)
        return bad(w, e->seq, "entry %llu is signed by a key that was never enrolled",
                   (unsigned long long)e->seq);
    if (k->revoked_at >= 0)
        return bad(w, e->seq, "entry %llu is signed by a key revoked at entry %lld",
                   (unsigned long long)e->seq, (long long)k->revoked_at);
    if (e->seq == 0 && !(k->roles & TLO_ROLE_ADMIN))
        return bad(w, 0, "the genesis entry is not signed by the administrator it enrols");
    int deferred = defer_signature(w, e, k->pk);
    if (deferred != 0)
        return deferred; /* 1: a batched signature failed; -1: out of memory */

    if ((e->kind == TLO_ENTRY_GRANT || e->kind == TLO_ENTRY_GRANT_REVOKE) &&
        !(k->roles & TLO_ROLE_ADMIN))
        return bad(w, e->seq,
                   "entry %llu grants or revokes access but its signer is not an "
                   "administrator",
                   (unsigned long long)e->seq);
    if (e->kind == TLO_ENTRY_USER_ADD || e->kind == TLO_ENTRY_USER_REVOKE) {
        if (!(k->roles & TLO_ROLE_ADMIN))
            return bad(w, e->seq,
                       "entry %llu changes enrolment but its signer is not an "
                       "administrator",
                       (unsigned long long)e->seq);
        if (!get_pk(e, "pk", pk))
            return bad(w, e->seq, "entry %llu does not name a public key",
                       (unsigned long long)e->seq);
        if (e->kind == TLO_ENTRY_USER_ADD) {
            unsigned roles;
            if (!get_pk(e, "box_pk", box) || !parse_roles(e, &roles))
                return bad(w, e->seq, "entry %llu enrols a person without valid keys or roles",
                           (unsigned long long)e->seq);
            int rc = enrol(w, pk, roles);
            if (rc < 0)
                return -1;
            if (rc > 0)
                return bad(w, e->seq, "entry %llu enrols a key that is already enrolled",
                           (unsigned long long)e->seq);
        } else {
            uint8_t actor[TLO_HASH_BYTES];
            crypto_hash_sha256(actor, pk, 32);
            key *victim = find_key(w, actor);
            if (!victim || victim->revoked_at >= 0)
                return bad(w, e->seq, "entry %llu revokes a key that is not enrolled",
                           (unsigned long long)e->seq);
            victim->revoked_at = (int64_t)e->seq;
        }
    }

    if (tlo_merkle_tree_append(&w->tree, leaf, NULL) != 0)
        return -1;
    for (size_t i = 0; i < w->nanchors; i++) {
        if (w->anchors[i].size != e->seq + 1)
            continue;
        uint8_t root[TLO_HASH_BYTES];
        tlo_merkle_tree_root(&w->tree, root);
        if (sodium_memcmp(root, w->anchors[i].root, TLO_HASH_BYTES) != 0)
            return bad(w, e->seq,
                       "the first %llu entries do not match %s: their Merkle root differs, so "
                       "the ledger was rewritten or forked since (an entry up to %llu was "
                       "changed, removed or replaced)",
                       (unsigned long long)(e->seq + 1), w->anchors[i].label,
                       (unsigned long long)e->seq);
    }
    memcpy(w->prev, leaf, TLO_HASH_BYTES);
    w->last_time = e->time_ms;
    w->expect_seq++;
    w->r->entries++;
    return 0;
}

int tlo_chain_verify(tlo_chain *c, tlo_chain_report *report, tlo_error *err)
{
    return tlo_chain_verify_anchored(c, NULL, 0, report, err);
}

int tlo_chain_verify_anchored(tlo_chain *c, const tlo_chain_anchor *anchors, size_t nanchors,
                              tlo_chain_report *report, tlo_error *err)
{
    walk w = {.r = report, .anchors = anchors, .nanchors = nanchors};
    start_workers(&w);
    uint8_t stored_root[TLO_HASH_BYTES];
    uint64_t stored_size;

    memset(report, 0, sizeof *report);
    report->ok = true;
    report->first_bad = -1;
    tlo_error local = {0};
    tlo_merkle_tree_init(&w.tree);
    int rc = tlo_chain_walk(c, 0, visit, &w, &local);
    finish_workers(&w); /* every queued signature, and what preceded a failure */
    if (rc == -1)
        rc = tlo_fail(&local, TLO_ENOMEM, "out of memory verifying the ledger");
    if (rc < 0 && rc != TLO_EFORMAT) {
        free(w.keys);
        if (err)
            *err = local;
        return rc;
    }
    if (rc == TLO_EFORMAT && report->ok) {
        /* A row that is not even an entry. */
        report->ok = false;
        report->first_bad = (int64_t)w.expect_seq;
        snprintf(report->problem, sizeof report->problem, "%s", local.msg);
    }
    free(w.keys);
    tlo_merkle_tree_root(&w.tree, report->root);
    if (!report->ok) {
        /* Entries the walk passed after the first bad one do not count. */
        if (report->first_bad >= 0 && report->entries > (uint64_t)report->first_bad)
            report->entries = (uint64_t)report->first_bad;
        return 0;
    }
    if (w.expect_seq == 0) {
        report->ok = false;
        snprintf(report->problem, sizeof report->problem, "the ledger has no entries");
        return 0;
    }
    for (size_t i = 0; i < nanchors; i++)
        if (anchors[i].size > w.expect_seq || anchors[i].size == 0) {
            report->ok = false;
            report->first_bad = (int64_t)w.expect_seq;
            snprintf(report->problem, sizeof report->problem,
                     "the ledger has %llu entries, but %s covers %llu: entries were removed "
                     "from its end",
                     (unsigned long long)w.expect_seq, anchors[i].label,
                     (unsigned long long)anchors[i].size);
            return 0;
        }
    if ((rc = tlo_chain_root(c, &stored_size, stored_root, &local)) != 0) {
        report->ok = false;
        snprintf(report->problem, sizeof report->problem, "%s", local.msg);
        return 0;
    }
    if (stored_size != w.expect_seq || sodium_memcmp(stored_root, report->root, 32) != 0) {
        report->ok = false;
        report->first_bad = (int64_t)(stored_size < w.expect_seq ? stored_size : w.expect_seq);
        snprintf(report->problem, sizeof report->problem,
                 "the stored Merkle tree (%llu entries) does not match the %llu entries: entries "
                 "were added or changed outside tellonce",
                 (unsigned long long)stored_size, (unsigned long long)w.expect_seq);
    }
    return tlo_chain_verify_nodes(c, report, err); /* the stored subtrees (chain/nodes.c) */
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
