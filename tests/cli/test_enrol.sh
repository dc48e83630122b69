#!/usr/bin/env bash
# People and their keys (issue 11): enrolment codes, activation, passwd, and
# the passphrase policy for every new passphrase.
# usage: test_enrol.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-enrol.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_TEST_KILL_AT
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
# expect_fail WHAT TEXT CMD...: CMD fails and its stderr contains TEXT.
expect_fail() {
    local what=$1 text=$2
    shift 2
    if "$@" >out.txt 2>err.txt; then
        bad "$what: succeeded"
    elif ! grep -qF -- "$text" err.txt; then
        bad "$what: the error does not say '$text': $(cat err.txt)"
    else
        ok
    fi
}
# code_of FILE: the enrolment code printed in FILE.
code_of() { grep -oE '[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}' "$1" | head -1; }
hour_ms=3600000

echo 'admin passphrase' > admin.pass
echo 'ivan passphrase one' > ivan.pass
echo 'ivan passphrase two' > ivan2.pass
admin=(--as "Anna Admin" --passphrase-file admin.pass)

# policy_init_short: init's first administrator gets the policy too.
echo 'short one' > short.pass
expect_fail "policy_init_short" "a passphrase needs at least 12 characters; this one has 9" \
    "$tlo" init --admin "Anna Admin" --passphrase-file short.pass
[ ! -e vault/ledger.db ] && ok || bad "policy_init_short: a vault was made"
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"

# code_format: user add without --new-passphrase-file prints a one-time code.
"$tlo" user add "Ivan Interviewer" --role interviewer "${admin[@]}" >add.txt 2>&1 ||
    bad "code_format: user add: $(cat add.txt)"
code=$(code_of add.txt)
[ -n "$code" ] && ok || bad "code_format: no code XXXX-XXXX-XXXX-XXXX in: $(cat add.txt)"
grep -q '24 h' add.txt && grep -q 'tellonce user activate "Ivan Interviewer"' add.txt && ok ||
    bad "code_format: the output does not say it is valid 24 h and how to use it: $(cat add.txt)"
# 80 bits: another enrolment gets another code.
"$tlo" user add "Olga Other" --role prosecutor "${admin[@]}" >add2.txt 2>&1 || bad "user add Olga"
code2=$(code_of add2.txt)
[ -n "$code2" ] && [ "$code2" != "$code" ] && ok || bad "code_format: two enrolments, codes '$code' '$code2'"
printf '%s\n' "$code" > code.txt
printf '%s\n' "$code2" > code2.txt

# code_not_in_vault: the code is written nowhere (with or without dashes).
nodash=${code//-/}
if grep -rqaF -e "$code" -e "$nodash" -e "${nodash,,}" vault; then
    bad "code_not_in_vault: the code is in $(grep -rlaF -e "$code" -e "$nodash" vault)"
else
    ok
fi
sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2" | grep -q '^activate_by_ms=' &&
    ok || bad "code_format: the user-add entry logs no activate_by_ms"

# pending_cannot_act: not even with the code as the passphrase.
expect_fail "pending_cannot_act" "Ivan Interviewer has not activated their enrolment yet" \
    "$tlo" case open P-1 --as "Ivan Interviewer" --passphrase-file code.txt
"$tlo" user list >list.txt && grep "Ivan Interviewer" list.txt | grep -q pending && ok ||
    bad "pending_cannot_act: user list does not show Ivan as pending: $(cat list.txt)"

# wrong_code_refused
expect_fail "wrong_code_refused" "does not open" \
    "$tlo" user activate "Ivan Interviewer" --code 2222-3333-4444-5555 --new-passphrase-file ivan.pass
expect_fail "wrong_code_malformed" "16 letters and digits" \
    "$tlo" user activate "Ivan Interviewer" --code 1234 --new-passphrase-file ivan.pass

# expired_code_refused: 25 h later on the custody clock.
later=$(($(date +%s%3N) + 25 * hour_ms))
expect_fail "expired_code_refused" "ask an administrator" \
    env TELLONCE_TEST_NOW_MS=$later "$tlo" user activate "Ivan Interviewer" --code "$code" \
    --new-passphrase-file ivan.pass
grep -q "expired" err.txt && ok || bad "expired_code_refused: the error does not say expired: $(cat err.txt)"

# policy_activate_short: a refused passphrase leaves the code usable.
expect_fail "policy_activate_short" "at least 12 characters; this one has 9" \
    "$tlo" user activate "Ivan Interviewer" --code "$code" --new-passphrase-file short.pass
echo 'Ivan Interviewer' > name.pass
expect_fail "policy_own_name" "name" \
    "$tlo" user activate "Ivan Interviewer" --code "$code" --new-passphrase-file name.pass

# activate_works: lower case, no dashes; then Ivan acts.
"$tlo" user activate "Ivan Interviewer" --code "${nodash,,}" --new-passphrase-file ivan.pass \
    >act.txt 2>&1 && ok || bad "activate_works: $(cat act.txt)"
[ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 4")" = 1 ] && ok ||
    bad "activate_works: no user-activated entry"
"$tlo" case open A-1 --as "Ivan Interviewer" --passphrase-file ivan.pass >out.txt 2>&1 && ok ||
    bad "activate_works: Ivan cannot act after activation: $(cat out.txt)"
"$tlo" verify >out.txt 2>&1 && ok || bad "activate_works: verify fails: $(cat out.txt)"
"$tlo" user list >list.txt && grep "Ivan Interviewer" list.txt | grep -q active && ok ||
    bad "activate_works: user list does not show Ivan active: $(cat list.txt)"

# code_used_twice_refused
expect_fail "code_used_twice_refused" "already activated" \
    "$tlo" user activate "Ivan Interviewer" --code "$code" --new-passphrase-file ivan2.pass

# admin_with_code_cannot_act: the code opens nothing any more.
expect_fail "admin_with_code_cannot_act" "passphrase" \
    "$tlo" case open A-2 --as "Ivan Interviewer" --passphrase-file code.txt

# activate_code_file: the code read from a file.
"$tlo" user activate "Olga Other" --code-file code2.txt --new-passphrase-file ivan2.pass \
    >out.txt 2>&1 && ok || bad "activate_code_file: $(cat out.txt)"

# passwd_changes_it: the old passphrase fails, the new one works.
expect_fail "passwd_policy_common" "common" \
    "$tlo" passwd --as "Ivan Interviewer" --passphrase-file ivan.pass \
    --new-passphrase-file <(echo 'password1234')
expect_fail "passwd_wrong_current" "passphrase" \
    "$tlo" passwd --as "Ivan Interviewer" --passphrase-file ivan2.pass --new-passphrase-file ivan2.pass
"$tlo" passwd --as "Ivan Interviewer" --passphrase-file ivan.pass --new-passphrase-file ivan2.pass \
    >out.txt 2>&1 && ok || bad "passwd_changes_it: $(cat out.txt)"
expect_fail "passwd_old_fails" "passphrase" \
    "$tlo" case open A-3 --as "Ivan Interviewer" --passphrase-file ivan.pass
"$tlo" case open A-4 --as "Ivan Interviewer" --passphrase-file ivan2.pass >out.txt 2>&1 && ok ||
    bad "passwd_changes_it: the new passphrase does not work: $(cat out.txt)"
ls vault/people | grep -v '\.id$' | grep -q . && bad "passwd left files in people/: $(ls vault/people)" || ok

# policy refusals for user add --new-passphrase-file, and a Chinese passphrase.
expect_fail "policy_add_short" "at least 12 characters; this one has 9" \
    "$tlo" user add "Sam Short" --role medical "${admin[@]}" --new-passphrase-file short.pass
for common in password1234 123456789012 qwertyuiopas PasswordPassword woaini1314520; do
    echo "$common" > common.pass
    expect_fail "policy_common ($common)" "common" \
        "$tlo" user add "Sam Short" --role medical "${admin[@]}" --new-passphrase-file common.pass
done
echo 'zzzzzzzzzzzzzzzz' > same.pass
expect_fail "policy_repeated" "one character" \
    "$tlo" user add "Sam Short" --role medical "${admin[@]}" --new-passphrase-file same.pass
echo '春眠不觉晓处处闻啼鸟夜' > zh11.pass # 11 characters, 33 bytes
expect_fail "policy_counts_characters" "this one has 11" \
    "$tlo" user add "Sam Short" --role medical "${admin[@]}" --new-passphrase-file zh11.pass
echo '春眠不觉晓处处闻啼鸟夜来' > zh12.pass # 12 characters
"$tlo" user add "王警官" --role interviewer "${admin[@]}" --new-passphrase-file zh12.pass >out.txt 2>&1 &&
    ok || bad "policy_chinese_12_accepted: $(cat out.txt)"
"$tlo" case list --as "王警官" --passphrase-file zh12.pass >out.txt 2>&1 && ok ||
    bad "policy_chinese_12_accepted: 王警官 cannot act: $(cat out.txt)"

# reenrol_after_revoke: the same name enrolled again acts with the new key
# (the revoked identity file stays in people/ beside the new one).
"$tlo" user revoke "Olga Other" "${admin[@]}" >/dev/null || bad "revoke Olga"
echo 'olga passphrase new' > olga.pass
"$tlo" user add "Olga Other" --role prosecutor "${admin[@]}" --new-passphrase-file olga.pass \
    >/dev/null || bad "user add Olga again"
"$tlo" case list --as "Olga Other" --passphrase-file olga.pass >out.txt 2>&1 && ok ||
    bad "reenrol_after_revoke: Olga cannot act: $(cat out.txt)"

# reissue_code: a person whose code expired gets a new one; the old one
# opens nothing, the new one activates.
"$tlo" user add "Pia Pending" --role prosecutor "${admin[@]}" >add3.txt 2>&1 || bad "user add Pia"
old_code=$(code_of add3.txt)
later=$(($(date +%s%3N) + 25 * hour_ms))
expect_fail "reissue_code (expired first)" "expired" \
    env TELLONCE_TEST_NOW_MS=$later "$tlo" user activate "Pia Pending" --code "$old_code" \
    --new-passphrase-file ivan.pass
expect_fail "reissue_code (not for an active person)" "already activated" \
    "$tlo" user add "Ivan Interviewer" --reissue "${admin[@]}"
"$tlo" user add "Pia Pending" --reissue "${admin[@]}" >add4.txt 2>&1 && ok ||
    bad "reissue_code: $(cat add4.txt)"
new_code=$(code_of add4.txt)
[ -n "$new_code" ] && [ "$new_code" != "$old_code" ] && ok || bad "reissue_code: no new code: $(cat add4.txt)"
expect_fail "reissue_code (old code)" "does not open" \
    "$tlo" user activate "Pia Pending" --code "$old_code" --new-passphrase-file ivan.pass
"$tlo" user activate "Pia Pending" --code "$new_code" --new-passphrase-file ivan.pass >out.txt 2>&1 &&
    ok || bad "reissue_code: activate with the new code: $(cat out.txt)"
"$tlo" case list --as "Pia Pending" --passphrase-file ivan.pass >out.txt 2>&1 && ok ||
    bad "reissue_code: Pia cannot act: $(cat out.txt)"

# activate_killed_while_relocking: killed after the new file is written,
# before the rename: the code still works, and the .new is cleaned up.
"$tlo" user add "Kim Killed" --role auditor "${admin[@]}" >add5.txt 2>&1 || bad "user add Kim"
kim_code=$(code_of add5.txt)
env TELLONCE_TEST_KILL_AT=relock-written "$tlo" user activate "Kim Killed" --code "$kim_code" \
    --new-passphrase-file ivan.pass >/dev/null 2>&1
[ $? -eq 137 ] && ok || bad "activate_killed_while_relocking: not killed"
ls vault/people/*.new >/dev/null 2>&1 && ok || bad "activate_killed_while_relocking: no .new was left to clean up"
"$tlo" user activate "Kim Killed" --code "$kim_code" --new-passphrase-file ivan.pass >out.txt 2>&1 &&
    ok || bad "activate_killed_while_relocking: the code no longer works: $(cat out.txt)"
ls vault/people/*.new >/dev/null 2>&1 && bad "activate_killed_while_relocking: .new left: $(ls vault/people)" || ok

"$tlo" verify >out.txt 2>&1 && ok || bad "verify at the end: $(cat out.txt)"
echo "cli_enrol: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
