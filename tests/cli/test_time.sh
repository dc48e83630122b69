#!/usr/bin/env bash
# Times (issue 13): vault settings are signed entries (kind 5) only an
# administrator sets, checked before they are signed and read only from
# verified rows; every time a person reads is local with its offset, in the
# vault's time zone when it has one; a grant's --expires DAY ends at the end
# of DAY in that zone, and the entry records the exact instant.
# Every command runs with TZ=UTC, so a time shown in +08:00 comes from the
# vault's setting, not from the machine.
# usage: test_time.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-time.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" TZ=UTC
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stdout: $out; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' in: $1"; else ok; fi; }
count() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = $1"; }
body() { sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE seq = $1"; }
newest() { sqlite3 vault/ledger.db "SELECT max(seq) FROM entries WHERE kind = $1"; }
# local_ms ZONE 'YYYY-MM-DD HH:MM:SS.fff': that wall time in ZONE as UTC ms.
local_ms() {
    python3 -c 'import sys, datetime, zoneinfo
d = datetime.datetime.strptime(sys.argv[2], "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=zoneinfo.ZoneInfo(sys.argv[1]))
print(int(d.timestamp() * 1000 + 0.5))' "$1" "$2"
}
# day_in ZONE DAYS: the date DAYS days from today in ZONE.
day_in() {
    python3 -c 'import sys, datetime, zoneinfo
print((datetime.datetime.now(zoneinfo.ZoneInfo(sys.argv[1])) + datetime.timedelta(days=int(sys.argv[2]))).date())' "$1" "$2"
}
offset_re='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{2}:[0-9]{2}'

for who in admin officer pros; do echo "$who passphrase 12345" >$who.pass; done
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
add() { "$tlo" user add "$1" --role "$2" --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file "$3" >/dev/null || bad "user add $1"; }
add "张警官" interviewer officer.pass
add "Per Prosecutor" prosecutor pros.pass
"$tlo" case open "2026-刑-0042" --as "张警官" --passphrase-file officer.pass >/dev/null || bad "case open"
"$tlo" record "2026-刑-0042" --as "张警官" --passphrase-file officer.pass --duration 4 --no-live \
    >/dev/null 2>&1 || bad "record"
session=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')

# 1. settings_show_and_set: nothing set at first; an administrator sets the
# time zone with a signed kind-5 entry that show, --json and log name.
expect 0 "settings show" -- "$tlo" settings show
contains "$out" "timezone      (not set)" "settings show before any setting"
expect 0 "settings set timezone" -- "$tlo" settings set timezone Asia/Shanghai --as "Anna Admin" \
    --passphrase-file admin.pass
[ "$(count 5)" -eq 1 ] && ok || bad "settings set logs one vault-setting entry (kind 5)"
contains "$(body "$(newest 5)")" $'key=timezone\nvalue=Asia/Shanghai' "the entry's body"
expect 0 "settings show" -- "$tlo" settings
contains "$out" "timezone      Asia/Shanghai" "settings show after set"
contains "$out" "by Anna Admin" "settings show names who set it"
[[ $out =~ $offset_re ]] && ok || bad "settings show: the time it was set, with offset: $out"
expect 0 "settings show --json" -- "$tlo" settings show --json
python3 -c 'import json,sys; s={x["key"]:x for x in json.load(sys.stdin)["settings"]}
assert s["timezone"]["value"]=="Asia/Shanghai" and s["timezone"]["set"] is True
assert s["default-room"]["set"] is False and s["default-room"]["value"] is None' <out.txt &&
    ok || bad "settings show --json: $out"
expect 0 "log" -- "$tlo" log
contains "$out" "set the vault's timezone to Asia/Shanghai" "log describes the setting"

# 2. settings_set_refused_non_admin: a prosecutor is refused, and the
# refusal is logged (action-refused naming 'settings set').
refused=$(count 44)
expect 1 "settings set by a prosecutor" -- "$tlo" settings set timezone Europe/Berlin \
    --as "Per Prosecutor" --passphrase-file pros.pass
contains "$err" "only an administrator may" "the refusal says who may"
[ "$(count 44)" -eq $((refused + 1)) ] && ok || bad "the refusal is logged as action-refused"
contains "$(body "$(newest 44)")" "action=settings set" "the refusal names the row"
[ "$(count 5)" -eq 1 ] && ok || bad "a refused setting logs no vault-setting entry"

# 3. settings_bad_values_refused: zones that are not zones this machine
# has, names that walk out of /usr/share/zoneinfo, unknown keys, rooms that
# do not load; each refused before anything is signed, saying what to do.
for z in Mars/Olympus ../../../etc/passwd /etc/localtime Asia/../etc/passwd localtime \
    "Asia/Shanghai " 'Asia/Shang$hai' Asia; do
    expect 2 "timezone '$z'" -- "$tlo" settings set timezone "$z" --as "Anna Admin" \
        --passphrase-file admin.pass
    contains "$err" "/usr/share/zoneinfo" "the refusal of '$z' says where zones are"
done
expect 2 "an unknown key" -- "$tlo" settings set colour red --as "Anna Admin" --passphrase-file admin.pass
contains "$err" "the settings are timezone and default-room" "an unknown key names the keys"
expect 2 "a room that does not exist" -- "$tlo" settings set default-room /nonexistent/room.room \
    --as "Anna Admin" --passphrase-file admin.pass
expect 2 "a room by a relative path" -- "$tlo" settings set default-room room.room \
    --as "Anna Admin" --passphrase-file admin.pass
contains "$err" "full path" "a relative room path is refused, saying to give the full path"
expect 0 "default-room simulated" -- "$tlo" settings set default-room simulated \
    --as "Anna Admin" --passphrase-file admin.pass
[ "$(count 5)" -eq 2 ] && ok || bad "only the good values were logged: $(count 5) entries"

# 4. grant_expires_end_of_day_in_vault_zone: --expires DAY ends at
# 23:59:59.999 of DAY in Asia/Shanghai (not of the UTC day, 08:00 the next
# morning there), recorded exactly; grant list shows it local with offset.
day=$(day_in Asia/Shanghai 400)
want=$(local_ms Asia/Shanghai "$day 23:59:59.999")
expect 0 "grant --expires $day" -- "$tlo" grant "2026-刑-0042" --to "Per Prosecutor" \
    --session "$session" --expires "$day" --purpose "hearing" --actions view,export \
    --as "Anna Admin" --passphrase-file admin.pass
contains "$out" "$day 23:59:59 +08:00" "the grant says when it ends, local with offset"
g=$(newest 30)
contains "$(body "$g")" "expires_ms=$want" "the grant records the end of $day in Asia/Shanghai"
expect 0 "grant list" -- "$tlo" grant list "2026-刑-0042"
contains "$out" "until $day 23:59:59 +08:00" "grant list shows the end local with offset"
expect 0 "grant list --json" -- "$tlo" grant list "2026-刑-0042" --json
python3 -c 'import json,sys; g=json.load(sys.stdin); g=g if isinstance(g,list) else g["grants"]
assert g[-1]["expires_ms"]=='"$want"', g' <out.txt && ok || bad "grant list --json: expires_ms: $out"
# A minute of a day: "YYYY-MM-DD HH:MM" ends at that minute, local.
expect 0 "grant --expires '$day 18:30'" -- "$tlo" grant "2026-刑-0042" --to "Per Prosecutor" \
    --session "$session" --expires "$day 18:30" --purpose "hearing" --as "Anna Admin" --passphrase-file admin.pass
contains "$(body "$(newest 30)")" "expires_ms=$(local_ms Asia/Shanghai "$day 18:30:00.000")" \
    "--expires 'DAY HH:MM' records that minute in Asia/Shanghai"
# A day already over in the vault's zone is refused, and so is no date.
yesterday=$(day_in Asia/Shanghai -1)
expect 2 "grant --expires $yesterday" -- "$tlo" grant "2026-刑-0042" --to "Per Prosecutor" \
    --session "$session" --expires "$yesterday" --purpose x --as "Anna Admin" --passphrase-file admin.pass
contains "$err" "past" "a past day is refused as past"
expect 2 "grant --expires 2030-02-30" -- "$tlo" grant "2026-刑-0042" --to "Per Prosecutor" \
    --session "$session" --expires 2030-02-30 --purpose x --as "Anna Admin" --passphrase-file admin.pass
# Unset, the system's zone (UTC here) counts again.
expect 0 "settings set timezone ''" -- "$tlo" settings set timezone "" --as "Anna Admin" \
    --passphrase-file admin.pass
expect 0 "grant --expires $day (no zone set)" -- "$tlo" grant "2026-刑-0042" --to "Per Prosecutor" \
    --session "$session" --expires "$day" --purpose "hearing" --as "Anna Admin" --passphrase-file admin.pass
contains "$(body "$(newest 30)")" "expires_ms=$(local_ms UTC "$day 23:59:59.999")" \
    "unset, the grant ends with the day in the system's zone"
contains "$out" "$day 23:59:59 +00:00" "unset, the grant's end is shown in the system's zone"
expect 0 "settings set timezone again" -- "$tlo" settings set timezone Asia/Shanghai \
    --as "Anna Admin" --passphrase-file admin.pass

# 5. verify_proof_local_time: verify-proof says when the entry was logged,
# local with offset (not raw milliseconds); with --vault in its zone.
"$tlo" checkpoint --verifier-key >vkey || bad "checkpoint --verifier-key"
"$tlo" checkpoint -o cp >/dev/null || bad "checkpoint"
"$tlo" prove --entry 1 -o e1.proof >/dev/null || bad "prove"
expect 0 "verify-proof --vault" -- "$tlo" verify-proof e1.proof --vault vault
lacks "$out" " ms," "verify-proof shows no raw milliseconds"
[[ $out =~ $offset_re ]] && contains "$out" "+08:00" "verify-proof --vault: the vault's zone" ||
    bad "verify-proof --vault: no local time with offset: $out"
expect 0 "verify-proof --verifier-key" -- env TZ=America/New_York "$tlo" verify-proof e1.proof \
    --verifier-key "$(cat vkey)"
[[ $out =~ [0-9]{2}:[0-9]{2}:[0-9]{2}\ -0[45]:00 ]] && ok ||
    bad "verify-proof without a vault: the system's zone with its offset: $out"

# 6. export_watermark_offset: the watermark burned into an export (and
# logged in its entry) gives the time with its offset, not a zone's
# abbreviation.
expect 0 "export --watermark" -- "$tlo" export "2026-刑-0042" --session "$session" --from 0 --to 2 \
    --as "Per Prosecutor" --passphrase-file pros.pass --watermark -o clip.mp4
wm=$(body "$(newest 42)" | sed -n 's/^watermark=//p')
[[ $wm =~ $offset_re$ ]] && contains "$wm" "+08:00" "the export watermark: the vault's zone" ||
    bad "export watermark without an offset: $wm"

# 7. tampered_setting_row_refused: a vault-setting row changed in the
# database is not read (settings show names the entry) and verify fails
# naming it.
s=$(newest 5)
sqlite3 vault/ledger.db "DROP TRIGGER IF EXISTS entries_no_update;
  UPDATE entries SET body = CAST(replace(CAST(body AS TEXT), 'Asia/Shanghai', 'Asia/Tokyo') AS BLOB)
  WHERE seq = $s;" || bad "tamper with entry $s"
expect 1 "settings show on a tampered row" -- "$tlo" settings show
contains "$err" "entry $s" "settings show names the changed entry"
lacks "$out" "Asia/Tokyo" "the changed value is never shown"
expect 1 "verify" -- "$tlo" verify
# (verify names it, or, when a checkpoint covers it, names it as the last
# entry that checkpoint holds: "an entry up to N was changed")
grep -qE "(entry|up to) $s([^0-9]|$)" <<<"$out$err" && ok || bad "verify names the changed entry $s: $out$err"
expect 0 "grant list on the tampered vault" -- "$tlo" grant list "2026-刑-0042"
lacks "$out" "+09:00" "times are never shown in the changed zone"

echo "test_time: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
