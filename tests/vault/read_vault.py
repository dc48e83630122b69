#!/usr/bin/env python3
"""Reads a tellonce vault with the custodian's credentials, from docs/ alone.

Written from docs/vault-layout.md, docs/identity-format.md, docs/ledger.md,
docs/format.md and docs/cli.md, without tellonce's code: PyNaCl (Debian's
python3-nacl) for Argon2id, XChaCha20-Poly1305, sealed boxes and Ed25519;
Python's sqlite3 for the ledger; and tests/vault/reference_reader.py (the
pure-Python reader of sealed objects written from docs/format.md) for the
objects.

Usage:
  read_vault.py VAULT CASE [--segment N | --all-segments]
      CASE is the case number police use, or the case's internal id (32 hex
      digits). In the order of docs/vault-layout.md, "Reading a case":
      unlock custodian.id with custodian.secret; read and check the ledger
      (hash chain, signatures by enrolled keys); find the case-open entry;
      check cases/CASEID.key against wrapped_key_sha256 and open it (the case
      key); check and open the case record; then for the case's segment N
      (default 0, in ledger order) or every segment: check the sealed file
      against its entry, derive its object key, open it, and check the
      plaintext's SHA-256 against plaintext_sha256 and that it is an MP4
      file. One line per step; exit 0 when every check passed, 1 at the
      first that failed (naming it), 2 on a usage error. The case record's
      fields are not printed, only their names and sizes.

  read_vault.py vectors DOCS_DIR
      Check the test vectors of DOCS_DIR/vault-layout.md (custodian identity,
      wrapped case key, case record, the case-open body) and the request
      example of DOCS_DIR/cli.md against the manifest of DOCS_DIR/export.md.
      Ends with "read_vault: N passed, M failed"; exit 0 only if M == 0.
"""

import argparse
import base64
import hashlib
import hmac
import os
import re
import sqlite3
import sys
import urllib.parse

try:
    import nacl.bindings
    import nacl.encoding
    import nacl.exceptions
    import nacl.hash
    import nacl.public
    import nacl.pwhash
    import nacl.signing
except ImportError:
    sys.stderr.write("read_vault: PyNaCl is missing: install python3-nacl (scripts/install-deps)"
                     " and run this with Debian's /usr/bin/python3\n")
    sys.exit(2)

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_reader as rr  # noqa: E402  (the sealed-object reader of docs/format.md)


class ReadError(Exception):
    """A check failed; str() says which, and where."""


# ---------------------------------------------------------------------------
# Text (docs/ledger.md, "The body"; docs/identity-format.md, "Name")
# ---------------------------------------------------------------------------

# Bidirectional and invisible formatting characters an identity name may not hold.
_NAME_FORBIDDEN = ({0x061C, 0x200E, 0x200F, 0xFEFF} | set(range(0x202A, 0x202F)) |
                   set(range(0x2060, 0x206A)))


def is_text(b):
    """Valid UTF-8 without control characters (C0, DEL, C1): a body value."""
    try:
        s = b.decode("utf-8")  # Python refuses overlongs, surrogates, > U+10FFFF
    except UnicodeDecodeError:
        return False
    return not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in s)


def parse_body(body):
    """A canonical entry body as an ordered list of (key, value bytes)."""
    if len(body) > 65536:
        raise ReadError("a body is longer than 64 KiB")
    if body and not body.endswith(b"\n"):
        raise ReadError("the body's last line does not end with a newline")
    fields = []
    for line in body.split(b"\n")[:-1] if body else []:
        key, eq, value = line.partition(b"=")
        if not eq or not re.fullmatch(rb"[a-z0-9_.]{1,32}", key):
            raise ReadError("a body line has no valid key= (%r)" % line[:40])
        if fields and not fields[-1][0].encode("ascii") < key:
            raise ReadError("body keys are not in strictly increasing order")
        if not is_text(value):
            raise ReadError("a body value holds a control character or invalid UTF-8")
        fields.append((key.decode("ascii"), value))
    return fields


# ---------------------------------------------------------------------------
# Identity files (docs/identity-format.md)
# ---------------------------------------------------------------------------

ID_MAGIC = b"\x89TLOID\r\n"


def unlock_identity(data, passphrase):
    """Steps 1..6 of "Reading a file"; returns a dict of the name and keys."""
    if len(data) > 489:
        raise ReadError("identity file larger than 489 bytes")
    if len(data) < 58 or data[:8] != ID_MAGIC:
        raise ReadError("not an identity file (magic)")
    if data[8] != 1:
        raise ReadError("identity file version %d is not supported" % data[8])
    ops = int.from_bytes(data[9:13], "big")
    mem_kib = int.from_bytes(data[13:17], "big")
    if not 1 <= ops <= 16 or not 8192 <= mem_kib <= 1048576:
        raise ReadError("identity file's Argon2id limits are out of bounds")
    salt, nonce, n = data[17:33], data[33:57], data[57]
    if n == 0 or len(data) != 234 + n:
        raise ReadError("identity file's size does not match its name length")
    name = data[58:58 + n]
    if not is_text(name) or any(ord(c) in _NAME_FORBIDDEN for c in name.decode("utf-8")):
        raise ReadError("identity file's name is not valid")
    sign_pk, box_pk = data[58 + n:90 + n], data[90 + n:122 + n]
    if not passphrase:
        raise ReadError("empty passphrase")
    key = nacl.pwhash.argon2id.kdf(32, passphrase, salt, opslimit=ops, memlimit=mem_kib * 1024)
    try:
        secret = nacl.bindings.crypto_aead_xchacha20poly1305_ietf_decrypt(
            data[122 + n:], data[:122 + n], nonce, key)
    except nacl.exceptions.CryptoError:
        raise ReadError("wrong passphrase, or the identity file is damaged")
    sign_sk, box_sk = secret[:64], secret[64:96]
    if nacl.bindings.crypto_sign_seed_keypair(sign_sk[:32]) != (sign_pk, sign_sk) or \
            nacl.bindings.crypto_scalarmult_base(box_sk) != box_pk:
        raise ReadError("identity file's secret keys do not belong to its public keys")
    return {"name": name.decode("utf-8"), "sign_pk": sign_pk, "sign_sk": sign_sk,
            "box_pk": box_pk, "box_sk": box_sk, "argon2id_key": key,
            "opslimit": ops, "memlimit_kib": mem_kib}


def read_custodian_secret(path):
    """docs/vault-layout.md: the first line of custodian.secret, as it is."""
    with open(path, "rb") as f:
        line = f.read(1025).split(b"\n", 1)[0]
    if line.endswith(b"\r"):
        line = line[:-1]
    return line


def case_number_mac(secret, number):
    """docs/vault-layout.md, "Case numbers": the keyed hash a case-open entry
    logs. The lookup key is libsodium's crypto_kdf_derive_from_key(32, 1,
    "tlo-case", the 32 bytes custodian.secret spells): BLAKE2b-256 keyed with
    them, salt the subkey id 1 (little-endian), personal "tlo-case"."""
    master = bytes.fromhex(secret.decode("ascii"))
    lookup = hashlib.blake2b(b"", digest_size=32, key=master,
                             salt=(1).to_bytes(8, "little"), person=b"tlo-case").digest()
    return hashlib.blake2b(number, digest_size=32, key=lookup).digest()


# ---------------------------------------------------------------------------
# The ledger (docs/ledger.md)
# ---------------------------------------------------------------------------

def entry_head(seq, time_ms, kind, case_id, actor, prev, body):
    """Bytes 0 .. 107+N of an entry (everything the signature covers)."""
    return (b"TLE1" + seq.to_bytes(8, "big") + time_ms.to_bytes(8, "big") +
            kind.to_bytes(2, "big") + bytes([1 if case_id is not None else 0]) +
            (case_id if case_id is not None else bytes(16)) + actor + prev +
            len(body).to_bytes(4, "big") + body)


class Entry:
    def __init__(self, seq, time_ms, kind, case_id, actor, prev, body, sig):
        self.seq, self.time_ms, self.kind, self.case_id = seq, time_ms, kind, case_id
        self.actor, self.prev, self.raw_body, self.sig = actor, prev, body, sig
        self.fields = parse_body(body)
        self.body = dict(self.fields)
        self.head = entry_head(seq, time_ms, kind, case_id, actor, prev, body)
        self.leaf = hashlib.sha256(b"\x00" + self.head + sig).digest()

    def text(self, key):
        if key not in self.body:
            raise ReadError("entry %d has no %s" % (self.seq, key))
        return self.body[key].decode("utf-8")

    def number(self, key):
        v = self.text(key)
        if not re.fullmatch(r"0|[1-9][0-9]*", v):
            raise ReadError("entry %d: %s is not a number" % (self.seq, key))
        return int(v)

    def hexfield(self, key, nbytes):
        v = self.text(key)
        if not re.fullmatch(r"[0-9a-f]{%d}" % (2 * nbytes), v):
            raise ReadError("entry %d: %s is not %d hex digits" % (self.seq, key, 2 * nbytes))
        return bytes.fromhex(v)


def read_ledger(path):
    """Every entry in seq order, with the chain, the signatures and the
    enrolled keys checked as docs/ledger.md, "Verification", steps 1..6."""
    if not os.path.isfile(path):
        raise ReadError("%s: no ledger" % path)
    con = sqlite3.connect("file:%s?mode=ro" % urllib.parse.quote(os.path.abspath(path)), uri=True)
    try:
        row = con.execute("SELECT value FROM ledger_info WHERE key = 'format'").fetchone()
        if not row or row[0] != "1":
            raise ReadError("%s: ledger format %r is not 1" % (path, row and row[0]))
        rows = con.execute("SELECT seq, time_ms, kind, case_id, actor, prev, body, sig "
                           "FROM entries ORDER BY seq").fetchall()
    finally:
        con.close()
    entries, keys = [], {}  # keys: actor -> {"pk", "roles", "revoked"}
    prev, last_time = bytes(32), 0
    for r in rows:
        seq, time_ms, kind, case_id, actor, eprev, body, sig = r
        if seq != len(entries):
            raise ReadError("entry %d is missing or out of order" % len(entries))
        if not (isinstance(actor, bytes) and len(actor) == 32 and isinstance(eprev, bytes) and
                len(eprev) == 32 and isinstance(body, bytes) and isinstance(sig, bytes) and
                len(sig) == 64 and (case_id is None or
                                    (isinstance(case_id, bytes) and len(case_id) == 16))):
            raise ReadError("entry %d is malformed in the database" % seq)
        try:
            e = Entry(seq, time_ms, kind, case_id, actor, eprev, body, sig)
        except ReadError as err:
            raise ReadError("entry %d: %s" % (seq, err))
        if e.prev != prev:
            raise ReadError("entry %d does not link to entry %d" % (seq, seq - 1))
        if e.time_ms < last_time:
            raise ReadError("entry %d is dated before the one preceding it" % seq)
        if seq == 0:
            if kind != 1:
                raise ReadError("entry 0 is not a genesis entry")
            cpk = e.hexfield("custodian.pk", 32)
            msg = b"tellonce/v1 genesis\n" + b"".join(
                k.encode() + b"=" + v + b"\n" for k, v in e.fields if k != "custodian.sig")
            try:
                nacl.signing.VerifyKey(cpk).verify(msg, e.hexfield("custodian.sig", 64))
            except nacl.exceptions.BadSignatureError:
                raise ReadError("the custodian's countersignature of the genesis is invalid")
            apk = e.hexfield("admin.pk", 32)
            keys[hashlib.sha256(apk).digest()] = {"pk": apk, "roles": {"admin"}, "revoked": False}
            keys.setdefault(hashlib.sha256(cpk).digest(),
                            {"pk": cpk, "roles": {"custodian"}, "revoked": False})
        elif kind == 1:
            raise ReadError("entry %d is a second genesis entry" % seq)
        k = keys.get(e.actor)
        if not k or k["revoked"]:
            raise ReadError("entry %d is signed by a key that is not enrolled, or revoked" % seq)
        try:
            nacl.signing.VerifyKey(k["pk"]).verify(b"tellonce/v1 entry\n" + e.head, e.sig)
        except nacl.exceptions.BadSignatureError:
            raise ReadError("entry %d has an invalid signature" % seq)
        if kind in (2, 3, 30, 31) and "admin" not in k["roles"]:
            raise ReadError("entry %d needs an administrator's signature" % seq)
        if kind == 2:
            pk = e.hexfield("pk", 32)
            e.hexfield("box_pk", 32)
            roles = set(e.text("roles").split(","))
            if not roles or roles - {"admin", "interviewer", "prosecutor", "medical", "auditor"}:
                raise ReadError("entry %d enrols unknown roles" % seq)
            a = hashlib.sha256(pk).digest()
            if a in keys:
                raise ReadError("entry %d enrols a key already enrolled" % seq)
            keys[a] = {"pk": pk, "roles": roles, "revoked": False}
        elif kind == 3:
            victim = keys.get(hashlib.sha256(e.hexfield("pk", 32)).digest())
            if not victim or victim["revoked"]:
                raise ReadError("entry %d revokes a key that is not enrolled" % seq)
            victim["revoked"] = True
        entries.append(e)
        prev, last_time = e.leaf, e.time_ms
    if not entries:
        raise ReadError("the ledger has no entries")
    return entries


# ---------------------------------------------------------------------------
# Case keys, case records, segments (docs/vault-layout.md, docs/format.md)
# ---------------------------------------------------------------------------

WRAPPED_BYTES = 80
RECORD_KEYS = ["case_number", "child_birthdate", "child_name", "title"]


def open_wrapped_key(wrapped, box_pk, box_sk):
    if len(wrapped) != WRAPPED_BYTES:
        raise ReadError("a wrapped case key is 80 bytes, not %d" % len(wrapped))
    try:
        key = nacl.bindings.crypto_box_seal_open(wrapped, box_pk, box_sk)
    except nacl.exceptions.CryptoError:
        raise ReadError("the wrapped case key does not open with the custodian's key")
    if len(key) != 32:
        raise ReadError("the wrapped case key holds %d bytes, not 32" % len(key))
    return key


def parse_case_record(plaintext):
    """The four lines of a sealed case record, as an ordered dict of bytes."""
    if not plaintext.endswith(b"\n"):
        raise ReadError("the case record does not end with a newline")
    lines = plaintext[:-1].split(b"\n")
    fields = {}
    for line, want in zip(lines, RECORD_KEYS):
        key, eq, value = line.partition(b"=")
        if key.decode("ascii", "replace") != want or not eq or (value and not is_text(value)):
            raise ReadError("case record line %r is not %s=TEXT" % (line[:20], want))
        fields[want] = value
    if len(lines) != len(RECORD_KEYS):
        raise ReadError("the case record has %d lines, not 4" % len(lines))
    return fields


def object_key(header, case_key):
    """docs/format.md, "Keys": payload_key || mac_key of one object, checked
    against the object's header MAC before it is used."""
    if len(header) < rr.HEADER_LEN or header[:8] != rr.MAGIC or header[8] != 1 or header[9] != 1:
        raise ReadError("not a version 1, suite 1 sealed object")
    if not hmac.compare_digest(header[48:56], rr.key_id_of(case_key)):
        raise ReadError("the object's key id is not the case key's")
    payload_key, mac_key = rr.derive_keys(case_key, header[:72])
    if not hmac.compare_digest(rr.hmac_sha256(mac_key, header[:72]), header[72:104]):
        raise ReadError("the object's header MAC does not match its derived object key")
    return payload_key, mac_key


def mp4_boxes(data):
    """Top-level ISO BMFF box types; they must tile the data exactly."""
    types, i = [], 0
    while i < len(data):
        if i + 8 > len(data):
            raise ReadError("the plaintext ends inside an MP4 box header")
        size, typ = int.from_bytes(data[i:i + 4], "big"), data[i + 4:i + 8]
        if size == 1:
            size = int.from_bytes(data[i + 8:i + 16], "big")
        if size < 8 or i + size > len(data):
            raise ReadError("MP4 box %r at %d has a bad size" % (typ, i))
        types.append(typ.decode("latin-1"))
        i += size
    return types


class Reader:
    def __init__(self, vault, out=sys.stdout):
        self.vault, self.out = vault, out

    def say(self, fmt, *args):
        self.out.write("ok: " + (fmt % args) + "\n")

    def path(self, *parts):
        return os.path.join(self.vault, *parts)

    def read_file(self, *parts):
        p = self.path(*parts)
        try:
            with open(p, "rb") as f:
                return f.read()
        except OSError as e:
            raise ReadError("%s: %s" % (p, e.strerror or e))

    def run(self, case, segment=0, all_segments=False):
        secret = read_custodian_secret(self.path("custodian.secret"))
        cust = unlock_identity(self.read_file("custodian.id"), secret)
        self.say("custodian.id unlocked with custodian.secret (Argon2id %d passes, %d KiB)",
                 cust["opslimit"], cust["memlimit_kib"])
        entries = read_ledger(self.path("ledger.db"))
        self.say("ledger.db: %d entries, hash chain and every signature checked", len(entries))
        g = entries[0]
        if g.hexfield("custodian.pk", 32) != cust["sign_pk"] or \
                g.hexfield("custodian.box_pk", 32) != cust["box_pk"]:
            raise ReadError("custodian.id's keys are not the custodian's of the genesis entry")
        self.say("custodian.id's keys are the genesis entry's")

        mac = case_number_mac(secret, case.encode())
        opens = [e for e in entries if e.kind == 10 and e.case_id is not None and
                 (e.body.get("case_number_mac") == mac.hex().encode() or
                  e.case_id.hex() == case.lower())]
        if len(opens) != 1:
            raise ReadError("%d case-open entries for case %r" % (len(opens), case))
        co = opens[0]
        cid = co.case_id
        self.say("case %s: internal id %s, case-open entry %d (found by %s)", case,
                 cid.hex(), co.seq, "internal id" if cid.hex() == case.lower() else
                 "case_number_mac, keyed with custodian.secret")

        wrapped = self.read_file("cases", cid.hex() + ".key")
        if hashlib.sha256(wrapped).digest() != co.hexfield("wrapped_key_sha256", 32):
            raise ReadError("cases/%s.key is not the wrapped key the case-open entry logged" %
                            cid.hex())
        case_key = open_wrapped_key(wrapped, cust["box_pk"], cust["box_sk"])
        self.say("cases/%s.key: its SHA-256 is wrapped_key_sha256; unwrapped the case key "
                 "(key id %s)", cid.hex(), rr.key_id_of(case_key).hex())

        info = co.hexfield("info_object", 16).hex()
        sealed = self.read_file("objects", info + ".tlo")
        if hashlib.sha256(sealed).digest() != co.hexfield("info_sha256", 32):
            raise ReadError("objects/%s.tlo is not the case record the entry logged" % info)
        try:
            pt, h = rr.open_object(sealed, case_key)
        except rr.ObjectError as e:
            raise ReadError("objects/%s.tlo: %s" % (info, e))
        if h["kind"] != 3 or h["case_id"] != cid or h["object_id"].hex() != info:
            raise ReadError("objects/%s.tlo is not this case's sealed case record" % info)
        rec = parse_case_record(pt)
        if case_number_mac(secret, rec["case_number"]).hex().encode() != \
                co.body.get("case_number_mac"):
            raise ReadError("the case record's case_number is not the one whose keyed hash "
                            "the entry logged (case_number_mac)")
        self.say("objects/%s.tlo: the case record (SHA-256 is info_sha256), fields %s",
                 info, ", ".join("%s (%d bytes)" % (k, len(v)) for k, v in rec.items()))

        segs = [e for e in entries if e.kind == 21 and e.case_id == cid]
        if not segs:
            raise ReadError("case %s has no segment entry" % case)
        chosen = segs if all_segments else segs[segment:segment + 1]
        if not chosen:
            raise ReadError("case %s has %d segments, no segment %d" % (case, len(segs), segment))
        for e in chosen:
            self.segment(e, cid, case_key)
        return 0

    def segment(self, e, cid, case_key):
        obj = e.hexfield("object", 16).hex()
        name = "objects/%s.tlo" % obj
        data = self.read_file("objects", obj + ".tlo")
        if len(data) != e.number("bytes") or \
                hashlib.sha256(data).digest() != e.hexfield("ciphertext_sha256", 32):
            raise ReadError("%s is not the file segment entry %d logged" % (name, e.seq))
        payload_key, mac_key = object_key(data[:rr.HEADER_LEN], case_key)
        try:
            pt, h = rr.open_object(data, case_key)
        except rr.ObjectError as err:
            raise ReadError("%s: %s" % (name, err))
        if (h["payload_key"], h["mac_key"]) != (payload_key, mac_key):
            raise ReadError("%s: the object key derived here is not the reader's" % name)
        if h["kind"] != 1 or h["case_id"] != cid or h["object_id"].hex() != obj:
            raise ReadError("%s is not a segment of this case named by its object id" % name)
        if len(pt) != e.number("plaintext_bytes") or \
                hashlib.sha256(pt).digest() != e.hexfield("plaintext_sha256", 32):
            raise ReadError("%s: the plaintext is not the one segment entry %d logged" %
                            (name, e.seq))
        boxes = mp4_boxes(pt)
        if boxes[:2] != ["ftyp", "moov"] or "moof" not in boxes or "mdat" not in boxes:
            raise ReadError("%s: the plaintext is not a fragmented MP4 (boxes %s)" %
                            (name, " ".join(boxes[:4])))
        self.say("%s: segment %d of session %s (entry %d): object key derived, header MAC "
                 "checked, %d chunks opened; %d plaintext bytes, SHA-256 is plaintext_sha256; "
                 "MP4 %s ... (%d moof)", name, e.number("index"), e.text("session"), e.seq,
                 h["chunks"], len(pt), " ".join(boxes[:3]), boxes.count("moof"))


# ---------------------------------------------------------------------------
# The vectors of docs/vault-layout.md, and the request example of docs/cli.md
# ---------------------------------------------------------------------------

class Checker:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
            print("ok   " + what)
        else:
            self.failed += 1
            print("FAIL " + what)

    def run(self, what, fn):
        try:
            self.check(bool(fn()), what)
        except Exception as e:  # one broken vector must not hide the others
            self.check(False, "%s (%s: %s)" % (what, type(e).__name__, e))


def _code_block_after(text, marker):
    i = text.index(marker)
    m = re.compile(r"```\n(.*?)```", re.S).search(text, i)
    return m.group(1).encode("utf-8")


def cmd_vectors(docs):
    ck = Checker()
    with open(os.path.join(docs, "vault-layout.md"), encoding="utf-8") as f:
        layout = f.read()
    vec = dict(rr.parse_vectors(layout))
    ck.check(set(vec) >= {"custodian", "wrap", "record"}, "vault-layout.md has the vectors "
             "custodian, wrap and record")
    c, w, r = vec.get("custodian", {}), vec.get("wrap", {}), vec.get("record", {})

    # custodian.secret unlocks custodian.id.
    ident = {}

    def unlock():
        ident.update(unlock_identity(c["custodian_id"], c["custodian_secret"]))
        return True
    ck.run("custodian: custodian_id unlocks with custodian_secret", unlock)
    ck.run("custodian: the secret is 64 lowercase hex characters",
           lambda: re.fullmatch(rb"[0-9a-f]{64}", c["custodian_secret"]))
    ck.run("custodian: Argon2id cost 2 passes, 65536 KiB; name 'custodian'",
           lambda: (ident["opslimit"], ident["memlimit_kib"], ident["name"]) ==
           (2, 65536, "custodian"))
    ck.run("custodian: argon2id_key", lambda: ident["argon2id_key"] == c["argon2id_key"])
    ck.run("custodian: sign_pk and the seed", lambda: ident["sign_pk"] == c["sign_pk"] and
           ident["sign_sk"][:32] == c["sign_seed"])
    ck.run("custodian: box_pk and box_sk", lambda: ident["box_pk"] == c["box_pk"] and
           ident["box_sk"] == c["box_sk"])

    def wrong_secret():
        try:
            unlock_identity(c["custodian_id"], bytes.fromhex(c["custodian_secret"].decode()))
        except ReadError:
            return True
        return False
    ck.run("custodian: the 32 bytes the secret spells do not unlock it", wrong_secret)

    # The wrapped case key.
    ck.run("wrap: the custodian of vector custodian", lambda: (w["box_sk"], w["box_pk"]) ==
           (c["box_sk"], c["box_pk"]))
    ck.run("wrap: wrapped opens with box_sk into case_key",
           lambda: open_wrapped_key(w["wrapped"], w["box_pk"], w["box_sk"]) == w["case_key"])
    ck.run("wrap: PyNaCl's SealedBox opens it too", lambda: nacl.public.SealedBox(
        nacl.public.PrivateKey(w["box_sk"])).decrypt(w["wrapped"]) == w["case_key"])

    def rebuild():
        epk = nacl.bindings.crypto_scalarmult_base(w["ephemeral_sk"])
        nonce = nacl.hash.blake2b(epk + w["box_pk"], digest_size=24,
                                  encoder=nacl.encoding.RawEncoder)
        box = nacl.bindings.crypto_box(w["case_key"], nonce, w["box_pk"], w["ephemeral_sk"])
        return epk == w["ephemeral_pk"] and nonce == w["nonce"] and epk + box == w["wrapped"]
    ck.run("wrap: rebuilt from ephemeral_sk byte for byte", rebuild)
    ck.run("wrap: wrapped_key_sha256",
           lambda: hashlib.sha256(w["wrapped"]).digest() == w["wrapped_key_sha256"])

    # The case record.
    ck.run("record: the case key of vector wrap", lambda: r["case_key"] == w["case_key"])
    ck.run("record: plaintext_len", lambda: len(r["plaintext"]) == r["plaintext_len"])
    ck.run("record: resealed byte for byte (reference_reader)", lambda: rr.seal_object(
        r["case_key"], r["case_id"], r["object_id"], r["salt"], r["kind"],
        r["chunk_size"].bit_length() - 1, r["plaintext"]) == r["sealed"])
    ck.run("record: info_sha256", lambda: hashlib.sha256(r["sealed"]).digest() == r["info_sha256"])
    rec = {}

    def open_record():
        pt, h = rr.open_object(r["sealed"], r["case_key"])
        rec.update(parse_case_record(pt))
        return pt == r["plaintext"] and h["kind"] == 3 and h["chunk_size"] == 65536
    ck.run("record: opens, kind 3, 64 KiB chunks, four lines", open_record)
    ck.run("record: the fields", lambda: [rec[k].decode() for k in RECORD_KEYS] ==
           ["2026-刑-0042", "2017-05-01", "Lily Testchild", "first interview"])
    ck.run("record: the plaintext as the document shows it", lambda: _code_block_after(
        layout, "The\nplaintext, 101 bytes") == r["plaintext"])

    def case_open_body():
        body = _code_block_after(layout, "The `case-open` entry of this case")
        f = dict(parse_body(body))
        return (f["case_number_mac"] ==
                case_number_mac(c["custodian_secret"], rec["case_number"]).hex().encode() and
                f["info_object"] == r["object_id"].hex().encode() and
                f["info_sha256"] == r["info_sha256"].hex().encode() and
                f["wrapped_key_sha256"] == w["wrapped_key_sha256"].hex().encode())
    ck.run("record: the case-open body is canonical and names them", case_open_body)

    # The request example of cli.md, against the access entry in export.md's manifest.
    def request():
        with open(os.path.join(docs, "cli.md"), encoding="utf-8") as f:
            cli = f.read()
        with open(os.path.join(docs, "export.md"), encoding="utf-8") as f:
            export = f.read()
        text = _code_block_after(cli, "The request the person signs is")
        extra = re.search(r"proof access-entry \d+\nc2sp\.org/tlog-proof@v1\nextra (\S+)",
                          export).group(1)
        raw = base64.b64decode(extra, validate=True)
        n = int.from_bytes(raw[103:107], "big")
        e = Entry(int.from_bytes(raw[4:12], "big"), int.from_bytes(raw[12:20], "big"),
                  int.from_bytes(raw[20:22], "big"), raw[23:39] if raw[22] else None,
                  raw[39:71], raw[71:103], raw[107:107 + n], raw[107 + n:])
        b = e.body
        built = ("tellonce/v1 request\naction=%s\ncase=%s\nfrom_ms=%s\npurpose=%s\nsession=%s\n"
                 "time_ms=%s\nto_ms=%s\n" % (e.text("action"), e.case_id.hex(), e.text("from_ms"),
                                             "", e.text("session"), e.text("request_time_ms"),
                                             e.text("to_ms"))).encode()
        nacl.signing.VerifyKey(bytes.fromhex(b["actor"].decode())).verify(
            built, bytes.fromhex(b["request_sig"].decode()))
        return built == text and e.kind == 40
    ck.run("cli.md: the request example is access entry 11 of export.md, and its "
           "request_sig verifies", request)

    print("read_vault: %d passed, %d failed" % (ck.passed, ck.failed))
    return 0 if ck.failed == 0 and ck.passed > 0 else 1


def main(argv):
    if argv[:1] == ["vectors"]:
        if len(argv) != 2:
            sys.stderr.write("usage: read_vault.py vectors DOCS_DIR\n")
            return 2
        return cmd_vectors(argv[1])
    ap = argparse.ArgumentParser(prog="read_vault.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("vault")
    ap.add_argument("case", help="the case number, or the internal id (32 hex digits)")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--segment", type=int, default=0, metavar="N",
                   help="the case's Nth segment entry, from 0 (default 0)")
    g.add_argument("--all-segments", action="store_true")
    args = ap.parse_args(argv)
    try:
        return Reader(args.vault).run(args.case, args.segment, args.all_segments)
    except (ReadError, sqlite3.Error) as e:
        sys.stderr.write("read_vault: FAILED: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
