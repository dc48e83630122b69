#include "vault.h"

#include <errno.h>
#include <sodium.h>
#include <string.h>
#include <unistd.h>

uint8_t *tlo_vault_key_alloc(void)
{
    uint8_t *k = sodium_malloc(TLO_KEY_BYTES);
    if (k)
        sodium_memzero(k, TLO_KEY_BYTES);
    return k;
}

uint8_t *tlo_vault_key_generate(void)
{
    uint8_t *k = sodium_malloc(TLO_KEY_BYTES);
    if (k)
        randombytes_buf(k, TLO_KEY_BYTES);
    return k;
}

void tlo_vault_key_free(uint8_t *key)
{
    sodium_free(key); /* wipes before freeing; NULL-safe */
}

char *tlo_vault_secret_line(int fd, size_t *len)
{
    char *buf = sodium_malloc(TLO_SECRET_LINE_MAX + 1);
    size_t n = 0;
    *len = 0;
    if (!buf)
        return NULL;
    while (n < TLO_SECRET_LINE_MAX) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == '\n')
            break;
        buf[n++] = c;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    *len = n;
    return buf;
}

void tlo_vault_key_id(uint8_t out[static TLO_KEYID_BYTES], const uint8_t key[static TLO_KEY_BYTES])
{
    static const char label[] = "tellonce/v1 key id";
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;

    crypto_auth_hmacsha256_init(&st, key, TLO_KEY_BYTES);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)label, sizeof label - 1);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, mac, TLO_KEYID_BYTES);
    sodium_memzero(&st, sizeof st);
}

void tlo_vault_random_id(uint8_t id[static TLO_ID_BYTES])
{
    randombytes_buf(id, TLO_ID_BYTES);
}

int tlo_vault_key_wrap(uint8_t out[static TLO_WRAPPED_KEY_BYTES],
                       const uint8_t case_key[static TLO_KEY_BYTES],
                       const uint8_t custodian_pk[static TLO_X25519_PK_BYTES], tlo_error *err)
{
    memset(out, 0, TLO_WRAPPED_KEY_BYTES);
    if (crypto_box_seal(out, case_key, TLO_KEY_BYTES, custodian_pk) != 0)
        return tlo_fail(err, TLO_ECRYPTO, "cannot wrap the case key: the custodian key is invalid");
    return 0;
}

int tlo_vault_key_unwrap(uint8_t *case_key_out, const uint8_t wrapped[static TLO_WRAPPED_KEY_BYTES],
                         const uint8_t custodian_pk[static TLO_X25519_PK_BYTES],
                         const uint8_t *custodian_sk, tlo_error *err)
{
    if (!case_key_out || !custodian_sk)
        return tlo_fail(err, TLO_EARG, "tlo_vault_key_unwrap: missing key buffer");
    if (crypto_box_seal_open(case_key_out, wrapped, TLO_WRAPPED_KEY_BYTES, custodian_pk,
                             custodian_sk) != 0) {
        sodium_memzero(case_key_out, TLO_KEY_BYTES);
        return tlo_fail(err, TLO_EWRONGKEY,
                        "cannot unwrap the case key: it was not wrapped to this custodian, "
                        "or the wrapped key was altered");
    }
    return 0;
}
