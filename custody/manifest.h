/* What export.c and manifest.c share (not public: custody.h is). */
#ifndef TLO_CUSTODY_MANIFEST_H
#define TLO_CUSTODY_MANIFEST_H

#include "custody.h"

/* "HH:MM:SS.mmm" on the session clock. */
void custody_ms_text(char *out, size_t cap, uint64_t ms);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void custody_utc_text(char *out, size_t cap, uint64_t ms);

#endif
