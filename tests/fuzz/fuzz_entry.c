/* Fuzz harness: a ledger entry's encoding (chain/entry.h) is hostile input
 * (a ledger copied from elsewhere, a row edited by hand). A decoded entry must
 * encode back to the same bytes, and its body must pass the canonical check. */
#include "entry.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[TLO_ENTRY_MAX_BYTES];
    tlo_entry e;
    tlo_error err;
    size_t n;

    if (sodium_init() < 0)
        abort();
    /* The body checker alone, on the raw input. */
    if (tlo_entry_body_valid(data, size, NULL))
        (void)tlo_entry_body_get(data, size, "text", &n);
    if (tlo_entry_decode(data, size, &e, &err) != 0)
        return 0;
    if (!tlo_entry_body_valid(e.body, e.body_len, NULL))
        abort(); /* decode accepted a non-canonical body */
    n = tlo_entry_encode(&e, out, sizeof out);
    if (n != size || memcmp(out, data, size) != 0)
        abort(); /* two encodings of one entry */
    uint8_t pk[32] = {0}, leaf[32];
    (void)tlo_entry_verify(&e, pk);
    tlo_entry_leaf_hash(&e, leaf);
    return 0;
}

/* Seeds: a genesis-like entry and a marker with a case, both signed. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const char *bodies[] = {"admin.name=A\norigin=x\n", "at_ms=1000\ntext=警察 marker\n",
                                   ""};
    uint8_t pk[32], *sk = sodium_malloc(64), buf[1024];
    int rc = 0;
    if (sodium_init() < 0 || !sk)
        return 1;
    crypto_sign_keypair(pk, sk);
    for (size_t i = 0; i < 3 && rc == 0; i++) {
        tlo_entry e = {.seq = i,
                       .time_ms = 1764400000000 + i,
                       .kind = (uint16_t)(i == 0 ? TLO_ENTRY_GENESIS : TLO_ENTRY_MARKER),
                       .has_case = i == 1,
                       .body = (const uint8_t *)bodies[i],
                       .body_len = strlen(bodies[i])};
        e.case_id[0] = (uint8_t)(i == 1);
        if (tlo_entry_sign(&e, pk, sk, NULL) != 0)
            rc = 1;
        size_t n = tlo_entry_encode(&e, buf, sizeof buf);
        rc = rc ? rc : emit(ctx, buf, n);
    }
    sodium_free(sk);
    return rc;
}
