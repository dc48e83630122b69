#!/usr/bin/env bash
# The custodian service (docs/service.md): the boundary between OS users.
# Run as root: makes its own OS users, starts `tellonce custodian run` in the
# foreground as the service's user, and uses tellonce as the others.
# usage: test_service.sh TELLONCE_BINARY TESTS_DIR
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
svc_setup adm pros
svc_outsider out
cd "$SVC_DIR" || exit 1
printf 'prosecutor-passphrase-1\n' >pros.pass
chmod 644 pros.pass
SVC_ENV="TELLONCE_TEST_NONCE_TTL_MS=400"
svc_start
refusals() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 43"; }

# --- the administrator enrols a prosecutor, through the service ---
out=$(tlo_as adm user add "Wang Fang" --role prosecutor --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file pros.pass 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "user add through the service: $out"
contains "$out" "Enrolled Wang Fang (prosecutor)" "user add output"

# --- the entries the service makes name the client's uid and pid ---
adm_uid=$(id -u "$(svc_user adm)")
# (setpriv and env exec: $! is the tellonce client's own pid)
setpriv --reuid="$(svc_user adm)" --regid="$(id -g "$(svc_user adm)")" --init-groups --reset-env \
    -- env TELLONCE_TEST_FAST_KDF=1 "$SVC_BIN" --socket "$SVC_SOCKET" case open CASE-SVC-1 \
    --as "Anna Admin" --passphrase-file admin.pass </dev/null >case.out 2>&1 &
client=$!
wait $client || bad "case open through the service: $(cat case.out)"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 10 ORDER BY seq DESC LIMIT 1")
contains "$body" "client_uid=$adm_uid" "case-open entry names the client's uid"
contains "$body" "client_pid=$client" "case-open entry names the client's pid"

# --- every file of the vault is closed to the prosecutor's OS user ---
files=$(find "$SVC_VAULT" -mindepth 0)
n=0 open_ok=0
while IFS= read -r f; do
    n=$((n + 1))
    if as pros /usr/bin/test -r "$f" || as pros /bin/cat "$f" >/dev/null 2>&1; then
        open_ok=$((open_ok + 1))
        bad "the prosecutor's OS user can read $f"
    fi
done <<<"$files"
[ "$n" -ge 5 ] && [ "$open_ok" -eq 0 ] && ok || bad "vault scan: $n files, $open_ok readable"
err=$(as pros "$SVC_BIN" log --vault "$SVC_VAULT" 2>&1 >/dev/null)
[ $? -ne 0 ] && ok || bad "the prosecutor read the vault without the service"
contains "$err" "It belongs to the custodian service" "embedded open of a vault not one's own says why"
# ...yet the log, through the service, is theirs to read
out=$(tlo_as pros log 2>&1 </dev/null)
contains "$out" "case-open" "log through the service"

# --- a wrong passphrase (no signature can be made): refused and logged ---
before=$(refusals)
printf 'not-the-passphrase-at-all\n' >wrong.pass
chmod 644 wrong.pass
out=$(tlo_as pros case show CASE-SVC-1 --as "Wang Fang" --passphrase-file wrong.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "a wrong passphrase was accepted"
[ "$(refusals)" -eq $((before + 1)) ] && ok || bad "a wrong passphrase was not logged"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 43 ORDER BY seq DESC LIMIT 1")
contains "$body" "reason=wrong passphrase for Wang Fang" "the refusal says why"
contains "$body" "client_uid=$(id -u "$(svc_user pros)")" "the refusal names the uid"

# --- a replayed nonce, a stale request: refused and logged ---
before=$(refusals)
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" replay log 2>&1)
[ $? -ne 0 ] && ok || bad "a replayed nonce was accepted"
contains "$err" "a replayed or forged request" "replayed nonce: the reason"
[ "$(refusals)" -eq $((before + 1)) ] && ok || bad "the replayed nonce was not logged"
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" stale 1500 log 2>&1)
[ $? -ne 0 ] && ok || bad "a stale request was accepted"
contains "$err" "a stale request" "stale request: the reason"
[ "$(refusals)" -eq $((before + 2)) ] && ok || bad "the stale request was not logged"
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" ask log 2>&1)
[ $? -eq 0 ] && ok || bad "a proper raw request was refused: $err"
# a command the service does not run
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" ask object open x 2>&1)
[ $? -eq 2 ] && ok || bad "the service ran 'object': $err"
contains "$err" "does not run through the custodian service" "object is refused"

# --- a uid outside the group ---
err=$(tlo_as out log 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "a user outside the group used the service"
contains "$err" "not in its group" "outsider: the socket's mode stops them"
# with the socket opened to everyone, the service's own check still holds
before=$(refusals)
chmod 666 "$SVC_SOCKET"
chmod 755 "$SVC_DIR/run"
err=$(tlo_as out log 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the service served a uid outside its group"
contains "$err" "is not in the group" "outsider: the service says why"
[ "$(refusals)" -eq $((before + 1)) ] && ok || bad "the outsider was not logged"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 43 ORDER BY seq DESC LIMIT 1")
contains "$body" "client_uid=$(id -u "$(svc_user out)")" "the outsider's uid is logged"
chmod 660 "$SVC_SOCKET"
chmod 750 "$SVC_DIR/run"

# --- SIGTERM ends the service cleanly; the vault verifies ---
svc_stop && ok || bad "the service did not end cleanly on SIGTERM"
[ ! -e "$SVC_SOCKET" ] && ok || bad "the socket was left behind"
out=$(as_service verify --vault "$SVC_VAULT" 2>&1)
[ $? -eq 0 ] && ok || bad "verify after the service: $out"
grep -q "serving the vault" "$SVC_DIR/service.log" && ok || bad "service log: $(cat "$SVC_DIR/service.log")"

echo "service: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
