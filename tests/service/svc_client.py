#!/usr/bin/python3
"""A raw client of the custodian service, for the tests that must send what
the tellonce command never would: a replayed nonce, a stale request.

  svc_client.py SOCKET replay ARGS...  asks with the nonce of an earlier connection
  svc_client.py SOCKET stale MS ARGS... waits MS ms after the hello, then asks
  svc_client.py SOCKET ask ARGS...     asks properly (the control case)
  svc_client.py SOCKET opath PATH IDX ARGS...  hands an O_PATH descriptor of PATH
                                       over as the file of argument IDX
  svc_client.py SOCKET named17 ARGS... announces 16 files and a passphrase, sends
                                       17 named files
  svc_client.py SOCKET bigidx ARGS...  a file for argument 4294967295
  svc_client.py SOCKET trickle ARGS... sends its request one byte every 2 s
  svc_client.py SOCKET hold N          holds N connections open (until killed)
Prints the service's stderr and exits with the command's exit code."""
import fcntl, os, socket, struct, sys, time


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


def request(nonce, args, files=0, secret=0):
    text = "nonce=%s\ntty=0\nrows=0\ncols=0\nterm=\nfiles=%d\nsecret=%d\n" % (nonce, files, secret)
    text += "".join("arg=%s\n" % a for a in args)
    return frame("R", text.encode())


def send_fd(s, data, fd):
    socket.send_fds(s, [data], [fd])


def memfd_of(data):
    fd = os.memfd_create("t", os.MFD_ALLOW_SEALING)
    os.write(fd, data)
    fcntl.fcntl(fd, fcntl.F_ADD_SEALS, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE)
    return fd


def ask(s, nonce, args, sent=False):
    if not sent:
        s.sendall(request(nonce, args))
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
    if mode == "opath":
        target, idx, args = sys.argv[3], int(sys.argv[4]), sys.argv[5:]
        s, nonce = hello(path)
        s.sendall(request(nonce, args, files=1))
        send_fd(s, frame("F", b"arg=%d\nout=0\n" % idx), os.open(target, os.O_PATH))
        sys.exit(ask(s, nonce, args, sent=True))
    if mode == "named17":
        args = sys.argv[3:]
        s, nonce = hello(path)
        s.sendall(request(nonce, args, files=16, secret=1))
        for _ in range(17):
            try:
                send_fd(s, frame("F", b"arg=1\nname=zz\nout=0\n"), memfd_of(b"x"))
            except OSError:
                break
        sys.exit(ask(s, nonce, args, sent=True))
    if mode == "bigidx":
        args = sys.argv[3:]
        s, nonce = hello(path)
        s.sendall(request(nonce, args, files=1))
        send_fd(s, frame("F", b"arg=4294967295\nout=0\n"), memfd_of(b"x"))
        sys.exit(ask(s, nonce, args, sent=True))
    if mode == "trickle":
        s, nonce = hello(path)
        start = time.monotonic()
        try:
            for b in request(nonce, sys.argv[3:]):
                s.sendall(bytes([b]))
                time.sleep(2)
        except OSError:
            pass
        print("closed after %.0f s" % (time.monotonic() - start))
        sys.exit(0)
    if mode == "hold":
        held = [hello(path)[0] for _ in range(int(sys.argv[3]))]
        print("holding %d" % len(held), flush=True)
        time.sleep(600)
        sys.exit(0)
    s, nonce = hello(path)
    sys.exit(ask(s, nonce, sys.argv[3:]))


main()
