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
# on a copy: a wrong passphrase is logged (unlock-failed), and the entry
# numbers below are those of the vault without it
cp -a vault vault-wrong
expect 1 "user add, wrong passphrase" -- env TELLONCE_VAULT="$work/vault-wrong" "$tlo" user add "Z" \
    --role medical --as "Anna Admin" --passphrase-file wrong.pass --new-passphrase-file officer.pass
contains "$err" "wrong passphrase" "wrong passphrase message"
expect 2 "user add, nobody of that name" -- "$tlo" user add "Z" --role admin --as "Nobody" \
    --passphrase-file officer.pass --new-passphrase-file officer.pass
expect 2 "user add, no passphrase and no terminal" -- "$tlo" user add "Z" --role admin --as "Anna Admin"
contains "$err" "no passphrase" "no passphrase message"
[ "$(entries)" = 3 ] && ok || bad "refused commands wrote entries: $(entries)"
[ "$(ls vault/people | wc -l)" = 3 ] && ok || bad "refused commands left identity files: $(ls vault/people)"

cp vault/ledger.db at3.db   # 3 entries: the fork below starts here
expect 0 "user revoke" -- "$tlo" user revoke "Per Prosecutor" --as "Anna Admin" \
    --passphrase-file admin.pass --reason "moved to another office"
expect 2 "revoke twice" -- "$tlo" user revoke "Per Prosecutor" --as "Anna Admin" --passphrase-file admin.pass
expect 0 "user list" -- "$tlo" user list
contains "$out" "revoked (entry 3)" "user list shows the revocation"
expect 0 "user list --json" -- "$tlo" user list --json
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if len(d)==4 and d[3]["revoked_entry"]==3 and d[2]["person"]=="张警官" else 1)' \
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
# The checks of the chain itself, so without the checkpoints every command
# leaves (with them each fails sooner, against the checkpoint: test_tail.sh).
cp vault/ledger.db pristine.db
mv vault/checkpoints kept-checkpoints
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
mv kept-checkpoints vault/checkpoints
expect 0 "the pristine copy verifies" -- "$tlo" verify

# --- checkpoints and proofs ---
rm -f vault/ledger.db-wal vault/ledger.db-shm
expect 0 "checkpoint" -- "$tlo" checkpoint -o old.checkpoint
contains "$out" "Checkpoint of 4 entries" "checkpoint output"
contains "$out" "logged as entry 4" "checkpoint is logged"
head -1 old.checkpoint | grep -q '^tellonce/vault/' && ok || bad "checkpoint origin line"
sed -n 2p old.checkpoint | grep -qx 4 && ok || bad "checkpoint size line"
expect 2 "checkpoint over an existing file" -- "$tlo" checkpoint -o old.checkpoint
expect 0 "verifier key" -- "$tlo" checkpoint --verifier-key
vkey=$out
grep -qE '^tellonce/vault/[0-9a-f]{16}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' <<<"$vkey" && ok || bad "verifier key format: $vkey"
expect 0 "user add after the checkpoint" -- "$tlo" user add "Mia Medic" --role medical --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 0 "second checkpoint" -- "$tlo" checkpoint
expect 0 "verify against the old checkpoint" -- "$tlo" verify --checkpoint old.checkpoint
contains "$out" "extends checkpoint old.checkpoint (4 entries)" "verify names the checkpoint"

expect 0 "prove an entry" -- "$tlo" prove --entry 1 -o incl.proof
head -1 incl.proof | grep -qx 'c2sp.org/tlog-proof@v1' && ok || bad "inclusion proof header"
expect 0 "verify-proof, inclusion" -- "$tlo" verify-proof incl.proof --verifier-key "$vkey"
contains "$out" "OK: entry 1 (user-add" "verify-proof output"
expect 0 "verify-proof with --vault" -- "$tlo" verify-proof incl.proof --vault vault
expect 2 "prove an entry beyond the checkpoint" -- "$tlo" prove --entry 99
expect 0 "prove consistency" -- "$tlo" prove --from old.checkpoint -o cons.proof
expect 0 "verify-proof, consistency" -- "$tlo" verify-proof cons.proof --verifier-key "$vkey" --old old.checkpoint
contains "$out" "extends the checkpoint old.checkpoint of 4 entries" "consistency output"
expect 2 "consistency proof without --old" -- "$tlo" verify-proof cons.proof --verifier-key "$vkey"
# Any changed byte of a proof fails it (hash lines, index, checkpoint).
for line in 3 4 5; do
    awk -v n=$line 'NR==n { $0 = (substr($0,1,1)=="A" ? "B" : "A") substr($0,2) } { print }' incl.proof > bad.proof
    expect 1 "inclusion proof with line $line altered" -- "$tlo" verify-proof bad.proof --verifier-key "$vkey"
done
sed 's/^index 1$/index 2/' incl.proof > bad.proof
expect 1 "inclusion proof with another index" -- "$tlo" verify-proof bad.proof --verifier-key "$vkey"
awk '/^old 4$/ { print "old 3"; next } { print }' cons.proof > bad.proof
expect 1 "consistency proof with another old size" -- "$tlo" verify-proof bad.proof --verifier-key "$vkey" --old old.checkpoint

# A checkpoint of another vault is not this custodian's.
mkdir other && TELLONCE_VAULT="$work/other/v" "$tlo" init --admin "Eve" --passphrase-file admin.pass >/dev/null \
    && TELLONCE_VAULT="$work/other/v" "$tlo" checkpoint -o other.checkpoint >/dev/null && ok || bad "second vault"
other_vkey=$(TELLONCE_VAULT="$work/other/v" "$tlo" checkpoint --verifier-key)
expect 1 "verify-proof with another vault's key" -- "$tlo" verify-proof incl.proof --verifier-key "$other_vkey"
expect 1 "verify against another vault's checkpoint" -- "$tlo" verify --checkpoint other.checkpoint
newest=$(ls vault/checkpoints | tail -1)
cp "vault/checkpoints/$newest" keep.checkpoint
cp other.checkpoint "vault/checkpoints/$newest"
expect 1 "newest checkpoint replaced by another vault's" -- "$tlo" verify
contains "$err" "checkpoint" "replaced checkpoint message"
cp keep.checkpoint "vault/checkpoints/$newest"

# Truncating the ledger below the newest checkpoint fails, naming the end.
cp vault/ledger.db full.db
sqlite3 vault/ledger.db "DROP TRIGGER entries_no_delete; DELETE FROM entries WHERE seq >= 6"
expect 1 "ledger truncated below its newest checkpoint" -- "$tlo" verify
contains "$out" "first bad entry is 6" "truncation names the end"
cp full.db vault/ledger.db

# A rewritten history, consistent in itself: back to the 3-entry snapshot
# (before the revocation that old.checkpoint covers), then other entries, and
# the vault's own checkpoints and the custodian's verified state removed
# (custodian.state: the custodian refuses a ledger shorter than it verified).
# verify alone passes; against the checkpoint an auditor kept, it fails at
# entry 3.
cp at3.db vault/ledger.db
rm -f vault/ledger.db-wal vault/ledger.db-shm vault/checkpoints/* vault/custodian.state
expect 0 "the forked history: another enrolment" -- "$tlo" user add "Mallory" --role admin --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 0 "the forked history: more entries" -- "$tlo" user add "Nils" --role medical --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
expect 0 "the forked history verifies in itself" -- "$tlo" verify
expect 1 "the forked history against the old checkpoint" -- "$tlo" verify --checkpoint old.checkpoint
contains "$out" "first bad entry is 3" "the fork names the first entry that differs"
contains "$out" "rewritten or forked" "fork message"
expect 0 "a checkpoint of the forked history" -- "$tlo" checkpoint
expect 1 "no consistency proof from the old checkpoint" -- "$tlo" prove --from old.checkpoint
contains "$err" "rewritten or forked" "prove refuses a fork"

# A refusal by the roles table (docs/roles.md) is logged, signed by the
# custodian, naming the action and who may take it.
before=$(entries)
expect 1 "user add by a non-admin" -- "$tlo" user add "Z" --role admin --as "张警官" \
    --passphrase-file officer.pass --new-passphrase-file officer.pass
contains "$err" "may not enrol or revoke a person: only an administrator may" "non-admin message"
contains "$err" "The refusal is logged as entry $before" "non-admin refusal names its entry"
[ "$(entries)" = $((before + 1)) ] && ok || bad "the refusal wrote one entry: $before -> $(entries)"
expect 0 "log shows the refusal" -- "$tlo" log
contains "$out" "action-refused" "the log names the refusal's kind"
expect 0 "verify after the refusal" -- "$tlo" verify

echo "cli_ledger: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
