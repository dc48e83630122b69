#include "tlo_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The last messages tlo_fail translated on this thread, with their English:
 * a message often becomes a %s of the next one ("cannot open X: %s"), and
 * the English of the outer one must hold the English of the inner one. */
#define RECENT 8
static _Thread_local struct {
    char tr[TLO_ERROR_MSG_MAX];
    char en[TLO_ERROR_MSG_MAX];
} recent[RECENT];
static _Thread_local unsigned recent_next;

static uint32_t text_sum(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* s (cut by vsnprintf to fit) ends with whole UTF-8 characters: a Chinese
 * sentence takes three bytes a character and is cut more often. */
static void whole_chars(char *s, int written, size_t cap)
{
    if (written < 0 || (size_t)written < cap)
        return;
    size_t n = strlen(s), k = n;
    while (k > 0 && ((uint8_t)s[k - 1] & 0xC0) == 0x80)
        k--; /* back over continuation bytes to the lead byte */
    if (k == 0)
        return;
    uint8_t lead = (uint8_t)s[k - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (n - (k - 1) < need)
        s[k - 1] = '\0';
}

/* The next conversion of a printf format at *p (after '%'): its length
 * modifiers and letter, '*' for each star, into spec; *p moves past it.
 * False at the end of the format. */
static bool next_conversion(const char **p, char *spec, size_t cap)
{
    const char *s = *p;
    for (;;) {
        s = strchr(s, '%');
        if (!s)
            return false;
        s++;
        if (*s == '%') {
            s++;
            continue;
        }
        break;
    }
    size_t k = 0;
    for (; *s && strchr("0123456789$#-+ '.*I", *s); s++)
        if ((*s == '*' || *s == '$') && k + 1 < cap)
            spec[k++] = *s;
    for (; *s && strchr("hlLqjzt", *s); s++)
        if (k + 1 < cap)
            spec[k++] = *s;
    if (*s && k + 1 < cap)
        spec[k++] = *s++;
    spec[k] = '\0';
    *p = s;
    return true;
}

bool tlo_same_conversions(const char *a, const char *b)
{
    char sa[16], sb[16];
    for (;;) {
        bool ma = next_conversion(&a, sa, sizeof sa), mb = next_conversion(&b, sb, sizeof sb);
        if (ma != mb)
            return false;
        if (!ma)
            return true;
        /* %n writes through its argument: never from a translation */
        if (strcmp(sa, sb) != 0 || strchr(sa, 'n') || strchr(sa, '$'))
            return false;
    }
}

/* In out (cap bytes), the English of every recent translated message found
 * in it. */
static void english_of_parts(char *out, size_t cap)
{
    for (unsigned i = 0; i < RECENT; i++) {
        unsigned k = (recent_next + RECENT - 1 - i) % RECENT; /* newest first */
        const char *tr = recent[k].tr;
        size_t tn = strlen(tr);
        char *at;
        if (!tn || !(at = strstr(out, tr)))
            continue;
        char tail[TLO_ERROR_MSG_MAX];
        snprintf(tail, sizeof tail, "%s", at + tn);
        size_t head = (size_t)(at - out);
        snprintf(at, cap - head, "%s%s", recent[k].en, tail);
    }
}

static const char *recent_english(const char *text)
{
    for (unsigned i = 0; i < RECENT; i++) {
        unsigned k = (recent_next + RECENT - 1 - i) % RECENT;
        if (recent[k].tr[0] && !strcmp(recent[k].tr, text))
            return recent[k].en;
    }
    return text;
}

int tlo_fail(tlo_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return code;
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    err->code = code;
    const char *tr = dgettext(TLO_TEXT_DOMAIN, fmt);
    int n;
    if (tr != fmt && strcmp(tr, fmt) != 0 && tlo_same_conversions(fmt, tr))
        n = vsnprintf(err->msg, sizeof err->msg, dgettext(TLO_TEXT_DOMAIN, fmt), ap);
    else
        n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    whole_chars(err->msg, n, sizeof err->msg);
    n = vsnprintf(err->en, sizeof err->en, fmt, aq);
    whole_chars(err->en, n, sizeof err->en);
    va_end(aq);
    va_end(ap);
    english_of_parts(err->en, sizeof err->en);
    err->sum = text_sum(err->msg);
    if (strcmp(err->msg, err->en) != 0) {
        unsigned k = recent_next++ % RECENT;
        memcpy(recent[k].tr, err->msg, sizeof recent[k].tr);
        memcpy(recent[k].en, err->en, sizeof recent[k].en);
    }
    return code;
}

const char *tlo_error_english(const tlo_error *err)
{
    if (!err)
        return "";
    if (err->sum == text_sum(err->msg))
        return err->en;
    return recent_english(err->msg);
}

const char *tlo_text_english(const char *text)
{
    return text ? recent_english(text) : "";
}

void tlo_error_clear(tlo_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
        err->en[0] = '\0';
        err->sum = 0;
    }
}
const char *tlo_strerror(int code)
{
    switch (code) {
    case TLO_OK:
        return "success";
    case TLO_EARG:
        return "invalid argument";
    case TLO_ENOMEM:
        return "out of memory";
    case TLO_EIO:
        return "input/output error";
    case TLO_ENOTOBJECT:
        return "not a tellonce object";
    case TLO_EUNSUPPORTED:
        return "unsupported version or parameter";
    case TLO_EHEADER:
        return "header altered";
    case TLO_EWRONGKEY:
        return "wrong key";
    case TLO_ECHUNK:
        return "chunk authentication failed";
    case TLO_ETRUNCATED:
        return "truncated";
    case TLO_ETRAILING:
        return "extra data after the final chunk";
    case TLO_EPASSPHRASE:
        return "wrong passphrase";
    case TLO_EFORMAT:
        return "malformed file";
    case TLO_ERANGE:
        return "out of range";
    case TLO_ECRYPTO:
        return "cryptographic library failure";
    case TLO_ESTATE:
        return "unusable after an earlier failure";
    case TLO_EEXIST:
        return "already exists";
    case TLO_EPROOF:
        return "proof does not verify";
    case TLO_ENOTFOUND:
        return "not found";
    case TLO_EDENIED:
        return "refused";
    }
    return "unknown error";
}
