#!/usr/bin/env bash
# bench_note.sh — a note with one file of SIZE MiB (docs/notes.md): wall time
# and peak memory (GNU time) of `note add` and `note get`, median of REPS runs.
#
#   tests/bench/bench_note.sh TELLONCE [SIZE_MIB] [REPS]
#
# The file is random bytes (incompressible, as a photo or a scan is). `add`
# streams it into the sealing writer (one sealed object, no plaintext on
# disk); `get` checks and opens the object and writes the file back. Use a
# release build (scripts/bench does).
set -euo pipefail
tlo=$(realpath "$1")
size=${2:-200}
reps=${3:-3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-note.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
cd "$work"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo 'admin passphrase 1' >a.pass
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
"$tlo" user add Doctor --role medical --as Admin --passphrase-file a.pass \
    --new-passphrase-file a.pass >/dev/null
"$tlo" case open BENCH-N --as Admin --passphrase-file a.pass >/dev/null
head -c "$((size * 1048576))" /dev/urandom >scan.bin
for i in $(seq "$reps"); do
    /usr/bin/time -f '%e %M' -o add.$i "$tlo" note add BENCH-N --kind exam --text "bench" \
        --file scan.bin --as Doctor --passphrase-file a.pass >/dev/null
    rm -rf "out$i" && mkdir "out$i"
    /usr/bin/time -f '%e %M' -o get.$i "$tlo" note get BENCH-N "$i" -o "out$i" --as Doctor \
        --passphrase-file a.pass >/dev/null 2>>bench.err
    cmp -s scan.bin "out$i/scan.bin" || { echo "note $i did not round-trip" >&2; exit 1; }
    rm -rf "out$i"
done
for op in add get; do
    wall=$(cat $op.* | awk '{print $1}' | median)
    rss=$(cat $op.* | awk '{print $2}' | median)
    echo "note $op, one file of $size MiB: ${wall} s wall, peak RSS $((rss / 1024)) MiB (median of $reps)"
done
