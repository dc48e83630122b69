#!/usr/bin/env bash
# The log's and the report's words in the reader's language (issue 13):
# under zh_CN the log's lines and the report page are Chinese (the page's
# visible text, tags stripped, has no English sentence left:
# tests/i18n/no_english.py) and say <html lang="zh-CN">; in the C locale the
# page says lang="en"; log --csv, log --json and report --json stay English
# whatever the locale. The page is still one self-contained file.
# usage: test_report_zh.sh TELLONCE_BINARY SOURCE_ROOT (TELLONCE_LOCALEDIR: the build's po/)
set -u
tlo=$1 src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-reportzh.XXXXXX")
[ -n "${TLO_TEST_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" TZ=Asia/Shanghai
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE LANGUAGE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# shellcheck source=../cli/lib.sh
. "$src/tests/cli/lib.sh"
zh() { LC_ALL=zh_CN.UTF-8 LANG=zh_CN.UTF-8 "$@"; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' is in: $1"; else ok; fi; }
# visible HTML FILE: the page's text as a reader sees it (no style, tags
# stripped, entities decoded), one line per line of the page.
visible() {
    python3 -c 'import html, re, sys
t = open(sys.argv[1], encoding="utf-8").read()
t = re.sub(r"(?s)<style>.*?</style>", "", t)
t = re.sub(r"<[^>]*>", " ", t)
print(html.unescape(t))' "$1"
}

[ -n "${TELLONCE_LOCALEDIR:-}" ] || bad "TELLONCE_LOCALEDIR is not set (the build's po folder)"
locale -a 2>/dev/null | grep -qi '^zh_CN\.utf-\?8$' || bad "no zh_CN.UTF-8 locale (scripts/install-deps)"
P=(--passphrase-file p.pass)
echo 'a long secret here' >p.pass
"$tlo" init --admin "Anna Admin" "${P[@]}" >/dev/null || bad "init"
"$tlo" user add "王芳" --role prosecutor --as "Anna Admin" "${P[@]}" --new-passphrase-file p.pass \
    >/dev/null || bad "user add 王芳"
"$tlo" user add "Ivan Interviewer" --role interviewer --as "Anna Admin" "${P[@]}" \
    --new-passphrase-file p.pass >/dev/null || bad "user add Ivan"
"$tlo" case open "2026-刑-0042" --as "Ivan Interviewer" "${P[@]}" >/dev/null || bad "case open"
caseid=$("$tlo" log --json | python3 -c 'import json,sys; print([e["case_id"] for e in json.load(sys.stdin) if e["kind"]=="case-open"][0])')

# log_words_zh_cn: the lines in Chinese.
expect 0 "log under zh_CN" -- zh "$tlo" log
contains "$out" "Ivan Interviewer（询问人员） 立案" "log_words_zh_cn"
contains "$out" "Anna Admin（管理员） 登记了 王芳，角色为检察官" "log_words_zh_cn"
python3 "$src/tests/i18n/no_english.py" text "log under zh_CN" out.txt && ok || bad "log_words_zh_cn: English left"
# log_csv_json_english_under_zh_cn: the formats for programs stay English.
expect 0 "log --csv under zh_CN" -- zh "$tlo" log --csv
contains "$out" "Ivan Interviewer (interviewer) opened the case" "log_csv_json_english_under_zh_cn (csv)"
lacks "$out" "立案" "log_csv_json_english_under_zh_cn (csv)"
expect 0 "log --json under zh_CN" -- zh "$tlo" log --json
python3 -c '
import json
d = [e["description"] for e in json.load(open("out.txt"))]
assert "Ivan Interviewer (interviewer) opened the case" in d, d
assert not any("立案" in x for x in d), d
' && ok || bad "log_csv_json_english_under_zh_cn (json)"

# report_page_zh_cn: the page in Chinese, its lang said; its JSON English.
expect 0 "report under zh_CN" -- zh "$tlo" report "$caseid" -o zh.html --json zh.json
grep -qF '<html lang="zh-CN">' zh.html && ok || bad "report_page_zh_cn: no <html lang=\"zh-CN\">"
grep -qF "保管报告" zh.html && ok || bad "report_page_zh_cn: no Chinese heading"
visible zh.html >zh.txt
python3 "$src/tests/i18n/no_english.py" text "report page under zh_CN" zh.txt && ok ||
    bad "report_page_zh_cn: English left in the page (above)"
python3 -c '
import json
t = [l["text"] for l in json.load(open("zh.json"))["timeline"]]
assert "Ivan Interviewer (interviewer) opened the case" in t, t
' && ok || bad "report_json_english_under_zh_cn"
lacks "$(cat zh.html)" "http:" "the Chinese page loads nothing"
lacks "$(cat zh.html)" "src=" "the Chinese page loads nothing"
python3 "$src/tests/i18n/no_english.py" text "report summary under zh_CN" out.txt && ok ||
    bad "report_page_zh_cn: the summary printed is English"
python3 "$src/tests/i18n/no_english.py" help "$tlo" report && ok || bad "report --help under zh_CN"
# report_page_en: the C locale's page says so.
expect 0 "report in C" -- env LC_ALL=C.UTF-8 "$tlo" report "$caseid" -o en.html
grep -qF '<html lang="en">' en.html && ok || bad "report_page_en: no <html lang=\"en\">"
grep -qF "Ivan Interviewer (interviewer) opened the case" en.html && ok || bad "report_page_en: the timeline"

echo "test_report_zh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
