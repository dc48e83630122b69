#!/usr/bin/env bash
# Recording inside the custodian service (issue 11):
#   client_killed_recording_goes_on    the client of a recording is killed
#                                      with kill -9 at 3 s of media: the
#                                      recording goes on to its --duration
#                                      (8 s), ends "ended", verify passes
#   second_client_attaches_and_marks   in tmux: a second client attaches
#                                      ('record --attach'), sees the status
#                                      line, adds a marker ('m', text,
#                                      Enter) that is logged; Ctrl-D there
#                                      detaches and the recording goes on;
#                                      another interviewer may not attach;
#                                      'q' 'y' from a client ends it
#   stop_through_service               'tellonce stop' as its interviewer:
#                                      the service ends the recording child
#   service_sigterm_ends_recording     SIGTERM to the service ends a live
#                                      recording cleanly (session-end
#                                      status=ended) before the service exits
#   service_killed_recovered_at_start  the service is killed with kill -9
#                                      mid-recording: at its next start it
#                                      recovers the session (session-recovered
#                                      signed by the custodian), verify
#                                      passes, and the next client is told
# Run as root (it makes OS users); skips (77) otherwise, unless CI=true.
# usage: test_service_record.sh TELLONCE_BINARY TESTS_DIR
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
svc_setup off other
cd "$SVC_DIR" || exit 1
export TELLONCE_VAULT=$SVC_VAULT # for lib.sh's ledger queries, read as root
TMUX_SOCK=$SVC_DIR/tmux.sock
# a pane whose client has ended stays, for capture-pane (no sleep after it)
printf 'set-option -g remain-on-exit on\n' >"$SVC_DIR/tmux.conf"
tm() { tmux -S "$TMUX_SOCK" -f "$SVC_DIR/tmux.conf" "$@"; }
extra_cleanup() {
    tm kill-server 2>/dev/null
    for p in ${kill_later:-}; do kill -9 "$p" 2>/dev/null; done
    svc_cleanup
}
trap extra_cleanup EXIT
printf 'officer-passphrase-1\n' >off.pass
printf 'other-passphrase-1\n' >other.pass
chmod 644 off.pass other.pass
# The people, set up by the vault's owner before the service starts (the
# service itself never lets an administrator set a passphrase: enrolment
# codes, tested in service_core).
as_service user add "Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file off.pass --vault "$SVC_VAULT" </dev/null >/dev/null 2>&1 || bad "user add Officer"
as_service user add "Other" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file other.pass --vault "$SVC_VAULT" </dev/null >/dev/null 2>&1 || bad "user add Other"
svc_start
tlo_as off case open "2026-S-0001" --as "Officer" --passphrase-file off.pass \
    </dev/null >/dev/null 2>&1 || bad "case open"

# end_status SESSION: the status of its session-end entry ("" while none).
end_status() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
            CAST(body AS TEXT) LIKE '%session=$1%'" | sed -n 's/^status=//p'
}
recovered() { # recovered SESSION: its session-recovered entries
    ledger "SELECT count(*) FROM entries WHERE kind = 24 AND CAST(body AS TEXT) LIKE '%session=$1%'"
}
# A recording client as the officer's OS user; setpriv and env exec, so $!
# is the tellonce client itself.
record_client() {
    setpriv --reuid="$(svc_user off)" --regid="$(id -g "$(svc_user off)")" --init-groups \
        --reset-env -- env TELLONCE_TEST_FAST_KDF=1 "$SVC_BIN" --socket "$SVC_SOCKET" \
        record "2026-S-0001" --as "Officer" --passphrase-file off.pass "$@"
}
# started PID: waits for a new session (sets sess) and its first segment.
started() {
    wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$1" &&
        sess=$(newest_session) &&
        wait_for 120 "the first segment of $sess" '[ "$(media_logged "$sess")" -gt 0 ]' "$1"
}
case_busy() { ! flock -n "$SVC_VAULT/locks/case-$1.lock" true 2>/dev/null; }
case_hex() {
    ledger "SELECT lower(hex(case_id)) FROM entries WHERE kind = 20 ORDER BY seq DESC LIMIT 1"
}

# --- 1. client_killed_recording_goes_on ---
before=$(sessions_started)
record_client --duration 8 </dev/null >k1.out 2>k1.err &
client=$!
kill_later="$client"
wait_for 120 "client_killed: the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$client" &&
    sess=$(newest_session)
wait_for 120 "client_killed: 3 s of media" '[ "$(media_logged "$sess")" -ge 3000 ]' "$client"
kill -9 "$client"
wait "$client" 2>/dev/null
wait_for 120 "client_killed: the session's end after kill -9 of its client" \
    '[ -n "$(end_status "$sess")" ]' "$SVC_PID"
[ "$(end_status "$sess")" = ended ] && ok ||
    bad "client_killed_recording_goes_on: session-end status '$(end_status "$sess")'"
[ "$(media_logged "$sess")" -ge 7000 ] && ok ||
    bad "client_killed_recording_goes_on: $(media_logged "$sess") ms recorded of 8 s"
out=$(tlo_as off verify 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "client_killed_recording_goes_on: verify: $out"

# --- 2. second_client_attaches_and_marks (tmux: real terminals) ---
before=$(sessions_started)
tm new-session -d -s rec -x 200 -y 40 \
    "setpriv --reuid=$(svc_user off) --regid=$(id -g "$(svc_user off)") --init-groups --reset-env -- env TELLONCE_TEST_FAST_KDF=1 TERM=xterm $SVC_BIN --socket $SVC_SOCKET record 2026-S-0001 --as Officer --passphrase-file $SVC_DIR/off.pass 2>$SVC_DIR/t1.err; echo exit=\$? >$SVC_DIR/t1.rc"
started "$SVC_PID"
pane() { tm capture-pane -p -t "$1"; }
attach_cmd() { # attach_cmd WHO NAME PASSFILE RCFILE
    echo "setpriv --reuid=$(svc_user "$1") --regid=$(id -g "$(svc_user "$1")") --init-groups --reset-env -- env TELLONCE_TEST_FAST_KDF=1 TERM=xterm $SVC_BIN --socket $SVC_SOCKET record --attach $sess --as $2 --passphrase-file $SVC_DIR/$3; echo exit=\$? >$SVC_DIR/$4"
}
# Another interviewer may not attach.
out=$(tlo_as other record --attach "$sess" --as "Other" --passphrase-file other.pass 2>&1 </dev/null)
rc=$?
[ "$rc" -ne 0 ] && ok || bad "second_client_attaches: another interviewer attached"
contains "$out" "started it" "second_client_attaches: the refusal says who may attach"
tm new-session -d -s att -x 200 -y 40 "$(attach_cmd off Officer off.pass t2.rc)"
wait_for 120 "second_client_attaches: the status line in the attached client" \
    'pane att | grep -q "REC 00:"' "$SVC_PID"
m0=$(markers_logged "$sess")
tm send-keys -t att m
wait_for 60 "second_client_attaches: the marker prompt" 'pane att | grep -q "marker at"' "$SVC_PID"
tm send-keys -t att -l "said at the attached terminal"
tm send-keys -t att Enter
wait_for 60 "second_client_attaches: the marker logged" \
    '[ "$(markers_logged "$sess")" -gt "$m0" ]' "$SVC_PID"
text=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 22 AND
               CAST(body AS TEXT) LIKE '%session=$sess%' ORDER BY seq DESC LIMIT 1")
contains "$text" "text=said at the attached terminal" "second_client_attaches: the marker's text"
wait_for 60 "second_client_attaches: both clients say the marker was logged" \
    'pane rec | grep -q "said at the attached terminal" && pane att | grep -q "logged as entry"' "$SVC_PID"
# Ctrl-D detaches the attached client; the recording goes on.
tm send-keys -t att C-d
wait_for 60 "second_client_attaches: Ctrl-D detaches" '[ -s "$SVC_DIR/t2.rc" ]' "$SVC_PID"
contains "$(pane att)" "record --attach" "second_client_attaches: the detach says how to reattach"
m1=$(media_logged "$sess")
wait_for 60 "second_client_attaches: media after the detach" '[ "$(media_logged "$sess")" -gt "$m1" ]' "$SVC_PID"
[ -z "$(end_status "$sess")" ] && ok || bad "second_client_attaches: Ctrl-D ended the session"
# Ctrl-D in the recording client detaches it too.
tm send-keys -t rec C-d
wait_for 60 "second_client_attaches: Ctrl-D detaches the recording client" '[ -s "$SVC_DIR/t1.rc" ]' "$SVC_PID"
[ -z "$(end_status "$sess")" ] && ok || bad "second_client_attaches: Ctrl-D in the recording client ended it"
# Reattach, and end it with q y.
rm -f "$SVC_DIR/t3.rc"
tm new-session -d -s att3 -x 200 -y 40 "$(attach_cmd off Officer off.pass t3.rc)"
wait_for 120 "second_client_attaches: reattached" 'pane att3 | grep -q "REC 00:"' "$SVC_PID"
tm send-keys -t att3 q
wait_for 60 "second_client_attaches: the question after q" 'pane att3 | grep -q "End the session now"' "$SVC_PID"
tm send-keys -t att3 y
wait_for 120 "second_client_attaches: q y ends the session" '[ -n "$(end_status "$sess")" ]' "$SVC_PID"
[ "$(end_status "$sess")" = ended ] && ok || bad "second_client_attaches: status '$(end_status "$sess")'"
wait_for 60 "second_client_attaches: the attached client ends" '[ -s "$SVC_DIR/t3.rc" ]' "$SVC_PID"
grep -q "exit=0" "$SVC_DIR/t3.rc" && ok || bad "second_client_attaches: attached client $(cat "$SVC_DIR/t3.rc")"
tm kill-server 2>/dev/null

# --- 3. stop_through_service ---
before=$(sessions_started)
record_client </dev/null >s.out 2>s.err &
client=$!
kill_later="$client"
started "$client"
out=$(tlo_as other stop --as "Other" --passphrase-file other.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "stop_through_service: another interviewer stopped it"
[ -z "$(end_status "$sess")" ] && ok || bad "stop_through_service: refused stop ended it"
out=$(tlo_as off stop "2026-S-0001" --as "Officer" --passphrase-file off.pass 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "stop_through_service: stop: $out"
wait "$client"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "stop_through_service: the recording client exit $rc: $(cat s.err)"
[ "$(end_status "$sess")" = ended ] && ok || bad "stop_through_service: status '$(end_status "$sess")'"

# --- 4. service_sigterm_ends_recording ---
before=$(sessions_started)
record_client </dev/null >t.out 2>t.err &
client=$!
kill_later="$client"
started "$client"
svc_stop; rc=$?
[ "$rc" -eq 0 ] && ok || bad "service_sigterm_ends_recording: service exit $rc"
[ "$(end_status "$sess")" = ended ] && ok ||
    bad "service_sigterm_ends_recording: session-end status '$(end_status "$sess")'"
wait "$client" 2>/dev/null
out=$(as_service verify --vault "$SVC_VAULT" 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "service_sigterm_ends_recording: verify: $out"

# --- 5. service_killed_recovered_at_start ---
svc_start
before=$(sessions_started)
record_client </dev/null >r.out 2>r.err &
client=$!
kill_later="$client"
started "$client"
hex=$(case_hex)
kill -9 "$SVC_PID"
wait "$SVC_PID" 2>/dev/null
SVC_PID=
wait "$client" 2>/dev/null
# The recording child dies with the service (PR_SET_PDEATHSIG): its lease goes.
wait_for 60 "service_killed: the recording child gone" '! case_busy "$hex"'
[ -z "$(end_status "$sess")" ] && ok || bad "service_killed: the session ended although killed"
# The killed service's socket stays (the next one replaces it): remove it
# here, so that svc_start waits for the new one, made after the recovery.
rm -f "$SVC_SOCKET"
svc_start
[ "$(recovered "$sess")" -eq 1 ] && ok || bad "service_killed_recovered_at_start: $(recovered "$sess") session-recovered entries"
by=$(ledger "SELECT lower(hex(actor)) FROM entries WHERE kind = 24 AND CAST(body AS TEXT) LIKE '%session=$sess%'")
cust=$(ledger "SELECT lower(hex(actor)) FROM entries WHERE kind = 70 ORDER BY seq DESC LIMIT 1")
[ -n "$by" ] && [ "$by" = "$cust" ] && ok ||
    bad "service_killed_recovered_at_start: session-recovered signed by $by, not the custodian $cust"
contains "$(cat "$SVC_DIR/service.log")" "$sess" "service_killed_recovered_at_start: the service's stderr names the session"
out=$(tlo_as off log 2>&1 >/dev/null </dev/null)
contains "$out" "recovered at the service's start" "service_killed_recovered_at_start: the next client is told"
contains "$out" "$sess" "service_killed_recovered_at_start: the notice names the session"
out=$(tlo_as off verify 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "service_killed_recovered_at_start: verify: $out"
svc_stop

echo "test_service_record: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
