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
/* The command being run ("play", "grant", ...), for messages and the log. */
extern const char *cli_command;

/* Runs one command: argv[0] is its name (main.c; the service's children
 * run commands with it too). Returns the exit code. */
int cli_dispatch(int argc, char **argv);
/* Runs the command through the custodian service at socket_path (remote.c):
 * argv[0] is the command. Returns the exit code. */
int cli_remote(const char *socket_path, int argc, char **argv);
/* The client's part of a command the service ran (remote_part.c), with the
 * DATA frames it sent (their fds are the caller's to close, via
 * tlo_svc_frame_free, after). Returns the exit code. */
struct tlo_svc_frame;
int cli_remote_client_part(int argc, char **argv, struct tlo_svc_frame *frames, size_t n);
/* The window of a recording's live monitor, fed with the JPEG frames the
 * service sends (monitor.c). NULL, with the error printed, if no window. */
typedef struct cli_monitor cli_monitor;
cli_monitor *cli_monitor_new(void);
void cli_monitor_frame(cli_monitor *m, const uint8_t *jpeg, size_t len);
void cli_monitor_free(cli_monitor *m);
/* What the service's child runs (remote.c): refuses an option naming a
 * file the client did not hand over, then cli_dispatch. */
int cli_service_run(int argc, char **argv);
/* play's part in the service's client (cmd_play.c): shows the hand-over
 * text (player/handover.h) with its segments' fds (nfds, not closed),
 * as play's options argv (argv[0] "play", what the child accepted) ask:
 * --headless --json prints here as in-process. Returns the exit code. */
int cli_play_client(const char *text, size_t len, const int *fds, size_t nfds, int argc,
                    char **argv);
/* True for the commands the service runs for a client (remote.c). */
bool cli_forwarded(const char *command);
/* In a child of the custodian service, the custodian's identity its parent
 * unlocked at start (cmd_custodian.c); NULL elsewhere. */
const tlo_vault_identity *cli_service_custodian(void);
/* tellonce login|logout (cmd_login.c). */
int cmd_login(int argc, char **argv);
/* tellonce custodian run (cmd_custodian.c). */
int cmd_custodian(int argc, char **argv);

/* After a wrong command line (getopt said what was wrong): one line that
 * says where the command's options are, never the whole usage. */
void cli_usage_hint(void);
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

/* Writes s as a JSON string literal (quoted, escaped): text from the
 * ledger or a file is untrusted, so every control character is escaped and
 * every byte that is not well-formed UTF-8 becomes U+FFFD. cli_json_bytes
 * takes n bytes (NULs among them escaped). */
void cli_json_string(FILE *f, const char *s);
void cli_json_bytes(FILE *f, const char *s, size_t n);
/* Roles as a JSON array of their names (cli/json.c). */
void cli_json_roles(FILE *f, unsigned roles);

/* in as a terminal may show it: bytes that are not well-formed UTF-8 become
 * U+FFFD, control characters (C0 with tab and newline, DEL, C1: the escapes
 * that retitle or clear a terminal) become '?'. Cut between characters to fit
 * cap; 3 * strlen(in) + 1 bytes always suffice. */
void cli_clean_text(char *out, size_t cap, const char *in);

/* How many columns utf8 takes on a terminal (cli/text.c): East Asian wide
 * and fullwidth characters 2, zero-width and combining ones 0, others 1; a
 * byte that is not UTF-8 and a control character 1 each (as cli_clean_text
 * shows them). */
int cli_text_width(const char *utf8);
/* s cleaned (cli_clean_text) to f, then spaces up to width columns; a text
 * wider than width is printed whole. */
void cli_print_padded(FILE *f, const char *s, int width);

/* Whether this process runs a command forwarded by the custodian service
 * (a child of `tellonce custodian run`): then an administrator may not set
 * anyone's passphrase (user add --new-passphrase-file is refused). */
bool cli_in_service(void);

/* ---- the vault through the custody core (session.c) ---- */

/* Opens the vault (opt, else $TELLONCE_VAULT, else the default; see
 * cli_vault_dir). NULL with the error printed and *rc set on failure. */
tlo_custody *cli_open(const char *vault_opt, bool readonly, int *rc);
/* Asks as's passphrase (pass_file, $TELLONCE_PASSPHRASE or the terminal)
 * and unlocks them as one of roles (tlo_custody_unlock). NULL with the error
 * printed and *rc set otherwise. The person is looked up before the
 * passphrase is asked. */
tlo_vault_identity *cli_acting(tlo_custody *v, const char *as, const char *pass_file,
                               tlo_custody_act act, int *rc);
/* cli_acting for an action on one case (its internal id): a refusal by the
 * table is logged against that case, so the case's report shows it. */
tlo_vault_identity *cli_acting_on(tlo_custody *v, const char *as, const char *pass_file,
                                  tlo_custody_act act, const uint8_t *case_id, int *rc);
/* Set by login: cli_acting asks the passphrase even when the service holds a
 * login of that person. */
extern bool cli_no_login;
/* The case text names, wherever a case is named: its internal id (32 hex
 * digits, no key needed) or the number police use (found by its keyed
 * hash: needs custodian.secret, embedded or in the service). case_id and
 * *out (if not NULL) get it. 0 or an exit code (printed: an unknown number
 * says so and points to 'tellonce case list'). */
int cli_case_ref(tlo_custody *v, const char *text, uint8_t case_id[static TLO_ID_BYTES],
                 tlo_custody_case *out);
/* The case with this number or internal id (cli_case_ref); 0 or an exit
 * code (printed). */
int cli_find_case(tlo_custody *v, const char *number, tlo_custody_case *out);
/* The session text names, wherever a session is named: its number in case
 * cs (1, 2, ...), its id, or a unique prefix of at least 4 hex digits
 * (tlo_custody_session_find); cs NULL searches every case (a prefix or id
 * only). id gets its 32 hex digits, case_id (if not NULL) its case. 0 or an
 * exit code (printed). */
int cli_session_ref(tlo_custody *v, const tlo_custody_case *cs, const char *text,
                    char id[static 33], uint8_t *case_id);

/* ---- vaults and passphrases (session.c) ---- */

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

int cmd_object(int argc, char **argv);
int cmd_case(int argc, char **argv);
int cmd_record(int argc, char **argv);
/* tellonce preview (cmd_preview.c): the monitor without recording. */
int cmd_preview(int argc, char **argv);
int cmd_grant(int argc, char **argv);
int cmd_play(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_verify_export(int argc, char **argv);
/* "HH:MM:SS", "MM:SS" or "SS", each with an optional ".mmm", into ms
 * (cmd_mark.c). 0 or -1. */
int cli_parse_session_time(const char *s, uint64_t *ms);
int cmd_mark(int argc, char **argv);
int cmd_recover(int argc, char **argv);
/* The custodian service's start (cmd_recover.c): recovers every session
 * left open, signed by the custodian (tlo_custody_recover_auto); says what
 * it did on stderr and passes each line to notice (for the next client),
 * a failure too. The service starts anyway: returns EXIT_OK, or the exit
 * code when the vault cannot be opened. */
int cli_recover_at_start(const char *vault, void (*notice)(const char *text));
int cmd_stop(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_checkpoint(int argc, char **argv);
int cmd_prove(int argc, char **argv);
int cmd_verify_proof(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_passwd(int argc, char **argv); /* cmd_user.c */
int cmd_verify(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_roles(int argc, char **argv);
/* tellonce report (cmd_report.c; writers report_html.c, report_json.c). */
int cmd_report(int argc, char **argv);
/* The range play or export asks for (clip_range.c), before anything is
 * signed: without --from/--to (has_from, has_to false) the range actor's
 * live grants give (the first, with a note naming the others); a given
 * range must lie within one grant (a missing end is that grant's), else an
 * error names the granted ranges (HH:MM:SS), and nothing is logged; a
 * reversed range is an error. The recorder's own session and a person with
 * no live grant are left to the custodian (which decides and logs). 0 or an
 * exit code (printed). */
/* A reversed or empty --from/--to (both given) is an error (printed, with
 * the times as HH:MM:SS): EXIT_USAGE, else 0. */
int cli_range_order(bool has_from, bool has_to, uint64_t from_ms, uint64_t to_ms);
int cli_clip_range(tlo_custody *v, const tlo_custody_case *cs, const char *session,
                   const tlo_vault_identity *actor, tlo_custody_action action, bool has_from,
                   bool has_to, uint64_t *from_ms, uint64_t *to_ms);
/* tellonce session list (cmd_session.c). */
int cmd_session(int argc, char **argv);

int cmd_sample(int argc, char **argv); /* cmd_sample.c */
/* tellonce note (cmd_note.c); cli_note_write_files writes a note's files
 * into dir under safe names, never over a file, and says which went where
 * (also the service's client, remote.c). Returns the exit code. */
int cmd_note(int argc, char **argv);
int cli_note_write_files(const char *dir, const tlo_custody_note_content *c);

/* A progress line on stderr for long work (cli/progress.c): percent, elapsed
 * and remaining, only when stderr is a terminal and not in --json mode,
 * redrawn at most 4 times a second, cleared by cli_progress_end. NULL when
 * nothing is to be shown; every function takes NULL. */
typedef enum { CLI_PROGRESS_EXPORT, CLI_PROGRESS_VERIFY, CLI_PROGRESS_REPORT } cli_progress_kind;
typedef struct cli_progress cli_progress;
cli_progress *cli_progress_new(cli_progress_kind kind, bool json);
/* The hook to give a custody verb (fn NULL for NULL). */
tlo_custody_progress cli_progress_hook(cli_progress *p);
/* Clears the line (if one was drawn) and frees p. */
void cli_progress_end(cli_progress *p);

/* After an export through the custodian service (remote.c): CLIP.sha256
 * beside the clip the client linked, from the SHA-256 of what fd (the
 * clip's file, still open) holds. The exit code. */
int cli_export_sha256_from_fd(int fd, const char *clip_path);
/* tellonce settings (cmd_settings.c). */
int cmd_settings(int argc, char **argv);
/* Makes the vault's timezone setting the zone times are shown in
 * (tlo_time_set_zone), when it is set and can be read; else times stay in
 * the system's zone (cli_open calls it). */
void cli_time_zone(tlo_custody *v);

#endif
