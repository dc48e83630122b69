#!/usr/bin/env python3
"""Runs a command on a new pseudo-terminal (its controlling terminal, so its
/dev/tty prompts come here) and types one answer each time PROMPT appears.

usage: pty_answer.py PROMPT ANSWER_FILE -- COMMAND [ARG...]

ANSWER_FILE holds one answer a line; a prompt after the last answer gets
nothing (the command then waits: the test's timeout, 120 s, ends it and this
exits 124). Everything the command wrote to the terminal is printed on stdout;
the exit status is the command's. Waits on the command's output, never on a
time."""
import os
import pty
import select
import sys
import time

TIMEOUT = 120


def main():
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit(__doc__)
    prompt = sys.argv[1].encode()
    with open(sys.argv[2], "rb") as f:
        answers = f.read().splitlines()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[4], sys.argv[4:])
    seen, out, end = 0, b"", time.monotonic() + TIMEOUT
    while True:
        left = end - time.monotonic()
        if left <= 0:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            sys.stdout.write(out.decode(errors="replace"))
            sys.exit(124)
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the command closed the terminal
            chunk = b""
        if not chunk:
            break
        out += chunk
        while out.count(prompt) > seen:
            if seen < len(answers):
                os.write(fd, answers[seen] + b"\n")
            seen += 1
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


main()
