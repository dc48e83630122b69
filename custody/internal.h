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

/* The files beside the ledger (verify_objects.c): every case's wrapped key
 * and sealed record against its case-open entry, and every file of cases/,
 * objects/ and tmp/ accounted for. A problem sets out->chain.ok false with
 * out->chain.problem; 0, or a negative code when the ledger cannot be read. */
int custody_verify_objects(tlo_custody *v, tlo_custody_verify_report *out, tlo_error *err);

/* ---- Publishing files (publish.c) ---- */

/* Test-only: raises SIGKILL when TELLONCE_TEST_KILL_AT names step, so that
 * tests can kill a verb at each of its steps (docs/vault-layout.md). */
void custody_test_kill(const char *step);

/* fsyncs the folder dir (a name made or moved in it is then durable). */
int custody_sync_dir(const char *dir, tlo_error *err);

/* The vault's private folder VAULT/tmp (0700, made when missing; malloc'd
 * into *out), where the vault's own files are written until they are
 * logged and moved into place. */
int custody_private_dir(tlo_custody *v, char **out, tlo_error *err);

/* An unnamed file (O_TMPFILE, 0600) in dir, open for reading and writing:
 * what a process killed before custody_link_fd leaves of it is nothing. */
int custody_tmpfile(const char *dir, int *fd, tlo_error *err);

/* "/proc/self/fd/FD": how libraries that take a path write into fd. */
int custody_fd_path(int fd, char out[static 32]);

/* Syncs fd and gives it the name path in dir (never over an existing file:
 * TLO_EEXIST), then syncs dir. */
int custody_link_fd(int fd, const char *path, const char *dir, tlo_error *err);

/* Moves from to to (never over an existing file: TLO_EEXIST), in one
 * rename, and syncs dir, to's folder. */
int custody_publish(const char *from, const char *to, const char *dir, tlo_error *err);

#endif
