#!/usr/bin/env bash
# record at its terminal (issue 13): the first line names the room it uses
# (the vault's default-room setting, else the simulated room, said so);
# Ctrl-C asks as 'q' does, and a second Ctrl-C within 3 s ends the session
# cleanly. In tmux (a real terminal); every step waits for what the screen or
# the ledger shows, never for a time.
# usage: test_record_keys.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-keys.XXXXXX")
TMUX_SOCK=$work/tmux.sock
printf 'set-option -g remain-on-exit on\n' >"$work/tmux.conf"
tm() { tmux -S "$TMUX_SOCK" -f "$work/tmux.conf" "$@"; }
cleanup() {
    tm kill-server 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (package tmux)" >&2; exit 1; }
pane() { tm capture-pane -p -t "$1"; }
session_end() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
            CAST(body AS TEXT) LIKE '%session=$1%'"
}

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Olga Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-KEY-1" --as "Olga Officer" --passphrase-file officer.pass >/dev/null ||
    bad "case open"

# 1. test_record_room_first_line: without --room and without a setting, the
# first line says the simulated room is used, and how to set another.
"$tlo" record "2026-KEY-1" --as "Olga Officer" --passphrase-file officer.pass --duration 2 \
    --no-live </dev/null >r1.out 2>r1.err || bad "record without --room: $(cat r1.err)"
first=$(head -1 r1.err)
contains "$first" "Room: simulated (SIMULATED test patterns" "test_record_room_first_line"
contains "$first" "tellonce settings set default-room" "test_record_room_first_line: how to set it"
# With the setting, the room it names, said so.
cat > "$work/small.room" <<'EOF'
[room]
name=small room
[camera 1]
source=test:ball
[microphone 1]
source=tone
EOF
"$tlo" settings set default-room "$work/small.room" --as "Anna Admin" \
    --passphrase-file admin.pass >set.out 2>&1 || bad "settings set default-room: $(cat set.out)"
"$tlo" record "2026-KEY-1" --as "Olga Officer" --passphrase-file officer.pass --duration 2 \
    --no-live </dev/null >r2.out 2>r2.err || bad "record with a default room: $(cat r2.err)"
contains "$(head -1 r2.err)" "Room: $work/small.room (the vault's default-room setting" \
    "test_record_room_default_setting: the first line"
contains "$(cat r2.err)" "in the room \"small room\"" "test_record_room_default_setting: recorded there"
"$tlo" settings set default-room simulated --as "Anna Admin" --passphrase-file admin.pass \
    >set.out 2>&1 || bad "settings set default-room simulated: $(cat set.out)"

# 2. test_record_ctrl_c_asks: Ctrl-C shows the question of 'q' and the
# session goes on; any other key answers it; Ctrl-C twice ends the session
# as 'q' 'y' does.
before=$(sessions_started)
tm new-session -d -s rec -x 220 -y 40 \
    "env TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT=$TELLONCE_VAULT TERM=xterm $tlo record 2026-KEY-1 --as 'Olga Officer' --passphrase-file $work/officer.pass; echo exit=\$? >$work/rec.rc"
wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' &&
    sess=$(newest_session) &&
    wait_for 120 "the status line" 'pane rec | grep -q "REC 00:"' &&
    wait_for 120 "the first segment" '[ "$(media_logged "$sess")" -gt 0 ]'
tm send-keys -t rec C-c
wait_for 60 "test_record_ctrl_c_asks: the question after Ctrl-C" \
    'pane rec | grep -q "End the session now?"' && ok
m0=$(media_logged "$sess")
wait_for 60 "test_record_ctrl_c_asks: media after the first Ctrl-C" \
    '[ "$(media_logged "$sess")" -gt "$m0" ]' && ok
[ -z "$(session_end "$sess")" ] && ok || bad "test_record_ctrl_c_asks: one Ctrl-C ended the session"
[ ! -s rec.rc ] && ok || bad "test_record_ctrl_c_asks: record ended after one Ctrl-C"
tm send-keys -t rec n
wait_for 60 "test_record_ctrl_c_asks: 'n' goes on (the status line is back)" \
    '! pane rec | grep -q "End the session now?"' && ok
# test_record_quit_keys: Ctrl-\\ (SIGQUIT) and Ctrl-Z (SIGTSTP) neither kill
# nor stop the recording: it goes on logging media, with no end entry.
tm send-keys -t rec 'C-\' C-z
m1=$(media_logged "$sess")
wait_for 60 "test_record_quit_keys: media after Ctrl-\\ and Ctrl-Z" \
    '[ "$(media_logged "$sess")" -gt $((m1 + 1)) ]' && ok
[ -z "$(session_end "$sess")" ] && [ ! -s rec.rc ] && ok ||
    bad "test_record_quit_keys: the recording ended: $(cat rec.rc 2>/dev/null)"
# The second Ctrl-C once the first one's question shows (two at once reach
# the process as one signal, as two keys pressed at the same instant would).
tm send-keys -t rec C-c
wait_for 60 "test_record_ctrl_c_twice_ends: the question again" \
    'pane rec | grep -q "End the session now?"'
tm send-keys -t rec C-c
wait_for 60 "test_record_ctrl_c_twice_ends: record ends" '[ -s rec.rc ]' && ok
contains "$(cat rec.rc 2>/dev/null)" "exit=0" "test_record_ctrl_c_twice_ends: exit 0"
contains "$(session_end "$sess")" "status=ended" "test_record_ctrl_c_twice_ends: the session ended"
"$tlo" verify >verify.out 2>&1 && ok || bad "verify: $(cat verify.out)"

echo "cli_record_keys: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
