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
} pool;

static void *hash_worker(void *arg)
{
    pool *p = arg;
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->m->nf;) {
        seg_file *f = &p->m->f[i];
        char *path = tlo_custody_object_path(p->m->v, f->obj);
        f->rc = path ? hash_file(path, f->got, &f->size) : -ENOMEM;
        free(path);
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
    pool p = {.m = m};
    atomic_init(&p.next, 0);
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

int tlo_custody_verify_media(tlo_custody *v, tlo_custody_media_report *out, tlo_error *err)
{
    memset(out, 0, sizeof *out);
    out->ok = true;
    media m = {.v = v, .r = out, .problem_seq = UINT64_MAX};
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
                    "recording was interrupted",
                    m.s[i].id, m.s[i].case_hex, (unsigned long long)m.s[i].start_seq);
    free(m.s);
    return 0;
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
    for (size_t i = 0; i < 2; i++)
        free(r->labels[i]);
    memset(r, 0, sizeof *r);
}

int tlo_custody_verify(tlo_custody *v, const char *old_checkpoint, const uint8_t *case_id,
                       tlo_custody_verify_report *out, tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1];
    tlo_note_verifier verifier;
    tlo_custody_media_report mr;
    memset(out, 0, sizeof *out);
    /* The genesis must name the custodian before any checkpoint is read. */
    int rc = tlo_custody_trust(v, origin, sizeof origin, &verifier, err);
    if (rc ||
        (rc = tlo_custody_anchors(v, old_checkpoint, out->anchors, &out->nanchors, out->labels,
                                  err)) != 0 ||
        (rc = tlo_chain_verify_anchored(v->ch, out->anchors, out->nanchors, &out->chain, err)) != 0)
        goto fail;
    out->has_case = case_id != NULL;
    if (case_id && out->chain.ok) {
        case_count cc = {.case_id = case_id};
        if ((rc = tlo_chain_walk(v->ch, 0, count_case, &cc, err)) < 0)
            goto fail;
        out->case_entries = cc.n;
    }
    if (!out->chain.ok)
        return 0;
    if ((rc = tlo_custody_verify_media(v, &mr, err)) != 0)
        goto fail;
    out->segments = mr.segments;
    if (!mr.ok) {
        out->chain.ok = false;
        snprintf(out->chain.problem, sizeof out->chain.problem, "%s", mr.problem);
    }
    if (out->chain.ok && (rc = custody_verify_objects(v, out, err)) != 0)
        goto fail;
    return 0;
fail:
    tlo_custody_verify_report_free(out);
    return rc;
}
