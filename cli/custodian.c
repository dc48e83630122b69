/* The custodian's one door for keys (custodian.h). */
#include "custodian.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_action_name(cli_action a)
{
    return a == CLI_ACTION_EXPORT ? "export" : "view";
}

/* Now, for expiry. For tests, TELLONCE_TEST_NOW_MS may move it forward
 * (so a grant can be seen expired), never back: it can only refuse more. */
static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, later;
    const char *t = getenv("TELLONCE_TEST_NOW_MS");
    if (t && tlo_parse_u64(t, &later) == 0 && later > now)
        now = later;
    return now;
}

/* ---- grants ---- */

typedef struct grant_scan {
    const uint8_t *case_id;
    cli_grant *g;
    size_t n, cap;
} grant_scan;

static int visit_grant(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    grant_scan *gs = ctx;
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_GRANT && e->has_case &&
        (!gs->case_id || !memcmp(e->case_id, gs->case_id, TLO_ID_BYTES))) {
        cli_grant g = {.seq = e->seq, .revoked_at = -1};
        char to[80], actions[40];
        memcpy(g.case_id, e->case_id, TLO_ID_BYTES);
        if (tlo_entry_str(e, "to", to, sizeof to) != 0 || strlen(to) != 64 ||
            sodium_hex2bin(g.to, 32, to, 64, NULL, NULL, NULL) != 0 ||
            tlo_entry_str(e, "session", g.session, sizeof g.session) != 0 ||
            tlo_entry_u64(e, "from_ms", &g.from_ms) != 0 ||
            tlo_entry_u64(e, "until_ms", &g.until_ms) != 0 ||
            tlo_entry_u64(e, "expires_ms", &g.expires_ms) != 0 ||
            tlo_entry_str(e, "actions", actions, sizeof actions) != 0)
            return 0; /* not a grant this tellonce understands: never honoured */
        tlo_entry_str(e, "to_name", g.to_name, sizeof g.to_name);
        tlo_entry_str(e, "purpose", g.purpose, sizeof g.purpose);
        g.view = strstr(actions, "view") != NULL;
        g.exp = strstr(actions, "export") != NULL;
        if (gs->n == gs->cap) {
            size_t cap = gs->cap ? 2 * gs->cap : 8;
            cli_grant *p = realloc(gs->g, cap * sizeof *p);
            if (!p)
                return -1;
            gs->g = p;
            gs->cap = cap;
        }
        gs->g[gs->n++] = g;
    } else if (e->kind == TLO_ENTRY_GRANT_REVOKE) {
        uint64_t which;
        if (tlo_entry_u64(e, "grant", &which) != 0)
            return 0;
        for (size_t i = 0; i < gs->n; i++)
            if (gs->g[i].seq == which && gs->g[i].revoked_at < 0)
                gs->g[i].revoked_at = (int64_t)e->seq;
    }
    return 0;
}

int cli_grants_load(tlo_chain *ch, const uint8_t *case_id, cli_grant **out, size_t *n)
{
    grant_scan gs = {.case_id = case_id};
    tlo_error err = {0};
    *out = NULL;
    *n = 0;
    if (tlo_chain_walk(ch, 0, visit_grant, &gs, &err) < 0) {
        free(gs.g);
        return cli_fail(&err);
    }
    *out = gs.g;
    *n = gs.n;
    return 0;
}

/* ---- the session asked for ---- */

typedef struct seg_info {
    uint64_t index, start_ms, end_ms, bytes, seq;
    char object[33];
    uint8_t pt[32], ct[32];
} seg_info;

typedef struct session_scan {
    const uint8_t *case_id;
    const char *session;
    bool found, ended;
    uint8_t recorder[32]; /* actor of the session-start entry */
    seg_info *s;
    size_t n, cap;
} session_scan;

static int visit_session(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32],
                         tlo_error *err)
{
    session_scan *ss = ctx;
    char id[40], hex[80];
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, ss->case_id, TLO_ID_BYTES) != 0 ||
        tlo_entry_str(e, "session", id, sizeof id) != 0 || strcmp(id, ss->session) != 0)
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        ss->found = true;
        memcpy(ss->recorder, e->actor, 32);
    } else if (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        ss->ended = true;
    } else if (e->kind == TLO_ENTRY_SEGMENT) {
        seg_info si = {.seq = e->seq};
        if (tlo_entry_u64(e, "index", &si.index) != 0 ||
            tlo_entry_u64(e, "start_ms", &si.start_ms) != 0 ||
            tlo_entry_u64(e, "end_ms", &si.end_ms) != 0 ||
            tlo_entry_u64(e, "bytes", &si.bytes) != 0 ||
            tlo_entry_str(e, "object", si.object, sizeof si.object) != 0 || strlen(si.object) != 32)
            return 0;
        if (tlo_entry_str(e, "plaintext_sha256", hex, sizeof hex) != 0 ||
            sodium_hex2bin(si.pt, 32, hex, strlen(hex), NULL, NULL, NULL) != 0 ||
            tlo_entry_str(e, "ciphertext_sha256", hex, sizeof hex) != 0 ||
            sodium_hex2bin(si.ct, 32, hex, strlen(hex), NULL, NULL, NULL) != 0)
            return 0;
        if (ss->n == ss->cap) {
            size_t cap = ss->cap ? 2 * ss->cap : 16;
            seg_info *p = realloc(ss->s, cap * sizeof *p);
            if (!p)
                return -1;
            ss->s = p;
            ss->cap = cap;
        }
        ss->s[ss->n++] = si;
    }
    return 0;
}

/* ---- the door ---- */

/* The request as the actor signs it: canonical text. */
static void request_text(char *out, size_t cap, const cli_request *req, const char *case_hex,
                         uint64_t to_ms, const char *purpose, uint64_t time_ms)
{
    snprintf(out, cap,
             "tellonce/v1 request\naction=%s\ncase=%s\nfrom_ms=%llu\npurpose=%s\nsession=%s\n"
             "time_ms=%llu\nto_ms=%llu\n",
             cli_action_name(req->action), case_hex, (unsigned long long)req->from_ms, purpose,
             req->session, (unsigned long long)time_ms, (unsigned long long)to_ms);
}

/* Appends the custodian-signed entry: 0, or an exit code (printed). */
static int append_as_custodian(tlo_chain *ch, const tlo_vault_identity *cust, uint16_t kind,
                               const uint8_t case_id[TLO_ID_BYTES], const char *body, uint64_t *seq)
{
    tlo_chain_draft d = {
        .kind = kind, .has_case = true, .body = (const uint8_t *)body, .body_len = strlen(body)};
    memcpy(d.case_id, case_id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = cust->sign_sk};
    memcpy(s.pk, cust->sign_pk, 32);
    tlo_error err = {0};
    if (tlo_chain_append(ch, &d, 1, &s, seq, &err) != 0)
        return cli_fail(&err);
    return 0;
}

int cli_custodian_release(const char *vault, tlo_chain *ch, const cli_people *pp,
                          const tlo_vault_identity *actor, const cli_request *req, cli_release *out)
{
    memset(out, 0, sizeof *out);
    uint8_t actor_id[32];
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    const cli_person *who = cli_people_by_actor(pp, actor_id);
    char case_hex[33], pk_hex[65], purpose[512], body[2600], reason[400] = "", sig_hex[129];
    tlo_hex(case_hex, req->cs->id, TLO_ID_BYTES);
    tlo_hex(pk_hex, actor->sign_pk, 32);
    tlo_clean_text(purpose, sizeof purpose, req->purpose ? req->purpose : "");

    session_scan ss = {.case_id = req->cs->id, .session = req->session};
    cli_grant *grants = NULL;
    size_t ngrants = 0;
    tlo_error err = {0};
    int rc = 0;
    if (tlo_chain_walk(ch, 0, visit_session, &ss, &err) < 0)
        return cli_fail(&err);
    if ((rc = cli_grants_load(ch, req->cs->id, &grants, &ngrants)) != 0) {
        free(ss.s);
        return rc;
    }
    uint64_t session_end = ss.n ? ss.s[ss.n - 1].end_ms : 0;
    uint64_t to_ms = req->to_ms == UINT64_MAX ? session_end : req->to_ms;
    uint64_t t = now_ms();
    const cli_grant *use = NULL;

    /* 1. The actor's signature over the request (made here, with the key
     * the actor unlocked; checked against the key the ledger enrols). */
    char text[1400];
    uint8_t sig[crypto_sign_BYTES];
    request_text(text, sizeof text, req, case_hex, to_ms, purpose, t);
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, strlen(text), actor->sign_sk);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);

    /* 2. The checks, the most specific reason first. */
    if (!who || who->revoked_at >= 0 || memcmp(who->pk, actor->sign_pk, 32) != 0 ||
        crypto_sign_verify_detached(sig, (const uint8_t *)text, strlen(text), who->pk) != 0)
        snprintf(reason, sizeof reason, "the request is not signed by an enrolled, active person");
    else if (!(who->roles & ~(unsigned)TLO_ROLE_AUDITOR))
        snprintf(reason, sizeof reason, "auditors verify the log and never receive keys");
    else if (!ss.found)
        snprintf(reason, sizeof reason, "case %s has no session %s", req->cs->number, req->session);
    else if (!ss.ended)
        snprintf(reason, sizeof reason,
                 "session %s is still open (recording, or interrupted: 'tellonce recover')",
                 req->session);
    else if (to_ms <= req->from_ms || to_ms > session_end)
        snprintf(reason, sizeof reason,
                 "the range %llu-%llu ms is not within the session (0-%llu ms)",
                 (unsigned long long)req->from_ms, (unsigned long long)to_ms,
                 (unsigned long long)session_end);
    if (!reason[0]) {
        bool own = !memcmp(ss.recorder, actor_id, 32) && (who->roles & TLO_ROLE_INTERVIEWER);
        if (own && req->action == CLI_ACTION_VIEW) {
            use = NULL; /* the interviewer's own recording */
        } else {
            /* The best grant to report on: this person, this session. */
            const char *why = "there is no grant of this session to this person";
            bool same_session = false;
            for (size_t i = 0; i < ngrants; i++) {
                const cli_grant *g = &grants[i];
                if (memcmp(g->to, actor->sign_pk, 32) != 0)
                    continue;
                if (strcmp(g->session, req->session) != 0) {
                    /* Less specific than anything said of a grant of this session. */
                    if (!same_session)
                        why = "the grants to this person cover other sessions of the case";
                    continue;
                }
                same_session = true;
                if (g->revoked_at >= 0) {
                    why = "the grant was revoked";
                    continue;
                }
                if (g->expires_ms <= t) {
                    why = "the grant has expired";
                    continue;
                }
                if (!(req->action == CLI_ACTION_VIEW ? g->view : g->exp)) {
                    why = req->action == CLI_ACTION_VIEW ? "the grant does not allow viewing"
                                                         : "the grant does not allow export";
                    continue;
                }
                if (req->from_ms < g->from_ms || to_ms > g->until_ms) {
                    why = "the range asked for goes beyond the granted range";
                    continue;
                }
                use = g;
                break;
            }
            if (!use)
                snprintf(reason, sizeof reason, "%s", why);
        }
        if (!reason[0] && use && !purpose[0])
            snprintf(purpose, sizeof purpose, "%s", use->purpose);
    }
    if (!purpose[0])
        snprintf(purpose, sizeof purpose, "%s", "(none given)");

    /* 3. The entry, durably, before anything else. */
    tlo_vault_identity *cust = cli_unlock_custodian(vault);
    if (!cust) {
        rc = EXIT_SYSTEM;
        goto done;
    }
    uint64_t seq = 0;
    if (reason[0]) {
        snprintf(body, sizeof body,
                 "action=%s\nactor=%s\nfrom_ms=%llu\npurpose=%s\nreason=%s\nrequest_sig=%s\n"
                 "request_time_ms=%llu\nsession=%s\nto_ms=%llu\n",
                 cli_action_name(req->action), pk_hex, (unsigned long long)req->from_ms, purpose,
                 reason, sig_hex, (unsigned long long)t, req->session, (unsigned long long)to_ms);
        rc = append_as_custodian(ch, cust, TLO_ENTRY_ACCESS_DENIED, req->cs->id, body, &seq);
        if (rc == 0)
            cli_error("refused: %s. The refusal is logged as entry %llu.", reason,
                      (unsigned long long)seq);
        else
            cli_error("refused: %s (and the refusal could not be logged)", reason);
        rc = rc ? rc : EXIT_BAD_DATA;
        goto done;
    }
    /* The segments that overlap [from, to): their keys and nothing else. */
    size_t first = ss.n, last = 0;
    for (size_t i = 0; i < ss.n; i++)
        if (ss.s[i].end_ms > req->from_ms && ss.s[i].start_ms < to_ms) {
            if (first == ss.n)
                first = i;
            last = i;
        }
    char grant_text[32];
    snprintf(grant_text, sizeof grant_text, "%llu", use ? (unsigned long long)use->seq : 0ull);
    snprintf(body, sizeof body,
             "action=%s\nactor=%s\nfrom_ms=%llu\ngrant=%s\npurpose=%s\nrequest_sig=%s\n"
             "request_time_ms=%llu\nsegments=%llu-%llu\nsession=%s\nto_ms=%llu\n",
             cli_action_name(req->action), pk_hex, (unsigned long long)req->from_ms,
             use ? grant_text : "own-recording", purpose, sig_hex, (unsigned long long)t,
             (unsigned long long)(first < ss.n ? ss.s[first].index : 0),
             (unsigned long long)(first < ss.n ? ss.s[last].index : 0), req->session,
             (unsigned long long)to_ms);
    if ((rc = append_as_custodian(ch, cust, TLO_ENTRY_ACCESS_GRANTED, req->cs->id, body, &seq)) !=
        0) {
        cli_error("no key was released: the access could not be logged first");
        goto done;
    }

    /* 4. Only now the case key, for the time it takes to derive. */
    uint8_t *case_key = cli_case_key(vault, req->cs, cust);
    if (!case_key) {
        rc = EXIT_BAD_DATA;
        goto done;
    }
    out->access_seq = seq;
    out->grant_seq = use ? use->seq : 0;
    out->from_ms = req->from_ms;
    out->to_ms = to_ms;
    out->session_end_ms = session_end;
    out->seg = calloc(first < ss.n ? last - first + 1 : 1, sizeof *out->seg);
    for (size_t i = first; rc == 0 && out->seg && i <= last && i < ss.n; i++) {
        cli_released_segment *r = &out->seg[out->n];
        char name[64];
        snprintf(name, sizeof name, "objects/%s.tlo", ss.s[i].object);
        char *path = tlo_path_join(vault, name);
        int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
        struct stat st;
        r->key = sodium_malloc(TLO_OBJECT_KEY_BYTES);
        if (fd < 0 || fstat(fd, &st) != 0 || !r->key) {
            cli_error("cannot open %s: %s", path ? path : name, strerror(errno));
            rc = EXIT_SYSTEM;
        } else {
            if (tlo_vault_object_key(tlo_vault_fd_source, &fd, (uint64_t)st.st_size, case_key,
                                     r->key, path, &err) != 0)
                rc = cli_fail(&err);
        }
        if (fd >= 0)
            close(fd);
        free(path);
        r->index = ss.s[i].index;
        r->start_ms = ss.s[i].start_ms;
        r->end_ms = ss.s[i].end_ms;
        r->bytes = ss.s[i].bytes;
        r->seq = ss.s[i].seq;
        memcpy(r->object, ss.s[i].object, sizeof r->object);
        memcpy(r->plaintext_sha256, ss.s[i].pt, 32);
        memcpy(r->ciphertext_sha256, ss.s[i].ct, 32);
        out->n++;
    }
    tlo_vault_key_free(case_key);
    if (!out->seg)
        rc = EXIT_SYSTEM;
    if (rc != 0)
        cli_release_free(out);
done:
    tlo_vault_identity_free(cust);
    free(grants);
    free(ss.s);
    return rc;
}

void cli_release_free(cli_release *rel)
{
    if (!rel)
        return;
    for (size_t i = 0; rel->seg && i < rel->n; i++)
        if (rel->seg[i].key)
            sodium_free(rel->seg[i].key); /* sodium_free wipes */
    free(rel->seg);
    memset(rel, 0, sizeof *rel);
}
