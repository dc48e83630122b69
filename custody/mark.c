/* Markers added after a recording: a signed marker entry at a time of the
 * session clock, within the session (body: at_ms, session, text). */
#include "record_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct finder {
    const uint8_t *case_id;
    const char *want; /* a session id, or NULL for the newest */
    tlo_custody_mark_target t;
    bool found;
} finder;

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    finder *f = ctx;
    char id[40] = "", v[40];
    size_t n;
    (void)leaf;
    (void)err;
    if (!e->has_case || memcmp(e->case_id, f->case_id, TLO_ID_BYTES) != 0)
        return 0;
    const uint8_t *s = tlo_entry_body_get(e->body, e->body_len, "session", &n);
    if (!s || n != 32)
        return 0;
    memcpy(id, s, 32);
    id[32] = '\0';
    if (e->kind == TLO_ENTRY_SESSION_START && (!f->want || !strcmp(f->want, id))) {
        snprintf(f->t.session, sizeof f->t.session, "%s", id);
        f->found = true;
        f->t.ended = false;
    } else if (e->kind == TLO_ENTRY_SESSION_END && f->found && !strcmp(id, f->t.session)) {
        /* The recorded length on the session clock; without it, the
         * wall-clock time the recording took. */
        const uint8_t *el = tlo_entry_body_get(e->body, e->body_len, "media_ms", &n);
        if (!el)
            el = tlo_entry_body_get(e->body, e->body_len, "elapsed_ms", &n);
        f->t.ended = true;
        if (el && n < sizeof v) {
            memcpy(v, el, n);
            v[n] = '\0';
            f->t.length_ms = strtoull(v, NULL, 10);
        }
    }
    return 0;
}

/* Finds the session and checks the time; the case into *cs. */
static int check(tlo_custody *v, const tlo_custody_mark_params *p, tlo_custody_case *cs,
                 tlo_custody_mark_target *out, tlo_error *err)
{
    char at[40];
    if (!tlo_text_ok(p->text, 500))
        return tlo_fail(err, TLO_EARG, "the marker text is one line of text, 1 to 500 bytes");
    int rc = tlo_custody_case_find(v, p->case_number, cs, err);
    if (rc)
        return rc;
    finder f = {.case_id = cs->id, .want = p->session};
    if (tlo_chain_walk_case(tlo_custody_chain(v), cs->id, 0, visit, &f, err) < 0)
        return err && err->code ? err->code : TLO_EIO;
    if (!f.found)
        return p->session ? tlo_fail(err, TLO_ENOTFOUND, "case %s has no session %s",
                                     p->case_number, p->session)
                          : tlo_fail(err, TLO_ENOTFOUND, "case %s has no recorded session",
                                     p->case_number);
    if (f.t.ended && p->at_ms > f.t.length_ms) {
        if (p->at_text)
            snprintf(at, sizeof at, "%s", p->at_text);
        else
            snprintf(at, sizeof at, "%llu ms", (unsigned long long)p->at_ms);
        return tlo_fail(err, TLO_EARG, "session %s lasted %llu.%03llu s; %s is after its end",
                        f.t.session, (unsigned long long)(f.t.length_ms / 1000),
                        (unsigned long long)(f.t.length_ms % 1000), at);
    }
    if (out)
        *out = f.t;
    return 0;
}

int tlo_custody_mark_check(tlo_custody *v, const tlo_custody_mark_params *p,
                           tlo_custody_mark_target *out, tlo_error *err)
{
    tlo_custody_case cs;
    memset(out, 0, sizeof *out);
    return check(v, p, &cs, out, err);
}

int tlo_custody_mark(tlo_custody *v, const tlo_vault_identity *actor,
                     const tlo_custody_mark_params *p, tlo_custody_mark_target *out, uint64_t *seq,
                     tlo_error *err)
{
    tlo_custody_case cs;
    tlo_custody_mark_target t;
    char body[700];
    *seq = 0;
    if (out)
        memset(out, 0, sizeof *out);
    int rc = check(v, p, &cs, &t, err);
    if (rc || (rc = custody_check_act(v, actor, TLO_ACT_MARK, 0, cs.id, NULL, err)) != 0)
        return rc;
    snprintf(body, sizeof body, "at_ms=%llu\nsession=%s\ntext=%s\n", (unsigned long long)p->at_ms,
             t.session, p->text);
    if ((rc = custody_append(v, actor, TLO_ENTRY_MARKER, cs.id, body, seq, err)) != 0 ||
        (rc = custody_seal(v, err)) != 0)
        return rc;
    if (out)
        *out = t;
    return 0;
}
