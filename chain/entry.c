#include "entry.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = {'T', 'L', 'E', '1'};
static const char sig_context[] = "tellonce/v1 entry\n";

static const struct {
    uint16_t kind;
    const char *name;
} kinds[] = {
    {TLO_ENTRY_GENESIS, "genesis"},
    {TLO_ENTRY_USER_ADD, "user-add"},
    {TLO_ENTRY_USER_REVOKE, "user-revoke"},
    {TLO_ENTRY_USER_ACTIVATED, "user-activated"},
    {TLO_ENTRY_VAULT_SETTING, "vault-setting"},
    {TLO_ENTRY_CASE_OPEN, "case-open"},
    {TLO_ENTRY_CASE_VIEW, "case-view"},
    {TLO_ENTRY_SESSION_START, "session-start"},
    {TLO_ENTRY_SEGMENT, "segment"},
    {TLO_ENTRY_MARKER, "marker"},
    {TLO_ENTRY_SESSION_END, "session-end"},
    {TLO_ENTRY_SESSION_RECOVERED, "session-recovered"},
    {TLO_ENTRY_DEVICE_EVENT, "device-event"},
    {TLO_ENTRY_GRANT, "grant"},
    {TLO_ENTRY_GRANT_REVOKE, "grant-revoke"},
    {TLO_ENTRY_NOTE_GRANT, "note-grant"},
    {TLO_ENTRY_ACCESS_GRANTED, "access-granted"},
    {TLO_ENTRY_ACCESS_DENIED, "access-denied"},
    {TLO_ENTRY_EXPORT, "export"},
    {TLO_ENTRY_REQUEST_REFUSED, "request-refused"},
    {TLO_ENTRY_ACTION_REFUSED, "action-refused"},
    {TLO_ENTRY_NOTE, "note"},
    {TLO_ENTRY_SAMPLE_TRANSFER, "sample-transfer"},
    {TLO_ENTRY_NOTE_ACCESS, "note-access"},
    {TLO_ENTRY_SAMPLE_REGISTER, "sample-register"},
    {TLO_ENTRY_SAMPLE_RECEIVE, "sample-receive"},
    {TLO_ENTRY_SAMPLE_DISPOSE, "sample-dispose"},
    {TLO_ENTRY_KEY_DESTROYED, "key-destroyed"},
    {TLO_ENTRY_CHECKPOINT, "checkpoint"},
};

static const struct {
    const char *name;
    unsigned bit;
} role_names[] = {
    {"admin", TLO_ROLE_ADMIN},           {"interviewer", TLO_ROLE_INTERVIEWER},
    {"prosecutor", TLO_ROLE_PROSECUTOR}, {"medical", TLO_ROLE_MEDICAL},
    {"auditor", TLO_ROLE_AUDITOR},       {"psychologist", TLO_ROLE_PSYCHOLOGIST},
    {"legal-aid", TLO_ROLE_LEGAL_AID},   {"social-worker", TLO_ROLE_SOCIAL_WORKER},
    {"custodian", TLO_ROLE_CUSTODIAN},
};
#define PERSON_ROLES 8 /* all but the last: custodian is not a person's role */

int tlo_roles_parse(const char *s, size_t len, unsigned *roles)
{
    size_t i = 0;
    *roles = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        unsigned bit = 0;
        for (size_t k = 0; k < PERSON_ROLES; k++)
            if (strlen(role_names[k].name) == j - i && !memcmp(role_names[k].name, s + i, j - i))
                bit = role_names[k].bit;
        if (!bit) {
            *roles = 0;
            return -1;
        }
        *roles |= bit;
        i = j + 1;
    }
    return *roles ? 0 : -1;
}

void tlo_roles_format(unsigned roles, const char *sep, char *out, size_t cap)
{
    size_t used = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (roles & role_names[i].bit)
            used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s%s",
                                     used ? sep : "", role_names[i].name);
}

const char *tlo_entry_kind_name(uint16_t kind)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return NULL;
}

uint16_t tlo_entry_kind_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kinds[i].name, name))
            return kinds[i].kind;
    return 0;
}

bool tlo_entry_body_valid(const uint8_t *body, size_t len, const char **why)
{
    const uint8_t *prev_key = NULL;
    size_t prev_key_len = 0, i = 0;
    const char *dummy;

    if (!why)
        why = &dummy;
    *why = NULL;
    if (len > TLO_ENTRY_BODY_MAX) {
        *why = "the body is longer than 64 KiB";
        return false;
    }
    while (i < len) {
        const uint8_t *key = body + i;
        size_t klen = 0;
        while (i < len && body[i] != '=') {
            uint8_t c = body[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.')) {
                *why = "a key holds a character outside a-z 0-9 _ .";
                return false;
            }
            i++;
            klen++;
        }
        if (i == len) {
            *why = "a line has no '='";
            return false;
        }
        if (klen == 0 || klen > 32) {
            *why = "a key is empty or longer than 32 characters";
            return false;
        }
        if (prev_key) {
            size_t m = klen < prev_key_len ? klen : prev_key_len;
            int c = memcmp(prev_key, key, m);
            if (c > 0 || (c == 0 && prev_key_len >= klen)) {
                *why = "keys are not in strictly increasing order (or one repeats)";
                return false;
            }
        }
        prev_key = key;
        prev_key_len = klen;
        i++; /* '=' */
        while (i < len && body[i] != '\n') {
            uint32_t cp;
            size_t n = tlo_utf8_text_char(body + i, len - i, &cp);
            if (n == 0) {
                *why = "a value holds a control character or invalid UTF-8";
                return false;
            }
            i += n;
        }
        if (i == len) {
            *why = "the last line does not end with a newline";
            return false;
        }
        i++; /* '\n' */
    }
    return true;
}

const uint8_t *tlo_entry_body_get(const uint8_t *body, size_t len, const char *key,
                                  size_t *value_len)
{
    size_t klen = strlen(key), i = 0;
    *value_len = 0;
    while (i < len) {
        const uint8_t *line = body + i;
        const uint8_t *nl = memchr(line, '\n', len - i);
        if (!nl)
            return NULL;
        size_t line_len = (size_t)(nl - line);
        if (line_len > klen && line[klen] == '=' && memcmp(line, key, klen) == 0) {
            *value_len = line_len - klen - 1;
            return line + klen + 1;
        }
        i += line_len + 1;
    }
    return NULL;
}

static size_t encode_unsigned(const tlo_entry *e, uint8_t *out, size_t cap)
{
    size_t n = TLO_ENTRY_FIXED_BYTES + e->body_len;
    if (e->body_len > TLO_ENTRY_BODY_MAX || cap < n)
        return 0;
    memcpy(out, magic, 4);
    tlo_store_be64(out + 4, e->seq);
    tlo_store_be64(out + 12, e->time_ms);
    out[20] = (uint8_t)(e->kind >> 8);
    out[21] = (uint8_t)e->kind;
    out[22] = e->has_case ? 1 : 0;
    if (e->has_case)
        memcpy(out + 23, e->case_id, TLO_CASE_ID_BYTES);
    else
        memset(out + 23, 0, TLO_CASE_ID_BYTES);
    memcpy(out + 39, e->actor, TLO_HASH_BYTES);
    memcpy(out + 71, e->prev, TLO_HASH_BYTES);
    tlo_store_be32(out + 103, (uint32_t)e->body_len);
    if (e->body_len)
        memcpy(out + TLO_ENTRY_FIXED_BYTES, e->body, e->body_len);
    return n;
}

size_t tlo_entry_encode(const tlo_entry *e, uint8_t *out, size_t cap)
{
    size_t n = encode_unsigned(e, out, cap);
    if (n == 0 || cap < n + TLO_ENTRY_SIG_BYTES)
        return 0;
    memcpy(out + n, e->sig, TLO_ENTRY_SIG_BYTES);
    return n + TLO_ENTRY_SIG_BYTES;
}

size_t tlo_entry_signed_message(const tlo_entry *e, uint8_t *out, size_t cap)
{
    size_t ctx = sizeof sig_context - 1;
    if (cap < ctx)
        return 0;
    memcpy(out, sig_context, ctx);
    size_t n = encode_unsigned(e, out + ctx, cap - ctx);
    return n ? ctx + n : 0;
}

int tlo_entry_decode(const uint8_t *buf, size_t len, tlo_entry *e, tlo_error *err)
{
    const char *why;
    memset(e, 0, sizeof *e);
    if (len < TLO_ENTRY_FIXED_BYTES + TLO_ENTRY_SIG_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "entry is %zu bytes, shorter than any entry", len);
    if (memcmp(buf, magic, 4) != 0)
        return tlo_fail(err, TLO_EFORMAT, "entry does not start with the entry magic \"TLE1\"");
    if (buf[22] > 1)
        return tlo_fail(err, TLO_EFORMAT, "entry has unknown flags 0x%02x", buf[22]);
    uint32_t body_len = tlo_load_be32(buf + 103);
    if (body_len > TLO_ENTRY_BODY_MAX ||
        len != TLO_ENTRY_FIXED_BYTES + (size_t)body_len + TLO_ENTRY_SIG_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "entry body length %lu does not match its size %zu",
                        (unsigned long)body_len, len);
    e->seq = tlo_load_be64(buf + 4);
    e->time_ms = tlo_load_be64(buf + 12);
    e->kind = (uint16_t)(buf[20] << 8 | buf[21]);
    e->has_case = buf[22] == 1;
    memcpy(e->case_id, buf + 23, TLO_CASE_ID_BYTES);
    if (!e->has_case && !sodium_is_zero(e->case_id, TLO_CASE_ID_BYTES))
        return tlo_fail(err, TLO_EFORMAT, "entry %llu has a case id but no case flag",
                        (unsigned long long)e->seq);
    memcpy(e->actor, buf + 39, TLO_HASH_BYTES);
    memcpy(e->prev, buf + 71, TLO_HASH_BYTES);
    e->body = buf + TLO_ENTRY_FIXED_BYTES;
    e->body_len = body_len;
    memcpy(e->sig, buf + TLO_ENTRY_FIXED_BYTES + body_len, TLO_ENTRY_SIG_BYTES);
    if (!tlo_entry_body_valid(e->body, e->body_len, &why))
        return tlo_fail(err, TLO_EFORMAT, "entry %llu has a body that is not canonical: %s",
                        (unsigned long long)e->seq, why);
    return 0;
}

int tlo_entry_sign(tlo_entry *e, const uint8_t pk[static 32], const uint8_t *sk, tlo_error *err)
{
    size_t cap = sizeof sig_context + TLO_ENTRY_FIXED_BYTES + e->body_len;
    uint8_t *msg = malloc(cap);
    if (!msg)
        return tlo_fail(err, TLO_ENOMEM, "out of memory signing an entry");
    crypto_hash_sha256(e->actor, pk, 32);
    size_t n = tlo_entry_signed_message(e, msg, cap);
    int rc = 0;
    if (n == 0 || crypto_sign_detached(e->sig, NULL, msg, n, sk) != 0)
        rc = tlo_fail(err, TLO_EARG, "cannot sign entry %llu: its body is too long",
                      (unsigned long long)e->seq);
    free(msg);
    return rc;
}

bool tlo_entry_verify(const tlo_entry *e, const uint8_t pk[static 32])
{
    uint8_t actor[TLO_HASH_BYTES];
    crypto_hash_sha256(actor, pk, 32);
    if (sodium_memcmp(actor, e->actor, sizeof actor) != 0)
        return false;
    size_t cap = sizeof sig_context + TLO_ENTRY_FIXED_BYTES + e->body_len;
    uint8_t *msg = malloc(cap);
    if (!msg)
        return false;
    size_t n = tlo_entry_signed_message(e, msg, cap);
    bool ok = n != 0 && crypto_sign_verify_detached(e->sig, msg, n, pk) == 0;
    free(msg);
    return ok;
}

void tlo_entry_leaf_hash(const tlo_entry *e, uint8_t out[static TLO_HASH_BYTES])
{
    crypto_hash_sha256_state st;
    uint8_t fixed[TLO_ENTRY_FIXED_BYTES];
    static const uint8_t zero = 0x00;
    tlo_entry head = *e;

    head.body_len = 0;
    encode_unsigned(&head, fixed, sizeof fixed);
    tlo_store_be32(fixed + 103, (uint32_t)e->body_len);
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, &zero, 1);
    crypto_hash_sha256_update(&st, fixed, sizeof fixed);
    if (e->body_len)
        crypto_hash_sha256_update(&st, e->body, e->body_len);
    crypto_hash_sha256_update(&st, e->sig, TLO_ENTRY_SIG_BYTES);
    crypto_hash_sha256_final(&st, out);
}

int tlo_entry_str(const tlo_entry *e, const char *key, char *out, size_t cap)
{
    size_t n;
    const uint8_t *v = tlo_entry_body_get(e->body, e->body_len, key, &n);
    if (!v || n >= cap)
        return -1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 0;
}

int tlo_entry_u64(const tlo_entry *e, const char *key, uint64_t *out)
{
    char v[24];
    return tlo_entry_str(e, key, v, sizeof v) == 0 && tlo_parse_u64(v, out) == 0 ? 0 : -1;
}

int tlo_entry_hex(const tlo_entry *e, const char *key, uint8_t *out, size_t n)
{
    char hex[2 * 64 + 2];
    if (n > 64 || tlo_entry_str(e, key, hex, 2 * n + 1) != 0)
        return -1;
    return tlo_unhex(out, n, hex) == 0 ? 0 : -1;
}
