#!/usr/bin/env bash
# Progress of the ledger walk (issue 13): verify and report of a vault of
# more than 20,000 entries show "verifying the ledger N%" while chain/ walks
# it, the percent rising to 100, on a terminal only; nothing of it on a pipe.
#   ledger_walk_progress_on_terminal   verify under a terminal (script)
#   report_ledger_progress_on_terminal report under a terminal
#   ledger_progress_not_when_piped     verify and report with stderr a file
# The filler (tests/bench/bench_scale_fill.c, built as ledger_fill) signs its
# entries as Admin: the ledger verifies; its filler cases have no files, so
# the media check fails after the walk, which is not what this tests.
# usage: test_verify_progress.sh TELLONCE_BINARY LEDGER_FILL
set -u
tlo=$1 fill=$2
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tlo_test_start vprog

echo 'admin passphrase' > a.pass
echo 'officer passphrase' > o.pass
"$tlo" init --admin Admin --passphrase-file a.pass >/dev/null || bad "init"
"$fill" "$TELLONCE_VAULT" a.pass 20000 >fill.txt 2>&1 || bad "fill: $(cat fill.txt)"
"$tlo" user add Officer --role interviewer --as Admin --passphrase-file a.pass \
    --new-passphrase-file o.pass >/dev/null || bad "user add"
"$tlo" case open REAL-1 --as Officer --passphrase-file o.pass >/dev/null || bad "case open"
n=$(ledger "SELECT count(*) FROM entries")
[ "$n" -ge 20000 ] && ok || bad "the ledger has $n entries, not 20,000"

# on_tty FILE COMMAND...: COMMAND with a terminal for stdin/stdout/stderr
# (script), what it showed into FILE; its exit status does not matter (the
# filler's missing files fail the media check), but it must end.
on_tty() {
    local f=$1; shift
    timeout 600 script -qfec "$(printf '%q ' "$@")" "$f" </dev/null >/dev/null 2>&1
    [ $? -ne 124 ] && ok || bad "$* under a terminal did not end in 600 s"
}
# rising FILE LABEL: the percents of "LABEL N%" lines in FILE rise (never go
# back), there are at least two of them, and the last is 100.
rising() {
    python3 - "$1" "$2" <<'PY'
import re, sys
t = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
p = [int(x) for x in re.findall(re.escape(sys.argv[2]) + r" +(\d+)% +\S+ elapsed, \S+ remaining", t)]
ok = len(set(p)) >= 2 and p == sorted(p) and p[-1] == 100
print(" ".join(map(str, p)) or "none")
sys.exit(0 if ok else 1)
PY
}

on_tty tty-verify.txt "$tlo" verify
got=$(rising tty-verify.txt "verifying the ledger") && ok ||
    bad "ledger_walk_progress_on_terminal: percents: $got; shown: $(tr '\r' '\n' <tty-verify.txt | head -n 5)"
on_tty tty-report.txt "$tlo" report REAL-1 -o report.html
got=$(rising tty-report.txt "verifying the ledger for the report") && ok ||
    bad "report_ledger_progress_on_terminal: percents: $got; shown: $(tr '\r' '\n' <tty-report.txt | head -n 5)"

"$tlo" verify >out.txt 2>err.txt </dev/null
grep -qE 'verifying|%|remaining' err.txt out.txt &&
    bad "ledger_progress_not_when_piped: verify: $(head -c 300 err.txt)" || ok
"$tlo" report REAL-1 -o report2.html >out.txt 2>err.txt </dev/null
grep -qE 'verifying the|remaining' err.txt &&
    bad "ledger_progress_not_when_piped: report: $(head -c 300 err.txt)" || ok

echo "test_verify_progress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
