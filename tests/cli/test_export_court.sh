#!/usr/bin/env bash
# An export as a court clerk receives it, progress for long work on a
# terminal, and verify/recover after a crash (issue 13):
#   export_all_cameras_default      every video track of the MP4 is default/enabled
#   export_sha256_file              CLIP.mp4.sha256 that 'sha256sum -c' reads in its folder
#   export_manifest_explains        the manifest says how to get the key and check it
#   export_refuses_non_mp4          -o clip.mov refused before anything is logged
#   export_entry_without_file_name  the ledger's export entry holds no file name
#   progress_on_terminal            export/verify show percent, elapsed, remaining on a tty
#   progress_not_when_piped         nothing of it when stderr is not a terminal
#   verify_after_crash_says_recover verify names the open session and 'tellonce recover'
#   recover_refused_nothing_to_do   an auditor's recover is refused and logged, even
#                                   with no open session
# usage: test_export_court.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-export-court.XXXXXX")
trap 'kill -9 "${rec_pid:-}" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_KILL_AT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
count() { ledger "SELECT count(*) FROM entries WHERE kind = $1"; }

pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor" "Aud Auditor:auditor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-9" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 8 s" -- "$tlo" record "2026-K-9" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 8 --no-live
s1=$(newest_session)
expect 0 "grant an export of the session" -- "$tlo" grant "2026-K-9" --to "Per Prosecutor" \
    --session "$s1" --from 0 --until 00:00:07 --expires 2099-12-31 \
    --purpose "trial" --actions export --as "Anna Admin" "${pass[@]}"

# ---- the export, into a folder, named after a child ----
clip="王小明 interview.mp4"
mkdir out
expect 0 "export" -- "$tlo" export "2026-K-9" --session "$s1" --from 1 --to 6 -o "out/$clip" \
    --as "Per Prosecutor" "${pass[@]}"
[ -f "out/$clip" ] && [ -f "out/$clip.manifest" ] && ok || bad "the clip and its manifest: $(ls out)"

# export_all_cameras_default: two cameras, each flagged default (enabled),
# so an ordinary player shows both.
disp=$(ffprobe -v error -select_streams v -show_entries stream=index:stream_disposition=default \
    -of csv=p=0 "out/$clip" | tr '\n' ' ')
[ "$disp" = "0,1 1,1 " ] && ok || bad "export_all_cameras_default: video streams index,default: $disp"

# export_sha256_file: "HEX  NAME\n", the base name, checked where it sits.
sum="out/$clip.sha256"
if [ -f "$sum" ]; then
    want="$(cd out && sha256sum "$clip")"
    [ "$(cat "$sum")" = "$want" ] && [ "$(tail -c 1 "$sum" | od -An -c | tr -d ' ')" = '\n' ] && ok ||
        bad "export_sha256_file: holds '$(cat "$sum")', expected '$want'"
    [ "$(stat -c %a "$sum")" = 600 ] && ok || bad "export_sha256_file: mode $(stat -c %a "$sum")"
    (cd out && sha256sum -c "$clip.sha256" >../sum.txt 2>&1) && ok ||
        bad "export_sha256_file: sha256sum -c fails in the folder: $(cat sum.txt)"
    contains "$out" "$clip.sha256" "export_sha256_file: the summary names it"
else
    bad "export_sha256_file: no $sum: $(ls out)"
fi

# export_manifest_explains: plain lines on getting the key and checking.
m="out/$clip.manifest"
for line in "tellonce checkpoint --verifier-key" "tellonce verify-export" "OK:" "sha256sum -c"; do
    grep -qF -- "$line" "$m" && ok || bad "export_manifest_explains: '$line' is not in the manifest"
done
key=$("$tlo" checkpoint --verifier-key)
expect 0 "verify-export of the export with the help lines" -- "$tlo" verify-export "out/$clip" \
    --verifier-key "$key"

# export_entry_without_file_name: no entry names the clip; the entry keeps
# the clip's SHA-256 and size.
[ "$(ledger "SELECT count(*) FROM entries WHERE instr(CAST(body AS TEXT), '王小明') > 0")" = 0 ] &&
    ok || bad "export_entry_without_file_name: the ledger names the clip's file"
body=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 42 ORDER BY seq DESC LIMIT 1")
grep -q '^file=' <<<"$body" && bad "export_entry_without_file_name: file= in: $body" || ok
contains "$body" "clip_sha256=$(cut -d' ' -f1 "$sum" 2>/dev/null)" "export_entry_without_file_name: the digest"
contains "$body" "bytes=$(stat -c %s "out/$clip")" "export_entry_without_file_name: the size"

# progress_not_when_piped: that export's stderr was a file.
grep -qE '%|remaining' err.txt && bad "progress_not_when_piped: export stderr: $(cat err.txt)" || ok

# sha256sum -c fails once a byte of the clip changed.
python3 -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)' \
    "out/$clip"
(cd out && sha256sum -c "$clip.sha256" >/dev/null 2>&1) && bad "export_sha256_file: a flipped byte passes" || ok

# export_refuses_non_mp4: refused before any access is asked for.
a0=$(ledger "SELECT count(*) FROM entries")
expect 2 "export_refuses_non_mp4" -- "$tlo" export "2026-K-9" --session "$s1" --from 1 --to 6 \
    -o clip.mov --as "Per Prosecutor" "${pass[@]}"
contains "$err" "clip.mov" "export_refuses_non_mp4: names the file"
contains "$err" ".mp4" "export_refuses_non_mp4: says what it must be"
[ "$(ledger "SELECT count(*) FROM entries")" = "$a0" ] && ok || bad "export_refuses_non_mp4: something was logged"
[ ! -e clip.mov ] && [ ! -e clip.mov.manifest ] && ok || bad "export_refuses_non_mp4: a file was written"

# ---- progress_on_terminal: a re-encode under a terminal (script) ----
# on_tty FILE COMMAND...: runs COMMAND with a terminal for stdin/stdout/stderr,
# what it shows into FILE; the pid in tty_pid.
on_tty() {
    local f=$1; shift
    script -qfec "$(printf '%q ' "$@")" "$f" </dev/null >/dev/null 2>&1 &
    tty_pid=$!
}
# shown FILE: what the terminal showed after the command's own output, a
# line per \r or \n.
shown() { tr '\r' '\n' 2>/dev/null <"$1"; }
on_tty tty-export.txt "$tlo" export "2026-K-9" --session "$s1" --from 0 --to 7 -o prog.mp4 \
    --watermark --as "Per Prosecutor" "${pass[@]}"
wait_for 300 "a progress line of the export" \
    "shown tty-export.txt | grep -E '[0-9]+%' | grep -q remaining" "$tty_pid" && ok
wait "$tty_pid"; rc=$?
[ $rc -eq 0 ] && ok || bad "progress_on_terminal: the export under a terminal: exit $rc: $(shown tty-export.txt | tail -n 5)"
disp=$(ffprobe -v error -select_streams v -show_entries stream=index:stream_disposition=default \
    -of csv=p=0 prog.mp4 | tr '\n' ' ')
[ "$disp" = "0,1 1,1 " ] && ok || bad "export_all_cameras_default: the re-encoded clip's video streams: $disp"
# The line is cleared at the end: the summary does not start on it.
python3 - tty-export.txt <<'PY' && ok || bad "progress_on_terminal: the progress line is not cleared before the summary"
import sys
t = open(sys.argv[1], "rb").read()
last = t.rfind(b"remaining")
summary = t.find(b"Exported ")
sys.exit(0 if 0 <= last < summary and b"\x1b[K" in t[last:summary] else 1)
PY

on_tty tty-verify.txt "$tlo" verify
wait "$tty_pid"
shown tty-verify.txt | grep -E '[0-9]+%' | grep -q remaining && ok ||
    bad "progress_on_terminal: verify shows no progress: $(shown tty-verify.txt | head -n 5)"
on_tty tty-report.txt "$tlo" report "2026-K-9" -o report.html
wait "$tty_pid"
shown tty-report.txt | grep -E '[0-9]+%' | grep -q remaining && [ -s report.html ] && ok ||
    bad "progress_on_terminal: report shows no progress: $(shown tty-report.txt | head -n 5)"
expect 0 "verify, piped" -- "$tlo" verify
grep -qE '%|remaining' err.txt out.txt && bad "progress_not_when_piped: verify: $(cat err.txt)" || ok

# ---- verify_after_crash_says_recover ----
"$tlo" record "2026-K-9" --as "Ivan Interviewer" "${pass[@]}" >live.out 2>&1 </dev/null &
rec_pid=$!
n0=$(count 20)
wait_for 120 "the session to start" '[ "$(count 20)" -gt "$n0" ]' "$rec_pid" &&
    s2=$(newest_session) &&
    wait_for 120 "the first segment" '[ "$(media_logged "$s2")" -gt 0 ]' "$rec_pid"
kill -9 "$rec_pid"
wait "$rec_pid" 2>/dev/null
case_id=$(ledger "SELECT lower(hex(case_id)) FROM entries WHERE kind = 10")
expect 1 "verify after the crash" -- "$tlo" verify
contains "$out$err" "session $s2" "verify_after_crash_says_recover: names the session"
contains "$out$err" "case $case_id" "verify_after_crash_says_recover: names the case"
contains "$out$err" "tellonce recover --as NAME" "verify_after_crash_says_recover: what to run"

expect 0 "recover as the interviewer" -- "$tlo" recover --as "Ivan Interviewer" "${pass[@]}"
expect 0 "verify after the recovery" -- "$tlo" verify

# ---- recover_refused_nothing_to_do ----
r0=$(count 44)
expect 1 "recover_refused_nothing_to_do: an auditor" -- "$tlo" recover --as "Aud Auditor" "${pass[@]}"
grep -q "nothing to recover" <<<"$out$err" &&
    bad "recover_refused_nothing_to_do: says there is nothing to recover: $out$err" || ok
[ "$(count 44)" -eq $((r0 + 1)) ] && ok || bad "recover_refused_nothing_to_do: no action-refused entry"
contains "$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 44 ORDER BY seq DESC LIMIT 1")" \
    "action=recover" "recover_refused_nothing_to_do: the entry names recover"

echo "export_court: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
