/* For tables, in the reader's language (cli/text.c). The ledger, JSON and
 * CSV keep chain/entry.c's English names. */
#ifndef TLO_CLI_TEXT_H
#define TLO_CLI_TEXT_H

#include "custody.h"

#include <stddef.h>

/* roles by name, translated and joined ("admin, auditor"). */
void cli_roles_text(unsigned roles, char *out, size_t cap);
/* A person with their roles ("Anna Admin (admin)"), "the custodian" or "an
 * unknown key" (p NULL). */
void cli_person_text(const tlo_custody_person *p, char *out, size_t cap);
/* Who may take a, clause by clause (tlo_custody_act_who in the reader's
 * language; refusals in the ledger keep the English). */
void cli_act_who(tlo_custody_act a, char *out, size_t cap);

#endif
