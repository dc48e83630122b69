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
    /* The custodian's verified state (custody/verified.c), kept for the
     * handle's life and written to custodian.state at close (or every
     * CUSTODY_STATE_SAVE_EVERY new entries); its MAC key in secure memory. */
    struct tlo_chain_state *vstate;
    uint64_t vstate_saved; /* its size when last written */
    uint8_t *vstate_key;   /* 32 bytes + the genesis leaf (32), sodium_malloc */
    /* The OS process the entries are made for (the custodian service's
     * peer, tlo_custody_set_client): every entry appended through this
     * handle then carries client_uid= and client_pid=. */
    bool has_client;
    uint32_t client_uid, client_pid;
    char command[65]; /* tlo_custody_set_command: named by unlock-failed entries */
};

/* Appends one entry signed by signer (case_id NULL: no case), durably.
 * *seq (if not NULL) gets its number. Forgets what v cached of the ledger. */
int custody_append(tlo_custody *v, const tlo_vault_identity *signer, uint16_t kind,
                   const uint8_t *case_id, const char *body, uint64_t *seq, tlo_error *err);

/* n entries signed by signer in one append (one transaction), each body
 * with the client's fields as custody_append adds them (drafts are not
 * changed). *first_seq gets the first entry's number. */
int custody_append_many(tlo_custody *v, const tlo_vault_identity *signer,
                        const tlo_chain_draft *drafts, size_t n, uint64_t *first_seq,
                        tlo_error *err);
/* body with client_pid= and client_uid= inserted when v acts for a client
 * (tlo_custody_set_client), else a copy; malloc'd, NULL when out of memory. */
char *custody_client_body(const tlo_custody *v, const char *body);

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

/* The table's check for a verb (custody/roles.c): id is an active person
 * (custody_check_actor) who may take act when the conditions holds are
 * true. When not, logs an action-refused entry signed by the custodian
 * (action, actor, reason; case_id when not NULL) and returns TLO_EDENIED:
 * "NAME (ROLES) may not WHAT: only WHO may. The refusal is logged as entry
 * N." *who (if not NULL) on success. */
int custody_check_act(tlo_custody *v, const tlo_vault_identity *id, tlo_custody_act act,
                      unsigned holds, const uint8_t *case_id, const tlo_custody_person **who,
                      tlo_error *err);
/* Refuses p act, as custody_check_act does, with detail (NULL: none) in
 * the reason: "NAME (ROLES) may not WHAT (DETAIL): only WHO may". Logged;
 * always returns TLO_EDENIED. */
int custody_refuse_act(tlo_custody *v, const tlo_custody_person *p, tlo_custody_act act,
                       const uint8_t *case_id, const char *detail, tlo_error *err);
/* Logs that actor_pk was refused act (reason one line, cut to 400 bytes),
 * signed by the custodian: 0 and *seq, or the append's error. */
int custody_log_act_refusal(tlo_custody *v, const uint8_t actor_pk[static 32], tlo_custody_act act,
                            const uint8_t *case_id, const char *reason, uint64_t *seq,
                            tlo_error *err);

/* Text a person typed as a name or case number, as it is stored and
 * compared (custody/people.c): white space trimmed at both ends (Unicode's,
 * U+3000 too), then NFC (GLib's g_utf8_normalize), so a name typed
 * decomposed or with a stray space is the same name. malloc'd; NULL when
 * out of memory. Text that is not UTF-8 is only trimmed: the callers'
 * checks refuse it. */
char *custody_text_norm(const char *in);
/* The active person whose name differs from name only in case or white
 * space ("anna  admin" for "Anna Admin"), or NULL. */
const tlo_custody_person *custody_person_like(tlo_custody *v, const char *name);
/* Characters (code points) in s, as the limits count them: g_utf8_strlen
 * when s is UTF-8, else its bytes. */
size_t custody_text_chars(const char *s);

/* SHA-256 and size of the whole file open at fd, streamed (thread-safe).
 * 0 or -errno. */
int custody_hash_fd(int fd, uint8_t out[static 32], uint64_t *size);

/* Unlocks the custodian's identity (custodian.id with the passphrase in
 * custodian.secret): once per handle (Argon2id is slow), then *out is a
 * copy of the cached one (secure memory). Free it with
 * tlo_vault_identity_free. */
int custody_custodian(tlo_custody *v, tlo_vault_identity **out, tlo_error *err);

/* The keyed hash of a case number that its case-open entry logs
 * (case_number_mac): needs custodian.secret (TLO_EDENIED when it cannot be
 * read, saying to name the case by its internal id). custody/cases.c. */
int custody_case_number_mac(tlo_custody *v, const char *number, uint8_t mac[static 32],
                            tlo_error *err);

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

/* The custodian's verified state of the whole ledger (custody/verified.c):
 * the one v holds, or custodian.state when it is authentic, brought up to
 * the tip by verifying only the entries since. Fails (no state) when the
 * ledger does not verify or is shorter than what was verified. *out is v's:
 * valid until the next call or tlo_custody_close (which writes it to
 * custodian.state). Not for two threads at once. */
typedef struct tlo_chain_state tlo_chain_state;
int custody_verified(tlo_custody *v, const tlo_vault_identity *cust, tlo_chain_state **out,
                     tlo_error *err);
/* Writes v's verified state to custodian.state if it grew since it was
 * last written (tlo_custody_close calls it); forgets it. */
void custody_verified_close(tlo_custody *v);

/* Walks the entries that name case_id, in ledger order (rows NOT verified:
 * the caller checks them against the verified state). fn as tlo_chain_walk. */
int custody_walk_case(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                      tlo_chain_visit_fn fn, void *ctx, tlo_error *err);

/* A grant entry's fields; -1 if it is not a grant this tellonce understands. */
int custody_grant_parse(const tlo_entry *e, tlo_custody_grant *g);

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
