#!/usr/bin/env bash
# tellonce sample (docs/samples.md): the custody of physical samples, each
# check named:
#   full_chain                  medical -> prosecutor office, both signatures
#   pending_stays_in_transfer   a transfer without the receipt: list, show, --json
#   transfer_while_in_transfer  refused with what to do (receive first)
#   receive_by_wrong_person     refused, logged as action-refused, nothing else
#   transfer_by_non_holder      refused, logged
#   register_by_non_medical     refused, logged
#   transfer_to_auditor         refused: an auditor never holds a sample
#   broken_seal_shown           --seal-intact no: list, show, --json
#   dispose_then_nothing        nothing follows a disposal
#   duplicate_label             refused, nothing appended
#   one_command_at_a_time       refused while another holds the case's sample lease
#   bounded_inputs              labels, seals, kinds, places, reasons out of bounds
#   note_reference              --note by number and id prefix, only a note of the case
#   verify_passes               verify after all of the above
#   many_handovers              10,001 entries of one sample stop nothing (finding 2)
#   report_*                    the report honours what list and verify do (finding 4)
#   transfer_to_revoked, _custodian  the words for who may never hold one (finding 8)
#   refusal_message_whole       a long name keeps "logged as entry N" (finding 7)
#   forged_*                    entries no verb would make (signed by the person's
#                               own key, appended directly) fail verify, naming the
#                               entry, and are not honoured by list
# usage: test_sample.sh TELLONCE_BINARY SAMPLE_FORGE_BINARY
set -u
tlo=$1
forge=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-sample.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault" TZ=Asia/Shanghai
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_SOCKET
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() {
    local want=$1 what=$2
    shift 3
    "$@" >out.txt 2>err.txt </dev/null
    local got=$?
    err=$(cat err.txt) out=$(cat out.txt)
    if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err; stdout: $out"; fi
}
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' in: $1"; else ok; fi; }
db() { sqlite3 -cmd ".timeout 5000" "${DB:-vault/ledger.db}" "$1"; }
entries() { db "SELECT count(*) FROM entries"; }
newest() { db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = $1 ORDER BY seq DESC LIMIT 1"; }
count_kind() { db "SELECT count(*) FROM entries WHERE kind = $1"; }
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
json() { python3 -c "import json,sys; d=json.load(open('out.txt')); sys.exit(0 if ($1) else 1)"; }

echo 'admin secret' >admin.pass
echo 'person secret 1' >p.pass
"$tlo" init --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
for u in "王医生:medical" "Mia Medic:medical" "李检察官:prosecutor" "Ivan Interviewer:interviewer" \
    "Aude Auditor:auditor"; do
    "$tlo" user add "${u%%:*}" --role "${u##*:}" --as "Anna Admin" --passphrase-file admin.pass \
        --new-passphrase-file p.pass >/dev/null || bad "user add ${u%%:*}"
done
"$tlo" case open C-1 --as "Ivan Interviewer" --passphrase-file p.pass >/dev/null || bad "case open"
case_hex=$(db "SELECT hex(case_id) FROM entries WHERE kind = 10" | tr 'A-F' 'a-f')
pk_of() { db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 2 AND instr(CAST(body AS TEXT), 'name=$1') > 0" | sed -n 's/^pk=//p'; }
actor_of_seq() { db "SELECT hex(actor) FROM entries WHERE seq = $1" | tr 'A-F' 'a-f'; }
sha() { python3 -c "import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1])).hexdigest())" "$1"; }
M=(--passphrase-file p.pass)

# --- full_chain ---
expect 0 "full_chain: register" -- "$tlo" sample register C-1 --label S-001 --kind swab \
    --seal-number A-1234/5 --as "王医生" "${M[@]}"
contains "$out" "Sample S-001 (swab, seal A-1234/5) of case C-1 registered as entry" "full_chain: register output"
reg_seq=$(db "SELECT max(seq) FROM entries WHERE kind = 53")
[ "$(actor_of_seq "$reg_seq")" = "$(sha "$(pk_of 王医生)")" ] && ok || bad "full_chain: the register entry is not signed by 王医生"
[ "$(newest 53)" = $'label=S-001\nsample_kind=swab\nseal_number=A-1234/5' ] && ok || bad "full_chain: register body: $(newest 53)"
expect 0 "full_chain: transfer" -- "$tlo" sample transfer C-1 S-001 --to "李检察官" \
    --place "Evidence room, District Prosecutor's Office" --as "王医生" "${M[@]}"
contains "$out" "in transfer until 李检察官 runs 'tellonce sample receive C-1 S-001'" "full_chain: transfer output"
tr_seq=$(db "SELECT max(seq) FROM entries WHERE kind = 51")
[ "$(newest 51)" = $'label=S-001\nplace=Evidence room, District Prosecutor\'s Office\nto='"$(pk_of 李检察官)"$'\nto_name=李检察官' ] &&
    ok || bad "full_chain: transfer body: $(newest 51)"

# --- pending_stays_in_transfer ---
expect 0 "pending_stays_in_transfer: list" -- "$tlo" sample list C-1
contains "$out" "in transfer to 李检察官 (prosecutor)" "pending_stays_in_transfer: list"
contains "$out" "from 王医生 (medical): not yet received" "pending_stays_in_transfer: list holder"
expect 0 "pending_stays_in_transfer: show" -- "$tlo" sample show C-1 S-001
contains "$out" "State: in transfer to 李检察官 (prosecutor) since" "pending_stays_in_transfer: show"
contains "$out" "+08:00 (entry $tr_seq)" "pending_stays_in_transfer: local time with offset"
expect 0 "pending_stays_in_transfer: list --json" -- "$tlo" sample list C-1 --json
json 'd[0]["state"]=="in transfer" and d[0]["in_transfer_to"]["person"]=="李检察官" and d[0]["holder"]["person"]=="王医生" and d[0]["transfer_entry"]=='"$tr_seq" &&
    ok || bad "pending_stays_in_transfer: list --json: $out"
expect 0 "pending_stays_in_transfer: show --json" -- "$tlo" sample show C-1 S-001 --json
json 'd["state"]=="in transfer" and [s["action"] for s in d["chain"]]==["register","transfer"] and d["since"].endswith("+08:00")' &&
    ok || bad "pending_stays_in_transfer: show --json: $out"

# --- transfer_while_in_transfer ---
n=$(entries)
expect 2 "transfer_while_in_transfer" -- "$tlo" sample transfer C-1 S-001 --to "Mia Medic" --as "王医生" "${M[@]}"
contains "$err" "S-001 is in transfer to 李检察官 since" "transfer_while_in_transfer: message"
contains "$err" "they must run 'tellonce sample receive' first" "transfer_while_in_transfer: what to do"
expect 2 "dispose_while_in_transfer" -- "$tlo" sample dispose C-1 S-001 --reason x --as "王医生" "${M[@]}"
contains "$err" "is in transfer to 李检察官" "dispose_while_in_transfer: message"
[ "$(entries)" = "$n" ] && ok || bad "transfer_while_in_transfer: entries appended"

# --- receive_by_wrong_person ---
refused=$(count_kind 44)
expect 1 "receive_by_wrong_person" -- "$tlo" sample receive C-1 S-001 --as "Mia Medic" "${M[@]}"
contains "$err" "refused: Mia Medic (medical) may not sign for a sample" "receive_by_wrong_person: message"
contains "$err" "(S-001 was handed to 李检察官 in entry $tr_seq)" "receive_by_wrong_person: who may"
contains "$err" "The refusal is logged as entry $(db "SELECT max(seq) FROM entries WHERE kind = 44")." "receive_by_wrong_person: says the entry"
[ "$(count_kind 44)" = $((refused + 1)) ] && ok || bad "receive_by_wrong_person: no action-refused entry"
contains "$(newest 44)" "action=sample receive" "receive_by_wrong_person: logged action"
contains "$(newest 44)" "actor=$(pk_of 'Mia Medic')" "receive_by_wrong_person: logged actor"
[ "$(db "SELECT hex(case_id) FROM entries WHERE kind = 44 ORDER BY seq DESC LIMIT 1" | tr 'A-F' 'a-f')" = "$case_hex" ] &&
    ok || bad "receive_by_wrong_person: the refusal names no case"
[ "$(count_kind 54)" = 0 ] && ok || bad "receive_by_wrong_person: a receipt was logged"

expect 0 "full_chain: receive" -- "$tlo" sample receive C-1 S-001 --as "李检察官" "${M[@]}"
contains "$out" "received by 李检察官" "full_chain: receive output"
rc_seq=$(db "SELECT max(seq) FROM entries WHERE kind = 54")
[ "$(actor_of_seq "$rc_seq")" = "$(sha "$(pk_of 李检察官)")" ] && ok || bad "full_chain: the receipt is not signed by 李检察官"
[ "$(newest 54)" = $'label=S-001\nseal_intact=yes\ntransfer='"$tr_seq" ] && ok || bad "full_chain: receive body: $(newest 54)"
expect 0 "full_chain: show" -- "$tlo" sample show C-1 S-001
contains "$out" "State: held by 李检察官 (prosecutor) since" "full_chain: held by the prosecutor"
contains "$out" "registered by 王医生 (medical)" "full_chain: show register"
contains "$out" "handed over by 王医生 (medical) to 李检察官 (prosecutor), at \"Evidence room, District Prosecutor's Office\"" "full_chain: show transfer"
contains "$out" "received by 李检察官 (prosecutor) (of entry $tr_seq), seal intact" "full_chain: show receive"
lacks "$out" "BROKEN" "full_chain: no broken seal"
expect 0 "full_chain: show --json" -- "$tlo" sample show C-1 S-001 --json
json 'd["state"]=="held" and d["holder"]["person"]=="李检察官" and d["holder"]["roles"]==["prosecutor"] and [s["by"]["person"] for s in d["chain"]]==["王医生","王医生","李检察官"] and d["chain"][1]["to"]["person"]=="李检察官" and d["chain"][2]["seal_intact"] is True and not d["seal_broken"]' &&
    ok || bad "full_chain: show --json: $out"

# --- transfer_by_non_holder ---
refused=$(count_kind 44)
n=$(count_kind 51)
expect 1 "transfer_by_non_holder" -- "$tlo" sample transfer C-1 S-001 --to "Mia Medic" --as "王医生" "${M[@]}"
contains "$err" "refused: 王医生 (medical) may not hand a sample over" "transfer_by_non_holder: message"
contains "$err" "(李检察官 holds S-001)" "transfer_by_non_holder: who holds it"
[ "$(count_kind 44)" = $((refused + 1)) ] && ok || bad "transfer_by_non_holder: not logged"
contains "$(newest 44)" "action=sample transfer" "transfer_by_non_holder: logged action"
[ "$(count_kind 51)" = "$n" ] && ok || bad "transfer_by_non_holder: a transfer was logged"

# --- register_by_non_medical ---
refused=$(count_kind 44)
expect 1 "register_by_non_medical" -- "$tlo" sample register C-1 --label S-009 --kind blood \
    --seal-number 9 --as "李检察官" "${M[@]}"
contains "$err" "may not register a sample: only medical staff may" "register_by_non_medical: message"
contains "$err" "The refusal is logged as entry" "register_by_non_medical: says it is logged"
[ "$(count_kind 44)" = $((refused + 1)) ] && ok || bad "register_by_non_medical: not logged"
contains "$(newest 44)" "action=sample register" "register_by_non_medical: logged action"
[ "$(count_kind 53)" = 1 ] && ok || bad "register_by_non_medical: registered"
# the three refusals as 'tellonce log' shows them
expect 0 "refusals in the log" -- "$tlo" log
for a in "sample receive" "sample transfer" "sample register"; do
    contains "$(grep action-refused out.txt)" "was refused '$a'" "refusals in the log: $a"
done

# --- transfer_to_auditor ---
n=$(entries)
expect 2 "transfer_to_auditor" -- "$tlo" sample transfer C-1 S-001 --to "Aude Auditor" --as "李检察官" "${M[@]}"
contains "$err" "Aude Auditor is an auditor: auditors never hold samples; hand S-001 to someone else (anyone enrolled but an auditor)" "transfer_to_auditor: message"
expect 2 "transfer_to_nobody" -- "$tlo" sample transfer C-1 S-001 --to "Nobody" --as "李检察官" "${M[@]}"
contains "$err" "nobody called \"Nobody\" is enrolled" "transfer_to_nobody: message"
expect 2 "transfer_to_self" -- "$tlo" sample transfer C-1 S-001 --to "李检察官" --as "李检察官" "${M[@]}"
contains "$err" "李检察官 already holds S-001" "transfer_to_self: message"
[ "$(entries)" = "$n" ] && ok || bad "transfer_to_auditor: entries appended"

# --- broken_seal_shown ---
expect 0 "broken_seal_shown: register S-002" -- "$tlo" sample register C-1 --label S-002 --kind clothing \
    --seal-number 77 --as "Mia Medic" "${M[@]}"
expect 0 "broken_seal_shown: transfer" -- "$tlo" sample transfer C-1 S-002 --to "李检察官" --as "Mia Medic" "${M[@]}"
expect 0 "broken_seal_shown: receive" -- "$tlo" sample receive C-1 S-002 --seal-intact no --as "李检察官" "${M[@]}"
contains "$out" "(seal BROKEN)" "broken_seal_shown: receive output"
expect 0 "broken_seal_shown: list" -- "$tlo" sample list C-1
contains "$(grep S-002 out.txt)" "SEAL BROKEN" "broken_seal_shown: list"
lacks "$(grep S-001 out.txt)" "BROKEN" "broken_seal_shown: S-001 intact"
expect 0 "broken_seal_shown: show" -- "$tlo" sample show C-1 S-002
contains "$out" "Seal: BROKEN" "broken_seal_shown: show"
contains "$out" "SEAL BROKEN" "broken_seal_shown: show step"
expect 0 "broken_seal_shown: list --json" -- "$tlo" sample list C-1 --json
json '[s["seal_broken"] for s in d]==[False, True]' && ok || bad "broken_seal_shown: list --json: $out"

# --- dispose_then_nothing ---
expect 0 "dispose_then_nothing: dispose" -- "$tlo" sample dispose C-1 S-002 \
    --reason "analysed; destroyed by the laboratory" --as "李检察官" "${M[@]}"
[ "$(newest 55)" = $'label=S-002\nreason=analysed; destroyed by the laboratory' ] && ok || bad "dispose body: $(newest 55)"
n=$(entries)
expect 2 "dispose_then_nothing: transfer" -- "$tlo" sample transfer C-1 S-002 --to "Mia Medic" --as "李检察官" "${M[@]}"
contains "$err" "S-002 was disposed of by 李检察官 at" "dispose_then_nothing: message"
contains "$err" "nothing can follow a disposal" "dispose_then_nothing: message"
expect 2 "dispose_then_nothing: dispose again" -- "$tlo" sample dispose C-1 S-002 --reason x --as "李检察官" "${M[@]}"
expect 2 "dispose_then_nothing: receive" -- "$tlo" sample receive C-1 S-002 --as "Mia Medic" "${M[@]}"
[ "$(entries)" = "$n" ] && ok || bad "dispose_then_nothing: entries appended"
expect 0 "dispose_then_nothing: list" -- "$tlo" sample list C-1 --json
json 'd[1]["state"]=="disposed"' && ok || bad "dispose_then_nothing: list --json: $out"

# --- duplicate_label ---
n=$(entries)
expect 2 "duplicate_label" -- "$tlo" sample register C-1 --label S-001 --kind hair --seal-number 5 \
    --as "Mia Medic" "${M[@]}"
contains "$err" "case C-1 already has a sample S-001 (registered in entry $reg_seq)" "duplicate_label: message"
[ "$(entries)" = "$n" ] && ok || bad "duplicate_label: entries appended"

# --- bounded_inputs: nothing appended, exit 2, the bound said ---
n=$(entries)
long_place=$(printf 'x%.0s' $(seq 201))
expect 2 "bounded_inputs: label" -- "$tlo" sample register C-1 --label "S 1" --kind swab --seal-number 1 --as "Mia Medic" "${M[@]}"
contains "$err" "1 to 32 characters of A-Z a-z 0-9 . _ -" "bounded_inputs: label message"
expect 2 "bounded_inputs: long label" -- "$tlo" sample register C-1 --label "$(printf 'L%.0s' $(seq 33))" --kind swab --seal-number 1 --as "Mia Medic" "${M[@]}"
expect 2 "bounded_inputs: kind" -- "$tlo" sample register C-1 --label S-003 --kind saliva --seal-number 1 --as "Mia Medic" "${M[@]}"
contains "$err" "swab, blood, urine, hair, clothing, other" "bounded_inputs: kind message"
expect 2 "bounded_inputs: seal" -- "$tlo" sample register C-1 --label S-003 --kind swab --seal-number "1 2" --as "Mia Medic" "${M[@]}"
expect 2 "bounded_inputs: long seal" -- "$tlo" sample register C-1 --label S-003 --kind swab --seal-number "$(printf '9%.0s' $(seq 65))" --as "Mia Medic" "${M[@]}"
expect 2 "bounded_inputs: place" -- "$tlo" sample transfer C-1 S-001 --to "Mia Medic" --place "$long_place" --as "李检察官" "${M[@]}"
contains "$err" "at most 200 characters" "bounded_inputs: place message"
expect 2 "bounded_inputs: place with a newline" -- "$tlo" sample transfer C-1 S-001 --to "Mia Medic" --place $'a\nb' --as "李检察官" "${M[@]}"
expect 2 "bounded_inputs: seal-intact" -- "$tlo" sample receive C-1 S-001 --seal-intact maybe --as "李检察官" "${M[@]}"
expect 2 "bounded_inputs: reason" -- "$tlo" sample dispose C-1 S-001 --reason "$(printf 'r%.0s' $(seq 401))" --as "李检察官" "${M[@]}"
expect 2 "bounded_inputs: unknown sample" -- "$tlo" sample transfer C-1 S-404 --to "Mia Medic" --as "李检察官" "${M[@]}"
contains "$err" "case C-1 has no sample S-404" "bounded_inputs: unknown sample message"
expect 2 "bounded_inputs: receive not in transfer" -- "$tlo" sample receive C-1 S-001 --as "李检察官" "${M[@]}"
contains "$err" "S-001 is not in transfer: 李检察官 holds it since" "bounded_inputs: receive not in transfer message"
expect 2 "bounded_inputs: no case" -- "$tlo" sample list C-404
expect 2 "bounded_inputs: an option of another subcommand" -- "$tlo" sample receive C-1 S-001 --to X --as "李检察官" "${M[@]}"
[ "$(entries)" = "$n" ] && ok || bad "bounded_inputs: entries appended"
# a place of 200 characters (CJK: 600 bytes) is within bounds
cjk_place=$(printf '室%.0s' $(seq 200))
expect 0 "bounded_inputs: 200 CJK characters of place" -- "$tlo" sample transfer C-1 S-001 --to "Mia Medic" \
    --place "$cjk_place" --as "李检察官" "${M[@]}"
expect 0 "bounded_inputs: receive" -- "$tlo" sample receive C-1 S-001 --as "Mia Medic" "${M[@]}"

# --- help ---
for s in register transfer receive dispose list show; do
    expect 0 "help $s" -- "$tlo" sample "$s" --help
    contains "$out" "usage: tellonce sample $s" "help $s"
done
expect 2 "unknown subcommand" -- "$tlo" sample frobnicate C-1

# --- one_command_at_a_time: another process holds the case's sample lease ---
mkdir -p vault/locks
lease="vault/locks/samples-$case_hex.lock"
# its own process group (setsid execs in place: $! is its pid), so that
# the sleep under flock ends with it
setsid flock "$lease" sleep infinity </dev/null >/dev/null 2>&1 &
holder=$!
wait_for 60 "the sample lease to be held" "! flock -n '$lease' true"
n=$(entries)
expect 3 "one_command_at_a_time" -- "$tlo" sample transfer C-1 S-001 --to "李检察官" --as "Mia Medic" "${M[@]}"
contains "$err" "another sample command of case C-1 is running" "one_command_at_a_time: message"
[ "$(entries)" = "$n" ] && ok || bad "one_command_at_a_time: entries appended"
kill -- -"$holder"
wait "$holder" 2>/dev/null

# --- verify_passes ---
expect 0 "verify_passes" -- "$tlo" verify
contains "$out" "OK" "verify_passes: output"

# --- note_reference (on a copy: the note entry is forged, without its object) ---
cp -a vault notes-vault
export TELLONCE_VAULT="$work/notes-vault"
DB=notes-vault/ledger.db
note_id=0123456789abcdef0123456789abcdef
"$forge" notes-vault "Mia Medic" p.pass 50 "$case_hex" bytes=100 \
    ciphertext_sha256=$(printf '0%.0s' $(seq 64)) note=$note_id note_kind=sample-collection \
    object=$note_id plaintext_sha256=$(printf '1%.0s' $(seq 64)) >/dev/null || bad "note_reference: forge a note entry"
expect 0 "note_reference: by number" -- "$tlo" sample register C-1 --label N-1 --kind urine --seal-number 3 \
    --note 1 --as "Mia Medic" "${M[@]}"
contains "$(newest 53)" "note=$note_id" "note_reference: by number, logged"
expect 0 "note_reference: by prefix" -- "$tlo" sample register C-1 --label N-2 --kind urine --seal-number 4 \
    --note 0123456789AB --as "Mia Medic" "${M[@]}"
contains "$(newest 53)" "note=$note_id" "note_reference: by prefix, logged"
expect 2 "note_reference: no such note" -- "$tlo" sample register C-1 --label N-3 --kind urine --seal-number 5 \
    --note ffffffffffffffffffffffffffffffff --as "Mia Medic" "${M[@]}"
contains "$err" "case C-1 has no note ffffffffffffffffffffffffffffffff" "note_reference: no such note message"
expect 2 "note_reference: no note 2" -- "$tlo" sample register C-1 --label N-3 --kind urine --seal-number 5 \
    --note 2 --as "Mia Medic" "${M[@]}"
expect 2 "note_reference: not hex" -- "$tlo" sample register C-1 --label N-3 --kind urine --seal-number 5 \
    --note xyzw --as "Mia Medic" "${M[@]}"
expect 0 "note_reference: show" -- "$tlo" sample show C-1 N-1 --json
json 'd["note"]=="'$note_id'"' && ok || bad "note_reference: show --json: $out"
unset DB
export TELLONCE_VAULT="$work/vault"

# --- forged_*: each on a copy of the vault; verify fails naming the entry, and
# list does not honour it ---
mia_pk=$(pk_of "Mia Medic")
pros_pk=$(pk_of "李检察官")
# S-001 is held by Mia Medic now; S-002 was disposed of by 李检察官.
forged() { # NAME EXPECTED_PROBLEM SIGNER KIND FIELDS...
    local name=$1 want=$2 who=$3 kind=$4
    shift 4
    rm -rf "f-$name"
    cp -a vault "f-$name"
    local seq
    seq=$("$forge" "f-$name" "$who" p.pass "$kind" "$case_hex" "$@") || { bad "$name: forge"; return; }
    expect 1 "$name: verify" -- "$tlo" verify --vault "f-$name"
    contains "$out" "entry $seq (" "$name: verify names the entry"
    contains "$out" "$want" "$name: verify says what is wrong"
    expect 1 "$name: verify --json" -- "$tlo" verify --vault "f-$name" --json
    json 'not d["ok"] and d["first_bad_entry"]=='"$seq" && ok || bad "$name: verify --json: $out"
    expect 0 "$name: list" -- "$tlo" sample list C-1 --vault "f-$name" --json
    contains "$err" "entry $seq (" "$name: list warns of the entry"
    cp out.txt "f-$name.list.json"
}
forged forged_transfer_by_non_holder "is signed by 李检察官, who does not hold sample S-001 (Mia Medic does)" \
    "李检察官" 51 label=S-001 to="$pros_pk" to_name=x
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d[0]["state"]=="held" and d[0]["holder"]["person"]=="Mia Medic" else 1)' \
    f-forged_transfer_by_non_holder.list.json && ok || bad "forged_transfer_by_non_holder: list honoured it"
forged forged_transfer_after_dispose "follows the disposal of sample S-002" \
    "李检察官" 51 label=S-002 to="$mia_pk" to_name="Mia Medic"
forged forged_duplicate_label "registers sample S-001 again: entry $reg_seq registered it first" \
    "王医生" 53 label=S-001 sample_kind=swab seal_number=1
forged forged_receive_without_transfer "receives sample S-001, which is not in transfer" \
    "李检察官" 54 label=S-001 seal_intact=yes transfer="$tr_seq"
forged forged_dispose_by_non_holder "is signed by 王医生, who does not hold sample S-001" \
    "王医生" 55 label=S-001 reason=gone
forged forged_unregistered_label "names sample S-777, which the case never registered" \
    "李检察官" 55 label=S-777 reason=gone
# a receipt by someone the sample was not handed to: a real transfer first
rm -rf f-recv && cp -a vault f-recv
"$tlo" sample transfer C-1 S-001 --to "李检察官" --as "Mia Medic" "${M[@]}" --vault f-recv >/dev/null ||
    bad "forged_receive_by_other: transfer"
t2=$(DB=f-recv/ledger.db db "SELECT max(seq) FROM entries WHERE kind = 51")
seq=$("$forge" f-recv "王医生" p.pass 54 "$case_hex" label=S-001 seal_intact=yes transfer="$t2")
expect 1 "forged_receive_by_other: verify" -- "$tlo" verify --vault f-recv
contains "$out" "entry $seq (sample-receive" "forged_receive_by_other: names the entry"
contains "$out" "is signed by 王医生, but sample S-001 was handed to 李检察官 (entry $t2)" "forged_receive_by_other: says what"
expect 0 "forged_receive_by_other: list" -- "$tlo" sample list C-1 --vault f-recv --json
json 'd[0]["state"]=="in transfer" and d[0]["in_transfer_to"]["person"]=="李检察官"' && ok || bad "forged_receive_by_other: list honoured it: $out"

# --- review finding 4: the report shows the chain list/show and verify
# accept. A transfer whose to_name is not the name enrolled for its key
# fails verify; the report, like list, does not honour it, and names the
# people by their keys ---
forged forged_to_name_mismatch "names the receiver \"Ivan Interviewer\" (to_name), but the key in to is 李检察官's" \
    "Mia Medic" 51 label=S-001 to="$pros_pk" to_name="Ivan Interviewer"
fseq=$(DB=f-forged_to_name_mismatch/ledger.db db "SELECT max(seq) FROM entries WHERE kind = 51")
expect 1 "report_to_name_mismatch: report (the ledger does not verify)" -- "$tlo" report C-1 -o tn.html --json tn.json --vault f-forged_to_name_mismatch
python3 -c 'import json,sys; r=json.load(open("tn.json")); s=[x for x in r["samples"] if x["label"]=="S-001"][0]
sys.exit(0 if s["state"]=="held" and "to_name" not in s and all(e["entry"]!=int(sys.argv[1]) for e in s["chain"]) else 1)' "$fseq" &&
    ok || bad "report_to_name_mismatch: the report honours entry $fseq: $(head -c 3000 tn.json)"
lacks "$(cat tn.html)" "in transfer to Ivan Interviewer" "report_to_name_mismatch: html"
# a second registration of a label: not merged into the first
dseq=$(DB=f-forged_duplicate_label/ledger.db db "SELECT max(seq) FROM entries WHERE kind = 53")
expect 1 "report_duplicate_label: report (the ledger does not verify)" -- "$tlo" report C-1 -o dl.html --json dl.json --vault f-forged_duplicate_label
python3 -c 'import json,sys; r=json.load(open("dl.json")); s=[x for x in r["samples"] if x["label"]=="S-001"]
sys.exit(0 if len(s)==1 and all(e["entry"]!=int(sys.argv[1]) for e in s[0]["chain"]) else 1)' "$dseq" &&
    ok || bad "report_duplicate_label: the report honours entry $dseq"

# --- review finding 5: verify accepts a transfer only to someone who could
# sign its receipt at that entry: enrolled, not revoked, may receive, not
# the custodian ---
cust_pk=$(db "SELECT CAST(body AS TEXT) FROM entries WHERE seq = (SELECT min(seq) FROM entries)" | sed -n 's/^custodian\.pk=//p')
forged forged_transfer_to_auditor "hands sample S-001 to Aude Auditor, who may not receive a sample" \
    "Mia Medic" 51 label=S-001 to="$(pk_of "Aude Auditor")" to_name="Aude Auditor"
forged forged_transfer_to_custodian "hands sample S-001 to custodian, who may not receive a sample" \
    "Mia Medic" 51 label=S-001 to="$cust_pk" to_name=custodian
"$tlo" user add "Rita Revoked" --role prosecutor --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file p.pass >/dev/null || bad "user add Rita Revoked"
"$tlo" user revoke "Rita Revoked" --as "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "user revoke Rita Revoked"
rita_rev=$(db "SELECT max(seq) FROM entries")
"$tlo" user add "Pete Pending" --role prosecutor --as "Anna Admin" --passphrase-file admin.pass >/dev/null ||
    bad "user add Pete Pending (with a code)"
forged forged_transfer_to_pending "hands sample S-001 to Pete Pending, whose enrolment was not activated before it" \
    "Mia Medic" 51 label=S-001 to="$(pk_of "Pete Pending")" to_name="Pete Pending"
forged forged_transfer_to_revoked "hands sample S-001 to Rita Revoked, revoked in entry $rita_rev before it" \
    "Mia Medic" 51 label=S-001 to="$(pk_of "Rita Revoked")" to_name="Rita Revoked"

# --- review finding 8: transfer --to someone who may never hold a sample
# says why, in the words for them ---
n=$(entries)
expect 2 "transfer_to_revoked" -- "$tlo" sample transfer C-1 S-001 --to "Rita Revoked" --as "Mia Medic" "${M[@]}"
contains "$err" "Rita Revoked was revoked (entry $rita_rev) and can no longer take a sample over: hand S-001 to someone else" "transfer_to_revoked: message"
expect 2 "transfer_to_custodian" -- "$tlo" sample transfer C-1 S-001 --to custodian --as "Mia Medic" "${M[@]}"
contains "$err" "custodian is the vault's custodian: the custodian never holds samples; hand S-001 to someone else" "transfer_to_custodian: message"
expect 2 "transfer_to_pending" -- "$tlo" sample transfer C-1 S-001 --to "Pete Pending" --as "Mia Medic" "${M[@]}"
contains "$err" "Pete Pending has not activated their enrolment yet and cannot take S-001 over" "transfer_to_pending: message"
[ "$(entries)" = "$n" ] && ok || bad "transfer_to_revoked: entries appended"

# --- review finding 7: a refusal is whole, whatever the name's length: it
# says who holds the sample and keeps "logged as entry N" ---
long=$(printf '长%.0s' $(seq 80))
"$tlo" user add "$long" --role prosecutor --as "Anna Admin" --passphrase-file admin.pass \
    --new-passphrase-file p.pass >/dev/null || bad "user add the long name"
expect 1 "refusal_message_whole" -- "$tlo" sample transfer C-1 S-001 --to "李检察官" --as "$long" "${M[@]}"
contains "$err" "(Mia Medic holds S-001)" "refusal_message_whole: who holds it"
contains "$err" "The refusal is logged as entry $(db "SELECT max(seq) FROM entries WHERE kind = 44")." "refusal_message_whole: logged as entry N"
python3 -c 'import sys; open("err.txt","rb").read().decode("utf-8")' && ok || bad "refusal_message_whole: not UTF-8"

# --- review finding 2: a sample handed over 5,000 times (10,001 entries)
# stops nothing: verify, the report, another registration pass; show says
# what it leaves out ---
rm -rf f-many && cp -a vault f-many
MV=(--vault f-many "${M[@]}")
"$tlo" sample register C-1 --label S-500 --kind blood --seal-number 500 --as "Mia Medic" "${MV[@]}" >/dev/null ||
    bad "many_handovers: register"
t0=$(date +%s)
last=$("$forge" f-many "Mia Medic" p.pass pairs "$case_hex" S-500 "李检察官" 5000) || bad "many_handovers: forge"
echo "many_handovers: 10,000 entries forged in $(($(date +%s) - t0)) s" >&2
t0=$(date +%s)
expect 0 "many_handovers: verify" -- "$tlo" verify --vault f-many
echo "many_handovers: verify in $(($(date +%s) - t0)) s" >&2
t0=$(date +%s)
expect 0 "many_handovers: report" -- "$tlo" report C-1 -o many.html --json many.json --vault f-many
echo "many_handovers: report in $(($(date +%s) - t0)) s" >&2
python3 -c 'import json,sys; r=json.load(open("many.json")); s=[x for x in r["samples"] if x["label"]=="S-500"][0]
sys.exit(0 if len(s["chain"])==10001 and s["state"]=="held" and s["chain"][-1]["entry"]==int(sys.argv[1]) else 1)' "$last" &&
    ok || bad "many_handovers: the report does not have all 10,001 entries"
expect 0 "many_handovers: register another" -- "$tlo" sample register C-1 --label S-501 --kind blood \
    --seal-number 501 --as "Mia Medic" "${MV[@]}"
expect 0 "many_handovers: show" -- "$tlo" sample show C-1 S-500 --vault f-many
contains "$out" "Chain of custody (10001 entries):" "many_handovers: show counts them all"
contains "$out" "... 9001 earlier entries not shown" "many_handovers: show says what it leaves out"
contains "$out" "entry $last " "many_handovers: show has the newest"
contains "$out" "State: held by Mia Medic (medical)" "many_handovers: show state"
expect 0 "many_handovers: show --json" -- "$tlo" sample show C-1 S-500 --json --vault f-many
json 'd["entries"]==10001 and d["entries_not_shown"]==9001 and len(d["chain"])==1000 and d["chain"][0]["action"]=="register" and d["chain"][-1]["entry"]=='"$last"' and all(d["chain"][i]["entry"]<d["chain"][i+1]["entry"] for i in range(999))' &&
    ok || bad "many_handovers: show --json"
expect 0 "many_handovers: list" -- "$tlo" sample list C-1 --vault f-many

echo "passed=$passed failed=$failed"
[ "$failed" -eq 0 ]
