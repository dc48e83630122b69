/* Samples: biological samples and other physical evidence (custody.h,
 * "Samples"; docs/samples.md).
 *
 * One fold over a case's sample entries, in ledger order, builds each
 * sample's chain and names the first entry that breaks its rules:
 *
 *   53 sample-register  label, note (optional), sample_kind, seal_number
 *                       a label once per case; the signer holds it
 *   51 sample-transfer  label, place (optional), to (pk hex), to_name
 *                       by the holder, not while in transfer, not disposed
 *   54 sample-receive   label, seal_intact (yes|no), transfer (seq)
 *                       by the one the pending transfer names, of it
 *   55 sample-dispose   label, reason
 *                       by the holder, not in transfer; nothing after it
 *
 * The verbs and the readers fold only the rows the custodian verified (as
 * custody/custodian.c decides); verify folds the whole ledger once its
 * chain verified. */
#include "internal.h"
#include "tlo_time.h"
#include "rules.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const sample_kinds[] = {"swab", "blood", "urine", "hair", "clothing", "other"};

const char *tlo_custody_sample_state_name(tlo_custody_sample_state s)
{
    switch (s) {
    case TLO_SAMPLE_HELD:
        return "held";
    case TLO_SAMPLE_IN_TRANSFER:
        return "in transfer";
    case TLO_SAMPLE_DISPOSED:
        return "disposed";
    }
    return "?";
}

/* ---- the forms (docs/samples.md) ---- */

static bool chars_ok(const char *s, size_t max, const char *extra)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max)
            return false;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              strchr(extra, c)))
            return false;
    }
    return n > 0;
}

static bool label_ok(const char *s)
{
    return s && chars_ok(s, TLO_SAMPLE_LABEL_MAX, "._-");
}

static bool seal_ok(const char *s)
{
    return s && chars_ok(s, TLO_SAMPLE_SEAL_MAX, "._/-");
}

static bool kind_ok(const char *s)
{
    for (size_t i = 0; s && i < sizeof sample_kinds / sizeof sample_kinds[0]; i++)
        if (!strcmp(s, sample_kinds[i]))
            return true;
    return false;
}

/* One line of valid text of 1..max characters (code points). */
static bool line_ok(const char *s, size_t max)
{
    if (!s || !tlo_text_ok(s, 4 * max))
        return false;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        chars += (*p & 0xc0) != 0x80;
    return chars <= max;
}

static bool hex_ok(const char *s, size_t n)
{
    size_t i = 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == n;
}

/* ---- the fold ---- */

typedef struct fold {
    tlo_custody *v;
    const uint8_t *case_id; /* the reader's case; NULL: every case (verify) */
    tlo_custody_samples *out;
    /* the reader: rows below `verified` only, and their chain */
    bool reader;
    uint64_t verified, count;
    uint8_t chain[32];
    /* verify: the first problem */
    bool bad;
    uint64_t bad_seq;
    char problem[TLO_ERROR_MSG_MAX];
    size_t cap, notes_cap;
} fold;

static void person(tlo_custody *v, const uint8_t actor[static 32], tlo_custody_sample_person *p)
{
    const tlo_custody_person *who = tlo_custody_person_by_actor(v, actor);
    memcpy(p->actor, actor, 32);
    if (who) {
        snprintf(p->name, sizeof p->name, "%s", who->name);
        p->roles = who->roles;
    } else {
        char hex[65];
        tlo_hex(hex, actor, 32);
        snprintf(p->name, sizeof p->name, "key %.16s", hex);
        p->roles = 0;
    }
}

static int bad_entry(fold *f, const tlo_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_entry(fold *f, const tlo_entry *e, const char *fmt, ...)
{
    char what[TLO_ERROR_MSG_MAX - 100], case_hex[33];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (f->bad)
        return 1;
    tlo_hex(case_hex, e->case_id, TLO_ID_BYTES);
    f->bad = true;
    f->bad_seq = e->seq;
    snprintf(f->problem, sizeof f->problem, "entry %llu (%s, case %s) %s",
             (unsigned long long)e->seq, tlo_entry_kind_name(e->kind), case_hex, what);
    return 1;
}

static tlo_custody_sample *find(tlo_custody_samples *s, const uint8_t *case_id, const char *label)
{
    for (size_t i = 0; i < s->n; i++)
        if (!memcmp(s->list[i].case_id, case_id, TLO_ID_BYTES) && !strcmp(s->list[i].label, label))
            return &s->list[i];
    return NULL;
}

/* Takes st into s's chain. verify (not a reader) keeps only the state: no
 * limit. A reader keeps the registration and the latest
 * TLO_SAMPLE_STEPS_MAX - 1 others, in a ring over steps[1..] (put in order
 * by linearize), and every honoured entry's number. */
static int add_step(fold *f, tlo_custody_sample *s, const tlo_custody_sample_step *st,
                    tlo_error *err)
{
    s->nentries++;
    s->last_seq = st->seq;
    if (!f->reader)
        return 0;
    tlo_custody_samples *o = f->out;
    if (o->nhonoured == o->honoured_cap) {
        size_t cap = o->honoured_cap ? 2 * o->honoured_cap : 64;
        uint64_t *p = realloc(o->honoured, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading sample %s", s->label);
        o->honoured = p;
        o->honoured_cap = cap;
    }
    o->honoured[o->nhonoured++] = st->seq;
    if (s->nsteps == TLO_SAMPLE_STEPS_MAX) { /* full: over the oldest after the registration */
        s->steps[1 + s->hidden % (TLO_SAMPLE_STEPS_MAX - 1)] = *st;
        s->hidden++;
        return 0;
    }
    /* The capacity: 4, then doubled each time it is full, at most the limit. */
    if (s->nsteps == 0 || (s->nsteps >= 4 && (s->nsteps & (s->nsteps - 1)) == 0)) {
        size_t cap = s->nsteps ? 2 * s->nsteps : 4;
        if (cap > TLO_SAMPLE_STEPS_MAX)
            cap = TLO_SAMPLE_STEPS_MAX;
        tlo_custody_sample_step *p = realloc(s->steps, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading sample %s", s->label);
        s->steps = p;
    }
    s->steps[s->nsteps++] = *st;
    return 0;
}

/* A reader's samples, their kept steps in ledger order. */
static int linearize(tlo_custody_samples *o, tlo_error *err)
{
    for (size_t i = 0; i < o->n; i++) {
        tlo_custody_sample *s = &o->list[i];
        size_t ring = TLO_SAMPLE_STEPS_MAX - 1, k = (size_t)(s->hidden % ring);
        if (!s->hidden || !k)
            continue;
        tlo_custody_sample_step *tmp = malloc(k * sizeof *tmp);
        if (!tmp)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading sample %s", s->label);
        /* steps[1..k] are the newest, steps[k+1..] the oldest kept */
        memcpy(tmp, s->steps + 1, k * sizeof *tmp);
        memmove(s->steps + 1, s->steps + 1 + k, (ring - k) * sizeof *tmp);
        memcpy(s->steps + 1 + ring - k, tmp, k * sizeof *tmp);
        free(tmp);
    }
    return 0;
}

static int fold_register(fold *f, const tlo_entry *e, const char *label, tlo_error *err)
{
    char kind[16], seal[TLO_SAMPLE_SEAL_MAX + 2], note[40] = "";
    tlo_custody_samples *o = f->out;
    if (tlo_entry_str(e, "sample_kind", kind, sizeof kind) != 0 || !kind_ok(kind))
        return bad_entry(f, e, "has no sample_kind of swab, blood, urine, hair, clothing or other");
    if (tlo_entry_str(e, "seal_number", seal, sizeof seal) != 0 || !seal_ok(seal))
        return bad_entry(f, e, "has no valid seal_number (1 to 64 of A-Z a-z 0-9 . _ / -)");
    if (tlo_entry_body_get(e->body, e->body_len, "note", &(size_t){0}) &&
        (tlo_entry_str(e, "note", note, sizeof note) != 0 || !hex_ok(note, 32)))
        return bad_entry(f, e, "has a note field that is not a note id (32 hex digits)");
    const tlo_custody_sample *dup = find(o, e->case_id, label);
    if (dup)
        return bad_entry(f, e, "registers sample %s again: entry %llu registered it first", label,
                         (unsigned long long)dup->registered_seq);
    if (o->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 8;
        tlo_custody_sample *p = realloc(o->list, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the samples");
        o->list = p;
        f->cap = cap;
    }
    tlo_custody_sample *s = &o->list[o->n++];
    memset(s, 0, sizeof *s);
    memcpy(s->case_id, e->case_id, TLO_ID_BYTES);
    /* Each checked for length above. */
    memcpy(s->label, label, strlen(label) + 1);
    memcpy(s->kind, kind, strlen(kind) + 1);
    memcpy(s->seal_number, seal, strlen(seal) + 1);
    memcpy(s->note, note, strlen(note) + 1);
    s->state = TLO_SAMPLE_HELD;
    person(f->v, e->actor, &s->holder);
    s->since_ms = e->time_ms;
    s->registered_seq = e->seq;
    tlo_custody_sample_step st = {.seq = e->seq, .time_ms = e->time_ms, .kind = e->kind};
    st.by = s->holder;
    return add_step(f, s, &st, err);
}

/* The rules a sample's later entries break, the most telling first. */
static int fold_later(fold *f, const tlo_entry *e, const char *label, tlo_error *err)
{
    tlo_custody_sample *s = find(f->out, e->case_id, label);
    tlo_custody_sample_step st = {.seq = e->seq, .time_ms = e->time_ms, .kind = e->kind};
    if (!s)
        return bad_entry(f, e, "names sample %s, which the case never registered", label);
    person(f->v, e->actor, &st.by);
    if (s->state == TLO_SAMPLE_DISPOSED)
        return bad_entry(f, e, "follows the disposal of sample %s (entry %llu): nothing may", label,
                         (unsigned long long)s->last_seq);
    bool holder = !memcmp(e->actor, s->holder.actor, 32);
    if (e->kind == TLO_ENTRY_SAMPLE_TRANSFER || e->kind == TLO_ENTRY_SAMPLE_DISPOSE) {
        if (!holder)
            return bad_entry(f, e, "is signed by %s, who does not hold sample %s (%s does)",
                             st.by.name, label, s->holder.name);
        if (s->state == TLO_SAMPLE_IN_TRANSFER)
            return bad_entry(f, e, "comes while sample %s is in transfer to %s (entry %llu)", label,
                             s->pending.name, (unsigned long long)s->pending_seq);
    }
    if (e->kind == TLO_ENTRY_SAMPLE_TRANSFER) {
        char to_hex[80], name[TLO_NAME_MAX + 2];
        uint8_t pk[32], actor[32];
        if (tlo_entry_str(e, "to", to_hex, sizeof to_hex) != 0 || !hex_ok(to_hex, 64) ||
            tlo_unhex(pk, 32, to_hex) != 0)
            return bad_entry(f, e, "has a to field that is not a public key (64 hex digits)");
        if (tlo_entry_str(e, "to_name", name, sizeof name) != 0 || !tlo_text_ok(name, TLO_NAME_MAX))
            return bad_entry(f, e, "has no valid to_name");
        if (tlo_entry_body_get(e->body, e->body_len, "place", &(size_t){0}) &&
            (tlo_entry_str(e, "place", st.place, sizeof st.place) != 0 ||
             !line_ok(st.place, TLO_SAMPLE_PLACE_MAX)))
            return bad_entry(f, e, "has a place that is not one line of at most %d characters",
                             TLO_SAMPLE_PLACE_MAX);
        crypto_hash_sha256(actor, pk, 32);
        if (!memcmp(actor, s->holder.actor, 32))
            return bad_entry(f, e, "hands sample %s to its own holder", label);
        person(f->v, actor, &st.to);
        /* What 'sample transfer' requires of the receiver, at this entry. */
        const tlo_custody_person *to = tlo_custody_person_by_actor(f->v, actor);
        if (!to || to->enrolled_at >= e->seq)
            return bad_entry(f, e, "hands sample %s to a key no one enrolled before it", label);
        if (to->revoked_at >= 0 && (uint64_t)to->revoked_at < e->seq)
            return bad_entry(f, e, "hands sample %s to %s, revoked in entry %lld before it", label,
                             to->name, (long long)to->revoked_at);
        if (to->activate_by_ms && (to->activated_at < 0 || (uint64_t)to->activated_at >= e->seq))
            return bad_entry(f, e,
                             "hands sample %s to %s, whose enrolment was not activated before it",
                             label, to->name);
        if ((to->roles & TLO_ROLE_CUSTODIAN) ||
            !tlo_custody_may(TLO_ACT_SAMPLE_RECEIVE, to->roles, TLO_WHEN_RECEIVER))
            return bad_entry(f, e, "hands sample %s to %s, who may not receive a sample", label,
                             to->name);
        if (strcmp(name, to->name) != 0)
            return bad_entry(f, e, "names the receiver \"%s\" (to_name), but the key in to is %s's",
                             name, to->name);
        s->state = TLO_SAMPLE_IN_TRANSFER;
        s->pending = st.to;
        s->pending_seq = e->seq;
        s->since_ms = e->time_ms;
    } else if (e->kind == TLO_ENTRY_SAMPLE_RECEIVE) {
        char intact[8];
        uint64_t which;
        if (s->state != TLO_SAMPLE_IN_TRANSFER)
            return bad_entry(f, e, "receives sample %s, which is not in transfer (%s holds it)",
                             label, s->holder.name);
        if (tlo_entry_u64(e, "transfer", &which) != 0 || which != s->pending_seq)
            return bad_entry(f, e, "names a transfer other than the pending one (entry %llu)",
                             (unsigned long long)s->pending_seq);
        if (memcmp(e->actor, s->pending.actor, 32) != 0)
            return bad_entry(f, e, "is signed by %s, but sample %s was handed to %s (entry %llu)",
                             st.by.name, label, s->pending.name,
                             (unsigned long long)s->pending_seq);
        if (tlo_entry_str(e, "seal_intact", intact, sizeof intact) != 0 ||
            (strcmp(intact, "yes") && strcmp(intact, "no")))
            return bad_entry(f, e, "has a seal_intact other than yes or no");
        st.seal_intact = !strcmp(intact, "yes");
        st.transfer = which;
        s->seal_broken |= !st.seal_intact;
        s->holder = st.by;
        s->state = TLO_SAMPLE_HELD;
        memset(&s->pending, 0, sizeof s->pending);
        s->pending_seq = 0;
        s->since_ms = e->time_ms;
    } else {
        if (tlo_entry_str(e, "reason", st.reason, sizeof st.reason) != 0 ||
            !line_ok(st.reason, TLO_SAMPLE_REASON_MAX))
            return bad_entry(f, e, "has a reason that is not one line of at most %d characters",
                             TLO_SAMPLE_REASON_MAX);
        s->state = TLO_SAMPLE_DISPOSED;
        s->since_ms = e->time_ms;
    }
    return add_step(f, s, &st, err);
}

static int add_note(fold *f, const tlo_entry *e, tlo_error *err)
{
    char id[40];
    tlo_custody_samples *o = f->out;
    if (tlo_entry_str(e, "note", id, sizeof id) != 0 || !hex_ok(id, 32))
        return 0;
    for (size_t i = 0; i < o->nnotes; i++)
        if (!strcmp(o->notes[i], id))
            return 0;
    if (o->nnotes == f->notes_cap) {
        size_t cap = f->notes_cap ? 2 * f->notes_cap : 8;
        char(*p)[33] = realloc(o->notes, cap * sizeof *p);
        if (!p)
            return tlo_fail(err, TLO_ENOMEM, "out of memory reading the notes");
        o->notes = p;
        f->notes_cap = cap;
    }
    memcpy(o->notes[o->nnotes++], id, 33);
    return 0;
}

/* One entry: 0 taken (or not a sample entry), 1 broke the rules (f->bad
 * says which, the first), < 0 an error. */
static int fold_entry(fold *f, const tlo_entry *e, tlo_error *err)
{
    char label[TLO_SAMPLE_LABEL_MAX + 2];
    if (e->kind == TLO_ENTRY_NOTE)
        return f->reader ? add_note(f, e, err) : 0;
    if (e->kind != TLO_ENTRY_SAMPLE_REGISTER && e->kind != TLO_ENTRY_SAMPLE_TRANSFER &&
        e->kind != TLO_ENTRY_SAMPLE_RECEIVE && e->kind != TLO_ENTRY_SAMPLE_DISPOSE)
        return 0;
    if (!e->has_case)
        return bad_entry(f, e, "names no case");
    if (tlo_entry_str(e, "label", label, sizeof label) != 0 || !label_ok(label))
        return bad_entry(f, e, "has no valid label (1 to 32 of A-Z a-z 0-9 . _ -)");
    if (e->kind == TLO_ENTRY_SAMPLE_REGISTER)
        return fold_register(f, e, label, err);
    return fold_later(f, e, label, err);
}

static int visit_case(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    fold *f = ctx;
    if (!e->has_case || memcmp(e->case_id, f->case_id, TLO_ID_BYTES) != 0)
        return 0;
    if (e->seq >= f->verified)
        return 1; /* appended since the custodian verified: not read */
    f->count++;
    tlo_chain_case_step(f->chain, leaf);
    bool was_bad = f->bad;
    int rc = fold_entry(f, e, err);
    if (rc == 1 && !was_bad && !f->out->problem[0]) {
        f->out->problem_seq = f->bad_seq;
        snprintf(f->out->problem, sizeof f->out->problem, "%s", f->problem);
    }
    return rc < 0 ? rc : 0; /* a broken entry is not honoured; the walk goes on */
}

void tlo_custody_samples_free(tlo_custody_samples *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->list[i].steps);
    free(s->list);
    free(s->notes);
    free(s->honoured);
    memset(s, 0, sizeof *s);
}

const tlo_custody_sample *tlo_custody_sample_find(const tlo_custody_samples *s, const char *label)
{
    for (size_t i = 0; s && label && i < s->n; i++)
        if (!strcmp(s->list[i].label, label))
            return &s->list[i];
    return NULL;
}

/* The case's samples from the verified rows (as custodian.c read_case). */
static int read_verified(tlo_custody *v, const tlo_custody_case *cs, tlo_custody_samples *out,
                         tlo_error *err)
{
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    uint64_t count;
    uint8_t chain[32];
    memset(out, 0, sizeof *out);
    out->cs = *cs;
    int rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_verified(v, cust, &st, err);
    tlo_vault_identity_free(cust);
    if (rc)
        return rc;
    /* The people first: their names are looked up during the walk, which
     * cannot read the ledger again. */
    const tlo_custody_person *people;
    size_t npeople;
    if ((rc = tlo_custody_people(v, &people, &npeople, err)) != 0)
        goto fail;
    fold f = {.v = v, .case_id = cs->id, .out = out, .reader = true};
    f.verified = tlo_chain_state_size(st);
    if ((rc = custody_walk_case(v, cs->id, visit_case, &f, err)) < 0 ||
        (rc = linearize(out, err)) != 0)
        goto fail;
    if (!tlo_chain_state_case(st, cs->id, &count, chain)) {
        rc = tlo_fail(err, TLO_ENOTFOUND, "the verified ledger has no case %s", cs->number);
        goto fail;
    }
    if (count != f.count || sodium_memcmp(chain, f.chain, 32) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the ledger's entries of case %s are not the %llu the custodian verified "
                      "(%llu read): one was removed, changed or hidden from the index. Nothing "
                      "is read; 'tellonce verify' names the damage",
                      cs->number, (unsigned long long)count, (unsigned long long)f.count);
        goto fail;
    }
    return 0;
fail:
    tlo_custody_samples_free(out);
    return rc;
}

int tlo_custody_samples_read(tlo_custody *v, const char *case_number, tlo_custody_samples *out,
                             tlo_error *err)
{
    tlo_custody_case cs;
    memset(out, 0, sizeof *out);
    int rc = tlo_custody_case_find(v, case_number, &cs, err);
    return rc ? rc : read_verified(v, &cs, out, err);
}

int tlo_custody_samples_read_verified_ledger(tlo_custody *v,
                                             const uint8_t case_id[static TLO_ID_BYTES],
                                             tlo_custody_samples *out, tlo_error *err)
{
    const tlo_custody_person *people;
    size_t npeople;
    memset(out, 0, sizeof *out);
    int rc = custody_case_by_id(v, case_id, &out->cs, err);
    if (rc || (rc = tlo_custody_people(v, &people, &npeople, err)) != 0)
        return rc;
    fold f = {.v = v, .case_id = case_id, .out = out, .reader = true, .verified = UINT64_MAX};
    if ((rc = custody_walk_case(v, case_id, visit_case, &f, err)) < 0 ||
        (rc = linearize(out, err)) != 0) {
        tlo_custody_samples_free(out);
        return rc;
    }
    return 0;
}

/* ---- verify ---- */

static int visit_all(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    fold *f = ctx;
    (void)leaf;
    int rc = fold_entry(f, e, err);
    return rc < 0 ? rc : rc == 1 ? 1 : 0; /* the first problem ends the walk */
}

int tlo_custody_verify_samples(tlo_custody *v, tlo_custody_verify_report *out, tlo_error *err)
{
    static const uint16_t kinds[] = {TLO_ENTRY_SAMPLE_REGISTER, TLO_ENTRY_SAMPLE_TRANSFER,
                                     TLO_ENTRY_SAMPLE_RECEIVE, TLO_ENTRY_SAMPLE_DISPOSE};
    tlo_custody_samples all = {0};
    const tlo_custody_person *people;
    size_t npeople;
    fold f = {.v = v, .out = &all};
    int rc = tlo_custody_people(v, &people, &npeople, err);
    if (rc)
        return rc;
    rc = tlo_chain_walk_kinds(v->ch, kinds, sizeof kinds / sizeof kinds[0], 0, visit_all, &f, err);
    tlo_custody_samples_free(&all);
    if (rc < 0)
        return rc;
    if (f.bad) {
        out->chain.ok = false;
        out->chain.first_bad = (int64_t)f.bad_seq;
        char text[2 * TLO_ERROR_MSG_MAX];
        snprintf(text, sizeof text,
                 "%s. The sample's chain of custody is broken: this entry was not made by "
                 "'tellonce sample' (docs/samples.md)",
                 f.problem);
        /* Cut at a whole character. */
        tlo_clean_text(out->chain.problem, sizeof out->chain.problem, text);
    }
    return 0;
}

/* ---- the verbs ---- */

/* "2026-11-30 14:05:00 +08:00": local, with its offset. */
static void when(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text(ms, out, cap);
}

static int form(tlo_custody_act act, const tlo_custody_sample_params *p, tlo_error *err)
{
    if (!p->case_number || !*p->case_number)
        return tlo_fail(err, TLO_EARG, "name the case");
    if (!label_ok(p->label))
        return tlo_fail(err, TLO_EARG,
                        "a sample label is 1 to %d characters of A-Z a-z 0-9 . _ - (\"S-001\")",
                        TLO_SAMPLE_LABEL_MAX);
    switch (act) {
    case TLO_ACT_SAMPLE_REGISTER:
        if (!kind_ok(p->sample_kind))
            return tlo_fail(err, TLO_EARG,
                            "--kind is one of swab, blood, urine, hair, clothing, other");
        if (!seal_ok(p->seal_number))
            return tlo_fail(err, TLO_EARG,
                            "--seal-number is 1 to %d characters of A-Z a-z 0-9 . _ / - as "
                            "printed on the seal",
                            TLO_SAMPLE_SEAL_MAX);
        if (p->note && (!*p->note || strlen(p->note) > 32))
            return tlo_fail(err, TLO_EARG,
                            "--note takes a note's number in 'tellonce note list', its id or a "
                            "prefix of it (4 to 32 hex digits)");
        return 0;
    case TLO_ACT_SAMPLE_TRANSFER:
        if (!p->to || !tlo_text_ok(p->to, TLO_NAME_MAX))
            return tlo_fail(err, TLO_EARG, "--to names the person who takes the sample over");
        if (p->place && !line_ok(p->place, TLO_SAMPLE_PLACE_MAX))
            return tlo_fail(err, TLO_EARG,
                            "--place is one line of at most %d characters (where the hand-over "
                            "happens: never a child's name or address)",
                            TLO_SAMPLE_PLACE_MAX);
        return 0;
    case TLO_ACT_SAMPLE_RECEIVE:
        return 0;
    case TLO_ACT_SAMPLE_DISPOSE:
        if (!line_ok(p->reason, TLO_SAMPLE_REASON_MAX))
            return tlo_fail(err, TLO_EARG,
                            "--reason is one line of 1 to %d characters: why the sample is "
                            "disposed of (\"analysed, destroyed by the laboratory\")",
                            TLO_SAMPLE_REASON_MAX);
        return 0;
    default:
        return tlo_fail(err, TLO_EARG, "not a sample action");
    }
}

/* The note --note names among the case's notes: its id into id. */
static int resolve_note(const tlo_custody_samples *s, const char *want, char id[static 33],
                        tlo_error *err)
{
    uint64_t num;
    size_t n = strlen(want), hits = 0;
    id[0] = '\0';
    if (n < 4 && tlo_parse_u64(want, &num) == 0) {
        if (num >= 1 && num <= s->nnotes) {
            memcpy(id, s->notes[num - 1], 33);
            return 0;
        }
        return tlo_fail(err, TLO_ENOTFOUND,
                        "case %s has %zu notes: there is no note %s ('tellonce note list %s')",
                        s->cs.number, s->nnotes, want, s->cs.number);
    }
    char low[33];
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)(want[i] >= 'A' && want[i] <= 'F' ? want[i] - 'A' + 'a' : want[i]);
    if (n < 4 || !hex_ok(low, n) /* hex_ok wants exactly n digits */)
        return tlo_fail(err, TLO_EARG,
                        "--note takes a note's number in 'tellonce note list', its id or a prefix "
                        "of it (4 to 32 hex digits); '%s' is none",
                        want);
    for (size_t i = 0; i < s->nnotes; i++)
        if (!strncmp(s->notes[i], low, n) && hits++ == 0)
            memcpy(id, s->notes[i], 33);
    if (hits == 1)
        return 0;
    id[0] = '\0';
    return hits ? tlo_fail(err, TLO_EARG,
                           "--note %s is the start of %zu notes' ids: give more digits", want, hits)
                : tlo_fail(err, TLO_ENOTFOUND,
                           "case %s has no note %s: 'tellonce note list %s' shows its notes "
                           "(add the note first)",
                           s->cs.number, want, s->cs.number);
}

/* The state checks that hold whoever acts (before and after the passphrase). */
static int state_first(tlo_custody_act act, const tlo_custody_samples *s,
                       const tlo_custody_sample_params *p, const tlo_custody_sample **out,
                       tlo_error *err)
{
    char at[40];
    const tlo_custody_sample *x = tlo_custody_sample_find(s, p->label);
    *out = x;
    if (act == TLO_ACT_SAMPLE_REGISTER) {
        if (x)
            return tlo_fail(err, TLO_EARG,
                            "case %s already has a sample %s (registered in entry %llu): labels "
                            "are unique within a case, choose another",
                            s->cs.number, p->label, (unsigned long long)x->registered_seq);
        return 0;
    }
    if (!x)
        return tlo_fail(err, TLO_ENOTFOUND,
                        "case %s has no sample %s: 'tellonce sample list %s' shows its samples",
                        s->cs.number, p->label, s->cs.number);
    when(x->since_ms, at, sizeof at);
    if (x->state == TLO_SAMPLE_DISPOSED)
        return tlo_fail(err, TLO_EARG,
                        "%s was disposed of by %s at %s (entry %llu): nothing can follow a "
                        "disposal",
                        x->label, x->holder.name, at, (unsigned long long)x->last_seq);
    if (act == TLO_ACT_SAMPLE_RECEIVE && x->state != TLO_SAMPLE_IN_TRANSFER)
        return tlo_fail(err, TLO_EARG,
                        "%s is not in transfer: %s holds it since %s; they must run 'tellonce "
                        "sample transfer %s %s --to NAME' first",
                        x->label, x->holder.name, at, s->cs.number, x->label);
    return 0;
}

/* The active person called name, to take label over: 0 and *out, or why
 * not (revoked: said so; never enrolled). */
static int receiver_named(tlo_custody *v, const char *name, const char *label,
                          const tlo_custody_person **out, tlo_error *err)
{
    const tlo_custody_person *all;
    size_t n;
    *out = tlo_custody_person_by_name(v, name);
    if (*out)
        return 0;
    int rc = tlo_custody_people(v, &all, &n, err);
    if (rc)
        return rc;
    for (size_t i = n; i-- > 0;)
        if (!strcmp(all[i].name, name) && all[i].revoked_at >= 0)
            return tlo_fail(err, TLO_EARG,
                            "%s was revoked (entry %lld) and can no longer take a sample over: "
                            "hand %s to someone else (anyone enrolled but an auditor)",
                            all[i].name, (long long)all[i].revoked_at, label);
    return tlo_fail(err, TLO_ENOTFOUND,
                    "nobody called \"%s\" is enrolled and active: 'tellonce user list' shows who "
                    "is",
                    name);
}

/* The checks that hold once the person may act: a pending transfer, the
 * receiver. */
static int state_then(tlo_custody *v, tlo_custody_act act, const tlo_custody_sample *x,
                      const tlo_custody_sample_params *p, const tlo_custody_person **to,
                      tlo_error *err)
{
    char at[40];
    if (act != TLO_ACT_SAMPLE_TRANSFER && act != TLO_ACT_SAMPLE_DISPOSE)
        return 0;
    when(x->since_ms, at, sizeof at);
    if (x->state == TLO_SAMPLE_IN_TRANSFER)
        return tlo_fail(err, TLO_EARG,
                        "%s is in transfer to %s since %s (entry %llu): they must run 'tellonce "
                        "sample receive' first",
                        x->label, x->pending.name, at, (unsigned long long)x->pending_seq);
    if (act == TLO_ACT_SAMPLE_DISPOSE)
        return 0;
    const tlo_custody_person *r;
    int rc = receiver_named(v, p->to, x->label, &r, err);
    if (rc)
        return rc;
    if (tlo_custody_person_pending(r))
        return tlo_fail(err, TLO_EARG,
                        "%s has not activated their enrolment yet and cannot take %s over: hand "
                        "it to someone else, or wait until they have",
                        r->name, x->label);
    if (!memcmp(r->actor, x->holder.actor, 32))
        return tlo_fail(err, TLO_EARG, "%s already holds %s: name the person who takes it over",
                        r->name, x->label);
    if (r->roles & TLO_ROLE_CUSTODIAN)
        return tlo_fail(err, TLO_EARG,
                        "%s is the vault's custodian: the custodian never holds samples; hand %s "
                        "to someone else (anyone enrolled but an auditor)",
                        r->name, x->label);
    if (!tlo_custody_may(TLO_ACT_SAMPLE_RECEIVE, r->roles, TLO_WHEN_RECEIVER)) {
        char roles[200], who[300];
        if (r->roles & TLO_ROLE_AUDITOR)
            return tlo_fail(err, TLO_EARG,
                            "%s is an auditor: auditors never hold samples; hand %s to someone "
                            "else (anyone enrolled but an auditor)",
                            r->name, x->label);
        tlo_roles_format(r->roles, ", ", roles, sizeof roles);
        tlo_custody_act_who(TLO_ACT_SAMPLE_RECEIVE, who, sizeof who);
        return tlo_fail(err, TLO_EARG,
                        "%s (%s) may not take a sample over: hand %s to someone else (only %s "
                        "may)",
                        r->name, roles, x->label, who);
    }
    *to = r;
    return 0;
}

int tlo_custody_sample_check(tlo_custody *v, tlo_custody_act act,
                             const tlo_custody_sample_params *p, tlo_error *err)
{
    tlo_custody_samples s;
    const tlo_custody_sample *x;
    char note[33];
    int rc = form(act, p, err);
    if (rc || (rc = tlo_custody_samples_read(v, p->case_number, &s, err)) != 0)
        return rc;
    rc = state_first(act, &s, p, &x, err);
    if (rc == 0 && act == TLO_ACT_SAMPLE_REGISTER && p->note)
        rc = resolve_note(&s, p->note, note, err);
    if (rc == 0 && act == TLO_ACT_SAMPLE_TRANSFER) {
        const tlo_custody_person *r;
        rc = receiver_named(v, p->to, p->label, &r, err);
    }
    tlo_custody_samples_free(&s);
    return rc;
}

/* Why person me may not act on x, for the refusal (short; whole characters). */
static void refusal_detail(const tlo_custody_sample *x, tlo_custody_act act, char *out, size_t cap)
{
    char text[TLO_NAME_MAX + 200];
    out[0] = '\0';
    if (!x)
        return;
    if (act == TLO_ACT_SAMPLE_RECEIVE && x->state == TLO_SAMPLE_IN_TRANSFER)
        snprintf(text, sizeof text, "%s was handed to %s in entry %llu", x->label, x->pending.name,
                 (unsigned long long)x->pending_seq);
    else if (act == TLO_ACT_SAMPLE_TRANSFER || act == TLO_ACT_SAMPLE_DISPOSE)
        snprintf(text, sizeof text, "%s holds %s", x->holder.name, x->label);
    else
        return;
    tlo_clean_text(out, cap, text);
}

static int act_on(tlo_custody *v, const tlo_vault_identity *actor, tlo_custody_act act,
                  const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err)
{
    tlo_custody_samples s = {0};
    const tlo_custody_sample *x = NULL;
    const tlo_custody_person *to = NULL;
    custody_lease *lease = NULL;
    char body[4000], name[64], hex[33], note[33] = "", who[TLO_NAME_MAX + 40];
    uint8_t me[32];
    uint16_t kind = act == TLO_ACT_SAMPLE_REGISTER   ? TLO_ENTRY_SAMPLE_REGISTER
                    : act == TLO_ACT_SAMPLE_TRANSFER ? TLO_ENTRY_SAMPLE_TRANSFER
                    : act == TLO_ACT_SAMPLE_RECEIVE  ? TLO_ENTRY_SAMPLE_RECEIVE
                                                     : TLO_ENTRY_SAMPLE_DISPOSE;
    *seq = 0;
    tlo_custody_case cs;
    int rc = form(act, p, err);
    if (rc || (rc = tlo_custody_case_find(v, p->case_number, &cs, err)) != 0)
        return rc;
    /* One sample verb of a case at a time: what it decided on is what it
     * appends after. */
    tlo_hex(hex, cs.id, TLO_ID_BYTES);
    snprintf(name, sizeof name, "samples-%s", hex);
    rc = custody_lease_take(v, name, "sample", &lease, who, sizeof who, err);
    if (rc == TLO_EEXIST)
        rc = tlo_fail(err, rc,
                      "another sample command of case %s is running (%s, lease locks/%s.lock): "
                      "run this one again when it has finished",
                      cs.number, who, name);
    if (rc)
        goto out;
    if ((rc = tlo_custody_samples_read(v, p->case_number, &s, err)) != 0 ||
        (rc = state_first(act, &s, p, &x, err)) != 0)
        goto out;
    crypto_hash_sha256(me, actor->sign_pk, 32);
    unsigned holds = 0;
    if (x && !memcmp(me, x->holder.actor, 32))
        holds |= TLO_WHEN_HOLDER;
    if (x && x->state == TLO_SAMPLE_IN_TRANSFER && !memcmp(me, x->pending.actor, 32))
        holds |= TLO_WHEN_RECEIVER;
    const tlo_custody_person *me_p = NULL;
    rc =
        custody_check_actor(v, actor, ~(unsigned)TLO_ROLE_CUSTODIAN, "enrolled person", &me_p, err);
    if (rc)
        goto out;
    if (!tlo_custody_may(act, me_p->roles, holds)) {
        char detail[120]; /* short: the message keeps "logged as entry N" */
        refusal_detail(x, act, detail, sizeof detail);
        rc = custody_refuse_act(v, me_p, act, s.cs.id, detail[0] ? detail : NULL, err);
        goto out;
    }
    if ((rc = state_then(v, act, x, p, &to, err)) != 0)
        goto out;
    if (act == TLO_ACT_SAMPLE_REGISTER && p->note && (rc = resolve_note(&s, p->note, note, err)))
        goto out;
    switch (act) {
    case TLO_ACT_SAMPLE_REGISTER:
        snprintf(body, sizeof body, "label=%s\n%s%s%ssample_kind=%s\nseal_number=%s\n", p->label,
                 note[0] ? "note=" : "", note, note[0] ? "\n" : "", p->sample_kind, p->seal_number);
        break;
    case TLO_ACT_SAMPLE_TRANSFER: {
        char pk[65];
        tlo_hex(pk, to->pk, 32);
        snprintf(body, sizeof body, "label=%s\n%s%s%sto=%s\nto_name=%s\n", p->label,
                 p->place ? "place=" : "", p->place ? p->place : "", p->place ? "\n" : "", pk,
                 to->name);
        break;
    }
    case TLO_ACT_SAMPLE_RECEIVE:
        snprintf(body, sizeof body, "label=%s\nseal_intact=%s\ntransfer=%llu\n", p->label,
                 p->seal_intact ? "yes" : "no", (unsigned long long)x->pending_seq);
        break;
    default:
        snprintf(body, sizeof body, "label=%s\nreason=%s\n", p->label, p->reason);
        break;
    }
    rc = custody_append(v, actor, kind, s.cs.id, body, seq, err);
out:
    custody_lease_release(lease);
    tlo_custody_samples_free(&s);
    return custody_seal_end(v, rc, err);
}

int tlo_custody_sample_register(tlo_custody *v, const tlo_vault_identity *actor,
                                const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err)
{
    return act_on(v, actor, TLO_ACT_SAMPLE_REGISTER, p, seq, err);
}

int tlo_custody_sample_transfer(tlo_custody *v, const tlo_vault_identity *actor,
                                const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err)
{
    return act_on(v, actor, TLO_ACT_SAMPLE_TRANSFER, p, seq, err);
}

int tlo_custody_sample_receive(tlo_custody *v, const tlo_vault_identity *actor,
                               const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err)
{
    return act_on(v, actor, TLO_ACT_SAMPLE_RECEIVE, p, seq, err);
}

int tlo_custody_sample_dispose(tlo_custody *v, const tlo_vault_identity *actor,
                               const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err)
{
    return act_on(v, actor, TLO_ACT_SAMPLE_DISPOSE, p, seq, err);
}
