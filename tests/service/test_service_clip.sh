#!/usr/bin/env bash
# play and export through the custodian service (docs/service.md, "Play and
# export"): the prosecutor's OS user, who can open no file of the vault,
# watches a granted clip (--headless, and in a window on its own display)
# with the segments' files the service opened for it, and its access entry names the person, client_uid and
# client_pid; without a grant it is refused and logged; an export is made
# inside the service into unnamed files the client made, linked into place
# only after success, and verify-export passes; an export whose client is
# killed mid-way leaves nothing at the path. Run as root (it makes OS users);
# outside CI it skips (77) when not root.
# usage: test_service_clip.sh TELLONCE_BINARY TESTS_DIR
set -u
tlo=$1
here=$2
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
# shellcheck source=../cli/lib.sh
. "$here/../cli/lib.sh"
# shellcheck source=svc_lib.sh
. "$here/svc_lib.sh"
svc_need_root
svc_setup pros
cd "$SVC_DIR" || exit 1
printf 'prosecutor-passphrase-1\n' >pros.pass
printf 'interviewer-passphrase-1\n' >ivan.pass
chmod 644 pros.pass ivan.pass
pros_uid=$(id -u "$(svc_user pros)")
# client_exec NAME ARGS...: execs tellonce through the service as that OS
# user, exec'd all the way down: "(client_exec ...) &" makes $! the client's
# own pid. client_as: the same in the foreground.
client_exec() {
    local u
    u=$(svc_user "$1")
    shift
    exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- \
        env "${SVC_SAN[@]}" TELLONCE_TEST_FAST_KDF=1 "$SVC_BIN" --socket "$SVC_SOCKET" "$@"
}
client_as() { (client_exec "$@"); }
granted() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 40"; }
denied() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 41"; }
exports() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 42"; }
newest() { svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = $1 ORDER BY seq DESC LIMIT 1"; }

# The case, two sessions and a grant of the first, as the service's user.
A=(--as "Anna Admin" --passphrase-file "$SVC_DIR/admin.pass")
as_service user add "Ivan Interviewer" --role interviewer --vault "$SVC_VAULT" "${A[@]}" \
    --new-passphrase-file "$SVC_DIR/ivan.pass" >/dev/null || bad "user add interviewer"
as_service user add "Per Prosecutor" --role prosecutor --vault "$SVC_VAULT" "${A[@]}" \
    --new-passphrase-file "$SVC_DIR/pros.pass" >/dev/null || bad "user add prosecutor"
I=(--as "Ivan Interviewer" --passphrase-file "$SVC_DIR/ivan.pass" --vault "$SVC_VAULT")
as_service case open "2026-S-11" "${I[@]}" >/dev/null || bad "case open"
for d in 12 4; do
    as_service record "2026-S-11" "${I[@]}" --duration $d --no-live >/dev/null 2>&1 || bad "record $d s"
done
sessions=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq" |
    sed -n 's/^session=//p')
s1=$(sed -n 1p <<<"$sessions") s2=$(sed -n 2p <<<"$sessions")
as_service grant "2026-S-11" --to "Per Prosecutor" --session "$s1" --from 2 --until 10 \
    --expires 2099-12-31 --purpose "trial preparation" --actions view,export --vault "$SVC_VAULT" \
    "${A[@]}" >/dev/null || bad "grant"
key=$(as_service checkpoint --verifier-key --vault "$SVC_VAULT")
pk=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE instr(CAST(body AS TEXT), 'name=Per Prosecutor') > 0 LIMIT 1" |
    sed -n 's/^pk=//p')
[ ${#pk} -eq 64 ] && ok || bad "the prosecutor's enrolled key: '$pk'"
svc_start
P=(--as "Per Prosecutor" --passphrase-file pros.pass)

# --- every file of the vault: EACCES for the prosecutor's OS user ---
find "$SVC_VAULT" -mindepth 0 >vault-files.txt
out=$(as pros /usr/bin/python3 -c '
import errno, os, sys
n = bad = 0
for p in open(sys.argv[1]).read().split("\n"):
    if not p:
        continue
    n += 1
    try:
        os.close(os.open(p, os.O_RDONLY))
        print("opened", p); bad += 1
    except OSError as e:
        if e.errno != errno.EACCES:
            print(p, e); bad += 1
print("files", n)
sys.exit(1 if bad or n < 8 else 0)' "$SVC_DIR/vault-files.txt" 2>&1)
[ $? -eq 0 ] && ok || bad "vault files open to the prosecutor's OS user: $out"

# --- play --headless of the granted clip, through the service ---
g0=$(granted)
(client_exec pros play "2026-S-11" --session "$s1" --from 4 --to 8 "${P[@]}" --headless \
    </dev/null >play.out 2>play.err) &
client=$!
wait $client
rc=$?
[ $rc -eq 0 ] && ok || bad "play through the service: exit $rc: $(cat play.err)"
contains "$(cat play.out)" "track 0: video, 100 frames" "4 s of camera 1 decoded by the client"
contains "$(cat play.out)" "from 1 segments" "only the range's segment"
contains "$(cat play.err)" "Access logged as entry" "the child's output reached the client"
[ "$(granted)" -eq $((g0 + 1)) ] && ok || bad "the view is logged once"
body=$(newest 40)
contains "$body" "actor=$pk" "the access entry names the person"
contains "$body" "client_uid=$pros_uid" "the access entry names the client's uid"
contains "$body" "client_pid=$client" "the access entry names the client's pid"
# The whole grant: three segments (2-10 s of 4 s segments), one DATA frame.
client_as pros play "2026-S-11" --session "$s1" --from 2 --to 10 "${P[@]}" --headless \
    </dev/null >play.out 2>play.err
rc=$?
[ $rc -eq 0 ] && ok || bad "play the whole grant: exit $rc: $(cat play.err)"
contains "$(cat play.out)" "track 0: video, 200 frames" "8 s granted, 8 s decoded"

# play_json_through_the_service: --headless --json prints the same JSON
# object as in-process (docs/json.md), on the client's standard output.
client_as pros play "2026-S-11" --session "$s1" --from 4 --to 8 "${P[@]}" --headless --json \
    </dev/null >play.out 2>play.err
rc=$?
[ $rc -eq 0 ] && ok || bad "play_json_through_the_service: exit $rc: $(cat play.err)"
out=$(python3 -c 'import json,sys; d=json.load(open("play.out")); print(d["from_ms"], d["to_ms"], d["tracks"][0]["frames"], d["access_entry"] > 0)' 2>&1)
[ "$out" = "4000 8000 100 True" ] && ok || bad "play_json_through_the_service: not play's JSON: $out: $(head -c 300 play.out)"
# --- the window is the client's: on the prosecutor's display, which the
# service has none of (play_shows_on_the_client) ---
if command -v Xvfb >/dev/null; then
    Xvfb -displayfd 5 -ac -screen 0 1400x500x24 -nolisten tcp 5>display.txt 2>xvfb.err &
    xvfb=$!
    wait_for 120 "Xvfb to name its display" '[ -s display.txt ]' "$xvfb"
    u=$(svc_user pros)
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- \
        env "${SVC_SAN[@]}" TELLONCE_TEST_FAST_KDF=1 DISPLAY=":$(cat display.txt)" "$SVC_BIN" --socket "$SVC_SOCKET" \
        play "2026-S-11" --session "$s1" --from 4 --to 6 "${P[@]}" </dev/null >win.out 2>win.err
    rc=$?
    [ $rc -eq 0 ] && ok || bad "play_shows_on_the_client: exit $rc: $(cat win.err)"
    contains "$(cat win.err)" "Playing; space pauses" "play_shows_on_the_client: the window played"
    kill "$xvfb" 2>/dev/null
    wait "$xvfb" 2>/dev/null
else
    echo "SKIP: the window through the service needs Xvfb (package xvfb)"
fi

# --- without a grant: refused and logged, nothing decoded ---
d0=$(denied)
client_as pros play "2026-S-11" --session "$s2" "${P[@]}" --headless </dev/null >play.out 2>play.err
rc=$?
[ $rc -eq 1 ] && ok || bad "play without a grant: exit $rc: $(cat play.err)"
grep -q Decoded play.out && bad "something was decoded without a grant" || ok
[ "$(denied)" -eq $((d0 + 1)) ] && ok || bad "the refusal is not logged"
contains "$(newest 41)" "client_uid=$pros_uid" "the refusal names the client's uid"

# --- an export through the service ---
mkdir -m 700 out
chown "$(svc_user pros)" out
e0=$(exports)
client_as pros export "2026-S-11" --session "$s1" --from 4 --to 8 -o out/clip.mp4 "${P[@]}" \
    </dev/null >export.out 2>export.err
rc=$?
[ $rc -eq 0 ] && ok || bad "export through the service: exit $rc: $(cat export.err)"
[ "$(exports)" -eq $((e0 + 1)) ] && ok || bad "the export entry"
[ -f out/clip.mp4 ] && [ -f out/clip.mp4.manifest ] && ok || bad "clip and manifest: $(ls -A out)"
[ "$(stat -c %U out/clip.mp4)" = "$(svc_user pros)" ] && ok || bad "the clip is the client's file"
grep -q "^file=" <<<"$(newest 42)" && bad "the export entry names the clip's file" || ok
# The client made the checksum file from what it linked.
(cd out && as pros sha256sum -c clip.mp4.sha256 >/dev/null 2>&1) && ok ||
    bad "sha256sum -c out/clip.mp4.sha256 after an export through the service: $(ls -A out)"
contains "$(newest 42)" "client_uid=$pros_uid" "the export entry names the client's uid"
out=$(as pros "$SVC_BIN" verify-export out/clip.mp4 --verifier-key "$key" 2>&1)
[ $? -eq 0 ] && ok || bad "verify-export of the service's export: $out"
grep -qF "clip.mp4" out/clip.mp4.manifest && ok || bad "the manifest names clip.mp4"

# --- progress_through_the_service: a client on a terminal (script) gets the
# export's progress line from the child, which runs on a pty for it ---
mkdir -m 700 tty
chown "$(svc_user pros)" tty
script -qfec "$(printf '%q ' setpriv --reuid="$(svc_user pros)" --regid="$(id -g "$(svc_user pros)")" \
    --init-groups --reset-env -- env "${SVC_SAN[@]}" TELLONCE_TEST_FAST_KDF=1 TERM=xterm \
    "$SVC_BIN" --socket "$SVC_SOCKET" export "2026-S-11" --session "$s1" --from 2 --to 10 \
    --watermark -o tty/clip.mp4 "${P[@]}")" tty.txt </dev/null >/dev/null 2>&1 &
tty_pid=$!
wait_for 300 "the export's progress line through the service" \
    "tr '\\r' '\\n' 2>/dev/null <tty.txt | grep -E '[0-9]+%' | grep -q remaining" "$tty_pid" && ok
wait "$tty_pid"; rc=$?
[ $rc -eq 0 ] && ok || bad "progress_through_the_service: exit $rc: $(tail -c 400 tty.txt)"
(cd tty && as pros sha256sum -c clip.mp4.sha256 >/dev/null 2>&1) && ok ||
    bad "progress_through_the_service: no checksum file that checks: $(ls -A tty)"

# --- export_never_writes_a_path_for_a_client: a raw client (not tellonce's)
# that asks for -o PATH instead of passing its file would have the child,
# which runs as the vault's owner, write where that user may: refused
# before anything is logged ---
g0=$(granted)
out=$(as pros /usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" ask export "2026-S-11" \
    --session "$s1" --from 4 --to 8 -o "$SVC_DIR/home/planted.mp4" --as "Per Prosecutor" \
    --passphrase-file "$SVC_DIR/pros.pass" 2>&1)
rc=$?
[ $rc -eq 2 ] && ok || bad "export_never_writes_a_path_for_a_client: exit $rc: $out"
contains "$out" "opens no file for a client" "export_never_writes_a_path_for_a_client: the reason"
[ ! -e "$SVC_DIR/home/planted.mp4" ] && [ ! -e "$SVC_DIR/home/planted.mp4.manifest" ] && ok ||
    bad "export_never_writes_a_path_for_a_client: the service wrote $(ls "$SVC_DIR/home")"
[ "$(granted)" -eq "$g0" ] && ok || bad "export_never_writes_a_path_for_a_client: an access was logged"

# --- the client killed mid-way: nothing at the path, ever ---
mkdir -m 700 killed
chown "$(svc_user pros)" killed
g0=$(granted)
(client_exec pros export "2026-S-11" --session "$s1" --from 2 --to 10 --watermark \
    -o killed/clip.mp4 "${P[@]}" </dev/null >kill.out 2>kill.err) &
client=$!
wait_for 120 "the killed export's access entry" '[ "$(granted)" -gt "$g0" ]' "$client"
[ -z "$(ls -A killed)" ] && ok || bad "the folder held $(ls -A killed) while the export ran"
kill -9 "$client"
wait "$client" 2>/dev/null
# The service's child goes on or stops; either way, wait until it is gone.
wait_for 120 "the export's child to end" '[ -z "$(pgrep -P "$SVC_PID")" ]'
[ -z "$(ls -A killed)" ] && ok || bad "a killed export left $(ls -A killed)"

svc_stop || bad "the service did not stop cleanly: $(tail -5 "$SVC_DIR/service.log")"
echo "service_clip: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
