/* A note's container: the plaintext of its one sealed object (kind
 * TLO_KIND_ATTACHMENT), built and parsed in memory only; and the EXIF
 * scanner that says when a photo carries EXIF or a GPS position.
 * docs/notes.md has the same table, and says which photos are scanned.
 *
 *   offset  size  field
 *        0     8  magic "TLONOTE\x01"
 *        8     1  K: length of the kind (1..32)
 *        9     K  the kind (exam, photo, ...)
 *              2  T: length of the title (0..400), big-endian
 *              T  the title: one line of text (tlo_text_ok: no invisible or
 *                 direction-changing character), or nothing
 *              4  X: length of the text (0..1 MiB), big-endian
 *              X  the text: valid UTF-8; line breaks and tabs allowed
 *              2  N: number of files (0..100), big-endian
 *   then N times:
 *              2  L: length of the file name (1..255)
 *              L  its name: one line of text, as the author gave it
 *              1  M: length of the media type (1..127)
 *              M  the media type: printable ASCII, no space
 *              8  S: its size in bytes, big-endian
 *             32  SHA-256 of its bytes
 *              S  its bytes
 *   and nothing after. All files together hold at most 256 MiB.
 *
 * A parser that accepts anything else is wrong: every length is bounded
 * before it is used, every file's digest is checked. */
#include "internal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const uint8_t magic[8] = {'T', 'L', 'O', 'N', 'O', 'T', 'E', 1};

static const char *const kinds[] = {"exam",  "photo",      "sample-collection", "psych",
                                    "legal", "assessment", "followup",          "other"};

bool tlo_custody_note_kind_ok(const char *kind)
{
    for (size_t i = 0; kind && i < sizeof kinds / sizeof kinds[0]; i++)
        if (!strcmp(kind, kinds[i]))
            return true;
    return false;
}

/* Valid UTF-8; newlines and tabs allowed, other control characters not. */
static bool text_ok(const uint8_t *s, size_t len)
{
    for (size_t k = 0; k < len;) {
        uint32_t cp;
        if (s[k] == '\n' || s[k] == '\t') {
            k++;
            continue;
        }
        size_t n = tlo_utf8_text_char(s + k, len - k, &cp);
        if (!n)
            return false;
        k += n;
    }
    return true;
}

/* One line of text of 1..max bytes (or 0 when may_be_empty). */
static bool line_ok(const uint8_t *s, size_t len, size_t max, bool may_be_empty)
{
    if (len > max || (!len && !may_be_empty))
        return false;
    for (size_t k = 0; k < len;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char(s + k, len - k, &cp);
        if (!n)
            return false;
        k += n;
    }
    return true;
}

static bool type_ok(const uint8_t *s, size_t len)
{
    if (!len || len > TLO_CUSTODY_NOTE_TYPE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] <= 0x20 || s[i] >= 0x7f)
            return false;
    return true;
}

static bool is_tiff(const uint8_t *p, size_t n)
{
    return n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4));
}

const char *tlo_custody_note_media_type(const char *name, const uint8_t *data, size_t len)
{
    static const struct {
        const char *ext, *type;
    } by_ext[] = {{".jpg", "image/jpeg"},      {".jpeg", "image/jpeg"}, {".png", "image/png"},
                  {".pdf", "application/pdf"}, {".txt", "text/plain"},  {".tif", "image/tiff"},
                  {".tiff", "image/tiff"},     {".heic", "image/heic"}};
    if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        return "image/jpeg";
    if (len >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (len >= 5 && !memcmp(data, "%PDF-", 5))
        return "application/pdf";
    if (is_tiff(data, len))
        return "image/tiff";
    size_t nl = name ? strlen(name) : 0;
    for (size_t i = 0; i < sizeof by_ext / sizeof by_ext[0]; i++) {
        size_t el = strlen(by_ext[i].ext);
        if (nl > el && !strcasecmp(name + nl - el, by_ext[i].ext))
            return by_ext[i].type;
    }
    return "application/octet-stream";
}

/* ---- building ---- */

/* Where the pieces go: the sink, or nowhere while the size is counted. */
typedef struct emitter {
    tlo_custody_note_sink sink;
    void *ctx;
    size_t len;
    int rc;
    tlo_error *err;
} emitter;

static void put(emitter *e, const void *p, size_t n)
{
    if (e->rc == 0 && n && e->sink)
        e->rc = e->sink(e->ctx, p, n, e->err);
    e->len += n;
}

static void put_be(emitter *e, uint64_t v, unsigned bytes)
{
    uint8_t b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    put(e, b, bytes);
}

int tlo_custody_note_write(const char *kind, const char *title, const char *text, size_t text_len,
                           const tlo_custody_note_part *files, size_t nfiles,
                           tlo_custody_note_sink sink, void *ctx, size_t *out_len, tlo_error *err)
{
    size_t tl = title ? strlen(title) : 0, kl = kind ? strlen(kind) : 0;
    uint64_t total = 0;
    emitter em = {.sink = sink, .ctx = ctx, .err = err}, *e = &em;
    if (out_len)
        *out_len = 0;
    if (!tlo_custody_note_kind_ok(kind))
        return tlo_fail(err, TLO_EARG,
                        "the kind of a note is exam, photo, sample-collection, psych, legal, "
                        "assessment, followup or other");
    if (title && tl && (!tlo_text_ok(title, TLO_CUSTODY_NOTE_TITLE_MAX)))
        return tlo_fail(err, TLO_EARG, "the title is one line of text, at most %u bytes",
                        TLO_CUSTODY_NOTE_TITLE_MAX);
    if (text_len > TLO_CUSTODY_NOTE_TEXT_MAX || !text_ok((const uint8_t *)text, text_len))
        return tlo_fail(err, TLO_EARG,
                        "the text is UTF-8 (line breaks and tabs allowed, no other control "
                        "character), at most %u bytes",
                        TLO_CUSTODY_NOTE_TEXT_MAX);
    if (nfiles > TLO_CUSTODY_NOTE_FILES_MAX)
        return tlo_fail(err, TLO_EARG, "a note holds at most %u files; this one has %zu",
                        TLO_CUSTODY_NOTE_FILES_MAX, nfiles);
    if (!text_len && !nfiles)
        return tlo_fail(err, TLO_EARG,
                        "a note holds a text, files, or both: give --text, "
                        "--text-file or --file");
    for (size_t i = 0; i < nfiles; i++) {
        const char *name = files[i].name;
        size_t nl = name ? strlen(name) : 0;
        const char *type = files[i].type
                               ? files[i].type
                               : tlo_custody_note_media_type(name, files[i].data, files[i].len);
        if (!name || !line_ok((const uint8_t *)name, nl, TLO_CUSTODY_NOTE_FILE_NAME_MAX, false))
            return tlo_fail(err, TLO_EARG,
                            "file %zu: its name is one line of text, 1 to %u bytes; rename it",
                            i + 1, TLO_CUSTODY_NOTE_FILE_NAME_MAX);
        if (!type_ok((const uint8_t *)type, strlen(type)))
            return tlo_fail(err, TLO_EARG, "file %zu: the media type \"%s\" is not one", i + 1,
                            type);
        total += files[i].len;
        if (total > TLO_CUSTODY_NOTE_BYTES_MAX)
            return tlo_fail(err, TLO_EARG,
                            "the files of a note hold at most %u MiB together; split them into "
                            "several notes",
                            TLO_CUSTODY_NOTE_BYTES_MAX >> 20);
    }
    put(e, magic, 8);
    put_be(e, kl, 1);
    put(e, kind, kl);
    put_be(e, tl, 2);
    put(e, title ? title : "", tl);
    put_be(e, text_len, 4);
    if (text_len)
        put(e, text, text_len);
    put_be(e, nfiles, 2);
    for (size_t i = 0; i < nfiles; i++) {
        const char *type =
            files[i].type ? files[i].type
                          : tlo_custody_note_media_type(files[i].name, files[i].data, files[i].len);
        uint8_t h[32];
        put_be(e, strlen(files[i].name), 2);
        put(e, files[i].name, strlen(files[i].name));
        put_be(e, strlen(type), 1);
        put(e, type, strlen(type));
        put_be(e, files[i].len, 8);
        crypto_hash_sha256(h, files[i].data, files[i].len);
        put(e, h, 32);
        if (files[i].len)
            put(e, files[i].data, files[i].len);
    }
    if (em.rc)
        return em.rc;
    if (out_len)
        *out_len = em.len;
    return 0;
}

typedef struct membuf {
    uint8_t *p;
    size_t off;
} membuf;

static int mem_sink(void *ctx, const void *p, size_t n, tlo_error *err)
{
    membuf *m = ctx;
    (void)err;
    memcpy(m->p + m->off, p, n);
    m->off += n;
    return 0;
}

int tlo_custody_note_build(const char *kind, const char *title, const char *text, size_t text_len,
                           const tlo_custody_note_part *files, size_t nfiles, uint8_t **out,
                           size_t *out_len, tlo_error *err)
{
    size_t need = 0;
    *out = NULL;
    *out_len = 0;
    int rc =
        tlo_custody_note_write(kind, title, text, text_len, files, nfiles, NULL, NULL, &need, err);
    if (rc)
        return rc;
    membuf m = {.p = malloc(need ? need : 1)};
    if (!m.p)
        return tlo_fail(err, TLO_ENOMEM, "out of memory building a note of %zu bytes", need);
    tlo_custody_note_write(kind, title, text, text_len, files, nfiles, mem_sink, &m, NULL, err);
    *out = m.p;
    *out_len = m.off;
    return 0;
}

/* ---- parsing ---- */

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

static bool take(rd *r, size_t n, const uint8_t **at)
{
    if (r->len - r->off < n)
        return false;
    *at = r->p + r->off;
    r->off += n;
    return true;
}

static bool take_be(rd *r, unsigned bytes, uint64_t *v)
{
    const uint8_t *at;
    if (!take(r, bytes, &at))
        return false;
    *v = 0;
    for (unsigned i = 0; i < bytes; i++)
        *v = (*v << 8) | at[i];
    return true;
}

void tlo_custody_note_content_free(tlo_custody_note_content *c)
{
    if (!c)
        return;
    if (c->title)
        sodium_memzero(c->title, strlen(c->title));
    if (c->text)
        sodium_memzero(c->text, c->text_len);
    free(c->title);
    free(c->text);
    if (c->files)
        sodium_memzero(c->files, c->nfiles * sizeof *c->files);
    free(c->files);
    if (c->owned) {
        sodium_memzero(c->owned, c->owned_len);
        free(c->owned);
    }
    memset(c, 0, sizeof *c);
}

int tlo_custody_note_parse(const uint8_t *buf, size_t len, tlo_custody_note_content *out,
                           tlo_error *err)
{
    rd r = {.p = buf, .len = len};
    const uint8_t *at;
    uint64_t v, total = 0;
    const char *why = "it is not a note container";
    memset(out, 0, sizeof *out);
    if (!take(&r, 8, &at) || memcmp(at, magic, 8) != 0)
        goto bad;
    why = "its kind is not one tellonce knows";
    if (!take_be(&r, 1, &v) || v < 1 || v > 32 || !take(&r, (size_t)v, &at))
        goto bad;
    memcpy(out->kind, at, (size_t)v);
    out->kind[v] = '\0';
    if (!tlo_custody_note_kind_ok(out->kind))
        goto bad;
    why = "its title is not one line of text of at most 400 bytes";
    if (!take_be(&r, 2, &v) || v > TLO_CUSTODY_NOTE_TITLE_MAX || !take(&r, (size_t)v, &at) ||
        !line_ok(at, (size_t)v, TLO_CUSTODY_NOTE_TITLE_MAX, true))
        goto bad;
    if (!(out->title = malloc((size_t)v + 1)))
        goto oom;
    memcpy(out->title, at, (size_t)v);
    out->title[v] = '\0';
    /* the writer's check (tlo_text_ok): no invisible or direction-changing
     * character either */
    why = "its title holds an invisible or direction-changing character";
    if (tlo_text_hidden_char(out->title))
        goto bad;
    why = "its text is longer than 1 MiB or not UTF-8";
    if (!take_be(&r, 4, &v) || v > TLO_CUSTODY_NOTE_TEXT_MAX || !take(&r, (size_t)v, &at) ||
        !text_ok(at, (size_t)v))
        goto bad;
    if (!(out->text = malloc((size_t)v + 1)))
        goto oom;
    memcpy(out->text, at, (size_t)v);
    out->text[v] = '\0';
    out->text_len = (size_t)v;
    why = "it holds more than 100 files";
    if (!take_be(&r, 2, &v) || v > TLO_CUSTODY_NOTE_FILES_MAX)
        goto bad;
    out->nfiles = (size_t)v;
    if (v && !(out->files = calloc((size_t)v, sizeof *out->files)))
        goto oom;
    for (size_t i = 0; i < out->nfiles; i++) {
        tlo_custody_note_file *f = &out->files[i];
        uint8_t h[32];
        why = "a file's name is not one line of text of 1 to 255 bytes";
        if (!take_be(&r, 2, &v) || v > TLO_CUSTODY_NOTE_FILE_NAME_MAX ||
            !take(&r, (size_t)v, &at) ||
            !line_ok(at, (size_t)v, TLO_CUSTODY_NOTE_FILE_NAME_MAX, false))
            goto bad;
        memcpy(f->name, at, (size_t)v);
        f->name[v] = '\0';
        why = "a file's media type is malformed";
        if (!take_be(&r, 1, &v) || !take(&r, (size_t)v, &at) || !type_ok(at, (size_t)v))
            goto bad;
        memcpy(f->type, at, (size_t)v);
        f->type[v] = '\0';
        why = "its files hold more than 256 MiB, or one is cut short";
        if (!take_be(&r, 8, &v) || v > TLO_CUSTODY_NOTE_BYTES_MAX - total || !take(&r, 32, &at))
            goto bad;
        memcpy(f->sha256, at, 32);
        total += v;
        if (!take(&r, (size_t)v, &at))
            goto bad;
        f->data = at;
        f->bytes = v;
        crypto_hash_sha256(h, at, (size_t)v);
        why = "a file's bytes are not the ones its SHA-256 names";
        if (sodium_memcmp(h, f->sha256, 32) != 0)
            goto bad;
    }
    why = "it has bytes after its last file";
    if (r.off != len)
        goto bad;
    return 0;
oom:
    tlo_custody_note_content_free(out);
    return tlo_fail(err, TLO_ENOMEM, "out of memory reading a note");
bad:
    tlo_custody_note_content_free(out);
    return tlo_fail(err, TLO_EFORMAT, "the note's content is malformed: %s", why);
}

/* ---- EXIF ---- */

/* A TIFF structure at p, n bytes (the body of an Exif block, or a TIFF
 * file): does IFD0 hold a GPS IFD pointer (tag 0x8825, *gps), or any tag
 * that says which camera, when or where (the Exif IFD pointer 0x8769, Make
 * 0x010f, Model 0x0110, DateTime 0x0132, or GPS: *meta)? Bounded: at most
 * 1000 entries. */
static void tiff_scan(const uint8_t *p, size_t n, bool *meta, bool *gps)
{
    if (n < 8)
        return;
    bool le;
    if (p[0] == 'I' && p[1] == 'I' && p[2] == 42 && p[3] == 0)
        le = true;
    else if (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && p[3] == 42)
        le = false;
    else
        return;
#define U16(q) (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 : (uint32_t)(q)[0] << 8 | (q)[1])
#define U32(q)                                                                                     \
    (le ? (uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 |                      \
              (uint32_t)(q)[3] << 24                                                               \
        : (uint32_t)(q)[0] << 24 | (uint32_t)(q)[1] << 16 | (uint32_t)(q)[2] << 8 | (q)[3])
    uint32_t ifd = U32(p + 4);
    if (ifd > n - 2 || ifd < 8)
        return;
    uint32_t count = U16(p + ifd);
    if (count > 1000)
        count = 1000;
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + 12 * (size_t)i;
        if (e + 12 > n)
            return;
        uint32_t tag = U16(p + e);
        if (tag == 0x8825)
            *meta = *gps = true;
        else if (tag == 0x8769 || tag == 0x010f || tag == 0x0110 || tag == 0x0132)
            *meta = true;
    }
#undef U16
#undef U32
}

static bool tiff_has_gps(const uint8_t *p, size_t n)
{
    bool meta = false, gps = false;
    tiff_scan(p, n, &meta, &gps);
    return gps;
}

/* Does s (n bytes) hold w? Bounded by n. */
static bool holds(const uint8_t *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; n >= wl && i <= n - wl; i++)
        if (s[i] == (uint8_t)w[0] && !memcmp(s + i, w, wl))
            return true;
    return false;
}

static void scan_jpeg(const uint8_t *p, size_t n, tlo_custody_exif *out)
{
    size_t off = 2; /* after SOI */
    /* Each step moves forward at least 2 bytes: bounded by n. */
    while (off + 4 <= n) {
        if (p[off] != 0xff)
            return;
        uint8_t m = p[off + 1];
        if (m == 0xff) { /* fill byte */
            off++;
            continue;
        }
        if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) {
            off += 2;
            continue;
        }
        if (m == 0xd9 || m == 0xda) /* end, or the start of the scan: no more metadata */
            return;
        size_t seg = (size_t)p[off + 2] << 8 | p[off + 3];
        if (seg < 2 || seg > n - off - 2)
            return;
        const uint8_t *body = p + off + 4;
        size_t blen = seg - 2;
        if (m == 0xe1 && blen >= 6 && !memcmp(body, "Exif\0\0", 6)) {
            out->exif = true;
            if (tiff_has_gps(body + 6, blen - 6))
                out->gps = true;
        }
        /* XMP: the same data as text; a GPS position as exif:GPSLatitude */
        static const char xmp[] = "http://ns.adobe.com/xap/1.0/";
        if (m == 0xe1 && blen >= sizeof xmp && !memcmp(body, xmp, sizeof xmp) &&
            holds(body, blen, "exif:GPSLatitude"))
            out->exif = out->gps = true;
        off += 2 + seg;
    }
}

static void scan_png(const uint8_t *p, size_t n, tlo_custody_exif *out)
{
    size_t off = 8;
    while (off + 12 <= n) {
        uint32_t clen = tlo_load_be32(p + off);
        if (clen > n - off - 12)
            return;
        const uint8_t *type = p + off + 4;
        if (!memcmp(type, "eXIf", 4)) {
            out->exif = true;
            if (tiff_has_gps(p + off + 8, clen))
                out->gps = true;
        } else if (!memcmp(type, "IEND", 4)) {
            return;
        }
        off += 12 + (size_t)clen;
    }
}

void tlo_custody_exif_scan(const uint8_t *data, size_t len, tlo_custody_exif *out)
{
    memset(out, 0, sizeof *out);
    out->checked = true;
    if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
        scan_jpeg(data, len, out);
    else if (len >= 8 && !memcmp(data, "\x89PNG\r\n\x1a\n", 8))
        scan_png(data, len, out);
    else if (is_tiff(data, len)) /* a TIFF file is itself an EXIF structure */
        tiff_scan(data, len, &out->exif, &out->gps);
    else
        out->checked = false;
}
