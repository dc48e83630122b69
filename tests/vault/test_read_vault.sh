#!/usr/bin/env bash
# A vault made by the built tellonce, read by tests/vault/read_vault.py, which
# was written from docs/ alone: the documents suffice to read a case with the
# custodian's credentials. Also: damage found by the reader is an error.
# usage: test_read_vault.sh TELLONCE_BINARY PYTHON3 READ_VAULT_PY
set -u
tlo=$1 py=$2 reader=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-read-vault.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect STATUS WHAT -- COMMAND...: the command's exit status must be STATUS.
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    out=$(cat out.txt); err=$(cat err.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; out: $out; err: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }

if ! "$py" -c 'import nacl' 2>/dev/null; then
    bad "$py has no PyNaCl: install python3-nacl (scripts/install-deps)"
    echo "read_vault: $passed passed, $failed failed"
    exit 1
fi

echo 'admin secret' >admin.pass
echo 'officer secret' >officer.pass
expect 0 "init" -- "$tlo" init --admin "Anna Admin" --passphrase-file admin.pass
expect 0 "user add" -- "$tlo" user add "张警官" --role interviewer --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file officer.pass
printf 'child_name=Lily Testchild\nchild_birthdate=2017-05-01\n' >lily.child
expect 0 "case open" -- "$tlo" case open "2026-刑-0042" --as "张警官" --passphrase-file officer.pass \
    --title "first interview" --child-file lily.child
expect 0 "case open (a second case)" -- "$tlo" case open "2026-刑-0043" --as "张警官" \
    --passphrase-file officer.pass
expect 0 "record 6 s in the simulated room" -- "$tlo" record "2026-刑-0042" --as "张警官" \
    --passphrase-file officer.pass --duration 6 --no-live
case_id=$(sqlite3 vault/ledger.db "SELECT hex(case_id) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1" |
    tr 'A-F' 'a-f')
[ ${#case_id} -eq 32 ] && ok || bad "the case's internal id: '$case_id'"

# The reader opens the case's first segment, then every segment by the internal id.
expect 0 "read_vault by case number" -- "$py" "$reader" vault "2026-刑-0042"
contains "$out" "unwrapped the case key" "the case key"
contains "$out" "the case record (SHA-256 is info_sha256)" "the case record"
contains "$out" "segment 0 of session" "segment 0"
contains "$out" "SHA-256 is plaintext_sha256; MP4 ftyp moov moof" "segment 0's plaintext"
if grep -q "Lily\|first interview" out.txt err.txt; then bad "the reader printed the child's details"; else ok; fi
expect 0 "read_vault by internal id, every segment" -- "$py" "$reader" vault "$case_id" --all-segments
n=$(grep -c "SHA-256 is plaintext_sha256" out.txt)
logged=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 21")
[ "$n" -ge 2 ] && [ "$n" -eq "$logged" ] && ok || bad "segments read: $n, logged: $logged"
expect 1 "a case with no segment" -- "$py" "$reader" vault "2026-刑-0043"
contains "$err" "has no segment entry" "no segment"
expect 1 "an unknown case" -- "$py" "$reader" vault "nope"

# Damage: each must fail, naming what.
seg=$(sqlite3 vault/ledger.db "SELECT body FROM entries WHERE kind = 21 ORDER BY seq LIMIT 1" |
    sed -n 's/^object=//p')
flip() { # flip FILE OFFSET: xor one byte with 0x01
    "$py" -c 'import sys; p, o = sys.argv[1], int(sys.argv[2]); b = bytearray(open(p, "rb").read()); b[o] ^= 1; open(p, "wb").write(b)' "$1" "$2"
}
cp -a vault v1 && flip "v1/objects/$seg.tlo" 5000
expect 1 "a segment file with one byte changed" -- "$py" "$reader" v1 "2026-刑-0042"
contains "$err" "objects/$seg.tlo is not the file segment entry" "the altered segment named"
cp -a vault v2 && printf '%064d' 0 >v2/custodian.secret.new && mv v2/custodian.secret.new v2/custodian.secret
expect 1 "another custodian.secret" -- "$py" "$reader" v2 "2026-刑-0042"
contains "$err" "wrong passphrase" "the wrong secret"
cp -a vault v3
other=$(sqlite3 vault/ledger.db "SELECT hex(case_id) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1 OFFSET 1" |
    tr 'A-F' 'a-f')
cp "v3/cases/$other.key" "v3/cases/$case_id.key"
expect 1 "the other case's wrapped key in place of this one's" -- "$py" "$reader" v3 "2026-刑-0042"
contains "$err" "is not the wrapped key the case-open entry logged" "the substituted key"
cp -a vault v4
sqlite3 v4/ledger.db "DROP TRIGGER entries_no_update; UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'index=0', 'index=7') AS BLOB) WHERE kind = 21 AND CAST(body AS TEXT) LIKE '%index=0%'"
expect 1 "a segment entry changed in the ledger" -- "$py" "$reader" v4 "2026-刑-0042"
contains "$err" "invalid signature" "the altered entry"

echo "read_vault: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
