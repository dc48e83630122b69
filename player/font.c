/* The watermark's font (font.h), through fontconfig: the same library and
 * configuration Pango draws with, so what is checked here is what is shown. */
#include "font.h"

#include <fontconfig/fontconfig.h>
#include <glib.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* In order of preference. WenQuanYi Zen Hei is what scripts/deps installs. */
static const char *const cjk_families[] = {"WenQuanYi Zen Hei", "Noto Sans CJK SC",
                                           "Noto Sans CJK TC", "Noto Sans CJK JP",
                                           "Noto Serif CJK SC"};

/* The character set of an installed font of exactly this family (a copy:
 * FcCharSetDestroy it), or NULL when none is installed. */
static FcCharSet *family_charset(const char *family)
{
    FcPattern *pat = FcPatternCreate();
    FcObjectSet *os = FcObjectSetBuild(FC_FAMILY, FC_CHARSET, (char *)NULL);
    FcCharSet *cs = NULL;
    if (pat && os && FcPatternAddString(pat, FC_FAMILY, (const FcChar8 *)family)) {
        FcFontSet *fs = FcFontList(NULL, pat, os);
        for (int i = 0; fs && i < fs->nfont && !cs; i++) {
            FcCharSet *have = NULL;
            if (FcPatternGetCharSet(fs->fonts[i], FC_CHARSET, 0, &have) == FcResultMatch && have)
                cs = FcCharSetCopy(have);
        }
        if (fs)
            FcFontSetDestroy(fs);
    }
    if (os)
        FcObjectSetDestroy(os);
    if (pat)
        FcPatternDestroy(pat);
    return cs;
}

/* The character set of the font fontconfig gives for "Sans" bold (a copy),
 * or NULL. */
static FcCharSet *sans_charset(void)
{
    FcPattern *pat = FcNameParse((const FcChar8 *)"Sans:bold");
    FcCharSet *cs = NULL;
    if (!pat)
        return NULL;
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcPattern *m = FcFontMatch(NULL, pat, &res);
    FcCharSet *have = NULL;
    if (m && FcPatternGetCharSet(m, FC_CHARSET, 0, &have) == FcResultMatch && have)
        cs = FcCharSetCopy(have);
    if (m)
        FcPatternDestroy(m);
    FcPatternDestroy(pat);
    return cs;
}

int tlo_player_watermark_font(const char *text, int points, char *desc, size_t cap, tlo_error *err)
{
    if (desc && cap)
        desc[0] = 0;
    if (!text || !desc || cap < 64 || points < 1 || points > 400)
        return tlo_fail(err, TLO_EARG, "tlo_player_watermark_font: no text or no room");
    if (!g_utf8_validate(text, -1, NULL))
        return tlo_fail(err, TLO_EARG, "the watermark is not UTF-8 text");
    if (!FcInit())
        return tlo_fail(err, TLO_EUNSUPPORTED,
                        "fontconfig cannot start, so the watermark cannot be drawn; check "
                        "/etc/fonts (package fontconfig-config)");
    FcCharSet *sans = sans_charset();
    FcCharSet *cjk = NULL;
    const char *family = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(cjk_families) && !cjk; i++)
        if ((cjk = family_charset(cjk_families[i])))
            family = cjk_families[i];
    int rc = 0;
    for (const char *s = text; *s; s += g_utf8_skip[*(const guchar *)s]) {
        gunichar c = g_utf8_get_char(s);
        if (c < 0x20 || c == 0x7f || g_unichar_isspace(c))
            continue;
        if ((sans && FcCharSetHasChar(sans, c)) || (cjk && FcCharSetHasChar(cjk, c)))
            continue;
        char ch[8] = {0};
        g_unichar_to_utf8(c, ch);
        rc = tlo_fail(err, TLO_EUNSUPPORTED,
                      "the watermark's character %s (U+%04X) is in no installed font, so it "
                      "would be burned in as a box and the watermark would not say who viewed; "
                      "install fonts-wqy-zenhei or fonts-noto-cjk (scripts/deps installs "
                      "fonts-wqy-zenhei), then try again",
                      ch, (unsigned)c);
        break;
    }
    if (rc == 0) {
        if (family)
            snprintf(desc, cap, "%s Bold %d", family, points);
        else
            snprintf(desc, cap, "Sans Bold %d", points);
    }
    if (sans)
        FcCharSetDestroy(sans);
    if (cjk)
        FcCharSetDestroy(cjk);
    return rc;
}
