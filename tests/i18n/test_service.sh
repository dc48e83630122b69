#!/usr/bin/env bash
# The person's language through the custodian service (docs/i18n.md): the
# client sends its LANG, LC_ALL, LC_MESSAGES, LANGUAGE; the service's child
# runs the command in them, whatever the service's own language, and takes
# only locale names. What the service logs stays English. Run as root (the
# service tests make OS users); skips (77) otherwise, or without the
# zh_CN.UTF-8 locale, and fails instead under CI=true.
# usage: test_service.sh TELLONCE_BINARY SOURCE_ROOT BUILD_LOCALEDIR
set -u
tlo=$1 src=$2 localedir=$3
here=$src/tests/i18n
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
. "$src/tests/cli/lib.sh"
. "$src/tests/service/svc_lib.sh"
. "$here/i18n_lib.sh"
svc_need_root
i18n_need_locale zh_CN.UTF-8 en_US.UTF-8
svc_setup ann
cd "$SVC_DIR" || exit 1
# the build's catalogue, where the service's user reads it
install -d -m 755 "$SVC_DIR/locale/zh_CN/LC_MESSAGES"
install -m 644 "$localedir/zh_CN/LC_MESSAGES/tellonce.mo" "$SVC_DIR/locale/zh_CN/LC_MESSAGES/" ||
    bad "no catalogue in $localedir"
# The service itself runs in Chinese: a client's English must win over it.
SVC_ENV="TELLONCE_LOCALEDIR=$SVC_DIR/locale LANG=zh_CN.UTF-8"
svc_start
missing_case="case show needs --as NAME"
# through LANG... CMD: tellonce as ann through the service, with these
# variables (the rest of the environment is empty), stderr in err.txt.
through() {
    local vars=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do vars+=("$1"); shift; done
    shift
    as ann env "${vars[@]}" "$SVC_BIN" --socket "$SVC_SOCKET" "$@" >out.txt 2>err.txt </dev/null
}

# 1. svc_zh_client: Chinese through the service.
through LANG=zh_CN.UTF-8 -- case show NO-SUCH-CASE
if has_cjk err.txt && ! grep -qF "$missing_case" err.txt; then ok; else
    bad "svc_zh_client: the service's answer is not Chinese for LANG=zh_CN.UTF-8: $(cat err.txt)"
fi
through LC_ALL=zh_CN.UTF-8 LANG=C -- case show NO-SUCH-CASE
has_cjk err.txt && ok || bad "svc_zh_lc_all: LC_ALL=zh_CN.UTF-8 is not applied: $(cat err.txt)"
# 2. svc_c_client, svc_default_client: English for LANG=C and for no locale
# at all, though the service's own LANG is Chinese.
through LANG=C -- case show NO-SUCH-CASE
grep -qF "$missing_case" err.txt && ! has_cjk err.txt && ok ||
    bad "svc_c_client: not English for LANG=C: $(cat err.txt)"
through -- case show NO-SUCH-CASE
grep -qF "$missing_case" err.txt && ! has_cjk err.txt && ok ||
    bad "svc_default_client: not English without a locale: $(cat err.txt)"
# a client's locale that is no locale name is not sent: the command runs
through "LANG=zh_CN.UTF-8/../../x" -- case show NO-SUCH-CASE
grep -qF "$missing_case" err.txt && ok || bad "svc_odd_client_locale: $(cat err.txt)"

# 3. svc_locale_checked: a request with a locale that is not a name (a
# path, a space, too long) is refused before anything runs, and logged.
before=$(svc_ledger "SELECT count(*) FROM entries WHERE kind = 43")
for v in "../../../tmp/x" "zh CN" "$(printf 'a%.0s' $(seq 65))"; do
    err=$(/usr/bin/python3 "$here/svc_raw.py" "$SVC_SOCKET" "lang=$v" case list 2>&1)
    rc=$?
    [ "$rc" -ne 0 ] && grep -qF "the request's line lang is not allowed there" <<<"$err" && ok ||
        bad "svc_locale_checked: lang=$v was taken (exit $rc): $err"
done
after=$(svc_ledger "SELECT count(*) FROM entries WHERE kind = 43")
[ "$after" -eq $((before + 3)) ] && ok || bad "svc_locale_checked: $((after - before)) refusals logged, not 3"
# LANGUAGE, a list, goes before LANG (when LANG is not C: gettext's rule)
/usr/bin/python3 "$here/svc_raw.py" "$SVC_SOCKET" "lang=en_US.UTF-8|language=zh_CN:en" \
    case show NO-SUCH-CASE 2>err.txt
has_cjk err.txt && ok || bad "svc_language_list: LANGUAGE=zh_CN:en is refused or not applied: $(cat err.txt)"

# 4. svc_refusal_reason_english: the service's own language is Chinese,
# yet the reason of a request-refused entry is English.
/usr/bin/python3 "$here/svc_raw.py" "$SVC_SOCKET" "bogus=1" case list >/dev/null 2>&1
reason=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 43 ORDER BY seq DESC LIMIT 1" |
    sed -n 's/^reason=//p')
[ "$reason" = "the request is malformed: the request's line bogus is not allowed there" ] && ok ||
    bad "svc_refusal_reason_english: the logged reason is '$reason'"

svc_stop || bad "the service did not end cleanly"
echo "i18n service: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
