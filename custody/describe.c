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
    idmap by_actor; /* the first 16 bytes of actor (SHA-256 of pk) -> index + 1 */
    idmap sessions; /* session id -> its number in its case */
    idmap notes;    /* note id -> its number in its case */
    idmap cases;    /* case id -> sessions so far (value), notes so far (scope[0..3]) */
};

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

void tlo_custody_person_words(const tlo_custody_person *p, char *out, size_t cap)
{
    char roles[200];
    if (!cap)
        return;
    if (!p) {
        snprintf(out, cap, "an unknown key");
        return;
    }
    if (p->roles == TLO_ROLE_CUSTODIAN) {
        snprintf(out, cap, "the custodian");
        return;
    }
    tlo_roles_format(p->roles, ", ", roles, sizeof roles);
    snprintf(out, cap, "%s (%s)", p->name, roles);
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
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, cap, "%" PRIu64 " ms", ms);
}

/* The words so far, appended to. */
typedef struct words {
    char *out;
    size_t cap, used;
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

static void say_person(words *w, const tlo_custody_person *p)
{
    char who[TLO_NAME_MAX + 220];
    tlo_custody_person_words(p, who, sizeof who);
    say(w, "%s", who);
}

/* The person a pk field names, by name ("Per Prosecutor (prosecutor)"), or
 * name_field's value, or "key XXXXXXXX". */
static void say_named(words *w, const tlo_custody_describer *d, const tlo_entry *e,
                      const char *pk_field, const char *name_field)
{
    const tlo_custody_person *p = by_pk_hex(d, e, pk_field);
    char buf[TLO_NAME_MAX + 1], pk[65];
    if (p)
        say_person(w, p);
    else if (name_field && *field(e, name_field, buf, sizeof buf))
        say(w, "%s", buf);
    else
        say(w, "key %.8s", field(e, pk_field, pk, sizeof pk));
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

static void say_session(words *w, const tlo_custody_describer *d, const tlo_entry *e)
{
    char s[40];
    unsigned no = session_no(d, field(e, "session", s, sizeof s));
    if (no)
        say(w, "session %u", no);
    else
        say(w, "session %.8s", s);
}

static void say_range(words *w, uint64_t from, uint64_t to)
{
    char a[32], b[32];
    tlo_custody_clock_words(from, a, sizeof a);
    tlo_custody_clock_words(to, b, sizeof b);
    say(w, "%s\u2013%s", a, b);
}

static void say_note(words *w, const tlo_custody_describer *d, const tlo_entry *e)
{
    char n[40];
    unsigned no = tlo_custody_describe_note_no(d, field(e, "note", n, sizeof n));
    if (no)
        say(w, "note %u", no);
    else
        say(w, "note %.8s", n);
}

static const char *note_kind_words(const char *k)
{
    static const struct {
        const char *kind, *words;
    } t[] = {{"exam", "a physical examination note"},
             {"photo", "photographs"},
             {"sample-collection", "a sample collection note"},
             {"psych", "a psychological care session note"},
             {"legal", "a legal aid note"},
             {"assessment", "an assessment"},
             {"followup", "a follow-up note"},
             {"other", "a note"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(k, t[i].kind))
            return t[i].words;
    return NULL;
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

/* ---- the words of each kind ---- */

static void say_access(words *w, const tlo_custody_describer *d, const tlo_entry *e, bool granted)
{
    char action[16], purpose[600], reason[600], g[24];
    field(e, "action", action, sizeof action);
    field(e, "purpose", purpose, sizeof purpose);
    if (!strcmp(action, "recover")) {
        say(w, " %s the keys of ", granted ? "was released" : "was refused");
        say_session(w, d, e);
        say(w, " to close it after an interruption");
        return;
    }
    bool view = !strcmp(action, "view");
    if (granted)
        say(w, view ? " viewed " : " was released ");
    else
        say(w, " was refused %s of ", view ? "a view" : "an export");
    say_range(w, num(e, "from_ms"), num(e, "to_ms"));
    say(w, " of ");
    say_session(w, d, e);
    if (granted && !view)
        say(w, " to export");
    if (*purpose)
        say(w, ", purpose %s", purpose);
    if (granted) {
        field(e, "grant", g, sizeof g);
        if (!strcmp(g, "own-recording"))
            say(w, " (their own recording)");
        else if (*g)
            say(w, " (grant %s)", g);
    } else {
        say(w, ": %s", field(e, "reason", reason, sizeof reason));
    }
}

/* A vault-setting entry (kind 5, custody/settings.c). */
static void say_setting(words *w, const tlo_entry *e)
{
    char key[64], value[1100];
    field(e, "key", key, sizeof key);
    if (*field(e, "value", value, sizeof value))
        say(w, " set the vault's %s to %s", key, value);
    else
        say(w, " unset the vault's %s", key);
}

static void say_kind(words *w, const tlo_custody_describer *d, const tlo_entry *e)
{
    char a[600], b[600], c[200];
    switch (e->kind) {
    case TLO_ENTRY_GENESIS:
        say(w, " created the vault (ledger %s)", field(e, "origin", a, sizeof a));
        break;
    case TLO_ENTRY_USER_ADD: {
        unsigned roles = 0;
        field(e, "roles", b, sizeof b);
        if (tlo_roles_parse(b, strlen(b), &roles) == 0)
            tlo_roles_format(roles, ", ", b, sizeof b);
        say(w, " enrolled %s as %s", field(e, "name", a, sizeof a), b);
        if (has(e, "activate_by_ms")) {
            tlo_custody_utc_words(num(e, "activate_by_ms"), c, sizeof c);
            say(w, ", with a one-time code valid until %s", c);
        }
        break;
    }
    case TLO_ENTRY_USER_REVOKE:
        say(w, " revoked the key of ");
        say_named(w, d, e, "pk", NULL);
        if (*field(e, "reason", a, sizeof a))
            say(w, ": %s", a);
        break;
    case TLO_ENTRY_USER_ACTIVATED:
        say(w, " activated their enrolment with a passphrase of their own");
        break;
    case TLO_ENTRY_VAULT_SETTING:
        say_setting(w, e);
        break;
    case TLO_ENTRY_CASE_OPEN:
        say(w, " opened the case");
        break;
    case TLO_ENTRY_CASE_VIEW: {
        bool numbers = !strcmp(field(e, "fields", a, sizeof a), "case_number");
        bool shown = !strcmp(field(e, "result", b, sizeof b), "shown");
        if (shown)
            say(w,
                numbers ? " was shown the case's number" : " was shown the case's sealed record");
        else
            say(w, " was refused the case's %s: %s", numbers ? "number" : "sealed record",
                field(e, "reason", c, sizeof c));
        break;
    }
    case TLO_ENTRY_SESSION_START:
        say(w, " started ");
        say_session(w, d, e);
        say(w, " in room %s (%llu camera%s, %llu microphone%s)", field(e, "room", a, sizeof a),
            (unsigned long long)num(e, "cameras"), num(e, "cameras") == 1 ? "" : "s",
            (unsigned long long)num(e, "microphones"), num(e, "microphones") == 1 ? "" : "s");
        break;
    case TLO_ENTRY_SEGMENT:
        say(w, " sealed segment %llu of ", (unsigned long long)num(e, "index"));
        say_session(w, d, e);
        say(w, ", ");
        say_range(w, num(e, "start_ms"), num(e, "end_ms"));
        say(w, " (%llu bytes)%s", (unsigned long long)num(e, "bytes"),
            has(e, "recovered_from") ? ", kept from an interrupted recording" : "");
        break;
    case TLO_ENTRY_MARKER:
        tlo_custody_clock_words(num(e, "at_ms"), b, sizeof b);
        say(w, " marked %s of ", b);
        say_session(w, d, e);
        say(w, ": \u201c%s\u201d", field(e, "text", a, sizeof a));
        break;
    case TLO_ENTRY_SESSION_END:
        say(w, " %s ",
            !strcmp(field(e, "status", a, sizeof a), "failed") ? "ended (failed)" : "ended");
        say_session(w, d, e);
        tlo_custody_clock_words(num(e, "media_ms"), b, sizeof b);
        say(w, ": %s recorded, %llu segments, %llu markers, %llu device events", b,
            (unsigned long long)num(e, "segments"), (unsigned long long)num(e, "markers"),
            (unsigned long long)num(e, "device_events"));
        break;
    case TLO_ENTRY_SESSION_RECOVERED:
        say(w, " closed ");
        say_session(w, d, e);
        tlo_custody_clock_words(num(e, "recovered_ms"), b, sizeof b);
        say(w, " after an interruption: %llu segments, %llu kept from unfinished files (%s)",
            (unsigned long long)num(e, "segments"),
            (unsigned long long)num(e, "recovered_segments"), b);
        break;
    case TLO_ENTRY_DEVICE_EVENT:
        tlo_custody_clock_words(num(e, "at_ms"), b, sizeof b);
        say(w, ": %s %s at %s of ", field(e, "device", a, sizeof a), field(e, "event", c, sizeof c),
            b);
        say_session(w, d, e);
        if (*field(e, "message", a, sizeof a))
            say(w, " (%s)", a);
        if (*field(e, "then", a, sizeof a))
            say(w, "; %s", a);
        break;
    case TLO_ENTRY_GRANT:
        say(w, " granted ");
        say_named(w, d, e, "to", "to_name");
        field(e, "actions", a, sizeof a);
        say(w, " %s of ",
            !strcmp(a, "view")     ? "a view"
            : !strcmp(a, "export") ? "an export"
                                   : "a view and an export");
        say_range(w, num(e, "from_ms"), num(e, "until_ms"));
        say(w, " of ");
        say_session(w, d, e);
        tlo_custody_utc_words(num(e, "expires_ms"), b, sizeof b);
        say(w, " until %s, purpose %s (grant %llu)", b, field(e, "purpose", a, sizeof a),
            (unsigned long long)e->seq);
        break;
    case TLO_ENTRY_NOTE_GRANT:
        say(w, " granted ");
        say_named(w, d, e, "to", "to_name");
        say(w, " the reading of ");
        say_note(w, d, e);
        tlo_custody_utc_words(num(e, "expires_ms"), b, sizeof b);
        say(w, " until %s, purpose %s (grant %llu)", b, field(e, "purpose", a, sizeof a),
            (unsigned long long)e->seq);
        break;
    case TLO_ENTRY_GRANT_REVOKE:
        say(w, " revoked grant %s", field(e, "grant", a, sizeof a));
        if (*field(e, "reason", b, sizeof b))
            say(w, ": %s", b);
        break;
    case TLO_ENTRY_ACCESS_GRANTED:
        say_access(w, d, e, true);
        break;
    case TLO_ENTRY_ACCESS_DENIED:
        say_access(w, d, e, false);
        break;
    case TLO_ENTRY_EXPORT:
        say(w, " exported ");
        say_range(w, num(e, "clip_start_ms"), num(e, "clip_end_ms"));
        say(w, " of ");
        say_session(w, d, e);
        say(w, " (%llu bytes, SHA-256 %s)", (unsigned long long)num(e, "bytes"),
            field(e, "clip_sha256", a, 65 < sizeof a ? 65 : sizeof a));
        break;
    case TLO_ENTRY_REQUEST_REFUSED:
        say(w, ": a request of OS user %llu (process %llu)",
            (unsigned long long)num(e, "client_uid"), (unsigned long long)num(e, "client_pid"));
        if (*field(e, "command", a, sizeof a))
            say(w, " for '%s'", a);
        say(w, " was refused: %s", field(e, "reason", b, sizeof b));
        break;
    case TLO_ENTRY_ACTION_REFUSED:
        say(w, " was refused '%s': %s", field(e, "action", a, sizeof a),
            field(e, "reason", b, sizeof b));
        break;
    case TLO_ENTRY_NOTE: {
        uint64_t version = num(e, "version");
        const char *k = note_kind_words(field(e, "note_kind", c, sizeof c));
        if (version > 1) {
            say(w, " amended ");
            say_note(w, d, e);
            say(w, " (version %llu)", (unsigned long long)version);
        } else {
            say(w, " added %s%s%s, ", k ? k : "a note of kind ", k ? "" : c, "");
            say_note(w, d, e);
        }
        say(w, ": %llu file%s, %llu bytes sealed", (unsigned long long)num(e, "files"),
            num(e, "files") == 1 ? "" : "s", (unsigned long long)num(e, "bytes"));
        if (has(e, "session") && has(e, "at_ms")) {
            tlo_custody_clock_words(num(e, "at_ms"), b, sizeof b);
            say(w, ", about %s of ", b);
            say_session(w, d, e);
        }
        break;
    }
    case TLO_ENTRY_NOTE_ACCESS: {
        bool granted = !strcmp(field(e, "result", a, sizeof a), "granted");
        const char *verb = !strcmp(field(e, "action", b, sizeof b), "get") ? "the files of" : "";
        say(w, granted ? " read %s%s" : " was refused reading %s%s", verb, *verb ? " " : "");
        say_note(w, d, e);
        if (granted) {
            field(e, "basis", a, sizeof a);
            if (!strcmp(a, "grant"))
                say(w, " by grant %s, purpose %s", field(e, "grant", c, sizeof c),
                    field(e, "purpose", b, sizeof b));
            else if (!strcmp(a, "author"))
                say(w, " as its author");
            else if (!strcmp(a, "profession"))
                say(w, " as one of its author's profession on the case");
        } else {
            say(w, ": %s", field(e, "reason", b, sizeof b));
        }
        break;
    }
    case TLO_ENTRY_SAMPLE_REGISTER:
        say(w, " registered sample %s (%s, seal %s)", field(e, "label", a, sizeof a),
            field(e, "sample_kind", c, sizeof c), field(e, "seal_number", b, sizeof b));
        if (has(e, "note")) {
            say(w, ", collected as in ");
            say_note(w, d, e);
        }
        break;
    case TLO_ENTRY_SAMPLE_TRANSFER:
        say(w, " handed sample %s to ", field(e, "label", a, sizeof a));
        say_named(w, d, e, "to", "to_name");
        if (*field(e, "place", b, sizeof b))
            say(w, " at %s", b);
        say(w, " (in transfer until received)");
        break;
    case TLO_ENTRY_SAMPLE_RECEIVE:
        say(w, " received sample %s (transfer %s), %s", field(e, "label", a, sizeof a),
            field(e, "transfer", c, sizeof c),
            !strcmp(field(e, "seal_intact", b, sizeof b), "no") ? "SEAL BROKEN" : "seal intact");
        break;
    case TLO_ENTRY_SAMPLE_DISPOSE:
        say(w, " disposed of sample %s: %s", field(e, "label", a, sizeof a),
            field(e, "reason", b, sizeof b));
        break;
    case TLO_ENTRY_KEY_DESTROYED:
        say(w, " destroyed the case key (the case can no longer be read)");
        break;
    case TLO_ENTRY_CHECKPOINT:
        say(w, " signed a checkpoint of the first %llu entries (root %.16s\u2026)",
            (unsigned long long)num(e, "size"), field(e, "root", a, sizeof a));
        break;
    default:
        say(w, " logged an entry of kind %u this tellonce does not know", (unsigned)e->kind);
        break;
    }
}

void tlo_custody_describe(tlo_custody_describer *d, const tlo_entry *e, char *out, size_t cap)
{
    words w = {out, cap, 0};
    if (!cap)
        return;
    out[0] = '\0';
    learn(d, e);
    /* Entries a device or the ledger itself stands behind start with their kind. */
    if (e->kind == TLO_ENTRY_DEVICE_EVENT)
        say(&w, "the recording");
    else if (e->kind == TLO_ENTRY_REQUEST_REFUSED)
        say(&w, "the custodian service");
    else
        say_person(&w, tlo_custody_describe_person(d, e));
    say_kind(&w, d, e);
}
