/* The custodian: the one door through which keys leave the vault.
 *
 * cli_custodian_release takes an actor's signed request (case, session,
 * range on the session clock, purpose, action: view or export) and, in this
 * order:
 *   1. checks the request's signature against the actor's enrolled key;
 *   2. checks role, grant, range, expiry and revocation against the ledger;
 *   3. appends the access entry, signed by the custodian, durably (a refusal
 *      is appended as an access-denied entry, and nothing is released);
 *   4. only then unwraps the case key and derives the object keys of the
 *      segments that overlap the granted range, nothing else (the case key
 *      is wiped at once; an object key opens only its own object);
 *   5. hands them over in secure memory (cli_release_free wipes them).
 * If the append fails (disk full, database locked, read-only vault) no key
 * is released and no plaintext can be produced.
 *
 * Who may: an administrator grants (kind 30 grant; 31 revokes one). A
 * grant names one person (prosecutor, medical or administrator), one
 * session, a range, an expiry, a purpose and the actions (view, export). The
 * interviewer who recorded a session may view it without a grant. Auditors
 * never receive keys. */
#ifndef TLO_CLI_CUSTODIAN_H
#define TLO_CLI_CUSTODIAN_H

#include "cli.h"

typedef enum { CLI_ACTION_VIEW, CLI_ACTION_EXPORT } cli_action;

const char *cli_action_name(cli_action a);

typedef struct cli_request {
    const cli_case *cs;
    char session[33];
    uint64_t from_ms, to_ms; /* on the session clock; to_ms UINT64_MAX: the session's end */
    cli_action action;
    const char *purpose; /* NULL or "": the grant's purpose */
} cli_request;

typedef struct cli_released_segment {
    uint64_t index, start_ms, end_ms;
    char object[33]; /* its object id; the file is objects/<object>.tlo */
    uint8_t plaintext_sha256[32], ciphertext_sha256[32];
    uint64_t bytes;
    uint64_t seq; /* its segment entry */
    uint8_t *key; /* TLO_OBJECT_KEY_BYTES of sodium_malloc memory */
} cli_released_segment;

typedef struct cli_release {
    uint64_t access_seq;     /* the access-granted entry */
    uint64_t grant_seq;      /* the grant used; 0 for an interviewer's own session */
    uint64_t from_ms, to_ms; /* the range released (to_ms resolved) */
    uint64_t session_end_ms;
    size_t n;
    cli_released_segment *seg;
} cli_release;

/* The door (see above). The actor (unlocked) must be in pp. On success 0 and
 * *out filled; on refusal EXIT_BAD_DATA with the reason printed and logged;
 * other exit codes for failures (nothing released). */
int cli_custodian_release(const char *vault, tlo_chain *ch, const cli_people *pp,
                          const tlo_vault_identity *actor, const cli_request *req,
                          cli_release *out);

/* Wipes and frees the keys. NULL-safe; out may be reused. */
void cli_release_free(cli_release *rel);

/* A grant as the ledger holds it (cmd_grant.c and the custodian). */
typedef struct cli_grant {
    uint64_t seq;
    uint8_t case_id[TLO_ID_BYTES];
    uint8_t to[32]; /* the grantee's public key */
    char to_name[TLO_NAME_MAX + 1];
    char session[33];
    uint64_t from_ms, until_ms, expires_ms;
    bool view, exp; /* actions */
    char purpose[512];
    int64_t revoked_at; /* the grant-revoke entry, -1 if none */
} cli_grant;

/* Every grant in the ledger (of the case when case_id is not NULL). */
int cli_grants_load(tlo_chain *ch, const uint8_t *case_id, cli_grant **out, size_t *n);

#endif
