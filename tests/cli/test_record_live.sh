#!/usr/bin/env bash
# tellonce record as an interviewer uses it, live: markers typed during the
# recording, 'q' to end it, segment times on the session clock, a G1 scan of
# every file in the working, vault and temp directories while it records; a
# camera that fails (the reference one and another); a disk that fills up.
# usage: test_record_live.sh TELLONCE_BINARY G1_SCAN_SCRIPT
set -u
tlo=$1 g1=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-live.XXXXXX")
mnt=""
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
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
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err; stdout: $(head -c 600 out.txt)"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# py CHECK-NAME PYTHON: runs python on the JSON log in out.txt ('d'); exit 0 passes.
py() { if python3 -c "import json, sys
d = json.load(open('out.txt'))
$2"; then ok; else bad "$1"; fi; }

echo 'admin secret' > admin.pass
echo 'officer secret' > officer.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "张警官" --role interviewer --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file officer.pass >/dev/null || bad "user add"
"$tlo" case open "2026-刑-0042" --as "张警官" --passphrase-file officer.pass >/dev/null || bad "case open"

# 1. Live, with markers and 'q' through standard input, under a G1 scan of
# the working directory (the vault is in it), the temp directory and /dev/shm.
# Each step waits for what the checks below need, never for a time: the
# markers are typed once the session clock runs (its first segment is
# logged), and checked against the wall clock at which they were typed; 'q'
# once a segment ending after the second marker is logged and the G1 scan
# has looked 10 times.
mkdir tmp && mkfifo ctl
before=$(sessions_started)
TMPDIR="$work/tmp" "$tlo" record "2026-刑-0042" --as "张警官" --passphrase-file officer.pass \
    <ctl >live.out 2>live.err &
pid=$!
exec 3>ctl
python3 "$g1" "$work/g1.stop" "$work" "$work/tmp" /dev/shm >g1.out 2>&1 &
scan=$!
sent0=0 acked0=0 sent1=0 acked1=0
if wait_for 120 "the live session to start" '[ "$(sessions_started)" -gt "$before" ]' "$pid" &&
    sess=$(newest_session) &&
    wait_for 120 "the first segment of the live session" '[ "$(media_logged "$sess")" -gt 0 ]' "$pid"; then
    sent0=$(now_ms)
    echo "m 孩子指着门 the child points at the door" >&3
    wait_for 120 "the first marker to be logged" '[ "$(markers_logged "$sess")" -ge 1 ]' "$pid"
    acked0=$(now_ms)
    # The second marker at a later moment of the session: after the next
    # segment is logged (a condition, not a time).
    m0=$(media_logged "$sess")
    wait_for 120 "the segment after the first marker" '[ "$(media_logged "$sess")" -gt "$m0" ]' "$pid"
    sent1=$(now_ms)
    echo "m second marker" >&3
    wait_for 120 "the second marker to be logged" '[ "$(markers_logged "$sess")" -ge 2 ]' "$pid"
    acked1=$(now_ms)
    a1=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 22 ORDER BY seq DESC LIMIT 1" |
        sed -n 's/^at_ms=//p')
    wait_for 120 "a segment ending after the second marker ($a1 ms)" \
        '[ "$(media_logged "$sess")" -gt "${a1:-0}" ]' "$pid"
    wait_for 120 "10 G1 scans during the recording" '[ "$(grep -c "^g1_scan: scan" g1.out)" -ge 10 ]' "$scan"
fi
echo "q" >&3
wait "$pid"; rc=$?
ended=$(now_ms)
exec 3>&-
[ "$rc" -eq 0 ] && ok || bad "live record ended by q: exit $rc: $(cat live.err)"
touch g1.stop
wait "$scan" && ok || bad "G1 scan: $(grep -v '^g1_scan: scan' g1.out)"
contains "$(cat g1.out)" "0 findings" "G1 scan ran"
tail -1 g1.out
scans=$(sed -n 's/^g1_scan: \([0-9]*\) scans.*/\1/p' g1.out)
[ "${scans:-0}" -ge 10 ] && ok || bad "G1 scan: only ${scans:-0} scans during the recording"
contains "$(cat live.err)" "logged as entry" "live markers acknowledged"
expect 0 "log --json" -- "$tlo" log --json
# The session clock's zero in UTC is where the first segment's first frame
# was taken, less its start: a marker's time, mapped so, lies between the
# moment its line was written and the moment its entry was seen logged.
py "two markers at the session times they were typed" "
m = [e['body'] for e in d if e['kind'] == 'marker']
s = [e['body'] for e in d if e['kind'] == 'segment']
zero = int(s[0]['wall_start_ms']) - int(s[0]['start_ms'])
ok = len(m) == 2 and m[0]['text'] == '孩子指着门 the child points at the door' and m[1]['text'] == 'second marker'
a0, a1 = int(m[0]['at_ms']), int(m[1]['at_ms'])
ok = ok and $sent0 - 100 <= zero + a0 <= $acked0 + 100 and $sent1 - 100 <= zero + a1 <= $acked1 + 100
ok = ok and a0 >= int(s[0]['end_ms']) and a1 - a0 >= 2400
sys.exit(0 if ok else print(m, 'zero', zero, 'typed', $sent0, $acked0, $sent1, $acked1) or 1)"
py "segments contiguous on the session clock" "
s = [e['body'] for e in d if e['kind'] == 'segment']
m = [e['body'] for e in d if e['kind'] == 'marker']
end = [e['body'] for e in d if e['kind'] == 'session-end'][0]
zero = int(s[0]['wall_start_ms']) - int(s[0]['start_ms'])
ok = len(s) >= 2 and int(s[0]['start_ms']) < 500
for a, b in zip(s, s[1:]):
    ok = ok and a['end_ms'] == b['start_ms']
for x in s:
    ok = ok and int(x['duration_ms']) == int(x['end_ms']) - int(x['start_ms']) and int(x['duration_ms']) <= 5000
# The media covers both markers and ends before the recording did.
total = int(s[-1]['end_ms'])
ok = ok and int(m[-1]['at_ms']) < total <= $ended - zero + 200
ok = ok and end['status'] == 'ended' and end['markers'] == '2'
sys.exit(0 if ok else print(s, end, 'zero', zero, 'ended', $ended) or 1)"
py "session-start names the room and its digest" '
st = [e["body"] for e in d if e["kind"] == "session-start"][0]
ok = st["room"] == "simulated" and len(st["room_sha256"]) == 64 and st["cameras"] == "2"
ok = ok and st["camera.1"].startswith("test smpte") and st["microphone.1"] == "speech" and st["encoder"]
sys.exit(0 if ok else print(st) or 1)'
expect 0 "verify after the live recording" -- "$tlo" verify

# SIGTERM (as a service manager stops it) ends the session cleanly too: sent
# once 2 s of the session's media are logged, so that much was recorded.
before=$(sessions_started)
"$tlo" record "2026-刑-0042" --as "张警官" --passphrase-file officer.pass </dev/null >term.out 2>&1 &
pid=$!
wait_for 120 "the session to start" '[ "$(sessions_started)" -gt "$before" ]' "$pid" &&
    sess=$(newest_session) &&
    wait_for 120 "2 s of media logged before SIGTERM" '[ "$(media_logged "$sess")" -ge 2000 ]' "$pid"
kill -TERM "$pid"
wait "$pid" && ok || bad "record ended by SIGTERM: $(cat term.out)"
expect 0 "log --json" -- "$tlo" log --json
py "SIGTERM: the session ended, with what was recorded" '
end = [e["body"] for e in d if e["kind"] == "session-end"][-1]
sys.exit(0 if end["status"] == "ended" and int(end["segments"]) >= 1 and int(end["media_ms"]) >= 2000 else print(end) or 1)'

# 2. A camera fails: logged, the recording goes on, every segment verifies.
for cam in 2 1; do
    expect 0 "record with camera $cam failing" -- "$tlo" record "2026-刑-0042" --as "张警官" \
        --passphrase-file officer.pass --duration 10 --no-live --test-fail-camera "$cam@4"
    contains "$err" "camera $cam lost at 00:00:0" "camera $cam failure reported"
    contains "$out" "3 segments" "camera $cam: the recording went on"
    expect 0 "log --json" -- "$tlo" log --json
    py "device-event for camera $cam" "
ev = [e['body'] for e in d if e['kind'] == 'device-event']
end = [e['body'] for e in d if e['kind'] == 'session-end'][-1]
ok = ev and ev[-1]['device'] == 'camera $cam' and ev[-1]['event'] == 'lost' and 3500 <= int(ev[-1]['at_ms']) <= 4600
ok = ok and end['device_events'] == '1' and end['status'] == 'ended' and end['segments'] == '3'
sys.exit(0 if ok else print(ev, end) or 1)"
    expect 0 "verify after camera $cam failed" -- "$tlo" verify
done
expect 2 "a camera the room does not have" -- "$tlo" record "2026-刑-0042" --as "张警官" \
    --passphrase-file officer.pass --duration 4 --no-live --test-fail-camera 3@1

# 3. --monitor: a window with both cameras, on a virtual display; what the
# screenshot shows is checked by colour: camera 1's colour bars on the left,
# camera 2's white ball on black on the right.
expect 2 "--monitor without a display" -- env -u DISPLAY -u WAYLAND_DISPLAY "$tlo" record \
    "2026-刑-0042" --as "张警官" --passphrase-file officer.pass --duration 4 --monitor
contains "$err" "needs a display" "--monitor without a display says why"
if command -v Xvfb >/dev/null; then
    Xvfb -displayfd 5 -screen 0 1400x500x24 -nolisten tcp 5>display.txt 2>xvfb.err &
    xvfb=$!
    wait_for 120 "Xvfb to name its display" '[ -s display.txt ]' "$xvfb"
    display=":$(cat display.txt)"
    DISPLAY=$display "$tlo" record "2026-刑-0042" --as "张警官" --passphrase-file officer.pass \
        --duration 12 --monitor </dev/null >mon.out 2>mon.err &
    pid=$!
    # Screenshots until the window shows both cameras (slow under
    # AddressSanitizer), while the recording runs and for at most 120 s; the
    # last one's counts if it never does.
    python3 - "$display" "$pid" <<'PY2' && ok || bad "the monitor window shows both cameras"
import subprocess, sys, time
w, h = 1400, 500
def shot():
    return subprocess.run(["ffmpeg", "-v", "error", "-f", "x11grab", "-video_size", f"{w}x{h}",
                           "-i", sys.argv[1], "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                           "rgb24", "-"], capture_output=True).stdout
def count(px, x0, x1, y0, y1, test):
    n = 0
    for y in range(y0, y1):
        row = px[(y * w + x0) * 3:(y * w + x1) * 3]
        for i in range(0, len(row), 3):
            n += test(row[i], row[i + 1], row[i + 2])
    return n
def running(pid):  # not gone, not a zombie
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
end = time.monotonic() + 120
while True:
    alive = running(sys.argv[2])
    px = shot()
    if len(px) == w * h * 3:
        yellow = count(px, 0, 640, 60, 230, lambda r, g, b: r > 180 and g > 180 and b < 80)
        cyan = count(px, 0, 640, 60, 230, lambda r, g, b: r < 80 and g > 180 and b > 180)
        magenta = count(px, 0, 640, 60, 230, lambda r, g, b: r > 180 and g < 80 and b > 180)
        label = count(px, 660, 960, 25, 58, lambda r, g, b: r > 200 and g > 200 and b > 200)
        dark = count(px, 640, 1280, 60, 300, lambda r, g, b: r < 40 and g < 40 and b < 40)
        seen = f"yellow {yellow}, cyan {cyan}, magenta {magenta} px left; label {label}, black {dark} px right"
        # Camera 2 is black with its white "camera 2" clock at the top left
        # (its white ball goes everywhere, so it is not counted).
        if min(yellow, cyan, magenta) > 5000 and label > 300 and dark > 100000:
            print("monitor: " + seen)
            sys.exit(0)
    else:
        seen = f"a screenshot of {len(px)} bytes"
    if not alive or time.monotonic() > end:
        why = "the recording ended" if not alive else "timed out after 120 s"
        print(f"monitor: {why} before the window showed both cameras; last: {seen}")
        sys.exit(1)
    time.sleep(0.25)
PY2
    wait "$pid" && ok || bad "record --monitor: $(cat mon.err)"
    kill "$xvfb" 2>/dev/null
    expect 0 "verify after recording with the monitor" -- "$tlo" verify
else
    echo "SKIP: --monitor needs Xvfb (package xvfb, in scripts/deps)"
fi

# 4. The disk fills up during a recording: a clear error, what was sealed
# before stays, and after space is freed 'recover' closes the session and
# verify passes. Needs a small tmpfs (root); CI runs as root.
# (64 MiB: the vault copied onto it holds the sessions above, some 14 MiB,
# and "head -c -N" with a negative count would fill it all.)
if [ "$(id -u)" -eq 0 ] && mkdir -p "$work/small" && mount -t tmpfs -o size=64m tmpfs "$work/small" 2>/dev/null; then
    mnt="$work/small"
    cp -a vault "$mnt/vault"
    export TELLONCE_VAULT="$mnt/vault"
    free=$(df --output=avail -B1 "$mnt" | tail -1)
    head -c $((free - 3 * 1024 * 1024)) /dev/zero > "$mnt/filler"
    expect 3 "record onto a full disk" -- "$tlo" record "2026-刑-0042" --as "张警官" \
        --passphrase-file officer.pass --duration 60 --no-live
    contains "$err" "full" "the full disk is named"
    contains "$err" "tellonce recover" "the error says what to do"
    contains "$err" "segment 0 sealed" "segments sealed before the disk filled"
    rm "$mnt/filler"
    "$tlo" verify >/dev/null 2>&1
    expect 0 "recover after freeing space" -- "$tlo" recover --as "张警官" --passphrase-file officer.pass
    expect 0 "verify after the disk was full" -- "$tlo" verify
    expect 0 "log --json" -- "$tlo" log --json
    py "the sealed segments of the interrupted session are logged" '
sess = [e["body"]["session"] for e in d if e["kind"] == "session-start"][-1]
s = [e for e in d if e["kind"] == "segment" and e["body"]["session"] == sess]
sys.exit(0 if len(s) >= 2 else print(len(s)) or 1)'
    export TELLONCE_VAULT="$work/vault"
else
    echo "SKIP: the disk-full case needs root to mount a small tmpfs"
fi

echo "cli_record_live: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
