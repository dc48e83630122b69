/* Notes: adding a record or attachment to a case, amending it, listing a
 * case's notes, and reading one (show, get), each decided by the table
 * (custody/roles.c) on the entries the custodian verified. docs/notes.md.
 *
 * Adding one writes, in this order (a process killed at any step leaves a
 * vault that verifies: custody/verify_objects.c):
 *   1. the container, built in memory and sealed under the case key into an
 *      unnamed file (O_TMPFILE) in the vault's tmp/: killed here, nothing;
 *   2. that file named tmp/note-OBJ.tlo, fsynced ("note-sealed"): a sealed
 *      file no entry names, listed by verify, never read;
 *   3. the note entry (kind 50, by the author) ("note-logged"): the file
 *      is logged but still in tmp/, where readers find it, and the next
 *      'note add' or 'note amend', of any case, moves it;
 *   4. the file moved to objects/OBJ.tlo, the folder fsynced
 *      ("note-published").
 * No plaintext byte reaches a file: the container lives in memory only. */
#include "internal.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct {
    const char *kind;
    tlo_custody_act act;
} kind_acts[] = {
    {"exam", TLO_ACT_NOTE_EXAM},
    {"photo", TLO_ACT_NOTE_PHOTO},
    {"sample-collection", TLO_ACT_NOTE_SAMPLE},
    {"psych", TLO_ACT_NOTE_PSYCH},
    {"legal", TLO_ACT_NOTE_LEGAL},
    {"assessment", TLO_ACT_NOTE_ASSESSMENT},
    {"followup", TLO_ACT_NOTE_FOLLOWUP},
    {"other", TLO_ACT_NOTE_OTHER},
};

tlo_custody_act tlo_custody_note_kind_act(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kind_acts / sizeof kind_acts[0]; i++)
        if (!strcmp(kind, kind_acts[i].kind))
            return kind_acts[i].act;
    return TLO_ACT_COUNT;
}

static bool is_hex(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* ---- the verified entries of a case ---- */

typedef struct note_scan {
    const uint8_t *case_id;
    uint64_t verified, limit, count;
    uint8_t chain[32];
    tlo_custody_notes *out;
    size_t ncap, gcap;
    uint8_t (*on)[32]; /* actors who signed an entry of the case that puts them on it */
    size_t non;
    tlo_custody_grant *clip; /* clip grants, for "on the case" */
    size_t nclip;
    bool oom;
} note_scan;

static void add_on(note_scan *ns, const uint8_t actor[32])
{
    for (size_t i = 0; i < ns->non; i++)
        if (!memcmp(ns->on[i], actor, 32))
            return;
    uint8_t(*p)[32] = realloc(ns->on, (ns->non + 1) * sizeof *p);
    if (!p) {
        ns->oom = true;
        return;
    }
    ns->on = p;
    memcpy(ns->on[ns->non++], actor, 32);
}

static tlo_custody_note_info *note_by_id(tlo_custody_notes *n, const char *id)
{
    for (size_t i = 0; i < n->n; i++)
        if (!strcmp(n->note[i].id, id))
            return &n->note[i];
    return NULL;
}

/* A note entry into the list: a first version starts a note, a later one
 * must come from its author, number the next version and replace the
 * newest (else it is not a version of it: tellonce never writes one). */
static void add_note(note_scan *ns, const tlo_entry *e)
{
    tlo_custody_note_version ver = {.seq = e->seq, .time_ms = e->time_ms};
    char note[33], kind[33];
    if (tlo_entry_str(e, "object", ver.object, sizeof ver.object) != 0 || !is_hex(ver.object, 32) ||
        tlo_entry_str(e, "note", note, sizeof note) != 0 || !is_hex(note, 32) ||
        tlo_entry_str(e, "note_kind", kind, sizeof kind) != 0 || !tlo_custody_note_kind_ok(kind) ||
        tlo_entry_u64(e, "bytes", &ver.bytes) != 0 ||
        tlo_entry_hex(e, "ciphertext_sha256", ver.ciphertext_sha256, 32) != 0 ||
        tlo_entry_hex(e, "plaintext_sha256", ver.plaintext_sha256, 32) != 0 ||
        tlo_entry_u64(e, "version", &ver.version) != 0)
        return;
    tlo_entry_u64(e, "files", &ver.files);
    tlo_entry_u64(e, "text_bytes", &ver.text_bytes);
    if (tlo_entry_str(e, "replaces", ver.replaces, sizeof ver.replaces) != 0)
        ver.replaces[0] = '\0';
    if (tlo_entry_str(e, "session", ver.session, sizeof ver.session) != 0)
        ver.session[0] = '\0';
    ver.has_at = tlo_entry_u64(e, "at_ms", &ver.at_ms) == 0;
    tlo_custody_notes *n = ns->out;
    tlo_custody_note_info *ni = note_by_id(n, note);
    if (ver.version == 1) {
        if (ni || strcmp(note, ver.object) || ver.replaces[0])
            return;
        if (n->n == ns->ncap) {
            size_t cap = ns->ncap ? 2 * ns->ncap : 8;
            tlo_custody_note_info *p = realloc(n->note, cap * sizeof *p);
            if (!p) {
                ns->oom = true;
                return;
            }
            n->note = p;
            ns->ncap = cap;
        }
        ni = &n->note[n->n++];
        memset(ni, 0, sizeof *ni);
        ni->number = (unsigned)n->n;
        snprintf(ni->id, sizeof ni->id, "%s", note);
        snprintf(ni->kind, sizeof ni->kind, "%s", kind);
        memcpy(ni->author, e->actor, 32);
    } else if (!ni || memcmp(ni->author, e->actor, 32) != 0 || ver.version != ni->nv + 1 ||
               strcmp(ver.replaces, ni->v[ni->nv - 1].object) != 0 || strcmp(kind, ni->kind)) {
        return;
    }
    tlo_custody_note_version *p = realloc(ni->v, (ni->nv + 1) * sizeof *p);
    if (!p) {
        ns->oom = true;
        return;
    }
    ni->v = p;
    ni->v[ni->nv++] = ver;
}

static int parse_note_grant(const tlo_entry *e, tlo_custody_note_grant *g)
{
    memset(g, 0, sizeof *g);
    g->seq = e->seq;
    g->revoked_at = -1;
    memcpy(g->case_id, e->case_id, TLO_ID_BYTES);
    if (tlo_entry_str(e, "note", g->note, sizeof g->note) != 0 || !is_hex(g->note, 32) ||
        tlo_entry_hex(e, "to", g->to, 32) != 0 ||
        tlo_entry_u64(e, "expires_ms", &g->expires_ms) != 0 ||
        tlo_entry_str(e, "purpose", g->purpose, sizeof g->purpose) != 0)
        return -1;
    tlo_entry_str(e, "to_name", g->to_name, sizeof g->to_name);
    return 0;
}

static void add_grant(note_scan *ns, const tlo_entry *e)
{
    tlo_custody_note_grant g;
    tlo_custody_notes *n = ns->out;
    if (parse_note_grant(e, &g) != 0)
        return;
    if (n->ngrants == ns->gcap) {
        size_t cap = ns->gcap ? 2 * ns->gcap : 8;
        tlo_custody_note_grant *p = realloc(n->grant, cap * sizeof *p);
        if (!p) {
            ns->oom = true;
            return;
        }
        n->grant = p;
        ns->gcap = cap;
    }
    n->grant[n->ngrants++] = g;
}

static int visit_case(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    note_scan *ns = ctx;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, ns->case_id, TLO_ID_BYTES) != 0)
        return 0;
    if (e->seq >= ns->verified)
        return 1; /* appended since the custodian verified: not read */
    ns->count++;
    tlo_chain_case_step(ns->chain, leaf);
    if (e->seq >= ns->limit)
        return 0;
    switch (e->kind) {
    case TLO_ENTRY_NOTE:
        add_note(ns, e);
        add_on(ns, e->actor);
        break;
    case TLO_ENTRY_CASE_OPEN:
    case TLO_ENTRY_SESSION_START:
    case TLO_ENTRY_SAMPLE_REGISTER:
    case TLO_ENTRY_SAMPLE_TRANSFER:
    case TLO_ENTRY_SAMPLE_RECEIVE:
    case TLO_ENTRY_SAMPLE_DISPOSE:
        add_on(ns, e->actor);
        break;
    case TLO_ENTRY_NOTE_GRANT:
        add_grant(ns, e);
        break;
    case TLO_ENTRY_GRANT: {
        tlo_custody_grant g;
        if (custody_grant_parse(e, &g) == 0) {
            tlo_custody_grant *p = realloc(ns->clip, (ns->nclip + 1) * sizeof *p);
            if (!p)
                ns->oom = true;
            else
                (ns->clip = p)[ns->nclip++] = g;
        }
        break;
    }
    case TLO_ENTRY_GRANT_REVOKE: {
        uint64_t which;
        if (tlo_entry_u64(e, "grant", &which) != 0)
            break;
        for (size_t i = 0; i < ns->out->ngrants; i++)
            if (ns->out->grant[i].seq == which && ns->out->grant[i].revoked_at < 0)
                ns->out->grant[i].revoked_at = (int64_t)e->seq;
        for (size_t i = 0; i < ns->nclip; i++)
            if (ns->clip[i].seq == which && ns->clip[i].revoked_at < 0)
                ns->clip[i].revoked_at = (int64_t)e->seq;
        break;
    }
    default:
        break;
    }
    return ns->oom ? TLO_ENOMEM : 0;
}

void tlo_custody_notes_free(tlo_custody_notes *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++)
        free(n->note[i].v);
    free(n->note);
    free(n->grant);
    memset(n, 0, sizeof *n);
}

static void scan_free(note_scan *ns)
{
    free(ns->on);
    free(ns->clip);
    ns->on = NULL;
    ns->clip = NULL;
    ns->non = ns->nclip = 0;
}

/* Reads the case's entries the custodian verified (those below limit into
 * the lists) and checks they are exactly the ones it verified. *stp gets
 * the verified state (v's). */
static int scan_case(tlo_custody *v, const tlo_vault_identity *cust, const tlo_custody_case *cs,
                     uint64_t limit, note_scan *ns, tlo_custody_notes *out, tlo_chain_state **stp,
                     tlo_error *err)
{
    tlo_chain_state *st = NULL;
    uint64_t count;
    uint8_t chain[32];
    scan_free(ns);
    tlo_custody_notes_free(out);
    memset(ns, 0, sizeof *ns);
    ns->case_id = cs->id;
    ns->out = out;
    out->cs = *cs;
    int rc = custody_verified(v, cust, &st, err);
    if (rc)
        return rc;
    ns->verified = tlo_chain_state_size(st);
    ns->limit = limit < ns->verified ? limit : ns->verified;
    rc = custody_walk_case(v, cs->id, visit_case, ns, err);
    if (rc < 0 || ns->oom)
        return ns->oom ? tlo_fail(err, TLO_ENOMEM, "out of memory reading the notes") : rc;
    if (!tlo_chain_state_case(st, cs->id, &count, chain))
        return tlo_fail(err, TLO_ENOTFOUND, "the vault has no case %s", cs->number);
    if (count != ns->count || sodium_memcmp(chain, ns->chain, 32) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger's entries of case %s are not the %llu the custodian verified "
                        "(%llu read): one was removed, changed or hidden from the index. No "
                        "decision is made; 'tellonce verify' names the damage",
                        cs->number, (unsigned long long)count, (unsigned long long)ns->count);
    for (size_t i = 0; i < out->n; i++) {
        tlo_custody_note_info *ni = &out->note[i];
        const tlo_chain_key *k = tlo_chain_state_key(st, ni->author);
        ni->author_roles = k ? k->roles : 0;
        const tlo_custody_person *p = tlo_custody_person_by_actor(v, ni->author);
        snprintf(ni->author_name, sizeof ni->author_name, "%s", p ? p->name : "?");
    }
    if (stp)
        *stp = st;
    return 0;
}

int tlo_custody_notes_list(tlo_custody *v, const char *case_number, tlo_custody_notes *out,
                           tlo_error *err)
{
    tlo_custody_case cs;
    tlo_vault_identity *cust = NULL;
    note_scan ns = {0};
    memset(out, 0, sizeof *out);
    int rc = tlo_custody_case_find(v, case_number, &cs, err);
    if (rc == 0 && (rc = custody_custodian(v, &cust, err)) == 0)
        rc = scan_case(v, cust, &cs, UINT64_MAX, &ns, out, NULL, err);
    scan_free(&ns);
    tlo_vault_identity_free(cust);
    if (rc)
        tlo_custody_notes_free(out);
    return rc;
}

const tlo_custody_note_info *tlo_custody_note_find(const tlo_custody_notes *n, const char *ref,
                                                   tlo_error *err)
{
    uint64_t num;
    size_t len = ref ? strlen(ref) : 0;
    /* A number names a note when there is one; else 4 or more digits are
     * a prefix of an id ("1234" is note 1234 of a large case, or an id). */
    bool is_num = ref && len <= 6 && tlo_parse_u64(ref, &num) == 0;
    if (ref && !n->n) {
        tlo_fail(err, TLO_ENOTFOUND,
                 "case %s has no notes yet: there is no note %s ('tellonce note add' adds one)",
                 n->cs.number, ref);
        return NULL;
    }
    if (is_num && num >= 1 && num <= n->n)
        return &n->note[num - 1];
    if (is_num && len < 4) {
        tlo_fail(err, TLO_ENOTFOUND,
                 "case %s has no note %s ('tellonce note list %s' numbers them 1 to %zu)",
                 n->cs.number, ref, n->cs.number, n->n);
        return NULL;
    }
    if (!ref || len < 4 || len > 32 || strspn(ref, "0123456789abcdef") != len) {
        tlo_fail(err, TLO_EARG,
                 "a note is named by its number in 'tellonce note list' or by 4 to 32 hex "
                 "digits of its id");
        return NULL;
    }
    const tlo_custody_note_info *found = NULL;
    for (size_t i = 0; i < n->n; i++) {
        if (strncmp(n->note[i].id, ref, len) != 0)
            continue;
        if (found) {
            tlo_fail(err, TLO_EARG,
                     "more than one note of case %s has an id starting %s: give "
                     "more digits",
                     n->cs.number, ref);
            return NULL;
        }
        found = &n->note[i];
    }
    if (!found)
        tlo_fail(err, TLO_ENOTFOUND, "case %s has no note whose id starts %s", n->cs.number, ref);
    return found;
}

/* ---- adding ---- */

/* The logged note objects still in tmp/ (a 'note add' or 'note amend'
 * killed after its entry), of any case: their names, then a walk of the
 * note entries (kind 50) only when there is one. */
typedef struct settling {
    char (*ids)[33];
    size_t n;
    tlo_custody *v;
    const char *tmp, *objects;
} settling;

static int settle_one(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    settling *s = ctx;
    char obj[40], sha[70], hex[65], name[64];
    uint64_t bytes, size;
    uint8_t h[32];
    (void)leaf;
    (void)err;
    if (tlo_entry_str(e, "object", obj, sizeof obj) != 0 ||
        tlo_entry_str(e, "ciphertext_sha256", sha, sizeof sha) != 0 ||
        tlo_entry_u64(e, "bytes", &bytes) != 0)
        return 0;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->ids[i], obj))
            continue;
        snprintf(name, sizeof name, "note-%s.tlo", obj);
        char *from = tlo_path_join(s->tmp, name), *to = tlo_custody_object_path(s->v, obj);
        int fd = from ? open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
        struct stat st;
        /* only the file its entry logged, never over one in objects/ */
        bool same = fd >= 0 && custody_hash_fd(fd, h, &size) == 0 && size == bytes;
        if (fd >= 0)
            close(fd);
        if (same)
            tlo_hex(hex, h, 32);
        if (same && !strcmp(hex, sha) && to && stat(to, &st) != 0 && errno == ENOENT)
            custody_publish(from, to, s->objects, NULL);
        free(from);
        free(to);
        s->ids[i][0] = '\0';
    }
    return 0;
}

/* Moves each logged note object still in tmp/, of every case, into
 * objects/. Best effort: a reader finds it in either. */
static void settle(tlo_custody *v)
{
    char *tmp = tlo_custody_path(v, "tmp"), *objects = tlo_custody_path(v, "objects");
    DIR *d = tmp ? opendir(tmp) : NULL;
    settling s = {.v = v, .tmp = tmp, .objects = objects};
    struct dirent *de;
    while (d && objects && (de = readdir(d))) {
        const char *f = de->d_name;
        size_t fl = strlen(f);
        if (fl != 5 + 32 + 4 || strncmp(f, "note-", 5) || strcmp(f + 37, ".tlo") ||
            strspn(f + 5, "0123456789abcdef") != 32)
            continue;
        char(*p)[33] = realloc(s.ids, (s.n + 1) * sizeof *s.ids);
        if (!p)
            break;
        s.ids = p;
        memcpy(s.ids[s.n], f + 5, 32);
        s.ids[s.n++][32] = '\0';
    }
    if (d)
        closedir(d);
    if (s.n)
        tlo_chain_walk_kind(v->ch, TLO_ENTRY_NOTE, 0, settle_one, &s, NULL);
    free(s.ids);
    free(tmp);
    free(objects);
}

static int mkdir_objects(tlo_custody *v, char **out, tlo_error *err)
{
    *out = tlo_custody_path(v, "objects");
    if (!*out)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (mkdir(*out, 0700) == 0 || errno == EEXIST)
        return 0;
    int rc = tlo_fail(err, TLO_EIO, "cannot create %s: %s", *out, strerror(errno));
    free(*out);
    *out = NULL;
    return rc;
}

/* The entry's body, keys in byte order (tlo_entry_body_valid). */
static char *note_body(const tlo_custody_note_params *p, const tlo_custody_note_part *files,
                       size_t nfiles, const tlo_vault_digests *d, const char *note,
                       const char *object, const char *kind, const char *replaces, uint64_t version)
{
    size_t cap = 1024 + nfiles * 128, off = 0;
    char *b = malloc(cap), hex[65];
    if (!b)
        return NULL;
#define ADD(...) off += (size_t)snprintf(b + off, cap - off, __VA_ARGS__)
    if (p->has_at)
        ADD("at_ms=%llu\n", (unsigned long long)p->at_ms);
    ADD("bytes=%llu\n", (unsigned long long)d->ciphertext_bytes);
    tlo_hex(hex, d->ciphertext_sha256, 32);
    ADD("ciphertext_sha256=%s\n", hex);
    for (size_t i = 0; i < nfiles; i++) {
        uint8_t h[32];
        crypto_hash_sha256(h, files[i].data, files[i].len);
        tlo_hex(hex, h, 32);
        ADD("file.%03zu.bytes=%zu\nfile.%03zu.sha256=%s\n", i + 1, files[i].len, i + 1, hex);
    }
    ADD("files=%zu\nnote=%s\nnote_kind=%s\nobject=%s\n", nfiles, note, kind, object);
    tlo_hex(hex, d->plaintext_sha256, 32);
    ADD("plaintext_sha256=%s\n", hex);
    if (replaces)
        ADD("replaces=%s\n", replaces);
    if (p->session)
        ADD("session=%s\n", p->session);
    ADD("text_bytes=%zu\nversion=%llu\n", p->text_len, (unsigned long long)version);
#undef ADD
    return b;
}

static int writer_sink(void *ctx, const void *p, size_t n, tlo_error *err)
{
    return tlo_vault_writer_write(ctx, p, n, err);
}

/* Seals the container of p (kind its kind) under key into an unnamed file
 * in tmp (*fd), streamed from the caller's memory: no copy of the files. */
static int seal_into(const char *tmp, const uint8_t *case_id, const uint8_t object_id[16],
                     const uint8_t *key, const tlo_custody_note_params *p, const char *kind,
                     int *fd, tlo_vault_digests *d, tlo_error *err)
{
    tlo_vault_object_params op = {.kind = TLO_KIND_ATTACHMENT};
    memcpy(op.case_id, case_id, TLO_ID_BYTES);
    memcpy(op.object_id, object_id, TLO_ID_BYTES);
    int rc = custody_tmpfile(tmp, fd, err);
    if (rc)
        return rc;
    tlo_vault_writer *w = tlo_vault_writer_new(&op, key, tlo_vault_fd_sink, fd, err);
    if (!w ||
        tlo_custody_note_write(kind, p->title, p->text, p->text_len, p->files, p->nfiles,
                               writer_sink, w, NULL, err) != 0 ||
        tlo_vault_writer_finish(w, d, err) != 0) {
        if (err && !err->msg[0])
            tlo_fail(err, TLO_EIO, "cannot write a sealed note in %s: %s", tmp, strerror(errno));
        rc = TLO_EIO;
        if (err)
            err->code = TLO_EIO;
    }
    tlo_vault_writer_free(w);
    return rc;
}

static int check_params(const tlo_custody_note_params *p, tlo_error *err)
{
    if (!p->note && !tlo_custody_note_kind_ok(p->kind))
        return tlo_fail(err, TLO_EARG,
                        "the kind of a note is exam, photo, sample-collection, psych, legal, "
                        "assessment, followup or other");
    if (p->session && !is_hex(p->session, 32))
        return tlo_fail(err, TLO_EARG,
                        "a session id is 32 hex digits, as 'tellonce log' shows them");
    if (p->has_at && !p->session)
        return tlo_fail(err, TLO_EARG, "--at is a time of a session: give --session too");
    return 0;
}

int tlo_custody_note_add(tlo_custody *v, const tlo_vault_identity *author,
                         const tlo_custody_note_params *p, tlo_custody_note_added *out,
                         tlo_error *err)
{
    tlo_custody_case cs;
    tlo_custody_notes n = {0};
    note_scan ns = {0};
    tlo_vault_identity *cust = NULL;
    uint8_t *key = NULL, oid[TLO_ID_BYTES], actor[32];
    char *tmp = NULL, *objects = NULL, *tpath = NULL, *opath = NULL, *body = NULL;
    char object[33], note[33], replaces[33] = "", name[64];
    const char *kind = p->kind;
    uint64_t version = 1, seq = 0;
    int fd = -1, rc;
    bool linked = false;
    custody_lease *lease = NULL;
    memset(out, 0, sizeof *out);
    if ((rc = check_params(p, err)) != 0 ||
        (rc = tlo_custody_case_find(v, p->case_number, &cs, err)) != 0 ||
        (rc = custody_custodian(v, &cust, err)) != 0 ||
        (rc = scan_case(v, cust, &cs, UINT64_MAX, &ns, &n, NULL, err)) != 0)
        goto out;
    crypto_hash_sha256(actor, author->sign_pk, 32);
    tlo_vault_random_id(oid);
    tlo_hex(object, oid, TLO_ID_BYTES);
    snprintf(note, sizeof note, "%s", object);
    if (p->note) {
        const tlo_custody_note_info *ni = tlo_custody_note_find(&n, p->note, err);
        if (!ni) {
            rc = err ? err->code : TLO_ENOTFOUND;
            goto out;
        }
        /* One amend of a note at a time, on its newest version: the lease,
         * then the case read again. */
        char lname[48], held[200];
        snprintf(lname, sizeof lname, "note-%s", ni->id);
        if ((rc = custody_lease_take(v, lname, "note amend", &lease, held, sizeof held, err)) !=
            0) {
            if (rc == TLO_EEXIST)
                rc = tlo_fail(err, TLO_EEXIST,
                              "another 'note amend' of note %u runs (%s); run this one again "
                              "when it has ended",
                              ni->number, held);
            goto out;
        }
        snprintf(note, sizeof note, "%s", ni->id);
        if ((rc = scan_case(v, cust, &cs, UINT64_MAX, &ns, &n, NULL, err)) != 0)
            goto out;
        if (!(ni = tlo_custody_note_find(&n, note, err))) {
            rc = err ? err->code : TLO_ENOTFOUND;
            goto out;
        }
        bool own = !memcmp(ni->author, actor, 32);
        if ((rc = custody_check_act(v, author, TLO_ACT_NOTE_AMEND, own ? TLO_WHEN_AUTHOR : 0, cs.id,
                                    NULL, err)) != 0)
            goto out;
        kind = ni->kind;
        snprintf(note, sizeof note, "%s", ni->id);
        snprintf(replaces, sizeof replaces, "%s", ni->v[ni->nv - 1].object);
        version = ni->nv + 1;
        out->number = ni->number;
    } else {
        if ((rc = custody_check_act(v, author, tlo_custody_note_kind_act(kind), 0, cs.id, NULL,
                                    err)) != 0)
            goto out;
        out->number = (unsigned)n.n + 1;
    }
    if (p->session) {
        tlo_custody_session s;
        if ((rc = tlo_custody_session_info(v, cs.id, p->session, &s, err)) != 0)
            goto out;
        if (!s.found) {
            rc = tlo_fail(err, TLO_ENOTFOUND,
                          "case %s has no session %s; 'tellonce log' lists its sessions",
                          p->case_number, p->session);
            goto out;
        }
        if (p->has_at && s.ended && p->at_ms > s.end_ms) {
            rc = tlo_fail(err, TLO_EARG, "--at is after the end of session %s (it is %llu ms long)",
                          p->session, (unsigned long long)s.end_ms);
            goto out;
        }
    }
    /* The bounds, before the case key is unwrapped. */
    if ((rc = tlo_custody_note_write(kind, p->title, p->text, p->text_len, p->files, p->nfiles,
                                     NULL, NULL, NULL, err)) != 0)
        goto out;
    settle(v);
    if ((rc = custody_private_dir(v, &tmp, err)) != 0 ||
        (rc = mkdir_objects(v, &objects, err)) != 0 ||
        (rc = custody_case_key(v, &cs, cust, &key, err)) != 0)
        goto out;
    tlo_vault_digests d;
    rc = seal_into(tmp, cs.id, oid, key, p, kind, &fd, &d, err);
    tlo_vault_key_free(key);
    key = NULL;
    if (rc)
        goto out;
    snprintf(name, sizeof name, "note-%s.tlo", object);
    if (!(tpath = tlo_path_join(tmp, name)) || !(opath = tlo_custody_object_path(v, object)) ||
        !(body = note_body(p, p->files, p->nfiles, &d, note, object, kind,
                           replaces[0] ? replaces : NULL, version))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory adding a note");
        goto out;
    }
    if ((rc = custody_link_fd(fd, tpath, tmp, err)) != 0)
        goto out;
    linked = true;
    custody_test_kill("note-sealed");
    if ((rc = custody_append(v, author, TLO_ENTRY_NOTE, cs.id, body, &seq, err)) != 0)
        goto out;
    linked = false; /* logged: the file stays whatever happens next */
    custody_test_kill("note-logged");
    /* A failure to move it is not the note's: it is logged, readers find it
     * in tmp/, and the next 'note add' or 'note amend' (any case) moves it. */
    tlo_error merr = {0};
    if (custody_publish(tpath, opath, objects, &merr) == 0)
        custody_test_kill("note-published");
    snprintf(out->id, sizeof out->id, "%s", note);
    snprintf(out->object, sizeof out->object, "%s", object);
    out->version = version;
    out->seq = seq;
    out->bytes = d.ciphertext_bytes;
    rc = custody_seal(v, err);
out:
    if (linked && tpath)
        unlink(tpath);
    if (fd >= 0)
        close(fd);
    custody_lease_release(lease);
    tlo_vault_key_free(key);
    tlo_vault_identity_free(cust);
    scan_free(&ns);
    tlo_custody_notes_free(&n);
    free(tmp);
    free(objects);
    free(tpath);
    free(opath);
    free(body);
    return rc;
}

/* ---- reading ---- */

static bool live_note_grant(const tlo_custody_notes *n, const char *note, const uint8_t pk[32],
                            uint64_t now, const tlo_custody_note_grant **g)
{
    for (size_t i = n->ngrants; i-- > 0;) {
        const tlo_custody_note_grant *x = &n->grant[i];
        if ((!note || !strcmp(x->note, note)) && !memcmp(x->to, pk, 32) && x->revoked_at < 0 &&
            x->expires_ms > now) {
            if (g)
                *g = x;
            return true;
        }
    }
    return false;
}

/* What holds for reader and note ni (TLO_WHEN_*), and on what basis. */
static unsigned read_holds(const note_scan *ns, const tlo_custody_notes *n,
                           const tlo_custody_note_info *ni, const tlo_chain_state *st,
                           const uint8_t pk[32], const char **basis,
                           const tlo_custody_note_grant **grant)
{
    uint8_t actor[32];
    uint64_t now = tlo_custody_now_ms();
    unsigned holds = 0;
    crypto_hash_sha256(actor, pk, 32);
    *basis = NULL;
    *grant = NULL;
    if (live_note_grant(n, ni->id, pk, now, grant)) {
        holds |= TLO_WHEN_GRANTED;
        *basis = "grant";
    }
    const tlo_chain_key *k = tlo_chain_state_key(st, actor);
    unsigned profession =
        tlo_custody_act_roles(tlo_custody_note_kind_act(ni->kind)) & ni->author_roles;
    bool on = false;
    for (size_t i = 0; i < ns->non; i++)
        on |= !memcmp(ns->on[i], actor, 32);
    for (size_t i = 0; i < ns->nclip; i++)
        on |= !memcmp(ns->clip[i].to, pk, 32) && ns->clip[i].revoked_at < 0 &&
              ns->clip[i].expires_ms > now;
    on |= live_note_grant(n, NULL, pk, now, NULL);
    if (k && k->revoked_at < 0 && (k->roles & profession) && on) {
        holds |= TLO_WHEN_PROFESSION;
        *basis = "profession";
    }
    if (!memcmp(actor, ni->author, 32)) {
        holds |= TLO_WHEN_AUTHOR;
        *basis = "author";
    }
    return holds;
}

static int log_access(tlo_custody *v, const tlo_vault_identity *cust, const tlo_custody_case *cs,
                      tlo_custody_note_action action, const uint8_t pk[32], const char *basis,
                      const tlo_custody_note_grant *g, const char *note, const char *object,
                      const char *reason, uint64_t *seq, tlo_error *err)
{
    char body[2000], pkh[65], gs[40] = "", why[420] = "", purpose[560] = "", bs[40] = "";
    tlo_hex(pkh, pk, 32);
    if (basis)
        snprintf(bs, sizeof bs, "basis=%s\n", basis);
    if (g) {
        snprintf(gs, sizeof gs, "grant=%llu\n", (unsigned long long)g->seq);
        snprintf(purpose, sizeof purpose, "purpose=%s\n", g->purpose);
    }
    if (reason) {
        char clean[401];
        tlo_clean_text(clean, sizeof clean, reason);
        snprintf(why, sizeof why, "reason=%s\n", clean);
    }
    snprintf(body, sizeof body, "action=%s\nactor=%s\n%s%snote=%s\nobject=%s\n%s%sresult=%s\n",
             action == TLO_CUSTODY_NOTE_SHOW ? "show" : "get", pkh, bs, gs, note, object, purpose,
             why, reason ? "refused" : "granted");
    return custody_append(v, cust, TLO_ENTRY_NOTE_ACCESS, cs->id, body, seq, err);
}

/* objects/OBJ.tlo, else tmp/note-OBJ.tlo (logged, not yet moved). */
static int open_object(tlo_custody *v, const char *object, char **path, int *fd)
{
    char name[64];
    *path = tlo_custody_object_path(v, object);
    *fd = *path ? open(*path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (*fd >= 0 || !*path || errno != ENOENT)
        return *fd >= 0 ? 0 : -1;
    free(*path);
    snprintf(name, sizeof name, "tmp/note-%s.tlo", object);
    *path = tlo_custody_path(v, name);
    *fd = *path ? open(*path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (*fd < 0 && *path) {
        free(*path);
        *path = tlo_custody_object_path(v, object); /* name the usual place in messages */
    }
    return *fd >= 0 ? 0 : -1;
}

/* The longest container a reader accepts. */
#define CONTAINER_MAX                                                                              \
    ((uint64_t)TLO_CUSTODY_NOTE_BYTES_MAX + TLO_CUSTODY_NOTE_TEXT_MAX +                            \
     TLO_CUSTODY_NOTE_FILES_MAX * 512 + 1024)

/* Unseals version ver of the case into out, after checking its file is the
 * one its entry logged. */
static int unseal(tlo_custody *v, const tlo_vault_identity *cust, const tlo_custody_case *cs,
                  const tlo_custody_note_version *ver, tlo_custody_note_content *out,
                  tlo_error *err)
{
    char *path = NULL;
    int fd = -1, rc = 0;
    uint8_t h[32], *key = NULL, *okey = NULL, *buf = NULL, oid[TLO_ID_BYTES];
    uint64_t size = 0;
    tlo_vault_reader *r = NULL;
    if (open_object(v, ver->object, &path, &fd) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the sealed note %s (entry %llu) cannot be read: %s; restore it from a "
                      "backup",
                      path ? path : ver->object, (unsigned long long)ver->seq, strerror(errno));
        goto out;
    }
    if (custody_hash_fd(fd, h, &size) != 0 || size != ver->bytes ||
        sodium_memcmp(h, ver->ciphertext_sha256, 32) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "%s is not the sealed note its entry %llu logged (its size or SHA-256 "
                      "differs): it was altered or replaced; nothing of it is shown. Restore it "
                      "from a backup; 'tellonce verify' says the same",
                      path, (unsigned long long)ver->seq);
        goto out;
    }
    if ((rc = custody_case_key(v, cs, cust, &key, err)) != 0)
        goto out;
    if (!(okey = sodium_malloc(TLO_OBJECT_KEY_BYTES))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for a note's key");
        goto out;
    }
    rc = tlo_vault_object_key(tlo_vault_fd_source, &fd, size, key, okey, path, err);
    tlo_vault_key_free(key); /* the case key only for the time it takes to derive */
    key = NULL;
    if (rc)
        goto out;
    if (!(r = tlo_vault_reader_open_object_key(tlo_vault_fd_source, &fd, size, okey, path, err))) {
        rc = err && err->code ? err->code : TLO_EFORMAT;
        goto out;
    }
    const tlo_vault_header *hd = tlo_vault_reader_header(r);
    tlo_unhex(oid, TLO_ID_BYTES, ver->object);
    uint64_t plen = tlo_vault_reader_size(r);
    if (hd->kind != TLO_KIND_ATTACHMENT || memcmp(hd->object_id, oid, TLO_ID_BYTES) != 0 ||
        memcmp(hd->case_id, cs->id, TLO_ID_BYTES) != 0 || plen > CONTAINER_MAX) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "%s is not the note its entry %llu names (another object's header, or "
                      "too large)",
                      path, (unsigned long long)ver->seq);
        goto out;
    }
    if (!(buf = malloc(plen ? (size_t)plen : 1))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory reading a note of %llu bytes",
                      (unsigned long long)plen);
        goto out;
    }
    if ((rc = tlo_vault_reader_read_at(r, 0, buf, (size_t)plen, err)) != 0)
        goto out;
    crypto_hash_sha256(h, buf, (size_t)plen);
    if (sodium_memcmp(h, ver->plaintext_sha256, 32) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "%s does not hold what its entry %llu logged (plaintext SHA-256)", path,
                      (unsigned long long)ver->seq);
        goto out;
    }
    if ((rc = tlo_custody_note_parse(buf, (size_t)plen, out, err)) != 0)
        goto out;
    out->owned = buf;
    out->owned_len = (size_t)plen;
    buf = NULL;
out:
    if (buf) {
        sodium_memzero(buf, (size_t)tlo_vault_reader_size(r));
        free(buf);
    }
    tlo_vault_reader_free(r);
    if (okey)
        sodium_free(okey);
    tlo_vault_key_free(key);
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

int tlo_custody_note_read(tlo_custody *v, const tlo_vault_identity *reader, const char *case_number,
                          const char *ref, uint64_t version, tlo_custody_note_action action,
                          tlo_custody_note_content *out, tlo_custody_note_read_info *info,
                          tlo_error *err)
{
    tlo_custody_case cs;
    tlo_custody_notes n = {0};
    note_scan ns = {0};
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    const tlo_custody_note_grant *g = NULL;
    const char *basis = NULL;
    uint64_t seq = 0;
    int rc;
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    if ((rc = tlo_custody_case_find(v, case_number, &cs, err)) != 0 ||
        (rc = custody_custodian(v, &cust, err)) != 0 ||
        (rc = scan_case(v, cust, &cs, UINT64_MAX, &ns, &n, &st, err)) != 0)
        goto out;
    const tlo_custody_note_info *ni = tlo_custody_note_find(&n, ref, err);
    if (!ni) {
        rc = err ? err->code : TLO_ENOTFOUND;
        goto out;
    }
    if (version > ni->nv) {
        rc = tlo_fail(err, TLO_ENOTFOUND, "note %u of case %s has %zu version(s), not %llu",
                      ni->number, case_number, ni->nv, (unsigned long long)version);
        goto out;
    }
    char id[33];
    snprintf(id, sizeof id, "%s", ni->id);
    info->number = ni->number;
    snprintf(info->id, sizeof info->id, "%s", ni->id);
    info->version = ni->v[version ? version - 1 : ni->nv - 1];
    uint64_t decided_on = tlo_chain_state_size(st);
    unsigned holds = read_holds(&ns, &n, ni, st, reader->sign_pk, &basis, &g);
    uint64_t grant = g ? g->seq : 0;
    rc = custody_check_act(v, reader, TLO_ACT_NOTE_READ, holds, cs.id, NULL, err);
    if (rc == TLO_EDENIED && err && strstr(err->msg, "is logged as entry")) {
        /* Refused by the table (and logged as action-refused): the
         * note-access entry says so too. */
        const char *at = strstr(err->msg, "is logged as entry ");
        unsigned long long refused = at ? strtoull(at + 19, NULL, 10) : 0;
        const tlo_custody_person *who;
        char name[TLO_NAME_MAX + 1];
        uint8_t ra[32];
        crypto_hash_sha256(ra, reader->sign_pk, 32);
        who = tlo_custody_person_by_actor(v, ra);
        snprintf(name, sizeof name, "%s", who ? who->name : reader->name);
        tlo_error lerr = {0};
        if (log_access(v, cust, &cs, action, reader->sign_pk, NULL, NULL, id, info->version.object,
                       "not the author, not of the author's profession on the case, and no live "
                       "note grant",
                       &seq, &lerr) == 0 &&
            custody_seal(v, &lerr) == 0)
            tlo_fail(err, TLO_EDENIED,
                     "refused: %s may not read note %u of case %s: not its author, not of its "
                     "author's profession on the case, and no live grant of it (an "
                     "administrator grants one: 'tellonce grant %s --for NAME --note %u ...'). "
                     "Logged as entries %llu (action-refused) and %llu (note-access).",
                     name, ni->number, case_number, case_number, ni->number, refused,
                     (unsigned long long)seq);
        else
            tlo_fail(err, TLO_EDENIED,
                     "refused: %s may not read note %u of case %s (logged as entry %llu; the "
                     "note-access entry could not be logged: %s)",
                     name, ni->number, case_number, refused, lerr.msg);
        info->access_seq = seq;
        goto out;
    }
    if (rc)
        goto out;
    if (!basis)
        basis = "table"; /* the table allowed it without a condition */
    info->basis = basis;
    info->grant_seq = grant;
    if ((rc = log_access(v, cust, &cs, action, reader->sign_pk, basis, g, id, info->version.object,
                         NULL, &seq, err)) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "nothing was unsealed: the access could not be logged first (%s)", why);
        goto out;
    }
    info->access_seq = seq;
    if (seq > decided_on) {
        /* Someone appended between the decision and its entry (a
         * revocation, say): the basis must still hold on everything
         * before the entry. */
        const char *b2 = NULL;
        const tlo_custody_note_grant *g2 = NULL;
        if ((rc = scan_case(v, cust, &cs, seq, &ns, &n, &st, err)) != 0)
            goto out;
        const tlo_custody_note_info *again = tlo_custody_note_find(&n, id, err);
        unsigned h2 = again ? read_holds(&ns, &n, again, st, reader->sign_pk, &b2, &g2) : 0;
        unsigned need = !strcmp(basis, "author")       ? TLO_WHEN_AUTHOR
                        : !strcmp(basis, "profession") ? TLO_WHEN_PROFESSION
                        : !strcmp(basis, "grant")      ? TLO_WHEN_GRANTED
                                                       : 0;
        bool still =
            again && (h2 & need) == need && (need != TLO_WHEN_GRANTED || (g2 && g2->seq == grant));
        if (!still) {
            uint64_t rs = 0;
            log_access(v, cust, &cs, action, reader->sign_pk, NULL, NULL, id, info->version.object,
                       "entries appended before the access entry changed the decision", &rs, NULL);
            rc = custody_seal_end(
                v,
                tlo_fail(err, TLO_EDENIED,
                         "refused: entries appended before the access entry %llu changed the "
                         "decision (a grant revoked?); nothing was unsealed. Logged as entry "
                         "%llu.",
                         (unsigned long long)seq, (unsigned long long)rs),
                err);
            goto out;
        }
    }
    /* Covered by a checkpoint, and only then the key. */
    if ((rc = custody_seal(v, err)) != 0)
        goto out;
    custody_test_kill("note-access-logged");
    rc = unseal(v, cust, &cs, &info->version, out, err);
out:
    tlo_vault_identity_free(cust);
    scan_free(&ns);
    tlo_custody_notes_free(&n);
    if (rc)
        tlo_custody_note_content_free(out);
    return rc;
}

/* ---- note grants ---- */

int tlo_custody_note_grant_check(tlo_custody *v, const tlo_custody_note_grant_params *p,
                                 tlo_custody_note_grant *out, tlo_error *err)
{
    tlo_custody_notes n = {0};
    int rc;
    memset(out, 0, sizeof *out);
    if (!p->purpose || !tlo_text_ok(p->purpose, 400))
        return tlo_fail(err, TLO_EARG, "the purpose is one line of text, 1 to 400 bytes");
    if (p->expires_ms < tlo_custody_now_ms())
        return tlo_fail(err, TLO_EARG, "the expiry is in the past");
    if ((rc = tlo_custody_notes_list(v, p->case_number, &n, err)) != 0)
        return rc;
    const tlo_custody_note_info *ni = tlo_custody_note_find(&n, p->note, err);
    const tlo_custody_person *to = ni ? tlo_custody_person_by_name(v, p->to) : NULL;
    if (!ni) {
        rc = err ? err->code : TLO_ENOTFOUND;
    } else if (!to) {
        rc =
            tlo_fail(err, TLO_ENOTFOUND,
                     "nobody active is enrolled as \"%s\"; 'tellonce user list' shows them", p->to);
    } else if (!tlo_custody_may(TLO_ACT_BE_GRANTED, to->roles, 0)) {
        char who[300];
        tlo_custody_act_who(TLO_ACT_BE_GRANTED, who, sizeof who);
        rc = tlo_fail(err, TLO_EARG,
                      "%s may not be granted a note: only %s may (auditors never "
                      "receive keys)",
                      p->to, who);
    } else {
        out->revoked_at = -1;
        memcpy(out->case_id, n.cs.id, TLO_ID_BYTES);
        snprintf(out->note, sizeof out->note, "%s", ni->id);
        memcpy(out->to, to->pk, 32);
        snprintf(out->to_name, sizeof out->to_name, "%s", to->name);
        out->expires_ms = p->expires_ms;
        snprintf(out->purpose, sizeof out->purpose, "%s", p->purpose);
    }
    tlo_custody_notes_free(&n);
    return rc;
}

int tlo_custody_note_grant_issue(tlo_custody *v, const tlo_vault_identity *admin,
                                 const tlo_custody_note_grant_params *p,
                                 tlo_custody_note_grant *out, tlo_error *err)
{
    tlo_custody_note_grant g;
    int rc = tlo_custody_note_grant_check(v, p, &g, err);
    memset(out, 0, sizeof *out);
    if (rc || (rc = custody_check_act(v, admin, TLO_ACT_GRANT, 0, g.case_id, NULL, err)) != 0)
        return rc;
    char body[1400], pk[65];
    tlo_hex(pk, g.to, 32);
    snprintf(body, sizeof body, "expires_ms=%llu\nnote=%s\npurpose=%s\nto=%s\nto_name=%s\n",
             (unsigned long long)g.expires_ms, g.note, g.purpose, pk, g.to_name);
    if ((rc = custody_append(v, admin, TLO_ENTRY_NOTE_GRANT, g.case_id, body, &g.seq, err)) != 0 ||
        (rc = custody_seal(v, err)) != 0)
        return rc;
    *out = g;
    return 0;
}

typedef struct grant_scan {
    const uint8_t *case_id;
    tlo_custody_note_grant *g;
    size_t n;
    bool oom;
} grant_scan;

static int visit_note_grant(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                            tlo_error *err)
{
    grant_scan *gs = ctx;
    tlo_custody_note_grant g;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_NOTE_GRANT || !e->has_case ||
        (gs->case_id && memcmp(e->case_id, gs->case_id, TLO_ID_BYTES)) ||
        parse_note_grant(e, &g) != 0)
        return 0;
    tlo_custody_note_grant *p = realloc(gs->g, (gs->n + 1) * sizeof *p);
    if (!p)
        return TLO_ENOMEM;
    gs->g = p;
    gs->g[gs->n++] = g;
    return 0;
}

static int visit_revoke(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    grant_scan *gs = ctx;
    uint64_t which;
    (void)leaf;
    (void)err;
    if (e->kind != TLO_ENTRY_GRANT_REVOKE || tlo_entry_u64(e, "grant", &which) != 0)
        return 0;
    for (size_t i = 0; i < gs->n; i++)
        if (gs->g[i].seq == which && gs->g[i].seq < e->seq && gs->g[i].revoked_at < 0)
            gs->g[i].revoked_at = (int64_t)e->seq;
    return 0;
}

int tlo_custody_note_grants(tlo_custody *v, const uint8_t *case_id, tlo_custody_note_grant **out,
                            size_t *n, tlo_error *err)
{
    grant_scan gs = {.case_id = case_id};
    *out = NULL;
    *n = 0;
    int rc = tlo_chain_walk_kind(v->ch, TLO_ENTRY_NOTE_GRANT, 0, visit_note_grant, &gs, err);
    if (rc >= 0 && gs.n > 0)
        rc = tlo_chain_walk_kind(v->ch, TLO_ENTRY_GRANT_REVOKE, gs.g[0].seq + 1, visit_revoke, &gs,
                                 err);
    if (rc < 0) {
        free(gs.g);
        if (rc == TLO_ENOMEM && err && !err->msg[0])
            tlo_fail(err, rc, "out of memory reading the note grants");
        return err && err->code ? err->code : rc;
    }
    *out = gs.g;
    *n = gs.n;
    return 0;
}

int tlo_custody_note_grant_find(tlo_custody *v, uint64_t seq, tlo_custody_note_grant *out,
                                tlo_error *err)
{
    tlo_custody_note_grant *g = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    int rc = tlo_custody_note_grants(v, NULL, &g, &n, err);
    if (rc)
        return rc;
    const tlo_custody_note_grant *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (g[i].seq == seq)
            found = &g[i];
    if (!found)
        rc = tlo_fail(err, TLO_ENOTFOUND,
                      "there is no note grant %llu; 'tellonce grant list' shows them",
                      (unsigned long long)seq);
    else if (found->revoked_at >= 0)
        rc = tlo_fail(err, TLO_EARG, "note grant %llu was already revoked in entry %lld",
                      (unsigned long long)seq, (long long)found->revoked_at);
    else
        *out = *found;
    free(g);
    return rc;
}

int tlo_custody_note_grant_revoke(tlo_custody *v, const tlo_vault_identity *admin, uint64_t seq,
                                  const char *reason, tlo_custody_note_grant *out,
                                  uint64_t *revoke_seq, tlo_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!reason || !tlo_text_ok(reason, 300))
        return tlo_fail(err, TLO_EARG, "the reason is one line of text, at most 300 bytes");
    if ((rc = tlo_custody_note_grant_find(v, seq, out, err)) != 0 ||
        (rc = custody_check_act(v, admin, TLO_ACT_GRANT, 0, out->case_id, NULL, err)) != 0)
        return rc;
    char body[600];
    snprintf(body, sizeof body, "grant=%llu\nreason=%s\n", (unsigned long long)seq, reason);
    return custody_seal_end(
        v, custody_append(v, admin, TLO_ENTRY_GRANT_REVOKE, out->case_id, body, revoke_seq, err),
        err);
}
