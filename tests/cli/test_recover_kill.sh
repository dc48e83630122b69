#!/usr/bin/env bash
# recover killed at each of its steps (TELLONCE_TEST_KILL_AT, test-only), then
# run again: the second run completes the work, nothing is logged twice, no
# file is left in the vault's private folder and every file in objects/ is
# one the ledger names. One crash of a live recording makes the vault every
# step starts from.
# usage: test_recover_kill.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-recover-kill.XXXXXX")
trap 'rm -rf "$work"' EXIT
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

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "张警官" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-刑-0042" --as "张警官" --passphrase-file officer.pass >/dev/null || bad "case open"

# The bytes of the objects no entry names (the unfinished segment).
unnamed_bytes() {
    local total=0 f id
    for f in vault/objects/*.tlo; do
        id=$(basename "$f" .tlo)
        [ -n "$(ledger "SELECT seq FROM entries WHERE CAST(body AS TEXT) LIKE '%$id%' LIMIT 1")" ] ||
            total=$((total + $(stat -c %s "$f")))
    done
    echo "$total"
}
"$tlo" record "2026-刑-0042" --as "张警官" --passphrase-file officer.pass >live.out 2>&1 </dev/null &
pid=$!
wait_for 120 "the session to start" '[ "$(sessions_started)" -gt 0 ]' "$pid" &&
    sess=$(newest_session) &&
    wait_for 120 "the first segment" '[ "$(media_logged "$sess")" -gt 0 ]' "$pid" &&
    wait_for 120 "200 kB of an unfinished segment" '[ "$(unnamed_bytes)" -gt 200000 ]' "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null
cp -a vault crashed

# The ledger and objects/ agree after a recovery that was killed and run again.
check() { # check STEP
    "$tlo" log --json >log.json || { bad "$1: log --json"; return; }
    python3 - "$1" vault <<'PY' && ok || bad "$1: the ledger and objects/ after the second recover"
import json, os, sys
step, vault = sys.argv[1], sys.argv[2]
d = json.load(open("log.json"))
segs = [e["body"] for e in d if e["kind"] == "segment"]
rec = [e["body"] for e in d if e["kind"] == "session-recovered"]
unfinished = {u for r in rec for u in r["unfinished"].split(",") if u}
named = {s["object"] for s in segs} | {e["body"]["info_object"] for e in d if e["kind"] == "case-open"}
problems = []
if len(rec) != 1:
    problems.append(f"{len(rec)} session-recovered entries")
froms = [s["recovered_from"] for s in segs if "recovered_from" in s]
if len(froms) != 1 or len(set(froms)) != len(froms):
    problems.append(f"recovered parts logged: {froms}")
if not unfinished or not set(froms) <= unfinished:
    problems.append(f"unfinished {unfinished}, parts from {froms}")
if rec and int(rec[0]["recovered_segments"]) != len(froms):
    problems.append(f"recovered_segments={rec[0]['recovered_segments']}, {len(froms)} logged")
for f in os.listdir(os.path.join(vault, "objects")):
    if f[:-4] not in named and f[:-4] not in unfinished:
        problems.append(f"objects/{f} is named by no entry")
for s in segs:
    if not os.path.exists(os.path.join(vault, "objects", s["object"] + ".tlo")):
        problems.append(f"objects/{s['object']}.tlo is missing")
tmp = os.path.join(vault, "tmp")
if os.path.isdir(tmp) and os.listdir(tmp):
    problems.append(f"left in tmp/: {os.listdir(tmp)}")
print(f"{step}: {len(segs)} segments, parts from {froms}, {problems or 'ok'}")
sys.exit(1 if problems else 0)
PY
}

for step in recover-access recover-sealed recover-logged recover-published recover-closed; do
    rm -rf vault && cp -a crashed vault
    TELLONCE_TEST_KILL_AT=$step expect 137 "recover killed at $step" -- \
        "$tlo" recover --as "张警官" --passphrase-file officer.pass
    if [ "$step" = recover-logged ]; then
        # The part is logged but still in tmp/: verify says where it is.
        expect 1 "verify between the kill at $step and the second recover" -- "$tlo" verify
        grep -q "is missing.*it is in tmp/.*tellonce recover" out.txt && ok ||
            bad "verify names the part waiting in tmp/: $out"
    fi
    expect 0 "recover again after a kill at $step" -- "$tlo" recover --as "张警官" \
        --passphrase-file officer.pass
    expect 0 "verify after a kill at $step and a second recover" -- "$tlo" verify
    grep -q "note: objects/.*an unfinished segment, kept as found by the recovery in entry" out.txt &&
        ok || bad "$step: verify names the unfinished segment recover kept: $out"
    check "$step"
    # A third run finds nothing to do.
    expect 0 "recover a third time after $step" -- "$tlo" recover --as "张警官" \
        --passphrase-file officer.pass
    grep -q "nothing to recover" out.txt && ok || bad "$step: a third recover did something: $out"
done

echo "cli_recover_kill: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
