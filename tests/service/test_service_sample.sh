#!/usr/bin/env bash
# tellonce sample through the custodian service (docs/samples.md): medical
# staff and a prosecutor, each as their own OS user who can open no file of
# the vault, register, hand over and receive a sample; each entry names the
# person and the client's uid; a receipt by the wrong person is refused and
# logged; list, show --json and verify run through the socket too. Run as
# root (it makes OS users); outside CI it skips (77) when not root.
# usage: test_service_sample.sh TELLONCE_BINARY TESTS_DIR
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
svc_setup med pros
cd "$SVC_DIR" || exit 1
printf 'medical-passphrase-1\n' >med.pass
printf 'prosecutor-passphrase-1\n' >pros.pass
printf 'interviewer-passphrase-1\n' >ivan.pass
chmod 644 med.pass pros.pass ivan.pass
med_uid=$(id -u "$(svc_user med)")
newest() { svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = $1 ORDER BY seq DESC LIMIT 1"; }
count_kind() { svc_ledger "SELECT count(*) FROM entries WHERE kind = $1"; }
# run NAME ARGS...: tellonce through the service as that OS user; sets out, err, rc
run() {
    local who=$1
    shift
    tlo_as "$who" "$@" >out.txt 2>err.txt </dev/null
    rc=$?
    out=$(cat out.txt) err=$(cat err.txt)
}

A=(--as "Anna Admin" --passphrase-file "$SVC_DIR/admin.pass" --vault "$SVC_VAULT")
as_service user add "王医生" --role medical "${A[@]}" --new-passphrase-file "$SVC_DIR/med.pass" >/dev/null ||
    bad "user add medical"
as_service user add "李检察官" --role prosecutor "${A[@]}" --new-passphrase-file "$SVC_DIR/pros.pass" >/dev/null ||
    bad "user add prosecutor"
as_service user add "Ivan Interviewer" --role interviewer "${A[@]}" --new-passphrase-file "$SVC_DIR/ivan.pass" >/dev/null ||
    bad "user add interviewer"
as_service case open "2026-S-12" --as "Ivan Interviewer" --passphrase-file "$SVC_DIR/ivan.pass" \
    --vault "$SVC_VAULT" >/dev/null || bad "case open"
svc_start

run med sample register 2026-S-12 --label S-001 --kind blood --seal-number 880012 --as "王医生" --passphrase-file med.pass
[ "$rc" = 0 ] && ok || bad "register through the service: exit $rc: $err"
contains "$(newest 53)" "client_uid=$med_uid" "register: the entry names the client's uid"
contains "$(newest 53)" "label=S-001" "register: logged"
run med sample transfer 2026-S-12 S-001 --to "李检察官" --place "Forensic lab, front desk" --as "王医生" --passphrase-file med.pass
[ "$rc" = 0 ] && ok || bad "transfer through the service: exit $rc: $err"
tseq=$(svc_ledger "SELECT max(seq) FROM entries WHERE kind = 51")
run pros sample list 2026-S-12 --json
[ "$rc" = 0 ] && ok || bad "list through the service: exit $rc: $err"
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if d[0]["state"]=="in transfer" and d[0]["in_transfer_to"]["person"]=="李检察官" else 1)' &&
    ok || bad "list: not in transfer: $out"
refused=$(count_kind 44)
run med sample receive 2026-S-12 S-001 --as "王医生" --passphrase-file med.pass
[ "$rc" = 1 ] && ok || bad "receive by the wrong person: exit $rc, expected 1: $err"
contains "$err" "refused: 王医生 (medical) may not sign for a sample" "receive by the wrong person: message"
[ "$(count_kind 44)" = $((refused + 1)) ] && ok || bad "receive by the wrong person: not logged"
contains "$(newest 44)" "action=sample receive" "receive by the wrong person: logged action"
[ "$(count_kind 54)" = 0 ] && ok || bad "receive by the wrong person: a receipt was logged"
run pros sample receive 2026-S-12 S-001 --seal-intact yes --as "李检察官" --passphrase-file pros.pass
[ "$rc" = 0 ] && ok || bad "receive through the service: exit $rc: $err"
contains "$(newest 54)" "transfer=$tseq" "receive: names the transfer"
run pros sample show 2026-S-12 S-001 --json
[ "$rc" = 0 ] && ok || bad "show through the service: exit $rc: $err"
python3 -c 'import json,sys; d=json.load(open("out.txt")); sys.exit(0 if d["state"]=="held" and [s["by"]["person"] for s in d["chain"]]==["王医生","王医生","李检察官"] and d["chain"][1]["place"]=="Forensic lab, front desk" else 1)' &&
    ok || bad "show --json: $out"
# report_through_service: the report is written by the service into files the
# client made in its own folder (linked there after exit 0), owned by the client.
mkdir -m 777 out && chown "$(svc_user pros)" out
run pros report 2026-S-12 -o "$SVC_DIR/out/r.html" --json "$SVC_DIR/out/r.json"
[ "$rc" = 0 ] && ok || bad "report_through_service: exit $rc: $out $err"
grep -q "Custody report" out/r.html 2>/dev/null && ok || bad "report_through_service: no report at out/r.html"
python3 -c 'import json; d=json.load(open("out/r.json")); assert d["samples"], d' 2>/dev/null && ok ||
    bad "report_through_service: the JSON has no samples"
[ "$(stat -c %U out/r.html 2>/dev/null)" = "$(svc_user pros)" ] && ok || bad "report_through_service: not the client's file"
run pros report 2026-S-12 -o "$SVC_DIR/out/r.html"
[ "$rc" != 0 ] && ok || bad "report_through_service: an existing file was overwritten"
run pros verify
[ "$rc" = 0 ] && ok || bad "verify through the service: exit $rc: $out $err"
svc_stop || bad "the service did not stop cleanly"
echo "passed=$passed failed=$failed"
[ "$failed" -eq 0 ]
