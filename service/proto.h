/* The custodian service's wire format (docs/service.md, "Protocol").
 *
 * Client and service talk over a Unix stream socket in frames: one byte of
 * type, a 32-bit big-endian length, then that many bytes (at most
 * TLO_SVC_FRAME_MAX). File descriptors ride on a frame as SCM_RIGHTS
 * ancillary data (at most TLO_SVC_FDS_MAX). Every length is checked before
 * anything is allocated: the other end is hostile input either way. */
#ifndef TLO_SERVICE_PROTO_H
#define TLO_SERVICE_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_SVC_FRAME_MAX (1u << 20)
#define TLO_SVC_FDS_MAX 16
#define TLO_SVC_ARGS_MAX 256
#define TLO_SVC_ARG_MAX 4096
#define TLO_SVC_NONCE_HEX 64
/* A request must arrive within this long after the hello that gave its
 * nonce; later it is stale (refused and logged). */
#define TLO_SVC_NONCE_TTL_MS 60000

/* Frame types. Service -> client: */
#define TLO_SVC_HELLO 'H'   /* "tellonce-service 1\nnonce=HEX\ntime_ms=N\n" [notice=TEXT\n]... */
#define TLO_SVC_STDOUT 'O'  /* the command's standard output (all output on a pty) */
#define TLO_SVC_STDERR 'X'  /* its standard error */
#define TLO_SVC_DATA 'D'    /* for the client part of a command (play), with fds */
#define TLO_SVC_NOTICE 'N'  /* a line the client prints on its standard error */
#define TLO_SVC_MODE 'M'    /* "tty=0|1\n": the terminal mode of a session attached to */
#define TLO_SVC_PREVIEW 'V' /* a JPEG frame of a recording's live monitor (never evidence) */
#define TLO_SVC_EXIT 'Q'    /* "code=N\n": the command ended */
/* Client -> service: */
#define TLO_SVC_REQUEST 'R' /* see tlo_svc_request */
#define TLO_SVC_STDIN 'I'   /* bytes for the command's standard input */
#define TLO_SVC_EOF 'e'     /* standard input ended */
#define TLO_SVC_WINSIZE 'W' /* "ROWS COLS" */
#define TLO_SVC_SECRET 'S'  /* the passphrase the client was given ($TELLONCE_PASSPHRASE) */
#define TLO_SVC_FILE 'F'    /* "arg=INDEX\n" + one fd for the file argv[INDEX] names */

typedef struct tlo_svc_frame {
    char type;
    uint32_t len;
    uint8_t *data; /* len bytes + a NUL, malloc'd (sodium_malloc for SECRET) */
    int fds[TLO_SVC_FDS_MAX];
    size_t nfds;
} tlo_svc_frame;

/* Sends one frame (and fds). 0, or -1 with errno. MSG_NOSIGNAL: a vanished
 * peer is EPIPE, never a signal. On a non-blocking socket it waits up to
 * 10 s each time the peer's buffer is full (then ETIMEDOUT). */
int tlo_svc_send(int sock, char type, const void *data, size_t len, const int *fds, size_t nfds);
/* Sends one frame only if all of it fits in the socket's buffer now; -1
 * (EAGAIN) otherwise, when part of it may have gone: the caller must then
 * drop the connection. For a live recording, which never waits for a slow
 * client. */
int tlo_svc_send_nowait(int sock, char type, const void *data, size_t len);
/* True if a frame of len bytes fits into sock's send buffer now with
 * reserve bytes to spare (what is queued, SIOCOUTQ, against SO_SNDBUF), so
 * a tlo_svc_send_nowait of it cannot be cut short. For what may be skipped
 * (a monitor frame), never for what must arrive. */
bool tlo_svc_has_room(int sock, size_t len, size_t reserve);
/* Receives one frame. 1: got it; 0: the peer closed cleanly before a frame;
 * -1: errno (EPROTO for a frame that breaks the format, EMSGSIZE for one too
 * long, EBADMSG for more fds than allowed). f is zeroed first. */
int tlo_svc_recv(int sock, tlo_svc_frame *f);
/* Frees the payload and closes the fds not taken (set to -1 when taken). */
void tlo_svc_frame_free(tlo_svc_frame *f);

/* The environment variables of a client's language, in the order of
 * tlo_svc_request.locale, and the request keys they go as. */
#define TLO_SVC_LOCALE_VARS 4
#define TLO_SVC_LOCALE_MAX 64

/* A client's request: the nonce it was given, its terminal, the command. */
typedef struct tlo_svc_request {
    char nonce[TLO_SVC_NONCE_HEX + 1];
    bool tty;
    unsigned rows, cols;
    char term[64];
    /* The client's language (docs/i18n.md): its LANG, LC_ALL, LC_MESSAGES,
     * LANGUAGE, each "" or a name tlo_svc_locale_ok takes. The child runs
     * the command in it. */
    char locale[TLO_SVC_LOCALE_VARS][TLO_SVC_LOCALE_MAX + 1];
    unsigned files; /* FILE frames that follow */
    bool secret;    /* a SECRET frame follows */
    int argc;       /* >= 1 */
    char **argv;    /* argc strings + NULL, malloc'd */
} tlo_svc_request;

extern const char *const tlo_svc_locale_env[TLO_SVC_LOCALE_VARS]; /* "LANG", ... */
extern const char *const tlo_svc_locale_key[TLO_SVC_LOCALE_VARS]; /* "lang", ... */
/* True for a value of variable i (0..3) the service applies: 1 to 64 of
 * [A-Za-z0-9_.@-] ("zh_CN.UTF-8", "C"); LANGUAGE may also hold ':'
 * ("zh_CN:en"). Never a path: the service's own catalogues are used. */
bool tlo_svc_locale_ok(int i, const char *v, size_t n);

/* Parses a REQUEST payload: "key=value\n" lines, keys nonce (64 hex), tty
 * (0/1), rows, cols (0..10000), term (at most 63 printable bytes), lang,
 * lc_all, lc_messages, language (each once, tlo_svc_locale_ok), files
 * (0..16), secret (0/1), then one "arg=VALUE" line per argument (1 to
 * TLO_SVC_ARGS_MAX, each at most TLO_SVC_ARG_MAX bytes, no control
 * characters). Anything else is refused with the reason in err. */
int tlo_svc_request_parse(const uint8_t *p, size_t n, tlo_svc_request *out, tlo_error *err);
void tlo_svc_request_free(tlo_svc_request *r);
/* Formats one (the client's side). malloc'd text, *len its length; NULL when
 * an argument holds a control character or is too long (err says which). */
char *tlo_svc_request_format(const tlo_svc_request *r, size_t *len, tlo_error *err);

#endif
