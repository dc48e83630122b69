/* What the files of custody/ share and no front end sees. */
#ifndef TLO_CUSTODY_INTERNAL_H
#define TLO_CUSTODY_INTERNAL_H

#include "custody.h"

struct tlo_custody {
    char *dir;
    tlo_chain *ch;
    bool readonly;
    bool people_loaded;
    tlo_custody_person *people;
    size_t npeople;
};

/* Appends one entry signed by signer (case_id NULL: no case), durably.
 * *seq (if not NULL) gets its number. Forgets what v cached of the ledger. */
int custody_append(tlo_custody *v, const tlo_vault_identity *signer, uint16_t kind,
                   const uint8_t *case_id, const char *body, uint64_t *seq, tlo_error *err);

/* id is an active person of v holding one of roles (role_text names them
 * in the error): 0 and *who (if not NULL), or TLO_EDENIED. Every verb that
 * acts for a person checks it itself, whatever the front end checked. */
int custody_check_actor(tlo_custody *v, const tlo_vault_identity *id, unsigned roles,
                        const char *role_text, const tlo_custody_person **who, tlo_error *err);

/* SHA-256 and size of the whole file open at fd, streamed (thread-safe).
 * 0 or -errno. */
int custody_hash_fd(int fd, uint8_t out[static 32], uint64_t *size);

/* Unlocks the custodian's identity (custodian.id with the passphrase in
 * custodian.secret). Free it with tlo_vault_identity_free. */
int custody_custodian(tlo_custody *v, tlo_vault_identity **out, tlo_error *err);

/* The case whose internal id is id (from its case-open entry). */
int custody_case_by_id(tlo_custody *v, const uint8_t id[static TLO_ID_BYTES], tlo_custody_case *out,
                       tlo_error *err);

/* Unwraps the case key with the custodian's identity into *key (a secure
 * buffer: tlo_vault_key_free it). The wrapped key must be exactly
 * TLO_WRAPPED_KEY_BYTES and match the digest its case-open entry logged: a
 * key file replaced with a key wrapped by anyone (the custodian's public key
 * is public) is refused. */
int custody_case_key(tlo_custody *v, const tlo_custody_case *cs, const tlo_vault_identity *cust,
                     uint8_t **key, tlo_error *err);

/* A lease (custody/lease.c): an exclusive flock on VAULT/locks/NAME.lock
 * that the kernel drops when the process dies. NAME is "case-CASEID" or
 * "room-NAME"; holder says who, for the message of anyone refused (no
 * secret, no case number: "record session ID", "recover"). 0 and *out
 * (custody_lease_release it), or TLO_EEXIST when another process holds it,
 * with what its file says in held_by (if not NULL) and err naming the file. */
typedef struct custody_lease custody_lease;
int custody_lease_take(tlo_custody *v, const char *name, const char *holder, custody_lease **out,
                       char *held_by, size_t held_cap, tlo_error *err);

/* Whether another process holds the lease NAME now (*held), without taking
 * it; held_by as above. 0 or TLO_EIO/TLO_ENOMEM. */
int custody_lease_probe(tlo_custody *v, const char *name, bool *held, char *held_by,
                        size_t held_cap, tlo_error *err);

/* Drops the lease. NULL-safe. */
void custody_lease_release(custody_lease *l);

#endif
