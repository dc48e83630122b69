/* tellonce chain — the text formats the custody ledger shares with standard
 * transparency-log tools:
 *
 *   signed notes        c2sp.org/signed-note, Ed25519 (signature type 0x01)
 *   checkpoints         c2sp.org/tlog-checkpoint
 *   inclusion proofs    c2sp.org/tlog-proof@v1
 *   consistency proofs  tellonce.consistency-proof/v1 — tellonce's own: C2SP has no
 *                       consistency-proof file; ours is a header line followed by
 *                       exactly the request body of c2sp.org/tlog-witness add-checkpoint
 *
 * docs/ledger-formats.md shows each format with examples and lists every rule
 * and bound. golang.org/x/mod/sumdb/note is the reference implementation of
 * signed notes; we produce byte-identical notes and accept what it accepts,
 * except where a bound below says otherwise, two signature lines share a key,
 * or base64 is not in its canonical form (non-zero padding bits).
 *
 * Every parser here reads hostile input: lengths are bounded before anything
 * is copied, and a note's text is never handed out before a trusted signature
 * over it has verified (tlo_note_open and the *_open functions). Parsed views
 * (tlo_note, the checkpoint pointer of a proof, extension lines) point into
 * the caller's buffer and live as long as it does. Outputs are zeroed on
 * entry and filled only on success. Text produced here is malloc'd,
 * NUL-terminated (the NUL not counted in the length) and freed by the caller
 * with free().
 *
 * Error codes: TLO_EFORMAT for malformed text; TLO_EUNSUPPORTED for another
 * version or signature algorithm; TLO_EWRONGKEY when no signature by a trusted
 * key is present; TLO_EPROOF when a signature by a trusted key does not
 * verify (the text or the signature was altered); TLO_EARG, TLO_ENOMEM,
 * TLO_ECRYPTO as everywhere. Call sodium_init() first. */
#ifndef TLO_CHAIN_NOTE_H
#define TLO_CHAIN_NOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlo_common.h"

#define TLO_NOTE_MAX_BYTES (1024u * 1024u) /* a whole signed note */
#define TLO_NOTE_MAX_SIGS 100              /* signature lines (the spec asks for >= 16) */
#define TLO_NOTE_LINE_MAX 16384            /* bytes in one line, newline excluded */
#define TLO_NOTE_NAME_MAX 512              /* bytes in a key name */
#define TLO_NOTE_SIG_MAX 8192              /* decoded bytes of one signature, key id included */
#define TLO_NOTE_KEY_ID_BYTES 4
#define TLO_NOTE_ALG_ED25519 0x01
#define TLO_NOTE_PUBLIC_KEY_BYTES 32 /* Ed25519 */
#define TLO_NOTE_SECRET_KEY_BYTES 64 /* libsodium's Ed25519 secret key: seed || public key */
/* "name+xxxxxxxx+" and base64 of 33 bytes (44 characters), plus a NUL */
#define TLO_NOTE_VKEY_MAX (TLO_NOTE_NAME_MAX + 1 + 8 + 1 + 44 + 1)

#define TLO_HASH_BYTES 32 /* SHA-256, RFC 6962 tree hashes */
#define TLO_CHECKPOINT_ORIGIN_MAX TLO_NOTE_NAME_MAX

#define TLO_PROOF_INCLUSION_HEADER "c2sp.org/tlog-proof@v1"
#define TLO_PROOF_CONSISTENCY_HEADER "tellonce.consistency-proof/v1"
#define TLO_PROOF_MAX_HASHES 64 /* an inclusion path in a tree of < 2^64 leaves */
/* The longest RFC 6962 consistency proof between trees of < 2^64 leaves.
 * c2sp.org/tlog-witness allows 63, which covers every tree of <= 2^62 leaves. */
#define TLO_PROOF_CONSISTENCY_MAX_HASHES 65
#define TLO_PROOF_EXTRA_MAX 4096 /* decoded bytes of a proof's "extra" line */
#define TLO_PROOF_MAX_BYTES (TLO_NOTE_MAX_BYTES + 16384u)

/* ---- keys ---------------------------------------------------------------- */

/* A trusted key: what a verifier key string "name+xxxxxxxx+base64(0x01||pk)"
 * holds. Make one with tlo_note_verifier_parse or tlo_note_verifier_init. */
typedef struct tlo_note_verifier {
    char name[TLO_NOTE_NAME_MAX + 1]; /* NUL-terminated */
    size_t name_len;
    uint32_t key_id;
    uint8_t public_key[TLO_NOTE_PUBLIC_KEY_BYTES];
} tlo_note_verifier;

/* The signed-note key id of an Ed25519 key:
 * the first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || public key). */
uint32_t tlo_note_key_id(const char *name, size_t name_len,
                         const uint8_t public_key[static TLO_NOTE_PUBLIC_KEY_BYTES]);

/* Fills v from a key name (NUL-terminated) and an Ed25519 public key. The
 * name must be a valid key name: non-empty, UTF-8, at most TLO_NOTE_NAME_MAX
 * bytes, no Unicode space, no '+', no control character. */
int tlo_note_verifier_init(tlo_note_verifier *v, const char *name,
                           const uint8_t public_key[static TLO_NOTE_PUBLIC_KEY_BYTES],
                           tlo_error *err) __attribute__((warn_unused_result));

/* Parses a verifier key string of len bytes (no newline). The key id must be
 * 8 hex digits (either case) equal to the key id computed from the name and
 * key; the key must be 0x01 followed by 32 bytes. */
int tlo_note_verifier_parse(tlo_note_verifier *v, const char *vkey, size_t len, tlo_error *err)
    __attribute__((warn_unused_result));

/* Writes v as a verifier key string (lower-case hex) into out, which holds
 * out_size >= TLO_NOTE_VKEY_MAX bytes. */
int tlo_note_verifier_format(const tlo_note_verifier *v, char *out, size_t out_size,
                             tlo_error *err);

/* ---- signed notes -------------------------------------------------------- */

/* Signs text (text_len bytes: UTF-8, no control character but newline, ends
 * in a newline, no line over TLO_NOTE_LINE_MAX) with the Ed25519 secret key
 * sk under the key name `name`, and returns the signed note in *out: the text,
 * a blank line and one signature line. sk stays where the caller keeps it
 * (secure memory); nothing of it is copied. The signature is checked against
 * the public half of sk before it is returned. */
int tlo_note_sign(const char *text, size_t text_len, const char *name,
                  const uint8_t sk[static TLO_NOTE_SECRET_KEY_BYTES], char **out, size_t *out_len,
                  tlo_error *err);

typedef struct tlo_note_sig {
    const char *name; /* into the note; not NUL-terminated */
    size_t name_len;
    uint32_t key_id;
    const char *b64; /* the signature as written, key id included */
    size_t b64_len;
    bool verified; /* by a trusted key (tlo_note_open only) */
} tlo_note_sig;

typedef struct tlo_note {
    const char *text; /* the signed text, final newline included */
    size_t text_len;
    size_t nsigs;
    size_t nverified;
    tlo_note_sig sigs[TLO_NOTE_MAX_SIGS]; /* in the order of the note */
} tlo_note;

/* Parses and verifies a signed note of len bytes against nkeys trusted keys.
 * Succeeds only when at least one signature by a trusted key (same name and
 * key id) verifies and none fails; signatures by other keys are ignored but
 * listed. Fails with TLO_EFORMAT on any malformation, including two signature
 * lines with the same key name and key id, and TLO_EARG when two trusted keys
 * share a name and key id. */
int tlo_note_open(const char *msg, size_t len, const tlo_note_verifier *keys, size_t nkeys,
                  tlo_note *out, tlo_error *err) __attribute__((warn_unused_result));

/* The syntax checks of tlo_note_open without any signature check. The text
 * is NOT authenticated: use it to diagnose or to re-serialize, never to act. */
int tlo_note_parse_unverified(const char *msg, size_t len, tlo_note *out, tlo_error *err)
    __attribute__((warn_unused_result));

/* ---- checkpoints --------------------------------------------------------- */

typedef struct tlo_checkpoint {
    char origin[TLO_CHECKPOINT_ORIGIN_MAX + 1]; /* NUL-terminated */
    size_t origin_len;
    uint64_t size; /* leaves in the tree */
    uint8_t root[TLO_HASH_BYTES];
    const char *extensions; /* extension lines, each ending in a newline, into */
    size_t extensions_len;  /* the parsed text; NULL and 0 when there are none */
} tlo_checkpoint;

/* Writes a checkpoint body: origin line, decimal size, base64 root hash, and
 * the extension lines in `extensions` (NULL or "" for none; otherwise
 * non-empty lines each ending in a newline; the spec does not recommend them).
 * tellonce writes origins as the spec recommends: a key name (no spaces, no '+'). */
int tlo_checkpoint_format(const char *origin, uint64_t size,
                          const uint8_t root[static TLO_HASH_BYTES], const char *extensions,
                          char **out, size_t *out_len, tlo_error *err);

/* Parses a checkpoint body (the text of a note whose signature was checked).
 * The origin may be any non-empty line (the spec forbids assuming more). */
int tlo_checkpoint_parse(const char *text, size_t len, tlo_checkpoint *cp, tlo_error *err)
    __attribute__((warn_unused_result));

/* tlo_checkpoint_format without extensions, then tlo_note_sign. */
int tlo_checkpoint_sign(const char *origin, uint64_t size,
                        const uint8_t root[static TLO_HASH_BYTES], const char *key_name,
                        const uint8_t sk[static TLO_NOTE_SECRET_KEY_BYTES], char **out,
                        size_t *out_len, tlo_error *err);

/* tlo_note_open, then tlo_checkpoint_parse of the verified text. When origin
 * is not NULL the checkpoint's origin must equal it (pass it whenever known). */
int tlo_checkpoint_open(const char *msg, size_t len, const tlo_note_verifier *keys, size_t nkeys,
                        const char *origin, tlo_checkpoint *cp, tlo_error *err)
    __attribute__((warn_unused_result));

/* ---- proofs -------------------------------------------------------------- */

/* The number of hashes in an RFC 6962 inclusion proof of leaf `index` in a
 * tree of `size` leaves (index < size), and in a consistency proof from
 * old_size to new_size (old_size <= new_size; 0 when old_size is 0 or equal). */
size_t tlo_proof_inclusion_len(uint64_t index, uint64_t size);
size_t tlo_proof_consistency_len(uint64_t old_size, uint64_t new_size);

/* c2sp.org/tlog-proof@v1: leaf `index` is in the tree of the checkpoint. */
typedef struct tlo_proof_inclusion {
    uint64_t index;
    bool has_extra; /* opaque, unauthenticated data: never trust it */
    size_t extra_len;
    uint8_t extra[TLO_PROOF_EXTRA_MAX];
    size_t nhashes; /* from the leaf's sibling up to the root's child */
    uint8_t hashes[TLO_PROOF_MAX_HASHES][TLO_HASH_BYTES];
    const char *checkpoint; /* the checkpoint, a signed note, verbatim */
    size_t checkpoint_len;
} tlo_proof_inclusion;

/* tellonce.consistency-proof/v1: the checkpoint's tree extends the tree of
 * old_size leaves (whose root the auditor brings). */
typedef struct tlo_proof_consistency {
    uint64_t old_size;
    size_t nhashes;
    uint8_t hashes[TLO_PROOF_CONSISTENCY_MAX_HASHES][TLO_HASH_BYTES];
    const char *checkpoint;
    size_t checkpoint_len;
} tlo_proof_consistency;

/* Writes p as a proof file. p->checkpoint must be a well-formed signed
 * checkpoint, p->index below its size (p->old_size at most its size) and
 * p->nhashes the proof length those sizes call for. */
int tlo_proof_inclusion_format(const tlo_proof_inclusion *p, char **out, size_t *out_len,
                               tlo_error *err);
int tlo_proof_consistency_format(const tlo_proof_consistency *p, char **out, size_t *out_len,
                                 tlo_error *err);

/* Parses a proof file: all syntax, the checkpoint's note and body syntax, and
 * the index (old size) and number of hashes against the checkpoint's size.
 * No signature is checked, so nothing in it is authenticated yet. */
int tlo_proof_inclusion_parse(const char *text, size_t len, tlo_proof_inclusion *p, tlo_error *err)
    __attribute__((warn_unused_result));
int tlo_proof_consistency_parse(const char *text, size_t len, tlo_proof_consistency *p,
                                tlo_error *err) __attribute__((warn_unused_result));

/* Parse, then tlo_checkpoint_open of the embedded checkpoint (see there for
 * origin). On success cp holds the verified checkpoint; checking the hashes
 * against the leaf or the old root is the Merkle code's part. */
int tlo_proof_inclusion_open(const char *text, size_t len, const tlo_note_verifier *keys,
                             size_t nkeys, const char *origin, tlo_proof_inclusion *p,
                             tlo_checkpoint *cp, tlo_error *err)
    __attribute__((warn_unused_result));
int tlo_proof_consistency_open(const char *text, size_t len, const tlo_note_verifier *keys,
                               size_t nkeys, const char *origin, tlo_proof_consistency *p,
                               tlo_checkpoint *cp, tlo_error *err)
    __attribute__((warn_unused_result));

#endif
