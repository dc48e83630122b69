/* The open vault: its directory, its ledger, appends and the custodian.
 *
 * A vault is a directory (mode 0700); docs/vault-layout.md lists every file.
 *   ledger.db          the custody ledger (chain/)
 *   custodian.id       the custodian's identity file (vault/identity.c), locked
 *                      with the random passphrase in custodian.secret (0600)
 *   people/KEYID.id    each person's identity file, locked with their passphrase */
#include "internal.h"

#include <errno.h>
#include <gcrypt.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tlo_custody_open(const char *dir, bool readonly, tlo_custody **out, tlo_error *err)
{
    struct stat st;
    *out = NULL;
    tlo_custody *v = calloc(1, sizeof *v);
    char *path = NULL;
    if (!v || !(v->dir = strdup(dir)) || !(path = tlo_path_join(dir, "ledger.db"))) {
        tlo_custody_close(v);
        return tlo_fail(err, TLO_ENOMEM, "out of memory opening the vault %s", dir);
    }
    if (stat(path, &st) != 0 && (errno == EACCES || errno == EPERM)) {
        free(path);
        tlo_custody_close(v);
        return tlo_fail(err, TLO_EIO, "this OS user may not read the vault %s", dir);
    }
    if (stat(path, &st) != 0) {
        free(path);
        tlo_custody_close(v);
        return tlo_fail(err, TLO_ENOTFOUND,
                        "%s is not a tellonce vault (it has no ledger.db); 'tellonce init' "
                        "creates one, --vault or TELLONCE_VAULT names another",
                        dir);
    }
    v->readonly = readonly;
    atomic_init(&v->dirty, false);
    pthread_mutex_init(&v->lock, NULL);
    v->lock_ready = true;
    v->ch = tlo_chain_open(path, readonly, err);
    free(path);
    if (!v->ch) {
        tlo_custody_close(v);
        return err ? err->code : TLO_EIO;
    }
    *out = v;
    return 0;
}

void tlo_custody_close(tlo_custody *v)
{
    if (!v)
        return;
    custody_verified_close(v); /* before the ledger closes */
    tlo_chain_close(v->ch);
    tlo_vault_identity_free(v->cust);
    if (v->lock_ready)
        pthread_mutex_destroy(&v->lock);
    free(v->people);
    free(v->dir);
    free(v);
}

const char *tlo_custody_dir(const tlo_custody *v)
{
    return v->dir;
}

tlo_chain *tlo_custody_chain(tlo_custody *v)
{
    return v->ch;
}

char *tlo_custody_path(const tlo_custody *v, const char *name)
{
    return tlo_path_join(v->dir, name);
}

char *tlo_custody_object_path(const tlo_custody *v, const char *object_hex)
{
    char name[64];
    snprintf(name, sizeof name, "objects/%.32s.tlo", object_hex);
    return tlo_path_join(v->dir, name);
}

uint64_t tlo_custody_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, later;
    const char *t = getenv("TELLONCE_TEST_NOW_MS");
    if (t && tlo_parse_u64(t, &later) == 0 && later > now)
        now = later;
    return now;
}

void tlo_custody_set_client(tlo_custody *v, uint32_t uid, uint32_t pid)
{
    v->has_client = true;
    v->client_uid = uid;
    v->client_pid = pid;
}

/* body with the line "key=value\n" put in its place (keys in increasing byte
 * order, docs/ledger-formats.md); a key already there is left as it is.
 * malloc'd, or NULL. */
static char *body_insert(const char *body, const char *key, const char *value)
{
    size_t klen = strlen(key), n = strlen(body);
    const char *at = body;
    while (*at) {
        const char *eq = strchr(at, '='), *nl = strchr(at, '\n');
        if (!eq || !nl)
            break;
        size_t ok = (size_t)(eq - at);
        int c = memcmp(at, key, ok < klen ? ok : klen);
        if (c == 0 && ok == klen)
            return strdup(body);
        if (c > 0 || (c == 0 && ok > klen))
            break;
        at = nl + 1;
    }
    size_t vlen = strlen(value), pre = (size_t)(at - body);
    char *out = malloc(n + klen + vlen + 3);
    if (!out)
        return NULL;
    memcpy(out, body, pre);
    sprintf(out + pre, "%s=%s\n%s", key, value, at);
    return out;
}

char *custody_client_body(const tlo_custody *v, const char *body)
{
    if (!v->has_client)
        return strdup(body);
    char num[16];
    snprintf(num, sizeof num, "%u", v->client_pid);
    char *one = body_insert(body, "client_pid", num);
    snprintf(num, sizeof num, "%u", v->client_uid);
    char *with = one ? body_insert(one, "client_uid", num) : NULL;
    free(one);
    return with;
}

int custody_append_many(tlo_custody *v, const tlo_vault_identity *signer,
                        const tlo_chain_draft *drafts, size_t n, uint64_t *first_seq,
                        tlo_error *err)
{
    char **with = calloc(n ? n : 1, sizeof *with);
    tlo_chain_draft *d = calloc(n ? n : 1, sizeof *d);
    int rc = with && d ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory logging %zu entries", n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *plain = strndup((const char *)drafts[i].body, drafts[i].body_len);
        if (!plain || !(with[i] = custody_client_body(v, plain)))
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory logging an entry");
        free(plain);
        d[i] = drafts[i];
        if (rc == 0) {
            d[i].body = (const uint8_t *)with[i];
            d[i].body_len = strlen(with[i]);
        }
    }
    if (rc == 0) {
        tlo_chain_signer s = {.sk = signer->sign_sk};
        memcpy(s.pk, signer->sign_pk, 32);
        v->people_loaded = false; /* the ledger grew: read people again when asked */
        rc = tlo_chain_append(v->ch, d, n, &s, first_seq, err);
        if (rc == 0)
            atomic_store(&v->dirty, true); /* custody_seal covers it before the verb returns */
    }
    for (size_t i = 0; with && i < n; i++)
        free(with[i]);
    free(with);
    free(d);
    return rc;
}

int custody_append(tlo_custody *v, const tlo_vault_identity *signer, uint16_t kind,
                   const uint8_t *case_id, const char *body, uint64_t *seq, tlo_error *err)
{
    tlo_chain_draft d = {.kind = kind,
                         .has_case = case_id != NULL,
                         .body = (const uint8_t *)body,
                         .body_len = strlen(body)};
    if (case_id)
        memcpy(d.case_id, case_id, TLO_ID_BYTES);
    return custody_append_many(v, signer, &d, 1, seq, err);
}

/* value with control characters replaced by '?' (and, when ascii, every
 * byte outside printable ASCII), at most 200 bytes. */
static void clean_value(const char *in, bool ascii, char out[static 201])
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p && n < 200; p++)
        out[n++] = (*p < 0x20 || *p == 0x7f || (ascii && *p > 0x7f)) ? '?' : (char)*p;
    out[n] = 0;
}

int tlo_custody_log_refusal(tlo_custody *v, const char *command, const char *reason, tlo_error *err)
{
    char cmd[201], why[201], body[512];
    tlo_vault_identity *cust = NULL;
    if (!v->has_client)
        return tlo_fail(err, TLO_EARG, "a refusal is logged only for a client of the service");
    for (int ascii = 0; ascii < 2; ascii++) {
        const char *why_not;
        clean_value(command, ascii, cmd);
        clean_value(reason, ascii, why);
        if (!why[0])
            snprintf(why, sizeof why, "refused");
        if (cmd[0])
            snprintf(body, sizeof body, "command=%s\nreason=%s\n", cmd, why);
        else
            snprintf(body, sizeof body, "reason=%s\n", why);
        /* a name cut inside a UTF-8 sequence: then ASCII only */
        if (tlo_entry_body_valid((const uint8_t *)body, strlen(body), &why_not))
            break;
    }
    int rc = custody_custodian(v, &cust, err);
    if (rc == 0)
        rc = custody_append(v, cust, TLO_ENTRY_REQUEST_REFUSED, NULL, body, NULL, err);
    return custody_seal_end(v, rc, err);
}

static int unlock_custodian(tlo_custody *v, tlo_vault_identity **out, tlo_error *err)
{
    char *secret_path = tlo_custody_path(v, "custodian.secret");
    char *id_path = tlo_custody_path(v, "custodian.id");
    int rc = 0, fd = secret_path ? open(secret_path, O_RDONLY | O_CLOEXEC) : -1;
    *out = NULL;
    if (fd < 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot open the custodian secret %s: %s",
                      secret_path ? secret_path : v->dir, strerror(errno));
    } else {
        size_t len = 0;
        char *pass = tlo_vault_secret_line(fd, &len);
        close(fd);
        if (!pass || !id_path)
            rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the custodian's secret");
        else if (!(*out = tlo_vault_identity_load(id_path, pass, len, err)))
            rc = err ? err->code : TLO_EPASSPHRASE;
        sodium_free(pass);
    }
    free(secret_path);
    free(id_path);
    return rc;
}

/* A copy of id in fresh secure memory. */
static tlo_vault_identity *copy_identity(const tlo_vault_identity *id)
{
    tlo_vault_identity *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c->name, id->name, sizeof c->name);
    memcpy(c->sign_pk, id->sign_pk, sizeof c->sign_pk);
    memcpy(c->box_pk, id->box_pk, sizeof c->box_pk);
    c->sign_sk = sodium_malloc(TLO_ED25519_SK_BYTES);
    c->box_sk = sodium_malloc(TLO_X25519_SK_BYTES);
    if (!c->sign_sk || !c->box_sk) {
        tlo_vault_identity_free(c);
        return NULL;
    }
    memcpy(c->sign_sk, id->sign_sk, TLO_ED25519_SK_BYTES);
    memcpy(c->box_sk, id->box_sk, TLO_X25519_SK_BYTES);
    return c;
}

int custody_custodian(tlo_custody *v, tlo_vault_identity **out, tlo_error *err)
{
    int rc = 0;
    *out = NULL;
    pthread_mutex_lock(&v->lock);
    if (!v->cust)
        rc = unlock_custodian(v, &v->cust, err);
    if (rc == 0 && !(*out = copy_identity(v->cust)))
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the custodian's keys");
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int tlo_custody_custodian_unlock(tlo_custody *v, tlo_vault_identity **out, tlo_error *err)
{
    return custody_custodian(v, out, err);
}

int tlo_custody_adopt_custodian(tlo_custody *v, const tlo_vault_identity *cust, tlo_error *err)
{
    uint8_t actor[32];
    int rc = tlo_custody_people(v, NULL, NULL, err);
    if (rc)
        return rc;
    crypto_hash_sha256(actor, cust->sign_pk, 32);
    const tlo_custody_person *p = tlo_custody_person_by_actor(v, actor);
    if (!p || !(p->roles & TLO_ROLE_CUSTODIAN) || p->revoked_at >= 0)
        return tlo_fail(err, TLO_EDENIED, "the key given is not this vault's custodian");
    pthread_mutex_lock(&v->lock);
    if (!v->cust && !(v->cust = copy_identity(cust)))
        rc = tlo_fail(err, TLO_ENOMEM, "out of secure memory for the custodian's keys");
    pthread_mutex_unlock(&v->lock);
    return rc;
}

int custody_hash_fd(int fd, uint8_t out[static 32], uint64_t *size)
{
    enum { BUF = 1 << 20 };
    gcry_md_hd_t h;
    uint8_t *buf = malloc(BUF);
    if (!buf || gcry_md_open(&h, GCRY_MD_SHA256, 0) != 0) {
        free(buf);
        return -ENOMEM;
    }
    uint64_t off = 0;
    long long n;
    while ((n = tlo_pread_full(fd, buf, BUF, off)) > 0) {
        gcry_md_write(h, buf, (size_t)n);
        off += (uint64_t)n;
    }
    free(buf);
    if (n < 0) {
        gcry_md_close(h);
        return (int)n;
    }
    memcpy(out, gcry_md_read(h, GCRY_MD_SHA256), 32);
    gcry_md_close(h);
    *size = off;
    return 0;
}
