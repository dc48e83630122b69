/* Signed notes, checkpoints and proof files (see note.h, docs/ledger-formats.md).
 *
 * A signed note (c2sp.org/signed-note):
 *
 *   text ..................... UTF-8 lines, each ending in 0x0A; no byte < 0x20 but 0x0A
 *   0x0A ..................... the blank line; the LAST "\n\n" of the note splits
 *   signature line, 1..100 ... E2 80 94 20 ("— "), key name, 0x20,
 *                              base64(key id, 4 bytes big-endian || signature), 0x0A
 *
 * The signature is over the text, final newline included. For Ed25519 the key
 * id is SHA-256(name || 0x0A || 0x01 || public key)[0..4].
 *
 * A checkpoint (c2sp.org/tlog-checkpoint) is a note whose text is
 *
 *   origin 0x0A  size 0x0A  base64(root) 0x0A  [extension line 0x0A]...
 *
 * An inclusion proof (c2sp.org/tlog-proof@v1) and our consistency proof:
 *
 *   c2sp.org/tlog-proof@v1 0x0A          tellonce.consistency-proof/v1 0x0A
 *   [extra base64(data) 0x0A]             old <decimal> 0x0A
 *   index <decimal> 0x0A                  [base64(hash) 0x0A]... (at most 65)
 *   [base64(hash) 0x0A]... (at most 64)   0x0A
 *   0x0A                                  checkpoint (a signed note), verbatim
 *   checkpoint (a signed note), verbatim
 *
 * Base64 is RFC 4648 section 4 with padding, and only in its canonical form
 * (libsodium rejects non-zero padding bits), so every value has one spelling. */
#include "note.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_PREFIX "\xe2\x80\x94 " /* U+2014 EM DASH, space */
#define SIG_PREFIX_LEN 4
#define ED25519_SIG_BYTES 64
#define HASH_B64_LEN 44 /* base64 of 32 bytes, one '=' */

/* ---- small helpers ------------------------------------------------------- */

typedef struct {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n)
{
    if (b->oom)
        return;
    if (b->cap - b->len <= n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len <= n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

static void sb_u64(sbuf *b, uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    sb_str(b, s);
}

static void sb_b64(sbuf *b, const uint8_t *bin, size_t n)
{
    char s[sodium_base64_ENCODED_LEN(TLO_PROOF_EXTRA_MAX, sodium_base64_VARIANT_ORIGINAL)];
    if (n > TLO_PROOF_EXTRA_MAX) {
        b->oom = true; /* cannot happen: callers bound n */
        return;
    }
    sodium_bin2base64(s, sizeof s, bin, n, sodium_base64_VARIANT_ORIGINAL);
    sb_str(b, s);
}

/* Hands the buffer to the caller, or reports the allocation failure. */
static int sb_finish(sbuf *b, char **out, size_t *out_len, tlo_error *err)
{
    if (b->oom || !b->p) {
        free(b->p);
        return tlo_fail(err, TLO_ENOMEM, "out of memory while writing a ledger text");
    }
    *out = b->p;
    *out_len = b->len;
    return 0;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes) and its code
 * point, or 0 when it is not one (overlong forms and surrogates included). */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    size_t len;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1fu, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, v = c & 0x0fu, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3fu);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Go's unicode.IsSpace, which the reference implementation applies to key
 * names: the Unicode White_Space property. */
static bool is_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* The rules every byte of a note (and of our proof files) obeys: valid UTF-8,
 * no ASCII control character other than newline, no line over
 * TLO_NOTE_LINE_MAX bytes. `what` names the text in messages. */
static int check_text(const char *what, const char *text, size_t len, tlo_error *err)
{
    const uint8_t *s = (const uint8_t *)text;
    size_t line_start = 0, line_no = 1;

    for (size_t i = 0; i <= len;) {
        if (i == len || s[i] == '\n') {
            if (i - line_start > TLO_NOTE_LINE_MAX)
                return tlo_fail(err, TLO_EFORMAT,
                                "%s has a line of %zu bytes (line %zu); this reader accepts at "
                                "most %u",
                                what, i - line_start, line_no, (unsigned)TLO_NOTE_LINE_MAX);
            if (i == len)
                break;
            line_start = ++i;
            line_no++;
            continue;
        }
        uint32_t cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        if (n == 0)
            return tlo_fail(err, TLO_EFORMAT, "%s is not valid UTF-8 (byte %zu, line %zu)", what, i,
                            line_no);
        if (cp == 0)
            return tlo_fail(err, TLO_EFORMAT, "%s contains a NUL byte (byte %zu, line %zu)", what,
                            i, line_no);
        if (cp == '\r')
            return tlo_fail(err, TLO_EFORMAT,
                            "%s contains a carriage return (byte %zu, line %zu): lines must end "
                            "in a single newline, not CRLF",
                            what, i, line_no);
        if (cp < 0x20)
            return tlo_fail(err, TLO_EFORMAT,
                            "%s contains the control character 0x%02x (byte %zu, line %zu)", what,
                            (unsigned)cp, i, line_no);
        i += n;
    }
    return 0;
}

/* A key name: non-empty, bounded, UTF-8, no control character, no Unicode
 * space, no '+'. */
static int check_name(const char *what, const char *name, size_t len, tlo_error *err)
{
    const uint8_t *s = (const uint8_t *)name;
    if (len == 0)
        return tlo_fail(err, TLO_EFORMAT, "%s is empty", what);
    if (len > TLO_NOTE_NAME_MAX)
        return tlo_fail(err, TLO_EFORMAT, "%s is %zu bytes long; this reader accepts at most %u",
                        what, len, (unsigned)TLO_NOTE_NAME_MAX);
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t n = utf8_seq(s + i, len - i, &cp);
        if (n == 0)
            return tlo_fail(err, TLO_EFORMAT, "%s is not valid UTF-8", what);
        if (is_space(cp))
            return tlo_fail(err, TLO_EFORMAT, "%s contains a space (U+%04X)", what, (unsigned)cp);
        if (cp < 0x20)
            return tlo_fail(err, TLO_EFORMAT, "%s contains a control character", what);
        if (cp == '+')
            return tlo_fail(err, TLO_EFORMAT, "%s contains '+'", what);
        i += n;
    }
    return 0;
}

/* Only A-Z a-z 0-9 + /, then at most two '='. libsodium 1.0.18's decoder
 * reads every byte from 0x80 up as '/', which would give one value many
 * spellings (a UTF-8 "¿" would read as "//"), so we check first. */
static bool b64_alphabet(const char *s, size_t len)
{
    size_t pad = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '=') {
            pad++;
        } else if (pad || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '+' || c == '/')) {
            return false;
        }
    }
    return pad <= 2;
}

/* Decodes canonical padded standard base64 into at most max bytes. */
static bool b64_decode(uint8_t *out, size_t max, size_t *out_len, const char *b64, size_t len)
{
    size_t n = 0;
    *out_len = 0;
    if (len == 0 || len % 4 != 0 || !b64_alphabet(b64, len))
        return false;
    if (sodium_base642bin(out, max, b64, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    *out_len = n;
    return true;
}

/* One tree hash in base64: exactly 44 characters for 32 bytes. */
static bool hash_decode(uint8_t out[static TLO_HASH_BYTES], const char *b64, size_t len)
{
    size_t n;
    return len == HASH_B64_LEN && b64_decode(out, TLO_HASH_BYTES, &n, b64, len) &&
           n == TLO_HASH_BYTES;
}

/* A decimal uint64 without sign or leading zeroes ("0" for zero). */
static bool parse_decimal(uint64_t *v, const char *s, size_t len)
{
    uint64_t x = 0;
    *v = 0;
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *v = x;
    return true;
}

static bool has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

typedef struct {
    const char *p;
    size_t len, pos, line_no;
} reader;

/* The next line without its newline; false when no complete line is left. */
static bool next_line(reader *r, const char **line, size_t *n)
{
    const char *nl = r->pos < r->len ? memchr(r->p + r->pos, '\n', r->len - r->pos) : NULL;
    if (!nl)
        return false;
    *line = r->p + r->pos;
    *n = (size_t)(nl - *line);
    r->pos += *n + 1;
    r->line_no++;
    return true;
}

/* ---- keys ---------------------------------------------------------------- */

uint32_t tlo_note_key_id(const char *name, size_t name_len,
                         const uint8_t public_key[static TLO_NOTE_PUBLIC_KEY_BYTES])
{
    static const uint8_t sep[2] = {'\n', TLO_NOTE_ALG_ED25519};
    crypto_hash_sha256_state st;
    uint8_t h[crypto_hash_sha256_BYTES];

    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const uint8_t *)name, name_len);
    crypto_hash_sha256_update(&st, sep, sizeof sep);
    crypto_hash_sha256_update(&st, public_key, TLO_NOTE_PUBLIC_KEY_BYTES);
    crypto_hash_sha256_final(&st, h);
    return tlo_load_be32(h);
}

static int verifier_set(tlo_note_verifier *v, const char *name, size_t name_len,
                        const uint8_t *public_key, tlo_error *err)
{
    int rc = check_name("the key name", name, name_len, err);
    if (rc != 0)
        return rc;
    memcpy(v->name, name, name_len);
    v->name[name_len] = '\0';
    v->name_len = name_len;
    memcpy(v->public_key, public_key, TLO_NOTE_PUBLIC_KEY_BYTES);
    v->key_id = tlo_note_key_id(name, name_len, public_key);
    return 0;
}

int tlo_note_verifier_init(tlo_note_verifier *v, const char *name,
                           const uint8_t public_key[static TLO_NOTE_PUBLIC_KEY_BYTES],
                           tlo_error *err)
{
    if (!v)
        return tlo_fail(err, TLO_EARG, "no verifier to fill");
    memset(v, 0, sizeof *v);
    if (!name || !public_key)
        return tlo_fail(err, TLO_EARG, "a verifier needs a key name and a public key");
    int rc = verifier_set(v, name, strlen(name), public_key, err);
    if (rc != 0)
        memset(v, 0, sizeof *v);
    return rc;
}

int tlo_note_verifier_parse(tlo_note_verifier *v, const char *vkey, size_t len, tlo_error *err)
{
    uint8_t key[48];
    size_t key_len;
    uint8_t id_be[4];
    char hex[9];

    if (!v)
        return tlo_fail(err, TLO_EARG, "no verifier to fill");
    memset(v, 0, sizeof *v);
    if (!vkey)
        return tlo_fail(err, TLO_EARG, "no verifier key given");
    if (len > TLO_NOTE_VKEY_MAX)
        return tlo_fail(err, TLO_EFORMAT,
                        "the verifier key is %zu bytes long; a key name+id+key has at most %u", len,
                        (unsigned)TLO_NOTE_VKEY_MAX);
    const char *p1 = memchr(vkey, '+', len);
    const char *p2 = p1 ? memchr(p1 + 1, '+', len - (size_t)(p1 + 1 - vkey)) : NULL;
    if (!p2)
        return tlo_fail(err, TLO_EFORMAT,
                        "the verifier key is not of the form name+keyid+key (two '+' expected)");
    size_t name_len = (size_t)(p1 - vkey);
    int rc = check_name("the key name of the verifier key", vkey, name_len, err);
    if (rc != 0)
        return rc;
    if (p2 - p1 - 1 != 8)
        return tlo_fail(err, TLO_EFORMAT, "the key id of the verifier key is not 8 hex digits");
    memcpy(hex, p1 + 1, 8);
    hex[8] = '\0';
    if (tlo_unhex(id_be, sizeof id_be, hex) != 0)
        return tlo_fail(err, TLO_EFORMAT, "the key id of the verifier key is not 8 hex digits");
    const char *b64 = p2 + 1;
    size_t b64_len = len - (size_t)(b64 - vkey);
    if (!b64_decode(key, sizeof key, &key_len, b64, b64_len))
        return tlo_fail(err, TLO_EFORMAT,
                        "the public key of the verifier key is not canonical base64");
    if (key[0] != TLO_NOTE_ALG_ED25519)
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "the verifier key is for signature type 0x%02x; tellonce reads only "
                        "Ed25519 (0x01)",
                        key[0]);
    if (key_len != 1 + TLO_NOTE_PUBLIC_KEY_BYTES)
        return tlo_fail(err, TLO_EFORMAT,
                        "the verifier key holds %zu bytes; an Ed25519 key is 0x01 and 32 bytes",
                        key_len);
    rc = verifier_set(v, vkey, name_len, key + 1, err);
    if (rc == 0 && v->key_id != tlo_load_be32(id_be)) {
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the verifier key's id %s does not match its name and key (%08x): the "
                      "string was altered or mistyped",
                      hex, (unsigned)v->key_id);
    }
    if (rc != 0)
        memset(v, 0, sizeof *v);
    return rc;
}

int tlo_note_verifier_format(const tlo_note_verifier *v, char *out, size_t out_size, tlo_error *err)
{
    uint8_t key[1 + TLO_NOTE_PUBLIC_KEY_BYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof key, sodium_base64_VARIANT_ORIGINAL)];

    if (out && out_size)
        out[0] = '\0';
    if (!v || !out || out_size < TLO_NOTE_VKEY_MAX)
        return tlo_fail(err, TLO_EARG, "a verifier key needs a buffer of %u bytes",
                        (unsigned)TLO_NOTE_VKEY_MAX);
    int rc = check_name("the key name", v->name, v->name_len, err);
    if (rc != 0)
        return rc;
    if (v->name[v->name_len] != '\0' ||
        v->key_id != tlo_note_key_id(v->name, v->name_len, v->public_key))
        return tlo_fail(err, TLO_EARG, "the verifier's key id does not match its name and key");
    key[0] = TLO_NOTE_ALG_ED25519;
    memcpy(key + 1, v->public_key, TLO_NOTE_PUBLIC_KEY_BYTES);
    sodium_bin2base64(b64, sizeof b64, key, sizeof key, sodium_base64_VARIANT_ORIGINAL);
    snprintf(out, out_size, "%s+%08x+%s", v->name, (unsigned)v->key_id, b64);
    return 0;
}

/* ---- signed notes -------------------------------------------------------- */

/* A note's text: non-empty, ends in a newline, and obeys check_text. */
static int check_note_text(const char *text, size_t len, tlo_error *err)
{
    if (len == 0 || text[len - 1] != '\n')
        return tlo_fail(err, TLO_EFORMAT, "a note's text must end with a newline");
    if (len > TLO_NOTE_MAX_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "the note's text is %zu bytes; at most %u are accepted",
                        len, (unsigned)TLO_NOTE_MAX_BYTES);
    return check_text("the note's text", text, len, err);
}

int tlo_note_sign(const char *text, size_t text_len, const char *name,
                  const uint8_t sk[static TLO_NOTE_SECRET_KEY_BYTES], char **out, size_t *out_len,
                  tlo_error *err)
{
    uint8_t sig[TLO_NOTE_KEY_ID_BYTES + ED25519_SIG_BYTES];
    char b64[sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_ORIGINAL)];
    const uint8_t *pk = sk + 32; /* libsodium's layout: seed || public key */
    sbuf b = {0};

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!text || !name || !sk || !out || !out_len)
        return tlo_fail(err, TLO_EARG,
                        "signing a note needs a text, a key name, a key and outputs");
    size_t name_len = strlen(name);
    int rc = check_note_text(text, text_len, err);
    if (rc == 0)
        rc = check_name("the key name", name, name_len, err);
    if (rc != 0)
        return rc;
    if (text_len + 1 + SIG_PREFIX_LEN + name_len + 1 + sizeof b64 > TLO_NOTE_MAX_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "the signed note would exceed %u bytes",
                        (unsigned)TLO_NOTE_MAX_BYTES);

    tlo_store_be32(sig, tlo_note_key_id(name, name_len, pk));
    if (crypto_sign_detached(sig + TLO_NOTE_KEY_ID_BYTES, NULL, (const uint8_t *)text, text_len,
                             sk) != 0)
        return tlo_fail(err, TLO_ECRYPTO, "Ed25519 signing failed");
    /* A damaged secret key (or a fault) gives a signature nobody can verify;
     * say so now rather than publish it. */
    if (crypto_sign_verify_detached(sig + TLO_NOTE_KEY_ID_BYTES, (const uint8_t *)text, text_len,
                                    pk) != 0)
        return tlo_fail(err, TLO_ECRYPTO,
                        "the signing key is damaged: its signature does not verify under its own "
                        "public key");
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);

    sb_put(&b, text, text_len);
    sb_str(&b, "\n" SIG_PREFIX);
    sb_put(&b, name, name_len);
    sb_str(&b, " ");
    sb_str(&b, b64);
    sb_str(&b, "\n");
    return sb_finish(&b, out, out_len, err);
}

/* Splits and checks a note; every signature line is decoded (to check it)
 * but no signature is verified. */
static int parse_note(const char *msg, size_t len, tlo_note *n, tlo_error *err)
{
    uint8_t sig[TLO_NOTE_SIG_MAX];
    size_t split = SIZE_MAX;

    if (len > TLO_NOTE_MAX_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "the note is %zu bytes; this reader accepts at most %u",
                        len, (unsigned)TLO_NOTE_MAX_BYTES);
    int rc = check_text("the note", msg, len, err);
    if (rc != 0)
        return rc;
    for (size_t i = len; i >= 2; i--) {
        if (msg[i - 2] == '\n' && msg[i - 1] == '\n') {
            split = i - 2;
            break;
        }
    }
    if (split == SIZE_MAX)
        return tlo_fail(err, TLO_EFORMAT,
                        "the note has no blank line between its text and its signatures");
    if (split + 2 == len)
        return tlo_fail(err, TLO_EFORMAT, "the note has no signature line after its blank line");
    if (msg[len - 1] != '\n')
        return tlo_fail(err, TLO_EFORMAT,
                        "the note does not end with a newline (its last line is cut short)");

    n->text = msg;
    n->text_len = split + 1;
    reader r = {msg, len, split + 2, 0};
    const char *line;
    size_t line_len;
    while (next_line(&r, &line, &line_len)) {
        size_t k = r.line_no, sig_len;
        char what[64];
        if (n->nsigs == TLO_NOTE_MAX_SIGS)
            return tlo_fail(err, TLO_EFORMAT,
                            "the note has more than %u signatures; this reader stops there",
                            (unsigned)TLO_NOTE_MAX_SIGS);
        if (!has_prefix(line, line_len, SIG_PREFIX))
            return tlo_fail(err, TLO_EFORMAT,
                            "signature line %zu does not start with an em dash (U+2014) and a "
                            "space",
                            k);
        const char *name = line + SIG_PREFIX_LEN;
        size_t rest = line_len - SIG_PREFIX_LEN;
        const char *sp = memchr(name, ' ', rest);
        if (!sp)
            return tlo_fail(err, TLO_EFORMAT,
                            "signature line %zu has no space between key name and signature", k);
        size_t name_len = (size_t)(sp - name);
        snprintf(what, sizeof what, "the key name on signature line %zu", k);
        rc = check_name(what, name, name_len, err);
        if (rc != 0)
            return rc;
        const char *b64 = sp + 1;
        size_t b64_len = rest - name_len - 1;
        if (!b64_decode(sig, sizeof sig, &sig_len, b64, b64_len))
            return tlo_fail(err, TLO_EFORMAT,
                            "the signature on signature line %zu is not canonical base64 of at "
                            "most %u bytes",
                            k, (unsigned)TLO_NOTE_SIG_MAX);
        if (sig_len < TLO_NOTE_KEY_ID_BYTES + 1)
            return tlo_fail(err, TLO_EFORMAT,
                            "the signature on signature line %zu is %zu bytes: too short for a "
                            "key id and a signature",
                            k, sig_len);
        uint32_t key_id = tlo_load_be32(sig);
        for (size_t j = 0; j < n->nsigs; j++) {
            if (n->sigs[j].key_id == key_id && n->sigs[j].name_len == name_len &&
                memcmp(n->sigs[j].name, name, name_len) == 0)
                return tlo_fail(err, TLO_EFORMAT,
                                "signature lines %zu and %zu are by the same key (key id %08x)",
                                j + 1, k, (unsigned)key_id);
        }
        n->sigs[n->nsigs++] = (tlo_note_sig){name, name_len, key_id, b64, b64_len, false};
    }
    return 0;
}

int tlo_note_parse_unverified(const char *msg, size_t len, tlo_note *out, tlo_error *err)
{
    if (!out)
        return tlo_fail(err, TLO_EARG, "no note to fill");
    memset(out, 0, sizeof *out);
    if (!msg)
        return tlo_fail(err, TLO_EARG, "no note given");
    int rc = parse_note(msg, len, out, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

static const tlo_note_verifier *find_key(const tlo_note_verifier *keys, size_t nkeys,
                                         const tlo_note_sig *s)
{
    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].key_id == s->key_id && keys[i].name_len == s->name_len &&
            memcmp(keys[i].name, s->name, s->name_len) == 0)
            return &keys[i];
    }
    return NULL;
}

static int open_note(const char *msg, size_t len, const tlo_note_verifier *keys, size_t nkeys,
                     tlo_note *n, tlo_error *err)
{
    uint8_t sig[TLO_NOTE_SIG_MAX];
    size_t sig_len;

    for (size_t i = 0; i < nkeys; i++) {
        if (keys[i].name_len > TLO_NOTE_NAME_MAX)
            return tlo_fail(err, TLO_EARG, "trusted key %zu is not initialized", i + 1);
        for (size_t j = i + 1; j < nkeys; j++) {
            if (keys[i].key_id == keys[j].key_id && keys[i].name_len == keys[j].name_len &&
                memcmp(keys[i].name, keys[j].name, keys[i].name_len) == 0 &&
                memcmp(keys[i].public_key, keys[j].public_key, TLO_NOTE_PUBLIC_KEY_BYTES) != 0)
                return tlo_fail(err, TLO_EARG,
                                "two different trusted keys share the name %s and key id %08x",
                                keys[i].name, (unsigned)keys[i].key_id);
        }
    }
    int rc = parse_note(msg, len, n, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n->nsigs; i++) {
        tlo_note_sig *s = &n->sigs[i];
        const tlo_note_verifier *k = find_key(keys, nkeys, s);
        if (!k)
            continue; /* another key's signature: ignored, as the spec requires */
        if (!b64_decode(sig, sizeof sig, &sig_len, s->b64, s->b64_len) ||
            sig_len != TLO_NOTE_KEY_ID_BYTES + ED25519_SIG_BYTES ||
            crypto_sign_verify_detached(sig + TLO_NOTE_KEY_ID_BYTES, (const uint8_t *)n->text,
                                        n->text_len, k->public_key) != 0)
            return tlo_fail(err, TLO_EPROOF,
                            "the signature by trusted key %s+%08x does not verify: the note's "
                            "text or its signature was altered",
                            k->name, (unsigned)k->key_id);
        s->verified = true;
        n->nverified++;
    }
    if (n->nverified == 0)
        return tlo_fail(err, TLO_EWRONGKEY,
                        "the note is signed by none of the %zu trusted key(s): its %zu "
                        "signature(s) are by other keys (first key id %08x)",
                        nkeys, n->nsigs, (unsigned)n->sigs[0].key_id);
    return 0;
}

int tlo_note_open(const char *msg, size_t len, const tlo_note_verifier *keys, size_t nkeys,
                  tlo_note *out, tlo_error *err)
{
    if (!out)
        return tlo_fail(err, TLO_EARG, "no note to fill");
    memset(out, 0, sizeof *out);
    if (!msg || (!keys && nkeys))
        return tlo_fail(err, TLO_EARG, "no note or no keys given");
    int rc = open_note(msg, len, keys, nkeys, out, err);
    if (rc != 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- checkpoints --------------------------------------------------------- */

/* Extension lines: each non-empty and ending in a newline (what == where). */
static int check_extensions(const char *what, const char *ext, size_t len, tlo_error *err)
{
    for (size_t i = 0; i < len; i++) {
        if (ext[i] == '\n' && (i == 0 || ext[i - 1] == '\n'))
            return tlo_fail(err, TLO_EFORMAT, "%s has an empty extension line", what);
    }
    if (len && ext[len - 1] != '\n')
        return tlo_fail(err, TLO_EFORMAT, "%s: extension lines must end with a newline", what);
    return 0;
}

int tlo_checkpoint_format(const char *origin, uint64_t size,
                          const uint8_t root[static TLO_HASH_BYTES], const char *extensions,
                          char **out, size_t *out_len, tlo_error *err)
{
    sbuf b = {0};
    size_t ext_len = extensions ? strlen(extensions) : 0;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!origin || !root || !out || !out_len)
        return tlo_fail(err, TLO_EARG, "a checkpoint needs an origin, a root and outputs");
    int rc = check_name("the checkpoint origin", origin, strlen(origin), err);
    if (rc == 0 && ext_len)
        rc = check_text("the extension lines", extensions, ext_len, err);
    if (rc == 0)
        rc = check_extensions("the checkpoint", extensions, ext_len, err);
    if (rc != 0)
        return rc;
    if (ext_len > TLO_NOTE_MAX_BYTES / 2)
        return tlo_fail(err, TLO_EFORMAT, "the extension lines are too long");
    sb_str(&b, origin);
    sb_str(&b, "\n");
    sb_u64(&b, size);
    sb_str(&b, "\n");
    sb_b64(&b, root, TLO_HASH_BYTES);
    sb_str(&b, "\n");
    sb_put(&b, extensions ? extensions : "", ext_len);
    return sb_finish(&b, out, out_len, err);
}

static int parse_checkpoint(const char *text, size_t len, tlo_checkpoint *cp, tlo_error *err)
{
    const char *line[3];
    size_t n[3];

    int rc = check_text("the checkpoint", text, len, err);
    if (rc != 0)
        return rc;
    if (len == 0 || text[len - 1] != '\n')
        return tlo_fail(err, TLO_EFORMAT, "the checkpoint does not end with a newline");
    reader r = {text, len, 0, 0};
    for (int i = 0; i < 3; i++) {
        if (!next_line(&r, &line[i], &n[i]))
            return tlo_fail(err, TLO_EFORMAT,
                            "the checkpoint has %d line(s); it needs an origin, a tree size and a "
                            "root hash",
                            i);
        if (n[i] == 0)
            return tlo_fail(err, TLO_EFORMAT, "line %d of the checkpoint is empty", i + 1);
    }
    if (n[0] > TLO_CHECKPOINT_ORIGIN_MAX)
        return tlo_fail(err, TLO_EFORMAT,
                        "the checkpoint origin is %zu bytes; this reader accepts at most %u", n[0],
                        (unsigned)TLO_CHECKPOINT_ORIGIN_MAX);
    if (!parse_decimal(&cp->size, line[1], n[1]))
        return tlo_fail(err, TLO_EFORMAT,
                        "the checkpoint's tree size (line 2) is not a decimal number without "
                        "leading zeroes below 2^64");
    if (!hash_decode(cp->root, line[2], n[2]))
        return tlo_fail(err, TLO_EFORMAT,
                        "the checkpoint's root hash (line 3) is not 32 bytes in canonical base64");
    rc = check_extensions("the checkpoint", text + r.pos, len - r.pos, err);
    if (rc != 0)
        return rc;
    memcpy(cp->origin, line[0], n[0]);
    cp->origin[n[0]] = '\0';
    cp->origin_len = n[0];
    if (r.pos < len) {
        cp->extensions = text + r.pos;
        cp->extensions_len = len - r.pos;
    }
    return 0;
}

int tlo_checkpoint_parse(const char *text, size_t len, tlo_checkpoint *cp, tlo_error *err)
{
    if (!cp)
        return tlo_fail(err, TLO_EARG, "no checkpoint to fill");
    memset(cp, 0, sizeof *cp);
    if (!text)
        return tlo_fail(err, TLO_EARG, "no checkpoint given");
    int rc = parse_checkpoint(text, len, cp, err);
    if (rc != 0)
        memset(cp, 0, sizeof *cp);
    return rc;
}

int tlo_checkpoint_sign(const char *origin, uint64_t size,
                        const uint8_t root[static TLO_HASH_BYTES], const char *key_name,
                        const uint8_t sk[static TLO_NOTE_SECRET_KEY_BYTES], char **out,
                        size_t *out_len, tlo_error *err)
{
    char *body = NULL;
    size_t body_len = 0;

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    int rc = tlo_checkpoint_format(origin, size, root, NULL, &body, &body_len, err);
    if (rc == 0)
        rc = tlo_note_sign(body, body_len, key_name, sk, out, out_len, err);
    free(body);
    return rc;
}

int tlo_checkpoint_open(const char *msg, size_t len, const tlo_note_verifier *keys, size_t nkeys,
                        const char *origin, tlo_checkpoint *cp, tlo_error *err)
{
    tlo_note n;

    if (!cp)
        return tlo_fail(err, TLO_EARG, "no checkpoint to fill");
    memset(cp, 0, sizeof *cp);
    int rc = tlo_note_open(msg, len, keys, nkeys, &n, err);
    if (rc == 0)
        rc = tlo_checkpoint_parse(n.text, n.text_len, cp, err);
    if (rc == 0 && origin && strcmp(origin, cp->origin) != 0)
        rc = tlo_fail(err, TLO_EFORMAT,
                      "the checkpoint is for another log: its origin is not \"%s\"", origin);
    if (rc != 0)
        memset(cp, 0, sizeof *cp);
    return rc;
}

/* ---- proofs -------------------------------------------------------------- */

static unsigned bit_len(uint64_t x)
{
    unsigned n = 0;
    for (; x; x >>= 1)
        n++;
    return n;
}

/* x >> n, defined for n = 64 too. */
static uint64_t shr(uint64_t x, unsigned n)
{
    return n >= 64 ? 0 : x >> n;
}

static unsigned ones(uint64_t x)
{
    unsigned n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/* RFC 6962 2.1.1: the path splits into the "inner" part, below the point
 * where the leaf's path and the last leaf's path meet, and the "border" part
 * of complete left subtrees above it (transparency-dev/merkle's names). */
size_t tlo_proof_inclusion_len(uint64_t index, uint64_t size)
{
    if (index >= size)
        return 0;
    unsigned inner = bit_len(index ^ (size - 1));
    return inner + ones(shr(index, inner));
}

/* RFC 6962 2.1.2: the inclusion proof of the old tree's last leaf, less the
 * levels inside the old tree's largest complete right subtree, plus that
 * subtree's root unless it is the whole old tree. */
size_t tlo_proof_consistency_len(uint64_t old_size, uint64_t new_size)
{
    if (old_size == 0 || old_size >= new_size)
        return 0;
    unsigned inner = bit_len((old_size - 1) ^ (new_size - 1));
    unsigned border = ones(shr(old_size - 1, inner));
    unsigned shift = 0;
    while (((old_size >> shift) & 1) == 0)
        shift++;
    return (old_size == (UINT64_C(1) << shift) ? 0 : 1) + (inner - shift) + border;
}

/* Parses the signed checkpoint that ends a proof file, without verifying it,
 * for its size. */
static int proof_checkpoint(const char *what, const char *note, size_t len, uint64_t *size,
                            tlo_error *err)
{
    tlo_note n;
    tlo_checkpoint cp;
    char sub[96];

    snprintf(sub, sizeof sub, "the checkpoint in %s", what);
    int rc = tlo_note_parse_unverified(note, len, &n, err);
    if (rc == 0)
        rc = tlo_checkpoint_parse(n.text, n.text_len, &cp, err);
    if (rc != 0) {
        char msg[TLO_ERROR_MSG_MAX];
        memcpy(msg, err ? err->msg : "", err ? sizeof msg : 1);
        return tlo_fail(err, rc, "%s is malformed: %s", sub, msg);
    }
    *size = cp.size;
    return 0;
}

static int check_hash_count(const char *what, size_t nhashes, size_t want, tlo_error *err)
{
    if (nhashes != want)
        return tlo_fail(err, TLO_EFORMAT,
                        "%s has %zu hashes where the tree sizes call for exactly %zu", what,
                        nhashes, want);
    return 0;
}

int tlo_proof_inclusion_format(const tlo_proof_inclusion *p, char **out, size_t *out_len,
                               tlo_error *err)
{
    const char *what = "the inclusion proof";
    uint64_t size;
    sbuf b = {0};

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!p || !p->checkpoint || !out || !out_len)
        return tlo_fail(err, TLO_EARG, "an inclusion proof needs a checkpoint and outputs");
    if (p->has_extra && (p->extra_len == 0 || p->extra_len > TLO_PROOF_EXTRA_MAX))
        return tlo_fail(err, TLO_EARG, "a proof's extra data is 1 to %u bytes (omit it when empty)",
                        (unsigned)TLO_PROOF_EXTRA_MAX);
    if (p->nhashes > TLO_PROOF_MAX_HASHES)
        return tlo_fail(err, TLO_EARG, "an inclusion proof has at most %u hashes",
                        (unsigned)TLO_PROOF_MAX_HASHES);
    int rc = proof_checkpoint(what, p->checkpoint, p->checkpoint_len, &size, err);
    if (rc != 0)
        return rc;
    if (p->index >= size)
        return tlo_fail(err, TLO_EARG, "leaf %llu is not in a tree of %llu leaves",
                        (unsigned long long)p->index, (unsigned long long)size);
    rc = check_hash_count(what, p->nhashes, tlo_proof_inclusion_len(p->index, size), err);
    if (rc != 0)
        return rc;

    sb_str(&b, TLO_PROOF_INCLUSION_HEADER "\n");
    if (p->has_extra) {
        sb_str(&b, "extra ");
        sb_b64(&b, p->extra, p->extra_len);
        sb_str(&b, "\n");
    }
    sb_str(&b, "index ");
    sb_u64(&b, p->index);
    sb_str(&b, "\n");
    for (size_t i = 0; i < p->nhashes; i++) {
        sb_b64(&b, p->hashes[i], TLO_HASH_BYTES);
        sb_str(&b, "\n");
    }
    sb_str(&b, "\n");
    sb_put(&b, p->checkpoint, p->checkpoint_len);
    return sb_finish(&b, out, out_len, err);
}

int tlo_proof_consistency_format(const tlo_proof_consistency *p, char **out, size_t *out_len,
                                 tlo_error *err)
{
    const char *what = "the consistency proof";
    uint64_t size;
    sbuf b = {0};

    if (out)
        *out = NULL;
    if (out_len)
        *out_len = 0;
    if (!p || !p->checkpoint || !out || !out_len)
        return tlo_fail(err, TLO_EARG, "a consistency proof needs a checkpoint and outputs");
    if (p->nhashes > TLO_PROOF_CONSISTENCY_MAX_HASHES)
        return tlo_fail(err, TLO_EARG, "a consistency proof has at most %u hashes",
                        (unsigned)TLO_PROOF_CONSISTENCY_MAX_HASHES);
    int rc = proof_checkpoint(what, p->checkpoint, p->checkpoint_len, &size, err);
    if (rc != 0)
        return rc;
    if (p->old_size > size)
        return tlo_fail(err, TLO_EARG, "the old tree (%llu leaves) is larger than the new (%llu)",
                        (unsigned long long)p->old_size, (unsigned long long)size);
    rc = check_hash_count(what, p->nhashes, tlo_proof_consistency_len(p->old_size, size), err);
    if (rc != 0)
        return rc;

    sb_str(&b, TLO_PROOF_CONSISTENCY_HEADER "\nold ");
    sb_u64(&b, p->old_size);
    sb_str(&b, "\n");
    for (size_t i = 0; i < p->nhashes; i++) {
        sb_b64(&b, p->hashes[i], TLO_HASH_BYTES);
        sb_str(&b, "\n");
    }
    sb_str(&b, "\n");
    sb_put(&b, p->checkpoint, p->checkpoint_len);
    return sb_finish(&b, out, out_len, err);
}

/* The common start of both proof files: size bound, text rules, header line. */
static int proof_start(const char *what, const char *header, const char *text, size_t len,
                       reader *r, tlo_error *err)
{
    const char *line;
    size_t n;

    if (len > TLO_PROOF_MAX_BYTES)
        return tlo_fail(err, TLO_EFORMAT, "%s is %zu bytes; this reader accepts at most %u", what,
                        len, (unsigned)TLO_PROOF_MAX_BYTES);
    int rc = check_text(what, text, len, err);
    if (rc != 0)
        return rc;
    *r = (reader){text, len, 0, 0};
    if (!next_line(r, &line, &n))
        return tlo_fail(err, TLO_EFORMAT, "%s is empty or has no complete line", what);
    if (n == strlen(header) && memcmp(line, header, n) == 0)
        return 0;
    /* Another version of the same format is not a malformed file. */
    const char *at = strchr(header, '@') ? strchr(header, '@') : strchr(header, '/');
    size_t stem = (size_t)(at - header) + 1;
    if (n > stem && memcmp(line, header, stem) == 0)
        return tlo_fail(err, TLO_EUNSUPPORTED, "%s is of another version than %s", what, header);
    return tlo_fail(err, TLO_EFORMAT, "%s does not start with the line %s", what, header);
}

/* Hash lines up to the blank line, then the checkpoint to the end. */
static int proof_rest(const char *what, reader *r, uint8_t (*hashes)[TLO_HASH_BYTES], size_t max,
                      size_t *nhashes, const char **cp, size_t *cp_len, uint64_t *size,
                      tlo_error *err)
{
    const char *line;
    size_t n;

    for (;;) {
        if (!next_line(r, &line, &n))
            return tlo_fail(err, TLO_EFORMAT,
                            "%s ends before the blank line that precedes its checkpoint", what);
        if (n == 0)
            break;
        if (*nhashes == max)
            return tlo_fail(err, TLO_EFORMAT, "%s has more than %zu hashes", what, max);
        if (!hash_decode(hashes[*nhashes], line, n))
            return tlo_fail(err, TLO_EFORMAT,
                            "line %zu of %s is not a 32-byte hash in canonical base64", r->line_no,
                            what);
        (*nhashes)++;
    }
    *cp = r->p + r->pos;
    *cp_len = r->len - r->pos;
    if (*cp_len == 0)
        return tlo_fail(err, TLO_EFORMAT, "%s has no checkpoint after its blank line", what);
    return proof_checkpoint(what, *cp, *cp_len, size, err);
}

static int parse_inclusion(const char *text, size_t len, tlo_proof_inclusion *p, tlo_error *err)
{
    const char *what = "the inclusion proof";
    const char *line;
    size_t n;
    uint64_t size;
    reader r;

    int rc = proof_start(what, TLO_PROOF_INCLUSION_HEADER, text, len, &r, err);
    if (rc != 0)
        return rc;
    if (!next_line(&r, &line, &n))
        return tlo_fail(err, TLO_EFORMAT, "%s ends after its first line", what);
    if (has_prefix(line, n, "extra ")) {
        if (!b64_decode(p->extra, sizeof p->extra, &p->extra_len, line + 6, n - 6))
            return tlo_fail(err, TLO_EFORMAT,
                            "the extra data of %s is not canonical base64 of 1 to %u bytes", what,
                            (unsigned)TLO_PROOF_EXTRA_MAX);
        p->has_extra = true;
        if (!next_line(&r, &line, &n))
            return tlo_fail(err, TLO_EFORMAT, "%s ends after its extra line", what);
    }
    if (!has_prefix(line, n, "index ") || !parse_decimal(&p->index, line + 6, n - 6))
        return tlo_fail(err, TLO_EFORMAT,
                        "line %zu of %s is not \"index \" and a decimal number without leading "
                        "zeroes",
                        r.line_no, what);
    rc = proof_rest(what, &r, p->hashes, TLO_PROOF_MAX_HASHES, &p->nhashes, &p->checkpoint,
                    &p->checkpoint_len, &size, err);
    if (rc != 0)
        return rc;
    if (p->index >= size)
        return tlo_fail(err, TLO_EFORMAT, "%s is for leaf %llu, not in its tree of %llu leaves",
                        what, (unsigned long long)p->index, (unsigned long long)size);
    return check_hash_count(what, p->nhashes, tlo_proof_inclusion_len(p->index, size), err);
}

static int parse_consistency(const char *text, size_t len, tlo_proof_consistency *p, tlo_error *err)
{
    const char *what = "the consistency proof";
    const char *line;
    size_t n;
    uint64_t size;
    reader r;

    int rc = proof_start(what, TLO_PROOF_CONSISTENCY_HEADER, text, len, &r, err);
    if (rc != 0)
        return rc;
    if (!next_line(&r, &line, &n) || !has_prefix(line, n, "old ") ||
        !parse_decimal(&p->old_size, line + 4, n - 4))
        return tlo_fail(err, TLO_EFORMAT,
                        "line 2 of %s is not \"old \" and a decimal number without leading "
                        "zeroes",
                        what);
    rc = proof_rest(what, &r, p->hashes, TLO_PROOF_CONSISTENCY_MAX_HASHES, &p->nhashes,
                    &p->checkpoint, &p->checkpoint_len, &size, err);
    if (rc != 0)
        return rc;
    if (p->old_size > size)
        return tlo_fail(err, TLO_EFORMAT,
                        "%s starts from a tree of %llu leaves, larger than its checkpoint's %llu",
                        what, (unsigned long long)p->old_size, (unsigned long long)size);
    return check_hash_count(what, p->nhashes, tlo_proof_consistency_len(p->old_size, size), err);
}

int tlo_proof_inclusion_parse(const char *text, size_t len, tlo_proof_inclusion *p, tlo_error *err)
{
    if (!p)
        return tlo_fail(err, TLO_EARG, "no proof to fill");
    memset(p, 0, sizeof *p);
    if (!text)
        return tlo_fail(err, TLO_EARG, "no proof given");
    int rc = parse_inclusion(text, len, p, err);
    if (rc != 0)
        memset(p, 0, sizeof *p);
    return rc;
}

int tlo_proof_consistency_parse(const char *text, size_t len, tlo_proof_consistency *p,
                                tlo_error *err)
{
    if (!p)
        return tlo_fail(err, TLO_EARG, "no proof to fill");
    memset(p, 0, sizeof *p);
    if (!text)
        return tlo_fail(err, TLO_EARG, "no proof given");
    int rc = parse_consistency(text, len, p, err);
    if (rc != 0)
        memset(p, 0, sizeof *p);
    return rc;
}

int tlo_proof_inclusion_open(const char *text, size_t len, const tlo_note_verifier *keys,
                             size_t nkeys, const char *origin, tlo_proof_inclusion *p,
                             tlo_checkpoint *cp, tlo_error *err)
{
    if (cp)
        memset(cp, 0, sizeof *cp);
    if (!cp)
        return tlo_fail(err, TLO_EARG, "no checkpoint to fill");
    int rc = tlo_proof_inclusion_parse(text, len, p, err);
    if (rc == 0)
        rc = tlo_checkpoint_open(p->checkpoint, p->checkpoint_len, keys, nkeys, origin, cp, err);
    if (rc != 0 && p)
        memset(p, 0, sizeof *p);
    return rc;
}

int tlo_proof_consistency_open(const char *text, size_t len, const tlo_note_verifier *keys,
                               size_t nkeys, const char *origin, tlo_proof_consistency *p,
                               tlo_checkpoint *cp, tlo_error *err)
{
    if (cp)
        memset(cp, 0, sizeof *cp);
    if (!cp)
        return tlo_fail(err, TLO_EARG, "no checkpoint to fill");
    int rc = tlo_proof_consistency_parse(text, len, p, err);
    if (rc == 0)
        rc = tlo_checkpoint_open(p->checkpoint, p->checkpoint_len, keys, nkeys, origin, cp, err);
    if (rc != 0 && p)
        memset(p, 0, sizeof *p);
    return rc;
}
