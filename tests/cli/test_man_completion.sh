#!/usr/bin/env bash
# The manual page tellonce(1) and the bash completion, as a person meets
# them: the page has every command with the text of its --help and renders
# without warnings; completion offers commands, a command's options, names
# after --as, and cases.
# usage: test_man_completion.sh TELLONCE_BINARY MAN_PAGE COMPLETION_SCRIPT
set -u
tlo=$1
page=$2
script=$3
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in the output"; fi; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-man.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export TELLONCE_TEST_FAST_KDF=1
unset TELLONCE_SOCKET TELLONCE_VAULT

# --- the page ---
[ -s "$page" ] && ok || bad "no manual page at $page"
warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
[ -z "$warnings" ] && ok || bad "groff warns about the page: $warnings"
text=$(MANWIDTH=100 man -l "$page" 2>/dev/null)
contains "$text" "SYNOPSIS" "the page renders"
commands=$("$tlo" --help | sed -n '/^commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p')
[ "$(wc -l <<<"$commands")" -ge 20 ] && ok || bad "tellonce --help lists few commands: $commands"
for c in $commands; do
    grep -qx ".SS \"tellonce $c\"" "$page" && ok || bad "the page has no section for '$c'"
    # the command's usage line, as --help prints it, is in the page
    first=$("$tlo" "$c" --help | head -1 | sed 's/^usage: //')
    contains "$(tr -s ' ' <<<"$text")" "$(tr -s ' ' <<<"$first" | cut -c1-40)" "the page has the usage of '$c'"
done

# --- completion ---
printf 'anna-admin-passphrase\n' >admin.pass
printf 'wang-prosecutor-pass\n' >wang.pass
"$tlo" init --vault v --admin "Anna Admin" --passphrase-file admin.pass >/dev/null || bad "init"
"$tlo" user add "王芳" --role prosecutor --as "Anna Admin" --vault v --passphrase-file admin.pass \
    --new-passphrase-file wang.pass >/dev/null || bad "user add"
printf 'child_name=(a test child)\n' >child.txt
"$tlo" case open C-1 --as "Anna Admin" --passphrase-file admin.pass --child-file child.txt \
    --vault v >/dev/null || bad "case open"
id=$("$tlo" case list --vault v --json | grep -o '"case_id":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)
# shellcheck disable=SC1090
source "$script"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _tellonce; printf '%s\n' "${COMPREPLY[@]}"; }
[ "$(comp "$tlo" gr)" = grant ] && ok || bad "'tellonce gr' completes to grant: $(comp "$tlo" gr)"
contains "$(comp "$tlo" ver)" "verify-export" "'tellonce ver' offers verify-export"
[ "$(comp "$tlo" grant --exp)" = --expires ] && ok || bad "'grant --exp': $(comp "$tlo" grant --exp)"
contains "$(comp "$tlo" record --)" "--monitor" "record's options"
names=$(comp "$tlo" --vault v user revoke --as "")
contains "$names" 'Anna\ Admin' "names after --as, quoted"
contains "$names" "王芳" "a Chinese name after --as"
grep -qx custodian <<<"$names" && bad "the custodian is offered as a person" || ok
if [ -n "$id" ]; then
    contains "$(comp "$tlo" --vault v log --case "")" "$id" "cases after --case"
    contains "$(comp "$tlo" --vault v grant "")" "revoke" "grant's subcommands"
else
    bad "no case was opened"
fi
echo "man and completion: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
