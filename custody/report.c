/* The auditor's report of one case, from the ledger alone (custody.h, "The
 * auditor's report"; docs/report.md). No key is touched: the ledger is
 * verified first, then the case's entries are read into the model that the
 * writers (report/) print. Every text comes from the ledger (hostile: it is
 * copied bounded here and escaped by the writers); nothing here prints. */
#include "custody.h"
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct build {
    tlo_custody *v;
    tlo_custody_report *r;
    tlo_custody_describer *d;
    uint8_t (*pk)[32];           /* r->person[i]'s key */
    int failed;                  /* TLO_ENOMEM */
    tlo_custody_samples samples; /* the checked fold of the case's samples */
} build;

/* Grows *arr (elements of size sz, *n of them) by one zeroed element. */
static void *grow(void *arr_p, size_t *n, size_t sz, build *b)
{
    void **arr = arr_p;
    /* doubling at powers of two */
    size_t cap = 1;
    while (cap < *n)
        cap *= 2;
    if (*n == 0 || *n == cap) {
        size_t ncap = *n ? cap * 2 : 4;
        void *na = realloc(*arr, ncap * sz);
        if (!na) {
            b->failed = TLO_ENOMEM;
            return NULL;
        }
        *arr = na;
    }
    void *el = (char *)*arr + *n * sz;
    memset(el, 0, sz);
    (*n)++;
    return el;
}

static void copy(char *out, size_t cap, const tlo_entry *e, const char *key)
{
    size_t n = 0;
    const uint8_t *val = tlo_entry_body_get(e->body, e->body_len, key, &n);
    if (!val)
        n = 0;
    if (n > cap - 1) {
        n = cap - 1;
        while (n && (val[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(out, val, n);
    out[n] = '\0';
}

static uint64_t num(const tlo_entry *e, const char *key)
{
    uint64_t x = 0;
    return tlo_entry_u64(e, key, &x) == 0 ? x : 0;
}

static int person_of(build *b, const tlo_custody_person *p)
{
    tlo_custody_report *r = b->r;
    if (!p)
        return -1;
    for (size_t i = 0; i < r->npeople; i++)
        if (!memcmp(b->pk[i], p->pk, 32))
            return (int)i;
    size_t n = r->npeople;
    uint8_t(*pk)[32] = realloc(b->pk, (n + 1) * sizeof *pk);
    if (!pk) {
        b->failed = TLO_ENOMEM;
        return -1;
    }
    b->pk = pk;
    tlo_custody_report_person *rp = grow(&r->person, &r->npeople, sizeof *rp, b);
    if (!rp)
        return -1;
    memcpy(b->pk[n], p->pk, 32);
    snprintf(rp->name, sizeof rp->name, "%s", p->name);
    rp->roles = p->roles;
    tlo_hex(rp->key_id, p->pk, 8);
    return (int)n;
}

static int person_pk(build *b, const tlo_entry *e, const char *key)
{
    uint8_t pk[32], actor[32];
    if (tlo_entry_hex(e, key, pk, 32) != 0)
        return -1;
    crypto_hash_sha256(actor, pk, 32);
    return person_of(b, tlo_custody_person_by_actor(b->v, actor));
}

static tlo_custody_report_session *session_of(build *b, const tlo_entry *e)
{
    char id[40];
    copy(id, sizeof id, e, "session");
    for (size_t i = 0; i < b->r->nsessions; i++)
        if (!strcmp(b->r->session[i].id, id))
            return &b->r->session[i];
    return NULL;
}

static unsigned session_no(build *b, const tlo_entry *e)
{
    const tlo_custody_report_session *s = session_of(b, e);
    return s ? s->no : 0;
}

static tlo_custody_report_note *note_of(build *b, const tlo_entry *e)
{
    char id[40];
    copy(id, sizeof id, e, "note");
    for (size_t i = 0; i < b->r->nnotes; i++)
        if (!strcmp(b->r->note[i].id, id))
            return &b->r->note[i];
    return NULL;
}

static tlo_custody_report_sample *sample_of(build *b, const tlo_entry *e)
{
    char label[40];
    copy(label, sizeof label, e, "label");
    for (size_t i = 0; i < b->r->nsamples; i++)
        if (!strcmp(b->r->sample[i].label, label))
            return &b->r->sample[i];
    return NULL;
}

static tlo_custody_report_grant *grant_by_seq(build *b, uint64_t seq)
{
    for (size_t i = 0; i < b->r->ngrants; i++)
        if (b->r->grant[i].seq == seq)
            return &b->r->grant[i];
    return NULL;
}

static void add_line(build *b, tlo_custody_report_line **arr, size_t *n, const tlo_entry *e,
                     int person, const char *text)
{
    tlo_custody_report_line *l = grow(arr, n, sizeof *l, b);
    if (!l)
        return;
    l->seq = e->seq;
    l->time_ms = e->time_ms;
    l->kind = e->kind;
    l->person = person;
    if (!(l->text = strdup(text)))
        b->failed = TLO_ENOMEM;
}

static void on_session(build *b, const tlo_entry *e, int person)
{
    tlo_custody_report *r = b->r;
    tlo_custody_report_session *s = session_of(b, e);
    switch (e->kind) {
    case TLO_ENTRY_SESSION_START:
        if (s || !(s = grow(&r->session, &r->nsessions, sizeof *s, b)))
            return;
        s->no = (unsigned)r->nsessions;
        copy(s->id, sizeof s->id, e, "session");
        s->recorder = person;
        s->started_at = e->time_ms;
        copy(s->room, sizeof s->room, e, "room");
        s->cameras = num(e, "cameras");
        s->microphones = num(e, "microphones");
        snprintf(s->status, sizeof s->status, "open");
        return;
    case TLO_ENTRY_SEGMENT: {
        if (!s)
            return;
        uint64_t index = num(e, "index"), start = num(e, "start_ms"), end = num(e, "end_ms");
        uint64_t prev_end = s->length_ms;
        if (index != s->segments || start != prev_end) {
            tlo_custody_report_gap *g = grow(&s->gap, &s->ngaps, sizeof *g, b);
            if (g) {
                g->from_ms = start < prev_end ? start : prev_end;
                g->to_ms = start < prev_end ? prev_end : start;
                g->after_index = s->segments ? s->segments - 1 : 0;
            }
        }
        s->segments++;
        s->bytes += num(e, "bytes");
        if (end > s->length_ms)
            s->length_ms = end;
        return;
    }
    case TLO_ENTRY_MARKER: {
        tlo_custody_report_marker *m = s ? grow(&s->marker, &s->nmarkers, sizeof *m, b) : NULL;
        if (!m)
            return;
        m->seq = e->seq;
        m->at_ms = num(e, "at_ms");
        m->person = person;
        copy(m->text, sizeof m->text, e, "text");
        return;
    }
    case TLO_ENTRY_DEVICE_EVENT: {
        tlo_custody_report_device *dv = s ? grow(&s->device, &s->ndevices, sizeof *dv, b) : NULL;
        if (!dv)
            return;
        dv->seq = e->seq;
        dv->at_ms = num(e, "at_ms");
        copy(dv->device, sizeof dv->device, e, "device");
        copy(dv->event, sizeof dv->event, e, "event");
        copy(dv->message, sizeof dv->message, e, "message");
        copy(dv->then, sizeof dv->then, e, "then");
        return;
    }
    case TLO_ENTRY_SESSION_END:
    case TLO_ENTRY_SESSION_RECOVERED: {
        char status[16];
        if (!s)
            return;
        s->closed_at = e->time_ms;
        copy(status, sizeof status, e, "status");
        snprintf(s->status, sizeof s->status, "%s",
                 e->kind == TLO_ENTRY_SESSION_RECOVERED ? "recovered"
                 : !strcmp(status, "failed")            ? "failed"
                                                        : "ended");
        return;
    }
    default:
        return;
    }
}

static void on_grant(build *b, const tlo_entry *e, int person)
{
    tlo_custody_report_grant *g = grow(&b->r->grant, &b->r->ngrants, sizeof *g, b);
    if (!g)
        return;
    g->seq = e->seq;
    g->time_ms = e->time_ms;
    g->note = e->kind == TLO_ENTRY_NOTE_GRANT;
    g->by = person;
    g->to = person_pk(b, e, "to");
    copy(g->to_name, sizeof g->to_name, e, "to_name");
    if (g->note) {
        const tlo_custody_report_note *n = note_of(b, e);
        g->note_no = n ? n->no : 0;
        snprintf(g->actions, sizeof g->actions, "read");
    } else {
        g->session_no = session_no(b, e);
        g->from_ms = num(e, "from_ms");
        g->until_ms = num(e, "until_ms");
        copy(g->actions, sizeof g->actions, e, "actions");
    }
    g->expires_ms = num(e, "expires_ms");
    copy(g->purpose, sizeof g->purpose, e, "purpose");
    snprintf(g->status, sizeof g->status, "%s",
             g->expires_ms < b->r->generated_at ? "expired" : "active");
}

static void on_access(build *b, const tlo_entry *e, int person)
{
    char action[16];
    copy(action, sizeof action, e, "action");
    tlo_custody_report_session *s = session_of(b, e);
    if (!s || (strcmp(action, "view") && strcmp(action, "export")))
        return; /* recover: a key use to close the session, no viewing */
    tlo_custody_report_access *a = grow(&s->access, &s->naccess, sizeof *a, b);
    if (!a)
        return;
    a->seq = e->seq;
    a->time_ms = e->time_ms;
    a->person = person;
    a->exp = !strcmp(action, "export");
    a->from_ms = num(e, "from_ms");
    a->to_ms = num(e, "to_ms");
    copy(a->purpose, sizeof a->purpose, e, "purpose");
    copy(a->grant, sizeof a->grant, e, "grant");
}

static void on_export(build *b, const tlo_entry *e, int person)
{
    tlo_custody_report_export *x = grow(&b->r->exp, &b->r->nexports, sizeof *x, b);
    if (!x)
        return;
    x->seq = e->seq;
    x->time_ms = e->time_ms;
    x->access_seq = num(e, "access");
    x->person = person;
    x->session_no = session_no(b, e);
    x->from_ms = num(e, "from_ms");
    x->to_ms = num(e, "to_ms");
    x->clip_start_ms = num(e, "clip_start_ms");
    x->clip_end_ms = num(e, "clip_end_ms");
    x->bytes = num(e, "bytes");
    copy(x->sha256, sizeof x->sha256, e, "clip_sha256");
}

static void on_note(build *b, const tlo_entry *e, int person)
{
    tlo_custody_report_note *n = note_of(b, e);
    if (!n) {
        if (!(n = grow(&b->r->note, &b->r->nnotes, sizeof *n, b)))
            return;
        n->no = (unsigned)b->r->nnotes;
        copy(n->id, sizeof n->id, e, "note");
        copy(n->kind, sizeof n->kind, e, "note_kind");
        n->author = person;
    }
    tlo_custody_report_note_version *ver = grow(&n->version, &n->nversions, sizeof *ver, b);
    if (!ver)
        return;
    ver->seq = e->seq;
    ver->time_ms = e->time_ms;
    ver->version = num(e, "version");
    ver->bytes = num(e, "bytes");
    ver->files = num(e, "files");
    ver->text_bytes = num(e, "text_bytes");
    ver->author = person;
    ver->session_no = session_no(b, e);
    ver->at_ms = num(e, "at_ms");
}

static bool honoured(const tlo_custody_samples *f, uint64_t seq)
{
    size_t lo = 0, hi = f->nhonoured; /* in ledger order: ascending */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->honoured[mid] == seq)
            return true;
        if (f->honoured[mid] < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* A sample entry: only those the checked fold (custody/samples.c, as
 * 'sample list' and verify) honours; the state is the fold's, after the
 * walk (samples_state). */
static void on_sample(build *b, const tlo_entry *e, int person, const char *text)
{
    if (!honoured(&b->samples, e->seq))
        return;
    tlo_custody_report_sample *s = sample_of(b, e);
    if (e->kind == TLO_ENTRY_SAMPLE_REGISTER && !s) {
        if (!(s = grow(&b->r->sample, &b->r->nsamples, sizeof *s, b)))
            return;
        copy(s->label, sizeof s->label, e, "label");
        copy(s->kind, sizeof s->kind, e, "sample_kind");
        copy(s->seal_number, sizeof s->seal_number, e, "seal_number");
        s->registrar = person;
        s->holder = person;
        snprintf(s->state, sizeof s->state, "held");
    }
    if (!s)
        return;
    tlo_custody_report_sample_event *ev = grow(&s->event, &s->nevents, sizeof *ev, b);
    if (!ev)
        return;
    ev->seq = e->seq;
    ev->time_ms = e->time_ms;
    ev->kind = e->kind;
    ev->person = person;
    size_t len = strlen(text);
    if (len >= sizeof ev->text) { /* not inside a character */
        len = sizeof ev->text - 1;
        while (len && ((unsigned char)text[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(ev->text, text, len);
    ev->text[len] = '\0';
}

static bool is_refusal(const tlo_entry *e)
{
    char result[16];
    switch (e->kind) {
    case TLO_ENTRY_ACCESS_DENIED:
    case TLO_ENTRY_ACTION_REFUSED:
    case TLO_ENTRY_REQUEST_REFUSED:
        return true;
    case TLO_ENTRY_NOTE_ACCESS:
    case TLO_ENTRY_CASE_VIEW:
        copy(result, sizeof result, e, "result");
        return !strcmp(result, "refused");
    default:
        return false;
    }
}

static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    build *b = ctx;
    char text[4096];
    (void)leaf;
    (void)err;
    tlo_custody_describe(b->d, e, text, sizeof text);
    int person = person_of(b, tlo_custody_describe_person(b->d, e));
    if (e->kind == TLO_ENTRY_REQUEST_REFUSED) { /* from the walk of that kind: no case */
        add_line(b, &b->r->refusal, &b->r->nrefusals, e, person, text);
        return b->failed;
    }
    add_line(b, &b->r->line, &b->r->nlines, e, person, text);
    if (is_refusal(e))
        add_line(b, &b->r->refusal, &b->r->nrefusals, e, person, text);
    switch (e->kind) {
    case TLO_ENTRY_CASE_OPEN:
        b->r->opened_at = e->time_ms;
        b->r->opener = person;
        break;
    case TLO_ENTRY_SESSION_START:
    case TLO_ENTRY_SEGMENT:
    case TLO_ENTRY_MARKER:
    case TLO_ENTRY_DEVICE_EVENT:
    case TLO_ENTRY_SESSION_END:
    case TLO_ENTRY_SESSION_RECOVERED:
        on_session(b, e, person);
        break;
    case TLO_ENTRY_GRANT:
    case TLO_ENTRY_NOTE_GRANT:
        on_grant(b, e, person);
        break;
    case TLO_ENTRY_GRANT_REVOKE: {
        tlo_custody_report_grant *g = grant_by_seq(b, num(e, "grant"));
        if (g) {
            snprintf(g->status, sizeof g->status, "revoked");
            g->revoked_seq = e->seq;
        }
        break;
    }
    case TLO_ENTRY_ACCESS_GRANTED:
        on_access(b, e, person);
        break;
    case TLO_ENTRY_EXPORT:
        on_export(b, e, person);
        break;
    case TLO_ENTRY_NOTE:
        on_note(b, e, person);
        break;
    case TLO_ENTRY_NOTE_ACCESS: {
        tlo_custody_report_note *n = note_of(b, e);
        char result[16];
        copy(result, sizeof result, e, "result");
        if (n && !strcmp(result, "granted"))
            n->reads++;
        else if (n)
            n->refused++;
        break;
    }
    case TLO_ENTRY_SAMPLE_REGISTER:
    case TLO_ENTRY_SAMPLE_TRANSFER:
    case TLO_ENTRY_SAMPLE_RECEIVE:
    case TLO_ENTRY_SAMPLE_DISPOSE:
        on_sample(b, e, person, text);
        break;
    default:
        break;
    }
    return b->failed;
}

/* Each sample's state as the fold has it: the holder and the receiver by
 * their keys, never by an entry's to_name. */
static void samples_state(build *b)
{
    for (size_t i = 0; i < b->r->nsamples; i++) {
        tlo_custody_report_sample *rs = &b->r->sample[i];
        const tlo_custody_sample *x = tlo_custody_sample_find(&b->samples, rs->label);
        if (!x)
            continue;
        snprintf(rs->state, sizeof rs->state, "%s", tlo_custody_sample_state_name(x->state));
        rs->holder = person_of(b, tlo_custody_person_by_actor(b->v, x->holder.actor));
        rs->to_name[0] = '\0';
        if (x->state == TLO_SAMPLE_IN_TRANSFER)
            snprintf(rs->to_name, sizeof rs->to_name, "%s", x->pending.name);
        rs->broken_seal = x->seal_broken;
    }
}

/* The verification and how to repeat it. */
static int verify_part(tlo_custody *v, const tlo_custody_report_params *p, tlo_custody_report *r,
                       tlo_error *err)
{
    tlo_custody_verify_report vr;
    tlo_custody_verify_params vp = {.case_id = p->case_id, .progress = p->progress};
    tlo_note_verifier key;
    char origin[256];
    int rc = tlo_custody_verify_with(v, &vp, &vr, err);
    if (rc)
        return rc;
    r->verified = vr.chain.ok;
    r->entries = vr.chain.entries;
    if (!vr.chain.ok)
        snprintf(r->problem, sizeof r->problem, "%s", vr.chain.problem);
    for (size_t i = 0; i < vr.nanchors; i++) {
        if (vr.anchors[i].size < r->checkpoint_size)
            continue;
        r->checkpoint_size = vr.anchors[i].size;
        tlo_hex(r->checkpoint_root, vr.anchors[i].root, 32);
        sodium_bin2base64(r->checkpoint_b64, sizeof r->checkpoint_b64, vr.anchors[i].root, 32,
                          sodium_base64_VARIANT_ORIGINAL);
    }
    tlo_custody_verify_report_free(&vr);
    if ((rc = tlo_custody_trust(v, origin, sizeof origin, &key, err)) != 0 ||
        (rc = tlo_note_verifier_format(&key, r->verifier_key, sizeof r->verifier_key, err)) != 0)
        return rc;
    /* Single quotes for the shell: a key has none (name: no space or '+'; hex; base64). A
     * vault path with one is quoted the POSIX way. */
    const char *dir = p->vault_dir_words ? p->vault_dir_words : tlo_custody_dir(v);
    char qdir[600];
    size_t k = 0;
    qdir[k++] = '\'';
    for (const char *c = dir; *c && k + 5 < sizeof qdir; c++) {
        if (*c == '\'') {
            memcpy(qdir + k, "'\\''", 4);
            k += 4;
        } else {
            qdir[k++] = *c;
        }
    }
    qdir[k++] = '\'';
    qdir[k] = '\0';
    snprintf(r->verify_command, sizeof r->verify_command,
             "tellonce verify --vault %s --case %s --verifier-key '%s'", qdir, r->case_id,
             r->verifier_key);
    return 0;
}

/* p->verified's verification, when it is still of the whole ledger (the
 * same number of entries: nothing appended since). true when taken over. */
static bool reuse_verification(tlo_custody *v, const tlo_custody_report_params *p,
                               tlo_custody_report *r)
{
    const tlo_custody_report *was = p->verified;
    uint64_t size = 0;
    tlo_error e = {0};
    if (!was || memcmp(was->case_id, r->case_id, sizeof r->case_id) != 0 ||
        tlo_chain_size(tlo_custody_chain(v), &size, &e) != 0 || size != was->entries)
        return false;
    r->verified = was->verified;
    r->entries = was->entries;
    r->checkpoint_size = was->checkpoint_size;
    memcpy(r->problem, was->problem, sizeof r->problem);
    memcpy(r->checkpoint_root, was->checkpoint_root, sizeof r->checkpoint_root);
    memcpy(r->checkpoint_b64, was->checkpoint_b64, sizeof r->checkpoint_b64);
    memcpy(r->verifier_key, was->verifier_key, sizeof r->verifier_key);
    memcpy(r->verify_command, was->verify_command, sizeof r->verify_command);
    return true;
}

int tlo_custody_report_build(tlo_custody *v, const tlo_custody_report_params *p,
                             tlo_custody_report *out, tlo_error *err)
{
    const tlo_custody_person *people;
    size_t n;
    memset(out, 0, sizeof *out);
    out->opener = -1;
    out->generated_at = tlo_custody_now_ms();
    tlo_hex(out->case_id, p->case_id, TLO_ID_BYTES);
    if (p->case_number) {
        out->number_shown = true;
        snprintf(out->case_number, sizeof out->case_number, "%s", p->case_number);
    }
    int rc = reuse_verification(v, p, out) ? 0 : verify_part(v, p, out, err);
    if (rc == 0)
        rc = tlo_custody_people(v, &people, &n, err);
    build b = {.v = v, .r = out};
    if (rc == 0)
        rc = tlo_custody_describer_new(people, n, &b.d, err);
    if (rc == 0)
        tlo_custody_describer_set_english(b.d, p->english);
    if (rc == 0)
        rc = tlo_custody_samples_read_verified_ledger(v, p->case_id, &b.samples, err);
    if (rc == 0)
        rc = custody_walk_case(v, p->case_id, visit, &b, err);
    if (rc == 0)
        samples_state(&b);
    if (rc == 0)
        rc =
            tlo_chain_walk_kind(tlo_custody_chain(v), TLO_ENTRY_REQUEST_REFUSED, 0, visit, &b, err);
    if (rc == TLO_ENOMEM || b.failed)
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory writing the report of case %s", out->case_id);
    tlo_custody_describer_free(b.d);
    tlo_custody_samples_free(&b.samples);
    free(b.pk);
    if (rc)
        tlo_custody_report_free(out);
    return rc;
}

void tlo_custody_report_free(tlo_custody_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nsessions; i++) {
        free(r->session[i].marker);
        free(r->session[i].device);
        free(r->session[i].gap);
        free(r->session[i].access);
    }
    for (size_t i = 0; i < r->nnotes; i++)
        free(r->note[i].version);
    for (size_t i = 0; i < r->nsamples; i++)
        free(r->sample[i].event);
    for (size_t i = 0; i < r->nrefusals; i++)
        free(r->refusal[i].text);
    for (size_t i = 0; i < r->nlines; i++)
        free(r->line[i].text);
    free(r->person);
    free(r->session);
    free(r->grant);
    free(r->exp);
    free(r->note);
    free(r->sample);
    free(r->refusal);
    free(r->line);
    memset(r, 0, sizeof *r);
}
