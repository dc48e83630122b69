#!/usr/bin/env bash
# bench_play: the time from 'tellonce play' (headless) to the first decoded
# frame, for a clip 1 minute into a session and one 59 minutes into it, in a
# session of SECONDS (default 3600); and, when 'tellonce export' exists, the
# export speed as a multiple of real time. The long session is made quickly:
# a small room (2 cameras 160x90 at 10 fps, 100 kbit/s, speech) recorded as
# fast as the machine can (--no-live).
# usage: bench_play.sh TELLONCE_BINARY [SECONDS] [REPS]
set -euo pipefail
tlo=$1
seconds=${2:-3600}
reps=${3:-5}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-play.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_VAULT="$work/vault" TELLONCE_TEST_FAST_KDF=1
cd "$work"
echo 'admin passphrase' >a.pass
echo 'interviewer passphrase' >i.pass
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file a.pass \
    --new-passphrase-file i.pass >/dev/null
"$tlo" case open BENCH-2 --as Interviewer --passphrase-file i.pass >/dev/null
cat >small.room <<'ROOM'
[room]
name=bench small
encoder=x264
caption=false
[camera 1]
source=test:smpte
width=160
height=90
fps=10
bitrate_kbps=100
[camera 2]
source=test:ball
width=160
height=90
fps=10
bitrate_kbps=100
[microphone 1]
source=speech
ROOM
t0=$(date +%s%N)
"$tlo" record BENCH-2 --as Interviewer --passphrase-file i.pass --room small.room \
    --duration "$seconds" --no-live >record.out 2>&1
t1=$(date +%s%N)
echo "recorded $seconds s of the small room in $(( (t1 - t0) / 1000000 )) ms: $(tail -1 record.out)"
session=$("$tlo" log --json | python3 -c 'import json,sys; print([e["body"]["session"] for e in json.load(sys.stdin) if e["kind"]=="session-start"][-1])')

hms() { printf '%02d:%02d:%02d' $(( $1 / 3600 )) $(( $1 / 60 % 60 )) $(( $1 % 60 )); }
# play FROM: prints "first-frame-ms whole-command-ms"
play() {
    local from to
    from=$(hms "$1")
    to=$(hms $(( $1 + 10 )))
    local s e
    s=$(date +%s%N)
    "$tlo" play BENCH-2 --session "$session" --as Interviewer --passphrase-file i.pass \
        --from "$from" --to "$to" --headless >play.out 2>&1
    e=$(date +%s%N)
    local ff
    ff=$(sed -n 's/.*the first frame after \([0-9.]*\) ms.*/\1/p' play.out)
    echo "$ff $(( (e - s) / 1000000 ))"
}
early=60
late=$(( seconds - 60 ))
for _ in $(seq "$reps"); do
    play "$early" >>early.txt
    play "$late" >>late.txt
done
python3 - early.txt late.txt "$early" "$late" <<'PY'
import statistics, sys
def load(p):
    rows = [l.split() for l in open(p) if l.strip()]
    return [float(r[0]) for r in rows], [float(r[1]) for r in rows]
ef, ew = load(sys.argv[1])
lf, lw = load(sys.argv[2])
me, ml = statistics.median(ef), statistics.median(lf)
print(f"first frame, clip at {sys.argv[3]} s: median {me:.1f} ms (runs: {', '.join(f'{x:.1f}' for x in ef)})")
print(f"first frame, clip at {sys.argv[4]} s: median {ml:.1f} ms (runs: {', '.join(f'{x:.1f}' for x in lf)})")
print(f"ratio late/early: {ml / me:.2f} (target <= 1.2)")
print(f"whole command (unlock, ledger, custodian, decode 10 s): early {statistics.median(ew):.0f} ms, late {statistics.median(lw):.0f} ms")
PY
if "$tlo" export --help >/dev/null 2>&1; then
    "$tlo" grant BENCH-2 --to Admin --session "$session" --expires 2099-12-31 --purpose bench \
        --actions view,export --as Admin --passphrase-file a.pass >/dev/null
    s=$(date +%s%N)
    "$tlo" export BENCH-2 --session "$session" --from 0 --to "$(hms $(( seconds - 1 )))" -o clip.mp4 \
        --as Admin --passphrase-file a.pass >export.out 2>&1
    e=$(date +%s%N)
    ms=$(( (e - s) / 1000000 ))
    python3 -c "print(f'export of $(( seconds - 1 )) s (stream copy, manifest): {$ms} ms = {($seconds - 1) * 1000 / max($ms, 1):.0f}x real time (target >= 100x)')"
fi
