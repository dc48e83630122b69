/* People as the ledger enrols them: genesis (administrator and custodian),
 * user-add, user-activated and user-revoke entries; and acting as one of
 * them. */
#include "internal.h"
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
        if (!strcmp(v->people[i].name, name) && v->people[i].revoked_at < 0)
            found = &v->people[i];
    return found;
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
        if (id && !strcmp(id->name, name) && now && !enrolled &&
            !memcmp(id->sign_pk, now->pk, 32)) {
            enrolled = p;
        } else if (id && !strcmp(id->name, name)) {
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
    if (matches == 0)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody named '%s' has an identity in %s; see 'tellonce user list'", name,
                        v->dir);
    return tlo_fail(err, TLO_EARG,
                    "more than one identity in %s is named '%s'; ask an administrator", v->dir,
                    name);
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
    free(path);
    if (!*out)
        return err && err->code ? err->code : TLO_EPASSPHRASE;
    return 0;
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
