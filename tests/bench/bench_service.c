/* bench_service: the round trip of one request through the custodian
 * service's socket, as a client sees it: connect, the hello and its nonce,
 * the request, every frame the command sends (for play --headless in the
 * service: the access entry logged durably, the checkpoint, the keys and
 * segment fds), up to its exit code. Run after 'tellonce login' of the
 * person the command names, so no passphrase is asked.
 * usage: bench_service SOCKET N COMMAND [ARGS...]
 * Prints p50, p90, p99, the worst and the mean, in ms. */
#include "proto.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One request; its exit code, or -1. */
static int once(const char *path, int argc, char **argv)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), code = -1;
    tlo_svc_frame f;
    tlo_error err = {0};
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("bench_service: connect");
        if (s >= 0)
            close(s);
        return -1;
    }
    int got = tlo_svc_recv(s, &f);
    if (got != 1 || f.type != TLO_SVC_HELLO) {
        fprintf(stderr, "bench_service: no hello (%s)\n", got < 0 ? strerror(errno) : "closed");
        close(s);
        return -1;
    }
    tlo_svc_request r = {.argc = argc, .argv = argv};
    const char *n = strstr((const char *)f.data, "nonce=");
    if (n)
        snprintf(r.nonce, sizeof r.nonce, "%.64s", n + 6);
    tlo_svc_frame_free(&f);
    size_t len;
    char *text = tlo_svc_request_format(&r, &len, &err);
    if (text && tlo_svc_send(s, TLO_SVC_REQUEST, text, len, NULL, 0) == 0 &&
        tlo_svc_send(s, TLO_SVC_EOF, NULL, 0, NULL, 0) == 0) {
        while (tlo_svc_recv(s, &f) == 1) {
            if (f.type == TLO_SVC_STDERR)
                fwrite(f.data, 1, f.len, stderr);
            if (f.type == TLO_SVC_EXIT) {
                code = atoi((const char *)f.data + 5);
                tlo_svc_frame_free(&f);
                break;
            }
            tlo_svc_frame_free(&f); /* closes the fds the service sent */
        }
    }
    if (code < 0)
        fprintf(stderr, "bench_service: the connection ended before the exit code\n");
    free(text);
    close(s);
    return code;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_service SOCKET N COMMAND [ARGS...]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    if (n < 1)
        return 2;
    double *t = calloc((size_t)n, sizeof *t), sum = 0;
    if (!t)
        return 3;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        int code = once(argv[1], argc - 3, argv + 3);
        t[i] = now_ms() - t0;
        if (code != 0) {
            fprintf(stderr, "bench_service: request %d ended with exit code %d\n", i, code);
            return 1;
        }
        sum += t[i];
    }
    qsort(t, (size_t)n, sizeof *t, cmp);
    printf("%d requests: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, worst %.2f ms, mean %.2f ms\n", n,
           t[n / 2], t[n * 9 / 10], t[n * 99 / 100], t[n - 1], sum / n);
    free(t);
    return 0;
}
