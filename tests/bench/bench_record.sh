#!/usr/bin/env bash
# bench_record: the cost of sealing and logging while recording.
#
# The simulated room (2 cameras 640x360 at 25 fps, speech; docs/rooms.md) is
# recorded live for SECONDS twice: once by 'tellonce record' (sealed,
# fsynced, logged), once by bench_capture, the same capture/ pipeline writing
# plain segment files with filesink. Reports CPU
# seconds and peak memory of each (GNU time), their ratio, and the delay from
# each segment's end on the session clock to its durable ledger entry.
# usage: bench_record.sh TELLONCE_BINARY BENCH_CAPTURE_BINARY [SECONDS]
set -euo pipefail
tlo=$1
bench_capture=$2
seconds=${3:-60}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-record.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_VAULT="$work/vault" TELLONCE_TEST_FAST_KDF=1
echo 'bench admin' >"$work/a.pass"
echo 'bench interviewer' >"$work/i.pass"
"$tlo" init --admin Admin --passphrase-file "$work/a.pass" >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file "$work/a.pass" \
    --new-passphrase-file "$work/i.pass" >/dev/null
"$tlo" case open BENCH-1 --as Interviewer --passphrase-file "$work/i.pass" >/dev/null

measure() { # measure LABEL COMMAND...: prints "LABEL user+sys seconds, max RSS KiB"
    local label=$1; shift
    /usr/bin/time -f "%U %S %M" -o "$work/time.$label" "$@" >"$work/out.$label" 2>&1
    read -r u s m <"$work/time.$label"
    python3 -c "print(f'{\"$label\":<28} CPU {$u + $s:6.2f} s (user $u, sys $s)   peak memory $m KiB')"
    python3 -c "print($u + $s)" >"$work/cpu.$label"
}

measure "tellonce record" "$tlo" record BENCH-1 --as Interviewer --passphrase-file "$work/i.pass" \
    --duration "$seconds"
mkdir "$work/plain"
measure "same pipeline + filesink" "$bench_capture" "$work/plain" "$seconds"
a=$(cat "$work/cpu.tellonce record"); b=$(cat "$work/cpu.same pipeline + filesink")
python3 -c "print(f'CPU ratio tellonce / plain files: {$a / $b:.3f} (target <= 1.03)')"
echo "plain files: $(ls "$work/plain" | wc -l) segments, $(du -sk "$work/plain" | cut -f1) KiB;" \
    "sealed: $(ls "$work/vault/objects" | wc -l) objects (one is the case's fields), $(du -sk "$work/vault/objects" | cut -f1) KiB"

# Delay from a segment's end to its durable entry: the end is the session
# clock's zero in UTC (wall_start_ms - start_ms) plus end_ms.
"$tlo" log --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
start = [e for e in d if e["kind"] == "session-start"][-1]
segs = [e for e in d if e["kind"] == "segment" and e["body"]["session"] == start["body"]["session"]]
b = segs[0]["body"]
zero = int(b["wall_start_ms"]) - int(b["start_ms"])
delays = sorted(e["time_ms"] - zero - int(e["body"]["end_ms"]) for e in segs[:-1])
seal = sorted(e["time_ms"] - int(e["body"]["wall_end_ms"]) for e in segs)
p = lambda v, q: v[min(len(v) - 1, int(q * len(v)))]
print(f"segment end -> durable entry: p50 {p(delays, .5)} ms, p99 {p(delays, .99)} ms, max {delays[-1]} ms over {len(delays)} full segments (target < 1000)")
print(f"sealed and fsynced -> durable entry: p50 {p(seal, .5)} ms, p99 {p(seal, .99)} ms")'
