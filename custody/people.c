/* People as the ledger enrols them: genesis (administrator and custodian),
 * user-add, user-activated and user-revoke entries; and acting as one of
 * them. */
#include "internal.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- names as people type them ---- */

/* g_utf8_next_char without its cast of const away */
static const char *next_char(const char *p)
{
    return p + g_utf8_skip[*(const unsigned char *)p];
}

char *custody_text_norm(const char *in)
{
    const char *end = in + strlen(in);
    if (!g_utf8_validate(in, -1, NULL)) {
        while (*in == ' ')
            in++;
        while (end > in && end[-1] == ' ')
            end--;
        return strndup(in, (size_t)(end - in));
    }
    while (*in && g_unichar_isspace(g_utf8_get_char(in)))
        in = next_char(in);
    while (end > in) {
        const char *prev = g_utf8_find_prev_char(in, end);
        if (!prev || !g_unichar_isspace(g_utf8_get_char(prev)))
            break;
        end = prev;
    }
    gchar *nfc = g_utf8_normalize(in, end - in, G_NORMALIZE_NFC);
    char *out = nfc ? strdup(nfc) : NULL;
    g_free(nfc);
    return out;
}

char *tlo_custody_text_norm(const char *typed)
{
    return custody_text_norm(typed);
}

size_t custody_text_chars(const char *s)
{
    return g_utf8_validate(s, -1, NULL) ? (size_t)g_utf8_strlen(s, -1) : strlen(s);
}

/* What tells two names apart for people: NFC, case folded, every run of
 * white space one space. "anna  admin" and "Anna Admin" have one key.
 * malloc'd, NULL when out of memory. */
static char *name_key(const char *name)
{
    char *n = custody_text_norm(name);
    if (!n || !g_utf8_validate(n, -1, NULL))
        return n;
    GString *spaced = g_string_sized_new(strlen(n));
    bool space = false;
    for (const char *c = n; *c; c = next_char(c)) {
        gunichar u = g_utf8_get_char(c);
        if (g_unichar_isspace(u)) {
            space = true;
            continue;
        }
        if (space)
            g_string_append_c(spaced, ' ');
        space = false;
        g_string_append_unichar(spaced, u);
    }
    free(n);
    gchar *fold = g_utf8_casefold(spaced->str, -1);
    gchar *key = fold ? g_utf8_normalize(fold, -1, G_NORMALIZE_NFC) : NULL;
    char *out = key ? strdup(key) : NULL;
    g_string_free(spaced, TRUE);
    g_free(fold);
    g_free(key);
    return out;
}

/* a and b are the same name as typed (trimmed, NFC). */
static bool same_name(const char *a, const char *b)
{
    char *x = custody_text_norm(a), *y = custody_text_norm(b);
    bool same = x && y && !strcmp(x, y);
    free(x);
    free(y);
    return same;
}

const tlo_custody_person *custody_person_like(tlo_custody *v, const char *name)
{
    char *want = name_key(name);
    const tlo_custody_person *found = NULL;
    if (!want || tlo_custody_people(v, NULL, NULL, NULL) != 0) {
        free(want);
        return NULL;
    }
    for (size_t i = 0; i < v->npeople && !found; i++) {
        char *k = v->people[i].revoked_at < 0 ? name_key(v->people[i].name) : NULL;
        if (k && !strcmp(k, want))
            found = &v->people[i];
        free(k);
    }
    free(want);
    return found;
}

typedef struct loader {
    tlo_custody *v;
    size_t cap;
} loader;

static int add(loader *l, const char *name, const uint8_t pk[32], unsigned roles, uint64_t seq)
{
    tlo_custody *v = l->v;
    if (v->npeople == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        tlo_custody_person *p = realloc(v->people, cap * sizeof *p);
        if (!p)
            return TLO_ENOMEM;
        v->people = p;
        l->cap = cap;
    }
    tlo_custody_person *p = &v->people[v->npeople++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    memcpy(p->pk, pk, 32);
    crypto_hash_sha256(p->actor, pk, 32);
    p->roles = roles;
    p->enrolled_at = seq;
    p->revoked_at = -1;
    p->activated_at = -1;
    return 0;
}

static int pending_error(const tlo_custody_person *p, tlo_error *err)
{
    return tlo_fail(err, TLO_EDENIED,
                    "%s has not activated their enrolment yet: they run 'tellonce user activate "
                    "\"%s\"' with the code an administrator gave them (valid 24 h), and choose "
                    "their passphrase",
                    p->name, p->name);
}

bool tlo_custody_person_pending(const tlo_custody_person *p)
{
    return p->activate_by_ms != 0 && p->activated_at < 0;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    loader *l = ctx;
    char name[TLO_NAME_MAX + 1], roles[200];
    uint8_t pk[32];
    unsigned mask;
    uint64_t by;
    int rc = 0;
    (void)leaf;
    if (e->kind == TLO_ENTRY_GENESIS) {
        if (tlo_entry_str(e, "admin.name", name, sizeof name) == 0 &&
            tlo_entry_hex(e, "admin.pk", pk, 32) == 0)
            rc = add(l, name, pk, TLO_ROLE_ADMIN, e->seq);
        if (rc == 0 && tlo_entry_hex(e, "custodian.pk", pk, 32) == 0)
            rc = add(l, "custodian", pk, TLO_ROLE_CUSTODIAN, e->seq);
    } else if (e->kind == TLO_ENTRY_USER_ADD) {
        if (tlo_entry_str(e, "name", name, sizeof name) == 0 &&
            tlo_entry_hex(e, "pk", pk, 32) == 0 &&
            tlo_entry_str(e, "roles", roles, sizeof roles) == 0 &&
            tlo_roles_parse(roles, strlen(roles), &mask) == 0 &&
            (rc = add(l, name, pk, mask, e->seq)) == 0 &&
            tlo_entry_u64(e, "activate_by_ms", &by) == 0 && by != 0)
            l->v->people[l->v->npeople - 1].activate_by_ms = by;
    } else if (e->kind == TLO_ENTRY_USER_ACTIVATED) {
        /* Only the person's own key activates them (chain/rules.c). */
        if (tlo_entry_hex(e, "pk", pk, 32) == 0)
            for (size_t i = 0; i < l->v->npeople; i++) {
                tlo_custody_person *p = &l->v->people[i];
                if (!memcmp(p->pk, pk, 32) && !memcmp(p->actor, e->actor, 32) &&
                    p->activate_by_ms && p->activated_at < 0)
                    p->activated_at = (int64_t)e->seq;
            }
    } else if (e->kind == TLO_ENTRY_USER_REVOKE) {
        if (tlo_entry_hex(e, "pk", pk, 32) == 0)
            for (size_t i = 0; i < l->v->npeople; i++)
                if (!memcmp(l->v->people[i].pk, pk, 32) && l->v->people[i].revoked_at < 0)
                    l->v->people[i].revoked_at = (int64_t)e->seq;
    }
    return rc ? tlo_fail(err, rc, "out of memory reading the people of the ledger") : 0;
}

int tlo_custody_people(tlo_custody *v, const tlo_custody_person **list, size_t *n, tlo_error *err)
{
    if (!v->people_loaded) {
        loader l = {.v = v};
        free(v->people);
        v->people = NULL;
        v->npeople = 0;
        static const uint16_t kinds[] = {TLO_ENTRY_GENESIS, TLO_ENTRY_USER_ADD,
                                         TLO_ENTRY_USER_ACTIVATED, TLO_ENTRY_USER_REVOKE};
        if (tlo_chain_walk_kinds(v->ch, kinds, sizeof kinds / sizeof kinds[0], 0, visit, &l, err) !=
            0) {
            free(v->people);
            v->people = NULL;
            v->npeople = 0;
            if (list)
                *list = NULL;
            if (n)
                *n = 0;
            return err && err->code ? err->code : TLO_EIO;
        }
        v->people_loaded = true;
    }
    if (list)
        *list = v->people;
    if (n)
        *n = v->npeople;
    return 0;
}

const tlo_custody_person *tlo_custody_person_by_actor(tlo_custody *v,
                                                      const uint8_t actor[static 32])
{
    if (tlo_custody_people(v, NULL, NULL, NULL) != 0)
        return NULL;
    for (size_t i = 0; i < v->npeople; i++)
        if (!memcmp(v->people[i].actor, actor, 32))
            return &v->people[i];
    return NULL;
}

const tlo_custody_person *tlo_custody_person_by_name(tlo_custody *v, const char *name)
{
    const tlo_custody_person *found = NULL;
    if (tlo_custody_people(v, NULL, NULL, NULL) != 0)
        return NULL;
    for (size_t i = 0; i < v->npeople; i++)
        if (v->people[i].revoked_at < 0 && same_name(v->people[i].name, name))
            found = &v->people[i];
    return found;
}

/* No file of people/ is p's readable identity: the error of the file the
 * ledger's key names (people/KEYID.id: damaged, cut short), else that it is
 * missing. */
static int enrolled_file_damaged(tlo_custody *v, const tlo_custody_person *p, tlo_error *err)
{
    uint8_t digest[32];
    char kid[2 * TLO_KEYID_BYTES + 1], file[64];
    crypto_hash_sha256(digest, p->pk, 32);
    tlo_hex(kid, digest, TLO_KEYID_BYTES);
    snprintf(file, sizeof file, "people/%s.id", kid);
    char *path = tlo_custody_path(v, file);
    tlo_vault_identity *id = path ? tlo_vault_identity_load_public(path, err) : NULL;
    int rc = id ? 0 : err && err->code ? err->code : TLO_ENOMEM;
    tlo_vault_identity_free(id);
    if (rc == 0)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the identity file %s of %s holds another name: it was altered; restore it "
                      "from a backup",
                      path, p->name);
    else if (rc == TLO_ENOMEM || (err && err->code == TLO_EIO && access(path, F_OK) != 0))
        rc = tlo_fail(err, TLO_ENOTFOUND,
                      "%s is enrolled, but their identity file %s is missing; restore it from a "
                      "backup",
                      p->name, path ? path : file);
    free(path);
    return rc;
}

int tlo_custody_identity_path(tlo_custody *v, const char *name, char **path_out, tlo_error *err)
{
    char *dir = tlo_custody_path(v, "people");
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    int matches = 0;
    /* A name enrolled again after a revocation has two files: the one of
     * the key the ledger enrols now is the one. */
    const tlo_custody_person *now = tlo_custody_person_by_name(v, name);
    char *enrolled = NULL;

    *path_out = NULL;
    if (!d) {
        int rc =
            tlo_fail(err, TLO_ENOTFOUND,
                     "cannot read %s: %s; is %s a tellonce vault? ('tellonce init' creates one)",
                     dir ? dir : v->dir, strerror(errno), v->dir);
        free(dir);
        return rc;
    }
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 4 || strcmp(de->d_name + n - 3, ".id") != 0)
            continue;
        char *p = tlo_path_join(dir, de->d_name);
        tlo_vault_identity *id = p ? tlo_vault_identity_load_public(p, NULL) : NULL;
        bool named = id && same_name(id->name, name);
        if (named && now && !enrolled && !memcmp(id->sign_pk, now->pk, 32)) {
            enrolled = p;
        } else if (named) {
            matches++;
            free(*path_out);
            *path_out = p;
        } else {
            free(p);
        }
        tlo_vault_identity_free(id);
    }
    closedir(d);
    free(dir);
    if (enrolled) {
        free(*path_out);
        *path_out = enrolled;
        return 0;
    }
    if (matches == 1)
        return 0;
    free(*path_out);
    *path_out = NULL;
    if (matches == 0 && now && !(now->roles & TLO_ROLE_CUSTODIAN)) /* custodian.id is not here */
        return enrolled_file_damaged(v, now, err);
    if (matches == 0)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody named '%s' has an identity in %s; see 'tellonce user list'", name,
                        v->dir);
    return tlo_fail(err, TLO_EARG,
                    "more than one identity in %s is named '%s'; ask an administrator", v->dir,
                    name);
}

void tlo_custody_set_command(tlo_custody *v, const char *command)
{
    size_t k = 0;
    /* ASCII only: the entry's value is never cut inside a character */
    for (const char *c = command; c && *c && k < sizeof v->command - 1; c++)
        v->command[k++] = (unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f ? '?' : *c;
    v->command[k] = '\0';
}

typedef struct failed_unlocks {
    const char *pk; /* hex */
    uint64_t since_ms;
    unsigned n;
} failed_unlocks;

static int count_failed(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                        tlo_error *err)
{
    failed_unlocks *c = ctx;
    char pk[65];
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_UNLOCK_FAILED && e->time_ms >= c->since_ms &&
        tlo_entry_str(e, "actor", pk, sizeof pk) == 0 && !strcmp(pk, c->pk))
        c->n++;
    return 0;
}

/* The passphrase did not open name's identity file at path: says so and,
 * when the ledger enrols the file's key, logs an unlock-failed entry signed
 * by the custodian, within TLO_CUSTODY_UNLOCK_FAILED_PER_HOUR entries of
 * that person an hour (so a loop cannot fill the ledger). Nothing of what
 * was typed is logged. Returns TLO_EPASSPHRASE. */
static int wrong_passphrase(tlo_custody *v, const char *name, const char *path, tlo_error *err)
{
    tlo_vault_identity *pub = tlo_vault_identity_load_public(path, NULL);
    const tlo_custody_person *p = NULL;
    uint8_t actor[32];
    if (pub) {
        crypto_hash_sha256(actor, pub->sign_pk, 32);
        p = tlo_custody_person_by_actor(v, actor);
    }
    tlo_vault_identity_free(pub);
    if (!p || (p->roles & TLO_ROLE_CUSTODIAN))
        return tlo_fail(err, TLO_EPASSPHRASE, "wrong passphrase for %s; type it again", name);
    char pk[65], body[200];
    tlo_hex(pk, p->pk, 32); /* p is v's: not valid after the append */
    uint64_t now = tlo_custody_now_ms(), seq = 0;
    failed_unlocks c = {.pk = pk, .since_ms = now > 3600000 ? now - 3600000 : 0};
    static const uint16_t kind = TLO_ENTRY_UNLOCK_FAILED;
    tlo_vault_identity *cust = NULL;
    tlo_error lerr = {0};
    if (tlo_chain_walk_kinds(v->ch, &kind, 1, 0, count_failed, &c, &lerr) != 0)
        return tlo_fail(err, TLO_EPASSPHRASE, "wrong passphrase for %s (not logged: %s)", name,
                        lerr.msg);
    if (c.n >= TLO_CUSTODY_UNLOCK_FAILED_PER_HOUR)
        return tlo_fail(err, TLO_EPASSPHRASE,
                        "wrong passphrase for %s (not logged: the %u failed unlocks of %s in the "
                        "last hour are logged already)",
                        name, c.n, name);
    snprintf(body, sizeof body, "actor=%s\ncommand=%s\n", pk, v->command[0] ? v->command : "-");
    /* v open read-only (login through the service): logged through a
     * handle of its own, for the same client, with v's custodian */
    tlo_custody *w = v;
    int rc = custody_custodian(v, &cust, &lerr);
    if (rc == 0 && v->readonly && (rc = tlo_custody_open(v->dir, false, &w, &lerr)) == 0) {
        if (v->has_client)
            tlo_custody_set_client(w, v->client_uid, v->client_pid);
        rc = tlo_custody_adopt_custodian(w, cust, &lerr);
    }
    if (rc == 0)
        rc = custody_append(w, cust, TLO_ENTRY_UNLOCK_FAILED, NULL, body, &seq, &lerr);
    tlo_vault_identity_free(cust);
    if (rc == 0)
        rc = custody_seal(w, &lerr);
    if (w != v)
        tlo_custody_close(w);
    if (rc && !seq)
        return tlo_fail(err, TLO_EPASSPHRASE, "wrong passphrase for %s (not logged: %s)", name,
                        lerr.msg);
    if (rc)
        return tlo_fail(err, TLO_EPASSPHRASE,
                        "wrong passphrase for %s; the failed unlock is logged as entry %llu, but "
                        "no checkpoint covers it yet: %s",
                        name, (unsigned long long)seq, lerr.msg);
    return tlo_fail(err, TLO_EPASSPHRASE,
                    "wrong passphrase for %s; the failed unlock is logged as entry %llu", name,
                    (unsigned long long)seq);
}

/* name's identity file opened with the passphrase (who they are), before
 * any check of what the ledger says of them. */
static int open_identity(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                         tlo_vault_identity **out, tlo_error *err)
{
    char *path = NULL;
    int rc = tlo_custody_identity_path(v, name, &path, err);
    *out = NULL;
    if (rc)
        return rc;
    /* Pending: refused before a second of Argon2id, whatever was typed. */
    const tlo_custody_person *p = tlo_custody_person_by_name(v, name);
    if (p && tlo_custody_person_pending(p)) {
        free(path);
        return pending_error(p, err);
    }
    *out = tlo_vault_identity_load(path, passphrase, len, err);
    if (!*out) {
        rc = err && err->code ? err->code : TLO_EPASSPHRASE;
        /* The file is well formed (a damaged one is TLO_EFORMAT) and does
         * not open: the passphrase is not its. */
        if (rc == TLO_EPASSPHRASE)
            rc = wrong_passphrase(v, name, path, err);
    }
    free(path);
    return rc;
}

int tlo_custody_unlock(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                       unsigned roles, const char *role_text, tlo_vault_identity **out,
                       tlo_error *err)
{
    tlo_vault_identity *id = NULL;
    int rc = open_identity(v, name, passphrase, len, &id, err);
    *out = NULL;
    if (rc)
        return rc;
    if ((rc = custody_check_actor(v, id, roles, role_text, NULL, err)) != 0) {
        tlo_vault_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

int custody_check_actor(tlo_custody *v, const tlo_vault_identity *id, unsigned roles,
                        const char *role_text, const tlo_custody_person **who, tlo_error *err)
{
    uint8_t actor[32];
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    crypto_hash_sha256(actor, id->sign_pk, 32);
    const tlo_custody_person *p = tlo_custody_person_by_actor(v, actor);
    if (p && p->revoked_at < 0 && tlo_custody_person_pending(p))
        return pending_error(p, err);
    if (!p || p->revoked_at >= 0 || !(p->roles & roles))
        return tlo_fail(err, TLO_EDENIED, "%s is not an active %s of this vault", id->name,
                        role_text);
    /* The people list is read from the rows as they are now; what counts is
     * what the custodian verified: the key enrolled, with these roles, and
     * not revoked (a row altered after it was verified changes nothing). */
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    if ((rc = custody_custodian(v, &cust, err)) == 0)
        rc = custody_verified(v, cust, &st, err);
    tlo_vault_identity_free(cust);
    if (rc)
        return rc;
    const tlo_chain_key *k = tlo_chain_state_key(st, actor);
    if (!k || k->revoked_at >= 0 || k->roles != p->roles || memcmp(k->pk, p->pk, 32) != 0)
        return tlo_fail(err, TLO_EDENIED,
                        "%s is not an active %s of this vault by the ledger the custodian "
                        "verified: the ledger's rows were changed since ('tellonce verify' says "
                        "where)",
                        id->name, role_text);
    if (who)
        *who = p;
    return 0;
}

int tlo_custody_check_identity(tlo_custody *v, const tlo_vault_identity *id, unsigned roles,
                               const char *role_text, tlo_error *err)
{
    return custody_check_actor(v, id, roles, role_text, NULL, err);
}

int tlo_custody_unlock_for(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                           tlo_custody_act act, const uint8_t *case_id, tlo_vault_identity **out,
                           tlo_error *err)
{
    tlo_vault_identity *id = NULL;
    /* Who they are first, then what the ledger and the table allow: so a
     * person who proved who they are and may not act (revoked, or no role
     * for act) is refused with a logged entry, and a wrong passphrase stays
     * a wrong passphrase. */
    int rc = open_identity(v, name, passphrase, len, &id, err);
    *out = NULL;
    if (rc)
        return rc;
    if ((rc = tlo_custody_check_identity_for(v, id, act, case_id, err)) != 0) {
        tlo_vault_identity_free(id);
        return rc;
    }
    *out = id;
    return 0;
}

int tlo_custody_check_identity_for(tlo_custody *v, const tlo_vault_identity *id,
                                   tlo_custody_act act, const uint8_t *case_id, tlo_error *err)
{
    /* The roles only: the conditions (grant, author, holder) are the
     * verb's, which checks them with the table again. */
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(act);
    unsigned holds = 0;
    for (size_t i = 0; r && i < TLO_CUSTODY_MAY_CLAUSES; i++)
        holds |= r->may[i].when;
    return custody_check_act(v, id, act, holds, case_id, NULL, err);
}
