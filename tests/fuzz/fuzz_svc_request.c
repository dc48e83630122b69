/* Fuzz harness: the request a client of the custodian service sends
 * (service/proto.h) comes from any OS user in the service's group. A parsed
 * request formats to text that parses to the same request, and every field
 * stays within its bounds. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static void same(const tlo_svc_request *a, const tlo_svc_request *b)
{
    if (strcmp(a->nonce, b->nonce) || a->tty != b->tty || a->rows != b->rows ||
        a->cols != b->cols || strcmp(a->term, b->term) || a->files != b->files ||
        a->secret != b->secret || a->argc != b->argc)
        abort();
    for (int i = 0; i < a->argc; i++)
        if (strcmp(a->argv[i], b->argv[i]))
            abort();
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++)
        if (strcmp(a->locale[i], b->locale[i]) ||
            (a->locale[i][0] && !tlo_svc_locale_ok(i, a->locale[i], strlen(a->locale[i]))))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlo_svc_request r, back;
    tlo_error err;
    if (tlo_svc_request_parse(data, size, &r, &err) != 0) {
        if (r.argv || r.argc)
            abort(); /* a failed parse left memory behind */
        return 0;
    }
    if (r.argc < 1 || r.argc > TLO_SVC_ARGS_MAX || strlen(r.nonce) != TLO_SVC_NONCE_HEX ||
        r.files > TLO_SVC_FDS_MAX || r.rows > 10000 || r.cols > 10000 || r.argv[r.argc])
        abort();
    for (int i = 0; i < r.argc; i++)
        if (strlen(r.argv[i]) > TLO_SVC_ARG_MAX)
            abort();
    size_t n;
    char *text = tlo_svc_request_format(&r, &n, &err);
    if (!text || tlo_svc_request_parse((const uint8_t *)text, n, &back, &err) != 0)
        abort(); /* what was read can be said again */
    same(&r, &back);
    free(text);
    tlo_svc_request_free(&r);
    tlo_svc_request_free(&back);
    return 0;
}

/* Seeds: a terminal client's play, a script's log, one with files and a
 * passphrase, a Chinese argument, a client's locale. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const char *const seeds[] = {
        "nonce=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\ntty=1\nrows=40\n"
        "cols=120\nterm=xterm-256color\nfiles=0\nsecret=0\narg=play\narg=CASE-1\narg=--as\n"
        "arg=Wang Fang\n",
        "nonce=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\ntty=0\nrows=0\n"
        "cols=0\nterm=\nfiles=0\nsecret=0\narg=log\n",
        "nonce=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\ntty=0\nrows=0\n"
        "cols=0\nterm=\nlang=zh_CN.UTF-8\nlanguage=zh_CN:en\nfiles=0\nsecret=0\narg=log\n",
        "nonce=00000000000000000000000000000000000000000000000000000000000000aa\ntty=0\nrows=0\n"
        "cols=0\nterm=\nfiles=2\nsecret=1\narg=export\narg=2026-刑-0042\narg=--output\n"
        "arg=clip.mp4\narg=--passphrase-file\narg=p.pass\narg=\n",
    };
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++)
        if (emit(ctx, (const uint8_t *)seeds[i], strlen(seeds[i])) != 0)
            return 1;
    return 0;
}
