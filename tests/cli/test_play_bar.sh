#!/usr/bin/env bash
# play_window_bar, play_seek_not_blank: the play window's bar (the session's
# time axis, the granted range on it, the markers inside the grant, the
# position) and a seek that keeps the picture up, checked by the pixels of a
# continuous grab of a virtual display (play_bar.py says what exactly).
# A prosecutor granted 5-15 s of a 20 s session with markers at 3, 8, 12
# and 17 s. With TELLONCE_UPDATE_DOCS=1 the picture with its bar is kept as
# docs/play-bar.png.
# usage: test_play_bar.sh TELLONCE_BINARY PLAY_BAR_PY SOURCE_ROOT
set -u
tlo=$1 drive=$2 src=$3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
xvfb=
tlo_test_start playbar '[ -n "$xvfb" ] && kill "$xvfb" 2>/dev/null'
if ! command -v Xvfb >/dev/null; then
    echo "SKIP: the window needs Xvfb (package xvfb, in scripts/deps)"
    exit 77
fi
pass=(--passphrase-file p.pass)
echo 'a long secret' > p.pass
"$tlo" init --admin "Anna Admin" "${pass[@]}" >/dev/null || bad "init"
for who in "Ivan Interviewer:interviewer" "Per Prosecutor:prosecutor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${pass[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" case open "2026-K-11" --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "case open"
"$tlo" record "2026-K-11" --as "Ivan Interviewer" "${pass[@]}" --duration 20 --no-live \
    >/dev/null 2>&1 || bad "record 20 s"
s1=$(newest_session)
for at in 17 3 12 8; do
    "$tlo" mark "2026-K-11" --at "00:00:$(printf %02d "$at")" "at $at s" \
        --as "Ivan Interviewer" "${pass[@]}" >/dev/null || bad "mark $at s"
done
"$tlo" grant "2026-K-11" --for "Per Prosecutor" --session "$s1" --from 5 --to 15 \
    --expires 2099-12-31 --purpose "trial preparation" --as "Anna Admin" "${pass[@]}" \
    >/dev/null || bad "grant 5-15 s"
# The session's axis: where its last segment ends.
length=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21" |
    sed -n 's/^end_ms=//p' | sort -n | tail -1)
[ -n "$length" ] || bad "no segment logged"
Xvfb -displayfd 5 -screen 0 700x400x24 -nolisten tcp 5>display.txt 2>xvfb.err &
xvfb=$!
wait_for 120 "Xvfb to name its display" '[ -s display.txt ]' "$xvfb"
display=":$(cat display.txt)"
if DISPLAY=$display python3 "$drive" "$display" "$length" 5000 15000 8000,12000 3000,17000 \
    shot.rgb "$tlo" play "2026-K-11" --session "$s1" --as "Per Prosecutor" "${pass[@]}" \
    --layout cam1; then ok; else bad "play_window_bar / play_seek_not_blank (above)"; fi
if [ -s shot.rgb ] && [ "${TELLONCE_UPDATE_DOCS:-}" = 1 ]; then
    ffmpeg -v error -y -f rawvideo -pix_fmt rgb24 -video_size 640x384 -i shot.rgb \
        "$src/docs/play-bar.png" && echo "updated $src/docs/play-bar.png"
fi
echo "play_bar: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
