#!/usr/bin/env bash
# The live monitor of a recording that runs in the custodian service: the
# service has no display and never writes the picture anywhere; it sends
# JPEG frames over the socket and the interviewer's own client shows them in
# a window on the interviewer's display (here a virtual one, Xvfb).
# usage: test_service_monitor.sh TELLONCE_BINARY TESTS_DIR
set -u
tlo=$1
here=$2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
. "$here/../cli/lib.sh"
. "$here/svc_lib.sh"
svc_need_root
if ! command -v Xvfb >/dev/null; then
    [ "${CI:-}" = true ] && { echo "FAIL: Xvfb is missing (package xvfb, in scripts/deps)" >&2; exit 1; }
    echo "SKIP: needs Xvfb" >&2
    exit 77
fi
svc_setup ivan
cd "$SVC_DIR" || exit 1
printf 'ivan-interviewer-pass\n' >ivan.pass
printf 'child_name=(a test child)\n' >child.txt
chmod 644 ivan.pass child.txt
as_service user add "Ivan" --role interviewer --as "Anna Admin" --vault "$SVC_VAULT" \
    --passphrase-file admin.pass --new-passphrase-file ivan.pass >/dev/null || bad "user add"
as_service case open MON-1 --as Ivan --passphrase-file ivan.pass --child-file child.txt \
    --vault "$SVC_VAULT" >/dev/null || bad "case open"
svc_start
find "$SVC_DIR" /tmp -xdev -newer "$SVC_VAULT/ledger.db" -type f 2>/dev/null | sort >before.txt

# --monitor without a display: refused by the client, before it asks anything
err=$(env -u DISPLAY -u WAYLAND_DISPLAY "$SVC_BIN" --socket "$SVC_SOCKET" record MON-1 --as Ivan \
    --monitor --duration 3 2>&1 </dev/null)
[ $? -eq 2 ] && ok || bad "--monitor without a display was not refused"
contains "$err" "needs a display" "--monitor without a display says why"

# The client starts on a display that is not there yet (a desktop still
# starting, a display that refused it once): it says so, the recording goes
# on, and it tries the window again, so it shows once the display is there.
n=$((500 + RANDOM % 400))
while [ -e "/tmp/.X11-unix/X$n" ] || [ -e "/tmp/.X$n-lock" ]; do n=$((n + 1)); done
display=":$n"
setpriv --reuid="$(svc_user ivan)" --regid="$(id -g "$(svc_user ivan)")" --init-groups \
    --reset-env -- env "${SVC_SAN[@]}" DISPLAY="$display" "$SVC_BIN" --socket "$SVC_SOCKET" record MON-1 --as Ivan \
    --passphrase-file ivan.pass --duration 60 --monitor </dev/null >mon.out 2>mon.err &
pid=$!
wait_for 180 "the client to say its window did not open" 'grep -q "cannot open the monitor window" mon.err' "$pid"
Xvfb "$display" -screen 0 1400x500x24 -nolisten tcp -ac 2>xvfb.err &
xvfb=$!
wait_for 120 "Xvfb to take $display" "[ -S /tmp/.X11-unix/X$n ]" "$xvfb"
# Screenshots until the window shows both cameras: camera 1's colour bars on
# the left, camera 2's black with its white clock on the right.
/usr/bin/python3 - "$display" "$pid" <<'PY' && ok || bad "the client's monitor window shows both cameras"
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
def running(pid):
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
end = time.monotonic() + 120
while True:
    alive = running(sys.argv[2])
    px = shot()
    seen = f"a screenshot of {len(px)} bytes"
    if len(px) == w * h * 3:
        yellow = count(px, 0, 640, 60, 230, lambda r, g, b: r > 180 and g > 180 and b < 80)
        cyan = count(px, 0, 640, 60, 230, lambda r, g, b: r < 80 and g > 180 and b > 180)
        dark = count(px, 640, 1280, 60, 300, lambda r, g, b: r < 40 and g < 40 and b < 40)
        seen = f"yellow {yellow}, cyan {cyan} px left; black {dark} px right"
        if min(yellow, cyan) > 5000 and dark > 100000:
            print("monitor: " + seen)
            sys.exit(0)
    if not alive or time.monotonic() > end:
        print("monitor: " + ("the recording ended" if not alive else "timed out") + "; last: " + seen)
        sys.exit(1)
    time.sleep(0.25)
PY
# A client that stops reading (a busy or suspended desktop) is not cut off:
# the service skips monitor frames that would not fit, and the client gets
# the rest of the session's output and its end. Stopped until its socket's
# receive queue is full (over 1 MiB, and 3 s without growth; at most
# 60 s), then continued.
kill -STOP "$pid" 2>/dev/null
queued() { ss -xpn 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) { if ($3 + 0 > m) m = $3 + 0 } END { print m + 0 }'; }
stall_end=$((SECONDS + 60)) last=-1 still=0
while [ "$SECONDS" -lt "$stall_end" ]; do
    q=$(queued)
    if [ "$q" -le "$last" ]; then still=$((still + 1)); else still=0; fi
    last=$q
    [ "$q" -ge 1048576 ] && [ "$still" -ge 15 ] && break # full: 3 s without growth
    sleep 0.2
done
echo "monitor: the stopped client had $(queued) bytes waiting"
kill -CONT "$pid" 2>/dev/null
# The recording ends at its --duration; the client must end with it (a
# generous bound: on a hang, say where each process is).
if wait_for 240 "the monitor's recording client to end" '! kill -0 "$pid" 2>/dev/null'; then
    wait "$pid" && ok || bad "record --monitor through the service: $(cat mon.err)"
else
    echo "--- the client's stderr:" >&2; cat mon.err >&2
    echo "--- the service's log:" >&2; tail -40 "$SVC_DIR/service.log" >&2
    if command -v gdb >/dev/null; then
        for p in "$pid" $(pgrep -u "$SVC_SERVICE" -f "$SVC_BIN"); do
            echo "--- stacks of $p: $(tr '\0' ' ' <"/proc/$p/cmdline")" >&2
            timeout 60 gdb -p "$p" -batch -ex 'thread apply all bt 12' 2>/dev/null | grep '^#\|^Thread' >&2
        done
    fi
    kill -9 "$pid" 2>/dev/null
fi
kill "$xvfb" 2>/dev/null
# the service wrote no picture anywhere: the only new files are the vault's
find "$SVC_DIR" /tmp -xdev -newer "$SVC_VAULT/ledger.db" -type f 2>/dev/null | sort >after.txt
new=$(comm -13 before.txt after.txt | grep -v "^$SVC_VAULT/" | grep -v "^$SVC_DIR/\(mon\|display\|xvfb\|after\|before\|service\)" |
    grep -v "^/tmp/\.X")
# (other tests run beside this one: count only what the service's user owns)
mine=""
for f in $new; do [ "$(stat -c %U "$f" 2>/dev/null)" = "$SVC_SERVICE" ] && mine="$mine $f"; done
[ -z "$mine" ] && ok || bad "the service wrote files outside the vault:$mine"
svc_stop || bad "service stop"
out=$(as_service verify --vault "$SVC_VAULT" 2>&1)
[ $? -eq 0 ] && ok || bad "verify: $out"
echo "service monitor: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
