#!/usr/bin/env bash
# bench_scale.sh — every everyday command on a ledger of N entries (five years
# of a centre: 4,000,000 by default) against the same on 1,000 entries
# (issue 10 §5). Target: each within 2x of its 1,000-entry time; prove under
# 10 ms.
#
#   tests/bench/bench_scale.sh TELLONCE BENCH_SCALE_FILL [N] [REPS]
#
# Both vaults get the same start: an administrator, an interviewer, case
# BENCH-1 with one 20 s recording of a small simulated room, a grant; then
# bench_scale_fill grows the ledger to its size with filler cases, and one
# `tellonce checkpoint` (timed, the first after the fill: it verifies all
# that is new). Then, REPS times each (median printed): grant, log --case,
# prove --entry, a 10 s export, play --headless of 10 s (first frame and whole
# command), and a 2 s recording (its end writes a checkpoint).
# A 4M-entry ledger takes ~2 GB of disk and several minutes to fill. Use a
# release build (scripts/bench does: meson setup --buildtype=release).
set -euo pipefail
tlo=$(realpath "$1")
fill=$(realpath "$2")
big=${3:-4000000}
reps=${4:-3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-scale.XXXXXX")
# TLO_BENCH_KEEP=1 keeps the vaults (printed at the end) to time other builds on them.
if [ -z "${TLO_BENCH_KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
export TELLONCE_TEST_FAST_KDF=1

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

setup() { # DIR SIZE
    local d=$1 size=$2
    mkdir -p "$d"
    cd "$d"
    export TELLONCE_VAULT="$d/vault"
    echo 'admin passphrase' >a.pass
    echo 'interviewer passphrase' >i.pass
    "$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
    "$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file a.pass \
        --new-passphrase-file i.pass >/dev/null
    "$tlo" case open BENCH-1 --as Interviewer --passphrase-file i.pass >/dev/null
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
[microphone 1]
source=speech
ROOM
    "$tlo" record BENCH-1 --as Interviewer --passphrase-file i.pass --room small.room \
        --duration 20 --no-live >record.out 2>&1
    "$tlo" log --json >log.json
    session=$(python3 -c 'import json,sys; print([e["body"]["session"] for e in json.load(open("log.json")) if e["kind"]=="session-start"][-1])')
    caseid=$(python3 -c 'import json,sys; print([e["case_id"] for e in json.load(open("log.json")) if e["kind"]=="case-open"][-1])')
    echo "$session" >session
    echo "$caseid" >caseid
    "$tlo" grant BENCH-1 --to Admin --session "$session" --expires 2099-12-31 --purpose bench \
        --actions view,export --as Admin --passphrase-file a.pass >/dev/null
    local t0
    t0=$(date +%s%N)
    "$fill" "$d/vault" a.pass "$size" >fill.out
    echo "  fill to $size: $(cat fill.out) ($(ms "$t0") ms)"
    t0=$(date +%s%N)
    "$tlo" checkpoint >/dev/null
    echo "  first checkpoint after the fill: $(ms "$t0") ms"
}

measure() { # DIR LABEL
    local d=$1
    cd "$d"
    export TELLONCE_VAULT="$d/vault"
    local session caseid
    session=$(cat session)
    caseid=$(cat caseid)
    : >grant.t; : >log.t; : >prove.t; : >export.t; : >play.t; : >playff.t; : >record.t
    for r in $(seq "$reps"); do
        local t0
        t0=$(date +%s%N)
        "$tlo" grant BENCH-1 --to Admin --session "$session" --expires 2099-12-31 \
            --purpose "bench $r" --actions view,export --as Admin --passphrase-file a.pass \
            >/dev/null
        ms "$t0" >>grant.t
        t0=$(date +%s%N)
        "$tlo" log --case "$caseid" >log.out
        ms "$t0" >>log.t
        t0=$(date +%s%N)
        "$tlo" prove --entry 5 -o "p$r.proof" >/dev/null
        ms "$t0" >>prove.t
        t0=$(date +%s%N)
        "$tlo" export BENCH-1 --session "$session" --from 00:00:05 --to 00:00:15 \
            -o "clip$r.mp4" --as Admin --passphrase-file a.pass >/dev/null 2>export.err
        ms "$t0" >>export.t
        t0=$(date +%s%N)
        "$tlo" play BENCH-1 --session "$session" --as Admin --passphrase-file a.pass \
            --from 00:00:05 --to 00:00:15 --headless >play.out 2>&1
        ms "$t0" >>play.t
        sed -n 's/.*the first frame after \([0-9.]*\) ms.*/\1/p' play.out | head -1 >>playff.t
        t0=$(date +%s%N)
        "$tlo" record BENCH-1 --as Interviewer --passphrase-file i.pass --room small.room \
            --duration 2 --no-live >rec.out 2>&1
        ms "$t0" >>record.t
    done
    printf '%s' "$2"
    for f in grant log prove export playff play record; do
        printf ' %s' "$(median <$f.t)"
    done
    printf '  (log --case: %s lines)\n' "$(wc -l <log.out)"
}

echo "building the vaults (small: 1000 entries; big: $big)"
setup "$work/small" 1000
setup "$work/big" "$big"
echo "medians of $reps runs, ms:"
echo "size grant log--case prove export10s play-first-frame play-whole record2s+checkpoint"
measure "$work/small" 1000
measure "$work/big" "$big"
du -sh "$work/big/vault/ledger.db" | sed 's/^/big ledger: /'
[ -n "${TLO_BENCH_KEEP:-}" ] && echo "vaults kept in $work"
exit 0
