/* A minimal test harness: CHECK records a failure with file:line and goes on;
 * tu_finish prints "N passed, N failed" and returns the exit status. */
#ifndef TLO_TESTUTIL_H
#define TLO_TESTUTIL_H

#include <stdio.h>
#include <string.h>

static int tu_passed, tu_failed;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            tu_passed++;                                                                           \
        } else {                                                                                   \
            tu_failed++;                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_MSG(cond, ...)                                                                       \
    do {                                                                                           \
        if (cond) {                                                                                \
            tu_passed++;                                                                           \
        } else {                                                                                   \
            tu_failed++;                                                                           \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

/* Checks that an error code is what was expected and that its message mentions `needle`. */
#define CHECK_ERR(rc, err, expected, needle)                                                       \
    do {                                                                                           \
        CHECK_MSG((rc) == (expected), "got %d (%s), expected %d", (int)(rc), (err).msg,            \
                  (int)(expected));                                                                \
        CHECK_MSG(strstr((err).msg, (needle)) != NULL, "message \"%s\" lacks \"%s\"", (err).msg,   \
                  (needle));                                                                       \
    } while (0)

static inline int tu_finish(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, tu_passed, tu_failed);
    return tu_failed == 0 && tu_passed > 0 ? 0 : 1;
}

#endif
