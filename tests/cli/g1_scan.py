#!/usr/bin/env python3
"""G1 scan: while a recording runs, look again and again at every file under
the given directories for plaintext media of the session.

A file that is not a sealed object (it does not start with the vault magic)
must hold none of the MP4 box names 'ftyp', 'moof', 'mdat'. A sealed object
is ciphertext, where any 4 bytes turn up by chance (a 4-byte name matches a
few MB of random bytes in about 1 run of 500), so in sealed objects the scan
looks for longer runs no ciphertext holds by chance: a box name with what
follows it in a real MP4 ('ftyp' + brand, 'moof' + its 'mfhd', 'moov' +
'mvhd') and the text x264 writes into every H.264 stream it makes.

usage: g1_scan.py STOP_FILE DIR... ; prints "g1_scan: scan N" after each
scan (a test waits for them), then exits 1 and names each finding, else
prints how many scans and file reads it made.
"""
import os
import re
import sys
import time

MAGIC = bytes.fromhex("89544c4f0d0a1a0a")
LOOSE = re.compile(rb"ftyp|moof|mdat")
STRICT = re.compile(rb"ftyp(?:isom|iso[2-9]|mp4[12]|avc1|dash)|moof\x00\x00\x00\x10mfhd"
                    rb"|moov.{4}mvhd|x264 - core", re.S)


def scan_file(path, findings):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (OSError, IOError):
        return 0  # gone or unreadable (a socket, a file being replaced)
    pattern = STRICT if data.startswith(MAGIC) else LOOSE
    m = pattern.search(data)
    if m:
        findings.add(f"{path}: {m.group(0)[:12]!r} at byte {m.start()}")
    return 1


def main():
    stop, dirs = sys.argv[1], sys.argv[2:]
    findings, scans, reads = set(), 0, 0
    while True:
        last = os.path.exists(stop)
        for d in dirs:
            for root, _, files in os.walk(d):
                for name in files:
                    path = os.path.join(root, name)
                    if path == stop or not os.path.isfile(path):
                        continue
                    reads += scan_file(path, findings)
        scans += 1
        print(f"g1_scan: scan {scans}", flush=True)
        if last:
            break
        time.sleep(0.2)  # pacing between scans, not a wait for anything
    for f in sorted(findings):
        print("G1: plaintext media in " + f)
    print(f"g1_scan: {scans} scans, {reads} file reads, {len(findings)} findings")
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
