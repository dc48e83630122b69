/* bench_object — how fast sealed objects are, and how close to the limit.
 *
 * One run, one buffer of random bytes (1 GiB by default), and for each figure
 * the median of several repetitions:
 *
 *   1. seal with both digests into memory (writer + a memcpy sink);
 *   2. open and read everything back from memory, and the same through a file
 *      in tmpfs (/dev/shm) with tlo_vault_fd_sink / tlo_vault_reader_open_fd;
 *   3. the bare primitives on the same bytes: libgcrypt ChaCha20-Poly1305 in
 *      64 KiB chunks exactly as the writer drives it, libgcrypt SHA-256, and
 *      libsodium's ChaCha20-Poly1305 and SHA-256 for comparison. The "limit"
 *      of sealing is AEAD + SHA-256(plaintext) + SHA-256(ciphertext) as three
 *      separate loops: a writer with no extra copy or pass costs about that;
 *   4. `age -e` and `age -d` on the same bytes in /dev/shm, if age is here;
 *   5. the latency of 4 KiB reads at random offsets of objects of three sizes,
 *      from memory and from /dev/shm, with the chunks each read decrypted.
 *
 * This is a program that prints figures, not a test: it asserts nothing about
 * speed. It does check that what it timed is right (the plaintext reads back,
 * the digests match the primitives), so a broken library cannot look fast.
 * Run it through scripts/bench, which builds it with --buildtype=release. */
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <gcrypt.h>
#include <inttypes.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB ((size_t)1 << 20)
#define CHUNK ((size_t)1 << TLO_CHUNK_LOG2_DEFAULT)
#define MAX_REPS 21
#define READ_BYTES 4096
#define WARMUP_READS 200

/* ---- options --------------------------------------------------------------- */

typedef struct options {
    size_t size;       /* plaintext bytes for the throughput runs */
    size_t block;      /* bytes per write / read_at call */
    int reps;          /* repetitions per throughput figure */
    int reads;         /* random reads per latency figure */
    int use_age;       /* run age if it is installed */
    int latency;       /* run the latency part */
    const char *tmpfs; /* where files go */
} options;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_object [--size-mib N] [--reps N] [--reads N] [--block-kib N]\n"
               "                    [--tmpfs DIR] [--no-age] [--no-latency]\n"
               "  --size-mib N   plaintext size for the throughput runs (default 1024)\n"
               "  --reps N       repetitions; figures are medians (default 5, at most 21)\n"
               "  --reads N      random 4 KiB reads per latency figure (default 10000)\n"
               "  --block-kib N  bytes per write/read_at call (default 1024)\n"
               "  --tmpfs DIR    a tmpfs directory for files (default /dev/shm)\n"
               "  --no-age       skip the age comparison\n"
               "  --no-latency   skip the random-read latency part\n");
}

static int parse_count(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o)
{
    *o = (options){.size = 1024 * MIB,
                   .block = MIB,
                   .reps = 5,
                   .reads = 10000,
                   .use_age = 1,
                   .latency = 1,
                   .tmpfs = "/dev/shm"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (!strcmp(a, "--no-age")) {
            o->use_age = 0;
        } else if (!strcmp(a, "--no-latency")) {
            o->latency = 0;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (v && !strcmp(a, "--size-mib") && !parse_count(v, 1, 1 << 20, &n)) {
            o->size = (size_t)n * MIB;
            i++;
        } else if (v && !strcmp(a, "--reps") && !parse_count(v, 1, MAX_REPS, &n)) {
            o->reps = (int)n;
            i++;
        } else if (v && !strcmp(a, "--reads") && !parse_count(v, 1, 10000000, &n)) {
            o->reads = (int)n;
            i++;
        } else if (v && !strcmp(a, "--block-kib") && !parse_count(v, 1, 1 << 20, &n)) {
            o->block = (size_t)n * 1024;
            i++;
        } else if (v && !strcmp(a, "--tmpfs")) {
            o->tmpfs = v;
            i++;
        } else {
            fprintf(stderr, "bench_object: bad argument '%s'\n", a);
            usage(stderr);
            return -1;
        }
    }
    return 0;
}

/* ---- small helpers --------------------------------------------------------- */

static void die(const char *what, const tlo_error *err);
static void die_sys(const char *what);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall-clock and CPU time of this process. The machine may be shared: the
 * CPU time says what the work cost when the wall clock also counts waiting. */
typedef struct span {
    double wall, cpu;
} span;

static span mark(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (span){now(), (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9};
}

static span since(span t0)
{
    span t = mark();
    return (span){t.wall - t0.wall, t.cpu - t0.cpu};
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The value at quantile q (0..1) by nearest rank; sorts v. */
static double quantile(double *v, int n, double q)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int k = (int)(q * n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return v[k - 1];
}

static double median_of(const double *v, int n)
{
    double tmp[MAX_REPS];
    memcpy(tmp, v, (size_t)n * sizeof *v);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_double);
    return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* Allocates and touches every page, so no timed loop pays for page faults. */
static uint8_t *big_alloc(size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    if (!p) {
        fprintf(stderr, "bench_object: cannot allocate %zu MiB; try a smaller --size-mib\n",
                len / MIB);
        exit(1);
    }
    memset(p, 0x5a, len);
    return p;
}

static uint64_t sealed_size(uint64_t plen)
{
    uint64_t n = plen == 0 ? 1 : (plen + CHUNK - 1) / CHUNK;
    return TLO_OBJECT_HEADER_BYTES + plen + n * TLO_TAG_BYTES + 8;
}

static uint64_t meminfo_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    unsigned long long kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

static uint64_t tmpfs_available(const char *dir)
{
    struct statvfs s;
    if (statvfs(dir, &s) != 0)
        return 0;
    return (uint64_t)s.f_bavail * s.f_frsize;
}

/* "model name" and "cpu MHz" of the first CPU in /proc/cpuinfo. */
static void cpu_model(char *out, size_t len)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512], model[256] = "unknown", mhz[64] = "";
    if (f) {
        while (fgets(line, sizeof line, f) && !(model[0] != 'u' && mhz[0])) {
            char *v = strchr(line, ':');
            if (!v)
                continue;
            v += 1 + (v[1] == ' ');
            v[strcspn(v, "\n")] = 0;
            if (!strncmp(line, "model name", 10))
                snprintf(model, sizeof model, "%s", v);
            else if (!strncmp(line, "cpu MHz", 7))
                snprintf(mhz, sizeof mhz, ", %.0f MHz", atof(v));
        }
        fclose(f);
    }
    snprintf(out, len, "%s%s", model, mhz);
}

/* The CPU features libgcrypt uses (its "hwflist"), e.g. intel-avx2:intel-shaext. */
static void gcrypt_features(char *out, size_t len)
{
    char *text = NULL, *line;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    snprintf(out, len, "unknown");
    if (!f)
        return;
    gcry_control(GCRYCTL_PRINT_CONFIG, f);
    fclose(f);
    if (text && (line = strstr(text, "hwflist:")) != NULL) {
        size_t n = 0;
        line += strlen("hwflist:");
        line[strcspn(line, "\n")] = 0;
        /* "intel-avx2:intel-shaext:" -> "avx2 shaext" */
        for (char *tok = strtok(line, ":"); tok && n + 1 < len; tok = strtok(NULL, ":")) {
            if (!strncmp(tok, "intel-", 6))
                tok += 6;
            n += (size_t)snprintf(out + n, len - n, "%s%s", n ? " " : "", tok);
        }
    }
    free(text);
}

static double gbps(uint64_t bytes, double secs)
{
    return secs > 0 ? (double)bytes / secs / 1e9 : 0;
}

/* ---- files in tmpfs, removed on every exit --------------------------------- */

enum { F_PLAIN, F_AGE, F_KEY, F_OBJECT, F_COPY, F_LAT0, F_LAT1, F_LAT2, F_COUNT };
static const char *const file_names[F_COUNT] = {"plain.bin", "plain.age", "age.key",  "object.tlo",
                                                "copy.bin",  "lat0.tlo",  "lat1.tlo", "lat2.tlo"};
static char tmp_dir[256];
static char tmp_path[F_COUNT][320];

/* Async-signal-safe: unlink and rmdir only, on paths built beforehand. */
static void remove_files(void)
{
    if (!tmp_dir[0])
        return;
    for (int i = 0; i < F_COUNT; i++)
        unlink(tmp_path[i]);
    rmdir(tmp_dir);
}

static void on_signal(int sig)
{
    remove_files();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void make_tmp_dir(const char *tmpfs)
{
    snprintf(tmp_dir, sizeof tmp_dir, "%s/tlo-bench-XXXXXX", tmpfs);
    if (!mkdtemp(tmp_dir)) {
        fprintf(stderr, "bench_object: cannot create a directory in %s: %s\n", tmpfs,
                strerror(errno));
        exit(1);
    }
    for (int i = 0; i < F_COUNT; i++)
        snprintf(tmp_path[i], sizeof tmp_path[i], "%s/%s", tmp_dir, file_names[i]);
    atexit(remove_files);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    signal(SIGPIPE, on_signal); /* e.g. bench_object | head */
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || tlo_write_all(fd, data, len) != 0 || close(fd) != 0) {
        fprintf(stderr, "bench_object: cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* Exits after a failure that is not about speed: the benchmark or the
 * library is broken, or the machine lacks room. err may be NULL. */
static void die(const char *what, const tlo_error *err)
{
    if (err)
        fprintf(stderr, "bench_object: %s: %s\n", what, err->msg);
    else
        fprintf(stderr, "bench_object: %s\n", what);
    exit(1);
}

/* As die, for a failed system call: adds strerror(errno). */
static void die_sys(const char *what)
{
    fprintf(stderr, "bench_object: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- tellonce: seal and open ----------------------------------------------- */

typedef struct mem_sink {
    uint8_t *buf;
    size_t cap, len;
} mem_sink;

static int mem_sink_fn(void *ctx, const uint8_t *buf, size_t len, tlo_error *err)
{
    mem_sink *m = ctx;
    if (len > m->cap - m->len)
        return tlo_fail(err, TLO_ERANGE, "memory sink overflow");
    memcpy(m->buf + m->len, buf, len);
    m->len += len;
    return 0;
}

/* Seals `total` bytes made of `pt` (len bytes, repeated as needed) in blocks
 * of `block` bytes to sink. */
static void seal(const uint8_t *key, const uint8_t *pt, size_t len, uint64_t total, size_t block,
                 tlo_vault_sink_fn sink, void *ctx, tlo_vault_digests *dg)
{
    tlo_vault_object_params params = {.kind = TLO_KIND_BLOB};
    tlo_error err = {0};
    tlo_vault_random_id(params.case_id);
    tlo_vault_random_id(params.object_id);
    tlo_vault_writer *w = tlo_vault_writer_new(&params, key, sink, ctx, &err);
    if (!w)
        die("tlo_vault_writer_new", &err);
    for (uint64_t done = 0; done < total;) {
        size_t at = (size_t)(done % len);
        size_t n = block < len - at ? block : len - at;
        if (n > total - done)
            n = (size_t)(total - done);
        if (tlo_vault_writer_write(w, pt + at, n, &err) != 0)
            die("tlo_vault_writer_write", &err);
        done += n;
    }
    if (tlo_vault_writer_finish(w, dg, &err) != 0)
        die("tlo_vault_writer_finish", &err);
    tlo_vault_writer_free(w);
}

static void read_all(tlo_vault_reader *r, uint8_t *out, size_t block)
{
    tlo_error err = {0};
    uint64_t size = tlo_vault_reader_size(r);
    for (uint64_t off = 0; off < size; off += block) {
        size_t n = size - off < block ? (size_t)(size - off) : block;
        if (tlo_vault_reader_read_at(r, off, out + off, n, &err) != 0)
            die("tlo_vault_reader_read_at", &err);
    }
}

static span time_seal_mem(const uint8_t *key, const uint8_t *pt, size_t len, size_t block,
                          uint8_t *sealed, tlo_vault_digests *dg)
{
    mem_sink m = {.buf = sealed, .cap = (size_t)sealed_size(len)};
    span t0 = mark();
    seal(key, pt, len, len, block, mem_sink_fn, &m, dg);
    span t = since(t0);
    if (m.len != m.cap)
        die("sealed object has an unexpected size", NULL);
    return t;
}

static span time_open_read_mem(const uint8_t *key, const uint8_t *sealed, size_t len, uint8_t *out,
                               size_t block)
{
    tlo_vault_mem m = {.data = sealed, .len = (size_t)sealed_size(len)};
    tlo_error err = {0};
    span t0 = mark();
    tlo_vault_reader *r = tlo_vault_reader_open(tlo_vault_mem_source, &m, m.len, key, NULL, &err);
    if (!r)
        die("tlo_vault_reader_open", &err);
    read_all(r, out, block);
    tlo_vault_reader_free(r);
    return since(t0);
}

static void seal_to_file(const char *path, const uint8_t *key, const uint8_t *pt, size_t len,
                         uint64_t total, size_t block)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die_sys(path);
    seal(key, pt, len, total, block, tlo_vault_fd_sink, &fd, NULL);
    if (close(fd) != 0)
        die_sys(path);
}

static span time_open_read_file(const char *path, const uint8_t *key, uint8_t *out, size_t block)
{
    tlo_error err = {0};
    span t0 = mark();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die_sys(path);
    tlo_vault_reader *r = tlo_vault_reader_open_fd(fd, key, path, &err);
    if (!r)
        die("tlo_vault_reader_open_fd", &err);
    read_all(r, out, block);
    tlo_vault_reader_free(r);
    close(fd);
    return since(t0);
}

/* ---- no crypto: what memory and tmpfs cost ------------------------------- */

static span time_memcpy(uint8_t *dst, const uint8_t *src, size_t len)
{
    span t0 = mark();
    memcpy(dst, src, len);
    return since(t0);
}

/* write(2) of the bytes to a new file in the pieces the fd sink gets (one
 * chunk and its tag at a time). */
static span time_write_file(const char *path, const uint8_t *p, size_t len)
{
    span t0 = mark();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        die_sys(path);
    for (size_t off = 0; off < len; off += CHUNK + TLO_TAG_BYTES) {
        size_t n = len - off < CHUNK + TLO_TAG_BYTES ? len - off : CHUNK + TLO_TAG_BYTES;
        if (tlo_write_all(fd, p + off, n) != 0)
            die_sys(path);
    }
    if (close(fd) != 0)
        die_sys(path);
    return since(t0);
}

/* pread(2) of the file in the pieces the reader asks for (one chunk and its tag). */
static span time_read_file(const char *path, uint8_t *p, size_t len)
{
    span t0 = mark();
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die_sys(path);
    for (size_t off = 0; off < len; off += CHUNK + TLO_TAG_BYTES) {
        size_t n = len - off < CHUNK + TLO_TAG_BYTES ? len - off : CHUNK + TLO_TAG_BYTES;
        if (tlo_pread_full(fd, p + off, n, off) != (long long)n)
            die_sys(path);
    }
    close(fd);
    return since(t0);
}

/* ---- the bare primitives --------------------------------------------------- */

static void nonce_for(uint8_t nonce[12], uint64_t i, int final)
{
    memset(nonce, 0, 12);
    tlo_store_be64(nonce + 3, i);
    nonce[11] = (uint8_t) final;
}

static gcry_cipher_hd_t gcry_aead(const uint8_t key[32])
{
    gcry_cipher_hd_t hd;
    if (gcry_cipher_open(&hd, GCRY_CIPHER_CHACHA20, GCRY_CIPHER_MODE_POLY1305,
                         GCRY_CIPHER_SECURE) != 0 ||
        gcry_cipher_setkey(hd, key, 32) != 0)
        die("libgcrypt ChaCha20-Poly1305", NULL);
    return hd;
}

/* The writer's AEAD calls, chunk by chunk, from pt into ct laid out as in an
 * object (each chunk followed by its tag). */
static span time_gcry_seal(const uint8_t key[32], const uint8_t *pt, size_t len, uint8_t *ct)
{
    gcry_cipher_hd_t hd = gcry_aead(key);
    uint64_t n = len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;
    span t0 = mark();
    for (uint64_t i = 0; i < n; i++) {
        size_t off = (size_t)i * CHUNK, clen = len - off < CHUNK ? len - off : CHUNK;
        uint8_t *out = ct + (size_t)i * (CHUNK + TLO_TAG_BYTES);
        uint8_t nonce[12], aad[8];
        int final = i == n - 1;
        gcry_error_t e;
        nonce_for(nonce, i, final);
        e = gcry_cipher_setiv(hd, nonce, sizeof nonce);
        if (!e && final) {
            tlo_store_be64(aad, len);
            e = gcry_cipher_authenticate(hd, aad, sizeof aad);
        }
        if (!e)
            e = gcry_cipher_final(hd);
        if (!e)
            e = gcry_cipher_encrypt(hd, out, clen, pt + off, clen);
        if (!e)
            e = gcry_cipher_gettag(hd, out + clen, TLO_TAG_BYTES);
        if (e)
            die(gcry_strerror(e), NULL);
    }
    span t = since(t0);
    gcry_cipher_close(hd);
    return t;
}

static span time_gcry_open(const uint8_t key[32], const uint8_t *ct, size_t len, uint8_t *pt)
{
    gcry_cipher_hd_t hd = gcry_aead(key);
    uint64_t n = len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;
    span t0 = mark();
    for (uint64_t i = 0; i < n; i++) {
        size_t off = (size_t)i * CHUNK, clen = len - off < CHUNK ? len - off : CHUNK;
        const uint8_t *in = ct + (size_t)i * (CHUNK + TLO_TAG_BYTES);
        uint8_t nonce[12], aad[8];
        int final = i == n - 1;
        gcry_error_t e;
        nonce_for(nonce, i, final);
        e = gcry_cipher_setiv(hd, nonce, sizeof nonce);
        if (!e && final) {
            tlo_store_be64(aad, len);
            e = gcry_cipher_authenticate(hd, aad, sizeof aad);
        }
        if (!e)
            e = gcry_cipher_final(hd);
        if (!e)
            e = gcry_cipher_decrypt(hd, pt + off, clen, in, clen);
        if (!e)
            e = gcry_cipher_checktag(hd, in + clen, TLO_TAG_BYTES);
        if (e)
            die(gcry_strerror(e), NULL);
    }
    span t = since(t0);
    gcry_cipher_close(hd);
    return t;
}

/* SHA-256 through gcry_md in 64 KiB writes, as the writer feeds it. */
static span time_gcry_sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
    gcry_md_hd_t md;
    if (gcry_md_open(&md, GCRY_MD_SHA256, 0) != 0)
        die("gcry_md_open", NULL);
    span t0 = mark();
    for (size_t off = 0; off < len; off += CHUNK)
        gcry_md_write(md, p + off, len - off < CHUNK ? len - off : CHUNK);
    memcpy(out, gcry_md_read(md, GCRY_MD_SHA256), 32);
    span t = since(t0);
    gcry_md_close(md);
    return t;
}

static span time_sodium_seal(const uint8_t key[32], const uint8_t *pt, size_t len, uint8_t *ct)
{
    uint64_t n = len == 0 ? 1 : (len + CHUNK - 1) / CHUNK;
    span t0 = mark();
    for (uint64_t i = 0; i < n; i++) {
        size_t off = (size_t)i * CHUNK, clen = len - off < CHUNK ? len - off : CHUNK;
        uint8_t *out = ct + (size_t)i * (CHUNK + TLO_TAG_BYTES);
        uint8_t nonce[12], aad[8];
        int final = i == n - 1;
        nonce_for(nonce, i, final);
        tlo_store_be64(aad, len);
        crypto_aead_chacha20poly1305_ietf_encrypt_detached(out, out + clen, NULL, pt + off, clen,
                                                           final ? aad : NULL, final ? 8 : 0, NULL,
                                                           nonce, key);
    }
    return since(t0);
}

static span time_sodium_sha256(const uint8_t *p, size_t len, uint8_t out[32])
{
    span t0 = mark();
    crypto_hash_sha256(out, p, len);
    return since(t0);
}

/* ---- age ------------------------------------------------------------------- */

/* Runs argv (found on PATH) with stdin from /dev/null (and stderr too if
 * quiet), and returns its wall and CPU time; exits if it fails. */
static span run(char *const argv[], int quiet)
{
    extern char **environ;
    posix_spawn_file_actions_t fa;
    struct rusage ru;
    pid_t pid;
    int status;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (quiet)
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now();
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "bench_object: cannot run %s: %s\n", argv[0], strerror(rc));
        exit(1);
    }
    if (wait4(pid, &status, 0, &ru) < 0)
        die_sys("wait4");
    double wall = now() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_object: %s failed (status %d)\n", argv[0], status);
        exit(1);
    }
    return (span){wall, (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                            (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6};
}

static int have_program(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];
    if (!path)
        return 0;
    while (*path) {
        size_t n = strcspn(path, ":");
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

/* Makes an age identity in F_KEY and returns its recipient (static storage). */
static char *age_identity(void)
{
    static char recipient[128];
    char line[256];
    char *kg[] = {"age-keygen", "-o", tmp_path[F_KEY], NULL};
    run(kg, 1); /* quiet: age-keygen announces the public key on stderr */
    FILE *f = fopen(tmp_path[F_KEY], "r");
    if (!f)
        die_sys(tmp_path[F_KEY]);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "# public key: %127s", recipient) == 1)
            break;
    fclose(f);
    if (!recipient[0])
        die("age-keygen wrote no public key", NULL);
    return recipient;
}

static void age_version(char *out, size_t len)
{
    FILE *p = popen("age --version 2>/dev/null", "r");
    snprintf(out, len, "not installed");
    if (!p)
        return;
    if (fgets(out, (int)len, p))
        out[strcspn(out, "\n")] = 0;
    pclose(p);
}

/* ---- random reads ---------------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* A source that counts how often the reader pulls ciphertext: the reader
 * calls its source once per chunk it opens, so calls = chunks decrypted. */
typedef struct counting_source {
    tlo_vault_mem mem;
    uint64_t calls;
} counting_source;

static long long counting_source_fn(void *ctx, uint64_t off, uint8_t *buf, size_t len,
                                    tlo_error *err)
{
    counting_source *c = ctx;
    c->calls++;
    return tlo_vault_mem_source(&c->mem, off, buf, len, err);
}

#define NSIZES 3

/* One object of the latency part, held at once in tmpfs and in memory. */
typedef struct lat_object {
    uint64_t size; /* plaintext bytes */
    char label[16];
    uint8_t *mem; /* the sealed object */
    int fd;
    tlo_vault_reader *reader[2]; /* [0] over the tmpfs file, [1] over memory */
    tlo_vault_mem mem_src;
} lat_object;

static const char *const lat_from[2] = {"tmpfs file (fd)", "memory"};

static uint64_t random_offset(uint64_t *seed, uint64_t size)
{
    return splitmix64(seed) % (size - READ_BYTES + 1);
}

static void lat_prepare(lat_object *o, int i, const uint8_t *key, const uint8_t *pt, size_t len)
{
    tlo_error err = {0};
    const char *path = tmp_path[F_LAT0 + i];
    uint64_t ssize = sealed_size(o->size);

    if (o->size >= ((uint64_t)1 << 30))
        snprintf(o->label, sizeof o->label, "%" PRIu64 " GiB", o->size >> 30);
    else
        snprintf(o->label, sizeof o->label, "%" PRIu64 " MiB", o->size >> 20);
    seal_to_file(path, key, pt, len, o->size, MIB);
    o->fd = open(path, O_RDONLY);
    if (o->fd < 0)
        die_sys(path);
    o->reader[0] = tlo_vault_reader_open_fd(o->fd, key, path, &err);
    if (!o->reader[0])
        die("tlo_vault_reader_open_fd", &err);
    o->mem = big_alloc((size_t)ssize);
    for (uint64_t off = 0; off < ssize;) {
        size_t n = ssize - off < 64 * MIB ? (size_t)(ssize - off) : 64 * MIB;
        if (tlo_pread_full(o->fd, o->mem + off, n, off) != (long long)n)
            die_sys("reading the sealed object back");
        off += n;
    }
    o->mem_src = (tlo_vault_mem){.data = o->mem, .len = (size_t)ssize};
    o->reader[1] = tlo_vault_reader_open(tlo_vault_mem_source, &o->mem_src, ssize, key, NULL, &err);
    if (!o->reader[1])
        die("tlo_vault_reader_open", &err);
}

static void lat_release(lat_object *o, int i)
{
    tlo_vault_reader_free(o->reader[0]);
    tlo_vault_reader_free(o->reader[1]);
    close(o->fd);
    unlink(tmp_path[F_LAT0 + i]);
    free(o->mem);
}

static void read_4k(tlo_vault_reader *r, uint64_t off)
{
    uint8_t buf[READ_BYTES];
    tlo_error err = {0};
    if (tlo_vault_reader_read_at(r, off, buf, READ_BYTES, &err) != 0)
        die("tlo_vault_reader_read_at", &err);
}

/* The chunks decrypted by each read of the sequence, counted through a
 * source that the reader calls once per chunk it opens. */
static void count_chunks(const lat_object *o, const uint8_t *key, int reads, uint8_t *chunks)
{
    counting_source cs = {.mem = o->mem_src};
    tlo_error err = {0};
    uint64_t seed = 7;
    tlo_vault_reader *r =
        tlo_vault_reader_open(counting_source_fn, &cs, o->mem_src.len, key, NULL, &err);
    if (!r)
        die("tlo_vault_reader_open", &err);
    for (int k = 0; k < reads; k++) {
        uint64_t before = cs.calls;
        read_4k(r, random_offset(&seed, o->size));
        uint64_t c = cs.calls - before;
        chunks[k] = (uint8_t)(c < 2 ? c : 2);
    }
    tlo_vault_reader_free(r);
}

/* Reads READ_BYTES at `reads` random offsets from every object and source,
 * interleaved (read k of each uses the same random number), so that whatever
 * else the machine does falls on all of them alike; prints a row for each. */
static void random_reads(lat_object *objs, int nobj, const uint8_t *key, int reads)
{
    size_t per = (size_t)reads;
    double *wall = malloc(per * (size_t)nobj * 2 * sizeof *wall);
    double *cpu = malloc(per * (size_t)nobj * 2 * sizeof *cpu);
    uint64_t seed = 42;

    if (!wall || !cpu)
        die_sys("malloc");
    for (int k = 0; k < WARMUP_READS; k++)
        for (int i = 0; i < nobj; i++)
            for (int s = 0; s < 2; s++)
                read_4k(objs[i].reader[s], random_offset(&seed, objs[i].size));
    seed = 7;
    for (int k = 0; k < reads; k++) {
        uint64_t x = splitmix64(&seed);
        for (int i = 0; i < nobj; i++) {
            for (int s = 0; s < 2; s++) {
                size_t at = ((size_t)i * 2 + (size_t)s) * per + (size_t)k;
                span t0 = mark();
                read_4k(objs[i].reader[s], x % (objs[i].size - READ_BYTES + 1));
                span t = since(t0);
                wall[at] = t.wall * 1e6;
                cpu[at] = t.cpu * 1e6;
            }
        }
    }
    uint8_t *chunks = malloc(per);
    double *sub = malloc(per * sizeof *sub);
    if (!chunks || !sub)
        die_sys("malloc");
    for (int i = 0; i < nobj; i++) {
        int by_count[3] = {0};
        count_chunks(&objs[i], key, reads, chunks);
        for (int k = 0; k < reads; k++)
            by_count[chunks[k]]++;
        double mean = (double)(by_count[1] + 2 * by_count[2]) / reads;
        for (int s = 0; s < 2; s++) {
            double *w = wall + ((size_t)i * 2 + (size_t)s) * per;
            double *c = cpu + ((size_t)i * 2 + (size_t)s) * per;
            double by[3] = {0};
            for (int want = 1; want <= 2; want++) {
                int n = 0;
                for (int k = 0; k < reads; k++)
                    if (chunks[k] == want)
                        sub[n++] = w[k];
                by[want] = n ? quantile(sub, n, 0.5) : 0;
            }
            printf("  %-7s %-16s %7.1f %7.1f %7.1f %7.1f %7.1f   %5.3f  %d/%d/%d\n", objs[i].label,
                   lat_from[s], quantile(w, reads, 0.5), quantile(w, reads, 0.99),
                   quantile(c, reads, 0.5), by[1], by[2], mean, by_count[0], by_count[1],
                   by_count[2]);
        }
    }
    free(chunks);
    free(sub);
    free(wall);
    free(cpu);
}

/* ---- main ------------------------------------------------------------------ */

typedef struct figures {
    span seal[MAX_REPS], limit[MAX_REPS], open[MAX_REPS], gopen[MAX_REPS];
    span gaead[MAX_REPS], gsha_pt[MAX_REPS], gsha_ct[MAX_REPS], saead[MAX_REPS], ssha[MAX_REPS];
    span seal_file[MAX_REPS], open_file[MAX_REPS], age_e[MAX_REPS], age_d[MAX_REPS];
    span copy[MAX_REPS], write_file[MAX_REPS], read_file[MAX_REPS];
    double ratio_wall[MAX_REPS], ratio_cpu[MAX_REPS];
} figures;

static double median_wall(const span *t, int n)
{
    double v[MAX_REPS];
    for (int i = 0; i < n; i++)
        v[i] = t[i].wall;
    return median_of(v, n);
}

static double median_cpu(const span *t, int n)
{
    double v[MAX_REPS];
    for (int i = 0; i < n; i++)
        v[i] = t[i].cpu;
    return median_of(v, n);
}

static void row(const char *what, const span *t, int n, uint64_t bytes)
{
    double lo = t[0].wall, hi = t[0].wall;
    for (int i = 1; i < n; i++) {
        lo = t[i].wall < lo ? t[i].wall : lo;
        hi = t[i].wall > hi ? t[i].wall : hi;
    }
    double m = median_wall(t, n);
    printf("  %-44s %6.2f %6.2f %8.3f  %.3f..%.3f\n", what, gbps(bytes, m),
           gbps(bytes, median_cpu(t, n)), m, lo, hi);
}

/* A target judged by wall clock, with CPU time as the witness of a busy machine. */
static const char *verdict(int wall_ok, int cpu_ok)
{
    if (wall_ok)
        return cpu_ok ? "met" : "met (by wall clock only)";
    return cpu_ok ? "MISSED by wall clock, met in CPU time: was the machine busy?" : "MISSED";
}

static void check_same(const char *what, const uint8_t *a, const uint8_t *b, size_t len)
{
    if (memcmp(a, b, len) != 0) {
        fprintf(stderr, "bench_object: %s differ: the benchmark or the library is broken\n", what);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    options o;
    tlo_error err = {0};
    char cpu[256], agev[128], hw[512];
    static figures f;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    if (tlo_vault_init(&err) != 0)
        die("tlo_vault_init", &err);

    size_t len = o.size;
    size_t ssize = (size_t)sealed_size(len);
    int age = o.use_age && have_program("age") && have_program("age-keygen");
    /* pt, sealed, aux and back in memory; in tmpfs (also memory) the sealed
     * file and, for age, the plaintext and its age file. */
    uint64_t need = (uint64_t)(age ? 7 : 5) * ssize;
    if (meminfo_available() < need + need / 8) {
        fprintf(stderr, "bench_object: %zu MiB needs about %" PRIu64 " MiB of free memory\n",
                len / MIB, need / MIB);
        return 1;
    }

    cpu_model(cpu, sizeof cpu);
    gcrypt_features(hw, sizeof hw);
    age_version(agev, sizeof agev);
    printf("tellonce bench_object: %zu MiB of random bytes, %zu KiB blocks, median of %d runs\n",
           len / MIB, o.block / 1024, o.reps);
    printf("  CPU        %s (%ld online)\n", cpu, sysconf(_SC_NPROCESSORS_ONLN));
    printf("  libgcrypt  %s (uses %s)\n  libsodium  %s\n  age        %s\n",
           gcry_check_version(NULL), hw, sodium_version_string(), age ? agev : "not used");
    printf("  GB = 10^9 bytes of plaintext; times in seconds (min..max over the runs)\n\n");

    uint8_t seed[randombytes_SEEDBYTES];
    randombytes_buf(seed, sizeof seed);
    uint8_t *pt = big_alloc(len), *sealed = big_alloc(ssize), *aux = big_alloc(ssize),
            *back = big_alloc(len);
    randombytes_buf_deterministic(pt, len, seed);
    uint8_t *key = tlo_vault_key_generate();
    uint8_t raw_key[32];
    randombytes_buf(raw_key, sizeof raw_key);
    if (!key)
        die("tlo_vault_key_generate", NULL);

    make_tmp_dir(o.tmpfs);
    char *recipient = NULL;
    if (age) {
        write_file(tmp_path[F_PLAIN], pt, len);
        recipient = age_identity();
    }

    for (int i = 0; i < o.reps; i++) {
        tlo_vault_digests dg;
        uint8_t d1[32], d2[32];

        f.seal[i] = time_seal_mem(key, pt, len, o.block, sealed, &dg);
        f.gaead[i] = time_gcry_seal(raw_key, pt, len, aux);
        f.gsha_pt[i] = time_gcry_sha256(pt, len, d1);
        f.gsha_ct[i] = time_gcry_sha256(aux, ssize - TLO_OBJECT_HEADER_BYTES - 8, d2);
        f.limit[i].wall = f.gaead[i].wall + f.gsha_pt[i].wall + f.gsha_ct[i].wall;
        f.limit[i].cpu = f.gaead[i].cpu + f.gsha_pt[i].cpu + f.gsha_ct[i].cpu;
        f.ratio_wall[i] = f.seal[i].wall / f.limit[i].wall;
        f.ratio_cpu[i] = f.seal[i].cpu / f.limit[i].cpu;
        check_same("plaintext digests of the writer and of gcry_md", dg.plaintext_sha256, d1, 32);
        gcry_md_hash_buffer(GCRY_MD_SHA256, d1, sealed, ssize);
        check_same("ciphertext digest of the writer and of the sealed bytes", dg.ciphertext_sha256,
                   d1, 32);

        memset(back, 0, len);
        f.open[i] = time_open_read_mem(key, sealed, len, back, o.block);
        check_same("plaintext read back from memory", back, pt, len);
        f.gopen[i] = time_gcry_open(raw_key, aux, len, back);
        check_same("plaintext of the bare AEAD loop", back, pt, len);

        f.saead[i] = time_sodium_seal(raw_key, pt, len, aux);
        f.ssha[i] = time_sodium_sha256(pt, len, d2);
        check_same("SHA-256 of libsodium and of the writer", dg.plaintext_sha256, d2, 32);

        span t0 = mark();
        seal_to_file(tmp_path[F_OBJECT], key, pt, len, len, o.block);
        f.seal_file[i] = since(t0);
        memset(back, 0, len);
        f.open_file[i] = time_open_read_file(tmp_path[F_OBJECT], key, back, o.block);
        check_same("plaintext read back from the file", back, pt, len);
        unlink(tmp_path[F_OBJECT]);

        f.copy[i] = time_memcpy(back, pt, len);
        f.write_file[i] = time_write_file(tmp_path[F_COPY], pt, len);
        f.read_file[i] = time_read_file(tmp_path[F_COPY], back, len);
        check_same("plaintext read back from a plain file", back, pt, len);
        unlink(tmp_path[F_COPY]);

        if (age) {
            char *enc[] = {"age", "-e", "-r", recipient, "-o", tmp_path[F_AGE], tmp_path[F_PLAIN],
                           NULL};
            char *dec[] = {"age",           "-d", "-i", tmp_path[F_KEY], "-o", "/dev/null",
                           tmp_path[F_AGE], NULL};
            f.age_e[i] = run(enc, 0);
            f.age_d[i] = run(dec, 0);
        }
        fprintf(stderr, "  run %d of %d done\n", i + 1, o.reps);
    }
    unlink(tmp_path[F_AGE]);
    unlink(tmp_path[F_PLAIN]);

    int n = o.reps;
    printf("Throughput (GB/s by wall clock and per CPU-second)  wall    CPU  median s  range s\n");
    printf(" tellonce\n");
    row("seal + both digests -> memory", f.seal, n, len);
    row("seal + both digests -> tmpfs file (fd sink)", f.seal_file, n, len);
    row("open + read all <- memory", f.open, n, len);
    row("open + read all <- tmpfs file (open_fd)", f.open_file, n, len);
    printf(" primitives, 64 KiB chunks\n");
    row("libgcrypt ChaCha20-Poly1305 seal", f.gaead, n, len);
    row("libgcrypt ChaCha20-Poly1305 open", f.gopen, n, len);
    row("libgcrypt SHA-256 (plaintext)", f.gsha_pt, n, len);
    row("libgcrypt SHA-256 (ciphertext)", f.gsha_ct, n, len);
    row("limit = AEAD + SHA-256(pt) + SHA-256(ct)", f.limit, n, len);
    row("libsodium ChaCha20-Poly1305 ietf seal", f.saead, n, len);
    row("libsodium SHA-256", f.ssha, n, len);
    printf(" no crypto: the memory and tmpfs costs under the figures above\n");
    row("memcpy", f.copy, n, len);
    row("write(2) to a new tmpfs file, 64 KiB pieces", f.write_file, n, len);
    row("pread(2) from that tmpfs file, 64 KiB pieces", f.read_file, n, len);
    if (age) {
        printf(" age, a separate process (files in tmpfs; age -d writes to /dev/null)\n");
        row("age -e", f.age_e, n, len);
        row("age -d", f.age_d, n, len);
    }

    double rw = median_of(f.ratio_wall, n), rc = median_of(f.ratio_cpu, n);
    printf("\nTargets (wall clock; CPU time in brackets)\n");
    printf("  seal / limit, median of per-run ratios   %5.3f [%5.3f]  target <= 1.15: %s\n", rw, rc,
           verdict(rw <= 1.15, rc <= 1.15));
    printf("  open+read memory / bare AEAD open loop   %5.3f [%5.3f]  (for information)\n",
           median_wall(f.open, n) / median_wall(f.gopen, n),
           median_cpu(f.open, n) / median_cpu(f.gopen, n));
    if (age) {
        double a = median_wall(f.age_d, n), ac = median_cpu(f.age_d, n);
        double fw = a / median_wall(f.open_file, n), fc = ac / median_cpu(f.open_file, n);
        double mw = a / median_wall(f.open, n), mc = ac / median_cpu(f.open, n);
        printf("  open+read tmpfs file speed / age -d      %5.2fx [%5.2fx] target >= 1: %s\n", fw,
               fc, verdict(fw >= 1, fc >= 1));
        printf("  open+read memory speed / age -d          %5.2fx [%5.2fx] target >= 1: %s\n", mw,
               mc, verdict(mw >= 1, mc >= 1));
    }
    free(aux);
    free(back);
    free(sealed);

    if (o.latency) {
        /* All three objects exist at once, each in tmpfs and in memory. */
        lat_object objs[NSIZES] = {{.size = 16 * MIB}, {.size = len}, {.size = 4 * (uint64_t)len}};
        uint64_t total = 0;
        for (int i = 0; i < NSIZES; i++)
            total += sealed_size(objs[i].size);
        if (total + 64 * MIB > tmpfs_available(o.tmpfs) ||
            2 * total + 512 * MIB > meminfo_available() || len <= 16 * MIB) {
            objs[0].size = MIB;
            objs[1].size = 16 * MIB;
            objs[2].size = len;
        }
        int nobj = 0;
        for (int i = 0; i < NSIZES; i++)
            if (i == 0 || objs[i].size > objs[nobj - 1].size)
                objs[nobj++] = objs[i];
        printf("\nRandom reads of %d bytes at %d random offsets, interleaved over all rows (after "
               "%d warm-up reads)\n",
               READ_BYTES, o.reads, WARMUP_READS);
        printf(
            "  microseconds per read: median and p99 by wall clock, median in CPU time, and the\n"
            "  wall-clock medians of the reads that decrypted 1 and 2 chunks; then chunks\n"
            "  decrypted per read: the mean, and how many reads decrypted 0/1/2 chunks\n");
        printf("  %-7s %-16s %7s %7s %7s %7s %7s   %s\n", "object", "from", "median", "p99",
               "CPU med", "1 chunk", "2 chunk", "chunks per read");
        for (int i = 0; i < nobj; i++)
            lat_prepare(&objs[i], i, key, pt, len);
        random_reads(objs, nobj, key, o.reads);
        for (int i = 0; i < nobj; i++)
            lat_release(&objs[i], i);
    }

    free(pt);
    tlo_vault_key_free(key);
    sodium_memzero(raw_key, sizeof raw_key);
    return 0;
}
