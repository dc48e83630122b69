#!/usr/bin/env bash
# Messages in the person's language (docs/i18n.md): with LANG=zh_CN.UTF-8
# errors come out in Chinese, with LANG=C or no locale at all in English;
# and whatever the language, the ledger's text stays English.
# usage: test_messages.sh TELLONCE_BINARY BUILD_LOCALEDIR
set -u
tlo=$1 localedir=$2
here=$(dirname "${BASH_SOURCE[0]}")
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
. "$here/../cli/lib.sh"
. "$here/i18n_lib.sh"
i18n_need_locale zh_CN.UTF-8
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-i18n.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET TELLONCE_VAULT
unset LANG LANGUAGE LC_ALL LC_MESSAGES LC_CTYPE
export TELLONCE_TEST_FAST_KDF=1 TELLONCE_LOCALEDIR=$localedir
[ -f "$localedir/zh_CN/LC_MESSAGES/tellonce.mo" ] ||
    bad "no $localedir/zh_CN/LC_MESSAGES/tellonce.mo: the build makes it from po/zh_CN.po"

# under LANG CMD...: runs CMD under LANG, its stderr in err.txt.
under() {
    local lang=$1
    shift
    env LANG="$lang" "$@" >out.txt 2>err.txt </dev/null
}

# 1. A missing vault (tlo_fail in custody/): Chinese, English, English.
missing="is not a tellonce vault (it has no ledger.db)"
under zh_CN.UTF-8 "$tlo" log --vault "$work/none"
if has_cjk err.txt && ! grep -qF "$missing" err.txt; then ok; else
    bad "zh_missing_vault: not in Chinese under LANG=zh_CN.UTF-8: $(cat err.txt)"
fi
under C "$tlo" log --vault "$work/none"
grep -qF "tellonce: error: $work/none $missing" err.txt && ! has_cjk err.txt && ok ||
    bad "c_missing_vault: not English under LANG=C: $(cat err.txt)"
env -u LANG "$tlo" log --vault "$work/none" >out.txt 2>err.txt
grep -qF "$missing" err.txt && ok || bad "default_missing_vault: not English without a locale: $(cat err.txt)"
# LC_MESSAGES alone, and LANGUAGE over LANG, choose too (gettext's rules)
env LANG=C LC_MESSAGES=zh_CN.UTF-8 "$tlo" log --vault "$work/none" >out.txt 2>err.txt
has_cjk err.txt && ok || bad "lc_messages_zh: not in Chinese with LC_MESSAGES=zh_CN.UTF-8: $(cat err.txt)"

# 2. A wrong option (cli_error in cli/): Chinese, then English.
under zh_CN.UTF-8 "$tlo" --socket
if has_cjk err.txt && ! grep -qF "takes the path of the custodian service's socket" err.txt; then ok; else
    bad "zh_cli_error: --socket's error is not in Chinese: $(cat err.txt)"
fi
under C "$tlo" --socket
grep -qF "tellonce: error: --socket takes the path of the custodian service's socket" err.txt && ok ||
    bad "c_cli_error: --socket's error is not English: $(cat err.txt)"

# ...and a command's own option check (case show without --as)
under zh_CN.UTF-8 "$tlo" case show C-1 --vault "$work/none"
if has_cjk err.txt && ! grep -qF "case show needs --as NAME" err.txt; then ok; else
    bad "zh_cmd_option: case show's option error is not in Chinese: $(cat err.txt)"
fi
under C "$tlo" case show C-1 --vault "$work/none"
grep -qF "tellonce: error: case show needs --as NAME" err.txt && ok ||
    bad "c_cmd_option: case show's option error is not English: $(cat err.txt)"

# 3. ledger_reason_english_under_zh: a refusal logged while the person reads
# Chinese records its reason in English. The test's own catalogue translates
# the sentences involved, so this holds whatever po/zh_CN.po says today.
mkdir -p loc/zh_CN/LC_MESSAGES
cat >t.po <<'PO'
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\n"

msgid "%s is not an active %s of this vault"
msgstr "%s 不是本保管库的在职%s"

msgid "refused: %s. The refusal is logged as entry %llu."
msgstr "已拒绝：%s。此次拒绝记录为条目 %llu。"
PO
msgfmt -o loc/zh_CN/LC_MESSAGES/tellonce.mo t.po || bad "msgfmt of the test's catalogue"
export TELLONCE_VAULT=$work/vault
echo "admin passphrase 1234" >a.pass
echo "olga passphrase 12345" >o.pass
"$tlo" init --admin "Anna Admin" --passphrase-file a.pass >/dev/null || bad "init"
"$tlo" user add "Olga Other" --role interviewer --as "Anna Admin" --passphrase-file a.pass \
    --new-passphrase-file o.pass >/dev/null || bad "user add"
"$tlo" user revoke "Olga Other" --as "Anna Admin" --passphrase-file a.pass >/dev/null || bad "revoke"
TELLONCE_LOCALEDIR=$work/loc under zh_CN.UTF-8 "$tlo" case open C-1 --as "Olga Other" --passphrase-file o.pass &&
    bad "a revoked person opened a case"
grep -qF "已拒绝：Olga Other 不是本保管库的在职" err.txt && ok ||
    bad "ledger_reason_english_under_zh: the refusal is not told in Chinese: $(cat err.txt)"
reason=$(sqlite3 vault/ledger.db "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 44" | sed -n 's/^reason=//p')
[ "$reason" = "Olga Other is not an active enrolled person of this vault" ] && ok ||
    bad "ledger_reason_english_under_zh: the action-refused entry's reason is not English: '$reason'"
# log, read in English, shows the English reason
env LANG=C "$tlo" log >log.txt 2>&1 || bad "log: $(cat log.txt)"
grep -qF "is not an active enrolled person" log.txt && ! has_cjk log.txt && ok ||
    bad "log_english: $(grep -i refused log.txt)"

echo "i18n messages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
