/* tellonce object seal|open|inspect — plumbing for tests and interoperability.
 *
 * These work on single sealed objects with a raw case key. The porcelain
 * commands (record, play, export) never expose keys or plaintext files; these
 * do, on purpose, and docs/cli.md says so. */
#include "cli.h"
#include "vault.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IO_BLOCK (1u << 20)
#define PROGRESS_EVERY (UINT64_C(256) << 20)

static void object_usage(FILE *f)
{
    fputs(_("usage: tellonce object seal --key-file KEY [--case-id HEX] [--kind KIND]\n"
            "                            [--chunk-size BYTES] [--json] IN OUT\n"
            "       tellonce object open --key-file KEY [--offset N] [--length N] IN OUT\n"
            "       tellonce object inspect [--json] FILE\n"
            "\n"
            "Plumbing for tests and interoperability. KEY is a file holding the 32-byte case\n"
            "key, raw or as 64 hex characters. IN may be '-' for standard input, and OUT of\n"
            "'open' may be '-' for standard output. An existing OUT is never overwritten.\n"
            "\n"
            "  seal      seal IN into the sealed object OUT; prints its id, size and the\n"
            "            SHA-256 of plaintext and ciphertext\n"
            "            --case-id HEX     32 hex digits of internal case id (default zeros)\n"
            "            --kind KIND       blob (default), segment, attachment or caseinfo\n"
            "            --chunk-size N    plaintext bytes per chunk, a power of two from\n"
            "                              1024 to 1048576 (default 65536)\n"
            "  open      authenticate the sealed object IN and write its plaintext (or\n"
            "            --length bytes from --offset) to OUT. OUT holds PLAINTEXT: never\n"
            "            use this on evidence outside a test; use 'tellonce play'.\n"
            "  inspect   print the header of FILE, its chunk count and sizes; needs no key,\n"
            "            so nothing it prints is authenticated\n"),
          f);
}

static int create_output(const char *path, int *fd_out)
{
    *fd_out = -1;
    if (!strcmp(path, "-")) {
        *fd_out = STDOUT_FILENO;
        return 0;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            cli_error("%s already exists; tellonce never overwrites a file: choose another name "
                      "or remove it yourself",
                      path);
        else
            cli_error("cannot create %s: %s", path, strerror(errno));
        return errno == EEXIST ? EXIT_USAGE : EXIT_SYSTEM;
    }
    *fd_out = fd;
    return 0;
}

/* fsyncs fd and the directory holding path, so a sealed object survives a
 * power cut once this returns. */
static int sync_output(int fd, const char *path)
{
    if (fsync(fd) != 0) {
        cli_error("fsync of %s failed: %s; the object may not be on disk", path, strerror(errno));
        return -1;
    }
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (dfd >= 0) {
        int rc = fsync(dfd);
        close(dfd);
        if (rc != 0) {
            cli_error("fsync of the directory of %s failed: %s", path, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int open_input(const char *path, int *fd_out)
{
    if (!strcmp(path, "-")) {
        *fd_out = STDIN_FILENO;
        return 0;
    }
    *fd_out = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd_out < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return errno == ENOENT ? EXIT_USAGE : EXIT_SYSTEM;
    }
    return 0;
}

static int parse_kind(const char *s, uint8_t *kind)
{
    static const char *names[] = {"blob", "segment", "attachment", "caseinfo"};
    for (uint8_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i])) {
            *kind = i;
            return 0;
        }
    return -1;
}

static const char *kind_name(uint8_t kind)
{
    switch (kind) {
    case TLO_KIND_BLOB:
        return "blob";
    case TLO_KIND_SEGMENT:
        return "segment";
    case TLO_KIND_ATTACHMENT:
        return "attachment";
    case TLO_KIND_CASEINFO:
        return "caseinfo";
    }
    return "unknown";
}

/* "sealed N of M MiB (P%)" or "opened ..." on a terminal. */
static void progress(bool opened, uint64_t done, uint64_t total, int final)
{
    if (!isatty(STDERR_FILENO))
        return;
    unsigned long long d = done >> 20, t = total >> 20, pc = total ? done * 100 / total : 0;
    fputc('\r', stderr);
    if (total && opened)
        fprintf(stderr, _("opened %llu of %llu MiB (%llu%%)"), d, t, pc);
    else if (total)
        fprintf(stderr, _("sealed %llu of %llu MiB (%llu%%)"), d, t, pc);
    else if (opened)
        fprintf(stderr, _("opened %llu MiB"), d);
    else
        fprintf(stderr, _("sealed %llu MiB"), d);
    if (final)
        fputc('\n', stderr);
}

typedef struct seal_args {
    tlo_vault_object_params params;
    const char *key_file, *in_path, *out_path;
    int json;
} seal_args;

static int seal_args_parse(int argc, char **argv, seal_args *a)
{
    static const struct option opts[] = {{"key-file", required_argument, NULL, 'k'},
                                         {"case-id", required_argument, NULL, 'c'},
                                         {"kind", required_argument, NULL, 't'},
                                         {"chunk-size", required_argument, NULL, 's'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    uint64_t chunk = 0;
    int c;
    memset(a, 0, sizeof *a);
    a->params.kind = TLO_KIND_BLOB;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            a->key_file = optarg;
            break;
        case 'c':
            if (tlo_unhex(a->params.case_id, TLO_ID_BYTES, optarg) != 0) {
                cli_error("--case-id takes 32 hex digits");
                return EXIT_USAGE;
            }
            break;
        case 't':
            if (parse_kind(optarg, &a->params.kind) != 0) {
                cli_error("--kind is blob, segment, attachment or caseinfo, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 's':
            if (tlo_parse_u64(optarg, &chunk) != 0 || chunk < 1024 || chunk > (1u << 20) ||
                (chunk & (chunk - 1))) {
                cli_error("--chunk-size must be a power of two from 1024 to 1048576");
                return EXIT_USAGE;
            }
            a->params.chunk_log2 = (uint8_t)__builtin_ctzll(chunk);
            break;
        case 'j':
            a->json = 1;
            break;
        case 'h':
            object_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (!a->key_file || argc - optind != 2) {
        cli_error("seal needs --key-file KEY, an input and an output; see 'tellonce object "
                  "--help'");
        return EXIT_USAGE;
    }
    a->in_path = argv[optind];
    a->out_path = argv[optind + 1];
    if (!strcmp(a->out_path, "-")) {
        cli_error("seal writes to a file, not to standard output");
        return EXIT_USAGE;
    }
    return 0;
}

/* Feeds all of in to the writer, showing progress on a terminal. */
static int seal_stream(tlo_vault_writer *w, int in, const char *in_path, uint8_t *buf)
{
    tlo_error err = {0};
    struct stat st;
    uint64_t total = fstat(in, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    uint64_t done = 0, next_report = PROGRESS_EVERY;
    for (;;) {
        ssize_t n = read(in, buf, IO_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cli_error("reading %s failed: %s", in_path, strerror(errno));
            return EXIT_SYSTEM;
        }
        if (n == 0)
            break;
        if (tlo_vault_writer_write(w, buf, (size_t)n, &err) != 0)
            return cli_fail(&err);
        done += (uint64_t)n;
        if (done >= next_report) {
            progress(false, done, total, 0);
            next_report += PROGRESS_EVERY;
        }
    }
    if (done >= PROGRESS_EVERY)
        progress(false, done, total, 1);
    return 0;
}

/* Finishes the object and makes it durable; *out is closed (-1) on success
 * and on a failed close. */
static int seal_finish(tlo_vault_writer *w, int *out, const char *out_path, tlo_vault_digests *d)
{
    tlo_error err = {0};
    if (tlo_vault_writer_finish(w, d, &err) != 0)
        return cli_fail(&err);
    if (sync_output(*out, out_path) != 0)
        return EXIT_SYSTEM;
    int closed = close(*out);
    *out = -1;
    if (closed != 0) {
        cli_error("closing %s failed: %s", out_path, strerror(errno));
        return EXIT_SYSTEM;
    }
    return 0;
}

static void print_sealed(const seal_args *a, const tlo_vault_digests *d)
{
    char oid[2 * TLO_ID_BYTES + 1], pt[2 * TLO_DIGEST_BYTES + 1], ct[2 * TLO_DIGEST_BYTES + 1];
    tlo_hex(oid, a->params.object_id, TLO_ID_BYTES);
    tlo_hex(pt, d->plaintext_sha256, TLO_DIGEST_BYTES);
    tlo_hex(ct, d->ciphertext_sha256, TLO_DIGEST_BYTES);
    if (a->json)
        printf("{\"object_id\":\"%s\",\"chunks\":%llu,\"plaintext_bytes\":%llu,"
               "\"sealed_bytes\":%llu,\"plaintext_sha256\":\"%s\",\"sealed_sha256\":\"%s\"}\n",
               oid, (unsigned long long)d->chunks, (unsigned long long)d->plaintext_bytes,
               (unsigned long long)d->ciphertext_bytes, pt, ct);
    else
        printf(_("sealed %s -> %s\n"
                 "  object id        %s\n"
                 "  chunks           %llu\n"
                 "  plaintext bytes  %llu\n"
                 "  sealed bytes     %llu\n"
                 "  plaintext sha256 %s\n"
                 "  sealed sha256    %s\n"),
               strcmp(a->in_path, "-") ? a->in_path : "(standard input)", a->out_path, oid,
               (unsigned long long)d->chunks, (unsigned long long)d->plaintext_bytes,
               (unsigned long long)d->ciphertext_bytes, pt, ct);
}

static int do_seal(int argc, char **argv)
{
    seal_args a;
    int rc = seal_args_parse(argc, argv, &a), in = -1, out = -1;
    uint8_t *key = NULL, *buf = NULL;
    tlo_vault_writer *w = NULL;
    tlo_vault_digests d;
    tlo_error err = {0};
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!(key = cli_read_key_file(a.key_file, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    if ((rc = open_input(a.in_path, &in)) != 0 || (rc = create_output(a.out_path, &out)) != 0)
        goto out;
    tlo_vault_random_id(a.params.object_id);
    if (!(buf = malloc(IO_BLOCK)) ||
        !(w = tlo_vault_writer_new(&a.params, key, tlo_vault_fd_sink, &out, &err))) {
        rc = buf ? cli_fail(&err) : EXIT_SYSTEM;
        goto fail_remove;
    }
    tlo_vault_key_free(key);
    key = NULL;
    if ((rc = seal_stream(w, in, a.in_path, buf)) != 0 ||
        (rc = seal_finish(w, &out, a.out_path, &d)) != 0)
        goto fail_remove;
    print_sealed(&a, &d);
    rc = EXIT_OK;
    goto out;

fail_remove:
    /* Never leave a half-written object that looks like a real one. */
    if (out >= 0) {
        close(out);
        out = -1;
        unlink(a.out_path);
    }
out:
    tlo_vault_writer_free(w);
    tlo_vault_key_free(key);
    free(buf);
    if (in > STDIN_FILENO)
        close(in);
    if (out > STDOUT_FILENO)
        close(out);
    return rc;
}

typedef struct open_args {
    const char *key_file, *in_path, *out_path;
    uint64_t off, len;
    int have_len;
} open_args;

static int open_args_parse(int argc, char **argv, open_args *a)
{
    static const struct option opts[] = {{"key-file", required_argument, NULL, 'k'},
                                         {"offset", required_argument, NULL, 'o'},
                                         {"length", required_argument, NULL, 'l'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            a->key_file = optarg;
            break;
        case 'o':
            if (tlo_parse_u64(optarg, &a->off) != 0) {
                cli_error("--offset takes a byte count, not '%s'", optarg);
                return EXIT_USAGE;
            }
            break;
        case 'l':
            if (tlo_parse_u64(optarg, &a->len) != 0) {
                cli_error("--length takes a byte count, not '%s'", optarg);
                return EXIT_USAGE;
            }
            a->have_len = 1;
            break;
        case 'h':
            object_usage(stdout);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (!a->key_file || argc - optind != 2) {
        cli_error("open needs --key-file KEY, an input and an output; see 'tellonce object "
                  "--help'");
        return EXIT_USAGE;
    }
    a->in_path = argv[optind];
    a->out_path = argv[optind + 1];
    if (!strcmp(a->in_path, "-")) {
        cli_error("open reads a sealed object from a file (it needs random access), not from "
                  "standard input");
        return EXIT_USAGE;
    }
    if (!strcmp(a->out_path, "-") && isatty(STDOUT_FILENO)) {
        cli_error("refusing to write plaintext media to a terminal; name an output file or pipe "
                  "it to a program");
        return EXIT_USAGE;
    }
    return 0;
}

/* Writes plaintext bytes [off, off + len) of r to out, showing progress on
 * a terminal. 0, or -1 with *rc the exit code when the output is cut short
 * (EXIT_OK when the reader of a pipe closed it: that was its choice). */
static int open_copy(tlo_vault_reader *r, const open_args *a, int out, int *rc)
{
    tlo_error err = {0};
    uint8_t *buf = malloc(IO_BLOCK);
    uint64_t done = 0, next_report = PROGRESS_EVERY;
    *rc = buf ? EXIT_OK : EXIT_SYSTEM;
    while (*rc == EXIT_OK && buf && done < a->len) {
        size_t n = a->len - done < IO_BLOCK ? (size_t)(a->len - done) : IO_BLOCK;
        if (tlo_vault_reader_read_at(r, a->off + done, buf, n, &err) != 0) {
            *rc = cli_fail(&err);
            break;
        }
        int wr = tlo_write_all(out, buf, n);
        if (wr < 0) {
            cli_error("writing %s failed: %s", a->out_path, strerror(-wr));
            *rc = wr == -EPIPE ? EXIT_OK : EXIT_SYSTEM;
            free(buf);
            return -1;
        }
        done += n;
        if (done >= next_report) {
            progress(true, done, a->len, 0);
            next_report += PROGRESS_EVERY;
        }
    }
    int ok = buf && *rc == EXIT_OK;
    free(buf);
    if (!ok)
        return -1;
    if (done >= PROGRESS_EVERY)
        progress(true, done, a->len, 1);
    return 0;
}

static int do_open(int argc, char **argv)
{
    open_args a;
    int rc = open_args_parse(argc, argv, &a), in = -1, out = -1;
    uint8_t *key = NULL;
    tlo_vault_reader *r = NULL;
    tlo_error err = {0};
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (!(key = cli_read_key_file(a.key_file, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    if ((rc = open_input(a.in_path, &in)) != 0)
        goto out;
    if (!(r = tlo_vault_reader_open_fd(in, key, a.in_path, &err))) {
        rc = cli_fail(&err);
        goto out;
    }
    tlo_vault_key_free(key);
    key = NULL;
    uint64_t size = tlo_vault_reader_size(r);
    if (!a.have_len)
        a.len = a.off <= size ? size - a.off : 0;
    if (a.off > size || a.len > size - a.off) {
        cli_error("%s holds %llu bytes of plaintext; --offset %llu --length %llu is outside it",
                  a.in_path, (unsigned long long)size, (unsigned long long)a.off,
                  (unsigned long long)a.len);
        rc = EXIT_USAGE;
        goto out;
    }
    if ((rc = create_output(a.out_path, &out)) != 0)
        goto out;
    if (open_copy(r, &a, out, &rc) != 0)
        goto fail_remove;
    if (out != STDOUT_FILENO && close(out) != 0) {
        out = -1;
        cli_error("closing %s failed: %s", a.out_path, strerror(errno));
        rc = EXIT_SYSTEM;
        goto fail_remove;
    }
    out = -1;
    rc = EXIT_OK;
    goto out;

fail_remove:
    if (out > STDOUT_FILENO) {
        close(out);
        out = -1;
        unlink(a.out_path);
    }
out:
    tlo_vault_reader_free(r);
    tlo_vault_key_free(key);
    if (in >= 0)
        close(in);
    if (out > STDOUT_FILENO)
        close(out);
    return rc;
}

static void print_inspection(const char *path, const tlo_vault_inspection *ins, int json)
{
    char case_id[2 * TLO_ID_BYTES + 1], oid[2 * TLO_ID_BYTES + 1], kid[2 * TLO_KEYID_BYTES + 1],
        salt[2 * TLO_SALT_BYTES + 1];
    tlo_hex(case_id, ins->header.case_id, TLO_ID_BYTES);
    tlo_hex(oid, ins->header.object_id, TLO_ID_BYTES);
    tlo_hex(kid, ins->header.key_id, TLO_KEYID_BYTES);
    tlo_hex(salt, ins->header.salt, TLO_SALT_BYTES);
    if (json) {
        fputs("{\"file\":", stdout);
        cli_json_string(stdout, path);
        printf(",\"authenticated\":false,\"version\":%u,\"suite\":%u,"
               "\"kind\":\"%s\",\"chunk_bytes\":%llu,\"case_id\":\"%s\",\"object_id\":\"%s\","
               "\"key_id\":\"%s\",\"salt\":\"%s\",\"file_bytes\":%llu,\"chunks\":%llu,"
               "\"size_consistent\":%s,\"plaintext_bytes\":%llu}\n",
               ins->header.version, ins->header.suite, kind_name(ins->header.kind),
               (unsigned long long)ins->chunk_bytes, case_id, oid, kid, salt,
               (unsigned long long)ins->file_bytes, (unsigned long long)ins->chunks,
               ins->size_consistent ? "true" : "false", (unsigned long long)ins->plaintext_bytes);
        return;
    }
    printf("%s: tellonce sealed object\n"
           "  version          %u\n"
           "  suite            %u (ChaCha20-Poly1305, HKDF-SHA-256, SHA-256)\n"
           "  kind             %s\n"
           "  chunk size       %llu bytes\n"
           "  case id          %s\n"
           "  object id        %s\n"
           "  case key id      %s\n"
           "  salt             %s\n"
           "  file size        %llu bytes\n"
           "  chunks           %llu\n",
           path, ins->header.version, ins->header.suite, kind_name(ins->header.kind),
           (unsigned long long)ins->chunk_bytes, case_id, oid, kid, salt,
           (unsigned long long)ins->file_bytes, (unsigned long long)ins->chunks);
    if (ins->size_consistent)
        printf(_("  plaintext bytes  %llu\n"), (unsigned long long)ins->plaintext_bytes);
    else
        printf(_("  plaintext bytes  unknown: the file size does not match its trailer (truncated, "
                 "extended or altered)\n"));
    printf(_("Nothing above is authenticated: 'tellonce object open' with the case key checks "
             "it.\n"));
}

static int do_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int json = 0, c, fd;
    tlo_error err = {0};
    tlo_vault_inspection ins;
    struct stat st;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            json = 1;
            break;
        case 'h':
            object_usage(stdout);
            return EXIT_OK;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    if (argc - optind != 1) {
        cli_error("inspect takes one file; see 'tellonce object --help'");
        return EXIT_USAGE;
    }
    const char *path = argv[optind];
    int rc = open_input(path, &fd);
    if (rc != 0)
        return rc;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        cli_error("%s is not a regular file", path);
        close(fd);
        return EXIT_USAGE;
    }
    rc = tlo_vault_inspect(tlo_vault_fd_source, &fd, (uint64_t)st.st_size, path, &ins, &err);
    close(fd);
    if (rc != 0)
        return cli_fail(&err);
    print_inspection(path, &ins, json);
    return EXIT_OK;
}

int cmd_object(int argc, char **argv)
{
    if (argc < 2) {
        cli_usage_hint();
        return EXIT_USAGE;
    }
    const char *sub = argv[1];
    optind = 0; /* reinitialize getopt for the subcommand's arguments */
    if (!strcmp(sub, "seal"))
        return do_seal(argc - 1, argv + 1);
    if (!strcmp(sub, "open"))
        return do_open(argc - 1, argv + 1);
    if (!strcmp(sub, "inspect"))
        return do_inspect(argc - 1, argv + 1);
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        object_usage(stdout);
        return EXIT_OK;
    }
    cli_error("'object %s' is not a command; object has seal, open and inspect (see 'tellonce "
              "object --help')",
              sub);
    return EXIT_USAGE;
}
