#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz harness: tests/fuzz/corpus/NAME/.

    tests/fuzz/make_corpus.py [--prune BUILD] [DIR]
                                    (DIR: by default the corpus/ next to this file)

With --prune BUILD (a build directory configured with -Dfuzzing=true), only
the files that add coverage are kept: each harness's libFuzzer merge
(-merge=1) starts from the seeds of its _replay program, as scripts/test's
runs do, and a file it does not take is deleted.

The files are committed, so a fuzz run starts from inputs that already reach
deep into each parser; run this again only when a format or its test vectors
change, and commit the result. scripts/test copies the corpus into the build
directory and adds the harness's own seeds (replay --write-seeds) before each
run, so libFuzzer never writes into the source tree.

Every input comes from a test vector or a test case, read from where it is
kept (so the corpus follows the vectors when they change):
  object    the sealed vectors of docs/format.md (sealed under the case key
            00 01 .. 1f, the fuzz harness's key) and damaged copies of them
            (cut, tampered, other header values), and read-range scripts;
  identity  identity files built by docs/identity-format.md with Argon2id at
            its cheapest (1 pass, 8 MiB, which the harness opens with its
            passphrase), also with keys that do not match, bad names and bad
            limits;
  entry     a ledger of one entry per kind of docs/ledger.md with the bodies of
            tests/chain/test_ledger.c, chained and signed, and broken ones;
  note      the notes, verifier keys and checkpoints of docs/ledger-formats.md
            and tests/chain/test_note.c (Go's, sum.golang.org's, C2SP's), with
            its malformed ones; notes signed here by the harness's two trusted
            keys (the tellonce.test/log key of seed 00 01 .. 1f and Go's
            PeterNeumann test key);
  proof     the proofs of docs/ledger-formats.md, the RFC 6962 reference
            proofs of tests/chain/data/rfc6962_reference.txt under checkpoints
            signed by the harness's key, and the malformed proofs of
            tests/chain/test_note.c;
  room      the profiles of docs/rooms.md and every profile of
            tests/hw/test_room.c (the full one with each bad value).

Needs only Python 3 and libsodium (loaded with ctypes: Ed25519 signatures,
Argon2id and XChaCha20-Poly1305 for identity files). Output is deterministic.
"""

import base64
import ctypes
import ctypes.util
import hashlib
import os
import re
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
MAX_FILE = 16384  # scripts/test runs libFuzzer with -max_len=16384
HARNESSES = ["object", "identity", "entry", "note", "proof", "room"]  # tests/fuzz/fuzz_NAME.c


def read(rel):
    with open(os.path.join(TOP, rel), encoding="utf-8") as f:
        return f.read()


# ---- libsodium ------------------------------------------------------------

_na = ctypes.CDLL(ctypes.util.find_library("sodium") or "libsodium.so.23")
if _na.sodium_init() < 0:
    sys.exit("make_corpus: sodium_init failed")
_ull = ctypes.c_ulonglong


def ed25519_keypair(seed):
    pk, sk = ctypes.create_string_buffer(32), ctypes.create_string_buffer(64)
    _na.crypto_sign_seed_keypair(pk, sk, seed)
    return pk.raw, sk.raw


def ed25519_sign(sk, msg):
    sig = ctypes.create_string_buffer(64)
    _na.crypto_sign_detached(sig, None, msg, _ull(len(msg)), sk)
    return sig.raw


def x25519_public(sk):
    pk = ctypes.create_string_buffer(32)
    _na.crypto_scalarmult_curve25519_base(pk, sk)
    return pk.raw


def argon2id(passphrase, salt, ops, mem_kib):
    out = ctypes.create_string_buffer(32)
    _na.crypto_pwhash.argtypes = [ctypes.c_char_p, _ull, ctypes.c_char_p, _ull, ctypes.c_char_p,
                                  _ull, ctypes.c_size_t, ctypes.c_int]
    if _na.crypto_pwhash(out, 32, passphrase, len(passphrase), salt, ops, mem_kib * 1024, 2) != 0:
        sys.exit("make_corpus: crypto_pwhash failed")
    return out.raw


def xchacha_seal(key, nonce, ad, msg):
    out = ctypes.create_string_buffer(len(msg) + 16)
    _na.crypto_aead_xchacha20poly1305_ietf_encrypt(out, None, msg, _ull(len(msg)), ad,
                                                   _ull(len(ad)), None, nonce, key)
    return out.raw


# ---- C string literals of the test sources --------------------------------

_ESC = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, '"': 34, "'": 39, "a": 7, "b": 8, "f": 12,
        "v": 11, "?": 63}


def c_unescape(body):
    out, i = bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        e = body[i + 1]
        if e == "x":
            m = re.match(r"[0-9a-fA-F]+", body[i + 2:])
            out.append(int(m.group(0), 16) & 0xFF)
            i += 2 + len(m.group(0))
        elif e in "01234567":
            m = re.match(r"[0-7]{1,3}", body[i + 1:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        else:
            out.append(_ESC[e])
            i += 2
    return bytes(out)


_TOKEN = re.compile(r'\s+|//[^\n]*|/\*.*?\*/|"((?:[^"\\\n]|\\.)*)"|\'(?:[^\'\\]|\\.)*\'|'
                    r'([A-Za-z_]\w*)|(\d\w*)|(.)', re.S)


def c_tokens(text, macros):
    """Tokens of C text: ("s", bytes) for a string (adjacent literals and
    string macros joined), ("i", name), ("p", punctuation or number)."""
    toks = []
    for m in _TOKEN.finditer(text):
        if m.group(1) is not None:
            s = c_unescape(m.group(1))
        elif m.group(2) is not None and isinstance(macros.get(m.group(2)), bytes):
            s = macros[m.group(2)]
        elif m.group(2) is not None:
            toks.append(("i", m.group(2)))
            continue
        elif m.group(3) is not None or m.group(4) is not None:
            toks.append(("p", m.group(3) or m.group(4)))
            continue
        else:
            continue
        if toks and toks[-1][0] == "s":
            toks[-1] = ("s", toks[-1][1] + s)
        else:
            toks.append(("s", s))
    return toks


def c_source(rel):
    """The string macros and the initialized arrays of a C file:
    (macros, [(name, items)]); an item is bytes, a list of items (a nested
    brace), or another token's text."""
    text = read(rel).replace("\\\n", "")
    macros, body = {}, []
    for line in text.split("\n"):
        d = re.match(r"\s*#\s*define\s+(\w+)\s+(.*)", line)
        if d:
            t = c_tokens(d.group(2), macros)
            if len(t) == 1 and t[0][0] == "s":
                macros[d.group(1)] = t[0][1]
        body.append("" if line.lstrip().startswith("#") else line)
    toks = c_tokens("\n".join(body), macros)
    arrays = []
    for k in range(len(toks) - 4):
        if toks[k][0] != "i" or toks[k + 1] != ("p", "["):
            continue
        j = k + 2
        while j < len(toks) and toks[j] != ("p", "]"):
            j += 1
        while j + 1 < len(toks) and toks[j + 1] == ("p", "["):  # [][2]
            j += 1
            while toks[j] != ("p", "]"):
                j += 1
        if j + 2 >= len(toks) or toks[j + 1] != ("p", "="):
            continue
        if toks[j + 2][0] == "s":
            arrays.append((toks[k][1], [toks[j + 2][1]]))
            continue
        if toks[j + 2] != ("p", "{"):
            continue

        def items(i):
            out, cur = [], None
            while True:
                t = toks[i]
                if t == ("p", "{"):
                    cur, i = items(i + 1)
                elif t == ("p", "}") or t == ("p", ","):
                    if cur is not None:
                        out.append(cur)
                    cur = None
                    if t == ("p", "}"):
                        return out, i
                elif t in (("p", "("), ("p", ")")):  # ("a" "b"): a string in parentheses
                    pass
                elif cur is None:
                    cur = t[1]
                i += 1

        arrays.append((toks[k][1], items(j + 3)[0]))
    return macros, arrays


def array(arrays, name, nth=0):
    return [a for n, a in arrays if n == name][nth]


# ---- output ---------------------------------------------------------------

class Corpus:
    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        self.n, self.seen = 0, set()
        os.makedirs(self.dir, exist_ok=True)
        for f in os.listdir(self.dir):
            os.unlink(os.path.join(self.dir, f))

    def add(self, slug, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        if data in self.seen:
            return
        if len(data) > MAX_FILE:
            sys.exit(f"make_corpus: {self.dir}/{slug} is {len(data)} bytes, over {MAX_FILE}")
        self.seen.add(data)
        slug = re.sub(r"[^a-z0-9]+", "-", slug.lower()).strip("-")[:48]
        with open(os.path.join(self.dir, f"{self.n:02d}-{slug}"), "wb") as f:
            f.write(data)
        self.n += 1


def b64(b):
    return base64.b64encode(b).decode()


# ---- object (docs/format.md) ----------------------------------------------

def object_corpus(c):
    vectors = {}
    for name, block in re.findall(r"```vector (\w+)\n(.*?)```", read("docs/format.md"), re.S):
        fields, last = {}, None
        for line in block.split("\n"):
            if line.startswith(" ") and last:
                fields[last] += line.strip()
            elif line.strip():
                last, value = line.split(None, 1)
                fields[last] = value.strip()
        vectors[name] = fields
    for name, v in vectors.items():
        c.add(f"vector {name} kind {v['kind']} {v['plaintext_len']} bytes",
              b"\0" + bytes.fromhex(v["sealed"]))
    a = bytes.fromhex(vectors["A"]["sealed"])  # 3 chunks of 1 KiB: 1024, 1024, 552
    step = 1024 + 16

    def edit(at, b):
        return a[:at] + bytes([b]) + a[at + 1:]

    damaged = [
        ("A header only", a[:104]),
        ("A header and chunk 0", a[:104 + step]),
        ("A without trailer", a[:-8]),
        ("A without last chunk", a[:104 + 2 * step] + a[-8:]),
        ("A chunks 0 and 2 swapped", a[:104] + a[104 + step:104 + 2 * step] + a[104:104 + step]
         + a[104 + 2 * step:]),
        ("A one byte more", a + b"\0"),
        ("A one byte less", a[:-1]),
        ("A chunk 1 byte flipped", edit(104 + step + 7, a[104 + step + 7] ^ 1)),
        ("A last tag flipped", edit(len(a) - 9, a[len(a) - 9] ^ 0x80)),
        ("A header mac flipped", edit(72, a[72] ^ 1)),
        ("A magic cr lf", edit(4, 0x0A)),
        ("A version 2", edit(8, 2)),
        ("A suite 2", edit(9, 2)),
        ("A kind 4", edit(10, 4)),
        ("A chunk log2 9", edit(11, 9)),
        ("A chunk log2 21", edit(11, 21)),
        ("A reserved set", edit(13, 1)),
        ("A key id changed", edit(48, a[48] ^ 1)),
        ("A trailer plus one", a[:-8] + struct.pack(">Q", 2601)),
        ("A trailer 2048", a[:-8] + struct.pack(">Q", 2048)),
        ("A trailer huge", a[:-8] + b"\xff" * 8),
    ]
    for slug, data in damaged:
        c.add(slug, b"\0" + data)
    # Mode 1: (offset, length) pairs, 16-bit little-endian, over the harness's
    # valid object of 3172 bytes in 1 KiB chunks: each chunk boundary.
    ranges = {
        "ranges whole and empty": [(0, 3172), (0, 0), (3172, 0), (3171, 1)],
        "ranges at chunk edges": [(1023, 1), (1023, 2), (1024, 1024), (1024, 1025), (2047, 2),
                                  (2048, 1024), (3071, 101), (3072, 100)],
        "ranges past the end": [(3172, 1), (3173, 0), (0, 3173), (3100, 73)],
        "ranges inside chunks": [(1, 1022), (1025, 1022), (2049, 1022), (3073, 98)],
    }
    for slug, rs in ranges.items():
        c.add(slug, b"\x01" + b"".join(struct.pack("<HH", o, n) for o, n in rs))


# ---- identity (docs/identity-format.md) -----------------------------------

PASSPHRASE = b"correct horse"  # tests/fuzz/fuzz_identity.c


def identity(name, ops=1, mem=8192, seed=b"\x07" * 32, box_seed=b"\x09" * 32, version=1,
             sign_pk=None, box_pk=None, sk_pk=None, passphrase=PASSPHRASE, name_len=None):
    """An identity file of the document's table, sealed for real; the keyword
    arguments make it wrong in one way (a key that does not match, ...)."""
    pk, sk = ed25519_keypair(seed)
    if sk_pk is not None:
        sk = sk[:32] + sk_pk
    salt, nonce = bytes(range(0x40, 0x50)), bytes(range(0x50, 0x68))
    head = (b"\x89TLOID\r\n" + bytes([version]) + struct.pack(">II", ops, mem) + salt + nonce
            + bytes([len(name) if name_len is None else name_len]) + name
            + (sign_pk or pk) + (box_pk or x25519_public(box_seed)))
    key = argon2id(passphrase, salt, min(max(ops, 1), 4), min(max(mem, 8192), 65536))
    return head + xchacha_seal(key, nonce, head, sk + box_seed)


def identity_corpus(c):
    good = identity(b"Fuzz")
    c.add("cheap kdf", good)
    c.add("cheap kdf chinese name", identity("张警官".encode()))
    c.add("cheap kdf one byte name", identity(b"A"))
    c.add("cheap kdf 255 byte name", identity(b"n" * 255))
    c.add("cheap kdf 2 passes 16 mib", identity(b"Fuzz", ops=2, mem=16384))
    c.add("interactive kdf", identity(b"Fuzz", ops=2, mem=65536))
    c.add("moderate kdf", identity(b"Fuzz", ops=3, mem=262144))
    c.add("wrong passphrase", identity(b"Fuzz", passphrase=b"wrong horse"))
    c.add("tag flipped", good[:-1] + bytes([good[-1] ^ 1]))
    c.add("signing key not the stored one", identity(b"Fuzz", sign_pk=b"\x01" * 32))
    c.add("box key not the stored one", identity(b"Fuzz", box_pk=b"\x02" * 32))
    c.add("secret key holds another public key", identity(b"Fuzz", sk_pk=b"\x03" * 32))
    c.add("name right to left override", identity("evil\u202e2 moor".encode()))
    c.add("name control character", identity(b"a\x1bb"))
    c.add("name overlong utf8", identity(b"a\xc0\xaf"))
    c.add("name c1 control", identity("a\u0085b".encode()))
    c.add("version 2", identity(b"Fuzz", version=2))
    c.add("ops 0", identity(b"Fuzz", ops=0))
    c.add("ops 17", identity(b"Fuzz", ops=17))
    c.add("mem 8191", identity(b"Fuzz", mem=8191))
    c.add("mem over 1 gib", identity(b"Fuzz", mem=1048577))
    c.add("name length 0", identity(b"Fuzz", name_len=0))
    c.add("name length past end", identity(b"Fuzz", name_len=200))
    c.add("one byte more", good + b"\0")
    c.add("one byte less", good[:-1])
    c.add("magic only", good[:8])
    c.add("magic text mode", good[:6] + b"\n" + good[8:])


# ---- entry (chain/entry.h, docs/ledger.md) --------------------------------

def entry_corpus(c):
    admin_pk, admin_sk = ed25519_keypair(b"\x11" * 32)
    officer_pk, officer_sk = ed25519_keypair(b"\x12" * 32)
    cust_pk, cust_sk = ed25519_keypair(b"\x13" * 32)
    h = lambda b: b.hex()  # noqa: E731
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    case = bytes(range(0x60, 0x70))
    admin, officer, cust = (admin_pk, admin_sk), (officer_pk, officer_sk), (cust_pk, cust_sk)
    # One entry of each kind, bodies after docs/ledger.md and test_ledger.c.
    rows = [
        (1, None, admin, {"admin.box_pk": h(b"\x21" * 32), "admin.name": "Admin Ahlberg",
                          "admin.pk": h(admin_pk), "custodian.box_pk": h(b"\x23" * 32),
                          "custodian.pk": h(cust_pk), "custodian.sig": h(b"\x5a" * 64),
                          "origin": "test.tellonce.invalid/vault"}),
        (2, None, admin, {"box_pk": h(b"\x22" * 32), "name": "张警官", "pk": h(officer_pk),
                          "roles": "interviewer"}),
        (2, None, admin, {"box_pk": h(b"\x24" * 32), "name": "X", "pk": h(b"\x25" * 32),
                          "roles": "admin,prosecutor,medical,auditor"}),
        (3, None, admin, {"pk": h(b"\x25" * 32), "reason": "left the unit"}),
        (10, case, officer, {"case_number_mac": sha(b"2025-0142"), "info_object": h(b"\x31" * 16),
                             "info_sha256": sha(b"info"), "wrapped_key_sha256": sha(b"key")}),
        (20, case, officer, {"camera.1": "test smpte 640x360 25/1 1500 kbit/s",
                             "camera.2": "device /dev/video0 1920x1080 25/1 8000 kbit/s",
                             "cameras": "2", "encoder": "x264enc", "microphone.1": "speech",
                             "microphones": "1", "room": "Interview room 2",
                             "room_sha256": "0d79eabebd2f47db0551c12bec13bf0f6238d7b1f4abbe4f"
                             "b15cd27dfa308e6d", "segment_seconds": "4", "session": "1"}),
        (21, case, officer, {"bytes": "1048680", "ciphertext_sha256": sha(b"c"),
                             "duration_ms": "4000", "end_ms": "4000", "index": "0",
                             "object": h(b"\x32" * 16), "plaintext_bytes": "1048576",
                             "plaintext_sha256": sha(b"p"), "session": "1", "start_ms": "0",
                             "wall_end_ms": "1764400004100", "wall_start_ms": "1764400000000"}),
        (22, case, officer, {"at_ms": "1000", "session": "1", "text": "警察 marker"}),
        (25, case, officer, {"at_ms": "2500", "device": "camera 2", "event": "lost",
                             "message": "Could not read from resource.", "session": "1",
                             "then": "no-signal slate"}),
        (23, case, officer, {"bytes": "1048680", "device_events": "1", "elapsed_ms": "4100",
                             "markers": "1", "media_ms": "4000", "segments": "1",
                             "session": "1", "status": "ended"}),
        (24, case, admin, {"kept_bytes": "0", "recovered_ms": "0", "recovered_segments": "0",
                           "segments": "1", "session": "1", "status": "ended",
                           "unfinished": "0", "unfinished_bytes": "0"}),
        (30, case, admin, {"actions": "view,export", "expires_ms": "1767000000000",
                           "from_ms": "0", "purpose": "trial", "session": "1",
                           "to": h(b"\x26" * 32), "to_name": "Prosecutor P",
                           "until_ms": "4000"}),
        (40, case, cust, {"action": "export", "actor": h(b"\x26" * 32), "from_ms": "0",
                          "grant": "11", "purpose": "trial", "request_sig": h(b"\x5b" * 64),
                          "request_time_ms": "1764500000000", "segments": "0-0",
                          "session": "1", "to_ms": "4000"}),
        (41, case, cust, {"action": "view", "actor": h(b"\x27" * 32), "from_ms": "0",
                          "purpose": "curious", "reason": "no grant", "request_sig":
                          h(b"\x5c" * 64), "request_time_ms": "1764500000001",
                          "session": "1", "to_ms": "4000"}),
        (42, case, cust, {"access": "12", "bytes": "90000", "clip_end_ms": "4000",
                          "clip_sha256": sha(b"clip"), "clip_start_ms": "0",
                          "exporter": h(b"\x26" * 32), "file": "case-1-session-1.mp4",
                          "from_ms": "0", "session": "1", "to_ms": "4000",
                          "watermark": "Prosecutor P 2025-12-01"}),
        (11, case, cust, {"actor": h(b"\x27" * 32), "reason": "no role", "result": "refused"}),
        (31, case, admin, {"grant": "11", "reason": "trial over"}),
        (70, None, cust, {"root": sha(b"root"), "size": "17"}),
        (50, case, officer, {}),
    ]
    prev, seq = b"\0" * 32, 0
    for kind, case_id, (pk, sk), body in rows:
        text = "".join(f"{k}={body[k]}\n" for k in sorted(body)).encode()
        head = (b"TLE1" + struct.pack(">QQHB", seq, 1764400000000 + 1000 * seq, kind,
                                      1 if case_id else 0)
                + (case_id or b"\0" * 16) + hashlib.sha256(pk).digest() + prev
                + struct.pack(">I", len(text)) + text)
        e = head + ed25519_sign(sk, b"tellonce/v1 entry\n" + head)
        c.add(f"seq {seq} kind {kind}", e)
        prev, seq = hashlib.sha256(b"\0" + e).digest(), seq + 1
        if kind == 22:
            marker = e
    m, n = marker, len(marker)

    def at(i, b):
        return m[:i] + bytes([b]) + m[i + 1:]

    body_at = 107
    broken = [
        ("magic TLE2", at(3, ord("2"))),
        ("flags bit 1", at(22, 3)),
        ("no case flag but a case id", at(22, 0)),
        ("body length past the end", m[:103] + struct.pack(">I", 60000) + m[107:]),
        ("body length zero", m[:103] + struct.pack(">I", 0) + m[107:]),
        ("signature cut", m[:-1]),
        ("one byte more", m + b"\0"),
        ("fixed part only", m[:107]),
        ("body key upper case", at(body_at, ord("A"))),
        ("body keys out of order", m[:body_at] + b"session=1\nat_ms=1000\n" + m[body_at + 21:]),
        ("body without final newline", at(n - 65, ord(" "))),
        ("body value with tab", m[:body_at + 6] + b"\t" + m[body_at + 7:]),
    ]
    for slug, data in broken:
        c.add(slug, data)
    for slug, body in [("body only", b"at_ms=1000\ntext=x\n"), ("empty", b"")]:
        c.add(slug, body)


# ---- note and proof (docs/ledger-formats.md, tests/chain/test_note.c) ------

DASH = "\u2014"
ED25519 = b"\x01"  # the signature type byte of a verifier key
FUZZ_ORIGIN = "tellonce.test/log"  # tests/fuzz/fuzz_note.c and fuzz_proof.c


class Signer:
    def __init__(self, name, seed):
        self.name = name
        self.pk, self.sk = ed25519_keypair(seed)
        self.key_id = hashlib.sha256(name.encode() + b"\n\x01" + self.pk).digest()[:4]

    def vkey(self):
        return vkey(self.name, self.key_id, ED25519 + self.pk)

    def line(self, text):
        return f"{DASH} {self.name} {b64(self.key_id + ed25519_sign(self.sk, text.encode()))}\n"


def vkey(name, key_id, key):
    return f"{name}+{key_id.hex()}+{b64(key)}"


def signed(text, *signers):
    return text + "\n" + "".join(s.line(text) for s in signers)


def checkpoint(size, root, ext=""):
    return f"{FUZZ_ORIGIN}\n{size}\n{b64(root)}\n{ext}"


def notes_and_proofs(note, proof):
    macros, arrays = c_source("tests/chain/test_note.c")
    s = {k: v.decode("utf-8", "surrogateescape") for k, v in macros.items()}
    fuzz = Signer(FUZZ_ORIGIN, bytes(range(32)))
    if fuzz.vkey() != s["TEST_VKEY"]:
        sys.exit("make_corpus: the fuzz key is not TEST_VKEY of test_note.c")
    peter_seed = base64.b64decode(s["PETER_SKEY_B64"])[1:]
    peter = Signer("PeterNeumann", peter_seed)
    if peter.vkey() != s["PETER_VKEY"]:
        sys.exit("make_corpus: PETER_SKEY_B64 does not give PETER_VKEY")
    witness = Signer("witness.example", b"\x08" * 32)
    doc = read("docs/ledger-formats.md")
    blocks = {b.split("\n", 1)[0]: b for b in re.findall(r"```\n(.*?)```", doc, re.S)}

    def n(mode, slug, text):
        note.add(slug, bytes([mode]) + text.encode("utf-8", "surrogateescape"))

    def p(mode, slug, text):
        proof.add(slug, bytes([mode]) + text.encode("utf-8", "surrogateescape"))

    # Signed notes (mode 0).
    n(0, "docs checkpoint 13", blocks[FUZZ_ORIGIN])
    n(0, "go peter and enoch", s["GO_TEXT"] + "\n" + s["PETER_SIG"] + s["ENOCH_SIG"])
    for i, (cp, _size) in enumerate(array(arrays, "sumdb_checkpoints")):
        n(0, f"sum golang org {i}", cp.decode())
    n(0, "c2sp note example", s["C2SP_NOTE_EXAMPLE"])
    n(0, "c2sp checkpoint two signatures",
      s["C2SP_CHECKPOINT_BODY"] + "\n" + s["C2SP_CHECKPOINT_SIG1"] + s["C2SP_CHECKPOINT_SIG2"])
    for i, t in enumerate(array(arrays, "bad_msgs")):
        n(0, f"go malformed {i}", t.decode("utf-8", "surrogateescape"))
    root13 = base64.b64decode(s["TEST_ROOT13"])
    cp13 = signed(checkpoint(13, root13), fuzz)
    n(0, "checkpoint cosigned by peter and a witness",
      signed(checkpoint(13, root13), witness, fuzz, peter))
    n(0, "checkpoint with extensions", signed(checkpoint(13, root13, "ext one\next two\n"), fuzz))
    n(0, "checkpoint size 0", signed(checkpoint(0, hashlib.sha256(b"").digest()), fuzz))
    n(0, "checkpoint size 2^64-1", signed(checkpoint(2**64 - 1, root13), fuzz))
    for i, t in enumerate(array(arrays, "texts")):
        n(0, f"text {i} signed", signed(t.decode("utf-8", "surrogateescape"), fuzz))
    for i, line in enumerate(array(arrays, "bad_sig_lines")):
        n(0, f"bad signature line {i}", cp13 + line.decode("utf-8", "surrogateescape"))
    n(0, "trusted signature altered", cp13.replace("f6kl", "f6km"))
    n(0, "trusted key twice", cp13 + fuzz.line(checkpoint(13, root13)))
    n(0, "crlf", cp13.replace("\n", "\r\n"))
    n(0, "empty line after signatures", cp13 + "\n")
    n(0, "no final newline", cp13[:-1])
    many = [Signer(f"w{i}.example", bytes([i + 1]) * 32) for i in range(100)]
    n(0, "100 more signatures", signed(checkpoint(13, root13), fuzz, *many))
    # Verifier keys (mode 1).
    vkeys = [s[k] for k in ("PETER_VKEY", "ENOCH_VKEY", "SUMDB_VKEY", "TEST_VKEY")]
    for k in vkeys:
        n(1, "vkey " + k.split("+")[0], k)
    n(1, "vkey upper case key id", s["TEST_VKEY"].replace("7fa92545", "7FA92545"))
    n(1, "vkey wrong key id", s["TEST_VKEY"].replace("7fa92545", "7fa92546"))
    n(1, "vkey algorithm 2", vkey(FUZZ_ORIGIN, fuzz.key_id, b"\x02" + fuzz.pk))
    n(1, "vkey short key", vkey(FUZZ_ORIGIN, fuzz.key_id, ED25519 + fuzz.pk[:31]))
    for i, name in enumerate(array(arrays, "bad_names")[:6]):
        n(1, f"vkey bad name {i}",
          vkey(name.decode("utf-8", "surrogateescape"), fuzz.key_id, ED25519 + fuzz.pk))
    # Checkpoint bodies (mode 2).
    n(2, "body 13", checkpoint(13, root13))
    n(2, "body with extensions", checkpoint(7, root13, "ext line\n"))
    n(2, "body c2sp", s["C2SP_CHECKPOINT_BODY"])
    for i, t in enumerate(array(arrays, "bad", 0)):
        n(2, f"bad body {i}", t.decode("utf-8", "surrogateescape"))

    # Inclusion (mode 0) and consistency (mode 1) proofs.
    p(0, "docs inclusion 6 of 13", blocks["c2sp.org/tlog-proof@v1"])
    p(1, "docs consistency 6 to 13", blocks["tellonce.consistency-proof/v1"])
    p(1, "c2sp witness", "tellonce.consistency-proof/v1\n" + s["C2SP_WITNESS_PROOF"])
    ref = read("tests/chain/data/rfc6962_reference.txt")
    roots = {int(a): bytes.fromhex(b) for a, b in re.findall(r"^root (\d+) (\w+)", ref, re.M)}
    hashes = lambda proof_: "".join(  # noqa: E731
        b64(bytes.fromhex(x)) + "\n" for x in proof_.split(",") if proof_ != "-")
    for index, size, pr in re.findall(r"^inclusion (\d+) (\d+) \S+ \S+ (\S+) ok", ref, re.M):
        cp = signed(checkpoint(size, roots[int(size)]), fuzz)
        p(0, f"rfc6962 inclusion {index} of {size}",
          f"c2sp.org/tlog-proof@v1\nindex {index}\n{hashes(pr)}\n{cp}")
    for old, size, pr in re.findall(r"^consistency (\d+) (\d+) \S+ \S+ (\S+) ok", ref, re.M):
        cp = signed(checkpoint(size, roots[int(size)]), fuzz)
        p(1, f"rfc6962 consistency {old} to {size}",
          f"tellonce.consistency-proof/v1\nold {old}\n{hashes(pr)}\n{cp}")
    cp8 = signed(checkpoint(8, roots[8]), fuzz)
    p(0, "inclusion with extra", "c2sp.org/tlog-proof@v1\nextra " + b64(b"age-v1.2.1.tar.gz")
      + "\nindex 7\n" + hashes("aa" * 32 + "," + "bb" * 32 + "," + "cc" * 32) + "\n" + cp8)
    p(0, "inclusion 0 of 1", f"c2sp.org/tlog-proof@v1\nindex 0\n\n"
      + signed(checkpoint(1, roots[1]), fuzz))
    p(1, "consistency 0 to 8", f"tellonce.consistency-proof/v1\nold 0\n\n{cp8}")
    p(1, "consistency 8 to 8", f"tellonce.consistency-proof/v1\nold 8\n\n{cp8}")
    p(1, "consistency 9 to 8", f"tellonce.consistency-proof/v1\nold 9\n\n{cp8}")
    # The malformed inclusion proofs of test_note.c: formats of (header, hashes, checkpoint).
    args = ["c2sp.org/tlog-proof@v1\n", "".join(x.decode() + "\n" for x in
                                                 array(arrays, "incl_13_6")), s["TEST_CP13"]]
    for i, row in enumerate(array(arrays, "cases", 0)):
        fmt, it = row[0].decode(), iter(args)
        # printf with only %s and %.0s (an argument left out)
        text = re.sub(r"%(\.0)?s", lambda m: next(it)[:0 if m.group(1) else None], fmt)
        p(0, f"bad inclusion {i}", text)
    for i, t in enumerate(array(arrays, "bad", 1)):
        p(1, f"bad consistency {i}", t.decode() + s["TEST_CP13"])


# ---- room (docs/rooms.md, tests/hw/test_room.c) ---------------------------

def room_corpus(c):
    for i, block in enumerate(re.findall(r"```ini\n(.*?)```", read("docs/rooms.md"), re.S)):
        c.add(f"docs profile {i}", block)
    _, arrays = c_source("tests/hw/test_room.c")
    full = array(arrays, "full_profile")[0]
    c.add("minimal", array(arrays, "minimal")[0])
    c.add("nul byte", array(arrays, "nul")[0])
    for slug, rows in [("edge", array(arrays, "edges")), ("bad value", array(arrays, "cases", 0))]:
        for row in rows:
            frm, to = row[0], row[1]
            if full.find(frm) >= 0:
                c.add(f"{slug} {to.decode('utf-8', 'replace')}", full.replace(frm, to, 1))
    for row in array(arrays, "cases", 1):
        c.add(f"structure {row[1].decode()}", row[0])


def prune(build, d, name):
    """Deletes the files of d that libFuzzer's merge does not take, starting
    from the harness's own seeds; renumbers the rest."""
    with tempfile.TemporaryDirectory() as tmp:
        fuzz = os.path.join(build, "tests", "fuzz", "fuzz_" + name)
        subprocess.run([fuzz + "_replay", "--write-seeds", tmp], check=True)
        seeds = set(os.listdir(tmp))
        log = subprocess.run([fuzz, "-merge=1", tmp, d], capture_output=True, text=True)
        if log.returncode != 0:
            sys.exit(f"make_corpus: merge of {d} failed:\n{log.stderr[-3000:]}")
        kept = {f for f in os.listdir(tmp) if f not in seeds}
    files = sorted(os.listdir(d))
    for f in files:
        with open(os.path.join(d, f), "rb") as fh:
            if hashlib.sha1(fh.read()).hexdigest() not in kept:
                os.unlink(os.path.join(d, f))
    for i, f in enumerate(sorted(os.listdir(d))):
        os.rename(os.path.join(d, f), os.path.join(d, f"{i:02d}-{f.split('-', 1)[1]}"))
    print(f"{name}: kept {len(os.listdir(d))} of {len(files)} files")


def main():
    args = sys.argv[1:]
    build = None
    if args[:1] == ["--prune"] and len(args) >= 2:
        build, args = args[1], args[2:]
    root = args[0] if args else os.path.join(HERE, "corpus")
    corpora = {name: Corpus(root, name) for name in HARNESSES}
    notes_and_proofs(corpora["note"], corpora["proof"])
    object_corpus(corpora["object"])
    identity_corpus(corpora["identity"])
    entry_corpus(corpora["entry"])
    room_corpus(corpora["room"])
    if build:
        for name in HARNESSES:
            prune(build, corpora[name].dir, name)


if __name__ == "__main__":
    main()
