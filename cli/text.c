/* Text for a terminal's columns: how wide a text shows (East Asian wide
 * characters take two columns, combining marks none), and printing a text
 * cleaned and padded to a width, so a table's columns line up whatever the
 * script of a name. Widths follow GLib's Unicode tables. */
#include "cli.h"

#include <glib.h>
#include <stdlib.h>
#include <string.h>

int cli_text_width(const char *utf8)
{
    const char *p = utf8;
    size_t left = strlen(utf8);
    int width = 0;
    while (left) {
        gunichar c = g_utf8_get_char_validated(p, (gssize)left);
        if (c == (gunichar)-1 || c == (gunichar)-2) { /* a byte cli_clean_text shows as U+FFFD */
            width++;
            p++;
            left--;
            continue;
        }
        size_t len = (size_t)g_utf8_skip[*(const guchar *)p];
        if (c < 0x20 || (c >= 0x7f && c < 0xa0)) /* shown as '?' */
            width++;
        else if (!g_unichar_iszerowidth(c))
            width += g_unichar_iswide(c) ? 2 : 1;
        p += len;
        left -= len;
    }
    return width;
}

void cli_print_padded(FILE *f, const char *s, int width)
{
    size_t cap = 3 * strlen(s) + 1;
    char *shown = malloc(cap);
    if (shown)
        cli_clean_text(shown, cap, s);
    const char *text = shown ? shown : "(out of memory)";
    fputs(text, f);
    for (int w = cli_text_width(text); w < width; w++)
        fputc(' ', f);
    free(shown);
}
