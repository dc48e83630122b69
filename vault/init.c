#include "vault.h"

#include <gcrypt.h>
#include <sodium.h>

/* libgcrypt needs its version check before any other call, and its secure
 * memory pool set up before the first cipher handle: the AEAD contexts that
 * hold derived object keys are opened with GCRY_CIPHER_SECURE. */
int tlo_vault_init(tlo_error *err)
{
    if (sodium_init() < 0)
        return tlo_fail(err, TLO_ECRYPTO, "libsodium failed to initialize");
    if (!gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P)) {
        if (!gcry_check_version("1.10.0"))
            return tlo_fail(err, TLO_ECRYPTO,
                            "libgcrypt is older than 1.10.0; install libgcrypt20 from Debian 12");
        gcry_control(GCRYCTL_DISABLE_SECMEM_WARN);
        gcry_control(GCRYCTL_INIT_SECMEM, 1 << 20, 0);
        gcry_control(GCRYCTL_INITIALIZATION_FINISHED, 0);
    }
    return 0;
}
