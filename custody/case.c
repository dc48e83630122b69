/* Cases: opening one (its key and its sealed record), listing them, and
 * showing one (logged first, unsealed after).
 *
 * Opening a case writes, in this order:
 *   cases/ID.key       the new random case key, wrapped to the custodian's
 *                      X25519 key named in the genesis entry (custodian.box_pk)
 *   objects/OBJ.tlo    the sealed case record (custody.h), TLO_KIND_CASEINFO
 *   case-open entry    case_number_mac=HEX64 (the keyed hash of the number,
 *                      custody/cases.c) info_object=OBJ info_sha256=HEX64 (of
 *                      the sealed object) wrapped_key_sha256=HEX64 (of
 *                      cases/ID.key), signed by the interviewer: neither the
 *                      number nor anything about the child
 * and removes the files again if a later step fails. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the sealed case record ---- */

static const struct {
    const char *key;
    size_t max;
    bool may_be_empty;
} record_fields[] = {
    {"case_number", TLO_CUSTODY_CASE_NUMBER_MAX, false},
    {"child_birthdate", TLO_CUSTODY_CASE_BIRTHDATE_MAX, true},
    {"child_name", TLO_CUSTODY_CASE_CHILD_NAME_MAX, true},
    {"title", TLO_CUSTODY_CASE_TITLE_MAX, true},
};
#define NFIELDS (sizeof record_fields / sizeof record_fields[0])

static char *field_of(tlo_custody_case_record *r, size_t i)
{
    char *f[NFIELDS] = {r->case_number, r->child_birthdate, r->child_name, r->title};
    return f[i];
}

/* len bytes at s are text (valid UTF-8, no control character), within the
 * field's bounds; a case number has no '/'. */
static bool value_ok(size_t i, const char *s, size_t len)
{
    if (len > record_fields[i].max || (len == 0 && !record_fields[i].may_be_empty))
        return false;
    for (size_t k = 0; k < len;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char((const uint8_t *)s + k, len - k, &cp);
        if (!n || (i == 0 && cp == '/'))
            return false;
        k += n;
    }
    return true;
}

int tlo_custody_case_record_parse(const char *buf, size_t len, tlo_custody_case_record *out,
                                  tlo_error *err)
{
    size_t off = 0;
    memset(out, 0, sizeof *out);
    if (len > TLO_CUSTODY_CASE_RECORD_MAX)
        goto bad;
    for (size_t i = 0; i < NFIELDS; i++) {
        size_t klen = strlen(record_fields[i].key);
        if (len - off < klen + 2 || memcmp(buf + off, record_fields[i].key, klen) != 0 ||
            buf[off + klen] != '=')
            goto bad;
        off += klen + 1;
        const char *nl = memchr(buf + off, '\n', len - off);
        if (!nl)
            goto bad;
        size_t vlen = (size_t)(nl - (buf + off));
        if (!value_ok(i, buf + off, vlen))
            goto bad;
        memcpy(field_of(out, i), buf + off, vlen); /* vlen <= max: the array holds it */
        off += vlen + 1;
    }
    if (off == len)
        return 0;
bad:
    tlo_custody_case_record_wipe(out);
    return tlo_fail(err, TLO_EFORMAT,
                    "the case's sealed record is malformed (no tellonce writes it so)");
}

size_t tlo_custody_case_record_format(const tlo_custody_case_record *r, char *out, size_t cap)
{
    const char *f[NFIELDS] = {r->case_number, r->child_birthdate, r->child_name, r->title};
    size_t off = 0;
    for (size_t i = 0; i < NFIELDS; i++) {
        size_t vlen = strnlen(f[i], record_fields[i].max + 1);
        if (!value_ok(i, f[i], vlen))
            return 0;
        int n = snprintf(out + off, cap - off, "%s=%s\n", record_fields[i].key, f[i]);
        if (n < 0 || (size_t)n >= cap - off)
            return 0;
        off += (size_t)n;
    }
    return off;
}

void tlo_custody_case_record_wipe(tlo_custody_case_record *r)
{
    if (r)
        sodium_memzero(r, sizeof *r);
}

/* ---- opening a case ---- */

/* A field with an invisible or direction-changing character: TLO_EARG
 * naming it and the character. */
static int hidden_refused(const char *what, const char *text, tlo_error *err)
{
    uint32_t cp = text ? tlo_text_hidden_char(text) : 0;
    if (!cp)
        return 0;
    return tlo_fail(err, TLO_EARG,
                    "%s holds the invisible character U+%04X (a direction override, isolate, "
                    "mark or zero-width character), which can make it read as another; type it "
                    "again without it",
                    what, (unsigned)cp);
}

/* d is a birth date: "YYYY-MM-DD", a day that exists, not before 1900 and
 * not after today (today anywhere on Earth: UTC+14). */
static int birthdate_check(const char *d, tlo_error *err)
{
    unsigned y, m, day;
    char tail;
    if (strlen(d) != 10 || d[4] != '-' || d[7] != '-' ||
        sscanf(d, "%4u-%2u-%2u%c", &y, &m, &day, &tail) != 3 || strspn(d, "0123456789-") != 10)
        return tlo_fail(err, TLO_EARG,
                        "the child's birth date '%s' is not a date written YYYY-MM-DD (such as "
                        "2017-05-01); write it so",
                        d);
    if (y < 1900 || !g_date_valid_dmy((GDateDay)day, (GDateMonth)m, (GDateYear)y))
        return tlo_fail(err, TLO_EARG,
                        "the child's birth date %s is not a day of the calendar (from 1900 on); "
                        "check it",
                        d);
    time_t t = (time_t)((tlo_custody_now_ms() + 14 * 3600 * 1000ull) / 1000);
    struct tm today;
    gmtime_r(&t, &today);
    unsigned now = (unsigned)(today.tm_year + 1900) * 10000u + (unsigned)(today.tm_mon + 1) * 100u +
                   (unsigned)today.tm_mday;
    if (y * 10000u + m * 100u + day > now)
        return tlo_fail(err, TLO_EARG, "the child's birth date %s is in the future; check it", d);
    return 0;
}

static int open_check(tlo_custody *v, const tlo_custody_case_params *p, tlo_error *err);

/* p with its number, child's name and birth date trimmed and in NFC, as
 * they are sealed and looked up (custody_text_norm): q and the strings in
 * s (free them), or TLO_ENOMEM. */
static int norm_params(const tlo_custody_case_params *p, tlo_custody_case_params *q, char *s[3],
                       tlo_error *err)
{
    *q = *p;
    s[0] = p->number ? custody_text_norm(p->number) : NULL;
    s[1] = p->child_name ? custody_text_norm(p->child_name) : NULL;
    s[2] = p->child_birthdate ? custody_text_norm(p->child_birthdate) : NULL;
    if ((p->number && !s[0]) || (p->child_name && !s[1]) || (p->child_birthdate && !s[2])) {
        for (int i = 0; i < 3; i++)
            free(s[i]);
        return tlo_fail(err, TLO_ENOMEM, "out of memory opening a case");
    }
    q->number = s[0];
    q->child_name = s[1];
    q->child_birthdate = s[2];
    return 0;
}

int tlo_custody_case_open_check(tlo_custody *v, const tlo_custody_case_params *p, tlo_error *err)
{
    tlo_custody_case_params q;
    char *s[3];
    int rc = norm_params(p, &q, s, err);
    if (rc)
        return rc;
    rc = open_check(v, &q, err);
    for (int i = 0; i < 3; i++)
        free(s[i]);
    return rc;
}

static int open_check(tlo_custody *v, const tlo_custody_case_params *p, tlo_error *err)
{
    tlo_custody_case existing;
    int rc;
    if ((rc = hidden_refused("the case number", p->number, err)) != 0 ||
        (rc = hidden_refused("the title", p->title, err)) != 0 ||
        (rc = hidden_refused("the child's name", p->child_name, err)) != 0 ||
        (rc = hidden_refused("the child's birth date", p->child_birthdate, err)) != 0)
        return rc;
    size_t chars = p->number ? custody_text_chars(p->number) : 0;
    if (chars == 0 || chars > TLO_CUSTODY_CASE_NUMBER_CHARS ||
        !tlo_text_ok(p->number, TLO_CUSTODY_CASE_NUMBER_MAX) || strchr(p->number, '/'))
        return tlo_fail(err, TLO_EARG,
                        "a case number is 1 to %d characters of text without control characters "
                        "or '/' ('%s' has %zu characters)",
                        TLO_CUSTODY_CASE_NUMBER_CHARS, p->number ? p->number : "", chars);
    if (strlen(p->number) == 2 * TLO_ID_BYTES &&
        strspn(p->number, "0123456789abcdef") == 2 * TLO_ID_BYTES)
        return tlo_fail(err, TLO_EARG,
                        "a case number cannot be 32 lowercase hex digits: that is how tellonce "
                        "writes a case's internal id");
    if ((p->title && !tlo_text_ok(p->title, TLO_CUSTODY_CASE_TITLE_MAX)) ||
        (p->child_name && !tlo_text_ok(p->child_name, TLO_CUSTODY_CASE_CHILD_NAME_MAX)) ||
        (p->child_birthdate && !tlo_text_ok(p->child_birthdate, TLO_CUSTODY_CASE_BIRTHDATE_MAX)))
        return tlo_fail(err, TLO_EARG,
                        "the title, the child's name and the child's birth date are one line of "
                        "text each");
    if (p->child_birthdate && *p->child_birthdate &&
        (rc = birthdate_check(p->child_birthdate, err)) != 0)
        return rc;
    rc = tlo_custody_case_find(v, p->number, &existing, err);
    if (rc == 0)
        return tlo_fail(err, TLO_EARG, "case %s already exists (opened in entry %llu)", p->number,
                        (unsigned long long)existing.opened_at);
    if (rc != TLO_ENOTFOUND)
        return rc;
    tlo_error_clear(err);
    return 0;
}

/* The custodian's X25519 key, from the genesis entry. */
static int custodian_box_pk(tlo_custody *v, uint8_t pk[32], tlo_error *err)
{
    tlo_entry e;
    uint8_t *buf = NULL;
    int rc = tlo_chain_get(v->ch, 0, &e, &buf, err);
    if (rc)
        return rc;
    if (tlo_entry_hex(&e, "custodian.box_pk", pk, 32) != 0)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the ledger's genesis entry does not name the custodian's key");
    free(buf);
    return rc;
}

static int mkdir_in(tlo_custody *v, const char *name, tlo_error *err)
{
    char *p = tlo_custody_path(v, name);
    int rc = p && (mkdir(p, 0700) == 0 || errno == EEXIST)
                 ? 0
                 : tlo_fail(err, TLO_EIO, "cannot create %s: %s", p ? p : name, strerror(errno));
    free(p);
    return rc;
}

/* What one case-open writes, so that a failure can take it back. */
typedef struct opening {
    uint8_t case_id[TLO_ID_BYTES];
    uint8_t wrapped[TLO_WRAPPED_KEY_BYTES];
    uint8_t *key;
    char object[2 * TLO_ID_BYTES + 1];
    char *key_path, *info_path;
    tlo_vault_digests d;
} opening;

/* A new case key, wrapped to the custodian into cases/ID.key. */
static int write_key(tlo_custody *v, opening *o, tlo_error *err)
{
    uint8_t box_pk[32];
    char hex[2 * TLO_ID_BYTES + 1], name[80];
    int rc;
    if ((rc = custodian_box_pk(v, box_pk, err)) != 0 || (rc = mkdir_in(v, "objects", err)) != 0 ||
        (rc = mkdir_in(v, "cases", err)) != 0)
        return rc;
    tlo_vault_random_id(o->case_id);
    tlo_hex(hex, o->case_id, TLO_ID_BYTES);
    if (!(o->key = tlo_vault_key_generate()))
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for a case key");
    if ((rc = tlo_vault_key_wrap(o->wrapped, o->key, box_pk, err)) != 0)
        return rc;
    snprintf(name, sizeof name, "cases/%s.key", hex);
    char *path = tlo_custody_path(v, name);
    if (!path)
        return tlo_fail(err, TLO_ENOMEM, "out of memory opening a case");
    if ((rc = tlo_write_new_file(path, o->wrapped, sizeof o->wrapped, 0600, err)) != 0) {
        free(path);
        return rc;
    }
    o->key_path = path;
    return 0;
}

/* The sealed record, written to a new file (*created: whether this call
 * created path, so that only then a failure removes it). */
static int seal_record(const char *path, const tlo_vault_object_params *op, const uint8_t *key,
                       const char *plain, size_t len, tlo_vault_digests *d, bool *created,
                       tlo_error *err)
{
    tlo_vault_writer *w = NULL;
    int rc = 0, fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    *created = fd >= 0;
    if (fd < 0 || !(w = tlo_vault_writer_new(op, key, tlo_vault_fd_sink, &fd, err)) ||
        tlo_vault_writer_write(w, plain, len, err) != 0 ||
        tlo_vault_writer_finish(w, d, err) != 0 || fsync(fd) != 0) {
        /* A system failure whatever the writer said. */
        if (err && err->msg[0])
            err->code = TLO_EIO;
        else
            tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(errno));
        rc = TLO_EIO;
    }
    tlo_vault_writer_free(w);
    if (fd >= 0 && close(fd) != 0 && rc == 0)
        rc = tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* The record, sealed under the case key into objects/OBJ.tlo. */
static int write_record(tlo_custody *v, opening *o, const tlo_custody_case_params *p,
                        tlo_error *err)
{
    tlo_vault_object_params op = {.kind = TLO_KIND_CASEINFO};
    tlo_custody_case_record *r = sodium_malloc(sizeof *r);
    char *plain = sodium_malloc(TLO_CUSTODY_CASE_RECORD_MAX);
    int rc = 0;
    if (!r || !plain) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the case's sealed fields");
        goto out;
    }
    memset(r, 0, sizeof *r);
    snprintf(r->case_number, sizeof r->case_number, "%s", p->number);
    snprintf(r->child_birthdate, sizeof r->child_birthdate, "%s",
             p->child_birthdate ? p->child_birthdate : "");
    snprintf(r->child_name, sizeof r->child_name, "%s", p->child_name ? p->child_name : "");
    snprintf(r->title, sizeof r->title, "%s", p->title ? p->title : "");
    size_t len = tlo_custody_case_record_format(r, plain, TLO_CUSTODY_CASE_RECORD_MAX);
    if (!len) {
        rc = tlo_fail(
            err, TLO_EARG,
            "the title, the child's name and the child's birth date are one line of text each");
        goto out;
    }
    memcpy(op.case_id, o->case_id, TLO_ID_BYTES);
    tlo_vault_random_id(op.object_id);
    tlo_hex(o->object, op.object_id, TLO_ID_BYTES);
    if (!(o->info_path = tlo_custody_object_path(v, o->object))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory opening a case");
        goto out;
    }
    bool created;
    rc = seal_record(o->info_path, &op, o->key, plain, len, &o->d, &created, err);
    if (!created) {
        free(o->info_path); /* not ours: never remove it */
        o->info_path = NULL;
    }
out:
    tlo_custody_case_record_wipe(r);
    sodium_free(r);
    sodium_free(plain); /* wipes: the child's details */
    return rc;
}

static int log_open(tlo_custody *v, const tlo_vault_identity *by, const opening *o,
                    const char *number, uint64_t *seq, tlo_error *err)
{
    char info_hex[65], key_hex[65], mac_hex[65], body[600];
    uint8_t key_digest[32], mac[32];
    int rc = custody_case_number_mac(v, number, mac, err);
    if (rc)
        return rc;
    crypto_hash_sha256(key_digest, o->wrapped, sizeof o->wrapped);
    tlo_hex(info_hex, o->d.ciphertext_sha256, 32);
    tlo_hex(key_hex, key_digest, 32);
    tlo_hex(mac_hex, mac, 32);
    snprintf(body, sizeof body,
             "case_number_mac=%s\ninfo_object=%s\ninfo_sha256=%s\nwrapped_key_sha256=%s\n", mac_hex,
             o->object, info_hex, key_hex);
    return custody_append(v, by, TLO_ENTRY_CASE_OPEN, o->case_id, body, seq, err);
}

static int case_open(tlo_custody *v, const tlo_vault_identity *interviewer,
                     const tlo_custody_case_params *p, tlo_custody_case *out, tlo_error *err);

int tlo_custody_case_open(tlo_custody *v, const tlo_vault_identity *interviewer,
                          const tlo_custody_case_params *p, tlo_custody_case *out, tlo_error *err)
{
    tlo_custody_case_params q;
    char *s[3];
    memset(out, 0, sizeof *out);
    int rc = norm_params(p, &q, s, err);
    if (rc)
        return rc;
    rc = case_open(v, interviewer, &q, out, err);
    for (int i = 0; i < 3; i++)
        free(s[i]);
    return rc;
}

static int case_open(tlo_custody *v, const tlo_vault_identity *interviewer,
                     const tlo_custody_case_params *p, tlo_custody_case *out, tlo_error *err)
{
    opening o = {0};
    uint64_t seq = 0;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = tlo_custody_case_open_check(v, p, err)) != 0 ||
        (rc = custody_check_act(v, interviewer, TLO_ACT_CASE_OPEN, 0, NULL, NULL, err)) != 0)
        return rc;
    if ((rc = write_key(v, &o, err)) == 0 && (rc = write_record(v, &o, p, err)) == 0)
        rc = log_open(v, interviewer, &o, p->number, &seq, err);
    if (rc) {
        if (o.key_path)
            unlink(o.key_path);
        if (o.info_path)
            unlink(o.info_path);
    } else {
        memcpy(out->id, o.case_id, TLO_ID_BYTES);
        snprintf(out->number, sizeof out->number, "%s", p->number);
        out->opened_at = seq;
        out->has_wrapped_digest = true;
        crypto_hash_sha256(out->wrapped_key_sha256, o.wrapped, sizeof o.wrapped);
        rc = custody_seal(v, err); /* logged: the files stay */
    }
    tlo_vault_key_free(o.key);
    free(o.key_path);
    free(o.info_path);
    return rc;
}

/* ---- what the ledger says of cases ---- */

typedef struct lister {
    tlo_custody_case_facts *list;
    size_t n, cap;
    const uint8_t *only; /* one case's id, or NULL for all */
} lister;

static tlo_custody_case_facts *facts_of(lister *l, const uint8_t id[TLO_ID_BYTES])
{
    for (size_t i = l->n; i-- > 0;)
        if (!memcmp(l->list[i].c.id, id, TLO_ID_BYTES))
            return &l->list[i];
    return NULL;
}

static int list_visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    lister *l = ctx;
    size_t n;
    (void)leaf;
    if (!e->has_case || (l->only && memcmp(e->case_id, l->only, TLO_ID_BYTES) != 0))
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        tlo_custody_case_facts *f = facts_of(l, e->case_id);
        if (f)
            f->sessions++;
        return 0;
    }
    if (e->kind != TLO_ENTRY_CASE_OPEN)
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        tlo_custody_case_facts *p = realloc(l->list, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the cases of the ledger");
        l->list = p;
        l->cap = cap;
    }
    tlo_custody_case_facts *f = &l->list[l->n++];
    memset(f, 0, sizeof *f);
    memcpy(f->c.id, e->case_id, TLO_ID_BYTES);
    tlo_hex(f->c.number, e->case_id, TLO_ID_BYTES); /* the ledger has no number */
    f->has_number_mac = tlo_entry_hex(e, "case_number_mac", f->number_mac, 32) == 0;
    f->c.opened_at = e->seq;
    f->c.has_wrapped_digest =
        tlo_entry_hex(e, "wrapped_key_sha256", f->c.wrapped_key_sha256, 32) == 0;
    memcpy(f->opener, e->actor, 32);
    const uint8_t *val = tlo_entry_body_get(e->body, e->body_len, "info_object", &n);
    if (val && n < sizeof f->info_object) {
        memcpy(f->info_object, val, n);
        f->info_object[n] = '\0';
    }
    return 0;
}

static int walk_cases(tlo_custody *v, lister *l, tlo_error *err)
{
    if (tlo_chain_walk(v->ch, 0, list_visit, l, err) < 0) {
        free(l->list);
        l->list = NULL;
        l->n = 0;
        return err && err->code ? err->code : TLO_EIO;
    }
    return 0;
}

int tlo_custody_cases(tlo_custody *v, tlo_custody_case_facts **list, size_t *n, tlo_error *err)
{
    lister l = {0};
    int rc = walk_cases(v, &l, err);
    *list = l.list;
    *n = l.n;
    return rc;
}

int tlo_custody_case_about(tlo_custody *v, const char *number, tlo_custody_case_facts *out,
                           tlo_error *err)
{
    tlo_custody_case cs;
    memset(out, 0, sizeof *out);
    int rc = tlo_custody_case_find(v, number, &cs, err);
    if (rc)
        return rc;
    lister l = {.only = cs.id};
    if ((rc = walk_cases(v, &l, err)) != 0)
        return rc;
    /* The case as found by its number; opener and record from its (last)
     * case-open entry; sessions of every one. */
    out->c = cs;
    for (size_t i = 0; i < l.n; i++) {
        memcpy(out->opener, l.list[i].opener, 32);
        memcpy(out->info_object, l.list[i].info_object, sizeof out->info_object);
        out->sessions += l.list[i].sessions;
    }
    free(l.list);
    return 0;
}

/* ---- showing a case ---- */

/* Anyone enrolled may ask (and is logged); not the custodian. */
#define SHOW_ROLES TLO_ROLES_PERSON

/* Reads and parses the sealed record of f with the case key. */
static int read_record(tlo_custody *v, const tlo_custody_case_facts *f, const uint8_t *key,
                       tlo_custody_case_record *out, tlo_error *err)
{
    char name[64], *fields = NULL;
    snprintf(name, sizeof name, "objects/%s.tlo", f->info_object);
    char *path = tlo_custody_path(v, name);
    int rc = 0, fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    tlo_error_clear(err);
    tlo_vault_reader *r = fd >= 0 ? tlo_vault_reader_open_fd(fd, key, path, err) : NULL;
    size_t len = r ? (size_t)tlo_vault_reader_size(r) : 0;
    if (!r || len > TLO_CUSTODY_CASE_RECORD_MAX || !(fields = sodium_malloc(len + 1)) ||
        tlo_vault_reader_read_at(r, 0, fields, len, err) != 0) {
        if (!err || !err->code)
            tlo_fail(err, TLO_EFORMAT, "cannot read the case's sealed fields %s",
                     path ? path : name);
        rc = err ? err->code : TLO_EFORMAT;
    } else {
        rc = tlo_custody_case_record_parse(fields, len, out, err);
    }
    tlo_vault_reader_free(r);
    if (fields)
        sodium_free(fields); /* wipes */
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Logs the attempt, signed by the custodian, before anything is unsealed;
 * then unseals for the entitled. */
static int log_and_unseal(tlo_custody *v, const uint8_t actor_pk[32], bool entitled,
                          tlo_custody_case_view *out, tlo_error *err)
{
    tlo_vault_identity *cust = NULL;
    uint8_t *key = NULL;
    char body[400], pk[65];
    tlo_hex(pk, actor_pk, 32);
    snprintf(body, sizeof body, "actor=%s\n%sresult=%s\n", pk,
             entitled ? ""
                      : "reason=only an administrator or the interviewer who opened the case\n",
             entitled ? "shown" : "refused");
    int rc = custody_custodian(v, &cust, err);
    if (rc) {
        if (err)
            err->code = TLO_EIO; /* the vault cannot act: a system failure */
        return TLO_EIO;
    }
    rc = custody_append(v, cust, TLO_ENTRY_CASE_VIEW, out->facts.c.id, body, &out->view_seq, err);
    if (rc) {
        out->view_seq = 0;
        out->log_failed = true;
    } else if ((rc = custody_seal(v, err)) != 0) {
        /* logged but not covered by a checkpoint: nothing is unsealed */
    } else if (!entitled) {
        char who[300];
        tlo_custody_act_who(TLO_ACT_CASE_SHOW, who, sizeof who);
        rc = tlo_fail(err, TLO_EDENIED,
                      "refused: the sealed fields (title, the child's details) are shown only to "
                      "%s. The refusal is logged as entry %llu.",
                      who, (unsigned long long)out->view_seq);
    } else if ((rc = custody_case_key(v, &out->facts.c, cust, &key, err)) != 0) {
        if (err)
            err->code = TLO_EFORMAT; /* a missing or damaged case key is bad data */
        rc = TLO_EFORMAT;
    } else {
        rc = read_record(v, &out->facts, key, &out->record, err);
    }
    tlo_vault_key_free(key);
    tlo_vault_identity_free(cust);
    return rc;
}

int tlo_custody_case_show(tlo_custody *v, const tlo_vault_identity *actor, const char *number,
                          tlo_custody_case_view *out, tlo_error *err)
{
    const tlo_custody_person *who;
    uint8_t actor_id[32];
    memset(out, 0, sizeof *out);
    int rc = tlo_custody_case_about(v, number, &out->facts, err);
    if (rc || (rc = custody_check_actor(v, actor, SHOW_ROLES, "enrolled person", &who, err)) != 0)
        return rc;
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    /* The table decides; the refusal is the case-view entry below. */
    bool entitled = tlo_custody_may(TLO_ACT_CASE_SHOW, who->roles,
                                    !memcmp(actor_id, out->facts.opener, 32) ? TLO_WHEN_OPENER : 0);
    rc = log_and_unseal(v, actor->sign_pk, entitled, out, err);
    if (rc)
        tlo_custody_case_record_wipe(&out->record);
    return rc;
}

/* ---- showing the numbers of cases ---- */

/* The number read from f's sealed record is the one whose keyed hash its
 * case-open entry logged (a record of another case, or from before the
 * keyed hash, is not shown as this case's). */
static int number_is_logged(tlo_custody *v, const tlo_custody_case_facts *f, const char *number,
                            tlo_error *err)
{
    uint8_t mac[32];
    int rc = custody_case_number_mac(v, number, mac, err);
    if (rc)
        return rc;
    if (!f->has_number_mac || sodium_memcmp(mac, f->number_mac, 32) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "the sealed record objects/%s.tlo of case %s holds a number that is not "
                        "the one its case-open entry %llu logged (case_number_mac): the record "
                        "was replaced or the entry predates the keyed hash; restore the record "
                        "from a backup",
                        f->info_object, f->c.number, (unsigned long long)f->c.opened_at);
    return 0;
}

int tlo_custody_case_numbers(tlo_custody *v, const tlo_vault_identity *actor,
                             tlo_custody_case_facts *list, size_t n, uint64_t *first_seq,
                             tlo_error *err)
{
    const tlo_custody_person *who;
    tlo_vault_identity *cust = NULL;
    tlo_chain_draft *d = NULL;
    char body[300], pk[65];
    uint64_t seq = 0;
    int rc;
    if (first_seq)
        *first_seq = 0;
    if ((rc = custody_check_actor(v, actor, SHOW_ROLES, "enrolled person", &who, err)) != 0)
        return rc;
    if (n == 0)
        return 0;
    bool entitled = tlo_custody_may(TLO_ACT_CASE_NUMBERS, who->roles, 0);
    tlo_hex(pk, actor->sign_pk, 32);
    snprintf(body, sizeof body, "actor=%s\nfields=case_number\n%sresult=%s\n", pk,
             entitled ? "" : "reason=only an administrator, interviewer or prosecutor\n",
             entitled ? "shown" : "refused");
    if ((rc = custody_custodian(v, &cust, err)) != 0) {
        if (err)
            err->code = TLO_EIO;
        return TLO_EIO;
    }
    if (!(d = calloc(n, sizeof *d))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory logging the view of %zu case numbers", n);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = (tlo_chain_draft){.kind = TLO_ENTRY_CASE_VIEW,
                                 .has_case = true,
                                 .body = (const uint8_t *)body,
                                 .body_len = strlen(body)};
        memcpy(d[i].case_id, list[i].c.id, TLO_ID_BYTES);
    }
    /* Through custody_append_many: the client's fields in every entry,
     * and sealed by a checkpoint before any number is shown. */
    if ((rc = custody_append_many(v, cust, d, n, &seq, err)) != 0 ||
        (rc = custody_seal(v, err)) != 0)
        goto out;
    if (first_seq)
        *first_seq = seq;
    if (!entitled) {
        char allowed[300];
        tlo_custody_act_who(TLO_ACT_CASE_NUMBERS, allowed, sizeof allowed);
        rc = tlo_fail(err, TLO_EDENIED,
                      "refused: case numbers are shown only to %s; the cases are listed by "
                      "internal id, and the refusal is logged from entry %llu",
                      allowed, (unsigned long long)seq);
        goto out;
    }
    tlo_custody_case_record *r = sodium_malloc(sizeof *r);
    if (!r) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for a case's sealed fields");
        goto out;
    }
    tlo_error one = {0};
    for (size_t i = 0; i < n; i++) {
        uint8_t *key = NULL;
        int r1 = custody_case_key(v, &list[i].c, cust, &key, &one);
        if (r1 == 0)
            r1 = read_record(v, &list[i], key, r, &one);
        tlo_vault_key_free(key);
        if (r1 == 0)
            r1 = number_is_logged(v, &list[i], r->case_number, &one);
        if (r1 == 0) {
            snprintf(list[i].c.number, sizeof list[i].c.number, "%s", r->case_number);
            list[i].number_shown = true;
        } else if (rc == 0) {
            rc = r1;
            if (err)
                *err = one;
        }
        tlo_custody_case_record_wipe(r);
    }
    sodium_free(r);
out:
    free(d);
    tlo_vault_identity_free(cust);
    return rc;
}
