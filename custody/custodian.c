/* The custodian's one door for keys (custody.h: "The custodian's one door").
 *
 * A request is a value a person signs; this file makes, encodes and decodes
 * requests, and decides them in tlo_custody_release. */
#include "internal.h"
#include "rules.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A request older than this, or this far in the future, is refused: it was
 * replayed, or made on a machine whose clock is wrong. */
#define REQUEST_MAX_AGE_MS (5 * 60 * 1000)

const char *tlo_custody_action_name(tlo_custody_action a)
{
    return a == TLO_CUSTODY_EXPORT ? "export" : "view";
}

static bool is_hex(const char *s, size_t n)
{
    return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

size_t tlo_custody_request_signed_text(const tlo_custody_request *r, char *out, size_t cap)
{
    char case_hex[2 * TLO_ID_BYTES + 1];
    if ((r->action != TLO_CUSTODY_VIEW && r->action != TLO_CUSTODY_EXPORT) ||
        !is_hex(r->session, 32) || memchr(r->purpose, '\0', sizeof r->purpose) == NULL ||
        (r->purpose[0] && !tlo_text_ok(r->purpose, TLO_CUSTODY_PURPOSE_MAX)))
        return 0;
    tlo_hex(case_hex, r->case_id, TLO_ID_BYTES);
    int n = snprintf(out, cap,
                     "tellonce/v1 request\naction=%s\ncase=%s\nfrom_ms=%llu\npurpose=%s\n"
                     "session=%s\ntime_ms=%llu\nto_ms=%llu\n",
                     tlo_custody_action_name(r->action), case_hex, (unsigned long long)r->from_ms,
                     r->purpose, r->session, (unsigned long long)r->time_ms,
                     (unsigned long long)r->to_ms);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

size_t tlo_custody_request_encode(const tlo_custody_request *r, char *out, size_t cap)
{
    char pk[65], sig[129];
    size_t n = tlo_custody_request_signed_text(r, out, cap);
    if (!n)
        return 0;
    tlo_hex(pk, r->actor_pk, 32);
    tlo_hex(sig, r->sig, 64);
    int m = snprintf(out + n, cap - n, "actor=%s\nsig=%s\n", pk, sig);
    return m > 0 && (size_t)m < cap - n ? n + (size_t)m : 0;
}

/* The value of the line "key=...\n" at *p (bounded by end), copied into val
 * (cap bytes); *p moves past the line. */
static int take_line(const char **p, const char *end, const char *key, char *val, size_t cap)
{
    size_t kl = strlen(key);
    if ((size_t)(end - *p) < kl + 2 || memcmp(*p, key, kl) != 0 || (*p)[kl] != '=')
        return -1;
    const char *v = *p + kl + 1, *nl = memchr(v, '\n', (size_t)(end - v));
    if (!nl || (size_t)(nl - v) >= cap || memchr(v, '\0', (size_t)(nl - v)))
        return -1;
    memcpy(val, v, (size_t)(nl - v));
    val[nl - v] = '\0';
    *p = nl + 1;
    return 0;
}

int tlo_custody_request_decode(const char *buf, size_t len, tlo_custody_request *out,
                               tlo_error *err)
{
    static const char head[] = "tellonce/v1 request\n";
    char action[16], chex[40], from[24], session[40], time[24], to[24], pk[72], sig[136];
    const char *p = buf, *end = buf + len;
    tlo_custody_request r;
    memset(out, 0, sizeof *out);
    memset(&r, 0, sizeof r);
    if (len > TLO_CUSTODY_REQUEST_MAX || len < sizeof head - 1 ||
        memcmp(buf, head, sizeof head - 1) != 0)
        goto bad;
    p += sizeof head - 1;
    if (take_line(&p, end, "action", action, sizeof action) ||
        take_line(&p, end, "case", chex, sizeof chex) ||
        take_line(&p, end, "from_ms", from, sizeof from) ||
        take_line(&p, end, "purpose", r.purpose, sizeof r.purpose) ||
        take_line(&p, end, "session", session, sizeof session) ||
        take_line(&p, end, "time_ms", time, sizeof time) ||
        take_line(&p, end, "to_ms", to, sizeof to) || take_line(&p, end, "actor", pk, sizeof pk) ||
        take_line(&p, end, "sig", sig, sizeof sig) || p != end)
        goto bad;
    if (!strcmp(action, "view"))
        r.action = TLO_CUSTODY_VIEW;
    else if (!strcmp(action, "export"))
        r.action = TLO_CUSTODY_EXPORT;
    else
        goto bad;
    if (!is_hex(chex, 32) || tlo_unhex(r.case_id, TLO_ID_BYTES, chex) != 0 ||
        !is_hex(session, 32) || tlo_parse_u64(from, &r.from_ms) != 0 ||
        tlo_parse_u64(time, &r.time_ms) != 0 || tlo_parse_u64(to, &r.to_ms) != 0 ||
        !is_hex(pk, 64) || tlo_unhex(r.actor_pk, 32, pk) != 0 || !is_hex(sig, 128) ||
        tlo_unhex(r.sig, 64, sig) != 0)
        goto bad;
    memcpy(r.session, session, 33);
    /* Only the one encoding of this meaning (no leading zeros, no other
     * spelling): encoding it again gives the same bytes. */
    char again[TLO_CUSTODY_REQUEST_MAX + 1];
    size_t n = tlo_custody_request_encode(&r, again, sizeof again);
    if (n != len || memcmp(again, buf, len) != 0)
        goto bad;
    *out = r;
    return 0;
bad:
    return tlo_fail(err, TLO_EFORMAT,
                    "the request is not one tellonce makes (docs/cli.md, 'the custodian's "
                    "requests'); it was damaged or forged");
}

int tlo_custody_request_make(tlo_custody *v, const tlo_vault_identity *actor,
                             tlo_custody_action action, const tlo_custody_case *cs,
                             const char *session, uint64_t from_ms, uint64_t to_ms,
                             const char *purpose, tlo_custody_request *out, tlo_error *err)
{
    char text[TLO_CUSTODY_REQUEST_MAX];
    memset(out, 0, sizeof *out);
    if (!is_hex(session, 32))
        return tlo_fail(err, TLO_EARG, "a session id is 32 hex digits, as 'tellonce log' shows");
    if (to_ms == UINT64_MAX) {
        tlo_custody_session s;
        int rc = tlo_custody_session_info(v, cs->id, session, &s, err);
        if (rc)
            return rc;
        to_ms = s.end_ms;
    }
    out->action = action;
    memcpy(out->case_id, cs->id, TLO_ID_BYTES);
    memcpy(out->session, session, 33);
    out->from_ms = from_ms;
    out->to_ms = to_ms;
    tlo_clean_text(out->purpose, sizeof out->purpose, purpose ? purpose : "");
    out->time_ms = tlo_custody_now_ms();
    memcpy(out->actor_pk, actor->sign_pk, 32);
    size_t n = tlo_custody_request_signed_text(out, text, sizeof text);
    if (!n)
        return tlo_fail(err, TLO_EARG, "the request cannot be encoded");
    crypto_sign_detached(out->sig, NULL, (const uint8_t *)text, n, actor->sign_sk);
    return 0;
}

/* ---- what the ledger says of the session asked for ---- */

typedef struct seg_info {
    uint64_t index, start_ms, end_ms, bytes, seq;
    char object[33];
    uint8_t pt[32], ct[32];
} seg_info;

/* What the verified entries of one case say, read for one decision. */
typedef struct session_scan {
    const uint8_t *case_id;
    const char *session;
    uint64_t verified; /* entries below this are the custodian's verified ones */
    uint64_t limit;    /* the decision takes entries below this into account */
    uint64_t count;    /* entries of the case below `verified`, and their chain */
    uint8_t chain[32];
    tlo_custody_case cs; /* from its case-open entry */
    bool found, ended;
    uint8_t recorder[32]; /* actor of the session-start entry */
    seg_info *s;
    size_t n, cap;
    tlo_custody_grant *g;
    size_t ng, gcap;
} session_scan;

static int add_grant(session_scan *ss, const tlo_entry *e, tlo_error *err)
{
    tlo_custody_grant g;
    if (custody_grant_parse(e, &g) != 0)
        return 0; /* not a grant this tellonce understands: never honoured */
    if (ss->ng == ss->gcap) {
        size_t cap = ss->gcap ? 2 * ss->gcap : 8;
        tlo_custody_grant *p = realloc(ss->g, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the grants");
        ss->g = p;
        ss->gcap = cap;
    }
    ss->g[ss->ng++] = g;
    return 0;
}

static int add_segment(session_scan *ss, const tlo_entry *e, tlo_error *err)
{
    seg_info si = {.seq = e->seq};
    if (tlo_entry_u64(e, "index", &si.index) != 0 ||
        tlo_entry_u64(e, "start_ms", &si.start_ms) != 0 ||
        tlo_entry_u64(e, "end_ms", &si.end_ms) != 0 || tlo_entry_u64(e, "bytes", &si.bytes) != 0 ||
        tlo_entry_str(e, "object", si.object, sizeof si.object) != 0 || !is_hex(si.object, 32) ||
        tlo_entry_hex(e, "plaintext_sha256", si.pt, 32) != 0 ||
        tlo_entry_hex(e, "ciphertext_sha256", si.ct, 32) != 0)
        return 0;
    if (ss->n == ss->cap) {
        size_t cap = ss->cap ? 2 * ss->cap : 16;
        seg_info *p = realloc(ss->s, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the session's segments");
        ss->s = p;
        ss->cap = cap;
    }
    ss->s[ss->n++] = si;
    return 0;
}

/* One entry of the case: into the chain that must equal the verified one,
 * and, below the limit, into what the decision reads. */
static int visit_session(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                         tlo_error *err)
{
    session_scan *ss = ctx;
    char id[40];
    if (!e->has_case || memcmp(e->case_id, ss->case_id, TLO_ID_BYTES) != 0)
        return 0;
    if (e->seq >= ss->verified)
        return 1; /* appended since the custodian verified: not read */
    ss->count++;
    tlo_chain_case_step(ss->chain, leaf);
    if (e->seq >= ss->limit)
        return 0;
    if (e->kind == TLO_ENTRY_CASE_OPEN && ss->count == 1) {
        ss->cs.opened_at = e->seq;
        ss->cs.has_wrapped_digest =
            tlo_entry_hex(e, "wrapped_key_sha256", ss->cs.wrapped_key_sha256, 32) == 0;
        return 0;
    }
    if (e->kind == TLO_ENTRY_GRANT)
        return add_grant(ss, e, err);
    if (e->kind == TLO_ENTRY_GRANT_REVOKE) {
        uint64_t which;
        if (tlo_entry_u64(e, "grant", &which) == 0)
            for (size_t i = 0; i < ss->ng; i++)
                if (ss->g[i].seq == which && ss->g[i].revoked_at < 0)
                    ss->g[i].revoked_at = (int64_t)e->seq;
        return 0;
    }
    if (tlo_entry_str(e, "session", id, sizeof id) != 0 || strcmp(id, ss->session) != 0)
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        ss->found = true;
        memcpy(ss->recorder, e->actor, 32);
    } else if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        ss->ended = true;
    } else if (e->kind == TLO_ENTRY_SEGMENT) {
        return add_segment(ss, e, err);
    }
    return 0;
}

static void scan_reset(session_scan *ss)
{
    free(ss->s);
    free(ss->g);
    const uint8_t *case_id = ss->case_id;
    const char *session = ss->session;
    memset(ss, 0, sizeof *ss);
    ss->case_id = case_id;
    ss->session = session;
}

/* Reads the case's entries below the verified size (the decision those
 * below limit) and checks they are exactly the ones the custodian verified:
 * their number and the hash chain over them, as the verified state holds. */
static int read_case(tlo_custody *v, const tlo_chain_state *st, uint64_t limit, session_scan *ss,
                     tlo_error *err)
{
    uint64_t count;
    uint8_t chain[32];
    scan_reset(ss);
    ss->verified = tlo_chain_state_size(st);
    ss->limit = limit < ss->verified ? limit : ss->verified;
    memcpy(ss->cs.id, ss->case_id, TLO_ID_BYTES);
    tlo_hex(ss->cs.number, ss->case_id, TLO_ID_BYTES);
    int rc = custody_walk_case(v, ss->case_id, visit_session, ss, err);
    if (rc < 0)
        return rc;
    if (!tlo_chain_state_case(st, ss->case_id, &count, chain))
        return tlo_fail(err, TLO_ENOTFOUND, "the vault has no case %s", ss->cs.number);
    if (count != ss->count || sodium_memcmp(chain, ss->chain, 32) != 0)
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger's entries of case %s are not the %llu the custodian verified "
                        "(%llu read): one was removed, changed or hidden from the index. No "
                        "decision is made; 'tellonce verify' names the damage",
                        ss->cs.number, (unsigned long long)count, (unsigned long long)ss->count);
    return 0;
}

/* Where the session ends: the latest end of its segments (as
 * tlo_custody_session_info says, so a request for "to the end" resolves to
 * what the custodian checks against). */
static uint64_t session_end(const session_scan *ss)
{
    uint64_t end = 0;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->s[i].end_ms > end)
            end = ss->s[i].end_ms;
    return end;
}

/* ---- the decision ---- */

typedef struct decision {
    const tlo_custody_person *who; /* &person when the requester is enrolled */
    tlo_custody_person person;     /* roles and revocation as the verified ledger has them */
    const tlo_custody_grant *use;  /* NULL: the interviewer's own recording */
    char joined[200];              /* "12,15": the touching grants used, when more than one */
    char reason[900];              /* empty: granted */
    char purpose[TLO_CUSTODY_PURPOSE_MAX + 1];
} decision;

/* "00:00:05" or "00:00:05.250": a range's ends as a person reads them. */
static void ms_text(char *out, size_t cap, uint64_t ms)
{
    int n = snprintf(out, cap, "%02llu:%02llu:%02llu", (unsigned long long)(ms / 3600000),
                     (unsigned long long)(ms / 60000 % 60), (unsigned long long)(ms / 1000 % 60));
    if (ms % 1000 && n > 0 && (size_t)n < cap)
        snprintf(out + n, cap - (size_t)n, ".%03llu", (unsigned long long)(ms % 1000));
}

static int by_from(const void *a, const void *b)
{
    const tlo_custody_grant *x = *(const tlo_custody_grant *const *)a;
    const tlo_custody_grant *y = *(const tlo_custody_grant *const *)b;
    if (x->from_ms != y->from_ms)
        return x->from_ms < y->from_ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Whether the live grants c[0..k) (sorted by start) cover [from, to)
 * together: grants that touch or overlap are joined, a gap of even 1 ms is
 * not. The grants used, in order, go to d (d->use the one holding from,
 * d->joined their entry numbers when more than one). */
static bool cover(const tlo_custody_grant **c, size_t k, uint64_t from, uint64_t to, decision *d)
{
    uint64_t at = from;
    size_t i = 0, used = 0, len = 0;
    d->joined[0] = '\0';
    while (at < to) {
        const tlo_custody_grant *best = NULL;
        /* Of the grants starting at or before `at`, the one reaching
         * furthest; those passed over reach no further than `at` now. */
        for (; i < k && c[i]->from_ms <= at; i++)
            if (!best || c[i]->until_ms > best->until_ms)
                best = c[i];
        if (!best || best->until_ms <= at)
            return false;
        int w = snprintf(d->joined + len, sizeof d->joined - len, "%s%llu", used ? "," : "",
                         (unsigned long long)best->seq);
        if (w < 0 || (size_t)w >= sizeof d->joined - len)
            return false; /* more grants than an entry names: not joined */
        len += (size_t)w;
        if (!used++)
            d->use = best;
        at = best->until_ms;
    }
    if (used < 2)
        d->joined[0] = '\0';
    return true;
}

/* The grant (or the touching grants) that allow req, or the most specific
 * reason none does. A range beyond them names the granted ranges. */
static void find_grant(const tlo_custody_request *req, const tlo_custody_grant *g, size_t n,
                       uint64_t now, decision *d)
{
    const char *why = "there is no grant of this session to this person";
    bool same_session = false;
    const tlo_custody_grant **c = calloc(n ? n : 1, sizeof *c);
    size_t k = 0;
    if (!c) {
        snprintf(d->reason, sizeof d->reason, "out of memory reading the grants");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (memcmp(g[i].to, req->actor_pk, 32) != 0)
            continue;
        if (strcmp(g[i].session, req->session) != 0) {
            /* Less specific than anything said of a grant of this session. */
            if (!same_session)
                why = "the grants to this person cover other sessions of the case";
            continue;
        }
        same_session = true;
        if (g[i].revoked_at >= 0)
            why = "the grant was revoked";
        else if (g[i].expires_ms <= now)
            why = "the grant has expired";
        else if (!(req->action == TLO_CUSTODY_VIEW ? g[i].view : g[i].exp))
            why = req->action == TLO_CUSTODY_VIEW ? "the grant does not allow viewing"
                                                  : "the grant does not allow export";
        else if (g[i].until_ms > g[i].from_ms)
            c[k++] = &g[i];
    }
    qsort(c, k, sizeof *c, by_from);
    if (k && cover(c, k, req->from_ms, req->to_ms, d)) {
        free(c);
        return;
    }
    d->use = NULL;
    d->joined[0] = '\0';
    if (k) {
        /* The live grants, joined where they touch, as a person reads them. */
        char list[600] = "";
        size_t len = 0, spans = 0;
        for (size_t i = 0; i < k && len < sizeof list;) {
            uint64_t a = c[i]->from_ms, b = c[i]->until_ms;
            for (i++; i < k && c[i]->from_ms <= b; i++)
                if (c[i]->until_ms > b)
                    b = c[i]->until_ms;
            char x[32], y[32];
            ms_text(x, sizeof x, a);
            ms_text(y, sizeof y, b);
            int w =
                snprintf(list + len, sizeof list - len, "%s%s to %s", spans++ ? ", " : "", x, y);
            len = w < 0 ? sizeof list : len + (size_t)w;
        }
        if (spans > 1)
            snprintf(d->reason, sizeof d->reason,
                     "the range asked for goes beyond the granted ranges (%s)", list);
        else
            snprintf(d->reason, sizeof d->reason,
                     "the range asked for goes beyond the granted range (%s)", list);
    } else {
        snprintf(d->reason, sizeof d->reason, "%s", why);
    }
    free(c);
}

/* The table's refusal of act for d->who, as the reason logged. */
static void table_reason(tlo_custody_act act, decision *d)
{
    char who[300], roles[200];
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(act);
    tlo_custody_act_who(act, who, sizeof who);
    tlo_roles_format(d->who->roles, ", ", roles, sizeof roles);
    snprintf(d->reason, sizeof d->reason, "%s (%s) may not %s: only %s may", d->who->name, roles,
             r ? r->what : "do this", who);
}

/* Fills d: the checks, the most specific reason first. */
static void decide(tlo_custody *v, const tlo_chain_state *st, const tlo_custody_request *req,
                   const session_scan *ss, decision *d)
{
    const tlo_custody_grant *grants = ss->g;
    size_t ngrants = ss->ng;
    char text[TLO_CUSTODY_REQUEST_MAX];
    uint8_t actor[32];
    uint64_t now = tlo_custody_now_ms(), end = session_end(ss);
    size_t tn = tlo_custody_request_signed_text(req, text, sizeof text);
    tlo_custody_act act = req->action == TLO_CUSTODY_VIEW ? TLO_ACT_CLIP_VIEW : TLO_ACT_CLIP_EXPORT;
    crypto_hash_sha256(actor, req->actor_pk, 32);
    memset(d, 0, sizeof *d);
    const tlo_chain_key *k = tlo_chain_state_key(st, actor);
    if (k && !(k->roles & TLO_ROLE_CUSTODIAN)) {
        /* The name is for messages only (from the enrolling entry, read by
         * its number); what counts is the verified key. */
        tlo_entry en;
        uint8_t *nb = NULL;
        snprintf(d->person.name, sizeof d->person.name, "?");
        if (tlo_chain_get(v->ch, k->enrolled_at, &en, &nb, NULL) == 0)
            tlo_entry_str(&en, en.seq == 0 ? "admin.name" : "name", d->person.name,
                          sizeof d->person.name);
        free(nb);
        memcpy(d->person.pk, k->pk, 32);
        memcpy(d->person.actor, k->actor, 32);
        d->person.roles = k->roles;
        d->person.enrolled_at = k->enrolled_at;
        d->person.revoked_at = k->revoked_at;
        d->who = &d->person;
    }
    if (tn)
        snprintf(d->purpose, sizeof d->purpose, "%s", req->purpose);
    if (!tn || !d->who || d->who->revoked_at >= 0 ||
        crypto_sign_verify_detached(req->sig, (const uint8_t *)text, tn, d->who->pk) != 0)
        snprintf(d->reason, sizeof d->reason,
                 "the request is not signed by an enrolled, active person");
    else if (req->time_ms + REQUEST_MAX_AGE_MS < now || req->time_ms > now + REQUEST_MAX_AGE_MS)
        snprintf(d->reason, sizeof d->reason,
                 "the request was made more than 5 minutes from now (replayed, or a wrong clock)");
    else if (d->who->roles == TLO_ROLE_AUDITOR)
        snprintf(d->reason, sizeof d->reason, "auditors verify the log and never receive keys");
    else if (!(d->who->roles & tlo_custody_act_roles(act)))
        table_reason(act, d);
    else if (!ss->found)
        snprintf(d->reason, sizeof d->reason, "the case has no session %s", req->session);
    else if (!ss->ended)
        snprintf(d->reason, sizeof d->reason,
                 "session %s is still open (recording, or interrupted: 'tellonce recover')",
                 req->session);
    else if (req->to_ms <= req->from_ms || req->to_ms > end)
        snprintf(d->reason, sizeof d->reason,
                 "the range %llu-%llu ms is not within the session (0-%llu ms)",
                 (unsigned long long)req->from_ms, (unsigned long long)req->to_ms,
                 (unsigned long long)end);
    if (d->reason[0])
        return;
    /* The table (docs/roles.md): the recorder views their own session
     * without a grant; everyone else needs a live grant for the range. */
    bool own = !memcmp(ss->recorder, actor, 32);
    if (!tlo_custody_may(act, d->who->roles, own ? TLO_WHEN_RECORDER : 0)) {
        find_grant(req, grants, ngrants, now, d);
        if (d->use && !tlo_custody_may(act, d->who->roles, TLO_WHEN_GRANTED)) {
            d->use = NULL;
            table_reason(act, d);
        }
    }
    if (!d->reason[0] && d->use && !d->purpose[0])
        snprintf(d->purpose, sizeof d->purpose, "%s", d->use->purpose);
}

/* The body of an access entry: grant, reason and segments are lines
 * ("key=value\n") or "", in the order of the canonical body. */
static void access_body(char *out, size_t cap, const tlo_custody_request *req, const decision *d,
                        const char *grant, const char *reason, const char *segments)
{
    char pk[65], sig[129];
    tlo_hex(pk, req->actor_pk, 32);
    tlo_hex(sig, req->sig, 64);
    snprintf(out, cap,
             "action=%s\nactor=%s\nfrom_ms=%llu\n%spurpose=%s\n%srequest_sig=%s\n"
             "request_time_ms=%llu\n%ssession=%s\nto_ms=%llu\n",
             tlo_custody_action_name(req->action), pk, (unsigned long long)req->from_ms, grant,
             d->purpose[0] ? d->purpose : "(none given)", reason, sig,
             (unsigned long long)req->time_ms, segments, req->session,
             (unsigned long long)req->to_ms);
}

/* Derives the object keys of the segments that overlap [from, to). */
static int release_keys(tlo_custody *v, const tlo_custody_case *cs, const tlo_vault_identity *cust,
                        const session_scan *ss, const tlo_custody_request *req,
                        tlo_custody_released *out, tlo_error *err)
{
    uint8_t *case_key = NULL;
    int rc = custody_case_key(v, cs, cust, &case_key, err);
    if (rc)
        return rc;
    out->seg = calloc(ss->n ? ss->n : 1, sizeof *out->seg);
    if (!out->seg)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory releasing keys");
    for (size_t i = 0; rc == 0 && i < ss->n; i++) {
        const seg_info *s = &ss->s[i];
        if (!(s->end_ms > req->from_ms && s->start_ms < req->to_ms))
            continue;
        tlo_custody_segment *r = &out->seg[out->n++];
        char *path = tlo_custody_object_path(v, s->object);
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        struct stat st;
        uint8_t digest[32];
        uint64_t size = 0;
        int hr = 0;
        r->key = sodium_malloc(TLO_OBJECT_KEY_BYTES);
        if (fd < 0 || fstat(fd, &st) != 0 || !r->key)
            rc = tlo_fail(err, TLO_EIO, "cannot open %s: %s", path ? path : s->object,
                          strerror(errno));
        else if ((hr = custody_hash_fd(fd, digest, &size)) != 0)
            rc = tlo_fail(err, TLO_EIO, "cannot read %s: %s", path, strerror(-hr));
        else if (sodium_memcmp(digest, s->ct, 32) != 0)
            /* A segment resealed with the case key would open: only its
             * logged digest says it is the one recorded. */
            rc = tlo_fail(err, TLO_EFORMAT,
                          "segment %llu (%s) is not the file its entry %llu logged (its SHA-256 "
                          "differs): it was altered or replaced, and no key was released; "
                          "'tellonce verify' shows the damage",
                          (unsigned long long)s->index, path, (unsigned long long)s->seq);
        else
            rc = tlo_vault_object_key(tlo_vault_fd_source, &fd, (uint64_t)st.st_size, case_key,
                                      r->key, path, err);
        if (fd >= 0)
            close(fd);
        free(path);
        r->index = s->index;
        r->start_ms = s->start_ms;
        r->end_ms = s->end_ms;
        r->bytes = s->bytes;
        r->seq = s->seq;
        memcpy(r->object, s->object, sizeof r->object);
        memcpy(r->plaintext_sha256, s->pt, 32);
        memcpy(r->ciphertext_sha256, s->ct, 32);
    }
    tlo_vault_key_free(case_key);
    return rc;
}

/* The first and last index of the segments that overlap the range. */
static void segment_span(const session_scan *ss, const tlo_custody_request *req, char *out,
                         size_t cap)
{
    uint64_t first = 0, last = 0;
    bool any = false;
    for (size_t i = 0; i < ss->n; i++)
        if (ss->s[i].end_ms > req->from_ms && ss->s[i].start_ms < req->to_ms) {
            if (!any)
                first = ss->s[i].index;
            last = ss->s[i].index;
            any = true;
        }
    snprintf(out, cap, "segments=%llu-%llu\n", (unsigned long long)first, (unsigned long long)last);
}

/* Logs a refusal (the reason in d) and returns TLO_EDENIED, or the append's
 * code when even that cannot be logged. */
static int log_refusal(tlo_custody *v, const tlo_vault_identity *cust,
                       const tlo_custody_request *req, const decision *d, tlo_custody_released *out,
                       tlo_error *err)
{
    char body[3000], middle[940];
    uint64_t seq = 0;
    snprintf(middle, sizeof middle, "reason=%s\n", d->reason);
    access_body(body, sizeof body, req, d, "", middle, "");
    int rc = custody_append(v, cust, TLO_ENTRY_ACCESS_DENIED, req->case_id, body, &seq, err);
    if (rc == 0 && (rc = custody_seal(v, err)) == 0) {
        out->denied_seq = seq;
        return tlo_fail(err, TLO_EDENIED, "refused: %s. The refusal is logged as entry %llu.",
                        d->reason, (unsigned long long)seq);
    }
    /* The append's code (a full disk is the system's problem), the refusal
     * in the message. */
    char why[TLO_ERROR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err ? err->msg : "");
    return tlo_fail(err, rc, "refused: %s (and the refusal could not be logged: %s)", d->reason,
                    why);
}

/* Verifies the ledger up to its tip (from the saved state), reads the case
 * below limit and decides. *st is replaced by the newer state. */
static int decide_verified(tlo_custody *v, const tlo_vault_identity *cust,
                           const tlo_custody_request *req, uint64_t limit, tlo_chain_state **st,
                           session_scan *ss, decision *d, tlo_error *err)
{
    tlo_chain_state *now = NULL;
    int rc = custody_verified(v, cust, &now, err);
    if (rc)
        return rc;
    *st = now; /* v's: not freed here */
    if ((rc = read_case(v, now, limit, ss, err)) != 0)
        return rc;
    decide(v, now, req, ss, d);
    return 0;
}

int tlo_custody_release(tlo_custody *v, const tlo_custody_request *req, tlo_custody_released *out,
                        tlo_error *err)
{
    session_scan ss = {.case_id = req->case_id, .session = req->session};
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    decision d;
    char body[3000], middle[440], tail[64];
    uint64_t seq = 0;
    int rc;
    memset(out, 0, sizeof *out);
    memset(&d, 0, sizeof d);
    /* A request from a library caller may hold anything: terminated strings
     * first, before any of them is read. */
    if (!memchr(req->session, '\0', sizeof req->session) ||
        !memchr(req->purpose, '\0', sizeof req->purpose) || !is_hex(req->session, 32))
        return tlo_fail(err, TLO_EARG, "a session id is 32 hex digits");
    if ((rc = custody_custodian(v, &cust, err)) != 0)
        return rc;
    /* Decide on the verified ledger only (docs/ledger.md, "What the
     * custodian decides on"). */
    if ((rc = decide_verified(v, cust, req, UINT64_MAX, &st, &ss, &d, err)) != 0)
        goto out;
    if (d.reason[0]) {
        rc = log_refusal(v, cust, req, &d, out, err);
        goto out;
    }
    uint64_t decided_on = tlo_chain_state_size(st), grant = d.use ? d.use->seq : 0;
    char joined[sizeof d.joined];
    snprintf(joined, sizeof joined, "%s", d.joined);
    if (d.use && joined[0])
        /* Touching grants joined: grant= the one holding from_ms (as
         * before), grants= every one the range needs, in order. */
        snprintf(middle, sizeof middle, "grant=%llu\ngrants=%s\n", (unsigned long long)grant,
                 joined);
    else if (d.use)
        snprintf(middle, sizeof middle, "grant=%llu\n", (unsigned long long)grant);
    else
        snprintf(middle, sizeof middle, "grant=own-recording\n");
    segment_span(&ss, req, tail, sizeof tail);
    access_body(body, sizeof body, req, &d, middle, "", tail);
    if ((rc = custody_append(v, cust, TLO_ENTRY_ACCESS_GRANTED, req->case_id, body, &seq, err))) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "no key was released: the access could not be logged first (%s)", why);
        goto out;
    }
    out->access_seq = seq;
    if (seq > decided_on) {
        /* Someone appended between the decision and its entry (a revocation,
         * say): the decision must hold on everything before the entry. */
        if ((rc = decide_verified(v, cust, req, seq, &st, &ss, &d, err)) != 0)
            goto out;
        if (!d.reason[0] && ((d.use ? d.use->seq : 0) != grant || strcmp(d.joined, joined) != 0))
            snprintf(d.reason, sizeof d.reason, "the grant it was decided on changed");
        if (d.reason[0]) {
            char why[sizeof d.reason];
            snprintf(why, sizeof why, "%s", d.reason);
            snprintf(d.reason, sizeof d.reason,
                     "%.300s (entries appended before the access entry %llu changed the "
                     "decision; no key was released)",
                     why, (unsigned long long)seq);
            rc = log_refusal(v, cust, req, &d, out, err);
            out->access_seq = 0;
            goto out;
        }
    }
    /* Covered by a checkpoint, and only then the case key, for the time it
     * takes to derive. */
    if ((rc = custody_seal(v, err)) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "no key was released: the access could not be logged first (%s)", why);
        goto out;
    }
    out->grant_seq = grant;
    out->from_ms = req->from_ms;
    out->to_ms = req->to_ms;
    out->session_end_ms = session_end(&ss);
    snprintf(out->purpose, sizeof out->purpose, "%s", d.purpose[0] ? d.purpose : "(none given)");
    rc = release_keys(v, &ss.cs, cust, &ss, req, out, err);
out:
    if (rc) {
        uint64_t denied = out->denied_seq;
        tlo_custody_released_free(out);
        out->denied_seq = denied;
    }
    tlo_vault_identity_free(cust);
    scan_reset(&ss);
    return rc;
}

void tlo_custody_released_free(tlo_custody_released *rel)
{
    if (!rel)
        return;
    for (size_t i = 0; rel->seg && i < rel->n; i++)
        if (rel->seg[i].key)
            sodium_free(rel->seg[i].key); /* sodium_free wipes */
    free(rel->seg);
    memset(rel, 0, sizeof *rel);
}
