/* The custodian service: `tellonce custodian run` (docs/service.md).
 *
 * One parent process listens on a Unix socket. For each connection it reads
 * the peer's uid, gid and pid (SO_PEERCRED), checks the uid may use the
 * service, and forks a child for it. The child gives the client a fresh
 * nonce, reads one request that must carry it, and runs the asked command
 * with the same code as the embedded CLI (the run callback) on a pty or
 * pipes that a thread relays to the client. Only these processes read the
 * vault. Children die with the parent (PR_SET_PDEATHSIG), as they do when
 * systemd stops the unit's cgroup. */
#ifndef TLO_SERVICE_H
#define TLO_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tlo_common.h"

#define TLO_SERVICE_DEFAULT_DIR "/run/tellonce"
#define TLO_SERVICE_DEFAULT_SOCKET TLO_SERVICE_DEFAULT_DIR "/custodian.sock"

typedef struct tlo_service_peer {
    uid_t uid;
    gid_t gid;
    pid_t pid;
} tlo_service_peer;

/* What the service does at start before it takes connections (recover the
 * sessions a killed service left open): returns 0, or an exit code; may
 * add notices for the next client with tlo_service_notice. */
typedef int (*tlo_service_start_fn)(const char *vault);
/* Runs one command (argv[0] is its name) in a child; returns its exit code. */
typedef int (*tlo_service_run_fn)(int argc, char **argv);
/* Is the command one the service runs for a client? */
typedef bool (*tlo_service_allowed_fn)(const char *command);

typedef struct tlo_service_config {
    const char *vault;  /* the vault's directory */
    const char *socket; /* its path; NULL: TLO_SERVICE_DEFAULT_SOCKET */
    const char *group;  /* who may connect: this group's members; NULL: the socket
                           directory's group */
    tlo_service_start_fn start;
    tlo_service_run_fn run;
    tlo_service_allowed_fn allowed;
} tlo_service_config;

/* Runs the service in the foreground until SIGTERM or SIGINT, which send
 * SIGTERM to every child (a recording ends cleanly; a request cut short is
 * as a crash, which the core survives) and wait for every child. 0 on a clean end; else an exit
 * code with the error in err. Messages for the operator go to stderr. */
int tlo_service_run(const tlo_service_config *cfg, tlo_error *err);

/* The custodian's identity the service unlocked at its start (kept by the
 * caller for the service's life): the children's refusal entries are signed
 * with it, without unlocking custodian.id again. */
struct tlo_vault_identity;
void tlo_service_set_custodian(const struct tlo_vault_identity *cust);

/* Adds a line every client of the next connection (one) is told first. */
void tlo_service_notice(const char *text);

/* ---- inside a child, while it runs a command for a client ---- */

bool tlo_service_in_child(void);
const tlo_service_peer *tlo_service_client(void);
const char *tlo_service_vault(void);
/* The passphrase the client forwarded (SECRET frame), or NULL; the pointer is
 * to secure memory owned by the child runner. Taking it clears it. */
char *tlo_service_take_secret(size_t *len);
/* The fd the client passed for an argument the service rewrote to
 * "/dev/fd/N" (its file, opened by the client), or -1 for any other path.
 * Not a copy: dup it to keep it. */
int tlo_service_file_fd(const char *path);
/* A file the client passed by name with an argument ("manifest": where
 * export writes the manifest of the clip it writes to the argument's fd);
 * -1 when none. Not a copy. */
int tlo_service_named_fd(const char *name);
/* Logs a request-refused entry for this client (within the parent's budget
 * per user) and says so on the service's stderr: a wrong passphrase. */
void tlo_service_refused(const char *command, const char *reason);
/* Sends a frame to the client (a DATA frame with fds for play). The output
 * written so far on stdout/stderr is flushed to the client first. */
int tlo_service_send(char type, const void *data, size_t len, const int *fds, size_t nfds);
/* Sends one frame of the live monitor (JPEG) to every attached client, from
 * any thread; a client that cannot take it in time is dropped. */
void tlo_service_preview(const uint8_t *jpeg, size_t len);
/* Registers this child as attachable under key (e.g. a session id): a later
 * `tlo_service_attach(key)` from another child hands its client here; this
 * child's output then goes to every attached client, and input comes from
 * any. 0 or -1 (err). */
int tlo_service_register(const char *key, const char *owner, tlo_error *err);
/* Hands this child's client to the child registered under key and ends this
 * child's part (the caller must return right after; its exit code is not sent).
 * 0, or -1 with err (no such key). */
int tlo_service_attach(const char *key, tlo_error *err);
/* Sends signal sig (SIGTERM) to the child registered under key. */
int tlo_service_signal(const char *key, int sig, tlo_error *err);
/* Keeps id (the client's person, just unlocked with their passphrase) in
 * the service for minutes (1..10) for this client's OS user: until then
 * tlo_service_login_identity(name) gives it to this user's commands
 * without a passphrase. A new login of the same person replaces the old. */
struct tlo_vault_identity;
int tlo_service_login_keep(const struct tlo_vault_identity *id, unsigned minutes, tlo_error *err);
/* A copy of name's identity if this client's OS user has a login for name
 * that has not expired (free it with tlo_vault_identity_free), else NULL. */
struct tlo_vault_identity *tlo_service_login_identity(const char *name);
/* Ends this OS user's login of name (NULL: all its logins); *ended says how
 * many there were. */
int tlo_service_logout(const char *name, unsigned *ended, tlo_error *err);
/* The registered keys ("KEY OWNER" lines, malloc'd), for `record --attach`
 * without a session named. */
char *tlo_service_list(tlo_error *err);

#endif
