#!/usr/bin/env bash
# play_markers_inside_grant_in_order: play lists the session's markers that
# lie inside the range it shows, in session time order, and no other: a
# person granted 4-9 s does not learn of the markers at 2 s and 11 s, and
# markers added out of order are listed by their time.
# usage: test_play_markers.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-playmark.XXXXXX")
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

pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-9" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 12 s" -- "$tlo" record "2026-K-9" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 12 --no-live
s1=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')
for m in "00:00:08|eight" "00:00:05|five" "00:00:02|two (outside)" "00:00:11|eleven (outside)" \
    "00:00:04.500|four and a half"; do
    expect 0 "mark ${m%%|*}" -- "$tlo" mark "2026-K-9" --at "${m%%|*}" "${m#*|}" \
        --as "Ivan Interviewer" "${pass[@]}"
done
expect 0 "grant 4-9 s" -- "$tlo" grant "2026-K-9" --to "Per Prosecutor" --session "$s1" \
    --from 4 --until 9 --expires 2099-12-31 --purpose "trial preparation" \
    --as "Anna Admin" "${pass[@]}"
expect 0 "play the grant" -- "$tlo" play "2026-K-9" --session "$s1" --from 4 --to 9 \
    --as "Per Prosecutor" "${pass[@]}" --headless
listed=$(sed -n 's/^  marker \([0-9:.]*\)  .*/\1/p' err.txt | tr '\n' ' ')
[ "$listed" = "00:00:04.500 00:00:05.000 00:00:08.000 " ] && ok ||
    bad "play_markers_inside_grant_in_order: listed '$listed', want 4.5, 5 and 8 s in order; stderr: $err"
grep -q "outside" err.txt && bad "play_markers_inside_grant_in_order: a marker outside the grant is shown" || ok

echo "play_markers: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
