/* Helpers shared by the files of vault/ and nothing else. */
#ifndef TLO_VAULT_INTERNAL_H
#define TLO_VAULT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* HKDF-SHA-256 (RFC 5869) built on libsodium's HMAC-SHA-256; every
 * intermediate secret is wiped. out_len at most 255*32. Returns 0 or -1. */
int vault_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
                      const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif
