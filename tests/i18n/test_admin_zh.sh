#!/usr/bin/env bash
# The data and admin commands in Chinese (issue 13): under LANG=zh_CN.UTF-8
# their --help and their tables (user list, session list, grant list,
# sample list, note list, log, roles, settings show) leave no English
# sentence (no_english.py), hold Chinese, and line their columns up by
# display width (a Chinese character takes two columns); under LANG=C the
# same tables are the English they were.
# usage: test_admin_zh.sh TELLONCE_BINARY BUILD_LOCALEDIR
set -u
tlo=$1 localedir=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
. "$here/../cli/lib.sh"
. "$here/i18n_lib.sh"
i18n_need_locale zh_CN.UTF-8
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-admin-zh.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET
unset LANG LANGUAGE LC_ALL LC_MESSAGES LC_CTYPE
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_LOCALEDIR=$localedir TELLONCE_VAULT=$work/vault

# help_zh: every command's --help in Chinese, with no English sentence left.
if python3 "$here/no_english.py" help "$tlo" log verify verify-proof sample note user passwd \
    roles grant session settings init 2>help.txt; then ok; else
    bad "help_zh: $(head -20 help.txt)"
fi

# A scratch vault with a Chinese name in it, a session, a grant, a sample and
# a note.
P=(--passphrase-file p.pass)
echo 'a long secret phrase' >p.pass
"$tlo" init --admin "Anna Admin" "${P[@]}" >/dev/null || bad "init"
for who in "王芳:prosecutor" "Ivan Interviewer:interviewer" "Dr Med:medical" "Aud Auditor:auditor"; do
    "$tlo" user add "${who%%:*}" --role "${who##*:}" --as "Anna Admin" "${P[@]}" \
        --new-passphrase-file p.pass >/dev/null || bad "user add $who"
done
"$tlo" settings set timezone Asia/Shanghai --as "Anna Admin" "${P[@]}" >/dev/null ||
    bad "settings set"
"$tlo" case open C-1 --as "Ivan Interviewer" "${P[@]}" >/dev/null || bad "case open"
"$tlo" record C-1 --as "Ivan Interviewer" "${P[@]}" --duration 2 --no-live >/dev/null 2>&1 ||
    bad "record"
"$tlo" grant C-1 --for "王芳" --session 1 --expires 2099-01-01 --purpose review \
    --as "Anna Admin" "${P[@]}" >/dev/null || bad "grant"
"$tlo" sample register C-1 --label S-001 --kind swab --seal-number 778 --as "Dr Med" \
    "${P[@]}" >/dev/null || bad "sample register"
"$tlo" note add C-1 --kind exam --text "a note" --as "Dr Med" "${P[@]}" >/dev/null ||
    bad "note add"

# cols NAME FILE REGEX...: in every line of FILE, the first of the REGEXes
# that matches starts at the same display column (two for a wide
# character), in at least two lines.
cols() {
    python3 - "$@" <<'PY'
import re, sys, unicodedata
name, path, pats = sys.argv[1], sys.argv[2], sys.argv[3:]
def width(s):
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 0 if unicodedata.combining(c) else 1 for c in s)
at = []
for line in open(path, encoding="utf-8").read().splitlines():
    for p in pats:
        m = re.search(p, line)
        if m:
            at.append((width(line[:m.start()]), line))
            break
if len(at) < 2 or len({a for a, _ in at}) != 1:
    sys.exit(f"{name}: columns not lined up by display width: " + repr(at))
PY
}

# zh_table NAME CMD...: CMD's output under zh_CN in NAME.txt: exit 0,
# Chinese in it, no English sentence left.
zh_table() {
    local name=$1
    shift
    env LANG=zh_CN.UTF-8 "$@" >"$name.txt" 2>"$name.err" </dev/null ||
        bad "$name: exit $?: $(cat "$name.err")"
    has_cjk "$name.txt" && ok || bad "$name: no Chinese under zh_CN: $(cat "$name.txt")"
    python3 "$here/no_english.py" text "$name" "$name.txt" 2>"$name.eng" && ok ||
        bad "$name: English left: $(cat "$name.eng")"
}

zh_table user_list "$tlo" user list
cols user_list_roles user_list.txt '角色' '(检察官|管理员|询问人员|医务人员|审计员)' && ok || bad "user_list_roles"
cols user_list_key user_list.txt '密钥标识' '\b[0-9a-f]{16}\b' && ok || bad "user_list_key"
cols user_list_status user_list.txt '状态' '(有效|已撤销|待激活)' && ok || bad "user_list_status"

zh_table session_list "$tlo" session list C-1 --as "Ivan Interviewer" "${P[@]}"
cols session_list_status session_list.txt '状态' '(已结束|录制中|已中断|失败|已恢复)' && ok ||
    bad "session_list_status"
cols session_list_room session_list.txt '询问室' 'simulated' && ok || bad "session_list_room"
cols session_list_length session_list.txt '时长' '\b[0-9]{2}:[0-9]{2}:[0-9]{2}\b  ' && ok ||
    bad "session_list_length"

zh_table grant_list "$tlo" grant list
zh_table sample_list "$tlo" sample list C-1
zh_table note_list "$tlo" note list C-1

# The DETAILS column is the entry in words (custody/describe.c, whose own
# test reads it in Chinese): cut here, after the CASE column.
cat >cut.py <<'PY'
import sys, unicodedata
for line in sys.stdin.read().splitlines():  # each line cut at argv[1] display columns
    w, out = 0, []
    for c in line:
        w += 2 if unicodedata.east_asian_width(c) in "WF" else 1
        if w > int(sys.argv[1]):
            break
        out.append(c)
    print("".join(out))
PY
zh_table log sh -c '"$0" log | python3 cut.py 96' "$tlo"
cols log_who log.txt '(?<=:[0-9]{2}  )\S' '人员' && ok || bad "log_who"
cols log_kind log.txt '类型' '(?<=  )[a-z]+(-[a-z]+)+(?= )' && ok || bad "log_kind"

zh_table roles "$tlo" roles
cols roles_who roles.txt '可执行者' '(?<= )(管理员|询问人员|检察官|医务人员|审计员|心理咨询师|法律援助人员|社工|任何|除审计员|记录的作者|在该案件|当前持有|样本正在|有授权的|录制该|开立该)' &&
    ok || bad "roles_who"

zh_table settings_show "$tlo" settings show

# note_read_basis_zh: note show says on which basis the note was read in
# Chinese too (it said "依据 author 读取": custody's word).
env LANG=zh_CN.UTF-8 "$tlo" note show C-1 1 --as "Dr Med" "${P[@]}" >note_show.txt 2>note_show.err ||
    bad "note show: $(cat note_show.err)"
grep -qF "作为作者读取" note_show.err && ! grep -q author note_show.err && ok ||
    bad "note_read_basis_zh: $(cat note_show.err)"
env LANG=C "$tlo" note show C-1 1 --as "Dr Med" "${P[@]}" >note_show.txt 2>note_show.err
grep -q '^Note 1 version 1 of case C-1 (exam), read as author; logged in entry [0-9]*\.$' \
    note_show.err && ok || bad "c_note_read_basis: $(cat note_show.err)"

# c_unchanged: under LANG=C the headings and words are the English ones.
c_line() { # NAME FILE LINE: FILE has LINE whole
    grep -qxF -- "$3" "$2" && ok || bad "$1: no line '$3' in: $(head -5 "$2")"
}
env LANG=C "$tlo" user list >c_user.txt 2>&1 || bad "user list under C"
c_line c_user_heading c_user.txt \
    "NAME                     ROLES                        KEY ID           ENROLLED  STATUS"
grep -q '^王芳 .* prosecutor  .* active$' c_user.txt && ok || bad "c_user_row: $(cat c_user.txt)"
env LANG=C "$tlo" session list C-1 --as "Ivan Interviewer" "${P[@]}" >c_session.txt 2>&1 ||
    bad "session list under C"
c_line c_session_heading c_session.txt \
    " NO  START                       LENGTH    STATUS       SEGMENTS  SESSION           ROOM"
grep -q '^  1  .*  ended  ' c_session.txt && ok || bad "c_session_row: $(cat c_session.txt)"
env LANG=C "$tlo" log >c_log.txt 2>&1 || bad "log under C"
c_line c_log_heading c_log.txt \
    " ENTRY  TIME                        WHO                             WHAT            CASE      DETAILS"
grep -q '  Anna Admin (admin)  ' c_log.txt && ok || bad "c_log_who: $(head -3 c_log.txt)"
env LANG=C "$tlo" roles >c_roles.txt 2>&1 || bad "roles under C"
c_line c_roles_heading c_roles.txt "COMMAND                                WHO MAY"
grep -q '^user add, .* an administrator$' c_roles.txt && ok || bad "c_roles_row: $(grep '^user add' c_roles.txt)"
env LANG=C "$tlo" grant list >c_grant.txt 2>&1 || bad "grant list under C"
grep -q '^grant [0-9]*: 王芳 may view session .* (active); purpose: review$' c_grant.txt && ok ||
    bad "c_grant: $(cat c_grant.txt)"
for f in c_user c_session c_log c_roles c_grant; do
    sed 's/王芳//g' "$f.txt" >"$f.bare"
    has_cjk "$f.bare" && bad "$f: Chinese under LANG=C: $(cat "$f.txt")" || ok
done

echo "i18n admin_zh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
