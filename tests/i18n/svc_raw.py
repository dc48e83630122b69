#!/usr/bin/python3
"""A raw client of the custodian service for tests/i18n/test_service.sh:
sends a request with extra key=value lines before its arguments (a locale
the tellonce command would never send, a key the service does not know).

  svc_raw.py SOCKET LINES ARGS...  LINES ("lang=zh_CN.UTF-8", several joined
                                   by "|", "" for none)
Prints the service's stderr and exits with the command's exit code."""
import socket, struct, sys


def frame(t, data=b""):
    return t.encode() + struct.pack(">I", len(data)) + data


def recv_frame(s):
    head = b""
    while len(head) < 5:
        b = s.recv(5 - len(head))
        if not b:
            return None, None
        head += b
    n = struct.unpack(">I", head[1:])[0]
    data = b""
    while len(data) < n:
        b = s.recv(n - len(data))
        if not b:
            return None, None
        data += b
    return chr(head[0]), data


def main():
    path, line, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t, data = recv_frame(s)
    nonce = [l[6:] for l in data.decode().splitlines() if l.startswith("nonce=")][0]
    text = "nonce=%s\ntty=0\nrows=0\ncols=0\nterm=\nfiles=0\nsecret=0\n" % nonce
    for l in line.split("|") if line else []:
        text += l + "\n"
    text += "".join("arg=%s\n" % a for a in args)
    s.sendall(frame("R", text.encode()))
    try:
        s.sendall(frame("e"))
    except OSError:
        pass
    code = None
    while True:
        t, data = recv_frame(s)
        if t is None:
            break
        if t in "XO":
            sys.stderr.write(data.decode(errors="replace"))
        if t == "Q":
            code = int(data.decode().split("=")[1])
            break
    sys.exit(3 if code is None else code)


main()
