#!/usr/bin/env bash
# play_pip_screenshot: `play --layout pip` on a virtual display, checked by
# the pixels of screenshots: camera 2 (the white ball on black) as an inset
# in the bottom-right corner of camera 1 (the colour bars), nothing beside
# camera 1 (no side by side), the pip clock drawn top left, and the
# watermark with the Chinese name 王芳 drawn in CJK glyphs (wm_glyphs.py).
# play_pip_vault_zone: under TZ=UTC with the vault's timezone Asia/Shanghai
# the clock's date and time end in +08:00 (the zone travels in the play
# hand-over; read through the hook TELLONCE_TEST_PIP_CLOCK, layout.h).
# With TELLONCE_UPDATE_DOCS=1 the screenshot is kept as docs/play-pip.png
# for the README.
# usage: test_play_pip.sh TELLONCE_BINARY WM_GLYPHS_PY SOURCE_ROOT
set -u
tlo=$1 glyphs=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-pip.XXXXXX")
xvfb=
trap '[ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
if ! command -v Xvfb >/dev/null; then
    echo "SKIP: the window needs Xvfb (package xvfb, in scripts/deps)"
    exit 77
fi
cat > nocjk.conf <<XML
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>$work/fc-cache</cachedir></fontconfig>
XML
pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "王芳:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-10" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
"$tlo" record "2026-K-10" --as "Ivan Interviewer" "${pass[@]}" --duration 20 --no-live \
    >/dev/null 2>&1 || bad "record 20 s"
s1=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')
"$tlo" grant "2026-K-10" --to "王芳" --session "$s1" --expires 2099-12-31 \
    --purpose "trial preparation" --as "Anna Admin" "${pass[@]}" >/dev/null || bad "grant"

"$tlo" settings set timezone Asia/Shanghai --as "Anna Admin" "${pass[@]}" >/dev/null ||
    bad "settings set timezone"
Xvfb -displayfd 5 -screen 0 1400x500x24 -nolisten tcp 5>display.txt 2>xvfb.err &
xvfb=$!
wait_for 120 "Xvfb to name its display" '[ -s display.txt ]' "$xvfb"
display=":$(cat display.txt)"
DISPLAY=$display TZ=UTC TELLONCE_TEST_PIP_CLOCK="$work/clock.txt" "$tlo" play "2026-K-10" --session "$s1" --as "王芳" "${pass[@]}" \
    --layout pip </dev/null >play.out 2>play.err &
pid=$!
wait_for 120 "play to say its watermark" 'grep -q "^Watermark: " play.err' "$pid"
wm=$(sed -n 's/^Watermark: //p' play.err)
grep -q "^Layout: pip" play.err && ok || bad "play_pip_screenshot: play does not say its layout: $(cat play.err)"
# Screenshots until the picture is up and the ball is in the inset (slow
# under AddressSanitizer), while play runs, for at most 120 s.
if python3 - "$display" "$pid" <<'PY'
import subprocess, sys, time
w, h = 1400, 500
def shot():
    return subprocess.run(["ffmpeg", "-v", "error", "-f", "x11grab", "-video_size", f"{w}x{h}",
                           "-i", sys.argv[1], "-frames:v", "1", "-f", "rawvideo", "-pix_fmt",
                           "rgb24", "-"], capture_output=True).stdout
def running(pid):  # not gone, not a zombie
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
def count(px, x0, x1, y0, y1, test):
    n = 0
    for y in range(y0, y1):
        for x in range(x0, x1):
            i = (y * w + x) * 3
            n += test(px[i], px[i + 1], px[i + 2])
    return n, (x1 - x0) * (y1 - y0)
colour = lambda r, g, b: max(r, g, b) - min(r, g, b) > 80   # a saturated bar
dark = lambda r, g, b: max(r, g, b) < 60
white = lambda r, g, b: min(r, g, b) > 200
def ball(px):  # the white ball's centre in the inset's middle (its captions left out)
    xs = ys = n = 0
    for y in range(280, 336):
        for x in range(500, 630):
            i = (y * w + x) * 3
            if min(px[i], px[i + 1], px[i + 2]) > 200:
                xs, ys, n = xs + x, ys + y, n + 1
    return (xs / n, ys / n) if n >= 10 else None
end = time.monotonic() + 120
seen = "no screenshot"
last_ball = None
while True:
    alive = running(sys.argv[2])
    px = shot()
    if len(px) == w * h * 3:
        # camera 1's bars, below the captions and above the watermark
        bars = count(px, 300, 460, 60, 120, colour)
        # the inset: 160x90 at (472, 262); camera 2 is black with a moving white ball
        inset_dark = count(px, 500, 630, 280, 336, dark)
        b = ball(px)
        moved = b and last_ball and abs(b[0] - last_ball[0]) + abs(b[1] - last_ball[1]) > 3
        # the pip clock, top right on its shaded band: white digits
        clock = count(px, 400, 640, 0, 34, white)
        seen = (f"bars {bars[0] / bars[1]:.2f}, inset dark {inset_dark[0] / inset_dark[1]:.2f}, "
                f"ball at {b} (before {last_ball}), clock {clock[0]} white px")
        if (bars[0] > 0.9 * bars[1] and inset_dark[0] > 0.8 * inset_dark[1] and moved and
                clock[0] > 40):
            open("shot.rgb", "wb").write(b"".join(px[(y * w) * 3:(y * w + 640) * 3]
                                                  for y in range(360)))
            print(f"pip: {seen}")
            sys.exit(0)
        if b:
            last_ball = b
    if not alive or time.monotonic() > end:
        why = "play ended" if not alive else "timed out after 120 s"
        print(f"pip: {why} before the inset showed; last: {seen}")
        sys.exit(1)
    time.sleep(0.3)
PY
then ok; else bad "play_pip_screenshot: the inset and the bars; play said: $(cat play.err)"; fi
if [ -s shot.rgb ]; then
    if python3 "$glyphs" --shot shot.rgb "$wm" "$work"; then ok; else
        bad "play_pip_screenshot: the name in the play window's watermark is not drawn in CJK glyphs"
    fi
    if [ "${TELLONCE_UPDATE_DOCS:-}" = 1 ]; then
        ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -video_size 640x360 -i shot.rgb \
            "$src/docs/play-pip.png" && echo "updated $src/docs/play-pip.png"
    fi
fi
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=
grep -q " +08:00$" clock.txt 2>/dev/null && ok ||
    bad "play_pip_vault_zone: the clock is not in the vault's zone: $(cat clock.txt 2>&1)"
echo "play_pip: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
