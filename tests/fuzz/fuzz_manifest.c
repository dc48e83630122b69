/* Fuzz harness: an export manifest is hostile input (custody/manifest.c),
 * read by verify-export from a file anyone can hand over.
 *
 * The input is a manifest file: a signed note, or its text alone. Both the
 * input and (if it is a note) the note's text are parsed; a manifest that
 * parses must:
 *   - have every field NUL-terminated inside its buffer, 1 to
 *     TLO_PLAYER_EXPORT_MAX_SEGMENTS segments, and both proofs inside the
 *     text parsed;
 *   - format to a text that parses to the same manifest, and format again to
 *     exactly the same bytes (one spelling of one manifest);
 *   - when signed by the fixed fuzz key, open like verify-export opens it:
 *     the proofs against the same key, the entries they carry decoded.
 * None may crash, leak or read out of bounds.
 *
 * Seeds: manifests made here (signed and not, with and without a watermark,
 * one and three segments). tests/fuzz/corpus/manifest/ holds real ones made
 * by an export (`fuzz_manifest tests/fuzz/corpus/manifest`, or give the
 * files to fuzz_manifest_replay). */
#include "custody.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

#define FUZZ_ORIGIN "tellonce.test/ledger"

static uint8_t *fuzz_sk; /* secure memory, kept for the whole run */
static tlo_note_verifier fuzz_key;

static void setup(void)
{
    uint8_t seed[32], pk[32];
    if (fuzz_sk)
        return;
    if (sodium_init() < 0)
        abort();
    fuzz_sk = sodium_malloc(TLO_NOTE_SECRET_KEY_BYTES);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)(7 * i);
    if (!fuzz_sk || crypto_sign_seed_keypair(pk, fuzz_sk, seed) != 0 ||
        tlo_note_verifier_init(&fuzz_key, FUZZ_ORIGIN, pk, NULL) != 0)
        abort();
}

#define TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

static void check_bounds(const tlo_custody_manifest *m, const char *text, size_t len)
{
    if (!TERMINATED(m->session) || !TERMINATED(m->purpose) || !TERMINATED(m->by) ||
        !TERMINATED(m->grant) || !TERMINATED(m->tracks) || !TERMINATED(m->file) ||
        !TERMINATED(m->range[0]) || !TERMINATED(m->range[1]) || !TERMINATED(m->clip[0]) ||
        !TERMINATED(m->clip[1]) || !TERMINATED(m->at) || !TERMINATED(m->watermark))
        abort();
    if (m->nseg == 0 || m->nseg > TLO_PLAYER_EXPORT_MAX_SEGMENTS || !m->seg)
        abort();
    for (size_t i = 0; i < m->nseg; i++)
        if (!TERMINATED(m->seg[i].object) || strlen(m->seg[i].object) != 32)
            abort();
    for (int i = 0; i < 2; i++)
        if (m->proof_len[i] == 0 || m->proof[i] < text ||
            m->proof_len[i] > (size_t)(text + len - m->proof[i]))
            abort();
}

/* The fields that say what the manifest is (not where its proofs lie). */
static void check_same(const tlo_custody_manifest *a, const tlo_custody_manifest *b)
{
    if (strcmp(a->session, b->session) || strcmp(a->purpose, b->purpose) || strcmp(a->by, b->by) ||
        strcmp(a->grant, b->grant) || strcmp(a->tracks, b->tracks) || strcmp(a->file, b->file) ||
        strcmp(a->at, b->at) || strcmp(a->watermark, b->watermark) || a->help != b->help ||
        strcmp(a->range[0], b->range[0]) || strcmp(a->range[1], b->range[1]) ||
        strcmp(a->clip[0], b->clip[0]) || strcmp(a->clip[1], b->clip[1]))
        abort();
    if (memcmp(a->case_id, b->case_id, sizeof a->case_id) ||
        memcmp(a->by_pk, b->by_pk, sizeof a->by_pk) ||
        memcmp(a->sha256, b->sha256, sizeof a->sha256) || a->from_ms != b->from_ms ||
        a->to_ms != b->to_ms || a->clip_start_ms != b->clip_start_ms ||
        a->clip_end_ms != b->clip_end_ms || a->access_seq != b->access_seq ||
        a->export_seq != b->export_seq || a->bytes != b->bytes || a->nseg != b->nseg)
        abort();
    if (memcmp(a->seg, b->seg, a->nseg * sizeof *a->seg) != 0)
        abort();
    for (int i = 0; i < 2; i++)
        if (a->proof_len[i] != b->proof_len[i] ||
            memcmp(a->proof[i], b->proof[i], a->proof_len[i]) != 0)
            abort();
}

/* format(m) parses back to m, and formats again to the same bytes. */
static void round_trip(const tlo_custody_manifest *m)
{
    tlo_custody_manifest m2;
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (tlo_custody_manifest_format(m, &t1, &l1, NULL) != 0)
        return;
    if (tlo_custody_manifest_parse(t1, l1, &m2, NULL) != 0)
        abort(); /* the writer wrote what the reader refuses */
    check_bounds(&m2, t1, l1);
    check_same(m, &m2);
    if (tlo_custody_manifest_format(&m2, &t2, &l2, NULL) != 0 || l1 != l2 || memcmp(t1, t2, l1))
        abort();
    tlo_custody_manifest_free(&m2);
    free(t1);
    free(t2);
}

/* The proofs, as verify-export opens them once the note is signed. */
static void open_proofs(const tlo_custody_manifest *m)
{
    tlo_proof_inclusion *p = malloc(sizeof *p);
    tlo_checkpoint cp;
    tlo_entry e;
    if (!p)
        return;
    for (int i = 0; i < 2; i++) {
        if (tlo_proof_inclusion_parse(m->proof[i], m->proof_len[i], p, NULL) != 0)
            continue;
        if (tlo_proof_inclusion_open(m->proof[i], m->proof_len[i], &fuzz_key, 1, FUZZ_ORIGIN, p,
                                     &cp, NULL) != 0)
            continue;
        if (p->index >= cp.size)
            abort();
        if (p->has_extra && tlo_entry_decode(p->extra, p->extra_len, &e, NULL) == 0 &&
            e.body_len > p->extra_len)
            abort();
    }
    free(p);
}

static void fuzz_text(const char *text, size_t len)
{
    tlo_custody_manifest m;
    if (tlo_custody_manifest_parse(text, len, &m, NULL) != 0) {
        if (m.seg || m.nseg) /* a failed parse leaves nothing behind */
            abort();
        return;
    }
    check_bounds(&m, text, len);
    round_trip(&m);
    /* The parser accepts one spelling only: the writer gives the input back. */
    char *again = NULL;
    size_t alen = 0;
    if (tlo_custody_manifest_format(&m, &again, &alen, NULL) != 0 || alen != len ||
        memcmp(again, text, len) != 0)
        abort();
    free(again);
    /* The proofs are parsed whoever signed the note, and opened (their own
     * signatures checked) as verify-export does. */
    open_proofs(&m);
    tlo_custody_manifest_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tlo_note note;
    setup();
    fuzz_text((const char *)data, size);
    if (tlo_note_parse_unverified((const char *)data, size, &note, NULL) == 0) {
        /* The text first: tlo_note_open clears note when the signature fails. */
        const char *text = note.text;
        size_t text_len = note.text_len;
        (void)!tlo_note_open((const char *)data, size, &fuzz_key, 1, &note, NULL);
        fuzz_text(text, text_len);
    }
    return 0;
}

/* ---- seeds ---------------------------------------------------------------- */

/* A proof of leaf 0 in a checkpoint of one entry, signed by the fuzz key,
 * carrying extra (a stand-in for the entry). */
static char *make_proof(const char *extra, size_t *len)
{
    static const uint8_t root[32] = {0x5a, 1, 2, 3};
    tlo_proof_inclusion *p = calloc(1, sizeof *p);
    char *cp = NULL, *out = NULL;
    size_t cp_len = 0;
    if (!p ||
        tlo_checkpoint_sign(FUZZ_ORIGIN, 1, root, FUZZ_ORIGIN, fuzz_sk, &cp, &cp_len, NULL) != 0)
        abort();
    p->index = 0;
    p->has_extra = true;
    p->extra_len = strlen(extra);
    memcpy(p->extra, extra, p->extra_len);
    p->checkpoint = cp;
    p->checkpoint_len = cp_len;
    if (tlo_proof_inclusion_format(p, &out, len, NULL) != 0)
        abort();
    free(cp);
    free(p);
    return out;
}

static int emit_manifest(int (*emit)(void *, const uint8_t *, size_t), void *ctx,
                         const tlo_custody_manifest *m)
{
    char *text = NULL, *note = NULL;
    size_t len = 0, note_len = 0;
    if (tlo_custody_manifest_format(m, &text, &len, NULL) != 0 ||
        tlo_note_sign(text, len, FUZZ_ORIGIN, fuzz_sk, &note, &note_len, NULL) != 0)
        abort();
    tlo_custody_manifest back;
    if (tlo_custody_manifest_parse(text, len, &back, NULL) != 0)
        abort(); /* a seed that is not a manifest tests nothing */
    tlo_custody_manifest_free(&back);
    int rc = emit(ctx, (const uint8_t *)note, note_len);
    if (rc == 0)
        rc = emit(ctx, (const uint8_t *)text, len);
    free(text);
    free(note);
    return rc;
}

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static tlo_custody_manifest m;
    tlo_custody_manifest_segment seg[3];
    char *proof[2];
    int rc;
    setup();
    memset(&m, 0, sizeof m);
    memset(seg, 0, sizeof seg);
    for (int i = 0; i < 3; i++) {
        seg[i] = (tlo_custody_manifest_segment){.index = (uint64_t)i,
                                                .start_ms = 2000u * (uint64_t)i,
                                                .end_ms = 2000u * (uint64_t)i + 2000,
                                                .seq = 9 + (uint64_t)i};
        snprintf(seg[i].object, sizeof seg[i].object, "%032x", 0xab0 + i);
        memset(seg[i].pt, 0x11 * (i + 1), 32);
        memset(seg[i].ct, 0x22 * (i + 1), 32);
    }
    proof[0] = make_proof("access=1\n", &m.proof_len[0]);
    proof[1] = make_proof("export=1\n", &m.proof_len[1]);
    m.proof[0] = proof[0];
    m.proof[1] = proof[1];
    memset(m.case_id, 0x42, sizeof m.case_id);
    snprintf(m.session, sizeof m.session, "%s", "0123456789abcdef0123456789abcdef");
    m.from_ms = 1000;
    m.to_ms = 3500;
    m.clip_start_ms = 0;
    m.clip_end_ms = 4000;
    snprintf(m.purpose, sizeof m.purpose, "court hearing 2026-12-01");
    snprintf(m.grant, sizeof m.grant, "7");
    snprintf(m.by, sizeof m.by, "Pia Prosecutor");
    memset(m.by_pk, 0x70, sizeof m.by_pk);
    snprintf(m.at, sizeof m.at, "2026-12-01T11:01:28.123Z");
    m.access_seq = 12;
    m.export_seq = 13;
    snprintf(m.tracks, sizeof m.tracks, "video:h264 video:h264 audio:aac");
    m.seg = seg;
    m.nseg = 2;
    m.bytes = 123456;
    memset(m.sha256, 0x5e, sizeof m.sha256);
    snprintf(m.file, sizeof m.file, "clip 1.mp4");
    rc = emit_manifest(emit, ctx, &m);
    /* Re-encoded, three segments, the longest session times. */
    snprintf(m.watermark, sizeof m.watermark,
             "EXPORTED FOR Pia Prosecutor - CASE 2026-K-0042 - 2026-12-01 12:01:28 CET");
    m.nseg = 3;
    m.to_ms = 999999ull * 3600000 + 3599999;
    m.clip_start_ms = 1000;
    if (rc == 0)
        rc = emit_manifest(emit, ctx, &m);
    free(proof[0]);
    free(proof[1]);
    return rc;
}
