#!/usr/bin/env bash
# option_error_one_line (issue 13): a wrong option gets getopt's line and one
# line pointing to the command's --help, not the whole usage, and exit 2,
# for every command 'tellonce --help' lists.
# usage: test_option_errors.sh TELLONCE_BINARY
set -u
tlo=$1
passed=0 failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-opterr.XXXXXX")
trap 'rm -rf "$work"' EXIT
export TELLONCE_VAULT=$work/none LANG=C.UTF-8
unset TELLONCE_SOCKET LC_ALL LANGUAGE
cmds=$("$tlo" --help | sed -n '/^commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p')
[ "$(wc -w <<<"$cmds")" -ge 20 ] || { echo "FAIL: 'tellonce --help' lists too few commands: $cmds" >&2; exit 1; }
for c in $cmds; do
    "$tlo" "$c" --no-such-option </dev/null >"$work/out" 2>"$work/err"
    rc=$?
    lines=$(wc -l <"$work/err")
    if [ "$rc" = 2 ] && [ "$lines" -le 2 ] && grep -q -- "--help" "$work/err"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAIL: tellonce $c --no-such-option: exit $rc, $lines lines on stderr: $(head -c 300 "$work/err")" >&2
    fi
done
echo "cli_option_errors: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
