#!/usr/bin/env bash
# Hostile bytes in a ledger row (review finding 6): an entry's body edited
# with sqlite3 to hold terminal escapes (set the title, clear the screen),
# invalid UTF-8 and a key with a quote. log and report must show it cleaned:
# no control byte from the ledger on the terminal or in the files, valid
# UTF-8 (U+FFFD for what was not), JSON that parses, and the row marked as
# not canonical, while the rest of the log stays readable.
# usage: test_log_hostile.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-hostile.XXXXXX")
[ -n "${TLO_TEST_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" "$1"; then ok; else bad "$3: '$2' not in $1: $(cat -v "$1")"; fi; }
# clean FILE WHAT: valid UTF-8 and no control character but newline (C0, DEL, C1).
clean() {
    python3 - "$1" <<'PY' && ok || bad "$2: $(cat -v "$1" | head -c 2000)"
import sys
b = open(sys.argv[1], 'rb').read()
try:
    t = b.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit('invalid UTF-8: %s' % e)
bad = [hex(ord(c)) for c in t if (ord(c) < 0x20 and c != '\n') or 0x7f <= ord(c) <= 0x9f]
if bad:
    sys.exit('control characters: %s' % bad[:8])
PY
}
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" &&
    ok || bad "$2: not JSON: $(cat -v "$1" | head -c 2000)"; }

echo 'a long secret' >p.pass
pass=(--passphrase-file p.pass)
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
"$tlo" user add "Ian" --role interviewer --as "Anna Admin" "${pass[@]}" \
    --new-passphrase-file p.pass >/dev/null || bad "user add"
"$tlo" case open "C-1" --as Ian "${pass[@]}" >/dev/null || bad "case open"
caseid=$(sqlite3 vault/ledger.db "SELECT hex(case_id) FROM entries WHERE kind = 10" | tr A-F a-f)

# Entry 1 (Ian's user-add): his name gets the escapes and bytes that are not
# UTF-8, and a key with a quote and a backslash (z"k\) is added after the others.
body=$(sqlite3 vault/ledger.db "SELECT hex(body) FROM entries WHERE seq = 1")
hostile=$(printf '%s' "$body" | xxd -r -p |
    sed 's/^name=Ian$/name=Ian\x1b]0;pwned\x07\x1b[2J\xff\xfe/' | xxd -p | tr -d '\n')
hostile=$hostile$(printf 'z"k\\=\x1b[2Jv\n' | xxd -p | tr -d '\n')
sqlite3 vault/ledger.db "DROP TRIGGER entries_no_update;
    UPDATE entries SET body = X'$hostile' WHERE seq = 1" || bad "tampering with entry 1"
sqlite3 vault/ledger.db "SELECT hex(body) FROM entries WHERE seq = 1" | xxd -r -p | grep -q pwned &&
    ok || bad "the tampered body is not in the ledger"
"$tlo" verify >/dev/null 2>&1 && bad "verify passes a ledger with a non-canonical body" || ok

# log_hostile_terminal: what a terminal shows carries none of it.
"$tlo" log >log.txt 2>log.err || bad "log exits $?: $(cat log.err)"
clean log.txt "log_hostile_terminal: the log carries a control byte or invalid UTF-8"
contains log.txt "(malformed entry 1: not canonical" "log_hostile_terminal: the row is marked"
contains log.txt "Anna Admin (admin) created the vault" "log_hostile_terminal: the good rows are shown"
grep -q "^ *2 .*case-open" log.txt && ok || bad "log_hostile_terminal: entry 2 is not shown"
"$tlo" log --case "$caseid" >logc.txt 2>&1 || bad "log --case exits $?"
clean logc.txt "log_hostile_terminal: log --case carries a control byte"

# log_hostile_json: valid JSON, the key escaped, the bytes as U+FFFD.
"$tlo" log --json >log.json 2>log.err || bad "log --json exits $?: $(cat log.err)"
json_ok log.json "log_hostile_json"
clean log.json "log_hostile_json: raw control bytes in the JSON"
python3 - log.json <<'PY' && ok || bad "log_hostile_json: the fields of entry 1 are not as cleaned"
import json, sys
e = json.load(open(sys.argv[1], encoding='utf-8'))[1]
b = e['body']
assert b['name'] == 'Ian\x1b]0;pwned\x07\x1b[2J\ufffd\ufffd', repr(b['name'])
assert b['z"k\\'] == '\x1b[2Jv', repr(b)
assert 'not canonical' in e['description'], e['description']
PY

# report_hostile_json: the report's files are valid, whatever the ledger holds.
"$tlo" report "$caseid" -o r.html --json r.json >rep.txt 2>&1 # fails: the ledger does not verify
clean rep.txt "report_hostile_json: report's own output carries a control byte"
json_ok r.json "report_hostile_json"
clean r.json "report_hostile_json: raw control bytes in the JSON"
clean r.html "report_hostile_json: control bytes or invalid UTF-8 in the HTML"

# verify_hostile_file_name: verify names a file put into the vault from
# outside; a name with escapes reaches the terminal cleaned.
export TELLONCE_VAULT="$work/v2"
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init v2"
mkdir -p v2/cases && touch "v2/cases/y$(printf '\x1b]0;pwned\x07\x1b[2J\xfe')" || bad "a hostile file name"
"$tlo" verify >verify.txt 2>&1 && bad "verify passes a vault with a stray file" || ok
contains verify.txt "is not the wrapped key of any case" "verify_hostile_file_name: the file is named"
clean verify.txt "verify_hostile_file_name: verify carries a control byte"
"$tlo" verify --json >verify.json 2>&1
json_ok verify.json "verify_hostile_file_name: verify --json"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
