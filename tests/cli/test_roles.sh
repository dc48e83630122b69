#!/usr/bin/env bash
# The roles table (docs/roles.md, custody/roles.c): docs/roles.md is what
# 'tellonce roles --markdown' prints; then every row of the table is tried as
# a person of every role. Where the table says "yes" the command works;
# where it says nothing it is refused, and the refusal is logged (an
# action-refused entry naming the action, or the custodian's own refusal
# entry: access-denied for clips, case-view for case records); where it names
# a condition (own recording, own case, with a grant) it works only when
# the condition holds. The notes and samples rows have their own deeper
# tests too (cli_note, cli_sample).
# usage: test_roles.sh TELLONCE_BINARY SOURCE_ROOT
set -u
tlo=$1 src=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-roles.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
run() { "$@" >out.txt 2>err.txt </dev/null; rc=$?; out=$(cat out.txt); err=$(cat err.txt); }
count() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = $1"; }

# 1. docs/roles.md holds exactly the table the code decides with.
"$tlo" roles --markdown >table.md || bad "roles --markdown"
sed -n '/^<!-- roles-table/,/^<!-- end of roles-table/p' "$src/docs/roles.md" | sed '1d;$d' >docs-table.md
if cmp -s table.md docs-table.md; then ok; else
    bad "docs/roles.md's table is not 'tellonce roles --markdown': $(diff docs-table.md table.md | head -5)"
fi
"$tlo" roles --json >roles.json || bad "roles --json"
"$tlo" roles | grep -q "^note add --kind exam  *medical staff$" && ok || bad "roles: the exam row"
# cell COMMAND ROLE: what the table says ("" never, "yes", or a condition).
cell() {
    python3 -c 'import json,sys
t=json.load(open("roles.json"))
print(next(a for a in t["actions"] if a["command"]==sys.argv[1])["roles"].get(sys.argv[2],""))' "$1" "$2"
}
# A few cells a wrong table must not change.
[ "$(cell "play" auditor)" = "" ] && ok || bad "the table lets an auditor play"
[ "$(cell "user add, user revoke, user reissue" admin)" = yes ] && ok || bad "admins enrol"
[ "$(cell "note add --kind exam" prosecutor)" = "" ] && ok || bad "prosecutors add no exam note"

# 2. One person of every role (and a second interviewer).
roles=(admin interviewer prosecutor medical psychologist legal-aid social-worker auditor)
declare -A who=([admin]="Anna Admin" [interviewer]="张警官" [prosecutor]="Per Prosecutor"
    [medical]="Dr Med" [psychologist]="Psy Chologist" [legal-aid]="Lee Gal"
    [social-worker]="Sue Social" [auditor]="Aud Itor")
for r in "${roles[@]}"; do echo "$r passphrase 12345" >"$r.pass"; done
echo "other interviewer passphrase" >other.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
for r in "${roles[@]}"; do
    [ "$r" = admin ] && continue
    "$tlo" user add "${who[$r]}" --role "$r" --as "Anna Admin" --passphrase-file admin.pass \
        --new-passphrase-file "$r.pass" >/dev/null || bad "user add ${who[$r]} ($r)"
done
"$tlo" user add "李警官" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file other.pass >/dev/null || bad "user add 李警官"
"$tlo" case open "2026-刑-0001" --as "张警官" --passphrase-file interviewer.pass >/dev/null || bad "case open"
"$tlo" record "2026-刑-0001" --as "张警官" --passphrase-file interviewer.pass --duration 4 --no-live \
    >/dev/null 2>&1 || bad "record"
s1=$("$tlo" log --json | python3 -c 'import json,sys; print(*[e["body"]["session"] for e in json.load(sys.stdin) if e["kind"]=="session-start"])')

# try COMMAND ROLE KIND CMD...: runs CMD as the person of ROLE and checks it
# against the table's cell for COMMAND (or the cell given in $want when
# set): works ("yes", or a condition that holds: $holds=1), or is refused
# (exit 1) with one more entry of KIND (44 action-refused, 41 access-denied,
# 11 case-view) that names the refusal.
try() {
    local command=$1 role=$2 kind=$3; shift 3
    local c; c=$(cell "$command" "$role")
    local before; before=$(count "$kind")
    run "$@"
    local works=0
    [ "$c" = yes ] && works=1
    [ -n "$c" ] && [ "$c" != yes ] && [ "${holds:-0}" = 1 ] && works=1
    if [ "$works" = 1 ]; then
        if [ "$rc" = "${want_rc:-0}" ]; then ok; else
            bad "'$command' as $role ($c): exit $rc, expected ${want_rc:-0}: $err"
        fi
    else
        if [ "$rc" = 1 ] && grep -q "refused" <<<"$err"; then ok; else
            bad "'$command' as $role (table: '${c:-never}'): not refused (exit $rc): $out $err"
        fi
        if [ "$(count "$kind")" = $((before + 1)) ]; then ok; else
            bad "'$command' as $role: the refusal is not logged as one kind-$kind entry ($before -> $(count "$kind"))"
        fi
        if [ "$kind" = 44 ]; then
            grep -qiE "logged as entr(y|ies)" <<<"$err" && ok || bad "'$command' as $role: the message names no entry: $err"
        fi
    fi
}

n=0
for r in "${roles[@]}"; do
    p=${who[$r]} pf=$r.pass n=$((n + 1))
    try "user add, user revoke, user reissue" "$r" 44 "$tlo" user add "New $n" --role medical \
        --as "$p" --passphrase-file "$pf" --new-passphrase-file other.pass
    try "case open" "$r" 44 "$tlo" case open "2026-刑-01$n" --as "$p" --passphrase-file "$pf"
    holds=$([ "$r" = interviewer ] && echo 1 || echo 0) \
        try "case show" "$r" 11 "$tlo" case show "2026-刑-0001" --as "$p" --passphrase-file "$pf"
    try "case list --as, log --as, report --as" "$r" 44 "$tlo" case list --as "$p" --passphrase-file "$pf"
    try "record" "$r" 44 "$tlo" record "2026-刑-0001" --duration 1 --no-live \
        --as "$p" --passphrase-file "$pf"
    try "mark" "$r" 44 "$tlo" mark "2026-刑-0001" --session "$s1" --at 1 "roles test $r" \
        --as "$p" --passphrase-file "$pf"
    # Nothing is being recorded: those who may stop are told so (exit 2).
    want_rc=2 holds=1 try "stop, record --attach" "$r" 44 "$tlo" stop "2026-刑-0001" --as "$p" --passphrase-file "$pf"
    try "grant, grant revoke" "$r" 44 "$tlo" grant "2026-刑-0001" --to "Per Prosecutor" --session "$s1" \
        --from 2 --until 3 --expires 2099-12-31 --purpose "roles test" --as "$p" --passphrase-file "$pf"
    # Revoked at once: the clip rows below are tried without a live grant (with
    # one, a range outside it is refused before anything is signed).
    g=$(sed -n 's/^Grant \([0-9]*\):.*/\1/p' <<<"$out")
    [ -z "$g" ] || "$tlo" grant revoke "$g" --as "$p" --passphrase-file "$pf" >/dev/null ||
        bad "grant revoke $g"
    try "session list" "$r" 44 "$tlo" session list "2026-刑-0001" --as "$p" --passphrase-file "$pf"
    if [ "$r" != interviewer ]; then
        # Without a grant: refused by the custodian (access-denied).
        try "play" "$r" 41 "$tlo" play "2026-刑-0001" --session "$s1" --from 0 --to 1 \
            --as "$p" --passphrase-file "$pf" --headless
        try "export" "$r" 41 "$tlo" export "2026-刑-0001" --session "$s1" --from 0 --to 1 \
            -o "no-grant-$n.mp4" --as "$p" --passphrase-file "$pf"
    fi
done

# recover: a session a crash left open (the recording killed).
"$tlo" record "2026-刑-0001" --as "张警官" --passphrase-file interviewer.pass --duration 120 --no-live \
    >/dev/null 2>&1 &
rec=$!
s2=""
n0=$(sessions_started)
wait_for 120 "the interrupted session's first segment" \
    '[ "$(sessions_started)" -gt "$n0" ] && s2=$(newest_session) && [ "$(media_logged "$s2")" -gt 0 ]' "$rec"
kill -9 "$rec"
wait "$rec" 2>/dev/null
for r in "${roles[@]}"; do
    [ "$(cell recover "$r")" = yes ] && continue
    try "recover" "$r" 44 "$tlo" recover --as "${who[$r]}" --passphrase-file "$r.pass"
done
try "recover" admin 44 "$tlo" recover --as "Anna Admin" --passphrase-file admin.pass
grep -q "$s2" <<<"$out" && ok || bad "recover names the session it closed: $out"

# The conditions: the interviewer who recorded the session plays it, another does not.
holds=1 try "play" interviewer 41 "$tlo" play "2026-刑-0001" --session "$s1" --from 0 --to 1 \
    --as "张警官" --passphrase-file interviewer.pass --headless
before=$(count 41)
run "$tlo" play "2026-刑-0001" --session "$s1" --from 0 --to 1 --as "李警官" --passphrase-file other.pass --headless
[ "$rc" = 1 ] && [ "$(count 41)" = $((before + 1)) ] && ok || bad "another interviewer's recording: exit $rc: $err"
before=$(count 11)
run "$tlo" case show "2026-刑-0001" --as "李警官" --passphrase-file other.pass
[ "$rc" = 1 ] && [ "$(count 11)" = $((before + 1)) ] && ok || bad "case show by another interviewer: exit $rc"
# Who may be granted: exactly the roles of the row 'grant --to'.
for r in "${roles[@]}"; do
    c=$(cell "grant --to" "$r")
    run "$tlo" grant "2026-刑-0001" --to "${who[$r]}" --session "$s1" --from 0 --until 2 \
        --actions view,export --expires 2099-12-31 --purpose "roles test" --as "Anna Admin" --passphrase-file admin.pass
    if [ "$c" = yes ]; then
        [ "$rc" = 0 ] && ok || bad "a grant to $r: exit $rc: $err"
        # With the grant they view and export.
        holds=1 try "play" "$r" 41 "$tlo" play "2026-刑-0001" --session "$s1" --from 0 --to 2 \
            --as "${who[$r]}" --passphrase-file "$r.pass" --headless
        holds=1 try "export" "$r" 41 "$tlo" export "2026-刑-0001" --session "$s1" --from 0 --to 2 \
            -o "granted-$r.mp4" --as "${who[$r]}" --passphrase-file "$r.pass"
    else
        [ "$rc" = 2 ] && grep -q "may not be granted" <<<"$err" && ok || bad "a grant to $r: exit $rc: $err"
    fi
done
# notes_samples_every_role: the rows of notes and samples that cli_note and
# cli_sample try for a few roles only, tried here as every role: amending
# and reading a medical note (its author only, no note grant given), and a
# sample's register, transfer, receive and dispose by whoever may not.
"$tlo" note add "2026-刑-0001" --kind exam --text "roles test exam" --as "Dr Med" \
    --passphrase-file medical.pass >/dev/null || bad "note add by Dr Med"
"$tlo" sample register "2026-刑-0001" --label S-R1 --kind swab --seal-number R1 --as "Dr Med" \
    --passphrase-file medical.pass >/dev/null || bad "sample register S-R1"
for r in "${roles[@]}"; do
    p=${who[$r]} pf=$r.pass mine=$([ "$r" = medical ] && echo 1 || echo 0)
    holds=$mine try "note amend" "$r" 44 "$tlo" note amend "2026-刑-0001" 1 --text "amended by $r" \
        --as "$p" --passphrase-file "$pf"
    holds=$mine try "note show, note get" "$r" 44 "$tlo" note show "2026-刑-0001" 1 --as "$p" --passphrase-file "$pf"
    mkdir -p "get-$r"
    holds=$mine try "note show, note get" "$r" 44 "$tlo" note get "2026-刑-0001" 1 -o "get-$r" \
        --as "$p" --passphrase-file "$pf"
    try "sample register" "$r" 44 "$tlo" sample register "2026-刑-0001" --label "S-$r" --kind blood \
        --seal-number "N-$r" --as "$p" --passphrase-file "$pf"
    [ "$r" = medical ] && continue
    # Dr Med holds S-R1: nobody else hands it over or disposes of it.
    try "sample transfer" "$r" 44 "$tlo" sample transfer "2026-刑-0001" S-R1 --for "Per Prosecutor" \
        --as "$p" --passphrase-file "$pf"
    try "sample dispose" "$r" 44 "$tlo" sample dispose "2026-刑-0001" S-R1 --reason "roles test" \
        --as "$p" --passphrase-file "$pf"
done
holds=1 try "sample transfer" medical 44 "$tlo" sample transfer "2026-刑-0001" S-R1 --for "Per Prosecutor" \
    --as "Dr Med" --passphrase-file medical.pass
# In transfer to the prosecutor: nobody else signs for it.
for r in "${roles[@]}"; do
    [ "$r" = prosecutor ] && continue
    try "sample receive" "$r" 44 "$tlo" sample receive "2026-刑-0001" S-R1 --as "${who[$r]}" \
        --passphrase-file "$r.pass"
done
holds=1 try "sample receive" prosecutor 44 "$tlo" sample receive "2026-刑-0001" S-R1 --seal-intact yes \
    --as "Per Prosecutor" --passphrase-file prosecutor.pass
run "$tlo" sample show "2026-刑-0001" S-R1
grep -q "Per Prosecutor" <<<"$out" && ok || bad "notes_samples_every_role: S-R1 not held by the prosecutor: $out"

# refusal_names_case: a refusal of an action on a case is logged against it
# (so the case's report shows it), also when it is refused at the unlock.
for a in "mark" "record" "grant, grant revoke" "sample register"; do
    n=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 44 AND case_id IS NULL
        AND instr(CAST(body AS TEXT), 'action=$a' || char(10)) > 0")
    [ "$n" = 0 ] && ok || bad "refusal_names_case: $n refusals of '$a' name no case"
done
# The log names each refusal's action; the vault verifies.
run "$tlo" log
grep -q "action-refused" <<<"$out" && ok || bad "log shows no action-refused entry"
run "$tlo" verify
[ "$rc" = 0 ] && ok || bad "verify after the refusals: $out $err"

# revoked_attempt_logged: a revoked person who still knows their passphrase
# is refused, and the attempt is logged (a security event).
echo "gone medic passphrase" >gone.pass
"$tlo" user add "Gone Medic" --role medical --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file gone.pass >/dev/null || bad "user add Gone Medic"
"$tlo" user revoke "Gone Medic" --as "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "revoke Gone Medic"
before=$(count 44)
run "$tlo" sample register "2026-刑-0001" --label S-GONE --kind swab --seal-number 1 --as "Gone Medic" \
    --passphrase-file gone.pass
[ "$rc" = 1 ] && ok || bad "revoked_attempt_logged: exit $rc: $err"
[ "$(count 44)" = $((before + 1)) ] && ok || bad "revoked_attempt_logged: not logged ($before -> $(count 44)): $err"
grep -q "logged as entry" <<<"$err" && ok || bad "revoked_attempt_logged: the message names no entry: $err"

# decides_on_verified_people: who is active is what the custodian verified,
# not what the rows say now. A revoked administrator whose revocation row is
# altered after the custodian verified it is still refused (the vault then
# fails verify; nothing is signed in the meantime). Last: it breaks the vault.
echo "revoked admin passphrase" >rev.pass
"$tlo" user add "Rev Admin" --role admin --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file rev.pass >/dev/null || bad "user add Rev Admin"
"$tlo" user revoke "Rev Admin" --as "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "user revoke"
rseq=$(sqlite3 vault/ledger.db "SELECT max(seq) FROM entries WHERE kind = 3")
# the custodian verifies past the revocation (a decision does)
run "$tlo" play "2026-刑-0001" --session "$s1" --from 0 --to 1 --as "张警官" --passphrase-file interviewer.pass --headless
sqlite3 vault/ledger.db "DROP TRIGGER entries_no_update; UPDATE entries SET kind = 99 WHERE seq = $rseq;"
before=$(count 2)
run "$tlo" user add "Mallory" --role admin --as "Rev Admin" --passphrase-file rev.pass --new-passphrase-file other.pass
[ "$rc" != 0 ] && ok || bad "decides_on_verified_people: a revoked admin enrolled someone (exit $rc): $out"
[ "$(count 2)" = "$before" ] && ok || bad "decides_on_verified_people: a user-add entry was signed by the revoked admin"

echo "cli_roles: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
