# Sourced by the shell tests in tests/cli: waiting for a condition, never for
# a time, and the ledger queries the recording tests wait on. A test defines
# bad() (prints and counts a failure) before it calls these.

# wait_for SECONDS WHAT CONDITION [PID]: evaluates the shell CONDITION every
# 0.1 s until it holds, then returns 0. After SECONDS, or as soon as process
# PID (if given) is gone, it counts a failure naming WHAT and returns 1.
# Timeouts are generous: a slow machine only makes the test wait longer.
wait_for() {
    local _wf_end=$((SECONDS + $1)) _wf_what=$2 _wf_cond=$3 _wf_pid=${4:-}
    until eval "$_wf_cond"; do
        if [ -n "$_wf_pid" ] && ! kill -0 "$_wf_pid" 2>/dev/null; then
            bad "process $_wf_pid ended while waiting for $_wf_what"
            return 1
        fi
        if [ "$SECONDS" -ge "$_wf_end" ]; then
            bad "timed out after $1 s waiting for $_wf_what"
            return 1
        fi
        sleep 0.1
    done
}

# The ledger of $TELLONCE_VAULT, read while a recording writes to it.
ledger() { sqlite3 -cmd ".timeout 5000" "$TELLONCE_VAULT/ledger.db" "$1"; }
# sessions_started: how many session-start entries are logged.
sessions_started() { ledger "SELECT count(*) FROM entries WHERE kind = 20"; }
# newest_session: the id of the session of the newest session-start entry.
newest_session() {
    ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 20 ORDER BY seq DESC LIMIT 1" |
        sed -n 's/^session=//p'
}
# media_logged SESSION: where the newest segment of SESSION logged ends, in
# ms on the session clock; 0 while none is.
media_logged() {
    local ms
    ms=$(ledger "SELECT CAST(body AS TEXT) FROM entries WHERE kind = 21 AND
                 CAST(body AS TEXT) LIKE '%session=$1%' ORDER BY seq DESC LIMIT 1" |
        sed -n 's/^end_ms=//p')
    echo "${ms:-0}"
}
# markers_logged SESSION: how many marker entries of SESSION are logged.
markers_logged() {
    ledger "SELECT count(*) FROM entries WHERE kind = 22 AND CAST(body AS TEXT) LIKE '%session=$1%'"
}
# now_ms: the wall clock (UTC), in ms, as the ledger's times are.
now_ms() { date +%s%3N; }

# tlo_test_start NAME [CLEANUP]: the start every shell test shares. A scratch
# folder $work (the current directory from here; removed at exit, after the
# shell command CLEANUP if given), a vault there ($TELLONCE_VAULT) with the
# fast KDF, nothing of a passphrase, a fixed clock or a service taken from
# the environment, and the checks (defined here, so a test that does not
# call this keeps its own): ok, bad (counted in $passed, $failed), expect
# WANT_RC WHAT -- CMD... (its output in $out and $err), contains TEXT PART
# WHAT and lacks TEXT PART WHAT.
tlo_test_start() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/tlo-$1.XXXXXX")
    # shellcheck disable=SC2064 # expanded now: the folder is known now
    trap "${2:+$2; }rm -rf '$work'" EXIT
    cd "$work" || exit 1
    export TELLONCE_TEST_FAST_KDF=1 TELLONCE_VAULT="$work/vault"
    unset TELLONCE_PASSPHRASE TELLONCE_NEW_PASSPHRASE TELLONCE_TEST_NOW_MS TELLONCE_SOCKET
    passed=0 failed=0
    ok() { passed=$((passed + 1)); }
    bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
    expect() {
        local want=$1 what=$2
        shift 3
        "$@" >out.txt 2>err.txt </dev/null
        local got=$?
        err=$(cat err.txt) out=$(cat out.txt)
        if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want; stderr: $err"; fi
    }
    contains() { if grep -qF -- "$2" <<<"$1"; then ok; else bad "$3: '$2' not in: $1"; fi; }
    lacks() { if grep -qF -- "$2" <<<"$1"; then bad "$3: '$2' is in: $1"; else ok; fi; }
}
