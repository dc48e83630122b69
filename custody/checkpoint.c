/* Checkpoints: C2SP signed notes by the custodian of the ledger's tree head,
 * under the key name of the ledger's origin (docs/ledger-formats.md). The
 * vault keeps every one in checkpoints/, named by tree size
 * (%020llu.checkpoint), and records each as a ledger entry. */
#include "incremental.h"
#include "internal.h"

#include <dirent.h>
#include <errno.h>
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

/* Keeps the note in checkpoints/ (the file before the entry: a logged
 * checkpoint must exist). */
static int keep(tlo_custody *v, const tlo_custody_checkpoint_info *c, char **path, tlo_error *err)
{
    char name[64], *dir = tlo_custody_path(v, "checkpoints");
    int rc = 0;
    *path = NULL;
    if (!dir)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = tlo_fail(err, TLO_EIO, "cannot create %s: %s", dir, strerror(errno));
    snprintf(name, sizeof name, "%020llu.checkpoint", (unsigned long long)c->size);
    if (rc == 0 && !(*path = tlo_path_join(dir, name)))
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (rc == 0 && (rc = tlo_write_new_file(*path, c->note, c->note_len, 0644, err)) != 0) {
        free(*path);
        *path = NULL;
    }
    free(dir);
    return rc;
}

int tlo_custody_checkpoint(tlo_custody *v, tlo_custody_checkpoint_info *out, tlo_error *err)
{
    tlo_custody_checkpoint_info c;
    tlo_vault_identity *cust = NULL;
    tlo_note_verifier verifier;
    tlo_chain_report r;
    memset(&c, 0, sizeof c);
    if (out)
        memset(out, 0, sizeof *out);
    int rc = tlo_custody_trust(v, c.origin, sizeof c.origin, &verifier, err);
    if (rc || (rc = custody_tree_since(v, &r, err)) != 0)
        return rc;
    if (!r.ok)
        return tlo_fail(err, TLO_EFORMAT,
                        "the ledger fails verification, so the custodian will not sign a "
                        "checkpoint of it: %s",
                        r.problem);
    if ((rc = custody_custodian(v, &cust, err)) != 0)
        return rc;
    c.size = r.entries;
    memcpy(c.root, r.root, 32);
    if ((rc = tlo_checkpoint_sign(c.origin, r.entries, r.root, c.origin, cust->sign_sk, &c.note,
                                  &c.note_len, err)) != 0 ||
        (rc = keep(v, &c, &c.path, err)) != 0)
        goto out;
    char root_hex[65], body[200];
    tlo_hex(root_hex, r.root, 32);
    snprintf(body, sizeof body, "root=%s\nsize=%llu\n", root_hex, (unsigned long long)r.entries);
    if ((rc = custody_append(v, cust, TLO_ENTRY_CHECKPOINT, NULL, body, &c.seq, err)) != 0) {
        unlink(c.path);
        goto out;
    }
    if (out) {
        *out = c;
        memset(&c, 0, sizeof c);
    }
out:
    tlo_vault_identity_free(cust);
    tlo_custody_checkpoint_info_free(&c);
    return rc;
}

int tlo_custody_anchors(tlo_custody *v, const char *old_path, tlo_chain_anchor *anchors, size_t *n,
                        char **labels, tlo_error *err)
{
    char *text = NULL, *newest = tlo_custody_newest_checkpoint(v);
    const char *paths[2] = {old_path, newest};
    tlo_checkpoint cp;
    int rc = 0;
    *n = 0;
    for (int i = 0; i < 2 && rc == 0; i++) {
        if (!paths[i])
            continue;
        if ((rc = tlo_custody_checkpoint_read(v, paths[i], &cp, &text, err)) != 0)
            break;
        free(text);
        size_t ll = strlen(paths[i]) + 16;
        labels[*n] = malloc(ll);
        if (labels[*n])
            snprintf(labels[*n], ll, "checkpoint %s", paths[i]);
        anchors[*n].size = cp.size;
        memcpy(anchors[*n].root, cp.root, TLO_HASH_BYTES);
        anchors[*n].label = labels[*n] ? labels[*n] : "a checkpoint";
        (*n)++;
    }
    free(newest);
    return rc;
}
