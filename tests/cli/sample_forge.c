/* Test helper for test_sample.sh: appends one entry to a vault's ledger
 * signed by a person's own key, the way no tellonce verb would (a forged
 * sample chain: the signer's roles pass the ledger's rules, the custody
 * rules are broken). The entry is appended durably and nothing else is
 * done (no checkpoint).
 *
 * usage: sample_forge VAULT NAME PASSFILE KIND CASE_HEX KEY=VALUE...
 * (KEY=VALUE lines in increasing key order; the body is them, each with
 * "\n"). Prints the new entry's number. */
#include "custody.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    tlo_error err = {0};
    tlo_custody *v = NULL;
    tlo_vault_identity *id = NULL;
    char pass[256], body[8192] = "";
    uint8_t case_id[TLO_ID_BYTES];
    uint64_t kind, seq = 0;
    size_t used = 0;
    if (argc < 7 || tlo_parse_u64(argv[4], &kind) != 0 || kind > 0xffff ||
        tlo_unhex(case_id, sizeof case_id, argv[5]) != 0) {
        fprintf(stderr, "usage: sample_forge VAULT NAME PASSFILE KIND CASE_HEX KEY=VALUE...\n");
        return 2;
    }
    for (int i = 6; i < argc; i++) {
        int n = snprintf(body + used, sizeof body - used, "%s\n", argv[i]);
        if (n < 0 || (size_t)n >= sizeof body - used)
            return 2;
        used += (size_t)n;
    }
    FILE *f = fopen(argv[3], "r");
    if (!f || !fgets(pass, sizeof pass, f)) {
        fprintf(stderr, "sample_forge: cannot read %s\n", argv[3]);
        return 2;
    }
    fclose(f);
    pass[strcspn(pass, "\n")] = '\0';
    if (tlo_vault_init(&err) != 0 || tlo_custody_open(argv[1], false, &v, &err) != 0 ||
        tlo_custody_unlock(v, argv[2], pass, strlen(pass), TLO_ROLES_PERSON, "person", &id, &err) !=
            0) {
        fprintf(stderr, "sample_forge: %s\n", err.msg);
        tlo_custody_close(v);
        return 1;
    }
    tlo_chain_draft d = {
        .kind = (uint16_t)kind, .has_case = true, .body = (const uint8_t *)body, .body_len = used};
    memcpy(d.case_id, case_id, sizeof case_id);
    tlo_chain_signer s = {.sk = id->sign_sk};
    memcpy(s.pk, id->sign_pk, 32);
    int rc = tlo_chain_append(tlo_custody_chain(v), &d, 1, &s, &seq, &err);
    if (rc)
        fprintf(stderr, "sample_forge: %s\n", err.msg);
    else
        printf("%llu\n", (unsigned long long)seq);
    sodium_memzero(pass, sizeof pass);
    tlo_vault_identity_free(id);
    tlo_custody_close(v);
    return rc ? 1 : 0;
}
