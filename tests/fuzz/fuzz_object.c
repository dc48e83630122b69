/* Fuzz harness: a sealed object is hostile input.
 *
 * The first input byte picks a mode:
 *   even: the rest is a whole object file, opened with a fixed key (the key
 *         of the docs/format.md test vectors), inspected, and read in full;
 *   odd:  the rest drives read_at offsets and lengths over a valid object,
 *         to exercise the chunk arithmetic at every boundary.
 * Neither may crash, leak, read out of bounds, or return unauthenticated
 * bytes (a failed read must leave the buffer zeroed). */
#include "vault.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx);

static uint8_t *fuzz_key;
static uint8_t *valid_obj;
static size_t valid_len;
static uint8_t valid_pt[3 * 1024 + 100];

static int grow_sink(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    (void)ctx;
    (void)err;
    uint8_t *p = realloc(valid_obj, valid_len + len);
    if (!p)
        return TLO_ENOMEM;
    valid_obj = p;
    memcpy(valid_obj + valid_len, buf, len);
    valid_len += len;
    return 0;
}

static void setup(void)
{
    tlo_vault_object_params p = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = 10};
    if (fuzz_key)
        return;
    if (tlo_vault_init(NULL) != 0)
        abort();
    fuzz_key = tlo_vault_key_alloc();
    for (int i = 0; i < TLO_KEY_BYTES; i++)
        fuzz_key[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof valid_pt; i++)
        valid_pt[i] = (uint8_t)(i % 251);
    tlo_vault_writer *w = tlo_vault_writer_new(&p, fuzz_key, grow_sink, NULL, NULL);
    if (!w || tlo_vault_writer_write(w, valid_pt, sizeof valid_pt, NULL) != 0 ||
        tlo_vault_writer_finish(w, NULL, NULL) != 0)
        abort();
    tlo_vault_writer_free(w);
}

static void read_checked(tlo_vault_reader *r, uint64_t off, size_t len, const uint8_t *expect)
{
    uint8_t *buf = malloc(len ? len : 1);
    tlo_error err;
    if (!buf)
        return;
    int rc = tlo_vault_reader_read_at(r, off, buf, len, &err);
    for (size_t i = 0; i < len; i++) {
        if (rc != 0 && buf[i] != 0)
            abort(); /* bytes left in a buffer after a failed read */
        if (rc == 0 && expect && buf[i] != expect[off + i])
            abort(); /* wrong plaintext */
    }
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tlo_error err;
    setup();
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        tlo_vault_mem src = {data + 1, size - 1};
        tlo_vault_inspection ins;
        (void)tlo_vault_inspect(tlo_vault_mem_source, &src, src.len, "fuzz", &ins, &err);
        tlo_vault_reader *r =
            tlo_vault_reader_open(tlo_vault_mem_source, &src, src.len, fuzz_key, "fuzz", &err);
        if (r) {
            uint64_t n = tlo_vault_reader_size(r);
            if (n <= (UINT64_C(1) << 24))
                read_checked(r, 0, (size_t)n, NULL);
            tlo_vault_reader_free(r);
        }
        return 0;
    }
    tlo_vault_mem src = {valid_obj, valid_len};
    tlo_vault_reader *r =
        tlo_vault_reader_open(tlo_vault_mem_source, &src, valid_len, fuzz_key, "fuzz", &err);
    if (!r)
        abort();
    for (size_t i = 1; i + 4 <= size; i += 4) {
        uint64_t off = (uint64_t)(data[i] | data[i + 1] << 8) % (sizeof valid_pt + 2);
        size_t len = (size_t)(data[i + 2] | data[i + 3] << 8) % (sizeof valid_pt + 2);
        if (off + len <= sizeof valid_pt)
            read_checked(r, off, len, valid_pt);
        else if (tlo_vault_reader_read_at(r, off, valid_pt + 0, 0, &err) != 0 &&
                 off <= sizeof valid_pt)
            abort(); /* an empty read inside the object must succeed */
    }
    tlo_vault_reader_free(r);
    return 0;
}

/* Seeds for a corpus and for replay.c: mode byte 0 and a valid object of each
 * interesting size (empty, one byte, around the 1 KiB chunk size, 3 chunks). */
int fuzz_seeds(int (*emit)(void *ctx, const uint8_t *seed, size_t len), void *ctx)
{
    static const size_t sizes[] = {0, 1, 1023, 1024, 1025, 3000};
    tlo_vault_object_params p = {.kind = TLO_KIND_SEGMENT, .chunk_log2 = 10};
    int rc = 0;
    setup();
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0] && rc == 0; s++) {
        uint8_t *saved = valid_obj;
        size_t saved_len = valid_len;
        valid_obj = calloc(1, 1); /* the mode byte */
        valid_len = 1;
        tlo_vault_writer *w = tlo_vault_writer_new(&p, fuzz_key, grow_sink, NULL, NULL);
        if (!w || tlo_vault_writer_write(w, valid_pt, sizes[s], NULL) != 0 ||
            tlo_vault_writer_finish(w, NULL, NULL) != 0)
            abort();
        tlo_vault_writer_free(w);
        rc = emit(ctx, valid_obj, valid_len);
        free(valid_obj);
        valid_obj = saved;
        valid_len = saved_len;
    }
    /* Mode 1: read ranges over a valid object, across chunk boundaries. */
    static const uint8_t ranges[] = {1,    0xfc, 0x03, 0x08, 0x00, 0x00, 0x00, 0x00,
                                     0x0c, 0xff, 0x0b, 0x00, 0x01, 0x0c, 0x64, 0x00};
    if (rc == 0)
        rc = emit(ctx, ranges, sizeof ranges);
    return rc;
}
