/* The sessions of a case, as people find them: numbered 1, 2, ... in the
 * order they started (session list), and found by that number or by a
 * unique prefix of their id (every option that names a session). */
#include "internal.h"
#include "rules.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

typedef struct list_scan {
    const uint8_t *case_id; /* NULL: every case (session-start entries only) */
    uint64_t verified;      /* rows at or above it are not read (UINT64_MAX: all) */
    uint64_t count;         /* the case's rows below `verified`, and their chain */
    uint8_t chain[32];
    tlo_custody_session_row *row;
    size_t n, cap;
} list_scan;

static tlo_custody_session_row *row_of(list_scan *ls, const tlo_entry *e, const char *id)
{
    for (size_t i = ls->n; i-- > 0;)
        if (!strcmp(ls->row[i].id, id) && !memcmp(ls->row[i].case_id, e->case_id, TLO_ID_BYTES))
            return &ls->row[i];
    return NULL;
}

static bool is_id(const char *s)
{
    return strlen(s) == 32 && strspn(s, "0123456789abcdef") == 32;
}

static unsigned number_in_case(const list_scan *ls, const uint8_t *case_id)
{
    unsigned no = 1;
    for (size_t i = 0; i < ls->n; i++)
        if (!memcmp(ls->row[i].case_id, case_id, TLO_ID_BYTES))
            no++;
    return no;
}

static int on_start(list_scan *ls, const tlo_entry *e, const char *id, tlo_error *err)
{
    if (row_of(ls, e, id))
        return 0; /* started twice: the ledger's rules refuse it; the first counts */
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? 2 * ls->cap : 8;
        tlo_custody_session_row *p = realloc(ls->row, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the sessions");
        ls->row = p;
        ls->cap = cap;
    }
    tlo_custody_session_row *r = &ls->row[ls->n];
    memset(r, 0, sizeof *r);
    r->no = number_in_case(ls, e->case_id);
    memcpy(r->case_id, e->case_id, TLO_ID_BYTES);
    snprintf(r->id, sizeof r->id, "%s", id);
    r->start_seq = e->seq;
    r->started_at = e->time_ms;
    if (tlo_entry_str(e, "room", r->room, sizeof r->room) != 0)
        snprintf(r->room, sizeof r->room, "?");
    snprintf(r->status, sizeof r->status, "open");
    ls->n++;
    return 0;
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    list_scan *ls = ctx;
    char id[40], status[16];
    uint64_t end;
    if (!e->has_case || (ls->case_id && memcmp(e->case_id, ls->case_id, TLO_ID_BYTES) != 0))
        return 0;
    if (e->seq >= ls->verified)
        return 1; /* appended since the custodian verified: not read */
    ls->count++;
    tlo_chain_case_step(ls->chain, leaf);
    if (tlo_entry_str(e, "session", id, sizeof id) != 0 || !is_id(id))
        return 0;
    if (e->kind == TLO_ENTRY_SESSION_START)
        return on_start(ls, e, id, err);
    tlo_custody_session_row *r = row_of(ls, e, id);
    if (!r)
        return 0;
    if (e->kind == TLO_ENTRY_SEGMENT) {
        r->segments++;
        if (tlo_entry_u64(e, "end_ms", &end) == 0 && end > r->length_ms)
            r->length_ms = end;
    } else if (e->kind == TLO_ENTRY_SESSION_END) {
        bool failed =
            tlo_entry_str(e, "status", status, sizeof status) == 0 && !strcmp(status, "failed");
        snprintf(r->status, sizeof r->status, "%s", failed ? "failed" : "ended");
    } else if (e->kind == TLO_ENTRY_SESSION_RECOVERED) {
        snprintf(r->status, sizeof r->status, "recovered");
    }
    return 0;
}

/* An open session is recording while the case's lease is held (record holds
 * it for the whole session), else interrupted (tellonce recover closes it). */
static void live_status(tlo_custody *v, list_scan *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        tlo_custody_session_row *r = &ls->row[i];
        if (strcmp(r->status, "open") != 0)
            continue;
        char hex[2 * TLO_ID_BYTES + 1], name[80];
        bool held = false;
        tlo_hex(hex, r->case_id, TLO_ID_BYTES);
        snprintf(name, sizeof name, "case-%s", hex);
        if (custody_lease_probe(v, name, &held, NULL, 0, NULL) != 0)
            held = false;
        snprintf(r->status, sizeof r->status, "%s", held ? "recording" : "interrupted");
    }
}

int tlo_custody_session_list(tlo_custody *v, const tlo_vault_identity *actor,
                             const uint8_t case_id[static TLO_ID_BYTES],
                             tlo_custody_session_row **out, size_t *n, tlo_error *err)
{
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    tlo_custody_case cs;
    uint64_t count;
    uint8_t chain[32];
    char hex[2 * TLO_ID_BYTES + 1];
    *out = NULL;
    *n = 0;
    tlo_hex(hex, case_id, TLO_ID_BYTES);
    int rc = custody_case_by_id(v, case_id, &cs, err);
    if (rc == 0)
        rc = custody_check_act(v, actor, TLO_ACT_SESSION_LIST, 0, case_id, NULL, err);
    if (rc == 0)
        rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_verified(v, cust, &st, err);
    tlo_vault_identity_free(cust);
    if (rc)
        return custody_seal_end(v, rc, err);
    /* Only the rows the custodian verified, and all of them: their number
     * and hash chain as the verified state holds them. */
    list_scan ls = {.case_id = case_id, .verified = tlo_chain_state_size(st)};
    if ((rc = custody_walk_case(v, case_id, visit, &ls, err)) < 0) {
        free(ls.row);
        return rc;
    }
    if (!tlo_chain_state_case(st, case_id, &count, chain) || count != ls.count ||
        sodium_memcmp(chain, ls.chain, 32) != 0) {
        free(ls.row);
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger's entries of case %s are not the ones the custodian verified "
                        "(%llu read): one was removed, changed or hidden from the index. "
                        "'tellonce verify' names the damage",
                        hex, (unsigned long long)ls.count);
    }
    live_status(v, &ls);
    *out = ls.row;
    *n = ls.n;
    return 0;
}

/* ---- naming a session ---- */

static bool all_digits(const char *s, size_t max)
{
    size_t k = strspn(s, "0123456789");
    return k > 0 && k <= max && s[k] == '\0';
}

int tlo_custody_session_find(tlo_custody *v, const tlo_custody_case *cs, const char *text,
                             tlo_custody_session_row *out, tlo_error *err)
{
    char want[33];
    const uint8_t *case_id = cs ? cs->id : NULL;
    const char *hex = cs ? cs->number : "";
    size_t len = strlen(text);
    memset(out, 0, sizeof *out);
    bool number = all_digits(text, TLO_CUSTODY_SESSION_NUMBER_DIGITS);
    if (!number && (len < 4 || len > 32 || strspn(text, "0123456789abcdefABCDEF") != len))
        return tlo_fail(
            err, TLO_EARG,
            "'%s' names no session: give its number in the case (1, 2, ... as "
            "'tellonce session list CASE' shows them) or at least 4 hex digits of its id",
            text);
    if (number && !case_id)
        return tlo_fail(err, TLO_EARG,
                        "session %s: a session's number is its place in its case; name the case "
                        "too, or give at least 4 hex digits of the session's id",
                        text);
    for (size_t i = 0; i <= len && i < sizeof want; i++)
        want[i] = (char)tolower((unsigned char)text[i]);
    /* Rows not verified: this only names the session; whoever decides on it
     * (the custodian) reads the verified ledger again. */
    list_scan ls = {.case_id = case_id, .verified = UINT64_MAX};
    int rc = case_id ? custody_walk_case(v, case_id, visit, &ls, err)
                     : tlo_chain_walk_kind(v->ch, TLO_ENTRY_SESSION_START, 0, visit, &ls, err);
    if (rc < 0) {
        free(ls.row);
        return rc;
    }
    size_t found = 0, first = 0;
    char which[400] = "";
    for (size_t i = 0; i < ls.n; i++) {
        bool match = number ? strtoul(want, NULL, 10) == ls.row[i].no
                            : strncmp(ls.row[i].id, want, len) == 0;
        if (!match)
            continue;
        if (found++ == 0)
            first = i;
        size_t k = strlen(which);
        if (case_id)
            snprintf(which + k, sizeof which - k, "%s%u", k ? ", " : "", ls.row[i].no);
        else {
            char ch[2 * TLO_ID_BYTES + 1];
            tlo_hex(ch, ls.row[i].case_id, TLO_ID_BYTES);
            snprintf(which + k, sizeof which - k, "%s%u of case %s", k ? "; " : "", ls.row[i].no,
                     ch);
        }
    }
    if (found == 1)
        *out = ls.row[first];
    free(ls.row);
    if (found == 1)
        return 0;
    if (found > 1)
        return case_id ? tlo_fail(err, TLO_EARG,
                                  "the prefix %s matches more than one session of case %s (numbers "
                                  "%s): give more digits, or the session's number",
                                  want, hex, which)
                       : tlo_fail(err, TLO_EARG,
                                  "the prefix %s matches more than one session (sessions %s): "
                                  "give more digits",
                                  want, which);
    if (number)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "case %s has no session %s; 'tellonce session list CASE' shows its "
                        "sessions",
                        hex, want);
    return case_id ? tlo_fail(err, TLO_ENOTFOUND,
                              "case %s has no session whose id starts with %s; 'tellonce session "
                              "list CASE' shows its sessions",
                              hex, want)
                   : tlo_fail(err, TLO_ENOTFOUND,
                              "no session of this vault has an id starting with %s; 'tellonce "
                              "session list CASE' shows a case's sessions",
                              want);
}
