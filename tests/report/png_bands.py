#!/usr/bin/env python3
"""Checks the coverage chart of a report's screenshot against the ledger.

usage: png_bands.py SCREENSHOT.png LOG.json

LOG.json is `tellonce log --case ID --json`: the access-granted entries
(action view or export) and the segments say where every band must be, by
the geometry docs/report.md documents (cli/report.h): in a session of
length L ms (the largest end_ms of its segments), a time t ms is at
x = x0 + round(t * 720 / L) where x0 is the left edge of the band row; one
row per person, in the order of their first access to the session; the
sessions in their order. Views are the upper half of a row, releases to
export the lower half, so neither hides the other. The PNG is decoded here
(zlib, no PIL). Exit 0 when, in every row, the view-coloured columns of the
upper half and the export-coloured columns of the lower half are exactly
the expected ones."""
import json
import sys
import zlib

AXIS = 720
ROW_PX = 18  # TLO_REPORT_CHART_ROW: the upper 9 px views, the lower 9 exports
ROW = (0xEC, 0xEC, 0xEC)
VIEW = (0x1F, 0x5F, 0xBF)
EXPORT = (0xC0, 0x56, 0x1B)


def png_pixels(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unsupported PNG"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(width)])
        prev = line
    return rows


def expected(log):
    sessions, length, order = {}, {}, []
    for e in log:
        b = e["body"]
        if e["kind"] == "session-start":
            order.append(b["session"])
            sessions[b["session"]] = []
        elif e["kind"] == "segment":
            length[b["session"]] = max(length.get(b["session"], 0), int(b["end_ms"]))
        elif e["kind"] == "access-granted" and b.get("action") in ("view", "export"):
            sessions[b["session"]].append((b["actor"], b["action"], int(b["from_ms"]),
                                           int(b["to_ms"])))
    bands = []
    for s in order:
        L = length.get(s, 0)
        people = []
        for actor, _, _, _ in sessions[s]:
            if actor not in people:
                people.append(actor)
        for p in people:
            cols = {"view": set(), "export": set()}
            for actor, action, a, b in sessions[s]:
                if actor != p:
                    continue
                x1 = (min(a, L) * AXIS * 2 + L) // (2 * L)
                x2 = (min(b, L) * AXIS * 2 + L) // (2 * L)
                cols[action].update(range(x1, max(x2, x1 + 1)))
            bands.append((s, p, cols))
    return bands


def found(rows):
    """Each band row of the picture: the set of its coloured columns."""
    bands, current = [], None
    for y, line in enumerate(rows):
        # the longest run of band colours (a label's anti-aliased pixels
        # may match a colour here and there, never for 700 columns)
        run, best, start = 0, (0, 0), 0
        for x, px in enumerate(line + [None]):
            if px in (ROW, VIEW, EXPORT):
                if run == 0:
                    start = x
                run += 1
            else:
                if run > best[1]:
                    best = (start, run)
                run = 0
        x0, n = best
        if n >= AXIS - 20:
            if n != AXIS:
                raise SystemExit(f"FAIL: a band row at y={y} is {n} px wide, not {AXIS}")
            cols = (frozenset(x - x0 for x in range(x0, x0 + AXIS) if line[x] == VIEW),
                    frozenset(x - x0 for x in range(x0, x0 + AXIS) if line[x] == EXPORT))
            if current and current[0] == y - 1:
                current[0] = y
                current[1].append(cols)
            else:
                current = [y, [cols]]
                bands.append(current)
        else:
            current = None
    return [(b[0], b[1]) for b in bands]


def main():
    rows = png_pixels(sys.argv[1])
    want = expected(json.load(open(sys.argv[2])))
    got = found(rows)
    bad = 0
    if len(got) != len(want):
        print(f"FAIL: {len(got)} band rows in the picture, {len(want)} in the ledger")
        return 1
    for (s, p, cols), (y, lines) in zip(want, got):
        if len(lines) != ROW_PX:
            print(f"FAIL: band ending at y={y} is {len(lines)} px high, not {ROW_PX}")
            bad += 1
            continue
        half = ROW_PX // 2
        for what, part, k in (("view", lines[:half], 0), ("export", lines[half:], 1)):
            seen = [line[k] for line in part]
            other = [line[1 - k] for line in part]
            if any(x != seen[0] for x in seen) or any(other):
                print(f"FAIL: band ending at y={y}: its {what} half is not one colour on every "
                      f"pixel row")
                bad += 1
            elif set(seen[0]) != cols[what]:
                extra = sorted(set(seen[0]) - cols[what])[:10]
                missing = sorted(cols[what] - set(seen[0]))[:10]
                print(f"FAIL: session {s[:8]} person {p[:8]} (y={y}) {what}: extra columns "
                      f"{extra}, missing {missing}")
                bad += 1
            else:
                print(f"ok: session {s[:8]} person {p[:8]} {what}: {len(cols[what])} columns, "
                      f"at y={y}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
