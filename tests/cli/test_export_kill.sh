#!/usr/bin/env bash
# export killed at each of its steps (TELLONCE_TEST_KILL_AT, test-only), and
# kill -9 while the watermarked clip is being encoded: the output's directory
# then holds nothing, or the manifest alone (killed between the two links);
# never a temporary file, never a clip without its manifest. The same export
# run again succeeds, verify-export checks it, and the vault verifies.
# usage: test_export_kill.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-export-kill.XXXXXX")
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
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 8 s" -- "$tlo" record "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 8 --no-live
s1=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" | sed -n 's/^session=//p')
expect 0 "grant" -- "$tlo" grant "2026-K-7" --to "Per Prosecutor" --session "$s1" \
    --expires 2099-12-31 --purpose "trial preparation" --actions export --as "Anna Admin" "${pass[@]}"
key=$("$tlo" checkpoint --verifier-key)
exports() { ledger "SELECT count(*) FROM entries WHERE kind = 42"; }
export_cmd() { # export_cmd DIR [--watermark]
    "$tlo" export "2026-K-7" --session "$s1" --from 00:00:01 --to 00:00:05 -o "$1/clip.mp4" \
        ${2:-} --as "Per Prosecutor" "${pass[@]}"
}
# What the output's directory holds, one name a line.
listing() { ls -A "$1" | sort | tr '\n' ' '; }
# Anything in the vault that is not a file of the vault's own (a temporary
# or plaintext file): every file of objects/ is sealed, nothing in tmp/.
vault_clean() {
    [ -z "$(ls -A vault/tmp 2>/dev/null)" ] || { echo "vault/tmp: $(ls -A vault/tmp)"; return 1; }
    local f
    for f in vault/objects/*; do
        [ "$(head -c 4 "$f" | od -An -tx1 | tr -d ' ')" = 89544c4f ] || { echo "$f"; return 1; }
    done
    ! grep -rlaE 'ftyp(isom|mp42)' vault --exclude-dir=objects
}
# after_kill WHAT DIR ALLOWED: the listing is ALLOWED ("" or a manifest)
# and the vault holds no plaintext; then the same export succeeds and
# verifies.
after_kill() {
    local what=$1 d=$2 allowed=$3 got
    got=$(listing "$d")
    [ "$got" = "$allowed" ] && ok || bad "$what: left in the output's directory: '$got', expected '$allowed'"
    vault_clean && ok || bad "$what: the vault holds a file it should not"
    local before
    before=$(exports)
    expect 0 "$what: the export run again" -- export_cmd "$d" ${4:-}
    [ "$(listing "$d")" = "clip.mp4 clip.mp4.manifest clip.mp4.sha256 " ] && ok ||
        bad "$what: after the second export: $(listing "$d")"
    [ "$(exports)" -eq $((before + 1)) ] && ok || bad "$what: export entries $before -> $(exports)"
    expect 0 "$what: verify-export" -- "$tlo" verify-export "$d/clip.mp4" --verifier-key "$key"
    expect 0 "$what: verify-export with the vault" -- "$tlo" verify-export "$d/clip.mp4" --vault "$TELLONCE_VAULT"
    expect 0 "$what: verify" -- "$tlo" verify
}

for step in export-released export-muxed export-logged export-manifest-published; do
    d=out-$step
    mkdir "$d"
    TELLONCE_TEST_KILL_AT=$step expect 137 "export killed at $step" -- export_cmd "$d"
    allowed=""
    [ "$step" = export-manifest-published ] && allowed="clip.mp4.manifest "
    after_kill "$step" "$d" "$allowed"
done
d=out-wm-muxed
mkdir "$d"
TELLONCE_TEST_KILL_AT=export-muxed expect 137 "a watermarked export killed at export-muxed" -- \
    export_cmd "$d" --watermark
after_kill "watermarked, export-muxed" "$d" "" --watermark

# kill -9 while the watermarked clip is being encoded: as soon as the
# process holds a file open in the output's directory.
d=$work/out-encoding
mkdir "$d"
"$tlo" export "2026-K-7" --session "$s1" --from 00:00:01 --to 00:00:05 -o "$d/clip.mp4" \
    --watermark --as "Per Prosecutor" "${pass[@]}" >enc.out 2>&1 </dev/null &
pid=$!
wait_for 120 "the export to open a file in $d" \
    'ls -l /proc/$pid/fd 2>/dev/null | grep -q -- "$d/"' "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null
after_kill "kill -9 while encoding" "$d" "" --watermark

# A manifest that is not an interrupted export's is never replaced.
d=out-other
mkdir "$d"
echo "my notes" > "$d/clip.mp4.manifest"
expect 2 "export over a manifest of something else" -- export_cmd "$d"
grep -q "already exists" err.txt && ok || bad "the refusal says why: $err"
[ "$(cat "$d/clip.mp4.manifest")" = "my notes" ] && ok || bad "the other manifest was changed"

# A manifest of this clip's name that the custodian did not sign (one line
# changed) is refused before anything is logged.
d=out-forged
mkdir "$d"
sed 's/^bytes \([0-9]*\)$/bytes 1\1/' out-export-muxed/clip.mp4.manifest > "$d/clip.mp4.manifest"
cmp -s "$d/clip.mp4.manifest" out-export-muxed/clip.mp4.manifest && bad "the manifest was not changed" || ok
granted=$(ledger "SELECT count(*) FROM entries WHERE kind = 40")
expect 2 "export over a manifest the custodian did not sign" -- export_cmd "$d"
grep -q "not a manifest this vault's custodian signed" err.txt && ok || bad "the refusal says why: $err"
[ "$(ledger "SELECT count(*) FROM entries WHERE kind = 40")" -eq "$granted" ] && ok ||
    bad "an access was logged for an export refused at once"
[ "$(listing "$d")" = "clip.mp4.manifest " ] && ok || bad "left: $(listing "$d")"

echo "cli_export_kill: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
