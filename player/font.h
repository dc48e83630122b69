/* tellonce player — the watermark's font, chosen explicitly.
 *
 * Pango falls back to whatever fontconfig offers, and where no font has a
 * character it draws a box with the code point in it: a Chinese viewer's
 * name would be burned in as boxes, and the watermark would no longer say
 * who viewed. So the watermark names its font: the first CJK family
 * installed (WenQuanYi Zen Hei, from fonts-wqy-zenhei, which scripts/deps
 * installs; else Noto Sans CJK, from fonts-noto-cjk), whose Latin letters
 * serve too; "Sans" when none is. Every character of the text is checked
 * against that font and "Sans" before anything is shown or encoded. */
#ifndef TLO_PLAYER_FONT_H
#define TLO_PLAYER_FONT_H

#include <stddef.h>

#include "tlo_common.h"

/* Fills desc (cap bytes) with a Pango font description for text at the
 * given size in points, bold: "WenQuanYi Zen Hei Bold 20" (or "Sans Bold
 * 20" when no CJK family is installed). 0, or TLO_EUNSUPPORTED naming
 * the first character of text that none of those fonts shows and the
 * package to install (desc is then ""); TLO_EARG for text that is not
 * UTF-8. */
int tlo_player_watermark_font(const char *text, int points, char *desc, size_t cap, tlo_error *err);

#endif
