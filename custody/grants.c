/* Grants: who may view or export which range of which session, until when,
 * and why. An administrator signs each (kind 30) and may revoke it (31). */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct grant_scan {
    const uint8_t *case_id;
    tlo_custody_grant *g;
    size_t n, cap;
} grant_scan;

/* A grant entry's fields; -1 if it is not a grant this tellonce understands
 * (never honoured). */
static int parse_grant(const tlo_entry *e, tlo_custody_grant *g)
{
    char actions[40];
    memset(g, 0, sizeof *g);
    g->seq = e->seq;
    g->revoked_at = -1;
    memcpy(g->case_id, e->case_id, TLO_ID_BYTES);
    if (tlo_entry_hex(e, "to", g->to, 32) != 0 ||
        tlo_entry_str(e, "session", g->session, sizeof g->session) != 0 ||
        tlo_entry_u64(e, "from_ms", &g->from_ms) != 0 ||
        tlo_entry_u64(e, "until_ms", &g->until_ms) != 0 ||
        tlo_entry_u64(e, "expires_ms", &g->expires_ms) != 0 ||
        tlo_entry_str(e, "actions", actions, sizeof actions) != 0)
        return -1;
    tlo_entry_str(e, "to_name", g->to_name, sizeof g->to_name);
    tlo_entry_str(e, "purpose", g->purpose, sizeof g->purpose);
    g->view = strstr(actions, "view") != NULL;
    g->exp = strstr(actions, "export") != NULL;
    return 0;
}

int custody_grant_parse(const tlo_entry *e, tlo_custody_grant *g)
{
    return parse_grant(e, g);
}

static int visit_grant(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    grant_scan *gs = ctx;
    (void)leaf;
    if (e->kind == TLO_ENTRY_GRANT && e->has_case &&
        (!gs->case_id || !memcmp(e->case_id, gs->case_id, TLO_ID_BYTES))) {
        tlo_custody_grant g;
        if (parse_grant(e, &g) != 0)
            return 0;
        if (gs->n == gs->cap) {
            size_t cap = gs->cap ? 2 * gs->cap : 8;
            tlo_custody_grant *p = realloc(gs->g, cap * sizeof *p);
            if (!p)
                return tlo_fail(err, TLO_ENOMEM, "out of memory reading the grants");
            gs->g = p;
            gs->cap = cap;
        }
        gs->g[gs->n++] = g;
    }
    return 0;
}

/* Revocations are read by kind, whatever case they name: a revocation counts
 * for the grant it names, as when one walk read everything. Only one that
 * comes after the grant counts. */
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

/* The case's entries through its index (or the grants by kind for all
 * cases), then the revocations by kind: O(the case's entries + revocations),
 * not O(ledger). The rows are not verified here (tlo_chain_walk_case): the
 * custodian verifies the ledger before it honours a grant. */
int tlo_custody_grants(tlo_custody *v, const uint8_t *case_id, tlo_custody_grant **out, size_t *n,
                       tlo_error *err)
{
    grant_scan gs = {.case_id = case_id};
    *out = NULL;
    *n = 0;
    int rc = case_id ? tlo_chain_walk_case(v->ch, case_id, 0, visit_grant, &gs, err)
                     : tlo_chain_walk_kind(v->ch, TLO_ENTRY_GRANT, 0, visit_grant, &gs, err);
    if (rc >= 0 && gs.n > 0)
        rc = tlo_chain_walk_kind(v->ch, TLO_ENTRY_GRANT_REVOKE, gs.g[0].seq + 1, visit_revoke, &gs,
                                 err);
    if (rc < 0) {
        free(gs.g);
        return err && err->code ? err->code : TLO_EIO;
    }
    *out = gs.g;
    *n = gs.n;
    return 0;
}

static void ms_text(char *out, size_t cap, uint64_t ms)
{
    snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
             (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
}

int tlo_custody_grant_check(tlo_custody *v, const tlo_custody_grant_params *p,
                            tlo_custody_grant *out, tlo_error *err)
{
    tlo_custody_case cs;
    tlo_custody_session s;
    int rc;
    memset(out, 0, sizeof *out);
    if (!p->view && !p->exp)
        return tlo_fail(err, TLO_EARG, "a grant allows view, export or both");
    if (!p->purpose || !tlo_text_ok(p->purpose, 400))
        return tlo_fail(err, TLO_EARG, "the purpose is one line of text, 1 to 400 bytes");
    if (!p->session || strlen(p->session) != 32 || strspn(p->session, "0123456789abcdef") != 32)
        return tlo_fail(err, TLO_EARG,
                        "a session id is 32 hex digits, as 'tellonce log' shows them");
    if (p->expires_ms < tlo_custody_now_ms())
        return tlo_fail(err, TLO_EARG, "the expiry is in the past");
    if ((rc = tlo_custody_case_find(v, p->case_number, &cs, err)) != 0)
        return rc;
    const tlo_custody_person *to = tlo_custody_person_by_name(v, p->to);
    if (!to)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody active is enrolled as \"%s\"; 'tellonce user list' shows them",
                        p->to);
    if (!tlo_custody_may(TLO_ACT_BE_GRANTED, to->roles, 0)) {
        char who[300];
        tlo_custody_act_who(TLO_ACT_BE_GRANTED, who, sizeof who);
        return tlo_fail(err, TLO_EARG,
                        "%s may not be granted anything: grants go to %s only (auditors never "
                        "receive keys; docs/roles.md)",
                        p->to, who);
    }
    if ((rc = tlo_custody_session_info(v, cs.id, p->session, &s, err)) != 0)
        return rc;
    if (!s.found)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "case %s has no session %s; 'tellonce log --case %s' lists its sessions",
                        p->case_number, p->session, p->case_number);
    if (!s.ended)
        return tlo_fail(err, TLO_EARG,
                        "session %s has not ended (still recording, or 'tellonce recover' it "
                        "first)",
                        p->session);
    uint64_t until = p->until_ms == UINT64_MAX ? s.end_ms : p->until_ms;
    if (until <= p->from_ms || until > s.end_ms) {
        char e[32];
        ms_text(e, sizeof e, s.end_ms);
        return tlo_fail(err, TLO_EARG, "the range must lie within the session, 00:00:00 to %s", e);
    }
    out->revoked_at = -1;
    memcpy(out->case_id, cs.id, TLO_ID_BYTES);
    memcpy(out->to, to->pk, 32);
    snprintf(out->to_name, sizeof out->to_name, "%s", to->name);
    snprintf(out->session, sizeof out->session, "%s", p->session);
    out->from_ms = p->from_ms;
    out->until_ms = until;
    out->expires_ms = p->expires_ms;
    out->view = p->view;
    out->exp = p->exp;
    snprintf(out->purpose, sizeof out->purpose, "%s", p->purpose);
    return 0;
}

int tlo_custody_grant_issue(tlo_custody *v, const tlo_vault_identity *admin,
                            const tlo_custody_grant_params *p, tlo_custody_grant *out,
                            tlo_error *err)
{
    tlo_custody_grant g;
    int rc = tlo_custody_grant_check(v, p, &g, err);
    memset(out, 0, sizeof *out);
    if (rc || (rc = custody_check_act(v, admin, TLO_ACT_GRANT, 0, g.case_id, NULL, err)) != 0)
        return rc;
    char body[1200], pk[65];
    tlo_hex(pk, g.to, 32);
    snprintf(body, sizeof body,
             "actions=%s\nexpires_ms=%llu\nfrom_ms=%llu\npurpose=%s\nsession=%s\nto=%s\n"
             "to_name=%s\nuntil_ms=%llu\n",
             g.view && g.exp ? "view,export"
             : g.exp         ? "export"
                             : "view",
             (unsigned long long)g.expires_ms, (unsigned long long)g.from_ms, g.purpose, g.session,
             pk, g.to_name, (unsigned long long)g.until_ms);
    if ((rc = custody_append(v, admin, TLO_ENTRY_GRANT, g.case_id, body, &g.seq, err)) != 0 ||
        (rc = custody_seal(v, err)) != 0)
        return rc;
    *out = g;
    return 0;
}

int tlo_custody_grant_revoke(tlo_custody *v, const tlo_vault_identity *admin, uint64_t grant_seq,
                             const char *reason, tlo_custody_grant *out, uint64_t *seq,
                             tlo_error *err)
{
    int rc;
    memset(out, 0, sizeof *out);
    if (!reason || !tlo_text_ok(reason, 300))
        return tlo_fail(err, TLO_EARG, "the reason is one line of text, at most 300 bytes");
    if ((rc = tlo_custody_grant_find(v, grant_seq, out, err)) != 0)
        return rc;
    if ((rc = custody_check_act(v, admin, TLO_ACT_GRANT, 0, out->case_id, NULL, err)) != 0)
        return rc;
    char body[600];
    snprintf(body, sizeof body, "grant=%llu\nreason=%s\n", (unsigned long long)grant_seq, reason);
    return custody_seal_end(
        v, custody_append(v, admin, TLO_ENTRY_GRANT_REVOKE, out->case_id, body, seq, err), err);
}

int tlo_custody_grant_find(tlo_custody *v, uint64_t grant_seq, tlo_custody_grant *out,
                           tlo_error *err)
{
    tlo_custody_grant *g = NULL;
    size_t n = 0;
    int rc = tlo_custody_grants(v, NULL, &g, &n, err);
    memset(out, 0, sizeof *out);
    if (rc)
        return rc;
    const tlo_custody_grant *found = NULL;
    for (size_t i = 0; i < n; i++)
        if (g[i].seq == grant_seq)
            found = &g[i];
    if (!found)
        rc =
            tlo_fail(err, TLO_ENOTFOUND, "there is no grant %llu; 'tellonce grant list' shows them",
                     (unsigned long long)grant_seq);
    else if (found->revoked_at >= 0)
        rc = tlo_fail(err, TLO_EARG, "grant %llu was already revoked in entry %lld",
                      (unsigned long long)grant_seq, (long long)found->revoked_at);
    else
        *out = *found;
    free(g);
    return rc;
}

/* ---- what a person may ask for (before anything is signed) ---- */

static int by_start(const void *a, const void *b)
{
    const tlo_custody_range *x = a, *y = b;
    if (x->from_ms != y->from_ms)
        return x->from_ms < y->from_ms ? -1 : 1;
    return x->to_ms > y->to_ms ? -1 : x->to_ms < y->to_ms ? 1 : 0;
}

int tlo_custody_granted_ranges(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                               const char *session, const uint8_t pk[static 32],
                               tlo_custody_action action, tlo_custody_range **out, size_t *n,
                               tlo_error *err)
{
    tlo_custody_grant *g = NULL;
    size_t ng = 0, k = 0;
    uint64_t now = tlo_custody_now_ms();
    *out = NULL;
    *n = 0;
    int rc = tlo_custody_grants(v, case_id, &g, &ng, err);
    if (rc)
        return rc;
    tlo_custody_range *r = calloc(ng ? ng : 1, sizeof *r);
    if (!r) {
        free(g);
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading the grants");
    }
    /* The same tests as the custodian's (custodian.c, find_grant). */
    for (size_t i = 0; i < ng; i++)
        if (!memcmp(g[i].to, pk, 32) && !strcmp(g[i].session, session) && g[i].revoked_at < 0 &&
            g[i].expires_ms > now && (action == TLO_CUSTODY_VIEW ? g[i].view : g[i].exp) &&
            g[i].until_ms > g[i].from_ms)
            r[k++] = (tlo_custody_range){g[i].from_ms, g[i].until_ms, g[i].seq};
    free(g);
    qsort(r, k, sizeof *r, by_start);
    *out = r;
    *n = k;
    return 0;
}
