#!/usr/bin/env bash
# Live sessions hold a lease, and a sealed segment is never lost:
#   recover_leaves_live_session_alone     'recover' while a recording is live
#                                         skips it; the recording ends cleanly
#   second_record_of_case_or_room_refused two sessions of a case (or a room)
#                                         at once: the second is refused,
#                                         naming the first
#   ledger_locked_over_busy_timeout       another process holds the ledger's
#                                         write lock for 35 s (past SQLite's
#                                         30 s busy timeout): the recording
#                                         goes on, every segment is logged
#                                         afterwards in order, verify passes
# usage: test_lease.sh TELLONCE_BINARY
set -u
trap "" PIPE # a write to a recorder that is gone fails, and says so, without ending the test
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-lease.XXXXXX")
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
session_ended() { # session_ended SESSION: 1 if a session-end entry of it is logged
    ledger "SELECT count(*) FROM entries WHERE kind IN (23, 24) AND CAST(body AS TEXT) LIKE '%session=$1%'"
}
# The segments of SESSION, in ledger order: indices 0..n-1 contiguous on the
# session clock; prints "ok N" or what is wrong.
segments_in_order() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21 AND
            CAST(body AS TEXT) LIKE '%session=$1%' ORDER BY seq" >segs.txt
    python3 - segs.txt <<'PY'
import sys
segs, cur = [], {}
for line in open(sys.argv[1]).read().splitlines():
    k, _, v = line.partition("=")
    if k == "bytes" and cur:
        segs.append(cur)
        cur = {}
    cur[k] = v
if cur:
    segs.append(cur)
bad = ["entry %d has index %s" % (i, s.get("index")) for i, s in enumerate(segs)
       if s.get("index") != str(i)]
bad += ["segment %s ends at %s, the next starts at %s" % (a["index"], a["end_ms"], b["start_ms"])
        for a, b in zip(segs, segs[1:]) if a["end_ms"] != b["start_ms"]]
print("ok %d" % len(segs) if not bad else "; ".join(bad))
PY
}

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-L-0001" --as "Officer" --passphrase-file officer.pass >/dev/null || bad "case open 1"
"$tlo" case open "2026-L-0002" --as "Officer" --passphrase-file officer.pass >/dev/null || bad "case open 2"

# start_live CASE: a live recording of CASE fed from the fifo ctl on fd 3;
# sets pid and sess once its first segment is logged.
start_live() {
    local before
    before=$(sessions_started)
    rm -f ctl && mkfifo ctl
    "$tlo" record "$1" --as "Officer" --passphrase-file officer.pass <ctl >live.out 2>live.err &
    pid=$!
    pids+=("$pid")
    exec 3>ctl
    wait_for 120 "the live session to start" '[ "$(sessions_started)" -gt "$before" ]' "$pid" &&
        sess=$(newest_session) &&
        wait_for 120 "the first segment of the live session" '[ "$(media_logged "$sess")" -gt 0 ]' "$pid"
}
# stop_live: 'q', then the recording's exit code in rc.
stop_live() {
    echo q >&3
    wait "$pid"; rc=$?
    exec 3>&-
}

# 1. recover_leaves_live_session_alone
if start_live "2026-L-0001"; then
    expect 0 "recover_leaves_live_session_alone: recover while live" -- \
        "$tlo" recover --as "Officer" --passphrase-file officer.pass
    contains "$out" "$sess" "recover_leaves_live_session_alone: recover names the live session"
    contains "$out" "left alone" "recover_leaves_live_session_alone: recover says it is left alone"
    [ "$(session_ended "$sess")" -eq 0 ] && ok ||
        bad "recover_leaves_live_session_alone: recover closed the live session $sess"
    # The lease file: 0600 in a 0700 folder, no case number, no name.
    lock=$(ls vault/locks/case-*.lock 2>/dev/null | head -1)
    if [ -n "$lock" ]; then
        [ "$(stat -c %a "$lock")" = 600 ] && [ "$(stat -c %a vault/locks)" = 700 ] && ok ||
            bad "lease modes: $(stat -c '%a %n' vault/locks "$lock")"
        ! grep -qF "2026-L" "$lock" vault/locks/* && ok || bad "a lease file names the case number"
        contains "$(cat "$lock")" "session $sess" "the case lease names the live session"
    else
        bad "recover_leaves_live_session_alone: no lease file in vault/locks"
    fi
    # The recording goes on: another segment after the recover.
    m0=$(media_logged "$sess")
    wait_for 120 "a segment after the recover" '[ "$(media_logged "$sess")" -gt "$m0" ]' "$pid"
fi
stop_live
[ "$rc" -eq 0 ] && ok || bad "recover_leaves_live_session_alone: record exit $rc: $(cat live.err)"
contains "$(tail -5 live.err)$(cat live.out)" "segments" "the recording ended with its summary"
expect 0 "recover_leaves_live_session_alone: verify after the recording" -- "$tlo" verify
expect 0 "recover after the recording ended" -- "$tlo" recover --as "Officer" --passphrase-file officer.pass
contains "$out" "nothing to recover" "recover after the recording ended: nothing to do"

# 2. second_record_of_case_or_room_refused: the same case in another room,
# then another case in the same room, while the first records.
cat > room2.ini <<'EOF'
[room]
name=second room
[camera 1]
source=test:smpte
width=320
height=180
[microphone 1]
source=tone
EOF
if start_live "2026-L-0001"; then
    first=$sess
    n0=$(sessions_started)
    expect 3 "second_record_of_case_or_room_refused: the same case again" -- "$tlo" record \
        "2026-L-0001" --as "Officer" --passphrase-file officer.pass --duration 2 --no-live \
        --room room2.ini
    contains "$err" "is being recorded or recovered right now" "the refusal says the case is being recorded"
    contains "$err" "session $first" "the refusal names the live session"
    contains "$err" "since=" "the refusal says since when"
    expect 3 "second_record_of_case_or_room_refused: the same room, another case" -- "$tlo" record \
        "2026-L-0002" --as "Officer" --passphrase-file officer.pass --duration 2 --no-live
    contains "$err" "the room \"simulated\" is recording" "the refusal names the room"
    contains "$err" "session $first" "the room refusal names the live session"
    [ "$(sessions_started)" -eq "$n0" ] && ok ||
        bad "second_record_of_case_or_room_refused: a refused record logged a session-start"
    # Another case in another room is fine meanwhile.
    expect 0 "another case in another room while recording" -- "$tlo" record "2026-L-0002" \
        --as "Officer" --passphrase-file officer.pass --duration 2 --no-live --room room2.ini
fi
stop_live
[ "$rc" -eq 0 ] && ok || bad "second_record_of_case_or_room_refused: first record exit $rc: $(cat live.err)"
expect 0 "second_record_of_case_or_room_refused: verify" -- "$tlo" verify
# The lease dies with its process: after kill -9, the case records again.
if start_live "2026-L-0001"; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    exec 3>&-
    expect 0 "record again after kill -9 (the kernel dropped the lease)" -- "$tlo" record \
        "2026-L-0001" --as "Officer" --passphrase-file officer.pass --duration 2 --no-live
    expect 0 "recover after kill -9" -- "$tlo" recover --as "Officer" --passphrase-file officer.pass
    contains "$out" "closed as recovered" "recover closes the killed session"
    expect 0 "verify after kill -9 and recover" -- "$tlo" verify
fi

# 3. ledger_locked_over_busy_timeout: once the first segment is logged, a
# helper takes the ledger's write lock and keeps it 35 s (SQLite's busy
# timeout in the recorder is 30 s): the scenario, not a wait of the test.
if start_live "2026-L-0001"; then
    python3 - "$TELLONCE_VAULT/ledger.db" "$work/locked" <<'PY' &
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=60)
db.execute("BEGIN EXCLUSIVE")
db.execute("SELECT count(*) FROM entries").fetchone()
open(sys.argv[2], "w").write("locked\n")
time.sleep(35)
db.execute("ROLLBACK")
open(sys.argv[2], "a").write("released\n")
PY
    holder=$!
    pids+=("$holder")
    wait_for 60 "the helper to hold the ledger" '[ -s locked ]' "$pid"
    m0=$(media_logged "$sess")
    wait_for 120 "the recorder to say the ledger refused an entry" \
        'grep -q "the ledger refused an entry" live.err' "$pid"
    wait "$holder"
    # After the lock is gone, the waiting segments are logged and new ones follow.
    wait_for 120 "the ledger to take entries again" 'grep -q "takes entries again" live.err' "$pid"
    m1=$(media_logged "$sess")
    wait_for 120 "a segment after the backlog" '[ "$(media_logged "$sess")" -gt "$m1" ]' "$pid"
fi
stop_live
[ "$rc" -eq 0 ] && ok || bad "ledger_locked_over_busy_timeout: record exit $rc: $(cat live.err)"
res=$(segments_in_order "$sess")
case "$res" in
ok*) ok ;;
*) bad "ledger_locked_over_busy_timeout: segments: $res" ;;
esac
n=${res#ok }
[ "${n:-0}" -ge 9 ] 2>/dev/null && ok ||
    bad "ledger_locked_over_busy_timeout: only $n segments of 4 s for more than 35 s of recording"
[ "$(session_ended "$sess")" -eq 1 ] && ok || bad "ledger_locked_over_busy_timeout: session not ended"
expect 0 "ledger_locked_over_busy_timeout: verify" -- "$tlo" verify

echo "cli_lease: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
