#!/usr/bin/env bash
# The live recording screen in Chinese (issue 13): under LANG=zh_CN.UTF-8,
# record's first lines, status line, marker prompt and its question after 'q'
# are Chinese, with no English sentence left (no_english.py), and the keys
# still work: a marker typed at the terminal is logged, 'q' then 'y' ends
# the session in the ledger. The passphrase prompt, the --help of the live
# side's commands and the main --help are Chinese too. In tmux (a real
# terminal); every step waits for what the screen or the ledger shows, never
# for a time.
# usage: test_record_zh.sh TELLONCE_BINARY SOURCE_ROOT BUILD_LOCALEDIR
set -u
tlo=$1 root=$2 localedir=$3
here=$(dirname "${BASH_SOURCE[0]}")
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
. "$here/../cli/lib.sh"
. "$here/i18n_lib.sh"
i18n_need_locale zh_CN.UTF-8
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (package tmux)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-reczh.XXXXXX")
TMUX_SOCK=$work/tmux.sock
printf 'set-option -g remain-on-exit on\n' >"$work/tmux.conf"
tm() { tmux -u -S "$TMUX_SOCK" -f "$work/tmux.conf" "$@"; }
cleanup() {
    tm kill-server 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_SOCKET LANGUAGE LC_ALL LC_MESSAGES
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" TELLONCE_LOCALEDIR=$localedir
pane() { tm capture-pane -p -t rec; }
no_english() { python3 "$root/tests/i18n/no_english.py" "$@"; }

# 1. record_zh_help: the --help of the live and service side's commands, and
# the main --help (its command list), in Chinese.
LANG=zh_CN.UTF-8 no_english help "$tlo" record preview stop login logout custodian devices \
    >help.out 2>&1 && ok || bad "record_zh_help: $(cat help.out)"
LANG=zh_CN.UTF-8 "$tlo" --help >main-help.txt 2>&1
has_cjk main-help.txt && no_english text "tellonce --help" main-help.txt >main.out 2>&1 && ok ||
    bad "record_zh_help: the main --help: $(cat main.out main-help.txt)"

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Olga Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-ZH-1" --as "Olga Officer" --passphrase-file officer.pass >/dev/null ||
    bad "case open"

# 2. record_zh_screen: the screen while recording, in Chinese.
before=$(sessions_started)
tm new-session -d -s rec -x 200 -y 40 \
    "env LANG=zh_CN.UTF-8 TELLONCE_LOCALEDIR=$localedir TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT=$TELLONCE_VAULT TERM=xterm $tlo record 2026-ZH-1 --as 'Olga Officer'; echo exit=\$? >$work/rec.rc"
# record_zh_prompt: the passphrase is asked in Chinese.
wait_for 60 "record_zh_prompt: the passphrase prompt (Olga Officer 的口令)" \
    'pane | grep -q "Olga Officer 的口令："' && ok
tm send-keys -t rec -l "officer secret"
tm send-keys -t rec Enter
wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' &&
    sess=$(newest_session) &&
    wait_for 120 "record_zh_screen: the Chinese status line (录制中 00:)" \
        'pane | grep -q "录制中 00:"' && ok
pane >screen.txt
has_cjk screen.txt && no_english text "the recording screen" screen.txt >screen.out 2>&1 && ok ||
    bad "record_zh_screen: $(cat screen.out screen.txt)"
grep -q "摄像头" screen.txt && grep -q "麦克风" screen.txt && ok ||
    bad "record_zh_screen: the status line names no camera or microphone in Chinese: $(cat screen.txt)"

# 3. record_zh_marker: 'm', a text, Enter: the prompt is Chinese, and the
# marker is logged and said so.
tm send-keys -t rec m
wait_for 60 "record_zh_marker: the marker prompt (回车保存)" 'pane | grep -q "回车保存"' && ok
pane >prompt.txt
no_english text "the marker prompt" prompt.txt >prompt.out 2>&1 && ok ||
    bad "record_zh_marker: $(cat prompt.out prompt.txt)"
tm send-keys -t rec -l "儿童开始陈述"
tm send-keys -t rec Enter
wait_for 60 "record_zh_marker: the marker logged" '[ "$(markers_logged "$sess")" -gt 0 ]' && ok
wait_for 60 "record_zh_marker: said so in Chinese (已记为条目)" \
    'pane | grep -q "已记为条目"' && ok
ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 22" | grep -q "儿童开始陈述" && ok ||
    bad "record_zh_marker: the marker's text is not in the ledger"

# 4. record_zh_quit: 'q' asks in Chinese, 'y' ends the session in the ledger.
tm send-keys -t rec q
wait_for 60 "record_zh_quit: the question (现在结束本场次吗)" 'pane | grep -q "现在结束本场次吗"' && ok
pane >question.txt
no_english text "the question after q" question.txt >question.out 2>&1 && ok ||
    bad "record_zh_quit: $(cat question.out question.txt)"
tm send-keys -t rec y
wait_for 120 "record_zh_quit: record ends" '[ -s rec.rc ]' && ok
grep -q "exit=0" rec.rc 2>/dev/null && ok || bad "record_zh_quit: exit: $(cat rec.rc 2>/dev/null)"
ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
        CAST(body AS TEXT) LIKE '%session=$sess%'" | grep -q "status=ended" && ok ||
    bad "record_zh_quit: the session did not end in the ledger"
# The ledger stays English whatever the screen's language.
"$tlo" verify >verify.out 2>&1 && ok || bad "verify: $(cat verify.out)"

echo "i18n_record_zh: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
