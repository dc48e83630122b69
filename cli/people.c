/* People as the ledger enrols them: genesis (administrator and custodian),
 * user-add and user-revoke entries. The porcelain uses this to check who may
 * act; 'tellonce verify' checks the signatures behind it. */
#include "cli.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct loader {
    cli_people *pp;
    size_t cap;
} loader;

static int body_pk(const tlo_entry *e, const char *key, uint8_t pk[32])
{
    char hex[65];
    return tlo_entry_str(e, key, hex, sizeof hex) == 0 && tlo_unhex(pk, 32, hex) == 0 ? 0 : -1;
}

static int add(loader *l, const char *name, const uint8_t pk[32], unsigned roles, uint64_t seq)
{
    if (l->pp->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        cli_person *p = realloc(l->pp->p, cap * sizeof *p);
        if (!p)
            return TLO_ENOMEM;
        l->pp->p = p;
        l->cap = cap;
    }
    cli_person *p = &l->pp->p[l->pp->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    memcpy(p->pk, pk, 32);
    crypto_hash_sha256(p->actor, pk, 32);
    p->roles = roles;
    p->enrolled_at = seq;
    p->revoked_at = -1;
    return 0;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    loader *l = ctx;
    char name[TLO_NAME_MAX + 1], roles[200];
    uint8_t pk[32];
    unsigned mask;
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_GENESIS) {
        if (tlo_entry_str(e, "admin.name", name, sizeof name) == 0 &&
            body_pk(e, "admin.pk", pk) == 0)
            add(l, name, pk, TLO_ROLE_ADMIN, e->seq);
        if (body_pk(e, "custodian.pk", pk) == 0)
            add(l, "custodian", pk, TLO_ROLE_CUSTODIAN, e->seq);
    } else if (e->kind == TLO_ENTRY_USER_ADD) {
        if (tlo_entry_str(e, "name", name, sizeof name) == 0 && body_pk(e, "pk", pk) == 0 &&
            tlo_entry_str(e, "roles", roles, sizeof roles) == 0 &&
            tlo_roles_parse(roles, strlen(roles), &mask) == 0)
            add(l, name, pk, mask, e->seq);
    } else if (e->kind == TLO_ENTRY_USER_REVOKE) {
        if (body_pk(e, "pk", pk) == 0)
            for (size_t i = 0; i < l->pp->n; i++)
                if (!memcmp(l->pp->p[i].pk, pk, 32) && l->pp->p[i].revoked_at < 0)
                    l->pp->p[i].revoked_at = (int64_t)e->seq;
    }
    return 0;
}

int cli_people_load(tlo_chain *c, cli_people *out)
{
    loader l = {.pp = out};
    tlo_error err = {0};
    memset(out, 0, sizeof *out);
    if (tlo_chain_walk(c, 0, visit, &l, &err) != 0) {
        cli_people_free(out);
        return cli_fail(&err);
    }
    return 0;
}

void cli_people_free(cli_people *pp)
{
    free(pp->p);
    pp->p = NULL;
    pp->n = 0;
}

const cli_person *cli_people_by_actor(const cli_people *pp, const uint8_t actor[static 32])
{
    for (size_t i = 0; i < pp->n; i++)
        if (!memcmp(pp->p[i].actor, actor, 32))
            return &pp->p[i];
    return NULL;
}

const cli_person *cli_people_by_name(const cli_people *pp, const char *name)
{
    const cli_person *found = NULL;
    for (size_t i = 0; i < pp->n; i++)
        if (!strcmp(pp->p[i].name, name) && pp->p[i].revoked_at < 0)
            found = &pp->p[i];
    return found;
}

tlo_chain *cli_open_ledger(const char *vault, bool readonly, int *rc)
{
    char *path = tlo_path_join(vault, "ledger.db");
    tlo_error err = {0};
    struct stat st;
    tlo_chain *c = NULL;
    *rc = EXIT_OK;
    if (path && stat(path, &st) != 0) {
        cli_error("%s is not a tellonce vault (it has no ledger.db); 'tellonce init' creates one, "
                  "--vault or TELLONCE_VAULT names another",
                  vault);
        *rc = EXIT_USAGE;
    } else if (!path || !(c = tlo_chain_open(path, readonly, &err))) {
        *rc = cli_fail(&err);
    }
    free(path);
    return c;
}
