#!/usr/bin/env bash
# bench_record: the cost of sealing and logging while recording.
#
# The simulated room (2 cameras 640x360 at 25 fps, speech; docs/rooms.md) is
# recorded live for SECONDS by 'tellonce record' (sealed, fsynced, logged)
# and by bench_capture, the same capture/ pipeline writing plain segment
# files with filesink; REPS times each, alternating, so that a slow spell of
# the machine falls on both. Reports CPU seconds and memory of each run, the
# CPU ratio per pair and of the medians, and the delay from each segment's
# end on the session clock to its durable ledger entry.
# usage: bench_record.sh TELLONCE_BINARY BENCH_CAPTURE_BINARY [SECONDS]
# (TELLONCE_BENCH_RECORD_REPS sets REPS, default 3; TELLONCE_BENCH_RECORD_LIVE=0
# runs the simulated room as fast as the machine can instead of live.)
set -euo pipefail
tlo=$1
bench_capture=$2
seconds=${3:-60}
reps=${TELLONCE_BENCH_RECORD_REPS:-3}
nolive=()
[ "${TELLONCE_BENCH_RECORD_LIVE:-1}" = 0 ] && nolive=(--no-live)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-record.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_VAULT="$work/vault" TELLONCE_TEST_FAST_KDF=1
echo 'bench admin passphrase' >"$work/a.pass"
echo 'bench interviewer' >"$work/i.pass"
"$tlo" init --admin Admin --passphrase-file "$work/a.pass" >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file "$work/a.pass" \
    --new-passphrase-file "$work/i.pass" >/dev/null
"$tlo" case open BENCH-1 --as Interviewer --passphrase-file "$work/i.pass" >/dev/null

# measure LABEL COMMAND...: CPU seconds (user + sys, GNU time), the peak
# resident memory of the whole run, and the peak while recording (sampled
# from /proc after the first 5 s). The whole-run peak of tellonce includes
# the Argon2id unlock of the interviewer's and the custodian's keys (64 MiB
# each in this benchmark's fast setting, 256 MiB for real), memory that is
# freed before the recording starts.
measure() {
    local label=$1 steady=0 t=0 child rss
    shift
    /usr/bin/time -f "%U %S %M" -o "$work/time" "$@" >"$work/out" 2>&1 &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        sleep 0.5
        t=$((t + 1))
        child=$(pgrep -P "$pid" | head -1 || true)
        if [ "$t" -gt 10 ] && [ -n "$child" ]; then
            rss=$(awk '/^VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null || echo 0)
            [ "${rss:-0}" -gt "$steady" ] && steady=$rss
        fi
    done
    wait "$pid"
    read -r u s m <"$work/time"
    printf '%-26s CPU %6.2f s (user %s, sys %s)   peak memory %s KiB, while recording %s KiB\n' \
        "$label" "$(python3 -c "print($u + $s)")" "$u" "$s" "$m" "$steady"
    echo "$u $s" >>"$work/cpu.$label"
}

for _ in $(seq "$reps"); do
    measure "tellonce record" "$tlo" record BENCH-1 --as Interviewer \
        --passphrase-file "$work/i.pass" --duration "$seconds" "${nolive[@]}"
    grep '^CPU:' "$work/out" || true
    rm -rf "$work/plain" && mkdir "$work/plain"
    measure "same pipeline + filesink" "$bench_capture" "${nolive[@]}" "$work/plain" "$seconds"
done
python3 - "$work/cpu.tellonce record" "$work/cpu.same pipeline + filesink" <<'EOF'
import statistics, sys
runs = [[sum(map(float, l.split())) for l in open(p)] for p in sys.argv[1:]]
ratios = [a / b for a, b in zip(*runs)]
ma, mb = statistics.median(runs[0]), statistics.median(runs[1])
print(f"CPU ratio tellonce / plain files, per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
      f"median {statistics.median(ratios):.3f}")
print(f"median CPU {ma:.2f} s / {mb:.2f} s = {ma / mb:.3f} (target <= 1.03)")
EOF
echo "plain files (last run): $(ls "$work/plain" | wc -l) segments, $(du -sk "$work/plain" | cut -f1) KiB;" \
    "sealed: $(ls "$work/vault/objects" | wc -l) objects for $reps sessions and the case's fields," \
    "$(du -sk "$work/vault/objects" | cut -f1) KiB"

# Delay from a segment's end to its durable entry: the end is the session
# clock's zero in UTC (wall_start_ms - start_ms) plus end_ms. All sessions.
"$tlo" log --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
delays, seal = [], []
for start in [e for e in d if e["kind"] == "session-start"]:
    segs = [e for e in d if e["kind"] == "segment" and e["body"]["session"] == start["body"]["session"]]
    b = segs[0]["body"]
    zero = int(b["wall_start_ms"]) - int(b["start_ms"])
    delays += [e["time_ms"] - zero - int(e["body"]["end_ms"]) for e in segs[:-1]]
    seal += [e["time_ms"] - int(e["body"]["wall_end_ms"]) for e in segs]
delays.sort(); seal.sort()
p = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
print(f"segment end -> durable entry: p50 {p(delays, .5)} ms, p99 {p(delays, .99)} ms, max {delays[-1]} ms over {len(delays)} full segments (target < 1000)")
print(f"sealed and fsynced -> durable entry: p50 {p(seal, .5)} ms, p99 {p(seal, .99)} ms")'
