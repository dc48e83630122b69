# Sourced by the tests of tests/i18n (after tests/cli/lib.sh and bad()).
#
#   i18n_need_locale L...  each locale L (zh_CN.UTF-8) is installed, or the
#                          test skips (77), or fails under CI=true:
#                          scripts/install-deps generates them
#   has_cjk FILE           FILE holds a CJK ideograph (U+4E00..U+9FFF)

i18n_need_locale() {
    local l want
    for l in "$@"; do
        want=$(printf '%s' "$l" | tr 'A-Z' 'a-z' | sed 's/utf-8$/utf8/')
        if ! locale -a 2>/dev/null | tr 'A-Z' 'a-z' | grep -qx "$want"; then
            if [ "${CI:-}" = true ]; then
                echo "FAIL: the locale $l is not installed; scripts/install-deps generates it" >&2
                exit 1
            fi
            echo "SKIP: the locale $l is not installed; run scripts/install-deps (as root or with sudo) to generate it" >&2
            exit 77
        fi
    done
}

has_cjk() {
    python3 -c 'import sys
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
sys.exit(0 if any("\u4e00" <= c <= "\u9fff" for c in t) else 1)' "$1"
}
