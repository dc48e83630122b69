#!/usr/bin/env bash
# po/zh_CN.po is complete (docs/i18n.md): the template is made again from
# the sources as they are now (xgettext, the options of po/xgettext-args), and
# every msgid in it needs a translated, non-fuzzy msgstr in po/zh_CN.po
# whose printf conversions are the msgid's (msgfmt -c), with no numbered
# argument (%1$s: tlo_fail and cli_error do not use a translation that has
# one). po/POTFILES must list every C source outside tests/.
# usage: test_complete.sh SOURCE_ROOT
set -u
src=$1
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
for t in xgettext msgmerge msgattrib msgfmt; do
    command -v "$t" >/dev/null || { echo "FAIL: $t is missing: install gettext (scripts/install-deps)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-i18n-po.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$src" || exit 1

# 1. POTFILES names every source file (a new file is not forgotten); build
# folders inside the source tree (CI keeps build-asan/ there) are skipped.
find . -type d \( -path ./.git -o -path ./tests -o -exec test -e '{}/meson-private' \; \) -prune -o \
    -name '*.c' -print | sed 's|^\./||' | LC_ALL=C sort >"$work/sources"
sed 's/#.*//;/^[[:space:]]*$/d' po/POTFILES | LC_ALL=C sort >"$work/listed"
missing=$(LC_ALL=C comm -23 "$work/sources" "$work/listed")
gone=$(LC_ALL=C comm -13 "$work/sources" "$work/listed")
[ -z "$missing" ] && ok || bad "po/POTFILES misses $(echo $missing) (scripts/update-po rewrites it)"
[ -z "$gone" ] && ok || bad "po/POTFILES names files that are gone: $(echo $gone) (scripts/update-po)"

# 2. The template, from the sources themselves (the options of po/xgettext-args).
mapfile -t xargs_ <po/xgettext-args
if ! xgettext "${xargs_[@]}" -o "$work/tellonce.pot" $(cat "$work/sources") 2>"$work/xgettext.err"; then
    bad "xgettext failed: $(cat "$work/xgettext.err")"
    exit 1
fi
total=$(grep -c '^msgid ' "$work/tellonce.pot")
total=$((total - 1)) # the header
[ "$total" -gt 100 ] && ok || bad "xgettext found only $total strings: the keywords are wrong"

# 3. Each msgid translated, not fuzzy, in po/zh_CN.po.
msgmerge -q --no-fuzzy-matching --no-wrap -o "$work/merged.po" po/zh_CN.po "$work/tellonce.pot" ||
    bad "msgmerge of po/zh_CN.po failed"
# msgids: one per line, continuation lines joined, the header left out
msgids() {
    awk '/^msgid "/ { m = substr($0, 8, length($0) - 8); inid = 1; next }
         /^"/ && inid { m = m substr($0, 2, length($0) - 2); next }
         { if (inid && m != "") print m; inid = 0 }
         END { if (inid && m != "") print m }'
}
msgattrib --no-wrap --no-obsolete --untranslated "$work/merged.po" 2>/dev/null | msgids >"$work/untranslated"
msgattrib --no-wrap --no-obsolete --only-fuzzy "$work/merged.po" 2>/dev/null | msgids >"$work/fuzzy"
n=$(wc -l <"$work/untranslated")
if [ "$n" -eq 0 ]; then ok; else
    while IFS= read -r m; do echo "  untranslated: \"$m\"" >&2; done <"$work/untranslated"
    bad "$n of $total strings have no Chinese entry in po/zh_CN.po (above; see docs/i18n.md)"
fi
n=$(wc -l <"$work/fuzzy")
if [ "$n" -eq 0 ]; then ok; else
    while IFS= read -r m; do echo "  fuzzy: \"$m\"" >&2; done <"$work/fuzzy"
    bad "$n strings of po/zh_CN.po are fuzzy (above): check each and drop its fuzzy flag"
fi

# 4. Conversions: msgfmt -c says which entry (file:line) differs.
if msgfmt -c --check-format -o /dev/null "$work/merged.po" 2>"$work/msgfmt.err"; then ok; else
    sed 's/^/  /' "$work/msgfmt.err" >&2
    # name the entries themselves (the merged file is the test's own)
    for n in $(sed -n 's/^[^:]*merged\.po:\([0-9]*\):.*/\1/p' "$work/msgfmt.err" | sort -un); do
        echo "  at: $(sed -n "$((n - 1)),${n}p" "$work/merged.po" | tr "\n" " ")" >&2
    done
    bad "po/zh_CN.po: msgfmt -c finds entries whose conversions differ from their msgid (above)"
fi
if grep -nE '^msgstr.*%[0-9]+\$' po/zh_CN.po >"$work/numbered"; then
    sed 's/^/  po\/zh_CN.po:/' "$work/numbered" >&2
    bad "po/zh_CN.po: translations with numbered arguments (%1\$s), which tellonce does not use (above)"
else
    ok
fi

echo "i18n complete: $total strings; $passed passed, $failed failed"
[ "$failed" -eq 0 ]
