/* Test helper for test_sample.sh: appends one entry to a vault's ledger
 * signed by a person's own key, the way no tellonce verb would (a forged
 * sample chain: the signer's roles pass the ledger's rules, the custody
 * rules are broken). The entry is appended durably and nothing else is
 * done (no checkpoint).
 *
 * usage: sample_forge VAULT NAME PASSFILE KIND CASE_HEX KEY=VALUE...
 * (KEY=VALUE lines in increasing key order; the body is them, each with
 * "\n"). Prints the new entry's number.
 *
 * usage: sample_forge VAULT NAME PASSFILE pairs CASE_HEX LABEL OTHER N
 * appends N valid hand-overs of LABEL (held by NAME) between NAME and
 * OTHER (same passphrase): a transfer and its receipt each, what 'sample
 * transfer' and 'sample receive' would write, quickly. Prints the last
 * entry's number. */
#include "custody.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tlo_vault_identity *unlock(tlo_custody *v, const char *name, const char *pass)
{
    tlo_error err = {0};
    tlo_vault_identity *id = NULL;
    if (tlo_custody_unlock(v, name, pass, strlen(pass), TLO_ROLES_PERSON, "person", &id, &err) != 0)
        fprintf(stderr, "sample_forge: %s\n", err.msg);
    return id;
}

static int append(tlo_custody *v, const tlo_vault_identity *id, uint16_t kind,
                  const uint8_t *case_id, const char *body, uint64_t *seq)
{
    tlo_error err = {0};
    tlo_chain_draft d = {
        .kind = kind, .has_case = true, .body = (const uint8_t *)body, .body_len = strlen(body)};
    memcpy(d.case_id, case_id, TLO_ID_BYTES);
    tlo_chain_signer s = {.sk = id->sign_sk};
    memcpy(s.pk, id->sign_pk, 32);
    int rc = tlo_chain_append(tlo_custody_chain(v), &d, 1, &s, seq, &err);
    if (rc)
        fprintf(stderr, "sample_forge: %s\n", err.msg);
    return rc;
}

/* NAME and OTHER hand LABEL to each other N times. */
static int pairs(char **argv)
{
    tlo_error err = {0};
    tlo_custody *v = NULL;
    tlo_vault_identity *who[2] = {NULL, NULL};
    const tlo_custody_person *p[2];
    char pass[256], body[1024], pk[2][65];
    uint8_t case_id[TLO_ID_BYTES];
    uint64_t n, seq = 0;
    int rc = 1;
    FILE *f = fopen(argv[3], "r");
    if (tlo_parse_u64(argv[8], &n) != 0 || tlo_unhex(case_id, sizeof case_id, argv[5]) != 0 || !f ||
        !fgets(pass, sizeof pass, f)) {
        fprintf(stderr, "usage: sample_forge VAULT NAME PASSFILE pairs CASE_HEX LABEL OTHER N\n");
        if (f)
            fclose(f);
        return 2;
    }
    fclose(f);
    pass[strcspn(pass, "\n")] = '\0';
    if (tlo_vault_init(&err) != 0 || tlo_custody_open(argv[1], false, &v, &err) != 0) {
        fprintf(stderr, "sample_forge: %s\n", err.msg);
        goto out;
    }
    if (!(who[0] = unlock(v, argv[2], pass)) || !(who[1] = unlock(v, argv[7], pass)) ||
        !(p[0] = tlo_custody_person_by_name(v, argv[2])) ||
        !(p[1] = tlo_custody_person_by_name(v, argv[7])))
        goto out;
    tlo_hex(pk[0], p[0]->pk, 32);
    tlo_hex(pk[1], p[1]->pk, 32);
    rc = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        int from = (int)(i % 2), to = 1 - from;
        snprintf(body, sizeof body, "label=%s\nto=%s\nto_name=%s\n", argv[6], pk[to], p[to]->name);
        rc = append(v, who[from], 51, case_id, body, &seq);
        snprintf(body, sizeof body, "label=%s\nseal_intact=yes\ntransfer=%llu\n", argv[6],
                 (unsigned long long)seq);
        if (rc == 0)
            rc = append(v, who[to], 54, case_id, body, &seq);
    }
    if (rc == 0)
        printf("%llu\n", (unsigned long long)seq);
out:
    sodium_memzero(pass, sizeof pass);
    tlo_vault_identity_free(who[0]);
    tlo_vault_identity_free(who[1]);
    tlo_custody_close(v);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    tlo_error err = {0};
    tlo_custody *v = NULL;
    tlo_vault_identity *id = NULL;
    char pass[256], body[8192] = "";
    uint8_t case_id[TLO_ID_BYTES];
    uint64_t kind, seq = 0;
    size_t used = 0;
    if (argc == 9 && !strcmp(argv[4], "pairs"))
        return pairs(argv);
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
