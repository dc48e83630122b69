#!/usr/bin/env bash
# Issue 10 section 2: the tail of the ledger cannot vanish unnoticed.
# Every command that appends leaves a checkpoint covering the whole ledger;
# verify checks every checkpoint file, every checkpoint entry, published
# copies (--checkpoints) and a pinned custodian key (--verifier-key). Each
# attack below passed 'verify' before (docs/ledger.md, "Trust model").
# usage: test_tail.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-tail.XXXXXX")
holder=
trap '[ -n "$holder" ] && kill "$holder" 2>/dev/null; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
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
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stdout: $out; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
entries() { sqlite3 "${1:-vault}/ledger.db" 'SELECT count(*) FROM entries'; }
newest_size() { # the size the newest checkpoint in DIR (default the vault's) covers
    local f
    f=$(ls "${1:-vault/checkpoints}" 2>/dev/null | grep -E '^[0-9]{20}\.checkpoint$' | tail -1)
    [ -n "$f" ] && sed -n 2p "${1:-vault/checkpoints}/$f" || echo 0
}
# covered WHAT: the newest checkpoint covers every entry of the ledger.
covered() {
    local n c
    n=$(entries) c=$(newest_size)
    [ "$n" = "$c" ] && ok || bad "$1: the ledger has $n entries, its newest checkpoint covers $c"
}
save() { rm -rf "$1"; mkdir "$1" && cp vault/ledger.db* "$1"/; }    # save DIR: ledger.db*
restore() { rm -f vault/ledger.db*; cp "$1"/ledger.db* vault/; }  # restore DIR

pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"

# ---- every verb that appends ends covered by a checkpoint ----
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor" "Tom Temp:medical"; do
    expect 0 "user add ${who%%:*}" -- "$tlo" user add "${who%%:*}" --role "${who##*:}" \
        --as "Anna Admin" "${pass[@]}" --new-passphrase-file p.pass
    covered "user add ${who%%:*}"
done
expect 0 "user revoke" -- "$tlo" user revoke "Tom Temp" --as "Anna Admin" "${pass[@]}" --reason "left"
covered "user revoke"
expect 0 "case open" -- "$tlo" case open "2026-T-1" --as "Ivan Interviewer" "${pass[@]}"
covered "case open"
expect 0 "case show" -- "$tlo" case show "2026-T-1" --as "Ivan Interviewer" "${pass[@]}"
covered "case show"
expect 1 "case show refused" -- "$tlo" case show "2026-T-1" --as "Per Prosecutor" "${pass[@]}"
covered "case show refused (the refusal is logged and covered)"
expect 0 "record 4 s" -- "$tlo" record "2026-T-1" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 4 --no-live
covered "record"
session=$(newest_session)
expect 0 "mark" -- "$tlo" mark "2026-T-1" --at 00:00:01 "a marker" --as "Ivan Interviewer" "${pass[@]}"
covered "mark"
grant_export() { # grant_export: a grant to Per of the whole session, its number in $grant
    expect 0 "grant" -- "$tlo" grant "2026-T-1" --to "Per Prosecutor" --session "$session" \
        --from 0 --expires 2099-12-31 --purpose "trial" --actions export --as "Anna Admin" "${pass[@]}"
    grant=$(sed -n 's/^Grant \([0-9]*\):.*/\1/p' <<<"$out")
}
grant_export
covered "grant"
expect 0 "export" -- "$tlo" export "2026-T-1" --session "$session" --from 0 --to 1 -o one.mp4 \
    --as "Per Prosecutor" "${pass[@]}"
covered "export"
expect 0 "checkpoint" -- "$tlo" checkpoint
covered "checkpoint (its own entry is covered too)"
expect 0 "verify" -- "$tlo" verify
contains "$out" "extends all" "verify names the vault's checkpoints"

# ---- cut_after_grant_revoke: the ledger copied aside, a grant revoked, the
# copy put back. Without a key, this passed verify, the grant was active
# again and the custodian exported under it. ----
save before-revoke
expect 0 "grant revoke" -- "$tlo" grant revoke "$grant" --as "Anna Admin" "${pass[@]}"
covered "grant revoke"
revoked_size=$(newest_size)
save after-revoke
restore before-revoke
expect 1 "cut_after_grant_revoke: verify fails" -- "$tlo" verify
contains "$out" "$(printf '%020d' "$revoked_size").checkpoint" "cut_after_grant_revoke: verify names the checkpoint"
contains "$out" "removed from its end" "cut_after_grant_revoke: verify says what happened"
expect 1 "cut_after_grant_revoke: no export under the revoked grant" -- "$tlo" export "2026-T-1" \
    --session "$session" --from 0 --to 1 -o cut.mp4 --as "Per Prosecutor" "${pass[@]}"
[ ! -e cut.mp4 ] && ok || bad "cut_after_grant_revoke: a clip was exported under the revoked grant"
# The custodian finds it first by what it verified itself (custodian.state),
# and would by the checkpoint without it (published_copies below).
contains "$err" "the custodian verified" "cut_after_grant_revoke: the custodian names what it verified"
contains "$err" "an older ledger.db was put back" "cut_after_grant_revoke: the custodian says why"
restore after-revoke
expect 0 "the whole ledger back verifies" -- "$tlo" verify
expect 1 "export under the revoked grant, refused" -- "$tlo" export "2026-T-1" --session "$session" \
    --from 0 --to 1 -o refused.mp4 --as "Per Prosecutor" "${pass[@]}"
covered "export refused (the refusal is logged and covered)"

# ---- older_checkpoint_altered: only the newest file was read ----
oldest=$(ls vault/checkpoints | head -1)
cp "vault/checkpoints/$oldest" oldest.keep
sed -i '3s/^./X/' "vault/checkpoints/$oldest" # the root line
expect 1 "older_checkpoint_altered: verify fails" -- "$tlo" verify
contains "$err" "$oldest" "older_checkpoint_altered: names the file"
cp oldest.keep "vault/checkpoints/$oldest"

# ---- checkpoint_entry_file_missing: a checkpoint entry's file deleted ----
logged=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 70 ORDER BY seq LIMIT 1" |
    sed -n 's/^size=//p')
logged_file=$(printf '%020d.checkpoint' "$logged")
mv "vault/checkpoints/$logged_file" logged.keep
expect 1 "checkpoint_entry_file_missing: verify fails" -- "$tlo" verify
contains "$out" "$logged_file is missing" "checkpoint_entry_file_missing: names the file"
mv logged.keep "vault/checkpoints/$logged_file"

# ---- wal_bitflip: one flipped byte in ledger.db-wal dropped the last
# committed entries (SQLite ignores frames after a bad checksum). A reader
# holds the database open so the WAL stays. ----
python3 -c 'import os, sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN"); c.execute("SELECT count(*) FROM entries").fetchone()
open(sys.argv[2], "w").close()
end = time.monotonic() + 300
while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
    time.sleep(0.05)' vault/ledger.db holder.ready holder.stop </dev/null >/dev/null 2>&1 &
holder=$!
wait_for 30 "the reader holding the ledger" "[ -e holder.ready ]" "$holder"
expect 0 "user add while a reader holds the ledger" -- "$tlo" user add "Wal Walker" --role medical \
    --as "Anna Admin" "${pass[@]}" --new-passphrase-file p.pass
rm -rf walcopy && cp -r vault walcopy
touch holder.stop; wait "$holder"; holder=
[ -s walcopy/ledger.db-wal ] && ok || bad "wal_bitflip: the WAL was not kept"
wal_size=$(stat -c %s walcopy/ledger.db-wal)
python3 -c 'import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) - 100] ^= 1; open(p, "wb").write(b)' walcopy/ledger.db-wal
expect 1 "wal_bitflip: verify fails" -- "$tlo" verify --vault walcopy
contains "$out" "removed from its end" "wal_bitflip: the lost entry is found"
[ "$(entries walcopy)" -lt "$(entries)" ] && ok || bad "wal_bitflip: the flip did not drop an entry (WAL $wal_size bytes)"

# ---- published_copies: the tail cut AND the vault's own checkpoints
# deleted; only copies published elsewhere (or an auditor's) catch it. A
# fresh vault, so no checkpoint entry gives the cut away. ----
mkdir pub
rm -rf vault && mkdir vault
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init 2"
echo "publish=$work/pub" > vault/vault.conf
expect 0 "user add, published" -- "$tlo" user add "Pia Pub" --role medical \
    --as "Anna Admin" "${pass[@]}" --new-passphrase-file p.pass
[ "$(newest_size pub)" = "$(entries)" ] && ok || bad "published_copies: vault.conf did not publish the checkpoint"
save before-cut
expect 0 "user revoke, published" -- "$tlo" user revoke "Pia Pub" --as "Anna Admin" "${pass[@]}" --reason x
[ "$(newest_size pub)" = "$(entries)" ] && ok || bad "published_copies: vault.conf did not publish the new checkpoint"
save after-cut
restore before-cut
rm -f vault/checkpoints/*
expect 0 "published_copies: the vault alone cannot tell (trust model)" -- "$tlo" verify
expect 1 "published_copies: verify --checkpoints fails" -- "$tlo" verify --checkpoints "$work/pub"
contains "$out" "$work/pub/" "published_copies: names the published checkpoint"
contains "$out" "removed from its end" "published_copies: says what happened"
# The custodian too refuses to sign once the checkpoints are back.
cp pub/* vault/checkpoints/
expect 1 "published_copies: the custodian signs nothing more" -- "$tlo" user add "Cut Later" \
    --role medical --as "Anna Admin" "${pass[@]}" --new-passphrase-file p.pass
contains "$err" "No decision is made" "published_copies: refusal message (the custodian checks the ledger it verified before it lets anyone act)"
restore after-cut
expect 0 "the whole ledger back verifies against the published copies" -- "$tlo" verify --checkpoints "$work/pub"
# checkpoint --publish copies every checkpoint another directory lacks.
mkdir pub2
expect 0 "checkpoint --publish" -- "$tlo" checkpoint --publish "$work/pub2"
contains "$out" "published to $work/pub2" "checkpoint --publish output"
[ "$(ls vault/checkpoints | wc -l)" = "$(ls pub2 | wc -l)" ] && ok || bad "checkpoint --publish: not every checkpoint was copied"
expect 0 "verify against both" -- "$tlo" verify --checkpoints "$work/pub" --checkpoints "$work/pub2"

# ---- publish_failure: the local checkpoint stays, the command fails clearly ----
rm -rf vault && mkdir vault
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init 3"
echo "publish=$work/unmounted/share" > vault/vault.conf
expect 3 "publish_failure: the command fails (a system failure)" -- "$tlo" user add "Pia Pub" --role medical \
    --as "Anna Admin" "${pass[@]}" --new-passphrase-file p.pass
contains "$err" "publishing it to $work/unmounted/share" "publish_failure: names the directory"
contains "$err" "is kept in" "publish_failure: says the local checkpoint is kept"
covered "publish_failure: the local checkpoint is kept"
rm vault/vault.conf
expect 0 "after a publish failure, verify" -- "$tlo" verify

# ---- pinned_key: a whole fake vault with the same origin and names ----
key=$("$tlo" checkpoint --verifier-key --vault vault)
origin2=$(sed 's/+.*//' <<<"$key")
expect 0 "pinned_key: the real vault" -- "$tlo" verify --verifier-key "$key"
contains "$out" "pinned verifier key" "pinned_key: says so"
"$tlo" init --vault fake --origin "$origin2" --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "fake init"
"$tlo" user add "Pia Pub" --role medical --vault fake --as "Anna Admin" "${pass[@]}" \
    --new-passphrase-file p.pass >/dev/null || bad "fake user add"
expect 0 "pinned_key: the fake verifies alone" -- "$tlo" verify --vault fake
[ "$(head -1 "fake/checkpoints/$(ls fake/checkpoints | tail -1)")" = "$origin2" ] && ok ||
    bad "pinned_key: the fake vault's origin is not the real one's"
expect 1 "pinned_key: the fake fails with the pinned key" -- "$tlo" verify --vault fake --verifier-key "$key"
contains "$out" "not the pinned verifier key" "pinned_key: message"
expect 2 "pinned_key: a malformed key" -- "$tlo" verify --verifier-key "nonsense"

echo "cli_tail: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
