#!/usr/bin/env bash
# Every --json output against its schema in docs/json.md (issue 13): a
# scratch vault with people of every kind, a short session of the simulated
# room, a stalled one to recover; each documented command is run for real
# and its output validated with python3-jsonschema (tests/cli/json_check.py),
# which also fails when a documented command has no run here, or a command
# whose --help offers --json has no schema.
# usage: test_json.sh TELLONCE_BINARY SOURCE_ROOT
set -u
tlo=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-json.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" LC_ALL=C.UTF-8
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET LANGUAGE
failed=0
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
mkdir out
# run NAME CMD...: CMD's standard output into out/NAME.N.json (N counts the
# runs of NAME), which must exit 0.
run() {
    local name=$1 n=1
    shift
    while [ -e "out/$name.$n.json" ]; do n=$((n + 1)); done
    "$@" >"out/$name.$n.json" 2>err.txt </dev/null || bad "$name: exit $?: $(cat err.txt)"
}
pass=(--passphrase-file p.pass)
echo 'a long secret' >p.pass
printf 'child_name=王小明\nchild_birthdate=2016-05-04\n' >child.txt
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "李检察官:prosecutor" "Aud Auditor:auditor" \
    "王医生:medical"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
iv=(--as "Ivan Interviewer" "${pass[@]}")
"$tlo" case open DEMO-0001 "${iv[@]}" --child-file child.txt >/dev/null || bad "case open"
"$tlo" case open ST-1 "${iv[@]}" --child-file child.txt >/dev/null || bad "case open ST-1"

run "record" "$tlo" record DEMO-0001 "${iv[@]}" --duration 3 --no-live --json
run "mark" "$tlo" mark DEMO-0001 --at 00:00:01.500 "break" "${iv[@]}" --json
run "case show" "$tlo" case show DEMO-0001 "${iv[@]}" --json
run "case list" "$tlo" case list --json
run "case list" "$tlo" case list "${iv[@]}" --json
run "session list" "$tlo" session list DEMO-0001 "${iv[@]}" --json
"$tlo" grant DEMO-0001 --for "李检察官" --session 1 --to 00:00:02 --expires 2099-12-31 \
    --purpose "charging decision" --actions view,export --as "Anna Admin" "${pass[@]}" \
    >/dev/null || bad "grant"
run "grant list" "$tlo" grant list --json
run "play --headless" "$tlo" play DEMO-0001 --session 1 --as "李检察官" "${pass[@]}" --headless --json
run "export" "$tlo" export DEMO-0001 --session 1 --as "李检察官" "${pass[@]}" -o clip.mp4 --json
run "export" "$tlo" export DEMO-0001 --session 1 --as "李检察官" "${pass[@]}" -o wm.mp4 \
    --watermark --json
key=$("$tlo" checkpoint --verifier-key) || bad "checkpoint --verifier-key"
run "verify-export" "$tlo" verify-export clip.mp4 --verifier-key "$key" --json
run "verify-export" "$tlo" verify-export wm.mp4 --vault "$TELLONCE_VAULT" --json
run "checkpoint" "$tlo" checkpoint -o old.checkpoint --json
run "checkpoint --verifier-key" "$tlo" checkpoint --verifier-key --json
run "prove" "$tlo" prove --entry 3 --json
run "prove" "$tlo" prove --from old.checkpoint --json
"$tlo" note add DEMO-0001 --kind exam --text "no injuries seen" --as "王医生" "${pass[@]}" \
    >/dev/null || bad "note add"
run "note list" "$tlo" note list DEMO-0001 --json
"$tlo" sample register DEMO-0001 --label S-001 --kind swab --seal-number 7 --as "王医生" \
    "${pass[@]}" >/dev/null || bad "sample register"
run "sample list" "$tlo" sample list DEMO-0001 --json
run "sample show" "$tlo" sample show DEMO-0001 S-001 --json
run "user list" "$tlo" user list --json
run "settings show" "$tlo" settings show --json
"$tlo" settings set timezone Asia/Shanghai --as "Anna Admin" "${pass[@]}" >/dev/null ||
    bad "settings set"
run "settings show" "$tlo" settings show --json
run "roles" "$tlo" roles --json
run "devices" "$tlo" devices --json
run "log" "$tlo" log --json
run "log" "$tlo" log --case DEMO-0001 --as "李检察官" "${pass[@]}" --json
run "verify" "$tlo" verify --json
head -c 100000 /dev/urandom >blob.bin
printf '%064d\n' 7 >case.key
run "object seal" "$tlo" object seal --key-file case.key --json blob.bin blob.sealed
run "object inspect" "$tlo" object inspect --json blob.sealed
"$tlo" report DEMO-0001 -o report.html --json out/report.1.json --as "李检察官" "${pass[@]}" \
    >/dev/null 2>err.txt || bad "report: $(cat err.txt)"
# recover: a session whose end stalled (TELLONCE_TEST_STALL_AT_END), and
# then nothing to do.
TELLONCE_TEST_STALL_AT_END=1 "$tlo" record ST-1 "${iv[@]}" --duration 2 --no-live --json \
    </dev/null >stalled.out 2>stalled.err &
rec=$!
wait_for 300 "the stalled recording to give up" '! kill -0 "$rec" 2>/dev/null' || kill -9 "$rec"
wait "$rec" && bad "the stalled record exited 0"
[ -s stalled.out ] && bad "a record that failed printed a summary: $(cat stalled.out)"
run "recover" "$tlo" recover "${iv[@]}" --json
run "recover" "$tlo" recover "${iv[@]}" --json

python3 "$src/tests/cli/json_check.py" "$src/docs/json.md" out "$tlo" || bad "json_check"
# the recover run that had something to do did it, as its JSON says
python3 -c 'import json,sys
d = json.load(open("out/recover.1.json"))
assert [s["step"] for s in d["steps"]][-1] == "closed", d
assert json.load(open("out/recover.2.json")) == {"steps": []}' || bad "recover steps"
if [ "$failed" -ne 0 ]; then
    echo "cli_json: $failed failure(s)" >&2
    exit 1
fi
echo "cli_json: all passed"
