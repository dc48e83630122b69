#!/usr/bin/env bash
# tellonce init, user, verify and log as people and scripts use them, and
# tampering with the ledger through the sqlite3 command line.
# usage: test_ledger.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-ledger.XXXXXX")
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
entries() { sqlite3 vault/ledger.db 'SELECT count(*) FROM entries'; }

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
echo 'wrong' > wrong.pass

expect 2 "init without --admin" -- "$tlo" init
expect 0 "init" -- "$tlo" init --admin "Anna Admin" --passphrase-file admin.pass
contains "$out" "genesis, signed by Anna Admin and the custodian" "init output"
[ "$(stat -c %a vault)" = 700 ] && ok || bad "vault mode is $(stat -c %a vault)"
[ "$(stat -c %a vault/custodian.secret)" = 600 ] && ok || bad "custodian secret is readable by others"
expect 2 "init twice" -- "$tlo" init --admin "Other" --passphrase-file admin.pass
contains "$err" "already a tellonce vault" "init twice message"
[ "$(entries)" = 1 ] && ok || bad "init twice changed the ledger"

expect 0 "user add" -- "$tlo" user add "张警官" --role interviewer --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
contains "$out" "Enrolled 张警官 (interviewer)" "user add output"
expect 0 "user add, two roles" -- "$tlo" user add "Per Prosecutor" --role prosecutor --role auditor \
    --as "Anna Admin" --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 2 "user add, unknown role" -- "$tlo" user add "Y" --role janitor --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 2 "user add, same name" -- "$tlo" user add "张警官" --role medical --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 1 "user add, wrong passphrase" -- "$tlo" user add "Z" --role medical --as "Anna Admin" \
    --passphrase-file wrong.pass --new-passphrase-file officer.pass
contains "$err" "wrong passphrase" "wrong passphrase message"
expect 1 "user add by a non-admin" -- "$tlo" user add "Z" --role admin --as "张警官" \
    --passphrase-file officer.pass --new-passphrase-file officer.pass
contains "$err" "not an active administrator" "non-admin message"
expect 2 "user add, nobody of that name" -- "$tlo" user add "Z" --role admin --as "Nobody" \
    --passphrase-file officer.pass --new-passphrase-file officer.pass
expect 2 "user add, no passphrase and no terminal" -- "$tlo" user add "Z" --role admin --as "Anna Admin"
contains "$err" "no passphrase" "no passphrase message"
[ "$(entries)" = 3 ] && ok || bad "refused commands wrote entries: $(entries)"
[ "$(ls vault/people | wc -l)" = 3 ] && ok || bad "refused commands left identity files: $(ls vault/people)"

expect 0 "user revoke" -- "$tlo" user revoke "Per Prosecutor" --as "Anna Admin" \
    --passphrase-file admin.pass --reason "moved to another office"
expect 2 "revoke twice" -- "$tlo" user revoke "Per Prosecutor" --as "Anna Admin" --passphrase-file admin.pass
expect 0 "user list" -- "$tlo" user list
contains "$out" "revoked (entry 3)" "user list shows the revocation"
expect 0 "user list --json" -- "$tlo" user list --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if len(d)==4 and d[3]["revoked_at"]==3 and d[2]["name"]=="张警官" else 1)' \
    && ok || bad "user list --json"

expect 0 "verify" -- "$tlo" verify
contains "$out" "OK: 4 entries, 4 signatures" "verify output"
expect 0 "verify --json" -- "$tlo" verify --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if d["ok"] and d["entries"]==4 and d["first_bad_entry"] is None else 1)' \
    && ok || bad "verify --json"
expect 0 "log" -- "$tlo" log
contains "$out" "Anna Admin (admin)" "log names the actor"
contains "$out" "user-revoke" "log shows the revocation"
expect 0 "log --json" -- "$tlo" log --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if [e["kind"] for e in d]==["genesis","user-add","user-add","user-revoke"] and d[1]["body"]["name"]=="张警官" else 1)' \
    && ok || bad "log --json"
expect 2 "verify of a missing vault" -- "$tlo" verify --vault "$work/nothing"
contains "$err" "is not a tellonce vault" "missing vault message"

# Tampering through the sqlite3 command line: each must fail verify naming the entry.
cp vault/ledger.db pristine.db
tamper() { # tamper NAME SQL ENTRY NEEDLE
    cp pristine.db vault/ledger.db
    rm -f vault/ledger.db-wal vault/ledger.db-shm
    sqlite3 vault/ledger.db "DROP TRIGGER entries_no_update; DROP TRIGGER entries_no_delete; $2" \
        || { bad "$1: sqlite3 failed"; return; }
    expect 1 "tamper: $1" -- "$tlo" verify
    contains "$out" "$4" "tamper: $1 message"
    contains "$out" "first bad entry is $3" "tamper: $1 names entry $3"
}
tamper "body byte" "UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'interviewer', 'admin') AS BLOB) WHERE seq = 1" 1 "entry 1 has an invalid signature"
tamper "time" "UPDATE entries SET time_ms = time_ms - 1 WHERE seq = 2" 2 "entry 2 has an invalid signature"
tamper "signature" "UPDATE entries SET sig = randomblob(64) WHERE seq = 3" 3 "entry 3 has an invalid signature"
tamper "prev hash" "UPDATE entries SET prev = randomblob(32) WHERE seq = 2" 2 "entry 2 does not link"
tamper "deleted row" "DELETE FROM entries WHERE seq = 2" 2 "entry 2 is missing"
tamper "swapped rows" "UPDATE entries SET seq = 99 WHERE seq = 1; UPDATE entries SET seq = 1 WHERE seq = 2; UPDATE entries SET seq = 2 WHERE seq = 99" 1 "entry 1"
tamper "truncated" "DELETE FROM entries WHERE seq = 3" 3 "stored Merkle tree"
cp pristine.db vault/ledger.db
expect 0 "the pristine copy verifies" -- "$tlo" verify

echo "cli_ledger: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
