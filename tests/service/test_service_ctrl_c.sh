#!/usr/bin/env bash
# Ctrl-C through the custodian service behaves as in-process (issue 13):
#   service_ctrl_c_asks         in tmux: Ctrl-C in a recording client shows
#                               the question of 'q'; the recording goes on
#                               (new media logged, no session end) and the
#                               client stays; any other key answers it
#   service_ctrl_c_twice_ends   Ctrl-C, then Ctrl-C again within 3 s, ends
#                               the session (session-end status=ended) and
#                               the client exits 0
#   service_detach_key          Ctrl-D detaches the client (it exits 0 and
#                               says how to come back); the recording goes
#                               on; an attached client's Ctrl-C asks too,
#                               and twice ends it
# Every step waits for what the screen or the ledger shows, never for a time.
# Run as root (it makes OS users); skips (77) otherwise, unless CI=true.
# usage: test_service_ctrl_c.sh TELLONCE_BINARY TESTS_DIR
set -u
tlo=$1
here=$2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# shellcheck source=../cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=svc_lib.sh
. "$here/svc_lib.sh"
svc_need_root
command -v tmux >/dev/null || { echo "FAIL: tmux is missing (package tmux)" >&2; exit 1; }
svc_setup off
cd "$SVC_DIR" || exit 1
export TELLONCE_VAULT=$SVC_VAULT # for lib.sh's ledger queries, read as root
TMUX_SOCK=$SVC_DIR/tmux.sock
printf 'set-option -g remain-on-exit on\n' >"$SVC_DIR/tmux.conf"
tm() { tmux -S "$TMUX_SOCK" -f "$SVC_DIR/tmux.conf" "$@"; }
extra_cleanup() {
    tm kill-server 2>/dev/null
    svc_cleanup
}
trap extra_cleanup EXIT
printf 'officer-passphrase-1\n' >off.pass
chmod 644 off.pass
as_service user add "Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file off.pass --vault "$SVC_VAULT" </dev/null >/dev/null 2>&1 || bad "user add Officer"
svc_start
tlo_as off case open "2026-C-0001" --as "Officer" --passphrase-file off.pass \
    </dev/null >/dev/null 2>&1 || bad "case open"

end_status() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
            CAST(body AS TEXT) LIKE '%session=$1%'" | sed -n 's/^status=//p'
}
pane() { tm capture-pane -p -t "$1"; }
client_cmd() { # client_cmd RCFILE ARGS...: a tellonce client as the officer, in a pane
    local rc=$1
    shift
    echo "setpriv --reuid=$(svc_user off) --regid=$(id -g "$(svc_user off)") --init-groups --reset-env -- env TELLONCE_TEST_FAST_KDF=1 TERM=xterm $SVC_BIN --socket $SVC_SOCKET $* --as Officer --passphrase-file $SVC_DIR/off.pass; echo exit=\$? >$SVC_DIR/$rc"
}
# start_recording PANE RCFILE: a recording client in a new pane; sets sess
start_recording() {
    local before
    before=$(sessions_started)
    tm new-session -d -s "$1" -x 200 -y 40 "$(client_cmd "$2" record 2026-C-0001)"
    wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$SVC_PID" &&
        sess=$(newest_session) &&
        wait_for 120 "the status line" "pane $1 | grep -q 'REC 00:'" "$SVC_PID" &&
        wait_for 120 "the first segment" '[ "$(media_logged "$sess")" -gt 0 ]' "$SVC_PID"
}

# --- 1. service_ctrl_c_asks ---
start_recording rec r1.rc
tm send-keys -t rec C-c
wait_for 60 "service_ctrl_c_asks: the question after Ctrl-C" \
    'pane rec | grep -q "End the session now?"' "$SVC_PID" && ok
m0=$(media_logged "$sess")
wait_for 60 "service_ctrl_c_asks: media after the first Ctrl-C" \
    '[ "$(media_logged "$sess")" -gt "$m0" ]' "$SVC_PID" && ok
[ -z "$(end_status "$sess")" ] && ok || bad "service_ctrl_c_asks: one Ctrl-C ended the session"
[ ! -s r1.rc ] && ok || bad "service_ctrl_c_asks: the client ended after one Ctrl-C: $(cat r1.rc)"
tm send-keys -t rec n
wait_for 60 "service_ctrl_c_asks: 'n' goes on (the status line is back)" \
    '! pane rec | grep -q "End the session now?"' "$SVC_PID" && ok
# service_quit_keys_do_not_kill: Ctrl-\\ (SIGQUIT) and Ctrl-Z (SIGTSTP) from
# the client reach the service's pty as plain bytes: neither kills nor
# stops the recording, which goes on logging media and has no end entry.
tm send-keys -t rec 'C-\' C-z
m1=$(media_logged "$sess")
wait_for 60 "service_quit_keys_do_not_kill: media after Ctrl-\\ and Ctrl-Z" \
    '[ "$(media_logged "$sess")" -gt $((m1 + 1)) ]' "$SVC_PID" && ok
[ -z "$(end_status "$sess")" ] && [ ! -s r1.rc ] && ok ||
    bad "service_quit_keys_do_not_kill: the recording ended: $(end_status "$sess") $(cat r1.rc)"

# --- 2. service_ctrl_c_twice_ends ---
# The second Ctrl-C once the first one's question shows (two at once reach
# the recording as one signal).
tm send-keys -t rec C-c
wait_for 60 "service_ctrl_c_twice_ends: the question again" \
    'pane rec | grep -q "End the session now?"' "$SVC_PID"
tm send-keys -t rec C-c
wait_for 120 "service_ctrl_c_twice_ends: the session ends" '[ -n "$(end_status "$sess")" ]' "$SVC_PID" && ok
[ "$(end_status "$sess")" = ended ] && ok || bad "service_ctrl_c_twice_ends: status '$(end_status "$sess")'"
wait_for 60 "service_ctrl_c_twice_ends: the client ends" '[ -s r1.rc ]' "$SVC_PID" &&
    contains "$(cat r1.rc)" "exit=0" "service_ctrl_c_twice_ends: the client's exit"

# --- 3. service_detach_key ---
start_recording rec2 r2.rc
contains "$(pane rec2)" "Ctrl-D detaches" "service_detach_key: the first lines name the detach key"
tm send-keys -t rec2 C-d
wait_for 60 "service_detach_key: Ctrl-D detaches the client" '[ -s r2.rc ]' "$SVC_PID" && ok
contains "$(cat r2.rc 2>/dev/null)" "exit=0" "service_detach_key: the client's exit"
contains "$(pane rec2)" "record --attach" "service_detach_key: the detach says how to come back"
m1=$(media_logged "$sess")
wait_for 60 "service_detach_key: media after the detach" \
    '[ "$(media_logged "$sess")" -gt "$m1" ]' "$SVC_PID" && ok
[ -z "$(end_status "$sess")" ] && ok || bad "service_detach_key: Ctrl-D ended the session"
# An attached client: Ctrl-C asks, a second one within 3 s ends it.
tm new-session -d -s att -x 200 -y 40 "$(client_cmd r3.rc record --attach "$sess")"
wait_for 120 "service_detach_key: attached (the status line)" 'pane att | grep -q "REC 00:"' "$SVC_PID"
tm send-keys -t att C-c
wait_for 60 "service_detach_key: the attached client's Ctrl-C asks" \
    'pane att | grep -q "End the session now?"' "$SVC_PID" && ok
[ -z "$(end_status "$sess")" ] && ok || bad "service_detach_key: the attached client's Ctrl-C ended it"
tm send-keys -t att C-c
wait_for 120 "service_detach_key: a second Ctrl-C ends it" '[ -n "$(end_status "$sess")" ]' "$SVC_PID" && ok
[ "$(end_status "$sess")" = ended ] && ok || bad "service_detach_key: status '$(end_status "$sess")'"
wait_for 60 "service_detach_key: the attached client ends" '[ -s r3.rc ]' "$SVC_PID" &&
    contains "$(cat r3.rc)" "exit=0" "service_detach_key: the attached client's exit"
out=$(tlo_as off verify 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "verify: $out"
tm kill-server 2>/dev/null
svc_stop

echo "test_service_ctrl_c: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
