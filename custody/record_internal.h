/* What record.c, mark.c and recover.c share (no front end sees it). */
#ifndef TLO_CUSTODY_RECORD_INTERNAL_H
#define TLO_CUSTODY_RECORD_INTERNAL_H

#include "internal.h"

/* The custodian releases the key of cs into *key (tlo_vault_key_free it).
 * Call it only after the entry that logs why. A key that cannot be released
 * means an incomplete vault: TLO_EFORMAT with the reason (or TLO_ENOMEM). */
int custody_release_key(tlo_custody *v, const tlo_custody_case *cs, uint8_t **key, tlo_error *err);

#endif
