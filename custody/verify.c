/* Verification for auditors: the ledger's chain, its checkpoints and the
 * media it names. Needs no key: it hashes the sealed files.
 *
 * The media part: every sealed segment the ledger names is in the vault with
 * the digest its entry recorded, every session's segments run 0, 1, 2, ...
 * contiguous on the session clock, and every session was ended.
 *
 * The walk checks the entries and collects the segment files; the files are
 * then hashed by a pool of threads, one per core (TELLONCE_VERIFY_THREADS
 * sets how many, for benchmarks: tests/bench/bench_verify.c), and the first
 * problem in ledger order is the one reported, as if the walk had hashed
 * each file in turn. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct sess {
    char id[33];
    char case_hex[33];
    uint64_t start_seq, next_index;
    uint64_t end_ms; /* where the last segment ends on the session clock */
    int ended;
} sess;

/* One segment file to hash: what its entry logged, and what was found. */
typedef struct seg_file {
    uint64_t seq, bytes;
    char id[40], idx[24], obj[40], sha[70]; /* as the entry has them */
    int rc;                                 /* 0, or -errno */
    uint64_t size;
    uint8_t got[32];
} seg_file;

typedef struct media {
    tlo_custody *v;
    sess *s;
    size_t n, cap;
    seg_file *f;
    size_t nf, fcap;
    uint64_t cur_seq;     /* the entry the walk is at */
    uint64_t problem_seq; /* the entry of the walk's problem, UINT64_MAX: none */
    tlo_custody_media_report *r;
    tlo_custody_progress progress; /* bytes hashed, of the bytes the entries logged */
} media;

static int problem(media *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(media *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->r->problem, sizeof m->r->problem, fmt, ap);
    va_end(ap);
    m->r->ok = false;
    return 1; /* stop the walk at the first problem */
}

static sess *find(media *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->s[i].id, id))
            return &m->s[i];
    return NULL;
}

/* SHA-256 and size of a file. */
static int hash_file(const char *path, uint8_t out[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = custody_hash_fd(fd, out, size);
    close(fd);
    return rc;
}

static int session_start(media *m, const tlo_entry *e)
{
    char id[40];
    if (tlo_entry_str(e, "session", id, sizeof id) != 0 || strlen(id) != 32)
        return problem(m, "entry %llu starts a session without a session id",
                       (unsigned long long)e->seq);
    if (find(m, id))
        return problem(m, "entry %llu starts session %s a second time", (unsigned long long)e->seq,
                       id);
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 16;
        sess *s = realloc(m->s, cap * sizeof *s);
        if (!s)
            return TLO_ENOMEM;
        m->s = s;
        m->cap = cap;
    }
    sess *s = &m->s[m->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%s", id);
    tlo_hex(s->case_hex, e->case_id, 16);
    s->start_seq = e->seq;
    return 0;
}

/* Keeps the segment's file for the hashing after the walk. */
static int segment_file(media *m, const tlo_entry *e, const char *id, const char *idx,
                        const char *obj, const char *sha, const char *bytes)
{
    if (m->nf == m->fcap) {
        size_t cap = m->fcap ? 2 * m->fcap : 256;
        seg_file *f = realloc(m->f, cap * sizeof *f);
        if (!f)
            return TLO_ENOMEM;
        m->f = f;
        m->fcap = cap;
    }
    seg_file *f = &m->f[m->nf++];
    memset(f, 0, sizeof *f);
    f->seq = e->seq;
    f->bytes = strtoull(bytes, NULL, 10);
    snprintf(f->id, sizeof f->id, "%s", id);
    snprintf(f->idx, sizeof f->idx, "%s", idx);
    snprintf(f->obj, sizeof f->obj, "%s", obj);
    snprintf(f->sha, sizeof f->sha, "%s", sha);
    return 0;
}

/* The pool: each thread takes the next file until none is left. */
typedef struct pool {
    media *m;
    atomic_size_t next;
    pthread_mutex_t lock; /* the progress callback, one thread at a time */
    uint64_t done, total; /* under lock: the logged bytes of the files hashed, of all */
} pool;

static void *hash_worker(void *arg)
{
    pool *p = arg;
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->m->nf;) {
        seg_file *f = &p->m->f[i];
        char *path = tlo_custody_object_path(p->m->v, f->obj);
        f->rc = path ? hash_file(path, f->got, &f->size) : -ENOMEM;
        free(path);
        if (p->m->progress.fn) {
            pthread_mutex_lock(&p->lock);
            p->done += f->bytes;
            p->m->progress.fn(p->m->progress.ctx, p->done < p->total ? p->done : p->total,
                              p->total);
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

static unsigned hash_threads(size_t files)
{
    const char *env = getenv("TELLONCE_VERIFY_THREADS");
    long n = env && *env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > 64)
        n = 64;
    return (size_t)n > files ? (unsigned)(files ? files : 1) : (unsigned)n;
}

static void hash_all(media *m)
{
    pool p = {.m = m, .lock = PTHREAD_MUTEX_INITIALIZER};
    atomic_init(&p.next, 0);
    for (size_t i = 0; i < m->nf; i++)
        p.total += m->f[i].bytes;
    unsigned n = hash_threads(m->nf), started = 0;
    pthread_t t[64];
    for (unsigned k = 1; k < n; k++) /* this thread is the first */
        if (pthread_create(&t[started], NULL, hash_worker, &p) == 0)
            started++;
    hash_worker(&p);
    for (unsigned k = 0; k < started; k++)
        pthread_join(t[k], NULL);
}

/* The first file (in ledger order, before the walk's own problem) that is
 * missing or not what its entry logged. */
static void file_problems(media *m)
{
    for (size_t i = 0; i < m->nf; i++) {
        const seg_file *f = &m->f[i];
        char name[80], got_hex[65];
        if (f->seq > m->problem_seq)
            return;
        snprintf(name, sizeof name, "objects/%s.tlo", f->obj);
        if (f->rc == -ENOENT) {
            /* A recovery killed after it logged a part, before it moved it. */
            char tname[80], *tpath;
            struct stat st;
            snprintf(tname, sizeof tname, "tmp/%s.tlo", f->obj);
            bool waiting = (tpath = tlo_custody_path(m->v, tname)) && stat(tpath, &st) == 0;
            free(tpath);
            problem(m, "session %s, segment %s: the file %s is missing (entry %llu)%s", f->id,
                    f->idx, name, (unsigned long long)f->seq,
                    waiting ? "; it is in tmp/, where an interrupted recovery left it: run "
                              "'tellonce recover' to finish it"
                            : "");
            return;
        }
        if (f->rc < 0) {
            problem(m, "session %s, segment %s: cannot read %s: %s", f->id, f->idx, name,
                    strerror(-f->rc));
            return;
        }
        tlo_hex(got_hex, f->got, 32);
        if (strcmp(got_hex, f->sha) != 0 || f->size != f->bytes) {
            problem(m,
                    "session %s, segment %s: %s is not the file that was recorded (its "
                    "SHA-256 differs from entry %llu): it was replaced or altered",
                    f->id, f->idx, name, (unsigned long long)f->seq);
            return;
        }
        m->r->segments++;
    }
}

static int segment(media *m, const tlo_entry *e)
{
    char id[40], idx[24], obj[40], sha[70], bytes[24], start[24], end[24];
    if (tlo_entry_str(e, "session", id, sizeof id) != 0 ||
        tlo_entry_str(e, "index", idx, sizeof idx) != 0 ||
        tlo_entry_str(e, "object", obj, sizeof obj) != 0 || strlen(obj) != 32 ||
        tlo_entry_str(e, "ciphertext_sha256", sha, sizeof sha) != 0 ||
        tlo_entry_str(e, "bytes", bytes, sizeof bytes) != 0 ||
        tlo_entry_str(e, "start_ms", start, sizeof start) != 0 ||
        tlo_entry_str(e, "end_ms", end, sizeof end) != 0)
        return problem(m, "entry %llu is a segment entry without its fields",
                       (unsigned long long)e->seq);
    sess *s = find(m, id);
    if (!s || s->ended)
        return problem(m, "entry %llu logs a segment of session %s, which %s",
                       (unsigned long long)e->seq, id, s ? "had ended" : "never started");
    if (strtoull(idx, NULL, 10) != s->next_index)
        return problem(
            m, "session %s: segment %llu is missing or out of order (entry %llu logs segment %s)",
            id, (unsigned long long)s->next_index, (unsigned long long)e->seq, idx);
    /* Contiguous on the session clock: each segment starts where the one
     * before it ended, and ends after it starts. */
    uint64_t start_ms = strtoull(start, NULL, 10), end_ms = strtoull(end, NULL, 10);
    if ((s->next_index > 0 && start_ms != s->end_ms) || end_ms < start_ms)
        return problem(m,
                       "session %s, segment %s (entry %llu): its times %s-%s ms on the "
                       "session clock do not follow the segment before it (which ended at "
                       "%llu ms)",
                       id, idx, (unsigned long long)e->seq, start, end,
                       (unsigned long long)s->end_ms);
    s->end_ms = end_ms;
    int rc = segment_file(m, e, id, idx, obj, sha, bytes);
    if (rc)
        return rc;
    s->next_index++;
    return 0;
}

static int session_end(media *m, const tlo_entry *e)
{
    char id[40], segs[24];
    sess *s = tlo_entry_str(e, "session", id, sizeof id) == 0 ? find(m, id) : NULL;
    if (!s || s->ended)
        return problem(m, "entry %llu ends a session that %s", (unsigned long long)e->seq,
                       s ? "had already ended" : "never started");
    if (tlo_entry_str(e, "segments", segs, sizeof segs) == 0 &&
        strtoull(segs, NULL, 10) != s->next_index)
        return problem(m, "session %s ended with %s segments, but %llu are logged", id, segs,
                       (unsigned long long)s->next_index);
    s->ended = 1;
    return 0;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    media *m = ctx;
    char id[40];
    (void)leaf;
    (void)err;
    m->cur_seq = e->seq;
    if (e->kind == TLO_ENTRY_SESSION_START)
        return session_start(m, e);
    if (e->kind == TLO_ENTRY_SEGMENT)
        return segment(m, e);
    if (e->kind == TLO_ENTRY_MARKER && tlo_entry_str(e, "session", id, sizeof id) == 0 &&
        !find(m, id))
        return problem(m, "entry %llu marks session %s, which never started",
                       (unsigned long long)e->seq, id);
    if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED)
        return session_end(m, e);
    return 0;
}

static int verify_media(tlo_custody *v, tlo_custody_progress progress,
                        tlo_custody_media_report *out, tlo_error *err)
{
    memset(out, 0, sizeof *out);
    out->ok = true;
    media m = {.v = v, .r = out, .problem_seq = UINT64_MAX, .progress = progress};
    int rc = tlo_chain_walk(v->ch, 0, visit, &m, err);
    if (rc < 0) {
        free(m.s);
        free(m.f);
        if (rc == TLO_ENOMEM && err && !err->msg[0])
            tlo_fail(err, rc, "out of memory verifying the sessions of the ledger");
        out->ok = false;
        return rc;
    }
    /* The walk's problem (if any) stands unless a file before it fails. */
    tlo_custody_media_report walked = *out;
    if (!out->ok)
        m.problem_seq = m.cur_seq;
    out->ok = true;
    hash_all(&m);
    file_problems(&m);
    free(m.f);
    if (out->ok && !walked.ok) {
        out->ok = false;
        memcpy(out->problem, walked.problem, sizeof out->problem);
    }
    for (size_t i = 0; out->ok && i < m.n; i++)
        if (!m.s[i].ended)
            problem(&m,
                    "session %s (case %s, started in entry %llu) was never ended: the "
                    "recording was interrupted (a crash, a power cut or a killed process). An "
                    "interviewer or an administrator closes it with 'tellonce recover --as "
                    "NAME', which keeps what was sealed; then run 'tellonce verify' again",
                    m.s[i].id, m.s[i].case_hex, (unsigned long long)m.s[i].start_seq);
    free(m.s);
    return 0;
}

int tlo_custody_verify_media(tlo_custody *v, tlo_custody_media_report *out, tlo_error *err)
{
    return verify_media(v, (tlo_custody_progress){0}, out, err);
}

/* Counts the entries of a case. */
typedef struct case_count {
    const uint8_t *case_id;
    uint64_t n;
} case_count;

static int count_case(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    case_count *c = ctx;
    (void)leaf;
    (void)err;
    if (e->has_case && memcmp(e->case_id, c->case_id, TLO_CASE_ID_BYTES) == 0)
        c->n++;
    return 0;
}

void tlo_custody_verify_report_free(tlo_custody_verify_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->labels && i < r->nanchors; i++)
        free(r->labels[i]);
    free(r->labels);
    free(r->anchors);
    memset(r, 0, sizeof *r);
}

/* ---- the checkpoints: every one the vault, the auditor, the published
 * directories hold (docs/ledger.md, "Trust model") ---- */

static int fail_report(tlo_custody_verify_report *out, int64_t first_bad, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_report(tlo_custody_verify_report *out, int64_t first_bad, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->chain.problem, sizeof out->chain.problem, fmt, ap);
    va_end(ap);
    out->chain.ok = false;
    out->chain.first_bad = first_bad;
    return 0;
}

/* Adds the checkpoints of list as anchors; the same tree head twice counts once. */
static int add_anchors(tlo_custody_verify_report *out, const custody_cp *list, size_t n)
{
    tlo_chain_anchor *a = realloc(out->anchors, (out->nanchors + n + 1) * sizeof *a);
    if (a)
        out->anchors = a;
    char **l = a ? realloc(out->labels, (out->nanchors + n + 1) * sizeof *l) : NULL;
    if (!l)
        return TLO_ENOMEM;
    out->labels = l;
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < out->nanchors && !dup; j++)
            dup = out->anchors[j].size == list[i].size &&
                  !memcmp(out->anchors[j].root, list[i].root, 32);
        if (dup)
            continue;
        size_t ll = strlen(list[i].path) + 16;
        if (!(out->labels[out->nanchors] = malloc(ll)))
            return TLO_ENOMEM;
        snprintf(out->labels[out->nanchors], ll, "checkpoint %s", list[i].path);
        out->anchors[out->nanchors].size = list[i].size;
        memcpy(out->anchors[out->nanchors].root, list[i].root, 32);
        out->anchors[out->nanchors].label = out->labels[out->nanchors];
        out->nanchors++;
    }
    return 0;
}

/* The auditor's own checkpoint file, signed by vk. */
static int old_checkpoint(const char *path, const tlo_note_verifier *vk, const char *origin,
                          custody_cp *cp, tlo_error *err)
{
    char *text = NULL;
    size_t len = 0;
    tlo_checkpoint c;
    int rc = tlo_read_file(path, TLO_NOTE_MAX_BYTES, &text, &len, err);
    if (rc == 0 && (rc = tlo_checkpoint_open(text, len, vk, 1, origin, &c, err)) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "checkpoint %s: %s", path, why);
    }
    free(text);
    if (rc == 0) {
        cp->size = c.size;
        memcpy(cp->root, c.root, 32);
        if (!(cp->path = strdup(path)))
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    }
    return rc;
}

/* Every checkpoint entry has its file in checkpoints/, of the size and root
 * it logs (and so, as that file is an anchor, the tree at that size). */
typedef struct cp_entries {
    const custody_cp *local;
    size_t nlocal, matched;
    tlo_custody_verify_report *out;
} cp_entries;

static int cp_entry(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    cp_entries *c = ctx;
    char size_txt[24];
    uint8_t root[32];
    uint64_t size = 0;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_CHECKPOINT)
        return 0;
    if (tlo_entry_str(e, "size", size_txt, sizeof size_txt) != 0 ||
        tlo_parse_u64(size_txt, &size) != 0 || tlo_entry_hex(e, "root", root, 32) != 0)
        return fail_report(c->out, (int64_t)e->seq,
                           "entry %llu is a checkpoint entry without a valid size and root",
                           (unsigned long long)e->seq) +
               1;
    if (size == 0 || size > e->seq)
        return fail_report(c->out, (int64_t)e->seq,
                           "entry %llu logs a checkpoint of %llu entries, but a checkpoint entry "
                           "comes after the entries it covers",
                           (unsigned long long)e->seq, (unsigned long long)size) +
               1;
    for (size_t i = 0; i < c->nlocal; i++) {
        if (c->local[i].size != size)
            continue;
        if (memcmp(c->local[i].root, root, 32) != 0)
            return fail_report(c->out, (int64_t)e->seq,
                               "entry %llu logs a checkpoint of %llu entries whose root is not "
                               "that of %s: the file or the entry was replaced",
                               (unsigned long long)e->seq, (unsigned long long)size,
                               c->local[i].path) +
                   1;
        c->matched++;
        return 0;
    }
    return fail_report(c->out, (int64_t)e->seq,
                       "entry %llu logs a checkpoint of %llu entries, but "
                       "checkpoints/%020llu.checkpoint is missing: it was deleted (the tail "
                       "it covered may have been cut); restore it from a published copy",
                       (unsigned long long)e->seq, (unsigned long long)size,
                       (unsigned long long)size) +
           1;
}

static int checkpoints(tlo_custody *v, const tlo_custody_verify_params *p,
                       tlo_custody_verify_report *out, custody_cp **local, size_t *nlocal,
                       tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *dir = tlo_custody_path(v, "checkpoints");
    tlo_note_verifier genesis;
    const tlo_note_verifier *vk = &genesis;
    custody_cp *list = NULL, old;
    size_t n = 0;
    /* The genesis must name the custodian before any checkpoint is read. */
    int rc = dir ? tlo_custody_trust(v, origin, sizeof origin, &genesis, err) : TLO_ENOMEM;
    if (rc)
        goto out;
    if (p->verifier) {
        if (strcmp(p->verifier->name, origin) != 0 ||
            sodium_memcmp(p->verifier->public_key, genesis.public_key, 32) != 0) {
            char pinned[TLO_NOTE_VKEY_MAX], have[TLO_NOTE_VKEY_MAX];
            if (tlo_note_verifier_format(p->verifier, pinned, sizeof pinned, NULL) != 0)
                snprintf(pinned, sizeof pinned, "%s", p->verifier->name);
            if (tlo_note_verifier_format(&genesis, have, sizeof have, NULL) != 0)
                snprintf(have, sizeof have, "%s", origin);
            fail_report(out, 0,
                        "the vault's custodian (genesis entry 0) is %s, not the pinned verifier "
                        "key %s: this is not the ledger that key signs (a substitute vault, "
                        "even if its origin and names are the same)",
                        have, pinned);
            goto out;
        }
        vk = p->verifier;
        out->pinned = true;
    }
    if (p->old_checkpoint) {
        old.path = NULL;
        if ((rc = old_checkpoint(p->old_checkpoint, vk, origin, &old, err)) == 0)
            rc = add_anchors(out, &old, 1);
        free(old.path);
        if (rc)
            goto out;
        out->has_old = true;
    }
    if ((rc = custody_dir_checkpoints(dir, vk, origin, false, local, nlocal, err)) != 0 ||
        (rc = add_anchors(out, *local, *nlocal)) != 0)
        goto out;
    out->local_checkpoints = *nlocal;
    out->local_newest = *nlocal ? (*local)[*nlocal - 1].size : 0;
    for (size_t i = 0; i < p->ndirs; i++) {
        if ((rc = custody_dir_checkpoints(p->checkpoint_dirs[i], vk, origin, true, &list, &n,
                                          err)) != 0 ||
            (rc = add_anchors(out, list, n)) != 0)
            goto out;
        out->published_checkpoints += n;
        if (n && list[n - 1].size > out->published_newest)
            out->published_newest = list[n - 1].size;
        custody_cps_free(list, n);
        list = NULL;
        n = 0;
    }
out:
    if (rc == TLO_ENOMEM && err && !err->msg[0])
        tlo_fail(err, rc, "out of memory reading the checkpoints");
    custody_cps_free(list, n);
    free(dir);
    return rc;
}

int tlo_custody_verify_with(tlo_custody *v, const tlo_custody_verify_params *p,
                            tlo_custody_verify_report *out, tlo_error *err)
{
    tlo_custody_media_report mr;
    custody_cp *local = NULL;
    size_t nlocal = 0;
    memset(out, 0, sizeof *out);
    out->chain.ok = true;
    out->chain.first_bad = -1;
    int rc = checkpoints(v, p, out, &local, &nlocal, err);
    if (rc)
        goto fail;
    if (!out->chain.ok) /* a substitute vault: nothing else is worth reading */
        goto done;
    tlo_chain_progress walked = {.fn = p->progress.ledger, .ctx = p->progress.ctx};
    if ((rc = tlo_chain_verify_progress(v->ch, out->anchors, out->nanchors, walked, &out->chain,
                                        err)) != 0)
        goto fail;
    if (out->chain.ok) {
        cp_entries ce = {.local = local, .nlocal = nlocal, .out = out};
        tlo_chain_report keep = out->chain;
        if ((rc = tlo_chain_walk(v->ch, 0, cp_entry, &ce, err)) < 0)
            goto fail;
        rc = 0;
        if (out->chain.ok)
            out->chain = keep;
        out->checkpoint_entries = ce.matched;
    }
    out->has_case = p->case_id != NULL;
    if (p->case_id && out->chain.ok) {
        case_count cc = {.case_id = p->case_id};
        if ((rc = tlo_chain_walk(v->ch, 0, count_case, &cc, err)) < 0)
            goto fail;
        out->case_entries = cc.n;
    }
    if (!out->chain.ok)
        goto done;
    if ((rc = verify_media(v, p->progress, &mr, err)) != 0)
        goto fail;
    out->segments = mr.segments;
    if (!mr.ok) {
        out->chain.ok = false;
        snprintf(out->chain.problem, sizeof out->chain.problem, "%s", mr.problem);
    }
    if (out->chain.ok && (rc = tlo_custody_verify_samples(v, out, err)) != 0)
        goto fail;
    if (out->chain.ok && (rc = custody_verify_objects(v, out, err)) != 0)
        goto fail;
done:
    custody_cps_free(local, nlocal);
    return 0;
fail:
    custody_cps_free(local, nlocal);
    tlo_custody_verify_report_free(out);
    return rc;
}

int tlo_custody_verify(tlo_custody *v, const char *old_checkpoint, const uint8_t *case_id,
                       tlo_custody_verify_report *out, tlo_error *err)
{
    tlo_custody_verify_params p = {.old_checkpoint = old_checkpoint, .case_id = case_id};
    return tlo_custody_verify_with(v, &p, out, err);
}
