/* The kinds' rules and the verifier's state: see rules.h. */
#include "rules.h"
#include "chain.h"
#include "merkle.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ADMIN TLO_ROLE_ADMIN
#define INTERVIEWER TLO_ROLE_INTERVIEWER
#define CUSTODIAN TLO_ROLE_CUSTODIAN
#define SESSION TLO_SIGNER_SESSION
#define PERSON TLO_ROLES_PERSON
/* Who may add a note of some kind; custody/roles.c says which kind. */
#define NOTE_AUTHORS                                                                               \
    (TLO_ROLE_MEDICAL | TLO_ROLE_PSYCHOLOGIST | TLO_ROLE_LEGAL_AID | TLO_ROLE_SOCIAL_WORKER |      \
     TLO_ROLE_INTERVIEWER)
/* Who may hold a sample: anyone but an auditor (custody/samples.c checks
 * that the signer holds it, or is the one it was handed to). */
#define HOLDERS (PERSON & ~(unsigned)TLO_ROLE_AUDITOR)

/* The table. docs/ledger.md "Kinds" prints it; keep the two the same. */
static const tlo_kind_rule rules[] = {
    {TLO_ENTRY_GENESIS,
     ADMIN,
     0,
     {"admin.box_pk", "admin.name", "admin.pk", "custodian.box_pk", "custodian.pk", "custodian.sig",
      "origin"},
     "the first administrator"},
    {TLO_ENTRY_USER_ADD, ADMIN, 0, {"box_pk", "name", "pk", "roles"}, "an administrator"},
    {TLO_ENTRY_USER_REVOKE, ADMIN, 0, {"pk"}, "an administrator"},
    {TLO_ENTRY_USER_ACTIVATED,
     PERSON,
     0,
     {"pk"},
     "the person it activates, with their own enrolled key"},
    /* Which keys and values are allowed is the custody core's (custody/settings.c):
     * the chain knows nothing of time zones or rooms. */
    {TLO_ENTRY_VAULT_SETTING, ADMIN, 0, {"key", "value"}, "an administrator"},
    {TLO_ENTRY_CASE_OPEN,
     INTERVIEWER | ADMIN,
     1,
     {"info_object", "info_sha256", "wrapped_key_sha256"},
     "an interviewer or an administrator"},
    {TLO_ENTRY_CASE_VIEW, CUSTODIAN, 1, {"actor", "result"}, "the custodian"},
    {TLO_ENTRY_SESSION_START,
     INTERVIEWER,
     1,
     {"cameras", "microphones", "room", "session"},
     "an interviewer"},
    {TLO_ENTRY_SEGMENT,
     SESSION,
     1,
     {"bytes", "ciphertext_sha256", "end_ms", "index", "object", "plaintext_sha256", "session",
      "start_ms"},
     "the key that started the session (the custodian for a recovered segment)"},
    {TLO_ENTRY_MARKER,
     SESSION | INTERVIEWER,
     1,
     {"at_ms", "session", "text"},
     "the session's recorder or an interviewer"},
    {TLO_ENTRY_SESSION_END,
     SESSION,
     1,
     {"segments", "session", "status"},
     "the key that started the session"},
    /* The custodian too: the service recovers at its start, with nobody
     * there to sign (custody/recover.c, tlo_custody_recover_auto). */
    {TLO_ENTRY_SESSION_RECOVERED,
     INTERVIEWER | ADMIN | CUSTODIAN,
     1,
     {"segments", "session"},
     "an interviewer, an administrator, or the custodian"},
    {TLO_ENTRY_DEVICE_EVENT,
     SESSION,
     1,
     {"at_ms", "device", "event", "session"},
     "the key that started the session"},
    {TLO_ENTRY_GRANT,
     ADMIN,
     1,
     {"actions", "expires_ms", "from_ms", "session", "to", "until_ms"},
     "an administrator"},
    {TLO_ENTRY_GRANT_REVOKE, ADMIN, 1, {"grant"}, "an administrator"},
    {TLO_ENTRY_NOTE_GRANT,
     ADMIN,
     1,
     {"expires_ms", "note", "purpose", "to", "to_name"},
     "an administrator"},
    {TLO_ENTRY_ACCESS_GRANTED, CUSTODIAN, 1, {"action", "session"}, "the custodian"},
    {TLO_ENTRY_ACCESS_DENIED, CUSTODIAN, 1, {"action", "reason", "session"}, "the custodian"},
    {TLO_ENTRY_EXPORT, CUSTODIAN, 1, {"access", "clip_sha256", "session"}, "the custodian"},
    {TLO_ENTRY_REQUEST_REFUSED,
     CUSTODIAN,
     0,
     {"client_pid", "client_uid", "reason"},
     "the custodian"},
    {TLO_ENTRY_ACTION_REFUSED, CUSTODIAN, -1, {"action", "actor", "reason"}, "the custodian"},
    {TLO_ENTRY_NOTE,
     NOTE_AUTHORS,
     1,
     {"bytes", "ciphertext_sha256", "note", "note_kind", "object", "plaintext_sha256"},
     "medical staff, a psychologist, legal aid, a social worker or an interviewer"},
    {TLO_ENTRY_NOTE_ACCESS,
     CUSTODIAN,
     1,
     {"action", "actor", "note", "object", "result"},
     "the custodian"},
    {TLO_ENTRY_SAMPLE_REGISTER,
     TLO_ROLE_MEDICAL,
     1,
     {"label", "sample_kind", "seal_number"},
     "medical staff"},
    {TLO_ENTRY_SAMPLE_TRANSFER,
     HOLDERS,
     1,
     {"label", "to", "to_name"},
     "an enrolled person other than an auditor (its holder)"},
    {TLO_ENTRY_SAMPLE_RECEIVE,
     HOLDERS,
     1,
     {"label", "seal_intact", "transfer"},
     "an enrolled person other than an auditor (the one it was handed to)"},
    {TLO_ENTRY_SAMPLE_DISPOSE,
     HOLDERS,
     1,
     {"label", "reason"},
     "an enrolled person other than an auditor (its holder)"},
    {TLO_ENTRY_CHECKPOINT, CUSTODIAN, 0, {"root", "size"}, "the custodian"},
};

const tlo_kind_rule *tlo_kind_rule_for(uint16_t kind)
{
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        if (rules[i].kind == kind)
            return &rules[i];
    return NULL;
}

/* ---- hash tables keyed by 16-byte ids ---------------------------------- */

typedef struct session_rec {
    uint8_t id[16];
    uint8_t case_id[TLO_CASE_ID_BYTES];
    uint8_t starter[TLO_HASH_BYTES];
    uint8_t open;
    uint64_t next_index;
} session_rec;

typedef struct case_rec {
    uint8_t id[TLO_CASE_ID_BYTES];
    uint64_t count;
    uint8_t chain[TLO_HASH_BYTES];
} case_rec;

/* Open addressing; slots hold 1 + the index into the records array. */
typedef struct table {
    uint32_t *slot;
    size_t cap; /* power of two, or 0 */
} table;

#define ROOT_RING 1024

struct tlo_chain_state {
    uint8_t hkey[crypto_shorthash_KEYBYTES];
    uint64_t size;
    uint64_t last_time;
    uint8_t prev[TLO_HASH_BYTES];
    tlo_merkle_tree tree;
    tlo_chain_key *keys;
    size_t nkeys, kcap;
    session_rec *sess;
    size_t nsess, scap;
    table stab;
    case_rec *cases;
    size_t ncases, ccap;
    table ctab;
    /* Roots of the last sizes (not saved): a checkpoint entry names one. */
    uint8_t ring[ROOT_RING][TLO_HASH_BYTES];
    uint64_t loaded; /* the size the state was loaded at (0 when new) */
};

static uint64_t hash16(const tlo_chain_state *st, const uint8_t id[16])
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, id, 16, st->hkey);
    memcpy(&v, h, sizeof v);
    return v;
}

/* The slot of id in t (the records are rec_size apart, id at offset 0):
 * the record's index, or -1 and *free_slot. */
static long table_find(const tlo_chain_state *st, const table *t, const void *recs, size_t rec_size,
                       const uint8_t id[16], size_t *free_slot)
{
    if (!t->cap)
        return -1;
    for (size_t i = hash16(st, id) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
        if (!t->slot[i]) {
            if (free_slot)
                *free_slot = i;
            return -1;
        }
        size_t r = t->slot[i] - 1;
        if (!memcmp((const uint8_t *)recs + r * rec_size, id, 16))
            return (long)r;
    }
}

/* Makes room for one more record in t (n records now). */
static int table_grow(const tlo_chain_state *st, table *t, const void *recs, size_t rec_size,
                      size_t n)
{
    if (t->cap && (n + 1) * 2 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap * 2 : 64;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot || n >= UINT32_MAX - 1) {
        free(slot);
        return -1;
    }
    free(t->slot);
    t->slot = slot;
    t->cap = cap;
    for (size_t r = 0; r < n; r++) {
        size_t fs = 0;
        table_find(st, t, recs, rec_size, (const uint8_t *)recs + r * rec_size, &fs);
        t->slot[fs] = (uint32_t)(r + 1);
    }
    return 0;
}

static int grow_array(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, c * size);
    if (!p)
        return -1;
    *arr = p;
    *cap = c;
    return 0;
}

static session_rec *find_session(const tlo_chain_state *st, const uint8_t id[16])
{
    long r = table_find(st, &st->stab, st->sess, sizeof *st->sess, id, NULL);
    return r < 0 ? NULL : &st->sess[r];
}

static session_rec *add_session(tlo_chain_state *st, const uint8_t id[16])
{
    size_t fs = 0;
    if (table_grow(st, &st->stab, st->sess, sizeof *st->sess, st->nsess) != 0 ||
        grow_array((void **)&st->sess, &st->scap, st->nsess, sizeof *st->sess) != 0)
        return NULL;
    table_find(st, &st->stab, st->sess, sizeof *st->sess, id, &fs);
    session_rec *s = &st->sess[st->nsess];
    memset(s, 0, sizeof *s);
    memcpy(s->id, id, 16);
    st->stab.slot[fs] = (uint32_t)(++st->nsess);
    return s;
}

static case_rec *find_case(const tlo_chain_state *st, const uint8_t id[16])
{
    long r = table_find(st, &st->ctab, st->cases, sizeof *st->cases, id, NULL);
    return r < 0 ? NULL : &st->cases[r];
}

static case_rec *add_case(tlo_chain_state *st, const uint8_t id[16])
{
    size_t fs = 0;
    if (table_grow(st, &st->ctab, st->cases, sizeof *st->cases, st->ncases) != 0 ||
        grow_array((void **)&st->cases, &st->ccap, st->ncases, sizeof *st->cases) != 0)
        return NULL;
    table_find(st, &st->ctab, st->cases, sizeof *st->cases, id, &fs);
    case_rec *c = &st->cases[st->ncases];
    memset(c, 0, sizeof *c);
    memcpy(c->id, id, 16);
    st->ctab.slot[fs] = (uint32_t)(++st->ncases);
    return c;
}

/* ---- the state --------------------------------------------------------- */

tlo_chain_state *tlo_chain_state_new(void)
{
    tlo_chain_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    crypto_shorthash_keygen(st->hkey);
    tlo_merkle_tree_init(&st->tree);
    return st;
}

void tlo_chain_state_free(tlo_chain_state *st)
{
    if (!st)
        return;
    free(st->keys);
    free(st->sess);
    free(st->stab.slot);
    free(st->cases);
    free(st->ctab.slot);
    free(st);
}

uint64_t tlo_chain_state_size(const tlo_chain_state *st)
{
    return st->size;
}

void tlo_chain_state_root(const tlo_chain_state *st, uint8_t root[static TLO_HASH_BYTES])
{
    tlo_merkle_tree_root(&st->tree, root);
}

void tlo_chain_state_last_leaf(const tlo_chain_state *st, uint8_t leaf[static TLO_HASH_BYTES])
{
    memcpy(leaf, st->prev, TLO_HASH_BYTES);
}

const tlo_chain_key *tlo_chain_state_key(const tlo_chain_state *st,
                                         const uint8_t actor[static TLO_HASH_BYTES])
{
    for (size_t i = 0; i < st->nkeys; i++)
        if (!memcmp(st->keys[i].actor, actor, TLO_HASH_BYTES))
            return &st->keys[i];
    return NULL;
}

bool tlo_chain_state_case(const tlo_chain_state *st,
                          const uint8_t case_id[static TLO_CASE_ID_BYTES], uint64_t *count,
                          uint8_t chain[static TLO_HASH_BYTES])
{
    const case_rec *c = find_case(st, case_id);
    *count = c ? c->count : 0;
    memset(chain, 0, TLO_HASH_BYTES);
    if (c)
        memcpy(chain, c->chain, TLO_HASH_BYTES);
    return c != NULL;
}

void tlo_chain_case_step(uint8_t chain[static TLO_HASH_BYTES],
                         const uint8_t leaf[static TLO_HASH_BYTES])
{
    static const char ctx[] = "tellonce/v1 case-chain\n";
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const uint8_t *)ctx, sizeof ctx - 1);
    crypto_hash_sha256_update(&h, chain, TLO_HASH_BYTES);
    crypto_hash_sha256_update(&h, leaf, TLO_HASH_BYTES);
    crypto_hash_sha256_final(&h, chain);
}

/* ---- checking one entry ------------------------------------------------ */

typedef struct ck {
    char *problem;
    size_t cap;
    const tlo_entry *e;
} ck;

static int fail(ck *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(ck *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->problem, c->cap, fmt, ap);
    va_end(ap);
    return 1;
}

static bool get_pk(const tlo_entry *e, const char *field, uint8_t pk[static 32])
{
    return tlo_entry_hex(e, field, pk, 32) == 0;
}

static int enrol(tlo_chain_state *st, const uint8_t pk[static 32], unsigned roles, uint64_t seq)
{
    uint8_t actor[TLO_HASH_BYTES];
    crypto_hash_sha256(actor, pk, 32);
    if (tlo_chain_state_key(st, actor))
        return 1;
    if (grow_array((void **)&st->keys, &st->kcap, st->nkeys, sizeof *st->keys) != 0)
        return -1;
    tlo_chain_key *k = &st->keys[st->nkeys++];
    memcpy(k->actor, actor, sizeof actor);
    memcpy(k->pk, pk, 32);
    k->roles = roles;
    k->enrolled_at = seq;
    k->revoked_at = -1;
    return 0;
}

/* The genesis entry's own checks: its keys and the custodian's countersignature. */
static int check_genesis(ck *c, uint8_t admin_pk[32], uint8_t cust_pk[32])
{
    const tlo_entry *e = c->e;
    uint8_t box[32], sig[64];
    size_t n, mlen;
    char hex[129];
    if (!get_pk(e, "admin.pk", admin_pk) || !get_pk(e, "admin.box_pk", box))
        return fail(c, "the genesis entry does not name the first administrator's keys");
    if (!get_pk(e, "custodian.pk", cust_pk) || !get_pk(e, "custodian.box_pk", box))
        return fail(c, "the genesis entry does not name the custodian's keys");
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "custodian.sig", &n);
    if (!v || n != 128)
        return fail(c, "the genesis entry has no countersignature by the custodian");
    memcpy(hex, v, 128);
    hex[128] = '\0';
    uint8_t *msg = tlo_chain_genesis_message(e->body, e->body_len, &mlen);
    if (!msg)
        return -1;
    int ok =
        tlo_unhex(sig, 64, hex) == 0 && crypto_sign_verify_detached(sig, msg, mlen, cust_pk) == 0;
    free(msg);
    if (!ok)
        return fail(c, "the custodian's countersignature of the genesis entry is invalid");
    return 0;
}

static void roles_text(unsigned roles, char *out, size_t cap)
{
    if (roles & TLO_ROLE_CUSTODIAN)
        snprintf(out, cap, "the custodian");
    else
        tlo_roles_format(roles, ", ", out, cap);
}

/* The session entry's session id as 16 bytes. */
static bool session_id(const tlo_entry *e, uint8_t id[16])
{
    char hex[40];
    return tlo_entry_str(e, "session", hex, sizeof hex) == 0 && strlen(hex) == 32 &&
           strspn(hex, "0123456789abcdef") == 32 && tlo_unhex(id, 16, hex) == 0;
}

/* What the entry does to the sessions; *s_out the session it names. */
static int check_session(ck *c, tlo_chain_state *st, const tlo_chain_key *k, session_rec **s_out,
                         bool *starter_ok)
{
    const tlo_entry *e = c->e;
    uint8_t id[16];
    *s_out = NULL;
    *starter_ok = false;
    if (e->kind != TLO_ENTRY_SESSION_START && e->kind != TLO_ENTRY_SEGMENT &&
        e->kind != TLO_ENTRY_MARKER && e->kind != TLO_ENTRY_SESSION_END &&
        e->kind != TLO_ENTRY_SESSION_RECOVERED && e->kind != TLO_ENTRY_DEVICE_EVENT)
        return 0;
    if (!session_id(e, id))
        return fail(c, "entry %llu (%s) does not name a session by 32 hex digits",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind));
    session_rec *s = find_session(st, id);
    if (e->kind == TLO_ENTRY_SESSION_START) {
        if (s)
            return fail(c, "entry %llu starts a session that was started before",
                        (unsigned long long)e->seq);
        return 0;
    }
    if (!s || memcmp(s->case_id, e->case_id, TLO_CASE_ID_BYTES) != 0)
        return fail(c,
                    "entry %llu (%s) names a session that no session-start entry of its case "
                    "began before it",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind));
    if (e->kind != TLO_ENTRY_MARKER && !s->open)
        return fail(c, "entry %llu (%s) names a session that had already ended",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind));
    *starter_ok = !memcmp(s->starter, k->actor, TLO_HASH_BYTES);
    if (e->kind == TLO_ENTRY_SEGMENT) {
        uint64_t index = UINT64_MAX;
        if (tlo_entry_u64(e, "index", &index) != 0 || index != s->next_index)
            return fail(c,
                        "entry %llu logs segment %lld of its session, but the next one is %llu "
                        "(each segment is logged once, in order)",
                        (unsigned long long)e->seq, index == UINT64_MAX ? -1LL : (long long)index,
                        (unsigned long long)s->next_index);
        /* A segment salvaged after a crash is sealed by the custodian
         * (custody/recover.c): the recorder is gone. */
        if (!*starter_ok && (k->roles & TLO_ROLE_CUSTODIAN) &&
            tlo_entry_body_get(e->body, e->body_len, "recovered_from", &(size_t){0}))
            *starter_ok = true;
    }
    *s_out = s;
    return 0;
}

/* Checks what the table asks of e: signer, case, fields. */
static int check_rule(ck *c, const tlo_kind_rule *r, const tlo_chain_key *k, bool starter_ok)
{
    const tlo_entry *e = c->e;
    char roles[120];
    if (!((k->roles & r->signers) || (starter_ok && (r->signers & TLO_SIGNER_SESSION)))) {
        roles_text(k->roles, roles, sizeof roles);
        return fail(c, "entry %llu (%s) is signed by a key of %s; only %s may sign it",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind), roles,
                    r->signers_text);
    }
    if (r->has_case >= 0 && e->has_case != (r->has_case == 1))
        return fail(c, "entry %llu (%s) %s a case", (unsigned long long)e->seq,
                    tlo_entry_kind_name(e->kind), e->has_case ? "names" : "does not name");
    for (size_t i = 0; i < sizeof r->fields / sizeof r->fields[0] && r->fields[i]; i++)
        if (!tlo_entry_body_get(e->body, e->body_len, r->fields[i], &(size_t){0}))
            return fail(c, "entry %llu (%s) has no %s field", (unsigned long long)e->seq,
                        tlo_entry_kind_name(e->kind), r->fields[i]);
    return 0;
}

/* A checkpoint entry names a tree head of the ledger before it. */
static int check_checkpoint(ck *c, const tlo_chain_state *st)
{
    const tlo_entry *e = c->e;
    uint64_t size;
    uint8_t root[TLO_HASH_BYTES];
    if (tlo_entry_u64(c->e, "size", &size) != 0 || tlo_entry_hex(c->e, "root", root, 32) != 0)
        return fail(c, "entry %llu (checkpoint) has no valid size and root",
                    (unsigned long long)e->seq);
    if (size == 0 || size > st->size)
        return fail(c, "entry %llu (checkpoint) names a tree of %llu entries, not one before it",
                    (unsigned long long)e->seq, (unsigned long long)size);
    if (size + ROOT_RING <= st->size) {
        if (size <= st->loaded)
            return 0; /* before what this walk saw: the full verification checks it */
        return fail(c, "entry %llu (checkpoint) names a tree of %llu entries, too far back",
                    (unsigned long long)e->seq, (unsigned long long)size);
    }
    if (size < st->loaded)
        return 0;
    if (sodium_memcmp(root, st->ring[size % ROOT_RING], TLO_HASH_BYTES) != 0)
        return fail(c,
                    "entry %llu (checkpoint) gives a root for the first %llu entries that is not "
                    "theirs",
                    (unsigned long long)e->seq, (unsigned long long)size);
    return 0;
}

int tlo_chain_state_check(tlo_chain_state *st, const tlo_entry *e,
                          const uint8_t leaf[static TLO_HASH_BYTES], uint8_t pk_out[32],
                          char *problem, size_t cap)
{
    ck c = {.problem = problem, .cap = cap, .e = e};
    const char *why;
    uint8_t admin_pk[32], cust_pk[32], pk[32];
    int rc;

    if (e->seq != st->size)
        return fail(&c,
                    e->seq > st->size
                        ? "entry %llu is missing: the next entry is %llu (entries were deleted)"
                        : "entry %llu appears out of order (got %llu)",
                    (unsigned long long)st->size, (unsigned long long)e->seq);
    const tlo_kind_rule *r = tlo_kind_rule_for(e->kind);
    if (!tlo_entry_kind_name(e->kind))
        return fail(&c, "entry %llu has unknown kind %u", (unsigned long long)e->seq, e->kind);
    if (!r)
        return fail(&c, "entry %llu is of kind %s, which this version of tellonce never writes",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind));
    if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        return fail(&c, "entry %llu has a body that is not canonical: %s",
                    (unsigned long long)e->seq, why);
    if (sodium_memcmp(e->prev, st->prev, TLO_HASH_BYTES) != 0)
        return fail(&c,
                    "entry %llu does not link to entry %llu: its previous-entry hash differs (the "
                    "entry before it was changed, removed or replaced, or this one was)",
                    (unsigned long long)e->seq, (unsigned long long)(e->seq - 1));
    if (e->time_ms < st->last_time)
        return fail(&c, "entry %llu is dated before the entry preceding it",
                    (unsigned long long)e->seq);

    /* The signer: enrolled before (the genesis enrols its own two). */
    tlo_chain_key gen_admin;
    const tlo_chain_key *k;
    if (e->seq == 0) {
        if (e->kind != TLO_ENTRY_GENESIS)
            return fail(&c, "entry 0 is not a genesis entry");
        if ((rc = check_genesis(&c, admin_pk, cust_pk)) != 0)
            return rc;
        memset(&gen_admin, 0, sizeof gen_admin);
        crypto_hash_sha256(gen_admin.actor, admin_pk, 32);
        memcpy(gen_admin.pk, admin_pk, 32);
        gen_admin.roles = TLO_ROLE_ADMIN;
        gen_admin.revoked_at = -1;
        if (memcmp(gen_admin.actor, e->actor, TLO_HASH_BYTES) != 0)
            return fail(&c, "the genesis entry is not signed by the administrator it enrols");
        k = &gen_admin;
    } else if (e->kind == TLO_ENTRY_GENESIS) {
        return fail(&c, "entry %llu is a second genesis entry", (unsigned long long)e->seq);
    } else if (!(k = tlo_chain_state_key(st, e->actor))) {
        return fail(&c, "entry %llu is signed by a key that was never enrolled",
                    (unsigned long long)e->seq);
    } else if (k->revoked_at >= 0) {
        return fail(&c, "entry %llu is signed by a key revoked at entry %lld",
                    (unsigned long long)e->seq, (long long)k->revoked_at);
    }

    /* The case: its first entry opens it, nothing names a case not opened. */
    case_rec *cs = e->has_case ? find_case(st, e->case_id) : NULL;
    if (e->has_case && e->kind == TLO_ENTRY_CASE_OPEN && cs)
        return fail(&c, "entry %llu opens a case that was already opened",
                    (unsigned long long)e->seq);
    if (e->has_case && e->kind != TLO_ENTRY_CASE_OPEN && !cs)
        return fail(&c, "entry %llu (%s) names a case that no case-open entry before it opened",
                    (unsigned long long)e->seq, tlo_entry_kind_name(e->kind));

    session_rec *s;
    bool starter_ok;
    if ((rc = check_session(&c, st, k, &s, &starter_ok)) != 0 ||
        (rc = check_rule(&c, r, k, starter_ok)) != 0)
        return rc;
    if (e->kind == TLO_ENTRY_CHECKPOINT && (rc = check_checkpoint(&c, st)) != 0)
        return rc;

    unsigned roles = 0;
    if (e->kind == TLO_ENTRY_USER_ADD) {
        uint8_t box[32];
        size_t n;
        const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, "roles", &n);
        if (!get_pk(e, "pk", pk) || !get_pk(e, "box_pk", box) || !v ||
            tlo_roles_parse((const char *)v, n, &roles) != 0)
            return fail(&c, "entry %llu enrols a person without valid keys or roles",
                        (unsigned long long)e->seq);
        uint8_t actor[TLO_HASH_BYTES];
        crypto_hash_sha256(actor, pk, 32);
        if (tlo_chain_state_key(st, actor))
            return fail(&c, "entry %llu enrols a key that is already enrolled",
                        (unsigned long long)e->seq);
    }
    /* A person activates their own enrolment (custody/users.c): the key
     * the entry names is the key that signed it. */
    if (e->kind == TLO_ENTRY_USER_ACTIVATED) {
        uint8_t actor[TLO_HASH_BYTES];
        if (!get_pk(e, "pk", pk))
            return fail(&c, "entry %llu does not name a public key", (unsigned long long)e->seq);
        crypto_hash_sha256(actor, pk, 32);
        if (sodium_memcmp(actor, e->actor, TLO_HASH_BYTES) != 0)
            return fail(&c,
                        "entry %llu (user-activated) activates a key other than the one that "
                        "signed it; only a person may activate their own enrolment",
                        (unsigned long long)e->seq);
    }
    tlo_chain_key *victim = NULL;
    if (e->kind == TLO_ENTRY_USER_REVOKE) {
        uint8_t actor[TLO_HASH_BYTES];
        if (!get_pk(e, "pk", pk))
            return fail(&c, "entry %llu does not name a public key", (unsigned long long)e->seq);
        crypto_hash_sha256(actor, pk, 32);
        for (size_t i = 0; i < st->nkeys && !victim; i++)
            if (!memcmp(st->keys[i].actor, actor, TLO_HASH_BYTES))
                victim = &st->keys[i];
        if (!victim || victim->revoked_at >= 0 || (victim->roles & TLO_ROLE_CUSTODIAN))
            return fail(&c, "entry %llu revokes a key that is not an enrolled person's",
                        (unsigned long long)e->seq);
    }

    /* The signature: here, or by the caller with *pk_out. */
    if (pk_out)
        memcpy(pk_out, k->pk, 32);
    else if (!tlo_entry_verify(e, k->pk))
        return fail(&c,
                    "entry %llu has an invalid signature: its content was changed after it was "
                    "signed",
                    (unsigned long long)e->seq);

    /* All holds: take it in. Allocations first, so a failure changes nothing
     * that matters (the caller discards the state on a negative code). */
    if (e->seq == 0 && (enrol(st, admin_pk, TLO_ROLE_ADMIN, 0) < 0 ||
                        enrol(st, cust_pk, TLO_ROLE_CUSTODIAN, 0) < 0))
        return -1;
    if (e->kind == TLO_ENTRY_USER_ADD && enrol(st, pk, roles, e->seq) < 0)
        return -1;
    if (victim)
        victim->revoked_at = (int64_t)e->seq;
    if (e->kind == TLO_ENTRY_SESSION_START) {
        uint8_t id[16];
        session_id(e, id);
        if (!(s = add_session(st, id)))
            return -1;
        memcpy(s->case_id, e->case_id, TLO_CASE_ID_BYTES);
        memcpy(s->starter, e->actor, TLO_HASH_BYTES);
        s->open = 1;
    } else if (s && e->kind == TLO_ENTRY_SEGMENT) {
        s->next_index++;
    } else if (s && (e->kind == TLO_ENTRY_SESSION_END || e->kind == TLO_ENTRY_SESSION_RECOVERED)) {
        s->open = 0;
    }
    if (e->has_case) {
        if (!cs && !(cs = add_case(st, e->case_id)))
            return -1;
        cs->count++;
        tlo_chain_case_step(cs->chain, leaf);
    }
    if (tlo_merkle_tree_append(&st->tree, leaf, NULL) != 0)
        return -1;
    memcpy(st->prev, leaf, TLO_HASH_BYTES);
    st->last_time = e->time_ms;
    st->size++;
    tlo_merkle_tree_root(&st->tree, st->ring[st->size % ROOT_RING]);
    return 0;
}

/* ---- saving and loading ------------------------------------------------ */

#define STATE_MAGIC "TLCS"
#define STATE_VERSION 1
#define KEY_REC (32 + 32 + 4 + 8 + 8)
#define SESS_REC (16 + 16 + 32 + 1 + 8)
#define CASE_REC (16 + 8 + 32)

static uint8_t *put(uint8_t *p, const void *v, size_t n)
{
    memcpy(p, v, n);
    return p + n;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--)
        *p++ = (uint8_t)(v >> (8 * i));
    return p;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

int tlo_chain_state_save(const tlo_chain_state *st, uint8_t **out, size_t *len, tlo_error *err)
{
    uint8_t tree[TLO_MERKLE_STATE_MAX_BYTES];
    size_t tlen;
    *out = NULL;
    *len = 0;
    if (tlo_merkle_tree_serialize(&st->tree, tree, sizeof tree, &tlen, err) != 0)
        return TLO_ERANGE;
    size_t n = 4 + 4 + 8 + 8 + 32 + 8 + tlen + 3 * 8 + st->nkeys * KEY_REC + st->nsess * SESS_REC +
               st->ncases * CASE_REC;
    uint8_t *buf = malloc(n), *p = buf;
    if (!buf)
        return tlo_fail(err, TLO_ENOMEM, "out of memory saving the verified state");
    p = put(p, STATE_MAGIC, 4);
    p = put32(p, STATE_VERSION);
    p = put64(p, st->size);
    p = put64(p, st->last_time);
    p = put(p, st->prev, 32);
    p = put64(p, tlen);
    p = put(p, tree, tlen);
    p = put64(p, st->nkeys);
    for (size_t i = 0; i < st->nkeys; i++) {
        const tlo_chain_key *k = &st->keys[i];
        p = put(p, k->actor, 32);
        p = put(p, k->pk, 32);
        p = put32(p, k->roles);
        p = put64(p, k->enrolled_at);
        p = put64(p, (uint64_t)k->revoked_at);
    }
    p = put64(p, st->nsess);
    for (size_t i = 0; i < st->nsess; i++) {
        const session_rec *s = &st->sess[i];
        p = put(p, s->id, 16);
        p = put(p, s->case_id, 16);
        p = put(p, s->starter, 32);
        *p++ = s->open;
        p = put64(p, s->next_index);
    }
    p = put64(p, st->ncases);
    for (size_t i = 0; i < st->ncases; i++) {
        p = put(p, st->cases[i].id, 16);
        p = put64(p, st->cases[i].count);
        p = put(p, st->cases[i].chain, 32);
    }
    *out = buf;
    *len = (size_t)(p - buf);
    return 0;
}

tlo_chain_state *tlo_chain_state_load(const uint8_t *buf, size_t len, tlo_error *err)
{
    const uint8_t *p = buf, *end = buf + len;
    tlo_chain_state *st = tlo_chain_state_new();
    uint64_t n, tlen;
    if (!st) {
        tlo_fail(err, TLO_ENOMEM, "out of memory loading the verified state");
        return NULL;
    }
#define NEED(k)                                                                                    \
    do {                                                                                           \
        if ((size_t)(end - p) < (size_t)(k))                                                       \
            goto bad;                                                                              \
    } while (0)
    NEED(4 + 4 + 8 + 8 + 32 + 8);
    if (memcmp(p, STATE_MAGIC, 4) != 0 || p[4] || p[5] || p[6] || p[7] != STATE_VERSION)
        goto bad;
    p += 8;
    st->size = get64(p), p += 8;
    st->last_time = get64(p), p += 8;
    memcpy(st->prev, p, 32), p += 32;
    tlen = get64(p), p += 8;
    NEED(tlen);
    if (tlen > TLO_MERKLE_STATE_MAX_BYTES ||
        tlo_merkle_tree_deserialize(&st->tree, p, (size_t)tlen, NULL) != 0 ||
        tlo_merkle_tree_size(&st->tree) != st->size)
        goto bad;
    p += tlen;
    NEED(8);
    n = get64(p), p += 8;
    if (n > (uint64_t)(end - p) / KEY_REC)
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        if (grow_array((void **)&st->keys, &st->kcap, st->nkeys, sizeof *st->keys) != 0)
            goto oom;
        tlo_chain_key *k = &st->keys[st->nkeys++];
        memcpy(k->actor, p, 32), p += 32;
        memcpy(k->pk, p, 32), p += 32;
        k->roles = (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
        p += 4;
        k->enrolled_at = get64(p), p += 8;
        k->revoked_at = (int64_t)get64(p), p += 8;
    }
    NEED(8);
    n = get64(p), p += 8;
    if (n > (uint64_t)(end - p) / SESS_REC)
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        if (find_session(st, p))
            goto bad;
        session_rec *s = add_session(st, p);
        if (!s)
            goto oom;
        p += 16;
        memcpy(s->case_id, p, 16), p += 16;
        memcpy(s->starter, p, 32), p += 32;
        if (*p > 1)
            goto bad;
        s->open = *p++;
        s->next_index = get64(p), p += 8;
    }
    NEED(8);
    n = get64(p), p += 8;
    if (n > (uint64_t)(end - p) / CASE_REC)
        goto bad;
    for (uint64_t i = 0; i < n; i++) {
        if (find_case(st, p))
            goto bad;
        case_rec *c = add_case(st, p);
        if (!c)
            goto oom;
        p += 16;
        c->count = get64(p), p += 8;
        memcpy(c->chain, p, 32), p += 32;
    }
    if (p != end)
        goto bad;
#undef NEED
    st->loaded = st->size;
    tlo_merkle_tree_root(&st->tree, st->ring[st->size % ROOT_RING]);
    return st;
bad:
    tlo_chain_state_free(st);
    tlo_fail(err, TLO_EFORMAT, "the saved verified state is malformed");
    return NULL;
oom:
    tlo_chain_state_free(st);
    tlo_fail(err, TLO_ENOMEM, "out of memory loading the verified state");
    return NULL;
}
