#!/usr/bin/env bash
# Issue 10, section 4: the child's case stays out of the ledger. The case
# number police use is only in the sealed case record (the ledger has a keyed
# hash of it, which needs the custodian); only an administrator, interviewer
# or prosecutor sees numbers in 'case list' and 'log', and that is logged;
# every file tellonce makes is 0600; the child's details never come from
# argv; case numbers and names refuse invisible characters.
# usage: test_casenum.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-casenum.XXXXXX")
trap 'rm -rf "$work"' EXIT
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
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' is in: $1"; else ok; fi; }
q() { sqlite3 "${2:-vault}/ledger.db" "$1"; }
# in_ledger TEXT: how many entries have TEXT in their body.
in_ledger() { q "SELECT count(*) FROM entries WHERE instr(CAST(body AS TEXT), '$1') > 0" "${2:-vault}"; }
mode() { stat -c %a "$1"; }

printf 'admin secret\n' > admin.pass
printf 'officer secret\n' > officer.pass
printf 'prosecutor secret\n' > pros.pass
printf 'medic secret\n' > medic.pass
number="2026-刑-0042"
other="SZ-2026-7"

"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer:officer" "Per Prosecutor:prosecutor:pros" \
    "Mia Medic:medical:medic"; do
    IFS=: read -r name role pass <<<"$who"
    "$tlo" user add "$name" --role "$role" --as "Anna Admin" --passphrase-file admin.pass \
        --new-passphrase-file "$pass.pass" >/dev/null || bad "user add $name"
done
as_ivan=(--as "Ivan Interviewer" --passphrase-file officer.pass)

# --- child_name_refused_in_argv: /proc/PID/cmdline is readable by every user.
n0=$(q "SELECT count(*) FROM entries")
expect 2 "child_name_refused_in_argv" -- "$tlo" case open "$number" "${as_ivan[@]}" \
    --child-name "Lily Testchild"
contains "$err" "--child-file" "child_name_refused_in_argv: the message says what to do"
expect 2 "child_birthdate_refused_in_argv" -- "$tlo" case open "$number" "${as_ivan[@]}" \
    --child-birthdate 2017-05-01
[ "$(q "SELECT count(*) FROM entries")" = "$n0" ] && ok ||
    bad "child_name_refused_in_argv: a refused case open logged something"

# --- hidden_characters_refused: U+202E (right-to-left override), U+2066, U+200B.
for cp in '\u202e' '\u2066' '\u200b' '\u200f'; do
    sneaky=$(printf "2026-${cp}K-1")
    expect 2 "hidden_characters_refused in the number ($cp)" -- "$tlo" case open "$sneaky" "${as_ivan[@]}"
    contains "$err" "invisible character U+" "hidden_characters_refused: the message names it"
done
printf 'child_name=Li\u200bly\n' > hidden.child
expect 2 "hidden_characters_refused in the child's name" -- "$tlo" case open "$other" \
    "${as_ivan[@]}" --child-file hidden.child
contains "$err" "U+200B" "hidden_characters_refused: the child's name"
[ "$(q "SELECT count(*) FROM entries")" = "$n0" ] && ok ||
    bad "hidden_characters_refused: a refused case open logged something"

# --- the child's details from a file
printf 'child_name=Lily Testchild\nchild_birthdate=2017-05-01\n' > lily.child
chmod 600 lily.child
expect 0 "case open with --child-file" -- "$tlo" case open "$number" "${as_ivan[@]}" \
    --title "first interview" --child-file lily.child
case_id=$(q "SELECT hex(case_id) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1" | tr A-F a-f)
expect 0 "case show: the child's name from the file" -- "$tlo" case show "$number" \
    --as "Anna Admin" --passphrase-file admin.pass
contains "$out" "Lily Testchild" "case show after --child-file"
contains "$out" "2017-05-01" "case show after --child-file: the birth date"
printf 'child_name=A\nnickname=B\n' > bad.child
expect 2 "a child file with an unknown line" -- "$tlo" case open "$other" "${as_ivan[@]}" \
    --child-file bad.child
contains "$err" "bad.child, line 2" "the child file's error names the file and line"

# --- case_number_not_in_ledger: no entry body holds the number (case-open,
# case-view, access and export entries alike); the case-open entry has the
# keyed hash, which is not a plain hash of the number (guessable).
[ "$(in_ledger "$number")" = 0 ] && ok || bad "case_number_not_in_ledger: $(in_ledger "$number") entries hold it"
body=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 10")
lacks "$body" "case_number=" "case_number_not_in_ledger: case-open body"
mac=$(sed -n 's/^case_number_mac=//p' <<<"$body")
[ ${#mac} = 64 ] && ok || bad "case_number_not_in_ledger: no case_number_mac in: $body"
for plain in "$(printf %s "$number" | sha256sum | cut -c1-64)" \
    "$(printf %s "$number" | b2sum -l 256 | cut -c1-64)"; do
    [ "$mac" != "$plain" ] && ok || bad "case_number_not_in_ledger: the mac is an unkeyed hash"
done

# --- case_lookup_needs_the_custodian: a copy of the vault without
# custodian.secret (an auditor's) cannot find the case by its number, only
# by its internal id.
cp -a vault audit && rm audit/custodian.secret
expect 1 "case_lookup_needs_the_custodian" -- "$tlo" case show "$number" --vault audit \
    --as "Anna Admin" --passphrase-file admin.pass
contains "$err" "internal id" "case_lookup_needs_the_custodian: the message says what to do"
expect 0 "log --case ID without the custodian" -- "$tlo" log --vault audit --case "$case_id"
contains "$out" "case-open" "log --case ID"

# --- numbers_shown_only_to_roles_and_logged
expect 0 "case list, nobody named" -- "$tlo" case list
lacks "$out" "$number" "numbers_shown_only_to_roles_and_logged: case list without --as"
contains "$out" "$case_id" "case list names the case by internal id"
expect 0 "case list --json, nobody named" -- "$tlo" case list --json
lacks "$out" "$number" "numbers_shown_only_to_roles_and_logged: case list --json"
expect 0 "log, nobody named" -- "$tlo" log
lacks "$out" "$number" "numbers_shown_only_to_roles_and_logged: log without --as"
expect 0 "log --json, nobody named" -- "$tlo" log --json
lacks "$out" "$number" "numbers_shown_only_to_roles_and_logged: log --json"
views0=$(q "SELECT count(*) FROM entries WHERE kind = 11")
expect 0 "case list --as a prosecutor" -- "$tlo" case list --as "Per Prosecutor" \
    --passphrase-file pros.pass
contains "$out" "$number" "numbers_shown_only_to_roles_and_logged: case list --as prosecutor"
views1=$(q "SELECT count(*) FROM entries WHERE kind = 11")
[ "$views1" = $((views0 + 1)) ] && ok || bad "numbers_shown_only_to_roles_and_logged: case list logged $((views1 - views0)) views"
v=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 11 ORDER BY seq DESC LIMIT 1")
contains "$v" "fields=case_number" "the case-view entry says the number was shown"
contains "$v" "result=shown" "the case-view entry: shown"
# numbers_view_sealed_by_checkpoint: the case-view entries are covered by a
# checkpoint before the numbers are shown (every verb that logs ends sealed).
newest_cp=$(ls vault/checkpoints | sort | tail -1)
[ "$((10#${newest_cp%.checkpoint}))" = "$(q "SELECT count(*) FROM entries")" ] && ok ||
    bad "numbers_view_sealed_by_checkpoint: newest checkpoint $newest_cp, $(q "SELECT count(*) FROM entries") entries"
expect 0 "log --as an interviewer" -- "$tlo" log "${as_ivan[@]}" --json
contains "$out" "\"case_number\":\"$number\"" "numbers_shown_only_to_roles_and_logged: log --as"
[ "$(q "SELECT count(*) FROM entries WHERE kind = 11")" = $((views1 + 1)) ] && ok ||
    bad "numbers_shown_only_to_roles_and_logged: log --as was not logged"
expect 0 "log --as an interviewer, as a table" -- "$tlo" log "${as_ivan[@]}"
contains "$out" "case-open       $number" "log --as: the number whole in the CASE column"
expect 1 "case list --as medical staff" -- "$tlo" case list --as "Mia Medic" \
    --passphrase-file medic.pass
lacks "$out" "$number" "numbers_shown_only_to_roles_and_logged: medical staff"
[ "$(in_ledger "$number")" = 0 ] && ok || bad "case_number_not_in_ledger after the views"

# --- files_are_private (0600): the ledger and its companions, checkpoints,
# proofs and checkpoints written with -o; the folders 0700.
"$tlo" checkpoint -o day1.checkpoint >/dev/null || bad "checkpoint -o"
open_seq=$(q "SELECT min(seq) FROM entries WHERE kind = 10")
"$tlo" prove --entry "$open_seq" -o entry1.proof >/dev/null || bad "prove -o"
[ "$(mode vault/ledger.db)" = 600 ] && ok || bad "files_are_private: ledger.db is $(mode vault/ledger.db)"
for f in vault/ledger.db-wal vault/ledger.db-shm vault/checkpoints/*.checkpoint vault/cases/*.key \
    vault/objects/*.tlo vault/people/*.id day1.checkpoint entry1.proof; do
    [ -e "$f" ] || continue
    [ "$(mode "$f")" = 600 ] && ok || bad "files_are_private: $f is $(mode "$f")"
done
for d in vault vault/checkpoints vault/cases vault/objects vault/people; do
    [ "$(mode "$d")" = 700 ] && ok || bad "files_are_private: $d is $(mode "$d")"
done
# SQLite's companions while a reader holds the ledger open.
( sqlite3 vault/ledger.db "BEGIN; SELECT count(*) FROM entries;" >/dev/null ) &
"$tlo" log >/dev/null 2>&1
wait
for f in vault/ledger.db-wal vault/ledger.db-shm; do
    [ -e "$f" ] || continue
    [ "$(mode "$f")" = 600 ] && ok || bad "files_are_private: $f is $(mode "$f")"
done
# The proof carries the case-open entry: its body, base64, without the number.
python3 - entry1.proof "$number" <<'PY' && ok || bad "case_number_not_in_proof"
import base64, sys
text = open(sys.argv[1], "rb").read()
number = sys.argv[2].encode()
found = number in text
for line in text.split(b"\n"):
    try:
        found |= number in base64.b64decode(line.split(b" ")[-1], validate=True)
    except Exception:
        pass
sys.exit(1 if found else 0)
PY

echo "casenum: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
