/* Enrolling and revoking people: ledger entries signed by an administrator;
 * activation by the person; the passphrase policy.
 *
 *   user-add        [activate_by_ms=MS] box_pk=HEX64 name=NAME pk=HEX64 roles=R[,R...]
 *   user-activated  name=NAME pk=HEX64          (signed by that key itself)
 *   user-revoke     pk=HEX64 reason=TEXT
 * A person's identity file is people/KEYID.id, locked with their passphrase.
 * Enrolled without one, it is locked with a one-time enrolment code that
 * only the administrator's terminal ever shows (never written, never
 * logged: the entry logs its deadline) until the person activates: they
 * open it with the code and lock it with a passphrase of their own, so
 * nobody else knows it. Revocation ends a person's right to sign; what they
 * signed before stays valid. */
#include "internal.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* name as it is enrolled (custody_text_norm), checked: 1 to
 * TLO_CUSTODY_NAME_CHARS characters of text, and no active person has a
 * name that differs from it only in case or spaces. */
static int add_check(tlo_custody *v, const char *name, tlo_error *err)
{
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    const tlo_custody_person *p = tlo_custody_person_by_name(v, name);
    if (p)
        return tlo_fail(err, TLO_EARG,
                        "'%s' is already enrolled in this vault; choose a name that tells people "
                        "apart",
                        p->name);
    if ((p = custody_person_like(v, name)))
        return tlo_fail(err, TLO_EARG,
                        "'%s' differs from '%s', who is enrolled already, only in case or spaces: "
                        "people would take one for the other; choose a name that tells them apart",
                        name, p->name);
    size_t chars = custody_text_chars(name);
    if (chars == 0 || chars > TLO_CUSTODY_NAME_CHARS)
        return tlo_fail(err, TLO_EARG, "a person's name is 1 to %d characters; '%s' has %zu",
                        TLO_CUSTODY_NAME_CHARS, name, chars);
    if (strlen(name) > TLO_NAME_MAX)
        return tlo_fail(err, TLO_EARG,
                        "'%s' is %zu characters, but too long for an identity file: characters "
                        "beyond U+FFFF (such as emoji) take twice the room; shorten it",
                        name, chars);
    tlo_vault_identity *id = tlo_vault_identity_generate(name, err);
    if (!id)
        return err && err->code ? err->code : TLO_EARG;
    tlo_vault_identity_free(id);
    return 0;
}

int tlo_custody_user_add_check(tlo_custody *v, const char *name, tlo_error *err)
{
    char *n = custody_text_norm(name);
    int rc =
        n ? add_check(v, n, err) : tlo_fail(err, TLO_ENOMEM, "out of memory enrolling %s", name);
    free(n);
    return rc;
}

/* ---- the passphrase policy ---------------------------------------------- */

/* Common passphrases of 12 characters or more (lists of leaked passwords:
 * English, Chinese pinyin and keyboard walks), compared ignoring ASCII case.
 * Shorter ones are refused by length. */
static const char *const common_passphrases[] = {
    "password1234",
    "password12345",
    "password123456",
    "passwordpassword",
    "password1234567",
    "123456789012",
    "1234567890123",
    "12345678901234",
    "123456123456",
    "123123123123",
    "111111111111",
    "000000000000",
    "121212121212",
    "123321123321",
    "qwertyuiopas",
    "qwertyuiop12",
    "qwertyuiop123",
    "qwerty123456",
    "1q2w3e4r5t6y",
    "1qaz2wsx3edc",
    "qazwsxedcrfv",
    "zaq12wsxcde3",
    "asdfghjkl123",
    "iloveyou1234",
    "iloveyouiloveyou",
    "abc123456789",
    "abcdefghijkl",
    "abcd12345678",
    "a1b2c3d4e5f6",
    "woaini1314520",
    "woaini520520",
    "aaaaaaaaaaaa",
    "letmein12345",
    "welcome12345",
    "adminadmin123",
    "administrator",
    "changeme1234",
    "passw0rd1234",
    "p@ssw0rd1234",
    "correcthorsebatterystaple",
    "correct horse battery staple",
    "trustno1trustno1",
    "monkey123456",
    "dragon123456",
    "football1234",
    "baseball1234",
    "sunshine1234",
    "princess1234",
    "superman1234",
    "starwars1234",
    "1234qwerasdf",
    "qwer1234asdf",
};

static bool same_ignoring_case(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

int tlo_custody_passphrase_check(const char *name, const char *pass, size_t len, tlo_error *err)
{
    size_t chars = 0, first = 0;
    bool repeated = true;
    /* Characters are UTF-8 code points: every byte but continuation bytes
     * starts one. */
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)pass[i] & 0xC0) != 0x80) {
            if (chars == 1)
                first = i;
            chars++;
        }
    if (chars < TLO_CUSTODY_PASSPHRASE_MIN)
        return tlo_fail(err, TLO_EARG,
                        "a passphrase needs at least %d characters; this one has %zu (a few words "
                        "you remember make a good one)",
                        TLO_CUSTODY_PASSPHRASE_MIN, chars);
    /* One character repeated: the first character's bytes again and again. */
    for (size_t i = first; i < len && repeated; i++)
        repeated = pass[i] == pass[i % first];
    if (repeated && len % first == 0)
        return tlo_fail(err, TLO_EARG,
                        "a passphrase of one character repeated is guessed at once; choose "
                        "another");
    if (name && same_ignoring_case(pass, len, name))
        return tlo_fail(err, TLO_EARG,
                        "a passphrase must not be the person's own name (%s); choose another",
                        name);
    for (size_t i = 0; i < sizeof common_passphrases / sizeof common_passphrases[0]; i++)
        if (same_ignoring_case(pass, len, common_passphrases[i]))
            return tlo_fail(err, TLO_EARG,
                            "this passphrase is one of the most common ones, which are tried "
                            "first; choose another");
    return 0;
}

/* ---- enrolment codes ------------------------------------------------------ */

static const char code_alphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";

/* A new code: raw (the 16 symbols, the identity's passphrase) and shown
 * (with dashes), both in secure memory of TLO_CUSTODY_CODE_TEXT bytes. */
static int new_code(char **raw, char **shown, tlo_error *err)
{
    uint8_t r[TLO_CUSTODY_CODE_SYMBOLS];
    *raw = sodium_malloc(TLO_CUSTODY_CODE_TEXT);
    *shown = sodium_malloc(TLO_CUSTODY_CODE_TEXT);
    if (!*raw || !*shown) {
        sodium_free(*raw);
        sodium_free(*shown);
        *raw = *shown = NULL;
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for an enrolment code");
    }
    randombytes_buf(r, sizeof r);
    size_t k = 0;
    for (size_t i = 0; i < TLO_CUSTODY_CODE_SYMBOLS; i++) {
        (*raw)[i] = code_alphabet[r[i] & 31]; /* 32 symbols: 5 uniform bits each */
        if (i && i % 4 == 0)
            (*shown)[k++] = '-';
        (*shown)[k++] = (*raw)[i];
    }
    sodium_memzero(r, sizeof r);
    (*raw)[TLO_CUSTODY_CODE_SYMBOLS] = '\0';
    (*shown)[k] = '\0';
    return 0;
}

/* The code as typed into its 16 symbols (out: TLO_CUSTODY_CODE_TEXT bytes):
 * letters in either case, dashes and spaces ignored. 0 or TLO_EARG. */
static int normalize_code(const char *in, size_t len, char *out, tlo_error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (k == TLO_CUSTODY_CODE_SYMBOLS || !c || !strchr(code_alphabet, c)) {
            sodium_memzero(out, TLO_CUSTODY_CODE_TEXT);
            return tlo_fail(err, TLO_EARG,
                            "an enrolment code is 16 letters and digits in groups of four "
                            "(XXXX-XXXX-XXXX-XXXX, without 0, O, 1 or I); check what you typed");
        }
        out[k++] = c;
    }
    out[k] = '\0';
    if (k != TLO_CUSTODY_CODE_SYMBOLS) {
        sodium_memzero(out, TLO_CUSTODY_CODE_TEXT);
        return tlo_fail(err, TLO_EARG,
                        "an enrolment code is 16 letters and digits in groups of four "
                        "(XXXX-XXXX-XXXX-XXXX); this one has %zu",
                        k);
    }
    return 0;
}

/* ---- replacing an identity file ------------------------------------------- */

/* Locks id's file (path) with pass: writes path.new (fsynced, with its
 * folder, by tlo_vault_identity_save), renames it over path, fsyncs the
 * folder. A process killed at any moment leaves path as it was or the new
 * file, never half of one; a path.new left behind is removed next time. */
static int relock(tlo_custody *v, const tlo_vault_identity *id, const char *path, const char *pass,
                  size_t len, tlo_vault_kdf_cost kdf, tlo_error *err)
{
    char *tmp = malloc(strlen(path) + 5), *dir = tlo_custody_path(v, "people");
    int rc = 0;
    if (!tmp || !dir) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory replacing %s", path);
        goto out;
    }
    sprintf(tmp, "%s.new", path);
    if (unlink(tmp) != 0 && errno != ENOENT) {
        rc = tlo_fail(err, TLO_EIO, "cannot remove %s, left by an interrupted command: %s", tmp,
                      strerror(errno));
        goto out;
    }
    if ((rc = tlo_vault_identity_save(id, tmp, pass, len, kdf, err)) != 0)
        goto out;
    custody_test_kill("relock-written");
    if (rename(tmp, path) != 0) {
        rc = tlo_fail(err, TLO_EIO,
                      "cannot replace %s with %s: %s; the old file is unchanged (check the "
                      "permissions of %s, then try again)",
                      path, tmp, strerror(errno), dir);
        unlink(tmp);
        goto out;
    }
    rc = custody_sync_dir(dir, err);
out:
    free(tmp);
    free(dir);
    return rc;
}

static int user_add(tlo_custody *v, const tlo_vault_identity *admin,
                    const tlo_custody_user_params *p, tlo_custody_enrolment *out, tlo_error *err);

int tlo_custody_user_add(tlo_custody *v, const tlo_vault_identity *admin,
                         const tlo_custody_user_params *p, tlo_custody_enrolment *out,
                         tlo_error *err)
{
    /* the name as it is enrolled: trimmed, NFC */
    tlo_custody_user_params q = *p;
    char *name = custody_text_norm(p->name);
    int rc;
    memset(out, 0, sizeof *out);
    if (!name)
        return tlo_fail(err, TLO_ENOMEM, "out of memory enrolling %s", p->name);
    q.name = name;
    rc = user_add(v, admin, &q, out, err);
    free(name);
    return rc;
}

static int user_add(tlo_custody *v, const tlo_vault_identity *admin,
                    const tlo_custody_user_params *p, tlo_custody_enrolment *out, tlo_error *err)
{
    char file[64], pk[65], box[65], roles[200], body[1200], by[40] = "";
    tlo_vault_identity *person = NULL;
    char *path = NULL, *raw = NULL, *shown = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!p->roles)
        return tlo_fail(err, TLO_EARG, "a person needs at least one role");
    if ((rc = add_check(v, p->name, err)) != 0 ||
        (rc = custody_check_act(v, admin, TLO_ACT_USER_ENROL, 0, NULL, NULL, err)) != 0)
        return rc;
    if (p->passphrase &&
        (rc = tlo_custody_passphrase_check(p->name, p->passphrase, p->passphrase_len, err)) != 0)
        return rc;
    if (!p->passphrase) {
        if ((rc = new_code(&raw, &shown, err)) != 0)
            return rc;
        out->activate_by_ms = tlo_custody_now_ms() + TLO_CUSTODY_CODE_VALID_MS;
        snprintf(by, sizeof by, "activate_by_ms=%llu\n", (unsigned long long)out->activate_by_ms);
    }
    if (!(person = tlo_vault_identity_generate(p->name, err))) {
        rc = err && err->code ? err->code : TLO_EARG;
        goto out;
    }
    tlo_vault_identity_key_id(out->key_id, person);
    snprintf(file, sizeof file, "people/%s.id", out->key_id);
    if (!(path = tlo_custody_path(v, file))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory enrolling %s", p->name);
        goto out;
    }
    if ((rc = tlo_vault_identity_save(person, path, raw ? raw : p->passphrase,
                                      raw ? TLO_CUSTODY_CODE_SYMBOLS : p->passphrase_len, p->kdf,
                                      err)) != 0)
        goto out;
    tlo_roles_format(p->roles, ",", roles, sizeof roles); /* as the ledger spells it */
    tlo_hex(pk, person->sign_pk, 32);
    tlo_hex(box, person->box_pk, 32);
    snprintf(body, sizeof body, "%sbox_pk=%s\nname=%s\npk=%s\nroles=%s\n", by, box, p->name, pk,
             roles);
    if ((rc = custody_append(v, admin, TLO_ENTRY_USER_ADD, NULL, body, &out->seq, err)) != 0)
        unlink(path); /* not enrolled: the identity must not linger */
    else
        rc = custody_seal(v, err); /* enrolled: the identity stays */
out:
    if (rc) {
        sodium_free(shown);
        memset(out, 0, sizeof *out);
    } else {
        out->code = shown;
    }
    sodium_free(raw);
    tlo_vault_identity_free(person);
    free(path);
    return rc;
}

/* ---- activation ------------------------------------------------------------ */

int tlo_custody_activation_check(tlo_custody *v, const char *name, const tlo_custody_person **out,
                                 tlo_error *err)
{
    int rc = tlo_custody_people(v, NULL, NULL, err);
    *out = NULL;
    if (rc)
        return rc;
    const tlo_custody_person *p = tlo_custody_person_by_name(v, name);
    if (!p || (p->roles & TLO_ROLE_CUSTODIAN))
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody named '%s' is enrolled (and not revoked) in this vault; see "
                        "'tellonce user list'",
                        name);
    if (!p->activate_by_ms)
        return tlo_fail(err, TLO_EARG,
                        "%s was enrolled with a passphrase, not an enrolment code: there is "
                        "nothing to activate ('tellonce passwd --as \"%s\"' changes it)",
                        name, name);
    if (p->activated_at >= 0)
        return tlo_fail(err, TLO_EARG,
                        "%s already activated their enrolment (ledger entry %lld): the code "
                        "opens nothing any more; 'tellonce passwd --as \"%s\"' changes the "
                        "passphrase",
                        name, (long long)p->activated_at, name);
    if (tlo_custody_now_ms() > p->activate_by_ms)
        return tlo_fail(err, TLO_EDENIED,
                        "the enrolment code of %s has expired (it was valid 24 h, until %llu ms "
                        "UTC): ask an administrator for a new code ('tellonce user add \"%s\" "
                        "--reissue')",
                        name, (unsigned long long)p->activate_by_ms, name);
    *out = p;
    return 0;
}

int tlo_custody_activation_open(tlo_custody *v, const char *name, const char *code, size_t code_len,
                                tlo_vault_identity **out, tlo_error *err)
{
    const tlo_custody_person *p;
    char *path = NULL, *raw = sodium_malloc(TLO_CUSTODY_CODE_TEXT);
    tlo_vault_identity *id = NULL;
    tlo_error inner = {0};
    int rc;

    *out = NULL;
    if (!raw)
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for an enrolment code");
    if ((rc = tlo_custody_activation_check(v, name, &p, err)) != 0 ||
        (rc = normalize_code(code, code_len, raw, err)) != 0 ||
        (rc = tlo_custody_identity_path(v, name, &path, err)) != 0)
        goto out;
    if (!(id = tlo_vault_identity_load(path, raw, TLO_CUSTODY_CODE_SYMBOLS, &inner))) {
        rc = inner.code == TLO_EPASSPHRASE
                 ? tlo_fail(err, TLO_EPASSPHRASE,
                            "the code does not open the enrolment of %s (%s): check what you "
                            "typed; if it is right, ask an administrator for a new code "
                            "('tellonce user add \"%s\" --reissue')",
                            name, path, name)
                 : tlo_fail(err, inner.code ? inner.code : TLO_EIO, "%s", inner.msg);
        goto out;
    }
    if (sodium_memcmp(id->sign_pk, p->pk, 32) != 0) {
        rc = tlo_fail(err, TLO_EDENIED,
                      "the identity file %s is not the key the ledger enrols for %s (entry "
                      "%llu); ask an administrator",
                      path, name, (unsigned long long)p->enrolled_at);
        goto out;
    }
    *out = id;
    id = NULL;
out:
    tlo_vault_identity_free(id);
    sodium_free(raw);
    free(path);
    return rc;
}

int tlo_custody_user_reissue_check(tlo_custody *v, const char *name, tlo_error *err)
{
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    const tlo_custody_person *p = tlo_custody_person_by_name(v, name);
    if (!p || (p->roles & TLO_ROLE_CUSTODIAN))
        return tlo_fail(err, TLO_ENOTFOUND,
                        "nobody named '%s' is enrolled (and not revoked) in this vault; see "
                        "'tellonce user list'",
                        name);
    if (!tlo_custody_person_pending(p))
        return tlo_fail(err, TLO_EARG, "%s %s: there is no enrolment code to reissue", name,
                        p->activate_by_ms ? "already activated their enrolment"
                                          : "was enrolled with a passphrase");
    return 0;
}

int tlo_custody_user_reissue(tlo_custody *v, const tlo_vault_identity *admin, const char *name,
                             tlo_vault_kdf_cost kdf, tlo_custody_enrolment *out, tlo_error *err)
{
    char who[TLO_NAME_MAX + 1];
    unsigned roles;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = tlo_custody_user_reissue_check(v, name, err)) != 0 ||
        (rc = custody_check_act(v, admin, TLO_ACT_USER_ENROL, 0, NULL, NULL, err)) != 0)
        return rc;
    /* The revocation reloads the people: keep what is needed first. */
    roles = tlo_custody_person_by_name(v, name)->roles;
    snprintf(who, sizeof who, "%s", name);
    if ((rc = tlo_custody_user_revoke(v, admin, who, "enrolment code reissued", NULL, err)) != 0)
        return rc;
    tlo_custody_user_params p = {.name = who, .roles = roles, .kdf = kdf};
    rc = tlo_custody_user_add(v, admin, &p, out, err);
    if (rc && err) {
        char first[TLO_ERROR_MSG_MAX];
        snprintf(first, sizeof first, "%s", err->msg);
        tlo_fail(err, rc,
                 "the pending enrolment of %s was revoked, but enrolling them again failed: %s; "
                 "enrol them with 'tellonce user add'",
                 who, first);
    }
    return rc;
}

/* The person id is, by its key: 0 and *who, or TLO_EDENIED. */
static int person_of(tlo_custody *v, const tlo_vault_identity *id, const tlo_custody_person **who,
                     tlo_error *err)
{
    uint8_t actor[32];
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    crypto_hash_sha256(actor, id->sign_pk, 32);
    *who = tlo_custody_person_by_actor(v, actor);
    if (!*who || (*who)->revoked_at >= 0 || ((*who)->roles & TLO_ROLE_CUSTODIAN))
        return tlo_fail(err, TLO_EDENIED, "%s is not an enrolled person of this vault", id->name);
    return 0;
}

int tlo_custody_user_activate(tlo_custody *v, const tlo_vault_identity *id, const char *code,
                              size_t code_len, const char *pass, size_t pass_len,
                              tlo_vault_kdf_cost kdf, uint64_t *seq, tlo_error *err)
{
    const tlo_custody_person *p;
    char *path = NULL, *raw = sodium_malloc(TLO_CUSTODY_CODE_TEXT), pk[65], body[400];
    char name[TLO_NAME_MAX + 1];
    int rc;

    if (seq)
        *seq = 0;
    if (!raw)
        return tlo_fail(err, TLO_ENOMEM, "out of secure memory for an enrolment code");
    if ((rc = person_of(v, id, &p, err)) != 0 ||
        (rc = tlo_custody_activation_check(v, p->name, &p, err)) != 0 ||
        (rc = normalize_code(code, code_len, raw, err)) != 0 ||
        (rc = tlo_custody_passphrase_check(p->name, pass, pass_len, err)) != 0 ||
        (rc = tlo_custody_identity_path(v, p->name, &path, err)) != 0)
        goto out;
    if (sodium_memcmp(p->pk, id->sign_pk, 32) != 0) {
        rc = tlo_fail(err, TLO_EDENIED, "%s's pending enrolment is not the key %s unlocked",
                      p->name, id->name);
        goto out;
    }
    snprintf(name, sizeof name, "%s", p->name);
    if ((rc = relock(v, id, path, pass, pass_len, kdf, err)) != 0)
        goto out;
    custody_test_kill("activate-relocked");
    tlo_hex(pk, id->sign_pk, 32);
    snprintf(body, sizeof body, "name=%s\npk=%s\n", name, pk);
    if ((rc = custody_append(v, id, TLO_ENTRY_USER_ACTIVATED, NULL, body, seq, err)) != 0) {
        /* Not activated: the code must open the file again, or nobody can. */
        tlo_error again = {0};
        if (relock(v, id, path, raw, TLO_CUSTODY_CODE_SYMBOLS, kdf, &again) != 0 && err) {
            char first[TLO_ERROR_MSG_MAX];
            snprintf(first, sizeof first, "%s", err->msg);
            tlo_fail(err, rc,
                     "%s; and %s could not be locked with the code again (%s): ask an "
                     "administrator to enrol %s again",
                     first, path, again.msg, name);
        }
        goto out;
    }
    rc = custody_seal(v, err);
out:
    sodium_free(raw);
    free(path);
    return rc;
}

int tlo_custody_passwd(tlo_custody *v, const tlo_vault_identity *id, const char *pass,
                       size_t pass_len, tlo_vault_kdf_cost kdf, tlo_error *err)
{
    const tlo_custody_person *p;
    char *path = NULL;
    int rc = custody_check_actor(v, id, ~(unsigned)TLO_ROLE_CUSTODIAN, "enrolled person", &p, err);
    if (rc || (rc = tlo_custody_passphrase_check(p->name, pass, pass_len, err)) != 0 ||
        (rc = tlo_custody_identity_path(v, p->name, &path, err)) != 0)
        return rc;
    /* The file found by name must hold this key (nobody swapped it). */
    tlo_vault_identity *on_disk = tlo_vault_identity_load_public(path, err);
    if (!on_disk)
        rc = err && err->code ? err->code : TLO_EFORMAT;
    else if (sodium_memcmp(on_disk->sign_pk, id->sign_pk, 32) != 0)
        rc = tlo_fail(err, TLO_EDENIED,
                      "the identity file %s holds another key than the one just unlocked; "
                      "nothing was changed: ask an administrator",
                      path);
    tlo_vault_identity_free(on_disk);
    if (rc == 0)
        rc = relock(v, id, path, pass, pass_len, kdf, err);
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
    if (rc || (rc = custody_check_act(v, admin, TLO_ACT_USER_ENROL, 0, NULL, NULL, err)) != 0)
        return rc;
    for (const char *r = reason ? reason : ""; *r && k + 1 < sizeof clean; r++)
        clean[k++] = (*r == '\n' || *r == '\r' || *r == '\t') ? ' ' : *r;
    clean[k] = '\0';
    tlo_hex(pk, p->pk, 32);
    snprintf(body, sizeof body, "pk=%s\nreason=%s\n", pk, clean);
    return custody_seal_end(
        v, custody_append(v, admin, TLO_ENTRY_USER_REVOKE, NULL, body, seq, err), err);
}
