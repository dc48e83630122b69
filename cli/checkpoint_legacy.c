/* The checkpoint helpers of the commands not yet converted to the custody
 * core (record, recover, export). The converted commands use
 * tlo_custody_checkpoint, tlo_custody_trust, tlo_custody_anchors and the
 * proofs of custody/proof.c instead; this file goes when the last caller
 * does. */
#include "cli.h"
#include "merkle.h"
#include "note.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared ---------------------------------------------------------------- */

int cli_read_file(const char *path, size_t max, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? EXIT_USAGE : EXIT_SYSTEM;
    }
    char *buf = malloc(max + 1);
    long long n = buf ? tlo_pread_full(fd, buf, max + 1, 0) : -ENOMEM;
    close(fd);
    if (n < 0) {
        cli_error("cannot read %s: %s", path, strerror((int)-n));
        free(buf);
        return EXIT_SYSTEM;
    }
    if ((size_t)n > max) {
        cli_error("%s is larger than any file tellonce reads here (%zu bytes)", path, max);
        free(buf);
        return EXIT_BAD_DATA;
    }
    buf[n] = '\0';
    *out = buf;
    *len = (size_t)n;
    return 0;
}

int cli_vault_trust(tlo_chain *c, char *origin, size_t cap, tlo_note_verifier *v)
{
    tlo_entry e;
    uint8_t *buf = NULL, pk[32];
    tlo_error err = {0};
    size_t n, kn = 0;
    char hex[65];
    int rc = EXIT_BAD_DATA;
    if (tlo_chain_get(c, 0, &e, &buf, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    const uint8_t *o = tlo_entry_body_get(e.body, e.body_len, "origin", &n);
    const uint8_t *k = tlo_entry_body_get(e.body, e.body_len, "custodian.pk", &kn);
    if (e.kind != TLO_ENTRY_GENESIS || !o || n == 0 || n >= cap || !k || kn != 64) {
        cli_error("the ledger's first entry is not a genesis naming an origin and a custodian");
        goto out;
    }
    memcpy(origin, o, n);
    origin[n] = '\0';
    memcpy(hex, k, 64);
    hex[64] = '\0';
    if (tlo_unhex(pk, 32, hex) != 0 || tlo_note_verifier_init(v, origin, pk, &err) != 0) {
        if (err.msg[0])
            cli_fail(&err);
        else
            cli_error("the genesis entry holds a malformed custodian key");
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* Opens a checkpoint file and checks its signature by the vault's custodian. */
static int open_checkpoint(const char *path, const tlo_note_verifier *v, const char *origin,
                           tlo_checkpoint *cp, char **text)
{
    size_t len;
    tlo_error err = {0};
    int rc = cli_read_file(path, TLO_NOTE_MAX_BYTES, text, &len);
    if (rc)
        return rc;
    if (tlo_checkpoint_open(*text, len, v, 1, origin, cp, &err) != 0) {
        cli_error("checkpoint %s: %s", path, err.msg);
        free(*text);
        *text = NULL;
        return EXIT_BAD_DATA;
    }
    return 0;
}

char *cli_newest_checkpoint(const char *vault)
{
    char *dir = tlo_path_join(vault, "checkpoints"), best[64] = "";
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

static int write_out(const char *path, const char *text, size_t len)
{
    if (!path || !strcmp(path, "-")) {
        return fwrite(text, 1, len, stdout) == len ? 0 : EXIT_SYSTEM;
    }
    return cli_write_new_file(path, text, len, 0644) == 0 ? 0 : EXIT_SYSTEM;
}

int cli_checkpoint_write(const char *vault, tlo_chain *ch, const char *out_path, bool print)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *note = NULL, *dir = NULL, *path = NULL;
    tlo_vault_identity *cust = NULL;
    tlo_note_verifier v;
    tlo_error err = {0};
    size_t note_len;
    int rc = cli_vault_trust(ch, origin, sizeof origin, &v);
    if (rc)
        return rc;
    tlo_chain_report r;
    if (tlo_chain_verify(ch, &r, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (!r.ok) {
        cli_error("the ledger fails verification, so the custodian will not sign a checkpoint "
                  "of it: %s",
                  r.problem);
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (!(cust = cli_unlock_custodian(vault))) {
        rc = EXIT_BAD_DATA;
        goto out;
    }
    if (tlo_checkpoint_sign(origin, r.entries, r.root, origin, cust->sign_sk, &note, &note_len,
                            &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    /* Keep it in the vault before logging it: a logged checkpoint must exist. */
    char name[64];
    dir = tlo_path_join(vault, "checkpoints");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        cli_error("cannot create %s: %s", dir, strerror(errno));
        rc = EXIT_SYSTEM;
        goto out;
    }
    snprintf(name, sizeof name, "%020llu.checkpoint", (unsigned long long)r.entries);
    path = tlo_path_join(dir, name);
    if (cli_write_new_file(path, note, note_len, 0644) != 0) {
        rc = EXIT_SYSTEM;
        goto out;
    }
    char root_hex[65], body[200];
    tlo_hex(root_hex, r.root, 32);
    snprintf(body, sizeof body, "root=%s\nsize=%llu\n", root_hex, (unsigned long long)r.entries);
    tlo_chain_draft d = {
        .kind = TLO_ENTRY_CHECKPOINT, .body = (const uint8_t *)body, .body_len = strlen(body)};
    tlo_chain_signer s = {.sk = cust->sign_sk};
    memcpy(s.pk, cust->sign_pk, 32);
    uint64_t seq;
    if (tlo_chain_append(ch, &d, 1, &s, &seq, &err) != 0) {
        unlink(path);
        rc = cli_fail(&err);
        goto out;
    }
    if (out_path && (rc = write_out(out_path, note, note_len)) != 0)
        goto out;
    if (print)
        printf("Checkpoint of %llu entries (root %s), signed by the custodian as %s.\n"
               "  kept in %s%s%s\n"
               "  logged as entry %llu\n",
               (unsigned long long)r.entries, root_hex, origin, path,
               out_path ? ", copied to " : "", out_path ? out_path : "", (unsigned long long)seq);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(cust);
    free(note);
    free(dir);
    free(path);
    return rc;
}

int cli_leaf_from_array(void *ctx, uint64_t index, uint8_t out[TLO_MERKLE_HASH_BYTES])
{
    const uint8_t(*leaves)[TLO_HASH_BYTES] = ctx;
    memcpy(out, leaves[index], TLO_HASH_BYTES);
    return 0;
}

/* Anchors for 'tellonce verify': the checkpoint the auditor brings, and the
 * vault's newest. Each is signature-checked first. */
int cli_checkpoint_anchors(tlo_chain *ch, const char *vault, const char *old_path,
                           tlo_chain_anchor *anchors, size_t *n, char **labels)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *text = NULL;
    tlo_note_verifier v;
    tlo_checkpoint cp;
    int rc = cli_vault_trust(ch, origin, sizeof origin, &v);
    *n = 0;
    if (rc)
        return rc;
    char *newest = cli_newest_checkpoint(vault);
    const char *paths[2] = {old_path, newest};
    for (int i = 0; i < 2; i++) {
        if (!paths[i])
            continue;
        if ((rc = open_checkpoint(paths[i], &v, origin, &cp, &text)) != 0) {
            free(newest);
            return rc;
        }
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
    return 0;
}
