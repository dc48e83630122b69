#!/usr/bin/env bash
# bench_service: a release request's round trip through the custodian
# service's socket, after login (issue 11: p99 under 30 ms). A vault with a
# 12 s recording and a grant of 00:00:02-00:00:08 to a prosecutor; the
# service started on it; the prosecutor logged in; then REQUESTS (default
# 1000) times `play --headless` of the grant through the socket, each one a
# new connection: the hello and its nonce, the request, the access entry
# made durable and its checkpoint, the hand-over of the keys and segment
# fds, the exit code (bench_service.c; the client's decoding is not timed).
# Also the same number of `user list` (a forwarded command that logs
# nothing) for the cost of the service itself.
# usage: bench_service.sh BUILD_DIR [REQUESTS]
set -euo pipefail
build=$1
n=${2:-1000}
tlo=$build/tellonce
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tlo-bench-svc.XXXXXX")
svc=
cleanup() {
    [ -n "$svc" ] && kill "$svc" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
export TELLONCE_VAULT="$work/vault"
echo 'bench admin passphrase' >a.pass
echo 'bench interviewer pass' >i.pass
echo 'bench prosecutor pass' >p.pass
printf 'child_name=(bench)\n' >child
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null
"$tlo" user add Interviewer --role interviewer --as Admin --passphrase-file a.pass \
    --new-passphrase-file i.pass >/dev/null
"$tlo" user add Prosecutor --role prosecutor --as Admin --passphrase-file a.pass \
    --new-passphrase-file p.pass >/dev/null
"$tlo" case open BENCH-S --as Interviewer --passphrase-file i.pass --child-file child >/dev/null
"$tlo" record BENCH-S --as Interviewer --passphrase-file i.pass --duration 12 --no-live \
    </dev/null >/dev/null 2>&1
session=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20" |
    sed -n 's/^session=//p')
"$tlo" grant BENCH-S --to Prosecutor --session "$session" --from 00:00:02 --until 00:00:08 \
    --expires 2099-12-31 --purpose bench --actions view --as Admin --passphrase-file a.pass >/dev/null
unset TELLONCE_VAULT
"$tlo" custodian run --vault "$work/vault" --socket "$work/sock" 2>service.log &
svc=$!
for _ in $(seq 600); do [ -S sock ] && break; sleep 0.1; done
"$tlo" --socket "$work/sock" login --as Prosecutor --passphrase-file p.pass >/dev/null
echo "bench_service: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $n requests each"
printf 'play --headless 00:00:02-00:00:08 (access entry + checkpoint): '
"$build/tests/bench/bench_service" "$work/sock" "$n" play BENCH-S --session "$session" \
    --from 2 --to 8 --as Prosecutor --headless --purpose bench
printf 'user list (nothing logged):                                   '
"$build/tests/bench/bench_service" "$work/sock" "$n" user list
echo "entries in the ledger after: $(sqlite3 vault/ledger.db 'SELECT count(*) FROM entries')"
