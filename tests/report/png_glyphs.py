#!/usr/bin/env python3
"""png_glyphs.py GLYPHS.png BOXES.png: the report page's heading under
zh_CN is drawn in CJK glyphs.
png_glyphs.py --boxes PAGE.html OUT.html: writes the page with every CJK
character replaced by U+10FFFD (a private-use character no font has:
Chromium draws a box), to render as BOXES.png.

GLYPHS.png is Chromium's screenshot of the page, BOXES.png of the boxed
page, both with the fonts installed. In the heading's band (the page's top
60 rows) the two must differ by many pixels, and the glyph rendering must
have ink: with no CJK font the Chinese is boxes too and both render alike,
and a page with no Chinese is the same page twice. Exit 0 passes; prints
the figures."""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png_bands import png_pixels  # noqa: E402


def ink(p):
    return sum(p) < 3 * 128


if sys.argv[1] == "--boxes":
    text = open(sys.argv[2], encoding="utf-8").read()
    cjk = re.compile("[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
    open(sys.argv[3], "w", encoding="utf-8").write(cjk.sub("\U0010fffd", text))
    sys.exit(0)
glyphs, boxes = png_pixels(sys.argv[1]), png_pixels(sys.argv[2])
top, left, right = 10, 10, 600
g = b = diff = 0
for y in range(top, top + 60):
    for x in range(left, right):
        pg, pb = ink(glyphs[y][x]), ink(boxes[y][x])
        g += pg
        b += pb
        diff += pg != pb
print(f"png_glyphs: heading band: {g} ink px with the fonts, {b} boxed, {diff} differ")
if g < 150 or diff < 150:
    sys.exit("png_glyphs: the heading is drawn as boxes are: no CJK glyphs")
