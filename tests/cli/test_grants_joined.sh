#!/usr/bin/env bash
# Touching grants are joined (issue 13): a person granted 0-10 s and 10-20 s
# of a session (two grant entries) may play 5-15 s, the custodian logs the
# range and both grants, and without --from/--to the range is 0-20 s. A gap
# of 1 s is not joined (refused before anything is signed, naming both
# ranges); a revoked or expired grant is never joined.
# usage: test_grants_joined.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tlo_test_start joined
count() { ledger "SELECT count(*) FROM entries"; }
newest_access() { ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 40 ORDER BY seq DESC LIMIT 1"; }

for who in admin officer p1 p2 p3 p4; do echo "$who passphrase" > $who.pass; done
"$tlo" init --admin Admin --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add Officer --role interviewer --as Admin --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add Officer"
for p in p1 p2 p3 p4; do
    "$tlo" user add "Pros $p" --role prosecutor --as Admin --passphrase-file admin.pass \
        --new-passphrase-file $p.pass >/dev/null || bad "user add $p"
done
"$tlo" case open C-1 --as Officer --passphrase-file officer.pass >/dev/null || bad "case open"
"$tlo" record C-1 --as Officer --passphrase-file officer.pass --duration 21 --no-live \
    >/dev/null 2>&1 || bad "record"
s=$(newest_session)
grant() { # grant PERSON FROM TO [EXPIRES]: prints the grant's entry number
    "$tlo" grant C-1 --for "Pros $1" --session "$s" --from "$2" --to "$3" \
        --expires "${4:-2099-12-31}" --purpose "hearing" --as Admin --passphrase-file admin.pass |
        sed -n 's/^Grant \([0-9]*\):.*/\1/p'
}
play() { # play PERSON [RANGE...]
    local p=$1; shift
    expect "$want" "$what" -- "$tlo" play C-1 --session "$s" "$@" --as "Pros $p" \
        --passphrase-file $p.pass --headless
}
a1=$(grant p1 0 10) b1=$(grant p1 10 20)
a2=$(grant p2 0 10) b2=$(grant p2 11 20)
a3=$(grant p3 0 10) b3=$(grant p3 10 20)
a4=$(grant p4 0 10) b4=$(grant p4 10 20 2030-06-30)
[ -n "$a1" ] && [ -n "$b1" ] && [ -n "$a2" ] && [ -n "$b2" ] && [ -n "$b3" ] && [ -n "$b4" ] &&
    ok || bad "grants: '$a1' '$b1' '$a2' '$b2' '$b3' '$b4'"
"$tlo" grant revoke "$b3" --reason "test" --as Admin --passphrase-file admin.pass >/dev/null ||
    bad "revoke"

# 5-15 s across two touching grants: released, logged with the range and both grants.
want=0 what="contiguous_grants_joined: 5-15 s" play p1 --from 5 --to 15
contains "$out" "track 0: video, 250 frames" "contiguous_grants_joined: 10 s decoded"
body=$(newest_access)
contains "$body" "from_ms=5000" "contiguous_grants_joined: logged from"
contains "$body" "to_ms=15000" "contiguous_grants_joined: logged to"
contains "$body" "grant=$a1" "contiguous_grants_joined: the grant holding the start"
contains "$body" "grants=$a1,$b1" "contiguous_grants_joined: both grants logged"
# Without a range: the joined span, 0-20 s, and no note about other ranges.
want=0 what="contiguous_default_range: no range" play p1
contains "$out" "track 0: video, 500 frames" "contiguous_default_range: 20 s decoded"
lacks "$err" "more than one range" "contiguous_default_range: no note"
body=$(newest_access)
contains "$body" "from_ms=0" "contiguous_default_range: logged from"
contains "$body" "to_ms=20000" "contiguous_default_range: logged to"

# A 1 s gap: not joined. Refused before anything is signed, naming both ranges.
n0=$(count)
want=2 what="gap_not_joined: 5-15 s" play p2 --from 5 --to 15
contains "$err" "00:00:00 to 00:00:10, 00:00:11 to 00:00:20" "gap_not_joined: names both ranges"
[ "$(count)" -eq "$n0" ] && ok || bad "gap_not_joined: something was logged"
want=0 what="gap_default_range: no range" play p2
contains "$err" "more than one range" "gap_default_range: the note"
contains "$err" "00:00:11 to 00:00:20" "gap_default_range: the note names the other range"
contains "$(newest_access)" "to_ms=10000" "gap_default_range: the first grant only"

# A revoked grant is not joined (the cli refuses; the custodian too, below).
want=2 what="revoked_not_joined: 5-15 s" play p3 --from 5 --to 15
contains "$err" "00:00:00 to 00:00:10" "revoked_not_joined: names the live grant"
lacks "$err" "00:00:20" "revoked_not_joined: not the revoked one"
# An expired grant is not joined (in 2031, the second grant of p4 has expired).
export TELLONCE_TEST_NOW_MS=1924992000000 # 2031-01-01
want=2 what="expired_not_joined: 5-15 s" play p4 --from 5 --to 15
contains "$err" "00:00:00 to 00:00:10" "expired_not_joined: names the live grant"
lacks "$err" "00:00:20" "expired_not_joined: not the expired one"
want=0 what="expired_default_range" play p4
contains "$(newest_access)" "to_ms=10000" "expired_default_range: the live grant only"
unset TELLONCE_TEST_NOW_MS

echo "test_grants_joined: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
