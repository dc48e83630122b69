#!/usr/bin/env python3
"""wm_glyphs.py CLIP.mp4 WATERMARK WORKDIR: the watermark on camera 2 of a
watermarked export is drawn in glyphs, not in boxes.
wm_glyphs.py --shot SHOT.rgb WATERMARK WORKDIR: the same for a 640x360
screenshot (rgb24) of the play window (its watermark at 18 points).
wm_glyphs.py --pip CLIP.mp4 WATERMARK WORKDIR: the same for a pip export (its
one video track; camera 1's bars are shaded under the watermark).

Camera 2 is the simulated room's white ball on black, so white pixels that
stay white on three frames far apart are the watermark (the ball moves).
They are compared with two reference renderings of the same text made by
GStreamer's own textoverlay on black, at the same size: one with the fonts
installed and WenQuanYi Zen Hei (fonts-wqy-zenhei, scripts/deps) chosen, as
tellonce chooses it (glyphs), one with only DejaVu (no CJK font: Pango's
boxes). The clip must be much nearer the glyphs. Exit 0 passes; prints the figures."""
import os
import subprocess
import sys

W, H = 640, 360
shot = sys.argv[1] == "--shot"
stream = "0:v:1"
if shot:
    del sys.argv[1]
elif sys.argv[1] == "--pip":  # a pip export: one video track, the composed picture
    stream = "0:v:0"
    del sys.argv[1]
clip, text, work = sys.argv[1], sys.argv[2], sys.argv[3]
points = 18 if shot else 20


def ink(gray, lo=170):
    return [v >= lo for v in gray]


def frames():
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", clip, "-map", stream, "-vf",
         r"select=eq(n\,5)+eq(n\,45)+eq(n\,85),scale=640:360", "-vsync", "0",
         "-f", "rawvideo", "-pix_fmt", "gray", "-"],
        capture_output=True, check=True).stdout
    n = len(raw) // (W * H)
    if n < 3:
        sys.exit(f"wm_glyphs: {n} frames of camera 2 decoded from {clip}, want 3")
    return [raw[i * W * H:(i + 1) * W * H] for i in range(3)]


def reference(name, fontconfig_file, font):
    out = os.path.join(work, name + ".gray")
    env = dict(os.environ)
    if fontconfig_file:
        env["FONTCONFIG_FILE"] = fontconfig_file
    subprocess.run(
        ["gst-launch-1.0", "-q", "videotestsrc", "pattern=black", "num-buffers=1", "!",
         f"video/x-raw,width={W},height={H}", "!", "textoverlay", f'text="{text}"',
         f'font-desc="{font} Bold {points}"', "shaded-background=true", "valignment=center",
         "halignment=center", "line-alignment=center", "!", "videoconvert", "!",
         "video/x-raw,format=GRAY8", "!", "filesink", f"location={out}"],
        env=env, check=True)
    return open(out, "rb").read()


if shot:
    rgb = open(clip, "rb").read()
    if len(rgb) != W * H * 3:
        sys.exit(f"wm_glyphs: {clip} is {len(rgb)} bytes, not a {W}x{H} rgb24 picture")
    clip_ink = [min(rgb[i], rgb[i + 1], rgb[i + 2]) > 200 for i in range(0, W * H * 3, 3)]
else:
    fr = [ink(f) for f in frames()]
    clip_ink = [a and b and c for a, b, c in zip(*fr)]
nocjk = os.path.join(work, "nocjk.conf")
glyphs = ink(reference("glyphs", None, "WenQuanYi Zen Hei"))
boxes = ink(reference("boxes", nocjk, "Sans"))
# The rows of the watermark, in either reference.
rows = [y for y in range(H) if any(glyphs[y * W:(y + 1) * W]) or any(boxes[y * W:(y + 1) * W])]
if not rows:
    sys.exit("wm_glyphs: the references have no text")
# In a pip export camera 1's white bar (the left seventh) stays white on every
# frame: left out.
x0 = W // 7 + 4 if stream == "0:v:0" else 0
idx = [y * W + x for y in range(rows[0], rows[-1] + 1) for x in range(x0, W)]
d_glyphs = sum(clip_ink[i] != glyphs[i] for i in idx)
d_boxes = sum(clip_ink[i] != boxes[i] for i in idx)
d_refs = sum(glyphs[i] != boxes[i] for i in idx)
n_ink = sum(clip_ink[i] for i in idx)
print(f"wm_glyphs: rows {rows[0]}-{rows[-1]}, ink {n_ink} px; differs from the glyphs by "
      f"{d_glyphs} px, from the boxes by {d_boxes} px (glyphs vs boxes: {d_refs} px)")
ok = n_ink > 300 and d_refs > 200 and d_glyphs * 3 < d_boxes and d_glyphs * 2 < n_ink
sys.exit(0 if ok else 1)
