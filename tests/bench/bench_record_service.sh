#!/usr/bin/env bash
# bench_record_service: what recording through the custodian service costs,
# against the same recording in-process (bench_record.sh's measure).
#
# The simulated room is recorded live for SECONDS by 'tellonce record' in
# the process (embedded), and by a client of a custodian service ('tellonce
# --socket S record', the service's child recording, its relay thread, and
# the client relaying the status to its terminal); REPS times each,
# alternating, so that a slow spell of the machine falls on both. The
# service is started afresh for each recording and ended with SIGTERM after
# it, so its CPU (GNU time of 'custodian run': the parent and every child it
# waited for) covers one recording, plus its start (the recovery check) and
# its idle poll loop. The CPU of a service run is the service's plus the
# client's; a service that records nothing is measured too (its start and
# end), and the ratio is also given without it. Same user for all (the service accepts its own uid): no root
# needed.
# Both also print the recording's own "CPU: ... of Z s while recording" line
# (the recording process's CPU from its start to its end: in the service the
# child's, with its relay thread), the figure without any start-up cost.
# usage: bench_record_service.sh TELLONCE_BINARY [SECONDS]
# (TELLONCE_BENCH_RECORD_REPS sets REPS, default 3; TELLONCE_BENCH_RECORD_LIVE=0
# runs the simulated room as fast as the machine can instead of live: the
# same frames each run, so less of the encoder's own variation.)
set -euo pipefail
tlo=$1
seconds=${2:-60}
reps=${TELLONCE_BENCH_RECORD_REPS:-3}
nolive=()
[ "${TELLONCE_BENCH_RECORD_LIVE:-1}" = 0 ] && nolive=(--no-live)
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-rsvc.XXXXXX")
svc=
cleanup() {
    [ -n "$svc" ] && kill -9 "$svc" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
chmod 700 "$work"
vault=$work/vault
sock=$work/custodian.sock
export TELLONCE_TEST_FAST_KDF=1
"$tlo" init --vault "$vault" --admin Admin --passphrase-file <(echo 'bench admin') >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --vault "$vault" \
    --passphrase-file <(echo 'bench admin') --new-passphrase-file <(echo 'bench interviewer') >/dev/null
"$tlo" case open BENCH-1 --as Interviewer --vault "$vault" \
    --passphrase-file <(echo 'bench interviewer') >/dev/null
export TELLONCE_PASSPHRASE='bench interviewer' # forwarded as a SECRET frame by the client

cpu_of() { read -r u s _ <"$1" && python3 -c "print($u + $s)"; }

embedded() {
    /usr/bin/time -f "%U %S %M" -o "$work/emb.time" \
        "$tlo" record BENCH-1 --as Interviewer --vault "$vault" --duration "$seconds" "${nolive[@]}" \
        </dev/null >"$work/emb.out" 2>&1
    local c
    c=$(cpu_of "$work/emb.time")
    printf '%-28s CPU %6.2f s   %s\n' "in-process record" "$c" "$(grep '^CPU:' "$work/emb.out" || true)"
    echo "$c" >>"$work/cpu.embedded"
    sed -n 's/^CPU: .* of \([0-9.]*\) s while recording.*/\1/p' "$work/emb.out" >>"$work/rec.embedded"
}

# start_service: 'custodian run' under GNU time ($svc is time's pid).
start_service() {
    rm -f "$sock"
    /usr/bin/time -f "%U %S %M" -o "$work/svc.time" \
        "$tlo" custodian run --vault "$vault" --socket "$sock" >"$work/svc.out" 2>&1 &
    svc=$!
    local n=0
    until [ -S "$sock" ]; do # wait for the socket, as long as the service lives
        kill -0 "$svc" 2>/dev/null || { echo "the service ended: $(cat "$work/svc.out")" >&2; exit 1; }
        n=$((n + 1)); [ "$n" -lt 600 ] || { echo "no socket after 60 s" >&2; exit 1; }
        sleep 0.1
    done
}
stop_service() {
    # SIGTERM to the service itself (GNU time's child): time writes its figures
    # once the service has ended.
    kill -TERM "$(pgrep -P "$svc")"
    wait "$svc" || true
    svc=
}

# idle_service: what a service costs that records nothing: its start (the
# recovery check), its poll loop, its end.
idle_service() {
    start_service
    stop_service
    local c
    c=$(cpu_of "$work/svc.time")
    printf '%-28s CPU %6.2f s\n' "service alone (no client)" "$c"
    echo "$c" >>"$work/cpu.idle"
}

through_service() {
    start_service
    /usr/bin/time -f "%U %S %M" -o "$work/cli.time" \
        "$tlo" --socket "$sock" record BENCH-1 --as Interviewer --duration "$seconds" "${nolive[@]}" \
        </dev/null >"$work/cli.out" 2>&1 || { echo "client: $(cat "$work/cli.out")" >&2; exit 1; }
    stop_service
    local cs cc
    cs=$(cpu_of "$work/svc.time")
    cc=$(cpu_of "$work/cli.time")
    printf '%-28s CPU %6.2f s (service %.2f, client %.2f)   %s\n' "through the service" \
        "$(python3 -c "print($cs + $cc)")" "$cs" "$cc" "$(grep '^CPU:' "$work/cli.out" || true)"
    echo "$cs $cc" >>"$work/cpu.service"
    sed -n 's/^CPU: .* of \([0-9.]*\) s while recording.*/\1/p' "$work/cli.out" >>"$work/rec.service"
}

for _ in $(seq "$reps"); do
    embedded
    through_service
    idle_service
done
python3 - "$work/cpu.embedded" "$work/cpu.service" "$work/cpu.idle" "$work/rec.embedded" \
    "$work/rec.service" <<'EOF'
import statistics, sys
emb = [float(l) for l in open(sys.argv[1])]
re_, rs = ([float(l) for l in open(p)] for p in sys.argv[4:6])
svc = [sum(map(float, l.split())) for l in open(sys.argv[2])]
cli = [float(l.split()[1]) for l in open(sys.argv[2])]
idle = [float(l) for l in open(sys.argv[3])]
ratios = [b / a for a, b in zip(emb, svc)]
me, ms, mi = statistics.median(emb), statistics.median(svc), statistics.median(idle)
print(f"CPU ratio service / in-process, per pair: {', '.join(f'{r:.3f}' for r in ratios)}; "
      f"median {statistics.median(ratios):.3f}")
print(f"median CPU {ms:.2f} s / {me:.2f} s = {ms / me:.3f} (target <= 1.02); "
      f"of it the client {statistics.median(cli):.2f} s")
print(f"the service alone (start, idle, end): median {mi:.2f} s; without it "
      f"{ms - mi:.2f} s / {me:.2f} s = {(ms - mi) / me:.3f}")
if re_ and rs:
    rr = [b / a for a, b in zip(re_, rs)]
    print(f"while recording (the recording's own line), per pair: "
          f"{', '.join(f'{r:.3f}' for r in rr)}; median {statistics.median(rr):.3f}; "
          f"medians {statistics.median(rs):.2f} s / {statistics.median(re_):.2f} s = "
          f"{statistics.median(rs) / statistics.median(re_):.3f}")
EOF
