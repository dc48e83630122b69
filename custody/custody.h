/* tellonce custody — the core that decides.
 *
 * It opens a vault and answers for it: people and their roles, cases,
 * sessions, grants, the custodian's decisions and key release, checkpoints,
 * export and its manifest, recovery, media verification. It never prints and
 * never exits: every verb returns 0 or a negative TLO_E* code with a message
 * for a person in the tlo_error (what failed, which file or entry, what to
 * do). Front ends (cli/, and later the custodian service, a report
 * generator, a web page) read options, call one verb and print its result.
 *
 * Only this module unwraps case keys, derives object keys and appends to the
 * ledger. Keys it hands out live in sodium_malloc memory and are wiped by the
 * matching _free.
 *
 * Requests that need a person's authority are values (tlo_custody_request:
 * who, what, which range, why, when, their signature), decided by one
 * function, tlo_custody_release, so the same request can arrive over a
 * socket.
 *
 * Call tlo_vault_init() before using this module. */
#ifndef TLO_CUSTODY_H
#define TLO_CUSTODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "chain.h"
#include "export.h"
#include "hw.h"
#include "note.h"
#include "tlo_common.h"
#include "vault.h"

/* Progress of long work (export, verify, report), for a front end to show:
 * fn (if not NULL) is called with ctx as the work goes on, done of total
 * (units the verb chooses: milliseconds of media, bytes checked), done never
 * going back and never above total; perhaps from another thread than the
 * caller's, never from two at once. */
typedef struct tlo_custody_progress {
    void (*fn)(void *ctx, uint64_t done, uint64_t total);
    /* verify and report only, before fn: entries of the ledger walked, of
     * the ledger's size (tlo_chain_verify_progress); NULL: none shown. */
    void (*ledger)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} tlo_custody_progress;

/* ======================================================================
 * The vault
 * ====================================================================== */

/* An open vault: its directory and its ledger. */
typedef struct tlo_custody tlo_custody;

/* Opens the vault in dir (TLO_ENOTFOUND when dir holds no ledger.db).
 * readonly opens the ledger without write access (an auditor's copy); every
 * verb that would append then fails. *out is NULL on failure. */
int tlo_custody_open(const char *dir, bool readonly, tlo_custody **out, tlo_error *err);
/* Closes it. NULL-safe. */
void tlo_custody_close(tlo_custody *v);

/* The vault's directory, and its ledger (for reading: walk, get, verify;
 * never append through it). Owned by v. */
const char *tlo_custody_dir(const tlo_custody *v);
tlo_chain *tlo_custody_chain(tlo_custody *v);

/* dir/name inside the vault, malloc'd (NULL when out of memory). */
char *tlo_custody_path(const tlo_custody *v, const char *name);
/* The file of a sealed object: dir/objects/<object>.tlo, malloc'd. */
char *tlo_custody_object_path(const tlo_custody *v, const char *object_hex);

/* "Now" in UTC milliseconds, for expiry and request times. For tests,
 * TELLONCE_TEST_NOW_MS may move it forward (never back): it can only refuse
 * more. */
uint64_t tlo_custody_now_ms(void);

/* The custodian service (docs/service.md) acts for a client process it
 * identified by SO_PEERCRED: after this call every entry appended through v
 * also carries client_uid=UID and client_pid=PID in its body, so the ledger
 * names the OS user and process behind each action. */
void tlo_custody_set_client(tlo_custody *v, uint32_t uid, uint32_t pid);
/* The command a front end runs for the person it unlocks ("play"), which a
 * failed unlock's entry names (cut to 64 bytes; NULL or "" clears it). */
void tlo_custody_set_command(tlo_custody *v, const char *command);
/* The custodian's identity, unlocked from custodian.id with
 * custodian.secret (free it with tlo_vault_identity_free). For the custodian
 * service only: it unlocks it once at its start and gives it to the handle
 * of each request (tlo_custody_adopt_custodian), so a request does not pay
 * Argon2id (64 MiB) again. */
int tlo_custody_custodian_unlock(tlo_custody *v, tlo_vault_identity **out, tlo_error *err);
/* Has v use cust (a copy) as its custodian, after checking the ledger
 * enrols cust's key as this vault's custodian. */
int tlo_custody_adopt_custodian(tlo_custody *v, const tlo_vault_identity *cust, tlo_error *err);
/* Logs a request-refused entry, signed by the custodian, for a request the
 * service refused before any command ran (needs tlo_custody_set_client):
 * command (NULL: none asked) and reason are cut to 200 bytes, control
 * characters replaced. Sealed (checkpoint) before it returns. */
int tlo_custody_log_refusal(tlo_custody *v, const char *command, const char *reason,
                            tlo_error *err);

/* ======================================================================
 * Who may do what (custody/roles.c; docs/roles.md prints the table)
 *
 * One table names every action a person takes and which roles may take
 * it, each role either always or only when a condition holds (the grant,
 * the session they recorded, the note they wrote, the sample they hold).
 * Every verb decides with it, and front ends ask it which roles to unlock
 * for: no role check is written anywhere else. A refusal by the table is
 * logged (action-refused, signed by the custodian) before it is returned.
 * ====================================================================== */

typedef enum {
    TLO_ACT_USER_ENROL,      /* user add, user revoke, user reissue */
    TLO_ACT_CASE_OPEN,       /* case open */
    TLO_ACT_CASE_SHOW,       /* case show: the sealed record (the child's details) */
    TLO_ACT_CASE_NUMBERS,    /* the numbers police use, in case list, log, report */
    TLO_ACT_RECORD,          /* record a session */
    TLO_ACT_MARK,            /* add a marker */
    TLO_ACT_STOP,            /* end a recording the service runs */
    TLO_ACT_RECOVER,         /* close an interrupted session */
    TLO_ACT_GRANT,           /* grant, grant revoke (clips and notes) */
    TLO_ACT_BE_GRANTED,      /* be named in a grant */
    TLO_ACT_CLIP_VIEW,       /* play a clip */
    TLO_ACT_CLIP_EXPORT,     /* export a clip */
    TLO_ACT_NOTE_EXAM,       /* note add --kind exam */
    TLO_ACT_NOTE_PHOTO,      /* note add --kind photo */
    TLO_ACT_NOTE_SAMPLE,     /* note add --kind sample-collection */
    TLO_ACT_NOTE_PSYCH,      /* note add --kind psych */
    TLO_ACT_NOTE_LEGAL,      /* note add --kind legal */
    TLO_ACT_NOTE_ASSESSMENT, /* note add --kind assessment */
    TLO_ACT_NOTE_FOLLOWUP,   /* note add --kind followup */
    TLO_ACT_NOTE_OTHER,      /* note add --kind other */
    TLO_ACT_NOTE_AMEND,      /* note amend */
    TLO_ACT_NOTE_READ,       /* note show, note get */
    TLO_ACT_NOTE_LIST,       /* note list (metadata only) */
    TLO_ACT_SAMPLE_REGISTER, /* sample register */
    TLO_ACT_SAMPLE_TRANSFER, /* sample transfer (hand over) */
    TLO_ACT_SAMPLE_RECEIVE,  /* sample receive (take over) */
    TLO_ACT_SAMPLE_DISPOSE,  /* sample dispose */
    TLO_ACT_SAMPLE_LIST,     /* sample list, sample show */
    TLO_ACT_REPORT,          /* report (from the ledger, no key) */
    TLO_ACT_LOGIN,           /* login, passwd, user activate: one's own identity */
    TLO_ACT_SESSION_LIST,    /* session list: a case's sessions (no content) */
    TLO_ACT_SETTINGS_SET,    /* settings set: a vault setting (time zone, default room) */
    TLO_ACT_COUNT
} tlo_custody_act;

/* The conditions a role may be allowed under (bits of tlo_custody_may's
 * holds; 0: always). */
enum {
    TLO_WHEN_GRANTED = 1u << 0,    /* a live grant names the person for it */
    TLO_WHEN_RECORDER = 1u << 1,   /* the person recorded the session */
    TLO_WHEN_OPENER = 1u << 2,     /* the person opened the case */
    TLO_WHEN_AUTHOR = 1u << 3,     /* the person wrote the note */
    TLO_WHEN_PROFESSION = 1u << 4, /* the note's profession is the person's, on the case */
    TLO_WHEN_HOLDER = 1u << 5,     /* the person holds the sample now */
    TLO_WHEN_RECEIVER = 1u << 6,   /* the sample is being handed to the person */
};

#define TLO_CUSTODY_MAY_CLAUSES 3
typedef struct tlo_custody_act_rule {
    tlo_custody_act act;
    const char *name; /* the command, as refusals and docs name it: "note add --kind exam" */
    const char *what; /* for people: "add a physical examination note" */
    struct {
        unsigned roles; /* TLO_ROLE_*; 0 ends the list */
        unsigned when;  /* TLO_WHEN_* all of which must hold; 0: always */
    } may[TLO_CUSTODY_MAY_CLAUSES];
} tlo_custody_act_rule;

/* The whole table (*n rows, in tlo_custody_act order), and one row. */
const tlo_custody_act_rule *tlo_custody_act_rules(size_t *n);
const tlo_custody_act_rule *tlo_custody_act_rule_of(tlo_custody_act a);
/* Every role that may take a under some condition (what to unlock for). */
unsigned tlo_custody_act_roles(tlo_custody_act a);
/* May a person holding roles, for whom the conditions holds (TLO_WHEN_*)
 * are true, take a? */
bool tlo_custody_may(tlo_custody_act a, unsigned roles, unsigned holds);
/* Who may take a, in words ("medical staff", "the interviewer who recorded
 * the session; or a prosecutor, ... with a grant"), into out (cap bytes). */
void tlo_custody_act_who(tlo_custody_act a, char *out, size_t cap);
/* A role's name for people ("medical staff", "a legal-aid worker"); roles
 * one bit. */
const char *tlo_custody_role_words(unsigned role);

/* ======================================================================
 * People
 * ====================================================================== */

/* A person as the ledger enrols them (genesis, user-add, user-activated,
 * user-revoke). */
typedef struct tlo_custody_person {
    char name[TLO_NAME_MAX + 1];
    uint8_t pk[32];    /* Ed25519 */
    uint8_t actor[32]; /* SHA-256 of pk, as entries name their actor */
    unsigned roles;    /* TLO_ROLE_* */
    uint64_t enrolled_at;
    int64_t revoked_at;      /* the user-revoke entry, -1 while active */
    uint64_t activate_by_ms; /* enrolled with a code: its deadline (UTC ms); 0: not */
    int64_t activated_at;    /* the user-activated entry; -1 while pending, or without a code */
} tlo_custody_person;

/* Enrolled with a code (tlo_custody_user_add without a passphrase) and not
 * yet activated: such a person cannot act. */
bool tlo_custody_person_pending(const tlo_custody_person *p);

/* Everyone enrolled, in ledger order (owned by v). Read from the ledger on
 * first use and again after v appended: a pointer from this function or
 * the two below is valid only until the next verb that appends. */
int tlo_custody_people(tlo_custody *v, const tlo_custody_person **list, size_t *n, tlo_error *err);
/* The person whose actor id (SHA-256 of pk) is actor, or NULL. */
const tlo_custody_person *tlo_custody_person_by_actor(tlo_custody *v,
                                                      const uint8_t actor[static 32]);
/* A name or case number as tellonce stores and compares it: white space
 * trimmed at both ends, Unicode NFC (malloc'd; NULL when out of memory).
 * Every verb that takes one does this itself; a front end may, to print
 * what the ledger holds. */
char *tlo_custody_text_norm(const char *typed);
/* The active person called name (compared trimmed and in NFC), or NULL. */
const tlo_custody_person *tlo_custody_person_by_name(tlo_custody *v, const char *name);

/* The path of name's identity file in people/ (malloc'd into *path): the
 * file holding the key the ledger enrols (active) for name, else the one
 * file whose public name is name, else TLO_ENOTFOUND or TLO_EARG (more than
 * one). No passphrase is needed. */
int tlo_custody_identity_path(tlo_custody *v, const char *name, char **path, tlo_error *err);

/* Unlocks name's identity with the passphrase and checks that the ledger
 * enrols that key, not revoked, with one of roles (role_text names them in
 * the error, e.g. "administrator (only administrators grant)"). *out (free
 * with tlo_vault_identity_free) on success; TLO_EPASSPHRASE, TLO_EDENIED,
 * TLO_ENOTFOUND otherwise. A wrong passphrase (the well-formed file does not
 * open: "wrong passphrase for NAME") for a person the ledger enrols is
 * logged as an unlock-failed entry signed by the custodian (the person's
 * public key, the command of tlo_custody_set_command; never anything of
 * what was typed), at most TLO_CUSTODY_UNLOCK_FAILED_PER_HOUR a person an
 * hour; a damaged file is TLO_EFORMAT, and not logged. */
#define TLO_CUSTODY_UNLOCK_FAILED_PER_HOUR 30
int tlo_custody_unlock(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                       unsigned roles, const char *role_text, tlo_vault_identity **out,
                       tlo_error *err);

/* Checks that id (unlocked earlier: the custodian service's login) is
 * still enrolled, not revoked, with one of roles; as tlo_custody_unlock
 * does after the passphrase. 0, TLO_EDENIED. */
int tlo_custody_check_identity(tlo_custody *v, const tlo_vault_identity *id, unsigned roles,
                               const char *role_text, tlo_error *err);

/* tlo_custody_unlock and tlo_custody_check_identity for the roles that may
 * take act (tlo_custody_act_roles; conditions are the verb's to check):
 * a person who exists but holds none of them is refused with a logged
 * action-refused entry (case_id NULL: no case), TLO_EDENIED. */
int tlo_custody_unlock_for(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                           tlo_custody_act act, const uint8_t *case_id, tlo_vault_identity **out,
                           tlo_error *err);
int tlo_custody_check_identity_for(tlo_custody *v, const tlo_vault_identity *id,
                                   tlo_custody_act act, const uint8_t *case_id, tlo_error *err);

/* ======================================================================
 * Cases and sessions
 * ====================================================================== */

typedef struct tlo_custody_case {
    uint8_t id[TLO_ID_BYTES];       /* internal id: file names and entries use it */
    char number[129];               /* how it was named: the number as the person gave it
                                     * (tlo_custody_case_find), else its internal id in hex;
                                     * the ledger never holds the number (only its sealed record) */
    uint64_t opened_at;             /* the case-open entry */
    bool has_wrapped_digest;        /* the entry logs wrapped_key_sha256 */
    uint8_t wrapped_key_sha256[32]; /* of cases/ID.key, checked at every unwrap */
} tlo_custody_case;

/* The case named number: its internal id (32 lowercase hex digits, no key
 * needed), else the number police use, found by the keyed hash its
 * case-open entry logs (needs custodian.secret: TLO_EDENIED when it cannot
 * be read). 0, or TLO_ENOTFOUND with a message. */
int tlo_custody_case_find(tlo_custody *v, const char *number, tlo_custody_case *out,
                          tlo_error *err);

/* What the ledger says of one session of a case. */
typedef struct tlo_custody_session {
    bool found, ended;    /* a session-start; a session-end or -recovered */
    uint8_t recorder[32]; /* actor of the session-start entry */
    uint64_t segments;    /* segment entries */
    uint64_t end_ms;      /* the latest end_ms of its segments (0 if none) */
} tlo_custody_session;

/* Scans the ledger for session (32 hex digits) of case_id. 0 (found or
 * not: see out->found) or an error reading the ledger. */
int tlo_custody_session_info(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                             const char *session, tlo_custody_session *out, tlo_error *err);

/* One session of a case as people find it (custody/session_list.c). */
typedef struct tlo_custody_session_row {
    unsigned no; /* its place in the case: 1, 2, ... by start */
    uint8_t case_id[TLO_ID_BYTES];
    char id[33];
    uint64_t start_seq, started_at; /* its session-start entry and its time (UTC ms) */
    uint64_t length_ms;             /* the largest end_ms of its segments */
    uint64_t segments;
    char room[128];
    char status[16]; /* "recording", "interrupted", "ended", "failed", "recovered" */
} tlo_custody_session_row;

/* The sessions of case_id in start order, for actor (TLO_ACT_SESSION_LIST,
 * a refusal logged), from the rows the custodian verified only (needs the
 * custodian: embedded, or in the service). *out is malloc'd (free it). */
int tlo_custody_session_list(tlo_custody *v, const tlo_vault_identity *actor,
                             const uint8_t case_id[static TLO_ID_BYTES],
                             tlo_custody_session_row **out, size_t *n, tlo_error *err);

/* A number in the case has at most this many digits; longer is an id prefix. */
#define TLO_CUSTODY_SESSION_NUMBER_DIGITS 3

/* The session text names: its number in case cs (1 to 3 digits), or its id
 * or a unique prefix of it (4 to 32 hex digits) among the sessions of cs, or
 * of every case when cs is NULL. TLO_EARG (malformed, a number without a
 * case, an ambiguous prefix: the message lists the candidates' numbers),
 * TLO_ENOTFOUND. Reads the ledger's rows unverified: it names a session,
 * whoever decides on it reads the verified ledger. */
int tlo_custody_session_find(tlo_custody *v, const tlo_custody_case *cs, const char *text,
                             tlo_custody_session_row *out, tlo_error *err);

/* ======================================================================
 * Grants
 * ====================================================================== */

/* A grant as the ledger holds it (kind 30; kind 31 revokes one). */
typedef struct tlo_custody_grant {
    uint64_t seq;
    uint8_t case_id[TLO_ID_BYTES];
    uint8_t to[32]; /* the grantee's public key */
    char to_name[TLO_NAME_MAX + 1];
    char session[33];
    uint64_t from_ms, until_ms, expires_ms;
    bool view, exp; /* actions */
    char purpose[512];
    int64_t revoked_at; /* the grant-revoke entry, -1 if none */
} tlo_custody_grant;

/* Every grant in the ledger (of the case when case_id is not NULL), in
 * ledger order; free(*out). */
int tlo_custody_grants(tlo_custody *v, const uint8_t *case_id, tlo_custody_grant **out, size_t *n,
                       tlo_error *err);

/* What an administrator asks to grant. */
typedef struct tlo_custody_grant_params {
    const char *case_number;
    const char *to;      /* the grantee's name */
    const char *session; /* 32 hex digits */
    uint64_t from_ms;
    uint64_t until_ms;   /* UINT64_MAX: the session's end */
    uint64_t expires_ms; /* the last millisecond the grant holds */
    bool view, exp;
    const char *purpose; /* one line, 1..400 bytes */
} tlo_custody_grant_params;

/* Checks p against the ledger without signing anything (so a typo is found
 * before anyone types a passphrase): out gets the grant it would log. */
int tlo_custody_grant_check(tlo_custody *v, const tlo_custody_grant_params *p,
                            tlo_custody_grant *out, tlo_error *err);

/* Checks and logs a grant signed by admin (who must be an active
 * administrator). out gets the grant as logged (its seq, resolved until_ms).
 * TLO_EARG / TLO_ENOTFOUND / TLO_EDENIED with a message otherwise. */
int tlo_custody_grant_issue(tlo_custody *v, const tlo_vault_identity *admin,
                            const tlo_custody_grant_params *p, tlo_custody_grant *out,
                            tlo_error *err);

/* The grant logged as entry grant_seq, if it is not revoked (TLO_ENOTFOUND,
 * or TLO_EARG when already revoked). */
int tlo_custody_grant_find(tlo_custody *v, uint64_t grant_seq, tlo_custody_grant *out,
                           tlo_error *err);

/* Revokes grant grant_seq (an administrator's signed entry). out gets the
 * grant revoked; *seq the grant-revoke entry. */
int tlo_custody_grant_revoke(tlo_custody *v, const tlo_vault_identity *admin, uint64_t grant_seq,
                             const char *reason, tlo_custody_grant *out, uint64_t *seq,
                             tlo_error *err);

/* ======================================================================
 * The custodian's one door for keys
 *
 * tlo_custody_release takes a person's signed request and, in this order:
 *   1. checks the request's signature against the key the ledger enrols;
 *   2. checks role, grant, range, expiry and revocation against the ledger;
 *   3. appends the access entry, signed by the custodian, durably (a refusal
 *      is appended as an access-denied entry, and nothing is released);
 *   4. only then unwraps the case key and derives the object keys of the
 *      segments that overlap the range, nothing else (the case key is wiped
 *      at once; an object key opens only its own object), each only once
 *      its file's SHA-256 is the ciphertext_sha256 its entry logged;
 *   5. hands them over in secure memory (tlo_custody_released_free wipes).
 * If the append fails (disk full, database locked, read-only vault) no key is
 * released. Who may: an administrator grants a person (prosecutor, medical or
 * administrator) a range of one session, until an expiry, for a purpose and
 * actions; the interviewer who recorded a session may view it without a
 * grant; auditors never receive keys.
 * ====================================================================== */

typedef enum { TLO_CUSTODY_VIEW, TLO_CUSTODY_EXPORT } tlo_custody_action;

/* "view" or "export". */
const char *tlo_custody_action_name(tlo_custody_action a);

/* A range of a session on its clock, and the grant that gives it. */
typedef struct tlo_custody_range {
    uint64_t from_ms, to_ms, grant_seq;
} tlo_custody_range;

/* The ranges of session of case_id that live grants (not revoked, not
 * expired, allowing action) give the person whose Ed25519 key is pk,
 * sorted by start (*out malloc'd: free it; *n may be 0). For front ends to
 * say what a person may ask for before anything is signed: the rows are not
 * verified, and the custodian decides again on the verified ledger. */
int tlo_custody_granted_ranges(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                               const char *session, const uint8_t pk[static 32],
                               tlo_custody_action action, tlo_custody_range **out, size_t *n,
                               tlo_error *err);

#define TLO_CUSTODY_PURPOSE_MAX 511
/* The longest encoded request (tlo_custody_request_encode). */
#define TLO_CUSTODY_REQUEST_MAX 2048

/* A request, as a value. The signed bytes are (docs/cli.md):
 *   "tellonce/v1 request\n" "action=A\n" "case=HEX32\n" "from_ms=N\n"
 *   "purpose=P\n" "session=HEX32\n" "time_ms=N\n" "to_ms=N\n"
 * with P empty when no purpose was given (the grant's purpose is then
 * logged). */
typedef struct tlo_custody_request {
    tlo_custody_action action;
    uint8_t case_id[TLO_ID_BYTES];
    char session[33];
    uint64_t from_ms, to_ms; /* on the session clock, to_ms resolved */
    char purpose[TLO_CUSTODY_PURPOSE_MAX + 1];
    uint64_t time_ms; /* when it was made (UTC ms) */
    uint8_t actor_pk[32];
    uint8_t sig[64]; /* Ed25519 by actor_pk over the signed bytes */
} tlo_custody_request;

/* Makes and signs a request as actor: to_ms UINT64_MAX means the session's
 * end (resolved from the ledger); purpose NULL or "" means the grant's. */
int tlo_custody_request_make(tlo_custody *v, const tlo_vault_identity *actor,
                             tlo_custody_action action, const tlo_custody_case *cs,
                             const char *session, uint64_t from_ms, uint64_t to_ms,
                             const char *purpose, tlo_custody_request *out, tlo_error *err);

/* The signed bytes of r into out (cap bytes; NUL-terminated). Their length,
 * or 0 when r is not a well-formed request or cap is too small. */
size_t tlo_custody_request_signed_text(const tlo_custody_request *r, char *out, size_t cap);

/* The request as it travels: the signed bytes, then "actor=HEX64\n" and
 * "sig=HEX128\n". Length, or 0 (as above). */
size_t tlo_custody_request_encode(const tlo_custody_request *r, char *out, size_t cap);

/* Parses an encoded request (hostile input: every field bounded and
 * checked; only the exact encoding tlo_custody_request_encode makes is
 * accepted). Does not check the signature: tlo_custody_release does. *out
 * is zeroed on failure (TLO_EFORMAT). */
int tlo_custody_request_decode(const char *buf, size_t len, tlo_custody_request *out,
                               tlo_error *err);

typedef struct tlo_custody_segment {
    uint64_t index, start_ms, end_ms;
    char object[33]; /* its object id; tlo_custody_object_path finds the file */
    uint8_t plaintext_sha256[32], ciphertext_sha256[32];
    uint64_t bytes;
    uint64_t seq; /* its segment entry */
    uint8_t *key; /* TLO_OBJECT_KEY_BYTES of sodium_malloc memory */
} tlo_custody_segment;

typedef struct tlo_custody_released {
    uint64_t access_seq;     /* the access-granted entry */
    uint64_t denied_seq;     /* on TLO_EDENIED: the access-denied entry (0 if not logged) */
    uint64_t grant_seq;      /* the grant used; 0 for an interviewer's own session */
    uint64_t from_ms, to_ms; /* the range released */
    uint64_t session_end_ms;
    char purpose[TLO_CUSTODY_PURPOSE_MAX + 1]; /* as logged */
    size_t n;
    tlo_custody_segment *seg;
} tlo_custody_released;

/* The door (see above). 0 and *out filled; TLO_EDENIED with the reason in
 * err ("refused: ... The refusal is logged as entry N.") and out->denied_seq;
 * other codes for failures. Nothing is released unless it returns 0. */
int tlo_custody_release(tlo_custody *v, const tlo_custody_request *req, tlo_custody_released *out,
                        tlo_error *err);

/* Wipes and frees the keys. NULL-safe; out may be reused. */
void tlo_custody_released_free(tlo_custody_released *rel);

/* ======================================================================
 * Checkpoints
 * ====================================================================== */

/* The ledger's origin (into origin, cap bytes) and the custodian's verifier
 * key, from the genesis entry. */
int tlo_custody_trust(tlo_custody *v, char *origin, size_t cap, tlo_note_verifier *verifier,
                      tlo_error *err);

/* The path of the vault's newest checkpoint (malloc'd), or NULL if none. */
char *tlo_custody_newest_checkpoint(const tlo_custody *v);

typedef struct tlo_custody_checkpoint_info {
    uint64_t size;    /* entries covered */
    uint8_t root[32]; /* their Merkle root */
    uint64_t seq;     /* the checkpoint entry */
    char origin[TLO_NOTE_NAME_MAX + 1];
    char *path; /* where the vault keeps it (malloc'd) */
    char *note; /* the signed note (malloc'd) */
    size_t note_len;
} tlo_custody_checkpoint_info;

/* Verifies the ledger, has the custodian sign a checkpoint of it, keeps it
 * in checkpoints/ and logs it. out (if not NULL) gets what was written;
 * tlo_custody_checkpoint_info_free it. */
int tlo_custody_checkpoint(tlo_custody *v, tlo_custody_checkpoint_info *out, tlo_error *err);
void tlo_custody_checkpoint_info_free(tlo_custody_checkpoint_info *info);

/* The publish directories vault.conf names (docs/vault-layout.md): every
 * checkpoint the vault keeps is also copied to each. *dirs malloc'd
 * (tlo_custody_publish_dirs_free); none when there is no vault.conf. */
int tlo_custody_publish_dirs(tlo_custody *v, char ***dirs, size_t *n, tlo_error *err);
void tlo_custody_publish_dirs_free(char **dirs, size_t n);

/* Copies every checkpoint of checkpoints/ that dir (absolute) lacks into it,
 * durably; one dir already holds with other bytes fails (a fork). *copied
 * counts the copies. */
int tlo_custody_checkpoint_publish(tlo_custody *v, const char *dir, size_t *copied, tlo_error *err);

/* Opens a checkpoint file and checks its signature by the vault's custodian;
 * *text (malloc'd) holds the note cp refers into. */
int tlo_custody_checkpoint_read(tlo_custody *v, const char *path, tlo_checkpoint *cp, char **text,
                                tlo_error *err);

/* ======================================================================
 * Administration: the vault, people, cases
 * ====================================================================== */

/* ---- Creating a vault (init.c) ---- */

/* What 'init' asks for. The passphrase is the caller's buffer (not kept). */
typedef struct tlo_custody_init_params {
    const char *admin_name; /* the first administrator */
    const char *origin;     /* names the ledger in checkpoints; NULL: tellonce/vault/ + random id */
    const char *passphrase; /* the administrator's */
    size_t passphrase_len;
    tlo_vault_kdf_cost kdf; /* for the administrator's identity file */
} tlo_custody_init_params;

typedef struct tlo_custody_init_result {
    char origin[200];
    char admin_name[TLO_NAME_MAX + 1];
    char admin_key_id[2 * TLO_KEYID_BYTES + 1];
} tlo_custody_init_result;

/* Checks, writing nothing, what would make tlo_custody_init fail before it
 * writes (so nobody types a passphrase for nothing): the origin, that dir is
 * not already a vault, the administrator's name. The passphrase is not
 * looked at. 0, or TLO_EARG with a message. */
int tlo_custody_init_check(const char *dir, const tlo_custody_init_params *p, tlo_error *err);

/* Creates the vault in dir: the directory and people/ (0700), the custodian
 * (custodian.id, locked with the random secret in custodian.secret, 0600),
 * the administrator's identity in people/, and the ledger with its genesis
 * entry signed by both. The passphrase must pass
 * tlo_custody_passphrase_check (before anything is written). *out is filled
 * on success. On failure nothing of the vault is left behind (the
 * directories may stay). */
int tlo_custody_init(const char *dir, const tlo_custody_init_params *p,
                     tlo_custody_init_result *out, tlo_error *err);

/* ---- People: enrolment and revocation (users.c) ---- */

/* A person to enrol. The passphrase (theirs) is the caller's buffer; NULL
 * enrols them with a one-time enrolment code instead (below). */
/* A person's name: 1 to this many characters (code points), trimmed and in
 * NFC as enrolled, and its UTF-8 at most an identity file's TLO_NAME_MAX
 * bytes (80 Chinese characters are 240: only a name of characters beyond
 * U+FFFF, 4 bytes each, meets that bound first). */
#define TLO_CUSTODY_NAME_CHARS 80
typedef struct tlo_custody_user_params {
    const char *name;
    unsigned roles; /* TLO_ROLE_*, at least one */
    const char *passphrase;
    size_t passphrase_len;
    tlo_vault_kdf_cost kdf; /* for their identity file */
} tlo_custody_user_params;

typedef struct tlo_custody_enrolment {
    char key_id[2 * TLO_KEYID_BYTES + 1]; /* of the new identity */
    uint64_t seq;                         /* the user-add entry */
    char *code;              /* enrolled with a code: "XXXX-XXXX-XXXX-XXXX" in secure memory
                                (the caller sodium_frees it); NULL otherwise */
    uint64_t activate_by_ms; /* with a code: its deadline (UTC ms); else 0 */
} tlo_custody_enrolment;

/* Checks, signing nothing, that name can be enrolled: not already enrolled
 * (and active), a valid identity name. 0 or TLO_EARG with a message. */
int tlo_custody_user_add_check(tlo_custody *v, const char *name, tlo_error *err);

/* Enrols p->name: creates their identity in people/KEYID.id and logs the
 * user-add entry signed by admin (an active administrator, else
 * TLO_EDENIED). If the entry cannot be logged the identity file is removed.
 * *out is filled on success. A passphrase must pass
 * tlo_custody_passphrase_check. Without one, the identity is locked with a
 * new enrolment code (out->code), valid TLO_CUSTODY_CODE_VALID_MS from
 * tlo_custody_now_ms: the entry logs that deadline (activate_by_ms), never
 * the code, and the person is pending until they activate. */
int tlo_custody_user_add(tlo_custody *v, const tlo_vault_identity *admin,
                         const tlo_custody_user_params *p, tlo_custody_enrolment *out,
                         tlo_error *err);

/* The active person called name who may be revoked (not the custodian):
 * 0 with *out (owned by v, valid until the next append), or TLO_ENOTFOUND. */
int tlo_custody_user_revoke_check(tlo_custody *v, const char *name, const tlo_custody_person **out,
                                  tlo_error *err);

/* Revokes name (as tlo_custody_user_revoke_check finds them) with a
 * user-revoke entry signed by admin (an active administrator); reason is
 * logged on one line (tabs and line breaks become spaces, at most 511
 * bytes). *seq (if not NULL) gets the entry. */
int tlo_custody_user_revoke(tlo_custody *v, const tlo_vault_identity *admin, const char *name,
                            const char *reason, uint64_t *seq, tlo_error *err);

/* ---- People: passphrase policy, enrolment codes, activation, passwd (users.c) ---- */

/* The policy for every new passphrase (init's first administrator, user
 * add, user activate, passwd): at least TLO_CUSTODY_PASSPHRASE_MIN
 * characters (UTF-8 code points: 12 Chinese characters do), not one
 * character repeated, not the person's own name, not one of a built-in list
 * of common passphrases (compared ignoring ASCII case). 0, or TLO_EARG with
 * the reason ("a passphrase needs at least 12 characters; this one has 9"). */
#define TLO_CUSTODY_PASSPHRASE_MIN 12
int tlo_custody_passphrase_check(const char *name, const char *pass, size_t len, tlo_error *err);

/* An enrolment code: 16 symbols from 23456789ABCDEFGHJKLMNPQRSTUVWXYZ (no
 * 0/O, 1/I), 80 random bits, shown in groups of four with dashes. Typed in
 * any case, with or without dashes and spaces. The identity file of a
 * pending person is locked with the 16 symbols as its passphrase. */
#define TLO_CUSTODY_CODE_SYMBOLS 16
#define TLO_CUSTODY_CODE_TEXT 20 /* "XXXX-XXXX-XXXX-XXXX" and its NUL */
#define TLO_CUSTODY_CODE_VALID_MS (24ULL * 3600 * 1000)

/* The person name who may activate now: enrolled with a code, not revoked,
 * not activated, its deadline not passed by tlo_custody_now_ms. 0 and *out
 * (owned by v, valid until the next append), or TLO_ENOTFOUND, TLO_EARG
 * (no code, or already activated), TLO_EDENIED (expired: ask an
 * administrator). Asks for no code: for front ends, before they ask. */
int tlo_custody_activation_check(tlo_custody *v, const char *name, const tlo_custody_person **out,
                                 tlo_error *err);

/* Unlocks name's pending identity with the code (as typed: case and dashes
 * do not matter) after tlo_custody_activation_check: *out (free with
 * tlo_vault_identity_free), or TLO_EPASSPHRASE (the code does not open it)
 * and the errors above. */
int tlo_custody_activation_open(tlo_custody *v, const char *name, const char *code, size_t code_len,
                                tlo_vault_identity **out, tlo_error *err);

/* Activates id (from tlo_custody_activation_open with code): checks the
 * new passphrase against the policy and the deadline again, re-locks the
 * identity file with the new passphrase (a new file, fsynced, renamed over
 * the old one, the folder fsynced) and logs a user-activated entry signed
 * by id itself (*seq). If the entry cannot be logged, the file is locked
 * with the code again. Afterwards the code opens nothing. */
int tlo_custody_user_activate(tlo_custody *v, const tlo_vault_identity *id, const char *code,
                              size_t code_len, const char *pass, size_t pass_len,
                              tlo_vault_kdf_cost kdf, uint64_t *seq, tlo_error *err);

/* A new enrolment code for name, who is pending (enrolled with a code, not
 * activated; the code expired or not), signed by admin: revokes the pending
 * key (user-revoke, reason "enrolment code reissued") and enrols name again
 * with the same roles and a new code, as tlo_custody_user_add (*out; kdf for
 * the new identity file). The old code then opens nothing the ledger
 * enrols. tlo_custody_user_reissue_check checks name alone, signing nothing. */
int tlo_custody_user_reissue_check(tlo_custody *v, const char *name, tlo_error *err);
int tlo_custody_user_reissue(tlo_custody *v, const tlo_vault_identity *admin, const char *name,
                             tlo_vault_kdf_cost kdf, tlo_custody_enrolment *out, tlo_error *err);

/* Changes id's passphrase: id is an active, activated person unlocked with
 * their current passphrase (tlo_custody_unlock); the new one must pass the
 * policy. The identity file is replaced as above; nothing is logged. */
int tlo_custody_passwd(tlo_custody *v, const tlo_vault_identity *id, const char *pass,
                       size_t pass_len, tlo_vault_kdf_cost kdf, tlo_error *err);

/* ---- Cases: opening, listing, showing (case.c) ---- */

/* The sealed case record: the fields of a case that never appear in the
 * ledger or a file name, sealed under the case key (TLO_KIND_CASEINFO). Its
 * plaintext is exactly four lines, in this order:
 *   "case_number=" N "\n"       N: 1..128 bytes of text, no '/' (1 to
 *                               TLO_CUSTODY_CASE_NUMBER_CHARS characters)
 *   "child_birthdate=" B "\n"   B: 0..64 bytes of text
 *   "child_name=" C "\n"        C: 0..255 bytes of text
 *   "title=" T "\n"             T: 0..1000 bytes of text
 * where text is valid UTF-8 without control characters (tlo_text_ok). It
 * holds a child's details: wipe it (tlo_custody_case_record_wipe). */
#define TLO_CUSTODY_CASE_NUMBER_MAX 128 /* bytes: 4 for each of the characters below */
#define TLO_CUSTODY_CASE_NUMBER_CHARS 32
_Static_assert(sizeof((tlo_custody_case *)0)->number == TLO_CUSTODY_CASE_NUMBER_MAX + 1,
               "a case's number holds any case number");
#define TLO_CUSTODY_CASE_BIRTHDATE_MAX 64
#define TLO_CUSTODY_CASE_CHILD_NAME_MAX 255
#define TLO_CUSTODY_CASE_TITLE_MAX 1000
/* The longest plaintext a reader accepts (the writer's is below 1600). */
#define TLO_CUSTODY_CASE_RECORD_MAX 8192

typedef struct tlo_custody_case_record {
    char case_number[TLO_CUSTODY_CASE_NUMBER_MAX + 1];
    char child_birthdate[TLO_CUSTODY_CASE_BIRTHDATE_MAX + 1];
    char child_name[TLO_CUSTODY_CASE_CHILD_NAME_MAX + 1];
    char title[TLO_CUSTODY_CASE_TITLE_MAX + 1];
} tlo_custody_case_record;

/* Parses a record's plaintext (hostile input: every length bounded, only
 * the exact encoding above accepted). 0, or TLO_EFORMAT with *out zeroed. */
int tlo_custody_case_record_parse(const char *buf, size_t len, tlo_custody_case_record *out,
                                  tlo_error *err);
/* Writes r's plaintext into out (cap bytes, NUL-terminated). Its length, or
 * 0 when a field breaks the rules above or cap is too small. */
size_t tlo_custody_case_record_format(const tlo_custody_case_record *r, char *out, size_t cap);
/* Wipes r. NULL-safe. */
void tlo_custody_case_record_wipe(tlo_custody_case_record *r);

/* What 'case open' asks for; NULL fields are empty. */
typedef struct tlo_custody_case_params {
    const char *number; /* the number police use */
    const char *title;
    const char *child_name;
    const char *child_birthdate;
} tlo_custody_case_params;

/* Checks p without writing or signing anything: the number and fields
 * follow the record's rules, and no case has this number. 0 or TLO_EARG. */
int tlo_custody_case_open_check(tlo_custody *v, const tlo_custody_case_params *p, tlo_error *err);

/* Opens a case as interviewer (an active interviewer or administrator,
 * else TLO_EDENIED): a new random case key, wrapped to the custodian's key
 * of the genesis entry into cases/ID.key; the sealed case record in
 * objects/; and the case-open entry (case_number, info_object, info_sha256
 * of the sealed object, wrapped_key_sha256), signed by interviewer. *out
 * gets the case (opened_at: its entry). On failure the files are removed. */
int tlo_custody_case_open(tlo_custody *v, const tlo_vault_identity *interviewer,
                          const tlo_custody_case_params *p, tlo_custody_case *out, tlo_error *err);

/* What the ledger says of a case (no key is touched). */
typedef struct tlo_custody_case_facts {
    tlo_custody_case c;
    uint8_t opener[32];   /* actor of its case-open entry */
    char info_object[40]; /* the sealed record's object id ("" if none) */
    unsigned sessions;    /* its session-start entries */
    bool number_shown;    /* c.number is the number police use (tlo_custody_case_numbers),
                           * not the internal id */
    bool has_number_mac;  /* its case-open entry logs case_number_mac (number_mac) */
    uint8_t number_mac[32];
} tlo_custody_case_facts;

/* Every case-open entry, in ledger order: *list malloc'd (free it), *n.
 * Each c.number is the case's internal id in hex: the ledger has no number. */
int tlo_custody_cases(tlo_custody *v, tlo_custody_case_facts **list, size_t *n, tlo_error *err);

/* The case with this number (tlo_custody_case_find) and its facts. */
int tlo_custody_case_about(tlo_custody *v, const char *number, tlo_custody_case_facts *out,
                           tlo_error *err);

typedef struct tlo_custody_case_view {
    tlo_custody_case_facts facts;
    uint64_t view_seq; /* the case-view entry (0: not logged) */
    bool log_failed;   /* the case-view entry could not be logged: nothing was unsealed */
    tlo_custody_case_record record; /* only on success: wipe it */
} tlo_custody_case_view;

/* Shows case number to actor (an active enrolled person). In this order:
 * logs a case-view entry signed by the custodian (result=shown, or refused
 * with a reason); only then, to an administrator or the interviewer who
 * opened the case, unwraps the case key and reads the sealed record. 0 with
 * *out filled; TLO_EDENIED (logged: out->view_seq) when actor may not see
 * the sealed fields; other codes for failures. out->facts is filled once
 * the case is found. */
int tlo_custody_case_show(tlo_custody *v, const tlo_vault_identity *actor, const char *number,
                          tlo_custody_case_view *out, tlo_error *err);

/* Who may see the numbers police use in a list of cases ('case list', 'log',
 * 'report'): the people who work a case by its number, as the table says
 * (TLO_ACT_CASE_NUMBERS). Medical staff, auditors and the others see
 * internal ids (docs/roles.md). */

/* Shows actor (an active enrolled person) the numbers of the n cases of
 * list (from tlo_custody_cases). In this order: logs one case-view entry
 * per case, signed by the custodian, in one append (fields=case_number,
 * result=shown; or result=refused with a reason when actor holds none of
 * TLO_ACT_CASE_NUMBERS); only then unwraps each case key and reads the
 * number from the sealed record into list[i].c.number (number_shown). A
 * record that cannot be read keeps its internal id and the first such error
 * is returned after the rest are read. *first_seq (if not NULL) gets the
 * first case-view entry (0: none logged). TLO_EDENIED (logged) when refused;
 * nothing is unsealed when the entries cannot be logged. */
int tlo_custody_case_numbers(tlo_custody *v, const tlo_vault_identity *actor,
                             tlo_custody_case_facts *list, size_t n, uint64_t *first_seq,
                             tlo_error *err);

/* ======================================================================
 * Verification and proofs
 * ====================================================================== */

/* What the media check found (tlo_custody_verify_media). */
typedef struct tlo_custody_media_report {
    bool ok;
    uint64_t segments;               /* segment files found with their logged digest */
    char problem[TLO_ERROR_MSG_MAX]; /* when !ok: the first problem, for a person */
} tlo_custody_media_report;

/* Checks, without any key, that every segment the ledger names is in
 * objects/ with the size and SHA-256 its entry logged, that each session's
 * segments run 0, 1, 2, ... contiguous on the session clock, and that every
 * session started was ended (or recovered). Stops at the first problem.
 * 0 when the walk ran (out->ok says whether all holds), or a negative code
 * (err filled) when the ledger could not be read. */
int tlo_custody_verify_media(tlo_custody *v, tlo_custody_media_report *out, tlo_error *err);

/* What 'verify' found: the chain report, whose ok and problem also cover
 * the anchors and the media; the tree heads it had to extend; the entries of
 * the case asked for; the segments checked. */
typedef struct tlo_custody_verify_report {
    tlo_chain_report chain;
    size_t nanchors;
    tlo_chain_anchor *anchors;    /* every checkpoint checked; labels point into labels[] */
    char **labels;                /* malloc'd; tlo_custody_verify_report_free */
    size_t local_checkpoints;     /* of them in the vault's checkpoints/ */
    uint64_t local_newest;        /* the size the newest of those covers (0: none) */
    size_t published_checkpoints; /* from the directories p->checkpoint_dirs */
    uint64_t published_newest;
    size_t checkpoint_entries; /* checkpoint entries matched with their file */
    bool has_old;              /* p->old_checkpoint was checked: anchors[0] */
    bool pinned;               /* the custodian is the pinned verifier key */
    bool has_case;
    uint64_t case_entries; /* counted when the chain verified */
    uint64_t segments;
    uint64_t case_records; /* wrapped keys and sealed case records with their logged digest */
    uint64_t unfinished;   /* unfinished segments a recovery kept as found */
    char notes[2048];      /* lines for a person: files kept or left that are not problems */
} tlo_custody_verify_report;

/* What an auditor brings to 'verify'. */
typedef struct tlo_custody_verify_params {
    const char *old_checkpoint;         /* a checkpoint they kept, or NULL */
    const char *const *checkpoint_dirs; /* directories of published checkpoints */
    size_t ndirs;
    const tlo_note_verifier *verifier; /* the custodian's key they pinned, or NULL */
    const uint8_t *case_id;            /* TLO_CASE_ID_BYTES, or NULL */
    tlo_custody_progress progress;     /* bytes of the vault's files checked */
} tlo_custody_verify_params;

/* The auditor's verification in one verb: the genesis names the custodian
 * (and, with p->verifier, it is that key under that name, or verification
 * fails: a substitute vault); every checkpoint file in the vault's
 * checkpoints/, in each of p->checkpoint_dirs and p->old_checkpoint is
 * signed by it and named by its size; the whole chain verifies and extends
 * every one of them (tlo_chain_verify_anchored); every checkpoint entry has
 * its file in checkpoints/ with the size and root it logs; then the entries
 * of p->case_id are counted and the media is checked
 * (tlo_custody_verify_media), then every case's wrapped key and sealed
 * record against its case-open entry and every file of cases/, objects/ and
 * tmp/ (custody/verify_objects.c: a file no entry names is a problem; an
 * unfinished segment a recovery kept is counted and listed in out->notes).
 * 0 when it ran (out->chain.ok says whether all
 * holds; free out with tlo_custody_verify_report_free), or a negative code
 * with err filled (a checkpoint file that is not the custodian's, a
 * directory that cannot be read), out freed. */
int tlo_custody_verify_with(tlo_custody *v, const tlo_custody_verify_params *p,
                            tlo_custody_verify_report *out, tlo_error *err);
/* tlo_custody_verify_with with only an old checkpoint and a case. */
int tlo_custody_verify(tlo_custody *v, const char *old_checkpoint, const uint8_t *case_id,
                       tlo_custody_verify_report *out, tlo_error *err);
/* Frees the labels. NULL-safe. */
void tlo_custody_verify_report_free(tlo_custody_verify_report *r);

/* An inclusion proof (c2sp.org/tlog-proof@v1) that entry seq is in the
 * checkpoint at checkpoint_path (NULL: the vault's newest), carrying the
 * entry. The checkpoint must be the custodian's and the ledger must match it.
 * *out (malloc'd, NUL-terminated, *out_len bytes) on success; NULL on
 * failure: TLO_ENOTFOUND (no checkpoint; entry not covered), TLO_EPROOF (the
 * ledger does not match it), TLO_EARG (entry too large), others. */
int tlo_custody_prove_entry(tlo_custody *v, uint64_t seq, const char *checkpoint_path, char **out,
                            size_t *out_len, tlo_error *err);

/* A consistency proof (tellonce.consistency-proof/v1) that the checkpoint at
 * new_path (NULL: the newest) extends the older checkpoint at old_path, both
 * the custodian's. *out as above; TLO_EARG when old is the newer,
 * TLO_EPROOF when the ledger does not extend old (rewritten or forked). */
int tlo_custody_prove_consistency(tlo_custody *v, const char *old_path, const char *new_path,
                                  char **out, size_t *out_len, tlo_error *err);

/* What a proof proved. */
typedef struct tlo_custody_proof_result {
    bool inclusion;    /* else a consistency proof */
    tlo_checkpoint cp; /* the proof's checkpoint, signature-checked (extensions NULL) */
    /* inclusion: the entry proven (as the proof carries it) */
    uint64_t seq, time_ms;
    uint16_t entry_kind;
    uint8_t actor[32];
    uint64_t old_size; /* consistency: the older checkpoint's size */
} tlo_custody_proof_result;

/* Checks the proof file at path without any ledger or vault: its
 * checkpoint's signature by key, then the Merkle proof; an inclusion proof
 * must carry the entry it proves; a consistency proof is checked against the
 * checkpoint at old_path (TLO_EARG when NULL), also signed by key. 0 and *out
 * filled when it holds; otherwise a negative code (TLO_EPROOF, TLO_EFORMAT,
 * file errors) naming the file, and *out zeroed. */
int tlo_custody_proof_check(const char *path, const tlo_note_verifier *key, const char *old_path,
                            tlo_custody_proof_result *out, tlo_error *err);

/* ======================================================================
 * Export and its manifest
 * ====================================================================== */

/* A granted clip out of the vault as a standard MP4 with a manifest signed
 * by the custodian (docs/export.md; the manifest's lines are listed in
 * custody/manifest.c), and the check of both that needs no key. */

#define TLO_CUSTODY_MANIFEST_SUFFIX ".manifest"
#define TLO_CUSTODY_SHA256_SUFFIX ".sha256" /* "HEX  CLIP.mp4\n", for 'sha256sum -c' */
#define TLO_CUSTODY_EXPORT_FILE_MAX 255     /* the clip's file name, as the manifest names it */
#define TLO_CUSTODY_EXPORT_PURPOSE_MAX 400  /* --purpose */

/* What a person asks to export. */
typedef struct tlo_custody_export_params {
    const char *case_number;
    const char *session;     /* 32 hex digits */
    uint64_t from_ms, to_ms; /* on the session clock; to_ms UINT64_MAX: the session's end */
    const char *purpose;     /* NULL: the grant's */
    const char *out_path;    /* the clip; the manifest is out_path".manifest" */
    bool watermark;          /* decode and re-encode with the exporter's name burned in */
    bool pip;          /* re-encode as picture-in-picture (player/layout.h); implies watermark */
    bool side_by_side; /* re-encode every camera left to right in one picture; implies watermark */
    unsigned camera;   /* --layout camN: camera N alone with the microphones (1..); 0: all */
    /* Into files the caller made (the service's client: unnamed O_TMPFILE
     * files in the target folder, which it links into place itself after
     * success): out_fd the clip's (open for reading and writing), manifest_fd
     * the manifest's (open for writing), each an empty regular file linked
     * nowhere (no name). out_path is then only the path the clip will have:
     * its file name goes into the manifest and the export entry, and it
     * names the clip in messages; nothing is made, linked or looked up in
     * its folder. The fds are the caller's (not closed). */
    bool to_fds;
    int out_fd, manifest_fd;
    tlo_custody_progress progress; /* ms of the clip made, of its length */
} tlo_custody_export_params;

/* Checks p without the vault (so a mistake is found before anyone types a
 * passphrase): the session id, the purpose, the clip's file name (it ends
 * in .mp4), that its directory is writable and that none of the clip, its
 * manifest and its .sha256 file exists, except a manifest
 * naming the clip while the clip is missing (an interrupted export's: the
 * export replaces it). 0 or TLO_EARG. */
int tlo_custody_export_check(const tlo_custody_export_params *p, tlo_error *err);

typedef struct tlo_custody_export_result {
    uint64_t from_ms, to_ms; /* the range released */
    size_t segments;         /* source segments */
    tlo_player_export_result clip;
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1]; /* burned in, or "" (stream copy) */
    double mux_seconds;                           /* remuxing or re-encoding took */
    uint64_t access_seq, export_seq, checkpoint_size;
    char *manifest_path; /* malloc'd: tlo_custody_export_result_free */
    char *sha256_path;   /* malloc'd, the .sha256 file written; NULL with to_fds */
    bool clip_removed;   /* on failure: the clip had been made, and went unpublished */
} tlo_custody_export_result;

/* Exports as actor (unlocked; the custodian decides through
 * tlo_custody_release, which logs the access or the refusal): remuxes the
 * clip (or re-encodes it with the watermark), wipes the keys, logs the
 * export entry, has the custodian sign a checkpoint, and writes the
 * manifest signed by the custodian. The clip and manifest are written into
 * unnamed files in the output's directory and linked into place (manifest,
 * then clip) only after the export entry and checkpoint are durable: on
 * failure, or killed, nothing is left but a manifest without its clip,
 * which exporting again replaces (out->clip_removed: a clip had been made). out is filled on
 * success (and its manifest_path and seqs as far as they got on failure); free it with
 * tlo_custody_export_result_free. TLO_EDENIED when refused. */
int tlo_custody_export(tlo_custody *v, const tlo_vault_identity *actor,
                       const tlo_custody_export_params *p, tlo_custody_export_result *out,
                       tlo_error *err);
void tlo_custody_export_result_free(tlo_custody_export_result *r);

/* Writes clip_path".sha256" holding "HEX  FILE\n", FILE the clip's base
 * name, so that 'sha256sum -c' checks the clip in the folder where both
 * are: mode 0600, made unnamed and linked into place whole, never over an
 * existing file (TLO_EEXIST). tlo_custody_export writes it once the clip is
 * in place; with to_fds the caller does (the service's client, from the
 * digest of the file it linked). *path_out (if not NULL) gets the path,
 * malloc'd. */
int tlo_custody_export_write_sha256(const char *clip_path, const uint8_t sha256[static 32],
                                    char **path_out, tlo_error *err);

/* The manifest, as written and as read. */
typedef struct tlo_custody_manifest_segment {
    uint64_t index, start_ms, end_ms, seq;
    char object[33];
    uint8_t pt[32], ct[32]; /* plaintext and ciphertext SHA-256 */
} tlo_custody_manifest_segment;

typedef struct tlo_custody_manifest {
    char session[33], purpose[TLO_CUSTODY_EXPORT_PURPOSE_MAX * 2];
    char by[TLO_NAME_MAX + 1], grant[24], tracks[200], file[TLO_CUSTODY_EXPORT_FILE_MAX + 1];
    char range[2][24], clip[2][24]; /* "HH:MM:SS.mmm", as read (format writes them from _ms) */
    char at[40];                    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1]; /* "" when the clip is a stream copy */
    bool help;       /* the "# " lines saying how to check it (every export since issue 13) */
    char layout[16]; /* "pip", "side-by-side" (re-encoded), "camN" (one camera), else "" (every
                        track as recorded) */
    uint8_t case_id[TLO_ID_BYTES], by_pk[32], sha256[32];
    uint64_t from_ms, to_ms, clip_start_ms, clip_end_ms, access_seq, export_seq, bytes;
    tlo_custody_manifest_segment *seg; /* malloc'd: tlo_custody_manifest_free */
    size_t nseg;
    const char *proof[2]; /* access entry, export entry: into the text parsed */
    size_t proof_len[2];
} tlo_custody_manifest;

/* Parses a manifest's text (hostile input: every line and length bounded;
 * needs no vault). 0, or TLO_EFORMAT with the reason (TLO_ENOMEM); *m is
 * zeroed first and freed on failure. m->proof points into text. */
int tlo_custody_manifest_parse(const char *text, size_t len, tlo_custody_manifest *m,
                               tlo_error *err);
/* The text of m (malloc'd into *text, *len bytes), ranges from the _ms
 * fields; parse(format(m)) gives m back. */
int tlo_custody_manifest_format(const tlo_custody_manifest *m, char **text, size_t *len,
                                tlo_error *err);
/* Frees m->seg. NULL-safe. */
void tlo_custody_manifest_free(tlo_custody_manifest *m);

typedef struct tlo_custody_verify_export_params {
    const char *clip;
    const char *manifest;              /* NULL: clip".manifest" */
    const tlo_note_verifier *verifier; /* NULL: the vault's custodian */
} tlo_custody_verify_export_params;

typedef struct tlo_custody_export_report {
    tlo_custody_manifest m;             /* as parsed; free with tlo_custody_export_report_free */
    char signer[TLO_NOTE_NAME_MAX + 1]; /* the custodian's key name */
    uint64_t checkpoint_size;
    uint8_t sha256[32]; /* of the clip, as hashed */
    uint64_t bytes;
    bool ledger_checked; /* v was given: the vault's ledger agrees */
    char *text;          /* the manifest file (m.proof points into it) */
} tlo_custody_export_report;

/* Checks a clip against its manifest: the manifest's signature (by
 * p->verifier, else by the vault's custodian), its two
 * entries' inclusion proofs in the checkpoint and their signatures, that the
 * access entry granted this export and the export entry says what the
 * manifest says, the clip's SHA-256; with v (not NULL; may be read-only)
 * also that the vault's ledger matches the checkpoint, the entries and every
 * source segment's entry. 0 when all holds; TLO_EFORMAT / TLO_EPROOF with
 * what is wrong; TLO_ENOTFOUND / TLO_EIO when a file cannot be read. */
int tlo_custody_verify_export(tlo_custody *v, const tlo_custody_verify_export_params *p,
                              tlo_custody_export_report *out, tlo_error *err);
void tlo_custody_export_report_free(tlo_custody_export_report *r);

/* ======================================================================
 * Recording a session, markers
 * ====================================================================== */

/* One recording of a session (custody/record.c). The order is the custody:
 * the session-start entry is durable before the custodian releases the case
 * key (G3); each segment is sealed and fsynced by capture/ before its entry
 * is appended (G2); the session-end entry and a checkpoint close it. */
typedef struct tlo_custody_recording tlo_custody_recording;

typedef enum {
    TLO_CUSTODY_REC_SEGMENT,      /* a segment was sealed and logged */
    TLO_CUSTODY_REC_DEVICE_LOST,  /* a camera or microphone failed (logged if seq) */
    TLO_CUSTODY_REC_MONITOR_LOST, /* the monitor window is gone (nothing is logged) */
    TLO_CUSTODY_REC_LEDGER_WAIT,  /* an entry could not be appended (err says why): the sealed
                                     segments wait (pending) and are retried in order */
    TLO_CUSTODY_REC_LEDGER_BACK,  /* the ledger takes entries again: every pending one is logged */
} tlo_custody_rec_event_kind;

/* What happened while recording, for the front end's operator. */
typedef struct tlo_custody_rec_event {
    tlo_custody_rec_event_kind kind;
    uint64_t index, bytes; /* SEGMENT: its index and sealed bytes */
    const char *device;    /* DEVICE_LOST: "camera" or "microphone" */
    unsigned device_no;    /* DEVICE_LOST: 1-based */
    uint64_t at_ms;        /* DEVICE_LOST: on the session clock */
    const char *message;   /* the device's or monitor's error, as one line */
    uint64_t seq;          /* the entry that logged it; 0 if not logged */
    const tlo_error *err;  /* DEVICE_LOST with seq 0, LEDGER_WAIT: why it was not logged */
    uint64_t pending;      /* LEDGER_WAIT, LEDGER_BACK: entries waiting (BACK: were waiting) */
} tlo_custody_rec_event;

typedef struct tlo_custody_record_params {
    const tlo_custody_case *cs;
    const tlo_hw_room *room;   /* resolved (tlo_hw_room_resolve) */
    const char *encoder;       /* resolved (tlo_hw_encoder_resolve) */
    unsigned duration_seconds; /* 0: until tlo_custody_record_stop */
    bool live, monitor;
    /* With monitor: the monitor's picture as JPEG frames to preview instead
     * of a window (tlo_capture_config.preview); NULL: a window. */
    void (*preview)(void *ctx, const uint8_t *jpeg, size_t len);
    void *preview_ctx;
    unsigned fail_camera; /* for tests: camera N fails at fail_at_ms (0: none) */
    uint64_t fail_at_ms;
    /* Called from the capture thread (or the caller's) with the recording's
     * lock held, in ledger order: it may print, but must not call back into
     * the recording. May be NULL. */
    void (*on_event)(void *ctx, const tlo_custody_rec_event *ev);
    void *ctx;
} tlo_custody_record_params;

/* Starts a session of p->cs recorded by interviewer (an active interviewer):
 * makes objects/, logs the session-start entry (the room's digest, devices,
 * encoder), then has the custodian release the case key and builds the
 * capture pipeline (call gst_init first). v, interviewer and *p's strings
 * must outlive *rec.
 *   - 0: *rec is ready for tlo_custody_record_run.
 *   - error and *rec NULL: nothing was logged.
 *   - error and *rec set: the session started but cannot record (the key
 *     or the pipeline failed: a key that cannot be released is TLO_EFORMAT,
 *     the vault is incomplete); call tlo_custody_record_finish(rec, true,
 *     ...) to end it in the ledger, then tlo_custody_record_free. */
int tlo_custody_record_start(tlo_custody *v, const tlo_vault_identity *interviewer,
                             const tlo_custody_record_params *p, tlo_custody_recording **rec,
                             tlo_error *err);

/* The session id (32 hex digits), owned by rec. */
const char *tlo_custody_record_session(const tlo_custody_recording *rec);
/* True if the recording's end stalled (capture.h tlo_capture_stalled): its
 * session is left open for 'tellonce recover'. */
bool tlo_custody_record_stalled(const tlo_custody_recording *rec);

/* Records until the duration, tlo_custody_record_stop, or an error; every
 * segment is logged as it is sealed. An entry the ledger refuses (a write
 * lock held by another process, a full disk) waits and is retried, in
 * order, while the recording goes on (TLO_CUSTODY_REC_LEDGER_WAIT). At the
 * end it waits up to a minute more for the pending entries; any still
 * refused then are an error (the sealed files stay: 'tellonce recover').
 * What was logged before an error stays. */
int tlo_custody_record_run(tlo_custody_recording *rec, tlo_error *err);

/* Asks a running recording to end. Thread- and async-signal-safe. */
void tlo_custody_record_stop(tlo_custody_recording *rec);

/* A snapshot for a status line; callable from any thread while recording. */
typedef struct tlo_custody_record_status {
    tlo_capture_stats capture; /* the session clock, levels, drops */
    uint64_t segments, bytes;  /* logged segments and their sealed bytes */
    uint64_t markers, device_events;
    /* Sealed segments (and device events) whose entries wait because the
     * ledger refused them (busy, full disk, I/O error): retried in order
     * until they are logged; the recording goes on meanwhile. (Normally
     * 0 or 1: an entry is pending for the few ms of its append.) */
    uint64_t pending;
    uint64_t ledger_busy_since_ms; /* UTC ms of the first refusal still unresolved; 0: none */
    char ledger_error[256];        /* that refusal's message, while busy */
} tlo_custody_record_status;
void tlo_custody_record_get_status(tlo_custody_recording *rec, tlo_custody_record_status *out);

/* Logs a marker at at_ms of the session, signed by the interviewer. text is
 * one line, 1..500 bytes (else TLO_EARG, "the text is one line of text, 1 to
 * 500 bytes", nothing logged). *seq gets its entry. Any thread. */
int tlo_custody_record_mark(tlo_custody_recording *rec, uint64_t at_ms, const char *text,
                            uint64_t *seq, tlo_error *err);

/* What a finished session logged. */
typedef struct tlo_custody_record_summary {
    char session[33];
    uint64_t segments, bytes, markers, device_events;
    uint64_t first_seq;    /* the session-start entry */
    uint64_t end_seq;      /* the session-end entry; 0 if it could not be logged */
    uint64_t max_delay_ms; /* the longest wait from a sealed segment to its entry */
    bool recorded;         /* the pipeline ran (the CPU figures mean something) */
    uint64_t seal_cpu_ns;  /* CPU time sealing (capture/) */
    uint64_t log_cpu_ns;   /* CPU time appending segment entries */
} tlo_custody_record_summary;

/* Ends the session in the ledger whatever happened (status=failed when
 * failed, else ended), then writes a checkpoint (tlo_custody_checkpoint).
 * out is filled either way. On error: out->end_seq is 0 when the session-end
 * entry itself failed (run 'tellonce recover' later), else the checkpoint
 * failed. Call once, after run (or after a failed start that set rec). */
int tlo_custody_record_finish(tlo_custody_recording *rec, bool failed,
                              tlo_custody_record_summary *out, tlo_error *err);

/* Frees the pipeline and wipes the case key. NULL-safe. */
void tlo_custody_record_free(tlo_custody_recording *rec);

/* A marker added after the recording (tlo_custody_mark). */
typedef struct tlo_custody_mark_params {
    const char *case_number;
    const char *session; /* 32 hex digits; NULL: the case's newest session */
    uint64_t at_ms;      /* on the session clock */
    const char *at_text; /* how the person wrote the time, for messages (NULL: ms) */
    const char *text;    /* one line, 1..500 bytes */
} tlo_custody_mark_params;

/* The session a marker goes to. */
typedef struct tlo_custody_mark_target {
    char session[33];
    bool ended;
    uint64_t length_ms; /* the recorded length, when ended */
} tlo_custody_mark_target;

/* Checks p against the ledger without signing (so a wrong time is found
 * before a passphrase is asked): TLO_ENOTFOUND (no such case or session),
 * TLO_EARG (text, or a time after the session's end). */
int tlo_custody_mark_check(tlo_custody *v, const tlo_custody_mark_params *p,
                           tlo_custody_mark_target *out, tlo_error *err);

/* Checks again and logs the marker signed by actor (an active interviewer,
 * else TLO_EDENIED). out (may be NULL) gets the session; *seq the entry. */
int tlo_custody_mark(tlo_custody *v, const tlo_vault_identity *actor,
                     const tlo_custody_mark_params *p, tlo_custody_mark_target *out, uint64_t *seq,
                     tlo_error *err);

/* ======================================================================
 * Recovery
 * ====================================================================== */

/* Sessions a crash or power cut left open: no session-end or
 * session-recovered entry. *n gets how many; no key is needed. */
int tlo_custody_recover_count(tlo_custody *v, size_t *n, tlo_error *err);

/* One step of a recovery, in the order it was logged. */
typedef struct tlo_custody_recovery_step {
    bool closed;          /* false: a part kept; true: a session closed */
    char session[33];     /* the session */
    char case_hex[33];    /* its case's internal id */
    char file[64];        /* part: the unfinished object's file name */
    uint64_t ms;          /* part: the media kept */
    uint64_t index;       /* part: its new segment index */
    uint64_t seq;         /* the segment (part) or session-recovered entry */
    uint64_t segments;    /* closed: segments in all */
    uint64_t found_bytes; /* closed: the unfinished files' sealed bytes, as found */
    uint64_t kept_bytes;  /* closed: plaintext bytes of whole fragments kept */
    /* The session is live (its case's lease is held, custody/lease.c):
     * left alone, nothing logged; held_by says who holds the lease. */
    bool skipped;
    char held_by[200];
} tlo_custody_recovery_step;

typedef struct tlo_custody_recovery {
    tlo_custody_recovery_step *step;
    size_t n;
} tlo_custody_recovery;

/* Closes every open session, as actor (an active interviewer or
 * administrator): for each, logs an access-granted entry (action=recover)
 * before the custodian releases the case key; keeps the authenticated part
 * of each unfinished segment object of the session's case that no entry
 * names, cut after its last whole MP4 fragment, seals it again as a new
 * complete segment and logs it; then logs session-recovered. The unfinished
 * objects stay. Finally a checkpoint. out gets the steps done, also on
 * error (free with tlo_custody_recovery_free). A key that cannot be
 * released is TLO_EFORMAT. */
int tlo_custody_recover(tlo_custody *v, const tlo_vault_identity *actor, tlo_custody_recovery *out,
                        tlo_error *err);
void tlo_custody_recovery_free(tlo_custody_recovery *r);

/* What an automatic recovery did, counted from its steps. */
typedef struct tlo_custody_recovery_summary {
    size_t sessions; /* closed as recovered (a step with closed) */
    size_t salvaged; /* segments sealed again from unfinished files (parts) */
    size_t skipped;  /* live sessions left alone (their lease is held) */
} tlo_custody_recovery_summary;

/* The recovery the custodian service runs at its start (tellonce custodian
 * run, before it accepts a connection): as tlo_custody_recover, with nobody
 * there to sign, so the custodian signs every entry, the session-recovered
 * ones too (docs/ledger.md), and the access-granted entry names the
 * custodian's own key as actor. A session whose lease is held (a recording
 * outside the service) is left alone, as a step with skipped. out gets the
 * steps (session ids, parts kept; also on error: free it with
 * tlo_custody_recovery_free), *sum (if not NULL) counts them, so that the
 * service can tell the next clients. No open session: 0, nothing logged. */
int tlo_custody_recover_auto(tlo_custody *v, tlo_custody_recovery *out,
                             tlo_custody_recovery_summary *sum, tlo_error *err);

/* A live recording: a session the ledger started and not ended whose
 * case's lease (custody/lease.c) is held by a recorder, process pid, as the
 * kernel's lock table says (the lease file's words alone are not trusted). */
typedef struct tlo_custody_live {
    char session[33];
    char case_hex[33];
    uint8_t case_id[TLO_ID_BYTES];
    uint8_t recorder[32]; /* actor of its session-start entry */
    long pid;
} tlo_custody_live;

/* Every live recording of the vault (*list malloc'd: free it). */
int tlo_custody_live_list(tlo_custody *v, tlo_custody_live **list, size_t *n, tlo_error *err);

/* The live recording 'stop' means, and whether actor may end it: the
 * interviewer who started it, or an administrator. case_number (NULL: any
 * case) and session (NULL: the only live one actor may stop) narrow it.
 * 0 and *out; TLO_ENOTFOUND (none live), TLO_EARG (several: name one),
 * TLO_EDENIED (another interviewer's). Nothing is logged: the recording
 * logs its own end. */
int tlo_custody_stop_check(tlo_custody *v, const tlo_vault_identity *actor, const char *case_number,
                           const char *session, tlo_custody_live *out, tlo_error *err);

/* Sends live's recorder SIGTERM (it ends the session as on 'q'), after
 * checking through a pidfd that the process still holds the lease: a
 * recording that has ended since is TLO_ENOTFOUND. For the embedded
 * command; in the service the parent signals its recording child. */
int tlo_custody_stop_signal(tlo_custody *v, const tlo_custody_live *live, tlo_error *err);

/* ======================================================================
 * The words of the ledger (custody/describe.c) and the auditor's report
 * (custody/report.c): from the ledger alone, no key
 * ====================================================================== */

/* Words for entries with the real person behind each, fed in ledger order
 * (session N is the Nth session-start of its case; note N the Nth note of
 * its case by its first version). */
typedef struct tlo_custody_describer tlo_custody_describer;

/* A describer knowing people (copied: n persons of tlo_custody_people). */
int tlo_custody_describer_new(const tlo_custody_person *people, size_t n,
                              tlo_custody_describer **out, tlo_error *err);
void tlo_custody_describer_free(tlo_custody_describer *d);
/* english 1: the words in English whatever the locale (for JSON and CSV);
 * 0 (the default): in the language of LC_MESSAGES. */
void tlo_custody_describer_set_english(tlo_custody_describer *d, int english);

/* The person behind e: for what the custodian signs on a person's behalf
 * (case-view, access-granted, access-denied, action-refused, note-access:
 * the actor field; export: exporter) that person, else the signer. NULL: a
 * key no enrolment names. Valid while d lives. */
const tlo_custody_person *tlo_custody_describe_person(const tlo_custody_describer *d,
                                                      const tlo_entry *e);

/* Learns from e (call for every entry, in ledger order) and writes its words
 * into out (cap bytes, cut at a character boundary): "王芳 (prosecutor)
 * viewed 00:00:02–00:00:12 of session 2, purpose …". Never a case number,
 * never a note's text, title or file names (no entry holds them). The text
 * is the ledger's: escape it for the medium it goes to. */
void tlo_custody_describe(tlo_custody_describer *d, const tlo_entry *e, char *out, size_t cap);

/* The number a session (32 hex) or note id has in its case, once learned; 0: not seen. */
unsigned tlo_custody_describe_session_no(const tlo_custody_describer *d, const char *session);
unsigned tlo_custody_describe_note_no(const tlo_custody_describer *d, const char *note);

/* "王芳 (prosecutor)", "the custodian", "an unknown key" (p NULL). */
void tlo_custody_person_words(const tlo_custody_person *p, char *out, size_t cap);
/* A session-clock time, "00:01:02" (".345" added when not whole seconds). */
void tlo_custody_clock_words(uint64_t ms, char *out, size_t cap);
/* A time for people: local with its offset, "2026-12-02 03:12:38 +08:00"
 * (tlo_time_text; the name is older than the change). */
void tlo_custody_utc_words(uint64_t ms, char *out, size_t cap);

/* ---- The report's model (docs/report.md prints its JSON) ---- */

/* A person the report names: index into tlo_custody_report.person. */
typedef struct tlo_custody_report_person {
    char name[TLO_NAME_MAX + 1];
    unsigned roles;
    char key_id[17]; /* the first 16 hex digits of their public key */
} tlo_custody_report_person;

/* One stretch of a session a person viewed or was released to export (an
 * access-granted entry): a band of the coverage chart. */
typedef struct tlo_custody_report_access {
    uint64_t seq, time_ms;
    int person; /* -1: unknown key */
    bool exp;   /* export, else view */
    uint64_t from_ms, to_ms;
    char purpose[TLO_CUSTODY_PURPOSE_MAX + 1];
    char grant[24]; /* the grant's entry, or "own-recording" */
} tlo_custody_report_access;

typedef struct tlo_custody_report_marker {
    uint64_t seq, at_ms;
    int person;
    char text[504];
} tlo_custody_report_marker;

typedef struct tlo_custody_report_device {
    uint64_t seq, at_ms;
    char device[64], event[32], message[256], then[256];
} tlo_custody_report_device;

/* Where a session's media does not follow on: segment index jumps or
 * start_ms is not the end of the segment before. */
typedef struct tlo_custody_report_gap {
    uint64_t from_ms, to_ms, after_index;
} tlo_custody_report_gap;

typedef struct tlo_custody_report_session {
    unsigned no;
    char id[33];
    int recorder;
    uint64_t started_at, closed_at; /* UTC ms of session-start, session-end/-recovered (0) */
    char room[128];
    uint64_t cameras, microphones;
    char status[16];    /* "open", "ended", "failed", "recovered" */
    uint64_t length_ms; /* the largest end_ms of its segments */
    uint64_t segments, bytes;
    tlo_custody_report_marker *marker;
    size_t nmarkers;
    tlo_custody_report_device *device;
    size_t ndevices;
    tlo_custody_report_gap *gap;
    size_t ngaps;
    tlo_custody_report_access *access; /* in ledger order */
    size_t naccess;
} tlo_custody_report_session;

typedef struct tlo_custody_report_grant {
    uint64_t seq, time_ms;
    bool note;  /* a note grant (kind 32), else a clip grant */
    int by, to; /* persons (-1: unknown) */
    char to_name[TLO_NAME_MAX + 1];
    unsigned session_no, note_no;
    uint64_t from_ms, until_ms, expires_ms;
    char actions[24];
    char purpose[TLO_CUSTODY_PURPOSE_MAX + 1];
    char status[8];       /* "active", "expired", "revoked" */
    uint64_t revoked_seq; /* the grant-revoke entry, 0 */
} tlo_custody_report_grant;

typedef struct tlo_custody_report_export {
    uint64_t seq, time_ms, access_seq;
    int person;
    unsigned session_no;
    uint64_t from_ms, to_ms, clip_start_ms, clip_end_ms, bytes;
    char sha256[65];
} tlo_custody_report_export;

typedef struct tlo_custody_report_note_version {
    uint64_t seq, time_ms, version, bytes, files, text_bytes;
    int author;
    unsigned session_no; /* 0: no session */
    uint64_t at_ms;
} tlo_custody_report_note_version;

typedef struct tlo_custody_report_note {
    unsigned no;
    char id[33];
    char kind[24];
    int author;
    tlo_custody_report_note_version *version;
    size_t nversions;
    uint64_t reads, refused; /* note-access entries granted / refused */
} tlo_custody_report_note;

typedef struct tlo_custody_report_sample_event {
    uint64_t seq, time_ms;
    uint16_t kind; /* TLO_ENTRY_SAMPLE_* */
    int person;
    char text[1024]; /* its words (tlo_custody_describe) */
} tlo_custody_report_sample_event;

typedef struct tlo_custody_report_sample {
    char label[40], kind[24], seal_number[72];
    int registrar, holder;          /* the holder now (-1: unknown) */
    char state[16];                 /* "held", "in transfer", "disposed" */
    char to_name[TLO_NAME_MAX + 1]; /* in transfer: to whom */
    bool broken_seal;
    tlo_custody_report_sample_event *event;
    size_t nevents;
} tlo_custody_report_sample;

/* An entry in words: the timeline, and the refusals. */
typedef struct tlo_custody_report_line {
    uint64_t seq, time_ms;
    uint16_t kind;
    int person;
    char *text; /* malloc'd */
} tlo_custody_report_line;

typedef struct tlo_custody_report {
    /* verification (tlo_custody_verify_with), before anything else */
    bool verified;
    char problem[TLO_ERROR_MSG_MAX];
    uint64_t entries;                     /* in the ledger */
    uint64_t checkpoint_size;             /* the newest checkpoint verified (0: none) */
    char checkpoint_root[65];             /* hex */
    char checkpoint_b64[64];              /* as the checkpoint file writes it */
    char verifier_key[TLO_NOTE_VKEY_MAX]; /* the custodian's ('checkpoint --verifier-key') */
    char verify_command[2048];            /* the command to check it independently */
    /* the case */
    char case_id[33];
    bool number_shown;     /* --as a person who may see it: case_number is the number */
    char case_number[129]; /* TLO_CUSTODY_CASE_NUMBER_MAX + 1 */
    uint64_t opened_at, generated_at;
    int opener;
    tlo_custody_report_person *person;
    size_t npeople;
    tlo_custody_report_session *session;
    size_t nsessions;
    tlo_custody_report_grant *grant;
    size_t ngrants;
    tlo_custody_report_export *exp;
    size_t nexports;
    tlo_custody_report_note *note;
    size_t nnotes;
    tlo_custody_report_sample *sample;
    size_t nsamples;
    tlo_custody_report_line
        *refusal; /* access-denied, action-refused, note-access refused,
                     case-view refused, and request-refused entries (any case) */
    size_t nrefusals;
    tlo_custody_report_line *line; /* every entry of the case */
    size_t nlines;
} tlo_custody_report;

/* What to report on. */
typedef struct tlo_custody_report_params {
    const uint8_t *case_id;        /* TLO_ID_BYTES */
    const char *case_number;       /* the number to print (already shown through
                                      tlo_custody_case_numbers), or NULL: none */
    const char *vault_dir_words;   /* how the verify command names the vault (NULL: its dir) */
    tlo_custody_progress progress; /* of its verification */
    int english;                   /* the lines' words in English (for JSON), else LC_MESSAGES' */
    /* A report of the same case built a moment ago (report --json in English
     * after the page in another language): its verification is taken over
     * when the ledger has not grown since, else the ledger is verified
     * again. NULL: verify. */
    const struct tlo_custody_report *verified;
} tlo_custody_report_params;

/* Builds the report of one case from the ledger, no key: verifies the whole
 * ledger first (tlo_custody_verify_with: out->verified, problem), then walks
 * the case's entries. 0 with *out (tlo_custody_report_free), also when the
 * ledger does not verify (the report says so); a negative code when the
 * ledger cannot be read. */
int tlo_custody_report_build(tlo_custody *v, const tlo_custody_report_params *p,
                             tlo_custody_report *out, tlo_error *err);
void tlo_custody_report_free(tlo_custody_report *r);

/* ======================================================================
 * Samples: biological samples and other physical evidence
 * (custody/samples.c; docs/samples.md)
 *
 * A sample is registered by medical staff (sample-register, 53), who then
 * hold it; its holder hands it over (sample-transfer, 51) and it is "in
 * transfer" until the person named signs its receipt (sample-receive, 54),
 * who then holds it; its holder disposes of it (sample-dispose, 55), and
 * nothing follows. Every verb decides on the custodian's verified ledger
 * and with the table (TLO_ACT_SAMPLE_*); verification checks the same rules
 * over every sample entry of the ledger.
 * ====================================================================== */

#define TLO_SAMPLE_LABEL_MAX 32  /* [A-Za-z0-9._-], unique within the case */
#define TLO_SAMPLE_SEAL_MAX 64   /* [A-Za-z0-9._/-] */
#define TLO_SAMPLE_PLACE_MAX 200 /* characters, one line */
#define TLO_SAMPLE_REASON_MAX 400
/* Entries of one sample a reader keeps: its registration and the latest
 * others (tlo_custody_sample.hidden counts the earlier ones left out).
 * verify keeps none: it folds every entry, whatever their number. */
#define TLO_SAMPLE_STEPS_MAX 1000

typedef enum {
    TLO_SAMPLE_HELD,        /* someone holds it */
    TLO_SAMPLE_IN_TRANSFER, /* handed over, the receipt not yet signed */
    TLO_SAMPLE_DISPOSED,    /* disposed of: nothing follows */
} tlo_custody_sample_state;

/* "held", "in transfer", "disposed". */
const char *tlo_custody_sample_state_name(tlo_custody_sample_state s);

/* A person as a sample's entries name them. */
typedef struct tlo_custody_sample_person {
    uint8_t actor[32]; /* SHA-256 of the public key */
    char name[TLO_NAME_MAX + 1];
    unsigned roles; /* as enrolled (0: not enrolled) */
} tlo_custody_sample_person;

/* One entry of a sample's chain. */
typedef struct tlo_custody_sample_step {
    uint64_t seq, time_ms;
    uint16_t kind;                              /* TLO_ENTRY_SAMPLE_* */
    tlo_custody_sample_person by;               /* the signer */
    tlo_custody_sample_person to;               /* transfer: the receiver */
    char place[4 * TLO_SAMPLE_PLACE_MAX + 1];   /* transfer, may be "" */
    bool seal_intact;                           /* receive */
    uint64_t transfer;                          /* receive: the transfer's seq */
    char reason[4 * TLO_SAMPLE_REASON_MAX + 1]; /* dispose */
} tlo_custody_sample_step;

/* A sample and its whole chain, as the verified ledger has it. */
typedef struct tlo_custody_sample {
    uint8_t case_id[TLO_ID_BYTES];
    char label[TLO_SAMPLE_LABEL_MAX + 1];
    char kind[16]; /* swab, blood, urine, hair, clothing, other */
    char seal_number[TLO_SAMPLE_SEAL_MAX + 1];
    char note[33]; /* the note id, or "" */
    tlo_custody_sample_state state;
    tlo_custody_sample_person holder;  /* the last to hold it */
    tlo_custody_sample_person pending; /* in transfer: to whom */
    uint64_t pending_seq;              /* in transfer: the transfer entry */
    uint64_t since_ms;                 /* held, in transfer or disposed since */
    uint64_t registered_seq;
    bool seal_broken;               /* a receipt said the seal was not intact */
    tlo_custody_sample_step *steps; /* malloc'd: the registration, then the latest */
    size_t nsteps;
    uint64_t nentries; /* the sample's entries honoured, all of them */
    uint64_t hidden;   /* of those, not in steps: the earliest after the registration */
    uint64_t last_seq; /* the newest honoured entry */
} tlo_custody_sample;

/* The samples of a case. */
typedef struct tlo_custody_samples {
    tlo_custody_case cs;
    tlo_custody_sample *list; /* in order of registration */
    size_t n;
    char (*notes)[33]; /* the case's note ids, in order of first version */
    size_t nnotes;
    /* A sample entry that breaks the chain rules is not honoured: the first
     * such is named here ('tellonce verify' fails on it). */
    uint64_t problem_seq;
    char problem[TLO_ERROR_MSG_MAX];
    /* Every sample entry honoured, in ledger order (malloc'd; the report
     * shows exactly these). */
    uint64_t *honoured;
    size_t nhonoured, honoured_cap;
} tlo_custody_samples;

/* Reads the samples of case_number from the entries the custodian verified
 * (only those: a row not among them is not read; a case whose rows are not
 * the verified ones is TLO_EFORMAT). Needs the custodian (custodian.secret).
 * 0 and *out (tlo_custody_samples_free), or an error. */
int tlo_custody_samples_read(tlo_custody *v, const char *case_number, tlo_custody_samples *out,
                             tlo_error *err);
/* The same without the custodian, for a caller that verified the whole
 * ledger itself just before (tlo_custody_verify_with said ok: the report,
 * an auditor's copy without custodian.secret): the case by its internal id,
 * every row of it read. */
int tlo_custody_samples_read_verified_ledger(tlo_custody *v,
                                             const uint8_t case_id[static TLO_ID_BYTES],
                                             tlo_custody_samples *out, tlo_error *err);
void tlo_custody_samples_free(tlo_custody_samples *s);
/* The sample labelled label, or NULL. */
const tlo_custody_sample *tlo_custody_sample_find(const tlo_custody_samples *s, const char *label);

/* What a sample verb is asked. */
typedef struct tlo_custody_sample_params {
    const char *case_number;
    const char *label;
    const char *sample_kind; /* register */
    const char *seal_number; /* register */
    const char *note;        /* register, optional: a note id, its number or a unique hex
                              * prefix (>= 4 digits) among the case's notes */
    const char *to;          /* transfer: the receiver's name */
    const char *place;       /* transfer, optional */
    bool seal_intact;        /* receive */
    const char *reason;      /* dispose */
} tlo_custody_sample_params;

/* Checks p for act (TLO_ACT_SAMPLE_REGISTER/TRANSFER/RECEIVE/DISPOSE)
 * against the ledger before anyone types a passphrase: its form, the case,
 * the sample's state. Who may act is the verb's to decide. 0 or an error
 * saying what to do. */
int tlo_custody_sample_check(tlo_custody *v, tlo_custody_act act,
                             const tlo_custody_sample_params *p, tlo_error *err);

/* The verbs: each checks p again on the verified ledger, asks the table
 * (a refusal is logged, action-refused), appends its entry signed by actor
 * (*seq) and seals. 0, TLO_EDENIED (refused and logged), TLO_EARG (the
 * sample's state does not allow it, with what to do), others. */
int tlo_custody_sample_register(tlo_custody *v, const tlo_vault_identity *actor,
                                const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err);
int tlo_custody_sample_transfer(tlo_custody *v, const tlo_vault_identity *actor,
                                const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err);
int tlo_custody_sample_receive(tlo_custody *v, const tlo_vault_identity *actor,
                               const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err);
int tlo_custody_sample_dispose(tlo_custody *v, const tlo_vault_identity *actor,
                               const tlo_custody_sample_params *p, uint64_t *seq, tlo_error *err);

/* For verify (custody/verify.c), on a ledger whose chain verified: every
 * sample entry of every case against the chain rules (registered once per
 * label; a transfer by the holder, not while in transfer; a receipt by the
 * one named, of the pending transfer; a disposal by the holder; nothing
 * after it). The first entry that breaks them sets out->chain.ok false
 * with a problem naming it. 0, or a negative code reading the ledger. */
int tlo_custody_verify_samples(tlo_custody *v, tlo_custody_verify_report *out, tlo_error *err);

/* ======================================================================
 * Notes: records and attachments (custody/notes.c, note_container.c;
 * docs/notes.md)
 *
 * A note is one sealed object (TLO_KIND_ATTACHMENT, under the case key)
 * holding a small container: its kind, title, text and files (name, media
 * type, bytes, SHA-256). The ledger's note entry (kind 50, signed by the
 * author) holds only ids, the kind, digests and sizes. Reading one (show,
 * get) is decided by the table on verified rows and logged (note-access,
 * kind 52, by the custodian) durably before the object key is derived.
 * ====================================================================== */

#define TLO_CUSTODY_NOTE_FILES_MAX 100
#define TLO_CUSTODY_NOTE_BYTES_MAX (256u << 20) /* all files of a note together */
#define TLO_CUSTODY_NOTE_TEXT_MAX (1u << 20)
#define TLO_CUSTODY_NOTE_TITLE_MAX 400u
#define TLO_CUSTODY_NOTE_FILE_NAME_MAX 255u
#define TLO_CUSTODY_NOTE_TYPE_MAX 127u

/* exam, photo, sample-collection, psych, legal, assessment, followup, other. */
bool tlo_custody_note_kind_ok(const char *kind);
/* The table's action for adding a note of kind (TLO_ACT_COUNT: none). */
tlo_custody_act tlo_custody_note_kind_act(const char *kind);

/* A file to put into a note (the caller's memory). type NULL: from its
 * first bytes or its name (tlo_custody_note_media_type). */
typedef struct tlo_custody_note_part {
    const char *name;
    const char *type;
    const uint8_t *data;
    size_t len;
} tlo_custody_note_part;

/* "image/jpeg", "image/png", "application/pdf", ... or
 * "application/octet-stream". Static. */
const char *tlo_custody_note_media_type(const char *name, const uint8_t *data, size_t len);

/* Where tlo_custody_note_write hands the container, piece by piece, in
 * order: 0, or a negative code (and err) to stop. */
typedef int (*tlo_custody_note_sink)(void *ctx, const void *p, size_t n, tlo_error *err);
/* Checks the note against the bounds (TLO_EARG names what breaks one),
 * then hands its container to sink (NULL: only counts) without copying the
 * files; *out_len (if not NULL) gets its length. */
int tlo_custody_note_write(const char *kind, const char *title, const char *text, size_t text_len,
                           const tlo_custody_note_part *files, size_t nfiles,
                           tlo_custody_note_sink sink, void *ctx, size_t *out_len, tlo_error *err);
/* The container's plaintext, built in memory (*out malloc'd: the caller
 * wipes and frees it). TLO_EARG names what breaks a bound. */
int tlo_custody_note_build(const char *kind, const char *title, const char *text, size_t text_len,
                           const tlo_custody_note_part *files, size_t nfiles, uint8_t **out,
                           size_t *out_len, tlo_error *err);

typedef struct tlo_custody_note_file {
    char name[TLO_CUSTODY_NOTE_FILE_NAME_MAX + 1]; /* as the author gave it: hostile */
    char type[TLO_CUSTODY_NOTE_TYPE_MAX + 1];
    const uint8_t *data; /* into the container */
    uint64_t bytes;
    uint8_t sha256[32]; /* checked */
} tlo_custody_note_file;

typedef struct tlo_custody_note_content {
    char kind[33];
    char *title; /* malloc'd, "" when none */
    char *text;  /* malloc'd, NUL-terminated, text_len bytes */
    size_t text_len;
    tlo_custody_note_file *files;
    size_t nfiles;
    uint8_t *owned; /* the container the files point into, when this owns it */
    size_t owned_len;
} tlo_custody_note_content;

/* Parses a container (hostile input: every length bounded, each file's
 * SHA-256 checked). out's files point into buf. 0, or TLO_EFORMAT with
 * *out empty. */
int tlo_custody_note_parse(const uint8_t *buf, size_t len, tlo_custody_note_content *out,
                           tlo_error *err);
/* Wipes and frees. NULL-safe. */
void tlo_custody_note_content_free(tlo_custody_note_content *c);

/* What a photo carries (JPEG APP1 Exif or XMP, PNG eXIf, a TIFF file's own
 * IFD0; GPS: a GPS IFD pointer, tag 0x8825, in IFD0, or an XMP
 * exif:GPSLatitude). checked: the bytes are a JPEG, PNG or TIFF, the
 * formats scanned; any other image may carry anything. Hostile input:
 * bounded, never reads out of data. */
typedef struct tlo_custody_exif {
    bool exif, gps, checked;
} tlo_custody_exif;
void tlo_custody_exif_scan(const uint8_t *data, size_t len, tlo_custody_exif *out);

/* One version of a note as its entry says (verified). */
typedef struct tlo_custody_note_version {
    uint64_t seq, time_ms, version;
    char object[33];
    char replaces[33]; /* "" for version 1 */
    uint64_t bytes, files, text_bytes;
    uint8_t ciphertext_sha256[32], plaintext_sha256[32];
    bool has_at;
    uint64_t at_ms;
    char session[33];
} tlo_custody_note_version;

typedef struct tlo_custody_note_info {
    unsigned number; /* 1, 2, ... in the order of first versions */
    char id[33];     /* the first version's object id */
    char kind[33];
    uint8_t author[32]; /* actor id (SHA-256 of the public key) */
    char author_name[TLO_NAME_MAX + 1];
    unsigned author_roles;
    tlo_custody_note_version *v; /* in order */
    size_t nv;
} tlo_custody_note_info;

/* A note grant (kind 32; revoked by a grant-revoke, kind 31). */
typedef struct tlo_custody_note_grant {
    uint64_t seq;
    uint8_t case_id[TLO_ID_BYTES];
    char note[33];
    uint8_t to[32]; /* public key */
    char to_name[TLO_NAME_MAX + 1];
    uint64_t expires_ms;
    char purpose[512];
    int64_t revoked_at; /* -1: not revoked */
} tlo_custody_note_grant;

typedef struct tlo_custody_notes {
    tlo_custody_case cs;
    tlo_custody_note_info *note;
    size_t n;
    tlo_custody_note_grant *grant;
    size_t ngrants;
} tlo_custody_notes;

/* The notes and note grants of a case, from the entries the custodian
 * verified (needs custodian.secret). tlo_custody_notes_free it. */
int tlo_custody_notes_list(tlo_custody *v, const char *case_number, tlo_custody_notes *out,
                           tlo_error *err);
void tlo_custody_notes_free(tlo_custody_notes *n);
/* The note ref names in n: its number, or a unique hex prefix (4 or more
 * digits) of its id. NULL with err (TLO_ENOTFOUND, TLO_EARG). */
const tlo_custody_note_info *tlo_custody_note_find(const tlo_custody_notes *n, const char *ref,
                                                   tlo_error *err);

typedef struct tlo_custody_note_params {
    const char *case_number;
    const char *note; /* amend: the note (number or id prefix); add: NULL */
    const char *kind; /* add; amend: NULL (the note's) */
    const char *title;
    const char *text; /* may be NULL */
    size_t text_len;
    const tlo_custody_note_part *files;
    size_t nfiles;
    const char *session; /* NULL, or 32 hex digits of a session of the case */
    bool has_at;
    uint64_t at_ms;
} tlo_custody_note_params;

typedef struct tlo_custody_note_added {
    char id[33], object[33];
    unsigned number;
    uint64_t version, seq, bytes;
} tlo_custody_note_added;

/* Adds a note (p->note NULL) or a new version of one (amend), signed by
 * author. add: the table's action for the kind; amend: TLO_ACT_NOTE_AMEND
 * when author wrote the note. A refusal is logged (action-refused). The
 * container is built and sealed in memory, the sealed file written in the
 * vault's tmp/ (docs/notes.md), the entry logged, the file moved into
 * objects/. */
int tlo_custody_note_add(tlo_custody *v, const tlo_vault_identity *author,
                         const tlo_custody_note_params *p, tlo_custody_note_added *out,
                         tlo_error *err);

typedef enum { TLO_CUSTODY_NOTE_SHOW, TLO_CUSTODY_NOTE_GET } tlo_custody_note_action;

typedef struct tlo_custody_note_read_info {
    unsigned number;
    char id[33];
    tlo_custody_note_version version;
    uint64_t access_seq; /* the note-access entry */
    const char *basis;   /* "author", "profession" or "grant" */
    uint64_t grant_seq;  /* basis grant */
} tlo_custody_note_read_info;

/* Reads version (0: the newest) of note ref of the case for reader:
 * decided by the table (TLO_ACT_NOTE_READ: the author, the same profession
 * on the case, a live note grant) on verified rows; the note-access entry
 * is durable before the object key is derived. A refusal is logged
 * (note-access result=refused, and action-refused) and TLO_EDENIED. The
 * sealed file must be the one its entry logged (size and SHA-256). *out
 * owns the plaintext (tlo_custody_note_content_free). */
int tlo_custody_note_read(tlo_custody *v, const tlo_vault_identity *reader, const char *case_number,
                          const char *ref, uint64_t version, tlo_custody_note_action action,
                          tlo_custody_note_content *out, tlo_custody_note_read_info *info,
                          tlo_error *err);

typedef struct tlo_custody_note_grant_params {
    const char *case_number;
    const char *note; /* number or id prefix */
    const char *to;   /* the grantee's name */
    uint64_t expires_ms;
    const char *purpose;
} tlo_custody_note_grant_params;

/* Checks (signing nothing) and issues a note grant signed by admin
 * (TLO_ACT_GRANT); the grantee must hold a role TLO_ACT_BE_GRANTED allows. */
int tlo_custody_note_grant_check(tlo_custody *v, const tlo_custody_note_grant_params *p,
                                 tlo_custody_note_grant *out, tlo_error *err);
int tlo_custody_note_grant_issue(tlo_custody *v, const tlo_vault_identity *admin,
                                 const tlo_custody_note_grant_params *p,
                                 tlo_custody_note_grant *out, tlo_error *err);
/* Every note grant (of case_id when not NULL), revocations applied; free. */
int tlo_custody_note_grants(tlo_custody *v, const uint8_t *case_id, tlo_custody_note_grant **out,
                            size_t *n, tlo_error *err);
/* The note grant logged as entry seq: 0, TLO_ENOTFOUND (no such note
 * grant), TLO_EARG (revoked already). */
int tlo_custody_note_grant_find(tlo_custody *v, uint64_t seq, tlo_custody_note_grant *out,
                                tlo_error *err);
/* Revokes it (kind 31, grant=SEQ), signed by admin (TLO_ACT_GRANT). */
int tlo_custody_note_grant_revoke(tlo_custody *v, const tlo_vault_identity *admin, uint64_t seq,
                                  const char *reason, tlo_custody_note_grant *out,
                                  uint64_t *revoke_seq, tlo_error *err);

/* ======================================================================
 * Vault settings (custody/settings.c, docs/settings.md)
 *
 * A setting is a vault-setting entry (kind 5: key=KEY, value=VALUE) signed
 * by an active administrator; the newest entry of a key wins, and an empty
 * value unsets it. Settings are read only from entries the custodian
 * verified: a row changed since is an error naming it, never a value.
 * ====================================================================== */

typedef struct tlo_custody_setting_key {
    const char *key;  /* "timezone" */
    const char *what; /* for people: what it sets and what values it takes */
} tlo_custody_setting_key;

/* Every key (*n of them), in the order `settings show` lists them. */
const tlo_custody_setting_key *tlo_custody_setting_keys(size_t *n);

/* The value of key: 1 with it in out (cap bytes), 0 when unset (out ""),
 * or a negative code (an unknown key TLO_EARG; a ledger that does not
 * verify, or a settings row that is not the one the custodian verified,
 * TLO_EFORMAT; no custodian.secret to verify with). */
int tlo_custody_setting(tlo_custody *v, const char *key, char *out, size_t cap, tlo_error *err);

/* The same with the entry that set it (when 1): its number, time (UTC
 * ms) and signer (SHA-256 of the key, as entries name actors). Any of
 * seq, time_ms, actor may be NULL. */
int tlo_custody_setting_entry(tlo_custody *v, const char *key, char *out, size_t cap, uint64_t *seq,
                              uint64_t *time_ms, uint8_t *actor, tlo_error *err);

/* The value of key for showing times and names only, never for a
 * decision: as tlo_custody_setting, but each row checked against the
 * vault's newest checkpoint (signed by the custodian, which signs only
 * what it verified) instead of the custodian's state, so it needs no
 * custodian.secret and no Argon2id (an auditor's copy reads it too). A
 * setting newer than that checkpoint is not seen. */
int tlo_custody_setting_shown(tlo_custody *v, const char *key, char *out, size_t cap,
                              tlo_error *err);

/* Whether the ledger holds any vault-setting row at all, read without
 * verifying (no custodian needed): a quick check for front ends that only
 * show times (whose offsets make them right in any zone) before they pay
 * for tlo_custody_setting. Never a basis for a decision. */
bool tlo_custody_settings_present(tlo_custody *v);

/* Checks key and value as settings set would, signing nothing: an
 * unknown key, a time zone /usr/share/zoneinfo does not have, a room that
 * is not "simulated" or the full path of a room profile that loads, are
 * TLO_EARG with what to do. An empty value (unset) is always valid. */
int tlo_custody_setting_check(tlo_custody *v, const char *key, const char *value, tlo_error *err);

/* Sets key to value (checked as above) with an entry signed by admin
 * (TLO_ACT_SETTINGS_SET; a refusal is logged). *seq (if not NULL) gets the
 * entry's number. */
int tlo_custody_setting_set(tlo_custody *v, const tlo_vault_identity *admin, const char *key,
                            const char *value, uint64_t *seq, tlo_error *err);

#endif
