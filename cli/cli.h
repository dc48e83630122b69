/* The tellonce command line: one file per command group behind the dispatch
 * table in main.c. Only cli/ prints and chooses exit codes. */
#ifndef TLO_CLI_H
#define TLO_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "chain.h"
#include "custody.h"
#include "note.h"
#include "tlo_common.h"
#include "vault.h"

/* Exit codes, documented in `tellonce --help` and docs/cli.md. */
enum {
    EXIT_OK = 0,
    EXIT_BAD_DATA = 1, /* the input failed a check: not an object, altered, wrong key, ... */
    EXIT_USAGE = 2,    /* the command line was wrong */
    EXIT_SYSTEM = 3,   /* the system failed us: I/O error, full disk, out of memory */
};

extern const char *cli_prog;

/* Prints "tellonce: error: ..." to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints an error from the library and returns the exit code it maps to. */
int cli_fail(const tlo_error *err);
/* Maps a TLO_E* code to an exit code. */
int cli_exit_code(int code);

/* Reads a 32-byte key from path (32 raw bytes, or 64 hex characters with an
 * optional final newline) into a new secure buffer (tlo_vault_key_free it).
 * Returns NULL with err filled on failure. */
uint8_t *cli_read_key_file(const char *path, tlo_error *err);

/* Writes s as a JSON string literal (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);

/* ---- the vault through the custody core (session.c) ---- */

/* Opens the vault (opt, else $TELLONCE_VAULT, else the default; see
 * cli_vault_dir). NULL with the error printed and *rc set on failure. */
tlo_custody *cli_open(const char *vault_opt, bool readonly, int *rc);
/* Asks as's passphrase (pass_file, $TELLONCE_PASSPHRASE or the terminal)
 * and unlocks them as one of roles (tlo_custody_unlock). NULL with the error
 * printed and *rc set otherwise. The person is looked up before the
 * passphrase is asked. */
tlo_vault_identity *cli_acting(tlo_custody *v, const char *as, const char *pass_file,
                               unsigned roles, const char *role_text, int *rc);
/* The case with this number; 0 or an exit code (printed). */
int cli_find_case(tlo_custody *v, const char *number, tlo_custody_case *out);

/* ---- vaults, passphrases, people (session.c, people.c) ---- */

/* The vault directory: opt, else $TELLONCE_VAULT, else
 * $XDG_DATA_HOME/tellonce/vault (~/.local/share/tellonce/vault). malloc'd. */
char *cli_vault_dir(const char *opt);

/* A passphrase in secure memory (sodium_free it): the first line of file if
 * given, else $env_name if set, else asked on the terminal without echo
 * (twice when confirm). NULL, with the error printed, when there is none. */
char *cli_passphrase(const char *file, const char *env_name, const char *prompt, int confirm,
                     size_t *len);
/* TLO_KDF_MODERATE, or TLO_KDF_INTERACTIVE when TELLONCE_TEST_FAST_KDF=1. */
tlo_vault_kdf_cost cli_kdf_cost(void);

/* The identity file of the person called name in the vault (public part);
 * *path_out gets its path. Prints the error and returns NULL if there is no
 * such person or more than one. */
tlo_vault_identity *cli_find_person(const char *vault, const char *name, char **path_out, int *rc);
/* Finds and unlocks name's identity with their passphrase. On failure the
 * error is printed and *rc is the exit code. */
tlo_vault_identity *cli_unlock_person(const char *vault, const char *name,
                                      const char *passphrase_file, int *rc);
/* Unlocks the custodian's identity. */
tlo_vault_identity *cli_unlock_custodian(const char *vault);

/* Opens the vault's ledger; prints the error, sets *rc and returns NULL on
 * failure (EXIT_USAGE when there is no vault there). */
tlo_chain *cli_open_ledger(const char *vault, bool readonly, int *rc);

/* People as the ledger enrols them (not verified: 'verify' does that). */
typedef tlo_custody_person cli_person;
typedef struct cli_people {
    cli_person *p;
    size_t n;
} cli_people;
/* Reads every genesis, user-add and user-revoke entry. 0 or an exit code. */
int cli_people_load(tlo_chain *c, cli_people *out);
void cli_people_free(cli_people *pp);
const cli_person *cli_people_by_actor(const cli_people *pp, const uint8_t actor[static 32]);
const cli_person *cli_people_by_name(const cli_people *pp, const char *name);
/* Unlocks as's identity and checks, in the ledger people pp, that they are
 * enrolled, not revoked, and hold one of roles (named role_text in the
 * error). NULL with the error printed and *rc set otherwise. */
tlo_vault_identity *cli_unlock_acting(const char *vault, const char *as, const char *pass_file,
                                      const cli_people *pp, unsigned roles, const char *role_text,
                                      int *rc);

/* Reads a whole file of at most max bytes (NUL-terminated, malloc'd). 0 or
 * an exit code, with the error printed. */
int cli_read_file(const char *path, size_t max, char **out, size_t *len);
/* Writes a new file (never an existing one) with mode, fsynced. 0 or -1,
 * with the error printed and nothing left behind. */
int cli_write_new_file(const char *path, const void *data, size_t len, int mode);
/* The tree heads 'verify' must match: the checkpoint at old_path (if not
 * NULL) and the vault's newest, each signature-checked; labels[i] are
 * malloc'd (free them). At most 2. 0 or an exit code. */
int cli_checkpoint_anchors(tlo_chain *ch, const char *vault, const char *old_path,
                           tlo_chain_anchor *anchors, size_t *n, char **labels);

/* ---- cases (cases.c) ---- */
typedef tlo_custody_case cli_case;
/* Finds the case with this number in the ledger. 0, or an exit code (the
 * error printed unless quiet). */
int cli_case_find(tlo_chain *c, const char *number, cli_case *out, bool quiet);
/* Unwraps the case's key with the custodian's identity: a secure buffer
 * (tlo_vault_key_free), or NULL with the error printed. */
uint8_t *cli_case_key(const char *vault, const cli_case *cs, const tlo_vault_identity *custodian);

/* Verifies the ledger, has the custodian sign a checkpoint, keeps it in the
 * vault, logs it, copies it to out_path (if not NULL) and, when print, says
 * so. 0 or an exit code. */
int cli_checkpoint_write(const char *vault, tlo_chain *ch, const char *out_path, bool print);
/* The ledger's origin (into origin, cap bytes) and the custodian's verifier
 * key, from the genesis entry. 0 or an exit code (printed). */
int cli_vault_trust(tlo_chain *c, char *origin, size_t cap, tlo_note_verifier *v);
/* The path of the vault's newest checkpoint (malloc'd), or NULL if none. */
char *cli_newest_checkpoint(const char *vault);
/* A tlo_merkle leaf callback over an array of leaf hashes (ctx). */
int cli_leaf_from_array(void *ctx, uint64_t index, uint8_t out[TLO_HASH_BYTES]);

int cmd_object(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_play(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify_export(int argc, char **argv);
/* "HH:MM:SS", "MM:SS" or "SS", each with an optional ".mmm", into ms
 * (cmd_mark.c). 0 or -1. */
int cli_parse_session_time(const char *s, uint64_t *ms);
int cmd_mark(int argc, char **argv);
int cmd_recover(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif
