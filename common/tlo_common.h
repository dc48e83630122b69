/* tellonce — what every module shares: the error type and a few small helpers.
 *
 * Library code never prints or exits. A function that can fail returns 0 or a
 * negative TLO_E* code and, when the caller passed a tlo_error, fills it with
 * a sentence for a person: what failed, which file or entry, what to do.
 * Only cli/ prints. */
#ifndef TLO_COMMON_H
#define TLO_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    TLO_OK = 0,
    TLO_EARG = -1,         /* the caller passed something invalid */
    TLO_ENOMEM = -2,       /* out of memory (or out of locked memory for secrets) */
    TLO_EIO = -3,          /* the operating system refused a read, write or fsync */
    TLO_ENOTOBJECT = -4,   /* the file is not a tellonce sealed object */
    TLO_EUNSUPPORTED = -5, /* a version, suite or parameter this build does not read */
    TLO_EHEADER = -6,      /* the header of an object was altered */
    TLO_EWRONGKEY = -7,    /* the key given is not the key the object was sealed with */
    TLO_ECHUNK = -8,       /* a chunk failed authentication (altered, swapped, foreign) */
    TLO_ETRUNCATED = -9,   /* the object ends before its final chunk */
    TLO_ETRAILING = -10,   /* bytes follow the final chunk */
    TLO_EPASSPHRASE = -11, /* wrong passphrase (or a damaged identity file) */
    TLO_EFORMAT = -12,     /* a file is malformed in a way no writer of ours produces */
    TLO_ERANGE = -13,      /* an offset or length outside the data */
    TLO_ECRYPTO = -14,     /* a cryptographic library call failed unexpectedly */
    TLO_ESTATE = -15,      /* the object is unusable after an earlier failure */
    TLO_EEXIST = -16,      /* refusing to overwrite something that exists */
    TLO_EPROOF = -17,      /* a Merkle proof or signature does not verify */
    TLO_ENOTFOUND = -18,   /* no such vault, person, case, session or grant */
    TLO_EDENIED = -19,     /* refused by the vault's rules (the refusal may be logged) */
};

#define TLO_ERROR_MSG_MAX 512

/* Messages for people go through gettext in the domain "tellonce"
 * (docs/i18n.md): _() translates now, N_() only marks a string for
 * xgettext. The text ledger entries record is English whatever the locale:
 * see tlo_error_english. */
#include <libintl.h>
#define TLO_TEXT_DOMAIN "tellonce"
#define _(s) dgettext(TLO_TEXT_DOMAIN, s)
#define N_(s) (s)

typedef struct tlo_error {
    int code;
    char msg[TLO_ERROR_MSG_MAX]; /* in the language of the person (LC_MESSAGES) */
    char en[TLO_ERROR_MSG_MAX];  /* the same sentence in English (tlo_error_english) */
    uint32_t sum;                /* of msg when tlo_fail wrote it and en */
} tlo_error;

/* Records code and a printf-style message in err (if err is not NULL) and
 * returns code, so a failure path reads `return tlo_fail(err, TLO_EIO, ...)`.
 * fmt is translated (dgettext "tellonce") into msg, and formatted as given,
 * in English, into en; a translation whose conversions differ from fmt's is
 * not used. A %s argument that is the translated message of an earlier
 * tlo_fail of this thread (err->msg passed on, or a copy) appears in en as
 * that message's English. */
int tlo_fail(tlo_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* err's message in English: what goes into a ledger entry (the ledger is
 * the same text for every reader, whatever their language). When msg was
 * written other than by tlo_fail, msg itself. Never NULL; "" for NULL. */
const char *tlo_error_english(const tlo_error *err);

/* The English of text when it is the translated message of one of the last
 * tlo_fail calls of this thread (copied, say, into a reason buffer); text
 * itself otherwise. For code that keeps only the text of an error. */
const char *tlo_text_english(const char *text);

/* True when the printf conversions of a and b are the same, in the same
 * order (flags, width and precision aside): a translation of a may then be
 * formatted with a's arguments. */
bool tlo_same_conversions(const char *a, const char *b);

/* Resets err to "no error". NULL-safe. */
void tlo_error_clear(tlo_error *err);

/* A short English name for a code ("chunk authentication failed"). Never NULL. */
const char *tlo_strerror(int code);

/* Lower-case hex of len bytes into out, which must hold 2*len+1 bytes. */
void tlo_hex(char *out, const uint8_t *in, size_t len);

/* Parses exactly 2*len hex digits (either case) into out. Returns 0 or TLO_EARG;
 * on failure out is zeroed. */
int tlo_unhex(uint8_t *out, size_t len, const char *hex);

/* Length (1..4) of the well-formed UTF-8 character at p (n >= 1 bytes left)
 * if it is not a control character (C0, DEL, C1), with its code point in
 * *cp; 0 for anything else (overlong forms, surrogates, past U+10FFFF, cut
 * off). The one UTF-8 check every text field of tellonce uses. */
size_t tlo_utf8_text_char(const uint8_t *p, size_t n, uint32_t *cp);

/* Big-endian stores and loads. */
void tlo_store_be32(uint8_t *p, uint32_t v);
void tlo_store_be64(uint8_t *p, uint64_t v);
uint32_t tlo_load_be32(const uint8_t *p);
uint64_t tlo_load_be64(const uint8_t *p);

/* write(2) all of buf, retrying on EINTR and short writes. 0 or -errno. */
int tlo_write_all(int fd, const void *buf, size_t len);

/* pread(2) exactly len bytes at off, retrying on EINTR and short reads.
 * Returns the number of bytes read (less than len only at end of file) or -errno. */
long long tlo_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* Parses a non-negative decimal integer (no sign, no spaces, fits 64 bits).
 * 0 or -1; *out is set only on success. */
int tlo_parse_u64(const char *s, uint64_t *out);

/* One line of text: valid UTF-8, no control character, none of the
 * invisible or direction-changing characters tlo_text_hidden_char names,
 * 1..max bytes. */
bool tlo_text_ok(const char *s, size_t max);

/* The first character of s that changes how text around it is shown
 * without being seen: the bidirectional embeddings and overrides
 * U+202A..U+202E, the isolates U+2066..U+2069, and U+200B..U+200F (zero
 * width space, non-joiner, joiner, the left-to-right and right-to-left
 * marks). Its code point, or 0 when s has none (or is not valid text). A
 * case number or a name with one could read as another. */
uint32_t tlo_text_hidden_char(const char *s);

/* in as one line of valid text (cut to fit cap, whole characters only;
 * bytes that are not text, and control characters, become '?'). */
void tlo_clean_text(char *out, size_t cap, const char *in);

/* dir + "/" + name, malloc'd (NULL when out of memory). */
char *tlo_path_join(const char *dir, const char *name);

/* Reads a whole file of at most max bytes into a malloc'd, NUL-terminated
 * buffer. 0, or TLO_ENOTFOUND (no such file), TLO_EIO, TLO_ENOMEM, or
 * TLO_EFORMAT (larger than max), each with a message naming the file. */
int tlo_read_file(const char *path, size_t max, char **out, size_t *len, tlo_error *err);

/* Writes a new file (never an existing one: TLO_EEXIST) with mode, fsynced.
 * 0, or an error with nothing left behind. */
int tlo_write_new_file(const char *path, const void *data, size_t len, int mode, tlo_error *err);

#endif
