/* Who may do what: the one table (custody.h, "Who may do what"). docs/roles.md
 * prints it; tests/cli/test_roles.sh checks the two are the same and tries
 * every row as every role. */
#include "custody.h"
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define ADMIN TLO_ROLE_ADMIN
#define INTERVIEWER TLO_ROLE_INTERVIEWER
#define PROSECUTOR TLO_ROLE_PROSECUTOR
#define MEDICAL TLO_ROLE_MEDICAL
#define AUDITOR TLO_ROLE_AUDITOR
#define PSYCHOLOGIST TLO_ROLE_PSYCHOLOGIST
#define LEGAL_AID TLO_ROLE_LEGAL_AID
#define SOCIAL_WORKER TLO_ROLE_SOCIAL_WORKER
#define EVERYONE TLO_ROLES_PERSON
/* The people who work with the child besides the interviewer. */
#define CARERS (MEDICAL | PSYCHOLOGIST | LEGAL_AID | SOCIAL_WORKER)
/* Who may be named in a grant: everyone who may need to see a clip or a
 * note, never an auditor (auditors receive no key). */
#define GRANTEES (PROSECUTOR | CARERS | ADMIN)
#define HOLDERS (EVERYONE & ~(unsigned)AUDITOR)
#define AUTHORS (CARERS | INTERVIEWER)

static const tlo_custody_act_rule table[] = {
    {TLO_ACT_USER_ENROL,
     "user add, user revoke, user reissue",
     "enrol or revoke a person",
     {{ADMIN, 0}}},
    {TLO_ACT_CASE_OPEN, "case open", "open a case", {{INTERVIEWER | ADMIN, 0}}},
    {TLO_ACT_CASE_SHOW,
     "case show",
     "see a case's sealed record (the child's details)",
     {{ADMIN, 0}, {INTERVIEWER, TLO_WHEN_OPENER}}},
    {TLO_ACT_CASE_NUMBERS,
     "case list --as, log --as, report --as",
     "see the numbers police use for cases",
     {{ADMIN | INTERVIEWER | PROSECUTOR, 0}}},
    {TLO_ACT_RECORD, "record", "record a session", {{INTERVIEWER, 0}}},
    {TLO_ACT_MARK, "mark", "add a marker to a session", {{INTERVIEWER, 0}}},
    {TLO_ACT_STOP,
     "stop, record --attach",
     "end or attach to a recording the service runs",
     {{ADMIN, 0}, {INTERVIEWER, TLO_WHEN_RECORDER}}},
    {TLO_ACT_RECOVER, "recover", "close an interrupted session", {{INTERVIEWER | ADMIN, 0}}},
    {TLO_ACT_GRANT,
     "grant, grant revoke",
     "grant or revoke access to a clip or a note",
     {{ADMIN, 0}}},
    {TLO_ACT_BE_GRANTED, "grant --to", "be granted a clip or a note", {{GRANTEES, 0}}},
    {TLO_ACT_CLIP_VIEW,
     "play",
     "view a clip of a session",
     {{INTERVIEWER, TLO_WHEN_RECORDER}, {GRANTEES, TLO_WHEN_GRANTED}}},
    {TLO_ACT_CLIP_EXPORT, "export", "export a clip of a session", {{GRANTEES, TLO_WHEN_GRANTED}}},
    {TLO_ACT_NOTE_EXAM, "note add --kind exam", "add a physical examination note", {{MEDICAL, 0}}},
    {TLO_ACT_NOTE_PHOTO, "note add --kind photo", "add photographs", {{MEDICAL, 0}}},
    {TLO_ACT_NOTE_SAMPLE,
     "note add --kind sample-collection",
     "add a sample collection note",
     {{MEDICAL, 0}}},
    {TLO_ACT_NOTE_PSYCH,
     "note add --kind psych",
     "add a psychological care session note",
     {{PSYCHOLOGIST, 0}}},
    {TLO_ACT_NOTE_LEGAL, "note add --kind legal", "add a legal aid note", {{LEGAL_AID, 0}}},
    {TLO_ACT_NOTE_ASSESSMENT,
     "note add --kind assessment",
     "add an assessment",
     {{PSYCHOLOGIST | SOCIAL_WORKER, 0}}},
    {TLO_ACT_NOTE_FOLLOWUP,
     "note add --kind followup",
     "add a follow-up note",
     {{SOCIAL_WORKER, 0}}},
    {TLO_ACT_NOTE_OTHER, "note add --kind other", "add another note", {{INTERVIEWER, 0}}},
    {TLO_ACT_NOTE_AMEND, "note amend", "add a new version of a note", {{AUTHORS, TLO_WHEN_AUTHOR}}},
    {TLO_ACT_NOTE_READ,
     "note show, note get",
     "read a note and its files",
     {{AUTHORS, TLO_WHEN_AUTHOR}, {AUTHORS, TLO_WHEN_PROFESSION}, {GRANTEES, TLO_WHEN_GRANTED}}},
    {TLO_ACT_NOTE_LIST,
     "note list",
     "list a case's notes (kind, author, sizes: never content)",
     {{EVERYONE, 0}}},
    {TLO_ACT_SAMPLE_REGISTER, "sample register", "register a sample", {{MEDICAL, 0}}},
    {TLO_ACT_SAMPLE_TRANSFER,
     "sample transfer",
     "hand a sample over",
     {{HOLDERS, TLO_WHEN_HOLDER}}},
    {TLO_ACT_SAMPLE_RECEIVE,
     "sample receive",
     "sign for a sample handed over to them",
     {{HOLDERS, TLO_WHEN_RECEIVER}}},
    {TLO_ACT_SAMPLE_DISPOSE, "sample dispose", "dispose of a sample", {{HOLDERS, TLO_WHEN_HOLDER}}},
    {TLO_ACT_SAMPLE_LIST, "sample list, sample show", "see samples' custody", {{EVERYONE, 0}}},
    {TLO_ACT_REPORT, "report", "write the auditor's report", {{EVERYONE, 0}}},
    {TLO_ACT_LOGIN,
     "login, passwd, user activate",
     "unlock or change one's own identity",
     {{EVERYONE, 0}}},
    {TLO_ACT_SESSION_LIST,
     "session list",
     "list a case's sessions (start, length, room, status: never content)",
     {{EVERYONE, 0}}},
    {TLO_ACT_SETTINGS_SET,
     "settings set",
     "change a vault setting (its time zone, its default room)",
     {{ADMIN, 0}}},
};

_Static_assert(sizeof table / sizeof table[0] == TLO_ACT_COUNT, "one row per action");

const tlo_custody_act_rule *tlo_custody_act_rules(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}

const tlo_custody_act_rule *tlo_custody_act_rule_of(tlo_custody_act a)
{
    return (unsigned)a < TLO_ACT_COUNT && table[a].act == a ? &table[a] : NULL;
}

unsigned tlo_custody_act_roles(tlo_custody_act a)
{
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(a);
    unsigned roles = 0;
    for (size_t i = 0; r && i < TLO_CUSTODY_MAY_CLAUSES; i++)
        roles |= r->may[i].roles;
    return roles;
}

bool tlo_custody_may(tlo_custody_act a, unsigned roles, unsigned holds)
{
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(a);
    for (size_t i = 0; r && i < TLO_CUSTODY_MAY_CLAUSES && r->may[i].roles; i++)
        if ((roles & r->may[i].roles) && (r->may[i].when & holds) == r->may[i].when)
            return true;
    return false;
}

static const struct {
    unsigned role;
    const char *words;
} role_words[] = {
    /* TRANSLATORS: roles in words, as 'tellonce roles' lists who may do what */
    {ADMIN, N_("an administrator")},       {INTERVIEWER, N_("an interviewer")},
    {PROSECUTOR, N_("a prosecutor")},      {MEDICAL, N_("medical staff")},
    {AUDITOR, N_("an auditor")},           {PSYCHOLOGIST, N_("a psychologist")},
    {LEGAL_AID, N_("a legal-aid worker")}, {SOCIAL_WORKER, N_("a social worker")},
};

const char *tlo_custody_role_words(unsigned role)
{
    for (size_t i = 0; i < sizeof role_words / sizeof role_words[0]; i++)
        if (role_words[i].role == role)
            return role_words[i].words;
    return "the custodian";
}

static const char *when_words(unsigned when)
{
    switch (when) {
    case TLO_WHEN_GRANTED:
        return " with a grant";
    case TLO_WHEN_RECORDER:
        return " who recorded the session";
    case TLO_WHEN_OPENER:
        return " who opened the case";
    case TLO_WHEN_AUTHOR:
        return "the note's author";
    case TLO_WHEN_PROFESSION:
        return "someone of the author's profession who works on the case";
    case TLO_WHEN_HOLDER:
        return "whoever holds the sample now (never an auditor)";
    case TLO_WHEN_RECEIVER:
        return "the person it is being handed to (never an auditor)";
    default:
        return "";
    }
}

/* Appends to out at *used (cap bytes), keeping it NUL-terminated. */
static void put(char *out, size_t cap, size_t *used, const char *s)
{
    int n = snprintf(out + *used, *used < cap ? cap - *used : 0, "%s", s);
    if (n > 0)
        *used += (size_t)n;
    if (*used >= cap)
        *used = cap ? cap - 1 : 0;
}

void tlo_custody_act_who(tlo_custody_act a, char *out, size_t cap)
{
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(a);
    size_t used = 0;
    if (!cap)
        return;
    out[0] = '\0';
    for (size_t i = 0; r && i < TLO_CUSTODY_MAY_CLAUSES && r->may[i].roles; i++) {
        unsigned roles = r->may[i].roles, when = r->may[i].when;
        if (i)
            put(out, cap, &used, "; or ");
        /* These name one person, whatever their role. */
        if (when == TLO_WHEN_AUTHOR || when == TLO_WHEN_PROFESSION || when == TLO_WHEN_HOLDER ||
            when == TLO_WHEN_RECEIVER) {
            put(out, cap, &used, when_words(when));
            continue;
        }
        if (roles == EVERYONE) {
            put(out, cap, &used, "anyone enrolled");
        } else if (roles == HOLDERS) {
            put(out, cap, &used, "anyone enrolled but an auditor");
        } else {
            const char *w[8];
            size_t n = 0;
            for (size_t k = 0; k < sizeof role_words / sizeof role_words[0]; k++)
                if (roles & role_words[k].role)
                    w[n++] = role_words[k].words;
            for (size_t k = 0; k < n; k++) {
                if (k)
                    put(out, cap, &used, k + 1 == n ? " or " : ", ");
                put(out, cap, &used, w[k]);
            }
        }
        put(out, cap, &used, when_words(r->may[i].when));
    }
}

int custody_log_act_refusal(tlo_custody *v, const uint8_t actor_pk[static 32], tlo_custody_act act,
                            const uint8_t *case_id, const char *reason, uint64_t *seq,
                            tlo_error *err)
{
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(act);
    char pk[65], why[401], body[700];
    tlo_vault_identity *cust = NULL;
    size_t k = 0;
    for (const char *p = reason; *p && k < sizeof why - 1; p++)
        why[k++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
    why[k] = '\0';
    /* Do not cut inside a UTF-8 sequence. */
    while (k && !tlo_text_ok(why, k))
        why[--k] = '\0';
    tlo_hex(pk, actor_pk, 32);
    snprintf(body, sizeof body, "action=%s\nactor=%s\nreason=%s\n", r ? r->name : "?", pk, why);
    int rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_append(v, cust, TLO_ENTRY_ACTION_REFUSED, case_id, body, seq, err);
    tlo_vault_identity_free(cust);
    return rc;
}

int custody_refuse_act(tlo_custody *v, const tlo_custody_person *p, tlo_custody_act act,
                       const uint8_t *case_id, const char *detail, tlo_error *err)
{
    char who_text[400], roles[200], reason[1400];
    const tlo_custody_act_rule *r = tlo_custody_act_rule_of(act);
    tlo_custody_act_who(act, who_text, sizeof who_text);
    tlo_roles_format(p->roles, ", ", roles, sizeof roles);
    snprintf(reason, sizeof reason, "%s (%s) may not %s%s%s%s: only %s may", p->name, roles,
             r ? r->what : "do this", detail ? " (" : "", detail ? detail : "", detail ? ")" : "",
             who_text);
    uint64_t seq = 0;
    tlo_error lerr = {0};
    if (v->readonly || custody_log_act_refusal(v, p->pk, act, case_id, reason, &seq, &lerr) != 0)
        return tlo_fail(err, TLO_EDENIED, "refused: %s. (The refusal could not be logged: %s)",
                        reason, v->readonly ? "the vault is open read-only" : lerr.msg);
    if (custody_seal(v, &lerr) != 0)
        return tlo_fail(err, TLO_EDENIED,
                        "refused: %s. The refusal is logged as entry %llu, but no checkpoint "
                        "covers it yet: %s",
                        reason, (unsigned long long)seq, lerr.msg);
    return tlo_fail(err, TLO_EDENIED, "refused: %s. The refusal is logged as entry %llu.", reason,
                    (unsigned long long)seq);
}

/* id proved who they are (their identity is open) but the verified ledger
 * does not let them act (revoked, or not enrolled as this key): a security
 * event, logged as action-refused with err's reason. A pending person (not
 * yet activated) is only told. Returns TLO_EDENIED. */
static int log_inactive(tlo_custody *v, const tlo_vault_identity *id, tlo_custody_act act,
                        const uint8_t *case_id, tlo_error *err)
{
    uint8_t actor[32];
    crypto_hash_sha256(actor, id->sign_pk, 32);
    const tlo_custody_person *p = tlo_custody_person_by_actor(v, actor);
    if ((p && p->revoked_at < 0 && tlo_custody_person_pending(p)) || v->readonly)
        return TLO_EDENIED;
    char reason[TLO_ERROR_MSG_MAX], shown[TLO_ERROR_MSG_MAX];
    uint64_t seq = 0;
    tlo_error lerr = {0};
    /* the ledger's text is English whatever the person reads (docs/i18n.md) */
    snprintf(reason, sizeof reason, "%s", tlo_error_english(err));
    snprintf(shown, sizeof shown, "%s", err->msg);
    if (custody_log_act_refusal(v, id->sign_pk, act, case_id, reason, &seq, &lerr) == 0 &&
        custody_seal(v, &lerr) == 0)
        return tlo_fail(err, TLO_EDENIED, "refused: %s. The refusal is logged as entry %llu.",
                        shown, (unsigned long long)seq);
    return TLO_EDENIED;
}

int custody_check_act(tlo_custody *v, const tlo_vault_identity *id, tlo_custody_act act,
                      unsigned holds, const uint8_t *case_id, const tlo_custody_person **who,
                      tlo_error *err)
{
    const tlo_custody_person *p = NULL;
    /* An active person at all (pending and revoked people are refused
     * there, as before, and not logged here: they cannot act). */
    int rc = custody_check_actor(v, id, ~(unsigned)TLO_ROLE_CUSTODIAN, "enrolled person", &p, err);
    if (rc == TLO_EDENIED && err)
        return log_inactive(v, id, act, case_id, err);
    if (rc)
        return rc;
    if (tlo_custody_may(act, p->roles, holds)) {
        if (who)
            *who = p;
        return 0;
    }
    return custody_refuse_act(v, p, act, case_id, NULL, err);
}
