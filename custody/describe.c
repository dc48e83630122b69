/* The words of one ledger entry with the real person behind it, for
 * 'tellonce log' and the auditor's report (custody.h, "The words of the
 * ledger"). Entries are fed in ledger order: a session's number (the Nth
 * session-start of its case) and a note's number (the Nth note of its case,
 * in the order of its first version) are learned from them.
 *
 * Every value read from a body is hostile input: it is copied bounded, never
 * cut inside a UTF-8 character, and the front end escapes it for its medium
 * (the HTML writer escapes everything). No wording ever names a case number,
 * a note's text, title or file names (the ledger holds none of them). */
#include "custody.h"
#include "tlo_time.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a small map: 16-byte ids to numbers (open addressing) ---- */

typedef struct idmap_slot {
    uint8_t key[16];
    uint8_t scope[16]; /* the case (for per-case counters) */
    unsigned value;
    bool used;
} idmap_slot;

typedef struct idmap {
    idmap_slot *slot;
    size_t cap, n; /* cap a power of two */
} idmap;

static size_t idmap_hash(const uint8_t key[static 16], size_t cap)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ULL;
    return (size_t)h & (cap - 1);
}

static idmap_slot *idmap_find(const idmap *m, const uint8_t key[static 16])
{
    if (!m->cap)
        return NULL;
    for (size_t i = idmap_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slot[i].used)
            return NULL;
        if (!memcmp(m->slot[i].key, key, 16))
            return &m->slot[i];
    }
}

/* The slot of key, made (value 0) when missing; NULL when out of memory. */
static idmap_slot *idmap_put(idmap *m, const uint8_t key[static 16])
{
    idmap_slot *s = idmap_find(m, key);
    if (s)
        return s;
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        idmap_slot *ns = calloc(cap, sizeof *ns);
        if (!ns)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slot[i].used)
                continue;
            size_t j = idmap_hash(m->slot[i].key, cap);
            while (ns[j].used)
                j = (j + 1) & (cap - 1);
            ns[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = ns;
        m->cap = cap;
    }
    size_t i = idmap_hash(key, m->cap);
    while (m->slot[i].used)
        i = (i + 1) & (m->cap - 1);
    m->slot[i].used = true;
    memcpy(m->slot[i].key, key, 16);
    m->n++;
    return &m->slot[i];
}

/* ---- the describer ---- */

struct tlo_custody_describer {
    tlo_custody_person *people;
    size_t npeople;
    bool english;   /* tlo_custody_describer_set_english */
    idmap by_actor; /* the first 16 bytes of actor (SHA-256 of pk) -> index + 1 */
    idmap sessions; /* session id -> its number in its case */
    idmap notes;    /* note id -> its number in its case */
    idmap cases;    /* case id -> sessions so far (value), notes so far (scope[0..3]) */
};

/* The words are looked up with dgettext(dom, ...) and dngettext(dom, ...):
 * dom is tellonce's domain, or in English mode one no catalogue is ever
 * bound to, so that gettext gives the English msgid back whatever the
 * locale (JSON and CSV stay English). xgettext finds them by the standard
 * keywords. */
#define ENGLISH_ONLY_DOMAIN "tellonce-english-only"

void tlo_custody_describer_set_english(tlo_custody_describer *d, int english)
{
    d->english = english != 0;
}

int tlo_custody_describer_new(const tlo_custody_person *people, size_t n,
                              tlo_custody_describer **out, tlo_error *err)
{
    *out = NULL;
    tlo_custody_describer *d = calloc(1, sizeof *d);
    if (!d || (n && !(d->people = malloc(n * sizeof *people)))) {
        free(d);
        return tlo_fail(err, TLO_ENOMEM, "out of memory describing the ledger");
    }
    if (n)
        memcpy(d->people, people, n * sizeof *people);
    d->npeople = n;
    for (size_t i = 0; i < n; i++) {
        idmap_slot *s = idmap_put(&d->by_actor, d->people[i].actor);
        if (!s) {
            tlo_custody_describer_free(d);
            return tlo_fail(err, TLO_ENOMEM, "out of memory describing the ledger");
        }
        s->value = (unsigned)(i + 1); /* a key enrolled again: the newest enrolment */
    }
    *out = d;
    return 0;
}

void tlo_custody_describer_free(tlo_custody_describer *d)
{
    if (!d)
        return;
    free(d->people);
    free(d->by_actor.slot);
    free(d->sessions.slot);
    free(d->notes.slot);
    free(d->cases.slot);
    free(d);
}

static const tlo_custody_person *by_actor(const tlo_custody_describer *d,
                                          const uint8_t actor[static 32])
{
    const idmap_slot *s = idmap_find(&d->by_actor, actor);
    if (!s || memcmp(d->people[s->value - 1].actor, actor, 32) != 0)
        return NULL;
    return &d->people[s->value - 1];
}

static const tlo_custody_person *by_pk_hex(const tlo_custody_describer *d, const tlo_entry *e,
                                           const char *key)
{
    uint8_t pk[32], actor[32];
    if (tlo_entry_hex(e, key, pk, 32) != 0)
        return NULL;
    crypto_hash_sha256(actor, pk, 32);
    return by_actor(d, actor);
}

/* Kinds the custodian signs for a person named in a field. */
static const char *actor_field(uint16_t kind)
{
    switch (kind) {
    case TLO_ENTRY_CASE_VIEW:
    case TLO_ENTRY_ACCESS_GRANTED:
    case TLO_ENTRY_ACCESS_DENIED:
    case TLO_ENTRY_ACTION_REFUSED:
    case TLO_ENTRY_NOTE_ACCESS:
    case TLO_ENTRY_UNLOCK_FAILED:
        return "actor";
    case TLO_ENTRY_EXPORT:
        return "exporter";
    default:
        return NULL;
    }
}

const tlo_custody_person *tlo_custody_describe_person(const tlo_custody_describer *d,
                                                      const tlo_entry *e)
{
    const char *f = actor_field(e->kind);
    const tlo_custody_person *p = f ? by_pk_hex(d, e, f) : NULL;
    return p ? p : by_actor(d, e->actor);
}

/* The role names as people read them (the names people type stay the
 * English ones of chain/entry.c). */
static const char *const role_words[] = {
    /* TRANSLATORS: a role's name, shown after a person's name: "王芳 (prosecutor)" */
    N_("admin"),
    /* TRANSLATORS: a role's name, shown after a person's name */
    N_("interviewer"),
    /* TRANSLATORS: a role's name, shown after a person's name */
    N_("prosecutor"),
    /* TRANSLATORS: a role's name (medical staff), shown after a person's name */
    N_("medical"),
    /* TRANSLATORS: a role's name, shown after a person's name */
    N_("auditor"),
    /* TRANSLATORS: a role's name, shown after a person's name */
    N_("psychologist"),
    /* TRANSLATORS: a role's name (legal-aid worker), shown after a person's name */
    N_("legal-aid"),
    /* TRANSLATORS: a role's name, shown after a person's name */
    N_("social-worker"),
};

/* roles in words (dom's language), between two: ", " or its translation. */
static void roles_words(const char *dom, unsigned roles, char *out, size_t cap)
{
    char names[200];
    size_t used = 0;
    out[0] = '\0';
    tlo_roles_format(roles, ",", names, sizeof names);
    for (char *save = NULL, *r = strtok_r(names, ",", &save); r; r = strtok_r(NULL, ",", &save)) {
        const char *shown = r;
        for (size_t i = 0; i < sizeof role_words / sizeof role_words[0]; i++)
            if (!strcmp(r, role_words[i]))
                shown = dgettext(dom, role_words[i]);
        int n = snprintf(out + used, cap - used, "%s%s",
                         /* TRANSLATORS: between two role names of one person */
                         used ? dgettext(dom, ", ") : "", shown);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

static void person_words(const char *dom, const tlo_custody_person *p, char *out, size_t cap)
{
    char roles[400];
    if (!cap)
        return;
    if (!p) {
        /* TRANSLATORS: who an entry is by when no enrolment names its key */
        snprintf(out, cap, "%s", dgettext(dom, "an unknown key"));
        return;
    }
    if (p->roles == TLO_ROLE_CUSTODIAN) {
        /* TRANSLATORS: the vault's custodian (the program that holds the
         * keys and signs for people), as who did something */
        snprintf(out, cap, "%s", dgettext(dom, "the custodian"));
        return;
    }
    roles_words(dom, p->roles, roles, sizeof roles);
    /* TRANSLATORS: a person's name and roles: "王芳 (prosecutor)" */
    snprintf(out, cap, dgettext(dom, "%s (%s)"), p->name, roles);
}

void tlo_custody_person_words(const tlo_custody_person *p, char *out, size_t cap)
{
    person_words(TLO_TEXT_DOMAIN, p, out, cap);
}

/* ---- reading fields ---- */

/* key's value into out (cap bytes), cut at a character boundary; "" when
 * absent. Returns out. */
static const char *field(const tlo_entry *e, const char *key, char *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, key, &n);
    if (!v)
        n = 0;
    if (n > cap - 1) {
        n = cap - 1;
        while (n && (v[n] & 0xC0) == 0x80) /* v[n] starts the part cut off */
            n--;
    }
    if (n)
        memcpy(out, v, n);
    out[n] = '\0';
    return out;
}

static bool has(const tlo_entry *e, const char *key)
{
    size_t n;
    return tlo_entry_body_get(e->body, e->body_len, key, &n) != NULL;
}

static uint64_t num(const tlo_entry *e, const char *key)
{
    uint64_t x = 0;
    return tlo_entry_u64(e, key, &x) == 0 ? x : 0;
}

void tlo_custody_clock_words(uint64_t ms, char *out, size_t cap)
{
    uint64_t s = ms / 1000;
    if (ms % 1000)
        snprintf(out, cap, "%02" PRIu64 ":%02u:%02u.%03u", s / 3600, (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60), (unsigned)(ms % 1000));
    else
        snprintf(out, cap, "%02" PRIu64 ":%02u:%02u", s / 3600, (unsigned)(s / 60 % 60),
                 (unsigned)(s % 60));
}

void tlo_custody_utc_words(uint64_t ms, char *out, size_t cap)
{
    tlo_time_text(ms, out, cap); /* local, with its offset */
}

/* The words so far, appended to, and the domain they are looked up in. */
typedef struct words {
    char *out;
    size_t cap, used;
    const char *dom;
} words;

static void say(words *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(words *w, const char *fmt, ...)
{
    if (w->used + 1 >= w->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->out + w->used, w->cap - w->used, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= w->cap - w->used) {
        /* cut: not inside a character. Find where the last character kept
         * starts and drop it when its bytes did not all fit. */
        size_t k = w->cap - 1, j = k;
        while (j > w->used && ((unsigned char)w->out[j - 1] & 0xC0) == 0x80)
            j--;
        if (j > w->used) {
            unsigned char lead = (unsigned char)w->out[j - 1];
            size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
            if (j - 1 + len > k)
                k = j - 1;
        } else {
            k = w->used;
        }
        w->out[k] = '\0';
        w->used = w->cap - 1;
    } else {
        w->used += (size_t)n;
    }
}

/* ---- the nouns the sentences take (each a whole phrase of its own) ---- */

typedef char noun[TLO_NAME_MAX + 420];

/* The person a pk field names, by name ("Per Prosecutor (prosecutor)"), or
 * name_field's value, or "key XXXXXXXX". */
static const char *named_words(const words *w, const tlo_custody_describer *d, const tlo_entry *e,
                               const char *pk_field, const char *name_field, noun out)
{
    const tlo_custody_person *p = by_pk_hex(d, e, pk_field);
    char buf[TLO_NAME_MAX + 1], pk[65];
    if (p)
        person_words(w->dom, p, out, sizeof(noun));
    else if (name_field && *field(e, name_field, buf, sizeof buf))
        snprintf(out, sizeof(noun), "%s", buf);
    else
        /* TRANSLATORS: a person no enrolment names, by the first 8 hex digits of their key */
        snprintf(out, sizeof(noun), dgettext(w->dom, "key %.8s"),
                 field(e, pk_field, pk, sizeof pk));
    return out;
}

static unsigned session_no(const tlo_custody_describer *d, const char *hex)
{
    uint8_t id[16];
    const idmap_slot *s;
    if (tlo_unhex(id, 16, hex) != 0 || !(s = idmap_find(&d->sessions, id)))
        return 0;
    return s->value;
}

unsigned tlo_custody_describe_session_no(const tlo_custody_describer *d, const char *session)
{
    return session_no(d, session);
}

unsigned tlo_custody_describe_note_no(const tlo_custody_describer *d, const char *note)
{
    uint8_t id[16];
    const idmap_slot *s;
    if (tlo_unhex(id, 16, note) != 0 || !(s = idmap_find(&d->notes, id)))
        return 0;
    return s->value;
}

static const char *session_words(const words *w, const tlo_custody_describer *d, const tlo_entry *e,
                                 noun out)
{
    char s[40];
    unsigned no = session_no(d, field(e, "session", s, sizeof s));
    if (no)
        /* TRANSLATORS: the Nth session (recorded interview) of a case */
        snprintf(out, sizeof(noun), dgettext(w->dom, "session %u"), no);
    else
        /* TRANSLATORS: a session not seen yet, by the first 8 hex digits of its id */
        snprintf(out, sizeof(noun), dgettext(w->dom, "session %.8s"), s);
    return out;
}

static const char *range_words(uint64_t from, uint64_t to, noun out)
{
    char a[32], b[32];
    tlo_custody_clock_words(from, a, sizeof a);
    tlo_custody_clock_words(to, b, sizeof b);
    snprintf(out, sizeof(noun), "%s\u2013%s", a, b);
    return out;
}

static const char *note_words(const words *w, const tlo_custody_describer *d, const tlo_entry *e,
                              noun out)
{
    char n[40];
    unsigned no = tlo_custody_describe_note_no(d, field(e, "note", n, sizeof n));
    if (no)
        /* TRANSLATORS: the Nth note (a professional's record) of a case */
        snprintf(out, sizeof(noun), dgettext(w->dom, "note %u"), no);
    else
        /* TRANSLATORS: a note not seen yet, by the first 8 hex digits of its id */
        snprintf(out, sizeof(noun), dgettext(w->dom, "note %.8s"), n);
    return out;
}

/* A note's kind as a noun phrase; NULL: a kind this tellonce does not know. */
static const char *note_kind_words(const words *w, const char *k)
{
    static const struct {
        const char *kind, *words;
    } t[] = {/* TRANSLATORS: what was added: "王芳 (medical) added a physical examination note, note
                1" */
             {"exam", N_("a physical examination note")},
             {"photo", N_("photographs")},
             {"sample-collection", N_("a sample collection note")},
             {"psych", N_("a psychological care session note")},
             {"legal", N_("a legal aid note")},
             {"assessment", N_("an assessment")},
             {"followup", N_("a follow-up note")},
             {"other", N_("a note")}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(k, t[i].kind))
            return dgettext(w->dom, t[i].words);
    return NULL;
}

/* "camera 2" and "microphone 1" (the device field recording writes) in
 * words; another value as it is. */
static const char *device_words(const words *w, const char *dev, noun out)
{
    unsigned no = 0;
    char extra;
    if (sscanf(dev, "camera %u%c", &no, &extra) == 1)
        /* TRANSLATORS: the Nth camera of a room */
        snprintf(out, sizeof(noun), dgettext(w->dom, "camera %u"), no);
    else if (sscanf(dev, "microphone %u%c", &no, &extra) == 1)
        /* TRANSLATORS: the Nth microphone of a room */
        snprintf(out, sizeof(noun), dgettext(w->dom, "microphone %u"), no);
    else
        snprintf(out, sizeof(noun), "%s", dev);
    return out;
}

/* What happens after a device is lost (the then field recording writes),
 * in words; another value as it is. */
static const char *then_words(const words *w, const char *then)
{
    static const char *const t[] = {
        /* TRANSLATORS: after a camera was lost during a recording */
        N_("its track goes on as a no-signal slate"),
        /* TRANSLATORS: after a microphone was lost during a recording */
        N_("its track ends; the others go on")};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(then, t[i]))
            return dgettext(w->dom, t[i]);
    return then;
}

/* ---- learning from entries in order ---- */

static void learn(tlo_custody_describer *d, const tlo_entry *e)
{
    char hex[40];
    uint8_t id[16];
    if (!e->has_case)
        return;
    if (e->kind == TLO_ENTRY_SESSION_START &&
        tlo_unhex(id, 16, field(e, "session", hex, sizeof hex)) == 0 &&
        !idmap_find(&d->sessions, id)) {
        idmap_slot *c = idmap_put(&d->cases, e->case_id);
        idmap_slot *s = c ? idmap_put(&d->sessions, id) : NULL;
        if (s) {
            c = idmap_find(&d->cases, e->case_id); /* the put may have moved it */
            s->value = ++c->value;
        }
    }
    if (e->kind == TLO_ENTRY_NOTE && tlo_unhex(id, 16, field(e, "note", hex, sizeof hex)) == 0 &&
        !idmap_find(&d->notes, id)) {
        idmap_slot *c = idmap_put(&d->cases, e->case_id);
        idmap_slot *s = c ? idmap_put(&d->notes, id) : NULL;
        if (s) {
            c = idmap_find(&d->cases, e->case_id);
            uint32_t k;
            memcpy(&k, c->scope, 4);
            k++;
            memcpy(c->scope, &k, 4);
            s->value = k;
        }
    }
}

/* ---- the words of each kind: one sentence each, its subject (who) first ---- */

static void say_access(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                       const char *who, bool granted)
{
    char action[16], purpose[600], reason[600], g[24];
    noun range, sess;
    const char *dom = w->dom;
    field(e, "action", action, sizeof action);
    field(e, "purpose", purpose, sizeof purpose);
    session_words(w, d, e, sess);
    if (!strcmp(action, "recover")) {
        if (granted)
            /* TRANSLATORS: person, session: the custodian released the
             * session's keys to close a recording that was cut off */
            say(w,
                dgettext(dom, "%s was released the keys of %s to close it after an interruption"),
                who, sess);
        else
            say(w, dgettext(dom, "%s was refused the keys of %s to close it after an interruption"),
                who, sess);
        return;
    }
    bool view = !strcmp(action, "view");
    range_words(num(e, "from_ms"), num(e, "to_ms"), range);
    if (granted && view)
        /* TRANSLATORS: person, range of the session clock, session */
        say(w, dgettext(dom, "%s viewed %s of %s"), who, range, sess);
    else if (granted)
        /* TRANSLATORS: person, range of the session clock, session */
        say(w, dgettext(dom, "%s was released %s of %s to export"), who, range, sess);
    else if (view)
        /* TRANSLATORS: person, range of the session clock, session */
        say(w, dgettext(dom, "%s was refused a view of %s of %s"), who, range, sess);
    else
        /* TRANSLATORS: person, range of the session clock, session */
        say(w, dgettext(dom, "%s was refused an export of %s of %s"), who, range, sess);
    if (*purpose)
        /* TRANSLATORS: added to a sentence on a view or export: its purpose as typed */
        say(w, dgettext(dom, ", purpose %s"), purpose);
    if (granted) {
        field(e, "grant", g, sizeof g);
        if (!strcmp(g, "own-recording"))
            /* TRANSLATORS: added to a sentence on a view: the person recorded the session */
            say(w, "%s", dgettext(dom, " (their own recording)"));
        else if (*g)
            /* TRANSLATORS: added to a sentence on a view: the grant's entry number */
            say(w, dgettext(dom, " (grant %s)"), g);
    } else {
        /* TRANSLATORS: added to a sentence on a refusal: the reason (in English, as the ledger has
         * it) */
        say(w, dgettext(dom, ": %s"), field(e, "reason", reason, sizeof reason));
    }
}

static void say_device_event(words *w, const tlo_custody_describer *d, const tlo_entry *e)
{
    char dev[200], ev[80], msg[600], then[600], at[32];
    noun sess, device;
    const char *dom = w->dom;
    tlo_custody_clock_words(num(e, "at_ms"), at, sizeof at);
    session_words(w, d, e, sess);
    device_words(w, field(e, "device", dev, sizeof dev), device);
    if (!strcmp(field(e, "event", ev, sizeof ev), "lost"))
        /* TRANSLATORS: device ("camera 2"), session clock time, session */
        say(w, dgettext(dom, "the recording: %s lost at %s of %s"), device, at, sess);
    else
        /* TRANSLATORS: device, what happened to it (an English word from the
         * ledger), session clock time, session */
        say(w, dgettext(dom, "the recording: %s %s at %s of %s"), device, ev, at, sess);
    if (*field(e, "message", msg, sizeof msg))
        /* TRANSLATORS: the device's own message (English, from the ledger) */
        say(w, dgettext(dom, " (%s)"), msg);
    if (*field(e, "then", then, sizeof then))
        /* TRANSLATORS: what the recording did after the device was lost */
        say(w, dgettext(dom, "; %s"), then_words(w, then));
}

static void say_session_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                             const char *who)
{
    char a[600], b[600];
    noun sess, range, cams, mics;
    const char *dom = w->dom;
    session_words(w, d, e, sess);
    switch (e->kind) {
    case TLO_ENTRY_SESSION_START: {
        unsigned long long nc = num(e, "cameras"), nm = num(e, "microphones");
        snprintf(cams, sizeof cams, dngettext(dom, "%llu camera", "%llu cameras", nc), nc);
        snprintf(mics, sizeof mics, dngettext(dom, "%llu microphone", "%llu microphones", nm), nm);
        /* TRANSLATORS: person, session, room name, "2 cameras", "1 microphone" */
        say(w, dgettext(dom, "%s started %s in room %s (%s, %s)"), who, sess,
            field(e, "room", a, sizeof a), cams, mics);
        break;
    }
    case TLO_ENTRY_SEGMENT:
        range_words(num(e, "start_ms"), num(e, "end_ms"), range);
        if (has(e, "recovered_from"))
            /* TRANSLATORS: person, segment number, session, range of the session clock, bytes */
            say(w,
                dgettext(dom, "%s sealed segment %llu of %s, %s (%llu bytes), kept from an "
                              "interrupted recording"),
                who, (unsigned long long)num(e, "index"), sess, range,
                (unsigned long long)num(e, "bytes"));
        else
            /* TRANSLATORS: person, segment number, session, range of the session clock, bytes */
            say(w, dgettext(dom, "%s sealed segment %llu of %s, %s (%llu bytes)"), who,
                (unsigned long long)num(e, "index"), sess, range,
                (unsigned long long)num(e, "bytes"));
        break;
    case TLO_ENTRY_MARKER:
        tlo_custody_clock_words(num(e, "at_ms"), b, sizeof b);
        /* TRANSLATORS: person, session clock time, session, the marker's text as typed */
        say(w, dgettext(dom, "%s marked %s of %s: \u201c%s\u201d"), who, b, sess,
            field(e, "text", a, sizeof a));
        break;
    case TLO_ENTRY_SESSION_END: {
        bool failed = !strcmp(field(e, "status", a, sizeof a), "failed");
        tlo_custody_clock_words(num(e, "media_ms"), b, sizeof b);
        if (failed)
            /* TRANSLATORS: person, session, length recorded, segments, markers, device events */
            say(w,
                dgettext(dom, "%s ended (failed) %s: %s recorded, %llu segments, %llu markers, "
                              "%llu device events"),
                who, sess, b, (unsigned long long)num(e, "segments"),
                (unsigned long long)num(e, "markers"), (unsigned long long)num(e, "device_events"));
        else
            /* TRANSLATORS: person, session, length recorded, segments, markers, device events */
            say(w,
                dgettext(dom, "%s ended %s: %s recorded, %llu segments, %llu markers, %llu device "
                              "events"),
                who, sess, b, (unsigned long long)num(e, "segments"),
                (unsigned long long)num(e, "markers"), (unsigned long long)num(e, "device_events"));
        break;
    }
    case TLO_ENTRY_SESSION_RECOVERED:
        tlo_custody_clock_words(num(e, "recovered_ms"), b, sizeof b);
        /* TRANSLATORS: person, session, segments, of them kept from unfinished files, length kept
         */
        say(w,
            dgettext(dom, "%s closed %s after an interruption: %llu segments, %llu kept from "
                          "unfinished files (%s)"),
            who, sess, (unsigned long long)num(e, "segments"),
            (unsigned long long)num(e, "recovered_segments"), b);
        break;
    default:
        break;
    }
}

static void say_grant_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                           const char *who)
{
    char a[600], b[600], act[40];
    noun to, sess, range, note;
    const char *dom = w->dom;
    unsigned long long seq = (unsigned long long)e->seq;
    tlo_custody_utc_words(num(e, "expires_ms"), b, sizeof b);
    field(e, "purpose", a, sizeof a);
    named_words(w, d, e, "to", "to_name", to);
    if (e->kind == TLO_ENTRY_NOTE_GRANT) {
        note_words(w, d, e, note);
        /* TRANSLATORS: granter, person granted, note, expiry (local time), purpose, grant number */
        say(w, dgettext(dom, "%s granted %s the reading of %s until %s, purpose %s (grant %llu)"),
            who, to, note, b, a, seq);
        return;
    }
    range_words(num(e, "from_ms"), num(e, "until_ms"), range);
    session_words(w, d, e, sess);
    field(e, "actions", act, sizeof act);
    if (!strcmp(act, "view"))
        /* TRANSLATORS: granter, person granted, range of the session clock, session, expiry
         * (local time), purpose, grant number */
        say(w, dgettext(dom, "%s granted %s a view of %s of %s until %s, purpose %s (grant %llu)"),
            who, to, range, sess, b, a, seq);
    else if (!strcmp(act, "export"))
        /* TRANSLATORS: as "%s granted %s a view of ...", for an export */
        say(w,
            dgettext(dom, "%s granted %s an export of %s of %s until %s, purpose %s (grant %llu)"),
            who, to, range, sess, b, a, seq);
    else
        /* TRANSLATORS: as "%s granted %s a view of ...", for a view and an export */
        say(w,
            dgettext(dom, "%s granted %s a view and an export of %s of %s until %s, purpose %s "
                          "(grant %llu)"),
            who, to, range, sess, b, a, seq);
}

static void say_note_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                          const char *who)
{
    char a[600], b[600], c[200];
    noun note, sess, files;
    const char *dom = w->dom;
    note_words(w, d, e, note);
    if (e->kind == TLO_ENTRY_NOTE_ACCESS) {
        bool granted = !strcmp(field(e, "result", a, sizeof a), "granted");
        bool get = !strcmp(field(e, "action", b, sizeof b), "get");
        if (!granted) {
            field(e, "reason", b, sizeof b);
            if (get)
                /* TRANSLATORS: person, note, the reason (English, from the ledger) */
                say(w, dgettext(dom, "%s was refused reading the files of %s: %s"), who, note, b);
            else
                /* TRANSLATORS: person, note, the reason (English, from the ledger) */
                say(w, dgettext(dom, "%s was refused reading %s: %s"), who, note, b);
            return;
        }
        if (get)
            /* TRANSLATORS: person, note */
            say(w, dgettext(dom, "%s read the files of %s"), who, note);
        else
            /* TRANSLATORS: person, note */
            say(w, dgettext(dom, "%s read %s"), who, note);
        field(e, "basis", a, sizeof a);
        if (!strcmp(a, "grant"))
            /* TRANSLATORS: added to "%s read %s": the grant's entry number, its purpose */
            say(w, dgettext(dom, " by grant %s, purpose %s"), field(e, "grant", c, sizeof c),
                field(e, "purpose", b, sizeof b));
        else if (!strcmp(a, "author"))
            /* TRANSLATORS: added to "%s read %s" */
            say(w, "%s", dgettext(dom, " as its author"));
        else if (!strcmp(a, "profession"))
            /* TRANSLATORS: added to "%s read %s": the reader has the profession of the note's
             * author */
            say(w, "%s", dgettext(dom, " as one of its author's profession on the case"));
        return;
    }
    uint64_t version = num(e, "version"), nfiles = num(e, "files");
    snprintf(files, sizeof files, dngettext(dom, "%llu file", "%llu files", nfiles),
             (unsigned long long)nfiles);
    if (version > 1) {
        /* TRANSLATORS: person, note, version number, "2 files", bytes */
        say(w, dgettext(dom, "%s amended %s (version %llu): %s, %llu bytes sealed"), who, note,
            (unsigned long long)version, files, (unsigned long long)num(e, "bytes"));
    } else {
        const char *k = note_kind_words(w, field(e, "note_kind", c, sizeof c));
        if (k)
            /* TRANSLATORS: person, what was added ("a physical examination note"), note,
             * "2 files", bytes */
            say(w, dgettext(dom, "%s added %s, %s: %s, %llu bytes sealed"), who, k, note, files,
                (unsigned long long)num(e, "bytes"));
        else
            /* TRANSLATORS: person, a kind of note this tellonce does not know (as in the
             * ledger), note, "2 files", bytes */
            say(w, dgettext(dom, "%s added a note of kind %s, %s: %s, %llu bytes sealed"), who, c,
                note, files, (unsigned long long)num(e, "bytes"));
    }
    if (has(e, "session") && has(e, "at_ms")) {
        tlo_custody_clock_words(num(e, "at_ms"), b, sizeof b);
        /* TRANSLATORS: added to a note's sentence: session clock time, session */
        say(w, dgettext(dom, ", about %s of %s"), b, session_words(w, d, e, sess));
    }
}

static void say_sample_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                            const char *who)
{
    char a[600], b[600], c[200];
    noun to, note;
    const char *dom = w->dom;
    field(e, "label", a, sizeof a);
    switch (e->kind) {
    case TLO_ENTRY_SAMPLE_REGISTER:
        field(e, "sample_kind", c, sizeof c);
        field(e, "seal_number", b, sizeof b);
        if (has(e, "note"))
            /* TRANSLATORS: person, sample label, sample kind (as typed), seal number, note */
            say(w, dgettext(dom, "%s registered sample %s (%s, seal %s), collected as in %s"), who,
                a, c, b, note_words(w, d, e, note));
        else
            /* TRANSLATORS: person, sample label, sample kind (as typed), seal number */
            say(w, dgettext(dom, "%s registered sample %s (%s, seal %s)"), who, a, c, b);
        break;
    case TLO_ENTRY_SAMPLE_TRANSFER:
        named_words(w, d, e, "to", "to_name", to);
        if (*field(e, "place", b, sizeof b))
            /* TRANSLATORS: person, sample label, receiving person, place (as typed) */
            say(w, dgettext(dom, "%s handed sample %s to %s at %s (in transfer until received)"),
                who, a, to, b);
        else
            /* TRANSLATORS: person, sample label, receiving person */
            say(w, dgettext(dom, "%s handed sample %s to %s (in transfer until received)"), who, a,
                to);
        break;
    case TLO_ENTRY_SAMPLE_RECEIVE:
        field(e, "transfer", c, sizeof c);
        if (!strcmp(field(e, "seal_intact", b, sizeof b), "no"))
            /* TRANSLATORS: person, sample label, transfer entry number; the seal was found broken
             */
            say(w, dgettext(dom, "%s received sample %s (transfer %s), SEAL BROKEN"), who, a, c);
        else
            /* TRANSLATORS: person, sample label, transfer entry number */
            say(w, dgettext(dom, "%s received sample %s (transfer %s), seal intact"), who, a, c);
        break;
    case TLO_ENTRY_SAMPLE_DISPOSE:
        /* TRANSLATORS: person, sample label, the reason as typed */
        say(w, dgettext(dom, "%s disposed of sample %s: %s"), who, a,
            field(e, "reason", b, sizeof b));
        break;
    default:
        break;
    }
}

static void say_people_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                            const char *who)
{
    char a[600], b[600], c[200];
    noun whom;
    const char *dom = w->dom;
    switch (e->kind) {
    case TLO_ENTRY_USER_ADD: {
        unsigned roles = 0;
        field(e, "roles", b, sizeof b);
        if (tlo_roles_parse(b, strlen(b), &roles) == 0)
            roles_words(dom, roles, b, sizeof b);
        field(e, "name", a, sizeof a);
        if (has(e, "activate_by_ms")) {
            tlo_custody_utc_words(num(e, "activate_by_ms"), c, sizeof c);
            /* TRANSLATORS: administrator, new person's name, roles, a local time */
            say(w, dgettext(dom, "%s enrolled %s as %s, with a one-time code valid until %s"), who,
                a, b, c);
        } else {
            /* TRANSLATORS: administrator, new person's name, roles */
            say(w, dgettext(dom, "%s enrolled %s as %s"), who, a, b);
        }
        break;
    }
    case TLO_ENTRY_USER_REVOKE:
        named_words(w, d, e, "pk", NULL, whom);
        if (*field(e, "reason", a, sizeof a))
            /* TRANSLATORS: administrator, person revoked, the reason as typed */
            say(w, dgettext(dom, "%s revoked the key of %s: %s"), who, whom, a);
        else
            /* TRANSLATORS: administrator, person revoked */
            say(w, dgettext(dom, "%s revoked the key of %s"), who, whom);
        break;
    case TLO_ENTRY_USER_ACTIVATED:
        /* TRANSLATORS: person */
        say(w, dgettext(dom, "%s activated their enrolment with a passphrase of their own"), who);
        break;
    case TLO_ENTRY_UNLOCK_FAILED:
        field(e, "command", a, sizeof a);
        if (*field(e, "client_uid", c, sizeof c))
            /* TRANSLATORS: person, the command (as typed), the operating system's user id */
            say(w,
                dgettext(dom, "%s was not unlocked: a wrong passphrase for '%s' (OS user %s, "
                              "through the custodian service)"),
                who, a, c);
        else
            /* TRANSLATORS: person, the command (as typed) */
            say(w, dgettext(dom, "%s was not unlocked: a wrong passphrase for '%s'"), who, a);
        break;
    case TLO_ENTRY_VAULT_SETTING:
        field(e, "key", c, sizeof c);
        if (*field(e, "value", a, sizeof a))
            /* TRANSLATORS: administrator, a setting's name (as typed: timezone,
             * default-room), its value */
            say(w, dgettext(dom, "%s set the vault's %s to %s"), who, c, a);
        else
            /* TRANSLATORS: administrator, a setting's name (as typed) */
            say(w, dgettext(dom, "%s unset the vault's %s"), who, c);
        break;
    default:
        break;
    }
}

static void say_case_view(words *w, const tlo_entry *e, const char *who)
{
    char a[200], b[200], c[600];
    const char *dom = w->dom;
    bool numbers = !strcmp(field(e, "fields", a, sizeof a), "case_number");
    bool shown = !strcmp(field(e, "result", b, sizeof b), "shown");
    field(e, "reason", c, sizeof c);
    if (shown && numbers)
        /* TRANSLATORS: person */
        say(w, dgettext(dom, "%s was shown the case's number"), who);
    else if (shown)
        /* TRANSLATORS: person */
        say(w, dgettext(dom, "%s was shown the case's sealed record"), who);
    else if (numbers)
        /* TRANSLATORS: person, the reason (English, from the ledger) */
        say(w, dgettext(dom, "%s was refused the case's number: %s"), who, c);
    else
        /* TRANSLATORS: person, the reason (English, from the ledger) */
        say(w, dgettext(dom, "%s was refused the case's sealed record: %s"), who, c);
}

static void say_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e, const char *who)
{
    char a[600], b[600];
    noun range, sess;
    const char *dom = w->dom;
    switch (e->kind) {
    case TLO_ENTRY_GENESIS:
        /* TRANSLATORS: person, the ledger's origin (an id) */
        say(w, dgettext(dom, "%s created the vault (ledger %s)"), who,
            field(e, "origin", a, sizeof a));
        break;
    case TLO_ENTRY_USER_ADD:
    case TLO_ENTRY_USER_REVOKE:
    case TLO_ENTRY_USER_ACTIVATED:
    case TLO_ENTRY_UNLOCK_FAILED:
    case TLO_ENTRY_VAULT_SETTING:
        say_people_kind(w, d, e, who);
        break;
    case TLO_ENTRY_CASE_OPEN:
        /* TRANSLATORS: person */
        say(w, dgettext(dom, "%s opened the case"), who);
        break;
    case TLO_ENTRY_CASE_VIEW:
        say_case_view(w, e, who);
        break;
    case TLO_ENTRY_SESSION_START:
    case TLO_ENTRY_SEGMENT:
    case TLO_ENTRY_MARKER:
    case TLO_ENTRY_SESSION_END:
    case TLO_ENTRY_SESSION_RECOVERED:
        say_session_kind(w, d, e, who);
        break;
    case TLO_ENTRY_DEVICE_EVENT:
        say_device_event(w, d, e);
        break;
    case TLO_ENTRY_GRANT:
    case TLO_ENTRY_NOTE_GRANT:
        say_grant_kind(w, d, e, who);
        break;
    case TLO_ENTRY_GRANT_REVOKE:
        field(e, "grant", a, sizeof a);
        if (*field(e, "reason", b, sizeof b))
            /* TRANSLATORS: person, grant's entry number, the reason as typed */
            say(w, dgettext(dom, "%s revoked grant %s: %s"), who, a, b);
        else
            /* TRANSLATORS: person, grant's entry number */
            say(w, dgettext(dom, "%s revoked grant %s"), who, a);
        break;
    case TLO_ENTRY_ACCESS_GRANTED:
        say_access(w, d, e, who, true);
        break;
    case TLO_ENTRY_ACCESS_DENIED:
        say_access(w, d, e, who, false);
        break;
    case TLO_ENTRY_EXPORT:
        /* TRANSLATORS: person, range of the session clock, session, bytes, SHA-256 (hex) */
        say(w, dgettext(dom, "%s exported %s of %s (%llu bytes, SHA-256 %s)"), who,
            range_words(num(e, "clip_start_ms"), num(e, "clip_end_ms"), range),
            session_words(w, d, e, sess), (unsigned long long)num(e, "bytes"),
            field(e, "clip_sha256", a, 65));
        break;
    case TLO_ENTRY_REQUEST_REFUSED:
        field(e, "reason", b, sizeof b);
        if (*field(e, "command", a, sizeof a))
            /* TRANSLATORS: operating system user id, process id, command (as typed), reason
             * (English, from the ledger) */
            say(w,
                dgettext(dom, "the custodian service: a request of OS user %llu (process %llu) "
                              "for '%s' was refused: %s"),
                (unsigned long long)num(e, "client_uid"), (unsigned long long)num(e, "client_pid"),
                a, b);
        else
            /* TRANSLATORS: operating system user id, process id, reason (English, from the
             * ledger) */
            say(w,
                dgettext(dom, "the custodian service: a request of OS user %llu (process %llu) "
                              "was refused: %s"),
                (unsigned long long)num(e, "client_uid"), (unsigned long long)num(e, "client_pid"),
                b);
        break;
    case TLO_ENTRY_ACTION_REFUSED:
        /* TRANSLATORS: person, the action (as typed), the reason (English, from the ledger) */
        say(w, dgettext(dom, "%s was refused '%s': %s"), who, field(e, "action", a, sizeof a),
            field(e, "reason", b, sizeof b));
        break;
    case TLO_ENTRY_NOTE:
    case TLO_ENTRY_NOTE_ACCESS:
        say_note_kind(w, d, e, who);
        break;
    case TLO_ENTRY_SAMPLE_REGISTER:
    case TLO_ENTRY_SAMPLE_TRANSFER:
    case TLO_ENTRY_SAMPLE_RECEIVE:
    case TLO_ENTRY_SAMPLE_DISPOSE:
        say_sample_kind(w, d, e, who);
        break;
    case TLO_ENTRY_KEY_DESTROYED:
        /* TRANSLATORS: person */
        say(w, dgettext(dom, "%s destroyed the case key (the case can no longer be read)"), who);
        break;
    case TLO_ENTRY_CHECKPOINT:
        /* TRANSLATORS: person, number of entries, the first 16 hex digits of the root hash */
        say(w, dgettext(dom, "%s signed a checkpoint of the first %llu entries (root %.16s\u2026)"),
            who, (unsigned long long)num(e, "size"), field(e, "root", a, sizeof a));
        break;
    default:
        /* TRANSLATORS: person, the entry's kind number */
        say(w, dgettext(dom, "%s logged an entry of kind %u this tellonce does not know"), who,
            (unsigned)e->kind);
        break;
    }
}

void tlo_custody_describe(tlo_custody_describer *d, const tlo_entry *e, char *out, size_t cap)
{
    words w = {out, cap, 0, d->english ? ENGLISH_ONLY_DOMAIN : TLO_TEXT_DOMAIN};
    noun who;
    if (!cap)
        return;
    out[0] = '\0';
    learn(d, e);
    person_words(w.dom, tlo_custody_describe_person(d, e), who, sizeof who);
    say_kind(&w, d, e, who);
}
