#!/usr/bin/env bash
# export --layout side-by-side and camN (before: refused, only pip worked).
# export_layout_cam_copy: --layout cam2 is a stream copy of camera 2 alone
#   with the microphone (one H.264 track, camera 2's dark picture, not
#   camera 1's bars), the manifest says "layout cam2" and no watermark, the
#   export entry layout=cam2, and verify-export accepts it; with
#   --watermark, cam1 is camera 1 alone re-encoded.
# export_layout_side_by_side: one composed video track, re-encoded with the
#   watermark, camera 1's bars on the left and camera 2 on the right
#   (1280x360), the manifest and the entry say side-by-side, verify-export
#   accepts it.
# pip_clock_vault_zone: with TZ=UTC and the vault's timezone Asia/Shanghai,
#   the date and time burned into a pip export are Shanghai's with +08:00
#   (read through the test hook TELLONCE_TEST_PIP_CLOCK, layout.h).
# export_layout_no_such_camera: cam3 of a two-camera clip is refused,
#   naming the cameras there are, and leaves no clip.
# usage: test_export_layout.sh TELLONCE_BINARY
set -u
tlo=$1
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
tlo_test_start explayout
pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-12" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 6 s" -- "$tlo" record "2026-K-12" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 6 --no-live
s1=$(newest_session)
expect 0 "grant export" -- "$tlo" grant "2026-K-12" --for "Per Prosecutor" --session "$s1" \
    --expires 2099-12-31 --purpose "trial preparation" --actions export \
    --as "Anna Admin" "${pass[@]}"
key=$("$tlo" checkpoint --verifier-key)
streams() { ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 "$1" | tr '\n' ' '; }
entry_says() {
    [ "$(ledger "SELECT count(*) FROM entries WHERE kind = 42 AND instr(CAST(body AS TEXT), '$1') > 0")" = 1 ]
}
# What a picture of the clip at 2 s shows: the fraction of saturated
# (camera 1's bars) and of dark (camera 2) pixels in columns x0..x1.
picture() {
    python3 - "$@" <<'PY'
import subprocess, sys
clip, w, h, x0, x1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
px = subprocess.run(["ffmpeg", "-v", "error", "-ss", "2", "-i", clip, "-map", "0:v:0", "-frames:v",
                     "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True).stdout
if len(px) != w * h * 3:
    sys.exit(f"{clip}: a picture of {len(px)} bytes, not {w}x{h}")
n = bars = dark = 0
for y in range(60, 120):
    for x in range(x0, x1, 2):
        r, g, b = px[(y * w + x) * 3:(y * w + x) * 3 + 3]
        n += 1
        bars += max(r, g, b) - min(r, g, b) > 80
        dark += max(r, g, b) < 60
print(f"bars {bars / n:.2f} dark {dark / n:.2f}")
PY
}

# export_layout_cam_copy
expect 0 "export --layout cam2" -- "$tlo" export "2026-K-12" --session "$s1" --from 0 --to 5 \
    -o cam2.mp4 --layout cam2 --as "Per Prosecutor" "${pass[@]}"
contains "$out" "stream copy" "export_layout_cam_copy: cam2 is a stream copy"
s=$(streams cam2.mp4)
[ "$s" = "h264,640,360 aac " ] && ok || bad "export_layout_cam_copy: streams of cam2.mp4: $s"
p=$(picture cam2.mp4 640 360 100 540)
case "$p" in "bars 0.0"*) ok ;; *) bad "export_layout_cam_copy: cam2.mp4 shows camera 1's bars: $p" ;; esac
grep -qx "layout cam2" cam2.mp4.manifest && ok || bad "export_layout_cam_copy: no 'layout cam2' in the manifest"
grep -q "^watermark " cam2.mp4.manifest && bad "export_layout_cam_copy: a stream copy with a watermark line" || ok
entry_says "layout=cam2" && ok || bad "export_layout_cam_copy: the export entry does not say layout=cam2"
expect 0 "verify-export cam2.mp4" -- "$tlo" verify-export cam2.mp4 --verifier-key "$key"
expect 0 "export --layout cam1 --watermark" -- "$tlo" export "2026-K-12" --session "$s1" \
    --from 0 --to 5 -o cam1.mp4 --layout cam1 --watermark --as "Per Prosecutor" "${pass[@]}"
s=$(streams cam1.mp4)
[ "$s" = "h264,640,360 aac " ] && ok || bad "export_layout_cam_copy: streams of cam1.mp4: $s"
p=$(picture cam1.mp4 640 360 300 460)
case "$p" in "bars 0.9"* | "bars 1.0"*) ok ;; *) bad "export_layout_cam_copy: cam1.mp4 is not camera 1's bars: $p" ;; esac
grep -qx "layout cam1" cam1.mp4.manifest && ok || bad "export_layout_cam_copy: no 'layout cam1' in the manifest"
expect 0 "verify-export cam1.mp4" -- "$tlo" verify-export cam1.mp4 --verifier-key "$key"

# export_layout_side_by_side
expect 0 "export --layout side-by-side" -- "$tlo" export "2026-K-12" --session "$s1" \
    --from 0 --to 5 -o sbs.mp4 --layout side-by-side --as "Per Prosecutor" "${pass[@]}"
contains "$out" "re-encoded with the watermark" "export_layout_side_by_side: a re-encode"
s=$(streams sbs.mp4)
[ "$s" = "h264,1280,360 aac " ] && ok || bad "export_layout_side_by_side: streams of sbs.mp4: $s"
left=$(picture sbs.mp4 1280 360 300 460) right=$(picture sbs.mp4 1280 360 740 1180)
case "$left" in "bars 0.9"* | "bars 1.0"*) ok ;; *) bad "export_layout_side_by_side: the left is not camera 1: $left" ;; esac
case "$right" in "bars 0.0"*) ok ;; *) bad "export_layout_side_by_side: the right is not camera 2: $right" ;; esac
grep -qx "layout side-by-side" sbs.mp4.manifest && ok || bad "export_layout_side_by_side: no 'layout side-by-side' in the manifest"
grep -q "^watermark EXPORTED FOR Per Prosecutor" sbs.mp4.manifest && ok || bad "export_layout_side_by_side: no watermark line"
entry_says "layout=side-by-side" && ok || bad "export_layout_side_by_side: the export entry does not say layout=side-by-side"
expect 0 "verify-export sbs.mp4" -- "$tlo" verify-export sbs.mp4 --verifier-key "$key"

# pip_clock_vault_zone
expect 0 "settings set timezone" -- "$tlo" settings set timezone Asia/Shanghai --as "Anna Admin" \
    "${pass[@]}"
expect 0 "export --layout pip in UTC" -- env TZ=UTC TELLONCE_TEST_PIP_CLOCK="$work/clock.txt" \
    "$tlo" export "2026-K-12" --session "$s1" --from 1 --to 4 -o pip.mp4 --layout pip \
    --as "Per Prosecutor" "${pass[@]}"
started=$(ledger "SELECT time_ms FROM entries WHERE kind = 20")
if python3 - "$started" "$work/clock.txt" <<'PY'; then ok; else bad "pip_clock_vault_zone (above)"; fi
import datetime, sys, zoneinfo
started = int(sys.argv[1])
try:
    text = open(sys.argv[2]).read().strip()
except OSError:
    sys.exit("pip_clock_vault_zone: no clock text was burned in (no hook file)")
clock, _, when = text.partition("   ")
want = datetime.datetime.fromtimestamp(started / 1000 + 1, zoneinfo.ZoneInfo("Asia/Shanghai"))
try:
    got = datetime.datetime.strptime(when, "%Y-%m-%d %H:%M:%S %z")
except ValueError:
    sys.exit(f"pip_clock_vault_zone: '{text}' has no date and time with an offset")
print(f"pip clock: '{text}', the session's second 1 in Shanghai: {want:%Y-%m-%d %H:%M:%S %z}")
ok = clock == "00:00:01" and when.endswith(" +08:00") and abs((got - want).total_seconds()) < 2
sys.exit(0 if ok else "pip_clock_vault_zone: not Shanghai's time with +08:00")
PY

# export_layout_no_such_camera
expect 2 "export --layout cam3" -- "$tlo" export "2026-K-12" --session "$s1" --from 0 --to 5 \
    -o cam3.mp4 --layout cam3 --as "Per Prosecutor" "${pass[@]}"
contains "$err" "no camera 3" "export_layout_no_such_camera: the reason"
contains "$err" "cam1 to cam2" "export_layout_no_such_camera: what to use"
[ ! -e cam3.mp4 ] && ok || bad "export_layout_no_such_camera: a clip was left"
echo "export_layout: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
