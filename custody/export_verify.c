/* verify-export: an exported clip against its manifest, with no key and, if
 * need be, no ledger database (docs/export.md).
 *
 * In this order: the manifest is signed by the custodian, then parsed; its
 * two entries are in the signed checkpoint, signed by the custodian, and say
 * what the manifest says; the clip's bytes are the ones it names; and, with
 * the vault at hand, its ledger agrees. */
#include "internal.h"
#include "manifest.h"
#include "merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_BUF_BYTES (1024 * 1024)

/* SHA-256 of a whole file. */
static int hash_file(const char *path, uint8_t sha[32], uint64_t *bytes, tlo_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tlo_fail(err, errno == ENOENT ? TLO_ENOTFOUND : TLO_EIO, "cannot open %s: %s", path,
                        strerror(errno));
    uint8_t *buf = malloc(HASH_BUF_BYTES);
    crypto_hash_sha256_state st;
    uint64_t off = 0;
    int rc = buf ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory hashing %s", path);
    crypto_hash_sha256_init(&st);
    while (buf) {
        long long n = tlo_pread_full(fd, buf, HASH_BUF_BYTES, off);
        if (n < 0) {
            rc = tlo_fail(err, TLO_EIO, "cannot read %s: %s", path, strerror((int)-n));
            break;
        }
        crypto_hash_sha256_update(&st, buf, (unsigned long long)n);
        off += (uint64_t)n;
        if (n < HASH_BUF_BYTES)
            break;
    }
    crypto_hash_sha256_final(&st, sha);
    *bytes = off;
    free(buf);
    close(fd);
    return rc;
}

/* An entry carried by a proof in the manifest, proven in the checkpoint and
 * signed by the custodian. */
static int open_entry_proof(const char *what, const char *text, size_t len,
                            const tlo_note_verifier *v, tlo_proof_inclusion *p, tlo_checkpoint *cp,
                            tlo_entry *e, tlo_error *err)
{
    tlo_error e2 = {0};
    uint8_t leaf[TLO_HASH_BYTES];
    if (tlo_proof_inclusion_open(text, len, v, 1, v->name, p, cp, &e2) != 0)
        return tlo_fail(err, TLO_EPROOF, "the inclusion proof of the %s: %s", what, e2.msg);
    if (!p->has_extra || tlo_entry_decode(p->extra, p->extra_len, e, &e2) != 0)
        return tlo_fail(err, TLO_EPROOF,
                        "the inclusion proof of the %s does not carry a ledger entry%s%s", what,
                        e2.msg[0] ? ": " : "", e2.msg);
    if (e->seq != p->index)
        return tlo_fail(err, TLO_EPROOF,
                        "the inclusion proof of the %s proves leaf %llu but carries entry %llu",
                        what, (unsigned long long)p->index, (unsigned long long)e->seq);
    tlo_entry_leaf_hash(e, leaf);
    if (tlo_merkle_verify_inclusion(leaf, p->index, cp->size,
                                    (const uint8_t(*)[TLO_HASH_BYTES])p->hashes, p->nhashes,
                                    cp->root, &e2) != 0)
        return tlo_fail(err, TLO_EPROOF,
                        "the %s (entry %llu) is NOT proven to be in the checkpoint: %s", what,
                        (unsigned long long)e->seq, e2.msg);
    if (!tlo_entry_verify(e, v->public_key))
        return tlo_fail(err, TLO_EPROOF, "the %s (entry %llu) is not signed by the custodian", what,
                        (unsigned long long)e->seq);
    return 0;
}

/* Does the entry's body hold key=want? */
static bool body_is(const tlo_entry *e, const char *key, const char *want)
{
    char v[TLO_NOTE_LINE_MAX];
    return tlo_entry_str(e, key, v, sizeof v) == 0 && !strcmp(v, want);
}

static bool body_is_u64(const tlo_entry *e, const char *key, uint64_t want)
{
    uint64_t v;
    return tlo_entry_u64(e, key, &v) == 0 && v == want;
}

/* What the access entry says that the manifest does not, or NULL. */
static const char *access_differs(const tlo_custody_manifest *m, const tlo_entry *e)
{
    char pk[65], segs[64];
    tlo_hex(pk, m->by_pk, 32);
    snprintf(segs, sizeof segs, "%llu-%llu", (unsigned long long)m->seg[0].index,
             (unsigned long long)m->seg[m->nseg - 1].index);
    if (e->seq != m->access_seq)
        return "its number";
    if (e->kind != TLO_ENTRY_ACCESS_GRANTED)
        return "its kind (it is not an access-granted entry)";
    if (!e->has_case || memcmp(e->case_id, m->case_id, TLO_ID_BYTES) != 0)
        return "the case";
    if (!body_is(e, "action", "export"))
        return "the action (it did not grant an export)";
    if (!body_is(e, "session", m->session))
        return "the session";
    if (!body_is_u64(e, "from_ms", m->from_ms) || !body_is_u64(e, "to_ms", m->to_ms))
        return "the range";
    if (!body_is(e, "actor", pk))
        return "who was granted access";
    if (!body_is(e, "purpose", m->purpose))
        return "the purpose";
    if (!body_is(e, "grant", m->grant))
        return "the grant";
    if (!body_is(e, "segments", segs))
        return "the segments released";
    for (size_t i = 1; i < m->nseg; i++)
        if (m->seg[i].index != m->seg[i - 1].index + 1)
            return "the segments (the manifest's list has a gap)";
    return NULL;
}

/* What the export entry says that the manifest does not, or NULL. */
static const char *export_differs(const tlo_custody_manifest *m, const tlo_entry *e)
{
    char pk[65], sha[65], at[40];
    size_t wl;
    tlo_hex(pk, m->by_pk, 32);
    tlo_hex(sha, m->sha256, 32);
    custody_utc_text(at, sizeof at, e->time_ms);
    if (e->seq != m->export_seq)
        return "its number";
    if (e->kind != TLO_ENTRY_EXPORT)
        return "its kind (it is not an export entry)";
    if (!e->has_case || memcmp(e->case_id, m->case_id, TLO_ID_BYTES) != 0)
        return "the case";
    if (!body_is_u64(e, "access", m->access_seq))
        return "the access entry";
    if (!body_is(e, "clip_sha256", sha))
        return "the clip's SHA-256";
    if (!body_is_u64(e, "bytes", m->bytes))
        return "the clip's size";
    if (!body_is(e, "session", m->session))
        return "the session";
    if (!body_is_u64(e, "from_ms", m->from_ms) || !body_is_u64(e, "to_ms", m->to_ms))
        return "the range";
    if (!body_is_u64(e, "clip_start_ms", m->clip_start_ms) ||
        !body_is_u64(e, "clip_end_ms", m->clip_end_ms))
        return "what the clip holds";
    if (!body_is(e, "exporter", pk))
        return "who exported it";
    /* Exports before issue 13 logged the file name; since, none is. */
    if (tlo_entry_body_get(e->body, e->body_len, "file", &wl) != NULL &&
        !body_is(e, "file", m->file))
        return "the clip's file name";
    if (m->watermark[0] ? !body_is(e, "watermark", m->watermark)
                        : tlo_entry_body_get(e->body, e->body_len, "watermark", &wl) != NULL)
        return "the watermark burned into the clip (or whether there is one)";
    if (m->layout[0] ? !body_is(e, "layout", m->layout)
                     : tlo_entry_body_get(e->body, e->body_len, "layout", &wl) != NULL)
        return "the layout of the clip's pictures (or whether they were composed)";
    if (strcmp(at, m->at) != 0)
        return "when it was exported";
    return NULL;
}

/* Every source segment line is its segment entry in the ledger (whose first
 * cp_size leaves are given). */
static int check_segments(tlo_chain *ch, const tlo_custody_manifest *m, uint64_t cp_size,
                          uint8_t (*leaves)[TLO_HASH_BYTES], tlo_error *err)
{
    for (size_t i = 0; i < m->nseg; i++) {
        const tlo_custody_manifest_segment *g = &m->seg[i];
        tlo_entry e;
        uint8_t *buf = NULL, leaf[TLO_HASH_BYTES];
        char pt[65], ct[65];
        tlo_hex(pt, g->pt, 32);
        tlo_hex(ct, g->ct, 32);
        if (g->seq >= cp_size || tlo_chain_get(ch, g->seq, &e, &buf, NULL) != 0) {
            free(buf);
            return tlo_fail(err, TLO_EFORMAT, "segment %llu: its entry %llu is not in the ledger",
                            (unsigned long long)g->index, (unsigned long long)g->seq);
        }
        tlo_entry_leaf_hash(&e, leaf);
        bool ok = sodium_memcmp(leaf, leaves[g->seq], TLO_HASH_BYTES) == 0 &&
                  e.kind == TLO_ENTRY_SEGMENT && e.has_case &&
                  !memcmp(e.case_id, m->case_id, TLO_ID_BYTES) &&
                  body_is(&e, "session", m->session) && body_is_u64(&e, "index", g->index) &&
                  body_is(&e, "object", g->object) && body_is_u64(&e, "start_ms", g->start_ms) &&
                  body_is_u64(&e, "end_ms", g->end_ms) && body_is(&e, "plaintext_sha256", pt) &&
                  body_is(&e, "ciphertext_sha256", ct);
        free(buf);
        if (!ok)
            return tlo_fail(err, TLO_EFORMAT,
                            "segment %llu of the manifest is not what its entry %llu in the "
                            "ledger recorded",
                            (unsigned long long)g->index, (unsigned long long)g->seq);
    }
    return 0;
}

/* With the vault's ledger at hand: the two entries are the ledger's own,
 * the ledger matches the checkpoint, and every source segment line is its
 * segment entry. */
static int check_ledger(tlo_chain *ch, const tlo_custody_manifest *m, const tlo_checkpoint *cp,
                        const tlo_entry *entries[2], tlo_error *err)
{
    uint8_t(*leaves)[TLO_HASH_BYTES] = NULL, root[TLO_HASH_BYTES];
    uint64_t size;
    int rc;
    if ((rc = tlo_chain_size(ch, &size, err)) != 0)
        return rc;
    if (size < cp->size)
        return tlo_fail(err, TLO_EFORMAT,
                        "the vault's ledger has %llu entries, fewer than the manifest's "
                        "checkpoint (%llu): it was truncated, or it is another vault",
                        (unsigned long long)size, (unsigned long long)cp->size);
    if ((rc = tlo_chain_leaf_hashes(ch, cp->size, &leaves, err)) != 0)
        return rc;
    tlo_merkle_root_of_leaves(root, (const uint8_t(*)[TLO_HASH_BYTES])leaves, cp->size);
    if (sodium_memcmp(root, cp->root, TLO_HASH_BYTES) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the vault's ledger does not match the manifest's checkpoint: the root of "
                      "its first %llu entries differs (rewritten, forked, or another vault)",
                      (unsigned long long)cp->size);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        uint8_t leaf[TLO_HASH_BYTES];
        tlo_entry_leaf_hash(entries[i], leaf);
        if (sodium_memcmp(leaf, leaves[entries[i]->seq], TLO_HASH_BYTES) != 0) {
            rc = tlo_fail(err, TLO_EFORMAT,
                          "entry %llu of the vault's ledger is not the entry the manifest carries",
                          (unsigned long long)entries[i]->seq);
            goto out;
        }
    }
    rc = check_segments(ch, m, cp->size, leaves, err);
out:
    free(leaves);
    return rc;
}

/* The manifest file: read, signed by the custodian, parsed. */
static int read_manifest(const char *path, const tlo_note_verifier *vk,
                         tlo_custody_export_report *out, tlo_error *err)
{
    tlo_error e2 = {0};
    size_t len;
    tlo_note *note = calloc(1, sizeof *note);
    int rc = note ? tlo_read_file(path, TLO_NOTE_MAX_BYTES, &out->text, &len, err)
                  : tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (rc == 0 && tlo_note_open(out->text, len, vk, 1, note, &e2) != 0)
        rc = tlo_fail(err, TLO_EPROOF,
                      "the manifest %s is not signed by the custodian %s, or was changed since: %s",
                      path, vk->name, e2.msg);
    if (rc == 0 && tlo_custody_manifest_parse(note->text, note->text_len, &out->m, &e2) != 0)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the manifest %s is signed, but is not a manifest tellonce reads: %s", path,
                      e2.msg);
    free(note);
    return rc;
}

/* The clip's bytes are the ones the manifest names. */
static int check_clip(const char *clip, tlo_custody_export_report *out, tlo_error *err)
{
    int rc = hash_file(clip, out->sha256, &out->bytes, err);
    if (rc == 0 &&
        (sodium_memcmp(out->sha256, out->m.sha256, 32) != 0 || out->bytes != out->m.bytes)) {
        char got[65], want[65];
        tlo_hex(got, out->sha256, 32);
        tlo_hex(want, out->m.sha256, 32);
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the clip %s is NOT the exported clip: its SHA-256 is %s (%llu bytes), the "
                      "manifest says %s (%llu bytes)",
                      clip, got, (unsigned long long)out->bytes, want,
                      (unsigned long long)out->m.bytes);
    }
    return rc;
}

static int verify(tlo_custody *v, const tlo_custody_verify_export_params *p, const char *mpath,
                  const tlo_note_verifier *vk, tlo_custody_export_report *out, tlo_error *err)
{
    static const char *const what[2] = {"access entry", "export entry"};
    tlo_proof_inclusion *pr[2] = {calloc(1, sizeof *pr[0]), calloc(1, sizeof *pr[1])};
    tlo_checkpoint cp[2];
    tlo_entry e[2];
    const char *bad;
    int rc = pr[0] && pr[1] ? read_manifest(mpath, vk, out, err)
                            : tlo_fail(err, TLO_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = open_entry_proof(what[i], out->m.proof[i], out->m.proof_len[i], vk, pr[i], &cp[i],
                              &e[i], err);
    if (rc == 0 && (bad = access_differs(&out->m, &e[0])))
        rc = tlo_fail(err, TLO_EFORMAT, "the manifest and its access entry %llu disagree on %s",
                      (unsigned long long)e[0].seq, bad);
    if (rc == 0 && (bad = export_differs(&out->m, &e[1])))
        rc = tlo_fail(err, TLO_EFORMAT, "the manifest and its export entry %llu disagree on %s",
                      (unsigned long long)e[1].seq, bad);
    if (rc == 0)
        rc = check_clip(p->clip, out, err);
    const tlo_entry *pe[2] = {&e[0], &e[1]};
    if (rc == 0 && v)
        rc = check_ledger(v->ch, &out->m, cp[0].size >= cp[1].size ? &cp[0] : &cp[1], pe, err);
    if (rc == 0) {
        out->checkpoint_size = cp[0].size;
        out->ledger_checked = v != NULL;
        snprintf(out->signer, sizeof out->signer, "%s", vk->name);
    }
    free(pr[0]);
    free(pr[1]);
    return rc;
}

int tlo_custody_verify_export(tlo_custody *v, const tlo_custody_verify_export_params *p,
                              tlo_custody_export_report *out, tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *mpath = NULL;
    tlo_note_verifier vk;
    int rc = 0;
    memset(out, 0, sizeof *out);
    if (!p->verifier && !v)
        return tlo_fail(err, TLO_EARG, "verify-export needs a verifier key or a vault");
    if (p->manifest) {
        mpath = strdup(p->manifest);
    } else if ((mpath = malloc(strlen(p->clip) + sizeof TLO_CUSTODY_MANIFEST_SUFFIX))) {
        sprintf(mpath, "%s%s", p->clip, TLO_CUSTODY_MANIFEST_SUFFIX);
    }
    if (!mpath)
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (p->verifier)
        vk = *p->verifier;
    else
        rc = tlo_custody_trust(v, origin, sizeof origin, &vk, err);
    if (rc == 0)
        rc = verify(v, p, mpath, &vk, out, err);
    free(mpath);
    if (rc)
        tlo_custody_export_report_free(out);
    return rc;
}

void tlo_custody_export_report_free(tlo_custody_export_report *r)
{
    if (!r)
        return;
    tlo_custody_manifest_free(&r->m);
    free(r->text);
    memset(r, 0, sizeof *r);
}
