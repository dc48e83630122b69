#!/usr/bin/env bash
# Issue 13, passphrases: three tries on a terminal (one from a file, which
# would not change); a wrong one says "wrong passphrase for NAME", a damaged
# identity file still says it is damaged; each failed unlock of an enrolled
# person is an unlock-failed entry (kind 45) signed by the custodian, naming
# the person's key and the command and nothing of what was typed, at most
# 30 a person an hour.
# usage: test_passphrase.sh TELLONCE_BINARY PTY_ANSWER_PY
set -u
tlo=$1 pty=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-pass.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' is in: $1"; else ok; fi; }
q() { sqlite3 "vault/ledger.db" "$1"; }
failed_unlocks() { q "SELECT count(*) FROM entries WHERE kind = 45"; }
# on_tty ANSWERS CMD...: runs CMD on a terminal, typing the lines of file
# ANSWERS at each passphrase prompt; out= all it wrote, got= its exit code.
on_tty() {
    local answers=$1
    shift
    out=$(python3 "$pty" "Passphrase for" "$answers" -- "$@" </dev/null)
    got=$?
}

printf 'admin secret pass\n' >admin.pass
printf 'prosecutor secret\n' >pros.pass
printf 'not the passphrase\n' >wrong.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Per Prosecutor" --role prosecutor --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file pros.pass >/dev/null || bad "user add"
pk=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2" | sed -n 's/^pk=//p')

# --- wrong_passphrase_names_the_person: not "the file is damaged".
n0=$(failed_unlocks)
"$tlo" log --as "Per Prosecutor" --passphrase-file wrong.pass >/dev/null 2>err.txt
got=$? err=$(cat err.txt)
[ "$got" -ne 0 ] && ok || bad "wrong_passphrase_names_the_person: a wrong passphrase was accepted"
contains "$err" "wrong passphrase for Per Prosecutor" "wrong_passphrase_names_the_person"
lacks "$err" "damaged" "wrong_passphrase_names_the_person: not a damaged file"
lacks "$err" "backup" "wrong_passphrase_names_the_person: no restore from a backup"
# --- passphrase_file_one_try: a file would say the same again.
lacks "$err" "Passphrase for" "passphrase_file_one_try: no prompt"
# --- unlock_failed_logged: one entry, kind 45, signed by the custodian.
[ "$(failed_unlocks)" = $((n0 + 1)) ] && ok ||
    bad "unlock_failed_logged: $(failed_unlocks) unlock-failed entries, expected $((n0 + 1))"
body=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 45 ORDER BY seq DESC LIMIT 1")
contains "$body" "actor=$pk" "unlock_failed_logged: the person's key"
contains "$body" "command=log" "unlock_failed_logged: the command"
lacks "$body" "not the passphrase" "unlock_failed_logged: nothing of what was typed"
contains "$err" "logged as entry" "unlock_failed_logged: the message says so"
cust=$(q "SELECT hex(actor) FROM entries WHERE kind = 45 ORDER BY seq DESC LIMIT 1")
[ "$cust" = "$(q "SELECT hex(actor) FROM entries WHERE seq = 0")" ] && bad \
    "unlock_failed_logged: signed by the administrator, not the custodian" || ok
"$tlo" verify >verify.txt 2>&1 && ok || bad "unlock_failed_logged: verify fails: $(cat verify.txt)"
"$tlo" log >log.txt 2>&1 && contains "$(cat log.txt)" "unlock-failed" "the log names the kind" ||
    bad "log after unlock-failed: $(cat log.txt)"

# --- three_tries_on_a_terminal: three wrong ones, each logged, then a refusal.
n0=$(failed_unlocks)
printf 'wrong one\nwrong two\nwrong three\nprosecutor secret\n' >three.txt
on_tty three.txt "$tlo" log --as "Per Prosecutor"
[ "$got" -ne 0 ] && [ "$got" -ne 124 ] && ok ||
    bad "three_tries_on_a_terminal: exit $got after three wrong passphrases: $out"
[ "$(grep -c "Passphrase for Per Prosecutor" <<<"$out")" = 3 ] && ok ||
    bad "three_tries_on_a_terminal: not asked three times: $out"
[ "$(grep -c "wrong passphrase for Per Prosecutor" <<<"$out")" -ge 3 ] && ok ||
    bad "three_tries_on_a_terminal: each wrong try is said: $out"
contains "$out" "3 wrong passphrases for Per Prosecutor" "three_tries_on_a_terminal: gives up"
[ "$(failed_unlocks)" = $((n0 + 3)) ] && ok ||
    bad "three_tries_on_a_terminal: $(($(failed_unlocks) - n0)) entries logged, expected 3"
# --- second_try_on_a_terminal: a typo, then the right one.
printf 'wrong one\nprosecutor secret\n' >two.txt
on_tty two.txt "$tlo" log --as "Per Prosecutor"
[ "$got" = 0 ] && ok || bad "second_try_on_a_terminal: exit $got: $out"
contains "$out" "user-add" "second_try_on_a_terminal: the log printed"

# --- damaged_identity_still_damaged: a file cut short is not a wrong passphrase.
idf=$(ls vault/people/*.id | while read -r f; do
    grep -q "Per Prosecutor" "$f" && echo "$f"; done)
cp "$idf" saved.id
head -c 200 saved.id >"$idf"
n0=$(failed_unlocks)
"$tlo" log --as "Per Prosecutor" --passphrase-file pros.pass >/dev/null 2>err.txt
err=$(cat err.txt)
contains "$err" "truncated" "damaged_identity_still_damaged"
lacks "$err" "wrong passphrase" "damaged_identity_still_damaged: not a wrong passphrase"
[ "$(failed_unlocks)" = "$n0" ] && ok || bad "damaged_identity_still_damaged: it was logged"
cp saved.id "$idf"

# --- unknown_person_not_logged: nobody to log; said before any passphrase.
"$tlo" log --as "Nobody Here" --passphrase-file wrong.pass >/dev/null 2>err.txt
contains "$(cat err.txt)" "nobody named 'Nobody Here'" "unknown_person_not_logged: the message"
[ "$(failed_unlocks)" = "$n0" ] && ok || bad "unknown_person_not_logged: it was logged"

# --- unlock_failed_rate_limited: at most 30 a person an hour; then said, not logged.
for i in $(seq 1 40); do
    "$tlo" log --as "Per Prosecutor" --passphrase-file wrong.pass >/dev/null 2>err.txt
    [ "$(failed_unlocks)" -ge 30 ] && break
done
"$tlo" log --as "Per Prosecutor" --passphrase-file wrong.pass >/dev/null 2>err.txt
[ "$(failed_unlocks)" = 30 ] && ok ||
    bad "unlock_failed_rate_limited: $(failed_unlocks) entries in an hour, expected 30"
contains "$(cat err.txt)" "not logged" "unlock_failed_rate_limited: the message says so"
contains "$(cat err.txt)" "wrong passphrase for Per Prosecutor" "unlock_failed_rate_limited"
# an hour later there is room again
TELLONCE_TEST_NOW_MS=$(($(date +%s%3N) + 3700000)) \
    "$tlo" log --as "Per Prosecutor" --passphrase-file wrong.pass >/dev/null 2>err.txt
[ "$(failed_unlocks)" = 31 ] && ok ||
    bad "unlock_failed_rate_limited: an hour later not logged: $(cat err.txt)"

echo "test_passphrase: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
