/* tlo_fail in the person's language, with the English kept for the ledger
 * (docs/i18n.md): a Chinese catalogue made for this test (test_error.po),
 * under zh_CN.UTF-8. Skips (77) without that locale, fails under CI=true.
 * usage: test_i18n_error TEST_ERROR_MO */
#include "testutil.h"
#include "tlo_common.h"

#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    if (!setlocale(LC_ALL, "zh_CN.UTF-8")) {
        const char *ci = getenv("CI");
        fprintf(stderr,
                "%s: the locale zh_CN.UTF-8 is not installed; scripts/install-deps "
                "generates it\n",
                ci && !strcmp(ci, "true") ? "FAIL" : "SKIP");
        return ci && !strcmp(ci, "true") ? 1 : 77;
    }
    /* the catalogue where gettext looks: DIR/zh_CN/LC_MESSAGES/tellonce.mo */
    char dir[] = "/tmp/tlo-i18n-error.XXXXXX", path[256], mo[PATH_MAX];
    if (!mkdtemp(dir) || !realpath(argv[1], mo))
        return 2;
    snprintf(path, sizeof path, "%s/zh_CN", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES/tellonce.mo", dir);
    if (symlink(mo, path) != 0)
        return 2;
    bindtextdomain(TLO_TEXT_DOMAIN, dir);
    bind_textdomain_codeset(TLO_TEXT_DOMAIN, "UTF-8");

    tlo_error inner = {0}, outer = {0}, e = {0};

    /* tlo_fail_translates: msg in Chinese, en in English */
    CHECK(tlo_fail(&inner, TLO_EIO, "cannot open %s: %s", "a.db", "disk") == TLO_EIO);
    CHECK_MSG(!strcmp(inner.msg, "无法打开 a.db：disk"), "msg: %s", inner.msg);
    CHECK_MSG(!strcmp(inner.en, "cannot open a.db: disk"), "en: %s", inner.en);
    CHECK(!strcmp(tlo_error_english(&inner), "cannot open a.db: disk"));

    /* nested_english: a translated message as the %s of the next one */
    tlo_fail(&outer, TLO_EIO, "%s; nothing was changed", inner.msg);
    CHECK_MSG(!strcmp(outer.msg, "无法打开 a.db：disk；未作任何更改"), "msg: %s", outer.msg);
    CHECK_MSG(!strcmp(tlo_error_english(&outer), "cannot open a.db: disk; nothing was changed"),
              "en: %s", outer.en);
    /* ...also from a copy (the "why" buffers of custody/) */
    char why[TLO_ERROR_MSG_MAX];
    snprintf(why, sizeof why, "%s", inner.msg);
    CHECK(!strcmp(tlo_text_english(why), "cannot open a.db: disk"));
    tlo_fail(&e, TLO_EIO, "%s; nothing was changed", why);
    CHECK_MSG(!strcmp(e.en, "cannot open a.db: disk; nothing was changed"), "en: %s", e.en);

    /* other_conversions_unused: a translation whose conversions differ
     * (swapped, or with %n) is not formatted: English instead */
    tlo_fail(&e, TLO_ECHUNK, "chunk %llu of %s fails authentication", 7ULL, "s.obj");
    CHECK_MSG(!strcmp(e.msg, "chunk 7 of s.obj fails authentication"), "msg: %s", e.msg);
    tlo_fail(&e, TLO_EFORMAT, "segment %u is missing", 3u);
    CHECK_MSG(!strcmp(e.msg, "segment 3 is missing"), "msg: %s", e.msg);

    /* untranslated: msg and en the same */
    tlo_fail(&e, TLO_EARG, "no such thing as %s", "x");
    CHECK(!strcmp(e.msg, "no such thing as x") && !strcmp(e.en, e.msg));

    /* written_directly: a msg written without tlo_fail is its own English */
    tlo_fail(&e, TLO_EPROOF, "entry %llu is not signed", 5ULL);
    CHECK_MSG(!strcmp(e.msg, "条目 5 没有签名"), "msg: %s", e.msg);
    snprintf(e.msg, sizeof e.msg, "replaced by hand");
    CHECK(!strcmp(tlo_error_english(&e), "replaced by hand"));
    tlo_error_clear(&e);
    CHECK(!strcmp(tlo_error_english(&e), "") && !strcmp(tlo_error_english(NULL), ""));

    /* cut_whole_chars: a message too long for msg is cut between
     * characters, never inside one */
    char name[700];
    memset(name, 'a', 493); /* "no such thing as " and these: 510 bytes */
    snprintf(name + 493, sizeof name - 493, "%s", "王芳王芳");
    tlo_fail(&e, TLO_EARG, "no such thing as %s", name);
    CHECK_MSG(strlen(e.msg) == 510, "cut at %zu bytes", strlen(e.msg));
    CHECK(tlo_text_ok(e.msg, sizeof e.msg) && tlo_text_ok(e.en, sizeof e.en));
    CHECK(!strcmp(e.en, e.msg));

    /* the C locale: English, as without any catalogue */
    setlocale(LC_ALL, "C");
    tlo_fail(&e, TLO_EIO, "cannot open %s: %s", "a.db", "disk");
    CHECK(!strcmp(e.msg, "cannot open a.db: disk"));

    /* same_conversions */
    CHECK(tlo_same_conversions("a %s b %llu c %%", "%s 的 %llu %% 块"));
    CHECK(tlo_same_conversions("%-8s|%.*s|%5.2f", "%s|%.*s|%f"));
    CHECK(!tlo_same_conversions("%s %d", "%d %s"));
    CHECK(!tlo_same_conversions("%s", "%s %s"));
    CHECK(!tlo_same_conversions("%u", "%lu"));
    CHECK(!tlo_same_conversions("%s", "%1$s"));
    CHECK(!tlo_same_conversions("%d", "%n"));
    CHECK(!tlo_same_conversions("%.*s", "%s"));

    unlink(path);
    snprintf(path, sizeof path, "%s/zh_CN/LC_MESSAGES", dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/zh_CN", dir);
    rmdir(path);
    rmdir(dir);
    return tu_finish("i18n error");
}
