/* cli_text_width and cli_print_padded (cli/text.c): display columns, not
 * bytes, so a table's columns line up after a Chinese name. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

static void width_is(const char *what, const char *s, int want)
{
    int got = cli_text_width(s);
    if (got != want) {
        fprintf(stderr, "FAIL: text_width %s: %d, expected %d\n", what, got, want);
        failed++;
    }
}

static void padded_is(const char *what, const char *s, int width, const char *want)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        abort();
    cli_print_padded(f, s, width);
    fclose(f);
    if (strcmp(buf, want) != 0) {
        fprintf(stderr, "FAIL: print_padded %s: '%s', expected '%s'\n", what, buf, want);
        failed++;
    }
    free(buf);
}

int main(void)
{
    width_is("empty", "", 0);
    width_is("Latin", "Anna Admin", 10);
    width_is("Chinese, two columns each", "王芳", 4);
    width_is("a case number with a Chinese character", "2026-刑-0042", 12);
    width_is("fullwidth", "\xef\xbc\xa1", 2);   /* U+FF21 */
    width_is("precomposed", "\xc3\xa9", 1);     /* U+00E9 */
    width_is("combining mark", "e\xcc\x81", 1); /* e + U+0301 */
    width_is("zero-width space",
             "a\xe2\x80\x8b"
             "b",
             2); /* U+200B */
    width_is("a byte that is not UTF-8", "\xff", 1);
    width_is("a cut character", "\xe7\x8e", 2);
    width_is("a control character",
             "a\x1b"
             "b",
             3);
    padded_is("Chinese", "王芳", 6, "王芳  ");
    padded_is("Latin", "Ann", 6, "Ann   ");
    padded_is("wider than the width, whole", "王芳王芳", 4, "王芳王芳");
    padded_is("cleaned: a control character",
              "a\x1b"
              "b",
              5, "a?b  ");
    padded_is("cleaned: not UTF-8", "\xffx", 3, "\xef\xbf\xbdx ");
    if (!failed)
        printf("text: all passed\n");
    return failed ? 1 : 0;
}
