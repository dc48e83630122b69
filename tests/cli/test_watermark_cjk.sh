#!/usr/bin/env bash
# A Chinese viewer's name in the watermark is drawn in CJK glyphs, never in
# boxes: in a watermarked export (checked by pixels against reference
# renderings, tests/cli/wm_glyphs.py), and where no installed font has the
# characters, play and export refuse with a message that says what to
# install instead of burning in boxes.
# usage: test_watermark_cjk.sh TELLONCE_BINARY WM_GLYPHS_PY
set -u
tlo=$1 glyphs=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-wmcjk.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2; shift 3
    "$@" >out.txt 2>err.txt </dev/null; local got=$?
    err=$(cat err.txt); out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }

# Fonts as on a machine without a CJK font: only DejaVu.
cat > nocjk.conf <<XML
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>$work/fc-cache</cachedir></fontconfig>
XML

pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "王芳:prosecutor" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-8" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
expect 0 "record 6 s" -- "$tlo" record "2026-K-8" --as "Ivan Interviewer" "${pass[@]}" \
    --duration 6 --no-live
s1=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')
expect 0 "grant 王芳 view and export" -- "$tlo" grant "2026-K-8" --to "王芳" --session "$s1" \
    --expires 2099-12-31 --purpose "trial preparation" --actions view,export \
    --as "Anna Admin" "${pass[@]}"
expect 0 "grant Per Prosecutor export" -- "$tlo" grant "2026-K-8" --to "Per Prosecutor" \
    --session "$s1" --expires 2099-12-31 --purpose "trial preparation" --actions export \
    --as "Anna Admin" "${pass[@]}"

# cjk_watermark_glyphs: the name is drawn with a CJK font.
expect 0 "export --watermark as 王芳" -- "$tlo" export "2026-K-8" --session "$s1" \
    --from 0 --to 5 -o wm.mp4 --watermark --as "王芳" "${pass[@]}"
wm=$(sed -n 's/^watermark //p' wm.mp4.manifest)
contains "$wm" "EXPORTED FOR 王芳 - CASE " "the manifest's watermark names 王芳"
if python3 "$glyphs" wm.mp4 "$wm" "$work"; then ok; else
    bad "cjk_watermark_glyphs: the name in the export's watermark is not drawn in CJK glyphs"
fi

# export_pip_one_track: --layout pip is one composed video track (camera 2
# inset in camera 1), re-encoded with the watermark, and the manifest and
# the export entry say layout pip; verify-export checks it.
expect 0 "export --layout pip as 王芳" -- "$tlo" export "2026-K-8" --session "$s1" \
    --from 0 --to 5 -o pip.mp4 --layout pip --as "王芳" "${pass[@]}"
grep -q "^  layout    pip: cameras 1 and 2 in one picture" out.txt && ok ||
    bad "export_pip_one_track: export does not say the layout: $out"
codecs=$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 pip.mp4 | tr '\n' ' ')
[ "$codecs" = "h264 aac " ] && ok || bad "export_pip_one_track: streams of pip.mp4: $codecs"
grep -qx "layout pip" pip.mp4.manifest && ok || bad "export_pip_one_track: no 'layout pip' line in the manifest"
grep -q "^layout " wm.mp4.manifest && bad "export_pip_one_track: a watermark export without pip says a layout" || ok
[ "$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE kind = 42 AND instr(CAST(body AS TEXT), 'layout=pip') > 0")" = 1 ] &&
    ok || bad "export_pip_one_track: the export entry does not say layout=pip"
expect 0 "verify-export of the pip clip" -- "$tlo" verify-export pip.mp4 \
    --verifier-key "$("$tlo" checkpoint --verifier-key)"
# The inset: camera 2's black in the bottom-right corner, camera 1's bars above it.
python3 - <<'PY' && ok || bad "export_pip_one_track: camera 2 is not the inset in camera 1's corner"
import subprocess, sys
W, H = 640, 360
px = subprocess.run(["ffmpeg", "-v", "error", "-ss", "2", "-i", "pip.mp4", "-map", "0:v:0",
                     "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                    capture_output=True).stdout
if len(px) != W * H * 3:
    sys.exit(f"pip: a picture of {len(px)} bytes, not {W}x{H}")
def frac(x0, x1, y0, y1, test):
    n = sum(test(*px[(y * W + x) * 3:(y * W + x) * 3 + 3]) for y in range(y0, y1) for x in range(x0, x1))
    return n / ((x1 - x0) * (y1 - y0))
dark = frac(500, 630, 280, 336, lambda r, g, b: max(r, g, b) < 60)
bars = frac(300, 460, 60, 120, lambda r, g, b: max(r, g, b) - min(r, g, b) > 80)
print(f"pip export: inset dark {dark:.2f}, bars {bars:.2f}")
sys.exit(0 if dark > 0.8 and bars > 0.9 else 1)
PY
wm_pip=$(sed -n 's/^watermark //p' pip.mp4.manifest)
if python3 "$glyphs" --pip pip.mp4 "$wm_pip" "$work"; then ok; else
    bad "export_pip_one_track: the name in the pip export's watermark is not drawn in CJK glyphs"
fi

# cjk_watermark_no_font_refused: no font has the name's characters: a
# clear refusal, not boxes.
rm -f wm2.mp4 wm2.mp4.manifest
expect 1 "export --watermark with no CJK font" -- env FONTCONFIG_FILE="$work/nocjk.conf" \
    "$tlo" export "2026-K-8" --session "$s1" --from 0 --to 5 -o wm2.mp4 --watermark \
    --as "王芳" "${pass[@]}"
contains "$err" "is in no installed font" "cjk_watermark_no_font_refused (export): the reason"
contains "$err" "install fonts-wqy-zenhei or fonts-noto-cjk" "cjk_watermark_no_font_refused (export): what to do"
[ ! -e wm2.mp4 ] && ok || bad "cjk_watermark_no_font_refused: a clip was written"
# play checks the font before it opens a window (the display here is never used).
expect 1 "play with no CJK font" -- env FONTCONFIG_FILE="$work/nocjk.conf" DISPLAY=:997 \
    "$tlo" play "2026-K-8" --session "$s1" --from 0 --to 2 --as "王芳" "${pass[@]}"
contains "$err" "is in no installed font" "cjk_watermark_no_font_refused (play): the reason"
# A Latin name needs no CJK font.
expect 0 "export --watermark, Latin name, no CJK font" -- env FONTCONFIG_FILE="$work/nocjk.conf" \
    "$tlo" export "2026-K-8" --session "$s1" --from 0 --to 2 -o wm3.mp4 --watermark \
    --as "Per Prosecutor" "${pass[@]}"

echo "watermark_cjk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
