#!/usr/bin/env bash
# verify checks the files beside the ledger: each case's wrapped key
# (cases/ID.key against wrapped_key_sha256) and sealed case record (against
# info_sha256), and that every file of cases/ and objects/ is one the ledger
# names. Each doctored copy fails, naming the file.
# usage: test_verify_files.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-verify-files.XXXXXX")
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
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; out: $out; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
"$tlo" user add "Ivan Interviewer" --role interviewer --as "Anna Admin" "${pass[@]}" \
    --new-passphrase-file p.pass >/dev/null || bad "user add"
for c in A-1 B-2; do
    "$tlo" case open "$c" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open $c"
done
expect 0 "record 8 s" -- "$tlo" record A-1 --as "Ivan Interviewer" "${pass[@]}" --duration 8 --no-live
body() { sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1 OFFSET $1"; }
ida=$(sqlite3 vault/ledger.db "SELECT hex(case_id) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1" | tr A-F a-f)
idb=$(sqlite3 vault/ledger.db "SELECT hex(case_id) FROM entries WHERE kind = 10 ORDER BY seq LIMIT 1 OFFSET 1" | tr A-F a-f)
infoa=$(body 0 | sed -n 's/^info_object=//p')
expect 0 "verify the vault as made" -- "$tlo" verify
contains "$out" "4 case keys and records have the digests their cases logged" "verify counts them"
cp -a vault pristine
restore() { rm -rf vault && cp -a pristine vault; }

cp "vault/cases/$idb.key" "vault/cases/$ida.key"
expect 1 "a case key replaced by another case's" -- "$tlo" verify
contains "$out" "cases/$ida.key is not the wrapped key its case-open entry" "replaced key named"
restore
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[40]^=1; open(p,"wb").write(b)' \
    "vault/cases/$ida.key"
expect 1 "a case key with one bit changed" -- "$tlo" verify
contains "$out" "cases/$ida.key is not the wrapped key" "changed key named"
restore
rm "vault/cases/$ida.key"
expect 1 "a case key deleted" -- "$tlo" verify
contains "$out" "its wrapped key cases/$ida.key is missing" "deleted key named"
restore
cp "vault/cases/$ida.key" "vault/cases/00000000000000000000000000000000.key"
expect 1 "a key file of no case" -- "$tlo" verify
contains "$out" "cases/00000000000000000000000000000000.key is not the wrapped key of any case" "stray key named"
restore
printf 'x' >> "vault/objects/$infoa.tlo"
expect 1 "a sealed case record extended" -- "$tlo" verify
contains "$out" "objects/$infoa.tlo is not the sealed case record its case-open entry" "case record named"
restore
rm "vault/objects/$infoa.tlo"
expect 1 "a sealed case record deleted" -- "$tlo" verify
contains "$out" "its sealed case record objects/$infoa.tlo" "deleted case record named"
restore
cp "vault/objects/$infoa.tlo" "vault/objects/0123456789abcdef0123456789abcdef.tlo"
expect 1 "an object no entry names" -- "$tlo" verify
contains "$out" "objects/0123456789abcdef0123456789abcdef.tlo is named by no entry" "stray object named"
restore
echo hello > vault/objects/notes.txt
expect 1 "a foreign file in objects/" -- "$tlo" verify
contains "$out" "objects/notes.txt is named by no entry" "foreign file named"
restore
# The segment files are hashed on several threads: with every one of them
# damaged, the first in ledger order is the one named, on 1 thread or 4.
segs=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21 ORDER BY seq" |
    sed -n 's/^object=//p')
[ "$(wc -l <<<"$segs")" -ge 2 ] && ok || bad "at least two segments: $segs"
for o in $segs; do printf 'x' >> "vault/objects/$o.tlo"; done
first=$(head -n 1 <<<"$segs")
for n in 1 4; do
    TELLONCE_VERIFY_THREADS=$n expect 1 "every segment damaged, $n threads" -- "$tlo" verify
    contains "$out" "segment 0: objects/$first.tlo is not the file that was recorded" \
        "the first damaged segment is named ($n threads)"
done
restore
expect 0 "the pristine copy verifies" -- "$tlo" verify

echo "cli_verify_files: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
