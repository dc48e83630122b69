/* Fuzz harness: a request to the custodian (custody.h) is hostile input: it
 * will arrive over a socket from any process. A decoded request must encode
 * back to the same bytes (one encoding per meaning), and its signed text must
 * be a prefix of those bytes (what is signed is what was sent). */
#include "custody.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[TLO_CUSTODY_REQUEST_MAX + 1], text[TLO_CUSTODY_REQUEST_MAX + 1];
    tlo_custody_request r;
    tlo_error err;
    if (sodium_init() < 0)
        abort();
    if (tlo_custody_request_decode((const char *)data, size, &r, &err) != 0) {
        static const tlo_custody_request zero;
        if (memcmp(&r, &zero, sizeof r) != 0)
            abort(); /* a failed decode left fields behind */
        return 0;
    }
    size_t n = tlo_custody_request_encode(&r, out, sizeof out);
    if (n != size || memcmp(out, data, size) != 0)
        abort(); /* two encodings of one request */
    size_t t = tlo_custody_request_signed_text(&r, text, sizeof text);
    if (t == 0 || t >= n || memcmp(text, data, t) != 0)
        abort();
    /* What the custodian does next with a decoded request: check its
     * signature over the signed text (must not crash on any key bytes). */
    (void)!crypto_sign_verify_detached(r.sig, (const uint8_t *)text, t, r.actor_pk);
    return 0;
}

/* Seeds: a view and an export request, signed, one with a Chinese purpose. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const char *purposes[] = {"", "起诉审查 review", "court hearing 2026-12-01"};
    uint8_t pk[32], *sk = sodium_malloc(64);
    char buf[TLO_CUSTODY_REQUEST_MAX], text[TLO_CUSTODY_REQUEST_MAX];
    int rc = 0;
    if (sodium_init() < 0 || !sk)
        return 1;
    crypto_sign_keypair(pk, sk);
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        tlo_custody_request r = {.action = i == 1 ? TLO_CUSTODY_EXPORT : TLO_CUSTODY_VIEW,
                                 .from_ms = 1000 * i,
                                 .to_ms = 12000 + i,
                                 .time_ms = 1764400000000 + i};
        memset(r.case_id, 0xa0 + (int)i, sizeof r.case_id);
        memcpy(r.session, "0123456789abcdef0123456789abcdef", 33);
        strcpy(r.purpose, purposes[i]);
        memcpy(r.actor_pk, pk, 32);
        size_t t = tlo_custody_request_signed_text(&r, text, sizeof text);
        crypto_sign_detached(r.sig, NULL, (const uint8_t *)text, t, sk);
        size_t n = tlo_custody_request_encode(&r, buf, sizeof buf);
        rc = n ? emit(ctx, (const uint8_t *)buf, n) : 1;
    }
    sodium_free(sk);
    return rc;
}
