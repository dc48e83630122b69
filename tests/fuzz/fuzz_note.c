/* Fuzz harness: signed notes, verifier keys and checkpoint bodies are
 * hostile input (chain/note.h).
 *
 * The first input byte picks a mode (modulo 3), the rest is the input:
 *   0: a signed note, parsed and opened against two trusted keys (Go's
 *      PeterNeumann and a fixed tellonce key). An opened note must really be
 *      signed: every signature marked verified is checked again here with
 *      libsodium. Its text, if it is a checkpoint that tellonce would write,
 *      must format back to exactly the same bytes;
 *   1: a verifier key string: one that parses must format back to itself
 *      (up to the case of its hex key id) and parse again to the same key;
 *   2: a checkpoint body: one that parses and that tellonce would write must
 *      format back to exactly the same bytes.
 * None may crash, leak or read out of bounds. */
#include "note.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

#define PETER_VKEY "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define PETER_NOTE                                                                                 \
    "If you think cryptography is the answer to your problem,\n"                                   \
    "then you don't know what your problem is.\n"                                                  \
    "\n"                                                                                           \
    "\xe2\x80\x94 PeterNeumann "                                                                   \
    "x08go/ZJkuBS9UG/"                                                                             \
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"               \
    "\xe2\x80\x94 EnochRoot "                                                                      \
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"                                                 \
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
#define FUZZ_ORIGIN "tellonce.test/log"

static uint8_t *fuzz_sk; /* secure memory, kept for the whole run */
static tlo_note_verifier keys[2];
static tlo_note note;

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
    if (!fuzz_sk || crypto_sign_seed_keypair(pk, fuzz_sk, seed) != 0)
        abort();
    if (tlo_note_verifier_parse(&keys[0], PETER_VKEY, strlen(PETER_VKEY), NULL) != 0 ||
        tlo_note_verifier_init(&keys[1], FUZZ_ORIGIN, pk, NULL) != 0)
        abort();
}

/* A checkpoint that parsed must, when tellonce can write it, be written the same. */
static void checkpoint_round_trip(const char *text, size_t len)
{
    tlo_checkpoint cp;
    char *out = NULL, *ext = NULL;
    size_t out_len = 0;

    if (tlo_checkpoint_parse(text, len, &cp, NULL) != 0)
        return;
    if (cp.origin_len == 0 || strlen(cp.origin) != cp.origin_len)
        abort();
    if (cp.extensions) {
        ext = malloc(cp.extensions_len + 1);
        if (!ext)
            return;
        memcpy(ext, cp.extensions, cp.extensions_len);
        ext[cp.extensions_len] = '\0';
    }
    if (tlo_checkpoint_format(cp.origin, cp.size, cp.root, ext, &out, &out_len, NULL) == 0 &&
        (out_len != len || memcmp(out, text, len) != 0))
        abort(); /* two spellings of one checkpoint */
    free(out);
    free(ext);
}

static void fuzz_open(const char *msg, size_t len)
{
    uint8_t sig[TLO_NOTE_SIG_MAX];
    size_t sig_len;

    if (tlo_note_parse_unverified(msg, len, &note, NULL) == 0) {
        if (note.text != msg || note.text_len == 0 || note.text[note.text_len - 1] != '\n' ||
            note.nsigs == 0 || note.nsigs > TLO_NOTE_MAX_SIGS || note.nverified != 0)
            abort();
    }
    if (tlo_note_open(msg, len, keys, 2, &note, NULL) != 0)
        return;
    if (note.nverified == 0)
        abort();
    for (size_t i = 0; i < note.nsigs; i++) {
        const tlo_note_sig *s = &note.sigs[i];
        if (!s->verified)
            continue;
        const tlo_note_verifier *k = s->key_id == keys[0].key_id ? &keys[0] : &keys[1];
        if (sodium_base642bin(sig, sizeof sig, s->b64, s->b64_len, NULL, &sig_len, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0 ||
            sig_len != 68 || s->name_len != k->name_len ||
            memcmp(s->name, k->name, k->name_len) != 0 ||
            crypto_sign_verify_detached(sig + 4, (const uint8_t *)note.text, note.text_len,
                                        k->public_key) != 0)
            abort(); /* a signature reported verified that is not */
    }
    checkpoint_round_trip(note.text, note.text_len);
}

static void fuzz_vkey(const char *s, size_t len)
{
    tlo_note_verifier v, v2;
    char out[TLO_NOTE_VKEY_MAX];

    if (tlo_note_verifier_parse(&v, s, len, NULL) != 0)
        return;
    if (tlo_note_verifier_format(&v, out, sizeof out, NULL) != 0 || strlen(out) != len ||
        strncasecmp(out, s, len) != 0)
        abort();
    if (tlo_note_verifier_parse(&v2, out, len, NULL) != 0 || memcmp(&v, &v2, sizeof v) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    if (size == 0)
        return 0;
    const char *s = (const char *)data + 1;
    switch (data[0] % 3) {
    case 0:
        fuzz_open(s, size - 1);
        break;
    case 1:
        fuzz_vkey(s, size - 1);
        break;
    case 2:
        checkpoint_round_trip(s, size - 1);
        break;
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

/* Seeds: Go's twice-signed note, a checkpoint signed by the trusted fuzz key
 * with a witness-style second signature, verifier keys, checkpoint bodies. */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const uint8_t root[32] = {1, 2, 3};
    static const char witness[] = "\xe2\x80\x94 witness.example AAAAAAA=\n";
    char *cp = NULL, *body = NULL;
    size_t cp_len = 0, body_len = 0;
    char vkey[TLO_NOTE_VKEY_MAX];
    int rc = 0;

    setup();
    if (tlo_checkpoint_sign(FUZZ_ORIGIN, 12345, root, FUZZ_ORIGIN, fuzz_sk, &cp, &cp_len, NULL) !=
            0 ||
        tlo_checkpoint_format(FUZZ_ORIGIN, 7, root, "ext line\n", &body, &body_len, NULL) != 0 ||
        tlo_note_verifier_format(&keys[1], vkey, sizeof vkey, NULL) != 0)
        abort();
    char *cosigned = malloc(cp_len + 128);
    if (!cosigned)
        abort();
    memcpy(cosigned, cp, cp_len);
    memcpy(cosigned + cp_len, witness, sizeof witness - 1);

    rc = emit_mode(emit, ctx, 0, PETER_NOTE, strlen(PETER_NOTE));
    if (rc == 0)
        rc = emit_mode(emit, ctx, 0, cp, cp_len);
    if (rc == 0)
        rc = emit_mode(emit, ctx, 0, cosigned, cp_len + sizeof witness - 1);
    if (rc == 0)
        rc = emit_mode(emit, ctx, 1, PETER_VKEY, strlen(PETER_VKEY));
    if (rc == 0)
        rc = emit_mode(emit, ctx, 1, vkey, strlen(vkey));
    if (rc == 0)
        rc = emit_mode(emit, ctx, 2, body, body_len);
    if (rc == 0)
        rc = emit_mode(emit, ctx, 2, cp, (size_t)(strstr(cp, "\n\n") - cp) + 1);
    free(cosigned);
    free(cp);
    free(body);
    return rc;
}
