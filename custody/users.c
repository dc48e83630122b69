/* Enrolling and revoking people: ledger entries signed by an administrator.
 *
 *   user-add     box_pk=HEX64 name=NAME pk=HEX64 roles=R[,R...]
 *   user-revoke  pk=HEX64 reason=TEXT
 * A person's identity file is people/KEYID.id, locked with their passphrase.
 * Revocation ends a person's right to sign; what they signed before stays
 * valid. */
#include "internal.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ADMIN_ROLE_TEXT "administrator (only administrators enrol and revoke people)"

int tlo_custody_user_add_check(tlo_custody *v, const char *name, tlo_error *err)
{
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    if (tlo_custody_person_by_name(v, name))
        return tlo_fail(err, TLO_EARG,
                        "'%s' is already enrolled in this vault; choose a name that tells people "
                        "apart",
                        name);
    tlo_vault_identity *id = tlo_vault_identity_generate(name, err);
    if (!id)
        return err && err->code ? err->code : TLO_EARG;
    tlo_vault_identity_free(id);
    return 0;
}

int tlo_custody_user_add(tlo_custody *v, const tlo_vault_identity *admin,
                         const tlo_custody_user_params *p, tlo_custody_enrolment *out,
                         tlo_error *err)
{
    char file[64], pk[65], box[65], roles[200], body[1024];
    tlo_vault_identity *person = NULL;
    char *path = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!p->roles)
        return tlo_fail(err, TLO_EARG, "a person needs at least one role");
    if ((rc = tlo_custody_user_add_check(v, p->name, err)) != 0 ||
        (rc = custody_check_actor(v, admin, TLO_ROLE_ADMIN, ADMIN_ROLE_TEXT, NULL, err)) != 0)
        return rc;
    if (!(person = tlo_vault_identity_generate(p->name, err)))
        return err && err->code ? err->code : TLO_EARG;
    tlo_vault_identity_key_id(out->key_id, person);
    snprintf(file, sizeof file, "people/%s.id", out->key_id);
    if (!(path = tlo_custody_path(v, file))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory enrolling %s", p->name);
        goto out;
    }
    if ((rc = tlo_vault_identity_save(person, path, p->passphrase, p->passphrase_len, p->kdf,
                                      err)) != 0)
        goto out;
    tlo_roles_format(p->roles, ",", roles, sizeof roles); /* as the ledger spells it */
    tlo_hex(pk, person->sign_pk, 32);
    tlo_hex(box, person->box_pk, 32);
    snprintf(body, sizeof body, "box_pk=%s\nname=%s\npk=%s\nroles=%s\n", box, p->name, pk, roles);
    if ((rc = custody_append(v, admin, TLO_ENTRY_USER_ADD, NULL, body, &out->seq, err)) != 0)
        unlink(path); /* not enrolled: the identity must not linger */
    else
        rc = custody_seal(v, err); /* enrolled: the identity stays */
out:
    if (rc)
        memset(out, 0, sizeof *out);
    tlo_vault_identity_free(person);
    free(path);
    return rc;
}

int tlo_custody_user_revoke_check(tlo_custody *v, const char *name, const tlo_custody_person **out,
                                  tlo_error *err)
{
    int rc = tlo_custody_people(v, NULL, NULL, err);
    *out = NULL;
    if (rc)
        return rc;
    const tlo_custody_person *p = tlo_custody_person_by_name(v, name);
    if (!p || (p->roles & TLO_ROLE_CUSTODIAN))
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody named '%s' is enrolled (and not yet revoked) in this vault", name);
    *out = p;
    return 0;
}

int tlo_custody_user_revoke(tlo_custody *v, const tlo_vault_identity *admin, const char *name,
                            const char *reason, uint64_t *seq, tlo_error *err)
{
    const tlo_custody_person *p;
    char pk[65], body[1024], clean[512];
    size_t k = 0;
    int rc = tlo_custody_user_revoke_check(v, name, &p, err);
    if (rc || (rc = custody_check_actor(v, admin, TLO_ROLE_ADMIN, ADMIN_ROLE_TEXT, NULL, err)) != 0)
        return rc;
    for (const char *r = reason ? reason : ""; *r && k + 1 < sizeof clean; r++)
        clean[k++] = (*r == '\n' || *r == '\r' || *r == '\t') ? ' ' : *r;
    clean[k] = '\0';
    tlo_hex(pk, p->pk, 32);
    snprintf(body, sizeof body, "pk=%s\nreason=%s\n", pk, clean);
    return custody_seal_end(
        v, custody_append(v, admin, TLO_ENTRY_USER_REVOKE, NULL, body, seq, err), err);
}
