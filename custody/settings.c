/* Vault settings: signed vault-setting entries (kind 5), read only from
 * what the custodian verified (custody.h, "Vault settings"; docs/settings.md).
 *
 *   vault-setting   key=KEY value=VALUE     (signed by an administrator)
 *
 * The newest entry of a key wins; an empty value unsets it. */
#include "custody.h"
#include "internal.h"
#include "merkle.h"
#include "rules.h"
#include "tlo_time.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest value a setting takes (a room profile's path). */
#define SETTING_VALUE_MAX 1024

static const tlo_custody_setting_key keys[] = {
    {"timezone", "the time zone times are shown in, and in which a grant's --expires DAY ends: "
                 "an IANA name such as Asia/Shanghai (unset: the system's)"},
    {"default-room", "the room 'record' uses without --room: simulated, or the full path of a "
                     "room profile (docs/rooms.md)"},
};

const tlo_custody_setting_key *tlo_custody_setting_keys(size_t *n)
{
    *n = sizeof keys / sizeof keys[0];
    return keys;
}

static bool known_key(const char *key)
{
    for (size_t i = 0; key && i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(keys[i].key, key))
            return true;
    return false;
}

static int unknown_key(const char *key, tlo_error *err)
{
    return tlo_fail(err, TLO_EARG,
                    "there is no vault setting '%s': the settings are timezone and "
                    "default-room ('tellonce settings show' lists them; docs/settings.md)",
                    key ? key : "");
}

int tlo_custody_setting_check(tlo_custody *v, const char *key, const char *value, tlo_error *err)
{
    (void)v;
    if (!known_key(key))
        return unknown_key(key, err);
    if (!value || !*value)
        return 0;
    if (!tlo_text_ok(value, SETTING_VALUE_MAX))
        return tlo_fail(err, TLO_EARG,
                        "the value for %s is not one line of text of at most %d bytes: give "
                        "it again without control characters",
                        key, SETTING_VALUE_MAX);
    if (!strcmp(key, "timezone")) {
        if (!tlo_time_zone_valid(value))
            return tlo_fail(err, TLO_EARG,
                            "'%s' is not a time zone this machine has: give an IANA name that "
                            "/usr/share/zoneinfo holds, such as Asia/Shanghai or Europe/Berlin "
                            "('timedatectl list-timezones' lists them)",
                            value);
        return 0;
    }
    /* default-room */
    tlo_hw_room room;
    tlo_error rerr = {0};
    if (strcmp(value, "simulated") != 0 && value[0] != '/')
        return tlo_fail(err, TLO_EARG,
                        "the room '%s' is neither 'simulated' nor the full path of a room "
                        "profile: give the profile's path from / (docs/rooms.md), so that "
                        "'record' finds it from any folder",
                        value);
    if (tlo_hw_room_resolve(value, &room, &rerr) != 0)
        return tlo_fail(err, TLO_EARG,
                        "the room profile %s cannot be used as the default room: %s. Fix the "
                        "profile (docs/rooms.md) or name another",
                        value, rerr.msg);
    return 0;
}

typedef struct scan {
    const char *key;
    uint64_t verified; /* entries the custodian verified */
    uint8_t root[TLO_HASH_BYTES];
    tlo_custody *v;
    bool found;
    uint64_t seq, time_ms;
    uint8_t actor[32];
    char value[SETTING_VALUE_MAX + 1];
    bool too_long;
} scan;

/* Each vault-setting row must be the entry the custodian verified (its
 * leaf in the verified tree), whatever key it sets: a row changed to set
 * another key, or another value, is found here. */
static int visit(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                 tlo_error *err)
{
    scan *s = ctx;
    uint8_t proof[64][TLO_HASH_BYTES];
    size_t plen = 0;
    if (e->kind != TLO_ENTRY_VAULT_SETTING || e->seq >= s->verified)
        return 0;
    int rc =
        tlo_chain_inclusion_proof(tlo_custody_chain(s->v), e->seq, s->verified, proof, &plen, err);
    if (rc == 0)
        rc = tlo_merkle_verify_inclusion(leaf, e->seq, s->verified,
                                         (const uint8_t(*)[TLO_HASH_BYTES])proof, plen, s->root,
                                         NULL);
    if (rc)
        return tlo_fail(err, TLO_EFORMAT,
                        "entry %llu (vault-setting) is not the entry the custodian verified: "
                        "the ledger was changed, so no setting is read from it. 'tellonce "
                        "verify' names the damage; restore ledger.db from a backup",
                        (unsigned long long)e->seq);
    char key[64];
    if (tlo_entry_str(e, "key", key, sizeof key) != 0 || strcmp(key, s->key) != 0)
        return 0;
    s->found = true;
    s->seq = e->seq;
    s->time_ms = e->time_ms;
    memcpy(s->actor, e->actor, 32);
    s->too_long = tlo_entry_str(e, "value", s->value, sizeof s->value) != 0;
    return 0;
}

int tlo_custody_setting_entry(tlo_custody *v, const char *key, char *out, size_t cap, uint64_t *seq,
                              uint64_t *time_ms, uint8_t *actor, tlo_error *err)
{
    if (cap)
        out[0] = '\0';
    if (!known_key(key))
        return unknown_key(key, err);
    scan *s = calloc(1, sizeof *s);
    if (!s)
        return tlo_fail(err, TLO_ENOMEM, "out of memory reading the vault's settings");
    s->key = key;
    s->v = v;
    tlo_vault_identity *cust = NULL;
    tlo_chain_state *st = NULL;
    int rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_verified(v, cust, &st, err);
    tlo_vault_identity_free(cust);
    if (rc == 0) {
        s->verified = tlo_chain_state_size(st);
        tlo_chain_state_root(st, s->root);
        rc = tlo_chain_walk_kind(tlo_custody_chain(v), TLO_ENTRY_VAULT_SETTING, 0, visit, s, err);
    }
    if (rc == 0 && s->found && s->too_long)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "entry %llu (vault-setting) holds a value for %s longer than %d bytes, "
                      "which no tellonce writes: set it again with 'tellonce settings set'",
                      (unsigned long long)s->seq, key, SETTING_VALUE_MAX);
    if (rc == 0 && s->found && s->value[0]) {
        if (strlen(s->value) >= cap)
            rc = tlo_fail(err, TLO_EARG, "the value of the setting %s is too long to read", key);
        else {
            memcpy(out, s->value, strlen(s->value) + 1);
            if (seq)
                *seq = s->seq;
            if (time_ms)
                *time_ms = s->time_ms;
            if (actor)
                memcpy(actor, s->actor, 32);
            rc = 1;
        }
    }
    free(s);
    return rc;
}

int tlo_custody_setting(tlo_custody *v, const char *key, char *out, size_t cap, tlo_error *err)
{
    return tlo_custody_setting_entry(v, key, out, cap, NULL, NULL, NULL, err);
}

int tlo_custody_setting_set(tlo_custody *v, const tlo_vault_identity *admin, const char *key,
                            const char *value, uint64_t *seq, tlo_error *err)
{
    int rc = tlo_custody_setting_check(v, key, value, err);
    if (rc || (rc = custody_check_act(v, admin, TLO_ACT_SETTINGS_SET, 0, NULL, NULL, err)) != 0)
        return rc;
    size_t len = strlen(key) + strlen(value) + 16;
    char *body = malloc(len);
    if (!body)
        return tlo_fail(err, TLO_ENOMEM, "out of memory setting %s", key);
    snprintf(body, len, "key=%s\nvalue=%s\n", key, value);
    rc = custody_append(v, admin, TLO_ENTRY_VAULT_SETTING, NULL, body, seq, err);
    free(body);
    return custody_seal_end(v, rc, err);
}

static int count_row(void *ctx, const tlo_entry *e, const uint8_t leaf[static TLO_HASH_BYTES],
                     tlo_error *err)
{
    (void)e, (void)leaf, (void)err;
    *(bool *)ctx = true;
    return 1;
}

bool tlo_custody_settings_present(tlo_custody *v)
{
    bool any = false;
    tlo_chain_walk_kind(tlo_custody_chain(v), TLO_ENTRY_VAULT_SETTING, 0, count_row, &any, NULL);
    return any;
}
