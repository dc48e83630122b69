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
SVC_ENV="TELLONCE_TEST_NONCE_TTL_MS=400 TELLONCE_TEST_LOGIN_MS=4000"
svc_start
refusals() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 43"; }

# --- enrolment: the administrator never knows the prosecutor's passphrase ---
code_of() { grep -oE '[2-9A-HJ-NP-Z]{4}(-[2-9A-HJ-NP-Z]{4}){3}' <<<"$1" | head -1; }
err=$(tlo_as adm user add "Wang Fang" --role prosecutor --as "Anna Admin" \
    --passphrase-file admin.pass --new-passphrase-file pros.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the service let the administrator set a passphrase"
contains "$err" "does not let an administrator set" "an administrator-set passphrase is refused"
out=$(tlo_as adm user add "Wang Fang" --role prosecutor --as "Anna Admin" \
    --passphrase-file admin.pass 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "user add through the service: $out"
code=$(code_of "$out")
[ -n "$code" ] && ok || bad "user add printed no enrolment code: $out"
printf '%s\n' "$code" >code.txt
chmod 600 code.txt
chown "$(svc_user pros)" code.txt
# the prosecutor, from their own OS account, sets their own passphrase
out=$(tlo_as pros user activate "Wang Fang" --code-file code.txt --new-passphrase-file pros.pass \
    2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "user activate through the service: $out"
# the administrator, who saw the code, cannot act as the prosecutor afterwards
chmod 644 code.txt
out=$(tlo_as adm case list --as "Wang Fang" --passphrase-file code.txt 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the administrator acted as the prosecutor with the code"
out=$(tlo_as adm user activate "Wang Fang" --code-file code.txt --new-passphrase-file admin.pass \
    2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the code worked twice"
# a passphrase change, through the service
printf 'prosecutor-passphrase-2\n' >pros2.pass
chmod 644 pros2.pass
out=$(tlo_as pros passwd --as "Wang Fang" --passphrase-file pros.pass --new-passphrase-file pros2.pass \
    2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "passwd through the service: $out"
out=$(tlo_as pros case list --as "Wang Fang" --passphrase-file pros.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the old passphrase still works after passwd"
cp pros2.pass pros.pass
out=$(tlo_as pros case list --as "Wang Fang" --passphrase-file pros.pass 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "the new passphrase does not work after passwd: $out"

# --- a refusal by the roles table, through the service: logged, with the client ---
n44() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 44"; }
before=$(n44)
err=$(tlo_as pros user revoke "Anna Admin" --as "Wang Fang" --passphrase-file pros.pass 2>&1 </dev/null)
[ $? -eq 1 ] && ok || bad "a prosecutor revoking someone through the service: $err"
contains "$err" "may not enrol or revoke a person" "the table's refusal, through the service"
[ "$(n44)" -eq $((before + 1)) ] && ok || bad "the table's refusal was not logged through the service"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 44 ORDER BY seq DESC LIMIT 1")
contains "$body" "client_uid=$(id -u "$(svc_user pros)")" "the action-refused entry names the client's uid"
contains "$body" "action=user add, user revoke, user reissue" "the action-refused entry names the action"

# --- the entries the service makes name the client's uid and pid ---
adm_uid=$(id -u "$(svc_user adm)")
# (setpriv and env exec: $! is the tellonce client's own pid)
setpriv --reuid="$(svc_user adm)" --regid="$(id -g "$(svc_user adm)")" --init-groups --reset-env \
    -- env "${SVC_SAN[@]}" TELLONCE_TEST_FAST_KDF=1 "$SVC_BIN" --socket "$SVC_SOCKET" case open CASE-SVC-1 \
    --as "Anna Admin" --passphrase-file admin.pass </dev/null >case.out 2>&1 &
client=$!
wait $client || bad "case open through the service: $(cat case.out)"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 10 ORDER BY seq DESC LIMIT 1")
contains "$body" "client_uid=$adm_uid" "case-open entry names the client's uid"
contains "$body" "client_pid=$client" "case-open entry names the client's pid"
# case_view_names_client: the case-view entries of 'case list --as' (one
# append for many cases) carry the client's uid too.
out=$(tlo_as pros case list --as "Wang Fang" --passphrase-file pros.pass 2>&1 </dev/null)
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 11 ORDER BY seq DESC LIMIT 1")
contains "$body" "client_uid=$(id -u "$(svc_user pros)")" "case_view_names_client: $out"


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

# --- a wrong passphrase (no signature can be made): refused and logged as
# unlock-failed (kind 45, issue 13), with the client's uid ---
failed_unlocks() { svc_ledger "SELECT count(*) FROM entries WHERE kind = 45"; }
before=$(failed_unlocks)
printf 'not-the-passphrase-at-all\n' >wrong.pass
chmod 644 wrong.pass
out=$(tlo_as pros case show CASE-SVC-1 --as "Wang Fang" --passphrase-file wrong.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "a wrong passphrase was accepted"
contains "$out" "wrong passphrase for Wang Fang" "a wrong passphrase names the person"
[ "$(failed_unlocks)" -eq $((before + 1)) ] && ok || bad "a wrong passphrase was not logged"
body=$(svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 45 ORDER BY seq DESC LIMIT 1")
contains "$body" "command=case" "the failed unlock names the command"
contains "$body" "client_uid=$(id -u "$(svc_user pros)")" "the failed unlock names the uid"
# three tries on the client's terminal (the child reads the service's pty)
cp "$here/../cli/pty_answer.py" pty_answer.py
printf 'wrong one\nwrong two\nwrong three\n' >three.txt
chmod 644 pty_answer.py three.txt
before=$(failed_unlocks)
out=$(as pros python3 pty_answer.py "Passphrase for" three.txt -- "$SVC_BIN" --socket "$SVC_SOCKET" \
    case show CASE-SVC-1 --as "Wang Fang" </dev/null)
got=$?
[ "$got" -ne 0 ] && [ "$got" -ne 124 ] && ok || bad "three tries through the service: exit $got: $out"
[ "$(grep -c "Passphrase for Wang Fang" <<<"$out")" = 3 ] && ok ||
    bad "three tries through the service: not asked three times: $out"
[ "$(failed_unlocks)" -eq $((before + 3)) ] && ok ||
    bad "three tries through the service: $(($(failed_unlocks) - before)) logged, expected 3"
printf 'wrong one\nprosecutor-passphrase-2\n' >two.txt
chmod 644 two.txt
out=$(as pros python3 pty_answer.py "Passphrase for" two.txt -- "$SVC_BIN" --socket "$SVC_SOCKET" \
    case list --as "Wang Fang" </dev/null)
[ $? -eq 0 ] && ok || bad "the second try through the service: $out"

# a wrong passphrase at login (a read-only command) is logged as well
before=$(failed_unlocks)
out=$(tlo_as pros login --as "Wang Fang" --passphrase-file wrong.pass 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "login with a wrong passphrase: $out"
contains "$out" "logged as entry" "login with a wrong passphrase: logged"
[ "$(failed_unlocks)" -eq $((before + 1)) ] && ok || bad "login with a wrong passphrase: not logged"

# --- a login: asked once, then not, for this OS user only, until logout ---
out=$(tlo_as pros login --as "Wang Fang" --passphrase-file pros.pass 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "login: $out"
contains "$out" "Logged in as Wang Fang for 10 minute(s)" "login says for how long"
out=$(tlo_as pros case list --as "Wang Fang" 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "a command after login asked again: $out"
out=$(tlo_as adm case list --as "Wang Fang" 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "another OS user used the prosecutor's login"
err=$(tlo_as pros login --as "Wang Fang" --minutes 11 2>&1 </dev/null)
[ $? -eq 2 ] && ok || bad "a login of 11 minutes was taken"
out=$(tlo_as pros logout 2>&1 </dev/null)
contains "$out" "Logged out" "logout"
out=$(tlo_as pros case list --as "Wang Fang" 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "the login outlived logout"
contains "$out" "no passphrase" "after logout the passphrase is asked"

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

# --- a login ends by itself (here after 4 s: TELLONCE_TEST_LOGIN_MS) ---
tlo_as pros login --as "Wang Fang" --passphrase-file pros.pass </dev/null >/dev/null 2>&1 ||
    bad "second login"
logged_in() { tlo_as pros case list --as "Wang Fang" </dev/null >/dev/null 2>&1; }
logged_in && ok || bad "the second login did not hold"
wait_for 60 "the login to expire" '! logged_in' && ok

# --- the service opens no path for a client (a confused deputy could read or
# overwrite the vault): a raw request naming the custodian's secret as a
# passphrase file, an output into the vault ---
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" ask case list --as "Anna Admin" \
    --passphrase-file "$SVC_VAULT/custodian.secret" 2>&1)
[ $? -eq 2 ] && ok || bad "the service opened a path a client named: $err"
contains "$err" "opens no file for a client" "a path from a client is refused"
err=$(tlo_as adm checkpoint -o "$SVC_VAULT/ledger.db" 2>&1 </dev/null)
[ $? -eq 2 ] && ok || bad "checkpoint -o through the service was not refused"
contains "$err" "leave -o out" "checkpoint -o says what to do instead"
err=$(tlo_as adm verify --checkpoints "$SVC_VAULT/checkpoints" 2>&1 </dev/null)
[ $? -eq 2 ] && ok || bad "verify --checkpoints through the service was not refused"
err=$(/usr/bin/python3 "$here/svc_client.py" "$SVC_SOCKET" ask log --vault /tmp 2>&1)
[ $? -eq 2 ] && ok || bad "--vault from a raw client was not refused: $err"
out=$(svc_ledger "SELECT count(*) FROM entries")
as_service verify --vault "$SVC_VAULT" >/dev/null 2>&1 && ok || bad "the vault was damaged by a client's path"

# --- the same, as getopt_long would read them: abbreviated long options,
# a short option with its value attached ---
cp "$here/svc_client.py" "$SVC_DIR/svc_client.py"
chmod 644 "$SVC_DIR/svc_client.py"
raw() { /usr/bin/python3 "$SVC_DIR/svc_client.py" "$SVC_SOCKET" "$@"; }
err=$(raw ask prove --entry 0 "-o$SVC_VAULT/planted" 2>&1)
[ $? -eq 2 ] && [ ! -e "$SVC_VAULT/planted" ] && ok || bad "prove -oPATH wrote as the service: $err"
err=$(raw ask checkpoint --pub "$SVC_DIR/pub" 2>&1)
[ $? -eq 2 ] && [ ! -e "$SVC_DIR/pub" ] && ok || bad "checkpoint --pub (abbreviated) ran: $err"
err=$(raw ask case list --as "Anna Admin" "--passphrase-f=$SVC_DIR/svc.pass" 2>&1)
[ $? -eq 2 ] && ok || bad "--passphrase-f= (abbreviated) was opened by the service: $err"
# --- a handed-over descriptor is checked: an O_PATH one (which opens nothing
# itself) of a file only the service may read, refused ---
as_service case list --as "Anna Admin" --passphrase-file admin.pass --vault "$SVC_VAULT" \
    >/dev/null 2>&1 || bad "case list as the service"
install -m 600 -o "$SVC_SERVICE" admin.pass "$SVC_DIR/svc.pass"
as pros /bin/cat "$SVC_DIR/svc.pass" >/dev/null 2>&1 && bad "the test's service-only file is readable"
err=$(as pros /usr/bin/python3 "$SVC_DIR/svc_client.py" "$SVC_SOCKET" opath "$SVC_DIR/svc.pass" 5 \
    case list --as "Anna Admin" --passphrase-file X 2>&1)
[ $? -eq 2 ] && ok || bad "an O_PATH descriptor was used as a passphrase file: $err"
contains "$err" "not an open regular file" "O_PATH: the reason"
# 17 named files where 16 and a passphrase were announced; an argument index
# past every argument: refused, the child intact
before=$(refusals)
err=$(raw named17 case list 2>&1)
[ $? -ne 0 ] && ok || bad "17 named files were taken: $err"
err=$(raw bigidx case list 2>&1)
[ $? -eq 2 ] && ok || bad "a file for argument 4294967295 was taken: $err"
contains "$err" "a file for no argument" "bigidx: the reason"
[ "$(refusals)" -ge $((before + 2)) ] && ok || bad "the malformed file frames were not logged"
out=$(tlo_as adm user list 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "the service after malformed frames: $out"
# a request sent one byte every 2 s is cut off (one deadline for the whole
# request, 10 s after the nonce's life here), not kept for ever
out=$(raw trickle log 2>&1)
secs=$(sed -n 's/^closed after \([0-9]*\) s$/\1/p' <<<"$out")
[ -n "$secs" ] && [ "$secs" -le 30 ] && ok || bad "a trickling request was kept: $out"
# --- a login cannot renew itself without the passphrase ---
tlo_as pros login --as "Wang Fang" --passphrase-file pros.pass </dev/null >/dev/null 2>&1 ||
    bad "login for the renewal check"
err=$(tlo_as pros login --as "Wang Fang" 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "a login renewed itself without the passphrase"
tlo_as pros logout </dev/null >/dev/null 2>&1
# --- one OS user cannot take every slot of the service ---
as pros /usr/bin/python3 "$SVC_DIR/svc_client.py" "$SVC_SOCKET" hold 16 >hold.out 2>&1 &
holder=$!
wait_for 60 "16 held connections" 'grep -q "holding 16" hold.out' "$holder"
err=$(tlo_as pros log 2>&1 </dev/null)
[ $? -ne 0 ] && ok || bad "a 17th request of the same uid was served"
contains "$err" "requests open in the service already" "the 17th request: the reason"
out=$(tlo_as adm log 2>&1 </dev/null)
[ $? -eq 0 ] && ok || bad "another user was not served while one held 16: $out"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

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
