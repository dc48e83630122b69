/* tellonce — entry point and dispatch table. */
#include "cli.h"
#include "vault.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/resource.h>

const char *cli_prog = "tellonce";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"init", cmd_init, "create a vault: ledger, custodian keys, first administrator"},
    {"user", cmd_user, "enrol people with roles: add, list, revoke"},
    {"case", cmd_case, "open and list cases"},
    {"record", cmd_record, "record an interview session of a case"},
    {"mark", cmd_mark, "add a marker to a recorded session"},
    {"grant", cmd_grant, "grant a clip of a session to a person; list, revoke"},
    {"play", cmd_play, "view a granted clip (watermarked), or decode it headless"},
    {"export", cmd_export, "export a granted clip as MP4 with a signed manifest"},
    {"verify-export", cmd_verify_export, "check an exported clip against its manifest, no key"},
    {"recover", cmd_recover, "close sessions a crash left open"},
    {"stop", cmd_stop, "end a live recording (its interviewer or an administrator)"},
    {"devices", cmd_devices, "cameras and microphones found"},
    {"log", cmd_log, "the custody log, as a person reads it"},
    {"verify", cmd_verify, "verify the custody ledger, without any key"},
    {"checkpoint", cmd_checkpoint, "sign a checkpoint (tree head) of the ledger"},
    {"prove", cmd_prove, "write an inclusion or consistency proof"},
    {"verify-proof", cmd_verify_proof, "check a proof without the ledger"},
    {"object", cmd_object, "plumbing: seal, open and inspect sealed objects"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tellonce [--version] [--help] COMMAND [ARGS...]\n"
               "\n"
               "tellonce records a forensic interview once, seals it as it is recorded, and keeps\n"
               "a custody log of everything that happens to it.\n"
               "\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "Run 'tellonce COMMAND --help' for a command's options.\n"
               "\n"
               "exit status: 0 success; 1 the input failed a check (altered, truncated, wrong\n"
               "key, not a tellonce file); 2 the command line was wrong; 3 the system failed\n"
               "(I/O error, full disk, out of memory).\n");
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: error: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
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

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tellonce %s\n", TLO_VERSION);
        return EXIT_OK;
    }
    if (tlo_vault_init(&err) != 0)
        return cli_fail(&err);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    cli_error("'%s' is not a tellonce command; see 'tellonce --help'", argv[1]);
    return EXIT_USAGE;
}
