/* Closing sessions a crash or power cut left open.
 *
 * A session whose recording process died has no session-end entry, and its
 * last segment was never finished: a sealed object with no final chunk,
 * referenced by no entry. Recovery keeps the authenticated part of that
 * object, cut after its last complete MP4 fragment, seals it again as a
 * complete segment, logs it, and ends the session with a session-recovered
 * entry saying what was kept and what was lost. The unfinished object stays
 * where it is; later recoveries know it from that entry's unfinished list.
 *
 * A recovery killed at any moment can be run again (docs/vault-layout.md,
 * "Temporary files"): a part is sealed in the vault's private folder tmp/,
 * synced, logged, and only then moved into objects/ with one rename. A run
 * finds what an earlier one left: a part logged (its segment entry names
 * the unfinished object in recovered_from) is not sealed again, and moved
 * into objects/ if it is still in tmp/; a part in tmp/ that no entry names
 * was never logged and is removed. */
#include "record_internal.h"

#include "player.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A part an earlier, interrupted recovery logged for a session. */
typedef struct part {
    char object[33], from[33]; /* the new object; the unfinished one it came from */
    char sha[65];              /* ciphertext_sha256 */
    uint64_t bytes, plaintext_bytes, ms;
} part;

typedef struct open_session {
    char id[33];
    part *parts;
    size_t nparts;
    uint8_t case_id[TLO_ID_BYTES];
    uint64_t segments;
    uint64_t end_ms;   /* where the last logged segment ends on the session clock */
    uint64_t wall0_ms; /* UTC ms at 0 on the session clock, from a logged segment; 0: unknown */
    int ended;
} open_session;

typedef struct scan {
    open_session *s;
    size_t n, cap;
    char **objects; /* object ids some entry names */
    size_t nobj, objcap;
} scan;

static void scan_free(scan *sc)
{
    for (size_t i = 0; i < sc->nobj; i++)
        free(sc->objects[i]);
    free(sc->objects);
    for (size_t i = 0; i < sc->n; i++)
        free(sc->s[i].parts);
    free(sc->s);
}

static int remember_object(scan *sc, const char *hex)
{
    if (sc->nobj == sc->objcap) {
        size_t cap = sc->objcap ? 2 * sc->objcap : 64;
        char **o = realloc(sc->objects, cap * sizeof *o);
        if (!o)
            return -1;
        sc->objects = o;
        sc->objcap = cap;
    }
    return (sc->objects[sc->nobj++] = strdup(hex)) ? 0 : -1;
}

/* Every object id an entry names: segments, case fields, and the unfinished
 * files an earlier recovery dealt with (also one killed before it closed the
 * session: its parts name them in recovered_from). */
static int scan_objects(scan *sc, const tlo_entry *e)
{
    char obj[40], list[2048];
    if ((e->kind == TLO_ENTRY_SEGMENT && tlo_entry_str(e, "object", obj, sizeof obj) == 0) ||
        (e->kind == TLO_ENTRY_CASE_OPEN && tlo_entry_str(e, "info_object", obj, sizeof obj) == 0))
        if (remember_object(sc, obj) != 0)
            return -1;
    if (e->kind == TLO_ENTRY_SEGMENT && tlo_entry_str(e, "recovered_from", obj, sizeof obj) == 0 &&
        strlen(obj) == 32 && remember_object(sc, obj) != 0)
        return -1;
    if (e->kind == TLO_ENTRY_SESSION_RECOVERED &&
        tlo_entry_str(e, "unfinished", list, sizeof list) == 0)
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (strlen(t) == 32 && remember_object(sc, t) != 0)
                return -1;
    return 0;
}

static open_session *new_session(scan *sc, const tlo_entry *e, const char *id)
{
    if (sc->n == sc->cap) {
        size_t cap = sc->cap ? 2 * sc->cap : 8;
        open_session *n = realloc(sc->s, cap * sizeof *n);
        if (!n)
            return NULL;
        sc->s = n;
        sc->cap = cap;
    }
    open_session *s = &sc->s[sc->n++];
    memset(s, 0, sizeof *s);
    snprintf(s->id, sizeof s->id, "%.32s", id);
    memcpy(s->case_id, e->case_id, TLO_ID_BYTES);
    return s;
}

/* A part of s logged by a recovery (recovered_from): -1 out of memory. */
static int scan_part(open_session *s, const tlo_entry *e)
{
    part p;
    char n[3][24];
    memset(&p, 0, sizeof p);
    if (tlo_entry_str(e, "recovered_from", p.from, sizeof p.from) != 0 ||
        tlo_entry_str(e, "object", p.object, sizeof p.object) != 0 ||
        tlo_entry_str(e, "ciphertext_sha256", p.sha, sizeof p.sha) != 0 ||
        tlo_entry_str(e, "bytes", n[0], sizeof n[0]) != 0 ||
        tlo_entry_str(e, "plaintext_bytes", n[1], sizeof n[1]) != 0 ||
        tlo_entry_str(e, "recovered_ms", n[2], sizeof n[2]) != 0 || strlen(p.object) != 32 ||
        strspn(p.object, "0123456789abcdef") != 32)
        return 0; /* not one of ours: verify judges it */
    p.bytes = strtoull(n[0], NULL, 10);
    p.plaintext_bytes = strtoull(n[1], NULL, 10);
    p.ms = strtoull(n[2], NULL, 10);
    part *np = realloc(s->parts, (s->nparts + 1) * sizeof *np);
    if (!np)
        return -1;
    s->parts = np;
    s->parts[s->nparts++] = p;
    return 0;
}

static int scan_segment(open_session *s, const tlo_entry *e)
{
    char end[24], ws[24], st[24], from[40];
    s->segments++;
    if (tlo_entry_str(e, "end_ms", end, sizeof end) == 0)
        s->end_ms = strtoull(end, NULL, 10);
    if (!s->wall0_ms && tlo_entry_str(e, "wall_start_ms", ws, sizeof ws) == 0 &&
        tlo_entry_str(e, "start_ms", st, sizeof st) == 0 &&
        strtoull(ws, NULL, 10) >= strtoull(st, NULL, 10))
        s->wall0_ms = strtoull(ws, NULL, 10) - strtoull(st, NULL, 10);
    return tlo_entry_str(e, "recovered_from", from, sizeof from) == 0 ? scan_part(s, e) : 0;
}

static int scan_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    scan *sc = ctx;
    char id[40];
    (void)leaf;
    if (scan_objects(sc, e) != 0)
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading the ledger");
    if (tlo_entry_str(e, "session", id, sizeof id) != 0)
        return 0;
    open_session *s = NULL;
    for (size_t i = 0; i < sc->n; i++)
        if (!strcmp(sc->s[i].id, id))
            s = &sc->s[i];
    if (e->kind == TLO_ENTRY_SESSION_START && !s) {
        if (!new_session(sc, e, id))
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the ledger");
    } else if (s && e->kind == TLO_ENTRY_SEGMENT) {
        if (scan_segment(s, e) != 0)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the ledger");
    } else if (s && (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED)) {
        s->ended = 1;
    }
    return 0;
}

static int scan_ledger(tlo_custody *v, scan *sc, tlo_error *err)
{
    memset(sc, 0, sizeof *sc);
    if (tlo_chain_walk(tlo_custody_chain(v), 0, scan_visit, sc, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    return 0;
}

int tlo_custody_recover_count(tlo_custody *v, size_t *n, tlo_error *err)
{
    scan sc;
    *n = 0;
    int rc = scan_ledger(v, &sc, err);
    for (size_t i = 0; rc == 0 && i < sc.n; i++)
        *n += !sc.s[i].ended;
    scan_free(&sc);
    return rc;
}

static int known_object(const scan *sc, const char *hex)
{
    for (size_t i = 0; i < sc->nobj; i++)
        if (!strcmp(sc->objects[i], hex))
            return 1;
    return 0;
}

/* The length of the longest prefix of p made of whole top-level MP4 boxes
 * ending with an mdat, and the number of moof boxes and trak boxes in it. */
static size_t whole_fragments(const uint8_t *p, size_t len, unsigned *moofs, unsigned *traks)
{
    size_t i = 0, keep = 0;
    *moofs = *traks = 0;
    unsigned moof_pending = 0;
    while (i + 8 <= len) {
        uint64_t sz =
            (uint64_t)p[i] << 24 | (uint64_t)p[i + 1] << 16 | (uint64_t)p[i + 2] << 8 | p[i + 3];
        if (sz == 1) {
            if (i + 16 > len)
                break;
            sz = 0;
            for (int k = 0; k < 8; k++)
                sz = sz << 8 | p[i + 8 + k];
        }
        if (sz < 8 || sz > len - i)
            break;
        if (!memcmp(p + i + 4, "moov", 4)) {
            /* count its trak children */
            size_t j = i + 8;
            while (j + 8 <= i + sz) {
                uint32_t csz = (uint32_t)p[j] << 24 | (uint32_t)p[j + 1] << 16 |
                               (uint32_t)p[j + 2] << 8 | p[j + 3];
                if (csz < 8 || csz > i + sz - j)
                    break;
                *traks += !memcmp(p + j + 4, "trak", 4);
                j += csz;
            }
        } else if (!memcmp(p + i + 4, "moof", 4)) {
            moof_pending++;
        } else if (!memcmp(p + i + 4, "mdat", 4)) {
            *moofs += moof_pending;
            moof_pending = 0;
            keep = i + sz;
        }
        i += sz;
    }
    return keep;
}

/* The length of the kept media, as libavformat reads it in memory. */
static uint64_t media_ms(const uint8_t *p, size_t len)
{
    tlo_player_probe probe;
    return tlo_player_probe_memory(p, len, &probe) == 0 ? probe.duration_ms : 0;
}

/* One open session being closed. */
typedef struct closing {
    tlo_custody *v;
    const tlo_vault_identity *actor; /* who recovers: signs session-recovered */
    const tlo_vault_identity *cust;  /* the custodian: signs the key use and the segments */
    const scan *sc;
    open_session *s;
    char *objects, *tmp; /* objects/ and the private folder tmp/ */
    uint8_t *key;
    char unfinished[2048];
    uint64_t found_bytes, kept_bytes, recovered, kept_ms;
    tlo_custody_recovery *out;
} closing;

static int add_step(tlo_custody_recovery *out, const tlo_custody_recovery_step *st, tlo_error *err)
{
    tlo_custody_recovery_step *n = realloc(out->step, (out->n + 1) * sizeof *n);
    if (!n)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    out->step = n;
    out->step[out->n++] = *st;
    return 0;
}

/* The segment entry of a part sealed again as dg. */
static void part_body(char *body, size_t cap, const closing *c, const tlo_vault_digests *dg,
                      const char *nhex, const char *from, uint64_t ms)
{
    const open_session *s = c->s;
    char pts[65], cts[65], wall[80] = "";
    tlo_hex(pts, dg->plaintext_sha256, 32);
    tlo_hex(cts, dg->ciphertext_sha256, 32);
    /* Its wall-clock start when an earlier segment tells where the session
     * clock's zero lies; sealed now. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (s->wall0_ms)
        snprintf(wall, sizeof wall, "wall_end_ms=%llu\nwall_start_ms=%llu\n",
                 (unsigned long long)now.tv_sec * 1000ull +
                     (unsigned long long)now.tv_nsec / 1000000ull,
                 (unsigned long long)(s->wall0_ms + s->end_ms));
    snprintf(body, cap,
             "bytes=%llu\nciphertext_sha256=%s\nduration_ms=%llu\nend_ms=%llu\n"
             "index=%llu\nobject=%s\nplaintext_bytes=%llu\nplaintext_sha256=%s\n"
             "recovered_from=%s\nrecovered_ms=%llu\nsession=%s\nstart_ms=%llu\n"
             "%s",
             (unsigned long long)dg->ciphertext_bytes, cts, (unsigned long long)ms,
             (unsigned long long)(s->end_ms + ms), (unsigned long long)s->segments, nhex,
             (unsigned long long)dg->plaintext_bytes, pts, from, (unsigned long long)ms, s->id,
             (unsigned long long)s->end_ms, wall);
}

/* Seals pt[0..keep) again as a complete segment and logs it. */
static int reseal(closing *c, const char *path, const char *hex, const char *file,
                  const uint8_t *pt, size_t keep, tlo_error *err)
{
    tlo_vault_object_params op = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = 14};
    tlo_vault_digests dg;
    char nhex[33], body[3000];
    int rc = 0;
    memcpy(op.case_id, c->s->case_id, TLO_ID_BYTES);
    tlo_vault_random_id(op.object_id);
    tlo_hex(nhex, op.object_id, TLO_ID_BYTES);
    /* Sealed in tmp/ under its final file name, synced, and moved into
     * objects/ only once its entry is durable. */
    char *npath = tlo_custody_object_path(c->v, nhex), name[40];
    snprintf(name, sizeof name, "%s.tlo", nhex);
    char *tpath = tlo_path_join(c->tmp, name);
    int nfd = npath && tpath ? open(tpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
    bool made = nfd >= 0, logged = false;
    tlo_vault_writer *w =
        nfd >= 0 ? tlo_vault_writer_new(&op, c->key, tlo_vault_fd_sink, &nfd, err) : NULL;
    if (!w || tlo_vault_writer_write(w, pt, keep, err) != 0 ||
        tlo_vault_writer_finish(w, &dg, err) != 0 || fsync(nfd) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err && err->msg[0] ? err->msg : strerror(errno));
        rc = tlo_fail(err, TLO_EIO, "cannot seal the recovered part of %s into %s: %s", path,
                      tpath ? tpath : c->tmp, why);
    } else if ((rc = custody_sync_dir(c->tmp, err)) == 0) {
        custody_test_kill("recover-sealed");
        uint64_t ms = media_ms(pt, keep), seq;
        part_body(body, sizeof body, c, &dg, nhex, hex, ms);
        if ((rc = custody_append(c->v, c->cust, TLO_ENTRY_SEGMENT, c->s->case_id, body, &seq,
                                 err)) == 0) {
            logged = true;
            custody_test_kill("recover-logged");
            /* On failure it stays in tmp/, logged: the next 'recover' moves it. */
            if ((rc = custody_publish(tpath, npath, c->objects, err)) == 0)
                custody_test_kill("recover-published");
        }
        if (rc == 0) {
            tlo_custody_recovery_step st = {.ms = ms, .index = c->s->segments, .seq = seq};
            snprintf(st.session, sizeof st.session, "%s", c->s->id);
            tlo_hex(st.case_hex, c->s->case_id, TLO_ID_BYTES);
            snprintf(st.file, sizeof st.file, "%s", file);
            c->s->segments++;
            c->s->end_ms += ms; /* the next one starts here */
            c->recovered++;
            c->kept_bytes += keep;
            c->kept_ms += ms;
            rc = add_step(c->out, &st, err);
        }
    }
    tlo_vault_writer_free(w);
    if (nfd >= 0)
        close(nfd);
    if (made && !logged)
        unlink(tpath); /* never logged: sealed media no entry will name */
    free(npath);
    free(tpath);
    return rc;
}

/* The authenticated plaintext of an unfinished segment object of the
 * session's case (malloc'd into *pt), or 0 bytes when it is not one. */
static int read_unfinished(closing *c, int fd, uint64_t size, const char *path, uint8_t **pt,
                           size_t *plen)
{
    tlo_vault_inspection ins;
    tlo_error e = {0};
    *pt = NULL;
    *plen = 0;
    if (tlo_vault_inspect(tlo_vault_fd_source, &fd, size, path, &ins, &e) != 0 ||
        ins.header.kind != TLO_KIND_SEGMENT ||
        memcmp(ins.header.case_id, c->s->case_id, TLO_ID_BYTES) != 0)
        return -1;
    tlo_vault_reader *r =
        tlo_vault_reader_open_prefix(tlo_vault_fd_source, &fd, size, c->key, path, &e);
    size_t n = r ? (size_t)tlo_vault_reader_size(r) : 0;
    if (r && n && (*pt = malloc(n)) && tlo_vault_reader_read_at(r, 0, *pt, n, &e) != 0) {
        sodium_memzero(*pt, n); /* part of an interview, decrypted */
        free(*pt);
        *pt = NULL;
    }
    tlo_vault_reader_free(r);
    *plen = *pt ? n : 0;
    return 0;
}

/* One file of objects/: if it is an unfinished segment of the session, keep
 * its whole fragments. */
static int recover_file(closing *c, const char *file, tlo_error *err)
{
    char hex[33];
    if (strlen(file) != 36 || strcmp(file + 32, ".tlo"))
        return 0;
    memcpy(hex, file, 32);
    hex[32] = '\0';
    if (known_object(c->sc, hex))
        return 0;
    char *path = tlo_path_join(c->objects, file);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1, rc = 0;
    struct stat st;
    uint8_t *pt = NULL;
    size_t plen = 0;
    if (fd < 0 || fstat(fd, &st) != 0 ||
        read_unfinished(c, fd, (uint64_t)st.st_size, path, &pt, &plen) != 0) {
        if (fd >= 0)
            close(fd);
        free(path);
        return 0;
    }
    close(fd);
    unsigned moofs = 0, traks = 0;
    size_t keep = pt ? whole_fragments(pt, plen, &moofs, &traks) : 0;
    c->found_bytes += (uint64_t)st.st_size; /* the unfinished file, as found */
    if (strlen(c->unfinished) + 34 < sizeof c->unfinished) {
        if (c->unfinished[0])
            strcat(c->unfinished, ",");
        strcat(c->unfinished, hex);
    }
    if (keep && moofs && traks)
        rc = reseal(c, path, hex, file, pt, keep, err);
    if (pt)
        sodium_memzero(pt, plen);
    free(pt);
    free(path);
    return rc;
}

/* Logs the end of the session as recovered. */
static int close_session(closing *c, tlo_error *err)
{
    char body[3000];
    uint64_t seq;
    snprintf(body, sizeof body,
             "kept_bytes=%llu\nrecovered_ms=%llu\nrecovered_segments=%llu\nsegments=%llu\n"
             "session=%s\nstatus=recovered\nunfinished=%s\nunfinished_bytes=%llu\n",
             (unsigned long long)c->kept_bytes, (unsigned long long)c->kept_ms,
             (unsigned long long)c->recovered, (unsigned long long)c->s->segments, c->s->id,
             c->unfinished, (unsigned long long)c->found_bytes);
    int rc =
        custody_append(c->v, c->actor, TLO_ENTRY_SESSION_RECOVERED, c->s->case_id, body, &seq, err);
    if (rc)
        return rc;
    custody_test_kill("recover-closed");
    tlo_custody_recovery_step st = {.closed = true,
                                    .seq = seq,
                                    .segments = c->s->segments,
                                    .found_bytes = c->found_bytes,
                                    .kept_bytes = c->kept_bytes};
    snprintf(st.session, sizeof st.session, "%s", c->s->id);
    tlo_hex(st.case_hex, c->s->case_id, TLO_ID_BYTES);
    return add_step(c->out, &st, err);
}

/* The parts an interrupted recovery logged for this session: each is moved
 * into objects/ if it is still in tmp/ (once its file is the one its entry
 * logged), and counted as recovered, so that nothing is sealed twice. */
static int earlier_parts(closing *c, tlo_error *err)
{
    for (size_t i = 0; i < c->s->nparts; i++) {
        const part *p = &c->s->parts[i];
        char name[40], *to = tlo_custody_object_path(c->v, p->object), *from;
        snprintf(name, sizeof name, "%s.tlo", p->object);
        from = tlo_path_join(c->tmp, name);
        struct stat st;
        int rc = to && from ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory");
        if (rc == 0 && stat(to, &st) != 0 && errno == ENOENT) {
            uint8_t got[32];
            uint64_t size = 0;
            char hex[65];
            int fd = open(from, O_RDONLY | O_CLOEXEC);
            int hr = fd >= 0 ? custody_hash_fd(fd, got, &size) : -errno;
            if (fd >= 0)
                close(fd);
            tlo_hex(hex, got, 32);
            if (hr != 0)
                rc = tlo_fail(err, TLO_EIO,
                              "session %s: the recovered part %s its segment entry names is "
                              "in neither objects/ nor %s (%s): restore it from a backup",
                              c->s->id, name, c->tmp, strerror(-hr));
            else if (strcmp(hex, p->sha) != 0 || size != p->bytes)
                rc = tlo_fail(err, TLO_EIO,
                              "session %s: %s is not the recovered part its segment entry "
                              "logged (its SHA-256 differs); it is left there: restore the "
                              "part from a backup",
                              c->s->id, from);
            else
                rc = custody_publish(from, to, c->objects, err);
        }
        free(to);
        free(from);
        if (rc)
            return rc;
        /* The unfinished object it came from, as found (it stays). */
        char *up = NULL;
        snprintf(name, sizeof name, "%s.tlo", p->from);
        if ((up = tlo_path_join(c->objects, name)) && stat(up, &st) == 0)
            c->found_bytes += (uint64_t)st.st_size;
        free(up);
        if (!strstr(c->unfinished, p->from) && strlen(c->unfinished) + 34 < sizeof c->unfinished) {
            if (c->unfinished[0])
                strcat(c->unfinished, ",");
            strcat(c->unfinished, p->from);
        }
        c->recovered++;
        c->kept_bytes += p->plaintext_bytes;
        c->kept_ms += p->ms;
    }
    return 0;
}

static int recover_session(closing *c, tlo_error *err)
{
    char body[400];
    tlo_custody_case cs;
    /* The case as its case-open entry has it (the wrapped key's digest), named
     * by its internal id in messages, as recover always did. */
    int rc = custody_case_by_id(c->v, c->s->case_id, &cs, err);
    if (rc)
        return rc;
    tlo_hex(cs.number, c->s->case_id, TLO_ID_BYTES);
    /* Log before release: the access to the case key comes first, by the
     * custodian (docs/ledger.md: its kinds only it signs), naming who asked. */
    char pk[65];
    tlo_hex(pk, c->actor->sign_pk, 32);
    snprintf(body, sizeof body,
             "action=recover\nactor=%s\npurpose=close interrupted session\nsession=%s\n", pk,
             c->s->id);
    rc = custody_append(c->v, c->cust, TLO_ENTRY_ACCESS_GRANTED, c->s->case_id, body, NULL, err);
    if (rc || (rc = custody_seal(c->v, err)) != 0)
        return rc;
    custody_test_kill("recover-access");
    if ((rc = earlier_parts(c, err)) != 0 ||
        (rc = custody_case_key(c->v, &cs, c->cust, &c->key, err)) != 0)
        return rc;
    /* Unfinished segment objects of this case that no entry names. */
    DIR *dir = opendir(c->objects);
    struct dirent *de;
    while (dir && rc == 0 && (de = readdir(dir)))
        rc = recover_file(c, de->d_name, err);
    if (dir)
        closedir(dir);
    tlo_vault_key_free(c->key);
    c->key = NULL;
    return rc ? rc : close_session(c, err);
}

/* Removes the parts in tmp/ that no entry names: sealed by a recovery that
 * was killed before it logged them (ciphertext; they are sealed again). */
static int clean_tmp(const scan *sc, const char *tmp, tlo_error *err)
{
    DIR *d = opendir(tmp);
    struct dirent *de;
    if (!d)
        return tlo_fail(err, TLO_EIO, "cannot read the vault's private folder %s: %s", tmp,
                        strerror(errno));
    int rc = 0;
    while (rc == 0 && (de = readdir(d))) {
        char hex[33];
        if (strlen(de->d_name) != 36 || strcmp(de->d_name + 32, ".tlo") ||
            strspn(de->d_name, "0123456789abcdef") != 32)
            continue;
        memcpy(hex, de->d_name, 32);
        hex[32] = '\0';
        if (!known_object(sc, hex) && unlinkat(dirfd(d), de->d_name, 0) != 0)
            rc = tlo_fail(err, TLO_EIO, "cannot remove %s/%s, a part never logged: %s", tmp,
                          de->d_name, strerror(errno));
    }
    closedir(d);
    return rc;
}

/* The recovery, as actor, or as the custodian alone when actor is NULL. */
static int recover_as(tlo_custody *v, const tlo_vault_identity *actor, tlo_custody_recovery *out,
                      tlo_error *err)
{
    scan sc;
    int rc = scan_ledger(v, &sc, err);
    if (rc)
        return rc;
    char *objects = tlo_custody_path(v, "objects"), *tmp = NULL;
    if (!objects)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    bool any = false;
    for (size_t i = 0; i < sc.n; i++)
        any = any || !sc.s[i].ended;
    if (rc == 0 && any && (rc = custody_private_dir(v, &tmp, err)) == 0)
        rc = clean_tmp(&sc, tmp, err);
    tlo_vault_identity *cust = NULL;
    if (rc == 0 && any)
        rc = custody_custodian(v, &cust, err);
    if (rc == 0 && any && !actor)
        actor = cust; /* the service's start: nobody else is there to sign */
    for (size_t i = 0; i < sc.n && rc == 0; i++) {
        if (sc.s[i].ended)
            continue;
        /* A live session holds its case's lease: leave it alone. Holding the
         * lease while recovering keeps a new recording of the case out. */
        char name[40], hex[2 * TLO_ID_BYTES + 1];
        custody_lease *lease = NULL;
        tlo_custody_recovery_step st = {.skipped = true};
        tlo_hex(hex, sc.s[i].case_id, TLO_ID_BYTES);
        snprintf(name, sizeof name, "case-%s", hex);
        rc = custody_lease_take(v, name, "recover", &lease, st.held_by, sizeof st.held_by, err);
        if (rc == TLO_EEXIST) {
            snprintf(st.session, sizeof st.session, "%s", sc.s[i].id);
            snprintf(st.case_hex, sizeof st.case_hex, "%s", hex);
            rc = add_step(out, &st, err);
            continue;
        }
        any = true;
        closing c = {.v = v,
                     .actor = actor,
                     .cust = cust,
                     .sc = &sc,
                     .s = &sc.s[i],
                     .objects = objects,
                     .tmp = tmp,
                     .out = out};
        if (rc == 0)
            rc = recover_session(&c, err);
        custody_lease_release(lease);
    }
    tlo_vault_identity_free(cust);
    if (rc == 0 && any)
        rc = tlo_custody_checkpoint(v, NULL, err);
    rc = custody_seal_end(v, rc, err); /* what a failed recovery logged, too */
    free(objects);
    free(tmp);
    scan_free(&sc);
    return rc;
}

int tlo_custody_recover(tlo_custody *v, const tlo_vault_identity *actor, tlo_custody_recovery *out,
                        tlo_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = custody_check_act(v, actor, TLO_ACT_RECOVER, 0, NULL, NULL, err);
    return rc ? rc : recover_as(v, actor, out, err);
}

int tlo_custody_recover_auto(tlo_custody *v, tlo_custody_recovery *out,
                             tlo_custody_recovery_summary *sum, tlo_error *err)
{
    memset(out, 0, sizeof *out);
    if (sum)
        memset(sum, 0, sizeof *sum);
    int rc = recover_as(v, NULL, out, err);
    for (size_t i = 0; sum && i < out->n; i++) {
        const tlo_custody_recovery_step *st = &out->step[i];
        if (st->skipped)
            sum->skipped++;
        else if (st->closed)
            sum->sessions++;
        else
            sum->salvaged++;
    }
    return rc;
}

void tlo_custody_recovery_free(tlo_custody_recovery *r)
{
    if (!r)
        return;
    free(r->step);
    memset(r, 0, sizeof *r);
}
