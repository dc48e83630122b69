/* The tellonce command line: one file per command group behind the dispatch
 * table in main.c. Only cli/ prints and chooses exit codes. */
#ifndef TLO_CLI_H
#define TLO_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "tlo_common.h"

/* Exit codes, documented in `tellonce --help` and docs/cli.md. */
enum {
    EXIT_OK = 0,
    EXIT_BAD_DATA = 1, /* the input failed a check: not an object, altered, wrong key, ... */
    EXIT_USAGE = 2,    /* the command line was wrong */
    EXIT_SYSTEM = 3,   /* the system failed us: I/O error, full disk, out of memory */
};

extern const char *cli_prog;

/* Prints "tellonce: error: ..." to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints an error from the library and returns the exit code it maps to. */
int cli_fail(const tlo_error *err);
/* Maps a TLO_E* code to an exit code. */
int cli_exit_code(int code);

/* Reads a 32-byte key from path (32 raw bytes, or 64 hex characters with an
 * optional final newline) into a new secure buffer (tlo_vault_key_free it).
 * Returns NULL with err filled on failure. */
uint8_t *cli_read_key_file(const char *path, tlo_error *err);

/* Parses a non-negative decimal integer; returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Writes s as a JSON string literal (quoted, escaped). */
void cli_json_string(FILE *f, const char *s);

int cmd_object(int argc, char **argv);

#endif
