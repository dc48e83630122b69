#!/usr/bin/env bash
# Issue 13, names and case numbers: trimmed and in NFC wherever they are
# typed (user add, --as, --to, case open, lookups); a second person whose
# name differs only in case or spaces is refused; a person enrolled again
# after a revocation is found; birth dates are days of the calendar, not in
# the future; limits are said in characters.
# usage: test_names.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-names.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >out.txt 2>err.txt </dev/null
    local got=$?
    err=$(cat err.txt) out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
q() { sqlite3 "vault/ledger.db" "$1"; }
entries() { q "SELECT count(*) FROM entries"; }

printf 'admin secret pass\n' >admin.pass
printf 'wang fang secret\n' >wang.pass
printf 'officer secret\n' >officer.pass
printf 'bob first secret\n' >bob1.pass
printf 'bob second secret\n' >bob2.pass
admin=(--as "Anna Admin" --passphrase-file admin.pass)
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Ivan Interviewer" --role interviewer "${admin[@]}" \
    --new-passphrase-file officer.pass >/dev/null || bad "user add Ivan"

# 王芳 composed (NFC) and decomposed (NFD): 芳 has no decomposition, so the
# decomposed form is made with a name that has one: "Zoë" (e + U+0308).
composed=$(printf '\xe7\x8e\x8b\xe8\x8a\xb3 Zo\xc3\xab')    # 王芳 Zoë, NFC
decomposed=$(printf '\xe7\x8e\x8b\xe8\x8a\xb3 Zoe\xcc\x88') # 王芳 Zoë, NFD
[ "$composed" != "$decomposed" ] || bad "the test's two spellings are the same bytes"

# --- nfc_name_enrolled: enrolled typed decomposed, with spaces around
# (U+3000 ideographic space too), the ledger holds the NFC name, trimmed.
expect 0 "nfc_name_enrolled" -- "$tlo" user add "　 $decomposed " --role prosecutor "${admin[@]}" \
    --new-passphrase-file wang.pass
contains "$out" "Enrolled $composed (prosecutor)" "nfc_name_enrolled: the name printed is the one enrolled"
name=$(q "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2 ORDER BY seq DESC LIMIT 1" |
    sed -n 's/^name=//p')
[ "$name" = "$composed" ] && ok || bad "nfc_name_enrolled: the ledger has '$name'"
# --- nfc_name_found: --as finds the person however the name is typed.
for typed in "$composed" "$decomposed" " $decomposed" "$composed  "; do
    expect 0 "nfc_name_found ('$typed')" -- "$tlo" log --as "$typed" --passphrase-file wang.pass
done
# --- nfc_name_duplicate: the decomposed spelling is not a second person.
n0=$(entries)
expect 2 "nfc_name_duplicate" -- "$tlo" user add "$decomposed" --role medical "${admin[@]}" \
    --new-passphrase-file officer.pass
contains "$err" "already enrolled" "nfc_name_duplicate: the message"
[ "$(entries)" = "$n0" ] && ok || bad "nfc_name_duplicate: something was logged"

# --- case_or_spaces_duplicate_refused: "anna  admin" is Anna Admin to people.
for twin in "anna  admin" "ANNA ADMIN" "Anna   Admin" "ivan interviewer"; do
    expect 2 "case_or_spaces_duplicate_refused ('$twin')" -- "$tlo" user add "$twin" \
        --role medical "${admin[@]}" --new-passphrase-file officer.pass
    contains "$err" "only in case or spaces" "case_or_spaces_duplicate_refused ('$twin'): the message"
done
[ "$(entries)" = "$n0" ] && ok || bad "case_or_spaces_duplicate_refused: something was logged"

# --- name_limit_in_characters: 80 Chinese characters (240 bytes) are a name;
# 81 (243 bytes, within the 255 an identity file holds) are not, and the
# message counts characters.
eighty=$(python3 -c 'print("张" * 80)')
expect 0 "name_limit_in_characters: 80 characters" -- "$tlo" user add "$eighty" --role medical \
    "${admin[@]}" --new-passphrase-file officer.pass
expect 2 "name_limit_in_characters: 81 characters" -- "$tlo" user add "${eighty}张" --role medical \
    "${admin[@]}" --new-passphrase-file officer.pass
contains "$err" "1 to 80 characters" "name_limit_in_characters: the limit in characters"
contains "$err" "has 81" "name_limit_in_characters: the name's length in characters"

# --- reenrolled_found_after_revoke: typed with a stray space and other case
# is refused as a duplicate while Bob is active; after the revocation Bob is
# enrolled again, and --as (typed with spaces around) is the new key.
expect 0 "user add Bob" -- "$tlo" user add "Bob Babb" --role prosecutor "${admin[@]}" \
    --new-passphrase-file bob1.pass
expect 0 "user revoke Bob" -- "$tlo" user revoke " Bob Babb" "${admin[@]}" --reason "left"
expect 0 "reenrolled_found_after_revoke: enrolled again" -- "$tlo" user add "Bob Babb " \
    --role prosecutor "${admin[@]}" --new-passphrase-file bob2.pass
expect 0 "reenrolled_found_after_revoke: --as" -- "$tlo" log --as " Bob Babb" \
    --passphrase-file bob2.pass
expect 1 "reenrolled_found_after_revoke: the revoked key's passphrase" -- "$tlo" log \
    --as "Bob Babb" --passphrase-file bob1.pass
expect 0 "user list" -- "$tlo" user list
[ "$(grep -c "Bob Babb" <<<"$out")" = 2 ] && ok ||
    bad "reenrolled_found_after_revoke: user list shows both keys: $out"
contains "$out" "revoked" "reenrolled_found_after_revoke: the revoked one is shown"

# --- case numbers: trimmed and NFC when opened and when named.
cnum=$(printf 'SZ-2026-Zo\xc3\xab')
cnum_nfd=$(printf 'SZ-2026-Zoe\xcc\x88')
ivan=(--as "Ivan Interviewer" --passphrase-file officer.pass)
expect 0 "case_number_nfc: case open (decomposed, spaces)" -- "$tlo" case open " $cnum_nfd " \
    "${ivan[@]}"
expect 0 "case_number_nfc: case show (composed)" -- "$tlo" case show "$cnum" "${admin[@]}"
expect 2 "case_number_nfc: the same number again" -- "$tlo" case open "$cnum " "${ivan[@]}"
contains "$err" "already exists" "case_number_nfc: one case"
expect 2 "case_number_limit_in_characters" -- "$tlo" case open \
    "$(python3 -c 'print("刑" * 33)')" "${ivan[@]}"
contains "$err" "1 to 32 characters" "case_number_limit_in_characters: the message"
expect 0 "case_number_limit_in_characters: 32 Chinese characters" -- "$tlo" case open \
    "$(python3 -c 'print("刑" * 32)')" "${ivan[@]}"

# --- birthdate_is_a_date: 2023-02-30 is no day; the future is refused.
n0=$(entries)
for d in 2023-02-30 2023-13-01 2021-02-29 17.05.2017 2017-5-1 "$(date -u -d '+3 days' +%F)"; do
    printf 'child_name=Lily Testchild\nchild_birthdate=%s\n' "$d" >bd.child
    expect 2 "birthdate_is_a_date ($d)" -- "$tlo" case open "BD-$RANDOM" "${ivan[@]}" \
        --child-file bd.child
    contains "$err" "birth date" "birthdate_is_a_date ($d): the message"
done
[ "$(entries)" = "$n0" ] && ok || bad "birthdate_is_a_date: a refused case open logged something"
printf 'child_name=Lily Testchild\nchild_birthdate=2020-02-29\n' >bd.child
expect 0 "birthdate_is_a_date: a leap day" -- "$tlo" case open "BD-1" "${ivan[@]}" \
    --child-file bd.child

# --- init_admin_name_nfc: the first administrator's name as any other.
TELLONCE_VAULT="$work/v2" "$tlo" init --admin " $decomposed　" --passphrase-file admin.pass \
    >/dev/null 2>err.txt || bad "init_admin_name_nfc: init: $(cat err.txt)"
gname=$(sqlite3 v2/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE seq = 0" |
    sed -n 's/^admin.name=//p')
[ "$gname" = "$composed" ] && ok || bad "init_admin_name_nfc: the genesis names '$gname'"

echo "test_names: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
