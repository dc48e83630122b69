/* Shared pieces of the --json outputs (docs/json.md): one spelling for the
 * same value everywhere. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

/* roles (TLO_ROLE_* bits) as a JSON array of role names, ["admin","prosecutor"]. */
void cli_json_roles(FILE *f, unsigned roles)
{
    char text[200];
    tlo_roles_format(roles, ",", text, sizeof text);
    fputc('[', f);
    bool first = true;
    for (char *p = text, *save = NULL, *r; (r = strtok_r(p, ",", &save)); p = NULL) {
        fprintf(f, "%s\"%s\"", first ? "" : ",", r);
        first = false;
    }
    fputc(']', f);
}
