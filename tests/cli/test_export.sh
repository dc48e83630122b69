#!/usr/bin/env bash
# tellonce export and verify-export as a prosecutor and an auditor use them:
# a granted clip out as a standard MP4 with a signed manifest that
# verify-export checks with no key and no ledger; any changed byte of either
# fails it; refused exports (out of range, an auditor, another session,
# revoked or expired grants) are logged and write nothing; --watermark
# re-encodes with the exporter's name in the picture, and says so.
# usage: test_export.sh TELLONCE_BINARY
set -u
tlo=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-export.XXXXXX")
trap 'umount "$work/small" 2>/dev/null; rm -rf "$work"' EXIT
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
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# py CHECK-NAME PYTHON: runs python on the JSON log in out.txt ('d'); exit 0 passes.
py() { if python3 -c "import json, sys
d = json.load(open('out.txt'))
$2"; then ok; else bad "$1"; fi; }
flip() { # flip FILE OFFSET: one bit of one byte
    python3 -c 'import sys
p, i = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[i] ^= 1; open(p, "wb").write(b)' "$1" "$2"
}
offset() { grep -boaF -- "$2" "$1" | head -n 1 | cut -d: -f1; } # offset FILE TEXT
denied() { sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 41"; }

pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor" "Aud Auditor:auditor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 12 s" -- "$tlo" record "2026-K-7" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 12 --no-live
expect 0 "record another session" -- "$tlo" record "2026-K-7" --as "Ivan Interviewer" \
    "${pass[@]}" --duration 4 --no-live
sessions=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq" |
    sed -n 's/^session=//p')
s1=$(sed -n 1p <<<"$sessions") s2=$(sed -n 2p <<<"$sessions")
[ ${#s1} -eq 32 ] && [ ${#s2} -eq 32 ] && ok || bad "two sessions: $sessions"
key=$("$tlo" checkpoint --verifier-key)
expect 0 "grant an export of 00:00:03-00:00:09" -- "$tlo" grant "2026-K-7" --to "Per Prosecutor" \
    --session "$s1" --from 00:00:03 --until 00:00:09 --expires 2099-12-31 \
    --purpose "trial preparation" --actions export --as "Anna Admin" "${pass[@]}"
grant=$(sed -n 's/^Grant \([0-9]*\):.*/\1/p' <<<"$out")

# ---- the export ----
expect 0 "export 00:00:04-00:00:08" -- "$tlo" export "2026-K-7" --session "$s1" \
    --from 00:00:04 --to 00:00:08 -o clip.mp4 --as "Per Prosecutor" "${pass[@]}"
contains "$out" "manifest  clip.mp4.manifest, signed by the custodian" "export output"
[ -f clip.mp4 ] && [ -f clip.mp4.manifest ] && ok || bad "clip and manifest written"
# manifest_private_without_case_number: it travels to outsiders; the number
# police use stays in the sealed case record.
[ "$(stat -c %a clip.mp4.manifest)" = 600 ] && [ "$(stat -c %a clip.mp4)" = 600 ] && ok ||
    bad "manifest_private_without_case_number: modes $(stat -c %a clip.mp4 clip.mp4.manifest)"
grep -qF "2026-K-7" clip.mp4.manifest && bad "manifest_private_without_case_number: it names the case number" || ok
[ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE instr(CAST(body AS TEXT), '2026-K-7') > 0")" = 0 ] &&
    ok || bad "manifest_private_without_case_number: the ledger names the case number"
# check_clip FILE SECONDS TOLERANCE: mode 0600, no temporary file left, two
# cameras and a microphone, the duration, and a clean decode by ffmpeg.
check_clip() {
    local f=$1 want=$2 tol=$3 codecs duration
    [ "$(stat -c %a "$f")" = 600 ] && ok || bad "$f is mode $(stat -c %a "$f")"
    ls -a | grep -q "^\.${f%.mp4}" && bad "a temporary file was left: $(ls -a)" || ok
    codecs=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$f" | tr '\n' ' ')
    [ "$codecs" = "h264 h264 aac " ] && ok || bad "ffprobe streams of $f: $codecs"
    duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    python3 -c "import sys; sys.exit(0 if abs(float('$duration') - $want) <= $tol else 1)" && ok ||
        bad "$f: duration $duration is not within $tol s of $want s"
    ffmpeg -v error -i "$f" -f null - >ff.txt 2>&1 && [ ! -s ff.txt ] && ok ||
        bad "$f does not decode cleanly: $(head -c 400 ff.txt)"
}
check_clip clip.mp4 4.0 4.0 # within one segment: it starts at a keyframe
python3 -c 'import sys
d = open("clip.mp4", "rb").read(64 * 1024)
sys.exit(0 if b"moov" in d and b"moof" not in d else 1)' && ok || bad "not a faststart, non-fragmented MP4"
# The manifest's digest line is what sha256sum prints, so sha256sum checks it.
sed -n 's/^sha256sum //p' clip.mp4.manifest | sha256sum -c --quiet - && ok || bad "sha256sum -c"
grep -c '^segment ' clip.mp4.manifest | grep -qx 1 && ok || bad "4-8 s is one segment"
expect 0 "the same export again" -- "$tlo" export "2026-K-7" --session "$s1" --from 4 --to 8 \
    -o again.mp4 --as "Per Prosecutor" "${pass[@]}"
cmp -s clip.mp4 again.mp4 && ok || bad "two exports of the same range differ"
expect 0 "verify-export with the verifier key" -- "$tlo" verify-export clip.mp4 --verifier-key "$key"
case_id=$(sqlite3 vault/ledger.db "SELECT lower(hex(case_id)) FROM entries WHERE kind = 10")
contains "$out" "OK: clip.mp4 is the clip exported from case $case_id" "verify-export output"
expect 0 "verify-export with the vault" -- "$tlo" verify-export clip.mp4 --vault vault
contains "$out" "the vault's ledger matches it" "verify-export --vault output"
# The access entry's proof is a standard proof file: verify-proof checks it alone.
awk '/^proof access-entry /{on=1; next} /^end proof$/{on=0} on' clip.mp4.manifest > access.tlog-proof
expect 0 "the embedded proof is a tlog-proof" -- "$tlo" verify-proof access.tlog-proof --verifier-key "$key"
contains "$out" "access-granted" "verify-proof names the access entry"
expect 0 "log --json" -- "$tlo" log --json
py "access and export entries" "
acc = [e for e in d if e['kind'] == 'access-granted' and e['body'].get('action') == 'export']
exp = [e for e in d if e['kind'] == 'export']
import re
sha = re.search(r'^sha256sum (\S+)', open('clip.mp4.manifest').read(), re.M).group(1)
ok = (len(acc) == 2 and len(exp) == 2 and acc[0]['entry'] < exp[0]['entry']
      and acc[0]['body']['grant'] == '$grant' and acc[0]['body']['segments'] == '1-1'
      and exp[0]['body']['access'] == str(acc[0]['entry']) and exp[0]['body']['clip_sha256'] == sha)
sys.exit(0 if ok else 1)"

# Across segments (3-9 s covers all three): one continuous timeline, each
# track's packets following on with neither gap nor overlap.
expect 0 "export 00:00:03-00:00:09, three segments" -- "$tlo" export "2026-K-7" --session "$s1" \
    --from 3 --to 9 -o three.mp4 --as "Per Prosecutor" "${pass[@]}"
grep -c '^segment ' three.mp4.manifest | grep -qx 3 && ok || bad "3-9 s is three segments"
# (Video starts at 0; audio within one AAC frame of it: its first frame is
# the first that starts at or after the clip's first keyframe.)
for st in v:0 v:1 a:0; do
    ffprobe -v error -select_streams "$st" -show_entries packet=pts,duration -of csv=p=0 three.mp4 |
        python3 -c 'import sys
rows = [tuple(map(int, l.split(",")[:2])) for l in sys.stdin if l.strip()]
gaps = [(a, b) for a, b in zip(rows, rows[1:]) if b[0] - a[0] != a[1]]
start_ok = rows and rows[0][0] == 0 if sys.argv[1].startswith("v") else rows and rows[0][0] <= rows[0][1]
sys.exit(0 if len(rows) > 100 and start_ok and not gaps else 1)' "$st" && ok ||
        bad "track $st of the three-segment clip is not continuous"
done
duration=$(ffprobe -v error -show_entries format=duration -of csv=p=0 three.mp4)
python3 -c "import sys; sys.exit(0 if 6.0 <= float('$duration') <= 7.0 else 1)" && ok ||
    bad "three-segment duration $duration"
expect 0 "verify-export of the three-segment clip" -- "$tlo" verify-export three.mp4 --vault vault

# A full disk: a clear error, nothing left behind, and the access still logged.
if [ "$(id -u)" -eq 0 ] && mkdir -p small && mount -t tmpfs -o size=512k tmpfs small 2>/dev/null; then
    before=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 40")
    expect 3 "export onto a full disk" -- "$tlo" export "2026-K-7" --session "$s1" --from 4 --to 8 \
        -o small/clip.mp4 --as "Per Prosecutor" "${pass[@]}"
    contains "$err" "No space left on device" "the full disk is named"
    [ -z "$(ls -A small)" ] && ok || bad "files left on the full disk: $(ls -A small)"
    [ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 40")" -eq $((before + 1)) ] &&
        ok || bad "the access before the full disk was not logged"
    umount small
else
    echo "SKIP: the full-disk case needs root to mount a small tmpfs"
fi

# A sealed segment damaged in the vault (a copy): the custodian compares each
# segment file with the digest its entry logged before releasing its key, so
# the export is refused before anything is decrypted, names the segment, and
# leaves nothing. (A chunk damaged after that check is still caught as it is
# read: tests/player/test_avio.c.)
obj=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21 ORDER BY seq LIMIT 1 OFFSET 1" |
    sed -n 's/^object=//p')
cp -a vault damaged && flip "damaged/objects/$obj.tlo" 500000
expect 1 "export from a damaged segment" -- "$tlo" export "2026-K-7" --vault damaged --session "$s1" \
    --from 4 --to 8 -o damaged.mp4 --as "Per Prosecutor" "${pass[@]}"
contains "$err" "segment 1 (damaged/objects/$obj.tlo) is not the file its entry" "the damaged segment is named"
contains "$err" "no key was released" "no key for the damaged segment"
[ ! -e damaged.mp4 ] && [ ! -e damaged.mp4.manifest ] && [ -z "$(ls -A | grep '^\.damaged')" ] && ok ||
    bad "files left by the failed export: $(ls -A)"

# ---- --watermark: the exporter burned into every picture (re-encoded) ----
expect 0 "export 00:00:04-00:00:08 --watermark" -- "$tlo" export "2026-K-7" --session "$s1" \
    --from 4 --to 8 -o wm.mp4 --watermark --as "Per Prosecutor" "${pass[@]}"
contains "$out" "re-encoded with the watermark in" "export --watermark output"
contains "$out" "watermark EXPORTED FOR Per Prosecutor - CASE $case_id - " "the watermark is shown"
# The speed, for the record (a figure, not an assertion).
echo "export --watermark: $(sed -n 's/.*re-encoded with the watermark in \([0-9.]* s ([0-9.]*x real time)\).*/\1/p' <<<"$out")"
[ -f wm.mp4 ] && [ -f wm.mp4.manifest ] && ok || bad "watermarked clip and manifest written"
check_clip wm.mp4 4.0 0.5 # re-encoded: it starts exactly at --from
python3 -c 'import sys
d = open("wm.mp4", "rb").read()
sys.exit(0 if b"moov" in d[:64 * 1024] and d.find(b"moov") < d.find(b"mdat") and b"moof" not in d else 1)' &&
    ok || bad "the watermarked clip is not a faststart, non-fragmented MP4"
wm_line=$(sed -n 's/^watermark //p' wm.mp4.manifest)
[[ "$wm_line" == "EXPORTED FOR Per Prosecutor - CASE $case_id - "* ]] && ok ||
    bad "the manifest's watermark line: '$wm_line'"
grep -qx 'clip 00:00:04.000 00:00:08.0[0-9][0-9]' wm.mp4.manifest && ok ||
    bad "the watermarked clip starts at --from: $(grep '^clip ' wm.mp4.manifest)"
grep -q '^watermark ' clip.mp4.manifest && bad "a stream copy's manifest names a watermark" || ok
expect 0 "log --json" -- "$tlo" log --json
py "the export entry records the watermark" "
exp = [e for e in d if e['kind'] == 'export']
sys.exit(0 if exp[-1]['body'].get('watermark') == '$wm_line' and 'watermark' not in exp[0]['body'] else 1)"
expect 0 "verify-export of the watermarked clip" -- "$tlo" verify-export wm.mp4 --verifier-key "$key"
contains "$out" "burned into every picture" "verify-export names the watermark"
expect 0 "verify-export --vault of the watermarked clip" -- "$tlo" verify-export wm.mp4 --vault vault
wsize=$(stat -c %s wm.mp4)
for pos in 0 $((wsize / 2)) $((wsize - 1)); do
    cp wm.mp4 t.mp4 && flip t.mp4 "$pos"
    expect 1 "watermarked clip with byte $pos changed" -- "$tlo" verify-export t.mp4         --manifest wm.mp4.manifest --verifier-key "$key"
    contains "$err" "is NOT the exported clip" "changed watermarked clip byte $pos named"
done
pos=$(($(offset wm.mp4.manifest "watermark EXPORTED FOR Per") + 20))
cp wm.mp4.manifest t.manifest && flip t.manifest "$pos"
expect 1 "manifest with its watermark line changed" -- "$tlo" verify-export wm.mp4     --manifest t.manifest --verifier-key "$key"
# The watermark is in the picture: camera 2 of the simulated room is a white
# ball on black, so white pixels (R, G and B above 200) in the middle third
# of its rows are the watermark's letters, or the ball crossing. Both clips
# start at 4 s (a keyframe: the stream copy starts there too), so 2 s in is
# the same picture. Measured here: about 8000 with the watermark (two lines
# of large letters), 0 without, 532 when the ball is in the band (the ball,
# 38 pixels across, is at most about 1130). Thresholds with a wide margin:
# at least 4000 with, at most 1500 without, and 3000 more with than without.
white() { # white CLIP: the count in the middle third of camera 2 at 2 s
    local size
    size=$(ffprobe -v error -select_streams v:1 -show_entries stream=width,height -of csv=p=0 "$1")
    ffmpeg -v error -ss 2 -i "$1" -map 0:v:1 -frames:v 1 -f rawvideo -pix_fmt rgb24 - |
        python3 -c 'import sys
w, h = map(int, sys.argv[1].split(","))
d = sys.stdin.buffer.read()
if len(d) != w * h * 3:
    print(-1); sys.exit()
n = 0
for y in range(h // 3, 2 * h // 3):
    row = d[y * w * 3:(y + 1) * w * 3]
    n += sum(1 for x in range(0, w * 3, 3) if row[x] > 200 and row[x + 1] > 200 and row[x + 2] > 200)
print(n)' "$size"
}
grep -qx 'clip 00:00:04.000 00:00:08.000' clip.mp4.manifest && ok || bad "the stream copy starts at 4 s"
with=$(white wm.mp4) without=$(white clip.mp4)
echo "white pixels in the middle of camera 2 at 2 s: $with with the watermark, $without without"
[ "$with" -ge 4000 ] && [ "$without" -ge 0 ] && [ "$without" -le 1500 ] &&
    [ $((with - without)) -ge 3000 ] && ok ||
    bad "no watermark in the picture: $with white pixels with it, $without without"
# A damaged segment and a full disk fail the re-encode as they fail the copy.
expect 1 "export --watermark from a damaged segment" -- "$tlo" export "2026-K-7" --vault damaged     --session "$s1" --from 4 --to 8 -o damaged.mp4 --watermark --as "Per Prosecutor" "${pass[@]}"
contains "$err" "segment 1 (damaged/objects/$obj.tlo) is not the file its entry" "the damaged segment is named (--watermark)"
[ ! -e damaged.mp4 ] && [ ! -e damaged.mp4.manifest ] && [ -z "$(ls -A | grep '^\.damaged')" ] && ok ||
    bad "files left by the failed watermarked export: $(ls -A)"
if [ "$(id -u)" -eq 0 ] && mkdir -p small && mount -t tmpfs -o size=512k tmpfs small 2>/dev/null; then
    expect 3 "export --watermark onto a full disk" -- "$tlo" export "2026-K-7" --session "$s1"         --from 4 --to 8 -o small/clip.mp4 --watermark --as "Per Prosecutor" "${pass[@]}"
    contains "$err" "No space left on device" "the full disk is named (--watermark)"
    [ -z "$(ls -A small)" ] && ok || bad "files left on the full disk: $(ls -A small)"
    umount small
else
    echo "SKIP: the full-disk case of --watermark needs root to mount a small tmpfs"
fi

# ---- any changed byte fails verify-export ----
size=$(stat -c %s clip.mp4)
moov=$(offset clip.mp4 moov)
for pos in 0 7 $((moov + 20)) $((size / 3)) $((size / 2)) $((size - 1)); do
    cp clip.mp4 t.mp4 && flip t.mp4 "$pos"
    expect 1 "clip with byte $pos changed" -- "$tlo" verify-export t.mp4 --manifest clip.mp4.manifest \
        --verifier-key "$key"
    contains "$err" "is NOT the exported clip" "changed clip byte $pos named"
done
head -c $((size - 1)) clip.mp4 > t.mp4
expect 1 "a truncated clip" -- "$tlo" verify-export t.mp4 --manifest clip.mp4.manifest --verifier-key "$key"
cp clip.mp4 t.mp4 && printf 'x' >> t.mp4
expect 1 "an extended clip" -- "$tlo" verify-export t.mp4 --manifest clip.mp4.manifest --verifier-key "$key"
msize=$(stat -c %s clip.mp4.manifest)
sumline=$(grep -m 1 '^sha256sum ' clip.mp4.manifest | cut -c1-16) # not the help lines' words
for at in "tellonce.export" "# How to check" "case 2026" "range 00" "purpose trial" \
    "exported-by Per" "segment 1 " "$sumline" "index " "extra " "end proof"; do
    pos=$(($(offset clip.mp4.manifest "$at") + ${#at} - 1))
    cp clip.mp4.manifest t.manifest && flip t.manifest "$pos"
    expect 1 "manifest with byte $pos ('$at') changed" -- "$tlo" verify-export clip.mp4 \
        --manifest t.manifest --verifier-key "$key"
    contains "$err" "manifest" "changed manifest byte named"
done
for pos in 1000 $((msize / 2)) $((msize - 30)) $((msize - 1)); do # proofs, checkpoint, signature
    cp clip.mp4.manifest t.manifest && flip t.manifest "$pos"
    expect 1 "manifest with byte $pos changed" -- "$tlo" verify-export clip.mp4 --manifest t.manifest \
        --verifier-key "$key"
done
head -c $((msize - 1)) clip.mp4.manifest > t.manifest
expect 1 "a truncated manifest" -- "$tlo" verify-export clip.mp4 --manifest t.manifest --verifier-key "$key"
"$tlo" init --vault other --admin "Otto Other" "${pass[@]}" >/dev/null || bad "init another vault"
expect 1 "another vault's key" -- "$tlo" verify-export clip.mp4 \
    --verifier-key "$("$tlo" checkpoint --verifier-key --vault other)"
expect 2 "no manifest" -- "$tlo" verify-export other --verifier-key "$key"
expect 2 "neither key nor vault" -- "$tlo" verify-export clip.mp4
expect 2 "export over an existing file" -- "$tlo" export "2026-K-7" --session "$s1" --from 4 --to 8 \
    -o clip.mp4 --as "Per Prosecutor" "${pass[@]}"
# case_number_not_in_file_name: the export entry logs the clip's name, so a
# name holding the case number is refused before anything is logged.
before=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries")
expect 2 "a clip named with the case number" -- "$tlo" export "2026-K-7" --session "$s1" \
    --from 4 --to 8 -o "court-2026-K-7.mp4" --as "Per Prosecutor" "${pass[@]}"
contains "$err" "holds the case number" "case_number_not_in_file_name: the refusal says why"
[ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries")" = "$before" ] && [ ! -e court-2026-K-7.mp4 ] &&
    ok || bad "case_number_not_in_file_name: something was logged or written"

# ---- refusals: logged as access-denied, nothing written ----
runner=() # what runs tellonce: nothing, or env with a later clock
refuse() { # refuse WHAT REASON EXPORT-ARGS...
    local what=$1 reason=$2 before; shift 2
    before=$(denied)
    expect 1 "$what" -- "${runner[@]}" "$tlo" export "2026-K-7" -o refused.mp4 "$@"
    contains "$err" "$reason" "$what: the reason"
    [ ! -e refused.mp4 ] && [ ! -e refused.mp4.manifest ] && ok || bad "$what: a file was written"
    [ "$(denied)" -eq $((before + 1)) ] && ok || bad "$what: no access-denied entry"
}
as_per=(--as "Per Prosecutor" "${pass[@]}")
# Out of the granted range: a typo, refused before anything is signed (no
# entry), naming the grant (issue 13).
for range in "2 8" "4 10"; do
    before=$(denied)
    expect 2 "out of range $range" -- "$tlo" export "2026-K-7" -o refused.mp4 --session "$s1" \
        --from "${range% *}" --to "${range#* }" "${as_per[@]}"
    contains "$err" "00:00:03 to 00:00:09" "out of range $range: names the grant"
    [ ! -e refused.mp4 ] && [ "$(denied)" -eq "$before" ] && ok || bad "out of range $range: logged or written"
done
refuse "by an auditor" "auditors verify the log and never receive keys" --session "$s1" --from 4 --to 8 \
    --as "Aud Auditor" "${pass[@]}"
refuse "by the interviewer, without a grant" "may not export a clip of a session" --session "$s1" --from 4 --to 8 \
    --as "Ivan Interviewer" "${pass[@]}"
refuse "another session" "other sessions" --session "$s2" --from 0 --to 2 "${as_per[@]}"
expect 0 "revoke the export grant" -- "$tlo" grant revoke "$grant" --as "Anna Admin" "${pass[@]}"
refuse "a revoked grant" "the grant was revoked" --session "$s1" --from 4 --to 8 "${as_per[@]}"
expect 0 "a view grant of the other session" -- "$tlo" grant "2026-K-7" --to "Per Prosecutor" \
    --session "$s2" --expires 2099-12-31 --purpose "review" --as "Anna Admin" "${pass[@]}"
refuse "a grant for viewing only" "does not allow export" --session "$s2" --from 0 --to 2 "${as_per[@]}"
# An expired grant: the custodian's clock moved two days on
# (TELLONCE_TEST_NOW_MS only moves it forward, so it can only refuse more).
expect 0 "a grant ending tomorrow" -- "$tlo" grant "2026-K-7" --to "Per Prosecutor" \
    --session "$s1" --expires "$(date -u -d tomorrow +%F)" --purpose "soon over" \
    --actions export --as "Anna Admin" "${pass[@]}"
runner=(env "TELLONCE_TEST_NOW_MS=$(( $(date +%s) * 1000 + 2 * 86400000 ))")
refuse "an expired grant" "the grant has expired" --session "$s1" --from 4 --to 8 "${as_per[@]}"
runner=()

# ---- the ledger: every step shows, and still verifies ----
expect 0 "log" -- "$tlo" log
for kind in grant grant-revoke access-granted access-denied export checkpoint; do
    contains "$out" " $kind " "log shows $kind"
done
expect 0 "log --json" -- "$tlo" log --json
py "every refusal has its reason" "
den = [e for e in d if e['kind'] == 'access-denied']
sys.exit(0 if len(den) >= 5 and all(e['body'].get('reason') and e['body'].get('action') == 'export' for e in den) else 1)"
expect 0 "verify" -- "$tlo" verify
expect 0 "verify-export after the ledger grew" -- "$tlo" verify-export clip.mp4 --vault vault

echo "cli_export: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
