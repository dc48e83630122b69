/* What the files of custody/ share and no front end sees. */
#ifndef TLO_CUSTODY_INTERNAL_H
#define TLO_CUSTODY_INTERNAL_H

#include "custody.h"

#include <pthread.h>
#include <stdatomic.h>

struct tlo_custody {
    char *dir;
    tlo_chain *ch;
    bool readonly;
    bool people_loaded;
    tlo_custody_person *people;
    size_t npeople;
    bool lock_ready;
    atomic_bool dirty;        /* appended since the last seal (custody_seal) */
    pthread_mutex_t lock;     /* the cached custodian */
    tlo_vault_identity *cust; /* unlocked once per handle, wiped at close */
};

/* Appends one entry signed by signer (case_id NULL: no case), durably.
 * *seq (if not NULL) gets its number. Forgets what v cached of the ledger. */
int custody_append(tlo_custody *v, const tlo_vault_identity *signer, uint16_t kind,
                   const uint8_t *case_id, const char *body, uint64_t *seq, tlo_error *err);

/* The tail of the ledger is never left uncovered (docs/ledger.md, "Trust
 * model"): when v appended since the last seal, has the custodian sign a
 * checkpoint of the whole ledger, after checking that it extends the
 * vault's newest checkpoint, and publishes it durably (checkpoints/SIZE,
 * fsynced, one rename, the directory fsynced; then a copy in each publish
 * directory of vault.conf). No ledger entry is logged. 0 at once when v did
 * not append. Every public verb that appends calls it before it returns
 * success (or hands out a key). */
int custody_seal(tlo_custody *v, tlo_error *err);
/* For a verb's last line: rc when rc != 0 (still sealing what was appended,
 * so a logged refusal is covered too; a seal failure is added to err's
 * message), else custody_seal(v, err). */
int custody_seal_end(tlo_custody *v, int rc, tlo_error *err);

/* A checkpoint file, signature-checked. */
typedef struct custody_cp {
    uint64_t size;
    uint8_t root[32];
    char *path; /* malloc'd */
} custody_cp;

/* Every checkpoint file in dir (named %020llu.checkpoint; other names are
 * skipped), each signed by vk under origin and named by its own size,
 * sorted by size: *list (custody_cps_free). A missing dir is no checkpoint
 * unless must_exist. A file that fails is an error naming it. */
int custody_dir_checkpoints(const char *dir, const tlo_note_verifier *vk, const char *origin,
                            bool must_exist, custody_cp **list, size_t *n, tlo_error *err);
void custody_cps_free(custody_cp *list, size_t n);

/* id is an active person of v holding one of roles (role_text names them
 * in the error): 0 and *who (if not NULL), or TLO_EDENIED. Every verb that
 * acts for a person checks it itself, whatever the front end checked. */
int custody_check_actor(tlo_custody *v, const tlo_vault_identity *id, unsigned roles,
                        const char *role_text, const tlo_custody_person **who, tlo_error *err);

/* SHA-256 and size of the whole file open at fd, streamed (thread-safe).
 * 0 or -errno. */
int custody_hash_fd(int fd, uint8_t out[static 32], uint64_t *size);

/* Unlocks the custodian's identity (custodian.id with the passphrase in
 * custodian.secret): once per handle (Argon2id is slow), then *out is a
 * copy of the cached one (secure memory). Free it with
 * tlo_vault_identity_free. */
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

#endif
