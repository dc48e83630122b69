#!/usr/bin/env python3
"""The play window's bar and a seek, seen as a viewer sees them: drives
'tellonce play --layout cam1' through a terminal on a virtual display and
grabs the display continuously (ffmpeg x11grab, 10 frames a second).

play_window_bar: below the 640x360 picture, the granted span is drawn green
from the column of FROM_MS to that of TO_MS on the session's axis
(0..SESSION_MS over x = 8..632), a yellow tick stands at each marker inside
the grant and none at the markers outside it, and the white position tick
is inside the span.
play_seek_not_blank: after the right arrow (seek +10 s, clamped to 1 s
before the range's end), the position tick reaches that point, and no frame
grabbed meanwhile shows a blank picture (the old seek rebuilt the pipeline,
and with it a new window).

usage: play_bar.py DISPLAY SESSION_MS FROM_MS TO_MS INSIDE_MS,.. OUTSIDE_MS,.. SHOT.rgb COMMAND...
"""
import os
import pty
import select
import subprocess
import sys
import time

display = sys.argv[1]
length, lo, hi = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inside = [int(x) for x in sys.argv[5].split(",") if x]
outside = [int(x) for x in sys.argv[6].split(",") if x]
shot_path = sys.argv[7]
W, H = 700, 400          # the display
PW, PH = 640, 360        # camera 1 alone; the bar is the 24 rows below it

def bar_x(t):
    return 8 + (PW - 16) * min(t, length) // length

pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[8], sys.argv[8:])
grab = subprocess.Popen(["ffmpeg", "-v", "error", "-f", "x11grab", "-draw_mouse", "0",
                         "-framerate", "10",
                         "-video_size", f"{W}x{H}", "-i", display, "-f", "rawvideo",
                         "-pix_fmt", "rgb24", "-"], stdout=subprocess.PIPE)
os.set_blocking(grab.stdout.fileno(), False)
term = b""
pending = b""

def frames(seconds):
    """Frames grabbed within the next `seconds` (the terminal read too)."""
    global term, pending
    got, end = [], time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd, grab.stdout], [], [], 0.05)
        if fd in r:
            try:
                term += os.read(fd, 65536)
            except OSError:
                pass
        if grab.stdout in r:
            chunk = grab.stdout.read(1 << 20)
            if chunk:
                pending += chunk
        while len(pending) >= W * H * 3:
            got.append(pending[:W * H * 3])
            pending = pending[W * H * 3:]
    return got

def px(f, x, y):
    i = (y * W + x) * 3
    return f[i], f[i + 1], f[i + 2]

def columns(f, y, test):
    return [x for x in range(PW) if test(*px(f, x, y))]

def clusters(xs):
    out = []
    for x in xs:
        if out and x - out[-1][-1] <= 2:
            out[-1].append(x)
        else:
            out.append([x])
    return [sum(c) / len(c) for c in out]

green = lambda r, g, b: g > 150 and r < 110 and b < 110
yellow = lambda r, g, b: r > 170 and g > 170 and b < 100
white = lambda r, g, b: min(r, g, b) > 190

def bar(f):
    """(span, marker ticks, position) read off the bar, or None."""
    span = columns(f, PH + 12, green)
    ticks = clusters(columns(f, PH + 3, yellow))
    pos = clusters(columns(f, PH + 3, white))
    return (span[0], span[-1]) if span else None, ticks, pos[0] if len(pos) == 1 else None

def blank(f):
    """The picture (camera 1's colour bars, below its captions) is not there."""
    n = sum(max(px(f, x, y)) - min(px(f, x, y)) > 80
            for y in range(60, 120, 4) for x in range(100, 540, 4))
    return n < 0.5 * 15 * 110

ok = True
def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond

def near(a, b, tol=3):
    return a is not None and abs(a - b) <= tol

# 1. The bar, once the picture is up.
want_span = (bar_x(lo), bar_x(hi) - 1)
seen, good, end = "no frame", None, time.time() + 120
while good is None and time.time() < end:
    for f in frames(0.3):
        if blank(f):
            seen = "a blank picture"
            continue
        span, ticks, pos = bar(f)
        seen = f"span {span}, ticks {ticks}, position {pos}"
        if (span and near(span[0], want_span[0]) and near(span[1], want_span[1]) and
                len(ticks) == len(inside) and all(near(t, bar_x(m)) for t, m in zip(ticks, inside))
                and pos is not None and want_span[0] - 2 <= pos <= want_span[1] + 2):
            good = f
    if os.waitpid(pid, os.WNOHANG)[0]:
        break
check(good is not None, f"play_window_bar: the granted span at columns {want_span}, marker ticks "
      f"at {[bar_x(m) for m in inside]}, the position inside the span (last seen: {seen})")
if good is not None:
    _, ticks, _ = bar(good)
    check(not any(near(t, bar_x(m)) for t in ticks for m in outside),
          f"play_window_bar: no tick at the markers outside the grant {[bar_x(m) for m in outside]}")
    open(shot_path, "wb").write(b"".join(good[y * W * 3:(y * W + PW) * 3] for y in range(PH + 24)))

# 2. A seek: the new position is reached with the picture up all along.
if good is not None:
    target = bar_x(max(lo, hi - 1000))
    os.write(fd, b"\x1b[C")
    blanks, n, reached, end = 0, 0, None, time.time() + 60
    while reached is None and time.time() < end:
        for f in frames(0.2):
            n += 1
            if blank(f):
                blanks += 1
                continue
            pos = bar(f)[2]
            if pos is not None and pos >= target - 4:
                reached = pos
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
    check(reached is not None, f"play_seek_not_blank: the position tick reaches column {target} "
          f"after the seek ({n} frames grabbed)")
    check(blanks == 0, f"play_seek_not_blank: {blanks} of {n} frames grabbed during the seek "
          "showed a blank picture")
os.write(fd, b"q")
status, end = None, time.time() + 20
while status is None and time.time() < end:
    frames(0.2)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "q ends play")
grab.kill()
grab.wait()
if not ok:
    print("the terminal showed:", term.decode(errors="replace").replace("\r", "\n")[-800:])
sys.exit(0 if ok else 1)
