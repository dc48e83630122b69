/* tellonce note — records and attachments of a case: add, amend, list,
 * show, get (custody/notes.c decides and logs; docs/notes.md). */
#include "cli.h"
#include "cli_text.h"
#include "tlo_time.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void note_usage(FILE *f, const char *sub)
{
    if (!sub || !strcmp(sub, "add") || !strcmp(sub, "amend"))
        fputs(_("usage: tellonce note add CASE --kind KIND (--text TEXT | --text-file FILE |\n"
                "                         --file FILE)... [--title TITLE]\n"
                "                         [--session S --at HH:MM:SS] --as NAME\n"
                "       tellonce note amend CASE NOTE (--text ... | --text-file ... | --file "
                "...)...\n"
                "                         [--title TITLE] --as NAME\n"
                "\n"
                "Adds a note to CASE: one sealed object holding its text and files (photos,\n"
                "PDFs, scans), signed by NAME. KIND says who may add it: exam, photo and\n"
                "sample-collection (medical staff), psych (a psychologist), assessment (a\n"
                "psychologist or social worker), legal (legal aid), followup (a social\n"
                "worker), other (an interviewer). The ledger holds only the note's kind,\n"
                "author, sizes and digests: never its text, title or file names.\n"
                "  --text -, --text-file -   read the text from standard input: a text given\n"
                "                            on the command line can be read by every local\n"
                "                            user (ps, /proc/PID/cmdline) while it runs\n"
                "  --session S --at TIME     the moment of a session the note refers to (S: its "
                "number\n"
                "                            or 4+ hex digits of its id)\n"
                "'note amend' (the author only) adds a new version naming the one it replaces;\n"
                "nothing is ever changed or deleted. NOTE is its number in 'note list' or 4 or\n"
                "more hex digits of its id.\n"),
              f);
    if (!sub || !strcmp(sub, "list"))
        fputs(_("usage: tellonce note list CASE [--json]\n"
                "The notes of CASE and their versions: kind, author, sizes, never content.\n"),
              f);
    if (!sub || !strcmp(sub, "show") || !strcmp(sub, "get"))
        fputs(_("usage: tellonce note show CASE NOTE [--version N] --as NAME\n"
                "       tellonce note get CASE NOTE -o DIR [--version N] --as NAME\n"
                "'show' prints the note's text and lists its files; 'get' writes its files into\n"
                "DIR under safe names (never over a file). For the author, the same profession\n"
                "on the case, and people granted the note ('tellonce grant CASE --note NOTE').\n"
                "Each is logged before anything is unsealed; a refusal is logged too. A photo\n"
                "carrying EXIF data (a GPS position above all) is named: its original bytes are\n"
                "kept as evidence, so remove the data before forwarding it.\n"),
              f);
}

typedef struct note_args {
    const char *as, *vault_opt, *pass_file, *kind, *title, *session, *at, *out_dir;
    bool json;
    uint64_t version;
    /* the text, from every --text and --text-file in order */
    char *text;
    size_t text_len;
    tlo_custody_note_part parts[TLO_CUSTODY_NOTE_FILES_MAX];
    char *names[TLO_CUSTODY_NOTE_FILES_MAX];
    uint8_t *datas[TLO_CUSTODY_NOTE_FILES_MAX];
    size_t nparts;
    uint64_t total;
    int pos; /* first positional argument */
    bool stdin_used;
} note_args;

static void args_free(note_args *a)
{
    if (a->text) {
        sodium_memzero(a->text, a->text_len);
        free(a->text);
    }
    for (size_t i = 0; i < a->nparts; i++) {
        if (a->datas[i]) {
            sodium_memzero(a->datas[i], a->parts[i].len);
            free(a->datas[i]);
        }
        free(a->names[i]);
    }
}

/* All of fd (at most max bytes) into *out (malloc'd). 0, or -1 (printed). */
static int read_fd(int fd, const char *what, uint64_t max, uint8_t **out, size_t *len)
{
    size_t cap = 65536, n = 0;
    uint8_t *buf = malloc(cap);
    *out = NULL;
    *len = 0;
    while (buf) {
        if (n == cap) {
            uint8_t *p = cap * 2 > max + 1 && cap > max ? NULL : realloc(buf, cap * 2);
            if (!p) {
                sodium_memzero(buf, n);
                free(buf);
                buf = NULL;
                break;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_error("cannot read %s: %s", what, strerror(errno));
            sodium_memzero(buf, n);
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n > max) {
            cli_error("%s is larger than a note holds (%llu MiB for all its files, 1 MiB of "
                      "text): split it into several notes",
                      what, (unsigned long long)(TLO_CUSTODY_NOTE_BYTES_MAX >> 20));
            sodium_memzero(buf, n);
            free(buf);
            return -1;
        }
    }
    if (!buf) {
        cli_error("out of memory reading %s", what);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* A file argument: "-" is standard input, "/dev/fd/N" (the service's child)
 * the fd the client passed, else a path of this user's. */
static int open_arg(note_args *a, const char *path, bool *close_it)
{
    *close_it = false;
    if (!strcmp(path, "-")) {
        if (a->stdin_used) {
            cli_error("standard input can be read once: give '-' to one --text or --text-file");
            return -1;
        }
        a->stdin_used = true;
        return STDIN_FILENO;
    }
    if (tlo_service_in_child()) {
        int fd = tlo_service_file_fd(path);
        if (fd < 0)
            cli_error("%s: through the service, tellonce hands over the files itself", path);
        else
            lseek(fd, 0, SEEK_SET);
        return fd;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        cli_error("cannot open %s: %s", path, strerror(errno));
    *close_it = fd >= 0;
    return fd;
}

static int add_text(note_args *a, const uint8_t *t, size_t len)
{
    size_t sep = a->text_len ? 2 : 0;
    if (a->text_len + sep + len > TLO_CUSTODY_NOTE_TEXT_MAX) {
        cli_error("the text of a note is at most 1 MiB");
        return -1;
    }
    char *p = malloc(a->text_len + sep + len + 1);
    if (!p) {
        cli_error("out of memory");
        return -1;
    }
    if (a->text_len)
        memcpy(p, a->text, a->text_len);
    memcpy(p + a->text_len, "\n\n", sep);
    memcpy(p + a->text_len + sep, t, len);
    p[a->text_len + sep + len] = '\0';
    if (a->text) {
        sodium_memzero(a->text, a->text_len);
        free(a->text);
    }
    a->text = p;
    a->text_len += sep + len;
    return 0;
}

static int add_text_file(note_args *a, const char *path)
{
    bool c;
    uint8_t *buf;
    size_t len;
    int fd = open_arg(a, path, &c), rc = -1;
    if (fd < 0)
        return -1;
    if (read_fd(fd, !strcmp(path, "-") ? "standard input" : path, TLO_CUSTODY_NOTE_TEXT_MAX, &buf,
                &len) == 0) {
        rc = add_text(a, buf, len);
        sodium_memzero(buf, len);
        free(buf);
    }
    if (c)
        close(fd);
    return rc;
}

static int add_file(note_args *a, const char *path)
{
    bool c;
    size_t len;
    uint8_t *buf;
    if (a->nparts >= TLO_CUSTODY_NOTE_FILES_MAX) {
        cli_error("a note holds at most %u files", TLO_CUSTODY_NOTE_FILES_MAX);
        return -1;
    }
    if (!strcmp(path, "-")) {
        cli_error("--file takes a file (its name goes into the note); --text-file - reads "
                  "standard input");
        return -1;
    }
    int fd = open_arg(a, path, &c);
    if (fd < 0)
        return -1;
    int rc = read_fd(fd, path, TLO_CUSTODY_NOTE_BYTES_MAX - a->total, &buf, &len);
    if (c)
        close(fd);
    if (rc)
        return -1;
    char *copy = strdup(path);
    char *name = copy ? strdup(basename(copy)) : NULL;
    free(copy);
    if (!name) {
        free(buf);
        cli_error("out of memory");
        return -1;
    }
    a->total += len;
    a->datas[a->nparts] = buf;
    a->names[a->nparts] = name;
    a->parts[a->nparts++] = (tlo_custody_note_part){.name = name, .data = buf, .len = len};
    return 0;
}

enum {
    O_AS = 1,
    O_VAULT,
    O_PASS,
    O_KIND,
    O_TEXT,
    O_TEXT_FILE,
    O_FILE,
    O_FILE_NAME,
    O_TITLE,
    O_SESSION,
    O_AT,
    O_JSON,
    O_VERSION,
    O_OUT,
    O_HELP
};

/* Options of every note subcommand into a; 0, -1 after --help, or an exit code. */
/* --text, --text-file, --file, --file-name (optarg): 0 or an exit code. */
static int content_option(int c, note_args *a)
{
    switch (c) {
    case O_TEXT:
        return (!strcmp(optarg, "-") ? add_text_file(a, "-")
                                     : add_text(a, (const uint8_t *)optarg, strlen(optarg)))
                   ? EXIT_USAGE
                   : 0;
    case O_TEXT_FILE:
        return add_text_file(a, optarg) ? EXIT_USAGE : 0;
    case O_FILE:
        return add_file(a, optarg) ? EXIT_USAGE : 0;
    default: /* O_FILE_NAME, from the service's client: the name of the --file before */
        if (!a->nparts || !tlo_service_in_child()) {
            cli_error("--file-name is for the custodian service's client");
            return EXIT_USAGE;
        }
        free(a->names[a->nparts - 1]);
        if (!(a->names[a->nparts - 1] = strdup(optarg)))
            return EXIT_SYSTEM;
        a->parts[a->nparts - 1].name = a->names[a->nparts - 1];
        return 0;
    }
}

/* The options of note (getopt_long). */
static const struct option note_opts[] = {{"as", required_argument, NULL, O_AS},
                                          {"vault", required_argument, NULL, O_VAULT},
                                          {"passphrase-file", required_argument, NULL, O_PASS},
                                          {"kind", required_argument, NULL, O_KIND},
                                          {"text", required_argument, NULL, O_TEXT},
                                          {"text-file", required_argument, NULL, O_TEXT_FILE},
                                          {"file", required_argument, NULL, O_FILE},
                                          {"file-name", required_argument, NULL, O_FILE_NAME},
                                          {"title", required_argument, NULL, O_TITLE},
                                          {"session", required_argument, NULL, O_SESSION},
                                          {"at", required_argument, NULL, O_AT},
                                          {"json", no_argument, NULL, O_JSON},
                                          {"version", required_argument, NULL, O_VERSION},
                                          {"output", required_argument, NULL, O_OUT},
                                          {"help", no_argument, NULL, O_HELP},
                                          {NULL, 0, NULL, 0}};

/* Reads the options of 'note SUB' into a; 0, -1 after --help, or an exit code. */
static int note_options(int argc, char **argv, const char *sub, note_args *a)
{
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:", note_opts, NULL)) != -1) {
        switch (c) {
        case O_AS:
            a->as = optarg;
            break;
        case O_VAULT:
            a->vault_opt = optarg;
            break;
        case O_PASS:
            a->pass_file = optarg;
            break;
        case O_KIND:
            a->kind = optarg;
            break;
        case O_TEXT:
        case O_TEXT_FILE:
        case O_FILE:
        case O_FILE_NAME: {
            int crc = content_option(c, a);
            if (crc)
                return crc;
            break;
        }
        case O_TITLE:
            a->title = optarg;
            break;
        case O_SESSION:
            a->session = optarg;
            break;
        case O_AT:
            a->at = optarg;
            break;
        case O_JSON:
            a->json = true;
            break;
        case O_VERSION:
            if (tlo_parse_u64(optarg, &a->version) != 0 || a->version == 0) {
                cli_error("--version takes a version number, 1, 2, ... ('tellonce note list')");
                return EXIT_USAGE;
            }
            break;
        case 'o':
        case O_OUT:
            a->out_dir = optarg;
            break;
        case O_HELP:
            note_usage(stdout, sub);
            return -1;
        default:
            cli_usage_hint();
            return EXIT_USAGE;
        }
    }
    a->pos = optind;
    /* Before anything is done: through the service, an add with -o would be
     * logged and then fail for want of a note to hand back. */
    if (a->out_dir && strcmp(sub, "get")) {
        cli_error("-o is for 'note get' (it names the folder the files go into); 'note %s' takes "
                  "none",
                  sub);
        return EXIT_USAGE;
    }
    return 0;
}

static int note_add(int argc, char **argv, bool amend)
{
    note_args *a = calloc(1, sizeof *a);
    tlo_vault_identity *actor = NULL;
    tlo_custody *v = NULL;
    tlo_error err = {0};
    tlo_custody_note_added out;
    const char *sub = amend ? "amend" : "add";
    if (!a)
        return EXIT_SYSTEM;
    int rc = note_options(argc, argv, sub, a);
    if (rc) {
        rc = rc < 0 ? EXIT_OK : rc;
        goto out;
    }
    if (argc - a->pos != (amend ? 2 : 1) || !a->as || (!amend && !a->kind) || (amend && a->kind)) {
        cli_error(amend ? "note amend takes CASE, NOTE and --as (the kind stays the note's); see "
                          "'tellonce note amend --help'"
                        : "note add takes CASE, --kind and --as; see 'tellonce note add --help'");
        rc = EXIT_USAGE;
        goto out;
    }
    tlo_custody_note_params p = {.case_number = argv[a->pos],
                                 .note = amend ? argv[a->pos + 1] : NULL,
                                 .kind = a->kind,
                                 .title = a->title,
                                 .text = a->text,
                                 .text_len = a->text_len,
                                 .files = a->parts,
                                 .nfiles = a->nparts,
                                 .session = a->session};
    if (a->at && cli_parse_session_time(a->at, &p.at_ms) != 0) {
        cli_error("--at takes a session time, HH:MM:SS, MM:SS or SS (.mmm optional)");
        rc = EXIT_USAGE;
        goto out;
    }
    p.has_at = a->at != NULL;
    if (!amend && !tlo_custody_note_kind_ok(a->kind)) {
        cli_error("--kind is exam, photo, sample-collection, psych, legal, assessment, followup or "
                  "other");
        rc = EXIT_USAGE;
        goto out;
    }
    if (!(v = cli_open(a->vault_opt, false, &rc)))
        goto out;
    tlo_custody_case ncs;
    char session[33];
    if (p.session && ((rc = cli_find_case(v, p.case_number, &ncs)) != EXIT_OK ||
                      (rc = cli_session_ref(v, &ncs, p.session, session, NULL)) != EXIT_OK))
        goto out;
    if (p.session)
        p.session = session;
    /* Unlocked for anyone enrolled (the roles of TLO_ACT_NOTE_LIST): the
     * core decides with the table and logs a refusal against the case. */
    if (!(actor = cli_acting(v, a->as, a->pass_file, TLO_ACT_NOTE_LIST, &rc)))
        goto out;
    if (tlo_custody_note_add(v, actor, &p, &out, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (amend)
        printf(_("Note %u of case %s: version %llu (object %s) replaces the one before, in entry "
                 "%llu, signed by %s.\n"),
               out.number, p.case_number, (unsigned long long)out.version, out.object,
               (unsigned long long)out.seq, a->as);
    else
        printf(_("Note %u of case %s (id %s): %zu file(s), %zu bytes of text, sealed (%llu "
                 "bytes) and logged in entry %llu, signed by %s.\n"),
               out.number, p.case_number, out.id, a->nparts, a->text_len,
               (unsigned long long)out.bytes, (unsigned long long)out.seq, a->as);
    rc = EXIT_OK;
out:
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    args_free(a);
    free(a);
    return rc;
}

static void utc_text(char *out, size_t cap, uint64_t ms)
{
    tlo_time_text(ms, out, cap); /* local, with its offset */
}

/* One version of a note in note list: a JSON object (after a comma unless
 * first) or a line. */
static void print_version(const tlo_custody_note_version *ver, bool json, bool first)
{
    char when[40], hex[65];
    utc_text(when, sizeof when, ver->time_ms);
    tlo_hex(hex, ver->ciphertext_sha256, 32);
    if (json) {
        printf("%s{\"version\":%llu,\"object\":\"%s\",\"entry\":%llu,\"time\":\"%s\","
               "\"files\":%llu,\"text_bytes\":%llu,\"bytes\":%llu,"
               "\"ciphertext_sha256\":\"%s\",\"replaces\":",
               first ? "" : ",", (unsigned long long)ver->version, ver->object,
               (unsigned long long)ver->seq, when, (unsigned long long)ver->files,
               (unsigned long long)ver->text_bytes, (unsigned long long)ver->bytes, hex);
        if (ver->replaces[0])
            printf("\"%s\"", ver->replaces);
        else
            printf("null");
        if (ver->session[0])
            printf(",\"session\":\"%s\"", ver->session);
        if (ver->has_at)
            printf(",\"at_ms\":%llu", (unsigned long long)ver->at_ms);
        printf("}");
    } else if (ver->replaces[0]) {
        printf(_("  version %llu  %s  entry %llu  object %s  %llu file(s), %llu bytes of "
                 "text, sealed %llu bytes  replaces %s\n"),
               (unsigned long long)ver->version, when, (unsigned long long)ver->seq, ver->object,
               (unsigned long long)ver->files, (unsigned long long)ver->text_bytes,
               (unsigned long long)ver->bytes, ver->replaces);
    } else {
        printf(_("  version %llu  %s  entry %llu  object %s  %llu file(s), %llu bytes of "
                 "text, sealed %llu bytes\n"),
               (unsigned long long)ver->version, when, (unsigned long long)ver->seq, ver->object,
               (unsigned long long)ver->files, (unsigned long long)ver->text_bytes,
               (unsigned long long)ver->bytes);
    }
}

static int note_list(int argc, char **argv)
{
    note_args a = {0};
    tlo_custody_notes n = {0};
    tlo_error err = {0};
    int rc = note_options(argc, argv, "list", &a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (argc - a.pos != 1) {
        cli_error("note list takes CASE; see 'tellonce note list --help'");
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(a.vault_opt, true, &rc);
    if (!v)
        return rc;
    if (tlo_custody_notes_list(v, argv[a.pos], &n, &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    if (a.json)
        printf("[");
    else if (!n.n)
        printf(_("Case %s has no notes.\n"), argv[a.pos]);
    for (size_t i = 0; i < n.n; i++) {
        const tlo_custody_note_info *ni = &n.note[i];
        char roles[200];
        tlo_roles_format(ni->author_roles, ",", roles, sizeof roles);
        if (a.json) {
            printf("%s{\"note_number\":%u,\"note\":\"%s\",\"kind\":\"%s\",\"author\":",
                   i ? "," : "", ni->number, ni->id, ni->kind);
            cli_json_string(stdout, ni->author_name);
            printf(",\"author_roles\":");
            cli_json_roles(stdout, ni->author_roles);
            printf(",\"versions\":[");
        } else {
            cli_roles_text(ni->author_roles, roles, sizeof roles);
            printf(_("note %u  %s  by %s (%s)  id %s\n"), ni->number, ni->kind, ni->author_name,
                   roles, ni->id);
        }
        for (size_t k = 0; k < ni->nv; k++)
            print_version(&ni->v[k], a.json, k == 0);
        if (a.json)
            printf("]}");
    }
    if (a.json)
        printf("]\n");
    rc = EXIT_OK;
out:
    tlo_custody_notes_free(&n);
    tlo_custody_close(v);
    return rc;
}

/* What a photo carries, in words, or NULL. *verb: the words follow the
 * file's name ("photo.jpg carries ..."); else they follow "name: ". */
static const char *exif_words(const tlo_custody_note_file *f, bool *verb)
{
    *verb = true;
    tlo_custody_exif x;
    tlo_custody_exif_scan(f->data, (size_t)f->bytes, &x);
    if (x.gps)
        return N_("carries EXIF data with a GPS position: remove it before forwarding the photo");
    if (x.exif)
        return N_("carries EXIF data (camera, time, maybe more): remove it before forwarding the "
                  "photo");
    *verb = false;
    if (!x.checked && !strncmp(f->type, "image/", 6))
        return N_("this format is not checked for EXIF/GPS data: assume it may carry the place it "
                  "was taken");
    return NULL;
}

/* A name for f in a folder: no '/', no control or invisible character, no
 * leading '.', never "" or "..": the author's name is hostile. */
static void safe_name(const char *in, char *out, size_t cap)
{
    size_t o = 0, len = strlen(in);
    for (size_t k = 0; k < len && o + 5 < cap;) {
        uint32_t cp;
        size_t n = tlo_utf8_text_char((const uint8_t *)in + k, len - k, &cp);
        bool hidden = (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                      (cp >= 0x200b && cp <= 0x200f) || cp == 0xfeff;
        if (!n || hidden || cp == '/' || cp == '\\' || (o == 0 && cp == '.')) {
            out[o++] = '_';
            k += n ? n : 1;
            continue;
        }
        memcpy(out + o, in + k, n);
        o += n;
        k += n;
    }
    out[o] = '\0';
    if (!o)
        snprintf(out, cap, "file");
}

/* Writes f into the folder dfd (named dir) under a safe name, never over
 * a file (O_EXCL; "-2", "-3", ... before the extension on a collision).
 * 0 and the name in got, or -1 (printed). */
static int write_one(int dfd, const char *dir, const tlo_custody_note_file *f, char *got,
                     size_t cap)
{
    char base[220], name[260];
    safe_name(f->name, base, sizeof base);
    char *dot = strrchr(base, '.');
    size_t stem = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    for (unsigned i = 1; i < 1000; i++) {
        if (i == 1)
            snprintf(name, sizeof name, "%s", base);
        else
            snprintf(name, sizeof name, "%.*s-%u%s", (int)stem, base, i, base + stem);
        int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0) {
            cli_error("cannot create %s/%s: %s", dir, name, strerror(errno));
            return -1;
        }
        int w = tlo_write_all(fd, f->data, (size_t)f->bytes);
        if (w != 0 || fsync(fd) != 0) {
            cli_error("cannot write %s/%s: %s; it is removed", dir, name, strerror(w ? -w : errno));
            close(fd);
            unlinkat(dfd, name, 0);
            return -1;
        }
        close(fd);
        snprintf(got, cap, "%s", name);
        return 0;
    }
    cli_error("%s holds too many files named like %s; choose an empty folder", dir, base);
    return -1;
}

int cli_note_write_files(const char *dir, const tlo_custody_note_content *c)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        cli_error("cannot open the folder %s: %s (-o names a folder that exists)", dir,
                  strerror(errno));
        return EXIT_USAGE;
    }
    int rc = EXIT_OK;
    if (!c->nfiles)
        fputs(_("The note has no files (its text: 'tellonce note show').\n"), stdout);
    for (size_t i = 0; i < c->nfiles && rc == EXIT_OK; i++) {
        char got[300], shown[300];
        tlo_clean_text(shown, sizeof shown, c->files[i].name);
        if (write_one(dfd, dir, &c->files[i], got, sizeof got) != 0) {
            rc = EXIT_SYSTEM;
            break;
        }
        printf(_("%s (%s, %llu bytes) -> %s/%s\n"), shown, c->files[i].type,
               (unsigned long long)c->files[i].bytes, dir, got);
        bool verb;
        const char *x = exif_words(&c->files[i], &verb);
        if (x)
            printf(_("  warning: %s%s%s\n"), shown, verb ? " " : ": ", _(x));
    }
    if (fsync(dfd) != 0 && rc == EXIT_OK)
        cli_error("cannot sync the folder %s: %s", dir, strerror(errno));
    close(dfd);
    return rc;
}

/* What was read, on which basis (custody's word: grant, profession,
 * author), and the entry that logged it: one whole sentence per basis. */
static void said_read(const tlo_custody_note_read_info *info, const char *number, const char *kind)
{
    unsigned long long version = info->version.version, seq = info->access_seq;
    const char *basis = info->basis ? info->basis : "?";
    if (!strcmp(basis, "grant"))
        fprintf(stderr,
                _("Note %u version %llu of case %s (%s), read as grant; logged in entry "
                  "%llu.\n"),
                info->number, version, number, kind, seq);
    else if (!strcmp(basis, "profession"))
        fprintf(stderr,
                _("Note %u version %llu of case %s (%s), read as profession; logged in "
                  "entry %llu.\n"),
                info->number, version, number, kind, seq);
    else if (!strcmp(basis, "author"))
        fprintf(stderr,
                _("Note %u version %llu of case %s (%s), read as author; logged in entry "
                  "%llu.\n"),
                info->number, version, number, kind, seq);
    else
        fprintf(stderr,
                _("Note %u version %llu of case %s (%s), read as %s; logged in entry %llu.\n"),
                info->number, version, number, kind, basis, seq);
}

static int note_read(int argc, char **argv, bool get)
{
    note_args a = {0};
    tlo_custody_note_content c = {0};
    tlo_custody_note_read_info info;
    tlo_error err = {0};
    tlo_vault_identity *actor = NULL;
    int rc = note_options(argc, argv, get ? "get" : "show", &a), out_fd = -1;
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    if (argc - a.pos != 2 || !a.as || (get && !a.out_dir) || (!get && a.out_dir)) {
        cli_error("note %s takes CASE, NOTE%s and --as; see 'tellonce note %s --help'",
                  get ? "get" : "show", get ? ", -o DIR" : "", get ? "get" : "show");
        return EXIT_USAGE;
    }
    if (get && tlo_service_in_child() && (out_fd = tlo_service_file_fd(a.out_dir)) < 0) {
        cli_error("through the custodian service, note get writes only into the memory file its "
                  "client passes for -o (tellonce does that)");
        return EXIT_USAGE;
    }
    struct stat st;
    if (get && out_fd < 0 && (stat(a.out_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        cli_error("-o %s is not a folder: give a folder that exists", a.out_dir);
        return EXIT_USAGE;
    }
    tlo_custody *v = cli_open(a.vault_opt, false, &rc);
    if (!v)
        return rc;
    /* Anyone enrolled is unlocked (TLO_ACT_NOTE_LIST's roles): the core
     * decides, and logs a refusal as note-access and action-refused
     * entries of the case, an auditor's too. */
    if (!(actor = cli_acting(v, a.as, a.pass_file, TLO_ACT_NOTE_LIST, &rc)))
        goto out;
    if (tlo_custody_note_read(v, actor, argv[a.pos], argv[a.pos + 1], a.version,
                              get ? TLO_CUSTODY_NOTE_GET : TLO_CUSTODY_NOTE_SHOW, &c, &info,
                              &err) != 0) {
        rc = cli_fail(&err);
        goto out;
    }
    said_read(&info, argv[a.pos], c.kind);
    if (out_fd >= 0) {
        /* The client writes the files: it runs as the person, we do not. */
        int w = tlo_write_all(out_fd, c.owned, c.owned_len);
        rc = w == 0 ? EXIT_OK : EXIT_SYSTEM;
        if (w)
            cli_error("cannot hand the note to the client: %s", strerror(-w));
        goto out;
    }
    if (get) {
        rc = cli_note_write_files(a.out_dir, &c);
        goto out;
    }
    if (c.title[0])
        printf(_("Title: %s\n"), c.title);
    printf(_("Kind: %s\n\n%s%s"), c.kind, c.text,
           c.text_len && c.text[c.text_len - 1] != '\n' ? "\n" : "");
    for (size_t i = 0; i < c.nfiles; i++) {
        char shown[300];
        tlo_clean_text(shown, sizeof shown, c.files[i].name);
        bool verb;
        const char *x = exif_words(&c.files[i], &verb);
        printf(_("%sfile %zu: %s (%s, %llu bytes)%s%s\n"), i ? "" : "\n", i + 1, shown,
               c.files[i].type, (unsigned long long)c.files[i].bytes, x ? ": " : "", x ? _(x) : "");
    }
    rc = EXIT_OK;
out:
    tlo_custody_note_content_free(&c);
    tlo_vault_identity_free(actor);
    tlo_custody_close(v);
    return rc;
}

int cmd_note(int argc, char **argv)
{
    const char *sub = argc >= 2 ? argv[1] : NULL;
    if (sub && !strcmp(sub, "add"))
        return note_add(argc - 1, argv + 1, false);
    if (sub && !strcmp(sub, "amend"))
        return note_add(argc - 1, argv + 1, true);
    if (sub && !strcmp(sub, "list"))
        return note_list(argc - 1, argv + 1);
    if (sub && !strcmp(sub, "show"))
        return note_read(argc - 1, argv + 1, false);
    if (sub && !strcmp(sub, "get"))
        return note_read(argc - 1, argv + 1, true);
    if (sub && (!strcmp(sub, "--help") || !strcmp(sub, "-h"))) {
        note_usage(stdout, NULL);
        return EXIT_OK;
    }
    if (sub)
        cli_error("'%s' is not a note subcommand: add, amend, list, show or get", sub);
    else
        cli_error("note needs a subcommand: add, amend, list, show or get");
    cli_usage_hint();
    return EXIT_USAGE;
}
