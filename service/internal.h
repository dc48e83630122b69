/* Between the service's parent (daemon.c) and its children (child.c). */
#ifndef TLO_SERVICE_INTERNAL_H
#define TLO_SERVICE_INTERNAL_H

#include "proto.h"
#include "service.h"
#include "vault.h"

#include <sys/types.h>

/* What the parent gives a child it forked for a connection. */
typedef struct svc_child_args {
    const tlo_service_config *cfg;
    int conn; /* the client's connection */
    int req;  /* control socket: requests to the parent, answered */
    int push; /* control socket: the parent's unasked messages (attach) */
    tlo_service_peer peer;
    const char *refuse;  /* non-NULL: refuse the client for this reason */
    const char *notices; /* lines for this client first, or NULL */
    pid_t parent;        /* the service's pid */
} svc_child_args;

/* A login (tellonce login): a person's unlocked identity, kept by the
 * parent for one OS user for a bounded time (docs/service.md). A child
 * inherits the table at fork and at once wipes every entry not for its
 * client's uid. */
#define SVC_LOGINS_MAX 64
#define SVC_LOGIN_MAX_MINUTES 10
typedef struct svc_login {
    uid_t uid;
    uint64_t until_ms; /* CLOCK_MONOTONIC */
    tlo_vault_identity *id;
} svc_login;
extern svc_login svc_logins[SVC_LOGINS_MAX];
void svc_login_wipe(svc_login *l);
uint64_t svc_mono_ms(void);

/* The child's whole life; never returns. */
_Noreturn void svc_child_main(const svc_child_args *a);

/* One message on a control socket (SOCK_SEQPACKET): text (at most 4 KiB)
 * and at most one fd. 0 or -1. */
int svc_ctl_send(int sock, const char *text, int fd);
/* > 0: length received (text NUL-terminated in buf), *fd the fd or -1;
 * 0: closed; -1: error. */
ssize_t svc_ctl_recv(int sock, char *buf, size_t cap, int *fd);

#endif
