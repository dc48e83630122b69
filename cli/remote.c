/* The tellonce command as a client of the custodian service (docs/service.md,
 * "Protocol"): the command line goes to the service, which runs it with the
 * same code as here, on a pty (when this is a terminal) or pipes that it
 * relays; this process only moves bytes, hands over the files the command
 * line names, and, for play, shows what the service released. */
#include "cli.h"
#include "proto.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* The commands the service runs; the others (init, object, devices,
 * verify-proof, verify-export, custodian) never need the vault's keys or
 * run on this machine's own files and devices. */
static const char *const forwarded[] = {
    "user",   "case",       "record", "mark", "grant",  "play",  "export", "recover", "log",
    "verify", "checkpoint", "prove",  "stop", "passwd", "login", "logout", "note",    "session",
};

bool cli_forwarded(const char *command)
{
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        if (!strcmp(command, forwarded[i]))
            return true;
    return !strcmp(command, "sample") || !strcmp(command, "report") || !strcmp(command, "settings");
}

/* Options whose value is a file of this user's: the client opens it and
 * hands the service the open file (which it could not open itself, and
 * must not open as the service's user: a path the service opened for a
 * client would let that client read or overwrite the vault). The service's
 * child refuses every one of them whose value is not a file handed over
 * (cli_service_run). One table for both ends. */
/* FILE_BACK: the client passes an empty memory file the command writes
 * its result into (note get: the note's container), and does the rest
 * itself after the command succeeded (remote_back: the files into DIR). */
typedef enum { FILE_IN, FILE_OUT, FILE_ROOM, FILE_REFUSED, FILE_BACK } file_kind;
static const struct {
    const char *command; /* NULL: any */
    const char *opt, *short_opt;
    file_kind kind;
    const char *instead; /* FILE_REFUSED: what to do */
} file_opts[] = {
    {NULL, "--passphrase-file", NULL, FILE_IN, NULL},
    {NULL, "--new-passphrase-file", NULL, FILE_IN, NULL},
    {NULL, "--child-file", NULL, FILE_IN, NULL},
    {NULL, "--code-file", NULL, FILE_IN, NULL},
    {NULL, "--vault", NULL, FILE_REFUSED,
     "the custodian service has its own vault: leave --vault out (or drop --socket to run on a "
     "vault of your own)"},
    {"verify", "--checkpoint", NULL, FILE_IN, NULL},
    {"verify", "--checkpoints", NULL, FILE_REFUSED,
     "through the service give each published checkpoint with --checkpoint FILE"},
    {"prove", "--checkpoint", NULL, FILE_IN, NULL},
    {"prove", "--from", NULL, FILE_IN, NULL},
    {"prove", "--to", NULL, FILE_IN, NULL},
    {"prove", "--output", "-o", FILE_REFUSED,
     "through the service leave -o out: the proof goes to standard output ('> FILE')"},
    {"checkpoint", "--output", "-o", FILE_REFUSED,
     "through the service leave -o out: the service keeps every checkpoint in the vault and "
     "copies it to the publish folders of its vault.conf"},
    {"checkpoint", "--publish", NULL, FILE_REFUSED,
     "the service publishes to the folders its vault.conf names (publish=DIR)"},
    {"export", "--output", "-o", FILE_OUT, NULL},
    {"record", "--room", NULL, FILE_ROOM, NULL},
    {"report", "--output", "-o", FILE_OUT, NULL},
    {"report", "--json", NULL, FILE_OUT, NULL},
    {"note", "--file", NULL, FILE_IN, NULL},
    {"note", "--text-file", NULL, FILE_IN, NULL},
    {"note", "--output", "-o", FILE_BACK, NULL},
};

/* "note --text-file -": standard input, which the service relays. */
static bool is_stdin(const char *command, const char *value)
{
    return value && !strcmp(command, "note") && !strcmp(value, "-");
}

/* Which table row, if any, argv[i] is for command; *value its value (the
 * next argument, or after '=', or after a short option's letter), *used how
 * many arguments it takes. As getopt_long reads them: a long option also by
 * any abbreviation ("--pass", "--o=F";
 * one that abbreviates a file option counts as it), a short one also with
 * its value attached ("-oFILE"). After "--" nothing is an option. */
static int file_opt(const char *command, int argc, char **argv, int i, const char **value,
                    int *used)
{
    /* Options of their own that only look like abbreviations of a file
     * option (note's --text and --text-file): getopt_long takes an exact
     * name first. */
    static const struct {
        const char *command, *opt;
    } exact[] = {{"note", "--text"}};
    const char *a = argv[i];
    for (size_t k = 0; k < sizeof exact / sizeof exact[0]; k++) {
        size_t ol = strlen(exact[k].opt);
        if (!strcmp(command, exact[k].command) && !strncmp(a, exact[k].opt, ol) &&
            (a[ol] == '\0' || a[ol] == '='))
            return -1;
    }
    for (size_t k = 0; k < sizeof file_opts / sizeof file_opts[0]; k++) {
        if (file_opts[k].command && strcmp(file_opts[k].command, command))
            continue;
        const char *opt = file_opts[k].opt, *so = file_opts[k].short_opt;
        size_t ol = strlen(opt);
        if (so && a[0] == '-' && a[1] == so[1] && a[2]) { /* -oFILE */
            *value = a + 2;
            *used = 1;
            return (int)k;
        }
        if (so && !strcmp(a, so)) {
            *value = i + 1 < argc ? argv[i + 1] : NULL;
            *used = 2;
            return (int)k;
        }
        if (strncmp(a, "--", 2) != 0 || !a[2])
            continue;
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl < 3 || nl > ol || strncmp(a, opt, nl) != 0)
            continue; /* not this option, nor an abbreviation of it */
        *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
        *used = eq ? 1 : 2;
        return (int)k;
    }
    return -1;
}

/* The FILE_BACK row (note's -o) is note get's only: any other note
 * subcommand refuses -o itself ("-o is for 'note get'") before it does
 * anything, so the client makes no memory file for it and expects none. */
static bool back_applies(int k, int argc, char **argv)
{
    return file_opts[k].kind != FILE_BACK || (argc >= 2 && !strcmp(argv[1], "get"));
}

int cli_service_run(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        const char *value;
        int used, k = file_opt(argv[0], argc, argv, i, &value, &used);
        if (k < 0)
            continue;
        if (!back_applies(k, argc, argv)) { /* the command refuses it, logging nothing */
            i += used - 1;
            continue;
        }
        if (file_opts[k].kind == FILE_REFUSED) {
            cli_error("%s: %s", file_opts[k].opt, file_opts[k].instead);
            return EXIT_USAGE;
        }
        if (value && file_opts[k].kind == FILE_ROOM && !strcmp(value, "simulated"))
            continue;
        if (is_stdin(argv[0], value)) {
            i += used - 1;
            continue;
        }
        if (value && tlo_service_file_fd(value) < 0) {
            char why[300];
            snprintf(why, sizeof why,
                     "%s names a path (%.100s): the service opens none for a client",
                     file_opts[k].opt, value);
            tlo_service_refused(argv[0], why);
            cli_error("%s %s: the custodian service opens no file for a client; tellonce hands "
                      "it the file itself (this request did not come from tellonce; logged)",
                      file_opts[k].opt, value);
            return EXIT_USAGE;
        }
        i += used - 1;
    }
    return cli_dispatch(argc, argv);
}

#define IN_FILE_MAX (16u << 20)
/* A note's files: what a note holds (custody.h), a little more so that
 * the core says what is too large. */
#define NOTE_FILE_MAX ((uint64_t)TLO_CUSTODY_NOTE_BYTES_MAX + 1)

typedef struct out_file {
    int fd;
    char *path;
    bool sha256; /* an export's clip: its checksum file is made after it is linked */
} out_file;

typedef struct client {
    int sock;
    bool tty, raw, saved_ok;
    struct termios saved;
    out_file outs[8];
    size_t nouts;
    int sent_fds[TLO_SVC_FDS_MAX];
    size_t nsent;
    tlo_svc_frame data[64]; /* DATA frames, for the command's client part */
    size_t ndata;
    int back_fd;    /* FILE_BACK: the memory file the command writes into (-1: none) */
    char *back_dir; /* and the folder its files go to */
} client;

static client *the_client; /* for the signal handlers */

static void restore_terminal(void)
{
    if (the_client && the_client->raw && the_client->saved_ok) {
        tcsetattr(STDIN_FILENO, TCSANOW, &the_client->saved);
        the_client->raw = false;
    }
}

static void set_raw(client *c, bool raw)
{
    if (!c->tty || !c->saved_ok || raw == c->raw)
        return;
    if (raw) {
        struct termios t = c->saved;
        cfmakeraw(&t);
        t.c_oflag |= OPOST | ONLCR; /* our own messages keep their line ends */
        tcsetattr(STDIN_FILENO, TCSANOW, &t);
    } else {
        tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
    }
    c->raw = raw;
}

static void on_fatal(int sig)
{
    restore_terminal();
    signal(sig, SIG_DFL);
    raise(sig);
}

static int winch_pipe[2] = {-1, -1};
static void on_winch(int sig)
{
    (void)sig;
    int e = errno;
    if (write(winch_pipe[1], "w", 1) < 0) {
        /* a resize is pending already */
    }
    errno = e;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static int connect_service(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        cli_error("the socket path %s is too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        cli_error("cannot make a socket: %s", strerror(errno));
        return -1;
    }
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(s);
        if (e == ENOENT || e == ECONNREFUSED)
            cli_error("no custodian service answers at %s (is it running? 'systemctl status "
                      "tellonce-custodian'; --vault DIR runs tellonce on a vault of your own)",
                      path);
        else if (e == EACCES || e == EPERM)
            cli_error("you may not use the custodian service at %s: your OS user is not in its "
                      "group (ask the administrator to add you; docs/service.md)",
                      path);
        else
            cli_error("cannot reach the custodian service at %s: %s", path, strerror(e));
        return -1;
    }
    return s;
}

/* A copy of this user's file in memory (never on disk) that the service
 * can read: the file itself may be readable by this user only. */
static int copy_in(const char *path, uint64_t max)
{
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        cli_error("cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    int m = memfd_create("tellonce-input", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    char buf[65536];
    size_t total = 0;
    ssize_t r;
    while (m >= 0 && (r = read(in, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || (total += (size_t)r) > max || write(m, buf, (size_t)r) != r) {
            cli_error("cannot read %s%s", path,
                      total > max ? ": it is larger than the command takes" : "");
            close(m);
            m = -1;
        }
    }
    close(in);
    sodium_memzero(buf, sizeof buf);
    if (m >= 0) {
        fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
        lseek(m, 0, SEEK_SET);
    }
    return m;
}

/* An unnamed file in path's folder, linked as path only after the command
 * succeeded: a failed or killed command leaves nothing at path. */
static int make_out(client *c, const char *path)
{
    struct stat st;
    if (c->nouts >= sizeof c->outs / sizeof c->outs[0]) {
        cli_error("too many output files");
        return -1;
    }
    if (lstat(path, &st) == 0) {
        cli_error("%s exists already; choose another name (nothing was written)", path);
        return -1;
    }
    char *copy = strdup(path);
    if (!copy)
        return -1;
    int fd = open(dirname(copy), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    free(copy);
    if (fd < 0) {
        cli_error("cannot write in the folder of %s: %s", path, strerror(errno));
        return -1;
    }
    c->outs[c->nouts++] = (out_file){.fd = fd, .path = strdup(path)};
    return fd;
}

/* FILE_BACK: an empty memory file for the command's result; dir must be a
 * folder this user can write. */
static int make_back(client *c, const char *dir)
{
    struct stat st;
    if (c->back_fd >= 0) {
        cli_error("-o is given once");
        return -1;
    }
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) != 0) {
        cli_error("-o %s is not a folder you can write: give a folder that exists", dir);
        return -1;
    }
    int m = memfd_create("tellonce-note", MFD_CLOEXEC);
    if (m < 0) {
        cli_error("cannot make a file in memory: %s", strerror(errno));
        return -1;
    }
    if (!(c->back_dir = strdup(dir))) {
        close(m);
        return -1;
    }
    c->back_fd = m;
    return m;
}

/* After the command succeeded: the note's container it wrote, parsed with
 * the core's parser (hostile: it came from another process), its files
 * written into the folder. Memory only. Returns the exit code. */
static int remote_back(client *c)
{
    struct stat st;
    uint8_t *buf = NULL;
    int rc = EXIT_SYSTEM;
    if (fstat(c->back_fd, &st) != 0 || st.st_size <= 0 ||
        (uint64_t)st.st_size > NOTE_FILE_MAX + TLO_CUSTODY_NOTE_TEXT_MAX + (1u << 20)) {
        cli_error("the custodian service gave no note (or one too large)");
        return EXIT_BAD_DATA;
    }
    size_t len = (size_t)st.st_size;
    if (!(buf = malloc(len)) || tlo_pread_full(c->back_fd, buf, len, 0) != (long long)len) {
        cli_error("cannot read the note the custodian service gave: %s", strerror(errno));
        free(buf);
        return EXIT_SYSTEM;
    }
    tlo_custody_note_content n;
    tlo_error err = {0};
    if (tlo_custody_note_parse(buf, len, &n, &err) != 0)
        rc = cli_fail(&err);
    else
        rc = cli_note_write_files(c->back_dir, &n);
    tlo_custody_note_content_free(&n);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

/* Links the outputs into place after the command succeeded; the exit code
 * (code, or a failure to link or to write an export's checksum file). */
static int link_outs(client *c, int code)
{
    /* Last made first: export's manifest before its clip, as embedded
     * (a clip is never there without its manifest) (clip). */
    bool linked = code == EXIT_OK;
    for (size_t i = c->nouts; i-- > 0;) {
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", c->outs[i].fd);
        if (code == EXIT_OK && c->outs[i].path &&
            (fsync(c->outs[i].fd) != 0 ||
             linkat(AT_FDCWD, proc, AT_FDCWD, c->outs[i].path, AT_SYMLINK_FOLLOW) != 0)) {
            cli_error("cannot put the result at %s: %s", c->outs[i].path, strerror(errno));
            linked = false;
        }
        /* The export's clip, in place: its checksum file beside it, from
         * the bytes this client linked (the child only wrote them). */
        if (linked && c->outs[i].sha256 && c->outs[i].path)
            code = cli_export_sha256_from_fd(c->outs[i].fd, c->outs[i].path);
        close(c->outs[i].fd);
        free(c->outs[i].path);
    }
    c->nouts = 0;
    return code;
}

static int send_file(client *c, int index, int fd, const char *name, bool out)
{
    char text[80];
    int n = name ? snprintf(text, sizeof text, "arg=%d\nname=%s\nout=%d\n", index, name, out)
                 : snprintf(text, sizeof text, "arg=%d\nout=%d\n", index, out);
    return tlo_svc_send(c->sock, TLO_SVC_FILE, text, (size_t)n, &fd, 1);
}

/* The request's arguments as they are built: the command line, with each
 * file option's value replaced by a file handed over. */
typedef struct req_build {
    char **args;
    int nargs;
    int files[TLO_SVC_FDS_MAX], index[TLO_SVC_FDS_MAX];
    bool outs[TLO_SVC_FDS_MAX];
    const char *names[TLO_SVC_FDS_MAX];
    size_t nfiles;
} req_build;

/* The terminal's size and type, and the person's language: the service
 * runs the command in them. */
static void request_terminal(const client *c, tlo_svc_request *r)
{
    if (c->tty) {
        struct winsize ws;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
            r->rows = ws.ws_row;
            r->cols = ws.ws_col;
        }
        const char *term = getenv("TERM");
        snprintf(r->term, sizeof r->term, "%s", term && strlen(term) < sizeof r->term ? term : "");
    }
    for (int i = 0; i < TLO_SVC_LOCALE_VARS; i++) {
        const char *v = getenv(tlo_svc_locale_env[i]);
        if (v && tlo_svc_locale_ok(i, v, strlen(v)))
            snprintf(r->locale[i], sizeof r->locale[i], "%s", v);
    }
}

/* One file handed over, for the argument at b->nargs. */
static void add_fd(req_build *b, int fd, bool out, const char *name)
{
    b->files[b->nfiles] = fd;
    b->index[b->nfiles] = b->nargs;
    b->outs[b->nfiles] = out;
    b->names[b->nfiles++] = name;
}

/* export -o FILE: the clip's manifest goes next to it, and its checksum
 * file, made here once the clip is linked (link_outs). 0 or -1. */
static int add_export_manifest(client *c, req_build *b, const char *value)
{
    char mpath[4096];
    struct stat st;
    snprintf(mpath, sizeof mpath, "%s%s", value, TLO_CUSTODY_SHA256_SUFFIX);
    if (lstat(mpath, &st) == 0) {
        cli_error("%s exists already; choose another name for the clip (nothing was written)",
                  mpath);
        return -1;
    }
    c->outs[c->nouts - 1].sha256 = true;
    snprintf(mpath, sizeof mpath, "%s.manifest", value);
    int mfd = make_out(c, mpath);
    if (mfd < 0)
        return -1;
    add_fd(b, mfd, true, "manifest");
    return 0;
}

/* The file option of row k with its value: the file opened here (or made),
 * and the arguments that stand for it. 0 or -1 (said why). */
static int add_file_option(client *c, req_build *b, const char *command, int k, const char *value)
{
    file_kind kind = file_opts[k].kind == FILE_OUT || file_opts[k].kind == FILE_BACK
                         ? file_opts[k].kind
                         : FILE_IN;
    b->args[b->nargs++] = (char *)(uintptr_t)file_opts[k].opt;
    if (!value) {
        b->args[b->nargs++] = (char *)(uintptr_t) ""; /* the command says what is missing */
        return 0;
    }
    if (b->nfiles + 2 > TLO_SVC_FDS_MAX) {
        cli_error("too many files on one command line");
        return -1;
    }
    int fd = kind == FILE_BACK ? make_back(c, value)
             : kind == FILE_IN
                 ? copy_in(value, !strcmp(command, "note") ? NOTE_FILE_MAX : IN_FILE_MAX)
                 : make_out(c, value);
    if (fd < 0)
        return -1;
    add_fd(b, fd, kind != FILE_IN, NULL);
    bool export_out = kind == FILE_OUT && !strcmp(command, "export");
    if (export_out && add_export_manifest(c, b, value) != 0)
        return -1;
    b->args[b->nargs++] = (char *)(uintptr_t)value; /* replaced by the service */
    if (!strcmp(command, "note") && !strcmp(file_opts[k].opt, "--file")) {
        /* the file's own name goes into the note, not "/dev/fd/N" */
        b->args[b->nargs++] = (char *)(uintptr_t) "--file-name";
        const char *slash = strrchr(value, '/');
        b->args[b->nargs++] = (char *)(uintptr_t)(slash ? slash + 1 : value);
    }
    if (export_out) {
        /* the path it will have: the manifest and the ledger name the
         * clip by its file name (clip) */
        b->args[b->nargs++] = (char *)(uintptr_t) "--name";
        b->args[b->nargs++] = (char *)(uintptr_t)value;
    }
    return 0;
}

/* The request's arguments from the command line. 0 or -1 (said why). */
static int build_args(client *c, req_build *b, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *value = NULL;
        if (!strcmp(argv[i], "--")) { /* the rest are not options */
            while (i < argc)
                b->args[b->nargs++] = argv[i++];
            break;
        }
        int used = 1, k = i > 0 ? file_opt(argv[0], argc, argv, i, &value, &used) : -1;
        /* -o of any note subcommand but get goes as it is: the command
         * refuses it before it does anything; so does a refused option
         * (the service says what is wrong with it), stdin, the simulated room */
        bool as_is = k < 0 || !back_applies(k, argc, argv) || file_opts[k].kind == FILE_REFUSED ||
                     is_stdin(argv[0], value) ||
                     (file_opts[k].kind == FILE_ROOM && value && !strcmp(value, "simulated"));
        if (as_is) {
            for (int u = 0; u < used && i + u < argc; u++)
                b->args[b->nargs++] = argv[i + u];
        } else if (add_file_option(c, b, argv[0], k, value) != 0) {
            return -1;
        }
        i += used - 1;
    }
    return 0;
}

/* The request, the passphrase forwarded, and the files. 0 or -1. */
static int send_all(client *c, tlo_svc_request *r, const req_build *b)
{
    tlo_error err = {0};
    const char *pass = getenv("TELLONCE_PASSPHRASE");
    size_t len;
    r->argc = b->nargs;
    r->argv = b->args;
    r->files = (unsigned)b->nfiles;
    r->secret = pass && *pass;
    char *text = tlo_svc_request_format(r, &len, &err);
    if (!text) {
        cli_error("%s", err.msg);
        return -1;
    }
    int sent = tlo_svc_send(c->sock, TLO_SVC_REQUEST, text, len, NULL, 0);
    free(text);
    if (sent == 0 && r->secret)
        sent = tlo_svc_send(c->sock, TLO_SVC_SECRET, pass, strlen(pass), NULL, 0);
    for (size_t i = 0; sent == 0 && i < b->nfiles; i++)
        sent = send_file(c, b->index[i], b->files[i], b->names[i], b->outs[i]);
    if (sent != 0) {
        cli_error("the custodian service closed the connection: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Sends the request and what follows it. */
static int send_request(client *c, const char *nonce, int argc, char **argv)
{
    tlo_svc_request r = {.tty = c->tty};
    req_build b = {.args = calloc((size_t)argc * 2 + 1, sizeof *b.args)};
    if (!b.args)
        return -1;
    snprintf(r.nonce, sizeof r.nonce, "%s", nonce);
    request_terminal(c, &r);
    int rc = build_args(c, &b, argc, argv) == 0 && send_all(c, &r, &b) == 0 ? 0 : -1;
    for (size_t i = 0; i < b.nfiles; i++) {
        bool ours = b.files[i] == c->back_fd; /* output fds stay open until they are linked */
        for (size_t k = 0; k < c->nouts; k++)
            ours |= c->outs[k].fd == b.files[i];
        if (!ours)
            close(b.files[i]);
    }
    free(b.args);
    return rc;
}

/* Ctrl-D: the key that detaches a record client (docs/service.md). */
#define DETACH_KEY 4

/* How often the client tries to open the monitor window. */
#define MONITOR_TRIES 5

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The monitor window of 'record --monitor' through the service. */
typedef struct remote_monitor {
    bool on;
    cli_monitor *window;
    uint64_t retry_ms;
    int tries;
} remote_monitor;

/* The service's greeting: its nonce, and what it tells the person. A
 * refusal (a uid outside the group) comes instead: then the exit code it
 * sends (or EXIT_SYSTEM), else -1. */
static int remote_hello(client *c, const char *socket_path, char nonce[TLO_SVC_NONCE_HEX + 1])
{
    tlo_svc_frame f;
    while (tlo_svc_recv(c->sock, &f) == 1 && (f.type == TLO_SVC_STDERR || f.type == TLO_SVC_EXIT)) {
        if (f.type == TLO_SVC_EXIT) {
            int n, code = sscanf((const char *)f.data, "code=%d", &n) == 1 && n > 0 && n < 256
                              ? n
                              : EXIT_SYSTEM;
            tlo_svc_frame_free(&f);
            return code;
        }
        write_all(STDERR_FILENO, f.data, f.len);
        tlo_svc_frame_free(&f);
    }
    if (f.type != TLO_SVC_HELLO) {
        cli_error("the custodian service at %s did not greet (is it a tellonce service?)",
                  socket_path);
        tlo_svc_frame_free(&f);
        return EXIT_SYSTEM;
    }
    for (char *line = (char *)f.data, *nl; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        if (!strncmp(line, "nonce=", 6))
            snprintf(nonce, TLO_SVC_NONCE_HEX + 1, "%s", line + 6);
        else if (!strncmp(line, "notice=", 7))
            fprintf(stderr, _("tellonce: the custodian service says: %s\n"), line + 7);
    }
    tlo_svc_frame_free(&f);
    return -1;
}

/* The terminal was resized: the service's pty follows. */
static void on_resize(client *c)
{
    char b[16];
    struct winsize ws;
    if (read(winch_pipe[0], b, sizeof b) > 0 && c->tty &&
        ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
        char text[32];
        int n = snprintf(text, sizeof text, "%u %u", ws.ws_row, ws.ws_col);
        tlo_svc_send(c->sock, TLO_SVC_WINSIZE, text, (size_t)n, NULL, 0);
    }
}

/* What the person typed goes to the command. record: Ctrl-C (0x03) too,
 * to the recording, which asks as in-process; Ctrl-D detaches this
 * terminal. EXIT_OK once detached, else -1. */
static int on_input(client *c, bool detach_key, bool *stdin_open)
{
    uint8_t buf[4096];
    ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
    if (r > 0 && c->raw && detach_key && memchr(buf, DETACH_KEY, (size_t)r)) {
        restore_terminal();
        fputs(_("\ntellonce: detached; the recording goes on in the custodian service "
                "('tellonce record --attach' returns to it, 'tellonce stop' ends it)\n"),
              stderr);
        return EXIT_OK;
    }
    if (r > 0) {
        tlo_svc_send(c->sock, TLO_SVC_STDIN, buf, (size_t)r, NULL, 0);
        sodium_memzero(buf, sizeof buf); /* it may have been a passphrase */
    } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        tlo_svc_send(c->sock, TLO_SVC_EOF, NULL, 0, NULL, 0);
        *stdin_open = false;
    }
    return -1;
}

/* A monitor frame. A window that would not open (a busy display) is tried
 * again every few seconds, a few times, before the monitor is given up;
 * the recording never depends on it. */
static void on_preview(remote_monitor *m, const tlo_svc_frame *f)
{
    if (m->on && !m->window && monotonic_ms() >= m->retry_ms) {
        m->window = cli_monitor_new();
        if (!m->window && ++m->tries >= MONITOR_TRIES) {
            m->on = false;
            cli_error("the monitor window could not be opened in %d tries; the recording goes "
                      "on without it",
                      MONITOR_TRIES);
        }
        m->retry_ms = monotonic_ms() + 3000;
    }
    cli_monitor_frame(m->window, f->data, f->len);
}

/* One frame from the service: true when it was the command's exit (*code). */
static bool on_frame(client *c, tlo_svc_frame *f, remote_monitor *m, int *code)
{
    int n;
    switch (f->type) {
    case TLO_SVC_STDOUT:
        write_all(STDOUT_FILENO, f->data, f->len);
        break;
    case TLO_SVC_STDERR:
    case TLO_SVC_NOTICE:
        write_all(STDERR_FILENO, f->data, f->len);
        break;
    case TLO_SVC_PREVIEW:
        on_preview(m, f);
        break;
    case TLO_SVC_MODE:
        set_raw(c, c->tty && strstr((const char *)f->data, "tty=1") != NULL);
        break;
    case TLO_SVC_DATA:
        if (c->ndata < sizeof c->data / sizeof c->data[0]) {
            c->data[c->ndata++] = *f;
            memset(f, 0, sizeof *f);
        }
        break;
    case TLO_SVC_EXIT:
        *code = sscanf((const char *)f->data, "code=%d", &n) == 1 && n >= 0 && n < 256
                    ? n
                    : EXIT_SYSTEM;
        return true;
    default:
        break;
    }
    return false;
}

/* Moves bytes between the terminal and the service until the command's
 * exit, a detach or a lost connection; the exit code. */
static int relay(client *c, bool detach_key, remote_monitor *m)
{
    bool stdin_open = true;
    for (;;) {
        struct pollfd p[3] = {{.fd = c->sock, .events = POLLIN},
                              {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN},
                              {.fd = winch_pipe[0], .events = POLLIN}};
        if (poll(p, 3, -1) < 0) {
            if (errno == EINTR)
                continue;
            return EXIT_SYSTEM;
        }
        if (p[2].revents)
            on_resize(c);
        int code = p[1].revents ? on_input(c, detach_key, &stdin_open) : -1;
        if (code >= 0)
            return code;
        if (!p[0].revents)
            continue;
        tlo_svc_frame f;
        if (tlo_svc_recv(c->sock, &f) != 1) {
            restore_terminal();
            cli_error("the custodian service closed the connection before the command ended "
                      "(did it stop? 'systemctl status tellonce-custodian')");
            return EXIT_SYSTEM;
        }
        bool done = on_frame(c, &f, m, &code);
        tlo_svc_frame_free(&f);
        if (done)
            return code;
    }
}

/* After the command: its outputs linked into place, FILE_BACK's files
 * written, the client's part run; the exit code. */
static int remote_finish(client *c, int code, int argc, char **argv)
{
    code = link_outs(c, code);
    close(c->sock);
    if (code == EXIT_OK && c->back_fd >= 0)
        code = remote_back(c);
    if (c->back_fd >= 0)
        close(c->back_fd);
    free(c->back_dir);
    if (code == EXIT_OK && c->ndata)
        code = cli_remote_client_part(argc, argv, c->data, c->ndata);
    for (size_t i = 0; i < c->ndata; i++)
        tlo_svc_frame_free(&c->data[i]);
    return code;
}

int cli_remote(const char *socket_path, int argc, char **argv)
{
    client c = {.sock = -1, .back_fd = -1};
    bool detach_key = !strcmp(argv[0], "record");
    char nonce[TLO_SVC_NONCE_HEX + 1] = "";
    remote_monitor m = {.on = false};
    for (int i = 1; detach_key && i < argc; i++)
        m.on |= !strcmp(argv[i], "--monitor");
    if (m.on && !getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")) {
        cli_error("--monitor needs a display (DISPLAY or WAYLAND_DISPLAY is not set); record "
                  "without it, or run it on the observation room's desktop");
        return EXIT_USAGE;
    }
    if ((c.sock = connect_service(socket_path)) < 0)
        return EXIT_SYSTEM;
    the_client = &c;
    int code = remote_hello(&c, socket_path, nonce);
    if (code >= 0) {
        close(c.sock);
        the_client = NULL;
        return code;
    }
    c.tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (c.tty)
        c.saved_ok = tcgetattr(STDIN_FILENO, &c.saved) == 0;
    if (send_request(&c, nonce, argc, argv) != 0) {
        (void)link_outs(&c, EXIT_SYSTEM);
        if (c.back_fd >= 0)
            close(c.back_fd);
        free(c.back_dir);
        close(c.sock);
        the_client = NULL;
        return EXIT_USAGE;
    }
    if (pipe2(winch_pipe, O_CLOEXEC | O_NONBLOCK) == 0) {
        struct sigaction sa = {.sa_handler = on_winch, .sa_flags = SA_RESTART};
        sigaction(SIGWINCH, &sa, NULL);
    }
    signal(SIGTERM, on_fatal);
    signal(SIGHUP, on_fatal);
    signal(SIGPIPE, SIG_IGN);
    set_raw(&c, c.tty);
    code = relay(&c, detach_key, &m);
    restore_terminal();
    cli_monitor_free(m.window);
    code = remote_finish(&c, code, argc, argv);
    the_client = NULL;
    return code;
}
