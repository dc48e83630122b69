#!/usr/bin/env bash
# The live monitor never stops a recording (issue 13): --monitor on a display
# that is not there, and a display that goes away while recording; a session
# that recorded nothing says why in its session-end entry (reason=); the
# monitor window shows a red REC sign. Screenshots are read by pixel counts,
# polled until the condition holds.
# usage: test_record_monitor.sh TELLONCE_BINARY
set -u
tlo=$1
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-mon.XXXXXX")
xvfb=""
cleanup() {
    [ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP_WORK:-}" ] && trap - EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# session_end SESSION: the body of its session-end entry.
session_end() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 23 AND
            CAST(body AS TEXT) LIKE '%session=$1%'"
}
# start_xvfb: a virtual display in $display, its pid in $xvfb. A display
# number of its own at random, not the lowest free one (-displayfd), which
# other tests on the machine would pick at the same moment.
start_xvfb() {
    local n try
    for try in $(seq 1 20); do
        n=$((300 + RANDOM % 600))
        [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ] && continue
        rm -f display.txt
        # -displayfd: it names the display once it takes clients (its
        # socket is there before).
        Xvfb ":$n" -displayfd 5 -screen 0 1400x500x24 -nolisten tcp 5>display.txt 2>xvfb.err &
        xvfb=$!
        display=":$n"
        until [ -s display.txt ] || ! kill -0 "$xvfb" 2>/dev/null; do sleep 0.1; done
        kill -0 "$xvfb" 2>/dev/null && return 0
    done
    bad "no virtual display started: $(cat xvfb.err)"
    return 1
}
# yellow_pixels: yellow pixels in the middle of camera 2's picture (black
# with a white ball): its SIMULATED sign.
yellow_pixels() {
    python3 - "$display" <<'PY'
import subprocess, sys
w, h = 1400, 500
x0, x1, y0, y1 = 700, 1220, 140, 220
px = subprocess.run(["ffmpeg", "-v", "error", "-f", "x11grab", "-video_size", f"{w}x{h}",
                     "-i", sys.argv[1], "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                     "rgb24", "-"], capture_output=True).stdout
n = 0
if len(px) == w * h * 3:
    for y in range(y0, y1):
        for x in range(x0, x1):
            i = (y * w + x) * 3
            n += px[i] > 200 and px[i + 1] > 170 and px[i + 2] < 80
print(n)
PY
}
# red_pixels: red pixels in the top right corner of the monitor window (the
# REC sign; the window is at the top left of $display, 1280 pixels wide).
red_pixels() {
    python3 - "$display" <<'PY'
import subprocess, sys
w, h = 1400, 500
x0, x1, y0, y1 = 1040, 1280, 0, 50
px = subprocess.run(["ffmpeg", "-v", "error", "-f", "x11grab", "-video_size", f"{w}x{h}",
                     "-i", sys.argv[1], "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                     "rgb24", "-"], capture_output=True).stdout
n = 0
if len(px) == w * h * 3:
    for y in range(y0, y1):
        for x in range(x0, x1):
            i = (y * w + x) * 3
            n += px[i] > 200 and px[i + 1] < 60 and px[i + 2] < 60
print(n)
PY
}

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "Olga Officer" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-MON-1" --as "Olga Officer" --passphrase-file officer.pass >/dev/null ||
    bad "case open"

# 1. test_monitor_bad_display: a DISPLAY that points nowhere. The recording
# records all its segments and ends well; the operator is told the window
# could not open.
before=$(sessions_started)
DISPLAY=:999 "$tlo" record "2026-MON-1" --as "Olga Officer" --passphrase-file officer.pass \
    --duration 6 --monitor </dev/null >bad.out 2>bad.err
rc=$?
[ "$rc" -eq 0 ] && ok || bad "test_monitor_bad_display: exit $rc: $(cat bad.err)"
sess=$(newest_session)
[ "$(sessions_started)" -gt "$before" ] && ok || bad "test_monitor_bad_display: no session"
contains "$(session_end "$sess")" "status=ended" "test_monitor_bad_display: the session ended"
contains "$(cat bad.out)" "2 segments" "test_monitor_bad_display: segments were recorded"
contains "$(cat bad.err)" "monitor window" "test_monitor_bad_display: the operator is told"
contains "$(cat bad.err)" "recording goes on" "test_monitor_bad_display: and that it records"

# 2. test_session_end_reason: a session that recorded nothing says why. A
# camera device that is not there fails after the session started.
cat > nocam.room <<'EOF'
[room]
name=nocam
[camera 1]
source=device:/dev/tlo-no-such-camera
[microphone 1]
source=tone
EOF
before=$(sessions_started)
"$tlo" record "2026-MON-1" --as "Olga Officer" --passphrase-file officer.pass --room nocam.room \
    --duration 4 </dev/null >nocam.out 2>nocam.err
rc=$?
if [ "$(sessions_started)" -gt "$before" ]; then
    body=$(session_end "$(newest_session)")
    contains "$body" "segments=0" "test_session_end_reason: nothing recorded"
    contains "$body" "reason=" "test_session_end_reason: the entry says why"
    [ "$rc" -ne 0 ] && ok || bad "test_session_end_reason: the failed recording exits 0"
else
    echo "SKIP: test_session_end_reason: the missing camera is refused before the session starts"
fi
# test_session_end_reason_english: the same failure under zh_CN: the person
# reads Chinese, the entry's reason stays English (the ledger is English).
if locale -a 2>/dev/null | grep -qi '^zh_CN.utf-\?8$'; then
    before=$(sessions_started)
    LANG=zh_CN.UTF-8 "$tlo" record "2026-MON-1" --as "Olga Officer" --passphrase-file officer.pass \
        --room nocam.room --duration 4 </dev/null >nocam.out 2>nocam.err
    if [ "$(sessions_started)" -gt "$before" ]; then
        body=$(session_end "$(newest_session)")
        reason=$(sed -n 's/^reason=//p' <<<"$body")
        [ -n "$reason" ] && ! grep -qP '[\x{4e00}-\x{9fff}]' <<<"$reason" && ok ||
            bad "test_session_end_reason_english: the reason is not English: $reason"
        grep -qP '[\x{4e00}-\x{9fff}]' nocam.err && ok ||
            bad "test_session_end_reason_english: the person's message is not Chinese: $(cat nocam.err)"
    fi
fi
"$tlo" verify >verify.out 2>&1 && ok || bad "verify after the failed session: $(cat verify.out)"

if ! command -v Xvfb >/dev/null; then
    echo "SKIP: the window tests need Xvfb (package xvfb, in scripts/deps)"
    echo "cli_record_monitor: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
    exit
fi

# 3. test_monitor_rec_sign: the window shows a red REC sign while recording.
start_xvfb
before=$(sessions_started)
DISPLAY=$display "$tlo" record "2026-MON-1" --as "Olga Officer" --passphrase-file officer.pass \
    --monitor </dev/null >rec.out 2>rec.err &
pid=$!
wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$pid" &&
    wait_for 120 "test_monitor_rec_sign: a red REC sign in the monitor window" \
        '[ "$(red_pixels)" -gt 150 ]' "$pid" && ok
# test_simulated_sign: the simulated room's pictures say SIMULATED.
wait_for 120 "test_simulated_sign: SIMULATED in camera 2's picture" '[ "$(yellow_pixels)" -gt 300 ]' \
    "$pid" && ok
# 4. test_monitor_display_gone: the display goes away mid-recording; the
# recording goes on and ends well.
sess=$(newest_session)
kill "$xvfb"
wait "$xvfb" 2>/dev/null
xvfb=""
m0=$(media_logged "$sess")
wait_for 120 "a segment logged after the display went" '[ "$(media_logged "$sess")" -gt "$m0" ]' \
    "$pid" && ok
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "test_monitor_display_gone: exit $rc: $(cat rec.err)"
contains "$(session_end "$sess")" "status=ended" "test_monitor_display_gone: the session ended"
"$tlo" verify >verify.out 2>&1 && ok || bad "verify after the monitor tests: $(cat verify.out)"

# 5. test_preview_not_recording: preview shows the room with NOT RECORDING
# (the red sign where REC would be), and logs and writes nothing.
state() { # every file of the vault with its size, and the number of entries
    (cd vault && find . -type f -printf '%p %s\n' | sort)
    ledger "SELECT count(*) FROM entries"
}
state >before.txt
env -u DISPLAY -u WAYLAND_DISPLAY "$tlo" preview --room simulated >p0.out 2>p0.err
rc=$?
[ "$rc" -eq 2 ] && ok || bad "test_preview_no_display: exit $rc: $(cat p0.err)"
contains "$(cat p0.err)" "needs a display" "test_preview_no_display: says why"
DISPLAY=:999 "$tlo" preview --room simulated --duration 20 >p1.out 2>p1.err
rc=$?
[ "$rc" -ne 0 ] && ok || bad "test_preview_bad_display: exit 0"
contains "$(cat p1.err)" "cannot open on the display" "test_preview_bad_display: says why"
start_xvfb
DISPLAY=$display "$tlo" preview >p2.out 2>p2.err &
pid=$!
wait_for 60 "the preview's first line" '[ -s p2.err ]' "$pid"
contains "$(head -1 p2.err)" "Room: simulated" "test_preview_not_recording: the room it shows"
wait_for 120 "test_preview_not_recording: NOT RECORDING in the window" '[ "$(red_pixels)" -gt 150 ]' \
    "$pid" && ok
red_c=$(red_pixels)
wait_for 120 "test_preview_not_recording: the simulated picture" '[ "$(yellow_pixels)" -gt 300 ]' \
    "$pid" && ok
kill -TERM "$pid"
wait "$pid"
rc=$?
[ "$rc" -eq 0 ] && ok || bad "test_preview_not_recording: exit $rc: $(cat p2.err)"
# test_preview_sign_zh: under zh_CN the sign is the catalogue's (未在录制),
# drawn in CJK glyphs: red text, and not the pixels of the English sign.
if locale -a 2>/dev/null | grep -qi '^zh_CN.utf-\?8$'; then
    DISPLAY=$display LANG=zh_CN.UTF-8 "$tlo" preview >p3.out 2>p3.err &
    pid=$!
    wait_for 60 "the Chinese preview's first line" '[ -s p3.err ]' "$pid"
    wait_for 120 "test_preview_sign_zh: a red sign in the window" \
        '[ "$(red_pixels)" -gt 150 ] && [ "$(red_pixels)" != "$red_c" ]' "$pid" && ok
    kill -TERM "$pid"
    wait "$pid"
else
    echo "SKIP: test_preview_sign_zh: no zh_CN.UTF-8 locale (scripts/install-deps makes it)"
fi
state >after.txt
cmp -s before.txt after.txt && ok ||
    bad "test_preview_not_recording: the vault changed: $(diff before.txt after.txt)"
kill "$xvfb"
wait "$xvfb" 2>/dev/null
xvfb=""

echo "cli_record_monitor: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
