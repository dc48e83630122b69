/* The media part of 'tellonce verify': every sealed segment the ledger names
 * is in the vault with the digest its entry recorded, and every session's
 * segments run 0, 1, 2, ... and the session was ended. Needs no key: it
 * hashes the sealed files. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct sess {
    char id[33];
    char case_hex[33];
    uint64_t start_seq, next_index;
    uint64_t end_ms; /* where the last segment ends on the session clock */
    int ended;
} sess;

typedef struct media {
    const char *vault;
    sess *s;
    size_t n, cap;
    uint64_t segments;
    int bad;
    char *problem;
    size_t problem_cap;
} media;

static int problem(media *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int problem(media *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->problem, m->problem_cap, fmt, ap);
    va_end(ap);
    m->bad = 1;
    return 1; /* stop the walk at the first problem */
}

static sess *find(media *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->s[i].id, id))
            return &m->s[i];
    return NULL;
}

/* SHA-256 and size of a file, streamed. */
static int hash_file(const char *path, uint8_t out[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    gcry_md_hd_t h;
    if (gcry_md_open(&h, GCRY_MD_SHA256, 0) != 0) {
        close(fd);
        return -ENOMEM;
    }
    static uint8_t buf[1 << 20];
    uint64_t off = 0;
    long long n;
    while ((n = tlo_pread_full(fd, buf, sizeof buf, off)) > 0) {
        gcry_md_write(h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    close(fd);
    if (n < 0) {
        gcry_md_close(h);
        return (int)n;
    }
    memcpy(out, gcry_md_read(h, GCRY_MD_SHA256), 32);
    gcry_md_close(h);
    *size = off;
    return 0;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    media *m = ctx;
    char id[40], idx[24], obj[40], sha[70], bytes[24], start[24], end[24];
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        if (tlo_entry_str(e, "session", id, sizeof id) != 0 || strlen(id) != 32)
            return problem(m, "entry %llu starts a session without a session id",
                           (unsigned long long)e->seq);
        if (find(m, id))
            return problem(m, "entry %llu starts session %s a second time",
                           (unsigned long long)e->seq, id);
        if (m->n == m->cap) {
            size_t cap = m->cap ? 2 * m->cap : 16;
            sess *s = realloc(m->s, cap * sizeof *s);
            if (!s)
                return -1;
            m->s = s;
            m->cap = cap;
        }
        sess *s = &m->s[m->n++];
        memset(s, 0, sizeof *s);
        snprintf(s->id, sizeof s->id, "%s", id);
        tlo_hex(s->case_hex, e->case_id, 16);
        s->start_seq = e->seq;
    } else if (e->kind == TLO_ENTRY_SEGMENT) {
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
                m,
                "session %s: segment %llu is missing or out of order (entry %llu logs segment %s)",
                id, (unsigned long long)s->next_index, (unsigned long long)e->seq, idx);
        /* Contiguous on the session clock: each segment starts where the
         * one before it ended, and ends after it starts. */
        uint64_t start_ms = strtoull(start, NULL, 10), end_ms = strtoull(end, NULL, 10);
        if ((s->next_index > 0 && start_ms != s->end_ms) || end_ms < start_ms)
            return problem(m,
                           "session %s, segment %s (entry %llu): its times %s-%s ms on the "
                           "session clock do not follow the segment before it (which ended at "
                           "%llu ms)",
                           id, idx, (unsigned long long)e->seq, start, end,
                           (unsigned long long)s->end_ms);
        s->end_ms = end_ms;
        char name[80], want[65];
        uint8_t got[32];
        uint64_t size = 0;
        snprintf(name, sizeof name, "objects/%s.tlo", obj);
        char *path = tlo_path_join(m->vault, name);
        int rc = path ? hash_file(path, got, &size) : -ENOMEM;
        free(path);
        if (rc == -ENOENT)
            return problem(m, "session %s, segment %s: the file %s is missing (entry %llu)", id,
                           idx, name, (unsigned long long)e->seq);
        if (rc < 0)
            return problem(m, "session %s, segment %s: cannot read %s: %s", id, idx, name,
                           strerror(-rc));
        tlo_hex(want, got, 32);
        if (strcmp(want, sha) != 0 || size != strtoull(bytes, NULL, 10))
            return problem(m,
                           "session %s, segment %s: %s is not the file that was recorded (its "
                           "SHA-256 differs from entry %llu): it was replaced or altered",
                           id, idx, name, (unsigned long long)e->seq);
        s->next_index++;
        m->segments++;
    } else if (e->kind == TLO_ENTRY_MARKER && tlo_entry_str(e, "session", id, sizeof id) == 0) {
        if (!find(m, id))
            return problem(m, "entry %llu marks session %s, which never started",
                           (unsigned long long)e->seq, id);
    } else if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        char segs[24];
        sess *s = tlo_entry_str(e, "session", id, sizeof id) == 0 ? find(m, id) : NULL;
        if (!s || s->ended)
            return problem(m, "entry %llu ends a session that %s", (unsigned long long)e->seq,
                           s ? "had already ended" : "never started");
        if (tlo_entry_str(e, "segments", segs, sizeof segs) == 0 &&
            strtoull(segs, NULL, 10) != s->next_index)
            return problem(m, "session %s ended with %s segments, but %llu are logged", id, segs,
                           (unsigned long long)s->next_index);
        s->ended = 1;
    }
    return 0;
}

int cli_verify_media(tlo_chain *c, const char *vault, uint64_t *segments, char *problem_out,
                     size_t cap)
{
    media m = {.vault = vault, .problem = problem_out, .problem_cap = cap};
    tlo_error err = {0};
    problem_out[0] = '\0';
    *segments = 0;
    int rc = tlo_chain_walk(c, 0, visit, &m, &err);
    if (rc < 0) {
        free(m.s);
        return cli_fail(&err);
    }
    for (size_t i = 0; !m.bad && i < m.n; i++)
        if (!m.s[i].ended)
            problem(&m,
                    "session %s (case %s, started in entry %llu) was never ended: the "
                    "recording was interrupted",
                    m.s[i].id, m.s[i].case_hex, (unsigned long long)m.s[i].start_seq);
    free(m.s);
    *segments = m.segments;
    return m.bad ? EXIT_BAD_DATA : 0;
}
