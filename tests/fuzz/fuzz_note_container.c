/* Fuzz harness: a note's container (custody/note_container.c,
 * tlo_custody_note_parse). It is authenticated before it is parsed, but a
 * parser of a format is hostile-input code all the same.
 *
 * The first input byte picks a mode (modulo 2), the rest is the input:
 *   0: a container. One that parses must build back to exactly the same
 *      bytes from what was parsed (one note, one encoding), with every
 *      file's bytes inside the input; one that does not leaves *out empty;
 *   1: a kind, title, text and up to 3 files (name, then bytes) separated
 *      by NUL bytes. If the writer builds them, the reader must parse the
 *      result back to the same fields.
 * None may crash, leak or read out of bounds. */
#include "custody.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static void fuzz_parse(const uint8_t *buf, size_t len)
{
    tlo_custody_note_content c;
    tlo_error err = {0};
    if (tlo_custody_note_parse(buf, len, &c, &err) != 0) {
        if (c.files || c.title || c.text || c.nfiles || err.code != TLO_EFORMAT)
            abort();
        return;
    }
    tlo_custody_note_part parts[TLO_CUSTODY_NOTE_FILES_MAX];
    for (size_t i = 0; i < c.nfiles; i++) {
        if (c.files[i].data < buf || c.files[i].data + c.files[i].bytes > buf + len)
            abort();
        parts[i] = (tlo_custody_note_part){.name = c.files[i].name,
                                           .type = c.files[i].type,
                                           .data = c.files[i].data,
                                           .len = (size_t)c.files[i].bytes};
    }
    uint8_t *back = NULL;
    size_t blen = 0;
    /* A note with neither text nor files parses but is never built. */
    int rc = tlo_custody_note_build(c.kind, c.title, c.text, c.text_len, parts, c.nfiles, &back,
                                    &blen, &err);
    if (rc == 0 && (blen != len || memcmp(back, buf, len) != 0))
        abort(); /* two encodings of one note */
    if (rc != 0 && (c.text_len || c.nfiles))
        abort(); /* the reader took what the writer refuses */
    free(back);
    tlo_custody_note_content_free(&c);
}

static const uint8_t *next_part(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *start = *p, *nul = memchr(*p, '\0', (size_t)(end - *p));
    *n = nul ? (size_t)(nul - *p) : (size_t)(end - *p);
    *p = nul ? nul + 1 : end;
    return start;
}

static void fuzz_build(const uint8_t *buf, size_t len)
{
    const uint8_t *p = buf, *end = buf + len;
    char kind[40], title[500], names[3][300];
    size_t n;
    const uint8_t *s = next_part(&p, end, &n);
    snprintf(kind, sizeof kind, "%.*s", (int)(n < 39 ? n : 39), (const char *)s);
    s = next_part(&p, end, &n);
    snprintf(title, sizeof title, "%.*s", (int)(n < 499 ? n : 499), (const char *)s);
    size_t text_len;
    const uint8_t *text = next_part(&p, end, &text_len);
    char *tcopy = malloc(text_len + 1);
    if (!tcopy)
        return;
    memcpy(tcopy, text, text_len);
    tcopy[text_len] = '\0';
    tlo_custody_note_part parts[3];
    size_t np = 0;
    while (np < 3 && p < end) {
        s = next_part(&p, end, &n);
        snprintf(names[np], sizeof names[np], "%.*s", (int)(n < 299 ? n : 299), (const char *)s);
        const uint8_t *d = next_part(&p, end, &n);
        parts[np] = (tlo_custody_note_part){.name = names[np], .data = d, .len = n};
        np++;
    }
    uint8_t *out = NULL;
    size_t olen = 0;
    if (tlo_custody_note_build(kind, title, tcopy, strlen(tcopy), parts, np, &out, &olen, NULL) ==
        0) {
        tlo_custody_note_content c;
        if (tlo_custody_note_parse(out, olen, &c, NULL) != 0 || strcmp(c.kind, kind) ||
            strcmp(c.title, title) || c.text_len != strlen(tcopy) ||
            memcmp(c.text, tcopy, c.text_len) || c.nfiles != np)
            abort();
        for (size_t i = 0; i < np; i++)
            if (strcmp(c.files[i].name, names[i]) || c.files[i].bytes != parts[i].len ||
                memcmp(c.files[i].data, parts[i].data, parts[i].len))
                abort();
        tlo_custody_note_content_free(&c);
    }
    free(out);
    free(tcopy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        fuzz_parse(data + 1, size - 1);
    else
        fuzz_build(data + 1, size - 1);
    return 0;
}

static int emit_built(int (*emit)(void *, const uint8_t *, size_t), void *ctx, const char *kind,
                      const char *title, const char *text, const tlo_custody_note_part *f,
                      size_t nf)
{
    uint8_t *out = NULL, *seed;
    size_t len = 0;
    if (tlo_custody_note_build(kind, title, text, strlen(text), f, nf, &out, &len, NULL) != 0)
        return -1;
    seed = malloc(len + 1);
    int rc = -1;
    if (seed) {
        seed[0] = '0';
        memcpy(seed + 1, out, len);
        rc = emit(ctx, seed, len + 1);
    }
    free(seed);
    free(out);
    return rc;
}

int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const uint8_t jpeg[] = {0xff, 0xd8, 0xff, 0xe1, 0x00, 0x08, 'E',
                                   'x',  'i',  'f',  0,    0,    0xff, 0xd9};
    static const char pdf[] = "%PDF-1.4\n%%EOF\n";
    tlo_custody_note_part two[] = {
        {.name = "photo 1.jpg", .data = jpeg, .len = sizeof jpeg},
        {.name = "\xe6\x8a\xa5\xe5\x91\x8a.pdf",
         .data = (const uint8_t *)pdf,
         .len = sizeof pdf - 1},
    };
    static const char build[] = "1exam\0Exam 1\0bruise\nleft arm\0a.jpg\0\xff\xd8\xff\0b.txt\0hi";
    int rc = emit_built(emit, ctx, "exam", "Exam of the child", "Findings:\n\tnone", NULL, 0);
    if (rc == 0)
        rc = emit_built(emit, ctx, "photo", "", "", two, 2);
    if (rc == 0)
        rc = emit_built(emit, ctx, "psych", "\xe5\xbf\x83\xe7\x90\x86", "text", two + 1, 1);
    if (rc == 0)
        rc = emit(ctx, (const uint8_t *)build, sizeof build - 1);
    return rc;
}
