/* Checkpoints: C2SP signed notes by the custodian of the ledger's tree head,
 * under the key name of the ledger's origin (docs/ledger-formats.md). The
 * vault keeps every one in checkpoints/, named by tree size
 * (%020llu.checkpoint), and copies each to the publish directories that
 * vault.conf names (docs/vault-layout.md).
 *
 * Two ways one is made:
 *   custody_seal            at the end of every verb that appended: covers the
 *                           ledger's tail, logs no entry (an entry would itself
 *                           be uncovered: docs/ledger.md, "Trust model");
 *   tlo_custody_checkpoint  'tellonce checkpoint', and the end of a recording,
 *                           a recovery, an export: verifies the whole ledger,
 *                           signs, logs a checkpoint entry, then seals that. */
#include "rules.h"
#include "internal.h"

#include "merkle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int tlo_custody_trust(tlo_custody *v, char *origin, size_t cap, tlo_note_verifier *verifier,
                      tlo_error *err)
{
    tlo_entry e;
    uint8_t *buf = NULL, pk[32];
    size_t n;
    int rc = tlo_chain_get(v->ch, 0, &e, &buf, err);
    if (rc)
        return rc;
    const uint8_t *o = tlo_entry_body_get(e.body, e.body_len, "origin", &n);
    if (e.kind != TLO_ENTRY_GENESIS || !o || n == 0 || n >= cap ||
        tlo_entry_hex(&e, "custodian.pk", pk, 32) != 0) {
        free(buf);
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger's first entry is not a genesis naming an origin and a "
                        "custodian");
    }
    memcpy(origin, o, n);
    origin[n] = '\0';
    free(buf);
    if ((rc = tlo_note_verifier_init(verifier, origin, pk, err)) != 0 && err && !err->msg[0])
        tlo_fail(err, rc, "the genesis entry holds a malformed custodian key");
    return rc;
}

char *tlo_custody_newest_checkpoint(const tlo_custody *v)
{
    char *dir = tlo_custody_path(v, "checkpoints"), best[64] = "";
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n == 31 && !strcmp(de->d_name + 20, ".checkpoint") && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    }
    if (d)
        closedir(d);
    char *path = best[0] && dir ? tlo_path_join(dir, best) : NULL;
    free(dir);
    return path;
}

int tlo_custody_checkpoint_read(tlo_custody *v, const char *path, tlo_checkpoint *cp, char **text,
                                tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1];
    tlo_note_verifier verifier;
    size_t len;
    int rc = tlo_custody_trust(v, origin, sizeof origin, &verifier, err);
    *text = NULL;
    if (rc || (rc = tlo_read_file(path, TLO_NOTE_MAX_BYTES, text, &len, err)) != 0)
        return rc;
    if ((rc = tlo_checkpoint_open(*text, len, &verifier, 1, origin, cp, err)) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "checkpoint %s: %s", path, why);
        free(*text);
        *text = NULL;
    }
    return rc;
}

void tlo_custody_checkpoint_info_free(tlo_custody_checkpoint_info *info)
{
    if (!info)
        return;
    free(info->path);
    free(info->note);
    memset(info, 0, sizeof *info);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
}

/* Publishes a checkpoint file as dir/NAME, durably: a temporary file in
 * dir, written and fsynced, renamed to its name in one step, then dir
 * fsynced, so the name never shows a partial file. A file already there
 * with the same bytes is fine (the same tree head, signed twice: Ed25519 is
 * deterministic); one with other bytes is a fork and is never replaced. */
static int publish_file(const char *dir, const char *name, const char *note, size_t len,
                        tlo_error *err)
{
    char *path = tlo_path_join(dir, name), *tmp = tlo_path_join(dir, ".checkpoint.XXXXXX");
    char *have = NULL;
    size_t have_len = 0;
    int rc = 0, fd = -1;
    if (!path || !tmp) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        goto out;
    }
    if (tlo_read_file(path, TLO_NOTE_MAX_BYTES, &have, &have_len, NULL) == 0) {
        if (have_len != len || memcmp(have, note, len) != 0)
            rc = tlo_fail(err, TLO_EFORMAT,
                          "%s already holds another checkpoint of the same size: the ledger "
                          "was forked or cut and regrown; run 'tellonce verify' and keep both "
                          "files for the investigation",
                          path);
        goto out;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
        goto out;
    }
    int w = tlo_write_all(fd, note, len);
    if (w == 0 && fchmod(fd, 0600) != 0)
        w = -errno;
    if (w == 0 && fsync(fd) != 0)
        w = -errno;
    if (close(fd) != 0 && w == 0)
        w = -errno;
    if (w == 0 && rename(tmp, path) != 0)
        w = -errno;
    if (w != 0) {
        unlink(tmp);
        rc = tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(-w));
    } else if ((w = fsync_dir(dir)) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot fsync the directory %s: %s", dir, strerror(-w));
    }
out:
    free(have);
    free(path);
    free(tmp);
    return rc;
}

int tlo_custody_publish_dirs(tlo_custody *v, char ***dirs, size_t *n, tlo_error *err)
{
    char *path = tlo_custody_path(v, "vault.conf"), *text = NULL;
    size_t len = 0, cap = 0, lineno = 0;
    *dirs = NULL;
    *n = 0;
    if (!path)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    int rc = tlo_read_file(path, 65536, &text, &len, err);
    if (rc == TLO_ENOTFOUND) {
        free(path);
        if (err)
            memset(err, 0, sizeof *err);
        return 0; /* no settings */
    }
    for (char *line = text, *next; rc == 0 && line && line < text + len; line = next) {
        next = memchr(line, '\n', (size_t)(text + len - line));
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[0] == '\0' || line[0] == '#')
            continue;
        if (strncmp(line, "publish=", 8) != 0 || line[8] != '/' || strlen(line + 8) > 4000 ||
            strlen(line) != (size_t)((next ? next - 1 : text + len) - line)) {
            rc = tlo_fail(err, TLO_EFORMAT,
                          "%s, line %zu: not a setting tellonce knows (each line is "
                          "'publish=/absolute/directory', a comment starting with '#', or "
                          "empty); correct or remove it",
                          path, lineno);
            break;
        }
        if (*n == cap) {
            size_t c2 = cap ? 2 * cap : 4;
            char **d = c2 <= 64 ? realloc(*dirs, c2 * sizeof *d) : NULL;
            if (!d) {
                rc = tlo_fail(err, TLO_EFORMAT,
                              "%s names too many publish directories (at most 64)", path);
                break;
            }
            *dirs = d;
            cap = c2;
        }
        if (!((*dirs)[*n] = strdup(line + 8)))
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        else
            (*n)++;
    }
    free(text);
    free(path);
    if (rc) {
        tlo_custody_publish_dirs_free(*dirs, *n);
        *dirs = NULL;
        *n = 0;
    }
    return rc;
}

void tlo_custody_publish_dirs_free(char **dirs, size_t n)
{
    for (size_t i = 0; dirs && i < n; i++)
        free(dirs[i]);
    free(dirs);
}

static void checkpoint_name(char name[static 40], uint64_t size)
{
    snprintf(name, 40, "%020llu.checkpoint", (unsigned long long)size);
}

/* Keeps the note in checkpoints/, then copies it to every publish directory
 * of vault.conf. The local file stays whatever a copy does; a failed copy
 * is an error naming the directory. */
static int keep(tlo_custody *v, const tlo_custody_checkpoint_info *c, char **path, tlo_error *err)
{
    char name[40], *dir = tlo_custody_path(v, "checkpoints"), **pub = NULL;
    size_t npub = 0;
    int rc = 0;
    *path = NULL;
    if (!dir)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = tlo_fail(err, TLO_EIO, "cannot create %s: %s", dir, strerror(errno));
    checkpoint_name(name, c->size);
    if (rc == 0 && !(*path = tlo_path_join(dir, name)))
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (rc == 0)
        rc = publish_file(dir, name, c->note, c->note_len, err);
    if (rc == 0)
        rc = tlo_custody_publish_dirs(v, &pub, &npub, err);
    for (size_t i = 0; rc == 0 && i < npub; i++) {
        tlo_error e2 = {0};
        if ((rc = publish_file(pub[i], name, c->note, c->note_len, &e2)) != 0)
            tlo_fail(err, rc,
                     "the checkpoint of %llu entries is kept in %s, but publishing it to %s "
                     "(vault.conf) failed: %s. The command fails so that nobody relies on an "
                     "unpublished tail; once the directory is back, 'tellonce checkpoint "
                     "--publish %s' copies every checkpoint it misses",
                     (unsigned long long)c->size, *path, pub[i], e2.msg, pub[i]);
    }
    tlo_custody_publish_dirs_free(pub, npub);
    if (rc && *path && access(*path, F_OK) != 0) {
        free(*path);
        *path = NULL;
    }
    free(dir);
    return rc;
}

/* The vault's newest checkpoint, signature-checked: *size 0 when there is
 * none. */
static int newest(tlo_custody *v, uint64_t *size, uint8_t root[static 32], char **path,
                  tlo_error *err)
{
    tlo_checkpoint cp;
    char *text = NULL;
    *size = 0;
    *path = tlo_custody_newest_checkpoint(v);
    if (!*path)
        return 0;
    int rc = tlo_custody_checkpoint_read(v, *path, &cp, &text, err);
    free(text);
    if (rc == 0) {
        *size = cp.size;
        memcpy(root, cp.root, 32);
    }
    return rc;
}

/* The tree head the custodian has verified (custody/verified.c): every
 * entry to the tip, by the table of kinds, from its saved state: O(entries
 * since the last decision or seal), not O(ledger). */
static int verified_head(tlo_custody *v, const tlo_vault_identity *cust, uint64_t *size,
                         uint8_t root[static 32], tlo_error *err)
{
    tlo_chain_state *st = NULL;
    int rc = custody_verified(v, cust, &st, err);
    if (rc == 0) {
        *size = tlo_chain_state_size(st);
        tlo_chain_state_root(st, root);
    }
    return rc; /* st is v's */
}

int custody_seal(tlo_custody *v, tlo_error *err)
{
    if (!atomic_load(&v->dirty))
        return 0;
    tlo_custody_checkpoint_info c;
    tlo_note_verifier verifier;
    uint8_t prev_root[32], root[32], proof[64][TLO_HASH_BYTES];
    uint64_t prev = 0, size = 0;
    size_t plen = 0;
    char *prev_path = NULL;
    tlo_vault_identity *cust = NULL;
    memset(&c, 0, sizeof c);
    /* The newest checkpoint first, then the ledger: the ledger only grows,
     * so an honest one read after is at least as long (another writer may
     * have sealed in between). The head signed is the one the custodian
     * verified itself, never the stored tree. */
    int rc = tlo_custody_trust(v, c.origin, sizeof c.origin, &verifier, err);
    if (rc || (rc = newest(v, &prev, prev_root, &prev_path, err)) != 0 ||
        (rc = custody_custodian(v, &cust, err)) != 0)
        goto out;
    if ((rc = verified_head(v, cust, &size, root, err)) != 0) {
        char why[TLO_ERROR_MSG_MAX];
        snprintf(why, sizeof why, "%s", err ? err->msg : "");
        tlo_fail(err, rc, "%s; so the custodian signs nothing more", why);
        goto out;
    }
    if (size < prev) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the ledger has %llu entries, but its checkpoint %s covers %llu: entries "
                      "were removed from its end (or an older ledger.db put back), so the "
                      "custodian signs nothing more; run 'tellonce verify'",
                      (unsigned long long)size, prev_path, (unsigned long long)prev);
        goto out;
    }
    /* The newest checkpoint is a prefix of what was verified: a consistency
     * proof from the stored nodes, checked against both trusted roots. */
    if (prev &&
        ((rc = tlo_chain_consistency_proof(v->ch, prev, size, proof, &plen, err)) != 0 ||
         tlo_merkle_verify_consistency(prev, size, prev_root, root,
                                       (const uint8_t(*)[TLO_HASH_BYTES])proof, plen, NULL) != 0)) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the first %llu entries of the ledger are not those of its checkpoint "
                      "%s: the ledger was rewritten, so the custodian signs nothing more; "
                      "run 'tellonce verify'",
                      (unsigned long long)prev, prev_path);
        goto out;
    }
    if (size == prev) { /* already covered (by another writer) */
        atomic_store(&v->dirty, false);
        goto out;
    }
    c.size = size;
    memcpy(c.root, root, 32);
    if ((rc = tlo_checkpoint_sign(c.origin, size, root, c.origin, cust->sign_sk, &c.note,
                                  &c.note_len, err)) != 0 ||
        (rc = keep(v, &c, &c.path, err)) != 0)
        goto out;
    atomic_store(&v->dirty, false);
out:
    tlo_vault_identity_free(cust);
    tlo_custody_checkpoint_info_free(&c);
    free(prev_path);
    return rc;
}

int custody_seal_end(tlo_custody *v, int rc, tlo_error *err)
{
    if (rc == 0)
        return custody_seal(v, err);
    tlo_error e2 = {0};
    if (custody_seal(v, &e2) != 0 && err) {
        size_t n = strlen(err->msg);
        snprintf(err->msg + n, sizeof err->msg - n,
                 " (and what was logged is not covered by a checkpoint: %s)", e2.msg);
    }
    return rc;
}

int tlo_custody_checkpoint(tlo_custody *v, tlo_custody_checkpoint_info *out, tlo_error *err)
{
    tlo_custody_checkpoint_info c;
    tlo_vault_identity *cust = NULL;
    tlo_note_verifier verifier;
    tlo_chain_report r = {0};
    memset(&c, 0, sizeof c);
    if (out)
        memset(out, 0, sizeof *out);
    int rc = tlo_custody_trust(v, c.origin, sizeof c.origin, &verifier, err);
    if (rc)
        return rc;
    /* Verified (incrementally, by the table of kinds), extending the newest
     * checkpoint, covered by a seal. */
    atomic_store(&v->dirty, true);
    if ((rc = custody_seal(v, err)) != 0 || (rc = custody_custodian(v, &cust, err)) != 0)
        return rc;
    if ((rc = verified_head(v, cust, &r.entries, r.root, err)) != 0)
        goto out;
    c.size = r.entries;
    memcpy(c.root, r.root, 32);
    if ((rc = tlo_checkpoint_sign(c.origin, r.entries, r.root, c.origin, cust->sign_sk, &c.note,
                                  &c.note_len, err)) != 0)
        goto out;
    if ((rc = keep(v, &c, &c.path, err)) != 0)
        goto out;
    char root_hex[65], body[200];
    tlo_hex(root_hex, r.root, 32);
    snprintf(body, sizeof body, "root=%s\nsize=%llu\n", root_hex, (unsigned long long)r.entries);
    if ((rc = custody_append(v, cust, TLO_ENTRY_CHECKPOINT, NULL, body, &c.seq, err)) != 0) {
        goto out; /* the file stays: an unlogged checkpoint is a seal */
    }
    /* The checkpoint entry is the tail now: cover it too. */
    if ((rc = custody_seal(v, err)) != 0)
        goto out;
    if (out) {
        *out = c;
        memset(&c, 0, sizeof c);
    }
out:
    tlo_vault_identity_free(cust);
    tlo_custody_checkpoint_info_free(&c);
    return rc;
}

static int cp_cmp(const void *a, const void *b)
{
    const custody_cp *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size;
}

void custody_cps_free(custody_cp *list, size_t n)
{
    for (size_t i = 0; list && i < n; i++)
        free(list[i].path);
    free(list);
}

int custody_dir_checkpoints(const char *dir, const tlo_note_verifier *vk, const char *origin,
                            bool must_exist, custody_cp **list, size_t *n, tlo_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t cap = 0;
    int rc = 0;
    *list = NULL;
    *n = 0;
    if (!d) {
        if (errno == ENOENT && !must_exist)
            return 0;
        return tlo_fail(err, errno == ENOENT ? TLO_ENOTFOUND : TLO_EIO,
                        "cannot read the checkpoint directory %s: %s", dir, strerror(errno));
    }
    while (rc == 0 && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len != 31 || strcmp(de->d_name + 20, ".checkpoint") != 0)
            continue; /* not a checkpoint's name (a temporary file of a crashed write) */
        uint64_t named = 0;
        char digits[21];
        memcpy(digits, de->d_name, 20);
        digits[20] = '\0';
        char *path = tlo_path_join(dir, de->d_name), *text = NULL;
        size_t tlen = 0;
        tlo_checkpoint cp;
        if (!path) {
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
            break;
        }
        if (tlo_parse_u64(digits, &named) != 0)
            rc = tlo_fail(err, TLO_EFORMAT,
                          "%s: a checkpoint is named by its size in 20 digits; remove or rename "
                          "this file",
                          path);
        else if ((rc = tlo_read_file(path, TLO_NOTE_MAX_BYTES, &text, &tlen, err)) == 0 &&
                 (rc = tlo_checkpoint_open(text, tlen, vk, 1, origin, &cp, err)) != 0) {
            char why[TLO_ERROR_MSG_MAX];
            snprintf(why, sizeof why, "%s", err ? err->msg : "");
            tlo_fail(err, rc,
                     "checkpoint %s is not a checkpoint of this ledger signed by its custodian "
                     "(%s): it was altered or comes from another vault",
                     path, why);
        } else if (rc == 0 && cp.size != named) {
            rc = tlo_fail(err, TLO_EFORMAT,
                          "checkpoint %s covers %llu entries, not the %llu of its name: it was "
                          "renamed",
                          path, (unsigned long long)cp.size, (unsigned long long)named);
        }
        free(text);
        if (rc == 0 && *n == cap) {
            size_t c2 = cap ? 2 * cap : 16;
            custody_cp *l = realloc(*list, c2 * sizeof *l);
            if (!l)
                rc = tlo_fail(err, TLO_ENOMEM, "out of memory reading %s", dir);
            else {
                *list = l;
                cap = c2;
            }
        }
        if (rc) {
            free(path);
            break;
        }
        (*list)[*n].size = cp.size;
        memcpy((*list)[*n].root, cp.root, 32);
        (*list)[(*n)++].path = path;
    }
    closedir(d);
    if (rc) {
        custody_cps_free(*list, *n);
        *list = NULL;
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(*list, *n, sizeof **list, cp_cmp);
    return 0;
}

int tlo_custody_checkpoint_publish(tlo_custody *v, const char *dir, size_t *copied, tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *local = tlo_custody_path(v, "checkpoints");
    tlo_note_verifier vk;
    custody_cp *list = NULL;
    size_t n = 0;
    *copied = 0;
    int rc = local ? tlo_custody_trust(v, origin, sizeof origin, &vk, err)
                   : tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (rc == 0 && dir[0] != '/')
        rc = tlo_fail(err, TLO_EARG, "--publish takes an absolute directory, not %s", dir);
    if (rc == 0 && (rc = custody_dir_checkpoints(local, &vk, origin, false, &list, &n, err)) == 0)
        rc = access(dir, W_OK) == 0
                 ? 0
                 : tlo_fail(err, TLO_EIO, "cannot write to the publish directory %s: %s", dir,
                            strerror(errno));
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *name = strrchr(list[i].path, '/') + 1;
        char *there = tlo_path_join(dir, name), *text = NULL;
        size_t len = 0;
        bool present = there && access(there, F_OK) == 0;
        free(there);
        if (present && !(rc = tlo_read_file(list[i].path, TLO_NOTE_MAX_BYTES, &text, &len, err)))
            rc = publish_file(dir, name, text, len, err); /* compares: a fork fails */
        else if (!present &&
                 !(rc = tlo_read_file(list[i].path, TLO_NOTE_MAX_BYTES, &text, &len, err)) &&
                 !(rc = publish_file(dir, name, text, len, err)))
            (*copied)++;
        free(text);
    }
    custody_cps_free(list, n);
    free(local);
    return rc;
}
