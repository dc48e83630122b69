/* Between the service's parent (daemon.c) and its children (child.c). */
#ifndef TLO_SERVICE_INTERNAL_H
#define TLO_SERVICE_INTERNAL_H

#include "proto.h"
#include "service.h"

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
} svc_child_args;

/* The child's whole life; never returns. */
_Noreturn void svc_child_main(const svc_child_args *a);

/* One message on a control socket (SOCK_SEQPACKET): text (at most 4 KiB)
 * and at most one fd. 0 or -1. */
int svc_ctl_send(int sock, const char *text, int fd);
/* > 0: length received (text NUL-terminated in buf), *fd the fd or -1;
 * 0: closed; -1: error. */
ssize_t svc_ctl_recv(int sock, char *buf, size_t cap, int *fd);

#endif
