/* Ledger entries: the canonical byte encoding that is signed, chained and
 * hashed into the Merkle tree. docs/ledger.md has the table; this is the code.
 *
 *   offset  size  field
 *   ------  ----  ------------------------------------------------------------
 *        0     4  magic "TLE1"
 *        4     8  sequence number (0 for the genesis entry)
 *       12     8  time: milliseconds since 1970-01-01T00:00:00Z (UTC)
 *       20     2  kind (TLO_ENTRY_*)
 *       22     1  flags: bit 0 = the entry concerns a case; others zero
 *       23    16  case id (zeros when flag bit 0 is clear)
 *       39    32  actor: SHA-256 of the actor's Ed25519 public key
 *       71    32  prev: leaf hash of entry seq-1 (zeros for seq 0)
 *      103     4  body length N (at most TLO_ENTRY_BODY_MAX)
 *      107     N  body: canonical "key=value\n" lines (see tlo_entry_body_valid)
 *    107+N    64  Ed25519 signature by the actor over
 *                 "tellonce/v1 entry\n" || bytes 0 .. 107+N
 *
 * All integers big-endian. The leaf hash of an entry is
 * SHA-256(0x00 || all 171+N bytes), as RFC 6962 defines leaf hashes. */
#ifndef TLO_CHAIN_ENTRY_H
#define TLO_CHAIN_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_ENTRY_FIXED_BYTES 107
#define TLO_ENTRY_SIG_BYTES 64
#define TLO_ENTRY_BODY_MAX 65536
#define TLO_ENTRY_MAX_BYTES (TLO_ENTRY_FIXED_BYTES + TLO_ENTRY_BODY_MAX + TLO_ENTRY_SIG_BYTES)
#define TLO_HASH_BYTES 32
#define TLO_CASE_ID_BYTES 16

/* The kinds. Numbers are part of the format: never reuse one. */
enum {
    TLO_ENTRY_GENESIS = 1,
    TLO_ENTRY_USER_ADD = 2,
    TLO_ENTRY_USER_REVOKE = 3,
    TLO_ENTRY_USER_ACTIVATED = 4,
    TLO_ENTRY_VAULT_SETTING = 5,
    TLO_ENTRY_CASE_OPEN = 10,
    TLO_ENTRY_CASE_VIEW = 11,
    TLO_ENTRY_SESSION_START = 20,
    TLO_ENTRY_SEGMENT = 21,
    TLO_ENTRY_MARKER = 22,
    TLO_ENTRY_SESSION_END = 23,
    TLO_ENTRY_SESSION_RECOVERED = 24,
    TLO_ENTRY_DEVICE_EVENT = 25,
    TLO_ENTRY_GRANT = 30,
    TLO_ENTRY_GRANT_REVOKE = 31,
    TLO_ENTRY_ACCESS_GRANTED = 40,
    TLO_ENTRY_ACCESS_DENIED = 41,
    TLO_ENTRY_EXPORT = 42,
    TLO_ENTRY_REQUEST_REFUSED = 43,
    TLO_ENTRY_ACTION_REFUSED = 44,
    TLO_ENTRY_NOTE_GRANT = 32,
    TLO_ENTRY_NOTE = 50,
    TLO_ENTRY_SAMPLE_TRANSFER = 51,
    TLO_ENTRY_NOTE_ACCESS = 52,
    TLO_ENTRY_SAMPLE_REGISTER = 53,
    TLO_ENTRY_SAMPLE_RECEIVE = 54,
    TLO_ENTRY_SAMPLE_DISPOSE = 55,
    TLO_ENTRY_KEY_DESTROYED = 60,
    TLO_ENTRY_CHECKPOINT = 70,
};

/* Roles of people, as user-add entries list them ("roles=admin,medical").
 * The custodian is the vault's own key, never a role a person holds. */
enum {
    TLO_ROLE_ADMIN = 1 << 0,
    TLO_ROLE_INTERVIEWER = 1 << 1,
    TLO_ROLE_PROSECUTOR = 1 << 2,
    TLO_ROLE_MEDICAL = 1 << 3,
    TLO_ROLE_AUDITOR = 1 << 4,
    TLO_ROLE_CUSTODIAN = 1 << 5,
    TLO_ROLE_PSYCHOLOGIST = 1 << 6,
    TLO_ROLE_LEGAL_AID = 1 << 7,
    TLO_ROLE_SOCIAL_WORKER = 1 << 8,
};

/* Every role a person may hold (not the custodian's). */
#define TLO_ROLES_PERSON                                                                           \
    (TLO_ROLE_ADMIN | TLO_ROLE_INTERVIEWER | TLO_ROLE_PROSECUTOR | TLO_ROLE_MEDICAL |              \
     TLO_ROLE_AUDITOR | TLO_ROLE_PSYCHOLOGIST | TLO_ROLE_LEGAL_AID | TLO_ROLE_SOCIAL_WORKER)

/* Parses len bytes of comma-separated role names (admin, interviewer,
 * prosecutor, medical, auditor, psychologist, legal-aid, social-worker; no
 * spaces) into a mask. Returns 0, or -1 for
 * an empty list or an unknown name. */
int tlo_roles_parse(const char *s, size_t len, unsigned *roles);

/* The mask as role names joined by sep ("," in entries, ", " for people). */
void tlo_roles_format(unsigned roles, const char *sep, char *out, size_t cap);

/* The kind's name as the log shows it ("segment"), or NULL if unknown. */
const char *tlo_entry_kind_name(uint16_t kind);
/* The kind for a name, or 0. */
uint16_t tlo_entry_kind_from_name(const char *name);

typedef struct tlo_entry {
    uint64_t seq;
    uint64_t time_ms;
    uint16_t kind;
    bool has_case;
    uint8_t case_id[TLO_CASE_ID_BYTES];
    uint8_t actor[TLO_HASH_BYTES];
    uint8_t prev[TLO_HASH_BYTES];
    const uint8_t *body; /* not owned */
    size_t body_len;
    uint8_t sig[TLO_ENTRY_SIG_BYTES];
} tlo_entry;

/* True if body is canonical: zero or more lines "key=value\n", keys of 1..32
 * characters from [a-z0-9_.], in strictly increasing byte order (so unique),
 * values valid UTF-8 without control characters (no NUL, CR, LF, tab, DEL,
 * C1). Canonical means one meaning has one encoding, so signatures cover
 * meaning. On false, *why says what is wrong (static string). */
bool tlo_entry_body_valid(const uint8_t *body, size_t len, const char **why);

/* The value of key in a valid body, as a pointer into it and a length, or
 * NULL if absent. */
const uint8_t *tlo_entry_body_get(const uint8_t *body, size_t len, const char *key,
                                  size_t *value_len);

/* The value of key in e's body as a NUL-terminated string (0), or -1 when
 * absent or longer than cap - 1 bytes. */
int tlo_entry_str(const tlo_entry *e, const char *key, char *out, size_t cap);
/* The value of key as a decimal number (0), or -1 when absent or not one. */
int tlo_entry_u64(const tlo_entry *e, const char *key, uint64_t *out);
/* The value of key as exactly n bytes in hex (0), or -1. */
int tlo_entry_hex(const tlo_entry *e, const char *key, uint8_t *out, size_t n);

/* Encodes e into out (TLO_ENTRY_MAX_BYTES at most), the signature included.
 * Returns the length, or 0 if the body is too long. */
size_t tlo_entry_encode(const tlo_entry *e, uint8_t *out, size_t cap);

/* The bytes the signature covers: "tellonce/v1 entry\n" || encoding without
 * the signature. Returns the length, or 0 if cap is too small. */
size_t tlo_entry_signed_message(const tlo_entry *e, uint8_t *out, size_t cap);

/* Parses an encoding (hostile input): checks magic, flags, lengths and the
 * body's canonical form; e->body points into buf. Does not check the
 * signature (that needs the enrolled key). */
int tlo_entry_decode(const uint8_t *buf, size_t len, tlo_entry *e, tlo_error *err);

/* Signs e (fills e->sig) with the actor's Ed25519 secret key (64 bytes,
 * secure memory), after setting e->actor from pk. */
int tlo_entry_sign(tlo_entry *e, const uint8_t pk[static 32], const uint8_t *sk, tlo_error *err);

/* Verifies e->sig against pk and that e->actor is SHA-256(pk). */
bool tlo_entry_verify(const tlo_entry *e, const uint8_t pk[static 32]);

/* RFC 6962 leaf hash of the entry's full encoding. */
void tlo_entry_leaf_hash(const tlo_entry *e, uint8_t out[static TLO_HASH_BYTES]);

#endif
