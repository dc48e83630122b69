/* tellonce — entry point and dispatch table. */
#include "cli.h"
#include "service.h"
#include "vault.h"

#include <locale.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>

const char *cli_prog = "tellonce";
const char *cli_command = "";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, N_("create a vault: ledger, custodian keys, first administrator")},
    {"user", cmd_user, N_("enrol people with roles: add, list, revoke")},
    {"roles", cmd_roles, N_("who may do what: every action and the roles that may take it")},
    {"settings", cmd_settings, N_("the vault's settings (time zone, default room): show, set")},
    {"passwd", cmd_passwd, N_("change your own passphrase")},
    {"case", cmd_case, N_("open and list cases")},
    {"record", cmd_record, N_("record an interview session of a case")},
    {"preview", cmd_preview, N_("show a room's cameras and meters without recording")},
    {"mark", cmd_mark, N_("add a marker to a recorded session")},
    {"session", cmd_session, N_("the sessions of a case: list (numbers, start, length, status)")},
    {"note", cmd_note, N_("records and attachments of a case: add, amend, list, show, get")},
    {"grant", cmd_grant, N_("grant a clip of a session to a person; list, revoke")},
    {"play", cmd_play, N_("view a granted clip (watermarked), or decode it headless")},
    {"export", cmd_export, N_("export a granted clip as MP4 with a signed manifest")},
    {"verify-export", cmd_verify_export, N_("check an exported clip against its manifest, no key")},
    {"recover", cmd_recover, N_("close sessions a crash left open")},
    {"stop", cmd_stop, N_("end a live recording (its interviewer or an administrator)")},
    {"devices", cmd_devices, N_("cameras and microphones found")},
    {"sample", cmd_sample, N_("the custody of biological samples: register, transfer, receive")},
    {"log", cmd_log, N_("the custody log, as a person reads it")},
    {"verify", cmd_verify, N_("verify the custody ledger, without any key")},
    {"report", cmd_report, N_("the auditor's report of a case (HTML, JSON), without any key")},
    {"checkpoint", cmd_checkpoint, N_("sign a checkpoint (tree head) of the ledger")},
    {"prove", cmd_prove, N_("write an inclusion or consistency proof")},
    {"verify-proof", cmd_verify_proof, N_("check a proof without the ledger")},
    {"object", cmd_object, N_("plumbing: seal, open and inspect sealed objects")},
    {"login", cmd_login, N_("stay unlocked in the custodian service for a few minutes")},
    {"logout", cmd_login, N_("end a login")},
    {"custodian", cmd_custodian, N_("run the custodian service (docs/service.md)")},
};

static void usage(FILE *f)
{
    /* the command list: names padded to the longest, each summary translated */
    int width = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if ((int)strlen(commands[i].name) > width)
            width = (int)strlen(commands[i].name);
    char list[4096];
    size_t n = 0;
    for (size_t i = 0; i < sizeof commands / sizeof commands[0] && n < sizeof list; i++)
        n += (size_t)snprintf(list + n, sizeof list - n, "  %-*s %s\n", width, commands[i].name,
                              _(commands[i].summary));
    /* TRANSLATORS: the first %s is the list of commands (one per line, each
     * ending in a newline), the second the service's socket path */
    fprintf(f,
            _("usage: tellonce [-V|--version] [--help] [--socket PATH | --vault DIR] COMMAND "
              "[ARGS...]\n"
              "\n"
              "tellonce records a forensic interview once, seals it as it is recorded, and keeps\n"
              "a custody log of everything that happens to it.\n"
              "\n"
              "commands:\n"
              "%s"
              "\n"
              "Run 'tellonce COMMAND --help' for a command's options.\n"
              "\n"
              "Where the vault is: with --socket PATH (or $TELLONCE_SOCKET), commands run in the\n"
              "custodian service listening there, which alone reads the vault; with --vault DIR\n"
              "(or $TELLONCE_VAULT) in this process, on a vault this user owns; with neither,\n"
              "in the service at %s if it runs, else in this\n"
              "process on ~/.local/share/tellonce/vault. docs/service.md says when to use which.\n"
              "\n"
              "exit status: 0 success; 1 the input failed a check (altered, truncated, wrong\n"
              "key, not a tellonce file); 2 the command line was wrong; 3 the system failed\n"
              "(I/O error, full disk, out of memory).\n"),
            list, TLO_SERVICE_DEFAULT_SOCKET);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    /* TRANSLATORS: the start of every error line, before the sentence */
    fprintf(stderr, _("%s: error: "), cli_prog);
    va_start(ap, fmt);
    /* a translation with other conversions than fmt's is not used */
    if (tlo_same_conversions(fmt, _(fmt)))
        vfprintf(stderr, _(fmt), ap);
    else
        vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* The person's language for messages (LC_MESSAGES, LANG, LANGUAGE: English
 * by default), from the installed catalogue or, when TELLONCE_LOCALEDIR
 * names one, from there (meson test points it at the build's po/):
 * docs/i18n.md. Numbers stay in the C locale: JSON, ledger bodies and
 * option values are read and written with a '.' whatever the person's
 * habits. */
static void locale_init(void)
{
    const char *dir = getenv("TELLONCE_LOCALEDIR");
    setlocale(LC_ALL, "");
    setlocale(LC_NUMERIC, "C");
    bindtextdomain(TLO_TEXT_DOMAIN, dir && *dir ? dir : TLO_LOCALEDIR);
    /* tellonce's text is UTF-8 (names, case numbers), so are its messages */
    bind_textdomain_codeset(TLO_TEXT_DOMAIN, "UTF-8");
    textdomain(TLO_TEXT_DOMAIN);
}

void cli_usage_hint(void)
{
    cli_error("see '%s %s --help' for how to use it", cli_prog, cli_command);
}

int cli_exit_code(int code)
{
    switch (code) {
    case TLO_OK:
        return EXIT_OK;
    case TLO_EARG:
    case TLO_ENOTFOUND:
        return EXIT_USAGE;
    case TLO_ENOMEM:
    case TLO_EIO:
    case TLO_ECRYPTO:
    case TLO_EEXIST:
        return EXIT_SYSTEM;
    default:
        return EXIT_BAD_DATA;
    }
}

int cli_fail(const tlo_error *err)
{
    cli_error("%s", err->msg[0] ? err->msg : tlo_strerror(err->code));
    return cli_exit_code(err->code);
}

/* Runs cmd. --help after a subcommand ('sample register --help') is its help
 * where it has one of its own; where it has none ('grant list --help' was
 * refused), the command's. A refused --help acts on nothing: getopt refuses
 * it first (quietly here). */
static int run_command(const struct command *cmd, int argc, char **argv)
{
    bool help = false;
    for (int k = 2; k < argc; k++)
        help |= !strcmp(argv[k], "--help");
    if (!help)
        return cmd->run(argc, argv);
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDERR_FILENO);
    int rc = cmd->run(argc, argv);
    fflush(stderr);
    if (saved >= 0 && null >= 0)
        dup2(saved, STDERR_FILENO);
    if (saved >= 0)
        close(saved);
    if (null >= 0)
        close(null);
    if (rc != EXIT_USAGE)
        return rc;
    char *whole[] = {argv[0], (char *)"--help", NULL};
    return cmd->run(2, whole);
}

int cli_dispatch(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[0], commands[i].name)) {
            cli_command = commands[i].name;
            return run_command(&commands[i], argc, argv);
        }
    cli_error("'%s' is not a tellonce command; see 'tellonce --help'", argv[0]);
    return EXIT_USAGE;
}

static bool asks_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return true;
    return false;
}

static bool names_vault(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--vault") || !strncmp(argv[i], "--vault=", 8))
            return true;
    const char *env = getenv("TELLONCE_VAULT");
    return env && *env;
}

/* --vault DIR before the command is the command's --vault DIR: moved behind
 * the command's name (in place: argv is ours to reorder), where every
 * command reads it. The new argc, or minus the exit code (said why). */
static int move_vault_option(int argc, char **argv)
{
    bool joined = !strncmp(argv[1], "--vault=", 8);
    if (!joined && strcmp(argv[1], "--vault"))
        return argc;
    int take = joined ? 1 : 2;
    if (argc <= take + 1 || !strcmp(argv[1], "--vault=")) {
        cli_error("--vault takes the vault's folder, then a command: tellonce --vault DIR "
                  "COMMAND ...");
        return -EXIT_USAGE;
    }
    char *command = argv[take + 1];
    memmove(&argv[2], &argv[1], (size_t)take * sizeof *argv);
    argv[1] = command;
    return argc;
}

int main(int argc, char **argv)
{
    struct rlimit no_core = {0, 0};
    tlo_error err = {0};

    /* Keys pass through this process: never let them reach a core file. */
    setrlimit(RLIMIT_CORE, &no_core);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    /* Every file tellonce creates is its owner's alone (0600, folders 0700),
     * also those SQLite creates (ledger.db-wal, -shm) and those written
     * where the person asks (-o): docs/vault-layout.md. */
    umask(077);
    locale_init();

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V") || !strcmp(argv[1], "version")) {
        printf("tellonce %s\n", TLO_VERSION);
        return EXIT_OK;
    }
    if ((argc = move_vault_option(argc, argv)) < 0)
        return -argc;
    /* the one option before the command: where the service is */
    const char *socket_path = NULL;
    bool socket_named = false;
    if (!strcmp(argv[1], "--socket") || !strncmp(argv[1], "--socket=", 9)) {
        if (argv[1][8] == '=') {
            socket_path = argv[1] + 9;
            argv++, argc--;
        } else if (argc >= 3) {
            socket_path = argv[2];
            argv += 2, argc -= 2;
        }
        if (!socket_path || !*socket_path || argc < 2) {
            cli_error("--socket takes the path of the custodian service's socket, then a command");
            return EXIT_USAGE;
        }
        socket_named = true;
    }
    if (tlo_vault_init(&err) != 0)
        return cli_fail(&err);
    const char *env_socket = getenv("TELLONCE_SOCKET");
    if (!socket_path && env_socket && *env_socket) {
        socket_path = env_socket;
        socket_named = true;
    }
    if (cli_forwarded(argv[1]) && !asks_help(argc - 1, argv + 1)) {
        if (socket_named && names_vault(argc - 1, argv + 1)) {
            cli_error("--vault (or $TELLONCE_VAULT) and the custodian service (%s) both name a "
                      "vault; the service has its own: drop one",
                      socket_path);
            return EXIT_USAGE;
        }
        /* The service's folder (kept while it is stopped: the unit's
         * RuntimeDirectoryPreserve) says the service is installed: then a
         * stopped service is an error, not a silent switch to a vault of
         * one's own. */
        if (!socket_path && !names_vault(argc - 1, argv + 1) &&
            (access(TLO_SERVICE_DEFAULT_SOCKET, F_OK) == 0 ||
             access(TLO_SERVICE_DEFAULT_DIR, F_OK) == 0))
            socket_path = TLO_SERVICE_DEFAULT_SOCKET;
        if (socket_path)
            return cli_remote(socket_path, argc - 1, argv + 1);
    }
    return cli_dispatch(argc - 1, argv + 1);
}
