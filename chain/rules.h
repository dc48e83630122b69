/* tellonce chain — who may sign which kind, what its body must hold, and the
 * state a verifier keeps while it walks the ledger.
 *
 * One table (rules.c, printed in docs/ledger.md "Kinds"), used by the full
 * verification (`tellonce verify`, chain/verify.c) and by the custodian,
 * which verifies incrementally from a state it saved (custody/verified.c).
 * The state is what verifying entries 0..size-1 established: the enrolled
 * keys and their roles, every session (its case, the key that started it,
 * whether it is open, its next segment index), each case's entry count and a
 * hash chain over its entries' leaf hashes, the link to the last entry, its
 * time, and the compact Merkle tree. Given the state of a prefix, checking the
 * next entry needs nothing else from the ledger. */
#ifndef TLO_CHAIN_RULES_H
#define TLO_CHAIN_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "entry.h"
#include "tlo_common.h"

/* The signer of a session's entries: the key that signed its session-start. */
#define TLO_SIGNER_SESSION (1u << 15)

typedef struct tlo_kind_rule {
    uint16_t kind;
    unsigned signers;         /* TLO_ROLE_* any of which the signer holds, | TLO_SIGNER_SESSION */
    signed char has_case;     /* 1: names a case, 0: never, -1: either */
    const char *fields[9];    /* fields the body must hold, NULL-terminated */
    const char *signers_text; /* for people: "the custodian" */
} tlo_kind_rule;

/* The rule of a kind, or NULL for a kind no rule allows. */
const tlo_kind_rule *tlo_kind_rule_for(uint16_t kind);

/* ---- the verifier's state ---------------------------------------------- */

typedef struct tlo_chain_state tlo_chain_state;

tlo_chain_state *tlo_chain_state_new(void);
void tlo_chain_state_free(tlo_chain_state *st);

/* Entries verified so far, and the Merkle root of them. */
uint64_t tlo_chain_state_size(const tlo_chain_state *st);
void tlo_chain_state_root(const tlo_chain_state *st, uint8_t root[static TLO_HASH_BYTES]);

/* The leaf hash of the last entry verified (zeros for none). */
void tlo_chain_state_last_leaf(const tlo_chain_state *st, uint8_t leaf[static TLO_HASH_BYTES]);

/* A key the verified entries enrolled. */
typedef struct tlo_chain_key {
    uint8_t actor[TLO_HASH_BYTES];
    uint8_t pk[32];
    unsigned roles; /* TLO_ROLE_* (TLO_ROLE_CUSTODIAN for the custodian) */
    uint64_t enrolled_at;
    int64_t revoked_at; /* the user-revoke entry, or -1 */
} tlo_chain_key;

/* The key whose SHA-256 is actor, or NULL. Valid until the state changes. */
const tlo_chain_key *tlo_chain_state_key(const tlo_chain_state *st,
                                         const uint8_t actor[static TLO_HASH_BYTES]);

/* How many verified entries name case_id, and the hash chain over their leaf
 * hashes in ledger order (tlo_chain_case_step from 32 zero bytes). False when
 * no verified entry names the case. */
bool tlo_chain_state_case(const tlo_chain_state *st,
                          const uint8_t case_id[static TLO_CASE_ID_BYTES], uint64_t *count,
                          uint8_t chain[static TLO_HASH_BYTES]);

/* chain = SHA-256("tellonce/v1 case-chain\n" || chain || leaf). */
void tlo_chain_case_step(uint8_t chain[static TLO_HASH_BYTES],
                         const uint8_t leaf[static TLO_HASH_BYTES]);

/* Checks entry e (leaf its leaf hash) as the next one after the state:
 * sequence, link, time, kind, canonical body, the signer's enrolment and
 * role by the table, the body's fields, the session and case rules, a
 * checkpoint entry's size and root. On success the state takes the entry in
 * (enrolments, revocations, sessions, cases, tree) and, when pk_out is not
 * NULL, *pk_out gets the key the signature must verify with: the caller
 * checks it (verify.c defers it to worker threads). When pk_out is NULL the
 * signature is checked here. Returns 0, 1 with problem filled (the entry is
 * wrong; the state is then unchanged), or a negative code (out of memory). */
int tlo_chain_state_check(tlo_chain_state *st, const tlo_entry *e,
                          const uint8_t leaf[static TLO_HASH_BYTES], uint8_t pk_out[32],
                          char *problem, size_t cap);

/* The state as bytes (malloc'd; free it) and back. The bytes are checked
 * only for form when loaded: whoever stores them authenticates them (the
 * custodian MACs them). */
int tlo_chain_state_save(const tlo_chain_state *st, uint8_t **out, size_t *len, tlo_error *err);
tlo_chain_state *tlo_chain_state_load(const uint8_t *buf, size_t len, tlo_error *err);

#endif
