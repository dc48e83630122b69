/* verify, the files beside the ledger: every case's wrapped key and sealed
 * case record against its case-open entry, and every file of cases/,
 * objects/ and tmp/ accounted for. Needs no key; reads only.
 *
 *   cases/ID.key     80 bytes whose SHA-256 is the case-open entry's
 *                    wrapped_key_sha256 (missing only after a key-destroyed
 *                    entry of the case);
 *   objects/ID.tlo   named by an entry: a segment's object (its digest is the
 *                    media check's, verify.c), a case-open entry's info_object
 *                    (its SHA-256 is info_sha256), or an unfinished segment a
 *                    recovery kept as found (session-recovered unfinished, or
 *                    a recovered part's recovered_from): listed as such;
 *                    or a note's version (kind 50 object: its size and
 *                    SHA-256 are the entry's bytes and ciphertext_sha256);
 *   tmp/             what an interrupted recover left: listed, never a
 *                    problem by itself (a part it logged but had not moved
 *                    is a missing object, found by the media check); and
 *                    tmp/note-ID.tlo, a sealed note of an interrupted 'note
 *                    add' or 'note amend' (custody/notes.c): logged, it is
 *                    the note's file until the next add or amend, of any
 *                    case, moves it (checked as in objects/; listed with its
 *                    case and the command killed); not logged, ciphertext
 *                    nobody reads, listed.
 * Any other file in cases/ or objects/ is a problem: something put there
 * that no entry accounts for. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct vcase {
    char id[33], info[40], info_sha[70], key_sha[70];
    uint64_t seq;
    bool destroyed;
} vcase;

typedef struct named {
    char id[33];
    uint64_t seq;
    int how; /* 0 segment or case record, 1 unfinished kept by recover */
} named;

typedef struct vnote {
    char id[33], sha[70], case_id[33];
    uint64_t seq, bytes, version;
} vnote;

typedef struct walk {
    vcase *c;
    size_t nc;
    vnote *nt;
    size_t nn;
    named *o;
    size_t no;
    bool oom;
} walk;

static void name_object(walk *w, const char *id, uint64_t seq, int how)
{
    if (strlen(id) != 32)
        return;
    named *n = realloc(w->o, (w->no + 1) * sizeof *n);
    if (!n) {
        w->oom = true;
        return;
    }
    w->o = n;
    n = &w->o[w->no++];
    snprintf(n->id, sizeof n->id, "%s", id);
    n->seq = seq;
    n->how = how;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    walk *w = ctx;
    char obj[40], list[4096];
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_CASE_OPEN && e->has_case) {
        vcase *c = realloc(w->c, (w->nc + 1) * sizeof *c);
        if (!c)
            return TLO_ENOMEM;
        w->c = c;
        c = &w->c[w->nc++];
        memset(c, 0, sizeof *c);
        tlo_hex(c->id, e->case_id, TLO_ID_BYTES);
        c->seq = e->seq;
        if (tlo_entry_str(e, "info_object", c->info, sizeof c->info) != 0)
            c->info[0] = '\0';
        if (tlo_entry_str(e, "info_sha256", c->info_sha, sizeof c->info_sha) != 0)
            c->info_sha[0] = '\0';
        if (tlo_entry_str(e, "wrapped_key_sha256", c->key_sha, sizeof c->key_sha) != 0)
            c->key_sha[0] = '\0';
        name_object(w, c->info, e->seq, 0);
    } else if (e->kind == TLO_ENTRY_KEY_DESTROYED && e->has_case) {
        char id[33];
        tlo_hex(id, e->case_id, TLO_ID_BYTES);
        for (size_t i = 0; i < w->nc; i++)
            w->c[i].destroyed |= !strcmp(w->c[i].id, id);
    } else if (e->kind == TLO_ENTRY_SEGMENT) {
        if (tlo_entry_str(e, "object", obj, sizeof obj) == 0)
            name_object(w, obj, e->seq, 0);
        if (tlo_entry_str(e, "recovered_from", obj, sizeof obj) == 0)
            name_object(w, obj, e->seq, 1);
    } else if (e->kind == TLO_ENTRY_NOTE && e->has_case) {
        vnote nv = {.seq = e->seq};
        if (tlo_entry_str(e, "object", nv.id, sizeof nv.id) != 0 ||
            tlo_entry_str(e, "ciphertext_sha256", nv.sha, sizeof nv.sha) != 0 ||
            tlo_entry_u64(e, "bytes", &nv.bytes) != 0)
            return 0; /* the chain's rules refuse such an entry */
        if (tlo_entry_u64(e, "version", &nv.version) != 0)
            nv.version = 1;
        tlo_hex(nv.case_id, e->case_id, TLO_ID_BYTES);
        vnote *p = realloc(w->nt, (w->nn + 1) * sizeof *p);
        if (!p)
            return TLO_ENOMEM;
        w->nt = p;
        w->nt[w->nn++] = nv;
        name_object(w, nv.id, e->seq, 0);
    } else if (e->kind == TLO_ENTRY_SESSION_RECOVERED &&
               tlo_entry_str(e, "unfinished", list, sizeof list) == 0) {
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
            name_object(w, t, e->seq, 1);
    }
    return w->oom ? TLO_ENOMEM : 0;
}

static int problem(tlo_custody_verify_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int problem(tlo_custody_verify_report *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->chain.problem, sizeof r->chain.problem, fmt, ap);
    va_end(ap);
    r->chain.ok = false;
    return 1;
}

static void note(tlo_custody_verify_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(tlo_custody_verify_report *r, const char *fmt, ...)
{
    size_t used = strlen(r->notes);
    if (used + 2 >= sizeof r->notes)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->notes + used, sizeof r->notes - used - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof r->notes - used - 1) {
        r->notes[used] = '\0'; /* a line that does not fit is left out */
        return;
    }
    strcat(r->notes, "\n");
}

/* SHA-256 (hex) and size of VAULT/name: 0 or -errno. */
static int digest(tlo_custody *v, const char *name, char hex[65], uint64_t *size)
{
    char *path = tlo_custody_path(v, name);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1, rc;
    uint8_t h[32];
    free(path);
    if (fd < 0)
        return path ? -errno : -ENOMEM;
    rc = custody_hash_fd(fd, h, size);
    close(fd);
    if (rc == 0)
        tlo_hex(hex, h, 32);
    return rc;
}

static int check_case(tlo_custody *v, const vcase *c, tlo_custody_verify_report *r)
{
    char name[80], hex[65];
    uint64_t size = 0;
    snprintf(name, sizeof name, "cases/%s.key", c->id);
    int rc = digest(v, name, hex, &size);
    if (rc == -ENOENT && !c->destroyed)
        return problem(r,
                       "case %s (opened in entry %llu): its wrapped key %s is missing and no "
                       "key-destroyed entry says why: the case cannot be decrypted; restore "
                       "the file from a backup",
                       c->id, (unsigned long long)c->seq, name);
    if (rc < 0 && rc != -ENOENT)
        return problem(r, "case %s: cannot read %s: %s", c->id, name, strerror(-rc));
    if (rc == 0 && c->destroyed)
        return problem(r, "case %s: %s is there although a key-destroyed entry destroyed it", c->id,
                       name);
    if (rc == 0 && c->key_sha[0] && (size != TLO_WRAPPED_KEY_BYTES || strcmp(hex, c->key_sha)))
        return problem(r,
                       "case %s: %s is not the wrapped key its case-open entry %llu logged "
                       "(its SHA-256 differs): it was replaced or altered, and the custodian "
                       "will refuse it; restore the file from a backup",
                       c->id, name, (unsigned long long)c->seq);
    if (rc == 0 && !c->key_sha[0])
        note(r,
             "%s: its case-open entry %llu logs no wrapped_key_sha256 (an older vault): not "
             "checked",
             name, (unsigned long long)c->seq);
    r->case_records += rc == 0;
    if (!c->info[0])
        return 0;
    snprintf(name, sizeof name, "objects/%s.tlo", c->info);
    if ((rc = digest(v, name, hex, &size)) != 0)
        return problem(r, "case %s: its sealed case record %s (entry %llu) %s", c->id, name,
                       (unsigned long long)c->seq,
                       rc == -ENOENT ? "is missing: restore it from a backup" : strerror(-rc));
    if (strcmp(hex, c->info_sha))
        return problem(r,
                       "case %s: %s is not the sealed case record its case-open entry %llu "
                       "logged (its SHA-256 differs from info_sha256): it was replaced or "
                       "altered; restore it from a backup",
                       c->id, name, (unsigned long long)c->seq);
    r->case_records++;
    return 0;
}

static const named *find_named(const walk *w, const char *id, int how)
{
    for (size_t i = 0; i < w->no; i++)
        if (!strcmp(w->o[i].id, id) && (how < 0 || w->o[i].how == how))
            return &w->o[i];
    return NULL;
}

static bool hex_name(const char *f, const char *suffix, char id[33])
{
    size_t sl = strlen(suffix);
    if (strlen(f) != 32 + sl || strcmp(f + 32, suffix) || strspn(f, "0123456789abcdef") < 32)
        return false;
    memcpy(id, f, 32);
    id[32] = '\0';
    return true;
}

/* Every file of dir (cases, objects or tmp) accounted for. */
static int check_dir(tlo_custody *v, const walk *w, const char *dir, tlo_custody_verify_report *r)
{
    char *path = tlo_custody_path(v, dir), id[33];
    DIR *d = path ? opendir(path) : NULL;
    struct dirent *de;
    int stop = 0;
    free(path);
    if (!d)
        return errno == ENOENT ? 0
                               : problem(r, "cannot read the folder %s: %s", dir, strerror(errno));
    while (!stop && (de = readdir(d))) {
        const char *f = de->d_name;
        if (!strcmp(f, ".") || !strcmp(f, ".."))
            continue;
        if (!strcmp(dir, "tmp") && !strncmp(f, "note-", 5)) {
            const vnote *logged = NULL;
            for (size_t i = 0; hex_name(f + 5, ".tlo", id) && i < w->nn; i++)
                if (!strcmp(w->nt[i].id, id))
                    logged = &w->nt[i];
            if (logged)
                note(r,
                     "tmp/%s: a logged note whose move into objects/ was interrupted "
                     "('tellonce note %s' was killed after its entry %llu: version %llu of a "
                     "note of the case with internal id %s); readers find it here, and the "
                     "next 'tellonce note add' or 'tellonce note amend', of any case, moves it",
                     f, logged->version > 1 ? "amend" : "add", (unsigned long long)logged->seq,
                     (unsigned long long)logged->version, logged->case_id);
            else
                note(r,
                     "tmp/%s: a sealed note an interrupted 'tellonce note add' or 'note amend' "
                     "never logged: ciphertext nobody reads; it may be removed",
                     f);
            continue;
        }
        if (!strcmp(dir, "tmp")) {
            note(r, "tmp/%s: left by an interrupted 'tellonce recover'; the next one %s", f,
                 hex_name(f, ".tlo", id) && find_named(w, id, 0)
                     ? "moves it into objects/"
                     : "removes it (it was never logged)");
            continue;
        }
        if (!strcmp(dir, "cases")) {
            bool known = false;
            for (size_t i = 0; hex_name(f, ".key", id) && i < w->nc; i++)
                known |= !strcmp(w->c[i].id, id);
            if (!known)
                stop = problem(r,
                               "cases/%s is not the wrapped key of any case the ledger opened: "
                               "it was put there from outside; move it out of the vault",
                               f);
            continue;
        }
        const named *n = hex_name(f, ".tlo", id) ? find_named(w, id, 0) : NULL;
        const named *u = n ? NULL : hex_name(f, ".tlo", id) ? find_named(w, id, 1) : NULL;
        if (u) {
            r->unfinished++;
            note(r,
                 "objects/%s: an unfinished segment, kept as found by the recovery in entry "
                 "%llu (its whole fragments are a segment of their own)",
                 f, (unsigned long long)u->seq);
        } else if (!n) {
            stop = problem(r,
                           "objects/%s is named by no entry of the ledger: an unfinished "
                           "segment of a recording still running or interrupted (run 'tellonce "
                           "recover' once no recording runs), or a file put there from outside",
                           f);
        }
    }
    closedir(d);
    return stop;
}

/* A note's sealed file (objects/, or tmp/ while its move was interrupted)
 * is the one its entry logged. */
static int check_note(tlo_custody *v, const vnote *n, tlo_custody_verify_report *r)
{
    char name[80], hex[65];
    uint64_t size = 0;
    snprintf(name, sizeof name, "objects/%s.tlo", n->id);
    int rc = digest(v, name, hex, &size);
    if (rc == -ENOENT) {
        snprintf(name, sizeof name, "tmp/note-%s.tlo", n->id);
        rc = digest(v, name, hex, &size);
        if (rc == -ENOENT)
            snprintf(name, sizeof name, "objects/%s.tlo", n->id);
    }
    if (rc != 0)
        return problem(r, "the sealed note %s (entry %llu) %s", name, (unsigned long long)n->seq,
                       rc == -ENOENT ? "is missing: restore it from a backup" : strerror(-rc));
    if (size != n->bytes || strcmp(hex, n->sha))
        return problem(r,
                       "%s is not the sealed note its entry %llu logged (its %s differs): it "
                       "was altered or replaced; restore it from a backup",
                       name, (unsigned long long)n->seq, size != n->bytes ? "size" : "SHA-256");
    return 0;
}

int custody_verify_objects(tlo_custody *v, tlo_custody_verify_report *out, tlo_error *err)
{
    walk w = {0};
    int rc = tlo_chain_walk(v->ch, 0, visit, &w, err);
    if (rc < 0) {
        if (rc == TLO_ENOMEM && err && !err->msg[0])
            tlo_fail(err, rc, "out of memory verifying the vault's files");
        goto out;
    }
    rc = 0;
    for (size_t i = 0; i < w.nc && out->chain.ok; i++)
        check_case(v, &w.c[i], out);
    for (size_t i = 0; i < w.nn && out->chain.ok; i++)
        check_note(v, &w.nt[i], out);
    if (out->chain.ok && !check_dir(v, &w, "cases", out) && !check_dir(v, &w, "objects", out))
        check_dir(v, &w, "tmp", out);
out:
    free(w.c);
    free(w.nt);
    free(w.o);
    return rc;
}
