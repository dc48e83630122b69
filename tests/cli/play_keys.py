#!/usr/bin/env python3
"""Drives 'tellonce play' through a terminal, as a viewer does: waits for
playback, presses the right arrow (seek +10 s, which must stop inside the
granted range), the left arrow (back 10 s, never before the range's start),
space (pause) twice, then q. Checks the positions the status line
reports and that q ends it at once.

usage: play_keys.py FROM_MS TO_MS COMMAND... (DISPLAY must be set)
"""
import os
import pty
import re
import select
import sys
import time

lo, hi = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[3], sys.argv[3:])

out = b""
def pump(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return

def positions():
    ms = []
    for m in re.finditer(rb"(PLAYING|PAUSED |ENDED  ) (\d\d):(\d\d):(\d\d)\.(\d)", out):
        h, mi, s, d = (int(x) for x in m.groups()[1:])
        ms.append((m.group(1).strip().decode(), ((h * 60 + mi) * 60 + s) * 1000 + d * 100))
    return ms

def wait_playing(timeout):
    end = time.time() + timeout
    while time.time() < end:
        pump(0.2)
        p = positions()
        if p and p[-1][0] == "PLAYING" and p[-1][1] > lo:
            return True
    return False

ok = True
def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and cond

def wait_for(pred, timeout, since):
    """Pumps until a position after index `since` satisfies pred."""
    end = time.time() + timeout
    while time.time() < end:
        pump(0.1)
        hit = [p for p in positions()[since:] if pred(p)]
        if hit:
            return hit[0]
    return None

check(wait_playing(120), "playback started")
mark = len(positions())
os.write(fd, b"\x1b[C")  # right arrow: +10 s, clamped to 1 s before the range's end
hit = wait_for(lambda p: p[1] >= hi - 1500, 60, mark)
check(hit is not None, f"seek forward stops near the range's end ({hit} of {hi} ms)")
mark = len(positions())
os.write(fd, b"\x1b[D")  # back 10 s: clamped to the range's start
hit = wait_for(lambda p: p[1] <= lo + 1500, 60, mark)
check(hit is not None and hit[1] >= lo, f"seek back stops at the range's start ({hit} ms, from {lo})")
pump(0.5)  # pacing, on purpose: a moment of playback before the pause
os.write(fd, b" ")
hit = wait_for(lambda p: p[0] == "PAUSED", 60, len(positions()))
check(hit is not None, "space pauses")
# Paused, a second of watching is the point of the check: the position
# must not move, on a machine of any speed.
pump(1.0)
p1 = positions()[-1][1]
pump(1.0)
check(positions()[-1][0] == "PAUSED" and abs(positions()[-1][1] - p1) <= 200,
      "paused, the position stays")
mark = len(positions())
os.write(fd, b" ")
hit = wait_for(lambda p: p[0] == "PLAYING" and p[1] > p1, 60, mark)
check(hit is not None, "space plays on")
t0 = time.time()
os.write(fd, b"q")
status = None
while time.time() - t0 < 10:
    pump(0.2)
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
        break
check(status is not None and os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
      f"q ends it at once ({time.time() - t0:.1f} s)")
check(all(lo <= t <= hi for s, t in positions()), "no position outside the granted range, all along")
if not ok:
    print("the terminal showed, at the end:",
          out.decode(errors="replace").replace("\r", "\n")[-600:])
sys.exit(0 if ok else 1)
