#!/usr/bin/env bash
# bench_report.sh — `tellonce report` of a case with 3 sessions on a ledger
# of N entries (issue 12: 100,000): wall time and peak memory (GNU time),
# median of REPS runs, with and without --json, and the size of the page.
#
#   tests/bench/bench_report.sh TELLONCE BENCH_SCALE_FILL [N] [REPS]
#
# The vault: an administrator, an interviewer, a prosecutor; case BENCH-R
# with three 6 s recordings of a small simulated room, a grant, three views
# (play --headless) and an export; then bench_scale_fill grows the ledger to
# N entries with filler cases (tests/bench/bench_scale_fill.c) and one
# `tellonce checkpoint` covers them. The report verifies the whole ledger
# first (signatures of every entry), so its time is mostly that. The filler
# cases have their files (bench_scale_fill --files: small random objects
# whose sizes and digests are the entries'), so the whole vault verifies and
# the report succeeds; each filler segment file is 512 bytes, so the media
# check's hashing is small next to real media (docs/performance.md
# "Verify's media check" gives that cost per GB).
# Use a release build (scripts/bench does: meson setup --buildtype=release).
set -euo pipefail
tlo=$(realpath "$1")
fill=$(realpath "$2")
size=${3:-100000}
reps=${4:-3}
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-report.XXXXXX")
if [ -z "${TLO_BENCH_KEEP:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
cd "$work"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo 'admin passphrase' >a.pass
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file a.pass \
    --new-passphrase-file a.pass >/dev/null
"$tlo" user add Prosecutor --role prosecutor --as Admin --passphrase-file a.pass \
    --new-passphrase-file a.pass >/dev/null
"$tlo" case open BENCH-R --as Interviewer --passphrase-file a.pass >/dev/null
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
for i in 1 2 3; do
    "$tlo" record BENCH-R --as Interviewer --passphrase-file a.pass --room small.room \
        --duration 6 --no-live >record.out 2>&1
done
"$tlo" log --json >log.json
read -r s1 caseid < <(python3 -c 'import json; d=json.load(open("log.json"))
print([e["body"]["session"] for e in d if e["kind"]=="session-start"][0], [e["case_id"] for e in d if e["kind"]=="case-open"][0])')
"$tlo" grant BENCH-R --to Prosecutor --session "$s1" --expires 2099-12-31 --purpose bench \
    --actions view,export --as Admin --passphrase-file a.pass >/dev/null
for r in "0 2" "2 4" "3 5"; do
    set -- $r
    "$tlo" play BENCH-R --session "$s1" --from "$1" --to "$2" --as Prosecutor \
        --passphrase-file a.pass --headless >/dev/null 2>&1
done
"$tlo" export BENCH-R --session "$s1" --from 1 --to 4 -o clip.mp4 --as Prosecutor \
    --passphrase-file a.pass >/dev/null 2>&1
t0=$(date +%s%N)
"$fill" "$work/vault" a.pass "$size" --files >fill.out
echo "fill to $size entries: $(cat fill.out) ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
"$tlo" checkpoint >/dev/null
entries=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries")
case_entries=$(sqlite3 vault/ledger.db "SELECT count(*) FROM entries WHERE case_id = X'$caseid'")
echo "ledger: $entries entries, $case_entries of them of case BENCH-R (3 sessions)"

: >html.t; : >html.kb; : >html.cpu; : >json.t; : >json.kb; : >json.cpu
for r in $(seq "$reps"); do
    /usr/bin/time -f '%e %M %U %S' -o t.out "$tlo" report "$caseid" -o "r$r.html" >/dev/null 2>r.err ||
        { echo "report failed: $(tail -n 3 r.err)" >&2; exit 1; }
    read -r sec kb us ss < <(tail -n 1 t.out)
    echo "$sec" >>html.t
    echo "$kb" >>html.kb
    echo "$us $ss" | awk '{print $1 + $2}' >>html.cpu
    /usr/bin/time -f '%e %M %U %S' -o t.out "$tlo" report "$caseid" -o "j$r.html" --json "j$r.json" \
        >/dev/null 2>>r.err || { echo "report --json failed: $(tail -n 3 r.err)" >&2; exit 1; }
    read -r sec kb us ss < <(tail -n 1 t.out)
    echo "$sec" >>json.t
    echo "$kb" >>json.kb
    echo "$us $ss" | awk '{print $1 + $2}' >>json.cpu
done
echo "report -o (median of $reps): $(median <html.t) s wall, $(median <html.cpu) s CPU (user+system), peak RSS $(median <html.kb) KiB"
echo "report -o --json (median of $reps): $(median <json.t) s wall, $(median <json.cpu) s CPU, peak RSS $(median <json.kb) KiB"
echo "load average during the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "report.html: $(stat -c %s r1.html) bytes; report.json: $(stat -c %s j1.json) bytes"
echo "its verification: $(python3 -c 'import json; v=json.load(open("j1.json"))["verification"]; print("OK" if v["ok"] else "FAILED: " + v["problem"][:120], "(%d entries)" % v["entries"])')"
/usr/bin/time -f '%e %M %U %S' -o t.out "$tlo" verify >/dev/null || true
read -r sec kb us ss < <(tail -n 1 t.out)
echo "for comparison, tellonce verify of the same ledger: $sec s wall, $(echo "$us $ss" | awk '{print $1 + $2}') s CPU, peak RSS $kb KiB"
[ -n "${TLO_BENCH_KEEP:-}" ] && echo "vault kept in $work"
exit 0
