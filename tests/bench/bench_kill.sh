#!/usr/bin/env bash
# bench_kill: what kill -9 of a live recording loses, with the machine busy.
#
# KILLS times (default 20): a live 'tellonce record' of the simulated room is
# killed with SIGKILL at a random moment 0-8 s after its first segment is
# logged (the moment is the point, so it is a sleep); 'recover' closes the
# session and 'verify' must pass. The loss is from the end of the media
# logged (after recover) to the moment of the kill, on the session clock
# mapped to UTC by a segment entry (wall_start_ms - start_ms): an upper
# bound, since the kill is timed after it happened. Meanwhile one busy loop
# per spare core (pinned with taskset when there is one) keeps the rest of the
# machine busy. Prints every kill, the median and the worst, and the load.
# usage: bench_kill.sh TELLONCE_BINARY [KILLS]
set -euo pipefail
tlo=$1
kills=${2:-20}
. "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-kill.XXXXXX")
busy=()
cleanup() {
    for p in "${busy[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
bad() { echo "bench_kill: $*" >&2; exit 1; }
export TELLONCE_VAULT="$work/vault" TELLONCE_TEST_FAST_KDF=1
cd "$work"
echo 'bench admin passphrase' >a.pass
echo 'bench interviewer' >i.pass
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file a.pass \
    --new-passphrase-file i.pass >/dev/null
"$tlo" case open BENCH-K --as Interviewer --passphrase-file i.pass >/dev/null

# The other core(s) busy: a busy loop pinned to each core but the first.
ncpu=$(nproc)
for cpu in $(seq 1 $((ncpu - 1))); do
    taskset -c "$cpu" sh -c 'while :; do :; done' &
    busy+=($!)
done
[ "$ncpu" -gt 1 ] || { sh -c 'while :; do :; done' & busy+=($!); }
echo "bench_kill: $kills kills, $ncpu cores, ${#busy[@]} busy loop(s); load before: $(cut -d' ' -f1-3 /proc/loadavg)"

: >lost.txt
for i in $(seq "$kills"); do
    before=$(sessions_started)
    "$tlo" record BENCH-K --as Interviewer --passphrase-file i.pass </dev/null >rec.out 2>&1 &
    pid=$!
    wait_for 120 "session $i to start" '[ "$(sessions_started)" -gt "$before" ]' "$pid"
    sess=$(newest_session)
    wait_for 120 "the first segment of session $i" '[ "$(media_logged "$sess")" -gt 0 ]' "$pid"
    delay=$(python3 -c 'import random; print(round(random.uniform(0, 8), 2))')
    sleep "$delay"
    kill -9 "$pid"
    killed=$(now_ms)
    wait "$pid" 2>/dev/null || true
    "$tlo" recover --as Interviewer --passphrase-file i.pass >recover.out 2>&1 ||
        bad "recover after kill $i failed: $(cat recover.out)"
    "$tlo" verify >verify.out 2>&1 || bad "verify after kill $i and recover failed: $(cat verify.out)"
    "$tlo" log --json >log.json
    python3 - "$killed" "$delay" "$sess" <<'PY' | tee -a lost.txt
import json, sys
killed, sess = int(sys.argv[1]), sys.argv[3]
d = json.load(open("log.json"))
segs = [e["body"] for e in d if e["kind"] == "segment" and e["body"]["session"] == sess]
timed = [s for s in segs if "wall_start_ms" in s]
zero = int(timed[0]["wall_start_ms"]) - int(timed[0]["start_ms"])
end = int(segs[-1]["end_ms"])
print(f"{killed - zero - end} ms lost: kill at {sys.argv[2]} s after the first segment, {len(segs)} segments kept to {end} ms")
PY
done
echo "bench_kill: load after: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - lost.txt <<'PY'
import statistics, sys
v = sorted(int(l.split()[0]) for l in open(sys.argv[1]))
print(f"bench_kill: media lost over {len(v)} kills: median {statistics.median(v):.0f} ms, "
      f"worst {v[-1]} ms, best {v[0]} ms (targets: median <= 600, worst <= 1000); every vault verified")
PY
