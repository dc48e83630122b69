#!/usr/bin/python3
"""A raw client of the custodian service, for the tests that must send what
the tellonce command never would: a replayed nonce, a stale request.

  svc_client.py SOCKET replay ARGS...  asks with the nonce of an earlier connection
  svc_client.py SOCKET stale MS ARGS... waits MS ms after the hello, then asks
  svc_client.py SOCKET ask ARGS...     asks properly (the control case)
Prints the service's stderr and exits with the command's exit code."""
import socket, struct, sys, time


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


def hello(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    t, data = recv_frame(s)
    assert t == "H", t
    nonce = [l[6:] for l in data.decode().splitlines() if l.startswith("nonce=")][0]
    return s, nonce


def ask(s, nonce, args):
    text = "nonce=%s\ntty=0\nrows=0\ncols=0\nterm=\nfiles=0\nsecret=0\n" % nonce
    text += "".join("arg=%s\n" % a for a in args)
    s.sendall(frame("R", text.encode()))
    s.sendall(frame("e"))
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
    return 3 if code is None else code


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if mode == "replay":
        first, old = hello(path)
        first.close()
        s, _ = hello(path)
        sys.exit(ask(s, old, sys.argv[3:]))
    if mode == "stale":
        s, nonce = hello(path)
        time.sleep(int(sys.argv[3]) / 1000.0)
        sys.exit(ask(s, nonce, sys.argv[4:]))
    s, nonce = hello(path)
    sys.exit(ask(s, nonce, sys.argv[3:]))


main()
