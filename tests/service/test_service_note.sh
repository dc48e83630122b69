#!/usr/bin/env bash
# Notes through the custodian service (docs/notes.md, "Through the custodian
# service"): the doctor's OS user, who can open no file of the vault, adds a
# note whose files the client hands over as sealed memory files (their own
# names kept), and gets it back: the service, another OS user, writes the
# note's container into an empty memory file the client passed, and the
# client writes the files into its own folder. A prosecutor without a grant
# is refused and logged; verify passes. Run as root (it makes OS users);
# outside CI it skips (77) when not root.
# usage: test_service_note.sh TELLONCE_BINARY TESTS_DIR
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
svc_setup medic pros
cd "$SVC_DIR" || exit 1
newest() { svc_ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = $1 ORDER BY seq DESC LIMIT 1"; }
count_kind() { svc_ledger "SELECT count(*) FROM entries WHERE kind = $1"; }
medic=$(svc_user medic)

A=(--as "Anna Admin" --passphrase-file "$SVC_DIR/admin.pass" --vault "$SVC_VAULT")
printf 'medic-passphrase-1\n' >mia.pass
printf 'interviewer-passphrase-1\n' >ivan.pass
printf 'prosecutor-passphrase-1\n' >pros.pass
chmod 644 mia.pass ivan.pass pros.pass
as_service user add "Mia Medic" --role medical "${A[@]}" --new-passphrase-file "$SVC_DIR/mia.pass" \
    >/dev/null || bad "user add medic"
as_service user add "Ivan Interviewer" --role interviewer "${A[@]}" \
    --new-passphrase-file "$SVC_DIR/ivan.pass" >/dev/null || bad "user add interviewer"
as_service user add "Per Prosecutor" --role prosecutor "${A[@]}" \
    --new-passphrase-file "$SVC_DIR/pros.pass" >/dev/null || bad "user add prosecutor"
printf '\n\n' | as_service case open "2026-N-3" --as "Ivan Interviewer" \
    --passphrase-file "$SVC_DIR/ivan.pass" --vault "$SVC_VAULT" >/dev/null || bad "case open"

# The doctor's files: readable by the doctor's OS user only.
mkdir -m 700 files out pout
python3 "$here/../cli/make_note_files.py" files || bad "make_note_files.py"
printf 'Findings TEXT-MARKER-9\n' >files/text.txt
chown -R "$medic" files out
chown "$(svc_user pros)" pout
chmod 600 files/*
svc_start
M=(--as "Mia Medic" --passphrase-file mia.pass)

# --- service_note_add_hands_over_files: memfds, names kept
as medic sh -c 'cd "$1" && shift && "$@" <files/text.txt' _ "$SVC_DIR" "$SVC_BIN" \
    --socket "$SVC_SOCKET" note add 2026-N-3 --kind photo --text-file - --file files/photo.jpg \
    --file files/report.pdf "${M[@]}" >add.txt 2>&1 && ok ||
    bad "service_note_add: $(cat add.txt)"
body=$(newest 50)
contains "$body" "client_uid=$(id -u "$medic")" "service_note_add: the entry names the client's OS user"
contains "$body" "files=2" "service_note_add: both files"
contains "$body" "file.001.sha256=$(sha256sum <files/photo.jpg | cut -c1-64)" \
    "service_note_add: the photo's digest"

# --- service_note_get_writes_in_the_clients_folder: the container comes back
# in memory, the client writes the files, as its own OS user
as medic sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note get 2026-N-3 1 -o out "${M[@]}" >get.txt 2>&1 && ok || bad "service_note_get: $(cat get.txt)"
cmp -s files/photo.jpg out/photo.jpg && ok || bad "service_note_get: the photo differs ($(ls out))"
cmp -s files/report.pdf out/report.pdf && ok || bad "service_note_get: the PDF differs"
[ "$(stat -c %U out/photo.jpg)" = "$medic" ] && ok ||
    bad "service_note_get: out/photo.jpg belongs to $(stat -c %U out/photo.jpg)"
contains "$(cat get.txt)" "photo.jpg carries EXIF data with a GPS position" "service_note_get: EXIF warned"
# finding 7: the client is told which entry logged the access
contains "$(cat get.txt)" "logged in entry $(svc_ledger "SELECT max(seq) FROM entries WHERE kind = 52")." \
    "service_note_get_says_its_entry"
contains "$(newest 52)" "action=get" "service_note_get: logged"
contains "$(newest 52)" "client_uid=$(id -u "$medic")" "service_note_get: logged with the OS user"
as medic sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note show 2026-N-3 1 "${M[@]}" >show.txt 2>&1 && ok || bad "service_note_show: $(cat show.txt)"
contains "$(cat show.txt)" "TEXT-MARKER-9" "service_note_show: the text"

# --- finding 4, service_note_add_o_refused: -o is for 'note get'; an add with
# it is refused before anything is logged (no note added, then "no note")
n50=$(count_kind 50) nall=$(svc_ledger "SELECT count(*) FROM entries")
as medic sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note add 2026-N-3 --kind exam --text "with -o" -o out "${M[@]}" >ao.txt 2>&1
[ $? -eq 2 ] && ok || bad "service_note_add_o_refused: exit not 2: $(cat ao.txt)"
contains "$(cat ao.txt)" "-o is for 'note get'" "service_note_add_o_refused: says why"
[ "$(count_kind 50)" = "$n50" ] && [ "$(svc_ledger "SELECT count(*) FROM entries")" = "$nall" ] &&
    ok || bad "service_note_add_o_refused: logged something"
as medic sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note show 2026-N-3 1 -o out "${M[@]}" >so.txt 2>&1
[ $? -eq 2 ] && ok || bad "service_note_show_o_refused: exit not 2: $(cat so.txt)"
contains "$(cat so.txt)" "-o is for 'note get'" "service_note_show_o_refused: says why"

# --- service_note_get_refused: a prosecutor without a grant, logged, nothing written
n52=$(count_kind 52)
as pros sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note get 2026-N-3 1 -o pout --as "Per Prosecutor" --passphrase-file pros.pass >pget.txt 2>&1
[ $? -eq 1 ] && ok || bad "service_note_get_refused: $(cat pget.txt)"
[ "$(count_kind 52)" = "$((n52 + 1))" ] && ok || bad "service_note_get_refused: not logged"
[ -z "$(ls -A pout)" ] && ok || bad "service_note_get_refused: wrote $(ls pout)"

# --- service_note_text_option_is_not_a_file: --text (a prefix of --text-file)
# is the text itself, not a file to hand over
tlo_as medic note add 2026-N-3 --kind exam --text "short finding" "${M[@]}" >t.txt 2>&1 && ok ||
    bad "service_note_text_option_is_not_a_file: $(cat t.txt)"
contains "$(newest 50)" "text_bytes=13" "service_note_text_option_is_not_a_file: the text went in"

as medic sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note add 2026-N-3 --kind exam --text-file files/text.txt "${M[@]}" >t.txt 2>&1 && ok ||
    bad "service_note_text_file: $(cat t.txt)"
contains "$(newest 50)" "text_bytes=$(stat -c %s files/text.txt)" "service_note_text_file: handed over"

# --- service_note_list_and_grant: metadata through the service; a note grant
# by the administrator lets the prosecutor get it
tlo_as medic note list 2026-N-3 >list.txt 2>&1 && ok || bad "service_note_list: $(cat list.txt)"
contains "$(cat list.txt)" "note 1  photo  by Mia Medic" "service_note_list"
as pros sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    grant 2026-N-3 --to "Per Prosecutor" --note 1 --expires 2099-12-31 --purpose "charging decision" \
    --as "Anna Admin" --passphrase-file admin.pass >g.txt 2>&1 && ok || bad "service_note_grant: $(cat g.txt)"
as pros sh -c 'cd "$1" && shift && exec "$@"' _ "$SVC_DIR" "$SVC_BIN" --socket "$SVC_SOCKET" \
    note get 2026-N-3 1 -o pout --as "Per Prosecutor" --passphrase-file pros.pass >pget.txt 2>&1 &&
    ok || bad "service_note_get_granted: $(cat pget.txt)"
cmp -s files/report.pdf pout/report.pdf && ok || bad "service_note_get_granted: the PDF differs"

svc_stop || bad "the service did not end cleanly: $(tail -5 service.log)"
as_service verify --vault "$SVC_VAULT" >verify.txt 2>&1 && ok || bad "verify: $(cat verify.txt)"
echo "test_service_note: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
