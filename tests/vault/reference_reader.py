#!/usr/bin/env python3
"""Independent reference reader for tellonce sealed objects (format version 1).

Written from docs/format.md alone, with nothing but the Python 3 standard
library: ChaCha20 (RFC 8439 section 2.4), Poly1305 (section 2.5) and the
ChaCha20-Poly1305 AEAD (section 2.8) are implemented here in pure Python, and
HKDF-SHA-256 (RFC 5869) on top of hmac/hashlib.  The AEAD is checked against
the RFC 8439 section 2.8.2 test vector every time the script runs.

Usage:
  reference_reader.py vectors DOC.md
      Parse every ```vector NAME block of DOC.md, rebuild the plaintext
      (byte i = i mod 251) and check keys, header, every chunk, trailer,
      size equation and digests, then check that damage (header MAC flip,
      chunk byte flip, truncation at a chunk boundary, appended bytes, wrong
      key) is detected as the document's "Reading" table says.  Prints one
      line per check and ends with "reference_reader: N passed, M failed".
      Exit status 0 only if M == 0 and N > 0.

  reference_reader.py open --key-file KEY FILE
      KEY holds the 32-byte case key, raw or as 64 hex characters (optional
      trailing newline).  Authenticate FILE following the document's Reading
      steps and write its plaintext to standard output.  On any failure, write
      a one-line error naming what failed to standard error and exit 1; no
      plaintext is written at all unless every chunk authenticated.
"""

import argparse
import hashlib
import hmac
import re
import struct
import sys
import time

# ---------------------------------------------------------------------------
# ChaCha20 (RFC 8439 section 2.3/2.4), lane-parallel over Python big integers.
#
# Every one of the 16 state words is held as one big integer that packs the
# word of all blocks being computed, one block per 64-bit lane (32-bit value,
# 32 bits of headroom).  Additions, xors and rotations then act on all blocks
# at once; the mask clears carries and the bits a shift moves between lanes.
# This costs O(blocks) per operation, so a 64 KiB chunk is one pass of 80
# quarter rounds instead of 1024 passes.
# ---------------------------------------------------------------------------

_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)


def _qr(a, b, c, d, m):
    a = (a + b) & m
    d ^= a
    d = ((d << 16) | (d >> 16)) & m
    c = (c + d) & m
    b ^= c
    b = ((b << 12) | (b >> 20)) & m
    a = (a + b) & m
    d ^= a
    d = ((d << 8) | (d >> 24)) & m
    c = (c + d) & m
    b ^= c
    b = ((b << 7) | (b >> 25)) & m
    return a, b, c, d


def chacha20_keystream(key, counter, nonce, nblocks):
    """Return nblocks * 64 bytes of ChaCha20 keystream starting at counter."""
    if len(key) != 32 or len(nonce) != 12:
        raise ValueError("ChaCha20 needs a 32-byte key and a 12-byte nonce")
    if nblocks <= 0:
        return b""
    if counter < 0 or counter + nblocks > 1 << 32:
        raise ValueError("ChaCha20 block counter would overflow")
    ones = int.from_bytes(b"\x01\x00\x00\x00\x00\x00\x00\x00" * nblocks, "little")
    m = 0xFFFFFFFF * ones
    kw = struct.unpack("<8I", key)
    nw = struct.unpack("<3I", nonce)
    ctr = int.from_bytes(
        struct.pack("<%dQ" % nblocks, *range(counter, counter + nblocks)), "little")
    init = [w * ones for w in _SIGMA] + [w * ones for w in kw] + [ctr] + \
           [w * ones for w in nw]
    (x0, x1, x2, x3, x4, x5, x6, x7,
     x8, x9, x10, x11, x12, x13, x14, x15) = init
    for _ in range(10):
        x0, x4, x8, x12 = _qr(x0, x4, x8, x12, m)
        x1, x5, x9, x13 = _qr(x1, x5, x9, x13, m)
        x2, x6, x10, x14 = _qr(x2, x6, x10, x14, m)
        x3, x7, x11, x15 = _qr(x3, x7, x11, x15, m)
        x0, x5, x10, x15 = _qr(x0, x5, x10, x15, m)
        x1, x6, x11, x12 = _qr(x1, x6, x11, x12, m)
        x2, x7, x8, x13 = _qr(x2, x7, x8, x13, m)
        x3, x4, x9, x14 = _qr(x3, x4, x9, x14, m)
    final = (x0, x1, x2, x3, x4, x5, x6, x7,
             x8, x9, x10, x11, x12, x13, x14, x15)
    out = bytearray(64 * nblocks)
    for w in range(16):
        lanes = ((final[w] + init[w]) & m).to_bytes(8 * nblocks, "little")
        for k in range(4):
            out[4 * w + k::64] = lanes[k::8]
    return bytes(out)


def _xor(data, stream):
    n = len(data)
    if n == 0:
        return b""
    return (int.from_bytes(data, "little") ^
            int.from_bytes(stream[:n], "little")).to_bytes(n, "little")


def chacha20_encrypt(key, counter, nonce, data):
    """RFC 8439 section 2.4: xor data with the keystream from counter."""
    return _xor(data, chacha20_keystream(key, counter, nonce, (len(data) + 63) // 64))


# ---------------------------------------------------------------------------
# Poly1305 (RFC 8439 section 2.5) and the AEAD (section 2.8).
# ---------------------------------------------------------------------------

_P1305 = (1 << 130) - 5
_CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF


def poly1305(key, msg):
    if len(key) != 32:
        raise ValueError("Poly1305 needs a 32-byte one-time key")
    r = int.from_bytes(key[:16], "little") & _CLAMP
    s = int.from_bytes(key[16:], "little")
    p = _P1305
    acc = 0
    mv = memoryview(msg)
    full = len(msg) - len(msg) % 16
    hibit = 1 << 128
    frombytes = int.from_bytes
    for i in range(0, full, 16):
        acc = (acc + frombytes(mv[i:i + 16], "little") + hibit) * r % p
    if full != len(msg):
        tail = mv[full:]
        acc = (acc + frombytes(tail, "little") + (1 << (8 * len(tail)))) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def _pad16(n):
    return b"\x00" * (-n % 16)


def _aead_mac_data(aad, ct):
    return b"".join((aad, _pad16(len(aad)), ct, _pad16(len(ct)),
                     struct.pack("<QQ", len(aad), len(ct))))


def aead_seal(key, nonce, plaintext, aad):
    """ChaCha20-Poly1305 seal: returns ciphertext || 16-byte tag."""
    nblocks = 1 + (len(plaintext) + 63) // 64
    ks = chacha20_keystream(key, 0, nonce, nblocks)
    otk = ks[:32]
    ct = _xor(plaintext, ks[64:])
    return ct + poly1305(otk, _aead_mac_data(aad, ct))


def aead_open(key, nonce, sealed, aad):
    """ChaCha20-Poly1305 open: returns the plaintext, or None if the tag fails.

    Nothing derived from the ciphertext is returned before the tag is checked
    (the keystream is computed in the same pass as the one-time key, but the
    xor that yields plaintext happens only after the constant-time compare)."""
    if len(sealed) < 16:
        return None
    ct = sealed[:-16]
    tag = sealed[-16:]
    nblocks = 1 + (len(ct) + 63) // 64
    ks = chacha20_keystream(key, 0, nonce, nblocks)
    if not hmac.compare_digest(poly1305(ks[:32], _aead_mac_data(aad, ct)), bytes(tag)):
        return None
    return _xor(ct, ks[64:])


# ---------------------------------------------------------------------------
# HKDF-SHA-256 (RFC 5869)
# ---------------------------------------------------------------------------

def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def hkdf_sha256(ikm, salt, info, length):
    if length > 255 * 32:
        raise ValueError("HKDF output too long")
    prk = hmac_sha256(salt if salt else b"\x00" * 32, ikm)
    okm = b""
    t = b""
    i = 1
    while len(okm) < length:
        t = hmac_sha256(prk, t + info + bytes([i]))
        okm += t
        i += 1
    return okm[:length]


# ---------------------------------------------------------------------------
# Self-test: RFC 8439 section 2.8.2 (and 2.5.2 for Poly1305 alone).
# ---------------------------------------------------------------------------

def self_test():
    """Return a list of (ok, description)."""
    results = []
    key = bytes(range(0x80, 0xA0))
    nonce = bytes.fromhex("070000004041424344454647")
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you only "
          b"one tip for the future, sunscreen would be it.")
    ct = bytes.fromhex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116")
    tag = bytes.fromhex("1ae10b594f09e26a7e902ecbd0600691")
    sealed = aead_seal(key, nonce, pt, aad)
    results.append((sealed == ct + tag,
                    "self-test: RFC 8439 2.8.2 ChaCha20-Poly1305 seal"))
    results.append((aead_open(key, nonce, ct + tag, aad) == pt,
                    "self-test: RFC 8439 2.8.2 ChaCha20-Poly1305 open"))
    bad = bytearray(ct + tag)
    bad[0] ^= 1
    results.append((aead_open(key, nonce, bytes(bad), aad) is None,
                    "self-test: RFC 8439 2.8.2 altered ciphertext is rejected"))
    pkey = bytes.fromhex(
        "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    results.append((poly1305(pkey, b"Cryptographic Forum Research Group") ==
                    bytes.fromhex("a8061dc1305136c6c22b8baf0c0127a9"),
                    "self-test: RFC 8439 2.5.2 Poly1305"))
    # RFC 5869 test case 1 for HKDF-SHA-256.
    okm = hkdf_sha256(bytes.fromhex("0b" * 22), bytes.fromhex("000102030405060708090a0b0c"),
                      bytes.fromhex("f0f1f2f3f4f5f6f7f8f9"), 42)
    results.append((okm == bytes.fromhex(
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
        "34007208d5b887185865"), "self-test: RFC 5869 A.1 HKDF-SHA-256"))
    return results


# ---------------------------------------------------------------------------
# The sealed object format (docs/format.md)
# ---------------------------------------------------------------------------

MAGIC = bytes.fromhex("89544c4f0d0a1a0a")
HEADER_LEN = 104
TAG_LEN = 16
TRAILER_LEN = 8
KEY_ID_LABEL = b"tellonce/v1 key id"
OBJECT_LABEL = b"tellonce/v1 object"


class ObjectError(Exception):
    """A check of the Reading table failed; str() is the one-line reason."""


def key_id_of(case_key):
    return hmac_sha256(case_key, KEY_ID_LABEL)[:8]


def derive_keys(case_key, header72):
    okm = hkdf_sha256(case_key, header72[56:72], OBJECT_LABEL + header72[:72], 64)
    return okm[:32], okm[32:]


def chunk_nonce(i, last):
    return i.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def chunk_count(length, c):
    return max(1, -(-length // c))


def object_size(length, c):
    return HEADER_LEN + length + TAG_LEN * chunk_count(length, c) + TRAILER_LEN


def seal_object(case_key, case_id, object_id, salt, kind, chunk_log2, plaintext):
    """Seal per the document (used to cross-check the vectors byte for byte)."""
    c = 1 << chunk_log2
    header72 = (MAGIC + bytes([1, 1, kind, chunk_log2]) + b"\x00" * 4 + case_id +
                object_id + key_id_of(case_key) + salt)
    payload_key, mac_key = derive_keys(case_key, header72)
    out = [header72, hmac_sha256(mac_key, header72)]
    length = len(plaintext)
    n = chunk_count(length, c)
    for i in range(n):
        last = i == n - 1
        aad = length.to_bytes(8, "big") if last else b""
        out.append(aead_seal(payload_key, chunk_nonce(i, last),
                             plaintext[i * c:min(length, (i + 1) * c)], aad))
    out.append(length.to_bytes(8, "big"))
    return b"".join(out)


def parse_header(data, case_key):
    """Steps 1 to 6 of the Reading table.  Returns a dict of header fields."""
    size = len(data)
    # Step 1.
    if size < 8 or bytes(data[0:8]) != MAGIC:
        raise ObjectError("not a tellonce object")
    # Step 2 (needs bytes 8 and 9; a file that ends before them is truncated).
    if size < 10:
        raise ObjectError("truncated inside the header")
    if data[8] != 1:
        raise ObjectError("unsupported version %d" % data[8])
    if data[9] != 1:
        raise ObjectError("unsupported suite %d" % data[9])
    # Step 3.
    if size < HEADER_LEN:
        raise ObjectError("truncated inside the header")
    header = bytes(data[:HEADER_LEN])
    # Step 4.
    if not hmac.compare_digest(header[48:56], key_id_of(case_key)):
        raise ObjectError("wrong key (or the key id was altered)")
    # Step 5.
    payload_key, mac_key = derive_keys(case_key, header[:72])
    if not hmac.compare_digest(hmac_sha256(mac_key, header[:72]), header[72:104]):
        raise ObjectError("header altered")
    # Step 6.
    chunk_log2 = header[11]
    if not 10 <= chunk_log2 <= 20:
        raise ObjectError("unsupported chunk size (chunk_log2 = %d)" % chunk_log2)
    if header[12:16] != b"\x00" * 4:
        raise ObjectError("unsupported (reserved bytes are not zero)")
    return {
        "kind": header[10], "chunk_log2": chunk_log2, "chunk_size": 1 << chunk_log2,
        "case_id": header[16:32], "object_id": header[32:48], "key_id": header[48:56],
        "salt": header[56:72], "payload_key": payload_key, "mac_key": mac_key,
    }


def _diagnose(data, h):
    """Step 7 failed: walk the chunks from the first to say what is wrong.

    Always raises ObjectError."""
    size = len(data)
    c = h["chunk_size"]
    key = h["payload_key"]
    i = 0
    pos = HEADER_LEN
    while True:
        rem = size - pos
        if rem == 0:
            raise ObjectError("truncated, no final chunk (the file ends after chunk %d)"
                              % (i - 1) if i else "truncated, no final chunk")
        if rem >= c + TAG_LEN and aead_open(key, chunk_nonce(i, False),
                                            data[pos:pos + c + TAG_LEN], b"") is not None:
            pos += c + TAG_LEN
            i += 1
            continue
        # Not an inner chunk: it must be the last one.  Its trailer holds
        # L = i*C + (length - 16), where length is the chunk's size on disk;
        # look for every position in the chunk where 8 bytes say so.
        # If no position in the chunk holds a matching L and the file ends
        # before a whole chunk and its trailer (C + 16 + 8 bytes) have been
        # read, the file "ends inside" the chunk: truncated (or its last bytes
        # altered).  If a matching L is found but the chunk does not open with
        # it, or a whole chunk and trailer are there, it is the chunk itself
        # that fails authentication.  (The document leaves this boundary
        # implicit: it never says what "ends inside a chunk" means.)
        candidates = 0
        hi = min(c + TAG_LEN, rem - TRAILER_LEN)
        lo = TAG_LEN if i == 0 else TAG_LEN + 1  # only chunk 0 may be empty
        for length in range(lo, hi + 1):
            want = i * c + (length - TAG_LEN)
            if int.from_bytes(data[pos + length:pos + length + 8], "big") != want:
                continue
            candidates += 1
            aad = want.to_bytes(8, "big")
            if aead_open(key, chunk_nonce(i, True), data[pos:pos + length], aad) is None:
                continue
            extra = rem - length - TRAILER_LEN
            if extra > 0:
                raise ObjectError("extra data after the final chunk (%d bytes; "
                                  "the sealed content is intact)" % extra)
            # The end is valid and nothing follows: step 7 should have passed.
            raise ObjectError("internal error: chunk %d is a valid end but the "
                              "size equation failed" % i)
        if candidates == 0 and rem < c + TAG_LEN + TRAILER_LEN:
            raise ObjectError("truncated inside chunk %d (or its last bytes altered)" % i)
        raise ObjectError("chunk %d fails authentication" % i)


def open_object(data, case_key, reader_log=None):
    """Authenticate a whole sealed object; return (plaintext, header fields).

    Raises ObjectError naming the first failed check.  No plaintext is
    returned unless every chunk authenticated."""
    h = parse_header(data, case_key)
    size = len(data)
    c = h["chunk_size"]
    key = h["payload_key"]
    # Step 7: trailer, size equation, last chunk.
    last_pt = None
    if size >= HEADER_LEN + TRAILER_LEN:
        length = int.from_bytes(data[size - 8:size], "big")
        n = chunk_count(length, c)
        if object_size(length, c) == size:
            start = HEADER_LEN + (n - 1) * (c + TAG_LEN)
            last_pt = aead_open(key, chunk_nonce(n - 1, True), data[start:size - 8],
                                length.to_bytes(8, "big"))
    if last_pt is None:
        _diagnose(data, h)
    # Step 8: every other chunk opens as an inner chunk.
    parts = []
    for i in range(n - 1):
        start = HEADER_LEN + i * (c + TAG_LEN)
        pt = aead_open(key, chunk_nonce(i, False), data[start:start + c + TAG_LEN], b"")
        if pt is None:
            raise ObjectError("chunk %d fails authentication" % i)
        parts.append(pt)
    parts.append(last_pt)
    h["plaintext_len"] = length
    h["chunks"] = n
    return b"".join(parts), h


# ---------------------------------------------------------------------------
# vectors
# ---------------------------------------------------------------------------

_DECIMAL = ("kind", "chunk_size", "plaintext_len")


def parse_vectors(text):
    """Return [(name, {field: value})] for every ```vector NAME block."""
    vectors = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        mo = re.match(r"^```vector\s+(\S.*?)\s*$", lines[i])
        if not mo:
            i += 1
            continue
        name = mo.group(1)
        fields = {}
        order = []
        cur = None
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            if line[0] in " \t":
                if cur is None:
                    raise ValueError("vector %s: continuation line before any field" % name)
                fields[cur] += line.strip()
                continue
            parts = line.split(None, 1)
            cur = parts[0]
            if cur in fields:
                raise ValueError("vector %s: field %s given twice" % (name, cur))
            fields[cur] = parts[1].strip() if len(parts) > 1 else ""
            order.append(cur)
        if i >= len(lines):
            raise ValueError("vector %s: block is not closed" % name)
        i += 1
        parsed = {}
        for k in order:
            v = fields[k].replace(" ", "")
            if k in _DECIMAL:
                parsed[k] = int(v, 10)
            else:
                parsed[k] = bytes.fromhex(v)
        vectors.append((name, parsed))
    return vectors


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print("PASS %s" % what)
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, (": " + detail) if detail else ""))
        sys.stdout.flush()
        return ok


def _expect_error(ck, what, data, key, pattern):
    try:
        open_object(data, key)
    except ObjectError as e:
        msg = str(e)
        return ck.check(re.search(pattern, msg) is not None, what,
                        "got %r" % msg if re.search(pattern, msg) is None else "")
    return ck.check(False, what, "object opened without error")


def _flip(data, off, bit=0x01):
    b = bytearray(data)
    b[off] ^= bit
    return bytes(b)


def check_vector(ck, name, v):
    t0 = time.monotonic()
    p = "vector %s:" % name
    required = ("case_key", "case_id", "object_id", "salt", "kind", "chunk_size",
                "plaintext_len", "key_id", "payload_key", "mac_key", "header",
                "plaintext_sha256", "sealed_sha256", "sealed")
    missing = [k for k in required if k not in v]
    if not ck.check(not missing, p + " has every field", "missing " + ", ".join(missing)):
        return
    key = v["case_key"]
    c = v["chunk_size"]
    length = v["plaintext_len"]
    sealed = v["sealed"]
    plaintext = bytes(i % 251 for i in range(length))
    ck.check(len(key) == 32 and len(v["case_id"]) == 16 and len(v["object_id"]) == 16 and
             len(v["salt"]) == 16, p + " field sizes (key 32, ids and salt 16)")
    chunk_log2 = c.bit_length() - 1
    if not ck.check(c > 0 and c == 1 << chunk_log2 and 10 <= chunk_log2 <= 20,
                    p + " chunk_size %d is 2^%d with 10 <= log2 <= 20" % (c, chunk_log2)):
        return

    # Keys.
    ck.check(key_id_of(key) == v["key_id"], p + " key_id = HMAC(case_key, \"tellonce/v1 key id\")[:8]",
             key_id_of(key).hex())
    header = v["header"]
    ck.check(len(header) == HEADER_LEN, p + " header is 104 bytes", "%d" % len(header))
    ck.check(sealed[:HEADER_LEN] == header, p + " sealed starts with header")
    pk, mk = derive_keys(key, header[:72])
    ck.check(pk == v["payload_key"], p + " payload_key from HKDF", pk.hex())
    ck.check(mk == v["mac_key"], p + " mac_key from HKDF", mk.hex())

    # Header fields.
    want72 = (MAGIC + bytes([1, 1, v["kind"], chunk_log2]) + b"\x00" * 4 + v["case_id"] +
              v["object_id"] + v["key_id"] + v["salt"])
    ck.check(header[:72] == want72, p + " header fields (magic, version 1, suite 1, kind, "
             "chunk_log2, reserved, case id, object id, key id, salt)")
    ck.check(hmac.compare_digest(hmac_sha256(mk, header[:72]), header[72:104]),
             p + " header MAC = HMAC(mac_key, header[0..72))")

    # Chunks, one by one.
    n = chunk_count(length, c)
    ck.check(len(sealed) == object_size(length, c),
             p + " size %d = 104 + L + 16*n + 8 (L=%d, n=%d)" % (len(sealed), length, n),
             "expected %d" % object_size(length, c))
    for i in range(n):
        last = i == n - 1
        start = HEADER_LEN + i * (c + TAG_LEN)
        clen = (length - i * c if last else c) + TAG_LEN
        body = sealed[start:start + clen]
        aad = length.to_bytes(8, "big") if last else b""
        pt = aead_open(pk, chunk_nonce(i, last), body, aad)
        ck.check(pt is not None and pt == plaintext[i * c:i * c + clen - TAG_LEN],
                 p + " chunk %d (%d bytes, flag %d, aad %s) opens and matches the plaintext"
                 % (i, clen - TAG_LEN, 1 if last else 0, aad.hex() or "empty"))
        # The flag and the AAD must matter.
        wrong_flag = aead_open(pk, chunk_nonce(i, not last), body, aad)
        wrong_aad = aead_open(pk, chunk_nonce(i, last), body,
                              b"" if last else length.to_bytes(8, "big"))
        ck.check(wrong_flag is None and wrong_aad is None,
                 p + " chunk %d does not open with the other flag or the other aad" % i)
    ck.check(sealed[-8:] == length.to_bytes(8, "big"),
             p + " trailer holds L = %d" % length, sealed[-8:].hex())
    ck.check(hashlib.sha256(plaintext).digest() == v["plaintext_sha256"],
             p + " plaintext_sha256")
    ck.check(hashlib.sha256(sealed).digest() == v["sealed_sha256"], p + " sealed_sha256")
    resealed = seal_object(key, v["case_id"], v["object_id"], v["salt"], v["kind"],
                           chunk_log2, plaintext)
    ck.check(resealed == sealed, p + " sealing the plaintext independently gives "
             "the same bytes")

    # The whole reader.
    try:
        got, h = open_object(sealed, key)
        ck.check(got == plaintext and h["kind"] == v["kind"],
                 p + " open: Reading steps 1-8 pass and return the plaintext")
    except ObjectError as e:
        ck.check(False, p + " open: Reading steps 1-8 pass", str(e))

    # Damage, as the Reading table says.
    _expect_error(ck, p + " damage: flipped byte in header MAC -> header altered",
                  _flip(sealed, 72 + 5), key, r"^header altered$")
    _expect_error(ck, p + " damage: flipped byte in object id -> header altered",
                  _flip(sealed, 40), key, r"^header altered$")
    _expect_error(ck, p + " damage: flipped chunk_log2 -> header altered",
                  _flip(sealed, 11), key, r"^header altered$")
    _expect_error(ck, p + " damage: altered magic -> not a tellonce object",
                  _flip(sealed, 3), key, r"^not a tellonce object$")
    _expect_error(ck, p + " damage: version 2 -> unsupported version",
                  _flip(sealed, 8, 0x03), key, r"^unsupported version")
    _expect_error(ck, p + " damage: cut inside the header -> truncated inside the header",
                  sealed[:50], key, r"^truncated inside the header$")
    for i in range(n):
        last = i == n - 1
        start = HEADER_LEN + i * (c + TAG_LEN)
        clen = (length - i * c if last else c) + TAG_LEN
        for off, where in ((0, "first"), (clen // 2, "middle"), (clen - 1, "tag")):
            _expect_error(ck, p + " damage: flipped %s byte of chunk %d -> chunk %d fails "
                          "authentication" % (where, i, i),
                          _flip(sealed, start + off), key,
                          r"^chunk %d fails authentication$" % i)
    if n >= 2:
        a = HEADER_LEN
        b = HEADER_LEN + c + TAG_LEN
        swapped = sealed[:a] + sealed[b:b + c + TAG_LEN] + sealed[a:b] + sealed[b + c + TAG_LEN:]
        _expect_error(ck, p + " damage: chunks 0 and 1 swapped -> chunk 0 fails "
                      "authentication", swapped, key, r"^chunk 0 fails authentication$")
    for i in range(n):
        cut = HEADER_LEN + i * (c + TAG_LEN)
        _expect_error(ck, p + " damage: truncated at chunk boundary %d (%d bytes) -> "
                      "truncated, no final chunk" % (i, cut),
                      sealed[:cut], key, r"^truncated, no final chunk")
    _expect_error(ck, p + " damage: trailer removed -> truncated inside chunk %d" % (n - 1),
                  sealed[:-8], key, r"^truncated inside chunk %d " % (n - 1))
    _expect_error(ck, p + " damage: last 3 bytes removed -> truncated inside chunk %d"
                  % (n - 1), sealed[:-3], key, r"^truncated inside chunk %d " % (n - 1))
    # An altered trailer leaves no valid end.  Whether that reads "truncated
    # inside chunk i" or "chunk i fails authentication" depends on whether the
    # file "ends inside" the last chunk, which the document does not define;
    # this reader says it does when fewer than C + 16 + 8 bytes remain from the
    # chunk's start, so a full-size last chunk reports an authentication failure.
    if length - (n - 1) * c < c:
        want_msg, want_re = "truncated inside chunk %d" % (n - 1), r"^truncated inside chunk %d " % (n - 1)
    else:
        want_msg, want_re = "chunk %d fails authentication" % (n - 1), r"^chunk %d fails authentication$" % (n - 1)
    _expect_error(ck, p + " damage: trailer L altered -> %s" % want_msg,
                  _flip(sealed, len(sealed) - 1), key, want_re)
    for extra in (1, 8, 100, c + TAG_LEN + TRAILER_LEN + 3):
        tail = bytes((7 * j + 1) & 0xFF for j in range(extra))
        _expect_error(ck, p + " damage: %d bytes appended -> extra data after the final "
                      "chunk (%d bytes)" % (extra, extra), sealed + tail, key,
                      r"^extra data after the final chunk \(%d bytes" % extra)
    # Appended bytes that themselves look like a trailer (zeros / a plausible L).
    _expect_error(ck, p + " damage: 8 zero bytes appended -> extra data after the final chunk",
                  sealed + b"\x00" * 8, key, r"^extra data after the final chunk \(8 bytes")
    wrong = bytes(b ^ 0xFF for b in key)
    _expect_error(ck, p + " damage: wrong key -> wrong key (key id mismatch)",
                  sealed, wrong, r"^wrong key")
    _expect_error(ck, p + " damage: flipped key id byte -> wrong key (or the key id was "
                  "altered)", _flip(sealed, 50), key, r"^wrong key")
    print("     vector %s checked in %.2f s" % (name, time.monotonic() - t0))


def cmd_vectors(doc):
    ck = Checker()
    t0 = time.monotonic()
    for ok, what in self_test():
        ck.check(ok, what)
    try:
        with open(doc, "r", encoding="utf-8") as f:
            text = f.read()
        vectors = parse_vectors(text)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        ck.check(False, "read vectors from %s" % doc, str(e))
        vectors = []
    ck.check(len(vectors) > 0, "found %d vector block(s) in %s" % (len(vectors), doc))
    for name, v in vectors:
        try:
            check_vector(ck, name, v)
        except Exception as e:  # a malformed vector must not hide the others
            ck.check(False, "vector %s: checks ran to the end" % name,
                     "%s: %s" % (type(e).__name__, e))
    print("     total %.2f s" % (time.monotonic() - t0))
    print("reference_reader: %d passed, %d failed" % (ck.passed, ck.failed))
    return 0 if ck.failed == 0 and ck.passed > 0 else 1


# ---------------------------------------------------------------------------
# open
# ---------------------------------------------------------------------------

def read_key_file(path):
    with open(path, "rb") as f:
        raw = f.read(200)
    if len(raw) == 32:
        return raw
    text = raw
    if text.endswith(b"\r\n"):
        text = text[:-2]
    elif text.endswith(b"\n"):
        text = text[:-1]
    if len(text) == 64 and re.fullmatch(rb"[0-9A-Fa-f]{64}", text):
        return bytes.fromhex(text.decode("ascii"))
    raise ValueError("%s holds neither 32 raw bytes nor 64 hex characters" % path)


def cmd_open(key_file, path):
    prog = "reference_reader"
    failures = [what for ok, what in self_test() if not ok]
    if failures:
        sys.stderr.write("%s: %s failed\n" % (prog, failures[0]))
        return 1
    try:
        key = read_key_file(key_file)
    except (OSError, ValueError) as e:
        sys.stderr.write("%s: key file: %s\n" % (prog, e))
        return 1
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        sys.stderr.write("%s: %s: %s\n" % (prog, path, e.strerror or e))
        return 1
    try:
        plaintext, _ = open_object(data, key)
    except ObjectError as e:
        sys.stderr.write("%s: %s: %s\n" % (prog, path, e))
        return 1
    try:
        sys.stdout.buffer.write(plaintext)
        sys.stdout.buffer.flush()
    except (BrokenPipeError, OSError) as e:
        sys.stderr.write("%s: writing standard output: %s\n" % (prog, e))
        return 1
    return 0


def main(argv):
    ap = argparse.ArgumentParser(
        prog="reference_reader.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[0] + "\n\n" +
        "Independent reader for tellonce sealed objects, written from "
        "docs/format.md alone\n(pure-Python ChaCha20-Poly1305, HKDF-SHA-256; "
        "RFC 8439 2.8.2 self-test on every run).",
        epilog=(
            "commands:\n"
            "  vectors DOC.md\n"
            "      Check every ```vector NAME block of DOC.md: key_id, payload_key,\n"
            "      mac_key, header MAC, every chunk (nonce, flag, AAD, plaintext\n"
            "      byte i = i mod 251), trailer, size equation, both SHA-256 digests,\n"
            "      an independent re-seal, and that damage (header MAC flip, chunk\n"
            "      byte flip, truncation at a chunk boundary, appended bytes, wrong\n"
            "      key) is reported as the document's Reading table says.  One line\n"
            "      per check, then 'reference_reader: N passed, M failed'.\n"
            "      Exit 0 only if M == 0 and N > 0.\n"
            "  open --key-file KEY FILE\n"
            "      KEY: 32 raw bytes or 64 hex characters (optional trailing newline).\n"
            "      Authenticate FILE per the Reading steps and write the plaintext to\n"
            "      standard output.  On failure print one line naming the failed\n"
            "      check (e.g. 'chunk 3 fails authentication') to standard error and\n"
            "      exit 1; no plaintext is written unless every chunk authenticated.\n"))
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    pv = sub.add_parser("vectors", help="check the test vectors of a format document")
    pv.add_argument("doc", metavar="DOC.md")
    po = sub.add_parser("open", help="authenticate and decrypt a sealed object to stdout")
    po.add_argument("--key-file", required=True, metavar="KEY")
    po.add_argument("file", metavar="FILE")
    args = ap.parse_args(argv)
    if args.command == "vectors":
        return cmd_vectors(args.doc)
    if args.command == "open":
        return cmd_open(args.key_file, args.file)
    ap.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
