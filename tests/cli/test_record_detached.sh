#!/usr/bin/env bash
# A recording outlives whoever watches it, and 'tellonce stop' ends it:
#   record_survives_reader_gone    the reader of its stderr and stdout exits
#                                  after the first line (and stdin is at EOF
#                                  from the start): the recording goes on to
#                                  its --duration, ends "ended", verify passes
#   record_survives_hangup         SIGHUP (its terminal closed): the same
#   stop_ends_live_recording       'tellonce stop CASE --as' the interviewer
#                                  who started it: the recording logs its
#                                  end and exits 0; verify passes
#   stop_refuses_other_interviewer another interviewer is refused, the
#                                  recording goes on; an administrator may
#   stop_nothing_live              nothing live: stop says so (exit 2)
#   stop_never_signals_forged_pid  a lease file naming another process's pid
#                                  (its lock held by a third one): stop
#                                  signals nobody
# usage: test_record_detached.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-detached.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err; stdout: $(head -c 600 out.txt)"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# end_status SESSION: the status of its session-end entry ("" while none).
end_status() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
            CAST(body AS TEXT) LIKE '%session=$1%'" | sed -n 's/^status=//p'
}
# The recorder runs with SIGPIPE and SIGHUP at their defaults, whatever
# this shell inherited (a runner may ignore them): what a terminal's shell
# gives it. (A command, not a function: $! is then the recorder itself.)
rec=(env --default-signal=PIPE,HUP "$tlo" record)

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
echo 'other secret' > other.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" user add "Other" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file other.pass >/dev/null || bad "user add other"
"$tlo" case open "2026-D-0001" --as "Officer" --passphrase-file officer.pass >/dev/null || bad "case open"

# started PID: waits for the newest session's first segment; sets sess.
started() {
    wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$1" &&
        sess=$(newest_session) &&
        wait_for 120 "the first segment" '[ "$(media_logged "$sess")" -gt 0 ]' "$1"
}

# 1. record_survives_reader_gone: stderr and stdout into a pipe whose reader
# takes one line and exits; stdin at EOF.
before=$(sessions_started)
rm -f errpipe && mkfifo errpipe
(head -n 1 <errpipe >first.txt) &
reader=$!
"${rec[@]}" "2026-D-0001" --as "Officer" --passphrase-file officer.pass --duration 8 \
    </dev/null >errpipe 2>&1 &
pid=$!
pids+=("$pid")
wait "$reader"
started "$pid"
wait_for 120 "record_survives_reader_gone: the session's end" '[ -n "$(end_status "$sess")" ]' "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "record_survives_reader_gone: record exit $rc after its reader left"
[ "$(end_status "$sess")" = ended ] && ok ||
    bad "record_survives_reader_gone: session-end status '$(end_status "$sess")'"
[ "$(media_logged "$sess")" -ge 7000 ] && ok ||
    bad "record_survives_reader_gone: only $(media_logged "$sess") ms recorded of 8 s"
expect 0 "record_survives_reader_gone: verify" -- "$tlo" verify

# 2. record_survives_hangup
before=$(sessions_started)
"${rec[@]}" "2026-D-0001" --as "Officer" --passphrase-file officer.pass --duration 8 \
    </dev/null >hup.out 2>hup.err &
pid=$!
pids+=("$pid")
started "$pid"
kill -HUP "$pid"
wait_for 120 "record_survives_hangup: the session's end" '[ -n "$(end_status "$sess")" ]' "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 0 ] && ok || bad "record_survives_hangup: record exit $rc after SIGHUP: $(cat hup.err)"
[ "$(end_status "$sess")" = ended ] && ok ||
    bad "record_survives_hangup: session-end status '$(end_status "$sess")'"
[ "$(media_logged "$sess")" -ge 7000 ] && ok ||
    bad "record_survives_hangup: only $(media_logged "$sess") ms recorded of 8 s"

# 3-5. stop: a live recording with no --duration, its stdin held open.
expect 2 "stop_nothing_live" -- "$tlo" stop --as "Officer" --passphrase-file officer.pass
contains "$err" "no recording of any case is live" "stop_nothing_live: says so"
before=$(sessions_started)
rm -f ctl && mkfifo ctl
"${rec[@]}" "2026-D-0001" --as "Officer" --passphrase-file officer.pass <ctl >stop.out 2>stop.err &
pid=$!
pids+=("$pid")
exec 3>ctl
started "$pid"
expect 1 "stop_refuses_other_interviewer" -- "$tlo" stop "2026-D-0001" --as "Other" --passphrase-file other.pass
contains "$err" "started by another interviewer" "stop_refuses_other_interviewer: says why"
# stop_refusal_logs_no_case_number: the refusal is logged under the case's
# internal id, and the number police use is nowhere in the ledger.
[ "$(ledger "SELECT count(*) FROM entries WHERE kind = 44 AND case_id IS NOT NULL")" -ge 1 ] && ok ||
    bad "stop_refusal_logs_no_case_number: the refusal names no case"
[ "$(ledger "SELECT count(*) FROM entries WHERE instr(CAST(body AS TEXT), '2026-D-0001') > 0")" = 0 ] && ok ||
    bad "stop_refusal_logs_no_case_number: the case number is in the ledger"
contains "$err" "$sess" "stop_refuses_other_interviewer: names the session"
kill -0 "$pid" 2>/dev/null && ok || bad "stop_refuses_other_interviewer: the recording ended"
[ -z "$(end_status "$sess")" ] && ok || bad "stop_refuses_other_interviewer: the session ended"
n0=$(ledger "SELECT count(*) FROM entries")
expect 0 "stop_ends_live_recording" -- "$tlo" stop "2026-D-0001" --as "Officer" --passphrase-file officer.pass
contains "$out" "has ended" "stop_ends_live_recording: says the session ended"
wait "$pid"; rc=$?
exec 3>&-
[ "$rc" -eq 0 ] && ok || bad "stop_ends_live_recording: record exit $rc: $(cat stop.err)"
[ "$(end_status "$sess")" = ended ] && ok ||
    bad "stop_ends_live_recording: session-end status '$(end_status "$sess")'"
# stop logs nothing itself: the recording's own entries only (segment,
# session-end, checkpoint).
n1=$(ledger "SELECT count(*) FROM entries WHERE seq >= $n0 AND kind NOT IN (21, 23, 70)")
[ "$n1" -eq 0 ] && ok || bad "stop_ends_live_recording: stop logged $n1 entries"
expect 0 "stop_ends_live_recording: verify" -- "$tlo" verify

# An administrator may stop anyone's recording.
before=$(sessions_started)
rm -f ctl && mkfifo ctl
"${rec[@]}" "2026-D-0001" --as "Officer" --passphrase-file officer.pass <ctl >stop2.out 2>stop2.err &
pid=$!
pids+=("$pid")
exec 3>ctl
started "$pid"
expect 0 "stop by an administrator" -- "$tlo" stop --session "$sess" --as "Anna Admin" --passphrase-file admin.pass
wait "$pid"; rc=$?
exec 3>&-
[ "$rc" -eq 0 ] && ok || bad "stop by an administrator: record exit $rc"
[ "$(end_status "$sess")" = ended ] && ok || bad "stop by an administrator: session not ended"

# 6. stop_never_signals_forged_pid: a session left open by kill -9, and a
# lease file that names it and a victim's pid while a third process holds
# the lock.
before=$(sessions_started)
"${rec[@]}" "2026-D-0001" --as "Officer" --passphrase-file officer.pass </dev/null >k.out 2>k.err &
pid=$!
pids+=("$pid")
started "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null
case_hex=$(ledger "SELECT hex(case_id) FROM entries WHERE kind = 20 ORDER BY seq DESC LIMIT 1" | tr A-F a-f)
# a bystander process (it waits for nothing: it only has to exist until killed)
sleep infinity &
victim=$!
pids+=("$victim")
lease="vault/locks/case-$case_hex.lock"
printf 'holder=record session %s\npid=%s\nsince=2026-01-01T00:00:00Z\n' "$sess" "$victim" >"$lease"
(exec 9>>"$lease" && flock 9 && exec sleep infinity) & # holds the lock until killed
holder=$!
pids+=("$holder")
wait_for 60 "the forged lease to be locked" "grep -q FLOCK /proc/locks && ! flock -n '$lease' true"
expect 2 "stop_never_signals_forged_pid" -- "$tlo" stop --as "Anna Admin" --passphrase-file admin.pass
kill -0 "$victim" 2>/dev/null && ok || bad "stop_never_signals_forged_pid: the victim was signalled"
kill -0 "$holder" 2>/dev/null && ok || bad "stop_never_signals_forged_pid: the lock holder was signalled"
kill "$holder" "$victim" 2>/dev/null

echo "test_record_detached: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
