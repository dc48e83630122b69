#!/usr/bin/env bash
# Finding a session and asking for a clip as people do (issue 13): session
# list (table and --json); a session named by its number in the case or by a
# unique prefix of its id (an ambiguous prefix names the candidates); a case
# named by its number (log --case); play and export without a range get the
# granted range; a range outside the grant, or reversed, is refused before
# anything is signed, with no entry; grant's --for NAME, --to as the range's
# end, and the old spellings with their notes.
# usage: test_session_list.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-sessions.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
run() { "$@" >out.txt 2>err.txt </dev/null; rc=$?; out=$(cat out.txt); err=$(cat err.txt); }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
entries() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries"; }
# body_of KIND FIELD: FIELD of the newest entry of KIND.
body_of() {
    sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = $1 ORDER BY seq DESC LIMIT 1" |
        sed -n "s/^$2=//p"
}

pass=(--passphrase-file p.pass)
echo 'a long secret' >p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor" "Aud Auditor:auditor" \
    "Dr Med:medical"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open DEMO-0001 --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
"$tlo" case open DEMO-0002 --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open 2"
for d in 8 3; do
    "$tlo" record DEMO-0001 --as "Ivan Interviewer" "${pass[@]}" --duration $d --no-live \
        >/dev/null 2>&1 || bad "record $d s"
done
sessions=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq" |
    sed -n 's/^session=//p')
s1=$(sed -n 1p <<<"$sessions") s2=$(sed -n 2p <<<"$sessions")
[ ${#s1} -eq 32 ] && [ ${#s2} -eq 32 ] && ok || bad "two sessions: $sessions"

# session_list_table: one row per session, numbered in start order.
run "$tlo" session list DEMO-0001 --as "Aud Auditor" "${pass[@]}"
[ "$rc" = 0 ] && ok || bad "session_list_table: exit $rc: $err"
row1=$(grep -E '^ +1  ' <<<"$out") row2=$(grep -E '^ +2  ' <<<"$out")
contains "$row1" "${s1:0:16}" "session_list_table: row 1 is the first session"
contains "$row2" "${s2:0:16}" "session_list_table: row 2 is the second session"
contains "$row1" "ended" "session_list_table: status"
contains "$row1" "simulated" "session_list_table: room"
grep -qE '^ +1  [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} [+-][0-9]{2}:[0-9]{2}  00:00:0[78] ' <<<"$row1" && ok ||
    bad "session_list_table: start with offset and length: $row1"
# session_list_json: numbers as numbers, the ids, status, segments.
run "$tlo" session list DEMO-0001 --as "Ivan Interviewer" "${pass[@]}" --json
if python3 -c 'import json, sys
d = json.load(open("out.txt"))
s = d["sessions"]
assert [x["session_number"] for x in s] == [1, 2], s
assert [x["session"] for x in s] == sys.argv[1:3], s
assert all(x["status"] == "ended" and x["segments"] >= 1 for x in s), s
assert 7000 <= s[0]["length_ms"] <= 9000 and isinstance(s[0]["start_ms"], int), s
assert s[0]["room"] == "simulated", s' "$s1" "$s2"; then ok; else bad "session_list_json: $out $err"; fi
run "$tlo" session list DEMO-0002 --as "Ivan Interviewer" "${pass[@]}"
contains "$out" "has no session yet" "session_list_empty"

# log_case_number: the README's 'log --case DEMO-0001'.
run "$tlo" log --case DEMO-0001 --json
[ "$rc" = 0 ] && ok || bad "log_case_number: exit $rc: $err"
python3 -c 'import json
d = json.load(open("out.txt"))
ids = {e["case_id"] for e in d}
assert len(ids) == 1 and None not in ids and any(e["kind"] == "session-start" for e in d)' &&
    ok || bad "log_case_number: not the case's entries only: $(head -c 300 out.txt)"
run "$tlo" log --case NO-SUCH-7
[ "$rc" != 0 ] && ok || bad "log_unknown_case_number: exit 0"
contains "$err" "tellonce case list" "log_unknown_case_number: points to case list"
run "$tlo" verify --case DEMO-0001
[ "$rc" = 0 ] && ok || bad "verify_case_number: exit $rc: $err"

# grant_session_by_number, grant_for: session 1, --for NAME, --to as the end.
run "$tlo" grant DEMO-0001 --for "Per Prosecutor" --session 1 --from 00:00:01 --to 00:00:04 \
    --expires 2099-12-31 --purpose "trial" --as "Anna Admin" "${pass[@]}"
[ "$rc" = 0 ] && ok || bad "grant_session_by_number: exit $rc: $err"
[ "$(body_of 30 session)" = "$s1" ] && [ "$(body_of 30 until_ms)" = 4000 ] && ok ||
    bad "grant_session_by_number: grant of $(body_of 30 session) until $(body_of 30 until_ms)"
grep -q "note:" err.txt && bad "grant_for: a note for the new spelling: $err" || ok
# grant_old_spellings: --to NAME and --until, each with its note.
run "$tlo" grant DEMO-0001 --to "Per Prosecutor" --session "${s1:0:6}" --from 00:00:02 \
    --until 00:00:05 --actions export --expires 2099-12-31 --purpose "court copy" \
    --as "Anna Admin" "${pass[@]}"
[ "$rc" = 0 ] && ok || bad "grant_old_spellings: exit $rc: $err"
contains "$err" "--until is now --to" "grant_old_spellings: the --until note"
contains "$err" "use --for NAME" "grant_old_spellings: the --to NAME note"
[ "$(body_of 30 from_ms)-$(body_of 30 until_ms)" = 2000-5000 ] && ok ||
    bad "grant_old_spellings: range $(body_of 30 from_ms)-$(body_of 30 until_ms)"

# sample_transfer_for: a person is --for there too (--to NAME stays).
"$tlo" sample register DEMO-0001 --label S-1 --kind swab --seal-number 7 --as "Dr Med" "${pass[@]}" \
    >/dev/null || bad "sample register"
run "$tlo" sample transfer DEMO-0001 S-1 --for "Per Prosecutor" --as "Dr Med" "${pass[@]}"
[ "$rc" = 0 ] && ok || bad "sample_transfer_for: exit $rc: $err"

# play_default_range: without --from/--to, the granted 00:00:01-00:00:04.
run "$tlo" play DEMO-0001 --session "${s1:0:5}" --as "Per Prosecutor" "${pass[@]}" --headless
[ "$rc" = 0 ] && ok || bad "play_default_range: exit $rc: $err"
[ "$(body_of 40 from_ms)-$(body_of 40 to_ms)-$(body_of 40 session)" = "1000-4000-$s1" ] && ok ||
    bad "play_default_range: access $(body_of 40 from_ms)-$(body_of 40 to_ms) of $(body_of 40 session)"
# export_default_range: the export grant's 00:00:02-00:00:05.
run "$tlo" export DEMO-0001 --session 1 -o clip.mp4 --as "Per Prosecutor" "${pass[@]}"
[ "$rc" = 0 ] && ok || bad "export_default_range: exit $rc: $err"
[ "$(body_of 40 from_ms)-$(body_of 40 to_ms)-$(body_of 40 action)" = "2000-5000-export" ] && ok ||
    bad "export_default_range: access $(body_of 40 from_ms)-$(body_of 40 to_ms) $(body_of 40 action)"

# range_outside_grant_unlogged: a typo names the grant, and logs nothing.
before=$(entries)
run "$tlo" play DEMO-0001 --session 1 --from 00:00:00 --to 00:00:06 --as "Per Prosecutor" \
    "${pass[@]}" --headless
[ "$rc" = 2 ] && ok || bad "range_outside_grant_unlogged: exit $rc: $err"
contains "$err" "00:00:01 to 00:00:04" "range_outside_grant_unlogged: names the granted range"
[ "$(entries)" = "$before" ] && ok || bad "range_outside_grant_unlogged: $(($(entries) - before)) new entries"
run "$tlo" export DEMO-0001 --session 1 --from 00:00:01 -o clip2.mp4 --as "Per Prosecutor" "${pass[@]}"
contains "$err" "00:00:02 to 00:00:05" "range_outside_grant_unlogged: export names its grant"
[ "$(entries)" = "$before" ] && [ ! -e clip2.mp4 ] && ok || bad "range_outside_grant_unlogged: export logged or wrote"
# reversed_range_message: in words and HH:MM:SS, nothing logged.
run "$tlo" play DEMO-0001 --session 1 --from 00:00:04 --to 00:00:02 --as "Per Prosecutor" \
    "${pass[@]}" --headless
[ "$rc" = 2 ] && ok || bad "reversed_range_message: exit $rc"
contains "$err" "the range ends before it starts" "reversed_range_message"
contains "$err" "--from 00:00:04, --to 00:00:02" "reversed_range_message: times as HH:MM:SS"
grep -q " ms" <<<"$err" && bad "reversed_range_message: milliseconds: $err" || ok
[ "$(entries)" = "$before" ] && ok || bad "reversed_range_message: logged"
# A range within the grant still works, its end being the grant's.
run "$tlo" play DEMO-0001 --session 1 --from 00:00:02 --as "Per Prosecutor" "${pass[@]}" --headless
[ "$rc" = 0 ] && [ "$(body_of 40 from_ms)-$(body_of 40 to_ms)" = 2000-4000 ] && ok ||
    bad "play_from_only: exit $rc, access $(body_of 40 from_ms)-$(body_of 40 to_ms): $err"
# No grant at all is not a typo: the custodian refuses, and logs it.
run "$tlo" play DEMO-0001 --session 2 --as "Per Prosecutor" "${pass[@]}" --headless
[ "$rc" = 1 ] && [ "$(($(entries) - before))" -ge 2 ] && ok ||
    bad "play_without_grant_logged: exit $rc, $(($(entries) - before)) new entries: $err"

# session_by_prefix_everywhere: mark takes a prefix; a prefix of no session,
# a number without a case, and a too-short prefix are refused.
run "$tlo" mark DEMO-0001 --session "${s2:0:8}" --at 00:00:01 "a break" --as "Ivan Interviewer" "${pass[@]}"
[ "$rc" = 0 ] && [ "$(body_of 22 session)" = "$s2" ] && ok || bad "session_by_prefix_mark: exit $rc: $err"
run "$tlo" mark DEMO-0001 --session 3 --at 00:00:01 "x" --as "Ivan Interviewer" "${pass[@]}"
contains "$err" "has no session 3" "session_number_unknown"
run "$tlo" mark DEMO-0001 --session abc --at 00:00:01 "x" --as "Ivan Interviewer" "${pass[@]}"
contains "$err" "at least 4 hex digits" "session_prefix_too_short"

# ambiguous_session_prefix: a copy of the vault whose ledger has a third
# session-start row with s1's first 6 digits (forged: the resolver only
# names sessions, the custodian decides on the verified ledger).
cp -a vault vault2
seq2=$(sqlite3 vault2/ledger.db "SELECT seq FROM entries WHERE kind = 20 ORDER BY seq DESC LIMIT 1")
fake="${s1:0:6}ffffffffffffffffffffffffff"
sqlite3 vault2/ledger.db "INSERT INTO entries SELECT (SELECT max(seq) + 1 FROM entries), time_ms, kind,
    case_id, actor, prev, CAST(replace(CAST(body AS TEXT), '$s2', '$fake') AS BLOB), sig, leaf_hash
    FROM entries WHERE seq = $seq2" || bad "forging a session-start row"
TELLONCE_VAULT="$work/vault2" run "$tlo" grant DEMO-0001 --for "Per Prosecutor" --session "${s1:0:6}" \
    --expires 2099-12-31 --purpose "x" --as "Anna Admin" "${pass[@]}"
[ "$rc" = 2 ] && ok || bad "ambiguous_session_prefix: exit $rc"
contains "$err" "matches more than one session" "ambiguous_session_prefix"
contains "$err" "numbers 1, 3" "ambiguous_session_prefix: the candidates' numbers"

echo "test_session_list: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
