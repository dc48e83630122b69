/* Fuzz harness: inclusion proofs (c2sp.org/tlog-proof@v1) and consistency
 * proofs (tellonce.consistency-proof/v1) are hostile input (chain/note.h).
 *
 * The first input byte picks the format (even: inclusion, odd: consistency),
 * the rest is the proof file. It is parsed, then opened against a fixed
 * trusted key. Every proof that parses must format back to exactly the same
 * bytes (one spelling per proof), hold the number of hashes its sizes call
 * for, and point its checkpoint into the input; every proof that opens must
 * carry a checkpoint that verifies on its own. None may crash, leak or read
 * out of bounds. */
#include "note.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

#define FUZZ_ORIGIN "tellonce.test/log"

static uint8_t *fuzz_sk; /* secure memory, kept for the whole run */
static tlo_note_verifier key;
static tlo_proof_inclusion pi;
static tlo_proof_consistency pc;

static void setup(void)
{
    uint8_t seed[32], pk[32];
    if (fuzz_sk)
        return;
    if (sodium_init() < 0)
        abort();
    fuzz_sk = sodium_malloc(TLO_NOTE_SECRET_KEY_BYTES);
    for (int i = 0; i < 32; i++)
        seed[i] = (uint8_t)i;
    if (!fuzz_sk || crypto_sign_seed_keypair(pk, fuzz_sk, seed) != 0 ||
        tlo_note_verifier_init(&key, FUZZ_ORIGIN, pk, NULL) != 0)
        abort();
}

static void same_or_abort(const char *text, size_t len, char *out, size_t out_len)
{
    if (out_len != len || memcmp(out, text, len) != 0)
        abort(); /* two spellings of one proof */
    free(out);
}

static void in_input(const char *text, size_t len, const char *cp, size_t cp_len)
{
    if (cp < text || cp_len == 0 || cp + cp_len != text + len)
        abort();
}

static void checkpoint_verifies(const char *cp, size_t cp_len, uint64_t size)
{
    tlo_checkpoint c;
    if (tlo_checkpoint_open(cp, cp_len, &key, 1, FUZZ_ORIGIN, &c, NULL) != 0 || c.size != size)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlo_checkpoint cp;
    char *out = NULL;
    size_t out_len = 0;

    setup();
    if (size == 0)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    if ((data[0] & 1) == 0) {
        if (tlo_proof_inclusion_parse(text, len, &pi, NULL) == 0) {
            in_input(text, len, pi.checkpoint, pi.checkpoint_len);
            if (pi.nhashes > TLO_PROOF_MAX_HASHES ||
                tlo_proof_inclusion_format(&pi, &out, &out_len, NULL) != 0)
                abort();
            same_or_abort(text, len, out, out_len);
        }
        if (tlo_proof_inclusion_open(text, len, &key, 1, FUZZ_ORIGIN, &pi, &cp, NULL) == 0) {
            if (pi.index >= cp.size || pi.nhashes != tlo_proof_inclusion_len(pi.index, cp.size))
                abort();
            checkpoint_verifies(pi.checkpoint, pi.checkpoint_len, cp.size);
        }
    } else {
        if (tlo_proof_consistency_parse(text, len, &pc, NULL) == 0) {
            in_input(text, len, pc.checkpoint, pc.checkpoint_len);
            if (pc.nhashes > TLO_PROOF_CONSISTENCY_MAX_HASHES ||
                tlo_proof_consistency_format(&pc, &out, &out_len, NULL) != 0)
                abort();
            same_or_abort(text, len, out, out_len);
        }
        if (tlo_proof_consistency_open(text, len, &key, 1, FUZZ_ORIGIN, &pc, &cp, NULL) == 0) {
            if (pc.old_size > cp.size ||
                pc.nhashes != tlo_proof_consistency_len(pc.old_size, cp.size))
                abort();
            checkpoint_verifies(pc.checkpoint, pc.checkpoint_len, cp.size);
        }
    }
    return 0;
}

static int emit_mode(int (*emit)(void *, const uint8_t *, size_t), void *ctx, uint8_t mode,
                     const char *s, size_t len)
{
    uint8_t *buf = malloc(len + 1);
    if (!buf)
        return 1;
    buf[0] = mode;
    memcpy(buf + 1, s, len);
    int rc = emit(ctx, buf, len + 1);
    free(buf);
    return rc;
}

/* Seeds: inclusion proofs with and without extra data, consistency proofs
 * from sizes 0, 6 and 13 to 13, all under checkpoints signed by the key. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const uint8_t root[32] = {0xcf, 0x9b, 0x4c};
    static const struct {
        uint64_t index;
        bool extra;
    } incl[] = {{6, false}, {12, true}, {0, false}};
    static const uint64_t old_sizes[] = {6, 0, 13, 1};
    char *cp = NULL, *out = NULL;
    size_t cp_len = 0, out_len = 0;
    int rc = 0;

    setup();
    if (tlo_checkpoint_sign(FUZZ_ORIGIN, 13, root, FUZZ_ORIGIN, fuzz_sk, &cp, &cp_len, NULL) != 0)
        abort();
    for (size_t i = 0; i < sizeof incl / sizeof incl[0] && rc == 0; i++) {
        memset(&pi, 0, sizeof pi);
        pi.index = incl[i].index;
        pi.nhashes = tlo_proof_inclusion_len(pi.index, 13);
        for (size_t h = 0; h < pi.nhashes; h++)
            memset(pi.hashes[h], (int)(h * 17 + 1), TLO_HASH_BYTES);
        if (incl[i].extra) {
            pi.has_extra = true;
            pi.extra_len = 30;
            memcpy(pi.extra, "age-v1.2.1-darwin-arm64.tar.gz", 30);
        }
        pi.checkpoint = cp;
        pi.checkpoint_len = cp_len;
        if (tlo_proof_inclusion_format(&pi, &out, &out_len, NULL) != 0)
            abort();
        rc = emit_mode(emit, ctx, 0, out, out_len);
        free(out);
    }
    for (size_t i = 0; i < sizeof old_sizes / sizeof old_sizes[0] && rc == 0; i++) {
        memset(&pc, 0, sizeof pc);
        pc.old_size = old_sizes[i];
        pc.nhashes = tlo_proof_consistency_len(pc.old_size, 13);
        for (size_t h = 0; h < pc.nhashes; h++)
            memset(pc.hashes[h], (int)(h * 29 + 3), TLO_HASH_BYTES);
        pc.checkpoint = cp;
        pc.checkpoint_len = cp_len;
        if (tlo_proof_consistency_format(&pc, &out, &out_len, NULL) != 0)
            abort();
        rc = emit_mode(emit, ctx, 1, out, out_len);
        free(out);
    }
    free(cp);
    return rc;
}
