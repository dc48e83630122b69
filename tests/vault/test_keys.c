/* Case keys: generation, key ids, wrapping to a custodian and unwrapping. */
#include "testutil.h"
#include "vault.h"

#include <sodium.h>

int main(void)
{
    tlo_error err = {0};
    uint8_t pk[TLO_X25519_PK_BYTES], other_pk[TLO_X25519_PK_BYTES];
    uint8_t wrapped[TLO_WRAPPED_KEY_BYTES], kid1[TLO_KEYID_BYTES], kid2[TLO_KEYID_BYTES];

    CHECK(tlo_vault_init(&err) == 0);
    uint8_t *sk = sodium_malloc(TLO_X25519_SK_BYTES);
    uint8_t *other_sk = sodium_malloc(TLO_X25519_SK_BYTES);
    crypto_box_keypair(pk, sk);
    crypto_box_keypair(other_pk, other_sk);

    uint8_t *a = tlo_vault_key_generate(), *b = tlo_vault_key_generate();
    CHECK(a && b && sodium_memcmp(a, b, TLO_KEY_BYTES) != 0);

    /* The key id is stable, differs between keys, and is not the key. */
    tlo_vault_key_id(kid1, a);
    tlo_vault_key_id(kid2, a);
    CHECK(memcmp(kid1, kid2, sizeof kid1) == 0);
    tlo_vault_key_id(kid2, b);
    CHECK(memcmp(kid1, kid2, sizeof kid1) != 0);
    CHECK(memcmp(kid1, a, sizeof kid1) != 0);

    /* Wrap and unwrap. */
    uint8_t *back = tlo_vault_key_alloc();
    CHECK(tlo_vault_key_wrap(wrapped, a, pk, &err) == 0);
    CHECK(memmem(wrapped, sizeof wrapped, a, 8) == NULL);
    CHECK(tlo_vault_key_unwrap(back, wrapped, pk, sk, &err) == 0);
    CHECK(sodium_memcmp(back, a, TLO_KEY_BYTES) == 0);
    /* Two wraps of the same key differ (ephemeral sender key). */
    uint8_t wrapped2[TLO_WRAPPED_KEY_BYTES];
    CHECK(tlo_vault_key_wrap(wrapped2, a, pk, &err) == 0);
    CHECK(memcmp(wrapped, wrapped2, sizeof wrapped) != 0);

    /* Another custodian cannot unwrap; the output is wiped. */
    memset(back, 0x55, TLO_KEY_BYTES);
    CHECK_ERR(tlo_vault_key_unwrap(back, wrapped, other_pk, other_sk, &err), err, TLO_EWRONGKEY,
              "not wrapped to this custodian");
    CHECK(sodium_is_zero(back, TLO_KEY_BYTES));
    /* Every altered byte of the wrapped key is refused. */
    for (size_t i = 0; i < sizeof wrapped; i++) {
        wrapped[i] ^= 0x01;
        CHECK(tlo_vault_key_unwrap(back, wrapped, pk, sk, &err) == TLO_EWRONGKEY);
        CHECK(sodium_is_zero(back, TLO_KEY_BYTES));
        wrapped[i] ^= 0x01;
    }
    CHECK(tlo_vault_key_unwrap(back, wrapped, pk, sk, &err) == 0);
    CHECK(tlo_vault_key_unwrap(NULL, wrapped, pk, sk, &err) == TLO_EARG);

    /* Random ids differ. */
    uint8_t id1[TLO_ID_BYTES], id2[TLO_ID_BYTES];
    tlo_vault_random_id(id1);
    tlo_vault_random_id(id2);
    CHECK(memcmp(id1, id2, sizeof id1) != 0);

    tlo_vault_key_free(a);
    tlo_vault_key_free(b);
    tlo_vault_key_free(back);
    tlo_vault_key_free(NULL);
    sodium_free(sk);
    sodium_free(other_sk);
    return tu_finish("vault_keys");
}
