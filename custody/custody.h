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

#include "chain.h"
#include "note.h"
#include "tlo_common.h"
#include "vault.h"

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

/* ======================================================================
 * People
 * ====================================================================== */

/* A person as the ledger enrols them (genesis, user-add, user-revoke). */
typedef struct tlo_custody_person {
    char name[TLO_NAME_MAX + 1];
    uint8_t pk[32];    /* Ed25519 */
    uint8_t actor[32]; /* SHA-256 of pk, as entries name their actor */
    unsigned roles;    /* TLO_ROLE_* */
    uint64_t enrolled_at;
    int64_t revoked_at; /* the user-revoke entry, -1 while active */
} tlo_custody_person;

/* Everyone enrolled, in ledger order (owned by v; valid until the next verb
 * that appends). Read from the ledger on first use and after v appended. */
int tlo_custody_people(tlo_custody *v, const tlo_custody_person **list, size_t *n, tlo_error *err);
/* The person whose actor id (SHA-256 of pk) is actor, or NULL. */
const tlo_custody_person *tlo_custody_person_by_actor(tlo_custody *v,
                                                      const uint8_t actor[static 32]);
/* The active person called name, or NULL. */
const tlo_custody_person *tlo_custody_person_by_name(tlo_custody *v, const char *name);

/* The path of name's identity file in people/ (malloc'd into *path): one
 * file whose public name is name, else TLO_ENOTFOUND or TLO_EFORMAT (more
 * than one). No passphrase is needed. */
int tlo_custody_identity_path(tlo_custody *v, const char *name, char **path, tlo_error *err);

/* Unlocks name's identity with the passphrase and checks that the ledger
 * enrols that key, not revoked, with one of roles (role_text names them in
 * the error, e.g. "administrator (only administrators grant)"). *out (free
 * with tlo_vault_identity_free) on success; TLO_EPASSPHRASE, TLO_EDENIED,
 * TLO_ENOTFOUND otherwise. */
int tlo_custody_unlock(tlo_custody *v, const char *name, const char *passphrase, size_t len,
                       unsigned roles, const char *role_text, tlo_vault_identity **out,
                       tlo_error *err);

/* ======================================================================
 * Cases and sessions
 * ====================================================================== */

typedef struct tlo_custody_case {
    uint8_t id[TLO_ID_BYTES]; /* internal id: file names and entries use it */
    char number[80];          /* the number police use (case-open entry) */
    uint64_t opened_at;       /* the case-open entry */
} tlo_custody_case;

/* The case with this number: 0, or TLO_ENOTFOUND with a message. */
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
 *      at once; an object key opens only its own object);
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

/* Opens a checkpoint file and checks its signature by the vault's custodian;
 * *text (malloc'd) holds the note cp refers into. */
int tlo_custody_checkpoint_read(tlo_custody *v, const char *path, tlo_checkpoint *cp, char **text,
                                tlo_error *err);

/* The tree heads 'verify' must match: the checkpoint at old_path (if not
 * NULL) and the vault's newest, each signature-checked; labels[i] are
 * malloc'd (free them). At most 2. */
int tlo_custody_anchors(tlo_custody *v, const char *old_path, tlo_chain_anchor *anchors, size_t *n,
                        char **labels, tlo_error *err);

/* ---- areas added by later steps of the refactor go below ---- */

/* ===== export ===== */

/* A granted clip out of the vault as a standard MP4 with a manifest signed
 * by the custodian (docs/export.md; the manifest's lines are listed in
 * custody/manifest.c), and the check of both that needs no key. */

#include "export.h"

#define TLO_CUSTODY_MANIFEST_SUFFIX ".manifest"
#define TLO_CUSTODY_EXPORT_FILE_MAX 255    /* the clip's file name, as the manifest names it */
#define TLO_CUSTODY_EXPORT_PURPOSE_MAX 400 /* --purpose */

/* What a person asks to export. */
typedef struct tlo_custody_export_params {
    const char *case_number;
    const char *session;     /* 32 hex digits */
    uint64_t from_ms, to_ms; /* on the session clock; to_ms UINT64_MAX: the session's end */
    const char *purpose;     /* NULL: the grant's */
    const char *out_path;    /* the clip; the manifest is out_path".manifest" */
    bool watermark;          /* decode and re-encode with the exporter's name burned in */
} tlo_custody_export_params;

/* Checks p without the vault (so a mistake is found before anyone types a
 * passphrase): the session id, the purpose, the clip's file name, that its
 * directory is writable and that neither file exists. 0 or TLO_EARG. */
int tlo_custody_export_check(const tlo_custody_export_params *p, tlo_error *err);

typedef struct tlo_custody_export_result {
    uint64_t from_ms, to_ms; /* the range released */
    size_t segments;         /* source segments */
    tlo_player_export_result clip;
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1]; /* burned in, or "" (stream copy) */
    double mux_seconds;                           /* remuxing or re-encoding took */
    uint64_t access_seq, export_seq, checkpoint_size;
    char *manifest_path; /* malloc'd: tlo_custody_export_result_free */
    bool clip_removed;   /* on failure: the clip had been written and was removed */
} tlo_custody_export_result;

/* Exports as actor (unlocked; the custodian decides through
 * tlo_custody_release, which logs the access or the refusal): remuxes the
 * clip (or re-encodes it with the watermark), wipes the keys, logs the
 * export entry, has the custodian sign a checkpoint, and writes the
 * manifest signed by the custodian. On failure after the clip was written
 * the clip is removed (out->clip_removed). out is filled on success (and
 * its manifest_path and seqs as far as they got on failure); free it with
 * tlo_custody_export_result_free. TLO_EDENIED when refused. */
int tlo_custody_export(tlo_custody *v, const tlo_vault_identity *actor,
                       const tlo_custody_export_params *p, tlo_custody_export_result *out,
                       tlo_error *err);
void tlo_custody_export_result_free(tlo_custody_export_result *r);

/* The manifest, as written and as read. */
typedef struct tlo_custody_manifest_segment {
    uint64_t index, start_ms, end_ms, seq;
    char object[33];
    uint8_t pt[32], ct[32]; /* plaintext and ciphertext SHA-256 */
} tlo_custody_manifest_segment;

typedef struct tlo_custody_manifest {
    char case_number[81], session[33], purpose[TLO_CUSTODY_EXPORT_PURPOSE_MAX * 2];
    char by[TLO_NAME_MAX + 1], grant[24], tracks[200], file[TLO_CUSTODY_EXPORT_FILE_MAX + 1];
    char range[2][24], clip[2][24]; /* "HH:MM:SS.mmm", as read (format writes them from _ms) */
    char at[40];                    /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
    char watermark[TLO_PLAYER_WATERMARK_MAX + 1]; /* "" when the clip is a stream copy */
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

#endif
