/* export: a granted clip taken out of the vault as a standard MP4, with a
 * manifest signed by the custodian that ties its bytes to the ledger
 * (docs/export.md; the manifest's lines are in manifest.c).
 *
 * In this order: the custodian checks the request and logs the access entry
 * (custodian.c) before it releases the keys of the segments in range; the
 * clip is remuxed (player/export.c), or with a watermark decoded and
 * re-encoded with the exporter's name burned into the picture
 * (player/export_watermark.c), and the keys are wiped; the export entry
 * (kind 42: the clip's SHA-256, the access entry) is logged; the custodian
 * signs a checkpoint of the ledger, which now holds both entries; the
 * manifest carries both entries with their inclusion proofs in that
 * checkpoint, and is signed by the custodian.
 *
 * Nothing of it has a name until the end (docs/vault-layout.md, "Temporary
 * files"): the clip (and the watermark encoder's second file) is written
 * into unnamed files (O_TMPFILE) in the output's directory, and the
 * manifest too; once the export entry and the checkpoint are durable the
 * manifest is linked into place, then the clip, each with one linkat. A
 * process killed before leaves nothing in that directory: the plaintext in
 * the unnamed files goes with it. Killed after the export entry and before
 * the clip is linked, the ledger logs an export whose clip exists nowhere
 * (its bytes went with the process), perhaps with its manifest at the path:
 * running the export again makes a new clip, logs it as a new export and
 * replaces that manifest, whose clip is missing, with its own. A clip at
 * the path is never replaced. */
#include "internal.h"
#include "tlo_time.h"
#include "manifest.h"
#include "merkle.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A manifest at mpath that names file (the clip, absent) is what an export
 * killed between its two links left: a half-made output that exporting
 * again replaces. vk NULL: the note's signature is not checked (only to
 * decide whether to go on and ask for a passphrase; the export checks it
 * with the custodian's key before it removes anything). */
static bool half_made(const char *mpath, const char *file, const tlo_note_verifier *vk)
{
    char *text = NULL;
    size_t len = 0;
    tlo_note *note = calloc(1, sizeof *note);
    tlo_custody_manifest m;
    tlo_error e = {0};
    bool yes = false;
    memset(&m, 0, sizeof m);
    if (note && tlo_read_file(mpath, TLO_NOTE_MAX_BYTES, &text, &len, &e) == 0 &&
        (vk ? tlo_note_open(text, len, vk, 1, note, &e)
            : tlo_note_parse_unverified(text, len, note, &e)) == 0 &&
        tlo_custody_manifest_parse(note->text, note->text_len, &m, &e) == 0)
        yes = !strcmp(m.file, file);
    tlo_custody_manifest_free(&m);
    free(note);
    free(text);
    return yes;
}

/* An output fd as to_fds wants it: an empty regular file with no name,
 * open for writing (and reading, when read_too). */
static int fd_output_ok(int fd, bool read_too, const char *what, const char *path, tlo_error *err)
{
    struct stat st;
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    const char *wrong = NULL;
    if (fl < 0 || fstat(fd, &st) != 0)
        wrong = "is not open";
    else if (!S_ISREG(st.st_mode))
        wrong = "is not a regular file";
    else if (st.st_nlink != 0)
        wrong = "has a name already (it must be an unnamed O_TMPFILE file)";
    else if (st.st_size != 0)
        wrong = "is not empty";
    else if ((fl & O_ACCMODE) != O_RDWR && (read_too || (fl & O_ACCMODE) != O_WRONLY))
        wrong = read_too ? "is not open for reading and writing" : "is not open for writing";
    if (wrong)
        return tlo_fail(err, TLO_EARG,
                        "the file handed over for the %s of %s (fd %d) %s; nothing was exported: "
                        "run the export again",
                        what, path, fd, wrong);
    return 0;
}

static int fd_outputs_ok(const tlo_custody_export_params *p, tlo_error *err)
{
    int rc = fd_output_ok(p->out_fd, true, "clip", p->out_path, err);
    return rc ? rc : fd_output_ok(p->manifest_fd, false, "manifest", p->out_path, err);
}

int tlo_custody_export_check(const tlo_custody_export_params *p, tlo_error *err)
{
    const char *session = p->session ? p->session : "";
    if (strlen(session) != 32 || strspn(session, "0123456789abcdef") != 32)
        return tlo_fail(err, TLO_EARG,
                        "--session takes a session id: 32 hex digits, as 'tellonce log' shows "
                        "them");
    if (p->purpose && !tlo_text_ok(p->purpose, TLO_CUSTODY_EXPORT_PURPOSE_MAX))
        return tlo_fail(err, TLO_EARG, "--purpose is one line of text, 1 to %d bytes",
                        TLO_CUSTODY_EXPORT_PURPOSE_MAX);
    if (p->pip && !p->watermark) /* a composed picture is a re-encode, watermarked */
        return tlo_fail(err, TLO_EARG,
                        "a picture-in-picture export is re-encoded with the "
                        "watermark: set watermark with pip");
    if (p->side_by_side && !p->watermark)
        return tlo_fail(err, TLO_EARG,
                        "a side-by-side export is re-encoded with the watermark: set watermark "
                        "with side_by_side");
    if ((p->pip ? 1 : 0) + (p->side_by_side ? 1 : 0) + (p->camera ? 1 : 0) > 1 ||
        p->camera > TLO_PLAYER_MAX_TRACKS)
        return tlo_fail(err, TLO_EARG,
                        "an export has one layout: pip, side-by-side or one camera (cam1 to "
                        "cam%d)",
                        TLO_PLAYER_MAX_TRACKS);
    const char *out = p->out_path, *slash = strrchr(out, '/');
    const char *file = slash ? slash + 1 : out;
    size_t flen = strlen(file);
    /* What a court's player opens, and what the manifest and the .sha256
     * file are named after. */
    if (flen <= 4 || strcasecmp(file + flen - 4, ".mp4") != 0)
        return tlo_fail(err, TLO_EARG,
                        "-o: %s is not the name of an MP4 file; an export is a standard MP4: "
                        "name it CLIP.mp4 (its manifest and checksum go beside it as "
                        "CLIP.mp4.manifest and CLIP.mp4.sha256)",
                        file);
    /* The manifest names the clip's file (its sha256sum line) and travels
     * to outsiders: a name that holds the case number would give it away.
     * (The ledger does not log the name: it may hold a child's.) */
    if (p->case_number && p->case_number[0] && strstr(file, p->case_number))
        return tlo_fail(err, TLO_EARG,
                        "-o: the clip's file name %s holds the case number, and the manifest "
                        "that goes with the clip names it; name the clip without it (by the "
                        "session or a court reference, say)",
                        file);
    if (!tlo_text_ok(file, TLO_CUSTODY_EXPORT_FILE_MAX) || strchr(file, '\\'))
        return tlo_fail(err, TLO_EARG,
                        "-o: the clip's file name must be one line of text of at most %d bytes, "
                        "without a backslash (the manifest names it as sha256sum prints it)",
                        TLO_CUSTODY_EXPORT_FILE_MAX);
    if (p->to_fds)
        return fd_outputs_ok(p, err);
    /* A directory we cannot write in is a usage error, found before any
     * access is asked for. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - out) + (slash == out) : 1,
             slash ? out : ".");
    if (access(dir, W_OK) != 0)
        return tlo_fail(err, TLO_EARG, "cannot write the clip in %s: %s", dir, strerror(errno));
    size_t ml = strlen(out) + sizeof TLO_CUSTODY_MANIFEST_SUFFIX + sizeof TLO_CUSTODY_SHA256_SUFFIX;
    char *mpath = malloc(ml), *spath = malloc(ml);
    int rc = 0;
    if (!mpath || !spath) {
        free(mpath);
        free(spath);
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    }
    snprintf(mpath, ml, "%s%s", out, TLO_CUSTODY_MANIFEST_SUFFIX);
    snprintf(spath, ml, "%s%s", out, TLO_CUSTODY_SHA256_SUFFIX);
    if (access(out, F_OK) == 0 || (access(mpath, F_OK) == 0 && !half_made(mpath, file, NULL)))
        rc = tlo_fail(err, TLO_EARG, "%s already exists; tellonce never overwrites a file",
                      access(out, F_OK) == 0 ? out : mpath);
    else if (access(spath, F_OK) == 0)
        rc = tlo_fail(err, TLO_EARG,
                      "%s already exists; tellonce never overwrites a file: move it away, or "
                      "name the clip otherwise",
                      spath);
    free(mpath);
    free(spath);
    return rc;
}

void tlo_custody_export_result_free(tlo_custody_export_result *r)
{
    if (!r)
        return;
    free(r->manifest_path);
    r->manifest_path = NULL;
    free(r->sha256_path);
    r->sha256_path = NULL;
}

int tlo_custody_export_write_sha256(const char *clip_path, const uint8_t sha256[static 32],
                                    char **path_out, tlo_error *err)
{
    const char *slash = strrchr(clip_path, '/');
    const char *file = slash ? slash + 1 : clip_path;
    char hex[65], *dir = NULL, *path = NULL, *text = NULL;
    int fd = -1, rc = 0;
    if (path_out)
        *path_out = NULL;
    size_t pl = strlen(clip_path) + sizeof TLO_CUSTODY_SHA256_SUFFIX;
    size_t tl = strlen(file) + sizeof hex + 3;
    tlo_hex(hex, sha256, 32);
    if (!(dir = slash ? strndup(clip_path, slash == clip_path ? 1 : (size_t)(slash - clip_path))
                      : strdup(".")) ||
        !(path = malloc(pl)) || !(text = malloc(tl))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(path, pl, "%s%s", clip_path, TLO_CUSTODY_SHA256_SUFFIX);
    /* As sha256sum prints it: two spaces (text mode), the base name. */
    int n = snprintf(text, tl, "%s  %s\n", hex, file);
    if ((rc = custody_tmpfile(dir, &fd, err)) != 0)
        goto out;
    if (tlo_write_all(fd, text, (size_t)n) != 0 || fchmod(fd, 0600) != 0) {
        rc = tlo_fail(err, TLO_EIO, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    if ((rc = custody_link_fd(fd, path, dir, err)) == 0 && path_out) {
        *path_out = path;
        path = NULL;
    }
out:
    if (fd >= 0)
        close(fd);
    free(dir);
    free(path);
    free(text);
    return rc;
}

/* The inclusion proof of entry seq in the checkpoint cp_text (of cp_size
 * entries), from the stored tree, carrying the entry. */
static int entry_proof(tlo_chain *ch, const char *cp_text, uint64_t cp_size, uint64_t seq,
                       char **out, size_t *out_len, tlo_error *err)
{
    tlo_proof_inclusion *p = calloc(1, sizeof *p);
    uint8_t *buf = NULL, *enc = malloc(TLO_ENTRY_MAX_BYTES);
    tlo_entry e;
    int rc;
    if (!p || !enc) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        goto out;
    }
    if ((rc = tlo_chain_get(ch, seq, &e, &buf, err)) != 0 ||
        (rc = tlo_chain_inclusion_proof(ch, seq, cp_size, p->hashes, &p->nhashes, err)) != 0)
        goto out;
    size_t n = tlo_entry_encode(&e, enc, TLO_ENTRY_MAX_BYTES);
    if (n == 0 || n > TLO_PROOF_EXTRA_MAX) {
        rc = tlo_fail(err, TLO_EFORMAT, "entry %llu is %zu bytes, larger than a proof carries (%d)",
                      (unsigned long long)seq, n, TLO_PROOF_EXTRA_MAX);
        goto out;
    }
    p->index = seq;
    p->has_extra = true;
    p->extra_len = n;
    memcpy(p->extra, enc, n);
    p->checkpoint = cp_text;
    p->checkpoint_len = strlen(cp_text);
    rc = tlo_proof_inclusion_format(p, out, out_len, err);
out:
    free(p);
    free(enc);
    free(buf);
    return rc;
}

/* Has the custodian sign a checkpoint that covers entry upto, and makes the
 * inclusion proofs of the manifest's two entries in it (into m->proof,
 * malloc'd). */
static int proofs_in_checkpoint(tlo_custody *v, const tlo_note_verifier *vk, uint64_t upto,
                                tlo_custody_manifest *m, char *proof[2], uint64_t *cp_size,
                                tlo_error *err)
{
    tlo_custody_checkpoint_info info;
    uint8_t root[TLO_HASH_BYTES];
    tlo_checkpoint cp;
    tlo_error e2 = {0};
    int rc = tlo_custody_checkpoint(v, &info, err);
    if (rc)
        return rc;
    if (tlo_checkpoint_open(info.note, info.note_len, vk, 1, vk->name, &cp, &e2) != 0) {
        rc = tlo_fail(err, TLO_EFORMAT, "checkpoint %s: %s", info.path, e2.msg);
    } else if (cp.size <= upto) {
        rc = tlo_fail(err, TLO_EIO, "the newest checkpoint (%s) does not cover entry %llu",
                      info.path, (unsigned long long)upto);
    } else if ((rc = tlo_chain_root_at(v->ch, cp.size, root, err)) == 0) {
        if (sodium_memcmp(root, cp.root, TLO_HASH_BYTES) != 0)
            rc = tlo_fail(err, TLO_EFORMAT,
                          "the ledger does not match its newest checkpoint %s; run 'tellonce "
                          "verify'",
                          info.path);
    }
    if (rc == 0)
        *cp_size = cp.size;
    if (rc == 0 && (rc = entry_proof(v->ch, info.note, cp.size, m->access_seq, &proof[0],
                                     &m->proof_len[0], err)) == 0)
        rc =
            entry_proof(v->ch, info.note, cp.size, m->export_seq, &proof[1], &m->proof_len[1], err);
    m->proof[0] = proof[0];
    m->proof[1] = proof[1];
    tlo_custody_checkpoint_info_free(&info);
    return rc;
}

/* The purpose and grant as the access entry logged them. */
static int access_facts(tlo_chain *ch, uint64_t seq, tlo_custody_manifest *m, tlo_error *err)
{
    tlo_entry e;
    uint8_t *buf = NULL;
    int rc = tlo_chain_get(ch, seq, &e, &buf, err);
    if (rc)
        return rc;
    bool ok = e.kind == TLO_ENTRY_ACCESS_GRANTED &&
              tlo_entry_str(&e, "purpose", m->purpose, sizeof m->purpose) == 0 &&
              tlo_entry_str(&e, "grant", m->grant, sizeof m->grant) == 0;
    free(buf);
    if (!ok)
        return tlo_fail(err, TLO_EIO,
                        "entry %llu is not the access entry the custodian just logged",
                        (unsigned long long)seq);
    return 0;
}

/* Appends the export entry, signed by the custodian; m gets its number and
 * time. */
static int log_export(tlo_custody *v, const tlo_vault_identity *cust, tlo_custody_manifest *m,
                      tlo_error *err)
{
    char body[2048 + TLO_PLAYER_WATERMARK_MAX], sha[65], by[65];
    tlo_hex(sha, m->sha256, 32);
    tlo_hex(by, m->by_pk, 32);
    /* Keys in byte order, as a canonical body must have them ("layout" and
     * "watermark" only when there is one). Not the clip's file name: people
     * name files after the child; the clip is its SHA-256 and size. */
    int n =
        snprintf(body, sizeof body,
                 "access=%llu\nbytes=%llu\nclip_end_ms=%llu\nclip_sha256=%s\n"
                 "clip_start_ms=%llu\nexporter=%s\nfrom_ms=%llu\n%s%s%s"
                 "session=%s\nto_ms=%llu\n%s%s%s",
                 (unsigned long long)m->access_seq, (unsigned long long)m->bytes,
                 (unsigned long long)m->clip_end_ms, sha, (unsigned long long)m->clip_start_ms, by,
                 (unsigned long long)m->from_ms, m->layout[0] ? "layout=" : "", m->layout,
                 m->layout[0] ? "\n" : "", m->session, (unsigned long long)m->to_ms,
                 m->watermark[0] ? "watermark=" : "", m->watermark, m->watermark[0] ? "\n" : "");
    if (n < 0 || (size_t)n >= sizeof body)
        return tlo_fail(err, TLO_EIO, "the export entry's body does not fit in %zu bytes",
                        sizeof body);
    int rc = custody_append(v, cust, TLO_ENTRY_EXPORT, m->case_id, body, &m->export_seq, err);
    tlo_entry e;
    uint8_t *buf = NULL;
    if (rc || (rc = tlo_chain_get(v->ch, m->export_seq, &e, &buf, err)) != 0)
        return rc;
    custody_utc_text(m->at, sizeof m->at, e.time_ms);
    free(buf);
    return 0;
}

/* "EXPORTED FOR NAME - CASE ID - local date and time": on every picture,
 * the case by its internal id (the text is logged in the export entry). */
static int watermark_text(char *out, size_t cap, const char *by, const char *case_number,
                          tlo_error *err)
{
    char when[TLO_TIME_TEXT_MAX];
    tlo_time_text((uint64_t)time(NULL) * 1000, when, sizeof when);
    snprintf(out, cap, "EXPORTED FOR %s - CASE %s - %s", by, case_number, when);
    if (!tlo_text_ok(out, TLO_PLAYER_WATERMARK_MAX))
        return tlo_fail(err, TLO_EFORMAT,
                        "the watermark \"%s\" is not one line of text of at most %d bytes", out,
                        TLO_PLAYER_WATERMARK_MAX);
    return 0;
}

/* What the manifest says of the release, the clip and who asked. */
static int manifest_facts(const tlo_custody_case *cs, const tlo_custody_export_params *p,
                          const tlo_custody_released *rel, const tlo_custody_export_result *r,
                          const char *by, const uint8_t by_pk[32], tlo_custody_manifest *m,
                          tlo_error *err)
{
    const char *slash = strrchr(p->out_path, '/');
    size_t used = 0;
    memcpy(m->case_id, cs->id, TLO_ID_BYTES);
    snprintf(m->session, sizeof m->session, "%s", p->session);
    snprintf(m->by, sizeof m->by, "%s", by);
    memcpy(m->by_pk, by_pk, 32);
    snprintf(m->file, sizeof m->file, "%s", slash ? slash + 1 : p->out_path);
    snprintf(m->watermark, sizeof m->watermark, "%s", r->watermark);
    m->help = true;
    if (p->camera)
        snprintf(m->layout, sizeof m->layout, "cam%u", p->camera);
    else
        snprintf(m->layout, sizeof m->layout, "%s",
                 p->pip            ? "pip"
                 : p->side_by_side ? "side-by-side"
                                   : "");
    m->from_ms = rel->from_ms;
    m->to_ms = rel->to_ms;
    m->access_seq = rel->access_seq;
    m->clip_start_ms = r->clip.clip_start_ms;
    m->clip_end_ms = r->clip.clip_end_ms;
    m->bytes = r->clip.bytes;
    memcpy(m->sha256, r->clip.sha256, 32);
    for (unsigned k = 0; k < r->clip.tracks; k++) {
        int n = snprintf(m->tracks + used, sizeof m->tracks - used, "%s%s:%s", k ? " " : "",
                         r->clip.track[k].kind == TLO_PLAYER_TRACK_VIDEO ? "video" : "audio",
                         r->clip.track[k].codec);
        if (n < 0 || (size_t)n >= sizeof m->tracks - used)
            return tlo_fail(err, TLO_EIO, "the clip's tracks do not fit in a manifest");
        used += (size_t)n;
    }
    if (!(m->seg = calloc(rel->n, sizeof *m->seg)))
        return tlo_fail(err, TLO_ENOMEM, "out of memory for the manifest");
    m->nseg = rel->n;
    for (size_t i = 0; i < rel->n; i++) {
        const tlo_custody_segment *s = &rel->seg[i];
        m->seg[i] = (tlo_custody_manifest_segment){
            .index = s->index, .start_ms = s->start_ms, .end_ms = s->end_ms, .seq = s->seq};
        memcpy(m->seg[i].object, s->object, sizeof m->seg[i].object);
        memcpy(m->seg[i].pt, s->plaintext_sha256, 32);
        memcpy(m->seg[i].ct, s->ciphertext_sha256, 32);
    }
    return 0;
}

/* The time of session's session-start entry (UTC ms), for pip's date and
 * time; 0 when it cannot be read (the clock then shows alone). */
typedef struct start_scan {
    const char *session;
    uint64_t ms;
} start_scan;

static int visit_start(void *ctx, const tlo_entry *e, const uint8_t leaf[static 32], tlo_error *err)
{
    start_scan *s = ctx;
    char session[40];
    (void)leaf;
    (void)err;
    if (e->kind == TLO_ENTRY_SESSION_START &&
        tlo_entry_str(e, "session", session, sizeof session) == 0 &&
        strcmp(session, s->session) == 0)
        s->ms = e->time_ms;
    return 0;
}

static uint64_t session_started(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
                                const char *session)
{
    start_scan s = {.session = session};
    tlo_error err = {0};
    tlo_chain_walk_case(v->ch, case_id, 0, visit_start, &s, &err);
    return s.ms;
}

/* Remuxes (or re-encodes) the released segments into the unnamed file
 * to->fd; wipes the keys whatever happens. */
static int mux(tlo_custody *v, const uint8_t case_id[static TLO_ID_BYTES],
               tlo_custody_released *rel, const tlo_custody_export_params *p,
               const tlo_player_export_output *to, tlo_custody_export_result *r, tlo_error *err)
{
    bool composed = p->pip || p->side_by_side;
    tlo_player_pip pip = {.started_ms = composed ? session_started(v, case_id, p->session) : 0,
                          .kind = p->pip      ? TLO_LAYOUT_PIP
                                  : p->camera ? TLO_LAYOUT_CAMERA
                                              : TLO_LAYOUT_SIDE_BY_SIDE,
                          .camera = p->camera};
    bool laid_out = composed || p->camera;
    tlo_player_export_segment *segs = calloc(rel->n, sizeof *segs);
    char **paths = calloc(rel->n, sizeof *paths);
    int rc = segs && paths ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < rel->n; i++) {
        if (!(paths[i] = tlo_custody_object_path(v, rel->seg[i].object)))
            rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        segs[i] = (tlo_player_export_segment){.path = paths[i],
                                              .object_key = rel->seg[i].key,
                                              .index = rel->seg[i].index,
                                              .start_ms = rel->seg[i].start_ms,
                                              .end_ms = rel->seg[i].end_ms,
                                              .plaintext_sha256 = rel->seg[i].plaintext_sha256};
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == 0)
        rc = p->watermark
                 ? tlo_player_export_mp4_watermarked(segs, rel->n, rel->from_ms, rel->to_ms,
                                                     r->watermark, laid_out ? &pip : NULL, to,
                                                     &r->clip, err)
             : p->camera
                 ? tlo_player_export_mp4_layout(segs, rel->n, rel->from_ms, rel->to_ms, &pip, to,
                                                &r->clip, err)
                 : tlo_player_export_mp4(segs, rel->n, rel->from_ms, rel->to_ms, to, &r->clip, err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->mux_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    /* The keys have done their work: wipe them now. */
    for (size_t i = 0; i < rel->n; i++) {
        sodium_free(rel->seg[i].key);
        rel->seg[i].key = NULL;
    }
    for (size_t i = 0; paths && i < rel->n; i++)
        free(paths[i]);
    free(paths);
    free(segs);
    return rc;
}

/* Links the manifest (text) and then the clip (clip_fd) into place in dir;
 * a manifest there whose clip is missing (half_made, signed by the
 * custodian vk) is replaced. */
static int publish(const tlo_custody_export_params *p, const char *dir, const char *file,
                   int clip_fd, const char *note, size_t note_len, const tlo_note_verifier *vk,
                   tlo_custody_export_result *r, tlo_error *err)
{
    if (p->to_fds) { /* the caller links both; the clip is synced already */
        if (tlo_write_all(p->manifest_fd, note, note_len) != 0 || fsync(p->manifest_fd) != 0)
            return tlo_fail(err, TLO_EIO, "cannot write %s (the file handed over for it): %s",
                            r->manifest_path, strerror(errno));
        return 0;
    }
    int mfd = -1, rc = custody_tmpfile(dir, &mfd, err);
    if (rc == 0 && (tlo_write_all(mfd, note, note_len) != 0 || fchmod(mfd, 0600) != 0))
        rc = tlo_fail(err, TLO_EIO, "cannot write %s: %s", r->manifest_path, strerror(errno));
    if (rc == 0 && access(r->manifest_path, F_OK) == 0) {
        if (access(p->out_path, F_OK) == 0 || !half_made(r->manifest_path, file, vk))
            rc = tlo_fail(err, TLO_EEXIST,
                          "%s appeared while exporting; it is left as it was (tellonce never "
                          "overwrites a file): move it away and export again",
                          access(p->out_path, F_OK) == 0 ? p->out_path : r->manifest_path);
        else if (unlink(r->manifest_path) != 0)
            rc = tlo_fail(err, TLO_EIO,
                          "cannot remove %s, the manifest an interrupted export left without "
                          "its clip: %s",
                          r->manifest_path, strerror(errno));
    }
    if (rc == 0 && (rc = custody_link_fd(mfd, r->manifest_path, dir, err)) == 0) {
        custody_test_kill("export-manifest-published");
        if ((rc = custody_link_fd(clip_fd, p->out_path, dir, err)) != 0)
            unlink(r->manifest_path); /* its clip is not there: not an export */
    }
    if (mfd >= 0)
        close(mfd);
    return rc;
}

/* The finished clip from the unnamed file from into the caller's file to,
 * synced, and read back: what to holds must be the bytes the manifest will
 * name (clip's size and SHA-256), or nothing is logged. */
static int copy_out(int from, int to, const tlo_player_export_result *clip, const char *name,
                    tlo_error *err)
{
    enum { STEP = 1 << 20 };
    uint8_t *buf = malloc(STEP), sha[32];
    crypto_hash_sha256_state h;
    uint64_t off = 0;
    int rc = buf ? 0 : tlo_fail(err, TLO_ENOMEM, "out of memory");
    for (; rc == 0 && off < clip->bytes;) {
        size_t want = clip->bytes - off < STEP ? (size_t)(clip->bytes - off) : STEP;
        long long n = tlo_pread_full(from, buf, want, off);
        if (n != (long long)want)
            rc = tlo_fail(err, TLO_EIO, "cannot read back the clip made for %s: %s", name,
                          n < 0 ? strerror((int)-n) : "it is shorter than it was");
        else if (pwrite(to, buf, want, (off_t)off) != (ssize_t)want)
            rc = tlo_fail(err, TLO_EIO, "cannot write %s (the file handed over for it): %s", name,
                          strerror(errno));
        off += want;
    }
    if (rc == 0 && fsync(to) != 0)
        rc = tlo_fail(err, TLO_EIO, "cannot sync %s to disk: %s", name, strerror(errno));
    crypto_hash_sha256_init(&h);
    for (off = 0; rc == 0 && off < clip->bytes;) {
        size_t want = clip->bytes - off < STEP ? (size_t)(clip->bytes - off) : STEP;
        if (tlo_pread_full(to, buf, want, off) != (long long)want)
            rc = tlo_fail(err, TLO_EIO, "cannot read back %s (the file handed over for it)", name);
        else
            crypto_hash_sha256_update(&h, buf, want);
        off += want;
    }
    struct stat st;
    if (rc == 0) {
        crypto_hash_sha256_final(&h, sha);
        if (fstat(to, &st) != 0 || (uint64_t)st.st_size != clip->bytes ||
            sodium_memcmp(sha, clip->sha256, 32) != 0)
            rc = tlo_fail(err, TLO_EIO,
                          "%s (the file handed over for it) does not hold the clip that was "
                          "made (something else wrote to it); nothing was logged as exported: "
                          "export again",
                          name);
    }
    free(buf);
    return rc;
}

/* After the clip: the export entry, the checkpoint and proofs, the signed
 * manifest; then both are linked into place. */
static int finish(tlo_custody *v, const tlo_custody_case *cs, const tlo_custody_export_params *p,
                  const tlo_custody_released *rel, const char *by, const uint8_t by_pk[32],
                  const char *dir, int clip_fd, tlo_custody_export_result *r, tlo_error *err)
{
    char origin[TLO_NOTE_NAME_MAX + 1], *text = NULL, *note = NULL, *proof[2] = {NULL, NULL};
    size_t text_len = 0, note_len = 0;
    tlo_note_verifier vk;
    tlo_vault_identity *cust = NULL;
    tlo_custody_manifest m;
    memset(&m, 0, sizeof m);
    int rc = tlo_custody_trust(v, origin, sizeof origin, &vk, err);
    if (rc || (rc = manifest_facts(cs, p, rel, r, by, by_pk, &m, err)) != 0 ||
        (rc = access_facts(v->ch, rel->access_seq, &m, err)) != 0)
        goto out;
    if ((rc = custody_custodian(v, &cust, err)) != 0) {
        rc = TLO_EIO; /* the message is the custodian's; a system failure */
        if (err)
            err->code = rc;
        goto out;
    }
    if ((rc = log_export(v, cust, &m, err)) != 0)
        goto out;
    r->export_seq = m.export_seq;
    custody_test_kill("export-logged");
    if ((rc = proofs_in_checkpoint(v, &vk, m.export_seq, &m, proof, &r->checkpoint_size, err)) !=
            0 ||
        (rc = tlo_custody_manifest_format(&m, &text, &text_len, err)) != 0 ||
        (rc = tlo_note_sign(text, text_len, origin, cust->sign_sk, &note, &note_len, err)) != 0)
        goto out;
    rc = publish(p, dir, m.file, clip_fd, note, note_len, &vk, r, err);
out:
    free(proof[0]);
    free(proof[1]);
    tlo_custody_manifest_free(&m);
    tlo_vault_identity_free(cust);
    free(text);
    free(note);
    return rc;
}

int tlo_custody_export(tlo_custody *v, const tlo_vault_identity *actor,
                       const tlo_custody_export_params *p, tlo_custody_export_result *out,
                       tlo_error *err)
{
    tlo_custody_released rel;
    tlo_custody_request req;
    tlo_custody_case cs;
    char by[TLO_NAME_MAX + 1], *dir = NULL;
    uint8_t actor_id[32];
    tlo_player_export_output to = {.fd = -1,
                                   .scratch_fd = -1,
                                   .name = p->out_path,
                                   .progress = p->progress.fn,
                                   .progress_ctx = p->progress.ctx};
    memset(out, 0, sizeof *out);
    memset(&rel, 0, sizeof rel);
    int rc = tlo_custody_export_check(p, err);
    if (rc || (rc = tlo_custody_case_find(v, p->case_number, &cs, err)) != 0)
        return rc;
    /* The unnamed files, in the output's directory (so that a link puts the
     * clip in place), made before any key is asked for. */
    const char *slash = strrchr(p->out_path, '/');
    if (!(dir = slash
                    ? strndup(p->out_path, slash == p->out_path ? 1 : (size_t)(slash - p->out_path))
                    : strdup(".")))
        return tlo_fail(err, TLO_ENOMEM, "out of memory");
    if (p->to_fds) {
        /* The muxers reopen their output by path (/proc/self/fd/N), which
         * the caller's file may not allow (the service's client's, mode
         * 0600): the clip is made in an unnamed file of the vault's private
         * folder, as the watermark encoder's second file, and copied into
         * the caller's at the end (copy_out). */
        free(dir);
        dir = NULL;
        if ((rc = custody_private_dir(v, &dir, err)) != 0 ||
            (rc = custody_tmpfile(dir, &to.fd, err)) != 0 ||
            (p->watermark && (rc = custody_tmpfile(dir, &to.scratch_fd, err)) != 0))
            goto out;
    } else if ((rc = custody_tmpfile(dir, &to.fd, err)) != 0 ||
               (p->watermark && (rc = custody_tmpfile(dir, &to.scratch_fd, err)) != 0)) {
        goto out;
    }
    size_t ml = strlen(p->out_path) + sizeof TLO_CUSTODY_MANIFEST_SUFFIX;
    if (!(out->manifest_path = malloc(ml))) {
        rc = tlo_fail(err, TLO_ENOMEM, "out of memory");
        goto out;
    }
    snprintf(out->manifest_path, ml, "%s%s", p->out_path, TLO_CUSTODY_MANIFEST_SUFFIX);
    /* A manifest already there is replaced only if it is this custodian's,
     * of this clip, which is missing: found before anything is logged. */
    if (!p->to_fds && access(out->manifest_path, F_OK) == 0) {
        char origin[TLO_NOTE_NAME_MAX + 1];
        tlo_note_verifier vk;
        const char *file = slash ? slash + 1 : p->out_path;
        if ((rc = tlo_custody_trust(v, origin, sizeof origin, &vk, err)) != 0)
            goto out;
        if (!half_made(out->manifest_path, file, &vk)) {
            rc = tlo_fail(err, TLO_EARG,
                          "%s already exists and is not a manifest this vault's custodian "
                          "signed for %s; tellonce never overwrites a file: move it away",
                          out->manifest_path, file);
            goto out;
        }
    }
    if ((rc = tlo_custody_request_make(v, actor, TLO_CUSTODY_EXPORT, &cs, p->session, p->from_ms,
                                       p->to_ms, p->purpose, &req, err)) != 0 ||
        (rc = tlo_custody_release(v, &req, &rel, err)) != 0)
        goto out; /* refused (and logged), or nothing was released */
    custody_test_kill("export-released");
    out->access_seq = rel.access_seq;
    out->from_ms = rel.from_ms;
    out->to_ms = rel.to_ms;
    out->segments = rel.n;
    if (rel.n == 0 || rel.n > TLO_PLAYER_EXPORT_MAX_SEGMENTS) {
        rc = tlo_fail(err, TLO_EARG,
                      "the range covers %zu segments; one export holds 1 to %d: export it in "
                      "parts",
                      rel.n, TLO_PLAYER_EXPORT_MAX_SEGMENTS);
        goto out;
    }
    crypto_hash_sha256(actor_id, actor->sign_pk, 32);
    const tlo_custody_person *who = tlo_custody_person_by_actor(v, actor_id);
    snprintf(by, sizeof by, "%s", who ? who->name : actor->name); /* the name the ledger enrols */
    char case_hex[2 * TLO_ID_BYTES + 1]; /* the watermark is logged: never the number */
    tlo_hex(case_hex, cs.id, TLO_ID_BYTES);
    if ((p->watermark &&
         (rc = watermark_text(out->watermark, sizeof out->watermark, by, case_hex, err)) != 0) ||
        (rc = mux(v, cs.id, &rel, p, &to, out, err)) != 0)
        goto out;
    if (to.scratch_fd >= 0)
        close(to.scratch_fd); /* the muxer is done with it: it is gone */
    to.scratch_fd = -1;
    custody_test_kill("export-muxed");
    if (p->to_fds && (rc = copy_out(to.fd, p->out_fd, &out->clip, p->out_path, err)) != 0) {
        out->clip_removed = true;
        goto out;
    }
    if ((rc = finish(v, &cs, p, &rel, by, actor->sign_pk, dir, to.fd, out, err)) != 0) {
        out->clip_removed = true; /* made, never linked: gone with its file */
        goto out;
    }
    /* Last, from the digest the manifest signs (the caller's, with to_fds):
     * the export is complete without it, as the message says. */
    tlo_error e2 = {0};
    if (!p->to_fds &&
        tlo_custody_export_write_sha256(p->out_path, out->clip.sha256, &out->sha256_path, &e2) != 0)
        rc = tlo_fail(err, e2.code,
                      "the export is complete (%s and its manifest are in place, logged as "
                      "export entry %llu), but its checksum file was not written: %s; make it "
                      "in the clip's folder with 'sha256sum FILE > FILE.sha256'",
                      p->out_path, (unsigned long long)out->export_seq, e2.msg);
out:
    if (to.fd >= 0)
        close(to.fd);
    if (to.scratch_fd >= 0)
        close(to.scratch_fd);
    free(dir);
    tlo_custody_released_free(&rel);
    return rc;
}
