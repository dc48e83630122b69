#!/usr/bin/env bash
# The human text of play, export, verify-export, checkpoint, prove, recover,
# mark, case and object in Chinese (issue 13): their --help, and what they
# print in a scratch vault, checked by tests/i18n/no_english.py under
# zh_CN.UTF-8; and an option error of play, export and verify-export is
# getopt's line and one line pointing to --help, not the whole usage.
# usage: test_json_zh.sh TELLONCE_BINARY SOURCE_ROOT LOCALEDIR
set -u
tlo=$1 src=$2
export TELLONCE_LOCALEDIR=$3
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-json-zh.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET LANGUAGE
failed=0
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check=(python3 "$src/tests/i18n/no_english.py")
zh() { LC_ALL=zh_CN.UTF-8 LANG=zh_CN.UTF-8 "$@"; }

# help_zh: every --help of these commands is Chinese.
zh "${check[@]}" help "$tlo" play export verify-export checkpoint prove recover mark case \
    object || bad "help_zh: English left in --help"

# option_error_one_line: not the whole usage.
for c in play export verify-export; do
    LC_ALL=C.UTF-8 "$tlo" $c --no-such-option >out.txt 2>err.txt
    rc=$?
    [ "$rc" = 2 ] || bad "option_error_one_line: $c exit $rc"
    [ "$(wc -l <err.txt)" -le 2 ] && ! grep -q 'usage:' err.txt ||
        bad "option_error_one_line: $c printed: $(cat err.txt)"
    grep -q -- "tellonce $c --help" err.txt || bad "option_error_one_line: $c names no --help"
done

# printed_zh: what the commands print, in Chinese.
pass=(--passphrase-file p.pass)
echo 'a long secret' >p.pass
printf 'child_name=王小明\n' >child.txt
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "张警官:interviewer" "李检察官:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
iv=(--as "张警官" "${pass[@]}")
# say NAME CMD...: CMD (which must exit 0) under zh_CN, its stdout and
# stderr checked for English sentences.
say() {
    local name=$1
    shift
    zh "$@" >"$name.out" 2>"$name.err" </dev/null || bad "$name: exit $?: $(cat "$name.err")"
    cat "$name.out" "$name.err" >"$name.txt"
    "${check[@]}" text "$name" "$name.txt" || bad "printed_zh: English left in $name"
}
say case_open "$tlo" case open DEMO-0001 "${iv[@]}" --child-file child.txt
say case_list "$tlo" case list "${iv[@]}"
say case_show "$tlo" case show DEMO-0001 "${iv[@]}"
"$tlo" record DEMO-0001 "${iv[@]}" --duration 2 --no-live >/dev/null 2>&1 || bad "record"
say mark "$tlo" mark DEMO-0001 --at 1 "休息" "${iv[@]}"
"$tlo" grant DEMO-0001 --for "李检察官" --session 1 --expires 2099-12-31 --purpose 起诉审查 \
    --actions view,export --as "Anna Admin" "${pass[@]}" >/dev/null || bad "grant"
say play "$tlo" play DEMO-0001 --session 1 --as "李检察官" "${pass[@]}" --headless
say export "$tlo" export DEMO-0001 --session 1 --as "李检察官" "${pass[@]}" -o clip.mp4
key=$("$tlo" checkpoint --verifier-key) || bad "checkpoint --verifier-key"
say verify_export "$tlo" verify-export clip.mp4 --verifier-key "$key"
say checkpoint "$tlo" checkpoint -o cp.txt
say recover "$tlo" recover "${iv[@]}"
head -c 5000 /dev/urandom >blob.bin
printf '%064d\n' 7 >case.key
say object_seal "$tlo" object seal --key-file case.key blob.bin blob.sealed
say object_inspect "$tlo" object inspect blob.sealed
if [ "$failed" -ne 0 ]; then
    echo "cli_json_zh: $failed failure(s)" >&2
    exit 1
fi
echo "cli_json_zh: all passed"
