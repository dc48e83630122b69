#!/usr/bin/env bash
# Issue 13, the log as a person reads it: every line names the person who
# acted (not the custodian who signed for them, never a key), the times a
# person reads are local with their offset, case numbers only for the roles
# that may see them (the child's details never), the filters --person,
# --since, --kind, --case, and --csv; and tables padded by display width,
# so a Chinese name does not shift the columns after it.
# usage: test_log_person.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-logperson.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" TZ=Asia/Shanghai
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' is in: $1"; else ok; fi; }
q() { sqlite3 vault/ledger.db "$1"; }
# check NAME PYTHON: python on out.txt ('text', 'lines'); exit 0 passes.
check() {
    if python3 -c "import csv, io, json, re, sys, unicodedata
text = open('out.txt', encoding='utf-8').read()
lines = text.splitlines()
$2" >py.txt 2>&1; then ok; else bad "$1: $(cat py.txt)"; fi
}

P=(--passphrase-file p.pass)
echo 'a long secret here' >p.pass
number="2026-刑-0042"
"$tlo" init --admin "Anna Admin" "${P[@]}" >/dev/null || bad "init"
for u in "王芳:prosecutor" "Ivan Interviewer:interviewer" "Aud Auditor:auditor" "王医生:medical"; do
    "$tlo" user add "${u%%:*}" --role "${u##*:}" --as "Anna Admin" "${P[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add ${u%%:*}"
done
printf 'child_name=Lily Testchild\nchild_birthdate=2017-05-01\n' >lily.child
chmod 600 lily.child
"$tlo" case open "$number" --as "Ivan Interviewer" "${P[@]}" --child-file lily.child >/dev/null ||
    bad "case open"
case_id=$(q "SELECT hex(case_id) FROM entries WHERE kind = 10" | tr A-F a-f)
"$tlo" record "$number" --as "Ivan Interviewer" "${P[@]}" --duration 3 --no-live >/dev/null 2>&1 ||
    bad "record"
s1=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" | sed -n 's/^session=//p')
purpose='trial, "prep"'
"$tlo" grant "$number" --to "王芳" --session "$s1" --from 0 --until 00:00:02 --expires 2099-12-31 \
    --purpose "$purpose" --actions view,export --as "Anna Admin" "${P[@]}" >/dev/null || bad "grant"
"$tlo" play "$number" --session "$s1" --from 0 --to 1 --as "王芳" "${P[@]}" --headless \
    >/dev/null 2>&1 || bad "play"
"$tlo" play "$number" --session "$s1" --from 0 --to 9 --as "王芳" "${P[@]}" --headless \
    >/dev/null 2>&1 && bad "play out of the grant was allowed"
# (a range outside one's grant is refused before anything is signed: the
# custodian's refusal, access-denied, is of someone with no grant at all)
"$tlo" play "$number" --session "$s1" --from 0 --to 1 --as "王医生" "${P[@]}" --headless \
    >/dev/null 2>&1 && bad "play without a grant was allowed"
"$tlo" export "$number" --session "$s1" --from 0 --to 1 -o clip.mp4 --as "王芳" "${P[@]}" \
    >/dev/null 2>&1 || bad "export"
"$tlo" note add "$number" --kind exam --text "x" --as "王医生" "${P[@]}" >/dev/null 2>&1 ||
    bad "note add"
"$tlo" grant "$number" --to "王芳" --note 1 --expires 2099-12-31 --purpose "read" \
    --as "Anna Admin" "${P[@]}" >/dev/null || bad "note grant"
"$tlo" note show "$number" 1 --as "王芳" "${P[@]}" >/dev/null 2>&1 || bad "note show"
"$tlo" sample register "$number" --label S-1 --kind swab --seal-number A-1 --as "王医生" \
    "${P[@]}" >/dev/null || bad "sample register"
"$tlo" sample transfer "$number" S-1 --to "王芳" --as "王医生" "${P[@]}" >/dev/null ||
    bad "sample transfer"
"$tlo" sample receive "$number" S-1 --as "王芳" "${P[@]}" >/dev/null || bad "sample receive"
pk_wang=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2" |
    sed -n '/^name=王芳$/,$p' | sed -n 's/^pk=//p' | head -1)
[ ${#pk_wang} = 64 ] || pk_wang=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2 AND
    instr(CAST(body AS TEXT), 'name=王芳') > 0" | sed -n 's/^pk=//p')
[ ${#pk_wang} = 64 ] && ok || bad "王芳's key from the user-add entry: '$pk_wang'"
total=$(q "SELECT count(*) FROM entries")

# --- person_named_on_every_line: each kind the custodian signs for a person
# (access-granted, access-denied, export, note-access, case-view) says who
# acted, by name and role, and no line shows a person's key.
expect 0 "log" -- "$tlo" log
for kind in access-granted access-denied export note-access; do
    line=$(grep -E "  ${kind} +" out.txt | head -1)
    who="王芳 (prosecutor)"
    [ "$kind" = access-denied ] && who="王医生 (medical)"
    contains "$line" "$who" "person_named_on_every_line: $kind"
done
check "person_named_on_every_line: WHO is the custodian only for its own entries" '
for l in lines[1:]:
    if "the custodian " in l[:80] and " checkpoint " not in l:
        sys.exit("the custodian as WHO: " + l)'
lacks "$out" "$pk_wang" "person_named_on_every_line: a person's key"
lacks "$out" "key ${pk_wang:0:8}" "person_named_on_every_line: a person's key id"
lacks "$out" "Lily Testchild" "child_details_never_in_log"
lacks "$out" "2017-05-01" "child_details_never_in_log: the birth date"
# --- expiry_as_local_date: the grant ends at the end of 2099-12-31 where the
# vault is (h-time: the system's zone here, Shanghai); the log says it with
# the offset (it said "2099-12-31 23:59:59 UTC").
contains "$out" "until 2099-12-31 23:59:59 +08:00" "expiry_as_local_date"
lacks "$out" " UTC" "expiry_as_local_date: no UTC time"
# log_time_local_with_offset: the TIME column in the shared format.
check "log_time_local_with_offset" '
assert re.match(r"^ +\d+  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00  ", lines[1]), lines[1]'

# --- case_number_to_those_allowed: an interviewer and a prosecutor see it,
# an auditor sees the internal id (and the log, not a refusal).
for who in "Ivan Interviewer" "王芳"; do
    expect 0 "case_number_to_those_allowed: log --as $who" -- "$tlo" log --as "$who" "${P[@]}"
    contains "$out" "  $number  " "case_number_to_those_allowed: $who sees the number"
    lacks "$out" "Lily Testchild" "child_details_never_in_log --as $who"
done
expect 0 "case_number_to_those_allowed: log --as an auditor" -- "$tlo" log --as "Aud Auditor" "${P[@]}"
lacks "$out" "$number" "case_number_to_those_allowed: the auditor"
contains "$out" "  ${case_id:0:8}  " "case_number_to_those_allowed: the auditor sees the id"
contains "$err" "internal id" "case_number_to_those_allowed: the auditor is told why"

# --- filter_person: only the entries 王芳 is behind, all of them.
want=$("$tlo" log --json | python3 -c 'import json,sys
print(sum(1 for e in json.load(sys.stdin) if e["person"] == "王芳"))')
expect 0 "filter_person" -- "$tlo" log --person "王芳"
check "filter_person: only and all of 王芳's entries" "
rows = lines[1:]
assert len(rows) == $want and $want >= 6, (len(rows), $want)
assert all('  王芳 (prosecutor)' in r for r in rows), rows"
expect 2 "filter_person_unknown" -- "$tlo" log --person "Nobody Here"
contains "$err" "Nobody Here" "filter_person_unknown: names the person"
contains "$err" "user list" "filter_person_unknown: says what to do"

# --- filter_kind: by name, by number, several; unknown lists the kinds.
expect 0 "filter_kind" -- "$tlo" log --kind access-granted --kind 42 --kind sample-receive
check "filter_kind: the kinds asked for" '
kinds = sorted(re.split(r"  +", r.strip())[3] for r in lines[1:])
assert kinds == ["access-granted", "access-granted", "export", "sample-receive"], kinds'
expect 0 "filter_kind_with_equals" -- "$tlo" log --kind=export --person=王芳
[ "$(($(wc -l <out.txt) - 1))" = 1 ] && ok || bad "filter_kind_with_equals: $out"
expect 2 "filter_kind_unknown" -- "$tlo" log --kind acess-granted
contains "$err" "acess-granted" "filter_kind_unknown: names it"
contains "$err" "access-granted" "filter_kind_unknown: lists the kinds"
contains "$err" "sample-transfer" "filter_kind_unknown: lists every kind"

# --- filter_since: a date in the future shows nothing; a time between entries
# only those from it on.
expect 0 "filter_since_future" -- "$tlo" log --since 2099-01-01
[ "$(wc -l <out.txt)" = 1 ] && ok || bad "filter_since_future: $out"
grant_ms=$(q "SELECT time_ms FROM entries WHERE kind = 30 ORDER BY seq LIMIT 1")
since=$(date -d "@$(((grant_ms + 999) / 1000))" '+%Y-%m-%d %H:%M:%S')
want=$(q "SELECT count(*) FROM entries WHERE time_ms >= ((($grant_ms + 999) / 1000) * 1000)")
expect 0 "filter_since" -- "$tlo" log --since "$since"
[ "$(($(wc -l <out.txt) - 1))" = "$want" ] && ok || bad "filter_since $since: $want wanted: $out"
total=$(q "SELECT count(*) FROM entries")
expect 0 "filter_since_date" -- "$tlo" log --since "$(date '+%Y-%m-%d')"
[ "$(($(wc -l <out.txt) - 1))" = "$total" ] && ok || bad "filter_since_date: $out"
n0=$(q "SELECT count(*) FROM entries")
expect 2 "filter_since_bad" -- "$tlo" log --since 2026-13-01 --as "王芳" "${P[@]}"
contains "$err" "2026-13-01" "filter_since_bad: names it"
[ "$(q "SELECT count(*) FROM entries")" = "$n0" ] && ok ||
    bad "filter_since_bad: a refused log --as logged case views"

# --- filter_case: by the number or the internal id.
want=$(q "SELECT count(*) FROM entries WHERE case_id IS NOT NULL AND hex(case_id) = upper('$case_id')")
for c in "$number" "$case_id"; do
    expect 0 "filter_case $c" -- "$tlo" log --case "$c"
    [ "$(($(wc -l <out.txt) - 1))" = "$want" ] && ok || bad "filter_case $c: $want wanted: $out"
done

# --- count_on_terminal: how many matched, on stderr, only on a terminal.
expect 0 "count_not_in_a_pipe" -- "$tlo" log --kind export
[ -z "$err" ] && ok || bad "count_not_in_a_pipe: stderr: $err"
total=$(q "SELECT count(*) FROM entries")
script -qec "'$tlo' log --kind export >/dev/null" /dev/null >tty.txt 2>&1 </dev/null
contains "$(cat tty.txt)" "1 of $total entries" "count_on_terminal"

# --- csv: RFC 4180, read back by python's csv module.
expect 0 "csv" -- "$tlo" log --csv --as "王芳" "${P[@]}"
total=$(q "SELECT count(*) FROM entries")
check "csv: header, one row per entry, the person, the purpose" "
rows = list(csv.reader(io.StringIO(text, newline='')))
assert rows[0] == ['seq', 'time', 'kind', 'person', 'role', 'case', 'session', 'summary'], rows[0]
assert len(rows) == 1 + $total, (len(rows), $total)
assert all(len(r) == 8 for r in rows), [r for r in rows if len(r) != 8]
acc = [r for r in rows if r[2] == 'access-granted']
assert acc and acc[0][3] == '王芳' and acc[0][4] == 'prosecutor', acc
assert acc[0][5] == '$number' and acc[0][6] == '1', acc
assert 'purpose $purpose' in acc[0][7], acc[0][7]
assert all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00', r[1]) for r in rows[1:]), rows[1]
assert [int(r[0]) for r in rows[1:]] == list(range($total))
assert 'Lily Testchild' not in text"
grep -q $'\r$' out.txt && ok || bad "csv: RFC 4180 lines end in CRLF"

# --- csv_and_since_in_the_vault_zone: with the vault's zone set to Tokyo and
# the system's UTC, --csv says +09:00 and --since reads a Tokyo time.
expect 0 "settings set timezone" -- "$tlo" settings set timezone Asia/Tokyo --as "Anna Admin" "${P[@]}"
expect 0 "csv in the vault's zone" -- env TZ=UTC "$tlo" log --csv --kind grant
check "csv_and_since_in_the_vault_zone: csv" '
rows = list(csv.reader(io.StringIO(text, newline="")))
assert rows[1][1].endswith("+09:00"), rows[1]'
grant_s=$(((grant_ms + 999) / 1000))
since=$(TZ=Asia/Tokyo date -d "@$grant_s" '+%Y-%m-%d %H:%M:%S')
want=$(q "SELECT count(*) FROM entries WHERE time_ms >= $grant_s * 1000")
expect 0 "since in the vault's zone" -- env TZ=UTC "$tlo" log --since "$since"
[ "$(($(wc -l <out.txt) - 1))" = "$want" ] && ok ||
    bad "csv_and_since_in_the_vault_zone: --since $since (Tokyo): $want wanted: $out"

# --- tables padded by display width: the column after a Chinese name starts
# at the same display column as after a Latin one.
width_check() { # NAME [START]: the display column of the field after 王芳, Anna Admin (...) is the same
    check "$1" "start = ${2:-0}"'
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)
cols = {}
for l in lines:
    for name in ("王芳", "Anna Admin", "S-1", "'"$number"'"):
        i = l.find(name)
        if i < 0 or (start and i):
            continue
        j = l.index(")", i) + 1 if start else i + len(name)
        while j < len(l) and l[j] == " ":
            j += 1
        cols.setdefault(name, width(l[:j]))
print(cols)
assert len(set(cols.values())) == 1 and len(cols) >= 2, cols'
}
expect 0 "user list" -- "$tlo" user list
width_check "padded_by_width: user list"
expect 0 "log --person" -- "$tlo" log --kind access-granted --kind user-add
sed -i -n '/  \(王芳\|Anna Admin\) (/{s/^ *[0-9]*  [^+]*+[0-9][0-9]:[0-9][0-9]  //;p}' out.txt
width_check "padded_by_width: log" 1
expect 0 "case list --as" -- "$tlo" case list --as "王芳" "${P[@]}"
sed -n 2p out.txt >case.txt
expect 0 "case list" -- "$tlo" case list
sed -n 2p out.txt >>case.txt && cp case.txt out.txt
check "padded_by_width: case list" '
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
ids = [width(l[:l.find("'"$case_id"'")]) for l in lines]
assert len(set(ids)) == 1, (ids, lines)'

echo "log_person: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
