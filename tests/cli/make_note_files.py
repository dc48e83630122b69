#!/usr/bin/env python3
"""Files for tests/cli/test_note.sh, written in DIR:

  photo.jpg    about 5 MB: a JPEG (SOI, an APP1 Exif block whose IFD0 holds a
               GPS IFD pointer, tag 0x8825, a DQT-like filler, a scan of
               random bytes, EOI)
  plain.jpg    a small JPEG without any APP1 block
  exif.png     a PNG with an eXIf chunk without GPS
  report.pdf   a minimal valid PDF saying "Exam report PDF-MARKER-4711"
  needles.txt  byte strings (hex, one a line) of the photo and the PDF that
               must never appear in the vault outside the sealed objects

usage: make_note_files.py DIR
"""
import os
import struct
import sys
import zlib


def tiff(gps):
    # little-endian TIFF: header, IFD0 with one or two entries, next IFD 0
    entries = [(0x010F, 2, 4, b"Cam\x00")]  # Make
    if gps:
        entries.append((0x8825, 4, 1, struct.pack("<I", 26 + 12)))
    out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
    for tag, typ, count, val in entries:
        out += struct.pack("<HHI", tag, typ, count) + val.ljust(4, b"\x00")
    out += struct.pack("<I", 0)
    if gps:  # a GPS IFD with no entries
        out += struct.pack("<H", 0) + struct.pack("<I", 0)
    return out


def jpeg(size, exif_gps):
    out = b"\xff\xd8"
    if exif_gps is not None:
        body = b"Exif\x00\x00" + tiff(exif_gps)
        out += b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body
    dqt = bytes(range(64))
    out += b"\xff\xdb" + struct.pack(">H", len(dqt) + 3) + b"\x00" + dqt
    out += b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    scan = bytearray(os.urandom(max(size - len(out) - 2, 0)))
    for i in range(len(scan)):  # no marker inside the scan
        if scan[i] == 0xFF:
            scan[i] = 0xFE
    return out + bytes(scan) + b"\xff\xd9"


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png():
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x80")
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"eXIf", tiff(False)) +
            png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def pdf():
    text = b"BT /F1 18 Tf 40 700 Td (Exam report PDF-MARKER-4711) Tj ET"
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def main():
    d = sys.argv[1]
    photo = jpeg(5 * 1000 * 1000, True)
    files = {"photo.jpg": photo, "plain.jpg": jpeg(20000, None), "exif.png": png(),
             "report.pdf": pdf()}
    for name, data in files.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    with open(os.path.join(d, "needles.txt"), "w") as f:
        f.write(photo[100000:100032].hex() + "\n")
        f.write(photo[-40:-8].hex() + "\n")
        f.write(b"PDF-MARKER-4711".hex() + "\n")


if __name__ == "__main__":
    main()
