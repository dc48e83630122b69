/* Fuzz harness: the plaintext of a sealed case record (custody.h,
 * tlo_custody_case_record_parse). It is authenticated before it is parsed,
 * but a parser of a format is hostile-input code all the same.
 *
 * The first input byte picks a mode (modulo 2; '0' and '1' keep the corpus
 * in tests/fuzz/corpus/case_record/ readable), the rest is the input:
 *   0: a record's plaintext. One that parses must hold fields within their
 *      bounds, NUL-terminated, and format back to exactly the same bytes;
 *      one that does not must leave the record zeroed;
 *   1: four field values separated by NUL bytes (case number, birth date,
 *      child's name, title). If the writer formats them, the reader must
 *      parse the result back to the same fields: the writer never writes
 *      what the reader refuses.
 * None may crash, leak or read out of bounds. */
#include "custody.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static char out[TLO_CUSTODY_CASE_RECORD_MAX + 1];

static bool zeroed(const tlo_custody_case_record *r)
{
    static const tlo_custody_case_record zero;
    return memcmp(r, &zero, sizeof *r) == 0;
}

static void terminated(const char *s, size_t cap)
{
    if (strnlen(s, cap) >= cap)
        abort();
}

static void fuzz_parse(const char *buf, size_t len)
{
    tlo_custody_case_record r;
    tlo_error err = {0};
    if (tlo_custody_case_record_parse(buf, len, &r, &err) != 0) {
        if (!zeroed(&r) || err.code != TLO_EFORMAT || !err.msg[0])
            abort();
        return;
    }
    terminated(r.case_number, sizeof r.case_number);
    terminated(r.child_birthdate, sizeof r.child_birthdate);
    terminated(r.child_name, sizeof r.child_name);
    terminated(r.title, sizeof r.title);
    if (!r.case_number[0] || strchr(r.case_number, '/'))
        abort();
    size_t n = tlo_custody_case_record_format(&r, out, sizeof out);
    if (n != len || memcmp(out, buf, len) != 0)
        abort(); /* two spellings of one record */
}

/* The next NUL-separated part of [*p, end) into dst (cap bytes, cut). */
static void next_part(const char **p, const char *end, char *dst, size_t cap)
{
    const char *nul = memchr(*p, '\0', (size_t)(end - *p));
    size_t n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(dst, *p, k);
    dst[k] = '\0';
    *p = nul ? nul + 1 : end;
}

static void fuzz_format(const char *buf, size_t len)
{
    tlo_custody_case_record r, back;
    const char *p = buf, *end = buf + len;
    memset(&r, 0, sizeof r);
    next_part(&p, end, r.case_number, sizeof r.case_number);
    next_part(&p, end, r.child_birthdate, sizeof r.child_birthdate);
    next_part(&p, end, r.child_name, sizeof r.child_name);
    next_part(&p, end, r.title, sizeof r.title);
    size_t n = tlo_custody_case_record_format(&r, out, sizeof out);
    if (n == 0)
        return;
    if (strlen(out) != n || tlo_custody_case_record_parse(out, n, &back, NULL) != 0 ||
        memcmp(&r, &back, sizeof r) != 0)
        abort(); /* the writer wrote what the reader refuses, or changed it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *s = (const char *)data + 1;
    if (data[0] % 2 == 0)
        fuzz_parse(s, size - 1);
    else
        fuzz_format(s, size - 1);
    return 0;
}

/* Seeds: the records in tests/fuzz/corpus/case_record/ (with their mode
 * byte), so the replay test runs them too. */
static const char *const seeds[] = {
    "0case_number=2026-\xe5\x88\x91-0042\nchild_birthdate=2017-05-01\n"
    "child_name=\xe7\x8e\x8b\xe5\xb0\x8f\xe6\x98\x8e\ntitle=\xe7\xac\xac\xe4\xb8\x80\xe6\xac\xa1"
    "\xe8\xaf\xa2\xe9\x97\xae\n",
    "0case_number=X-1\nchild_birthdate=\nchild_name=\ntitle=\n",
    "0case_number=2026-K-7\nchild_birthdate=2016-11-30\nchild_name=Lily Testchild\n"
    "title=first interview\n",
    "0case_number=\xe6\xb2\xaa\xe5\x85\xac\xe5\x88\x91\xe5\xad\x97[2026]0815\xe5\x8f\xb7\n"
    "child_birthdate=\xe4\xba\x8c\xe3\x80\x87\xe4\xb8\x80\xe4\xb8\x83\xe5\xb9\xb4\nchild_name="
    "\xe6\x9d\x8e\xe5\xa8\x9c\ntitle=\xe5\xad\xa6\xe6\xa0\xa1\xe9\x99\x84\xe8\xbf\x91\n",
    "1A-1\0002017-05-01\000\xe5\xbc\xa0\xe4\xb8\x89\000a title",
};
static const size_t seed_len[] = {0, 0, 0, 0, 1 + 3 + 1 + 10 + 1 + 6 + 1 + 7};

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        size_t n = seed_len[i] ? seed_len[i] : strlen(seeds[i]);
        int rc = emit(ctx, (const uint8_t *)seeds[i], n);
        if (rc)
            return rc;
    }
    return 0;
}
